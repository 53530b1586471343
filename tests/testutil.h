/*
 * tests/testutil.h: helpers every Check suite shares.
 * Files are made per run in a temp dir under $TMPDIR; judges (openssl, jose,
 * python3-jwcrypto) are run through test_run(). Keys a test needs but is
 * not about making come from the committed fixtures (tu_key()).
 */
#ifndef PKJWT_TESTUTIL_H
#define PKJWT_TESTUTIL_H

#define _GNU_SOURCE 1
#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pkjwt.h>

/* A suite file defines `Suite *make_suite(void)` and ends with this. */
#define PKJWT_TEST_MAIN(make_suite)                                           \
  int main(void) {                                                            \
    SRunner *sr = srunner_create(make_suite());                               \
    srunner_run_all(sr, CK_NORMAL);                                           \
    int failed = srunner_ntests_failed(sr);                                   \
    srunner_free(sr);                                                         \
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;                         \
  }

static int test__rm_one(const char *p, const struct stat *sb, int flag,
                        struct FTW *ftw) {
  (void)sb; (void)flag; (void)ftw;
  return remove(p);
}

/* Remove a folder and all below it. */
static inline void test_rmtree(const char *dir) {
  nftw(dir, test__rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A new private temp folder; the caller frees the string and removes it. */
static inline char *test_tmpdir(void) {
  const char *base = getenv("TMPDIR");
  char tmpl[4096];
  snprintf(tmpl, sizeof(tmpl), "%s/pkjwt-test-XXXXXX",
           base && *base ? base : "/tmp");
  char *d = mkdtemp(tmpl);
  ck_assert_msg(d != NULL, "mkdtemp failed");
  return strdup(d);
}

/* path = dir "/" name, in a static-free caller buffer. */
static inline char *test_path(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  ck_assert_ptr_nonnull(p);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

/* Write a whole file; returns 0 on success. */
static inline int test_write_file(const char *path, const void *data,
                                  size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f)
    return -1;
  size_t w = fwrite(data, 1, len, f);
  return (fclose(f) == 0 && w == len) ? 0 : -1;
}

/* Read a whole file (NUL-terminated, malloc'd) or NULL. */
static inline char *test_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  size_t r;
  while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += r;
    if (cap - n - 1 == 0) {
      cap *= 2;
      char *nb = realloc(buf, cap);
      if (!nb) { free(buf); buf = NULL; }
      else buf = nb;
    }
  }
  fclose(f);
  if (buf) {
    buf[n] = '\0';
    if (len)
      *len = n;
  }
  return buf;
}

/*
 * Run a shell command (an independent judge), capture stdout (malloc'd,
 * NUL-terminated, trailing newline kept) into *out if out is not NULL.
 * Returns the exit status, or -1 when it could not run.
 */
static inline int test_run(char **out, const char *cmd) {
  FILE *p = popen(cmd, "r");
  if (!p)
    return -1;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  size_t r;
  while (buf && (r = fread(buf + n, 1, cap - n - 1, p)) > 0) {
    n += r;
    if (cap - n - 1 == 0) {
      cap *= 2;
      char *nb = realloc(buf, cap);
      if (!nb) { free(buf); buf = NULL; }
      else buf = nb;
    }
  }
  int st = pclose(p);
  if (buf)
    buf[n] = '\0';
  if (out)
    *out = buf;
  else
    free(buf);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* test_run() on a command built printf-style (at most 8 KiB). */
static inline int test_sh(char **out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline int test_sh(char **out, const char *fmt, ...) {
  char cmd[8192];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  ck_assert_int_lt(n, (int)sizeof(cmd));
  return test_run(out, cmd);
}

/* The names in folder d, sorted and joined by spaces, so that a stray
 * temporary file shows in an assertion. The caller frees the string. */
static inline char *test_list_dir(const char *d) {
  struct dirent **names = NULL;
  int n = scandir(d, &names, NULL, alphasort);
  ck_assert_int_ge(n, 0);
  size_t cap = 16, len = 0;
  char *s = malloc(cap);
  ck_assert_ptr_nonnull(s);
  s[0] = '\0';
  for (int i = 0; i < n; i++) {
    const char *nm = names[i]->d_name;
    if (strcmp(nm, ".") != 0 && strcmp(nm, "..") != 0) {
      size_t l = strlen(nm);
      while (len + l + 2 > cap) {
        cap *= 2;
        s = realloc(s, cap);
        ck_assert_ptr_nonnull(s);
      }
      if (len)
        s[len++] = ' ';
      memcpy(s + len, nm, l + 1);
      len += l;
    }
    free(names[i]);
  }
  free(names);
  return s;
}

/* The judges' paths, from configure via the test environment. */
static inline const char *test_python3(void) {
  const char *p = getenv("PYTHON3");
  return p && *p ? p : "/usr/bin/python3";
}
static inline const char *test_openssl(void) {
  const char *p = getenv("OPENSSL_CLI");
  return p && *p ? p : "openssl";
}
static inline const char *test_jose(void) {
  const char *p = getenv("JOSE_CLI");
  return p && *p ? p : "jose";
}
static inline const char *test_srcdir(void) {
  const char *p = getenv("top_srcdir");
  return p && *p ? p : ".";
}

/*
 * The path of a test-only fixture key (tests/keys/README.md) for spec:
 * "RSA2048", "RSA3072", "RSA4096", "P-256", "P-384", "P-521", a second key
 * "RSA2048:2", "P-256:2", "P-384:2", or an EC key with a leading zero byte
 * in x or y, "P-256:x0", "P-384:y0", ... Found from a VPATH build and from
 * distcheck through $top_srcdir. The caller frees the string.
 */
static inline char *tu_key_path(const char *spec) {
  char name[64];
  size_t n = 0;
  for (const char *c = spec; *c && n + 5 < sizeof(name); c++)
    name[n++] = *c == ':' ? '-' : (char)tolower((unsigned char)*c);
  name[n] = '\0';
  char file[128];
  snprintf(file, sizeof(file), "tests/keys/%s.pem", name);
  return test_path(test_srcdir(), file);
}

/*
 * A light run: the environment has PKJWT_TEST_LIGHT=1, as the valgrind
 * stage of scripts/setup.sh sets it. Valgrind's judgement is about memory,
 * which a few rounds of the same code path show; the full rounds, and the
 * full crowds of threads and processes, already run under ASan+UBSan in
 * distcheck and (the thread tests) under TSan. They were most of the
 * valgrind stage's time (issue 7).
 */
static inline int tu_light(void) {
  const char *e = getenv("PKJWT_TEST_LIGHT");
  return e && strcmp(e, "1") == 0;
}

/*
 * The rounds of a statistical or exhaustive loop (600 signatures, every
 * cut of a DER file): full, or full / 16 (at least 1) in a light run.
 */
static inline int tu_rounds(int full) {
  if (!tu_light())
    return full;
  return full / 16 > 0 ? full / 16 : 1;
}

/*
 * A fixture key (see tu_key_path), loaded for a test that needs a key of a
 * type but does not test making one: generating RSA under valgrind or a
 * sanitizer costs tens of seconds. The caller frees it (pkjwt_key_free).
 */
static inline pkjwt_key *tu_key(const char *spec) {
  char *p = tu_key_path(spec);
  size_t len = 0;
  char *pem = test_read_file(p, &len);
  ck_assert_msg(pem != NULL, "fixture key %s: cannot read %s", spec, p);
  pkjwt_key *k = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  int rc = pkjwt_key_load_mem(&k, pem, len, NULL, &e);
  ck_assert_msg(rc == PKJWT_OK, "fixture key %s (%s): %s", spec, p, e.message);
  free(pem);
  free(p);
  return k;
}

#endif
