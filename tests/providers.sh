#!/bin/sh
# tests/providers.sh: pkjwt-token against each provider's shape (the test
# endpoint's --provider keycloak, entra, auth0, okta, generic and the
# default puzzel), by running every ```sh block of docs/providers/NAME.md in
# order, with the provider's URL replaced by the endpoint's, and the key
# the page makes uploaded as the page says. Then the refusals: each exits
# non-zero with one line on stderr that names the cause, nothing on stdout.
# EC P-256 keys where the provider takes them, RSA 2048 for Auth0 and Entra.
# shellcheck disable=SC2016
set -u
: "${top_srcdir:=.}"
: "${top_builddir:=.}"
top_srcdir=$(cd "$top_srcdir" && pwd)
top_builddir=$(cd "$top_builddir" && pwd)
PY=${PYTHON3:-/usr/bin/python3}
[ -n "$PY" ] || PY=/usr/bin/python3
EP=$top_srcdir/tests/endpoint/puzzel_endpoint.py
DOCS=$top_srcdir/docs/providers

. "$top_srcdir/tests/tool-lib.sh"
. "$top_srcdir/tests/endpoint/start.sh"

"$PY" -c 'import jwcrypto, cryptography' 2>/dev/null || {
  echo "SKIP: $PY lacks jwcrypto or cryptography (the endpoint's judge)"
  exit 77
}
unset PKJWT_KEY PKJWT_KEYSET PKJWT_CLIENT_ID PKJWT_SCOPE PKJWT_BASE_URL \
  PKJWT_PROFILE

tl_begin
# The pages call the tools by name (as tests/rotation.sh does).
tl_tools_path
XDG_CACHE_HOME=$TL_DIR/cache
export XDG_CACHE_HOME
T=$TL_PRIV/bin/pkjwt-token
cd "$TL_DIR" || exit 99
EP_PID=
trap '[ -n "$EP_PID" ] && kill "$EP_PID" 2>/dev/null; _tl_cleanup' EXIT

# stat NAME of the running endpoint (the last element of a list with .-1)
stat_of() { ep_stat "$1"; }

# Register KEYFILE for client ID with SCOPE at the running endpoint, as a
# console upload does.
register() {
  "$PY" - "$BASE" "$1" "$2" "$3" <<'PYEOF'
import json, sys, urllib.request
base, cid, scope, path = sys.argv[1:5]
body = json.dumps({"client_id": cid, "scope": scope,
                   "key": open(path).read()}).encode()
req = urllib.request.Request(base + "/_test/register", body,
                             {"Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=20).read()
PYEOF
}

# A refusal by the server: exit CODE, nothing on stdout, no file left, and
# a line of stderr that names the cause (the tool adds the server's words
# and a hint on their own lines).
refused() {
  _msg=$1 _code=$2 _pat=$3
  shift 3
  _tl_listing . >"$TL_PRIV/before"
  tl_run "$@"
  _tl_listing . >"$TL_PRIV/after"
  if [ "$TL_RC" -eq "$_code" ] && [ ! -s "$TL_OUT" ] &&
    grep -Eq -- "$_pat" "$TL_ERR" && [ "$(tl_lines "$TL_ERR")" -le 3 ] &&
    cmp -s "$TL_PRIV/before" "$TL_PRIV/after"; then
    tl_pass "$_msg"
  else
    tl_fail "$_msg"
    _tl_show
  fi
}

# provider  URL in its page  what the endpoint serves it at  file to upload
# (one line each; the page's first block sets CLIENT_ID and SCOPE)
cat >providers.txt <<'LIST'
puzzel https://app.puzzel.com - client.b64
entra https://login.microsoftonline.com/TENANT_ID /tenant-id client.crt
keycloak https://keycloak.example.com/realms/myrealm /realms/test client.crt
auth0 https://TENANT.auth0.com - client.pub.pem
okta https://ORG.okta.com/oauth2/default /oauth2/default client.jwk
generic https://login.example.com/op /op client.jwk
LIST

while read -r name url path upload; do
  page=$DOCS/$name.md
  [ "$path" = - ] && path=
  mkdir "$name" && cd "$name" || exit 99
  awk '/^```sh$/ {n++; f = sprintf("block-%02d.sh", n); next}
       /^```$/ {f = ""; next}
       f {print > f}' "$page"
  n_blocks=$(ls block-*.sh 2>/dev/null | wc -l)
  tl_check "$name.md has its settings, key and token blocks ($n_blocks)" \
    [ "$n_blocks" -ge 3 ]
  # settings and key first: the endpoint registers the key the page made
  tl_run sh -ec ". ./block-01.sh; . ./block-02.sh"
  [ "$TL_RC" -eq 0 ] || { tl_fail "$name.md: its key block"; _tl_show; }
  eval "$(sh -c '. ./block-01.sh; echo "cid=\"$CLIENT_ID\" scope=\"$SCOPE\""')"
  # the endpoint's Entra shape grants API for API/.default
  scope=${scope%/.default}
  if ep_start "$PY" "$EP" port ep.err --provider "$name" --max-seconds 300 \
    --client "$cid:$scope:$upload"; then
    BASE=http://127.0.0.1:$EP_PORT
    for b in block-*.sh; do
      sed -i "s|$url|$BASE$path|g" "$b"
    done
    for b in block-*.sh; do
      case $b in block-01.sh | block-02.sh) continue ;; esac
      tl_run sh -ec ". ./block-01.sh; . ./$b"
      if [ "$TL_RC" -eq 0 ] && [ -s "$TL_OUT" ]; then
        tl_pass "$name.md: $(grep -v '^ *#' "$b" | head -n 1 | cut -c 1-60)"
      else
        tl_fail "$name.md: $(head -n 1 "$b" | cut -c 1-60)"
        _tl_show
      fi
    done
    tl_check "$name: every request of the page was a success" \
      [ "$(stat_of token_requests)" = "$(stat_of token_successes)" ]
    # ---- what each shape needs, and the one-line refusals ----
    case $name in
    keycloak)
      refused "an issuer that is not the document's (a slash more): exit 5, named" \
        5 'issuer .* is not .*/realms/test/ exactly' "$T" --profile keycloak \
        --issuer "$BASE/realms/test/" --key client.key --client-id "$cid" \
        --scope "$scope"
      ;;
    entra)
      if tl_have openssl && tl_have basenc; then
        tl_check "entra: the certificate's x5t (as openssl computes it) and x5t#S256 went out" \
          sh -c "[ '$(stat_of x5t_sha1s.-1)' = \
            \"\$(openssl x509 -in client.crt -outform DER | openssl dgst -sha1 -binary | basenc --base64url | tr -d '=')\" ] &&
            [ '$(stat_of x5ts.-1)' != null ]"
      else
        tl_skip "entra: the certificate's x5t" "openssl or basenc not found"
      fi
      pkjwt-keygen new --type rsa --bits 2048 --out other.key --cert other.crt \
        --quiet >/dev/null
      TL_WATCH=. tl_expect_fail "entra: a certificate of another key: exit 3, before any request" \
        3 'certificate is not for this key' \
        "$T" --profile entra --base-url "$BASE/tenant-id" --key client.key \
        --cert other.crt --client-id "$cid" --scope "$scope/.default"
      tl_expect_fail "--x5t without --cert: exit 2" 2 'x5t.*needs --cert' \
        "$T" --profile entra --base-url "$BASE/tenant-id" --key client.key \
        --x5t --client-id "$cid" --scope "$scope/.default"
      # a key registered as a JWK (no certificate): found by its kid
      pkjwt-keygen new --out jwk.key --quiet >/dev/null
      pkjwt-keygen export --key jwk.key --format jwk >jwk.jwk
      register jwk-app "$scope" jwk.jwk
      tl_expect_ok "entra: a key registered as a JWK, found by kid, v2" \
        "$T" --profile entra --base-url "$BASE/tenant-id" --key jwk.key \
        --client-id jwk-app --scope "$scope/.default"
      tl_expect_ok "entra: the same on the v1 endpoint (resource, string expires_in)" \
        "$T" --profile entra --token-endpoint "$BASE/tenant-id/oauth2/token" \
        --key jwk.key --client-id jwk-app --scope "$scope/.default" \
        --param resource=api://my-api --json
      tl_check "... expires_in came as a string and was read" \
        grep -q '"expires_in": "900"' "$TL_OUT"
      refused "entra v1 without the resource field: refused, named" 5 \
        'resource field is missing' \
        "$T" --profile entra --token-endpoint "$BASE/tenant-id/oauth2/token" \
        --key jwk.key --client-id jwk-app --scope "$scope/.default"
      refused "entra without --cert: refused, AADSTS700027 named" 5 \
        'AADSTS700027' "$T" --profile entra --base-url "$BASE/tenant-id" \
        --key client.key --client-id "$cid" --scope "$scope/.default"
      ;;
    auth0)
      tl_expect_fail "auth0 without the audience field: exit 2, named" 2 \
        'audience' "$T" --profile auth0 --base-url "$BASE" --key client.key \
        --client-id "$cid" --scope "$scope"
      pkjwt-keygen new --out ec.key --quiet >/dev/null
      tl_expect_fail "auth0 with an EC key: exit 2, the algs named" 2 \
        'RS256 PS256' "$T" --profile auth0 --base-url "$BASE" --key ec.key \
        --client-id "$cid" --scope "$scope" --param audience=https://api
      ;;
    generic)
      tl_check "generic: the metadata was kept in the cache folder, 0600" \
        sh -c '[ "$(stat -c %a "$XDG_CACHE_HOME"/pkjwt/*-meta)" = 600 ]'
      # without the token file, the kept document spares the metadata request
      for f in "$XDG_CACHE_HOME"/pkjwt/*; do
        case $f in *-meta | *.lock) ;; *) rm -f "$f" ;; esac
      done
      tl_run "$T" --profile generic --issuer "$BASE/op" --key client.key \
        --client-id "$cid" --scope "$scope" --cache --verbose
      tl_check "generic --cache: a new token with the kept metadata" \
        sh -c "[ $TL_RC = 0 ] && grep -q 'discovery: .*/op/token (kept metadata)' '$TL_ERR'"
      # a kept document the library refuses (another issuer) is fetched anew
      sed -i 's|/op"|/elsewhere"|' "$XDG_CACHE_HOME"/pkjwt/*-meta
      for f in "$XDG_CACHE_HOME"/pkjwt/*; do
        case $f in *-meta | *.lock) ;; *) rm -f "$f" ;; esac
      done
      tl_run "$T" --profile generic --issuer "$BASE/op" --key client.key \
        --client-id "$cid" --scope "$scope" --cache --verbose
      tl_check "generic --cache: a spoiled kept document is refused and fetched again" \
        sh -c "[ $TL_RC = 0 ] && grep -q 'the issuer.s metadata' '$TL_ERR' && grep -q '/op\"' \"\$XDG_CACHE_HOME\"/pkjwt/*-meta"
      tl_expect_ok "generic: --audience issuer (strict form) with the issuer alone" \
        "$T" --profile generic --issuer "$BASE/op" --audience issuer \
        --key client.key --client-id "$cid" --scope "$scope"
      tl_check "... aud was the issuer, typ client-authentication+jwt" \
        [ "$(stat_of audiences.-1)" = "$BASE/op" -a \
        "$(stat_of typs.-1)" = client-authentication+jwt ]
      refused "an issuer without metadata: exit 5, no other URL tried" \
        5 'HTTP 404' "$T" --issuer "$BASE/nothing" --key client.key \
        --client-id "$cid" --scope "$scope"
      tl_check "... and no token request went out" \
        [ "$(stat_of token_requests)" = "$(stat_of token_successes)" ]
      tl_expect_fail "--profile generic without an issuer: exit 2" 2 \
        'issuer' "$T" --profile generic --key client.key \
        --client-id "$cid" --scope "$scope"
      ;;
    esac
    kill "$EP_PID" 2>/dev/null
    EP_PID=
  else
    tl_fail "$name: the endpoint did not start"
    sed 's/^/  /' ep.err
  fi
  cd "$TL_DIR" || exit 99
done <providers.txt

tl_expect_ok "--profile help: every profile, with its base URL form" \
  "$T" --profile help
tl_check "... one line each, entra's tenant URL form among them" \
  sh -c "[ \$(wc -l <'$TL_OUT') -ge 6 ] && grep -q '^entra .*login.microsoftonline.com/TENANT_ID' '$TL_OUT' && [ ! -s '$TL_ERR' ]"
TL_WATCH=okta tl_expect_fail "--profile unknown: exit 2, the known ones listed" \
  2 "profile 'nope' unknown \\(known: puzzel, .*okta" \
  "$T" --profile nope --key okta/client.key --client-id c --scope s
tl_end
