/* pkjwt/cert.h: self-signed X.509 v3 certificates for a key. */
#ifndef PKJWT_CERT_H
#define PKJWT_CERT_H

#include <pkjwt/common.h>
#include <pkjwt/error.h>
#include <pkjwt/key.h>

PKJWT_BEGIN_DECLS

/** A loaded or made certificate. Immutable; safe to share between threads. */
typedef struct pkjwt_cert pkjwt_cert;

#define PKJWT_CERT_DEFAULT_DAYS 365
/** The longest validity pkjwt_cert_self_signed() accepts, in days. */
#define PKJWT_CERT_MAX_DAYS 36500
#define PKJWT_CERT_DEFAULT_SUBJECT "CN=pkjwt-client"
/** notBefore is set this many seconds in the past, for clock skew. */
#define PKJWT_CERT_BACKDATE_SECONDS 300

#define PKJWT_CERT_OPTIONS_VERSION 1
typedef struct pkjwt_cert_options {
  unsigned int version; /**< PKJWT_CERT_OPTIONS_VERSION */
  const char *subject;  /**< "CN=my-client,O=Example"; NULL = default */
  int days;             /**< validity; 0 = 365; 1..PKJWT_CERT_MAX_DAYS */
  int64_t now;          /**< 0 = the real clock (tests fix it) */
} pkjwt_cert_options;
#define PKJWT_CERT_OPTIONS_INIT { PKJWT_CERT_OPTIONS_VERSION, NULL, 0, 0 }

/**
 * Make a self-signed X.509 v3 certificate for key (which must be private):
 * random positive serial of 159 bits, SHA-256 (RSA, P-256), SHA-384 (P-384)
 * or SHA-512 (P-521), basicConstraints CA:FALSE (critical), keyUsage
 * digitalSignature (critical), subjectKeyIdentifier; issuer = subject;
 * notBefore = now - PKJWT_CERT_BACKDATE_SECONDS, notAfter = now + days.
 * The subject is RDNs separated by commas, in the order written, each
 * NAME=VALUE with NAME one of CN, O, OU, C, L, ST, emailAddress, DC,
 * serialNumber (any case); a backslash escapes the next character ("\,").
 * An unknown name, an empty value or a malformed part fails with
 * PKJWT_ERR_INVALID_ARG naming it; a public-only key with
 * PKJWT_ERR_NO_PRIVATE_KEY. opts may be NULL. Free *out with
 * pkjwt_cert_free().
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_cert_self_signed(pkjwt_cert **out, const pkjwt_key *key,
                       const pkjwt_cert_options *opts, pkjwt_error *err);

/** Load a certificate from PEM, DER, or the one-line standard base64 of the
 * DER (what pkjwt_cert_base64_der() makes; whitespace in it is skipped) in
 * memory (PKJWT_ERR_PARSE when it is none of these, or DER with trailing
 * bytes). Free *out with pkjwt_cert_free(). */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_cert_load_mem(pkjwt_cert **out, const void *data, size_t len,
                    pkjwt_error *err);

/** Load a certificate from a file, in any form pkjwt_cert_load_mem() reads. */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_cert_load_file(pkjwt_cert **out, const char *path, pkjwt_error *err);

PKJWT_EXPORT void pkjwt_cert_free(pkjwt_cert *cert);

/**
 * Write the certificate as PEM: mode 0644, temp file + fsync + rename,
 * PKJWT_ERR_EXISTS unless force, nothing left behind on failure.
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_cert_write(const pkjwt_cert *cert, const char *path, int force,
                 pkjwt_error *err);

/** One line of standard base64 of the DER, the form providers' consoles take
 * for an uploaded certificate. */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_cert_base64_der(char **out, const pkjwt_cert *cert, pkjwt_error *err);

/** The certificate as PEM. Free *out with pkjwt_str_free(). */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_cert_pem(char **out, const pkjwt_cert *cert, pkjwt_error *err);

/**
 * The certificate's public key as a new public-only key handle (the key
 * rules of pkjwt_key_load_mem() apply). Free *out with pkjwt_key_free().
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_cert_public_key(pkjwt_key **out, const pkjwt_cert *cert, pkjwt_error *err);

/** 1 when the certificate certifies key's public half, else 0. */
PKJWT_EXPORT int pkjwt_cert_matches_key(const pkjwt_cert *cert,
                                        const pkjwt_key *key);

/* ---- facts (borrowed strings, valid while the certificate lives) ---- */

/** Subject DN in "CN=a,O=b" form. */
PKJWT_EXPORT const char *pkjwt_cert_get_subject(const pkjwt_cert *cert);
/** Serial number in upper-case hex. */
PKJWT_EXPORT const char *pkjwt_cert_get_serial(const pkjwt_cert *cert);
/** notBefore and notAfter as seconds since the epoch. */
PKJWT_EXPORT int64_t pkjwt_cert_get_not_before(const pkjwt_cert *cert);
PKJWT_EXPORT int64_t pkjwt_cert_get_not_after(const pkjwt_cert *cert);
/** SHA-256 of the DER, base64url without padding (JWK x5t#S256). */
PKJWT_EXPORT const char *pkjwt_cert_get_x5t_s256(const pkjwt_cert *cert);
/**
 * Whole days from now until notAfter, rounded down: 0 on the last day,
 * -1 from the first second after notAfter (now 0 = the real clock).
 */
PKJWT_EXPORT long pkjwt_cert_days_left(const pkjwt_cert *cert, int64_t now);

PKJWT_END_DECLS

#endif
