/*
 * tests/fleet_client.c: one process of the fleet that tests/fleet.sh runs 8
 * times at once: THREADS threads share one client on a token store (the
 * file store or Redis) and loop pkjwt_client_get_token() from START_MS to
 * UNTIL_MS (epoch milliseconds, the same for every process, so that all
 * start together). Public API only.
 *
 *   fleet_client STORE KEY CLIENT_ID SCOPE BASE_URL START_MS UNTIL_MS THREADS
 *
 * STORE is file:DIR or a Redis URL (password from PKJWT_STORE_PASSWORD).
 * Prints "period P" (seconds from a token's fetch to its refresh, by
 * pkjwt_token_refresh_at) and then one line "token FETCHED TOKEN" for each
 * token it was given (FETCHED: the epoch second it was fetched). Exit 0
 * when every get gave a token without a warning, else 1 with one line on
 * stderr; 2 for bad arguments.
 */
#define _POSIX_C_SOURCE 200809L
#include <pkjwt.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS 16
#define MAX_TOKENS 64

static pkjwt_client *g_client;
static long long g_until_ms;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static char *g_tokens[MAX_TOKENS]; /* under g_mu: each token given, once */
static long long g_fetched[MAX_TOKENS];
static int g_ntokens;
static long long g_period = -1;
static char g_failure[256]; /* under g_mu */

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void sleep_ms(long long ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

static void fail(const char *what, const char *why) {
  pthread_mutex_lock(&g_mu);
  if (!g_failure[0])
    snprintf(g_failure, sizeof(g_failure), "%.32s: %.200s", what, why);
  pthread_mutex_unlock(&g_mu);
}

/* Remember t when it is one this process has not seen yet. */
static void seen(const pkjwt_token *t) {
  pthread_mutex_lock(&g_mu);
  int i = 0;
  while (i < g_ntokens && strcmp(g_tokens[i], t->access_token) != 0)
    i++;
  if (i == g_ntokens && i < MAX_TOKENS) {
    g_tokens[i] = strdup(t->access_token);
    g_fetched[i] = (long long)(t->expires_at - t->expires_in);
    if (g_period < 0)
      g_period = (long long)(pkjwt_token_refresh_at(t) - g_fetched[i]);
    g_ntokens += g_tokens[i] != NULL;
  }
  pthread_mutex_unlock(&g_mu);
}

static void *loop(void *unused) {
  (void)unused;
  while (now_ms() < g_until_ms) {
    pkjwt_error err = PKJWT_ERROR_INIT;
    pkjwt_token *t = NULL;
    if (pkjwt_client_get_token(&t, g_client, &err) != PKJWT_OK) {
      fail("get", err.message);
    } else {
      if (err.warning[0])
        fail("warning", err.warning);
      seen(t);
    }
    pkjwt_token_free(t);
    sleep_ms(5);
  }
  return NULL;
}

static long long number(const char *s) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  return errno || !*s || *end || v < 0 ? -1 : v;
}

int main(int argc, char **argv) {
  if (argc != 9) {
    fprintf(stderr, "usage: fleet_client STORE KEY CLIENT_ID SCOPE BASE_URL "
                    "START_MS UNTIL_MS THREADS\n");
    return 2;
  }
  long long start = number(argv[6]), threads = number(argv[8]);
  g_until_ms = number(argv[7]);
  if (start < 0 || g_until_ms <= start || threads < 1 ||
      threads > MAX_THREADS) {
    fprintf(stderr, "fleet_client: bad START_MS, UNTIL_MS or THREADS\n");
    return 2;
  }
  pkjwt_error err = PKJWT_ERROR_INIT;
  pkjwt_store *store = NULL;
  pkjwt_key *key = NULL;
  int rc = strncmp(argv[1], "file:", 5) == 0
               ? pkjwt_store_file_new(&store, argv[1] + 5, &err)
               : pkjwt_store_redis_new(&store, argv[1],
                                       getenv("PKJWT_STORE_PASSWORD"), 0, &err);
  if (rc == PKJWT_OK)
    rc = pkjwt_key_load_file(&key, argv[2], NULL, &err);
  pkjwt_client_options o = PKJWT_CLIENT_OPTIONS_INIT;
  o.base_url = argv[5];
  o.client_id = argv[3];
  o.scope = argv[4];
  o.key = key;
  o.store = store;
  /* A busy test machine can take longer than the default 200 ms per store
   * call, which would only cost a warning and a request: the fallback has
   * its own tests (tests/redis.sh, tests/check_store.c). */
  o.store_timeout_ms = 3000;
  if (rc == PKJWT_OK)
    rc = pkjwt_client_new(&g_client, &o, &err);
  if (rc != PKJWT_OK) {
    fprintf(stderr, "fleet_client: %s\n", err.message);
    pkjwt_key_free(key);
    pkjwt_store_free(store);
    return 1;
  }
  long long wait = start - now_ms();
  if (wait > 0)
    sleep_ms(wait);
  pthread_t th[MAX_THREADS];
  int made = 0;
  for (; made < threads; made++)
    if (pthread_create(&th[made], NULL, loop, NULL) != 0) {
      fail("threads", "pthread_create failed");
      break;
    }
  for (int i = 0; i < made; i++)
    pthread_join(th[i], NULL);
  pkjwt_client_free(g_client);
  pkjwt_store_free(store);
  pkjwt_key_free(key);
  printf("period %lld\n", g_period);
  for (int i = 0; i < g_ntokens; i++) {
    printf("token %lld %s\n", g_fetched[i], g_tokens[i]);
    free(g_tokens[i]);
  }
  if (g_failure[0]) {
    fprintf(stderr, "fleet_client: %s\n", g_failure);
    return 1;
  }
  return fflush(stdout) == 0 ? 0 : 1;
}
