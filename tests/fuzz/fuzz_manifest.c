/*
 * tests/fuzz/fuzz_manifest.c: the key-set manifest (keyset.json) as
 * pkjwt_keyset_load() reads it. Each input becomes the manifest of one
 * folder that also holds k.pem (the test-only key tests/keys/p-256.pem,
 * kid FUZZ_KID below) and c.pem, its certificate with notAfter
 * 2024-11-13T22:13:20Z, so inputs that name them get past the manifest to
 * the files, the kid and expires checks, and signing with the active key.
 * A set that loads must keep its own rules: at most
 * PKJWT_KEYSET_MAX_KEYS keys, one active at most, every key that is not
 * retired loaded with its certificate.
 */
#define _DEFAULT_SOURCE 1
#include "fuzz.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "pkjwt.h"

/* tests/keys/p-256.pem (test-only, see tests/keys/README.md). */
static const char fuzz_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgHIGJet4OLjsfd0yl\n"
    "4GMblYbqePTyWvnjys8ynUO/Vk2hRANCAARpgIVA11j9sgKFb7ekXv7Q6OdzqVE5\n"
    "qdMW9nsxMFT1DfrfTsGGCLv+yuYnxD6KlJOwk9tzzlJfXY3BywJZ4ydg\n"
    "-----END PRIVATE KEY-----\n";
/* The certificate's validity: made at FUZZ_NOW for 365 days. */
#define FUZZ_NOW 1700000000

static char dir[256];
static char manifest[300];
static char key_path[300];
static char cert_path[300];

static void cleanup(void) {
  unlink(manifest);
  unlink(key_path);
  unlink(cert_path);
  rmdir(dir);
}

/* The folder, its key and its certificate, once per process. */
static void setup_once(void) {
  if (dir[0])
    return;
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof(dir), "%s/pkjwt-fuzz-manifest-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  fuzz_assert(mkdtemp(dir) != NULL);
  snprintf(manifest, sizeof(manifest), "%s/%s", dir, PKJWT_KEYSET_MANIFEST);
  snprintf(key_path, sizeof(key_path), "%s/k.pem", dir);
  snprintf(cert_path, sizeof(cert_path), "%s/c.pem", dir);
  atexit(cleanup);
  pkjwt_key *k = NULL;
  pkjwt_cert *c = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  pkjwt_cert_options co = PKJWT_CERT_OPTIONS_INIT;
  co.now = FUZZ_NOW;
  fuzz_assert(pkjwt_key_load_mem(&k, fuzz_key_pem, strlen(fuzz_key_pem), NULL,
                                 &e) == PKJWT_OK);
  fuzz_assert(pkjwt_key_write_private(k, key_path, NULL, &e) == PKJWT_OK);
  fuzz_assert(pkjwt_cert_self_signed(&c, k, &co, &e) == PKJWT_OK);
  fuzz_assert(pkjwt_cert_write(c, cert_path, 0, &e) == PKJWT_OK);
  pkjwt_cert_free(c);
  pkjwt_key_free(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  setup_once();
  int fd = open(manifest, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  fuzz_assert(fd >= 0);
  size_t off = 0;
  while (off < size) {
    ssize_t w = write(fd, data + off, size - off);
    fuzz_assert(w > 0);
    off += (size_t)w;
  }
  fuzz_assert(close(fd) == 0);

  pkjwt_keyset *ks = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  int rc = pkjwt_keyset_load(&ks, dir, &e);
  fuzz_assert((rc == PKJWT_OK) == (ks != NULL));
  fuzz_assert(rc == PKJWT_OK || e.message[0] != '\0');
  if (!ks)
    return 0;
  size_t n = pkjwt_keyset_count(ks), active = 0;
  fuzz_assert(n <= PKJWT_KEYSET_MAX_KEYS);
  for (size_t i = 0; i < n; i++) {
    pkjwt_keyset_entry en;
    fuzz_assert(pkjwt_keyset_entry_get(&en, ks, i) == 1);
    fuzz_assert(en.kid && en.key_file && en.cert_file);
    fuzz_assert(pkjwt_key_state_name(en.state) != NULL);
    if (en.state == PKJWT_KEY_ACTIVE)
      active++;
    if (en.state != PKJWT_KEY_RETIRED) {
      fuzz_assert(en.key && en.cert && pkjwt_key_has_private(en.key));
      fuzz_assert(strcmp(pkjwt_key_get_thumbprint(en.key), en.kid) == 0);
      fuzz_assert(pkjwt_cert_matches_key(en.cert, en.key));
      fuzz_assert(pkjwt_cert_get_not_after(en.cert) == en.expires);
    }
  }
  fuzz_assert(active <= 1);
  (void)pkjwt_keyset_due_at(ks, 30, FUZZ_NOW);

  pkjwt_sign_options so = PKJWT_SIGN_OPTIONS_INIT;
  so.client_id = "fuzz-client";
  so.audience = "https://auth.example/token";
  so.now = FUZZ_NOW;
  char *jws = NULL;
  e = (pkjwt_error)PKJWT_ERROR_INIT;
  rc = pkjwt_keyset_sign(&jws, ks, &so, &e);
  fuzz_assert((rc == PKJWT_OK) == (jws != NULL));
  fuzz_assert(rc != PKJWT_OK || active == 1);
  pkjwt_str_free(jws);
  pkjwt_keyset_free(ks);
  return 0;
}
