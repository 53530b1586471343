/*
 * tests/check_fileio.c: the bounded reader and the atomic writer
 * (lib/fileio.c) on their own: exact modes, exact bytes, no overwrite even
 * when several writers race, and nothing left behind.
 */
#include "testutil.h"

#include "internal.h"

#include <dirent.h>
#include <errno.h>

static char *dir;

static void setup(void) {
  dir = test_tmpdir();
}

static void teardown(void) {
  test_rmtree(dir);
  free(dir);
  dir = NULL;
}

static int count_entries(const char *d) {
  DIR *dp = opendir(d);
  ck_assert_ptr_nonnull(dp);
  int n = 0;
  struct dirent *de;
  while ((de = readdir(dp)) != NULL)
    if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
      n++;
  closedir(dp);
  return n;
}

START_TEST(write_exact_bytes_and_mode) {
  static const mode_t modes[] = {0600, 0644, 0400, 0640};
  static const mode_t masks[] = {0, 022, 077, 0777};
  char *p = test_path(dir, "f");
  const unsigned char data[] = {'a', 0, 'b', '\n', 0xff};
  for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
    for (size_t j = 0; j < sizeof(masks) / sizeof(masks[0]); j++) {
      pkjwt_error e = PKJWT_ERROR_INIT;
      mode_t old = umask(masks[j]);
      int rc = pkjwt__write_file_atomic(p, data, sizeof(data), modes[i], 0, &e);
      umask(old);
      ck_assert_msg(rc == PKJWT_OK, "%s", e.message);
      struct stat st;
      ck_assert_int_eq(stat(p, &st), 0);
      ck_assert_uint_eq(st.st_mode & 07777, modes[i]);
      ck_assert_int_eq((int)st.st_size, (int)sizeof(data));

      unsigned char *back = NULL;
      size_t len = 0;
      mode_t m = 0;
      ck_assert_int_eq(pkjwt__read_file(&back, &len, &m, p, 100, &e), PKJWT_OK);
      ck_assert_uint_eq(len, sizeof(data));
      ck_assert_int_eq(memcmp(back, data, len), 0);
      ck_assert_int_eq(back[len], 0);
      ck_assert_uint_eq(m & 07777, modes[i]);
      pkjwt__cleanse_free(back, len + 1);
      ck_assert_int_eq(count_entries(dir), 1);
      unlink(p);
    }
  }
  /* an empty file is fine */
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt__write_file_atomic(p, "", 0, 0600, 0, &e), PKJWT_OK);
  unsigned char *back = NULL;
  size_t len = 1;
  ck_assert_int_eq(pkjwt__read_file(&back, &len, NULL, p, 10, &e), PKJWT_OK);
  ck_assert_uint_eq(len, 0);
  pkjwt__cleanse_free(back, len + 1);
  free(p);
}
END_TEST

START_TEST(relative_path_in_cwd) {
  char old[4096];
  ck_assert_ptr_nonnull(getcwd(old, sizeof(old)));
  ck_assert_int_eq(chdir(dir), 0);
  pkjwt_error e = PKJWT_ERROR_INIT;
  int rc = pkjwt__write_file_atomic("plain", "x", 1, 0600, 0, &e);
  int rc2 = pkjwt__write_file_atomic("plain", "y", 1, 0600, 0, &e);
  ck_assert_int_eq(chdir(old), 0);
  ck_assert_int_eq(rc, PKJWT_OK);
  ck_assert_int_eq(rc2, PKJWT_ERR_EXISTS);
  ck_assert_int_eq(count_entries(dir), 1);
}
END_TEST

START_TEST(read_limits) {
  char *p = test_path(dir, "f");
  ck_assert_int_eq(test_write_file(p, "0123456789", 10), 0);
  unsigned char *b = NULL;
  size_t len = 0;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt__read_file(&b, &len, NULL, p, 10, &e), PKJWT_OK);
  ck_assert_uint_eq(len, 10);
  pkjwt__cleanse_free(b, len + 1);
  ck_assert_int_eq(pkjwt__read_file(&b, &len, NULL, p, 9, &e), PKJWT_ERR_IO);
  ck_assert_str_eq(e.message, "file is larger than 9 bytes");
  ck_assert_ptr_null(b);
  ck_assert_int_eq(pkjwt__read_file(&b, &len, NULL, "", 9, &e),
                   PKJWT_ERR_INVALID_ARG);
  /* /proc files report size 0 but have content: read to the end, bounded */
  ck_assert_int_eq(
      pkjwt__read_file(&b, &len, NULL, "/proc/self/status", 1 << 20, &e),
      PKJWT_OK);
  ck_assert_uint_gt(len, 0);
  ck_assert(strstr((char *)b, "Name:") != NULL);
  pkjwt__cleanse_free(b, len + 1);
  ck_assert_int_eq(pkjwt__read_file(&b, &len, NULL, "/proc/self/status", 8, &e),
                   PKJWT_ERR_IO);
  free(p);
}
END_TEST

/* Several processes race to create one path without force: exactly one
 * wins, the rest get PKJWT_ERR_EXISTS, and no temp file remains. */
START_TEST(racing_writers_one_wins) {
  char *p = test_path(dir, "race");
  enum { WRITERS = 8 };
  pid_t pids[WRITERS];
  int go[2];
  ck_assert_int_eq(pipe(go), 0);
  for (int i = 0; i < WRITERS; i++) {
    pids[i] = fork();
    ck_assert_int_ge(pids[i], 0);
    if (pids[i] == 0) {
      close(go[1]);
      char c;
      /* wait for the start signal so the writers overlap */
      if (read(go[0], &c, 1) < 0)
        _exit(99);
      char data[32];
      int n = snprintf(data, sizeof(data), "writer %d\n", i);
      pkjwt_error e = PKJWT_ERROR_INIT;
      int rc = pkjwt__write_file_atomic(p, data, (size_t)n, 0600, 0, &e);
      _exit(rc);
    }
  }
  close(go[0]);
  close(go[1]); /* EOF releases every writer at once */
  int ok = 0, exists = 0;
  for (int i = 0; i < WRITERS; i++) {
    int st;
    ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
    ck_assert(WIFEXITED(st));
    if (WEXITSTATUS(st) == PKJWT_OK)
      ok++;
    else if (WEXITSTATUS(st) == PKJWT_ERR_EXISTS)
      exists++;
  }
  ck_assert_int_eq(ok, 1);
  ck_assert_int_eq(exists, WRITERS - 1);
  ck_assert_int_eq(count_entries(dir), 1);
  char *txt = test_read_file(p, NULL);
  ck_assert_msg(strncmp(txt, "writer ", 7) == 0, "%s", txt);
  free(txt);
  free(p);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("fileio");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, write_exact_bytes_and_mode);
  tcase_add_test(tc, relative_path_in_cwd);
  tcase_add_test(tc, read_limits);
  tcase_add_test(tc, racing_writers_one_wins);
  suite_add_tcase(s, tc);
  return s;
}

PKJWT_TEST_MAIN(make_suite)
