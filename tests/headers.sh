#!/bin/sh
# tests/headers.sh: every public header compiles on its own as strict C99
# with -Wall -Wextra -pedantic -Werror (as libgit2's headertest does), and
# the _INIT macros initialise without warnings.
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
# Every _INIT macro initialises its struct without a warning under -Wextra
# (missing-field-initializers), as callers' code compiles it.
cat > "$tmp/init.c" <<'EOT'
#include <pkjwt.h>
int main(void) {
  pkjwt_error e = PKJWT_ERROR_INIT;
  pkjwt_write_options w = PKJWT_WRITE_OPTIONS_INIT;
  pkjwt_cert_options c = PKJWT_CERT_OPTIONS_INIT;
  pkjwt_jwk_options j = PKJWT_JWK_OPTIONS_INIT;
  pkjwt_sign_options s = PKJWT_SIGN_OPTIONS_INIT;
  pkjwt_verify_options v = PKJWT_VERIFY_OPTIONS_INIT;
  pkjwt_client_options o = PKJWT_CLIENT_OPTIONS_INIT;
  return (int)(e.version + w.version + c.version + j.version + s.version +
               v.version + o.version) == 0;
}
EOT
n=$((n + 1))
if ! ${CC:-cc} -std=c99 -Wall -Wextra -pedantic -Werror \
    -I"$build/include" -I"$src/include" -c "$tmp/init.c" -o "$tmp/init.o" 2> "$tmp/err"; then
  echo "FAIL: the _INIT macros"; cat "$tmp/err"; fail=1
fi
[ $fail -eq 0 ] && echo "ok: $n headers compile as strict C99, _INIT macros without warnings"
exit $fail
