/*
 * pkjwt-keygen: make keys and self-signed certificates for OAuth 2.0
 * Private Key JWT client authentication (RFC 7523), and export the public
 * half in the forms an OIDC provider takes (base64 certificate, JWK, JWKS).
 *
 * This file: the subcommand table (dispatch and --help), the options of
 * each subcommand, the option parser and main. The subcommands themselves
 * are in keygen-cmds.c.
 */
#include "keygen.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

/* ---- options ------------------------------------------------------------ */

/* Long names by id, for messages ("--bits applies to RSA keys only"). */
static const char *const opt_names[KG_O__COUNT] = {
    [KG_O_HELP] = "--help",   [KG_O_TYPE] = "--type",
    [KG_O_CURVE] = "--curve", [KG_O_BITS] = "--bits",
    [KG_O_OUT] = "--out",     [KG_O_CERT] = "--cert",
    [KG_O_KEY] = "--key",     [KG_O_SUBJECT] = "--subject",
    [KG_O_DAYS] = "--days",   [KG_O_PASSFILE] = "--passphrase-file",
    [KG_O_KDF] = "--kdf",     [KG_O_FORCE] = "--force",
    [KG_O_QUIET] = "--quiet", [KG_O_FORMAT] = "--format",
    [KG_O_X5C] = "--x5c",     [KG_O_KID] = "--kid",
    [KG_O_ALG] = "--alg",     [KG_O_JSON] = "--json",
};

const char *kg_opt_name(int id) {
  return id >= 0 && id < KG_O__COUNT && opt_names[id] ? opt_names[id] : "?";
}

#define OPT_HELP                                                               \
  { KG_O_HELP, "help", 'h', NULL, 0, "show this help and exit" }
#define OPT_PASS(what)                                                         \
  {                                                                            \
    KG_O_PASSFILE, "passphrase-file", 0, "FILE", 0,                            \
        what " (first line of FILE; - reads standard input)"                   \
  }
#define OPT_SUBJECT                                                            \
  {                                                                            \
    KG_O_SUBJECT, "subject", 0, "DN", 0,                                       \
        "certificate subject, e.g. \"CN=my-client,O=Example\" "                \
        "(default CN=pkjwt-client)"                                            \
  }
#define OPT_DAYS                                                               \
  {                                                                            \
    KG_O_DAYS, "days", 0, "N", 0,                                              \
        "certificate validity in days, 1 to 36500 (default 365)"               \
  }
#define OPT_END                                                                \
  { 0, NULL, 0, NULL, 0, NULL }

static const kg_opt new_opts[] = {
    {KG_O_TYPE, "type", 't', "ec|rsa", 0, "key type (default ec)"},
    {KG_O_CURVE, "curve", 0, "P-256|P-384|P-521", 0,
     "EC curve (default P-256)"},
    {KG_O_BITS, "bits", 'b', "2048|3072|4096", 0,
     "RSA modulus size (default 3072)"},
    {KG_O_OUT, "out", 'o', "KEY", 0,
     "write the private key to KEY, PKCS#8 PEM, mode 0600 (required)"},
    {KG_O_CERT, "cert", 'c', "CRT", 0,
     "also write a self-signed certificate (PEM) to CRT"},
    OPT_SUBJECT,
    OPT_DAYS,
    OPT_PASS("encrypt the key with this passphrase"),
    {KG_O_KDF, "kdf", 0, "scrypt|pbkdf2", 0,
     "passphrase key derivation for an encrypted key (default scrypt)"},
    {KG_O_FORCE, "force", 'f', NULL, 0, "replace KEY and CRT if they exist"},
    {KG_O_QUIET, "quiet", 'q', NULL, 0,
     "do not print the note on standard error"},
    OPT_HELP,
    OPT_END,
};

static const kg_opt cert_opts[] = {
    {KG_O_KEY, "key", 'k', "KEY", 0, "the private key to certify (required)"},
    {KG_O_OUT, "out", 'o', "CRT", 0,
     "write the certificate (PEM) to CRT; - prints it instead (required)"},
    OPT_SUBJECT,
    OPT_DAYS,
    OPT_PASS("passphrase of an encrypted KEY"),
    {KG_O_FORCE, "force", 'f', NULL, 0, "replace CRT if it exists"},
    {KG_O_QUIET, "quiet", 'q', NULL, 0,
     "do not print the note on standard error"},
    OPT_HELP,
    OPT_END,
};

static const kg_opt export_opts[] = {
    {KG_O_FORMAT, "format", 'F', "FORMAT", 0,
     "base64-cert, pem-cert, public-pem, jwk or jwks (required)"},
    {KG_O_KEY, "key", 'k', "KEY", KG_OPT_REPEAT,
     "a private or public key (PEM, DER or JWK); repeat for jwks"},
    {KG_O_CERT, "cert", 'c', "CRT", KG_OPT_REPEAT,
     "a certificate (PEM or DER); after a --key, that key's certificate"},
    {KG_O_X5C, "x5c", 0, NULL, 0,
     "jwk, jwks: add x5c and x5t#S256 from the certificate"},
    {KG_O_KID, "kid", 0, "KID", 0,
     "jwk, jwks of one key: this kid instead of the RFC 7638 thumbprint"},
    {KG_O_ALG, "alg", 0, "ALG", 0,
     "jwk, jwks of one key: this alg instead of the key's default"},
    OPT_PASS("passphrase of an encrypted KEY"),
    OPT_HELP,
    OPT_END,
};

static const kg_opt info_opts[] = {
    {KG_O_KEY, "key", 'k', "KEY", 0, "describe a key (PEM, DER or JWK)"},
    {KG_O_CERT, "cert", 'c', "CRT", 0, "describe a certificate (PEM or DER)"},
    {KG_O_JSON, "json", 0, NULL, 0, "print one JSON object instead of text"},
    OPT_PASS("passphrase of an encrypted KEY"),
    OPT_HELP,
    OPT_END,
};

/* ---- subcommands -------------------------------------------------------- */

typedef struct kg_cmd {
  const char *name;
  const char *synopsis; /* what follows "pkjwt-keygen NAME " */
  const char *summary;  /* one line */
  const kg_opt *opts;
  int (*run)(const kg_args *a);
} kg_cmd;

static const kg_cmd cmds[] = {
    {"new",
     "[--type ec|rsa] [--curve CURVE | --bits N] --out KEY [--cert CRT] "
     "[--subject DN] [--days N] [--passphrase-file FILE] [--kdf KDF] "
     "[--force] [--quiet]",
     "make a new private key and, with --cert, its self-signed certificate; "
     "print what to upload",
     new_opts, kg_cmd_new},
    {"cert",
     "--key KEY --out CRT [--subject DN] [--days N] "
     "[--passphrase-file FILE] [--force] [--quiet]",
     "make a self-signed certificate for an existing key; print its base64",
     cert_opts, kg_cmd_cert},
    {"export",
     "--format FORMAT (--key KEY [--cert CRT] ... | --cert CRT ...) "
     "[--x5c] [--kid KID] [--alg ALG] [--passphrase-file FILE]",
     "print the public half of keys or certificates: base64 certificate, "
     "PEM, JWK or JWKS",
     export_opts, kg_cmd_export},
    {"info", "(--key KEY | --cert CRT) [--json] [--passphrase-file FILE]",
     "describe a key or certificate: type, size, kid, validity", info_opts,
     kg_cmd_info},
};
#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static const kg_cmd *find_cmd(const char *name) {
  for (size_t i = 0; i < N_CMDS; i++)
    if (strcmp(cmds[i].name, name) == 0)
      return &cmds[i];
  return NULL;
}

/* ---- help --------------------------------------------------------------- */

/* "-t, --type ec|rsa" into buf. */
static void opt_label(char *buf, size_t size, const kg_opt *o) {
  char sh[8] = "    ";
  if (o->short_name)
    snprintf(sh, sizeof(sh), "-%c, ", o->short_name);
  snprintf(buf, size, "%s--%s%s%s", sh, o->name, o->arg ? " " : "",
           o->arg ? o->arg : "");
}

/*
 * Print text wrapped at 79 columns; the cursor is at column col, and
 * continuation lines start at column indent. Ends the line.
 */
static void print_wrapped(FILE *f, size_t col, size_t indent,
                          const char *text) {
  const size_t width = 79;
  const char *p = text;
  while (*p) {
    size_t word = strcspn(p, " ");
    if (col > indent && col + 1 + word > width) {
      fprintf(f, "\n%*s", (int)indent, "");
      col = indent;
    } else if (col > indent) {
      fputc(' ', f);
      col++;
    }
    fwrite(p, 1, word, f);
    col += word;
    p += word;
    while (*p == ' ')
      p++;
  }
  fputc('\n', f);
}

static void print_top_help(FILE *f) {
  fprintf(f,
          "Usage: %s SUBCOMMAND [OPTIONS]\n"
          "       %s SUBCOMMAND --help\n"
          "       %s --version\n"
          "\n"
          "Make keys and certificates for OAuth 2.0 Private Key JWT client\n"
          "authentication (RFC 7523), and export what an OIDC provider "
          "takes.\n"
          "\n"
          "Subcommands:\n",
          cli_progname, cli_progname, cli_progname);
  for (size_t i = 0; i < N_CMDS; i++) {
    fprintf(f, "  %-8s ", cmds[i].name);
    print_wrapped(f, 11, 11, cmds[i].summary);
  }
  fprintf(f, "  %-8s %s\n", "help", "show the help of a subcommand");
  fprintf(f, "\n"
             "Results go to standard output, notes and errors to standard "
             "error.\n"
             "Exit status: 0 success, 1 failure, 2 bad usage, 3 a file is "
             "unusable.\n"
             "See pkjwt-keygen(1).\n");
}

static void print_cmd_help(FILE *f, const kg_cmd *c) {
  int n = fprintf(f, "Usage: %s %s", cli_progname, c->name);
  print_wrapped(f, n > 0 ? (size_t)n : 0, 8, c->synopsis);
  fputc('\n', f);
  print_wrapped(f, 0, 0, c->summary);
  fputs("\nOptions:\n", f);
  for (const kg_opt *o = c->opts; o->name; o++) {
    char label[64];
    opt_label(label, sizeof(label), o);
    if (strlen(label) > 28)
      fprintf(f, "  %s\n%31s", label, "");
    else
      fprintf(f, "  %-28s ", label);
    print_wrapped(f, 31, 31, o->help);
  }
}

/* Text for roff: '-' becomes "\-", '\' becomes "\e". */
static void roff_puts(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '-')
      fputs("\\-", f);
    else if (*s == '\\')
      fputs("\\e", f);
    else
      fputc(*s, f);
  }
}

/*
 * The OPTIONS section of docs/pkjwt-keygen.1, from the same tables as
 * --help; tests/keygen.sh checks that the man page holds exactly this.
 */
static void print_man_options(FILE *f) {
  for (size_t i = 0; i < N_CMDS; i++) {
    fprintf(f, ".SS \"%s\"\n", cmds[i].name);
    for (const kg_opt *o = cmds[i].opts; o->name; o++) {
      fputs(".TP\n", f);
      if (o->short_name)
        fprintf(f, "\\fB\\-%c\\fR, ", o->short_name);
      fputs("\\fB\\-\\-", f);
      roff_puts(f, o->name);
      fputs("\\fR", f);
      if (o->arg) {
        fputs(" \\fI", f);
        roff_puts(f, o->arg);
        fputs("\\fR", f);
      }
      fputc('\n', f);
      roff_puts(f, o->help);
      fputc('\n', f);
    }
  }
}

/* ---- parsing ------------------------------------------------------------ */

static const kg_opt *find_long(const kg_cmd *c, const char *name, size_t n) {
  for (const kg_opt *o = c->opts; o->name; o++)
    if (strlen(o->name) == n && strncmp(o->name, name, n) == 0)
      return o;
  return NULL;
}

static const kg_opt *find_short(const kg_cmd *c, char ch) {
  for (const kg_opt *o = c->opts; o->name; o++)
    if (o->short_name && o->short_name == ch)
      return o;
  return NULL;
}

/*
 * Parse argv (after the subcommand) into a. Accepts --name VALUE,
 * --name=VALUE, -x VALUE and "--" (no operands are taken after it either).
 * Returns 0, or an exit status after printing the one error line.
 */
static int parse_args(kg_args *a, const kg_cmd *c, int argc, char **argv) {
  memset(a, 0, sizeof(*a));
  a->cmd = c->name;
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    const kg_opt *o = NULL;
    const char *value = NULL;
    if (strcmp(arg, "--") == 0) {
      if (i + 1 < argc)
        return cli_error(CLI_EXIT_USAGE, argv[i + 1],
                         "unexpected argument (try %s %s --help)", cli_progname,
                         c->name);
      break;
    }
    if (strncmp(arg, "--", 2) == 0) {
      const char *eq = strchr(arg + 2, '=');
      size_t n = eq ? (size_t)(eq - (arg + 2)) : strlen(arg + 2);
      o = find_long(c, arg + 2, n);
      if (o && eq)
        value = eq + 1;
    } else if (arg[0] == '-' && arg[1] && arg[2] == '\0') {
      o = find_short(c, arg[1]);
    } else {
      return cli_error(CLI_EXIT_USAGE, arg,
                       "unexpected argument (try %s %s --help)", cli_progname,
                       c->name);
    }
    if (!o)
      return cli_error(CLI_EXIT_USAGE, arg,
                       "unknown option for %s (try %s %s --help)", c->name,
                       cli_progname, c->name);
    if (o->arg && !value) {
      if (i + 1 >= argc)
        return cli_error(CLI_EXIT_USAGE, kg_opt_name(o->id),
                         "needs a value (%s)", o->arg);
      value = argv[++i];
    } else if (!o->arg && value) {
      return cli_error(CLI_EXIT_USAGE, kg_opt_name(o->id), "takes no value");
    }
    if (o->id == KG_O_HELP) {
      /* --help wins over everything else on the line */
      print_cmd_help(stdout, c);
      return fflush(stdout) == 0 ? -1 : CLI_EXIT_FAIL;
    }
    if (a->seen[o->id] && !(o->flags & KG_OPT_REPEAT))
      return cli_error(CLI_EXIT_USAGE, kg_opt_name(o->id), "given twice");
    a->seen[o->id]++;
    a->val[o->id] = value ? value : "";
    if (o->flags & KG_OPT_REPEAT) {
      if (a->n_items >= KG_MAX_ITEMS)
        return cli_error(CLI_EXIT_USAGE, kg_opt_name(o->id),
                         "given more than %d times", KG_MAX_ITEMS);
      a->items[a->n_items].id = o->id;
      a->items[a->n_items].value = value;
      a->n_items++;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  cli_progname = "pkjwt-keygen";
  if (argc < 2)
    return cli_error(CLI_EXIT_USAGE, NULL, "missing subcommand (try %s --help)",
                     cli_progname);
  const char *sub = argv[1];
  if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
    print_top_help(stdout);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
  }
  if (strcmp(sub, "--version") == 0 || strcmp(sub, "-V") == 0) {
    printf("%s (pkjwt) %s\n", cli_progname, pkjwt_version());
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
  }
  if (strcmp(sub, "--man-options") == 0) {
    print_man_options(stdout);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
  }
  if (strcmp(sub, "help") == 0) {
    if (argc == 2) {
      print_top_help(stdout);
    } else {
      const kg_cmd *c = find_cmd(argv[2]);
      if (!c || argc > 3)
        return cli_error(CLI_EXIT_USAGE, argv[c ? 3 : 2],
                         "unknown subcommand (try %s --help)", cli_progname);
      print_cmd_help(stdout, c);
    }
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
  }
  const kg_cmd *c = find_cmd(sub);
  if (!c)
    return cli_error(CLI_EXIT_USAGE, sub, "unknown %s (try %s --help)",
                     sub[0] == '-' ? "option" : "subcommand", cli_progname);
  kg_args a;
  int rc = parse_args(&a, c, argc - 2, argv + 2);
  if (rc == -1)
    return CLI_EXIT_OK; /* --help was printed */
  if (rc != 0)
    return rc;
  return c->run(&a);
}
