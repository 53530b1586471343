/* tests/check_base.c: error table, error detail and base64 (lib/error.c,
 * lib/base64.c). Vectors are RFC 4648 section 10's. */
#include "testutil.h"

#include "internal.h"

#include <openssl/err.h>

START_TEST(strerror_covers_every_code) {
  ck_assert_str_eq(pkjwt_strerror(PKJWT_OK), "success");
  ck_assert_str_eq(pkjwt_strerror(PKJWT_ERR_WEAK_KEY), "key too weak");
  ck_assert_str_eq(pkjwt_strerror(PKJWT_ERR_INTERNAL), "internal error");
  ck_assert_str_eq(pkjwt_strerror(PKJWT_ERR_INTERNAL + 1), "unknown error");
  ck_assert_str_eq(pkjwt_strerror(-1), "unknown error");
  for (int c = PKJWT_OK; c <= PKJWT_ERR_INTERNAL; c++)
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
  pkjwt_error_init(&e);
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

static const char *const rfc4648[][2] = {
    {"", ""},           {"f", "Zg=="},         {"fo", "Zm8="},
    {"foo", "Zm9v"},    {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
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

static Suite *make_suite(void) {
  Suite *s = suite_create("base");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, strerror_covers_every_code);
  tcase_add_test(tc, fail_fills_detail);
  tcase_add_test(tc, fail_ssl_appends_reason);
  tcase_add_test(tc, base64_rfc4648_vectors);
  tcase_add_test(tc, base64url_alphabet_and_strictness);
  tcase_add_test(tc, str_free_accepts_null);
  suite_add_tcase(s, tc);
  return s;
}

PKJWT_TEST_MAIN(make_suite)
