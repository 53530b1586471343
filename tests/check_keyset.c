/*
 * tests/check_keyset.c: key sets. The manifest and its checks, rotate /
 * activate / retire, broken sets (one message naming the file, the old key
 * kept in service), expiry windows on an injected clock, concurrent
 * changes, and a reload while 8 threads sign (run it under TSan too).
 * EC P-256 keys only: they are made in about a millisecond.
 */
#include "testutil.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <pkjwt.h>

#define AUD "https://idp.example/connect/token"
#define DAY 86400

/* A new P-256 key and its certificate of days days, issued at now. */
static void make_pair(pkjwt_key **key, pkjwt_cert **cert, int days,
                      int64_t now) {
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_key_generate_ec(key, NULL, &e), PKJWT_OK);
  pkjwt_cert_options co = PKJWT_CERT_OPTIONS_INIT;
  co.days = days;
  co.now = now;
  ck_assert_msg(pkjwt_cert_self_signed(cert, *key, &co, &e) == PKJWT_OK, "%s",
                e.message);
}

/* Stage a new key of days days in dir; returns its kid (free it). */
static char *add_key(const char *dir, int days, int64_t now) {
  pkjwt_key *k = NULL;
  pkjwt_cert *c = NULL;
  make_pair(&k, &c, days, now);
  char *kid = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_msg(pkjwt_keyset_add(&kid, dir, k, c, now, &e) == PKJWT_OK, "%s",
                e.message);
  ck_assert_str_eq(kid, pkjwt_key_get_thumbprint(k));
  pkjwt_key_free(k);
  pkjwt_cert_free(c);
  return kid;
}

static void activate(const char *dir, const char *kid) {
  pkjwt_error e = PKJWT_ERROR_INIT;
  char *got = NULL;
  ck_assert_msg(pkjwt_keyset_activate(&got, dir, kid, &e) == PKJWT_OK, "%s",
                e.message);
  if (kid)
    ck_assert_str_eq(got, kid);
  pkjwt_str_free(got);
}

static pkjwt_key_state state_of(const pkjwt_keyset *ks, const char *kid) {
  pkjwt_keyset_entry en;
  for (size_t i = 0; pkjwt_keyset_entry_get(&en, ks, i); i++)
    if (strcmp(en.kid, kid) == 0)
      return en.state;
  return 0;
}

/* The kid in an assertion's header, into buf. */
static void kid_of(char *buf, size_t n, const char *jws) {
  char *h = NULL, *c = NULL;
  ck_assert_int_eq(pkjwt_assertion_decode(&h, &c, jws, NULL), PKJWT_OK);
  const char *p = strstr(h, "\"kid\":\"");
  ck_assert_ptr_nonnull(p);
  p += 7;
  size_t len = strcspn(p, "\"");
  ck_assert_uint_lt(len, n);
  memcpy(buf, p, len);
  buf[len] = '\0';
  pkjwt_str_free(h);
  pkjwt_str_free(c);
}

static char *sign_with(pkjwt_keyset *ks, pkjwt_error *e) {
  pkjwt_sign_options o = PKJWT_SIGN_OPTIONS_INIT;
  o.client_id = "client";
  o.audience = AUD;
  char *jws = NULL;
  int rc = pkjwt_keyset_sign(&jws, ks, &o, e);
  ck_assert_msg(rc == PKJWT_OK, "sign: %s", e ? e->message : "");
  return jws;
}

static void rewrite(const char *dir, const char *name, const char *text) {
  char *p = test_path(dir, name);
  unlink(p);
  ck_assert_int_eq(test_write_file(p, text, strlen(text)), 0);
  free(p);
}

START_TEST(rotation_states_and_manifest) {
  char *dir = test_tmpdir();
  char *sub = test_path(dir, "set"); /* made by the first add */
  int64_t now = time(NULL);
  char *a = add_key(sub, 365, now);
  pkjwt_keyset *ks = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_keyset_load(&ks, sub, &e), PKJWT_OK);
  ck_assert_uint_eq(pkjwt_keyset_count(ks), 1);
  ck_assert_int_eq(state_of(ks, a), PKJWT_KEY_NEXT);
  /* no active key yet: signing says so */
  pkjwt_sign_options o = PKJWT_SIGN_OPTIONS_INIT;
  o.client_id = "client";
  o.audience = AUD;
  char *jws = NULL;
  ck_assert_int_eq(pkjwt_keyset_sign(&jws, ks, &o, &e),
                   PKJWT_ERR_NO_PRIVATE_KEY);
  ck_assert_ptr_nonnull(strstr(e.message, "no active key"));
  pkjwt_keyset_free(ks);

  /* the files: key 0600, folder 0700 */
  struct stat st;
  char kname[128];
  snprintf(kname, sizeof(kname), "%s/%s.key", sub, a);
  ck_assert_int_eq(stat(kname, &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0600);
  ck_assert_int_eq(stat(sub, &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0700);

  activate(sub, NULL);
  char *b = add_key(sub, 365, now);
  /* a second next key is refused, and nothing is left behind */
  pkjwt_key *k = NULL;
  pkjwt_cert *c = NULL;
  make_pair(&k, &c, 365, now);
  ck_assert_int_eq(pkjwt_keyset_add(NULL, sub, k, c, now, &e),
                   PKJWT_ERR_EXISTS);
  ck_assert_ptr_nonnull(strstr(e.message, b));
  snprintf(kname, sizeof(kname), "%s/%s.key", sub, pkjwt_key_get_thumbprint(k));
  ck_assert_int_ne(stat(kname, &st), 0);
  pkjwt_key_free(k);
  pkjwt_cert_free(c);

  /* unknown fields survive a rewrite */
  char *mp = test_path(sub, PKJWT_KEYSET_MANIFEST);
  size_t len = 0;
  char *m = test_read_file(mp, &len);
  ck_assert_ptr_nonnull(m);
  ck_assert(m[0] == '{');
  char *m2 = malloc(len + 64);
  snprintf(m2, len + 64, "{\"owner\":\"ops\",%s", m + 1);
  rewrite(sub, PKJWT_KEYSET_MANIFEST, m2);
  free(m);
  free(m2);

  activate(sub, b);
  ck_assert_int_eq(pkjwt_keyset_load(&ks, sub, &e), PKJWT_OK);
  ck_assert_int_eq(state_of(ks, a), PKJWT_KEY_PREVIOUS);
  ck_assert_int_eq(state_of(ks, b), PKJWT_KEY_ACTIVE);
  jws = sign_with(ks, &e);
  char kid[64];
  kid_of(kid, sizeof(kid), jws);
  ck_assert_str_eq(kid, b);
  pkjwt_str_free(jws);
  pkjwt_keyset_free(ks);
  m = test_read_file(mp, &len);
  ck_assert_ptr_nonnull(strstr(m, "\"owner\":\"ops\""));
  free(m);

  /* retire: refused for the active key; a retired key's files may go */
  ck_assert_int_eq(pkjwt_keyset_retire(sub, b, &e), PKJWT_ERR_INVALID_ARG);
  ck_assert_ptr_nonnull(strstr(e.message, "active"));
  ck_assert_int_eq(pkjwt_keyset_retire(sub, a, &e), PKJWT_OK);
  snprintf(kname, sizeof(kname), "%s/%s.key", sub, a);
  ck_assert_int_eq(unlink(kname), 0);
  ck_assert_int_eq(pkjwt_keyset_load(&ks, sub, &e), PKJWT_OK);
  ck_assert_int_eq(state_of(ks, a), PKJWT_KEY_RETIRED);
  pkjwt_keyset_free(ks);
  /* a retired key is not activated again; an unknown kid is named */
  ck_assert_int_eq(pkjwt_keyset_activate(NULL, sub, a, &e),
                   PKJWT_ERR_INVALID_ARG);
  ck_assert_int_eq(pkjwt_keyset_activate(NULL, sub, "nope", &e),
                   PKJWT_ERR_INVALID_ARG);
  ck_assert_ptr_nonnull(strstr(e.message, "nope"));
  ck_assert_int_eq(pkjwt_keyset_activate(NULL, sub, NULL, &e),
                   PKJWT_ERR_INVALID_ARG);
  free(mp);
  free(a);
  free(b);
  test_rmtree(dir);
  free(sub);
  free(dir);
}
END_TEST

/* A set with an active key A and a next key B. */
static char *two_key_set(char **a, char **b) {
  char *dir = test_tmpdir();
  int64_t now = time(NULL);
  *a = add_key(dir, 365, now);
  activate(dir, NULL);
  *b = add_key(dir, 365, now);
  return dir;
}

/* Break the set; loading fails naming want; a loaded set keeps A. */
static void broken_case(const char *what) {
  char *a, *b;
  char *dir = two_key_set(&a, &b);
  pkjwt_keyset *ks = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_keyset_load(&ks, dir, &e), PKJWT_OK);
  char name[128], want[128];
  if (strcmp(what, "corrupt") == 0) {
    rewrite(dir, PKJWT_KEYSET_MANIFEST, "{\"version\":1,\"keys\":[");
    snprintf(want, sizeof(want), "%s: not JSON", PKJWT_KEYSET_MANIFEST);
  } else if (strcmp(what, "missing key") == 0) {
    snprintf(name, sizeof(name), "%s/%s.key", dir, b);
    ck_assert_int_eq(unlink(name), 0);
    snprintf(want, sizeof(want), "%s.key: ", b);
  } else if (strcmp(what, "cert mismatch") == 0) {
    /* B's certificate replaced by A's */
    char from[128];
    snprintf(from, sizeof(from), "%s/%s.crt", dir, a);
    snprintf(name, sizeof(name), "%s/%s.crt", dir, b);
    size_t n = 0;
    char *pem = test_read_file(from, &n);
    unlink(name);
    ck_assert_int_eq(test_write_file(name, pem, n), 0);
    free(pem);
    snprintf(want, sizeof(want), "%s.crt: the certificate does not match", b);
  } else if (strcmp(what, "bad date") == 0) {
    /* 30 February, hour 25: timegm would roll it over into March */
    char *mp = test_path(dir, PKJWT_KEYSET_MANIFEST);
    size_t n = 0;
    char *m = test_read_file(mp, &n);
    char *p = strstr(m, "\"created\":\"");
    ck_assert_ptr_nonnull(p);
    p += strlen("\"created\":\"");
    memcpy(p, "2024-02-30T25:61:61Z", 20);
    rewrite(dir, PKJWT_KEYSET_MANIFEST, m);
    free(m);
    free(mp);
    snprintf(want, sizeof(want), "%s: key ", PKJWT_KEYSET_MANIFEST);
  } else { /* two active */
    char *mp = test_path(dir, PKJWT_KEYSET_MANIFEST);
    size_t n = 0;
    char *m = test_read_file(mp, &n);
    char *p = strstr(m, "\"state\":\"next\"");
    ck_assert_ptr_nonnull(p);
    char fixed[8192];
    snprintf(fixed, sizeof(fixed), "%.*s\"state\":\"active\"%s", (int)(p - m),
             m, p + strlen("\"state\":\"next\""));
    rewrite(dir, PKJWT_KEYSET_MANIFEST, fixed);
    free(m);
    free(mp);
    snprintf(want, sizeof(want), "%s: two active keys", PKJWT_KEYSET_MANIFEST);
  }
  pkjwt_keyset *bad = NULL;
  ck_assert_int_ne(pkjwt_keyset_load(&bad, dir, &e), PKJWT_OK);
  ck_assert_ptr_null(bad);
  ck_assert_msg(strncmp(e.message, want, strlen(want)) == 0,
                "%s: message \"%s\" does not start with \"%s\"", what,
                e.message, want);
  ck_assert_ptr_null(strchr(e.message, '\n'));
  if (strcmp(what, "bad date") == 0)
    ck_assert_ptr_nonnull(strstr(e.message, "created and expires must read"));
  /* the running set notices, keeps A and warns */
  ck_assert_int_eq(pkjwt_keyset_refresh(ks), -1);
  char *jws = sign_with(ks, &e);
  char kid[64];
  kid_of(kid, sizeof(kid), jws);
  ck_assert_str_eq(kid, a);
  ck_assert_ptr_nonnull(strstr(e.warning, "still signing with the old keys"));
  char w[PKJWT_ERROR_WARNING_MAX];
  ck_assert_int_eq(pkjwt_keyset_warning(w, sizeof(w), ks), 1);
  ck_assert_ptr_nonnull(strstr(w, want));
  pkjwt_str_free(jws);
  pkjwt_keyset_free(ks);
  free(a);
  free(b);
  test_rmtree(dir);
  free(dir);
}

START_TEST(broken_corrupt_manifest) {
  broken_case("corrupt");
}
END_TEST
START_TEST(broken_missing_key_file) {
  broken_case("missing key");
}
END_TEST
START_TEST(broken_cert_not_matching) {
  broken_case("cert mismatch");
}
END_TEST
START_TEST(broken_bad_date) {
  broken_case("bad date");
}
END_TEST
START_TEST(broken_two_active) {
  broken_case("two active");
}
END_TEST

START_TEST(expiry_windows_on_an_injected_clock) {
  char *dir = test_tmpdir();
  const int64_t t0 = 1800000000; /* the certificates' issue time */
  char *a = add_key(dir, 100, t0);
  activate(dir, NULL);
  pkjwt_keyset *ks = NULL;
  ck_assert_int_eq(pkjwt_keyset_load(&ks, dir, NULL), PKJWT_OK);
  pkjwt_keyset_entry en;
  ck_assert(pkjwt_keyset_entry_get(&en, ks, 0));
  ck_assert(en.expires == t0 + 100 * DAY);
  ck_assert(en.created == t0);
  ck_assert_int_eq(pkjwt_keyset_due_at(ks, 30, t0), PKJWT_DUE_NOTHING);
  ck_assert_int_eq(pkjwt_keyset_due_at(ks, 30, t0 + 69 * DAY),
                   PKJWT_DUE_NOTHING);
  ck_assert_int_eq(pkjwt_keyset_due_at(ks, 30, t0 + 70 * DAY),
                   PKJWT_DUE_ROTATE);
  ck_assert_int_eq(pkjwt_keyset_due_at(ks, 30, t0 + 100 * DAY),
                   PKJWT_DUE_EXPIRED);
  pkjwt_keyset_free(ks);
  char *b = add_key(dir, 365, t0 + 80 * DAY);
  ck_assert_int_eq(pkjwt_keyset_load(&ks, dir, NULL), PKJWT_OK);
  ck_assert_int_eq(pkjwt_keyset_due_at(ks, 30, t0 + 80 * DAY),
                   PKJWT_DUE_ACTIVATE);
  pkjwt_keyset_free(ks);
  activate(dir, b);
  ck_assert_int_eq(pkjwt_keyset_load(&ks, dir, NULL), PKJWT_OK);
  ck_assert_int_eq(pkjwt_keyset_due_at(ks, 30, t0 + 100 * DAY),
                   PKJWT_DUE_NOTHING);
  pkjwt_keyset_free(ks);
  free(a);
  free(b);
  test_rmtree(dir);
  free(dir);
}
END_TEST

/* ---- 20 concurrent changes ---- */

typedef struct changer {
  const char *dir;
  int add;
  pkjwt_key *key;
  pkjwt_cert *cert;
  int rc;
} changer;

static void *change_main(void *p) {
  changer *c = p;
  pkjwt_error e = PKJWT_ERROR_INIT;
  if (c->add)
    c->rc = pkjwt_keyset_add(NULL, c->dir, c->key, c->cert, 0, &e);
  else
    c->rc = pkjwt_keyset_activate(NULL, c->dir, NULL, &e);
  return NULL;
}

START_TEST(concurrent_changes_leave_a_valid_manifest) {
  char *dir = test_tmpdir();
  char *a = add_key(dir, 365, time(NULL));
  activate(dir, NULL);
  enum { N = 20 };
  changer c[N];
  pthread_t t[N];
  for (int i = 0; i < N; i++) {
    c[i].dir = dir;
    c[i].add = i % 2 == 0;
    c[i].key = NULL;
    c[i].cert = NULL;
    if (c[i].add)
      make_pair(&c[i].key, &c[i].cert, 365, time(NULL));
  }
  for (int i = 0; i < N; i++)
    ck_assert_int_eq(pthread_create(&t[i], NULL, change_main, &c[i]), 0);
  int ok = 0;
  for (int i = 0; i < N; i++) {
    pthread_join(t[i], NULL);
    ok += c[i].rc == PKJWT_OK;
    /* a refusal is fine (a next key staged, none staged); not a failure */
    ck_assert_msg(c[i].rc == PKJWT_OK || c[i].rc == PKJWT_ERR_EXISTS ||
                      c[i].rc == PKJWT_ERR_INVALID_ARG,
                  "change %d: %d", i, c[i].rc);
    pkjwt_key_free(c[i].key);
    pkjwt_cert_free(c[i].cert);
  }
  ck_assert_int_gt(ok, 1);
  pkjwt_keyset *ks = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_msg(pkjwt_keyset_load(&ks, dir, &e) == PKJWT_OK, "%s", e.message);
  size_t adds = 0, active = 0;
  pkjwt_keyset_entry en;
  for (size_t i = 0; pkjwt_keyset_entry_get(&en, ks, i); i++)
    active += en.state == PKJWT_KEY_ACTIVE;
  for (int i = 0; i < N; i++)
    adds += c[i].add && c[i].rc == PKJWT_OK;
  ck_assert_uint_eq(pkjwt_keyset_count(ks), 1 + adds);
  ck_assert_uint_eq(active, 1);
  /* no temporary file is left */
  char *ls = test_list_dir(dir);
  ck_assert_ptr_null(strstr(ls, ".tmp-"));
  free(ls);
  pkjwt_keyset_free(ks);
  free(a);
  test_rmtree(dir);
  free(dir);
}
END_TEST

/* ---- reload while 8 threads sign ---- */

#define SIGNERS 8
#define ROUNDS 3

static pkjwt_keyset *shared;
static atomic_int stop;
static char kids[ROUNDS + 1][64]; /* in the order they became active */
static pkjwt_key *pubs[ROUNDS + 1];

typedef struct signer {
  int n;
  char failure[PKJWT_ERROR_MESSAGE_MAX + 64];
} signer;

static void *sign_main(void *p) {
  signer *s = p;
  int last = 0; /* index into kids: never goes back */
  while (!atomic_load(&stop) && !s->failure[0]) {
    pkjwt_sign_options o = PKJWT_SIGN_OPTIONS_INIT;
    o.client_id = "client";
    o.audience = AUD;
    char *jws = NULL;
    pkjwt_error e = PKJWT_ERROR_INIT;
    if (pkjwt_keyset_sign(&jws, shared, &o, &e) != PKJWT_OK) {
      snprintf(s->failure, sizeof(s->failure), "sign: %s", e.message);
      break;
    }
    char *h = NULL, *c = NULL;
    if (pkjwt_assertion_decode(&h, &c, jws, NULL) == PKJWT_OK) {
      int found = -1;
      for (int i = last; i <= ROUNDS && found < 0; i++)
        if (kids[i][0] && strstr(h, kids[i]))
          found = i;
      if (found < 0) {
        snprintf(s->failure, sizeof(s->failure),
                 "kid of an earlier or unknown key: %.300s", h);
      } else {
        pkjwt_verify_options v = PKJWT_VERIFY_OPTIONS_INIT;
        v.client_id = "client";
        v.audience = AUD;
        pkjwt_verify_result *r = NULL;
        if (pkjwt_assertion_verify(&r, jws, pubs[found], &v, &e) != PKJWT_OK ||
            !r->valid)
          snprintf(s->failure, sizeof(s->failure),
                   "not signed by the key its kid names: %s", e.message);
        pkjwt_verify_result_free(r);
        last = found;
      }
    }
    pkjwt_str_free(h);
    pkjwt_str_free(c);
    pkjwt_str_free(jws);
    s->n++;
  }
  return NULL;
}

/* Wait (at most 5 s) until a signature carries kid. */
static void wait_for_kid(const char *kid) {
  for (int i = 0; i < 500; i++) {
    pkjwt_error e = PKJWT_ERROR_INIT;
    char *jws = sign_with(shared, &e);
    char got[64];
    kid_of(got, sizeof(got), jws);
    pkjwt_str_free(jws);
    if (strcmp(got, kid) == 0)
      return;
    struct timespec ts = {0, 10 * 1000000L};
    nanosleep(&ts, NULL);
  }
  ck_abort_msg("the set never switched to %s", kid);
}

START_TEST(reload_while_threads_sign) {
  char *dir = test_tmpdir();
  int64_t now = time(NULL);
  /* Every key is made first, so the threads read kids[] and pubs[] that
   * no one writes any more. */
  pkjwt_key *keys[ROUNDS + 1];
  pkjwt_cert *certs[ROUNDS + 1];
  for (int i = 0; i <= ROUNDS; i++) {
    make_pair(&keys[i], &certs[i], 365, now);
    snprintf(kids[i], sizeof(kids[i]), "%s", pkjwt_key_get_thumbprint(keys[i]));
    ck_assert_int_eq(pkjwt_cert_public_key(&pubs[i], certs[i], NULL), PKJWT_OK);
  }
  pkjwt_error e = PKJWT_ERROR_INIT;
  ck_assert_int_eq(pkjwt_keyset_add(NULL, dir, keys[0], certs[0], now, &e),
                   PKJWT_OK);
  activate(dir, NULL);
  ck_assert_int_eq(pkjwt_keyset_load(&shared, dir, &e), PKJWT_OK);
  atomic_store(&stop, 0);
  /* two signers in a light run (valgrind runs threads one at a time, and
   * eight spinning signers starve the rotation: 40 s of its stage) */
  const int signers = tu_light() ? 2 : SIGNERS;
  signer s[SIGNERS];
  pthread_t t[SIGNERS];
  memset(s, 0, sizeof(s));
  for (int i = 0; i < signers; i++)
    ck_assert_int_eq(pthread_create(&t[i], NULL, sign_main, &s[i]), 0);
  for (int r = 1; r <= ROUNDS; r++) {
    ck_assert_int_eq(pkjwt_keyset_add(NULL, dir, keys[r], certs[r], now, &e),
                     PKJWT_OK);
    activate(dir, NULL);
    wait_for_kid(kids[r]);
  }
  atomic_store(&stop, 1);
  int total = 0;
  for (int i = 0; i < signers; i++) {
    pthread_join(t[i], NULL);
    ck_assert_msg(!s[i].failure[0], "thread %d: %s", i, s[i].failure);
    total += s[i].n;
  }
  ck_assert_int_gt(total, signers);
  pkjwt_keyset_free(shared);
  for (int i = 0; i <= ROUNDS; i++) {
    pkjwt_key_free(pubs[i]);
    pkjwt_key_free(keys[i]);
    pkjwt_cert_free(certs[i]);
  }
  test_rmtree(dir);
  free(dir);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("keyset");
  TCase *tc = tcase_create("keyset");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, rotation_states_and_manifest);
  tcase_add_test(tc, broken_corrupt_manifest);
  tcase_add_test(tc, broken_missing_key_file);
  tcase_add_test(tc, broken_cert_not_matching);
  tcase_add_test(tc, broken_two_active);
  tcase_add_test(tc, broken_bad_date);
  tcase_add_test(tc, expiry_windows_on_an_injected_clock);
  tcase_add_test(tc, concurrent_changes_leave_a_valid_manifest);
  tcase_add_test(tc, reload_while_threads_sign);
  suite_add_tcase(s, tc);
  return s;
}

PKJWT_TEST_MAIN(make_suite)
