/* tests/check_base.c: error table, error detail, base64 and the string
 * glue (lib/error.c, lib/base64.c, lib/util.c). Vectors are RFC 4648
 * section 10's. */
#include "testutil.h"

#include "internal.h"

#include <openssl/err.h>

START_TEST(strerror_covers_every_code) {
  ck_assert_str_eq(pkjwt_strerror(PKJWT_OK), "success");
  ck_assert_str_eq(pkjwt_strerror(PKJWT_ERR_WEAK_KEY), "key too weak");
  ck_assert_str_eq(pkjwt_strerror(PKJWT_ERR_INTERNAL), "internal error");
  ck_assert_str_eq(pkjwt_strerror(PKJWT_ERR_PKCS11),
                   "PKCS#11 module, token or key object unusable");
  ck_assert_str_eq(pkjwt_strerror((pkjwt_code)(PKJWT_ERR_PKCS11 + 1)),
                   "unknown error");
  ck_assert_str_eq(pkjwt_strerror((pkjwt_code)-1), "unknown error");
  for (int c = PKJWT_OK; c <= PKJWT_ERR_PKCS11; c++)
    ck_assert_int_gt((int)strlen(pkjwt_strerror(c)), 3);
}
END_TEST

START_TEST(fail_fills_detail) {
  pkjwt_error e = PKJWT_ERROR_INIT;
  memset(&e, 'x', sizeof(e));
  pkjwt_error_init(&e);
  ck_assert_int_eq(e.code, PKJWT_OK);
  ck_assert_str_eq(e.message, "");
  ck_assert_int_eq(pkjwt__fail(&e, PKJWT_ERR_PARSE, "field %s", "kty"),
                   PKJWT_ERR_PARSE);
  ck_assert_int_eq(e.code, PKJWT_ERR_PARSE);
  ck_assert_str_eq(e.message, "field kty");
  ck_assert_int_eq(pkjwt__fail(NULL, PKJWT_ERR_IO, "x"), PKJWT_ERR_IO);
  pkjwt__warn(&e, "careful %d", 1);
  ck_assert_str_eq(e.warning, "careful 1");
}
END_TEST

START_TEST(fail_ssl_appends_reason) {
  pkjwt_error e = PKJWT_ERROR_INIT;
  /* Provoke a real OpenSSL error: decode garbage as a private key. */
  const unsigned char junk[] = {0x30, 0x03, 0x02, 0x01};
  const unsigned char *p = junk;
  EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &p, sizeof(junk));
  ck_assert_ptr_null(k);
  pkjwt__fail_ssl(&e, PKJWT_ERR_PARSE, "not a key");
  ck_assert_msg(strncmp(e.message, "not a key: ", 11) == 0, "got %s", e.message);
  ck_assert_int_eq((int)ERR_peek_error(), 0);
}
END_TEST

/*
 * Every public function that takes a pkjwt_error, called with an err whose
 * version the library does not know. tests/errcheck.sh checks that this
 * list names every such function in the headers.
 */
#define CALL(name, ...)                                                        \
  if (strcmp(which, #name) == 0)                                               \
    return (int)name(__VA_ARGS__);
static int call_with(const char *which, pkjwt_error *e) {
  pkjwt_key *k = NULL;
  pkjwt_cert *c = NULL;
  pkjwt_client *cl = NULL;
  pkjwt_token *t = NULL;
  pkjwt_verify_result *vr = NULL;
  pkjwt_keyset *ks = NULL;
  pkjwt_store *st = NULL;
  pkjwt_alg alg;
  char *s = NULL, *s2 = NULL, buf[16];
  CALL(pkjwt_key_generate_rsa, &k, 1024, e)
  CALL(pkjwt_key_generate_ec, &k, "P-192", e)
  CALL(pkjwt_key_load_mem, &k, "x", 1, NULL, e)
  CALL(pkjwt_key_load_file, &k, "/nonexistent", NULL, e)
  CALL(pkjwt_key_load_uri, &k, "pkcs11:object=x", NULL, e)
  CALL(pkjwt_key_generate_uri, &k, "pkcs11:object=x", PKJWT_KEY_EC, 0, NULL,
       NULL, e)
  CALL(pkjwt_key_write_private, NULL, "/nonexistent", NULL, e)
  CALL(pkjwt_key_public_pem, &s, NULL, e)
  CALL(pkjwt_cert_self_signed, &c, NULL, NULL, e)
  CALL(pkjwt_cert_load_mem, &c, "x", 1, e)
  CALL(pkjwt_cert_load_file, &c, "/nonexistent", e)
  CALL(pkjwt_cert_write, NULL, "/nonexistent", 0, e)
  CALL(pkjwt_cert_base64_der, &s, NULL, e)
  CALL(pkjwt_cert_pem, &s, NULL, e)
  CALL(pkjwt_cert_public_key, &k, NULL, e)
  CALL(pkjwt_jwk_export, &s, NULL, NULL, e)
  CALL(pkjwt_jwks_export, &s, NULL, NULL, 0, e)
  CALL(pkjwt_key_from_jwk, &k, "{}", 2, e)
  CALL(pkjwt_alg_from_name, &alg, "none", e)
  CALL(pkjwt_assertion_sign, &s, NULL, NULL, e)
  CALL(pkjwt_assertion_decode, &s, &s2, "a.b.c", e)
  CALL(pkjwt_assertion_verify, &vr, "a.b.c", NULL, NULL, e)
  CALL(pkjwt_verify_result_json, &s, NULL, e)
  CALL(pkjwt_client_new, &cl, NULL, e)
  CALL(pkjwt_client_get_token, &t, NULL, e)
  CALL(pkjwt_client_get_token_buf, buf, sizeof(buf), NULL, NULL, e)
  CALL(pkjwt_client_check, &s, NULL, "token", e)
  CALL(pkjwt_client_cache_id, &s, NULL, e)
  CALL(pkjwt_client_discover, NULL, e)
  CALL(pkjwt_client_metadata, &s, NULL, NULL, e)
  CALL(pkjwt_client_metadata_set, NULL, "{}", 2, 0, e)
  CALL(pkjwt_client_set_x5t, NULL, 0, e)
  CALL(pkjwt_store_file_new, &st, "/nonexistent/x", e)
  CALL(pkjwt_store_redis_new, &st, "ftp://127.0.0.1:1", NULL, 0, e)
  CALL(pkjwt_keyset_load, &ks, "/nonexistent", e)
  CALL(pkjwt_keyset_sign, &s, NULL, NULL, e)
  CALL(pkjwt_keyset_add, &s, "/nonexistent", NULL, NULL, 0, e)
  CALL(pkjwt_keyset_activate, &s, "", NULL, e)
  CALL(pkjwt_keyset_retire, "/nonexistent", NULL, e)
  return -1;
}
#undef CALL

/* The names call_with knows (kept in step with its table by errcheck.sh). */
static const char *const err_takers[] = {
    "pkjwt_key_generate_rsa",   "pkjwt_key_generate_ec",
    "pkjwt_key_load_mem",       "pkjwt_key_load_file",
    "pkjwt_key_load_uri",       "pkjwt_key_generate_uri",
    "pkjwt_key_write_private",  "pkjwt_key_public_pem",
    "pkjwt_cert_self_signed",   "pkjwt_cert_load_mem",
    "pkjwt_cert_load_file",     "pkjwt_cert_write",
    "pkjwt_cert_base64_der",    "pkjwt_cert_pem",
    "pkjwt_cert_public_key",    "pkjwt_jwk_export",
    "pkjwt_jwks_export",        "pkjwt_key_from_jwk",
    "pkjwt_alg_from_name",      "pkjwt_assertion_sign",
    "pkjwt_assertion_decode",   "pkjwt_assertion_verify",
    "pkjwt_verify_result_json", "pkjwt_client_new",
    "pkjwt_client_get_token",   "pkjwt_client_get_token_buf",
    "pkjwt_client_check",       "pkjwt_client_cache_id", "pkjwt_client_discover",
    "pkjwt_client_metadata", "pkjwt_client_metadata_set",
    "pkjwt_client_set_x5t",
    "pkjwt_keyset_load",        "pkjwt_keyset_sign",
    "pkjwt_keyset_add",         "pkjwt_keyset_activate",
    "pkjwt_keyset_retire",      "pkjwt_store_file_new",
    "pkjwt_store_redis_new",
};

START_TEST(unknown_error_version_is_refused_untouched) {
  static const unsigned int bad[] = {0, PKJWT_ERROR_VERSION + 1, 0xdeadbeefu};
  size_t n = sizeof(err_takers) / sizeof(err_takers[0]);
  for (size_t i = 0; i < n; i++) {
    for (size_t v = 0; v < sizeof(bad) / sizeof(bad[0]); v++) {
      pkjwt_error e;
      memset(&e, 0xA5, sizeof(e));
      e.version = bad[v];
      int rc = call_with(err_takers[i], &e);
      ck_assert_msg(rc == PKJWT_ERR_INVALID_ARG,
                    "%s with version %u returned %d", err_takers[i], bad[v],
                    rc);
      /* the first byte written, if any: one assertion, not one per byte
       * (each passing ck_assert records its place: 129,000 of them made
       * this suite 7 s under valgrind) */
      const unsigned char *p = (const unsigned char *)&e;
      size_t b = sizeof(e.version);
      while (b < sizeof(e) && p[b] == 0xA5)
        b++;
      ck_assert_msg(b == sizeof(e), "%s wrote byte %zu of an err of version %u",
                    err_takers[i], b, bad[v]);
      ck_assert_uint_eq(e.version, bad[v]);
    }
  }
  /* the same calls with a good err fail (bad arguments) but fill it */
  for (size_t i = 0; i < n; i++) {
    pkjwt_error e = PKJWT_ERROR_INIT;
    int rc = call_with(err_takers[i], &e);
    if (rc != PKJWT_OK) {
      ck_assert_msg(e.code == (pkjwt_code)rc, "%s: code %d, returned %d",
                    err_takers[i], (int)e.code, rc);
      ck_assert_msg(e.message[0] != '\0', "%s: no message", err_takers[i]);
    }
  }
}
END_TEST

START_TEST(error_init_and_sizes) {
  pkjwt_error a = PKJWT_ERROR_INIT, b;
  memset(&b, 'x', sizeof(b));
  pkjwt_error_init(&b);
  pkjwt_error_init(NULL);
  ck_assert_uint_eq(a.version, PKJWT_ERROR_VERSION);
  ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);
  ck_assert_uint_eq(sizeof(a.message), PKJWT_ERROR_MESSAGE_MAX);
  ck_assert_uint_eq(sizeof(a.warning), PKJWT_ERROR_WARNING_MAX);
  ck_assert_uint_eq(sizeof(a.oauth_error), PKJWT_ERROR_OAUTH_ERROR_MAX);
  ck_assert_uint_eq(sizeof(a.hint), PKJWT_ERROR_HINT_MAX);
  /* the version comes first, so any later layout can be told apart */
  ck_assert_uint_eq(offsetof(pkjwt_error, version), 0);
  ck_assert_uint_eq(pkjwt__error_size(PKJWT_ERROR_VERSION), sizeof(a));
  ck_assert_uint_eq(pkjwt__error_size(0), 0);
  ck_assert(PKJWT__ERROR_HAS(&a, hint));
  ck_assert(!PKJWT__ERROR_HAS((pkjwt_error *)NULL, hint));
  /* a copy keeps the destination's version */
  pkjwt__fail(&b, PKJWT_ERR_IO, "disk");
  pkjwt__error_copy(&a, &b);
  ck_assert_str_eq(a.message, "disk");
  ck_assert_uint_eq(a.version, PKJWT_ERROR_VERSION);
}
END_TEST

static const char *const rfc4648[][2] = {{"", ""},
                                         {"f", "Zg=="},
                                         {"fo", "Zm8="},
                                         {"foo", "Zm9v"},
                                         {"foob", "Zm9vYg=="},
                                         {"fooba", "Zm9vYmE="},
                                         {"foobar", "Zm9vYmFy"}};

START_TEST(base64_rfc4648_vectors) {
  char buf[64];
  for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
    const char *in = rfc4648[i][0], *want = rfc4648[i][1];
    size_t n = pkjwt__b64_encode(buf, (const unsigned char *)in, strlen(in));
    ck_assert_str_eq(buf, want);
    ck_assert_uint_eq(n, PKJWT__B64_LEN(strlen(in)));
    unsigned char *dec;
    size_t dlen;
    ck_assert_int_eq(pkjwt__b64_decode(&dec, &dlen, want, strlen(want)), 0);
    ck_assert_uint_eq(dlen, strlen(in));
    ck_assert_int_eq(memcmp(dec, in, dlen), 0);
    free(dec);
    /* base64url is the same without padding */
    n = pkjwt__b64url_encode(buf, (const unsigned char *)in, strlen(in));
    ck_assert_uint_eq(n, PKJWT__B64URL_LEN(strlen(in)));
    ck_assert_int_eq(strncmp(buf, want, n), 0);
    ck_assert_msg(strchr(buf, '=') == NULL, "padding in %s", buf);
    ck_assert_int_eq(pkjwt__b64url_decode(&dec, &dlen, buf, n), 0);
    ck_assert_uint_eq(dlen, strlen(in));
    free(dec);
  }
}
END_TEST

START_TEST(base64url_alphabet_and_strictness) {
  const unsigned char bytes[] = {0xfb, 0xff, 0xbf};
  char buf[8];
  pkjwt__b64url_encode(buf, bytes, 3);
  ck_assert_str_eq(buf, "-_-_");
  pkjwt__b64_encode(buf, bytes, 3);
  ck_assert_str_eq(buf, "+/+/");
  unsigned char *dec = NULL;
  size_t dlen;
  ck_assert_int_eq(pkjwt__b64url_decode(&dec, &dlen, "+/+/", 4), -1);
  ck_assert_int_eq(pkjwt__b64url_decode(&dec, &dlen, "Zg==", 4), -1);
  ck_assert_int_eq(pkjwt__b64url_decode(&dec, &dlen, "Zh", 2), -1); /* trailing bits */
  ck_assert_int_eq(pkjwt__b64url_decode(&dec, &dlen, "Z", 1), -1);
  ck_assert_int_eq(pkjwt__b64_decode(&dec, &dlen, "Zg=", 3), -1);
  ck_assert_int_eq(pkjwt__b64_decode(&dec, &dlen, "Zm 9", 4), -1);
}
END_TEST

START_TEST(str_free_accepts_null) {
  pkjwt_str_free(NULL);
  char *s = pkjwt__strdup("secret");
  ck_assert_ptr_nonnull(s);
  pkjwt_str_free(s);
  ck_assert_str_eq(pkjwt_version(), PKJWT_VERSION_STRING);
  ck_assert(PKJWT_VERSION_AT_LEAST(0, 1, 0));
  ck_assert(!PKJWT_VERSION_AT_LEAST(99, 0, 0));
}
END_TEST

/* lib/util.c's one string glue and its one URL slash rule. */
START_TEST(concat_and_url_join) {
  char *s = pkjwt__concat("dirXX", 3, "/", "name", ".tmp", (const char *)NULL);
  ck_assert_str_eq(s, "dir/name.tmp");
  free(s);
  s = pkjwt__concat("", 0, (const char *)NULL);
  ck_assert_str_eq(s, "");
  free(s);
  s = pkjwt__url_join("https://h/", 10, "/token", NULL);
  ck_assert_str_eq(s, "https://h/token");
  free(s);
  s = pkjwt__url_join("https://h", 9, "/token", NULL);
  ck_assert_str_eq(s, "https://h/token");
  free(s);
  /* only one '/' is dropped; an empty path keeps the base as it is */
  s = pkjwt__url_join("https://h/r//", 13, "", NULL);
  ck_assert_str_eq(s, "https://h/r/");
  free(s);
  s = pkjwt__url_join("https://h/x/id/connect/token", 9, "/id", "/tail");
  ck_assert_str_eq(s, "https://h/id/tail");
  free(s);
  ck_assert(pkjwt__word_ok("ab-1", 4, "ab1-"));
  ck_assert(!pkjwt__word_ok("ab-1", 3, "ab1-"));
  ck_assert(!pkjwt__word_ok("", 4, "ab1-"));
  ck_assert(!pkjwt__word_ok("a/b", 4, "ab1-"));
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("base");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, strerror_covers_every_code);
  tcase_add_test(tc, fail_fills_detail);
  tcase_add_test(tc, fail_ssl_appends_reason);
  tcase_add_test(tc, unknown_error_version_is_refused_untouched);
  tcase_add_test(tc, error_init_and_sizes);
  tcase_add_test(tc, base64_rfc4648_vectors);
  tcase_add_test(tc, base64url_alphabet_and_strictness);
  tcase_add_test(tc, str_free_accepts_null);
  tcase_add_test(tc, concat_and_url_join);
  suite_add_tcase(s, tc);
  return s;
}

PKJWT_TEST_MAIN(make_suite)
