/* pkjwt/key.h: private and public keys (RSA 2048-4096, EC P-256/384/521). */
#ifndef PKJWT_KEY_H
#define PKJWT_KEY_H

#include <pkjwt/common.h>
#include <pkjwt/error.h>

PKJWT_BEGIN_DECLS

/**
 * A loaded key: an RSA or EC key pair, or only its public half.
 * Loading a key costs about 0.4 ms in OpenSSL 3, so callers load once and
 * keep the handle. A handle is immutable after it is made: any number of
 * threads may use one handle at once (sign, export, read).
 */
typedef struct pkjwt_key pkjwt_key;

typedef enum pkjwt_key_type {
  PKJWT_KEY_RSA = 1,
  PKJWT_KEY_EC = 2
} pkjwt_key_type;

/** Defaults: RSA 3072 bits, EC P-256 (as ssh-keygen and step choose). */
#define PKJWT_RSA_DEFAULT_BITS 3072
#define PKJWT_EC_DEFAULT_CURVE "P-256"

/**
 * Generate an RSA key of 2048, 3072 or 4096 bits (0 means 3072).
 * Any other size fails with PKJWT_ERR_WEAK_KEY (under 2048) or
 * PKJWT_ERR_KEY_TYPE. *out is the caller's: free it with pkjwt_key_free().
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_key_generate_rsa(pkjwt_key **out, unsigned int bits, pkjwt_error *err);

/**
 * Generate an EC key on "P-256", "P-384" or "P-521" (NULL means P-256).
 * Other curves fail with PKJWT_ERR_KEY_TYPE.
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_key_generate_ec(pkjwt_key **out, const char *curve, pkjwt_error *err);

/**
 * Load a key from memory. Accepted: PEM PKCS#8 ("PRIVATE KEY"), encrypted
 * PKCS#8 ("ENCRYPTED PRIVATE KEY", needs passphrase), SEC1 ("EC PRIVATE KEY"),
 * PKCS#1 ("RSA PRIVATE KEY"), the same in DER, and public keys
 * ("PUBLIC KEY" SubjectPublicKeyInfo, or "RSA PUBLIC KEY", PEM or DER).
 * In PEM with several blocks (e.g. "EC PARAMETERS" then the key, as
 * `openssl ecparam -genkey` writes), the first private key block is used,
 * else the first public key block.
 * Loaded keys may be RSA of 2048 to 8192 bits or EC on P-256/P-384/P-521.
 * passphrase may be NULL; it is used only for encrypted keys and is not kept.
 * OpenSSL never prompts for one.
 * Refused: RSA under 2048 bits (PKJWT_ERR_WEAK_KEY, "RSA keys shorter than
 * 2048 bits are refused"), other key types and curves (PKJWT_ERR_KEY_TYPE,
 * naming them, e.g. "Ed25519 keys are not supported; ..."), a missing or
 * wrong passphrase (PKJWT_ERR_PASSPHRASE), anything else (PKJWT_ERR_PARSE).
 * On failure *out is NULL.
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_key_load_mem(pkjwt_key **out, const void *data, size_t len,
                   const char *passphrase, pkjwt_error *err);

/**
 * Load a key from a file, as pkjwt_key_load_mem(). A path that begins with
 * "pkcs11:" is a PKCS#11 URI, loaded as pkjwt_key_load_uri() with default
 * options (passphrase unused). The file must be a
 * regular file (symlinks are followed) of at most 1 MiB, else PKJWT_ERR_IO;
 * its bytes are wiped after parsing. When the file holds a private key and
 * group or others have any permission on it, the key still loads and
 * err->warning says so: "private key file is readable by group or others
 * (mode 0644); run chmod 600" (callers print it).
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_key_load_file(pkjwt_key **out, const char *path, const char *passphrase,
                    pkjwt_error *err);

/* ---- keys in PKCS#11 tokens (HSMs, smart cards, TPMs) ------------------ */

/** Options of pkjwt_key_load_uri(); declare with PKJWT_KEY_URI_OPTIONS_INIT. */
#define PKJWT_KEY_URI_OPTIONS_VERSION 1
typedef struct pkjwt_key_uri_options {
  unsigned int version;      /**< PKJWT_KEY_URI_OPTIONS_VERSION */
  /** The PKCS#11 module (a .so path) when the URI has no module-path;
   * NULL: the environment's PKJWT_PKCS11_MODULE. */
  const char *pkcs11_module;
  /** A file holding the token's user PIN (one line; a final newline is
   * dropped) when the URI has no pin-source; NULL: no PIN. */
  const char *pin_file;
} pkjwt_key_uri_options;
#define PKJWT_KEY_URI_OPTIONS_INIT { PKJWT_KEY_URI_OPTIONS_VERSION, NULL, NULL }

/**
 * 1 when this process can use keys in PKCS#11 tokens (the library was
 * built with libp11 and can load it: libp11 is loaded on first use, and
 * this call loads it), else 0. Thread-safe.
 */
PKJWT_EXPORT int pkjwt_key_pkcs11_supported(void);

/**
 * Load a key named by a URI: an RFC 7512 "pkcs11:" URI (a private key in a
 * PKCS#11 token, which signs inside the token and never leaves it), or,
 * for anything else, a file name as pkjwt_key_load_file() without a
 * passphrase. opts may be NULL (defaults).
 *
 * The URI's path attributes token, manufacturer, model, serial, slot-id,
 * object and id pick the token and the private key (object is its label,
 * id its CKA_ID, percent-encoded); type, if given, must be "private".
 * Query attributes: module-path (the module; else opts->pkcs11_module,
 * else the environment's PKJWT_PKCS11_MODULE), pin-source ("file:/path"
 * or "/path": a file holding the PIN; else opts->pin_file). A PIN written
 * in the URI (pin-value) is refused: it would show in process lists and
 * logs. The PIN is tried once (a wrong PIN is never retried, so the token
 * is never locked by us) and wiped after use.
 *
 * The handle works as any key: public facts, JWK, certificates and signing
 * (RS*, PS*, ES*, ES signatures raw R||S). Signing through one token is
 * serialised by a lock, as PKCS#11 sessions are not safe to share between
 * threads; the handle can still be used from any thread. The private key
 * cannot be written out (pkjwt_key_write_private() fails with
 * PKJWT_ERR_NO_PRIVATE_KEY).
 *
 * Errors: PKJWT_ERR_PKCS11 (library built without PKCS#11, no module or
 * one that cannot be loaded, no token matching, no key matching or more
 * than one), PKJWT_ERR_PASSPHRASE (no PIN when the token needs one, wrong
 * PIN, PIN locked), PKJWT_ERR_INVALID_ARG (a malformed URI), the key rules
 * of pkjwt_key_load_mem(). On failure *out is NULL.
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_key_load_uri(pkjwt_key **out, const char *uri,
                   const pkjwt_key_uri_options *opts, pkjwt_error *err);

/**
 * Make a key pair inside the PKCS#11 token that uri names (as
 * pkjwt_key_load_uri(): token, module, PIN) and return it loaded: EC on
 * curve (NULL: P-256) or RSA of bits (0: 3072), as the generators above.
 * The private key is made sensitive and never extractable, may only sign,
 * and gets the URI's object= as its label (required) and id= as its CKA_ID
 * (when absent, 8 random bytes). A private key with that label already on
 * the token, or a token that cannot make the key (the message names the
 * mechanism it lacks), fails with PKJWT_ERR_PKCS11; nothing is replaced. Other errors as
 * pkjwt_key_load_uri(). On failure *out is NULL.
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_key_generate_uri(pkjwt_key **out, const char *uri, pkjwt_key_type type,
                       unsigned int bits, const char *curve,
                       const pkjwt_key_uri_options *opts, pkjwt_error *err);

/** Free a key handle; its private part is wiped by OpenSSL. NULL is a no-op. */
PKJWT_EXPORT void pkjwt_key_free(pkjwt_key *key);

/* ---- read-only facts about a key (borrowed; valid while the key lives) ---- */

PKJWT_EXPORT pkjwt_key_type pkjwt_key_get_type(const pkjwt_key *key);
/** Modulus bits for RSA, field bits (256, 384, 521) for EC. */
PKJWT_EXPORT unsigned int pkjwt_key_get_bits(const pkjwt_key *key);
/** "P-256", "P-384" or "P-521" for EC keys, NULL for RSA. */
PKJWT_EXPORT const char *pkjwt_key_get_curve(const pkjwt_key *key);
/** 1 when the handle holds a private key, 0 for a public key only. */
PKJWT_EXPORT int pkjwt_key_has_private(const pkjwt_key *key);
/** RFC 7638 SHA-256 thumbprint, base64url without padding (43 chars). */
PKJWT_EXPORT const char *pkjwt_key_get_thumbprint(const pkjwt_key *key);
/** Default JWS alg: ES256/ES384/ES512 by curve, RS256 for RSA. */
PKJWT_EXPORT const char *pkjwt_key_get_default_alg(const pkjwt_key *key);

/**
 * Warnings about the key, made when the handle was loaded (today: a private
 * key file readable by group or others), whether or not the caller passed
 * an err; err->warning holds the last one too. The list never changes
 * after the handle is returned. pkjwt_key_warning() returns warning i
 * (0 <= i < count; borrowed, lives as long as the key) or NULL.
 */
PKJWT_EXPORT size_t pkjwt_key_warning_count(const pkjwt_key *key);
PKJWT_EXPORT const char *pkjwt_key_warning(const pkjwt_key *key, size_t i);

/* ---- writing ---------------------------------------------------------- */

typedef enum pkjwt_kdf {
  PKJWT_KDF_SCRYPT = 0, /**< AES-256-CBC with scrypt (default) */
  PKJWT_KDF_PBKDF2 = 1  /**< AES-256-CBC with PBKDF2-HMAC-SHA256 */
} pkjwt_kdf;

/** PBKDF2 iterations: the default, and the least accepted. */
#define PKJWT_PBKDF2_MIN_ITERATIONS 600000UL

#define PKJWT_WRITE_OPTIONS_VERSION 1
typedef struct pkjwt_write_options {
  unsigned int version;           /**< PKJWT_WRITE_OPTIONS_VERSION */
  const char *passphrase;         /**< NULL or "": write unencrypted */
  pkjwt_kdf kdf;                  /**< when encrypted */
  unsigned long pbkdf2_iterations;/**< 0 = 600000; fewer is refused */
  int force;                      /**< 1: replace an existing file */
} pkjwt_write_options;
#define PKJWT_WRITE_OPTIONS_INIT \
  { PKJWT_WRITE_OPTIONS_VERSION, NULL, PKJWT_KDF_SCRYPT, 0, 0 }

/**
 * Write the private key as PKCS#8 PEM, encrypted when opts->passphrase is set
 * ("ENCRYPTED PRIVATE KEY": PBES2 with AES-256-CBC; scrypt N=16384 r=8 p=1,
 * which OpenSSL's own tools can still decrypt, or PBKDF2-HMAC-SHA256; fewer
 * than PKJWT_PBKDF2_MIN_ITERATIONS iterations fail with
 * PKJWT_ERR_INVALID_ARG). A public-only key fails with
 * PKJWT_ERR_NO_PRIVATE_KEY.
 * The file is created new with mode 0600 whatever the umask, written to a
 * temporary file in the same folder, fsync'd and renamed into place. An
 * existing path fails with PKJWT_ERR_EXISTS unless opts->force. On any failure
 * nothing is left behind. opts may be NULL (defaults).
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_key_write_private(const pkjwt_key *key, const char *path,
                        const pkjwt_write_options *opts, pkjwt_error *err);

/** The public key as PEM SubjectPublicKeyInfo. Free *out with pkjwt_str_free. */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_key_public_pem(char **out, const pkjwt_key *key, pkjwt_error *err);

/** 1 when both handles hold the same public key, else 0. */
PKJWT_EXPORT int pkjwt_key_equal_public(const pkjwt_key *a, const pkjwt_key *b);

PKJWT_END_DECLS

#endif
