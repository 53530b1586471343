/*
 * tests/check_discovery.c: an issuer's metadata (lib/discovery.c) and the
 * client that discovers with it (lib/client.c), the provider profiles'
 * rules (lib/profile.c), and the Cache-Control reader (lib/http.c).
 */
#include "testutil.h"

#include <check.h>

#include "canned_server.h"
#include "discovery.h"
#include "http.h"

#define ISS "https://op.example/t/"
#define DOC(iss, te, methods, algs)                                            \
  "{\"issuer\":\"" iss "\",\"token_endpoint\":\"" te                           \
  "\",\"token_endpoint_auth_methods_supported\":[" methods "]" algs "}"

static int parse(pkjwt__discovery *d, const char *body, pkjwt_error *e) {
  return pkjwt__discovery_parse(d, body, strlen(body), ISS, "U", e);
}

START_TEST(urls) {
  char *u = pkjwt__discovery_url("https://h/realms/r", 0);
  ck_assert_str_eq(u, "https://h/realms/r/.well-known/openid-configuration");
  free(u);
  u = pkjwt__discovery_url("https://t.auth0.com/", 0);
  ck_assert_str_eq(u, "https://t.auth0.com/.well-known/openid-configuration");
  free(u);
  u = pkjwt__discovery_url("https://h/op", 1);
  ck_assert_str_eq(u, "https://h/.well-known/oauth-authorization-server/op");
  free(u);
  u = pkjwt__discovery_url("https://h/", 1);
  ck_assert_str_eq(u, "https://h/.well-known/oauth-authorization-server");
  free(u);
  ck_assert_ptr_null(pkjwt__discovery_url("nohost", 0));
  ck_assert_ptr_null(pkjwt__discovery_url("https:///x", 0));
}
END_TEST

START_TEST(document_taken) {
  pkjwt_error e = PKJWT_ERROR_INIT;
  pkjwt__discovery d;
  /* a BOM before it is skipped */
  int rc =
      parse(&d,
            "\xEF\xBB\xBF" DOC(ISS, "https://op.example/t/token",
                               "\"client_secret_basic\",\"private_key_jwt\"",
                               ",\"token_endpoint_auth_signing_alg_values_"
                               "supported\":[\"PS256\",\"ES256\",7]"),
            &e);
  ck_assert_msg(rc == PKJWT_OK, "%s", e.message);
  ck_assert_str_eq(d.token_endpoint, "https://op.example/t/token");
  ck_assert_str_eq(d.algs[0], "PS256");
  ck_assert_str_eq(d.algs[1], "ES256");
  ck_assert_ptr_null(d.algs[2]);
  ck_assert_str_eq(d.algs_text, "PS256 ES256");
  pkjwt__discovery_clear(&d);
  /* without a list: any alg */
  rc = parse(&d,
             DOC(ISS, "https://op.example/t/token", "\"private_key_jwt\"", ""),
             &e);
  ck_assert_int_eq(rc, PKJWT_OK);
  ck_assert_ptr_null(d.algs);
  pkjwt__discovery_clear(&d);
}
END_TEST

START_TEST(document_refused) {
  static const struct {
    const char *body;
    int code;
    const char *in_message;
  } cases[] = {
      /* the issuer compares exactly: a slash less is another issuer */
      {DOC("https://op.example/t", "https://op.example/t/token",
           "\"private_key_jwt\"", ""),
       PKJWT_ERR_RESPONSE, "is not " ISS " exactly"},
      {"{\"token_endpoint\":\"https://op.example/t/token\"}",
       PKJWT_ERR_RESPONSE, "(none)"},
      {"{\"issuer\":\"" ISS "\",\"token_endpoint_auth_methods_supported\":["
       "\"private_key_jwt\"]}",
       PKJWT_ERR_RESPONSE, "no token_endpoint"},
      {DOC(ISS, "https://op.example/t/token", "\"client_secret_basic\"", ""),
       PKJWT_ERR_RESPONSE, "private_key_jwt"},
      /* absent: client_secret_basic only (RFC 8414 2) */
      {"{\"issuer\":\"" ISS "\",\"token_endpoint\":\"https://o/t\"}",
       PKJWT_ERR_RESPONSE, "private_key_jwt"},
      {DOC(ISS, "http://evil.example/token", "\"private_key_jwt\"", ""),
       PKJWT_ERR_INSECURE, "token endpoint"},
      {DOC(ISS, "https://op.example/t/\\u001b[2Jtoken", "\"private_key_jwt\"",
           ""),
       PKJWT_ERR_RESPONSE, "characters a URL cannot"},
      {"[1,2]", PKJWT_ERR_RESPONSE, "not a JSON object"},
      {"{\"issuer\":1,\"issuer\":2}", PKJWT_ERR_RESPONSE, "not a JSON object"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    pkjwt_error e = PKJWT_ERROR_INIT;
    pkjwt__discovery d;
    int rc = parse(&d, cases[i].body, &e);
    ck_assert_msg(rc == cases[i].code, "case %zu: %d (%s)", i, rc, e.message);
    ck_assert_msg(strstr(e.message, cases[i].in_message) != NULL,
                  "case %zu: %s", i, e.message);
    ck_assert_ptr_null(d.token_endpoint);
    pkjwt__discovery_clear(&d);
  }
}
END_TEST

START_TEST(document_bounded_and_printable) {
  pkjwt_error e = PKJWT_ERROR_INIT;
  pkjwt__discovery d;
  size_t n = 256 * 1024 + 1;
  char *big = malloc(n + 1);
  ck_assert_ptr_nonnull(big);
  memset(big, ' ', n);
  big[0] = '{';
  big[n - 1] = '}';
  big[n] = '\0';
  ck_assert_int_eq(pkjwt__discovery_parse(&d, big, n, ISS, "U", &e),
                   PKJWT_ERR_RESPONSE);
  ck_assert_ptr_nonnull(strstr(e.message, "256 KiB"));
  free(big);
  /* a server's alg names are made printable before they are kept */
  int rc = parse(&d,
                 DOC(ISS, "https://op.example/t/token", "\"private_key_jwt\"",
                     ",\"token_endpoint_auth_signing_alg_values_supported\":"
                     "[\"RS\\u001b[2J256\\u202e\"]"),
                 &e);
  ck_assert_int_eq(rc, PKJWT_OK);
  for (const char *p = d.algs_text; *p; p++)
    ck_assert_int_ge((unsigned char)*p, 0x20);
  ck_assert_ptr_null(strstr(d.algs_text, "\xE2\x80\xAE"));
  pkjwt__discovery_clear(&d);
}
END_TEST

START_TEST(cache_control) {
  ck_assert_int_eq(pkjwt__http_max_age("max-age=3600"), 3600);
  ck_assert_int_eq(pkjwt__http_max_age("public, MAX-AGE=60, must-revalidate"),
                   60);
  ck_assert_int_eq(pkjwt__http_max_age("no-store"), 0);
  ck_assert_int_eq(pkjwt__http_max_age("max-age=10, no-cache"), 0);
  ck_assert_int_eq(pkjwt__http_max_age("public"), -1);
  ck_assert_int_eq(pkjwt__http_max_age("max-age="), -1);
  ck_assert_int_le(pkjwt__http_max_age("max-age=1000000009"), 1000000000L);
  ck_assert_int_le(pkjwt__http_max_age("max-age=99999999999999999999"),
                   1000000000L);
}
END_TEST

/* ---- the client that discovers, against a canned server ---- */

static canned_server g_cs;
static const char *g_doc_algs; /* the list the document names */

/* Request 1 is the metadata (issuer BASE/op, at OpenID Connect's place),
 * the others the token endpoint. */
static char *answers(void *ud, int n) {
  (void)ud;
  char *a = malloc(2048);
  if (!a)
    return NULL;
  if (n == 1 && strstr(g_cs.last_req, "GET /op/.well-known/openid-config"))
    snprintf(a, 2048,
             CANNED_JSON_200(
                 "{\"issuer\":\"%s/op\",\"token_endpoint\":\"%s/op/token\","
                 "\"token_endpoint_auth_methods_supported\":"
                 "[\"private_key_jwt\"]%s%s%s}"),
             g_cs.base, g_cs.base,
             g_doc_algs ? ",\"token_endpoint_auth_signing_alg_values_"
                          "supported\":["
                        : "",
             g_doc_algs ? g_doc_algs : "", g_doc_algs ? "]" : "");
  else if (n == 1)
    snprintf(a, 2048, "HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
  else
    snprintf(a, 2048,
             CANNED_JSON_200("{\"access_token\":\"tok%d\",\"token_type\":"
                             "\"Bearer\",\"expires_in\":600}"),
             n);
  return a;
}

static pkjwt_client *discovering(const pkjwt_key *k, const char *profile,
                                 pkjwt_alg alg, pkjwt_error *e) {
  char issuer[96];
  snprintf(issuer, sizeof(issuer), "%s/op", g_cs.base);
  pkjwt_client_options o = PKJWT_CLIENT_OPTIONS_INIT;
  o.issuer = issuer;
  o.client_id = "c";
  o.scope = "s";
  o.key = k;
  o.alg = alg;
  o.profile = profile;
  o.retries = 0;
  pkjwt_client *c = NULL;
  ck_assert_msg(pkjwt_client_new(&c, &o, e) == PKJWT_OK, "%s", e->message);
  return c;
}

/* The alg of the last assertion the server got. */
static void last_alg(char *out, size_t n) {
  const char *a = strstr(g_cs.last_req, "client_assertion=");
  ck_assert_ptr_nonnull(a);
  a += strlen("client_assertion=");
  char jws[4096];
  size_t l = strcspn(a, "&\r\n");
  ck_assert_uint_lt(l, sizeof(jws));
  memcpy(jws, a, l);
  jws[l] = '\0';
  char *h = NULL, *cl = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_assertion_decode(&h, &cl, jws, &e), PKJWT_OK);
  const char *p = strstr(h, "\"alg\":\"");
  ck_assert_ptr_nonnull(p);
  p += 7;
  snprintf(out, n, "%.*s", (int)strcspn(p, "\""), p);
  pkjwt_str_free(h);
  pkjwt_str_free(cl);
}

START_TEST(client_discovers) {
  memset(&g_cs, 0, sizeof(g_cs));
  g_cs.make = answers;
  ck_assert_int_eq(canned_start(&g_cs), 0);
  pkjwt_key *rsa = tu_key("RSA2048"), *ec = tu_key("P-256");
  pkjwt_error e = PKJWT_ERROR_INIT;

  /* RSA key, the server takes PS256 and ES256 only: PS256 */
  g_doc_algs = "\"ES256\",\"PS256\"";
  pkjwt_client *c = discovering(rsa, "generic", PKJWT_ALG_DEFAULT, &e);
  ck_assert_ptr_null(pkjwt_client_token_endpoint(c));
  pkjwt_token *t = NULL;
  ck_assert_msg(pkjwt_client_get_token(&t, c, &e) == PKJWT_OK, "%s", e.message);
  char endpoint[96], alg[16];
  snprintf(endpoint, sizeof(endpoint), "%s/op/token", g_cs.base);
  ck_assert_str_eq(pkjwt_client_token_endpoint(c), endpoint);
  last_alg(alg, sizeof(alg));
  ck_assert_str_eq(alg, "PS256");
  pkjwt_token_free(t);
  /* the document, kept for 24 h (no Cache-Control), goes to a new client
   * that then sends no metadata request */
  char *doc = NULL;
  int64_t until = 0;
  ck_assert_int_eq(pkjwt_client_metadata(&doc, &until, c, &e), PKJWT_OK);
  ck_assert_int_gt(until, (int64_t)time(NULL) + 86000);
  pkjwt_client_free(c);
  c = discovering(rsa, NULL, PKJWT_ALG_DEFAULT, &e);
  ck_assert_int_eq(pkjwt_client_metadata_set(c, doc, strlen(doc), until, &e),
                   PKJWT_OK);
  ck_assert_str_eq(pkjwt_client_token_endpoint(c), endpoint);
  int before = atomic_load(&g_cs.requests);
  ck_assert_int_eq(pkjwt_client_discover(c, &e), PKJWT_OK);
  ck_assert_int_eq(atomic_load(&g_cs.requests), before);
  pkjwt_client_free(c);
  pkjwt_str_free(doc);

  /* an EC key the server lists no alg for: both lists named */
  g_doc_algs = "\"RS256\"";
  atomic_store(&g_cs.requests, 0);
  c = discovering(ec, NULL, PKJWT_ALG_DEFAULT, &e);
  ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_ERR_ALG);
  ck_assert_msg(strstr(e.message, "(ES256)") && strstr(e.message, "(RS256)"),
                "%s", e.message);
  ck_assert_int_eq(atomic_load(&g_cs.requests), 1); /* no token request */
  pkjwt_client_free(c);

  /* a given alg the server does not list */
  g_doc_algs = "\"RS256\"";
  atomic_store(&g_cs.requests, 0);
  c = discovering(rsa, NULL, PKJWT_ALG_PS384, &e);
  ck_assert_int_eq(pkjwt_client_discover(c, &e), PKJWT_ERR_ALG);
  ck_assert_ptr_nonnull(strstr(e.message, "not PS384"));
  pkjwt_client_free(c);

  pkjwt_key_free(rsa);
  pkjwt_key_free(ec);
  canned_stop(&g_cs);
}
END_TEST

START_TEST(profiles_rules) {
  pkjwt_key *rsa = tu_key("RSA2048"), *ec = tu_key("P-256");
  pkjwt_client *c = NULL;
  pkjwt_client_options o = PKJWT_CLIENT_OPTIONS_INIT;
  pkjwt_error e = PKJWT_ERROR_INIT;
  o.client_id = "c";
  o.scope = "s";
  o.key = ec;
  /* every profile is listed and has a base URL or its form */
  size_t n = 0;
  for (const char *p; (p = pkjwt_client_profile_name(n)); n++)
    ck_assert_ptr_nonnull(
        pkjwt_client_profile_get(p, PKJWT_PROFILE_BASE_URL_FORM));
  ck_assert_uint_ge(n, 6);
  ck_assert_str_eq(pkjwt_client_profile_name(0), "puzzel");
  /* no default host: nothing to fall back on */
  o.profile = "entra";
  ck_assert_int_eq(pkjwt_client_new(&c, &o, &e), PKJWT_ERR_INVALID_ARG);
  ck_assert_ptr_nonnull(strstr(e.message, "login.microsoftonline.com/TENANT"));
  o.profile = "generic";
  ck_assert_int_eq(pkjwt_client_new(&c, &o, &e), PKJWT_ERR_INVALID_ARG);
  ck_assert_ptr_nonnull(strstr(e.message, "issuer"));
  /* the tenant, realm, ... as the base URL */
  o.profile = "keycloak";
  o.base_url = "https://kc.example/realms/r/";
  ck_assert_int_eq(pkjwt_client_new(&c, &o, &e), PKJWT_OK);
  ck_assert_str_eq(pkjwt_client_token_endpoint(c),
                   "https://kc.example/realms/r/protocol/openid-connect/token");
  ck_assert_str_eq(pkjwt_client_issuer(c), "https://kc.example/realms/r");
  ck_assert_ptr_null(pkjwt_client_check_endpoint(c));
  pkjwt_client_free(c);
  o.profile = "auth0";
  o.base_url = "https://t.auth0.com";
  ck_assert_int_eq(pkjwt_client_new(&c, &o, &e), PKJWT_ERR_INVALID_ARG);
  ck_assert_ptr_nonnull(strstr(e.message, "audience"));
  const char *const params[] = {"audience", "https://api", NULL};
  o.params = params;
  ck_assert_int_eq(pkjwt_client_new(&c, &o, &e), PKJWT_ERR_ALG);
  ck_assert_ptr_nonnull(strstr(e.message, "RS256 PS256"));
  o.key = rsa;
  ck_assert_int_eq(pkjwt_client_new(&c, &o, &e), PKJWT_OK);
  ck_assert_str_eq(pkjwt_client_issuer(c), "https://t.auth0.com/");
  pkjwt_client_free(c);
  o.alg = PKJWT_ALG_RS384;
  ck_assert_int_eq(pkjwt_client_new(&c, &o, &e), PKJWT_ERR_ALG);
  /* an issuer alone, whatever the profile: discovery, never the default
   * host */
  o = (pkjwt_client_options)PKJWT_CLIENT_OPTIONS_INIT;
  o.client_id = "c";
  o.scope = "s";
  o.key = ec;
  o.issuer = "https://idp.example/x";
  ck_assert_int_eq(pkjwt_client_new(&c, &o, &e), PKJWT_OK);
  ck_assert_ptr_null(pkjwt_client_token_endpoint(c));
  /* x5t flags need a certificate */
  ck_assert_int_eq(pkjwt_client_set_x5t(c, PKJWT_X5T_SHA1, &e),
                   PKJWT_ERR_INVALID_ARG);
  ck_assert_int_eq(pkjwt_client_set_x5t(c, 0, &e), PKJWT_OK);
  pkjwt_client_free(c);
  pkjwt_key_free(rsa);
  pkjwt_key_free(ec);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("discovery");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, urls);
  tcase_add_test(tc, document_taken);
  tcase_add_test(tc, document_refused);
  tcase_add_test(tc, document_bounded_and_printable);
  tcase_add_test(tc, cache_control);
  tcase_add_test(tc, client_discovers);
  tcase_add_test(tc, profiles_rules);
  suite_add_tcase(s, tc);
  return s;
}

PKJWT_TEST_MAIN(make_suite)
