#!/bin/sh
# tests/rotation.sh: key sets from the command line. pkjwt-keygen rotate,
# activate, retire, status, check (every exit code) and export --dir;
# pkjwt-sign --keyset judged by pkjwt-sign verify (libjwt); every command of
# docs/rotation.md, in order, against the test token endpoint (each
# next.b64 the runbook makes is uploaded to it, as a person would); and the
# cron and systemd examples (systemd-analyze verify for the units).
# Failures: the exit status, one stderr line, an empty stdout, no file
# changed. EC P-256 keys only: they are fast.
# shellcheck disable=SC2016
set -u
: "${top_srcdir:=.}"
: "${top_builddir:=.}"
top_srcdir=$(cd "$top_srcdir" && pwd)
top_builddir=$(cd "$top_builddir" && pwd)
PY=${PYTHON3:-/usr/bin/python3}
[ -n "$PY" ] || PY=/usr/bin/python3
K=$top_builddir/tools/pkjwt-keygen
S=$top_builddir/tools/pkjwt-sign
EP=$top_srcdir/tests/endpoint/puzzel_endpoint.py
RUNBOOK=$top_srcdir/docs/rotation.md
EX=$top_srcdir/docs/examples

. "$top_srcdir/tests/tool-lib.sh"

"$PY" -c 'import jwcrypto, cryptography' 2>/dev/null || {
  echo "SKIP: $PY lacks jwcrypto or cryptography (the endpoint's judge)"
  exit 77
}
unset PKJWT_KEY PKJWT_KEYSET PKJWT_CLIENT_ID PKJWT_SCOPE PKJWT_BASE_URL

tl_begin
# The runbook and the examples call the tools by name: tl_tools_path puts
# the real binaries on PATH (libtool's wrapper scripts cost a shell a run).
tl_tools_path
K=$TL_PRIV/bin/pkjwt-keygen
S=$TL_PRIV/bin/pkjwt-sign
cd "$TL_DIR" || exit 99
EP_PID=
trap '[ -n "$EP_PID" ] && kill "$EP_PID" 2>/dev/null; _tl_cleanup' EXIT

# ---- the commands, their exit codes and their one-line failures -----------

mkdir d
TL_WATCH=d
tl_expect_fail "rotate without --dir" 2 'dir.*required' "$K" rotate
tl_expect_fail "status of a folder without a set" 3 'keyset.json: cannot open' \
  "$K" status --dir d
tl_expect_fail "activate with nothing staged" 3 'keyset.json' \
  "$K" activate --dir d
tl_expect_fail "check --within that is not a number of days" 2 '--within' \
  "$K" check --dir d --within soon
tl_expect_ok "rotate stages a first key" "$K" rotate --dir d/set --days 20 -q
tl_check "rotate printed one base64 line" \
  sh -c "[ \$(wc -l <'$TL_OUT') = 1 ] && grep -Eq '^[A-Za-z0-9+/]+=*\$' '$TL_OUT'"
tl_check "the folder is 0700, the key 0600" \
  sh -c '[ "$(stat -c %a d/set)" = 700 ] && [ "$(stat -c %a d/set/*.key)" = 600 ]'
TL_WATCH=d/set
tl_expect_fail "a second next key is refused" 3 'already staged as next' \
  "$K" rotate --dir d/set -q
tl_run "$K" check --dir d/set
tl_check "check: no active key, one staged: 11 ACTIVATE" \
  sh -c "[ $TL_RC = 11 ] && grep -q '^ACTIVATE: no active key' '$TL_OUT'"
tl_expect_ok "activate the staged key" "$K" activate --dir d/set -q
A=$("$K" status --dir d/set | awk '$2 == "active" {print $1}')
tl_run "$K" check --dir d/set --within 30d
# (19 or 20: the days are rounded down, and a second may pass between rotate and check)
tl_check "check: 20 days left within 30: 10 ROTATE" \
  sh -c "[ $TL_RC = 10 ] && grep -Eq '^ROTATE: active key $A expires in (19|20) days' '$TL_OUT'"
tl_run "$K" check --dir d/set --within 10
tl_check "check: 20 days left, window 10: 0 OK" \
  sh -c "[ $TL_RC = 0 ] && grep -q '^OK: active key $A' '$TL_OUT'"
tl_run "$K" check --dir d/set --json
tl_check "check --json: one object a JSON parser reads, status ROTATE, exit 10" \
  sh -c "[ $TL_RC = 10 ] && '$PY' -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o[\"status\"]==\"ROTATE\" and o[\"exit\"]==10 and o[\"active\"]==sys.argv[2], o' '$TL_OUT' '$A'"
tl_expect_ok "rotate stages the next key" "$K" rotate --dir d/set -q
B=$("$K" status --dir d/set | awk '$2 == "next" {print $1}')
tl_run "$K" check --dir d/set
tl_check "check: next staged, active due: 11 ACTIVATE naming it" \
  sh -c "[ $TL_RC = 11 ] && grep -q 'next key $B is staged' '$TL_OUT'"
tl_expect_ok "export --dir --format jwks" "$K" export --dir d/set --format jwks
tl_check "the JWKS holds the active and the next key, by kid" \
  "$PY" -c 'import json,sys; ks=[k["kid"] for k in json.load(open(sys.argv[1]))["keys"]]; assert sorted(ks)==sorted(sys.argv[2:]), ks' "$TL_OUT" "$A" "$B"
tl_expect_fail "retire the active key is refused" 1 'is the active key' \
  "$K" retire --dir d/set --kid "$A"
tl_expect_fail "retire a kid the set does not have" 1 'no key nope' \
  "$K" retire --dir d/set --kid nope

# pkjwt-sign --keyset: the active key signs; libjwt judges with its cert.
tl_expect_ok "pkjwt-sign --keyset signs" "$S" --keyset d/set --client-id c \
  --aud https://idp.example/token
cp "$TL_OUT" jws
tl_expect_ok "the assertion verifies against the active key's certificate" \
  "$S" verify --assertion "$(cat jws)" --cert "d/set/$A.crt" --client-id c \
  --aud https://idp.example/token
tl_check "its kid is the active key's" grep -q "\"kid\":\"$A\"" "$TL_OUT"
tl_expect_fail "pkjwt-sign --keyset with --key" 2 'keyset' \
  "$S" --keyset d/set --key "d/set/$A.key" --client-id c --aud https://x.example
tl_expect_ok "activate the next key" "$K" activate --dir d/set -q
tl_expect_ok "pkjwt-sign --keyset now signs with it" "$S" --keyset d/set \
  --client-id c --aud https://idp.example/token
tl_check "its kid is the new key's" sh -c "'$S' decode --assertion '$(cat "$TL_OUT")' | grep -q '\"kid\":\"$B\"'"
tl_run "$K" status --dir d/set --json
tl_check "status --json: the old key is previous, the new one active" \
  "$PY" -c 'import json,sys; s={k["kid"]:k["state"] for k in json.load(open(sys.argv[1]))["keys"]}; assert s=={sys.argv[2]:"previous",sys.argv[3]:"active"}, s' "$TL_OUT" "$A" "$B"
tl_expect_ok "retire the previous key" "$K" retire --dir d/set --kid "$A" -q

# A broken set: one line naming the file, exit 3, for every command.
cp d/set/keyset.json manifest.good
printf '{"version":1,"keys":[' >d/set/keyset.json
tl_expect_fail "check of a corrupt manifest: 3, naming it" 3 \
  'd/set: keyset.json: not JSON' "$K" check --dir d/set
tl_expect_fail "pkjwt-sign --keyset of a corrupt manifest" 3 'keyset.json' \
  "$S" --keyset d/set --client-id c --aud https://x.example
cp manifest.good d/set/keyset.json
mv "d/set/$B.key" moved.key
tl_expect_fail "status with the active key's file missing: 3, naming it" 3 \
  "$B.key: cannot open" "$K" status --dir d/set
mv moved.key "d/set/$B.key"
tl_check "no temporary file is left in the set" \
  sh -c '! ls -a d/set | grep -q tmp'

# 20 concurrent commands (10 rotate, 10 activate) on one set: each either
# succeeds or is refused in one line; the manifest stays valid throughout.
"$K" rotate --dir conc -q >/dev/null && "$K" activate --dir conc -q
i=0
while [ $i -lt 20 ]; do
  if [ $((i % 2)) = 0 ]; then
    "$K" rotate --dir conc -q >conc-$i.out 2>conc-$i.err &
  else
    "$K" activate --dir conc -q >conc-$i.out 2>conc-$i.err &
  fi
  i=$((i + 1))
done
wait
tl_check "20 concurrent rotate/activate: every refusal is one line" \
  sh -c 'for f in conc-*.err; do [ "$(wc -l <"$f")" -le 1 ] || exit 1; done'
tl_run "$K" status --dir conc --json
tl_check "... and the set loads: one active key, at most one next" \
  "$PY" -c 'import json,sys; st=[k["state"] for k in json.load(open(sys.argv[1]))["keys"]]; assert st.count("active")==1 and st.count("next")<=1 and len(st)>=2, st' "$TL_OUT"
tl_check "... and no temporary file is left" sh -c '! ls -a conc | grep -q tmp'

# ---- the runbook, against the test token endpoint ---------------------------

rm -f ep.port
"$PY" "$EP" --port-file ep.port --max-seconds 300 \
  --client "nobody:x:$top_srcdir/keys-example/ec-p256.b64" 2>ep.log &
EP_PID=$!
i=0
while [ ! -s ep.port ] && [ $i -lt 100 ]; do
  kill -0 "$EP_PID" 2>/dev/null || break
  sleep 0.1
  i=$((i + 1))
done
PORT=$(cat ep.port 2>/dev/null)
[ -n "$PORT" ] || {
  sed 's/^/# /' ep.log
  echo "FAIL: the test endpoint did not start"
  exit 99
}
BASE=http://127.0.0.1:$PORT
export TENANT_ID=1234 USER_ID=5678

# Register a base64 certificate for my-client-id, as Organisation
# Settings does with an uploaded secret.
upload() {
  "$PY" - "$BASE" "$1" <<'PYEOF'
import json, sys, urllib.request
base, path = sys.argv[1], sys.argv[2]
body = json.dumps({"client_id": "my-client-id",
                   "scope": "contact-centre:1234:5678",
                   "key": open(path).read()}).encode()
req = urllib.request.Request(base + "/_test/register", body,
                             {"Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=20).read()
PYEOF
}

# The ```sh blocks of the runbook, the folder in our scratch space and the
# base URL the test endpoint's; the first block (the settings) runs before
# each of the others.
awk '/^```sh$/ {n++; f = sprintf("block-%02d.sh", n); next}
     /^```$/ {f = ""; next}
     f {print > f}' "$RUNBOOK"
n_blocks=$(ls block-*.sh 2>/dev/null | wc -l)
tl_check "the runbook has its blocks ($n_blocks)" [ "$n_blocks" -ge 6 ]
for b in block-*.sh; do
  sed -i -e "s|/etc/myservice/keys|$TL_DIR/keys|g" \
    -e "s|https://app.puzzel.com|$BASE|g" "$b"
done
settings=block-01.sh
for b in block-*.sh; do
  [ "$b" = "$settings" ] && continue
  [ -f next.b64 ] && cp next.b64 next.b64.before
  tl_run sh -ec ". ./$settings; . ./$b"
  if [ "$TL_RC" -eq 0 ]; then
    tl_pass "runbook: $(grep -v '^ *#' "$b" | head -n 1 | cut -c 1-60)"
  else
    tl_fail "runbook: $(head -n 1 "$b" | cut -c 1-60)"
    _tl_show
  fi
  if [ -s next.b64 ] && ! cmp -s next.b64 next.b64.before 2>/dev/null; then
    upload next.b64 || tl_fail "upload of next.b64 to the test endpoint"
  fi
done
tl_run "$K" status --dir keys --json
tl_check "after the runbook: one active key, one retired, files of the retired gone" \
  "$PY" -c 'import json,os,sys
ks=json.load(open(sys.argv[1]))["keys"]
st=sorted(k["state"] for k in ks)
assert st==["active","retired"], st
old=[k for k in ks if k["state"]=="retired"][0]
assert not os.path.exists(os.path.join("keys", old["key"]))' "$TL_OUT"
tl_expect_fail "pkjwt-token --keyset with --key" 2 'keyset' \
  pkjwt-token --keyset keys --key x.key --client-id my-client-id \
  --scope contact-centre:1234:5678 --base-url "$BASE"
kill "$EP_PID" 2>/dev/null
EP_PID=

# ---- the cron and systemd examples ------------------------------------------

cp "$EX/keyset-check.sh" . && chmod +x keyset-check.sh
tl_expect_ok "keyset-check.sh: a fresh set is OK (exit 0)" sh keyset-check.sh keys 30
tl_run sh keyset-check.sh keys 400
tl_check "keyset-check.sh: due in the window: exit 10, a next key staged and printed" \
  sh -c "[ $TL_RC = 10 ] && grep -q '^ROTATE' '$TL_OUT' && grep -Eq '^[A-Za-z0-9+/]{100,}=*\$' '$TL_OUT' && '$K' status --dir keys | grep -q ' next '"
tl_run sh keyset-check.sh keys 400
tl_check "keyset-check.sh: staged, not active: exit 11, nothing new staged" \
  sh -c "[ $TL_RC = 11 ] && [ \$('$K' status --dir keys | grep -c ' next ') = 1 ]"
# The cron line's command, run as cron would (through sh).
cmd=$(awk '!/^#/ && !/^[A-Z_]+=/ && NF > 6 {for (i = 7; i <= NF; i++) printf "%s ", $i; print ""}' \
  "$EX/pkjwt-keyset-check.cron" |
  sed -e "s|/usr/local/sbin/pkjwt-keyset-check|sh $TL_DIR/keyset-check.sh|" \
    -e "s|/etc/myservice/keys|$TL_DIR/keys|")
tl_check "the cron file has one job line" [ -n "$cmd" ]
"$K" activate --dir keys -q
tl_run sh -c "$cmd"
tl_check "the cron job says nothing when nothing is due" [ ! -s "$TL_OUT" ]
tl_run sh -c "$(printf '%s' "$cmd" | sed 's/ 30 / 4000 /')"
tl_check "the cron job prints the ROTATE line and the certificate when due" \
  sh -c "grep -q '^ROTATE' '$TL_OUT' && grep -q 'Upload this certificate' '$TL_OUT'"
if tl_have systemd-analyze; then
  mkdir units
  sed -e "s|/usr/local/sbin/pkjwt-keyset-check|$TL_DIR/keyset-check.sh|" \
    -e "s|/etc/myservice/keys|$TL_DIR/keys|" \
    "$EX/pkjwt-keyset-check.service" >units/pkjwt-keyset-check.service
  cp "$EX/pkjwt-keyset-check.timer" units/
  tl_expect_ok "systemd-analyze verify accepts the service and the timer" \
    systemd-analyze verify --man=no units/pkjwt-keyset-check.service \
    units/pkjwt-keyset-check.timer
  sed -i 's/^OnCalendar=.*/OnCalendar=whenever/' units/pkjwt-keyset-check.timer
  tl_run systemd-analyze verify --man=no units/pkjwt-keyset-check.timer
  tl_check "self-check: systemd-analyze verify refuses a broken timer" \
    [ "$TL_RC" -ne 0 ]
  # The unit's command line, run as systemd would (the script, DIR, DAYS).
  exec_line=$(sed -n 's/^ExecStart=//p' units/pkjwt-keyset-check.service)
  tl_run sh -c "$exec_line"
  tl_check "the service's ExecStart runs the check (exit 0, OK: not due)" \
    sh -c "[ $TL_RC = 0 ] && grep -q '^OK:' '$TL_OUT'"
else
  tl_skip "systemd-analyze verify of the units" "systemd-analyze not found"
fi

tl_end
