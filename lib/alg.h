/*
 * lib/alg.h: the one table of JWS algorithms and the curves they sign on
 * (lib/alg.c). Every fact about an algorithm or a curve — its JWS name,
 * key type, JWK crv, OpenSSL group, coordinate length, digest, RSA padding
 * and which alg a key signs with by default — is a column of one row here.
 * Keys, certificates, JWK export and import, signing, verifying and the
 * token client all read it, so a new curve or algorithm is one new row.
 * Never included by tools/.
 */
#ifndef PKJWT_ALG_H
#define PKJWT_ALG_H

#include "internal.h"

typedef struct pkjwt__alg_info {
  pkjwt_alg alg;
  const char *name;        /* JWS alg: "ES256" */
  pkjwt_key_type key_type; /* PKJWT_KEY_RSA or PKJWT_KEY_EC */
  /* EC only (NULL/0 for RSA): */
  const char *crv;     /* JWK crv (RFC 7518 6.2.1.1) and our curve name */
  const char *group;   /* OpenSSL group name: "prime256v1" */
  const char *alias;   /* one more name accepted when generating, or NULL */
  size_t coord_len;    /* bytes of one coordinate, of R and of S: 32 */
  const char *md_name; /* OpenSSL digest: "SHA2-256" */
  int padding;         /* RSA_PKCS1_PADDING, RSA_PKCS1_PSS_PADDING; EC: 0 */
  int is_default;      /* the alg a key of this type and curve signs with */
} pkjwt__alg_info;

/* The rows in table order; *n gets their number. Tests walk them all. */
const pkjwt__alg_info *pkjwt__alg_rows(size_t *n);

/* The row for alg, or NULL for PKJWT_ALG_DEFAULT and unknown values. */
const pkjwt__alg_info *pkjwt__alg_lookup(pkjwt_alg alg);
/* The row for a JWS name ("ES256", case-sensitive as RFC 7515 4.1.1 says),
 * or NULL (none, HS*, unknown). */
const pkjwt__alg_info *pkjwt__alg_lookup_name(const char *name);

/* The default row of a key type: for EC the row of curve crv (exact JWK
 * crv name, "P-256"), for RSA crv is ignored. NULL when not supported. */
const pkjwt__alg_info *pkjwt__alg_default(pkjwt_key_type type, const char *crv);
/* The default row of the curve a user named: crv, OpenSSL group or alias,
 * any case ("p-256", "prime256v1", "secp256r1"). NULL when not supported. */
const pkjwt__alg_info *pkjwt__alg_curve_by_name(const char *name);
/* The default row of the curve OpenSSL calls group (what
 * EVP_PKEY_get_group_name gives, compared as curve NIDs, so every OpenSSL
 * name of the curve matches). NULL when not supported. */
const pkjwt__alg_info *pkjwt__alg_curve_by_group(const char *group);

/* The supported curves for messages: "P-256, P-384 or P-521" (or_list) or
 * "P-256/P-384/P-521". Static, built from the table once. */
const char *pkjwt__alg_curve_list(int or_list);
/* The supported algs for messages: "RS256, RS384, ..., ES384 or ES512". */
const char *pkjwt__alg_name_list(void);

/* The digest of a row, fetched once per process (EVP_MD_fetch costs time
 * in OpenSSL 3.0 when done implicitly on every call). Not to be freed.
 * NULL only if OpenSSL cannot provide it. */
const EVP_MD *pkjwt__alg_md(const pkjwt__alg_info *info);

/* Set up a sign or verify context for the row's padding (RSA-PSS: salt =
 * digest length, MGF1 with the same digest; RS and ES need nothing).
 * 1 on success, 0 when OpenSSL refuses. */
int pkjwt__alg_setup_pctx(const pkjwt__alg_info *info, EVP_PKEY_CTX *pctx);

/* 0 when alg can be used with key (ES on its own curve, RS/PS on RSA);
 * otherwise PKJWT_ERR_ALG with a message. */
int pkjwt__alg_check_key(const pkjwt__alg_info *info, const pkjwt_key *key,
                         pkjwt_error *err);

#endif
