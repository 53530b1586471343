/*
 * lib/store_redis.c: the Redis (and Valkey) token store through hiredis
 * (pkjwt_store_redis_new). Without hiredis (configure --without-redis)
 * only the constructor is here, and it says so.
 */
#include "internal.h"

const char *pkjwt_store_kinds(void) {
#ifdef HAVE_HIREDIS
  return "file redis";
#else
  return "file";
#endif
}

#ifndef HAVE_HIREDIS

int pkjwt_store_redis_new(pkjwt_store **out, const char *url,
                          const char *password, long timeout_ms,
                          pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  (void)url;
  (void)password;
  (void)timeout_ms;
  if (out)
    *out = NULL;
  return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                     "this build of pkjwt has no Redis store (built without "
                     "hiredis); it has: %s",
                     pkjwt_store_kinds());
}

#endif
