#!/bin/sh
# tests/pkcs11.sh: the tools with keys in a PKCS#11 token (issue 13).
#
# Makes a SoftHSM2 token in a temporary folder (tests/pkcs11-setup.sh),
# then: pkjwt-sign signs every algorithm the token's keys allow and
# python3-jwcrypto and the openssl CLI verify each signature; pkjwt-keygen
# info, export (JWK, public PEM) and cert (base64 certificate, checked by
# openssl) work on a token key; pkjwt-token gets a token from the test
# endpoint (tests/endpoint/puzzel_endpoint.py) with a token key; and every
# failure is one line on stderr, nothing on stdout, no file left: wrong
# PIN, no PIN, token absent, module missing, object not found, two objects
# matching, a key that may not sign, a PIN in the URI.
# A build without libp11 must say so in --version and refuse pkcs11: keys
# with one line. Skips (77) without SoftHSM2 or opensc.
# shellcheck disable=SC2086
set -u
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$(pwd)}
top_builddir=$builddir
PYTHON3=${PYTHON3:-/usr/bin/python3}
[ -n "$PYTHON3" ] || PYTHON3=/usr/bin/python3
OPENSSL=${OPENSSL_CLI:-openssl}
[ -n "$OPENSSL" ] || OPENSSL=openssl
. "$srcdir/tests/tool-lib.sh"
tl_tools
SIGN=$TL_SIGN
KEYGEN=$TL_KEYGEN
TOKEN=$TL_TOKEN
. "$srcdir/tests/endpoint/start.sh"
unset PKJWT_PKCS11_MODULE PKJWT_KEY PKJWT_CLIENT_ID PKJWT_SCOPE PKJWT_BASE_URL

tl_begin
cd "$TL_DIR" || exit 99

# ---- a build without libp11 -------------------------------------------------
if ! "$SIGN" --version | grep -q '^PKCS#11 keys: yes'; then
  tl_run "$SIGN" --version
  tl_check "--version: PKCS#11 keys: no" grep -q '^PKCS#11 keys: no' "$TL_OUT"
  tl_expect_fail "a pkcs11: key is refused with one line" 3 'without libp11' \
    "$SIGN" --key 'pkcs11:object=a' --client-id c --aud https://as.example
  tl_end
fi

H=$(mktemp -d "${TMPDIR:-/tmp}/pkjwt-hsm-XXXXXX") || exit 99
EP_PID=
trap '[ -n "$EP_PID" ] && kill "$EP_PID" 2>/dev/null; rm -rf "$H"; _tl_cleanup' EXIT
MOD=$(top_builddir=$builddir sh "$srcdir/tests/pkcs11-setup.sh" "$H")
rc=$?
[ "$rc" -eq 77 ] && exit 77
[ "$rc" -eq 0 ] || { echo "FAIL: SoftHSM2 token setup"; exit 99; }
SOFTHSM2_CONF=$H/softhsm2.conf
export SOFTHSM2_CONF
P11="--pkcs11-module $MOD --pin-file $H/pin"
uri() { echo "pkcs11:token=pkjwt-test;object=$1"; }
AUD=https://as.example/token

tl_run "$SIGN" --version
tl_check "--version: PKCS#11 keys: yes" grep -q '^PKCS#11 keys: yes' "$TL_OUT"

have_jwcrypto=0
"$PYTHON3" -c 'import jwcrypto, cryptography' 2>/dev/null && have_jwcrypto=1
have_openssl=0
tl_have "$OPENSSL" && have_openssl=1

# judge.py jwcrypto JWS JWK: the signature checked by jwcrypto.
# judge.py batch DIR OBJ.ALG...: for each, DIR/OBJ.ALG.jws checked by
# jwcrypto with DIR/OBJ.jwk (one line: "ok OBJ.ALG" or "bad OBJ.ALG: why"),
# and its signing input and signature (ES: R||S made DER) written to
# DIR/OBJ.ALG.in and .sig for openssl dgst -verify. One python start.
cat >"$H/judge.py" <<'EOF'
import base64, sys
from jwcrypto import jwk, jws as J
def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
def verify(jwsfile, jwkfile):
    key = jwk.JWK.from_json(open(jwkfile).read())
    t = J.JWS()
    t.deserialize(open(jwsfile).read().strip())
    t.verify(key)
def der(jwsfile, out, alg):
    h, p, s = open(jwsfile).read().strip().split(".")
    open(out + ".in", "wb").write((h + "." + p).encode())
    sig = b64d(s)
    if alg.startswith("ES"):
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
        n = len(sig) // 2
        sig = encode_dss_signature(int.from_bytes(sig[:n], "big"),
                                   int.from_bytes(sig[n:], "big"))
    open(out + ".sig", "wb").write(sig)
if sys.argv[1] == "jwcrypto":
    verify(sys.argv[2], sys.argv[3])
    sys.exit(0)
d = sys.argv[2]
for item in sys.argv[3:]:
    obj, alg = item.split(".")
    try:
        verify(f"{d}/{item}.jws", f"{d}/{obj}.jwk")
        print("ok", item)
    except Exception as e:
        print("bad", item + ":", repr(e))
    try:
        der(f"{d}/{item}.jws", f"{d}/{item}", alg)
    except Exception as e:
        print("der", item + ":", repr(e))
EOF

# ---- every algorithm the token's keys allow, judged by others ----------------
ITEMS=
for spec in "ec256 ES256" "ec384 ES384" "ec521 ES512" \
  "rsa2048 RS256 RS384 RS512 PS256 PS384 PS512"; do
  set -- $spec
  obj=$1
  shift
  tl_expect_ok "keygen export --format jwk of token key $obj" \
    "$KEYGEN" export --format jwk --key "$(uri $obj)" $P11
  cp "$TL_OUT" "$H/$obj.jwk"
  tl_expect_ok "keygen export --format public-pem of token key $obj" \
    "$KEYGEN" export --format public-pem --key "$(uri $obj)" $P11
  cp "$TL_OUT" "$H/$obj.pub"
  for alg in "$@"; do
    tl_expect_ok "$obj signs $alg in the token" \
      "$SIGN" --key "$(uri $obj)" $P11 --client-id c --aud "$AUD" --alg "$alg"
    cp "$TL_OUT" "$H/$obj.$alg.jws"
    tl_check "$obj $alg: stderr empty" test ! -s "$TL_ERR"
    ITEMS="$ITEMS $obj.$alg"
  done
done
# The signatures, judged by others: one python start for them all (each
# check passes only on its own verdict line), then openssl per signature.
: >"$H/verdicts"
[ $have_jwcrypto = 1 ] &&
  "$PYTHON3" "$H/judge.py" batch "$H" $ITEMS >"$H/verdicts" 2>&1
for item in $ITEMS; do
  obj=${item%.*}
  alg=${item#*.}
  if [ $have_jwcrypto = 1 ]; then
    tl_check "$obj $alg: jwcrypto verifies" grep -qxF "ok $item" "$H/verdicts"
  else
    tl_skip "$obj $alg: jwcrypto verifies" "no python3-jwcrypto"
  fi
  if [ $have_openssl = 1 ] && [ $have_jwcrypto = 1 ]; then
    md=sha$(echo "$alg" | cut -c3-)
    case $alg in
    PS*) sigopt="-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest" ;;
    *) sigopt= ;;
    esac
    tl_check "$obj $alg: openssl dgst -verify accepts it" \
      "$OPENSSL" dgst -"$md" -verify "$H/$obj.pub" $sigopt \
      -signature "$H/$obj.$alg.sig" "$H/$obj.$alg.in"
  else
    tl_skip "$obj $alg: openssl verifies" "no openssl CLI or cryptography"
  fi
done

# ---- PS* asks the token for CKM_RSA_PKCS_PSS ----------------------------------
# opensc's pkcs11-spy sits between pkjwt and SoftHSM2 and logs each call:
# PS256 must reach the token as CKM_RSA_PKCS_PSS with SHA-256 and MGF1
# (built without p11-kit's pkcs11.h, libp11 pads and the token signs raw
# RSA, CKM_RSA_X_509).
SPY=
for f in /usr/lib/*-linux-gnu/pkcs11-spy.so /usr/lib/*-linux-gnu/pkcs11/pkcs11-spy.so; do
  [ -f "$f" ] && { SPY=$f; break; }
done
if [ -n "$SPY" ]; then
  mech=CKM_RSA_PKCS_PSS
  [ -x "$builddir/tests/p11_nosign" ] || mech=CKM_RSA_X_509
  # The spy's own function list (744 bytes) is never freed: LeakSanitizer
  # is off for this one run only; the same PS256 signing without the spy
  # (the loop above) is leak-checked.
  tl_expect_ok "PS256 through pkcs11-spy" env PKCS11SPY="$MOD" \
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    PKCS11SPY_OUTPUT="$H/spy.log" "$SIGN" --key "$(uri rsa2048)" \
    --pkcs11-module "$SPY" --pin-file "$H/pin" --client-id c --aud "$AUD" \
    --alg PS256
  cp "$TL_OUT" "$H/spy.PS256.jws"
  tl_check "PS256 reached the token as $mech" \
    grep -q "pMechanism->type = $mech " "$H/spy.log"
  if [ $have_jwcrypto = 1 ]; then
    tl_check "PS256 through the spy: jwcrypto verifies" \
      "$PYTHON3" "$H/judge.py" jwcrypto "$H/spy.PS256.jws" "$H/rsa2048.jwk"
  fi
else
  tl_skip "PS256 reached the token as CKM_RSA_PKCS_PSS" "no pkcs11-spy.so (opensc)"
fi

# ---- info and cert on a token key ---------------------------------------------
tl_expect_ok "keygen info on a token key" \
  "$KEYGEN" info --key "$(uri ec384)" $P11 --json
tl_check "info: EC P-384, private" \
  grep -q '"curve":"P-384".*"private":true' "$TL_OUT"
tl_expect_ok "keygen cert on a token key prints the base64 certificate" \
  "$KEYGEN" cert --key "$(uri ec256)" $P11 --out "$H/ec256.crt" --quiet
cp "$TL_OUT" "$H/ec256.b64"
tl_check "the base64 is the certificate's DER" sh -c \
  "\"$OPENSSL\" x509 -in \"$H/ec256.crt\" -outform DER | base64 -w0 | cmp -s - \"$H/ec256.b64\" ||
   [ \"\$(\"$OPENSSL\" x509 -in \"$H/ec256.crt\" -outform DER | base64 -w0)\" = \"\$(tr -d '\n' <\"$H/ec256.b64\")\" ]"
tl_check "openssl: the certificate is signed by the token key" \
  "$OPENSSL" verify -CAfile "$H/ec256.crt" -check_ss_sig "$H/ec256.crt"
tl_check "openssl: the certificate holds the token key" sh -c \
  "\"$OPENSSL\" x509 -in \"$H/ec256.crt\" -noout -pubkey | cmp -s - \"$H/ec256.pub\""

# ---- keygen new: a key pair made inside the token -----------------------------
tl_expect_ok "keygen new --out pkcs11: makes an EC key in the token" \
  "$KEYGEN" new --type ec --out "$(uri made-ec)" --cert "$H/made-ec.crt" $P11
cp "$TL_OUT" "$H/made-ec.b64"
tl_check "keygen new: the note says the key stays in the token" \
  grep -q 'in the PKCS#11 token: sensitive, never extractable' "$TL_ERR"
tl_check "keygen new: no key file written" test ! -e "pkcs11:token=pkjwt-test;object=made-ec"
tl_check "keygen new: openssl accepts the certificate made with the token key" \
  "$OPENSSL" verify -CAfile "$H/made-ec.crt" -check_ss_sig "$H/made-ec.crt"
tl_check "keygen new: the base64 on stdout is that certificate" sh -c \
  "[ \"\$(\"$OPENSSL\" x509 -in \"$H/made-ec.crt\" -outform DER | base64 -w0)\" = \"\$(tr -d '\n' <\"$H/made-ec.b64\")\" ]"
tl_expect_ok "keygen new --type rsa --out pkcs11: prints the JWK" \
  "$KEYGEN" new --type rsa --bits 2048 --out "$(uri made-rsa);id=%0b" $P11 --quiet
cp "$TL_OUT" "$H/made-rsa.jwk"
tl_expect_ok "the new RSA token key signs PS256" \
  "$SIGN" --key "$(uri made-rsa)" $P11 --client-id c --aud "$AUD" --alg PS256
cp "$TL_OUT" "$H/made-rsa.jws"
if [ $have_jwcrypto = 1 ]; then
  tl_check "jwcrypto verifies it with the printed JWK" \
    "$PYTHON3" "$H/judge.py" jwcrypto "$H/made-rsa.jws" "$H/made-rsa.jwk"
fi
tl_run pkcs11-tool --module "$MOD" --token-label pkjwt-test --login --pin 1234 \
  -O --type privkey
tl_check "the token lists the new keys as sensitive and never extractable" \
  sh -c "grep -A3 'label: *made-ec' \"$TL_OUT\" | grep -q 'sensitive, always sensitive, never extractable' &&
         grep -A3 'label: *made-rsa' \"$TL_OUT\" | grep -q 'never extractable'"
tl_expect_fail "keygen new: a label already on the token" 3 'already has a private key labelled "made-ec"' \
  "$KEYGEN" new --out "$(uri made-ec)" $P11
tl_expect_fail "keygen new: a passphrase does not apply to a token key" 2 'passphrase-file: does not apply' \
  "$KEYGEN" new --out "$(uri made-x)" $P11 --passphrase-file "$H/pin"

# ---- a token from the project endpoint, signed in the token -------------------
if [ $have_jwcrypto = 1 ]; then
  SCOPE=contact-centre:1234:5678
  if ep_start "$PYTHON3" "$srcdir/tests/endpoint/puzzel_endpoint.py" \
    "$H/ep.port" "$H/ep.log" --max-seconds 300 \
    --client "cid-hsm:$SCOPE:$H/ec256.b64" --client "cid-rsa:$SCOPE:$H/rsa2048.jwk"; then
    BASE=http://127.0.0.1:$EP_PORT
    tl_expect_ok "pkjwt-token: a token with an EC key in the token" \
      "$TOKEN" --key "$(uri ec256)" $P11 --client-id cid-hsm --scope "$SCOPE" \
      --base-url "$BASE"
    tl_check "the token alone on one line" test "$(tl_lines "$TL_OUT")" = 1
    tl_expect_ok "pkjwt-token: a token with an RSA key in the token (PS256)" \
      "$TOKEN" --key "$(uri rsa2048)" $P11 --client-id cid-rsa --scope "$SCOPE" \
      --base-url "$BASE" --alg PS256
    kill "$EP_PID" 2>/dev/null
    wait "$EP_PID" 2>/dev/null
    EP_PID=
  else
    tl_fail "the test endpoint starts"
    sed 's/^/  /' "$H/ep.log"
  fi
else
  tl_skip "pkjwt-token with a token key" "no python3-jwcrypto for the endpoint"
fi

# ---- a key set rotated from a file key to a token key -------------------------
# docs/hardware-keys.md, "Rotating a token key with key sets": the token
# key's entry is added to keyset.json by hand (its URI carries module-path
# and pin-source), then activate and retire work as for files, and
# pkjwt-sign --keyset signs in the token with the token key's kid.
KS=$H/ks
mkdir -m 700 "$KS"
tl_expect_ok "key set: a first key (a file)" "$KEYGEN" rotate --dir "$KS" --quiet
tl_expect_ok "key set: activate it" "$KEYGEN" activate --dir "$KS" --quiet
OLD=$("$KEYGEN" status --dir "$KS" | awk '$2 == "active" { print $1 }')
TURI="$(uri ec384)?module-path=$MOD&pin-source=file:$H/pin"
tl_expect_ok "key set: info of the token key" "$KEYGEN" info --key "$TURI"
TKID=$(awk '$1 == "kid:" { print $2 }' "$TL_OUT")
tl_expect_ok "key set: a certificate of the token key" \
  "$KEYGEN" cert --key "$TURI" --out "$KS/$TKID.crt" --quiet
TEXP=$(date -u -d "$("$OPENSSL" x509 -enddate -noout -in "$KS/$TKID.crt" |
  sed 's/^notAfter=//')" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null)
tl_expect_ok "key set: the token key's entry added as next" "$PYTHON3" -c '
import json, sys, time
ks, kid, uri, exp = sys.argv[1:]
m = json.load(open(ks + "/keyset.json"))
m["keys"].append({"kid": kid, "key": uri, "cert": kid + ".crt",
                  "state": "next", "expires": exp,
                  "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
json.dump(m, open(ks + "/keyset.json.new", "w"))' "$KS" "$TKID" "$TURI" "$TEXP"
mv "$KS/keyset.json.new" "$KS/keyset.json"
tl_expect_ok "key set: status lists the token key as next" \
  "$KEYGEN" status --dir "$KS"
tl_check "key set: the token key is next" \
  grep -q "^$TKID  *next " "$TL_OUT"
tl_expect_ok "key set: activate the token key" \
  "$KEYGEN" activate --dir "$KS" --quiet
tl_expect_ok "key set: pkjwt-sign --keyset signs in the token" \
  "$SIGN" --keyset "$KS" --client-id c --aud "$AUD"
cp "$TL_OUT" "$H/ks.jws"
tl_check "key set: the header names the token key's kid and ES384" \
  "$PYTHON3" -c '
import base64, json, sys
h = sys.argv[1].split(".")[0]
h = json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))
sys.exit(0 if h.get("kid") == sys.argv[2] and h.get("alg") == "ES384" else 1)
' "$(cat "$H/ks.jws")" "$TKID"
if [ $have_jwcrypto = 1 ]; then
  tl_check "key set: jwcrypto verifies it with the token key's JWK" \
    "$PYTHON3" "$H/judge.py" jwcrypto "$H/ks.jws" "$H/ec384.jwk"
else
  tl_skip "key set: jwcrypto verifies it with the token key's JWK" \
    "no python3-jwcrypto"
fi
tl_expect_ok "key set: retire the old file key" \
  "$KEYGEN" retire --dir "$KS" --kid "$OLD" --quiet

# ---- failures: one line, nothing on stdout, nothing written ------------------
S="--client-id c --aud $AUD"
tl_expect_fail "wrong PIN: one try, one line" 3 'wrong PIN.*tried once' \
  "$SIGN" --key "$(uri ec256)" --pkcs11-module "$MOD" --pin-file "$H/bad-pin" $S
tl_expect_ok "after one wrong PIN the token still signs" \
  "$SIGN" --key "$(uri ec256)" $P11 $S
tl_expect_fail "no PIN" 3 'needs a PIN' \
  "$SIGN" --key "$(uri ec256)" --pkcs11-module "$MOD" $S
tl_expect_fail "token absent" 3 'no PKCS#11 token \(token="absent"\) is present' \
  "$SIGN" --key "pkcs11:token=absent;object=ec256" $P11 $S
tl_expect_fail "module missing" 3 'module .*none\.so does not exist' \
  "$SIGN" --key "$(uri ec256)" --pkcs11-module "$H/none.so" --pin-file "$H/pin" $S
tl_expect_fail "no module named anywhere" 3 'no PKCS#11 module named' \
  "$SIGN" --key "$(uri ec256)" --pin-file "$H/pin" $S
tl_expect_fail "object not found" 3 'no private key with object="nothere"' \
  "$SIGN" --key "$(uri nothere)" $P11 $S
tl_expect_fail "two objects match" 3 '2 private keys match object="twin".*id=' \
  "$SIGN" --key "$(uri twin)" $P11 $S
tl_expect_ok "id= picks one of the two" \
  "$SIGN" --key "$(uri twin);id=%06" $P11 $S
if [ -f "$H/nosign-set" ]; then
  tl_expect_fail "a key that may not sign" 3 'may not sign \(its CKA_SIGN is false\)' \
    "$SIGN" --key "$(uri nosign)" $P11 $S
else
  tl_skip "a key that may not sign" "tests/p11_nosign not built (no p11-kit header)"
fi
tl_expect_fail "a PIN in the URI is refused" 2 'pin-value.*refused' \
  "$SIGN" --key "$(uri ec256)?pin-value=1234" --pkcs11-module "$MOD" $S
tl_expect_fail "PS256 on an EC token key" 2 'PS256' \
  "$SIGN" --key "$(uri ec256)" $P11 $S --alg PS256
tl_expect_fail "pkjwt-token: wrong PIN" 3 'wrong PIN' \
  "$TOKEN" --key "$(uri ec256)" --pkcs11-module "$MOD" --pin-file "$H/bad-pin" \
  --client-id c --scope s --base-url http://127.0.0.1:9
tl_expect_fail "pkjwt-keygen info: object not found" 3 'no private key' \
  "$KEYGEN" info --key "$(uri nothere)" $P11

tl_end
