#!/bin/sh
# shellcheck disable=SC2034 # TL_STDIN is read by tests/tool-lib.sh
# tests/sign.sh: pkjwt-sign end to end. What it signs is judged by
# python3-jwcrypto and PyJWT; failures are checked for their exit status,
# one line on stderr, empty stdout and no file written (tests/tool-lib.sh).
set -u
. "${top_srcdir:-.}/tests/tool-lib.sh"

tl_direct pkjwt-sign
SIGN=$TL_TOOL
OPENSSL=${OPENSSL_CLI:-openssl}
PY=${PYTHON3:-/usr/bin/python3}
[ -x "$SIGN" ] || { echo "FAIL: $SIGN not built"; exit 1; }

tl_begin
cd "$TL_DIR" || exit 99
CLIENT_ID=0f3c2a8e-5b7d-4e1f-9a6c-2d8b4e7f1a3c
AUD=https://app.puzzel.com/id/connect/token
T0=1700000000

umask 077
"$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out client.key 2>/dev/null &&
  "$OPENSSL" pkey -in client.key -pubout -out client.pub 2>/dev/null &&
  "$OPENSSL" req -x509 -key client.key -subj /CN=c -days 2 -out client.crt 2>/dev/null &&
  "$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key 2>/dev/null &&
  "$OPENSSL" pkey -in other.key -pubout -out other.pub 2>/dev/null &&
  "$OPENSSL" req -x509 -key other.key -subj /CN=o -days 2 -out other.crt 2>/dev/null &&
  "$OPENSSL" genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key 2>/dev/null &&
  "$OPENSSL" pkey -in rsa.key -pubout -out rsa.pub 2>/dev/null &&
  printf 'correct horse battery staple\n' >pass &&
  printf 'wrong\n' >badpass &&
  "$OPENSSL" pkcs8 -topk8 -in client.key -out enc.key -v2 aes-256-cbc \
    -passout file:pass 2>/dev/null &&
  "$PY" -c "from jwcrypto import jwk; print(jwk.JWK.from_pem(open('client.pub','rb').read()).export_public())" >client.jwk ||
  { echo "FAIL: fixtures"; exit 1; }

# judge TOKEN_FILE PUB ALG [AUD]: PyJWT and jwcrypto verify; print claims.
# judge --batch PUB AUD TOKEN_FILE:ALG...: the same for each token, in one
# python start; prints one line per token, "ok ALG" or "bad ALG: why".
cat >judge.py <<'EOF'
import sys, json
from jwcrypto import jwk, jws
import jwt as pyjwt
def judge(tokfile, pubfile, alg, aud):
    tok = open(tokfile).read().strip()
    pub = open(pubfile, 'rb').read()
    s = jws.JWS()
    s.deserialize(tok)
    s.allowed_algs = [alg]
    s.verify(jwk.JWK.from_pem(pub), alg=alg)
    o = {'verify_aud': aud is not None, 'verify_exp': False, 'verify_iat': False}
    c = pyjwt.decode(tok, pub, algorithms=[alg], audience=aud, options=o)
    assert c == json.loads(s.payload)
    h = pyjwt.get_unverified_header(tok)
    return {'header': h, 'claims': c}
if sys.argv[1] == '--batch':
    for item in sys.argv[4:]:
        f, alg = item.rsplit(':', 1)
        try:
            judge(f, sys.argv[2], alg, sys.argv[3])
            print('ok', alg)
        except Exception as e:
            print('bad', alg + ':', repr(e))
else:
    aud = sys.argv[4] if len(sys.argv) > 4 else None
    d = judge(sys.argv[1], sys.argv[2], sys.argv[3], aud)
    print(json.dumps(d, sort_keys=True))
EOF
# field FILE EXPR: evaluate a Python expression over the judged JSON d.
field() {
  "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}
mkdir priv

# ---- signing ----------------------------------------------------------------
tl_expect_ok "sign with defaults" "$SIGN" --key client.key --client-id "$CLIENT_ID" --aud "$AUD"
cp "$TL_OUT" priv/a1
tl_check "one line on stdout, nothing on stderr" \
  test "$(tl_lines priv/a1)" = 1 -a ! -s "$TL_ERR"
tl_check "three base64url parts" grep -Eqx '[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+' priv/a1
tl_check "jwcrypto and PyJWT verify it, aud checked" \
  sh -c "'$PY' judge.py priv/a1 client.pub ES256 '$AUD' >priv/j1"
tl_check "claims: iss = sub = client id, aud, jti of 22, exp = iat + 60, no nbf" \
  test "$(field priv/j1 "d['claims']['iss']==d['claims']['sub']=='$CLIENT_ID' and d['claims']['aud']=='$AUD' and len(d['claims']['jti'])==22 and d['claims']['exp']-d['claims']['iat']==60 and 'nbf' not in d['claims']")" = True
TP=$("$PY" -c "from jwcrypto import jwk; print(jwk.JWK.from_pem(open('client.pub','rb').read()).thumbprint())")
tl_check "header: alg ES256, typ JWT, kid = jwcrypto's RFC 7638 thumbprint" \
  test "$(field priv/j1 "d['header']=={'alg':'ES256','typ':'JWT','kid':'$TP'}")" = True

# Debian's jose CLI is a third judge (it wants the token without a newline).
JOSE=${JOSE_CLI:-jose}
"$PY" -c "from jwcrypto import jwk; print(jwk.JWK.from_pem(open('rsa.pub','rb').read()).export_public())" >rsa.jwk
jose_ok() { tr -d '\n' <"$1" >priv/jose.tok && "$JOSE" jws ver -i priv/jose.tok -k "$2" 2>/dev/null; }
# Without jose both checks are skipped and counted so: "refuses" must not
# pass just because there is no jose to ask.
if tl_have "$JOSE"; then
  tl_check "ES256 verified by jose" jose_ok priv/a1 client.jwk
else
  tl_skip "ES256 verified by jose" "no $JOSE"
fi
jose_refuses() { tl_have "$JOSE" && ! jose_ok "$@"; }
A1=$(cat priv/a1)
S1=${A1##*.}
case $S1 in A*) F1=B${S1#?} ;; *) F1=A${S1#?} ;; esac
printf '%s' "${A1%.*}.$F1" >priv/a1.bad
if tl_have "$JOSE"; then
  tl_check "jose refuses a tampered ES256 signature" jose_refuses priv/a1.bad client.jwk
else
  tl_skip "jose refuses a tampered ES256 signature" "no $JOSE"
fi
RSA_ALGS="RS256 RS384 RS512 PS256 PS384 PS512"
batch=
for alg in $RSA_ALGS; do
  tl_run "$SIGN" --key rsa.key --client-id "$CLIENT_ID" --aud "$AUD" --alg "$alg"
  cp "$TL_OUT" "priv/rsa.$alg"
  batch="$batch priv/rsa.$alg:$alg"
done
# One python start judges the six; each still passes or fails on its own
# verdict line (no line: a failure).
# shellcheck disable=SC2086 # batch is a list of words
"$PY" judge.py --batch rsa.pub "$AUD" $batch >priv/rsa.verdicts 2>&1
for alg in $RSA_ALGS; do
  tl_check "$alg verified by jwcrypto and PyJWT" \
    grep -qxF "ok $alg" priv/rsa.verdicts
  if tl_have "$JOSE"; then
    tl_check "$alg verified by jose" jose_ok "priv/rsa.$alg" rsa.jwk
  else
    tl_skip "$alg verified by jose" "no $JOSE"
  fi
done

tl_expect_ok "sign with every header and claim option" "$SIGN" --key client.key \
  --client-id "$CLIENT_ID" --aud https://app.puzzel.com/id --now $T0 --lifetime 300 \
  --typ client-authentication+jwt --kid key-1 --nbf --cert client.crt --x5t \
  --claims '{"scope":"contact-centre","n":2}'
cp "$TL_OUT" priv/a2
"$PY" judge.py priv/a2 client.pub ES256 >priv/j2 2>/dev/null
X5T=$("$OPENSSL" x509 -in client.crt -outform DER | "$OPENSSL" dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=\n')
tl_check "header: typ, kid, x5t#S256 as the openssl CLI computes it" \
  test "$(field priv/j2 "d['header']=={'alg':'ES256','typ':'client-authentication+jwt','kid':'key-1','x5t#S256':'$X5T'}")" = True
tl_check "claims: iat = nbf = --now, exp = +300, extra claims merged" \
  test "$(field priv/j2 "d['claims']['iat']==d['claims']['nbf']==$T0 and d['claims']['exp']==$T0+300 and d['claims']['scope']=='contact-centre' and d['claims']['n']==2 and len(d['claims'])==9")" = True

tl_run "$SIGN" --key client.key --client-id "$CLIENT_ID" --aud "$AUD" --no-kid
cp "$TL_OUT" priv/a3
"$PY" judge.py priv/a3 client.pub ES256 >priv/j3 2>/dev/null
tl_check "--no-kid leaves kid out" test "$(field priv/j3 "'kid' in d['header']")" = False

tl_expect_ok "encrypted key with --passphrase-file" "$SIGN" --key enc.key \
  --passphrase-file pass --client-id "$CLIENT_ID" --aud "$AUD"
TL_STDIN=pass
tl_expect_ok "passphrase from stdin" "$SIGN" --key enc.key --passphrase-file - \
  --client-id "$CLIENT_ID" --aud "$AUD"
TL_STDIN=
tl_expect_ok "--help" "$SIGN" --help
tl_check "--help shows the usage" grep -q '^Usage: pkjwt-sign (--key KEY | --keyset DIR)' "$TL_OUT"
for sub in "" verify decode; do
  # shellcheck disable=SC2086
  "$SIGN" $sub --help >priv/help 2>&1
  tl_check "${sub:-sign} --help: no line over 80 columns" \
    test "$(awk 'length > 80' priv/help | wc -l)" = 0
done

# ---- signing failures ------------------------------------------------------
tl_expect_fail "no arguments" 2 '^pkjwt-sign: .*required' "$SIGN"
tl_expect_fail "missing --key" 2 '^pkjwt-sign: --key is required$' "$SIGN" --client-id x --aud y
tl_expect_fail "missing --client-id" 2 'client-id is required' "$SIGN" --key client.key --aud y
tl_expect_fail "missing --aud" 2 'aud is required' "$SIGN" --key client.key --client-id x
tl_expect_fail "unknown option" 2 '^pkjwt-sign: --bogus: unknown option' "$SIGN" --bogus
tl_expect_fail "stray argument" 2 'unexpected argument' "$SIGN" --key client.key extra
tl_expect_fail "option given twice" 2 'given twice' "$SIGN" --key a --key b
tl_expect_fail "--alg none refused" 2 '^pkjwt-sign: --alg: alg none is refused' \
  "$SIGN" --key client.key --client-id x --aud y --alg none
tl_expect_fail "--alg HS256 refused" 2 '^pkjwt-sign: --alg: alg HS256 is refused' \
  "$SIGN" --key client.key --client-id x --aud y --alg HS256
tl_expect_fail "ES384 on a P-256 key" 2 '^pkjwt-sign: client.key: alg ES384 needs a P-384 key' \
  "$SIGN" --key client.key --client-id x --aud y --alg ES384
tl_expect_fail "RS256 on an EC key" 2 'needs an RSA key' \
  "$SIGN" --key client.key --client-id x --aud y --alg RS256
tl_expect_fail "lifetime 0" 2 'lifetime must be more than 0' \
  "$SIGN" --key client.key --client-id x --aud y --lifetime 0
tl_expect_fail "lifetime over an hour" 2 'lifetime 3601 s is over 3600' \
  "$SIGN" --key client.key --client-id x --aud y --lifetime 3601
tl_expect_ok "lifetime over an hour when insisted on" \
  "$SIGN" --key client.key --client-id x --aud y --lifetime 7200 --allow-long-lifetime
tl_expect_fail "lifetime not a number" 2 '^pkjwt-sign: --lifetime: not a number' \
  "$SIGN" --key client.key --client-id x --aud y --lifetime 1m
tl_expect_fail "claims may not override iss" 2 'may not set iss' \
  "$SIGN" --key client.key --client-id x --aud y --claims '{"iss":"evil"}'
tl_expect_fail "claims may not override exp" 2 'may not set exp' \
  "$SIGN" --key client.key --client-id x --aud y --claims '{"a":1,"exp":9}'
tl_expect_fail "claims not JSON" 2 'not valid JSON' \
  "$SIGN" --key client.key --client-id x --aud y --claims '{'
tl_expect_fail "claims not an object" 2 'JSON object' \
  "$SIGN" --key client.key --client-id x --aud y --claims '[]'
tl_expect_fail "--kid with --no-kid" 2 'exclude each other' \
  "$SIGN" --key client.key --client-id x --aud y --kid k --no-kid
tl_expect_fail "--x5t without --cert" 2 '^pkjwt-sign: --x5t: needs --cert' \
  "$SIGN" --key client.key --client-id x --aud y --x5t
tl_expect_fail "another key's certificate" 3 '^pkjwt-sign: other.crt: the certificate is not for this key' \
  "$SIGN" --key client.key --client-id x --aud y --cert other.crt
tl_expect_fail "key file missing" 3 '^pkjwt-sign: nope.key: ' \
  "$SIGN" --key nope.key --client-id x --aud y
tl_expect_fail "a public key cannot sign" 3 '^pkjwt-sign: client.pub: .*private' \
  "$SIGN" --key client.pub --client-id x --aud y
tl_expect_fail "wrong passphrase" 3 '^pkjwt-sign: enc.key: ' \
  "$SIGN" --key enc.key --passphrase-file badpass --client-id x --aud y
tl_expect_fail "unknown subcommand" 2 '^pkjwt-sign: frobnicate: unknown subcommand' \
  "$SIGN" frobnicate

# ---- verify ------------------------------------------------------------------
tl_run "$SIGN" --key client.key --client-id "$CLIENT_ID" --aud "$AUD" --now $T0 --nbf
cp "$TL_OUT" priv/t0
A0=$(cat priv/t0)
# V: verify A0 as the server expecting this client and audience would.
V() { "$SIGN" verify --assertion "$A0" --client-id "$CLIENT_ID" --aud "$AUD" "$@"; }
tl_expect_ok "verify with the public key" V --key client.pub --now $((T0 + 10))
tl_check "report: every check, valid yes, nothing on stderr" \
  sh -c "grep -q '^signature  ok ' '$TL_OUT' && grep -q '^valid:     yes' '$TL_OUT' && test \$(wc -l <'$TL_OUT') = 12 && test ! -s '$TL_ERR'"
tl_expect_ok "verify with the private key" V --key client.key --now $((T0 + 10))
tl_expect_ok "verify with the certificate" V --cert client.crt --now $((T0 + 10))
"$OPENSSL" x509 -in client.crt -outform DER | "$OPENSSL" base64 -A >client.b64
tl_expect_ok "verify with the certificate as uploaded (one-line base64 by openssl)" \
  V --cert client.b64 --now $((T0 + 10))
tl_expect_ok "verify with a JWK" V --jwk client.jwk --now $((T0 + 10))
TL_STDIN=priv/t0
tl_expect_ok "verify from stdin" "$SIGN" verify --assertion - --key client.pub --now $((T0 + 10))
TL_STDIN=
tl_expect_ok "verify --json" V --key client.pub --now $((T0 + 10)) --json
cp "$TL_OUT" priv/v.json
tl_check "--json: valid, verifier libjwt, claims as signed" \
  test "$(field priv/v.json "d['valid'] is True and d['verifier']=='libjwt' and d['claims']['iat']==$T0 and d['checks']['aud']['verdict']=='ok' and len(d['checks'])==9")" = True

# not valid: report on stdout, exit 1, one line on stderr naming the check
not_valid() {
  _msg=$1
  _pat=$2
  shift 2
  tl_run "$@"
  if [ "$TL_RC" -eq 1 ] && grep -q '^valid:     no' "$TL_OUT" &&
    [ "$(tl_lines "$TL_ERR")" = 1 ] &&
    grep -Eq "^pkjwt-sign: assertion: not valid: $_pat" "$TL_ERR"; then
    tl_pass "$_msg"
  else
    tl_fail "$_msg"
    _tl_show
  fi
}
not_valid "expired" 'exp: expired 61 s ago' V --key client.pub --now $((T0 + 121))
not_valid "expired at exp exactly" 'exp: expired 0 s ago' V --key client.pub --now $((T0 + 60))
tl_expect_ok "leeway covers a little skew" V --key client.pub --now $((T0 + 65)) --leeway 10
not_valid "not yet valid" 'nbf: not valid for another 100 s' V --key client.pub --now $((T0 - 100))
not_valid "wrong aud" 'aud: ' "$SIGN" verify --assertion "$A0" --key client.pub \
  --aud https://elsewhere.example/token --now $((T0 + 1))
not_valid "wrong client id" 'iss/sub: ' "$SIGN" verify --assertion "$A0" --key client.pub \
  --client-id someone-else --now $((T0 + 1))
not_valid "wrong key" 'signature: ' V --key other.pub --now $((T0 + 1))
not_valid "wrong certificate" 'signature: ' V --cert other.crt --now $((T0 + 1))
not_valid "wrong typ" 'typ: ' V --key client.pub --now $((T0 + 1)) --typ client-authentication+jwt
SIG=${A0##*.}
REST=${A0%.*}
case $SIG in A*) FLIP=B${SIG#?} ;; *) FLIP=A${SIG#?} ;; esac
not_valid "tampered signature" 'signature: ' "$SIGN" verify --assertion "$REST.$FLIP" \
  --key client.pub --now $((T0 + 1))
b64url() { base64 | tr '+/' '-_' | tr -d '=\n'; }
H2=$(printf '{"alg":"ES256","typ":"JWT","kid":"x"}' | b64url)
not_valid "tampered header" 'signature: ' "$SIGN" verify --assertion "$H2.${REST#*.}.$SIG" \
  --key client.pub --now $((T0 + 1))
C2=$(printf '{"iss":"%s","sub":"%s","aud":"%s","iat":%s,"exp":%s}' "$CLIENT_ID" "$CLIENT_ID" "$AUD" $T0 $((T0 + 99999)) | b64url)
not_valid "tampered claims" 'signature: ' "$SIGN" verify --assertion "${REST%%.*}.$C2.$SIG" \
  --key client.pub --now $((T0 + 1))
NONE=$(printf '{"alg":"none","typ":"JWT"}' | b64url)
not_valid "alg none" 'alg: alg none is refused: assertions must be signed' "$SIGN" verify \
  --assertion "$NONE.$C2." --key client.pub --now $((T0 + 1))
HS=$(printf '{"alg":"HS256"}' | b64url)
not_valid "alg HS256" 'alg: alg HS256 is refused' "$SIGN" verify \
  --assertion "$HS.$C2.$SIG" --key client.pub --now $((T0 + 1))

tl_expect_fail "verify: not a JWS" 3 '^pkjwt-sign: assertion: not a compact JWS' \
  "$SIGN" verify --assertion abc --key client.pub
tl_expect_fail "verify: header not base64url" 3 '^pkjwt-sign: assertion: the header is not base64url' \
  "$SIGN" verify --assertion 'a+b.c.d' --key client.pub
tl_expect_fail "verify: no key option" 2 '--key, --cert or --jwk is required' \
  "$SIGN" verify --assertion "$A0"
tl_expect_fail "verify: two key options" 2 'only one of' \
  "$SIGN" verify --assertion "$A0" --key client.pub --cert client.crt
tl_expect_fail "verify: missing --assertion" 2 'assertion is required' \
  "$SIGN" verify --key client.pub
tl_expect_fail "verify: bad leeway" 2 '^pkjwt-sign: --leeway: ' \
  "$SIGN" verify --assertion "$A0" --key client.pub --leeway -1
tl_expect_fail "verify: JWK file missing" 3 '^pkjwt-sign: nope.jwk: ' \
  "$SIGN" verify --assertion "$A0" --jwk nope.jwk
tl_expect_fail "verify: sign options do not apply" 2 'unknown option' \
  "$SIGN" verify --assertion "$A0" --key client.pub --nbf

# ---- decode ------------------------------------------------------------------
tl_expect_ok "decode" "$SIGN" decode --assertion "$A0"
tl_check "decode prints header and claims" \
  sh -c "grep -q '^header: {\"alg\":\"ES256\"' '$TL_OUT' && grep -q '^claims: {\"iss\":\"$CLIENT_ID\"' '$TL_OUT'"
tl_expect_ok "decode --json" "$SIGN" decode --assertion "$A0" --json
cp "$TL_OUT" priv/d.json
tl_check "decode --json parses" test "$(field priv/d.json "d['claims']['nbf']==$T0 and d['header']['typ']=='JWT'")" = True
tl_expect_fail "decode: garbage" 3 '^pkjwt-sign: assertion: ' "$SIGN" decode --assertion x.y.z
# Issue 7.4: an error a missing - can cause names the fix.
tl_expect_fail "verify without --assertion: says - reads standard input" 2 \
  '^pkjwt-sign: --assertion is required \(use --assertion - to read it from standard input\)$' \
  "$SIGN" verify --cert client.crt
tl_expect_fail "decode without --assertion: says - reads standard input" 2 \
  'use --assertion - to read it from standard input' "$SIGN" decode
tl_expect_fail "--assertion without its value: says -" 2 \
  '^pkjwt-sign: --assertion: needs a value \(JWT, or - to read standard input\)$' \
  "$SIGN" decode --assertion
tl_expect_fail "a file name as --assertion: says how to read a file" 3 \
  '^pkjwt-sign: assertion: .*--assertion - < FILE' \
  "$SIGN" verify --assertion client.jwt --cert client.crt
tl_expect_ok "--version" "$SIGN" --version
tl_check "--version names the tool" grep -q '^pkjwt-sign (pkjwt) ' "$TL_OUT"
tl_expect_fail "decode: claims not JSON" 3 'claims part is not valid JSON' \
  "$SIGN" decode --assertion "$H2.$(printf 'nope' | b64url).x"

# ---- the man page ---------------------------------------------------------
MAN=${top_srcdir:-.}/docs/pkjwt-sign.1
missing=
for sub in "" verify decode; do
  # shellcheck disable=SC2086
  for o in $("$SIGN" $sub --help | sed -n 's/^  --\([a-z0-9-]*\).*/\1/p'); do
    esc=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
    grep -q "^\.B[I]* \\\\-\\\\-$esc\\b" "$MAN" || missing="$missing $sub:--$o"
  done
done
tl_check "every option in --help is in the man page${missing:+ (missing:$missing)}" test -z "$missing"
for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES "SEE ALSO"; do
  tl_check "man page has $s" grep -q "^\.SH $s\$" "$MAN"
done
# The man page's examples, as written (the key and cert are named as there).
tl_run sh -c "a=\$('$SIGN' --key client.key --client-id '$CLIENT_ID' --aud $AUD) && printf '%s\n' \"\$a\" | '$SIGN' verify --assertion - --cert client.crt --client-id '$CLIENT_ID' --aud $AUD >/dev/null"
tl_check "man page example: sign, then verify against the certificate" test "$TL_RC" = 0
tl_run "$SIGN" --key client.key --cert client.crt --x5t --client-id "$CLIENT_ID" \
  --aud https://app.puzzel.com/id --typ client-authentication+jwt
tl_check "man page example: RFC 7523bis form" test "$TL_RC" = 0

tl_end
