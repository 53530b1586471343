/* pkjwt/sign.h: RFC 7523 client assertions, signed on a loaded key. */
#ifndef PKJWT_SIGN_H
#define PKJWT_SIGN_H

#include <pkjwt/common.h>
#include <pkjwt/error.h>
#include <pkjwt/key.h>
#include <pkjwt/cert.h>

PKJWT_BEGIN_DECLS

/** JWS algorithms pkjwt signs with. none and HS* do not exist here. */
typedef enum pkjwt_alg {
  PKJWT_ALG_DEFAULT = 0, /**< follow the key: ES256/384/512 by curve, RS256 */
  PKJWT_ALG_RS256,
  PKJWT_ALG_RS384,
  PKJWT_ALG_RS512,
  PKJWT_ALG_PS256,
  PKJWT_ALG_PS384,
  PKJWT_ALG_PS512,
  PKJWT_ALG_ES256,
  PKJWT_ALG_ES384,
  PKJWT_ALG_ES512
} pkjwt_alg;

/** "RS256" ... "ES512"; NULL for PKJWT_ALG_DEFAULT or an unknown value. */
PKJWT_EXPORT const char *pkjwt_alg_name(pkjwt_alg alg);

/**
 * Parse an alg name. "none", "HS256" and anything unknown fail with
 * PKJWT_ERR_ALG.
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_alg_from_name(pkjwt_alg *out, const char *name, pkjwt_error *err);

/** Default and upper limit of an assertion's lifetime, in seconds. */
#define PKJWT_ASSERTION_DEFAULT_LIFETIME 60
#define PKJWT_ASSERTION_MAX_LIFETIME 3600

#define PKJWT_TYP_JWT "JWT"
#define PKJWT_TYP_CLIENT_AUTH "client-authentication+jwt"

/** Flags of pkjwt_sign_options.x5t: which certificate thumbprint headers. */
#define PKJWT_X5T_S256 1
#define PKJWT_X5T_SHA1 2

#define PKJWT_SIGN_OPTIONS_VERSION 1
typedef struct pkjwt_sign_options {
  unsigned int version;    /**< PKJWT_SIGN_OPTIONS_VERSION */
  const char *client_id;   /**< required: iss and sub */
  const char *audience;    /**< required: token endpoint URL or issuer */
  pkjwt_alg alg;           /**< PKJWT_ALG_DEFAULT follows the key */
  long lifetime;           /**< seconds; <= 0 refused; > 3600 needs allow_long */
  int allow_long_lifetime; /**< 1: accept a lifetime over an hour */
  const char *typ;         /**< NULL = "JWT" */
  const char *kid;         /**< NULL = the key's RFC 7638 thumbprint */
  int no_kid;              /**< 1: omit kid */
  const pkjwt_cert *cert;  /**< with x5t: header x5t#S256 of this cert */
  /** PKJWT_X5T_S256 (1): add x5t#S256 (needs cert); or'ed with
   * PKJWT_X5T_SHA1: the legacy SHA-1 x5t too (Entra ID) */
  int x5t;
  int nbf;                 /**< 1: add nbf = iat */
  const char *extra_claims;/**< JSON object merged into the claims; it may
                                not hold iss, sub, aud, exp, iat, nbf or jti */
  int64_t now;             /**< 0 = the real clock; tests inject a time */
} pkjwt_sign_options;
#define PKJWT_SIGN_OPTIONS_INIT                                              \
  { PKJWT_SIGN_OPTIONS_VERSION, NULL, NULL, PKJWT_ALG_DEFAULT,               \
    PKJWT_ASSERTION_DEFAULT_LIFETIME, 0, NULL, NULL, 0, NULL, 0, 0, NULL, 0 }

/**
 * Sign a client assertion (compact JWS) with key, which must hold a private
 * key. Claims: iss = sub = client_id, aud, jti (128 random bits from
 * OpenSSL's CSPRNG, base64url), iat, exp = iat + lifetime, nbf if asked.
 * ES signatures are raw R||S of fixed width (RFC 7518 3.4); PS uses a salt
 * as long as the hash. Thread-safe: many threads may sign with one key.
 * The jti randomness comes from RAND_bytes in blocks kept per thread; a
 * child made by fork() starts with an empty block, never its parent's.
 * *out is the caller's: free it with pkjwt_str_free() (which wipes it).
 * Errors: PKJWT_ERR_INVALID_ARG (client_id or audience missing or empty, a
 * string over 8 KiB or not UTF-8, lifetime <= 0 or > 3600 without
 * allow_long_lifetime, x5t without cert, extra_claims not a JSON object or
 * setting iss/sub/aud/exp/iat/nbf/jti: the message names the claim),
 * PKJWT_ERR_ALG (an ES alg on another curve, RS/PS on an EC key, an
 * unknown alg), PKJWT_ERR_NO_PRIVATE_KEY (a public-only key),
 * PKJWT_ERR_CERT (cert does not certify key), PKJWT_ERR_CRYPTO, NOMEM.
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_assertion_sign(char **out, const pkjwt_key *key,
                     const pkjwt_sign_options *opts, pkjwt_error *err);

PKJWT_END_DECLS

#endif
