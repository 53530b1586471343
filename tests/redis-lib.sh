# tests/redis-lib.sh: a redis-server for the tests, on 127.0.0.1 (a free
# port), in the test's folder, without persistence; sourced (POSIX sh) by
# tests/redis.sh and tests/fleet.sh, after tests/tool-lib.sh (TL_DIR) and
# with PY set. The caller stops VAR_PID.
REDIS_SERVER=${REDIS_SERVER:-redis-server}
[ -n "$REDIS_SERVER" ] || REDIS_SERVER=redis-server

# redis_usable: 0 when redis-server and redis-cli are here, else says why.
redis_usable() {
  command -v "$REDIS_SERVER" >/dev/null 2>&1 || {
    echo "no redis-server (Debian: redis-server)"
    return 1
  }
  command -v redis-cli >/dev/null 2>&1 || {
    echo "no redis-cli (Debian: redis-tools)"
    return 1
  }
}

freeport() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# _redis_wait PORT [REDIS-CLI ARGS...]: bounded wait (10 s) until the server
# on PORT answers PING (or asks for AUTH); its log otherwise.
_redis_wait() {
  _rw_port=$1
  shift
  _rw_i=0
  while [ $_rw_i -lt 100 ]; do
    redis-cli "$@" -p "$_rw_port" PING 2>/dev/null | grep -Eq 'PONG|NOAUTH' &&
      return 0
    sleep 0.1
    _rw_i=$((_rw_i + 1))
  done
  sed 's/^/# /' "$TL_DIR/redis-$_rw_port.log"
  return 1
}

# redis_start VAR ARGS...: a redis-server on a free port, its pid in VAR_PID
# and its port in VAR_PORT; waits (bounded) until it answers PING.
redis_start() {
  _v=$1
  shift
  _port=$(freeport)
  _redis_run "$_v" "$_port" --port "$_port" "$@" && _redis_wait "$_port"
}

# redis_start_tls VAR DIR ARGS...: as redis_start, but TLS only (no plain
# port), with DIR's server.pem and server.key (tests/endpoint/make-test-ca.sh)
# and no client certificate asked for.
redis_start_tls() {
  _v=$1 _d=$2
  shift 2
  _port=$(freeport)
  _redis_run "$_v" "$_port" --port 0 --tls-port "$_port" \
    --tls-cert-file "$_d/server.pem" --tls-key-file "$_d/server.key" \
    --tls-ca-cert-file "$_d/ca.pem" --tls-auth-clients no "$@" &&
    _redis_wait "$_port" --tls --cacert "$_d/ca.pem"
}

_redis_run() {
  _v=$1 _port=$2
  shift 2
  "$REDIS_SERVER" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --dir "$TL_DIR" "$@" >"$TL_DIR/redis-$_port.log" 2>&1 &
  eval "${_v}_PID=\$! ${_v}_PORT=$_port"
}
