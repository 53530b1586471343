#!/bin/sh
# scripts/demo.sh BUILD_DIR: pkjwt's main job, end to end, on bundled
# defaults and without a network.
#
#   1. make an EC P-256 key and a self-signed certificate (pkjwt-keygen new);
#   2. show what to upload to the OIDC client (base64 certificate or JWK);
#   3. start the Puzzel-shaped test token endpoint on 127.0.0.1 with that
#      certificate registered for a demo client and scope;
#   4. get an access token with pkjwt-token;
#   5. check it at the endpoint's accesstokeninformation (pkjwt-token --check).
#
# Everything happens in a scratch folder that is removed at the end, and the
# server is stopped. BUILD_DIR is where the tools were built (it holds
# tools/pkjwt-keygen and tools/pkjwt-token). Exits non-zero if a step fails.
set -u

if [ $# -ne 1 ] || [ "$1" = --help ]; then
  echo "usage: $0 BUILD_DIR   (the folder holding tools/pkjwt-token)" >&2
  exit 2
fi
BUILD=$(cd "$1" 2>/dev/null && pwd) || {
  echo "demo: $1: no such folder" >&2
  exit 2
}
SRC=$(cd "$(dirname "$0")/.." && pwd)
KEYGEN=$BUILD/tools/pkjwt-keygen
TOKEN=$BUILD/tools/pkjwt-token
ENDPOINT=$SRC/tests/endpoint/puzzel_endpoint.py
# Debian's interpreter carries python3-jwcrypto; a pyenv one may not.
if [ -z "${PYTHON3:-}" ]; then
  if [ -x /usr/bin/python3 ]; then PYTHON3=/usr/bin/python3; else PYTHON3=python3; fi
fi
for f in "$KEYGEN" "$TOKEN"; do
  [ -x "$f" ] || { echo "demo: $f is not built (run make in $BUILD)" >&2; exit 2; }
done
[ -f "$ENDPOINT" ] || { echo "demo: $ENDPOINT is missing" >&2; exit 2; }

CLIENT_ID=pkjwt-demo-client
SCOPE=contact-centre:1234:5678
# The menu path Puzzel's guide ("Using Puzzel ID Access Tokens") walks to the
# upload page; docs/puzzel-setup.md and the README use the same one.
UPLOAD_PATH="Organisation Settings -> OIDC Clients -> your client -> Manage Client Secrets -> Add -> Private Key JWT"

D=$(mktemp -d "${TMPDIR:-/tmp}/pkjwt-demo.XXXXXX") || exit 1
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then
    kill "$SERVER" 2>/dev/null
    wait "$SERVER" 2>/dev/null
  fi
  rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
# The demo must not pick up a real client's settings or cache.
unset PKJWT_KEY PKJWT_CLIENT_ID PKJWT_SCOPE PKJWT_BASE_URL
export XDG_CACHE_HOME="$D/cache"
# Work inside the scratch folder, so the commands shown are the ones run.
cd "$D" || exit 1

step() { printf '\n== %s\n' "$*"; }
show() { sed 's/^/   /' "$@"; }
fail() {
  echo "demo: FAILED: $*" >&2
  exit 1
}

step "1. Make an EC P-256 key and a certificate (pkjwt-keygen new)"
echo "   \$ pkjwt-keygen new --type ec --curve P-256 --out client.key \\"
echo "       --cert client.crt --subject CN=pkjwt-demo --days 30"
"$KEYGEN" new --type ec --curve P-256 --out client.key \
  --cert client.crt --subject CN=pkjwt-demo --days 30 \
  >client.b64 2>"$D/keygen.err" || {
  show "$D/keygen.err"
  fail "step 1: pkjwt-keygen new"
}
# Step 2 says where to upload; the tool's own upload note would say it twice.
grep -v '^Upload this' "$D/keygen.err" | show
"$KEYGEN" export --key client.key --format jwk >client.jwk \
  2>"$D/export.err" || {
  show "$D/export.err"
  fail "step 1: pkjwt-keygen export --format jwk"
}

step "2. What to upload to the OIDC client"
echo "   In Puzzel: $UPLOAD_PATH." | fold -s -w 72 |
  sed 's/ *$//; 2,$s/^/   /'
echo "   Paste either the base64 certificate (its expiry becomes the secret's"
echo "   expiry):"
echo
show "$D/client.b64"
echo
echo "   or the JWK (pkjwt-keygen export --key client.key --format jwk):"
echo
show "$D/client.jwk"
echo
echo "   The private key (client.key, mode 0600) never leaves this machine."

step "3. Start the local Puzzel-shaped token endpoint (127.0.0.1 only)"
. "$SRC/tests/endpoint/start.sh"
ep_start "$PYTHON3" "$ENDPOINT" "$D/port" "$D/server.log" --max-seconds 300 \
  --client "$CLIENT_ID:$SCOPE:client.b64" || true
SERVER=$EP_PID
PORT=$EP_PORT
if [ -z "$PORT" ]; then
  show "$D/server.log"
  fail "step 3: the endpoint did not start (needs $PYTHON3 with python3-jwcrypto)"
fi
BASE=http://127.0.0.1:$PORT
echo "   listening on $BASE"
echo "   registered client id $CLIENT_ID, scope $SCOPE, with client.b64"

step "4. Get an access token (pkjwt-token)"
echo "   \$ pkjwt-token --key client.key --client-id $CLIENT_ID \\"
echo "       --scope $SCOPE --base-url $BASE --json"
echo "   (without --json, stdout holds the token alone: TOKEN=\$(pkjwt-token ...))"
"$TOKEN" --key client.key --client-id "$CLIENT_ID" --scope "$SCOPE" \
  --base-url "$BASE" --json >"$D/response.json" 2>"$D/token.err" || {
  show "$D/token.err"
  fail "step 4: pkjwt-token"
}
# Show the response with the token shortened: it is a bearer credential.
# Puzzel's token response names the scope by its first part only
# ("contact-centre"); the scope granted is the one asked for, which the
# check in step 5 shows in full. Both steps show that full scope.
"$PYTHON3" - "$D/response.json" "$SCOPE" <<'EOF' || fail "step 4: the response is not a token response"
import json, sys
r = json.load(open(sys.argv[1]))
t = r["access_token"]
r["access_token"] = t[:16] + "...(%d characters)" % len(t)
for k in ("access_token", "token_type", "expires_in"):
    print("   %-13s %s" % (k + ":", r.get(k)))
note = ""
if r.get("scope") != sys.argv[2]:
    note = ' (the response says "%s", as Puzzel\'s does)' % r.get("scope")
print("   %-13s %s%s" % ("scope:", sys.argv[2], note))
EOF

step "5. Check the token (pkjwt-token --check)"
echo "   \$ pkjwt-token --key client.key --client-id $CLIENT_ID \\"
echo "       --scope $SCOPE --base-url $BASE --check"
"$TOKEN" --key client.key --client-id "$CLIENT_ID" --scope "$SCOPE" \
  --base-url "$BASE" --check >"$D/check.json" 2>"$D/check.err" || {
  show "$D/check.err"
  fail "step 5: pkjwt-token --check"
}
"$PYTHON3" - "$D/check.json" "$SCOPE" <<'EOF' ||
import json, sys
r = json.load(open(sys.argv[1]))
for k, v in r.items():
    print("   %-13s %s" % (k + ":", v if isinstance(v, str) else json.dumps(v)))
sys.exit(0 if r.get("active") is True and r.get("scope") == sys.argv[2] else 1)
EOF
  fail "step 5: the check endpoint did not call the token active for $SCOPE"

kill "$SERVER" 2>/dev/null
wait "$SERVER" 2>/dev/null
SERVER=""
step "Done: key made, upload shown, token obtained and checked; server stopped."
echo "   With the real Puzzel ID, drop --base-url and use your client id and"
echo "   contact-centre:TENANT_ID:USER_ID (see docs/puzzel-setup.md)."
