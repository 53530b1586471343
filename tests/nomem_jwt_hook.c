/*
 * tests/nomem_jwt_hook.c: linked into tests/check_nomem only. lib/verify.c
 * reaches libjwt through dlsym (lib/dl.c), so check_nomem's link-time wrap
 * of jwt_decode (-Wl,--wrap=jwt_decode) would not see its calls; this
 * points lib/verify.c at the wrapper before main runs.
 */
#include "sign_internal.h"

#include <jwt.h>

int __wrap_jwt_decode(jwt_t **jwt, const char *token, const unsigned char *key,
                      int key_len);

__attribute__((constructor)) static void nomem_jwt_hook(void) {
  pkjwt__jwt_decode_hook = __wrap_jwt_decode;
}
