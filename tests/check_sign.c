/*
 * tests/check_sign.c: client assertion signing (lib/sign.c).
 * Keys and a certificate are made per run with the openssl CLI; what we sign
 * is judged by libjwt (RS*, ES*), python3-jwcrypto and PyJWT (every alg) and
 * the openssl CLI (PS salt length).
 */
#include "testutil.h"

#include "sign_internal.h"

#include <inttypes.h>
#include <jansson.h>
#include <jwt.h>
#include <stdarg.h>

static char *dir;
static pkjwt_key *ec256, *ec384, *ec521, *rsa, *ec256_pub;
static pkjwt_cert *crt256, *crt384;

#define NOW 1700000000
#define CLIENT "0f3c2a8e-5b7d-4e1f-9a6c-2d8b4e7f1a3c"
#define AUD "https://app.puzzel.com/id/connect/token"

static pkjwt_key *load(const char *name) {
  char *p = test_path(dir, name);
  pkjwt_key *k = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  int rc = pkjwt_key_load_file(&k, p, NULL, &e);
  ck_assert_msg(rc == PKJWT_OK, "load %s: %s", name, e.message);
  free(p);
  return k;
}

static pkjwt_cert *load_cert(const char *name) {
  char *p = test_path(dir, name);
  pkjwt_cert *c = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  int rc = pkjwt_cert_load_file(&c, p, &e);
  ck_assert_msg(rc == PKJWT_OK, "load %s: %s", name, e.message);
  free(p);
  return c;
}

/* The judge: python3-jwcrypto and PyJWT each verify the token with the
 * public PEM and the given alg (no other alg allowed); prints the claims. */
static const char judge_py[] =
    "import sys, json\n"
    "from jwcrypto import jwk, jws\n"
    "import jwt as pyjwt\n"
    "pub = open(sys.argv[1], 'rb').read()\n"
    "tok = open(sys.argv[2]).read().strip()\n"
    "alg = sys.argv[3]\n"
    "s = jws.JWS()\n"
    "s.deserialize(tok)\n"
    "s.allowed_algs = [alg]\n"
    "s.verify(jwk.JWK.from_pem(pub), alg=alg)\n"
    "claims = json.loads(s.payload)\n"
    "o = {'verify_aud': False, 'verify_exp': False, 'verify_iat': False,\n"
    "     'verify_nbf': False}\n"
    "c2 = pyjwt.decode(tok, pub, algorithms=[alg], options=o)\n"
    "assert c2 == claims, (c2, claims)\n"
    "h = pyjwt.get_unverified_header(tok)\n"
    "assert h['alg'] == alg, h\n"
    "print(json.dumps(claims, sort_keys=True))\n";

static void setup(void) {
  dir = test_tmpdir();
  const char *o = test_openssl();
  ck_assert_int_eq(
      test_sh(NULL,
              "cd '%s' && '%s' genpkey -algorithm EC -pkeyopt "
              "ec_paramgen_curve:P-256 -out ec256.pem 2>/dev/null && "
              "'%s' genpkey -algorithm EC -pkeyopt "
              "ec_paramgen_curve:P-384 -out ec384.pem 2>/dev/null && "
              "'%s' genpkey -algorithm EC -pkeyopt "
              "ec_paramgen_curve:P-521 -out ec521.pem 2>/dev/null && "
              "'%s' genpkey -algorithm RSA -pkeyopt "
              "rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null",
              dir, o, o, o, o),
      0);
  ck_assert_int_eq(
      test_sh(
          NULL,
          "cd '%s' && for k in ec256 ec384 ec521 rsa; do '%s' pkey -in $k.pem "
          "-pubout -out $k.pub 2>/dev/null || exit 1; done && "
          "'%s' req -x509 -key ec256.pem -subj /CN=t -days 2 -out ec256.crt "
          "2>/dev/null && '%s' req -x509 -key ec384.pem -subj /CN=u -days 2 "
          "-out ec384.crt 2>/dev/null",
          dir, o, o, o),
      0);
  char *jp = test_path(dir, "judge.py");
  ck_assert_int_eq(test_write_file(jp, judge_py, strlen(judge_py)), 0);
  free(jp);
  ec256 = load("ec256.pem");
  ec384 = load("ec384.pem");
  ec521 = load("ec521.pem");
  rsa = load("rsa.pem");
  ec256_pub = load("ec256.pub");
  crt256 = load_cert("ec256.crt");
  crt384 = load_cert("ec384.crt");
}

static void teardown(void) {
  pkjwt_key_free(ec256);
  pkjwt_key_free(ec384);
  pkjwt_key_free(ec521);
  pkjwt_key_free(rsa);
  pkjwt_key_free(ec256_pub);
  pkjwt_cert_free(crt256);
  pkjwt_cert_free(crt384);
  test_rmtree(dir);
  free(dir);
}

/* ---- helpers --------------------------------------------------------------
 */

typedef struct decoded {
  json_t *header, *claims;
  unsigned char *sig;
  size_t sig_len;
} decoded;

static json_t *part_json(const char *b64, size_t n) {
  unsigned char *raw;
  size_t len;
  ck_assert_int_eq(pkjwt__b64url_decode(&raw, &len, b64, n), 0);
  json_error_t je;
  json_t *j = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, &je);
  ck_assert_msg(j != NULL, "part is not JSON: %s", je.text);
  ck_assert(json_is_object(j));
  free(raw);
  return j;
}

static decoded decode(const char *jws) {
  decoded d;
  const char *d1 = strchr(jws, '.');
  ck_assert_ptr_nonnull(d1);
  const char *d2 = strchr(d1 + 1, '.');
  ck_assert_ptr_nonnull(d2);
  ck_assert_ptr_null(strchr(d2 + 1, '.'));
  /* base64url without padding, nothing but the alphabet */
  ck_assert_uint_eq(strspn(jws, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
                                "tuvwxyz0123456789-_."),
                    strlen(jws));
  d.header = part_json(jws, (size_t)(d1 - jws));
  d.claims = part_json(d1 + 1, (size_t)(d2 - d1 - 1));
  ck_assert_int_eq(
      pkjwt__b64url_decode(&d.sig, &d.sig_len, d2 + 1, strlen(d2 + 1)), 0);
  return d;
}

static void decoded_free(decoded *d) {
  json_decref(d->header);
  json_decref(d->claims);
  free(d->sig);
}

static char *sign_ok(const pkjwt_key *key, const pkjwt_sign_options *o) {
  char *jws = NULL;
  pkjwt_error e = PKJWT_ERROR_INIT;
  int rc = pkjwt_assertion_sign(&jws, key, o, &e);
  ck_assert_msg(rc == PKJWT_OK, "sign: %d %s", rc, e.message);
  ck_assert_int_eq(e.code, PKJWT_OK);
  ck_assert_ptr_nonnull(jws);
  return jws;
}

static void sign_fails(const pkjwt_key *key, const pkjwt_sign_options *o,
                       int code, const char *needle) {
  char *jws = (char *)"untouched";
  pkjwt_error e = PKJWT_ERROR_INIT;
  int rc = pkjwt_assertion_sign(&jws, key, o, &e);
  ck_assert_msg(rc == code, "want %d got %d (%s)", code, rc, e.message);
  ck_assert_int_eq(e.code, code);
  ck_assert_ptr_null(jws);
  if (needle)
    ck_assert_msg(strstr(e.message, needle) != NULL, "'%s' not in '%s'", needle,
                  e.message);
}

static pkjwt_sign_options base_opts(void) {
  pkjwt_sign_options o = PKJWT_SIGN_OPTIONS_INIT;
  o.client_id = CLIENT;
  o.audience = AUD;
  o.now = NOW;
  return o;
}

/* ---- algorithm names ----------------------------------------------------- */

START_TEST(alg_names_and_refusals) {
  static const char *names[] = {"RS256", "RS384", "RS512", "PS256", "PS384",
                                "PS512", "ES256", "ES384", "ES512"};
  for (size_t i = 0; i < 9; i++) {
    pkjwt_alg a = PKJWT_ALG_DEFAULT;
    ck_assert_int_eq(pkjwt_alg_from_name(&a, names[i], NULL), PKJWT_OK);
    ck_assert_int_eq(a, (int)(PKJWT_ALG_RS256 + i));
    ck_assert_str_eq(pkjwt_alg_name(a), names[i]);
  }
  ck_assert_ptr_null(pkjwt_alg_name(PKJWT_ALG_DEFAULT));
  ck_assert_ptr_null(pkjwt_alg_name((pkjwt_alg)99));
  static const char *bad[] = {"none",  "NONE",  "HS256", "HS384",
                              "HS512", "hs256", "es256", "EdDSA",
                              "RS1",   "",      "ES256 "};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    pkjwt_alg a = PKJWT_ALG_ES256;
    pkjwt_error e = PKJWT_ERROR_INIT;
    ck_assert_int_eq(pkjwt_alg_from_name(&a, bad[i], &e), PKJWT_ERR_ALG);
    ck_assert_int_eq(a, PKJWT_ALG_ES256); /* untouched */
    ck_assert_int_gt((int)strlen(e.message), 5);
  }
  pkjwt_error e = PKJWT_ERROR_INIT;
  pkjwt_alg a;
  ck_assert_int_eq(pkjwt_alg_from_name(&a, "none", &e), PKJWT_ERR_ALG);
  ck_assert_ptr_nonnull(strstr(e.message, "none"));
  ck_assert_int_eq(pkjwt_alg_from_name(&a, "HS256", &e), PKJWT_ERR_ALG);
  ck_assert_ptr_nonnull(strstr(e.message, "HS256"));
  ck_assert_int_eq(pkjwt_alg_from_name(&a, NULL, &e), PKJWT_ERR_INVALID_ARG);
}
END_TEST

/* ---- every alg, judged by others ------------------------------------- */

static const struct {
  pkjwt_alg alg;
  const char *name;
  const char *key; /* file stem */
  size_t sig_len;
} every_alg[] = {
    {PKJWT_ALG_RS256, "RS256", "rsa", 256},
    {PKJWT_ALG_RS384, "RS384", "rsa", 256},
    {PKJWT_ALG_RS512, "RS512", "rsa", 256},
    {PKJWT_ALG_PS256, "PS256", "rsa", 256},
    {PKJWT_ALG_PS384, "PS384", "rsa", 256},
    {PKJWT_ALG_PS512, "PS512", "rsa", 256},
    {PKJWT_ALG_ES256, "ES256", "ec256", 64},
    {PKJWT_ALG_ES384, "ES384", "ec384", 96},
    {PKJWT_ALG_ES512, "ES512", "ec521", 132},
};

static pkjwt_key *key_by_stem(const char *stem) {
  if (strcmp(stem, "rsa") == 0)
    return rsa;
  if (strcmp(stem, "ec256") == 0)
    return ec256;
  if (strcmp(stem, "ec384") == 0)
    return ec384;
  return ec521;
}

START_TEST(every_alg_verified_by_independent_judges) {
  size_t i = (size_t)_i;
  pkjwt_sign_options o = base_opts();
  o.alg = every_alg[i].alg;
  o.nbf = 1;
  o.now = 0; /* the real clock: PyJWT and libjwt see a live token */
  char *jws = sign_ok(key_by_stem(every_alg[i].key), &o);

  decoded d = decode(jws);
  ck_assert_str_eq(json_string_value(json_object_get(d.header, "alg")),
                   every_alg[i].name);
  ck_assert_uint_eq(d.sig_len, every_alg[i].sig_len);
  decoded_free(&d);

  char *pub = NULL, *tok = test_path(dir, "tok");
  ck_assert_int_eq(test_write_file(tok, jws, strlen(jws)), 0);
  size_t pn = strlen(dir) + 16;
  pub = malloc(pn);
  snprintf(pub, pn, "%s/%s.pub", dir, every_alg[i].key);

  /* python3-jwcrypto and PyJWT, for every alg */
  char *out = NULL;
  int st = test_sh(&out, "'%s' '%s/judge.py' '%s' '%s' %s 2>&1", test_python3(),
                   dir, pub, tok, every_alg[i].name);
  ck_assert_msg(st == 0, "%s: judges refused: %s", every_alg[i].name, out);
  ck_assert_ptr_nonnull(strstr(out, "\"iss\": \"" CLIENT "\""));
  ck_assert_ptr_nonnull(strstr(out, "\"aud\": \"" AUD "\""));
  free(out);

  /* the judges can say no: a flipped signature byte is refused */
  char *bad = strdup(jws);
  size_t last = strlen(bad) - 2; /* not the final char: its low bits pad */
  bad[last] = bad[last] == 'A' ? 'B' : 'A';
  ck_assert_int_eq(test_write_file(tok, bad, strlen(bad)), 0);
  ck_assert_int_ne(test_sh(NULL,
                           "'%s' '%s/judge.py' '%s' '%s' %s >/dev/null 2>&1",
                           test_python3(), dir, pub, tok, every_alg[i].name),
                   0);

  /* libjwt where it has the alg (not PS*), with the openssl CLI's PEM */
  if (strncmp(every_alg[i].name, "PS", 2) != 0) {
    size_t pl;
    char *pem = test_read_file(pub, &pl);
    ck_assert_ptr_nonnull(pem);
    jwt_t *j = NULL;
    int rc = jwt_decode(&j, jws, (const unsigned char *)pem, (int)pl);
    ck_assert_msg(rc == 0, "libjwt refused %s: %d", every_alg[i].name, rc);
    ck_assert_str_eq(jwt_get_grant(j, "sub"), CLIENT);
    ck_assert_str_eq(jwt_alg_str(jwt_get_alg(j)), every_alg[i].name);
    jwt_free(j);
    ck_assert_int_ne(jwt_decode(&j, bad, (const unsigned char *)pem, (int)pl),
                     0);
    free(pem);
  }
  free(bad);
  free(pub);
  free(tok);
  pkjwt_str_free(jws);
}
END_TEST

/* PS: salt length equals the hash length. The openssl CLI checks a fixed
 * salt length exactly when told it. */
START_TEST(ps_salt_is_hash_length) {
  static const struct {
    pkjwt_alg alg;
    const char *dgst;
    int salt;
  } ps[] = {{PKJWT_ALG_PS256, "sha256", 32},
            {PKJWT_ALG_PS384, "sha384", 48},
            {PKJWT_ALG_PS512, "sha512", 64}};
  for (size_t i = 0; i < 3; i++) {
    pkjwt_sign_options o = base_opts();
    o.alg = ps[i].alg;
    char *jws = sign_ok(rsa, &o);
    char *dot = strrchr(jws, '.');
    unsigned char *sig;
    size_t sl;
    ck_assert_int_eq(pkjwt__b64url_decode(&sig, &sl, dot + 1, strlen(dot + 1)),
                     0);
    char *in = test_path(dir, "ps.in"), *sp = test_path(dir, "ps.sig");
    ck_assert_int_eq(test_write_file(in, jws, (size_t)(dot - jws)), 0);
    ck_assert_int_eq(test_write_file(sp, sig, sl), 0);
/* A literal, so the compiler checks the arguments against it. */
#define PSS_VERIFY_FMT                                                         \
  "'%s' dgst -%s -sigopt rsa_padding_mode:pss -sigopt "                        \
  "rsa_pss_saltlen:%d -sigopt rsa_mgf1_md:%s -verify "                         \
  "'%s/rsa.pub' -signature '%s' '%s' >/dev/null 2>&1"
    ck_assert_int_eq(test_sh(NULL, PSS_VERIFY_FMT, test_openssl(), ps[i].dgst,
                             ps[i].salt, ps[i].dgst, dir, sp, in),
                     0);
    /* and a wrong salt length is refused: the check has teeth */
    ck_assert_int_ne(test_sh(NULL, PSS_VERIFY_FMT, test_openssl(), ps[i].dgst,
                             ps[i].salt - 1, ps[i].dgst, dir, sp, in),
                     0);
    free(in);
    free(sp);
    free(sig);
    pkjwt_str_free(jws);
  }
}
END_TEST

/* ---- the claims, exactly ------------------------------------------------ */

static int valid_jti(const char *s) {
  return strlen(s) == 22 &&
         strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                   "0123456789-_") == 22;
}

START_TEST(claims_exactly_right) {
  pkjwt_sign_options o = base_opts();
  char *jws = sign_ok(ec256, &o);
  decoded d = decode(jws);
  /* header: alg, typ JWT, kid = RFC 7638 thumbprint; nothing else */
  ck_assert_uint_eq(json_object_size(d.header), 3);
  ck_assert_str_eq(json_string_value(json_object_get(d.header, "alg")),
                   "ES256");
  ck_assert_str_eq(json_string_value(json_object_get(d.header, "typ")), "JWT");
  ck_assert_str_eq(json_string_value(json_object_get(d.header, "kid")),
                   pkjwt_key_get_thumbprint(ec256));
  /* claims: iss, sub, aud, jti, iat, exp; nothing else */
  ck_assert_uint_eq(json_object_size(d.claims), 6);
  ck_assert_str_eq(json_string_value(json_object_get(d.claims, "iss")), CLIENT);
  ck_assert_str_eq(json_string_value(json_object_get(d.claims, "sub")), CLIENT);
  ck_assert(json_is_string(json_object_get(d.claims, "aud")));
  ck_assert_str_eq(json_string_value(json_object_get(d.claims, "aud")), AUD);
  ck_assert(json_is_integer(json_object_get(d.claims, "iat")));
  ck_assert_int_eq(json_integer_value(json_object_get(d.claims, "iat")), NOW);
  ck_assert_int_eq(json_integer_value(json_object_get(d.claims, "exp")),
                   NOW + 60);
  ck_assert_ptr_null(json_object_get(d.claims, "nbf"));
  const char *jti = json_string_value(json_object_get(d.claims, "jti"));
  ck_assert_ptr_nonnull(jti);
  ck_assert_msg(valid_jti(jti), "jti %s", jti);
  decoded_free(&d);
  pkjwt_str_free(jws);

  /* the kid is the thumbprint as python3-jwcrypto computes it */
  char *out = NULL;
  ck_assert_int_eq(test_sh(&out,
                           "'%s' -c \"from jwcrypto import jwk; "
                           "print(jwk.JWK.from_pem(open('%s/ec256.pub','rb')."
                           "read()).thumbprint())\"",
                           test_python3(), dir),
                   0);
  out[strcspn(out, "\n")] = '\0';
  ck_assert_str_eq(out, pkjwt_key_get_thumbprint(ec256));
  free(out);

  /* nbf, lifetime, typ, kid */
  o.nbf = 1;
  o.lifetime = 300;
  o.typ = PKJWT_TYP_CLIENT_AUTH;
  o.kid = "my-key-1";
  jws = sign_ok(ec256, &o);
  d = decode(jws);
  ck_assert_str_eq(json_string_value(json_object_get(d.header, "typ")),
                   "client-authentication+jwt");
  ck_assert_str_eq(json_string_value(json_object_get(d.header, "kid")),
                   "my-key-1");
  ck_assert_int_eq(json_integer_value(json_object_get(d.claims, "nbf")), NOW);
  ck_assert_int_eq(json_integer_value(json_object_get(d.claims, "exp")),
                   NOW + 300);
  ck_assert_uint_eq(json_object_size(d.claims), 7);
  decoded_free(&d);
  pkjwt_str_free(jws);

  /* no kid */
  o.no_kid = 1;
  jws = sign_ok(ec256, &o);
  d = decode(jws);
  ck_assert_ptr_null(json_object_get(d.header, "kid"));
  ck_assert_uint_eq(json_object_size(d.header), 2);
  decoded_free(&d);
  pkjwt_str_free(jws);

  /* the allowed maximum, and beyond it when the caller insists */
  o = base_opts();
  o.lifetime = PKJWT_ASSERTION_MAX_LIFETIME;
  jws = sign_ok(ec256, &o);
  d = decode(jws);
  ck_assert_int_eq(json_integer_value(json_object_get(d.claims, "exp")),
                   NOW + 3600);
  decoded_free(&d);
  pkjwt_str_free(jws);
  o.lifetime = 86400;
  o.allow_long_lifetime = 1;
  jws = sign_ok(ec256, &o);
  d = decode(jws);
  ck_assert_int_eq(json_integer_value(json_object_get(d.claims, "exp")),
                   NOW + 86400);
  decoded_free(&d);
  pkjwt_str_free(jws);
}
END_TEST

START_TEST(x5t_s256_of_the_certificate) {
  char *want = NULL;
  ck_assert_int_eq(
      test_sh(&want,
              "'%s' x509 -in '%s/ec256.crt' -outform DER | '%s' dgst "
              "-sha256 -binary | base64 | tr '+/' '-_' | tr -d '=\\n'",
              test_openssl(), dir, test_openssl()),
      0);
  ck_assert_uint_eq(strlen(want), 43);
  pkjwt_sign_options o = base_opts();
  o.cert = crt256;
  o.x5t = 1;
  char *jws = sign_ok(ec256, &o);
  decoded d = decode(jws);
  ck_assert_str_eq(json_string_value(json_object_get(d.header, "x5t#S256")),
                   want);
  ck_assert_ptr_null(json_object_get(d.header, "x5t"));
  decoded_free(&d);
  pkjwt_str_free(jws);

  /* PKJWT_X5T_SHA1: the legacy SHA-1 x5t beside x5t#S256 (Entra ID) */
  char *want1 = NULL;
  ck_assert_int_eq(
      test_sh(&want1,
              "'%s' x509 -in '%s/ec256.crt' -outform DER | '%s' dgst "
              "-sha1 -binary | base64 | tr '+/' '-_' | tr -d '=\\n'",
              test_openssl(), dir, test_openssl()),
      0);
  ck_assert_uint_eq(strlen(want1), 27);
  o.x5t = PKJWT_X5T_S256 | PKJWT_X5T_SHA1;
  jws = sign_ok(ec256, &o);
  d = decode(jws);
  ck_assert_str_eq(json_string_value(json_object_get(d.header, "x5t")), want1);
  ck_assert_str_eq(json_string_value(json_object_get(d.header, "x5t#S256")),
                   want);
  free(want1);
  free(want);
  decoded_free(&d);
  pkjwt_str_free(jws);

  /* a cert without x5t adds nothing */
  o.x5t = 0;
  jws = sign_ok(ec256, &o);
  d = decode(jws);
  ck_assert_ptr_null(json_object_get(d.header, "x5t#S256"));
  decoded_free(&d);
  pkjwt_str_free(jws);

  o.x5t = 1;
  o.cert = NULL;
  sign_fails(ec256, &o, PKJWT_ERR_INVALID_ARG, "certificate");
  o.cert = crt384; /* another key's certificate */
  sign_fails(ec256, &o, PKJWT_ERR_CERT, "not for this key");
}
END_TEST

START_TEST(default_alg_follows_the_key) {
  const struct {
    pkjwt_key **key;
    const char *alg;
  } k[] = {
      {&ec256, "ES256"}, {&ec384, "ES384"}, {&ec521, "ES512"}, {&rsa, "RS256"}};
  for (size_t i = 0; i < 4; i++) {
    pkjwt_sign_options o = base_opts();
    char *jws = sign_ok(*k[i].key, &o);
    decoded d = decode(jws);
    ck_assert_str_eq(json_string_value(json_object_get(d.header, "alg")),
                     k[i].alg);
    decoded_free(&d);
    pkjwt_str_free(jws);
  }
}
END_TEST

START_TEST(strings_are_escaped) {
  pkjwt_sign_options o = base_opts();
  const char *id = "a\"b\\c/\xc3\xa6\xe2\x82\xac\xf0\x9f\x94\x91";
  o.client_id = id;
  o.audience = "https://x.example/t?a=1&b=\"2\"";
  o.kid = "k\"1";
  o.typ = "a\\b";
  char *jws = sign_ok(ec256, &o);
  decoded d = decode(jws);
  ck_assert_str_eq(json_string_value(json_object_get(d.claims, "iss")), id);
  ck_assert_str_eq(json_string_value(json_object_get(d.claims, "sub")), id);
  ck_assert_str_eq(json_string_value(json_object_get(d.claims, "aud")),
                   o.audience);
  ck_assert_str_eq(json_string_value(json_object_get(d.header, "kid")), "k\"1");
  ck_assert_str_eq(json_string_value(json_object_get(d.header, "typ")), "a\\b");
  decoded_free(&d);
  pkjwt_str_free(jws);

  /* not UTF-8: refused, naming the field */
  static const char *bad[] = {"\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80",
                              "\xf4\x90\x80\x80"};
  for (size_t i = 0; i < 5; i++) {
    o = base_opts();
    o.client_id = bad[i];
    sign_fails(ec256, &o, PKJWT_ERR_INVALID_ARG, "client_id");
  }
  o = base_opts();
  o.audience = "\xfe";
  sign_fails(ec256, &o, PKJWT_ERR_INVALID_ARG, "audience");

  /* control characters (RFC 6749 A.1: a client id is VSCHAR): refused,
   * naming the field */
  static const char *ctl[] = {"a\nb", "a\tb", "\x01", "a\x1b[2J", "a\x7f"};
  for (size_t i = 0; i < 5; i++) {
    o = base_opts();
    o.client_id = ctl[i];
    sign_fails(ec256, &o, PKJWT_ERR_INVALID_ARG,
               "client_id holds a control character");
  }
  o = base_opts();
  o.kid = "k\r";
  sign_fails(ec256, &o, PKJWT_ERR_INVALID_ARG, "kid");
}
END_TEST

START_TEST(extra_claims_merged_never_override) {
  pkjwt_sign_options o = base_opts();
  o.extra_claims = "{\"scope\":\"contact-centre\",\"n\":1.5,\"o\":{\"a\":[1,"
                   "null,true]},\"u\":\"\\u00e6\"}";
  char *jws = sign_ok(ec256, &o);
  decoded d = decode(jws);
  ck_assert_uint_eq(json_object_size(d.claims), 10);
  ck_assert_str_eq(json_string_value(json_object_get(d.claims, "scope")),
                   "contact-centre");
  ck_assert(json_real_value(json_object_get(d.claims, "n")) == 1.5);
  ck_assert_uint_eq(
      json_array_size(json_object_get(json_object_get(d.claims, "o"), "a")), 3);
  ck_assert_str_eq(json_string_value(json_object_get(d.claims, "u")),
                   "\xc3\xa6");
  ck_assert_str_eq(json_string_value(json_object_get(d.claims, "iss")), CLIENT);
  decoded_free(&d);
  pkjwt_str_free(jws);

  o.extra_claims = "{}";
  jws = sign_ok(ec256, &o);
  d = decode(jws);
  ck_assert_uint_eq(json_object_size(d.claims), 6);
  decoded_free(&d);
  pkjwt_str_free(jws);

  static const char *reserved[] = {"iss", "sub", "aud", "exp",
                                   "iat", "nbf", "jti"};
  for (size_t i = 0; i < 7; i++) {
    char json[64];
    snprintf(json, sizeof(json), "{\"x\":1,\"%s\":\"evil\"}", reserved[i]);
    o.extra_claims = json;
    sign_fails(ec256, &o, PKJWT_ERR_INVALID_ARG, reserved[i]);
  }
  o.extra_claims = "[1,2]";
  sign_fails(ec256, &o, PKJWT_ERR_INVALID_ARG, "object");
  o.extra_claims = "{\"a\":1,\"a\":2}";
  sign_fails(ec256, &o, PKJWT_ERR_INVALID_ARG, "JSON");
  o.extra_claims = "{\"a\":";
  sign_fails(ec256, &o, PKJWT_ERR_INVALID_ARG, "JSON");
  o.extra_claims = "\"x\"";
  sign_fails(ec256, &o, PKJWT_ERR_INVALID_ARG, NULL);
}
END_TEST

START_TEST(bad_options_refused) {
  pkjwt_sign_options o = base_opts();
  char *jws = NULL;
  ck_assert_int_eq(pkjwt_assertion_sign(NULL, ec256, &o, NULL),
                   PKJWT_ERR_INVALID_ARG);
  sign_fails(NULL, &o, PKJWT_ERR_INVALID_ARG, "key");
  sign_fails(ec256, NULL, PKJWT_ERR_INVALID_ARG, NULL);

  o.lifetime = 0;
  sign_fails(ec256, &o, PKJWT_ERR_INVALID_ARG, "lifetime");
  o.lifetime = -5;
  sign_fails(ec256, &o, PKJWT_ERR_INVALID_ARG, "lifetime");
  o.lifetime = 3601;
  sign_fails(ec256, &o, PKJWT_ERR_INVALID_ARG, "3601");
  o = base_opts();
  o.client_id = NULL;
  sign_fails(ec256, &o, PKJWT_ERR_INVALID_ARG, "client_id");
  o.client_id = "";
  sign_fails(ec256, &o, PKJWT_ERR_INVALID_ARG, "client_id");
  o = base_opts();
  o.audience = NULL;
  sign_fails(ec256, &o, PKJWT_ERR_INVALID_ARG, "audience");
  o = base_opts();
  o.version = 99;
  sign_fails(ec256, &o, PKJWT_ERR_INVALID_ARG, "version");
  o = base_opts();
  o.alg = (pkjwt_alg)77;
  sign_fails(ec256, &o, PKJWT_ERR_ALG, NULL);

  /* an ES alg works only on its own curve; RS/PS need RSA */
  o = base_opts();
  o.alg = PKJWT_ALG_ES256;
  sign_fails(ec384, &o, PKJWT_ERR_ALG, "P-256");
  sign_fails(rsa, &o, PKJWT_ERR_ALG, NULL);
  o.alg = PKJWT_ALG_ES512;
  sign_fails(ec384, &o, PKJWT_ERR_ALG, "P-521");
  o.alg = PKJWT_ALG_RS256;
  sign_fails(ec256, &o, PKJWT_ERR_ALG, "RSA");
  o.alg = PKJWT_ALG_PS512;
  sign_fails(ec521, &o, PKJWT_ERR_ALG, "RSA");

  /* a public key cannot sign */
  o = base_opts();
  sign_fails(ec256_pub, &o, PKJWT_ERR_NO_PRIVATE_KEY, "private");
  (void)jws;
}
END_TEST

/* ---- fixed-width ECDSA ------------------------------------------------- */

START_TEST(es256_600_signatures_each_64_bytes) {
  pkjwt_sign_options o = base_opts();
  int short_r_or_s = 0;
  for (int i = 0; i < tu_rounds(600); i++) {
    char *jws = sign_ok(ec256, &o);
    const char *dot = strrchr(jws, '.');
    ck_assert_uint_eq(strlen(dot + 1), 86); /* 64 bytes in base64url */
    unsigned char *sig;
    size_t sl;
    ck_assert_int_eq(pkjwt__b64url_decode(&sig, &sl, dot + 1, strlen(dot + 1)),
                     0);
    ck_assert_uint_eq(sl, 64);
    /* zero-padded halves show up about 1 time in 128 */
    if (sig[0] == 0 || sig[32] == 0)
      short_r_or_s++;
    free(sig);
    pkjwt_str_free(jws);
  }
  /* P-384 and P-521 keep their widths too */
  o.alg = PKJWT_ALG_ES384;
  for (int i = 0; i < tu_rounds(50); i++) {
    char *jws = sign_ok(ec384, &o);
    decoded d = decode(jws);
    ck_assert_uint_eq(d.sig_len, 96);
    decoded_free(&d);
    pkjwt_str_free(jws);
  }
  o.alg = PKJWT_ALG_ES512;
  for (int i = 0; i < tu_rounds(50); i++) {
    char *jws = sign_ok(ec521, &o);
    decoded d = decode(jws);
    ck_assert_uint_eq(d.sig_len, 132);
    /* r, s < 2^521: the top byte of each half holds at most one bit */
    ck_assert_uint_le(d.sig[0], 1);
    ck_assert_uint_le(d.sig[66], 1);
    decoded_free(&d);
    pkjwt_str_free(jws);
  }
  (void)short_r_or_s;
}
END_TEST

/* ---- jti -------------------------------------------------------------------
 */

static int cmp_str(const void *a, const void *b) {
  return strcmp((const char *)a, (const char *)b);
}

START_TEST(jti_100000_without_repeat) {
  const int N = tu_rounds(100000);
  char(*all)[PKJWT__JTI_LEN + 1] = malloc((size_t)N * sizeof(*all));
  ck_assert_ptr_nonnull(all);
  for (int i = 0; i < N; i++) { /* ck_abort: no record per passing round */
    int rc = pkjwt__jti(all[i], NULL);
    if (rc != PKJWT_OK)
      ck_abort_msg("jti %d: code %d", i, rc);
    if (!valid_jti(all[i]))
      ck_abort_msg("bad jti %s", all[i]);
  }
  qsort(all, N, sizeof(*all), cmp_str);
  for (int i = 1; i < N; i++)
    if (strcmp(all[i - 1], all[i]) == 0)
      ck_abort_msg("jti %s repeats", all[i]);
  free(all);

  /* and through the API: two assertions never share a jti */
  pkjwt_sign_options o = base_opts();
  char *a = sign_ok(ec256, &o), *b = sign_ok(ec256, &o);
  decoded da = decode(a), db = decode(b);
  ck_assert_str_ne(json_string_value(json_object_get(da.claims, "jti")),
                   json_string_value(json_object_get(db.claims, "jti")));
  decoded_free(&da);
  decoded_free(&db);
  pkjwt_str_free(a);
  pkjwt_str_free(b);
}
END_TEST

/* A forked child must not hand out the jtis its parent will. */
START_TEST(jti_differs_after_fork) {
  char first[PKJWT__JTI_LEN + 1], mine[PKJWT__JTI_LEN + 1];
  char theirs[PKJWT__JTI_LEN + 1] = {0};
  ck_assert_int_eq(pkjwt__jti(first, NULL), PKJWT_OK); /* pool now filled */
  int fd[2];
  ck_assert_int_eq(pipe(fd), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    char c[PKJWT__JTI_LEN + 1];
    int ok = pkjwt__jti(c, NULL) == PKJWT_OK;
    ssize_t w = ok ? write(fd[1], c, PKJWT__JTI_LEN) : -1;
    _exit(w == PKJWT__JTI_LEN ? 0 : 1);
  }
  close(fd[1]);
  ck_assert_int_eq(pkjwt__jti(mine, NULL), PKJWT_OK);
  ck_assert_int_eq((int)read(fd[0], theirs, PKJWT__JTI_LEN), PKJWT__JTI_LEN);
  close(fd[0]);
  int st;
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  ck_assert_str_ne(mine, theirs);
  ck_assert_str_ne(first, theirs);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("sign");
  TCase *tc = tcase_create("core");
  tcase_add_unchecked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, alg_names_and_refusals);
  tcase_add_loop_test(tc, every_alg_verified_by_independent_judges, 0,
                      (int)(sizeof(every_alg) / sizeof(every_alg[0])));
  tcase_add_test(tc, ps_salt_is_hash_length);
  tcase_add_test(tc, claims_exactly_right);
  tcase_add_test(tc, x5t_s256_of_the_certificate);
  tcase_add_test(tc, default_alg_follows_the_key);
  tcase_add_test(tc, strings_are_escaped);
  tcase_add_test(tc, extra_claims_merged_never_override);
  tcase_add_test(tc, bad_options_refused);
  tcase_add_test(tc, es256_600_signatures_each_64_bytes);
  tcase_add_test(tc, jti_100000_without_repeat);
  tcase_add_test(tc, jti_differs_after_fork);
  suite_add_tcase(s, tc);
  return s;
}

PKJWT_TEST_MAIN(make_suite)
