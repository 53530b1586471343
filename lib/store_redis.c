/*
 * lib/store_redis.c: the Redis (and Valkey) token store through hiredis
 * (pkjwt_store_redis_new): one connection per store, behind a mutex, made
 * on first use and again after a failure, each command bounded by the
 * client's store_timeout_ms. The token is SET with PX = its lifetime; the
 * fetch lock is SET NX PX with a random owner value, released by a Lua
 * script that compares the owner. rediss:// (TLS) does not need hiredis's
 * TLS (hiredis_ssl, absent from Debian 12's 0.14): the connection is our
 * own socket and OpenSSL session, verified like the token endpoint (the
 * system's trust store or ?cacert=FILE, the host name checked, TLS 1.2 or
 * later), and hiredis only formats the commands and parses the replies
 * (redisFormatCommandArgv, redisReader), so every command still goes
 * through command(). Without hiredis (configure --without-redis) only the
 * constructor is here, and it says so.
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

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define DEFAULT_PORT 6379
#define TOKEN_PREFIX "pkjwt:token:"
#define LOCK_PREFIX "pkjwt:lock:"
/* Released only by its owner: a holder whose lock ran out must not drop the
 * next holder's. */
#define UNLOCK_SCRIPT                                                          \
  "if redis.call('get', KEYS[1]) == ARGV[1] then "                             \
  "return redis.call('del', KEYS[1]) else return 0 end"

/* The most a TLS connection reads for one reply: the largest value and
 * room for the reply's framing. */
#define TLS_REPLY_MAX (2 * PKJWT_STORE_VALUE_MAX + 4096)

struct redis_store {
  pthread_mutex_t mu;
  redisContext *rc; /* under mu; NULL = not connected (redis://, unix:) */
  SSL_CTX *tls;     /* rediss:// only: verification set up once */
  SSL *ssl;         /* under mu; the TLS connection, NULL = none */
  int fd;           /* its socket */
  redisReader *rd;  /* its reply parser */
  int use_tls;      /* rediss:// */
  char *cafile;     /* rediss://...?cacert=FILE; NULL = the system's */
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
  if (r->ssl) {
    SSL_free(r->ssl);
    r->ssl = NULL;
    close(r->fd);
    r->fd = -1;
  }
  if (r->rd) {
    redisReaderFree(r->rd);
    r->rd = NULL;
  }
}

static long long mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for events, at most until deadline (mono_ms);
 * 0 when it is. */
static int io_wait(int fd, short events, long long deadline) {
  for (;;) {
    long long left = deadline - mono_ms();
    if (left <= 0)
      return -1;
    struct pollfd p = {fd, events, 0};
    int n = poll(&p, 1, (int)left);
    if (n > 0)
      return p.revents & (POLLERR | POLLNVAL) ? -1 : 0;
    if (n == 0 || errno != EINTR)
      return -1;
  }
}

/* A non-blocking TCP connection to host:port, made before deadline; the
 * socket, or -1. */
static int tcp_connect(const char *host, int port, long long deadline) {
  char service[16];
  snprintf(service, sizeof(service), "%d", port);
  struct addrinfo hints = {0}, *ai = NULL;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  if (getaddrinfo(host, service, &hints, &ai) != 0)
    return -1;
  int fd = -1;
  for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                a->ai_protocol);
    if (fd < 0)
      continue;
    int e = 0;
    socklen_t el = sizeof(e);
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 &&
        (errno != EINPROGRESS || io_wait(fd, POLLOUT, deadline) != 0 ||
         getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0 || e != 0)) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(ai);
  return fd;
}

/* After an SSL call that returned rc: 1 when it should be tried again
 * (it waited, bounded by deadline, for what OpenSSL wants), else 0. */
static int tls_again(struct redis_store *r, int rc, long long deadline) {
  switch (SSL_get_error(r->ssl, rc)) {
  case SSL_ERROR_WANT_READ:
    return io_wait(r->fd, POLLIN, deadline) == 0;
  case SSL_ERROR_WANT_WRITE:
    return io_wait(r->fd, POLLOUT, deadline) == 0;
  default:
    return 0;
  }
}

/* The TLS connection, its certificate verified for r->host; 0 or -1. */
static int tls_connect(struct redis_store *r, long long deadline) {
  r->fd = tcp_connect(r->host, r->port, deadline);
  if (r->fd < 0)
    return -1;
  r->ssl = SSL_new(r->tls);
  r->rd = redisReaderCreate();
  if (!r->ssl || !r->rd || SSL_set_fd(r->ssl, r->fd) != 1) {
    if (!r->ssl)
      close(r->fd);
    return -1;
  }
  /* An address is checked against the certificate's IP names, a name
   * against its DNS names (and sent as SNI). */
  unsigned char ip[16];
  int is_ip = inet_pton(AF_INET, r->host, ip) == 1 ||
              inet_pton(AF_INET6, r->host, ip) == 1;
  X509_VERIFY_PARAM *vp = SSL_get0_param(r->ssl);
  if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, r->host) != 1
            : SSL_set1_host(r->ssl, r->host) != 1 ||
                  SSL_set_tlsext_host_name(r->ssl, r->host) != 1)
    return -1;
  int rc;
  while ((rc = SSL_connect(r->ssl)) != 1)
    if (!tls_again(r, rc, deadline))
      return -1;
  return SSL_get_verify_result(r->ssl) == X509_V_OK ? 0 : -1;
}

/* One command over the TLS connection, before deadline: hiredis formats it
 * and parses the reply; NULL when the connection failed. */
static redisReply *tls_command(struct redis_store *r, long long deadline,
                               int argc, const char **argv,
                               const size_t *lens) {
  char *cmd = NULL;
  int n = redisFormatCommandArgv(&cmd, argc, argv, lens);
  if (n < 0)
    return NULL;
  int rc = 1;
  for (int off = 0; off < n && rc > 0;) {
    rc = SSL_write(r->ssl, cmd + off, n - off);
    if (rc > 0)
      off += rc;
    else if (tls_again(r, rc, deadline))
      rc = 1;
  }
  OPENSSL_cleanse(cmd, (size_t)n); /* it may hold a password or a token */
  redisFreeCommand(cmd);
  void *reply = NULL;
  size_t got = 0;
  char buf[4096];
  while (rc > 0 && redisReaderGetReply(r->rd, &reply) == REDIS_OK && !reply) {
    rc = SSL_read(r->ssl, buf, sizeof(buf));
    if (rc > 0) {
      got += (size_t)rc;
      if (got > TLS_REPLY_MAX ||
          redisReaderFeed(r->rd, buf, (size_t)rc) != REDIS_OK)
        rc = 0;
    } else if (tls_again(r, rc, deadline)) {
      rc = 1;
    }
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  if (rc <= 0 && reply) {
    freeReplyObject(reply);
    reply = NULL;
  }
  return reply;
}

/* One command on the connection there is; NULL when the connection failed
 * (then it is dropped). */
static redisReply *exchange(struct redis_store *r, long timeout_ms, int argc,
                            const char **argv, const size_t *lens) {
  redisReply *rep = NULL;
  if (r->ssl) {
    rep = tls_command(r, mono_ms() + timeout_ms, argc, argv, lens);
  } else {
    rep = redisCommandArgv(r->rc, argc, argv, lens);
    if (rep && r->rc->err) {
      freeReplyObject(rep);
      rep = NULL;
    }
  }
  if (!rep)
    drop(r);
  return rep;
}

/* Connect (r->rc or r->ssl), then AUTH and SELECT; 0, or -1 with nothing
 * left connected. */
static int connect_store(struct redis_store *r, long timeout_ms) {
  long cms = r->connect_ms < timeout_ms ? r->connect_ms : timeout_ms;
  if (r->tls) {
    if (tls_connect(r, mono_ms() + cms) != 0) {
      drop(r);
      return -1;
    }
  } else {
    r->rc = r->path ? redisConnectUnixWithTimeout(r->path, tv_of(cms))
                    : redisConnectWithTimeout(r->host, r->port, tv_of(cms));
    if (!r->rc || r->rc->err ||
        redisSetTimeout(r->rc, tv_of(timeout_ms)) != REDIS_OK) {
      drop(r);
      return -1;
    }
  }
  char db[32];
  snprintf(db, sizeof(db), "%ld", r->db);
  const char *auth[] = {"AUTH", r->user ? r->user : r->password, r->password};
  size_t auth_lens[] = {4, strlen(auth[1] ? auth[1] : ""),
                        r->password ? strlen(r->password) : 0};
  const char *sel[] = {"SELECT", db};
  size_t sel_lens[] = {6, strlen(db)};
  redisReply *a = NULL;
  int ok = 1;
  if (r->password) {
    a = exchange(r, timeout_ms, r->user ? 3 : 2, auth, auth_lens);
    ok = a && a->type == REDIS_REPLY_STATUS;
    if (a)
      freeReplyObject(a);
  }
  if (ok && r->db) {
    a = exchange(r, timeout_ms, 2, sel, sel_lens);
    ok = a && a->type == REDIS_REPLY_STATUS;
    if (a)
      freeReplyObject(a);
  }
  if (!ok)
    drop(r);
  return ok ? 0 : -1;
}

/* One command on the connection (made first when there is none); NULL when
 * the store failed, and the connection is dropped. With r->mu held. */
static redisReply *command(struct redis_store *r, long timeout_ms, int argc,
                           const char **argv, const size_t *lens) {
  sigpipe_guard g;
  sigpipe_block(&g);
  if (timeout_ms <= 0)
    timeout_ms = PKJWT_STORE_TIMEOUT_MS;
  redisReply *rep = NULL;
  if (!r->rc && !r->ssl) {
    if (connect_store(r, timeout_ms) != 0) {
      sigpipe_restore(&g);
      return NULL;
    }
  } else if (r->rc && redisSetTimeout(r->rc, tv_of(timeout_ms)) != REDIS_OK) {
    drop(r);
    sigpipe_restore(&g);
    return NULL;
  }
  rep = exchange(r, timeout_ms, argc, argv, lens);
  if (rep && rep->type == REDIS_REPLY_ERROR) {
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
  SSL_CTX_free(r->tls);
  free(r->cafile);
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

/* rediss://: the TLS context, verifying like the token endpoint: the
 * peer's certificate against r->cafile or the system's trust store (the
 * host name is set per connection), TLS 1.2 or later. */
static int tls_setup(struct redis_store *r, pkjwt_error *err) {
  r->tls = SSL_CTX_new(TLS_client_method());
  if (!r->tls)
    return pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO,
                           "TLS for the Redis store could not be set up");
  SSL_CTX_set_verify(r->tls, SSL_VERIFY_PEER, NULL);
  if (SSL_CTX_set_min_proto_version(r->tls, TLS1_2_VERSION) != 1)
    return pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO,
                           "TLS for the Redis store could not be set up");
  if (r->cafile ? SSL_CTX_load_verify_locations(r->tls, r->cafile, NULL) != 1
                : SSL_CTX_set_default_verify_paths(r->tls) != 1)
    return pkjwt__fail_ssl(err, PKJWT_ERR_IO,
                           "%s: no CA certificates could be read from it",
                           r->cafile ? r->cafile : "the system's trust store");
  return PKJWT_OK;
}

/* The URL into r. Messages never repeat the URL: it may hold a password. */
static int parse_url(struct redis_store *r, const char *url, pkjwt_error *err) {
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
  r->use_tls = strncmp(url, "rediss://", 9) == 0;
  if (!r->use_tls && strncmp(url, "redis://", 8) != 0)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "not a store URL: redis://[USER@]HOST[:PORT][/DB], "
                       "rediss://[USER@]HOST[:PORT][/DB][?cacert=FILE] or "
                       "unix:/PATH");
  const char *p = url + (r->use_tls ? 9 : 8);
  const char *query = strchr(p, '?');
  const char *end = query ? query : p + strlen(p);
  if (query) {
    if (!r->use_tls || strncmp(query, "?cacert=", 8) != 0 || !query[8])
      return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                         "store URL: only ?cacert=FILE may follow, and only "
                         "in a rediss:// URL");
    if (!(r->cafile = pkjwt__strdup(query + 8)))
      return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  }
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
  r->fd = -1;
  int rc = parse_url(r, url, err);
  if (rc == PKJWT_OK && r->use_tls)
    rc = tls_setup(r, err);
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
