#!/bin/sh
# tests/layers.sh: lib/ files call down only.
#
# Reads the "Layer order:" line of docs/ARCHITECTURE.md (the one home of the
# order: levels separated by "<", files of one level by spaces), then reads
# the objects of libpkjwt-core with nm. For every undefined pkjwt* symbol of
# an object it finds the object that defines it, and fails on any call that
# goes up the order or sideways to another file of the same level, naming
# the caller, the symbol and the callee. An object whose file is not in the
# order fails too: a new lib/ file must be placed in the line.
set -u
srcdir=${top_srcdir:-.}
builddir=${top_builddir:-.}
arch=$srcdir/docs/ARCHITECTURE.md
NM=${NM:-nm}

if ! command -v "$NM" >/dev/null 2>&1; then
  echo "SKIP: $NM not found; the layer check needs binutils' nm"
  exit 77
fi
[ -f "$arch" ] || { echo "FAIL: $arch not found"; exit 1; }

order=$(sed -n 's/^[`[:space:]]*Layer order:[[:space:]]*//p' "$arch" | tr -d '`')
if [ -z "$order" ] || [ "$(printf '%s\n' "$order" | wc -l)" -ne 1 ]; then
  echo "FAIL: $arch needs exactly one 'Layer order: a b < c < ...' line"
  exit 1
fi

# The core's objects, wherever libtool put them (lib/ or lib/.libs/, in the
# source tree or a VPATH/distcheck build); one per source file.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pkjwt-layers.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
# Only this build's lib/ (and lib/.libs/): an in-tree build must not pick
# up the objects of another build folder below it.
find "$builddir/lib" -maxdepth 2 -name 'libpkjwt*_la-*.o' 2>/dev/null |
  sort >"$tmp/all"
# Only the objects the convenience archives hold now: a reused build folder
# keeps the objects of a file that has since been removed from lib/.
for a in "$builddir"/.libs/libpkjwt-low.a "$builddir"/.libs/libpkjwt-core.a \
  "$builddir"/.libs/libpkjwt-client-core.a; do
  [ -f "$a" ] && ${AR:-ar} t "$a"
done >"$tmp/members" 2>/dev/null
if [ -s "$tmp/members" ]; then
  while IFS= read -r o; do
    grep -qxF "${o##*/}" "$tmp/members" && echo "$o"
  done <"$tmp/all" >"$tmp/objs"
else
  cp "$tmp/all" "$tmp/objs"
fi
if [ ! -s "$tmp/objs" ]; then
  echo "FAIL: no libpkjwt*_la-*.o under $builddir/lib; build the library first"
  exit 1
fi

# One line per fact: "L level name" for the order, "D file sym" for a
# definition, "U file sym" for a use.
printf '%s\n' "$order" | awk '{
  n = split($0, lv, "<")
  for (i = 1; i <= n; i++) {
    m = split(lv[i], f, " ")
    for (j = 1; j <= m; j++) print "L", i, f[j]
  }
}' >"$tmp/facts"
while IFS= read -r o; do
  base=${o##*_la-}
  file=${base%.o}
  grep -q " $file\$" "$tmp/seen" 2>/dev/null && continue
  echo "S $file" >>"$tmp/seen"
  "$NM" "$o" >"$tmp/nm" || { echo "FAIL: $NM cannot read $o"; exit 1; }
  awk -v f="$file" '
    $1 == "U" && $2 ~ /^pkjwt/ { print "U", f, $2 }
    NF == 3 && $2 ~ /^[TDBRVWGSC]$/ && $3 ~ /^pkjwt/ { print "D", f, $3 }
  ' "$tmp/nm" >>"$tmp/facts"
done <"$tmp/objs"
sed 's/^S /F /' "$tmp/seen" >>"$tmp/facts"

awk '
  $1 == "L" {
    if ($3 in level) { printf "FAIL: %s appears twice in the layer order\n", $3; bad = 1 }
    level[$3] = $2; next
  }
  $1 == "F" { files[$2] = 1; next }
  $1 == "D" { def[$3] = $2; next }
  $1 == "U" { nu++; uf[nu] = $2; us[nu] = $3; next }
  END {
    for (f in files)
      if (!(f in level)) {
        printf "FAIL: lib/%s.c is not in the layer order; place it in the \"Layer order:\" line of docs/ARCHITECTURE.md\n", f
        bad = 1
      }
    calls = 0
    for (i = 1; i <= nu; i++) {
      c = uf[i]; s = us[i]
      if (!(s in def)) continue  # from outside the core
      d = def[s]
      if (d == c || !(c in level) || !(d in level)) continue
      calls++
      if (level[d] > level[c]) {
        printf "FAIL: lib/%s.c calls %s in lib/%s.c, which is above it (%s < %s)\n", c, s, d, c, d
        bad = 1
      } else if (level[d] == level[c]) {
        printf "FAIL: lib/%s.c calls %s in lib/%s.c, on the same level; move the helper below both\n", c, s, d
        bad = 1
      }
    }
    if (bad) exit 1
    n = 0; for (f in files) n++
    printf "ok: %d files, %d cross-file calls, all downward\n", n, calls
  }
' "$tmp/facts"
