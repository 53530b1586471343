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
  O__COUNT
};

typedef struct opt {
  int id;
  const char *name; /* without "--" */
  const char *arg;  /* NULL for a flag */
  const char *help;
} opt;

#define OPT_HELP                                                               \
  { O_HELP, "help", NULL, "show this help and exit" }
#define OPT_END                                                                \
  { 0, NULL, NULL, NULL }

static const opt sign_opts[] = {
    {O_KEY, "key", "KEY", "private key file (PEM or DER, PKCS#8/SEC1/PKCS#1)"},
    {O_CLIENT_ID, "client-id", "ID", "client id: the iss and sub claims"},
    {O_AUD, "aud", "URL",
     "audience: the token endpoint URL, or the issuer (RFC 7523bis)"},
    {O_ALG, "alg", "ALG",
     "RS256/384/512, PS256/384/512 or ES256/384/512 (default: follows the "
     "key)"},
    {O_LIFETIME, "lifetime", "SECONDS",
     "exp = iat + SECONDS (default 60, at most 3600)"},
    {O_ALLOW_LONG, "allow-long-lifetime", NULL,
     "accept a lifetime over 3600 seconds"},
    {O_KID, "kid", "KID",
     "kid header (default: the key's RFC 7638 thumbprint)"},
    {O_NO_KID, "no-kid", NULL, "leave kid out of the header"},
    {O_TYP, "typ", "TYP",
     "typ header (default JWT; e.g. client-authentication+jwt)"},
    {O_CERT, "cert", "CRT", "certificate of the key (checked to match it)"},
    {O_X5T, "x5t", NULL, "add the certificate's x5t#S256 to the header"},
    {O_NBF, "nbf", NULL, "add nbf = iat"},
    {O_CLAIMS, "claims", "JSON",
     "extra claims, a JSON object (not iss, sub, aud, exp, iat, nbf, jti)"},
    {O_PASSFILE, "passphrase-file", "F",
     "read the key's passphrase from the first line of F (- = stdin)"},
    {O_NOW, "now", "EPOCH", "sign as of this time (testing)"},
    OPT_HELP,
    OPT_END};

static const opt verify_opts[] = {
    {O_ASSERTION, "assertion", "JWT",
     "the assertion, or - to read it from stdin"},
    {O_KEY, "key", "KEY", "public or private key file"},
    {O_CERT, "cert", "CRT", "certificate whose public key verifies"},
    {O_JWK, "jwk", "FILE", "public JWK (JSON) that verifies"},
    {O_CLIENT_ID, "client-id", "ID", "expected iss and sub"},
    {O_AUD, "aud", "URL", "expected audience"},
    {O_LEEWAY, "leeway", "S", "seconds of clock skew allowed (default 0)"},
    {O_TYP, "typ", "T", "expected typ header"},
    {O_JSON, "json", NULL, "print the report as one line of JSON"},
    {O_PASSFILE, "passphrase-file", "F",
     "passphrase for an encrypted --key (- = stdin)"},
    {O_NOW, "now", "EPOCH", "judge as of this time (testing)"},
    OPT_HELP,
    OPT_END};

static const opt decode_opts[] = {
    {O_ASSERTION, "assertion", "JWT",
     "the assertion, or - to read it from stdin"},
    {O_JSON, "json", NULL, "print {\"header\":...,\"claims\":...} on one line"},
    OPT_HELP,
    OPT_END};

typedef struct args {
  const char *val[O__COUNT];
  int seen[O__COUNT];
} args;

typedef struct cmd {
  const char *name; /* NULL: the default (sign) */
  const char *usage;
  const char *summary;
  const opt *opts;
  int (*run)(const args *a);
} cmd;

static int run_sign(const args *a);
static int run_verify(const args *a);
static int run_decode(const args *a);

static const cmd cmds[] = {
    {NULL,
     "--key KEY --client-id ID --aud URL [--alg ALG]\n"
     "       [--lifetime SECONDS] [--allow-long-lifetime]\n"
     "       [--kid KID | --no-kid] [--typ TYP]\n"
     "       [--cert CRT [--x5t]] [--nbf] [--claims JSON] [--passphrase-file "
     "F]",
     "Sign a client assertion and print it as one line", sign_opts, run_sign},
    {"verify",
     "verify --assertion JWT|- (--key KEY | --cert CRT | --jwk FILE)\n"
     "       [--client-id ID] [--aud URL] [--leeway S] [--typ T] [--json]",
     "Show what a server would see; exit 0 only when valid", verify_opts,
     run_verify},
    {"decode", "decode --assertion JWT|- [--json]",
     "Print the header and claims without judging them", decode_opts,
     run_decode},
};

/* ---- help ------------------------------------------------------------------
 */

/* Print text from column `indent` (the cursor is there), wrapped at 79. */
static void print_wrapped(FILE *f, int indent, const char *text) {
  int col = indent;
  const char *p = text;
  while (*p) {
    size_t w = strcspn(p, " ");
    if (col > indent && col + 1 + (int)w > 79) {
      fprintf(f, "\n%*s", indent, "");
      col = indent;
    } else if (col > indent) {
      fputc(' ', f);
      col++;
    }
    fprintf(f, "%.*s", (int)w, p);
    col += (int)w;
    p += w;
    while (*p == ' ')
      p++;
  }
  fputc('\n', f);
}

static void print_cmd_help(FILE *f, const cmd *c) {
  fprintf(f, "Usage: %s %s\n\n%s.\n\nOptions:\n", cli_progname, c->usage,
          c->summary);
  for (const opt *o = c->opts; o->name; o++) {
    char left[64];
    snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "",
             o->arg ? o->arg : "");
    fprintf(f, "  %-24s ", left);
    print_wrapped(f, 27, o->help);
  }
}

static void print_top_help(FILE *f) {
  print_cmd_help(f, &cmds[0]);
  fprintf(f, "\nSubcommands:\n");
  for (size_t i = 1; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
    char more[160];
    snprintf(more, sizeof(more), "%s (%s %s --help)", cmds[i].summary,
             cli_progname, cmds[i].name);
    fprintf(f, "  %-8s ", cmds[i].name);
    print_wrapped(f, 11, more);
  }
  fprintf(f, "\nExit status: ");
  print_wrapped(f, 13,
                "0 success (verify: valid), 1 failure (verify: not "
                "valid), 2 bad usage, 3 a file or the assertion is "
                "unusable.");
}

/* ---- parsing ---------------------------------------------------------------
 */

static const opt *find_opt(const cmd *c, const char *name, size_t n) {
  for (const opt *o = c->opts; o->name; o++)
    if (strlen(o->name) == n && strncmp(o->name, name, n) == 0)
      return o;
  return NULL;
}

static const char *try_help(const cmd *c) {
  return c->name ? c->name : "";
}

/* 0, -1 when --help was printed, or an exit status after one error line. */
static int parse_args(args *a, const cmd *c, int argc, char **argv) {
  memset(a, 0, sizeof(*a));
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
      return cli_error(CLI_EXIT_USAGE, arg,
                       "unexpected argument (try %s %s%s--help)", cli_progname,
                       try_help(c), c->name ? " " : "");
    const char *eq = strchr(arg + 2, '=');
    size_t n = eq ? (size_t)(eq - (arg + 2)) : strlen(arg + 2);
    const opt *o = find_opt(c, arg + 2, n);
    if (!o)
      return cli_error(CLI_EXIT_USAGE, arg,
                       "unknown option (try %s %s%s--help)", cli_progname,
                       try_help(c), c->name ? " " : "");
    const char *value = eq ? eq + 1 : NULL;
    if (o->arg && !value) {
      if (i + 1 >= argc)
        return cli_error(CLI_EXIT_USAGE, arg, "needs a value (%s)", o->arg);
      value = argv[++i];
    } else if (!o->arg && value) {
      return cli_error(CLI_EXIT_USAGE, arg, "takes no value");
    }
    if (o->id == O_HELP) {
      if (c->name)
        print_cmd_help(stdout, c);
      else
        print_top_help(stdout);
      return fflush(stdout) == 0 ? -1 : CLI_EXIT_FAIL;
    }
    if (a->seen[o->id])
      return cli_error(CLI_EXIT_USAGE, arg, "given twice");
    a->seen[o->id] = 1;
    a->val[o->id] = value ? value : "";
  }
  return 0;
}

static int need(const args *a, int id, const char *name) {
  if (a->seen[id])
    return 0;
  return cli_error(CLI_EXIT_USAGE, NULL, "--%s is required", name);
}

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
  int rc = pkjwt_key_load_file(key, a->val[O_KEY], pass, &err);
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

/* ---- sign -------------------------------------------------------------- */

static int run_sign(const args *a) {
  int rc;
  if ((rc = need(a, O_KEY, "key")) ||
      (rc = need(a, O_CLIENT_ID, "client-id")) || (rc = need(a, O_AUD, "aud")))
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
  free(json);
  if (rc != PKJWT_OK)
    return cli_pkjwt_error(cli_exit_for(rc), a->val[O_JWK], &err);
  return 0;
}

static int print_report(const pkjwt_verify_result *r) {
  const struct {
    const char *name;
    const pkjwt_check_result *c;
  } rows[] = {{"alg", &r->alg_allowed}, {"signature", &r->signature},
              {"typ", &r->typ},         {"iss/sub", &r->iss_sub},
              {"aud", &r->aud},         {"exp", &r->exp},
              {"nbf", &r->nbf},         {"iat", &r->iat},
              {"jti", &r->jti}};
  printf("header:    %s\nclaims:    %s\n", r->header_json, r->claims_json);
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
    printf("%-10s %-12s %s\n", rows[i].name,
           pkjwt_verdict_name(rows[i].c->verdict), rows[i].c->detail);
  printf("valid:     %s\n", r->valid ? "yes" : "no");
  if (fflush(stdout) != 0)
    return cli_error(CLI_EXIT_FAIL, "stdout", "write error");
  return 0;
}

static int run_verify(const args *a) {
  int rc;
  if ((rc = need(a, O_ASSERTION, "assertion")))
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
  pkjwt_str_free(jws);
  pkjwt_key_free(key);
  if (!r)
    return cli_pkjwt_error(cli_exit_for(vrc), "assertion", &err);

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
  if ((rc = need(a, O_ASSERTION, "assertion")))
    return rc;
  char *jws = read_assertion(a);
  if (!jws)
    return CLI_EXIT_INPUT;
  char *h = NULL, *c = NULL;
  pkjwt_error err = PKJWT_ERROR_INIT;
  int drc = pkjwt_assertion_decode(&h, &c, jws, &err);
  pkjwt_str_free(jws);
  if (drc != PKJWT_OK)
    return cli_pkjwt_error(cli_exit_for(drc), "assertion", &err);
  /* Both are compact JSON objects already: they embed as they are. */
  if (a->seen[O_JSON])
    printf("{\"header\":%s,\"claims\":%s}\n", h, c);
  else
    printf("header: %s\nclaims: %s\n", h, c);
  rc = fflush(stdout) == 0 ? CLI_EXIT_OK
                           : cli_error(CLI_EXIT_FAIL, "stdout", "write error");
  pkjwt_str_free(h);
  pkjwt_str_free(c);
  return rc;
}

/* ---- main ------------------------------------------------------------------
 */

int main(int argc, char **argv) {
  cli_progname = "pkjwt-sign";
  const cmd *c = &cmds[0];
  int first = 1;
  if (argc > 1 && argv[1][0] != '-') {
    c = NULL;
    for (size_t i = 1; i < sizeof(cmds) / sizeof(cmds[0]); i++)
      if (strcmp(argv[1], cmds[i].name) == 0)
        c = &cmds[i];
    if (!c && strcmp(argv[1], "help") == 0) {
      print_top_help(stdout);
      return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    }
    if (!c)
      return cli_error(CLI_EXIT_USAGE, argv[1],
                       "unknown subcommand (try %s --help)", cli_progname);
    first = 2;
  }
  if (argc == 1)
    return cli_error(CLI_EXIT_USAGE, NULL,
                     "--key, --client-id and --aud are required (try %s "
                     "--help)",
                     cli_progname);
  args a;
  int rc = parse_args(&a, c, argc - first, argv + first);
  if (rc == -1)
    return CLI_EXIT_OK;
  if (rc)
    return rc;
  return c->run(&a);
}
