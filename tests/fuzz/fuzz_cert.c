/*
 * tests/fuzz/fuzz_cert.c: certificate loading (PEM or DER):
 * pkjwt_cert_load_mem, then every fact and export of a certificate that
 * loads, and its public key.
 */
#include "fuzz.h"

#include <string.h>

#include "pkjwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pkjwt_cert *c = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  int rc = pkjwt_cert_load_mem(&c, data, size, &e);
  fuzz_assert((rc == PKJWT_OK) == (c != NULL));
  if (!c)
    return 0;
  fuzz_assert(pkjwt_cert_get_subject(c) != NULL);
  fuzz_assert(pkjwt_cert_get_serial(c) != NULL);
  fuzz_assert(strlen(pkjwt_cert_get_x5t_s256(c)) == 43);
  (void)pkjwt_cert_days_left(c, 1700000000);
  char *b64 = NULL, *pem = NULL;
  if (pkjwt_cert_base64_der(&b64, c, &e) == PKJWT_OK)
    fuzz_assert(b64 != NULL);
  if (pkjwt_cert_pem(&pem, c, &e) == PKJWT_OK)
    fuzz_assert(pem != NULL);
  pkjwt_key *k = NULL;
  if (pkjwt_cert_public_key(&k, c, &e) == PKJWT_OK)
    fuzz_assert(pkjwt_cert_matches_key(c, k));
  pkjwt_key_free(k);
  pkjwt_str_free(b64);
  pkjwt_str_free(pem);
  pkjwt_cert_free(c);
  return 0;
}
