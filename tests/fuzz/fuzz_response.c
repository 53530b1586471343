/*
 * tests/fuzz/fuzz_response.c: the token endpoint's and the check
 * endpoint's answers as lib/oauth.c judges them. Input: two bytes of HTTP
 * status (big-endian, 0 to 65535), one byte choosing the judge (bit 0:
 * check endpoint), then the body. Whatever is kept for printing (message,
 * oauth_error, hint) must hold no control byte.
 */
#include "fuzz.h"

#include <string.h>

#include "http.h"
#include "oauth.h"
#include "profile.h"

static void printable(const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    fuzz_assert(*p >= 0x20 && *p != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3)
    return 0;
  pkjwt__http_response r;
  memset(&r, 0, sizeof(r));
  r.status = (long)data[0] << 8 | data[1];
  r.retry_after = -1;
  r.body = fuzz_cstr(data + 3, size - 3);
  if (!r.body)
    return 0;
  r.body_len = size - 3;
  pkjwt_error e = PKJWT_ERROR_INIT;
  const pkjwt__profile *prof = pkjwt__profile_default();
  if (data[2] & 1) {
    char *json = NULL;
    int rc = pkjwt__oauth_check_response(&json, prof, "https://x/c", &r, &e);
    fuzz_assert((rc == PKJWT_OK) == (json != NULL));
    pkjwt_str_free(json);
  } else {
    pkjwt_token *t = NULL;
    int retry = 0;
    const char *expiry_from = NULL;
    int rc = pkjwt__oauth_token_response(&t, prof, "https://x/t", &r,
                                         1700000000, &retry, &expiry_from, &e);
    fuzz_assert((rc == PKJWT_OK) == (t != NULL));
    if (t) {
      fuzz_assert(t->access_token && *t->access_token);
      fuzz_assert(t->expires_in >= 1);
      if (t->scope)
        printable(t->scope);
    }
    pkjwt_token_free(t);
  }
  printable(e.message);
  printable(e.oauth_error);
  printable(e.hint);
  free(r.body);
  return 0;
}
