/*
 * lib/client.c: the token client. Configuration, one token request per
 * attempt (a fresh assertion each time), retries with backoff, the audience
 * modes, the cache with its single flight, the check endpoint and the
 * events. The HTTP exchange is lib/http.c, judging the answers lib/oauth.c,
 * the issuer's metadata (discovery) lib/discovery.c,
 * the lock-free copy of the cached token lib/snapshot.c, the provider's
 * defaults and words lib/profile.c.
 *
 * Locking: c->mu guards the cache and the flight state; no lock is held
 * during a request or an event callback. Beside the mutex, the cached
 * access token is published through the snapshot (a seqlock) so that
 * pkjwt_client_get_token_buf() reads it without writing any shared
 * memory.
 */
/* nanosleep under -std=c11 */
#define _POSIX_C_SOURCE 200809L
#include "bounds.h"
#include "client_internal.h"
#include "discovery.h"
#include "oauth.h"
#include "profile.h"
#include "snapshot.h"
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
#define REFRESH_AHEAD_MIN_S 60
/* After a failed refresh while the old token is still valid, wait this
 * long before trying again, so a down server does not meet a request per
 * get. */
#define REFRESH_HOLDOFF_S 5
/* A token store's call gives up after this long unless told otherwise; its
 * lock lives the request timeout and this much more. */
#define STORE_LOCK_EXTRA_MS 5000L

#define ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

struct pkjwt_client {
  char *token_endpoint, *check_endpoint, *issuer, *client_id, *scope;
  char *custom_audience, *ca_file, *user_agent;
  char **params;                 /* NAME, VALUE, ..., NULL: extra form fields */
  const pkjwt_key *key;          /* NULL when keyset signs */
  pkjwt_keyset *keyset;          /* borrowed; NULL when key signs */
  const pkjwt_cert *cert;        /* borrowed; NULL = no x5t#S256 header */
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
  /* the token store (option version 4): store.store NULL = none;
   * store.key is store_key, the cache id */
  pkjwt__store_use store;
  char *store_key;

  pthread_mutex_t mu;
  pthread_cond_t cv;
  /* under mu */
  pkjwt_token *cached; /* made by pkjwt__token_make */
  size_t cached_size;
  int64_t refresh_at;
  int64_t retry_not_before;
  int fetching;
  unsigned long flights_started, flights_done;
  int last_rc;
  pkjwt_error last_err;
  int ever_fetched; /* a token was obtained before: the next is a refresh */
  /* Written by the fetching thread only; flights are ordered by mu. */
  int auto_use_issuer;

  /* Discovery: with an issuer and no token endpoint, the endpoint and the
   * alg come from the issuer's metadata, fetched once under disc_mu (a
   * lock of its own, held during that request: a flight waits for it). */
  int discover;
  int x5t_flags;       /* PKJWT_X5T_* headers of c->cert */
  pkjwt_alg given_alg; /* the caller's, before a profile or server chose */
  pthread_mutex_t disc_mu;
  int discovered;     /* under disc_mu; token_endpoint set from then on */
  char *meta_json;    /* the judged document, as the server sent it */
  int64_t meta_until; /* by the client's clock: fetch again from then */

  /* the cached access token for the fast path: written under mu, read by
   * anyone */
  pkjwt__snapshot snap;

  atomic_ulong requests;
};

static int64_t client_now(const pkjwt_client *c) {
  return c->clock ? c->clock(c->clock_userdata) : (int64_t)time(NULL);
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

/* ---- configuration ---- */

void pkjwt_client_free(pkjwt_client *c) {
  if (!c)
    return;
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->cv);
  pthread_mutex_destroy(&c->disc_mu);
  free(c->meta_json);
  pkjwt_token_free(c->cached);
  pkjwt__snapshot_free(&c->snap);
  free(c->token_endpoint);
  free(c->check_endpoint);
  free(c->issuer);
  free(c->client_id);
  free(c->scope);
  free(c->custom_audience);
  free(c->ca_file);
  free(c->user_agent);
  free(c->store_key);
  for (char **p = c->params; p && *p; p++)
    free(*p);
  free(c->params);
  free(c);
}

/* Caught here rather than at the first request: RS and PS need RSA, each
 * ES its own curve (RFC 7518 3.4), and an EC key's curve has exactly one ES
 * alg, its default. Read through the public API (the client library sits
 * above libpkjwt.so, whose alg table is lib/alg.c), so no curve is named
 * here. */
static int alg_fits_key(pkjwt_alg alg, const pkjwt_key *key) {
  const char *name = pkjwt_alg_name(alg);
  if (!name)
    return 0;
  if (pkjwt_key_get_type(key) == PKJWT_KEY_EC) {
    const char *def = pkjwt_key_get_default_alg(key);
    return def && strcmp(def, name) == 0;
  }
  return name[0] != 'E';
}

/* The form fields the client sets itself; params may not name them. */
static const char *const reserved_fields[] = {"grant_type", "client_id",
                                              "scope", "client_assertion_type",
                                              "client_assertion"};

static int check_params(const char *const *params, pkjwt_error *err) {
  for (size_t i = 0; params && params[i]; i += 2) {
    if (!params[i + 1])
      return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                         "extra form field %s has no value", params[i]);
    if (!*params[i])
      return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                         "an extra form field has an empty name");
    for (size_t r = 0; r < sizeof(reserved_fields) / sizeof(reserved_fields[0]);
         r++)
      if (strcmp(params[i], reserved_fields[r]) == 0)
        return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                           "form field %s is the client's own; it cannot be "
                           "an extra field",
                           params[i]);
  }
  return PKJWT_OK;
}

/* Whether name is a word of the space-separated list; a NULL list holds
 * every name. */
static int in_list(const char *list, const char *name) {
  if (!list)
    return 1;
  size_t n = strlen(name);
  for (const char *p = list; *p;) {
    size_t w = strcspn(p, " ");
    if (w == n && strncmp(p, name, n) == 0)
      return 1;
    p += w;
    while (*p == ' ')
      p++;
  }
  return 0;
}

/* The same for a NULL-terminated array; NULL holds every name. */
static int in_array(char *const *arr, const char *name) {
  for (size_t i = 0; arr && arr[i]; i++)
    if (strcmp(arr[i], name) == 0)
      return 1;
  return !arr;
}

/* The algs key can make, by spaces, into buf. */
static void key_algs(char *buf, size_t n, const pkjwt_key *key) {
  size_t used = 0;
  buf[0] = '\0';
  for (int a = PKJWT_ALG_DEFAULT + 1; pkjwt_alg_name((pkjwt_alg)a); a++)
    if (alg_fits_key((pkjwt_alg)a, key) && used < n)
      used += (size_t)snprintf(buf + used, n - used, "%s%s", used ? " " : "",
                               pkjwt_alg_name((pkjwt_alg)a));
}

/*
 * The alg to sign with: the given one, else the key's own, else the first
 * the server lists (server, NULL for no list) that the key can make; each
 * must be one the profile accepts (prof_algs, NULL = any) and the server
 * lists. With a key set (key NULL) only a given alg is judged: the active
 * key decides. PKJWT_ERR_ALG names the lists when none fits.
 */
static int choose_alg(pkjwt_alg *out, pkjwt_alg given, const pkjwt_key *key,
                      const char *prof_name, const char *prof_algs,
                      char *const *server, const char *server_text,
                      pkjwt_error *err) {
  const char *want = given != PKJWT_ALG_DEFAULT ? pkjwt_alg_name(given) : NULL;
  if (want || !key) {
    if (!want || (in_list(prof_algs, want) && in_array(server, want))) {
      *out = given;
      return PKJWT_OK;
    }
    if (!in_list(prof_algs, want))
      return pkjwt__fail(err, PKJWT_ERR_ALG,
                         "provider profile %s accepts %s, not %s", prof_name,
                         prof_algs, want);
    return pkjwt__fail(
        err, PKJWT_ERR_ALG, "the server lists %s for client assertions, not %s",
        server_text && *server_text ? server_text : "no alg", want);
  }
  const char *first = pkjwt_key_get_default_alg(key);
  size_t ns = 0;
  while (server && server[ns])
    ns++;
  for (size_t i = 0; i <= ns + 6; i++) {
    /* the key's own, then the server's order, then the profile's */
    const char *cand = NULL;
    static const char *const rsa_order[] = {"RS256", "PS256", "RS384",
                                            "PS384", "RS512", "PS512"};
    if (i == 0)
      cand = first;
    else if (i <= ns)
      cand = server[i - 1];
    else
      cand = rsa_order[i - ns - 1];
    pkjwt_alg a;
    if (!cand || pkjwt_alg_from_name(&a, cand, NULL) != PKJWT_OK ||
        !alg_fits_key(a, key) || !in_list(prof_algs, cand) ||
        !in_array(server, cand))
      continue;
    *out = a;
    return PKJWT_OK;
  }
  char mine[96];
  key_algs(mine, sizeof(mine), key);
  if (server)
    return pkjwt__fail(err, PKJWT_ERR_ALG,
                       "no algorithm both this key makes (%s) and the server "
                       "lists (%s)%s%s",
                       mine, server_text && *server_text ? server_text : "none",
                       prof_algs ? " and the profile accepts " : "",
                       prof_algs ? prof_algs : "");
  return pkjwt__fail(err, PKJWT_ERR_ALG,
                     "provider profile %s accepts %s; this key makes %s",
                     prof_name, prof_algs ? prof_algs : "any", mine);
}

/* Whether the extra form fields name name. */
static int has_param(const char *const *params, const char *name) {
  for (size_t i = 0; params && params[i] && params[i + 1]; i += 2)
    if (strcmp(params[i], name) == 0)
      return 1;
  return 0;
}

/* A copy of a NULL-terminated string array; *out NULL for none. */
static int copy_params(char ***out, const char *const *params) {
  *out = NULL;
  size_t n = 0;
  while (params && params[n])
    n++;
  if (n == 0)
    return 0;
  char **v = calloc(n + 1, sizeof(*v));
  if (!v)
    return -1;
  *out = v; /* freed with the client, even half filled */
  for (size_t i = 0; i < n; i++)
    if (!(v[i] = pkjwt__strdup(params[i])))
      return -1;
  return 0;
}

/* The options' rules, before anything is made. */
static int check_options(const pkjwt_client_options *o,
                         const pkjwt__profile *prof, pkjwt_error *err) {
  if (!o->client_id || !*o->client_id)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "client id missing");
  if (!o->scope || !*o->scope)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "scope missing%s%s%s",
                       prof->scope_form ? " (for " : "",
                       prof->scope_form ? prof->scope_form : "",
                       prof->scope_form ? ")" : "");
  if (pkjwt__has_control(o->client_id) || pkjwt__has_control(o->scope))
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "%s holds a control character",
                       pkjwt__has_control(o->scope) ? "scope" : "client id");
  const pkjwt_keyset *ks = o->keyset; /* NULL before version 3 */
  if (o->key && ks)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "a key and a key set given: one signs");
  if (!o->key && !ks)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "key missing");
  if (o->key && !pkjwt_key_has_private(o->key))
    return pkjwt__fail(err, PKJWT_ERR_NO_PRIVATE_KEY,
                       "the key is a public key: the client signs with the "
                       "private key");
  if (o->alg != PKJWT_ALG_DEFAULT && !pkjwt_alg_name(o->alg))
    return pkjwt__fail(err, PKJWT_ERR_ALG, "algorithm %d unknown", (int)o->alg);
  if (o->key && o->alg != PKJWT_ALG_DEFAULT && !alg_fits_key(o->alg, o->key)) {
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
  int rc = check_params(o->params, err);
  if (rc != PKJWT_OK)
    return rc;
  if (prof->required_param && !has_param(o->params, prof->required_param))
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "provider profile %s needs the form field %s",
                       prof->name, prof->required_param);
  if (o->cert && o->keyset)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "a certificate and a key set given: the set's "
                       "certificates are in its folder");
  if (o->cert && !pkjwt_cert_matches_key(o->cert, o->key))
    return pkjwt__fail(err, PKJWT_ERR_CERT,
                       "the certificate is not for this key");
  if (o->connect_timeout_ms < 0 || o->timeout_ms < 0 ||
      o->store_timeout_ms < 0 || o->store_lock_ms < 0)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "negative timeout");
  const pkjwt_store *st = o->store;
  if (st && (st->version < 1 || st->version > PKJWT_STORE_VERSION || !st->get ||
             !st->put || !st->del || !st->lock || !st->unlock))
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "the token store is of an unknown version or lacks "
                       "a callback");
  if (o->retries < -1 || o->retries > MAX_RETRIES)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "retries must be -1 (default 3) to %d", MAX_RETRIES);
  if (o->ca_file && access(o->ca_file, R_OK) != 0) {
    char ebuf[PKJWT__STRERROR_LEN];
    return pkjwt__fail(err, PKJWT_ERR_IO, "CA file %s: %s", o->ca_file,
                       pkjwt__strerror(errno, ebuf, sizeof(ebuf)));
  }
  return PKJWT_OK;
}

/* A new client with its lock and an empty snapshot. */
static int client_alloc(pkjwt_client **out, pkjwt_error *err) {
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
  if (pthread_mutex_init(&c->disc_mu, NULL) != 0) {
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
    return pkjwt__fail(err, PKJWT_ERR_INTERNAL, "mutex");
  }
  pkjwt__snapshot_init(&c->snap);
  atomic_init(&c->requests, 0);
  *out = c;
  return PKJWT_OK;
}

/*
 * The base URL the other URLs hang under, or NULL for none: the given one;
 * else, with a token endpoint given, that endpoint less the profile's token
 * path when it ends in it (an on-premises install of the same provider),
 * and none when it does not, so such an endpoint is never paired with the
 * profile's default host; else, with an issuer given, none (the token
 * endpoint comes from its metadata, never from another host); else the
 * profile's, if it has one. *len is its length (pkjwt__url_join drops
 * one trailing '/').
 */
static const char *base_for(const pkjwt_client_options *o,
                            const pkjwt__profile *prof, size_t *len) {
  const char *base = o->base_url;
  if (base) {
    *len = strlen(base);
    return base;
  }
  if (!o->token_endpoint) {
    if (o->issuer || !prof->base_url)
      return NULL;
    *len = strlen(prof->base_url);
    return prof->base_url;
  }
  if (!prof->token_path)
    return NULL;
  size_t lt = strlen(o->token_endpoint), lp = strlen(prof->token_path);
  if (lt > lp && strcmp(o->token_endpoint + lt - lp, prof->token_path) == 0) {
    *len = lt - lp;
    return o->token_endpoint;
  }
  return NULL;
}

/* given, else base + path, else NULL (*nomem when a copy failed). */
static char *url_or_join(const char *given, const char *base, size_t blen,
                         const char *path, int *nomem) {
  char *s = given          ? pkjwt__strdup(given)
            : base && path ? pkjwt__url_join(base, blen, path, NULL)
                           : NULL;
  if (!s && (given || (base && path)))
    *nomem = 1;
  return s;
}

/* Copy the strings, with the URLs the caller left NULL from the profile,
 * and check the URLs. */
static int set_strings(pkjwt_client *c, const pkjwt_client_options *o,
                       pkjwt_error *err) {
  const pkjwt__profile *prof = c->profile;
  size_t blen = 0;
  const char *base = base_for(o, prof, &blen);
  int nomem = 0;
  c->token_endpoint =
      url_or_join(o->token_endpoint, base, blen, prof->token_path, &nomem);
  c->check_endpoint =
      url_or_join(o->check_endpoint, base, blen, prof->check_path, &nomem);
  c->issuer = url_or_join(o->issuer, base, blen, prof->issuer_path, &nomem);
  c->client_id = pkjwt__strdup(o->client_id);
  c->scope = pkjwt__strdup(o->scope);
  c->custom_audience = pkjwt__strdup(o->audience);
  c->ca_file = pkjwt__strdup(o->ca_file);
  c->user_agent = o->user_agent ? pkjwt__strdup(o->user_agent)
                                : pkjwt__strdup("pkjwt/" PKJWT_VERSION_STRING);
  if (copy_params(&c->params, o->params) != 0)
    nomem = 1;
  if (!c->token_endpoint && !nomem && !c->issuer)
    return prof->token_path
               ? pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                             "provider profile %s has no default URL: give "
                             "the base URL (%s), the token endpoint or the "
                             "issuer",
                             prof->name, prof->base_url_form)
               : pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                             "provider profile %s needs the issuer (its "
                             "metadata names the token endpoint) or the "
                             "token endpoint",
                             prof->name);
  c->discover = !c->token_endpoint;
  if (nomem || (!c->token_endpoint && !c->discover) || !c->client_id ||
      !c->scope || !c->user_agent || (o->audience && !c->custom_audience) ||
      (o->ca_file && !c->ca_file))
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  int rc;
  if ((o->base_url && (rc = pkjwt__http_url_check(o->base_url, "base URL", NULL,
                                                  err)) != PKJWT_OK) ||
      (c->token_endpoint &&
       (rc = pkjwt__http_url_check(c->token_endpoint, "token endpoint", NULL,
                                   err)) != PKJWT_OK) ||
      (c->discover && (rc = pkjwt__http_url_check(c->issuer, "issuer", NULL,
                                                  err)) != PKJWT_OK) ||
      (c->check_endpoint &&
       (rc = pkjwt__http_url_check(c->check_endpoint, "check endpoint", NULL,
                                   err)) != PKJWT_OK))
    return rc;
  if (c->issuer && !*c->issuer)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "issuer is empty");
  if (!c->issuer && (o->audience_mode == PKJWT_AUD_ISSUER ||
                     o->audience_mode == PKJWT_AUD_AUTO))
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "the issuer audience needs the issuer: give it, or a "
                       "base URL, or a token endpoint that ends in %s",
                       prof->token_path);
  return PKJWT_OK;
}

/* The options as the current version's struct: an older caller's shorter
 * struct is copied and the fields it lacks keep their defaults. */
static void options_current(pkjwt_client_options *full,
                            const pkjwt_client_options *o) {
  static const size_t size_of_version[] = {
      0, offsetof(pkjwt_client_options, profile),
      offsetof(pkjwt_client_options, keyset),
      offsetof(pkjwt_client_options, store), sizeof(pkjwt_client_options)};
  _Static_assert(sizeof(size_of_version) / sizeof(size_of_version[0]) ==
                     PKJWT_CLIENT_OPTIONS_VERSION + 1,
                 "a size for each options version");
  pkjwt_client_options init = PKJWT_CLIENT_OPTIONS_INIT;
  *full = init;
  memcpy(full, o, size_of_version[o->version]);
}

static int64_t store_clock(void *ud) {
  return client_now(ud);
}

static void store_sleep(void *ud, long ms) {
  pkjwt_client *c = ud;
  c->sleep_ms(c->sleep_userdata, ms);
}

/* The store's settings; the key is the cache id, so every host of the
 * fleet names the token alike. */
static int store_setup(pkjwt_client *c, const pkjwt_client_options *o,
                       pkjwt_error *err) {
  int rc = pkjwt_client_cache_id(&c->store_key, c, err);
  if (rc != PKJWT_OK)
    return rc;
  pkjwt__store_use *u = &c->store;
  u->store = o->store;
  u->key = c->store_key;
  u->timeout_ms =
      o->store_timeout_ms ? o->store_timeout_ms : PKJWT_STORE_TIMEOUT_MS;
  u->lock_ms = o->store_lock_ms ? o->store_lock_ms
                                : c->http.timeout_ms + STORE_LOCK_EXTRA_MS;
  u->now = store_clock;
  u->now_ud = c;
  u->sleep_ms = store_sleep;
  u->sleep_ud = c;
  u->refresh_at = pkjwt_token_refresh_at;
  return PKJWT_OK;
}

int pkjwt_client_new(pkjwt_client **out, const pkjwt_client_options *o,
                     pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no place for the client");
  *out = NULL;
  if (!o)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no options");
  int rc = pkjwt__options_version_ok(o->version, PKJWT_CLIENT_OPTIONS_VERSION,
                                     "client options", err);
  if (rc != PKJWT_OK)
    return rc;
  pkjwt_client_options full;
  options_current(&full, o);
  o = &full;
  const pkjwt__profile *prof =
      o->profile ? pkjwt__profile_find(o->profile) : pkjwt__profile_default();
  if (!prof) {
    char known[256];
    size_t used = 0;
    known[0] = '\0';
    for (size_t i = 0; pkjwt_client_profile_name(i) && used < sizeof(known);
         i++)
      used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s",
                               i ? ", " : "", pkjwt_client_profile_name(i));
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "provider profile '%s' unknown (known: %s)", o->profile,
                       known);
  }
  rc = check_options(o, prof, err);
  if (rc == PKJWT_OK)
    rc = pkjwt__http_global_init(err);
  if (rc != PKJWT_OK)
    return rc;
  pkjwt_client *c = NULL;
  if ((rc = client_alloc(&c, err)) != PKJWT_OK)
    return rc;
  c->profile = prof;
  if ((rc = set_strings(c, o, err)) != PKJWT_OK) {
    pkjwt_client_free(c);
    return rc;
  }
  c->key = o->key;
  c->keyset = o->keyset;
  c->cert = o->cert;
  c->x5t_flags =
      o->cert ? PKJWT_X5T_S256 | (prof->x5t_sha1 ? PKJWT_X5T_SHA1 : 0) : 0;
  /* The profile's algs now; the server's list, if discovery brings one,
   * at discovery. */
  if ((rc = choose_alg(&c->alg, o->alg, o->key, prof->name, prof->algs, NULL,
                       NULL, err)) != PKJWT_OK) {
    pkjwt_client_free(c);
    return rc;
  }
  c->given_alg = o->alg;
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
  if (o->store && (rc = store_setup(c, o, err)) != PKJWT_OK) {
    pkjwt_client_free(c);
    return rc;
  }
  *out = c;
  return PKJWT_OK;
}

/* ---- one attempt ---- */

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

static int add_params(char **form, size_t *flen, char *const *params,
                      pkjwt_error *err) {
  int rc = PKJWT_OK;
  for (size_t i = 0; rc == PKJWT_OK && params && params[i]; i += 2)
    rc = pkjwt__form_add(form, flen, params[i], params[i + 1], err);
  return rc;
}

/* An invalid_client refusal names the alg the assertion was signed with in
 * the hint (issue 9): a JWK registered with a pinned "alg" accepts only
 * that alg, and strict servers say no more than "authentication failed".
 * Added only when it fits beside the profile's hint. */
static void hint_alg(pkjwt_error *err, const pkjwt_client *c) {
  const char *alg = c->alg != PKJWT_ALG_DEFAULT ? pkjwt_alg_name(c->alg)
                    : c->key ? pkjwt_key_get_default_alg(c->key)
                             : NULL;
  if (!err || !alg || strcmp(err->oauth_error, "invalid_client") != 0)
    return;
  size_t used = strlen(err->hint);
  int n = snprintf(err->hint + used, sizeof(err->hint) - used,
                   "%ssigned with %s: a JWK pinned to another alg refuses it",
                   used ? "; " : "", alg);
  if (n < 0 || (size_t)n >= sizeof(err->hint) - used)
    err->hint[used] = '\0';
}

static int attempt(pkjwt_token **out, pkjwt_client *c, int use_issuer,
                   int *retryable, long *retry_after, const char **expiry_from,
                   pkjwt_error *err) {
  *retryable = 0;
  *retry_after = -1;
  const char *typ;
  pkjwt_sign_options so = PKJWT_SIGN_OPTIONS_INIT;
  so.client_id = c->client_id;
  so.audience = audience_for(c, use_issuer, &typ);
  so.alg = c->alg;
  so.typ = typ;
  so.cert = c->cert;
  so.x5t = c->x5t_flags;
  /* so.now stays 0: the assertion carries real time, whatever clock the
   * cache runs on (the server judges exp by its own). */
  char *assertion = NULL;
  int rc = c->keyset ? pkjwt_keyset_sign(&assertion, c->keyset, &so, err)
                     : pkjwt_assertion_sign(&assertion, c->key, &so, err);
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
      (rc = add_params(&form, &flen, c->params, err)) == PKJWT_OK &&
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
  rc = pkjwt__oauth_token_response(out, c->profile, c->token_endpoint, &resp,
                                   client_now(c), retryable, expiry_from, err);
  if (rc == PKJWT_ERR_OAUTH)
    hint_alg(err, c);
  *retry_after = resp.retry_after;
  pkjwt__http_response_clear(&resp);
  return rc;
}

/* ---- discovery ---- */

/* With disc_mu held: judge body as the issuer's metadata and take its
 * token endpoint, and an alg from its list. */
static int take_metadata(pkjwt_client *c, const char *body, size_t len,
                         const char *from, long max_age, pkjwt_error *err) {
  pkjwt__discovery d;
  int rc = pkjwt__discovery_parse(&d, body, len, c->issuer, from, err);
  pkjwt_alg alg = c->alg;
  if (rc == PKJWT_OK)
    rc = choose_alg(&alg, c->given_alg, c->key, c->profile->name,
                    c->profile->algs, d.algs, d.algs_text, err);
  char *json = NULL;
  if (rc == PKJWT_OK && !(json = malloc(len + 1)))
    rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  if (rc == PKJWT_OK) {
    memcpy(json, body, len);
    json[len] = '\0';
    free(c->meta_json);
    c->meta_json = json;
    c->token_endpoint = d.token_endpoint;
    d.token_endpoint = NULL;
    c->alg = alg;
    long ttl = max_age >= 0 && max_age < PKJWT__DISCOVERY_TTL_S
                   ? max_age
                   : PKJWT__DISCOVERY_TTL_S;
    c->meta_until = client_now(c) + ttl;
    c->discovered = 1;
  }
  pkjwt__discovery_clear(&d);
  return rc;
}

/* With disc_mu held: fetch the issuer's metadata, OpenID Connect's
 * well-known URL first, then RFC 8414's. */
static int discover_now(pkjwt_client *c, pkjwt_error *err) {
  for (int which = 0; which < 2; which++) {
    char *url = pkjwt__discovery_url(c->issuer, which);
    if (!url)
      return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                         "issuer %s: not a URL with a host", c->issuer);
    pkjwt__http_response r;
    int rc = pkjwt__http_request(&r, &c->http, url, NULL, NULL, err);
    if (rc == PKJWT_OK && r.status == 200) {
      rc = take_metadata(c, r.body, r.body_len, url, r.max_age, err);
    } else if (rc == PKJWT_OK && which == 0 && r.status >= 400 &&
               r.status < 500) {
      pkjwt__http_response_clear(&r);
      free(url);
      continue; /* not there: try RFC 8414's place */
    } else if (rc == PKJWT_OK) {
      rc = pkjwt__fail(err, PKJWT_ERR_HTTP, "%s: HTTP %ld", url, r.status);
      if (err) {
        err->http_status = r.status;
        pkjwt__hint(err,
                    "the issuer publishes no metadata at its well-known "
                    "URLs: check the issuer (%s), or give the token endpoint",
                    c->issuer);
      }
    }
    pkjwt__http_response_clear(&r);
    free(url);
    return rc;
  }
  return PKJWT_ERR_INTERNAL; /* not reached */
}

/* The token endpoint known, by discovery if need be. */
static int ensure_discovered(pkjwt_client *c, pkjwt_error *err) {
  if (!c->discover)
    return PKJWT_OK;
  pthread_mutex_lock(&c->disc_mu);
  int rc = c->discovered ? PKJWT_OK : discover_now(c, err);
  pthread_mutex_unlock(&c->disc_mu);
  return rc;
}

int pkjwt_client_discover(pkjwt_client *c, pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!c)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no client");
  return ensure_discovered(c, err);
}

int pkjwt_client_metadata(char **out_json, int64_t *valid_until,
                          pkjwt_client *c, pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out_json || !c)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no %s given",
                       !out_json ? "output" : "client");
  *out_json = NULL;
  if (valid_until)
    *valid_until = 0;
  pthread_mutex_lock(&c->disc_mu);
  int rc = PKJWT_OK;
  if (!c->meta_json)
    rc = pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                     "the client has no metadata: it was given its token "
                     "endpoint, or has not discovered it yet");
  else if (!(*out_json = pkjwt__strdup(c->meta_json)))
    rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  else if (valid_until)
    *valid_until = c->meta_until;
  pthread_mutex_unlock(&c->disc_mu);
  return rc;
}

int pkjwt_client_metadata_set(pkjwt_client *c, const char *json, size_t len,
                              int64_t valid_until, pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!c || !json)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no %s given",
                       !c ? "client" : "document");
  if (!c->discover)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "the client was given its token endpoint: it uses no "
                       "metadata");
  pthread_mutex_lock(&c->disc_mu);
  int rc = PKJWT_OK;
  if (!c->discovered) {
    int64_t left = valid_until - client_now(c);
    rc = take_metadata(c, json, len, "cached metadata",
                       left > 0 ? (long)(left > PKJWT__DISCOVERY_TTL_S
                                             ? PKJWT__DISCOVERY_TTL_S
                                             : left)
                                : 0,
                       err);
  }
  pthread_mutex_unlock(&c->disc_mu);
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
  int drc = ensure_discovered(c, err);
  if (drc != PKJWT_OK) {
    emit(c, PKJWT_EVENT_FAILED, "discovery from %s failed (%s: %s)", c->issuer,
         pkjwt_strerror(drc), err->message);
    return drc;
  }
  for (;;) {
    int retryable;
    long retry_after;
    PKJWT__ERROR_BEGIN(err);
    attempts++;
    const char *from = NULL;
    int rc = attempt(out, c, use_issuer, &retryable, &retry_after, &from, err);
    if (rc == PKJWT_OK) {
      if (c->mode == PKJWT_AUD_AUTO)
        c->auto_use_issuer = use_issuer;
      /* where the lifetime came from, when not the answer's expires_in */
      int told = from && strcmp(from, "expires_in") != 0;
      emit(c, refreshing ? PKJWT_EVENT_REFRESHED : PKJWT_EVENT_FETCHED,
           "token %s from %s (expires in %lld s%s%s, attempt %d)",
           refreshing ? "refreshed" : "obtained", c->token_endpoint,
           (long long)(*out)->expires_in, told ? ", " : "", told ? from : "",
           attempts);
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
  pkjwt__error_copy(dst, src);
}

struct fetch_args {
  pkjwt_client *c;
  int refreshing;
};

static int fetch_for_store(pkjwt_token **out, void *ud, pkjwt_error *err) {
  struct fetch_args *a = ud;
  return fetch(out, a->c, a->refreshing, err);
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
    pkjwt_error ferr = PKJWT_ERROR_INIT;
    int rc;
    if (c->store.store) {
      struct fetch_args fa = {c, refreshing};
      int from_store = 0;
      rc = pkjwt__store_fetch(&tok, &from_store, &c->store, fetch_for_store,
                              &fa, &ferr);
    } else {
      rc = fetch(&tok, c, refreshing, &ferr);
    }

    pthread_mutex_lock(&c->mu);
    if (rc == PKJWT_OK) {
      int64_t ra = pkjwt_token_refresh_at(tok);
      if (pkjwt__snapshot_publish(&c->snap, tok->access_token, ra,
                                  tok->expires_at) != PKJWT_OK) {
        /* The slow path still works; the fast path just sees no token. */
        (void)pkjwt__snapshot_publish(&c->snap, NULL, 0, 0);
      }
      pkjwt_token_free(c->cached);
      c->cached = tok;
      c->cached_size = pkjwt__token_size(tok);
      c->refresh_at = ra;
      c->retry_not_before = 0;
      c->ever_fetched = 1;
      /* A key set that failed to reload signed with its old key. */
      if (ferr.warning[0])
        pkjwt__warn(err, "%s", ferr.warning);
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
  PKJWT__ERROR_BEGIN(err);
  if (!out || !c)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "client or out missing");
  *out = NULL;
  pkjwt_error own; /* holds a warning for the event when err is NULL */
  if (!err && c->on_event) {
    pkjwt_error_init(&own);
    err = &own;
  }
  pthread_mutex_lock(&c->mu);
  int rc = ensure_token(c, err);
  if (rc == PKJWT_OK)
    rc = pkjwt__token_dup(out, c->cached, c->cached_size, err);
  pthread_mutex_unlock(&c->mu);
  /* Sent here, not where the warning is made: no lock may be held. */
  if (rc == PKJWT_OK && err && err->warning[0])
    emit(c, PKJWT_EVENT_WARNING, "%s", err->warning);
  return rc;
}

int pkjwt_client_get_token_buf(char *buf, size_t buflen, int64_t *expires_at,
                               pkjwt_client *c, pkjwt_error *err) {
  PKJWT__ERROR_CHECK(err);
  error_reset(err);
  if (!buf || !c || buflen == 0)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "client or buffer missing");
  size_t need = 0;
  pkjwt_error own; /* holds a warning for the event when err is NULL */
  int r = pkjwt__snapshot_read(&c->snap, buf, buflen, client_now(c), expires_at,
                               &need);
  if (r == 1)
    return PKJWT_OK;
  if (r == 0) {
    if (!err && c->on_event) {
      pkjwt_error_init(&own);
      err = &own;
    }
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
    if (rc == PKJWT_OK && err && err->warning[0])
      emit(c, PKJWT_EVENT_WARNING, "%s", err->warning);
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
  (void)pkjwt__snapshot_publish(&c->snap, NULL, 0, 0);
  pthread_mutex_unlock(&c->mu);
  /* Outside the lock: a store call may take store_timeout_ms. */
  pkjwt__store_forget(&c->store);
}

unsigned long pkjwt_client_request_count(const pkjwt_client *c) {
  if (!c)
    return 0;
  return atomic_load_explicit(&((pkjwt_client *)c)->requests,
                              memory_order_relaxed);
}

int pkjwt_client_set_x5t(pkjwt_client *c, int flags, pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!c)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no client");
  if (flags & ~(PKJWT_X5T_S256 | PKJWT_X5T_SHA1))
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "x5t flags %d unknown",
                       flags);
  if (flags && !c->cert)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "certificate headers need the client's certificate");
  /* x5t#S256 stays whenever there is a header: the SHA-1 one is only for
   * servers that know no other */
  c->x5t_flags = flags ? flags | PKJWT_X5T_S256 : 0;
  return PKJWT_OK;
}

/* ---- the check endpoint ---- */

int pkjwt_client_check(char **out_json, pkjwt_client *c,
                       const char *access_token, pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out_json || !c || !access_token)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "client, token or out missing");
  *out_json = NULL;
  if (!c->check_endpoint)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "no check endpoint: give it, or a base URL, or a token "
                       "endpoint that ends in %s",
                       c->profile->token_path);
  if (!pkjwt__token_chars_ok(access_token))
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
  rc = pkjwt__oauth_check_response(out_json, c->profile, c->check_endpoint, &r,
                                   err);
  pkjwt__http_response_clear(&r);
  return rc;
}

/* ---- resolved configuration (getters) ----
 * They read only fields that pkjwt_client_new sets once, so they take no
 * lock. */

const char *pkjwt_client_token_endpoint(const pkjwt_client *c) {
  return c ? c->token_endpoint : NULL;
}

const char *pkjwt_client_check_endpoint(const pkjwt_client *c) {
  return c ? c->check_endpoint : NULL;
}

const char *pkjwt_client_issuer(const pkjwt_client *c) {
  return c ? c->issuer : NULL;
}

/* Length-prefixed, so ("ab","c") and ("a","bc") hash apart. */
static int digest_part(EVP_MD_CTX *ctx, const char *s) {
  uint64_t len = s ? strlen(s) : 0;
  unsigned char lenbuf[8];
  for (int b = 0; b < 8; b++)
    lenbuf[b] = (unsigned char)(len >> (8 * (7 - b)));
  return EVP_DigestUpdate(ctx, lenbuf, sizeof(lenbuf)) == 1 &&
         (len == 0 || EVP_DigestUpdate(ctx, s, (size_t)len) == 1);
}

int pkjwt_client_cache_id(char **out, const pkjwt_client *c, pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out || !c)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no %s given",
                       !out ? "output" : "client");
  *out = NULL;
  /* The audience the mode signs for: two modes that sign for different
   * audiences may be given different tokens. */
  static const char *const mode_names[] = {"token-endpoint", "issuer", "auto",
                                           "custom"};
  const char *mode = (unsigned)c->mode < 4 ? mode_names[c->mode] : "?";
  const char *aud = c->mode == PKJWT_AUD_CUSTOM           ? c->custom_audience
                    : c->mode == PKJWT_AUD_TOKEN_ENDPOINT ? ""
                                                          : c->issuer;
  /* A discovering client is named by its issuer, which does not change
   * when the metadata moves the token endpoint. */
  const char *parts[] = {c->discover ? c->issuer : c->token_endpoint,
                         c->client_id,
                         c->scope,
                         mode,
                         aud,
                         c->keyset ? pkjwt_keyset_dir(c->keyset)
                                   : pkjwt_key_get_thumbprint(c->key)};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
  for (size_t i = 0; ok && i < sizeof(parts) / sizeof(parts[0]); i++)
    ok = digest_part(ctx, parts[i]);
  /* appended only when present, so a client without them keeps its id */
  for (size_t i = 0; ok && c->params && c->params[i]; i++)
    ok = digest_part(ctx, c->params[i]);
  ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok)
    return pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO, "SHA-256 of the cache id");
  char *s = malloc(2 * (size_t)mdlen + 1);
  if (!s)
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  static const char hex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < mdlen; i++) {
    s[2 * i] = hex[md[i] >> 4];
    s[2 * i + 1] = hex[md[i] & 15];
  }
  s[2 * mdlen] = '\0';
  *out = s;
  return PKJWT_OK;
}
