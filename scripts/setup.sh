#!/bin/sh
# scripts/setup.sh: the README's two set-up commands, on Debian 12, from a
# clone anywhere (/root, /home/x, /tmp, a path with a space), as root or as a
# user with sudo (used only for apt-get, make install and ldconfig).
#
#   sh scripts/setup.sh demo   install the Debian packages it needs, build in
#                              _build/, run the main job (scripts/demo.sh),
#                              then install pkjwt to /usr/local (make install,
#                              ldconfig): the tools, man pages, the library
#                              and pkjwt.pc.
#   sh scripts/setup.sh test   install the packages, build, run every test
#                              stage below; end with one line
#                              "N passed, N failed" (", N skipped" when tests
#                              were skipped) and exit non-zero on a failure.
#
# Test stages, one function each (stage_NAME), run in two lanes at once
# (LANE1 and LANE2 below), after _build/ is configured and the release
# tarball made:
#   build      the plain -Werror build in _build/ (one result).
#   distcheck  make distcheck built with ASan+UBSan: the whole `make check`
#              under the sanitizers in an unpacked tarball with a read-only
#              source tree, then install, uninstall, dist and distclean
#              checks (static archives included).
#   valgrind   the plain build's unit suites under valgrind (memcheck).
#   tsan       the concurrency tests under TSan (only they are built).
#   nomem      CI only: the allocation-failure sweeps (make check-nomem,
#              tests/check_nomem.c) under ASan+UBSan in _build-nomem/
#              (only that program is built).
#   fuzz       CI only: every fuzz target under libFuzzer (clang,
#              ASan+UBSan) for FUZZ_SECONDS=60 each (make fuzz in
#              _build-fuzz/); one result per target.
# nomem and fuzz run when PKJWT_DEBIAN=1 is set, as .ci/run does; the
# README's plain `sh scripts/setup.sh test` skips them (`make check` still
# replays the fuzz seeds). Measured 2026-12-03 on the shared 2-core machine:
# nomem 277-317 s wall (load 4-8) for make -j2 check-nomem (every N of
# every operation, libcurl's and libjwt's allocations included; the two
# forked sweeps, RSA generation and the scrypt write, run beside the rest)
# after its ASan build of lib/ and one program; fuzz 8 targets x 60 s after
# its clang build (a test run with PKJWT_FUZZ_SECONDS=3: 61 s, cpu 27 s).
#
# The decision (issue 7, "the test command is faster"): the suite used to
# run twice in full, plainly inside distcheck and again in an ASan+UBSan
# build (an "asan" stage). Both ran every test under the same judges; the
# sanitizer run is the stricter, so distcheck now builds with the
# sanitizers and the suite runs once. What the plain build alone proves is
# kept: it is built in _build/ (a -Werror build without sanitizers) and its
# unit suites run under valgrind, which sees what ASan does not
# (uninitialised reads) in code built without sanitizer instrumentation.
# Measured (CPU seconds of the stages, the machine busy): distcheck 356 +
# asan 457 before, distcheck 577 after. Unit suites also load committed
# test-only keys (tests/keys) instead of generating RSA keys under
# valgrind and the sanitizers (valgrind 443 -> 249); check_key still
# generates every size. The tsan stage builds only its two tests
# (105 -> 75).
# Later cuts, on an idle 2-core machine (whole command 728 s -> 376-384 s,
# no check dropped): the tools run as real binaries, not libtool's
# wrapper scripts (70 ms of CPU each under ASan); Python judges that looped
# judge a batch in one start, and the endpoint self-test keeps one Python
# helper; tests decrypt keys that openssl encrypted with few PBKDF2 rounds
# where the KDF is not what they test; UBSan's runtime is linked statically
# and ASan's quarantine is 64 MB (both: page faults, costly here); valgrind
# runs each suite in one process with a fair thread lock (210 -> about 90
# CPU-s); the build overlaps distcheck. The ASan suite: 437 -> about 300
# CPU-s.
# Then (376-384 s -> 339-384 s in four runs): every test log waits for
# config.h, so tests start in TESTS order (compiled suites used to start
# after every script, and those that wait ended the run with a core idle);
# distcheck runs one make job more than cores; the test scripts run under
# /bin/sh (dash), as their first lines say, not bash (a fifth of the ASan
# suite's CPU was shell forks); tl_expect_fail spawns fewer processes;
# sanitizer trees build at -O1.
# Then (375 s -> 307-329 s in six runs, 2026-12-03): configure, libtool
# and make run under /bin/sh (CONFIG_SHELL, above); _build/ has no static
# libraries (distcheck builds them); unit-test loops assert once, not per
# byte (Check records every passing assertion); the endpoint's stats are
# asked with curl, not a python3 per value.
# To add a stage: write stage_NAME (see "stages" below) and add NAME to a
# lane.
#
# For development only:
#   PKJWT_QUICK=1      run `make check` in _build/ alone;
#   PKJWT_STAGES="..." run only the named stages, one after the other
#                      (e.g. "asan": the suite under ASan+UBSan in
#                      _build-asan/ without distcheck's packaging checks,
#                      or "check" for plain make check).
# The README command sets neither and runs everything.
set -eu

mode=${1:-}
case "$mode" in
  demo|test) ;;
  *) echo "usage: sh scripts/setup.sh demo|test" >&2; exit 2 ;;
esac

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)
t_start=$(date +%s)
# configure, the libtool script it writes and every make recipe run under
# /bin/sh (dash on Debian), autoconf's CONFIG_SHELL, not the bash configure
# would pick for itself: libtool forks thousands of times per build, and a
# dash fork costs about half a bash fork. Measured on the idle 2-core
# machine: one configure 12.7 -> 8.7 s, one ASan build 48 -> 37 s (90 -> 71
# CPU-s). An explicit CONFIG_SHELL in the environment is kept.
CONFIG_SHELL=${CONFIG_SHELL:-/bin/sh}
export CONFIG_SHELL

# Root runs apt-get and make install itself; anyone else through sudo.
SUDO=
if [ "$(id -u)" != 0 ]; then
  SUDO=sudo
fi
need_sudo() {
  [ -z "$SUDO" ] || command -v sudo >/dev/null 2>&1 || {
    echo "setup: $1 needs root: run this as root, or install sudo" >&2
    exit 1
  }
}

# ---- dependencies, from Debian's packages only -------------------------------
PKGS="build-essential autoconf automake libtool pkg-config
  libssl-dev libjansson-dev libcurl4-openssl-dev libjwt-dev check
  openssl ca-certificates curl python3 python3-jwcrypto python3-jwt jose
  python3-cryptography binutils valgrind man-db groff-base git bash-completion
  systemd libhiredis-dev redis-server libp11-dev libp11-kit-dev softhsm2 opensc"
# tests/oidc.sh runs a certified provider on node: Debian's nodejs and npm,
# unless a node and an npm are already there (a nodejs from elsewhere
# provides npm itself, and Debian's npm would conflict with it).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PKGS="$PKGS nodejs npm"
fi
# The Debian packaging stage (PKJWT_DEBIAN=1, as .ci/run sets) also needs
# the package tools and a throwaway root.
if [ "${PKJWT_DEBIAN:-}" = 1 ] && [ "${1:-}" = test ]; then
  PKGS="$PKGS debhelper lintian debootstrap"
  # the fuzz stage: clang and its libFuzzer runtime
  PKGS="$PKGS clang libclang-rt-14-dev"
fi
missing=
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
    missing="$missing $p"
done
if [ -n "$missing" ]; then
  need_sudo "installing$missing"
  echo "== installing:$missing"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086 # one word per package
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends $missing >/dev/null
fi

# ---- build -------------------------------------------------------------------
# configure_in DIR [CONFIGURE ARG...]: configure the tree in DIR, a folder
# in $top (unless an earlier run did: make then reruns what changed,
# automake's rebuild rules) and build it: all of it, or only the make
# targets in $build_only when that is set. `rm -rf _build*` starts over.
# configure is called as ../configure: autoconf refuses a source path with a
# space ("unsafe srcdir value"), and a relative one has none.
configure_in() {
  configure_tree "$@"
  # shellcheck disable=SC2086 # a list of make targets
  (cd "$1" && make -s -j"$jobs" ${build_only:-} >/dev/null)
}
# configure_tree DIR [CONFIGURE ARG...]: the configure half of configure_in.
configure_tree() {
  _dir=$1
  shift
  mkdir -p "$_dir"
  if [ ! -f "$_dir/Makefile" ]; then
    (cd "$_dir" && ../configure -q --enable-werror \
      PYTHON3=/usr/bin/python3 "$@")
  fi
}
build_only=

build=$top/_build
if [ ! -f "$top/configure" ] || [ ! -f "$build/Makefile" ]; then
  autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
fi
if [ "$mode" = test ]; then
  # The test command configures _build/ (with a cache, config.cache, that
  # distcheck's outer configure reuses) and makes the release tarball from
  # it (sources only: nothing built goes in), then builds _build/ as the
  # first stage of lane 1 while distcheck starts on the tarball in lane 2:
  # the serial configure runs of one lane overlap the other's make -j.
  # _build/ has no static libraries here (--disable-static): libtool would
  # compile lib/ twice, and distcheck builds, installs and uninstalls the
  # static ones (measured: the plain build 29 -> 18 CPU-s).
  echo "== configure: autoreconf, configure in _build/, make dist"
  configure_tree "$build" -C --disable-static
  (cd "$build" && rm -f pkjwt-*.tar.gz && make -s dist-gzip >/dev/null 2>&1) ||
    (cd "$build" && make -s dist-gzip)
else
  echo "== build: autoreconf, configure and make in _build/"
  # The demo installs the static libraries too: a _build/ that the test
  # command configured without them is configured again.
  if [ -f "$build/config.status" ] &&
    "$build/config.status" --config | grep -q -- --disable-static; then
    rm -f "$build/Makefile"
  fi
  configure_in "$build"
fi
t_built=$(date +%s)
echo "   ($((t_built - t_start)) s)"

if [ "$mode" = demo ]; then
  sh "$top/scripts/demo.sh" "$build"
  # The decision: the demo ends with pkjwt installed, because the README's
  # "Using it" calls pkjwt-keygen, man pkjwt-token and pkg-config pkjwt as a
  # newcomer expects them to work after set-up. /usr/local is the prefix
  # autotools and Debian keep for locally built software (on PATH, MANPATH,
  # pkg-config's and ld.so's default paths), so no file of a Debian package
  # is touched; `sudo make -C _build uninstall` takes it away again.
  need_sudo "make install"
  echo
  echo "== install to /usr/local (make install, ldconfig)"
  (cd "$build" && $SUDO make -s install >/dev/null)
  $SUDO ldconfig
  echo "   installed: pkjwt-keygen, pkjwt-sign, pkjwt-token in /usr/local/bin,"
  echo "   their man pages and libpkjwt(3), libpkjwt and pkjwt.pc in"
  echo "   /usr/local/lib. Try: pkjwt-keygen --version; man pkjwt-token"
  echo "   (remove with: sudo make -C _build uninstall)"
  exit 0
fi

# ---- test results --------------------------------------------------------------
passed=0
failed=0
skipped=0
# The counts of the stage that is running (reset by run_stage).
s_passed=0
s_failed=0
s_skipped=0
count() {
  s_passed=$((s_passed + $1))
  s_failed=$((s_failed + $2))
  s_skipped=$((s_skipped + $3))
}
# tally FILE: add the counts of the automake test summary in FILE (a
# test-suite.log or the output of make check/distcheck). PASS and XFAIL
# pass; FAIL, ERROR and XPASS fail; SKIP (exit 77) is skipped, never passed.
# No summary at all means the run broke before its tests: one failure.
tally() {
  _n() {
    _v=$(sed -n "s/^# $1: *\([0-9]*\).*/\1/p" "$2" | tail -n 1)
    echo "${_v:-0}"
  }
  if [ ! -f "$1" ] || ! grep -q '^# TOTAL: *[0-9]' "$1"; then
    echo "---- FAIL: no test summary in $1: the run stopped before its tests"
    count 0 1 0
    return
  fi
  count $(($(_n PASS "$1") + $(_n XFAIL "$1"))) \
    $(($(_n FAIL "$1") + $(_n ERROR "$1") + $(_n XPASS "$1"))) \
    "$(_n SKIP "$1")"
}

# excerpt LOG: the lines of LOG that say what failed (TAP "not ok", FAIL
# lines, Check's file:line:F: lines, sanitizer and valgrind reports, UBSan's
# runtime errors) with the indented or "#" lines that follow them (the exit
# status, stdout and stderr that tests/tool-lib.sh and the others quote).
# A log with none of these shows its last 20 lines.
excerpt() {
  awk -v max=80 '
    function out(l) { if (n < max) print "   | " l; n++ }
    /^not ok|^FAIL|^ERROR|:[0-9]+:[FE]:|^[0-9]+%: Checks:|^[0-9]+ passed, [0-9]+ failed|runtime error|Sanitizer|^==[0-9]+==/ {
      out($0); follow = 1; next
    }
    follow && /^([ \t]|#)/ { out($0); next }
    { follow = 0 }
    END {
      if (n > max) print "   | ... " n - max " more lines in the log"
      exit n == 0
    }' "$1" || tail -n 20 "$1" | sed 's/^/   | /'
}

# clean_results DIR: remove the test logs and results of an earlier run, so
# a stage reports its own failures only.
# (distcheck's tree pkjwt-VERSION/ in the build folder is its own.)
clean_results() {
  find "$1" -type d -name 'pkjwt-[0-9]*' -prune -o -type f \
    \( -name '*.trs' -o -name '*.log' \) ! -name config.log \
    -exec rm -f {} + 2>/dev/null || true
}

# show_failures DIR: name each failed test under DIR with its log and show
# what failed; name each skipped test with its reason.
show_failures() {
  find "$1" -type d -name 'pkjwt-[0-9]*' -prune -o -type f -name '*.trs' \
    -print | LC_ALL=C sort | while IFS= read -r trs; do
    log=${trs%.trs}.log
    if grep -q '^:test-result: \(FAIL\|ERROR\|XPASS\)' "$trs"; then
      r=$(sed -n 's/^:global-test-result: //p' "$trs")
      echo "---- ${r:-FAIL}: ${log#"$1"/} (log: $log)"
      excerpt "$log"
    elif grep -q '^:test-result: SKIP' "$trs"; then
      echo "---- SKIP: ${log#"$1"/}: $(grep -m1 -i 'skip' "$log" || true)"
    fi
  done
}

# check_in DIR [MAKE ARG...]: `make check` in DIR from clean results, then
# tally its summary and show its failures. With $build_only set, only those
# programs are built and run (make check-TESTS, which skips `make all`).
# With $check_target set, `make $check_target` (e.g. check-nomem) instead.
check_in() {
  _dir=$1
  shift
  clean_results "$_dir"
  if [ -n "${check_target:-}" ]; then
    set -- "$check_target" "$@"
  elif [ -n "$build_only" ]; then
    set -- check-TESTS check_PROGRAMS="$build_only" TESTS="$build_only" "$@"
  else
    set -- check "$@"
  fi
  (cd "$_dir" && make -j"$jobs" "$@" >"$_dir/check.out" 2>&1) || true
  grep -E '^(PASS|FAIL|XFAIL|XPASS|ERROR|SKIP): ' "$_dir/check.out" || true
  tally "$_dir/check.out"
  show_failures "$_dir"
}

# ---- stages ----------------------------------------------------------------------
# The sanitizers' run-time options, for every stage that runs them.
SAN_ASAN=--enable-sanitizers=address,undefined
# quarantine_size_mb=64, a quarter of ASan's default: freed memory still
# waits in quarantine (a use after free is still caught) until 64 MB more
# has been freed, which a tool run or unit test rarely reaches, but
# OpenSSL's allocation churn (600,000 PBKDF2 rounds allocate and free a
# digest context each) no longer touches 256 MB of fresh pages: one
# PBKDF2 key decrypt 1.74 -> 0.87 CPU-s under ASan.
ASAN_OPTS=detect_leaks=1:abort_on_error=1:quarantine_size_mb=64
UBSAN_OPTS=halt_on_error=1:print_stacktrace=1

# Each stage_NAME runs in $top, adds its results with count/tally and prints
# its report (show_failures) on stdout. A stage whose build breaks counts
# one failure and shows the compiler's words.
stage_distcheck() {
  out=$build/distcheck.out
  # distcheck installs into a folder inside its own tree, and libtool's
  # install cannot take a path with a space: so the release tarball made
  # here is unpacked and distchecked in a scratch folder without one (a
  # distcheck of the unpacked tarball is the same check). The clone itself
  # may sit anywhere.
  # The tarball was made before the lanes started. The outer configure
  # (only there to run make distcheck, which configures its own tree with
  # the sanitizers) reuses _build/'s config.cache when there is one.
  # One make job more than cores: some tests spend seconds waiting (a
  # fleet's timed refreshes, a client's retries, a slow server), and with
  # two waiting at once a core stood idle while distcheck ran alone (vmstat:
  # 13-73% idle for a minute; with one job more, next to none; the whole
  # command 364 -> 351 s on an idle 2-core machine).
  dc=$(mktemp -d /tmp/pkjwt-distcheck.XXXXXX)
  : >"$out"
  if tar -C "$dc" -xzf "$build"/pkjwt-*.tar.gz &&
    { [ ! -f "$build/config.cache" ] ||
      cp "$build/config.cache" "$dc"/pkjwt-*/; } &&
    (cd "$dc"/pkjwt-* && ./configure -q -C PYTHON3=/usr/bin/python3 &&
      ASAN_OPTIONS=$ASAN_OPTS UBSAN_OPTIONS=$UBSAN_OPTS make -j"$((jobs + 1))" distcheck \
        DISTCHECK_CONFIGURE_FLAGS="--enable-werror $SAN_ASAN PYTHON3=/usr/bin/python3") \
    >>"$out" 2>&1; then
    ok=1
  else
    ok=0
  fi
  grep -E '^(PASS|FAIL|XFAIL|XPASS|ERROR|SKIP): ' "$out" || true
  tally "$out"
  # On failure distcheck leaves its tree: pkjwt-VERSION/_build/sub.
  for d in "$dc"/pkjwt-*/pkjwt-*/_build/sub; do
    [ -d "$d" ] && show_failures "$d"
  done
  # The packaging checks after the tests: one more result.
  if [ "$ok" = 1 ]; then
    count 1 0 0
    grep -A2 'archives ready for distribution' "$out" | sed 's/^/   /'
    rm -rf "$dc"
  else
    count 0 1 0
    echo "---- FAIL: make distcheck (output: $out, tree: $dc); its last lines:"
    grep -v '^make\[[0-9]*\]: \(Entering\|Leaving\)' "$out" | tail -n 25 |
      sed 's/^/   | /'
  fi
}

# build_for STAGE DIR [CONFIGURE ARG...]: configure_in, or count one failure.
build_for() {
  _stage=$1
  shift
  configure_in "$@" 2>&1 && return 0
  echo "---- FAIL: the $_stage build in $1 (configure or make) failed"
  count 0 1 0
  return 1
}

# For development (PKJWT_STAGES=asan): distcheck runs the same suite the
# same way, from the tarball.
stage_asan() {
  asan=$top/_build-asan
  build_for asan "$asan" --disable-static "$SAN_ASAN" || return 0
  ASAN_OPTIONS=$ASAN_OPTS UBSAN_OPTIONS=$UBSAN_OPTS check_in "$asan"
}

# PKJWT_TEST_LIGHT=1: statistical loops run a sixteenth of their rounds
# and the crowds of threads and processes are small under valgrind
# (tu_light, tu_rounds in tests/testutil.h); distcheck runs them all.
# CK_FORK=no: each suite runs its tests in one process, so valgrind starts,
# translates OpenSSL and checks for leaks once per suite, not once per
# test (the stage's CPU: 210 s with forks, 92 s without, idle machine).
# A failed check still fails its suite; a leak in any test still fails it
# (the leak check at exit sees them all); without Check's per-test timeout
# a hang is bounded by `timeout` instead. --fair-sched=yes: valgrind runs
# one thread at a time, and its default lock let check_keyset's spinning
# signers starve the thread that rotates keys (that test took 8 to 180 s;
# 7 s with a fair lock).
# Only the suites it runs are built (distcheck builds every test program
# with -Werror).
stage_valgrind() {
  build_only=$(cd "$build" && make -s print-valgrind-tests)
  check_in "$build" \
    LOG_COMPILER="env CK_FORK=no PKJWT_TEST_LIGHT=1 timeout 900 valgrind -q --fair-sched=yes --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite"
  build_only=
}

# Only the thread tests and what they link are built with TSan (no tools,
# no shared libraries, no other suites): they are all this stage runs.
stage_tsan() {
  tsan=$top/_build-tsan
  build_only=$(cd "$build" && make -s print-thread-tests)
  if build_for tsan "$tsan" --disable-static --enable-sanitizers=thread; then
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 check_in "$tsan"
  fi
  build_only=
}

stage_check() {
  check_in "$build"
}

# The plain -Werror build of _build/ (the test command's lane 1 begins with
# it; valgrind runs its unit suites): one result.
stage_build() {
  if (cd "$build" && make -s -j"$jobs") >"$results/build.out" 2>&1; then
    count 1 0 0
  else
    echo "---- FAIL: the build in $build (make); the compiler's words:"
    grep -E 'error|warning' "$results/build.out" | head -n 40 |
      sed 's/^/   | /'
    count 0 1 0
  fi
}

# The allocation-failure sweeps (tests/check_nomem.c): the Nth allocation
# of lib/, OpenSSL and Jansson fails for every N; under ASan+UBSan, so a
# leak or a bad free on an error path is a failure. Only that program is
# built (make check-nomem runs it through tests/nomem.sh).
stage_nomem() {
  nomem=$top/_build-nomem
  build_only=tests/check_nomem
  if build_for nomem "$nomem" --disable-static "$SAN_ASAN"; then
    check_target=check-nomem ASAN_OPTIONS=$ASAN_OPTS \
      UBSAN_OPTIONS=$UBSAN_OPTS check_in "$nomem"
  fi
  # (a shell may keep an assignment made for a function call)
  check_target=
  build_only=
}

# Every fuzz target under libFuzzer for FUZZ_SECONDS each (60; set
# PKJWT_FUZZ_SECONDS for a shorter run while developing). make fuzz stops at
# the first finding and names its input (fuzz-findings/TARGET/ in
# _build-fuzz/); each target that ran clean is one pass.
stage_fuzz() {
  fz=$top/_build-fuzz
  build_only=$(cd "$build" && make -s print-fuzz-targets)
  if build_for fuzz "$fz" --disable-static CC=clang --enable-fuzzing; then
    out=$fz/fuzz.out
    rc=0
    (cd "$fz" && make fuzz FUZZ_SECONDS="${PKJWT_FUZZ_SECONDS:-60}") \
      >"$out" 2>&1 || rc=$?
    grep -E '^== |^stat::number_of_executed_units' "$out" | sed 's/^/   /'
    p=$(grep -c '^stat::number_of_executed_units' "$out" || true)
    f=$(grep -c '^== .*: FINDING' "$out" || true)
    [ "$rc" = 0 ] || [ "$f" -gt 0 ] || f=1
    count "$p" "$f" 0
    if [ "$f" -gt 0 ]; then
      echo "---- FAIL: make fuzz in $fz (output: $out)"
      excerpt "$out"
    fi
  fi
  build_only=
}

# The Debian packages: build, lintian, install into a fresh Debian 12 root
# and run the README's "Using it" there (tests/debian.sh; needs root and
# about 10 minutes, 5 more for the first debootstrap on a machine). Its
# ok/not ok lines and its own "N passed, N failed" line are the counts;
# exit 77 is one skip.
stage_debian() {
  out=$results/debian.out
  rc=0
  top_srcdir=$top PYTHON3=/usr/bin/python3 sh "$top/tests/debian.sh" \
    >"$out" 2>&1 || rc=$?
  grep -E '^(ok|not ok)' "$out" || true
  if [ "$rc" = 77 ]; then
    echo "---- SKIP: tests/debian.sh: $(grep -m1 '^SKIP' "$out" || true)"
    count 0 0 1
    return
  fi
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
  if [ -z "$line" ]; then
    echo "---- FAIL: tests/debian.sh stopped early (exit $rc, log: $out)"
    excerpt "$out"
    count 0 1 0
    return
  fi
  p=${line%% passed*}
  f=${line#*passed, }
  f=${f%% failed*}
  [ "$rc" = 0 ] || [ "$f" -gt 0 ] || f=1
  count "$p" "$f" 0
  if [ "$f" -gt 0 ]; then
    echo "---- FAIL: tests/debian.sh (log: $out)"
    excerpt "$out"
  fi
}

# ---- running the stages ------------------------------------------------------
# The stages run in two lanes at once, each lane in its order, so that one
# lane's single-threaded stretches (configure, one long suite under
# valgrind) overlap the other lane's work; lane 1 runs make -j$jobs and
# distcheck one job more, so a lane that finishes early leaves the cores to
# the other. Lane CPU (seconds, idle machine): build 22 + valgrind 111 +
# tsan 59 against distcheck 404 (lane 1 ends about a minute before
# distcheck, and distcheck then has both cores).
# A new stage goes at the end of the lane that finishes first (see the
# seconds printed at the end).
LANE1="build valgrind tsan"
LANE2="distcheck"
# CI (.ci/run) adds the Debian packaging stage; the README command leaves it
# to `make deb-test`, which takes longer than the rest together.
if [ "${PKJWT_DEBIAN:-}" = 1 ]; then
  LANE1="$LANE1 debian nomem"
  LANE2="$LANE2 fuzz"
fi
if [ "${PKJWT_QUICK:-}" = 1 ]; then
  echo "== PKJWT_QUICK=1: make check in _build/ only (the README command runs every stage)"
  LANE1="check" LANE2=
elif [ -n "${PKJWT_STAGES:-}" ]; then
  LANE1=$PKJWT_STAGES LANE2=
fi

results=$build/stages
rm -rf "$results"
mkdir -p "$results"

# cpu_seconds FILE: user+system seconds of this shell's finished children
# (times must run in this shell, not in a $(...) subshell: through FILE).
cpu_seconds() {
  times >"$1"
  awk 'NR == 2 {
    t = 0
    for (i = 1; i <= 2; i++) {
      split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2]
    }
    printf "%d\n", t
  }' "$1"
}

# run_stage NAME: run stage_NAME with its report in $results/NAME.report,
# its counts, seconds and CPU seconds in $results/NAME.counts.
run_stage() {
  s_passed=0 s_failed=0 s_skipped=0
  _t0=$(date +%s)
  cpu_seconds "$results/$1.times" >"$results/$1.cpu0"
  echo "== $1: started"
  # Not in a subshell: the counts must survive. A stage that stops early
  # under set -e loses only its own lane's rest, and the summary says so.
  "stage_$1" >"$results/$1.report" 2>&1
  _secs=$(($(date +%s) - _t0))
  cpu_seconds "$results/$1.times" >"$results/$1.cpu1"
  _cpu=$(($(cat "$results/$1.cpu1") - $(cat "$results/$1.cpu0")))
  echo "$s_passed $s_failed $s_skipped $_secs $_cpu" >"$results/$1.counts"
  echo "== $1: $s_passed passed, $s_failed failed, $s_skipped skipped ($_secs s)"
}
run_lane() {
  for _s in "$@"; do run_stage "$_s"; done
}

# shellcheck disable=SC2086 # the lanes are lists of stage names
run_lane $LANE1 &
lane1=$!
lane2=
if [ -n "$LANE2" ]; then
  # shellcheck disable=SC2086
  run_lane $LANE2 &
  lane2=$!
fi
wait "$lane1" || true
[ -z "$lane2" ] || wait "$lane2" || true

# ---- the reports, in order, and the one line ---------------------------------
passed=0 failed=0 skipped=0 times=
for s in $LANE1 $LANE2; do
  echo
  echo "==== $s"
  cat "$results/$s.report" 2>/dev/null || true
  if [ -f "$results/$s.counts" ]; then
    read -r p f k secs cpu <"$results/$s.counts"
  else
    echo "---- FAIL: stage $s did not finish (see $results/$s.report)"
    p=0 f=1 k=0 secs='?' cpu='?'
  fi
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + k))
  times="$times $s $secs s (cpu $cpu s),"
done

echo
echo "== seconds: configure $((t_built - t_start)) s,${times%,}; all $(($(date +%s) - t_start)) s"
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
