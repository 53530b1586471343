/* lib/jwk.c: public JWK and JWKS export and import (RFC 7517/7518). */
#include "alg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include <jansson.h>

/* ---- export ------------------------------------------------------------ */

/* The alg a JWK may name is one pkjwt signs with, on a key it fits: the
 * same table and rules as lib/sign.c. */
static int check_alg(const char *alg, const pkjwt_key *key, pkjwt_error *err) {
  pkjwt_alg id;
  int rc = pkjwt_alg_from_name(&id, alg, err);
  if (rc != PKJWT_OK)
    return rc;
  return pkjwt__alg_check_key(pkjwt__alg_lookup(id), key, err);
}

/* The one alg the table allows on key (an EC key: its curve's), or NULL
 * when there are several (RSA: RS* and PS*). A JWK names an alg only then
 * unless asked: a verifier that honours a JWK's alg (RFC 7517 4.4) uses the
 * key for that alg alone, so pinning RS256 on an RSA key would make it
 * refuse the PS256 assertions pkjwt also signs with that key. */
static const char *only_alg(const pkjwt_key *key) {
  size_t n = 0;
  const pkjwt__alg_info *rows = pkjwt__alg_rows(&n), *found = NULL;
  for (size_t i = 0; i < n; i++) {
    if (pkjwt__alg_check_key(&rows[i], key, NULL) != PKJWT_OK)
      continue;
    if (found)
      return NULL;
    found = &rows[i];
  }
  return found ? found->name : NULL;
}

static int check_options(const pkjwt_jwk_options *opts, pkjwt_error *err) {
  if (!opts)
    return PKJWT_OK;
  int rc = pkjwt__options_version_ok(opts->version, PKJWT_JWK_OPTIONS_VERSION,
                                     "JWK options", err);
  if (rc != PKJWT_OK)
    return rc;
  if (opts->kid && opts->kid[0] == '\0')
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "kid is empty");
  if (opts->x5c && !opts->cert)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "x5c asked for without a certificate");
  return PKJWT_OK;
}

/* Set key k of obj to a new string value s; 0 or -1. */
static int set_str(json_t *obj, const char *k, const char *s) {
  json_t *v = json_string(s);
  return v ? json_object_set_new(obj, k, v) : -1;
}

/* The JWK of key as a new Jansson object, members in a stable order. */
static int build_jwk(json_t **out, const pkjwt_key *key,
                     const pkjwt_jwk_options *opts, pkjwt_error *err) {
  *out = NULL;
  if (!key || !key->pkey)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no key");
  int rc = check_options(opts, err);
  if (rc != PKJWT_OK)
    return rc;
  const char *alg = opts && opts->alg ? opts->alg : only_alg(key);
  if (alg && (rc = check_alg(alg, key, err)) != PKJWT_OK)
    return rc;
  const pkjwt_cert *cert = opts && opts->x5c ? opts->cert : NULL;
  if (cert && !pkjwt_cert_matches_key(cert, key))
    return pkjwt__fail(err, PKJWT_ERR_CERT,
                       "the certificate is not for this key");

  struct pkjwt__pub_members m;
  if ((rc = pkjwt__pub_members_get(&m, key->pkey, err)) != PKJWT_OK)
    return rc;
  json_t *jwk = json_object();
  char *x5c = NULL;
  int bad = jwk == NULL;
  if (!bad && m.is_ec)
    bad = set_str(jwk, "kty", "EC") || set_str(jwk, "crv", m.crv) ||
          set_str(jwk, "x", m.a) || set_str(jwk, "y", m.b);
  else if (!bad)
    bad = set_str(jwk, "kty", "RSA") || set_str(jwk, "n", m.a) ||
          set_str(jwk, "e", m.b);
  pkjwt__pub_members_clear(&m);
  if (!bad)
    bad = set_str(jwk, "use", "sig") || (alg && set_str(jwk, "alg", alg));
  if (!bad &&
      set_str(jwk, "kid", opts && opts->kid ? opts->kid : key->thumbprint)) {
    json_decref(jwk);
    /* json_string refuses only invalid UTF-8 once memory is there */
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "kid is not valid UTF-8");
  }
  if (!bad && cert) {
    x5c = malloc(PKJWT__B64_LEN(cert->der_len) + 1);
    json_t *arr = json_array();
    bad = !x5c || !arr;
    if (!bad) {
      pkjwt__b64_encode(x5c, cert->der, cert->der_len);
      /* A failed append leaves arr ours (freed below); set_new takes it
       * whatever happens (found by tests/check_nomem.c). */
      bad = json_array_append_new(arr, json_string(x5c)) != 0;
      if (!bad) {
        bad = json_object_set_new(jwk, "x5c", arr) != 0;
        arr = NULL;
      }
    }
    json_decref(arr);
    if (!bad)
      bad = set_str(jwk, "x5t#S256", pkjwt_cert_get_x5t_s256(cert));
    free(x5c);
  }
  if (bad) {
    json_decref(jwk);
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  }
  *out = jwk;
  return PKJWT_OK;
}

/* One line of JSON into *out. The buffer is ours (plain malloc, freed by
 * pkjwt_str_free), not Jansson's, whose allocator the application may have
 * replaced with json_set_alloc_funcs. */
static int dump(char **out, const json_t *j, pkjwt_error *err) {
  if (!(*out = pkjwt__json_string(j)))
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  return PKJWT_OK;
}

int pkjwt_jwk_export(char **out, const pkjwt_key *key,
                     const pkjwt_jwk_options *opts, pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no output");
  *out = NULL;
  json_t *jwk;
  int rc = build_jwk(&jwk, key, opts, err);
  if (rc != PKJWT_OK)
    return rc;
  rc = dump(out, jwk, err);
  json_decref(jwk);
  return rc;
}

/* Prefix err->message with "key N: " so a JWKS failure names its key. */
static int fail_key(pkjwt_error *err, int rc, size_t i) {
  if (err) {
    char msg[PKJWT_ERROR_MESSAGE_MAX];
    memcpy(msg, err->message, sizeof(msg));
    msg[sizeof(msg) - 1] = '\0';
    snprintf(err->message, sizeof(err->message), "key %zu: %.480s", i + 1, msg);
  }
  return rc;
}

int pkjwt_jwks_export(char **out, const pkjwt_key *const *keys,
                      const pkjwt_jwk_options *opts, size_t n,
                      pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no output");
  *out = NULL;
  if (!keys || n == 0)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "a JWKS needs a key");
  json_t *arr = json_array();
  json_t *set = json_object();
  if (!arr || !set || json_object_set(set, "keys", arr)) {
    json_decref(arr);
    json_decref(set);
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  }
  int rc = PKJWT_OK;
  for (size_t i = 0; i < n && rc == PKJWT_OK; i++) {
    json_t *jwk;
    rc = build_jwk(&jwk, keys[i], opts ? &opts[i] : NULL, err);
    if (rc != PKJWT_OK) {
      rc = fail_key(err, rc, i);
      break;
    }
    const char *kid = json_string_value(json_object_get(jwk, "kid"));
    for (size_t j = 0; j < i; j++) {
      const char *other =
          json_string_value(json_object_get(json_array_get(arr, j), "kid"));
      if (kid && other && strcmp(kid, other) == 0) {
        rc = pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                         "two keys share kid %.200s (keys %zu and %zu)", kid,
                         j + 1, i + 1);
        break;
      }
    }
    if (rc != PKJWT_OK || json_array_append_new(arr, jwk)) {
      if (rc == PKJWT_OK)
        rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
      else
        json_decref(jwk);
    }
  }
  if (rc == PKJWT_OK)
    rc = dump(out, set, err);
  json_decref(arr);
  json_decref(set);
  return rc;
}

/* ---- import ------------------------------------------------------------ */

/* Decode member name of jwk (a base64url string) into *bin; PKJWT_ERR_JSON
 * when it is missing, not a string, empty or not strict base64url. */
static int get_b64(unsigned char **bin, size_t *len, const json_t *jwk,
                   const char *name, pkjwt_error *err) {
  *bin = NULL;
  const json_t *v = json_object_get(jwk, name);
  if (!v)
    return pkjwt__fail(err, PKJWT_ERR_JSON, "JWK member \"%s\" is missing",
                       name);
  if (!json_is_string(v))
    return pkjwt__fail(err, PKJWT_ERR_JSON, "JWK member \"%s\" is not a string",
                       name);
  const char *s = json_string_value(v);
  size_t slen = json_string_length(v);
  if (slen == 0 || pkjwt__b64url_decode(bin, len, s, slen) != 0 || *len == 0) {
    free(*bin);
    *bin = NULL;
    return pkjwt__fail(err, PKJWT_ERR_JSON,
                       "JWK member \"%s\" is not base64url without padding",
                       name);
  }
  return PKJWT_OK;
}

static int rsa_from_jwk(EVP_PKEY **out, const json_t *jwk, pkjwt_error *err) {
  unsigned char *n = NULL, *e = NULL;
  size_t nlen = 0, elen = 0;
  BIGNUM *bn_n = NULL, *bn_e = NULL;
  OSSL_PARAM_BLD *bld = NULL;
  OSSL_PARAM *params = NULL;
  EVP_PKEY_CTX *ctx = NULL;
  int rc = get_b64(&n, &nlen, jwk, "n", err);
  if (rc == PKJWT_OK)
    rc = get_b64(&e, &elen, jwk, "e", err);
  if (rc != PKJWT_OK)
    goto done;
  bn_n = BN_bin2bn(n, (int)nlen, NULL);
  bn_e = BN_bin2bn(e, (int)elen, NULL);
  bld = OSSL_PARAM_BLD_new();
  if (!bn_n || !bn_e || !bld ||
      !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
      !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) ||
      !(params = OSSL_PARAM_BLD_to_param(bld)) ||
      !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) ||
      EVP_PKEY_fromdata_init(ctx) <= 0 ||
      EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
    rc = pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO,
                         "cannot make an RSA key from the JWK");
    goto done;
  }
  /* n and e must be odd, e > 1: what a real RSA public key looks like */
  if (BN_is_zero(bn_e) || BN_is_one(bn_e) || !BN_is_odd(bn_e) ||
      !BN_is_odd(bn_n)) {
    rc = pkjwt__fail(err, PKJWT_ERR_JSON, "JWK holds no valid RSA public key");
    goto done;
  }
done:
  if (rc != PKJWT_OK) {
    EVP_PKEY_free(*out);
    *out = NULL;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn_n);
  BN_free(bn_e);
  free(n);
  free(e);
  return rc;
}

static int ec_from_jwk(EVP_PKEY **out, const json_t *jwk, pkjwt_error *err) {
  const json_t *crv = json_object_get(jwk, "crv");
  if (!json_is_string(crv))
    return pkjwt__fail(err, PKJWT_ERR_JSON,
                       "JWK member \"crv\" is missing or not a string");
  const pkjwt__alg_info *c =
      pkjwt__alg_default(PKJWT_KEY_EC, json_string_value(crv));
  if (!c)
    return pkjwt__fail(err, PKJWT_ERR_KEY_TYPE,
                       "curve %.40s is not supported (%s are)",
                       json_string_value(crv), pkjwt__alg_curve_list(1));
  unsigned char *x = NULL, *y = NULL, *point = NULL;
  size_t xlen = 0, ylen = 0;
  OSSL_PARAM params[3];
  EVP_PKEY_CTX *ctx = NULL;
  int rc = get_b64(&x, &xlen, jwk, "x", err);
  if (rc == PKJWT_OK)
    rc = get_b64(&y, &ylen, jwk, "y", err);
  if (rc != PKJWT_OK)
    goto done;
  /* RFC 7518 6.2.1.2-3: exactly the field length, leading zeros included */
  if (xlen != c->coord_len || ylen != c->coord_len) {
    rc = pkjwt__fail(err, PKJWT_ERR_JSON,
                     "JWK %s coordinate is %zu bytes, %s needs exactly %zu",
                     xlen != c->coord_len ? "x" : "y",
                     xlen != c->coord_len ? xlen : ylen, c->crv, c->coord_len);
    goto done;
  }
  size_t plen = 1 + 2 * c->coord_len;
  point = malloc(plen);
  if (!point) {
    rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
    goto done;
  }
  point[0] = 0x04; /* uncompressed: x || y */
  memcpy(point + 1, x, c->coord_len);
  memcpy(point + 1 + c->coord_len, y, c->coord_len);
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                               (char *)c->group, 0);
  params[1] =
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, plen);
  params[2] = OSSL_PARAM_construct_end();
  if (!(ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ||
      EVP_PKEY_fromdata_init(ctx) <= 0 ||
      EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
    rc = pkjwt__fail_ssl(err, PKJWT_ERR_JSON,
                         "JWK x and y are not a point on %s", c->crv);
    goto done;
  }
  /* fromdata already decodes the point onto the curve; check again so a
   * future provider that defers the check cannot let a bad point through. */
  EVP_PKEY_CTX_free(ctx);
  ctx = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL);
  if (!ctx || EVP_PKEY_public_check(ctx) != 1) {
    rc = pkjwt__fail_ssl(err, PKJWT_ERR_JSON,
                         "JWK x and y are not a point on %s", c->crv);
    goto done;
  }
done:
  if (rc != PKJWT_OK) {
    EVP_PKEY_free(*out);
    *out = NULL;
  }
  EVP_PKEY_CTX_free(ctx);
  free(point);
  free(x);
  free(y);
  return rc;
}

int pkjwt_key_from_jwk(pkjwt_key **out, const char *json, size_t len,
                       pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no output");
  *out = NULL;
  if (!json)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no JWK");
  json_error_t jerr;
  json_t *jwk = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!jwk && pkjwt__json_nomem(&jerr))
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory reading the JWK");
  if (!jwk)
    return pkjwt__fail(err, PKJWT_ERR_JSON, "JWK is not valid JSON: %s",
                       jerr.text);
  int rc;
  EVP_PKEY *pkey = NULL;
  const json_t *kty = json_object_get(jwk, "kty");
  if (!json_is_object(jwk)) {
    rc = pkjwt__fail(err, PKJWT_ERR_JSON, "JWK is not a JSON object");
  } else if (json_object_get(jwk, "keys") && !kty) {
    rc = pkjwt__fail(err, PKJWT_ERR_JSON, "this is a JWKS, not one JWK");
  } else if (!json_is_string(kty)) {
    rc = pkjwt__fail(err, PKJWT_ERR_JSON,
                     "JWK member \"kty\" is missing or not a string");
  } else if (strcmp(json_string_value(kty), "RSA") == 0) {
    rc = rsa_from_jwk(&pkey, jwk, err);
  } else if (strcmp(json_string_value(kty), "EC") == 0) {
    rc = ec_from_jwk(&pkey, jwk, err);
  } else {
    rc = pkjwt__fail(err, PKJWT_ERR_KEY_TYPE,
                     "JWK kty %.20s is not supported (RSA and EC are)",
                     json_string_value(kty));
  }
  json_decref(jwk);
  if (rc != PKJWT_OK)
    return rc;
  return pkjwt__key_wrap(out, pkey, err); /* takes pkey */
}
