/* tools/cli.c: shared helpers for the pkjwt tools (see cli.h). */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* The tools' words for a library code, where the library's own words name
 * no flag: appended unless the message already says it. */
static const char *flag_hint(const pkjwt_error *err) {
  if (err && err->code == PKJWT_ERR_EXISTS && !strstr(err->message, "--force"))
    return " (use --force to replace it)";
  return "";
}

int cli_pkjwt_error(int exit_code, const char *subject,
                    const pkjwt_error *err) {
  cli_warning(subject, err);
  const char *msg = err && err->message[0]
                        ? err->message
                        : pkjwt_strerror(err ? err->code : 0);
  return cli_error(exit_code, subject, "%s%s", msg, flag_hint(err));
}

int cli_key_load(pkjwt_key **out, const char *key, const char *pass,
                 const char *module, const char *pin_file, pkjwt_error *err) {
  if (strncmp(key, "pkcs11:", 7) != 0)
    return pkjwt_key_load_file(out, key, pass, err);
  pkjwt_key_uri_options o = PKJWT_KEY_URI_OPTIONS_INIT;
  o.pkcs11_module = module;
  o.pin_file = pin_file;
  return pkjwt_key_load_uri(out, key, &o, err);
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
  case PKJWT_ERR_PKCS11:
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

/* A new buffer of cap bytes holding the n bytes of old, which is wiped and
 * freed (a realloc could leave the old bytes behind in freed memory). */
static char *grow_wiped(char *old, size_t n, size_t cap) {
  char *nb = malloc(cap);
  if (nb && n)
    memcpy(nb, old, n);
  cli_wipe_free(old, n);
  return nb;
}

char *cli_read_file(const char *path, size_t max, size_t *len) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f) {
    cli_error(CLI_EXIT_INPUT, path, "%s", strerror(errno));
    return NULL;
  }
  /* No stdio buffer: it would keep a copy of a key or passphrase that
   * fclose frees unwiped; unbuffered, fread reads straight into buf. */
  setvbuf(f, NULL, _IONBF, 0);
  /* A regular file's size is known: one buffer, never grown. */
  struct stat st;
  size_t cap = 4096, n = 0;
  if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
    cap = (uint64_t)st.st_size < max ? (size_t)st.st_size + 2 : max + 2;
  char *buf = malloc(cap);
  while (buf) {
    if (n + 1 >= cap) {
      if (cap > max + 1)
        break;
      buf = grow_wiped(buf, n, cap * 2 > max + 2 ? max + 2 : cap * 2);
      cap = cap * 2 > max + 2 ? max + 2 : cap * 2;
      if (!buf)
        break;
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
    cli_wipe_free(buf, n);
    cli_error(CLI_EXIT_INPUT, strcmp(path, "-") == 0 ? "standard input" : path,
              bad ? "read error" : "file too large");
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
  volatile char *v = s;
  for (size_t i = line; i < len; i++)
    v[i] = 0;
  if (line == 0) {
    cli_wipe_free(s, len);
    cli_error(CLI_EXIT_INPUT, path, "passphrase file is empty");
    return NULL;
  }
  return s;
}

int cli_stdout_done(void) {
  if (fflush(stdout) != 0 || ferror(stdout))
    return cli_error(CLI_EXIT_FAIL, "stdout", "write error: %s",
                     strerror(errno));
  return 0;
}

/* The one write of a result to stdout; a failed write leaves stdout's
 * error flag set for cli_stdout_done. */
static int print_out(const char *s, int newline) {
  fputs(s, stdout);
  if (newline)
    putchar('\n');
  return cli_stdout_done() == 0 ? 0 : -1;
}

int cli_print_line(const char *s) {
  return print_out(s, 1);
}

int cli_print_text(const char *s) {
  size_t n = strlen(s);
  return print_out(s, n == 0 || s[n - 1] != '\n');
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

/* ---- one object as JSON or text ------------------------------------------ */

/* Length of the valid UTF-8 sequence at p (1 to 4), or 0. */
static size_t utf8_len(const unsigned char *p) {
  size_t n = p[0] < 0x80             ? 1
             : (p[0] & 0xE0) == 0xC0 ? 2
             : (p[0] & 0xF0) == 0xE0 ? 3
             : (p[0] & 0xF8) == 0xF0 ? 4
                                     : 0;
  if (n == 2 && p[0] < 0xC2)
    return 0; /* overlong */
  for (size_t i = 1; i < n; i++)
    if ((p[i] & 0xC0) != 0x80)
      return 0;
  return n;
}

/*
 * A JSON string: quotes, backslashes and control characters escaped as
 * RFC 8259 says; valid UTF-8 as it is; a byte that is not UTF-8 becomes
 * U+FFFD, so the output is always valid JSON.
 */
static void json_string_out(FILE *f, const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  fputc('"', f);
  while (*p) {
    size_t n = utf8_len(p);
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p == '\n')
      fputs("\\n", f);
    else if (*p == '\t')
      fputs("\\t", f);
    else if (*p == '\r')
      fputs("\\r", f);
    else if (*p < 0x20 || *p == 0x7f)
      fprintf(f, "\\u%04x", *p);
    else if (n == 0)
      fputs("\\ufffd", f);
    else
      fwrite(p, 1, n, f);
    p += n ? n : 1;
  }
  fputc('"', f);
}

int cli_print_facts(const cli_fact *facts, size_t n, int json) {
  if (json)
    fputc('{', stdout);
  for (size_t i = 0; i < n; i++) {
    const cli_fact *x = &facts[i];
    if (json) {
      if (i)
        fputc(',', stdout);
      json_string_out(stdout, x->name);
      fputc(':', stdout);
      if (x->kind == CLI_FACT_STR)
        json_string_out(stdout, x->s ? x->s : "");
      else if (x->kind == CLI_FACT_INT)
        printf("%lld", x->i);
      else
        fputs(x->i ? "true" : "false", stdout);
      continue;
    }
    char label[40];
    snprintf(label, sizeof(label), "%s:", x->name);
    if (x->kind == CLI_FACT_STR)
      printf("%-12s %s\n", label, x->s ? x->s : "");
    else if (x->kind == CLI_FACT_INT)
      printf("%-12s %lld\n", label, x->i);
    else
      printf("%-12s %s\n", label, x->i ? "yes" : "no");
  }
  if (json)
    fputs("}\n", stdout);
  return cli_stdout_done();
}
