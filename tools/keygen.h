/*
 * tools/keygen.h: what the pieces of pkjwt-keygen share.
 *
 * pkjwt-keygen.c holds the subcommand and option tables, the option parser,
 * --help and main; keygen-cmds.c runs the subcommands. One table drives
 * dispatch, --help and the OPTIONS section of docs/pkjwt-keygen.1 (printed
 * by the undocumented --man-options, which tests/keygen.sh compares with the
 * man page).
 */
#ifndef PKJWT_KEYGEN_H
#define PKJWT_KEYGEN_H

#include <stddef.h>

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
  KG_O__COUNT
};

/* kg_opt.flags */
#define KG_OPT_REPEAT 1u /* may be given several times; kept in order */

/* One option of one subcommand, as --help and the man page show it. */
typedef struct kg_opt {
  int id;             /* enum kg_opt_id */
  const char *name;   /* long name without "--" */
  char short_name;    /* 0 when none */
  const char *arg;    /* argument's name, NULL for a flag */
  unsigned int flags; /* KG_OPT_* */
  const char *help;   /* one line */
} kg_opt;

/* Largest number of repeated options (--key, --cert) kept. */
#define KG_MAX_ITEMS 64

/* A parsed command line. Values point into argv. */
typedef struct kg_args {
  const char *cmd;              /* subcommand name, for messages */
  const char *val[KG_O__COUNT]; /* last value of a single option */
  int seen[KG_O__COUNT];        /* how many times each option was given */
  struct {
    int id; /* KG_O_KEY or KG_O_CERT */
    const char *value;
  } items[KG_MAX_ITEMS]; /* repeatable options, in order */
  size_t n_items;
} kg_args;

/* The subcommands; each returns the process exit status (see cli.h). */
int kg_cmd_new(const kg_args *a);
int kg_cmd_cert(const kg_args *a);
int kg_cmd_export(const kg_args *a);
int kg_cmd_info(const kg_args *a);

/* "--name" of an option of the current subcommand, for messages. */
const char *kg_opt_name(int id);

#endif
