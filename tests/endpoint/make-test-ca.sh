#!/bin/sh
# tests/endpoint/make-test-ca.sh OUTDIR: TLS material for the https tests.
#
# Makes, with the openssl CLI ($OPENSSL_CLI or openssl), all EC P-256 and
# valid for 2 days:
#   OUTDIR/ca.pem, ca.key                the test CA (give ca.pem to --cacert)
#   OUTDIR/server.pem, server.key        a server certificate for 127.0.0.1
#                                        (SAN IP:127.0.0.1, DNS:localhost)
#                                        signed by the test CA
#   OUTDIR/untrusted.pem, untrusted.key  a self-signed server certificate
#                                        with the same names, which no client
#                                        trusts
# Keys are written 0600. Existing files in OUTDIR are replaced.
set -eu
if [ $# -ne 1 ]; then
  echo "usage: make-test-ca.sh OUTDIR" >&2
  exit 2
fi
out=$1
openssl=${OPENSSL_CLI:-openssl}
days=2
mkdir -p "$out"
umask 077

ext=$out/server.ext
cat >"$ext" <<'EOF'
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

genkey() {
  "$openssl" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$1" 2>/dev/null
}

# The CA.
genkey "$out/ca.key"
"$openssl" req -new -x509 -key "$out/ca.key" -days "$days" -sha256 \
  -subj "/CN=pkjwt test CA" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$out/ca.pem"

# The server certificate, signed by the CA.
genkey "$out/server.key"
"$openssl" req -new -key "$out/server.key" -subj "/CN=127.0.0.1" \
  -out "$out/server.csr"
"$openssl" x509 -req -in "$out/server.csr" -CA "$out/ca.pem" \
  -CAkey "$out/ca.key" -CAcreateserial -CAserial "$out/ca.srl" \
  -days "$days" -sha256 -extfile "$ext" -extensions server \
  -out "$out/server.pem" 2>/dev/null

# The untrusted one: self-signed, same names.
genkey "$out/untrusted.key"
"$openssl" req -new -key "$out/untrusted.key" -subj "/CN=127.0.0.1" \
  -out "$out/untrusted.csr"
"$openssl" x509 -req -in "$out/untrusted.csr" -signkey "$out/untrusted.key" \
  -days "$days" -sha256 -extfile "$ext" -extensions server \
  -out "$out/untrusted.pem" 2>/dev/null

rm -f "$out/server.csr" "$out/untrusted.csr" "$out/ca.srl" "$ext"
chmod 644 "$out/ca.pem" "$out/server.pem" "$out/untrusted.pem"
"$openssl" verify -CAfile "$out/ca.pem" "$out/server.pem" >/dev/null
