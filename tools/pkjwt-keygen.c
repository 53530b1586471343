/*
 * pkjwt-keygen: make keys and self-signed certificates for OAuth 2.0
 * Private Key JWT client authentication (RFC 7523), and export the public
 * half in the forms an OIDC provider takes (base64 certificate, JWK, JWKS).
 *
 * This file: the subcommand and option tables (tools/cli parses by them and
 * prints --help, --man-options and --bash-completion from them) and main.
 * The subcommands themselves are in keygen-cmds.c.
 */
#include "keygen.h"

#include "cli.h"

/* ---- options ------------------------------------------------------------ */

static const char *const type_values[] = {"ec", "rsa", NULL};
static const char *const curve_values[] = {"P-256", "P-384", "P-521", NULL};
static const char *const bits_values[] = {"2048", "3072", "4096", NULL};
static const char *const kdf_values[] = {"scrypt", "pbkdf2", NULL};

#define FILE_IN (CLI_OPT_FILE | CLI_OPT_STDIN)

#define OPT_HELP                                                               \
  {                                                                            \
    KG_O_HELP, "help", 'h', NULL, CLI_OPT_HELP, "show this help and exit",     \
        NULL, NULL                                                             \
  }
#define OPT_PASS(what)                                                         \
  {                                                                            \
    KG_O_PASSFILE, "passphrase-file", 0, "FILE", FILE_IN,                      \
        what " (first line of FILE; - reads standard input)", NULL, NULL       \
  }
/* A key in a PKCS#11 token (--key 'pkcs11:token=..;object=..'). */
#define OPT_PKCS11                                                             \
  {KG_O_PKCS11_MODULE,                                                         \
   "pkcs11-module",                                                            \
   0,                                                                          \
   "SO",                                                                       \
   CLI_OPT_FILE,                                                               \
   "PKCS#11 module for a pkcs11: KEY, when the URI has no module-path "        \
   "(default $PKJWT_PKCS11_MODULE)",                                           \
   NULL,                                                                       \
   NULL},                                                                      \
  {                                                                            \
    KG_O_PIN_FILE, "pin-file", 0, "FILE", CLI_OPT_FILE,                        \
        "the token's PIN for a pkcs11: KEY, first line of FILE (tried once)",  \
        NULL, NULL                                                             \
  }
#define OPT_SUBJECT                                                            \
  {                                                                            \
    KG_O_SUBJECT, "subject", 0, "DN", 0,                                       \
        "certificate subject, e.g. \"CN=my-client,O=Example\" "                \
        "(default CN=pkjwt-client)",                                           \
        NULL, NULL                                                             \
  }
#define STR(x) #x
#define XSTR(x) STR(x)
#define OPT_DAYS                                                                 \
  {                                                                              \
    KG_O_DAYS, "days", 0, "N", 0,                                                \
        "certificate validity in days, 1 to " XSTR(                              \
            PKJWT_CERT_MAX_DAYS) " (default " XSTR(PKJWT_CERT_DEFAULT_DAYS) ")", \
        NULL, NULL                                                               \
  }
#define OPT_DIR(what)                                                          \
  {                                                                            \
    KG_O_DIR, "dir", 'd', "DIR", CLI_OPT_FILE,                                 \
        "the key set folder (keyset.json, KID.key, KID.crt)" what, NULL, NULL  \
  }
#define OPT_QUIET                                                              \
  {                                                                            \
    KG_O_QUIET, "quiet", 'q', NULL, 0,                                         \
        "do not print the note on standard error", NULL, NULL                  \
  }
#define OPT_JSON                                                               \
  {                                                                            \
    KG_O_JSON, "json", 0, NULL, 0, "print one JSON object instead of text",    \
        NULL, NULL                                                             \
  }
/* --type, --curve and --bits: the key new and rotate make. */
#define OPT_TYPE                                                               \
  {                                                                            \
    KG_O_TYPE, "type", 't', "TYPE", 0, "key type (default ec)", type_values,   \
        NULL                                                                   \
  }
#define OPT_CURVE                                                              \
  {                                                                            \
    KG_O_CURVE, "curve", 0, "CURVE", 0, "EC curve (default P-256)",            \
        curve_values, NULL                                                     \
  }
#define OPT_BITS                                                               \
  {                                                                            \
    KG_O_BITS, "bits", 'b', "N", 0, "RSA modulus size (default 3072)",         \
        bits_values, NULL                                                      \
  }
#define OPT_END                                                                \
  { 0, NULL, 0, NULL, 0, NULL, NULL, NULL }

static const cli_opt new_opts[] = {
    OPT_TYPE,
    OPT_CURVE,
    OPT_BITS,
    {KG_O_OUT, "out", 'o', "KEY", CLI_OPT_FILE,
     "write the private key to KEY, PKCS#8 PEM, mode 0600, or make it in a "
     "PKCS#11 token: 'pkcs11:token=T;object=LABEL' (required)",
     NULL, NULL},
    {KG_O_CERT, "cert", 'c', "CRT", CLI_OPT_FILE,
     "also write a self-signed certificate (PEM) to CRT", NULL, NULL},
    OPT_SUBJECT,
    OPT_DAYS,
    OPT_PASS("encrypt the key with this passphrase"),
    {KG_O_KDF, "kdf", 0, "KDF", 0,
     "passphrase key derivation for an encrypted key (default scrypt)",
     kdf_values, NULL},
    {KG_O_FORCE, "force", 'f', NULL, 0, "replace KEY and CRT if they exist",
     NULL, NULL},
    {KG_O_QUIET, "quiet", 'q', NULL, 0,
     "do not print the note on standard error", NULL, NULL},
    OPT_PKCS11,
    OPT_HELP,
    OPT_END,
};

static const cli_opt cert_opts[] = {
    {KG_O_KEY, "key", 'k', "KEY", FILE_IN,
     "the private key to certify (required; - reads standard input)", NULL,
     NULL},
    {KG_O_OUT, "out", 'o', "CRT", CLI_OPT_FILE,
     "write the certificate (PEM) to CRT; - prints it instead (required)", NULL,
     NULL},
    OPT_SUBJECT,
    OPT_DAYS,
    OPT_PASS("passphrase of an encrypted KEY"),
    {KG_O_FORCE, "force", 'f', NULL, 0, "replace CRT if it exists", NULL, NULL},
    {KG_O_QUIET, "quiet", 'q', NULL, 0,
     "do not print the note on standard error", NULL, NULL},
    OPT_PKCS11,
    OPT_HELP,
    OPT_END,
};

static const cli_opt export_opts[] = {
    {KG_O_FORMAT, "format", 'F', "FORMAT", 0, "what to print (required)",
     kg_format_names, NULL},
    {KG_O_KEY, "key", 'k', "KEY", FILE_IN | CLI_OPT_REPEAT,
     "a private or public key (PEM, DER or JWK; - reads standard input); "
     "repeat for jwks",
     NULL, NULL},
    {KG_O_CERT, "cert", 'c', "CRT", FILE_IN | CLI_OPT_REPEAT,
     "a certificate (PEM, DER or one-line base64); after a --key, that "
     "key's certificate",
     NULL, NULL},
    {KG_O_X5C, "x5c", 0, NULL, 0,
     "jwk, jwks: add x5c and x5t#S256 from the certificate", NULL, NULL},
    {KG_O_KID, "kid", 0, "KID", 0,
     "jwk, jwks of one key: this kid instead of the RFC 7638 thumbprint", NULL,
     NULL},
    {KG_O_ALG, "alg", 0, "ALG", 0,
     "jwk, jwks of one key: pin this alg (default: an EC key's own, none on "
     "RSA)",
     cli_alg_values, NULL},
    OPT_PASS("passphrase of an encrypted KEY"),
    OPT_DIR("; with --format jwks, its next and active keys"),
    OPT_PKCS11,
    OPT_HELP,
    OPT_END,
};

static const cli_opt info_opts[] = {
    {KG_O_KEY, "key", 'k', "KEY", FILE_IN,
     "describe a key (PEM, DER or JWK; - reads standard input)", NULL, NULL},
    {KG_O_CERT, "cert", 'c', "CRT", FILE_IN,
     "describe a certificate (PEM, DER or one-line base64)", NULL, NULL},
    {KG_O_JSON, "json", 0, NULL, 0, "print one JSON object instead of text",
     NULL, NULL},
    OPT_PASS("passphrase of an encrypted KEY"),
    OPT_PKCS11,
    OPT_HELP,
    OPT_END,
};

static const cli_opt rotate_opts[] = {
    OPT_DIR(", made 0700 if missing (required)"),
    OPT_TYPE,
    OPT_CURVE,
    OPT_BITS,
    OPT_SUBJECT,
    OPT_DAYS,
    OPT_QUIET,
    OPT_HELP,
    OPT_END,
};

static const cli_opt activate_opts[] = {
    OPT_DIR(" (required)"),
    {KG_O_KID, "kid", 0, "KID", 0,
     "the key to activate (default: the next key)", NULL, NULL},
    OPT_QUIET,
    OPT_HELP,
    OPT_END,
};

static const cli_opt retire_opts[] = {
    OPT_DIR(" (required)"),
    {KG_O_KID, "kid", 0, "KID", 0,
     "the key to retire (required; not the active key)", NULL, NULL},
    OPT_QUIET,
    OPT_HELP,
    OPT_END,
};

static const cli_opt status_opts[] = {
    OPT_DIR(" (required)"),
    OPT_JSON,
    OPT_HELP,
    OPT_END,
};

static const cli_opt check_opts[] = {
    OPT_DIR(" (required)"),
    {KG_O_WITHIN, "within", 'w', "DAYS", 0,
     "the window before the active certificate expires, e.g. 30d (default "
     "30d)",
     NULL, NULL},
    OPT_JSON,
    OPT_HELP,
    OPT_END,
};

/* ---- subcommands -------------------------------------------------------- */

static const cli_cmd cmds[] = {
    {"new",
     "[--type ec|rsa] [--curve CURVE | --bits N] --out KEY [--cert CRT] "
     "[--subject DN] [--days N] [--passphrase-file FILE] [--kdf KDF] "
     "[--pkcs11-module SO] [--pin-file FILE] [--force] [--quiet]",
     "Make a new private key and, with --cert, its self-signed certificate; "
     "print what to upload",
     new_opts, kg_cmd_new},
    {"cert",
     "--key KEY --out CRT [--subject DN] [--days N] "
     "[--passphrase-file FILE] [--pkcs11-module SO] [--pin-file FILE] "
     "[--force] [--quiet]",
     "Make a self-signed certificate for an existing key; print its base64",
     cert_opts, kg_cmd_cert},
    {"export",
     "--format FORMAT (--key KEY [--cert CRT] ... | --cert CRT ... | "
     "--dir DIR) [--x5c] [--kid KID] [--alg ALG] [--passphrase-file FILE] "
     "[--pkcs11-module SO] [--pin-file FILE]",
     "Print the public half of keys or certificates: base64 certificate, "
     "PEM, JWK or JWKS",
     export_opts, kg_cmd_export},
    {"info",
     "(--key KEY | --cert CRT) [--json] [--passphrase-file FILE] "
     "[--pkcs11-module SO] [--pin-file FILE]",
     "Describe a key or certificate: type, size, kid, validity", info_opts,
     kg_cmd_info},
    {"rotate",
     "--dir DIR [--type ec|rsa] [--curve CURVE | --bits N] [--subject DN] "
     "[--days N] [--quiet]",
     "Stage a new key and certificate in a key set as its next key; print "
     "what to upload",
     rotate_opts, kg_cmd_rotate},
    {"activate", "--dir DIR [--kid KID] [--quiet]",
     "Make the next key (or KID) the one that signs; the old one stays "
     "registered",
     activate_opts, kg_cmd_activate},
    {"retire", "--dir DIR --kid KID [--quiet]",
     "Retire a key that no longer signs (refused for the active key)",
     retire_opts, kg_cmd_retire},
    {"status", "--dir DIR [--json]",
     "List a key set's keys, states and days left", status_opts, kg_cmd_status},
    {"check", "--dir DIR [--within DAYS] [--json]",
     "Exit 0 when nothing is due, 10 rotate, 11 activate, 12 expired, 3 "
     "broken set",
     check_opts, kg_cmd_check},
};

static const cli_tool tool = {
    "pkjwt-keygen",
    "Make keys and certificates for OAuth 2.0 Private Key JWT client "
    "authentication (RFC 7523), and export what an OIDC provider takes.",
    "Results go to standard output, notes and errors to standard error.\n"
    "Exit status: 0 success, 1 failure, 2 bad usage, 3 a file is unusable;\n"
    "check: 10 rotate, 11 activate, 12 a certificate expired.\n"
    "See pkjwt-keygen(1).",
    cmds, sizeof(cmds) / sizeof(cmds[0])};

int main(int argc, char **argv) {
  return cli_main(&tool, argc, argv);
}
