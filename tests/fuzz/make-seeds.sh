#!/bin/sh
# tests/fuzz/make-seeds.sh BUILDDIR: remake the committed seed corpora in
# tests/fuzz/corpus/ from the example keys, the openssl CLI and the built
# tools. Each seed is a small valid (or nearly valid) input, so the fuzzer
# starts past the first byte of each format. Run by hand; the seeds are
# committed so that `make check` replays the same files everywhere.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
b=$(cd "${1:?usage: make-seeds.sh BUILDDIR}" && pwd)
OPENSSL=${OPENSSL_CLI:-openssl}
C=$here/corpus
rm -rf "$C"
mkdir -p "$C/fuzz_key" "$C/fuzz_cert" "$C/fuzz_jwk" "$C/fuzz_verify" \
  "$C/fuzz_response" "$C/fuzz_cli_number" "$C/fuzz_manifest" \
  "$C/fuzz_discovery"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"

# keys: flag byte (bit 0 = passphrase) then the data
seed() { { printf "$1"; cat "$2"; } >"$C/fuzz_key/$3"; }
ec=$src/keys-example/ec-p256.key
rsa=$src/keys-example/rsa-3072.key
seed '\000' "$ec" ec-pkcs8.pem
seed '\000' "$rsa" rsa-pkcs8.pem
"$OPENSSL" pkey -in "$ec" -outform DER -out ec.der
seed '\000' ec.der ec-pkcs8.der
"$OPENSSL" ec -in "$ec" -out ec-sec1.pem 2>/dev/null
seed '\000' ec-sec1.pem ec-sec1.pem
"$OPENSSL" pkey -in "$ec" -pubout -out ec-pub.pem
seed '\000' ec-pub.pem ec-pub.pem
"$OPENSSL" pkey -in "$ec" -pubout -outform DER -out ec-pub.der
seed '\000' ec-pub.der ec-pub.der
"$OPENSSL" pkcs8 -topk8 -in "$ec" -v2 aes-256-cbc -iter 1 \
  -passout pass:pkjwt-fuzz -out ec-enc.pem
seed '\001' ec-enc.pem ec-pbkdf2.pem
"$OPENSSL" pkcs8 -topk8 -in "$ec" -scrypt -scrypt_N 16 -scrypt_r 1 \
  -scrypt_p 1 -passout pass:pkjwt-fuzz -outform DER -out ec-scrypt.der
seed '\001' ec-scrypt.der ec-scrypt.der
"$OPENSSL" ec -in "$ec" -aes256 -passout pass:pkjwt-fuzz -out ec-legacy.pem \
  2>/dev/null
seed '\001' ec-legacy.pem ec-legacy-enc.pem

# certificates
cp "$src/keys-example/ec-p256.crt" "$C/fuzz_cert/ec.pem"
cp "$src/keys-example/rsa-3072.crt" "$C/fuzz_cert/rsa.pem"
"$OPENSSL" x509 -in "$src/keys-example/ec-p256.crt" -outform DER \
  -out "$C/fuzz_cert/ec.der"
"$OPENSSL" base64 -A -in "$C/fuzz_cert/ec.der" -out "$C/fuzz_cert/ec.b64"

# JWKs
cp "$src/keys-example/ec-p256.jwk" "$C/fuzz_jwk/ec.json"
cp "$src/keys-example/rsa-3072.jwk" "$C/fuzz_jwk/rsa.json"
{ printf '{"keys":['; cat "$src/keys-example/ec-p256.jwk"; printf ']}'; } \
  >"$C/fuzz_jwk/jwks.json"
printf '{"kty":"EC","crv":"P-256","x":"","y":""}' >"$C/fuzz_jwk/empty-xy.json"

# assertions
for k in ec rsa; do
  f=$src/keys-example/$k-p256.key
  [ -f "$f" ] || f=$src/keys-example/rsa-3072.key
  "$b/tools/pkjwt-sign" --key "$f" --client-id c --aud https://127.0.0.1/t \
    --now 1700000000 >"$C/fuzz_verify/$k.jws"
done
"$b/tools/pkjwt-sign" --key "$rsa" --alg PS256 --client-id c \
  --aud https://127.0.0.1/t --nbf --now 1700000000 >"$C/fuzz_verify/ps256.jws"
printf 'eyJhbGciOiJub25lIn0.eyJpc3MiOiJjIn0.' >"$C/fuzz_verify/none.jws"

# token and check responses: status (2 bytes), judge byte, body
resp() { { printf "$1"; printf '%s' "$2"; } >"$C/fuzz_response/$3"; }
resp '\000\310\000' '{"access_token":"abc","token_type":"Bearer","expires_in":300,"scope":"a b"}' token-ok
resp '\000\310\000' '{"access_token":"abc","token_type":"Bearer","expires_in":"300"}' token-str
resp '\001\220\000' '{"error":"invalid_client","error_description":"bad \u001b[2J \u202e"}' oauth-400
resp '\001\055\000' '' redirect-301
resp '\001\367\000' '{"error":"temporarily_unavailable"}' http-503
resp '\000\310\001' '{"active":true,"client_id":"c"}' check-ok
resp '\001\221\001' '{"error":"invalid_token"}' check-401

# numbers
for v in 1 60 3600 0 -1 +5 ' 7' 9223372036854775807 -9223372036854775808 \
  99999999999999999999 12x ''; do
  printf '%s' "$v" >"$C/fuzz_cli_number/$(printf '%s' "$v" | od -An -tx1 |
    tr -d ' \n' | cut -c1-40)x"
done
# key-set manifests: fuzz_manifest's folder holds k.pem (kid below) and
# c.pem (its certificate, expires 2024-11-13T22:13:20Z)
kid=fOb_FnHh4CavOp0Mo1yWd-NJmw4L8fStm4ZfjW6PIhU
ent() { # kid key cert state [expires]
  printf '{"kid":"%s","key":"%s","cert":"%s","state":"%s",' "$1" "$2" "$3" "$4"
  printf '"created":"2023-11-14T22:13:20Z","expires":"%s"}' \
    "${5:-2024-11-13T22:13:20Z}"
}
man() { printf '{"version":1,"keys":[%s]}' "$1" >"$C/fuzz_manifest/$2"; }
man "$(ent $kid k.pem c.pem active)" active
man "$(ent $kid k.pem c.pem active),$(ent old-1 old.pem old.crt retired)" \
  active-retired
man "$(ent $kid k.pem c.pem next)" next-only
man "$(ent old-1 old.pem old.crt retired)" retired-only
man '' empty
man "$(ent $kid k.pem c.pem active),$(ent $kid k.pem c.pem previous)" dup-kid
man "$(ent $kid k.pem c.pem active),$(ent other k.pem c.pem active)" \
  two-active
man "$(ent other k.pem c.pem next)" wrong-kid
man "$(ent $kid ../k.pem c.pem active)" path-up
man "$(ent $kid k.pem c.pem active 2025-01-01T00:00:00Z)" wrong-expires
man "$(ent $kid k.pem c.pem active 2024-02-30T25:61:61Z)" bad-date
man "$(ent $kid k.pem c.pem spare)" bad-state
man '{"kid":"x","key":"k.pem"}' missing-members
printf '{"version":2,"keys":[]}' >"$C/fuzz_manifest/version-2"
printf '{"version":1,"keys":[],"keys":[]}' >"$C/fuzz_manifest/dup-member"
printf '[1,2]' >"$C/fuzz_manifest/array"
# metadata documents for the issuer https://op.example/t/ (and
# Cache-Control values, read from the same bytes)
disc() { printf '%s' "$1" >"$C/fuzz_discovery/$2"; }
disc '{"issuer":"https://op.example/t/","token_endpoint":"https://op.example/t/token","token_endpoint_auth_methods_supported":["private_key_jwt","client_secret_basic"],"token_endpoint_auth_signing_alg_values_supported":["RS256","PS256","ES256"]}' ok
disc '{"issuer":"https://op.example/t/","token_endpoint":"https://op.example/t/token","token_endpoint_auth_methods_supported":["private_key_jwt"]}' no-algs
disc '{"issuer":"https://op.example/t","token_endpoint":"https://op.example/t/token","token_endpoint_auth_methods_supported":["private_key_jwt"]}' issuer-no-slash
disc '{"issuer":"https://op.example/t/","token_endpoint_auth_methods_supported":["private_key_jwt"]}' no-token-endpoint
disc '{"issuer":"https://op.example/t/","token_endpoint":"http://evil.example/token","token_endpoint_auth_methods_supported":["private_key_jwt"]}' insecure
disc '{"issuer":"https://op.example/t/","token_endpoint":"https://op.example/t/token","token_endpoint_auth_methods_supported":["client_secret_basic"],"token_endpoint_auth_signing_alg_values_supported":["‮RS256"]}' no-pkjwt
disc 'max-age=3600, public' cache-control
disc 'no-store' no-store
# found by fuzz_discovery (2026-12-03): an age past 10^9 was not capped
disc 'max-age=1000000009' max-age-overflow

echo "seeds in $C: $(find "$C" -type f | wc -l)"
