/*
 * lib/util.c: small memory and clock helpers, the one string maker, the
 * one string glue and URL join, the string free, the thread-safe strerror,
 * the options-version rule and the one function that makes a server's
 * words safe to print.
 */
/* strerror_r under -std=c11 (the XSI form; the GNU one is read too) */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <stdarg.h>
#include <stdint.h>
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

int pkjwt__bio_written(char **out, size_t *len, pkjwt__bio_writer write,
                       const void *obj, int code, const char *what,
                       pkjwt_error *err) {
  BIO *bio = BIO_new(BIO_s_mem());
  if (!bio)
    return pkjwt__fail_ssl(err, PKJWT_ERR_NOMEM, "out of memory");
  int rc = write(bio, obj) == 1 ? pkjwt__bio_string(out, len, bio, err)
                                : pkjwt__fail_ssl(err, code, "%s", what);
  BIO_free(bio);
  return rc;
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

char *pkjwt__concat(const char *a, size_t alen, ...) {
  va_list ap;
  size_t n = alen;
  va_start(ap, alen);
  for (const char *p; (p = va_arg(ap, const char *)) != NULL;) {
    size_t l = strlen(p);
    if (l > SIZE_MAX - 1 - n) {
      va_end(ap);
      return NULL;
    }
    n += l;
  }
  va_end(ap);
  char *s = malloc(n + 1);
  if (!s)
    return NULL;
  if (alen)
    memcpy(s, a, alen);
  n = alen;
  va_start(ap, alen);
  for (const char *p; (p = va_arg(ap, const char *)) != NULL;) {
    size_t l = strlen(p);
    memcpy(s + n, p, l);
    n += l;
  }
  va_end(ap);
  s[n] = '\0';
  return s;
}

char *pkjwt__url_join(const char *base, size_t len, const char *path,
                      const char *tail) {
  if (len && base[len - 1] == '/')
    len--;
  return pkjwt__concat(base, len, path, tail, (const char *)NULL);
}

int pkjwt__json_nomem(const json_error_t *je) {
  return json_error_code(je) == json_error_out_of_memory ||
         je->text[0] == '\0';
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

/* ---- a server's words, safe for a terminal ---- */

size_t pkjwt__utf8_char(const unsigned char *s, size_t left, uint32_t *cp) {
  unsigned char b = s[0];
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF; /* bounds of the second byte */
  if (b < 0x80) {
    *cp = b;
    return 1;
  }
  if (b >= 0xC2 && b <= 0xDF) {
    n = 2;
    *cp = b & 0x1Fu;
  } else if (b >= 0xE0 && b <= 0xEF) {
    n = 3;
    *cp = b & 0x0Fu;
    if (b == 0xE0)
      lo = 0xA0;
    else if (b == 0xED)
      hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    n = 4;
    *cp = b & 0x07u;
    if (b == 0xF0)
      lo = 0x90;
    else if (b == 0xF4)
      hi = 0x8F;
  } else {
    return 0;
  }
  if (left < n || s[1] < lo || s[1] > hi)
    return 0;
  for (size_t i = 1; i < n; i++) {
    if (i > 1 && (s[i] & 0xC0u) != 0x80)
      return 0;
    *cp = (*cp << 6) | (s[i] & 0x3Fu);
  }
  return n;
}

/* Code points a terminal acts on or that reorder text: C1 controls, the
 * bidi marks, embeddings, overrides and isolates, and the line and
 * paragraph separators. */
static int cp_unsafe(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C || cp == 0x200E ||
         cp == 0x200F || (cp >= 0x2028 && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

size_t pkjwt__printable(char *dst, size_t n, const char *src, size_t len) {
  const unsigned char *s = (const unsigned char *)src;
  size_t need = 0, out = 0, i = 0;
  int full = 0;
  while (s && i < len) {
    char esc[12];
    const char *piece;
    uint32_t cp = 0;
    size_t clen = pkjwt__utf8_char(s + i, len - i, &cp), plen;
    if (clen == 0 || cp < 0x20 || cp == 0x7F) {
      /* a control byte or a byte that is not UTF-8 */
      snprintf(esc, sizeof(esc), "\\x%02X", (unsigned int)s[i]);
      piece = esc;
      plen = 4;
      clen = 1;
    } else if (cp_unsafe(cp)) {
      snprintf(esc, sizeof(esc), "\\u%04X", (unsigned int)cp);
      piece = esc;
      plen = 6;
    } else {
      piece = (const char *)s + i;
      plen = clen;
    }
    /* whole pieces only: never half an escape or half a character */
    if (!full && n > 0 && out + plen < n) {
      memcpy(dst + out, piece, plen);
      out += plen;
    } else {
      full = 1;
    }
    need += plen;
    i += clen;
  }
  if (n > 0)
    dst[out] = '\0';
  return need;
}

int pkjwt__word_ok(const char *s, size_t max, const char *set) {
  size_t n = strnlen(s, max + 1);
  return n > 0 && n <= max && strspn(s, set) == n;
}

int pkjwt__has_control(const char *s) {
  for (; s && *s; s++)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
      return 1;
  return 0;
}

char *pkjwt__printable_dup(const char *src) {
  if (!src)
    return NULL;
  size_t len = strlen(src);
  size_t need = pkjwt__printable(NULL, 0, src, len);
  char *d = malloc(need + 1);
  if (d)
    pkjwt__printable(d, need + 1, src, len);
  return d;
}
