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

/* A token said to live longer than this is cached no longer (its
 * expires_in is capped, not refused: issue 9). */
#define EXPIRES_IN_MAX (366L * 86400L)
/* The cache time of a token whose answer has no expires_in (RFC 6749 5.1
 * only RECOMMENDS it) and which is not a JWT with exp. */
#define EXPIRES_IN_DEFAULT 300
/* The UTF-8 byte order mark some servers put before their JSON. */
#define UTF8_BOM "\xEF\xBB\xBF"
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

/* Copy server text for a one-line message, safe for a terminal; NULL
 * (a member the server left out) gives "". */
static void copy_clean(char *dst, size_t n, const char *src) {
  if (!src) {
    if (n)
      dst[0] = '\0';
    return;
  }
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

/* Whether the server's description speaks of the assertion's signature or
 * key (Keycloak answers unauthorized_client with "signature does not
 * verify"), whatever the error code says. */
static int about_the_key(const char *d) {
  static const char *const words[] = {"signature", "assertion", "jwk",
                                      "public key", "certificate"};
  char low[DETAIL_MAX];
  size_t i = 0;
  for (; d && d[i] && i + 1 < sizeof(low); i++)
    low[i] = (char)((d[i] >= 'A' && d[i] <= 'Z') ? d[i] - 'A' + 'a' : d[i]);
  low[i] = '\0';
  for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++)
    if (strstr(low, words[w]))
      return 1;
  return 0;
}

static const char *oauth_hint(const pkjwt__profile *prof, const char *error,
                              const char *description) {
  if (strcmp(error, "invalid_client") == 0 || about_the_key(description))
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

/* The ids some servers add to an error (Entra: error_codes, trace_id,
 * correlation_id), as " (error_codes 700027, trace_id ...)" in buf; "" for
 * none. */
static void error_ids(char *buf, size_t n, json_t *j) {
  char codes[64] = "";
  size_t used = 0;
  json_t *arr = json_object_get(j, "error_codes"), *v;
  size_t i;
  json_array_foreach(arr, i, v) {
    if (!json_is_integer(v) || used >= sizeof(codes) - 24)
      break;
    used += (size_t)snprintf(codes + used, sizeof(codes) - used, "%s%lld",
                             used ? " " : "", (long long)json_integer_value(v));
  }
  const char *trace = json_string_value(json_object_get(j, "trace_id"));
  const char *corr = json_string_value(json_object_get(j, "correlation_id"));
  char t[64] = "", c[64] = ""; /* ids are GUIDs (36 characters) */
  copy_clean(t, sizeof(t), trace);
  copy_clean(c, sizeof(c), corr);
  int any = codes[0] || t[0] || c[0];
  snprintf(buf, n, "%s%s%s%s%s%s%s%s%s%s", any ? " (" : "",
           codes[0] ? "error_codes " : "", codes,
           codes[0] && (t[0] || c[0]) ? ", " : "", t[0] ? "trace_id " : "", t,
           t[0] && c[0] ? ", " : "", c[0] ? "correlation_id " : "", c,
           any ? ")" : "");
}

/* Fill err from an RFC 6749 5.2 error object; returns PKJWT_ERR_OAUTH. The
 * message is the server's error_description (else its error code) and the
 * ids it added. */
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
    char desc[DETAIL_MAX], ids[256];
    copy_clean(desc, sizeof(desc), d && *d ? d : e);
    error_ids(ids, sizeof(ids), j);
    snprintf(err->message, sizeof(err->message), "%s%s", desc, ids);
    const char *hint = oauth_hint(prof, e, d);
    if (hint)
      pkjwt__hint(err, "%s", hint);
  }
  return PKJWT_ERR_OAUTH;
}

/* expires_in: an integer, an integral real, or a string of digits; more
 * than EXPIRES_IN_MAX is capped to it. */
static int read_expires_in(json_t *v, int64_t *out) {
  long long n = -1;
  if (json_is_integer(v)) {
    n = json_integer_value(v);
  } else if (json_is_real(v)) {
    double d = json_real_value(v);
    if (d >= 1 && d == (double)(long long)d)
      n = d > (double)EXPIRES_IN_MAX ? EXPIRES_IN_MAX : (long long)d;
  } else if (json_is_string(v)) {
    const char *s = json_string_value(v);
    size_t len = strlen(s);
    if (len == 0 || strspn(s, "0123456789") != len)
      return -1;
    n = len > 10 ? EXPIRES_IN_MAX : strtoll(s, NULL, 10);
  }
  if (n < 1)
    return -1;
  *out = n > EXPIRES_IN_MAX ? EXPIRES_IN_MAX : n;
  return 0;
}

/* The exp claim of an access token that is a JWT, as seconds from now
 * (capped); 0 when it is not a JWT with a future exp. The token is not
 * verified: its exp only sets how long it is cached. */
static int64_t jwt_expires_in(const char *at, int64_t now) {
  const char *d1 = strchr(at, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
  if (!d2 || strchr(d2 + 1, '.'))
    return 0;
  unsigned char *raw = NULL;
  size_t len = 0;
  if (pkjwt__b64url_decode(&raw, &len, d1 + 1, (size_t)(d2 - d1 - 1)) != 0)
    return 0;
  json_t *claims = json_loadb((const char *)raw, len, 0, NULL);
  OPENSSL_cleanse(raw, len);
  free(raw);
  json_t *exp = json_object_get(claims, "exp");
  int64_t left = json_is_integer(exp) ? json_integer_value(exp) - now : 0;
  json_decref(claims);
  if (left < 1)
    return 0;
  return left > EXPIRES_IN_MAX ? EXPIRES_IN_MAX : left;
}

static int parse_success(pkjwt_token **out, json_t *j, const char *body,
                         int64_t now, const char **expiry_from,
                         pkjwt_error *err) {
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
  *expiry_from = "expires_in";
  if (!ei) {
    expires_in = jwt_expires_in(at, now);
    *expiry_from = expires_in ? "no expires_in: the token's exp"
                              : "no expires_in: the default";
    if (!expires_in)
      expires_in = EXPIRES_IN_DEFAULT;
  } else if (read_expires_in(ei, &expires_in) != 0) {
    return pkjwt__fail(err, PKJWT_ERR_RESPONSE,
                       "token endpoint: expires_in is not a positive number "
                       "of seconds");
  }
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
                     const pkjwt__http_response *r, const char *body, json_t *j,
                     const json_error_t *je, int64_t now,
                     const char **expiry_from, pkjwt_error *err) {
  int rc;
  if (!j || !json_is_object(j)) {
    /* je->text may quote the body, which may hold a token: not shown. */
    if (r->body_len >= 2 && (unsigned char)r->body[0] == 0x1f &&
        (unsigned char)r->body[1] == 0x8b)
      rc = pkjwt__fail(err, PKJWT_ERR_RESPONSE,
                       "token endpoint: the answer is gzip-compressed and "
                       "was not decoded (the server sent no or a wrong "
                       "Content-Encoding)");
    else if (!j && pkjwt__json_nomem(je))
      rc = pkjwt__fail(err, PKJWT_ERR_NOMEM,
                       "token endpoint: out of memory reading the answer");
    else if (!j && strstr(je->text, "duplicate"))
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
    rc = parse_success(out, j, body, now, expiry_from, err);
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

/* The body as JSON, after a UTF-8 byte order mark if there is one (RFC
 * 8259 8.1 lets a parser skip it); *body is where the JSON starts. */
static json_t *load_body(const pkjwt__http_response *r, const char **body,
                         json_error_t *je) {
  size_t skip = r->body_len >= 3 && memcmp(r->body, UTF8_BOM, 3) == 0 ? 3 : 0;
  *body = r->body + skip;
  return json_loadb(*body, r->body_len - skip, JSON_REJECT_DUPLICATES, je);
}

int pkjwt__oauth_token_response(pkjwt_token **out, const pkjwt__profile *prof,
                                const char *endpoint,
                                const pkjwt__http_response *r, int64_t now,
                                int *retryable, const char **expiry_from,
                                pkjwt_error *err) {
  *retryable = status_retryable(r->status);
  *expiry_from = NULL;
  json_error_t je;
  const char *body;
  json_t *j = load_body(r, &body, &je);
  int rc;
  if (r->status == 200) {
    rc = judge_200(out, prof, r, body, j, &je, now, expiry_from, err);
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
  const char *body;
  json_t *j = load_body(r, &body, &je);
  int rc = PKJWT_OK;
  if (r->status == 200) {
    if (!j && pkjwt__json_nomem(&je)) {
      rc = pkjwt__fail(err, PKJWT_ERR_NOMEM,
                       "check endpoint: out of memory reading the answer");
    } else if (!j) {
      rc = pkjwt__fail(err, PKJWT_ERR_RESPONSE,
                       "check endpoint: the answer is not JSON (line %d, "
                       "column %d)",
                       je.line, je.column);
    } else if (!(*out_json = pkjwt__strdup(body))) {
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
