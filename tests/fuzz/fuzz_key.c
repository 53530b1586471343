/*
 * tests/fuzz/fuzz_key.c: key loading (PEM and DER, with and without a
 * passphrase): pkjwt_key_load_mem. Input: one byte of flags (bit 0: give a
 * passphrase), then the key data. A key that loads is exported as a JWK
 * and a public PEM, and its facts are read.
 */
#include "fuzz.h"

#include <string.h>

#include "pkjwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  const char *pass = (data[0] & 1) ? "pkjwt-fuzz" : NULL;
  pkjwt_key *k = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  int rc = pkjwt_key_load_mem(&k, data + 1, size - 1, pass, &e);
  fuzz_assert((rc == PKJWT_OK) == (k != NULL));
  fuzz_assert(rc == PKJWT_OK || (int)e.code == rc);
  fuzz_assert(memchr(e.message, '\0', sizeof(e.message)) != NULL);
  if (k) {
    char *jwk = NULL, *pem = NULL;
    if (pkjwt_jwk_export(&jwk, k, NULL, &e) == PKJWT_OK)
      fuzz_assert(jwk && jwk[0] == '{');
    if (pkjwt_key_public_pem(&pem, k, &e) == PKJWT_OK)
      fuzz_assert(pem != NULL);
    fuzz_assert(strlen(pkjwt_key_get_thumbprint(k)) == 43);
    pkjwt_str_free(jwk);
    pkjwt_str_free(pem);
    pkjwt_key_free(k);
  }
  return 0;
}
