#!/bin/sh
# tests/endpoint-selftest.sh: the test token endpoint judges correctly.
#
# Independently of pkjwt's C code: keys (the tests/keys fixtures) and
# certificates come from the openssl CLI, assertions are signed with
# python3-jwt (PyJWT, not the server's jwcrypto) and posted with curl to
# servers on 127.0.0.1 started here; the test control API is driven with
# python3's urllib. Ends with "N passed, N failed"; exits 1 if any failed,
# 77 (skip) if curl, PyJWT or jwcrypto is missing.
set -u

PYTHON3=${PYTHON3:-/usr/bin/python3}
OPENSSL=${OPENSSL_CLI:-openssl}
[ -n "$PYTHON3" ] || PYTHON3=/usr/bin/python3
[ -n "$OPENSSL" ] || OPENSSL=openssl
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
EP=$srcdir/tests/endpoint/puzzel_endpoint.py
. "$srcdir/tests/endpoint/start.sh"

command -v curl >/dev/null 2>&1 || { echo "SKIP: no curl"; exit 77; }
command -v "$PYTHON3" >/dev/null 2>&1 || { echo "SKIP: no $PYTHON3"; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/endpoint-selftest.XXXXXX") || exit 1
PIDS=""
JW_PID=""
cleanup() {
  exec 3>&- 4<&-
  for p in $PIDS $JW_PID; do kill "$p" 2>/dev/null; done
  for p in $PIDS $JW_PID; do wait "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok - $1"; }
nok() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; }
# t DESC COMMAND...: one check.
t() { d=$1; shift; if "$@"; then ok "$d"; else nok "$d"; fi; }

# ---- helpers -----------------------------------------------------------------

# The PyJWT signer and a few JSON helpers, kept apart from the server's code.
# One python3 process serves them all (importing PyJWT costs more than a
# signature): jw() writes one request line to its stdin (the arguments, each
# ended by a tab) and reads one answer line, "STATUS OUTPUT", from its
# stdout, both FIFOs. Each assertion is still signed when it is used, with
# its own claims and times.
cat >"$T/jw.py" <<'EOF'
import argparse, base64, hashlib, hmac, json, sys, time, uuid
try:
    import jwt, jwcrypto, cryptography  # jwcrypto: the endpoint's verifier
except ImportError:
    print("missing", flush=True)
    sys.exit(0)
print("ready", flush=True)

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

class ArgError(Exception):
    pass

class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise ArgError(message)

ap = Parser(prog="jw sign")
ap.add_argument("--key"); ap.add_argument("--alg", default="ES256")
ap.add_argument("--iss"); ap.add_argument("--sub")
ap.add_argument("--aud", action="append", default=[])
ap.add_argument("--aud-array", action="store_true")
ap.add_argument("--exp-in", type=int, default=60)
ap.add_argument("--no-exp", action="store_true")
ap.add_argument("--nbf-in", type=int)
ap.add_argument("--jti"); ap.add_argument("--no-jti", action="store_true")
ap.add_argument("--typ", default="JWT"); ap.add_argument("--kid")
ap.add_argument("--hmac-key")

def sign(argv):
    a = ap.parse_args(argv)
    now = int(time.time())
    c = {"iss": a.iss, "sub": a.sub if a.sub is not None else a.iss,
         "iat": now}
    c["aud"] = a.aud if (a.aud_array or len(a.aud) > 1) else a.aud[0]
    if not a.no_exp:
        c["exp"] = now + a.exp_in
    if a.nbf_in is not None:
        c["nbf"] = now + a.nbf_in
    if not a.no_jti:
        c["jti"] = a.jti or str(uuid.uuid4())
    h = {"typ": a.typ} if a.typ != "none" else {}
    if a.kid:
        h["kid"] = a.kid
    if a.hmac_key:
        # The classic confusion attack: HS256 keyed with the public key.
        h["alg"] = "HS256"
        si = b64u(json.dumps(h).encode()) + "." + b64u(json.dumps(c).encode())
        mac = hmac.new(open(a.hmac_key, "rb").read(), si.encode(),
                       hashlib.sha256).digest()
        return si + "." + b64u(mac)
    if a.alg == "none":
        return jwt.encode(c, None, algorithm="none", headers=h)
    return jwt.encode(c, open(a.key, "rb").read(), algorithm=a.alg, headers=h)

def pubjwk(path, kid=None):  # a public JWK of a PEM public key
    from jwt.algorithms import RSAAlgorithm, ECAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    pub = serialization.load_pem_public_key(open(path, "rb").read())
    alg = RSAAlgorithm if isinstance(pub, rsa.RSAPublicKey) else ECAlgorithm
    j = json.loads(alg.to_jwk(pub))
    if kid is not None:
        j["kid"] = kid
    return json.dumps(j)

def get(path, key):  # a member of a JSON object; KEY: names/indexes, dots
    v = json.load(open(path))
    for k in key.split("."):
        v = v[int(k)] if isinstance(v, list) else v.get(k)
    return v if isinstance(v, str) and "\n" not in v else json.dumps(v)

def ctl(base, op, body):  # POST to the test control API: the HTTP status
    import urllib.error, urllib.request
    req = urllib.request.Request(base + "/_test/" + op, body.encode(),
                                 {"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=20) as r:
            r.read()
            return str(r.status)
    except urllib.error.HTTPError as e:
        e.read()
        return str(e.code)

def isjson(path):
    json.load(open(path))
    return ""

CMDS = {"sign": lambda *a: sign(list(a)), "jwk": pubjwk, "get": get,
        "isjson": isjson, "ctl": ctl}

for line in iter(sys.stdin.readline, ""):
    argv = line.rstrip("\n").split("\t")[:-1]
    try:
        out, st = CMDS[argv[0]](*argv[1:]), 0
    except Exception as e:  # answer, and serve the next request
        out, st = "", 1
        if argv and argv[0] in ("sign", "jwk"):
            print("jw %s: %s" % (argv[0], e), file=sys.stderr)
    sys.stdout.write("%d %s\n" % (st, out))
    sys.stdout.flush()
EOF
mkfifo "$T/jw.in" "$T/jw.out" || exit 1
"$PYTHON3" "$T/jw.py" <"$T/jw.in" >"$T/jw.out" &
JW_PID=$!
exec 3>"$T/jw.in" 4<"$T/jw.out"
IFS= read -r _jw <&4
case $_jw in
  ready) ;;
  missing) echo "SKIP: $PYTHON3 lacks PyJWT, jwcrypto or cryptography"
    exit 77;;
  *) echo "FAIL - the python3 helper did not start"; exit 1;;
esac
# jw CMD ARG...: prints the answer's output and returns its status (2 when
# the helper has gone away).
jw() {
  printf '%s\t' "$@" >&3 && printf '\n' >&3 || return 2
  IFS= read -r _jw <&4 || return 2
  printf '%s\n' "${_jw#* }"
  return "${_jw%% *}"
}
# sign ARGS...: an assertion; a failure also leaves $T/unsigned, so that a
# refusal of an empty assertion cannot pass unseen (checked at the end).
sign() { jw sign "$@" || { : >"$T/unsigned"; return 1; }; }
jget() { jw get "$@"; }

# start NAME ARGS...: start a server; sets SRV_PID and PORT; 1 on failure.
start() {
  name=$1; shift
  ep_start "$PYTHON3" "$EP" "$T/$name.port" "$T/$name.err" \
    --max-seconds 900 --log "$T/$name.log" "$@"
  SRV_PID=$EP_PID
  PIDS="$PIDS $SRV_PID"
  PORT=$EP_PORT
  [ -n "$PORT" ] || { echo "# $name did not start:"; cat "$T/$name.err"; \
    return 1; }
}

# stop PID: SIGTERM and wait (bounded) until it is gone.
stop() {
  kill "$1" 2>/dev/null
  i=0
  while kill -0 "$1" 2>/dev/null && [ $i -lt 50 ]; do
    sleep 0.1; i=$((i + 1))
  done
  ! kill -0 "$1" 2>/dev/null
}

# post URL FIELD=VALUE...: a form POST; sets CODE and RC, body in $T/body,
# headers in $T/hdr.
post() {
  url=$1; shift
  n=$#
  for kv in "$@"; do set -- "$@" --data-urlencode "$kv"; done
  shift "$n"
  CODE=$(curl -sS -o "$T/body" -D "$T/hdr" -w '%{http_code}' --max-time 20 \
    $CURLOPTS "$@" "$url" 2>"$T/curl.err")
  RC=$?
}
CURLOPTS=""

# tok BASE CLIENT SCOPE ASSERTION: the standard token request.
tok() {
  post "$1/id/connect/token" grant_type=client_credentials "client_id=$2" \
    "scope=$3" \
    client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \
    "client_assertion=$4"
}

# get URL [curl args]: sets CODE and RC; body in $T/body, headers in $T/hdr.
get() {
  url=$1; shift
  CODE=$(curl -sS -o "$T/body" -D "$T/hdr" -w '%{http_code}' --max-time 20 \
    $CURLOPTS "$@" "$url" 2>"$T/curl.err")
  RC=$?
}

# ctl BASE OP [JSON]: the test control API; prints the HTTP status.
ctl() { jw ctl "$1" "$2" "${3:-{\}}"; }

# hdr NAME: the first NAME header's value in $T/hdr.
hdr() { sed -n "/^$1:/I{s/^[^:]*: *//;s/\r\$//;p;q}" "$T/hdr"; }
err_is() { [ "$CODE" = "$1" ] && [ "$(jget "$T/body" error)" = "$2" ] &&
  [ "$(hdr Cache-Control)" = no-store ]; }
granted() { [ "$CODE" = 200 ] && [ "$(jget "$T/body" token_type)" = Bearer ] &&
  [ "$(hdr Cache-Control)" = no-store ]; }
why() { echo "#   got $CODE $(head -c 300 "$T/body")"; }

# ---- keys and certificates (openssl CLI) ------------------------------------

# The keys are the suite's fixtures (tests/keys, made by the openssl CLI):
# generating an RSA key costs more CPU than anything it would prove here.
K=$T/keys
mkdir -p "$K"
ossl() { "$OPENSSL" "$@" 2>>"$T/openssl.err"; }
cp "$srcdir/tests/keys/p-256.pem" "$K/ec.key"
cp "$srcdir/tests/keys/p-256-2.pem" "$K/ec2.key"
cp "$srcdir/tests/keys/rsa2048.pem" "$K/rsa.key"
cp "$srcdir/tests/keys/p-384.pem" "$K/p384.key"
for k in ec rsa p384; do
  ossl pkey -in "$K/$k.key" -pubout -out "$K/$k.pub"
done
for k in ec ec2; do
  ossl req -new -x509 -key "$K/$k.key" -subj "/CN=$k" -days 2 -out "$K/$k.pem"
done
# What Puzzel's Organisation Settings takes: the DER certificate in base64
# on one line, or a JWK.
ossl x509 -in "$K/ec.pem" -outform DER | base64 | tr -d '\n' >"$K/ec.b64"
jw jwk "$K/rsa.pub" rsa-1 >"$K/rsa.jwk"
printf '{"keys":[%s]}\n' "$(jw jwk "$K/p384.pub")" >"$K/p384.jwks"

# A certificate outside its validity: expired, and not yet valid.
mkdir -p "$K/ca/new"
: >"$K/ca/index.txt"
echo 01 >"$K/ca/serial"
cat >"$K/ca/conf" <<EOF
[ca]
default_ca = tca
[tca]
database = $K/ca/index.txt
new_certs_dir = $K/ca/new
serial = $K/ca/serial
default_md = sha256
policy = pol
unique_subject = no
[pol]
commonName = supplied
EOF
ossl req -new -key "$K/ec2.key" -subj "/CN=old" -out "$K/old.csr"
ossl ca -batch -notext -config "$K/ca/conf" -selfsign -keyfile "$K/ec2.key" \
  -in "$K/old.csr" -startdate 20200101000000Z -enddate 20200201000000Z \
  -out "$K/expired.pem"
ossl ca -batch -notext -config "$K/ca/conf" -selfsign -keyfile "$K/ec2.key" \
  -in "$K/old.csr" -startdate 20990101000000Z -enddate 20990201000000Z \
  -out "$K/future.pem"
ossl x509 -in "$K/expired.pem" -outform DER | base64 | tr -d '\n' \
  >"$K/expired.b64"

t "openssl made keys and certificates" \
  test -s "$K/ec.b64" -a -s "$K/rsa.jwk" -a -s "$K/expired.pem" \
  -a -s "$K/future.pem"

SC=contact-centre:1234:5678
SR=contact-centre:1234:9999

# ---- startup refusals -------------------------------------------------------

# refused NAME WHAT ARGS...: exits 2 at once, one line on stderr naming WHAT.
refused() {
  name=$1; what=$2; shift 2
  timeout 20 "$PYTHON3" "$EP" --port-file "$T/$name.port" --max-seconds 10 \
    "$@" >"$T/$name.out" 2>"$T/$name.err"
  rc=$?
  lines=$(wc -l <"$T/$name.err")
  if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && grep -q "$what" "$T/$name.err" &&
    [ ! -e "$T/$name.port" ] && [ ! -s "$T/$name.out" ]; then
    return 0
  fi
  echo "#   rc=$rc lines=$lines: $(head -c 300 "$T/$name.err")"
  return 1
}
t "expired base64 certificate refused at startup" \
  refused r1 "expired" --client "c:$SC:$K/expired.b64"
t "expired PEM certificate refused at startup" \
  refused r2 "expired" --client "c:$SC:$K/expired.pem"
t "not-yet-valid certificate refused at startup" \
  refused r3 "not valid before" --client "c:$SC:$K/future.pem"
t "unreadable key file refused at startup" \
  refused r4 "$K/nonexistent" --client "c:$SC:$K/nonexistent"
t "garbage key file refused at startup" \
  refused r5 "$K/ec.key" --client "c:$SC:$K/ec.key"
t "--bind other than 127.0.0.1 refused" \
  refused r6 "127.0.0.1" --bind 0.0.0.0 --client "c:$SC:$K/ec.b64"

# ---- the main server ----------------------------------------------------------

if ! start main --client "ec-client:$SC:$K/ec.b64" \
  --client "rsa-client:$SR:$K/rsa.jwk" \
  --client "multi:$SC:$K/ec.pem" --client "multi:$SC:$K/p384.jwks"; then
  nok "main server starts"
  echo "$PASS passed, $FAIL failed"
  exit 1
fi
MAIN=$SRV_PID
B=http://127.0.0.1:$PORT
TE=$B/id/connect/token
ISS=$B/id
ok "main server starts and writes its port file ($PORT)"

get "$B/id/.well-known/openid-configuration"
t "discovery document" eval '[ "$CODE" = 200 ] &&
  [ "$(jget "$T/body" issuer)" = "$ISS" ] &&
  [ "$(jget "$T/body" token_endpoint)" = "$TE" ] &&
  [ "$(jget "$T/body" token_endpoint_auth_methods_supported)" = "[\"private_key_jwt\"]" ] &&
  jget "$T/body" token_endpoint_auth_signing_alg_values_supported | grep -q PS512'
get "$B/nothing/here"
t "unknown path is 404" [ "$CODE" = 404 ]

# good ALG KEY CLIENT SCOPE [sign args]: a token, and the check accepts it;
# the token in TOKEN.
TOKEN=
good() {
  alg=$1 key=$2 cl=$3 sc=$4; shift 4
  a=$(sign --key "$key" --alg "$alg" --iss "$cl" "$@")
  tok "$B" "$cl" "$sc" "$a"
  granted || { why; return 1; }
  TOKEN=$(jget "$T/body" access_token)
  [ ${#TOKEN} -eq 43 ] && [ "$(jget "$T/body" expires_in)" = 900 ] &&
    [ "$(jget "$T/body" scope)" = contact-centre ] || { why; return 1; }
  get "$B/contactcentre5/accesstokeninformation" \
    -H "Authorization: Bearer $TOKEN"
  [ "$CODE" = 200 ] && [ "$(jget "$T/body" client_id)" = "$cl" ] &&
    [ "$(jget "$T/body" tenant_id)" = 1234 ] &&
    [ "$(jget "$T/body" user_id)" = "${sc##*:}" ] || { why; return 1; }
}
t "ES256, base64 cert, aud token endpoint: token, check accepts it" \
  good ES256 "$K/ec.key" ec-client "$SC" --aud "$TE"
T1=$TOKEN
t "RS256, JWK, aud issuer: token, check accepts it" \
  good RS256 "$K/rsa.key" rsa-client "$SR" --aud "$ISS"
t "PS256, JWK, aud issuer + typ client-authentication+jwt" \
  good PS256 "$K/rsa.key" rsa-client "$SR" --aud "$ISS" \
  --typ client-authentication+jwt
t "RS512 with aud array containing the token endpoint" \
  good RS512 "$K/rsa.key" rsa-client "$SR" --aud "$TE" --aud https://other
t "ES384 by the second key (JWKS) of a two-key client, any kid" \
  good ES384 "$K/p384.key" multi "$SC" --aud "$TE" --kid nonsense
t "ES256 by the first key (PEM cert) of a two-key client" \
  good ES256 "$K/ec.key" multi "$SC" --aud "$ISS"
t "no typ header and exp 100 s past (within skew) accepted" \
  good ES256 "$K/ec.key" ec-client "$SC" --aud "$TE" --typ none --exp-in -100

# refuse DESC STATUS ERROR CLIENT SCOPE [sign args]
refuse() {
  d=$1 st=$2 er=$3 cl=$4 sc=$5; shift 5
  # A refusal proves nothing when PyJWT made no assertion.
  a=$(sign "$@") && [ -n "$a" ] || { nok "$d"; echo "#   not signed"; return; }
  tok "$B" "$cl" "$sc" "$a"
  if err_is "$st" "$er"; then ok "$d"; else nok "$d"; why; fi
}
E="--key $K/ec.key --alg ES256"
refuse "wrong key: invalid_client" 400 invalid_client ec-client "$SC" \
  --key "$K/ec2.key" --alg ES256 --iss ec-client --aud "$TE"
a=$(sign $E --iss ec-client --aud "$TE" --jti fixed-jti-1)
tok "$B" ec-client "$SC" "$a"
t "first use of a jti accepted" granted
tok "$B" ec-client "$SC" "$a"
t "replayed jti: invalid_client" err_is 400 invalid_client
refuse "expired exp (400 s ago): invalid_client" 400 invalid_client \
  ec-client "$SC" $E --iss ec-client --aud "$TE" --exp-in -400
refuse "missing exp: invalid_client" 400 invalid_client ec-client "$SC" \
  $E --iss ec-client --aud "$TE" --no-exp
refuse "missing jti: invalid_client" 400 invalid_client ec-client "$SC" \
  $E --iss ec-client --aud "$TE" --no-jti
refuse "nbf 600 s ahead: invalid_client" 400 invalid_client ec-client "$SC" \
  $E --iss ec-client --aud "$TE" --nbf-in 600
refuse "wrong iss: invalid_client" 400 invalid_client ec-client "$SC" \
  $E --iss someone-else --sub ec-client --aud "$TE"
refuse "wrong sub: invalid_client" 400 invalid_client ec-client "$SC" \
  $E --iss ec-client --sub someone-else --aud "$TE"
refuse "client_id differs from iss: invalid_client" 400 invalid_client \
  rsa-client "$SC" $E --iss ec-client --aud "$TE"
refuse "unknown client: invalid_client" 400 invalid_client nobody "$SC" \
  $E --iss nobody --aud "$TE"
refuse "wrong aud: invalid_client" 400 invalid_client ec-client "$SC" \
  $E --iss ec-client --aud "$B/id/connect/other"
refuse "aud on another host: invalid_client" 400 invalid_client \
  ec-client "$SC" $E --iss ec-client --aud "https://app.puzzel.com/id"
refuse "typ client-authentication+jwt with token endpoint aud: invalid_client" \
  400 invalid_client ec-client "$SC" $E --iss ec-client --aud "$TE" \
  --typ client-authentication+jwt
refuse "alg HS256 keyed with the public key: invalid_client" 400 \
  invalid_client ec-client "$SC" --hmac-key "$K/ec.pub" --iss ec-client \
  --aud "$TE"
refuse "alg none: invalid_client" 400 invalid_client ec-client "$SC" \
  --alg none --iss ec-client --aud "$TE"
refuse "wrong scope: invalid_scope" 400 invalid_scope ec-client \
  contact-centre:1234:0000 $E --iss ec-client --aud "$TE"
refuse "scope beyond the registered one: invalid_scope" 400 invalid_scope \
  ec-client "$SC openid" $E --iss ec-client --aud "$TE"
refuse "empty scope: invalid_scope" 400 invalid_scope ec-client "" \
  $E --iss ec-client --aud "$TE"

a=$(sign $E --iss ec-client --aud "$TE")
post "$TE" grant_type=password client_id=ec-client "scope=$SC" \
  client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \
  "client_assertion=$a"
t "wrong grant type: unsupported_grant_type" \
  err_is 400 unsupported_grant_type
a=$(sign $E --iss ec-client --aud "$TE")
post "$TE" client_id=ec-client "scope=$SC" \
  client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \
  "client_assertion=$a"
t "missing grant type: unsupported_grant_type" \
  err_is 400 unsupported_grant_type
a=$(sign $E --iss ec-client --aud "$TE")
post "$TE" grant_type=client_credentials "scope=$SC" "client_assertion=$a"
t "missing client_assertion_type: invalid_client" err_is 400 invalid_client
post "$TE" grant_type=client_credentials client_id=ec-client "scope=$SC" \
  client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer
t "missing client_assertion: invalid_client" err_is 400 invalid_client
a=$(sign $E --iss ec-client --aud "$TE")
tok "$B" "" "$SC" "$a"
t "empty client_id parameter: invalid_client" err_is 400 invalid_client
a=$(sign $E --iss ec-client --aud "$TE")
post "$TE" grant_type=client_credentials "scope=$SC" \
  client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \
  "client_assertion=$a"
t "client_id may be left out" granted

# The check endpoint.
get "$B/contactcentre5/accesstokeninformation"
t "check without Authorization: 401 + WWW-Authenticate" eval \
  '[ "$CODE" = 401 ] && hdr WWW-Authenticate | grep -q "^Bearer" &&
   [ -n "$(jget "$T/body" error)" ]'
get "$B/contactcentre5/accesstokeninformation" -H "Authorization: Basic eDp5"
t "check with a Basic header: 401" eval \
  '[ "$CODE" = 401 ] && hdr WWW-Authenticate | grep -q "^Bearer"'
get "$B/contactcentre5/accesstokeninformation" \
  -H "Authorization: Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
t "check with an unknown token: 401 invalid_token" eval \
  '[ "$CODE" = 401 ] && [ "$(jget "$T/body" error)" = invalid_token ] &&
   hdr WWW-Authenticate | grep -q "invalid_token"'
get "$B/contactcentre5/accesstokeninformation" -H "Authorization: Bearer $T1"
t "the first token is still good" [ "$CODE" = 200 ]
[ "$(ctl "$B" expire)" = 200 ]
get "$B/contactcentre5/accesstokeninformation" -H "Authorization: Bearer $T1"
t "after /_test/expire the token is refused: 401" eval \
  '[ "$CODE" = 401 ] && [ "$(jget "$T/body" error)" = invalid_token ]'

# ---- run-time configuration and registration ----------------------------------

ossl x509 -in "$K/ec2.pem" -outform DER | base64 | tr -d '\n' >"$K/ec2.b64"
body=$(printf '{"client_id":"late","scope":"contact-centre","key":"%s"}' \
  "$(cat "$K/ec2.b64")")
t "register a base64 certificate at run time" \
  [ "$(ctl "$B" register "$body")" = 200 ]
tok "$B" late contact-centre "$(sign --key "$K/ec2.key" --alg ES256 \
  --iss late --aud "$TE")"
t "the late client gets a token" granted
TOKEN=$(jget "$T/body" access_token)
get "$B/contactcentre5/accesstokeninformation" -H "Authorization: Bearer $TOKEN"
t "a token with no contact-centre user: check says 403" eval \
  '[ "$CODE" = 403 ] && [ "$(jget "$T/body" error)" = insufficient_scope ]'
body=$(printf '{"client_id":"old","scope":"x","key":"%s"}' \
  "$(cat "$K/expired.b64")")
t "registering an expired certificate at run time: 400" \
  [ "$(ctl "$B" register "$body")" = 400 ]
t "config: token lifetime 5 s, strict" \
  [ "$(ctl "$B" config '{"token_lifetime":5,"strict":true}')" = 200 ]
tok "$B" ec-client "$SC" "$(sign $E --iss ec-client --aud "$TE")"
t "config strict: token endpoint aud refused" err_is 400 invalid_client
tok "$B" ec-client "$SC" "$(sign $E --iss ec-client --aud "$ISS" \
  --typ Client-Authentication+JWT)"
t "config strict: issuer aud, typ in another case, expires_in 5" eval \
  'granted && [ "$(jget "$T/body" expires_in)" = 5 ]'
t "config back" \
  [ "$(ctl "$B" config '{"token_lifetime":900,"strict":false}')" = 200 ]

# ---- stats and reset ------------------------------------------------------------

t "reset" [ "$(ctl "$B" reset)" = 200 ]
a1=$(sign $E --iss ec-client --aud "$TE" --jti s-1)
a2=$(sign --key "$K/rsa.key" --alg PS384 --iss rsa-client --aud "$ISS" \
  --jti s-2 --kid rsa-1 --typ client-authentication+jwt)
a3=$(sign $E --iss ec-client --aud "$B/wrong" --jti s-3)
tok "$B" ec-client "$SC" "$a1"
tok "$B" rsa-client "$SR" "$a2"
TOKEN=$(jget "$T/body" access_token)
tok "$B" ec-client "$SC" "$a3"
get "$B/contactcentre5/accesstokeninformation" -H "Authorization: Bearer $TOKEN"
get "$B/_test/stats"
cp "$T/body" "$T/stats"
t "stats: 3 requests, 2 successes, 1 check" eval \
  '[ "$(jget "$T/stats" token_requests)" = 3 ] &&
   [ "$(jget "$T/stats" token_successes)" = 2 ] &&
   [ "$(jget "$T/stats" check_requests)" = 1 ]'
t "stats: jtis, algs, typs, kids, audiences in order" eval \
  '[ "$(jget "$T/stats" jtis)" = "[\"s-1\", \"s-2\", \"s-3\"]" ] &&
   [ "$(jget "$T/stats" algs)" = "[\"ES256\", \"PS384\", \"ES256\"]" ] &&
   [ "$(jget "$T/stats" typs)" = "[\"JWT\", \"client-authentication+jwt\", \"JWT\"]" ] &&
   [ "$(jget "$T/stats" kids)" = "[null, \"rsa-1\", null]" ] &&
   [ "$(jget "$T/stats" audiences.1)" = "$ISS" ] &&
   [ "$(jget "$T/stats" audiences.2)" = "$B/wrong" ]'
t "stats: last_error" [ "$(jget "$T/stats" last_error)" = invalid_client ]
t "stats?get=PATH: one value as text (start.sh's ep_stat)" eval \
  '[ "$(ep_stat token_requests "$B")" = 3 ] &&
   [ "$(ep_stat audiences.2 "$B")" = "$B/wrong" ] &&
   [ "$(ep_stat kids.0 "$B")" = null ] &&
   [ "$(ep_stat algs "$B")" = "$(jget "$T/stats" algs)" ]'
t "stats?get= of nothing: a failure and no output" eval \
  '! ep_stat no_such "$B" >"$T/none" && ! ep_stat jtis.9 "$B" >>"$T/none" &&
   [ ! -s "$T/none" ]'
ctl "$B" reset >/dev/null
get "$B/_test/stats"
t "reset clears the stats" eval \
  '[ "$(jget "$T/body" token_requests)" = 0 ] &&
   [ "$(jget "$T/body" jtis)" = "[]" ]'
tok "$B" ec-client "$SC" "$a1"
t "reset clears the seen jtis" granted

# ---- misbehaviour ---------------------------------------------------------------

fresh() { sign $E --iss ec-client --aud "$TE"; }
ctl "$B" reset >/dev/null
t "misbehave 503 x2 queued" \
  [ "$(ctl "$B" misbehave '{"mode":"503","count":2}')" = 200 ]
tok "$B" ec-client "$SC" "$(fresh)"; c1=$CODE
t "503 has a JSON error body" eval \
  '[ -n "$(jget "$T/body" error)" ] && [ "$(hdr Cache-Control)" = no-store ]'
a=$(fresh)
tok "$B" ec-client "$SC" "$a"; c2=$CODE
tok "$B" ec-client "$SC" "$(fresh)"; c3=$CODE
t "503, 503, then 200" [ "$c1 $c2 $c3" = "503 503 200" ]
tok "$B" ec-client "$SC" "$a"
t "a jti sent to a misbehaving server is burnt" err_is 400 invalid_client

ctl "$B" misbehave '{"mode":"429","retry_after":3}' >/dev/null
tok "$B" ec-client "$SC" "$(fresh)"
t "429 with Retry-After: 3" eval '[ "$CODE" = 429 ] &&
  [ "$(hdr Retry-After)" = 3 ]'
ctl "$B" misbehave '{"mode":"429"}' >/dev/null
tok "$B" ec-client "$SC" "$(fresh)"
t "429 with default Retry-After: 1" eval '[ "$CODE" = 429 ] &&
  [ "$(hdr Retry-After)" = 1 ]'
tok "$B" ec-client "$SC" "$(fresh)"
t "then service resumes" granted

ctl "$B" misbehave '{"mode":"slow","delay":2}' >/dev/null
a=$(fresh)
curl -sS -o "$T/slow.body" -w '%{http_code} %{time_total}' --max-time 20 \
  --data-urlencode grant_type=client_credentials \
  --data-urlencode "scope=$SC" \
  --data-urlencode client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \
  --data-urlencode "client_assertion=$a" "$TE" >"$T/slow.out" 2>&1 &
SLOW=$!
sleep 0.3
fast=$(curl -sS -o /dev/null -w '%{time_total}' --max-time 20 \
  "$B/id/.well-known/openid-configuration")
t "another request is served while a slow one waits (${fast}s)" \
  awk -v t="$fast" 'BEGIN { exit !(t < 1.0) }'
wait $SLOW   # bounded by curl's --max-time
read -r scode stime <"$T/slow.out"
t "slow: 200 after the delay (${stime}s)" eval \
  '[ "$scode" = 200 ] && awk -v t="$stime" "BEGIN { exit !(t >= 2.0) }"'

ctl "$B" misbehave '{"mode":"garbage"}' >/dev/null
tok "$B" ec-client "$SC" "$(fresh)"
t "garbage: 200 with a body that is not JSON" eval \
  '[ "$CODE" = 200 ] && [ -s "$T/body" ] && ! jw isjson "$T/body" >/dev/null'

ctl "$B" misbehave '{"mode":"oversize"}' >/dev/null
tok "$B" ec-client "$SC" "$(fresh)"
size=$(wc -c <"$T/body")
t "oversize: 200 with $size bytes of valid JSON" eval \
  '[ "$CODE" = 200 ] && [ "$size" -ge 2097152 ] && jw isjson "$T/body" >/dev/null'

ctl "$B" misbehave '{"mode":"drop"}' >/dev/null
tok "$B" ec-client "$SC" "$(fresh)"
t "drop: connection closed without a response (curl $RC)" \
  eval '[ "$RC" = 52 ] || [ "$RC" = 56 ]'

ctl "$B" misbehave '{"mode":"error200"}' >/dev/null
tok "$B" ec-client "$SC" "$(fresh)"
t "error200: 200 with error server_error" eval \
  '[ "$CODE" = 200 ] && [ "$(jget "$T/body" error)" = server_error ]'

ctl "$B" misbehave '{"mode":"invalid_client","count":2}' >/dev/null
tok "$B" ec-client "$SC" "$(fresh)"
c1=$CODE e1=$(jget "$T/body" error)
tok "$B" ec-client "$SC" "$(fresh)"
c2=$CODE
tok "$B" ec-client "$SC" "$(fresh)"
t "invalid_client x2 for good assertions, then 200" \
  [ "$c1 $e1 $c2 $CODE" = "400 invalid_client 400 200" ]

t "unknown mode refused" [ "$(ctl "$B" misbehave '{"mode":"boom"}')" = 400 ]
get "$B/_test/stats"
t "stats count misbehaving requests (15 requests, 4 successes)" eval \
  '[ "$(jget "$T/body" token_requests)" = 15 ] &&
   [ "$(jget "$T/body" token_successes)" = 4 ]'

# ---- strict mode ------------------------------------------------------------------

if start strict --strict --client "ec-client:$SC:$K/ec.b64"; then
  SB=http://127.0.0.1:$PORT
  s() { sign $E --iss ec-client "$@"; }
  tok "$SB" ec-client "$SC" "$(s --aud "$SB/id" --typ client-authentication+jwt)"
  t "strict: issuer aud + typ client-authentication+jwt accepted" granted
  tok "$SB" ec-client "$SC" "$(s --aud "$SB/id/connect/token" --typ client-authentication+jwt)"
  t "strict: token endpoint aud refused" err_is 400 invalid_client
  tok "$SB" ec-client "$SC" "$(s --aud "$SB/id")"
  t "strict: typ JWT refused" err_is 400 invalid_client
  tok "$SB" ec-client "$SC" "$(s --aud "$SB/id" --aud-array --typ client-authentication+jwt)"
  t "strict: aud as an array refused" err_is 400 invalid_client
  stop "$SRV_PID"
else
  nok "strict server starts"
fi

# ---- https --------------------------------------------------------------------

if sh "$srcdir/tests/endpoint/make-test-ca.sh" "$T/tls" 2>"$T/ca.err"; then
  ok "make-test-ca.sh"
else
  nok "make-test-ca.sh"; cat "$T/ca.err"
fi
if start tls --tls-cert "$T/tls/server.pem" --tls-key "$T/tls/server.key" \
  --client "ec-client:$SC:$K/ec.b64"; then
  HB=https://127.0.0.1:$PORT
  CURLOPTS="--cacert $T/tls/ca.pem"
  get "$HB/id/.well-known/openid-configuration"
  t "https with the test CA: issuer is https" \
    [ "$CODE" = 200 -a "$(jget "$T/body" issuer)" = "$HB/id" ]
  tok "$HB" ec-client "$SC" "$(sign $E --iss ec-client --aud "$HB/id/connect/token")"
  t "https: token granted" granted
  get "https://localhost:$PORT/id/.well-known/openid-configuration"
  t "https: the certificate also names localhost" [ "$CODE" = 200 ]
  CURLOPTS=""
  get "$HB/id/.well-known/openid-configuration"
  t "https: refused without the test CA (curl $RC)" [ "$RC" = 60 ]
  CURLOPTS="--cacert $T/tls/ca.pem"
  get "$HB/id/.well-known/openid-configuration"
  CURLOPTS=""
  t "https: still serving after a refused handshake" [ "$CODE" = 200 ]
  stop "$SRV_PID"
else
  nok "https server starts"
fi
if start untrusted --tls-cert "$T/tls/untrusted.pem" \
  --tls-key "$T/tls/untrusted.key" --client "ec-client:$SC:$K/ec.b64"; then
  CURLOPTS="--cacert $T/tls/ca.pem"
  get "https://127.0.0.1:$PORT/id/.well-known/openid-configuration"
  CURLOPTS=""
  t "untrusted self-signed certificate refused by curl (curl $RC)" \
    [ "$RC" = 60 ]
  stop "$SRV_PID"
else
  nok "untrusted server starts"
fi

# ---- the log ------------------------------------------------------------------

t "log has one line per request with status and error" eval \
  'grep -q "POST /id/connect/token 400 invalid_scope" "$T/main.log" &&
   grep -q "GET /contactcentre5/accesstokeninformation 200 -" "$T/main.log"'
t "log holds no assertion or token" eval \
  '! grep -q "eyJ" "$T/main.log" && ! grep -qF "$T1" "$T/main.log"'

# ---- stopping -------------------------------------------------------------------

t "main server stops on SIGTERM and removes its port file" eval \
  'stop "$MAIN" && [ ! -e "$T/main.port" ]'
if start short --max-seconds 1 --client "ec-client:$SC:$K/ec.b64"; then
  P=$SRV_PID
  i=0
  while kill -0 "$P" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  t "server exits by itself after --max-seconds" eval '! kill -0 "$P" 2>/dev/null'
else
  nok "short-lived server starts"
fi
t "PyJWT signed every assertion asked for" [ ! -e "$T/unsigned" ]
left=0
for p in $PIDS; do kill -0 "$p" 2>/dev/null && left=$((left + 1)); done
t "no server process left" [ $left -eq 0 ]

echo "$PASS passed, $FAIL failed"
[ $FAIL -eq 0 ]
