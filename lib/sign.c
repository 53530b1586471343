/*
 * lib/sign.c: RFC 7523 client assertions (compact JWS) signed on a loaded
 * key, and the JWS algorithm table that lib/verify.c shares.
 *
 * This is the hot path of every token request, so it stays close to the
 * cost of the signature itself: header and claims are written with bounded
 * appends into one buffer (Jansson only validates caller-supplied extra
 * claims), the digest is fetched once per process, and the one
 * EVP_DigestSign covers "header.payload" in place in the output buffer.
 */
#define _GNU_SOURCE 1
#include "sign_internal.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

/* ---- jti --------------------------------------------------------------- */

/*
 * RAND_bytes has a fixed cost per call in OpenSSL 3.0 (locks, a reseed
 * check and a getpid() system call for fork detection) that was a fifth of
 * an ES256 signature on its own (docs/performance.md). So each thread draws
 * randomness for 32 jtis at a time and hands it out 16 bytes per jti, each byte
 * once. After fork() the child forgets the pool it inherited (the atfork
 * handler runs in the one thread the child has), so parent and child never
 * share a jti.
 */
#define JTI_POOL_BYTES (PKJWT__JTI_BYTES * 32)

static _Thread_local struct {
  unsigned char bytes[JTI_POOL_BYTES];
  size_t used; /* bytes already handed out (and wiped) */
  int filled;  /* 0: nothing drawn yet, or forgotten after fork() */
} jti_pool;

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static int atfork_failed; /* written once, under pthread_once */

static void jti_pool_forget(void) {
  OPENSSL_cleanse(jti_pool.bytes, sizeof(jti_pool.bytes));
  jti_pool.filled = 0;
}

static void register_atfork(void) {
  /* If registration fails the pool cannot be made fork-safe: use none. */
  if (pthread_atfork(NULL, NULL, jti_pool_forget) != 0)
    atfork_failed = 1;
}

int pkjwt__jti(char out[PKJWT__JTI_LEN + 1], pkjwt_error *err) {
  pthread_once(&atfork_once, register_atfork);
  if (atfork_failed) {
    unsigned char rnd[PKJWT__JTI_BYTES];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
      return pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO,
                             "the random generator failed (jti)");
    pkjwt__b64url_encode(out, rnd, sizeof(rnd));
    OPENSSL_cleanse(rnd, sizeof(rnd));
    return PKJWT_OK;
  }
  if (!jti_pool.filled || jti_pool.used + PKJWT__JTI_BYTES > JTI_POOL_BYTES) {
    if (RAND_bytes(jti_pool.bytes, sizeof(jti_pool.bytes)) != 1) {
      jti_pool.filled = 0;
      return pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO,
                             "the random generator failed (jti)");
    }
    jti_pool.filled = 1;
    jti_pool.used = 0;
  }
  unsigned char *rnd = jti_pool.bytes + jti_pool.used;
  pkjwt__b64url_encode(out, rnd, PKJWT__JTI_BYTES);
  OPENSSL_cleanse(rnd, PKJWT__JTI_BYTES);
  jti_pool.used += PKJWT__JTI_BYTES;
  return PKJWT_OK;
}

/* ---- bounded JSON writing ------------------------------------------------ */

/* Caller strings longer than this are refused: no real client id, URL, typ
 * or kid comes close, and it keeps the size arithmetic far from overflow. */
#define MAX_FIELD_LEN 8192
/* Extra claims, as JSON text. */
#define MAX_EXTRA_LEN 65536

typedef struct buf {
  char *p;
  size_t len, cap;
  int overflow;
} buf;

static void put_raw(buf *b, const char *s, size_t n) {
  if (b->overflow || n > b->cap - b->len) {
    b->overflow = 1;
    return;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

static void put_lit(buf *b, const char *s) {
  put_raw(b, s, strlen(s));
}

static void put_i64(buf *b, int64_t v) {
  char num[24];
  int n = snprintf(num, sizeof(num), "%" PRId64, v);
  if (n < 0 || (size_t)n >= sizeof(num)) {
    b->overflow = 1;
    return;
  }
  put_raw(b, num, (size_t)n);
}

/* Room a quoted, escaped string of n bytes may take. */
#define QUOTED_MAX(n) (6 * (n) + 2)

/* Append s as a JSON string with its quotes. -1 when s is not UTF-8. */
static int put_str(buf *b, const char *s) {
  static const char hex[] = "0123456789abcdef";
  put_raw(b, "\"", 1);
  const unsigned char *p = (const unsigned char *)s;
  const unsigned char *end = p + strlen(s);
  while (*p) {
    const unsigned char *run = p;
    /* Copy plain runs in one go; most strings are nothing but. */
    while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
      p++;
    if (p > run)
      put_raw(b, (const char *)run, (size_t)(p - run));
    if (!*p)
      break;
    if (*p >= 0x80) {
      uint32_t cp;
      size_t n = pkjwt__utf8_char(p, (size_t)(end - p), &cp);
      if (n == 0)
        return -1;
      put_raw(b, (const char *)p, n);
      p += n;
      continue;
    }
    /* RFC 8259 7: the two-character escapes, else \u00XX (*p is not 0) */
    static const char plain[] = "\"\\\n\r\t\b\f", named[] = "\"\\nrtbf";
    const char *k = strchr(plain, *p);
    char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
    size_t n = 2;
    if (k) {
      esc[1] = named[k - plain];
    } else {
      esc[1] = 'u';
      esc[2] = '0';
      esc[3] = '0';
      esc[4] = hex[*p >> 4];
      esc[5] = hex[*p & 15];
      n = 6;
    }
    put_raw(b, esc, n);
    p++;
  }
  put_raw(b, "\"", 1);
  return 0;
}

/* ---- extra claims ---------------------------------------------------- */

static const char *const reserved_claims[] = {"iss", "sub", "aud", "exp",
                                              "iat", "nbf", "jti"};

/* Validate the caller's extra claims and give back the members as compact
 * JSON without the outer braces ("" for {}). Free *members with free()
 * (made by pkjwt__json_string, so never Jansson's allocator's block). */
static int extra_members(char **members, const char *json, pkjwt_error *err) {
  *members = NULL;
  size_t n = strnlen(json, MAX_EXTRA_LEN + 1);
  if (n > MAX_EXTRA_LEN)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "extra claims are longer than %d bytes", MAX_EXTRA_LEN);
  json_error_t jerr;
  json_t *obj = json_loadb(json, n, JSON_REJECT_DUPLICATES, &jerr);
  if (!obj)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "extra claims are not valid JSON: %s (column %d)",
                       jerr.text, jerr.column);
  int rc = PKJWT_OK;
  if (!json_is_object(obj)) {
    rc = pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                     "extra claims must be a JSON object");
    goto done;
  }
  for (size_t i = 0; i < sizeof(reserved_claims) / sizeof(reserved_claims[0]);
       i++) {
    if (json_object_get(obj, reserved_claims[i])) {
      rc = pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "extra claims may not set %s: pkjwt sets it",
                       reserved_claims[i]);
      goto done;
    }
  }
  char *dump = pkjwt__json_string(obj);
  if (!dump) {
    rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
    goto done;
  }
  /* "{...}" -> "..." in place */
  size_t dl = strlen(dump);
  memmove(dump, dump + 1, dl - 2);
  dump[dl - 2] = '\0';
  *members = dump;
done:
  json_decref(obj);
  return rc;
}

/* ---- signing ------------------------------------------------------------ */

/* Largest signature we produce: RSA 8192 (the key rules' upper bound). */
#define SIG_MAX 1024

/* One DER INTEGER at *p (within end) into a fixed-width big-endian field:
 * leading zero bytes dropped, left-padded with zeros. -1 when malformed or
 * too wide. ECDSA signatures are OpenSSL's own output, but read strictly. */
static int der_int(unsigned char *dst, size_t width, const unsigned char **p,
                   const unsigned char *end) {
  const unsigned char *q = *p;
  if (end - q < 2 || q[0] != 0x02 || q[1] & 0x80)
    return -1; /* integers of r and s are < 128 bytes: short form only */
  size_t n = q[1];
  q += 2;
  if ((size_t)(end - q) < n || n == 0)
    return -1;
  const unsigned char *v = q;
  size_t vn = n;
  while (vn > 0 && *v == 0) {
    v++;
    vn--;
  }
  if (vn > width)
    return -1;
  memset(dst, 0, width - vn);
  memcpy(dst + (width - vn), v, vn);
  *p = q + n;
  return 0;
}

/* ECDSA's DER signature, SEQUENCE { INTEGER r, INTEGER s }, to JWS's
 * fixed-width R||S (RFC 7518 3.4). Parsed in place: this runs once per
 * assertion, and d2i_ECDSA_SIG would allocate three objects for it. */
static int der_to_raw(unsigned char *raw, size_t coord_len,
                      const unsigned char *der, size_t der_len,
                      pkjwt_error *err) {
  const unsigned char *p = der, *end = der + der_len;
  size_t body;
  if (der_len < 2 || p[0] != 0x30)
    goto bad;
  if (p[1] < 0x80) {
    body = p[1];
    p += 2;
  } else if (p[1] == 0x81 && der_len >= 3) {
    body = p[2];
    p += 3;
  } else {
    goto bad;
  }
  if ((size_t)(end - p) != body)
    goto bad;
  if (der_int(raw, coord_len, &p, end) != 0 ||
      der_int(raw + coord_len, coord_len, &p, end) != 0 || p != end)
    goto bad;
  return PKJWT_OK;
bad:
  return pkjwt__fail(err, PKJWT_ERR_CRYPTO,
                     "ECDSA signature from OpenSSL is not DER of %zu-byte "
                     "integers",
                     coord_len);
}

/* p11: the token key when pkey signs in a PKCS#11 token (its failures are
 * told from the token's answer), else NULL. */
static int sign_input(unsigned char *sig, size_t *sig_len,
                      const pkjwt__alg_info *info, EVP_PKEY *pkey,
                      struct pkjwt__p11 *p11, const unsigned char *input,
                      size_t input_len, pkjwt_error *err) {
  const EVP_MD *md = pkjwt__alg_md(info);
  if (!md)
    return pkjwt__fail(err, PKJWT_ERR_CRYPTO, "OpenSSL has no %s",
                       info->md_name);
  int size = EVP_PKEY_get_size(pkey);
  if (size <= 0 || size > SIG_MAX)
    return pkjwt__fail(err, PKJWT_ERR_KEY_TYPE,
                       "key too large to sign with (%d bytes)", size);

  int rc = PKJWT_OK;
  unsigned char der[SIG_MAX];
  size_t der_len = sizeof(der);
  EVP_PKEY_CTX *pctx = NULL;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!ctx)
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  if (EVP_DigestSignInit(ctx, &pctx, md, NULL, pkey) != 1) {
    rc = pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO, "cannot start %s signing",
                         info->name);
    goto done;
  }
  if (!pkjwt__alg_setup_pctx(info, pctx)) {
    rc = pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO, "cannot set up %s padding",
                         info->name);
    goto done;
  }
  unsigned char *dst = info->key_type == PKJWT_KEY_EC ? der : sig;
  size_t *dst_len = info->key_type == PKJWT_KEY_EC ? &der_len : sig_len;
  if (EVP_DigestSign(ctx, dst, dst_len, input, input_len) != 1) {
    if (p11)
      rc = pkjwt__pkcs11_sign_failed(err, info->name, info->key_type,
                                     info->padding == RSA_PKCS1_PSS_PADDING);
    else
      rc = pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO, "%s signing failed",
                           info->name);
    goto done;
  }
  if (info->key_type == PKJWT_KEY_EC) {
    rc = der_to_raw(sig, info->coord_len, der, der_len, err);
    *sig_len = 2 * info->coord_len;
  }
done:
  EVP_MD_CTX_free(ctx);
  return rc;
}

/* A caller string: present, not empty, not absurdly long. */
static int check_field(const char *s, const char *what, int required,
                       pkjwt_error *err) {
  if (!s) {
    if (required)
      return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "%s is required", what);
    return PKJWT_OK;
  }
  if (!*s)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "%s is empty", what);
  if (strnlen(s, MAX_FIELD_LEN + 1) > MAX_FIELD_LEN)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "%s is longer than %d bytes",
                       what, MAX_FIELD_LEN);
  if (pkjwt__has_control(s))
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "%s holds a control character", what);
  return PKJWT_OK;
}

static int check_options(const pkjwt_sign_options *o, const pkjwt_key *key,
                         pkjwt_error *err) {
  int rc = pkjwt__options_version_ok(o->version, PKJWT_SIGN_OPTIONS_VERSION,
                                     "sign options", err);
  if (rc != PKJWT_OK)
    return rc;
  if ((rc = check_field(o->client_id, "client_id", 1, err)) ||
      (rc = check_field(o->audience, "audience", 1, err)) ||
      (rc = check_field(o->typ, "typ", 0, err)) ||
      (rc = check_field(o->kid, "kid", 0, err)))
    return rc;
  if (o->lifetime <= 0)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "lifetime must be more than 0 seconds, not %ld",
                       o->lifetime);
  if (o->lifetime > PKJWT_ASSERTION_MAX_LIFETIME && !o->allow_long_lifetime)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "lifetime %ld s is over %d s; an assertion is used "
                       "once, at once (allow_long_lifetime overrides)",
                       o->lifetime, PKJWT_ASSERTION_MAX_LIFETIME);
  /* Keep exp within what every JSON reader takes as an exact integer. */
  if (o->lifetime > 100L * 365 * 86400)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "lifetime %ld s is over 100 years", o->lifetime);
  if (o->x5t && !o->cert)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "x5t#S256 needs a certificate");
  if (o->x5t && o->cert) {
    EVP_PKEY *cert_key = X509_get0_pubkey(o->cert->x509);
    if (!cert_key || EVP_PKEY_eq(cert_key, key->pkey) != 1) {
      ERR_clear_error();
      return pkjwt__fail(err, PKJWT_ERR_CERT,
                         "the certificate is not for this key");
    }
  }
  return PKJWT_OK;
}

/* Longer than 100 lines on purpose: one straight pass that writes the
 * header and claims into buffers sized from the bounded fields above, then
 * signs. Split up, the size arithmetic and the writes it guards would sit
 * in different functions, where a later edit could let them drift. */
int pkjwt_assertion_sign(char **out, const pkjwt_key *key,
                         const pkjwt_sign_options *opts, pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no output given");
  *out = NULL;
  if (!key)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no key given");
  if (!opts)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "sign options are required (client_id, audience)");
  int rc = check_options(opts, key, err);
  if (rc != PKJWT_OK)
    return rc;

  const pkjwt__alg_info *info;
  if (opts->alg == PKJWT_ALG_DEFAULT) {
    info = pkjwt__alg_lookup_name(key->default_alg);
    if (!info)
      return pkjwt__fail(err, PKJWT_ERR_ALG, "the key has no default alg");
  } else {
    info = pkjwt__alg_lookup(opts->alg);
    if (!info)
      return pkjwt__fail(err, PKJWT_ERR_ALG, "unknown alg value %d",
                         (int)opts->alg);
  }
  if ((rc = pkjwt__alg_check_key(info, key, err)) != PKJWT_OK)
    return rc;
  if (!key->has_private)
    return pkjwt__fail(err, PKJWT_ERR_NO_PRIVATE_KEY,
                       "signing needs the private key; this is a public key");

  char *extra = NULL;
  if (opts->extra_claims &&
      (rc = extra_members(&extra, opts->extra_claims, err)) != PKJWT_OK)
    return rc;

  char jti[PKJWT__JTI_LEN + 1];
  if ((rc = pkjwt__jti(jti, err)) != PKJWT_OK) {
    free(extra);
    return rc;
  }
  int64_t iat = pkjwt__now(opts->now);
  int64_t exp = iat + (int64_t)opts->lifetime;
  const char *typ = opts->typ ? opts->typ : PKJWT_TYP_JWT;
  const char *kid = opts->no_kid ? NULL
                    : opts->kid  ? opts->kid
                                 : key->thumbprint;
  const char *x5t = opts->x5t ? opts->cert->x5t_s256 : NULL;
  const char *x5t1 = opts->x5t & PKJWT_X5T_SHA1 ? opts->cert->x5t_sha1 : NULL;

  /* Sizes: every field was bounded above, so none of this can overflow. */
  size_t extra_len = extra ? strlen(extra) : 0;
  size_t head_cap = 64 + QUOTED_MAX(strlen(typ)) +
                    (kid ? QUOTED_MAX(strlen(kid)) : 0) +
                    (x5t ? QUOTED_MAX(strlen(x5t)) : 0) +
                    (x5t1 ? 8 + QUOTED_MAX(strlen(x5t1)) : 0);
  size_t claims_cap = 128 + 2 * QUOTED_MAX(strlen(opts->client_id)) +
                      QUOTED_MAX(strlen(opts->audience)) + PKJWT__JTI_LEN +
                      extra_len;
  char *json = malloc(head_cap + claims_cap);
  if (!json) {
    free(extra);
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  }
  buf h = {json, 0, head_cap, 0};
  buf c = {json + head_cap, 0, claims_cap, 0};
  int bad = 0;
  const char *bad_field = NULL;

  put_lit(&h, "{\"alg\":\"");
  put_lit(&h, info->name);
  put_lit(&h, "\",\"typ\":");
  if (put_str(&h, typ) && !bad_field)
    bad_field = "typ";
  if (kid) {
    put_lit(&h, ",\"kid\":");
    if (put_str(&h, kid) && !bad_field)
      bad_field = "kid";
  }
  if (x5t1) {
    put_lit(&h, ",\"x5t\":");
    bad |= put_str(&h, x5t1);
  }
  if (x5t) {
    put_lit(&h, ",\"x5t#S256\":");
    bad |= put_str(&h, x5t);
  }
  put_lit(&h, "}");

  put_lit(&c, "{\"iss\":");
  if (put_str(&c, opts->client_id) && !bad_field)
    bad_field = "client_id";
  put_lit(&c, ",\"sub\":");
  put_str(&c, opts->client_id);
  put_lit(&c, ",\"aud\":");
  if (put_str(&c, opts->audience) && !bad_field)
    bad_field = "audience";
  put_lit(&c, ",\"jti\":\"");
  put_lit(&c, jti);
  put_lit(&c, "\",\"iat\":");
  put_i64(&c, iat);
  if (opts->nbf) {
    put_lit(&c, ",\"nbf\":");
    put_i64(&c, iat);
  }
  put_lit(&c, ",\"exp\":");
  put_i64(&c, exp);
  if (extra_len) {
    put_lit(&c, ",");
    put_raw(&c, extra, extra_len);
  }
  put_lit(&c, "}");
  free(extra);

  if (bad_field) {
    free(json);
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "%s is not valid UTF-8",
                       bad_field);
  }
  if (bad || h.overflow || c.overflow) {
    free(json);
    return pkjwt__fail(err, PKJWT_ERR_INTERNAL, "assertion buffer too small");
  }

  size_t h64 = PKJWT__B64URL_LEN(h.len), c64 = PKJWT__B64URL_LEN(c.len);
  size_t s64_max = PKJWT__B64URL_LEN((size_t)SIG_MAX);
  char *jws = malloc(h64 + 1 + c64 + 1 + s64_max + 1);
  if (!jws) {
    free(json);
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  }
  size_t pos = pkjwt__b64url_encode(jws, (const unsigned char *)h.p, h.len);
  jws[pos++] = '.';
  pos += pkjwt__b64url_encode(jws + pos, (const unsigned char *)c.p, c.len);
  free(json);

  unsigned char sig[SIG_MAX];
  size_t sig_len = sizeof(sig);
  if (key->p11) {
    /* The token signs; its lock is held for the one signature. */
    EVP_PKEY *signer = pkjwt__pkcs11_signer(key->p11);
#ifdef HAVE_PKCS11_KEYGEN
    if (info->padding == RSA_PKCS1_PSS_PADDING) {
      const EVP_MD *md = pkjwt__alg_md(info);
      rc = md ? pkjwt__pkcs11_sign_pss(key->p11, info->name, md,
                                       (const unsigned char *)jws, pos, sig,
                                       &sig_len, err)
              : pkjwt__fail(err, PKJWT_ERR_CRYPTO, "OpenSSL has no %s",
                            info->md_name);
    } else
#endif
      rc = sign_input(sig, &sig_len, info, signer, key->p11,
                      (const unsigned char *)jws, pos, err);
    pkjwt__pkcs11_done(key->p11);
  } else {
    rc = sign_input(sig, &sig_len, info, key->pkey, NULL,
                    (const unsigned char *)jws, pos, err);
  }
  if (rc != PKJWT_OK) {
    pkjwt__cleanse_free(jws, pos);
    return rc;
  }
  jws[pos++] = '.';
  pkjwt__b64url_encode(jws + pos, sig, sig_len);
  *out = jws;
  return PKJWT_OK;
}
