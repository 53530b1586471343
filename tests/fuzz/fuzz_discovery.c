/*
 * tests/fuzz/fuzz_discovery.c: an authorization server's metadata document
 * as lib/discovery.c judges it, for the issuer "https://op.example/t/".
 * Input: the body. A document taken must name a token endpoint of visible
 * ASCII and algs that are printable; every message must be printable.
 * The Cache-Control reader (lib/http.c) gets the same bytes as a header
 * value and must give -1 or a bounded age.
 */
#include "fuzz.h"

#include <string.h>

#include "discovery.h"
#include "http.h"

static void printable(const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    fuzz_assert(*p >= 0x20 && *p != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *body = fuzz_cstr(data, size);
  if (!body)
    return 0;
  pkjwt_error e = PKJWT_ERROR_INIT;
  pkjwt__discovery d;
  int rc = pkjwt__discovery_parse(&d, body, size, "https://op.example/t/",
                                  "https://op.example/t/.well-known/x", &e);
  fuzz_assert((rc == PKJWT_OK) == (d.token_endpoint != NULL));
  if (rc == PKJWT_OK) {
    for (const unsigned char *p = (const unsigned char *)d.token_endpoint; *p;
         p++)
      fuzz_assert(*p > 0x20 && *p < 0x7f);
    for (size_t i = 0; d.algs && d.algs[i]; i++)
      printable(d.algs[i]);
    if (d.algs_text)
      printable(d.algs_text);
  }
  pkjwt__discovery_clear(&d);
  printable(e.message);
  printable(e.hint);
  long age = pkjwt__http_max_age(body);
  fuzz_assert(age >= -1 && age <= 1000000000L);
  free(body);
  return 0;
}
