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
  const char *base_url;    /* default base URL, no trailing '/' */
  const char *token_path;  /* under the base URL */
  const char *check_path;  /* under the base URL */
  const char *issuer_path; /* under the base URL */
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
