#!/bin/sh
# tests/example.sh: docs/examples/get-token.c compiles against the built library
# through pkg-config (as a user's program would, plus the build tree's
# paths since nothing is installed), gets a token from the test endpoint,
# and the check endpoint accepts that token. A wrong client id fails with
# nothing on stdout.
set -u
src=${top_srcdir:-.}
build=${top_builddir:-.}
py=${PYTHON3:-/usr/bin/python3}
openssl=${OPENSSL_CLI:-openssl}
cc=${CC:-cc}

command -v pkg-config >/dev/null 2>&1 || { echo "SKIP: no pkg-config"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "SKIP: no curl CLI"; exit 77; }

tmp=$(mktemp -d) || exit 99
pid=
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# 1. compile and link through pkjwt.pc
# pkg-config prints paths as they are, so a prefix with a space (distcheck's
# _inst in a clone path with a space) cannot be split into words. Nothing is
# installed there yet and the build tree's paths come below, so such a
# prefix is replaced by one without the space.
pc() {
  case $(PKG_CONFIG_PATH=$build pkg-config --variable=prefix pkjwt) in
    *[[:space:]]*) set -- --define-variable=prefix=/nonexistent-prefix "$@" ;;
  esac
  PKG_CONFIG_PATH=$build pkg-config "$@"
}
cflags=$(pc --cflags pkjwt) || fail "pkg-config --cflags pkjwt"
libs=$(pc --libs pkjwt) || fail "pkg-config --libs pkjwt"
# shellcheck disable=SC2086 # word splitting of flags is wanted
$cc -std=c99 -Wall -Wextra -Werror ${PKJWT_SANITIZE_FLAGS:-} -I"$src/include" -I"$build/include" \
  $cflags "$src/docs/examples/get-token.c" -o "$tmp/get-token" \
  -L"$build/.libs" $libs -Wl,-rpath,"$build/.libs" ||
  fail "docs/examples/get-token.c does not compile against libpkjwt"

# 2. a key, its certificate as Organisation Settings takes it, an endpoint
"$openssl" req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$tmp/key.pem" -subj /CN=example -days 2 -outform DER \
  -out "$tmp/cert.der" 2>/dev/null || fail "openssl req"
chmod 600 "$tmp/key.pem"
base64 -w0 "$tmp/cert.der" >"$tmp/cert.b64"
scope=contact-centre:1234:5678
. "$src/tests/endpoint/start.sh"
EP_WAIT_TENTHS=300 ep_start "$py" "$src/tests/endpoint/puzzel_endpoint.py" \
  "$tmp/port" "$tmp/endpoint.log" --max-seconds 120 \
  --client "example-client:$scope:$tmp/cert.b64"
pid=$EP_PID
[ -n "$EP_PORT" ] || { cat "$tmp/endpoint.log"; fail "endpoint did not start"; }
base=http://127.0.0.1:$EP_PORT

# 3. get a token
"$tmp/get-token" "$tmp/key.pem" example-client "$scope" "$base" \
  >"$tmp/token" 2>"$tmp/err" || { cat "$tmp/err"; fail "get-token failed"; }
[ "$(wc -l <"$tmp/token")" -eq 1 ] || fail "stdout is not one line"
token=$(cat "$tmp/token")
[ ${#token} -ge 20 ] || fail "token too short: $token"

# 4. the check endpoint accepts it (curl's own client, not ours)
code=$(curl -s --noproxy '*' -o "$tmp/check" -w '%{http_code}' \
  -H "Authorization: Bearer $token" \
  "$base/contactcentre5/accesstokeninformation") || fail "curl"
[ "$code" = 200 ] || fail "check endpoint answered $code"
grep -q '"active": *true' "$tmp/check" || fail "check: $(cat "$tmp/check")"
grep -q '"client_id": *"example-client"' "$tmp/check" ||
  fail "check: wrong client: $(cat "$tmp/check")"

# 5. the same from the environment
PKJWT_KEY=$tmp/key.pem PKJWT_CLIENT_ID=example-client PKJWT_SCOPE=$scope \
  PKJWT_BASE_URL=$base "$tmp/get-token" >"$tmp/token2" 2>"$tmp/err" ||
  { cat "$tmp/err"; fail "get-token from the environment failed"; }
[ -s "$tmp/token2" ] || fail "no token from the environment"

# 6. a refusal: non-zero, nothing on stdout, the server's words and a hint
if "$tmp/get-token" "$tmp/key.pem" no-such-client "$scope" "$base" \
  >"$tmp/out" 2>"$tmp/err"; then
  fail "an unknown client got a token"
fi
[ ! -s "$tmp/out" ] || fail "stdout not empty on failure"
grep -q "unknown client" "$tmp/err" || fail "stderr: $(cat "$tmp/err")"
grep -q "hint: .*Organisation Settings" "$tmp/err" ||
  fail "no hint: $(cat "$tmp/err")"
echo "ok: docs/examples/get-token.c builds through pkg-config and gets a token"
