/*
 * lib/pkcs11.c: private keys in PKCS#11 tokens (HSMs, smart cards, TPMs),
 * named by RFC 7512 "pkcs11:" URIs and reached through libp11 (loaded on
 * first use, lib/dl.c). The private
 * key becomes an EVP_PKEY whose RSA or EC method calls C_Sign in the token,
 * so the signing path of lib/sign.c and lib/cert.c stays the same; the
 * public half is copied into an ordinary OpenSSL key for everything else
 * (thumbprint, JWK, certificates, verifying).
 *
 * One module is loaded once per process and shared by every key from it:
 * a second C_Initialize is refused by many modules and C_Finalize (when
 * libp11 unloads it) would end the sessions of every other key. That table
 * is the library's only global state, behind one mutex.
 */
#define _GNU_SOURCE 1 /* strnlen */
#include "bounds.h"
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>

int pkjwt__pkcs11_is_uri(const char *s) {
  return s &&
         strncmp(s, PKJWT__PKCS11_SCHEME, strlen(PKJWT__PKCS11_SCHEME)) == 0;
}

/* ---- RFC 7512 URIs ------------------------------------------------------ */

/* Percent-decode src[0..n) into a new buffer (*out, NUL-terminated; *len
 * without the NUL). -1 on a bad escape or out of memory. */
static int pct_decode(unsigned char **out, size_t *len, const char *src,
                      size_t n) {
  unsigned char *d = malloc(n + 1);
  if (!d)
    return -1;
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    if (src[i] != '%') {
      d[j++] = (unsigned char)src[i];
      continue;
    }
    int hi, lo;
    if (i + 2 >= n) {
      free(d);
      return -1;
    }
    hi = OPENSSL_hexchar2int((unsigned char)src[i + 1]);
    lo = OPENSSL_hexchar2int((unsigned char)src[i + 2]);
    if (hi < 0 || lo < 0) {
      free(d);
      return -1;
    }
    d[j++] = (unsigned char)(hi * 16 + lo);
    i += 2;
  }
  d[j] = 0;
  *out = d;
  *len = j;
  return 0;
}

void pkjwt__pkcs11_uri_clear(struct pkjwt__pkcs11_uri *u) {
  free(u->token);
  free(u->manufacturer);
  free(u->model);
  free(u->serial);
  free(u->object);
  free(u->id);
  free(u->module_path);
  free(u->pin_source);
  memset(u, 0, sizeof(*u));
}

static const struct {
  const char *name;
  size_t off;
  int query; /* 1: only after '?' */
} uri_attrs[] = {
    {"token", offsetof(struct pkjwt__pkcs11_uri, token), 0},
    {"manufacturer", offsetof(struct pkjwt__pkcs11_uri, manufacturer), 0},
    {"model", offsetof(struct pkjwt__pkcs11_uri, model), 0},
    {"serial", offsetof(struct pkjwt__pkcs11_uri, serial), 0},
    {"object", offsetof(struct pkjwt__pkcs11_uri, object), 0},
    {"id", offsetof(struct pkjwt__pkcs11_uri, id), 0},
    {"module-path", offsetof(struct pkjwt__pkcs11_uri, module_path), 1},
    {"pin-source", offsetof(struct pkjwt__pkcs11_uri, pin_source), 1},
};

/* Path attributes RFC 7512 defines that name a library or slot we do not
 * select by; accepted and ignored so that URIs from p11tool or pkcs11-tool
 * work. */
static const char *const ignored_attrs[] = {
    "library-description", "library-manufacturer", "library-version",
    "slot-description",    "slot-manufacturer",    "module-name",
};

static int uri_attr(struct pkjwt__pkcs11_uri *u, const char *a, size_t n,
                    int query, pkjwt_error *err) {
  const char *eq = memchr(a, '=', n);
  if (!eq)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "PKCS#11 URI attribute \"%.*s\" has no value", (int)n,
                       a);
  size_t klen = (size_t)(eq - a);
  const char *v = eq + 1;
  size_t vlen = n - klen - 1;
  unsigned char *val = NULL;
  size_t val_len = 0;
  if (pct_decode(&val, &val_len, v, vlen) != 0)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "PKCS#11 URI attribute \"%.*s\" has a bad %%-escape",
                       (int)klen, a);
#define KEY_IS(s) (klen == strlen(s) && memcmp(a, s, klen) == 0)
  if (KEY_IS("pin-value")) {
    pkjwt__cleanse_free(val, val_len + 1);
    return pkjwt__fail(err, PKJWT_ERR_INSECURE,
                       "a PIN written in the PKCS#11 URI (pin-value) is "
                       "refused; put it in a file named by pin-source");
  }
  if (KEY_IS("type")) {
    int ok = strcmp((char *)val, "private") == 0;
    free(val);
    if (!ok)
      return pkjwt__fail(
          err, PKJWT_ERR_INVALID_ARG,
          "PKCS#11 URI type must be \"private\" (a signing key)");
    return PKJWT_OK;
  }
  if (KEY_IS("slot-id")) {
    char *end = NULL;
    errno = 0;
    unsigned long s = strtoul((char *)val, &end, 10);
    int ok = val_len > 0 && *end == 0 && errno == 0 && val[0] != '-';
    free(val);
    if (!ok)
      return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                         "PKCS#11 URI slot-id is not a number");
    u->slot_id = s;
    u->has_slot_id = 1;
    return PKJWT_OK;
  }
  for (size_t i = 0; i < sizeof(ignored_attrs) / sizeof(ignored_attrs[0]); i++)
    if (KEY_IS(ignored_attrs[i])) {
      free(val);
      return PKJWT_OK;
    }
  for (size_t i = 0; i < sizeof(uri_attrs) / sizeof(uri_attrs[0]); i++) {
    if (!KEY_IS(uri_attrs[i].name))
      continue;
    (void)query; /* accepted on either side, as p11-kit does */
    char **slot = (char **)(void *)((char *)u + uri_attrs[i].off);
    if (*slot) {
      free(val);
      return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                         "PKCS#11 URI attribute %s is given twice",
                         uri_attrs[i].name);
    }
    if (strcmp(uri_attrs[i].name, "id") == 0) {
      u->id_len = val_len;
    } else if (memchr(val, 0, val_len) || val_len == 0) {
      free(val);
      return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                         "PKCS#11 URI attribute %s is empty or holds a NUL",
                         uri_attrs[i].name);
    }
    *slot = (char *)val;
    return PKJWT_OK;
  }
#undef KEY_IS
  free(val);
  return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                     "PKCS#11 URI attribute \"%.*s\" is not known", (int)klen,
                     a);
}

int pkjwt__pkcs11_uri_parse(struct pkjwt__pkcs11_uri *u, const char *uri,
                            pkjwt_error *err) {
  memset(u, 0, sizeof(*u));
  if (!pkjwt__pkcs11_is_uri(uri))
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "not a PKCS#11 URI (it must begin with pkcs11:)");
  if (strnlen(uri, PKJWT__PKCS11_URI_MAX + 1) > PKJWT__PKCS11_URI_MAX)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "PKCS#11 URI is longer than %d bytes",
                       PKJWT__PKCS11_URI_MAX);
  if (pkjwt__has_control(uri))
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "PKCS#11 URI holds a control character");
  const char *p = uri + strlen(PKJWT__PKCS11_SCHEME);
  int query = 0;
  while (*p) {
    size_t n = strcspn(p, query ? "&" : ";?");
    if (n > 0) {
      int rc = uri_attr(u, p, n, query, err);
      if (rc != PKJWT_OK) {
        pkjwt__pkcs11_uri_clear(u);
        return rc;
      }
    }
    p += n;
    if (*p == '?')
      query = 1;
    if (*p)
      p++;
  }
  return PKJWT_OK;
}

#ifdef HAVE_PKCS11

#include <libp11.h>
#include <openssl/rand.h>

#ifdef HAVE_PKCS11_KEYGEN
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#endif

/* ---- libp11, loaded on first use ---------------------------------------
 * libpkjwt does not link libp11: only a process that opens a pkcs11: URI
 * (or asks pkjwt_key_pkcs11_supported) loads it, so pkjwt-sign with a key
 * file starts without it (docs/performance.md). <libp11.h> gives the types
 * (__typeof__ keeps every call checked against its prototype). */
static struct {
  __typeof__(ERR_load_PKCS11_strings) *load_strings;
  __typeof__(PKCS11_CTX_new) *CTX_new;
  __typeof__(PKCS11_CTX_free) *CTX_free;
  __typeof__(PKCS11_CTX_load) *CTX_load;
  __typeof__(PKCS11_CTX_unload) *CTX_unload;
  __typeof__(PKCS11_enumerate_slots) *enumerate_slots;
  __typeof__(PKCS11_release_all_slots) *release_all_slots;
  __typeof__(PKCS11_get_slotid_from_slot) *get_slotid_from_slot;
  __typeof__(PKCS11_is_logged_in) *is_logged_in;
  __typeof__(PKCS11_login) *login;
  __typeof__(PKCS11_enumerate_keys) *enumerate_keys;
  __typeof__(PKCS11_get_private_key) *get_private_key;
  __typeof__(PKCS11_get_public_key) *get_public_key;
  __typeof__(PKCS11_find_certificate) *find_certificate;
} p11;

#define P11_SYM(name, field)                                                   \
  { #name, offsetof(__typeof__(p11), field) }
static const struct pkjwt__dl_sym p11_syms[] = {
    P11_SYM(ERR_load_PKCS11_strings, load_strings),
    P11_SYM(PKCS11_CTX_new, CTX_new),
    P11_SYM(PKCS11_CTX_free, CTX_free),
    P11_SYM(PKCS11_CTX_load, CTX_load),
    P11_SYM(PKCS11_CTX_unload, CTX_unload),
    P11_SYM(PKCS11_enumerate_slots, enumerate_slots),
    P11_SYM(PKCS11_release_all_slots, release_all_slots),
    P11_SYM(PKCS11_get_slotid_from_slot, get_slotid_from_slot),
    P11_SYM(PKCS11_is_logged_in, is_logged_in),
    P11_SYM(PKCS11_login, login),
    P11_SYM(PKCS11_enumerate_keys, enumerate_keys),
    P11_SYM(PKCS11_get_private_key, get_private_key),
    P11_SYM(PKCS11_get_public_key, get_public_key),
    P11_SYM(PKCS11_find_certificate, find_certificate),
};
#undef P11_SYM

static pthread_once_t p11_once = PTHREAD_ONCE_INIT;
static int p11_loaded;
static char p11_why[PKJWT__DL_WHY_LEN];

const char *pkjwt__libp11_soname = PKJWT_LIBP11_SONAME;

static void p11_load(void) {
  p11_loaded = pkjwt__dl_load(&p11, pkjwt__libp11_soname, PKJWT_LIBP11_PACKAGE,
                              p11_syms, sizeof(p11_syms) / sizeof(p11_syms[0]),
                              p11_why, sizeof(p11_why)) == 0;
  if (p11_loaded)
    p11.load_strings();
}

/* 0 when libp11 is there, else fails err with the one line saying why. */
static int p11_ready(pkjwt_error *err) {
  pthread_once(&p11_once, p11_load);
  return p11_loaded ? PKJWT_OK
                    : pkjwt__fail(err, PKJWT_ERR_PKCS11,
                                  "PKCS#11 keys need libp11: %s", p11_why);
}

int pkjwt_key_pkcs11_supported(void) {
  return p11_ready(NULL) == PKJWT_OK;
}

/* ---- loaded modules: one per path, shared, never unloaded twice ---- */

struct p11_module {
  char *path;
  PKCS11_CTX *ctx;
  PKCS11_SLOT *slots;
  unsigned int nslots;
  unsigned int refs;
  /* Held around every signature with a key of this module: libp11 hands
   * one session per slot to whoever asks, and a PKCS#11 session runs one
   * operation at a time. */
  pthread_mutex_t sign_lock;
  struct p11_module *next;
};

struct pkjwt__p11 {
  struct p11_module *mod;
  EVP_PKEY *priv; /* libp11's key: signs in the token */
#ifdef HAVE_PKCS11_KEYGEN
  /* PS* through CKM_RSA_PKCS_PSS (pkjwt__pkcs11_sign_pss): the key's slot,
   * CKA_ID and label, and a session of our own with the key's handle,
   * opened on the first PS signature and used under the module's lock. */
  unsigned long slot_id;
  unsigned char *id;
  size_t id_len;
  char *label;
  void *dl; /* the module, held open while the session lives */
  CK_FUNCTION_LIST_PTR fl;
  CK_SESSION_HANDLE session;
  CK_OBJECT_HANDLE key;
  int session_open;
#endif
};

static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct p11_module *modules;

/* PKCS#11 return values we turn into words (PKCS#11 v2.40 section 11.1;
 * libp11 queues them as the OpenSSL reason). */
#define P11_CKR_KEY_TYPE_INCONSISTENT 0x63UL
#define P11_CKR_KEY_FUNCTION_NOT_PERMITTED 0x68UL
#define P11_CKR_MECHANISM_INVALID 0x70UL
#define P11_CKR_MECHANISM_PARAM_INVALID 0x71UL
#define P11_CKR_DEVICE_REMOVED 0x32UL
#define P11_CKR_PIN_INCORRECT 0xA0UL
#define P11_CKR_PIN_INVALID 0xA1UL
#define P11_CKR_PIN_LEN_RANGE 0xA2UL
#define P11_CKR_PIN_EXPIRED 0xA3UL
#define P11_CKR_PIN_LOCKED 0xA4UL
#define P11_CKR_TOKEN_NOT_PRESENT 0xE0UL

/* The reasons in OpenSSL's queue, newest last; returns the first of want
 * found (0 for none). The queue is left alone. */
static unsigned long queued_reason(const unsigned long *want, size_t n) {
  unsigned long found = 0;
  ERR_set_mark();
  unsigned long e;
  unsigned long seen[16];
  size_t ns = 0;
  while ((e = ERR_get_error()) != 0)
    if (ns < sizeof(seen) / sizeof(seen[0]))
      seen[ns++] = (unsigned long)ERR_GET_REASON(e);
  ERR_pop_to_mark();
  for (size_t i = 0; i < ns && !found; i++)
    for (size_t j = 0; j < n; j++)
      if (seen[i] == want[j])
        found = want[j];
  return found;
}

/* Whether path begins as an ELF object does: anything else is refused
 * here, because the loader's complaint would go to stderr as a second
 * line. */
static int looks_like_elf(const char *path) {
  unsigned char magic[4] = {0};
  FILE *f = fopen(path, "rb");
  if (!f)
    return 0;
  size_t n = fread(magic, 1, sizeof(magic), f);
  fclose(f);
  return n == 4 && memcmp(magic,
                          "\x7f"
                          "ELF",
                          4) == 0;
}

static struct p11_module *module_get(const char *path, pkjwt_error *err,
                                     int *rc) {
  pthread_mutex_lock(&modules_lock);
  struct p11_module *m;
  for (m = modules; m; m = m->next)
    if (strcmp(m->path, path) == 0) {
      m->refs++;
      pthread_mutex_unlock(&modules_lock);
      return m;
    }
  m = calloc(1, sizeof(*m));
  if (!m || !(m->path = pkjwt__strdup(path)) || !(m->ctx = p11.CTX_new())) {
    *rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
    goto fail;
  }
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
    /* Said here, or the loader's dlerror goes to stderr as a second line. */
    *rc = pkjwt__fail(err, PKJWT_ERR_PKCS11,
                      "the PKCS#11 module %s does not exist or is not a file",
                      path);
    p11.CTX_free(m->ctx);
    m->ctx = NULL;
    goto fail;
  }
  if (!looks_like_elf(path)) {
    *rc = pkjwt__fail(err, PKJWT_ERR_PKCS11,
                      "the PKCS#11 module %s is not a shared library", path);
    p11.CTX_free(m->ctx);
    m->ctx = NULL;
    goto fail;
  }
  ERR_clear_error();
  if (p11.CTX_load(m->ctx, path) != 0) {
    ERR_clear_error();
    *rc = pkjwt__fail(err, PKJWT_ERR_PKCS11,
                      "cannot load the PKCS#11 module %s (missing, not a "
                      "PKCS#11 module, or it failed to start)",
                      path);
    p11.CTX_free(m->ctx);
    m->ctx = NULL;
    goto fail;
  }
  if (p11.enumerate_slots(m->ctx, &m->slots, &m->nslots) != 0) {
    *rc = pkjwt__fail_ssl(err, PKJWT_ERR_PKCS11,
                          "the PKCS#11 module %s cannot list its slots", path);
    p11.CTX_unload(m->ctx);
    p11.CTX_free(m->ctx);
    m->ctx = NULL;
    goto fail;
  }
  pthread_mutex_init(&m->sign_lock, NULL);
  m->refs = 1;
  m->next = modules;
  modules = m;
  pthread_mutex_unlock(&modules_lock);
  return m;
fail:
  pthread_mutex_unlock(&modules_lock);
  if (m) {
    free(m->path);
    free(m);
  }
  return NULL;
}

static void module_put(struct p11_module *m) {
  if (!m)
    return;
  pthread_mutex_lock(&modules_lock);
  if (--m->refs > 0) {
    pthread_mutex_unlock(&modules_lock);
    return;
  }
  for (struct p11_module **pp = &modules; *pp; pp = &(*pp)->next)
    if (*pp == m) {
      *pp = m->next;
      break;
    }
  pthread_mutex_unlock(&modules_lock);
  p11.release_all_slots(m->ctx, m->slots, m->nslots);
  p11.CTX_unload(m->ctx);
  p11.CTX_free(m->ctx);
  pthread_mutex_destroy(&m->sign_lock);
  free(m->path);
  free(m);
  ERR_clear_error();
}

/* A fixed-width PKCS#11 token field as libp11 gives it (trailing blanks
 * already trimmed) against the URI's value. */
static int field_matches(const char *want, const char *have) {
  return !want || (have && strcmp(want, have) == 0);
}

/* "token=\"prod\" serial=..." of the URI's token attributes, for messages
 * (made printable: a token label is outside text). */
static void token_words(char *buf, size_t n,
                        const struct pkjwt__pkcs11_uri *u) {
  size_t pos = 0;
  buf[0] = 0;
  const char *names[] = {"token", "manufacturer", "model", "serial"};
  const char *vals[] = {u->token, u->manufacturer, u->model, u->serial};
  for (size_t i = 0; i < 4 && pos + 1 < n; i++) {
    if (!vals[i])
      continue;
    char safe[96];
    pkjwt__printable(safe, sizeof(safe), vals[i], strlen(vals[i]));
    int w = snprintf(buf + pos, n - pos, "%s%s=\"%s\"", pos ? " " : "",
                     names[i], safe);
    if (w < 0)
      return;
    pos += (size_t)w < n - pos ? (size_t)w : n - pos - 1;
  }
  if (u->has_slot_id && pos + 1 < n)
    snprintf(buf + pos, n - pos, "%sslot-id=%lu", pos ? " " : "", u->slot_id);
  if (!buf[0])
    snprintf(buf, n, "any token");
}

static int find_slot(PKCS11_SLOT **out, struct p11_module *m,
                     const struct pkjwt__pkcs11_uri *u, pkjwt_error *err) {
  char words[256];
  token_words(words, sizeof(words), u);
  PKCS11_SLOT *found = NULL;
  unsigned int matches = 0, absent = 0;
  for (unsigned int i = 0; i < m->nslots; i++) {
    PKCS11_SLOT *s = &m->slots[i];
    if (u->has_slot_id && p11.get_slotid_from_slot(s) != u->slot_id)
      continue;
    if (!s->token || !s->token->initialized) {
      absent++;
      continue;
    }
    PKCS11_TOKEN *t = s->token;
    if (!field_matches(u->token, t->label) ||
        !field_matches(u->manufacturer, t->manufacturer) ||
        !field_matches(u->model, t->model) ||
        !field_matches(u->serial, t->serialnr))
      continue;
    if (!found)
      found = s;
    matches++;
  }
  if (matches == 0)
    return pkjwt__fail(err, PKJWT_ERR_PKCS11,
                       "no PKCS#11 token (%s) is present (%u slot%s, %u "
                       "without a token)",
                       words, m->nslots, m->nslots == 1 ? "" : "s", absent);
  if (matches > 1)
    return pkjwt__fail(err, PKJWT_ERR_PKCS11,
                       "%u PKCS#11 tokens match %s; name one by token= or "
                       "serial= in the URI",
                       matches, words);
  *out = found;
  return PKJWT_OK;
}

/* The PIN from pin-source (a file: URI or an absolute path) or the PIN
 * file: *pin is NULL when neither is given, else a string to wipe with
 * pkjwt__cleanse_free(*pin, *len + 1). */
static int read_pin(char **pin, size_t *len, const struct pkjwt__pkcs11_uri *u,
                    const char *pin_file, pkjwt_error *err) {
  *pin = NULL;
  *len = 0;
  const char *path = pin_file;
  if (u->pin_source) {
    path = u->pin_source;
    if (strncmp(path, "file:", 5) == 0)
      path += 5;
    if (strncmp(path, "//", 2) == 0) /* file:///path */
      path += 2;
    if (path[0] != '/')
      return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                         "PKCS#11 URI pin-source must be file:/absolute/path");
  }
  if (!path)
    return PKJWT_OK;
  unsigned char *buf = NULL;
  size_t n = 0;
  pkjwt_error sub = PKJWT_ERROR_INIT;
  int rc = pkjwt__read_file(&buf, &n, NULL, path, PKJWT__PIN_FILE_MAX, &sub);
  if (rc != PKJWT_OK)
    return pkjwt__fail(err, rc, "PIN file %s: %s", path, sub.message);
  size_t total = n;
  if (n > 0 && buf[n - 1] == '\n')
    n--;
  if (n > 0 && buf[n - 1] == '\r')
    n--;
  if (n == 0 || memchr(buf, 0, n) || memchr(buf, '\n', n)) {
    pkjwt__cleanse_free(buf, total + 1);
    return pkjwt__fail(err, PKJWT_ERR_PASSPHRASE,
                       "PIN file %s must hold the PIN on one line", path);
  }
  OPENSSL_cleanse(buf + n, total - n);
  buf[n] = 0;
  *pin = (char *)buf;
  *len = total; /* wipe the whole buffer */
  return PKJWT_OK;
}

static int login(PKCS11_SLOT *slot, const struct pkjwt__pkcs11_uri *u,
                 const char *pin_file, const char *words, pkjwt_error *err) {
  PKCS11_TOKEN *t = slot->token;
  if (!t->loginRequired)
    return PKJWT_OK;
  int logged_in = 0;
  if (p11.is_logged_in(slot, 0, &logged_in) == 0 && logged_in)
    return PKJWT_OK;
  char *pin = NULL;
  size_t pin_len = 0;
  int rc = read_pin(&pin, &pin_len, u, pin_file, err);
  if (rc != PKJWT_OK)
    return rc;
  if (!pin && !t->secureLogin)
    return pkjwt__fail(err, PKJWT_ERR_PASSPHRASE,
                       "the PKCS#11 token (%s) needs a PIN: give a PIN file or "
                       "pin-source=file:... in the URI",
                       words);
  if (t->userPinLocked) {
    pkjwt__cleanse_free(pin, pin_len + 1);
    return pkjwt__fail(err, PKJWT_ERR_PASSPHRASE,
                       "the user PIN of the PKCS#11 token (%s) is locked; its "
                       "security officer must unlock it",
                       words);
  }
  /* One attempt only: a wrong PIN is never retried, so that we never use
   * up the token's tries and lock it. */
  ERR_clear_error();
  int ok = p11.login(slot, 0, pin) == 0;
  pkjwt__cleanse_free(pin, pin_len + 1);
  if (ok) {
    ERR_clear_error();
    return PKJWT_OK;
  }
  static const unsigned long pin_reasons[] = {
      P11_CKR_PIN_INCORRECT, P11_CKR_PIN_INVALID, P11_CKR_PIN_LEN_RANGE,
      P11_CKR_PIN_EXPIRED,   P11_CKR_PIN_LOCKED,  P11_CKR_TOKEN_NOT_PRESENT};
  unsigned long r = queued_reason(pin_reasons, 6);
  ERR_clear_error();
  switch (r) {
  case P11_CKR_PIN_INCORRECT:
  case P11_CKR_PIN_INVALID:
  case P11_CKR_PIN_LEN_RANGE:
    return pkjwt__fail(err, PKJWT_ERR_PASSPHRASE,
                       "wrong PIN for the PKCS#11 token (%s) (tried once, not "
                       "retried; the token counts failed tries)",
                       words);
  case P11_CKR_PIN_EXPIRED:
    return pkjwt__fail(err, PKJWT_ERR_PASSPHRASE,
                       "the PIN of the PKCS#11 token (%s) has expired", words);
  case P11_CKR_PIN_LOCKED:
    return pkjwt__fail(err, PKJWT_ERR_PASSPHRASE,
                       "the user PIN of the PKCS#11 token (%s) is locked",
                       words);
  case P11_CKR_TOKEN_NOT_PRESENT:
    return pkjwt__fail(err, PKJWT_ERR_PKCS11,
                       "the PKCS#11 token (%s) was removed", words);
  default:
    return pkjwt__fail(err, PKJWT_ERR_PASSPHRASE,
                       "cannot log in to the PKCS#11 token (%s)", words);
  }
}

/* "object=\"x\" id=%01%02" of the URI's key attributes, for messages. */
static void key_words(char *buf, size_t n, const struct pkjwt__pkcs11_uri *u) {
  size_t pos = 0;
  buf[0] = 0;
  if (u->object) {
    char safe[96];
    pkjwt__printable(safe, sizeof(safe), u->object, strlen(u->object));
    int w = snprintf(buf, n, "object=\"%s\"", safe);
    pos = w > 0 && (size_t)w < n ? (size_t)w : n - 1;
  }
  if (u->id) {
    int w = snprintf(buf + pos, n - pos, "%sid=", pos ? " " : "");
    pos += w > 0 && (size_t)w < n - pos ? (size_t)w : 0;
    for (size_t i = 0; i < u->id_len && pos + 4 < n; i++)
      pos += (size_t)snprintf(buf + pos, n - pos, "%%%02X",
                              (unsigned int)u->id[i]);
  }
  if (!buf[0])
    snprintf(buf, n, "any private key");
}

static int find_key(PKCS11_KEY **out, PKCS11_SLOT *slot,
                    const struct pkjwt__pkcs11_uri *u, const char *words,
                    pkjwt_error *err) {
  PKCS11_KEY *keys = NULL;
  unsigned int n = 0;
  char kw[256];
  key_words(kw, sizeof(kw), u);
  if (p11.enumerate_keys(slot->token, &keys, &n) != 0)
    return pkjwt__fail_ssl(err, PKJWT_ERR_PKCS11,
                           "cannot list the private keys of the PKCS#11 "
                           "token %s",
                           words);
  unsigned int matches = 0;
  PKCS11_KEY *found = NULL;
  for (unsigned int i = 0; i < n; i++) {
    PKCS11_KEY *k = &keys[i];
    if (u->object && (!k->label || strcmp(u->object, k->label) != 0))
      continue;
    if (u->id && (k->id_len != u->id_len || memcmp(k->id, u->id, u->id_len)))
      continue;
    if (!found)
      found = k;
    matches++;
  }
  if (matches == 0)
    return pkjwt__fail(err, PKJWT_ERR_PKCS11,
                       "no private key with %s on the PKCS#11 token (%s) (%u "
                       "private key%s there)",
                       kw, words, n, n == 1 ? "" : "s");
  if (matches > 1)
    return pkjwt__fail(err, PKJWT_ERR_PKCS11,
                       "%u private keys match %s on the PKCS#11 token (%s); "
                       "add id= (or a unique object=) to the URI",
                       matches, kw, words);
  *out = found;
  return PKJWT_OK;
}

/* An ordinary OpenSSL public key from libp11's: everything but signing
 * then runs through OpenSSL's own code. */
static EVP_PKEY *plain_public(EVP_PKEY *p11pub) {
  unsigned char *der = NULL;
  int len = i2d_PUBKEY(p11pub, &der);
  if (len <= 0)
    return NULL;
  const unsigned char *p = der;
  EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, len);
  OPENSSL_free(der);
  return pub;
}

#ifdef HAVE_PKCS11_KEYGEN
/* The function list of the module at path, which libp11 has loaded: *dl
 * holds a reference to it (dlclose when done). */
static int function_list(void **dl, CK_FUNCTION_LIST_PTR *f, const char *path,
                         pkjwt_error *err) {
  *f = NULL;
  *dl = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
  CK_C_GetFunctionList get =
      *dl ? (CK_C_GetFunctionList)dlsym(*dl, "C_GetFunctionList") : NULL;
  if (get && get(f) == CKR_OK && *f)
    return PKJWT_OK;
  if (*dl)
    dlclose(*dl);
  *dl = NULL;
  *f = NULL;
  return pkjwt__fail(err, PKJWT_ERR_PKCS11,
                     "the PKCS#11 module %s has no function list", path);
}

static int generate(struct p11_module *m, PKCS11_SLOT *slot,
                    struct pkjwt__pkcs11_uri *u, const struct pkjwt__p11_gen *g,
                    const char *words, pkjwt_error *err);
#endif

/* Open the key u names (after making it, when g is not NULL). */
static int open_key(struct pkjwt__p11 **out, EVP_PKEY **pub,
                    struct pkjwt__pkcs11_uri *u, const char *module,
                    const char *pin_file, const struct pkjwt__p11_gen *g,
                    pkjwt_error *err) {
  int rc = p11_ready(err);
  if (rc != PKJWT_OK)
    return rc;
  const char *path = u->module_path ? u->module_path : module;
  if (!path || !*path)
    path = getenv(PKJWT__PKCS11_MODULE_ENV);
  if (!path || !*path) {
    return pkjwt__fail(err, PKJWT_ERR_PKCS11,
                       "no PKCS#11 module named: give module-path in the "
                       "URI, the module option or %s",
                       PKJWT__PKCS11_MODULE_ENV);
  }
  struct pkjwt__p11 *h = calloc(1, sizeof(*h));
  if (!h)
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  h->mod = module_get(path, err, &rc);
  if (!h->mod)
    goto fail;
  char words[256];
  token_words(words, sizeof(words), u);
  PKCS11_SLOT *slot = NULL;
  PKCS11_KEY *key = NULL;
  if ((rc = find_slot(&slot, h->mod, u, err)) != PKJWT_OK ||
      (rc = login(slot, u, pin_file, words, err)) != PKJWT_OK)
    goto fail;
  if (g) {
#ifdef HAVE_PKCS11_KEYGEN
    if ((rc = generate(h->mod, slot, u, g, words, err)) != PKJWT_OK)
      goto fail;
#else
    rc = pkjwt__fail(err, PKJWT_ERR_PKCS11,
                     "this build of pkjwt cannot make keys in a PKCS#11 "
                     "token (built without p11-kit's pkcs11.h)");
    goto fail;
#endif
  }
  if ((rc = find_key(&key, slot, u, words, err)) != PKJWT_OK)
    goto fail;
#ifdef HAVE_PKCS11_KEYGEN
  h->slot_id = p11.get_slotid_from_slot(slot);
  if ((key->id_len && !(h->id = malloc(key->id_len))) ||
      (key->label && !(h->label = pkjwt__strdup(key->label)))) {
    rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
    goto fail;
  }
  if (key->id_len)
    memcpy(h->id, key->id, key->id_len);
  h->id_len = key->id_len;
#endif
  h->priv = p11.get_private_key(key);
  EVP_PKEY *p11pub = p11.get_public_key(key);
  if (!p11pub) {
    PKCS11_CERT *c = p11.find_certificate(key);
    if (c && c->x509) {
      p11pub = X509_get_pubkey(c->x509);
    }
  }
  if (!h->priv || !p11pub) {
    EVP_PKEY_free(p11pub);
    rc = pkjwt__fail_ssl(err, PKJWT_ERR_PKCS11,
                         "cannot read the key on the PKCS#11 token (%s) (its "
                         "public half must be readable)",
                         words);
    goto fail;
  }
  *pub = plain_public(p11pub);
  EVP_PKEY_free(p11pub);
  if (!*pub) {
    rc = pkjwt__fail_ssl(err, PKJWT_ERR_PKCS11,
                         "cannot read the public half of the key on the "
                         "PKCS#11 token %s",
                         words);
    goto fail;
  }
  ERR_clear_error();
  *out = h;
  return PKJWT_OK;
fail:
  pkjwt__pkcs11_free(h);
  ERR_clear_error();
  return rc;
}

int pkjwt__pkcs11_load(struct pkjwt__p11 **out, EVP_PKEY **pub, const char *uri,
                       const char *module, const char *pin_file,
                       pkjwt_error *err) {
  return pkjwt__pkcs11_generate(out, pub, uri, NULL, module, pin_file, err);
}

int pkjwt__pkcs11_generate(struct pkjwt__p11 **out, EVP_PKEY **pub,
                           const char *uri, const struct pkjwt__p11_gen *g,
                           const char *module, const char *pin_file,
                           pkjwt_error *err) {
  *out = NULL;
  *pub = NULL;
  struct pkjwt__pkcs11_uri u;
  int rc = pkjwt__pkcs11_uri_parse(&u, uri, err);
  if (rc != PKJWT_OK)
    return rc;
  if (g && !u.object) {
    pkjwt__pkcs11_uri_clear(&u);
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "a new key in a PKCS#11 token needs a label: object= "
                       "in the URI");
  }
  rc = open_key(out, pub, &u, module, pin_file, g, err);
  pkjwt__pkcs11_uri_clear(&u);
  return rc;
}

#ifdef HAVE_PKCS11_KEYGEN
/* Make a key pair in the token through the module's own functions (libp11
 * 0.4 makes RSA keys only, and without choosing their attributes): the
 * private key is sensitive and never extractable, may sign and nothing
 * else, and carries the URI's label and id (a random 8-byte id when the
 * URI has none, written back into u so the key is then opened by it). */
static int generate(struct p11_module *m, PKCS11_SLOT *slot,
                    struct pkjwt__pkcs11_uri *u, const struct pkjwt__p11_gen *g,
                    const char *words, pkjwt_error *err) {
  void *dl;
  CK_FUNCTION_LIST_PTR f;
  if (function_list(&dl, &f, m->path, err) != PKJWT_OK)
    return PKJWT_ERR_PKCS11;
  CK_SLOT_ID sid = p11.get_slotid_from_slot(slot);
  CK_SESSION_HANDLE s;
  CK_RV rv = f->C_OpenSession(sid, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
                              NULL, &s);
  if (rv != CKR_OK) {
    dlclose(dl);
    return pkjwt__fail(err, PKJWT_ERR_PKCS11,
                       "cannot open a read-write session on the PKCS#11 "
                       "token (%s) (CKR 0x%lx)",
                       words, (unsigned long)rv);
  }
  int rc = PKJWT_OK;
  /* a label already used would make the URI name two keys */
  CK_OBJECT_CLASS priv_class = CKO_PRIVATE_KEY;
  CK_ATTRIBUTE find[] = {{CKA_CLASS, &priv_class, sizeof(priv_class)},
                         {CKA_LABEL, u->object, strlen(u->object)}};
  CK_OBJECT_HANDLE found;
  CK_ULONG nfound = 0;
  if (f->C_FindObjectsInit(s, find, 2) == CKR_OK) {
    (void)f->C_FindObjects(s, &found, 1, &nfound);
    (void)f->C_FindObjectsFinal(s);
  }
  char safe[96];
  pkjwt__printable(safe, sizeof(safe), u->object, strlen(u->object));
  if (nfound > 0) {
    /* not PKJWT_ERR_EXISTS: nothing here replaces a key in a token */
    rc = pkjwt__fail(err, PKJWT_ERR_PKCS11,
                     "the PKCS#11 token (%s) already has a private key "
                     "labelled \"%s\"; choose another label",
                     words, safe);
    goto done;
  }
  if (!u->id) {
    u->id = malloc(8);
    if (!u->id || RAND_bytes(u->id, 8) != 1) {
      rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "cannot make a key id");
      goto done;
    }
    u->id_len = 8;
  }
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_ULONG bits = g->bits;
  static CK_BYTE e65537[] = {1, 0, 1};
  unsigned char params[16], *pp = params;
  int plen = 0;
  if (g->is_ec) {
    ASN1_OBJECT *oid = OBJ_txt2obj(g->group, 0);
    plen = oid ? i2d_ASN1_OBJECT(oid, NULL) : 0;
    if (plen > 0 && plen <= (int)sizeof(params))
      plen = i2d_ASN1_OBJECT(oid, &pp);
    else
      plen = 0;
    ASN1_OBJECT_free(oid);
    if (plen <= 0) {
      rc = pkjwt__fail(err, PKJWT_ERR_KEY_TYPE, "unknown curve %s", g->group);
      goto done;
    }
  }
  CK_ATTRIBUTE pub_t[6] = {
      {CKA_TOKEN, &yes, sizeof(yes)},
      {CKA_VERIFY, &yes, sizeof(yes)},
      {CKA_LABEL, u->object, strlen(u->object)},
      {CKA_ID, u->id, u->id_len},
  };
  CK_ULONG npub = 4;
  if (g->is_ec) {
    pub_t[npub++] = (CK_ATTRIBUTE){CKA_EC_PARAMS, params, (CK_ULONG)plen};
  } else {
    pub_t[npub++] = (CK_ATTRIBUTE){CKA_MODULUS_BITS, &bits, sizeof(bits)};
    pub_t[npub++] = (CK_ATTRIBUTE){CKA_PUBLIC_EXPONENT, e65537, sizeof(e65537)};
  }
  CK_ATTRIBUTE priv_t[] = {
      {CKA_TOKEN, &yes, sizeof(yes)},
      {CKA_PRIVATE, &yes, sizeof(yes)},
      {CKA_SENSITIVE, &yes, sizeof(yes)},
      {CKA_EXTRACTABLE, &no, sizeof(no)},
      {CKA_SIGN, &yes, sizeof(yes)},
      {CKA_DECRYPT, &no, sizeof(no)},
      {CKA_LABEL, u->object, strlen(u->object)},
      {CKA_ID, u->id, u->id_len},
  };
  CK_MECHANISM mech = {
      g->is_ec ? CKM_EC_KEY_PAIR_GEN : CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
  CK_OBJECT_HANDLE hpub, hpriv;
  rv = f->C_GenerateKeyPair(s, &mech, pub_t, npub, priv_t,
                            sizeof(priv_t) / sizeof(priv_t[0]), &hpub, &hpriv);
  if (rv != CKR_OK)
    rc = pkjwt__fail(err, PKJWT_ERR_PKCS11,
                     "the PKCS#11 token (%s) cannot make the %s key (CKR "
                     "0x%lx%s)",
                     words, g->is_ec ? "EC" : "RSA", (unsigned long)rv,
                     rv == CKR_MECHANISM_INVALID
                         ? (g->is_ec ? ": it lacks CKM_EC_KEY_PAIR_GEN"
                                     : ": it lacks CKM_RSA_PKCS_KEY_PAIR_GEN")
                         : "");
done:
  f->C_CloseSession(s);
  dlclose(dl);
  return rc;
}
#endif

void pkjwt__pkcs11_free(struct pkjwt__p11 *h) {
  if (!h)
    return;
#ifdef HAVE_PKCS11_KEYGEN
  if (h->session_open)
    h->fl->C_CloseSession(h->session);
  if (h->dl)
    dlclose(h->dl);
  free(h->id);
  free(h->label);
#endif
  EVP_PKEY_free(h->priv);
  module_put(h->mod);
  free(h);
}

EVP_PKEY *pkjwt__pkcs11_signer(struct pkjwt__p11 *h) {
  if (h)
    pthread_mutex_lock(&h->mod->sign_lock);
  return h ? h->priv : NULL;
}

void pkjwt__pkcs11_done(struct pkjwt__p11 *h) {
  if (h)
    pthread_mutex_unlock(&h->mod->sign_lock);
}

/* One line for a signature the token refused with ckr (a CKR_ value, 0
 * when unknown), the mechanism it was asked for named; with ssl, OpenSSL's
 * reason ends an unknown refusal. */
static int sign_refused(pkjwt_error *err, const char *alg, const char *mech,
                        unsigned long ckr, int ssl) {
  switch (ckr) {
  case P11_CKR_KEY_FUNCTION_NOT_PERMITTED:
    return pkjwt__fail(err, PKJWT_ERR_PKCS11,
                       "the PKCS#11 key may not sign (its CKA_SIGN is false)");
  case P11_CKR_MECHANISM_INVALID:
  case P11_CKR_MECHANISM_PARAM_INVALID:
  case P11_CKR_KEY_TYPE_INCONSISTENT:
    return pkjwt__fail(err, PKJWT_ERR_PKCS11,
                       "the PKCS#11 token cannot sign %s: it lacks the "
                       "mechanism %s",
                       alg, mech);
  case P11_CKR_TOKEN_NOT_PRESENT:
  case P11_CKR_DEVICE_REMOVED:
    return pkjwt__fail(err, PKJWT_ERR_PKCS11, "the PKCS#11 token was removed");
  default:
    return ssl ? pkjwt__fail_ssl(err, PKJWT_ERR_PKCS11,
                                 "the PKCS#11 token failed to sign %s", alg)
               : pkjwt__fail(err, PKJWT_ERR_PKCS11,
                             "the PKCS#11 token failed to sign %s (CKR 0x%lx)",
                             alg, ckr);
  }
}

#ifdef HAVE_PKCS11_KEYGEN
/* Our own session on the key's slot and the key's handle (by class,
 * CKA_ID and label, as libp11 found it). The token's login is shared by
 * every session of the process, so the new session is logged in. */
static int pss_session(struct pkjwt__p11 *h, const char *alg,
                       pkjwt_error *err) {
  if (h->session_open)
    return PKJWT_OK;
  if (!h->fl) {
    if (function_list(&h->dl, &h->fl, h->mod->path, err) != PKJWT_OK)
      return PKJWT_ERR_PKCS11;
  }
  CK_RV rv = h->fl->C_OpenSession(h->slot_id, CKF_SERIAL_SESSION, NULL, NULL,
                                  &h->session);
  if (rv != CKR_OK)
    return pkjwt__fail(err, PKJWT_ERR_PKCS11,
                       "cannot open a session on the PKCS#11 token to sign "
                       "%s (CKR 0x%lx)",
                       alg, (unsigned long)rv);
  CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  CK_ATTRIBUTE find[3] = {{CKA_CLASS, &cls, sizeof(cls)}};
  CK_ULONG nfind = 1;
  if (h->id_len)
    find[nfind++] = (CK_ATTRIBUTE){CKA_ID, h->id, h->id_len};
  if (h->label)
    find[nfind++] = (CK_ATTRIBUTE){CKA_LABEL, h->label, strlen(h->label)};
  CK_ULONG n = 0;
  if (h->fl->C_FindObjectsInit(h->session, find, nfind) == CKR_OK) {
    (void)h->fl->C_FindObjects(h->session, &h->key, 1, &n);
    (void)h->fl->C_FindObjectsFinal(h->session);
  }
  if (n != 1) {
    h->fl->C_CloseSession(h->session);
    return pkjwt__fail(err, PKJWT_ERR_PKCS11,
                       "the private key is no longer on the PKCS#11 token");
  }
  h->session_open = 1;
  return PKJWT_OK;
}

int pkjwt__pkcs11_sign_pss(struct pkjwt__p11 *h, const char *alg,
                           const EVP_MD *md, const unsigned char *in,
                           size_t in_len, unsigned char *sig, size_t *sig_len,
                           pkjwt_error *err) {
  unsigned char dgst[EVP_MAX_MD_SIZE];
  unsigned int dlen = 0;
  CK_RSA_PKCS_PSS_PARAMS params;
  switch (EVP_MD_get_type(md)) {
  case NID_sha256:
    params = (CK_RSA_PKCS_PSS_PARAMS){CKM_SHA256, CKG_MGF1_SHA256, 0};
    break;
  case NID_sha384:
    params = (CK_RSA_PKCS_PSS_PARAMS){CKM_SHA384, CKG_MGF1_SHA384, 0};
    break;
  case NID_sha512:
    params = (CK_RSA_PKCS_PSS_PARAMS){CKM_SHA512, CKG_MGF1_SHA512, 0};
    break;
  default:
    return pkjwt__fail(err, PKJWT_ERR_CRYPTO, "no PSS parameters for %s", alg);
  }
  if (EVP_Digest(in, in_len, dgst, &dlen, md, NULL) != 1)
    return pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO, "cannot hash for %s", alg);
  params.s_len = dlen; /* the salt as long as the hash */
  int rc = pss_session(h, alg, err);
  if (rc != PKJWT_OK)
    return rc;
  /* RFC 7518 section 3.5: MGF1 with the same hash, salt as long as it */
  CK_MECHANISM mech = {CKM_RSA_PKCS_PSS, &params, sizeof(params)};
  CK_ULONG len = *sig_len;
  CK_RV rv = h->fl->C_SignInit(h->session, &mech, h->key);
  if (rv == CKR_OK)
    rv = h->fl->C_Sign(h->session, dgst, dlen, sig, &len);
  OPENSSL_cleanse(dgst, sizeof(dgst));
  if (rv == CKR_OK) {
    *sig_len = len;
    return PKJWT_OK;
  }
  /* a new session next time: this one may be gone with the token */
  h->fl->C_CloseSession(h->session);
  h->session_open = 0;
  return sign_refused(err, alg, PKJWT__P11_PSS_MECH, (unsigned long)rv, 0);
}
#endif

int pkjwt__pkcs11_sign_failed(pkjwt_error *err, const char *alg, int key_type,
                              int pss) {
  static const unsigned long reasons[] = {
      P11_CKR_KEY_FUNCTION_NOT_PERMITTED, P11_CKR_MECHANISM_INVALID,
      P11_CKR_KEY_TYPE_INCONSISTENT, P11_CKR_TOKEN_NOT_PRESENT};
  unsigned long r = queued_reason(reasons, 4);
  /* The mechanism the token is asked for (PS*: pkjwt__pkcs11_sign_pss). */
  const char *mech = key_type == PKJWT_KEY_EC ? "CKM_ECDSA"
                     : pss                    ? PKJWT__P11_PSS_MECH
                                              : "CKM_RSA_PKCS";
  int rc = sign_refused(err, alg, mech, r, 1);
  ERR_clear_error();
  return rc;
}

#else /* !HAVE_PKCS11 */

const char *pkjwt__libp11_soname = NULL; /* nothing is loaded */

int pkjwt_key_pkcs11_supported(void) {
  return 0;
}

int pkjwt__pkcs11_load(struct pkjwt__p11 **out, EVP_PKEY **pub, const char *uri,
                       const char *module, const char *pin_file,
                       pkjwt_error *err) {
  (void)uri;
  (void)module;
  (void)pin_file;
  *out = NULL;
  *pub = NULL;
  return pkjwt__fail(err, PKJWT_ERR_PKCS11,
                     "this build of pkjwt has no PKCS#11 support (built "
                     "without libp11)");
}

int pkjwt__pkcs11_generate(struct pkjwt__p11 **out, EVP_PKEY **pub,
                           const char *uri, const struct pkjwt__p11_gen *g,
                           const char *module, const char *pin_file,
                           pkjwt_error *err) {
  (void)g;
  return pkjwt__pkcs11_load(out, pub, uri, module, pin_file, err);
}

void pkjwt__pkcs11_free(struct pkjwt__p11 *h) {
  (void)h;
}
EVP_PKEY *pkjwt__pkcs11_signer(struct pkjwt__p11 *h) {
  (void)h;
  return NULL;
}
void pkjwt__pkcs11_done(struct pkjwt__p11 *h) {
  (void)h;
}
int pkjwt__pkcs11_sign_failed(pkjwt_error *err, const char *alg, int key_type,
                              int pss) {
  (void)key_type;
  (void)pss;
  return pkjwt__fail(err, PKJWT_ERR_PKCS11, "cannot sign %s", alg);
}

#endif
