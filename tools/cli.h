/*
 * tools/cli.h: what the pkjwt tools share (a small convenience library that
 * is not installed). Tools use only the public API in <pkjwt.h> and this.
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

/*
 * Print "progname: subject: message" (subject may be NULL) as one line on
 * stderr. Returns exit_code so that `return cli_error(...)` reads well.
 */
int cli_error(int exit_code, const char *subject, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One line from a pkjwt_error: "progname: subject: message", falling back
 * to pkjwt_strerror(code) when the message is empty. Also prints a warning
 * line first when err->warning is set. Returns exit_code. */
int cli_pkjwt_error(int exit_code, const char *subject, const pkjwt_error *err);

/* Print err->warning, if any, as "progname: subject: warning: ..." */
void cli_warning(const char *subject, const pkjwt_error *err);

/* Map a library code to the tool exit code (input, network, refused...). */
int cli_exit_for(int pkjwt_code);

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
 * malloc'd. NULL after printing the error line. */
char *cli_read_file(const char *path, size_t max, size_t *len);

/* Write s and a newline to stdout, and check the write. 0 or -1 (after
 * printing the error line). */
int cli_print_line(const char *s);

/* Parse a decimal long in [min, max]; 0 on success, -1 when invalid. */
int cli_parse_long(const char *s, long min, long max, long *out);

#endif
