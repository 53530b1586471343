/*
 * lib/key_warning.c: warnings kept on a key handle, so that a caller who
 * does not look at err->warning can still find them (pkjwt_key_warning).
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

void pkjwt__key_warn(pkjwt_key *key, pkjwt_error *err, const char *fmt, ...) {
  char line[PKJWT_ERROR_WARNING_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  pkjwt__warn(err, "%s", line);
  if (!key || key->n_warnings >= PKJWT__KEY_WARNINGS_MAX)
    return;
  char *copy = pkjwt__strdup(line);
  if (copy) /* out of memory: err->warning still has it */
    key->warnings[key->n_warnings++] = copy;
}

void pkjwt__key_warnings_free(pkjwt_key *key) {
  for (size_t i = 0; i < key->n_warnings; i++)
    free(key->warnings[i]);
  key->n_warnings = 0;
}

size_t pkjwt_key_warning_count(const pkjwt_key *key) {
  return key ? key->n_warnings : 0;
}

const char *pkjwt_key_warning(const pkjwt_key *key, size_t i) {
  return key && i < key->n_warnings ? key->warnings[i] : NULL;
}
