/*
 * examples/get-token.c: get a Puzzel ID access token with libpkjwt and print
 * it. Public API only.
 *
 *   cc get-token.c -o get-token $(pkg-config --cflags --libs pkjwt)
 *   ./get-token KEY.pem CLIENT_ID SCOPE [BASE_URL [CA_FILE]]
 *
 * Arguments left out come from PKJWT_KEY, PKJWT_CLIENT_ID, PKJWT_SCOPE,
 * PKJWT_BASE_URL and PKJWT_CA_FILE. The base URL defaults to
 * https://app.puzzel.com. Exit status: 0 with the token on stdout, 1 with
 * one or two lines on stderr.
 */
#include <pkjwt.h>

#include <stdio.h>
#include <stdlib.h>

static const char *arg_or_env(int argc, char **argv, int i, const char *env) {
  if (i < argc && argv[i][0] != '\0')
    return argv[i];
  const char *v = getenv(env);
  return v && *v ? v : NULL;
}

static int fail(const char *what, const pkjwt_error *err) {
  fprintf(stderr, "get-token: %s: %s\n", what,
          err->message[0] ? err->message : pkjwt_strerror(err->code));
  if (err->hint[0])
    fprintf(stderr, "get-token: hint: %s\n", err->hint);
  return 1;
}

int main(int argc, char **argv) {
  const char *key_path = arg_or_env(argc, argv, 1, "PKJWT_KEY");
  const char *client_id = arg_or_env(argc, argv, 2, "PKJWT_CLIENT_ID");
  const char *scope = arg_or_env(argc, argv, 3, "PKJWT_SCOPE");
  const char *base_url = arg_or_env(argc, argv, 4, "PKJWT_BASE_URL");
  const char *ca_file = arg_or_env(argc, argv, 5, "PKJWT_CA_FILE");
  if (!key_path || !client_id || !scope) {
    fprintf(stderr, "usage: get-token KEY.pem CLIENT_ID SCOPE "
                    "[BASE_URL [CA_FILE]]\n");
    return 2;
  }

  pkjwt_error err = PKJWT_ERROR_INIT;
  pkjwt_key *key = NULL;
  if (pkjwt_key_load_file(&key, key_path, NULL, &err) != PKJWT_OK)
    return fail(key_path, &err);
  if (err.warning[0])
    fprintf(stderr, "get-token: %s: warning: %s\n", key_path, err.warning);

  pkjwt_client_options opts = PKJWT_CLIENT_OPTIONS_INIT;
  opts.base_url = base_url; /* NULL: https://app.puzzel.com */
  opts.client_id = client_id;
  opts.scope = scope; /* contact-centre:TENANT_ID:USER_ID */
  opts.key = key;
  opts.ca_file = ca_file;

  pkjwt_client *client = NULL;
  pkjwt_token *token = NULL;
  int status = 1;
  if (pkjwt_client_new(&client, &opts, &err) != PKJWT_OK) {
    fail("configuration", &err);
  } else if (pkjwt_client_get_token(&token, client, &err) != PKJWT_OK) {
    fail("token request", &err);
  } else {
    /* A long-running service would keep the client and call
     * pkjwt_client_get_token() before each API call: the cached token comes
     * back until it nears expiry, then a new one is fetched. */
    printf("%s\n", token->access_token);
    status = fflush(stdout) == 0 ? 0 : 1;
  }
  pkjwt_token_free(token); /* wipes the token */
  pkjwt_client_free(client);
  pkjwt_key_free(key);
  return status;
}
