#!/bin/sh
# tests/token-demo.sh: the README's first command, scripts/demo.sh, runs the
# whole main job to the end and leaves no scratch folder behind.
set -u
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${top_builddir:-$(pwd)}
PYTHON3=${PYTHON3:-/usr/bin/python3}
export PYTHON3
"$PYTHON3" -c 'import jwcrypto, cryptography' 2>/dev/null ||
  { echo "SKIP: $PYTHON3 lacks jwcrypto or cryptography"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/pkjwt-demo-test.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
PASS=0
FAIL=0
t() {
  d=$1
  shift
  if "$@"; then PASS=$((PASS + 1)); echo "ok - $d"; else
    FAIL=$((FAIL + 1)); echo "FAIL - $d"; fi
}
TMPDIR=$T sh "$srcdir/scripts/demo.sh" "$builddir" >"$T/out" 2>"$T/err"
rc=$?
sed 's/^/# /' "$T/out" "$T/err"
t "demo.sh exits 0" [ $rc -eq 0 ]
t "demo.sh shows the base64 certificate and the JWK" \
  grep -q 'Manage Client Secrets' "$T/out"
# One menu path to the upload page, the one Puzzel's guide shows.
t "demo.sh names the upload page once" \
  [ "$(grep -c 'Manage Client Secrets' "$T/out")" = 1 ]
t "demo.sh's upload path is Puzzel's" sh -c "tr -s ' \n' '  ' <'$T/out' |
  grep -q 'Organisation Settings -> OIDC Clients -> your client -> Manage Client Secrets -> Add -> Private Key JWT'"
# The token response (step 4) and the check (step 5) show the same scope.
scopes=$(sed -n 's/^ *scope: *\([^ ]*\).*/\1/p' "$T/out" | sort -u)
t "demo.sh shows one scope in the response and the check ($scopes)" \
  test "$(sed -n 's/^ *scope: *\([^ ]*\).*/\1/p' "$T/out" | wc -l)" = 2 \
  -a "$scopes" = contact-centre:1234:5678
t "demo.sh checked the token" grep -q "active: *true" "$T/out"
t "demo.sh removed its scratch folder" \
  [ -z "$(find "$T" -name 'pkjwt-demo.*' 2>/dev/null)" ]
sh "$srcdir/scripts/demo.sh" >/dev/null 2>&1
t "demo.sh without BUILD_DIR: exit 2" [ $? -eq 2 ]
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
