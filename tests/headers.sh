#!/bin/sh
# tests/headers.sh: every public header compiles on its own as strict C99
# with -Wall -Wextra -pedantic -Werror (as libgit2's headertest does).
set -u
src=${top_srcdir:-.}; build=${top_builddir:-.}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0; n=0
for h in pkjwt.h $(cd "$src/include" && ls pkjwt/*.h) pkjwt/version.h; do
  n=$((n + 1))
  printf '#include <%s>\nint main(void) { return 0; }\n' "$h" > "$tmp/t.c"
  if ! ${CC:-cc} -std=c99 -Wall -Wextra -pedantic -Werror \
      -I"$build/include" -I"$src/include" -c "$tmp/t.c" -o "$tmp/t.o" 2> "$tmp/err"; then
    echo "FAIL: $h"; cat "$tmp/err"; fail=1
  fi
done
[ $fail -eq 0 ] && echo "ok: $n headers compile as strict C99"
exit $fail
