/*
 * lib/profile.c: the provider profile table. A new provider is one new
 * row; the first row is the default, so the client's behaviour with NULL
 * URLs is what it was before profiles existed.
 */
#include "profile.h"

#include "internal.h"

#include <stddef.h>
#include <string.h>

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
  }
  return NULL;
}
