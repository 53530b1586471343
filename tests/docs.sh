#!/bin/sh
# tests/docs.sh: the library man page names every function either shared
# library exports, and every man page renders without groff warnings.
set -u
src=${top_srcdir:-.}; build=${top_builddir:-.}
page=$src/docs/libpkjwt.3
for lib in "$build/.libs/libpkjwt.so" "$build/.libs/libpkjwt-client.so"; do
  [ -f "$lib" ] || { echo "FAIL: $lib not built"; exit 1; }
done
fail=0; n=0
for sym in $(nm -D --defined-only "$build/.libs/libpkjwt.so" \
    "$build/.libs/libpkjwt-client.so" | awk '$2 == "T" {print $3}' | grep '^pkjwt_'); do
  n=$((n + 1))
  grep -q "\\b$sym\\b" "$page" || { echo "FAIL: $sym is not in docs/libpkjwt.3"; fail=1; }
done
[ "$n" -gt 0 ] || { echo "FAIL: no exported functions found"; exit 1; }
for m in "$src"/docs/*.[1-8]; do
  if command -v groff >/dev/null 2>&1; then
    warn=$(groff -man -Tutf8 -ww -z "$m" 2>&1)
    [ -z "$warn" ] || { echo "FAIL: $m: $warn"; fail=1; }
  fi
done
[ $fail -eq 0 ] && echo "ok: $n exported functions documented; man pages render"
exit $fail
