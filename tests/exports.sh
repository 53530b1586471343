#!/bin/sh
# tests/exports.sh: the shared library exports pkjwt_* and nothing else.
set -u
lib=${top_builddir:-.}/.libs/libpkjwt.so
[ -f "$lib" ] || { echo "FAIL: $lib not built"; exit 1; }
syms=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[A-Z]$/ && $2 != "A" {print $3}')
total=$(printf '%s\n' "$syms" | grep -c .)
bad=$(printf '%s\n' "$syms" | grep -v '^pkjwt_[a-z0-9]' | grep -v '^_\(init\|fini\|edata\|end\|_bss_start\)$' || true)
for must in pkjwt_strerror pkjwt_str_free pkjwt_version; do
  printf '%s\n' "$syms" | grep -qx "$must" || { echo "FAIL: $must not exported"; exit 1; }
done
if [ -n "$bad" ]; then
  echo "FAIL: symbols outside pkjwt_* are exported:"
  printf '  %s\n' $bad
  exit 1
fi
echo "ok: $total symbols, all pkjwt_*"
