#!/bin/sh
# tests/keygen.sh: drive the built pkjwt-keygen, successes and failures.
# Judges are not ours: OpenSSL's CLI, Debian's jose and python3-jwcrypto.
# Every failure case checks the exit status, exactly one stderr line naming
# the file and reason, an empty stdout, and that no file appeared or changed.
set -u
: "${top_srcdir:=.}"
: "${top_builddir:=.}"
top_srcdir=$(cd "$top_srcdir" && pwd)
top_builddir=$(cd "$top_builddir" && pwd)
PY=${PYTHON3:-/usr/bin/python3}
OSSL=${OPENSSL_CLI:-openssl}
JOSE=${JOSE_CLI:-jose}
EX=$top_srcdir/keys-example
MAN=$top_srcdir/docs/pkjwt-keygen.1

. "$top_srcdir/tests/tool-lib.sh"
# the real binary: the libtool wrapper costs a shell per run
tl_direct pkjwt-keygen
K=$TL_TOOL

for need in "$PY" "$OSSL" "$JOSE"; do
  command -v "$need" >/dev/null 2>&1 || {
    echo "SKIP: $need not found"
    exit 77
  }
done
"$PY" -c 'import jwcrypto' 2>/dev/null || {
  echo "SKIP: $PY has no jwcrypto"
  exit 77
}

tl_begin
cd "$TL_DIR" || exit 99
umask 022

# ---- judges --------------------------------------------------------------

# RFC 7638 thumbprint of a private or public PEM key, by jwcrypto.
jwc_thp_pem() {
  "$PY" -c 'import sys
from jwcrypto import jwk
print(jwk.JWK.from_pem(open(sys.argv[1], "rb").read()).thumbprint())' "$1"
}
# jwcrypto's thumbprints of many PEM keys in one python start: a line
# "FILE<tab>THUMBPRINT" for each (see thp_of).
jwc_thp_pems() {
  "$PY" -c 'import sys
from jwcrypto import jwk
for f in sys.argv[1:]:
    try:
        print(f, jwk.JWK.from_pem(open(f, "rb").read()).thumbprint(), sep="\t")
    except Exception as e:
        print(f, "unreadable: " + repr(e), sep="\t")' "$@"
}
# thp_of FILE: FILE's thumbprint from the jwc_thp_pems batch in $TL_PRIV/thp
# ("no-thumbprint" when the batch has no line for it: never a kid).
thp_of() {
  awk -F '\t' -v f="$1" '$1 == f { print $2; found = 1 }
    END { if (!found) print "no-thumbprint" }' "$TL_PRIV/thp"
}
# jwcrypto's thumbprint of a JWK file (public members only are used).
jwc_thp_jwk() {
  "$PY" -c 'import sys
from jwcrypto import jwk
print(jwk.JWK.from_json(open(sys.argv[1]).read()).thumbprint())' "$1"
}
# One member of a JSON object in a file ("" when absent).
json_get() {
  "$PY" -c 'import sys, json
v = json.load(open(sys.argv[1])).get(sys.argv[2], "")
print(str(v).lower() if isinstance(v, bool) else v)' "$1" "$2"
}
# DER of a PEM certificate, as one line of base64.
cert_b64() {
  "$OSSL" x509 -in "$1" -outform DER | base64 -w0
}
mode_of() {
  stat -c %a "$1"
}
# File holds exactly one line (a newline-terminated single line).
one_line() {
  [ "$(tl_lines "$1")" = 1 ]
}

# ---- help, version, man page -----------------------------------------------

tl_expect_ok "--help exits 0" "$K" --help
tl_check "--help lists every subcommand" \
  grep -q "export" "$TL_OUT"
tl_expect_ok "--version" "$K" --version
tl_check "--version names the version" grep -Eq '^pkjwt-keygen \(pkjwt\) [0-9]+\.[0-9]+\.[0-9]+$' "$TL_OUT"
for sub in new cert export info; do
  tl_expect_ok "$sub --help exits 0" "$K" "$sub" --help
  cp "$TL_OUT" "$TL_PRIV/help-$sub"
  tl_check "$sub --help on stdout, nothing on stderr" \
    test -s "$TL_OUT" -a ! -s "$TL_ERR"
  tl_expect_ok "help $sub" "$K" help "$sub"
  tl_check "help $sub = $sub --help" cmp -s "$TL_OUT" "$TL_PRIV/help-$sub"
done

tl_expect_ok "--help again" "$K" --help
cat "$TL_OUT" "$TL_PRIV"/help-* >"$TL_PRIV/help-all"
tl_check "every --help line fits in 80 columns" \
  test -z "$(awk 'length($0) > 80' "$TL_PRIV/help-all")"

# The man page's OPTIONS section is exactly what the --help table prints.
tl_expect_ok "--man-options" "$K" --man-options
sed -n '/^\.\\" BEGIN OPTIONS/,/^\.\\" END OPTIONS/p' "$MAN" |
  sed '1d;$d' >"$TL_PRIV/man-options"
tl_check "man page OPTIONS section = --man-options (regenerate it)" \
  cmp -s "$TL_PRIV/man-options" "$TL_OUT"
# And every option of every --help appears in the rendered man page.
sed 's/\\-/-/g' "$MAN" >"$TL_PRIV/man.txt"
missing=
for sub in new cert export info; do
  for opt in $(grep -Eo -- '--[a-z0-9-]+' "$TL_PRIV/help-$sub" | sort -u); do
    grep -q -- "$opt" "$TL_PRIV/man.txt" || missing="$missing $sub:$opt"
  done
done
tl_check "every --help option is in the man page:${missing:- all there}" \
  test -z "$missing"
for s in NAME SYNOPSIS DESCRIPTION SUBCOMMANDS OPTIONS FILES "EXIT STATUS" \
  EXAMPLES SECURITY "SEE ALSO"; do
  tl_check "man page has $s" grep -q "^\.SH \"*$s\"*\$" "$MAN"
done

# ---- new: EC keys ------------------------------------------------------------

tl_expect_ok "new (defaults: EC P-256)" "$K" new --out ec.key
tl_check "key mode 0600 under umask 022" test "$(mode_of ec.key)" = 600
tl_check "openssl reads the key" "$OSSL" pkey -in ec.key -noout
tl_check "it is PKCS#8 PEM" grep -q '^-----BEGIN PRIVATE KEY-----$' ec.key
tl_check "default curve is P-256" \
  sh -c "'$OSSL' pkey -in ec.key -noout -text | grep -q 'NIST CURVE: P-256'"
cp "$TL_OUT" ec.jwk
cp "$TL_ERR" "$TL_PRIV/new-note"
tl_check "stdout is one line (the JWK)" one_line ec.jwk
kid=$(json_get ec.jwk kid)
tl_check "kid = jose jwk thp (S256)" \
  test "$kid" = "$("$JOSE" jwk thp -i ec.jwk -a S256)"
tl_check "kid = jwcrypto thumbprint of the PEM key" \
  test "$kid" = "$(jwc_thp_pem ec.key)"
tl_check "the note names the kid" grep -qF -- "$kid" "$TL_PRIV/new-note"
tl_check "the note says where to upload" grep -q \
  'Upload this in Organisation Settings → OIDC Clients → your client → Manage Client Secrets → Add → Private Key JWT' \
  "$TL_PRIV/new-note"
tl_check "the note names the file" grep -q 'ec.key' "$TL_PRIV/new-note"
tl_check "the JWK has no private member" "$PY" -c 'import sys, json
j = json.load(open(sys.argv[1]))
sys.exit(any(m in j for m in ("d", "p", "q", "dp", "dq", "qi")) or
         j["use"] != "sig" or j["alg"] != "ES256" or j["kty"] != "EC")' ec.jwk

tl_expect_ok "new --quiet prints nothing on stderr" "$K" new --out q.key --quiet
tl_check "--quiet: stderr empty, stdout one line" \
  sh -c "test ! -s '$TL_ERR' && test \"\$(wc -l <'$TL_OUT')\" = 1"

for c in P-256:prime256v1:SHA256 P-384:secp384r1:SHA384 P-521:secp521r1:SHA512; do
  curve=${c%%:*}
  rest=${c#*:}
  oid=${rest%%:*}
  hash=${rest#*:}
  n=ec-$curve
  tl_expect_ok "new --curve $curve --cert" "$K" new --type ec --curve "$curve" \
    --out "$n.key" --cert "$n.crt" --subject "CN=client-$curve,O=Example" \
    --days 30
  cp "$TL_OUT" "$n.b64"
  "$OSSL" x509 -in "$n.crt" -noout -text >"$TL_PRIV/x509.txt" 2>&1
  tl_check "$curve: openssl x509 reads the certificate" test $? -eq 0
  tl_check "$curve: certificate on $oid" grep -q "ASN1 OID: $oid" "$TL_PRIV/x509.txt"
  tl_check "$curve: signed with ecdsa-with-$hash" \
    grep -q "Signature Algorithm: ecdsa-with-$hash" "$TL_PRIV/x509.txt"
  tl_check "$curve: subject" grep -q "Subject: CN = client-$curve, O = Example" \
    "$TL_PRIV/x509.txt"
  tl_check "$curve: X.509 v3, CA:FALSE, digitalSignature, SKI" sh -c "
    grep -q 'Version: 3' '$TL_PRIV/x509.txt' &&
    grep -q 'CA:FALSE' '$TL_PRIV/x509.txt' &&
    grep -q 'Digital Signature' '$TL_PRIV/x509.txt' &&
    grep -q 'Subject Key Identifier' '$TL_PRIV/x509.txt'"
  tl_check "$curve: stdout is the one-line base64 DER" \
    test "$(cat "$n.b64")" = "$(cert_b64 "$n.crt")"
  tl_check "$curve: base64 line read by openssl x509 -inform DER" \
    sh -c "base64 -d <'$n.b64' | '$OSSL' x509 -inform DER -noout"
  tl_check "$curve: valid for 29 more days" "$OSSL" x509 -in "$n.crt" -noout \
    -checkend $((29 * 86400))
  tl_check "$curve: not valid in 31 days (--days 30)" sh -c \
    "! '$OSSL' x509 -in '$n.crt' -noout -checkend $((31 * 86400)) >/dev/null"
  tl_check "$curve: certificate is for the key" test \
    "$("$OSSL" x509 -in "$n.crt" -noout -pubkey)" = \
    "$("$OSSL" pkey -in "$n.key" -pubout)"
done

# ---- new: RSA keys -------------------------------------------------------------

for bits in 2048 3072 4096; do
  if [ "$bits" = 3072 ]; then
    tl_expect_ok "new --type rsa (default 3072 bits)" "$K" new --type rsa \
      --out rsa-$bits.key --cert rsa-$bits.crt
  else
    tl_expect_ok "new --type rsa --bits $bits" "$K" new --type rsa \
      --bits $bits --out rsa-$bits.key --cert rsa-$bits.crt
  fi
  tl_check "RSA $bits: openssl reads a $bits-bit key" sh -c \
    "'$OSSL' pkey -in rsa-$bits.key -noout -text | grep -q 'Private-Key: ($bits bit'"
  tl_check "RSA $bits: mode 0600" test "$(mode_of rsa-$bits.key)" = 600
  tl_check "RSA $bits: certificate signed with sha256WithRSAEncryption" sh -c \
    "'$OSSL' x509 -in rsa-$bits.crt -noout -text | grep -q 'Signature Algorithm: sha256WithRSAEncryption'"
  tl_check "RSA $bits: default subject CN=pkjwt-client" sh -c \
    "'$OSSL' x509 -in rsa-$bits.crt -noout -subject | grep -q 'CN = pkjwt-client'"
  tl_check "RSA $bits: default validity 365 days" sh -c \
    "'$OSSL' x509 -in rsa-$bits.crt -noout -checkend $((364 * 86400)) >/dev/null &&
     ! '$OSSL' x509 -in rsa-$bits.crt -noout -checkend $((366 * 86400)) >/dev/null"
  tl_check "RSA $bits: base64 line is the DER" \
    test "$(cat "$TL_OUT")" = "$(cert_b64 rsa-$bits.crt)"
done

# ---- new: encrypted keys ------------------------------------------------------

printf 'correct horse battery staple\n' >pass.txt
printf 'wrong\n' >wrong.txt
: >empty.txt
for kdf in scrypt pbkdf2; do
  tl_expect_ok "new --passphrase-file --kdf $kdf" "$K" new --out "enc-$kdf.key" \
    --passphrase-file pass.txt --kdf "$kdf"
  tl_check "$kdf: ENCRYPTED PRIVATE KEY" \
    grep -q '^-----BEGIN ENCRYPTED PRIVATE KEY-----$' "enc-$kdf.key"
  tl_check "$kdf: mode 0600" test "$(mode_of "enc-$kdf.key")" = 600
  tl_check "$kdf: openssl reads it with -passin file:" "$OSSL" pkey \
    -in "enc-$kdf.key" -passin file:pass.txt -noout
  tl_check "$kdf: openssl refuses the wrong passphrase" sh -c \
    "! '$OSSL' pkey -in 'enc-$kdf.key' -passin file:wrong.txt -noout 2>/dev/null"
  tl_check "$kdf: passphrase never printed" sh -c \
    "! grep -q 'horse' '$TL_OUT' '$TL_ERR'"
done
"$OSSL" asn1parse -in enc-scrypt.key >"$TL_PRIV/asn1" 2>&1
tl_check "scrypt: PBES2 with scrypt and AES-256" sh -c \
  "grep -q ':scrypt' '$TL_PRIV/asn1' && grep -q aes-256 '$TL_PRIV/asn1'"
# The same key as openssl encrypts it with PBKDF2 + AES-256-CBC at 1000
# iterations: the refusal of a wrong passphrase below takes the same path in
# pkjwt as with enc-pbkdf2.key, without 600,000 iterations (seconds of CPU
# under ASan); export reads enc-pbkdf2.key itself.
"$OSSL" pkcs8 -topk8 -v2 aes-256-cbc -iter 1000 -in ec.key \
  -passout file:pass.txt -out pbkdf2-fast.key
"$OSSL" asn1parse -in pbkdf2-fast.key >"$TL_PRIV/asn1" 2>&1
tl_check "pbkdf2-fast.key: PBKDF2, 1000 iterations, AES-256" sh -c \
  "grep -q PBKDF2 '$TL_PRIV/asn1' && grep -q ':03E8' '$TL_PRIV/asn1' &&
   grep -q aes-256 '$TL_PRIV/asn1'"
"$OSSL" asn1parse -in enc-pbkdf2.key >"$TL_PRIV/asn1" 2>&1
tl_check "pbkdf2: PBKDF2, 600000 iterations, AES-256" sh -c \
  "grep -q PBKDF2 '$TL_PRIV/asn1' && grep -q ':0927C0' '$TL_PRIV/asn1' &&
   grep -q aes-256 '$TL_PRIV/asn1'"
TL_STDIN=pass.txt
tl_expect_ok "new --passphrase-file - (stdin)" "$K" new --out enc-stdin.key \
  --passphrase-file - --quiet
TL_STDIN=
tl_check "stdin passphrase: openssl reads the key" "$OSSL" pkey \
  -in enc-stdin.key -passin file:pass.txt -noout

# ---- cert ------------------------------------------------------------------

tl_expect_ok "cert for an existing key" "$K" cert --key ec.key --out ec.crt \
  --subject "CN=again" --days 90
tl_check "cert: stdout is the base64 DER" test "$(cat "$TL_OUT")" = \
  "$(cert_b64 ec.crt)"
tl_check "cert: certificate is for the key" test \
  "$("$OSSL" x509 -in ec.crt -noout -pubkey)" = \
  "$("$OSSL" pkey -in ec.key -pubout)"
tl_check "cert: mode 0644" test "$(mode_of ec.crt)" = 644
tl_expect_ok "cert --out - prints PEM" "$K" cert --key ec.key --out -
tl_check "cert --out -: openssl reads the PEM" "$OSSL" x509 -in "$TL_OUT" -noout
tl_expect_ok "cert of an encrypted key with its passphrase" "$K" cert \
  --key enc-scrypt.key --passphrase-file pass.txt --out enc-scrypt.crt
tl_check "cert of encrypted key: matches" test \
  "$("$OSSL" x509 -in enc-scrypt.crt -noout -pubkey)" = \
  "$("$OSSL" pkey -in enc-scrypt.key -passin file:pass.txt -pubout)"

# ---- export ----------------------------------------------------------------

tl_expect_ok "export base64-cert" "$K" export --cert ec-P-384.crt \
  --format base64-cert
tl_check "base64-cert = DER of the certificate" \
  test "$(cat "$TL_OUT")" = "$(cert_b64 ec-P-384.crt)"
tl_check "base64-cert: one line, no padding errors" sh -c \
  "test \"\$(wc -l <'$TL_OUT')\" = 1 && base64 -d <'$TL_OUT' | '$OSSL' x509 -inform DER -noout"
tl_expect_ok "export pem-cert" "$K" export --cert ec-P-384.crt --format pem-cert
tl_check "pem-cert = the certificate" test "$(cert_b64 "$TL_OUT")" = \
  "$(cert_b64 ec-P-384.crt)"
tl_expect_ok "export base64-cert with --key and --cert" "$K" export \
  --key ec-P-384.key --cert ec-P-384.crt --format base64-cert
tl_expect_ok "export public-pem from a key" "$K" export --key rsa-2048.key \
  --format public-pem
tl_check "public-pem = openssl pkey -pubout" test "$(cat "$TL_OUT")" = \
  "$("$OSSL" pkey -in rsa-2048.key -pubout)"
tl_check "public-pem has no private key" sh -c "! grep -q PRIVATE '$TL_OUT'"
tl_expect_ok "export public-pem from a certificate" "$K" export \
  --cert rsa-2048.crt --format public-pem
tl_check "public-pem of cert = the key's" test "$(cat "$TL_OUT")" = \
  "$("$OSSL" pkey -in rsa-2048.key -pubout)"

# The jwcrypto thumbprints this test compares kids with, in one start.
jwc_thp_pems ec-P-256.key ec-P-384.key ec-P-521.key rsa-2048.key \
  rsa-3072.key rsa-4096.key "$EX/ec-p256.key" "$EX/rsa-3072.key" \
  >"$TL_PRIV/thp" 2>&1
for n in ec-P-256 ec-P-384 ec-P-521 rsa-2048 rsa-4096; do
  tl_expect_ok "export jwk $n" "$K" export --key "$n.key" --format jwk
  cp "$TL_OUT" "$n.jwk"
  tl_check "$n jwk kid = jose jwk thp" test "$(json_get "$n.jwk" kid)" = \
    "$("$JOSE" jwk thp -i "$n.jwk" -a S256)"
  tl_check "$n jwk kid = jwcrypto thumbprint of the PEM" \
    test "$(json_get "$n.jwk" kid)" = "$(thp_of "$n.key")"
  tl_check "$n jwk is public only" "$PY" -c 'import sys, json
j = json.load(open(sys.argv[1]))
sys.exit(any(m in j for m in ("d", "p", "q", "dp", "dq", "qi")))' "$n.jwk"
done
tl_check "P-521 jwk: x and y are 66 bytes (RFC 7518 6.2.1.2)" "$PY" -c '
import sys, json, base64
j = json.load(open(sys.argv[1]))
d = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
sys.exit(not (len(d(j["x"])) == 66 and len(d(j["y"])) == 66 and j["alg"] == "ES512"))' ec-P-521.jwk

tl_expect_ok "export jwk from a certificate" "$K" export --cert ec-P-256.crt \
  --format jwk
tl_check "jwk from cert = jwk from key" sh -c \
  "'$PY' -c 'import sys, json; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' '$TL_OUT' ec-P-256.jwk"
tl_expect_ok "export jwk --kid --alg" "$K" export --key rsa-2048.key \
  --format jwk --kid my-key-1 --alg PS256
tl_check "--kid and --alg are used" test \
  "$(json_get "$TL_OUT" kid) $(json_get "$TL_OUT" alg)" = "my-key-1 PS256"
tl_expect_ok "export jwk --x5c" "$K" export --key ec-P-256.key \
  --cert ec-P-256.crt --format jwk --x5c
cp "$TL_OUT" x5c.jwk
tl_check "x5c[0] = the base64 DER, x5t#S256 = SHA-256 of the DER" "$PY" -c '
import sys, json, base64, hashlib
j = json.load(open(sys.argv[1]))
der = base64.b64decode(open(sys.argv[2]).read().strip())
t = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
sys.exit(not (j["x5c"] == [open(sys.argv[2]).read().strip()] and j["x5t#S256"] == t))' \
  x5c.jwk ec-P-256.b64
tl_check "jwcrypto loads the x5c JWK with the same thumbprint" test \
  "$(jwc_thp_jwk x5c.jwk)" = "$(json_get ec-P-256.jwk kid)"

tl_expect_ok "export jwks of three keys" "$K" export --format jwks \
  --key ec-P-256.key --key rsa-2048.key --key ec-P-521.key
cp "$TL_OUT" three.jwks
tl_check "jwcrypto JWKSet reads the JWKS, kids in order, thumbprints right" \
  "$PY" -c '
import sys, json
from jwcrypto import jwk
ks = jwk.JWKSet.from_json(open(sys.argv[1]).read())
raw = json.load(open(sys.argv[1]))["keys"]
want = [json.load(open(f))["kid"] for f in sys.argv[2:]]
got = [k["kid"] for k in raw]
ok = got == want and len(ks["keys"]) == 3 and all(
    ks.get_key(k).thumbprint() == k for k in want)
ok = ok and not any(m in k for k in raw for m in ("d", "p", "q"))
sys.exit(not ok)' three.jwks ec-P-256.jwk rsa-2048.jwk ec-P-521.jwk
tl_check "jose's thumbprints of the JWKS = the kids" test \
  "$("$JOSE" jwk thp -i three.jwks -a S256 | tr -s '\n' ' ')" = \
  "$(json_get ec-P-256.jwk kid) $(json_get rsa-2048.jwk kid) $(json_get ec-P-521.jwk kid) "
tl_expect_ok "export jwks --key --cert pairs with --x5c" "$K" export \
  --format jwks --key ec-P-256.key --cert ec-P-256.crt --key rsa-2048.key \
  --key rsa-4096.key --cert rsa-4096.crt --x5c
tl_check "jwks --x5c: x5c only where a --cert followed the --key" "$PY" -c '
import sys, json
k = json.load(open(sys.argv[1]))["keys"]
sys.exit(not (len(k) == 3 and "x5c" in k[0] and "x5c" not in k[1]
              and "x5c" in k[2] and "x5t#S256" in k[2]))' "$TL_OUT"
tl_expect_ok "export jwks of certificates only" "$K" export --format jwks \
  --cert ec-P-256.crt --cert rsa-2048.crt
tl_check "jwks of certificates: the keys' kids" "$PY" -c '
import sys, json
k = json.load(open(sys.argv[1]))["keys"]
sys.exit([x["kid"] for x in k] != [json.load(open(f))["kid"] for f in sys.argv[2:]])' \
  "$TL_OUT" ec-P-256.jwk rsa-2048.jwk

TL_STDIN=ec-P-384.key
tl_expect_ok "export --key - reads stdin" "$K" export --key - --format jwk
TL_STDIN=
tl_check "stdin key: same JWK" test "$(json_get "$TL_OUT" kid)" = \
  "$(json_get ec-P-384.jwk kid)"
tl_expect_ok "export jwk of an encrypted key with its passphrase" "$K" export \
  --key enc-pbkdf2.key --passphrase-file pass.txt --format jwk
tl_check "encrypted key jwk kid = jwcrypto" test "$(json_get "$TL_OUT" kid)" = \
  "$("$PY" -c 'import sys
from jwcrypto import jwk
print(jwk.JWK.from_pem(open(sys.argv[1], "rb").read(), password=b"correct horse battery staple").thumbprint())' enc-pbkdf2.key)"
"$OSSL" pkey -in ec-P-256.key -outform DER -out ec-der.key
"$OSSL" pkey -in rsa-2048.key -traditional -out rsa-pkcs1.key 2>/dev/null
"$OSSL" ec -in ec-P-256.key -out ec-sec1.key 2>/dev/null
for pair in ec-der.key:ec-P-256 rsa-pkcs1.key:rsa-2048 ec-sec1.key:ec-P-256; do
  f=${pair%%:*}
  tl_expect_ok "export jwk reads $f" "$K" export --key "$f" --format jwk
  tl_check "$f: same kid as ${pair#*:}" test "$(json_get "$TL_OUT" kid)" = \
    "$(json_get "${pair#*:}.jwk" kid)"
done
tl_check "the SEC1 and PKCS#1 inputs are what they claim" sh -c \
  "grep -q 'BEGIN EC PRIVATE KEY' ec-sec1.key && grep -q 'BEGIN RSA PRIVATE KEY' rsa-pkcs1.key"

# ---- info --------------------------------------------------------------------

tl_expect_ok "info --key" "$K" info --key rsa-3072.key
tl_check "info text: type, bits, kid, alg, private" sh -c "
  grep -q '^type: *RSA\$' '$TL_OUT' && grep -q '^bits: *3072\$' '$TL_OUT' &&
  grep -q '^kid: *$(thp_of rsa-3072.key)\$' '$TL_OUT' &&
  grep -q '^alg: *RS256\$' '$TL_OUT' && grep -q '^private: *yes\$' '$TL_OUT' &&
  grep -q '^encrypted: *no\$' '$TL_OUT'"
tl_expect_ok "info --key --json" "$K" info --key ec-P-384.key --json
tl_check "info --json: one object, right facts" "$PY" -c '
import sys, json
j = json.load(open(sys.argv[1]))
sys.exit(not (j["type"] == "EC" and j["curve"] == "P-384" and j["bits"] == 384
  and j["kid"] == sys.argv[2] and j["alg"] == "ES384" and j["private"] is True
  and j["encrypted"] is False))' "$TL_OUT" "$(thp_of ec-P-384.key)"
tl_expect_ok "info of an encrypted key" "$K" info --key enc-scrypt.key \
  --passphrase-file pass.txt --json
tl_check "info: encrypted true" test "$(json_get "$TL_OUT" encrypted)" = true
tl_expect_ok "info of a public JWK" "$K" info --key ec-P-521.jwk --json
tl_check "info of JWK: public, same kid" test \
  "$(json_get "$TL_OUT" private) $(json_get "$TL_OUT" kid)" = \
  "false $(json_get ec-P-521.jwk kid)"
# The tools' own JSON writer escapes what a subject may hold.
tl_expect_ok "a subject with a quote, a backslash and UTF-8" "$K" new \
  --out esc.key --cert esc.crt --quiet --subject 'CN=a"b\\c\,d ø'
tl_expect_ok "info --json of that certificate" "$K" info --cert esc.crt --json
tl_check "info --json: valid JSON, the subject as openssl reads it" "$PY" -c '
import sys, json, subprocess
j = json.load(open(sys.argv[1]))
o = subprocess.run([sys.argv[3], "x509", "-in", sys.argv[2], "-noout",
    "-subject", "-nameopt", "utf8"], capture_output=True, text=True,
    check=True).stdout
sys.exit(not ("\"" in j["subject"] and "\\" in j["subject"]
  and "\u00f8" in j["subject"] and "a\"b" in o))' "$TL_OUT" esc.crt "$OSSL"
tl_expect_ok "info --cert --json" "$K" info --cert ec-P-256.crt --json
cp "$TL_OUT" info.json
cp "$TL_ERR" "$TL_PRIV/info-err"
tl_check "info --cert: subject, serial, dates as openssl sees them" "$PY" -c '
import sys, json, subprocess, datetime
j = json.load(open(sys.argv[1]))
o = lambda *a: subprocess.run([sys.argv[3], "x509", "-in", sys.argv[2], "-noout", *a],
    capture_output=True, text=True, check=True).stdout.strip()
serial = o("-serial").split("=", 1)[1]
fmt = "%b %d %H:%M:%S %Y GMT"
na = datetime.datetime.strptime(" ".join(o("-enddate").split("=", 1)[1].split()), fmt)
nb = datetime.datetime.strptime(" ".join(o("-startdate").split("=", 1)[1].split()), fmt)
iso = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")
ok = (j["subject"] == "CN=client-P-256,O=Example"
      and j["serial"].lstrip("0") == serial.lstrip("0")
      and j["not_after"] == iso(na) and j["not_before"] == iso(nb)
      and j["days_left"] in (29, 30) and j["expired"] is False
      and j["type"] == "EC" and j["curve"] == "P-256" and j["alg"] == "ES256")
sys.exit(not ok)' info.json ec-P-256.crt "$OSSL"
tl_check "info --cert: x5t#S256 and kid" test \
  "$(json_get info.json kid) $(json_get info.json 'x5t#S256')" = \
  "$(json_get ec-P-256.jwk kid) $(json_get x5c.jwk 'x5t#S256')"
cert_b64 ec-P-256.crt >ossl.b64
tl_expect_ok "info --cert of the one-line base64 (as uploaded; made by openssl)" \
  "$K" info --cert ossl.b64 --json
tl_check "the base64 line: the PEM's kid, x5t#S256, subject, serial, dates" \
  "$PY" -c 'import sys, json
a, b = (json.load(open(f)) for f in sys.argv[1:3])
keys = ("kid", "x5t#S256", "subject", "serial", "not_before", "not_after")
sys.exit(not all(a[k] == b[k] for k in keys))' "$TL_OUT" info.json
tl_check "info --cert expiring in 30 days: one warning line on stderr" sh -c "
  test \"\$(wc -l <'$TL_PRIV/info-err')\" = 1 &&
  grep -q '^pkjwt-keygen: ec-P-256.crt: warning: the certificate expires in' '$TL_PRIV/info-err'"
tl_expect_ok "info --cert (text), a year left" "$K" info --cert rsa-2048.crt
tl_check "no warning a year before expiry; text has not_after" sh -c \
  "test ! -s '$TL_ERR' && grep -q '^not_after: *20[0-9-]*T[0-9:]*Z\$' '$TL_OUT'"

# An expired certificate, made by python3-cryptography (openssl req cannot).
"$PY" -c 'import sys, datetime
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
k = ec.generate_private_key(ec.SECP256R1())
n = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "expired")])
t = datetime.datetime(2020, 1, 1)
c = (x509.CertificateBuilder().subject_name(n).issuer_name(n)
     .public_key(k.public_key()).serial_number(x509.random_serial_number())
     .not_valid_before(t).not_valid_after(t + datetime.timedelta(days=30))
     .sign(k, hashes.SHA256()))
open(sys.argv[1], "wb").write(c.public_bytes(serialization.Encoding.PEM))' \
  expired.crt
tl_expect_ok "info of an expired certificate exits 0" "$K" info --cert expired.crt --json
tl_check "expired: true, days_left negative, notAfter 2020-01-31T00:00:00Z" "$PY" -c '
import sys, json
j = json.load(open(sys.argv[1]))
sys.exit(not (j["expired"] is True and j["days_left"] < 0
              and j["not_after"] == "2020-01-31T00:00:00Z"))' "$TL_OUT"
tl_check "expired: one warning line on stderr" sh -c "
  test \"\$(wc -l <'$TL_ERR')\" = 1 &&
  grep -q '^pkjwt-keygen: expired.crt: warning: the certificate expired on 2020-01-31T00:00:00Z\$' '$TL_ERR'"

# A key others can read: a warning line, and it still works.
cp ec.key shared.key
chmod 644 shared.key
tl_expect_ok "a key others can read still loads" "$K" info --key shared.key
tl_check "... with one warning line on stderr" sh -c "
  test \"\$(wc -l <'$TL_ERR')\" = 1 &&
  grep -q '^pkjwt-keygen: shared.key: warning: ' '$TL_ERR' && test -s '$TL_OUT'"

# ---- --force -----------------------------------------------------------------

cp ec.key old.key
tl_expect_ok "new --force replaces an existing key" "$K" new --out old.key \
  --force --quiet
tl_check "--force: the key changed, mode 0600" sh -c \
  "! cmp -s ec.key old.key && test \"\$(stat -c %a old.key)\" = 600"

# ---- failures ----------------------------------------------------------------
# Everything made above stays; each case must leave the folder as it was.

"$OSSL" genpkey -algorithm ed25519 -out ed25519.key 2>/dev/null
"$OSSL" genpkey -algorithm ed448 -out ed448.key 2>/dev/null
"$OSSL" genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa1024.key \
  2>/dev/null
"$OSSL" req -x509 -new -key rsa1024.key -subj /CN=weak -days 1 -out rsa1024.crt \
  2>/dev/null
printf 'this is not a key\n' >garbage.key
head -c 300 /dev/urandom >random.key
printf 'old content\n' >existing.key
printf 'old cert\n' >existing.crt
printf 'not a file\n' >afile
mkdir nodir-parent

F=tl_expect_fail
P='^pkjwt-keygen: '
$F "RSA 1024 refused" 2 "${P}r\.key: RSA keys shorter than 2048 bits are refused\$" \
  "$K" new --type rsa --bits 1024 --out r.key
$F "RSA 1000 refused" 2 "${P}r\.key: .*2048" \
  "$K" new --type rsa --bits 1000 --out r.key
$F "RSA 3000 refused" 2 "${P}r\.key: .*" \
  "$K" new --type rsa --bits 3000 --out r.key --cert r.crt
$F "curve P-192 refused" 2 "${P}r\.key: .*P-192" \
  "$K" new --curve P-192 --out r.key
$F "--bits with EC" 2 "${P}--bits: " "$K" new --bits 2048 --out r.key
$F "--curve with RSA" 2 "${P}--curve: " "$K" new --type rsa --curve P-256 --out r.key
$F "--type dsa" 2 "${P}--type: .*dsa" "$K" new --type dsa --out r.key
$F "--bits not a number" 2 "${P}--bits: " "$K" new --type rsa --bits lots --out r.key
$F "new without --out" 2 "${P}--out: " "$K" new
$F "new --out - (stdout)" 2 "${P}--out: .*never" "$K" new --out -
$F "--days 0" 2 "${P}--days: " "$K" new --out r.key --cert r.crt --days 0
$F "--days abc" 2 "${P}--days: " "$K" new --out r.key --cert r.crt --days abc
$F "--subject without --cert" 2 "${P}--subject: " "$K" new --out r.key --subject CN=x
$F "--kdf without a passphrase" 2 "${P}--kdf: " "$K" new --out r.key --kdf scrypt
$F "--kdf bogus" 2 "${P}--kdf: " "$K" new --out r.key --passphrase-file pass.txt --kdf md5
$F "bad subject" 2 "${P}--subject: .*no equals sign" "$K" new --out r.key --cert r.crt --subject "no equals sign"
$F "empty passphrase file" 3 "${P}empty\.txt: .*empty" \
  "$K" new --out r.key --passphrase-file empty.txt
$F "missing passphrase file" 3 "${P}nope\.txt: " \
  "$K" new --out r.key --passphrase-file nope.txt
$F "existing --out without --force" 3 "${P}existing\.key: .*exists" \
  "$K" new --out existing.key
tl_check "existing key: old content intact" grep -qx 'old content' existing.key
$F "existing --cert without --force: no key made" 3 "${P}existing\.crt: .*exists" \
  "$K" new --out fresh.key --cert existing.crt
$F "--out and --cert the same file" 2 "${P}same\.pem: " \
  "$K" new --out same.pem --cert same.pem
$F "cert --out existing without --force" 3 "${P}existing\.crt: .*exists" \
  "$K" cert --key ec.key --out existing.crt
$F "certificate folder missing: the key is removed again" 3 \
  "${P}nodir-parent/no/c\.crt: " \
  "$K" new --out k2.key --cert nodir-parent/no/c.crt
$F "key under a file (not a folder)" 3 "${P}afile/k\.key: " \
  "$K" new --out afile/k.key
$F "key folder missing" 3 "${P}nodir-parent/no/k\.key: " \
  "$K" new --out nodir-parent/no/k.key

# An unwritable folder. root writes anywhere, so as root the tool runs as
# nobody, from a copy nobody can reach (tl_unpriv_setup in tool-lib.sh).
mkdir ro rw
chmod 555 ro
chmod 777 rw
tl_unpriv_setup "$K"
unpriv=$?
if [ "$unpriv" = 0 ]; then
  TL_WATCH=ro
  # The certificate is written first, so it is the file the error names.
  $F "unwritable folder: nothing left" 3 "${P}ro/k\.crt: .*(ermission|denied)" \
    tl_unpriv new --out ro/k.key --cert ro/k.crt
  TL_WATCH=
  $F "unwritable folder for the cert: no key written" 3 \
    "${P}ro/c\.crt: " tl_unpriv new --out rw/k.key --cert ro/c.crt
  $F "unwritable folder for the key: the certificate is removed again" 3 \
    "${P}ro/k\.key: .*(ermission|denied)" \
    tl_unpriv new --out ro/k.key --cert rw/c.crt
  tl_check "unwritable folders are still empty" test -z "$(find ro rw -mindepth 1)"
elif [ "$unpriv" = 77 ]; then
  tl_skip "unwritable folders" "$TL_UNPRIV_WHY"
else
  tl_fail "unwritable folder: cannot run pkjwt-keygen unprivileged: $TL_UNPRIV_WHY"
fi
chmod 755 ro

$F "Ed25519 key to export" 3 "${P}ed25519\.key: .*Ed25519" \
  "$K" export --key ed25519.key --format jwk
$F "Ed25519 key to info" 3 "${P}ed25519\.key: .*Ed25519" \
  "$K" info --key ed25519.key
$F "Ed448 key to info" 3 "${P}ed448\.key: .*Ed448" "$K" info --key ed448.key
$F "RSA 1024 key to info" 3 "${P}rsa1024\.key: .*2048" "$K" info --key rsa1024.key
$F "RSA 1024 certificate to export" 3 "${P}rsa1024\.crt: .*2048" \
  "$K" export --cert rsa1024.crt --format jwk
$F "Ed25519 key to cert" 3 "${P}ed25519\.key: .*Ed25519" \
  "$K" cert --key ed25519.key --out ed.crt
$F "missing key file" 3 "${P}missing\.key: .*No such file" \
  "$K" info --key missing.key
$F "missing certificate file" 3 "${P}missing\.crt: .*No such file" \
  "$K" export --cert missing.crt --format base64-cert
$F "garbage key" 3 "${P}garbage\.key: " "$K" info --key garbage.key
$F "random bytes as key" 3 "${P}random\.key: " "$K" export --key random.key --format jwk
$F "garbage certificate" 3 "${P}garbage\.key: " \
  "$K" export --cert garbage.key --format base64-cert
$F "a key given as certificate" 3 "${P}ec\.key: " "$K" info --cert ec.key
printf 'QUJD\n' >abc.b64
$F "base64 of no certificate" 3 \
  "${P}abc\.b64: no certificate found \(expected X\.509 in PEM, DER or the one-line base64" \
  "$K" info --cert abc.b64
$F "wrong passphrase" 3 "${P}enc-scrypt\.key: .*passphrase" \
  "$K" info --key enc-scrypt.key --passphrase-file wrong.txt
$F "missing passphrase" 3 "${P}enc-scrypt\.key: .*passphrase" \
  "$K" export --key enc-scrypt.key --format jwk
$F "cert with wrong passphrase (PBKDF2)" 3 "${P}pbkdf2-fast\.key: .*passphrase" \
  "$K" cert --key pbkdf2-fast.key --passphrase-file wrong.txt --out c.crt
$F "cert of a public key" 3 "${P}ec-P-256\.jwk: .*private" \
  "$K" cert --key ec-P-256.jwk --out c.crt
$F "certificate not for the key" 3 "${P}rsa-2048\.crt: .*not for the key" \
  "$K" export --key ec-P-256.key --cert rsa-2048.crt --format jwk
$F "a key others can read, then a failure: only the error line" 3 \
  "${P}rsa-2048\.crt: .*not for the key" \
  "$K" export --key shared.key --cert rsa-2048.crt --format jwk
$F "export without --format" 2 "${P}--format: " "$K" export --key ec.key
$F "export --format bogus" 2 "${P}--format: .*bogus" \
  "$K" export --key ec.key --format bogus
$F "export without input" 2 "${P}--key: " "$K" export --format jwk
$F "base64-cert needs --cert" 2 "${P}--cert: " \
  "$K" export --key ec.key --format base64-cert
$F "jwk of two keys" 2 "${P}rsa-2048\.key: .*jwks" \
  "$K" export --key ec.key --key rsa-2048.key --format jwk
$F "--x5c without a certificate" 2 "${P}--x5c: " \
  "$K" export --key ec.key --format jwk --x5c
$F "--kid with public-pem" 2 "${P}--kid: " \
  "$K" export --key ec.key --format public-pem --kid x
$F "--kid with several keys" 2 "${P}--kid: " \
  "$K" export --key ec.key --key rsa-2048.key --format jwks --kid x
$F "--cert before --key in jwks" 2 "${P}ec-P-256\.crt: " \
  "$K" export --cert ec-P-256.crt --key ec-P-256.key --format jwks
$F "--alg that does not fit the key" 2 "${P}ec\.key: " \
  "$K" export --key ec.key --format jwk --alg RS256
$F "two inputs from stdin" 2 "${P}-: " \
  "$K" export --key - --passphrase-file - --format jwk
$F "info with --key and --cert" 2 "${P}--cert: " \
  "$K" info --key ec.key --cert ec.crt
$F "info without input" 2 "${P}--key: " "$K" info
$F "unknown option" 2 "${P}--frob: unknown option" "$K" new --frob --out r.key
$F "unknown option for this subcommand" 2 "${P}--json: unknown option" \
  "$K" export --key ec.key --format jwk --json
$F "option given twice" 2 "${P}--out: .*twice" "$K" new --out a --out b
$F "option without its value" 2 "${P}--out: .*value" "$K" new --out
$F "flag with a value" 2 "${P}--force: .*no value" "$K" new --out r.key --force=yes
$F "stray argument" 2 "${P}stray: unexpected" "$K" new --out r.key stray
$F "unknown subcommand" 2 "${P}frob: unknown subcommand" "$K" frob
$F "unknown top-level option" 2 "${P}--frob: unknown option" "$K" --frob
$F "no subcommand" 2 "${P}missing subcommand" "$K"
$F "help of an unknown subcommand" 2 "${P}frob: unknown subcommand" "$K" help frob
# Issue 7.4: an error a missing - can cause names the fix.
$F "cert without --key: says - reads standard input" 2 \
  "${P}--key: is required: .*- to read standard input" "$K" cert --out x.crt
$F "info without input: says - reads standard input" 2 \
  "${P}--key: .*- reads standard input" "$K" info
$F "export without input: says - reads standard input" 2 \
  "${P}--key: .*- to read standard input" "$K" export --format jwk
$F "--key without its value: says - reads standard input" 2 \
  "${P}--key: needs a value \(KEY, or - to read standard input\)" \
  "$K" info --key
$F "--format lists its values" 2 \
  "${P}--format: \"pem\" is not base64-cert, pem-cert, public-pem, jwk or jwks" \
  "$K" export --key ec.key --format pem

# A failed write to stdout: exit 1, one line, and the new files are removed.
rc=0
"$K" new --out full.key --cert full.crt --quiet >/dev/full 2>"$TL_PRIV/full-err" || rc=$?
tl_check "stdout write error: exit 1, one line, no files left" sh -c "
  test $rc = 1 && test \"\$(wc -l <'$TL_PRIV/full-err')\" = 1 &&
  test ! -e full.key && test ! -e full.crt"

# ---- the man page's EXAMPLES run as written -----------------------------------

mkdir "$TL_PRIV/bin" examples
ln -s "$K" "$TL_PRIV/bin/pkjwt-keygen"
cp pass.txt examples/pass.txt
"$K" new --out examples/old.key --quiet >/dev/null 2>&1
"$K" new --out examples/new.key --quiet >/dev/null 2>&1
sed -n '/^\.SH EXAMPLES/,/^\.SH /p' "$MAN" |
  sed -n '/^\.nf/,/^\.fi/p' | sed 's/\\-/-/g; s/\\e/\\/g' |
  awk '/^\.nf/ { n++; next } /^\.fi/ { next } { print > (dir "/example-" n) }' \
    dir="$TL_PRIV"
n_ex=0
for ex in "$TL_PRIV"/example-*; do
  n_ex=$((n_ex + 1))
  tl_expect_ok "man page example: $(head -n 1 "$ex")" sh -c \
    "cd examples && PATH='$TL_PRIV/bin':\"\$PATH\" && set -e && . '$ex'"
done
tl_check "the man page has examples ($n_ex)" test "$n_ex" -ge 4

# ---- keys-example: the committed files agree with each other ---------------

for n in ec-p256 rsa-3072; do
  tl_check "keys-example/$n: every file is there" sh -c \
    "for e in key crt b64 jwk; do test -s '$EX/$n.'\$e || exit 1; done"
  tl_check "keys-example/$n.b64 is the DER of $n.crt" \
    test "$(cat "$EX/$n.b64")" = "$(cert_b64 "$EX/$n.crt")"
  tl_check "keys-example/$n.b64 decodes to a certificate" sh -c \
    "base64 -d <'$EX/$n.b64' | '$OSSL' x509 -inform DER -noout"
  tl_check "keys-example/$n.jwk kid = jose jwk thp" \
    test "$(json_get "$EX/$n.jwk" kid)" = "$("$JOSE" jwk thp -i "$EX/$n.jwk" -a S256)"
  tl_check "keys-example/$n.jwk kid = jwcrypto thumbprint of $n.key" \
    test "$(json_get "$EX/$n.jwk" kid)" = "$(thp_of "$EX/$n.key")"
  tl_check "keys-example/$n.crt is for $n.key" test \
    "$("$OSSL" x509 -in "$EX/$n.crt" -noout -pubkey)" = \
    "$("$OSSL" pkey -in "$EX/$n.key" -pubout)"
  tl_check "keys-example/$n.crt valid for a year more at least" \
    "$OSSL" x509 -in "$EX/$n.crt" -noout -checkend $((365 * 86400))
  tl_check "keys-example/$n.crt says it is public" sh -c \
    "'$OSSL' x509 -in '$EX/$n.crt' -noout -subject | grep -q PUBLIC"
  "$K" export --key "$EX/$n.key" --format jwk >"$TL_PRIV/ex.jwk" 2>/dev/null
  tl_check "keys-example/$n.jwk = what the tool exports now" \
    cmp -s "$TL_PRIV/ex.jwk" "$EX/$n.jwk"
done
tl_check "keys-example/ec-p256 is EC P-256" test \
  "$(json_get "$EX/ec-p256.jwk" crv)" = P-256
tl_check "keys-example/rsa-3072 is RSA 3072" sh -c \
  "'$OSSL' pkey -in '$EX/rsa-3072.key' -noout -text | grep -q 'Private-Key: (3072 bit'"
tl_check "keys-example/README.md says the keys are public, never for real use" \
  sh -c "grep -q 'PUBLIC' '$EX/README.md' && grep -qi 'never use' '$EX/README.md'"

tl_end
