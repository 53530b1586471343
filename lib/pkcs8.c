/*
 * lib/pkcs8.c: a plain PKCS#8 PrivateKeyInfo made into a key through the
 * key manager's import (EVP_PKEY_fromdata), without OpenSSL 3.0's decoders.
 *
 * Why: setting up a decoder context costs a process's first key load about
 * 5 million instructions (OpenSSL 3.0 builds its whole decoder and key
 * manager stores for it), more than signing and more than `jose jws sig`
 * spends on its whole run. The import needs only the key manager that
 * signing fetches anyway. What is read here is the form pkjwt-keygen,
 * `openssl genpkey` and every provider's console write: PKCS#8, RSA with two
 * primes, or EC on one of our curves with its public point. Everything
 * else (SEC1, PKCS#1, encrypted, explicit curve parameters, multi-prime
 * RSA, RSA-PSS keys) returns NULL and goes to the decoders as before; the
 * key rules (pkjwt__key_wrap) judge both paths' keys alike.
 *
 * The inner structures are read with OpenSSL's own ASN.1 parser, from
 * templates for RFC 5915's ECPrivateKey and RFC 8017's RSAPrivateKey. The
 * private values live in secure, cleared memory (CBIGNUM, a secure BIGNUM
 * for the EC scalar, the OSSL_PARAM builder's secure block) and the parsed
 * octets are wiped before they are freed.
 */
#include "alg.h"

#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>

/* RFC 5915: ECPrivateKey */
typedef struct {
  int32_t version;
  ASN1_OCTET_STRING *priv;
  ASN1_TYPE *params; /* [0] ECParameters, when given */
  ASN1_BIT_STRING *pub;
} ec_priv;

ASN1_SEQUENCE(ec_priv) =
    {
        ASN1_EMBED(ec_priv, version, INT32),
        ASN1_SIMPLE(ec_priv, priv, ASN1_OCTET_STRING),
        ASN1_EXP_OPT(ec_priv, params, ASN1_ANY, 0),
        ASN1_EXP_OPT(ec_priv, pub, ASN1_BIT_STRING, 1),
} static_ASN1_SEQUENCE_END(ec_priv)

    /* RFC 8017 A.1.2: RSAPrivateKey, two primes (version 0) only */
    typedef struct {
  int32_t version;
  BIGNUM *n, *e, *d, *p, *q, *dp, *dq, *qinv;
} rsa_priv;

ASN1_SEQUENCE(rsa_priv) =
    {
        ASN1_EMBED(rsa_priv, version, INT32),
        ASN1_SIMPLE(rsa_priv, n, BIGNUM),
        ASN1_SIMPLE(rsa_priv, e, BIGNUM),
        ASN1_SIMPLE(rsa_priv, d, CBIGNUM),
        ASN1_SIMPLE(rsa_priv, p, CBIGNUM),
        ASN1_SIMPLE(rsa_priv, q, CBIGNUM),
        ASN1_SIMPLE(rsa_priv, dp, CBIGNUM),
        ASN1_SIMPLE(rsa_priv, dq, CBIGNUM),
        ASN1_SIMPLE(rsa_priv, qinv, CBIGNUM),
} static_ASN1_SEQUENCE_END(rsa_priv)

    /* One whole structure of item in der, or NULL (trailing bytes too). */
    static void *
    parse_whole(const ASN1_ITEM *item, const unsigned char *der, int len) {
  const unsigned char *p = der;
  ASN1_VALUE *v = ASN1_item_d2i(NULL, &p, len, item);
  if (v && p != der + len) {
    ASN1_item_free(v, item);
    v = NULL;
  }
  return v;
}

/* The key from params through the key manager of type, or NULL. */
static EVP_PKEY *import(const char *type, OSSL_PARAM_BLD *bld) {
  EVP_PKEY *pkey = NULL;
  OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX *ctx =
      params ? EVP_PKEY_CTX_new_from_name(NULL, type, NULL) : NULL;
  if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
      EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1) {
    EVP_PKEY_free(pkey);
    pkey = NULL;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params); /* clears the secure part */
  return pkey;
}

static EVP_PKEY *import_rsa(const unsigned char *der, int len) {
  rsa_priv *k = parse_whole(ASN1_ITEM_rptr(rsa_priv), der, len);
  if (!k)
    return NULL;
  EVP_PKEY *pkey = NULL;
  OSSL_PARAM_BLD *bld = k->version == 0 ? OSSL_PARAM_BLD_new() : NULL;
  if (bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, k->n) &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, k->e) &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, k->d) &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, k->p) &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, k->q) &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, k->dp) &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, k->dq) &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, k->qinv))
    pkey = import("RSA", bld);
  OSSL_PARAM_BLD_free(bld);
  ASN1_item_free((ASN1_VALUE *)k, ASN1_ITEM_rptr(rsa_priv)); /* BN_clear_free */
  return pkey;
}

static EVP_PKEY *import_ec(const unsigned char *der, int len,
                           const ASN1_OBJECT *curve) {
  const pkjwt__alg_info *row =
      pkjwt__alg_curve_by_group(OBJ_nid2sn(OBJ_obj2nid(curve)));
  ec_priv *k = row ? parse_whole(ASN1_ITEM_rptr(ec_priv), der, len) : NULL;
  if (!k)
    return NULL;
  EVP_PKEY *pkey = NULL;
  BIGNUM *priv = NULL;
  OSSL_PARAM_BLD *bld = NULL;
  /* version 1; the public point present, whole bytes; inner parameters, if
   * any, naming the same curve (anything else: the decoders decide) */
  int usual = k->version == 1 && k->pub && (k->pub->flags & 0x07) == 0 &&
              (!k->params || (k->params->type == V_ASN1_OBJECT &&
                              OBJ_cmp(k->params->value.object, curve) == 0));
  if (usual && (priv = BN_secure_new()) != NULL &&
      BN_bin2bn(k->priv->data, k->priv->length, priv) &&
      (bld = OSSL_PARAM_BLD_new()) != NULL &&
      OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                      row->group, 0) &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) &&
      OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                       k->pub->data, (size_t)k->pub->length))
    pkey = import("EC", bld);
  OSSL_PARAM_BLD_free(bld);
  BN_clear_free(priv);
  OPENSSL_cleanse(k->priv->data, (size_t)k->priv->length);
  ASN1_item_free((ASN1_VALUE *)k, ASN1_ITEM_rptr(ec_priv));
  return pkey;
}

EVP_PKEY *pkjwt__pkcs8_import(const PKCS8_PRIV_KEY_INFO *p8) {
  const ASN1_OBJECT *oid = NULL;
  const unsigned char *der = NULL;
  int len = 0;
  const X509_ALGOR *alg = NULL;
  if (!p8 || PKCS8_pkey_get0(&oid, &der, &len, &alg, p8) != 1 || len <= 0)
    return NULL;
  EVP_PKEY *pkey = NULL;
  int ptype = V_ASN1_UNDEF;
  const void *pval = NULL;
  X509_ALGOR_get0(NULL, &ptype, &pval, alg);
  switch (OBJ_obj2nid(oid)) {
  case NID_rsaEncryption:
    pkey = import_rsa(der, len);
    break;
  case NID_X9_62_id_ecPublicKey:
    if (ptype == V_ASN1_OBJECT) /* a named curve, not explicit parameters */
      pkey = import_ec(der, len, pval);
    break;
  default:
    break;
  }
  ERR_clear_error(); /* a form not read here is not an error */
  return pkey;
}
