/*
 * lib/keyder.c: the usual private keys read without OpenSSL's decoders.
 *
 * OpenSSL 3.0 builds every decoder it has the first time any key is decoded
 * in a process (about 1 ms here, on top of a 0.2 ms load), so the first key
 * load was the slowest step of a short-lived tool. The files pkjwt and
 * `openssl genpkey` write are few and simple: PKCS#8 (RFC 5208), encrypted
 * PKCS#8 (RFC 5958, PBES2), SEC1 (RFC 5915) and PKCS#1 (RFC 8017 A.1.2),
 * for RSA or EC on a curve of lib/alg.c's table. They are walked here with
 * OpenSSL's own DER header reader (ASN1_get_object) and PKCS#8 templates,
 * and the key is made with EVP_PKEY_fromdata. Anything else or anything
 * unusual (explicit curve parameters, no public point, multi-prime RSA,
 * legacy PEM encryption, trailing bytes) returns NULL and the caller uses
 * the decoders, which accept every format and give today's messages.
 * DER input without a label is tried as PKCS#8, PKCS#1 and SEC1 in turn;
 * each reader is strict, so at most one can match.
 */
#define _GNU_SOURCE 1
#include "alg.h"

#include <limits.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

/* At most the PEM passphrase OpenSSL's decoders take, so the fast path
 * never accepts a key the decoders would refuse. */
#define PASS_MAX PEM_BUFSIZE

/* The next DER element at *p (before end): its tag must be tag of class
 * cls. On success *val and *vlen give its content, *p moves past it, and *tlv
 * (when not NULL) points at its header. -1 otherwise. */
static int next(const unsigned char **p, const unsigned char *end, int tag,
                int cls, const unsigned char **val, long *vlen,
                const unsigned char **tlv) {
  const unsigned char *q = *p;
  long len = 0;
  int t = 0, c = 0;
  if (q >= end)
    return -1;
  int r = ASN1_get_object(&q, &len, &t, &c, end - q);
  if ((r & 0x80) || (r & 0x01) || t != tag || c != cls || len > end - q)
    return -1;
  if (tlv)
    *tlv = *p;
  *val = q;
  *vlen = len;
  *p = q + len;
  return 0;
}

/* A non-negative INTEGER as a BIGNUM in secure memory (so that
 * OSSL_PARAM_BLD puts it in the part OSSL_PARAM_free wipes), or NULL. */
static BIGNUM *next_uint(const unsigned char **p, const unsigned char *end) {
  const unsigned char *v;
  long n;
  if (next(p, end, V_ASN1_INTEGER, V_ASN1_UNIVERSAL, &v, &n, NULL) != 0 ||
      n < 1 || (v[0] & 0x80))
    return NULL;
  BIGNUM *bn = BN_secure_new();
  if (bn && !BN_bin2bn(v, (int)n, bn)) {
    BN_clear_free(bn);
    bn = NULL;
  }
  return bn;
}

/* The INTEGER version equals want. */
static int version_is(const unsigned char **p, const unsigned char *end,
                      unsigned char want) {
  const unsigned char *v;
  long n;
  return next(p, end, V_ASN1_INTEGER, V_ASN1_UNIVERSAL, &v, &n, NULL) == 0 &&
         n == 1 && v[0] == want;
}

/* Enter the SEQUENCE that is all of [der, der + len) and read its INTEGER
 * version, which must be want: on success [*p, *end) is the rest of the
 * SEQUENCE's content. */
static int enter(const unsigned char **p, const unsigned char **end,
                 const unsigned char *der, long len, unsigned char want) {
  const unsigned char *q = der, *seq;
  long slen;
  if (next(&q, der + len, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, &seq, &slen,
           NULL) != 0 ||
      q != der + len)
    return 0;
  *p = seq;
  *end = seq + slen;
  return version_is(p, *end, want);
}

/* Make the key from params; NULL on failure. */
static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld) {
  EVP_PKEY *pkey = NULL;
  OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX *ctx =
      params ? EVP_PKEY_CTX_new_from_name(NULL, type, NULL) : NULL;
  if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
      EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) <= 0) {
    EVP_PKEY_free(pkey);
    pkey = NULL;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params); /* wipes the secure part: private numbers */
  return pkey;
}

/* RSAPrivateKey (two primes) in [der, der + len). */
static EVP_PKEY *rsa_key(const unsigned char *der, long len) {
  static const char *const names[] = {
      OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
      OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
      OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
      OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
  enum { N_INTS = sizeof(names) / sizeof(names[0]) };
  const unsigned char *p, *end;
  if (!enter(&p, &end, der, len, 0)) /* 1 is multi-prime: the decoders' */
    return NULL;
  BIGNUM *bn[N_INTS] = {NULL};
  EVP_PKEY *pkey = NULL;
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  int ok = bld != NULL;
  for (size_t i = 0; ok && i < N_INTS; i++)
    ok = (bn[i] = next_uint(&p, end)) != NULL &&
         OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]) == 1;
  if (ok && p == end)
    pkey = from_params("RSA", bld);
  OSSL_PARAM_BLD_free(bld);
  for (size_t i = 0; i < N_INTS; i++)
    BN_clear_free(bn[i]);
  return pkey;
}

/* The table row of a named curve OID (DER TLV at tlv, tlen bytes). */
static const pkjwt__alg_info *curve_of_oid(const unsigned char *tlv,
                                           long tlen) {
  ASN1_OBJECT *obj = d2i_ASN1_OBJECT(NULL, &tlv, tlen);
  int nid = obj ? OBJ_obj2nid(obj) : NID_undef;
  ASN1_OBJECT_free(obj);
  const char *sn = nid != NID_undef ? OBJ_nid2sn(nid) : NULL;
  return sn ? pkjwt__alg_curve_by_group(sn) : NULL;
}

/* ECPrivateKey in [der, der + len); curve is the row PKCS#8 named, or NULL
 * when the key must name its own ([0], as SEC1 files do). */
static EVP_PKEY *ec_key(const unsigned char *der, long len,
                        const pkjwt__alg_info *curve) {
  const unsigned char *p, *end, *priv, *v, *tlv;
  long plen, n;
  if (!enter(&p, &end, der, len, 1) ||
      next(&p, end, V_ASN1_OCTET_STRING, V_ASN1_UNIVERSAL, &priv, &plen,
           NULL) != 0 ||
      plen < 1)
    return NULL;
  /* [0] parameters: a named curve only, and the same as PKCS#8 says */
  if (next(&p, end, 0, V_ASN1_CONTEXT_SPECIFIC, &v, &n, NULL) == 0) {
    const unsigned char *q = v, *oid;
    long olen;
    if (next(&q, v + n, V_ASN1_OBJECT, V_ASN1_UNIVERSAL, &oid, &olen, &tlv) !=
            0 ||
        q != v + n)
      return NULL;
    const pkjwt__alg_info *named = curve_of_oid(tlv, q - tlv);
    if (!named || (curve && named != curve))
      return NULL;
    curve = named;
  }
  if (!curve)
    return NULL;
  /* [1] the public point: needed, fromdata in 3.0 does not derive it */
  const unsigned char *bits;
  long blen;
  if (next(&p, end, 1, V_ASN1_CONTEXT_SPECIFIC, &v, &n, NULL) != 0)
    return NULL;
  const unsigned char *q = v;
  if (next(&q, v + n, V_ASN1_BIT_STRING, V_ASN1_UNIVERSAL, &bits, &blen,
           NULL) != 0 ||
      q != v + n || p != end || blen < 2 || bits[0] != 0)
    return NULL;

  EVP_PKEY *pkey = NULL;
  BIGNUM *d = BN_secure_new();
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  if (d && bld && BN_bin2bn(priv, (int)plen, d) &&
      OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                      curve->group, 0) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) == 1 &&
      OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, bits + 1,
                                       (size_t)(blen - 1)) == 1)
    pkey = from_params("EC", bld);
  OSSL_PARAM_BLD_free(bld);
  BN_clear_free(d);
  return pkey;
}

/* The key inside a PKCS#8 PrivateKeyInfo. */
static EVP_PKEY *p8_key(const PKCS8_PRIV_KEY_INFO *p8) {
  const ASN1_OBJECT *obj = NULL;
  const unsigned char *pk = NULL;
  int pklen = 0;
  const X509_ALGOR *alg = NULL;
  if (PKCS8_pkey_get0(&obj, &pk, &pklen, &alg, p8) != 1 || !pk || pklen < 1)
    return NULL;
  switch (OBJ_obj2nid(obj)) {
  case NID_rsaEncryption:
    return rsa_key(pk, pklen);
  case NID_X9_62_id_ecPublicKey: {
    int ptype = 0;
    const void *pval = NULL;
    X509_ALGOR_get0(NULL, &ptype, &pval, alg);
    if (ptype != V_ASN1_OBJECT)
      return NULL; /* explicit parameters */
    const char *sn = OBJ_nid2sn(OBJ_obj2nid((const ASN1_OBJECT *)pval));
    const pkjwt__alg_info *curve = sn ? pkjwt__alg_curve_by_group(sn) : NULL;
    return curve ? ec_key(pk, pklen, curve) : NULL;
  }
  default:
    return NULL;
  }
}

/* A DER PrivateKeyInfo that is all of [der, der + len). */
static EVP_PKEY *p8_der(const unsigned char *der, long len) {
  const unsigned char *p = der;
  PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, len);
  EVP_PKEY *pkey = p8 && p == der + len ? p8_key(p8) : NULL;
  PKCS8_PRIV_KEY_INFO_free(p8); /* wipes the key octets */
  return pkey;
}

/* A DER EncryptedPrivateKeyInfo, decrypted with pass. */
static EVP_PKEY *p8_encrypted(const unsigned char *der, long len,
                              const char *pass, size_t pass_len) {
  const unsigned char *p = der;
  X509_SIG *sig = d2i_X509_SIG(NULL, &p, len);
  PKCS8_PRIV_KEY_INFO *p8 =
      sig && p == der + len
          ? PKCS8_decrypt_ex(sig, pass, (int)pass_len, NULL, NULL)
          : NULL;
  EVP_PKEY *pkey = p8 ? p8_key(p8) : NULL;
  PKCS8_PRIV_KEY_INFO_free(p8);
  X509_SIG_free(sig);
  return pkey;
}

EVP_PKEY *pkjwt__keyder_private(const unsigned char *data, size_t len,
                                const char *label, const char *passphrase) {
  if (len == 0 || len > LONG_MAX)
    return NULL;
  size_t pass_len = passphrase ? strlen(passphrase) : 0;
  if (pass_len > PASS_MAX)
    return NULL;
  EVP_PKEY *pkey = NULL;
  if (!label) { /* DER: PKCS#8, else the type-specific forms */
    pkey = p8_der(data, (long)len);
    if (!pkey)
      pkey = rsa_key(data, (long)len);
    if (!pkey)
      pkey = ec_key(data, (long)len, NULL);
    ERR_clear_error();
    return pkey;
  }
  int kind = strcmp(label, "PRIVATE KEY") == 0             ? 1
             : strcmp(label, "ENCRYPTED PRIVATE KEY") == 0 ? 2
             : strcmp(label, "RSA PRIVATE KEY") == 0       ? 3
             : strcmp(label, "EC PRIVATE KEY") == 0        ? 4
                                                           : 0;
  if (kind == 0 || (kind == 2 && !passphrase))
    return NULL;
  BIO *bio = BIO_new_mem_buf(data, (int)(len > INT_MAX ? INT_MAX : len));
  char *name = NULL, *header = NULL;
  unsigned char *der = NULL;
  long dlen = 0;
  /* header holds Proc-Type/DEK-Info of legacy PEM encryption: not ours */
  if (bio && PEM_read_bio(bio, &name, &header, &der, &dlen) == 1 &&
      strcmp(name, label) == 0 && header[0] == '\0') {
    if (kind == 1)
      pkey = p8_der(der, dlen);
    else if (kind == 2)
      pkey = p8_encrypted(der, dlen, passphrase, pass_len);
    else if (kind == 3)
      pkey = rsa_key(der, dlen);
    else
      pkey = ec_key(der, dlen, NULL);
  }
  OPENSSL_free(name);
  OPENSSL_free(header);
  OPENSSL_clear_free(der, dlen > 0 ? (size_t)dlen : 0);
  BIO_free(bio);
  ERR_clear_error();
  return pkey;
}
