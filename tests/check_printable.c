/*
 * tests/check_printable.c: a server's words are made safe for a terminal
 * by one function (pkjwt__printable, lib/util.c), and every place that
 * keeps them for printing uses it (issue 12): error, error_description,
 * token_type, scope (lib/oauth.c), Location and curl's message
 * (lib/http.c). The byte-by-byte table is the specification (RFC 3629's
 * UTF-8, the Unicode code points named in lib/internal.h); random input is
 * judged by glibc's iconv, which is not ours, for UTF-8 validity.
 */
#include "testutil.h"

#include <iconv.h>

#include "canned_server.h"
#include "http.h"
#include "oauth.h"
#include "profile.h"

static const struct {
  const char *in;
  size_t len;
  const char *out;
} cases[] = {
#define C(in, out)                                                             \
  { in, sizeof(in) - 1, out }
    C("plain text: ok", "plain text: ok"),
    C("", ""),
    /* C0, DEL */
    C("\x1b[2J\x1b]0;pwned\x07", "\\x1B[2J\\x1B]0;pwned\\x07"),
    C("a\nb\rc\td", "a\\x0Ab\\x0Dc\\x09d"),
    C("\x01\x1f\x7f", "\\x01\\x1F\\x7F"),
    C("nul\0here", "nul\\x00here"),
    C(" ~", " ~"),
    /* C1 as UTF-8: U+0080, U+009B (CSI), U+009F; U+00A0 and U+00E9 kept */
    C("\xc2\x80\xc2\x9b\xc2\x9f", "\\u0080\\u009B\\u009F"),
    C("\xc2\xa0\xc3\xa9", "\xc2\xa0\xc3\xa9"),
    /* bidi: U+202A..U+202E, U+2066..U+2069, U+200E/F, U+061C; U+2028/9 */
    C("\xe2\x80\xaa\xe2\x80\xae", "\\u202A\\u202E"),
    C("x\xe2\x81\xa6y\xe2\x81\xa9z", "x\\u2066y\\u2069z"),
    C("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", "\\u200E\\u200F\\u061C"),
    C("\xe2\x80\xa8\xe2\x80\xa9", "\\u2028\\u2029"),
    /* neighbours that stay: U+2027, U+202F, U+2065, U+206A, U+200D */
    C("\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa\xe2\x80\x8d",
      "\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa\xe2\x80\x8d"),
    /* valid multi-byte kept: U+20AC, U+1F600, U+10FFFF */
    C("\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf",
      "\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"),
    /* invalid UTF-8, byte by byte */
    C("\xff\xfe", "\\xFF\\xFE"),
    C("\x80x", "\\x80x"),
    C("\xc0\xaf", "\\xC0\\xAF"),                   /* overlong '/' */
    C("\xe0\x80\xaf", "\\xE0\\x80\\xAF"),          /* overlong, 3 bytes */
    C("\xed\xa0\x80", "\\xED\\xA0\\x80"),          /* surrogate U+D800 */
    C("\xf4\x90\x80\x80", "\\xF4\\x90\\x80\\x80"), /* past U+10FFFF */
    C("\xf5\x80", "\\xF5\\x80"),
    C("ab\xe2\x80", "ab\\xE2\\x80"), /* cut short */
    C("\xe2\x80\x1b", "\\xE2\\x80\\x1B"),
    C("\xc2\xc2\x9b", "\\xC2\\u009B"),
#undef C
};

START_TEST(table_byte_by_byte) {
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char out[256];
    memset(out, 'Z', sizeof(out));
    size_t need = pkjwt__printable(out, sizeof(out), cases[i].in, cases[i].len);
    ck_assert_msg(strcmp(out, cases[i].out) == 0, "case %zu: got \"%s\"", i,
                  out);
    ck_assert_uint_eq(need, strlen(cases[i].out));
    ck_assert_uint_eq(pkjwt__printable(NULL, 0, cases[i].in, cases[i].len),
                      need);
  }
}
END_TEST

/* A short buffer gets whole pieces only, and the length needed. */
START_TEST(truncation_keeps_whole_pieces) {
  char out[8];
  ck_assert_uint_eq(pkjwt__printable(out, 5, "ab\x1b", 3), 6);
  ck_assert_str_eq(out, "ab");
  ck_assert_uint_eq(pkjwt__printable(out, 7, "ab\x1b", 3), 6);
  ck_assert_str_eq(out, "ab\\x1B");
  ck_assert_uint_eq(pkjwt__printable(out, 3, "a\xc3\xa9", 3), 3);
  ck_assert_str_eq(out, "a");
  ck_assert_uint_eq(pkjwt__printable(out, 4, "a\xc3\xa9", 3), 3);
  ck_assert_str_eq(out, "a\xc3\xa9");
  /* nothing after a piece that did not fit, even if a later one would */
  ck_assert_uint_eq(pkjwt__printable(out, 4,
                                     "a\x1b"
                                     "b",
                                     3),
                    6);
  ck_assert_str_eq(out, "a");
  ck_assert_uint_eq(pkjwt__printable(out, 1, "abc", 3), 3);
  ck_assert_str_eq(out, "");
  char *d = pkjwt__printable_dup("\xe2\x80\xae!");
  ck_assert_str_eq(d, "\\u202E!");
  pkjwt_str_free(d);
  ck_assert_ptr_null(pkjwt__printable_dup(NULL));
}
END_TEST

/* No byte a terminal acts on is left: no C0/DEL, no C1 or bidi code
 * point, and the whole is UTF-8 as iconv (glibc, not ours) reads it. */
static void assert_safe(const char *s, const char *what) {
  /* Each loop looks for the first bad byte or code point and asserts once:
   * a passing ck_assert records its place, and one per byte was 400,000
   * records for this suite. */
  const unsigned char *p = (const unsigned char *)s;
  while (*p >= 0x20 && *p != 0x7f)
    p++;
  ck_assert_msg(*p == '\0', "%s: control byte 0x%02x", what, *p);
  ck_assert_msg(!strstr(s, "\xc2\x9b") && !strstr(s, "\xc2\x80") &&
                    !strstr(s, "\xe2\x80\xae") && !strstr(s, "\xe2\x81\xa6"),
                "%s: C1 or bidi left", what);
  static iconv_t cd = (iconv_t)-1;
  if (cd == (iconv_t)-1)
    cd = iconv_open("UTF-32LE", "UTF-8");
  ck_assert(cd != (iconv_t)-1);
  size_t inleft = strlen(s), outleft = 4 * inleft + 4;
  char *obuf = malloc(outleft), *op = obuf, *ip = (char *)s;
  size_t r = iconv(cd, &ip, &inleft, &op, &outleft);
  ck_assert_msg(r != (size_t)-1 && inleft == 0, "%s: not UTF-8 to iconv", what);
  /* and no C1 or bidi code point in what iconv decoded */
  for (const unsigned char *u = (unsigned char *)obuf; u < (unsigned char *)op;
       u += 4) {
    unsigned cp = u[0] | (unsigned)u[1] << 8 | (unsigned)u[2] << 16;
    if ((cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
        (cp >= 0x2066 && cp <= 0x2069))
      ck_abort_msg("%s: U+%04X left", what, cp);
  }
  free(obuf);
}

START_TEST(random_bytes_come_out_safe) {
  /* bytes drawn mostly from the interesting ones */
  static const unsigned char pool[] = {
      0x1b, 0x07, 0x00, 0x7f, 0x9b, 0xc2, 0xe2, 0x80, 0xae, 0x81, 0xa6, 0xf0,
      0xf4, 0x90, 0xbf, 0xed, 0xa0, 'a',  '[',  0xc3, 0xa9, 0xff, 0x8f, 0x0a};
  unsigned int seed = 12;
  for (int round = 0; round < tu_rounds(5000); round++) {
    unsigned char in[24];
    size_t len = (size_t)(rand_r(&seed) % (int)sizeof(in));
    for (size_t i = 0; i < len; i++)
      in[i] = rand_r(&seed) % 4 == 0 ? (unsigned char)rand_r(&seed)
                                     : pool[rand_r(&seed) % sizeof(pool)];
    char out[6 * sizeof(in) + 1];
    size_t need = pkjwt__printable(out, sizeof(out), (char *)in, len);
    ck_assert_uint_eq(need, strlen(out));
    assert_safe(out, "random");
  }
}
END_TEST

/* ---- where a server's words are kept ------------------------------------ */

#define EVIL_JSON "\\u001b]0;pwned\\u0007 \\u009b2J \\u202eevil\\n"

static int judge(pkjwt_token **t, pkjwt_error *e, long status,
                 const char *body) {
  pkjwt__http_response r;
  memset(&r, 0, sizeof(r));
  r.status = status;
  r.body = (char *)body;
  r.body_len = strlen(body);
  r.retry_after = -1;
  int retry = 0;
  const char *expiry_from = NULL;
  *t = NULL;
  return pkjwt__oauth_token_response(t, pkjwt__profile_default(),
                                     "http://127.0.0.1/t", &r, 1700000000,
                                     &retry, &expiry_from, e);
}

START_TEST(oauth_words_are_printable) {
  pkjwt_token *t;
  pkjwt_error e = PKJWT_ERROR_INIT;
  /* error and error_description of an OAuth error */
  ck_assert_int_eq(judge(&t, &e, 400,
                         "{\"error\":\"invalid_client" EVIL_JSON
                         "\",\"error_description\":\"bad" EVIL_JSON "\"}"),
                   PKJWT_ERR_OAUTH);
  assert_safe(e.message, "error_description");
  assert_safe(e.oauth_error, "error");
  ck_assert_ptr_nonnull(strstr(e.message, "\\x1B]0;pwned\\x07"));
  ck_assert_ptr_nonnull(strstr(e.message, "\\u009B2J \\u202Eevil\\x0A"));
  /* the same in an HTTP error's detail */
  e = (pkjwt_error)PKJWT_ERROR_INIT;
  ck_assert_int_eq(judge(&t, &e, 503, "{\"error\":\"x" EVIL_JSON "\"}"),
                   PKJWT_ERR_HTTP);
  assert_safe(e.message, "http detail");
  assert_safe(e.oauth_error, "http error");
  ck_assert_ptr_nonnull(strstr(e.message, "\\u202E"));
  /* token_type */
  e = (pkjwt_error)PKJWT_ERROR_INIT;
  ck_assert_int_eq(judge(&t, &e, 200,
                         "{\"access_token\":\"abc\",\"expires_in\":60,"
                         "\"token_type\":\"" EVIL_JSON "\"}"),
                   PKJWT_ERR_RESPONSE);
  assert_safe(e.message, "token_type");
  ck_assert_ptr_nonnull(strstr(e.message, "\\x1B"));
  /* scope, kept in the token; a scope as RFC 6749 defines it is unchanged */
  ck_assert_int_eq(judge(&t, &e, 200,
                         "{\"access_token\":\"abc\",\"expires_in\":60,"
                         "\"token_type\":\"Bearer\",\"scope\":\"a:b" EVIL_JSON
                         "\"}"),
                   PKJWT_OK);
  assert_safe(t->scope, "scope");
  ck_assert_ptr_nonnull(strstr(t->scope, "a:b\\x1B]0;"));
  pkjwt_token_free(t);
  ck_assert_int_eq(judge(&t, &e, 200,
                         "{\"access_token\":\"abc\",\"expires_in\":60,"
                         "\"token_type\":\"Bearer\",\"scope\":\"x:1 y!#~\"}"),
                   PKJWT_OK);
  ck_assert_str_eq(t->scope, "x:1 y!#~");
  pkjwt_token_free(t);
}
END_TEST

/* Location, through curl from a loopback server, into the redirect hint. */
START_TEST(location_is_printable) {
  canned_server s;
  memset(&s, 0, sizeof(s));
  s.answer = "HTTP/1.1 302 Found\r\nLocation: https://x.example/\x1b[2J"
             "\x1b]0;pwned\x07\xe2\x80\xae\xc2\x9b/t\r\n"
             "Content-Length: 0\r\nConnection: close\r\n\r\n";
  ck_assert_int_eq(canned_start(&s), 0);
  pkjwt__http_opts o = {NULL, 5000, 10000, "pkjwt-test"};
  pkjwt__http_response r;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt__http_request(&r, &o, s.base, "a=b", NULL, &e),
                   PKJWT_OK);
  ck_assert_int_eq(r.status, 302);
  ck_assert_msg(strstr(r.location, "x.example") != NULL, "%s", r.location);
  assert_safe(r.location, "Location");
  pkjwt_token *t = NULL;
  int retry = 0;
  const char *expiry_from = NULL;
  e = (pkjwt_error)PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt__oauth_token_response(&t, pkjwt__profile_default(),
                                               s.base, &r, 1700000000, &retry,
                                               &expiry_from, &e),
                   PKJWT_ERR_HTTP);
  ck_assert_ptr_nonnull(strstr(e.hint, "x.example"));
  assert_safe(e.hint, "redirect hint");
  pkjwt__http_response_clear(&r);
  canned_stop(&s);
}
END_TEST

/* Malformed token answers: each a PKJWT_ERR_RESPONSE with a printable
 * message that quotes none of the body (it may hold a token). */
START_TEST(malformed_token_answers) {
  static const char *const bodies[] = {
      "",
      "null",
      "1",
      "\"x\"",
      "[]",
      "{",
      "{\"access_token\":\"abc\"",
      "{\"access_token\":[],\"token_type\":\"Bearer\",\"expires_in\":60}",
      "{\"access_token\":\"abc\",\"token_type\":null,\"expires_in\":60}",
      "{\"access_token\":\"abc\",\"token_type\":\"Bearer\",\"expires_in\":{}}",
      "{\"access_token\":\"\xff\xfe\",\"token_type\":\"Bearer\","
      "\"expires_in\":60}",
      "{\"access_token\":\"a\xc0\xaf"
      "b\",\"token_type\":\"Bearer\","
      "\"expires_in\":60}",
      "{\"access_token\":\"abc\\u0000def\",\"token_type\":\"Bearer\","
      "\"expires_in\":60}",
      "{\"access_token\":\"abc\",\"token_type\":\"Bearer\","
      "\"expires_in\":1e400}",
  };
  for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
    pkjwt_token *t;
    pkjwt_error e = PKJWT_ERROR_INIT;
    int rc = judge(&t, &e, 200, bodies[i]);
    ck_assert_msg(rc == PKJWT_ERR_RESPONSE, "body %zu: %d %s", i, rc,
                  e.message);
    ck_assert_ptr_null(t);
    assert_safe(e.message, "message");
    ck_assert_ptr_null(strstr(e.message, "abc"));
  }
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("printable");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, table_byte_by_byte);
  tcase_add_test(tc, truncation_keeps_whole_pieces);
  tcase_add_test(tc, random_bytes_come_out_safe);
  tcase_add_test(tc, oauth_words_are_printable);
  tcase_add_test(tc, location_is_printable);
  tcase_add_test(tc, malformed_token_answers);
  suite_add_tcase(s, tc);
  return s;
}

PKJWT_TEST_MAIN(make_suite)
