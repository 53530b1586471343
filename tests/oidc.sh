#!/bin/sh
# tests/oidc.sh: pkjwt-keygen and pkjwt-token against a real OpenID
# Certified provider, panva's oidc-provider (tests/oidc/server.js), on
# 127.0.0.1 (issue 9 point 8; tests/oidc/README.md).
#
# The provider's npm packages are the exact versions of the committed
# tests/oidc/package-lock.json, installed by this test with `npm ci` into
# $top_builddir/tests/oidc-npm (again only when the lock changes; npm asks
# the npm registry or its own cache, nothing else). Without node >= 18.12,
# npm, or when `npm ci` fails (no network, no cache), the test is SKIPPED
# (exit 77), never passed.
#
# Checks: discovery names the issuer, the token endpoint, private_key_jwt
# and all nine algorithms; for each of RS/PS/ES 256/384/512 a key from
# `pkjwt-keygen new`, registered as the JWKS `pkjwt-keygen export` prints,
# gets a token (and --check reads it back), with the default audience and
# with strict audience (typ client-authentication+jwt, aud = the issuer),
# and a strict provider refuses the default audience; a JWK pinned with
# `export --alg PS256` and a token signed with RS256 is refused, and so is
# a key the provider does not know. A refusal: exit 5, nothing on stdout,
# at most three lines on stderr that name invalid_client, and the
# provider's own log names the cause. The strict provider runs on https
# (the test CA of tests/endpoint/make-test-ca.sh, given with --cacert;
# without it the certificate is refused). When pkjwt-token has the generic
# profile (discovery), --issuer alone gets a token, in strict mode too,
# and an issuer that is not the metadata's exactly is refused; without it
# those checks are SKIPPED. pkjwt-sign's strict assertion, sent by curl,
# gets a token and its replay is refused. A key set (docs/rotation.md):
# rotate, activate, export --dir, each upload a provider of its own; the
# next key works once uploaded, and a provider without the upload refuses
# the new active key. Keys in a SoftHSM2 token (tests/pkcs11-setup.sh):
# their JWKS registered, tokens signed inside the token (ES256, RS256,
# PS256, and ES256 in strict mode); SKIPPED without softhsm2 or opensc.
# shellcheck disable=SC2016
set -u
: "${top_srcdir:=.}"
: "${top_builddir:=.}"
top_srcdir=$(cd "$top_srcdir" && pwd)
top_builddir=$(cd "$top_builddir" && pwd)
NODE=${NODE:-node}
NPM=${NPM:-npm}
SRC=$top_srcdir/tests/oidc
NPMDIR=$top_builddir/tests/oidc-npm
ALGS="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512"
CLIENT=pkjwt-client
SCOPE=api:read

. "$top_srcdir/tests/tool-lib.sh"
tl_tools
K=$TL_KEYGEN
TOK=$TL_TOKEN

[ -x "$TOK" ] || { echo "FAIL: $TOK not built"; exit 99; }
tl_have "$NODE" || { echo "SKIP: no $NODE (Debian: nodejs)"; exit 77; }
"$NODE" -e 'const [a, b] = process.versions.node.split(".").map(Number);
  process.exit(a > 18 || (a === 18 && b >= 12) ? 0 : 1)' || {
  echo "SKIP: $NODE does not run, or is older than 18.12 (oidc-provider 8)"
  exit 77
}

# ---- the provider's packages: npm ci from the committed lock ------------
if ! cmp -s "$SRC/package-lock.json" "$NPMDIR/installed-lock.json" ||
  [ ! -f "$NPMDIR/node_modules/oidc-provider/package.json" ]; then
  tl_have "$NPM" || { echo "SKIP: no $NPM (Debian: npm)"; exit 77; }
  mkdir -p "$NPMDIR" || exit 99
  # rm first: copies of a read-only source (make distcheck) are read-only.
  rm -f "$NPMDIR/installed-lock.json" "$NPMDIR/package.json" \
    "$NPMDIR/package-lock.json"
  cp "$SRC/package.json" "$SRC/package-lock.json" "$NPMDIR/" || exit 99
  echo "# npm ci in $NPMDIR (the exact versions of tests/oidc/package-lock.json)"
  # Few, short retries: without a registry the test is skipped in seconds.
  if ! (cd "$NPMDIR" && timeout 600 "$NPM" ci --ignore-scripts --no-audit \
    --no-fund --prefer-offline --loglevel=error --fetch-retries=1 \
    --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=5000) \
    >"$NPMDIR/npm-ci.log" 2>&1
  then
    sed 's/^/#   npm: /' "$NPMDIR/npm-ci.log" | tail -n 5
    echo "SKIP: npm ci failed (no npm registry or cache?): $NPMDIR/npm-ci.log"
    exit 77
  fi
  cat "$SRC/package-lock.json" >"$NPMDIR/installed-lock.json" || exit 99
fi
# Beside its node_modules, so that node resolves `import 'oidc-provider'`.
rm -f "$NPMDIR/server.js"
cp "$SRC/server.js" "$NPMDIR/server.js" || exit 99

unset PKJWT_KEY PKJWT_KEYSET PKJWT_CLIENT_ID PKJWT_SCOPE PKJWT_BASE_URL \
  PKJWT_PROFILE
tl_begin
cd "$TL_DIR" || exit 99
export XDG_CACHE_HOME="$TL_PRIV/cache"

# ---- the servers ----------------------------------------------------------
# oidc_start NAME FD ARG...: start server.js with its stdin on a FIFO that
# this shell holds open on descriptor FD (3 to 6): when the test ends, even
# killed, the FIFO closes and the server exits. Its lifetime is bounded too.
# Sets PORT and ISS (https when ARGs give --tls-cert); its log is
# $TL_PRIV/NAME.log.
OIDC_PIDS=
oidc_stop() {
  exec 3>&- 4>&- 5>&- 6>&-
  for p in $OIDC_PIDS; do kill "$p" 2>/dev/null; done
  for p in $OIDC_PIDS; do wait "$p" 2>/dev/null; done
  OIDC_PIDS=
}
trap 'oidc_stop; _tl_cleanup' EXIT
oidc_start() {
  _n=$1 _fd=$2
  shift 2
  mkfifo "$TL_PRIV/$_n.ctl" || exit 99
  # The other servers' FIFOs are closed in this one: only this shell holds
  # a FIFO open for writing.
  "$NODE" "$NPMDIR/server.js" --port-file "$TL_PRIV/$_n.port" \
    --lifetime 600 "$@" <"$TL_PRIV/$_n.ctl" >"$TL_PRIV/$_n.log" 2>&1 \
    3>&- 4>&- 5>&- 6>&- &
  OIDC_PIDS="$OIDC_PIDS $!"
  _pid=$!
  eval "exec $_fd>\"\$TL_PRIV/\$_n.ctl\""
  _i=0
  while [ ! -s "$TL_PRIV/$_n.port" ] && [ "$_i" -lt "${OIDC_WAIT_TENTHS:-300}" ]
  do
    kill -0 "$_pid" 2>/dev/null || break
    sleep 0.1
    _i=$((_i + 1))
  done
  PORT=$(cat "$TL_PRIV/$_n.port" 2>/dev/null)
  if [ -z "$PORT" ]; then
    echo "FAIL: the $_n provider did not start; its log:"
    sed 's/^/#   /' "$TL_PRIV/$_n.log"
    exit 99
  fi
  _scheme=http
  for _a in "$@"; do [ "$_a" = --tls-cert ] && _scheme=https; done
  ISS=$_scheme://127.0.0.1:$PORT
}

# ---- keys: one per algorithm, from pkjwt-keygen new ------------------------
# RSA keys of 2048 bits (RS256 the default 3072) keep the test quick.
newkey() { # ALG ARG...
  _a=$1
  shift
  tl_run "$K" new --out "$_a.key" --quiet "$@"
  [ "$TL_RC" -eq 0 ] || { echo "FAIL: pkjwt-keygen new $*:"; cat "$TL_ERR"; exit 99; }
}
for a in $ALGS; do
  case $a in
  RS256) newkey "$a" --type rsa ;;
  RS* | PS*) newkey "$a" --type rsa --bits 2048 ;;
  ES256) newkey "$a" --type ec --curve P-256 ;;
  ES384) newkey "$a" --type ec --curve P-384 ;;
  ES512) newkey "$a" --type ec --curve P-521 ;;
  esac
done
newkey pinned --type rsa --bits 2048
newkey stranger --type ec

# What is registered: the nine keys as one JWKS, and the pinned key's JWK.
set --
for a in $ALGS; do set -- "$@" --key "$a.key"; done
tl_expect_ok "export --format jwks of the nine keys" "$K" export --format jwks "$@"
cp "$TL_OUT" nine.jwks
tl_check "the JWKS holds nine keys and pins no RS/PS alg" \
  "$NODE" -e 'const s = JSON.parse(require("fs").readFileSync("nine.jwks"));
    process.exit(s.keys.length === 9 &&
      s.keys.every((k) => k.kty !== "RSA" || k.alg === undefined) ? 0 : 1)'
tl_expect_ok "export --format jwk --alg PS256" \
  "$K" export --format jwk --alg PS256 --key pinned.key
cp "$TL_OUT" pinned.jwk
tl_check "the pinned JWK says alg PS256" grep -q '"alg":"PS256"' pinned.jwk

# ---- refusals ---------------------------------------------------------------
# _judge CODE PATTERN CMD...: run CMD; _why says what is wrong with it as a
# refusal: not exit CODE, something on stdout, not one to three lines on
# stderr (the error, its detail, a hint), the first not "pkjwt-token: ",
# or none matching PATTERN (grep -E).
_judge() {
  _code=$1 _pat=$2
  shift 2
  tl_run "$@"
  _why=
  [ "$TL_RC" -eq "$_code" ] || _why="$_why exit status $TL_RC, not $_code;"
  [ -s "$TL_OUT" ] && _why="$_why stdout is not empty;"
  _nl=$(tl_lines "$TL_ERR")
  [ "$_nl" -ge 1 ] && [ "$_nl" -le 3 ] ||
    _why="$_why stderr has $_nl lines;"
  head -n 1 "$TL_ERR" | grep -q '^pkjwt-token: ' ||
    _why="$_why stderr does not begin with pkjwt-token:;"
  grep -Eq -- "$_pat" "$TL_ERR" ||
    _why="$_why stderr does not match /$_pat/;"
}
_report() { # MSG [LOG]
  if [ -z "$_why" ]; then
    tl_pass "$1"
  else
    tl_fail "$1:$_why"
    sed 's/^/  stderr: /' "$TL_ERR" | head -n 5
    [ -z "${2:-}" ] || tail -n 3 "$2" | sed 's/^/  provider: /'
  fi
}
# refused_by_tool MSG CODE PATTERN CMD...: a refusal (_judge).
refused_by_tool() {
  _m=$1
  shift
  _judge "$@"
  _report "$_m"
}
# refused MSG LOG CAUSE CMD...: refused by the provider: exit 5,
# invalid_client on stderr (_judge), and a new line in the provider's LOG
# that matches CAUSE (grep -E): the provider tells the client only "client
# authentication failed".
refused() {
  _m=$1 _log=$2 _cause=$3
  shift 3
  _before=$(tl_lines "$_log")
  _judge 5 'invalid_client' "$@"
  tail -n +"$((_before + 1))" "$_log" | grep -Eq -- "$_cause" ||
    _why="$_why the provider's log does not say /$_cause/;"
  _report "$_m" "$_log"
}

# is_token: the token alone on one line of stdout, nothing on stderr.
is_token() {
  [ "$(tl_lines "$TL_OUT")" = 1 ] &&
    grep -q '^[A-Za-z0-9._~+/-][A-Za-z0-9._~+/-]*=*$' "$TL_OUT" &&
    [ ! -s "$TL_ERR" ]
}
token_ok() { # MSG CMD...
  _m=$1
  shift
  tl_run "$@"
  if [ "$TL_RC" -eq 0 ] && is_token; then
    tl_pass "$_m"
  else
    tl_fail "$_m"
    _tl_show
  fi
}

# ---- the provider as a new user meets it ------------------------------------
oidc_start plain 3 --jwks nine.jwks --jwks pinned.jwk --client-id "$CLIENT" \
  --scope "$SCOPE"
PLAIN_LOG=$TL_PRIV/plain.log

# Discovery, read by node (pkjwt-token's own discovery is not relied on).
tl_expect_ok "discovery document" "$NODE" -e '
  fetch(process.argv[1] + "/.well-known/openid-configuration",
    { signal: AbortSignal.timeout(30000) })
    .then((r) => r.text()).then((t) => process.stdout.write(t))' "$ISS"
cp "$TL_OUT" discovery.json
tl_expect_ok "discovery: issuer, token endpoint, private_key_jwt, nine algs" \
  "$NODE" -e '
  const [iss, algs] = process.argv.slice(1);
  const d = JSON.parse(require("fs").readFileSync("discovery.json"));
  const listed = d.token_endpoint_auth_signing_alg_values_supported || [];
  const why = [];
  if (d.issuer !== iss) why.push("issuer " + d.issuer);
  if (d.token_endpoint !== iss + "/token") why.push("token_endpoint " + d.token_endpoint);
  if (!(d.token_endpoint_auth_methods_supported || []).includes("private_key_jwt"))
    why.push("no private_key_jwt");
  for (const a of algs.split(" ")) if (!listed.includes(a)) why.push(a + " not listed");
  if (why.length) { console.error(why.join("; ")); process.exit(1); }' \
  "$ISS" "$ALGS"
TE=$("$NODE" -e 'process.stdout.write(JSON.parse(require("fs")
  .readFileSync("discovery.json")).token_endpoint || "")')
[ -n "$TE" ] || TE=$ISS/token

common="--client-id $CLIENT --scope $SCOPE --token-endpoint $TE"
# shellcheck disable=SC2086 # $common is words
for a in $ALGS; do
  token_ok "$a: a token (aud = token endpoint, typ JWT)" \
    "$TOK" --key "$a.key" --alg "$a" $common
  token_ok "$a: a token (audience issuer, typ client-authentication+jwt)" \
    "$TOK" --key "$a.key" --alg "$a" $common --issuer "$ISS" --audience issuer
done

# --check: the token is one the provider issued, to this client.
# shellcheck disable=SC2086
tl_run "$TOK" --key ES256.key $common --check --check-endpoint "$ISS/check"
if [ "$TL_RC" -eq 0 ] && grep -q '"active":true' "$TL_OUT" &&
  grep -q "\"client_id\":\"$CLIENT\"" "$TL_OUT"; then
  tl_pass "--check: the provider knows the token"
else
  tl_fail "--check: the provider knows the token"
  _tl_show
fi
# --json: the provider's whole answer.
# shellcheck disable=SC2086
tl_run "$TOK" --key PS256.key --alg PS256 $common --json
if [ "$TL_RC" -eq 0 ] && grep -q '"token_type":"Bearer"' "$TL_OUT" &&
  grep -q '"expires_in":' "$TL_OUT"; then
  tl_pass "--json: token_type Bearer and expires_in"
else
  tl_fail "--json: token_type Bearer and expires_in"
  _tl_show
fi

# The pinned JWK: PS256 works, RS256 with the same key is refused.
# shellcheck disable=SC2086
token_ok "pinned alg PS256: a PS256 token" \
  "$TOK" --key pinned.key --alg PS256 $common
# shellcheck disable=SC2086
refused "pinned alg PS256: RS256 is refused" "$PLAIN_LOG" \
  'invalid_client: no applicable key found' \
  "$TOK" --key pinned.key --alg RS256 $common
tl_check "pinned alg PS256: the hint names the alg it was signed with" \
  grep -q 'hint: .*signed with RS256: a JWK pinned to another alg' "$TL_ERR"
# A key the provider was never given.
# shellcheck disable=SC2086
refused "an unknown key is refused" "$PLAIN_LOG" \
  'invalid_client: no applicable key found' \
  "$TOK" --key stranger.key $common
# Another client's name with a registered key.
refused "an unknown client_id is refused" "$PLAIN_LOG" \
  'invalid_client: .*(not found|invalid)' \
  "$TOK" --key ES256.key --client-id not-registered --scope "$SCOPE" \
  --token-endpoint "$TE"

# Discovery by the tool itself, when it has it (the generic profile): the
# issuer alone; the alg chosen from the key and the server's list; an
# issuer that is not the metadata's exactly is refused.
GENERIC=
"$TOK" --help 2>/dev/null | grep -q -- '--profile.*generic' && GENERIC=1
if [ -n "$GENERIC" ]; then
  token_ok "generic, --issuer alone: discovery finds the token endpoint" \
    "$TOK" --profile generic --issuer "$ISS" --key ES256.key \
    --client-id "$CLIENT" --scope "$SCOPE"
  token_ok "generic, an RSA key and no --alg: an alg the provider lists" \
    "$TOK" --profile generic --issuer "$ISS" --key PS384.key \
    --client-id "$CLIENT" --scope "$SCOPE"
  refused_by_tool "generic, --issuer with a trailing slash is not the issuer" \
    5 "issuer.*$ISS/" \
    "$TOK" --profile generic --issuer "$ISS/" --key ES256.key \
    --client-id "$CLIENT" --scope "$SCOPE"
else
  tl_skip "generic profile: discovery by pkjwt-token" \
    "this pkjwt-token has no generic profile"
fi

# ---- strict audience, over https --------------------------------------------
# As real providers are: https with a certificate of the test CA, which
# pkjwt-token trusts with --cacert (plain http when openssl cannot make it).
set -- --jwks nine.jwks --client-id "$CLIENT" --scope "$SCOPE" --strict-audience
TLS=
if sh "$top_srcdir/tests/endpoint/make-test-ca.sh" "$TL_PRIV/tls" \
  >"$TL_PRIV/tls.log" 2>&1; then
  TLS=1
  cp "$TL_PRIV/tls/ca.pem" ca.pem || exit 99
  set -- "$@" --tls-cert "$TL_PRIV/tls/server.pem" --tls-key "$TL_PRIV/tls/server.key"
fi
oidc_start strict 4 "$@"
STRICT_LOG=$TL_PRIV/strict.log
common="--client-id $CLIENT --scope $SCOPE --token-endpoint $ISS/token"
if [ -n "$TLS" ]; then
  tl_check "strict: the discovery document is served over https" \
    "$NODE" -e 'const [iss, ca] = process.argv.slice(1);
      require("https").get(iss + "/.well-known/openid-configuration",
        { ca: require("fs").readFileSync(ca), timeout: 30000 }, (r) => {
          let t = ""; r.on("data", (d) => { t += d; });
          r.on("end", () => process.exit(JSON.parse(t).issuer === iss ? 0 : 1));
        }).on("error", () => process.exit(1))
        .on("timeout", () => process.exit(1));' "$ISS" ca.pem
  # shellcheck disable=SC2086
  refused_by_tool "strict: without --cacert the certificate is not trusted" \
    4 'certificate|SSL|TLS' \
    "$TOK" --key ES256.key $common --issuer "$ISS" --audience issuer --retries 0
  common="$common --cacert ca.pem"
else
  tl_skip "strict over https" "make-test-ca.sh failed: $(tail -n 1 "$TL_PRIV/tls.log")"
fi
# shellcheck disable=SC2086
for a in $ALGS; do
  token_ok "strict, $a: a token with --audience issuer" \
    "$TOK" --key "$a.key" --alg "$a" $common --issuer "$ISS" --audience issuer
done
if [ -n "$GENERIC" ]; then
  set -- --profile generic --issuer "$ISS" --audience issuer \
    --key ES512.key --client-id "$CLIENT" --scope "$SCOPE"
  [ -z "$TLS" ] || set -- "$@" --cacert ca.pem
  token_ok "strict, generic: --issuer alone and --audience issuer" "$TOK" "$@"
fi
# shellcheck disable=SC2086
refused "strict: the default audience (typ JWT) is refused" "$STRICT_LOG" \
  'strict audience: typ must be client-authentication\+jwt' \
  "$TOK" --key ES256.key $common
# shellcheck disable=SC2086
refused "strict: aud = the issuer with typ JWT (--audience URL) is refused" \
  "$STRICT_LOG" 'strict audience: typ must be client-authentication\+jwt' \
  "$TOK" --key ES384.key --alg ES384 $common --audience "$ISS"
# shellcheck disable=SC2086
refused "strict: an unknown key is refused" "$STRICT_LOG" \
  'invalid_client: no applicable key found' \
  "$TOK" --key stranger.key $common --issuer "$ISS" --audience issuer

# pkjwt-sign's assertion, sent by curl: taken once, refused when replayed
# (the provider keeps every jti until it expires).
# post ASSERTION: the token request; the answer's body, then its status.
# shellcheck disable=SC2317 # called through tl_run
post() {
  curl -sS --max-time 30 --cacert ca.pem -o - -w '\n%{http_code}\n' \
    -d grant_type=client_credentials -d "client_id=$CLIENT" \
    -d "scope=$SCOPE" -d "client_assertion_type=$ASSERTION_TYPE" \
    -d "client_assertion=$1" "$ISS/token"
}
ASSERTION_TYPE=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer
if [ -n "$TLS" ] && tl_have curl; then
  tl_expect_ok "pkjwt-sign --typ client-authentication+jwt --aud ISSUER" \
    "$TL_SIGN" --key PS512.key --alg PS512 \
    --client-id "$CLIENT" --aud "$ISS" --typ client-authentication+jwt
  a=$(cat "$TL_OUT")
  tl_run post "$a"
  if [ "$TL_RC" -eq 0 ] && [ "$(tail -n 1 "$TL_OUT")" = 200 ] &&
    grep -q '"access_token":' "$TL_OUT"; then
    tl_pass "strict: pkjwt-sign's assertion gets a token"
  else
    tl_fail "strict: pkjwt-sign's assertion gets a token"
    _tl_show
  fi
  _before=$(tl_lines "$STRICT_LOG")
  tl_run post "$a"
  if [ "$(tail -n 1 "$TL_OUT")" = 401 ] && grep -q invalid_client "$TL_OUT" &&
    tail -n +"$((_before + 1))" "$STRICT_LOG" | grep -q 'only be used once'; then
    tl_pass "strict: the same assertion again is refused (jti replay)"
  else
    tl_fail "strict: the same assertion again is refused (jti replay)"
    _tl_show
  fi
else
  tl_skip "pkjwt-sign's assertion sent by curl" "no curl or no https"
fi

# ---- a key set rotated against the provider (docs/rotation.md) ------------
# What the provider has registered is what was uploaded at the time: one
# provider per upload (the JWKS of `export --dir`).
mkdir ks && chmod 700 ks
ks_ok() { # MSG CMD...: the command exits 0 (its stdout is not a token)
  tl_expect_ok "$@"
  [ "$TL_RC" -eq 0 ] || exit 99
}
ks_ok "rotate: the first key" "$K" rotate --dir ks --quiet
ks_ok "activate the first key" "$K" activate --dir ks
ks_ok "export --dir: the JWKS to upload" "$K" export --dir ks --format jwks
cp "$TL_OUT" ks1.jwks
oidc_start upload1 5 --jwks ks1.jwks --client-id "$CLIENT" --scope "$SCOPE"
ISS1=$ISS UPLOAD1_LOG=$TL_PRIV/upload1.log
ks1="--client-id $CLIENT --scope $SCOPE --token-endpoint $ISS1/token"
# shellcheck disable=SC2086
token_ok "key set: a token with the active key" "$TOK" --keyset ks $ks1
ks_ok "rotate: a next key" "$K" rotate --dir ks --type rsa --bits 2048 --quiet
NEXT=$("$K" status --dir ks 2>/dev/null | awk '$2 == "next" { print $1 }')
[ -n "$NEXT" ] || { echo "FAIL: no next key in pkjwt-keygen status"; exit 99; }
ks_ok "export --dir: the JWKS of the active and next keys" \
  "$K" export --dir ks --format jwks
cp "$TL_OUT" ks2.jwks
# shellcheck disable=SC2086
token_ok "key set: before the upload the active key still works" \
  "$TOK" --keyset ks $ks1
oidc_start upload2 6 --jwks ks2.jwks --client-id "$CLIENT" --scope "$SCOPE"
ks2="--client-id $CLIENT --scope $SCOPE --token-endpoint $ISS/token"
# shellcheck disable=SC2086
token_ok "key set: after the upload the next key works (PS256)" \
  "$TOK" --key "ks/$NEXT.key" --alg PS256 $ks2
ks_ok "activate the next key" "$K" activate --dir ks
# shellcheck disable=SC2086
token_ok "key set: the new active key gets a token" "$TOK" --keyset ks $ks2
# shellcheck disable=SC2086
refused "key set: a provider without the upload refuses the new key" \
  "$UPLOAD1_LOG" 'invalid_client: no applicable key found' \
  "$TOK" --keyset ks $ks1

# ---- keys in a PKCS#11 token (issue 13) -----------------------------------
# A SoftHSM2 token made by tests/pkcs11-setup.sh in the test's folder: the
# JWKS that `pkjwt-keygen export` prints for two token keys is registered,
# and pkjwt-token gets tokens with assertions signed inside the token (ES256,
# RS256, PS256 through CKM_RSA_PKCS_PSS; ES256 in strict mode too). Without
# softhsm2 or opensc, or in a build without PKCS#11 keys, SKIPPED.
oidc_stop
P11DIR=$TL_PRIV/p11
mkdir -p "$P11DIR" || exit 99
p11_skip() { # WHY
  for _s in "ES256: a token signed in a PKCS#11 token" \
    "RS256: a token signed in a PKCS#11 token" \
    "PS256: a token signed in a PKCS#11 token" \
    "ES256 in a PKCS#11 token: a token in strict mode"; do
    tl_skip "$_s" "$1"
  done
}
if ! "$K" --version | grep -q '^PKCS#11 keys: yes'; then
  p11_skip "this build has no PKCS#11 keys"
elif MOD=$(top_builddir=$top_builddir sh "$top_srcdir/tests/pkcs11-setup.sh" \
  "$P11DIR" 2>"$P11DIR/setup.err"); then
  SOFTHSM2_CONF=$P11DIR/softhsm2.conf
  export SOFTHSM2_CONF
  p11uri() { echo "pkcs11:token=pkjwt-test;object=$1"; }
  P11="--pkcs11-module $MOD --pin-file $P11DIR/pin"
  # shellcheck disable=SC2086
  tl_expect_ok "PKCS#11 token keys: export --format jwks" \
    "$K" export --format jwks --key "$(p11uri ec256)" \
    --key "$(p11uri rsa2048)" $P11
  cp "$TL_OUT" p11.jwks
  oidc_start p11 3 --jwks p11.jwks --client-id "$CLIENT" --scope "$SCOPE"
  p11c="--client-id $CLIENT --scope $SCOPE --token-endpoint $ISS/token"
  for spec in "ES256 ec256" "RS256 rsa2048" "PS256 rsa2048"; do
    # shellcheck disable=SC2086
    set -- $spec
    # shellcheck disable=SC2086
    token_ok "$1: a token signed in a PKCS#11 token" \
      "$TOK" --key "$(p11uri "$2")" --alg "$1" $P11 $p11c
  done
  # shellcheck disable=SC2086
  token_ok "ES256 in a PKCS#11 token: a token in strict mode" \
    "$TOK" --key "$(p11uri ec256)" $P11 $p11c --issuer "$ISS" \
    --audience issuer
else
  _rc=$?
  if [ "$_rc" -eq 77 ]; then
    p11_skip "$(head -n 1 "$P11DIR/setup.err")"
  else
    echo "FAIL: tests/pkcs11-setup.sh exited $_rc:"
    sed 's/^/#   /' "$P11DIR/setup.err"
    exit 99
  fi
fi

oidc_stop
tl_end
