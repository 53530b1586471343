/*
 * lib/cert.c: self-signed X.509 v3 certificates for a key, loading
 * certificates, and the facts and exports Organisation Settings needs.
 */
#define _GNU_SOURCE 1
#include "alg.h"
#include "bounds.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define SERIAL_BYTES 20 /* 159 random-ish bits: top bit 0, next bit 1 */
#define SECONDS_PER_DAY 86400

void pkjwt_cert_free(pkjwt_cert *cert) {
  if (!cert)
    return;
  X509_free(cert->x509);
  free(cert->der);
  free(cert->subject);
  free(cert->serial);
  free(cert);
}

/* ---- facts shared by made and loaded certificates --------------------- */

static int time_of(int64_t *out, const ASN1_TIME *t) {
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
    return -1;
  time_t s = timegm(&tm);
  if (s == (time_t)-1 &&
      !(tm.tm_year == 69 && tm.tm_mon == 11 && tm.tm_mday == 31 &&
        tm.tm_hour == 23 && tm.tm_min == 59 && tm.tm_sec == 59))
    return -1;
  *out = (int64_t)s;
  return 0;
}

/* The subject as "CN=a,O=b": in the order it is stored, RFC 2253 escaping
 * (so a comma in a value reads "\,"), UTF-8 kept as it is. */
static int write_name(BIO *bio, const void *name) {
  unsigned long flags = XN_FLAG_SEP_COMMA_PLUS | XN_FLAG_FN_SN |
                        (ASN1_STRFLGS_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  return X509_NAME_print_ex(bio, name, 0, flags) >= 0;
}

static char *subject_string(const X509_NAME *name) {
  char *s = NULL;
  if (pkjwt__bio_written(&s, NULL, write_name, name, PKJWT_ERR_CERT,
                         "cannot print the subject", NULL) != PKJWT_OK)
    s = NULL;
  return s;
}

/* Wrap x (ownership taken whatever happens) in a new handle. */
static int cert_wrap(pkjwt_cert **out, X509 *x, pkjwt_error *err) {
  pkjwt_cert *c = calloc(1, sizeof(*c));
  if (!c) {
    X509_free(x);
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  }
  c->x509 = x;
  int rc = PKJWT_OK;
  /* d2i_X509 succeeds when it cannot decode the public key (out of memory
   * in OpenSSL's decoder, or a key type it does not know) and leaves the
   * certificate without one for good: then every later use of the key
   * (matches_key, public_key, x5t checks) would fail, or a self-signed
   * certificate would be "made" that matches no key. */
  if (!X509_get0_pubkey(x)) {
    rc = pkjwt__fail_ssl(err, PKJWT_ERR_CERT,
                         "the certificate's public key cannot be read");
    goto done;
  }
  int n = i2d_X509(x, &c->der);
  if (n <= 0) {
    c->der = NULL;
    rc = pkjwt__fail_ssl(err, PKJWT_ERR_CERT, "cannot encode the certificate");
    goto done;
  }
  c->der_len = (size_t)n;

  c->subject = subject_string(X509_get_subject_name(x));
  BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
  char *hex = bn ? BN_bn2hex(bn) : NULL;
  BN_free(bn);
  c->serial = pkjwt__strdup(hex);
  OPENSSL_free(hex);
  if (!c->subject || !c->serial) {
    rc = pkjwt__fail_ssl(err, PKJWT_ERR_NOMEM,
                         "cannot read the subject or serial");
    goto done;
  }
  if (time_of(&c->not_before, X509_get0_notBefore(x)) != 0 ||
      time_of(&c->not_after, X509_get0_notAfter(x)) != 0) {
    rc = pkjwt__fail_ssl(err, PKJWT_ERR_CERT,
                         "the certificate's validity dates are unreadable");
    goto done;
  }
  unsigned char md[SHA256_DIGEST_LENGTH];
  if (!EVP_Digest(c->der, c->der_len, md, NULL, EVP_sha256(), NULL)) {
    rc = pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO, "SHA-256 failed");
    goto done;
  }
  pkjwt__b64url_encode(c->x5t_s256, md, sizeof(md));
  /* SHA-1 names a certificate here, as RFC 7515 4.1.7 has it; it does not
   * sign or protect anything. */
  unsigned char md1[SHA_DIGEST_LENGTH];
  if (!EVP_Digest(c->der, c->der_len, md1, NULL, EVP_sha1(), NULL)) {
    rc = pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO, "SHA-1 failed");
    goto done;
  }
  pkjwt__b64url_encode(c->x5t_sha1, md1, sizeof(md1));

done:
  if (rc != PKJWT_OK) {
    pkjwt_cert_free(c);
    return rc;
  }
  ERR_clear_error();
  *out = c;
  return PKJWT_OK;
}

/* ---- the subject DN --------------------------------------------------- */

/* Attribute names a subject may use (matched without regard to case). */
static const char *const dn_attrs[] = {
    "CN", "O", "OU", "C", "L", "ST", "emailAddress", "DC", "serialNumber"};

static const char *dn_attr(const char *name) {
  for (size_t i = 0; i < sizeof(dn_attrs) / sizeof(dn_attrs[0]); i++)
    if (strcasecmp(name, dn_attrs[i]) == 0)
      return dn_attrs[i];
  return NULL;
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    s[--n] = '\0';
  return s;
}

/*
 * Parse "CN=my-client,O=Example" into an X509_NAME, in the order written.
 * Commas separate RDNs; a backslash escapes the next character (so "\,"
 * is a comma in a value). Unknown attribute names and empty values are
 * refused, naming the part.
 */
static int parse_dn(X509_NAME **out, const char *dn, pkjwt_error *err) {
  *out = NULL;
  if (!dn || !*dn)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "empty subject");
  size_t len = strlen(dn);
  if (len > 4096)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "subject is too long");
  /* raw: the part as written (for messages); val: unescaped value. */
  char *raw = malloc(len + 1), *val = malloc(len + 1);
  X509_NAME *name = X509_NAME_new();
  int rc = PKJWT_OK;
  if (!raw || !val || !name) {
    rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
    goto done;
  }
  const char *p = dn;
  for (;;) {
    /* One part: up to an unescaped comma or the end. */
    size_t rn = 0;
    const char *q = p;
    while (*q && *q != ',') {
      if (*q == '\\' && q[1])
        raw[rn++] = *q++;
      raw[rn++] = *q++;
    }
    raw[rn] = '\0';
    char *part = trim(raw);
    if (!*part) {
      rc = pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "empty part in subject \"%.200s\"", dn);
      goto done;
    }
    char *eq = part;
    while (*eq && *eq != '=' && *eq != '\\')
      eq++;
    if (*eq != '=') {
      rc = pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "subject part \"%.200s\" is not NAME=VALUE", part);
      goto done;
    }
    *eq = '\0';
    char *attr_name = trim(part);
    const char *attr = dn_attr(attr_name);
    if (!attr) {
      rc = pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "unknown attribute \"%.64s\" in subject (use CN, O, "
                       "OU, C, L, ST, emailAddress, DC or serialNumber)",
                       attr_name);
      goto done;
    }
    /* Unescape the value. */
    char *v = trim(eq + 1);
    size_t vn = 0;
    for (size_t i = 0; v[i]; i++) {
      if (v[i] == '\\' && v[i + 1])
        i++;
      val[vn++] = v[i];
    }
    val[vn] = '\0';
    if (vn == 0) {
      rc = pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "empty value for %s in subject", attr);
      goto done;
    }
    if (X509_NAME_add_entry_by_txt(name, attr, MBSTRING_UTF8,
                                   (const unsigned char *)val, (int)vn, -1,
                                   0) != 1) {
      rc = pkjwt__fail_ssl(err, PKJWT_ERR_INVALID_ARG,
                           "subject part %s=%.200s is refused", attr, v);
      goto done;
    }
    if (!*q)
      break;
    p = q + 1;
  }

done:
  free(raw);
  free(val);
  if (rc != PKJWT_OK) {
    X509_NAME_free(name);
    return rc;
  }
  *out = name;
  return PKJWT_OK;
}

/* ---- making ------------------------------------------------------------ */

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value) {
  X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
  if (!ext)
    return 0;
  int ok = X509_add_ext(x, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

static int set_serial(X509 *x) {
  unsigned char b[SERIAL_BYTES];
  if (RAND_bytes(b, sizeof(b)) != 1)
    return 0;
  /* Positive (top bit clear) and always 159 bits long (next bit set). */
  b[0] = (unsigned char)((b[0] & 0x7f) | 0x40);
  BIGNUM *bn = BN_bin2bn(b, sizeof(b), NULL);
  int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
  BN_free(bn);
  return ok;
}

/*
 * Set the certificate's two signature AlgorithmIdentifiers before
 * X509_sign. OpenSSL 3.0's ASN1_item_sign_ctx decodes the provider's
 * AlgorithmIdentifier into the certificate's own X509_ALGORs, which are
 * embedded in the X509; when that decode cannot allocate (RSA's NULL
 * parameter), its error path frees the embedded struct: free() of an
 * interior pointer, a corrupted heap (found by tests/check_nomem.c). With
 * the parameter already there the decode reuses it and allocates nothing.
 * The getters are const because the fields belong to the certificate,
 * which is ours to fill in here.
 */
static int preset_sig_algs(X509 *x, const EVP_PKEY *pkey, const EVP_MD *md) {
  int signid = NID_undef;
  int base = EVP_PKEY_get_base_id(pkey);
  if (!OBJ_find_sigid_by_algs(&signid, EVP_MD_get_type(md), base))
    return 0;
  int ptype = base == EVP_PKEY_RSA ? V_ASN1_NULL : V_ASN1_UNDEF;
  const ASN1_BIT_STRING *sig = NULL;
  const X509_ALGOR *outer = NULL;
  X509_get0_signature(&sig, &outer, x);
  X509_ALGOR *algs[2] = {(X509_ALGOR *)X509_get0_tbs_sigalg(x),
                         (X509_ALGOR *)outer};
  for (int i = 0; i < 2; i++)
    if (!algs[i] ||
        !X509_ALGOR_set0(algs[i], OBJ_nid2obj(signid), ptype, NULL))
      return 0;
  return 1;
}

int pkjwt_cert_self_signed(pkjwt_cert **out, const pkjwt_key *key,
                           const pkjwt_cert_options *opts, pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  pkjwt_cert_options defaults = PKJWT_CERT_OPTIONS_INIT;
  if (!out)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no output handle given");
  *out = NULL;
  if (!key)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no key given");
  if (!opts)
    opts = &defaults;
  int vrc = pkjwt__options_version_ok(opts->version, PKJWT_CERT_OPTIONS_VERSION,
                                      "certificate options", err);
  if (vrc != PKJWT_OK)
    return vrc;
  if (!key->has_private)
    return pkjwt__fail(err, PKJWT_ERR_NO_PRIVATE_KEY,
                       "a private key is needed to sign the certificate");
  int days = opts->days == 0 ? PKJWT_CERT_DEFAULT_DAYS : opts->days;
  if (days < 1 || days > PKJWT_CERT_MAX_DAYS)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "validity of %d days is refused; use 1 to %d",
                       opts->days, PKJWT_CERT_MAX_DAYS);
  /* The digest of the key's default alg: SHA-256 for RSA, the curve's own
   * for EC (ecdsa-with-SHA384 on P-384...). */
  const EVP_MD *md = pkjwt__alg_md(pkjwt__alg_lookup_name(key->default_alg));
  if (!md)
    return pkjwt__fail(err, PKJWT_ERR_CRYPTO, "no digest for %s",
                       key->default_alg ? key->default_alg : "this key");

  X509_NAME *name = NULL;
  int rc = parse_dn(
      &name, opts->subject ? opts->subject : PKJWT_CERT_DEFAULT_SUBJECT, err);
  if (rc != PKJWT_OK)
    return rc;

  int64_t now = pkjwt__now(opts->now);
  X509 *x = X509_new();
  X509V3_CTX ctx;
  if (!x || X509_set_version(x, X509_VERSION_3) != 1 || !set_serial(x) ||
      X509_set_subject_name(x, name) != 1 ||
      X509_set_issuer_name(x, name) != 1 ||
      !ASN1_TIME_set(X509_getm_notBefore(x),
                     (time_t)(now - PKJWT_CERT_BACKDATE_SECONDS)) ||
      !ASN1_TIME_set(X509_getm_notAfter(x),
                     (time_t)(now + (int64_t)days * SECONDS_PER_DAY)) ||
      X509_set_pubkey(x, key->pkey) != 1) {
    rc = pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO,
                         "cannot fill in the certificate");
    goto fail;
  }
  X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
  if (!add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
      !add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") ||
      !add_ext(x, &ctx, NID_subject_key_identifier, "hash")) {
    rc = pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO,
                         "cannot add the certificate extensions");
    goto fail;
  }
  EVP_PKEY *signer = key->p11 ? pkjwt__pkcs11_signer(key->p11) : key->pkey;
  int signed_ok =
      preset_sig_algs(x, key->pkey, md) && X509_sign(x, signer, md) > 0;
  pkjwt__pkcs11_done(key->p11);
  if (!signed_ok) {
    rc = key->p11 ? pkjwt__pkcs11_sign_failed(err, "the certificate",
                                              key->type, 0)
                  : pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO,
                                    "cannot sign the certificate");
    goto fail;
  }
  X509_NAME_free(name);
  /* X509_set_pubkey keeps a reference to the whole key, private half
   * included; re-read the signed certificate so the handle (and any key
   * taken from it) holds the public key only. */
  unsigned char *der = NULL;
  int dlen = i2d_X509(x, &der);
  X509_free(x);
  if (dlen <= 0)
    return pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO,
                           "cannot encode the certificate");
  const unsigned char *dp = der;
  X509 *clean = d2i_X509(NULL, &dp, dlen);
  OPENSSL_free(der);
  if (!clean)
    return pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO,
                           "cannot re-read the certificate");
  return cert_wrap(out, clean, err);

fail:
  X509_NAME_free(name);
  X509_free(x);
  return rc;
}

/* ---- loading ------------------------------------------------------------ */

static int has_pem_begin(const unsigned char *d, size_t len) {
  static const char begin[] = "-----BEGIN ";
  for (size_t i = 0; i + sizeof(begin) - 1 <= len; i++)
    if (memcmp(d + i, begin, sizeof(begin) - 1) == 0)
      return 1;
  return 0;
}

static int is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The one-line base64 form, the line `pkjwt-keygen export --format
 * base64-cert` prints and Puzzel shows for an uploaded certificate:
 * standard base64 of the DER. Whitespace anywhere is skipped (a trailing
 * newline, or a copy pasted with line breaks); the rest must be canonical
 * base64 (lib/base64.c). Returns 1 with the DER in *der (free()), 0 when
 * data is not such text, -1 when out of memory. DER never qualifies: its
 * second byte (a length, 0x8N for a certificate) is not base64. */
static int b64_text_der(unsigned char **der, size_t *dlen,
                        const unsigned char *d, size_t len) {
  char *text = malloc(len);
  if (!text)
    return -1;
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    if (!is_space(d[i]))
      text[n++] = (char)d[i];
  int rc = n ? pkjwt__b64_decode(der, dlen, text, n) : -1;
  free(text);
  return rc == 0 ? 1 : rc == -2 ? -1 : 0;
}

int pkjwt_cert_load_mem(pkjwt_cert **out, const void *data, size_t len,
                        pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no output handle given");
  *out = NULL;
  if (!data || len == 0)
    return pkjwt__fail(err, PKJWT_ERR_PARSE,
                       "empty input: no certificate found");
  if (len > INT_MAX)
    return pkjwt__fail(err, PKJWT_ERR_PARSE, "input is too large");
  X509 *x = NULL;
  const unsigned char *d = data;
  if (has_pem_begin(d, len)) {
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    if (!bio)
      return pkjwt__fail_ssl(err, PKJWT_ERR_NOMEM, "out of memory");
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
  } else {
    unsigned char *b64der = NULL;
    size_t b64len = 0;
    int text = b64_text_der(&b64der, &b64len, d, len);
    if (text < 0)
      return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
    const unsigned char *der = text ? b64der : d;
    size_t der_len = text ? b64len : len;
    const unsigned char *p = der;
    x = d2i_X509(NULL, &p, (long)der_len);
    int trailing = x && p != der + der_len;
    free(b64der);
    if (trailing) {
      X509_free(x);
      ERR_clear_error();
      return pkjwt__fail(err, PKJWT_ERR_PARSE,
                         "trailing bytes after the DER certificate");
    }
  }
  if (!x)
    return pkjwt__fail_ssl(err, PKJWT_ERR_PARSE,
                           "no certificate found (expected X.509 in PEM, DER "
                           "or the one-line base64 of the DER)");
  return cert_wrap(out, x, err);
}

int pkjwt_cert_load_file(pkjwt_cert **out, const char *path, pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no output handle given");
  *out = NULL;
  unsigned char *buf = NULL;
  size_t len = 0;
  int rc = pkjwt__read_file(&buf, &len, NULL, path, PKJWT__CERT_FILE_MAX, err);
  if (rc != PKJWT_OK)
    return rc;
  rc = pkjwt_cert_load_mem(out, buf, len, err);
  pkjwt__cleanse_free(buf, len + 1);
  return rc;
}

/* ---- exports ------------------------------------------------------------ */

static int write_pem(BIO *bio, const void *x509) {
  return PEM_write_bio_X509(bio, x509);
}

static int pem_of(char **out, size_t *outlen, const pkjwt_cert *cert,
                  pkjwt_error *err) {
  return pkjwt__bio_written(out, outlen, write_pem, cert->x509, PKJWT_ERR_CERT,
                            "cannot encode the certificate", err);
}

int pkjwt_cert_pem(char **out, const pkjwt_cert *cert, pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no output given");
  *out = NULL;
  if (!cert)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no certificate given");
  size_t n;
  return pem_of(out, &n, cert, err);
}

int pkjwt_cert_write(const pkjwt_cert *cert, const char *path, int force,
                     pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!cert)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no certificate given");
  if (!path || !*path)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no file name given");
  char *pem = NULL;
  size_t n = 0;
  int rc = pem_of(&pem, &n, cert, err);
  if (rc != PKJWT_OK)
    return rc;
  rc = pkjwt__write_file_atomic(path, pem, n, 0644, force, err);
  free(pem);
  return rc;
}

int pkjwt_cert_base64_der(char **out, const pkjwt_cert *cert,
                          pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no output given");
  *out = NULL;
  if (!cert)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no certificate given");
  char *s = malloc(PKJWT__B64_LEN(cert->der_len) + 1);
  if (!s)
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  pkjwt__b64_encode(s, cert->der, cert->der_len);
  *out = s;
  return PKJWT_OK;
}

int pkjwt_cert_public_key(pkjwt_key **out, const pkjwt_cert *cert,
                          pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no output handle given");
  *out = NULL;
  if (!cert)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no certificate given");
  /* Through the DER SubjectPublicKeyInfo, so the new handle can never share
   * a private key with anything. */
  unsigned char *spki = NULL;
  int n = i2d_PUBKEY(X509_get0_pubkey(cert->x509), &spki);
  const unsigned char *sp = spki;
  EVP_PKEY *pkey = n > 0 ? d2i_PUBKEY(NULL, &sp, n) : NULL;
  OPENSSL_free(spki);
  if (!pkey)
    return pkjwt__fail_ssl(err, PKJWT_ERR_CERT,
                           "the certificate's public key is unreadable");
  return pkjwt__key_wrap(out, pkey, err);
}

int pkjwt_cert_matches_key(const pkjwt_cert *cert, const pkjwt_key *key) {
  if (!cert || !key)
    return 0;
  EVP_PKEY *pub = X509_get0_pubkey(cert->x509);
  int r = pub && EVP_PKEY_eq(pub, key->pkey) == 1;
  ERR_clear_error();
  return r;
}

/* ---- facts ----------------------------------------------------------------
 */

const char *pkjwt_cert_get_subject(const pkjwt_cert *cert) {
  return cert ? cert->subject : NULL;
}

const char *pkjwt_cert_get_serial(const pkjwt_cert *cert) {
  return cert ? cert->serial : NULL;
}

int64_t pkjwt_cert_get_not_before(const pkjwt_cert *cert) {
  return cert ? cert->not_before : 0;
}

int64_t pkjwt_cert_get_not_after(const pkjwt_cert *cert) {
  return cert ? cert->not_after : 0;
}

const char *pkjwt_cert_get_x5t_s256(const pkjwt_cert *cert) {
  return cert ? cert->x5t_s256 : NULL;
}

long pkjwt_cert_days_left(const pkjwt_cert *cert, int64_t now) {
  if (!cert)
    return 0;
  int64_t d = cert->not_after - pkjwt__now(now);
  /* floor division: one second past notAfter is day -1, not 0 */
  int64_t q = d / SECONDS_PER_DAY;
  if (d % SECONDS_PER_DAY != 0 && d < 0)
    q--;
  return (long)q;
}
