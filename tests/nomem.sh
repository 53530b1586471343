#!/bin/sh
# tests/nomem.sh: the allocation-failure sweeps (tests/check_nomem.c) as
# tests of `make check-nomem`, which builds tests/check_nomem first. Not
# part of plain `make check`: the sweeps take minutes. The two forked
# sweeps (the slowest) run as tests of their own, tests/nomem-rsa.sh and
# tests/nomem-scrypt.sh, which set NOMEM_CASE and run this file, so that
# `make -j2 check-nomem` runs them beside the others.
set -u
b=${top_builddir:-.}
if [ ! -x "$b/tests/check_nomem" ]; then
  echo "SKIP: tests/check_nomem is not built (make check-nomem builds it)"
  exit 77
fi
if [ -n "${NOMEM_CASE:-}" ]; then
  CK_RUN_CASE=$NOMEM_CASE
  export CK_RUN_CASE
else
  CK_EXCLUDE_TAGS=forked
  export CK_EXCLUDE_TAGS
fi
# libjwt 1.10.2 asks malloc for SIZE_MAX bytes when an OpenSSL call in its
# ES verification fails for lack of memory (jwt_verify_sha_pem): glibc
# returns NULL and libjwt fails the check, but ASan aborts by default.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1"
export ASAN_OPTIONS
exec "$b/tests/check_nomem"
