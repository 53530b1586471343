#!/bin/sh
# tests/pkcs11-setup.sh DIR: a SoftHSM2 token in DIR for the PKCS#11 tests
# (tests/check_pkcs11.c, tests/pkcs11.sh, tests/bench_pkcs11.c), made with
# softhsm2-util and pkcs11-tool (opensc), nothing outside DIR touched.
# Prints the module's path on stdout; exits 77 when SoftHSM2 or opensc is
# missing (the caller skips), 99 when setting up fails.
#
# DIR/softhsm2.conf  export SOFTHSM2_CONF=DIR/softhsm2.conf before use
# DIR/pin            the user PIN ("1234"), DIR/bad-pin a wrong one
# token "pkjwt-test", user PIN 1234, keys (label, CKA_ID):
#   ec256 01, ec384 02, ec521 03, rsa2048 04    ordinary signing keys
#   twin 05, twin 06                            two keys with one label
#   nosign 07                                   CKA_SIGN false (EC P-256)
set -u
dir=$1
mod=
for m in /usr/lib/softhsm/libsofthsm2.so \
  /usr/lib/*-linux-gnu/softhsm/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
  [ -f "$m" ] && { mod=$m; break; }
done
[ -n "$mod" ] || { echo "no SoftHSM2 module (Debian: softhsm2)" >&2; exit 77; }
command -v softhsm2-util >/dev/null 2>&1 ||
  { echo "no softhsm2-util (Debian: softhsm2)" >&2; exit 77; }
command -v pkcs11-tool >/dev/null 2>&1 ||
  { echo "no pkcs11-tool (Debian: opensc)" >&2; exit 77; }

mkdir -p "$dir/tokens" || exit 99
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' \
  "$dir" > "$dir/softhsm2.conf" || exit 99
SOFTHSM2_CONF=$dir/softhsm2.conf
export SOFTHSM2_CONF
printf '1234\n' > "$dir/pin" && printf '9999\n' > "$dir/bad-pin" || exit 99
chmod 600 "$dir/pin" "$dir/bad-pin"

softhsm2-util --init-token --free --label pkjwt-test --pin 1234 \
  --so-pin 12345678 >/dev/null || exit 99

gen() { # label id type
  pkcs11-tool --module "$mod" --token-label pkjwt-test --login --pin 1234 \
    --keypairgen --key-type "$3" --label "$1" --id "$2" --usage-sign \
    >/dev/null 2>"$dir/gen.err" || { cat "$dir/gen.err" >&2; exit 99; }
}
gen ec256 01 EC:prime256v1
gen ec384 02 EC:secp384r1
gen ec521 03 EC:secp521r1
gen rsa2048 04 rsa:2048
gen twin 05 EC:prime256v1
gen twin 06 EC:prime256v1
gen nosign 07 EC:prime256v1
# pkcs11-tool always lets a private key sign; the helper turns it off.
if [ -x "${top_builddir:-.}/tests/p11_nosign" ]; then
  "${top_builddir:-.}/tests/p11_nosign" "$mod" pkjwt-test 1234 nosign ||
    exit 99
  : > "$dir/nosign-set"
fi
rm -f "$dir/gen.err"
echo "$mod"
