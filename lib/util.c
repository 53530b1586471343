/*
 * lib/util.c: small memory and clock helpers, the one string maker and the
 * string free, the thread-safe strerror and the options-version rule.
 */
/* strerror_r under -std=c11 (the XSI form; the GNU one is read too) */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

void pkjwt__cleanse_free(void *p, size_t n) {
  if (!p)
    return;
  OPENSSL_cleanse(p, n);
  free(p);
}

void pkjwt_str_free(char *s) {
  if (s)
    pkjwt__cleanse_free(s, strlen(s));
}

int pkjwt__bio_string(char **out, size_t *len, BIO *bio, pkjwt_error *err) {
  char *p = NULL;
  long n = BIO_get_mem_data(bio, &p);
  size_t sz = n > 0 && p ? (size_t)n : 0;
  char *s = malloc(sz + 1);
  if (!s)
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  if (sz)
    memcpy(s, p, sz);
  s[sz] = '\0';
  *out = s;
  if (len)
    *len = sz;
  return PKJWT_OK;
}

const char *pkjwt_version(void) {
  return PKJWT_VERSION_STRING;
}

char *pkjwt__strndup(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = '\0';
  }
  return d;
}

char *pkjwt__strdup(const char *s) {
  return s ? pkjwt__strndup(s, strlen(s)) : NULL;
}

char *pkjwt__json_string(const json_t *j) {
  /* json_dumpb writes into our buffer, so Jansson's allocator (which the
   * application may have replaced with json_set_alloc_funcs) never owns
   * what we hand out. */
  const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER;
  size_t n = json_dumpb(j, NULL, 0, flags);
  char *s = n > 0 ? malloc(n + 1) : NULL;
  if (!s)
    return NULL;
  if (json_dumpb(j, s, n, flags) != n) {
    free(s);
    return NULL;
  }
  s[n] = '\0';
  return s;
}

/* strerror() may share a static buffer between threads. strerror_r comes in
 * two forms: XSI returns an int and fills buf, GNU returns the text (which
 * may or may not be buf). The result's type picks the reading. */
static const char *strerror_gnu(const char *r, char *buf, size_t n, int e) {
  if (!r)
    snprintf(buf, n, "error %d", e);
  return r ? r : buf;
}

static const char *strerror_xsi(int r, char *buf, size_t n, int e) {
  if (r != 0 || !buf[0])
    snprintf(buf, n, "error %d", e);
  return buf;
}

const char *pkjwt__strerror(int e, char *buf, size_t n) {
  if (!buf || n == 0)
    return "";
  buf[0] = '\0';
  return _Generic(strerror_r(e, buf, n),
                  char *: strerror_gnu,
                  default: strerror_xsi)(strerror_r(e, buf, n), buf, n, e);
}

int pkjwt__options_version_ok(unsigned int version, unsigned int current,
                              const char *what, pkjwt_error *err) {
  if (version >= 1 && version <= current)
    return PKJWT_OK;
  return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                     "%s version %u unknown: this library knows 1 to %u "
                     "(start from the _INIT macro)",
                     what, version, current);
}

int64_t pkjwt__now(int64_t now) {
  return now != 0 ? now : (int64_t)time(NULL);
}
