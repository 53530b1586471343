#!/bin/sh
# tests/fuzz-replay.sh: every fuzz target replays its committed seed corpus
# (tests/fuzz/corpus/<target>/): through tests/fuzz/driver.c in a plain
# build, with libFuzzer's -runs=0 in an --enable-fuzzing build. A target
# that crashes, aborts on an invariant or leaks (under ASan) fails; an
# empty corpus fails too, since it would replay nothing.
set -u
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$(pwd)}
: "${FUZZ_TARGETS:?FUZZ_TARGETS not set (run through make check)}"
pass=0
fail=0
for t in $FUZZ_TARGETS; do
  n=$(basename "$t")
  dir=$srcdir/tests/fuzz/corpus/$n
  count=$(find "$dir" -type f 2>/dev/null | wc -l)
  if [ "$count" -eq 0 ]; then
    echo "not ok - $n: no seeds in $dir"
    fail=$((fail + 1))
    continue
  fi
  if [ "${PKJWT_FUZZING:-}" = yes ]; then
    "$builddir/$t" -runs=0 "$dir" >"$n.replay.log" 2>&1
  else
    "$builddir/$t" "$dir" >"$n.replay.log" 2>&1
  fi
  rc=$?
  if [ "$rc" -eq 0 ]; then
    echo "ok - $n: $count seeds"
    pass=$((pass + 1))
  else
    echo "not ok - $n: exit $rc"
    tail -n 20 "$n.replay.log" | sed 's/^/#   /'
    fail=$((fail + 1))
  fi
  rm -f "$n.replay.log"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
