/*
 * tests/bench_key.c: the first key load in a process against the second.
 *
 * A process's first key load used to pay for OpenSSL setting up a decoder
 * for every key type and structure it has; lib/key.c now reads plain
 * PKCS#8 (what these keys are) through lib/pkcs8.c's import, with no
 * decoder, and other usual forms through the few decoders they need. Each
 * sample is a fresh process (this program run again with --child) that
 * first starts OpenSSL (one EVP_MD_fetch, which any signing process does
 * anyway, and which is reported apart as openssl_start_ms), then loads
 * the same key file twice and reports both times. The baseline in the same
 * run is the path the library used before: OSSL_DECODER over every
 * decoder, then the same pkjwt__key_wrap. Times are the thread's CPU time
 * (medians of SAMPLES processes), so that other load on the machine does
 * not show as key loading. One JSON object per line. Not a test.
 */
#define _GNU_SOURCE 1
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/decoder.h>

#define SAMPLES 15
#define FILE_MAX (64 * 1024)

static double cpu_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The old path: the decoders for any key, then the key rules. */
static int load_decoder(const unsigned char *data, size_t len) {
  EVP_PKEY *pkey = NULL;
  OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(
      &pkey, "PEM", NULL, NULL, EVP_PKEY_KEYPAIR, NULL, NULL);
  const unsigned char *p = data;
  size_t left = len;
  int ok = dctx && OSSL_DECODER_from_data(dctx, &p, &left) == 1;
  OSSL_DECODER_CTX_free(dctx);
  if (!ok) {
    EVP_PKEY_free(pkey);
    return -1;
  }
  pkjwt_key *k = NULL;
  ok = pkjwt__key_wrap(&k, pkey, NULL) == PKJWT_OK; /* takes pkey */
  pkjwt_key_free(k);
  return ok ? 0 : -1;
}

static int load_pkjwt(const unsigned char *data, size_t len) {
  pkjwt_key *k = NULL;
  int rc = pkjwt_key_load_mem(&k, data, len, NULL, NULL);
  pkjwt_key_free(k);
  return rc == PKJWT_OK ? 0 : -1;
}

/* --child MODE FILE: prints "start first second" in ms. */
static int child(const char *mode, const char *path) {
  static unsigned char buf[FILE_MAX];
  FILE *f = fopen(path, "rb");
  size_t len = f ? fread(buf, 1, sizeof(buf), f) : 0;
  if (f)
    fclose(f);
  if (len == 0)
    return 1;
  int (*load)(const unsigned char *, size_t) =
      strcmp(mode, "decoder") == 0 ? load_decoder : load_pkjwt;
  double t0 = cpu_ms();
  EVP_MD *md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
  EVP_MD_free(md);
  double t1 = cpu_ms();
  int rc = load(buf, len);
  double t2 = cpu_ms();
  rc |= load(buf, len);
  double t3 = cpu_ms();
  if (rc != 0)
    return 1;
  printf("%.4f %.4f %.4f\n", t1 - t0, t2 - t1, t3 - t2);
  return 0;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Medians over SAMPLES fresh processes; 0 or -1. */
static int run(double med[3], const char *mode, const char *path) {
  double s[3][SAMPLES];
  for (int i = 0; i < SAMPLES; i++) {
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "/proc/%ld/exe --child %s '%.4000s'",
             (long)getpid(), mode, path);
    FILE *p = popen(cmd, "r");
    int n = p ? fscanf(p, "%lf %lf %lf", &s[0][i], &s[1][i], &s[2][i]) : 0;
    if (!p || pclose(p) != 0 || n != 3)
      return -1;
  }
  for (int j = 0; j < 3; j++) {
    qsort(s[j], SAMPLES, sizeof(double), cmp);
    med[j] = s[j][SAMPLES / 2];
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--child") == 0)
    return child(argv[2], argv[3]);

  const char *tmp = getenv("TMPDIR");
  char dir[4096];
  snprintf(dir, sizeof(dir), "%s/pkjwt-bench-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    fprintf(stderr, "bench_key: cannot make a temp folder\n");
    return 1;
  }
  static const struct {
    const char *label, *file;
    int rsa;
  } keys[] = {{"P-256 PKCS#8 PEM", "ec.pem", 0},
              {"RSA-2048 PKCS#8 PEM", "rsa.pem", 1}};
  int status = 0;
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && !status; i++) {
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", dir, keys[i].file);
    pkjwt_key *k = NULL;
    pkjwt_write_options wo = PKJWT_WRITE_OPTIONS_INIT;
    int rc = keys[i].rsa ? pkjwt_key_generate_rsa(&k, 2048, NULL)
                         : pkjwt_key_generate_ec(&k, "P-256", NULL);
    if (rc == PKJWT_OK)
      rc = pkjwt_key_write_private(k, path, &wo, NULL);
    pkjwt_key_free(k);
    double ours[3], base[3];
    if (rc != PKJWT_OK || run(ours, "pkjwt", path) != 0 ||
        run(base, "decoder", path) != 0) {
      fprintf(stderr, "bench_key: %s: a load failed\n", keys[i].label);
      status = 1;
    } else {
      printf("{\"bench\":\"key_load\",\"key\":\"%s\",\"processes\":%d,"
             "\"openssl_start_ms\":%.3f,\"first_ms\":%.3f,\"second_ms\":%.3f,"
             "\"first_extra_ms\":%.3f,\"decoder_first_ms\":%.3f,"
             "\"decoder_second_ms\":%.3f,\"decoder_first_extra_ms\":%.3f}\n",
             keys[i].label, SAMPLES, ours[0], ours[1], ours[2],
             ours[1] - ours[2], base[1], base[2], base[1] - base[2]);
      fflush(stdout);
    }
    remove(path);
  }
  rmdir(dir);
  return status;
}
