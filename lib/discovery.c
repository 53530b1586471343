/*
 * lib/discovery.c: an authorization server's metadata document (OpenID
 * Connect Discovery 1.0 section 4, RFC 8414 section 3), judged before the
 * client trusts a word of it. The issuer must be the configured one, byte
 * for byte (Discovery 4.3, RFC 8414 3.3), so a document cannot send the
 * client's assertions to another server; everything kept is bounded and
 * made printable.
 */
#include "discovery.h"

#include "bounds.h"
#include "http.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define WELL_KNOWN_OIDC "/.well-known/openid-configuration"
#define WELL_KNOWN_OAUTH "/.well-known/oauth-authorization-server"
#define UTF8_BOM "\xEF\xBB\xBF"

char *pkjwt__discovery_url(const char *issuer, int which) {
  if (!issuer)
    return NULL;
  const char *host = strstr(issuer, "://");
  if (!host || host[3] == '\0' || host[3] == '/')
    return NULL;
  size_t n = strlen(issuer);
  /* Discovery 4: the issuer less a trailing '/', then the well-known
   * path. */
  if (which == 0)
    return pkjwt__url_join(issuer, n, WELL_KNOWN_OIDC, NULL);
  /* RFC 8414 3.1: the well-known path goes between the host and the
   * issuer's path (a path of "/" alone is none). */
  const char *path = strchr(host + 3, '/');
  return pkjwt__url_join(issuer, path ? (size_t)(path - issuer) : n,
                         WELL_KNOWN_OAUTH, path && path[1] ? path : NULL);
}

void pkjwt__discovery_clear(pkjwt__discovery *d) {
  if (!d)
    return;
  free(d->token_endpoint);
  for (char **p = d->algs; p && *p; p++)
    free(*p);
  free(d->algs);
  free(d->algs_text);
  memset(d, 0, sizeof(*d));
}

/* A member that must be a string of sane length; NULL otherwise. */
static const char *member_string(json_t *j, const char *name) {
  const char *s = json_string_value(json_object_get(j, name));
  if (!s || strlen(s) > PKJWT__DISCOVERY_STRING_MAX)
    return NULL;
  return s;
}

/* A URL a server wrote: visible ASCII only, so it can be printed and
 * compared as it is. */
static int visible_ascii(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
      return 0;
  return 1;
}

/* Whether the array member name lists value. */
static int lists(json_t *j, const char *name, const char *value) {
  json_t *arr = json_object_get(j, name), *v;
  size_t i;
  json_array_foreach(arr, i, v) {
    const char *s = json_string_value(v);
    if (s && strcmp(s, value) == 0)
      return 1;
  }
  return 0;
}

/* The signing algs the server lists, printable, into d. */
static int read_algs(pkjwt__discovery *d, json_t *j, const char *from,
                     pkjwt_error *err) {
  json_t *arr =
      json_object_get(j, "token_endpoint_auth_signing_alg_values_supported");
  if (!arr)
    return PKJWT_OK;
  size_t n = json_array_size(arr);
  if (!json_is_array(arr) || n > PKJWT__DISCOVERY_ALGS_MAX)
    return pkjwt__fail(err, PKJWT_ERR_RESPONSE,
                       "%s: token_endpoint_auth_signing_alg_values_supported "
                       "is not a list of at most %d names",
                       from, PKJWT__DISCOVERY_ALGS_MAX);
  d->algs = calloc(n + 1, sizeof(*d->algs));
  d->algs_text = calloc(1, n * 24 + 1);
  if (!d->algs || !d->algs_text)
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  size_t used = 0, k = 0;
  for (size_t i = 0; i < n; i++) {
    const char *s = json_string_value(json_array_get(arr, i));
    if (!s)
      continue;
    char clean[24];
    (void)pkjwt__printable(clean, sizeof(clean), s, strlen(s));
    if (!(d->algs[k] = pkjwt__strdup(clean)))
      return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
    size_t cl = strlen(clean);
    if (used)
      d->algs_text[used++] = ' ';
    memcpy(d->algs_text + used, clean, cl + 1);
    used += cl;
    k++;
  }
  return PKJWT_OK;
}

int pkjwt__discovery_parse(pkjwt__discovery *out, const char *body, size_t len,
                           const char *issuer, const char *from,
                           pkjwt_error *err) {
  memset(out, 0, sizeof(*out));
  if (!body || !issuer)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no document or issuer");
  if (len > PKJWT__DISCOVERY_MAX)
    return pkjwt__fail(err, PKJWT_ERR_RESPONSE,
                       "%s: metadata larger than %d KiB", from,
                       PKJWT__DISCOVERY_MAX / 1024);
  if (len >= 3 && memcmp(body, UTF8_BOM, 3) == 0) {
    body += 3;
    len -= 3;
  }
  json_error_t je;
  json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
  if (!json_is_object(j)) {
    json_decref(j);
    return pkjwt__fail(err, PKJWT_ERR_RESPONSE,
                       "%s: the metadata is not a JSON object", from);
  }
  int rc = PKJWT_OK;
  const char *iss = member_string(j, "issuer");
  const char *te = member_string(j, "token_endpoint");
  char shown[160];
  if (!iss || strcmp(iss, issuer) != 0) {
    (void)pkjwt__printable(shown, sizeof(shown), iss ? iss : "",
                           iss ? strlen(iss) : 0);
    rc = pkjwt__fail(err, PKJWT_ERR_RESPONSE,
                     "%s: the metadata's issuer %s%s%s is not %s exactly", from,
                     iss ? "\"" : "(none)", shown, iss ? "\"" : "", issuer);
  } else if (!te) {
    /* Never a guess, never another provider's URL. */
    rc = pkjwt__fail(err, PKJWT_ERR_RESPONSE,
                     "%s: the metadata has no token_endpoint", from);
  } else if (!lists(j, "token_endpoint_auth_methods_supported",
                    "private_key_jwt")) {
    rc = pkjwt__fail(err, PKJWT_ERR_RESPONSE,
                     "%s: the server does not offer private_key_jwt (not in "
                     "token_endpoint_auth_methods_supported)",
                     from);
  } else if (!visible_ascii(te)) {
    rc = pkjwt__fail(err, PKJWT_ERR_RESPONSE,
                     "%s: the metadata's token_endpoint holds characters a "
                     "URL cannot",
                     from);
  } else if ((rc = pkjwt__http_url_check(te, "the metadata's token endpoint",
                                         NULL, err)) == PKJWT_OK) {
    if (!(out->token_endpoint = pkjwt__strdup(te)))
      rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
    else
      rc = read_algs(out, j, from, err);
  }
  json_decref(j);
  if (rc != PKJWT_OK)
    pkjwt__discovery_clear(out);
  return rc;
}
