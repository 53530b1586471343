/*
 * lib/client_internal.h: the token client's test hooks. Nothing here is
 * exported or may be included by tools/. The transport's declarations are
 * lib/http.h (included here for the tests that drive both).
 */
#ifndef PKJWT_CLIENT_INTERNAL_H
#define PKJWT_CLIENT_INTERNAL_H

#include "http.h"
#include "internal.h"

/*
 * Replace the backoff sleep (default: nanosleep for ms milliseconds). The
 * tests record the delays asked for and skip or shorten the wait.
 */
void pkjwt__client_set_sleep(pkjwt_client *client,
                             void (*sleep_ms)(void *userdata, long ms),
                             void *userdata);

#endif
