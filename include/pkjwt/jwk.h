/* pkjwt/jwk.h: public JWK and JWKS export (RFC 7517, 7518, 7638). */
#ifndef PKJWT_JWK_H
#define PKJWT_JWK_H

#include <pkjwt/common.h>
#include <pkjwt/error.h>
#include <pkjwt/key.h>
#include <pkjwt/cert.h>

PKJWT_BEGIN_DECLS

#define PKJWT_JWK_OPTIONS_VERSION 1
typedef struct pkjwt_jwk_options {
  unsigned int version;   /**< PKJWT_JWK_OPTIONS_VERSION */
  const char *kid;        /**< NULL = RFC 7638 thumbprint */
  const char *alg;        /**< NULL = only when the key allows one alg */
  const pkjwt_cert *cert; /**< with x5c: adds x5c and x5t#S256 */
  int x5c;                /**< 1: add x5c and x5t#S256 from cert */
} pkjwt_jwk_options;
#define PKJWT_JWK_OPTIONS_INIT { PKJWT_JWK_OPTIONS_VERSION, NULL, NULL, NULL, 0 }

/**
 * The public JWK of key as one line of JSON, members in this order: kty,
 * crv/x/y (EC coordinates padded to the field length, RFC 7518 6.2.1.2) or
 * n/e (minimal big-endian), use "sig", alg (see below), kid, then x5c and
 * x5t#S256.
 * Never a private member, whatever the handle holds. opts may be NULL.
 *
 * alg: opts->alg (pinned: a strict verifier then accepts that alg only);
 * without it, the one alg the key allows (an EC key's curve's: ES256 on
 * P-256), and none on an RSA key, so that verifiers which honour a JWK's
 * alg (RFC 7517 4.4) accept every RS* and PS* assertion of the key.
 * "none", HS* and an alg that does not fit the key (ES384 on P-256, RS256
 * on EC, ES256 on RSA) fail with PKJWT_ERR_ALG. kid: opts->kid (non-empty UTF-8) or the RFC 7638 thumbprint.
 * opts->x5c needs opts->cert (else PKJWT_ERR_INVALID_ARG) and a certificate
 * of this very key (else PKJWT_ERR_CERT); x5c is [standard base64 DER].
 *
 * On success *out is the caller's: free it with pkjwt_str_free(). On failure
 * *out is NULL. Thread-safe: reads the key only.
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_jwk_export(char **out, const pkjwt_key *key,
                 const pkjwt_jwk_options *opts, pkjwt_error *err);

/**
 * A JWKS {"keys":[...]} of n public keys, each as pkjwt_jwk_export() makes
 * it. opts is NULL or an array of n options, opts[i] applying to keys[i].
 * n == 0 or a NULL key fails with PKJWT_ERR_INVALID_ARG, as do two keys with
 * the same kid ("two keys share kid ..."). A failing key's message starts
 * "key N: " (N from 1). Free *out with pkjwt_str_free(); NULL on failure.
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_jwks_export(char **out, const pkjwt_key *const *keys,
                  const pkjwt_jwk_options *opts, size_t n, pkjwt_error *err);

/**
 * Make a public-only key handle from one JWK of len bytes (json need not be
 * NUL-terminated). kty "RSA" (n, e) or "EC" (crv P-256/P-384/P-521, x and y
 * of exactly the field length, a point on the curve); members are strict
 * base64url without padding. Private members and use/alg/kid are ignored:
 * the handle never holds a private key, and its kid is the thumbprint.
 * Same key rules as pkjwt_key_load_mem() (RSA under 2048 bits:
 * PKJWT_ERR_WEAK_KEY).
 * Errors: PKJWT_ERR_JSON for bad JSON, duplicate members, a JWKS, missing or
 * malformed members, a point off the curve; PKJWT_ERR_KEY_TYPE for kty oct,
 * OKP and others, and for other curves. Free *out with pkjwt_key_free();
 * NULL on failure.
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_key_from_jwk(pkjwt_key **out, const char *json, size_t len,
                   pkjwt_error *err);

PKJWT_END_DECLS

#endif
