#!/bin/sh
# tests/nomem.sh: the allocation-failure sweeps (tests/check_nomem.c) as one
# test of `make check-nomem`, which builds tests/check_nomem first. Not part
# of plain `make check`: the sweeps take minutes.
set -u
b=${top_builddir:-.}
if [ ! -x "$b/tests/check_nomem" ]; then
  echo "SKIP: tests/check_nomem is not built (make check-nomem builds it)"
  exit 77
fi
# libjwt 1.10.2 asks malloc for SIZE_MAX bytes when an OpenSSL call in its
# ES verification fails for lack of memory (jwt_verify_sha_pem): glibc
# returns NULL and libjwt fails the check, but ASan aborts by default.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1"
export ASAN_OPTIONS
exec "$b/tests/check_nomem"
