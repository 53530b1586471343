#!/bin/sh
# tests/completion.sh: the bash completion of each tool offers exactly what
# its --help lists.
#
# The scripts under completion/ are printed by the built tools from the
# option tables that also print --help. This test does not trust that: it
# reads each --help independently (the subcommands, every long option, and
# the values a label shows as a|b|c), loads the completion script in bash
# next to bash-completion's own, and compares what the completion function
# offers in each place with what --help says:
#   - first word: the subcommands (and help), or with "-" the options;
#   - after a subcommand or later: that command's long options;
#   - after an option whose label lists values: exactly those values;
#   - after any other option that takes a value: no option names;
#   - after "help": the subcommands.
# A last check breaks a copy of one script on purpose and makes sure the
# comparison notices. Needs bash (skipped without it).
# shellcheck disable=SC2039,SC3000-SC4000
if [ -z "${BASH_VERSION:-}" ]; then
  command -v bash >/dev/null 2>&1 || { echo "SKIP: no bash"; exit 77; }
  exec bash "$0" "$@"
fi
set -u

builddir=${top_builddir:-$(pwd)}
top_builddir=$builddir
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/tool-lib.sh"
tl_tools
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok $((PASS + FAIL)) - $1"; }
nok() { FAIL=$((FAIL + 1)); echo "not ok $((PASS + FAIL)) - $1"; }

for f in pkjwt-keygen pkjwt-sign pkjwt-token; do
  [ -x "$builddir/tools/$f" ] || { echo "FAIL: $builddir/tools/$f not built"; exit 99; }
  [ -s "$builddir/completion/$f" ] || { echo "FAIL: completion/$f not made"; exit 99; }
done

# bash-completion's own functions, as an interactive shell has them (the
# scripts must work with and without it).
BC=/usr/share/bash-completion/bash_completion
[ -r "$BC" ] && . "$BC" >/dev/null 2>&1

T=$(mktemp -d "${TMPDIR:-/tmp}/pkjwt-completion-XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 99
: >some-file.pem

# words W...: what the completion function offers for the command line
# W... (the last word is the one being completed), sorted, one per line.
FN=
words() {
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE="$*"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  "$FN" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" \
    "${COMP_WORDS[COMP_CWORD - 1]:-}" 2>/dev/null
  [ "${#COMPREPLY[@]}" -gt 0 ] && printf '%s\n' "${COMPREPLY[@]}" | sort -u
}

# From one --help text: the long options (label lines only), and for each
# label "--name a|b|c" the values (placeholders in capitals left out).
help_options() {
  sed -n 's/^  \(-[A-Za-z], \|    \)\{0,1\}--\([a-z0-9-]*\).*/--\2/p' "$1" |
    sort -u
}
help_values() { # FILE OPTION
  sed -n "s/^  \(-[A-Za-z], \|    \)\{0,1\}$2 \([^ ]*\).*/\2/p" "$1" |
    tr '|' '\n' | grep -v '^[A-Z_]*$' | sort -u
}
help_takes_value() { # FILE OPTION
  grep -Eq "^  (-[A-Za-z], |    )?$2 [^ ]" "$1"
}
help_subcommands() {
  sed -n '/^Subcommands:/,/^$/s/^  \([a-z][a-z0-9-]*\) .*/\1/p' "$1" | sort -u
}

# same MSG EXPECTED ACTUAL: pass when the two lists are equal.
same() {
  if [ "$2" = "$3" ]; then
    ok "$1"
  else
    nok "$1"
    diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | sed 's/^/#   /'
  fi
}

# check_command TOOL [SUB]: options and values of one command.
check_command() {
  local tool=$1 sub=${2:-} h=$T/help opts o vals got pre
  "$(tl_bin "$tool")" ${sub:+"$sub"} --help >"$h" || {
    nok "$tool $sub --help exits 0"
    return
  }
  opts=$(help_options "$h")
  [ -n "$opts" ] || nok "$tool ${sub:-(default)}: --help lists options"
  # After the subcommand, or after one option of the default command.
  if [ -n "$sub" ]; then pre=("$tool" "$sub"); else pre=("$tool" --help); fi
  same "$tool ${sub:-(default)}: completion offers the options --help lists" \
    "$opts" "$(words "${pre[@]}" --)"
  for o in $opts; do
    help_takes_value "$h" "$o" || continue
    vals=$(help_values "$h" "$o")
    got=$(words "${pre[@]}" "$o" "")
    if [ -n "$vals" ]; then
      same "$tool ${sub:-(default)} $o: the values --help shows" "$vals" "$got"
    elif printf '%s\n' "$got" | grep -q '^--'; then
      nok "$tool ${sub:-(default)} $o takes a value: no option names offered"
    else
      ok "$tool ${sub:-(default)} $o takes a value: no option names offered"
    fi
  done
}

check_tool() {
  local tool=$1 top=$T/top subs s first
  FN=_$(printf '%s' "$tool" | tr - _)
  # shellcheck disable=SC1090
  . "$builddir/completion/$tool"
  complete -p "$tool" >/dev/null 2>&1 &&
    ok "$tool: completion is registered" || nok "$tool: completion is registered"
  "$(tl_bin "$tool")" --help >"$top"
  subs=$(help_subcommands "$top")
  if [ -n "$subs" ]; then
    same "$tool: first word offers the subcommands --help lists" \
      "$subs" "$(words "$tool" "")"
    same "$tool help: offers the subcommands" \
      "$(printf '%s\n' "$subs" | grep -vx help)" "$(words "$tool" help "")"
    for s in $subs; do
      [ "$s" = help ] || check_command "$tool" "$s"
    done
  else
    first=$(words "$tool" "")
    if printf '%s\n' "$first" | grep -qv '^--'; then
      nok "$tool has no subcommands: the first word offers only options"
    else
      ok "$tool has no subcommands: the first word offers only options"
    fi
  fi
  # "-" in the first place: the top-level options, --version among them
  # (and the tool must accept it).
  first=$(words "$tool" -)
  if printf '%s\n' "$first" | grep -qx -- --version &&
    printf '%s\n' "$first" | grep -qx -- --help &&
    "$(tl_bin "$tool")" --version >/dev/null; then
    ok "$tool: - offers --help and --version, which work"
  else
    nok "$tool: - offers --help and --version, which work"
  fi
  if grep -q '^Usage: [a-z-]* --' "$top"; then
    check_command "$tool"
  fi
}

for tool in pkjwt-keygen pkjwt-sign pkjwt-token; do
  check_tool "$tool"
done

# The comparison can fail: a copy of pkjwt-keygen's script that forgets
# info's --json, and one that forgets a --type value, must both be caught.
sed "s/ --json --passphrase-file --pkcs11-module --pin-file --help'/ --passphrase-file --pkcs11-module --pin-file --help'/" \
  "$builddir/completion/pkjwt-keygen" >"$T/broken1"
sed "s/'ec rsa'/'ec'/" "$builddir/completion/pkjwt-keygen" >"$T/broken2"
for b in broken1 broken2; do
  if cmp -s "$T/$b" "$builddir/completion/pkjwt-keygen"; then
    nok "self-check $b: the script could be broken on purpose"
    continue
  fi
  . "$T/$b"
  FN=_pkjwt_keygen
  before=$FAIL
  passed=$PASS
  exec 3>&1 1>/dev/null
  if [ $b = broken1 ]; then check_command pkjwt-keygen info; else
    check_command pkjwt-keygen new; fi
  exec 1>&3 3>&-
  caught=$((FAIL - before))
  FAIL=$before
  PASS=$passed
  [ "$caught" -gt 0 ] && ok "self-check: a broken script ($b) is caught" ||
    nok "self-check: a broken script ($b) is caught"
done

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ] && [ "$PASS" -gt 0 ]
