/*
 * tests/p11_nosign.c MODULE TOKEN PIN LABEL: set CKA_SIGN false on the
 * private key LABEL of TOKEN, through the module's own PKCS#11 functions.
 * A test helper (tests/pkcs11-setup.sh): pkcs11-tool always lets a
 * private key sign, and the tests need one that may not. The PIN on the
 * command line is a test token's.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

static int fail(const char *what, CK_RV rv) {
  fprintf(stderr, "p11_nosign: %s failed (CKR 0x%lx)\n", what,
          (unsigned long)rv);
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: p11_nosign MODULE TOKEN PIN LABEL\n");
    return 2;
  }
  void *h = dlopen(argv[1], RTLD_NOW);
  if (!h) {
    fprintf(stderr, "p11_nosign: %s\n", dlerror());
    return 1;
  }
  CK_C_GetFunctionList get =
      (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
  CK_FUNCTION_LIST_PTR f = NULL;
  CK_RV rv;
  if (!get || (rv = get(&f)) != CKR_OK)
    return fail("C_GetFunctionList", get ? rv : 0);
  if ((rv = f->C_Initialize(NULL)) != CKR_OK)
    return fail("C_Initialize", rv);
  CK_SLOT_ID slots[16];
  CK_ULONG n = 16;
  if ((rv = f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK)
    return fail("C_GetSlotList", rv);
  size_t tlen = strlen(argv[2]);
  for (CK_ULONG i = 0; i < n; i++) {
    CK_TOKEN_INFO ti;
    if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
      continue;
    if (tlen > sizeof(ti.label) || memcmp(ti.label, argv[2], tlen) != 0 ||
        (tlen < sizeof(ti.label) && ti.label[tlen] != ' '))
      continue;
    CK_SESSION_HANDLE s;
    if ((rv = f->C_OpenSession(slots[i], CKF_SERIAL_SESSION | CKF_RW_SESSION,
                               NULL, NULL, &s)) != CKR_OK)
      return fail("C_OpenSession", rv);
    if ((rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)argv[3],
                         strlen(argv[3]))) != CKR_OK)
      return fail("C_Login", rv);
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE want[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_LABEL, argv[4], strlen(argv[4])}};
    CK_OBJECT_HANDLE o;
    CK_ULONG found = 0;
    if ((rv = f->C_FindObjectsInit(s, want, 2)) != CKR_OK ||
        (rv = f->C_FindObjects(s, &o, 1, &found)) != CKR_OK)
      return fail("C_FindObjects", rv);
    f->C_FindObjectsFinal(s);
    if (found != 1) {
      fprintf(stderr, "p11_nosign: no private key %s\n", argv[4]);
      return 1;
    }
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE set[] = {{CKA_SIGN, &no, sizeof(no)}};
    if ((rv = f->C_SetAttributeValue(s, o, set, 1)) != CKR_OK)
      return fail("C_SetAttributeValue(CKA_SIGN)", rv);
    f->C_CloseSession(s);
    f->C_Finalize(NULL);
    return 0;
  }
  fprintf(stderr, "p11_nosign: no token %s\n", argv[2]);
  return 1;
}
