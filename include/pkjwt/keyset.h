/* pkjwt/keyset.h: key sets, a folder of keys a running service rotates. */
#ifndef PKJWT_KEYSET_H
#define PKJWT_KEYSET_H

#include <pkjwt/common.h>
#include <pkjwt/error.h>
#include <pkjwt/key.h>
#include <pkjwt/cert.h>
#include <pkjwt/sign.h>

PKJWT_BEGIN_DECLS

/**
 * A key set: a folder holding keys (KID.key, PKCS#8 PEM, 0600), their
 * self-signed certificates (KID.crt) and a manifest, keyset.json, that gives
 * each key's kid (its RFC 7638 thumbprint), file names, state, creation time
 * and the expiry of its certificate. The manifest is the commit point: it is
 * written last, atomically (temporary file + rename) under an flock(2) on
 * keyset.lock, so a reader never sees a half-written set. Fields the library
 * does not know are kept when it rewrites the manifest.
 *
 * A loaded set signs with its active key. It notices a change of the folder
 * (inotify where available, else a check of the manifest's and the folder's
 * mtimes at most once a second) when a signing call comes, reloads it in
 * that one thread while others keep signing with the key they have, and
 * swaps keys atomically. A reload that fails keeps the old keys in service
 * and sets a warning (pkjwt_keyset_warning(), and err->warning of each
 * signing call until a reload succeeds).
 */
typedef struct pkjwt_keyset pkjwt_keyset;

/** A key's place in a rotation. */
typedef enum pkjwt_key_state {
  PKJWT_KEY_NEXT = 1,     /**< made and uploaded, not yet signing */
  PKJWT_KEY_ACTIVE = 2,   /**< the one key that signs */
  PKJWT_KEY_PREVIOUS = 3, /**< was active; still registered, unused */
  PKJWT_KEY_RETIRED = 4   /**< no longer registered anywhere */
} pkjwt_key_state;

/** The manifest's and the lock's file names inside the folder. */
#define PKJWT_KEYSET_MANIFEST "keyset.json"
#define PKJWT_KEYSET_LOCK "keyset.lock"
/** The most keys one manifest may list. */
#define PKJWT_KEYSET_MAX_KEYS 64

/** "next", "active", "previous", "retired"; NULL for another value. */
PKJWT_EXPORT const char *pkjwt_key_state_name(pkjwt_key_state state);

/**
 * Load the set in folder dir and check it: the manifest is a JSON object
 * whose "keys" array has at most PKJWT_KEYSET_MAX_KEYS entries, each with
 * kid, key, cert, state, created and expires; every key file but a retired
 * one's loads (a
 * private key), its thumbprint is its kid, its certificate matches it and
 * its notAfter is the manifest's expires; at most one key is active and at
 * most one next. Anything else fails with the code of the cause
 * (PKJWT_ERR_IO, PKJWT_ERR_PARSE, PKJWT_ERR_JSON, PKJWT_ERR_CERT...) and a
 * message that starts with the file's name in the folder ("keyset.json:
 * two active keys", "KID.crt: the certificate does not match KID.key");
 * callers print "dir: message". A set may have no active key (right after
 * its first rotate); signing then fails. Key warnings (a key file others
 * can read) go to err->warning. Free *out with pkjwt_keyset_free().
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_keyset_load(pkjwt_keyset **out, const char *dir, pkjwt_error *err);

/** Free the set and every key it loaded. NULL is a no-op. No thread may be
 * signing with it. */
PKJWT_EXPORT void pkjwt_keyset_free(pkjwt_keyset *ks);

/**
 * Sign a client assertion, as pkjwt_assertion_sign(), with the set's active
 * key (kid: the key's thumbprint unless opts->kid or no_kid say otherwise),
 * after picking up a change of the folder (see above). Thread-safe; a
 * reload by another thread never makes this wait. Fails with
 * PKJWT_ERR_NO_PRIVATE_KEY when the set has no active key. While a failed
 * reload leaves the old keys in service, err->warning says so.
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_keyset_sign(char **out, pkjwt_keyset *ks, const pkjwt_sign_options *opts,
                  pkjwt_error *err);

/**
 * Pick up a change of the folder now, as a signing call would (1 when the
 * keys were swapped, 0 when nothing changed or another thread is reloading,
 * -1 when the reload failed and the old keys stay, with the warning set).
 */
PKJWT_EXPORT int pkjwt_keyset_refresh(pkjwt_keyset *ks);

/**
 * Copy the warning of the last failed reload into buf (buflen bytes, cut to
 * fit, NUL-terminated) and return 1 while the set signs with old keys
 * because of it; 0 and "" once a reload has succeeded or none failed.
 */
PKJWT_EXPORT int pkjwt_keyset_warning(char *buf, size_t buflen,
                                      const pkjwt_keyset *ks);

/** The folder as given to pkjwt_keyset_load() (borrowed, lives with ks). */
PKJWT_EXPORT const char *pkjwt_keyset_dir(const pkjwt_keyset *ks);

/** One key of the set; every pointer is borrowed and lives as long as the
 * set (keys and certificates of earlier loads are kept until
 * pkjwt_keyset_free()). A retired key's files are not loaded: its key and
 * cert are NULL. */
typedef struct pkjwt_keyset_entry {
  const char *kid;
  const char *key_file;  /**< name inside the folder, or a pkcs11: URI */
  const char *cert_file; /**< name inside the folder */
  pkjwt_key_state state;
  int64_t created;       /**< epoch seconds */
  int64_t expires;       /**< the certificate's notAfter, epoch seconds */
  const pkjwt_key *key;
  const pkjwt_cert *cert;
} pkjwt_keyset_entry;

/**
 * The keys as last loaded, in the manifest's order: the count, and entry i
 * (0 when i is out of range, 1 when *out was filled). The active key is the
 * one with state PKJWT_KEY_ACTIVE. Read the entries of a set that no other
 * thread signs with (a reload may swap them in between two calls).
 */
PKJWT_EXPORT size_t pkjwt_keyset_count(const pkjwt_keyset *ks);
PKJWT_EXPORT int pkjwt_keyset_entry_get(pkjwt_keyset_entry *out,
                                        const pkjwt_keyset *ks, size_t i);

/** What is due, from pkjwt_keyset_due(), most urgent last. */
typedef enum pkjwt_keyset_due {
  PKJWT_DUE_NOTHING = 0,  /**< the active key is good beyond the window */
  PKJWT_DUE_ROTATE = 1,   /**< the active certificate expires within the
                               window and no next key is staged */
  PKJWT_DUE_ACTIVATE = 2, /**< a next key is staged and the active
                               certificate expires within the window, or
                               there is no active key */
  PKJWT_DUE_EXPIRED = 3   /**< the active or next certificate has expired */
} pkjwt_keyset_due;

/**
 * What a rotation needs now, judged at now (epoch seconds; 0 = the real
 * clock) with a window of within_days (>= 0) days before the active
 * certificate's notAfter.
 */
PKJWT_EXPORT pkjwt_keyset_due pkjwt_keyset_due_at(const pkjwt_keyset *ks,
                                                  long within_days,
                                                  int64_t now);

/* ---- changing a set (each under the folder's lock) ------------------- */

/**
 * Stage key (private) and its certificate cert as the set's next key:
 * write KID.key (0600, never over an existing file) and KID.crt into dir
 * (made 0700 when missing), then the manifest with the new entry (state
 * next, created = now, 0 = the real clock). Refused with PKJWT_ERR_EXISTS
 * when a next key is already staged or the kid is already listed, with
 * PKJWT_ERR_CERT when cert does not certify key; the set must load first
 * (a broken set is not changed). On failure no file is left. *out_kid (may
 * be NULL) gets the kid; free it with pkjwt_str_free().
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_keyset_add(char **out_kid, const char *dir, const pkjwt_key *key,
                 const pkjwt_cert *cert, int64_t now, pkjwt_error *err);

/**
 * Make key kid (NULL: the next key) active; the key active until then
 * becomes previous (still registered, no longer signing). Fails with
 * PKJWT_ERR_INVALID_ARG when there is no such key, it is retired, or (kid
 * NULL) no next key is staged. *out_kid (may be NULL) gets the activated
 * kid; free it with pkjwt_str_free().
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_keyset_activate(char **out_kid, const char *dir, const char *kid,
                      pkjwt_error *err);

/**
 * Retire key kid: its entry stays in the manifest, its files are no
 * longer loaded or checked (so they may be removed). The active key is
 * refused (PKJWT_ERR_INVALID_ARG): activate another first.
 */
PKJWT_EXPORT PKJWT_WARN_UNUSED int
pkjwt_keyset_retire(const char *dir, const char *kid, pkjwt_error *err);

PKJWT_END_DECLS

#endif
