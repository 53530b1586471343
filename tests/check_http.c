/*
 * tests/check_http.c: the transport's URL policy and form encoding
 * (lib/http.c), without a server: what is refused is refused before any
 * connection, and a closed loopback port is a retryable network error.
 */
#include "testutil.h"

#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static const struct {
  const char *url;
  int code;
  int loopback;
} policy[] = {
    {"https://app.puzzel.com/id/connect/token", PKJWT_OK, 0},
    {"HTTPS://App.Puzzel.com", PKJWT_OK, 0},
    {"https://127.0.0.1:8443/x", PKJWT_OK, 1},
    {"http://127.0.0.1:8080/id/connect/token", PKJWT_OK, 1},
    {"http://127.5.6.7/", PKJWT_OK, 1},
    {"http://127.1/", PKJWT_OK, 1}, /* curl normalises it to 127.0.0.1 */
    {"http://[::1]:8080/", PKJWT_OK, 1},
    {"http://localhost:8080/", PKJWT_OK, 1},
    {"http://LocalHost/", PKJWT_OK, 1},
    {"http://app.puzzel.com/", PKJWT_ERR_INSECURE, 0},
    {"http://10.1.2.3/", PKJWT_ERR_INSECURE, 0},
    {"http://128.0.0.1/", PKJWT_ERR_INSECURE, 0},
    {"http://[::2]/", PKJWT_ERR_INSECURE, 0},
    {"http://[::ffff:8.8.8.8]/", PKJWT_ERR_INSECURE, 0},
    {"http://localhost.example.com/", PKJWT_ERR_INSECURE, 0},
    {"http://127.0.0.1.example.com/", PKJWT_ERR_INSECURE, 0},
    {"http://127.0.0.1@example.com/", PKJWT_ERR_INSECURE, 0},
    {"ftp://127.0.0.1/", PKJWT_ERR_INSECURE, 0},
    {"file:///etc/passwd", PKJWT_ERR_INSECURE, 0},
    {"not a url", PKJWT_ERR_INVALID_ARG, 0},
    {"", PKJWT_ERR_INVALID_ARG, 0},
};

START_TEST(url_policy) {
  for (size_t i = 0; i < sizeof(policy) / sizeof(policy[0]); i++) {
    pkjwt_error e = PKJWT_ERROR_INIT;
    int lo = -1;
    int rc = pkjwt__http_url_check(policy[i].url, "token endpoint", &lo, &e);
    ck_assert_msg(rc == policy[i].code, "%s: got %d (%s)", policy[i].url, rc,
                  e.message);
    if (rc == PKJWT_OK)
      ck_assert_msg(lo == policy[i].loopback, "%s: loopback %d", policy[i].url,
                    lo);
    else
      ck_assert_msg(strncmp(e.message, "token endpoint: ", 16) == 0, "%s",
                    e.message);
  }
}
END_TEST

START_TEST(insecure_request_never_leaves) {
  pkjwt__http_opts o = {NULL, 1000, 1000, "pkjwt-test"};
  pkjwt__http_response r;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(
      pkjwt__http_request(&r, &o, "http://192.0.2.1/", "a=b", NULL, &e),
      PKJWT_ERR_INSECURE);
  ck_assert_int_eq(r.status, 0);
  ck_assert_ptr_null(r.body);
  pkjwt__http_response_clear(&r);
}
END_TEST

START_TEST(closed_port_is_retryable_network_error) {
  /* Bind a port, learn its number, close it: nothing listens there. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(fd, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  socklen_t al = sizeof(a);
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
  close(fd);
  char url[64];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/id/connect/token",
           ntohs(a.sin_port));
  pkjwt__http_opts o = {NULL, 2000, 2000, "pkjwt-test"};
  pkjwt__http_response r;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt__http_request(&r, &o, url, "a=b", NULL, &e),
                   PKJWT_ERR_NETWORK);
  ck_assert_int_eq(r.retryable, 1);
  ck_assert_ptr_nonnull(strstr(e.message, url));
  ck_assert_int_gt((int)strlen(e.hint), 0);
  pkjwt__http_response_clear(&r);
}
END_TEST

START_TEST(form_encoding) {
  char *f = NULL;
  size_t n = 0;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(
      pkjwt__form_add(&f, &n, "grant_type", "client_credentials", &e),
      PKJWT_OK);
  ck_assert_int_eq(
      pkjwt__form_add(&f, &n, "scope", "contact-centre:1 2&x=/\xc3\xa9", &e),
      PKJWT_OK);
  ck_assert_str_eq(f, "grant_type=client_credentials&scope=contact-centre%3A1"
                      "%202%26x%3D%2F%C3%A9");
  ck_assert_uint_eq(n, strlen(f));
  pkjwt__cleanse_free(f, n + 1);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("http");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, url_policy);
  tcase_add_test(tc, insecure_request_never_leaves);
  tcase_add_test(tc, closed_port_is_retryable_network_error);
  tcase_add_test(tc, form_encoding);
  suite_add_tcase(s, tc);
  return s;
}

PKJWT_TEST_MAIN(make_suite)
