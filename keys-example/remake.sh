#!/bin/sh
# keys-example/remake.sh: remake the PUBLIC example keys with pkjwt-keygen.
#
#   keys-example/remake.sh [TOOL [FOLDER]]
#
# TOOL is the pkjwt-keygen to use (default: the one in PATH); FOLDER is where
# the files go (default: the folder of this script). `make keys-example` runs
# it with the tool just built. Existing example files are replaced.
# These keys are public: see README.md next to this script.
set -eu

tool=${1:-pkjwt-keygen}
dir=${2:-$(dirname "$0")}
if ! command -v "$tool" >/dev/null 2>&1; then
  echo "remake.sh: $tool: not found (give the path to pkjwt-keygen)" >&2
  exit 2
fi
# Long validity on purpose: tests and demos should not start failing soon.
days=3650
org="O=pkjwt example (PUBLIC key - never use for a real client)"

make_one() { # name, then the options of `new` that choose the key
  name=$1
  shift
  "$tool" new "$@" --out "$dir/$name.key" --cert "$dir/$name.crt" \
    --subject "CN=pkjwt-example-$name,$org" --days "$days" --force --quiet \
    >"$dir/$name.b64.tmp"
  mv "$dir/$name.b64.tmp" "$dir/$name.b64"
  "$tool" export --key "$dir/$name.key" --format jwk >"$dir/$name.jwk.tmp" \
    2>/dev/null
  mv "$dir/$name.jwk.tmp" "$dir/$name.jwk"
  echo "remake.sh: $dir/$name.{key,crt,b64,jwk}" >&2
}

make_one ec-p256 --type ec --curve P-256
make_one rsa-3072 --type rsa --bits 3072
