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

# ep_stat PATH [URL]: print one value of the endpoint's /_test/stats (a
# string as it is, anything else as JSON: 3, null, true): PATH is keys and
# list indexes joined by dots (token_requests, audiences.-1). URL: the
# endpoint, by default the one ep_start started. curl asks, not a python3
# that would start for each value (about 80 ms of CPU each, against 10);
# -q: no ~/.curlrc, no proxy: the endpoint on 127.0.0.1 itself.
ep_stat() {
  curl -q -sf --noproxy '*' --max-time 20 \
    "${2:-http://127.0.0.1:$EP_PORT}/_test/stats?get=$1"
}

# ep_ctl OP [JSON [URL]]: POST JSON (default {}) to the endpoint's
# /_test/OP (reset, misbehave, ...); fails when it answers an error
# status (curl -f: 400 and up) or not at all.
ep_ctl() {
  curl -q -sf --noproxy '*' --max-time 20 -o /dev/null \
    -H 'Content-Type: application/json' --data-binary "${2:-{\}}" \
    "${3:-http://127.0.0.1:$EP_PORT}/_test/$1"
}
