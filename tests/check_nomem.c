/*
 * tests/check_nomem.c: allocation-failure sweeps (issue 12, point 6), run
 * by `make check-nomem` (not by plain `make check`: it takes minutes).
 *
 * The Nth allocation fails, for every N, until an operation runs with no
 * failure injected. Five kinds of allocation are counted, on the sweeping
 * thread only (the canned server's thread is never failed):
 *   - lib/'s own malloc, calloc and realloc: the program is linked with
 *     -Wl,--wrap=malloc,... so every call in the convenience libraries
 *     (and in this file) goes through __wrap_malloc below;
 *   - OpenSSL's, through CRYPTO_set_mem_functions (set in main, before any
 *     OpenSSL call);
 *   - Jansson's, through json_set_alloc_funcs;
 *   - libcurl's, through curl_global_init_mem (called in main, before
 *     lib/http.c's curl_global_init, which then only counts one more user);
 *   - libjwt's: libjwt 1.10.2 has no allocator hook (jwt_set_alloc came in
 *     1.12), so main points libjwt.so.0's own imports of malloc, calloc,
 *     realloc and strdup (its GOT entries) at the failing allocator
 *     (nm_hook_imports). It is the one libjwt.so.0 in the process, however
 *     libpkjwt reaches it.
 * Not failed: glibc's internal allocations, and those of the libraries
 * libcurl and OpenSSL use without a hook (nghttp2, libidn2, zlib...).
 *
 * Each failure must end cleanly: a non-OK code with a message (or OK with a
 * result that is right), *out left NULL, no crash (Check forks each test),
 * no leak (under ASan, LeakSanitizer is asked after each sweep, and again
 * at exit), no file left in the folder a write went to, and never a
 * forged or wrong answer (a tampered assertion is never valid, a signature
 * made under failure verifies).
 *
 * Two ways to reach every N:
 *   - rerun (the default): run the operation again from the start with the
 *     Nth allocation failing, N = 1, 2, ... until a run makes fewer than N
 *     allocations and succeeds. Every N of every run counts.
 *   - forked (RSA generation, the scrypt-encrypted write): RSA's allocation
 *     count changes from run to run with the primes it tries, and both
 *     take up to ~0.5 s a run under ASan, so rerunning them for each of
 *     their 700 to 3,000 allocations took 6 to 7 minutes each (measured
 *     at load 11 with every 7th and every 3rd N, times 7 and 3). The
 *     operation runs once; at each allocation the process forks, the child
 *     fails that allocation and must end cleanly (and leak-free: see
 *     nm_live), while the parent goes on undisturbed. Every N of that one
 *     run is failed, exactly once. Only for operations that touch no
 *     socket and create no file while they allocate (a child shares them
 *     with the parent; checked at each fork).
 *
 * Each sweep prints one line: runs, how the failures ended (codes), the
 * allocations one operation makes (and from which library), and seconds.
 */
#include "testutil.h"
#include "canned_server.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

#include <curl/curl.h>
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
void __real_free(void *p);
void __wrap_free(void *p);

/* Whose allocation it is: counted apart, to show that every hook works. */
enum { NM_LIB, NM_OPENSSL, NM_JANSSON, NM_CURL, NM_LIBJWT, NM_SOURCES };
static const char *const nm_source_name[NM_SOURCES] = {
    "lib", "OpenSSL", "Jansson", "libcurl", "libjwt"};

/* Only the thread that armed counts and fails. */
static _Thread_local int nm_armed;
static _Thread_local long nm_count;   /* allocations since armed */
static _Thread_local long nm_fail_at; /* the one to fail (0: none) */
static _Thread_local int nm_hit;      /* it was failed */
static _Thread_local int nm_forking;  /* fork at each allocation */
static long nm_by_source[NM_SOURCES]; /* allocations since armed, by source */
static long nm_n;                     /* the sweep's N, for messages */

static int nm_fork_here(void);

static int nm_fail(int source) {
  if (!nm_armed)
    return 0;
  nm_by_source[source]++;
  ++nm_count;
  if (nm_forking)
    return nm_fork_here();
  if (nm_count == nm_fail_at) {
    nm_hit = 1;
    return 1;
  }
  return 0;
}

/* The allocations of a forked sweep's run not yet freed (the hooks' own,
 * while armed): a child whose set is empty at its end leaked nothing that
 * went through a hook, and LeakSanitizer (~0.2 s a call) is asked only
 * when it is not empty. Open addressing; 1 marks a freed slot. Stored
 * inverted (~p): a table of plain pointers would make every block in it
 * reachable, and LeakSanitizer would find no leak. */
#define NM_LIVE_SLOTS (1UL << 16)
static uintptr_t nm_live[NM_LIVE_SLOTS];
static long nm_live_count, nm_live_used;
static int nm_tracking;

static size_t nm_live_slot(uintptr_t p) {
  return (size_t)(((p >> 4) * 0x9E3779B97F4A7C15ULL) >> 48) &
         (NM_LIVE_SLOTS - 1);
}
static void nm_track(void *p) {
  if (!nm_tracking || !nm_armed || p == NULL)
    return;
  if (nm_live_used >= (long)(NM_LIVE_SLOTS / 4 * 3)) {
    nm_tracking = 0; /* full: LeakSanitizer decides */
    nm_live_count = -1;
    return;
  }
  size_t i = nm_live_slot((uintptr_t)p);
  while (nm_live[i] > 1)
    i = (i + 1) & (NM_LIVE_SLOTS - 1);
  if (nm_live[i] == 0)
    nm_live_used++;
  nm_live[i] = ~(uintptr_t)p;
  nm_live_count++;
}
static void nm_untrack(void *p) {
  if (nm_live_count <= 0 || p == NULL)
    return;
  for (size_t i = nm_live_slot((uintptr_t)p); nm_live[i] != 0;
       i = (i + 1) & (NM_LIVE_SLOTS - 1))
    if (nm_live[i] == ~(uintptr_t)p) {
      nm_live[i] = 1;
      nm_live_count--;
      return;
    }
}
static void nm_track_start(void) {
  memset(nm_live, 0, sizeof(nm_live));
  nm_live_count = nm_live_used = 0;
  nm_tracking = 1;
}

static void *nm_malloc(int source, size_t n) {
  void *p = nm_fail(source) ? NULL : __real_malloc(n);
  nm_track(p);
  return p;
}
static void *nm_calloc(int source, size_t n, size_t size) {
  void *p = nm_fail(source) ? NULL : __real_calloc(n, size);
  nm_track(p);
  return p;
}
static void *nm_realloc(int source, void *p, size_t n) {
  /* realloc(p, 0) frees: not an allocation that can fail. */
  if (n == 0) {
    nm_untrack(p);
    return __real_realloc(p, n);
  }
  if (nm_fail(source))
    return NULL;
  void *q = __real_realloc(p, n);
  if (q) {
    nm_untrack(p);
    nm_track(q);
  }
  return q;
}
static char *nm_strdup(int source, const char *s) {
  size_t n = strlen(s) + 1;
  char *p = nm_malloc(source, n);
  if (p)
    memcpy(p, s, n);
  return p;
}

void *__wrap_malloc(size_t n) { return nm_malloc(NM_LIB, n); }
void *__wrap_calloc(size_t n, size_t size) {
  return nm_calloc(NM_LIB, n, size);
}
void *__wrap_realloc(void *p, size_t n) { return nm_realloc(NM_LIB, p, n); }
/* Every free in lib/ and here (and so the hooks' frees below) comes here. */
void __wrap_free(void *p) {
  nm_untrack(p);
  __real_free(p);
}

/* OpenSSL's hooks get the whole call (CRYPTO_malloc hands everything to a
 * set hook): keep its rules (0 bytes is NULL, realloc of NULL mallocs). */
static void *nm_crypto_malloc(size_t n, const char *file, int line) {
  (void)file;
  (void)line;
  if (n == 0)
    return NULL;
  return nm_malloc(NM_OPENSSL, n);
}
static void *nm_crypto_realloc(void *p, size_t n, const char *file,
                               int line) {
  (void)file;
  (void)line;
  if (n == 0) {
    free(p);
    return NULL;
  }
  return nm_realloc(NM_OPENSSL, p, n);
}
static void nm_crypto_free(void *p, const char *file, int line) {
  (void)file;
  (void)line;
  free(p);
}

static void *nm_json_malloc(size_t n) { return nm_malloc(NM_JANSSON, n); }

static void *nm_curl_malloc(size_t n) { return nm_malloc(NM_CURL, n); }
static void *nm_curl_calloc(size_t n, size_t size) {
  return nm_calloc(NM_CURL, n, size);
}
static void *nm_curl_realloc(void *p, size_t n) {
  return nm_realloc(NM_CURL, p, n);
}
static char *nm_curl_strdup(const char *s) { return nm_strdup(NM_CURL, s); }

static void *nm_jwt_malloc(size_t n) { return nm_malloc(NM_LIBJWT, n); }
static void *nm_jwt_calloc(size_t n, size_t size) {
  return nm_calloc(NM_LIBJWT, n, size);
}
static void *nm_jwt_realloc(void *p, size_t n) {
  return nm_realloc(NM_LIBJWT, p, n);
}
static char *nm_jwt_strdup(const char *s) { return nm_strdup(NM_LIBJWT, s); }

/* The shared object `soname` (already loaded) calls our functions instead
 * of malloc, calloc, realloc, strdup and free: each of its relocations against
 * those names (its GOT entries, JUMP_SLOT or GLOB_DAT) is rewritten. The
 * GOT is read-only after start-up (RELRO): it is made writable and left so
 * (this is a test program). Returns the number of entries rewritten, or -1
 * with a reason on stderr. */
#if __ELF_NATIVE_CLASS == 64
#define NM_R_SYM ELF64_R_SYM
#else
#define NM_R_SYM ELF32_R_SYM
#endif
static int nm_hook_imports(const char *soname) {
  typedef void (*fn)(void);
  const struct {
    const char *name;
    fn to;
  } hooks[] = {
      {"malloc", (fn)nm_jwt_malloc},
      {"calloc", (fn)nm_jwt_calloc},
      {"realloc", (fn)nm_jwt_realloc},
      {"strdup", (fn)nm_jwt_strdup},
      {"free", (fn)__wrap_free},
  };
  void *h = dlopen(soname, RTLD_NOW | RTLD_NOLOAD);
  struct link_map *lm = NULL;
  if (h == NULL || dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0 || lm == NULL) {
    fprintf(stderr, "check_nomem: %s is not loaded: %s\n", soname,
            dlerror());
    return -1;
  }
  const ElfW(Sym) *symtab = NULL;
  const char *strtab = NULL;
  const ElfW(Rela) *rela[2] = {NULL, NULL};
  size_t relasz[2] = {0, 0};
  for (const ElfW(Dyn) *d = lm->l_ld; d->d_tag != DT_NULL; d++) {
    /* glibc relocates these in place on most targets; not on all. */
    uintptr_t p = (uintptr_t)d->d_un.d_ptr;
    if (p < (uintptr_t)lm->l_addr)
      p += (uintptr_t)lm->l_addr;
    switch (d->d_tag) {
    case DT_SYMTAB:
      symtab = (const ElfW(Sym) *)p;
      break;
    case DT_STRTAB:
      strtab = (const char *)p;
      break;
    case DT_RELA:
      rela[0] = (const ElfW(Rela) *)p;
      break;
    case DT_RELASZ:
      relasz[0] = d->d_un.d_val;
      break;
    case DT_JMPREL:
      rela[1] = (const ElfW(Rela) *)p;
      break;
    case DT_PLTRELSZ:
      relasz[1] = d->d_un.d_val;
      break;
    case DT_PLTREL:
      if (d->d_un.d_val != DT_RELA) {
        fprintf(stderr, "check_nomem: %s uses REL relocations\n", soname);
        dlclose(h);
        return -1;
      }
      break;
    default:
      break;
    }
  }
  int done = 0;
  long page = sysconf(_SC_PAGESIZE);
  for (int t = 0; t < 2 && symtab && strtab; t++) {
    for (size_t i = 0; rela[t] && i < relasz[t] / sizeof(ElfW(Rela)); i++) {
      const ElfW(Rela) *r = &rela[t][i];
      size_t si = NM_R_SYM(r->r_info);
      if (si == 0)
        continue;
      const char *name = strtab + symtab[si].st_name;
      for (size_t k = 0; k < sizeof(hooks) / sizeof(hooks[0]); k++) {
        if (strcmp(name, hooks[k].name) != 0)
          continue;
        char *slot = (char *)(lm->l_addr + r->r_offset);
        uintptr_t start = (uintptr_t)slot & ~(uintptr_t)(page - 1);
        if (mprotect((void *)start, (size_t)page,
                     PROT_READ | PROT_WRITE) != 0) {
          fprintf(stderr, "check_nomem: %s: mprotect: %s\n", soname,
                  strerror(errno));
          dlclose(h);
          return -1;
        }
        memcpy(slot, &hooks[k].to, sizeof(hooks[k].to));
        done++;
      }
    }
  }
  dlclose(h);
  return done;
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

/* ---- the sweep ------------------------------------------------------------ */

/* One operation: call() runs armed and returns a pkjwt code; check() runs
 * unarmed after it, with that code and whether a failure was injected,
 * asserts that the outcome is clean, and frees what call() made. */
typedef struct nm_op {
  const char *name;
  int (*call)(void *ctx, pkjwt_error *e);
  void (*check)(void *ctx, int rc, int injected, const pkjwt_error *e);
  void *ctx;
  int forked; /* fail each allocation of one run in a child (see top) */
  int files;  /* it writes into dir (checked at each fork) */
} nm_op;

#define NM_MAX_N 200000L
#define NM_CODES 64

/* What the sweep saw. */
typedef struct nm_tally {
  long runs, ok_despite, codes[NM_CODES];
  long lsan; /* forked: children that asked LeakSanitizer */
} nm_tally;

static void tally_add(nm_tally *t, int rc) {
  t->runs++;
  if (rc == PKJWT_OK)
    t->ok_despite++;
  else
    t->codes[rc > 0 && rc < NM_CODES ? rc : 0]++;
}

/* The outcome of one run with a failure injected: clean, or an assertion
 * fails (and, in a child, the child exits non-zero). */
static void judge(const nm_op *op, int rc, const pkjwt_error *e) {
  if (rc != PKJWT_OK)
    ck_assert_msg(e->message[0] != '\0',
                  "%s: N=%ld: code %d without a message", op->name, nm_n, rc);
  op->check(op->ctx, rc, 1, e);
}

/* ---- forked sweeps ---- */

/* What a child tells its parent (through nm_pipe) when it ended cleanly. */
typedef struct nm_report {
  long n;
  int rc;
  int lsan; /* LeakSanitizer was asked */
} nm_report;

static const nm_op *nm_fork_op; /* the operation of a forked sweep */
static int nm_pipe[2] = {-1, -1};
static nm_tally nm_fork_tally;
static long nm_fork_bad_n;  /* the first N whose child did not end well */
static int nm_fork_bad_status;

/* In the child, after call() returned: judge, free, look for leaks, tell
 * the parent, and end without running exit handlers (the parent's). */
static void nm_child_end(int rc, const pkjwt_error *e) {
  ERR_clear_error();
  judge(nm_fork_op, rc, e);
  if (nm_live_count != 0 && __lsan_do_recoverable_leak_check &&
      __lsan_do_recoverable_leak_check() != 0)
    _exit(3);
  nm_report r = {nm_n, rc, nm_live_count != 0};
  if (write(nm_pipe[1], &r, sizeof(r)) != (ssize_t)sizeof(r))
    _exit(4);
  _exit(0);
}

/* Called (armed, forking) at each allocation of the forked sweep's run.
 * Returns 1 in the child (this allocation fails), 0 in the parent once the
 * child has ended. Nothing here allocates through the hooks (disarmed). */
static int nm_fork_here(void) {
  if (nm_fork_bad_n != 0)
    return 0; /* one failure is enough: finish the run undisturbed */
  nm_armed = 0;
  /* A child shares the parent's open files and the folder: forking is
   * only safe while no file of the operation exists yet (lib/fileio.c
   * allocates nothing between creating its temporary file and renaming
   * it). Checked at each fork, so that a change there shows here. */
  if (nm_fork_op->files) {
    char *now = test_list_dir(dir);
    int same = now && strcmp(now, listing) == 0;
    free(now);
    if (!same && nm_fork_bad_n == 0) {
      nm_fork_bad_n = nm_count;
      nm_fork_bad_status = -2;
    }
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    nm_forking = 0;
    nm_hit = 1;
    nm_n = nm_count;
    nm_armed = 1;
    return 1;
  }
  int status = -1;
  nm_report r = {0, 0, 0};
  ssize_t got = -1;
  if (pid > 0) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
      ;
    got = read(nm_pipe[0], &r, sizeof(r));
  }
  if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
      got == (ssize_t)sizeof(r) && r.n == nm_count) {
    tally_add(&nm_fork_tally, r.rc);
    nm_fork_tally.lsan += r.lsan;
  } else if (nm_fork_bad_n == 0) {
    nm_fork_bad_n = nm_count;
    nm_fork_bad_status = status;
  }
  nm_armed = 1;
  return 0;
}

static double nm_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Every N of one run, each failed in a forked child (see the top). Fills
 * *t, the run's allocations by source, and returns how many it made. */
static long sweep_forked(const nm_op *op, nm_tally *t,
                         long by_source[NM_SOURCES]) {
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pipe(nm_pipe), 0);
  ck_assert_int_eq(fcntl(nm_pipe[0], F_SETFL, O_NONBLOCK), 0);
  nm_fork_op = op;
  memset(&nm_fork_tally, 0, sizeof(nm_fork_tally));
  nm_fork_bad_n = 0;
  memset(nm_by_source, 0, sizeof(nm_by_source));
  nm_count = 0;
  nm_hit = 0;
  nm_track_start();
  nm_forking = 1;
  nm_armed = 1;
  int rc = op->call(op->ctx, &e);
  nm_armed = 0;
  nm_forking = 0;
  nm_tracking = 0;
  if (nm_hit)
    nm_child_end(rc, &e); /* does not return */
  ERR_clear_error();
  close(nm_pipe[0]);
  close(nm_pipe[1]);
  ck_assert_msg(nm_fork_bad_n == 0,
                "%s: N=%ld: the child failing that allocation ended with "
                "status 0x%x (3: leaks, -2: a file existed when it forked; "
                "output above)",
                op->name, nm_fork_bad_n, (unsigned)nm_fork_bad_status);
  ck_assert_msg(rc == PKJWT_OK, "%s: the forking run failed: %s", op->name,
                e.message);
  op->check(op->ctx, rc, 0, &e);
  *t = nm_fork_tally;
  memcpy(by_source, nm_by_source, sizeof(nm_by_source));
  ck_assert_msg(t->runs == nm_count, "%s: %ld children for %ld allocations",
                op->name, t->runs, nm_count);
  return nm_count;
}

/* N = 1, 2, ... each in a run from the start, until a run makes fewer
 * than N allocations (and must succeed). Fills *t and the last run's
 * allocations by source; returns the last N failed. */
static long sweep_rerun(const nm_op *op, nm_tally *t,
                        long by_source[NM_SOURCES]) {
  long n;
  for (n = 1; n < NM_MAX_N; n++) {
    pkjwt_error e = PKJWT_ERROR_INIT;
    memset(nm_by_source, 0, sizeof(nm_by_source));
    nm_count = 0;
    nm_fail_at = n;
    nm_n = n;
    nm_hit = 0;
    nm_armed = 1;
    int rc = op->call(op->ctx, &e);
    nm_armed = 0;
    ERR_clear_error();
    if (!nm_hit) {
      /* No allocation left to fail: the operation must now succeed. */
      ck_assert_msg(rc == PKJWT_OK,
                    "%s: run with no failure (N=%ld) gave %d: %s", op->name,
                    n, rc, e.message);
      op->check(op->ctx, rc, 0, &e);
      memcpy(by_source, nm_by_source, sizeof(nm_by_source));
      return n - 1;
    }
    tally_add(t, rc);
    judge(op, rc, &e);
  }
  ck_abort_msg("%s: still failing allocations at N=%ld", op->name, n);
  return n;
}

static void sweep(const nm_op *op) {
  pkjwt_error e = PKJWT_ERROR_INIT;
  double t0 = nm_seconds();
  /* Once undisturbed first: OpenSSL loads its providers and fills its
   * caches, curl initialises, once per process; the sweep is about the
   * operation, not that. */
  nm_armed = 1;
  nm_count = 0;
  nm_fail_at = 0;
  nm_n = 0;
  nm_hit = 0;
  int rc = op->call(op->ctx, &e);
  nm_armed = 0;
  ck_assert_msg(rc == PKJWT_OK, "%s: undisturbed run failed: %s", op->name,
                e.message);
  op->check(op->ctx, rc, 0, &e);
  ERR_clear_error();

  nm_tally t;
  memset(&t, 0, sizeof(t));
  long by_source[NM_SOURCES];
  long last = op->forked ? sweep_forked(op, &t, by_source)
                         : sweep_rerun(op, &t, by_source);
  char line[1024];
  int len = snprintf(line, sizeof(line),
                     "nomem: %s: N = 1..%ld (%s), %ld OK despite a failure",
                     op->name, last, op->forked ? "forked" : "rerun",
                     t.ok_despite);
  for (int c = 0; c < NM_CODES && len > 0 && (size_t)len < sizeof(line); c++)
    if (t.codes[c])
      len += snprintf(line + len, sizeof(line) - (size_t)len, ", %ld %s",
                      t.codes[c],
                      c ? pkjwt_strerror((pkjwt_code)c) : "bad code");
  if (op->forked && len > 0 && (size_t)len < sizeof(line))
    len += snprintf(line + len, sizeof(line) - (size_t)len,
                    "; LeakSanitizer asked in %ld children", t.lsan);
  for (int s = 0; s < NM_SOURCES && len > 0 && (size_t)len < sizeof(line);
       s++)
    len += snprintf(line + len, sizeof(line) - (size_t)len, "%s%s %ld",
                    s ? ", " : "; allocations: ", nm_source_name[s],
                    by_source[s]);
  if (len > 0 && (size_t)len < sizeof(line))
    snprintf(line + len, sizeof(line) - (size_t)len, "; %.1f s",
             nm_seconds() - t0);
  printf("%s\n", line);
  fflush(stdout);
  ck_assert_msg(t.codes[0] == 0, "%s: an out-of-range error code", op->name);
  if (__lsan_do_recoverable_leak_check)
    ck_assert_msg(__lsan_do_recoverable_leak_check() == 0,
                  "%s: LeakSanitizer found leaks (above)", op->name);
}

/* ---- key generation -------------------------------------------------------- */

typedef struct gen_ctx {
  const char *curve; /* NULL: RSA */
  unsigned int bits;
  pkjwt_key *key;
  char *path; /* NULL: generate only */
} gen_ctx;

/* Generate and write the private key (unencrypted: the KDF's cost would
 * multiply the sweep's time, see "write_encrypted"). */
static int gen_call(void *v, pkjwt_error *e) {
  gen_ctx *g = v;
  g->key = NULL;
  int rc = g->curve ? pkjwt_key_generate_ec(&g->key, g->curve, e)
                    : pkjwt_key_generate_rsa(&g->key, g->bits, e);
  if (rc == PKJWT_OK && g->path)
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
    if (!g->curve)
      ck_assert_uint_eq(pkjwt_key_get_bits(g->key), g->bits);
    if (g->path) {
      pkjwt_key *back = NULL;
      pkjwt_error e2 = PKJWT_ERROR_INIT;
      ck_assert_msg(pkjwt_key_load_file(&back, g->path, NULL, &e2) ==
                        PKJWT_OK,
                    "the key written is not loadable: %s", e2.message);
      ck_assert(pkjwt_key_equal_public(back, g->key));
      pkjwt_key_free(back);
      ck_assert_int_eq(unlink(g->path), 0);
    }
  } else if (!g->path) {
    ck_assert_msg(g->key == NULL, "N=%ld: generation failed (%s) but gave a key",
                  nm_n, e->message);
  }
  /* else: a key and a non-OK code means the write failed. */
  pkjwt_key_free(g->key);
  g->key = NULL;
  assert_dir_unchanged("key generation", e);
}

START_TEST(keygen_ec) {
  gen_ctx g = {"P-256", 0, NULL, test_path(dir, "ec.pem")};
  nm_op op = {"generate P-256 and write it", gen_call, gen_check, &g, 0, 0};
  sweep(&op);
  free(g.path);
}
END_TEST

/* RSA-2048 generation: its allocation count changes with the primes it
 * tries and a run takes ~0.5 s under ASan, so the sweep is forked (see the
 * top). */
START_TEST(keygen_rsa) {
  gen_ctx g = {NULL, 2048, NULL, test_path(dir, "rsa.pem")};
  nm_op op = {"generate RSA-2048 and write it", gen_call, gen_check, &g, 1, 1};
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
                write_call, write_check, &w, 0, 0};
    sweep(&op);
    pkjwt_key_free(w.key);
    free(w.path);
  }
}
END_TEST

/* Encrypted with scrypt (N=16384, r=8: ~0.5 s a run under ASan): forked,
 * as rerunning each N would take minutes. */
START_TEST(write_encrypted) {
  write_ctx w = {tu_key("P-256"), test_path(dir, "k.pem"),
                 PKJWT_WRITE_OPTIONS_INIT};
  w.wo.passphrase = "correct horse";
  nm_op op = {"write a P-256 key encrypted (scrypt)", write_call, write_check,
              &w, 1, 1};
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
                load_call, load_check, &l, 0, 0};
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
  char *b64;         /* the one-line base64 */
  pkjwt_cert *again; /* loaded back from b64 */
} cert_ctx;

/* The write comes last: a failure after it would leave the file. */
static int cert_call(void *v, pkjwt_error *e) {
  cert_ctx *c = v;
  c->cert = c->again = NULL;
  c->pem = c->b64 = NULL;
  int rc = pkjwt_cert_self_signed(&c->cert, c->key, NULL, e);
  if (rc == PKJWT_OK)
    rc = pkjwt_cert_pem(&c->pem, c->cert, e);
  if (rc == PKJWT_OK)
    rc = pkjwt_cert_base64_der(&c->b64, c->cert, e);
  if (rc == PKJWT_OK)
    rc = pkjwt_cert_load_mem(&c->again, c->b64, strlen(c->b64), e);
  if (rc == PKJWT_OK)
    rc = pkjwt_cert_write(c->cert, c->path, 0, e);
  return rc;
}
static void cert_check(void *v, int rc, int injected, const pkjwt_error *e) {
  cert_ctx *c = v;
  (void)injected;
  if (rc == PKJWT_OK) {
    ck_assert_ptr_nonnull(c->pem);
    ck_assert_str_eq(pkjwt_cert_get_x5t_s256(c->again),
                     pkjwt_cert_get_x5t_s256(c->cert));
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
  pkjwt_str_free(c->b64);
  pkjwt_cert_free(c->cert);
  pkjwt_cert_free(c->again);
  c->cert = c->again = NULL;
  c->pem = c->b64 = NULL;
  assert_dir_unchanged("certificate", e);
}

START_TEST(certificate) {
  const char *const specs[] = {"P-256", "RSA2048"};
  for (size_t i = 0; i < 2; i++) {
    cert_ctx c = {tu_key(specs[i]), NULL, test_path(dir, "c.pem"), NULL,
                  NULL, NULL};
    nm_op op = {i ? "self-signed certificate (RSA-2048), PEM, base64 and "
                    "back, write"
                  : "self-signed certificate (P-256), PEM, base64 and back, "
                    "write",
                cert_call, cert_check, &c, 0, 0};
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
              jwk_call, jwk_check, &j, 0, 0};
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
    nm_op op = {cases[i].name, sign_call, sign_check, &s, 0, 0};
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
      nm_op op = {name, verify_call, verify_check, &c, 0, 0};
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
  /* libcurl out of memory was once "not a valid URL" or "libcurl option
   * refused" (lib/http.c). */
  if (injected)
    ck_assert_msg(rc != PKJWT_ERR_INVALID_ARG && rc != PKJWT_ERR_INTERNAL,
                  "N=%ld: out of memory reported as code %d: %s", nm_n, rc,
                  e->message);
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
              token_check, &k, 0, 0};
  sweep(&op);
  pkjwt_key_free(key);
  canned_stop(&s);
}
END_TEST

/* Tag "forked": the forked sweeps, which tests/nomem-rsa.sh and
 * tests/nomem-scrypt.sh run beside tests/nomem.sh (CK_EXCLUDE_TAGS). */
static Suite *make_suite(void) {
  Suite *s = suite_create("nomem");
  struct {
    const char *name;
    const TTest *test;
    const char *tags;
  } cases[] = {
      {"keygen_ec", keygen_ec, NULL},
      {"keygen_rsa", keygen_rsa, "forked"},
      {"write_key", write_key, NULL},
      {"write_encrypted", write_encrypted, "forked"},
      {"load_key", load_key, NULL},
      {"certificate", certificate, NULL},
      {"jwk", jwk, NULL},
      {"sign", sign, NULL},
      {"verify", verify, NULL},
      {"token", token, NULL},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    TCase *tc = tcase_create(cases[i].name);
    if (cases[i].tags)
      tcase_set_tags(tc, cases[i].tags);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 1200);
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
  /* Before lib/http.c's curl_global_init: libcurl takes hooks only at its
   * first initialisation. */
  if (curl_global_init_mem(CURL_GLOBAL_ALL, nm_curl_malloc, free,
                           nm_curl_realloc, nm_curl_strdup,
                           nm_curl_calloc) != CURLE_OK) {
    fprintf(stderr, "check_nomem: curl_global_init_mem failed\n");
    return EXIT_FAILURE;
  }
  int hooked = nm_hook_imports("libjwt.so.0");
  if (hooked <= 0) {
    fprintf(stderr, "check_nomem: libjwt's allocations cannot be failed "
                    "(%d imports rewritten)\n",
            hooked);
    return EXIT_FAILURE;
  }
  SRunner *sr = srunner_create(make_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  curl_global_cleanup();
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
