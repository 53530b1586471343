/*
 * pkjwt-token: get an OAuth 2.0 access token with the client credentials
 * grant and a Private Key JWT client assertion (RFC 7523), print it, and
 * optionally check it or keep it in a per-user cache file.
 *
 * Only the public API (<pkjwt.h>) and tools/cli.h are used. The cache uses
 * OpenSSL's EVP for the file name (a SHA-256), nothing else from OpenSSL.
 */
#define _DEFAULT_SOURCE 1
#define _POSIX_C_SOURCE 200809L

#include "cli.h"
#include "provider.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <pkjwt.h>

/* A key file is a few KiB; refuse anything absurd before parsing it. */
#define KEY_MAX_BYTES (1024u * 1024u)

/* ---- the options table: drives getopt_long and --help ------------------- */

enum {
  OPT_KEY = 256,
  OPT_CLIENT_ID,
  OPT_SCOPE,
  OPT_BASE_URL,
  OPT_TOKEN_ENDPOINT,
  OPT_CHECK_ENDPOINT,
  OPT_ISSUER,
  OPT_ALG,
  OPT_AUDIENCE,
  OPT_JSON,
  OPT_CHECK,
  OPT_CACERT,
  OPT_TIMEOUT,
  OPT_CONNECT_TIMEOUT,
  OPT_RETRIES,
  OPT_CACHE,
  OPT_PASSPHRASE_FILE,
  OPT_USER_AGENT,
  OPT_VERBOSE,
  OPT_HELP,
  OPT_VERSION
};

struct tool_option {
  const char *name;
  int id;
  const char *metavar; /* NULL: the option takes no argument */
  const char *help;
};

static const struct tool_option tool_options[] = {
    {"key", OPT_KEY, "KEY",
     "private key file (PEM or DER, PKCS#8, SEC1 or PKCS#1; - = stdin); "
     "env PKJWT_KEY"},
    {"client-id", OPT_CLIENT_ID, "ID",
     "the OIDC client's id (iss and sub); env PKJWT_CLIENT_ID"},
    {"scope", OPT_SCOPE, "SCOPE",
     "e.g. contact-centre:TENANT_ID:USER_ID; env PKJWT_SCOPE"},
    {"base-url", OPT_BASE_URL, "URL",
     "provider base URL (default " PKJWT_DEFAULT_BASE_URL "); env "
     "PKJWT_BASE_URL"},
    {"token-endpoint", OPT_TOKEN_ENDPOINT, "URL",
     "token endpoint (default BASE" PKJWT_TOKEN_PATH ")"},
    {"check-endpoint", OPT_CHECK_ENDPOINT, "URL",
     "check endpoint (default BASE" PKJWT_CHECK_PATH ")"},
    {"issuer", OPT_ISSUER, "URL",
     "issuer identifier (default BASE" PKJWT_ISSUER_PATH ")"},
    {"alg", OPT_ALG, "ALG",
     "RS256..RS512, PS256..PS512, ES256..ES512 (default: follows the key)"},
    {"audience", OPT_AUDIENCE, "MODE",
     "token-endpoint (default), issuer, auto, or a URL"},
    {"json", OPT_JSON, NULL, "print the whole token response"},
    {"check", OPT_CHECK, NULL,
     "check the token at the check endpoint; print its answer"},
    {"cacert", OPT_CACERT, "FILE",
     "CA bundle to trust instead of the system's"},
    {"timeout", OPT_TIMEOUT, "SECONDS", "total time per attempt (default 30)"},
    {"connect-timeout", OPT_CONNECT_TIMEOUT, "SECONDS",
     "time to connect (default 10)"},
    {"retries", OPT_RETRIES, "N",
     "extra attempts on network errors, 408, 429, 5xx (default 3)"},
    {"cache", OPT_CACHE, NULL,
     "reuse a token from $XDG_CACHE_HOME/pkjwt until it nears expiry"},
    {"passphrase-file", OPT_PASSPHRASE_FILE, "FILE",
     "passphrase of an encrypted key: first line of FILE (- = stdin)"},
    {"user-agent", OPT_USER_AGENT, "UA", "User-Agent header"},
    {"verbose", OPT_VERBOSE, NULL,
     "one line on stderr per event (never a token)"},
    {"help", OPT_HELP, NULL, "show this help and exit"},
    {"version", OPT_VERSION, NULL, "show the version and exit"},
};
#define N_OPTIONS (sizeof(tool_options) / sizeof(tool_options[0]))

/* Print text from column indent, wrapped at spaces before column 80. */
static void print_wrapped(FILE *f, const char *text, int indent) {
  const int width = 80 - indent;
  const char *p = text;
  while (*p) {
    int n = (int)strlen(p);
    if (n > width) {
      n = width;
      while (n > 0 && p[n] != ' ')
        n--;
      if (n == 0) /* one long word: let it run over */
        n = (int)strcspn(p, " ");
    }
    fprintf(f, "%.*s\n", n, p);
    p += n;
    while (*p == ' ')
      p++;
    if (*p)
      fprintf(f, "%*s", indent, "");
  }
}

static void usage(FILE *f) {
  fprintf(f,
          "Usage: %s --key KEY --client-id ID --scope SCOPE [OPTION...]\n"
          "Get an OAuth 2.0 access token (client credentials, Private Key "
          "JWT)\nand print it alone on one line.\n\nOptions:\n",
          cli_progname);
  for (size_t i = 0; i < N_OPTIONS; i++) {
    const struct tool_option *o = &tool_options[i];
    char left[64];
    snprintf(left, sizeof(left), "--%s%s%s", o->name, o->metavar ? " " : "",
             o->metavar ? o->metavar : "");
    fprintf(f, "  %-26s ", left);
    print_wrapped(f, o->help, 29);
  }
  fprintf(f, "\nExit status: 0 ok, 2 usage, 3 key or file, 4 network/timeout/"
             "TLS,\n5 refused by the server or a malformed answer. See "
             "pkjwt-token(1).\n");
}

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  cli_error(CLI_EXIT_USAGE, NULL, "%s", msg);
  fprintf(stderr, "Try '%s --help'.\n", cli_progname);
  return CLI_EXIT_USAGE;
}

/* ---- settings ------------------------------------------------------------ */

struct settings {
  const char *key_path;
  const char *client_id;
  const char *scope;
  const char *base_url;
  const char *token_endpoint;
  const char *check_endpoint;
  const char *issuer;
  const char *alg;
  const char *audience;
  const char *cacert;
  const char *passphrase_file;
  const char *user_agent;
  long timeout;
  long connect_timeout;
  long retries;
  int json, check, cache, verbose;
};

/* An environment variable that is set and not empty, else NULL. */
static const char *env_or_null(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

/* malloc'd a + b, or NULL. */
static char *concat(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *s = malloc(la + lb + 1);
  if (!s)
    return NULL;
  memcpy(s, a, la);
  memcpy(s + la, b, lb + 1);
  return s;
}

/* malloc'd copy of url without trailing slashes. */
static char *strip_slashes(const char *url) {
  size_t n = strlen(url);
  while (n > 0 && url[n - 1] == '/')
    n--;
  char *s = malloc(n + 1);
  if (!s)
    return NULL;
  memcpy(s, url, n);
  s[n] = '\0';
  return s;
}

/* The endpoints the tool uses, all malloc'd (NULL when left to the
 * library, which then fails or uses its own default). */
struct endpoints {
  char *base;
  char *token;
  char *check;
  char *issuer;
};

static void endpoints_free(struct endpoints *e) {
  free(e->base);
  free(e->token);
  free(e->check);
  free(e->issuer);
}

/*
 * Work out the token, check and issuer URLs. A --token-endpoint that ends in
 * the Puzzel path gives the base for the other two, so an on-premises token
 * endpoint is never paired with app.puzzel.com's check endpoint by accident.
 */
static int resolve_endpoints(struct endpoints *e, const struct settings *s) {
  memset(e, 0, sizeof(*e));
  const char *base = s->base_url;
  if (base)
    e->base = strip_slashes(base);
  else if (s->token_endpoint) {
    char *t = strip_slashes(s->token_endpoint);
    size_t lt = t ? strlen(t) : 0, lp = strlen(PKJWT_TOKEN_PATH);
    if (t && lt > lp && strcmp(t + lt - lp, PKJWT_TOKEN_PATH) == 0) {
      t[lt - lp] = '\0';
      e->base = t;
    } else
      free(t);
  } else
    e->base = strip_slashes(PKJWT_DEFAULT_BASE_URL);

  if (s->token_endpoint)
    e->token = strip_slashes(s->token_endpoint);
  else if (e->base)
    e->token = concat(e->base, PKJWT_TOKEN_PATH);
  if (s->check_endpoint)
    e->check = strip_slashes(s->check_endpoint);
  else if (e->base)
    e->check = concat(e->base, PKJWT_CHECK_PATH);
  if (s->issuer)
    e->issuer = strip_slashes(s->issuer);
  else if (e->base)
    e->issuer = concat(e->base, PKJWT_ISSUER_PATH);
  if (!e->token || (e->base && (!e->check || !e->issuer)))
    return cli_error(CLI_EXIT_FAIL, NULL, "out of memory");
  return 0;
}

/* ---- printing ------------------------------------------------------------ */

/* Print a block (JSON) to stdout with exactly one trailing newline. */
static int print_block(const char *s) {
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
    n--;
  if (fwrite(s, 1, n, stdout) != n || putchar('\n') == EOF ||
      fflush(stdout) != 0)
    return cli_error(CLI_EXIT_FAIL, "stdout", "write error: %s",
                     strerror(errno));
  return 0;
}

/*
 * A failed request in one to three lines: what failed, the server's words,
 * the hint. Returns the exit code.
 */
static int report_request_error(const char *subject, int code,
                                const pkjwt_error *err) {
  int exit_code = cli_exit_for(code);
  if (exit_code == CLI_EXIT_OK || exit_code == CLI_EXIT_FAIL) {
    /* signing errors at request time are about the key */
    if (code == PKJWT_ERR_CRYPTO)
      exit_code = CLI_EXIT_INPUT;
    else if (exit_code == CLI_EXIT_OK)
      exit_code = CLI_EXIT_FAIL;
  }
  if (code == PKJWT_ERR_ALG)
    subject = "--alg"; /* the alg does not fit the key: no request went out */
  const char *what = pkjwt_strerror(code);
  /* the library often names the URL itself; do not say it twice */
  const char *msg = err->message;
  size_t sl = subject ? strlen(subject) : 0;
  if (sl && strncmp(msg, subject, sl) == 0 && msg[sl] == ':' &&
      msg[sl + 1] == ' ')
    msg += sl + 2;
  int server_words = err->oauth_error[0] != '\0';
  if (code == PKJWT_ERR_OAUTH || code == PKJWT_ERR_HTTP ||
      code == PKJWT_ERR_RESPONSE) {
    if (err->http_status)
      cli_error(exit_code, subject, "%s (HTTP %ld)", what, err->http_status);
    else
      cli_error(exit_code, subject, "%s", what);
    if (server_words)
      cli_error(exit_code, "server", "%s%s%s", err->oauth_error,
                msg[0] ? ": " : "", msg);
    else if (msg[0] && code != PKJWT_ERR_OAUTH)
      cli_error(exit_code, "detail", "%s", msg);
  } else {
    cli_error(exit_code, subject, "%s", msg[0] ? msg : what);
  }
  if (err->hint[0])
    cli_error(exit_code, "hint", "%s", err->hint);
  return exit_code;
}

/* ---- events -------------------------------------------------------------- */

static const char *event_name(pkjwt_event ev) {
  switch (ev) {
  case PKJWT_EVENT_FETCHED:
    return "fetched";
  case PKJWT_EVENT_REFRESHED:
    return "refreshed";
  case PKJWT_EVENT_RETRIED:
    return "retried";
  case PKJWT_EVENT_FAILED:
    return "failed";
  }
  return "event";
}

static void on_event(void *userdata, pkjwt_event ev, const char *message) {
  (void)userdata;
  cli_error(0, event_name(ev), "%s", message ? message : "");
}

static void verbose_line(const struct settings *s, const char *subject,
                         const char *msg) {
  if (s->verbose)
    cli_error(0, subject, "%s", msg);
}

/* ---- the token cache ------------------------------------------------------
 *
 * One file per (token endpoint, client id, scope, key thumbprint), named by
 * the SHA-256 of those, in $XDG_CACHE_HOME/pkjwt (0700). The file (0600) is
 * written to a temporary file and renamed into place; a separate NAME.lock
 * file is held with an fcntl write lock around read, fetch and write, so
 * invocations running side by side wait for one request and share its token.
 *
 * Format (text, then raw bytes of known length):
 *   pkjwt-token cache 1
 *   expires_at EPOCH_SECONDS
 *   expires_in SECONDS
 *   token LEN
 *   <LEN bytes>
 *   response LEN
 *   <LEN bytes>
 * Anything else is corrupt, ignored, and replaced.
 */

#define CACHE_MAGIC "pkjwt-token cache 1\n"
#define CACHE_MAX_FILE (2u * 1024u * 1024u)

struct cache {
  char *dir;   /* .../pkjwt */
  char *path;  /* dir/HEX */
  char *lock;  /* dir/HEX.lock */
  int lock_fd; /* -1 when not locked */
};

struct cached_token {
  int64_t expires_at;
  int64_t expires_in;
  char *access_token;
  char *response;
};

static void cached_token_clear(struct cached_token *t) {
  pkjwt_str_free(t->access_token);
  pkjwt_str_free(t->response);
  memset(t, 0, sizeof(*t));
}

/* malloc'd copy of n bytes, NUL-terminated. */
static char *dup_bytes(const char *p, size_t n) {
  char *s = malloc(n + 1);
  if (!s)
    return NULL;
  memcpy(s, p, n);
  s[n] = '\0';
  return s;
}

/* The library's refresh rule, so a cached file and a linked client agree. */
static int token_fresh(int64_t expires_at, int64_t expires_in, int64_t now) {
  pkjwt_token t = {0};
  t.expires_at = expires_at;
  t.expires_in = expires_in;
  return now < pkjwt_token_refresh_at(&t);
}

/* mkdir with mode 0700 if absent; 0 when it exists as a directory. */
static int ensure_dir(const char *path) {
  if (mkdir(path, 0700) == 0 || errno == EEXIST) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
      return 0;
    errno = ENOTDIR;
  }
  return -1;
}

static int hex_sha256(char out[65], const struct settings *s,
                      const char *token_endpoint, const char *thumbprint) {
  const char *parts[4] = {token_endpoint, s->client_id, s->scope, thumbprint};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
  for (size_t i = 0; ok && i < 4; i++) {
    /* length-prefixed, so ("ab","c") and ("a","bc") differ */
    uint64_t len = strlen(parts[i]);
    unsigned char lenbuf[8];
    for (int b = 0; b < 8; b++)
      lenbuf[b] = (unsigned char)(len >> (8 * (7 - b)));
    ok = EVP_DigestUpdate(ctx, lenbuf, sizeof(lenbuf)) == 1 &&
         EVP_DigestUpdate(ctx, parts[i], (size_t)len) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32;
  EVP_MD_CTX_free(ctx);
  if (!ok)
    return -1;
  static const char hex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < 32; i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  out[64] = '\0';
  return 0;
}

static void cache_close(struct cache *c) {
  if (c->lock_fd >= 0)
    close(c->lock_fd); /* releases the fcntl lock */
  free(c->dir);
  free(c->path);
  free(c->lock);
  memset(c, 0, sizeof(*c));
  c->lock_fd = -1;
}

/* A file we may trust: a regular file of ours that only we can access. */
static int file_private(const struct stat *st) {
  return S_ISREG(st->st_mode) && st->st_uid == geteuid() &&
         (st->st_mode & 077) == 0;
}

/*
 * Find the cache folder, make it, and take the lock. Returns 0 when the
 * cache can be used; -1 after a warning on stderr when it cannot (the tool
 * then works without it).
 */
static int cache_open(struct cache *c, const struct settings *s,
                      const char *token_endpoint, const char *thumbprint) {
  memset(c, 0, sizeof(*c));
  c->lock_fd = -1;
  char *root = NULL;
  const char *xdg = env_or_null("XDG_CACHE_HOME");
  if (xdg && xdg[0] == '/') {
    root = strip_slashes(xdg);
  } else {
    const char *home = env_or_null("HOME");
    if (!home) {
      struct passwd *pw = getpwuid(geteuid());
      home = pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir : NULL;
    }
    if (!home) {
      cli_error(0, "cache", "warning: no XDG_CACHE_HOME or HOME; not caching");
      return -1;
    }
    char *h = strip_slashes(home);
    root = h ? concat(h, "/.cache") : NULL;
    free(h);
  }
  char hex[65];
  if (!root || hex_sha256(hex, s, token_endpoint, thumbprint) != 0) {
    free(root);
    cli_error(0, "cache", "warning: cannot name the cache file; not caching");
    return -1;
  }
  c->dir = concat(root, "/pkjwt");
  char name[80];
  snprintf(name, sizeof(name), "/%s", hex);
  c->path = c->dir ? concat(c->dir, name) : NULL;
  c->lock = c->path ? concat(c->path, ".lock") : NULL;
  if (!c->lock) {
    free(root);
    cache_close(c);
    cli_error(0, "cache", "warning: out of memory; not caching");
    return -1;
  }
  if (ensure_dir(root) != 0 || ensure_dir(c->dir) != 0) {
    cli_error(0, c->dir, "warning: %s; not caching", strerror(errno));
    free(root);
    cache_close(c);
    return -1;
  }
  free(root);
  struct stat st;
  if (lstat(c->dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
      st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
    cli_error(0, c->dir,
              "warning: not a folder of yours closed to others (chmod 700); "
              "not caching");
    cache_close(c);
    return -1;
  }
  int fd = open(c->lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 || fstat(fd, &st) != 0 || !file_private(&st)) {
    cli_error(0, c->lock, "warning: %s; not caching",
              fd < 0 ? strerror(errno)
                     : "not a private file of yours (mode 0600)");
    if (fd >= 0)
      close(fd);
    cache_close(c);
    return -1;
  }
  struct flock fl;
  memset(&fl, 0, sizeof(fl));
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  int r;
  do
    r = fcntl(fd, F_SETLKW, &fl);
  while (r != 0 && errno == EINTR);
  if (r != 0) {
    cli_error(0, c->lock, "warning: cannot lock: %s; not caching",
              strerror(errno));
    close(fd);
    cache_close(c);
    return -1;
  }
  c->lock_fd = fd;
  return 0;
}

/* Parse "WORD NUMBER\n" at *p; advance. */
static int parse_field(const char **p, const char *end, const char *word,
                       int64_t *out) {
  size_t wl = strlen(word);
  if ((size_t)(end - *p) < wl + 2 || memcmp(*p, word, wl) != 0 ||
      (*p)[wl] != ' ')
    return -1;
  const char *q = *p + wl + 1;
  int64_t v = 0;
  int digits = 0;
  while (q < end && *q >= '0' && *q <= '9' && digits < 18) {
    v = v * 10 + (*q - '0');
    q++;
    digits++;
  }
  if (digits == 0 || q >= end || *q != '\n')
    return -1;
  *out = v;
  *p = q + 1;
  return 0;
}

/* Parse "WORD LEN\n<LEN bytes>\n" at *p into a malloc'd string. */
static int parse_blob(const char **p, const char *end, const char *word,
                      char **out) {
  int64_t len;
  if (parse_field(p, end, word, &len) != 0 || len <= 0 ||
      len > (int64_t)(end - *p) - 1 || (*p)[len] != '\n' ||
      memchr(*p, '\0', (size_t)len) != NULL)
    return -1;
  *out = dup_bytes(*p, (size_t)len);
  if (!*out)
    return -1;
  *p += len + 1;
  return 0;
}

/*
 * Read the cache file into *t. 1 when a well-formed entry was read, 0 when
 * there is none or it is corrupt (ignored), after a warning when the file is
 * not private.
 */
static int cache_read(const struct cache *c, struct cached_token *t) {
  memset(t, 0, sizeof(*t));
  int fd = open(c->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT)
      cli_error(0, c->path, "warning: %s; ignored", strerror(errno));
    return 0;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !file_private(&st)) {
    cli_error(0, c->path,
              "warning: not a private file of yours (mode 0600); ignored");
    close(fd);
    return 0;
  }
  if (st.st_size <= 0 || (uint64_t)st.st_size > CACHE_MAX_FILE) {
    close(fd);
    return 0;
  }
  size_t size = (size_t)st.st_size, got = 0;
  char *buf = malloc(size);
  while (buf && got < size) {
    ssize_t r = read(fd, buf + got, size - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    got += (size_t)r;
  }
  close(fd);
  if (!buf || got != size) {
    cli_wipe_free(buf, size);
    return 0;
  }
  const char *p = buf, *end = buf + size;
  size_t ml = strlen(CACHE_MAGIC);
  int ok = size > ml && memcmp(p, CACHE_MAGIC, ml) == 0;
  p += ok ? ml : 0;
  ok = ok && parse_field(&p, end, "expires_at", &t->expires_at) == 0 &&
       parse_field(&p, end, "expires_in", &t->expires_in) == 0 &&
       parse_blob(&p, end, "token", &t->access_token) == 0 &&
       parse_blob(&p, end, "response", &t->response) == 0 && p == end &&
       strcspn(t->access_token, " \t\r\n") == strlen(t->access_token);
  cli_wipe_free(buf, size);
  if (!ok) {
    cached_token_clear(t);
    return 0;
  }
  return 1;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Write the entry through a temp file and rename; a warning on failure. */
static void cache_write(const struct cache *c, const pkjwt_token *tok) {
  const char *resp = tok->response_json ? tok->response_json : "";
  size_t tl = strlen(tok->access_token), rl = strlen(resp);
  if (tl == 0 || rl == 0 || tok->expires_in <= 0)
    return;
  char head[160];
  int hl = snprintf(head, sizeof(head),
                    CACHE_MAGIC "expires_at %" PRId64 "\nexpires_in %" PRId64
                                "\ntoken %zu\n",
                    tok->expires_at, tok->expires_in, tl);
  char mid[48];
  int ml = snprintf(mid, sizeof(mid), "\nresponse %zu\n", rl);
  if (hl <= 0 || (size_t)hl >= sizeof(head) || ml <= 0 ||
      (size_t)ml >= sizeof(mid))
    return;
  char *tmp = concat(c->path, ".tmpXXXXXX");
  if (!tmp)
    return;
  int fd = mkstemp(tmp); /* 0600, O_EXCL */
  if (fd < 0) {
    cli_error(0, c->dir, "warning: cannot write the cache: %s",
              strerror(errno));
    free(tmp);
    return;
  }
  int ok = fchmod(fd, 0600) == 0 && write_all(fd, head, (size_t)hl) == 0 &&
           write_all(fd, tok->access_token, tl) == 0 &&
           write_all(fd, mid, (size_t)ml) == 0 &&
           write_all(fd, resp, rl) == 0 && write_all(fd, "\n", 1) == 0 &&
           fsync(fd) == 0;
  ok = close(fd) == 0 && ok;
  if (!ok || rename(tmp, c->path) != 0) {
    cli_error(0, c->dir, "warning: cannot write the cache: %s",
              strerror(errno));
    unlink(tmp);
  }
  free(tmp);
}

static void cache_drop(const struct cache *c) {
  if (unlink(c->path) != 0 && errno != ENOENT)
    cli_error(0, c->path, "warning: cannot remove: %s", strerror(errno));
}

/* ---- main ---------------------------------------------------------------- */

static int parse_args(struct settings *s, int argc, char **argv) {
  struct option longopts[N_OPTIONS + 1];
  for (size_t i = 0; i < N_OPTIONS; i++) {
    longopts[i].name = tool_options[i].name;
    longopts[i].has_arg =
        tool_options[i].metavar ? required_argument : no_argument;
    longopts[i].flag = NULL;
    longopts[i].val = tool_options[i].id;
  }
  memset(&longopts[N_OPTIONS], 0, sizeof(longopts[N_OPTIONS]));

  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
    switch (c) {
    case OPT_KEY:
      s->key_path = optarg;
      break;
    case OPT_CLIENT_ID:
      s->client_id = optarg;
      break;
    case OPT_SCOPE:
      s->scope = optarg;
      break;
    case OPT_BASE_URL:
      s->base_url = optarg;
      break;
    case OPT_TOKEN_ENDPOINT:
      s->token_endpoint = optarg;
      break;
    case OPT_CHECK_ENDPOINT:
      s->check_endpoint = optarg;
      break;
    case OPT_ISSUER:
      s->issuer = optarg;
      break;
    case OPT_ALG:
      s->alg = optarg;
      break;
    case OPT_AUDIENCE:
      s->audience = optarg;
      break;
    case OPT_JSON:
      s->json = 1;
      break;
    case OPT_CHECK:
      s->check = 1;
      break;
    case OPT_CACERT:
      s->cacert = optarg;
      break;
    case OPT_TIMEOUT:
      if (cli_parse_long(optarg, 1, 3600, &s->timeout) != 0)
        return usage_error("--timeout: '%s' is not a number of seconds "
                           "from 1 to 3600",
                           optarg);
      break;
    case OPT_CONNECT_TIMEOUT:
      if (cli_parse_long(optarg, 1, 3600, &s->connect_timeout) != 0)
        return usage_error("--connect-timeout: '%s' is not a number of "
                           "seconds from 1 to 3600",
                           optarg);
      break;
    case OPT_RETRIES:
      if (cli_parse_long(optarg, 0, 10, &s->retries) != 0)
        return usage_error("--retries: '%s' is not a number from 0 to 10",
                           optarg);
      break;
    case OPT_CACHE:
      s->cache = 1;
      break;
    case OPT_PASSPHRASE_FILE:
      s->passphrase_file = optarg;
      break;
    case OPT_USER_AGENT:
      s->user_agent = optarg;
      break;
    case OPT_VERBOSE:
      s->verbose = 1;
      break;
    case OPT_HELP:
      usage(stdout);
      return -1;
    case OPT_VERSION:
      printf("%s %s\n", cli_progname, pkjwt_version());
      return -1;
    case ':':
      return usage_error("%s needs a value", argv[optind - 1]);
    default:
      return usage_error("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return usage_error("unexpected argument '%s'", argv[optind]);
  return 0;
}

/* Fill the settings' gaps from the environment and check what is needed. */
static int complete_settings(struct settings *s) {
  if (!s->key_path)
    s->key_path = env_or_null("PKJWT_KEY");
  if (!s->client_id)
    s->client_id = env_or_null("PKJWT_CLIENT_ID");
  if (!s->scope)
    s->scope = env_or_null("PKJWT_SCOPE");
  if (!s->base_url)
    s->base_url = env_or_null("PKJWT_BASE_URL");
  if (!s->key_path)
    return usage_error("%s is required (or set PKJWT_KEY)", "--key");
  if (!s->client_id || !*s->client_id)
    return usage_error("%s is required (or set PKJWT_CLIENT_ID)",
                       "--client-id");
  if (!s->scope || !*s->scope)
    return usage_error("%s is required (or set PKJWT_SCOPE)", "--scope");
  if (strcmp(s->key_path, "-") == 0 && s->passphrase_file &&
      strcmp(s->passphrase_file, "-") == 0)
    return usage_error("%s: the key and the passphrase cannot both come "
                       "from standard input",
                       "--passphrase-file");
  if (s->json && s->check)
    return usage_error("%s: choose --json or --check, not both", "--json");
  return 0;
}

static int parse_audience(pkjwt_client_options *o, const char *a) {
  if (!a || strcmp(a, "token-endpoint") == 0)
    o->audience_mode = PKJWT_AUD_TOKEN_ENDPOINT;
  else if (strcmp(a, "issuer") == 0)
    o->audience_mode = PKJWT_AUD_ISSUER;
  else if (strcmp(a, "auto") == 0)
    o->audience_mode = PKJWT_AUD_AUTO;
  else if (strncmp(a, "https://", 8) == 0 || strncmp(a, "http://", 7) == 0) {
    o->audience_mode = PKJWT_AUD_CUSTOM;
    o->audience = a;
  } else
    return usage_error("--audience: '%s' is not token-endpoint, issuer, auto "
                       "or a URL",
                       a);
  return 0;
}

/* Fetch a new token with the client, reporting failures. */
static int fetch(pkjwt_token **out, pkjwt_client *client,
                 const struct endpoints *ep) {
  pkjwt_error err;
  memset(&err, 0, sizeof(err));
  int rc = pkjwt_client_get_token(out, client, &err);
  if (rc != PKJWT_OK)
    return report_request_error(ep->token, rc, &err);
  return 0;
}

/* Call the check endpoint; the caller reports a failure from err. */
static int check_token(char **json, pkjwt_client *client, const char *token,
                       pkjwt_error *err) {
  memset(err, 0, sizeof(*err));
  return pkjwt_client_check(json, client, token, err);
}

static int run(const struct settings *s) {
  struct endpoints ep;
  int rc = resolve_endpoints(&ep, s);
  if (rc != 0) {
    endpoints_free(&ep);
    return rc;
  }
  pkjwt_client_options o = PKJWT_CLIENT_OPTIONS_INIT;
  o.base_url = ep.base;
  o.token_endpoint = ep.token;
  o.check_endpoint = ep.check;
  o.issuer = ep.issuer;
  o.client_id = s->client_id;
  o.scope = s->scope;
  o.ca_file = s->cacert;
  o.user_agent = s->user_agent;
  o.timeout_ms = s->timeout * 1000;
  o.connect_timeout_ms = s->connect_timeout * 1000;
  o.retries = (int)s->retries;
  if (s->verbose)
    o.on_event = on_event;
  if ((rc = parse_audience(&o, s->audience)) != 0) {
    endpoints_free(&ep);
    return rc;
  }
  if (s->alg) {
    pkjwt_error aerr;
    memset(&aerr, 0, sizeof(aerr));
    if (pkjwt_alg_from_name(&o.alg, s->alg, &aerr) != PKJWT_OK) {
      endpoints_free(&ep);
      return usage_error("--alg: '%s' is not one of RS256, RS384, RS512, "
                         "PS256, PS384, PS512, ES256, ES384, ES512",
                         s->alg);
    }
  }
  if (s->check && !ep.check) {
    endpoints_free(&ep);
    return usage_error("%s: give --check-endpoint or --base-url with a token "
                       "endpoint that does not end in " PKJWT_TOKEN_PATH,
                       "--check");
  }
  if (!ep.issuer && (o.audience_mode == PKJWT_AUD_ISSUER ||
                     o.audience_mode == PKJWT_AUD_AUTO)) {
    endpoints_free(&ep);
    return usage_error("%s: give --issuer or --base-url with a token "
                       "endpoint that does not end in " PKJWT_TOKEN_PATH,
                       "--audience");
  }

  /* the key */
  char *pass = NULL;
  if (s->passphrase_file) {
    pass = cli_read_secret_file(s->passphrase_file);
    if (!pass) {
      endpoints_free(&ep);
      return CLI_EXIT_INPUT;
    }
  }
  pkjwt_key *key = NULL;
  pkjwt_error err;
  memset(&err, 0, sizeof(err));
  const char *key_label =
      strcmp(s->key_path, "-") == 0 ? "standard input" : s->key_path;
  if (strcmp(s->key_path, "-") == 0) {
    /* a key piped in from a secret store never touches the disk */
    size_t len = 0;
    char *pem = cli_read_file("-", KEY_MAX_BYTES, &len);
    if (!pem) {
      cli_secret_free(pass);
      endpoints_free(&ep);
      return CLI_EXIT_INPUT;
    }
    rc = pkjwt_key_load_mem(&key, pem, len, pass, &err);
    cli_wipe_free(pem, len);
  } else {
    rc = pkjwt_key_load_file(&key, s->key_path, pass, &err);
  }
  cli_secret_free(pass);
  if (rc != PKJWT_OK) {
    endpoints_free(&ep);
    int code = cli_exit_for(rc);
    return cli_pkjwt_error(code == CLI_EXIT_USAGE ? CLI_EXIT_INPUT : code,
                           key_label, &err);
  }
  cli_warning(key_label, &err);
  if (!pkjwt_key_has_private(key)) {
    pkjwt_key_free(key);
    endpoints_free(&ep);
    return cli_error(CLI_EXIT_INPUT, key_label,
                     "a private key is needed, this is a public key");
  }

  o.key = key;
  pkjwt_client *client = NULL;
  memset(&err, 0, sizeof(err));
  rc = pkjwt_client_new(&client, &o, &err);
  if (rc != PKJWT_OK) {
    pkjwt_key_free(key);
    endpoints_free(&ep);
    /* the library names the URL it refuses; an alg it names alone */
    return cli_pkjwt_error(cli_exit_for(rc),
                           rc == PKJWT_ERR_ALG ? "--alg" : NULL, &err);
  }

  struct cache cache;
  int cached = 0, use_cache = 0;
  struct cached_token ct;
  memset(&ct, 0, sizeof(ct));
  if (s->cache && ep.token) {
    use_cache =
        cache_open(&cache, s, ep.token, pkjwt_key_get_thumbprint(key)) == 0;
    if (use_cache && cache_read(&cache, &ct)) {
      int64_t now = (int64_t)time(NULL);
      if (token_fresh(ct.expires_at, ct.expires_in, now)) {
        cached = 1;
        if (s->verbose) {
          char msg[96];
          snprintf(msg, sizeof(msg), "token reused, expires in %" PRId64 " s",
                   ct.expires_at - now);
          verbose_line(s, "cache", msg);
        }
      } else {
        verbose_line(s, "cache", "token near expiry; getting a new one");
        cached_token_clear(&ct);
      }
    } else if (use_cache) {
      verbose_line(s, "cache", "no usable token; getting one");
    }
  }

  pkjwt_token *tok = NULL;
  const char *access_token = cached ? ct.access_token : NULL;
  const char *response = cached ? ct.response : NULL;
  rc = 0;
  if (!cached) {
    rc = fetch(&tok, client, &ep);
    if (rc == 0) {
      access_token = tok->access_token;
      response = tok->response_json;
      if (use_cache)
        cache_write(&cache, tok);
    }
  }

  if (rc == 0 && s->check) {
    char *json = NULL;
    pkjwt_error cerr;
    int crc = check_token(&json, client, access_token, &cerr);
    if (crc != PKJWT_OK && cached && cerr.http_status == 401) {
      /* the cached token was refused (revoked, or the provider's signing
       * key rotated): forget it and try once with a fresh one */
      verbose_line(s, "cache", "cached token refused; getting a new one");
      cache_drop(&cache);
      rc = fetch(&tok, client, &ep);
      if (rc == 0) {
        access_token = tok->access_token;
        cache_write(&cache, tok);
        crc = check_token(&json, client, access_token, &cerr);
      }
    }
    if (rc == 0 && crc != PKJWT_OK)
      rc = report_request_error(ep.check, crc, &cerr);
    if (rc == 0 && print_block(json) != 0)
      rc = CLI_EXIT_FAIL;
    pkjwt_str_free(json);
  } else if (rc == 0 && s->json) {
    if (!response || !*response)
      rc = cli_error(CLI_EXIT_REFUSED, ep.token, "no response body to print");
    else if (print_block(response) != 0)
      rc = CLI_EXIT_FAIL;
  } else if (rc == 0) {
    if (cli_print_line(access_token) != 0)
      rc = CLI_EXIT_FAIL;
  }

  pkjwt_token_free(tok);
  cached_token_clear(&ct);
  if (use_cache)
    cache_close(&cache);
  pkjwt_client_free(client);
  pkjwt_key_free(key);
  endpoints_free(&ep);
  return rc;
}

int main(int argc, char **argv) {
  cli_progname = "pkjwt-token";
  struct settings s;
  memset(&s, 0, sizeof(s));
  s.retries = -1;
  int rc = parse_args(&s, argc, argv);
  if (rc < 0)
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
  if (rc > 0)
    return rc;
  if ((rc = complete_settings(&s)) != 0)
    return rc;
  return run(&s);
}
