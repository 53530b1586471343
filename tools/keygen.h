/*
 * tools/keygen.h: what the pieces of pkjwt-keygen share.
 *
 * pkjwt-keygen.c holds the subcommand and option tables and main; the
 * parser, --help, --man-options and --bash-completion are tools/cli's;
 * keygen-cmds.c runs the subcommands.
 */
#ifndef PKJWT_KEYGEN_H
#define PKJWT_KEYGEN_H

#include <stddef.h>

#include "cli.h"

/* Every option any subcommand knows. */
enum kg_opt_id {
  KG_O_HELP,
  KG_O_TYPE,
  KG_O_CURVE,
  KG_O_BITS,
  KG_O_OUT,
  KG_O_CERT,
  KG_O_KEY,
  KG_O_SUBJECT,
  KG_O_DAYS,
  KG_O_PASSFILE,
  KG_O_KDF,
  KG_O_FORCE,
  KG_O_QUIET,
  KG_O_FORMAT,
  KG_O_X5C,
  KG_O_KID,
  KG_O_ALG,
  KG_O_JSON,
  KG_O_DIR,
  KG_O_WITHIN,
  KG_O_PKCS11_MODULE,
  KG_O_PIN_FILE,
  KG_O__COUNT
};
_Static_assert(KG_O__COUNT <= CLI_MAX_OPTS, "raise CLI_MAX_OPTS");

/* The --format values, NULL-terminated, in enum kg_format order. */
enum kg_format { F_B64CERT, F_PEMCERT, F_PUBPEM, F_JWK, F_JWKS };
extern const char *const kg_format_names[];

/* The subcommands; each returns the process exit status (see cli.h). */
int kg_cmd_new(const cli_args *a);
int kg_cmd_cert(const cli_args *a);
int kg_cmd_export(const cli_args *a);
int kg_cmd_info(const cli_args *a);
/* Key sets (a folder with keyset.json; see docs/rotation.md). */
int kg_cmd_rotate(const cli_args *a);
int kg_cmd_activate(const cli_args *a);
int kg_cmd_retire(const cli_args *a);
int kg_cmd_status(const cli_args *a);
int kg_cmd_check(const cli_args *a);

#endif
