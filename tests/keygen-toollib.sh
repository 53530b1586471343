#!/bin/sh
# tests/keygen-toollib.sh: tests/tool-lib.sh catches what it claims to catch.
# Each broken command below must be counted as a failure by tl_expect_fail;
# the good ones as passes. (A checker that cannot fail proves nothing.)
set -u
: "${top_srcdir:=.}"
. "$top_srcdir/tests/tool-lib.sh"
tl_begin
cd "$TL_DIR" || exit 99

# Run one tl_expect_fail in a subshell and report whether it counted a pass.
# Prints "pass" or "fail".
verdict() {
  (
    tl_passed=0 tl_failed=0
    tl_expect_fail "$@" >/dev/null
    [ "$tl_failed" -eq 0 ] && echo pass || echo fail
  )
}
good='echo "tool: f.key: bad key" >&2; exit 3'

tl_check "a proper failure passes" \
  test "$(verdict x 3 '^tool: f\.key: bad key$' sh -c "$good")" = pass
tl_check "wrong exit status is caught" \
  test "$(verdict x 2 '^tool: f\.key: bad key$' sh -c "$good")" = fail
tl_check "exit 0 is caught" \
  test "$(verdict x 3 'bad' sh -c 'echo "tool: x: bad" >&2')" = fail
tl_check "output on stdout is caught" \
  test "$(verdict x 3 'bad' sh -c "echo leak; $good")" = fail
tl_check "two stderr lines are caught" \
  test "$(verdict x 3 'bad' sh -c "echo 'tool: warning' >&2; $good")" = fail
tl_check "no stderr line is caught" \
  test "$(verdict x 3 '.*' sh -c 'exit 3')" = fail
tl_check "a message that does not match is caught" \
  test "$(verdict x 3 '^tool: g\.key: ' sh -c "$good")" = fail
tl_check "a file left behind is caught" \
  test "$(verdict x 3 'bad' sh -c ": >left.tmp; $good")" = fail
rm -f left.tmp
echo old >kept.txt
tl_check "a file changed in place is caught" \
  test "$(verdict x 3 'bad' sh -c "echo new >kept.txt; $good")" = fail
echo old >kept.txt
tl_check "a file removed is caught" \
  test "$(verdict x 3 'bad' sh -c "rm kept.txt; $good")" = fail
echo old >kept.txt
mkdir watched
TL_WATCH=watched
tl_check "TL_WATCH: files outside it do not count" \
  test "$(verdict x 3 'bad' sh -c ": >outside.tmp; $good")" = pass
tl_check "TL_WATCH: files inside it do" \
  test "$(verdict x 3 'bad' sh -c ": >watched/in.tmp; $good")" = fail
TL_WATCH=

# tl_end: exit status and the tally line.
out=$( (tl_passed=2 tl_failed=1; tl_end) ); rc=$?
tl_check "tl_end with a failure exits non-zero" test "$rc" -ne 0
tl_check "tl_end prints the tally" test "$out" = "2 passed, 1 failed"
( (tl_passed=0 tl_failed=0; tl_end) >/dev/null ); rc=$?
tl_check "tl_end with nothing run exits non-zero" test "$rc" -ne 0
( (tl_passed=3 tl_failed=0; tl_end) >/dev/null ); rc=$?
tl_check "tl_end all passed exits 0" test "$rc" -eq 0
# tl_skip: counted apart, never as a pass.
out=$( (tl_skip "x" "no judge" >/dev/null; tl_passed=0 tl_failed=0; tl_end) ); rc=$?
tl_check "tl_end with only skips exits non-zero" test "$rc" -ne 0
tl_check "tl_end counts skips" test "$out" = "0 passed, 0 failed, 1 skipped"

tl_end
