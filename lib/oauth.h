/*
 * lib/oauth.h: judging what an OAuth server answers (RFC 6749 5.1 and
 * 5.2), and the token the answer becomes. No I/O: the token client
 * (lib/client.c) fetches with lib/http.c and hands the response here.
 */
#ifndef PKJWT_OAUTH_H
#define PKJWT_OAUTH_H

#include "http.h"
#include "internal.h"
#include "profile.h"

/* ---- tokens ---- */

/*
 * A token made here is one allocation: the struct, then access_token,
 * token_type, scope and response_json, so a copy is one malloc, a memcpy
 * and four pointer fix-ups. pkjwt_token_free() frees either kind.
 */
pkjwt_token *pkjwt__token_make(const char *access_token, const char *type,
                               const char *scope, const char *json,
                               int64_t expires_in, int64_t expires_at);

/* The size of a token made by pkjwt__token_make. */
size_t pkjwt__token_size(const pkjwt_token *t);

/* Copy a token made by pkjwt__token_make whose size is known. */
int pkjwt__token_dup(pkjwt_token **out, const pkjwt_token *t, size_t size,
                     pkjwt_error *err);

/* A Bearer token fits in an HTTP header as it is: visible ASCII only. */
int pkjwt__token_chars_ok(const char *t);

/* ---- answers ---- */

/*
 * Judge a token endpoint's answer r, received at now. *out is the token on
 * PKJWT_OK. *retryable says whether another attempt may get a different
 * answer. Errors fill err with the server's words (cleaned to one line),
 * http_status, oauth_error and a hint in the profile's words; endpoint is
 * named in hints. *expiry_from says (static text) where the token's
 * lifetime came from: "expires_in", or, when the answer has none, the
 * access token's exp (a JWT) or the default of 300 s; an expires_in over
 * 366 days is capped. A UTF-8 BOM before the JSON is skipped.
 * PKJWT_ERR_OAUTH, PKJWT_ERR_HTTP, PKJWT_ERR_RESPONSE.
 */
int pkjwt__oauth_token_response(pkjwt_token **out, const pkjwt__profile *prof,
                                const char *endpoint,
                                const pkjwt__http_response *r, int64_t now,
                                int *retryable, const char **expiry_from,
                                pkjwt_error *err);

/*
 * Judge a check endpoint's answer: 200 with JSON gives *out_json (free with
 * pkjwt_str_free); anything else PKJWT_ERR_HTTP with a hint, or
 * PKJWT_ERR_RESPONSE when a 200 is not JSON.
 */
int pkjwt__oauth_check_response(char **out_json, const pkjwt__profile *prof,
                                const char *endpoint,
                                const pkjwt__http_response *r,
                                pkjwt_error *err);

#endif
