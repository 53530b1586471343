/*
 * lib/sign_internal.h: what lib/sign.c shares with lib/verify.c and the
 * tests: the JWS algorithm table and the jti generator. Never included by
 * tools/.
 */
#ifndef PKJWT_SIGN_INTERNAL_H
#define PKJWT_SIGN_INTERNAL_H

#include "internal.h"

/* How a JWS algorithm signs. */
typedef enum pkjwt__alg_kind {
  PKJWT__KIND_RS = 1, /* RSASSA-PKCS1-v1_5 */
  PKJWT__KIND_PS = 2, /* RSASSA-PSS, salt = hash length, MGF1 same hash */
  PKJWT__KIND_ES = 3  /* ECDSA, raw R||S of fixed width */
} pkjwt__alg_kind;

typedef struct pkjwt__alg_info {
  pkjwt_alg alg;
  const char *name; /* "ES256" */
  pkjwt__alg_kind kind;
  const char *md_name; /* "SHA2-256" */
  const char *curve;   /* ES: "P-256"...; else NULL */
  size_t coord_len;    /* ES: 32, 48 or 66 bytes; else 0 */
} pkjwt__alg_info;

/* The table entry for alg, or NULL for PKJWT_ALG_DEFAULT and unknown. */
const pkjwt__alg_info *pkjwt__alg_lookup(pkjwt_alg alg);
/* The table entry for a name ("ES256"), or NULL (none, HS*, unknown). */
const pkjwt__alg_info *pkjwt__alg_lookup_name(const char *name);

/* The digest of an alg, fetched once per process (EVP_MD_fetch costs time
 * in OpenSSL 3.0 when done implicitly on every call). Not to be freed.
 * NULL only if OpenSSL cannot provide SHA-2. */
const EVP_MD *pkjwt__alg_md(const pkjwt__alg_info *info);

/* 0 when alg can be used with key (ES on its own curve, RS/PS on RSA);
 * otherwise PKJWT_ERR_ALG with a message. */
int pkjwt__alg_check_key(const pkjwt__alg_info *info, const pkjwt_key *key,
                         pkjwt_error *err);

/* Bytes of randomness in a jti and the length of its base64url form. */
#define PKJWT__JTI_BYTES 16
#define PKJWT__JTI_LEN PKJWT__B64URL_LEN(PKJWT__JTI_BYTES) /* 22 */

/* A fresh jti: PKJWT__JTI_BYTES from OpenSSL's CSPRNG, base64url, NUL
 * terminated. PKJWT_OK or PKJWT_ERR_CRYPTO. */
int pkjwt__jti(char out[PKJWT__JTI_LEN + 1], pkjwt_error *err);

#endif
