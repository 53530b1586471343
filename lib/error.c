/* lib/error.c: pkjwt_strerror and filling the caller's pkjwt_error. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#define PKJWT__ERROR_TEXT(name, text) text,
static const char *const error_text[] = {PKJWT_ERROR_LIST(PKJWT__ERROR_TEXT)};
#undef PKJWT__ERROR_TEXT

const char *pkjwt_strerror(int code) {
  if (code < 0 || (size_t)code >= sizeof(error_text) / sizeof(error_text[0]))
    return "unknown error";
  return error_text[code];
}

void pkjwt__error_clear(pkjwt_error *err) {
  if (err)
    memset(err, 0, sizeof(*err));
}

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

int pkjwt__fail_ssl(pkjwt_error *err, int code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    set_message(err, code, fmt, ap);
    va_end(ap);
    /* The first error queued is the root cause; later ones are context. */
    unsigned long e = ERR_peek_error();
    if (e != 0) {
      const char *reason = ERR_reason_error_string(e);
      size_t used = strlen(err->message);
      if (reason && used < sizeof(err->message))
        snprintf(err->message + used, sizeof(err->message) - used, ": %s",
                 reason);
    }
  }
  ERR_clear_error();
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
