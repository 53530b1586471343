#!/bin/sh
# tests/hostile-tools.sh: the rows of docs/security.md's bad-input matrix
# that are judged at the tools (issue 12). Each case must exit non-zero
# with one line on stderr naming the input, nothing on stdout and no file
# made, removed or changed in the folder (tl_expect_fail checks all four).
# The hostile files are made here by the openssl CLI and sh; the costly key
# file is written by `openssl asn1parse -genconf`, so no key derivation
# runs (with the limit gone, this test would wait minutes and fail).
# shellcheck disable=SC2016
. "${top_srcdir:-.}/tests/tool-lib.sh"

tl_tools
SIGN=$TL_SIGN
KEYGEN=$TL_KEYGEN
TOKEN=$TL_TOKEN
EX=${top_srcdir:-.}/keys-example
OPENSSL=${OPENSSL_CLI:-openssl}
[ -n "$OPENSSL" ] || OPENSSL=openssl

tl_begin
cd "$TL_DIR" || exit 99
tl_have "$OPENSSL" || { echo "SKIP: no openssl CLI"; exit 77; }

# inputs, made before any case so that the folder is watched as it is
cp "$EX/ec-p256.key" k.pem
cp "$EX/rsa-3072.key" rsa.pem
chmod 600 k.pem rsa.pem
"$OPENSSL" pkey -in k.pem -pubout -out pub.pem
: >empty.pem
head -c 200 k.pem >trunc.pem
sed '3s/./@/' k.pem >corrupt.pem
printf '\000\001\002\377\376binary\033[2J' >binary.bin
head -c 3000000 /dev/zero | tr '\000' 'A' >big.pem
mkdir folder
printf '%s\n' "pkjwt-pass" >pass
"$OPENSSL" pkcs8 -topk8 -in k.pem -v2 aes-256-cbc -iter 1 \
  -passout file:pass -out enc.pem
printf '%s\n' "wrong" >wrongpass
# PBKDF2 with 2^31-1 iterations: 17 minutes of work before the limit
cat >gen.cnf <<'EOF'
asn1=SEQUENCE:epki
[epki]
alg=SEQUENCE:algid
data=FORMAT:HEX,OCTETSTRING:00112233445566778899aabbccddeeff
[algid]
oid=OID:1.2.840.113549.1.5.13
params=SEQUENCE:pbes2
[pbes2]
kdf=SEQUENCE:kdf
enc=SEQUENCE:enc
[kdf]
oid=OID:1.2.840.113549.1.5.12
p=SEQUENCE:pbkdf2
[pbkdf2]
salt=FORMAT:HEX,OCTETSTRING:0011223344556677
iter=INTEGER:2147483647
[enc]
oid=OID:2.16.840.1.101.3.4.1.42
iv=FORMAT:HEX,OCTETSTRING:00112233445566778899aabbccddeeff
EOF
"$OPENSSL" asn1parse -genconf gen.cnf -out slow.der -noout >/dev/null
# JWKs: private members are dropped, so a private JWK is still a public key;
# nesting 3000 deep, and 3000 arrays deep
printf '%s' '{"kty":"EC","crv":"P-256","x":"AA","y":"AA","kty":"RSA"}' >dup.jwk
awk 'BEGIN{for(i=0;i<3000;i++)printf "{\"a\":";printf "1";for(i=0;i<3000;i++)printf "}"}' >deep.jwk
awk 'BEGIN{for(i=0;i<3000;i++)printf "[";for(i=0;i<3000;i++)printf "]"}' >deeparr.jwk
rm -f gen.cnf

S="--client-id c --aud https://127.0.0.1/t"
# ---- key files ----
tl_expect_fail "empty key file" 3 '^pkjwt-sign: empty.pem: ' "$SIGN" --key empty.pem $S
tl_expect_fail "truncated key file" 3 '^pkjwt-sign: trunc.pem: ' "$SIGN" --key trunc.pem $S
tl_expect_fail "corrupt key file" 3 '^pkjwt-sign: corrupt.pem: ' "$SIGN" --key corrupt.pem $S
tl_expect_fail "binary key file" 3 '^pkjwt-sign: binary.bin: ' "$SIGN" --key binary.bin $S
tl_expect_fail "3 MB key file" 3 '^pkjwt-sign: big.pem: .*larger than' "$SIGN" --key big.pem $S
tl_expect_fail "a folder as key" 3 '^pkjwt-sign: folder: .*folder' "$SIGN" --key folder $S
tl_expect_fail "missing key file" 3 '^pkjwt-sign: missing.pem: ' "$SIGN" --key missing.pem $S
tl_expect_fail "public key where private is needed" 3 'private key' "$SIGN" --key pub.pem $S
tl_expect_fail "encrypted, no passphrase" 3 'no passphrase' "$SIGN" --key enc.pem $S
tl_expect_fail "encrypted, wrong passphrase" 3 'wrong passphrase' "$SIGN" --key enc.pem --passphrase-file wrongpass $S
tl_expect_fail "a certificate that is not the key's" 3 'not for this key' "$SIGN" --key k.pem --cert "$EX/rsa-3072.crt" $S
start=$(date +%s)
tl_expect_fail "PBKDF2 over the limit: refused at once" 3 'iterations.*limit.*openssl pkcs8' "$SIGN" --key slow.der --passphrase-file pass $S
[ $(($(date +%s) - start)) -le 3 ] && tl_pass "PBKDF2 limit: in seconds, not minutes" ||
  tl_fail "PBKDF2 limit: in seconds, not minutes"
# ---- JWKs ----
tl_expect_fail "JWK with a duplicate member" 3 'deep.jwk|dup.jwk: .*(duplicate|JSON)' "$KEYGEN" info --key dup.jwk
tl_expect_fail "JWK nested 3000 deep" 3 '^pkjwt-keygen: deep.jwk: ' "$KEYGEN" info --key deep.jwk
tl_expect_fail "JSON arrays 3000 deep" 3 '^pkjwt-keygen: deeparr.jwk: ' "$KEYGEN" info --key deeparr.jwk
# ---- options ----
tl_expect_fail "lifetime 0" 2 'lifetime' "$SIGN" --key k.pem $S --lifetime 0
tl_expect_fail "lifetime past a long" 2 'lifetime' "$SIGN" --key k.pem $S --lifetime 99999999999999999999
tl_expect_fail "timeout 0" 2 'timeout' "$TOKEN" --key k.pem --client-id c --scope s --timeout 0
tl_expect_fail "retries 11" 2 'retries' "$TOKEN" --key k.pem --client-id c --scope s --retries 11
tl_expect_fail "days 0" 2 'days' "$KEYGEN" cert --key k.pem --out c.crt --days 0
esc=$(printf 'a\033]0;pwned\007b')
tl_expect_fail "control characters in the client id (sign)" 2 'client_id holds a control character' "$SIGN" --key k.pem --client-id "$esc" --aud https://127.0.0.1/t
tl_expect_fail "control characters in the client id (token)" 2 'client id holds a control character' "$TOKEN" --key k.pem --client-id "$esc" --scope s --base-url http://127.0.0.1:9
nl=$(printf 's\nx')
tl_expect_fail "a newline in the scope" 2 'scope holds a control character' "$TOKEN" --key k.pem --client-id c --scope "$nl" --base-url http://127.0.0.1:9
tl_expect_fail "unwritable output path" 3 'nonexistent' "$KEYGEN" new --out /nonexistent/dir/k.pem
tl_end
