/*
 * tests/fuzz/fuzz_verify.c: assertion decode and verify:
 * pkjwt_assertion_decode, pkjwt_assertion_verify with an EC P-256 and an
 * RSA-2048 key made once per process, and the result as JSON. Input: the
 * assertion text. An assertion never verifies (the keys are new and
 * secret), so "valid" is a finding.
 */
#include "fuzz.h"

#include "pkjwt.h"

static pkjwt_key *ec, *rsa;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!ec && (pkjwt_key_generate_ec(&ec, NULL, NULL) != PKJWT_OK ||
              pkjwt_key_generate_rsa(&rsa, 2048, NULL) != PKJWT_OK))
    abort();
  char *s = fuzz_cstr(data, size);
  if (!s)
    return 0;
  char *h = NULL, *c = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  if (pkjwt_assertion_decode(&h, &c, s, &e) == PKJWT_OK)
    fuzz_assert(h && c);
  pkjwt_str_free(h);
  pkjwt_str_free(c);
  pkjwt_verify_options o = PKJWT_VERIFY_OPTIONS_INIT;
  o.client_id = "c";
  o.audience = "https://127.0.0.1/t";
  o.now = 1700000000;
  const pkjwt_key *keys[2] = {ec, rsa};
  for (int i = 0; i < 2; i++) {
    pkjwt_verify_result *r = NULL;
    int rc = pkjwt_assertion_verify(&r, s, keys[i], &o, &e);
    fuzz_assert(rc != PKJWT_OK);
    if (r) {
      char *j = NULL;
      if (pkjwt_verify_result_json(&j, r, &e) == PKJWT_OK)
        fuzz_assert(j != NULL);
      pkjwt_str_free(j);
      pkjwt_verify_result_free(r);
    }
  }
  free(s);
  return 0;
}
