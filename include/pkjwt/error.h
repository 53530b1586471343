/* pkjwt/error.h: one error enum, pkjwt_strerror, and the detail struct. */
#ifndef PKJWT_ERROR_H
#define PKJWT_ERROR_H

#include <pkjwt/common.h>

PKJWT_BEGIN_DECLS

/*
 * The one list of error codes. Append only: a value never changes meaning.
 * Each entry is (name, one line of meaning); the enum and pkjwt_strerror()
 * are both generated from it so they cannot drift.
 */
#define PKJWT_ERROR_LIST(X)                                                      \
  X(PKJWT_OK, "success")                                                         \
  X(PKJWT_ERR_INVALID_ARG, "invalid argument")                                   \
  X(PKJWT_ERR_NOMEM, "out of memory")                                            \
  X(PKJWT_ERR_IO, "file could not be read or written")                           \
  X(PKJWT_ERR_EXISTS, "file exists and overwriting was not asked for")           \
  X(PKJWT_ERR_PARSE, "input is not in a recognised format")                      \
  X(PKJWT_ERR_PASSPHRASE, "passphrase missing or wrong")                         \
  X(PKJWT_ERR_KEY_TYPE, "key type, size or curve not supported")                 \
  X(PKJWT_ERR_WEAK_KEY, "key too weak")                                          \
  X(PKJWT_ERR_NO_PRIVATE_KEY, "a private key is needed")                         \
  X(PKJWT_ERR_ALG, "algorithm refused or does not fit the key")                  \
  X(PKJWT_ERR_CRYPTO, "cryptographic operation failed")                          \
  X(PKJWT_ERR_CERT, "certificate unusable")                                      \
  X(PKJWT_ERR_JSON, "JSON invalid or of the wrong shape")                        \
  X(PKJWT_ERR_VERIFY, "signature or claims do not verify")                       \
  X(PKJWT_ERR_INSECURE, "refused as insecure")                                   \
  X(PKJWT_ERR_NETWORK, "network error")                                          \
  X(PKJWT_ERR_TIMEOUT, "timed out")                                              \
  X(PKJWT_ERR_HTTP, "unexpected HTTP response")                                  \
  X(PKJWT_ERR_OAUTH, "the server refused the request")                           \
  X(PKJWT_ERR_RESPONSE, "the server's response is malformed")                    \
  X(PKJWT_ERR_INTERNAL, "internal error")                                       \
  X(PKJWT_ERR_PKCS11, "PKCS#11 module, token or key object unusable")

#define PKJWT__ERROR_ENUM(name, text) name,
/** Every pkjwt function that can fail returns one of these. */
typedef enum pkjwt_code { PKJWT_ERROR_LIST(PKJWT__ERROR_ENUM) } pkjwt_code;
#undef PKJWT__ERROR_ENUM

/* Sizes of pkjwt_error's text fields, each including the terminating NUL. */
#define PKJWT_ERROR_MESSAGE_MAX 512
#define PKJWT_ERROR_WARNING_MAX 256
#define PKJWT_ERROR_OAUTH_ERROR_MAX 64
#define PKJWT_ERROR_HINT_MAX 256

/**
 * The layout version of pkjwt_error this header describes. A later version
 * only appends fields; the library writes only the fields the caller's
 * version has, so a program built against an older header keeps working.
 */
#define PKJWT_ERROR_VERSION 1

/**
 * Detail about a failure, filled by the library when the caller passes one.
 * The caller owns it (on the stack is fine) and must set version first:
 * declare it as `pkjwt_error err = PKJWT_ERROR_INIT;` or call
 * pkjwt_error_init(). A function given an err whose version is not
 * 1..PKJWT_ERROR_VERSION returns PKJWT_ERR_INVALID_ARG and writes nothing
 * past the version field. Each function resets the other fields on entry.
 * No global state: pass NULL when the code alone is enough.
 * Messages name a field, a reason from OpenSSL, curl or the server, but never
 * a secret. Functions that take a file path do not repeat the path: callers
 * print "path: message".
 */
typedef struct pkjwt_error {
  unsigned int version;                  /**< PKJWT_ERROR_VERSION */
  pkjwt_code code;                       /**< same as the return value */
  char message[PKJWT_ERROR_MESSAGE_MAX]; /**< one line, no trailing newline */
  /** Set even on success, e.g. a key readable by others. Key warnings are
   * also kept on the key (pkjwt_key_warning()), client warnings also go to
   * the client's event callback (PKJWT_EVENT_WARNING). */
  char warning[PKJWT_ERROR_WARNING_MAX];
  long http_status; /**< token client: HTTP status, 0 when none */
  /** token client: RFC 6749 5.2 "error", "" when none */
  char oauth_error[PKJWT_ERROR_OAUTH_ERROR_MAX];
  /** token client: what a person should check */
  char hint[PKJWT_ERROR_HINT_MAX];
} pkjwt_error;

/**
 * Initialiser for a pkjwt_error: `pkjwt_error err = PKJWT_ERROR_INIT;`
 * Every field is named so that -Wextra (missing-field-initializers) stays
 * quiet in callers' code, as the options structs' _INIT macros do.
 */
#define PKJWT_ERROR_INIT                                                       \
  { PKJWT_ERROR_VERSION, PKJWT_OK, "", "", 0, "", "" }

/** Set err's version to PKJWT_ERROR_VERSION and clear every other field
 * (for an err that is allocated rather than declared). NULL is a no-op. */
PKJWT_EXPORT void pkjwt_error_init(pkjwt_error *err);

/** One line of meaning for a code (static string, never NULL; "unknown
 * error" for a value outside the enum). */
PKJWT_EXPORT const char *pkjwt_strerror(pkjwt_code code);

PKJWT_END_DECLS

#endif
