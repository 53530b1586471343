/*
 * tests/check_verify.c: decode and verify (lib/verify.c). Tokens we could
 * never sign ourselves (iss != sub, aud arrays, missing claims) are made by
 * python3-jwcrypto with the same private key; alg none and HS256 tokens are
 * put together by hand.
 */
#include "testutil.h"

#include "bounds.h"
#include "sign_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <jwt.h>
#include <netinet/in.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/socket.h>

static char *dir;
static pkjwt_key *ec256, *ec384, *rsa, *other256, *ec256_pub;

#define NOW 1700000000
#define CLIENT "client-7"
#define AUD "https://app.puzzel.com/id/connect/token"

static pkjwt_key *load(const char *name) {
  char *p = test_path(dir, name);
  pkjwt_key *k = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  int rc = pkjwt_key_load_file(&k, p, NULL, &e);
  ck_assert_msg(rc == PKJWT_OK, "load %s: %s", name, e.message);
  free(p);
  return k;
}

/* craft.py KEY HEADER CLAIMS: a compact JWS signed by jwcrypto. */
static const char craft_py[] =
    "import sys\n"
    "from jwcrypto import jwk, jws\n"
    "k = jwk.JWK.from_pem(open(sys.argv[1], 'rb').read())\n"
    "s = jws.JWS(sys.argv[3].encode())\n"
    "s.add_signature(k, alg=None, protected=sys.argv[2])\n"
    "print(s.serialize(compact=True))\n";

static void setup(void) {
  dir = test_tmpdir();
  const char *o = test_openssl();
  ck_assert_int_eq(
      test_sh(
          NULL,
          "cd '%s' && '%s' genpkey -algorithm EC -pkeyopt "
          "ec_paramgen_curve:P-256 -out ec256.pem 2>/dev/null && "
          "'%s' genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
          "-out other256.pem 2>/dev/null && "
          "'%s' genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 "
          "-out ec384.pem 2>/dev/null && "
          "'%s' genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
          "-out rsa.pem 2>/dev/null && "
          "'%s' pkey -in ec256.pem -pubout -out ec256.pub 2>/dev/null && "
          "'%s' req -x509 -key ec256.pem -subj /CN=v -days 2 -out ec256.crt "
          "2>/dev/null && '%s' -c \"from jwcrypto import jwk; "
          "print(jwk.JWK.from_pem(open('ec256.pub','rb').read())"
          ".export_public())\" > ec256.jwk",
          dir, o, o, o, o, o, o, test_python3()),
      0);
  char *cp = test_path(dir, "craft.py");
  ck_assert_int_eq(test_write_file(cp, craft_py, strlen(craft_py)), 0);
  free(cp);
  ec256 = load("ec256.pem");
  other256 = load("other256.pem");
  ec384 = load("ec384.pem");
  rsa = load("rsa.pem");
  ec256_pub = load("ec256.pub");
}

static void teardown(void) {
  pkjwt_key_free(ec256);
  pkjwt_key_free(other256);
  pkjwt_key_free(ec384);
  pkjwt_key_free(rsa);
  pkjwt_key_free(ec256_pub);
  test_rmtree(dir);
  free(dir);
}

/* ---- helpers ------------------------------------------------------------ */

static char *sign_at(const pkjwt_key *key, pkjwt_alg alg, int64_t now, int nbf,
                     const char *typ) {
  pkjwt_sign_options o = PKJWT_SIGN_OPTIONS_INIT;
  o.client_id = CLIENT;
  o.audience = AUD;
  o.alg = alg;
  o.now = now;
  o.nbf = nbf;
  o.typ = typ;
  char *jws = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  int rc = pkjwt_assertion_sign(&jws, key, &o, &e);
  ck_assert_msg(rc == PKJWT_OK, "sign: %s", e.message);
  return jws;
}

static pkjwt_verify_options vopts(int64_t now) {
  pkjwt_verify_options v = PKJWT_VERIFY_OPTIONS_INIT;
  v.client_id = CLIENT;
  v.audience = AUD;
  v.now = now;
  return v;
}

/* Verify; assert the return code matches the result's validity. */
static pkjwt_verify_result *verify(const char *jws, const pkjwt_key *key,
                                   const pkjwt_verify_options *v) {
  pkjwt_verify_result *r = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  int rc = pkjwt_assertion_verify(&r, jws, key, v, &e);
  ck_assert_msg(r != NULL, "no result: %d %s", rc, e.message);
  ck_assert_int_eq(rc, r->valid ? PKJWT_OK : PKJWT_ERR_VERIFY);
  ck_assert_int_eq(e.code, rc);
  if (!r->valid)
    ck_assert_int_gt((int)strlen(e.message), 5);
  return r;
}

/* A token crafted by jwcrypto with the private key in file `keyfile`. */
static char *craft(const char *keyfile, const char *header,
                   const char *claims) {
  char *out = NULL;
  int st = test_sh(&out, "'%s' '%s/craft.py' '%s/%s' '%s' '%s' 2>&1",
                   test_python3(), dir, dir, keyfile, header, claims);
  ck_assert_msg(st == 0, "craft failed: %s", out ? out : "");
  out[strcspn(out, "\n")] = '\0';
  return out;
}

static char *b64url_str(const char *s) {
  size_t n = strlen(s);
  char *o = malloc(PKJWT__B64URL_LEN(n) + 1);
  ck_assert_ptr_nonnull(o);
  pkjwt__b64url_encode(o, (const unsigned char *)s, n);
  return o;
}

/* Replace part i (0 header, 1 claims, 2 signature) of jws with repl. */
static char *with_part(const char *jws, int i, const char *repl) {
  const char *d1 = strchr(jws, '.'), *d2 = strchr(d1 + 1, '.');
  const char *p[3] = {jws, d1 + 1, d2 + 1};
  int len[3] = {(int)(d1 - jws), (int)(d2 - d1 - 1), (int)strlen(d2 + 1)};
  p[i] = repl;
  len[i] = (int)strlen(repl);
  size_t n = strlen(jws) + strlen(repl) + 3;
  char *o = malloc(n);
  ck_assert_ptr_nonnull(o);
  snprintf(o, n, "%.*s.%.*s.%.*s", len[0], p[0], len[1], p[1], len[2], p[2]);
  return o;
}

/* ---- valid assertions --------------------------------------------------- */

static const struct {
  pkjwt_alg alg;
  pkjwt_key **key;
  const char *verifier;
} algs[] = {
    {PKJWT_ALG_RS256, &rsa, "libjwt"},   {PKJWT_ALG_RS384, &rsa, "libjwt"},
    {PKJWT_ALG_RS512, &rsa, "libjwt"},   {PKJWT_ALG_PS256, &rsa, "openssl"},
    {PKJWT_ALG_PS384, &rsa, "openssl"},  {PKJWT_ALG_PS512, &rsa, "openssl"},
    {PKJWT_ALG_ES256, &ec256, "libjwt"}, {PKJWT_ALG_ES384, &ec384, "libjwt"},
};

START_TEST(every_alg_round_trips) {
  for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
    char *jws = sign_at(*algs[i].key, algs[i].alg, NOW, 1, NULL);
    pkjwt_verify_options v = vopts(NOW + 5);
    pkjwt_verify_result *r = verify(jws, *algs[i].key, &v);
    ck_assert_msg(r->valid, "%s: %s", pkjwt_alg_name(algs[i].alg),
                  r->signature.detail);
    ck_assert_str_eq(r->alg, pkjwt_alg_name(algs[i].alg));
    ck_assert_str_eq(r->verifier, algs[i].verifier);
    ck_assert_int_eq(r->alg_allowed.verdict, PKJWT_VERDICT_OK);
    ck_assert_int_eq(r->signature.verdict, PKJWT_VERDICT_OK);
    ck_assert_int_eq(r->typ.verdict, PKJWT_VERDICT_NOT_CHECKED);
    ck_assert_int_eq(r->iss_sub.verdict, PKJWT_VERDICT_OK);
    ck_assert_int_eq(r->aud.verdict, PKJWT_VERDICT_OK);
    ck_assert_int_eq(r->exp.verdict, PKJWT_VERDICT_OK);
    ck_assert_int_eq(r->nbf.verdict, PKJWT_VERDICT_OK);
    ck_assert_int_eq(r->iat.verdict, PKJWT_VERDICT_OK);
    ck_assert_int_eq(r->jti.verdict, PKJWT_VERDICT_OK);
    ck_assert_str_eq(r->exp.detail, "expires in 55 s");
    ck_assert_ptr_nonnull(strstr(r->claims_json, "\"iss\":\"" CLIENT "\""));
    ck_assert_ptr_nonnull(strstr(r->header_json, "\"typ\":\"JWT\""));
    pkjwt_verify_result_free(r);
    pkjwt_str_free(jws);
  }
}
END_TEST

/* libjwt missing at run time (it is loaded on first use, lib/dl.c):
 * OpenSSL judges alone, and the verifier and the detail say so. Only in a
 * forked test, where nothing has loaded libjwt yet. */
START_TEST(without_libjwt) {
  const char *fork = getenv("CK_FORK");
  if (fork && strcmp(fork, "no") == 0)
    return; /* one process for all tests: libjwt is loaded already */
  pkjwt__libjwt_soname = "libjwt-pkjwt-test-missing.so.0";
  const pkjwt_alg run[] = {PKJWT_ALG_RS256, PKJWT_ALG_ES256};
  const pkjwt_key *keys[] = {rsa, ec256};
  for (size_t i = 0; i < 2; i++) {
    char *jws = sign_at(keys[i], run[i], NOW, 1, NULL);
    pkjwt_verify_options v = vopts(NOW + 5);
    pkjwt_verify_result *r = verify(jws, keys[i], &v);
    ck_assert_msg(r->valid, "%s", r->signature.detail);
    ck_assert_str_eq(r->verifier, "openssl");
    ck_assert_ptr_nonnull(
        strstr(r->signature.detail,
               "(OpenSSL; cannot load libjwt-pkjwt-test-missing.so.0 (install "
               "the Debian package " PKJWT_LIBJWT_PACKAGE "))"));
    pkjwt_verify_result_free(r);
    pkjwt_key *wrong = i ? NULL : tu_key("RSA2048");
    r = verify(jws, i ? other256 : wrong, &v);
    ck_assert(!r->valid);
    ck_assert_int_eq(r->signature.verdict, PKJWT_VERDICT_FAILED);
    ck_assert_str_eq(r->verifier, "openssl");
    pkjwt_verify_result_free(r);
    pkjwt_key_free(wrong);
    pkjwt_str_free(jws);
  }
}
END_TEST

/* Many ES256 signatures: some have an R or S with leading zero bytes, and
 * the fixed-width encoding must still verify in libjwt every time. */
START_TEST(es256_many_verify) {
  for (int i = 0; i < tu_rounds(300); i++) {
    char *jws = sign_at(ec256, PKJWT_ALG_ES256, NOW, 0, NULL);
    pkjwt_verify_options v = vopts(NOW);
    pkjwt_verify_result *r = verify(jws, ec256_pub, &v);
    if (!r->valid)
      ck_abort_msg("signature %d refused: %s", i, r->signature.detail);
    pkjwt_verify_result_free(r);
    pkjwt_str_free(jws);
  }
}
END_TEST

START_TEST(any_public_key_handle_verifies) {
  char *jws = sign_at(ec256, PKJWT_ALG_ES256, NOW, 0, NULL);
  pkjwt_verify_options v = vopts(NOW);
  pkjwt_error e = PKJWT_ERROR_INIT;

  pkjwt_verify_result *r = verify(jws, ec256_pub, &v);
  ck_assert(r->valid);
  pkjwt_verify_result_free(r);

  pkjwt_cert *cert = NULL;
  pkjwt_key *ck = NULL;
  char *cp = test_path(dir, "ec256.crt");
  ck_assert_int_eq(pkjwt_cert_load_file(&cert, cp, &e), PKJWT_OK);
  ck_assert_int_eq(pkjwt_cert_public_key(&ck, cert, &e), PKJWT_OK);
  r = verify(jws, ck, &v);
  ck_assert(r->valid);
  pkjwt_verify_result_free(r);
  pkjwt_key_free(ck);
  pkjwt_cert_free(cert);
  free(cp);

  size_t len;
  char *jp = test_path(dir, "ec256.jwk");
  char *json = test_read_file(jp, &len);
  ck_assert_ptr_nonnull(json);
  pkjwt_key *jk = NULL;
  ck_assert_int_eq(pkjwt_key_from_jwk(&jk, json, len, &e), PKJWT_OK);
  r = verify(jws, jk, &v);
  ck_assert(r->valid);
  pkjwt_verify_result_free(r);
  pkjwt_key_free(jk);
  free(json);
  free(jp);
  pkjwt_str_free(jws);
}
END_TEST

/* ---- what must be refused -------------------------------------------------
 */

START_TEST(wrong_key_refused) {
  char *jws = sign_at(ec256, PKJWT_ALG_ES256, NOW, 0, NULL);
  pkjwt_verify_options v = vopts(NOW);
  pkjwt_verify_result *r = verify(jws, other256, &v);
  ck_assert(!r->valid);
  ck_assert_int_eq(r->signature.verdict, PKJWT_VERDICT_FAILED);
  ck_assert_int_eq(r->alg_allowed.verdict, PKJWT_VERDICT_OK);
  ck_assert_int_eq(r->exp.verdict, PKJWT_VERDICT_OK);
  pkjwt_verify_result_free(r);
  /* and a key of another type or curve does not even fit the alg */
  r = verify(jws, ec384, &v);
  ck_assert(!r->valid);
  ck_assert_int_eq(r->alg_allowed.verdict, PKJWT_VERDICT_FAILED);
  ck_assert_int_eq(r->signature.verdict, PKJWT_VERDICT_FAILED);
  pkjwt_verify_result_free(r);
  r = verify(jws, rsa, &v);
  ck_assert_int_eq(r->alg_allowed.verdict, PKJWT_VERDICT_FAILED);
  pkjwt_verify_result_free(r);
  pkjwt_str_free(jws);

  jws = sign_at(rsa, PKJWT_ALG_PS256, NOW, 0, NULL);
  pkjwt_key *rsa2 = tu_key("RSA2048");
  r = verify(jws, rsa2, &v);
  ck_assert(!r->valid);
  ck_assert_int_eq(r->signature.verdict, PKJWT_VERDICT_FAILED);
  pkjwt_verify_result_free(r);
  pkjwt_key_free(rsa2);
  pkjwt_str_free(jws);
}
END_TEST

/* Tampering with any part, for a libjwt-judged and an OpenSSL-judged alg. */
START_TEST(tampering_refused) {
  const struct {
    pkjwt_alg alg;
    pkjwt_key **key;
    const char *typ;
  } cases[] = {{PKJWT_ALG_ES256, &ec256, NULL},
               {PKJWT_ALG_RS256, &rsa, NULL},
               {PKJWT_ALG_PS256, &rsa, NULL},
               {PKJWT_ALG_ES256, &ec256, PKJWT_TYP_CLIENT_AUTH}};
  for (size_t i = 0; i < 4; i++) {
    char *jws = sign_at(*cases[i].key, cases[i].alg, NOW, 0, cases[i].typ);
    pkjwt_verify_options v = vopts(NOW);
    pkjwt_verify_result *r = verify(jws, *cases[i].key, &v);
    ck_assert_msg(r->valid, "untampered %zu: %s", i, r->signature.detail);
    pkjwt_verify_result_free(r);

    /* header: same alg, another kid */
    char hj[160];
    snprintf(hj, sizeof(hj), "{\"alg\":\"%s\",\"typ\":\"%s\",\"kid\":\"x\"}",
             pkjwt_alg_name(cases[i].alg), cases[i].typ ? cases[i].typ : "JWT");
    char *h = b64url_str(hj);
    char *t = with_part(jws, 0, h);
    r = verify(t, *cases[i].key, &v);
    ck_assert_msg(!r->valid, "tampered header %zu accepted", i);
    ck_assert_int_eq(r->signature.verdict, PKJWT_VERDICT_FAILED);
    ck_assert_int_eq(r->alg_allowed.verdict, PKJWT_VERDICT_OK);
    pkjwt_verify_result_free(r);
    free(t);
    free(h);

    /* claims: a later exp, all else fine */
    char *c = b64url_str("{\"iss\":\"" CLIENT "\",\"sub\":\"" CLIENT
                         "\",\"aud\":\"" AUD
                         "\",\"iat\":1700000000,\"exp\":1799999999}");
    t = with_part(jws, 1, c);
    r = verify(t, *cases[i].key, &v);
    ck_assert_msg(!r->valid, "tampered claims %zu accepted", i);
    ck_assert_int_eq(r->signature.verdict, PKJWT_VERDICT_FAILED);
    ck_assert_int_eq(r->exp.verdict, PKJWT_VERDICT_OK);
    pkjwt_verify_result_free(r);
    free(t);
    free(c);

    /* signature: one bit of the first byte */
    const char *dot = strrchr(jws, '.');
    unsigned char *sig;
    size_t sl;
    ck_assert_int_eq(pkjwt__b64url_decode(&sig, &sl, dot + 1, strlen(dot + 1)),
                     0);
    sig[0] ^= 0x01;
    char *s64 = malloc(PKJWT__B64URL_LEN(sl) + 1);
    pkjwt__b64url_encode(s64, sig, sl);
    t = with_part(jws, 2, s64);
    r = verify(t, *cases[i].key, &v);
    ck_assert_msg(!r->valid, "tampered signature %zu accepted", i);
    ck_assert_int_eq(r->signature.verdict, PKJWT_VERDICT_FAILED);
    pkjwt_verify_result_free(r);
    free(t);
    /* and a signature cut short */
    s64[strlen(s64) - 4] = '\0';
    t = with_part(jws, 2, s64);
    r = verify(t, *cases[i].key, &v);
    ck_assert_int_eq(r->signature.verdict, PKJWT_VERDICT_FAILED);
    pkjwt_verify_result_free(r);
    free(t);
    free(s64);
    free(sig);
    pkjwt_str_free(jws);
  }
}
END_TEST

START_TEST(time_checks) {
  char *jws = sign_at(ec256, PKJWT_ALG_ES256, NOW, 1, NULL); /* exp NOW+60 */
  pkjwt_verify_options v = vopts(NOW + 59);
  pkjwt_verify_result *r = verify(jws, ec256, &v);
  ck_assert(r->valid);
  pkjwt_verify_result_free(r);

  v.now = NOW + 60; /* at exp: expired (RFC 7519 4.1.4: before exp) */
  r = verify(jws, ec256, &v);
  ck_assert(!r->valid);
  ck_assert_int_eq(r->exp.verdict, PKJWT_VERDICT_FAILED);
  ck_assert_str_eq(r->exp.detail,
                   "expired 0 s ago (exp 1700000060, leeway 0 s)");
  ck_assert_int_eq(r->signature.verdict, PKJWT_VERDICT_OK);
  pkjwt_verify_result_free(r);

  v.leeway = 30;
  v.now = NOW + 89;
  r = verify(jws, ec256, &v);
  ck_assert(r->valid);
  pkjwt_verify_result_free(r);
  v.now = NOW + 90;
  r = verify(jws, ec256, &v);
  ck_assert(!r->valid);
  pkjwt_verify_result_free(r);

  /* not yet valid: nbf and iat in the future */
  v.leeway = 0;
  v.now = NOW - 10;
  r = verify(jws, ec256, &v);
  ck_assert(!r->valid);
  ck_assert_int_eq(r->nbf.verdict, PKJWT_VERDICT_FAILED);
  ck_assert_int_eq(r->iat.verdict, PKJWT_VERDICT_FAILED);
  ck_assert_int_eq(r->exp.verdict, PKJWT_VERDICT_OK);
  pkjwt_verify_result_free(r);
  v.leeway = 10;
  r = verify(jws, ec256, &v);
  ck_assert(r->valid);
  pkjwt_verify_result_free(r);
  pkjwt_str_free(jws);

  /* without nbf, iat alone says "not yet" */
  jws = sign_at(ec256, PKJWT_ALG_ES256, NOW, 0, NULL);
  v = vopts(NOW - 1);
  r = verify(jws, ec256, &v);
  ck_assert_int_eq(r->nbf.verdict, PKJWT_VERDICT_NOT_CHECKED);
  ck_assert_int_eq(r->iat.verdict, PKJWT_VERDICT_FAILED);
  ck_assert(!r->valid);
  pkjwt_verify_result_free(r);
  pkjwt_str_free(jws);

  /* exp missing or not a number */
  char *t = craft("ec256.pem", "{\"alg\":\"ES256\"}",
                  "{\"iss\":\"" CLIENT "\",\"sub\":\"" CLIENT
                  "\",\"aud\":\"" AUD "\"}");
  v = vopts(NOW);
  r = verify(t, ec256, &v);
  ck_assert_int_eq(r->signature.verdict, PKJWT_VERDICT_OK);
  ck_assert_int_eq(r->exp.verdict, PKJWT_VERDICT_FAILED);
  ck_assert_str_eq(r->exp.detail, "exp is missing");
  pkjwt_verify_result_free(r);
  free(t);
  t = craft("ec256.pem", "{\"alg\":\"ES256\"}",
            "{\"iss\":\"" CLIENT "\",\"sub\":\"" CLIENT "\",\"aud\":\"" AUD
            "\",\"exp\":\"1800000000\"}");
  r = verify(t, ec256, &v);
  ck_assert_int_eq(r->exp.verdict, PKJWT_VERDICT_FAILED);
  pkjwt_verify_result_free(r);
  free(t);
}
END_TEST

/* ---- hostile headers and times (issue 12) ---------------------------------
 */

/* A compact RS256 JWS of header and claims exactly as given, signed with
 * OpenSSL's EVP_DigestSign: jwcrypto refuses to sign an unknown crit. */
static char *sign_raw(const char *header, const char *claims) {
  char *h = b64url_str(header), *c = b64url_str(claims);
  size_t n = strlen(h) + strlen(c) + 2;
  char *input = malloc(n);
  ck_assert_ptr_nonnull(input);
  snprintf(input, n, "%s.%s", h, c);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  size_t slen = 0;
  ck_assert_int_eq(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, rsa->pkey),
                   1);
  ck_assert_int_eq(
      EVP_DigestSign(md, NULL, &slen, (unsigned char *)input, strlen(input)),
      1);
  unsigned char *sig = malloc(slen);
  ck_assert_int_eq(
      EVP_DigestSign(md, sig, &slen, (unsigned char *)input, strlen(input)), 1);
  EVP_MD_CTX_free(md);
  char *s64 = malloc(PKJWT__B64URL_LEN(slen) + 1);
  pkjwt__b64url_encode(s64, sig, slen);
  size_t m = strlen(input) + strlen(s64) + 2;
  char *out = malloc(m);
  snprintf(out, m, "%s.%s", input, s64);
  free(h);
  free(c);
  free(input);
  free(sig);
  free(s64);
  return out;
}

#define GOOD_CLAIMS                                                            \
  "{\"iss\":\"" CLIENT "\",\"sub\":\"" CLIENT "\",\"aud\":\"" AUD              \
  "\",\"exp\":1700000060,\"iat\":1700000000,\"jti\":\"j\"}"

START_TEST(crit_and_b64_refused) {
  pkjwt_verify_options v = vopts(NOW);
  /* the signer is right: a plain header verifies */
  char *t = sign_raw("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", GOOD_CLAIMS);
  pkjwt_verify_result *r = verify(t, rsa, &v);
  ck_assert_msg(r->valid, "%s", r->signature.detail);
  pkjwt_verify_result_free(r);
  free(t);
  static const char *const heads[] = {
      "{\"alg\":\"RS256\",\"crit\":[\"x-must-understand\"],"
      "\"x-must-understand\":1}",
      "{\"alg\":\"RS256\",\"crit\":[\"b64\",\"x-must-understand\"],"
      "\"b64\":false,\"x-must-understand\":1}",
      "{\"alg\":\"RS256\",\"crit\":[\"b64\"],\"b64\":true}",
      "{\"alg\":\"RS256\",\"crit\":[]}",
      "{\"alg\":\"RS256\",\"b64\":false}",
  };
  for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
    t = sign_raw(heads[i], GOOD_CLAIMS);
    r = verify(t, rsa, &v);
    ck_assert_msg(!r->valid, "valid with %s", heads[i]);
    ck_assert_int_eq(r->signature.verdict, PKJWT_VERDICT_FAILED);
    ck_assert_msg(strstr(r->signature.detail, "crit") ||
                      strstr(r->signature.detail, "b64"),
                  "%s", r->signature.detail);
    pkjwt_verify_result_free(r);
    free(t);
  }
}
END_TEST

/* jku and x5u point at a listening loopback socket that must see no
 * connection; kid names a FIFO that would block whoever opened it. */
START_TEST(jku_x5u_kid_never_followed) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(fd, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof(a);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  ck_assert_int_eq(listen(fd, 4), 0);
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
  char *fifo = test_path(dir, "kid-fifo");
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  char head[1024];
  snprintf(head, sizeof(head),
           "{\"alg\":\"RS256\",\"jku\":\"http://127.0.0.1:%d/jwks\","
           "\"x5u\":\"http://127.0.0.1:%d/c.pem\",\"kid\":\"%s\"}",
           ntohs(a.sin_port), ntohs(a.sin_port), fifo);
  char *t = sign_raw(head, GOOD_CLAIMS);
  pkjwt_verify_options v = vopts(NOW);
  /* the right key: valid, the headers changed nothing */
  pkjwt_verify_result *r = verify(t, rsa, &v);
  ck_assert(r->valid);
  pkjwt_verify_result_free(r);
  /* a wrong key: refused, no key fetched or read in its place */
  r = verify(t, ec256, &v);
  ck_assert(!r->valid);
  pkjwt_verify_result_free(r);
  ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
  ck_assert_int_lt(accept(fd, NULL, NULL), 0);
  ck_assert_int_eq(errno, EAGAIN);
  close(fd);
  free(t);
  free(fifo);
}
END_TEST

static pkjwt_verify_result *verify_times(const char *exp, const char *nbf,
                                         const char *iat, int64_t now) {
  char claims[512];
  snprintf(claims, sizeof(claims),
           "{\"iss\":\"" CLIENT "\",\"sub\":\"" CLIENT "\",\"aud\":\"" AUD
           "\",\"exp\":%s,\"nbf\":%s,\"iat\":%s}",
           exp, nbf, iat);
  char *t = sign_raw("{\"alg\":\"RS256\"}", claims);
  pkjwt_verify_options v = vopts(now);
  pkjwt_verify_result *r = verify(t, rsa, &v);
  free(t);
  return r;
}

START_TEST(absurd_times) {
  static const char *const absurd[] = {
      "9223372036854775807",
      "-9223372036854775808",
      "253402300800",
      "-1",
      "9e15",
  };
  for (size_t i = 0; i < sizeof(absurd) / sizeof(absurd[0]); i++) {
    pkjwt_verify_result *r =
        verify_times(absurd[i], "1700000000", "1700000000", NOW);
    ck_assert_msg(!r->valid, "exp %s accepted: %s", absurd[i], r->exp.detail);
    ck_assert_int_eq(r->exp.verdict, PKJWT_VERDICT_FAILED);
    if (i < 4)
      ck_assert_msg(strstr(r->exp.detail, "absurd"), "%s", r->exp.detail);
    pkjwt_verify_result_free(r);
    r = verify_times("1700000060", absurd[i], absurd[i], NOW);
    ck_assert(!r->valid);
    ck_assert_int_eq(r->nbf.verdict, PKJWT_VERDICT_FAILED);
    ck_assert_int_eq(r->iat.verdict, PKJWT_VERDICT_FAILED);
    pkjwt_verify_result_free(r);
  }
  /* the last second of 9999 is a time; and an injected clock at the ends of
   * int64 saturates instead of overflowing */
  pkjwt_verify_result *r = verify_times("253402300799", "0", "1700000000", NOW);
  ck_assert_msg(r->valid, "%s", r->exp.detail);
  pkjwt_verify_result_free(r);
  r = verify_times("253402300799", "0", "0", INT64_MIN);
  ck_assert(!r->valid);
  ck_assert_str_eq(r->exp.detail, "expires in 9223372036854775807 s");
  ck_assert_int_eq(r->nbf.verdict, PKJWT_VERDICT_FAILED);
  pkjwt_verify_result_free(r);
  r = verify_times("1", "0", "0", INT64_MAX);
  ck_assert_int_eq(r->exp.verdict, PKJWT_VERDICT_FAILED);
  ck_assert_str_eq(r->exp.detail,
                   "expired 9223372036854775806 s ago (exp 1, leeway 0 s)");
  ck_assert_str_eq(r->iat.detail, "issued 9223372036854775807 s ago");
  pkjwt_verify_result_free(r);
}
END_TEST

START_TEST(assertion_too_long) {
  size_t n = PKJWT__ASSERTION_MAX + 1;
  char *big = malloc(n + 1);
  ck_assert_ptr_nonnull(big);
  memset(big, 'a', n);
  big[10] = '.';
  big[20] = '.';
  big[n] = '\0';
  pkjwt_verify_options v = vopts(NOW);
  pkjwt_verify_result *r = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_assertion_verify(&r, big, rsa, &v, &e),
                   PKJWT_ERR_PARSE);
  ck_assert_ptr_null(r);
  ck_assert_ptr_nonnull(strstr(e.message, "longer than 1048576"));
  big[n - 1] = '\0'; /* at the limit: read, and refused for what it is */
  ck_assert_int_eq(pkjwt_assertion_verify(&r, big, rsa, &v, &e),
                   PKJWT_ERR_PARSE);
  ck_assert_ptr_null(strstr(e.message, "longer than"));
  pkjwt_verify_result_free(r);
  free(big);
}
END_TEST

START_TEST(aud_and_iss_sub) {
  char *jws = sign_at(ec256, PKJWT_ALG_ES256, NOW, 0, NULL);
  pkjwt_verify_options v = vopts(NOW);
  v.audience = "https://app.puzzel.com/id";
  pkjwt_verify_result *r = verify(jws, ec256, &v);
  ck_assert(!r->valid);
  ck_assert_int_eq(r->aud.verdict, PKJWT_VERDICT_FAILED);
  ck_assert_int_eq(r->signature.verdict, PKJWT_VERDICT_OK);
  pkjwt_verify_result_free(r);
  /* no expected audience: present, not compared, still valid */
  v.audience = NULL;
  r = verify(jws, ec256, &v);
  ck_assert(r->valid);
  ck_assert_int_eq(r->aud.verdict, PKJWT_VERDICT_NOT_CHECKED);
  pkjwt_verify_result_free(r);
  v = vopts(NOW);
  v.client_id = "client-8";
  r = verify(jws, ec256, &v);
  ck_assert(!r->valid);
  ck_assert_int_eq(r->iss_sub.verdict, PKJWT_VERDICT_FAILED);
  pkjwt_verify_result_free(r);
  pkjwt_str_free(jws);

  /* aud as an array holding the audience */
  v = vopts(NOW);
  char *t = craft("ec256.pem", "{\"alg\":\"ES256\",\"typ\":\"JWT\"}",
                  "{\"iss\":\"" CLIENT "\",\"sub\":\"" CLIENT
                  "\",\"aud\":[\"https://x.example\",\"" AUD
                  "\"],\"exp\":1700000060}");
  r = verify(t, ec256, &v);
  ck_assert_msg(r->valid, "%s", r->aud.detail);
  pkjwt_verify_result_free(r);
  free(t);
  /* an array without it, an empty array, a number, none at all */
  static const char *bad_aud[] = {",\"aud\":[\"https://x.example\"]",
                                  ",\"aud\":[]", ",\"aud\":7", ""};
  for (size_t i = 0; i < 4; i++) {
    char claims[256];
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"" CLIENT "\",\"sub\":\"" CLIENT
             "\"%s,\"exp\":1700000060}",
             bad_aud[i]);
    t = craft("ec256.pem", "{\"alg\":\"ES256\"}", claims);
    r = verify(t, ec256, &v);
    ck_assert_msg(!r->valid, "aud case %zu accepted", i);
    ck_assert_int_eq(r->aud.verdict, PKJWT_VERDICT_FAILED);
    pkjwt_verify_result_free(r);
    free(t);
  }
  /* iss and sub differ */
  t = craft("ec256.pem", "{\"alg\":\"ES256\"}",
            "{\"iss\":\"" CLIENT "\",\"sub\":\"someone\",\"aud\":\"" AUD
            "\",\"exp\":1700000060}");
  v.client_id = NULL;
  r = verify(t, ec256, &v);
  ck_assert(!r->valid);
  ck_assert_int_eq(r->iss_sub.verdict, PKJWT_VERDICT_FAILED);
  ck_assert_int_eq(r->signature.verdict, PKJWT_VERDICT_OK);
  pkjwt_verify_result_free(r);
  free(t);
}
END_TEST

START_TEST(typ_expected) {
  char *jws = sign_at(ec256, PKJWT_ALG_ES256, NOW, 0, PKJWT_TYP_CLIENT_AUTH);
  pkjwt_verify_options v = vopts(NOW);
  v.typ = "application/client-authentication+JWT";
  pkjwt_verify_result *r = verify(jws, ec256, &v);
  ck_assert_msg(r->valid, "%s / %s", r->typ.detail, r->signature.detail);
  ck_assert_int_eq(r->typ.verdict, PKJWT_VERDICT_OK);
  /* libjwt 1.10.2 refuses typ other than JWT: OpenSSL judges */
  ck_assert_str_eq(r->verifier, "openssl");
  pkjwt_verify_result_free(r);
  v.typ = "JWT";
  r = verify(jws, ec256, &v);
  ck_assert(!r->valid);
  ck_assert_int_eq(r->typ.verdict, PKJWT_VERDICT_FAILED);
  pkjwt_verify_result_free(r);
  pkjwt_str_free(jws);

  /* the libjwt limitation itself, so that the day it goes this test says */
  jws = sign_at(ec256, PKJWT_ALG_ES256, NOW, 0, PKJWT_TYP_CLIENT_AUTH);
  char *pem = NULL;
  ck_assert_int_eq(pkjwt_key_public_pem(&pem, ec256, NULL), PKJWT_OK);
  jwt_t *j = NULL;
  ck_assert_int_ne(
      jwt_decode(&j, jws, (const unsigned char *)pem, (int)strlen(pem)), 0);
  pkjwt_str_free(pem);
  pkjwt_str_free(jws);
}
END_TEST

START_TEST(none_and_hmac_refused) {
  pkjwt_verify_options v = vopts(NOW);
  char *h = b64url_str("{\"alg\":\"none\",\"typ\":\"JWT\"}");
  char *c = b64url_str("{\"iss\":\"" CLIENT "\",\"sub\":\"" CLIENT
                       "\",\"aud\":\"" AUD "\",\"exp\":1700000060}");
  size_t n = strlen(h) + strlen(c) + 3;
  char *none = malloc(n);
  snprintf(none, n, "%s.%s.", h, c);
  pkjwt_verify_result *r = verify(none, ec256, &v);
  ck_assert(!r->valid);
  ck_assert_int_eq(r->alg_allowed.verdict, PKJWT_VERDICT_FAILED);
  ck_assert_int_eq(r->signature.verdict, PKJWT_VERDICT_FAILED);
  ck_assert_str_eq(r->verifier, "none");
  ck_assert_int_eq(r->aud.verdict, PKJWT_VERDICT_OK); /* claims still judged */
  pkjwt_verify_result_free(r);
  free(none);
  free(h);

  /* HS256 keyed with the public PEM: the classic key-confusion forgery */
  char *pem = NULL;
  ck_assert_int_eq(pkjwt_key_public_pem(&pem, ec256, NULL), PKJWT_OK);
  h = b64url_str("{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
  n = strlen(h) + strlen(c) + 2;
  char *input = malloc(n + 1);
  snprintf(input, n + 1, "%s.%s.", h, c);
  unsigned char mac[32];
  unsigned int ml = 0;
  ck_assert_ptr_nonnull(HMAC(EVP_sha256(), pem, (int)strlen(pem),
                             (const unsigned char *)input, strlen(input) - 1,
                             mac, &ml));
  char m64[64];
  pkjwt__b64url_encode(m64, mac, ml);
  char *hs = with_part(input, 2, m64); /* input has no third part yet */
  r = verify(hs, ec256, &v);
  free(hs);
  ck_assert(!r->valid);
  ck_assert_int_eq(r->alg_allowed.verdict, PKJWT_VERDICT_FAILED);
  ck_assert_ptr_nonnull(strstr(r->alg_allowed.detail, "HS256"));
  ck_assert_int_eq(r->signature.verdict, PKJWT_VERDICT_FAILED);
  pkjwt_verify_result_free(r);
  free(input);
  free(h);
  free(c);
  pkjwt_str_free(pem);
}
END_TEST

/* libjwt 1.10.2 reads ES signatures as raw R||S (RFC 7518 3.4) and refuses
 * DER; we refuse DER as well. */
START_TEST(libjwt_es_is_raw_r_s) {
  char *jws = sign_at(ec256, PKJWT_ALG_ES256, NOW, 0, NULL);
  const char *dot = strrchr(jws, '.');
  unsigned char *raw;
  size_t rl;
  ck_assert_int_eq(pkjwt__b64url_decode(&raw, &rl, dot + 1, strlen(dot + 1)),
                   0);
  ck_assert_uint_eq(rl, 64);
  ECDSA_SIG *es = ECDSA_SIG_new();
  ck_assert(ECDSA_SIG_set0(es, BN_bin2bn(raw, 32, NULL),
                           BN_bin2bn(raw + 32, 32, NULL)) == 1);
  unsigned char *der = NULL;
  int dl = i2d_ECDSA_SIG(es, &der);
  ck_assert_int_gt(dl, 0);
  char d64[128];
  pkjwt__b64url_encode(d64, der, (size_t)dl);
  char *t = with_part(jws, 2, d64);

  char *pem = NULL;
  ck_assert_int_eq(pkjwt_key_public_pem(&pem, ec256, NULL), PKJWT_OK);
  jwt_t *j = NULL;
  ck_assert_int_eq(
      jwt_decode(&j, jws, (const unsigned char *)pem, (int)strlen(pem)), 0);
  jwt_free(j);
  j = NULL;
  ck_assert_int_ne(
      jwt_decode(&j, t, (const unsigned char *)pem, (int)strlen(pem)), 0);
  pkjwt_verify_options v = vopts(NOW);
  pkjwt_verify_result *r = verify(t, ec256, &v);
  ck_assert_int_eq(r->signature.verdict, PKJWT_VERDICT_FAILED);
  pkjwt_verify_result_free(r);

  pkjwt_str_free(pem);
  free(t);
  OPENSSL_free(der);
  ECDSA_SIG_free(es);
  free(raw);
  pkjwt_str_free(jws);
}
END_TEST

/* ---- decode, arguments, JSON report ------------------------------------ */

START_TEST(decode_parts) {
  char *jws = sign_at(ec256, PKJWT_ALG_ES256, NOW, 0, NULL);
  char *h = NULL, *c = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_assertion_decode(&h, &c, jws, &e), PKJWT_OK);
  ck_assert_msg(
      strncmp(h, "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"", 34) == 0,
      "%s", h);
  static const char want_c[] = "{\"iss\":\"" CLIENT "\",\"sub\":";
  ck_assert_msg(strncmp(c, want_c, sizeof(want_c) - 1) == 0, "%s", c);
  pkjwt_str_free(h);
  pkjwt_str_free(c);
  /* one part only */
  ck_assert_int_eq(pkjwt_assertion_decode(NULL, &c, jws, &e), PKJWT_OK);
  pkjwt_str_free(c);
  pkjwt_str_free(jws);

  const struct {
    const char *jws;
    int code;
  } bad[] = {
      {"", PKJWT_ERR_PARSE},
      {"abc", PKJWT_ERR_PARSE},
      {"a.b", PKJWT_ERR_PARSE},
      {"a.b.c.d", PKJWT_ERR_PARSE},
      {".e30.x", PKJWT_ERR_PARSE},
      {"e30..x", PKJWT_ERR_PARSE},
      {"e3=.e30.x", PKJWT_ERR_PARSE},
      {"bm9wZQ.e30.x", PKJWT_ERR_JSON},             /* "nope" */
      {"WzFd.e30.x", PKJWT_ERR_JSON},               /* [1] */
      {"eyJhIjoxLCJhIjoyfQ.e30.x", PKJWT_ERR_JSON}, /* {"a":1,"a":2} */
      {"e30.eyJhIjoxLCJhIjoyfQ.x", PKJWT_ERR_JSON}, /* duplicate claim */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    h = c = (char *)"x";
    ck_assert_int_eq(pkjwt_assertion_decode(&h, &c, bad[i].jws, &e),
                     bad[i].code);
    ck_assert_ptr_null(h);
    ck_assert_ptr_null(c);
    pkjwt_verify_result *r = (pkjwt_verify_result *)1;
    ck_assert_int_eq(pkjwt_assertion_verify(&r, bad[i].jws, ec256, NULL, &e),
                     bad[i].code);
    ck_assert_ptr_null(r);
  }
}
END_TEST

START_TEST(bad_arguments) {
  char *jws = sign_at(ec256, PKJWT_ALG_ES256, NOW, 0, NULL);
  pkjwt_verify_result *r = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_assertion_verify(NULL, jws, ec256, NULL, &e),
                   PKJWT_ERR_INVALID_ARG);
  ck_assert_int_eq(pkjwt_assertion_verify(&r, NULL, ec256, NULL, &e),
                   PKJWT_ERR_INVALID_ARG);
  ck_assert_int_eq(pkjwt_assertion_verify(&r, jws, NULL, NULL, &e),
                   PKJWT_ERR_INVALID_ARG);
  pkjwt_verify_options v = vopts(NOW);
  v.version = 7;
  ck_assert_int_eq(pkjwt_assertion_verify(&r, jws, ec256, &v, &e),
                   PKJWT_ERR_INVALID_ARG);
  v = vopts(NOW);
  v.leeway = -1;
  ck_assert_int_eq(pkjwt_assertion_verify(&r, jws, ec256, &v, &e),
                   PKJWT_ERR_INVALID_ARG);
  ck_assert_ptr_null(r);
  pkjwt_verify_result_free(NULL);
  ck_assert_str_eq(pkjwt_verdict_name(PKJWT_VERDICT_OK), "ok");
  ck_assert_str_eq(pkjwt_verdict_name(PKJWT_VERDICT_FAILED), "failed");
  ck_assert_str_eq(pkjwt_verdict_name(PKJWT_VERDICT_NOT_CHECKED),
                   "not checked");
  pkjwt_str_free(jws);
}
END_TEST

START_TEST(result_as_json) {
  char *jws = sign_at(ec256, PKJWT_ALG_ES256, NOW, 0, NULL);
  pkjwt_verify_options v = vopts(NOW + 100);
  pkjwt_verify_result *r = verify(jws, ec256, &v);
  char *s = NULL;
  ck_assert_int_eq(pkjwt_verify_result_json(&s, r, NULL), PKJWT_OK);
  ck_assert_ptr_null(strchr(s, '\n'));
  json_error_t je;
  json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, &je);
  ck_assert_msg(j != NULL, "%s", je.text);
  ck_assert(json_is_false(json_object_get(j, "valid")));
  ck_assert_str_eq(json_string_value(json_object_get(j, "alg")), "ES256");
  ck_assert_str_eq(json_string_value(json_object_get(j, "verifier")), "libjwt");
  ck_assert_str_eq(
      json_string_value(json_object_get(json_object_get(j, "claims"), "iss")),
      CLIENT);
  json_t *checks = json_object_get(j, "checks");
  ck_assert_uint_eq(json_object_size(checks), 9);
  ck_assert_str_eq(json_string_value(json_object_get(
                       json_object_get(checks, "exp"), "verdict")),
                   "failed");
  ck_assert_str_eq(json_string_value(json_object_get(
                       json_object_get(checks, "signature"), "verdict")),
                   "ok");
  json_decref(j);
  pkjwt_str_free(s);
  pkjwt_verify_result_free(r);
  pkjwt_str_free(jws);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("verify");
  TCase *tc = tcase_create("core");
  tcase_add_unchecked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, every_alg_round_trips);
  tcase_add_test(tc, without_libjwt);
  tcase_add_test(tc, es256_many_verify);
  tcase_add_test(tc, any_public_key_handle_verifies);
  tcase_add_test(tc, wrong_key_refused);
  tcase_add_test(tc, tampering_refused);
  tcase_add_test(tc, time_checks);
  tcase_add_test(tc, aud_and_iss_sub);
  tcase_add_test(tc, typ_expected);
  tcase_add_test(tc, none_and_hmac_refused);
  tcase_add_test(tc, libjwt_es_is_raw_r_s);
  tcase_add_test(tc, decode_parts);
  tcase_add_test(tc, bad_arguments);
  tcase_add_test(tc, result_as_json);
  tcase_add_test(tc, crit_and_b64_refused);
  tcase_add_test(tc, jku_x5u_kid_never_followed);
  tcase_add_test(tc, absurd_times);
  tcase_add_test(tc, assertion_too_long);
  suite_add_tcase(s, tc);
  return s;
}

PKJWT_TEST_MAIN(make_suite)
