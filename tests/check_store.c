/*
 * tests/check_store.c: token stores (lib/store.c, lib/store_file.c). The
 * record and its refusals; the file store's folder rules, files and lock;
 * clients sharing one token through the store across threads and forked
 * processes (the canned server counts the requests); a corrupt value never
 * served; a failing or stuck store costing a warning, never a token; the
 * old options version without a store; rediss:// URLs taken and refused.
 */
#define _GNU_SOURCE 1
#include "canned_server.h"
#include "client_internal.h"
#include "oauth.h"
#include "store.h"
#include "testutil.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static canned_server srv;
/* The token endpoint, made once in setup: threads read it at once. */
static char ep[128];
static char *g_dir;
static pkjwt_key *g_key;

#define TOKEN_ANSWER                                                           \
  CANNED_JSON_200("{\"access_token\":\"tok-A.b_c\",\"expires_in\":900,"       \
                  "\"token_type\":\"Bearer\",\"scope\":\"s1\"}")

static void setup(void) {
  memset(&srv, 0, sizeof(srv));
  srv.answer = TOKEN_ANSWER;
  srv.delay_ms = 150; /* long enough for every stampeding caller to arrive */
  ck_assert_int_eq(canned_start(&srv), 0);
  snprintf(ep, sizeof(ep), "%s/id/connect/token", srv.base);
  g_dir = test_tmpdir();
  g_key = tu_key("P-256");
}

static void teardown(void) {
  canned_stop(&srv);
  test_rmtree(g_dir);
  free(g_dir);
  pkjwt_key_free(g_key);
}

static pkjwt_client_options opts(const pkjwt_store *store) {
  pkjwt_client_options o = PKJWT_CLIENT_OPTIONS_INIT;
  o.token_endpoint = ep;
  o.client_id = "cid";
  o.scope = "s1";
  o.key = g_key;
  o.retries = 0;
  o.store = store;
  return o;
}

static pkjwt_client *client(const pkjwt_client_options *o) {
  pkjwt_client *c = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_msg(pkjwt_client_new(&c, o, &e) == PKJWT_OK, "%s", e.message);
  return c;
}

static pkjwt_store *file_store(void) {
  pkjwt_store *s = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  char *d = test_path(g_dir, "store");
  ck_assert_msg(pkjwt_store_file_new(&s, d, &e) == PKJWT_OK, "%s", e.message);
  free(d);
  return s;
}

static char *get(pkjwt_client *c, pkjwt_error *e) {
  pkjwt_token *t = NULL;
  ck_assert_msg(pkjwt_client_get_token(&t, c, e) == PKJWT_OK, "%s", e->message);
  char *s = strdup(t->access_token);
  pkjwt_token_free(t);
  return s;
}

/* ---- the record ---- */

START_TEST(record_round_trip_and_refusals) {
  int64_t now = time(NULL);
  pkjwt_token *t = pkjwt__token_make("abc.def", "Bearer", "s1", "{\"x\":1}",
                                     900, now + 900);
  char *rec = NULL;
  size_t len = 0;
  ck_assert_int_eq(pkjwt__store_record(&rec, &len, t, now), 0);
  pkjwt_token *u = pkjwt__store_parse(rec, len);
  ck_assert_ptr_nonnull(u);
  ck_assert_str_eq(u->access_token, "abc.def");
  ck_assert_str_eq(u->token_type, "Bearer");
  ck_assert_str_eq(u->scope, "s1");
  ck_assert_str_eq(u->response_json, "{\"x\":1}");
  ck_assert_int_eq(u->expires_at, now + 900);
  ck_assert_int_eq(u->expires_in, 900);
  pkjwt_token_free(u);
  /* every truncation is refused */
  for (size_t n = 0; n < len; n++)
    ck_assert_ptr_null(pkjwt__store_parse(rec, n));
  /* another version, a flipped byte in a length, trailing bytes */
  char *bad = malloc(len + 2);
  memcpy(bad, rec, len);
  bad[12] = '2';
  ck_assert_ptr_null(pkjwt__store_parse(bad, len));
  memcpy(bad, rec, len);
  bad[len] = 'x';
  ck_assert_ptr_null(pkjwt__store_parse(bad, len + 1));
  char *tp = strstr(rec, "token 7\n");
  ck_assert_ptr_nonnull(tp);
  memcpy(bad, rec, len);
  bad[tp - rec + 6] = '6';
  ck_assert_ptr_null(pkjwt__store_parse(bad, len));
  /* a token with a space (not a Bearer token), a NUL inside */
  memcpy(bad, rec, len);
  bad[tp - rec + 8 + 3] = ' ';
  ck_assert_ptr_null(pkjwt__store_parse(bad, len));
  bad[tp - rec + 8 + 3] = '\0';
  ck_assert_ptr_null(pkjwt__store_parse(bad, len));
  ck_assert_ptr_null(pkjwt__store_parse("garbage\n", 8));
  free(bad);
  pkjwt__cleanse_free(rec, len + 1);
  pkjwt_token_free(t);
}
END_TEST

/* ---- the file store ---- */

START_TEST(file_store_folder_rules) {
  pkjwt_store *s = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  char *d = test_path(g_dir, "open");
  ck_assert_int_eq(mkdir(d, 0700), 0);
  ck_assert_int_eq(chmod(d, 0777), 0);
  ck_assert_int_eq(pkjwt_store_file_new(&s, d, &e), PKJWT_ERR_INSECURE);
  ck_assert_ptr_null(s);
  ck_assert_ptr_nonnull(strstr(e.message, "others can write"));
  ck_assert_int_eq(chmod(d, 0770), 0);
  ck_assert_int_eq(pkjwt_store_file_new(&s, d, &e), PKJWT_ERR_INSECURE);
  ck_assert_int_eq(chmod(d, 0755), 0);
  ck_assert_int_eq(pkjwt_store_file_new(&s, d, &e), PKJWT_OK);
  pkjwt_store_free(s);
  char *f = test_path(g_dir, "file");
  ck_assert_int_eq(test_write_file(f, "x", 1), 0);
  ck_assert_int_eq(pkjwt_store_file_new(&s, f, &e), PKJWT_ERR_IO);
  ck_assert_int_eq(pkjwt_store_file_new(&s, "", &e), PKJWT_ERR_INVALID_ARG);
  /* the default folder: $XDG_CACHE_HOME/pkjwt, made 0700 */
  setenv("XDG_CACHE_HOME", g_dir, 1);
  ck_assert_int_eq(pkjwt_store_file_new(&s, NULL, &e), PKJWT_OK);
  pkjwt_store_free(s);
  char *def = test_path(g_dir, "pkjwt");
  struct stat st;
  ck_assert_int_eq(stat(def, &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0700);
  pkjwt_store_free(NULL);
  free(def);
  free(f);
  free(d);
}
END_TEST

START_TEST(file_store_values_and_lock) {
  pkjwt_store *s = file_store();
  char buf[64];
  size_t len = 0;
  ck_assert_int_eq(s->get(s->ctx, "abc", buf, sizeof(buf), &len, 200),
                   PKJWT_STORE_MISS);
  ck_assert_int_eq(s->put(s->ctx, "abc", "hello", 5, 1000, 200),
                   PKJWT_STORE_OK);
  ck_assert_int_eq(s->get(s->ctx, "abc", buf, sizeof(buf), &len, 200),
                   PKJWT_STORE_OK);
  ck_assert_uint_eq(len, 5);
  ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
  /* a value longer than the buffer says so by its length */
  ck_assert_int_eq(s->get(s->ctx, "abc", buf, 3, &len, 200), PKJWT_STORE_OK);
  ck_assert_uint_gt(len, 3);
  char *p = test_path(g_dir, "store/abc");
  struct stat st;
  ck_assert_int_eq(stat(p, &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0600);
  /* a file others can read is not served */
  ck_assert_int_eq(chmod(p, 0644), 0);
  ck_assert_int_eq(s->get(s->ctx, "abc", buf, sizeof(buf), &len, 200),
                   PKJWT_STORE_MISS);
  ck_assert_int_eq(s->del(s->ctx, "abc", 200), PKJWT_STORE_OK);
  ck_assert_int_eq(s->del(s->ctx, "abc", 200), PKJWT_STORE_OK);
  ck_assert_int_ne(access(p, F_OK), 0);
  /* a key that is a path is refused */
  ck_assert_int_eq(s->put(s->ctx, "../x", "v", 1, 0, 200), PKJWT_STORE_FAIL);
  ck_assert_int_eq(s->get(s->ctx, "a/b", buf, sizeof(buf), &len, 200),
                   PKJWT_STORE_FAIL);
  /* one holder at a time, threads of one process too */
  void *h1 = NULL, *h2 = NULL;
  ck_assert_int_eq(s->lock(s->ctx, "abc", 1000, 200, &h1), PKJWT_STORE_OK);
  ck_assert_int_eq(s->lock(s->ctx, "abc", 1000, 200, &h2), PKJWT_STORE_BUSY);
  ck_assert_int_eq(s->lock(s->ctx, "other", 1000, 200, &h2), PKJWT_STORE_OK);
  s->unlock(s->ctx, "other", h2, 200);
  s->unlock(s->ctx, "abc", h1, 200);
  ck_assert_int_eq(s->lock(s->ctx, "abc", 1000, 200, &h2), PKJWT_STORE_OK);
  s->unlock(s->ctx, "abc", h2, 200);
  free(p);
  pkjwt_store_free(s);
}
END_TEST

/* ---- clients sharing a token ---- */

START_TEST(second_client_served_from_store) {
  pkjwt_store *s = file_store();
  pkjwt_client_options o = opts(s);
  pkjwt_client *a = client(&o), *b = client(&o);
  pkjwt_error e = PKJWT_ERROR_INIT;
  char *ta = get(a, &e), *tb = get(b, &e);
  ck_assert_str_eq(ta, tb);
  ck_assert_int_eq(atomic_load(&srv.requests), 1);
  ck_assert_uint_eq(pkjwt_client_request_count(b), 0);
  ck_assert_str_eq(e.warning, "");
  /* invalidate deletes it from the store: the next client fetches */
  pkjwt_client_invalidate(a);
  pkjwt_client *c = client(&o);
  free(get(c, &e));
  ck_assert_int_eq(atomic_load(&srv.requests), 2);
  pkjwt_client_free(a);
  pkjwt_client_free(b);
  pkjwt_client_free(c);
  free(ta);
  free(tb);
  pkjwt_store_free(s);
}
END_TEST

START_TEST(corrupt_value_never_served) {
  pkjwt_store *s = file_store();
  pkjwt_client_options o = opts(s);
  pkjwt_client *a = client(&o);
  char *id = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_cache_id(&id, a, &e), PKJWT_OK);
  /* foreign, and ours with a forged token in a broken record */
  const char *bad[] = {"garbage",
                       "pkjwt-store 1\nfetched_at 1\nexpires_at 99999999999\n"
                       "expires_in 900\ntoken_type 6\nBearer\nscope 0\n\n"
                       "token 6\nFORGED\n"};
  for (size_t i = 0; i < 2; i++) {
    ck_assert_int_eq(s->put(s->ctx, id, bad[i], strlen(bad[i]), 0, 200),
                     PKJWT_STORE_OK);
    pkjwt_client *c = client(&o);
    char *t = get(c, &e);
    ck_assert_str_eq(t, "tok-A.b_c");
    ck_assert_int_eq(atomic_load(&srv.requests), (int)i + 1);
    free(t);
    pkjwt_client_free(c);
    /* and it was overwritten with a good record */
    char buf[4096];
    size_t len = 0;
    ck_assert_int_eq(s->get(s->ctx, id, buf, sizeof(buf), &len, 200),
                     PKJWT_STORE_OK);
    pkjwt_token *u = pkjwt__store_parse(buf, len);
    ck_assert_ptr_nonnull(u);
    pkjwt_token_free(u);
  }
  pkjwt_str_free(id);
  pkjwt_client_free(a);
  pkjwt_store_free(s);
}
END_TEST

START_TEST(valid_token_served_while_another_refreshes) {
  pkjwt_store *s = file_store();
  pkjwt_client_options o = opts(s);
  o.store_lock_ms = 5000;
  pkjwt_client *c = client(&o);
  char *id = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_client_cache_id(&id, c, &e), PKJWT_OK);
  /* due for refresh (50 s of 900 left), not expired */
  int64_t now = time(NULL);
  pkjwt_token *t =
      pkjwt__token_make("stored.tok", "Bearer", NULL, "{}", 900, now + 50);
  char *rec = NULL;
  size_t len = 0;
  ck_assert_int_eq(pkjwt__store_record(&rec, &len, t, now - 850), 0);
  ck_assert_int_eq(s->put(s->ctx, id, rec, len, 0, 200), PKJWT_STORE_OK);
  /* another process holds the lock: it is refreshing */
  void *h = NULL;
  ck_assert_int_eq(s->lock(s->ctx, id, 5000, 200, &h), PKJWT_STORE_OK);
  char *got = get(c, &e);
  ck_assert_str_eq(got, "stored.tok");
  ck_assert_int_eq(atomic_load(&srv.requests), 0);
  s->unlock(s->ctx, id, h, 200);
  /* with the lock free, the next get refreshes */
  free(got);
  got = get(c, &e);
  ck_assert_str_eq(got, "tok-A.b_c");
  ck_assert_int_eq(atomic_load(&srv.requests), 1);
  free(got);
  pkjwt__cleanse_free(rec, len + 1);
  pkjwt_token_free(t);
  pkjwt_str_free(id);
  pkjwt_client_free(c);
  pkjwt_store_free(s);
}
END_TEST

typedef struct th_arg {
  const pkjwt_store *s;
  pthread_barrier_t *bar;
  int ok;
} th_arg;

static void *th_get(void *p) {
  th_arg *a = p;
  pkjwt_client_options o = opts(a->s);
  pkjwt_client *c = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  /* at the barrier whatever happens, or the others wait forever */
  int made = pkjwt_client_new(&c, &o, &e) == PKJWT_OK;
  pthread_barrier_wait(a->bar);
  if (!made)
    return NULL;
  char buf[PKJWT_TOKEN_BUF_SIZE];
  a->ok = pkjwt_client_get_token_buf(buf, sizeof(buf), NULL, c, &e) ==
              PKJWT_OK &&
          strcmp(buf, "tok-A.b_c") == 0 && !e.warning[0];
  pkjwt_client_free(c);
  return NULL;
}

START_TEST(threads_with_own_clients_one_request) {
  pkjwt_store *s = file_store();
  enum { N = 8 };
  pthread_barrier_t bar;
  pthread_barrier_init(&bar, NULL, N);
  pthread_t th[N];
  th_arg a[N];
  for (int i = 0; i < N; i++) {
    a[i] = (th_arg){s, &bar, 0};
    ck_assert_int_eq(pthread_create(&th[i], NULL, th_get, &a[i]), 0);
  }
  for (int i = 0; i < N; i++) {
    pthread_join(th[i], NULL);
    ck_assert_msg(a[i].ok, "thread %d", i);
  }
  pthread_barrier_destroy(&bar);
  ck_assert_int_eq(atomic_load(&srv.requests), 1);
  pkjwt_store_free(s);
}
END_TEST

START_TEST(processes_one_request) {
  enum { N = 8 };
  pid_t pids[N];
  /* Every child is forked before any sends a request: a child forked while
   * the server holds an accepted connection would keep it open, and the
   * answer (ended by the close) would never end. */
  int go[2];
  ck_assert_int_eq(pipe(go), 0);
  for (int i = 0; i < N; i++) {
    pids[i] = fork();
    ck_assert_int_ge(pids[i], 0);
    if (pids[i] == 0) {
      char b;
      close(go[1]);
      if (read(go[0], &b, 1) != 0)
        _exit(3);
      pkjwt_store *s = NULL;
      char *d = test_path(g_dir, "store");
      if (pkjwt_store_file_new(&s, d, NULL) != PKJWT_OK)
        _exit(2);
      free(d);
      pkjwt_client_options o = opts(s);
      pkjwt_client *c = NULL;
      pkjwt_error e = PKJWT_ERROR_INIT;
      pkjwt_token *t = NULL;
      int ok = pkjwt_client_new(&c, &o, &e) == PKJWT_OK &&
               pkjwt_client_get_token(&t, c, &e) == PKJWT_OK &&
               strcmp(t->access_token, "tok-A.b_c") == 0 && !e.warning[0];
      /* freed, so that valgrind finds no leak in the child */
      pkjwt_token_free(t);
      pkjwt_client_free(c);
      pkjwt_store_free(s);
      pkjwt_key_free(g_key);
      free(g_dir);
      _exit(ok ? 0 : 1);
    }
  }
  close(go[0]);
  close(go[1]); /* go */
  for (int i = 0; i < N; i++) {
    int st = 0;
    ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d", i);
  }
  ck_assert_int_eq(atomic_load(&srv.requests), 1);
}
END_TEST

/* 8 processes x 8 threads (one client per process) for two lifetimes of a
 * 4 s token: one request per refresh (a token this short is refreshed at
 * half its life), never two for one refresh. */
#define SHORT_LIFE 4
static long g_req_ms[64];

static long mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static char *short_token(void *ud, int n) {
  if (n >= 1 && n <= 64)
    g_req_ms[n - 1] = mono_ms();
  char *a = malloc(512);
  snprintf(a, 512,
           CANNED_JSON_200("{\"access_token\":\"tok-%d\",\"expires_in\":%d,"
                           "\"token_type\":\"Bearer\"}"),
           n, SHORT_LIFE);
  return a;
}

typedef struct loop_arg {
  pkjwt_client *c;
  long until_ms;
  int failed;
} loop_arg;

static void *loop_get(void *p) {
  loop_arg *a = p;
  char buf[PKJWT_TOKEN_BUF_SIZE];
  while (mono_ms() < a->until_ms) {
    pkjwt_error e = PKJWT_ERROR_INIT;
    if (pkjwt_client_get_token_buf(buf, sizeof(buf), NULL, a->c, &e) !=
            PKJWT_OK ||
        e.warning[0])
      a->failed = 1;
    usleep(10000);
  }
  return NULL;
}

/* One process's part: a client on the file store, TH threads getting
 * for two lifetimes. 0 when every get gave a token without a warning. */
static int one_process(int threads) {
  pkjwt_store *s = NULL;
  char *d = test_path(g_dir, "store");
  pkjwt_client_options o = opts(NULL);
  pkjwt_client *c = NULL;
  int made = pkjwt_store_file_new(&s, d, NULL) == PKJWT_OK;
  free(d);
  o.store = s;
  if (!made || pkjwt_client_new(&c, &o, NULL) != PKJWT_OK) {
    pkjwt_store_free(s);
    return 2;
  }
  long until = mono_ms() + 2 * SHORT_LIFE * 1000L;
  pthread_t th[8];
  loop_arg a[8];
  int failed = 0;
  for (int t = 0; t < threads && t < 8; t++) {
    a[t] = (loop_arg){c, until, 0};
    pthread_create(&th[t], NULL, loop_get, &a[t]);
  }
  for (int t = 0; t < threads && t < 8; t++) {
    pthread_join(th[t], NULL);
    failed |= a[t].failed;
  }
  pkjwt_client_free(c);
  pkjwt_store_free(s);
  return failed;
}

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STORE_UNDER_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) || defined(STORE_UNDER_TSAN)
/* TSan cannot start threads in a forked child of a threaded process: one
 * process's threads, then. */
#define STORE_PROCESSES 0
#else
#define STORE_PROCESSES 8
#endif

START_TEST(processes_and_threads_over_two_lifetimes) {
  srv.make = short_token;
  srv.delay_ms = 50;
  /* a light run (valgrind): 2 processes x 2 threads; the crowd of 64
   * runs under ASan+UBSan, the threads under TSan */
  const int procs = STORE_PROCESSES && tu_light() ? 2 : STORE_PROCESSES;
  const int threads = tu_light() ? 2 : 8;
  if (procs == 0) {
    ck_assert_int_eq(one_process(threads), 0);
  } else {
    int go[2];
    ck_assert_int_eq(pipe(go), 0);
    pid_t pids[8];
    for (int i = 0; i < procs; i++) {
      pids[i] = fork();
      ck_assert_int_ge(pids[i], 0);
      if (pids[i] == 0) {
        char b;
        close(go[1]);
        if (read(go[0], &b, 1) != 0)
          _exit(3);
        int rc = one_process(threads);
        pkjwt_key_free(g_key); /* so that valgrind finds no leak */
        free(g_dir);
        _exit(rc);
      }
    }
    close(go[0]);
    close(go[1]);
    for (int i = 0; i < procs; i++) {
      int st = 0;
      ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
      ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d", i);
    }
  }
  int n = atomic_load(&srv.requests);
  /* a refresh every ~2 s over 8 s (under valgrind the first fetch may
   * come late): more than one, never two for one refresh */
  ck_assert_msg(n >= 2 && n <= 6, "%d requests", n);
  for (int i = 1; i < n && i < 64; i++)
    ck_assert_msg(g_req_ms[i] - g_req_ms[i - 1] >= 900,
                  "requests %d and %d %ld ms apart", i, i + 1,
                  g_req_ms[i] - g_req_ms[i - 1]);
}
END_TEST

/* ---- stores that fail ---- */

static int g_calls;
static int bad_get(void *ctx, const char *key, char *buf, size_t size,
                   size_t *len, long timeout_ms) {
  g_calls++;
  return PKJWT_STORE_FAIL;
}
static int busy_get(void *ctx, const char *key, char *buf, size_t size,
                    size_t *len, long timeout_ms) {
  g_calls++;
  return PKJWT_STORE_MISS;
}
static int bad_put(void *ctx, const char *key, const char *v, size_t len,
                   long ttl_ms, long timeout_ms) {
  g_calls++;
  return PKJWT_STORE_FAIL;
}
static int bad_del(void *ctx, const char *key, long timeout_ms) {
  g_calls++;
  return PKJWT_STORE_FAIL;
}
static int busy_lock(void *ctx, const char *key, long life, long timeout_ms,
                     void **h) {
  g_calls++;
  return PKJWT_STORE_BUSY;
}
static void no_unlock(void *ctx, const char *key, void *h, long timeout_ms) {
  g_calls++;
}

static int g_warnings;
static void count_warning(void *ud, pkjwt_event ev, const char *msg) {
  if (ev == PKJWT_EVENT_WARNING)
    g_warnings++;
}

START_TEST(failing_store_costs_a_warning_not_a_token) {
  pkjwt_store bad = {PKJWT_STORE_VERSION, NULL, bad_get, bad_put, bad_del,
                     busy_lock, no_unlock, NULL};
  pkjwt_client_options o = opts(&bad);
  o.on_event = count_warning;
  g_calls = g_warnings = 0;
  pkjwt_client *c = client(&o);
  pkjwt_error e = PKJWT_ERROR_INIT;
  char *t = get(c, &e);
  ck_assert_str_eq(t, "tok-A.b_c");
  ck_assert_ptr_nonnull(strstr(e.warning, "token store"));
  ck_assert_int_eq(g_warnings, 1);
  ck_assert_int_eq(atomic_load(&srv.requests), 1);
  /* the token is kept in memory: the store is not asked again */
  int calls = g_calls;
  free(t);
  t = get(c, &e);
  ck_assert_int_eq(g_calls, calls);
  ck_assert_str_eq(e.warning, "");
  free(t);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(lock_held_too_long_fetch_without_it) {
  pkjwt_store stuck = {PKJWT_STORE_VERSION, NULL, busy_get, bad_put, bad_del,
                       busy_lock, no_unlock, NULL};
  pkjwt_client_options o = opts(&stuck);
  o.store_lock_ms = 300;
  pkjwt_client *c = client(&o);
  pkjwt_error e = PKJWT_ERROR_INIT;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  char *t = get(c, &e);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  ck_assert_str_eq(t, "tok-A.b_c");
  ck_assert_ptr_nonnull(strstr(e.warning, "lock"));
  ck_assert_int_ge(ms, 300);
  ck_assert_int_lt(ms, 3000);
  free(t);
  pkjwt_client_free(c);
}
END_TEST

START_TEST(options_versions_and_store_checks) {
  /* version 3 has no store: the field past it is never read */
  pkjwt_store bad = {PKJWT_STORE_VERSION, NULL, bad_get, bad_put, bad_del,
                     busy_lock, no_unlock, NULL};
  pkjwt_client_options o = opts(&bad);
  o.version = 3;
  g_calls = 0;
  pkjwt_client *c = client(&o);
  pkjwt_error e = PKJWT_ERROR_INIT;
  free(get(c, &e));
  ck_assert_int_eq(g_calls, 0);
  ck_assert_str_eq(e.warning, "");
  pkjwt_client_invalidate(c);
  ck_assert_int_eq(g_calls, 0);
  pkjwt_client_free(c);
  /* a store of an unknown version or without a callback is refused */
  pkjwt_store s2 = bad;
  s2.version = 2;
  o = opts(&s2);
  ck_assert_int_eq(pkjwt_client_new(&c, &o, &e), PKJWT_ERR_INVALID_ARG);
  s2 = bad;
  s2.lock = NULL;
  o = opts(&s2);
  ck_assert_int_eq(pkjwt_client_new(&c, &o, &e), PKJWT_ERR_INVALID_ARG);
  o = opts(&bad);
  o.store_timeout_ms = -1;
  ck_assert_int_eq(pkjwt_client_new(&c, &o, &e), PKJWT_ERR_INVALID_ARG);
}
END_TEST

START_TEST(store_kinds_named) {
  const char *k = pkjwt_store_kinds();
  ck_assert_ptr_nonnull(strstr(k, "file"));
#ifdef HAVE_HIREDIS
  ck_assert_ptr_nonnull(strstr(k, "redis"));
#else
  pkjwt_store *s = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_store_redis_new(&s, "redis://127.0.0.1", NULL, 0, &e),
                   PKJWT_ERR_INVALID_ARG);
  ck_assert_ptr_nonnull(strstr(e.message, "hiredis"));
#endif
}
END_TEST

#ifdef HAVE_HIREDIS
/* rediss:// URLs: what the constructor takes and refuses (no connection is
 * made; tests/redis.sh speaks TLS to a real server). */
START_TEST(rediss_urls) {
  static const struct {
    const char *url;
    int code;
  } cases[] = {
      {"rediss://127.0.0.1:6380/2", PKJWT_OK},
      {"rediss://u@localhost", PKJWT_OK},
      {"rediss://[::1]:6380", PKJWT_OK},
      {"rediss://127.0.0.1?cacert=/nonexistent/ca.pem", PKJWT_ERR_IO},
      {"rediss://127.0.0.1?cacert=", PKJWT_ERR_INVALID_ARG},
      {"rediss://127.0.0.1?db=1", PKJWT_ERR_INVALID_ARG},
      {"redis://127.0.0.1?cacert=/etc/hostname", PKJWT_ERR_INVALID_ARG},
      {"rediss://u:s3cret@127.0.0.1", PKJWT_ERR_INVALID_ARG},
      {"rediss://", PKJWT_ERR_INVALID_ARG},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    pkjwt_store *st = NULL;
    pkjwt_error e = PKJWT_ERROR_INIT;
    int rc = pkjwt_store_redis_new(&st, cases[i].url, NULL, 0, &e);
    ck_assert_msg(rc == cases[i].code, "%s: %d (%s)", cases[i].url, rc,
                  e.message);
    ck_assert_msg((st != NULL) == (rc == PKJWT_OK), "%s", cases[i].url);
    ck_assert_ptr_null(strstr(e.message, "s3cret"));
    pkjwt_store_free(st);
  }
}
END_TEST
#endif

static Suite *suite(void) {
  Suite *s = suite_create("store");
  TCase *t = tcase_create("store");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_set_timeout(t, 30);
  tcase_add_test(t, record_round_trip_and_refusals);
  tcase_add_test(t, file_store_folder_rules);
  tcase_add_test(t, file_store_values_and_lock);
  tcase_add_test(t, second_client_served_from_store);
  tcase_add_test(t, corrupt_value_never_served);
  tcase_add_test(t, valid_token_served_while_another_refreshes);
  tcase_add_test(t, threads_with_own_clients_one_request);
  tcase_add_test(t, processes_one_request);
  tcase_add_test(t, processes_and_threads_over_two_lifetimes);
  tcase_add_test(t, failing_store_costs_a_warning_not_a_token);
  tcase_add_test(t, lock_held_too_long_fetch_without_it);
  tcase_add_test(t, options_versions_and_store_checks);
  tcase_add_test(t, store_kinds_named);
#ifdef HAVE_HIREDIS
  tcase_add_test(t, rediss_urls);
#endif
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *r = srunner_create(suite());
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
