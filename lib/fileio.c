/*
 * lib/fileio.c: reading key and certificate files, and writing files the way
 * ssh-keygen does: a new temporary file in the same folder with an exact
 * mode, fsync, then an atomic link or rename into place.
 */
#define _GNU_SOURCE 1
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

static int fail_errno(pkjwt_error *err, int code, const char *what, int e) {
  char buf[PKJWT__STRERROR_LEN];
  return pkjwt__fail(err, code, "%s: %s", what,
                     pkjwt__strerror(e, buf, sizeof(buf)));
}

int pkjwt__read_file(unsigned char **out, size_t *len, mode_t *mode,
                     const char *path, size_t max, pkjwt_error *err) {
  if (!out || !len || !path || !*path)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no file name given");
  *out = NULL;
  *len = 0;
  /* O_NONBLOCK: opening a FIFO must not hang waiting for a writer; the
   * fstat below refuses it anyway. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return fail_errno(err, PKJWT_ERR_IO, "cannot open", errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return fail_errno(err, PKJWT_ERR_IO, "cannot stat", e);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return pkjwt__fail(err, PKJWT_ERR_IO, "%s",
                       S_ISDIR(st.st_mode) ? "is a folder, not a file"
                                           : "not a regular file");
  }
  if (st.st_size < 0 || (uintmax_t)st.st_size > (uintmax_t)max) {
    close(fd);
    return pkjwt__fail(err, PKJWT_ERR_IO, "file is larger than %zu bytes", max);
  }
  /* Read up to max + 1 bytes so a file that grows after fstat is caught. */
  size_t cap = (size_t)st.st_size + 1;
  unsigned char *buf = malloc(cap + 1);
  if (!buf) {
    close(fd);
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  }
  size_t n = 0;
  for (;;) {
    if (n == cap) {
      if (cap > max) {
        pkjwt__cleanse_free(buf, cap + 1);
        close(fd);
        return pkjwt__fail(err, PKJWT_ERR_IO, "file is larger than %zu bytes",
                           max);
      }
      size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
      unsigned char *nb = malloc(ncap + 1);
      if (!nb) {
        pkjwt__cleanse_free(buf, cap + 1);
        close(fd);
        return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
      }
      memcpy(nb, buf, n);
      pkjwt__cleanse_free(buf, cap + 1);
      buf = nb;
      cap = ncap;
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      int e = errno;
      pkjwt__cleanse_free(buf, cap + 1);
      close(fd);
      return fail_errno(err, PKJWT_ERR_IO, "cannot read", e);
    }
    if (r == 0)
      break;
    n += (size_t)r;
  }
  close(fd);
  if (n > max) {
    pkjwt__cleanse_free(buf, cap + 1);
    return pkjwt__fail(err, PKJWT_ERR_IO, "file is larger than %zu bytes", max);
  }
  /* Shrink to n + 1 so the caller can free with pkjwt__cleanse_free(*out,
   * *len + 1) whatever capacity was used here. */
  unsigned char *res = malloc(n + 1);
  if (!res) {
    pkjwt__cleanse_free(buf, cap + 1);
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  }
  memcpy(res, buf, n);
  res[n] = '\0';
  pkjwt__cleanse_free(buf, cap + 1);
  *out = res;
  *len = n;
  if (mode)
    *mode = st.st_mode;
  return PKJWT_OK;
}

/* The folder part of path ("." when there is none), malloc'd. */
static char *folder_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash)
    return pkjwt__strdup(".");
  if (slash == path)
    return pkjwt__strdup("/");
  size_t n = (size_t)(slash - path);
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, path, n);
    d[n] = '\0';
  }
  return d;
}

static int write_all(int fd, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n > SSIZE_MAX ? SSIZE_MAX : n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/*
 * Move tmp to path without ever replacing an existing path. renameat2 with
 * RENAME_NOREPLACE is atomic; where the file system lacks it, link(2) is
 * just as safe (it fails with EEXIST). Only if neither exists do we fall back
 * to check-then-rename, which has a small race but still never leaves the
 * temporary file behind. Returns 0, or -1 with errno set.
 */
static int move_noreplace(const char *tmp, const char *path) {
#ifdef RENAME_NOREPLACE
  if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
    return 0;
  if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
    return -1;
#endif
  if (link(tmp, path) == 0) {
    unlink(tmp);
    return 0;
  }
  if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS)
    return -1;
  struct stat st;
  if (lstat(path, &st) == 0) {
    errno = EEXIST;
    return -1;
  }
  return rename(tmp, path);
}

int pkjwt__write_file_atomic(const char *path, const void *data, size_t len,
                             mode_t mode, int force, pkjwt_error *err) {
  if (!path || !*path)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no file name given");
  if (!data && len > 0)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "nothing to write");
  size_t plen = strlen(path);
  if (path[plen - 1] == '/')
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG,
                       "file name ends in '/': a file is needed, not a folder");

  struct stat st;
  if (lstat(path, &st) == 0) {
    if (S_ISDIR(st.st_mode))
      return pkjwt__fail(err, PKJWT_ERR_IO, "is a folder, not a file");
    if (!force)
      return pkjwt__fail(err, PKJWT_ERR_EXISTS,
                         "file exists (pass force to replace it)");
  }

  char *dir = folder_of(path);
  /* tmp = "<path>.tmp-XXXXXXXXXXXXXXXX": same folder, so rename is atomic. */
  size_t tlen = plen + sizeof(".tmp-") + 16;
  char *tmp = malloc(tlen);
  if (!dir || !tmp) {
    free(dir);
    free(tmp);
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  }

  int fd = -1, e = 0;
  for (int tries = 0; tries < 100 && fd < 0; tries++) {
    unsigned char rnd[8];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
      free(dir);
      free(tmp);
      return pkjwt__fail_ssl(err, PKJWT_ERR_CRYPTO,
                             "no random bytes for a temporary file name");
    }
    snprintf(tmp, tlen, "%s.tmp-%02x%02x%02x%02x%02x%02x%02x%02x", path, rnd[0],
             rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
              mode & 07777);
    if (fd < 0 && errno != EEXIST)
      break;
  }
  if (fd < 0) {
    e = errno;
    free(dir);
    free(tmp);
    return fail_errno(err, PKJWT_ERR_IO, "cannot create the file", e);
  }

  int rc = PKJWT_OK;
  /* open() applied the umask; fchmod() sets exactly the mode asked for. */
  if (fchmod(fd, mode & 07777) != 0)
    rc = fail_errno(err, PKJWT_ERR_IO, "cannot set the file mode", errno);
  else if (write_all(fd, data, len) != 0)
    rc = fail_errno(err, PKJWT_ERR_IO, "cannot write", errno);
  else if (fsync(fd) != 0)
    rc = fail_errno(err, PKJWT_ERR_IO, "cannot sync", errno);
  if (close(fd) != 0 && rc == PKJWT_OK)
    rc = fail_errno(err, PKJWT_ERR_IO, "cannot close", errno);

  if (rc == PKJWT_OK) {
    if (force) {
      if (rename(tmp, path) != 0)
        rc = fail_errno(err, PKJWT_ERR_IO, "cannot rename into place", errno);
    } else if (move_noreplace(tmp, path) != 0) {
      if (errno == EEXIST)
        rc = pkjwt__fail(err, PKJWT_ERR_EXISTS,
                         "file exists (pass force to replace it)");
      else
        rc = fail_errno(err, PKJWT_ERR_IO, "cannot move into place", errno);
    }
  }
  if (rc != PKJWT_OK) {
    unlink(tmp);
  } else {
    /* Make the new name durable. The file is in place by now, so a folder
     * that cannot be synced (some file systems refuse) is not an error. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      (void)fsync(dfd);
      close(dfd);
    }
  }
  free(dir);
  free(tmp);
  return rc;
}
