#!/bin/sh
# tests/nomem-rsa.sh: the forked sweep of RSA-2048 generation and write
# (tests/check_nomem.c, case keygen_rsa), beside tests/nomem.sh.
NOMEM_CASE=keygen_rsa
# shellcheck source=tests/nomem.sh
. "${top_srcdir:-.}/tests/nomem.sh"
