/* tests/check_pkcs11.c: keys in PKCS#11 tokens (lib/pkcs11.c) against a
 * SoftHSM2 token that tests/pkcs11-setup.sh makes in a temporary folder:
 * URIs, loading, signing every algorithm the keys allow (judged by the
 * public half through pkjwt_assertion_verify; tests/pkcs11.sh has openssl
 * and jwcrypto judge), certificates, the failures with one line each, and
 * 8 threads signing with one token key. Skips (77) without SoftHSM2; a
 * build without libp11 only checks that it says so. */
#include "testutil.h"

#include "alg.h"
#include "internal.h"

#include <openssl/err.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

static char *tmp;         /* the token's folder */
static char module[1024]; /* SoftHSM2's module */
static char pin[1200], bad_pin[1200];

static void uri(char *buf, size_t n, const char *object, const char *pinf) {
  int w = snprintf(
      buf, n, "pkcs11:token=pkjwt-test;object=%s?module-path=%s%s%s", object,
      module, pinf ? "&pin-source=file:" : "", pinf ? pinf : "");
  ck_assert_int_lt(w, (int)n);
}

static pkjwt_key *load(const char *object) {
  char u[4096];
  uri(u, sizeof(u), object, pin);
  pkjwt_error err = PKJWT_ERROR_INIT;
  pkjwt_key *k = NULL;
  int rc = pkjwt_key_load_uri(&k, u, NULL, &err);
  ck_assert_msg(rc == PKJWT_OK, "%s: %s", object, err.message);
  return k;
}

/* The code and message of loading uri with opts. */
static int load_fails(pkjwt_error *err, const char *u,
                      const pkjwt_key_uri_options *o) {
  pkjwt_key *k = NULL;
  pkjwt_error_init(err);
  int rc = pkjwt_key_load_uri(&k, u, o, err);
  ck_assert_ptr_null(k);
  ck_assert_int_eq(rc, err->code);
  ck_assert_ptr_null(strchr(err->message, '\n'));
  return rc;
}

START_TEST(uri_attributes) {
  struct pkjwt__pkcs11_uri u;
  pkjwt_error err = PKJWT_ERROR_INIT;
  ck_assert_int_eq(
      pkjwt__pkcs11_uri_parse(&u,
                              "pkcs11:token=my%20token;object=a;id=%01%ff;"
                              "type=private;slot-id=3;library-version=1"
                              "?module-path=/m.so&pin-source=file:/p",
                              &err),
      PKJWT_OK);
  ck_assert_str_eq(u.token, "my token");
  ck_assert_str_eq(u.object, "a");
  ck_assert_uint_eq(u.id_len, 2);
  ck_assert_uint_eq(u.id[0], 1);
  ck_assert_uint_eq(u.id[1], 0xff);
  ck_assert_int_eq(u.has_slot_id, 1);
  ck_assert_uint_eq(u.slot_id, 3);
  ck_assert_str_eq(u.module_path, "/m.so");
  ck_assert_str_eq(u.pin_source, "file:/p");
  pkjwt__pkcs11_uri_clear(&u);

  static const struct {
    const char *uri;
    int code;
    const char *words;
  } bad[] = {
      {"pkcs11:object=a?pin-value=1234", PKJWT_ERR_INSECURE, "pin-value"},
      {"pkcs11:object=a;colour=red", PKJWT_ERR_INVALID_ARG, "colour"},
      {"pkcs11:object=a;type=public", PKJWT_ERR_INVALID_ARG, "private"},
      {"pkcs11:object=%zz", PKJWT_ERR_INVALID_ARG, "escape"},
      {"pkcs11:object=a%", PKJWT_ERR_INVALID_ARG, "escape"},
      {"pkcs11:object=a;object=b", PKJWT_ERR_INVALID_ARG, "twice"},
      {"pkcs11:object", PKJWT_ERR_INVALID_ARG, "no value"},
      {"pkcs11:slot-id=x", PKJWT_ERR_INVALID_ARG, "slot-id"},
      {"pkcs11:object=a\n", PKJWT_ERR_INVALID_ARG, "control"},
      {"file:a", PKJWT_ERR_INVALID_ARG, "pkcs11:"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    pkjwt_error_init(&err);
    ck_assert_int_eq(pkjwt__pkcs11_uri_parse(&u, bad[i].uri, &err),
                     bad[i].code);
    ck_assert_msg(strstr(err.message, bad[i].words), "%s: %s", bad[i].uri,
                  err.message);
    ck_assert_ptr_null(u.object);
  }
}
END_TEST

/* Every alg each key allows signs in the token, and the public half
 * verifies it; ES signatures are raw R||S of the curve's width. */
START_TEST(sign_every_alg) {
  static const struct {
    const char *object;
    pkjwt_alg algs[7];
  } keys[] = {
      {"ec256", {PKJWT_ALG_ES256, 0}},
      {"ec384", {PKJWT_ALG_ES384, 0}},
      {"ec521", {PKJWT_ALG_ES512, 0}},
      {"rsa2048",
       {PKJWT_ALG_RS256, PKJWT_ALG_RS384, PKJWT_ALG_RS512, PKJWT_ALG_PS256,
        PKJWT_ALG_PS384, PKJWT_ALG_PS512, 0}},
  };
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    pkjwt_key *k = load(keys[i].object);
    ck_assert_int_eq(pkjwt_key_has_private(k), 1);
    ck_assert_uint_eq(strlen(pkjwt_key_get_thumbprint(k)), 43);
    for (const pkjwt_alg *a = keys[i].algs; *a; a++) {
      pkjwt_sign_options o = PKJWT_SIGN_OPTIONS_INIT;
      o.client_id = "c";
      o.audience = "https://as.example/token";
      o.alg = *a;
      pkjwt_error err = PKJWT_ERROR_INIT;
      char *jws = NULL;
      ck_assert_msg(pkjwt_assertion_sign(&jws, k, &o, &err) == PKJWT_OK,
                    "%s %s: %s", keys[i].object, pkjwt_alg_name(*a),
                    err.message);
      pkjwt_verify_result *vr = NULL;
      pkjwt_verify_options vo = PKJWT_VERIFY_OPTIONS_INIT;
      vo.client_id = "c";
      vo.audience = "https://as.example/token";
      ck_assert_msg(pkjwt_assertion_verify(&vr, jws, k, &vo, &err) == PKJWT_OK,
                    "%s %s: %s", keys[i].object, pkjwt_alg_name(*a),
                    err.message);
      pkjwt_verify_result_free(vr);
      if (*a >= PKJWT_ALG_ES256) {
        const pkjwt__alg_info *info = pkjwt__alg_lookup(*a);
        const char *sig = strrchr(jws, '.') + 1;
        ck_assert_uint_eq(strlen(sig), PKJWT__B64URL_LEN(2 * info->coord_len));
      }
      pkjwt_str_free(jws);
    }
    pkjwt_key_free(k);
  }
}
END_TEST

/* A token key through the file loader, the module from the environment,
 * the PIN from the options: JWK, certificate, public PEM as any key. */
START_TEST(file_loader_env_module_cert_jwk) {
  setenv("PKJWT_PKCS11_MODULE", module, 1);
  pkjwt_error err = PKJWT_ERROR_INIT;
  pkjwt_key *k = NULL;
  char u[4096];
  snprintf(u, sizeof(u), "pkcs11:token=pkjwt-test;object=ec256?pin-source=%s",
           pin);
  ck_assert_msg(pkjwt_key_load_file(&k, u, NULL, &err) == PKJWT_OK, "%s",
                err.message);
  pkjwt_key *k2 = NULL;
  pkjwt_key_uri_options o = PKJWT_KEY_URI_OPTIONS_INIT;
  o.pin_file = pin;
  ck_assert_msg(pkjwt_key_load_uri(&k2, "pkcs11:token=pkjwt-test;id=%01", &o,
                                   &err) == PKJWT_OK,
                "%s", err.message);
  unsetenv("PKJWT_PKCS11_MODULE");
  ck_assert_int_eq(pkjwt_key_equal_public(k, k2), 1);
  ck_assert_str_eq(pkjwt_key_get_thumbprint(k), pkjwt_key_get_thumbprint(k2));

  pkjwt_cert *c = NULL;
  ck_assert_msg(pkjwt_cert_self_signed(&c, k, NULL, &err) == PKJWT_OK, "%s",
                err.message);
  ck_assert_int_eq(pkjwt_cert_matches_key(c, k), 1);
  ck_assert_int_eq(X509_verify(c->x509, k->pkey), 1);
  pkjwt_cert_free(c);

  char *jwk = NULL;
  ck_assert_int_eq(pkjwt_jwk_export(&jwk, k, NULL, &err), PKJWT_OK);
  ck_assert_ptr_null(strstr(jwk, "\"d\""));
  pkjwt_key *pub = NULL;
  ck_assert_int_eq(pkjwt_key_from_jwk(&pub, jwk, strlen(jwk), &err), PKJWT_OK);
  ck_assert_int_eq(pkjwt_key_equal_public(pub, k), 1);
  pkjwt_key_free(pub);
  pkjwt_str_free(jwk);

  /* the private key never leaves the token */
  char *path = test_path(tmp, "out.key");
  ck_assert_int_eq(pkjwt_key_write_private(k, path, NULL, &err),
                   PKJWT_ERR_NO_PRIVATE_KEY);
  ck_assert_ptr_nonnull(strstr(err.message, "PKCS#11"));
  ck_assert_int_eq(access(path, F_OK), -1);
  free(path);
  pkjwt_key_free(k);
  pkjwt_key_free(k2);
}
END_TEST

START_TEST(failures_one_line_each) {
  pkjwt_error err = PKJWT_ERROR_INIT;
  char u[4096];

  uri(u, sizeof(u), "ec256", bad_pin);
  ck_assert_int_eq(load_fails(&err, u, NULL), PKJWT_ERR_PASSPHRASE);
  ck_assert_msg(strstr(err.message, "wrong PIN"), "%s", err.message);
  /* one try was used, not more: the token is still usable */
  pkjwt_key_free(load("ec256"));

  uri(u, sizeof(u), "ec256", NULL);
  ck_assert_int_eq(load_fails(&err, u, NULL), PKJWT_ERR_PASSPHRASE);
  ck_assert_msg(strstr(err.message, "needs a PIN"), "%s", err.message);

  snprintf(u, sizeof(u), "pkcs11:token=absent;object=ec256?module-path=%s",
           module);
  ck_assert_int_eq(load_fails(&err, u, NULL), PKJWT_ERR_PKCS11);
  ck_assert_msg(strstr(err.message, "no PKCS#11 token (token=\"absent\")"),
                "%s", err.message);

  snprintf(u, sizeof(u), "pkcs11:object=ec256?module-path=%s/none.so", tmp);
  ck_assert_int_eq(load_fails(&err, u, NULL), PKJWT_ERR_PKCS11);
  ck_assert_msg(strstr(err.message, "does not exist"), "%s", err.message);

  snprintf(u, sizeof(u), "pkcs11:object=ec256?module-path=%s", pin);
  ck_assert_int_eq(load_fails(&err, u, NULL), PKJWT_ERR_PKCS11);
  ck_assert_msg(strstr(err.message, "is not a shared library"), "%s",
                err.message);

  unsetenv("PKJWT_PKCS11_MODULE");
  ck_assert_int_eq(load_fails(&err, "pkcs11:object=ec256", NULL),
                   PKJWT_ERR_PKCS11);
  ck_assert_msg(strstr(err.message, "no PKCS#11 module named"), "%s",
                err.message);

  uri(u, sizeof(u), "nothere", pin);
  ck_assert_int_eq(load_fails(&err, u, NULL), PKJWT_ERR_PKCS11);
  ck_assert_msg(strstr(err.message, "no private key with object=\"nothere\""),
                "%s", err.message);

  uri(u, sizeof(u), "twin", pin);
  ck_assert_int_eq(load_fails(&err, u, NULL), PKJWT_ERR_PKCS11);
  ck_assert_msg(strstr(err.message, "2 private keys match"), "%s", err.message);
  /* id= picks one of them */
  snprintf(u, sizeof(u),
           "pkcs11:token=pkjwt-test;object=twin;id=%%06?module-path=%s&"
           "pin-source=file:%s",
           module, pin);
  pkjwt_key *k = NULL;
  ck_assert_msg(pkjwt_key_load_uri(&k, u, NULL, &err) == PKJWT_OK, "%s",
                err.message);
  pkjwt_key_free(k);

  pkjwt_key_uri_options o = PKJWT_KEY_URI_OPTIONS_INIT;
  o.version = 99;
  ck_assert_int_eq(load_fails(&err, u, &o), PKJWT_ERR_INVALID_ARG);
}
END_TEST

/* A key whose CKA_SIGN is false loads (its public half is fine) and
 * refuses to sign with one line saying why. */
START_TEST(key_not_allowed_to_sign) {
  char *flag = test_path(tmp, "nosign-set");
  int set = access(flag, F_OK) == 0;
  free(flag);
  if (!set)
    return; /* no p11-kit header at build time: no helper to clear CKA_SIGN */
  pkjwt_key *k = load("nosign");
  pkjwt_sign_options o = PKJWT_SIGN_OPTIONS_INIT;
  o.client_id = "c";
  o.audience = "https://as.example/token";
  pkjwt_error err = PKJWT_ERROR_INIT;
  char *jws = NULL;
  ck_assert_int_eq(pkjwt_assertion_sign(&jws, k, &o, &err), PKJWT_ERR_PKCS11);
  ck_assert_ptr_null(jws);
  ck_assert_msg(strstr(err.message, "CKA_SIGN is false"), "%s", err.message);
  ck_assert_int_eq(ERR_peek_error(), 0);
  pkjwt_key_free(k);
}
END_TEST

/* The words for a mechanism the token lacks (SoftHSM2 has them all, so
 * the token's answer is put in OpenSSL's queue by hand). */
START_TEST(missing_mechanism_is_named) {
  pkjwt_error err = PKJWT_ERROR_INIT;
  ERR_raise(ERR_LIB_USER, 0x70); /* CKR_MECHANISM_INVALID */
  ck_assert_int_eq(pkjwt__pkcs11_sign_failed(&err, "PS256", PKJWT_KEY_RSA, 1),
                   PKJWT_ERR_PKCS11);
  ck_assert_str_eq(err.message, "the PKCS#11 token cannot sign PS256: it "
                                "lacks the mechanism " PKJWT__P11_PSS_MECH);
  ERR_raise(ERR_LIB_USER, 0x70);
  pkjwt__pkcs11_sign_failed(&err, "ES384", PKJWT_KEY_EC, 0);
  ck_assert_ptr_nonnull(strstr(err.message, "CKM_ECDSA"));
  ck_assert_int_eq(ERR_peek_error(), 0);
}
END_TEST

/* A key pair made in the token: sensitive, never extractable, sign only,
 * with the URI's label and id; signs at once; a taken label is refused. */
START_TEST(generate_in_token) {
  pkjwt_error err = PKJWT_ERROR_INIT;
  pkjwt_key_uri_options o = PKJWT_KEY_URI_OPTIONS_INIT;
  o.pkcs11_module = module;
  o.pin_file = pin;
  pkjwt_key *ec = NULL, *rsa = NULL, *again = NULL;
  ck_assert_msg(
      pkjwt_key_generate_uri(&ec, "pkcs11:token=pkjwt-test;object=gen-ec",
                             PKJWT_KEY_EC, 0, "P-384", &o, &err) == PKJWT_OK,
      "%s", err.message);
  ck_assert_str_eq(pkjwt_key_get_curve(ec), "P-384");
  ck_assert_msg(pkjwt_key_generate_uri(
                    &rsa, "pkcs11:token=pkjwt-test;object=gen-rsa;id=%bb",
                    PKJWT_KEY_RSA, 2048, NULL, &o, &err) == PKJWT_OK,
                "%s", err.message);
  ck_assert_uint_eq(pkjwt_key_get_bits(rsa), 2048);
  pkjwt_key *keys[] = {ec, rsa};
  pkjwt_alg algs[] = {PKJWT_ALG_ES384, PKJWT_ALG_PS256};
  for (int i = 0; i < 2; i++) {
    pkjwt_sign_options so = PKJWT_SIGN_OPTIONS_INIT;
    so.client_id = "c";
    so.audience = "a";
    so.alg = algs[i];
    char *jws = NULL;
    ck_assert_msg(pkjwt_assertion_sign(&jws, keys[i], &so, &err) == PKJWT_OK,
                  "%s", err.message);
    pkjwt_verify_result *vr = NULL;
    ck_assert_int_eq(pkjwt_assertion_verify(&vr, jws, keys[i], NULL, &err),
                     PKJWT_OK);
    pkjwt_verify_result_free(vr);
    pkjwt_str_free(jws);
  }
  /* the same key when loaded again by its label */
  pkjwt_key *k = load("gen-ec");
  ck_assert_int_eq(pkjwt_key_equal_public(k, ec), 1);
  pkjwt_key_free(k);
  /* what the token says about them */
  char *out = NULL;
  ck_assert_int_eq(test_sh(&out,
                           "pkcs11-tool --module '%s' --token-label pkjwt-test "
                           "--login --pin 1234 -O --type privkey 2>/dev/null",
                           module),
                   0);
  for (const char *label = "gen-ec"; label;
       label = strcmp(label, "gen-ec") ? NULL : "gen-rsa") {
    const char *at = strstr(out, label);
    ck_assert_msg(at != NULL, "%s not listed", label);
    const char *next = strstr(at, "Private Key Object");
    size_t n = next ? (size_t)(next - at) : strlen(at);
    char part[1024];
    snprintf(part, sizeof(part), "%.*s", (int)(n < 1023 ? n : 1023), at);
    ck_assert_msg(strstr(part, "never extractable") &&
                      strstr(part, "sensitive"),
                  "%s", part);
    ck_assert_msg(strstr(part, "Usage:      sign") != NULL, "%s", part);
    ck_assert_msg(strstr(part, "decrypt") == NULL, "%s", part);
  }
  ck_assert_ptr_nonnull(strstr(out, "ID:         bb"));
  free(out);

  ck_assert_int_eq(
      pkjwt_key_generate_uri(&again, "pkcs11:token=pkjwt-test;object=gen-ec",
                             PKJWT_KEY_EC, 0, NULL, &o, &err),
      PKJWT_ERR_PKCS11);
  ck_assert_ptr_null(again);
  ck_assert_msg(strstr(err.message, "already has a private key labelled "
                                    "\"gen-ec\""),
                "%s", err.message);
  ck_assert_int_eq(pkjwt_key_generate_uri(&again, "pkcs11:token=pkjwt-test",
                                          PKJWT_KEY_EC, 0, NULL, &o, &err),
                   PKJWT_ERR_INVALID_ARG);
  ck_assert_int_eq(pkjwt_key_generate_uri(&again,
                                          "pkcs11:token=pkjwt-test;object=x",
                                          PKJWT_KEY_RSA, 1024, NULL, &o, &err),
                   PKJWT_ERR_WEAK_KEY);
  pkjwt_key_free(ec);
  pkjwt_key_free(rsa);
}
END_TEST

/* A key set whose active key lives in the token: the manifest's "key" is
 * a pkcs11: URI with its module-path and pin-source. */
START_TEST(keyset_with_a_token_key) {
  pkjwt_key *k = load("ec521");
  pkjwt_error err = PKJWT_ERROR_INIT;
  pkjwt_cert *c = NULL;
  ck_assert_int_eq(pkjwt_cert_self_signed(&c, k, NULL, &err), PKJWT_OK);
  char *dir = test_path(tmp, "set");
  ck_assert_int_eq(mkdir(dir, 0700), 0);
  char *cp = test_path(dir, "token.crt");
  ck_assert_int_eq(pkjwt_cert_write(c, cp, 0, &err), PKJWT_OK);
  char expires[32];
  time_t na = (time_t)pkjwt_cert_get_not_after(c);
  struct tm tm;
  gmtime_r(&na, &tm);
  strftime(expires, sizeof(expires), "%Y-%m-%dT%H:%M:%SZ", &tm);
  char u[4096], manifest[8192];
  uri(u, sizeof(u), "ec521", pin);
  snprintf(manifest, sizeof(manifest),
           "{\"version\":1,\"keys\":[{\"kid\":\"%s\",\"key\":\"%s\","
           "\"cert\":\"token.crt\",\"state\":\"active\","
           "\"created\":\"2026-01-01T00:00:00Z\",\"expires\":\"%s\"}]}",
           pkjwt_key_get_thumbprint(k), u, expires);
  char *mp = test_path(dir, PKJWT_KEYSET_MANIFEST);
  ck_assert_int_eq(test_write_file(mp, manifest, strlen(manifest)), 0);
  pkjwt_keyset *ks = NULL;
  ck_assert_msg(pkjwt_keyset_load(&ks, dir, &err) == PKJWT_OK, "%s",
                err.message);
  pkjwt_sign_options o = PKJWT_SIGN_OPTIONS_INIT;
  o.client_id = "c";
  o.audience = "a";
  char *jws = NULL;
  ck_assert_msg(pkjwt_keyset_sign(&jws, ks, &o, &err) == PKJWT_OK, "%s",
                err.message);
  pkjwt_verify_result *vr = NULL;
  ck_assert_int_eq(pkjwt_assertion_verify(&vr, jws, k, NULL, &err), PKJWT_OK);
  pkjwt_verify_result_free(vr);
  pkjwt_str_free(jws);
  pkjwt_keyset_free(ks);
  pkjwt_cert_free(c);
  pkjwt_key_free(k);
  free(mp);
  free(cp);
  free(dir);
}
END_TEST

#define THREADS 8
#define PER_THREAD 25

struct worker {
  pkjwt_key *key;
  char failure[PKJWT_ERROR_MESSAGE_MAX + 16];
};

static void *sign_many(void *arg) {
  struct worker *w = arg;
  for (int i = 0; i < PER_THREAD && !w->failure[0]; i++) {
    pkjwt_sign_options o = PKJWT_SIGN_OPTIONS_INIT;
    o.client_id = "c";
    o.audience = "https://as.example/token";
    pkjwt_error err = PKJWT_ERROR_INIT;
    char *jws = NULL;
    if (pkjwt_assertion_sign(&jws, w->key, &o, &err) != PKJWT_OK) {
      snprintf(w->failure, sizeof(w->failure), "sign: %s", err.message);
      break;
    }
    pkjwt_verify_result *vr = NULL;
    if (pkjwt_assertion_verify(&vr, jws, w->key, NULL, &err) != PKJWT_OK)
      snprintf(w->failure, sizeof(w->failure), "verify: %s", err.message);
    pkjwt_verify_result_free(vr);
    pkjwt_str_free(jws);
  }
  return NULL;
}

START_TEST(eight_threads_sign_with_one_token_key) {
  pkjwt_key *ec = load("ec256"), *rsa = load("rsa2048");
  pthread_t tid[THREADS];
  struct worker w[THREADS];
  for (int i = 0; i < THREADS; i++) {
    w[i].key = i % 2 ? rsa : ec;
    w[i].failure[0] = 0;
    ck_assert_int_eq(pthread_create(&tid[i], NULL, sign_many, &w[i]), 0);
  }
  for (int i = 0; i < THREADS; i++)
    ck_assert_int_eq(pthread_join(tid[i], NULL), 0);
  for (int i = 0; i < THREADS; i++)
    ck_assert_msg(w[i].failure[0] == 0, "thread %d: %s", i, w[i].failure);
  pkjwt_key_free(ec);
  pkjwt_key_free(rsa);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("pkcs11");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, uri_attributes);
  tcase_add_test(tc, sign_every_alg);
  tcase_add_test(tc, file_loader_env_module_cert_jwk);
  tcase_add_test(tc, failures_one_line_each);
  tcase_add_test(tc, key_not_allowed_to_sign);
  tcase_add_test(tc, missing_mechanism_is_named);
  tcase_add_test(tc, eight_threads_sign_with_one_token_key);
  tcase_add_test(tc, generate_in_token);
  tcase_add_test(tc, keyset_with_a_token_key);
  suite_add_tcase(s, tc);
  return s;
}

/* A build without libp11 says so, and refuses URIs with one line. */
static int without_pkcs11(void) {
  pkjwt_error err = PKJWT_ERROR_INIT;
  pkjwt_key *k = NULL;
  int rc = pkjwt_key_load_uri(&k, "pkcs11:object=a", NULL, &err);
  if (rc != PKJWT_ERR_PKCS11 || k || !strstr(err.message, "without libp11")) {
    fprintf(stderr, "without libp11: %d %s\n", rc, err.message);
    return EXIT_FAILURE;
  }
  return 77;
}

#ifdef HAVE_PKCS11
/* libp11 missing at run time (it is loaded on first use, lib/dl.c): in a
 * child, before this process loads it, the soname points at no file. One
 * line naming the file and the Debian package, and
 * pkjwt_key_pkcs11_supported() says no. 0 when that holds. */
static int libp11_missing(void) {
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    pkjwt__libp11_soname = "libp11-pkjwt-test-missing.so.3";
    pkjwt_error err = PKJWT_ERROR_INIT;
    pkjwt_key *k = NULL;
    int rc = pkjwt_key_load_uri(&k, "pkcs11:object=a", NULL, &err);
    int ok = rc == PKJWT_ERR_PKCS11 && !k && !pkjwt_key_pkcs11_supported() &&
             strcmp(err.message,
                    "PKCS#11 keys need libp11: cannot load "
                    "libp11-pkjwt-test-missing.so.3 (install the Debian "
                    "package " PKJWT_LIBP11_PACKAGE ")") == 0;
    if (!ok)
      fprintf(stderr, "libp11 missing: %d %s\n", rc, err.message);
    _exit(ok ? 0 : 1);
  }
  int st = 0;
  if (waitpid(pid, &st, 0) != pid)
    return -1;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}
#endif

int main(void) {
#ifdef HAVE_PKCS11
  if (libp11_missing() != 0) /* first: nothing has loaded libp11 yet */
    return EXIT_FAILURE;
#endif
  if (!pkjwt_key_pkcs11_supported())
    return without_pkcs11();
  /* test_tmpdir() asserts, which Check allows only inside a test */
  const char *base = getenv("TMPDIR");
  char tmpl[1024];
  snprintf(tmpl, sizeof(tmpl), "%s/pkjwt-p11-XXXXXX",
           base && *base ? base : "/tmp");
  if (!mkdtemp(tmpl) || !(tmp = strdup(tmpl)))
    return 99;
  char *out = NULL;
  char cmd[4096];
  snprintf(cmd, sizeof(cmd), "sh '%s/tests/pkcs11-setup.sh' '%s'",
           test_srcdir(), tmp);
  int st = test_run(&out, cmd); /* not test_sh: no Check test runs yet */
  if (st != 0 || !out) {
    test_rmtree(tmp);
    free(out);
    return st == 77 ? 77 : 99;
  }
  out[strcspn(out, "\n")] = 0;
  snprintf(module, sizeof(module), "%s", out);
  free(out);
  snprintf(pin, sizeof(pin), "%s/pin", tmp);
  snprintf(bad_pin, sizeof(bad_pin), "%s/bad-pin", tmp);
  char conf[1200];
  snprintf(conf, sizeof(conf), "%s/softhsm2.conf", tmp);
  setenv("SOFTHSM2_CONF", conf, 1);
  SRunner *sr = srunner_create(make_suite());
  srunner_set_fork_status(sr, CK_NOFORK);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  test_rmtree(tmp);
  free(tmp);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
