/*
 * lib/dl.c: load a shared library on first use and fill a table of its
 * functions. libpkjwt does not link libp11 nor libjwt: a process that only
 * signs with a key file (pkjwt-sign) would pay for loading them at every
 * start (docs/performance.md), so lib/pkcs11.c and lib/verify.c load them
 * here the first time a PKCS#11 URI or a libjwt judgement needs them.
 *
 * A loaded library is never closed: libp11's OpenSSL key methods and the
 * keys that use them live as long as the process.
 */
#include "internal.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int pkjwt__dl_load(void *table, const char *soname, const char *package,
                   const struct pkjwt__dl_sym *syms, size_t n, char *why,
                   size_t why_len) {
  void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    /* dlerror() repeats the soname; the package tells what to install */
    snprintf(why, why_len, "cannot load %s (install the Debian package %s)",
             soname, package);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    void *p = dlsym(h, syms[i].name);
    if (!p) {
      snprintf(why, why_len, "%s has no function %s (a version of %s too old)",
               soname, syms[i].name, package);
      /* kept open: the loader would not unload a library it shares */
      return -1;
    }
    /* POSIX: a function pointer and void * have one size and form */
    memcpy((char *)table + syms[i].offset, &p, sizeof(p));
  }
  return 0;
}
