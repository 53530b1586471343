/*
 * tools/pkjwt-sign.c: sign a client assertion (RFC 7523), or decode and
 * verify one as a token endpoint would.
 *
 *   pkjwt-sign --key KEY --client-id ID --aud URL [options]  -> one line
 *   pkjwt-sign verify --assertion JWT|- (--key|--cert|--jwk) ... -> report
 *   pkjwt-sign decode --assertion JWT|-                        -> header,
 * claims
 *
 * One option table per subcommand drives parsing and --help; the man page
 * docs/pkjwt-sign.1 follows it (tests/sign.sh compares the option names).
 * Public API and tools/cli.h only.
 */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pkjwt.h>

#include "cli.h"

/* Largest assertion read from a file or stdin. */
#define ASSERTION_MAX (1024 * 1024)
/* Largest JWK file. */
#define JWK_MAX (256 * 1024)

enum opt_id {
  O_HELP,
  O_KEY,
  O_CLIENT_ID,
  O_AUD,
  O_ALG,
  O_LIFETIME,
  O_ALLOW_LONG,
  O_KID,
  O_NO_KID,
  O_TYP,
  O_CERT,
  O_X5T,
  O_NBF,
  O_CLAIMS,
  O_PASSFILE,
  O_ASSERTION,
  O_JWK,
  O_LEEWAY,
  O_JSON,
  O_NOW,
  O_KEYSET,
  O_PKCS11_MODULE,
  O_PIN_FILE,
  O__COUNT
};
_Static_assert(O__COUNT <= CLI_MAX_OPTS, "raise CLI_MAX_OPTS");

#define FILE_IN (CLI_OPT_FILE | CLI_OPT_STDIN)
#define OPT_HELP                                                               \
  {                                                                            \
    O_HELP, "help", 0, NULL, CLI_OPT_HELP, "show this help and exit", NULL,    \
        NULL                                                                   \
  }
/* A key in a PKCS#11 token (--key 'pkcs11:token=..;object=..'). */
#define OPT_PKCS11_MODULE                                                      \
  {                                                                            \
    O_PKCS11_MODULE, "pkcs11-module", 0, "SO", CLI_OPT_FILE,                   \
        "PKCS#11 module for a pkcs11: KEY, when the URI has no module-path "   \
        "(default $PKJWT_PKCS11_MODULE)",                                      \
        NULL, NULL                                                             \
  }
#define OPT_PIN_FILE                                                           \
  {                                                                            \
    O_PIN_FILE, "pin-file", 0, "F", CLI_OPT_FILE,                              \
        "the token's PIN for a pkcs11: KEY, first line of F (tried once)",     \
        NULL, NULL                                                             \
  }
#define OPT_END                                                                \
  { 0, NULL, 0, NULL, 0, NULL, NULL, NULL }

static const cli_opt sign_opts[] = {
    {O_KEY, "key", 0, "KEY", CLI_OPT_FILE,
     "private key file (PEM or DER, PKCS#8/SEC1/PKCS#1), or a key in a "
     "PKCS#11 token: 'pkcs11:token=T;object=LABEL'",
     NULL, NULL},
    {O_KEYSET, "keyset", 0, "DIR", CLI_OPT_FILE,
     "instead of --key: the active key of this key set (pkjwt-keygen rotate)",
     NULL, NULL},
    {O_CLIENT_ID, "client-id", 0, "ID", 0, "client id: the iss and sub claims",
     NULL, NULL},
    {O_AUD, "aud", 0, "URL", 0,
     "audience: the token endpoint URL, or the issuer (RFC 7523bis)", NULL,
     NULL},
    {O_ALG, "alg", 0, "ALG", 0, "the algorithm (default: follows the key)",
     cli_alg_values, NULL},
    {O_LIFETIME, "lifetime", 0, "SECONDS", 0,
     "exp = iat + SECONDS (default 60, at most 3600)", NULL, NULL},
    {O_ALLOW_LONG, "allow-long-lifetime", 0, NULL, 0,
     "accept a lifetime over 3600 seconds", NULL, NULL},
    {O_KID, "kid", 0, "KID", 0,
     "kid header (default: the key's RFC 7638 thumbprint)", NULL, NULL},
    {O_NO_KID, "no-kid", 0, NULL, 0, "leave kid out of the header", NULL, NULL},
    {O_TYP, "typ", 0, "TYP", 0,
     "typ header (default JWT; e.g. client-authentication+jwt)", NULL, NULL},
    {O_CERT, "cert", 0, "CRT", CLI_OPT_FILE,
     "certificate of the key (checked to match it)", NULL, NULL},
    {O_X5T, "x5t", 0, NULL, 0, "add the certificate's x5t#S256 to the header",
     NULL, NULL},
    {O_NBF, "nbf", 0, NULL, 0, "add nbf = iat", NULL, NULL},
    {O_CLAIMS, "claims", 0, "JSON", 0,
     "extra claims, a JSON object (not iss, sub, aud, exp, iat, nbf, jti)",
     NULL, NULL},
    {O_PASSFILE, "passphrase-file", 0, "F", FILE_IN,
     "read the key's passphrase from the first line of F (- = stdin)", NULL,
     NULL},
    OPT_PKCS11_MODULE,
    OPT_PIN_FILE,
    {O_NOW, "now", 0, "EPOCH", 0, "sign as of this time (testing)", NULL, NULL},
    OPT_HELP,
    OPT_END};

static const cli_opt verify_opts[] = {
    {O_ASSERTION, "assertion", 0, "JWT", CLI_OPT_STDIN,
     "the assertion, or - to read it from stdin", NULL, NULL},
    {O_KEY, "key", 0, "KEY", CLI_OPT_FILE, "public or private key file", NULL,
     NULL},
    {O_CERT, "cert", 0, "CRT", CLI_OPT_FILE,
     "certificate whose public key verifies", NULL, NULL},
    {O_JWK, "jwk", 0, "FILE", FILE_IN, "public JWK (JSON) that verifies", NULL,
     NULL},
    {O_CLIENT_ID, "client-id", 0, "ID", 0, "expected iss and sub", NULL, NULL},
    {O_AUD, "aud", 0, "URL", 0, "expected audience", NULL, NULL},
    {O_LEEWAY, "leeway", 0, "S", 0, "seconds of clock skew allowed (default 0)",
     NULL, NULL},
    {O_TYP, "typ", 0, "T", 0, "expected typ header", NULL, NULL},
    {O_JSON, "json", 0, NULL, 0, "print the report as one line of JSON", NULL,
     NULL},
    {O_PASSFILE, "passphrase-file", 0, "F", FILE_IN,
     "passphrase for an encrypted --key (- = stdin)", NULL, NULL},
    {O_NOW, "now", 0, "EPOCH", 0, "judge as of this time (testing)", NULL,
     NULL},
    OPT_HELP,
    OPT_END};

static const cli_opt decode_opts[] = {
    {O_ASSERTION, "assertion", 0, "JWT", CLI_OPT_STDIN,
     "the assertion, or - to read it from stdin", NULL, NULL},
    {O_JSON, "json", 0, NULL, 0,
     "print {\"header\":...,\"claims\":...} on one line", NULL, NULL},
    OPT_HELP,
    OPT_END};

typedef cli_args args;

static int run_sign(const args *a);
static int run_verify(const args *a);
static int run_decode(const args *a);

static const cli_cmd cmds[] = {
    {NULL,
     "(--key KEY | --keyset DIR) --client-id ID --aud URL [--alg ALG] "
     "[--lifetime SECONDS] "
     "[--allow-long-lifetime] [--kid KID | --no-kid] [--typ TYP] "
     "[--cert CRT [--x5t]] [--nbf] [--claims JSON] [--passphrase-file F] "
     "[--pkcs11-module SO] [--pin-file F] [--now EPOCH]",
     "Sign a client assertion and print it as one line", sign_opts, run_sign},
    {"verify",
     "--assertion JWT|- (--key KEY | --cert CRT | --jwk FILE) "
     "[--client-id ID] [--aud URL] [--leeway S] [--typ T] [--json] "
     "[--passphrase-file F] [--now EPOCH]",
     "Show what a server would see; exit 0 only when valid", verify_opts,
     run_verify},
    {"decode", "--assertion JWT|- [--json]",
     "Print the header and claims without judging them", decode_opts,
     run_decode},
};

static const cli_tool tool = {
    "pkjwt-sign", NULL,
    "Exit status: 0 success (verify: valid), 1 failure (verify: not valid), "
    "2 bad usage, 3 a file or the assertion is unusable. See pkjwt-sign(1).",
    cmds, sizeof(cmds) / sizeof(cmds[0])};

/* --now EPOCH into *now (0 when not given). */
static int parse_now(const args *a, int64_t *now) {
  long v = 0;
  *now = 0;
  if (!a->seen[O_NOW])
    return 0;
  if (cli_parse_long(a->val[O_NOW], 1, LONG_MAX, &v) != 0)
    return cli_error(CLI_EXIT_USAGE, "--now", "not a positive number: %s",
                     a->val[O_NOW]);
  *now = (int64_t)v;
  return 0;
}

/* ---- loading ---------------------------------------------------------------
 */

static int load_key(pkjwt_key **key, const args *a) {
  char *pass = NULL;
  if (a->seen[O_PASSFILE] && !(pass = cli_read_secret_file(a->val[O_PASSFILE])))
    return CLI_EXIT_INPUT;
  pkjwt_error err = PKJWT_ERROR_INIT;
  int rc = cli_key_load(key, a->val[O_KEY], pass, a->val[O_PKCS11_MODULE],
                        a->val[O_PIN_FILE], &err);
  cli_secret_free(pass);
  if (rc != PKJWT_OK)
    return cli_pkjwt_error(cli_exit_for(rc), a->val[O_KEY], &err);
  cli_warning(a->val[O_KEY], &err);
  return 0;
}

/* The assertion from --assertion, "-" meaning stdin (whitespace trimmed). */
static char *read_assertion(const args *a) {
  const char *v = a->val[O_ASSERTION];
  if (strcmp(v, "-") != 0) {
    char *s = strdup(v);
    if (!s)
      cli_error(CLI_EXIT_FAIL, NULL, "out of memory");
    return s;
  }
  size_t len = 0;
  char *s = cli_read_file("-", ASSERTION_MAX, &len);
  if (!s)
    return NULL;
  while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' ||
                     s[len - 1] == ' ' || s[len - 1] == '\t'))
    s[--len] = '\0';
  return s;
}

/* An assertion the library cannot decode. A value without the two dots of
 * a JWS is most likely a file name: say how to read a file. */
static int assertion_error(const args *a, int code, const pkjwt_error *err) {
  const char *v = a->val[O_ASSERTION];
  const char *dot = strchr(v, '.');
  if (code == PKJWT_ERR_PARSE && strcmp(v, "-") != 0 &&
      (!dot || !strchr(dot + 1, '.')))
    return cli_error(cli_exit_for(code), "assertion",
                     "%s (--assertion takes the JWT itself; use "
                     "--assertion - < FILE to read it from a file)",
                     err->message);
  return cli_pkjwt_error(cli_exit_for(code), "assertion", err);
}

/* ---- sign -------------------------------------------------------------- */

/* --keyset: the set's active key signs (with --x5t, its certificate's
 * thumbprint goes in the header). */
static int sign_with_keyset(const args *a, pkjwt_sign_options *o) {
  const char *dir = a->val[O_KEYSET];
  pkjwt_keyset *ks = NULL;
  pkjwt_error err = PKJWT_ERROR_INIT;
  if (pkjwt_keyset_load(&ks, dir, &err) != PKJWT_OK)
    return cli_pkjwt_error(cli_exit_for(err.code), dir, &err);
  cli_warning(dir, &err);
  pkjwt_keyset_entry e;
  for (size_t i = 0; o->x5t && pkjwt_keyset_entry_get(&e, ks, i); i++)
    if (e.state == PKJWT_KEY_ACTIVE)
      o->cert = e.cert;
  char *jws = NULL;
  int rc = pkjwt_keyset_sign(&jws, ks, o, &err);
  if (rc != PKJWT_OK)
    rc = cli_pkjwt_error(cli_exit_for(rc), dir, &err);
  else
    rc = cli_print_line(jws) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
  pkjwt_str_free(jws);
  pkjwt_keyset_free(ks);
  return rc;
}

static int run_sign(const args *a) {
  int rc;
  if (a->seen[O_KEYSET] &&
      (a->seen[O_KEY] || a->seen[O_CERT] || a->seen[O_PASSFILE]))
    return cli_error(CLI_EXIT_USAGE, "--keyset",
                     "replaces --key, --cert and --passphrase-file (the set "
                     "holds the keys and their certificates)");
  if ((!a->seen[O_KEYSET] && (rc = cli_require(a, O_KEY))) ||
      (rc = cli_require(a, O_CLIENT_ID)) || (rc = cli_require(a, O_AUD)))
    return rc;
  if (a->seen[O_KID] && a->seen[O_NO_KID])
    return cli_error(CLI_EXIT_USAGE, NULL,
                     "--kid and --no-kid exclude each "
                     "other");
  if (a->seen[O_X5T] && !a->seen[O_CERT])
    return cli_error(CLI_EXIT_USAGE, "--x5t", "needs --cert");

  pkjwt_sign_options o = PKJWT_SIGN_OPTIONS_INIT;
  pkjwt_error err = PKJWT_ERROR_INIT;
  o.client_id = a->val[O_CLIENT_ID];
  o.audience = a->val[O_AUD];
  if (a->seen[O_ALG] &&
      pkjwt_alg_from_name(&o.alg, a->val[O_ALG], &err) != PKJWT_OK)
    return cli_pkjwt_error(CLI_EXIT_USAGE, "--alg", &err);
  if (a->seen[O_LIFETIME] &&
      cli_parse_long(a->val[O_LIFETIME], LONG_MIN, LONG_MAX, &o.lifetime) != 0)
    return cli_error(CLI_EXIT_USAGE, "--lifetime", "not a number: %s",
                     a->val[O_LIFETIME]);
  o.allow_long_lifetime = a->seen[O_ALLOW_LONG];
  o.kid = a->val[O_KID];
  o.no_kid = a->seen[O_NO_KID];
  o.typ = a->val[O_TYP];
  o.x5t = a->seen[O_X5T];
  o.nbf = a->seen[O_NBF];
  o.extra_claims = a->val[O_CLAIMS];
  if ((rc = parse_now(a, &o.now)))
    return rc;

  if (a->seen[O_KEYSET])
    return sign_with_keyset(a, &o);

  pkjwt_key *key = NULL;
  pkjwt_cert *cert = NULL;
  char *jws = NULL;
  if ((rc = load_key(&key, a)))
    return rc;
  if (a->seen[O_CERT]) {
    int lrc = pkjwt_cert_load_file(&cert, a->val[O_CERT], &err);
    if (lrc != PKJWT_OK) {
      rc = cli_pkjwt_error(cli_exit_for(lrc), a->val[O_CERT], &err);
      goto done;
    }
    if (!pkjwt_cert_matches_key(cert, key)) {
      rc = cli_error(CLI_EXIT_INPUT, a->val[O_CERT],
                     "the certificate is not for this key");
      goto done;
    }
    o.cert = cert;
  }
  int src = pkjwt_assertion_sign(&jws, key, &o, &err);
  if (src != PKJWT_OK) {
    /* Key-shaped failures name the key; option failures stand alone. */
    int keyish = src == PKJWT_ERR_ALG || src == PKJWT_ERR_NO_PRIVATE_KEY ||
                 src == PKJWT_ERR_KEY_TYPE || src == PKJWT_ERR_CRYPTO;
    rc =
        cli_pkjwt_error(cli_exit_for(src), keyish ? a->val[O_KEY] : NULL, &err);
    goto done;
  }
  rc = cli_print_line(jws) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
done:
  pkjwt_str_free(jws);
  pkjwt_cert_free(cert);
  pkjwt_key_free(key);
  return rc;
}

/* ---- verify ------------------------------------------------------------ */

static int verifying_key(pkjwt_key **key, const args *a) {
  int n = a->seen[O_KEY] + a->seen[O_CERT] + a->seen[O_JWK];
  if (n != 1)
    return cli_error(CLI_EXIT_USAGE, NULL,
                     n ? "give only one of --key, --cert and --jwk"
                       : "--key, --cert or --jwk is required");
  if (a->seen[O_KEY])
    return load_key(key, a);
  pkjwt_error err = PKJWT_ERROR_INIT;
  int rc;
  if (a->seen[O_CERT]) {
    pkjwt_cert *cert = NULL;
    rc = pkjwt_cert_load_file(&cert, a->val[O_CERT], &err);
    if (rc == PKJWT_OK) {
      rc = pkjwt_cert_public_key(key, cert, &err);
      pkjwt_cert_free(cert);
    }
    if (rc != PKJWT_OK)
      return cli_pkjwt_error(cli_exit_for(rc), a->val[O_CERT], &err);
    return 0;
  }
  size_t len = 0;
  char *json = cli_read_file(a->val[O_JWK], JWK_MAX, &len);
  if (!json)
    return CLI_EXIT_INPUT;
  rc = pkjwt_key_from_jwk(key, json, len, &err);
  cli_wipe_free(json, len);
  if (rc != PKJWT_OK)
    return cli_pkjwt_error(cli_exit_for(rc), a->val[O_JWK], &err);
  return 0;
}

static int print_report(const pkjwt_verify_result *r) {
  printf("header:    %s\nclaims:    %s\n", r->header_json, r->claims_json);
  for (size_t i = 0; i < pkjwt_verify_check_count(); i++) {
    const char *name = NULL;
    const pkjwt_check_result *c = pkjwt_verify_result_check(r, i, &name);
    if (c)
      printf("%-10s %-12s %s\n", name, pkjwt_verdict_name(c->verdict),
             c->detail);
  }
  printf("valid:     %s\n", r->valid ? "yes" : "no");
  return cli_stdout_done();
}

static int run_verify(const args *a) {
  int rc;
  if ((rc = cli_require(a, O_ASSERTION)))
    return rc;
  pkjwt_verify_options o = PKJWT_VERIFY_OPTIONS_INIT;
  o.client_id = a->val[O_CLIENT_ID];
  o.audience = a->val[O_AUD];
  o.typ = a->val[O_TYP];
  if (a->seen[O_LEEWAY] &&
      cli_parse_long(a->val[O_LEEWAY], 0, 86400, &o.leeway) != 0)
    return cli_error(CLI_EXIT_USAGE, "--leeway", "not 0 to 86400: %s",
                     a->val[O_LEEWAY]);
  if ((rc = parse_now(a, &o.now)))
    return rc;
  pkjwt_key *key = NULL;
  if ((rc = verifying_key(&key, a)))
    return rc;
  char *jws = read_assertion(a);
  if (!jws) {
    pkjwt_key_free(key);
    return CLI_EXIT_INPUT;
  }
  pkjwt_verify_result *r = NULL;
  pkjwt_error err = PKJWT_ERROR_INIT;
  int vrc = pkjwt_assertion_verify(&r, jws, key, &o, &err);
  cli_secret_free(jws); /* ours (read_assertion), not the library's */
  pkjwt_key_free(key);
  if (!r)
    return assertion_error(a, vrc, &err);

  /* The report is the result, valid or not: it goes to stdout. */
  if (a->seen[O_JSON]) {
    char *json = NULL;
    pkjwt_error jerr = PKJWT_ERROR_INIT;
    if (pkjwt_verify_result_json(&json, r, &jerr) != PKJWT_OK)
      rc = cli_pkjwt_error(CLI_EXIT_FAIL, NULL, &jerr);
    else
      rc = cli_print_line(json) == 0 ? 0 : CLI_EXIT_FAIL;
    pkjwt_str_free(json);
  } else {
    rc = print_report(r);
  }
  if (rc == 0 && !r->valid)
    rc = cli_error(CLI_EXIT_FAIL, "assertion", "not valid: %s", err.message);
  pkjwt_verify_result_free(r);
  return rc;
}

/* ---- decode ------------------------------------------------------------ */

static int run_decode(const args *a) {
  int rc;
  if ((rc = cli_require(a, O_ASSERTION)))
    return rc;
  char *jws = read_assertion(a);
  if (!jws)
    return CLI_EXIT_INPUT;
  char *h = NULL, *c = NULL;
  pkjwt_error err = PKJWT_ERROR_INIT;
  int drc = pkjwt_assertion_decode(&h, &c, jws, &err);
  cli_secret_free(jws);
  if (drc != PKJWT_OK)
    return assertion_error(a, drc, &err);
  /* Both are compact JSON objects already: they embed as they are. */
  if (a->seen[O_JSON])
    printf("{\"header\":%s,\"claims\":%s}\n", h, c);
  else
    printf("header: %s\nclaims: %s\n", h, c);
  rc = cli_stdout_done();
  pkjwt_str_free(h);
  pkjwt_str_free(c);
  return rc;
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv) {
  return cli_main(&tool, argc, argv);
}
