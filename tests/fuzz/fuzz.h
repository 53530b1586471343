/*
 * tests/fuzz/fuzz.h: what every fuzz target shares. A target defines
 * LLVMFuzzerTestOneInput and is linked either with clang's libFuzzer
 * (configure --enable-fuzzing; `make fuzz FUZZ_SECONDS=N`) or with
 * tests/fuzz/driver.c, which replays files (the committed seed corpora in
 * tests/fuzz/corpus/<target>/) through it: that replay runs in `make check`
 * with any compiler. A target must never print, exit or abort on any input;
 * invariants it checks fail through fuzz_assert, which aborts (a finding).
 */
#ifndef PKJWT_FUZZ_H
#define PKJWT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define fuzz_assert(c)                                                         \
  do {                                                                         \
    if (!(c)) {                                                                \
      fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__,          \
              __LINE__, #c);                                                   \
      abort();                                                                 \
    }                                                                          \
  } while (0)

/* data as a NUL-terminated malloc'd string (NULL when out of memory). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (s) {
    for (size_t i = 0; i < size; i++)
      s[i] = (char)data[i];
    s[size] = '\0';
  }
  return s;
}

#endif
