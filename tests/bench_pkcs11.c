/*
 * tests/bench_pkcs11.c: pkjwt_assertion_sign with a key in a SoftHSM2 token
 * beside a key of the same kind in software, on 1 and 2 threads.
 *
 * The token is made in a temporary folder by tests/pkcs11-setup.sh (its
 * ec256 and rsa2048 keys); the software keys are generated here. Each row
 * signs for 0.5 s per thread and reports the sum of the threads' rates;
 * "ratio" is token / software. Signatures through one module are
 * serialised by lib/pkcs11.c's lock, so the token's 2-thread rate shows
 * what that lock costs. One JSON object per line; prints a "skipped" line
 * and exits 0 when SoftHSM2 or libp11 is missing. Not a test.
 */
#define _GNU_SOURCE 1
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pkjwt.h>

#define ROW_SECONDS 0.5
#define MAX_THREADS 2

typedef struct job {
  const pkjwt_key *key;
  pkjwt_alg alg;
  pthread_barrier_t *start;
  long n;
  int failed;
} job;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker(void *arg) {
  job *j = arg;
  pkjwt_sign_options o = PKJWT_SIGN_OPTIONS_INIT;
  o.client_id = "0f3c2a8e-5b7d-4e1f-9a6c-2d8b4e7f1a3c";
  o.audience = "https://app.puzzel.com/id/connect/token";
  o.alg = j->alg;
  pthread_barrier_wait(j->start);
  double t0 = now_s();
  while (now_s() - t0 < ROW_SECONDS) {
    char *jws = NULL;
    if (pkjwt_assertion_sign(&jws, j->key, &o, NULL) != PKJWT_OK) {
      j->failed = 1;
      break;
    }
    pkjwt_str_free(jws);
    j->n++;
  }
  return NULL;
}

/* Signatures per second on `threads` threads with key. */
static double rate(const pkjwt_key *key, pkjwt_alg alg, int threads) {
  pthread_t tid[MAX_THREADS];
  job jobs[MAX_THREADS];
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, (unsigned)threads);
  double t0 = now_s();
  for (int i = 0; i < threads; i++) {
    jobs[i] = (job){key, alg, &start, 0, 0};
    pthread_create(&tid[i], NULL, worker, &jobs[i]);
  }
  long n = 0;
  int failed = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(tid[i], NULL);
    n += jobs[i].n;
    failed |= jobs[i].failed;
  }
  double t = now_s() - t0;
  pthread_barrier_destroy(&start);
  if (failed) {
    fprintf(stderr, "bench_pkcs11: signing failed\n");
    exit(1);
  }
  return (double)n / t;
}

int main(void) {
  if (!pkjwt_key_pkcs11_supported()) {
    printf("{\"bench\":\"pkcs11\",\"skipped\":\"no libp11\"}\n");
    return 0;
  }
  const char *src = getenv("top_srcdir");
#ifdef PKJWT_TOP_SRCDIR
  if (!src || !*src)
    src = PKJWT_TOP_SRCDIR;
#endif
  char dir[] = "/tmp/pkjwt-bench-p11-XXXXXX";
  if (!mkdtemp(dir))
    return 1;
  char cmd[2048], module[1024] = "";
  snprintf(cmd, sizeof(cmd), "sh '%s/tests/pkcs11-setup.sh' '%s'",
           src && *src ? src : ".", dir);
  FILE *p = popen(cmd, "r");
  if (!p || !fgets(module, sizeof(module), p)) {
    if (p)
      pclose(p);
    printf("{\"bench\":\"pkcs11\",\"skipped\":\"no SoftHSM2 token\"}\n");
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
  }
  pclose(p);
  module[strcspn(module, "\n")] = 0;
  char conf[1100];
  snprintf(conf, sizeof(conf), "%s/softhsm2.conf", dir);
  setenv("SOFTHSM2_CONF", conf, 1);

  static const struct {
    const char *object;
    pkjwt_alg alg;
  } rows[] = {{"ec256", PKJWT_ALG_ES256},
              {"rsa2048", PKJWT_ALG_RS256},
              {"rsa2048", PKJWT_ALG_PS256}};
  int rc = 0;
  for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]) && !rc; r++) {
    char uri[3000];
    snprintf(uri, sizeof(uri),
             "pkcs11:token=pkjwt-test;object=%s?module-path=%s&"
             "pin-source=file:%s/pin",
             rows[r].object, module, dir);
    pkjwt_error err = PKJWT_ERROR_INIT;
    pkjwt_key *hsm = NULL, *soft = NULL;
    int ec = rows[r].alg == PKJWT_ALG_ES256;
    if (pkjwt_key_load_uri(&hsm, uri, NULL, &err) != PKJWT_OK ||
        (ec ? pkjwt_key_generate_ec(&soft, "P-256", &err)
            : pkjwt_key_generate_rsa(&soft, 2048, &err)) != PKJWT_OK) {
      fprintf(stderr, "bench_pkcs11: %s\n", err.message);
      rc = 1;
    }
    for (int threads = 1; threads <= MAX_THREADS && !rc; threads++) {
      double h = rate(hsm, rows[r].alg, threads);
      double s = rate(soft, rows[r].alg, threads);
      printf("{\"bench\":\"pkcs11\",\"alg\":\"%s\",\"threads\":%d,"
             "\"softhsm2_ops_per_s\":%.0f,\"software_ops_per_s\":%.0f,"
             "\"ratio\":%.3f}\n",
             pkjwt_alg_name(rows[r].alg), threads, h, s, h / s);
      fflush(stdout);
    }
    pkjwt_key_free(hsm);
    pkjwt_key_free(soft);
  }
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    rc = 1;
  return rc;
}
