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
exec "$b/tests/check_nomem"
