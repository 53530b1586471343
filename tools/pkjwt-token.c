/*
 * pkjwt-token: get an OAuth 2.0 access token with the client credentials
 * grant and a Private Key JWT client assertion (RFC 7523), print it, and
 * optionally check it, and share it with other processes through a token
 * store (--cache: a file; --store: Redis).
 *
 * Only the public API (<pkjwt.h>) and tools/cli.h are used: the library
 * resolves the URLs (pkjwt_client_token_endpoint...) and keeps the token
 * stores (pkjwt_store_file_new, pkjwt_store_redis_new).
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
  OPT_X5T,
  OPT_ALG,
  OPT_AUDIENCE,
  OPT_JSON,
  OPT_CHECK,
  OPT_CACERT,
  OPT_TIMEOUT,
  OPT_CONNECT_TIMEOUT,
  OPT_RETRIES,
  OPT_CACHE,
  OPT_STORE,
  OPT_STORE_PASSWORD_FILE,
  OPT_STORE_LOCK_MS,
  OPT_STORE_TIMEOUT_MS,
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
    {OPT_X5T, "x5t", 0, NULL, 0,
     "with --cert: the SHA-1 x5t header too (legacy; Entra ID)", NULL, NULL},
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
     "share the token through $XDG_CACHE_HOME/pkjwt (one request per "
     "lifetime for all processes of the user)",
     NULL, NULL},
    {OPT_STORE, "store", 0, "URL", 0,
     "share the token through Redis or Valkey: redis://[USER@]HOST[:PORT][/DB] "
     "(rediss:// for TLS, ?cacert=FILE for its CA) or unix:/PATH",
     NULL, "PKJWT_STORE"},
    {OPT_STORE_PASSWORD_FILE, "store-password-file", 0, "FILE",
     CLI_OPT_FILE | CLI_OPT_STDIN,
     "the store's AUTH password: first line of FILE (- = stdin; else "
     "$PKJWT_STORE_PASSWORD)",
     NULL, NULL},
    {OPT_STORE_LOCK_MS, "store-lock-ms", 0, "MS", 0,
     "lifetime of the store's fetch lock (default: the timeout + 5 s)", NULL,
     NULL},
    {OPT_STORE_TIMEOUT_MS, "store-timeout-ms", 0, "MS", 0,
     "the longest one store call may take (default 200)", NULL, NULL},
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
  int json, check, cache, verbose, x5t;
  const char *store_url;           /* --store URL (Redis) */
  const char *store_password_file; /* its AUTH password */
  long store_lock_ms;              /* 0 = the library's default */
  long store_timeout_ms;           /* 0 = the library's default */
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

/* ---- printing ------------------------------------------------------------ */

/* Print a block (JSON) to stdout with exactly one trailing newline. */
static int print_block(const char *s) {
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
    n--;
  fwrite(s, 1, n, stdout); /* a failure sets stdout's error flag */
  putchar('\n');
  return cli_stdout_done();
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

/* ---- from the command line to a client ---------------------------------- */

/* A number option: when given, its value, from min to max, into *out.
 * 0, or the usage error ("--timeout: 'x' is not a number of seconds from 1
 * to 3600"); unit is "of seconds " or "". */
static int number_opt(const cli_args *a, int id, long min, long max,
                      const char *unit, long *out) {
  const char *v = a->val[id];
  if (!v || cli_parse_long(v, min, max, out) == 0)
    return 0;
  return usage_error("%s: '%s' is not a number %sfrom %ld to %ld",
                     cli_opt_name(a, id), v, unit, min, max);
}

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
  s->store_url = v[OPT_STORE];
  s->store_password_file = v[OPT_STORE_PASSWORD_FILE];
  int rc;
  if ((rc = number_opt(a, OPT_STORE_LOCK_MS, 1, 3600000, "of milliseconds ",
                       &s->store_lock_ms)) != 0 ||
      (rc = number_opt(a, OPT_STORE_TIMEOUT_MS, 1, 60000, "of milliseconds ",
                       &s->store_timeout_ms)) != 0)
    return rc;
  if (s->cache && s->store_url)
    return usage_error("%s: choose --cache or --store, not both", "--store");
  if (s->store_password_file && !s->store_url)
    return usage_error("%s: needs --store", "--store-password-file");
  s->verbose = a->seen[OPT_VERBOSE] > 0;
  s->x5t = a->seen[OPT_X5T] > 0;
  if (s->x5t && !s->cert)
    return usage_error("%s: needs --cert", "--x5t");
  if ((rc = number_opt(a, OPT_TIMEOUT, 1, 3600, "of seconds ", &s->timeout)) !=
          0 ||
      (rc = number_opt(a, OPT_CONNECT_TIMEOUT, 1, 3600, "of seconds ",
                       &s->connect_timeout)) != 0 ||
      (rc = number_opt(a, OPT_RETRIES, 0, 10, "", &s->retries)) != 0)
    return rc;
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

/* The profile's token path for a message; its absence said in words. */
static const char *token_path_or(const char *profile) {
  const char *p = pkjwt_client_profile_get(profile, PKJWT_PROFILE_TOKEN_PATH);
  return p ? p : "the provider's token path";
}

/* The token store of --cache or --store, or none (*store NULL). A --cache
 * folder that cannot be used is a warning, and the token still comes; a
 * --store that is wrong is an error. A Redis store that is down is only
 * found when used, and then costs a warning. */
static int open_store(pkjwt_store **store, const struct settings *s) {
  *store = NULL;
  pkjwt_error err = PKJWT_ERROR_INIT;
  if (s->cache) {
    if (pkjwt_store_file_new(store, NULL, &err) != PKJWT_OK)
      cli_error(0, "--cache", "warning: %s; not caching", err.message);
    return 0;
  }
  if (!s->store_url)
    return 0;
  char *pass = NULL;
  if (s->store_password_file &&
      !(pass = cli_read_secret_file(s->store_password_file)))
    return CLI_EXIT_INPUT;
  const char *pw = pass ? pass : getenv("PKJWT_STORE_PASSWORD");
  int rc = pkjwt_store_redis_new(store, s->store_url, pw && *pw ? pw : NULL,
                                 s->store_timeout_ms, &err);
  cli_secret_free(pass);
  if (rc != PKJWT_OK)
    return cli_pkjwt_error(CLI_EXIT_USAGE, "--store", &err);
  return 0;
}

/* The client for the settings and key. */
static int make_client(pkjwt_client **client, const struct settings *s,
                       const pkjwt_key *key, pkjwt_keyset *keyset,
                       const pkjwt_cert *cert, const pkjwt_store *store) {
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
  o.store = store;
  o.store_lock_ms = s->store_lock_ms;
  o.store_timeout_ms = s->store_timeout_ms;
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
        !pkjwt_client_profile_get(s->profile, PKJWT_PROFILE_BASE_URL_FORM))
      subject = "--profile";
    else if (rc == PKJWT_ERR_INVALID_ARG && !s->issuer &&
             (o.audience_mode == PKJWT_AUD_ISSUER ||
              o.audience_mode == PKJWT_AUD_AUTO))
      return usage_error("--audience: give --issuer, or --base-url, or a "
                         "--token-endpoint that ends in %s",
                         token_path_or(s->profile));
    return cli_pkjwt_error(cli_exit_for(rc), subject, &err);
  }
  if (s->x5t && pkjwt_client_set_x5t(*client, PKJWT_X5T_S256 | PKJWT_X5T_SHA1,
                                     &err) != PKJWT_OK) {
    pkjwt_client_free(*client);
    *client = NULL;
    return cli_pkjwt_error(CLI_EXIT_USAGE, "--x5t", &err);
  }
  if (s->check && !pkjwt_client_check_endpoint(*client)) {
    pkjwt_client_free(*client);
    *client = NULL;
    return usage_error("%s: give --check-endpoint or --base-url with a token "
                       "endpoint that does not end in %s",
                       "--check", token_path_or(s->profile));
  }
  return 0;
}

/* ---- getting the token -----------------------------------------------------
 */

/* What one run holds. */
struct session {
  const struct settings *s;
  pkjwt_client *client;
  int shared;         /* a token store is in use */
  pkjwt_store *store; /* it (the metadata is kept there too) */
  pkjwt_token *tok;   /* from the client (memory, store or server) */
};

/* ---- the issuer's metadata (discovery) ------------------------------------
 *
 * With a token store (--cache or --store), a discovering client's metadata
 * document is kept in the store beside its token, under the key
 * CACHE_ID-meta, as
 *   pkjwt-token metadata 1
 *   valid_until EPOCH_SECONDS
 *   <the document>
 * and expires from the store at valid_until (the library's: Cache-Control
 * max-age, at most 24 h). The store writes it (the file store: one 0600
 * file, atomically), so the tool has no writer of its own; a whole fleet
 * on one Redis shares it. The library judges a kept document as it judges
 * a fetched one.
 */

#define META_MAGIC "pkjwt-token metadata 1\n"

/* The store key of the client's kept metadata, malloc'd; NULL without. */
static char *meta_key(const struct session *x) {
  char *id = NULL;
  if (pkjwt_client_cache_id(&id, x->client, NULL) != PKJWT_OK)
    return NULL;
  size_t n = strlen(id) + sizeof("-meta");
  char *key = malloc(n);
  if (key)
    snprintf(key, n, "%s-meta", id);
  pkjwt_str_free(id);
  return key;
}

/* Give the client the kept document; 1 when it took it. */
static int meta_load(struct session *x) {
  pkjwt_store *st = x->store;
  char *key = meta_key(x);
  char *buf = key ? malloc(PKJWT_STORE_VALUE_MAX + 1) : NULL;
  size_t len = 0;
  int took = 0;
  if (buf &&
      st->get(st->ctx, key, buf, PKJWT_STORE_VALUE_MAX, &len,
              PKJWT_STORE_TIMEOUT_MS) == PKJWT_STORE_OK &&
      len <= PKJWT_STORE_VALUE_MAX) {
    buf[len] = '\0';
    size_t ml = strlen(META_MAGIC);
    char *end = NULL;
    long long until = 0;
    if (len > ml && memcmp(buf, META_MAGIC, ml) == 0 &&
        strncmp(buf + ml, "valid_until ", 12) == 0) {
      errno = 0;
      until = strtoll(buf + ml + 12, &end, 10);
    }
    if (end && *end == '\n' && errno == 0 && until > (long long)time(NULL)) {
      pkjwt_error err = PKJWT_ERROR_INIT;
      end++;
      took =
          pkjwt_client_metadata_set(x->client, end, len - (size_t)(end - buf),
                                    (int64_t)until, &err) == PKJWT_OK;
      if (!took)
        verbose_line(x->s, "token store", "kept metadata refused; fetching it");
    }
  }
  free(buf);
  free(key);
  return took;
}

/* Keep the client's document in the store; a warning on failure. */
static void meta_store(const struct session *x) {
  pkjwt_store *st = x->store;
  char *json = NULL, *key = NULL, *val = NULL;
  int64_t until = 0;
  if (pkjwt_client_metadata(&json, &until, x->client, NULL) != PKJWT_OK)
    return;
  int64_t ttl = until - (int64_t)time(NULL);
  size_t cap = strlen(json) + sizeof(META_MAGIC) + 40;
  int n = -1;
  if (ttl > 0 && (key = meta_key(x)) != NULL && (val = malloc(cap)) != NULL)
    n = snprintf(val, cap, META_MAGIC "valid_until %" PRId64 "\n%s", until,
                 json);
  if (n > 0 && (size_t)n < cap && (size_t)n <= PKJWT_STORE_VALUE_MAX &&
      st->put(st->ctx, key, val, (size_t)n, (long)(ttl * 1000),
              PKJWT_STORE_TIMEOUT_MS) != PKJWT_STORE_OK)
    cli_error(0, "token store", "warning: cannot keep the metadata");
  free(val);
  free(key);
  pkjwt_str_free(json);
}

/* A discovering client's token endpoint, from the kept metadata or the
 * issuer's. */
static int discover(struct session *x) {
  if (pkjwt_client_token_endpoint(x->client))
    return 0;
  int kept = x->store && meta_load(x);
  pkjwt_error err = PKJWT_ERROR_INIT;
  int rc = pkjwt_client_discover(x->client, &err);
  if (rc != PKJWT_OK)
    return report_request_error(pkjwt_client_issuer(x->client), rc, &err);
  if (x->s->verbose) {
    char msg[600];
    snprintf(msg, sizeof(msg), "token endpoint %s (%s)",
             pkjwt_client_token_endpoint(x->client),
             kept ? "kept metadata" : "the issuer's metadata");
    verbose_line(x->s, "discovery", msg);
  }
  if (x->store && !kept)
    meta_store(x);
  return 0;
}

/* Get a token with the client (through the store, if any), reporting
 * failures; a warning (the store failed) goes to stderr. */
static int fetch(struct session *x) {
  pkjwt_error err = PKJWT_ERROR_INIT;
  pkjwt_token_free(x->tok);
  x->tok = NULL;
  int rc = discover(x);
  if (rc != 0)
    return rc;
  rc = pkjwt_client_get_token(&x->tok, x->client, &err);
  if (rc != PKJWT_OK)
    return report_request_error(pkjwt_client_token_endpoint(x->client), rc,
                                &err);
  if (!x->s->verbose) /* --verbose printed it as an event */
    cli_warning("token store", &err);
  return 0;
}

/* --check: ask the check endpoint about the token and print its answer. A
 * shared token it refuses (revoked, or the provider's signing key rotated)
 * is dropped from the store and replaced once. */
static int check_and_print(struct session *x) {
  char *json = NULL;
  pkjwt_error cerr = PKJWT_ERROR_INIT;
  int rc = 0;
  int crc = pkjwt_client_check(&json, x->client, x->tok->access_token, &cerr);
  if (crc != PKJWT_OK && x->shared && cerr.http_status == 401) {
    verbose_line(x->s, "token store",
                 "stored token refused; getting a new one");
    pkjwt_client_invalidate(x->client);
    rc = fetch(x);
    if (rc == 0) {
      pkjwt_error_init(&cerr);
      crc = pkjwt_client_check(&json, x->client, x->tok->access_token, &cerr);
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
    return cli_print_line(x->tok->access_token) == 0 ? 0 : CLI_EXIT_FAIL;
  const char *resp = x->tok->response_json;
  if (!resp || !*resp)
    return cli_error(CLI_EXIT_REFUSED, pkjwt_client_token_endpoint(x->client),
                     "no response body to print");
  return print_block(resp) == 0 ? 0 : CLI_EXIT_FAIL;
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
  pkjwt_store *store = NULL;
  if ((rc = open_store(&store, &s)) != 0) {
    pkjwt_cert_free(cert);
    pkjwt_key_free(key);
    pkjwt_keyset_free(keyset);
    return rc;
  }
  struct session x;
  memset(&x, 0, sizeof(x));
  x.s = &s;
  x.shared = store != NULL;
  x.store = store;
  if ((rc = make_client(&x.client, &s, key, keyset, cert, store)) != 0) {
    pkjwt_store_free(store);
    pkjwt_cert_free(cert);
    pkjwt_key_free(key);
    pkjwt_keyset_free(keyset);
    return rc;
  }
  rc = fetch(&x);
  if (rc == 0)
    rc = s.check ? check_and_print(&x) : print_token(&x);

  pkjwt_token_free(x.tok);
  pkjwt_client_free(x.client);
  pkjwt_store_free(store);
  pkjwt_cert_free(cert);
  pkjwt_key_free(key);
  pkjwt_keyset_free(keyset);
  return rc;
}

/* --profile help: each profile with its base URL (or the form of one) and
 * its scope's form, on standard output. */
static int list_profiles(void) {
  for (size_t i = 0; pkjwt_client_profile_name(i); i++) {
    const char *n = pkjwt_client_profile_name(i);
    const char *scope = pkjwt_client_profile_get(n, PKJWT_PROFILE_SCOPE_FORM);
    if (printf("%-9s %s%s%s\n", n,
               pkjwt_client_profile_get(n, PKJWT_PROFILE_BASE_URL_FORM),
               scope ? "  scope: " : "", scope ? scope : "") < 0)
      return CLI_EXIT_FAIL;
  }
  return fflush(stdout) == 0 ? 0 : CLI_EXIT_FAIL;
}

static int run(const cli_args *a) {
  if (a->val[OPT_PROFILE] && strcmp(a->val[OPT_PROFILE], "help") == 0)
    return list_profiles();
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
  static char stores[64];
  snprintf(stores, sizeof(stores), "token stores: %s", pkjwt_store_kinds());
  cli_version_extra = stores;
  return cli_main(&tool, argc, argv);
}
