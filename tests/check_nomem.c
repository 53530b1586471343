/*
 * tests/check_nomem.c: allocation-failure sweeps (issue 12, point 6), run
 * by `make check-nomem` (not by plain `make check`: it takes minutes).
 *
 * The Nth allocation fails, for every N, until an operation runs with no
 * failure injected. Three kinds of allocation are counted, on the sweeping
 * thread only (the canned server's thread is never failed):
 *   - lib/'s own malloc, calloc and realloc: the program is linked with
 *     -Wl,--wrap=malloc,... so every call in the convenience libraries
 *     (and in this file) goes through __wrap_malloc below;
 *   - OpenSSL's, through CRYPTO_set_mem_functions (set in main, before any
 *     OpenSSL call);
 *   - Jansson's, through json_set_alloc_funcs.
 * Not failed: libcurl's and libjwt 1.10.2's own mallocs (neither has a hook
 * we can set here without changing the library), nor glibc's internal ones.
 *
 * Each failure must end cleanly: a non-OK code with a message (or OK with a
 * result that is right), *out left NULL, no crash (Check forks each test),
 * no leak (under ASan, LeakSanitizer is asked after each sweep, and again
 * at exit), no file left in the folder a write went to, and never a
 * forged or wrong answer (a tampered assertion is never valid, a signature
 * made under failure verifies).
 *
 * Each sweep prints one line: runs, how the failures ended (codes), and
 * the allocations an undisturbed run makes.
 */
#include "testutil.h"
#include "canned_server.h"

#include <stdint.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

/* ---- the failing allocator ------------------------------------------------ */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

/* Only the thread that armed counts and fails. */
static _Thread_local int nm_armed;
static _Thread_local long nm_count;   /* allocations since armed */
static _Thread_local long nm_fail_at; /* the one to fail (0: none) */
static _Thread_local int nm_hit;      /* it was failed */
static long nm_n;                     /* the sweep's N, for messages */

static int nm_fail(void) {
  if (!nm_armed)
    return 0;
  if (++nm_count == nm_fail_at) {
    nm_hit = 1;
    return 1;
  }
  return 0;
}

void *__wrap_malloc(size_t n) {
  return nm_fail() ? NULL : __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t size) {
  return nm_fail() ? NULL : __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t n) {
  /* realloc(p, 0) frees: not an allocation that can fail. */
  if (n == 0)
    return __real_realloc(p, n);
  return nm_fail() ? NULL : __real_realloc(p, n);
}

/* OpenSSL's hooks get the whole call (CRYPTO_malloc hands everything to a
 * set hook): keep its rules (0 bytes is NULL, realloc of NULL mallocs). */
static void *nm_crypto_malloc(size_t n, const char *file, int line) {
  (void)file;
  (void)line;
  if (n == 0)
    return NULL;
  return nm_fail() ? NULL : __real_malloc(n);
}
static void *nm_crypto_realloc(void *p, size_t n, const char *file,
                               int line) {
  (void)file;
  (void)line;
  if (n == 0) {
    free(p);
    return NULL;
  }
  return nm_fail() ? NULL : __real_realloc(p, n);
}
static void nm_crypto_free(void *p, const char *file, int line) {
  (void)file;
  (void)line;
  free(p);
}

static void *nm_json_malloc(size_t n) {
  return nm_fail() ? NULL : __real_malloc(n);
}

/* LeakSanitizer, when the program is built with it (weak: plain builds
 * link without it). Nonzero when leaks were found (and printed). */
extern int __lsan_do_recoverable_leak_check(void) __attribute__((weak));
extern void __lsan_disable(void) __attribute__((weak));
extern void __lsan_enable(void) __attribute__((weak));

/* libjwt 1.10.2 leaks the signature's r and s (jwt_verify_sha_pem) when a
 * later step of its ES verification runs out of memory: not ours to fix,
 * and its stack cannot be matched by a suppression (libcrypto has no frame
 * pointers). lib/verify.c's call of jwt_decode is wrapped (-Wl,--wrap) so
 * that what is allocated inside it is hidden from LeakSanitizer; what
 * pkjwt allocates around it is still counted. */
int __real_jwt_decode(jwt_t **jwt, const char *token, const unsigned char *key,
                      int key_len);
int __wrap_jwt_decode(jwt_t **jwt, const char *token, const unsigned char *key,
                      int key_len);
int __wrap_jwt_decode(jwt_t **jwt, const char *token, const unsigned char *key,
                      int key_len) {
  if (__lsan_disable)
    __lsan_disable();
  int rc = __real_jwt_decode(jwt, token, key, key_len);
  if (__lsan_enable)
    __lsan_enable();
  return rc;
}

/* ---- the sweep ------------------------------------------------------------ */

/* One operation: call() runs armed and returns a pkjwt code; check() runs
 * unarmed after it, with that code and whether a failure was injected,
 * asserts that the outcome is clean, and frees what call() made. */
typedef struct nm_op {
  const char *name;
  int (*call)(void *ctx, pkjwt_error *e);
  void (*check)(void *ctx, int rc, int injected, const pkjwt_error *e);
  void *ctx;
  long stride; /* sweep every stride-th N (1: every N) */
} nm_op;

#define NM_MAX_N 200000L
#define NM_CODES 64

static void sweep(const nm_op *op) {
  pkjwt_error e = PKJWT_ERROR_INIT;
  /* Once undisturbed first: OpenSSL loads its providers and fills its
   * caches, curl initialises, once per process; the sweep is about the
   * operation, not that. Counted, to know the allocations it makes. */
  nm_armed = 1;
  nm_count = 0;
  nm_fail_at = 0;
  nm_n = 0;
  nm_hit = 0;
  int rc = op->call(op->ctx, &e);
  nm_armed = 0;
  long base = nm_count;
  ck_assert_msg(rc == PKJWT_OK, "%s: undisturbed run failed: %s", op->name,
                e.message);
  op->check(op->ctx, rc, 0, &e);
  ERR_clear_error();

  long runs = 0, ok_despite = 0, codes[NM_CODES] = {0};
  long n;
  for (n = 1; n < NM_MAX_N; n += op->stride) {
    e = (pkjwt_error)PKJWT_ERROR_INIT;
    nm_count = 0;
    nm_fail_at = n;
    nm_n = n;
    nm_hit = 0;
    nm_armed = 1;
    rc = op->call(op->ctx, &e);
    nm_armed = 0;
    ERR_clear_error();
    if (!nm_hit) {
      /* No allocation left to fail: the operation must now succeed. */
      ck_assert_msg(rc == PKJWT_OK, "%s: run with no failure (N=%ld) gave %d: %s",
                    op->name, n, rc, e.message);
      op->check(op->ctx, rc, 0, &e);
      break;
    }
    runs++;
    if (rc == PKJWT_OK) {
      ok_despite++;
    } else {
      ck_assert_msg(e.message[0] != '\0', "%s: N=%ld: code %d without a message",
                    op->name, n, rc);
      codes[rc > 0 && rc < NM_CODES ? rc : 0]++;
    }
    op->check(op->ctx, rc, 1, &e);
  }
  ck_assert_msg(n < NM_MAX_N, "%s: still failing allocations at N=%ld",
                op->name, n);
  char line[1024];
  int len = snprintf(line, sizeof(line),
                     "nomem: %s: %ld allocations undisturbed, %ld runs "
                     "(every %ld), %ld OK despite a failure",
                     op->name, base, runs, op->stride, ok_despite);
  for (int c = 0; c < NM_CODES && len > 0 && (size_t)len < sizeof(line); c++)
    if (codes[c])
      len += snprintf(line + len, sizeof(line) - (size_t)len, ", %ld %s",
                      codes[c], c ? pkjwt_strerror((pkjwt_code)c) : "bad code");
  printf("%s\n", line);
  fflush(stdout);
  ck_assert_msg(codes[0] == 0, "%s: an out-of-range error code", op->name);
  if (__lsan_do_recoverable_leak_check)
    ck_assert_msg(__lsan_do_recoverable_leak_check() == 0,
                  "%s: LeakSanitizer found leaks (above)", op->name);
}

/* ---- shared state ------------------------------------------------------- */

static char *dir;
static char *listing; /* the folder's names before the sweep */

static void setup(void) {
  dir = test_tmpdir();
  listing = test_list_dir(dir);
}
static void teardown(void) {
  free(listing);
  test_rmtree(dir);
  free(dir);
}

/* The folder holds what it held before: no partial or temporary file. */
static void assert_dir_unchanged(const char *what, const pkjwt_error *e) {
  char *now = test_list_dir(dir);
  ck_assert_msg(strcmp(now, listing) == 0,
                "%s failed (%s) and left \"%s\" in the folder (was \"%s\")",
                what, e->message, now, listing);
  free(now);
}

/* ---- key generation -------------------------------------------------------- */

typedef struct gen_ctx {
  const char *curve; /* NULL: RSA */
  unsigned int bits;
  pkjwt_key *key;
  char *path;
} gen_ctx;

/* Generate and write the private key (unencrypted: the KDF's cost would
 * multiply the sweep's time, see "write_encrypted"). */
static int gen_call(void *v, pkjwt_error *e) {
  gen_ctx *g = v;
  g->key = NULL;
  int rc = g->curve ? pkjwt_key_generate_ec(&g->key, g->curve, e)
                    : pkjwt_key_generate_rsa(&g->key, g->bits, e);
  if (rc == PKJWT_OK)
    rc = pkjwt_key_write_private(g->key, g->path, NULL, e);
  return rc;
}
static void gen_check(void *v, int rc, int injected, const pkjwt_error *e) {
  gen_ctx *g = v;
  (void)injected;
  if (rc == PKJWT_OK) {
    ck_assert_ptr_nonnull(g->key);
    ck_assert_ptr_nonnull(pkjwt_key_get_thumbprint(g->key));
    ck_assert_msg(pkjwt_key_has_private(g->key),
                  "N=%ld: a new key without its private half", nm_n);
    pkjwt_key *back = NULL;
    pkjwt_error e2 = PKJWT_ERROR_INIT;
    ck_assert_msg(pkjwt_key_load_file(&back, g->path, NULL, &e2) == PKJWT_OK,
                  "the key written is not loadable: %s", e2.message);
    ck_assert(pkjwt_key_equal_public(back, g->key));
    pkjwt_key_free(back);
    ck_assert_int_eq(unlink(g->path), 0);
  } else if (g->key) {
    /* Generation worked, the write failed. */
    ck_assert_int_ne(rc, PKJWT_OK);
  }
  pkjwt_key_free(g->key);
  g->key = NULL;
  assert_dir_unchanged("key generation", e);
}

START_TEST(keygen_ec) {
  gen_ctx g = {"P-256", 0, NULL, test_path(dir, "ec.pem")};
  nm_op op = {"generate P-256 and write it", gen_call, gen_check, &g, 1};
  sweep(&op);
  free(g.path);
}
END_TEST

/* RSA-2048 generation takes ~0.1 s (several times that under ASan) and its
 * allocation count varies with the primes it tries: a sweep of every N
 * would take many minutes, so every 7th N is failed; the write is swept
 * for every N in write_key below. */
START_TEST(keygen_rsa) {
  gen_ctx g = {NULL, 2048, NULL, test_path(dir, "rsa.pem")};
  nm_op op = {"generate RSA-2048 and write it", gen_call, gen_check, &g, 7};
  sweep(&op);
  free(g.path);
}
END_TEST

/* ---- key write (from fixtures) --------------------------------------------- */

typedef struct write_ctx {
  pkjwt_key *key;
  char *path;
  pkjwt_write_options wo;
} write_ctx;

static int write_call(void *v, pkjwt_error *e) {
  write_ctx *w = v;
  return pkjwt_key_write_private(w->key, w->path, &w->wo, e);
}
static void write_check(void *v, int rc, int injected, const pkjwt_error *e) {
  write_ctx *w = v;
  (void)injected;
  if (rc == PKJWT_OK) {
    pkjwt_key *back = NULL;
    pkjwt_error e2 = PKJWT_ERROR_INIT;
    ck_assert_msg(pkjwt_key_load_file(&back, w->path, w->wo.passphrase, &e2) ==
                      PKJWT_OK,
                  "the key written is not loadable: %s", e2.message);
    ck_assert(pkjwt_key_equal_public(back, w->key));
    pkjwt_key_free(back);
    ck_assert_int_eq(unlink(w->path), 0);
  }
  assert_dir_unchanged("key write", e);
}

START_TEST(write_key) {
  const char *const specs[] = {"RSA2048", "P-384"};
  for (size_t i = 0; i < 2; i++) {
    write_ctx w = {tu_key(specs[i]), test_path(dir, "k.pem"),
                   PKJWT_WRITE_OPTIONS_INIT};
    nm_op op = {i ? "write a P-384 key" : "write an RSA-2048 key",
                write_call, write_check, &w, 1};
    sweep(&op);
    pkjwt_key_free(w.key);
    free(w.path);
  }
}
END_TEST

/* Encrypted with scrypt (N=16384, r=8: ~50 ms a run): every 3rd N. */
START_TEST(write_encrypted) {
  write_ctx w = {tu_key("P-256"), test_path(dir, "k.pem"),
                 PKJWT_WRITE_OPTIONS_INIT};
  w.wo.passphrase = "correct horse";
  nm_op op = {"write a P-256 key encrypted (scrypt)", write_call, write_check,
              &w, 3};
  sweep(&op);
  pkjwt_key_free(w.key);
  free(w.path);
}
END_TEST

/* ---- key load ------------------------------------------------------------- */

typedef struct load_ctx {
  char *pem;
  size_t len;
  pkjwt_key *key;
} load_ctx;

static int load_call(void *v, pkjwt_error *e) {
  load_ctx *l = v;
  l->key = NULL;
  return pkjwt_key_load_mem(&l->key, l->pem, l->len, NULL, e);
}
static void load_check(void *v, int rc, int injected, const pkjwt_error *e) {
  load_ctx *l = v;
  (void)injected;
  (void)e;
  if (rc == PKJWT_OK) {
    ck_assert_ptr_nonnull(pkjwt_key_get_thumbprint(l->key));
    ck_assert_msg(pkjwt_key_has_private(l->key),
                  "N=%ld: a private key loaded as a public one", nm_n);
  } else
    ck_assert_ptr_null(l->key);
  pkjwt_key_free(l->key);
  l->key = NULL;
}

START_TEST(load_key) {
  const char *const specs[] = {"RSA2048", "P-256"};
  for (size_t i = 0; i < 2; i++) {
    char *p = tu_key_path(specs[i]);
    load_ctx l = {NULL, 0, NULL};
    l.pem = test_read_file(p, &l.len);
    ck_assert_ptr_nonnull(l.pem);
    nm_op op = {i ? "load a P-256 PEM key" : "load an RSA-2048 PEM key",
                load_call, load_check, &l, 1};
    sweep(&op);
    free(l.pem);
    free(p);
  }
}
END_TEST

/* ---- certificate --------------------------------------------------------- */

typedef struct cert_ctx {
  pkjwt_key *key;
  pkjwt_cert *cert;
  char *path;
  char *pem;
} cert_ctx;

static int cert_call(void *v, pkjwt_error *e) {
  cert_ctx *c = v;
  c->cert = NULL;
  c->pem = NULL;
  int rc = pkjwt_cert_self_signed(&c->cert, c->key, NULL, e);
  if (rc == PKJWT_OK)
    rc = pkjwt_cert_pem(&c->pem, c->cert, e);
  if (rc == PKJWT_OK)
    rc = pkjwt_cert_write(c->cert, c->path, 0, e);
  return rc;
}
static void cert_check(void *v, int rc, int injected, const pkjwt_error *e) {
  cert_ctx *c = v;
  (void)injected;
  if (rc == PKJWT_OK) {
    ck_assert_ptr_nonnull(c->pem);
    ck_assert_msg(pkjwt_cert_matches_key(c->cert, c->key),
                  "N=%ld: a certificate that does not match its key", nm_n);
    ck_assert_ptr_nonnull(pkjwt_cert_get_x5t_s256(c->cert));
    pkjwt_cert *back = NULL;
    pkjwt_error e2 = PKJWT_ERROR_INIT;
    ck_assert_msg(pkjwt_cert_load_file(&back, c->path, &e2) == PKJWT_OK,
                  "the certificate written is not loadable: %s", e2.message);
    pkjwt_cert_free(back);
    ck_assert_int_eq(unlink(c->path), 0);
  }
  pkjwt_str_free(c->pem);
  pkjwt_cert_free(c->cert);
  c->cert = NULL;
  c->pem = NULL;
  assert_dir_unchanged("certificate", e);
}

START_TEST(certificate) {
  const char *const specs[] = {"P-256", "RSA2048"};
  for (size_t i = 0; i < 2; i++) {
    cert_ctx c = {tu_key(specs[i]), NULL, test_path(dir, "c.pem"), NULL};
    nm_op op = {i ? "self-signed certificate (RSA-2048), PEM, write"
                  : "self-signed certificate (P-256), PEM, write",
                cert_call, cert_check, &c, 1};
    sweep(&op);
    pkjwt_key_free(c.key);
    free(c.path);
  }
}
END_TEST

/* ---- JWK export and import ----------------------------------------------- */

typedef struct jwk_ctx {
  const pkjwt_key *keys[2];
  pkjwt_jwk_options opts[2]; /* the first with x5c */
  char *jwk;
  char *jwks;
  pkjwt_key *back;
} jwk_ctx;

static int jwk_call(void *v, pkjwt_error *e) {
  jwk_ctx *j = v;
  j->jwk = j->jwks = NULL;
  j->back = NULL;
  int rc = pkjwt_jwk_export(&j->jwk, j->keys[0], &j->opts[0], e);
  if (rc == PKJWT_OK)
    rc = pkjwt_jwks_export(&j->jwks, j->keys, j->opts, 2, e);
  if (rc == PKJWT_OK)
    rc = pkjwt_key_from_jwk(&j->back, j->jwk, strlen(j->jwk), e);
  return rc;
}
static void jwk_check(void *v, int rc, int injected, const pkjwt_error *e) {
  jwk_ctx *j = v;
  (void)injected;
  (void)e;
  if (rc == PKJWT_OK) {
    ck_assert_ptr_nonnull(strstr(j->jwk, "\"x5c\""));
    ck_assert_ptr_nonnull(strstr(j->jwks, "\"keys\""));
    ck_assert(pkjwt_key_equal_public(j->back, j->keys[0]));
  } else {
    ck_assert_ptr_null(j->back);
  }
  pkjwt_str_free(j->jwk);
  pkjwt_str_free(j->jwks);
  pkjwt_key_free(j->back);
  j->jwk = j->jwks = NULL;
  j->back = NULL;
}

START_TEST(jwk) {
  pkjwt_key *ec = tu_key("P-256"), *rsa = tu_key("RSA2048");
  pkjwt_cert *cert = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_cert_self_signed(&cert, ec, NULL, &e), PKJWT_OK);
  jwk_ctx j = {{ec, rsa},
               {PKJWT_JWK_OPTIONS_INIT, PKJWT_JWK_OPTIONS_INIT},
               NULL, NULL, NULL};
  j.opts[0].cert = cert;
  j.opts[0].x5c = 1;
  nm_op op = {"JWK export with x5c, JWKS export (P-256, RSA-2048), import",
              jwk_call, jwk_check, &j, 1};
  sweep(&op);
  pkjwt_cert_free(cert);
  pkjwt_key_free(ec);
  pkjwt_key_free(rsa);
}
END_TEST

/* ---- signing and verifying ----------------------------------------------- */

#define AUD "https://auth.example/token"
#define NOW 1700000000

typedef struct sign_ctx {
  pkjwt_key *key;
  pkjwt_sign_options so;
  char *jws;
} sign_ctx;

static int verify_plain(const char *jws, const pkjwt_key *key) {
  pkjwt_verify_options vo = PKJWT_VERIFY_OPTIONS_INIT;
  vo.client_id = "nomem-client";
  vo.audience = AUD;
  vo.now = NOW;
  pkjwt_verify_result *r = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  int rc = pkjwt_assertion_verify(&r, jws, key, &vo, &e);
  pkjwt_verify_result_free(r);
  return rc;
}

static int sign_call(void *v, pkjwt_error *e) {
  sign_ctx *s = v;
  s->jws = NULL;
  return pkjwt_assertion_sign(&s->jws, s->key, &s->so, e);
}
static void sign_check(void *v, int rc, int injected, const pkjwt_error *e) {
  sign_ctx *s = v;
  (void)injected;
  (void)e;
  if (rc == PKJWT_OK)
    ck_assert_int_eq(verify_plain(s->jws, s->key), PKJWT_OK);
  else
    ck_assert_ptr_null(s->jws);
  pkjwt_str_free(s->jws);
  s->jws = NULL;
}

static pkjwt_sign_options sign_opts(pkjwt_alg alg) {
  pkjwt_sign_options so = PKJWT_SIGN_OPTIONS_INIT;
  so.client_id = "nomem-client";
  so.audience = AUD;
  so.alg = alg;
  so.now = NOW;
  so.nbf = 1;
  return so;
}

START_TEST(sign) {
  static const struct {
    const char *spec;
    pkjwt_alg alg;
    const char *name;
  } cases[] = {
      {"P-256", PKJWT_ALG_ES256, "sign ES256"},
      {"RSA2048", PKJWT_ALG_RS256, "sign RS256"},
      {"RSA2048", PKJWT_ALG_PS256, "sign PS256"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    sign_ctx s = {tu_key(cases[i].spec), sign_opts(cases[i].alg), NULL};
    nm_op op = {cases[i].name, sign_call, sign_check, &s, 1};
    sweep(&op);
    pkjwt_key_free(s.key);
  }
}
END_TEST

typedef struct verify_ctx {
  pkjwt_key *key;
  char *jws;
  int tampered; /* a signature that must never be valid */
  pkjwt_verify_result *r;
} verify_ctx;

static int verify_call(void *v, pkjwt_error *e) {
  verify_ctx *c = v;
  pkjwt_verify_options vo = PKJWT_VERIFY_OPTIONS_INIT;
  vo.client_id = "nomem-client";
  vo.audience = AUD;
  vo.typ = "JWT";
  vo.now = NOW;
  c->r = NULL;
  int rc = pkjwt_assertion_verify(&c->r, c->jws, c->key, &vo, e);
  /* The undisturbed run of the tampered one must fail as it should: make
   * the sweep's "must succeed" mean "judged as undisturbed". */
  if (c->tampered && rc == PKJWT_ERR_VERIFY && c->r && !c->r->valid &&
      c->r->signature.verdict == PKJWT_VERDICT_FAILED && !nm_hit)
    return PKJWT_OK;
  return rc;
}
static void verify_check(void *v, int rc, int injected, const pkjwt_error *e) {
  verify_ctx *c = v;
  (void)injected;
  if (c->tampered) {
    /* Never valid, whatever failed. */
    ck_assert_msg(c->r == NULL || !c->r->valid,
                  "a tampered assertion was valid (rc %d: %s)", rc,
                  e->message);
  } else if (rc == PKJWT_OK) {
    ck_assert(c->r->valid);
  }
  if (rc != PKJWT_OK && rc != PKJWT_ERR_VERIFY)
    ck_assert_ptr_null(c->r);
  pkjwt_verify_result_free(c->r);
  c->r = NULL;
}

START_TEST(verify) {
  static const struct {
    const char *spec;
    pkjwt_alg alg;
  } cases[] = {
      {"P-256", PKJWT_ALG_ES256},
      {"RSA2048", PKJWT_ALG_RS256},
      {"RSA2048", PKJWT_ALG_PS256},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    pkjwt_key *k = tu_key(cases[i].spec);
    pkjwt_sign_options so = sign_opts(cases[i].alg);
    char *jws = NULL;
    pkjwt_error e = PKJWT_ERROR_INIT;
    ck_assert_int_eq(pkjwt_assertion_sign(&jws, k, &so, &e), PKJWT_OK);
    for (int t = 0; t < 2; t++) {
      verify_ctx c = {k, jws, t, NULL};
      char name[64];
      snprintf(name, sizeof(name), "verify %s%s",
               pkjwt_alg_name(cases[i].alg), t ? " (tampered signature)" : "");
      if (t) {
        /* Flip a bit in the middle of the signature. */
        char *sig = strrchr(jws, '.') + 1;
        size_t mid = strlen(sig) / 2;
        sig[mid] = sig[mid] == 'A' ? 'B' : 'A';
      }
      nm_op op = {name, verify_call, verify_check, &c, 1};
      sweep(&op);
    }
    pkjwt_str_free(jws);
    pkjwt_key_free(k);
  }
}
END_TEST

/* ---- a token from a loopback server ----------------------------------- */

typedef struct token_ctx {
  pkjwt_client_options o;
  pkjwt_client *c;
  pkjwt_token *t;
} token_ctx;

/* A new client and one token: what pkjwt-token does. No retries, so a
 * failure is the call's answer at once. */
static int token_call(void *v, pkjwt_error *e) {
  token_ctx *k = v;
  k->c = NULL;
  k->t = NULL;
  int rc = pkjwt_client_new(&k->c, &k->o, e);
  if (rc == PKJWT_OK)
    rc = pkjwt_client_get_token(&k->t, k->c, e);
  return rc;
}
static void token_check(void *v, int rc, int injected, const pkjwt_error *e) {
  token_ctx *k = v;
  (void)injected;
  (void)e;
  if (rc == PKJWT_OK)
    ck_assert_str_eq(k->t->access_token, "nomem-token-1");
  else
    ck_assert_ptr_null(k->t);
  pkjwt_token_free(k->t);
  pkjwt_client_free(k->c);
  k->t = NULL;
  k->c = NULL;
}

START_TEST(token) {
  canned_server s;
  memset(&s, 0, sizeof(s));
  s.answer = CANNED_JSON_200("{\"access_token\":\"nomem-token-1\","
                             "\"token_type\":\"Bearer\",\"expires_in\":300,"
                             "\"scope\":\"a:b\"}");
  ck_assert_int_eq(canned_start(&s), 0);
  pkjwt_key *key = tu_key("P-256");
  token_ctx k = {PKJWT_CLIENT_OPTIONS_INIT, NULL, NULL};
  k.o.base_url = s.base;
  k.o.client_id = "nomem-client";
  k.o.scope = "a:b";
  k.o.key = key;
  k.o.retries = 0;
  k.o.connect_timeout_ms = 5000;
  k.o.timeout_ms = 10000;
  nm_op op = {"client and a token from a loopback server", token_call,
              token_check, &k, 1};
  sweep(&op);
  pkjwt_key_free(key);
  canned_stop(&s);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("nomem");
  struct {
    const char *name;
    const TTest *test;
  } cases[] = {
      {"keygen_ec", keygen_ec},       {"keygen_rsa", keygen_rsa},
      {"write_key", write_key},       {"write_encrypted", write_encrypted},
      {"load_key", load_key},         {"certificate", certificate},
      {"jwk", jwk},                   {"sign", sign},
      {"verify", verify},             {"token", token},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, cases[i].test);
    suite_add_tcase(s, tc);
  }
  return s;
}

int main(void) {
  /* Before any OpenSSL or Jansson call: OpenSSL takes hooks only then. */
  if (!CRYPTO_set_mem_functions(nm_crypto_malloc, nm_crypto_realloc,
                                nm_crypto_free)) {
    fprintf(stderr, "check_nomem: OpenSSL allocated before main\n");
    return EXIT_FAILURE;
  }
  json_set_alloc_funcs(nm_json_malloc, free);
  SRunner *sr = srunner_create(make_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
