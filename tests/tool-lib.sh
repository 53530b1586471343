# tests/tool-lib.sh: small POSIX sh helpers for tests that drive a built tool.
#
# Source it from a test script, then:
#
#   tl_begin                  make the scratch folder $TL_DIR (removed at exit)
#                             and zero the counters. Tests cd into it.
#   tl_run CMD [ARG...]       run CMD; its stdout goes to the file $TL_OUT, its
#                             stderr to $TL_ERR, its exit status to $TL_RC.
#                             stdin is $TL_STDIN when set, else /dev/null.
#   tl_pass MSG / tl_fail MSG count a result and print "ok N - MSG" or
#                             "not ok N - MSG" (the log shows both).
#   tl_skip MSG WHY           count a check that could not run because its
#                             judge is missing: "ok N - MSG # SKIP WHY". A
#                             skipped check never counts as passed.
#   tl_have CMD               true when CMD is an executable or on PATH.
#   tl_check MSG CMD [ARG...] pass when CMD exits 0, else fail.
#   tl_expect_ok MSG CMD...   run CMD (tl_run); pass when it exits 0.
#                             On failure the stderr is shown.
#   tl_expect_fail MSG CODE PATTERN CMD...
#                             run CMD and pass only when all of these hold:
#                             the exit status is CODE; stdout is empty; stderr
#                             is exactly one line and it matches the grep -E
#                             PATTERN; and no file appeared, vanished or
#                             changed under $TL_WATCH (default: the current
#                             folder), compared by name, size and checksum.
#   tl_snapshot DIR / tl_unchanged MSG DIR
#                             remember a listing of DIR, later pass when the
#                             listing is the same (names, sizes, checksums).
#   tl_lines FILE             print the number of lines in FILE.
#   tl_end                    print "N passed, N failed" (", N skipped" when
#                             any were) and exit 0 only when something
#                             passed and nothing failed.
#
# Everything is plain sh (dash), no bashisms; helper names start with tl_.

tl_passed=0
tl_failed=0
tl_skipped=0
tl_n=0
TL_WATCH=

tl_begin() {
  TL_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pkjwt-tooltest-XXXXXX") || {
    echo "tool-lib: cannot make a temp folder" >&2
    exit 99
  }
  TL_RC=0
  # The snapshots and captured output live apart from what tests watch.
  TL_PRIV=$(mktemp -d "${TMPDIR:-/tmp}/pkjwt-tooltest-priv-XXXXXX") || exit 99
  TL_OUT=$TL_PRIV/stdout
  TL_ERR=$TL_PRIV/stderr
  trap 'chmod -R u+rwx "$TL_DIR" 2>/dev/null; rm -rf "$TL_DIR" "$TL_PRIV"' EXIT
  trap 'exit 99' HUP INT TERM
}

tl_pass() {
  tl_n=$((tl_n + 1))
  tl_passed=$((tl_passed + 1))
  echo "ok $tl_n - $1"
}

tl_fail() {
  tl_n=$((tl_n + 1))
  tl_failed=$((tl_failed + 1))
  echo "not ok $tl_n - $1"
}

tl_skip() {
  tl_n=$((tl_n + 1))
  tl_skipped=$((tl_skipped + 1))
  echo "ok $tl_n - $1 # SKIP $2"
}

tl_have() {
  command -v "$1" >/dev/null 2>&1
}

tl_run() {
  TL_RC=0
  "$@" >"$TL_OUT" 2>"$TL_ERR" <"${TL_STDIN:-/dev/null}" || TL_RC=$?
}

tl_check() {
  _tl_msg=$1
  shift
  if "$@"; then
    tl_pass "$_tl_msg"
  else
    tl_fail "$_tl_msg"
  fi
}

# Show what a failed command said, indented, in the log.
_tl_show() {
  echo "  exit status: $TL_RC"
  sed 's/^/  stdout: /' "$TL_OUT" | head -n 5
  sed 's/^/  stderr: /' "$TL_ERR" | head -n 10
}

tl_expect_ok() {
  _tl_msg=$1
  shift
  tl_run "$@"
  if [ "$TL_RC" -eq 0 ]; then
    tl_pass "$_tl_msg"
  else
    tl_fail "$_tl_msg"
    _tl_show
  fi
}

# A listing of a folder: relative name, type, size and checksum of each entry.
_tl_listing() {
  (cd "$1" && {
    find . -print
    find . -type f -exec cksum {} + 2>/dev/null
  } | LC_ALL=C sort)
}

tl_snapshot() {
  _tl_listing "$1" >"$TL_PRIV/snapshot"
}

tl_unchanged() {
  _tl_listing "$2" >"$TL_PRIV/snapshot.now"
  if cmp -s "$TL_PRIV/snapshot" "$TL_PRIV/snapshot.now"; then
    tl_pass "$1"
  else
    tl_fail "$1"
    diff "$TL_PRIV/snapshot" "$TL_PRIV/snapshot.now" | sed 's/^/  /'
  fi
}

tl_lines() {
  wc -l <"$1" | tr -d ' '
}

tl_expect_fail() {
  _tl_msg=$1
  _tl_code=$2
  _tl_pat=$3
  shift 3
  _tl_watch=${TL_WATCH:-.}
  _tl_listing "$_tl_watch" >"$TL_PRIV/before"
  tl_run "$@"
  _tl_listing "$_tl_watch" >"$TL_PRIV/after"
  _tl_why=
  [ "$TL_RC" -eq "$_tl_code" ] ||
    _tl_why="$_tl_why exit status $TL_RC, not $_tl_code;"
  [ -s "$TL_OUT" ] && _tl_why="$_tl_why stdout is not empty;"
  [ "$(tl_lines "$TL_ERR")" = 1 ] ||
    _tl_why="$_tl_why stderr has $(tl_lines "$TL_ERR") lines, not 1;"
  grep -Eq -- "$_tl_pat" "$TL_ERR" ||
    _tl_why="$_tl_why stderr does not match /$_tl_pat/;"
  cmp -s "$TL_PRIV/before" "$TL_PRIV/after" ||
    _tl_why="$_tl_why files changed under $_tl_watch;"
  if [ -z "$_tl_why" ]; then
    tl_pass "$_tl_msg"
  else
    tl_fail "$_tl_msg:$_tl_why"
    _tl_show
    diff "$TL_PRIV/before" "$TL_PRIV/after" | sed 's/^/  files: /'
  fi
}

tl_end() {
  if [ "$tl_skipped" -gt 0 ]; then
    echo "$tl_passed passed, $tl_failed failed, $tl_skipped skipped"
  else
    echo "$tl_passed passed, $tl_failed failed"
  fi
  [ "$tl_failed" -eq 0 ] && [ "$tl_passed" -gt 0 ]
  exit $?
}
