#!/bin/sh
# tests/exports.sh: each shared library exports pkjwt_* and nothing else;
# the two export lists do not overlap, and together they are exactly the
# functions the public headers declare with PKJWT_EXPORT.
set -u
build=${top_builddir:-.}; src=${top_srcdir:-.}
command -v nm >/dev/null 2>&1 || { echo "SKIP: no nm"; exit 77; }
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

exports() { # lib -> sorted defined dynamic symbols (no ABS markers)
  nm -D --defined-only "$1" | awk '$2 ~ /^[A-Z]$/ && $2 != "A" {print $3}' |
    grep -v '^_\(init\|fini\|edata\|end\|_bss_start\)$' | sort -u
}

total=0
for name in libpkjwt libpkjwt-client; do
  lib=$build/.libs/$name.so
  [ -f "$lib" ] || fail "$lib not built"
  exports "$lib" > "$tmp/$name"
  bad=$(grep -v '^pkjwt_[a-z0-9]' "$tmp/$name" || true)
  [ -z "$bad" ] || fail "$name exports symbols outside pkjwt_*: $(echo $bad)"
  total=$((total + $(grep -c . "$tmp/$name")))
done
for must in pkjwt_strerror pkjwt_error_init pkjwt_str_free pkjwt_version \
    pkjwt_key_load_file pkjwt_assertion_sign; do
  grep -qx "$must" "$tmp/libpkjwt" || fail "$must not exported by libpkjwt"
done
for must in pkjwt_client_new pkjwt_client_get_token pkjwt_token_free; do
  grep -qx "$must" "$tmp/libpkjwt-client" ||
    fail "$must not exported by libpkjwt-client"
done
both=$(comm -12 "$tmp/libpkjwt" "$tmp/libpkjwt-client")
[ -z "$both" ] || fail "exported by both libraries: $(echo $both)"

# Every PKJWT_EXPORT prototype in the headers, and nothing else.
cat "$src"/include/pkjwt/*.h | tr '\n' ' ' | grep -o 'PKJWT_EXPORT [^;#]*;' |
  sed 's/(.*//' | grep -o 'pkjwt_[a-z0-9_]*$' | sort -u > "$tmp/declared"
[ -s "$tmp/declared" ] || fail "no PKJWT_EXPORT found in the headers"
sort -u "$tmp/libpkjwt" "$tmp/libpkjwt-client" > "$tmp/exported"
missing=$(comm -23 "$tmp/declared" "$tmp/exported")
extra=$(comm -13 "$tmp/declared" "$tmp/exported")
[ -z "$missing" ] || fail "declared but exported by neither library: $(echo $missing)"
[ -z "$extra" ] || fail "exported but declared in no header: $(echo $extra)"
echo "ok: $total symbols, all pkjwt_*, each in one library, as the headers declare"
