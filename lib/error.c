/* lib/error.c: pkjwt_strerror and filling the caller's pkjwt_error. */
#include "internal.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#define PKJWT__ERROR_TEXT(name, text) text,
static const char *const error_text[] = {PKJWT_ERROR_LIST(PKJWT__ERROR_TEXT)};
#undef PKJWT__ERROR_TEXT

const char *pkjwt_strerror(pkjwt_code code) {
  /* Compared as unsigned so a value outside the enum (negative too) is
   * caught whatever integer type the compiler picks for the enum. */
  if ((size_t)(unsigned int)code >= sizeof(error_text) / sizeof(error_text[0]))
    return "unknown error";
  return error_text[code];
}

/*
 * How many bytes of pkjwt_error each layout version has (index: version;
 * 0 = not a version). A new version appends fields and a row here, the
 * previous row becoming offsetof() its first new field.
 */
static const size_t error_sizes[] = {0, sizeof(pkjwt_error)};
#define ERROR_VERSIONS (sizeof(error_sizes) / sizeof(error_sizes[0]) - 1)

size_t pkjwt__error_size(unsigned int version) {
  return version >= 1 && version <= ERROR_VERSIONS ? error_sizes[version] : 0;
}

void pkjwt_error_init(pkjwt_error *err) {
  if (!err)
    return;
  memset(err, 0, sizeof(*err));
  err->version = PKJWT_ERROR_VERSION;
}

int pkjwt__error_check(const pkjwt_error *err) {
  if (err && pkjwt__error_size(err->version) == 0)
    return PKJWT_ERR_INVALID_ARG;
  return PKJWT_OK;
}

int pkjwt__error_begin(pkjwt_error *err) {
  if (!err)
    return PKJWT_OK;
  size_t size = pkjwt__error_size(err->version);
  if (size == 0)
    return PKJWT_ERR_INVALID_ARG; /* nothing written: we do not know its size */
  size_t head = offsetof(pkjwt_error, code);
  memset((char *)err + head, 0, size - head);
  return PKJWT_OK;
}

void pkjwt__error_copy(pkjwt_error *dst, const pkjwt_error *src) {
  if (!dst || !src)
    return;
  size_t n = pkjwt__error_size(dst->version);
  size_t m = pkjwt__error_size(src->version);
  if (m < n)
    n = m;
  size_t head = offsetof(pkjwt_error, code);
  if (n > head)
    memcpy((char *)dst + head, (const char *)src + head, n - head);
}

static void set_message(pkjwt_error *err, int code, const char *fmt,
                        va_list ap) PKJWT__PRINTF(3, 0);
static void set_message(pkjwt_error *err, int code, const char *fmt,
                        va_list ap) {
  err->code = (pkjwt_code)code;
  vsnprintf(err->message, sizeof(err->message), fmt, ap);
}

int pkjwt__fail(pkjwt_error *err, int code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    set_message(err, code, fmt, ap);
    va_end(ap);
  }
  return code;
}

int pkjwt__ssl_nomem(void) {
  unsigned long e;
  int found = 0;
  while ((e = ERR_get_error()) != 0)
    if (ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE)
      found = 1;
  return found;
}

int pkjwt__fail_ssl(pkjwt_error *err, int code, const char *fmt, ...) {
  /* The first error queued is the root cause; later ones are context. */
  unsigned long first = ERR_peek_error();
  /* Out of memory anywhere in the queue is why this failed, whatever the
   * step (the caller's code says which step). */
  if (pkjwt__ssl_nomem() && code != PKJWT_OK)
    code = PKJWT_ERR_NOMEM;
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    set_message(err, code, fmt, ap);
    va_end(ap);
    if (first != 0) {
      const char *reason = ERR_reason_error_string(first);
      size_t used = strlen(err->message);
      if (reason && used < sizeof(err->message))
        snprintf(err->message + used, sizeof(err->message) - used, ": %s",
                 reason);
    }
  }
  return code;
}

/* Format into one of err's text fields (the warning or the hint). */
static void set_text(char *dst, size_t n, const char *fmt, va_list ap)
    PKJWT__PRINTF(3, 0);
static void set_text(char *dst, size_t n, const char *fmt, va_list ap) {
  vsnprintf(dst, n, fmt, ap);
}

void pkjwt__warn(pkjwt_error *err, const char *fmt, ...) {
  if (!err)
    return;
  va_list ap;
  va_start(ap, fmt);
  set_text(err->warning, sizeof(err->warning), fmt, ap);
  va_end(ap);
}

void pkjwt__hint(pkjwt_error *err, const char *fmt, ...) {
  if (!err)
    return;
  va_list ap;
  va_start(ap, fmt);
  set_text(err->hint, sizeof(err->hint), fmt, ap);
  va_end(ap);
}
