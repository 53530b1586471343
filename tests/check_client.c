/*
 * tests/check_client.c: the token client (lib/client.c, lib/http.c) against
 * the Puzzel-shaped test endpoint (tests/endpoint/puzzel_endpoint.py), which
 * judges our assertions with python3-jwcrypto. The endpoints are started
 * once per run on 127.0.0.1 (plain http, https with the test CA, https with
 * an untrusted certificate), reset before each test, and stopped at the end.
 * Retry sleeps go through a hook that records the delays asked for.
 */
#include "testutil.h"

#include "canned_server.h"
#include "client_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#define SCOPE "contact-centre:1234:5678"

/* ---- the endpoint processes ---- */

typedef struct endpoint {
  pid_t pid;
  char base[128];
  const char *ctl_cafile; /* for the control requests; NULL: no TLS */
  int ctl_insecure;       /* untrusted server: control skips verification */
} endpoint;

static char *g_dir;
static endpoint g_http, g_tls, g_untrusted;

typedef struct keyspec {
  const char *id;      /* client id registered with the endpoint */
  const char *newkey;  /* openssl req -newkey argument */
  const char *pkeyopt; /* or NULL */
  pkjwt_key *key;
} keyspec;

static keyspec g_keys[] = {
    {"client-p256", "ec", "ec_paramgen_curve:P-256", NULL},
    {"client-p384", "ec", "ec_paramgen_curve:P-384", NULL},
    {"client-p521", "ec", "ec_paramgen_curve:P-521", NULL},
    {"client-rsa", "rsa:2048", NULL, NULL},
};
#define NKEYS (sizeof(g_keys) / sizeof(g_keys[0]))
#define P256 (&g_keys[0])
#define RSA (&g_keys[3])

/* Outside a test Check's asserts cannot report, so main's helpers exit. */
static char *xpath(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (!p)
    exit(99);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

static void make_keys(void) {
  for (size_t i = 0; i < NKEYS; i++) {
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && '%s' req -x509 -newkey %s %s%s -nodes -keyout "
             "%s.key -subj /CN=%s -days 2 -outform DER -out %s.der "
             "2>/dev/null && base64 -w0 %s.der > %s.b64",
             g_dir, test_openssl(), g_keys[i].newkey,
             g_keys[i].pkeyopt ? "-pkeyopt " : "",
             g_keys[i].pkeyopt ? g_keys[i].pkeyopt : "", g_keys[i].id,
             g_keys[i].id, g_keys[i].id, g_keys[i].id, g_keys[i].id);
    if (test_run(NULL, cmd) != 0) {
      fprintf(stderr, "could not make key %s\n", g_keys[i].id);
      exit(99);
    }
    char *path = xpath(g_dir, g_keys[i].id);
    char kp[4096];
    snprintf(kp, sizeof(kp), "%s.key", path);
    pkjwt_error e = PKJWT_ERROR_INIT;
    if (pkjwt_key_load_file(&g_keys[i].key, kp, NULL, &e) != PKJWT_OK) {
      fprintf(stderr, "%s: %s\n", kp, e.message);
      exit(99);
    }
    free(path);
  }
}

static void endpoint_start(endpoint *ep, const char *name,
                           const char *tls_args) {
  char *pf = xpath(g_dir, name);
  char cmd[8192];
  int n = snprintf(cmd, sizeof(cmd),
                   "exec '%s' '%s/tests/endpoint/puzzel_endpoint.py' "
                   "--port-file '%s.port' --max-seconds 600 %s",
                   test_python3(), test_srcdir(), pf, tls_args);
  for (size_t i = 0; i < NKEYS; i++)
    n += snprintf(cmd + n, sizeof(cmd) - (size_t)n,
                  " --client '%s:" SCOPE ":%s/%s.b64'", g_keys[i].id, g_dir,
                  g_keys[i].id);
  /* a client whose scope is not Puzzel's, for the 403 of the check */
  n += snprintf(cmd + n, sizeof(cmd) - (size_t)n,
                " --client 'client-plain:profile:%s/%s.b64'", g_dir, P256->id);
  n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, " 2>'%s.log'", pf);
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  ep->pid = pid;
  char portfile[4096];
  snprintf(portfile, sizeof(portfile), "%s.port", pf);
  long port = 0;
  /* Bounded: python and jwcrypto start in well under a second, but a
   * loaded CI machine gets 30 s. */
  for (int i = 0; i < 600 && port == 0; i++) {
    char *s = test_read_file(portfile, NULL);
    if (s) {
      char *end;
      port = strtol(s, &end, 10);
      if (end == s || port <= 0 || port > 65535)
        port = 0;
      free(s);
    }
    int st;
    if (port == 0 && waitpid(pid, &st, WNOHANG) == pid) {
      fprintf(stderr, "endpoint %s exited; see %s.log\n", name, pf);
      exit(99);
    }
    if (port == 0)
      usleep(50000);
  }
  if (port == 0) {
    fprintf(stderr, "endpoint %s did not start\n", name);
    exit(99);
  }
  snprintf(ep->base, sizeof(ep->base), "%s://127.0.0.1:%ld",
           tls_args[0] ? "https" : "http", port);
  free(pf);
}

static void endpoint_stop(endpoint *ep) {
  if (ep->pid <= 0)
    return;
  kill(ep->pid, SIGTERM);
  for (int i = 0; i < 100; i++) {
    if (waitpid(ep->pid, NULL, WNOHANG) == ep->pid) {
      ep->pid = 0;
      return;
    }
    usleep(50000);
  }
  kill(ep->pid, SIGKILL);
  waitpid(ep->pid, NULL, 0);
  ep->pid = 0;
}

/* ---- talking to the endpoint's test control API ---- */

typedef struct membuf {
  char *p;
  size_t n;
} membuf;

static size_t mb_write(char *p, size_t s, size_t n, void *ud) {
  membuf *m = ud;
  char *np = realloc(m->p, m->n + s * n + 1);
  if (!np)
    return 0;
  m->p = np;
  memcpy(m->p + m->n, p, s * n);
  m->n += s * n;
  m->p[m->n] = '\0';
  return s * n;
}

/* POST json (or GET when json is NULL) to ep's path; returns the parsed
 * answer (the caller decrefs). */
static json_t *ctl(const endpoint *ep, const char *path, const char *json) {
  char url[256];
  snprintf(url, sizeof(url), "%s%s", ep->base, path);
  CURL *h = curl_easy_init();
  ck_assert_ptr_nonnull(h);
  membuf m = {0};
  struct curl_slist *hd =
      curl_slist_append(NULL, "Content-Type: application/json");
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, mb_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &m);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
  if (ep->ctl_cafile)
    curl_easy_setopt(h, CURLOPT_CAINFO, ep->ctl_cafile);
  if (ep->ctl_insecure) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (json)
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
  CURLcode c = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(hd);
  curl_easy_cleanup(h);
  ck_assert_msg(c == CURLE_OK, "%s: %s", url, curl_easy_strerror(c));
  ck_assert_msg(status == 200, "%s: HTTP %ld: %s", url, status, m.p ? m.p : "");
  json_t *j = json_loads(m.p ? m.p : "", 0, NULL);
  ck_assert_ptr_nonnull(j);
  free(m.p);
  return j;
}

static void ctl_do(const endpoint *ep, const char *path, const char *json) {
  json_decref(ctl(ep, path, json));
}

static void ep_reset(const endpoint *ep) {
  ctl_do(ep, "/_test/reset", "{}");
  ctl_do(ep, "/_test/config", "{\"strict\": false, \"token_lifetime\": 900}");
}

static void misbehave(const endpoint *ep, const char *json) {
  ctl_do(ep, "/_test/misbehave", json);
}

static json_t *stats(const endpoint *ep) {
  return ctl(ep, "/_test/stats", NULL);
}

static long stat_int(const endpoint *ep, const char *name) {
  json_t *s = stats(ep);
  json_t *v = json_object_get(s, name);
  ck_assert_msg(json_is_integer(v), "stats.%s", name);
  long n = (long)json_integer_value(v);
  json_decref(s);
  return n;
}

/* stats.<list>[i] as a string ("" for null); the caller frees. */
static char *stat_str(const endpoint *ep, const char *list, size_t i) {
  json_t *s = stats(ep);
  json_t *a = json_object_get(s, list);
  ck_assert_msg(json_is_array(a) && i < json_array_size(a),
                "stats.%s has no item %zu", list, i);
  const char *v = json_string_value(json_array_get(a, i));
  char *out = strdup(v ? v : "");
  json_decref(s);
  return out;
}

/* Every jti the server saw is different from every other. */
static void assert_jtis_distinct(const endpoint *ep, size_t want) {
  json_t *s = stats(ep);
  json_t *a = json_object_get(s, "jtis");
  ck_assert_uint_eq(json_array_size(a), want);
  for (size_t i = 0; i < json_array_size(a); i++)
    for (size_t k = i + 1; k < json_array_size(a); k++)
      ck_assert_str_ne(json_string_value(json_array_get(a, i)),
                       json_string_value(json_array_get(a, k)));
  json_decref(s);
}

/* ---- hooks: sleep, clock, events ---- */

static long g_sleeps[32];
static int g_nsleeps;
static int g_real_sleep;

static void record_sleep(void *ud, long ms) {
  (void)ud;
  if (g_nsleeps < 32)
    g_sleeps[g_nsleeps++] = ms;
  if (g_real_sleep)
    usleep((useconds_t)ms * 1000);
}

static int64_t g_now;
static int64_t fake_clock(void *ud) {
  return *(int64_t *)ud;
}

static pthread_mutex_t g_ev_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_events[64];
static char g_event_text[64][768];
static int g_nevents;

static void on_event(void *ud, pkjwt_event ev, const char *msg) {
  (void)ud;
  pthread_mutex_lock(&g_ev_mu);
  if (g_nevents < 64) {
    g_events[g_nevents] = ev;
    snprintf(g_event_text[g_nevents], sizeof(g_event_text[0]), "%s", msg);
    g_nevents++;
  }
  pthread_mutex_unlock(&g_ev_mu);
}

static int count_events(pkjwt_event ev) {
  int n = 0;
  for (int i = 0; i < g_nevents; i++)
    n += g_events[i] == (int)ev;
  return n;
}

/* Options for a client of key k against ep, with the hooks. */
static pkjwt_client_options opts_for(const endpoint *ep, const keyspec *k) {
  pkjwt_client_options o = PKJWT_CLIENT_OPTIONS_INIT;
  o.base_url = ep->base;
  o.client_id = k->id;
  o.scope = SCOPE;
  o.key = k->key;
  o.on_event = on_event;
  o.connect_timeout_ms = 5000;
  o.timeout_ms = 20000;
  return o;
}

static pkjwt_client *client_for(const pkjwt_client_options *o) {
  pkjwt_client *c = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  int rc = pkjwt_client_new(&c, o, &e);
  ck_assert_msg(rc == PKJWT_OK, "client_new: %s", e.message);
  pkjwt__client_set_sleep(c, record_sleep, NULL);
  return c;
}

static void per_test_setup(void) {
  g_nsleeps = 0;
  g_real_sleep = 0;
  g_nevents = 0;
  ep_reset(&g_http);
}

static char *url_of(const endpoint *ep, const char *path) {
  size_t n = strlen(ep->base) + strlen(path) + 1;
  char *s = malloc(n);
  snprintf(s, n, "%s%s", ep->base, path);
  return s;
}

/* ---- tests: getting tokens ---- */

static const struct {
  keyspec *k;
  pkjwt_alg alg;
  const char *name;
} alg_cases[] = {
    {&g_keys[0], PKJWT_ALG_DEFAULT, "ES256"},
    {&g_keys[1], PKJWT_ALG_ES384, "ES384"},
    {&g_keys[2], PKJWT_ALG_DEFAULT, "ES512"},
    {&g_keys[3], PKJWT_ALG_RS256, "RS256"},
    {&g_keys[3], PKJWT_ALG_RS384, "RS384"},
    {&g_keys[3], PKJWT_ALG_RS512, "RS512"},
    {&g_keys[3], PKJWT_ALG_PS256, "PS256"},
    {&g_keys[3], PKJWT_ALG_PS384, "PS384"},
    {&g_keys[3], PKJWT_ALG_PS512, "PS512"},
};

START_TEST(every_alg_gets_a_token) {
  size_t n = sizeof(alg_cases) / sizeof(alg_cases[0]);
  for (size_t i = 0; i < n; i++) {
    pkjwt_client_options o = opts_for(&g_http, alg_cases[i].k);
    o.alg = alg_cases[i].alg;
    pkjwt_client *c = client_for(&o);
    pkjwt_token *t = NULL;
    pkjwt_error e = PKJWT_ERROR_INIT;
    int rc = pkjwt_client_get_token(&t, c, &e);
    ck_assert_msg(rc == PKJWT_OK, "%s: %s (%s)", alg_cases[i].name, e.message,
                  e.hint);
    ck_assert_int_gt((int)strlen(t->access_token), 20);
    ck_assert_str_eq(t->token_type, "Bearer");
    ck_assert_str_eq(t->scope, "contact-centre");
    ck_assert_int_eq(t->expires_in, 900);
    ck_assert_int_ge(t->expires_at, (int64_t)time(NULL) + 890);
    ck_assert_ptr_nonnull(strstr(t->response_json, t->access_token));
    char *alg = stat_str(&g_http, "algs", i);
    ck_assert_str_eq(alg, alg_cases[i].name);
    free(alg);
    char *typ = stat_str(&g_http, "typs", i);
    ck_assert_str_eq(typ, "JWT");
    free(typ);
    char *aud = stat_str(&g_http, "audiences", i);
    char *want = url_of(&g_http, "/id/connect/token");
    ck_assert_str_eq(aud, want);
    free(aud);
    free(want);
    pkjwt_token_free(t);
    pkjwt_client_free(c);
  }
  ck_assert_int_eq(stat_int(&g_http, "token_successes"), (long)n);
}
END_TEST

START_TEST(issuer_mode_passes_strict_server) {
  ctl_do(&g_http, "/_test/config", "{\"strict\": true}");
  pkjwt_client_options o = opts_for(&g_http, P256);
  o.audience_mode = PKJWT_AUD_ISSUER;
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_msg(pkjwt_client_get_token(&t, c, &e) == PKJWT_OK, "%s", e.message);
  char *aud = stat_str(&g_http, "audiences", 0),
       *typ = stat_str(&g_http, "typs", 0);
  char *want = url_of(&g_http, "/id");
  ck_assert_str_eq(aud, want);
  ck_assert_str_eq(typ, "client-authentication+jwt");
  free(aud);
  free(typ);
  free(want);
  pkjwt_token_free(t);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(token_endpoint_aud_refused_by_strict_server_not_retried) {
  ctl_do(&g_http, "/_test/config", "{\"strict\": true}");
  pkjwt_client_options o = opts_for(&g_http, P256);
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_ERR_OAUTH);
  ck_assert_ptr_null(t);
  ck_assert_int_eq(e.code, PKJWT_ERR_OAUTH);
  ck_assert_str_eq(e.oauth_error, "invalid_client");
  ck_assert_int_ge(e.http_status, 400);
  ck_assert_int_lt(e.http_status, 500);
  ck_assert_int_gt((int)strlen(e.message), 0);
  ck_assert_ptr_nonnull(strstr(e.hint, "certificate or JWK"));
  ck_assert_ptr_nonnull(strstr(e.hint, "clock"));
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 1);
  ck_assert_uint_eq(pkjwt_client_request_count(c), 1);
  ck_assert_int_eq(g_nsleeps, 0);
  ck_assert_int_eq(count_events(PKJWT_EVENT_FAILED), 1);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(auto_mode_switches_and_remembers) {
  ctl_do(&g_http, "/_test/config", "{\"strict\": true}");
  pkjwt_client_options o = opts_for(&g_http, P256);
  o.audience_mode = PKJWT_AUD_AUTO;
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_msg(pkjwt_client_get_token(&t, c, &e) == PKJWT_OK, "%s", e.message);
  pkjwt_token_free(t);
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 2);
  char *tok_ep = url_of(&g_http, "/id/connect/token");
  char *iss = url_of(&g_http, "/id");
  char *a0 = stat_str(&g_http, "audiences", 0);
  char *a1 = stat_str(&g_http, "audiences", 1);
  char *t1 = stat_str(&g_http, "typs", 1);
  ck_assert_str_eq(a0, tok_ep);
  ck_assert_str_eq(a1, iss);
  ck_assert_str_eq(t1, "client-authentication+jwt");
  free(a0);
  free(a1);
  free(t1);
  assert_jtis_distinct(&g_http, 2);
  /* The next fetch starts with the form that worked. */
  pkjwt_client_invalidate(c);
  ck_assert_msg(pkjwt_client_get_token(&t, c, &e) == PKJWT_OK, "%s", e.message);
  pkjwt_token_free(t);
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 3);
  char *a2 = stat_str(&g_http, "audiences", 2);
  ck_assert_str_eq(a2, iss);
  free(a2);
  free(tok_ep);
  free(iss);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(auto_mode_on_lenient_server_keeps_token_endpoint) {
  pkjwt_client_options o = opts_for(&g_http, RSA);
  o.audience_mode = PKJWT_AUD_AUTO;
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_msg(pkjwt_client_get_token(&t, c, &e) == PKJWT_OK, "%s", e.message);
  pkjwt_token_free(t);
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 1);
  char *typ = stat_str(&g_http, "typs", 0);
  ck_assert_str_eq(typ, "JWT");
  free(typ);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(custom_audience_and_trailing_slash) {
  char base[160];
  snprintf(base, sizeof(base), "%s/", g_http.base);
  pkjwt_client_options o = opts_for(&g_http, P256);
  o.base_url = base; /* one trailing '/' is dropped */
  o.audience_mode = PKJWT_AUD_CUSTOM;
  char *iss = url_of(&g_http, "/id");
  o.audience = iss;
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_msg(pkjwt_client_get_token(&t, c, &e) == PKJWT_OK, "%s", e.message);
  pkjwt_token_free(t);
  char *aud = stat_str(&g_http, "audiences", 0),
       *typ = stat_str(&g_http, "typs", 0);
  ck_assert_str_eq(aud, iss);
  ck_assert_str_eq(typ, "JWT");
  free(aud);
  free(typ);
  free(iss);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(invalid_scope_has_hint) {
  pkjwt_client_options o = opts_for(&g_http, P256);
  o.scope = "contact-centre:9999:1";
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_ERR_OAUTH);
  ck_assert_str_eq(e.oauth_error, "invalid_scope");
  ck_assert_ptr_nonnull(strstr(e.hint, "contact-centre:TENANT_ID:USER_ID"));
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 1);
  pkjwt_client_free(c);
}
END_TEST

/* ---- tests: misbehaviour and retries ---- */

START_TEST(retry_after_503_with_fresh_jti) {
  misbehave(&g_http, "{\"mode\": \"503\", \"count\": 2}");
  pkjwt_client_options o = opts_for(&g_http, P256);
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_msg(pkjwt_client_get_token(&t, c, &e) == PKJWT_OK, "%s", e.message);
  pkjwt_token_free(t);
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 3);
  ck_assert_int_eq(stat_int(&g_http, "token_successes"), 1);
  assert_jtis_distinct(&g_http, 3);
  ck_assert_uint_eq(pkjwt_client_request_count(c), 3);
  /* full jitter under a doubling ceiling */
  ck_assert_int_eq(g_nsleeps, 2);
  ck_assert_int_ge(g_sleeps[0], 0);
  ck_assert_int_le(g_sleeps[0], 250);
  ck_assert_int_le(g_sleeps[1], 500);
  ck_assert_int_eq(count_events(PKJWT_EVENT_RETRIED), 2);
  ck_assert_int_eq(count_events(PKJWT_EVENT_FETCHED), 1);
  ck_assert_int_eq(count_events(PKJWT_EVENT_FAILED), 0);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(retry_after_header_honoured) {
  misbehave(&g_http, "{\"mode\": \"429\", \"count\": 1, \"retry_after\": 2}");
  pkjwt_client_options o = opts_for(&g_http, P256);
  pkjwt_client *c = client_for(&o);
  g_real_sleep = 1;
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  time_t t0 = time(NULL);
  ck_assert_msg(pkjwt_client_get_token(&t, c, &e) == PKJWT_OK, "%s", e.message);
  pkjwt_token_free(t);
  ck_assert_int_ge((long)(time(NULL) - t0), 1);
  ck_assert_int_eq(g_nsleeps, 1);
  ck_assert_int_eq(g_sleeps[0], 2000);
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 2);
  ck_assert_int_eq(stat_int(&g_http, "token_successes"), 1);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(retry_after_clamped_to_30s) {
  misbehave(&g_http,
            "{\"mode\": \"503\", \"count\": 1, \"retry_after\": 3600}");
  pkjwt_client_options o = opts_for(&g_http, P256);
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_msg(pkjwt_client_get_token(&t, c, &e) == PKJWT_OK, "%s", e.message);
  pkjwt_token_free(t);
  ck_assert_int_eq(g_nsleeps, 1);
  ck_assert_int_eq(g_sleeps[0], 30000);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(retries_run_out) {
  misbehave(&g_http, "{\"mode\": \"503\", \"count\": 10}");
  pkjwt_client_options o = opts_for(&g_http, P256);
  o.retries = 2;
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_ERR_HTTP);
  ck_assert_int_eq(e.http_status, 503);
  ck_assert_ptr_nonnull(strstr(e.message, "503"));
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 3);
  assert_jtis_distinct(&g_http, 3);
  ck_assert_int_eq(count_events(PKJWT_EVENT_RETRIED), 2);
  ck_assert_int_eq(count_events(PKJWT_EVENT_FAILED), 1);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(no_retries_when_zero) {
  misbehave(&g_http, "{\"mode\": \"503\", \"count\": 10}");
  pkjwt_client_options o = opts_for(&g_http, P256);
  o.retries = 0;
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_ERR_HTTP);
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 1);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(garbage_is_a_response_error) {
  misbehave(&g_http, "{\"mode\": \"garbage\", \"count\": 5}");
  pkjwt_client_options o = opts_for(&g_http, P256);
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_ERR_RESPONSE);
  ck_assert_ptr_null(t);
  ck_assert_ptr_nonnull(strstr(e.message, "not a JSON object"));
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 1);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(oversize_is_cut_at_1_mib) {
  misbehave(&g_http, "{\"mode\": \"oversize\", \"count\": 5}");
  pkjwt_client_options o = opts_for(&g_http, P256);
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_ERR_RESPONSE);
  ck_assert_ptr_nonnull(strstr(e.message, "larger than 1 MiB"));
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 1);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(dropped_connection_is_retried) {
  misbehave(&g_http, "{\"mode\": \"drop\", \"count\": 1}");
  pkjwt_client_options o = opts_for(&g_http, P256);
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_msg(pkjwt_client_get_token(&t, c, &e) == PKJWT_OK, "%s", e.message);
  pkjwt_token_free(t);
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 2);
  ck_assert_int_eq(g_nsleeps, 1);
  assert_jtis_distinct(&g_http, 2);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(dropped_connection_without_retries_is_network_error) {
  misbehave(&g_http, "{\"mode\": \"drop\", \"count\": 1}");
  pkjwt_client_options o = opts_for(&g_http, P256);
  o.retries = 0;
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_ERR_NETWORK);
  ck_assert_int_gt((int)strlen(e.hint), 0);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(error_in_a_200_is_refused) {
  misbehave(&g_http, "{\"mode\": \"error200\", \"count\": 5}");
  pkjwt_client_options o = opts_for(&g_http, P256);
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_ERR_OAUTH);
  ck_assert_str_eq(e.oauth_error, "server_error");
  ck_assert_int_eq(e.http_status, 200);
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 1);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(invalid_client_not_retried) {
  misbehave(&g_http, "{\"mode\": \"invalid_client\", \"count\": 5}");
  pkjwt_client_options o = opts_for(&g_http, RSA);
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_ERR_OAUTH);
  ck_assert_str_eq(e.oauth_error, "invalid_client");
  ck_assert_ptr_nonnull(strstr(e.hint, "Organisation Settings"));
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 1);
  ck_assert_int_eq(g_nsleeps, 0);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(slow_answer_times_out) {
  misbehave(&g_http, "{\"mode\": \"slow\", \"count\": 5, \"delay\": 4}");
  pkjwt_client_options o = opts_for(&g_http, P256);
  o.timeout_ms = 1000;
  o.retries = 1;
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_ERR_TIMEOUT);
  clock_gettime(CLOCK_MONOTONIC, &b);
  /* two attempts of 1 s and a short backoff: far under 10 s */
  ck_assert_int_lt((long)(b.tv_sec - a.tv_sec), 10);
  ck_assert_uint_eq(pkjwt_client_request_count(c), 2);
  ck_assert_int_eq(e.code, PKJWT_ERR_TIMEOUT);
  pkjwt_client_free(c);
}
END_TEST

/* ---- tests: the cache ---- */

START_TEST(second_get_uses_the_cache) {
  pkjwt_client_options o = opts_for(&g_http, P256);
  pkjwt_client *c = client_for(&o);
  pkjwt_token *a = NULL, *b = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_get_token(&a, c, &e), PKJWT_OK);
  ck_assert_int_eq(pkjwt_client_get_token(&b, c, &e), PKJWT_OK);
  ck_assert_str_eq(a->access_token, b->access_token);
  ck_assert_ptr_ne(a->access_token, b->access_token); /* each is a copy */
  char buf[PKJWT_TOKEN_BUF_SIZE];
  int64_t exp = 0;
  ck_assert_int_eq(pkjwt_client_get_token_buf(buf, sizeof(buf), &exp, c, &e),
                   PKJWT_OK);
  ck_assert_str_eq(buf, a->access_token);
  ck_assert_int_eq(exp, a->expires_at);
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 1);
  ck_assert_uint_eq(pkjwt_client_request_count(c), 1);
  /* too small a buffer says how large it must be */
  char small[8];
  ck_assert_int_eq(
      pkjwt_client_get_token_buf(small, sizeof(small), NULL, c, &e),
      PKJWT_ERR_INVALID_ARG);
  ck_assert_ptr_nonnull(strstr(e.message, "too small"));
  pkjwt_token_free(a);
  pkjwt_token_free(b);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(refresh_ahead_of_expiry) {
  g_now = (int64_t)time(NULL);
  pkjwt_client_options o = opts_for(&g_http, P256);
  o.clock = fake_clock;
  o.clock_userdata = &g_now;
  pkjwt_client *c = client_for(&o);
  pkjwt_token *a = NULL, *b = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  char buf[PKJWT_TOKEN_BUF_SIZE];
  ck_assert_int_eq(pkjwt_client_get_token(&a, c, &e), PKJWT_OK);
  ck_assert_int_eq(a->expires_at, g_now + 900);
  /* 900 s lifetime: refreshed when less than max(60, 90) s remain */
  g_now += 809;
  ck_assert_int_eq(pkjwt_client_get_token(&b, c, &e), PKJWT_OK);
  ck_assert_str_eq(a->access_token, b->access_token);
  ck_assert_int_eq(pkjwt_client_get_token_buf(buf, sizeof(buf), NULL, c, &e),
                   PKJWT_OK);
  ck_assert_str_eq(buf, a->access_token);
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 1);
  pkjwt_token_free(b);
  g_now += 2;
  ck_assert_int_eq(pkjwt_client_get_token_buf(buf, sizeof(buf), NULL, c, &e),
                   PKJWT_OK);
  ck_assert_str_ne(buf, a->access_token);
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 2);
  ck_assert_int_eq(pkjwt_client_get_token(&b, c, &e), PKJWT_OK);
  ck_assert_str_eq(buf, b->access_token);
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 2);
  ck_assert_int_eq(count_events(PKJWT_EVENT_FETCHED), 1);
  ck_assert_int_eq(count_events(PKJWT_EVENT_REFRESHED), 1);
  pkjwt_token_free(a);
  pkjwt_token_free(b);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(short_lifetime_reused_for_half) {
  ctl_do(&g_http, "/_test/config", "{\"token_lifetime\": 60}");
  g_now = (int64_t)time(NULL);
  pkjwt_client_options o = opts_for(&g_http, P256);
  o.clock = fake_clock;
  o.clock_userdata = &g_now;
  pkjwt_client *c = client_for(&o);
  pkjwt_token *a = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_get_token(&a, c, &e), PKJWT_OK);
  pkjwt_token_free(a);
  g_now += 29;
  ck_assert_int_eq(pkjwt_client_get_token(&a, c, &e), PKJWT_OK);
  pkjwt_token_free(a);
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 1);
  g_now += 1;
  ck_assert_int_eq(pkjwt_client_get_token(&a, c, &e), PKJWT_OK);
  pkjwt_token_free(a);
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 2);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(old_token_kept_when_refresh_fails) {
  g_now = (int64_t)time(NULL);
  pkjwt_client_options o = opts_for(&g_http, P256);
  o.clock = fake_clock;
  o.clock_userdata = &g_now;
  o.retries = 1;
  pkjwt_client *c = client_for(&o);
  pkjwt_token *a = NULL, *b = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_get_token(&a, c, &e), PKJWT_OK);
  ck_assert_str_eq(e.warning, "");
  misbehave(&g_http, "{\"mode\": \"503\", \"count\": 20}");
  g_now += 850;
  ck_assert_int_eq(pkjwt_client_get_token(&b, c, &e), PKJWT_OK);
  ck_assert_str_eq(b->access_token, a->access_token);
  ck_assert_ptr_nonnull(strstr(e.warning, "refresh"));
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 3);
  ck_assert_int_eq(count_events(PKJWT_EVENT_FAILED), 1);
  /* the warning also reached the callback, once, with the same line */
  ck_assert_int_eq(count_events(PKJWT_EVENT_WARNING), 1);
  ck_assert_str_eq(g_event_text[g_nevents - 1], e.warning);
  pkjwt_token_free(b);
  /* right after, no new storm of requests: the old token, the warning */
  char buf[PKJWT_TOKEN_BUF_SIZE];
  ck_assert_int_eq(pkjwt_client_get_token_buf(buf, sizeof(buf), NULL, c, &e),
                   PKJWT_OK);
  ck_assert_str_eq(buf, a->access_token);
  ck_assert_int_gt((int)strlen(e.warning), 0);
  ck_assert_int_eq(count_events(PKJWT_EVENT_WARNING), 2);
  /* a caller who passes no err still gets the warning as an event */
  ck_assert_int_eq(pkjwt_client_get_token(&b, c, NULL), PKJWT_OK);
  pkjwt_token_free(b);
  ck_assert_int_eq(count_events(PKJWT_EVENT_WARNING), 3);
  ck_assert_ptr_nonnull(strstr(g_event_text[g_nevents - 1], "refresh"));
  ck_assert_int_eq(pkjwt_client_get_token_buf(buf, sizeof(buf), NULL, c, NULL),
                   PKJWT_OK);
  ck_assert_int_eq(count_events(PKJWT_EVENT_WARNING), 4);
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 3);
  /* once it has expired, the failure is the caller's */
  g_now += 60;
  ck_assert_int_eq(pkjwt_client_get_token(&b, c, &e), PKJWT_ERR_HTTP);
  ck_assert_ptr_null(b);
  ck_assert_int_eq(e.http_status, 503);
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 5);
  pkjwt_token_free(a);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(invalidate_forces_a_fetch) {
  pkjwt_client_options o = opts_for(&g_http, P256);
  pkjwt_client *c = client_for(&o);
  pkjwt_token *a = NULL, *b = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_get_token(&a, c, &e), PKJWT_OK);
  pkjwt_client_invalidate(c);
  char buf[PKJWT_TOKEN_BUF_SIZE];
  ck_assert_int_eq(pkjwt_client_get_token_buf(buf, sizeof(buf), NULL, c, &e),
                   PKJWT_OK);
  ck_assert_str_ne(buf, a->access_token);
  ck_assert_int_eq(pkjwt_client_get_token(&b, c, &e), PKJWT_OK);
  ck_assert_str_eq(buf, b->access_token);
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 2);
  pkjwt_token_free(a);
  pkjwt_token_free(b);
  pkjwt_client_free(c);
}
END_TEST

/* ---- single flight ---- */

#define NTHREADS 64

typedef struct sf_arg {
  pkjwt_client *c;
  pthread_barrier_t *bar;
  int idx, rc;
  char token[PKJWT_TOKEN_BUF_SIZE];
} sf_arg;

static void *sf_thread(void *p) {
  sf_arg *a = p;
  pkjwt_error e = PKJWT_ERROR_INIT;
  pthread_barrier_wait(a->bar);
  if (a->idx % 2) {
    a->rc =
        pkjwt_client_get_token_buf(a->token, sizeof(a->token), NULL, a->c, &e);
  } else {
    pkjwt_token *t = NULL;
    a->rc = pkjwt_client_get_token(&t, a->c, &e);
    if (a->rc == PKJWT_OK)
      snprintf(a->token, sizeof(a->token), "%s", t->access_token);
    pkjwt_token_free(t);
  }
  return NULL;
}

START_TEST(single_flight_64_threads_one_request) {
  /* The one request takes a second, so every thread arrives during it. */
  misbehave(&g_http, "{\"mode\": \"slow\", \"count\": 1, \"delay\": 1}");
  pkjwt_client_options o = opts_for(&g_http, P256);
  pkjwt_client *c = client_for(&o);
  pthread_barrier_t bar;
  pthread_barrier_init(&bar, NULL, NTHREADS);
  static sf_arg args[NTHREADS];
  pthread_t th[NTHREADS];
  for (int i = 0; i < NTHREADS; i++) {
    args[i].c = c;
    args[i].bar = &bar;
    args[i].idx = i;
    args[i].rc = -1;
    ck_assert_int_eq(pthread_create(&th[i], NULL, sf_thread, &args[i]), 0);
  }
  for (int i = 0; i < NTHREADS; i++)
    pthread_join(th[i], NULL);
  pthread_barrier_destroy(&bar);
  for (int i = 0; i < NTHREADS; i++) {
    ck_assert_int_eq(args[i].rc, PKJWT_OK);
    ck_assert_str_eq(args[i].token, args[0].token);
  }
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 1);
  ck_assert_uint_eq(pkjwt_client_request_count(c), 1);
  ck_assert_int_eq(count_events(PKJWT_EVENT_FETCHED), 1);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(single_flight_shares_the_error) {
  /* A slow refusal: every thread waits on the one request and gets its
   * error (retries 0, so there is exactly one attempt). */
  misbehave(&g_http, "{\"mode\": \"slow\", \"count\": 1, \"delay\": 1}");
  pkjwt_client_options o = opts_for(&g_http, P256);
  o.scope = "contact-centre:9999:1"; /* refused with invalid_scope */
  o.retries = 0;
  pkjwt_client *c = client_for(&o);
  pthread_barrier_t bar;
  pthread_barrier_init(&bar, NULL, 16);
  static sf_arg args[16];
  pthread_t th[16];
  for (int i = 0; i < 16; i++) {
    args[i].c = c;
    args[i].bar = &bar;
    args[i].idx = i;
    args[i].rc = -1;
    ck_assert_int_eq(pthread_create(&th[i], NULL, sf_thread, &args[i]), 0);
  }
  for (int i = 0; i < 16; i++)
    pthread_join(th[i], NULL);
  pthread_barrier_destroy(&bar);
  for (int i = 0; i < 16; i++)
    ck_assert_int_eq(args[i].rc, PKJWT_ERR_OAUTH);
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 1);
  pkjwt_client_free(c);
}
END_TEST

typedef struct bg_arg {
  pkjwt_client *c;
  int rc;
  char token[PKJWT_TOKEN_BUF_SIZE];
} bg_arg;

static void *bg_get(void *p) {
  bg_arg *a = p;
  pkjwt_error e = PKJWT_ERROR_INIT;
  a->rc =
      pkjwt_client_get_token_buf(a->token, sizeof(a->token), NULL, a->c, &e);
  return NULL;
}

START_TEST(valid_token_served_while_refresh_runs) {
  g_now = (int64_t)time(NULL);
  pkjwt_client_options o = opts_for(&g_http, P256);
  o.clock = fake_clock;
  o.clock_userdata = &g_now;
  pkjwt_client *c = client_for(&o);
  pkjwt_token *old = NULL, *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_get_token(&old, c, &e), PKJWT_OK);
  /* due for refresh, still valid; the refresh's answer takes 6 s (room
   * for the checks below on a loaded machine: 2 s was once too short) */
  g_now += 850;
  misbehave(&g_http, "{\"mode\": \"slow\", \"count\": 1, \"delay\": 6}");
  bg_arg a = {c, -1, ""};
  pthread_t th;
  ck_assert_int_eq(pthread_create(&th, NULL, bg_get, &a), 0);
  /* wait (bounded) until the refresh is at the server */
  for (int i = 0; i < 200 && stat_int(&g_http, "token_requests") < 2; i++)
    usleep(20000);
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 2);
  /* meanwhile another caller gets the old, valid token without waiting
   * for the refresh: the refresh has not answered yet */
  ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_OK);
  ck_assert_str_eq(t->access_token, old->access_token);
  ck_assert_int_eq(stat_int(&g_http, "token_successes"), 1);
  pkjwt_token_free(t);
  pthread_join(th, NULL);
  ck_assert_int_eq(a.rc, PKJWT_OK);
  ck_assert_str_ne(a.token, old->access_token);
  ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_OK);
  ck_assert_str_eq(t->access_token, a.token);
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 2);
  pkjwt_token_free(t);
  pkjwt_token_free(old);
  pkjwt_client_free(c);
}
END_TEST

/* ---- canned answers: the shared loopback server (tests/canned_server.h) ----
 */

static canned_server g_cs;

/* Start the canned server with this answer; its base URL comes back. */
static const char *canned_up(const char *answer) {
  memset(&g_cs, 0, sizeof(g_cs));
  g_cs.answer = answer;
  ck_assert_int_eq(canned_start(&g_cs), 0);
  return g_cs.base;
}

#define JSON_200(body) CANNED_JSON_200(body)

/* Readers on the lock-free path while the token is replaced again and
 * again: every read is a whole token the server issued, never a mix. Each
 * token checks itself: token k is "k:" then bytes derived from k, of a
 * length derived from k (from 20 to over 3000, so the snapshot's buffer
 * grows and is retired while readers look), and the reader rebuilds the
 * whole expected token from k and compares every byte. */
#define TORN_ALPHABET                                                          \
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

static size_t torn_token(char *out, size_t cap, unsigned k) {
  int n = snprintf(out, cap, "%u:", k);
  size_t len = 20 + (size_t)(k * 997u) % 3100u;
  size_t at = (size_t)n;
  for (size_t i = 0; i < len && at + 1 < cap; i++)
    out[at++] = TORN_ALPHABET[(k * 31u + i * 7u + i / 64u) % 64u];
  out[at] = '\0';
  return at;
}

static char *torn_answer(void *unused, int n) {
  (void)unused;
  char tok[4096];
  torn_token(tok, sizeof(tok), (unsigned)n);
  size_t cap = strlen(tok) + 256;
  char *a = malloc(cap);
  if (a)
    snprintf(a, cap,
             JSON_200("{\"access_token\":\"%s\",\"expires_in\":900,"
                      "\"token_type\":\"Bearer\"}"),
             tok);
  return a;
}

typedef struct rd_arg {
  pkjwt_client *c;
  atomic_int *stop;
  long reads, bad;
  char first_bad[128];
} rd_arg;

/* Two clocks on one client: readers always see the cached token as fresh,
 * so they stay on the lock-free path, while the writer's time runs so far
 * ahead at each call that every get of its own refreshes and republishes
 * the token under the readers' eyes. */
static _Thread_local int tl_reader;
static atomic_llong g_writer_now;

static int64_t split_clock(void *unused) {
  (void)unused;
  if (tl_reader)
    return 1000;
  return (int64_t)atomic_fetch_add(&g_writer_now, 100000) + 100000;
}

/* 1 when tok is torn_token(k) for the k it names. */
static int torn_token_ok(const char *tok) {
  char *end;
  unsigned long k = strtoul(tok, &end, 10);
  if (end == tok || *end != ':' || k > 100000)
    return 0;
  char want[4096];
  torn_token(want, sizeof(want), (unsigned)k);
  return strcmp(tok, want) == 0;
}

static void *reader(void *p) {
  rd_arg *a = p;
  tl_reader = 1;
  char buf[PKJWT_TOKEN_BUF_SIZE];
  pkjwt_error e = PKJWT_ERROR_INIT;
  while (!atomic_load(a->stop)) {
    if (pkjwt_client_get_token_buf(buf, sizeof(buf), NULL, a->c, &e) !=
            PKJWT_OK ||
        !torn_token_ok(buf)) {
      if (!a->bad++)
        snprintf(a->first_bad, sizeof(a->first_bad), "%.100s", buf);
    }
    a->reads++;
  }
  return NULL;
}

START_TEST(torn_tokens_are_caught) {
  /* the judge itself: a token spliced from two is refused */
  char t1[4096], t2[4096];
  torn_token(t1, sizeof(t1), 7);
  torn_token(t2, sizeof(t2), 8);
  ck_assert(torn_token_ok(t1));
  ck_assert(torn_token_ok(t2));
  size_t half = strlen(t1) / 2;
  memcpy(t1 + half, t2 + half, strlen(t1) - half);
  ck_assert(!torn_token_ok(t1));
  ck_assert(!torn_token_ok("7:"));
}
END_TEST

START_TEST(fast_path_reads_during_refreshes) {
  const char *base = canned_up(NULL);
  g_cs.make = torn_answer;
  atomic_store(&g_writer_now, 1000);
  pkjwt_client_options o = opts_for(&g_http, P256);
  o.base_url = base;
  o.clock = split_clock;
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_OK);
  ck_assert(torn_token_ok(t->access_token));
  pkjwt_token_free(t);
  atomic_int stop;
  atomic_init(&stop, 0);
  rd_arg ra[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    ra[i] = (rd_arg){c, &stop, 0, 0, ""};
    ck_assert_int_eq(pthread_create(&th[i], NULL, reader, &ra[i]), 0);
  }
  for (int i = 0; i < 200; i++) {
    ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_OK);
    ck_assert(torn_token_ok(t->access_token));
    pkjwt_token_free(t);
  }
  atomic_store(&stop, 1);
  long reads = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    ck_assert_msg(ra[i].bad == 0, "%ld bad reads, first: %s", ra[i].bad,
                  ra[i].first_bad);
    reads += ra[i].reads;
  }
  ck_assert_int_gt(reads, 0);
  /* every get of the writer was a refresh; the readers fetched nothing */
  ck_assert_int_eq(atomic_load(&g_cs.requests), 201);
  pkjwt_client_free(c);
  canned_stop(&g_cs);
}
END_TEST

/* ---- events ---- */

START_TEST(events_never_carry_secrets) {
  misbehave(&g_http, "{\"mode\": \"503\", \"count\": 1}");
  pkjwt_client_options o = opts_for(&g_http, P256);
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_OK);
  pkjwt_client_invalidate(c);
  pkjwt_token *t2 = NULL;
  ck_assert_int_eq(pkjwt_client_get_token(&t2, c, &e), PKJWT_OK);
  ck_assert_int_ge(g_nevents, 3);
  for (int i = 0; i < g_nevents; i++) {
    ck_assert_ptr_null(strstr(g_event_text[i], t->access_token));
    ck_assert_ptr_null(strstr(g_event_text[i], t2->access_token));
    /* a JWS header starts with base64url('{"') */
    ck_assert_ptr_null(strstr(g_event_text[i], "eyJ"));
    ck_assert_ptr_null(strchr(g_event_text[i], '\n'));
    ck_assert_int_gt((int)strlen(g_event_text[i]), 10);
  }
  ck_assert_int_eq(g_events[0], PKJWT_EVENT_RETRIED);
  ck_assert_int_eq(g_events[1], PKJWT_EVENT_FETCHED);
  ck_assert_int_eq(g_events[2], PKJWT_EVENT_REFRESHED);
  pkjwt_token_free(t);
  pkjwt_token_free(t2);
  pkjwt_client_free(c);
}
END_TEST

/* ---- the check endpoint ---- */

START_TEST(check_endpoint_accepts_then_refuses) {
  pkjwt_client_options o = opts_for(&g_http, P256);
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_OK);
  char *json = NULL;
  ck_assert_msg(pkjwt_client_check(&json, c, t->access_token, &e) == PKJWT_OK,
                "%s", e.message);
  json_t *j = json_loads(json, 0, NULL);
  ck_assert_ptr_nonnull(j);
  ck_assert(json_is_true(json_object_get(j, "active")));
  ck_assert_str_eq(json_string_value(json_object_get(j, "client_id")),
                   P256->id);
  json_decref(j);
  pkjwt_str_free(json);
  ctl_do(&g_http, "/_test/expire", "{}");
  json = NULL;
  ck_assert_int_eq(pkjwt_client_check(&json, c, t->access_token, &e),
                   PKJWT_ERR_HTTP);
  ck_assert_ptr_null(json);
  ck_assert_int_eq(e.http_status, 401);
  ck_assert_ptr_nonnull(strstr(e.hint, "expired"));
  ck_assert_int_eq(stat_int(&g_http, "check_requests"), 2);
  /* the token never goes into a header when it could break one */
  ck_assert_int_eq(pkjwt_client_check(&json, c, "a b\r\nX: y", &e),
                   PKJWT_ERR_INVALID_ARG);
  ck_assert_int_eq(stat_int(&g_http, "check_requests"), 2);
  pkjwt_token_free(t);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(check_endpoint_403_hint) {
  pkjwt_client_options o = opts_for(&g_http, P256);
  o.client_id = "client-plain";
  o.scope = "profile";
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_msg(pkjwt_client_get_token(&t, c, &e) == PKJWT_OK, "%s", e.message);
  char *json = NULL;
  ck_assert_int_eq(pkjwt_client_check(&json, c, t->access_token, &e),
                   PKJWT_ERR_HTTP);
  ck_assert_int_eq(e.http_status, 403);
  ck_assert_ptr_nonnull(strstr(e.hint, "product access"));
  pkjwt_token_free(t);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(loopback_never_goes_through_a_proxy) {
  /* A proxy that does not exist: were it used, the request would fail. */
  setenv("http_proxy", "http://127.0.0.1:9", 1);
  setenv("HTTPS_PROXY", "http://127.0.0.1:9", 1);
  setenv("ALL_PROXY", "http://127.0.0.1:9", 1);
  pkjwt_client_options o = opts_for(&g_http, P256);
  o.retries = 0;
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_msg(pkjwt_client_get_token(&t, c, &e) == PKJWT_OK, "%s", e.message);
  char *json = NULL;
  ck_assert_int_eq(pkjwt_client_check(&json, c, t->access_token, &e), PKJWT_OK);
  pkjwt_str_free(json);
  pkjwt_token_free(t);
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 1);
  pkjwt_client_free(c);
}
END_TEST

/* ---- configuration and the URL policy ---- */

START_TEST(plain_http_elsewhere_is_refused) {
  pkjwt_client_options o = opts_for(&g_http, P256);
  const char *bad[] = {"http://example.com", "http://10.0.0.1:8080",
                       "http://127.0.0.1.example.com",
                       "http://127.0.0.1@example.com", "ftp://127.0.0.1"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    o.base_url = bad[i];
    pkjwt_client *c = (pkjwt_client *)1;
    pkjwt_error e = PKJWT_ERROR_INIT;
    ck_assert_int_eq(pkjwt_client_new(&c, &o, &e), PKJWT_ERR_INSECURE);
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(e.message, "https") != NULL, "%s", e.message);
  }
  /* an override is judged too */
  o.base_url = g_http.base;
  o.token_endpoint = "http://192.0.2.1/id/connect/token";
  pkjwt_client *c = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_new(&c, &o, &e), PKJWT_ERR_INSECURE);
  ck_assert_ptr_nonnull(strstr(e.message, "token endpoint"));
  ck_assert_ptr_nonnull(strstr(e.message, "loopback"));
  o.token_endpoint = NULL;
  o.check_endpoint = "http://192.0.2.1/contactcentre5/accesstokeninformation";
  ck_assert_int_eq(pkjwt_client_new(&c, &o, &e), PKJWT_ERR_INSECURE);
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), 0);
}
END_TEST

/* The profile table through the public API, and the URL rule that moved
 * from pkjwt-token into the library: a token endpoint ending in the
 * profile's token path gives the base; one that does not gives no check
 * endpoint or issuer, never the profile's host. No request is sent. */
START_TEST(profile_resolves_urls) {
  ck_assert_str_eq(pkjwt_client_profile_name(0), "puzzel");
  size_t n = 0;
  while (pkjwt_client_profile_name(n))
    n++;
  ck_assert_uint_ge(n, 1);
  ck_assert_ptr_null(pkjwt_client_profile_name(n));
  const char *tp = pkjwt_client_profile_get(NULL, PKJWT_PROFILE_TOKEN_PATH);
  ck_assert_str_eq(tp, "/id/connect/token");
  ck_assert_ptr_eq(
      tp, pkjwt_client_profile_get("puzzel", PKJWT_PROFILE_TOKEN_PATH));
  ck_assert_ptr_null(pkjwt_client_profile_get("nope", PKJWT_PROFILE_BASE_URL));
  ck_assert_ptr_null(pkjwt_client_profile_get(NULL, (pkjwt_profile_field)99));

  pkjwt_client_options o = opts_for(&g_http, P256);
  pkjwt_error e = PKJWT_ERROR_INIT;
  pkjwt_client *c = NULL;
  char url[256];
  o.base_url = NULL;
  snprintf(url, sizeof(url), "%s/on-prem/id/connect/token", g_http.base);
  o.token_endpoint = url;
  ck_assert_int_eq(pkjwt_client_new(&c, &o, &e), PKJWT_OK);
  char want[300];
  snprintf(want, sizeof(want),
           "%s/on-prem/contactcentre5/accesstokeninformation", g_http.base);
  ck_assert_str_eq(pkjwt_client_check_endpoint(c), want);
  snprintf(want, sizeof(want), "%s/on-prem/id", g_http.base);
  ck_assert_str_eq(pkjwt_client_issuer(c), want);
  pkjwt_client_free(c);

  long before = stat_int(&g_http, "token_requests");
  snprintf(url, sizeof(url), "%s/oauth2/token", g_http.base);
  ck_assert_int_eq(pkjwt_client_new(&c, &o, &e), PKJWT_OK);
  ck_assert_str_eq(pkjwt_client_token_endpoint(c), url);
  ck_assert_ptr_null(pkjwt_client_check_endpoint(c));
  ck_assert_ptr_null(pkjwt_client_issuer(c));
  char *json = NULL;
  ck_assert_int_eq(pkjwt_client_check(&json, c, "tok", &e),
                   PKJWT_ERR_INVALID_ARG);
  ck_assert_ptr_nonnull(strstr(e.message, "check endpoint"));
  ck_assert_ptr_null(json);
  pkjwt_client_free(c);
  o.audience_mode = PKJWT_AUD_ISSUER;
  c = (pkjwt_client *)1;
  ck_assert_int_eq(pkjwt_client_new(&c, &o, &e), PKJWT_ERR_INVALID_ARG);
  ck_assert_ptr_null(c);
  ck_assert_ptr_nonnull(strstr(e.message, "issuer"));
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), before);

  /* an unknown profile is refused by name; a version 1 struct has no
   * profile field, so whatever follows it is not read */
  o = opts_for(&g_http, P256);
  o.profile = "nope";
  ck_assert_int_eq(pkjwt_client_new(&c, &o, &e), PKJWT_ERR_INVALID_ARG);
  ck_assert_ptr_nonnull(strstr(e.message, "'nope'"));
  o.version = 1;
  ck_assert_int_eq(pkjwt_client_new(&c, &o, &e), PKJWT_OK);
  pkjwt_client_free(c);
}
END_TEST

/* Extra form fields (issue 9: resource for Entra v1, audience for Auth0)
 * reach the endpoint as given; the client's own names are refused before
 * any request; they change the cache id, and none keeps the old id. */
START_TEST(extra_form_fields) {
  pkjwt_client_options o = opts_for(&g_http, P256);
  pkjwt_error e = PKJWT_ERROR_INIT;
  pkjwt_client *c = NULL;
  ck_assert_int_eq(pkjwt_client_new(&c, &o, &e), PKJWT_OK);
  char *id_plain = NULL, *id_params = NULL;
  ck_assert_int_eq(pkjwt_client_cache_id(&id_plain, c, &e), PKJWT_OK);
  pkjwt_client_free(c);

  const char *const params[] = {"resource", "https://api.example/x y",
                                "audience", "aud&=1", NULL};
  o.params = params;
  ck_assert_msg(pkjwt_client_new(&c, &o, &e) == PKJWT_OK, "%s", e.message);
  ck_assert_int_eq(pkjwt_client_cache_id(&id_params, c, &e), PKJWT_OK);
  ck_assert_str_ne(id_plain, id_params);
  pkjwt_str_free(id_plain);
  pkjwt_str_free(id_params);
  pkjwt_token *t = NULL;
  ck_assert_msg(pkjwt_client_get_token(&t, c, &e) == PKJWT_OK, "%s", e.message);
  pkjwt_token_free(t);
  pkjwt_client_free(c);
  json_t *st = stats(&g_http);
  json_t *all = json_object_get(st, "extra_fields");
  json_t *last = json_array_get(all, json_array_size(all) - 1);
  ck_assert_uint_eq(json_object_size(last), 2);
  ck_assert_str_eq(json_string_value(json_object_get(last, "resource")),
                   "https://api.example/x y");
  ck_assert_str_eq(json_string_value(json_object_get(last, "audience")),
                   "aud&=1");
  json_decref(st);

  long before = stat_int(&g_http, "token_requests");
  static const char *const reserved[] = {"grant_type", "client_id", "scope",
                                         "client_assertion_type",
                                         "client_assertion"};
  for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
    const char *const bad[] = {"resource", "r", reserved[i], "x", NULL};
    o.params = bad;
    c = (pkjwt_client *)1;
    ck_assert_int_eq(pkjwt_client_new(&c, &o, &e), PKJWT_ERR_INVALID_ARG);
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(e.message, reserved[i]) != NULL, "%s", e.message);
  }
  const char *const empty[] = {"", "x", NULL};
  o.params = empty;
  ck_assert_int_eq(pkjwt_client_new(&c, &o, &e), PKJWT_ERR_INVALID_ARG);
  const char *const odd[] = {"resource", NULL};
  o.params = odd;
  ck_assert_int_eq(pkjwt_client_new(&c, &o, &e), PKJWT_ERR_INVALID_ARG);
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), before);
}
END_TEST

/* Answers as other real servers send them (issue 9.6), one misbehaviour
 * of the endpoint each. The expected lifetimes are the RFC's and the
 * documented default (300 s, cap 366 days), not read from our code. */
struct shape_case {
  const char *mode;
  int rc;
  int64_t min_in, max_in; /* expires_in range on success */
  const char *in_text;    /* in the message, the event or the hint */
};

static const struct shape_case shape_cases[] = {
    {"no_expires_in", PKJWT_OK, 300, 300, "default"},
    {"jwt_no_expires_in", PKJWT_OK, 1200, 1234, "exp"},
    {"huge_expires_in", PKJWT_OK, 366 * 86400, 366 * 86400, NULL},
    {"string_expires_in", PKJWT_OK, 900, 900, NULL},
    {"bom", PKJWT_OK, 900, 900, NULL},
    {"gzip", PKJWT_OK, 900, 900, NULL},
    {"gzip_unlabelled", PKJWT_ERR_RESPONSE, 0, 0, "gzip"},
    {"unknown_encoding", PKJWT_ERR_RESPONSE, 0, 0, "Content-Encoding"},
    {"entra_error", PKJWT_ERR_OAUTH, 0, 0,
     "AADSTS700027: Client assertion contains an invalid signature. "
     "(error_codes 700027, trace_id 0b1c-test-trace, correlation_id "
     "7e2d-test-corr)"},
    {"bare_error", PKJWT_ERR_OAUTH, 0, 0, "invalid_client"},
    {"keycloak_sig", PKJWT_ERR_OAUTH, 0, 0, "certificate or JWK"},
};

START_TEST(answers_as_real_servers_send_them) {
  const struct shape_case *sc = &shape_cases[_i];
  pkjwt_client_options o = opts_for(&g_http, P256);
  o.retries = 0;
  pkjwt_client *c = client_for(&o);
  char mb[128];
  snprintf(mb, sizeof(mb), "{\"mode\": \"%s\", \"count\": 1}", sc->mode);
  misbehave(&g_http, mb);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  int rc = pkjwt_client_get_token(&t, c, &e);
  ck_assert_msg(rc == sc->rc, "%s: rc %d (%s)", sc->mode, rc, e.message);
  if (rc == PKJWT_OK) {
    ck_assert_msg(t->expires_in >= sc->min_in && t->expires_in <= sc->max_in,
                  "%s: expires_in %lld", sc->mode, (long long)t->expires_in);
    ck_assert_int_eq(t->response_json[0], '{');
    if (sc->in_text)
      ck_assert_msg(strstr(g_event_text[g_nevents - 1], sc->in_text) != NULL,
                    "%s: event %s", sc->mode, g_event_text[g_nevents - 1]);
  } else {
    ck_assert_msg(strstr(e.message, sc->in_text) || strstr(e.hint, sc->in_text),
                  "%s: message %s, hint %s", sc->mode, e.message, e.hint);
  }
  pkjwt_token_free(t);
  pkjwt_client_free(c);
}
END_TEST

/* A certificate in the options: every assertion carries its x5t#S256
 * (Entra ID); one of another key is refused before any request. The
 * expected thumbprint is the SHA-256 of the DER by OpenSSL's CLI. */
START_TEST(cert_adds_x5t_s256) {
  pkjwt_error e = PKJWT_ERROR_INIT;
  pkjwt_cert *cert = NULL, *other = NULL;
  ck_assert_int_eq(pkjwt_cert_self_signed(&cert, P256->key, NULL, &e),
                   PKJWT_OK);
  ck_assert_int_eq(pkjwt_cert_self_signed(&other, RSA->key, NULL, &e),
                   PKJWT_OK);
  char *pem = NULL;
  ck_assert_int_eq(pkjwt_cert_pem(&pem, cert, &e), PKJWT_OK);
  char *path = test_path(g_dir, "x5t.pem");
  ck_assert_int_eq(test_write_file(path, pem, strlen(pem)), 0);
  pkjwt_str_free(pem);
  char *out = test_path(g_dir, "x5t.txt");
  char cmd[1024];
  snprintf(cmd, sizeof(cmd),
           "'%s' x509 -in '%s' -outform DER | '%s' dgst -sha256 -binary | "
           "base64 | tr '+/' '-_' | tr -d '=\\n' > '%s'",
           test_openssl(), path, test_openssl(), out);
  ck_assert_int_eq(test_run(NULL, cmd), 0);
  size_t wlen = 0;
  char *want = test_read_file(out, &wlen);
  ck_assert_ptr_nonnull(want);
  ck_assert_uint_eq(wlen, 43);
  free(path);
  free(out);

  pkjwt_client_options o = opts_for(&g_http, P256);
  o.cert = other;
  long before = stat_int(&g_http, "token_requests");
  pkjwt_client *c = (pkjwt_client *)1;
  ck_assert_int_eq(pkjwt_client_new(&c, &o, &e), PKJWT_ERR_CERT);
  ck_assert_ptr_null(c);
  ck_assert_int_eq(stat_int(&g_http, "token_requests"), before);

  o.cert = cert;
  c = client_for(&o);
  pkjwt_token *t = NULL;
  ck_assert_msg(pkjwt_client_get_token(&t, c, &e) == PKJWT_OK, "%s", e.message);
  json_t *st = stats(&g_http);
  json_t *x5ts = json_object_get(st, "x5ts");
  ck_assert_str_eq(
      json_string_value(json_array_get(x5ts, json_array_size(x5ts) - 1)), want);
  json_decref(st);
  free(want);
  pkjwt_token_free(t);
  pkjwt_client_free(c);
  pkjwt_cert_free(cert);
  pkjwt_cert_free(other);
}
END_TEST

START_TEST(options_are_checked) {
  pkjwt_client_options o = opts_for(&g_http, P256);
  pkjwt_client *c = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  pkjwt_client_options b = o;
  b.version = 99;
  ck_assert_int_eq(pkjwt_client_new(&c, &b, &e), PKJWT_ERR_INVALID_ARG);
  b = o;
  b.client_id = "";
  ck_assert_int_eq(pkjwt_client_new(&c, &b, &e), PKJWT_ERR_INVALID_ARG);
  ck_assert_ptr_nonnull(strstr(e.message, "client id"));
  b = o;
  b.scope = NULL;
  ck_assert_int_eq(pkjwt_client_new(&c, &b, &e), PKJWT_ERR_INVALID_ARG);
  b = o;
  b.key = NULL;
  ck_assert_int_eq(pkjwt_client_new(&c, &b, &e), PKJWT_ERR_INVALID_ARG);
  b = o;
  b.audience_mode = PKJWT_AUD_CUSTOM;
  ck_assert_int_eq(pkjwt_client_new(&c, &b, &e), PKJWT_ERR_INVALID_ARG);
  b = o;
  b.alg = PKJWT_ALG_ES384; /* P-256 key */
  ck_assert_int_eq(pkjwt_client_new(&c, &b, &e), PKJWT_ERR_ALG);
  ck_assert_str_eq(e.message, "algorithm ES384 does not fit P-256 key");
  b.alg = PKJWT_ALG_RS256;
  ck_assert_int_eq(pkjwt_client_new(&c, &b, &e), PKJWT_ERR_ALG);
  b = opts_for(&g_http, RSA);
  b.alg = PKJWT_ALG_ES256;
  ck_assert_int_eq(pkjwt_client_new(&c, &b, &e), PKJWT_ERR_ALG);
  ck_assert_str_eq(e.message, "algorithm ES256 does not fit an RSA key");
  b = o;
  b.retries = -2;
  ck_assert_int_eq(pkjwt_client_new(&c, &b, &e), PKJWT_ERR_INVALID_ARG);
  b = o;
  b.ca_file = "/nonexistent/ca.pem";
  ck_assert_int_eq(pkjwt_client_new(&c, &b, &e), PKJWT_ERR_IO);
  /* a public key cannot sign */
  char *pem = NULL;
  ck_assert_int_eq(pkjwt_key_public_pem(&pem, P256->key, &e), PKJWT_OK);
  pkjwt_key *pub = NULL;
  ck_assert_int_eq(pkjwt_key_load_mem(&pub, pem, strlen(pem), NULL, &e),
                   PKJWT_OK);
  pkjwt_str_free(pem);
  b = o;
  b.key = pub;
  ck_assert_int_eq(pkjwt_client_new(&c, &b, &e), PKJWT_ERR_NO_PRIVATE_KEY);
  ck_assert_ptr_null(c);
  pkjwt_key_free(pub);
  /* defaults */
  pkjwt_client_options d = PKJWT_CLIENT_OPTIONS_INIT;
  d.client_id = "x";
  d.scope = "y";
  d.key = P256->key;
  ck_assert_int_eq(pkjwt_client_new(&c, &d, &e), PKJWT_OK);
  pkjwt_client_free(c);
  pkjwt_client_free(NULL);
  pkjwt_token_free(NULL);
}
END_TEST

/* ---- https ---- */

START_TEST(https_with_the_test_ca) {
  ep_reset(&g_tls);
  pkjwt_client_options o = opts_for(&g_tls, P256);
  char *ca = test_path(g_dir, "tls/ca.pem");
  o.ca_file = ca;
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_msg(pkjwt_client_get_token(&t, c, &e) == PKJWT_OK, "%s (%s)",
                e.message, e.hint);
  char *json = NULL;
  ck_assert_int_eq(pkjwt_client_check(&json, c, t->access_token, &e), PKJWT_OK);
  pkjwt_str_free(json);
  pkjwt_token_free(t);
  ck_assert_int_eq(stat_int(&g_tls, "token_requests"), 1);
  pkjwt_client_free(c);
  free(ca);
}
END_TEST

START_TEST(https_without_the_ca_is_refused) {
  ep_reset(&g_tls);
  pkjwt_client_options o = opts_for(&g_tls, P256);
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_ERR_NETWORK);
  ck_assert_ptr_nonnull(strstr(e.message, "TLS"));
  ck_assert_ptr_nonnull(strstr(e.hint, "CA"));
  /* not a network hiccup: no retries */
  ck_assert_uint_eq(pkjwt_client_request_count(c), 1);
  ck_assert_int_eq(g_nsleeps, 0);
  ck_assert_int_eq(stat_int(&g_tls, "token_requests"), 0);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(untrusted_certificate_is_refused) {
  ep_reset(&g_untrusted);
  pkjwt_client_options o = opts_for(&g_untrusted, P256);
  char *ca = test_path(g_dir, "tls/ca.pem");
  o.ca_file = ca;
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_ERR_NETWORK);
  ck_assert_ptr_null(t);
  ck_assert_ptr_nonnull(strstr(e.message, "TLS"));
  ck_assert_uint_eq(pkjwt_client_request_count(c), 1);
  ck_assert_int_eq(g_nsleeps, 0);
  ck_assert_int_eq(stat_int(&g_untrusted, "token_requests"), 0);
  char *json = NULL;
  ck_assert_int_eq(pkjwt_client_check(&json, c, "abc", &e), PKJWT_ERR_NETWORK);
  ck_assert_int_eq(stat_int(&g_untrusted, "check_requests"), 0);
  pkjwt_client_free(c);
  free(ca);
}
END_TEST

/* ---- canned answers ---- */

static const struct {
  const char *answer;
  int code;
  const char *in_message; /* or NULL */
  int64_t expires_in;
} canned_cases[] = {
    {JSON_200("{\"access_token\":\"abc.def\",\"expires_in\":\"900\","
              "\"token_type\":\"bearer\"}"),
     PKJWT_OK, NULL, 900},
    {JSON_200("{\"access_token\":\"abc\",\"expires_in\":300.0,"
              "\"token_type\":\"BEARER\",\"scope\":\"x\"}"),
     PKJWT_OK, NULL, 300},
    {JSON_200("{\"access_token\":\"abc\",\"expires_in\":0,"
              "\"token_type\":\"Bearer\"}"),
     PKJWT_ERR_RESPONSE, "expires_in", 0},
    {JSON_200("{\"access_token\":\"abc\",\"expires_in\":-5,"
              "\"token_type\":\"Bearer\"}"),
     PKJWT_ERR_RESPONSE, "expires_in", 0},
    /* over 366 days: capped (issue 9) */
    {JSON_200("{\"access_token\":\"abc\",\"expires_in\":99999999999,"
              "\"token_type\":\"Bearer\"}"),
     PKJWT_OK, NULL, 366 * 86400},
    {JSON_200("{\"access_token\":\"abc\",\"expires_in\":\"9x\","
              "\"token_type\":\"Bearer\"}"),
     PKJWT_ERR_RESPONSE, "expires_in", 0},
    /* none, and not a JWT: the documented default (issue 9) */
    {JSON_200("{\"access_token\":\"abc\",\"token_type\":\"Bearer\"}"), PKJWT_OK,
     NULL, 300},
    {JSON_200("{\"access_token\":\"abc\",\"expires_in\":900,"
              "\"token_type\":\"mac\"}"),
     PKJWT_ERR_RESPONSE, "not Bearer", 0},
    {JSON_200("{\"access_token\":\"abc\",\"expires_in\":900}"),
     PKJWT_ERR_RESPONSE, "token_type", 0},
    {JSON_200("{\"access_token\":\"abc\",\"access_token\":\"def\","
              "\"expires_in\":900,\"token_type\":\"Bearer\"}"),
     PKJWT_ERR_RESPONSE, "repeats", 0},
    {JSON_200("{\"access_token\":\"a b\",\"expires_in\":900,"
              "\"token_type\":\"Bearer\"}"),
     PKJWT_ERR_RESPONSE, "Authorization header", 0},
    {JSON_200("{\"access_token\":5,\"expires_in\":900,"
              "\"token_type\":\"Bearer\"}"),
     PKJWT_ERR_RESPONSE, "access_token", 0},
    {JSON_200("[1,2]"), PKJWT_ERR_RESPONSE, "not a JSON object", 0},
    {"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nConnection: "
     "close\r\n\r\n<html>no</html>",
     PKJWT_ERR_HTTP, "HTTP 404", 0},
    {"HTTP/1.1 302 Found\r\nLocation: https://elsewhere.example/t\r\n"
     "Content-Length: 0\r\nConnection: close\r\n\r\n",
     PKJWT_ERR_HTTP, "HTTP 302", 0},
    {"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
     "Connection: close\r\n\r\n{\"error\":\"invalid_client\","
     "\"error_description\":\"line one\\nline two\"}",
     PKJWT_ERR_OAUTH, "line one\\x0Aline two", 0},
    {"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
     "Connection: close\r\n\r\n{\"error\":\"invalid_client\"}",
     PKJWT_ERR_OAUTH, "invalid_client", 0},
    {"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
     "Connection: close\r\n\r\nbad",
     PKJWT_ERR_HTTP, "HTTP 400", 0},
};

START_TEST(answers_are_judged) {
  const char *base = canned_up(NULL);
  size_t n = sizeof(canned_cases) / sizeof(canned_cases[0]);
  for (size_t i = 0; i < n; i++) {
    g_cs.answer = canned_cases[i].answer;
    atomic_store(&g_cs.requests, 0);
    pkjwt_client_options o = opts_for(&g_http, P256);
    o.base_url = base;
    pkjwt_client *c = client_for(&o);
    pkjwt_token *t = NULL;
    pkjwt_error e = PKJWT_ERROR_INIT;
    int rc = pkjwt_client_get_token(&t, c, &e);
    ck_assert_msg(rc == canned_cases[i].code, "case %zu: got %d (%s)", i, rc,
                  e.message);
    if (rc == PKJWT_OK) {
      ck_assert_str_eq(t->token_type, "Bearer");
      ck_assert_int_eq(t->expires_in, canned_cases[i].expires_in);
    } else {
      ck_assert_ptr_null(t);
      ck_assert_msg(strstr(e.message, canned_cases[i].in_message) != NULL,
                    "case %zu: message %s", i, e.message);
    }
    /* none of these is worth a retry */
    ck_assert_int_eq(atomic_load(&g_cs.requests), 1);
    pkjwt_token_free(t);
    pkjwt_client_free(c);
  }
  canned_stop(&g_cs);
}
END_TEST

START_TEST(redirect_not_followed_and_named) {
  const char *base = canned_up(NULL);
  g_cs.answer =
      "HTTP/1.1 301 Moved\r\nLocation: https://elsewhere.example/t\r\n"
      "Content-Length: 0\r\nConnection: close\r\n\r\n";
  pkjwt_client_options o = opts_for(&g_http, P256);
  o.base_url = base;
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_ERR_HTTP);
  ck_assert_int_eq(e.http_status, 301);
  ck_assert_ptr_nonnull(strstr(e.hint, "https://elsewhere.example/t"));
  ck_assert_int_eq(atomic_load(&g_cs.requests), 1);
  pkjwt_client_free(c);
  canned_stop(&g_cs);
}
END_TEST

START_TEST(request_has_the_rfc7523_form) {
  const char *base = canned_up(NULL);
  g_cs.answer = JSON_200("{\"access_token\":\"abc\",\"expires_in\":900,"
                         "\"token_type\":\"Bearer\"}");
  pkjwt_client_options o = opts_for(&g_http, P256);
  o.base_url = base;
  o.scope = "contact-centre:12 34&x";
  o.client_id = "my client";
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_OK);
  pkjwt_token_free(t);
  const char *r = g_cs.last_req;
  ck_assert_msg(strncmp(r, "POST /id/connect/token HTTP/1.1\r\n", 33) == 0,
                "%.60s", r);
  ck_assert_ptr_nonnull(strcasestr(r, "\r\nAccept: application/json\r\n"));
  ck_assert_ptr_nonnull(
      strcasestr(r, "\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
  ck_assert_ptr_nonnull(
      strstr(r, "\r\nUser-Agent: pkjwt/" PKJWT_VERSION_STRING "\r\n"));
  const char *body = strstr(r, "\r\n\r\n") + 4;
  ck_assert_ptr_nonnull(strstr(body, "grant_type=client_credentials"));
  ck_assert_ptr_nonnull(strstr(body, "client_id=my%20client"));
  ck_assert_ptr_nonnull(strstr(body, "scope=contact-centre%3A12%2034%26x"));
  ck_assert_ptr_nonnull(
      strstr(body, "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-"
                   "assertion-type%3Ajwt-bearer"));
  ck_assert_ptr_nonnull(strstr(body, "client_assertion=eyJ"));
  pkjwt_client_free(c);
  /* a user agent of one's own */
  o.user_agent = "my-service/2.0";
  c = client_for(&o);
  ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_OK);
  pkjwt_token_free(t);
  ck_assert_ptr_nonnull(
      strstr(g_cs.last_req, "\r\nUser-Agent: my-service/2.0\r\n"));
  pkjwt_client_free(c);
  canned_stop(&g_cs);
}
END_TEST

START_TEST(server_error_is_retried_with_backoff) {
  const char *base = canned_up(NULL);
  g_cs.answer =
      "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  pkjwt_client_options o = opts_for(&g_http, P256);
  o.base_url = base;
  o.retries = 5;
  pkjwt_client *c = client_for(&o);
  pkjwt_token *t = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_get_token(&t, c, &e), PKJWT_ERR_HTTP);
  ck_assert_int_eq(e.http_status, 500);
  ck_assert_int_eq(atomic_load(&g_cs.requests), 6);
  ck_assert_int_eq(g_nsleeps, 5);
  long ceiling = 250;
  for (int i = 0; i < 5; i++, ceiling *= 2) {
    ck_assert_int_ge(g_sleeps[i], 0);
    ck_assert_int_le(g_sleeps[i], ceiling > 8000 ? 8000 : ceiling);
  }
  pkjwt_client_free(c);
  canned_stop(&g_cs);
}
END_TEST

/* The refresh rule in numbers: max(60 s, 10 %) ahead, at most half the life. */
START_TEST(refresh_at_follows_the_rule) {
  pkjwt_token t = {0};
  t.expires_at = 100000;
  t.expires_in = 900; /* Puzzel's: 10 % is 90 s */
  ck_assert_int_eq(pkjwt_token_refresh_at(&t), 100000 - 90);
  t.expires_in = 3600;
  ck_assert_int_eq(pkjwt_token_refresh_at(&t), 100000 - 360);
  t.expires_in = 300; /* 10 % is 30 s, so the 60 s floor applies */
  ck_assert_int_eq(pkjwt_token_refresh_at(&t), 100000 - 60);
  t.expires_in = 60; /* 60 s ahead would be never: half its life instead */
  ck_assert_int_eq(pkjwt_token_refresh_at(&t), 100000 - 30);
  ck_assert_int_eq(pkjwt_token_refresh_at(NULL), 0);
}
END_TEST

/* ---- the run ---- */

/* ---- key sets: a rotation while a service keeps getting tokens ---- */

#define ROT_CLIENT "rotation-client"

/* A new P-256 key staged in dir, its certificate registered for
 * ROT_CLIENT at ep (beside the keys registered before). Returns the kid. */
static char *stage_and_register(const endpoint *ep, const char *dir) {
  pkjwt_key *k = NULL;
  pkjwt_cert *c = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_key_generate_ec(&k, NULL, &e), PKJWT_OK);
  ck_assert_int_eq(pkjwt_cert_self_signed(&c, k, NULL, &e), PKJWT_OK);
  char *kid = NULL;
  ck_assert_msg(pkjwt_keyset_add(&kid, dir, k, c, 0, &e) == PKJWT_OK, "%s",
                e.message);
  char *pem = NULL;
  ck_assert_int_eq(pkjwt_cert_pem(&pem, c, &e), PKJWT_OK);
  json_t *body = json_pack("{s:s,s:s,s:s}", "client_id", ROT_CLIENT, "scope",
                           SCOPE, "key", pem);
  char *js = json_dumps(body, JSON_COMPACT);
  ctl_do(ep, "/_test/register", js);
  free(js);
  json_decref(body);
  pkjwt_str_free(pem);
  pkjwt_key_free(k);
  pkjwt_cert_free(c);
  return kid;
}

/* The kid of the last assertion ep judged; the caller frees. */
static char *last_kid(const endpoint *ep) {
  json_t *s = stats(ep);
  json_t *a = json_object_get(s, "kids");
  size_t n = json_array_size(a);
  ck_assert_uint_gt(n, 0);
  const char *v = json_string_value(json_array_get(a, n - 1));
  char *out = strdup(v ? v : "");
  json_decref(s);
  return out;
}

typedef struct service {
  pkjwt_client *c;
  atomic_int stop;
  int gets, failures;
  char failure[PKJWT_ERROR_MESSAGE_MAX];
} service;

/* A service: get a token, drop it every other time, until told to stop. */
static void *service_main(void *p) {
  service *s = p;
  while (!atomic_load(&s->stop)) {
    pkjwt_token *t = NULL;
    pkjwt_error e = PKJWT_ERROR_INIT;
    if (pkjwt_client_get_token(&t, s->c, &e) != PKJWT_OK) {
      s->failures++;
      snprintf(s->failure, sizeof(s->failure), "%s", e.message);
    }
    pkjwt_token_free(t);
    if (++s->gets % 2 == 0)
      pkjwt_client_invalidate(s->c);
    usleep(2000);
  }
  return NULL;
}

static void activate_next(const char *dir) {
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_msg(pkjwt_keyset_activate(NULL, dir, NULL, &e) == PKJWT_OK, "%s",
                e.message);
}

START_TEST(keyset_rotation_never_fails_a_get) {
  char *dir = test_tmpdir();
  char *a = stage_and_register(&g_http, dir);
  activate_next(dir);
  pkjwt_keyset *ks = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_keyset_load(&ks, dir, &e), PKJWT_OK);
  pkjwt_client_options o = opts_for(&g_http, P256);
  o.client_id = ROT_CLIENT;
  o.key = NULL;
  o.keyset = ks;
  pkjwt_client *c = client_for(&o);

  pkjwt_token *t1 = NULL, *t2 = NULL;
  ck_assert_int_eq(pkjwt_client_get_token(&t1, c, &e), PKJWT_OK);
  char *kid = last_kid(&g_http);
  ck_assert_str_eq(kid, a);
  free(kid);

  /* stage B, register it beside A, activate it: the cached token stays */
  char *b = stage_and_register(&g_http, dir);
  activate_next(dir);
  ck_assert_int_eq(pkjwt_keyset_refresh(ks), 1);
  unsigned long before = pkjwt_client_request_count(c);
  ck_assert_int_eq(pkjwt_client_get_token(&t2, c, &e), PKJWT_OK);
  ck_assert_str_eq(t2->access_token, t1->access_token);
  ck_assert_uint_eq(pkjwt_client_request_count(c), before);
  pkjwt_token_free(t2);
  /* the next request is signed with B */
  pkjwt_client_invalidate(c);
  ck_assert_int_eq(pkjwt_client_get_token(&t2, c, &e), PKJWT_OK);
  ck_assert_str_ne(t2->access_token, t1->access_token);
  kid = last_kid(&g_http);
  ck_assert_str_eq(kid, b);
  free(kid);

  /* a whole rotation (B to C, retire A) under a service that keeps
   * getting and dropping tokens: not one get fails */
  service s = {.c = c, .gets = 0, .failures = 0};
  atomic_init(&s.stop, 0);
  pthread_t th;
  ck_assert_int_eq(pthread_create(&th, NULL, service_main, &s), 0);
  usleep(20000);
  char *cc = stage_and_register(&g_http, dir);
  usleep(20000);
  activate_next(dir);
  ck_assert_int_eq(pkjwt_keyset_retire(dir, a, &e), PKJWT_OK);
  int seen = 0;
  for (int i = 0; i < 300 && !seen; i++) {
    usleep(10000);
    kid = last_kid(&g_http);
    seen = strcmp(kid, cc) == 0;
    free(kid);
  }
  usleep(20000);
  atomic_store(&s.stop, 1);
  pthread_join(th, NULL);
  ck_assert_msg(seen, "the service never signed with the new key");
  ck_assert_msg(s.failures == 0, "%d of %d gets failed: %s", s.failures, s.gets,
                s.failure);
  ck_assert_int_gt(s.gets, 2);

  /* a broken set: the service keeps its key and says so as an event */
  char *mp = test_path(dir, PKJWT_KEYSET_MANIFEST);
  unlink(mp);
  ck_assert_int_eq(test_write_file(mp, "{", 1), 0);
  free(mp);
  ck_assert_int_eq(pkjwt_keyset_refresh(ks), -1);
  g_nevents = 0;
  pkjwt_client_invalidate(c);
  pkjwt_token_free(t2);
  ck_assert_int_eq(pkjwt_client_get_token(&t2, c, NULL), PKJWT_OK);
  ck_assert_int_eq(count_events(PKJWT_EVENT_WARNING), 1);
  kid = last_kid(&g_http);
  ck_assert_str_eq(kid, cc);
  free(kid);

  pkjwt_token_free(t1);
  pkjwt_token_free(t2);
  pkjwt_client_free(c);
  pkjwt_keyset_free(ks);
  free(a);
  free(b);
  free(cc);
  test_rmtree(dir);
  free(dir);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("client");
  TCase *tc = tcase_create("tokens");
  tcase_add_checked_fixture(tc, per_test_setup, NULL);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, every_alg_gets_a_token);
  tcase_add_test(tc, issuer_mode_passes_strict_server);
  tcase_add_test(tc, token_endpoint_aud_refused_by_strict_server_not_retried);
  tcase_add_test(tc, auto_mode_switches_and_remembers);
  tcase_add_test(tc, auto_mode_on_lenient_server_keeps_token_endpoint);
  tcase_add_test(tc, custom_audience_and_trailing_slash);
  tcase_add_test(tc, invalid_scope_has_hint);
  suite_add_tcase(s, tc);

  tc = tcase_create("misbehaviour");
  tcase_add_checked_fixture(tc, per_test_setup, NULL);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, retry_after_503_with_fresh_jti);
  tcase_add_test(tc, retry_after_header_honoured);
  tcase_add_test(tc, retry_after_clamped_to_30s);
  tcase_add_test(tc, retries_run_out);
  tcase_add_test(tc, no_retries_when_zero);
  tcase_add_test(tc, garbage_is_a_response_error);
  tcase_add_test(tc, oversize_is_cut_at_1_mib);
  tcase_add_test(tc, dropped_connection_is_retried);
  tcase_add_test(tc, dropped_connection_without_retries_is_network_error);
  tcase_add_test(tc, error_in_a_200_is_refused);
  tcase_add_test(tc, invalid_client_not_retried);
  tcase_add_test(tc, slow_answer_times_out);
  tcase_add_test(tc, answers_are_judged);
  tcase_add_test(tc, redirect_not_followed_and_named);
  tcase_add_test(tc, request_has_the_rfc7523_form);
  tcase_add_test(tc, server_error_is_retried_with_backoff);
  suite_add_tcase(s, tc);

  tc = tcase_create("cache");
  tcase_add_checked_fixture(tc, per_test_setup, NULL);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, second_get_uses_the_cache);
  tcase_add_test(tc, refresh_at_follows_the_rule);
  tcase_add_test(tc, refresh_ahead_of_expiry);
  tcase_add_test(tc, short_lifetime_reused_for_half);
  tcase_add_test(tc, old_token_kept_when_refresh_fails);
  tcase_add_test(tc, invalidate_forces_a_fetch);
  tcase_add_test(tc, single_flight_64_threads_one_request);
  tcase_add_test(tc, single_flight_shares_the_error);
  tcase_add_test(tc, torn_tokens_are_caught);
  tcase_add_test(tc, fast_path_reads_during_refreshes);
  tcase_add_test(tc, valid_token_served_while_refresh_runs);
  tcase_add_test(tc, events_never_carry_secrets);
  tcase_add_test(tc, keyset_rotation_never_fails_a_get);
  suite_add_tcase(s, tc);

  tc = tcase_create("check_and_config");
  tcase_add_checked_fixture(tc, per_test_setup, NULL);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, check_endpoint_accepts_then_refuses);
  tcase_add_test(tc, check_endpoint_403_hint);
  tcase_add_test(tc, plain_http_elsewhere_is_refused);
  tcase_add_test(tc, loopback_never_goes_through_a_proxy);
  tcase_add_test(tc, options_are_checked);
  tcase_add_test(tc, profile_resolves_urls);
  tcase_add_test(tc, extra_form_fields);
  tcase_add_test(tc, cert_adds_x5t_s256);
  tcase_add_loop_test(tc, answers_as_real_servers_send_them, 0,
                      (int)(sizeof(shape_cases) / sizeof(shape_cases[0])));
  suite_add_tcase(s, tc);

  tc = tcase_create("https");
  tcase_add_checked_fixture(tc, per_test_setup, NULL);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, https_with_the_test_ca);
  tcase_add_test(tc, https_without_the_ca_is_refused);
  tcase_add_test(tc, untrusted_certificate_is_refused);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  curl_global_init(CURL_GLOBAL_ALL);
  const char *tmp = getenv("TMPDIR");
  char tmpl[4096];
  snprintf(tmpl, sizeof(tmpl), "%s/pkjwt-client-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(tmpl)) {
    perror("mkdtemp");
    return 99;
  }
  g_dir = strdup(tmpl);
  make_keys();
  char cmd[4096];
  snprintf(cmd, sizeof(cmd),
           "sh '%s/tests/endpoint/make-test-ca.sh' '%s/tls' >/dev/null 2>&1",
           test_srcdir(), g_dir);
  if (test_run(NULL, cmd) != 0) {
    fprintf(stderr, "make-test-ca.sh failed\n");
    return 99;
  }
  static char ca[4096], tls_args[8192], untrusted_args[8192];
  snprintf(ca, sizeof(ca), "%s/tls/ca.pem", g_dir);
  snprintf(tls_args, sizeof(tls_args),
           "--tls-cert '%s/tls/server.pem' --tls-key '%s/tls/server.key'",
           g_dir, g_dir);
  snprintf(untrusted_args, sizeof(untrusted_args),
           "--tls-cert '%s/tls/untrusted.pem' --tls-key "
           "'%s/tls/untrusted.key'",
           g_dir, g_dir);
  endpoint_start(&g_http, "http", "");
  endpoint_start(&g_tls, "tls", tls_args);
  g_tls.ctl_cafile = ca;
  endpoint_start(&g_untrusted, "untrusted", untrusted_args);
  g_untrusted.ctl_insecure = 1;

  SRunner *sr = srunner_create(make_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);

  endpoint_stop(&g_http);
  endpoint_stop(&g_tls);
  endpoint_stop(&g_untrusted);
  for (size_t i = 0; i < NKEYS; i++)
    pkjwt_key_free(g_keys[i].key);
  test_rmtree(g_dir);
  free(g_dir);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
