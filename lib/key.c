/*
 * lib/key.c: key handles. Generation, loading through OpenSSL 3's decoders,
 * the key rules (RSA 2048-8192 bits, EC P-256/384/521, nothing else), and
 * writing PKCS#8 PEM, optionally encrypted.
 */
#define _GNU_SOURCE 1
#include "alg.h"
#include "bounds.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

/* scrypt as `openssl pkcs8 -scrypt` uses it: N = 2^14, r = 8, p = 1 needs
 * 16 MiB, within the 32 MiB OpenSSL allows when decrypting. A larger N would
 * make the file unreadable to OpenSSL's own tools. */
#define SCRYPT_N 16384
#define SCRYPT_R 8
#define SCRYPT_P 1
#define PBE_SALT_LEN 16

static const char weak_rsa_msg[] =
    "RSA keys shorter than 2048 bits are refused";

/* ---- the key rules ---------------------------------------------------- */

/* A readable name for a key type we refuse. */
static const char *type_label(const EVP_PKEY *pkey) {
  static const struct {
    const char *ossl, *label;
  } names[] = {
      {"ED25519", "Ed25519"}, {"ED448", "Ed448"},     {"X25519", "X25519"},
      {"X448", "X448"},       {"DSA", "DSA"},         {"DH", "DH"},
      {"DHX", "DH"},          {"RSA-PSS", "RSA-PSS"}, {"SM2", "SM2"}};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (EVP_PKEY_is_a(pkey, names[i].ossl))
      return names[i].label;
  const char *n = EVP_PKEY_get0_type_name(pkey);
  return n ? n : "this type of";
}

/* 1 when the key holds the number name, 0 when it does not, -1 when
 * OpenSSL could not tell (out of memory: the query fails as it does for a
 * number that is absent, but leaves an error). A private key must never
 * be taken for a public one. */
static int has_bn_param(const EVP_PKEY *pkey, const char *name) {
  BIGNUM *bn = NULL;
  ERR_clear_error();
  int ok = EVP_PKEY_get_bn_param(pkey, name, &bn) == 1 && bn != NULL;
  BN_clear_free(bn);
  if (!ok && pkjwt__ssl_nomem())
    return -1;
  ERR_clear_error();
  return ok;
}

/* The public exponent's rules (lib/bounds.h): odd, 3 <= e < n, at most
 * PKJWT__RSA_E_MAX_BITS bits. Keys from files, certificates and JWKs all
 * pass here. */
static int rsa_exponent_ok(const EVP_PKEY *pkey, pkjwt_error *err) {
  BIGNUM *n = NULL, *e = NULL;
  int rc = PKJWT_OK;
  if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
      EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
    rc = pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO, "cannot read the RSA key");
  } else if (BN_num_bits(e) > PKJWT__RSA_E_MAX_BITS) {
    rc = pkjwt__fail(err, PKJWT_ERR_KEY_TYPE,
                     "RSA public exponent of %d bits refused: at most %d "
                     "bits (65537 is usual)",
                     BN_num_bits(e), PKJWT__RSA_E_MAX_BITS);
  } else if (!BN_is_odd(e) || BN_cmp(e, BN_value_one()) <= 0 ||
             BN_cmp(e, n) >= 0) {
    rc = pkjwt__fail(err, PKJWT_ERR_KEY_TYPE,
                     "RSA public exponent refused: it must be odd, at least "
                     "3 and less than the modulus (65537 is usual)");
  }
  BN_free(n);
  BN_free(e);
  ERR_clear_error();
  return rc;
}

/* The rules an RSA key must meet (size, exponent), and its facts. */
static int rsa_rules(const pkjwt__alg_info **row, unsigned int *bits,
                     int *has_private, EVP_PKEY *pkey, pkjwt_error *err) {
  int b = EVP_PKEY_get_bits(pkey);
  if (b <= 0) {
    /* OpenSSL caches the size when the key is made; none is a failure
     * there (out of memory), not a weak key. */
    return pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO,
                           "cannot read the RSA key's size");
  }
  if (b < PKJWT__RSA_MIN_BITS) {
    return pkjwt__fail(err, PKJWT_ERR_WEAK_KEY, "%s", weak_rsa_msg);
  }
  if (b > PKJWT__RSA_MAX_BITS) {
    return pkjwt__fail(err, PKJWT_ERR_KEY_TYPE,
                       "RSA keys longer than %d bits are not supported",
                       PKJWT__RSA_MAX_BITS);
  }
  int rc = rsa_exponent_ok(pkey, err);
  if (rc != PKJWT_OK)
    return rc;
  *row = pkjwt__alg_default(PKJWT_KEY_RSA, NULL);
  *bits = (unsigned int)b;
  *has_private = has_bn_param(pkey, OSSL_PKEY_PARAM_RSA_D);
  return PKJWT_OK;
}

/* The rules an EC key must meet (a named curve of ours), and its facts; the
 * key is set to write a named curve and an uncompressed point. */
static int ec_rules(const pkjwt__alg_info **row, unsigned int *bits,
                    int *has_private, EVP_PKEY *pkey, pkjwt_error *err) {
  char group[80];
  size_t glen = 0;
  if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) != 1) {
    if (pkjwt__ssl_nomem()) {
      return pkjwt__fail(err, PKJWT_ERR_NOMEM,
                         "out of memory reading the EC key's curve");
    }
    return pkjwt__fail(err, PKJWT_ERR_KEY_TYPE,
                       "EC keys with explicit curve parameters are not "
                       "supported; use a named curve %s",
                       pkjwt__alg_curve_list(1));
  }
  *row = pkjwt__alg_curve_by_group(group);
  if (!*row) {
    return pkjwt__fail(err, PKJWT_ERR_KEY_TYPE,
                       "EC curve %s is not supported; use %s", group,
                       pkjwt__alg_curve_list(1));
  }
  /* A key read with explicit curve parameters or compressed points is
   * still P-256/384/521; write it out the way everyone reads it: named
   * curve, uncompressed point. */
  (void)EVP_PKEY_set_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_ENCODING,
                                       OSSL_PKEY_EC_ENCODING_GROUP);
  (void)EVP_PKEY_set_utf8_string_param(
      pkey, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
      OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED);
  ERR_clear_error();
  int b = EVP_PKEY_get_bits(pkey);
  *bits = b > 0 ? (unsigned int)b : 0;
  *has_private = has_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY);
  return PKJWT_OK;
}

int pkjwt__key_wrap(pkjwt_key **out, EVP_PKEY *pkey, pkjwt_error *err) {
  if (!out) {
    EVP_PKEY_free(pkey);
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no output handle given");
  }
  *out = NULL;
  if (!pkey)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no key given");

  const pkjwt__alg_info *row = NULL; /* the key's default alg */
  unsigned int bits = 0;
  int has_private = 0;
  int rc;

  if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
    rc = rsa_rules(&row, &bits, &has_private, pkey, err);
  } else if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC &&
             !EVP_PKEY_is_a(pkey, "SM2")) {
    rc = ec_rules(&row, &bits, &has_private, pkey, err);
  } else {
    rc = pkjwt__fail(err, PKJWT_ERR_KEY_TYPE,
                     "%s keys are not supported; use EC %s or RSA",
                     type_label(pkey), pkjwt__alg_curve_list(0));
  }
  if (rc != PKJWT_OK)
    goto fail;
  if (has_private < 0) {
    rc = pkjwt__fail(err, PKJWT_ERR_NOMEM,
                     "out of memory reading the key's private part");
    goto fail;
  }
  pkjwt_key *k = calloc(1, sizeof(*k));
  if (!k) {
    rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
    goto fail;
  }
  k->pkey = pkey;
  k->type = row->key_type;
  k->bits = bits;
  k->curve = row->crv;
  k->has_private = has_private;
  k->default_alg = row->name;
  rc = pkjwt__jwk_thumbprint(k->thumbprint, pkey, err);
  if (rc != PKJWT_OK) {
    pkjwt_key_free(k);
    return rc;
  }
  *out = k;
  return PKJWT_OK;

fail:
  EVP_PKEY_free(pkey);
  return rc;
}

void pkjwt_key_free(pkjwt_key *key) {
  if (!key)
    return;
  EVP_PKEY_free(key->pkey);
  pkjwt__pkcs11_free(key->p11);
  pkjwt__key_warnings_free(key);
  OPENSSL_cleanse(key, sizeof(*key));
  free(key);
}

/* ---- generation ------------------------------------------------------- */

static int generate(pkjwt_key **out, const char *type, unsigned int bits,
                    const char *group, pkjwt_error *err) {
  EVP_PKEY *pkey = NULL;
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
  if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 ||
      (bits && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) <= 0) ||
      (group && EVP_PKEY_CTX_set_group_name(ctx, group) <= 0) ||
      EVP_PKEY_generate(ctx, &pkey) <= 0) {
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO, "%s key generation failed",
                           type);
  }
  EVP_PKEY_CTX_free(ctx);
  return pkjwt__key_wrap(out, pkey, err);
}

/* The sizes and curves keys are made with (loaded keys may be more). */
static int rsa_bits_ok(unsigned int *bits, pkjwt_error *err) {
  if (*bits == 0)
    *bits = PKJWT_RSA_DEFAULT_BITS;
  if (*bits < PKJWT__RSA_MIN_BITS)
    return pkjwt__fail(err, PKJWT_ERR_WEAK_KEY, "%s", weak_rsa_msg);
  if (*bits != 2048 && *bits != 3072 && *bits != 4096)
    return pkjwt__fail(err, PKJWT_ERR_KEY_TYPE,
                       "RSA keys of %u bits are not made; use 2048, 3072 or "
                       "4096",
                       *bits);
  return PKJWT_OK;
}

static int ec_curve_ok(const pkjwt__alg_info **row, const char *curve,
                       pkjwt_error *err) {
  *row = pkjwt__alg_curve_by_name(curve ? curve : PKJWT_EC_DEFAULT_CURVE);
  if (!*row)
    return pkjwt__fail(err, PKJWT_ERR_KEY_TYPE,
                       "EC curve %.64s is not supported; use %s", curve,
                       pkjwt__alg_curve_list(1));
  return PKJWT_OK;
}

int pkjwt_key_generate_rsa(pkjwt_key **out, unsigned int bits,
                           pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no output handle given");
  *out = NULL;
  int rc = rsa_bits_ok(&bits, err);
  if (rc != PKJWT_OK)
    return rc;
  return generate(out, "RSA", bits, NULL, err);
}

int pkjwt_key_generate_ec(pkjwt_key **out, const char *curve,
                          pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no output handle given");
  *out = NULL;
  const pkjwt__alg_info *row = NULL;
  int rc = ec_curve_ok(&row, curve, err);
  if (rc != PKJWT_OK)
    return rc;
  return generate(out, "EC", 0, row->group, err);
}

/* ---- the cost of a key derivation, judged before it runs ---------------- */

static const char reencrypt_hint[] =
    "; re-encrypt the key with a cheaper one (e.g. openssl pkcs8 -topk8 "
    "-v2 aes-256-cbc -iter 600000)";

static int int_u64(uint64_t *v, const ASN1_INTEGER *a) {
  return a && ASN1_INTEGER_get_uint64(v, a) == 1;
}

/* PBKDF2's and PKCS#5 v1.5 / PKCS#12 PBE's iteration count. */
static int iter_ok(const ASN1_INTEGER *iter, pkjwt_error *err) {
  uint64_t n = 0;
  if (!int_u64(&n, iter))
    return pkjwt__fail(err, PKJWT_ERR_PARSE,
                       "the encrypted key's iteration count is unreadable");
  if (n > PKJWT__PBKDF2_MAX_ITERATIONS)
    return pkjwt__fail(err, PKJWT_ERR_KEY_TYPE,
                       "the encrypted key asks for %" PRIu64
                       " key derivation iterations, more than the limit of "
                       "%llu%s",
                       n, PKJWT__PBKDF2_MAX_ITERATIONS, reencrypt_hint);
  return PKJWT_OK;
}

static int scrypt_ok(const ASN1_TYPE *param, pkjwt_error *err) {
  SCRYPT_PARAMS *sp =
      ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(SCRYPT_PARAMS), param);
  uint64_t n = 0, r = 0, p = 0;
  int ok = sp && int_u64(&n, sp->costParameter) && int_u64(&r, sp->blockSize) &&
           int_u64(&p, sp->parallelizationParameter);
  SCRYPT_PARAMS_free(sp);
  if (!ok)
    return pkjwt__fail(err, PKJWT_ERR_PARSE,
                       "the encrypted key's scrypt parameters are unreadable");
  const uint64_t cap = PKJWT__SCRYPT_MAX_NRP;
  /* each factor <= cap (2^22) first, so the products cannot overflow */
  if (n > cap || r > cap || p > cap || n * r > cap || n * r * p > cap)
    return pkjwt__fail(err, PKJWT_ERR_KEY_TYPE,
                       "the encrypted key asks for scrypt N=%" PRIu64
                       " r=%" PRIu64 " p=%" PRIu64
                       ": N*r*p is over the limit of %llu%s",
                       n, r, p, PKJWT__SCRYPT_MAX_NRP, reencrypt_hint);
  if (128 * r * (n + p + 2) > PKJWT__SCRYPT_MAX_MEM)
    return pkjwt__fail(err, PKJWT_ERR_KEY_TYPE,
                       "the encrypted key asks for scrypt N=%" PRIu64
                       " r=%" PRIu64 ": more than the limit of %llu MiB of "
                       "memory%s",
                       n, r, PKJWT__SCRYPT_MAX_MEM >> 20, reencrypt_hint);
  return PKJWT_OK;
}

/* The key derivation an EncryptedPrivateKeyInfo (DER) asks for, read with
 * OpenSSL's ASN.1 types. Not one: PKJWT_OK, the decoders judge it. */
static int kdf_cost_der(const unsigned char *der, long len, pkjwt_error *err) {
  const unsigned char *p = der;
  X509_SIG *sig = len > 0 ? d2i_X509_SIG(NULL, &p, len) : NULL;
  if (!sig)
    return PKJWT_OK;
  const X509_ALGOR *alg = NULL;
  X509_SIG_get0(sig, &alg, NULL);
  const ASN1_TYPE *param = alg->parameter;
  int rc = PKJWT_OK;
  if (OBJ_obj2nid(alg->algorithm) == NID_pbes2) {
    PBE2PARAM *pbe2 =
        param ? ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), param)
              : NULL;
    int kdf = pbe2 ? OBJ_obj2nid(pbe2->keyfunc->algorithm) : NID_undef;
    if (!pbe2) {
      rc = pkjwt__fail(err, PKJWT_ERR_PARSE,
                       "the encrypted key's PBES2 parameters are unreadable");
    } else if (kdf == NID_id_pbkdf2) {
      PBKDF2PARAM *kp = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM),
                                                  pbe2->keyfunc->parameter);
      rc = iter_ok(kp ? kp->iter : NULL, err);
      PBKDF2PARAM_free(kp);
    } else if (kdf == NID_id_scrypt) {
      rc = scrypt_ok(pbe2->keyfunc->parameter, err);
    } /* another KDF: OpenSSL refuses it without running it */
    PBE2PARAM_free(pbe2);
  } else if (param && param->type == V_ASN1_SEQUENCE) {
    /* PKCS#5 v1.5 and PKCS#12 PBE: PBEParameter {salt, iterations} */
    PBEPARAM *pbe = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBEPARAM), param);
    if (pbe)
      rc = iter_ok(pbe->iter, err);
    PBEPARAM_free(pbe);
  }
  X509_SIG_free(sig);
  ERR_clear_error();
  return rc;
}

/* The same for key data as pkjwt_key_load_mem sees it: label is the PEM
 * block's (data starts at it) or NULL for DER. */
static int kdf_cost_ok(const unsigned char *data, size_t len, const char *label,
                       pkjwt_error *err) {
  if (len > INT_MAX)
    return PKJWT_OK; /* no decoder reads it either */
  if (!label)
    return kdf_cost_der(data, (long)len, err);
  if (strcmp(label, "ENCRYPTED PRIVATE KEY") != 0)
    return PKJWT_OK;
  unsigned char *der = NULL;
  char *name = NULL, *header = NULL;
  long der_len = 0;
  BIO *bio = BIO_new_mem_buf(data, (int)len);
  int ok = bio && PEM_read_bio_ex(bio, &name, &header, &der, &der_len,
                                  PEM_FLAG_ONLY_B64) == 1;
  BIO_free(bio);
  int rc = ok ? kdf_cost_der(der, der_len, err) : PKJWT_OK;
  OPENSSL_free(name);
  OPENSSL_free(header);
  OPENSSL_free(der);
  ERR_clear_error();
  return rc;
}

/* ---- loading ---------------------------------------------------------- */

struct pass_state {
  const char *pass;
  int asked;
};

/* Hands OpenSSL the caller's passphrase, or refuses, so that OpenSSL never
 * falls back to prompting on a terminal. Records that one was needed. */
static int pass_cb(char *buf, size_t size, size_t *len,
                   const OSSL_PARAM params[], void *arg) {
  (void)params;
  struct pass_state *ps = arg;
  ps->asked = 1;
  if (!ps->pass)
    return 0;
  size_t n = strlen(ps->pass);
  if (n > size)
    return 0;
  memcpy(buf, ps->pass, n);
  *len = n;
  return 1;
}

/* A key from data through OpenSSL's decoders: input "PEM" or "DER";
 * structure and keytype as OpenSSL names them, NULL for any. */
static EVP_PKEY *decode(const unsigned char *data, size_t len,
                        const char *input, const char *structure,
                        const char *keytype, int selection,
                        struct pass_state *ps) {
  EVP_PKEY *pkey = NULL;
  OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(
      &pkey, input, structure, keytype, selection, NULL, NULL);
  if (!dctx)
    return NULL;
  if (OSSL_DECODER_CTX_get_num_decoders(dctx) > 0 &&
      OSSL_DECODER_CTX_set_passphrase_cb(dctx, pass_cb, ps) == 1) {
    const unsigned char *p = data;
    size_t left = len;
    if (OSSL_DECODER_from_data(dctx, &p, &left) != 1) {
      EVP_PKEY_free(pkey);
      pkey = NULL;
    }
  }
  OSSL_DECODER_CTX_free(dctx);
  return pkey;
}

/*
 * The usual private key forms, as OpenSSL's decoders name them. Asked for
 * any key, OpenSSL 3.0 sets up a decoder for every key type and structure
 * it has (25 of them), and a process's first key load pays for that; told
 * the structure and the key type, it sets up the few it needs (6 to 8).
 * A PEM label picks its row; DER input, which has no label, tries them all
 * in turn. A plain PKCS#8 key names its type inside (pkcs8_plain); an
 * encrypted key's type is known only after the key derivation, which must
 * not run twice, so that row leaves the type open. Anything not read here
 * goes to the decoders for any key.
 */
static const struct key_form {
  const char *label;     /* PEM label */
  const char *structure; /* OpenSSL's input structure */
  const char *keytype;   /* OpenSSL's key type, NULL: any */
  int typed_inside;      /* the key type is read from the key itself */
} key_forms[] = {
    {"PRIVATE KEY", "PrivateKeyInfo", NULL, 1},                    /* PKCS#8 */
    {"EC PRIVATE KEY", "type-specific", "EC", 0},                  /* SEC1 */
    {"RSA PRIVATE KEY", "type-specific", "RSA", 0},                /* PKCS#1 */
    {"ENCRYPTED PRIVATE KEY", "EncryptedPrivateKeyInfo", NULL, 0}, /* PKCS#8 */
};

/*
 * A plain PKCS#8 PrivateKeyInfo in data (PEM or DER), read with OpenSSL's
 * own parser. Its usual forms become the key at once, through the key
 * manager's import (lib/pkcs8.c: no decoder set up, which is what a
 * process's first key load paid for): *fast gets it. Otherwise name gets
 * its key type as OpenSSL names it ("EC", "RSA": the name of OpenSSL's
 * method for the algorithm OID; given the OID itself, as EVP_PKCS82PKEY
 * passes it, OpenSSL 3.0 sets up 8 decoders for EC instead of 6), so that
 * one narrow decoder is enough. Returns 0 when data is not one. PEM is
 * decoded into secure memory and wiped.
 */
static int pkcs8_plain(EVP_PKEY **fast, char *name, size_t size,
                       const unsigned char *data, size_t len, int pem) {
  unsigned char *der = NULL;
  char *pem_name = NULL, *header = NULL;
  long der_len = 0, use_len = (long)len;
  const unsigned char *p = data;
  if (len > INT_MAX) /* pkjwt_key_load_mem takes any size */
    return 0;
  if (pem) {
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    int ok = bio && PEM_read_bio_ex(bio, &pem_name, &header, &der, &der_len,
                                    PEM_FLAG_SECURE | PEM_FLAG_ONLY_B64) == 1;
    BIO_free(bio);
    /* a header ("Proc-Type") means a legacy encrypted body */
    use_len =
        ok && strcmp(pem_name, "PRIVATE KEY") == 0 && !header[0] ? der_len : 0;
    p = der;
  }
  PKCS8_PRIV_KEY_INFO *p8 =
      use_len > 0 ? d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, use_len) : NULL;
  *fast = pkjwt__pkcs8_import(p8);
  const ASN1_OBJECT *oid = NULL;
  const EVP_PKEY_ASN1_METHOD *ameth =
      p8 && PKCS8_pkey_get0(&oid, NULL, NULL, NULL, p8) == 1
          ? EVP_PKEY_asn1_find(NULL, OBJ_obj2nid(oid))
          : NULL;
  const char *type = NULL;
  if (ameth)
    EVP_PKEY_asn1_get0_info(NULL, NULL, NULL, NULL, &type, ameth);
  int n = type ? snprintf(name, size, "%s", type) : 0;
  if (*fast)
    n = 1;
  PKCS8_PRIV_KEY_INFO_free(p8); /* wipes the key */
  OPENSSL_secure_free(pem_name);
  OPENSSL_secure_free(header);
  if (der)
    OPENSSL_secure_clear_free(der, (size_t)der_len);
  ERR_clear_error();
  return n > 0 && (size_t)n < size;
}

/* The private key in data when it is one of key_forms (label: the PEM
 * block's, NULL for DER), else NULL. Stops at a form that asked for the
 * passphrase, so that the key derivation runs once. Errors of forms that
 * did not fit are dropped: they are not the reason of what follows. */
static EVP_PKEY *decode_usual(const unsigned char *data, size_t len,
                              const char *label, struct pass_state *ps) {
  for (size_t i = 0; i < sizeof(key_forms) / sizeof(key_forms[0]); i++) {
    const struct key_form *f = &key_forms[i];
    char keytype[80] = "";
    EVP_PKEY *fast = NULL;
    if (label && strcmp(label, f->label) != 0)
      continue;
    if (f->typed_inside &&
        !pkcs8_plain(&fast, keytype, sizeof(keytype), data, len, label != NULL))
      continue;
    if (fast)
      return fast;
    EVP_PKEY *pkey =
        decode(data, len, label ? "PEM" : "DER", f->structure,
               f->typed_inside ? keytype : f->keytype, EVP_PKEY_KEYPAIR, ps);
    if (pkey || ps->asked)
      return pkey;
    ERR_clear_error();
  }
  return NULL;
}

EVP_PKEY *pkjwt__key_decode_usual(const unsigned char *data, size_t len,
                                  const char *label, const char *passphrase) {
  if (kdf_cost_ok(data, len, label, NULL) != PKJWT_OK)
    return NULL;
  struct pass_state ps = {passphrase, 0};
  EVP_PKEY *pkey = decode_usual(data, len, label, &ps);
  ERR_clear_error();
  return pkey;
}

/*
 * Where the key starts in PEM input. Files made by `openssl ecparam -genkey`
 * put an "EC PARAMETERS" block first, and some bundles hold a public key
 * before the private one, so the decoder is pointed at the first private
 * key block, else the first public key block. Returns the offset, or -1
 * when data is not PEM; *label gets the chosen block's label (or the first
 * label seen when none is a key).
 */
static long pem_key_offset(const unsigned char *data, size_t len, char *label,
                           size_t label_size) {
  static const char begin[] = "-----BEGIN ";
  const size_t blen = sizeof(begin) - 1;
  long first = -1, pub = -1;
  char first_label[64] = "", pub_label[64] = "";
  for (size_t i = 0; i + blen <= len; i++) {
    if (memcmp(data + i, begin, blen) != 0)
      continue;
    char lab[64];
    size_t n = 0, j = i + blen;
    while (j < len && data[j] != '-' && data[j] != '\n' && n + 1 < sizeof(lab))
      lab[n++] = (char)data[j++];
    lab[n] = '\0';
    if (first < 0) {
      first = (long)i;
      memcpy(first_label, lab, n + 1);
    }
    if (n >= 11 && strcmp(lab + n - 11, "PRIVATE KEY") == 0) {
      snprintf(label, label_size, "%s", lab);
      return (long)i;
    }
    if (pub < 0 && n >= 10 && strcmp(lab + n - 10, "PUBLIC KEY") == 0) {
      pub = (long)i;
      memcpy(pub_label, lab, n + 1);
    }
  }
  if (pub >= 0) {
    snprintf(label, label_size, "%s", pub_label);
    return pub;
  }
  snprintf(label, label_size, "%s", first_label);
  return first >= 0 ? first : -1;
}

int pkjwt_key_load_mem(pkjwt_key **out, const void *data, size_t len,
                       const char *passphrase, pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no output handle given");
  *out = NULL;
  if (!data || len == 0)
    return pkjwt__fail(err, PKJWT_ERR_PARSE, "empty input: no key found");

  const unsigned char *d = data;
  char label[64] = "";
  long off = pem_key_offset(d, len, label, sizeof(label));
  const char *input = off >= 0 ? "PEM" : "DER";
  if (off > 0) {
    d += off;
    len -= (size_t)off;
  }
  if (strcmp(label, "OPENSSH PRIVATE KEY") == 0)
    return pkjwt__fail(err, PKJWT_ERR_PARSE,
                       "OpenSSH-format keys are not supported; convert with "
                       "ssh-keygen -p -m PKCS8 -f FILE");
  if (strcmp(label, "CERTIFICATE") == 0 ||
      strcmp(label, "TRUSTED CERTIFICATE") == 0)
    return pkjwt__fail(err, PKJWT_ERR_PARSE,
                       "this is a certificate, not a key");
  int crc = kdf_cost_ok(d, len, off >= 0 ? label : NULL, err);
  if (crc != PKJWT_OK)
    return crc;
  struct pass_state ps = {passphrase, 0};
  /* The usual forms through narrow decoders (fast on a process's first
   * key); then a key pair through the decoders for any key; a public key
   * only if no private key is there. */
  EVP_PKEY *pkey = decode_usual(d, len, off >= 0 ? label : NULL, &ps);
  if (!pkey && !ps.asked)
    pkey = decode(d, len, input, NULL, NULL, EVP_PKEY_KEYPAIR, &ps);
  if (!pkey && !ps.asked)
    pkey = decode(d, len, input, NULL, NULL, EVP_PKEY_PUBLIC_KEY, &ps);
  if (!pkey) {
    if (ps.asked) {
      return pkjwt__fail_ssl(err, PKJWT_ERR_PASSPHRASE, "%s",
                             passphrase ? "wrong passphrase for the encrypted "
                                          "private key"
                                        : "the private key is encrypted and "
                                          "no passphrase was given");
    }
    ERR_clear_error();
    return pkjwt__fail(err, PKJWT_ERR_PARSE,
                       "no key found (expected PEM or DER: PKCS#8, SEC1, "
                       "PKCS#1 or a public key)");
  }
  ERR_clear_error();
  return pkjwt__key_wrap(out, pkey, err);
}

/* Key URI options are optional; given, their version must be known. */
static int uri_options_ok(const pkjwt_key_uri_options *opts, pkjwt_error *err) {
  return opts ? pkjwt__options_version_ok(opts->version,
                                          PKJWT_KEY_URI_OPTIONS_VERSION,
                                          "key URI options", err)
              : PKJWT_OK;
}

/* A key in a PKCS#11 token (made there first when g is not NULL): the
 * handle holds its public half as an ordinary key (the key rules apply to
 * it) and the token key that signs. */
static int token_key(pkjwt_key **out, const char *uri,
                     const struct pkjwt__p11_gen *g,
                     const pkjwt_key_uri_options *opts, pkjwt_error *err) {
  struct pkjwt__p11 *p11 = NULL;
  EVP_PKEY *pub = NULL;
  int rc = pkjwt__pkcs11_generate(&p11, &pub, uri, g,
                                  opts ? opts->pkcs11_module : NULL,
                                  opts ? opts->pin_file : NULL, err);
  if (rc == PKJWT_OK)
    rc = pkjwt__key_wrap(out, pub, err); /* pub is taken */
  if (rc != PKJWT_OK) {
    pkjwt__pkcs11_free(p11);
    return rc;
  }
  (*out)->p11 = p11;
  (*out)->has_private = 1;
  return PKJWT_OK;
}

int pkjwt_key_load_uri(pkjwt_key **out, const char *uri,
                       const pkjwt_key_uri_options *opts, pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no output handle given");
  *out = NULL;
  if (!uri || !*uri)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no key URI given");
  int vrc = uri_options_ok(opts, err);
  if (vrc != PKJWT_OK)
    return vrc;
  if (pkjwt__pkcs11_is_uri(uri))
    return token_key(out, uri, NULL, opts, err);
  return pkjwt_key_load_file(out, uri, NULL, err);
}

int pkjwt_key_generate_uri(pkjwt_key **out, const char *uri,
                           pkjwt_key_type type, unsigned int bits,
                           const char *curve, const pkjwt_key_uri_options *opts,
                           pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no output handle given");
  *out = NULL;
  if (!pkjwt__pkcs11_is_uri(uri))
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "a key made in a token is named by a pkcs11: URI");
  int vrc = uri_options_ok(opts, err);
  if (vrc != PKJWT_OK)
    return vrc;
  struct pkjwt__p11_gen g = {type == PKJWT_KEY_EC, NULL, bits};
  int rc;
  if (type == PKJWT_KEY_EC) {
    const pkjwt__alg_info *row = NULL;
    if ((rc = ec_curve_ok(&row, curve, err)) != PKJWT_OK)
      return rc;
    g.group = row->group;
  } else if (type == PKJWT_KEY_RSA) {
    if ((rc = rsa_bits_ok(&g.bits, err)) != PKJWT_OK)
      return rc;
  } else {
    return pkjwt__fail(err, PKJWT_ERR_KEY_TYPE, "unknown key type %d",
                       (int)type);
  }
  return token_key(out, uri, &g, opts, err);
}

int pkjwt_key_load_file(pkjwt_key **out, const char *path,
                        const char *passphrase, pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no output handle given");
  *out = NULL;
  if (pkjwt__pkcs11_is_uri(path))
    return token_key(out, path, NULL, NULL, err);
  unsigned char *buf = NULL;
  size_t len = 0;
  mode_t mode = 0;
  int rc = pkjwt__read_file(&buf, &len, &mode, path, PKJWT__KEY_FILE_MAX, err);
  if (rc != PKJWT_OK)
    return rc;
  rc = pkjwt_key_load_mem(out, buf, len, passphrase, err);
  pkjwt__cleanse_free(buf, len + 1);
  if (rc == PKJWT_OK && (*out)->has_private && (mode & 077))
    pkjwt__key_warn(*out, err,
                    "private key file is readable by group or others (mode "
                    "%04o); run chmod 600",
                    (unsigned int)(mode & 07777));
  return rc;
}

/* ---- facts ------------------------------------------------------------ */

pkjwt_key_type pkjwt_key_get_type(const pkjwt_key *key) {
  return key ? key->type : (pkjwt_key_type)0;
}

unsigned int pkjwt_key_get_bits(const pkjwt_key *key) {
  return key ? key->bits : 0;
}

const char *pkjwt_key_get_curve(const pkjwt_key *key) {
  return key ? key->curve : NULL;
}

int pkjwt_key_has_private(const pkjwt_key *key) {
  return key ? key->has_private : 0;
}

const char *pkjwt_key_get_thumbprint(const pkjwt_key *key) {
  return key ? key->thumbprint : NULL;
}

const char *pkjwt_key_get_default_alg(const pkjwt_key *key) {
  return key ? key->default_alg : NULL;
}

int pkjwt_key_equal_public(const pkjwt_key *a, const pkjwt_key *b) {
  if (!a || !b)
    return 0;
  int r = EVP_PKEY_eq(a->pkey, b->pkey) == 1;
  ERR_clear_error();
  return r;
}

/* ---- writing ---------------------------------------------------------- */

/* The encrypted PKCS#8 (PBES2) of pkey as PEM into a secure-memory BIO.
 * Built by hand because OpenSSL 3.0's encoder cannot set the KDF or its
 * iteration count. */
static int encrypt_pkcs8(BIO *bio, EVP_PKEY *pkey, const char *pass,
                         const pkjwt_write_options *opts, pkjwt_error *err) {
  const EVP_CIPHER *cipher = EVP_aes_256_cbc();
  X509_ALGOR *alg = NULL;
  if (opts->kdf == PKJWT_KDF_SCRYPT) {
    alg = PKCS5_pbe2_set_scrypt(cipher, NULL, PBE_SALT_LEN, NULL, SCRYPT_N,
                                SCRYPT_R, SCRYPT_P);
  } else {
    unsigned long iter = opts->pbkdf2_iterations;
    if (iter == 0)
      iter = PKJWT_PBKDF2_MIN_ITERATIONS;
    alg = PKCS5_pbe2_set_iv(cipher, (int)iter, NULL, PBE_SALT_LEN, NULL,
                            NID_hmacWithSHA256);
  }
  if (!alg)
    return pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO,
                           "cannot set up the key encryption");
  PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pkey);
  if (!p8) {
    X509_ALGOR_free(alg);
    return pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO,
                           "cannot encode the private key");
  }
  size_t plen = strlen(pass);
  X509_SIG *sig =
      plen <= INT_MAX ? PKCS8_set0_pbe(pass, (int)plen, p8, alg) : NULL;
  PKCS8_PRIV_KEY_INFO_free(p8);
  if (!sig) {
    X509_ALGOR_free(alg);
    return pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO,
                           "cannot encrypt the private key");
  }
  /* alg now belongs to sig */
  int ok = PEM_write_bio_PKCS8(bio, sig) == 1;
  X509_SIG_free(sig);
  if (!ok)
    return pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO,
                           "cannot write the encrypted private key");
  return PKJWT_OK;
}

int pkjwt_key_write_private(const pkjwt_key *key, const char *path,
                            const pkjwt_write_options *opts, pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  pkjwt_write_options defaults = PKJWT_WRITE_OPTIONS_INIT;
  if (!opts)
    opts = &defaults;
  if (!key)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no key given");
  if (!path || !*path)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no file name given");
  int vrc = pkjwt__options_version_ok(
      opts->version, PKJWT_WRITE_OPTIONS_VERSION, "write options", err);
  if (vrc != PKJWT_OK)
    return vrc;
  if (!key->has_private)
    return pkjwt__fail(err, PKJWT_ERR_NO_PRIVATE_KEY,
                       "the key has no private half to write");
  if (key->p11)
    return pkjwt__fail(err, PKJWT_ERR_NO_PRIVATE_KEY,
                       "the private key lives in a PKCS#11 token and cannot "
                       "be written out");
  int encrypt = opts->passphrase && *opts->passphrase;
  if (encrypt) {
    if (opts->kdf != PKJWT_KDF_SCRYPT && opts->kdf != PKJWT_KDF_PBKDF2)
      return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "unknown KDF %d",
                         (int)opts->kdf);
    if (opts->kdf == PKJWT_KDF_PBKDF2 && opts->pbkdf2_iterations != 0 &&
        opts->pbkdf2_iterations < PKJWT_PBKDF2_MIN_ITERATIONS)
      return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                         "PBKDF2 needs at least %lu iterations, not %lu",
                         PKJWT_PBKDF2_MIN_ITERATIONS, opts->pbkdf2_iterations);
    if (opts->kdf == PKJWT_KDF_PBKDF2 && opts->pbkdf2_iterations > INT_MAX)
      return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                         "PBKDF2 iteration count %lu is too large",
                         opts->pbkdf2_iterations);
  }

  /* Secure-heap memory BIO: its buffer is wiped when freed. */
  BIO *bio = BIO_new(BIO_s_secmem());
  if (!bio)
    return pkjwt__fail_ssl(err, PKJWT_ERR_NOMEM, "out of memory");
  int rc = PKJWT_OK;
  if (encrypt) {
    rc = encrypt_pkcs8(bio, key->pkey, opts->passphrase, opts, err);
  } else {
    OSSL_ENCODER_CTX *ectx = OSSL_ENCODER_CTX_new_for_pkey(
        key->pkey, EVP_PKEY_KEYPAIR, "PEM", "PrivateKeyInfo", NULL);
    if (!ectx || OSSL_ENCODER_CTX_get_num_encoders(ectx) == 0 ||
        OSSL_ENCODER_to_bio(ectx, bio) != 1)
      rc = pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO,
                           "cannot encode the private key");
    OSSL_ENCODER_CTX_free(ectx);
  }
  if (rc == PKJWT_OK) {
    char *pem = NULL;
    long n = BIO_get_mem_data(bio, &pem);
    if (n <= 0 || !pem)
      rc = pkjwt__fail(err, PKJWT_ERR_INTERNAL, "empty key encoding");
    else
      rc = pkjwt__write_file_atomic(path, pem, (size_t)n, 0600, opts->force,
                                    err);
  }
  BIO_free(bio);
  ERR_clear_error();
  return rc;
}

static int write_public_pem(BIO *bio, const void *pkey) {
  return PEM_write_bio_PUBKEY(bio, pkey);
}

int pkjwt_key_public_pem(char **out, const pkjwt_key *key, pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no output given");
  *out = NULL;
  if (!key)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no key given");
  return pkjwt__bio_written(out, NULL, write_public_pem, key->pkey,
                            PKJWT_ERR_CRYPTO, "cannot encode the public key",
                            err);
}
