/*
 * lib/client.c: the token client. Configuration, one token request per
 * attempt (a fresh assertion each time), response parsing, retries with
 * backoff, the audience modes, the cache with its single flight, the check
 * endpoint and the events. The HTTP exchange itself is lib/http.c.
 *
 * Locking: c->mu guards the cache and the flight state; no lock is held
 * during a request or an event callback. Beside the mutex, the cached
 * access token is published through a seqlock (see "snapshot" below) so
 * that pkjwt_client_get_token_buf() reads it without writing any shared
 * memory: cached gets then cost tens of nanoseconds and scale with threads.
 */
/* nanosleep, strcasecmp, inet_pton under -std=c11 */
#define _POSIX_C_SOURCE 200809L
#include "client_internal.h"
#include "profile.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_RETRIES 3
#define MAX_RETRIES 10
/* Backoff: full jitter over base * 2^n, capped (AWS architecture blog's
 * "Exponential Backoff And Jitter"). */
#define BACKOFF_BASE_MS 250L
#define BACKOFF_CAP_MS 8000L
#define RETRY_AFTER_MAX_S 30L
/* A token living longer than a year is a server error, not a policy. */
#define EXPIRES_IN_MAX (366L * 86400L)
#define REFRESH_AHEAD_MIN_S 60
/* After a failed refresh while the old token is still valid, wait this
 * long before trying again, so a down server does not meet a request per
 * get. */
#define REFRESH_HOLDOFF_S 5

#define ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/* Generic hints; a provider profile may replace them with its own words
 * (lib/profile.c). */
static const char HINT_INVALID_CLIENT[] =
    "check that the certificate or JWK registered for this client is current "
    "and not expired, that the client id is right, and that this machine's "
    "clock is correct";
static const char HINT_INVALID_SCOPE[] =
    "the server does not grant this scope to this client: check the scope";
static const char HINT_CHECK_401[] =
    "the token is invalid or expired, lacks the required scope, or the "
    "Authorization header is malformed: get a new token and check its scope";
static const char HINT_CHECK_403[] =
    "the token is valid but its client or user lacks the rights for this "
    "resource";

/* ---- the snapshot: a seqlock over the cached access token ---- */

/* An immutable-capacity buffer of words. Readers may hold a pointer to one
 * that has been replaced, so replaced buffers live until the client is
 * freed; capacities double, so there are at most a few dozen. */
typedef struct snap_buf {
  struct snap_buf *retired_next; /* under mu */
  size_t cap_words;              /* fixed at allocation */
  _Atomic uint64_t w[];
} snap_buf;

struct pkjwt_client {
  char *token_endpoint, *check_endpoint, *issuer, *client_id, *scope;
  char *custom_audience, *ca_file, *user_agent;
  const pkjwt_key *key;
  const pkjwt__profile *profile; /* defaults and hint texts */
  pkjwt_alg alg;
  pkjwt_audience_mode mode;
  int retries;
  pkjwt__http_opts http;
  pkjwt_event_cb on_event;
  void *event_userdata;
  int64_t (*clock)(void *);
  void *clock_userdata;
  void (*sleep_ms)(void *, long);
  void *sleep_userdata;

  pthread_mutex_t mu;
  pthread_cond_t cv;
  /* under mu */
  pkjwt_token *cached; /* made by token_make */
  size_t cached_size;
  int64_t refresh_at;
  int64_t retry_not_before;
  int fetching;
  unsigned long flights_started, flights_done;
  int last_rc;
  pkjwt_error last_err;
  snap_buf *retired;
  int ever_fetched; /* a token was obtained before: the next is a refresh */
  /* Written by the fetching thread only; flights are ordered by mu. */
  int auto_use_issuer;

  /* the seqlock: written under mu, read by anyone */
  _Atomic unsigned long seq;
  _Atomic(snap_buf *) snap;
  _Atomic size_t snap_len; /* 0: no token */
  _Atomic int64_t snap_refresh_at, snap_expires_at;

  atomic_ulong requests;
};

static int64_t client_now(const pkjwt_client *c) {
  return c->clock ? c->clock(c->clock_userdata) : (int64_t)time(NULL);
}

static snap_buf *snap_alloc(size_t words) {
  snap_buf *b = calloc(1, sizeof(*b) + words * sizeof(b->w[0]));
  if (b)
    b->cap_words = words;
  return b;
}

static void snap_zero(snap_buf *b) {
  for (size_t i = 0; i < b->cap_words; i++)
    atomic_store_explicit(&b->w[i], 0, memory_order_release);
}

/* With mu held (one writer). tok == NULL publishes "no token". */
static int snap_publish(pkjwt_client *c, const char *tok, int64_t refresh_at,
                        int64_t expires_at) {
  size_t len = tok ? strlen(tok) : 0;
  size_t need = len / 8 + 1;
  snap_buf *cur = atomic_load_explicit(&c->snap, memory_order_relaxed);
  snap_buf *nb = cur;
  if (!cur || cur->cap_words < need) {
    size_t words = cur ? cur->cap_words * 2 : 256;
    while (words < need)
      words *= 2;
    nb = snap_alloc(words);
    if (!nb)
      return PKJWT_ERR_NOMEM;
  }
  unsigned long s = atomic_load_explicit(&c->seq, memory_order_relaxed);
  atomic_store_explicit(&c->seq, s + 1, memory_order_relaxed);
  /* Release stores of the data keep the odd seq ahead of them; a reader
   * that sees any of them (acquire) then sees seq changed. No standalone
   * fences: TSan does not model them. */
  for (size_t i = 0; i < nb->cap_words; i++) {
    uint64_t v = 0;
    if (i * 8 < len) {
      size_t n = len - i * 8 < 8 ? len - i * 8 : 8;
      memcpy(&v, tok + i * 8, n);
    }
    atomic_store_explicit(&nb->w[i], v, memory_order_release);
  }
  atomic_store_explicit(&c->snap, nb, memory_order_release);
  atomic_store_explicit(&c->snap_len, len, memory_order_release);
  atomic_store_explicit(&c->snap_refresh_at, refresh_at, memory_order_release);
  atomic_store_explicit(&c->snap_expires_at, expires_at, memory_order_release);
  atomic_store_explicit(&c->seq, s + 2, memory_order_release);
  if (nb != cur && cur) {
    /* Readers may still be looking at it: wipe it, keep it. */
    snap_zero(cur);
    cur->retired_next = c->retired;
    c->retired = cur;
  }
  return PKJWT_OK;
}

/*
 * Copy the snapshot's token into buf when it is fresh at now. Returns 1
 * (copied), 0 (no fresh token) or -1 (buf too small; *need set). Writes
 * nothing shared, so readers on many cores do not slow each other down.
 */
static int snap_read(pkjwt_client *c, char *buf, size_t buflen, int64_t now,
                     int64_t *expires_at, size_t *need) {
  for (;;) {
    unsigned long s1 = atomic_load_explicit(&c->seq, memory_order_acquire);
    if (s1 & 1)
      continue;
    snap_buf *b = atomic_load_explicit(&c->snap, memory_order_acquire);
    size_t len = atomic_load_explicit(&c->snap_len, memory_order_acquire);
    int64_t ra =
        atomic_load_explicit(&c->snap_refresh_at, memory_order_acquire);
    int64_t ea =
        atomic_load_explicit(&c->snap_expires_at, memory_order_acquire);
    int res;
    if (!b || len == 0 || now >= ra) {
      res = 0;
    } else if (len >= buflen) {
      res = -1;
    } else {
      /* A torn read may pair len with an older, smaller buffer: never
       * read past the buffer's own capacity; the seq check discards it. */
      size_t words = len / 8 + 1;
      if (words > b->cap_words)
        words = b->cap_words;
      size_t full = len / 8 < words ? len / 8 : words;
      /* Whole words four at a time (loads grouped before the stores runs
       * three times faster than one word per turn), then the tail. */
      size_t i = 0;
      for (; i + 4 <= full; i += 4) {
        uint64_t v0 = atomic_load_explicit(&b->w[i], memory_order_acquire);
        uint64_t v1 = atomic_load_explicit(&b->w[i + 1], memory_order_acquire);
        uint64_t v2 = atomic_load_explicit(&b->w[i + 2], memory_order_acquire);
        uint64_t v3 = atomic_load_explicit(&b->w[i + 3], memory_order_acquire);
        memcpy(buf + i * 8, &v0, 8);
        memcpy(buf + i * 8 + 8, &v1, 8);
        memcpy(buf + i * 8 + 16, &v2, 8);
        memcpy(buf + i * 8 + 24, &v3, 8);
      }
      for (; i < full; i++) {
        uint64_t v = atomic_load_explicit(&b->w[i], memory_order_acquire);
        memcpy(buf + i * 8, &v, 8);
      }
      if (full < words && len % 8) {
        uint64_t v = atomic_load_explicit(&b->w[full], memory_order_acquire);
        memcpy(buf + full * 8, &v, len % 8);
      }
      res = 1;
    }
    /* The data loads are acquire loads, so this one cannot move above
     * them (free on x86 and arm64's LDAPR). */
    if (atomic_load_explicit(&c->seq, memory_order_relaxed) != s1)
      continue;
    if (res == 1) {
      buf[len] = '\0';
      if (expires_at)
        *expires_at = ea;
    } else if (res == -1) {
      *need = len + 1;
    }
    return res;
  }
}

/* ---- small helpers ---- */

static void error_reset(pkjwt_error *err) {
  /* Cheaper than clearing the whole struct on the fast path. */
  if (err) {
    err->code = PKJWT_OK;
    err->message[0] = err->warning[0] = err->oauth_error[0] = '\0';
    err->hint[0] = '\0';
    err->http_status = 0;
  }
}

static void set_hint(pkjwt_error *err, const char *fmt, ...)
    PKJWT__PRINTF(2, 3);
static void set_hint(pkjwt_error *err, const char *fmt, ...) {
  if (!err)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
  va_end(ap);
}

/* Copy server text for a one-line message: control bytes become '?'. */
static void copy_clean(char *dst, size_t n, const char *src) {
  size_t i = 0;
  for (; src && src[i] && i + 1 < n; i++) {
    unsigned char ch = (unsigned char)src[i];
    dst[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
  }
  if (n)
    dst[i] = '\0';
}

/* A Bearer token must fit in an HTTP header as it is: visible ASCII only
 * (RFC 6750 b64token is narrower still). */
static int token_chars_ok(const char *t) {
  if (!*t)
    return 0;
  for (; *t; t++)
    if ((unsigned char)*t < 0x21 || (unsigned char)*t > 0x7e)
      return 0;
  return 1;
}

static void emit(pkjwt_client *c, pkjwt_event ev, const char *fmt, ...)
    PKJWT__PRINTF(3, 4);
static void emit(pkjwt_client *c, pkjwt_event ev, const char *fmt, ...) {
  if (!c->on_event)
    return;
  char line[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  for (char *p = line; *p; p++)
    if ((unsigned char)*p < 0x20)
      *p = ' ';
  c->on_event(c->event_userdata, ev, line);
}

static void default_sleep(void *ud, long ms) {
  (void)ud;
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L}, rem;
  while (nanosleep(&ts, &rem) != 0 && errno == EINTR)
    ts = rem;
}

void pkjwt__client_set_sleep(pkjwt_client *client,
                             void (*sleep_ms)(void *userdata, long ms),
                             void *userdata) {
  client->sleep_ms = sleep_ms ? sleep_ms : default_sleep;
  client->sleep_userdata = userdata;
}

static long backoff_ms(int retry_index) {
  long ceiling = BACKOFF_BASE_MS;
  for (int i = 0; i < retry_index && ceiling < BACKOFF_CAP_MS; i++)
    ceiling *= 2;
  if (ceiling > BACKOFF_CAP_MS)
    ceiling = BACKOFF_CAP_MS;
  uint32_t r = 0;
  if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
    return ceiling / 2;
  return (long)(r % (uint32_t)(ceiling + 1));
}

/* ---- tokens ---- */

/*
 * A token is one allocation: the struct, then access_token, token_type,
 * scope and response_json. One malloc and one wipe per copy instead of
 * five; the cached token's copy is a memcpy and four pointer fix-ups.
 * pkjwt_token_free knows the layout by access_token pointing just past the
 * struct.
 */
static size_t token_size(const pkjwt_token *t) {
  return sizeof(*t) + strlen(t->access_token) + 1 + strlen(t->token_type) + 1 +
         (t->scope ? strlen(t->scope) + 1 : 0) + strlen(t->response_json) + 1;
}

static char *put(char **at, const char *s) {
  size_t n = strlen(s) + 1;
  char *d = *at;
  memcpy(d, s, n);
  *at += n;
  return d;
}

static pkjwt_token *token_make(const char *access_token, const char *type,
                               const char *scope, const char *json,
                               int64_t expires_in, int64_t expires_at) {
  pkjwt_token proto = {(char *)access_token, (char *)type, (char *)scope,
                       expires_in,           expires_at,   (char *)json};
  pkjwt_token *t = malloc(token_size(&proto));
  if (!t)
    return NULL;
  char *at = (char *)(t + 1);
  t->access_token = put(&at, access_token);
  t->token_type = put(&at, type);
  t->scope = scope ? put(&at, scope) : NULL;
  t->response_json = put(&at, json);
  t->expires_in = expires_in;
  t->expires_at = expires_at;
  return t;
}

void pkjwt_token_free(pkjwt_token *t) {
  if (!t)
    return;
  if (t->access_token == (char *)(t + 1)) {
    pkjwt__cleanse_free(t, token_size(t));
    return;
  }
  pkjwt_str_free(t->access_token);
  pkjwt_str_free(t->token_type);
  pkjwt_str_free(t->scope);
  pkjwt_str_free(t->response_json);
  OPENSSL_cleanse(t, sizeof(*t));
  free(t);
}

/* Copy a token made by token_make, whose size is known. */
static int token_dup(pkjwt_token **out, const pkjwt_token *t, size_t size,
                     pkjwt_error *err) {
  pkjwt_token *d = malloc(size);
  if (!d)
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  memcpy(d, t, size);
  const char *base = (const char *)t;
  d->access_token = (char *)d + (t->access_token - base);
  d->token_type = (char *)d + (t->token_type - base);
  d->scope = t->scope ? (char *)d + (t->scope - base) : NULL;
  d->response_json = (char *)d + (t->response_json - base);
  *out = d;
  return PKJWT_OK;
}

/* ---- configuration ---- */

static char *join(const char *a, size_t alen, const char *b) {
  size_t blen = strlen(b);
  char *s = malloc(alen + blen + 1);
  if (s) {
    memcpy(s, a, alen);
    memcpy(s + alen, b, blen + 1);
  }
  return s;
}

void pkjwt_client_free(pkjwt_client *c) {
  if (!c)
    return;
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->cv);
  pkjwt_token_free(c->cached);
  snap_buf *b = atomic_load_explicit(&c->snap, memory_order_relaxed);
  if (b) {
    snap_zero(b);
    free(b);
  }
  for (b = c->retired; b;) {
    snap_buf *next = b->retired_next;
    free(b);
    b = next;
  }
  free(c->token_endpoint);
  free(c->check_endpoint);
  free(c->issuer);
  free(c->client_id);
  free(c->scope);
  free(c->custom_audience);
  free(c->ca_file);
  free(c->user_agent);
  free(c);
}

/* Caught here rather than at the first request: RS and PS need RSA, each
 * ES its own curve (RFC 7518 3.4). */
static int alg_fits_key(pkjwt_alg alg, const pkjwt_key *key) {
  const char *curve = pkjwt_key_get_curve(key);
  switch (alg) {
  case PKJWT_ALG_ES256:
    return curve && strcmp(curve, "P-256") == 0;
  case PKJWT_ALG_ES384:
    return curve && strcmp(curve, "P-384") == 0;
  case PKJWT_ALG_ES512:
    return curve && strcmp(curve, "P-521") == 0;
  default:
    return pkjwt_key_get_type(key) == PKJWT_KEY_RSA;
  }
}

int pkjwt_client_new(pkjwt_client **out, const pkjwt_client_options *o,
                     pkjwt_error *err) {
  pkjwt__error_clear(err);
  if (!out)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no place for the client");
  *out = NULL;
  if (!o)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no options");
  int rc = pkjwt__options_version_ok(o->version, PKJWT_CLIENT_OPTIONS_VERSION,
                                     "client options", err);
  if (rc != PKJWT_OK)
    return rc;
  if (!o->client_id || !*o->client_id)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "client id missing");
  const pkjwt__profile *prof = pkjwt__profile_default();
  if (!o->scope || !*o->scope)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "scope missing%s%s%s",
                       prof->scope_form ? " (for " : "",
                       prof->scope_form ? prof->scope_form : "",
                       prof->scope_form ? ")" : "");
  if (!o->key)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "key missing");
  if (!pkjwt_key_has_private(o->key))
    return pkjwt__fail(err, PKJWT_ERR_NO_PRIVATE_KEY,
                       "the key is a public key: the client signs with the "
                       "private key");
  if (o->alg != PKJWT_ALG_DEFAULT && !pkjwt_alg_name(o->alg))
    return pkjwt__fail(err, PKJWT_ERR_ALG, "algorithm %d unknown", (int)o->alg);
  if (o->alg != PKJWT_ALG_DEFAULT && !alg_fits_key(o->alg, o->key)) {
    const char *curve = pkjwt_key_get_curve(o->key);
    return pkjwt__fail(err, PKJWT_ERR_ALG, "algorithm %s does not fit %s key",
                       pkjwt_alg_name(o->alg), curve ? curve : "an RSA");
  }
  if (o->audience_mode < PKJWT_AUD_TOKEN_ENDPOINT ||
      o->audience_mode > PKJWT_AUD_CUSTOM)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "audience mode %d unknown",
                       (int)o->audience_mode);
  if (o->audience_mode == PKJWT_AUD_CUSTOM && (!o->audience || !*o->audience))
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "the custom audience mode needs an audience");
  if (o->connect_timeout_ms < 0 || o->timeout_ms < 0)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "negative timeout");
  if (o->retries < -1 || o->retries > MAX_RETRIES)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "retries must be -1 (default 3) to %d", MAX_RETRIES);
  if (o->ca_file && access(o->ca_file, R_OK) != 0) {
    char ebuf[PKJWT__STRERROR_LEN];
    return pkjwt__fail(err, PKJWT_ERR_IO, "CA file %s: %s", o->ca_file,
                       pkjwt__strerror(errno, ebuf, sizeof(ebuf)));
  }
  rc = pkjwt__http_global_init(err);
  if (rc != PKJWT_OK)
    return rc;

  pkjwt_client *c = calloc(1, sizeof(*c));
  if (!c)
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  if (pthread_mutex_init(&c->mu, NULL) != 0) {
    free(c);
    return pkjwt__fail(err, PKJWT_ERR_INTERNAL, "mutex");
  }
  if (pthread_cond_init(&c->cv, NULL) != 0) {
    pthread_mutex_destroy(&c->mu);
    free(c);
    return pkjwt__fail(err, PKJWT_ERR_INTERNAL, "condition variable");
  }
  atomic_init(&c->seq, 0);
  atomic_init(&c->snap, NULL);
  atomic_init(&c->snap_len, 0);
  atomic_init(&c->snap_refresh_at, 0);
  atomic_init(&c->snap_expires_at, 0);
  atomic_init(&c->requests, 0);

  c->profile = prof;
  const char *base = o->base_url ? o->base_url : prof->base_url;
  size_t blen = strlen(base);
  if (blen && base[blen - 1] == '/')
    blen--;
  c->token_endpoint = o->token_endpoint ? pkjwt__strdup(o->token_endpoint)
                                        : join(base, blen, prof->token_path);
  c->check_endpoint = o->check_endpoint ? pkjwt__strdup(o->check_endpoint)
                                        : join(base, blen, prof->check_path);
  c->issuer = o->issuer ? pkjwt__strdup(o->issuer)
                        : join(base, blen, prof->issuer_path);
  c->client_id = pkjwt__strdup(o->client_id);
  c->scope = pkjwt__strdup(o->scope);
  c->custom_audience = pkjwt__strdup(o->audience);
  c->ca_file = pkjwt__strdup(o->ca_file);
  c->user_agent = o->user_agent ? pkjwt__strdup(o->user_agent)
                                : pkjwt__strdup("pkjwt/" PKJWT_VERSION_STRING);
  if (!c->token_endpoint || !c->check_endpoint || !c->issuer || !c->client_id ||
      !c->scope || !c->user_agent || (o->audience && !c->custom_audience) ||
      (o->ca_file && !c->ca_file)) {
    pkjwt_client_free(c);
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  }
  if ((o->base_url && (rc = pkjwt__http_url_check(o->base_url, "base URL", NULL,
                                                  err)) != PKJWT_OK) ||
      (rc = pkjwt__http_url_check(c->token_endpoint, "token endpoint", NULL,
                                  err)) != PKJWT_OK ||
      (rc = pkjwt__http_url_check(c->check_endpoint, "check endpoint", NULL,
                                  err)) != PKJWT_OK) {
    pkjwt_client_free(c);
    return rc;
  }
  if (!*c->issuer) {
    pkjwt_client_free(c);
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "issuer is empty");
  }
  c->key = o->key;
  c->alg = o->alg;
  c->mode = o->audience_mode;
  c->retries = o->retries == -1 ? DEFAULT_RETRIES : o->retries;
  c->http.ca_file = c->ca_file;
  c->http.connect_timeout_ms = o->connect_timeout_ms
                                   ? o->connect_timeout_ms
                                   : DEFAULT_CONNECT_TIMEOUT_MS;
  c->http.timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
  c->http.user_agent = c->user_agent;
  c->on_event = o->on_event;
  c->event_userdata = o->event_userdata;
  c->clock = o->clock;
  c->clock_userdata = o->clock_userdata;
  c->sleep_ms = default_sleep;
  c->auto_use_issuer = 0;
  *out = c;
  return PKJWT_OK;
}

/* ---- one attempt ---- */

static const char *oauth_hint(const pkjwt__profile *prof, const char *error) {
  if (strcmp(error, "invalid_client") == 0)
    return prof->hint_invalid_client ? prof->hint_invalid_client
                                     : HINT_INVALID_CLIENT;
  if (strcmp(error, "invalid_scope") == 0)
    return prof->hint_invalid_scope ? prof->hint_invalid_scope
                                    : HINT_INVALID_SCOPE;
  if (strcmp(error, "unauthorized_client") == 0)
    return "the client is not allowed this grant: its grant type must be "
           "Client Credentials with a Private Key JWT secret";
  if (strcmp(error, "unsupported_grant_type") == 0)
    return "the client's grant type must be Client Credentials";
  if (strcmp(error, "invalid_request") == 0)
    return "the server refused the request's form: check the token endpoint "
           "URL and the client id";
  return NULL;
}

/* Fill err from an RFC 6749 5.2 error object; returns PKJWT_ERR_OAUTH. */
static int oauth_fail(pkjwt_error *err, const pkjwt__profile *prof,
                      long status, json_t *j) {
  const char *e = json_string_value(json_object_get(j, "error"));
  const char *d = json_string_value(json_object_get(j, "error_description"));
  if (!e)
    e = "unknown_error";
  if (err) {
    err->code = PKJWT_ERR_OAUTH;
    err->http_status = status;
    copy_clean(err->oauth_error, sizeof(err->oauth_error), e);
    copy_clean(err->message, sizeof(err->message), d && *d ? d : e);
    const char *hint = oauth_hint(prof, e);
    if (hint)
      set_hint(err, "%s", hint);
  }
  return PKJWT_ERR_OAUTH;
}

/* expires_in: an integer, an integral real, or a string of digits. */
static int read_expires_in(json_t *v, int64_t *out) {
  long long n = -1;
  if (json_is_integer(v)) {
    n = json_integer_value(v);
  } else if (json_is_real(v)) {
    double d = json_real_value(v);
    if (d >= 1 && d <= (double)EXPIRES_IN_MAX && d == (double)(long long)d)
      n = (long long)d;
  } else if (json_is_string(v)) {
    const char *s = json_string_value(v);
    size_t len = strlen(s);
    if (len == 0 || len > 10 || strspn(s, "0123456789") != len)
      return -1;
    n = strtoll(s, NULL, 10);
  }
  if (n < 1 || n > EXPIRES_IN_MAX)
    return -1;
  *out = n;
  return 0;
}

static int parse_success(pkjwt_token **out, json_t *j, const char *body,
                         int64_t now, pkjwt_error *err) {
  const char *at = json_string_value(json_object_get(j, "access_token"));
  json_t *tt = json_object_get(j, "token_type");
  json_t *ei = json_object_get(j, "expires_in");
  const char *scope = json_string_value(json_object_get(j, "scope"));
  int64_t expires_in;
  if (!at || !*at)
    return pkjwt__fail(err, PKJWT_ERR_RESPONSE,
                       "token endpoint: the answer has no access_token string");
  if (!token_chars_ok(at))
    return pkjwt__fail(err, PKJWT_ERR_RESPONSE,
                       "token endpoint: the access_token holds characters an "
                       "Authorization header cannot carry");
  if (!json_is_string(tt))
    return pkjwt__fail(err, PKJWT_ERR_RESPONSE,
                       "token endpoint: the answer has no token_type string");
  if (strcasecmp(json_string_value(tt), "Bearer") != 0) {
    char ty[64];
    copy_clean(ty, sizeof(ty), json_string_value(tt));
    return pkjwt__fail(err, PKJWT_ERR_RESPONSE,
                       "token endpoint: token_type is \"%s\", not Bearer", ty);
  }
  if (!ei)
    return pkjwt__fail(err, PKJWT_ERR_RESPONSE,
                       "token endpoint: the answer has no expires_in");
  if (read_expires_in(ei, &expires_in) != 0)
    return pkjwt__fail(err, PKJWT_ERR_RESPONSE,
                       "token endpoint: expires_in is not a number of seconds "
                       "between 1 and %ld",
                       EXPIRES_IN_MAX);
  pkjwt_token *t =
      token_make(at, "Bearer", scope, body, expires_in, now + expires_in);
  if (!t)
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  *out = t;
  return PKJWT_OK;
}

static int status_retryable(long s) {
  return s == 408 || s == 429 || (s >= 500 && s <= 599);
}

/* Judge a token endpoint's answer. *retryable says whether another attempt
 * may get a different one. */
static int parse_token_response(pkjwt_token **out, const pkjwt_client *c,
                                const pkjwt__http_response *r, int64_t now,
                                int *retryable, pkjwt_error *err) {
  *retryable = status_retryable(r->status);
  json_error_t je;
  json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
  int is_obj = j && json_is_object(j);
  int rc;
  if (r->status == 200) {
    if (!is_obj) {
      /* je.text may quote the body, which may hold a token: not shown. */
      rc = pkjwt__fail(err, PKJWT_ERR_RESPONSE,
                       "token endpoint: the answer is not a JSON object "
                       "(line %d, column %d)",
                       je.line, je.column);
      if (!j && strstr(je.text, "duplicate"))
        rc = pkjwt__fail(err, PKJWT_ERR_RESPONSE,
                         "token endpoint: the answer repeats a member");
    } else if (json_object_get(j, "error")) {
      rc = oauth_fail(err, c->profile, r->status, j);
    } else {
      rc = parse_success(out, j, r->body, now, err);
    }
    if (err)
      err->http_status = r->status;
    json_decref(j);
    return rc;
  }
  if (is_obj && json_is_string(json_object_get(j, "error")) &&
      r->status >= 400 && r->status < 500 && !*retryable) {
    rc = oauth_fail(err, c->profile, r->status, j);
    json_decref(j);
    return rc;
  }
  char detail[256] = "";
  if (is_obj) {
    const char *e = json_string_value(json_object_get(j, "error"));
    const char *d = json_string_value(json_object_get(j, "error_description"));
    if (e && err)
      copy_clean(err->oauth_error, sizeof(err->oauth_error), e);
    copy_clean(detail, sizeof(detail), d ? d : e ? e : "");
  }
  rc = pkjwt__fail(err, PKJWT_ERR_HTTP, "token endpoint answered HTTP %ld%s%s",
                   r->status, detail[0] ? ": " : "", detail);
  if (err) {
    err->http_status = r->status;
    if (r->status >= 300 && r->status < 400)
      set_hint(err,
               "the server redirects%s%s; redirects are not followed: set "
               "the final URL as the base URL or token endpoint",
               r->location[0] ? " to " : "", r->location);
    else if (r->status == 404 || r->status == 405)
      set_hint(err,
               "check the base URL or token endpoint (%s) for your "
               "region or installation",
               c->token_endpoint);
    else if (r->status == 429)
      set_hint(err, "the server asks for fewer requests: try again later");
    else if (r->status >= 500)
      set_hint(err, "the server has a problem: try again later");
  }
  json_decref(j);
  return rc;
}

static const char *audience_for(const pkjwt_client *c, int use_issuer,
                                const char **typ) {
  *typ = PKJWT_TYP_JWT;
  switch (c->mode) {
  case PKJWT_AUD_ISSUER:
    *typ = PKJWT_TYP_CLIENT_AUTH;
    return c->issuer;
  case PKJWT_AUD_AUTO:
    if (use_issuer) {
      *typ = PKJWT_TYP_CLIENT_AUTH;
      return c->issuer;
    }
    return c->token_endpoint;
  case PKJWT_AUD_CUSTOM:
    return c->custom_audience;
  case PKJWT_AUD_TOKEN_ENDPOINT:
  default:
    return c->token_endpoint;
  }
}

static int attempt(pkjwt_token **out, pkjwt_client *c, int use_issuer,
                   int *retryable, long *retry_after, pkjwt_error *err) {
  *retryable = 0;
  *retry_after = -1;
  const char *typ;
  pkjwt_sign_options so = PKJWT_SIGN_OPTIONS_INIT;
  so.client_id = c->client_id;
  so.audience = audience_for(c, use_issuer, &typ);
  so.alg = c->alg;
  so.typ = typ;
  /* so.now stays 0: the assertion carries real time, whatever clock the
   * cache runs on (the server judges exp by its own). */
  char *assertion = NULL;
  int rc = pkjwt_assertion_sign(&assertion, c->key, &so, err);
  if (rc != PKJWT_OK)
    return rc;
  char *form = NULL;
  size_t flen = 0;
  if ((rc = pkjwt__form_add(&form, &flen, "grant_type", "client_credentials",
                            err)) == PKJWT_OK &&
      (rc = pkjwt__form_add(&form, &flen, "client_id", c->client_id, err)) ==
          PKJWT_OK &&
      (rc = pkjwt__form_add(&form, &flen, "scope", c->scope, err)) ==
          PKJWT_OK &&
      (rc = pkjwt__form_add(&form, &flen, "client_assertion_type",
                            ASSERTION_TYPE, err)) == PKJWT_OK)
    rc = pkjwt__form_add(&form, &flen, "client_assertion", assertion, err);
  pkjwt_str_free(assertion);
  if (rc != PKJWT_OK) {
    if (form)
      pkjwt__cleanse_free(form, flen + 1);
    return rc;
  }
  pkjwt__http_response resp;
  atomic_fetch_add_explicit(&c->requests, 1, memory_order_relaxed);
  rc = pkjwt__http_request(&resp, &c->http, c->token_endpoint, form, NULL, err);
  pkjwt__cleanse_free(form, flen + 1);
  if (rc != PKJWT_OK) {
    *retryable = resp.retryable;
    pkjwt__http_response_clear(&resp);
    return rc;
  }
  rc = parse_token_response(out, c, &resp, client_now(c), retryable, err);
  *retry_after = resp.retry_after;
  pkjwt__http_response_clear(&resp);
  return rc;
}

static const char *code_word(int rc, const pkjwt_error *e) {
  if (rc == PKJWT_ERR_OAUTH && e->oauth_error[0])
    return e->oauth_error;
  return pkjwt_strerror(rc);
}

/* Get a new token: attempts, retries and the auto audience switch. No lock
 * is held. */
static int fetch(pkjwt_token **out, pkjwt_client *c, int refreshing,
                 pkjwt_error *err) {
  int use_issuer = c->auto_use_issuer;
  int switched = 0, retries_used = 0, attempts = 0;
  for (;;) {
    int retryable;
    long retry_after;
    pkjwt__error_clear(err);
    attempts++;
    int rc = attempt(out, c, use_issuer, &retryable, &retry_after, err);
    if (rc == PKJWT_OK) {
      if (c->mode == PKJWT_AUD_AUTO)
        c->auto_use_issuer = use_issuer;
      emit(c, refreshing ? PKJWT_EVENT_REFRESHED : PKJWT_EVENT_FETCHED,
           "token %s from %s (expires in %lld s, attempt %d)",
           refreshing ? "refreshed" : "obtained", c->token_endpoint,
           (long long)(*out)->expires_in, attempts);
      return PKJWT_OK;
    }
    if (c->mode == PKJWT_AUD_AUTO && !switched && rc == PKJWT_ERR_OAUTH &&
        strcmp(err->oauth_error, "invalid_client") == 0) {
      switched = 1;
      use_issuer = !use_issuer;
      emit(c, PKJWT_EVENT_RETRIED,
           "invalid_client with the %s as audience; trying the %s form",
           use_issuer ? "token endpoint" : "issuer",
           use_issuer ? "issuer" : "token endpoint");
      continue;
    }
    if (retryable && retries_used < c->retries) {
      long delay = retry_after >= 0
                       ? (retry_after > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S
                                                          : retry_after) *
                             1000L
                       : backoff_ms(retries_used);
      emit(c, PKJWT_EVENT_RETRIED,
           "token request attempt %d failed (%s: %s); retrying in %ld ms",
           attempts, code_word(rc, err), err->message, delay);
      retries_used++;
      c->sleep_ms(c->sleep_userdata, delay);
      continue;
    }
    emit(c, PKJWT_EVENT_FAILED,
         "token request failed after %d attempt%s (%s: %s)", attempts,
         attempts == 1 ? "" : "s", code_word(rc, err), err->message);
    return rc;
  }
}

/* ---- the cache and the single flight ---- */

int64_t pkjwt_token_refresh_at(const pkjwt_token *t) {
  if (!t)
    return 0;
  int64_t ahead = t->expires_in / 10;
  if (ahead < REFRESH_AHEAD_MIN_S)
    ahead = REFRESH_AHEAD_MIN_S;
  /* A token of a minute or two is still reused for half its life. */
  if (ahead > t->expires_in / 2)
    ahead = t->expires_in / 2;
  return t->expires_at - ahead;
}

static void copy_error(pkjwt_error *dst, const pkjwt_error *src) {
  if (dst)
    *dst = *src;
}

/*
 * With c->mu held: make c->cached usable, fetching if needed (the lock is
 * dropped while fetching). Returns PKJWT_OK with c->cached set (perhaps an
 * old, still valid token, with err->warning), or the error.
 */
static int ensure_token(pkjwt_client *c, pkjwt_error *err) {
  for (;;) {
    int64_t now = client_now(c);
    if (c->cached && now < c->refresh_at)
      return PKJWT_OK;
    int valid = c->cached && now < c->cached->expires_at;
    if (c->fetching) {
      /* Someone is refreshing: a still valid token is good enough meanwhile
       * (nobody waits on a refresh they do not need). */
      if (valid)
        return PKJWT_OK;
      unsigned long target = c->flights_started;
      while (c->flights_done < target)
        pthread_cond_wait(&c->cv, &c->mu);
      now = client_now(c);
      if (c->cached && now < c->cached->expires_at)
        return PKJWT_OK;
      if (c->last_rc != PKJWT_OK) {
        copy_error(err, &c->last_err);
        return c->last_rc;
      }
      continue;
    }
    if (valid && now < c->retry_not_before) {
      pkjwt__warn(err,
                  "refreshing the token failed (%s); the cached one is used "
                  "until it expires in %lld s",
                  c->last_err.message,
                  (long long)(c->cached->expires_at - now));
      return PKJWT_OK;
    }
    c->fetching = 1;
    c->flights_started++;
    int refreshing = c->ever_fetched;
    pthread_mutex_unlock(&c->mu);

    pkjwt_token *tok = NULL;
    pkjwt_error ferr;
    int rc = fetch(&tok, c, refreshing, &ferr);

    pthread_mutex_lock(&c->mu);
    if (rc == PKJWT_OK) {
      int64_t ra = pkjwt_token_refresh_at(tok);
      if (snap_publish(c, tok->access_token, ra, tok->expires_at) != PKJWT_OK) {
        /* The slow path still works; the fast path just sees no token. */
        (void)snap_publish(c, NULL, 0, 0);
      }
      pkjwt_token_free(c->cached);
      c->cached = tok;
      c->cached_size = token_size(tok);
      c->refresh_at = ra;
      c->retry_not_before = 0;
      c->ever_fetched = 1;
    } else if (c->cached) {
      c->retry_not_before = client_now(c) + REFRESH_HOLDOFF_S;
    }
    c->last_rc = rc;
    c->last_err = ferr;
    c->fetching = 0;
    c->flights_done++;
    pthread_cond_broadcast(&c->cv);
    if (rc == PKJWT_OK)
      return PKJWT_OK;
    now = client_now(c);
    if (c->cached && now < c->cached->expires_at) {
      pkjwt__warn(err,
                  "refreshing the token failed (%s); the cached one is used "
                  "until it expires in %lld s",
                  ferr.message, (long long)(c->cached->expires_at - now));
      return PKJWT_OK;
    }
    copy_error(err, &ferr);
    return rc;
  }
}

int pkjwt_client_get_token(pkjwt_token **out, pkjwt_client *c,
                           pkjwt_error *err) {
  pkjwt__error_clear(err);
  if (!out || !c)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "client or out missing");
  *out = NULL;
  pthread_mutex_lock(&c->mu);
  int rc = ensure_token(c, err);
  if (rc == PKJWT_OK)
    rc = token_dup(out, c->cached, c->cached_size, err);
  pthread_mutex_unlock(&c->mu);
  return rc;
}

int pkjwt_client_get_token_buf(char *buf, size_t buflen, int64_t *expires_at,
                               pkjwt_client *c, pkjwt_error *err) {
  error_reset(err);
  if (!buf || !c || buflen == 0)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "client or buffer missing");
  size_t need = 0;
  int r = snap_read(c, buf, buflen, client_now(c), expires_at, &need);
  if (r == 1)
    return PKJWT_OK;
  if (r == 0) {
    pthread_mutex_lock(&c->mu);
    int rc = ensure_token(c, err);
    if (rc == PKJWT_OK) {
      need = strlen(c->cached->access_token) + 1;
      if (need <= buflen) {
        memcpy(buf, c->cached->access_token, need);
        if (expires_at)
          *expires_at = c->cached->expires_at;
      }
    }
    pthread_mutex_unlock(&c->mu);
    if (rc != PKJWT_OK)
      return rc;
    if (need <= buflen)
      return PKJWT_OK;
  }
  return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                     "token buffer of %zu bytes too small: the token needs %zu",
                     buflen, need);
}

void pkjwt_client_invalidate(pkjwt_client *c) {
  if (!c)
    return;
  pthread_mutex_lock(&c->mu);
  pkjwt_token_free(c->cached);
  c->cached = NULL;
  c->refresh_at = 0;
  c->retry_not_before = 0;
  (void)snap_publish(c, NULL, 0, 0);
  pthread_mutex_unlock(&c->mu);
}

unsigned long pkjwt_client_request_count(const pkjwt_client *c) {
  if (!c)
    return 0;
  return atomic_load_explicit(&((pkjwt_client *)c)->requests,
                              memory_order_relaxed);
}

/* ---- the check endpoint ---- */

int pkjwt_client_check(char **out_json, pkjwt_client *c,
                       const char *access_token, pkjwt_error *err) {
  pkjwt__error_clear(err);
  if (!out_json || !c || !access_token)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "client, token or out missing");
  *out_json = NULL;
  if (!token_chars_ok(access_token))
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "the access token is empty or holds characters an "
                       "Authorization header cannot carry");
  pkjwt__http_response r;
  int rc = pkjwt__http_request(&r, &c->http, c->check_endpoint, NULL,
                               access_token, err);
  if (rc != PKJWT_OK) {
    pkjwt__http_response_clear(&r);
    return rc;
  }
  json_error_t je;
  json_t *j = json_loadb(r.body, r.body_len, JSON_REJECT_DUPLICATES, &je);
  if (r.status == 200) {
    if (!j) {
      rc = pkjwt__fail(err, PKJWT_ERR_RESPONSE,
                       "check endpoint: the answer is not JSON (line %d, "
                       "column %d)",
                       je.line, je.column);
    } else if (!(*out_json = pkjwt__strdup(r.body))) {
      rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
    }
    if (err)
      err->http_status = 200;
    json_decref(j);
    pkjwt__http_response_clear(&r);
    return rc;
  }
  char detail[256] = "";
  if (j && json_is_object(j)) {
    const char *e = json_string_value(json_object_get(j, "error"));
    const char *d = json_string_value(json_object_get(j, "error_description"));
    if (e && err)
      copy_clean(err->oauth_error, sizeof(err->oauth_error), e);
    copy_clean(detail, sizeof(detail), d ? d : e ? e : "");
  }
  rc = pkjwt__fail(err, PKJWT_ERR_HTTP, "check endpoint answered HTTP %ld%s%s",
                   r.status, detail[0] ? ": " : "", detail);
  if (err) {
    err->http_status = r.status;
    if (r.status == 401)
      set_hint(err, "%s", HINT_CHECK_401);
    else if (r.status == 403)
      set_hint(err, "%s",
               c->profile->hint_check_403 ? c->profile->hint_check_403
                                          : HINT_CHECK_403);
    else if (r.status == 404)
      set_hint(err, "check the base URL or check endpoint (%s)",
               c->check_endpoint);
  }
  json_decref(j);
  pkjwt__http_response_clear(&r);
  return rc;
}
