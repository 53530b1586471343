/*
 * tests/fuzz/fuzz_cli_number.c: the tools' number and duration parsing
 * (cli_parse_long: --timeout, --retries, --lifetime, --days, --bits, --now,
 * --leeway). Input: the option's value. Each range a tool uses is tried;
 * an accepted value must be in range and be what the digits say, checked
 * against a parse written here digit by digit.
 */
#include "fuzz.h"

#include <limits.h>
#include <string.h>

#include "cli.h"

/* The value of an optional sign and decimal digits, after optional
 * leading white space (as strtol reads them); 0 when s is not that or
 * overflows a long. */
static int reference(const char *s, long *out) {
  while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
    s++;
  int neg = *s == '-';
  if (*s == '-' || *s == '+')
    s++;
  if (!*s)
    return 0;
  unsigned long v = 0, lim = neg ? (unsigned long)LONG_MAX + 1 : LONG_MAX;
  for (; *s; s++) {
    if (*s < '0' || *s > '9')
      return 0;
    unsigned d = (unsigned)(*s - '0');
    if (v > (lim - d) / 10)
      return 0;
    v = v * 10 + d;
  }
  *out =
      neg ? (v == (unsigned long)LONG_MAX + 1 ? LONG_MIN : -(long)v) : (long)v;
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const long ranges[][2] = {
      {1, 3600},  {0, 10},    {1, LONG_MAX}, {LONG_MIN, LONG_MAX},
      {0, 86400}, {1, 36500}, {1, 1L << 20}};
  char *s = fuzz_cstr(data, size);
  if (!s)
    return 0;
  if (strlen(s) != size) { /* a NUL inside: no command line holds one */
    free(s);
    return 0;
  }
  long want = 0;
  int valid = reference(s, &want);
  for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
    long v = 0;
    int rc = cli_parse_long(s, ranges[i][0], ranges[i][1], &v);
    int in = valid && want >= ranges[i][0] && want <= ranges[i][1];
    fuzz_assert((rc == 0) == in);
    if (rc == 0)
      fuzz_assert(v == want);
  }
  free(s);
  return 0;
}
