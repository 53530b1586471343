#!/bin/sh
# tests/needed.sh: pkjwt-keygen and pkjwt-sign (the real binaries libtool
# keeps in tools/.libs) do not load libcurl, directly or through
# libpkjwt.so, so they start fast; pkjwt-token does (which shows the check
# can see libcurl at all). Nor do they load libp11 or libjwt at start:
# libpkjwt.so loads those on first use (lib/dl.c). Judged by readelf -d
# (NEEDED) and by the dynamic loader itself (ldd, which follows the whole
# tree).
set -u
build=${top_builddir:-.}
command -v readelf >/dev/null 2>&1 || { echo "SKIP: no readelf"; exit 77; }
command -v ldd >/dev/null 2>&1 || { echo "SKIP: no ldd"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
tree() { LD_LIBRARY_PATH=$build/.libs ldd "$1" | awk '{print $1}'; }

lib=$build/.libs/libpkjwt.so
[ -f "$lib" ] || fail "$lib not built"
needed "$lib" | grep -q 'libcurl' && fail "libpkjwt.so needs libcurl"
needed "$lib" | grep -E 'libp11\.|libjwt\.' &&
  fail "libpkjwt.so links libp11 or libjwt (they are loaded on first use)"
for t in pkjwt-keygen pkjwt-sign; do
  bin=$build/tools/.libs/$t
  [ -x "$bin" ] || fail "$bin not built (libtool keeps shared-linked tools there)"
  needed "$bin" | grep -q 'libpkjwt-client' && fail "$t links libpkjwt-client"
  needed "$bin" | grep -q 'libpkjwt\.so' || fail "$t does not link libpkjwt.so"
  tree "$bin" | grep 'libcurl' && fail "$t loads libcurl"
  tree "$bin" | grep -E 'libp11\.|libjwt\.' && fail "$t loads libp11 or libjwt at start"
done
bin=$build/tools/.libs/pkjwt-token
[ -x "$bin" ] || fail "$bin not built"
tree "$bin" | grep -q 'libcurl' || fail "ldd does not show libcurl even for pkjwt-token"
echo "ok: pkjwt-keygen and pkjwt-sign load no libcurl, libp11 nor libjwt; pkjwt-token loads libcurl"
