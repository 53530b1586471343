/*
 * tests/check_hostile.c: inputs an attacker would write (issue 12). Key
 * files whose key derivation would run for minutes, RSA keys with absurd
 * exponents. The hostile files are built at test time by the openssl CLI
 * (`asn1parse -genconf`), which writes any DER asked for without running a
 * key derivation, so no test here pays for one: a file over a limit must be
 * refused in milliseconds, and a file just under it must reach OpenSSL's
 * decryption (which fails: the ciphertext is junk) to show that the
 * structure is one OpenSSL reads, so the limit is what refused its twin.
 */
#include "testutil.h"

#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <jansson.h>

#include "bounds.h"
#include "http.h"
#include "internal.h"
#include "oauth.h"
#include "profile.h"

static char *dir;

static void setup(void) {
  dir = test_tmpdir();
}
static void teardown(void) {
  test_rmtree(dir);
  free(dir);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The DER that `openssl asn1parse -genconf` makes of conf, and, when pem,
 * as PEM with the label ENCRYPTED PRIVATE KEY (written by openssl base64).
 * The caller frees. */
static char *genconf(size_t *len, const char *conf, int pem) {
  char *cf = test_path(dir, "gen.cnf"), *der = test_path(dir, "gen.der");
  ck_assert_int_eq(test_write_file(cf, conf, strlen(conf)), 0);
  char *out = NULL;
  int st = test_sh(&out, "'%s' asn1parse -genconf '%s' -out '%s' -noout 2>&1",
                   test_openssl(), cf, der);
  ck_assert_msg(st == 0, "openssl asn1parse -genconf failed: %s", out);
  free(out);
  char *data;
  if (pem) {
    st = test_sh(&data,
                 "{ echo '-----BEGIN ENCRYPTED PRIVATE KEY-----'; '%s' base64 "
                 "-in '%s'; echo '-----END ENCRYPTED PRIVATE KEY-----'; }",
                 test_openssl(), der);
    ck_assert_int_eq(st, 0);
    *len = strlen(data);
  } else {
    data = test_read_file(der, len);
  }
  ck_assert_ptr_nonnull(data);
  free(cf);
  free(der);
  return data;
}

static const char epki_head[] =
    "asn1=SEQUENCE:epki\n"
    "[epki]\nalg=SEQUENCE:algid\n"
    "data=FORMAT:HEX,OCTETSTRING:"
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";

/* PBES2 + PBKDF2-HMAC-SHA256 + AES-256-CBC with iter iterations. */
static char *pbkdf2_key(size_t *len, unsigned long long iter, int pem) {
  char conf[2048];
  snprintf(conf, sizeof(conf),
           "%s[algid]\noid=OID:1.2.840.113549.1.5.13\nparams=SEQUENCE:pbes2\n"
           "[pbes2]\nkdf=SEQUENCE:kdf\nenc=SEQUENCE:enc\n"
           "[kdf]\noid=OID:1.2.840.113549.1.5.12\np=SEQUENCE:pbkdf2\n"
           "[pbkdf2]\nsalt=FORMAT:HEX,OCTETSTRING:"
           "00112233445566778899aabbccddeeff\n"
           "iter=INTEGER:%llu\nprf=SEQUENCE:prf\n"
           "[prf]\noid=OID:1.2.840.113549.2.9\nnull=NULL\n"
           "[enc]\noid=OID:2.16.840.1.101.3.4.1.42\n"
           "iv=FORMAT:HEX,OCTETSTRING:00112233445566778899aabbccddeeff\n",
           epki_head, iter);
  return genconf(len, conf, pem);
}

/* PBES2 + scrypt + AES-256-CBC with N, r, p. */
static char *scrypt_key(size_t *len, unsigned long long n, unsigned long long r,
                        unsigned long long p) {
  char conf[2048];
  snprintf(conf, sizeof(conf),
           "%s[algid]\noid=OID:1.2.840.113549.1.5.13\nparams=SEQUENCE:pbes2\n"
           "[pbes2]\nkdf=SEQUENCE:kdf\nenc=SEQUENCE:enc\n"
           "[kdf]\noid=OID:1.3.6.1.4.1.11591.4.11\np=SEQUENCE:scrypt\n"
           "[scrypt]\nsalt=FORMAT:HEX,OCTETSTRING:"
           "00112233445566778899aabbccddeeff\n"
           "n=INTEGER:%llu\nr=INTEGER:%llu\np=INTEGER:%llu\n"
           "[enc]\noid=OID:2.16.840.1.101.3.4.1.42\n"
           "iv=FORMAT:HEX,OCTETSTRING:00112233445566778899aabbccddeeff\n",
           epki_head, n, r, p);
  return genconf(len, conf, 0);
}

/* PKCS#12 pbeWithSHAAnd3-KeyTripleDES-CBC (PBEParameter: salt, iter). */
static char *pkcs12_pbe_key(size_t *len, unsigned long long iter) {
  char conf[1024];
  snprintf(conf, sizeof(conf),
           "%s[algid]\noid=OID:1.2.840.113549.1.12.1.3\nparams=SEQUENCE:pbe\n"
           "[pbe]\nsalt=FORMAT:HEX,OCTETSTRING:0011223344556677\n"
           "iter=INTEGER:%llu\n",
           epki_head, iter);
  return genconf(len, conf, 0);
}

/* Loads data with a passphrase; returns the code, err filled, and the
 * seconds it took in *secs. */
static int load(pkjwt_error *e, double *secs, const char *data, size_t len) {
  pkjwt_key *k = NULL;
  double t0 = now_s();
  int rc = pkjwt_key_load_mem(&k, data, len, "any passphrase", e);
  *secs = now_s() - t0;
  ck_assert_ptr_null(k);
  return rc;
}

/* Over the limit: refused before any derivation, naming the limit and the
 * way out. The same structure under the limit reaches the decryption. */
static void refused_fast(const char *data, size_t len, const char *limit) {
  pkjwt_error e = PKJWT_ERROR_INIT;
  double secs;
  int rc = load(&e, &secs, data, len);
  ck_assert_msg(rc == PKJWT_ERR_KEY_TYPE, "code %d: %s", rc, e.message);
  ck_assert_msg(secs < 0.5, "took %.2f s: the derivation ran", secs);
  ck_assert_msg(strstr(e.message, limit) != NULL, "no limit %s in: %s", limit,
                e.message);
  ck_assert_msg(strstr(e.message, "openssl pkcs8 -topk8") != NULL,
                "no way out in: %s", e.message);
  ck_assert_ptr_null(strchr(e.message, '\n'));
}

static void reaches_decryption(const char *data, size_t len) {
  pkjwt_error e = PKJWT_ERROR_INIT;
  double secs;
  int rc = load(&e, &secs, data, len);
  ck_assert_msg(rc == PKJWT_ERR_PASSPHRASE, "code %d: %s", rc, e.message);
}

START_TEST(pbkdf2_over_limit) {
  size_t n;
  for (int pem = 0; pem <= 1; pem++) {
    char *k = pbkdf2_key(&n, PKJWT__PBKDF2_MAX_ITERATIONS + 1, pem);
    refused_fast(k, n, "10000000");
    free(k);
  }
  /* 2^31-1 (17 minutes before the limit) and a count past 64 bits */
  char *k = pbkdf2_key(&n, 2147483647ULL, 0);
  refused_fast(k, n, "10000000");
  free(k);
  for (int pem = 0; pem <= 1; pem++) {
    k = pbkdf2_key(&n, 1, pem);
    reaches_decryption(k, n);
    free(k);
  }
}
END_TEST

START_TEST(scrypt_over_limit) {
  size_t n;
  /* N*r*p = 2^22 + 4096: tiny memory, a few seconds without the limit */
  char *k = scrypt_key(&n, 4096, 1, 1025);
  refused_fast(k, n, "4194304");
  free(k);
  /* The 40-minute file: N=2^16, r=2, p=32767 */
  k = scrypt_key(&n, 65536, 2, 32767);
  refused_fast(k, n, "4194304");
  free(k);
  /* N*r*p under the limit, memory over it: 128 * 8 * (2^15 + 3) > 32 MiB */
  k = scrypt_key(&n, 32768, 8, 1);
  refused_fast(k, n, "32 MiB");
  free(k);
  /* A factor past 2^64 / cap: the products must not wrap around */
  k = scrypt_key(&n, 1ULL << 62, 1ULL << 62, 1ULL << 62);
  refused_fast(k, n, "4194304");
  free(k);
  k = scrypt_key(&n, 16, 1, 1);
  reaches_decryption(k, n);
  free(k);
}
END_TEST

START_TEST(pkcs12_pbe_over_limit) {
  size_t n;
  char *k = pkcs12_pbe_key(&n, PKJWT__PBKDF2_MAX_ITERATIONS + 1);
  refused_fast(k, n, "10000000");
  free(k);
  k = pkcs12_pbe_key(&n, 1);
  reaches_decryption(k, n);
  free(k);
}
END_TEST

/* ---- RSA exponents ------------------------------------------------------ */

/* A DER SubjectPublicKeyInfo of n (from the example key) and e (hex). */
static unsigned char *rsa_spki(int *len, const char *e_hex) {
  char *path = test_path(test_srcdir(), "keys-example/rsa-3072.key");
  pkjwt_key *k = NULL;
  ck_assert_int_eq(pkjwt_key_load_file(&k, path, NULL, NULL), PKJWT_OK);
  free(path);
  BIGNUM *n = NULL, *e = NULL;
  ck_assert_int_eq(EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_N, &n),
                   1);
  ck_assert_int_ne(BN_hex2bn(&e, e_hex), 0);
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
  OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
  EVP_PKEY *pkey = NULL;
  ck_assert_int_eq(EVP_PKEY_fromdata_init(ctx), 1);
  ck_assert_int_eq(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params),
                   1);
  unsigned char *der = NULL;
  *len = i2d_PUBKEY(pkey, &der);
  ck_assert_int_gt(*len, 0);
  EVP_PKEY_free(pkey);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(n);
  BN_free(e);
  pkjwt_key_free(k);
  return der;
}

static int load_spki(const char *e_hex, pkjwt_error *e) {
  int len;
  unsigned char *der = rsa_spki(&len, e_hex);
  pkjwt_key *k = NULL;
  int rc = pkjwt_key_load_mem(&k, der, (size_t)len, NULL, e);
  pkjwt_key_free(k);
  OPENSSL_free(der);
  return rc;
}

START_TEST(rsa_exponent_bounds) {
  pkjwt_error e = PKJWT_ERROR_INIT;
  /* usual and edge values pass */
  ck_assert_int_eq(load_spki("10001", &e), PKJWT_OK);
  ck_assert_int_eq(load_spki("3", &e), PKJWT_OK);
  char e256[65];
  memset(e256, 'F', 64); /* 2^256 - 1: 256 bits, odd */
  e256[64] = '\0';
  ck_assert_int_eq(load_spki(e256, &e), PKJWT_OK);
  /* 2^256 + 1: 257 bits */
  char e257[68] = "1";
  memset(e257 + 1, '0', 63);
  memcpy(e257 + 64, "1", 2);
  ck_assert_int_eq(load_spki(e257, &e), PKJWT_ERR_KEY_TYPE);
  ck_assert_ptr_nonnull(strstr(e.message, "at most 256 bits"));
  /* a 3072-bit e, larger than n: 80 times slower verifications */
  char big[769];
  memset(big, 'F', 768);
  big[768] = '\0';
  ck_assert_int_eq(load_spki(big, &e), PKJWT_ERR_KEY_TYPE);
  /* 1 and even */
  ck_assert_int_eq(load_spki("1", &e), PKJWT_ERR_KEY_TYPE);
  ck_assert_ptr_nonnull(strstr(e.message, "at least 3"));
  ck_assert_int_eq(load_spki("10000", &e), PKJWT_ERR_KEY_TYPE);
}
END_TEST

/* The same bounds through a JWK: n of the example key, e as given. */
static int load_jwk_e(const char *e_b64, pkjwt_error *e) {
  char *path = test_path(test_srcdir(), "keys-example/rsa-3072.jwk");
  size_t n;
  char *jwk = test_read_file(path, &n);
  ck_assert_ptr_nonnull(jwk);
  free(path);
  char *ep = strstr(jwk, "\"e\"");
  ck_assert_ptr_nonnull(ep);
  char *v = strchr(ep + 3, '"');
  char *end = strchr(v + 1, '"');
  char buf[8192];
  snprintf(buf, sizeof(buf), "%.*s\"%s%s", (int)(v - jwk), jwk, e_b64, end);
  pkjwt_key *k = NULL;
  int rc = pkjwt_key_from_jwk(&k, buf, strlen(buf), e);
  pkjwt_key_free(k);
  free(jwk);
  return rc;
}

START_TEST(jwk_exponent_bounds) {
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(load_jwk_e("AQAB", &e), PKJWT_OK);
  /* e = 2^256 + 1: 33 bytes */
  ck_assert_int_eq(
      load_jwk_e("AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", &e),
      PKJWT_ERR_KEY_TYPE);
  ck_assert_ptr_nonnull(strstr(e.message, "at most 256 bits"));
}
END_TEST

/* ---- the access token in Jansson's parse tree ---------------------------- */

#define KNOWN_TOKEN "tok-5e1f0c0ffee-the-known-access-token-0123456789"
static int freed_with_token;

/* Jansson's allocator for this test: every block carries its size, and a
 * block freed while it still starts with the token is counted. */
static void *track_malloc(size_t n) {
  size_t *p = malloc(n + sizeof(size_t) * 2);
  if (!p)
    return NULL;
  p[0] = n;
  return p + 2;
}

static void track_free(void *q) {
  if (!q)
    return;
  size_t *p = (size_t *)q - 2;
  if (p[0] >= sizeof(KNOWN_TOKEN) - 1 &&
      memcmp(q, KNOWN_TOKEN, sizeof(KNOWN_TOKEN) - 1) == 0)
    freed_with_token++;
  free(p);
}

START_TEST(token_wiped_in_parse_tree) {
  static const char body[] =
      "{\"access_token\":\"" KNOWN_TOKEN "\",\"token_type\":\"Bearer\","
      "\"expires_in\":600,\"refresh_token\":\"" KNOWN_TOKEN "\"}";
  json_set_alloc_funcs(track_malloc, track_free);
  pkjwt__http_response r;
  memset(&r, 0, sizeof(r));
  r.status = 200;
  r.body = (char *)body;
  r.body_len = sizeof(body) - 1;
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  int retry = 0;
  const char *expiry_from = NULL;
  freed_with_token = 0;
  int rc = pkjwt__oauth_token_response(&t, pkjwt__profile_default(),
                                       "http://127.0.0.1/t", &r, 1700000000,
                                       &retry, &expiry_from, &e);
  json_set_alloc_funcs(malloc, free);
  ck_assert_msg(rc == PKJWT_OK, "%s", e.message);
  ck_assert_str_eq(t->access_token, KNOWN_TOKEN);
  pkjwt_token_free(t);
  ck_assert_int_eq(freed_with_token, 0);
  /* the probe works: an unwiped tree is seen */
  json_set_alloc_funcs(track_malloc, track_free);
  json_t *j = json_loadb(body, sizeof(body) - 1, 0, NULL);
  json_decref(j);
  json_set_alloc_funcs(malloc, free);
  ck_assert_int_eq(freed_with_token, 2);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("hostile");
  TCase *tc = tcase_create("key costs");
  tcase_add_checked_fixture(tc, setup, teardown);
  /* Without the limits these run for minutes: fail, not hang. */
  tcase_set_timeout(tc, 20);
  tcase_add_test(tc, pbkdf2_over_limit);
  tcase_add_test(tc, scrypt_over_limit);
  tcase_add_test(tc, pkcs12_pbe_over_limit);
  suite_add_tcase(s, tc);
  tc = tcase_create("rsa exponent");
  tcase_add_test(tc, rsa_exponent_bounds);
  tcase_add_test(tc, jwk_exponent_bounds);
  suite_add_tcase(s, tc);
  tc = tcase_create("secrets");
  tcase_add_test(tc, token_wiped_in_parse_tree);
  suite_add_tcase(s, tc);
  return s;
}

PKJWT_TEST_MAIN(make_suite)
