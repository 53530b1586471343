#!/bin/sh
# tests/man-options.sh: each tool's man page names exactly the options of
# its option tables, in SYNOPSIS and in OPTIONS, command by command.
#
# The options of a command are read from `TOOL [SUB] --help` (printed from
# the tables). In the man page, SYNOPSIS is split at .br into one block per
# command (".B TOOL SUB" starts it); OPTIONS is split at .SS into one part
# per command (a .SS titled with a subcommand's name, else the default
# command); the long options of a part are those on the tag line after each
# .TP. --help and --version are left out on both sides (they are top-level
# too). A missing or extra option in either section fails, naming it.
# The last checks feed the comparison a page with one option dropped and
# one added, and make sure both are caught.
set -u
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$(pwd)}
top_builddir=$builddir
. "$srcdir/tests/tool-lib.sh"
tl_tools
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok $((PASS + FAIL)) - $1"; }
nok() { FAIL=$((FAIL + 1)); echo "not ok $((PASS + FAIL)) - $1"; }

T=$(mktemp -d "${TMPDIR:-/tmp}/pkjwt-manopt-XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT

# long options named in stdin, sorted, without --help and --version
longs() {
  sed 's/\\-/-/g' | grep -Eo -- '--[a-z0-9][a-z0-9-]*' |
    grep -Evx -- '--help|--version' | sort -u
}

# synopsis MAN TOOL SUB: the options of SUB's synopsis block(s) (SUB empty:
# the default command's).
synopsis() {
  awk -v tool="$2" -v want="$3" '
    /^\.SH/ { on = ($0 ~ /^\.SH "?SYNOPSIS"?$/); next }
    !on { next }
    /^\.br/ { cur = ""; next }
    /^\.B / {
      line = $0; sub(/^\.B /, "", line)
      if (line == tool) { cur = "\001"; next }
      if (line == tool " " want && want != "") { cur = want; next }
      if (index(line, tool " ") == 1) { cur = "\002"; next }
    }
    (want == "" && cur == "\001") || (want != "" && cur == want) { print }
  ' "$1" | longs
}

# options MAN SUB SUBS: the options on the .TP tag lines of SUB's part of
# OPTIONS (SUB empty: the parts not titled with one of SUBS).
options() {
  awk -v want="$2" -v subs=" $3 " '
    /^\.SH/ { on = ($0 ~ /^\.SH "?OPTIONS"?$/); cur = ""; next }
    !on { next }
    /^\.SS/ {
      t = $0; sub(/^\.SS +/, "", t); gsub(/"/, "", t); split(t, w, " ")
      cur = index(subs, " " w[1] " ") ? w[1] : ""
      next
    }
    /^\.TP/ { tag = 1; next }
    tag { tag = 0; if (cur == want) print }
  ' "$1" | longs
}

# same MSG EXPECTED ACTUAL
same() {
  if [ "$2" = "$3" ]; then
    ok "$1"
  else
    nok "$1"
    printf '%s\n' "$2" >"$T/e"
    printf '%s\n' "$3" >"$T/a"
    diff "$T/e" "$T/a" | sed -n 's/^</#   table only:/p; s/^>/#   man page only:/p'
  fi
}

check_tool() { # TOOL MAN
  tool=$1
  man=$2
  bin=$(tl_bin "$tool")
  [ -x "$bin" ] || { nok "$tool is built"; return; }
  "$bin" --help >"$T/top" || { nok "$tool --help"; return; }
  subs=$(sed -n '/^Subcommands:/,/^$/s/^  \([a-z][a-z0-9-]*\) .*/\1/p' \
    "$T/top" | grep -vx help | tr '\n' ' ')
  cmds=$subs
  # the default command's usage starts with an option, or a choice of them
  grep -Eq "^Usage: $tool \(?--" "$T/top" && cmds="- $cmds"
  for c in $cmds; do
    [ "$c" = - ] && c=
    table=$("$bin" ${c:+"$c"} --help | longs)
    [ -n "$table" ] || nok "$tool ${c:-(default)}: --help lists options"
    same "$tool ${c:-(default)}: SYNOPSIS names exactly the table's options" \
      "$table" "$(synopsis "$man" "$tool" "$c")"
    same "$tool ${c:-(default)}: OPTIONS names exactly the table's options" \
      "$table" "$(options "$man" "$c" "$subs")"
  done
}

for tool in pkjwt-keygen pkjwt-sign pkjwt-token; do
  check_tool "$tool" "$srcdir/docs/$tool.1"
done

# Self-check: one option dropped from, one added to a copy of a page.
MAN=$srcdir/docs/pkjwt-sign.1
sed '/^\.BI \\-\\-leeway " S"$/d' "$MAN" >"$T/dropped.1"
sed 's/^\.B \\-\\-nbf$/.B \\-\\-nbf\n.TP\n.B \\-\\-frobnicate\nx/' "$MAN" \
  >"$T/added.1"
for m in dropped added; do
  if cmp -s "$T/$m.1" "$MAN"; then
    nok "self-check $m: the page could be changed"
    continue
  fi
  before=$FAIL passed=$PASS
  check_tool pkjwt-sign "$T/$m.1" >/dev/null
  caught=$((FAIL - before))
  FAIL=$before PASS=$passed
  if [ "$caught" -gt 0 ]; then
    ok "self-check: a page with an option $m is caught"
  else
    nok "self-check: a page with an option $m is caught"
  fi
done

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ] && [ "$PASS" -gt 0 ]
