#!/bin/sh
# scripts/setup.sh: the README's two set-up commands, on a fresh Debian 12
# machine, as root, from a clean clone.
#
#   sh scripts/setup.sh demo   install, build, run the main job (scripts/demo.sh)
#   sh scripts/setup.sh test   install, build, run every test: make check,
#                              make distcheck, the suite under ASan+UBSan, the
#                              unit suites under valgrind, the concurrency
#                              tests under TSan; ends with one line
#                              "N passed, N failed".
set -eu

mode=${1:-}
case "$mode" in
  demo|test) ;;
  *) echo "usage: sh scripts/setup.sh demo|test" >&2; exit 2 ;;
esac

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)

# ---- dependencies, from Debian's packages only -------------------------------
PKGS="build-essential autoconf automake libtool pkg-config
  libssl-dev libjansson-dev libcurl4-openssl-dev libjwt-dev check
  openssl ca-certificates curl python3 python3-jwcrypto python3-jwt jose
  binutils valgrind man-db"
missing=
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
    missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "== installing:$missing"
  SUDO=
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    --no-install-recommends $missing >/dev/null
fi

# ---- build -------------------------------------------------------------------
echo "== autoreconf"
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
build=$top/_build
mkdir -p "$build"
cd "$build"
echo "== configure (in _build/)"
"$top/configure" -q --enable-werror PYTHON3=/usr/bin/python3
echo "== make"
make -s -j"$jobs" >/dev/null

if [ "$mode" = demo ]; then
  exec sh "$top/scripts/demo.sh" "$build"
fi

# ---- tests -------------------------------------------------------------------
passed=0; failed=0
# Add the PASS/XFAIL and FAIL/ERROR/XPASS counts of a finished run's log.
tally() {
  log=$1/test-suite.log
  if [ ! -f "$log" ]; then failed=$((failed + 1)); return; fi
  p=$(sed -n 's/^# PASS: *\([0-9]*\).*/\1/p' "$log" | head -1)
  x=$(sed -n 's/^# XFAIL: *\([0-9]*\).*/\1/p' "$log" | head -1)
  f=$(sed -n 's/^# FAIL: *\([0-9]*\).*/\1/p' "$log" | head -1)
  e=$(sed -n 's/^# ERROR: *\([0-9]*\).*/\1/p' "$log" | head -1)
  xp=$(sed -n 's/^# XPASS: *\([0-9]*\).*/\1/p' "$log" | head -1)
  passed=$((passed + ${p:-0} + ${x:-0}))
  failed=$((failed + ${f:-0} + ${e:-0} + ${xp:-0}))
}
# Print the logs of failed tests so CI shows why.
show_failures() {
  for t in $(find "$1" -name '*.trs' -print 2>/dev/null); do
    if grep -q '^:test-result: \(FAIL\|ERROR\|XPASS\)' "$t"; then
      echo "---- ${t%.trs}.log"
      tail -n 40 "${t%.trs}.log"
    fi
  done
}
stage() { echo; echo "== $*"; }

stage "make check"
make -j"$jobs" check || true
tally "$build"; show_failures "$build"

stage "make distcheck"
if make -j"$jobs" distcheck DISTCHECK_CONFIGURE_FLAGS="--enable-werror PYTHON3=/usr/bin/python3" \
    > "$build/distcheck.out" 2>&1; then
  passed=$((passed + 1)); tail -n 4 "$build/distcheck.out"
else
  failed=$((failed + 1)); tail -n 60 "$build/distcheck.out"
fi

stage "make check under ASan+UBSan"
asan=$top/_build-asan
mkdir -p "$asan"; cd "$asan"
"$top/configure" -q --enable-werror --enable-sanitizers=address,undefined \
  PYTHON3=/usr/bin/python3
make -s -j"$jobs" >/dev/null
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  make -j"$jobs" check || true
tally "$asan"; show_failures "$asan"

stage "unit suites under valgrind"
cd "$build"
make -j"$jobs" check TESTS="$(make -s print-valgrind-tests)" \
  LOG_COMPILER="valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite" || true
tally "$build"; show_failures "$build"

stage "concurrency tests under TSan"
tsan=$top/_build-tsan
mkdir -p "$tsan"; cd "$tsan"
"$top/configure" -q --enable-werror --enable-sanitizers=thread \
  PYTHON3=/usr/bin/python3
make -s -j"$jobs" >/dev/null
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  make -j"$jobs" check TESTS="$(cd "$build" && make -s print-thread-tests)" || true
tally "$tsan"; show_failures "$tsan"

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
