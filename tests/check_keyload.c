/*
 * tests/check_keyload.c: pkjwt_key_load_mem over every key form the
 * openssl CLI writes. OpenSSL's decoders for any key are the reference:
 * what the narrow decoders of lib/key.c read must be the same key, public
 * and private half. The usual forms must be read by the narrow decoders
 * (or a process's first load is slow again); unusual ones must be left to
 * the decoders for any key (NULL), and pkjwt_key_load_mem must still load
 * or refuse them as before. The plainest forms (PKCS#8, RSA with two primes
 * or EC on our curves with its public point) must be read without any
 * decoder, by lib/pkcs8.c's import: the same key again.
 */
#include "testutil.h"

#include "internal.h"

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>

static char *dir;

typedef struct kcase {
  const char *file;  /* made in dir */
  const char *cmd;   /* openssl arguments; %s = the file */
  const char *label; /* PEM label, NULL for DER */
  const char *pass;
  int fast;   /* 1: the narrow decoders must read it */
  int loads;  /* pkjwt_key_load_mem accepts it */
  int import; /* 1: plain PKCS#8 that pkjwt__pkcs8_import reads itself */
} kcase;

#define ENC "pkcs8 -topk8 -v2 aes-256-cbc -iter 2048 -passout pass:pw"
static const kcase cases[] = {
    {"ec256.p8", "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256",
     "PRIVATE KEY", NULL, 1, 1, 1},
    {"ec384.p8", "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384",
     "PRIVATE KEY", NULL, 1, 1, 1},
    {"ec521.p8", "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521",
     "PRIVATE KEY", NULL, 1, 1, 1},
    {"rsa.p8", "genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048",
     "PRIVATE KEY", NULL, 1, 1, 1},
    {"ec384.sec1", "ec -in ec384.p8", "EC PRIVATE KEY", NULL, 1, 1, 0},
    {"rsa.pkcs1", "rsa -traditional -in rsa.p8", "RSA PRIVATE KEY", NULL, 1, 1,
     0},
    {"ec256.der", "pkey -in ec256.p8 -outform DER", NULL, NULL, 1, 1, 0},
    {"rsa.der", "pkey -in rsa.p8 -outform DER", NULL, NULL, 1, 1, 0},
    {"ec384.sec1der", "ec -in ec384.p8 -outform DER", NULL, NULL, 1, 1, 0},
    {"rsa.pkcs1der", "rsa -traditional -in rsa.p8 -outform DER", NULL, NULL, 1,
     1, 0},
    {"ec256.encder", ENC " -in ec256.p8 -outform DER", NULL, "pw", 1, 1, 0},
    {"ec521.enc", ENC " -in ec521.p8", "ENCRYPTED PRIVATE KEY", "pw", 1, 1, 0},
    {"rsa.enc", ENC " -in rsa.p8", "ENCRYPTED PRIVATE KEY", "pw", 1, 1, 0},
    {"ec256.explicit", "ec -in ec256.p8 -param_enc explicit", "EC PRIVATE KEY",
     NULL, 1, 1, 0},
    {"ec256.nopub", "ec -in ec256.p8 -no_public", "EC PRIVATE KEY", NULL, 1, 1,
     0},
    {"ec256.legacy", "ec -in ec256.p8 -aes256 -passout pass:pw",
     "EC PRIVATE KEY", "pw", 1, 1, 0},
    /* read, and refused by the key rules */
    {"k1.p8", "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1",
     "PRIVATE KEY", NULL, 1, 0, 0},
    {"ed.p8", "genpkey -algorithm ED25519", "PRIVATE KEY", NULL, 1, 0, 0},
    {"ed.der", "pkey -in ed.p8 -outform DER", NULL, NULL, 1, 0, 0},
    /* left to the decoders for any key, or refused */
    {"rsa.enc2", ENC " -in rsa.p8", "ENCRYPTED PRIVATE KEY", "wrong", 0, 0, 0},
    {"ec256.pub", "pkey -in ec256.p8 -pubout", "PUBLIC KEY", NULL, 0, 1, 0},
    /* PKCS#8 DER (`pkey -outform DER` writes SEC1 and PKCS#1) */
    {"ec521.p8der", "pkcs8 -topk8 -nocrypt -in ec521.p8 -outform DER", NULL,
     NULL, 1, 1, 1},
    {"rsa.p8der", "pkcs8 -topk8 -nocrypt -in rsa.p8 -outform DER", NULL, NULL,
     1, 1, 1},
    /* plain PKCS#8 that the import leaves to the narrow decoders (the
     * key rules then refuse RSA-PSS keys) */
    {"ec256.p8explicit", "pkcs8 -topk8 -nocrypt -in ec256.explicit",
     "PRIVATE KEY", NULL, 1, 1, 0},
    {"ec256.p8nopub", "pkcs8 -topk8 -nocrypt -in ec256.nopub", "PRIVATE KEY",
     NULL, 1, 1, 0},
    {"rsa3.p8",
     "genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
     "-pkeyopt rsa_keygen_primes:3",
     "PRIVATE KEY", NULL, 1, 1, 0},
    {"pss.p8", "genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048",
     "PRIVATE KEY", NULL, 1, 0, 0},
};
#define N_CASES ((int)(sizeof(cases) / sizeof(cases[0])))

static void setup(void) {
  dir = test_tmpdir();
  for (int i = 0; i < N_CASES; i++) {
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s -out %s", cases[i].cmd, cases[i].file);
    ck_assert_msg(test_sh(NULL, "cd '%s' && '%s' %s 2>/dev/null", dir,
                          test_openssl(), cmd) == 0,
                  "openssl %s failed", cmd);
  }
}

static void teardown(void) {
  test_rmtree(dir);
  free(dir);
}

static int pass_cb(char *buf, size_t size, size_t *len,
                   const OSSL_PARAM params[], void *arg) {
  (void)params;
  size_t n = strlen(arg);
  if (n > size)
    return 0;
  memcpy(buf, arg, n);
  *len = n;
  return 1;
}

/* The reference: OpenSSL's decoders over every format. */
static EVP_PKEY *reference(const unsigned char *d, size_t n, const char *pass) {
  EVP_PKEY *pkey = NULL;
  OSSL_DECODER_CTX *c = OSSL_DECODER_CTX_new_for_pkey(
      &pkey, NULL, NULL, NULL, EVP_PKEY_KEYPAIR, NULL, NULL);
  ck_assert_ptr_nonnull(c);
  if (pass)
    OSSL_DECODER_CTX_set_passphrase_cb(c, pass_cb, (void *)pass);
  OSSL_DECODER_from_data(c, &d, &n);
  OSSL_DECODER_CTX_free(c);
  return pkey;
}

/* The same private number, RSA d or EC private key, or the same raw
 * private key (Ed25519). */
static void same_private(const EVP_PKEY *a, const EVP_PKEY *b) {
  int rsa = EVP_PKEY_is_a(a, "RSA") || EVP_PKEY_is_a(a, "RSA-PSS");
  if (!rsa && !EVP_PKEY_is_a(a, "EC")) {
    unsigned char x[64], y[64];
    size_t nx = sizeof(x), ny = sizeof(y);
    ck_assert(EVP_PKEY_get_raw_private_key(a, x, &nx) == 1);
    ck_assert(EVP_PKEY_get_raw_private_key(b, y, &ny) == 1);
    ck_assert(nx == ny && memcmp(x, y, nx) == 0);
    return;
  }
  const char *name = rsa ? OSSL_PKEY_PARAM_RSA_D : OSSL_PKEY_PARAM_PRIV_KEY;
  BIGNUM *x = NULL, *y = NULL;
  ck_assert(EVP_PKEY_get_bn_param(a, name, &x) == 1);
  ck_assert(EVP_PKEY_get_bn_param(b, name, &y) == 1);
  ck_assert_int_eq(BN_cmp(x, y), 0);
  BN_clear_free(x);
  BN_clear_free(y);
}

START_TEST(usual_forms_fast_and_the_same_key) {
  const kcase *k = &cases[_i];
  char *path = test_path(dir, k->file);
  size_t n = 0;
  unsigned char *d = (unsigned char *)test_read_file(path, &n);
  ck_assert_ptr_nonnull(d);
  if (k->label) {
    char begin[80];
    snprintf(begin, sizeof(begin), "-----BEGIN %s-----", k->label);
    ck_assert_msg(strstr((char *)d, begin), "%s: not %s", k->file, k->label);
  }
  EVP_PKEY *fast = pkjwt__key_decode_usual(d, n, k->label, k->pass);
  ck_assert_int_eq(ERR_peek_error(), 0);
  if (k->fast) {
    ck_assert_msg(fast != NULL, "%s: not read by the narrow decoders", k->file);
    EVP_PKEY *ref = reference(d, n, k->pass);
    ck_assert_ptr_nonnull(ref);
    ck_assert_int_eq(EVP_PKEY_eq(fast, ref), 1);
    same_private(fast, ref);
    EVP_PKEY_free(ref);
  } else {
    ck_assert_msg(fast == NULL, "%s: read by the narrow decoders", k->file);
  }
  EVP_PKEY_free(fast);

  /* the import, on the PKCS#8 structure if the file is one */
  const unsigned char *p = d;
  PKCS8_PRIV_KEY_INFO *p8 = NULL;
  if (!k->label) {
    p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)n);
  } else if (strcmp(k->label, "PRIVATE KEY") == 0) {
    BIO *bio = BIO_new_mem_buf(d, (int)n);
    p8 = PEM_read_bio_PKCS8_PRIV_KEY_INFO(bio, NULL, NULL, NULL);
    BIO_free(bio);
  }
  ERR_clear_error();
  EVP_PKEY *imported = pkjwt__pkcs8_import(p8);
  ck_assert_int_eq(ERR_peek_error(), 0);
  PKCS8_PRIV_KEY_INFO_free(p8);
  ck_assert_msg((imported != NULL) == k->import, "%s: import gave %p", k->file,
                (void *)imported);
  if (imported) {
    EVP_PKEY *ref = reference(d, n, k->pass);
    ck_assert_ptr_nonnull(ref);
    ck_assert_int_eq(EVP_PKEY_eq(imported, ref), 1);
    same_private(imported, ref);
    EVP_PKEY_free(ref);
    EVP_PKEY_free(imported);
  }

  pkjwt_key *key = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  int rc = pkjwt_key_load_mem(&key, d, n, k->pass, &e);
  ck_assert_msg((rc == PKJWT_OK) == k->loads, "%s: load gave %d: %s", k->file,
                rc, e.message);
  pkjwt_key_free(key);
  free(d);
  free(path);
}
END_TEST

/* Cut or changed input never crashes the loader, leaves no errors queued,
 * and a cut key never loads. */
START_TEST(damaged_der_is_refused) {
  char *path = test_path(dir, "rsa.der");
  size_t n = 0;
  unsigned char *d = (unsigned char *)test_read_file(path, &n);
  ck_assert_ptr_nonnull(d);
  /* every 7th cut (every 112th in a light run: see tu_rounds) */
  const size_t step = 7 * (size_t)(16 / tu_rounds(16));
  for (size_t cut = 1; cut < n; cut += step) {
    pkjwt_key *key = NULL;
    int rc = pkjwt_key_load_mem(&key, d, cut, NULL, NULL);
    ck_assert_msg(rc != PKJWT_OK, "a key from %zu of %zu bytes", cut, n);
    ck_assert_ptr_null(key);
  }
  for (size_t i = 0; i < (size_t)tu_rounds(64) && i < n; i++) {
    d[i] ^= 0x40;
    pkjwt_key *key = NULL;
    int rc = pkjwt_key_load_mem(&key, d, n, NULL, NULL);
    ck_assert_int_eq(rc == PKJWT_OK, key != NULL);
    pkjwt_key_free(key);
    d[i] ^= 0x40;
  }
  ck_assert_int_eq(ERR_peek_error(), 0);
  free(d);
  free(path);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("keyload");
  TCase *tc = tcase_create("forms");
  tcase_add_unchecked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, usual_forms_fast_and_the_same_key, 0, N_CASES);
  tcase_add_test(tc, damaged_der_is_refused);
  suite_add_tcase(s, tc);
  return s;
}

PKJWT_TEST_MAIN(make_suite)
