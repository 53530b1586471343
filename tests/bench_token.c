/*
 * tests/bench_token.c: what a cached token costs, and the stampede.
 * Prints JSON lines:
 *   {"bench":"token_cached","threads":N,"ns_per_get":...,"baseline_ns":...}
 *     pkjwt_client_get_token_buf() on a fresh cached token, per call and per
 *     thread, for N = 1 and 2; baseline_ns is an uncontended
 *     pthread_mutex_lock/unlock pair on this machine, memcpy_ns the cost of
 *     copying the token's bytes into a private buffer on N threads (the
 *     floor for any API that hands the token over, and a measure of how
 *     this machine's cores scale); own_client_ns (2 threads) is the same
 *     get with each thread on its own client, so nothing at all is shared:
 *     if it matches ns_per_get, sharing a client costs nothing.
 *   {"bench":"token_cached_copy",...} the same through
 *     pkjwt_client_get_token(), which hands back a malloc'd copy.
 *   {"bench":"token_stampede","threads":64,"requests":R}
 *     64 threads ask an empty cache at once; R is the requests that went
 *     out (1 is right).
 *   {"bench":"token_store_get","store":"file"|"redis","us_per_get":...}
 *     beside the in-memory get: what a process whose memory has no token
 *     pays to read one from a token store (the store's get and the
 *     record); Redis through a redis-server of its own on 127.0.0.1
 *     ("skipped" without redis-server or hiredis).
 * The token endpoint is a tiny in-process server on 127.0.0.1 that answers
 * every request, after 200 ms, with a canned token response.
 */
#define _GNU_SOURCE 1
#include "canned_server.h"
#include "client_internal.h"
#include "store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the canned server (tests/canned_server.h) ---- */

static canned_server srv;
static char srv_body[2048];
static char srv_token[901];

static int serve_start(void) {
  /* A token about as long as Puzzel ID's (a ~900 byte JWT). */
  char *tok = srv_token;
  for (size_t i = 0; i < sizeof(srv_token) - 1; i++)
    tok[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        [(i * 7 + 3) % 64];
  tok[sizeof(srv_token) - 1] = '\0';
  snprintf(srv_body, sizeof(srv_body),
           CANNED_JSON_200("{\"access_token\":\"%s\",\"expires_in\":900,"
                           "\"token_type\":\"Bearer\",\"scope\":"
                           "\"contact-centre\"}"),
           tok);
  srv.answer = srv_body;
  srv.delay_ms = 200; /* long enough for every stampeding thread to arrive */
  return canned_start(&srv);
}

/* ---- timing ---- */

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

#define ITERS 2000000L
#define COPY_ITERS 300000L

typedef struct run_arg {
  pkjwt_client *c; /* NULL: the memcpy baseline */
  pthread_barrier_t *bar;
  int copy;
  long iters;
  double ns_per_get;
  int failed;
} run_arg;

static void *run(void *p) {
  run_arg *a = p;
  char buf[PKJWT_TOKEN_BUF_SIZE];
  pthread_barrier_wait(a->bar);
  double t0 = now_ns();
  for (long i = 0; i < a->iters; i++) {
    if (!a->c) {
      /* the floor: copy the token's bytes into a private buffer */
      memcpy(buf, srv_token, sizeof(srv_token));
      __asm__ volatile("" : : "r"(buf) : "memory");
    } else if (a->copy) {
      pkjwt_token *t = NULL;
      if (pkjwt_client_get_token(&t, a->c, NULL) != PKJWT_OK)
        a->failed = 1;
      pkjwt_token_free(t);
    } else if (pkjwt_client_get_token_buf(buf, sizeof(buf), NULL, a->c, NULL) !=
               PKJWT_OK) {
      a->failed = 1;
    }
  }
  a->ns_per_get = (now_ns() - t0) / (double)a->iters;
  return NULL;
}

/* When set, thread 1 uses this client instead: no sharing at all. */
static pkjwt_client *own_client;

/* Per-call time seen by each thread, averaged over the threads. */
static double measure(pkjwt_client *c, int threads, int copy) {
  pthread_barrier_t bar;
  pthread_barrier_init(&bar, NULL, (unsigned)threads);
  run_arg args[2];
  pthread_t th[2];
  for (int i = 0; i < threads; i++) {
    pkjwt_client *ci = (i == 1 && c && own_client) ? own_client : c;
    args[i] = (run_arg){ci, &bar, copy, copy ? COPY_ITERS : ITERS, 0, 0};
    pthread_create(&th[i], NULL, run, &args[i]);
  }
  double sum = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(th[i], NULL);
    if (args[i].failed) {
      fprintf(stderr, "bench_token: a cached get failed\n");
      exit(1);
    }
    sum += args[i].ns_per_get;
  }
  pthread_barrier_destroy(&bar);
  return sum / threads;
}

static double mutex_baseline(void) {
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  double t0 = now_ns();
  for (long i = 0; i < ITERS; i++) {
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
  }
  return (now_ns() - t0) / (double)ITERS;
}

typedef struct st_arg {
  pkjwt_client *c;
  pthread_barrier_t *bar;
  int rc;
} st_arg;

static void *stampede(void *p) {
  st_arg *a = p;
  char buf[PKJWT_TOKEN_BUF_SIZE];
  pthread_barrier_wait(a->bar);
  a->rc = pkjwt_client_get_token_buf(buf, sizeof(buf), NULL, a->c, NULL);
  return NULL;
}

/* ---- token stores: a get from the store (what a process whose memory has
 * no token pays: the store's get and reading the record) ---- */

#define STORE_KEY                                                              \
  "0000000000000000000000000000000000000000000000000000000000000000"

/* Microseconds per store get + parse of the record of t; < 0 on failure. */
static double store_get_us(pkjwt_store *s, const pkjwt_token *t, long iters) {
  char *rec = NULL, *buf = malloc(PKJWT_STORE_VALUE_MAX);
  size_t rlen = 0;
  int64_t now = (int64_t)time(NULL);
  if (!buf || pkjwt__store_record(&rec, &rlen, t, now) != 0 ||
      s->put(s->ctx, STORE_KEY, rec, rlen, 60000, 1000) != PKJWT_STORE_OK) {
    free(buf);
    free(rec);
    return -1;
  }
  free(rec);
  double t0 = now_ns();
  for (long i = 0; i < iters; i++) {
    size_t len = 0;
    pkjwt_token *u = NULL;
    if (s->get(s->ctx, STORE_KEY, buf, PKJWT_STORE_VALUE_MAX, &len, 1000) !=
            PKJWT_STORE_OK ||
        !(u = pkjwt__store_parse(buf, len))) {
      free(buf);
      return -1;
    }
    pkjwt_token_free(u);
  }
  double us = (now_ns() - t0) / (double)iters / 1000.0;
  (void)s->del(s->ctx, STORE_KEY, 1000);
  free(buf);
  return us;
}

/* A redis-server of our own on a free loopback port (PATH or
 * $REDIS_SERVER), ready; its pid, or -1. */
static pid_t redis_start(char *url, size_t n) {
  const char *rs = getenv("REDIS_SERVER");
  if (!rs || !*rs)
    rs = "redis-server";
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof(a);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  close(fd);
  char port[16];
  snprintf(port, sizeof(port), "%d", ntohs(a.sin_port));
  snprintf(url, n, "redis://127.0.0.1:%s", port);
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 1);
    dup2(null, 2);
    execlp(rs, rs, "--port", port, "--bind", "127.0.0.1", "--save", "",
           "--appendonly", "no", (char *)NULL);
    _exit(127);
  }
  return pid;
}

static void store_rows(const pkjwt_token *t) {
  pkjwt_store *s = NULL;
  char dir[] = "/tmp/pkjwt-bench-XXXXXX";
  if (mkdtemp(dir) && pkjwt_store_file_new(&s, dir, NULL) == PKJWT_OK) {
    double us = store_get_us(s, t, 20000);
    printf("{\"bench\":\"token_store_get\",\"store\":\"file\","
           "\"us_per_get\":%.2f}\n",
           us);
    pkjwt_store_free(s);
    char p[96];
    snprintf(p, sizeof(p), "%s/" STORE_KEY ".lock", dir);
    unlink(p);
    rmdir(dir);
  }
  if (!strstr(pkjwt_store_kinds(), "redis")) {
    printf("{\"bench\":\"token_store_get\",\"store\":\"redis\","
           "\"skipped\":\"built without hiredis\"}\n");
    return;
  }
  char url[64];
  pid_t pid = redis_start(url, sizeof(url));
  double us = -1;
  if (pid > 0 && pkjwt_store_redis_new(&s, url, NULL, 0, NULL) == PKJWT_OK) {
    /* ready when a put goes through (bounded: 5 s) */
    for (int i = 0; i < 100 && us < 0; i++) {
      us = store_get_us(s, t, 1);
      if (us < 0)
        usleep(50000);
    }
    if (us >= 0)
      us = store_get_us(s, t, 5000);
    pkjwt_store_free(s);
  }
  if (pid > 0) {
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
  }
  if (us >= 0)
    printf("{\"bench\":\"token_store_get\",\"store\":\"redis\","
           "\"us_per_get\":%.2f}\n",
           us);
  else
    printf("{\"bench\":\"token_store_get\",\"store\":\"redis\","
           "\"skipped\":\"no redis-server\"}\n");
}

int main(void) {
  if (serve_start() != 0) {
    perror("bench_token: loopback server");
    return 1;
  }
  pkjwt_key *key = NULL;
  pkjwt_error err = PKJWT_ERROR_INIT;
  if (pkjwt_key_generate_ec(&key, "P-256", &err) != PKJWT_OK) {
    fprintf(stderr, "bench_token: %s\n", err.message);
    return 1;
  }
  pkjwt_client_options o = PKJWT_CLIENT_OPTIONS_INIT;
  o.base_url = srv.base;
  o.client_id = "bench";
  o.scope = "contact-centre:1:2";
  o.key = key;
  o.retries = 0;
  pkjwt_client *c = NULL;
  if (pkjwt_client_new(&c, &o, &err) != PKJWT_OK) {
    fprintf(stderr, "bench_token: %s\n", err.message);
    return 1;
  }

  /* the stampede: 64 threads, empty cache */
  enum { N = 64 };
  pthread_barrier_t bar;
  pthread_barrier_init(&bar, NULL, N);
  st_arg sa[N];
  pthread_t th[N];
  for (int i = 0; i < N; i++) {
    sa[i] = (st_arg){c, &bar, -1};
    pthread_create(&th[i], NULL, stampede, &sa[i]);
  }
  int ok = 1;
  for (int i = 0; i < N; i++) {
    pthread_join(th[i], NULL);
    ok &= sa[i].rc == PKJWT_OK;
  }
  pthread_barrier_destroy(&bar);
  if (!ok) {
    fprintf(stderr, "bench_token: the stampede's gets failed\n");
    return 1;
  }
  int requests = atomic_load(&srv.requests);

  /* A second client, so that two threads can run with nothing shared. */
  pkjwt_client *c2 = NULL;
  char tmp[PKJWT_TOKEN_BUF_SIZE];
  if (pkjwt_client_new(&c2, &o, &err) != PKJWT_OK ||
      pkjwt_client_get_token_buf(tmp, sizeof(tmp), NULL, c2, &err) !=
          PKJWT_OK) {
    fprintf(stderr, "bench_token: %s\n", err.message);
    return 1;
  }
  double base_ns = mutex_baseline();
  for (int n = 1; n <= 2; n++) {
    double get = measure(c, n, 0), floor_ns = measure(NULL, n, 0);
    printf("{\"bench\":\"token_cached\",\"threads\":%d,\"ns_per_get\":%.1f,"
           "\"baseline_ns\":%.1f,\"memcpy_ns\":%.1f",
           n, get, base_ns, floor_ns);
    if (n == 2) {
      own_client = c2;
      printf(",\"own_client_ns\":%.1f", measure(c, 2, 0));
      own_client = NULL;
    }
    printf("}\n");
  }
  for (int n = 1; n <= 2; n++)
    printf("{\"bench\":\"token_cached_copy\",\"threads\":%d,"
           "\"ns_per_get\":%.1f,\"baseline_ns\":%.1f}\n",
           n, measure(c, n, 1), base_ns);
  printf("{\"bench\":\"token_stampede\",\"threads\":%d,\"requests\":%d}\n", N,
         requests);
  /* beside the in-memory get above: a get from each store */
  pkjwt_token *tok = NULL;
  if (pkjwt_client_get_token(&tok, c, &err) == PKJWT_OK)
    store_rows(tok);
  pkjwt_token_free(tok);

  pkjwt_client_free(c);
  pkjwt_client_free(c2);
  pkjwt_key_free(key);
  canned_stop(&srv);
  return requests == 1 ? 0 : 1;
}
