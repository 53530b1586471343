/*
 * pkjwt-token: get an OAuth 2.0 access token with the client credentials
 * grant and a Private Key JWT client assertion (RFC 7523), print it, and
 * optionally check it or keep it in a per-user cache file.
 *
 * Only the public API (<pkjwt.h>) and tools/cli.h are used: the library
 * resolves the URLs (pkjwt_client_token_endpoint...) and names the cache
 * file (pkjwt_client_cache_id).
 */
#define _DEFAULT_SOURCE 1
#define _POSIX_C_SOURCE 200809L

#include "cli.h"

#include <errno.h>
#include <fcntl.h>
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

#include <pkjwt.h>

/* A key file is a few KiB; refuse anything absurd before parsing it. */
#define KEY_MAX_BYTES (1024u * 1024u)

/* ---- the options table: parsing, --help, env, completion (tools/cli) ---- */

enum {
  OPT_KEY,
  OPT_CLIENT_ID,
  OPT_SCOPE,
  OPT_BASE_URL,
  OPT_TOKEN_ENDPOINT,
  OPT_CHECK_ENDPOINT,
  OPT_ISSUER,
  OPT_PROFILE,
  OPT_PARAM,
  OPT_CERT,
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
  OPT_VERSION,
  OPT_KEYSET,
  OPT_PKCS11_MODULE,
  OPT_PIN_FILE,
  OPT__COUNT
};
_Static_assert(OPT__COUNT <= CLI_MAX_OPTS, "raise CLI_MAX_OPTS");

static const char *const audience_values[] = {"token-endpoint", "issuer",
                                              "auto", NULL};

/* The library's profile names, filled by main() from its table. */
#define MAX_PROFILES 32
static const char *profile_values[MAX_PROFILES + 1];

static int run(const cli_args *a);

static const cli_opt tool_options[] = {
    {OPT_KEY, "key", 0, "KEY", CLI_OPT_FILE | CLI_OPT_STDIN,
     "private key file (PEM or DER, PKCS#8, SEC1 or PKCS#1; - = stdin)", NULL,
     "PKJWT_KEY"},
    {OPT_KEYSET, "keyset", 0, "DIR", CLI_OPT_FILE,
     "instead of --key: sign with the active key of this key set "
     "(pkjwt-keygen rotate)",
     NULL, "PKJWT_KEYSET"},
    {OPT_CLIENT_ID, "client-id", 0, "ID", 0,
     "the OIDC client's id (iss and sub)", NULL, "PKJWT_CLIENT_ID"},
    {OPT_SCOPE, "scope", 0, "SCOPE", 0, "e.g. contact-centre:TENANT_ID:USER_ID",
     NULL, "PKJWT_SCOPE"},
    {OPT_BASE_URL, "base-url", 0, "URL", 0,
     "provider base URL (default: the profile's)", NULL, "PKJWT_BASE_URL"},
    {OPT_TOKEN_ENDPOINT, "token-endpoint", 0, "URL", 0,
     "token endpoint (default: BASE and the profile's path)", NULL, NULL},
    {OPT_CHECK_ENDPOINT, "check-endpoint", 0, "URL", 0,
     "check endpoint (default: BASE and the profile's path)", NULL, NULL},
    {OPT_ISSUER, "issuer", 0, "URL", 0,
     "issuer identifier (default: BASE and the profile's path)", NULL, NULL},
    {OPT_PROFILE, "profile", 0, "NAME", 0,
     "the provider profile: default URLs, paths and hints (default puzzel)",
     profile_values, "PKJWT_PROFILE"},
    {OPT_PARAM, "param", 0, "FIELD", CLI_OPT_REPEAT,
     "an extra field NAME=VALUE of the token request, e.g. resource=URI "
     "(repeatable)",
     NULL, NULL},
    {OPT_CERT, "cert", 0, "CRT", CLI_OPT_FILE,
     "certificate of the key: adds the x5t#S256 header (Entra ID)", NULL, NULL},
    {OPT_ALG, "alg", 0, "ALG", 0, "the algorithm (default: follows the key)",
     cli_alg_values, NULL},
    {OPT_AUDIENCE, "audience", 0, "URL", CLI_OPT_OPEN,
     "what the assertion's aud names (default token-endpoint)", audience_values,
     NULL},
    {OPT_JSON, "json", 0, NULL, 0, "print the whole token response", NULL,
     NULL},
    {OPT_CHECK, "check", 0, NULL, 0,
     "check the token at the check endpoint; print its answer", NULL, NULL},
    {OPT_CACERT, "cacert", 0, "FILE", CLI_OPT_FILE,
     "CA bundle to trust instead of the system's", NULL, NULL},
    {OPT_TIMEOUT, "timeout", 0, "SECONDS", 0,
     "total time per attempt (default 30)", NULL, NULL},
    {OPT_CONNECT_TIMEOUT, "connect-timeout", 0, "SECONDS", 0,
     "time to connect (default 10)", NULL, NULL},
    {OPT_RETRIES, "retries", 0, "N", 0,
     "extra attempts on network errors, 408, 429, 5xx (default 3)", NULL, NULL},
    {OPT_CACHE, "cache", 0, NULL, 0,
     "reuse a token from $XDG_CACHE_HOME/pkjwt until it nears expiry", NULL,
     NULL},
    {OPT_PASSPHRASE_FILE, "passphrase-file", 0, "FILE",
     CLI_OPT_FILE | CLI_OPT_STDIN,
     "passphrase of an encrypted key: first line of FILE (- = stdin)", NULL,
     NULL},
    {OPT_PKCS11_MODULE, "pkcs11-module", 0, "SO", CLI_OPT_FILE,
     "PKCS#11 module for a pkcs11: KEY, when the URI has no module-path "
     "(default $PKJWT_PKCS11_MODULE)",
     NULL, NULL},
    {OPT_PIN_FILE, "pin-file", 0, "FILE", CLI_OPT_FILE,
     "the token's PIN for a pkcs11: KEY, first line of FILE (tried once)", NULL,
     NULL},
    {OPT_USER_AGENT, "user-agent", 0, "UA", 0, "User-Agent header", NULL, NULL},
    {OPT_VERBOSE, "verbose", 0, NULL, 0,
     "one line on stderr per event (never a token)", NULL, NULL},
    {OPT_HELP, "help", 0, NULL, CLI_OPT_HELP, "show this help and exit", NULL,
     NULL},
    {OPT_VERSION, "version", 0, NULL, CLI_OPT_VERSION,
     "show the version and exit", NULL, NULL},
    {0, NULL, 0, NULL, 0, NULL, NULL, NULL},
};

static const cli_cmd token_cmd = {
    NULL, "(--key KEY | --keyset DIR) --client-id ID --scope SCOPE [OPTION...]",
    "Get an OAuth 2.0 access token (client credentials, Private Key JWT) and "
    "print it alone on one line",
    tool_options, run};

static const cli_tool tool = {
    "pkjwt-token", NULL,
    "Exit status: 0 ok, 2 usage, 3 key or file, 4 network/timeout/TLS, 5 "
    "refused by the server or a malformed answer. See pkjwt-token(1).",
    &token_cmd, 1};

/* A usage error: one line, and the way to the help. */
static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  return cli_error(CLI_EXIT_USAGE, NULL, "%s (try %s --help)", msg,
                   cli_progname);
}

/* ---- settings ------------------------------------------------------------ */

struct settings {
  const char *key_path;
  const char *keyset; /* --keyset DIR, in place of key_path */
  const char *client_id;
  const char *scope;
  const char *base_url;
  const char *token_endpoint;
  const char *check_endpoint;
  const char *issuer;
  const char *profile;
  const char *cert;
  const char *alg;
  const char *audience;
  const char *cacert;
  const char *passphrase_file;
  const char *pkcs11_module, *pin_file; /* for a pkcs11: key */
  const char *user_agent;
  long timeout;
  long connect_timeout;
  long retries;
  int json, check, cache, verbose;
  /* --param: NAME, VALUE, ..., NULL; the names are malloc'd (names[]) */
  const char *params[2 * CLI_MAX_ITEMS + 1];
  char *names[CLI_MAX_ITEMS];
  size_t n_params;
};

static void settings_free(struct settings *s) {
  for (size_t i = 0; i < s->n_params; i++)
    free(s->names[i]);
  s->n_params = 0;
}

/* --param NAME=VALUE, in order; the library judges the names. */
static int settings_params(struct settings *s, const cli_args *a) {
  for (size_t i = 0; i < a->n_items; i++) {
    if (a->items[i].id != OPT_PARAM)
      continue;
    const char *v = a->items[i].value, *eq = strchr(v, '=');
    if (!eq || eq == v)
      return usage_error("--param: '%s' is not NAME=VALUE", v);
    char *name = malloc((size_t)(eq - v) + 1);
    if (!name)
      return cli_error(CLI_EXIT_FAIL, NULL, "out of memory");
    memcpy(name, v, (size_t)(eq - v));
    name[eq - v] = '\0';
    s->names[s->n_params] = name;
    s->params[2 * s->n_params] = name;
    s->params[2 * s->n_params + 1] = eq + 1;
    s->n_params++;
  }
  s->params[2 * s->n_params] = NULL;
  return 0;
}

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

/* malloc'd copy of url without trailing slashes (for the cache folder). */
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

/* The tool's flag for a TLS trust failure, whose library hint speaks of "the
 * CA file": appended unless the hint already names --cacert. */
static const char *cacert_hint(int code, const pkjwt_error *err) {
  if (code == PKJWT_ERR_NETWORK && strstr(err->hint, "CA file") &&
      !strstr(err->hint, "--cacert"))
    return " (--cacert FILE)";
  return "";
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
    /* a bare {"error":"x"} has x as its message too: said once */
    size_t el = strlen(err->oauth_error);
    if (server_words && strncmp(msg, err->oauth_error, el) == 0 &&
        (msg[el] == '\0' || msg[el] == ' '))
      msg += el + (msg[el] == ' ');
    if (server_words)
      cli_error(exit_code, "server", "%s%s%s", err->oauth_error,
                msg[0] ? (msg[0] == '(' ? " " : ": ") : "", msg);
    else if (msg[0] && code != PKJWT_ERR_OAUTH)
      cli_error(exit_code, "detail", "%s", msg);
  } else {
    cli_error(exit_code, subject, "%s", msg[0] ? msg : what);
  }
  if (err->hint[0])
    cli_error(exit_code, "hint", "%s%s", err->hint, cacert_hint(code, err));
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
  case PKJWT_EVENT_WARNING:
    return "warning";
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
 * One file per (token endpoint, client id, scope, audience mode, key
 * thumbprint), named by pkjwt_client_cache_id (the SHA-256 of those), in
 * $XDG_CACHE_HOME/pkjwt (0700). The file (0600) is written to a temporary file
 * and renamed into place; a separate NAME.lock file is held with an fcntl write
 * lock around read, fetch and write, so invocations running side by side wait
 * for one request and share its token.
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
static int cache_open(struct cache *c, const pkjwt_client *client) {
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
  char *id = NULL;
  pkjwt_error err = PKJWT_ERROR_INIT;
  if (!root || pkjwt_client_cache_id(&id, client, &err) != PKJWT_OK) {
    free(root);
    cli_error(0, "cache", "warning: cannot name the cache file; not caching");
    return -1;
  }
  c->dir = concat(root, "/pkjwt");
  char name[80];
  snprintf(name, sizeof(name), "/%s", id);
  pkjwt_str_free(id);
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

/* ---- from the command line to a client ---------------------------------- */

/* The settings from the parsed options (and their variables), checked. */
static int settings_from_args(struct settings *s, const cli_args *a) {
  memset(s, 0, sizeof(*s));
  s->retries = -1;
  const char *const *v = a->val;
  s->key_path = v[OPT_KEY];
  s->keyset = v[OPT_KEYSET];
  s->client_id = v[OPT_CLIENT_ID];
  s->scope = v[OPT_SCOPE];
  s->base_url = v[OPT_BASE_URL];
  s->token_endpoint = v[OPT_TOKEN_ENDPOINT];
  s->check_endpoint = v[OPT_CHECK_ENDPOINT];
  s->issuer = v[OPT_ISSUER];
  s->profile = v[OPT_PROFILE];
  s->cert = v[OPT_CERT];
  s->alg = v[OPT_ALG];
  s->audience = v[OPT_AUDIENCE];
  s->cacert = v[OPT_CACERT];
  s->passphrase_file = v[OPT_PASSPHRASE_FILE];
  s->pkcs11_module = v[OPT_PKCS11_MODULE];
  s->pin_file = v[OPT_PIN_FILE];
  s->user_agent = v[OPT_USER_AGENT];
  s->json = a->seen[OPT_JSON] > 0;
  s->check = a->seen[OPT_CHECK] > 0;
  s->cache = a->seen[OPT_CACHE] > 0;
  s->verbose = a->seen[OPT_VERBOSE] > 0;
  if (v[OPT_TIMEOUT] && cli_parse_long(v[OPT_TIMEOUT], 1, 3600, &s->timeout))
    return usage_error("--timeout: '%s' is not a number of seconds from 1 to "
                       "3600",
                       v[OPT_TIMEOUT]);
  if (v[OPT_CONNECT_TIMEOUT] &&
      cli_parse_long(v[OPT_CONNECT_TIMEOUT], 1, 3600, &s->connect_timeout))
    return usage_error("--connect-timeout: '%s' is not a number of seconds "
                       "from 1 to 3600",
                       v[OPT_CONNECT_TIMEOUT]);
  if (v[OPT_RETRIES] && cli_parse_long(v[OPT_RETRIES], 0, 10, &s->retries))
    return usage_error("--retries: '%s' is not a number from 0 to 10",
                       v[OPT_RETRIES]);
  int rc;
  if ((rc = settings_params(s, a)) != 0)
    return rc;
  if (s->keyset) {
    /* A key from the environment yields to a set on the command line. */
    if ((a->seen[OPT_KEY] &&
         !(a->from_env[OPT_KEY] && !a->from_env[OPT_KEYSET])) ||
        s->passphrase_file)
      return usage_error("%s: replaces --key and --passphrase-file",
                         "--keyset");
    s->key_path = NULL;
  }
  if ((!s->keyset && (rc = cli_require(a, OPT_KEY))) ||
      (rc = cli_require(a, OPT_CLIENT_ID)) || (rc = cli_require(a, OPT_SCOPE)))
    return rc;
  if (s->key_path && strcmp(s->key_path, "-") == 0 && s->passphrase_file &&
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

/* The key of --key ("-" = standard input, read into a wiped buffer). */
static int load_key(pkjwt_key **key, const struct settings *s,
                    const char *label) {
  char *pass = NULL;
  if (s->passphrase_file && !(pass = cli_read_secret_file(s->passphrase_file)))
    return CLI_EXIT_INPUT;
  pkjwt_error err = PKJWT_ERROR_INIT;
  int rc;
  if (strcmp(s->key_path, "-") == 0) {
    /* a key piped in from a secret store never touches the disk */
    size_t len = 0;
    char *pem = cli_read_file("-", KEY_MAX_BYTES, &len);
    if (!pem) {
      cli_secret_free(pass);
      return CLI_EXIT_INPUT;
    }
    rc = pkjwt_key_load_mem(key, pem, len, pass, &err);
    cli_wipe_free(pem, len);
  } else {
    rc = cli_key_load(key, s->key_path, pass, s->pkcs11_module, s->pin_file,
                      &err);
  }
  cli_secret_free(pass);
  if (rc != PKJWT_OK) {
    int code = cli_exit_for(rc);
    return cli_pkjwt_error(code == CLI_EXIT_USAGE ? CLI_EXIT_INPUT : code,
                           label, &err);
  }
  cli_warning(label, &err);
  if (!pkjwt_key_has_private(*key)) {
    pkjwt_key_free(*key);
    *key = NULL;
    return cli_error(CLI_EXIT_INPUT, label,
                     "a private key is needed, this is a public key");
  }
  return 0;
}

/* The client for the settings and key. */
static int make_client(pkjwt_client **client, const struct settings *s,
                       const pkjwt_key *key, pkjwt_keyset *keyset,
                       const pkjwt_cert *cert) {
  pkjwt_client_options o = PKJWT_CLIENT_OPTIONS_INIT;
  int rc;
  o.client_id = s->client_id;
  o.scope = s->scope;
  o.ca_file = s->cacert;
  o.user_agent = s->user_agent;
  o.timeout_ms = s->timeout * 1000;
  o.connect_timeout_ms = s->connect_timeout * 1000;
  o.retries = (int)s->retries;
  o.key = key;
  o.keyset = keyset;
  if (s->verbose)
    o.on_event = on_event;
  /* The URLs go to the library as given: it joins them, and derives the
   * base from a token endpoint that ends in the profile's token path. */
  o.base_url = s->base_url;
  o.token_endpoint = s->token_endpoint;
  o.check_endpoint = s->check_endpoint;
  o.issuer = s->issuer;
  o.profile = s->profile;
  o.params = s->n_params ? s->params : NULL;
  o.cert = cert;
  if ((rc = parse_audience(&o, s->audience)) != 0)
    return rc;
  pkjwt_error err = PKJWT_ERROR_INIT;
  if (s->alg && pkjwt_alg_from_name(&o.alg, s->alg, &err) != PKJWT_OK)
    return cli_pkjwt_error(CLI_EXIT_USAGE, "--alg", &err);
  rc = pkjwt_client_new(client, &o, &err);
  if (rc != PKJWT_OK) {
    /* the library names the URL it refuses; an alg, a profile or a missing
     * issuer it names alone */
    const char *subject = rc == PKJWT_ERR_ALG ? "--alg" : NULL;
    if (rc == PKJWT_ERR_INVALID_ARG && strstr(err.message, "form field"))
      subject = "--param";
    if (rc == PKJWT_ERR_CERT)
      subject = s->cert;
    if (rc == PKJWT_ERR_INVALID_ARG && s->profile &&
        !pkjwt_client_profile_get(s->profile, PKJWT_PROFILE_TOKEN_PATH))
      subject = "--profile";
    else if (rc == PKJWT_ERR_INVALID_ARG && !s->issuer &&
             (o.audience_mode == PKJWT_AUD_ISSUER ||
              o.audience_mode == PKJWT_AUD_AUTO))
      return usage_error(
          "--audience: give --issuer, or --base-url, or a "
          "--token-endpoint that ends in %s",
          pkjwt_client_profile_get(s->profile, PKJWT_PROFILE_TOKEN_PATH));
    return cli_pkjwt_error(cli_exit_for(rc), subject, &err);
  }
  if (s->check && !pkjwt_client_check_endpoint(*client)) {
    pkjwt_client_free(*client);
    *client = NULL;
    return usage_error(
        "%s: give --check-endpoint or --base-url with a token "
        "endpoint that does not end in %s",
        "--check",
        pkjwt_client_profile_get(s->profile, PKJWT_PROFILE_TOKEN_PATH));
  }
  return 0;
}

/* ---- getting the token -----------------------------------------------------
 */

/* What one run holds; freed by session_end. */
struct session {
  const struct settings *s;
  pkjwt_client *client;
  struct cache cache;
  int use_cache;
  struct cached_token ct; /* from the cache file */
  pkjwt_token *tok;       /* from the server */
  const char *access_token, *response;
};

/* Fetch a new token with the client, reporting failures. */
static int fetch(struct session *x) {
  pkjwt_error err = PKJWT_ERROR_INIT;
  pkjwt_token_free(x->tok);
  x->tok = NULL;
  int rc = pkjwt_client_get_token(&x->tok, x->client, &err);
  if (rc != PKJWT_OK)
    return report_request_error(pkjwt_client_token_endpoint(x->client), rc,
                                &err);
  x->access_token = x->tok->access_token;
  x->response = x->tok->response_json;
  if (x->use_cache)
    cache_write(&x->cache, x->tok);
  return 0;
}

/* A fresh token from the cache file; 1 when there is one. */
static int from_cache(struct session *x) {
  const struct settings *s = x->s;
  x->use_cache = cache_open(&x->cache, x->client) == 0;
  if (!x->use_cache)
    return 0;
  if (!cache_read(&x->cache, &x->ct)) {
    verbose_line(s, "cache", "no usable token; getting one");
    return 0;
  }
  int64_t now = (int64_t)time(NULL);
  if (!token_fresh(x->ct.expires_at, x->ct.expires_in, now)) {
    verbose_line(s, "cache", "token near expiry; getting a new one");
    cached_token_clear(&x->ct);
    return 0;
  }
  if (s->verbose) {
    char msg[96];
    snprintf(msg, sizeof(msg), "token reused, expires in %" PRId64 " s",
             x->ct.expires_at - now);
    verbose_line(s, "cache", msg);
  }
  x->access_token = x->ct.access_token;
  x->response = x->ct.response;
  return 1;
}

/* --check: ask the check endpoint about the token and print its answer. A
 * cached token it refuses (revoked, or the provider's signing key rotated)
 * is forgotten and replaced once. */
static int check_and_print(struct session *x, int cached) {
  char *json = NULL;
  pkjwt_error cerr = PKJWT_ERROR_INIT;
  int rc = 0;
  int crc = pkjwt_client_check(&json, x->client, x->access_token, &cerr);
  if (crc != PKJWT_OK && cached && cerr.http_status == 401) {
    verbose_line(x->s, "cache", "cached token refused; getting a new one");
    cache_drop(&x->cache);
    rc = fetch(x);
    if (rc == 0) {
      pkjwt_error_init(&cerr);
      crc = pkjwt_client_check(&json, x->client, x->access_token, &cerr);
    }
  }
  if (rc == 0 && crc != PKJWT_OK)
    rc = report_request_error(pkjwt_client_check_endpoint(x->client), crc,
                              &cerr);
  if (rc == 0 && print_block(json) != 0)
    rc = CLI_EXIT_FAIL;
  pkjwt_str_free(json);
  return rc;
}

static int print_token(const struct session *x) {
  if (!x->s->json)
    return cli_print_line(x->access_token) == 0 ? 0 : CLI_EXIT_FAIL;
  if (!x->response || !*x->response)
    return cli_error(CLI_EXIT_REFUSED, pkjwt_client_token_endpoint(x->client),
                     "no response body to print");
  return print_block(x->response) == 0 ? 0 : CLI_EXIT_FAIL;
}

static int run_with(const struct settings *sp) {
  const struct settings s = *sp;
  int rc;
  pkjwt_key *key = NULL;
  pkjwt_keyset *keyset = NULL;
  if (s.keyset) {
    pkjwt_error err = PKJWT_ERROR_INIT;
    if (pkjwt_keyset_load(&keyset, s.keyset, &err) != PKJWT_OK)
      return cli_pkjwt_error(cli_exit_for(err.code), s.keyset, &err);
    cli_warning(s.keyset, &err);
  } else {
    const char *key_label =
        strcmp(s.key_path, "-") == 0 ? "standard input" : s.key_path;
    if ((rc = load_key(&key, &s, key_label)) != 0)
      return rc;
  }
  pkjwt_cert *cert = NULL;
  if (s.cert) {
    pkjwt_error cerr = PKJWT_ERROR_INIT;
    if (pkjwt_cert_load_file(&cert, s.cert, &cerr) != PKJWT_OK) {
      pkjwt_key_free(key);
      pkjwt_keyset_free(keyset);
      return cli_pkjwt_error(CLI_EXIT_INPUT, s.cert, &cerr);
    }
  }
  struct session x;
  memset(&x, 0, sizeof(x));
  x.s = &s;
  if ((rc = make_client(&x.client, &s, key, keyset, cert)) != 0) {
    pkjwt_cert_free(cert);
    pkjwt_key_free(key);
    pkjwt_keyset_free(keyset);
    return rc;
  }
  int cached = s.cache && from_cache(&x);
  if (!cached)
    rc = fetch(&x);
  if (rc == 0)
    rc = s.check ? check_and_print(&x, cached) : print_token(&x);

  pkjwt_token_free(x.tok);
  cached_token_clear(&x.ct);
  if (x.use_cache)
    cache_close(&x.cache);
  pkjwt_client_free(x.client);
  pkjwt_cert_free(cert);
  pkjwt_key_free(key);
  pkjwt_keyset_free(keyset);
  return rc;
}

static int run(const cli_args *a) {
  struct settings s;
  int rc = settings_from_args(&s, a);
  if (rc == 0)
    rc = run_with(&s);
  settings_free(&s);
  return rc;
}

int main(int argc, char **argv) {
  for (size_t i = 0; i < MAX_PROFILES; i++)
    if (!(profile_values[i] = pkjwt_client_profile_name(i)))
      break;
  return cli_main(&tool, argc, argv);
}
