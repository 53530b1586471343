/*
 * tests/check_key.c: key generation, loading, the key rules and writing
 * (lib/key.c, lib/fileio.c). Inputs are made per run with the openssl CLI,
 * and what we write is judged by the openssl CLI.
 */
#include "testutil.h"

/* The load-format tables below hold openssl command lines with a "%s" for
 * the output path, filled in at run time: formats that are data, not
 * literals, by design. */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <openssl/bn.h>
#include <openssl/param_build.h>

/* ---- helpers for this suite ------------------------------------------- */

static char *dir; /* a fresh temp folder per test */

static void setup(void) {
  dir = test_tmpdir();
}

static void teardown(void) {
  test_rmtree(dir);
  free(dir);
  dir = NULL;
}

/* dir/name; the caller frees it. */
static char *in_dir(const char *name) {
  return test_path(dir, name);
}

/* Make dir/name with an openssl command whose "%s" is replaced by the output
 * path; returns the path. */
static char *ossl_make(const char *name, const char *args) {
  char *p = in_dir(name);
  char full[4096];
  snprintf(full, sizeof(full), args, p);
  int rc = test_sh(NULL, "'%s' %s 2>/dev/null", test_openssl(), full);
  ck_assert_msg(rc == 0, "openssl %s failed", full);
  return p;
}

static mode_t file_mode(const char *p) {
  struct stat st;
  ck_assert_int_eq(stat(p, &st), 0);
  return st.st_mode & 07777;
}

static pkjwt_key *gen_ec(void) {
  pkjwt_key *k = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_key_generate_ec(&k, "P-256", &e), PKJWT_OK);
  return k;
}

static pkjwt_key *load_ok(const char *path, const char *pass) {
  pkjwt_key *k = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  int rc = pkjwt_key_load_file(&k, path, pass, &e);
  ck_assert_msg(rc == PKJWT_OK, "%s: %s", path, e.message);
  ck_assert_ptr_nonnull(k);
  return k;
}

/* openssl's view of a key file (text form), or NULL. */
static char *ossl_text(const char *path, const char *pass) {
  char *out = NULL;
  int rc;
  if (pass)
    rc = test_sh(&out, "'%s' pkey -in '%s' -passin pass:%s -noout -text",
                 test_openssl(), path, pass);
  else
    rc = test_sh(&out, "'%s' pkey -in '%s' -noout -text", test_openssl(), path);
  ck_assert_msg(rc == 0, "openssl pkey could not read %s", path);
  return out;
}

/* ---- generation --------------------------------------------------------- */

START_TEST(generate_ec_every_curve) {
  static const struct {
    const char *curve, *want_curve, *alg, *nist;
    unsigned int bits;
  } cases[] = {{NULL, "P-256", "ES256", "NIST CURVE: P-256", 256},
               {"P-256", "P-256", "ES256", "NIST CURVE: P-256", 256},
               {"P-384", "P-384", "ES384", "NIST CURVE: P-384", 384},
               {"P-521", "P-521", "ES512", "NIST CURVE: P-521", 521}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    pkjwt_key *k = NULL;
    pkjwt_error e = PKJWT_ERROR_INIT;
    ck_assert_int_eq(pkjwt_key_generate_ec(&k, cases[i].curve, &e), PKJWT_OK);
    ck_assert_int_eq(e.code, PKJWT_OK);
    ck_assert_int_eq(pkjwt_key_get_type(k), PKJWT_KEY_EC);
    ck_assert_uint_eq(pkjwt_key_get_bits(k), cases[i].bits);
    ck_assert_str_eq(pkjwt_key_get_curve(k), cases[i].want_curve);
    ck_assert_str_eq(pkjwt_key_get_default_alg(k), cases[i].alg);
    ck_assert_int_eq(pkjwt_key_has_private(k), 1);
    ck_assert_uint_eq(strlen(pkjwt_key_get_thumbprint(k)), 43);

    /* The judge: openssl reads what we write and sees the same curve. */
    char *p = in_dir("k.pem");
    ck_assert_int_eq(pkjwt_key_write_private(k, p, NULL, &e), PKJWT_OK);
    char *txt = ossl_text(p, NULL);
    ck_assert_msg(strstr(txt, cases[i].nist) != NULL, "%s", txt);
    char want[64];
    snprintf(want, sizeof(want), "Private-Key: (%u bit)", cases[i].bits);
    ck_assert_msg(strstr(txt, want) != NULL, "%s", txt);
    free(txt);
    char *head = test_read_file(p, NULL);
    ck_assert_msg(strncmp(head, "-----BEGIN PRIVATE KEY-----\n", 28) == 0, "%s",
                  head);
    free(head);
    pkjwt_key *back = load_ok(p, NULL);
    ck_assert_int_eq(pkjwt_key_equal_public(k, back), 1);
    ck_assert_str_eq(pkjwt_key_get_thumbprint(k),
                     pkjwt_key_get_thumbprint(back));
    pkjwt_key_free(back);
    unlink(p);
    free(p);
    pkjwt_key_free(k);
  }
}
END_TEST

START_TEST(generate_rsa_every_size) {
  static const unsigned int sizes[][2] = {
      {0, 3072}, {2048, 2048}, {3072, 3072}, {4096, 4096}};
  for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
    pkjwt_key *k = NULL;
    pkjwt_error e = PKJWT_ERROR_INIT;
    ck_assert_int_eq(pkjwt_key_generate_rsa(&k, sizes[i][0], &e), PKJWT_OK);
    ck_assert_int_eq(pkjwt_key_get_type(k), PKJWT_KEY_RSA);
    ck_assert_uint_eq(pkjwt_key_get_bits(k), sizes[i][1]);
    ck_assert_ptr_null(pkjwt_key_get_curve(k));
    ck_assert_str_eq(pkjwt_key_get_default_alg(k), "RS256");
    ck_assert_int_eq(pkjwt_key_has_private(k), 1);
    char *p = in_dir("r.pem");
    ck_assert_int_eq(pkjwt_key_write_private(k, p, NULL, &e), PKJWT_OK);
    char *txt = ossl_text(p, NULL);
    char want[64];
    snprintf(want, sizeof(want), "Private-Key: (%u bit, 2 primes)",
             sizes[i][1]);
    ck_assert_msg(strstr(txt, want) != NULL, "%s", txt);
    ck_assert_msg(strstr(txt, "publicExponent: 65537") != NULL, "%s", txt);
    free(txt);
    /* openssl's own consistency check of the private key */
    ck_assert_int_eq(test_sh(NULL,
                             "'%s' pkey -in '%s' -check -noout >/dev/null",
                             test_openssl(), p),
                     0);
    unlink(p);
    free(p);
    pkjwt_key_free(k);
  }
}
END_TEST

START_TEST(generate_refusals) {
  pkjwt_key *k = (pkjwt_key *)&k; /* must be reset to NULL */
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_key_generate_rsa(&k, 1024, &e), PKJWT_ERR_WEAK_KEY);
  ck_assert_str_eq(e.message, "RSA keys shorter than 2048 bits are refused");
  ck_assert_ptr_null(k);
  ck_assert_int_eq(pkjwt_key_generate_rsa(&k, 2047, &e), PKJWT_ERR_WEAK_KEY);
  ck_assert_str_eq(e.message, "RSA keys shorter than 2048 bits are refused");
  ck_assert_int_eq(pkjwt_key_generate_rsa(&k, 5000, &e), PKJWT_ERR_KEY_TYPE);
  ck_assert_msg(strstr(e.message, "5000") != NULL, "%s", e.message);
  ck_assert_int_eq(pkjwt_key_generate_rsa(&k, 2049, &e), PKJWT_ERR_KEY_TYPE);
  ck_assert_int_eq(pkjwt_key_generate_rsa(&k, 8192, &e), PKJWT_ERR_KEY_TYPE);
  ck_assert_int_eq(pkjwt_key_generate_ec(&k, "secp256k1", &e),
                   PKJWT_ERR_KEY_TYPE);
  ck_assert_msg(strstr(e.message, "secp256k1") != NULL, "%s", e.message);
  ck_assert_int_eq(pkjwt_key_generate_ec(&k, "P-224", &e), PKJWT_ERR_KEY_TYPE);
  ck_assert_int_eq(pkjwt_key_generate_ec(&k, "", &e), PKJWT_ERR_KEY_TYPE);
  ck_assert_int_eq(pkjwt_key_generate_ec(&k, "Ed25519", &e),
                   PKJWT_ERR_KEY_TYPE);
  ck_assert_ptr_null(k);
  ck_assert_int_eq(pkjwt_key_generate_ec(NULL, NULL, &e),
                   PKJWT_ERR_INVALID_ARG);
  ck_assert_int_eq(pkjwt_key_generate_rsa(NULL, 0, NULL),
                   PKJWT_ERR_INVALID_ARG);
  /* err may be NULL */
  ck_assert_int_eq(pkjwt_key_generate_rsa(&k, 1024, NULL), PKJWT_ERR_WEAK_KEY);
}
END_TEST

START_TEST(getters_accept_null) {
  ck_assert_int_eq((int)pkjwt_key_get_type(NULL), 0);
  ck_assert_uint_eq(pkjwt_key_get_bits(NULL), 0);
  ck_assert_ptr_null(pkjwt_key_get_curve(NULL));
  ck_assert_int_eq(pkjwt_key_has_private(NULL), 0);
  ck_assert_ptr_null(pkjwt_key_get_thumbprint(NULL));
  ck_assert_ptr_null(pkjwt_key_get_default_alg(NULL));
  ck_assert_int_eq(pkjwt_key_equal_public(NULL, NULL), 0);
  pkjwt_key_free(NULL);
}
END_TEST

/* ---- loading ------------------------------------------------------------ */

struct fmt_case {
  const char *name; /* file made in the temp folder */
  const char *args; /* openssl arguments; %s is the output */
  pkjwt_key_type type;
  unsigned int bits;
  int has_private;
};

/* Load file and memory forms of each input and compare with ref. */
static void check_formats(const struct fmt_case *cases, size_t n,
                          const pkjwt_key *ref) {
  for (size_t i = 0; i < n; i++) {
    char *p = ossl_make(cases[i].name, cases[i].args);
    pkjwt_key *k = load_ok(p, NULL);
    ck_assert_msg(pkjwt_key_get_type(k) == cases[i].type, "%s", p);
    ck_assert_msg(pkjwt_key_get_bits(k) == cases[i].bits, "%s", p);
    ck_assert_msg(pkjwt_key_has_private(k) == cases[i].has_private, "%s: %d",
                  cases[i].name, pkjwt_key_has_private(k));
    ck_assert_msg(pkjwt_key_equal_public(k, ref) == 1, "%s", cases[i].name);
    ck_assert_str_eq(pkjwt_key_get_thumbprint(k),
                     pkjwt_key_get_thumbprint(ref));
    pkjwt_key_free(k);

    size_t len = 0;
    char *data = test_read_file(p, &len);
    pkjwt_error e = PKJWT_ERROR_INIT;
    ck_assert_int_eq(pkjwt_key_load_mem(&k, data, len, NULL, &e), PKJWT_OK);
    ck_assert_int_eq(pkjwt_key_equal_public(k, ref), 1);
    pkjwt_key_free(k);
    free(data);
    free(p);
  }
}

START_TEST(load_ec_formats) {
  char *src = ossl_make("ec.pem", "genpkey -algorithm EC -pkeyopt "
                                  "ec_paramgen_curve:P-256 -out '%s'");
  char *txt = test_read_file(src, NULL);
  ck_assert_msg(strstr(txt, "-----BEGIN PRIVATE KEY-----") != NULL, "%s", txt);
  free(txt);
  pkjwt_key *ref = load_ok(src, NULL);
  ck_assert_str_eq(pkjwt_key_get_curve(ref), "P-256");
  char args[7][512];
  const char *fmts[] = {
      "pkey -in '%s' -traditional -out '%%s'",
      "ec -in '%s' -outform DER -out '%%s'",
      "pkey -in '%s' -outform DER -out '%%s'",
      "pkey -in '%s' -pubout -out '%%s'",
      "pkey -in '%s' -pubout -outform DER -out '%%s'",
      "ecparam -name prime256v1 -genkey -out '%%s'", /* params + key */
      "pkcs8 -topk8 -nocrypt -in '%s' -out '%%s'"};
  for (int i = 0; i < 7; i++)
    snprintf(args[i], sizeof(args[i]), fmts[i], src);
  const struct fmt_case cases[] = {{"sec1.pem", args[0], PKJWT_KEY_EC, 256, 1},
                                   {"sec1.der", args[1], PKJWT_KEY_EC, 256, 1},
                                   {"p8.der", args[2], PKJWT_KEY_EC, 256, 1},
                                   {"pub.pem", args[3], PKJWT_KEY_EC, 256, 0},
                                   {"pub.der", args[4], PKJWT_KEY_EC, 256, 0},
                                   {"p8b.pem", args[6], PKJWT_KEY_EC, 256, 1}};
  check_formats(cases, sizeof(cases) / sizeof(cases[0]), ref);
  /* the SEC1 file is what it claims to be */
  char *sec1 = in_dir("sec1.pem");
  txt = test_read_file(sec1, NULL);
  ck_assert_msg(strstr(txt, "-----BEGIN EC PRIVATE KEY-----") != NULL, "%s",
                txt);
  free(txt);
  free(sec1);

  /* ecparam -genkey writes an EC PARAMETERS block before the key */
  char *withparams = ossl_make("params.pem", args[5]);
  txt = test_read_file(withparams, NULL);
  ck_assert_msg(strncmp(txt, "-----BEGIN EC PARAMETERS-----", 29) == 0, "%s",
                txt);
  free(txt);
  pkjwt_key *k = load_ok(withparams, NULL);
  ck_assert_int_eq(pkjwt_key_has_private(k), 1);
  ck_assert_str_eq(pkjwt_key_get_curve(k), "P-256");
  pkjwt_key_free(k);
  free(withparams);

  /* P-384 and P-521 SEC1 too */
  const char *curves[][2] = {{"secp384r1", "P-384"}, {"secp521r1", "P-521"}};
  for (int i = 0; i < 2; i++) {
    char a[256];
    snprintf(a, sizeof(a),
             "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:%s -out '%%s'",
             curves[i][0]);
    char *p = ossl_make("c.pem", a);
    k = load_ok(p, NULL);
    ck_assert_str_eq(pkjwt_key_get_curve(k), curves[i][1]);
    pkjwt_key_free(k);
    unlink(p);
    free(p);
  }
  pkjwt_key_free(ref);
  free(src);
}
END_TEST

/* Explicit curve parameters and compressed points load as the named curve
 * and are written back the usual way (named curve OID, uncompressed). */
START_TEST(load_ec_encodings_normalised) {
  char *src = ossl_make("ec.pem", "genpkey -algorithm EC -pkeyopt "
                                  "ec_paramgen_curve:P-256 -out '%s'");
  pkjwt_key *ref = load_ok(src, NULL);
  char *want = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_key_public_pem(&want, ref, &e), PKJWT_OK);
  char a1[512], a2[512];
  snprintf(a1, sizeof(a1), "pkey -in '%s' -ec_param_enc explicit -out '%%s'",
           src);
  snprintf(a2, sizeof(a2),
           "ec -in '%s' -conv_form compressed -pubout -out '%%s'", src);
  char *expl = ossl_make("explicit.pem", a1);
  char *comp = ossl_make("compressed.pem", a2);
  char *dump = NULL;
  ck_assert_int_eq(
      test_sh(&dump, "'%s' asn1parse -in '%s'", test_openssl(), expl), 0);
  ck_assert_msg(strstr(dump, ":prime256v1") == NULL, "not explicit: %s", dump);
  free(dump);
  const char *files[] = {expl, comp};
  for (int i = 0; i < 2; i++) {
    pkjwt_key *k = load_ok(files[i], NULL);
    ck_assert_str_eq(pkjwt_key_get_curve(k), "P-256");
    ck_assert_int_eq(pkjwt_key_equal_public(k, ref), 1);
    char *pem = NULL;
    ck_assert_int_eq(pkjwt_key_public_pem(&pem, k, &e), PKJWT_OK);
    ck_assert_str_eq(pem, want);
    pkjwt_str_free(pem);
    if (i == 0) {
      char *out = in_dir("out.pem");
      ck_assert_int_eq(pkjwt_key_write_private(k, out, NULL, &e), PKJWT_OK);
      ck_assert_int_eq(
          test_sh(&dump, "'%s' asn1parse -in '%s'", test_openssl(), out), 0);
      ck_assert_msg(strstr(dump, ":prime256v1") != NULL, "%s", dump);
      free(dump);
      free(out);
    }
    pkjwt_key_free(k);
  }
  pkjwt_str_free(want);
  pkjwt_key_free(ref);
  free(expl);
  free(comp);
  free(src);
}
END_TEST

/* PEM as editors and Windows leave it: a UTF-8 BOM, CRLF line ends, text
 * around the block. */
START_TEST(load_pem_with_bom_crlf_and_text) {
  char *src = ossl_make("ec.pem", "genpkey -algorithm EC -pkeyopt "
                                  "ec_paramgen_curve:P-256 -out '%s'");
  pkjwt_key *ref = load_ok(src, NULL);
  size_t len = 0;
  char *pem = test_read_file(src, &len);
  size_t n = 3 + 2 * len + 64;
  char *buf = malloc(n), *q = buf;
  memcpy(q, "\xef\xbb\xbf", 3);
  q += 3;
  memcpy(q, "my key:\r\n", 9);
  q += 9;
  for (size_t i = 0; i < len; i++) {
    if (pem[i] == '\n')
      *q++ = '\r';
    *q++ = pem[i];
  }
  memcpy(q, "trailing words\r\n", 16);
  q += 16;
  pkjwt_key *k = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  int rc = pkjwt_key_load_mem(&k, buf, (size_t)(q - buf), NULL, &e);
  ck_assert_msg(rc == PKJWT_OK, "%s", e.message);
  ck_assert_int_eq(pkjwt_key_equal_public(k, ref), 1);
  ck_assert_int_eq(pkjwt_key_has_private(k), 1);
  pkjwt_key_free(k);
  free(buf);
  free(pem);
  pkjwt_key_free(ref);
  free(src);
}
END_TEST

START_TEST(load_rsa_formats) {
  char *src = ossl_make("rsa.pem", "genpkey -algorithm RSA -pkeyopt "
                                   "rsa_keygen_bits:2048 -out '%s'");
  pkjwt_key *ref = load_ok(src, NULL);
  ck_assert_int_eq(pkjwt_key_get_type(ref), PKJWT_KEY_RSA);
  ck_assert_uint_eq(pkjwt_key_get_bits(ref), 2048);
  char args[6][512];
  const char *fmts[] = {"rsa -in '%s' -traditional -out '%%s'",
                        "rsa -in '%s' -traditional -outform DER -out '%%s'",
                        "pkey -in '%s' -outform DER -out '%%s'",
                        "pkey -in '%s' -pubout -out '%%s'",
                        "pkey -in '%s' -pubout -outform DER -out '%%s'",
                        "rsa -in '%s' -RSAPublicKey_out -out '%%s'"};
  for (int i = 0; i < 6; i++)
    snprintf(args[i], sizeof(args[i]), fmts[i], src);
  const struct fmt_case cases[] = {
      {"pkcs1.pem", args[0], PKJWT_KEY_RSA, 2048, 1},
      {"pkcs1.der", args[1], PKJWT_KEY_RSA, 2048, 1},
      {"p8.der", args[2], PKJWT_KEY_RSA, 2048, 1},
      {"pub.pem", args[3], PKJWT_KEY_RSA, 2048, 0},
      {"pub.der", args[4], PKJWT_KEY_RSA, 2048, 0},
      {"rsapub.pem", args[5], PKJWT_KEY_RSA, 2048, 0}};
  check_formats(cases, sizeof(cases) / sizeof(cases[0]), ref);
  char *p = in_dir("pkcs1.pem");
  char *txt = test_read_file(p, NULL);
  ck_assert_msg(strstr(txt, "-----BEGIN RSA PRIVATE KEY-----") != NULL, "%s",
                txt);
  free(txt);
  free(p);
  p = in_dir("rsapub.pem");
  txt = test_read_file(p, NULL);
  ck_assert_msg(strstr(txt, "-----BEGIN RSA PUBLIC KEY-----") != NULL, "%s",
                txt);
  free(txt);
  free(p);
  pkjwt_key_free(ref);
  free(src);
}
END_TEST

START_TEST(load_encrypted_pkcs8) {
  char *src = ossl_make("ec.pem", "genpkey -algorithm EC -pkeyopt "
                                  "ec_paramgen_curve:P-384 -out '%s'");
  pkjwt_key *ref = load_ok(src, NULL);
  char a1[512], a2[512];
  snprintf(a1, sizeof(a1),
           "pkcs8 -topk8 -in '%s' -v2 aes-256-cbc -passout pass:s3cret "
           "-out '%%s'",
           src);
  snprintf(a2, sizeof(a2),
           "pkcs8 -topk8 -in '%s' -scrypt -passout pass:s3cret -outform DER "
           "-out '%%s'",
           src);
  char *pem = ossl_make("enc.pem", a1);
  char *der = ossl_make("enc.der", a2);
  char *txt = test_read_file(pem, NULL);
  ck_assert_msg(strstr(txt, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL,
                "%s", txt);
  free(txt);
  const char *files[] = {pem, der};
  for (int i = 0; i < 2; i++) {
    pkjwt_key *k = load_ok(files[i], "s3cret");
    ck_assert_int_eq(pkjwt_key_has_private(k), 1);
    ck_assert_int_eq(pkjwt_key_equal_public(k, ref), 1);
    pkjwt_key_free(k);

    pkjwt_error e = PKJWT_ERROR_INIT;
    k = (pkjwt_key *)&k;
    ck_assert_int_eq(pkjwt_key_load_file(&k, files[i], "wrong", &e),
                     PKJWT_ERR_PASSPHRASE);
    ck_assert_ptr_null(k);
    ck_assert_msg(strstr(e.message, "wrong passphrase") != NULL, "%s",
                  e.message);
    ck_assert_msg(strstr(e.message, "s3cret") == NULL, "%s", e.message);
    ck_assert_int_eq(pkjwt_key_load_file(&k, files[i], NULL, &e),
                     PKJWT_ERR_PASSPHRASE);
    ck_assert_msg(strstr(e.message, "no passphrase") != NULL, "%s", e.message);
    ck_assert_int_eq(pkjwt_key_load_file(&k, files[i], "", &e),
                     PKJWT_ERR_PASSPHRASE);
  }
  /* a passphrase given for a plain key is simply not used */
  pkjwt_key *k = load_ok(src, "unused");
  pkjwt_key_free(k);
  pkjwt_key_free(ref);
  free(pem);
  free(der);
  free(src);
}
END_TEST

START_TEST(load_refuses_other_types) {
  static const struct {
    const char *args;
    int code;
    const char *msg;
  } cases[] = {
      {"genpkey -algorithm ED25519 -out '%s'", PKJWT_ERR_KEY_TYPE,
       "Ed25519 keys are not supported; use EC P-256/P-384/P-521 or RSA"},
      {"genpkey -algorithm ED448 -out '%s'", PKJWT_ERR_KEY_TYPE,
       "Ed448 keys are not supported; use EC P-256/P-384/P-521 or RSA"},
      {"genpkey -algorithm X25519 -out '%s'", PKJWT_ERR_KEY_TYPE,
       "X25519 keys are not supported; use EC P-256/P-384/P-521 or RSA"},
      {"genpkey -algorithm DH -pkeyopt group:ffdhe2048 -out '%s'",
       PKJWT_ERR_KEY_TYPE,
       "DH keys are not supported; use EC P-256/P-384/P-521 or RSA"},
      {"genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -out '%s'",
       PKJWT_ERR_KEY_TYPE,
       "RSA-PSS keys are not supported; use EC P-256/P-384/P-521 or RSA"},
      {"genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 -out '%s'",
       PKJWT_ERR_KEY_TYPE,
       "EC curve secp256k1 is not supported; use P-256, P-384 or P-521"},
      {"genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-224 -out '%s'",
       PKJWT_ERR_KEY_TYPE,
       "EC curve secp224r1 is not supported; use P-256, P-384 or P-521"},
      {"genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out '%s'",
       PKJWT_ERR_WEAK_KEY, "RSA keys shorter than 2048 bits are refused"},
      {"genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2040 -out '%s'",
       PKJWT_ERR_WEAK_KEY, "RSA keys shorter than 2048 bits are refused"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *p = ossl_make("k.pem", cases[i].args);
    pkjwt_key *k = (pkjwt_key *)&k;
    pkjwt_error e = PKJWT_ERROR_INIT;
    int rc = pkjwt_key_load_file(&k, p, NULL, &e);
    ck_assert_msg(rc == cases[i].code, "%s: %d %s", cases[i].args, rc,
                  e.message);
    ck_assert_int_eq(e.code, cases[i].code);
    ck_assert_str_eq(e.message, cases[i].msg);
    ck_assert_ptr_null(k);
    unlink(p);
    free(p);
  }

  /* DSA: made from parameters, PKCS#8 and traditional */
  char *params = ossl_make("dsap.pem", "genpkey -genparam -algorithm DSA "
                                       "-pkeyopt dsa_paramgen_bits:2048 "
                                       "-out '%s'");
  char a[512];
  snprintf(a, sizeof(a), "genpkey -paramfile '%s' -out '%%s'", params);
  char *dsa = ossl_make("dsa.pem", a);
  pkjwt_key *k = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_key_load_file(&k, dsa, NULL, &e), PKJWT_ERR_KEY_TYPE);
  ck_assert_str_eq(e.message,
                   "DSA keys are not supported; use EC P-256/P-384/P-521 or "
                   "RSA");
  /* parameters alone are not a key */
  ck_assert_int_eq(pkjwt_key_load_file(&k, params, NULL, &e), PKJWT_ERR_PARSE);
  free(params);
  free(dsa);
}
END_TEST

/* A public RSA key with a modulus of exactly bits bits (not a real key: a
 * random odd number is enough to test the size rules without spending
 * minutes generating an 8200-bit key). */
static EVP_PKEY *rsa_public_of_bits(int bits) {
  BIGNUM *n = BN_new(), *ebn = BN_new();
  ck_assert_int_eq(BN_rand(n, bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD), 1);
  ck_assert_int_eq(BN_set_word(ebn, 65537), 1);
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_BN(bld, "n", n);
  OSSL_PARAM_BLD_push_BN(bld, "e", ebn);
  OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
  EVP_PKEY *pkey = NULL;
  ck_assert_int_eq(EVP_PKEY_fromdata_init(ctx), 1);
  ck_assert_int_eq(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params),
                   1);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(n);
  BN_free(ebn);
  return pkey;
}

START_TEST(load_rule_rsa_sizes) {
  static const struct {
    int bits, code;
  } cases[] = {{2047, PKJWT_ERR_WEAK_KEY}, {2048, PKJWT_OK},
               {5000, PKJWT_OK},           {8192, PKJWT_OK},
               {8193, PKJWT_ERR_KEY_TYPE}, {16384, PKJWT_ERR_KEY_TYPE}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    pkjwt_key *k = (pkjwt_key *)&k;
    pkjwt_error e = PKJWT_ERROR_INIT;
    int rc = pkjwt__key_wrap(&k, rsa_public_of_bits(cases[i].bits), &e);
    ck_assert_msg(rc == cases[i].code, "%d bits: %d %s", cases[i].bits, rc,
                  e.message);
    if (rc == PKJWT_OK) {
      ck_assert_uint_eq(pkjwt_key_get_bits(k), (unsigned)cases[i].bits);
      ck_assert_int_eq(pkjwt_key_has_private(k), 0);
      pkjwt_key_free(k);
    } else {
      ck_assert_ptr_null(k);
    }
  }
  pkjwt_error e = PKJWT_ERROR_INIT;
  pkjwt_key *k = NULL;
  ck_assert_int_eq(pkjwt__key_wrap(&k, NULL, &e), PKJWT_ERR_INVALID_ARG);
  ck_assert_int_eq(pkjwt__key_wrap(NULL, rsa_public_of_bits(2048), &e),
                   PKJWT_ERR_INVALID_ARG);
}
END_TEST

START_TEST(load_refuses_garbage) {
  pkjwt_key *k = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_key_load_mem(&k, "", 0, NULL, &e), PKJWT_ERR_PARSE);
  ck_assert_int_eq(pkjwt_key_load_mem(&k, NULL, 10, NULL, &e), PKJWT_ERR_PARSE);
  const char junk[] = "hello, this is not a key\n";
  ck_assert_int_eq(pkjwt_key_load_mem(&k, junk, sizeof(junk) - 1, NULL, &e),
                   PKJWT_ERR_PARSE);
  ck_assert_msg(strstr(e.message, "no key found") != NULL, "%s", e.message);
  const char badpem[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n"
                        "-----END PRIVATE KEY-----\n";
  ck_assert_int_eq(pkjwt_key_load_mem(&k, badpem, sizeof(badpem) - 1, NULL, &e),
                   PKJWT_ERR_PARSE);
  const unsigned char der[] = {0x30, 0x03, 0x02, 0x01, 0x00};
  ck_assert_int_eq(pkjwt_key_load_mem(&k, der, sizeof(der), NULL, &e),
                   PKJWT_ERR_PARSE);
  ck_assert_ptr_null(k);
  ck_assert_int_eq(pkjwt_key_load_mem(NULL, der, sizeof(der), NULL, &e),
                   PKJWT_ERR_INVALID_ARG);

  /* a certificate is named as such */
  char *key = ossl_make("k.pem", "genpkey -algorithm EC -pkeyopt "
                                 "ec_paramgen_curve:P-256 -out '%s'");
  char a[512];
  snprintf(a, sizeof(a), "req -x509 -key '%s' -subj /CN=x -days 1 -out '%%s'",
           key);
  char *crt = ossl_make("c.pem", a);
  ck_assert_int_eq(pkjwt_key_load_file(&k, crt, NULL, &e), PKJWT_ERR_PARSE);
  ck_assert_str_eq(e.message, "this is a certificate, not a key");
  free(crt);
  free(key);

  /* an OpenSSH key gets a hint */
  const char ossh[] = "-----BEGIN OPENSSH PRIVATE KEY-----\n"
                      "b3BlbnNzaC1rZXktdjEAAAAA\n"
                      "-----END OPENSSH PRIVATE KEY-----\n";
  ck_assert_int_eq(pkjwt_key_load_mem(&k, ossh, sizeof(ossh) - 1, NULL, &e),
                   PKJWT_ERR_PARSE);
  ck_assert_msg(strstr(e.message, "ssh-keygen") != NULL, "%s", e.message);
}
END_TEST

START_TEST(load_file_special_paths) {
  char *key = ossl_make("k.pem", "genpkey -algorithm EC -pkeyopt "
                                 "ec_paramgen_curve:P-256 -out '%s'");
  chmod(key, 0600);
  pkjwt_key *k = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;

  /* a symlink to a key is followed, like every other tool does */
  char *link = in_dir("link.pem");
  ck_assert_int_eq(symlink(key, link), 0);
  k = load_ok(link, NULL);
  pkjwt_key_free(k);

  /* a FIFO is refused at once (no hang waiting for a writer) */
  char *fifo = in_dir("fifo");
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  ck_assert_int_eq(pkjwt_key_load_file(&k, fifo, NULL, &e), PKJWT_ERR_IO);
  ck_assert_str_eq(e.message, "not a regular file");
  ck_assert_int_eq(pkjwt_key_load_file(&k, dir, NULL, &e), PKJWT_ERR_IO);
  ck_assert_str_eq(e.message, "is a folder, not a file");

  char *missing = in_dir("missing.pem");
  ck_assert_int_eq(pkjwt_key_load_file(&k, missing, NULL, &e), PKJWT_ERR_IO);
  ck_assert_str_eq(e.message, "cannot open: No such file or directory");
  /* the message does not repeat the path: the tools print it */
  ck_assert_msg(strstr(e.message, dir) == NULL, "%s", e.message);

  char *dangling = in_dir("dangling.pem");
  ck_assert_int_eq(symlink(missing, dangling), 0);
  ck_assert_int_eq(pkjwt_key_load_file(&k, dangling, NULL, &e), PKJWT_ERR_IO);

  ck_assert_int_eq(pkjwt_key_load_file(&k, "", NULL, &e),
                   PKJWT_ERR_INVALID_ARG);
  ck_assert_int_eq(pkjwt_key_load_file(&k, NULL, NULL, &e),
                   PKJWT_ERR_INVALID_ARG);

  /* more than 1 MiB is not a key file */
  char *big = in_dir("big.pem");
  size_t n = 1024 * 1024 + 1;
  char *junk = malloc(n);
  memset(junk, 'A', n);
  ck_assert_int_eq(test_write_file(big, junk, n), 0);
  free(junk);
  ck_assert_int_eq(pkjwt_key_load_file(&k, big, NULL, &e), PKJWT_ERR_IO);
  ck_assert_msg(strstr(e.message, "larger than") != NULL, "%s", e.message);
  ck_assert_ptr_null(k);

  free(big);
  free(dangling);
  free(missing);
  free(fifo);
  free(link);
  free(key);
}
END_TEST

START_TEST(load_warns_when_others_can_read) {
  char *key = ossl_make("k.pem", "genpkey -algorithm EC -pkeyopt "
                                 "ec_paramgen_curve:P-256 -out '%s'");
  char a[512];
  snprintf(a, sizeof(a), "pkey -in '%s' -pubout -out '%%s'", key);
  char *pub = ossl_make("pub.pem", a);
  pkjwt_key *k = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;

  static const struct {
    mode_t mode;
    const char *warning;
  } cases[] = {
      {0600, ""},
      {0400, ""},
      {0644, "private key file is readable by group or others (mode 0644); "
             "run chmod 600"},
      {0640, "private key file is readable by group or others (mode 0640); "
             "run chmod 600"},
      {0604, "private key file is readable by group or others (mode 0604); "
             "run chmod 600"},
      {0620, "private key file is readable by group or others (mode 0620); "
             "run chmod 600"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    ck_assert_int_eq(chmod(key, cases[i].mode), 0);
    ck_assert_int_eq(pkjwt_key_load_file(&k, key, NULL, &e), PKJWT_OK);
    ck_assert_int_eq(e.code, PKJWT_OK);
    ck_assert_str_eq(e.warning, cases[i].warning);
    /* the same warning is kept on the handle, err or no err */
    size_t want = cases[i].warning[0] ? 1 : 0;
    ck_assert_uint_eq(pkjwt_key_warning_count(k), want);
    if (want)
      ck_assert_str_eq(pkjwt_key_warning(k, 0), cases[i].warning);
    ck_assert_ptr_null(pkjwt_key_warning(k, want));
    pkjwt_key_free(k);
    ck_assert_int_eq(pkjwt_key_load_file(&k, key, NULL, NULL), PKJWT_OK);
    ck_assert_uint_eq(pkjwt_key_warning_count(k), want);
    if (want)
      ck_assert_str_eq(pkjwt_key_warning(k, 0), cases[i].warning);
    pkjwt_key_free(k);
  }
  /* a public key may be world-readable */
  ck_assert_int_eq(chmod(pub, 0644), 0);
  ck_assert_int_eq(pkjwt_key_load_file(&k, pub, NULL, &e), PKJWT_OK);
  ck_assert_str_eq(e.warning, "");
  ck_assert_uint_eq(pkjwt_key_warning_count(k), 0);
  pkjwt_key_free(k);
  ck_assert_uint_eq(pkjwt_key_warning_count(NULL), 0);
  ck_assert_ptr_null(pkjwt_key_warning(NULL, 0));
  free(pub);
  free(key);
}
END_TEST

/* ---- writing ------------------------------------------------------------ */

START_TEST(write_mode_is_0600_whatever_the_umask) {
  pkjwt_key *k = gen_ec();
  pkjwt_error e = PKJWT_ERROR_INIT;
  const mode_t masks[] = {022, 0, 077, 0177};
  for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
    mode_t old = umask(masks[i]);
    char *p = in_dir("k.pem");
    int rc = pkjwt_key_write_private(k, p, NULL, &e);
    umask(old);
    ck_assert_msg(rc == PKJWT_OK, "%s", e.message);
    ck_assert_msg(file_mode(p) == 0600, "umask %03o gave mode %04o",
                  (unsigned)masks[i], (unsigned)file_mode(p));
    /* only the key is there: no temp file left */
    char *names = test_list_dir(dir);
    ck_assert_str_eq(names, "k.pem");
    free(names);
    unlink(p);
    free(p);
  }
  pkjwt_key_free(k);
}
END_TEST

START_TEST(write_never_overwrites_without_force) {
  pkjwt_key *k = gen_ec();
  pkjwt_error e = PKJWT_ERROR_INIT;
  char *p = in_dir("k.pem");
  const char old[] = "old content\n";
  ck_assert_int_eq(test_write_file(p, old, sizeof(old) - 1), 0);
  ck_assert_int_eq(chmod(p, 0644), 0);

  ck_assert_int_eq(pkjwt_key_write_private(k, p, NULL, &e), PKJWT_ERR_EXISTS);
  ck_assert_str_eq(e.message, "file exists (pass force to replace it)");
  char *now = test_read_file(p, NULL);
  ck_assert_str_eq(now, old);
  free(now);
  char *names = test_list_dir(dir);
  ck_assert_str_eq(names, "k.pem");
  free(names);

  /* a symlink at the path counts as existing, even a dangling one */
  char *ln = in_dir("ln.pem");
  char *target = in_dir("target.pem");
  ck_assert_int_eq(symlink(target, ln), 0);
  ck_assert_int_eq(pkjwt_key_write_private(k, ln, NULL, &e), PKJWT_ERR_EXISTS);
  ck_assert_int_eq(access(target, F_OK), -1);

  /* force replaces it, and the mode becomes 0600 */
  pkjwt_write_options o = PKJWT_WRITE_OPTIONS_INIT;
  o.force = 1;
  ck_assert_int_eq(pkjwt_key_write_private(k, p, &o, &e), PKJWT_OK);
  ck_assert_uint_eq(file_mode(p), 0600);
  pkjwt_key *back = load_ok(p, NULL);
  ck_assert_int_eq(pkjwt_key_equal_public(k, back), 1);
  pkjwt_key_free(back);

  /* force on a symlink replaces the link itself, never writes through it */
  ck_assert_int_eq(pkjwt_key_write_private(k, ln, &o, &e), PKJWT_OK);
  struct stat st;
  ck_assert_int_eq(lstat(ln, &st), 0);
  ck_assert(S_ISREG(st.st_mode));
  ck_assert_int_eq(access(target, F_OK), -1);

  /* a folder at the path is never replaced */
  char *sub = in_dir("sub");
  ck_assert_int_eq(mkdir(sub, 0700), 0);
  ck_assert_int_ne(pkjwt_key_write_private(k, sub, &o, &e), PKJWT_OK);
  ck_assert_int_eq(stat(sub, &st), 0);
  ck_assert(S_ISDIR(st.st_mode));

  names = test_list_dir(dir);
  ck_assert_str_eq(names, "k.pem ln.pem sub");
  free(names);
  free(sub);
  free(ln);
  free(target);
  free(p);
  pkjwt_key_free(k);
}
END_TEST

START_TEST(failed_write_leaves_nothing) {
  pkjwt_key *k = gen_ec();
  pkjwt_error e = PKJWT_ERROR_INIT;

  /* missing folder */
  char *p = in_dir("nope/k.pem");
  ck_assert_int_eq(pkjwt_key_write_private(k, p, NULL, &e), PKJWT_ERR_IO);
  ck_assert_msg(strstr(e.message, "No such file or directory") != NULL, "%s",
                e.message);
  free(p);

  /* a file where the folder should be */
  char *f = in_dir("file");
  ck_assert_int_eq(test_write_file(f, "x", 1), 0);
  p = in_dir("file/k.pem");
  ck_assert_int_eq(pkjwt_key_write_private(k, p, NULL, &e), PKJWT_ERR_IO);
  free(p);
  free(f);

  /* a path ending in '/' and an empty path */
  p = in_dir("k.pem/");
  ck_assert_int_eq(pkjwt_key_write_private(k, p, NULL, &e),
                   PKJWT_ERR_INVALID_ARG);
  free(p);
  ck_assert_int_eq(pkjwt_key_write_private(k, "", NULL, &e),
                   PKJWT_ERR_INVALID_ARG);
  ck_assert_int_eq(pkjwt_key_write_private(k, NULL, NULL, &e),
                   PKJWT_ERR_INVALID_ARG);

  /* a read-only folder; root ignores folder modes, so as root the write is
   * made by a child that has dropped to nobody */
  {
    char *ro = in_dir("ro");
    ck_assert_int_eq(mkdir(ro, 0555), 0);
    ck_assert_int_eq(chmod(ro, 0555), 0);
    ck_assert_int_eq(chmod(dir, 0755), 0);
    p = in_dir("ro/k.pem");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
      if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
        _exit(100);
      pkjwt_error ce = PKJWT_ERROR_INIT;
      int crc = pkjwt_key_write_private(k, p, NULL, &ce);
      _exit(crc == PKJWT_ERR_IO && strstr(ce.message, "Permission denied")
                ? 0
                : 101);
    }
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st));
    ck_assert_msg(WEXITSTATUS(st) == 0, "child status %d", WEXITSTATUS(st));
    char *names = test_list_dir(ro);
    ck_assert_str_eq(names, "");
    free(names);
    chmod(ro, 0700);
    chmod(dir, 0700);
    free(p);
    free(ro);
  }

  /* the write itself fails half-way: a file size limit makes write(2) fail
   * with EFBIG after the temp file exists; it must be removed. */
  pkjwt_key *rsa = tu_key("RSA2048");
  struct rlimit old, lim;
  ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
  lim = old;
  lim.rlim_cur = 100;
  signal(SIGXFSZ, SIG_IGN);
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
  p = in_dir("big.pem");
  int rc = pkjwt_key_write_private(rsa, p, NULL, &e);
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
  ck_assert_int_eq(rc, PKJWT_ERR_IO);
  ck_assert_msg(strstr(e.message, "cannot write") != NULL, "%s", e.message);
  free(p);

  char *names = test_list_dir(dir);
  ck_assert_str_eq(names, "file ro");
  free(names);
  pkjwt_key_free(rsa);
  pkjwt_key_free(k);
}
END_TEST

START_TEST(write_public_only_key_refused) {
  pkjwt_key *k = gen_ec();
  char *pem = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_key_public_pem(&pem, k, &e), PKJWT_OK);
  pkjwt_key *pub = NULL;
  ck_assert_int_eq(pkjwt_key_load_mem(&pub, pem, strlen(pem), NULL, &e),
                   PKJWT_OK);
  ck_assert_int_eq(pkjwt_key_has_private(pub), 0);
  char *p = in_dir("k.pem");
  ck_assert_int_eq(pkjwt_key_write_private(pub, p, NULL, &e),
                   PKJWT_ERR_NO_PRIVATE_KEY);
  ck_assert_int_eq(access(p, F_OK), -1);
  ck_assert_int_eq(pkjwt_key_write_private(NULL, p, NULL, &e),
                   PKJWT_ERR_INVALID_ARG);
  free(p);
  pkjwt_str_free(pem);
  pkjwt_key_free(pub);
  pkjwt_key_free(k);
}
END_TEST

START_TEST(public_pem_matches_openssl) {
  pkjwt_key *keys[2] = {gen_ec(), tu_key("RSA2048")};
  pkjwt_error e = PKJWT_ERROR_INIT;
  for (int i = 0; i < 2; i++) {
    char *p = in_dir("k.pem");
    ck_assert_int_eq(pkjwt_key_write_private(keys[i], p, NULL, &e), PKJWT_OK);
    char *want = NULL;
    ck_assert_int_eq(
        test_sh(&want, "'%s' pkey -in '%s' -pubout", test_openssl(), p), 0);
    char *pem = NULL;
    ck_assert_int_eq(pkjwt_key_public_pem(&pem, keys[i], &e), PKJWT_OK);
    ck_assert_str_eq(pem, want);
    ck_assert(strstr(pem, "PRIVATE") == NULL);
    pkjwt_str_free(pem);
    free(want);
    unlink(p);
    free(p);
  }
  ck_assert_int_eq(pkjwt_key_equal_public(keys[0], keys[1]), 0);
  pkjwt_key *other = gen_ec();
  ck_assert_int_eq(pkjwt_key_equal_public(keys[0], other), 0);
  ck_assert_int_eq(pkjwt_key_equal_public(keys[0], keys[0]), 1);
  ck_assert_str_ne(pkjwt_key_get_thumbprint(keys[0]),
                   pkjwt_key_get_thumbprint(other));
  pkjwt_key_free(other);
  pkjwt_key_free(keys[0]);
  pkjwt_key_free(keys[1]);
}
END_TEST

/* The iteration count asn1parse shows for the PBKDF2 parameters. */
static unsigned long asn1_pbkdf2_iterations(const char *dump) {
  const char *kdf = strstr(dump, ":PBKDF2");
  ck_assert_msg(kdf != NULL, "%s", dump);
  const char *in = strstr(kdf, "prim: INTEGER");
  ck_assert_ptr_nonnull(in);
  const char *colon = strchr(in, ':');
  ck_assert_ptr_nonnull(colon);
  colon = strchr(colon + 1, ':');
  ck_assert_ptr_nonnull(colon);
  return strtoul(colon + 1, NULL, 16);
}

/* Write k encrypted with opts; openssl decrypts it to the same key. */
static char *write_encrypted(pkjwt_key *k, const pkjwt_write_options *o) {
  pkjwt_error e = PKJWT_ERROR_INIT;
  char *p = in_dir("enc.pem");
  unlink(p);
  int rc = pkjwt_key_write_private(k, p, o, &e);
  ck_assert_msg(rc == PKJWT_OK, "%s", e.message);
  ck_assert_uint_eq(file_mode(p), 0600);
  char *txt = test_read_file(p, NULL);
  ck_assert_msg(strncmp(txt, "-----BEGIN ENCRYPTED PRIVATE KEY-----\n", 38) ==
                    0,
                "%s", txt);
  ck_assert(strstr(txt, "Proc-Type") == NULL);
  free(txt);

  char *pf = in_dir("pass.txt");
  ck_assert_int_eq(test_write_file(pf, o->passphrase, strlen(o->passphrase)),
                   0);
  char *plain = NULL;
  ck_assert_int_eq(test_sh(&plain, "'%s' pkcs8 -in '%s' -passin 'file:%s'",
                           test_openssl(), p, pf),
                   0);
  ck_assert_msg(strncmp(plain, "-----BEGIN PRIVATE KEY-----", 27) == 0, "%s",
                plain);
  pkjwt_key *dec = NULL;
  ck_assert_int_eq(pkjwt_key_load_mem(&dec, plain, strlen(plain), NULL, &e),
                   PKJWT_OK);
  ck_assert_int_eq(pkjwt_key_equal_public(dec, k), 1);
  ck_assert_int_eq(pkjwt_key_has_private(dec), 1);
  pkjwt_key_free(dec);
  free(plain);
  /* a wrong passphrase makes openssl fail */
  ck_assert_int_ne(test_sh(NULL,
                           "'%s' pkcs8 -in '%s' -passin pass:not-it >/dev/null "
                           "2>&1",
                           test_openssl(), p),
                   0);
  /* and our loader */
  dec = load_ok(p, o->passphrase);
  ck_assert_int_eq(pkjwt_key_equal_public(dec, k), 1);
  pkjwt_key_free(dec);
  ck_assert_int_eq(pkjwt_key_load_file(&dec, p, "not-it", &e),
                   PKJWT_ERR_PASSPHRASE);
  unlink(pf);
  free(pf);
  return p;
}

START_TEST(write_encrypted_scrypt) {
  pkjwt_key *keys[2] = {gen_ec(), tu_key("RSA2048")};
  for (int i = 0; i < 2; i++) {
    pkjwt_write_options o = PKJWT_WRITE_OPTIONS_INIT;
    o.passphrase = "correct horse battery staple";
    char *p = write_encrypted(keys[i], &o);
    char *dump = NULL;
    ck_assert_int_eq(
        test_sh(&dump, "'%s' asn1parse -in '%s'", test_openssl(), p), 0);
    ck_assert_msg(strstr(dump, ":PBES2") != NULL, "%s", dump);
    ck_assert_msg(strstr(dump, ":scrypt") != NULL, "%s", dump);
    ck_assert_msg(strstr(dump, ":aes-256-cbc") != NULL, "%s", dump);
    ck_assert_msg(strstr(dump, "PBKDF2") == NULL, "%s", dump);
    /* N = 16384 (0x4000), r = 8, p = 1 */
    ck_assert_msg(strstr(dump, "INTEGER           :4000\n") != NULL, "%s",
                  dump);
    free(dump);
    free(p);
  }
  pkjwt_key_free(keys[0]);
  pkjwt_key_free(keys[1]);
}
END_TEST

START_TEST(write_encrypted_pbkdf2) {
  pkjwt_key *k = gen_ec();
  pkjwt_error e = PKJWT_ERROR_INIT;
  /* the default is the minimum; one more is written as asked (599999 is
   * refused below). Each write costs its rounds, so no more are asked. */
  static const unsigned long asked[][2] = {{0, 600000}, {600001, 600001}};
  for (size_t i = 0; i < sizeof(asked) / sizeof(asked[0]); i++) {
    pkjwt_write_options o = PKJWT_WRITE_OPTIONS_INIT;
    o.passphrase = "pass phrase";
    o.kdf = PKJWT_KDF_PBKDF2;
    o.pbkdf2_iterations = asked[i][0];
    char *p = write_encrypted(k, &o);
    char *dump = NULL;
    ck_assert_int_eq(
        test_sh(&dump, "'%s' asn1parse -in '%s'", test_openssl(), p), 0);
    ck_assert_msg(strstr(dump, ":PBES2") != NULL, "%s", dump);
    ck_assert_msg(strstr(dump, ":hmacWithSHA256") != NULL, "%s", dump);
    ck_assert_msg(strstr(dump, ":aes-256-cbc") != NULL, "%s", dump);
    ck_assert_uint_eq(asn1_pbkdf2_iterations(dump), asked[i][1]);
    free(dump);
    free(p);
  }

  /* fewer than 600000 iterations are refused and nothing is written */
  pkjwt_write_options o = PKJWT_WRITE_OPTIONS_INIT;
  o.passphrase = "pass phrase";
  o.kdf = PKJWT_KDF_PBKDF2;
  o.pbkdf2_iterations = 599999;
  char *p = in_dir("weak.pem");
  ck_assert_int_eq(pkjwt_key_write_private(k, p, &o, &e),
                   PKJWT_ERR_INVALID_ARG);
  ck_assert_msg(strstr(e.message, "600000") != NULL, "%s", e.message);
  o.pbkdf2_iterations = 2048;
  ck_assert_int_eq(pkjwt_key_write_private(k, p, &o, &e),
                   PKJWT_ERR_INVALID_ARG);
  ck_assert_int_eq(access(p, F_OK), -1);
  o.kdf = (pkjwt_kdf)7;
  o.pbkdf2_iterations = 0;
  ck_assert_int_eq(pkjwt_key_write_private(k, p, &o, &e),
                   PKJWT_ERR_INVALID_ARG);
  /* an empty passphrase means unencrypted */
  o.kdf = PKJWT_KDF_PBKDF2;
  o.passphrase = "";
  ck_assert_int_eq(pkjwt_key_write_private(k, p, &o, &e), PKJWT_OK);
  char *txt = test_read_file(p, NULL);
  ck_assert_msg(strncmp(txt, "-----BEGIN PRIVATE KEY-----", 27) == 0, "%s",
                txt);
  free(txt);
  char *names = test_list_dir(dir);
  ck_assert_str_eq(names, "enc.pem weak.pem");
  free(names);
  free(p);
  pkjwt_key_free(k);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("key");
  TCase *gen = tcase_create("generate");
  tcase_add_checked_fixture(gen, setup, teardown);
  tcase_set_timeout(gen, 300);
  tcase_add_test(gen, generate_ec_every_curve);
  tcase_add_test(gen, generate_rsa_every_size);
  tcase_add_test(gen, generate_refusals);
  tcase_add_test(gen, getters_accept_null);
  suite_add_tcase(s, gen);

  TCase *load = tcase_create("load");
  tcase_add_checked_fixture(load, setup, teardown);
  tcase_set_timeout(load, 300);
  tcase_add_test(load, load_ec_formats);
  tcase_add_test(load, load_ec_encodings_normalised);
  tcase_add_test(load, load_pem_with_bom_crlf_and_text);
  tcase_add_test(load, load_rsa_formats);
  tcase_add_test(load, load_encrypted_pkcs8);
  tcase_add_test(load, load_refuses_other_types);
  tcase_add_test(load, load_rule_rsa_sizes);
  tcase_add_test(load, load_refuses_garbage);
  tcase_add_test(load, load_file_special_paths);
  tcase_add_test(load, load_warns_when_others_can_read);
  suite_add_tcase(s, load);

  TCase *wr = tcase_create("write");
  tcase_add_checked_fixture(wr, setup, teardown);
  tcase_set_timeout(wr, 300);
  tcase_add_test(wr, write_mode_is_0600_whatever_the_umask);
  tcase_add_test(wr, write_never_overwrites_without_force);
  tcase_add_test(wr, failed_write_leaves_nothing);
  tcase_add_test(wr, write_public_only_key_refused);
  tcase_add_test(wr, public_pem_matches_openssl);
  tcase_add_test(wr, write_encrypted_scrypt);
  tcase_add_test(wr, write_encrypted_pbkdf2);
  suite_add_tcase(s, wr);
  return s;
}

PKJWT_TEST_MAIN(make_suite)
