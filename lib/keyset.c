/*
 * lib/keyset.c: key sets. The manifest (keyset.json) and its checks, the
 * loaded generations of a set and their swap for signing threads, change
 * detection (inotify, else mtimes), and the commands that change a set
 * under its flock.
 *
 * Signing threads never wait: the current generation is one atomic
 * pointer, made in full before it is published, and never freed before the
 * set is (a service reloads a few times a year, and a reload that finds the
 * manifest unchanged makes nothing new). Only one thread at a time checks
 * for a change (an atomic flag it does not wait on), and only at most every
 * CHECK_INOTIFY_MS (inotify) or CHECK_MTIME_MS (mtimes).
 */
#define _GNU_SOURCE 1
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/inotify.h>
#endif

#include <jansson.h>
#include <openssl/evp.h>

/* The manifest's largest size, its format version, and how often a
 * signing call may look for a change. */
#define MANIFEST_MAX (256 * 1024)
#define MANIFEST_VERSION 1
#define CHECK_INOTIFY_MS 20
#define CHECK_MTIME_MS 1000
#define NAME_MAX_LEN 200

static const char *const state_names[] = {NULL, "next", "active", "previous",
                                          "retired"};

const char *pkjwt_key_state_name(pkjwt_key_state s) {
  return s >= PKJWT_KEY_NEXT && s <= PKJWT_KEY_RETIRED ? state_names[s] : NULL;
}

static int state_from_name(pkjwt_key_state *out, const char *name) {
  for (int s = PKJWT_KEY_NEXT; s <= PKJWT_KEY_RETIRED; s++)
    if (strcmp(state_names[s], name) == 0) {
      *out = (pkjwt_key_state)s;
      return 0;
    }
  return -1;
}

/* ---- times as the manifest writes them: "2026-12-02T18:40:00Z" ---- */

static void iso_format(char buf[32], int64_t t) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (!gmtime_r(&tt, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    snprintf(buf, 32, "1970-01-01T00:00:00Z");
}

static int iso_parse(int64_t *out, const char *s) {
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  char z = 0, extra = 0;
  if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c%c", &tm.tm_year, &tm.tm_mon,
             &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z,
             &extra) != 7 ||
      z != 'Z' || strlen(s) != 20)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  time_t t = timegm(&tm);
  if (t == (time_t)-1)
    return -1;
  /* sscanf takes " 1", "+1" and "-1" for %2d and timegm rolls
   * 2024-02-30T25:61:61 over into March: only a time that prints back as
   * written is one (found by tests/fuzz/fuzz_manifest). */
  char back[32];
  iso_format(back, (int64_t)t);
  if (strcmp(back, s) != 0)
    return -1;
  *out = (int64_t)t;
  return 0;
}

/* ---- one loaded generation of a set ---- */

struct entry {
  char *kid, *key_file, *cert_file;
  pkjwt_key_state state;
  int64_t created, expires;
  pkjwt_key *key;   /* NULL when retired */
  pkjwt_cert *cert; /* NULL when retired */
};

struct gen {
  struct entry *e;
  size_t n;
  long active;              /* index, or -1 */
  unsigned char digest[32]; /* SHA-256 of the manifest's bytes */
  struct gen *older;        /* kept until the set is freed */
};

static void gen_free(struct gen *g) {
  while (g) {
    struct gen *older = g->older;
    for (size_t i = 0; i < g->n; i++) {
      free(g->e[i].kid);
      free(g->e[i].key_file);
      free(g->e[i].cert_file);
      pkjwt_key_free(g->e[i].key);
      pkjwt_cert_free(g->e[i].cert);
    }
    free(g->e);
    free(g);
    g = older;
  }
}

static char *path_join(const char *dir, const char *name) {
  return pkjwt__concat(dir, strlen(dir), "/", name, (const char *)NULL);
}

/* A plain file name inside the folder: no '/', no leading '.'. */
static int name_ok(const char *s) {
  size_t n = strlen(s);
  return n > 0 && n <= NAME_MAX_LEN && s[0] != '.' && !strchr(s, '/');
}

/* A kid: base64url characters only (a thumbprint or a name). */
static int kid_ok(const char *s) {
  return pkjwt__word_ok(s, NAME_MAX_LEN,
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789-_");
}

/* Prefix err's message with "name: " (the file the failure is about). */
static int fail_in(pkjwt_error *err, int rc, const char *name) {
  if (err) {
    char m[PKJWT_ERROR_MESSAGE_MAX];
    snprintf(m, sizeof(m), "%s", err->message);
    pkjwt__fail(err, rc, "%s: %s", name, m[0] ? m : pkjwt_strerror(rc));
  }
  return rc;
}

static const char *str_member(const json_t *o, const char *k) {
  return json_string_value(json_object_get(o, k));
}

/* Read entry i of the manifest's "keys" into e (without loading files). */
static int parse_entry(struct entry *e, const json_t *o, size_t i,
                       pkjwt_error *err) {
  const char *kid = str_member(o, "kid"), *key = str_member(o, "key"),
             *cert = str_member(o, "cert"), *state = str_member(o, "state"),
             *created = str_member(o, "created"),
             *expires = str_member(o, "expires");
  const char *missing = !kid       ? "kid"
                        : !key     ? "key"
                        : !cert    ? "cert"
                        : !state   ? "state"
                        : !created ? "created"
                        : !expires ? "expires"
                                   : NULL;
  if (!json_is_object(o) || missing)
    return pkjwt__fail(err, PKJWT_ERR_JSON,
                       PKJWT_KEYSET_MANIFEST ": key %zu has no %s string", i,
                       missing ? missing : "object");
  /* key may also be a key in a PKCS#11 token: a pkcs11: URI with its
   * module-path and pin-source (docs/hardware-keys.md) */
  if (!kid_ok(kid) || !(name_ok(key) || pkjwt__pkcs11_is_uri(key)) ||
      !name_ok(cert))
    return pkjwt__fail(err, PKJWT_ERR_JSON,
                       PKJWT_KEYSET_MANIFEST
                       ": key %zu: kid or file name "
                       "unusable (base64url kid, plain file names or a "
                       "pkcs11: URI)",
                       i);
  if (state_from_name(&e->state, state) != 0)
    return pkjwt__fail(err, PKJWT_ERR_JSON,
                       PKJWT_KEYSET_MANIFEST
                       ": key %s: state \"%.32s\" unknown "
                       "(next, active, previous or retired)",
                       kid, state);
  if (iso_parse(&e->created, created) != 0 ||
      iso_parse(&e->expires, expires) != 0)
    return pkjwt__fail(err, PKJWT_ERR_JSON,
                       PKJWT_KEYSET_MANIFEST ": key %s: created and expires "
                                             "must read YYYY-MM-DDTHH:MM:SSZ",
                       kid);
  e->kid = pkjwt__strdup(kid);
  e->key_file = pkjwt__strdup(key);
  e->cert_file = pkjwt__strdup(cert);
  if (!e->kid || !e->key_file || !e->cert_file)
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  return PKJWT_OK;
}

/* Load and check the files of a key that is not retired. */
static int load_entry_files(struct entry *e, const char *dir, pkjwt_error *err,
                            pkjwt_error *warn) {
  char *kp = pkjwt__pkcs11_is_uri(e->key_file) ? pkjwt__strdup(e->key_file)
                                               : path_join(dir, e->key_file),
       *cp = path_join(dir, e->cert_file);
  int rc = !kp || !cp ? pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory")
                      : PKJWT_OK;
  if (rc == PKJWT_OK &&
      (rc = pkjwt_key_load_file(&e->key, kp, NULL, err)) != PKJWT_OK)
    rc = fail_in(err, rc, e->key_file);
  if (rc == PKJWT_OK && warn && err && err->warning[0])
    pkjwt__warn(warn, "%s: %s", e->key_file, err->warning);
  if (rc == PKJWT_OK && !pkjwt_key_has_private(e->key))
    rc = pkjwt__fail(err, PKJWT_ERR_NO_PRIVATE_KEY,
                     "%s: holds a public key; a key set needs private keys",
                     e->key_file);
  if (rc == PKJWT_OK && strcmp(pkjwt_key_get_thumbprint(e->key), e->kid) != 0)
    rc = pkjwt__fail(err, PKJWT_ERR_PARSE,
                     "%s: the key's thumbprint is not the manifest's kid %s",
                     e->key_file, e->kid);
  if (rc == PKJWT_OK &&
      (rc = pkjwt_cert_load_file(&e->cert, cp, err)) != PKJWT_OK)
    rc = fail_in(err, rc, e->cert_file);
  if (rc == PKJWT_OK && !pkjwt_cert_matches_key(e->cert, e->key))
    rc = pkjwt__fail(err, PKJWT_ERR_CERT,
                     "%s: the certificate does not match %s", e->cert_file,
                     e->key_file);
  if (rc == PKJWT_OK && pkjwt_cert_get_not_after(e->cert) != e->expires)
    rc = pkjwt__fail(err, PKJWT_ERR_CERT,
                     "%s: the certificate's notAfter is not the manifest's "
                     "expires",
                     e->cert_file);
  free(kp);
  free(cp);
  return rc;
}

/*
 * Read, check and load the set in dir into a new generation (and, when doc
 * is not NULL, the manifest's JSON for a change). A missing manifest is
 * PKJWT_ERR_IO unless empty_ok, which gives an empty set.
 */
static int load_gen(struct gen **out, json_t **doc, const char *dir,
                    int empty_ok, pkjwt_error *err, pkjwt_error *warn) {
  *out = NULL;
  if (doc)
    *doc = NULL;
  char *mp = path_join(dir, PKJWT_KEYSET_MANIFEST);
  if (!mp)
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  unsigned char *bytes = NULL;
  size_t len = 0;
  struct stat st;
  int rc;
  json_t *j = NULL;
  if (empty_ok && stat(mp, &st) != 0 && errno == ENOENT) {
    bytes = (unsigned char *)pkjwt__strdup("{\"version\":1,\"keys\":[]}");
    len = bytes ? strlen((char *)bytes) : 0;
    rc = bytes ? PKJWT_OK : pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  } else if ((rc = pkjwt__read_file(&bytes, &len, NULL, mp, MANIFEST_MAX,
                                    err)) != PKJWT_OK) {
    rc = fail_in(err, rc, PKJWT_KEYSET_MANIFEST);
  }
  free(mp);
  struct gen *g = calloc(1, sizeof(*g));
  if (rc == PKJWT_OK && !g)
    rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  if (rc == PKJWT_OK) {
    unsigned int dl = 0;
    if (EVP_Digest(bytes, len, g->digest, &dl, EVP_sha256(), NULL) != 1)
      rc = pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO, "SHA-256");
  }
  if (rc == PKJWT_OK) {
    json_error_t je;
    j = json_loadb((const char *)bytes, len, JSON_REJECT_DUPLICATES, &je);
    json_t *keys = j ? json_object_get(j, "keys") : NULL;
    json_t *ver = j ? json_object_get(j, "version") : NULL;
    if (!j && pkjwt__json_nomem(&je))
      rc = pkjwt__fail(err, PKJWT_ERR_NOMEM,
                       PKJWT_KEYSET_MANIFEST ": out of memory reading it");
    else if (!j)
      rc = pkjwt__fail(err, PKJWT_ERR_JSON,
                       PKJWT_KEYSET_MANIFEST ": not JSON (line %d: %s)",
                       je.line, je.text);
    else if (!json_is_object(j) || !json_is_array(keys))
      rc = pkjwt__fail(err, PKJWT_ERR_JSON,
                       PKJWT_KEYSET_MANIFEST
                       ": not an object with a \"keys\" array");
    else if (!json_is_integer(ver) ||
             json_integer_value(ver) != MANIFEST_VERSION)
      rc = pkjwt__fail(err, PKJWT_ERR_JSON,
                       PKJWT_KEYSET_MANIFEST ": \"version\" must be %d",
                       MANIFEST_VERSION);
    else if (json_array_size(keys) > PKJWT_KEYSET_MAX_KEYS)
      rc = pkjwt__fail(err, PKJWT_ERR_JSON,
                       PKJWT_KEYSET_MANIFEST ": more than %d keys",
                       PKJWT_KEYSET_MAX_KEYS);
    else if (json_array_size(keys) > 0 &&
             !(g->e = calloc(json_array_size(keys), sizeof(*g->e))))
      rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
    g->active = -1;
    long next = -1;
    for (size_t i = 0; rc == PKJWT_OK && i < json_array_size(keys); i++) {
      struct entry *e = &g->e[i];
      g->n = i + 1;
      rc = parse_entry(e, json_array_get(keys, i), i, err);
      for (size_t k = 0; rc == PKJWT_OK && k < i; k++)
        if (strcmp(g->e[k].kid, e->kid) == 0)
          rc = pkjwt__fail(err, PKJWT_ERR_JSON,
                           PKJWT_KEYSET_MANIFEST ": kid %s listed twice",
                           e->kid);
      long *slot = e->state == PKJWT_KEY_ACTIVE ? &g->active
                   : e->state == PKJWT_KEY_NEXT ? &next
                                                : NULL;
      if (rc == PKJWT_OK && slot && *slot >= 0)
        rc = pkjwt__fail(err, PKJWT_ERR_JSON,
                         PKJWT_KEYSET_MANIFEST ": two %s keys (%s and %s)",
                         pkjwt_key_state_name(e->state), g->e[*slot].kid,
                         e->kid);
      if (rc == PKJWT_OK && slot)
        *slot = (long)i;
    }
    for (size_t i = 0; rc == PKJWT_OK && i < g->n; i++)
      if (g->e[i].state != PKJWT_KEY_RETIRED)
        rc = load_entry_files(&g->e[i], dir, err, warn);
  }
  if (bytes)
    pkjwt__cleanse_free(bytes, len + 1);
  if (rc != PKJWT_OK || !doc)
    json_decref(j);
  else
    *doc = j;
  if (rc != PKJWT_OK) {
    gen_free(g);
    return rc;
  }
  *out = g;
  return PKJWT_OK;
}

/* ---- the loaded set ---- */

struct pkjwt_keyset {
  char *dir;
  _Atomic(struct gen *) cur;
  atomic_flag busy;              /* one thread checks for a change */
  _Atomic int64_t next_check_ms; /* monotonic ms of the next check */
  int ifd;                       /* inotify, or -1 */
  /* Owned by the thread holding busy: what the last mtime check saw. */
  struct timespec seen_dir, seen_manifest;
  ino_t seen_ino;
  pthread_mutex_t wmu; /* guards warning */
  char warning[PKJWT_ERROR_WARNING_MAX];
  atomic_int degraded; /* a reload failed and none succeeded since */
};

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Record the mtimes; 1 when they differ from the last ones seen. */
static int stamps_changed(pkjwt_keyset *ks) {
  struct stat sd, sm;
  memset(&sd, 0, sizeof(sd));
  memset(&sm, 0, sizeof(sm));
  (void)stat(ks->dir, &sd);
  char *mp = path_join(ks->dir, PKJWT_KEYSET_MANIFEST);
  if (mp)
    (void)stat(mp, &sm);
  free(mp);
  int changed = sd.st_mtim.tv_sec != ks->seen_dir.tv_sec ||
                sd.st_mtim.tv_nsec != ks->seen_dir.tv_nsec ||
                sm.st_mtim.tv_sec != ks->seen_manifest.tv_sec ||
                sm.st_mtim.tv_nsec != ks->seen_manifest.tv_nsec ||
                sm.st_ino != ks->seen_ino;
  ks->seen_dir = sd.st_mtim;
  ks->seen_manifest = sm.st_mtim;
  ks->seen_ino = sm.st_ino;
  return changed;
}

/* Drain the inotify queue; 1 when anything happened in the folder. */
static int inotify_changed(pkjwt_keyset *ks) {
  int changed = 0;
#ifdef __linux__
  char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
  for (;;) {
    ssize_t n = read(ks->ifd, buf, sizeof(buf));
    if (n <= 0)
      break;
    changed = 1;
  }
#else
  (void)ks;
#endif
  return changed;
}

static void watch_start(pkjwt_keyset *ks) {
  ks->ifd = -1;
#ifdef __linux__
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd >= 0 && inotify_add_watch(fd, ks->dir,
                                   IN_CLOSE_WRITE | IN_MOVED_TO |
                                       IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                                       IN_ATTRIB | IN_MODIFY) < 0) {
    close(fd);
    fd = -1;
  }
  ks->ifd = fd;
#endif
  if (ks->ifd < 0)
    (void)stamps_changed(ks);
}

/* With busy held: reload when the folder changed (or always when force). */
static int reload_locked(pkjwt_keyset *ks, int force) {
  int changed = ks->ifd >= 0 ? inotify_changed(ks) : stamps_changed(ks);
  if (!changed && !force)
    return 0;
  struct gen *g = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  if (load_gen(&g, NULL, ks->dir, 0, &e, NULL) != PKJWT_OK) {
    pthread_mutex_lock(&ks->wmu);
    snprintf(ks->warning, sizeof(ks->warning),
             "key set %.40s: reload failed, still signing with the old "
             "keys: %.150s",
             ks->dir, e.message);
    pthread_mutex_unlock(&ks->wmu);
    atomic_store(&ks->degraded, 1);
    return -1;
  }
  atomic_store(&ks->degraded, 0);
  struct gen *cur = atomic_load(&ks->cur);
  if (memcmp(cur->digest, g->digest, sizeof(g->digest)) == 0) {
    gen_free(g);
    return 0;
  }
  g->older = cur;
  atomic_store(&ks->cur, g);
  return 1;
}

static int maybe_reload(pkjwt_keyset *ks, int force) {
  int64_t now = mono_ms();
  if (!force &&
      now < atomic_load_explicit(&ks->next_check_ms, memory_order_relaxed))
    return 0;
  if (atomic_flag_test_and_set(&ks->busy))
    return 0; /* another thread is looking; never wait for it */
  atomic_store_explicit(&ks->next_check_ms,
                        now +
                            (ks->ifd >= 0 ? CHECK_INOTIFY_MS : CHECK_MTIME_MS),
                        memory_order_relaxed);
  int r = reload_locked(ks, force);
  atomic_flag_clear(&ks->busy);
  return r;
}

int pkjwt_keyset_refresh(pkjwt_keyset *ks) {
  return ks ? maybe_reload(ks, 1) : -1;
}

int pkjwt_keyset_load(pkjwt_keyset **out, const char *dir, pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out || !dir || !*dir)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no key set folder given");
  *out = NULL;
  pkjwt_keyset *ks = calloc(1, sizeof(*ks));
  if (!ks || !(ks->dir = pkjwt__strdup(dir))) {
    free(ks);
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  }
  if (pthread_mutex_init(&ks->wmu, NULL) != 0) {
    free(ks->dir);
    free(ks);
    return pkjwt__fail(err, PKJWT_ERR_INTERNAL, "mutex");
  }
  atomic_flag_clear(&ks->busy);
  atomic_init(&ks->degraded, 0);
  atomic_init(&ks->next_check_ms, 0);
  /* Watch first, load second: a change in between is seen next time. */
  watch_start(ks);
  pkjwt_error warn = PKJWT_ERROR_INIT;
  struct gen *g = NULL;
  int rc = load_gen(&g, NULL, dir, 0, err, &warn);
  if (rc != PKJWT_OK) {
    ks->cur = NULL;
    pkjwt_keyset_free(ks);
    return rc;
  }
  atomic_init(&ks->cur, g);
  if (warn.warning[0])
    pkjwt__warn(err, "%s", warn.warning);
  *out = ks;
  return PKJWT_OK;
}

void pkjwt_keyset_free(pkjwt_keyset *ks) {
  if (!ks)
    return;
  if (ks->ifd >= 0)
    close(ks->ifd);
  gen_free(atomic_load(&ks->cur));
  pthread_mutex_destroy(&ks->wmu);
  free(ks->dir);
  free(ks);
}

int pkjwt_keyset_warning(char *buf, size_t buflen, const pkjwt_keyset *ks) {
  if (!buf || buflen == 0)
    return 0;
  buf[0] = '\0';
  if (!ks || !atomic_load(&((pkjwt_keyset *)ks)->degraded))
    return 0;
  pkjwt_keyset *m = (pkjwt_keyset *)ks;
  pthread_mutex_lock(&m->wmu);
  snprintf(buf, buflen, "%s", m->warning);
  pthread_mutex_unlock(&m->wmu);
  return 1;
}

const char *pkjwt_keyset_dir(const pkjwt_keyset *ks) {
  return ks ? ks->dir : NULL;
}

int pkjwt_keyset_sign(char **out, pkjwt_keyset *ks,
                      const pkjwt_sign_options *opts, pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out || !ks)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no %s given",
                       !out ? "output" : "key set");
  *out = NULL;
  (void)maybe_reload(ks, 0);
  const struct gen *g = atomic_load(&ks->cur);
  if (g->active < 0)
    return pkjwt__fail(err, PKJWT_ERR_NO_PRIVATE_KEY,
                       "key set %s has no active key (activate the next one)",
                       ks->dir);
  int rc = pkjwt_assertion_sign(out, g->e[g->active].key, opts, err);
  if (rc == PKJWT_OK && err && atomic_load(&ks->degraded)) {
    char w[PKJWT_ERROR_WARNING_MAX];
    if (pkjwt_keyset_warning(w, sizeof(w), ks))
      pkjwt__warn(err, "%s", w);
  }
  return rc;
}

size_t pkjwt_keyset_count(const pkjwt_keyset *ks) {
  return ks ? atomic_load(&((pkjwt_keyset *)ks)->cur)->n : 0;
}

int pkjwt_keyset_entry_get(pkjwt_keyset_entry *out, const pkjwt_keyset *ks,
                           size_t i) {
  if (!out || !ks)
    return 0;
  const struct gen *g = atomic_load(&((pkjwt_keyset *)ks)->cur);
  if (i >= g->n)
    return 0;
  const struct entry *e = &g->e[i];
  out->kid = e->kid;
  out->key_file = e->key_file;
  out->cert_file = e->cert_file;
  out->state = e->state;
  out->created = e->created;
  out->expires = e->expires;
  out->key = e->key;
  out->cert = e->cert;
  return 1;
}

pkjwt_keyset_due pkjwt_keyset_due_at(const pkjwt_keyset *ks, long within_days,
                                     int64_t now) {
  if (!ks)
    return PKJWT_DUE_EXPIRED;
  now = pkjwt__now(now);
  const struct gen *g = atomic_load(&((pkjwt_keyset *)ks)->cur);
  const struct entry *active = NULL, *next = NULL;
  for (size_t i = 0; i < g->n; i++) {
    if (g->e[i].state == PKJWT_KEY_ACTIVE)
      active = &g->e[i];
    if (g->e[i].state == PKJWT_KEY_NEXT)
      next = &g->e[i];
  }
  if ((active && active->expires <= now) || (next && next->expires <= now))
    return PKJWT_DUE_EXPIRED;
  if (!active)
    return next ? PKJWT_DUE_ACTIVATE : PKJWT_DUE_ROTATE;
  if (within_days < 0)
    within_days = 0;
  if (active->expires - now > (int64_t)within_days * 86400)
    return PKJWT_DUE_NOTHING;
  return next ? PKJWT_DUE_ACTIVATE : PKJWT_DUE_ROTATE;
}

/* ---- changing a set, under its lock ---- */

/* Open and flock the folder's lock file; the fd, or -1 after err. */
static int lock_dir(const char *dir, int make, pkjwt_error *err) {
  char ebuf[PKJWT__STRERROR_LEN];
  if (make && mkdir(dir, 0700) != 0 && errno != EEXIST) {
    pkjwt__fail(err, PKJWT_ERR_IO, "cannot make the folder: %s",
                pkjwt__strerror(errno, ebuf, sizeof(ebuf)));
    return -1;
  }
  if (!make) {
    /* Changing a set that is not there must not leave a lock file. */
    struct stat st;
    char *mp = path_join(dir, PKJWT_KEYSET_MANIFEST);
    int missing = mp && stat(mp, &st) != 0 ? errno : 0;
    free(mp);
    if (missing) {
      pkjwt__fail(err, PKJWT_ERR_IO, PKJWT_KEYSET_MANIFEST ": cannot open: %s",
                  pkjwt__strerror(missing, ebuf, sizeof(ebuf)));
      return -1;
    }
  }
  char *lp = path_join(dir, PKJWT_KEYSET_LOCK);
  if (!lp) {
    pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
    return -1;
  }
  int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  free(lp);
  if (fd < 0) {
    pkjwt__fail(err, PKJWT_ERR_IO, PKJWT_KEYSET_LOCK ": cannot open: %s",
                pkjwt__strerror(errno, ebuf, sizeof(ebuf)));
    return -1;
  }
  while (flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR)
      continue;
    pkjwt__fail(err, PKJWT_ERR_IO, PKJWT_KEYSET_LOCK ": cannot lock: %s",
                pkjwt__strerror(errno, ebuf, sizeof(ebuf)));
    close(fd);
    return -1;
  }
  return fd;
}

static int write_manifest(const char *dir, const json_t *doc,
                          pkjwt_error *err) {
  char *s = pkjwt__json_string(doc);
  char *mp = path_join(dir, PKJWT_KEYSET_MANIFEST);
  int rc = PKJWT_OK;
  if (!s || !mp)
    rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  else if ((rc = pkjwt__write_file_atomic(mp, s, strlen(s), 0600, 1, err)) !=
           PKJWT_OK)
    rc = fail_in(err, rc, PKJWT_KEYSET_MANIFEST);
  free(s);
  free(mp);
  return rc;
}

/* The manifest's entry with this kid, its index in g, or NULL. */
static json_t *find_entry(const json_t *doc, const struct gen *g,
                          const char *kid, size_t *idx) {
  for (size_t i = 0; i < g->n; i++)
    if (strcmp(g->e[i].kid, kid) == 0) {
      *idx = i;
      return json_array_get(json_object_get(doc, "keys"), i);
    }
  return NULL;
}

static int set_state(json_t *entry, pkjwt_key_state s) {
  return json_object_set_new(entry, "state",
                             json_string(pkjwt_key_state_name(s)));
}

int pkjwt_keyset_add(char **out_kid, const char *dir, const pkjwt_key *key,
                     const pkjwt_cert *cert, int64_t now, pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (out_kid)
    *out_kid = NULL;
  if (!dir || !*dir || !key || !cert)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "a folder, a key and its certificate are needed");
  if (!pkjwt_key_has_private(key))
    return pkjwt__fail(err, PKJWT_ERR_NO_PRIVATE_KEY,
                       "a key set needs the private key");
  if (!pkjwt_cert_matches_key(cert, key))
    return pkjwt__fail(err, PKJWT_ERR_CERT,
                       "the certificate does not match the key");
  int fd = lock_dir(dir, 1, err);
  if (fd < 0)
    return err ? err->code : PKJWT_ERR_IO;
  struct gen *g = NULL;
  json_t *doc = NULL;
  const char *kid = pkjwt_key_get_thumbprint(key);
  char kname[NAME_MAX_LEN + 8], cname[NAME_MAX_LEN + 8];
  snprintf(kname, sizeof(kname), "%s.key", kid);
  snprintf(cname, sizeof(cname), "%s.crt", kid);
  char *kp = path_join(dir, kname), *cp = path_join(dir, cname);
  int wrote_key = 0, wrote_cert = 0;
  int rc = !kp || !cp ? pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory")
                      : load_gen(&g, &doc, dir, 1, err, NULL);
  for (size_t i = 0; rc == PKJWT_OK && i < g->n; i++) {
    if (strcmp(g->e[i].kid, kid) == 0)
      rc = pkjwt__fail(err, PKJWT_ERR_EXISTS, "key %s is already in the set",
                       kid);
    else if (g->e[i].state == PKJWT_KEY_NEXT)
      rc = pkjwt__fail(err, PKJWT_ERR_EXISTS,
                       "key %s is already staged as next: activate or retire "
                       "it first",
                       g->e[i].kid);
  }
  if (rc == PKJWT_OK && g->n >= PKJWT_KEYSET_MAX_KEYS)
    rc = pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                     "the set holds %d keys already; remove retired ones",
                     PKJWT_KEYSET_MAX_KEYS);
  pkjwt_write_options wo = PKJWT_WRITE_OPTIONS_INIT;
  if (rc == PKJWT_OK) {
    if ((rc = pkjwt_key_write_private(key, kp, &wo, err)) != PKJWT_OK)
      rc = fail_in(err, rc, kname);
    else
      wrote_key = 1;
  }
  if (rc == PKJWT_OK) {
    if ((rc = pkjwt_cert_write(cert, cp, 0, err)) != PKJWT_OK)
      rc = fail_in(err, rc, cname);
    else
      wrote_cert = 1;
  }
  if (rc == PKJWT_OK) {
    char created[32], expires[32];
    iso_format(created, pkjwt__now(now));
    iso_format(expires, pkjwt_cert_get_not_after(cert));
    json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kid", kid, "key", kname,
                          "cert", cname, "state", "next", "created", created,
                          "expires", expires);
    if (!e || json_array_append_new(json_object_get(doc, "keys"), e) != 0)
      rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
    else
      rc = write_manifest(dir, doc, err);
  }
  if (rc != PKJWT_OK) {
    if (wrote_key)
      unlink(kp);
    if (wrote_cert)
      unlink(cp);
  } else if (out_kid && !(*out_kid = pkjwt__strdup(kid))) {
    rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  }
  json_decref(doc);
  gen_free(g);
  free(kp);
  free(cp);
  close(fd);
  return rc;
}

/* Lock dir, load its set and manifest, run change, write the manifest. */
static int change_set(const char *dir, const char *kid, pkjwt_key_state to,
                      char **out_kid, pkjwt_error *err) {
  int fd = lock_dir(dir, 0, err);
  if (fd < 0)
    return err ? err->code : PKJWT_ERR_IO;
  struct gen *g = NULL;
  json_t *doc = NULL;
  int rc = load_gen(&g, &doc, dir, 0, err, NULL);
  size_t idx = 0;
  json_t *target = NULL;
  if (rc == PKJWT_OK && !kid) {
    for (size_t i = 0; i < g->n; i++)
      if (g->e[i].state == PKJWT_KEY_NEXT)
        kid = g->e[i].kid;
    if (!kid)
      rc = pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "no next key is staged (run rotate first)");
  }
  if (rc == PKJWT_OK && !(target = find_entry(doc, g, kid, &idx)))
    rc =
        pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no key %.64s in the set", kid);
  if (rc == PKJWT_OK && to == PKJWT_KEY_ACTIVE) {
    if (g->e[idx].state == PKJWT_KEY_RETIRED)
      rc = pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "key %s is retired and cannot be activated", kid);
    else if (g->active >= 0 && (size_t)g->active != idx &&
             set_state(json_array_get(json_object_get(doc, "keys"),
                                      (size_t)g->active),
                       PKJWT_KEY_PREVIOUS) != 0)
      rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  }
  if (rc == PKJWT_OK && to == PKJWT_KEY_RETIRED &&
      g->e[idx].state == PKJWT_KEY_ACTIVE)
    rc = pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                     "key %s is the active key: activate another one first",
                     kid);
  if (rc == PKJWT_OK && set_state(target, to) != 0)
    rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  if (rc == PKJWT_OK)
    rc = write_manifest(dir, doc, err);
  if (rc == PKJWT_OK && out_kid && !(*out_kid = pkjwt__strdup(kid)))
    rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  json_decref(doc);
  gen_free(g);
  close(fd);
  return rc;
}

int pkjwt_keyset_activate(char **out_kid, const char *dir, const char *kid,
                          pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (out_kid)
    *out_kid = NULL;
  if (!dir || !*dir)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no key set folder given");
  return change_set(dir, kid, PKJWT_KEY_ACTIVE, out_kid, err);
}

int pkjwt_keyset_retire(const char *dir, const char *kid, pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!dir || !*dir || !kid || !*kid)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "a key set folder and a kid are needed");
  return change_set(dir, kid, PKJWT_KEY_RETIRED, NULL, err);
}
