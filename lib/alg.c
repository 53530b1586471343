/*
 * lib/alg.c: the JWS algorithm and curve table (RFC 7518 3.1, 6.2.1) and
 * what is derived from it. A new curve or algorithm is one new row here:
 * key rules, generation, JWK export/import, certificates, signing and
 * verifying all find it through the lookups below, and tests/check_alg.c
 * walks every row through an outside judge.
 */
#define _GNU_SOURCE 1
#include "alg.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#define RSA_ROW(id, nm, md, pad, def)                                          \
  { id, nm, PKJWT_KEY_RSA, NULL, NULL, NULL, 0, md, pad, def }
#define EC_ROW(id, nm, crv, grp, alias, coord, md)                             \
  { id, nm, PKJWT_KEY_EC, crv, grp, alias, coord, md, 0, 1 }

static const pkjwt__alg_info rows[] = {
    RSA_ROW(PKJWT_ALG_RS256, "RS256", "SHA2-256", RSA_PKCS1_PADDING, 1),
    RSA_ROW(PKJWT_ALG_RS384, "RS384", "SHA2-384", RSA_PKCS1_PADDING, 0),
    RSA_ROW(PKJWT_ALG_RS512, "RS512", "SHA2-512", RSA_PKCS1_PADDING, 0),
    RSA_ROW(PKJWT_ALG_PS256, "PS256", "SHA2-256", RSA_PKCS1_PSS_PADDING, 0),
    RSA_ROW(PKJWT_ALG_PS384, "PS384", "SHA2-384", RSA_PKCS1_PSS_PADDING, 0),
    RSA_ROW(PKJWT_ALG_PS512, "PS512", "SHA2-512", RSA_PKCS1_PSS_PADDING, 0),
    EC_ROW(PKJWT_ALG_ES256, "ES256", "P-256", "prime256v1", "secp256r1", 32,
           "SHA2-256"),
    EC_ROW(PKJWT_ALG_ES384, "ES384", "P-384", "secp384r1", NULL, 48,
           "SHA2-384"),
    EC_ROW(PKJWT_ALG_ES512, "ES512", "P-521", "secp521r1", NULL, 66,
           "SHA2-512"),
};
#define ROW_COUNT (sizeof(rows) / sizeof(rows[0]))

const pkjwt__alg_info *pkjwt__alg_rows(size_t *n) {
  if (n)
    *n = ROW_COUNT;
  return rows;
}

const pkjwt__alg_info *pkjwt__alg_lookup(pkjwt_alg alg) {
  for (size_t i = 0; i < ROW_COUNT; i++)
    if (rows[i].alg == alg)
      return &rows[i];
  return NULL;
}

const pkjwt__alg_info *pkjwt__alg_lookup_name(const char *name) {
  if (!name)
    return NULL;
  for (size_t i = 0; i < ROW_COUNT; i++)
    if (strcmp(rows[i].name, name) == 0)
      return &rows[i];
  return NULL;
}

const pkjwt__alg_info *pkjwt__alg_default(pkjwt_key_type type,
                                          const char *crv) {
  for (size_t i = 0; i < ROW_COUNT; i++) {
    const pkjwt__alg_info *r = &rows[i];
    if (!r->is_default || r->key_type != type)
      continue;
    if (type != PKJWT_KEY_EC || (crv && strcmp(r->crv, crv) == 0))
      return r;
  }
  return NULL;
}

const pkjwt__alg_info *pkjwt__alg_curve_by_name(const char *name) {
  if (!name)
    return NULL;
  for (size_t i = 0; i < ROW_COUNT; i++) {
    const pkjwt__alg_info *r = &rows[i];
    if (r->key_type == PKJWT_KEY_EC && r->is_default &&
        (strcasecmp(name, r->crv) == 0 || strcasecmp(name, r->group) == 0 ||
         (r->alias && strcasecmp(name, r->alias) == 0)))
      return r;
  }
  return NULL;
}

/* OpenSSL's NID for any of its names of a curve (NIST, short, long). */
static int nid_of_curve_name(const char *name) {
  int nid = EC_curve_nist2nid(name);
  if (nid == NID_undef)
    nid = OBJ_sn2nid(name);
  if (nid == NID_undef)
    nid = OBJ_ln2nid(name);
  return nid;
}

const pkjwt__alg_info *pkjwt__alg_curve_by_group(const char *group) {
  if (!group)
    return NULL;
  /* The usual case first: the group name OpenSSL itself gives. */
  for (size_t i = 0; i < ROW_COUNT; i++)
    if (rows[i].group && rows[i].is_default &&
        strcmp(rows[i].group, group) == 0)
      return &rows[i];
  int nid = nid_of_curve_name(group);
  if (nid == NID_undef)
    return NULL;
  for (size_t i = 0; i < ROW_COUNT; i++)
    if (rows[i].group && rows[i].is_default &&
        nid_of_curve_name(rows[i].group) == nid)
      return &rows[i];
  return NULL;
}

/* ---- the public names (include/pkjwt/sign.h) ---------------------------- */

const char *pkjwt_alg_name(pkjwt_alg alg) {
  const pkjwt__alg_info *info = pkjwt__alg_lookup(alg);
  return info ? info->name : NULL;
}

int pkjwt_alg_from_name(pkjwt_alg *out, const char *name, pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out || !name)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no algorithm name given");
  const pkjwt__alg_info *info = pkjwt__alg_lookup_name(name);
  if (!info) {
    if (strcasecmp(name, "none") == 0)
      return pkjwt__fail(err, PKJWT_ERR_ALG,
                         "alg none is refused: assertions must be signed");
    if (strncasecmp(name, "HS", 2) == 0)
      return pkjwt__fail(err, PKJWT_ERR_ALG,
                         "alg %.32s is refused: HMAC needs a shared secret, "
                         "private_key_jwt uses RS, PS or ES",
                         name);
    return pkjwt__fail(err, PKJWT_ERR_ALG, "unknown alg %.32s; use %s", name,
                       pkjwt__alg_name_list());
  }
  *out = info->alg;
  return PKJWT_OK;
}

/* ---- lists for messages -------------------------------------------------- */

#define LIST_MAX 256

static char curves_or[LIST_MAX], curves_slash[LIST_MAX], names_or[LIST_MAX];
static pthread_once_t lists_once = PTHREAD_ONCE_INIT;

/* Append s to list, joined by sep, or by last when it is the last item. */
static void append(char *list, const char *s, int is_first, int is_last,
                   const char *sep, const char *last) {
  size_t n = strlen(list);
  snprintf(list + n, LIST_MAX - n, "%s%s",
           is_first  ? ""
           : is_last ? last
                     : sep,
           s);
}

static void build_lists(void) {
  size_t curves = 0, seen = 0;
  for (size_t i = 0; i < ROW_COUNT; i++)
    curves += rows[i].key_type == PKJWT_KEY_EC && rows[i].is_default;
  for (size_t i = 0; i < ROW_COUNT; i++) {
    append(names_or, rows[i].name, i == 0, i + 1 == ROW_COUNT, ", ", " or ");
    if (rows[i].key_type != PKJWT_KEY_EC || !rows[i].is_default)
      continue;
    seen++;
    append(curves_or, rows[i].crv, seen == 1, seen == curves, ", ", " or ");
    append(curves_slash, rows[i].crv, seen == 1, 0, "/", "/");
  }
}

const char *pkjwt__alg_curve_list(int or_list) {
  pthread_once(&lists_once, build_lists);
  return or_list ? curves_or : curves_slash;
}

const char *pkjwt__alg_name_list(void) {
  pthread_once(&lists_once, build_lists);
  return names_or;
}

/* ---- digests and padding ------------------------------------------------- */

/* Fetched once: implicit fetches by EVP_sha256() and friends cost a lookup
 * in the provider store on every call in OpenSSL 3.0. Kept for the life of
 * the process. */
static EVP_MD *md_cache[ROW_COUNT];
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void fetch_mds(void) {
  for (size_t i = 0; i < ROW_COUNT; i++) {
    /* rows share digests: one fetch per name */
    for (size_t j = 0; j < i && !md_cache[i]; j++)
      if (strcmp(rows[j].md_name, rows[i].md_name) == 0)
        md_cache[i] = md_cache[j];
    if (!md_cache[i])
      md_cache[i] = EVP_MD_fetch(NULL, rows[i].md_name, NULL);
  }
  ERR_clear_error();
}

const EVP_MD *pkjwt__alg_md(const pkjwt__alg_info *info) {
  pthread_once(&md_once, fetch_mds);
  if (!info || info < rows || info >= rows + ROW_COUNT)
    return NULL;
  return md_cache[info - rows];
}

int pkjwt__alg_setup_pctx(const pkjwt__alg_info *info, EVP_PKEY_CTX *pctx) {
  if (info->key_type != PKJWT_KEY_RSA)
    return 1;
  if (EVP_PKEY_CTX_set_rsa_padding(pctx, info->padding) != 1)
    return 0;
  if (info->padding != RSA_PKCS1_PSS_PADDING)
    return 1;
  const EVP_MD *md = pkjwt__alg_md(info);
  return md &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1;
}

int pkjwt__alg_check_key(const pkjwt__alg_info *info, const pkjwt_key *key,
                         pkjwt_error *err) {
  if (info->key_type == PKJWT_KEY_EC) {
    if (key->type != PKJWT_KEY_EC)
      return pkjwt__fail(err, PKJWT_ERR_ALG,
                         "alg %s needs an EC %s key, not an RSA key",
                         info->name, info->crv);
    if (!key->curve || strcmp(key->curve, info->crv) != 0)
      return pkjwt__fail(err, PKJWT_ERR_ALG,
                         "alg %s needs a %s key, not %s; use %s", info->name,
                         info->crv, key->curve ? key->curve : "another curve",
                         key->default_alg ? key->default_alg : "its own alg");
    return PKJWT_OK;
  }
  if (key->type != PKJWT_KEY_RSA)
    return pkjwt__fail(err, PKJWT_ERR_ALG, "alg %s needs an RSA key, not EC %s",
                       info->name, key->curve ? key->curve : "");
  return PKJWT_OK;
}
