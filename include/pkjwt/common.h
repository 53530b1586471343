/* pkjwt/common.h: macros shared by every public header. */
#ifndef PKJWT_COMMON_H
#define PKJWT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define PKJWT_EXPORT __attribute__((visibility("default")))
#define PKJWT_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define PKJWT_EXPORT
#define PKJWT_WARN_UNUSED
#endif

#ifdef __cplusplus
#define PKJWT_BEGIN_DECLS extern "C" {
#define PKJWT_END_DECLS }
#else
#define PKJWT_BEGIN_DECLS
#define PKJWT_END_DECLS
#endif

PKJWT_BEGIN_DECLS

/**
 * Free a string returned by any pkjwt function (JSON, PEM, base64, tokens,
 * assertions). The bytes are wiped before they are released, so tokens and
 * assertions do not linger in freed memory. pkjwt_str_free(NULL) is a no-op.
 */
PKJWT_EXPORT void pkjwt_str_free(char *s);

/** The library's version string, e.g. "0.1.0" (static, never freed). */
PKJWT_EXPORT const char *pkjwt_version(void);

PKJWT_END_DECLS

#endif
