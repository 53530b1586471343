#!/bin/sh
# tests/debian.sh: the Debian packages, built and used as an operator would.
#
#   1. copies the source tree (what git tracks, plus new files it does not
#      ignore) to a scratch folder and builds the packages there with
#      `dpkg-buildpackage -us -uc -b`;
#   2. runs lintian on the .changes: any error (E:) fails;
#   3. unpacks a minimal Debian 12 root (debootstrap --variant=minbase
#      bookworm, made once and cached as a tarball) into the scratch folder,
#      installs the .debs there with apt-get, which pulls their dependencies
#      from the Debian mirror the root was made with;
#   4. runs the README's "Using it" commands in that root as an unprivileged
#      user: pkjwt-keygen new and export, pkjwt-sign and pkjwt-sign verify,
#      pkjwt-token and pkjwt-token --check against the bundled test endpoint
#      (tests/endpoint/puzzel_endpoint.py, started on this host on 127.0.0.1:
#      the root shares the host's network); pkg-config --libs pkjwt and
#      docs/examples/get-token.c compiled against libpkjwt-dev and run; man -w for
#      every page; the bash completion of every tool.
#
# Needs root (chroot, mount), debootstrap, dpkg-buildpackage, lintian and
# Debian's python3 with python3-jwcrypto; without them it is skipped (exit
# 77). Takes 5 to 15 minutes (see docs/packaging.md). Ends with
# "N passed, N failed".
#
# Environment:
#   PKJWT_DEB_ROOT_TGZ   cached root (default /var/tmp/pkjwt-bookworm.tgz;
#                        made on first use, remove it to make it again)
#   PKJWT_DEB_MIRROR     mirror for debootstrap (default: the first Debian
#                        URI this machine's apt sources use)
#   PKJWT_DEB_APT_CACHE  host folder that keeps downloaded .debs between
#                        runs (default /var/tmp/pkjwt-deb-apt-cache)
#   DEB_BUILD_OPTIONS    passed on to dpkg-buildpackage (e.g. nocheck)
#   PKJWT_DEB_KEEP=1     keep the scratch folder (its path is printed)
# shellcheck disable=SC2016
set -u

src=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
src=$(cd "$src" && pwd) || exit 99
PYTHON3=${PYTHON3:-/usr/bin/python3}
[ -n "$PYTHON3" ] || PYTHON3=/usr/bin/python3
ROOT_TGZ=${PKJWT_DEB_ROOT_TGZ:-/var/tmp/pkjwt-bookworm.tgz}
# The mirror this machine's apt already uses (deb822 or one-line sources),
# so the test reaches no host that apt does not.
host_mirror() {
  cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
    sed -n 's/^URIs: *\([^ ]*\).*/\1/p' | grep -v security | head -n 1
  sed -n 's/^deb  *\(\[[^]]*\]  *\)\{0,1\}\([^ ]*\) .*/\2/p' \
    /etc/apt/sources.list 2>/dev/null | grep -v security | head -n 1
}
MIRROR=${PKJWT_DEB_MIRROR:-$(host_mirror | head -n 1)}
APT_CACHE=${PKJWT_DEB_APT_CACHE:-/var/tmp/pkjwt-deb-apt-cache}
EP=$src/tests/endpoint/puzzel_endpoint.py

skip() {
  echo "SKIP: $*"
  exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (chroot and mount)"
for c in debootstrap dpkg-buildpackage dpkg-parsechangelog dpkg-deb objdump lintian chroot \
  mount umount mountpoint timeout tar; do
  command -v "$c" >/dev/null 2>&1 || skip "no $c"
done
"$PYTHON3" -c 'import jwcrypto, cryptography' 2>/dev/null ||
  skip "$PYTHON3 lacks jwcrypto or cryptography (the test endpoint)"
[ -f "$src/debian/control" ] || {
  echo "FAIL: $src/debian/control is missing"
  exit 99
}

W=$(mktemp -d "${TMPDIR:-/var/tmp}/pkjwt-deb-test.XXXXXX") || exit 99
# The logs live beside the scratch folder: kept when the test fails.
LOGS=$W.logs
mkdir "$LOGS" || exit 99
ROOT=$W/root
SERVER=""
MOUNTS=""
cleanup() {
  status=$?
  if [ -n "$SERVER" ]; then
    kill "$SERVER" 2>/dev/null
    wait "$SERVER" 2>/dev/null
  fi
  # Unmount in reverse order; a lazy unmount if a process still holds one.
  for m in $MOUNTS; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
  done
  if [ "${PKJWT_DEB_KEEP:-0}" = 1 ]; then
    echo "# kept $W and $LOGS"
    return
  fi
  # Never remove a tree with anything still mounted in it (a bound /dev).
  if grep -q " $W/" /proc/self/mounts 2>/dev/null; then
    echo "# $W still has mounts; not removed" >&2
    return
  fi
  rm -rf --one-file-system "$W"
  if [ "$status" -eq 0 ] || [ "$status" -eq 77 ]; then
    rm -rf "$LOGS"
  else
    echo "# logs kept in $LOGS"
  fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

PASS=0
FAIL=0
ok() {
  PASS=$((PASS + 1))
  echo "ok - $1"
}
nok() {
  FAIL=$((FAIL + 1))
  echo "not ok - $1"
  if [ -s "$W/err" ]; then sed 's/^/#   /' "$W/err" | tail -n 15; fi
}
# t DESC COMMAND...: one check; COMMAND's stderr is shown when it fails.
t() {
  d=$1
  shift
  if "$@" 2>"$W/err"; then ok "$d"; else nok "$d"; fi
}
# abort WHAT LOG: a step the rest depends on failed.
abort() {
  echo "not ok - $1"
  [ -n "${2:-}" ] && [ -f "$2" ] && tail -n 40 "$2" | sed 's/^/#   /'
  [ -n "${2:-}" ] && echo "# log: $2"
  FAIL=$((FAIL + 1))
  echo "$PASS passed, $FAIL failed"
  exit 1
}
T0=$(date +%s)
step() { echo "# == $* ($(($(date +%s) - T0)) s)"; }

# ---- 1. build the packages --------------------------------------------------
step "copy the source tree"
B=$W/build/pkjwt
mkdir -p "$B" || exit 99
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$src" && git ls-files -z --cached --others --exclude-standard) |
    tar -C "$src" --null --ignore-failed-read -T - -cf - 2>/dev/null |
    tar -C "$B" -xf - || abort "copy the git tree"
else
  tar -C "$src" --exclude='./_build*' --exclude='./debian/tmp' \
    --exclude='./debian/.debhelper' -cf - . | tar -C "$B" -xf - ||
    abort "copy the source tree"
fi

# The runtime library package's name (libpkjwtN), from debian/control.
RT=$(sed -n 's/^Package: \(libpkjwt[0-9][0-9]*\)$/\1/p' "$B/debian/control")
[ -n "$RT" ] || abort "no libpkjwtN package in debian/control"

# The package's version is the project's: debian/changelog and AC_INIT agree.
pv=$(sed -n 's/^AC_INIT(\[pkjwt\], \[\([^]]*\)\].*/\1/p' "$B/configure.ac")
dv=$(cd "$B" && dpkg-parsechangelog -S Version 2>/dev/null)
if [ -n "$pv" ] && [ "$pv" = "$dv" ]; then
  ok "debian/changelog's version $dv is configure.ac's"
else
  echo "configure.ac: '$pv', debian/changelog: '$dv'" >"$W/err"
  nok "debian/changelog's version is configure.ac's"
fi

step "dpkg-buildpackage -us -uc -b (log: $LOGS/build.log)"
jobs=$(nproc 2>/dev/null || echo 2)
case " ${DEB_BUILD_OPTIONS:-} " in
  *" parallel="*) bo=${DEB_BUILD_OPTIONS:-} ;;
  *) bo="${DEB_BUILD_OPTIONS:+$DEB_BUILD_OPTIONS }parallel=$jobs" ;;
esac
(cd "$B" && DEB_BUILD_OPTIONS=$bo timeout 1800 dpkg-buildpackage -us -uc -b) \
  >"$LOGS/build.log" 2>&1 || abort "dpkg-buildpackage -us -uc -b" "$LOGS/build.log"
ok "dpkg-buildpackage -us -uc -b"
changes=
for f in "$W"/build/*.changes; do [ -f "$f" ] && changes=$f; done
[ -n "$changes" ] || abort "no .changes file after the build"
for p in "$RT" libpkjwt-dev pkjwt-tools; do
  ls "$W"/build/"${p}"_*.deb >/dev/null 2>&1 || abort "no $p .deb built"
done
ok "three packages built: $RT, libpkjwt-dev, pkjwt-tools"
# Debian policy 8.1: the runtime package is named after the SONAME, so a
# new SONAME (libtool's current - age) renames it (docs/packaging.md).
: >"$W/sonames"
if dpkg-deb -x "$W"/build/"$RT"_*.deb "$W/rt"; then
  for f in "$W"/rt/usr/lib/*/libpkjwt*.so.*; do
    if [ -L "$f" ] || [ ! -f "$f" ]; then continue; fi
    objdump -p "$f" | sed -n 's/^ *SONAME *//p' >>"$W/sonames"
  done
fi
bad=$(grep -v "\.so\.${RT#libpkjwt}\$" "$W/sonames")
if [ -s "$W/sonames" ] && [ -z "$bad" ]; then
  ok "$RT holds $(tr '\n' ' ' <"$W/sonames")(SONAMEs match its name)"
else
  echo "SONAMEs: $(tr '\n' ' ' <"$W/sonames"); package: $RT" >"$W/err"
  nok "the runtime package's name matches its libraries' SONAMEs"
fi

step "lintian"
# lintian exits 2 when it finds an error (E:, its default --fail-on) and 1
# when it fails itself; neither may pass as a clean report.
timeout 900 lintian --allow-root --info --display-info "$changes" \
  >"$LOGS/lintian.log" 2>&1
lrc=$?
sed 's/^/#   lintian: /' "$LOGS/lintian.log" | grep -v '^#   lintian: N: *$' |
  head -n 60
if [ $lrc -ne 0 ] || grep -q '^E: ' "$LOGS/lintian.log"; then
  { echo "lintian exit $lrc"; grep '^E: ' "$LOGS/lintian.log"; } >"$W/err"
  nok "lintian reports no errors on $(basename "$changes")"
else
  ok "lintian reports no errors on $(basename "$changes")"
fi

# ---- 2. a fresh Debian 12 root ----------------------------------------------
if [ ! -s "$ROOT_TGZ" ]; then
  step "debootstrap --variant=minbase bookworm (once; cached as $ROOT_TGZ)"
  mkdir -p "$W/bootstrap" || exit 99
  timeout 1800 debootstrap --variant=minbase bookworm "$W/bootstrap" \
    ${MIRROR:+"$MIRROR"} >"$LOGS/debootstrap.log" 2>&1 ||
    abort "debootstrap --variant=minbase bookworm" "$LOGS/debootstrap.log"
  if ! tar --numeric-owner -C "$W/bootstrap" -czf "$ROOT_TGZ.tmp.$$" . ||
    ! mv "$ROOT_TGZ.tmp.$$" "$ROOT_TGZ"; then
    rm -f "$ROOT_TGZ.tmp.$$"
    abort "cache the root in $ROOT_TGZ"
  fi
  rm -rf --one-file-system "$W/bootstrap"
fi
step "unpack the root"
mkdir -p "$ROOT" || exit 99
tar --numeric-owner -C "$ROOT" -xzf "$ROOT_TGZ" || abort "unpack $ROOT_TGZ"
[ -x "$ROOT/usr/bin/apt-get" ] || abort "$ROOT_TGZ holds no Debian root"

mount -t proc proc "$ROOT/proc" || abort "mount proc in the root"
MOUNTS="$ROOT/proc"
mount --bind /dev "$ROOT/dev" || abort "bind /dev in the root"
MOUNTS="$ROOT/dev $MOUNTS"
mkdir -p "$APT_CACHE/partial" || exit 99
mount --bind "$APT_CACHE" "$ROOT/var/cache/apt/archives" ||
  abort "bind $APT_CACHE in the root"
MOUNTS="$ROOT/var/cache/apt/archives $MOUNTS"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null
# No service starts inside the root.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
if ! mkdir -p "$ROOT/srv/debs" || ! cp "$W"/build/*.deb "$ROOT/srv/debs/" ||
  ! chmod 755 "$ROOT/srv/debs" || ! chmod 644 "$ROOT"/srv/debs/*.deb; then
  abort "copy the .debs into the root"
fi
cp "$src/docs/examples/get-token.c" "$ROOT/srv/get-token.c" || exit 99

# in_root CMD...: run as root inside the root, bounded.
in_root() {
  timeout 900 chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"
}
# as_op SCRIPT: run a sh script as the unprivileged user op, in its home.
as_op() {
  timeout 300 chroot --userspec=op:op "$ROOT" /usr/bin/env -i \
    PATH=/usr/local/bin:/usr/bin:/bin HOME=/home/op LC_ALL=C.UTF-8 \
    XDG_CACHE_HOME=/home/op/.cache /bin/sh -c "cd /home/op && $1"
}

step "apt-get install ./pkjwt-tools_*.deb ./${RT}_*.deb ./libpkjwt-dev_*.deb"
in_root apt-get update >"$LOGS/apt.log" 2>&1 || abort "apt-get update in the root" "$LOGS/apt.log"
# gcc, pkg-config and man-db are the operator's own tools, not dependencies.
in_root sh -c 'cd /srv/debs && apt-get install -y --no-install-recommends \
  ./pkjwt-tools_*.deb ./'"$RT"'_*.deb ./libpkjwt-dev_*.deb \
  gcc libc6-dev pkg-config man-db' >>"$LOGS/apt.log" 2>&1 ||
  abort "apt-get install the .debs in the root" "$LOGS/apt.log"
ok "apt-get installs the three packages and their dependencies"
in_root useradd -m -s /bin/sh op >"$W/err" 2>&1 || abort "useradd op"

# ---- 3. the README's "Using it", as an operator -------------------------------
step "using it"
CLIENT_ID=pkjwt-deb-client
SCOPE=contact-centre:1234:5678
H=$ROOT/home/op

t "pkjwt-keygen --version" as_op 'pkjwt-keygen --version >/dev/null'
t "pkjwt-keygen new writes a 0600 key, a certificate and the base64 line" \
  as_op 'pkjwt-keygen new --type ec --out client.key --cert client.crt \
    --subject CN=my-service > client.b64 &&
    [ "$(stat -c %a client.key)" = 600 ] && [ -s client.crt ] &&
    [ "$(wc -l < client.b64)" = 1 ]'
t "pkjwt-keygen export --format jwk prints the public JWK" \
  as_op 'pkjwt-keygen export --key client.key --format jwk > client.jwk &&
    grep -q "\"kty\": *\"EC\"" client.jwk && ! grep -q "\"d\"" client.jwk'
t "pkjwt-sign signs an assertion and pkjwt-sign verify accepts it" \
  as_op 'pkjwt-sign --key client.key --client-id '$CLIENT_ID' \
    --aud https://app.puzzel.com/id/connect/token > assertion.jwt &&
    pkjwt-sign verify --assertion - --cert client.crt \
    --client-id '$CLIENT_ID' --aud https://app.puzzel.com/id/connect/token \
    < assertion.jwt > verify.out'
t "pkjwt-sign verify refuses it for another audience" \
  as_op '! pkjwt-sign verify --assertion - --cert client.crt \
    --aud https://elsewhere.example/token < assertion.jwt > /dev/null 2>&1'

# The endpoint runs on this host; the root shares its network.
if [ -s "$H/client.b64" ]; then
  . "$src/tests/endpoint/start.sh"
  EP_WAIT_TENTHS=300 ep_start "$PYTHON3" "$EP" "$W/port" \
    "$LOGS/endpoint.log" --max-seconds 300 \
    --client "$CLIENT_ID:$SCOPE:$H/client.b64" || true
  SERVER=$EP_PID
fi
PORT=$(cat "$W/port" 2>/dev/null)
if [ -n "$PORT" ]; then
  ok "the test endpoint listens on 127.0.0.1:$PORT"
  BASE=http://127.0.0.1:$PORT
  TOK="pkjwt-token --key client.key --client-id $CLIENT_ID --scope $SCOPE \
    --base-url $BASE"
  t "pkjwt-token prints the token alone" \
    as_op 'TOKEN=$('"$TOK"') && [ ${#TOKEN} -ge 20 ] &&
      [ "$('"$TOK"' | wc -l)" = 1 ]'
  t "pkjwt-token --check: the endpoint calls it active" \
    as_op "$TOK --check > check.json && grep -q '\"active\": *true' check.json"
  t "pkjwt-token refuses an unknown client: non-zero, stdout empty" \
    as_op "! pkjwt-token --key client.key --client-id no-such-client \
      --scope $SCOPE --base-url $BASE > out 2>/dev/null && [ ! -s out ]"
else
  cp "$LOGS/endpoint.log" "$W/err" 2>/dev/null
  nok "the test endpoint starts (no token tests)"
fi

t "pkg-config --libs pkjwt names -lpkjwt" \
  as_op 'pkg-config --libs pkjwt | grep -q -- -lpkjwt'
t "docs/examples/get-token.c compiles against libpkjwt-dev" \
  as_op 'cc -std=c99 -Wall -Wextra -Werror /srv/get-token.c -o get-token \
    $(pkg-config --cflags --libs pkjwt)'
if [ -n "$PORT" ]; then
  t "the example gets a token" \
    as_op "./get-token client.key $CLIENT_ID $SCOPE $BASE > ex.token &&
      [ \$(wc -c < ex.token) -ge 20 ]"
fi
if [ -n "$SERVER" ]; then
  kill "$SERVER" 2>/dev/null
  wait "$SERVER" 2>/dev/null
  SERVER=""
fi

for page in pkjwt-keygen pkjwt-sign pkjwt-token; do
  t "man -w $page" as_op "man -w $page | grep -q '/usr/share/man/man1/$page'"
done
t "man -w 3 libpkjwt" as_op "man -w 3 libpkjwt | grep -q /usr/share/man/man3/"
for tool in pkjwt-keygen pkjwt-sign pkjwt-token; do
  f=/usr/share/bash-completion/completions/$tool
  t "bash completion for $tool is installed and registers" \
    as_op "[ -s $f ] && bash -c '. $f && complete -p $tool' > /dev/null"
done
for ex in libpkjwt-dev/examples/get-token.c pkjwt-tools/examples/keyset-check.sh \
  pkjwt-tools/examples/pkjwt-keyset-check.timer; do
  t "the example $ex is installed" \
    in_root sh -c "[ -s /usr/share/doc/$ex ] || [ -s /usr/share/doc/$ex.gz ]"
done
t "the shared libraries are in the dynamic linker's cache" \
  in_root sh -c 'ldconfig -p | grep -q "libpkjwt\.so\.[0-9]"'

step "done"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
