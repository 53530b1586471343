#!/bin/sh
# tests/token.sh: pkjwt-token against the Puzzel-shaped test endpoint.
#
# Starts tests/endpoint/puzzel_endpoint.py on 127.0.0.1 (plain http, and
# https with a test CA and with an untrusted certificate), makes keys with
# pkjwt-keygen (the openssl CLI if it is missing), registers their base64
# certificates or JWKs, and drives the built tool: the token alone on
# stdout, --json, --check, the environment, every algorithm, the audience
# modes, the cache, and every refusal with its exit code, its one to three
# lines on stderr and an empty stdout. Ends with "N passed, N failed".
# shellcheck disable=SC2013,SC2016,SC2086
set -u

PYTHON3=${PYTHON3:-/usr/bin/python3}
[ -n "$PYTHON3" ] || PYTHON3=/usr/bin/python3
OPENSSL=${OPENSSL_CLI:-openssl}
[ -n "$OPENSSL" ] || OPENSSL=openssl
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$(pwd)}
top_builddir=$builddir
. "$srcdir/tests/tool-lib.sh"
tl_tools
TOKEN=$TL_TOKEN
KEYGEN=$TL_KEYGEN
EP=$srcdir/tests/endpoint/puzzel_endpoint.py
. "$srcdir/tests/endpoint/start.sh"

[ -x "$TOKEN" ] || { echo "FAIL: $TOKEN not built"; exit 99; }
"$PYTHON3" -c 'import jwcrypto, cryptography' 2>/dev/null ||
  { echo "SKIP: $PYTHON3 lacks jwcrypto or cryptography"; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/pkjwt-token-test.XXXXXX") || exit 99
PIDS=""
cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  for p in $PIDS; do wait "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
# Nothing from the caller's environment may stand in for an option.
unset PKJWT_KEY PKJWT_CLIENT_ID PKJWT_SCOPE PKJWT_BASE_URL
export XDG_CACHE_HOME="$T/xdg-cache"
cd "$T" || exit 99

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok - $1"; }
nok() {
  FAIL=$((FAIL + 1))
  echo "FAIL - $1"
  echo "#   exit $RC; stdout: $(head -c 300 "$T/out" 2>/dev/null)"
  sed 's/^/#   stderr: /' "$T/err" 2>/dev/null | head -n 5
}
# t DESC COMMAND...: one check.
t() { d=$1; shift; if "$@"; then ok "$d"; else nok "$d"; fi; }

# run CMD...: run with stdout in $T/out, stderr in $T/err, status in RC.
RC=0
run() {
  "$@" >"$T/out" 2>"$T/err"
  RC=$?
}
# tok ARGS...: run pkjwt-token.
tok() { run "$TOKEN" "$@"; }

out_empty() { [ ! -s "$T/out" ]; }
err_empty() { [ ! -s "$T/err" ]; }
err_has() { grep -q -- "$1" "$T/err"; }
# The token alone on one line, nothing on stderr.
token_only() {
  [ "$RC" -eq 0 ] && [ "$(tl_lines "$T/out")" = 1 ] &&
    grep -q '^[A-Za-z0-9._~+/-][A-Za-z0-9._~+/-]*=*$' "$T/out" && err_empty
}
# refused CODE: exit CODE, nothing on stdout, one to three lines on stderr,
# the first "pkjwt-token: ...".
refused() {
  n=$(tl_lines "$T/err")
  [ "$RC" -eq "$1" ] && out_empty && [ "$n" -ge 1 ] && [ "$n" -le 3 ] &&
    head -n1 "$T/err" | grep -q '^pkjwt-token: '
}
# No token must ever show on stderr.
no_secret_in_err() {
  [ -z "${1:-}" ] || ! grep -qF -- "$1" "$T/err"
}

# ---- Python helpers (JSON, the check endpoint, a free port, a JWK) ------------

# It imports what a command needs only (`get`, most of the calls, needs json
# alone: half the CPU of a start that loads urllib and ssl).
cat >"$T/h.py" <<'EOF'
import json, os, sys

def ctx():
    import ssl
    ca = os.environ.get("H_CAFILE")
    return ssl.create_default_context(cafile=ca) if ca else None

def req(url, data=None, headers=None):
    import urllib.error, urllib.request
    r = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(r, timeout=20, context=ctx()) as f:
            return f.status, f.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()

def dig(v, path):
    for k in path.split("."):
        if k == "":
            continue
        if k == "-1" or k.isdigit():
            v = v[int(k)]
        elif k == "len":
            v = len(v)
        else:
            v = v[k]
    return v

def show(v):
    print(v if isinstance(v, str) else json.dumps(v))

cmd = sys.argv[1]
if cmd == "get":          # get FILE PATH: a member of a JSON file
    show(dig(json.load(open(sys.argv[2])), sys.argv[3]))
elif cmd == "check":      # check BASE TOKEN: prints the HTTP status
    st, body = req(sys.argv[2] + "/contactcentre5/accesstokeninformation",
                   headers={"Authorization": "Bearer " + sys.argv[3]})
    print(st)
elif cmd == "freeport":   # a port nobody listens on (just closed)
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()
elif cmd == "jwk":        # jwk PRIVATE.pem: its public JWK
    from jwcrypto import jwk
    k = jwk.JWK.from_pem(open(sys.argv[2], "rb").read())
    print(k.export_public())
EOF
h() { "$PYTHON3" "$T/h.py" "$@" 2>/dev/null; }
# the stats and the control API of the plain server (tests/endpoint/start.sh)
stat_of() { ep_stat "$1" "$BASE"; }
ctl() { ep_ctl "$1" "${2:-{\}}" "$BASE"; }
mode_of() { stat -c %a "$1" 2>/dev/null; }

# ---- keys: pkjwt-keygen, or the openssl CLI as a fallback --------------------

K=$T/keys
mkdir -p "$K"
# mkkey NAME ec CURVE | rsa BITS: $K/NAME.key, $K/NAME.b64 (the base64
# certificate Organisation Settings takes) and $K/NAME.jwk.
mkkey() {
  name=$1 type=$2 param=$3
  if [ -x "$KEYGEN" ]; then
    if [ "$type" = ec ]; then set -- --curve "$param"; else set -- --bits "$param"; fi
    if "$KEYGEN" new --type "$type" "$@" --out "$K/$name.key" \
      --cert "$K/$name.crt" >"$K/$name.b64" 2>"$K/$name.kg-err" &&
      "$KEYGEN" export --key "$K/$name.key" --format jwk >"$K/$name.jwk" \
        2>>"$K/$name.kg-err" && [ -s "$K/$name.b64" ] && [ -s "$K/$name.jwk" ]
    then
      return 0
    fi
    echo "# pkjwt-keygen failed for $name, using openssl:"
    sed 's/^/#   /' "$K/$name.kg-err"
    rm -f "$K/$name.key" "$K/$name.crt" "$K/$name.b64" "$K/$name.jwk"
  fi
  if [ "$type" = ec ]; then
    "$OPENSSL" genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$param" \
      -out "$K/$name.key" 2>/dev/null
  else
    "$OPENSSL" genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$param" \
      -out "$K/$name.key" 2>/dev/null
  fi &&
    "$OPENSSL" req -new -x509 -key "$K/$name.key" -subj "/CN=$name" -days 2 \
      -out "$K/$name.crt" 2>/dev/null &&
    "$OPENSSL" x509 -in "$K/$name.crt" -outform DER | base64 | tr -d '\n' \
      >"$K/$name.b64" && h jwk "$K/$name.key" >"$K/$name.jwk"
}
for spec in "ec256 ec P-256" "ec384 ec P-384" "ec521 ec P-521" \
  "rsa rsa 2048" "stranger ec P-256"; do
  set -- $spec
  mkkey "$@" || { echo "FAIL: could not make key $1"; exit 99; }
done
chmod 600 "$K"/*.key

SCOPE=contact-centre:1234:5678
# Registration the way Organisation Settings takes it: base64 certificates
# for the EC keys, a JWK for the RSA key.
CLIENTS="--client cid-ec256:$SCOPE:$K/ec256.b64 \
  --client cid-ec384:$SCOPE:$K/ec384.jwk \
  --client cid-ec521:$SCOPE:$K/ec521.b64 \
  --client cid-rsa:$SCOPE:$K/rsa.jwk \
  --client cid-noproduct:contact-centre:$K/ec256.b64"

# start NAME ARGS...: start a server, set PORT; 1 when it does not start.
start() {
  name=$1
  shift
  ep_start "$PYTHON3" "$EP" "$T/$name.port" "$T/$name.log" --max-seconds 600 \
    $CLIENTS "$@"
  PIDS="$PIDS $EP_PID"
  PORT=$EP_PORT
  [ -n "$PORT" ] || {
    echo "# $name did not start:"
    sed 's/^/#   /' "$T/$name.log"
    return 1
  }
}

start plain || { echo "FAIL: endpoint did not start"; exit 99; }
BASE=http://127.0.0.1:$PORT
# the usual options for the P-256 client
set_common() { COMMON="--key $K/ec256.key --client-id cid-ec256 --scope $SCOPE --base-url $BASE"; }
set_common

# ---- the token, --json, --check ------------------------------------------------

tok $COMMON
t "token alone on one line, nothing on stderr" token_only
TOK1=$(cat "$T/out")
t "the check endpoint accepts the token" [ "$(h check "$BASE" "$TOK1")" = 200 ]
t "the assertion used aud = token endpoint, typ JWT" \
  [ "$(stat_of audiences.-1)" = "$BASE/id/connect/token" -a \
  "$(stat_of typs.-1)" = JWT ]

tok $COMMON --json
t "--json: exit 0, nothing on stderr" [ "$RC" -eq 0 -a ! -s "$T/err" ]
t "--json: expires_in 900, token_type Bearer" \
  [ "$(h get "$T/out" expires_in)" = 900 -a \
  "$(h get "$T/out" token_type)" = Bearer ]
t "--json: its access_token is accepted" \
  [ "$(h check "$BASE" "$(h get "$T/out" access_token)")" = 200 ]

before=$(stat_of check_requests)
tok $COMMON --check
t "--check: exit 0, the check answer on stdout" \
  [ "$RC" -eq 0 -a "$(h get "$T/out" active)" = true ]
t "--check: tenant and user from the scope" \
  [ "$(h get "$T/out" tenant_id)" = 1234 -a "$(h get "$T/out" user_id)" = 5678 ]
t "--check: one check request sent" \
  [ "$(stat_of check_requests)" = $((before + 1)) ]

# A client with no Contact Centre user behind its scope: 403 at the check.
tok --key "$K/ec256.key" --client-id cid-noproduct --scope contact-centre \
  --base-url "$BASE" --check
t "--check answered 403: exit 5, 1-3 lines, empty stdout" refused 5
t "--check answered 403: says so, with the product-access hint" \
  eval 'err_has "HTTP 403" && err_has "pkjwt-token: hint: .*product access"'

# ---- environment ------------------------------------------------------------------

run env PKJWT_KEY="$K/ec256.key" PKJWT_CLIENT_ID=cid-ec256 \
  PKJWT_SCOPE="$SCOPE" PKJWT_BASE_URL="$BASE" "$TOKEN"
t "PKJWT_KEY, PKJWT_CLIENT_ID, PKJWT_SCOPE, PKJWT_BASE_URL stand in" token_only
run env PKJWT_KEY="$K/stranger.key" PKJWT_CLIENT_ID=nobody \
  PKJWT_SCOPE=nothing PKJWT_BASE_URL=http://127.0.0.2:1 "$TOKEN" $COMMON
t "options win over the environment" token_only

# ---- every algorithm -------------------------------------------------------------

# The endpoint honours a registered JWK's alg (RFC 7517 4.4) as strict
# providers do, so the RSA client, registered with the JWK that
# pkjwt-keygen exports by default, takes all six RSA algorithms (issue 9).
for spec in "ec256 cid-ec256 ES256" "ec384 cid-ec384 ES384" \
  "ec521 cid-ec521 ES512" "rsa cid-rsa RS256" "rsa cid-rsa RS384" \
  "rsa cid-rsa RS512" "rsa cid-rsa PS256" "rsa cid-rsa PS384" \
  "rsa cid-rsa PS512"; do
  set -- $spec
  tok --key "$K/$1.key" --client-id "$2" --scope "$SCOPE" --base-url "$BASE" \
    --alg "$3"
  t "$3 ($1): token" token_only
  t "$3 ($1): the endpoint verified $3" [ "$(stat_of algs.-1)" = "$3" ]
done
tok --key "$K/rsa.key" --client-id cid-rsa --scope "$SCOPE" --base-url "$BASE"
t "RSA key without --alg: token (RS256)" token_only
t "RSA key without --alg: alg RS256" [ "$(stat_of algs.-1)" = RS256 ]

# A JWK pinned with export --alg PS256 serves PS256 only: the strict
# endpoint refuses RS256 with it.
if [ -x "$KEYGEN" ] && "$KEYGEN" export --key "$K/rsa.key" --format jwk \
  --alg PS256 >"$T/pinned.jwk" 2>/dev/null; then
  "$PYTHON3" -c 'import json,sys; print(json.dumps({"client_id": "cid-pinned",
    "scope": sys.argv[1], "key": open(sys.argv[2]).read()}))' "$SCOPE" \
    "$T/pinned.jwk" >"$T/pinned.req"
  ctl register "$(cat "$T/pinned.req")"
  tok --key "$K/rsa.key" --client-id cid-pinned --scope "$SCOPE" \
    --base-url "$BASE" --alg PS256
  t "JWK pinned to PS256, --alg PS256: token" token_only
  tok --key "$K/rsa.key" --client-id cid-pinned --scope "$SCOPE" \
    --base-url "$BASE" --alg RS256
  t "JWK pinned to PS256, --alg RS256: the strict endpoint refuses, exit 5" \
    eval 'refused 5 && err_has "no applicable key"'
else
  echo "# SKIP: pinned JWK (no pkjwt-keygen)"
fi

# ---- audience modes against a strict server ----------------------------------

ctl config '{"strict": true}'
tok $COMMON --audience issuer
t "strict server, --audience issuer: token" token_only
t "--audience issuer: aud = issuer, typ client-authentication+jwt" \
  [ "$(stat_of audiences.-1)" = "$BASE/id" -a \
  "$(stat_of typs.-1)" = client-authentication+jwt ]
tok $COMMON --audience token-endpoint
t "strict server, --audience token-endpoint: refused, exit 5" refused 5
t "strict server refusal: invalid_client and a hint" \
  eval 'err_has invalid_client && err_has "pkjwt-token: hint: "'
tok $COMMON --audience auto
t "strict server, --audience auto: token" token_only
ctl config '{"strict": false}'
tok $COMMON --audience "$BASE/id/connect/token"
t "--audience URL: token" token_only
tok $COMMON --audience sideways
t "--audience nonsense: exit 2" refused 2

# ---- URLs go to the library as given -------------------------------------------

# The issuer is an identifier compared as a string: its trailing slash stays.
tok $COMMON --audience issuer --issuer "$BASE/id/" --retries 0
t "--issuer with a trailing slash: the assertion's aud keeps it" \
  [ "$(stat_of audiences.-1)" = "$BASE/id/" ]
before=$(stat_of token_requests)
tok --key "$K/ec256.key" --client-id cid-ec256 --scope "$SCOPE" \
  --token-endpoint "$BASE/oauth2/token" --check
t "--token-endpoint off the provider path, --check without --check-endpoint: exit 2, no request" \
  eval 'refused 2 && err_has -- "--check-endpoint" &&
  [ "$(stat_of token_requests)" = "$before" ]'
tok --key "$K/ec256.key" --client-id cid-ec256 --scope "$SCOPE" \
  --token-endpoint "$BASE/id/connect/token" --check
t "--token-endpoint on the provider path gives the base: --check works" \
  eval '[ "$RC" -eq 0 ] && [ "$(h get "$T/out" active)" = true ]'

# ---- --param: extra form fields (issue 9.4) --------------------------------------

tok $COMMON --param resource=https://api.example/ --param "audience=a=b c"
t "--param twice: token" token_only
t "--param: the endpoint got both fields as given" \
  eval '[ "$(stat_of extra_fields.-1.resource)" = https://api.example/ ] &&
  [ "$(stat_of extra_fields.-1.audience)" = "a=b c" ]'
before=$(stat_of token_requests)
for name in grant_type client_id scope client_assertion_type client_assertion; do
  tok $COMMON --param "$name=x"
  t "--param $name=x: refused in one line naming it, exit 2" \
    eval 'refused 2 && [ "$(tl_lines "$T/err")" = 1 ] &&
    err_has "^pkjwt-token: --param: .*$name"'
done
tok $COMMON --param resource
t "--param without =VALUE: exit 2" eval 'refused 2 && err_has NAME=VALUE'
t "refused --param: no request sent" \
  [ "$(stat_of token_requests)" = "$before" ]

# ---- --cert: the x5t#S256 header (issue 9.5) -------------------------------------

want=$("$OPENSSL" x509 -in "$K/ec256.crt" -outform DER 2>/dev/null |
  "$OPENSSL" dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=\n')
if [ -s "$K/ec256.crt" ] && [ -n "$want" ]; then
  tok $COMMON --cert "$K/ec256.crt"
  t "--cert: token; the assertion's x5t#S256 is the certificate's (openssl)" \
    eval 'token_only && [ "$(stat_of x5ts.-1)" = "$want" ]'
  before=$(stat_of token_requests)
  tok $COMMON --cert "$K/ec384.crt"
  t "--cert of another key: exit 3 in one line, no request" \
    eval 'refused 3 && [ "$(tl_lines "$T/err")" = 1 ] &&
    err_has "not for this key" && [ "$(stat_of token_requests)" = "$before" ]'
else
  echo "# SKIP: --cert (no certificate from pkjwt-keygen or no openssl)"
fi

# ---- answers as real servers send them (issue 9.6) --------------------------------

ctl misbehave '{"mode": "no_expires_in", "count": 1}'
tok $COMMON --verbose
t "no expires_in: token; --verbose says the default lifetime was used" \
  eval '[ "$RC" -eq 0 ] && err_has "expires in 300 s, no expires_in: the default"'
ctl misbehave '{"mode": "bare_error", "count": 1}'
tok $COMMON --retries 0
t "a bare {\"error\":\"invalid_client\"}: the code is said once" \
  eval 'refused 5 && err_has "^pkjwt-token: server: invalid_client$"'
ctl misbehave '{"mode": "entra_error", "count": 1}'
tok $COMMON --retries 0
t "an Entra-shaped error: description, error_codes and trace_id, once" \
  eval 'refused 5 && [ "$(grep -c AADSTS700027 "$T/err")" = 1 ] &&
  err_has "error_codes 700027, trace_id 0b1c-test-trace"'

# Issue 7.4: an error a missing - can cause names the fix.
tok --client-id cid-ec256 --scope "$SCOPE" --base-url "$BASE"
t "no --key: says PKJWT_KEY and --key -" \
  eval 'refused 2 && err_has "PKJWT_KEY" && err_has "use --key - to read it"'
tok $COMMON --key
t "--key without its value: says -" \
  eval 'refused 2 && err_has "needs a value (KEY, or - to read standard input)"'

# ---- the cache ---------------------------------------------------------------------

CDIR=$XDG_CACHE_HOME/pkjwt
cache_files() { find "$CDIR" -type f ! -name '*.lock' 2>/dev/null; }
ctl reset
tok $COMMON --cache
t "--cache: first run gets a token" token_only
C1=$(cat "$T/out")
tok $COMMON --cache
t "--cache: second run prints the same token" \
  eval '[ "$RC" -eq 0 ] && [ "$(cat "$T/out")" = "$C1" ]'
t "--cache: two runs, one token request" [ "$(stat_of token_requests)" = 1 ]
CFILE=$(cache_files | head -n1)
t "--cache: one cache file" [ "$(cache_files | wc -l)" -eq 1 ]
t "--cache: file mode 0600" [ "$(mode_of "$CFILE")" = 600 ]
t "--cache: folder mode 0700" [ "$(mode_of "$CDIR")" = 700 ]
i=0
while [ $i -lt 5 ]; do
  "$TOKEN" $COMMON --cache >"$T/loop.$i" 2>>"$T/loop.err" || break
  i=$((i + 1))
done
t "--cache: a loop of 5 runs sends no new request" \
  [ $i -eq 5 -a "$(stat_of token_requests)" = 1 ]
tok $COMMON --cache --json
t "--cache --json: the cached response" \
  [ "$RC" -eq 0 -a "$(h get "$T/out" access_token)" = "$C1" ]

# Side by side: five at once with no cache file share one request.
rm -f "$CFILE"
ctl reset
pids=""
for i in 1 2 3 4 5; do
  "$TOKEN" $COMMON --cache >"$T/par.$i" 2>"$T/par.err.$i" &
  pids="$pids $!"
done
bad=0
for p in $pids; do wait "$p" || bad=1; done
same=1
for i in 2 3 4 5; do cmp -s "$T/par.1" "$T/par.$i" || same=0; done
t "--cache: 5 parallel runs, one request, one token" \
  [ $bad -eq 0 -a $same -eq 1 -a "$(stat_of token_requests)" = 1 ]

# A corrupt file is ignored and replaced.
printf 'garbage\n' >"$CFILE"
ctl reset
tok $COMMON --cache
t "--cache: corrupt file ignored, new token" \
  eval 'token_only && [ "$(stat_of token_requests)" = 1 ]'
tok $COMMON --cache
t "--cache: corrupt file replaced by a good one" \
  [ "$RC" -eq 0 -a "$(stat_of token_requests)" = 1 ]

# A token near expiry (less than 90 s of 900 left) is refreshed.
now=$(date +%s)
sed "s/^expires_at .*/expires_at $((now + 80))/" "$CFILE" >"$T/near" &&
  cat "$T/near" >"$CFILE"
tok $COMMON --cache
t "--cache: token near expiry refreshed" \
  eval 'token_only && [ "$(stat_of token_requests)" = 2 ]'

# A file others can read is not served, and is replaced 0600.
chmod 644 "$CFILE"
tok $COMMON --cache
t "--cache: file readable by others ignored" \
  eval 'token_only && [ "$(stat_of token_requests)" = 3 ]'
t "--cache: replaced with mode 0600" [ "$(mode_of "$CFILE")" = 600 ]
t "--cache: the warning shows no token" no_secret_in_err "$(cat "$T/out")"

# A cached token the server no longer knows: --check gets a fresh one.
ctl expire
tok $COMMON --cache --check
t "--cache --check: revoked cached token replaced, check passes" \
  eval '[ "$RC" -eq 0 ] && [ "$(h get "$T/out" active)" = true ] &&
  [ "$(stat_of token_requests)" = 4 ]'

# A cache folder others can write is not used (warning), the token still
# comes; so is a cache home that is not a folder.
chmod 775 "$CDIR"
ctl reset
tok $COMMON --cache
t "--cache: folder mode 0775: warning, token, not cached" \
  eval '[ "$RC" -eq 0 ] && err_has warning && [ "$(tl_lines "$T/out")" = 1 ] &&
  [ "$(stat_of token_requests)" = 1 ]'
chmod 700 "$CDIR"
printf 'not a folder\n' >"$T/xdg-file"
run env XDG_CACHE_HOME="$T/xdg-file" "$TOKEN" $COMMON --cache
t "--cache: cache home is a file: warning, token" \
  eval '[ "$RC" -eq 0 ] && err_has warning && [ "$(tl_lines "$T/out")" = 1 ]'

# A refusal writes no cache file.
rm -rf "$CDIR"
tok --key "$K/ec256.key" --client-id cid-ec256 --scope contact-centre:9:9 \
  --base-url "$BASE" --cache
t "--cache with a refusal: exit 5, no token file" \
  eval 'refused 5 && [ -z "$(cache_files)" ]'

# ---- keys: encrypted, public, --verbose -------------------------------------------

printf 'correct horse battery staple\n' >"$T/pass"
printf 'wrong\n' >"$T/wrong"
"$OPENSSL" pkey -in "$K/ec256.key" -aes-256-cbc -passout "file:$T/pass" \
  -out "$K/enc.key" 2>/dev/null
"$OPENSSL" pkey -in "$K/ec256.key" -pubout -out "$K/ec256.pub" 2>/dev/null
chmod 600 "$K/enc.key"
tok --key "$K/enc.key" --passphrase-file "$T/pass" --client-id cid-ec256 \
  --scope "$SCOPE" --base-url "$BASE"
t "encrypted key with --passphrase-file: token" token_only
tok --key "$K/enc.key" --passphrase-file "$T/wrong" --client-id cid-ec256 \
  --scope "$SCOPE" --base-url "$BASE"
t "encrypted key, wrong passphrase: exit 3" refused 3
tok --key "$K/enc.key" --client-id cid-ec256 --scope "$SCOPE" \
  --base-url "$BASE"
t "encrypted key, no passphrase: exit 3" refused 3
tok --key "$K/ec256.pub" --client-id cid-ec256 --scope "$SCOPE" \
  --base-url "$BASE"
t "public key only: exit 3" refused 3
"$TOKEN" --key - --client-id cid-ec256 --scope "$SCOPE" --base-url "$BASE" \
  <"$K/ec256.key" >"$T/out" 2>"$T/err"
RC=$?
t "--key - reads the key from standard input" token_only
echo 'not a key' | "$TOKEN" --key - --client-id cid-ec256 --scope "$SCOPE" \
  --base-url "$BASE" >"$T/out" 2>"$T/err"
RC=$?
t "--key - with no key on stdin: exit 3, says standard input" \
  eval 'refused 3 && err_has "pkjwt-token: standard input: "'
tok --key - --passphrase-file - --client-id cid-ec256 --scope "$SCOPE" \
  --base-url "$BASE" </dev/null
t "key and passphrase both from stdin: exit 2" refused 2
run env PKJWT_KEY= PKJWT_CLIENT_ID=cid-ec256 PKJWT_SCOPE="$SCOPE" \
  PKJWT_BASE_URL="$BASE" "$TOKEN"
t "empty PKJWT_KEY is no key: exit 2" refused 2

ctl misbehave '{"mode": "503", "count": 1}'
tok $COMMON --verbose
VTOK=$(cat "$T/out")
t "--verbose: token on stdout" \
  eval '[ "$RC" -eq 0 ] && [ "$(tl_lines "$T/out")" = 1 ]'
t "--verbose: retried and fetched events on stderr" \
  eval 'err_has "pkjwt-token: retried: " && err_has "pkjwt-token: fetched: "'
t "--verbose: no token on stderr" no_secret_in_err "$VTOK"
ctl reset

# ---- refusals ----------------------------------------------------------------------

tok --key "$K/ec256.key" --client-id cid-ec256 --scope contact-centre:9:9 \
  --base-url "$BASE"
t "wrong scope: exit 5, 1-3 lines, empty stdout" refused 5
t "wrong scope: invalid_scope and a hint" \
  eval 'err_has invalid_scope && err_has "pkjwt-token: hint: "'

tok --key "$K/stranger.key" --client-id cid-ec256 --scope "$SCOPE" \
  --base-url "$BASE"
t "unregistered key: exit 5, 1-3 lines, empty stdout" refused 5
t "unregistered key: invalid_client and a hint" \
  eval 'err_has invalid_client && err_has "pkjwt-token: hint: "'
t "unregistered key: the hint names the alg the assertion was signed with" \
  err_has "hint: .*signed with ES256: a JWK pinned to another alg refuses it"

tok --key "$K/ec256.key" --scope "$SCOPE" --base-url "$BASE"
t "missing --client-id: exit 2" refused 2
t "missing --client-id: says so" err_has client-id

before=$(stat_of token_requests)
tok --key "$K/ec256.key" --client-id cid-ec256 --scope "$SCOPE" \
  --base-url http://example.com
t "http to a non-loopback host: exit 2" refused 2
tok --key "$K/ec256.key" --client-id cid-ec256 --scope "$SCOPE" \
  --token-endpoint "http://127.0.0.1.example.com:$PORT/id/connect/token"
t "http to a host that only looks like loopback: exit 2" refused 2
t "insecure URLs: no request sent" \
  [ "$(stat_of token_requests)" = "$before" ]

tok --key "$T/no-such.key" --client-id cid-ec256 --scope "$SCOPE" \
  --base-url "$BASE"
t "missing key file: exit 3, names the file" \
  eval 'refused 3 && err_has no-such.key'
tok --key "$K/ec256.b64" --client-id cid-ec256 --scope "$SCOPE" \
  --base-url "$BASE"
t "not a key: exit 3" refused 3

FREE=$(h freeport)
tok --key "$K/ec256.key" --client-id cid-ec256 --scope "$SCOPE" \
  --base-url "http://127.0.0.1:$FREE" --retries 0
t "unreachable port: exit 4" refused 4

ctl misbehave '{"mode": "slow", "count": 1, "delay": 20}'
t0=$(date +%s)
tok $COMMON --timeout 1 --retries 0
t1=$(date +%s)
t "--timeout 1 against a slow answer: exit 4" refused 4
t "--timeout 1: gives up well before the answer" [ $((t1 - t0)) -lt 15 ]
ctl reset

ctl misbehave '{"mode": "503", "count": 1}'
tok $COMMON
t "503 then success: token" token_only
t "503 then success: two requests" [ "$(stat_of token_requests)" = 2 ]

ctl reset
ctl misbehave '{"mode": "garbage", "count": 1}'
tok $COMMON --retries 0
t "garbage answer: exit 5" refused 5

ctl reset
ctl misbehave '{"mode": "503", "count": 5}'
tok $COMMON --retries 1
t "503 twice with --retries 1: exit 5" refused 5
t "--retries 1: two requests" [ "$(stat_of token_requests)" = 2 ]
ctl reset

tok $COMMON --alg HS256
t "--alg HS256: exit 2" refused 2
before=$(stat_of token_requests)
tok $COMMON --alg ES384
t "--alg ES384 with a P-256 key: exit 2, no request" \
  eval 'refused 2 && err_has "pkjwt-token: --alg: " &&
  [ "$(stat_of token_requests)" = "$before" ]'
tok $COMMON --timeout soon
t "--timeout soon: exit 2" refused 2
tok $COMMON --bogus
t "unknown option: exit 2" refused 2
tok --help
t "--help: usage on stdout, exit 0" \
  eval '[ "$RC" -eq 0 ] && grep -q -- --client-id "$T/out" && err_empty'
t "--help: no line over 80 columns" \
  [ -z "$(awk 'length($0) > 80' "$T/out")" ]
missing=""
for o in $(sed -n 's/^  \(--[a-z-]*\).*/\1/p' "$T/out"); do
  grep -q -- "$(printf '%s' "$o" | sed 's/-/\\\\-/g')" \
    "$srcdir/docs/pkjwt-token.1" || missing="$missing $o"
done
t "every option in --help is in the man page${missing:+ (missing:$missing)}" \
  [ -z "$missing" -a "$(grep -c '^  --' "$T/out")" -ge 20 ]
tok --version
t "--version: exit 0" eval '[ "$RC" -eq 0 ] && grep -q pkjwt-token "$T/out"'

# ---- https ---------------------------------------------------------------------------

TLS=$T/tls
if sh "$srcdir/tests/endpoint/make-test-ca.sh" "$TLS" >"$T/ca.log" 2>&1; then
  start tls --tls-cert "$TLS/server.pem" --tls-key "$TLS/server.key" &&
    SBASE=https://127.0.0.1:$PORT
  start untrusted --tls-cert "$TLS/untrusted.pem" \
    --tls-key "$TLS/untrusted.key" && UBASE=https://127.0.0.1:$PORT
  tok --key "$K/ec256.key" --client-id cid-ec256 --scope "$SCOPE" \
    --base-url "$SBASE" --cacert "$TLS/ca.pem"
  t "https with --cacert: token" token_only
  tok --key "$K/ec256.key" --client-id cid-ec256 --scope "$SCOPE" \
    --base-url "$SBASE" --cacert "$TLS/ca.pem" --check
  t "https with --cacert: --check" \
    eval '[ "$RC" -eq 0 ] && [ "$(h get "$T/out" active)" = true ]'
  tok --key "$K/ec256.key" --client-id cid-ec256 --scope "$SCOPE" \
    --base-url "$SBASE" --retries 0
  t "https without --cacert: exit 4" refused 4
  t "https without --cacert: the hint names --cacert" \
    eval 'err_has "pkjwt-token: hint: .*--cacert"'
  tok --key "$K/ec256.key" --client-id cid-ec256 --scope "$SCOPE" \
    --base-url "$UBASE" --cacert "$TLS/ca.pem" --retries 0
  t "https with an untrusted certificate: exit 4" refused 4
  # A token this server never issued: 401 at its check endpoint.
  tok --key "$K/ec256.key" --client-id cid-ec256 --scope "$SCOPE" \
    --base-url "$BASE" --cacert "$TLS/ca.pem" --check \
    --check-endpoint "$SBASE/contactcentre5/accesstokeninformation"
  t "--check answered 401: exit 5, 1-3 lines, empty stdout" refused 5
  t "--check answered 401: says so, with a hint" \
    eval 'err_has "HTTP 401" && err_has "pkjwt-token: hint: .*expired"'
else
  nok "make-test-ca.sh failed: $(tail -n 3 "$T/ca.log")"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
