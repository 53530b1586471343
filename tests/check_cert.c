/*
 * tests/check_cert.c: self-signed certificates, loading, exports and facts
 * (lib/cert.c). The judges: the openssl CLI reads the fields, and
 * python3-cryptography checks the self-signature.
 */
#include "testutil.h"

#include "internal.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <time.h>

/* ---- helpers for this suite ------------------------------------------- */

static char *dir;

static void setup(void) {
  dir = test_tmpdir();
}

static void teardown(void) {
  test_rmtree(dir);
  free(dir);
  dir = NULL;
}

static char *in_dir(const char *name) {
  return test_path(dir, name);
}

/* A fixed clock: 2026-01-02T03:04:05Z. */
#define NOW ((int64_t)1767323045)

static pkjwt_cert *make(const pkjwt_key *k, const char *subject, int days,
                        int64_t now) {
  pkjwt_cert_options o = PKJWT_CERT_OPTIONS_INIT;
  o.subject = subject;
  o.days = days;
  o.now = now;
  pkjwt_cert *c = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  int rc = pkjwt_cert_self_signed(&c, k, &o, &e);
  ck_assert_msg(rc == PKJWT_OK, "%s", e.message);
  return c;
}

/* Write the certificate's PEM to dir/name (through pkjwt_cert_pem, not the
 * file writer, so the writer is tested on its own). */
static char *pem_file(const pkjwt_cert *c, const char *name) {
  char *pem = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_cert_pem(&pem, c, &e), PKJWT_OK);
  char *p = in_dir(name);
  ck_assert_int_eq(test_write_file(p, pem, strlen(pem)), 0);
  pkjwt_str_free(pem);
  return p;
}

static void iso_time(char *buf, size_t n, int64_t t) {
  time_t tt = (time_t)t;
  struct tm tm;
  ck_assert_ptr_nonnull(gmtime_r(&tt, &tm));
  ck_assert_uint_gt(strftime(buf, n, "%Y-%m-%d %H:%M:%SZ", &tm), 0);
}

/* ---- making ------------------------------------------------------------ */

START_TEST(fields_per_key_type) {
  static const struct {
    const char *key, *sigalg, *pyhash;
  } cases[] = {{"P-256", "ecdsa-with-SHA256", "sha256"},
               {"P-384", "ecdsa-with-SHA384", "sha384"},
               {"P-521", "ecdsa-with-SHA512", "sha512"},
               {"RSA2048", "sha256WithRSAEncryption", "sha256"}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    pkjwt_key *k = tu_key(cases[i].key);
    pkjwt_cert *c = make(k, "CN=my-client,O=Example", 30, NOW);
    char *p = pem_file(c, "c.pem");

    char *txt = NULL;
    ck_assert_int_eq(
        test_sh(&txt, "'%s' x509 -in '%s' -noout -text", test_openssl(), p), 0);
    ck_assert_msg(strstr(txt, "Version: 3 (0x2)") != NULL, "%s", txt);
    ck_assert_msg(strstr(txt, "X509v3 Basic Constraints: critical\n"
                              "                CA:FALSE\n") != NULL,
                  "%s", txt);
    ck_assert_msg(strstr(txt, "X509v3 Key Usage: critical\n"
                              "                Digital Signature\n") != NULL,
                  "%s", txt);
    ck_assert_msg(strstr(txt, "X509v3 Subject Key Identifier") != NULL, "%s",
                  txt);
    char want[128];
    snprintf(want, sizeof(want), "Signature Algorithm: %s\n", cases[i].sigalg);
    ck_assert_msg(strstr(txt, want) != NULL, "%s", txt);
    /* nothing else: no keyCertSign, no extended usages, no CA */
    ck_assert(strstr(txt, "Certificate Sign") == NULL);
    ck_assert(strstr(txt, "CA:TRUE") == NULL);
    free(txt);

    char *f = NULL;
    ck_assert_int_eq(test_sh(&f,
                             "'%s' x509 -in '%s' -noout -subject -issuer "
                             "-startdate -enddate -dateopt iso_8601 -serial",
                             test_openssl(), p),
                     0);
    char nb[64], na[64], exp[512];
    iso_time(nb, sizeof(nb), NOW - 300);
    iso_time(na, sizeof(na), NOW + 30 * 86400);
    snprintf(exp, sizeof(exp),
             "subject=CN = my-client, O = Example\n"
             "issuer=CN = my-client, O = Example\n"
             "notBefore=%s\nnotAfter=%s\nserial=%s\n",
             nb, na, pkjwt_cert_get_serial(c));
    ck_assert_str_eq(f, exp);
    free(f);

    /* the getters agree */
    ck_assert_str_eq(pkjwt_cert_get_subject(c), "CN=my-client,O=Example");
    ck_assert_int_eq(pkjwt_cert_get_not_before(c), NOW - 300);
    ck_assert_int_eq(pkjwt_cert_get_not_after(c), NOW + 30 * 86400);
    ck_assert_int_eq(pkjwt_cert_matches_key(c, k), 1);

    /* an independent check of the self-signature */
    char *out = NULL;
    int rc =
        test_sh(&out,
                "'%s' -c 'import sys\n"
                "from cryptography import x509\n"
                "from cryptography.hazmat.primitives.asymmetric import ec, "
                "padding, rsa\n"
                "c = x509.load_pem_x509_certificate(open(sys.argv[1], "
                "\"rb\").read())\n"
                "k = c.public_key()\n"
                "h = c.signature_hash_algorithm\n"
                "if isinstance(k, rsa.RSAPublicKey):\n"
                "    k.verify(c.signature, c.tbs_certificate_bytes, "
                "padding.PKCS1v15(), h)\n"
                "else:\n"
                "    k.verify(c.signature, c.tbs_certificate_bytes, "
                "ec.ECDSA(h))\n"
                "print(h.name, c.version.name, c.serial_number.bit_length(), "
                "c.serial_number > 0)\n' '%s'",
                test_python3(), p);
    ck_assert_msg(rc == 0, "python3 could not verify the self-signature");
    snprintf(want, sizeof(want), "%s v3 159 True\n", cases[i].pyhash);
    ck_assert_str_eq(out, want);
    free(out);

    unlink(p);
    free(p);
    pkjwt_cert_free(c);
    pkjwt_key_free(k);
  }
}
END_TEST

START_TEST(serial_is_random_positive_and_long) {
  pkjwt_key *k = tu_key("P-256");
  char *seen[8];
  for (int i = 0; i < 8; i++) {
    pkjwt_cert *c = make(k, NULL, 0, NOW);
    const char *s = pkjwt_cert_get_serial(c);
    /* 20 bytes, top bit clear and next bit set: 159 bits, positive */
    ck_assert_uint_eq(strlen(s), 40);
    ck_assert_msg(strchr("4567", s[0]) != NULL, "%s", s);
    for (const char *q = s; *q; q++)
      ck_assert_msg(strchr("0123456789ABCDEF", *q) != NULL, "%s", s);
    seen[i] = strdup(s);
    for (int j = 0; j < i; j++)
      ck_assert_str_ne(seen[j], s);
    if (i == 0) {
      /* openssl agrees it is a positive INTEGER of 20 bytes */
      char *p = pem_file(c, "c.pem");
      char *dump = NULL;
      ck_assert_int_eq(
          test_sh(&dump, "'%s' asn1parse -in '%s'", test_openssl(), p), 0);
      char want[128];
      snprintf(want, sizeof(want), "l=  20 prim: INTEGER           :%s\n", s);
      ck_assert_msg(strstr(dump, want) != NULL, "%s", dump);
      free(dump);
      free(p);
    }
    pkjwt_cert_free(c);
  }
  for (int i = 0; i < 8; i++)
    free(seen[i]);
  pkjwt_key_free(k);
}
END_TEST

START_TEST(defaults_and_real_clock) {
  pkjwt_key *k = tu_key("P-256");
  int64_t t0 = (int64_t)time(NULL);
  pkjwt_cert *c = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_cert_self_signed(&c, k, NULL, &e), PKJWT_OK);
  int64_t t1 = (int64_t)time(NULL);
  ck_assert_str_eq(pkjwt_cert_get_subject(c), "CN=pkjwt-client");
  int64_t nb = pkjwt_cert_get_not_before(c);
  ck_assert(nb >= t0 - 300 && nb <= t1 - 300);
  ck_assert_int_eq(pkjwt_cert_get_not_after(c) - nb,
                   365 * 86400 + PKJWT_CERT_BACKDATE_SECONDS);
  ck_assert_int_eq(pkjwt_cert_days_left(c, nb + 300), 365);
  pkjwt_cert_free(c);
  pkjwt_key_free(k);
}
END_TEST

START_TEST(validity_days_rules) {
  pkjwt_key *k = tu_key("P-256");
  static const int good[] = {1, 2, 365, 36500};
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    pkjwt_cert *c = make(k, NULL, good[i], NOW);
    ck_assert_int_eq(pkjwt_cert_get_not_after(c), NOW + good[i] * 86400LL);
    ck_assert_int_eq(pkjwt_cert_days_left(c, NOW), good[i]);
    pkjwt_cert_free(c);
  }
  static const int bad[] = {-1, -365, 36501, 100000};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    pkjwt_cert_options o = PKJWT_CERT_OPTIONS_INIT;
    o.days = bad[i];
    pkjwt_cert *c = (pkjwt_cert *)&c;
    pkjwt_error e = PKJWT_ERROR_INIT;
    ck_assert_int_eq(pkjwt_cert_self_signed(&c, k, &o, &e),
                     PKJWT_ERR_INVALID_ARG);
    ck_assert_ptr_null(c);
    char want[32];
    snprintf(want, sizeof(want), "%d days", bad[i]);
    ck_assert_msg(strstr(e.message, want) != NULL, "%s", e.message);
  }
  pkjwt_key_free(k);
}
END_TEST

START_TEST(days_left_is_floored) {
  pkjwt_key *k = tu_key("P-256");
  pkjwt_cert *c = make(k, NULL, 30, NOW);
  int64_t na = pkjwt_cert_get_not_after(c);
  ck_assert_int_eq(pkjwt_cert_days_left(c, NOW), 30);
  ck_assert_int_eq(pkjwt_cert_days_left(c, NOW + 1), 29);
  ck_assert_int_eq(pkjwt_cert_days_left(c, na - 86400), 1);
  ck_assert_int_eq(pkjwt_cert_days_left(c, na - 86399), 0);
  ck_assert_int_eq(pkjwt_cert_days_left(c, na - 1), 0);
  ck_assert_int_eq(pkjwt_cert_days_left(c, na), 0);
  ck_assert_int_eq(pkjwt_cert_days_left(c, na + 1), -1);
  ck_assert_int_eq(pkjwt_cert_days_left(c, na + 86400), -1);
  ck_assert_int_eq(pkjwt_cert_days_left(c, na + 86401), -2);
  pkjwt_cert_free(c);
  pkjwt_key_free(k);
}
END_TEST

START_TEST(subject_dn_parsing) {
  pkjwt_key *k = tu_key("P-256");
  static const struct {
    const char *in, *getter, *openssl;
  } good[] = {
      {"CN=my-client,O=Example", "CN=my-client,O=Example",
       "subject=CN = my-client, O = Example\n"},
      {" CN = spaced , O = Org ", "CN=spaced,O=Org",
       "subject=CN = spaced, O = Org\n"},
      {"CN=a\\,b,O=x", "CN=a\\,b,O=x", "subject=CN = \"a,b\", O = x\n"},
      {"cn=lower,ou=Unit,c=NO,l=Oslo,st=Oslo",
       "CN=lower,OU=Unit,C=NO,L=Oslo,"
       "ST=Oslo",
       "subject=CN = lower, OU = Unit, C = NO, L = Oslo, ST = Oslo\n"},
      {"CN=Bj\xc3\xb8rn", "CN=Bj\xc3\xb8rn", NULL},
      {"CN=x=y", "CN=x=y", "subject=CN = x=y\n"},
  };
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    pkjwt_cert *c = make(k, good[i].in, 1, NOW);
    ck_assert_str_eq(pkjwt_cert_get_subject(c), good[i].getter);
    if (good[i].openssl) {
      char *p = pem_file(c, "c.pem");
      char *out = NULL;
      ck_assert_int_eq(test_sh(&out, "'%s' x509 -in '%s' -noout -subject",
                               test_openssl(), p),
                       0);
      ck_assert_str_eq(out, good[i].openssl);
      free(out);
      unlink(p);
      free(p);
    }
    pkjwt_cert_free(c);
  }

  static const struct {
    const char *in, *part;
  } bad[] = {
      {"", "empty subject"},
      {"CN=", "empty value for CN"},
      {"CN=  ", "empty value for CN"},
      {"XX=a", "unknown attribute \"XX\""},
      {"CN=a,Foo=b", "unknown attribute \"Foo\""},
      {"=a", "unknown attribute \"\""},
      {"CN=a,", "empty part"},
      {",CN=a", "empty part"},
      {"CN=a,,O=b", "empty part"},
      {"justtext", "\"justtext\" is not NAME=VALUE"},
      {"CN=a,O", "\"O\" is not NAME=VALUE"},
      {"C=Norway", "C=Norway"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    pkjwt_cert_options o = PKJWT_CERT_OPTIONS_INIT;
    o.subject = bad[i].in;
    pkjwt_cert *c = (pkjwt_cert *)&c;
    pkjwt_error e = PKJWT_ERROR_INIT;
    int rc = pkjwt_cert_self_signed(&c, k, &o, &e);
    ck_assert_msg(rc == PKJWT_ERR_INVALID_ARG, "\"%s\": %d", bad[i].in, rc);
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(e.message, bad[i].part) != NULL, "\"%s\": %s",
                  bad[i].in, e.message);
  }
  pkjwt_key_free(k);
}
END_TEST

START_TEST(refusals) {
  pkjwt_key *k = tu_key("P-256");
  char *pem = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_key_public_pem(&pem, k, &e), PKJWT_OK);
  pkjwt_key *pub = NULL;
  ck_assert_int_eq(pkjwt_key_load_mem(&pub, pem, strlen(pem), NULL, &e),
                   PKJWT_OK);
  pkjwt_cert *c = NULL;
  ck_assert_int_eq(pkjwt_cert_self_signed(&c, pub, NULL, &e),
                   PKJWT_ERR_NO_PRIVATE_KEY);
  ck_assert_ptr_null(c);
  ck_assert_int_eq(pkjwt_cert_self_signed(&c, NULL, NULL, &e),
                   PKJWT_ERR_INVALID_ARG);
  ck_assert_int_eq(pkjwt_cert_self_signed(NULL, k, NULL, &e),
                   PKJWT_ERR_INVALID_ARG);
  pkjwt_cert_options o = PKJWT_CERT_OPTIONS_INIT;
  o.version = 0;
  ck_assert_int_eq(pkjwt_cert_self_signed(&c, k, &o, &e),
                   PKJWT_ERR_INVALID_ARG);
  /* getters are NULL-safe */
  ck_assert_ptr_null(pkjwt_cert_get_subject(NULL));
  ck_assert_ptr_null(pkjwt_cert_get_serial(NULL));
  ck_assert_ptr_null(pkjwt_cert_get_x5t_s256(NULL));
  ck_assert_int_eq(pkjwt_cert_matches_key(NULL, k), 0);
  pkjwt_cert_free(NULL);
  pkjwt_str_free(pem);
  pkjwt_key_free(pub);
  pkjwt_key_free(k);
}
END_TEST

/* ---- exports ------------------------------------------------------------ */

START_TEST(base64_der_read_back_by_openssl) {
  const char *types[] = {"P-256", "RSA2048"};
  for (int i = 0; i < 2; i++) {
    pkjwt_key *k = tu_key(types[i]);
    pkjwt_cert *c = make(k, "CN=b64", 10, NOW);
    char *b64 = NULL;
    pkjwt_error e = PKJWT_ERROR_INIT;
    ck_assert_int_eq(pkjwt_cert_base64_der(&b64, c, &e), PKJWT_OK);
    /* one line of standard base64 with padding, nothing else */
    ck_assert_msg(strchr(b64, '\n') == NULL, "%s", b64);
    ck_assert_uint_eq(strlen(b64) % 4, 0);
    ck_assert_uint_eq(strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                                  "qrstuvwxyz0123456789+/="),
                      strlen(b64));
    char *bf = in_dir("c.b64");
    ck_assert_int_eq(test_write_file(bf, b64, strlen(b64)), 0);
    char *pf = pem_file(c, "c.pem");
    char *a = in_dir("a.der");
    char *b = in_dir("b.der");
    ck_assert_int_eq(test_sh(NULL, "base64 -d '%s' > '%s'", bf, a), 0);
    ck_assert_int_eq(test_sh(NULL, "'%s' x509 -in '%s' -outform DER -out '%s'",
                             test_openssl(), pf, b),
                     0);
    ck_assert_int_eq(test_sh(NULL, "cmp -s '%s' '%s'", a, b), 0);
    char *subj = NULL;
    ck_assert_int_eq(test_sh(&subj,
                             "'%s' x509 -inform DER -in '%s' -noout -subject",
                             test_openssl(), a),
                     0);
    ck_assert_str_eq(subj, "subject=CN = b64\n");
    free(subj);

    /* the PEM export is what openssl writes back from the DER */
    char *pem = NULL, *want = NULL;
    ck_assert_int_eq(pkjwt_cert_pem(&pem, c, &e), PKJWT_OK);
    ck_assert_int_eq(
        test_sh(&want, "'%s' x509 -inform DER -in '%s'", test_openssl(), a), 0);
    ck_assert_str_eq(pem, want);
    free(want);
    pkjwt_str_free(pem);

    /* x5t#S256 recomputed by openssl */
    char *x5t = NULL;
    ck_assert_int_eq(test_sh(&x5t,
                             "'%s' dgst -sha256 -binary '%s' | base64 -w0 | "
                             "tr '+/' '-_' | tr -d '='",
                             test_openssl(), a),
                     0);
    ck_assert_str_eq(pkjwt_cert_get_x5t_s256(c), x5t);
    ck_assert_uint_eq(strlen(x5t), 43);
    free(x5t);

    free(a);
    free(b);
    free(bf);
    free(pf);
    pkjwt_str_free(b64);
    pkjwt_cert_free(c);
    pkjwt_key_free(k);
  }
}
END_TEST

START_TEST(public_key_and_matches_key) {
  pkjwt_key *k = tu_key("P-384"), *other = tu_key("P-384:2"),
            *rsa = tu_key("RSA2048");
  pkjwt_cert *c = make(k, NULL, 1, NOW);
  ck_assert_int_eq(pkjwt_cert_matches_key(c, k), 1);
  ck_assert_int_eq(pkjwt_cert_matches_key(c, other), 0);
  ck_assert_int_eq(pkjwt_cert_matches_key(c, rsa), 0);
  pkjwt_key *pub = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_cert_public_key(&pub, c, &e), PKJWT_OK);
  ck_assert_int_eq(pkjwt_key_has_private(pub), 0);
  ck_assert_int_eq(pkjwt_key_equal_public(pub, k), 1);
  ck_assert_str_eq(pkjwt_key_get_curve(pub), "P-384");
  ck_assert_str_eq(pkjwt_key_get_thumbprint(pub), pkjwt_key_get_thumbprint(k));
  ck_assert_int_eq(pkjwt_cert_matches_key(c, pub), 1);
  pkjwt_key_free(pub);
  pkjwt_cert_free(c);
  pkjwt_key_free(rsa);
  pkjwt_key_free(other);
  pkjwt_key_free(k);
}
END_TEST

/* ---- loading ------------------------------------------------------------ */

START_TEST(load_pem_and_der_from_openssl) {
  char *key = in_dir("k.pem");
  char *pem = in_dir("c.pem");
  char *der = in_dir("c.der");
  char *b64 = in_dir("c.b64");      /* one line, as uploaded */
  char *wrapped = in_dir("c.wrap"); /* 64-character lines */
  ck_assert_int_eq(
      test_sh(NULL,
              "'%s' req -x509 -newkey rsa:2048 -nodes -keyout '%s' -out '%s' "
              "-subj '/CN=from openssl/O=Ext' -days 10 -set_serial 0x1234ABCD "
              "2>/dev/null",
              test_openssl(), key, pem),
      0);
  ck_assert_int_eq(test_sh(NULL, "'%s' x509 -in '%s' -outform DER -out '%s'",
                           test_openssl(), pem, der),
                   0);
  ck_assert_int_eq(test_sh(NULL, "'%s' base64 -A -in '%s' -out '%s'",
                           test_openssl(), der, b64),
                   0);
  ck_assert_int_eq(test_sh(NULL, "'%s' base64 -in '%s' -out '%s'",
                           test_openssl(), der, wrapped),
                   0);
  char *end = NULL;
  ck_assert_int_eq(
      test_sh(&end, "'%s' x509 -in '%s' -noout -enddate -dateopt iso_8601",
              test_openssl(), pem),
      0);
  const char *files[] = {pem, der, b64, wrapped};
  pkjwt_key *k = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_key_load_file(&k, key, NULL, &e), PKJWT_OK);
  for (int i = 0; i < 4; i++) {
    pkjwt_cert *c = NULL;
    int rc = pkjwt_cert_load_file(&c, files[i], &e);
    ck_assert_msg(rc == PKJWT_OK, "%s", e.message);
    ck_assert_str_eq(pkjwt_cert_get_subject(c), "CN=from openssl,O=Ext");
    ck_assert_str_eq(pkjwt_cert_get_serial(c), "1234ABCD");
    ck_assert_int_eq(pkjwt_cert_matches_key(c, k), 1);
    char got[80], want[128];
    iso_time(got, sizeof(got), pkjwt_cert_get_not_after(c));
    snprintf(want, sizeof(want), "notAfter=%s\n", got);
    ck_assert_str_eq(end, want);
    ck_assert_int_eq(pkjwt_cert_get_not_after(c) - pkjwt_cert_get_not_before(c),
                     10 * 86400);

    /* and from memory */
    size_t len = 0;
    char *data = test_read_file(files[i], &len);
    pkjwt_cert *m = NULL;
    ck_assert_int_eq(pkjwt_cert_load_mem(&m, data, len, &e), PKJWT_OK);
    ck_assert_str_eq(pkjwt_cert_get_x5t_s256(m), pkjwt_cert_get_x5t_s256(c));
    pkjwt_cert_free(m);
    free(data);
    pkjwt_cert_free(c);
  }
  free(end);

  /* refusals */
  pkjwt_cert *c = (pkjwt_cert *)&c;
  ck_assert_int_eq(pkjwt_cert_load_file(&c, key, &e), PKJWT_ERR_PARSE);
  ck_assert_ptr_null(c);
  ck_assert_int_eq(pkjwt_cert_load_mem(&c, "", 0, &e), PKJWT_ERR_PARSE);
  ck_assert_int_eq(pkjwt_cert_load_mem(&c, "garbage", 7, &e), PKJWT_ERR_PARSE);
  size_t len = 0;
  char *data = test_read_file(der, &len);
  char *longer = malloc(len + 1);
  memcpy(longer, data, len);
  longer[len] = 0;
  ck_assert_int_eq(pkjwt_cert_load_mem(&c, longer, len + 1, &e),
                   PKJWT_ERR_PARSE);
  ck_assert_msg(strstr(e.message, "trailing") != NULL, "%s", e.message);
  ck_assert_int_eq(pkjwt_cert_load_mem(&c, data, len - 1, &e), PKJWT_ERR_PARSE);

  /* the base64 form: CRLF line ends are whitespace too; a character out of
   * the alphabet, a cut, or the base64 of the DER with a byte more are not
   * a certificate (the text encoded by OpenSSL, not by lib/base64.c) */
  char *text = malloc(PKJWT__B64_LEN(len + 1) + 1);
  ck_assert_int_eq(
      EVP_EncodeBlock((unsigned char *)text, (unsigned char *)data, (int)len),
      (int)PKJWT__B64_LEN(len));
  size_t tlen = strlen(text);
  char *crlf = malloc(2 * tlen + 2);
  size_t n = 0;
  for (size_t i = 0; i < tlen; i++) {
    crlf[n++] = text[i];
    if (i % 64 == 63 || i + 1 == tlen) {
      crlf[n++] = '\r';
      crlf[n++] = '\n';
    }
  }
  pkjwt_cert *ok = NULL;
  ck_assert_int_eq(pkjwt_cert_load_mem(&ok, crlf, n, &e), PKJWT_OK);
  pkjwt_cert *from_der = NULL;
  ck_assert_int_eq(pkjwt_cert_load_mem(&from_der, data, len, &e), PKJWT_OK);
  ck_assert_str_eq(pkjwt_cert_get_x5t_s256(ok),
                   pkjwt_cert_get_x5t_s256(from_der));
  pkjwt_cert_free(ok);
  pkjwt_cert_free(from_der);
  text[10] = '!';
  ck_assert_int_eq(pkjwt_cert_load_mem(&c, text, tlen, &e), PKJWT_ERR_PARSE);
  ck_assert_msg(strstr(e.message, "base64") != NULL, "%s", e.message);
  ck_assert_int_eq(
      EVP_EncodeBlock((unsigned char *)text, (unsigned char *)data, (int)len),
      (int)tlen);
  ck_assert_int_eq(pkjwt_cert_load_mem(&c, text, tlen - 8, &e),
                   PKJWT_ERR_PARSE);
  ck_assert_int_eq(EVP_EncodeBlock((unsigned char *)text,
                                   (unsigned char *)longer, (int)len + 1),
                   (int)PKJWT__B64_LEN(len + 1));
  ck_assert_int_eq(pkjwt_cert_load_mem(&c, text, strlen(text), &e),
                   PKJWT_ERR_PARSE);
  ck_assert_msg(strstr(e.message, "trailing") != NULL, "%s", e.message);
  ck_assert_ptr_null(c);
  free(crlf);
  free(text);
  free(longer);
  free(data);
  char *missing = in_dir("missing.crt");
  ck_assert_int_eq(pkjwt_cert_load_file(&c, missing, &e), PKJWT_ERR_IO);
  ck_assert_int_eq(pkjwt_cert_load_file(&c, dir, &e), PKJWT_ERR_IO);
  free(missing);
  pkjwt_key_free(k);
  free(key);
  free(pem);
  free(der);
  free(b64);
  free(wrapped);
}
END_TEST

/* ---- writing ------------------------------------------------------------ */

START_TEST(write_0644_no_overwrite) {
  pkjwt_key *k = tu_key("P-256");
  pkjwt_cert *c = make(k, "CN=w", 5, NOW);
  pkjwt_error e = PKJWT_ERROR_INIT;
  char *p = in_dir("c.pem");
  mode_t old = umask(077);
  int rc = pkjwt_cert_write(c, p, 0, &e);
  umask(old);
  ck_assert_msg(rc == PKJWT_OK, "%s", e.message);
  struct stat st;
  ck_assert_int_eq(stat(p, &st), 0);
  ck_assert_uint_eq(st.st_mode & 07777, 0644);
  char *got = test_read_file(p, NULL);
  char *pem = NULL;
  ck_assert_int_eq(pkjwt_cert_pem(&pem, c, &e), PKJWT_OK);
  ck_assert_str_eq(got, pem);
  free(got);
  ck_assert_int_eq(
      test_sh(NULL, "'%s' x509 -in '%s' -noout", test_openssl(), p), 0);

  /* no overwrite without force; the old file is untouched */
  pkjwt_cert *c2 = make(k, "CN=second", 5, NOW);
  ck_assert_int_eq(pkjwt_cert_write(c2, p, 0, &e), PKJWT_ERR_EXISTS);
  ck_assert_str_eq(e.message, "file exists (pass force to replace it)");
  got = test_read_file(p, NULL);
  ck_assert_str_eq(got, pem);
  free(got);
  /* force replaces it */
  old = umask(0);
  ck_assert_int_eq(pkjwt_cert_write(c2, p, 1, &e), PKJWT_OK);
  umask(old);
  ck_assert_int_eq(stat(p, &st), 0);
  ck_assert_uint_eq(st.st_mode & 07777, 0644);
  pkjwt_cert *back = NULL;
  ck_assert_int_eq(pkjwt_cert_load_file(&back, p, &e), PKJWT_OK);
  ck_assert_str_eq(pkjwt_cert_get_subject(back), "CN=second");
  pkjwt_cert_free(back);

  /* a failed write leaves nothing */
  char *bad = in_dir("nope/c.pem");
  ck_assert_int_eq(pkjwt_cert_write(c, bad, 0, &e), PKJWT_ERR_IO);
  ck_assert_int_eq(pkjwt_cert_write(c, "", 0, &e), PKJWT_ERR_INVALID_ARG);
  char *names = test_list_dir(dir);
  ck_assert_str_eq(names, "c.pem");
  free(names);
  free(bad);
  pkjwt_str_free(pem);
  pkjwt_cert_free(c2);
  free(p);
  pkjwt_cert_free(c);
  pkjwt_key_free(k);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("cert");
  TCase *tc = tcase_create("make");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, fields_per_key_type);
  tcase_add_test(tc, serial_is_random_positive_and_long);
  tcase_add_test(tc, defaults_and_real_clock);
  tcase_add_test(tc, validity_days_rules);
  tcase_add_test(tc, days_left_is_floored);
  tcase_add_test(tc, subject_dn_parsing);
  tcase_add_test(tc, refusals);
  suite_add_tcase(s, tc);

  TCase *io = tcase_create("io");
  tcase_add_checked_fixture(io, setup, teardown);
  tcase_set_timeout(io, 300);
  tcase_add_test(io, base64_der_read_back_by_openssl);
  tcase_add_test(io, public_key_and_matches_key);
  tcase_add_test(io, load_pem_and_der_from_openssl);
  tcase_add_test(io, write_0644_no_overwrite);
  suite_add_tcase(s, io);
  return s;
}

PKJWT_TEST_MAIN(make_suite)
