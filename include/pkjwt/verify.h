/* pkjwt/verify.h: decode and verify a client assertion as a server would. */
#ifndef PKJWT_VERIFY_H
#define PKJWT_VERIFY_H

#include <pkjwt/common.h>
#include <pkjwt/error.h>
#include <pkjwt/key.h>

PKJWT_BEGIN_DECLS

/* Owned by the assertion-signing issue: declared here when it lands. */

PKJWT_END_DECLS

#endif
