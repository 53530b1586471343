/* lib/jwk.c: public JWK and JWKS (RFC 7517, 7518) and thumbprints (RFC 7638).
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/sha.h>

/*
 * The public members of a key, already base64url-encoded: crv/x/y for EC,
 * n/e for RSA. Shared by the thumbprint and the export so the two can never
 * disagree about padding or leading zeros.
 */
struct pub_members {
  int is_ec;
  const char *crv; /* static, EC only */
  char *a;         /* EC x, RSA n; malloc'd */
  char *b;         /* EC y, RSA e; malloc'd */
};

static void pub_members_clear(struct pub_members *m) {
  free(m->a);
  free(m->b);
  memset(m, 0, sizeof(*m));
}

static const struct curve_info {
  const char *jwk_name; /* RFC 7518 crv */
  const char *ossl_name;
  size_t field_len; /* bytes of one coordinate */
} curves[] = {
    {"P-256", "prime256v1", 32},
    {"P-384", "secp384r1", 48},
    {"P-521", "secp521r1", 66},
};

static const struct curve_info *curve_by_ossl(const char *name) {
  for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
    if (strcmp(curves[i].ossl_name, name) == 0 ||
        strcmp(curves[i].jwk_name, name) == 0)
      return &curves[i];
  return NULL;
}

/* base64url of bn: padded to pad bytes when pad > 0, else minimal (and at
 * least one byte, so e = 0 would still be "AA"; never happens for RSA). */
static char *bn_b64url(const BIGNUM *bn, size_t pad) {
  size_t n = pad > 0 ? pad : (size_t)BN_num_bytes(bn);
  if (n == 0)
    n = 1;
  if (pad == 0 && (size_t)BN_num_bytes(bn) > n)
    return NULL;
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

static int get_pub_members(struct pub_members *m, const EVP_PKEY *pkey,
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
    const struct curve_info *c = curve_by_ossl(group);
    if (!c) {
      rc = pkjwt__fail(err, PKJWT_ERR_KEY_TYPE,
                       "curve %s is not supported (P-256, P-384, P-521 are)",
                       group);
      goto done;
    }
    if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
        !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y)) {
      rc = pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO,
                           "cannot read the EC public point");
      goto done;
    }
    m->is_ec = 1;
    m->crv = c->jwk_name;
    /* RFC 7518 6.2.1.2: always the full field length, leading zeros kept. */
    m->a = bn_b64url(x, c->field_len);
    m->b = bn_b64url(y, c->field_len);
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
    pub_members_clear(m);
  else
    ERR_clear_error();
  return rc;
}

int pkjwt__jwk_thumbprint(char out[PKJWT__THUMBPRINT_LEN], const EVP_PKEY *pkey,
                          pkjwt_error *err) {
  if (!out || !pkey)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no key");
  struct pub_members m;
  int rc = get_pub_members(&m, pkey, err);
  if (rc != PKJWT_OK)
    return rc;
  /* RFC 7638 3.2: required members only, sorted, no whitespace. The values
   * are base64url, so nothing needs escaping. */
  size_t cap = strlen(m.a) + strlen(m.b) + 64;
  char *json = malloc(cap);
  if (!json) {
    pub_members_clear(&m);
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
  pub_members_clear(&m);
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
