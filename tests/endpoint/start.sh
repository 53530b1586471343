# tests/endpoint/start.sh: start the test token endpoint in the background
# and wait, bounded, until it listens. Sourced (POSIX sh) by the tests, the
# Debian stage and scripts/demo.sh, so that the start-and-wait lives here
# once.
#
#   ep_start PYTHON ENDPOINT PORTFILE ERRFILE [ARG...]
#     runs PYTHON ENDPOINT --port-file PORTFILE ARG... with stderr in
#     ERRFILE; sets EP_PID (the server) and EP_PORT (its port on
#     127.0.0.1). Waits at most ${EP_WAIT_TENTHS:-100} tenths of a second;
#     returns 1, with EP_PORT empty, when the server exits first or does not
#     listen in time (ERRFILE says why). The caller stops EP_PID.
ep_start() {
  _ep_py=$1 _ep_script=$2 _ep_portfile=$3 _ep_err=$4
  shift 4
  rm -f "$_ep_portfile"
  "$_ep_py" "$_ep_script" --port-file "$_ep_portfile" "$@" 2>"$_ep_err" &
  EP_PID=$!
  _ep_i=0
  while [ ! -s "$_ep_portfile" ] && [ "$_ep_i" -lt "${EP_WAIT_TENTHS:-100}" ]
  do
    kill -0 "$EP_PID" 2>/dev/null || break
    sleep 0.1
    _ep_i=$((_ep_i + 1))
  done
  EP_PORT=$(cat "$_ep_portfile" 2>/dev/null || true)
  [ -n "$EP_PORT" ]
}

# ep_stat PYTHON PATH: print one value of the started endpoint's
# /_test/stats: PATH is keys and list indexes joined by dots
# (token_requests, audiences.-1).
ep_stat() {
  "$1" -c 'import json,sys,urllib.request
s=json.load(urllib.request.urlopen(sys.argv[1]+"/_test/stats",timeout=20))
for k in sys.argv[2].split("."):
    s=s[int(k)] if isinstance(s,list) else s[k]
print(s)' "http://127.0.0.1:$EP_PORT" "$2"
}

# ep_ctl PYTHON OP [JSON]: POST JSON (default {}) to the started
# endpoint's /_test/OP (reset, misbehave, ...).
ep_ctl() {
  "$1" -c 'import sys,urllib.request
urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/_test/" + sys.argv[2], sys.argv[3].encode(), {"Content-Type": "application/json"}), timeout=20).read()' "http://127.0.0.1:$EP_PORT" "$2" "${3:-{\}}"
}
