#!/bin/sh
# tests/secrets.sh: no tool prints a secret (issue 12). Every tool runs on a
# known passphrase, a known private key and (pkjwt-token) a known access
# token, with --verbose where the tool has it, on success and on failure;
# all of stdout and stderr is then searched for the passphrase, for the
# private key's PEM body and its private scalar (as openssl prints it), and
# stderr for the token. The token endpoint is a few lines of Python's own
# http.server on 127.0.0.1 that answers every POST with the known token.
# Core files: the tools never dump core on these inputs (a crash fails the
# exit-status checks), so there is no core to search.
# shellcheck disable=SC2086
set -u
PYTHON3=${PYTHON3:-/usr/bin/python3}
[ -n "$PYTHON3" ] || PYTHON3=/usr/bin/python3
OPENSSL=${OPENSSL_CLI:-openssl}
[ -n "$OPENSSL" ] || OPENSSL=openssl
top_builddir=${top_builddir:-$(pwd)}
. "${top_srcdir:-.}/tests/tool-lib.sh"
tl_tools
KEYGEN=$TL_KEYGEN
SIGN=$TL_SIGN
TOKEN=$TL_TOKEN
for t in "$KEYGEN" "$SIGN" "$TOKEN"; do
  [ -x "$t" ] || { echo "FAIL: $t not built"; exit 99; }
done
command -v "$OPENSSL" >/dev/null 2>&1 || { echo "SKIP: no openssl"; exit 77; }
[ -x "$PYTHON3" ] || { echo "SKIP: no python3"; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/pkjwt-secrets.XXXXXX") || exit 99
SRV=
cleanup() {
  [ -n "$SRV" ] && kill "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
cd "$T" || exit 99
unset PKJWT_KEY PKJWT_CLIENT_ID PKJWT_SCOPE PKJWT_BASE_URL
export XDG_CACHE_HOME="$T/cache"

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok - $1"; }
nok() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; }

PASSPHRASE="Pass-phrase-that-must-never-show-7c1e"
TOKEN_VALUE="tok-0123456789abcdef-KNOWN-TOKEN-never-on-stderr"
printf '%s\n' "$PASSPHRASE" >pass
printf '%s\n' "wrong-$PASSPHRASE" >wrongpass

# the key: made by the openssl CLI, then encrypted by pkjwt-keygen's export?
# No: pkjwt-keygen new writes it encrypted; openssl reads it back to learn
# its secrets (the PEM body of the plain key and the private scalar).
"$KEYGEN" new --out enc.key --passphrase-file pass --kdf pbkdf2 --quiet \
  >out.new 2>err.new || { echo "FAIL: keygen new"; cat err.new; exit 1; }
"$OPENSSL" pkey -in enc.key -passin file:pass -out plain.key 2>/dev/null ||
  { echo "FAIL: openssl cannot read the key"; exit 1; }
# needles: each PEM body line of the plain key, and the private scalar in
# hex without colons (openssl's text form), in lower and upper case
grep -v -- '-----' plain.key >needles
"$OPENSSL" pkey -in plain.key -noout -text 2>/dev/null |
  awk '/^priv:/{p=1;next} /^pub:/{p=0} p' | tr -d ' :\n' >priv.hex
[ -s priv.hex ] || { echo "FAIL: no private scalar"; exit 1; }
# a long run of hex digits is what a leak would show; 32 is plenty
cut -c1-32 priv.hex >>needles
echo >>needles
tr 'a-f' 'A-F' <priv.hex | cut -c1-32 >>needles
echo >>needles
printf '%s\n' "$PASSPHRASE" >>needles
sed -i '/^$/d' needles

# The runs below read fast.key: the same key, encrypted by openssl with
# PBKDF2 + AES-256-CBC as pkjwt-keygen does, but with 1000 iterations, not
# 600,000 (the same code path in pkjwt, a fraction of the CPU: under ASan
# each read of enc.key costs seconds). enc.key itself is read once
# (keygen_info_enc), so the key pkjwt-keygen wrote is still searched too.
"$OPENSSL" pkcs8 -topk8 -v2 aes-256-cbc -iter 1000 -in plain.key \
  -passout file:pass -out fast.key 2>/dev/null ||
  { echo "FAIL: openssl cannot encrypt the key"; exit 1; }
"$OPENSSL" asn1parse -in fast.key 2>/dev/null | grep -q PBKDF2 ||
  { echo "FAIL: fast.key is not PBKDF2-encrypted"; exit 1; }

# A token endpoint and a check endpoint in one: any POST gets the token,
# any GET a check answer.
cat >srv.py <<EOF
import http.server, json, sys
TOKEN = "$TOKEN_VALUE"
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def answer(self, obj):
        b = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.answer({"access_token": TOKEN, "token_type": "Bearer",
                     "expires_in": 3600, "scope": "s"})
    def do_GET(self):
        self.answer({"active": True, "client_id": "c"})
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
"$PYTHON3" srv.py >port 2>srv.err &
SRV=$!
i=0
while [ ! -s port ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(cat port)
[ -n "$PORT" ] || { echo "FAIL: server did not start"; exit 1; }
BASE=http://127.0.0.1:$PORT

N=0
# run NAME CMD...: run, keep stdout and stderr as NAME.out/.err
run() {
  n=$1
  shift
  N=$((N + 1))
  "$@" >"$n.out" 2>"$n.err" </dev/null
  echo $? >"$n.rc"
}

# every tool, with and without the right passphrase
run keygen_info_enc "$KEYGEN" info --key enc.key --passphrase-file pass
run keygen_info "$KEYGEN" info --key fast.key --passphrase-file pass
run keygen_info_wrong "$KEYGEN" info --key fast.key --passphrase-file wrongpass
run keygen_info_none "$KEYGEN" info --key fast.key
run keygen_cert "$KEYGEN" cert --key fast.key --passphrase-file pass --out c.crt
run keygen_export "$KEYGEN" export --format jwk --key fast.key --passphrase-file pass
run sign "$SIGN" --key fast.key --passphrase-file pass --client-id c --aud "$BASE/t"
run sign_wrong "$SIGN" --key fast.key --passphrase-file wrongpass --client-id c --aud x
run sign_plain "$SIGN" --key plain.key --client-id c --aud x --claims '{"a":'
run token "$TOKEN" --verbose --key fast.key --passphrase-file pass \
  --client-id c --scope s --base-url "$BASE"
run token_json "$TOKEN" --verbose --json --key fast.key \
  --passphrase-file pass --client-id c --scope s --base-url "$BASE"
run token_check "$TOKEN" --verbose --check --key fast.key \
  --passphrase-file pass --client-id c --scope s --base-url "$BASE"
run token_cache "$TOKEN" --verbose --cache --key fast.key \
  --passphrase-file pass --client-id c --scope s --base-url "$BASE"
run token_cache2 "$TOKEN" --verbose --cache --key fast.key \
  --passphrase-file pass --client-id c --scope s --base-url "$BASE"
run token_wrong "$TOKEN" --verbose --key fast.key --passphrase-file wrongpass \
  --client-id c --scope s --base-url "$BASE"
run token_down "$TOKEN" --verbose --key fast.key --passphrase-file pass \
  --client-id c --scope s --base-url http://127.0.0.1:1 --retries 0

# the runs that should work did (so their output was worth searching)
for n in keygen_info_enc keygen_info keygen_cert keygen_export sign token \
  token_json token_check token_cache token_cache2; do
  if [ "$(cat $n.rc)" = 0 ]; then ok "$n ran"; else
    nok "$n ran (exit $(cat $n.rc)): $(head -c 300 $n.err)"
  fi
done
for n in keygen_info_wrong keygen_info_none sign_wrong sign_plain \
  token_wrong token_down; do
  rc=$(cat $n.rc)
  if [ "$rc" != 0 ] && [ "$rc" -lt 128 ]; then ok "$n refused"; else
    nok "$n refused (exit $rc)"
  fi
done
# the token was printed where it is the result
grep -q -- "$TOKEN_VALUE" token.out && ok "token on stdout" ||
  nok "token on stdout"

# the needles find what they are for (else the search below proves nothing)
grep -q -F -f needles plain.key && grep -q -F -f needles pass &&
  "$OPENSSL" pkey -in plain.key -noout -text 2>/dev/null | tr -d ' :\n' |
  grep -q -F -f needles && ok "needles find the key and passphrase" ||
  nok "needles find the key and passphrase"

# no key or passphrase anywhere, no token on any stderr
for f in *.out *.err; do
  if grep -q -F -f needles "$f"; then
    nok "$f holds a key or passphrase: $(grep -F -o -f needles "$f" | head -c 60)"
  else
    ok "$f: no key, no passphrase"
  fi
done
for f in *.err; do
  if grep -q -F -- "$TOKEN_VALUE" "$f"; then nok "$f holds the token"
  else ok "$f: no token"; fi
done
# --verbose said something (so it was on)
[ -s token.err ] && ok "--verbose wrote events" || nok "--verbose wrote events"

echo "$PASS passed, $FAIL failed ($N runs)"
[ "$FAIL" = 0 ] && [ "$PASS" -gt 0 ]
