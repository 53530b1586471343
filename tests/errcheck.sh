#!/bin/sh
# tests/errcheck.sh: every public function that takes a pkjwt_error checks
# its version on entry. Three lists must agree: the functions the headers
# declare with a pkjwt_error * parameter, the functions
# tests/check_base.c calls with an unknown version (its err_takers table and
# its CALL() lines), and the lib/ definitions, each of which must contain
# PKJWT__ERROR_BEGIN(err) or PKJWT__ERROR_CHECK(err).
set -u
src=${top_srcdir:-.}
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cat "$src"/include/pkjwt/*.h | tr '\n' ' ' | grep -o 'PKJWT_EXPORT [^;#]*;' |
  grep 'pkjwt_error \*' | sed 's/(.*//' | grep -o 'pkjwt_[a-z0-9_]*$' |
  grep -vx 'pkjwt_error_init' | sort -u > "$tmp/declared"
[ -s "$tmp/declared" ] || fail "found no function taking pkjwt_error in the headers"

t=$src/tests/check_base.c
sed -n '/err_takers\[\] = {/,/};/p' "$t" | grep -o '"pkjwt_[a-z0-9_]*"' |
  tr -d '"' | sort -u > "$tmp/table"
grep -o 'CALL(pkjwt_[a-z0-9_]*' "$t" | sed 's/CALL(//' | sort -u > "$tmp/calls"
for l in table calls; do
  d=$(comm -3 "$tmp/declared" "$tmp/$l" | tr -d '\t')
  [ -z "$d" ] || fail "check_base.c's $l and the headers differ on: $(echo $d)"
done

# Definitions in lib/: signature lines up to '{', then the body up to '}'.
for f in "$src"/lib/*.c; do
  awk -v file="${f##*/}" '
    !inbody && /^[a-z].*[ *]pkjwt_[a-z0-9][a-z0-9_]*\(/ { sig = $0; insig = 1 }
    insig && !/^[a-z]/ { sig = sig $0 }
    insig && /\{ *$/ {
      insig = 0
      if (sig ~ /pkjwt_error \*err/ && sig !~ /pkjwt_error_init\(/) {
        name = sig; sub(/\(.*/, "", name); sub(/.*[ *]/, "", name)
        inbody = 1; ok = 0
      }
      next
    }
    inbody && /PKJWT__ERROR_(BEGIN|CHECK)\(err\)/ { ok = 1 }
    inbody && /^}/ {
      inbody = 0
      if (!ok) print file ": " name
      else print "ok " name > "/dev/stderr"
    }
  ' "$f"
done 2> "$tmp/checked" > "$tmp/missing"
[ -s "$tmp/missing" ] && fail "no PKJWT__ERROR_BEGIN(err) in: $(cat "$tmp/missing" | tr '\n' ' ')"
sed 's/^ok //' "$tmp/checked" | sort -u > "$tmp/defined"
d=$(comm -23 "$tmp/declared" "$tmp/defined")
[ -z "$d" ] || fail "declared but no checked definition found in lib/: $(echo $d)"
echo "ok: $(grep -c . "$tmp/declared") functions take a pkjwt_error; each checks its version, each is tested"
