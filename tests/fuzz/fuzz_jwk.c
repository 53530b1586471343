/*
 * tests/fuzz/fuzz_jwk.c: JWK import (a JWKS is one of the shapes it must
 * refuse): pkjwt_key_from_jwk. A key that imports is exported again and
 * must import to the same public key.
 */
#include "fuzz.h"

#include <string.h>

#include "pkjwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pkjwt_key *k = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  int rc = pkjwt_key_from_jwk(&k, (const char *)data, size, &e);
  fuzz_assert((rc == PKJWT_OK) == (k != NULL));
  if (!k)
    return 0;
  fuzz_assert(!pkjwt_key_has_private(k));
  char *jwk = NULL;
  if (pkjwt_jwk_export(&jwk, k, NULL, &e) == PKJWT_OK) {
    pkjwt_key *again = NULL;
    fuzz_assert(pkjwt_key_from_jwk(&again, jwk, strlen(jwk), &e) == PKJWT_OK);
    fuzz_assert(pkjwt_key_equal_public(k, again));
    fuzz_assert(strcmp(pkjwt_key_get_thumbprint(k),
                       pkjwt_key_get_thumbprint(again)) == 0);
    pkjwt_key_free(again);
  }
  pkjwt_str_free(jwk);
  pkjwt_key_free(k);
  return 0;
}
