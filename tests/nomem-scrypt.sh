#!/bin/sh
# tests/nomem-scrypt.sh: the forked sweep of the scrypt-encrypted key write
# (tests/check_nomem.c, case write_encrypted), beside tests/nomem.sh.
NOMEM_CASE=write_encrypted
# shellcheck source=tests/nomem.sh
. "${top_srcdir:-.}/tests/nomem.sh"
