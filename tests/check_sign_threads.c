/*
 * tests/check_sign_threads.c: many threads sign with one key handle at once,
 * each verifying its own assertions. Meant for the sanitizers too:
 * configure --enable-sanitizers=thread (and address,undefined) and run it.
 */
#include "testutil.h"

#include "sign_internal.h"

#include <pthread.h>

#define THREADS 16
#define ES_PER_THREAD 40
#define PS_PER_THREAD 3
#define JTI_PER_THREAD (ES_PER_THREAD + PS_PER_THREAD)
#define NOW 1700000000
#define AUD "https://app.puzzel.com/id/connect/token"

static pkjwt_key *ec, *rsa;

typedef struct worker {
  int index;
  pthread_barrier_t *start;
  char jti[JTI_PER_THREAD][PKJWT__JTI_LEN + 1];
  int n_jti;
  char failure[PKJWT_ERROR_MESSAGE_MAX + 32]; /* empty when all is well */
} worker;

/* Sign one assertion as this thread's client and verify it at once. */
static int one(worker *w, const pkjwt_key *key, pkjwt_alg alg,
               const char *typ) {
  char client[32];
  snprintf(client, sizeof(client), "client-%d", w->index);
  pkjwt_sign_options o = PKJWT_SIGN_OPTIONS_INIT;
  o.client_id = client;
  o.audience = AUD;
  o.alg = alg;
  o.typ = typ;
  o.now = NOW;
  char *jws = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  if (pkjwt_assertion_sign(&jws, key, &o, &e) != PKJWT_OK) {
    snprintf(w->failure, sizeof(w->failure), "sign: %.500s", e.message);
    return -1;
  }
  pkjwt_verify_options v = PKJWT_VERIFY_OPTIONS_INIT;
  v.client_id = client; /* another thread's claims would fail here */
  v.audience = AUD;
  v.typ = typ;
  v.now = NOW + 1;
  pkjwt_verify_result *r = NULL;
  int rc = pkjwt_assertion_verify(&r, jws, key, &v, &e);
  if (rc != PKJWT_OK) {
    snprintf(w->failure, sizeof(w->failure), "verify %s: %.500s",
             pkjwt_alg_name(alg), e.message);
    pkjwt_verify_result_free(r);
    pkjwt_str_free(jws);
    return -1;
  }
  /* the jti, to check across threads afterwards */
  const char *p = strstr(r->claims_json, "\"jti\":\"");
  if (p && w->n_jti < JTI_PER_THREAD) {
    snprintf(w->jti[w->n_jti], sizeof(w->jti[0]), "%.*s", PKJWT__JTI_LEN,
             p + 7);
    w->n_jti++;
  }
  pkjwt_verify_result_free(r);
  pkjwt_str_free(jws);
  return 0;
}

static void *run(void *arg) {
  worker *w = arg;
  pthread_barrier_wait(w->start);
  for (int i = 0; i < ES_PER_THREAD; i++) {
    /* every other one with typ client-authentication+jwt, which OpenSSL
     * verifies rather than libjwt: both paths run concurrently */
    const char *typ = i % 2 ? PKJWT_TYP_CLIENT_AUTH : NULL;
    if (one(w, ec, PKJWT_ALG_ES256, typ) != 0)
      return NULL;
  }
  for (int i = 0; i < PS_PER_THREAD; i++)
    if (one(w, rsa, PKJWT_ALG_PS256, NULL) != 0)
      return NULL;
  return NULL;
}

static int cmp_jti(const void *a, const void *b) {
  return strcmp((const char *)a, (const char *)b);
}

START_TEST(threads_share_one_key) {
  ec = tu_key("P-256");
  rsa = tu_key("RSA2048");
  static worker w[THREADS];
  pthread_t tid[THREADS];
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, THREADS);
  for (int i = 0; i < THREADS; i++) {
    memset(&w[i], 0, sizeof(w[i]));
    w[i].index = i;
    w[i].start = &start;
    ck_assert_int_eq(pthread_create(&tid[i], NULL, run, &w[i]), 0);
  }
  for (int i = 0; i < THREADS; i++)
    ck_assert_int_eq(pthread_join(tid[i], NULL), 0);
  pthread_barrier_destroy(&start);

  static char all[THREADS * JTI_PER_THREAD][PKJWT__JTI_LEN + 1];
  size_t n = 0;
  for (int i = 0; i < THREADS; i++) {
    ck_assert_msg(w[i].failure[0] == '\0', "thread %d: %s", i, w[i].failure);
    ck_assert_int_eq(w[i].n_jti, JTI_PER_THREAD);
    for (int j = 0; j < w[i].n_jti; j++)
      memcpy(all[n++], w[i].jti[j], sizeof(all[0]));
  }
  /* no two threads drew the same randomness */
  qsort(all, n, sizeof(all[0]), cmp_jti);
  for (size_t i = 1; i < n; i++)
    ck_assert_str_ne(all[i - 1], all[i]);
  pkjwt_key_free(ec);
  pkjwt_key_free(rsa);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("sign_threads");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, threads_share_one_key);
  suite_add_tcase(s, tc);
  return s;
}

PKJWT_TEST_MAIN(make_suite)
