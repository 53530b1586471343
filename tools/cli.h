/*
 * tools/cli.h: what the pkjwt tools share (a small convenience library that
 * is not installed). Tools use only the public API in <pkjwt.h> and this.
 *
 * One option-table type and one parser serve all three tools: a tool is a
 * cli_tool, its subcommands are cli_cmd entries, each with a cli_opt table.
 * The tables drive parsing, --help (wrapped at 80 columns), the environment
 * variables a tool reads, the man page's OPTIONS check (--man-options) and
 * the bash completion script (--bash-completion).
 *
 * Exit codes, the same for every tool (documented in each man page):
 */
#ifndef PKJWT_CLI_H
#define PKJWT_CLI_H

#include <stddef.h>
#include <stdio.h>

#include <pkjwt.h>

enum {
  CLI_EXIT_OK = 0,
  CLI_EXIT_FAIL = 1,    /* generic failure; for verify: "not valid" */
  CLI_EXIT_USAGE = 2,   /* bad options or arguments */
  CLI_EXIT_INPUT = 3,   /* a key, certificate or other file is unusable */
  CLI_EXIT_NETWORK = 4, /* could not reach the server, timeout, TLS */
  CLI_EXIT_REFUSED = 5  /* the server answered with a refusal or garbage */
};

/* The tool's name for messages, set once by main (e.g. "pkjwt-keygen"). */
extern const char *cli_progname;
/* A second line for --version (pkjwt-token: the token stores it has), or
 * NULL. */
extern const char *cli_version_extra;

/*
 * Print "progname: subject: message" (subject may be NULL) as one line on
 * stderr. Returns exit_code so that `return cli_error(...)` reads well.
 */
int cli_error(int exit_code, const char *subject, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One line from a pkjwt_error: "progname: subject: message", falling back
 * to pkjwt_strerror(code) when the message is empty, and adding the tools'
 * own hint where the library gives none in flag terms (PKJWT_ERR_EXISTS:
 * "use --force to replace it"). Also prints a warning line first when
 * err->warning is set. Returns exit_code. */
int cli_pkjwt_error(int exit_code, const char *subject, const pkjwt_error *err);

/* Print err->warning, if any, as "progname: subject: warning: ..." */
void cli_warning(const char *subject, const pkjwt_error *err);

/* Map a library code to the tool exit code (input, network, refused...). */
int cli_exit_for(int pkjwt_code);

/* Load the key a --key value names: a "pkcs11:" URI (module and pin_file
 * from --pkcs11-module and --pin-file, each may be NULL) or a key file
 * (pass may be NULL). Returns the library's code. */
int cli_key_load(pkjwt_key **out, const char *key, const char *pass,
                 const char *module, const char *pin_file, pkjwt_error *err);

/*
 * Read a passphrase (or other secret) from path ("-" = stdin): the first
 * line, without its newline. Returns a malloc'd string to be released with
 * cli_secret_free(), or NULL after printing the error line.
 */
char *cli_read_secret_file(const char *path);
void cli_secret_free(char *s);

/* Wipe n bytes (a key file, a token), then free; NULL is a no-op. */
void cli_wipe_free(char *p, size_t n);

/* Read a whole file ("-" = stdin) of at most max bytes; NUL-terminated,
 * malloc'd; free with cli_wipe_free(p, *len + 1). It is never grown with
 * realloc: a bigger buffer is filled and the old one wiped, so a key or a
 * passphrase leaves no copy behind, on success or failure. NULL after
 * printing the error line. */
char *cli_read_file(const char *path, size_t max, size_t *len);

/* Flush stdout and check that all of it was written: 0, or CLI_EXIT_FAIL
 * after the one line "progname: stdout: write error: reason". */
int cli_stdout_done(void);

/* Write s and a newline to stdout, and check the write. 0 or -1 (after
 * printing the error line). */
int cli_print_line(const char *s);
/* The same, with the newline only when s does not end with one (PEM). */
int cli_print_text(const char *s);

/* Parse a decimal long in [min, max]; 0 on success, -1 when invalid. */
int cli_parse_long(const char *s, long min, long max, long *out);

/* ---- option tables and the one parser ------------------------------------ */

/* cli_opt.flags */
#define CLI_OPT_REPEAT 1u /* may be given several times; kept in items[] */
#define CLI_OPT_FILE 2u   /* the value names a file (completion offers files) */
#define CLI_OPT_STDIN 4u  /* "-" reads standard input (said in messages) */
#define CLI_OPT_HELP 8u   /* print the help and exit 0 */
#define CLI_OPT_VERSION 16u /* print the version and exit 0 */
#define CLI_OPT_OPEN 32u    /* values[] are examples: arg is accepted too */

/* Largest option id + 1, and the most repeated options kept. */
#define CLI_MAX_OPTS 32
#define CLI_MAX_ITEMS 64

/* One option of one command. A table ends with an entry whose name is NULL. */
typedef struct cli_opt {
  int id;                    /* the tool's enum, 0 .. CLI_MAX_OPTS - 1 */
  const char *name;          /* long name without "--" */
  char short_name;           /* 0 when none */
  const char *arg;           /* value's name in --help; NULL for a flag */
  unsigned int flags;        /* CLI_OPT_* */
  const char *help;          /* one sentence, no final period */
  const char *const *values; /* NULL-terminated values --help lists and
                                completion offers, or NULL */
  const char *env;           /* variable that stands in for it, or NULL */
} cli_opt;

struct cli_cmd;

/* A parsed command line. Values point into argv or the environment. */
typedef struct cli_args {
  const struct cli_cmd *cmd;
  const char *val[CLI_MAX_OPTS]; /* last value ("" for a flag) */
  int seen[CLI_MAX_OPTS];        /* times given (1 when from the env) */
  int from_env[CLI_MAX_OPTS];    /* the value came from cli_opt.env */
  struct {
    int id;
    const char *value;
  } items[CLI_MAX_ITEMS]; /* CLI_OPT_REPEAT options, in order */
  size_t n_items;
} cli_args;

/* A subcommand, or with name NULL the tool's default command. */
typedef struct cli_cmd {
  const char *name;     /* NULL: runs when no subcommand word is given */
  const char *synopsis; /* what follows "tool [name] " in the usage */
  const char *summary;  /* one line, no final period */
  const cli_opt *opts;
  int (*run)(const cli_args *a);
} cli_cmd;

typedef struct cli_tool {
  const char *name;    /* "pkjwt-keygen" */
  const char *about;   /* top --help paragraph (tools with no default cmd) */
  const char *footer;  /* last lines of the top --help (exit status...) */
  const cli_cmd *cmds; /* the default command, if any, first */
  size_t n_cmds;
} cli_tool;

/*
 * Run the tool: parse argv by the tables (--name VALUE, --name=VALUE,
 * -x VALUE, "--"), handle --help, help [SUBCOMMAND], --version and the
 * hidden --man-options and --bash-completion, fill options from their
 * environment variables, then call the command's run. Returns the exit
 * status.
 */
int cli_main(const cli_tool *tool, int argc, char **argv);

/* The library's algorithm names ("RS256" ... "ES512"), NULL-terminated,
 * for cli_opt.values; filled by cli_main from pkjwt_alg_name(). */
extern const char *cli_alg_values[];

/* The option of the current command with this id (NULL when none). */
const cli_opt *cli_find_opt(const cli_args *a, int id);

/* "--name" of an option of the current command, for messages ("?" if
 * the command has none with this id). */
const char *cli_opt_name(const cli_args *a, int id);

/* The values of option id as words for a message: "a, b or c" (a static
 * buffer, overwritten by the next call). */
const char *cli_values_text(const cli_args *a, int id);

/*
 * 0 when option id was given (or came from its variable), else print
 * "--name is required" with what can stand in for it: " (or set ENV)",
 * " (- reads standard input)", and return CLI_EXIT_USAGE.
 */
int cli_require(const cli_args *a, int id);

/* Print text wrapped at 80 columns; the cursor is at column col and
 * continuation lines start at column indent. '\n' in text starts a new
 * line at column 0. Ends the line. */
void cli_print_wrapped(FILE *f, size_t col, size_t indent, const char *text);

/* ---- one-object JSON or text output (no JSON library in the tools) ------ */

typedef enum { CLI_FACT_STR, CLI_FACT_INT, CLI_FACT_BOOL } cli_fact_kind;
typedef struct cli_fact {
  const char *name;
  cli_fact_kind kind;
  const char *s; /* CLI_FACT_STR */
  long long i;   /* CLI_FACT_INT, CLI_FACT_BOOL */
} cli_fact;

/* Print facts to stdout as one compact JSON object (strings escaped) or as
 * "name:  value" lines. 0, or an exit status after the error line. */
int cli_print_facts(const cli_fact *facts, size_t n, int json);

#endif
