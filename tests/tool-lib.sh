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
#   tl_unpriv_setup TOOL      for tests of folders the tool may not write:
#                             make tl_unpriv run TOOL (a path under
#                             $top_builddir/tools) as a user without root's
#                             rights. Returns 77 when a tool it needs is
#                             missing (skip), other non-zero when it cannot
#                             be done; the reason is in $TL_UNPRIV_WHY.
#   tl_unpriv [ARG...]        run that TOOL with ARGs; use it as the CMD of
#                             tl_expect_fail or tl_run.
#   tl_direct NAME / tl_tools / tl_bin NAME / tl_tools_path
#                             the real tool binaries, not libtool's
#                             wrappers: see below.
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
  trap '_tl_cleanup' EXIT
  trap 'exit 99' HUP INT TERM
}

_tl_cleanup() {
  chmod -R u+rwx "$TL_DIR" 2>/dev/null
  if [ -f "$TL_PRIV/unpriv-dirs" ]; then
    while IFS= read -r _tl_d; do rm -rf "$_tl_d"; done <"$TL_PRIV/unpriv-dirs"
  fi
  rm -rf "$TL_DIR" "$TL_PRIV"
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

# A listing of a folder: the name of each entry, with the checksum and size
# of each file (one find, cksum and sort: it runs twice per tl_expect_fail).
_tl_listing() {
  find "$1" \( -type f -exec cksum {} + \) -o -print 2>/dev/null |
    LC_ALL=C sort
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

# tl_lines FILE: its number of lines, as wc -l counts them (newlines), in
# the shell: no process of its own.
tl_lines() {
  _tl_nl=0
  while IFS= read -r _tl_line; do _tl_nl=$((_tl_nl + 1)); done <"$1"
  echo "$_tl_nl"
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
  _tl_n_err=$(tl_lines "$TL_ERR")
  [ "$_tl_n_err" = 1 ] ||
    _tl_why="$_tl_why stderr has $_tl_n_err lines, not 1;"
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

# Not root: the user cannot write a mode-555 folder, so the tool runs as it is.
# Root writes anywhere, so it runs the tool as nobody (setpriv). nobody may
# not be able to reach the build tree (a clone under /root is mode 700), so
# nobody runs a copy of the real binary and of every libpkjwt*.so* from the
# build's .libs, in a fresh folder under /tmp (world-searchable, whatever
# TMPDIR says: pam_tmpdir makes TMPDIR private), with LD_LIBRARY_PATH. The
# scratch folder $TL_DIR is opened to nobody (755) so relative paths resolve.
tl_unpriv_setup() {
  _tl_tool=$1
  TL_UNPRIV_AS=
  TL_UNPRIV_WHY=
  if [ "$(id -u)" != 0 ]; then
    TL_UNPRIV_TOOL=$_tl_tool
    return 0
  fi
  tl_have setpriv || {
    TL_UNPRIV_WHY="root without setpriv (util-linux)"
    return 77
  }
  _tl_name=$(basename "$_tl_tool")
  _tl_real=$(dirname "$_tl_tool")/.libs/$_tl_name
  case $_tl_tool in */.libs/*) _tl_real=$_tl_tool ;; esac
  # A static build has no libtool wrapper: the tool is the binary.
  [ -f "$_tl_real" ] || _tl_real=$_tl_tool
  TL_UNPRIV_WHY="cannot copy $_tl_real and the library to /tmp"
  TL_UNPRIV_DIR=$(mktemp -d /tmp/pkjwt-unpriv-XXXXXX) || return 1
  # _tl_cleanup removes the folders listed here.
  echo "$TL_UNPRIV_DIR" >>"$TL_PRIV/unpriv-dirs"
  cp "$_tl_real" "$TL_UNPRIV_DIR/$_tl_name" || return 1
  for _tl_so in "${top_builddir:-.}"/.libs/libpkjwt*.so*; do
    [ -e "$_tl_so" ] || continue
    cp -P "$_tl_so" "$TL_UNPRIV_DIR/" || return 1
  done
  chmod -R a+rX "$TL_UNPRIV_DIR"
  chmod 755 "$TL_UNPRIV_DIR" "$TL_DIR"
  _tl_uid=$(id -u nobody 2>/dev/null || echo 65534)
  _tl_gid=$(id -g nobody 2>/dev/null || echo 65534)
  TL_UNPRIV_AS="setpriv --reuid=$_tl_uid --regid=$_tl_gid --clear-groups"
  TL_UNPRIV_TOOL=$TL_UNPRIV_DIR/$_tl_name
  # Prove the copy runs as nobody before any test relies on it.
  tl_unpriv --version >/dev/null 2>"$TL_PRIV/unpriv.err" || {
    TL_UNPRIV_WHY="nobody cannot run $TL_UNPRIV_TOOL:"
    TL_UNPRIV_WHY="$TL_UNPRIV_WHY $(head -n 1 "$TL_PRIV/unpriv.err")"
    TL_UNPRIV_WHY="$TL_UNPRIV_WHY (is /tmp mounted noexec?)"
    return 1
  }
}

tl_unpriv() {
  if [ -n "$TL_UNPRIV_AS" ]; then
    # shellcheck disable=SC2086 # TL_UNPRIV_AS is a command and its options
    LD_LIBRARY_PATH=$TL_UNPRIV_DIR $TL_UNPRIV_AS "$TL_UNPRIV_TOOL" "$@"
  else
    "$TL_UNPRIV_TOOL" "$@"
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

# tl_direct NAME: sets TL_TOOL to the build's tool NAME: the real binary in
# tools/.libs when it runs on its own with the uninstalled libraries (then
# LD_LIBRARY_PATH is exported for it), else libtool's wrapper script, which
# costs a shell a run (50 parallel runs would measure the shell).
tl_direct() {
  TL_TOOL=${top_builddir:-.}/tools/$1
  _tl_libs=${top_builddir:-.}/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  case :${LD_LIBRARY_PATH:-}: in
  *:${top_builddir:-.}/.libs:*) _tl_libs=$LD_LIBRARY_PATH ;;
  esac
  if [ -x "${top_builddir:-.}/tools/.libs/$1" ] &&
    LD_LIBRARY_PATH=$_tl_libs "${top_builddir:-.}/tools/.libs/$1" --version \
      >/dev/null 2>&1; then
    TL_TOOL=${top_builddir:-.}/tools/.libs/$1
    LD_LIBRARY_PATH=$_tl_libs
    export LD_LIBRARY_PATH
  fi
}

# tl_tools: tl_direct for all three tools; sets TL_KEYGEN, TL_SIGN and
# TL_TOKEN (a tool that is not built keeps its path: the test's -x check
# then says so).
tl_tools() {
  tl_direct pkjwt-keygen
  TL_KEYGEN=$TL_TOOL
  tl_direct pkjwt-sign
  TL_SIGN=$TL_TOOL
  tl_direct pkjwt-token
  TL_TOKEN=$TL_TOOL
}

# tl_bin NAME: print the path tl_tools chose for the tool NAME.
tl_bin() {
  case $1 in
  pkjwt-keygen) echo "$TL_KEYGEN" ;;
  pkjwt-sign) echo "$TL_SIGN" ;;
  pkjwt-token) echo "$TL_TOKEN" ;;
  *) echo "${top_builddir:-.}/tools/$1" ;;
  esac
}

# tl_tools_path (after tl_begin): tl_tools, and put the three tools on PATH
# by name (for pages and examples that call them so), from $TL_PRIV/bin.
tl_tools_path() {
  tl_tools
  mkdir -p "$TL_PRIV/bin" || exit 99
  for _tl_t in pkjwt-keygen pkjwt-sign pkjwt-token; do
    ln -sf "$(tl_bin "$_tl_t")" "$TL_PRIV/bin/$_tl_t" || exit 99
  done
  PATH=$TL_PRIV/bin:$PATH
  export PATH
}
