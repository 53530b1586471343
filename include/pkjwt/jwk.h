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
  const char *alg;        /**< NULL = the key's default alg */
  const pkjwt_cert *cert; /**< with x5c: adds x5c and x5t#S256 */
  int x5c;                /**< 1: add x5c and x5t#S256 from cert */
} pkjwt_jwk_options;
#define PKJWT_JWK_OPTIONS_INIT { PKJWT_JWK_OPTIONS_VERSION, NULL, NULL, NULL, 0 }

/**
 * The public JWK of key as one line of JSON: kty, crv/x/y (coordinates padded
 * to the field length) or n/e, use "sig", alg, kid. Never a private member.
 * opts may be NULL. Free *out with pkjwt_str_free().
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_jwk_export(char **out, const pkjwt_key *key,
                 const pkjwt_jwk_options *opts, pkjwt_error *err);

/**
 * A JWKS {"keys":[...]} of n public keys. opts[i] (opts may be NULL) apply to
 * keys[i]. Free *out with pkjwt_str_free().
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_jwks_export(char **out, const pkjwt_key *const *keys,
                  const pkjwt_jwk_options *opts, size_t n, pkjwt_error *err);

/**
 * Make a public-only key handle from a JWK (RSA or EC, public members used;
 * private members ignored). Same key rules as pkjwt_key_load_mem().
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_key_from_jwk(pkjwt_key **out, const char *json, size_t len,
                   pkjwt_error *err);

PKJWT_END_DECLS

#endif
