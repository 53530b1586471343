/*
 * lib/oauth.c: what an OAuth token endpoint (RFC 6749 5.1, 5.2) or a check
 * endpoint answered, judged: the token it becomes, or the error with the
 * server's words, the status and a hint in the provider profile's words.
 * Server text reaches messages cleaned to one line; a token never does.
 */
/* strcasecmp under -std=c11 */
#define _POSIX_C_SOURCE 200809L
#include "oauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>

/* A token living longer than a year is a server error, not a policy. */
#define EXPIRES_IN_MAX (366L * 86400L)
/* Room for the server's error_description in a message. */
#define DETAIL_MAX 256

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

/* Copy server text for a one-line message, safe for a terminal. */
static void copy_clean(char *dst, size_t n, const char *src) {
  (void)pkjwt__printable(dst, n, src, strlen(src));
}

/* A Bearer token must fit in an HTTP header as it is: visible ASCII only
 * (RFC 6750 b64token is narrower still). */
int pkjwt__token_chars_ok(const char *t) {
  if (!*t)
    return 0;
  for (; *t; t++)
    if ((unsigned char)*t < 0x21 || (unsigned char)*t > 0x7e)
      return 0;
  return 1;
}

/* ---- tokens ---- */

/*
 * A token is one allocation: the struct, then access_token, token_type,
 * scope and response_json. One malloc and one wipe per copy instead of
 * five; the cached token's copy is a memcpy and four pointer fix-ups.
 * pkjwt_token_free knows the layout by access_token pointing just past the
 * struct.
 */
size_t pkjwt__token_size(const pkjwt_token *t) {
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

pkjwt_token *pkjwt__token_make(const char *access_token, const char *type,
                               const char *scope, const char *json,
                               int64_t expires_in, int64_t expires_at) {
  pkjwt_token proto = {(char *)access_token, (char *)type, (char *)scope,
                       expires_in,           expires_at,   (char *)json};
  pkjwt_token *t = malloc(pkjwt__token_size(&proto));
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
    pkjwt__cleanse_free(t, pkjwt__token_size(t));
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
int pkjwt__token_dup(pkjwt_token **out, const pkjwt_token *t, size_t size,
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
static int oauth_fail(pkjwt_error *err, const pkjwt__profile *prof, long status,
                      json_t *j) {
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
      pkjwt__hint(err, "%s", hint);
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
  if (!pkjwt__token_chars_ok(at))
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
  /* scope is the server's words the caller may print: made printable (a
   * scope as RFC 6749 3.3 defines it is printable ASCII and stays as it is) */
  char *sc = scope ? pkjwt__printable_dup(scope) : NULL;
  pkjwt_token *t = scope && !sc
                       ? NULL
                       : pkjwt__token_make(at, "Bearer", sc, body, expires_in,
                                           now + expires_in);
  free(sc);
  if (!t)
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  *out = t;
  return PKJWT_OK;
}

static int status_retryable(long s) {
  return s == 408 || s == 429 || (s >= 500 && s <= 599);
}

/* Fail with PKJWT_ERR_HTTP: "<what> answered HTTP <status>: <the server's
 * words>", taking error and error_description from j when it is an
 * object. */
static int http_fail(pkjwt_error *err, const char *what,
                     const pkjwt__http_response *r, const json_t *j) {
  char detail[DETAIL_MAX] = "";
  if (j && json_is_object(j)) {
    const char *e = json_string_value(json_object_get(j, "error"));
    const char *d = json_string_value(json_object_get(j, "error_description"));
    if (e && err)
      copy_clean(err->oauth_error, sizeof(err->oauth_error), e);
    copy_clean(detail, sizeof(detail), d ? d : e ? e : "");
  }
  int rc = pkjwt__fail(err, PKJWT_ERR_HTTP, "%s answered HTTP %ld%s%s", what,
                       r->status, detail[0] ? ": " : "", detail);
  if (err)
    err->http_status = r->status;
  return rc;
}

/* A 200 from the token endpoint: the token, or an error object. */
static int judge_200(pkjwt_token **out, const pkjwt__profile *prof,
                     const pkjwt__http_response *r, json_t *j,
                     const json_error_t *je, int64_t now, pkjwt_error *err) {
  int rc;
  if (!j || !json_is_object(j)) {
    /* je->text may quote the body, which may hold a token: not shown. */
    if (!j && strstr(je->text, "duplicate"))
      rc = pkjwt__fail(err, PKJWT_ERR_RESPONSE,
                       "token endpoint: the answer repeats a member");
    else
      rc = pkjwt__fail(err, PKJWT_ERR_RESPONSE,
                       "token endpoint: the answer is not a JSON object "
                       "(line %d, column %d)",
                       je->line, je->column);
  } else if (json_object_get(j, "error")) {
    rc = oauth_fail(err, prof, r->status, j);
  } else {
    rc = parse_success(out, j, r->body, now, err);
  }
  if (err)
    err->http_status = r->status;
  return rc;
}

/* Wipe the string values of an answer's parse tree before it is freed: the
 * access token (and any refresh or id token) lives there in Jansson's own
 * copy. (Jansson's lexer keeps a scratch copy too, freed inside json_loadb
 * where no wipe can reach without a process-wide allocator hook; see
 * docs/security.md.) */
static void wipe_strings(json_t *j) {
  const char *k;
  json_t *v;
  json_object_foreach(j, k, v) {
    if (json_is_string(v))
      OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
  }
}

int pkjwt__oauth_token_response(pkjwt_token **out, const pkjwt__profile *prof,
                                const char *endpoint,
                                const pkjwt__http_response *r, int64_t now,
                                int *retryable, pkjwt_error *err) {
  *retryable = status_retryable(r->status);
  json_error_t je;
  json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
  int rc;
  if (r->status == 200) {
    rc = judge_200(out, prof, r, j, &je, now, err);
  } else if (j && json_is_object(j) &&
             json_is_string(json_object_get(j, "error")) && r->status >= 400 &&
             r->status < 500 && !*retryable) {
    rc = oauth_fail(err, prof, r->status, j);
  } else {
    rc = http_fail(err, "token endpoint", r, j);
    if (r->status >= 300 && r->status < 400)
      pkjwt__hint(err,
                  "the server redirects%s%s; redirects are not followed: set "
                  "the final URL as the base URL or token endpoint",
                  r->location[0] ? " to " : "", r->location);
    else if (r->status == 404 || r->status == 405)
      pkjwt__hint(err,
                  "check the base URL or token endpoint (%s) for your "
                  "region or installation",
                  endpoint);
    else if (r->status == 429)
      pkjwt__hint(err, "%s",
                  "the server asks for fewer requests: try again later");
    else if (r->status >= 500)
      pkjwt__hint(err, "%s", "the server has a problem: try again later");
  }
  if (j && json_is_object(j))
    wipe_strings(j);
  json_decref(j);
  return rc;
}

int pkjwt__oauth_check_response(char **out_json, const pkjwt__profile *prof,
                                const char *endpoint,
                                const pkjwt__http_response *r,
                                pkjwt_error *err) {
  json_error_t je;
  json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
  int rc = PKJWT_OK;
  if (r->status == 200) {
    if (!j) {
      rc = pkjwt__fail(err, PKJWT_ERR_RESPONSE,
                       "check endpoint: the answer is not JSON (line %d, "
                       "column %d)",
                       je.line, je.column);
    } else if (!(*out_json = pkjwt__strdup(r->body))) {
      rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
    }
    if (err)
      err->http_status = 200;
    json_decref(j);
    return rc;
  }
  rc = http_fail(err, "check endpoint", r, j);
  if (r->status == 401)
    pkjwt__hint(err, "%s", HINT_CHECK_401);
  else if (r->status == 403)
    pkjwt__hint(err, "%s",
                prof->hint_check_403 ? prof->hint_check_403 : HINT_CHECK_403);
  else if (r->status == 404)
    pkjwt__hint(err, "check the base URL or check endpoint (%s)", endpoint);
  json_decref(j);
  return rc;
}
