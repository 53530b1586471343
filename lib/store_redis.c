/*
 * lib/store_redis.c: the Redis (and Valkey) token store through hiredis
 * (pkjwt_store_redis_new): one connection per store, behind a mutex, made
 * on first use and again after a failure, each command bounded by the
 * client's store_timeout_ms. The token is SET with PX = its lifetime; the
 * fetch lock is SET NX PX with a random owner value, released by a Lua
 * script that compares the owner. Without hiredis (configure
 * --without-redis) only the constructor is here, and it says so.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

const char *pkjwt_store_kinds(void) {
#ifdef HAVE_HIREDIS
  return "file redis";
#else
  return "file";
#endif
}

#ifdef HAVE_HIREDIS

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <openssl/rand.h>

#define DEFAULT_PORT 6379
#define TOKEN_PREFIX "pkjwt:token:"
#define LOCK_PREFIX "pkjwt:lock:"
/* Released only by its owner: a holder whose lock ran out must not drop the
 * next holder's. */
#define UNLOCK_SCRIPT                                                          \
  "if redis.call('get', KEYS[1]) == ARGV[1] then "                             \
  "return redis.call('del', KEYS[1]) else return 0 end"

struct redis_store {
  pthread_mutex_t mu;
  redisContext *rc; /* under mu; NULL = not connected */
  char *host;       /* or NULL with path */
  int port;
  char *path; /* unix socket */
  long db;
  char *user;     /* NULL = default user */
  char *password; /* NULL = no AUTH; wiped when freed */
  long connect_ms;
};

static struct timeval tv_of(long ms) {
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  return tv;
}

/* A write to a connection the server closed raises SIGPIPE: keep it from
 * the calling thread, and swallow one that came, so a Redis that goes away
 * never kills the application. */
typedef struct {
  sigset_t old;
  int pending_before;
} sigpipe_guard;

static void sigpipe_block(sigpipe_guard *g) {
  sigset_t set, pend;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  sigpending(&pend);
  g->pending_before = sigismember(&pend, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void sigpipe_restore(sigpipe_guard *g) {
  sigset_t set, pend;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  sigpending(&pend);
  if (!g->pending_before && sigismember(&pend, SIGPIPE)) {
    struct timespec zero = {0, 0};
    while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
      ;
  }
  pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

static void drop(struct redis_store *r) {
  if (r->rc) {
    redisFree(r->rc);
    r->rc = NULL;
  }
}

/* One command on the connection (made first when there is none); NULL when
 * the store failed, and the connection is dropped. With r->mu held. */
static redisReply *command(struct redis_store *r, long timeout_ms, int argc,
                           const char **argv, const size_t *lens) {
  sigpipe_guard g;
  sigpipe_block(&g);
  struct timeval tv =
      tv_of(timeout_ms > 0 ? timeout_ms : PKJWT_STORE_TIMEOUT_MS);
  if (!r->rc) {
    struct timeval ctv =
        tv_of(r->connect_ms < timeout_ms ? r->connect_ms : timeout_ms);
    r->rc = r->path ? redisConnectUnixWithTimeout(r->path, ctv)
                    : redisConnectWithTimeout(r->host, r->port, ctv);
    int ok = r->rc && !r->rc->err && redisSetTimeout(r->rc, tv) == REDIS_OK;
    if (ok && r->password) {
      redisReply *a =
          r->user ? redisCommand(r->rc, "AUTH %s %s", r->user, r->password)
                  : redisCommand(r->rc, "AUTH %s", r->password);
      ok = a && a->type == REDIS_REPLY_STATUS;
      if (a)
        freeReplyObject(a);
    }
    if (ok && r->db) {
      redisReply *a = redisCommand(r->rc, "SELECT %ld", r->db);
      ok = a && a->type == REDIS_REPLY_STATUS;
      if (a)
        freeReplyObject(a);
    }
    if (!ok) {
      drop(r);
      sigpipe_restore(&g);
      return NULL;
    }
  } else if (redisSetTimeout(r->rc, tv) != REDIS_OK) {
    drop(r);
    sigpipe_restore(&g);
    return NULL;
  }
  redisReply *rep = redisCommandArgv(r->rc, argc, argv, lens);
  if (!rep || r->rc->err) {
    if (rep)
      freeReplyObject(rep);
    rep = NULL;
    drop(r);
  } else if (rep->type == REDIS_REPLY_ERROR) {
    freeReplyObject(rep);
    rep = NULL;
  }
  sigpipe_restore(&g);
  return rep;
}

/* prefix + key, into buf; 0, or -1 when it does not fit or key is empty. */
static int name_of(char *buf, size_t n, const char *prefix, const char *key) {
  int w = snprintf(buf, n, "%s%s", prefix, key);
  return *key && w > 0 && (size_t)w < n ? 0 : -1;
}

static int rs_get(void *ctx, const char *key, char *buf, size_t size,
                  size_t *len, long timeout_ms) {
  struct redis_store *r = ctx;
  char name[256];
  *len = 0;
  if (name_of(name, sizeof(name), TOKEN_PREFIX, key) != 0)
    return PKJWT_STORE_FAIL;
  const char *argv[] = {"GET", name};
  size_t lens[] = {3, strlen(name)};
  pthread_mutex_lock(&r->mu);
  redisReply *rep = command(r, timeout_ms, 2, argv, lens);
  pthread_mutex_unlock(&r->mu);
  if (!rep)
    return PKJWT_STORE_FAIL;
  int res = PKJWT_STORE_FAIL;
  if (rep->type == REDIS_REPLY_NIL) {
    res = PKJWT_STORE_MISS;
  } else if (rep->type == REDIS_REPLY_STRING) {
    size_t n = rep->len;
    memcpy(buf, rep->str, n < size ? n : size);
    *len = n;
    OPENSSL_cleanse(rep->str, rep->len);
    res = PKJWT_STORE_OK;
  }
  freeReplyObject(rep);
  return res;
}

static int rs_put(void *ctx, const char *key, const char *value, size_t len,
                  long ttl_ms, long timeout_ms) {
  struct redis_store *r = ctx;
  char name[256], px[32];
  if (name_of(name, sizeof(name), TOKEN_PREFIX, key) != 0)
    return PKJWT_STORE_FAIL;
  snprintf(px, sizeof(px), "%ld", ttl_ms);
  const char *argv[] = {"SET", name, value, "PX", px};
  size_t lens[] = {3, strlen(name), len, 2, strlen(px)};
  pthread_mutex_lock(&r->mu);
  redisReply *rep = command(r, timeout_ms, ttl_ms > 0 ? 5 : 3, argv, lens);
  pthread_mutex_unlock(&r->mu);
  int ok = rep && rep->type == REDIS_REPLY_STATUS;
  if (rep)
    freeReplyObject(rep);
  return ok ? PKJWT_STORE_OK : PKJWT_STORE_FAIL;
}

static int rs_del(void *ctx, const char *key, long timeout_ms) {
  struct redis_store *r = ctx;
  char name[256];
  if (name_of(name, sizeof(name), TOKEN_PREFIX, key) != 0)
    return PKJWT_STORE_FAIL;
  const char *argv[] = {"DEL", name};
  size_t lens[] = {3, strlen(name)};
  pthread_mutex_lock(&r->mu);
  redisReply *rep = command(r, timeout_ms, 2, argv, lens);
  pthread_mutex_unlock(&r->mu);
  int ok = rep && rep->type == REDIS_REPLY_INTEGER;
  if (rep)
    freeReplyObject(rep);
  return ok ? PKJWT_STORE_OK : PKJWT_STORE_FAIL;
}

/* The lock's handle: its owner value (random, so only its taker frees it). */
#define OWNER_LEN 32

static int rs_lock(void *ctx, const char *key, long lifetime_ms,
                   long timeout_ms, void **handle) {
  struct redis_store *r = ctx;
  *handle = NULL;
  char name[256], px[32];
  unsigned char rnd[OWNER_LEN / 2];
  if (name_of(name, sizeof(name), LOCK_PREFIX, key) != 0 ||
      RAND_bytes(rnd, sizeof(rnd)) != 1)
    return PKJWT_STORE_FAIL;
  char *owner = malloc(OWNER_LEN + 1);
  if (!owner)
    return PKJWT_STORE_FAIL;
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < sizeof(rnd); i++) {
    owner[2 * i] = hex[rnd[i] >> 4];
    owner[2 * i + 1] = hex[rnd[i] & 15];
  }
  owner[OWNER_LEN] = '\0';
  snprintf(px, sizeof(px), "%ld", lifetime_ms > 0 ? lifetime_ms : 1);
  const char *argv[] = {"SET", name, owner, "NX", "PX", px};
  size_t lens[] = {3, strlen(name), OWNER_LEN, 2, 2, strlen(px)};
  pthread_mutex_lock(&r->mu);
  redisReply *rep = command(r, timeout_ms, 6, argv, lens);
  pthread_mutex_unlock(&r->mu);
  int res = !rep                              ? PKJWT_STORE_FAIL
            : rep->type == REDIS_REPLY_STATUS ? PKJWT_STORE_OK
            : rep->type == REDIS_REPLY_NIL    ? PKJWT_STORE_BUSY
                                              : PKJWT_STORE_FAIL;
  if (rep)
    freeReplyObject(rep);
  if (res == PKJWT_STORE_OK)
    *handle = owner;
  else
    free(owner);
  return res;
}

static void rs_unlock(void *ctx, const char *key, void *handle,
                      long timeout_ms) {
  struct redis_store *r = ctx;
  char *owner = handle;
  char name[256];
  if (owner && name_of(name, sizeof(name), LOCK_PREFIX, key) == 0) {
    const char *argv[] = {"EVAL", UNLOCK_SCRIPT, "1", name, owner};
    size_t lens[] = {4, strlen(UNLOCK_SCRIPT), 1, strlen(name), OWNER_LEN};
    pthread_mutex_lock(&r->mu);
    redisReply *rep = command(r, timeout_ms, 5, argv, lens);
    pthread_mutex_unlock(&r->mu);
    if (rep)
      freeReplyObject(rep);
  }
  free(owner);
}

static void rs_destroy(void *ctx) {
  struct redis_store *r = ctx;
  if (!r)
    return;
  drop(r);
  pthread_mutex_destroy(&r->mu);
  free(r->host);
  free(r->path);
  free(r->user);
  if (r->password)
    pkjwt__cleanse_free(r->password, strlen(r->password) + 1);
  free(r);
}

/* A decimal number of s[0..n) in [lo, hi]; -1 when it is not one. */
static long number(const char *s, size_t n, long lo, long hi) {
  if (n == 0 || n > 9)
    return -1;
  long v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v >= lo && v <= hi ? v : -1;
}

/* The URL into r. Messages never repeat the URL: it may hold a password. */
static int parse_url(struct redis_store *r, const char *url, pkjwt_error *err) {
  if (strncmp(url, "rediss://", 9) == 0)
    return pkjwt__fail(err, PKJWT_ERR_INSECURE,
                       "rediss:// (TLS) needs hiredis with TLS (hiredis_ssl, "
                       "1.0 or later), and this build's hiredis %d.%d has "
                       "none: use unix:/PATH on the host, or a TLS tunnel",
                       HIREDIS_MAJOR, HIREDIS_MINOR);
  if (strncmp(url, "unix:", 5) == 0) {
    const char *p = url + 5, *q = strchr(p, '?');
    size_t n = q ? (size_t)(q - p) : strlen(p);
    if (n == 0 || p[0] != '/')
      return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                         "a unix: store URL needs an absolute path");
    if (q && (strncmp(q, "?db=", 4) != 0 ||
              (r->db = number(q + 4, strlen(q + 4), 0, 100000)) < 0))
      return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                         "unix: store URL: only ?db=NUMBER may follow the "
                         "path");
    r->path = pkjwt__strndup(p, n);
    return r->path ? PKJWT_OK
                   : pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  }
  if (strncmp(url, "redis://", 8) != 0)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "not a store URL: redis://[USER@]HOST[:PORT][/DB] or "
                       "unix:/PATH");
  const char *p = url + 8, *end = p + strlen(p);
  const char *slash = memchr(p, '/', (size_t)(end - p));
  const char *hostend = slash ? slash : end;
  const char *at = memchr(p, '@', (size_t)(hostend - p));
  if (at) {
    if (memchr(p, ':', (size_t)(at - p)))
      return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                         "a password in the store URL is refused (it would "
                         "show in process lists): give it apart");
    if (at == p)
      return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                         "an empty user name in the store URL");
    if (!(r->user = pkjwt__strndup(p, (size_t)(at - p))))
      return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
    p = at + 1;
  }
  const char *colon = NULL;
  if (*p == '[') { /* [IPv6] */
    const char *rb = memchr(p, ']', (size_t)(hostend - p));
    if (!rb)
      return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                         "store URL: '[' without ']'");
    r->host = pkjwt__strndup(p + 1, (size_t)(rb - p - 1));
    colon = rb + 1 < hostend && rb[1] == ':' ? rb + 1 : NULL;
    if (rb + 1 < hostend && !colon)
      return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                         "store URL: text after the host");
  } else {
    colon = memchr(p, ':', (size_t)(hostend - p));
    r->host = pkjwt__strndup(p, (size_t)((colon ? colon : hostend) - p));
  }
  if (!r->host)
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  if (!*r->host || pkjwt__has_control(r->host))
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "store URL: no host");
  r->port = DEFAULT_PORT;
  if (colon) {
    long port = number(colon + 1, (size_t)(hostend - colon - 1), 1, 65535);
    if (port < 0)
      return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                         "store URL: the port is not 1 to 65535");
    r->port = (int)port;
  }
  if (slash && slash + 1 < end &&
      (r->db = number(slash + 1, (size_t)(end - slash - 1), 0, 100000)) < 0)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "store URL: the database is not a number");
  return PKJWT_OK;
}

int pkjwt_store_redis_new(pkjwt_store **out, const char *url,
                          const char *password, long timeout_ms,
                          pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no place for the store");
  *out = NULL;
  if (!url || !*url)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no store URL");
  if (timeout_ms < 0)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "negative timeout");
  if (password && (pkjwt__has_control(password) || !*password))
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "the store password is empty or holds a control "
                       "character");
  struct redis_store *r = calloc(1, sizeof(*r));
  pkjwt_store *s = calloc(1, sizeof(*s));
  if (!r || !s || pthread_mutex_init(&r->mu, NULL) != 0) {
    free(r);
    free(s);
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  }
  r->connect_ms = timeout_ms ? timeout_ms : PKJWT_STORE_TIMEOUT_MS;
  int rc = parse_url(r, url, err);
  if (rc == PKJWT_OK && password && !(r->password = pkjwt__strdup(password)))
    rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  if (rc != PKJWT_OK) {
    rs_destroy(r);
    free(s);
    return rc;
  }
  s->version = PKJWT_STORE_VERSION;
  s->ctx = r;
  s->get = rs_get;
  s->put = rs_put;
  s->del = rs_del;
  s->lock = rs_lock;
  s->unlock = rs_unlock;
  s->destroy = rs_destroy;
  *out = s;
  return PKJWT_OK;
}

#else

int pkjwt_store_redis_new(pkjwt_store **out, const char *url,
                          const char *password, long timeout_ms,
                          pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  (void)url;
  (void)password;
  (void)timeout_ms;
  if (out)
    *out = NULL;
  return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                     "this build of pkjwt has no Redis store (built without "
                     "hiredis); it has: %s",
                     pkjwt_store_kinds());
}

#endif
