/* tools/cli.c: shared helpers for the pkjwt tools (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *cli_progname = "pkjwt";

int cli_error(int exit_code, const char *subject, const char *fmt, ...) {
  va_list ap;
  char msg[1024];
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  /* One line: newlines in a server's words must not split it. */
  for (char *p = msg; *p; p++)
    if (*p == '\n' || *p == '\r')
      *p = ' ';
  if (subject && *subject)
    fprintf(stderr, "%s: %s: %s\n", cli_progname, subject, msg);
  else
    fprintf(stderr, "%s: %s\n", cli_progname, msg);
  return exit_code;
}

void cli_warning(const char *subject, const pkjwt_error *err) {
  if (err && err->warning[0])
    cli_error(0, subject, "warning: %s", err->warning);
}

int cli_pkjwt_error(int exit_code, const char *subject, const pkjwt_error *err) {
  cli_warning(subject, err);
  const char *msg = err && err->message[0] ? err->message
                                           : pkjwt_strerror(err ? err->code : 0);
  return cli_error(exit_code, subject, "%s", msg);
}

int cli_exit_for(int code) {
  switch (code) {
  case PKJWT_OK:
    return CLI_EXIT_OK;
  case PKJWT_ERR_INVALID_ARG:
  case PKJWT_ERR_ALG:
  case PKJWT_ERR_INSECURE:
    return CLI_EXIT_USAGE;
  case PKJWT_ERR_IO:
  case PKJWT_ERR_EXISTS:
  case PKJWT_ERR_PARSE:
  case PKJWT_ERR_PASSPHRASE:
  case PKJWT_ERR_KEY_TYPE:
  case PKJWT_ERR_WEAK_KEY:
  case PKJWT_ERR_NO_PRIVATE_KEY:
  case PKJWT_ERR_CERT:
  case PKJWT_ERR_JSON:
    return CLI_EXIT_INPUT;
  case PKJWT_ERR_NETWORK:
  case PKJWT_ERR_TIMEOUT:
    return CLI_EXIT_NETWORK;
  case PKJWT_ERR_HTTP:
  case PKJWT_ERR_OAUTH:
  case PKJWT_ERR_RESPONSE:
    return CLI_EXIT_REFUSED;
  default:
    return CLI_EXIT_FAIL;
  }
}

char *cli_read_file(const char *path, size_t max, size_t *len) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f) {
    cli_error(CLI_EXIT_INPUT, path, "%s", strerror(errno));
    return NULL;
  }
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    if (n + 1 >= cap) {
      if (cap > max + 1)
        break;
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t r = fread(buf + n, 1, cap - n - 1, f);
    if (r == 0)
      break;
    n += r;
  }
  int bad = ferror(f);
  if (f != stdin)
    fclose(f);
  if (!buf) {
    cli_error(CLI_EXIT_FAIL, path, "out of memory");
    return NULL;
  }
  if (bad || n > max) {
    free(buf);
    cli_error(CLI_EXIT_INPUT, path, bad ? "read error" : "file too large");
    return NULL;
  }
  buf[n] = '\0';
  if (len)
    *len = n;
  return buf;
}

void cli_wipe_free(char *p, size_t n) {
  if (!p)
    return;
  /* volatile so the compiler cannot drop the wipe before free */
  volatile char *v = p;
  for (size_t i = 0; i < n; i++)
    v[i] = 0;
  free(p);
}

void cli_secret_free(char *s) {
  if (s)
    cli_wipe_free(s, strlen(s));
}

char *cli_read_secret_file(const char *path) {
  size_t len;
  char *s = cli_read_file(path, 4096, &len);
  if (!s)
    return NULL;
  size_t line = strcspn(s, "\r\n");
  /* wipe what follows the first line before cutting it off */
  for (size_t i = line; i < len; i++)
    s[i] = 0;
  if (line == 0) {
    cli_secret_free(s);
    cli_error(CLI_EXIT_INPUT, path, "passphrase file is empty");
    return NULL;
  }
  return s;
}

int cli_print_line(const char *s) {
  if (fputs(s, stdout) == EOF || putchar('\n') == EOF || fflush(stdout) != 0) {
    cli_error(CLI_EXIT_FAIL, "stdout", "write error: %s", strerror(errno));
    return -1;
  }
  return 0;
}

int cli_parse_long(const char *s, long min, long max, long *out) {
  if (!s || !*s)
    return -1;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}
