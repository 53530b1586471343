/*
 * lib/verify.c: decode a client assertion and judge it as a token endpoint
 * would. The signature goes to an implementation that is not ours wherever
 * one is at hand (libjwt's jwt_decode for RS* and ES*); libjwt 1.10.2 has no
 * PS*, so those are checked here with OpenSSL. The claims are judged here.
 *
 * libjwt is loaded on the first judgement that needs it (lib/dl.c), not
 * linked: pkjwt-sign never judges and starts without it. Where it cannot be
 * loaded, OpenSSL judges alone, and the signature's detail and the
 * result's verifier ("openssl") say so.
 */
#define _GNU_SOURCE 1
#include "bounds.h"
#include "sign_internal.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

const char *pkjwt_verdict_name(pkjwt_verdict verdict) {
  switch (verdict) {
  case PKJWT_VERDICT_OK:
    return "ok";
  case PKJWT_VERDICT_FAILED:
    return "failed";
  default:
    return "not checked";
  }
}

/* ---- decoding ----------------------------------------------------------- */

typedef struct parts {
  const char *head, *claims, *sig; /* into the assertion */
  size_t head_len, claims_len, sig_len;
} parts;

static int split(parts *p, const char *jws, pkjwt_error *err) {
  size_t n = strnlen(jws, PKJWT__ASSERTION_MAX + 1);
  if (n > PKJWT__ASSERTION_MAX)
    return pkjwt__fail(err, PKJWT_ERR_PARSE, "assertion longer than %d bytes",
                       PKJWT__ASSERTION_MAX);
  const char *d1 = memchr(jws, '.', n);
  const char *d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - jws)) : NULL;
  if (!d1 || !d2 || memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - jws)))
    return pkjwt__fail(err, PKJWT_ERR_PARSE,
                       "not a compact JWS: it needs three parts split by "
                       "two dots");
  p->head = jws;
  p->head_len = (size_t)(d1 - jws);
  p->claims = d1 + 1;
  p->claims_len = (size_t)(d2 - d1 - 1);
  p->sig = d2 + 1;
  p->sig_len = n - (size_t)(d2 + 1 - jws);
  if (p->head_len == 0 || p->claims_len == 0)
    return pkjwt__fail(err, PKJWT_ERR_PARSE,
                       "not a compact JWS: the %s is empty",
                       p->head_len == 0 ? "header" : "claims part");
  return PKJWT_OK;
}

/* base64url JSON object -> json_t (duplicates refused). */
static int decode_object(json_t **out, const char *b64, size_t n,
                         const char *what, pkjwt_error *err) {
  *out = NULL;
  unsigned char *raw;
  size_t raw_len;
  if (pkjwt__b64url_decode(&raw, &raw_len, b64, n) != 0)
    return pkjwt__fail(err, PKJWT_ERR_PARSE, "the %s is not base64url", what);
  json_error_t jerr;
  json_t *obj =
      json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, &jerr);
  free(raw);
  if (!obj && pkjwt__json_nomem(&jerr))
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory reading the %s",
                       what);
  if (!obj)
    return pkjwt__fail(err, PKJWT_ERR_JSON, "the %s is not valid JSON: %s",
                       what, jerr.text);
  if (!json_is_object(obj)) {
    json_decref(obj);
    return pkjwt__fail(err, PKJWT_ERR_JSON, "the %s is not a JSON object",
                       what);
  }
  *out = obj;
  return PKJWT_OK;
}

int pkjwt_assertion_decode(char **header_json, char **claims_json,
                           const char *assertion, pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (header_json)
    *header_json = NULL;
  if (claims_json)
    *claims_json = NULL;
  if (!assertion)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no assertion given");
  parts p;
  json_t *h = NULL, *c = NULL;
  int rc = split(&p, assertion, err);
  if (rc == PKJWT_OK)
    rc = decode_object(&h, p.head, p.head_len, "header", err);
  if (rc == PKJWT_OK)
    rc = decode_object(&c, p.claims, p.claims_len, "claims part", err);
  if (rc == PKJWT_OK) {
    char *hs = header_json ? pkjwt__json_string(h) : NULL;
    char *cs = claims_json ? pkjwt__json_string(c) : NULL;
    if ((header_json && !hs) || (claims_json && !cs)) {
      pkjwt_str_free(hs);
      pkjwt_str_free(cs);
      rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
    } else {
      if (header_json)
        *header_json = hs;
      if (claims_json)
        *claims_json = cs;
    }
  }
  json_decref(h);
  json_decref(c);
  return rc;
}

/* ---- verdicts ------------------------------------------------------------ */

static void set_check(pkjwt_check_result *r, pkjwt_verdict v, const char *fmt,
                      ...) PKJWT__PRINTF(3, 4);

static void set_check(pkjwt_check_result *r, pkjwt_verdict v, const char *fmt,
                      ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
  va_end(ap);
  /* Details quote token values: keep them on one line, and ASCII so that
   * a multi-byte character cut by a precision cannot make them invalid. */
  for (char *q = r->detail; *q; q++)
    if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f)
      *q = '?';
  r->verdict = v;
}

void pkjwt_verify_result_free(pkjwt_verify_result *result) {
  if (!result)
    return;
  pkjwt_str_free(result->header_json);
  pkjwt_str_free(result->claims_json);
  free(result);
}

/* A JSON number as whole seconds; 0 when it is not a number. */
static int numeric_date(const json_t *v, int64_t *out) {
  if (json_is_integer(v)) {
    *out = (int64_t)json_integer_value(v);
    return 1;
  }
  if (json_is_real(v)) {
    double d = json_real_value(v);
    if (!isfinite(d) || d > 9e15 || d < -9e15)
      return 0;
    int64_t t = (int64_t)d; /* floor without libm */
    if ((double)t > d)
      t--;
    *out = t;
    return 1;
  }
  return 0;
}

/* ---- signature ------------------------------------------------------- */

/* JWS raw R||S back to DER for OpenSSL. */
static int raw_to_der(unsigned char **der, size_t *der_len,
                      const unsigned char *raw, size_t raw_len,
                      size_t coord_len) {
  if (raw_len != 2 * coord_len)
    return -1;
  ECDSA_SIG *es = ECDSA_SIG_new();
  BIGNUM *r = BN_bin2bn(raw, (int)coord_len, NULL);
  BIGNUM *s = BN_bin2bn(raw + coord_len, (int)coord_len, NULL);
  if (!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1) {
    ECDSA_SIG_free(es);
    BN_free(r);
    BN_free(s);
    return -1;
  }
  *der = NULL;
  int n = i2d_ECDSA_SIG(es, der);
  ECDSA_SIG_free(es);
  if (n <= 0)
    return -1;
  *der_len = (size_t)n;
  return 0;
}

/* ---- libjwt, loaded on first use --------------------------------------- */

static struct {
  __typeof__(jwt_decode) *decode;
  __typeof__(jwt_get_alg) *get_alg;
  __typeof__(jwt_str_alg) *str_alg;
  __typeof__(jwt_free) *free;
} jwt;

#define JWT_SYM(name, field)                                                   \
  { #name, offsetof(__typeof__(jwt), field) }
static const struct pkjwt__dl_sym jwt_syms[] = {
    JWT_SYM(jwt_decode, decode),
    JWT_SYM(jwt_get_alg, get_alg),
    JWT_SYM(jwt_str_alg, str_alg),
    JWT_SYM(jwt_free, free),
};
#undef JWT_SYM

static pthread_once_t jwt_once = PTHREAD_ONCE_INIT;
static int jwt_loaded;
static char jwt_why[PKJWT__DL_WHY_LEN];

int (*pkjwt__jwt_decode_hook)(struct jwt **jwt, const char *token,
                              const unsigned char *key, int key_len);

const char *pkjwt__libjwt_soname = PKJWT_LIBJWT_SONAME;

static void jwt_load(void) {
  jwt_loaded = pkjwt__dl_load(&jwt, pkjwt__libjwt_soname, PKJWT_LIBJWT_PACKAGE,
                              jwt_syms, sizeof(jwt_syms) / sizeof(jwt_syms[0]),
                              jwt_why, sizeof(jwt_why)) == 0;
}

/* 1 valid, 0 not valid, -1 could not check (OpenSSL failed). */
static int verify_openssl(const pkjwt__alg_info *info, EVP_PKEY *pkey,
                          const unsigned char *input, size_t input_len,
                          const unsigned char *sig, size_t sig_len) {
  const EVP_MD *md = pkjwt__alg_md(info);
  if (!md)
    return -1;
  unsigned char *der = NULL;
  size_t der_len = 0;
  if (info->key_type == PKJWT_KEY_EC) {
    if (raw_to_der(&der, &der_len, sig, sig_len, info->coord_len) != 0)
      return 0;
    sig = der;
    sig_len = der_len;
  }
  int ok = -1;
  EVP_PKEY_CTX *pctx = NULL;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx && EVP_DigestVerifyInit(ctx, &pctx, md, NULL, pkey) == 1 &&
      pkjwt__alg_setup_pctx(info, pctx))
    ok = EVP_DigestVerify(ctx, sig, sig_len, input, input_len) == 1;
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  ERR_clear_error();
  return ok;
}

static void check_signature(pkjwt_verify_result *r, const pkjwt__alg_info *info,
                            const parts *p, const char *assertion,
                            const pkjwt_key *key, const char *typ) {
  unsigned char *sig = NULL;
  size_t sig_len = 0;
  if (p->sig_len == 0) {
    set_check(&r->signature, PKJWT_VERDICT_FAILED, "no signature");
    return;
  }
  if (pkjwt__b64url_decode(&sig, &sig_len, p->sig, p->sig_len) != 0) {
    set_check(&r->signature, PKJWT_VERDICT_FAILED,
              "the signature is not base64url");
    return;
  }
  /* libjwt 1.10.2 has no PS*, and its jwt_decode refuses any typ but
   * "JWT" (jwt_verify_head), whatever the signature: for those OpenSSL
   * judges alone, and the detail says why. */
  const char *why = info->padding == RSA_PKCS1_PSS_PADDING ? ""
                    : (typ && strcasecmp(typ, "JWT") != 0)
                        ? "; libjwt 1.10.2 refuses typ other than JWT"
                        : NULL;
  char nolib[PKJWT__DL_WHY_LEN + 8];
  if (!why) {
    pthread_once(&jwt_once, jwt_load);
    if (!jwt_loaded) {
      snprintf(nolib, sizeof(nolib), "; %s", jwt_why);
      why = nolib;
    }
  }
  if (why) {
    r->verifier = "openssl";
    int ok = verify_openssl(info, key->pkey, (const unsigned char *)assertion,
                            p->head_len + 1 + p->claims_len, sig, sig_len);
    if (ok == 1)
      set_check(&r->signature, PKJWT_VERDICT_OK,
                "%s signature valid (OpenSSL%s)", info->name, why);
    else
      set_check(&r->signature, PKJWT_VERDICT_FAILED,
                ok == 0 ? "%s signature does not match the key (OpenSSL%s)"
                        : "%s signature could not be checked (OpenSSL%s)",
                info->name, why);
    free(sig);
    return;
  }
  /* libjwt reads ES signatures as raw R||S; it wants exactly 2 * coord
   * bytes and so do we (a DER signature is refused, not converted). */
  size_t want = info->key_type == PKJWT_KEY_EC
                    ? 2 * info->coord_len
                    : (size_t)EVP_PKEY_get_size(key->pkey);
  free(sig);
  if (sig_len != want) {
    set_check(&r->signature, PKJWT_VERDICT_FAILED,
              "%s signature is %zu bytes, not %zu", info->name, sig_len, want);
    return;
  }
  r->verifier = "libjwt";
  char *pem = NULL;
  if (pkjwt_key_public_pem(&pem, key, NULL) != PKJWT_OK) {
    set_check(&r->signature, PKJWT_VERDICT_FAILED,
              "the public key could not be written as PEM for libjwt");
    return;
  }
  jwt_t *j = NULL;
  int jrc = (pkjwt__jwt_decode_hook ? pkjwt__jwt_decode_hook : jwt.decode)(
      &j, assertion, (const unsigned char *)pem, (int)strlen(pem));
  jwt_alg_t seen = j ? jwt.get_alg(j) : JWT_ALG_INVAL;
  jwt.free(j);
  pkjwt_str_free(pem);
  ERR_clear_error(); /* libjwt leaves OpenSSL's queue as it finds it, or not */
  if (jrc == 0 && seen == jwt.str_alg(info->name))
    set_check(&r->signature, PKJWT_VERDICT_OK, "%s signature valid (libjwt)",
              info->name);
  else {
    char ebuf[PKJWT__STRERROR_LEN];
    set_check(&r->signature, PKJWT_VERDICT_FAILED,
              "%s signature does not match the key (libjwt: %s)", info->name,
              jrc ? pkjwt__strerror(jrc, ebuf, sizeof(ebuf)) : "alg differs");
  }
}

/* ---- claims ------------------------------------------------------------ */

static void check_typ(pkjwt_verify_result *r, const json_t *h,
                      const char *want) {
  const json_t *t = json_object_get(h, "typ");
  const char *typ = json_string_value(t);
  if (!want) {
    if (t && !typ)
      set_check(&r->typ, PKJWT_VERDICT_FAILED, "typ is not a string");
    else
      set_check(&r->typ, PKJWT_VERDICT_NOT_CHECKED, "typ %.80s%s%s",
                typ ? "\"" : "", typ ? typ : "absent", typ ? "\"" : "");
    return;
  }
  if (!typ) {
    set_check(&r->typ, PKJWT_VERDICT_FAILED, "typ absent, expected \"%.80s\"",
              want);
    return;
  }
  /* RFC 7515 4.1.9: compared case-insensitively, "application/" optional. */
  const char *v = typ;
  if (strncasecmp(v, "application/", 12) == 0)
    v += 12;
  const char *w = want;
  if (strncasecmp(w, "application/", 12) == 0)
    w += 12;
  if (strcasecmp(v, w) == 0)
    set_check(&r->typ, PKJWT_VERDICT_OK, "typ \"%.80s\"", typ);
  else
    set_check(&r->typ, PKJWT_VERDICT_FAILED,
              "typ \"%.60s\" is not the expected \"%.60s\"", typ, want);
}

static void check_iss_sub(pkjwt_verify_result *r, const json_t *c,
                          const char *want) {
  const char *iss = json_string_value(json_object_get(c, "iss"));
  const char *sub = json_string_value(json_object_get(c, "sub"));
  if (!iss || !sub)
    set_check(&r->iss_sub, PKJWT_VERDICT_FAILED, "%s missing or not a string",
              !iss ? "iss" : "sub");
  else if (strcmp(iss, sub) != 0)
    set_check(&r->iss_sub, PKJWT_VERDICT_FAILED,
              "iss \"%.60s\" and sub \"%.60s\" differ; both must be the "
              "client id",
              iss, sub);
  else if (want && strcmp(iss, want) != 0)
    set_check(&r->iss_sub, PKJWT_VERDICT_FAILED,
              "iss/sub \"%.60s\" is not the client id \"%.60s\"", iss, want);
  else
    set_check(&r->iss_sub, PKJWT_VERDICT_OK, "iss = sub = \"%.80s\"%s", iss,
              want ? "" : " (client id not compared)");
}

static void check_aud(pkjwt_verify_result *r, const json_t *c,
                      const char *want) {
  const json_t *aud = json_object_get(c, "aud");
  const char *first = NULL;
  int found = 0, bad = !aud;
  if (json_is_string(aud)) {
    first = json_string_value(aud);
    found = want && strcmp(first, want) == 0;
  } else if (json_is_array(aud) && json_array_size(aud) > 0) {
    size_t i;
    const json_t *v;
    json_array_foreach(aud, i, v) {
      if (!json_is_string(v)) {
        bad = 1;
        break;
      }
      if (!first)
        first = json_string_value(v);
      if (want && strcmp(json_string_value(v), want) == 0)
        found = 1;
    }
  } else {
    bad = 1;
  }
  if (bad)
    set_check(&r->aud, PKJWT_VERDICT_FAILED,
              aud ? "aud is not a string or an array of strings"
                  : "aud is missing");
  else if (!want)
    set_check(&r->aud, PKJWT_VERDICT_NOT_CHECKED,
              "aud \"%.100s\"%s not compared (no expected audience)", first,
              json_is_array(aud) ? "..." : "");
  else if (found)
    set_check(&r->aud, PKJWT_VERDICT_OK, "aud holds \"%.100s\"", want);
  else
    set_check(&r->aud, PKJWT_VERDICT_FAILED,
              "aud \"%.70s\"%s is not the expected \"%.70s\"", first,
              json_is_array(aud) ? "..." : "", want);
}

/* Time sums saturate instead of overflowing (signed overflow is undefined
 * behaviour); with times bounded to years 1970-9999 they never get near,
 * but an injected `now` may be anything. */
static int64_t sat_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r))
    return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

static int64_t sat_sub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r))
    return b < 0 ? INT64_MAX : INT64_MIN;
  return r;
}

/* A NumericDate claim: 0 and the check set when it is missing, not a
 * number or absurd (before 1970 or after 9999-12-31); 1 with *t. */
static int time_claim(pkjwt_check_result *cr, int64_t *t, const json_t *c,
                      const char *name, pkjwt_verdict missing) {
  const json_t *v = json_object_get(c, name);
  if (!v) {
    set_check(cr, missing, "%s %s", name,
              missing == PKJWT_VERDICT_FAILED ? "is missing" : "absent");
    return 0;
  }
  if (!numeric_date(v, t)) {
    set_check(cr, PKJWT_VERDICT_FAILED, "%s is not a number", name);
    return 0;
  }
  if (*t < PKJWT__TIME_MIN || *t > PKJWT__TIME_MAX) {
    set_check(cr, PKJWT_VERDICT_FAILED,
              "%s %" PRId64 " is absurd: not between 1970 and 9999-12-31", name,
              *t);
    return 0;
  }
  return 1;
}

/* nbf and iat: the claim NAME, when present, must not lie beyond now +
 * leeway. The words around the seconds: "BEFORE N sAFTER (NAME ...)" when
 * it does, "OK N s ago" when not. */
static void not_future(pkjwt_check_result *cr, const json_t *c,
                       const char *name, int64_t now, long leeway,
                       const char *before, const char *after, const char *ok) {
  int64_t t;
  if (!time_claim(cr, &t, c, name, PKJWT_VERDICT_NOT_CHECKED))
    return;
  if (t > sat_add(now, leeway))
    set_check(cr, PKJWT_VERDICT_FAILED,
              "%s%" PRId64 " s%s (%s %" PRId64 ", leeway %ld s)", before,
              sat_sub(t, now), after, name, t, leeway);
  else
    set_check(cr, PKJWT_VERDICT_OK, "%s %" PRId64 " s ago", ok,
              sat_sub(now, t));
}

static void check_times(pkjwt_verify_result *r, const json_t *c, int64_t now,
                        long leeway) {
  int64_t t;
  if (time_claim(&r->exp, &t, c, "exp", PKJWT_VERDICT_FAILED)) {
    if (now >= sat_add(t, leeway))
      set_check(&r->exp, PKJWT_VERDICT_FAILED,
                "expired %" PRId64 " s ago (exp %" PRId64 ", leeway %ld s)",
                sat_sub(now, t), t, leeway);
    else
      set_check(&r->exp, PKJWT_VERDICT_OK, "expires in %" PRId64 " s",
                sat_sub(t, now));
  }
  not_future(&r->nbf, c, "nbf", now, leeway, "not valid for another ", "",
             "valid since");
  not_future(&r->iat, c, "iat", now, leeway, "issued ", " in the future",
             "issued");
}

static void check_jti(pkjwt_verify_result *r, const json_t *c) {
  const json_t *v = json_object_get(c, "jti");
  if (!v)
    set_check(&r->jti, PKJWT_VERDICT_NOT_CHECKED, "jti absent");
  else if (!json_is_string(v) || json_string_length(v) == 0)
    set_check(&r->jti, PKJWT_VERDICT_FAILED, "jti is not a non-empty string");
  else
    set_check(&r->jti, PKJWT_VERDICT_OK, "jti of %zu characters",
              json_string_length(v));
}

/* Why the header asks for something we do not do, or NULL. RFC 7515
 * 4.1.11: a "crit" names extensions the recipient must understand, and we
 * understand none, so any crit is refused; RFC 7797's "b64": false (an
 * unencoded payload) changes what was signed and is refused with or without
 * crit. jku, x5u, x5c and kid are never acted on: the caller's key is the
 * only key (tests/check_verify.c). */
static const char *header_extension(const json_t *h) {
  const json_t *b64 = json_object_get(h, "b64");
  if (json_is_false(b64))
    return "the header's b64: false (an unencoded payload, RFC 7797) is "
           "refused";
  if (json_object_get(h, "crit"))
    return "the header has crit: no JWS extension is understood, so the "
           "assertion is refused (RFC 7515 4.1.11)";
  return NULL;
}

/* The checks in the order a failure is reported. */
static const struct {
  const char *name;
  size_t offset;
} checks[] = {
    {"alg", offsetof(pkjwt_verify_result, alg_allowed)},
    {"signature", offsetof(pkjwt_verify_result, signature)},
    {"typ", offsetof(pkjwt_verify_result, typ)},
    {"iss/sub", offsetof(pkjwt_verify_result, iss_sub)},
    {"aud", offsetof(pkjwt_verify_result, aud)},
    {"exp", offsetof(pkjwt_verify_result, exp)},
    {"nbf", offsetof(pkjwt_verify_result, nbf)},
    {"iat", offsetof(pkjwt_verify_result, iat)},
    {"jti", offsetof(pkjwt_verify_result, jti)},
};
#define CHECK_COUNT (sizeof(checks) / sizeof(checks[0]))

static const pkjwt_check_result *check_at(const pkjwt_verify_result *r,
                                          size_t i) {
  return (const pkjwt_check_result *)((const char *)r + checks[i].offset);
}

size_t pkjwt_verify_check_count(void) {
  return CHECK_COUNT;
}

const pkjwt_check_result *
pkjwt_verify_result_check(const pkjwt_verify_result *result, size_t i,
                          const char **name) {
  if (!result || i >= CHECK_COUNT)
    return NULL;
  if (name)
    *name = checks[i].name;
  return check_at(result, i);
}

/* About 110 lines: the checks run in the order a server runs them, each
 * filling its own verdict, and reading them in one place is the point. */
int pkjwt_assertion_verify(pkjwt_verify_result **out, const char *assertion,
                           const pkjwt_key *key,
                           const pkjwt_verify_options *opts, pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no output given");
  *out = NULL;
  if (!assertion || !key)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no %s given",
                       !assertion ? "assertion" : "key");
  pkjwt_verify_options defaults = PKJWT_VERIFY_OPTIONS_INIT;
  if (!opts)
    opts = &defaults;
  int vrc = pkjwt__options_version_ok(
      opts->version, PKJWT_VERIFY_OPTIONS_VERSION, "verify options", err);
  if (vrc != PKJWT_OK)
    return vrc;
  if (opts->leeway < 0 || opts->leeway > 86400)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "leeway must be 0 to 86400 seconds, not %ld",
                       opts->leeway);

  parts p;
  json_t *h = NULL, *c = NULL;
  int rc = split(&p, assertion, err);
  if (rc == PKJWT_OK)
    rc = decode_object(&h, p.head, p.head_len, "header", err);
  if (rc == PKJWT_OK)
    rc = decode_object(&c, p.claims, p.claims_len, "claims part", err);
  pkjwt_verify_result *r = NULL;
  if (rc == PKJWT_OK && !(r = calloc(1, sizeof(*r))))
    rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  if (rc == PKJWT_OK) {
    r->header_json = pkjwt__json_string(h);
    r->claims_json = pkjwt__json_string(c);
    if (!r->header_json || !r->claims_json)
      rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  }
  if (rc != PKJWT_OK) {
    pkjwt_verify_result_free(r);
    json_decref(h);
    json_decref(c);
    return rc;
  }
  r->verifier = "none";

  /* alg first: nothing else about the signature means anything without. */
  const json_t *alg_v = json_object_get(h, "alg");
  const char *alg = json_string_value(alg_v);
  const pkjwt__alg_info *info = NULL;
  pkjwt_alg named = PKJWT_ALG_DEFAULT;
  pkjwt_error refusal = PKJWT_ERROR_INIT;
  if (alg) {
    snprintf(r->alg, sizeof(r->alg), "%s", alg);
    for (char *q = r->alg; *q; q++)
      if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f)
        *q = '?';
  }
  if (!alg) {
    set_check(&r->alg_allowed, PKJWT_VERDICT_FAILED,
              alg_v ? "alg is not a string" : "alg is missing");
  } else if (pkjwt_alg_from_name(&named, alg, &refusal) != PKJWT_OK) {
    /* none, HS*, unknown: worded once, by the alg table's lookup */
    set_check(&r->alg_allowed, PKJWT_VERDICT_FAILED, "%s", refusal.message);
  } else {
    info = pkjwt__alg_lookup(named);
    if (pkjwt__alg_check_key(info, key, &refusal) != PKJWT_OK) {
      set_check(&r->alg_allowed, PKJWT_VERDICT_FAILED, "%s", refusal.message);
      info = NULL;
    } else {
      set_check(&r->alg_allowed, PKJWT_VERDICT_OK, "%s fits the key",
                info->name);
    }
  }
  const char *ext = info ? header_extension(h) : NULL;
  if (ext)
    set_check(&r->signature, PKJWT_VERDICT_FAILED, "not checked: %s", ext);
  else if (info)
    check_signature(r, info, &p, assertion, key,
                    json_string_value(json_object_get(h, "typ")));
  else
    set_check(&r->signature, PKJWT_VERDICT_FAILED,
              "not checked: the alg is refused");

  check_typ(r, h, opts->typ);
  check_iss_sub(r, c, opts->client_id);
  check_aud(r, c, opts->audience);
  check_times(r, c, pkjwt__now(opts->now), opts->leeway);
  check_jti(r, c);
  json_decref(h);
  json_decref(c);

  r->valid = 1;
  const char *first = NULL;
  const pkjwt_check_result *why = NULL;
  for (size_t i = 0; i < CHECK_COUNT; i++) {
    if (check_at(r, i)->verdict == PKJWT_VERDICT_FAILED) {
      r->valid = 0;
      if (!first) {
        first = checks[i].name;
        why = check_at(r, i);
      }
    }
  }
  *out = r;
  if (!r->valid)
    return pkjwt__fail(err, PKJWT_ERR_VERIFY, "%s: %s", first, why->detail);
  return PKJWT_OK;
}

int pkjwt_verify_result_json(char **out, const pkjwt_verify_result *result,
                             pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out || !result)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no %s given",
                       !out ? "output" : "result");
  *out = NULL;
  json_t *checks_obj = json_object();
  json_t *root = json_object();
  json_t *h = json_loads(result->header_json ? result->header_json : "{}",
                         JSON_DECODE_ANY, NULL);
  json_t *c = json_loads(result->claims_json ? result->claims_json : "{}",
                         JSON_DECODE_ANY, NULL);
  int ok = checks_obj && root && h && c;
  for (size_t i = 0; ok && i < CHECK_COUNT; i++) {
    const pkjwt_check_result *cr = check_at(result, i);
    json_t *one =
        json_pack("{s:s,s:s}", "verdict", pkjwt_verdict_name(cr->verdict),
                  "detail", cr->detail);
    ok = one && json_object_set_new(checks_obj, checks[i].name, one) == 0;
  }
  if (ok)
    ok = json_object_set_new(root, "valid", json_boolean(result->valid)) == 0 &&
         json_object_set_new(root, "alg", json_string(result->alg)) == 0 &&
         json_object_set_new(
             root, "verifier",
             json_string(result->verifier ? result->verifier : "none")) == 0 &&
         json_object_set(root, "header", h) == 0 &&
         json_object_set(root, "claims", c) == 0 &&
         json_object_set(root, "checks", checks_obj) == 0;
  char *s = ok ? pkjwt__json_string(root) : NULL;
  json_decref(checks_obj);
  json_decref(root);
  json_decref(h);
  json_decref(c);
  if (!s)
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  *out = s;
  return PKJWT_OK;
}
