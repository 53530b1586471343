#!/bin/sh
# tests/redis.sh: pkjwt-token --store against a real redis-server started
# here on 127.0.0.1 (a free port) and stopped at the end, and the test
# token endpoint, which counts the token requests: 50 runs at once send one
# request; a corrupt value is never served and is replaced; the value
# expires with the token (PX); a lock holder killed with SIGKILL costs one
# more request after the lock's lifetime, no more; Redis stopped mid-run:
# every run still gets its token, at most one request per run; AUTH with a
# password file (and PKJWT_STORE_PASSWORD); rediss:// (TLS, AUTH over it)
# with a test CA, another CA and the system's trust store refused (a
# warning, the token fetched). Skips (77) without redis-server, redis-cli
# or a build with the Redis store.
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
. "$top_srcdir/tests/redis-lib.sh"

"$PY" -c 'import jwcrypto, cryptography' 2>/dev/null || {
  echo "SKIP: $PY lacks jwcrypto or cryptography (the endpoint's judge)"
  exit 77
}
why=$(redis_usable) || {
  echo "SKIP: $why"
  exit 77
}
unset PKJWT_KEY PKJWT_KEYSET PKJWT_CLIENT_ID PKJWT_SCOPE PKJWT_BASE_URL \
  PKJWT_STORE PKJWT_STORE_PASSWORD

tl_begin
tl_direct pkjwt-token
T=$TL_TOOL
"$T" --version | grep -q '^token stores:.* redis' || {
  echo "SKIP: this build has no Redis store (configure found no hiredis)"
  exit 77
}
cd "$TL_DIR" || exit 99
EP_PID= R_PID= A_PID= S_PID= SILENT_PID=
trap 'for p in $EP_PID $R_PID $A_PID $S_PID $SILENT_PID; do kill "$p" 2>/dev/null; done
  _tl_cleanup' EXIT

rcli() { redis-cli -p "$R_PORT" "$@"; }

SCOPE=contact-centre:1234:5678
ep_start "$PY" "$EP" ep.port ep.log --max-seconds 300 \
  --client "cid:$SCOPE:$top_srcdir/keys-example/ec-p256.b64" || {
  sed 's/^/# /' ep.log
  echo "FAIL: the test endpoint did not start"
  exit 99
}
BASE=http://127.0.0.1:$EP_PORT
redis_start R || { echo "FAIL: redis-server did not start"; exit 99; }
requests() { ep_stat token_requests; }
ctl() { ep_ctl "$@"; }
cp "$top_srcdir/keys-example/ec-p256.key" k.key && chmod 600 k.key || exit 99
set -- --key k.key --client-id cid --scope "$SCOPE" --base-url "$BASE"
URL=redis://127.0.0.1:$R_PORT
# A busy test machine (make -j, other builds) can take longer than the
# default 200 ms per store call, which would only cost warnings and extra
# requests; the fallback has its own tests below.
set -- "$@" --store-timeout-ms 3000
# par N ARGS...: N runs at once; par.I and par.err.I.
par() {
  _n=$1
  shift
  rm -f par.*
  _i=0 _pids=
  while [ $_i -lt "$_n" ]; do
    "$T" "$@" >"par.$_i" 2>"par.err.$_i" &
    _pids="$_pids $!"
    _i=$((_i + 1))
  done
  _bad=0
  for _p in $_pids; do wait "$_p" || _bad=$((_bad + 1)); done
  return $_bad
}
same_tokens() {
  for f in par.[0-9]*; do cmp -s "$f" par.0 || return 1; done
  [ -s par.0 ]
}

# ---- 50 at once ----------------------------------------------------------

ctl reset
par 50 "$@" --store "$URL"
tl_check "50 parallel --store runs: all succeed" [ $? = 0 ]
tl_check "... one token request" [ "$(requests)" = 1 ]
tl_check "... one token, nothing on stderr" sh -c '
  for f in par.err.*; do [ ! -s "$f" ] || { head -n3 "$f"; exit 1; }; done'
tl_check "... the same token everywhere" same_tokens
KEY=$(rcli --scan --pattern 'pkjwt:token:*')
tl_check "one key, pkjwt:token:<cache id>" \
  sh -c "echo '$KEY' | grep -Eqx 'pkjwt:token:[0-9a-f]{64}'"
ttl=$(rcli PTTL "$KEY")
tl_check "the value expires with the token (PX; 900 s token): $ttl ms" \
  sh -c "[ '$ttl' -gt 800000 ] && [ '$ttl' -le 900000 ]"
tl_check "no lock is left" sh -c "[ -z \"\$(redis-cli -p $R_PORT --scan --pattern 'pkjwt:lock:*')\" ]"
PKJWT_STORE=$URL "$T" "$@" >env.out 2>env.err
tl_check "PKJWT_STORE stands in for --store: the stored token" \
  sh -c "[ ! -s env.err ] && cmp -s env.out par.0 && [ $(requests) = 1 ]"

# ---- a corrupt value ---------------------------------------------------------

TOK=$(cat par.0)
rcli SET "$KEY" "garbage $TOK" >/dev/null
tl_expect_ok "a corrupt value: a token" "$T" "$@" --store "$URL"
tl_check "... fetched, never served: one more request, another token" \
  sh -c "[ \"\$(cat '$TL_OUT')\" != '$TOK' ] && [ $(requests) = 2 ]"
tl_check "... and the value replaced by a good record" \
  sh -c "redis-cli -p $R_PORT GET '$KEY' | head -n1 | grep -qx 'pkjwt-store 1'"

# ---- a lock holder killed ------------------------------------------------------

rcli DEL "$KEY" >/dev/null
ctl reset
ctl misbehave '{"mode": "slow", "count": 1, "delay": 20}'
"$T" "$@" --store "$URL" --store-lock-ms 3000 >killed.out 2>&1 &
K_PID=$!
i=0
while [ $i -lt 100 ] && [ "$(requests)" = 0 ]; do sleep 0.1; i=$((i + 1)); done
kill -9 "$K_PID" 2>/dev/null
wait "$K_PID" 2>/dev/null
tl_check "the killed holder had sent its request and kept the lock" \
  sh -c "[ $(requests) = 1 ] && [ -n \"\$(redis-cli -p $R_PORT --scan --pattern 'pkjwt:lock:*')\" ]"
start=$(date +%s%N)
par 5 "$@" --store "$URL" --store-lock-ms 3000
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
tl_check "then 5 runs: all get a token, one more request ($(requests) in all)" \
  sh -c "[ $rc = 0 ] && [ $(requests) = 2 ]"
tl_check "... the same token, after the lock ran out (${ms} ms)" \
  sh -c "same_tokens() { for f in par.[0-9]*; do cmp -s \$f par.0 || return 1; done; }; same_tokens && [ $ms -ge 500 ] && [ $ms -lt 10000 ]"

# ---- Redis stopped mid-run -----------------------------------------------------

rcli DEL "$KEY" >/dev/null
ctl reset
rm -f mid.*
i=0 pids=
while [ $i -lt 20 ]; do
  "$T" "$@" --store "$URL" >"mid.$i" 2>"mid.err.$i" &
  pids="$pids $!"
  [ $i = 10 ] && { kill "$R_PID"; wait "$R_PID" 2>/dev/null; R_PID=; }
  sleep 0.05
  i=$((i + 1))
done
bad=0
for p in $pids; do wait "$p" || bad=$((bad + 1)); done
n=$(requests)
tl_check "Redis stopped mid-run: all 20 runs get a token" [ $bad = 0 ]
tl_check "... at most one request per run ($n)" [ "$n" -ge 1 -a "$n" -le 20 ]
tl_check "... a run without the store says so in one warning line" sh -c '
  for f in mid.err.*; do [ "$(wc -l <"$f")" -le 1 ] || exit 1; done
  cat mid.err.* | grep -q "warning: .*token store"'
tl_check "... and no warning shows a token" sh -c '
  for f in mid.[0-9]*; do ! grep -qF -e "$(cat "$f")" mid.err.* || exit 1; done'
tl_expect_ok "Redis down before the run: a token, one warning line" \
  "$T" "$@" --store "$URL"
tl_check "... the warning names the store" \
  sh -c "[ \$(wc -l <'$TL_ERR') = 1 ] && grep -q 'token store' '$TL_ERR'"

# ---- AUTH ---------------------------------------------------------------------

printf 's3cret-pw\n' >pw
chmod 600 pw
redis_start A --requirepass s3cret-pw ||
  { echo "FAIL: redis-server with a password did not start"; exit 99; }
ctl reset
AURL=redis://127.0.0.1:$A_PORT/2
par 10 "$@" --store "$AURL" --store-password-file pw
tl_check "AUTH with a password file: 10 runs, one request" \
  sh -c "[ $? = 0 ] && [ $(requests) = 1 ]"
tl_check "... the token is in database 2" sh -c "
  [ \"\$(redis-cli -p $A_PORT -a s3cret-pw -n 2 --no-auth-warning --scan --pattern 'pkjwt:token:*')\" = '$KEY' ]"
PKJWT_STORE_PASSWORD=s3cret-pw "$T" "$@" --store "$AURL" >env.out 2>env.err
tl_check "PKJWT_STORE_PASSWORD: the stored token, no request" \
  sh -c "[ ! -s env.err ] && cmp -s env.out par.0 && [ $(requests) = 1 ]"
tl_run "$T" "$@" --store "$AURL"
tl_check "no password: a warning, the token fetched without the store" \
  sh -c "[ $TL_RC = 0 ] && grep -q 'token store' '$TL_ERR' && [ $(requests) = 2 ]"
tl_check "... the password shows nowhere" sh -c '! grep -rq s3cret-pw par.* env.* "$1"' _ "$TL_ERR"
tl_expect_fail "a password file that cannot be read" 3 'nope' \
  "$T" "$@" --store "$AURL" --store-password-file nope

# ---- rediss:// (TLS) -------------------------------------------------------

# A test CA from the openssl CLI; the server's certificate names 127.0.0.1
# and localhost. AUTH goes over the TLS connection.
if ! sh "$top_srcdir/tests/endpoint/make-test-ca.sh" tls >tls.log 2>&1; then
  tl_skip "rediss://" "no test CA (openssl CLI): $(tail -n1 tls.log)"
elif ! redis_start_tls S tls --requirepass s3cret-pw; then
  tl_skip "rediss://" "this redis-server does not speak TLS"
else
  ctl reset
  SURL="rediss://127.0.0.1:$S_PORT/3?cacert=$TL_DIR/tls/ca.pem"
  par 10 "$@" --store "$SURL" --store-password-file pw
  tl_check "rediss:// with the test CA and AUTH: 10 runs, one request" \
    sh -c "[ $? = 0 ] && [ $(requests) = 1 ]"
  tl_check "... one token, nothing on stderr" sh -c '
    for f in par.err.*; do [ ! -s "$f" ] || { head -n3 "$f"; exit 1; }; done'
  tl_check "... the token is in database 3 of the TLS server" sh -c "
    [ \"\$(redis-cli --tls --cacert tls/ca.pem -p $S_PORT -a s3cret-pw -n 3 \
      --no-auth-warning --scan --pattern 'pkjwt:token:*')\" = '$KEY' ]"
  # (a bare root, as debootstrap makes one, has no /etc/hosts: there the
  # name localhost does not resolve and this one case is skipped)
  if getent ahostsv4 localhost 2>/dev/null | grep -q '^127\.'; then
    PKJWT_STORE_PASSWORD=s3cret-pw "$T" "$@" \
      --store "rediss://localhost:$S_PORT/3?cacert=$TL_DIR/tls/ca.pem" \
      >env.out 2>env.err
    tl_check "rediss://localhost (a DNS name checked): the stored token" \
      sh -c "[ ! -s env.err ] && cmp -s env.out par.0 && [ $(requests) = 1 ]"
  else
    tl_skip "rediss://localhost (a DNS name checked)" \
      "the name localhost does not resolve to 127.x here (no /etc/hosts?)"
  fi
  tl_run "$T" "$@" --store-password-file pw \
    --store "rediss://127.0.0.1:$S_PORT/3?cacert=$TL_DIR/tls/untrusted.pem"
  tl_check "another CA: refused, a warning, the token fetched without it" \
    sh -c "[ $TL_RC = 0 ] && [ -s '$TL_OUT' ] && ! cmp -s '$TL_OUT' par.0 &&
      grep -q 'token store' '$TL_ERR' && [ $(requests) = 2 ]"
  tl_run "$T" "$@" --store-password-file pw \
    --store "rediss://127.0.0.1:$S_PORT/3"
  tl_check "the system's trust store, without the test CA: refused too" \
    sh -c "[ $TL_RC = 0 ] && grep -q 'token store' '$TL_ERR' &&
      [ $(requests) = 3 ]"
  tl_run "$T" "$@" --store-password-file pw \
    --store "redis://127.0.0.1:$S_PORT/3"
  tl_check "redis:// (no TLS) to the TLS port: a warning, fetched" \
    sh -c "[ $TL_RC = 0 ] && grep -q 'token store' '$TL_ERR' &&
      [ $(requests) = 4 ]"
  tl_check "... the password shows nowhere" \
    sh -c '! grep -rq s3cret-pw par.* env.* "$1"' _ "$TL_ERR"
fi
# A server that takes the connection and never answers the handshake: the
# store call ends at its timeout, and the token still comes.
"$PY" -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
with open(sys.argv[1], "w") as f: f.write(str(s.getsockname()[1]))
conns = []
while True: conns.append(s.accept()); time.sleep(0.01)' silent.port &
SILENT_PID=$!
i=0
while [ ! -s silent.port ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
start=$(date +%s%N)
tl_run "$T" --key k.key --client-id cid --scope "$SCOPE" --base-url "$BASE" \
  --store-timeout-ms 500 --store "rediss://127.0.0.1:$(cat silent.port)"
ms=$((($(date +%s%N) - start) / 1000000))
kill "$SILENT_PID" 2>/dev/null
tl_check "rediss:// to a server that never does TLS: a token, a warning, in ${ms} ms" \
  sh -c "[ $TL_RC = 0 ] && [ -s '$TL_OUT' ] && grep -q 'token store' '$TL_ERR' &&
    [ $ms -lt 8000 ]"

# ---- refusals -------------------------------------------------------------------

tl_expect_fail "?cacert= in a redis:// URL (no TLS) refused" 2 'rediss' \
  "$T" "$@" --store "redis://127.0.0.1:$A_PORT?cacert=/etc/hostname"
tl_expect_fail "rediss:// with a CA file that cannot be read" 2 'nope' \
  "$T" "$@" --store "rediss://127.0.0.1:$A_PORT?cacert=$TL_DIR/nope"
tl_expect_fail "a store URL with a port out of range" 2 'port' \
  "$T" "$@" --store "redis://127.0.0.1:99999"
tl_expect_fail "unix: without an absolute path" 2 'absolute' \
  "$T" "$@" --store "unix:sock"

tl_end
