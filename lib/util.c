/* lib/util.c: small memory and clock helpers, and the string free. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

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

const char *pkjwt_version(void) { return PKJWT_VERSION_STRING; }

char *pkjwt__strdup(const char *s) {
  if (!s)
    return NULL;
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d)
    memcpy(d, s, n);
  return d;
}

int64_t pkjwt__now(int64_t now) {
  return now != 0 ? now : (int64_t)time(NULL);
}
