/*
 * tools/provider.h: the default provider's URLs as pkjwt-token shows and
 * resolves them. The library no longer carries vendor URLs in its public
 * headers; its own copy is the default row of the profile table in
 * lib/profile.c, and the two must agree. When a provider-profile API lands
 * (or the client's endpoint getters), the tool reads the library instead
 * and this file goes.
 */
#ifndef PKJWT_TOOLS_PROVIDER_H
#define PKJWT_TOOLS_PROVIDER_H

#define PKJWT_DEFAULT_BASE_URL "https://app.puzzel.com"
#define PKJWT_TOKEN_PATH "/id/connect/token"
#define PKJWT_CHECK_PATH "/contactcentre5/accesstokeninformation"
#define PKJWT_ISSUER_PATH "/id"

#endif
