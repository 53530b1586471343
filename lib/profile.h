/*
 * lib/profile.h: provider profiles. What one vendor's token service needs
 * that the OAuth RFCs do not say: its default base URL, the paths of the
 * token endpoint, the check endpoint and the issuer under it, an example
 * scope, and the hint texts that name its console's menus. The client
 * takes its defaults from a profile (today always the default one), so no
 * vendor's words live in code paths or in the public headers.
 */
#ifndef PKJWT_PROFILE_H
#define PKJWT_PROFILE_H

typedef struct pkjwt__profile {
  const char *name;        /* "puzzel" */
  /* default base URL, no trailing '/'; NULL when each customer has their
   * own (a tenant, a realm): then base_url_form shows its shape */
  const char *base_url;
  const char *base_url_form;
  /* Under the base URL; NULL = none. A profile without a token path finds
   * the token endpoint by discovery from the issuer (lib/discovery.c). */
  const char *token_path;
  const char *check_path;
  const char *issuer_path; /* "" = the base URL is the issuer */
  /* The JWS algs the provider accepts for client assertions, separated by
   * spaces; NULL = any the key can make (the server's discovery document
   * narrows it further). */
  const char *algs;
  /* An extra form field the provider needs (Auth0's "audience"), or NULL */
  const char *required_param;
  int x5t_sha1; /* 1: a certificate adds the SHA-1 x5t header too (Entra) */
  /* Optional texts, NULL for none: */
  const char *scope_form;          /* e.g. "contact-centre:TENANT_ID:USER_ID" */
  const char *hint_invalid_client; /* replaces the generic one */
  const char *hint_invalid_scope;
  const char *hint_check_403;
} pkjwt__profile;

/* The profile called name; NULL for an unknown name. */
const pkjwt__profile *pkjwt__profile_find(const char *name);

/* The profile the client uses when the caller names none ("puzzel"). */
const pkjwt__profile *pkjwt__profile_default(void);

#endif
