/*
 * lib/thumbprint.c: a key's public members as base64url (RFC 7518 6.2.1,
 * 6.3.1) and its RFC 7638 thumbprint. Below lib/key.c, which stores the
 * thumbprint in every handle, and lib/jwk.c, which exports the same
 * members, so the two can never disagree about padding or leading zeros.
 */
#include "alg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/sha.h>

void pkjwt__pub_members_clear(struct pkjwt__pub_members *m) {
  free(m->a);
  free(m->b);
  memset(m, 0, sizeof(*m));
}

/* base64url of bn: left-padded with zeros to pad bytes when pad > 0 (a
 * larger bn fails), else minimal but at least one byte. NULL on failure. */
static char *bn_b64url(const BIGNUM *bn, size_t pad) {
  size_t n = pad > 0 ? pad : (size_t)BN_num_bytes(bn);
  if (n == 0)
    n = 1;
  unsigned char *bin = malloc(n);
  char *out = malloc(PKJWT__B64URL_LEN(n) + 1);
  if (!bin || !out || BN_bn2binpad(bn, bin, (int)n) != (int)n) {
    free(bin);
    free(out);
    return NULL;
  }
  pkjwt__b64url_encode(out, bin, n);
  free(bin);
  return out;
}

int pkjwt__pub_members_get(struct pkjwt__pub_members *m, const EVP_PKEY *pkey,
                           pkjwt_error *err) {
  memset(m, 0, sizeof(*m));
  BIGNUM *x = NULL, *y = NULL;
  int rc = PKJWT_OK;
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &x) ||
        !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &y)) {
      rc = pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO,
                           "cannot read the RSA public key");
      goto done;
    }
    m->a = bn_b64url(x, 0);
    m->b = bn_b64url(y, 0);
  } else if (EVP_PKEY_is_a(pkey, "EC")) {
    char group[64];
    size_t glen = 0;
    if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                        sizeof(group), &glen)) {
      rc = pkjwt__fail_ssl(err, PKJWT_ERR_KEY_TYPE,
                           "EC key without a named curve");
      goto done;
    }
    const pkjwt__alg_info *c = pkjwt__alg_curve_by_group(group);
    if (!c) {
      rc = pkjwt__fail(err, PKJWT_ERR_KEY_TYPE,
                       "curve %s is not supported (%s are)", group,
                       pkjwt__alg_curve_list(1));
      goto done;
    }
    if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
        !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y)) {
      rc = pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO,
                           "cannot read the EC public point");
      goto done;
    }
    m->is_ec = 1;
    m->crv = c->crv;
    /* RFC 7518 6.2.1.2: always the full field length, leading zeros kept. */
    m->a = bn_b64url(x, c->coord_len);
    m->b = bn_b64url(y, c->coord_len);
  } else {
    rc = pkjwt__fail(err, PKJWT_ERR_KEY_TYPE,
                     "only RSA and EC keys are supported");
    goto done;
  }
  if (!m->a || !m->b)
    rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
done:
  BN_free(x);
  BN_free(y);
  if (rc != PKJWT_OK)
    pkjwt__pub_members_clear(m);
  else
    ERR_clear_error();
  return rc;
}

int pkjwt__jwk_thumbprint(char out[PKJWT__THUMBPRINT_LEN], const EVP_PKEY *pkey,
                          pkjwt_error *err) {
  if (!out || !pkey)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no key");
  struct pkjwt__pub_members m;
  int rc = pkjwt__pub_members_get(&m, pkey, err);
  if (rc != PKJWT_OK)
    return rc;
  /* RFC 7638 3.2: required members only, sorted, no whitespace. The values
   * are base64url, so nothing needs escaping. */
  size_t cap = strlen(m.a) + strlen(m.b) + 64;
  char *json = malloc(cap);
  if (!json) {
    pkjwt__pub_members_clear(&m);
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  }
  int n;
  if (m.is_ec)
    n = snprintf(json, cap,
                 "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
                 m.crv, m.a, m.b);
  else
    n = snprintf(json, cap, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", m.b,
                 m.a);
  pkjwt__pub_members_clear(&m);
  if (n < 0 || (size_t)n >= cap) {
    free(json);
    return pkjwt__fail(err, PKJWT_ERR_INTERNAL, "thumbprint input too long");
  }
  unsigned char md[SHA256_DIGEST_LENGTH];
  if (!SHA256((const unsigned char *)json, (size_t)n, md)) {
    free(json);
    return pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO, "SHA-256 failed");
  }
  free(json);
  pkjwt__b64url_encode(out, md, sizeof(md));
  return PKJWT_OK;
}
