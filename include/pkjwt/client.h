/* pkjwt/client.h: the token client (client credentials + private_key_jwt). */
#ifndef PKJWT_CLIENT_H
#define PKJWT_CLIENT_H

#include <pkjwt/common.h>
#include <pkjwt/error.h>
#include <pkjwt/key.h>
#include <pkjwt/sign.h>

PKJWT_BEGIN_DECLS

/* Owned by the access-token issue: declared here when it lands. */

PKJWT_END_DECLS

#endif
