/* pkjwt/client.h: the token client (client credentials + private_key_jwt). */
#ifndef PKJWT_CLIENT_H
#define PKJWT_CLIENT_H

#include <pkjwt/cert.h>
#include <pkjwt/common.h>
#include <pkjwt/error.h>
#include <pkjwt/key.h>
#include <pkjwt/sign.h>
#include <pkjwt/keyset.h>
#include <pkjwt/store.h>

PKJWT_BEGIN_DECLS

/**
 * A token client: one per (token endpoint, client id, scope, key).
 * Thread-safe: any number of threads may call pkjwt_client_get_token() on one
 * handle at once. It caches the access token, refreshes it before it
 * expires, and sends at most one request at a time (single flight).
 */
typedef struct pkjwt_client pkjwt_client;

/** How the assertion's aud (and typ) are chosen. */
typedef enum pkjwt_audience_mode {
  PKJWT_AUD_TOKEN_ENDPOINT = 0, /**< aud = token endpoint URL, typ JWT */
  PKJWT_AUD_ISSUER = 1,         /**< aud = issuer, typ client-authentication+jwt
                                     (draft-ietf-oauth-rfc7523bis) */
  PKJWT_AUD_AUTO = 2,           /**< token endpoint first; on invalid_client
                                     try the issuer form once, remember it */
  PKJWT_AUD_CUSTOM = 3          /**< aud = options.audience, typ JWT */
} pkjwt_audience_mode;

/** Authentication events for the optional callback. */
typedef enum pkjwt_event {
  PKJWT_EVENT_FETCHED = 1,  /**< first token obtained */
  PKJWT_EVENT_REFRESHED,    /**< a token replaced a previous one */
  PKJWT_EVENT_RETRIED,      /**< an attempt failed and will be retried */
  PKJWT_EVENT_FAILED,       /**< a request failed for good */
  /** A call succeeded with a warning (the same line as err->warning), e.g.
   * a refresh failed and the cached token, still valid, was returned. Sent
   * once per such call, whether or not the caller passed an err. */
  PKJWT_EVENT_WARNING
} pkjwt_event;

/**
 * Event callback. message is one line for a log; it never contains a token
 * or an assertion. It is called from the thread that does the request, with
 * no lock of the client held.
 */
typedef void (*pkjwt_event_cb)(void *userdata, pkjwt_event event,
                               const char *message);

/*
 * Version 2 appended profile, params and cert, version 3 keyset, version 4
 * store, store_timeout_ms and store_lock_ms. An older struct (without
 * them) is still accepted: the default profile, no extra fields, no
 * certificate header, no key set, no store.
 */
#define PKJWT_CLIENT_OPTIONS_VERSION 4
typedef struct pkjwt_client_options {
  unsigned int version;     /**< PKJWT_CLIENT_OPTIONS_VERSION */
  /** NULL = the profile's base URL, or, when token_endpoint is set and ends
   * in the profile's token path, that endpoint less the path */
  const char *base_url;
  const char *token_endpoint; /**< NULL = base_url + the profile's token path */
  const char *check_endpoint; /**< NULL = base_url + the profile's check path */
  const char *issuer;       /**< NULL = base_url + the profile's issuer path */
  const char *client_id;    /**< required */
  const char *scope;        /**< required; its form is the provider's */
  const pkjwt_key *key;     /**< private; borrowed: must outlive the client.
                                 Required unless keyset (version 2) is set */
  pkjwt_alg alg;            /**< PKJWT_ALG_DEFAULT follows the key */
  pkjwt_audience_mode audience_mode;
  const char *audience;     /**< with PKJWT_AUD_CUSTOM */
  const char *ca_file;      /**< NULL = the system's CA bundle */
  long connect_timeout_ms;  /**< 0 = 10000 */
  long timeout_ms;          /**< total per attempt; 0 = 30000 */
  int retries;              /**< extra attempts after the first; -1 = 3 */
  const char *user_agent;   /**< NULL = "pkjwt/VERSION" */
  pkjwt_event_cb on_event;  /**< optional */
  void *event_userdata;
  int64_t (*clock)(void *clock_userdata); /**< NULL = time(NULL); for tests */
  void *clock_userdata;
  /** Version 2: the provider profile by name (see
   * pkjwt_client_profile_name()); NULL = the default one, "puzzel". It gives
   * the URLs left NULL above and the hint texts. */
  const char *profile;
  /** Version 2: extra fields of the token request's form, NULL or an array
   * NAME, VALUE, NAME, VALUE, ..., NULL (e.g. "resource" for Entra v1 and
   * ADFS, "audience" for Auth0); a name may repeat. The names the client
   * sets itself (grant_type, client_id, scope, client_assertion,
   * client_assertion_type) and empty names fail with PKJWT_ERR_INVALID_ARG.
   * Copied by pkjwt_client_new(). */
  const char *const *params;
  /** Version 2: a certificate of key, borrowed (must outlive the client):
   * each assertion then carries its x5t#S256 header, by which Entra ID
   * finds the certificate. One for another key fails in pkjwt_client_new()
   * with PKJWT_ERR_CERT, before anything is sent. NULL = none. */
  const pkjwt_cert *cert;
  /* version 3 */
  /** In place of key: sign each request with the set's active key, picking
   * up a rotation without a restart (pkjwt_keyset_sign()). A cached token
   * stays in use until it is refreshed; the next request is signed with the
   * key active then. A failed reload of the set is a PKJWT_EVENT_WARNING
   * (and err->warning) of the call that fetched. Borrowed: must outlive the
   * client. Setting both key and keyset is PKJWT_ERR_INVALID_ARG. */
  pkjwt_keyset *keyset;
  /* version 4 */
  /** A token store shared with other processes and hosts (a file, Redis,
   * or the application's own; include/pkjwt/store.h), NULL = none. The
   * client then looks in its memory, then the store, then fetches holding
   * the store's lock, and puts what it fetched; the key is
   * pkjwt_client_cache_id(). A store that fails or is slow only makes the
   * client fetch itself, with a PKJWT_EVENT_WARNING. Borrowed: must
   * outlive the client. */
  const pkjwt_store *store;
  long store_timeout_ms; /**< each store call; 0 = 200 */
  /** The store lock's lifetime, and the longest a process waits for
   * another's fetch before it fetches itself; 0 = the request timeout
   * (timeout_ms) plus 5000 */
  long store_lock_ms;
} pkjwt_client_options;
#define PKJWT_CLIENT_OPTIONS_INIT                                             \
  { PKJWT_CLIENT_OPTIONS_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, NULL,  \
    PKJWT_ALG_DEFAULT, PKJWT_AUD_TOKEN_ENDPOINT, NULL, NULL, 0, 0, -1, NULL,  \
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0 }

/**
 * Provider profiles: what one provider needs that the OAuth RFCs do not
 * say (its default base URL, the paths under it, the scope's form, hint
 * texts), kept as rows of one table in the library. The fields a caller can
 * read:
 */
typedef enum pkjwt_profile_field {
  PKJWT_PROFILE_BASE_URL = 0,    /**< default base URL, no trailing '/' */
  PKJWT_PROFILE_TOKEN_PATH = 1,  /**< token endpoint under the base URL */
  PKJWT_PROFILE_CHECK_PATH = 2,  /**< check endpoint under the base URL */
  PKJWT_PROFILE_ISSUER_PATH = 3, /**< issuer under the base URL */
  PKJWT_PROFILE_SCOPE_FORM = 4,  /**< an example of the scope's form */
  /** the base URL, or the shape of one when each customer has their own
   * ("https://HOST/realms/REALM") */
  PKJWT_PROFILE_BASE_URL_FORM = 5,
  PKJWT_PROFILE_ALGS = 6,          /**< the JWS algs it accepts, by spaces;
                                        NULL = any */
  PKJWT_PROFILE_REQUIRED_PARAM = 7 /**< a form field it needs (auth0:
                                        "audience"), NULL = none */
} pkjwt_profile_field;

/**
 * The name of the profile at index (0 is the default), for listing them;
 * NULL past the last one. Static: never freed. Thread-safe.
 */
PKJWT_EXPORT const char *pkjwt_client_profile_name(size_t index);

/**
 * One field of the profile called name (NULL = the default profile). A
 * static string, never freed; NULL for an unknown profile or field, or a
 * field the profile does not have (a profile without a check endpoint has
 * no PKJWT_PROFILE_CHECK_PATH). Thread-safe.
 */
PKJWT_EXPORT const char *pkjwt_client_profile_get(const char *name,
                                                  pkjwt_profile_field field);

/**
 * Make a client. Strings in opts are copied; opts->key is borrowed. URLs must
 * be https, except plain http to a loopback host (127.0.0.0/8, ::1,
 * localhost): anything else fails with PKJWT_ERR_INSECURE. Proxies come from
 * the usual environment variables (https_proxy, no_proxy...), except that a
 * loopback host is never reached through a proxy. One trailing '/' of
 * base_url is dropped. URLs left NULL come from the provider profile (its
 * base URL and paths; see libpkjwt(3), "Token client"): with token_endpoint
 * set and base_url NULL, the base is the token endpoint less the profile's
 * token path when it ends in it, else there is none, and the check endpoint
 * and the issuer are only what the options give (never another host's):
 * then an audience mode that needs the issuer fails here with
 * PKJWT_ERR_INVALID_ARG, and pkjwt_client_check() fails. An unknown
 * profile fails with PKJWT_ERR_INVALID_ARG. retries is
 * -1 (3) to 10; ca_file must be readable (PKJWT_ERR_IO); a public key fails
 * with PKJWT_ERR_NO_PRIVATE_KEY.
 * No request is sent here. Free with pkjwt_client_free().
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_client_new(pkjwt_client **out, const pkjwt_client_options *opts,
                 pkjwt_error *err);

PKJWT_EXPORT void pkjwt_client_free(pkjwt_client *client);

/** A token as the server gave it. Free with pkjwt_token_free(). */
typedef struct pkjwt_token {
  char *access_token;  /**< the Bearer token (secret) */
  char *token_type;    /**< "Bearer" */
  char *scope;         /**< as the server answered, may be NULL */
  int64_t expires_in;  /**< seconds, as the server answered; capped at 366
                            days; without one, the access token's exp when
                            it is a JWT, else 300 */
  int64_t expires_at;  /**< epoch seconds by the client's clock */
  char *response_json; /**< the whole response body (contains the token) */
} pkjwt_token;

/** Wipe and free a token; NULL is a no-op. */
PKJWT_EXPORT void pkjwt_token_free(pkjwt_token *token);

/**
 * The time (epoch seconds) from which the client refreshes this token
 * rather than reuse it: expires_at less max(60 s, 10 % of expires_in), but
 * never earlier than half its life. Only expires_at and expires_in are read,
 * so a caller that keeps tokens elsewhere (an on-disk cache) can fill
 * just those two fields. 0 for NULL.
 */
PKJWT_EXPORT int64_t pkjwt_token_refresh_at(const pkjwt_token *token);

/**
 * Get a valid access token: the cached one while more than
 * max(60 s, 10 % of its lifetime) remains, else a new one (single flight:
 * concurrent callers wait for one request). If a refresh fails while the
 * cached token is still valid, the cached token is returned and err->warning
 * says the refresh failed; for 5 s after such a failure the cached token is
 * returned (with the warning) without a new request. While one thread
 * refreshes a token that is still valid, other threads get that token at
 * once instead of waiting; with no valid token they wait for the one
 * request and all get its result or its error. A token living two minutes
 * or less is reused for half its life. Each attempt signs a new assertion
 * (new jti) on the real clock, whatever opts->clock says. Retries: network
 * errors (not TLS verification failures), 408, 429 and 5xx, after a
 * full-jitter backoff (250 ms doubling to 8 s) or the server's Retry-After
 * (at most 30 s). *out is a copy the caller frees with pkjwt_token_free().
 * Errors: PKJWT_ERR_NETWORK, PKJWT_ERR_TIMEOUT, PKJWT_ERR_OAUTH (err has
 * http_status, oauth_error, the server's error_description (else its error
 * code) as message followed by the error_codes, trace_id and
 * correlation_id it sent, and a hint), PKJWT_ERR_HTTP, PKJWT_ERR_RESPONSE
 * (also for a compressed answer that could not be decoded), signing errors.
 * Requests carry Accept-Encoding with what libcurl decodes; a UTF-8 BOM
 * before an answer's JSON is skipped.
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_client_get_token(pkjwt_token **out, pkjwt_client *client,
                       pkjwt_error *err);

/** A buffer this large holds the tokens of the providers known today (~1 KiB
 * each; 8 KiB leaves room). */
#define PKJWT_TOKEN_BUF_SIZE 8192

/**
 * The fast form of pkjwt_client_get_token(): copy only the access token,
 * NUL-terminated, into the caller's buf of buflen bytes, and its expiry
 * (epoch seconds by the client's clock) into *expires_at when that is not
 * NULL. Caching, refresh, single flight and the warning on a failed refresh
 * are the same. While the cached token is fresh this takes no lock, allocates
 * nothing and writes no shared memory, so it costs tens of nanoseconds and
 * does not slow down as threads are added.
 * buf holds a secret: wipe it (OPENSSL_cleanse or explicit_bzero) when done.
 * Errors: as pkjwt_client_get_token(), and PKJWT_ERR_INVALID_ARG when buf is
 * too small (the message says how large it must be;
 * PKJWT_TOKEN_BUF_SIZE is enough for the providers known today).
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_client_get_token_buf(char *buf, size_t buflen, int64_t *expires_at,
                           pkjwt_client *client, pkjwt_error *err);

/** Drop the cached token so the next get fetches a new one; with a store,
 * delete it there too, so that the fleet fetches once, not once per host. */
PKJWT_EXPORT void pkjwt_client_invalidate(pkjwt_client *client);

/**
 * Call the check endpoint (GET, Authorization: Bearer access_token) and give
 * back its JSON body in *out_json (free with pkjwt_str_free). 401 and 403 fail
 * with PKJWT_ERR_HTTP, err->http_status and a hint.
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_client_check(char **out_json, pkjwt_client *client,
                   const char *access_token, pkjwt_error *err);

/**
 * Discovery (OpenID Connect Discovery 1.0, RFC 8414 as the fallback). A
 * client given an issuer and neither a token endpoint nor a base URL (or
 * whose profile has no token path, "generic") reads the issuer's metadata
 * from ISSUER/.well-known/openid-configuration, else
 * https://HOST/.well-known/oauth-authorization-server/PATH, once, before
 * its first token request, or when this is called. The document must name
 * the issuer exactly as configured, a token_endpoint the URL policy
 * accepts, and private_key_jwt in token_endpoint_auth_methods_supported;
 * the alg is the given one, else the key's own, else the first one of
 * token_endpoint_auth_signing_alg_values_supported the key can make (and
 * the profile accepts). At most 256 KiB is read; the server's words in
 * messages are made printable. An issuer without metadata or without a
 * token endpoint is an error: no other URL is guessed. A no-op for a client
 * that was given its token endpoint, or that has its metadata. Errors:
 * PKJWT_ERR_NETWORK, PKJWT_ERR_TIMEOUT, PKJWT_ERR_HTTP (neither URL
 * answered 200), PKJWT_ERR_RESPONSE (a document that fails the checks),
 * PKJWT_ERR_INSECURE, PKJWT_ERR_ALG (no alg fits: the message names the
 * key's and the server's lists). Thread-safe.
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int pkjwt_client_discover(pkjwt_client *client,
                                                         pkjwt_error *err);

/**
 * The metadata document the client took, as the server sent it, in
 * *out_json (free with pkjwt_str_free), and in *valid_until (may be NULL)
 * the time, by the client's clock, until which it may be kept: the
 * Cache-Control max-age of its answer, at most and by default 24 hours.
 * For a cache of it outside the process (pkjwt-token keeps one), given back
 * with pkjwt_client_metadata_set(). PKJWT_ERR_INVALID_ARG when the client
 * has none. Thread-safe.
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_client_metadata(char **out_json, int64_t *valid_until,
                      pkjwt_client *client, pkjwt_error *err);

/**
 * Give a discovering client a metadata document kept from an earlier
 * pkjwt_client_metadata(), valid until valid_until, so it sends no request
 * for it. It is judged as a fetched one (the issuer exactly, the token
 * endpoint, private_key_jwt, the alg); on an error the client discovers as
 * usual and the caller should drop its copy. Call before the first token;
 * a no-op once the client has metadata. PKJWT_ERR_INVALID_ARG for a client
 * that was given its token endpoint. Thread-safe.
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_client_metadata_set(pkjwt_client *client, const char *json, size_t len,
                          int64_t valid_until, pkjwt_error *err);

/**
 * The certificate headers of the client's assertions: flags
 * PKJWT_X5T_S256 and PKJWT_X5T_SHA1 (pkjwt/sign.h), 0 for none. A client
 * with a certificate sends x5t#S256, and under the "entra" profile the
 * SHA-1 x5t too; PKJWT_X5T_SHA1 adds that legacy header for another
 * provider (x5t#S256 always stays beside it). Needs options.cert
 * (PKJWT_ERR_INVALID_ARG). Call before the first token: not thread-safe
 * against a request.
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_client_set_x5t(pkjwt_client *client, int flags, pkjwt_error *err);

/** Number of token requests sent so far (each attempt counts). */
PKJWT_EXPORT unsigned long pkjwt_client_request_count(const pkjwt_client *client);

/*
 * Resolved configuration. (Appended while client.c is split; the lead may
 * move these next to pkjwt_client_new.)
 */

/**
 * The URLs the client uses, as pkjwt_client_new() resolved them from the
 * options (an explicit URL as given, else base_url joined with the path):
 * the token endpoint, the check endpoint and the issuer identifier.
 * Borrowed: they live as long as client. NULL for a NULL client, and for a
 * check endpoint or issuer that neither the options nor the profile gave.
 * Thread-safe (they never change after pkjwt_client_new()), except that a
 * discovering client's token endpoint is NULL until its metadata has been
 * read (pkjwt_client_discover()) and is set once then.
 */
PKJWT_EXPORT const char *pkjwt_client_token_endpoint(const pkjwt_client *client);
PKJWT_EXPORT const char *pkjwt_client_check_endpoint(const pkjwt_client *client);
PKJWT_EXPORT const char *pkjwt_client_issuer(const pkjwt_client *client);

/**
 * A name for what identifies this client's tokens, for a caller that keeps
 * tokens outside the process (a cache file): 64 lower-case hex digits, the
 * SHA-256 of the token endpoint, client id, scope, audience mode (and the
 * audience it signs for), the key's RFC 7638 thumbprint (with a key set,
 * its folder: a token outlives a rotation) and the extra form fields
 * (opts->params), if any. Two clients get
 * the same id only when a token of one serves the other. Free *out with
 * pkjwt_str_free(). Errors: PKJWT_ERR_INVALID_ARG, PKJWT_ERR_NOMEM,
 * PKJWT_ERR_CRYPTO. Thread-safe.
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_client_cache_id(char **out, const pkjwt_client *client, pkjwt_error *err);

PKJWT_END_DECLS

#endif
