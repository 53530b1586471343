#!/bin/sh
# tests/store.sh: pkjwt-token --cache through the library's file store,
# against the test token endpoint, which counts the token requests: 50 runs
# at once send one request and print one token; a corrupt or forged value
# is never served and is replaced; a folder others can write is refused
# (a warning, the token still comes, nothing written there); --store
# mistakes are one-line usage errors; --version names the stores.
# (8 processes x 8 threads over two token lifetimes: tests/fleet.sh.)
# shellcheck disable=SC2016
set -u
: "${top_srcdir:=.}"
: "${top_builddir:=.}"
top_srcdir=$(cd "$top_srcdir" && pwd)
top_builddir=$(cd "$top_builddir" && pwd)
PY=${PYTHON3:-/usr/bin/python3}
[ -n "$PY" ] || PY=/usr/bin/python3
EP=$top_srcdir/tests/endpoint/puzzel_endpoint.py

. "$top_srcdir/tests/tool-lib.sh"
. "$top_srcdir/tests/endpoint/start.sh"

"$PY" -c 'import jwcrypto, cryptography' 2>/dev/null || {
  echo "SKIP: $PY lacks jwcrypto or cryptography (the endpoint's judge)"
  exit 77
}
unset PKJWT_KEY PKJWT_KEYSET PKJWT_CLIENT_ID PKJWT_SCOPE PKJWT_BASE_URL \
  PKJWT_STORE PKJWT_STORE_PASSWORD

tl_begin
# The real binary: 50 libtool wrapper shells would measure the shell.
tl_direct pkjwt-token
T=$TL_TOOL
cd "$TL_DIR" || exit 99
EP_PID=
trap '[ -n "$EP_PID" ] && kill "$EP_PID" 2>/dev/null; _tl_cleanup' EXIT

SCOPE=contact-centre:1234:5678
ep_start "$PY" "$EP" ep.port ep.log --max-seconds 300 \
  --client "cid:$SCOPE:$top_srcdir/keys-example/ec-p256.b64" || {
  sed 's/^/# /' ep.log
  echo "FAIL: the test endpoint did not start"
  exit 99
}
BASE=http://127.0.0.1:$EP_PORT
requests() { ep_stat token_requests; }
reset() { ep_ctl reset; }
export XDG_CACHE_HOME=$TL_DIR/xdg
cp "$top_srcdir/keys-example/ec-p256.key" k.key && chmod 600 k.key || exit 99
set -- --key k.key --client-id cid \
  --scope "$SCOPE" --base-url "$BASE"

# ---- 50 at once ----------------------------------------------------------

reset
i=0
pids=
while [ $i -lt 50 ]; do
  "$T" "$@" --cache >"par.$i" 2>"par.err.$i" &
  pids="$pids $!"
  i=$((i + 1))
done
for p in $pids; do wait "$p"; done
tl_check "50 parallel --cache runs: one token request" [ "$(requests)" = 1 ]
tl_check "... every run printed the same token, nothing on stderr" sh -c '
  for f in par.*; do case $f in par.err.*) [ ! -s "$f" ] || exit 1;;
    *) cmp -s "$f" par.0 || exit 1;; esac; done; [ -s par.0 ]'
F=$(find xdg/pkjwt -type f ! -name '*.lock')
tl_check "one 0600 file in a 0700 folder" sh -c "
  [ \$(echo '$F' | wc -l) = 1 ] && [ \$(stat -c %a '$F') = 600 ] &&
  [ \$(stat -c %a xdg/pkjwt) = 700 ]"
tl_check "the file holds the record, not the key" sh -c "
  head -n1 '$F' | grep -qx 'pkjwt-store 1' && ! grep -q PRIVATE '$F'"
tl_check "no temporary file is left" sh -c '! ls -a xdg/pkjwt | grep -q tmp'

# ---- corrupt and forged values ---------------------------------------------

TOK=$(cat par.0)
reset
printf 'garbage\n' >"$F"
tl_expect_ok "a corrupt value: a token" "$T" "$@" --cache
tl_check "... fetched, not served: one request, a new token" sh -c "
  [ \$(cat '$TL_OUT') != '$TOK' ] && [ $(requests) = 1 ]"
tl_check "... and replaced by a good record" \
  sh -c "head -n1 '$F' | grep -qx 'pkjwt-store 1'"
# A record whose token was swapped for one of another length.
sed 's/^token \([0-9]*\)$/token 5/' "$F" >forged && cat forged >"$F"
tl_run "$T" "$@" --cache
tl_check "a record with a wrong length: the forged bytes never served" \
  sh -c "[ $TL_RC = 0 ] && [ \$(wc -c <'$TL_OUT') -gt 6 ] && [ $(requests) = 2 ]"
# A record of another version.
sed '1s/.*/pkjwt-store 9/' "$F" >forged && cat forged >"$F"
tl_run "$T" "$@" --cache
tl_check "a record of another version: ignored" \
  sh -c "[ $TL_RC = 0 ] && [ $(requests) = 3 ]"

# ---- folders that are refused --------------------------------------------

reset
chmod 777 xdg/pkjwt
rm -f "$F"
tl_run "$T" "$@" --cache
tl_check "a folder others can write: warning, token, nothing written" sh -c "
  [ $TL_RC = 0 ] && [ \$(wc -l <'$TL_OUT') = 1 ] &&
  grep -q 'others can write' '$TL_ERR' && [ \$(wc -l <'$TL_ERR') = 1 ] &&
  [ -z \"\$(find xdg/pkjwt -type f ! -name '*.lock')\" ]"
tl_check "... the warning shows no token" \
  sh -c "! grep -qF \"\$(cat '$TL_OUT')\" '$TL_ERR'"
chmod 700 xdg/pkjwt

# ---- --store mistakes, --version ----------------------------------------------

tl_expect_fail "--cache and --store together" 2 'not both' \
  "$T" "$@" --cache --store redis://127.0.0.1:1
tl_expect_fail "--store-password-file without --store" 2 'needs --store' \
  "$T" "$@" --store-password-file /dev/null
tl_expect_fail "--store-lock-ms that is not a number" 2 'store-lock-ms' \
  "$T" "$@" --cache --store-lock-ms soon
tl_expect_fail "--store-timeout-ms out of range" 2 'store-timeout-ms' \
  "$T" "$@" --cache --store-timeout-ms 0
tl_expect_fail "--store with a password in the URL" 2 '' \
  "$T" "$@" --store redis://u:secret@127.0.0.1:1
tl_check "... the password is not repeated" sh -c "! grep -q secret '$TL_ERR'"
tl_expect_fail "--store that is not a store URL" 2 '' \
  "$T" "$@" --store http://127.0.0.1:1
tl_expect_ok "--version" "$T" --version
tl_check "--version names the token stores" \
  grep -Eq '^token stores: file( redis)?$' "$TL_OUT"

tl_end
