#!/bin/sh
# tests/function-length.sh: no function in lib/ or tools/ is over 100 lines
# unless the comment just above it says why, with the words "Long because"
# (issue 8: a function that long is usually two concepts in one).
#
# A function is a line at column 0 that ends in ") {" up to the next line
# that is "}" alone (the project's clang-format style). The self-check at
# the end feeds a made-up 101-line function and expects a finding, so the
# test cannot pass by finding nothing.
set -u
srcdir=${top_srcdir:-.}
PY=${PYTHON3:-python3}
command -v "$PY" >/dev/null 2>&1 || { echo "SKIP: python3 not found"; exit 77; }

scan='
import re, sys
bad = 0
for f in sys.argv[1:]:
    lines = open(f, encoding="utf-8").read().split("\n")
    start = None
    for i, l in enumerate(lines):
        if start is None and re.match(r"^[A-Za-z_].*\)\s*\{\s*$", l):
            start = i
        elif start is not None and l == "}":
            n = i - start + 1
            above = "\n".join(lines[max(0, start - 15):start])
            if n > 100 and "Long because" not in above:
                print("%s:%d: %d lines: %s" % (f, start + 1, n, lines[start]))
                bad += 1
            start = None
sys.exit(1 if bad else 0)
'
# shellcheck disable=SC2046 # the file list, one word each
if out=$("$PY" -c "$scan" $(ls "$srcdir"/lib/*.c "$srcdir"/tools/*.c)); then
  echo "ok 1 - no function in lib/ or tools/ over 100 lines without a reason"
  rc=0
else
  printf '%s\n' "$out" | sed 's/^/# /'
  echo "not ok 1 - functions over 100 lines with no \"Long because\" comment"
  rc=1
fi

tmp=$(mktemp "${TMPDIR:-/tmp}/pkjwt-fnlen.XXXXXX.c")
trap 'rm -f "$tmp"' EXIT
{ echo "int f(void) {"; i=0; while [ $i -lt 100 ]; do echo "  x();"; i=$((i + 1)); done; echo "}"; } >"$tmp"
if "$PY" -c "$scan" "$tmp" >/dev/null; then
  echo "not ok 2 - self-check: a 102-line function was not found"
  rc=1
else
  echo "ok 2 - self-check: a 102-line function is found"
fi
echo "1..2"
exit $rc
