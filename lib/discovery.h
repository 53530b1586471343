/*
 * lib/discovery.h: an authorization server's metadata (OpenID Connect
 * Discovery 1.0, RFC 8414): where to fetch it and how its document is
 * judged. Used by the token client when it is given an issuer and no token
 * endpoint.
 */
#ifndef PKJWT_DISCOVERY_H
#define PKJWT_DISCOVERY_H

#include "internal.h"

#include <stddef.h>

/* The facts the client takes from a metadata document. */
typedef struct pkjwt__discovery {
  char *token_endpoint; /* checked by the URL policy */
  /* token_endpoint_auth_signing_alg_values_supported: NULL-terminated,
   * as the server wrote them (printable); NULL when it has none */
  char **algs;
  char *algs_text; /* the same, separated by spaces, for messages */
} pkjwt__discovery;

/*
 * The URL of the metadata for issuer: which 0 is OpenID Connect Discovery's
 * ISSUER/.well-known/openid-configuration, 1 RFC 8414's
 * https://HOST/.well-known/oauth-authorization-server/PATH. malloc'd, NULL
 * when out of memory or issuer is not a URL with a host.
 */
char *pkjwt__discovery_url(const char *issuer, int which);

/*
 * Judge a metadata document (body of len bytes, at most
 * PKJWT__DISCOVERY_MAX) for issuer: a JSON object whose issuer equals it
 * exactly, with a token_endpoint the URL policy accepts, that lists
 * private_key_jwt in token_endpoint_auth_methods_supported (absent means
 * client_secret_basic, RFC 8414 2). from names the document's URL in
 * messages. Errors: PKJWT_ERR_RESPONSE (the server's text in the message
 * is made printable), PKJWT_ERR_INSECURE, PKJWT_ERR_NOMEM. Clear out with
 * pkjwt__discovery_clear() either way.
 */
int pkjwt__discovery_parse(pkjwt__discovery *out, const char *body, size_t len,
                           const char *issuer, const char *from,
                           pkjwt_error *err);

void pkjwt__discovery_clear(pkjwt__discovery *d);

#endif
