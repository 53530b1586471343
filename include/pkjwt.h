/*
 * pkjwt.h: the whole public API of libpkjwt.
 *
 * Conventions (see docs/ARCHITECTURE.md):
 *  - opaque handles, pkjwt_<module>_new/_free, _free(NULL) is a no-op;
 *  - functions that can fail return a pkjwt_code (0 = PKJWT_OK) and fill an
 *    optional caller-owned pkjwt_error;
 *  - out-parameters come first; what comes back through **out is the
 *    caller's, freed with the matching pkjwt free function; getters return
 *    borrowed values that live as long as their parent.
 */
#ifndef PKJWT_H
#define PKJWT_H

#include <pkjwt/version.h>
#include <pkjwt/common.h>
#include <pkjwt/error.h>
#include <pkjwt/key.h>
#include <pkjwt/cert.h>
#include <pkjwt/jwk.h>
#include <pkjwt/sign.h>
#include <pkjwt/verify.h>
#include <pkjwt/keyset.h>
#include <pkjwt/store.h>
#include <pkjwt/client.h>

#endif
