/*
 * lib/bounds.h: every bound the library puts on outside input, in one
 * place. Each bound is explained (with the figures it was taken from) in
 * docs/security.md, "Limits"; a change here is a change there. Header only:
 * it holds no code, so it has no place in the layer order.
 */
#ifndef PKJWT_BOUNDS_H
#define PKJWT_BOUNDS_H

/* ---- files ---- */

/* Key and certificate files are a few kilobytes; a megabyte is not one. */
#define PKJWT__KEY_FILE_MAX (1024 * 1024)
#define PKJWT__CERT_FILE_MAX (1024 * 1024)

/* ---- RSA keys (from a file, a certificate or a JWK) ---- */

/* Shorter is weak (NIST SP 800-131A). */
#define PKJWT__RSA_MIN_BITS 2048
/* Longer than any key in use; verifying costs grow with the cube of the
 * size, and the bound of 16384 is more than anyone needs. */
#define PKJWT__RSA_MAX_BITS 8192
/* The public exponent e: odd, 3 <= e < n, and at most 256 bits (FIPS 186-5
 * 5.4 (e) bounds e < 2^256; real keys use 65537 or, rarely, 3). A longer e
 * only makes every verification slower (a 3072-bit e: 80 times). */
#define PKJWT__RSA_E_MAX_BITS 256

/* ---- key derivation of encrypted PKCS#8 keys (checked before it runs) ----
 * Any passphrase, right or wrong, pays the whole cost, so a key file from
 * an untrusted place could stall a load for minutes without these. */

/* PBKDF2 (PBES2) and PKCS#5 v1.5 / PKCS#12 PBE iteration counts. OpenSSL
 * writes 2048 by default, we write 600,000 (OWASP 2023); 10 million is
 * about 5 s of HMAC-SHA256 on one core. */
#define PKJWT__PBKDF2_MAX_ITERATIONS 10000000ULL
/* scrypt's work is proportional to N*r*p. `openssl pkcs8 -scrypt` and we
 * write N=16384, r=8, p=1 (2^17); 2^22 is 32 times that, about 2.5 s. */
#define PKJWT__SCRYPT_MAX_NRP (1ULL << 22)
/* scrypt's memory, 128*r*(N+p+2) bytes: OpenSSL's own cap when decrypting
 * (SCRYPT_MAX_MEM), checked here too so the message can say so. */
#define PKJWT__SCRYPT_MAX_MEM (32ULL * 1024 * 1024)

/* ---- servers' metadata (discovery) ---- */

/* A metadata document is a few KiB (Keycloak's, the largest seen, 6 KiB);
 * 256 KiB leaves room for long lists and refuses a stream. */
#define PKJWT__DISCOVERY_MAX (256 * 1024)
/* The members read from one: how many algs, and each string's length. */
#define PKJWT__DISCOVERY_ALGS_MAX 64
#define PKJWT__DISCOVERY_STRING_MAX 2048
/* How long a document is kept without a Cache-Control max-age, and at
 * most with one. */
#define PKJWT__DISCOVERY_TTL_S 86400

/* ---- assertions ---- */

/* An assertion is a few hundred bytes; a megabyte is not one. */
#define PKJWT__ASSERTION_MAX (1024 * 1024)
/* Times in assertions: 1970-01-01 to 9999-12-31T23:59:59Z. Outside is
 * absurd, and keeps every time sum far from int64 overflow. */
#define PKJWT__TIME_MIN 0LL
#define PKJWT__TIME_MAX 253402300799LL

/* ---- PKCS#11 ---- */

/* A PKCS#11 URI names a token, a key and a module; 4 KiB is far more. */
#define PKJWT__PKCS11_URI_MAX 4096
/* A PIN file holds one PIN (tokens take up to a few dozen bytes). */
#define PKJWT__PIN_FILE_MAX 256

#endif
