/* pkjwt/store.h: token stores, so that processes and hosts share one token. */
#ifndef PKJWT_STORE_H
#define PKJWT_STORE_H

#include <pkjwt/common.h>
#include <pkjwt/error.h>

PKJWT_BEGIN_DECLS

/*
 * A token store holds the tokens of token clients outside the process (a
 * file, Redis, or an application's own), so that the processes and hosts
 * of a service share one token and fetch it once (docs/fleet.md). A client
 * given a store (pkjwt_client_options.store) looks in three places in turn:
 * its in-memory copy, then the store, then the token endpoint; it fetches
 * holding the store's lock for the key, so that one process of the fleet
 * fetches and the others read what it put.
 *
 * An application may plug in its own store by filling this struct. The
 * contract:
 * - key is pkjwt_client_cache_id() (64 hex digits), the same on every host
 *   for the same client; it never holds the private key. value is an
 *   opaque record of the library (token, type, scope, expiry, fetch time;
 *   at most PKJWT_STORE_VALUE_MAX bytes, never NUL-terminated by contract).
 *   It holds a bearer token: keep it where only the service can read it.
 * - get, put and del each act atomically on one key: a get sees a whole
 *   value put before, never half of one. put replaces the value and should
 *   let it expire after ttl_ms (0 = no expiry asked).
 * - lock tries once, without waiting, to take an exclusive lock named by
 *   key, held by at most one holder in the whole fleet (the client polls
 *   the store between tries, with backoff, at most store_lock_ms). The
 *   lock must end by itself after lifetime_ms (or when its holder dies),
 *   so that a killed holder does not stop the fleet. *handle is the store's own, given back
 *   to unlock, which releases the lock only if this holder still has it.
 * - Each call gives up after timeout_ms (the client's store_timeout_ms).
 * - The callbacks may be called from several threads at once (several
 *   clients may share one store): they must be thread-safe.
 * - Failure is never fatal: a call that returns PKJWT_STORE_FAIL makes the
 *   client fetch the token itself, as it would without a store, and raise
 *   PKJWT_EVENT_WARNING (and err->warning). A get of a token never fails
 *   because of the store. A value the library cannot read (corrupt,
 *   foreign, or of another version) is ignored, never served, and
 *   overwritten by the next put.
 */

/** What a store callback answers. */
typedef enum pkjwt_store_result {
  PKJWT_STORE_OK = 0,   /**< done (get: found; lock: taken) */
  PKJWT_STORE_MISS = 1, /**< get: no such key */
  PKJWT_STORE_BUSY = 2, /**< lock: another holder kept it past timeout_ms */
  PKJWT_STORE_FAIL = -1 /**< the store failed or timed out */
} pkjwt_store_result;

/** A store call's time limit when none is given (store_timeout_ms 0). */
#define PKJWT_STORE_TIMEOUT_MS 200L

/** The largest value the library puts (the store may refuse larger). */
#define PKJWT_STORE_VALUE_MAX 65536

#define PKJWT_STORE_VERSION 1
typedef struct pkjwt_store {
  unsigned int version; /**< PKJWT_STORE_VERSION */
  void *ctx;            /**< given to every callback */
  /** Copy the value of key into buf (size bytes) and its whole length into
   * *len; a value longer than size is copied in part and ignored by the
   * client. PKJWT_STORE_OK, PKJWT_STORE_MISS or PKJWT_STORE_FAIL. */
  int (*get)(void *ctx, const char *key, char *buf, size_t size, size_t *len,
             long timeout_ms);
  /** Set key to the len bytes of value, expiring after ttl_ms.
   * PKJWT_STORE_OK or PKJWT_STORE_FAIL. */
  int (*put)(void *ctx, const char *key, const char *value, size_t len,
             long ttl_ms, long timeout_ms);
  /** Remove key (absent is PKJWT_STORE_OK). */
  int (*del)(void *ctx, const char *key, long timeout_ms);
  /** Take the lock named by key (see the contract above). PKJWT_STORE_OK
   * with *handle set, PKJWT_STORE_BUSY or PKJWT_STORE_FAIL. */
  int (*lock)(void *ctx, const char *key, long lifetime_ms, long timeout_ms,
              void **handle);
  /** Release a lock lock took, and free handle. */
  void (*unlock)(void *ctx, const char *key, void *handle, long timeout_ms);
  /** Free ctx; called by pkjwt_store_free(). NULL = nothing to free. */
  void (*destroy)(void *ctx);
} pkjwt_store;

/**
 * The file store: one file per key in dir (NULL = $XDG_CACHE_HOME/pkjwt,
 * else ~/.cache/pkjwt), made 0700 when absent, written 0600 through a
 * temporary file and rename; the lock is a KEY.lock file held with flock,
 * which the kernel releases when its holder dies. A folder that is not
 * the caller's or that others can write is refused (PKJWT_ERR_INSECURE),
 * as is one that cannot be made (PKJWT_ERR_IO). Serves the processes of
 * one host. Free with pkjwt_store_free(). Thread-safe.
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_store_file_new(pkjwt_store **out, const char *dir, pkjwt_error *err);

/**
 * The Redis (or Valkey) store, through hiredis: url is
 * redis://[USER@]HOST[:PORT][/DB], rediss://[USER@]HOST[:PORT][/DB]
 * [?cacert=FILE] (TLS) or unix:/PATH[?db=DB]. rediss:// verifies the
 * server's certificate as the token client does: against the CA
 * certificates in FILE (PEM), else the system's trust store, for HOST (a
 * name or an address), TLS 1.2 or later; a server that fails it is a
 * failing store (a warning, the token fetched without it). A CA file that
 * cannot be read is PKJWT_ERR_IO here. No client certificate is sent.
 * password (NULL = none) is sent with AUTH; it never belongs in the URL
 * (a URL with one is PKJWT_ERR_INVALID_ARG). timeout_ms (0 = 200) bounds
 * connecting. Values are SET with PX = the token's lifetime; the lock is
 * SET NX PX with a random owner value, released by a Lua script that
 * compares the owner. No connection is made here: the first use connects,
 * and a store that is down only makes the client fetch itself. Every URL
 * is PKJWT_ERR_INVALID_ARG when the library was built without hiredis
 * (see pkjwt_store_kinds()). Thread-safe (one connection, locked).
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_store_redis_new(pkjwt_store **out, const char *url,
                      const char *password, long timeout_ms, pkjwt_error *err);

/** The stores this build has, e.g. "file redis". Static. */
PKJWT_EXPORT const char *pkjwt_store_kinds(void);

/** Free a store made by a pkjwt_store_*_new() function; NULL is a no-op.
 * No client may use it any more. */
PKJWT_EXPORT void pkjwt_store_free(pkjwt_store *store);

PKJWT_END_DECLS

#endif
