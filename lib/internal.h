/*
 * lib/internal.h: what several lib/ files share and the public API hides.
 * Cross-file internals are named pkjwt__*; they are never exported (the
 * library is built with -fvisibility=hidden and only PKJWT_EXPORT symbols
 * leave it). Nothing here may be included by tools/.
 */
#ifndef PKJWT_INTERNAL_H
#define PKJWT_INTERNAL_H

#include <config.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pkjwt.h"

#if defined(__GNUC__)
#define PKJWT__PRINTF(f, a) __attribute__((format(printf, f, a)))
#define PKJWT__SENTINEL __attribute__((sentinel))
#else
#define PKJWT__PRINTF(f, a)
#define PKJWT__SENTINEL
#endif

/* ---- the handles' insides (lib/key.c, lib/cert.c) ---- */

/* At most this many warnings are kept on a key handle. */
#define PKJWT__KEY_WARNINGS_MAX 4

/* base64url of a SHA-256 digest without padding: 43 chars + NUL */
#define PKJWT__THUMBPRINT_LEN 44

struct pkjwt__p11;

struct pkjwt_key {
  EVP_PKEY *pkey; /* owned; for a PKCS#11 key its public half only */
  /* A key in a PKCS#11 token (lib/pkcs11.c), owned; NULL for others.
   * Sign with pkjwt__pkcs11_signer()/pkjwt__pkcs11_done(). */
  struct pkjwt__p11 *p11;
  pkjwt_key_type type;
  unsigned int bits;
  const char *curve; /* static JWK crv "P-256"... or NULL (lib/alg.c) */
  int has_private;
  const char *default_alg; /* static JWS name (lib/alg.c) */
  char thumbprint[PKJWT__THUMBPRINT_LEN];
  /* Warnings made while the handle was made (pkjwt_key_warning); owned,
   * never changed after the handle is handed out. (lib/key_warning.c) */
  char *warnings[PKJWT__KEY_WARNINGS_MAX];
  size_t n_warnings;
};

struct pkjwt_cert {
  X509 *x509;         /* owned */
  unsigned char *der; /* owned DER encoding */
  size_t der_len;
  char *subject; /* owned, "CN=a,O=b" */
  char *serial;  /* owned, upper-case hex */
  int64_t not_before, not_after;
  char x5t_s256[PKJWT__THUMBPRINT_LEN];
  char x5t_sha1[PKJWT__THUMBPRINT_LEN]; /* legacy x5t (SHA-1), 27 chars */
};

/*
 * Wrap an EVP_PKEY in a new handle, taking ownership of pkey whatever the
 * outcome. Applies the key rules for loaded keys (RSA of 2048 to 8192 bits,
 * EC on a curve of lib/alg.c's table only; everything else refused) and
 * computes the thumbprint. (lib/key.c)
 */
int pkjwt__key_wrap(pkjwt_key **out, EVP_PKEY *pkey, pkjwt_error *err);

/*
 * A plain PKCS#8 key (RSA with two primes, or EC on a curve of lib/alg.c's
 * table with its public point) through the key manager's import, without
 * OpenSSL's decoders; NULL for any other form, which then goes to the
 * decoders. The caller owns the result and applies the key rules.
 * (lib/pkcs8.c)
 */
EVP_PKEY *pkjwt__pkcs8_import(const PKCS8_PRIV_KEY_INFO *p8);

/* ---- keys in PKCS#11 tokens (lib/pkcs11.c) ---- */

#define PKJWT__PKCS11_SCHEME "pkcs11:"
/* The environment variable naming the module when nothing else does. */
#define PKJWT__PKCS11_MODULE_ENV "PKJWT_PKCS11_MODULE"

/* An RFC 7512 URI's attributes we use; every string malloc'd or NULL. */
struct pkjwt__pkcs11_uri {
  char *token, *manufacturer, *model, *serial, *object;
  unsigned char *id;
  size_t id_len;
  unsigned long slot_id;
  int has_slot_id;
  char *module_path, *pin_source;
};
/* 1 when s begins with "pkcs11:". */
int pkjwt__pkcs11_is_uri(const char *s);
/* Parse uri into u (free with pkjwt__pkcs11_uri_clear; empty on failure).
 * A PIN in the URI (pin-value) is refused. */
int pkjwt__pkcs11_uri_parse(struct pkjwt__pkcs11_uri *u, const char *uri,
                            pkjwt_error *err);
void pkjwt__pkcs11_uri_clear(struct pkjwt__pkcs11_uri *u);
/*
 * Open the private key uri names: *out is the token key (free with
 * pkjwt__pkcs11_free), *pub a new plain OpenSSL key of its public half
 * (the caller owns it). module and pin_file are the options' (may be
 * NULL); the URI's module-path and pin-source come first.
 */
int pkjwt__pkcs11_load(struct pkjwt__p11 **out, EVP_PKEY **pub, const char *uri,
                       const char *module, const char *pin_file,
                       pkjwt_error *err);
/* What key pkjwt__pkcs11_generate makes: EC on group (an OpenSSL group
 * name, "prime256v1") or RSA of bits. */
struct pkjwt__p11_gen {
  int is_ec;
  const char *group;
  unsigned int bits;
};
/* As pkjwt__pkcs11_load, after making the key pair in the token when g is
 * not NULL (label from object=, id from id= or random; sensitive, never
 * extractable, sign only). PKJWT_ERR_PKCS11 when the label is taken. */
int pkjwt__pkcs11_generate(struct pkjwt__p11 **out, EVP_PKEY **pub,
                           const char *uri, const struct pkjwt__p11_gen *g,
                           const char *module, const char *pin_file,
                           pkjwt_error *err);
void pkjwt__pkcs11_free(struct pkjwt__p11 *h);
/* The EVP_PKEY that signs in the token, with the token's lock held until
 * pkjwt__pkcs11_done(h): PKCS#11 sessions are not shared between threads
 * at once. NULL h gives NULL and takes no lock. */
EVP_PKEY *pkjwt__pkcs11_signer(struct pkjwt__p11 *h);
void pkjwt__pkcs11_done(struct pkjwt__p11 *h);
#ifdef HAVE_PKCS11_KEYGEN
/* PS* in the token with CKM_RSA_PKCS_PSS (C_Sign through the module's own
 * functions, on the hash; MGF1 with the same hash, salt as long as it):
 * libp11 0.4's key would have OpenSSL pad and the token sign raw RSA
 * (CKM_RSA_X_509), which many HSMs refuse. Called with the lock that
 * pkjwt__pkcs11_signer() takes; sig holds *sig_len bytes, set to the
 * signature's length. A token without the mechanism: one line naming it. */
int pkjwt__pkcs11_sign_pss(struct pkjwt__p11 *h, const char *alg,
                           const EVP_MD *md, const unsigned char *in,
                           size_t in_len, unsigned char *sig, size_t *sig_len,
                           pkjwt_error *err);
#define PKJWT__P11_PSS_MECH "CKM_RSA_PKCS_PSS"
#else
#define PKJWT__P11_PSS_MECH "CKM_RSA_X_509" /* libp11 pads, the token signs */
#endif
/* After a failed signature with a token key: one line naming the cause
 * (CKA_SIGN false, the mechanism alg needs, token removed); returns the
 * code. Empties OpenSSL's error queue. */
int pkjwt__pkcs11_sign_failed(pkjwt_error *err, const char *alg, int key_type,
                              int pss);

/* ---- public members and thumbprints (lib/thumbprint.c) ---- */

/* The public members of a key, already base64url-encoded: crv/x/y for EC
 * (coordinates at full field length), n/e for RSA. */
struct pkjwt__pub_members {
  int is_ec;
  const char *crv; /* static, EC only */
  char *a;         /* EC x, RSA n; malloc'd */
  char *b;         /* EC y, RSA e; malloc'd */
};

/* Fill m from pkey (RSA, or EC on a curve of lib/alg.c's table). On
 * success free with pkjwt__pub_members_clear; on failure m is empty. */
int pkjwt__pub_members_get(struct pkjwt__pub_members *m, const EVP_PKEY *pkey,
                           pkjwt_error *err);
void pkjwt__pub_members_clear(struct pkjwt__pub_members *m);

/* RFC 7638 thumbprint of pkey's public half into out. */
int pkjwt__jwk_thumbprint(char out[PKJWT__THUMBPRINT_LEN], const EVP_PKEY *pkey,
                          pkjwt_error *err);

/* ---- the usual private keys through narrow decoders (lib/key.c) ---- */

/*
 * The private key in data when it is one of the usual forms, read by the
 * narrow decoders pkjwt_key_load_mem tries first: PEM (label is its label:
 * "PRIVATE KEY", "ENCRYPTED PRIVATE KEY" with a passphrase, "EC PRIVATE
 * KEY", "RSA PRIVATE KEY") or DER PKCS#8 (plain or encrypted), SEC1 or
 * PKCS#1 (label NULL), EC or RSA. A new EVP_PKEY (the caller owns it), or
 * NULL for anything else, without the key rules of pkjwt__key_wrap. Leaves
 * no errors queued. For tests: the usual forms must not need the decoders
 * for any key, or a process's first key load is slow again.
 */
EVP_PKEY *pkjwt__key_decode_usual(const unsigned char *data, size_t len,
                                  const char *label, const char *passphrase);

/* A warning about key, made before the handle is handed out: into
 * err->warning (when err) and onto the key's list (when key; dropped past
 * PKJWT__KEY_WARNINGS_MAX or when out of memory). (lib/key_warning.c) */
void pkjwt__key_warn(pkjwt_key *key, pkjwt_error *err, const char *fmt, ...)
    PKJWT__PRINTF(3, 4);
/* Free the key's warnings (pkjwt_key_free). */
void pkjwt__key_warnings_free(pkjwt_key *key);

/* ---- errors (lib/error.c) ---- */

/*
 * Every public function that takes a pkjwt_error starts with
 * PKJWT__ERROR_BEGIN(err): an err whose version the library does not know
 * makes it return PKJWT_ERR_INVALID_ARG with nothing written; otherwise the
 * fields of the caller's version are reset (code PKJWT_OK, empty strings).
 * tests/check_base.c calls every such function with a bad version.
 */
#define PKJWT__ERROR_BEGIN(err)                                                \
  do {                                                                         \
    if (pkjwt__error_begin(err) != PKJWT_OK)                                   \
      return PKJWT_ERR_INVALID_ARG;                                            \
  } while (0)
/* Only the version check of PKJWT__ERROR_BEGIN, for a fast path that resets
 * the few fields it may write itself. */
#define PKJWT__ERROR_CHECK(err)                                                \
  do {                                                                         \
    if (pkjwt__error_check(err) != PKJWT_OK)                                   \
      return PKJWT_ERR_INVALID_ARG;                                            \
  } while (0)
int pkjwt__error_begin(pkjwt_error *err);
int pkjwt__error_check(const pkjwt_error *err);
/* Bytes of pkjwt_error that layout version has; 0 for an unknown version. */
size_t pkjwt__error_size(unsigned int version);
/* A field appended in a later version is written only when the caller's err
 * has it: if (PKJWT__ERROR_HAS(err, field)) ... */
#define PKJWT__ERROR_HAS(err, field)                                           \
  ((err) != NULL && pkjwt__error_size((err)->version) >=                       \
                        offsetof(pkjwt_error, field) + sizeof((err)->field))
/* Copy src's detail into dst (fields both versions have; dst keeps its
 * version). NULL dst is a no-op. */
void pkjwt__error_copy(pkjwt_error *dst, const pkjwt_error *src);
/* Set code and a formatted message; returns code. */
int pkjwt__fail(pkjwt_error *err, int code, const char *fmt, ...)
    PKJWT__PRINTF(3, 4);
/* As pkjwt__fail, then ": <OpenSSL's reason>" from the error queue, which
 * is emptied. A queue that says OpenSSL ran out of memory makes the code
 * PKJWT_ERR_NOMEM (returned and set), whatever code was asked for. */
int pkjwt__fail_ssl(pkjwt_error *err, int code, const char *fmt, ...)
    PKJWT__PRINTF(3, 4);
/* 1 when OpenSSL's error queue held an out-of-memory error; the queue is
 * emptied. */
int pkjwt__ssl_nomem(void);
/* Set err->hint (code and message untouched). */
void pkjwt__hint(pkjwt_error *err, const char *fmt, ...) PKJWT__PRINTF(2, 3);
/* Set err->warning (code untouched). */
void pkjwt__warn(pkjwt_error *err, const char *fmt, ...) PKJWT__PRINTF(2, 3);

/* ---- base64 (lib/base64.c) ---- */

/* Encoded length of n bytes without padding (url) / with padding (std),
 * not counting the NUL. */
#define PKJWT__B64URL_LEN(n) (((n) / 3) * 4 + (((n) % 3) ? ((n) % 3) + 1 : 0))
#define PKJWT__B64_LEN(n) ((((n) + 2) / 3) * 4)

/* base64url without padding into dst (room for PKJWT__B64URL_LEN(n)+1);
 * returns the length written, NUL-terminated. */
size_t pkjwt__b64url_encode(char *dst, const unsigned char *src, size_t n);
/* Standard base64 with padding, one line, into dst (PKJWT__B64_LEN(n)+1). */
size_t pkjwt__b64_encode(char *dst, const unsigned char *src, size_t n);
/* Decode base64url (no padding, no whitespace; strict: rejects '=', '+',
 * '/' and non-zero trailing bits). *out is malloc'd (free with free()),
 * NUL-terminated for convenience. Returns 0, -1 (not canonical) or -2 (out
 * of memory). */
int pkjwt__b64url_decode(unsigned char **out, size_t *outlen, const char *src,
                         size_t n);
/* Decode standard base64 (padding required, no whitespace). */
int pkjwt__b64_decode(unsigned char **out, size_t *outlen, const char *src,
                      size_t n);

/* ---- files (lib/fileio.c) ---- */

/* Read a whole regular file, at most max bytes. *out is malloc'd and
 * NUL-terminated; free it with pkjwt__cleanse_free(*out, *len + 1).
 * When mode is not NULL it gets the file's st_mode. */
int pkjwt__read_file(unsigned char **out, size_t *len, mode_t *mode,
                     const char *path, size_t max, pkjwt_error *err);

/* Create path with exactly mode (umask ignored): write to a temporary file
 * in the same folder, fsync, rename, fsync the folder. PKJWT_ERR_EXISTS when
 * path exists and !force. Nothing is left behind on failure. */
int pkjwt__write_file_atomic(const char *path, const void *data, size_t len,
                             mode_t mode, int force, pkjwt_error *err);

/* ---- memory (lib/util.c) ---- */

/* Copy what a memory BIO holds into a new NUL-terminated string (*out,
 * free with pkjwt_str_free; *len may be NULL). An empty BIO gives "". */
int pkjwt__bio_string(char **out, size_t *len, BIO *bio, pkjwt_error *err);
/* What write (1 on success) puts of obj into a new memory BIO, as a new
 * string as above: the one home of "encode into memory, take the text". On
 * a failed write the code is code and the message what, with OpenSSL's
 * reason. */
typedef int (*pkjwt__bio_writer)(BIO *bio, const void *obj);
int pkjwt__bio_written(char **out, size_t *len, pkjwt__bio_writer write,
                       const void *obj, int code, const char *what,
                       pkjwt_error *err);

/* OPENSSL_cleanse then free; NULL is a no-op. */
void pkjwt__cleanse_free(void *p, size_t n);
/*
 * The one maker of strings the library hands out: plain malloc, freed by
 * pkjwt_str_free (or pkjwt__cleanse_free). strdup that returns NULL on NULL;
 * strndup of exactly n bytes (s need not be terminated).
 */
char *pkjwt__strdup(const char *s);
char *pkjwt__strndup(const char *s, size_t n);
/*
 * The one string glue: the first alen bytes of a (need not be
 * terminated), then each string that follows, up to a (const char *)NULL,
 * in one new string made as above. NULL when out of memory. Paths are
 * glued with it ("dir", "/", "name").
 */
char *pkjwt__concat(const char *a, size_t alen, ...) PKJWT__SENTINEL;
/*
 * The one URL join and its one slash rule: the first len bytes of base
 * less one trailing '/', then path (which begins with '/' or is empty),
 * then tail (NULL for none). "https://h/" + "/token" is "https://h/token".
 * A new string as above; NULL when out of memory.
 */
char *pkjwt__url_join(const char *base, size_t len, const char *path,
                      const char *tail);
/* Compact JSON (member order kept) in a string made as above, never in
 * Jansson's allocator; NULL when out of memory. */
typedef struct json_t json_t;
char *pkjwt__json_string(const json_t *j);
/* 1 when json_loadb failed for lack of memory, not for bad input: Jansson
 * says so (json_error_out_of_memory), or says nothing at all (its lexer's
 * set-up fails before any error is set). */
struct json_error_t;
int pkjwt__json_nomem(const struct json_error_t *je);
/* lib/dl.c: one function of a library loaded on first use, and where its
 * pointer goes in the caller's table (offsetof). */
struct pkjwt__dl_sym {
  const char *name;
  size_t offset;
};
/* dlopen soname and fill table with syms[0..n); 0, or -1 with one line in
 * why naming the file and the Debian package to install. Never unloads.
 * Not thread-safe by itself: call it under the caller's pthread_once. */
int pkjwt__dl_load(void *table, const char *soname, const char *package,
                   const struct pkjwt__dl_sym *syms, size_t n, char *why,
                   size_t why_len);
/* The files lib/pkcs11.c and lib/verify.c load (configure's sonames); tests
 * point them at a missing file, before the first use, to see the error. */
extern const char *pkjwt__libp11_soname;
extern const char *pkjwt__libjwt_soname;
/* Size for the why of pkjwt__dl_load. */
#define PKJWT__DL_WHY_LEN 160
/* Thread-safe strerror: the text of errno value e, in buf or static. */
const char *pkjwt__strerror(int e, char *buf, size_t n);
/* Buffer size for pkjwt__strerror. */
#define PKJWT__STRERROR_LEN 128
/*
 * The options-version rule, the same for every options struct: 1 to
 * current accepted, anything else PKJWT_ERR_INVALID_ARG. what names the
 * struct in the message ("sign options").
 */
int pkjwt__options_version_ok(unsigned int version, unsigned int current,
                              const char *what, pkjwt_error *err);
/* Seconds since the epoch, or now when now != 0 (the injected clock). */
int64_t pkjwt__now(int64_t now);

/* Length of the UTF-8 character at s (left bytes, left > 0), or 0 if the
 * bytes there are not one (overlong, surrogate, past U+10FFFF, cut short);
 * *cp gets the code point. RFC 3629's table, the one UTF-8 check. */
size_t pkjwt__utf8_char(const unsigned char *s, size_t left, uint32_t *cp);
/* A server's words made safe to print on a terminal, the one place that
 * does it (lib/util.c): control bytes (C0, DEL) and bytes that are not
 * UTF-8 become \xHH; C1 controls (U+0080-U+009F), bidi marks, embeddings,
 * overrides and isolates (U+061C, U+200E-F, U+202A-E, U+2066-9) and the
 * line/paragraph separators (U+2028-9) become \uHHHH; all else is kept.
 * Writes at most n bytes with the NUL into dst (dst may be NULL when n is
 * 0), never half an escape or half a character, and returns the length the
 * whole text needs without the NUL, as snprintf does. */
size_t pkjwt__printable(char *dst, size_t n, const char *src, size_t len);
/* The same into a new malloc'd string (pkjwt_str_free); NULL for NULL or
 * out of memory. */
char *pkjwt__printable_dup(const char *src);
/* 1 when s is 1 to max bytes, each of them in set: the one check of a
 * name that becomes part of a file name or an id. */
int pkjwt__word_ok(const char *s, size_t max, const char *set);
/* 1 when s holds a control byte (C0 or DEL): ids, scopes, URLs and header
 * values given to the library may not. */
int pkjwt__has_control(const char *s);

#endif
