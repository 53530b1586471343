/*
 * tests/check_alg.c: the algorithm and curve table (lib/alg.c), row by row.
 *
 * The test walks the table itself, so a new row is tested without an edit
 * here: for each row a key of its type and curve (a committed test-only
 * fixture, tests/keys; generation is check_key's subject), exported as
 * a JWK, and an assertion signed with the row's alg is verified against that
 * JWK by python3-jwcrypto (which also recomputes the RFC 7638 thumbprint and
 * checks the coordinate length); the openssl CLI confirms that the row's
 * OpenSSL group and JWK crv name the same curve. When a judge is missing the
 * whole suite is skipped (exit 77), never passed.
 */
#include "testutil.h"

#include "alg.h"

#include <jansson.h>

static char *dir;

#define NOW 1700000000
#define CLIENT "0f3c2a8e-5b7d-4e1f-9a6c-2d8b4e7f1a3c"
#define AUD "https://idp.example/token"

/* Verifies token argv[2] against JWK argv[1] with alg argv[3] only, checks
 * the JWK's alg, kid (= jwcrypto's own RFC 7638 thumbprint), crv and the
 * coordinate length argv[5] (0 for RSA), and the claims. */
static const char judge_py[] =
    "import sys, json, base64\n"
    "from jwcrypto import jwk, jws\n"
    "j = json.loads(open(sys.argv[1]).read())\n"
    "tok = open(sys.argv[2]).read().strip()\n"
    "alg, crv, coord = sys.argv[3], sys.argv[4], int(sys.argv[5])\n"
    "k = jwk.JWK(**j)\n"
    "assert j['alg'] == alg, j\n"
    "assert j['kid'] == k.thumbprint(), (j['kid'], k.thumbprint())\n"
    "if coord:\n"
    "    d = lambda s: base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))\n"
    "    assert j['kty'] == 'EC' and j['crv'] == crv, j\n"
    "    assert len(d(j['x'])) == coord and len(d(j['y'])) == coord, j\n"
    "else:\n"
    "    assert j['kty'] == 'RSA', j\n"
    "s = jws.JWS()\n"
    "s.deserialize(tok)\n"
    "s.allowed_algs = [alg]\n"
    "s.verify(k, alg=alg)\n"
    "h = json.loads(s.objects['protected'])\n"
    "assert h['alg'] == alg, h\n"
    "c = json.loads(s.payload)\n"
    "assert c['iss'] == c['sub'] == '" CLIENT "' and c['aud'] == '" AUD
    "', c\n";

static const pkjwt__alg_info *row(int i) {
  size_t n;
  const pkjwt__alg_info *rows = pkjwt__alg_rows(&n);
  ck_assert_int_lt(i, (int)n);
  return &rows[i];
}

static int row_count(void) {
  size_t n;
  (void)pkjwt__alg_rows(&n);
  return (int)n;
}

/* One key per default row (per key type and curve), loaded in the fixture
 * before Check forks. */
#define MAX_ROWS 64
static pkjwt_key *keys[MAX_ROWS];

static int row_index(const pkjwt__alg_info *r) {
  size_t n;
  return (int)(r - pkjwt__alg_rows(&n));
}

/* The key of the row's type and curve (borrowed). */
static pkjwt_key *key_for(const pkjwt__alg_info *r) {
  pkjwt_key *k = keys[row_index(pkjwt__alg_default(r->key_type, r->crv))];
  ck_assert_msg(k != NULL, "%s: no key made", r->name);
  return k;
}

static void setup(void) {
  dir = test_tmpdir();
  char *jp = test_path(dir, "judge.py");
  ck_assert_int_eq(test_write_file(jp, judge_py, strlen(judge_py)), 0);
  free(jp);
  ck_assert_int_le(row_count(), MAX_ROWS);
  for (int i = 0; i < row_count(); i++) {
    const pkjwt__alg_info *r = row(i);
    if (!r->is_default)
      continue;
    keys[i] = tu_key(r->key_type == PKJWT_KEY_EC ? r->crv : "RSA2048");
  }
}

static void teardown(void) {
  for (int i = 0; i < MAX_ROWS; i++)
    pkjwt_key_free(keys[i]);
  test_rmtree(dir);
  free(dir);
}

/* The table itself: names round-trip through the public API, every key
 * type and curve has exactly one default row, EC rows carry curve facts. */
START_TEST(table_is_consistent) {
  const pkjwt__alg_info *r = row(_i);
  ck_assert_ptr_eq(pkjwt__alg_lookup(r->alg), r);
  ck_assert_ptr_eq(pkjwt__alg_lookup_name(r->name), r);
  ck_assert_str_eq(pkjwt_alg_name(r->alg), r->name);
  pkjwt_alg id = PKJWT_ALG_DEFAULT;
  ck_assert_int_eq(pkjwt_alg_from_name(&id, r->name, NULL), PKJWT_OK);
  ck_assert_int_eq(id, r->alg);
  ck_assert_ptr_nonnull(pkjwt__alg_md(r));
  /* the digest the JWS name says: ES512 is SHA-512 */
  ck_assert_int_eq(EVP_MD_get_size(pkjwt__alg_md(r)) * 8,
                   (int)strtol(r->name + 2, NULL, 10));
  const pkjwt__alg_info *def = pkjwt__alg_default(r->key_type, r->crv);
  ck_assert_ptr_nonnull(def);
  ck_assert(def->is_default);
  int defaults = 0;
  for (int j = 0; j < row_count(); j++)
    defaults +=
        row(j)->is_default && row(j)->key_type == r->key_type &&
        (r->key_type != PKJWT_KEY_EC || strcmp(row(j)->crv, r->crv) == 0);
  ck_assert_int_eq(defaults, 1);
  if (r->key_type == PKJWT_KEY_EC) {
    ck_assert(r->crv && r->group && r->coord_len > 0 && r->padding == 0);
    ck_assert_ptr_eq(pkjwt__alg_curve_by_name(r->crv), def);
    ck_assert_ptr_eq(pkjwt__alg_curve_by_name(r->group), def);
    ck_assert_ptr_eq(pkjwt__alg_curve_by_group(r->group), def);
    ck_assert_ptr_nonnull(strstr(pkjwt__alg_curve_list(1), r->crv));
  } else {
    ck_assert(!r->crv && !r->group && r->coord_len == 0 && r->padding != 0);
  }
  ck_assert_ptr_nonnull(strstr(pkjwt__alg_name_list(), r->name));
}
END_TEST

/* generate -> export JWK -> sign -> verify by jwcrypto against the JWK */
START_TEST(row_signs_what_jwcrypto_verifies) {
  const pkjwt__alg_info *r = row(_i);
  pkjwt_key *k = key_for(r);
  pkjwt_error e = PKJWT_ERROR_INIT;
  if (r->is_default)
    ck_assert_str_eq(pkjwt_key_get_default_alg(k), r->name);
  if (r->key_type == PKJWT_KEY_EC)
    ck_assert_str_eq(pkjwt_key_get_curve(k), r->crv);

  pkjwt_jwk_options jo = PKJWT_JWK_OPTIONS_INIT;
  jo.alg = r->name;
  char *jwk = NULL;
  ck_assert_msg(pkjwt_jwk_export(&jwk, k, &jo, &e) == PKJWT_OK, "%s: %s",
                r->name, e.message);

  pkjwt_sign_options so = PKJWT_SIGN_OPTIONS_INIT;
  so.client_id = CLIENT;
  so.audience = AUD;
  so.now = NOW;
  so.alg = r->alg;
  char *jws = NULL;
  ck_assert_msg(pkjwt_assertion_sign(&jws, k, &so, &e) == PKJWT_OK, "%s: %s",
                r->name, e.message);

  char *jp = test_path(dir, "key.jwk"), *tp = test_path(dir, "tok");
  ck_assert_int_eq(test_write_file(jp, jwk, strlen(jwk)), 0);
  ck_assert_int_eq(test_write_file(tp, jws, strlen(jws)), 0);
  char *out = NULL;
  int st = test_sh(&out, "'%s' '%s/judge.py' '%s' '%s' %s '%s' %zu 2>&1",
                   test_python3(), dir, jp, tp, r->name, r->crv ? r->crv : "-",
                   r->coord_len);
  ck_assert_msg(st == 0, "%s: jwcrypto refused: %s", r->name, out);
  free(out);

  /* the judge can say no: a changed signature byte is refused */
  size_t last = strlen(jws) - 2; /* not the final char: its low bits pad */
  jws[last] = jws[last] == 'A' ? 'B' : 'A';
  ck_assert_int_eq(test_write_file(tp, jws, strlen(jws)), 0);
  ck_assert_int_ne(test_sh(NULL,
                           "'%s' '%s/judge.py' '%s' '%s' %s '%s' %zu "
                           ">/dev/null 2>&1",
                           test_python3(), dir, jp, tp, r->name,
                           r->crv ? r->crv : "-", r->coord_len),
                   0);

  /* the row's alg fits only keys of its own type and curve */
  for (int j = 0; j < row_count(); j++) {
    const pkjwt__alg_info *o = row(j);
    int fits = o->key_type == r->key_type &&
               (o->key_type != PKJWT_KEY_EC || strcmp(o->crv, r->crv) == 0);
    pkjwt_error_init(&e);
    ck_assert_int_eq(pkjwt__alg_check_key(o, k, &e),
                     fits ? PKJWT_OK : PKJWT_ERR_ALG);
  }
  free(jp);
  free(tp);
  pkjwt_str_free(jwk);
  pkjwt_str_free(jws);
}
END_TEST

/* OpenSSL names the row's group and crv as one curve. */
START_TEST(row_curve_names_agree_with_openssl) {
  const pkjwt__alg_info *r = row(_i);
  if (r->key_type != PKJWT_KEY_EC || !r->is_default)
    return;
  pkjwt_key *k = key_for(r);
  char *pem = NULL;
  ck_assert_int_eq(pkjwt_key_public_pem(&pem, k, NULL), PKJWT_OK);
  char *pp = test_path(dir, "pub.pem");
  ck_assert_int_eq(test_write_file(pp, pem, strlen(pem)), 0);
  char *out = NULL;
  int st = test_sh(&out, "'%s' pkey -pubin -in '%s' -noout -text_pub 2>&1",
                   test_openssl(), pp);
  ck_assert_msg(st == 0, "openssl: %s", out);
  char want[128];
  snprintf(want, sizeof(want), "ASN1 OID: %s\n", r->group);
  ck_assert_msg(strstr(out, want), "%s: no '%s' in %s", r->name, want, out);
  snprintf(want, sizeof(want), "NIST CURVE: %s\n", r->crv);
  ck_assert_msg(strstr(out, want), "%s: no '%s' in %s", r->name, want, out);
  free(out);
  free(pp);
  pkjwt_str_free(pem);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("alg");
  TCase *tc = tcase_create("rows");
  tcase_add_unchecked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, table_is_consistent, 0, row_count());
  tcase_add_loop_test(tc, row_signs_what_jwcrypto_verifies, 0, row_count());
  tcase_add_loop_test(tc, row_curve_names_agree_with_openssl, 0, row_count());
  suite_add_tcase(s, tc);
  return s;
}

/* The judges, or exit 77 (skipped) before any test runs. test_run, not
 * test_sh: Check's asserts work only inside a test. */
static int judges_present(void) {
  char cmd[4200];
  snprintf(cmd, sizeof(cmd),
           "'%.4000s' -c 'import jwcrypto.jws' >/dev/null 2>&1",
           test_python3());
  if (test_run(NULL, cmd) != 0) {
    printf("SKIP: python3-jwcrypto (%s) not found\n", test_python3());
    return 0;
  }
  snprintf(cmd, sizeof(cmd), "'%.4000s' version >/dev/null 2>&1",
           test_openssl());
  if (test_run(NULL, cmd) != 0) {
    printf("SKIP: the openssl CLI (%s) not found\n", test_openssl());
    return 0;
  }
  return 1;
}

int main(void) {
  if (!judges_present())
    return 77;
  SRunner *sr = srunner_create(make_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
