#!/bin/sh
# tests/docs.sh: the library man page names every function either shared
# library exports, and every man page renders without groff warnings.
# Without groff the rendering cannot be judged: the test then fails if a
# name is missing and is otherwise SKIPPED (exit 77), never passed.
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
GROFF=${GROFF:-groff}
if ! command -v "$GROFF" >/dev/null 2>&1; then
  [ $fail -eq 0 ] || exit 1
  echo "SKIP: $GROFF not found: man pages not rendered ($n names checked)"
  exit 77
fi
for m in "$src"/docs/*.[1-8]; do
  warn=$("$GROFF" -man -Tutf8 -ww -z "$m" 2>&1)
  [ -z "$warn" ] || { echo "FAIL: $m: $warn"; fail=1; }
done
[ $fail -eq 0 ] && echo "ok: $n exported functions documented; man pages render"
exit $fail
