/*
 * tools/keygen-cmds.c: the subcommands of pkjwt-keygen (new, cert, export,
 * info). Public API only. Every failure prints exactly one line through
 * cli_error/cli_pkjwt_error, writes nothing to stdout and leaves no file:
 * results are made in memory first and written last.
 */
#define _POSIX_C_SOURCE 200809L
#include "keygen.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* Largest key, certificate or JWK file read from standard input. */
#define KG_MAX_INPUT (1024 * 1024)
/* Days before notAfter from which info warns. */
#define KG_EXPIRY_WARN_DAYS 30

static const char upload_hint[] =
    "Upload this in Organisation Settings → OIDC Clients → your client → "
    "Manage Client Secrets → Add → Private Key JWT";

/* ---- small helpers ------------------------------------------------------ */

static void flush_warnings(void);
static int export_keyset(const cli_args *a, int fmt);

/* The held-back warnings, then s on stdout (cli_print_text). */
static int print_result(const char *s) {
  flush_warnings();
  return cli_print_text(s) == 0 ? 0 : CLI_EXIT_FAIL;
}

/* ISO 8601 UTC, "2026-11-28T05:15:00Z". */
static void iso_time(char buf[32], int64_t t) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (!gmtime_r(&tt, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    snprintf(buf, 32, "@%lld", (long long)t);
}

static int path_exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

/* What a subcommand holds until it ends, freed by held_free. */
typedef struct kg_held {
  char *pass; /* of --passphrase-file (wiped) */
  pkjwt_key *key;
  pkjwt_cert *cert;
  char *text; /* the result for standard output */
} kg_held;

/* Free what h holds; returns rc, for "return held_free(&h, rc);". */
static int held_free(kg_held *h, int rc) {
  pkjwt_str_free(h->text);
  pkjwt_cert_free(h->cert);
  pkjwt_key_free(h->key);
  cli_secret_free(h->pass);
  return rc;
}

/* Read the passphrase of --passphrase-file into *pass (NULL when not
 * given). 0, or an exit status after the error line. */
static int read_passphrase(char **pass, const cli_args *a) {
  *pass = NULL;
  if (!a->seen[KG_O_PASSFILE])
    return 0;
  *pass = cli_read_secret_file(a->val[KG_O_PASSFILE]);
  return *pass ? 0 : CLI_EXIT_INPUT;
}

/* At most one of the inputs may be standard input. */
static int check_one_stdin(const cli_args *a) {
  int n = a->seen[KG_O_PASSFILE] && strcmp(a->val[KG_O_PASSFILE], "-") == 0;
  for (size_t i = 0; i < a->n_items; i++)
    n += strcmp(a->items[i].value, "-") == 0;
  if (a->n_items == 0) {
    n += a->seen[KG_O_KEY] && strcmp(a->val[KG_O_KEY], "-") == 0;
    n += a->seen[KG_O_CERT] && strcmp(a->val[KG_O_CERT], "-") == 0;
  }
  if (n > 1)
    return cli_error(CLI_EXIT_USAGE, "-",
                     "only one input can come from standard input");
  return 0;
}

/*
 * Warnings (a key file others can read) are held back until the command
 * succeeds, then printed before the result: a failure prints its one line
 * and nothing else.
 */
#define KG_MAX_WARNINGS 8
static char warnings[KG_MAX_WARNINGS][PKJWT_ERROR_MESSAGE_MAX + 64];
static int n_warnings;

static void defer_text(const char *subject, const char *text) {
  if (text[0] && n_warnings < KG_MAX_WARNINGS)
    snprintf(warnings[n_warnings++], sizeof(warnings[0]), "%s: warning: %s",
             subject, text);
}

static void defer_warning(const char *subject, const pkjwt_error *err) {
  defer_text(subject, err->warning);
}

static void flush_warnings(void) {
  for (int i = 0; i < n_warnings; i++)
    cli_error(0, NULL, "%s", warnings[i]);
  n_warnings = 0;
}

/* The one error line for a library failure; its warning is dropped. */
static int fail_with(int exit_code, const char *subject,
                     const pkjwt_error *err) {
  pkjwt_error e = *err;
  e.warning[0] = '\0';
  return cli_pkjwt_error(exit_code, subject, &e);
}

/* A library failure while reading or writing path. */
static int lib_fail(const char *subject, const pkjwt_error *err) {
  return fail_with(cli_exit_for(err->code), subject, err);
}

static int starts_with_brace(const char *s, size_t len) {
  size_t i = 0;
  while (i < len &&
         (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
    i++;
  return i < len && s[i] == '{';
}

/* One load attempt from memory: a JWK (starts with '{') or PEM/DER. */
static int load_key_mem(pkjwt_key **out, const char *buf, size_t len,
                        const char *pass, pkjwt_error *err) {
  if (starts_with_brace(buf, len))
    return pkjwt_key_from_jwk(out, buf, len, err);
  return pkjwt_key_load_mem(out, buf, len, pass, err);
}

/*
 * Load a key from path ("-" = standard input): PEM or DER, private or
 * public, or a public JWK. *encrypted tells whether it needed the
 * passphrase. The library's warning (e.g. a key file others can read) is
 * held back for flush_warnings(). Returns 0, or an exit status after
 * printing the error line.
 */
static int load_key(pkjwt_key **out, int *encrypted, const char *path,
                    const char *pass, const cli_args *a) {
  pkjwt_error err = PKJWT_ERROR_INIT;
  int rc;
  char *buf = NULL;
  size_t len = 0;
  *out = NULL;
  *encrypted = 0;
  pkjwt_error_init(&err);
  if (strcmp(path, "-") == 0) {
    buf = cli_read_file(path, KG_MAX_INPUT, &len);
    if (!buf)
      return CLI_EXIT_INPUT;
    /* First without the passphrase: if that works, the key is not
     * encrypted at rest. */
    rc = load_key_mem(out, buf, len, NULL, &err);
    if (rc == PKJWT_ERR_PASSPHRASE && pass) {
      pkjwt_error_init(&err);
      rc = load_key_mem(out, buf, len, pass, &err);
      *encrypted = rc == PKJWT_OK;
    }
  } else if (strncmp(path, "pkcs11:", 7) == 0) {
    /* a key in a token: --pkcs11-module and --pin-file, never a
     * passphrase */
    rc = cli_key_load(out, path, NULL, a->val[KG_O_PKCS11_MODULE],
                      a->val[KG_O_PIN_FILE], &err);
  } else {
    rc = pkjwt_key_load_file(out, path, NULL, &err);
    if (rc == PKJWT_ERR_PASSPHRASE && pass) {
      pkjwt_error_init(&err);
      rc = pkjwt_key_load_file(out, path, pass, &err);
      *encrypted = rc == PKJWT_OK;
    } else if (rc == PKJWT_ERR_PARSE) {
      /* Perhaps a JWK: the library's file loader reads PEM and DER. */
      buf = cli_read_file(path, KG_MAX_INPUT, &len);
      if (buf && starts_with_brace(buf, len)) {
        pkjwt_error jerr = PKJWT_ERROR_INIT;
        rc = pkjwt_key_from_jwk(out, buf, len, &jerr);
        err = jerr;
      } else if (!buf) {
        return CLI_EXIT_INPUT; /* cli_read_file printed the line */
      }
    }
  }
  cli_wipe_free(buf, len);
  if (rc != PKJWT_OK) {
    pkjwt_key_free(*out);
    *out = NULL;
    if (rc == PKJWT_ERR_PASSPHRASE && !pass) {
      return cli_error(CLI_EXIT_INPUT, path,
                       "the key is encrypted; give its passphrase with "
                       "--passphrase-file");
    }
    return lib_fail(path, &err);
  }
  defer_warning(path, &err);
  return 0;
}

/* Load a certificate from path ("-" = standard input). */
static int load_cert(pkjwt_cert **out, const char *path) {
  pkjwt_error err = PKJWT_ERROR_INIT;
  int rc;
  *out = NULL;
  pkjwt_error_init(&err);
  if (strcmp(path, "-") == 0) {
    size_t len;
    char *buf = cli_read_file(path, KG_MAX_INPUT, &len);
    if (!buf)
      return CLI_EXIT_INPUT;
    rc = pkjwt_cert_load_mem(out, buf, len, &err);
    free(buf);
  } else {
    rc = pkjwt_cert_load_file(out, path, &err);
  }
  if (rc != PKJWT_OK) {
    pkjwt_cert_free(*out);
    *out = NULL;
    return lib_fail(path, &err);
  }
  defer_warning(path, &err);
  return 0;
}

/* "EC P-256" or "RSA 3072" */
static void describe_key(char *buf, size_t size, const pkjwt_key *key) {
  if (pkjwt_key_get_type(key) == PKJWT_KEY_EC)
    snprintf(buf, size, "EC %s", pkjwt_key_get_curve(key));
  else
    snprintf(buf, size, "RSA %u", pkjwt_key_get_bits(key));
}

/* --subject and --days into opts; returns 0 or an exit status. */
static int cert_options(pkjwt_cert_options *opts, const cli_args *a) {
  if (a->seen[KG_O_SUBJECT]) {
    if (a->val[KG_O_SUBJECT][0] == '\0')
      return cli_error(CLI_EXIT_USAGE, "--subject", "is empty");
    opts->subject = a->val[KG_O_SUBJECT];
  }
  if (a->seen[KG_O_DAYS]) {
    long days;
    if (cli_parse_long(a->val[KG_O_DAYS], 1, PKJWT_CERT_MAX_DAYS, &days) != 0)
      return cli_error(CLI_EXIT_USAGE, "--days",
                       "\"%s\" is not a whole number from 1 to %d",
                       a->val[KG_O_DAYS], PKJWT_CERT_MAX_DAYS);
    opts->days = (int)days;
  }
  return 0;
}

/* A failure to make a certificate: a --subject the library refuses is a
 * usage error about that option; anything else concerns the file. */
static int cert_fail(const cli_args *a, const char *path,
                     const pkjwt_error *err) {
  if (err->code == PKJWT_ERR_INVALID_ARG && a->seen[KG_O_SUBJECT])
    return fail_with(CLI_EXIT_USAGE, "--subject", err);
  return lib_fail(path, err);
}

/* A self-signed certificate for key (*cert) and its text for standard
 * output (*text: PEM when pem, else base64 DER). 0, or an exit status after
 * the error line about subject. */
static int make_cert(pkjwt_cert **cert, char **text, int pem,
                     const pkjwt_key *key, const pkjwt_cert_options *copts,
                     const cli_args *a, const char *subject) {
  pkjwt_error err = PKJWT_ERROR_INIT;
  int rc = pkjwt_cert_self_signed(cert, key, copts, &err);
  if (rc == PKJWT_OK)
    rc = pem ? pkjwt_cert_pem(text, *cert, &err)
             : pkjwt_cert_base64_der(text, *cert, &err);
  return rc == PKJWT_OK ? 0 : cert_fail(a, subject, &err);
}

/* Write cert to path. 0, or an exit status after the error line. */
static int write_cert(const pkjwt_cert *cert, const char *path, int force) {
  pkjwt_error err = PKJWT_ERROR_INIT;
  if (pkjwt_cert_write(cert, path, force, &err) != PKJWT_OK)
    return lib_fail(path, &err);
  return 0;
}

/* Refuse to start when path exists and --force was not given: checked
 * before any slow work. The library checks again when it writes. */
static int check_new_file(const char *path, int force) {
  if (!force && path_exists(path))
    return cli_error(CLI_EXIT_INPUT, path,
                     "file exists (use --force to replace it)");
  return 0;
}

/* The note on stderr after new and cert: which files, the kid, what next. */
static void print_note(const char *key_path, const pkjwt_key *key,
                       int encrypted, const char *cert_path,
                       const pkjwt_cert *cert) {
  char desc[32], until[32];
  flush_warnings();
  describe_key(desc, sizeof(desc), key);
  if (key_path && strncmp(key_path, "pkcs11:", 7) == 0)
    fprintf(stderr,
            "Private key:  %s (%s, in the PKCS#11 token: sensitive, never "
            "extractable)\n",
            key_path, desc);
  else if (key_path)
    fprintf(stderr, "Private key:  %s (%s, PKCS#8 PEM, mode 0600, %s)\n",
            key_path, desc, encrypted ? "encrypted" : "not encrypted");
  if (cert_path) {
    iso_time(until, pkjwt_cert_get_not_after(cert));
    fprintf(stderr, "Certificate:  %s (%s, valid until %s)\n", cert_path,
            pkjwt_cert_get_subject(cert), until);
  }
  fprintf(stderr, "Key ID (kid): %s\n", pkjwt_key_get_thumbprint(key));
  fprintf(stderr, "%s: the %s on standard output.\n", upload_hint,
          cert ? "base64 certificate" : "public JWK");
}

/* ---- new ---------------------------------------------------------------- */

/* What new makes, from its options. */
typedef struct kg_new {
  int is_rsa;
  long bits;
  pkjwt_write_options wopts;
  pkjwt_cert_options copts;
} kg_new;

/* --type, --curve and --bits into n (new and rotate). 0 or an exit status
 * after the error line. */
static int key_options(kg_new *n, const cli_args *a) {
  n->is_rsa = 0;
  n->bits = PKJWT_RSA_DEFAULT_BITS;
  if (a->seen[KG_O_TYPE]) {
    const char *t = a->val[KG_O_TYPE];
    if (strcmp(t, "rsa") == 0 || strcmp(t, "RSA") == 0)
      n->is_rsa = 1;
    else if (strcmp(t, "ec") != 0 && strcmp(t, "EC") != 0)
      return cli_error(CLI_EXIT_USAGE, "--type",
                       "\"%s\" is not a key type (ec or rsa)", t);
  }
  if (n->is_rsa && a->seen[KG_O_CURVE])
    return cli_error(CLI_EXIT_USAGE, "--curve", "applies to EC keys only");
  if (!n->is_rsa && a->seen[KG_O_BITS])
    return cli_error(CLI_EXIT_USAGE, "--bits",
                     "applies to RSA keys only (add --type rsa)");
  if (a->seen[KG_O_BITS] &&
      cli_parse_long(a->val[KG_O_BITS], 1, 1L << 20, &n->bits) != 0)
    return cli_error(CLI_EXIT_USAGE, "--bits", "\"%s\" is not a number",
                     a->val[KG_O_BITS]);
  return 0;
}

/* A new key as n says; 0 or an exit status after the error line about
 * subject. */
static int generate_key(pkjwt_key **key, const kg_new *n, const cli_args *a,
                        const char *subject) {
  pkjwt_error err = PKJWT_ERROR_INIT;
  int rc = n->is_rsa ? pkjwt_key_generate_rsa(key, (unsigned int)n->bits, &err)
                     : pkjwt_key_generate_ec(key, a->val[KG_O_CURVE], &err);
  if (rc == PKJWT_OK)
    return 0;
  /* The options chose the size or curve: a usage error. */
  return fail_with(rc == PKJWT_ERR_WEAK_KEY || rc == PKJWT_ERR_KEY_TYPE
                       ? CLI_EXIT_USAGE
                       : cli_exit_for(rc),
                   subject, &err);
}

/* new's options, checked before anything is made: nothing is made until the
 * whole line makes sense. 0 or an exit status after the error line. */
static int new_options(kg_new *n, const cli_args *a) {
  const char *out = a->val[KG_O_OUT];
  const char *cert_path = a->val[KG_O_CERT];
  int rc;
  pkjwt_write_options wopts = PKJWT_WRITE_OPTIONS_INIT;
  pkjwt_cert_options copts = PKJWT_CERT_OPTIONS_INIT;
  n->wopts = wopts;
  n->copts = copts;
  if (!out)
    return cli_error(CLI_EXIT_USAGE, "--out",
                     "is required: where to write the private key");
  if (strcmp(out, "-") == 0)
    return cli_error(CLI_EXIT_USAGE, "--out",
                     "a private key is never written to standard output");
  if ((rc = key_options(n, a)) != 0)
    return rc;
  if (!cert_path && (a->seen[KG_O_SUBJECT] || a->seen[KG_O_DAYS]))
    return cli_error(CLI_EXIT_USAGE,
                     a->seen[KG_O_SUBJECT] ? "--subject" : "--days",
                     "applies to the certificate: add --cert CRT");
  if (cert_path && (strcmp(cert_path, "-") == 0 || cert_path[0] == '\0'))
    return cli_error(CLI_EXIT_USAGE, "--cert",
                     "needs a file name (export --format pem-cert prints "
                     "one)");
  if (cert_path && strcmp(cert_path, out) == 0)
    return cli_error(CLI_EXIT_USAGE, cert_path,
                     "--out and --cert name the same file");
  if ((rc = cert_options(&n->copts, a)) != 0)
    return rc;
  if (a->seen[KG_O_KDF]) {
    const char *k = a->val[KG_O_KDF];
    if (!a->seen[KG_O_PASSFILE])
      return cli_error(CLI_EXIT_USAGE, "--kdf",
                       "applies to an encrypted key: add --passphrase-file");
    if (strcmp(k, "scrypt") == 0)
      n->wopts.kdf = PKJWT_KDF_SCRYPT;
    else if (strcmp(k, "pbkdf2") == 0)
      n->wopts.kdf = PKJWT_KDF_PBKDF2;
    else
      return cli_error(CLI_EXIT_USAGE, "--kdf", "\"%s\" is not %s", k,
                       cli_values_text(a, KG_O_KDF));
  }
  int force = a->seen[KG_O_FORCE] > 0;
  if ((rc = check_new_file(out, force)) != 0 ||
      (cert_path && (rc = check_new_file(cert_path, force)) != 0))
    return rc;
  return 0;
}

int kg_cmd_new(const cli_args *a) {
  const char *out = a->val[KG_O_OUT];
  const char *cert_path = a->val[KG_O_CERT];
  const int force = a->seen[KG_O_FORCE] > 0;
  kg_new n;
  int rc;
  if ((rc = new_options(&n, a)) != 0)
    return rc;

  kg_held h = {0};
  if ((rc = read_passphrase(&h.pass, a)) != 0)
    return rc;

  pkjwt_error err = PKJWT_ERROR_INIT;

  const int in_token = strncmp(out, "pkcs11:", 7) == 0;
  if (in_token && (h.pass || a->seen[KG_O_KDF])) {
    rc = cli_error(CLI_EXIT_USAGE, h.pass ? "--passphrase-file" : "--kdf",
                   "does not apply to a key made in a PKCS#11 token (it "
                   "never leaves the token)");
    goto done;
  }
  if (in_token) {
    /* made inside the token: sensitive, never extractable, sign only */
    pkjwt_key_uri_options uo = PKJWT_KEY_URI_OPTIONS_INIT;
    uo.pkcs11_module = a->val[KG_O_PKCS11_MODULE];
    uo.pin_file = a->val[KG_O_PIN_FILE];
    rc = pkjwt_key_generate_uri(
        &h.key, out, n.is_rsa ? PKJWT_KEY_RSA : PKJWT_KEY_EC,
        (unsigned int)n.bits, a->val[KG_O_CURVE], &uo, &err);
    if (rc != PKJWT_OK) {
      rc = fail_with(rc == PKJWT_ERR_WEAK_KEY || rc == PKJWT_ERR_KEY_TYPE
                         ? CLI_EXIT_USAGE
                         : cli_exit_for(rc),
                     out, &err);
      goto done;
    }
  } else if ((rc = generate_key(&h.key, &n, a, out)) != 0) {
    goto done;
  }
  if (cert_path) {
    rc = make_cert(&h.cert, &h.text, 0, h.key, &n.copts, a, cert_path);
    if (rc != 0)
      goto done;
  } else {
    rc = pkjwt_jwk_export(&h.text, h.key, NULL, &err);
    if (rc != PKJWT_OK) {
      rc = lib_fail(out, &err);
      goto done;
    }
  }

  /* Everything is made: now write, the certificate first. If the key then
   * fails, only a public file is undone; with --force, an old private key
   * is replaced only once its new certificate is safely written. */
  if (cert_path && (rc = write_cert(h.cert, cert_path, force)) != 0)
    goto done;
  n.wopts.passphrase = h.pass;
  n.wopts.force = force;
  rc =
      in_token ? PKJWT_OK : pkjwt_key_write_private(h.key, out, &n.wopts, &err);
  if (rc != PKJWT_OK) {
    if (cert_path)
      unlink(cert_path); /* nothing left behind */
    rc = lib_fail(out, &err);
    goto done;
  }
  if (!a->seen[KG_O_QUIET])
    print_note(out, h.key, h.pass != NULL, cert_path, h.cert);
  rc = print_result(h.text);
  if (rc != 0) {
    if (!in_token)
      unlink(out);
    if (cert_path)
      unlink(cert_path);
  }

done:
  return held_free(&h, rc);
}

/* ---- cert --------------------------------------------------------------- */

int kg_cmd_cert(const cli_args *a) {
  const char *key_path = a->val[KG_O_KEY];
  const char *out = a->val[KG_O_OUT];
  const int force = a->seen[KG_O_FORCE] > 0;
  const int to_stdout = out && strcmp(out, "-") == 0;
  pkjwt_cert_options copts = PKJWT_CERT_OPTIONS_INIT;
  int rc, encrypted;

  if (!key_path)
    return cli_error(CLI_EXIT_USAGE, "--key",
                     "is required: the private key to certify (a file, or "
                     "- to read standard input)");
  if (!out)
    return cli_error(CLI_EXIT_USAGE, "--out",
                     "is required: where to write the certificate");
  if (strcmp(out, key_path) == 0)
    return cli_error(CLI_EXIT_USAGE, out, "--key and --out name the same file");
  if ((rc = cert_options(&copts, a)) != 0 || (rc = check_one_stdin(a)) != 0)
    return rc;
  if (!to_stdout && (rc = check_new_file(out, force)) != 0)
    return rc;

  kg_held h = {0};
  if ((rc = read_passphrase(&h.pass, a)) != 0)
    return rc;

  if ((rc = load_key(&h.key, &encrypted, key_path, h.pass, a)) != 0)
    goto done;
  if (!pkjwt_key_has_private(h.key)) {
    rc = cli_error(CLI_EXIT_INPUT, key_path,
                   "a private key is needed to sign the certificate");
    goto done;
  }
  rc = make_cert(&h.cert, &h.text, to_stdout, h.key, &copts, a, key_path);
  if (rc != 0)
    goto done;
  if (!to_stdout) {
    if ((rc = write_cert(h.cert, out, force)) != 0)
      goto done;
    if (!a->seen[KG_O_QUIET])
      print_note(NULL, h.key, encrypted, out, h.cert);
  }
  rc = print_result(h.text);
  if (rc != 0 && !to_stdout)
    unlink(out);

done:
  return held_free(&h, rc);
}

/* ---- export ------------------------------------------------------------- */

const char *const kg_format_names[] = {"base64-cert", "pem-cert", "public-pem",
                                       "jwk",         "jwks",     NULL};

/* One exported entry: a key, its certificate, or both. */
typedef struct kg_entry {
  const char *key_path;  /* NULL when made from the certificate */
  const char *cert_path; /* NULL when none */
  pkjwt_key *key;
  pkjwt_cert *cert;
} kg_entry;

/*
 * Pair --key and --cert in command-line order: a --cert after a --key is
 * that key's certificate; with no --key at all each --cert stands alone.
 */
static int pair_entries(kg_entry *e, size_t *n, const cli_args *a) {
  size_t n_keys = 0;
  *n = 0;
  for (size_t i = 0; i < a->n_items; i++)
    n_keys += a->items[i].id == KG_O_KEY;
  for (size_t i = 0; i < a->n_items; i++) {
    const char *v = a->items[i].value;
    if (v[0] == '\0')
      return cli_error(CLI_EXIT_USAGE, cli_opt_name(a, a->items[i].id),
                       "needs a file name");
    if (a->items[i].id == KG_O_KEY) {
      e[*n].key_path = v;
      e[*n].cert_path = NULL;
      (*n)++;
    } else if (n_keys == 0) {
      e[*n].key_path = NULL;
      e[*n].cert_path = v;
      (*n)++;
    } else if (*n == 0) {
      return cli_error(CLI_EXIT_USAGE, v,
                       "--cert before any --key: give each key's "
                       "certificate after its --key");
    } else if (e[*n - 1].cert_path) {
      return cli_error(CLI_EXIT_USAGE, v, "a second --cert for the key %s",
                       e[*n - 1].key_path);
    } else {
      e[*n - 1].cert_path = v;
    }
  }
  return 0;
}

/* Load an entry's files; with both, the certificate must fit the key. */
static int load_entry(kg_entry *e, const char *pass, const cli_args *a) {
  int rc, encrypted;
  pkjwt_error err = PKJWT_ERROR_INIT;
  if (e->key_path && (rc = load_key(&e->key, &encrypted, e->key_path, pass, a)))
    return rc;
  if (e->cert_path && (rc = load_cert(&e->cert, e->cert_path)))
    return rc;
  if (!e->key) {
    if (pkjwt_cert_public_key(&e->key, e->cert, &err) != PKJWT_OK)
      return lib_fail(e->cert_path, &err);
  } else if (e->cert && !pkjwt_cert_matches_key(e->cert, e->key)) {
    return cli_error(CLI_EXIT_INPUT, e->cert_path,
                     "certificate is not for the key %s", e->key_path);
  }
  return 0;
}

/* The export options that do not fit the format or the number of keys. */
static int export_usage(const cli_args *a, const kg_entry *e, size_t n,
                        int fmt) {
  if (n > 1 && fmt != F_JWKS)
    return cli_error(CLI_EXIT_USAGE,
                     e[1].key_path ? e[1].key_path : e[1].cert_path,
                     "only --format jwks takes several keys");
  if ((fmt == F_B64CERT || fmt == F_PEMCERT) && !e[0].cert_path)
    return cli_error(CLI_EXIT_USAGE, "--cert",
                     "--format %s needs a certificate", kg_format_names[fmt]);
  if (fmt != F_JWK && fmt != F_JWKS) {
    for (int id = KG_O_X5C; id <= KG_O_ALG; id++)
      if (a->seen[id])
        return cli_error(CLI_EXIT_USAGE, cli_opt_name(a, id),
                         "applies to --format jwk and jwks only");
  }
  if (n > 1 && (a->seen[KG_O_KID] || a->seen[KG_O_ALG]))
    return cli_error(CLI_EXIT_USAGE,
                     cli_opt_name(a, a->seen[KG_O_KID] ? KG_O_KID : KG_O_ALG),
                     "applies to a single key, not a set of %zu", n);
  if (a->seen[KG_O_X5C]) {
    int any = 0;
    for (size_t i = 0; i < n; i++)
      any |= e[i].cert_path != NULL;
    if (!any)
      return cli_error(CLI_EXIT_USAGE, "--x5c", "needs a certificate (--cert)");
  }
  return 0;
}

int kg_cmd_export(const cli_args *a) {
  kg_entry e[CLI_MAX_ITEMS];
  size_t n = 0;
  int rc, fmt = -1;
  memset(e, 0, sizeof(e));

  if (!a->seen[KG_O_FORMAT])
    return cli_error(CLI_EXIT_USAGE, "--format", "is required: %s",
                     cli_values_text(a, KG_O_FORMAT));
  for (int i = 0; kg_format_names[i]; i++)
    if (strcmp(a->val[KG_O_FORMAT], kg_format_names[i]) == 0)
      fmt = i;
  if (fmt < 0)
    return cli_error(CLI_EXIT_USAGE, "--format", "\"%s\" is not %s",
                     a->val[KG_O_FORMAT], cli_values_text(a, KG_O_FORMAT));
  if (a->seen[KG_O_DIR])
    return export_keyset(a, fmt);
  if ((rc = pair_entries(e, &n, a)) != 0 || (rc = check_one_stdin(a)) != 0)
    return rc;
  if (n == 0)
    return cli_error(CLI_EXIT_USAGE, "--key",
                     "give a key with --key or a certificate with --cert "
                     "(a file, or - to read standard input)");
  if ((rc = export_usage(a, e, n, fmt)) != 0)
    return rc;

  char *pass;
  if ((rc = read_passphrase(&pass, a)) != 0)
    return rc;
  char *text = NULL;
  const pkjwt_key *keys[CLI_MAX_ITEMS];
  pkjwt_jwk_options jopts[CLI_MAX_ITEMS];
  pkjwt_error err = PKJWT_ERROR_INIT;
  const char *subject = e[0].key_path ? e[0].key_path : e[0].cert_path;

  for (size_t i = 0; i < n; i++)
    if ((rc = load_entry(&e[i], pass, a)) != 0)
      goto done;

  switch (fmt) {
  case F_B64CERT:
    rc = pkjwt_cert_base64_der(&text, e[0].cert, &err);
    break;
  case F_PEMCERT:
    rc = pkjwt_cert_pem(&text, e[0].cert, &err);
    break;
  case F_PUBPEM:
    rc = pkjwt_key_public_pem(&text, e[0].key, &err);
    break;
  default:
    for (size_t i = 0; i < n; i++) {
      pkjwt_jwk_options o = PKJWT_JWK_OPTIONS_INIT;
      o.kid = a->val[KG_O_KID];
      o.alg = a->val[KG_O_ALG];
      o.cert = e[i].cert;
      o.x5c = a->seen[KG_O_X5C] && e[i].cert;
      jopts[i] = o;
      keys[i] = e[i].key;
    }
    if (fmt == F_JWK)
      rc = pkjwt_jwk_export(&text, keys[0], &jopts[0], &err);
    else
      rc = pkjwt_jwks_export(&text, keys, jopts, n, &err);
    break;
  }
  if (rc != PKJWT_OK) {
    rc = lib_fail(subject, &err);
    goto done;
  }
  rc = print_result(text);

done:
  pkjwt_str_free(text);
  for (size_t i = 0; i < n; i++) {
    pkjwt_key_free(e[i].key);
    pkjwt_cert_free(e[i].cert);
  }
  cli_secret_free(pass);
  return rc;
}

/* ---- info --------------------------------------------------------------- */

/* Facts of one key or certificate, in the order info prints them. */
#define KG_MAX_FACTS 16
typedef struct kg_facts {
  cli_fact f[KG_MAX_FACTS];
  size_t n;
} kg_facts;

static void fact_str(kg_facts *x, const char *name, const char *s) {
  if (x->n < KG_MAX_FACTS)
    x->f[x->n++] = (cli_fact){name, CLI_FACT_STR, s, 0};
}

static void fact_int(kg_facts *x, const char *name, cli_fact_kind kind,
                     long long i) {
  if (x->n < KG_MAX_FACTS)
    x->f[x->n++] = (cli_fact){name, kind, NULL, i};
}

/* The facts of a key. */
static void key_facts(kg_facts *x, const pkjwt_key *key, int with_private,
                      int encrypted) {
  int ec = pkjwt_key_get_type(key) == PKJWT_KEY_EC;
  fact_str(x, "type", ec ? "EC" : "RSA");
  fact_int(x, "bits", CLI_FACT_INT, pkjwt_key_get_bits(key));
  if (ec)
    fact_str(x, "curve", pkjwt_key_get_curve(key));
  fact_str(x, "kid", pkjwt_key_get_thumbprint(key));
  fact_str(x, "alg", pkjwt_key_get_default_alg(key));
  if (with_private) {
    fact_int(x, "private", CLI_FACT_BOOL, pkjwt_key_has_private(key));
    fact_int(x, "encrypted", CLI_FACT_BOOL, encrypted);
  }
}

int kg_cmd_info(const cli_args *a) {
  const char *key_path = a->val[KG_O_KEY];
  const char *cert_path = a->val[KG_O_CERT];
  int rc, encrypted = 0;

  if (!key_path == !cert_path)
    return cli_error(CLI_EXIT_USAGE, key_path ? "--cert" : "--key",
                     key_path ? "give --key or --cert, not both"
                              : "is required (or --cert; - reads standard "
                                "input)");
  if (cert_path && a->seen[KG_O_PASSFILE])
    return cli_error(CLI_EXIT_USAGE, "--passphrase-file",
                     "applies to --key only");
  if ((rc = check_one_stdin(a)) != 0)
    return rc;

  kg_held h = {0};
  if ((rc = read_passphrase(&h.pass, a)) != 0)
    return rc;
  kg_facts x = {0};
  char nb[32], na[32];
  pkjwt_error err = PKJWT_ERROR_INIT;

  if (key_path) {
    if ((rc = load_key(&h.key, &encrypted, key_path, h.pass, a)) != 0)
      goto done;
    fact_str(&x, "file", key_path);
    key_facts(&x, h.key, 1, encrypted);
  } else {
    if ((rc = load_cert(&h.cert, cert_path)) != 0)
      goto done;
    if (pkjwt_cert_public_key(&h.key, h.cert, &err) != PKJWT_OK) {
      rc = lib_fail(cert_path, &err);
      goto done;
    }
    int64_t not_after = pkjwt_cert_get_not_after(h.cert);
    long days = pkjwt_cert_days_left(h.cert, 0);
    int expired = (int64_t)time(NULL) > not_after;
    iso_time(nb, pkjwt_cert_get_not_before(h.cert));
    iso_time(na, not_after);
    fact_str(&x, "file", cert_path);
    fact_str(&x, "subject", pkjwt_cert_get_subject(h.cert));
    fact_str(&x, "serial", pkjwt_cert_get_serial(h.cert));
    fact_str(&x, "not_before", nb);
    fact_str(&x, "not_after", na);
    fact_int(&x, "days_left", CLI_FACT_INT, days);
    fact_int(&x, "expired", CLI_FACT_BOOL, expired);
    fact_str(&x, "x5t#S256", pkjwt_cert_get_x5t_s256(h.cert));
    key_facts(&x, h.key, 0, 0);
    char note[128] = "";
    if (expired)
      snprintf(note, sizeof(note), "the certificate expired on %s", na);
    else if (days <= KG_EXPIRY_WARN_DAYS)
      snprintf(note, sizeof(note),
               "the certificate expires in %ld day%s, on %s", days,
               days == 1 ? "" : "s", na);
    defer_text(cert_path, note);
  }
  flush_warnings();
  rc = cli_print_facts(x.f, x.n, a->seen[KG_O_JSON] > 0);

done:
  return held_free(&h, rc);
}

/* ---- key sets: rotate, activate, retire, status, check ------------------ */

/* Load the set in --dir; 0 or an exit status after the one error line. */
static int load_set(pkjwt_keyset **ks, const cli_args *a) {
  int rc = cli_require(a, KG_O_DIR);
  if (rc != 0)
    return rc;
  pkjwt_error err = PKJWT_ERROR_INIT;
  if (pkjwt_keyset_load(ks, a->val[KG_O_DIR], &err) != PKJWT_OK)
    return lib_fail(a->val[KG_O_DIR], &err);
  defer_warning(a->val[KG_O_DIR], &err);
  return 0;
}

/* A refusal of activate or retire (the set's state does not allow it) is
 * a failure, not a usage error; anything else as the library says. */
static int change_fail(const char *dir, const pkjwt_error *err) {
  return fail_with(err->code == PKJWT_ERR_INVALID_ARG ? CLI_EXIT_FAIL
                                                      : cli_exit_for(err->code),
                   dir, err);
}

int kg_cmd_rotate(const cli_args *a) {
  kg_new n;
  pkjwt_cert_options copts = PKJWT_CERT_OPTIONS_INIT;
  int rc;
  if ((rc = cli_require(a, KG_O_DIR)) != 0 || (rc = key_options(&n, a)) != 0 ||
      (rc = cert_options(&copts, a)) != 0)
    return rc;
  const char *dir = a->val[KG_O_DIR];
  kg_held h = {0};
  char *kid = NULL;
  pkjwt_error err = PKJWT_ERROR_INIT;
  if ((rc = generate_key(&h.key, &n, a, dir)) != 0)
    goto done;
  if ((rc = make_cert(&h.cert, &h.text, 0, h.key, &copts, a, dir)) != 0)
    goto done;
  if (pkjwt_keyset_add(&kid, dir, h.key, h.cert, 0, &err) != PKJWT_OK) {
    rc = lib_fail(dir, &err);
    goto done;
  }
  if (!a->seen[KG_O_QUIET]) {
    char desc[32], until[32];
    flush_warnings();
    describe_key(desc, sizeof(desc), h.key);
    iso_time(until, pkjwt_cert_get_not_after(h.cert));
    fprintf(stderr,
            "Staged next key %s (%s, certificate valid until %s) in %s.\n"
            "%s: the base64 certificate on standard output. Keep the old "
            "secret; then run: pkjwt-keygen activate --dir %s\n",
            kid, desc, until, dir, upload_hint, dir);
  }
  rc = print_result(h.text);

done:
  pkjwt_str_free(kid);
  return held_free(&h, rc);
}

int kg_cmd_activate(const cli_args *a) {
  int rc = cli_require(a, KG_O_DIR);
  if (rc != 0)
    return rc;
  const char *dir = a->val[KG_O_DIR];
  char *kid = NULL;
  pkjwt_error err = PKJWT_ERROR_INIT;
  if (pkjwt_keyset_activate(&kid, dir, a->val[KG_O_KID], &err) != PKJWT_OK)
    return change_fail(dir, &err);
  if (!a->seen[KG_O_QUIET])
    fprintf(stderr,
            "Key %s is active in %s; running services switch to it within "
            "a second. The previous key stays registered until you retire "
            "it.\n",
            kid, dir);
  pkjwt_str_free(kid);
  return 0;
}

int kg_cmd_retire(const cli_args *a) {
  int rc;
  if ((rc = cli_require(a, KG_O_DIR)) != 0 ||
      (rc = cli_require(a, KG_O_KID)) != 0)
    return rc;
  const char *dir = a->val[KG_O_DIR];
  pkjwt_error err = PKJWT_ERROR_INIT;
  if (pkjwt_keyset_retire(dir, a->val[KG_O_KID], &err) != PKJWT_OK)
    return change_fail(dir, &err);
  if (!a->seen[KG_O_QUIET])
    fprintf(stderr,
            "Key %s is retired in %s. Delete its secret in Organisation "
            "Settings; its files may then be removed.\n",
            a->val[KG_O_KID], dir);
  return 0;
}

/* Days from now to t, rounded down (as pkjwt_cert_days_left). */
static long days_until(int64_t t, int64_t now) {
  int64_t d = t - now;
  return (long)(d >= 0 ? d / 86400 : -((-d + 86399) / 86400));
}

int kg_cmd_status(const cli_args *a) {
  pkjwt_keyset *ks = NULL;
  int rc = load_set(&ks, a);
  if (rc != 0)
    return rc;
  const int json = a->seen[KG_O_JSON] > 0;
  const int64_t now = (int64_t)time(NULL);
  flush_warnings();
  pkjwt_keyset_entry e;
  if (json)
    printf("{\"dir\":\"");
  else
    printf("%-43s  %-8s  %-20s  %-20s  %s\n", "KID", "STATE", "CREATED",
           "EXPIRES", "DAYS LEFT");
  if (json) {
    /* The folder is the user's string: escape it. */
    for (const char *p = a->val[KG_O_DIR]; *p; p++) {
      if (*p == '"' || *p == '\\')
        printf("\\%c", *p);
      else if ((unsigned char)*p < 0x20)
        printf("\\u%04x", (unsigned)(unsigned char)*p);
      else
        putchar(*p);
    }
    printf("\",\"keys\":[");
  }
  for (size_t i = 0; pkjwt_keyset_entry_get(&e, ks, i); i++) {
    char created[32], expires[32];
    iso_time(created, e.created);
    iso_time(expires, e.expires);
    /* kid and file names are base64url and plain names (the library
     * checks them), so they need no escaping. */
    if (json)
      printf("%s{\"kid\":\"%s\",\"state\":\"%s\",\"key\":\"%s\",\"cert\":"
             "\"%s\",\"created\":\"%s\",\"expires\":\"%s\",\"days_left\":%ld}",
             i ? "," : "", e.kid, pkjwt_key_state_name(e.state), e.key_file,
             e.cert_file, created, expires, days_until(e.expires, now));
    else
      printf("%-43s  %-8s  %-20s  %-20s  %ld\n", e.kid,
             pkjwt_key_state_name(e.state), created, expires,
             days_until(e.expires, now));
  }
  if (json)
    printf("]}\n");
  pkjwt_keyset_free(ks);
  return cli_stdout_done();
}

/* check's exit codes (docs/pkjwt-keygen.1, EXIT STATUS): distinct from the
 * tools' 0-5 so that a monitor tells "rotate now" from "the set is broken"
 * (3, CLI_EXIT_INPUT). */
enum {
  KG_CHECK_ROTATE = 10,   /* the active certificate expires within the
                             window, no next key staged */
  KG_CHECK_ACTIVATE = 11, /* a next key is staged but not active */
  KG_CHECK_EXPIRED = 12   /* the active or next certificate has expired */
};

/* --within: "30d" or "30" (days); -1 when invalid. */
static long parse_within(const char *s) {
  char buf[16];
  size_t n = strlen(s);
  if (n == 0 || n >= sizeof(buf))
    return -1;
  memcpy(buf, s, n + 1);
  if (buf[n - 1] == 'd')
    buf[n - 1] = '\0';
  long days;
  return cli_parse_long(buf, 0, PKJWT_CERT_MAX_DAYS, &days) == 0 ? days : -1;
}

int kg_cmd_check(const cli_args *a) {
  long within = 30;
  if (a->seen[KG_O_WITHIN] && (within = parse_within(a->val[KG_O_WITHIN])) < 0)
    return cli_error(CLI_EXIT_USAGE, "--within",
                     "\"%s\" is not a number of days (e.g. 30d)",
                     a->val[KG_O_WITHIN]);
  pkjwt_keyset *ks = NULL;
  int rc = load_set(&ks, a);
  if (rc != 0)
    return rc;
  const int64_t now = (int64_t)time(NULL);
  pkjwt_keyset_entry e, active = {0}, next = {0};
  for (size_t i = 0; pkjwt_keyset_entry_get(&e, ks, i); i++) {
    if (e.state == PKJWT_KEY_ACTIVE)
      active = e;
    if (e.state == PKJWT_KEY_NEXT)
      next = e;
  }
  pkjwt_keyset_due due = pkjwt_keyset_due_at(ks, within, now);
  static const struct {
    const char *word;
    int exit_code;
  } outcome[] = {{"OK", 0},
                 {"ROTATE", KG_CHECK_ROTATE},
                 {"ACTIVATE", KG_CHECK_ACTIVATE},
                 {"EXPIRED", KG_CHECK_EXPIRED}};
  char line[512];
  long left = active.kid ? days_until(active.expires, now) : 0;
  if (due == PKJWT_DUE_EXPIRED)
    snprintf(line, sizeof(line), "the certificate of the %s key %s has expired",
             active.kid && active.expires <= now ? "active" : "next",
             active.kid && active.expires <= now ? active.kid : next.kid);
  else if (!active.kid)
    snprintf(line, sizeof(line), "no active key%s%s%s",
             next.kid ? "; activate the next key " : "",
             next.kid ? next.kid : "; run rotate", next.kid ? "" : "");
  else if (due == PKJWT_DUE_NOTHING)
    snprintf(line, sizeof(line), "active key %s expires in %ld days",
             active.kid, left);
  else if (due == PKJWT_DUE_ROTATE)
    snprintf(line, sizeof(line),
             "active key %s expires in %ld days (within %ld): run rotate",
             active.kid, left, within);
  else
    snprintf(line, sizeof(line),
             "active key %s expires in %ld days (within %ld): next key %s is "
             "staged; activate it",
             active.kid, left, within, next.kid);
  flush_warnings();
  if (a->seen[KG_O_JSON]) {
    cli_fact f[] = {
        {"status", CLI_FACT_STR, outcome[due].word, 0},
        {"exit", CLI_FACT_INT, NULL, outcome[due].exit_code},
        {"active", CLI_FACT_STR, active.kid ? active.kid : "", 0},
        {"days_left", CLI_FACT_INT, NULL, left},
        {"next", CLI_FACT_STR, next.kid ? next.kid : "", 0},
        {"within_days", CLI_FACT_INT, NULL, within},
        {"message", CLI_FACT_STR, line, 0},
    };
    rc = cli_print_facts(f, sizeof(f) / sizeof(f[0]), 1);
  } else {
    printf("%s: %s\n", outcome[due].word, line);
    rc = fflush(stdout) == 0 ? 0 : CLI_EXIT_FAIL;
  }
  pkjwt_keyset_free(ks);
  return rc != 0 ? rc : outcome[due].exit_code;
}

/* export --dir: the JWKS of the keys to be registered now (next, active). */
static int export_keyset(const cli_args *a, int fmt) {
  if (fmt != F_JWKS)
    return cli_error(CLI_EXIT_USAGE, "--dir", "takes --format jwks only");
  static const int others[] = {KG_O_KEY, KG_O_CERT, KG_O_X5C,
                               KG_O_KID, KG_O_ALG,  KG_O_PASSFILE};
  for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
    if (a->seen[others[i]])
      return cli_error(CLI_EXIT_USAGE, cli_opt_name(a, others[i]),
                       "does not go with --dir");
  pkjwt_keyset *ks = NULL;
  int rc = load_set(&ks, a);
  if (rc != 0)
    return rc;
  const pkjwt_key *keys[PKJWT_KEYSET_MAX_KEYS];
  size_t n = 0;
  pkjwt_keyset_entry e;
  for (size_t i = 0; pkjwt_keyset_entry_get(&e, ks, i); i++)
    if (e.state == PKJWT_KEY_NEXT || e.state == PKJWT_KEY_ACTIVE)
      keys[n++] = e.key;
  char *out = NULL;
  pkjwt_error err = PKJWT_ERROR_INIT;
  if (n == 0)
    rc = cli_error(CLI_EXIT_INPUT, a->val[KG_O_DIR],
                   "no next or active key to export (run rotate)");
  else if (pkjwt_jwks_export(&out, keys, NULL, n, &err) != PKJWT_OK)
    rc = lib_fail(a->val[KG_O_DIR], &err);
  else
    rc = print_result(out);
  pkjwt_str_free(out);
  pkjwt_keyset_free(ks);
  return rc;
}
