/* pkjwt/verify.h: decode and verify a client assertion as a server would. */
#ifndef PKJWT_VERIFY_H
#define PKJWT_VERIFY_H

#include <pkjwt/common.h>
#include <pkjwt/error.h>
#include <pkjwt/key.h>

PKJWT_BEGIN_DECLS

/**
 * Split a compact JWS and give back its header and claims as compact JSON
 * (members in the token's order), without judging anything: no signature,
 * no claim is checked. Both must be JSON objects with no duplicate member.
 * header_json or claims_json may be NULL when that part is not wanted.
 * Free what comes back with pkjwt_str_free().
 * Errors: PKJWT_ERR_PARSE (not three base64url parts), PKJWT_ERR_JSON.
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int pkjwt_assertion_decode(char **header_json,
                                                          char **claims_json,
                                                          const char *assertion,
                                                          pkjwt_error *err);

/** The outcome of one check. */
typedef enum pkjwt_verdict {
  PKJWT_VERDICT_NOT_CHECKED = 0, /**< nothing to compare with (e.g. no
                                      expected typ), or an optional claim
                                      that is absent */
  PKJWT_VERDICT_OK = 1,          /**< holds */
  PKJWT_VERDICT_FAILED = 2       /**< does not hold: the assertion is invalid */
} pkjwt_verdict;

/** "not checked", "ok" or "failed" (static string). */
PKJWT_EXPORT const char *pkjwt_verdict_name(pkjwt_verdict verdict);

/** One check: its verdict and one line saying what was seen. */
typedef struct pkjwt_check_result {
  pkjwt_verdict verdict;
  char detail[192]; /**< e.g. "expired 30 s ago"; may quote token values */
} pkjwt_check_result;

/**
 * What a server would see. Made by pkjwt_assertion_verify(); free it with
 * pkjwt_verify_result_free(), which frees the strings too. New members are
 * only ever added at the end (the library allocates it).
 */
typedef struct pkjwt_verify_result {
  char *header_json;    /**< compact JSON; owned by the result */
  char *claims_json;    /**< compact JSON; owned by the result */
  char alg[16];         /**< the header's alg as seen (truncated), "" if none */
  const char *verifier; /**< who judged the signature: "libjwt" (RS*,
                             ES*), "openssl" (PS*, any alg whose typ
                             is not JWT: libjwt 1.10.2 refuses those, and
                             every alg when libjwt cannot be loaded) or
                             "none" (not checked); static string */
  int valid;            /**< 1 when no check FAILED */
  pkjwt_check_result alg_allowed; /**< RS/PS/ES 256-512 that fit the key;
                                       never none or HS* */
  pkjwt_check_result signature;
  pkjwt_check_result typ;     /**< equals the expected typ, if one is given */
  pkjwt_check_result iss_sub; /**< both strings, equal, and equal to the
                                   expected client id if given */
  pkjwt_check_result aud;     /**< string or array holding the expected
                                   audience; must be present */
  pkjwt_check_result exp;     /**< present and now < exp + leeway */
  pkjwt_check_result nbf;     /**< if present: nbf <= now + leeway */
  pkjwt_check_result iat;     /**< if present: iat <= now + leeway */
  pkjwt_check_result jti;     /**< if present: a non-empty string */
} pkjwt_verify_result;

/**
 * The checks of a result, in the order a failure is reported: i from 0 to
 * pkjwt_verify_check_count() - 1. Returns the i-th check of result
 * (borrowed: it lives as long as result) and, when name is not NULL, its
 * name in *name ("alg", "signature", "typ", "iss/sub", "aud", "exp", "nbf",
 * "iat", "jti"; static strings, the same names pkjwt_verify_result_json()
 * uses). NULL when result is NULL or i is out of range. Reports walk this
 * instead of naming the members, so a new check reaches them.
 */
PKJWT_EXPORT size_t pkjwt_verify_check_count(void);
PKJWT_EXPORT const pkjwt_check_result *
pkjwt_verify_result_check(const pkjwt_verify_result *result, size_t i,
                          const char **name);

/** Free a result and its strings; NULL is a no-op. */
PKJWT_EXPORT void pkjwt_verify_result_free(pkjwt_verify_result *result);

/**
 * The result as one line of JSON for scripts:
 * {"valid":true,"alg":"ES256","verifier":"libjwt","header":{...},
 *  "claims":{...},"checks":{"alg":{"verdict":"ok","detail":"..."},...}}
 * Free *out with pkjwt_str_free().
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_verify_result_json(char **out, const pkjwt_verify_result *result,
                         pkjwt_error *err);

#define PKJWT_VERIFY_OPTIONS_VERSION 1
typedef struct pkjwt_verify_options {
  unsigned int version;  /**< PKJWT_VERIFY_OPTIONS_VERSION */
  const char *client_id; /**< expected iss and sub; NULL: only iss == sub */
  const char *audience;  /**< expected aud; NULL: aud is not compared */
  const char *typ;       /**< expected typ (case-insensitive, "application/"
                              prefix allowed); NULL: not checked */
  long leeway;           /**< seconds of clock skew allowed; negative refused */
  int64_t now;           /**< 0 = the real clock; tests inject a time */
} pkjwt_verify_options;
#define PKJWT_VERIFY_OPTIONS_INIT                                              \
  { PKJWT_VERIFY_OPTIONS_VERSION, NULL, NULL, NULL, 0, 0 }

/**
 * Decode and judge assertion with key's public half. key may be any handle:
 * from pkjwt_key_load_*(), pkjwt_cert_public_key() or pkjwt_key_from_jwk().
 * The signature of RS* and ES* is checked by libjwt's jwt_decode (ES as raw
 * R||S), PS* by OpenSSL (salt length = hash length, MGF1 with the same
 * hash). libjwt 1.10.2 refuses every token whose typ is not "JWT", so with
 * another typ (client-authentication+jwt) OpenSSL checks RS* and ES* too. The
 * claims are judged by pkjwt. opts may be NULL (defaults).
 *
 * Returns PKJWT_OK when the assertion is valid, PKJWT_ERR_VERIFY when it
 * was decoded but a check failed (err->message names the first failed
 * check); in both cases *out holds every verdict and the caller frees it
 * with pkjwt_verify_result_free(). When the assertion cannot be decoded
 * (PKJWT_ERR_PARSE, PKJWT_ERR_JSON) or an argument is wrong
 * (PKJWT_ERR_INVALID_ARG), *out is NULL.
 * Thread-safe: many threads may verify with one key handle at once.
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_assertion_verify(pkjwt_verify_result **out, const char *assertion,
                       const pkjwt_key *key, const pkjwt_verify_options *opts,
                       pkjwt_error *err);

PKJWT_END_DECLS

#endif
