/*
 * lib/store.h: the token client's use of a token store (lib/store.c): the
 * stored record, and the lookup in the store with single flight across
 * processes through the store's lock. The stores themselves are
 * lib/store_file.c and lib/store_redis.c (include/pkjwt/store.h).
 */
#ifndef PKJWT_STORE_INTERNAL_H
#define PKJWT_STORE_INTERNAL_H

#include "internal.h"

/* How a client uses its store; everything borrowed from the client. */
typedef struct pkjwt__store_use {
  const pkjwt_store *store;
  const char *key;  /* pkjwt_client_cache_id */
  long timeout_ms;  /* each store call */
  long lock_ms;     /* the lock's lifetime and the longest wait for it */
  int64_t (*now)(void *ud); /* the client's clock (epoch seconds) */
  void *now_ud;
  void (*sleep_ms)(void *ud, long ms);
  void *sleep_ud;
  /* the client's refresh rule (pkjwt_token_refresh_at) */
  int64_t (*refresh_at)(const pkjwt_token *t);
} pkjwt__store_use;

/* The client's own fetch of a new token (no lock of the client held). */
typedef int (*pkjwt__store_fetch_fn)(pkjwt_token **out, void *ud,
                                     pkjwt_error *err);

/*
 * A token to use now: the store's when it holds one the refresh rule still
 * accepts, else one from fetch, taken holding the store's lock for the key
 * (waiters poll the store with backoff, at most lock_ms) and put into the
 * store. *from_store is 1 when the token came from the store. A store that
 * fails or times out only adds a warning (err->warning) and the token is
 * fetched without it: the result is then fetch's.
 */
int pkjwt__store_fetch(pkjwt_token **out, int *from_store,
                       const pkjwt__store_use *u, pkjwt__store_fetch_fn fetch,
                       void *fetch_ud, pkjwt_error *err);

/* Delete the key's token from the store (pkjwt_client_invalidate). */
void pkjwt__store_forget(const pkjwt__store_use *u);

/*
 * The stored record of t, fetched at fetched_at: versioned text (see
 * lib/store.c). *out is malloc'd; wipe and free with
 * pkjwt__cleanse_free(*out, *len + 1).
 */
int pkjwt__store_record(char **out, size_t *len, const pkjwt_token *t,
                        int64_t fetched_at);

/* The token in a stored record, or NULL when it is not one of ours (any
 * flaw: corrupt, foreign, another version, expired before it was fetched). */
pkjwt_token *pkjwt__store_parse(const char *buf, size_t len);

#endif
