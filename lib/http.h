/*
 * lib/http.h: the HTTP transport (lib/http.c) on libcurl: the URL policy,
 * one POST or GET per call, the form encoder. Its callers (the token
 * client, the OAuth response parser) include this; it includes nothing of
 * theirs.
 */
#ifndef PKJWT_HTTP_H
#define PKJWT_HTTP_H

#include "internal.h"

/* No response body may be larger than this (token responses are ~2 KiB). */
#define PKJWT__HTTP_BODY_MAX (1024L * 1024L)
/* Room for a redirect's target in a response. */
#define PKJWT__HTTP_LOCATION_MAX 256

/* Initialise libcurl once per process (pthread_once). */
int pkjwt__http_global_init(pkjwt_error *err);

/*
 * The URL policy: url must parse (curl_url) and be https, or http to a
 * loopback host (127.0.0.0/8, ::1, localhost). what names the URL in
 * messages ("token endpoint"). *loopback (optional) says whether the host is
 * a loopback one. Errors: PKJWT_ERR_INVALID_ARG (does not parse),
 * PKJWT_ERR_INSECURE (scheme or host refused).
 */
int pkjwt__http_url_check(const char *url, const char *what, int *loopback,
                          pkjwt_error *err);

typedef struct pkjwt__http_opts {
  const char *ca_file;     /* NULL = the system's bundle */
  long connect_timeout_ms; /* > 0 */
  long timeout_ms;         /* > 0, whole transfer */
  const char *user_agent;  /* not NULL */
} pkjwt__http_opts;

typedef struct pkjwt__http_response {
  long status; /* HTTP status, 0 when no response came */
  char *body;  /* malloc'd, NUL-terminated; may hold a token */
  size_t body_len;
  long retry_after; /* Retry-After in seconds, -1 when absent */
  long max_age;     /* Cache-Control max-age in seconds (0 for no-store or
                       no-cache), -1 when absent */
  int retryable;    /* a transport failure that may pass on its own */
  char location[PKJWT__HTTP_LOCATION_MAX]; /* a redirect's target, or "" */
} pkjwt__http_response;

/*
 * One HTTP exchange: a POST of form (application/x-www-form-urlencoded)
 * when form is not NULL, else a GET; with "Authorization: Bearer <bearer>"
 * when bearer is not NULL; always "Accept: application/json" and an
 * Accept-Encoding of what libcurl decodes (an answer in another encoding
 * fails with PKJWT_ERR_RESPONSE naming the cause). The body is
 * capped at PKJWT__HTTP_BODY_MAX. Returns PKJWT_OK when any HTTP response
 * arrived (the caller judges resp->status), else PKJWT_ERR_NETWORK,
 * PKJWT_ERR_TIMEOUT or PKJWT_ERR_RESPONSE (too large) with resp->retryable
 * set for failures worth another attempt (never TLS verification ones),
 * err->hint filled. Release resp with pkjwt__http_response_clear().
 */
int pkjwt__http_request(pkjwt__http_response *resp, const pkjwt__http_opts *o,
                        const char *url, const char *form, const char *bearer,
                        pkjwt_error *err);

/* The max-age of a Cache-Control header's value in seconds (at most 10^9),
 * 0 for no-store or no-cache, -1 when it has none. */
long pkjwt__http_max_age(const char *value);

/* Wipe and free the body; resp is reset for another use. */
void pkjwt__http_response_clear(pkjwt__http_response *resp);

/*
 * Append "name=value" (value percent-encoded by curl_easy_escape) to the
 * form buffer *buf of *len bytes, with a '&' before all but the first.
 * The buffer is grown by copy-and-wipe because it holds an assertion.
 * Returns PKJWT_OK or PKJWT_ERR_NOMEM.
 */
int pkjwt__form_add(char **buf, size_t *len, const char *name,
                    const char *value, pkjwt_error *err);

#endif
