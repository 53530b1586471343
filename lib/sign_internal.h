/*
 * lib/sign_internal.h: what lib/sign.c shares with the tests: the jti
 * generator. The algorithm table lives in lib/alg.h, included here.
 * Never included by tools/.
 */
#ifndef PKJWT_SIGN_INTERNAL_H
#define PKJWT_SIGN_INTERNAL_H

#include "alg.h" /* the algorithm table; kept here so either include works */

/* Bytes of randomness in a jti and the length of its base64url form. */
#define PKJWT__JTI_BYTES 16
#define PKJWT__JTI_LEN PKJWT__B64URL_LEN(PKJWT__JTI_BYTES) /* 22 */

/* A fresh jti: PKJWT__JTI_BYTES from OpenSSL's CSPRNG, base64url, NUL
 * terminated. PKJWT_OK or PKJWT_ERR_CRYPTO. */
int pkjwt__jti(char out[PKJWT__JTI_LEN + 1], pkjwt_error *err);

/* lib/verify.c calls this instead of libjwt's jwt_decode when it is set
 * (tests/check_nomem: its link-time wrap of jwt_decode cannot reach a
 * function lib/dl.c found with dlsym). Set it before any verification. */
struct jwt;
extern int (*pkjwt__jwt_decode_hook)(struct jwt **jwt, const char *token,
                                     const unsigned char *key, int key_len);

#endif
