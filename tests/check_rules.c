/*
 * tests/check_rules.c: rules the whole library keeps.
 *
 * - One allocator rule: an application may give Jansson its own allocator
 *   (json_set_alloc_funcs). This file installs one whose blocks carry a
 *   header with a magic word and a trailing canary, and keeps a list of
 *   the live ones. Key export, signing, verifying, a token fetch and the
 *   check endpoint then run on it. Every string the API hands back must not
 *   be a Jansson block (it is freed with pkjwt_str_free, i.e. free()), the
 *   Jansson free must only ever see its own blocks (else abort), and no
 *   Jansson block may be left alive. Under ASan (CI) a Jansson block given
 *   to free(), or ours to Jansson's, is also reported by ASan itself.
 * - One options-version rule: every options struct accepts 1..current and
 *   refuses 0 and current + 1 with PKJWT_ERR_INVALID_ARG.
 * - The thread-safe strerror wrapper gives libc's text.
 */
#include "testutil.h"

#include "canned_server.h"
#include "internal.h"

#include <errno.h>
#include <pthread.h>

#include <jansson.h>

/* ---- a Jansson allocator with canaries ---- */

#define J_MAGIC 0x4a414e53534f4e21ULL /* "JANSSON!" */
#define J_DEAD 0x4445414442454546ULL  /* "DEADBEEF" */
#define J_TAIL 0xa5
#define J_TAIL_LEN 8
#define J_MAX_LIVE 65536

typedef struct j_head {
  uint64_t magic;
  size_t size;
  uint64_t pad[2]; /* keeps the user block 16-byte aligned */
} j_head;

static pthread_mutex_t j_mu = PTHREAD_MUTEX_INITIALIZER;
static void *j_live[J_MAX_LIVE];
static long j_nlive, j_allocs;

static void j_bad(const char *why, void *p) {
  fprintf(stderr, "check_rules: Jansson's free got %p: %s\n", p, why);
  abort();
}

static void *j_malloc(size_t n) {
  j_head *h = malloc(sizeof(*h) + n + J_TAIL_LEN);
  if (!h)
    return NULL;
  h->magic = J_MAGIC;
  h->size = n;
  unsigned char *user = (unsigned char *)(h + 1);
  memset(user + n, J_TAIL, J_TAIL_LEN);
  pthread_mutex_lock(&j_mu);
  long i = 0;
  while (i < J_MAX_LIVE && j_live[i])
    i++;
  if (i == J_MAX_LIVE) {
    pthread_mutex_unlock(&j_mu);
    fprintf(stderr, "check_rules: too many live Jansson blocks\n");
    abort();
  }
  j_live[i] = user;
  j_nlive++;
  j_allocs++;
  pthread_mutex_unlock(&j_mu);
  return user;
}

static void j_free(void *p) {
  if (!p)
    return;
  pthread_mutex_lock(&j_mu);
  long i = 0;
  while (i < J_MAX_LIVE && j_live[i] != p)
    i++;
  if (i < J_MAX_LIVE) {
    j_live[i] = NULL;
    j_nlive--;
  }
  pthread_mutex_unlock(&j_mu);
  /* Not one of ours: do not even read in front of it. */
  if (i == J_MAX_LIVE)
    j_bad("not a block of this allocator", p);
  j_head *h = (j_head *)p - 1;
  if (h->magic != J_MAGIC)
    j_bad("header overwritten", p);
  unsigned char *tail = (unsigned char *)p + h->size;
  for (int k = 0; k < J_TAIL_LEN; k++)
    if (tail[k] != J_TAIL)
      j_bad("written past its end", p);
  h->magic = J_DEAD;
  free(h);
}

static int is_jansson_block(const void *p) {
  pthread_mutex_lock(&j_mu);
  int found = 0;
  for (long i = 0; i < J_MAX_LIVE && !found; i++)
    found = j_live[i] == p;
  pthread_mutex_unlock(&j_mu);
  return found;
}

static long live_blocks(void) {
  pthread_mutex_lock(&j_mu);
  long n = j_nlive;
  pthread_mutex_unlock(&j_mu);
  return n;
}

/* Before main, so that no Jansson block is ever made by another allocator. */
__attribute__((constructor)) static void install_allocator(void) {
  json_set_alloc_funcs(j_malloc, j_free);
}

/* A string from the API: ours, not Jansson's; freed the documented way. */
#define OWN_STRING(s)                                                          \
  do {                                                                         \
    ck_assert_ptr_nonnull(s);                                                  \
    ck_assert_msg(!is_jansson_block(s), "%s is a Jansson block", #s);          \
    pkjwt_str_free(s);                                                         \
    (s) = NULL;                                                                \
  } while (0)

/* ---- the judge works ---- */

START_TEST(the_canary_allocator_is_in_use) {
  json_t *j = json_pack("{s:s}", "a", "b");
  ck_assert_ptr_nonnull(j);
  char *d = json_dumps(j, JSON_COMPACT);
  ck_assert(is_jansson_block(d));
  char *own = strdup(d);
  ck_assert(!is_jansson_block(own));
  free(own);
  json_free_t f;
  json_get_alloc_funcs(NULL, &f);
  f(d);
  json_decref(j);
  ck_assert_int_eq(live_blocks(), 0);
}
END_TEST

/* ---- every string the library returns ---- */

static const char *AUD = "https://server.example/token";

START_TEST(strings_are_never_jansson_blocks) {
  long before = live_blocks();
  pkjwt_key *ec = NULL, *rsa = NULL, *back = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ec = tu_key("P-256");
  rsa = tu_key("RSA2048");

  /* key export: JWK, JWKS, and a JWK read back */
  char *jwk = NULL, *jwks = NULL;
  ck_assert_int_eq(pkjwt_jwk_export(&jwk, ec, NULL, &e), PKJWT_OK);
  ck_assert_int_eq(pkjwt_key_from_jwk(&back, jwk, strlen(jwk), &e), PKJWT_OK);
  ck_assert(pkjwt_key_equal_public(back, ec));
  pkjwt_key_free(back);
  OWN_STRING(jwk);
  const pkjwt_key *both[] = {ec, rsa};
  ck_assert_int_eq(pkjwt_jwks_export(&jwks, both, NULL, 2, &e), PKJWT_OK);
  OWN_STRING(jwks);

  /* sign, with extra claims (parsed and re-written through Jansson) */
  pkjwt_sign_options so = PKJWT_SIGN_OPTIONS_INIT;
  so.client_id = "rules";
  so.audience = AUD;
  so.extra_claims = "{\"scope\":\"s\",\"n\":[1,2,{\"x\":null}]}";
  char *jws = NULL;
  ck_assert_int_eq(pkjwt_assertion_sign(&jws, ec, &so, &e), PKJWT_OK);
  ck_assert(!is_jansson_block(jws));

  /* decode, verify and the verify report */
  char *head = NULL, *claims = NULL;
  ck_assert_int_eq(pkjwt_assertion_decode(&head, &claims, jws, &e), PKJWT_OK);
  ck_assert_ptr_nonnull(strstr(claims, "\"scope\":\"s\""));
  OWN_STRING(head);
  OWN_STRING(claims);
  pkjwt_verify_options vo = PKJWT_VERIFY_OPTIONS_INIT;
  vo.audience = AUD;
  pkjwt_verify_result *r = NULL;
  ck_assert_int_eq(pkjwt_assertion_verify(&r, jws, ec, &vo, &e), PKJWT_OK);
  ck_assert(!is_jansson_block(r->header_json));
  ck_assert(!is_jansson_block(r->claims_json));
  char *report = NULL;
  ck_assert_int_eq(pkjwt_verify_result_json(&report, r, &e), PKJWT_OK);
  ck_assert_ptr_nonnull(strstr(report, "\"valid\":true"));
  OWN_STRING(report);
  pkjwt_verify_result_free(r);
  OWN_STRING(jws);

  /* a token fetch and the check endpoint, from a loopback server */
  canned_server s;
  memset(&s, 0, sizeof(s));
  s.answer = CANNED_JSON_200("{\"access_token\":\"tok-1\",\"expires_in\":900,"
                             "\"token_type\":\"Bearer\",\"scope\":\"s\","
                             "\"extra\":{\"a\":[1,2,3]}}");
  ck_assert_int_eq(canned_start(&s), 0);
  pkjwt_client_options co = PKJWT_CLIENT_OPTIONS_INIT;
  co.base_url = s.base;
  co.client_id = "rules";
  co.scope = "s";
  co.key = rsa;
  co.retries = 0;
  pkjwt_client *c = NULL;
  ck_assert_int_eq(pkjwt_client_new(&c, &co, &e), PKJWT_OK);
  pkjwt_token *t = NULL;
  ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_OK);
  ck_assert_str_eq(t->access_token, "tok-1");
  ck_assert(!is_jansson_block(t) && !is_jansson_block(t->access_token) &&
            !is_jansson_block(t->response_json));
  pkjwt_token_free(t);
  char *info = NULL;
  ck_assert_int_eq(pkjwt_client_check(&info, c, "tok-1", &e), PKJWT_OK);
  OWN_STRING(info);
  /* an OAuth error answer goes through Jansson too */
  s.answer = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
             "Connection: close\r\n\r\n{\"error\":\"invalid_client\","
             "\"error_description\":\"no\"}";
  pkjwt_client_invalidate(c);
  ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_ERR_OAUTH);
  pkjwt_client_free(c);
  canned_stop(&s);

  pkjwt_key_free(ec);
  pkjwt_key_free(rsa);
  ck_assert_int_eq(live_blocks(), before);
}
END_TEST

/* ---- one options-version rule ---- */

static int version_refused(int rc, const pkjwt_error *e) {
  return rc == PKJWT_ERR_INVALID_ARG && strstr(e->message, "version") != NULL;
}

START_TEST(every_options_struct_takes_1_to_current) {
  pkjwt_error e = PKJWT_ERROR_INIT;
  pkjwt_key *k = tu_key("P-256");
  char *dir = test_tmpdir();
  canned_server s;
  memset(&s, 0, sizeof(s));
  ck_assert_int_eq(canned_start(&s), 0);
  static const unsigned bumps[] = {0, 1, 2}; /* 0, current, current + 1 */
  for (size_t i = 0; i < 3; i++) {
    int ok = bumps[i] == 1;
    int rc;
    char *out = NULL;

    pkjwt_sign_options so = PKJWT_SIGN_OPTIONS_INIT;
    so.version = ok ? so.version : bumps[i] ? so.version + 1 : 0;
    so.client_id = "v";
    so.audience = AUD;
    rc = pkjwt_assertion_sign(&out, k, &so, &e);
    ck_assert_msg(ok ? rc == PKJWT_OK : version_refused(rc, &e),
                  "sign options version %u: %d %s", so.version, rc, e.message);
    char *jws = out;

    pkjwt_verify_options vo = PKJWT_VERIFY_OPTIONS_INIT;
    vo.version = ok ? vo.version : bumps[i] ? vo.version + 1 : 0;
    pkjwt_verify_result *r = NULL;
    if (jws) {
      rc = pkjwt_assertion_verify(&r, jws, k, &vo, &e);
      ck_assert_msg(ok ? rc == PKJWT_OK : version_refused(rc, &e),
                    "verify options version %u: %d %s", vo.version, rc,
                    e.message);
      pkjwt_verify_result_free(r);
      pkjwt_str_free(jws);
    }

    pkjwt_jwk_options jo = PKJWT_JWK_OPTIONS_INIT;
    jo.version = ok ? jo.version : bumps[i] ? jo.version + 1 : 0;
    out = NULL;
    rc = pkjwt_jwk_export(&out, k, &jo, &e);
    ck_assert_msg(ok ? rc == PKJWT_OK : version_refused(rc, &e),
                  "JWK options version %u: %d %s", jo.version, rc, e.message);
    pkjwt_str_free(out);

    pkjwt_write_options wo = PKJWT_WRITE_OPTIONS_INIT;
    wo.version = ok ? wo.version : bumps[i] ? wo.version + 1 : 0;
    char name[32];
    snprintf(name, sizeof(name), "k%zu.pem", i);
    char *path = test_path(dir, name);
    rc = pkjwt_key_write_private(k, path, &wo, &e);
    ck_assert_msg(ok ? rc == PKJWT_OK : version_refused(rc, &e),
                  "write options version %u: %d %s", wo.version, rc, e.message);
    ck_assert_int_eq(access(path, F_OK) == 0, ok);
    free(path);

    pkjwt_key_uri_options uo = PKJWT_KEY_URI_OPTIONS_INIT;
    uo.version = ok ? uo.version : bumps[i] ? uo.version + 1 : 0;
    char *kp = test_path(dir, "uri.pem");
    if (i == 0)
      ck_assert_int_eq(pkjwt_key_write_private(k, kp, NULL, &e), PKJWT_OK);
    pkjwt_key *uk = NULL;
    rc = pkjwt_key_load_uri(&uk, kp, &uo, &e);
    ck_assert_msg(ok ? rc == PKJWT_OK : version_refused(rc, &e),
                  "key URI options version %u: %d %s", uo.version, rc,
                  e.message);
    pkjwt_key_free(uk);
    free(kp);

    pkjwt_cert_options cto = PKJWT_CERT_OPTIONS_INIT;
    cto.version = ok ? cto.version : bumps[i] ? cto.version + 1 : 0;
    pkjwt_cert *cert = NULL;
    rc = pkjwt_cert_self_signed(&cert, k, &cto, &e);
    ck_assert_msg(ok ? rc == PKJWT_OK : version_refused(rc, &e),
                  "certificate options version %u: %d %s", cto.version, rc,
                  e.message);
    pkjwt_cert_free(cert);

    pkjwt_client_options co = PKJWT_CLIENT_OPTIONS_INIT;
    co.version = ok ? co.version : bumps[i] ? co.version + 1 : 0;
    co.base_url = s.base;
    co.client_id = "v";
    co.scope = "s";
    co.key = k;
    pkjwt_client *c = NULL;
    rc = pkjwt_client_new(&c, &co, &e);
    ck_assert_msg(ok ? rc == PKJWT_OK : version_refused(rc, &e),
                  "client options version %u: %d %s", co.version, rc,
                  e.message);
    pkjwt_client_free(c);
  }
  canned_stop(&s);
  test_rmtree(dir);
  free(dir);
  pkjwt_key_free(k);
}
END_TEST

/* ---- strerror ---- */

START_TEST(strerror_gives_the_libc_text) {
  char buf[PKJWT__STRERROR_LEN];
  const int codes[] = {ENOENT, EACCES, EEXIST, ENOSPC};
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
    /* libc's own text is the judge (single-threaded here) */
    char want[256];
    snprintf(want, sizeof(want), "%s", strerror(codes[i]));
    ck_assert_str_eq(pkjwt__strerror(codes[i], buf, sizeof(buf)), want);
  }
  /* an unknown number still gives a line, and a tiny buffer is safe */
  const char *u = pkjwt__strerror(123456, buf, sizeof(buf));
  ck_assert_int_gt((int)strlen(u), 0);
  char tiny[4];
  ck_assert_ptr_nonnull(pkjwt__strerror(ENOENT, tiny, sizeof(tiny)));
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("rules");
  TCase *tc = tcase_create("allocator");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, the_canary_allocator_is_in_use);
  tcase_add_test(tc, strings_are_never_jansson_blocks);
  suite_add_tcase(s, tc);
  tc = tcase_create("options_version");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, every_options_struct_takes_1_to_current);
  suite_add_tcase(s, tc);
  tc = tcase_create("strerror");
  tcase_add_test(tc, strerror_gives_the_libc_text);
  suite_add_tcase(s, tc);
  return s;
}

PKJWT_TEST_MAIN(make_suite)
