/*
 * lib/store.c: the token client's use of a token store. The client looks
 * in its memory (lib/client.c, lib/snapshot.c), then here: the store, then,
 * holding the store's lock for the key, the token endpoint (single flight
 * across processes and hosts). A store that fails costs a warning, never a
 * token: the client then fetches as it would without one.
 *
 * The record (versioned text; numbers in decimal, strings as a byte
 * length, a newline, the bytes and a newline, so that no byte needs
 * escaping):
 *   pkjwt-store 1
 *   fetched_at EPOCH_SECONDS
 *   expires_at EPOCH_SECONDS
 *   expires_in SECONDS
 *   token_type LEN\n<bytes>
 *   scope LEN\n<bytes>            (LEN 0: none)
 *   token LEN\n<bytes>
 *   response LEN\n<bytes>
 * Anything else is not ours: ignored, never served, and overwritten.
 */
#define _POSIX_C_SOURCE 200809L
#include "store.h"
#include "oauth.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECORD_MAGIC "pkjwt-store 1\n"
/* A token lives at most this long (lib/oauth.c caps expires_in so). */
#define RECORD_LIFETIME_MAX (366 * 86400)
/* Waiters poll the store from this delay, doubling to the cap. */
#define POLL_FIRST_MS 10L
#define POLL_CAP_MS 250L

/* ---- the record ---- */

static int put_str(char *buf, size_t cap, size_t *at, const char *word,
                   const char *s) {
  size_t n = s ? strlen(s) : 0;
  int w = snprintf(buf + *at, cap - *at, "%s %zu\n", word, n);
  if (w < 0 || (size_t)w + n + 1 > cap - *at)
    return -1;
  *at += (size_t)w;
  if (n)
    memcpy(buf + *at, s, n);
  *at += n;
  buf[(*at)++] = '\n';
  return 0;
}

int pkjwt__store_record(char **out, size_t *len, const pkjwt_token *t,
                        int64_t fetched_at) {
  *out = NULL;
  *len = 0;
  const char *type = t->token_type ? t->token_type : "Bearer";
  const char *resp = t->response_json ? t->response_json : "";
  size_t cap = 256 + strlen(type) + (t->scope ? strlen(t->scope) : 0) +
               strlen(t->access_token) + strlen(resp);
  if (cap > PKJWT_STORE_VALUE_MAX)
    return -1;
  char *buf = malloc(cap + 1);
  if (!buf)
    return -1;
  int w = snprintf(buf, cap,
                   RECORD_MAGIC "fetched_at %" PRId64 "\nexpires_at %" PRId64
                                "\nexpires_in %" PRId64 "\n",
                   fetched_at, t->expires_at, t->expires_in);
  size_t at = w > 0 ? (size_t)w : cap;
  if (at >= cap || put_str(buf, cap, &at, "token_type", type) != 0 ||
      put_str(buf, cap, &at, "scope", t->scope) != 0 ||
      put_str(buf, cap, &at, "token", t->access_token) != 0 ||
      put_str(buf, cap, &at, "response", resp) != 0) {
    pkjwt__cleanse_free(buf, cap + 1);
    return -1;
  }
  buf[at] = '\0';
  *out = buf;
  *len = at;
  return 0;
}

/* "WORD NUMBER\n" at *p (at most 18 digits, an optional '-'); advance. */
static int get_num(const char **p, const char *end, const char *word,
                   int64_t *out) {
  size_t wl = strlen(word);
  if ((size_t)(end - *p) < wl + 2 || memcmp(*p, word, wl) != 0 ||
      (*p)[wl] != ' ')
    return -1;
  const char *q = *p + wl + 1;
  int neg = q < end && *q == '-';
  q += neg;
  int64_t v = 0;
  int digits = 0;
  while (q < end && *q >= '0' && *q <= '9' && digits < 18) {
    v = v * 10 + (*q - '0');
    q++;
    digits++;
  }
  if (digits == 0 || q >= end || *q != '\n')
    return -1;
  *out = neg ? -v : v;
  *p = q + 1;
  return 0;
}

/* "WORD LEN\n<LEN bytes>\n" at *p: *s points into the buffer (not
 * terminated), *n its length; no NUL inside. */
static int get_str(const char **p, const char *end, const char *word,
                   const char **s, size_t *n) {
  int64_t len;
  if (get_num(p, end, word, &len) != 0 || len < 0 ||
      len > (int64_t)(end - *p) - 1 || (*p)[len] != '\n' ||
      memchr(*p, '\0', (size_t)len) != NULL)
    return -1;
  *s = *p;
  *n = (size_t)len;
  *p += len + 1;
  return 0;
}

pkjwt_token *pkjwt__store_parse(const char *buf, size_t len) {
  const char *p = buf, *end = buf + len;
  size_t ml = strlen(RECORD_MAGIC);
  if (!buf || len <= ml || len > PKJWT_STORE_VALUE_MAX ||
      memcmp(p, RECORD_MAGIC, ml) != 0)
    return NULL;
  p += ml;
  int64_t fetched_at, expires_at, expires_in;
  const char *ty, *sc, *tk, *rs;
  size_t tyn, scn, tkn, rsn;
  if (get_num(&p, end, "fetched_at", &fetched_at) != 0 ||
      get_num(&p, end, "expires_at", &expires_at) != 0 ||
      get_num(&p, end, "expires_in", &expires_in) != 0 ||
      get_str(&p, end, "token_type", &ty, &tyn) != 0 ||
      get_str(&p, end, "scope", &sc, &scn) != 0 ||
      get_str(&p, end, "token", &tk, &tkn) != 0 ||
      get_str(&p, end, "response", &rs, &rsn) != 0 || p != end)
    return NULL;
  if (expires_in <= 0 || expires_in > RECORD_LIFETIME_MAX ||
      expires_at <= fetched_at || expires_at - fetched_at > expires_in + 1 ||
      tyn == 0 || tkn == 0)
    return NULL;
  char *type = pkjwt__strndup(ty, tyn);
  char *scope = scn ? pkjwt__strndup(sc, scn) : NULL;
  char *token = pkjwt__strndup(tk, tkn);
  char *resp = pkjwt__strndup(rs, rsn);
  pkjwt_token *t = NULL;
  if (type && token && resp && (scope || !scn) &&
      pkjwt__token_chars_ok(token) && !pkjwt__has_control(type) &&
      (!scope || !pkjwt__has_control(scope)))
    t = pkjwt__token_make(token, type, scope, resp, expires_in, expires_at);
  free(type);
  free(scope);
  if (token)
    pkjwt__cleanse_free(token, tkn + 1);
  if (resp)
    pkjwt__cleanse_free(resp, rsn + 1);
  return t;
}

/* ---- the lookup ---- */

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What the store holds for the key: 1 a token to use now (*out), 0 none
 * (absent, stale, or not ours), -1 the store failed. A token due for
 * refresh but not expired replaces *valid (the caller frees it): while
 * another process refreshes, it is good enough. */
static int look(pkjwt_token **out, pkjwt_token **valid,
                const pkjwt__store_use *u) {
  *out = NULL;
  const pkjwt_store *s = u->store;
  char *buf = malloc(PKJWT_STORE_VALUE_MAX);
  if (!buf)
    return -1;
  size_t len = 0;
  int r = s->get(s->ctx, u->key, buf, PKJWT_STORE_VALUE_MAX, &len,
                 u->timeout_ms);
  int res = r == PKJWT_STORE_OK ? 0 : r == PKJWT_STORE_MISS ? 0 : -1;
  if (r == PKJWT_STORE_OK && len <= PKJWT_STORE_VALUE_MAX) {
    pkjwt_token *t = pkjwt__store_parse(buf, len);
    int64_t now = u->now(u->now_ud);
    if (t && now < u->refresh_at(t)) {
      *out = t;
      res = 1;
    } else if (t && now < t->expires_at) {
      pkjwt_token_free(*valid);
      *valid = t;
    } else {
      pkjwt_token_free(t);
    }
  }
  pkjwt__cleanse_free(buf, PKJWT_STORE_VALUE_MAX);
  return res;
}

/* Put a fetched token; a warning when the store refuses it. */
static void keep(const pkjwt__store_use *u, const pkjwt_token *t,
                 pkjwt_error *err) {
  int64_t now = u->now(u->now_ud);
  char *rec = NULL;
  size_t len = 0;
  if (t->expires_at <= now || pkjwt__store_record(&rec, &len, t, now) != 0)
    return;
  long ttl = (long)((t->expires_at - now) * 1000);
  int r = u->store->put(u->store->ctx, u->key, rec, len, ttl, u->timeout_ms);
  pkjwt__cleanse_free(rec, len + 1);
  if (r != PKJWT_STORE_OK)
    pkjwt__warn(err, "the token store did not take the new token; the "
                     "other processes fetch their own");
}

int pkjwt__store_fetch(pkjwt_token **out, int *from_store,
                       const pkjwt__store_use *u, pkjwt__store_fetch_fn fetch,
                       void *fetch_ud, pkjwt_error *err) {
  *out = NULL;
  *from_store = 0;
  const pkjwt_store *s = u->store;
  pkjwt_token *valid = NULL; /* due for refresh, not expired */
  int r = look(out, &valid, u);
  if (r == 1) {
    pkjwt_token_free(valid);
    *from_store = 1;
    return PKJWT_OK;
  }
  const char *why = NULL;
  int64_t deadline = mono_ms() + u->lock_ms;
  long delay = POLL_FIRST_MS;
  void *handle = NULL;
  int locked = 0;
  while (r == 0) {
    int l = s->lock(s->ctx, u->key, u->lock_ms, u->timeout_ms, &handle);
    if (l == PKJWT_STORE_OK) {
      locked = 1;
      /* Another process may have put a token since we looked. */
      r = look(out, &valid, u);
      if (r == 1) {
        pkjwt_token_free(valid);
        s->unlock(s->ctx, u->key, handle, u->timeout_ms);
        *from_store = 1;
        return PKJWT_OK;
      }
      break;
    }
    if (l != PKJWT_STORE_BUSY) {
      why = "the token store's lock failed";
      break;
    }
    /* Another process refreshes: a token still valid serves meanwhile,
     * as in memory (nobody waits on a refresh they do not need). */
    if (valid) {
      *out = valid;
      *from_store = 1;
      return PKJWT_OK;
    }
    int64_t left = deadline - mono_ms();
    if (left <= 0) {
      why = "the token store's lock was held past store_lock_ms";
      break;
    }
    u->sleep_ms(u->sleep_ud, delay < left ? delay : (long)left);
    delay = delay * 2 > POLL_CAP_MS ? POLL_CAP_MS : delay * 2;
    r = look(out, &valid, u);
    if (r == 1) {
      pkjwt_token_free(valid);
      *from_store = 1;
      return PKJWT_OK;
    }
  }
  pkjwt_token_free(valid);
  if (r < 0)
    why = "the token store failed";
  int rc = fetch(out, fetch_ud, err);
  if (rc == PKJWT_OK && r >= 0)
    keep(u, *out, err);
  if (locked)
    s->unlock(s->ctx, u->key, handle, u->timeout_ms);
  if (why && rc == PKJWT_OK)
    pkjwt__warn(err, "%s; the token was fetched without it", why);
  return rc;
}

void pkjwt__store_forget(const pkjwt__store_use *u) {
  if (u->store)
    (void)u->store->del(u->store->ctx, u->key, u->timeout_ms);
}

void pkjwt_store_free(pkjwt_store *store) {
  if (!store)
    return;
  if (store->destroy)
    store->destroy(store->ctx);
  free(store);
}
