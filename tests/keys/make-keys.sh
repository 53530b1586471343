#!/bin/sh
# tests/keys/make-keys.sh: how the test-only keys in this folder were made
# (once, with the openssl CLI; see README.md here). Rerun it only to replace
# them: `sh tests/keys/make-keys.sh [openssl]` from anywhere. Keys that
# exist are kept.
#
# Files (the name tests/testutil.h's tu_key() maps a spec to):
#   rsa2048.pem rsa2048-2.pem rsa3072.pem rsa4096.pem
#   p-256.pem p-256-2.pem p-384.pem p-384-2.pem p-521.pem
#   p-CRV-x0.pem, p-CRV-y0.pem: an EC key whose x (or y) coordinate has
#     a leading zero byte, i.e. is shorter than the field: found by
#     generating keys until one turns up (tests/check_jwk.c, padding).
set -eu
openssl=${1:-openssl}
cd "$(dirname "$0")"

rsa() { # FILE BITS
  [ -f "$1" ] || "$openssl" genpkey -algorithm RSA \
    -pkeyopt "rsa_keygen_bits:$2" -out "$1" 2>/dev/null
}
ec() { # FILE CURVE
  [ -f "$1" ] || "$openssl" genpkey -algorithm EC \
    -pkeyopt "ec_paramgen_curve:$2" -out "$1"
}
rsa rsa2048.pem 2048
rsa rsa2048-2.pem 2048
rsa rsa3072.pem 3072
rsa rsa4096.pem 4096
for c in P-256 P-384 P-521; do
  ec "p-$(echo "$c" | cut -c3-).pem" "$c"
done
ec p-256-2.pem P-256
ec p-384-2.pem P-384

# first_byte HEX-POINT LEN WHICH: the first byte of x (WHICH=x) or y of an
# uncompressed point 04||x||y with coordinates of LEN bytes.
first_byte() {
  case $3 in
    x) echo "$1" | cut -c3-4 ;;
    y) echo "$1" | cut -c$((3 + 2 * $2))-$((4 + 2 * $2)) ;;
  esac
}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for cl in P-256:32 P-384:48 P-521:66; do
  c=${cl%:*} len=${cl#*:} n=$(echo "${cl%:*}" | cut -c3-)
  for w in x y; do
    f=p-$n-$w'0.pem'
    tries=0
    while [ ! -f "$f" ]; do
      tries=$((tries + 1))
      "$openssl" genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$c" \
        -out "$tmp"
      # the public point is the last 1 + 2*len bytes of the SPKI DER
      pt=$("$openssl" pkey -in "$tmp" -pubout -outform DER | od -An -v -tx1 |
        tr -d ' \n' | tail -c $((2 + 4 * len)))
      if [ "$(first_byte "$pt" "$len" "$w")" = 00 ]; then
        cp "$tmp" "$f"
        echo "$f: after $tries keys"
      fi
    done
  done
done
chmod 644 ./*.pem
