/*
 * lib/profile.c: the provider profile table. A new provider is one new
 * row; the first row is the default, so the client's behaviour with NULL
 * URLs is what it was before profiles existed.
 */
#include "profile.h"

#include "internal.h"

#include <stddef.h>
#include <string.h>

/* Hints for the customer-hosted profiles say where the console keeps the
 * client's keys; the others fall back to lib/oauth.c's neutral words. */
static const pkjwt__profile profiles[] = {
    {
        .name = "puzzel",
        .base_url = "https://app.puzzel.com",
        .token_path = "/id/connect/token",
        .check_path = "/contactcentre5/accesstokeninformation",
        .issuer_path = "/id",
        .scope_form = "contact-centre:TENANT_ID:USER_ID",
        .hint_invalid_client =
            "check that the certificate or JWK uploaded to this client in "
            "Organisation Settings is current and not expired, that the "
            "client id is right, and that this machine's clock is correct",
        .hint_invalid_scope =
            "the scope must be contact-centre:TENANT_ID:USER_ID for a user "
            "associated with this client",
        .hint_check_403 = "the client needs product access (Contact Centre "
                          "user) and the user needs permissions",
    },
    {
        /* Any OpenID provider: everything from its discovery document. */
        .name = "generic",
        .base_url_form = "(none: give the issuer, or the token endpoint)",
    },
    {
        /* Microsoft Entra ID (Azure AD), the v2 endpoints of one tenant. */
        .name = "entra",
        .base_url_form = "https://login.microsoftonline.com/TENANT_ID",
        .token_path = "/oauth2/v2.0/token",
        .issuer_path = "/v2.0",
        .scope_form = "API/.default, e.g. api://APP_ID/.default",
        .x5t_sha1 = 1,
        .hint_invalid_client =
            "check that the certificate uploaded under App registrations > "
            "Certificates & secrets is this key's and not expired, that the "
            "client id is the application (client) id, and that this "
            "machine's clock is correct",
        .hint_invalid_scope = "the scope must be the resource's App ID URI "
                              "followed by /.default",
    },
    {
        /* Keycloak: one realm. */
        .name = "keycloak",
        .base_url_form = "https://HOST/realms/REALM",
        .token_path = "/protocol/openid-connect/token",
        .issuer_path = "",
        .scope_form = "a client scope of the realm, e.g. profile",
        .hint_invalid_client =
            "check the client's Credentials tab (Client Authenticator: "
            "Signed JWT) and Keys tab (this key's certificate or a JWKS URL "
            "that holds it), the client id, and this machine's clock",
    },
    {
        /* Auth0: one tenant; the API is named by the audience field. */
        .name = "auth0",
        .base_url_form = "https://TENANT.auth0.com",
        .token_path = "/oauth/token",
        .issuer_path = "/",
        .scope_form = "permissions of the API, e.g. read:items",
        .algs = "RS256 PS256",
        .required_param = "audience",
        .hint_invalid_client =
            "check the application's Credentials tab (Private Key JWT) holds "
            "this key's public key, that the client id is right, and this "
            "machine's clock",
    },
    {
        /* Okta: one custom authorization server ("default" or its id). */
        .name = "okta",
        .base_url_form = "https://ORG.okta.com/oauth2/default",
        .token_path = "/v1/token",
        .issuer_path = "",
        .scope_form = "a custom scope of the authorization server",
        .hint_invalid_client =
            "check the app's Client Credentials (Public key / Private key) "
            "hold this key's JWK with its kid, that the client id is right, "
            "and this machine's clock",
    },
};

const pkjwt__profile *pkjwt__profile_find(const char *name) {
  if (!name)
    return NULL;
  for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
    if (strcmp(profiles[i].name, name) == 0)
      return &profiles[i];
  return NULL;
}

const pkjwt__profile *pkjwt__profile_default(void) {
  return &profiles[0];
}

const char *pkjwt_client_profile_name(size_t index) {
  return index < sizeof(profiles) / sizeof(profiles[0]) ? profiles[index].name
                                                        : NULL;
}

const char *pkjwt_client_profile_get(const char *name,
                                     pkjwt_profile_field field) {
  const pkjwt__profile *p =
      name ? pkjwt__profile_find(name) : pkjwt__profile_default();
  if (!p)
    return NULL;
  switch (field) {
  case PKJWT_PROFILE_BASE_URL:
    return p->base_url;
  case PKJWT_PROFILE_TOKEN_PATH:
    return p->token_path;
  case PKJWT_PROFILE_CHECK_PATH:
    return p->check_path;
  case PKJWT_PROFILE_ISSUER_PATH:
    return p->issuer_path;
  case PKJWT_PROFILE_SCOPE_FORM:
    return p->scope_form;
  case PKJWT_PROFILE_BASE_URL_FORM:
    return p->base_url ? p->base_url : p->base_url_form;
  case PKJWT_PROFILE_ALGS:
    return p->algs;
  case PKJWT_PROFILE_REQUIRED_PARAM:
    return p->required_param;
  }
  return NULL;
}
