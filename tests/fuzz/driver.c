/*
 * tests/fuzz/driver.c: the standalone driver for builds without libFuzzer.
 * Each argument is a file or a folder of files; every file is fed once to
 * LLVMFuzzerTestOneInput, in name order. Exit 0 when all ran (a finding
 * aborts the process), 1 when an argument cannot be read.
 */
#define _DEFAULT_SOURCE 1
#include "fuzz.h"

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "%s: cannot open\n", path);
    return -1;
  }
  size_t cap = 4096, n = 0, r;
  uint8_t *buf = malloc(cap);
  while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
    n += r;
    if (n == cap) {
      uint8_t *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  fclose(f);
  if (!buf)
    return -1;
  /* an exact-size copy, so ASan sees a read past the input */
  uint8_t *exact = malloc(n ? n : 1);
  if (!exact) {
    free(buf);
    return -1;
  }
  memcpy(exact, buf, n);
  free(buf);
  LLVMFuzzerTestOneInput(exact, n);
  free(exact);
  return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv) {
  int bad = 0;
  long count = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "%s: missing\n", argv[i]);
      bad = 1;
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      bad |= run_file(argv[i]) != 0;
      count++;
      continue;
    }
    struct dirent **names = NULL;
    int n = scandir(argv[i], &names, NULL, by_name);
    for (int k = 0; k < n; k++) {
      if (names[k]->d_name[0] != '.') {
        size_t len = strlen(argv[i]) + strlen(names[k]->d_name) + 2;
        char *p = malloc(len);
        if (p) {
          snprintf(p, len, "%s/%s", argv[i], names[k]->d_name);
          bad |= run_file(p) != 0;
          count++;
          free(p);
        }
      }
      free(names[k]);
    }
    free(names);
    if (n < 0)
      bad = 1;
  }
  printf("%ld inputs replayed\n", count);
  return bad;
}
