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
  X(PKJWT_ERR_INTERNAL, "internal error")

#define PKJWT__ERROR_ENUM(name, text) name,
/** Every pkjwt function that can fail returns one of these. */
typedef enum pkjwt_code { PKJWT_ERROR_LIST(PKJWT__ERROR_ENUM) } pkjwt_code;
#undef PKJWT__ERROR_ENUM

/** Size of pkjwt_error.message, including the terminating NUL. */
#define PKJWT_ERROR_MESSAGE_MAX 512

/**
 * Detail about a failure, filled by the library when the caller passes one.
 * No global state: pass NULL when the code alone is enough.
 * Messages name a field, a reason from OpenSSL, curl or the server, but never
 * a secret. Functions that take a file path do not repeat the path: callers
 * print "path: message".
 */
typedef struct pkjwt_error {
  pkjwt_code code;                        /**< same as the return value */
  char message[PKJWT_ERROR_MESSAGE_MAX];  /**< one line, no trailing newline */
  char warning[256];   /**< set even on success, e.g. a key readable by others */
  long http_status;    /**< token client: HTTP status, 0 when none */
  char oauth_error[64];/**< token client: RFC 6749 5.2 "error", "" when none */
  char hint[256];      /**< token client: what a person should check */
} pkjwt_error;

/** One line of meaning for a code (static string, never NULL). */
PKJWT_EXPORT const char *pkjwt_strerror(int code);

PKJWT_END_DECLS

#endif
