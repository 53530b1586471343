/*
 * lib/store_file.c: the file token store (pkjwt_store_file_new). One file
 * per key in a folder of the user's (0700), written 0600 by the library's
 * one atomic writer (pkjwt__write_file_atomic: temporary file, fsync,
 * rename), so a reader sees a whole record or none. The lock is KEY.lock
 * held with flock(2): each lock opens the file anew, so threads of one
 * process exclude each other as processes do, and the kernel drops the
 * lock of a process that dies.
 */
#define _DEFAULT_SOURCE 1
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Keys are the client's cache id: hex digits; anything else (a path) is
 * refused. */
#define KEY_MAX 128

struct file_store {
  char *dir;
};

static int key_ok(const char *key) {
  return pkjwt__word_ok(key, KEY_MAX, "0123456789abcdefghijklmnopqrstuvwxyz-_");
}

/* dir/key[suffix], malloc'd; NULL for a bad key or no memory. */
static char *path_of(const struct file_store *fs, const char *key,
                     const char *suffix) {
  if (!key_ok(key))
    return NULL;
  return pkjwt__concat(fs->dir, strlen(fs->dir), "/", key, suffix,
                       (const char *)NULL);
}

/* A file we trust: a regular file of ours that only we can reach. */
static int private_file(const struct stat *st) {
  return S_ISREG(st->st_mode) && st->st_uid == geteuid() &&
         (st->st_mode & 077) == 0;
}

static int fs_get(void *ctx, const char *key, char *buf, size_t size,
                  size_t *len, long timeout_ms) {
  (void)timeout_ms;
  *len = 0;
  char *path = path_of(ctx, key, "");
  if (!path)
    return PKJWT_STORE_FAIL;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  free(path);
  if (fd < 0)
    return errno == ENOENT ? PKJWT_STORE_MISS : PKJWT_STORE_FAIL;
  struct stat st;
  /* A file others could have written or read is not served; the next put
   * replaces it. */
  if (fstat(fd, &st) != 0 || !private_file(&st)) {
    close(fd);
    return PKJWT_STORE_MISS;
  }
  size_t got = 0;
  for (;;) {
    if (got == size) {
      char c;
      ssize_t more = read(fd, &c, 1);
      if (more > 0)
        got++; /* longer than size: the client ignores it */
      break;
    }
    ssize_t r = read(fd, buf + got, size - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      close(fd);
      return PKJWT_STORE_FAIL;
    }
    if (r == 0)
      break;
    got += (size_t)r;
  }
  close(fd);
  *len = got;
  return PKJWT_STORE_OK;
}

static int fs_put(void *ctx, const char *key, const char *value, size_t len,
                  long ttl_ms, long timeout_ms) {
  (void)ttl_ms; /* the record carries its expiry */
  (void)timeout_ms;
  char *path = path_of(ctx, key, "");
  if (!path)
    return PKJWT_STORE_FAIL;
  int rc = pkjwt__write_file_atomic(path, value, len, 0600, 1, NULL);
  free(path);
  return rc == PKJWT_OK ? PKJWT_STORE_OK : PKJWT_STORE_FAIL;
}

static int fs_del(void *ctx, const char *key, long timeout_ms) {
  (void)timeout_ms;
  char *path = path_of(ctx, key, "");
  if (!path)
    return PKJWT_STORE_FAIL;
  int r = unlink(path);
  int e = errno;
  free(path);
  return r == 0 || e == ENOENT ? PKJWT_STORE_OK : PKJWT_STORE_FAIL;
}

static int fs_lock(void *ctx, const char *key, long lifetime_ms,
                   long timeout_ms, void **handle) {
  (void)lifetime_ms; /* the kernel ends the lock with its holder */
  (void)timeout_ms;
  *handle = NULL;
  char *path = path_of(ctx, key, ".lock");
  if (!path)
    return PKJWT_STORE_FAIL;
  int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  free(path);
  struct stat st;
  if (fd < 0)
    return PKJWT_STORE_FAIL;
  if (fstat(fd, &st) != 0 || !private_file(&st)) {
    close(fd);
    return PKJWT_STORE_FAIL;
  }
  int r;
  do
    r = flock(fd, LOCK_EX | LOCK_NB);
  while (r != 0 && errno == EINTR);
  if (r != 0) {
    int e = errno;
    close(fd);
    return e == EWOULDBLOCK ? PKJWT_STORE_BUSY : PKJWT_STORE_FAIL;
  }
  int *h = malloc(sizeof(*h));
  if (!h) {
    close(fd); /* drops the lock */
    return PKJWT_STORE_FAIL;
  }
  *h = fd;
  *handle = h;
  return PKJWT_STORE_OK;
}

static void fs_unlock(void *ctx, const char *key, void *handle,
                      long timeout_ms) {
  (void)ctx;
  (void)key;
  (void)timeout_ms;
  int *h = handle;
  if (!h)
    return;
  close(*h); /* releases the flock */
  free(h);
}

static void fs_destroy(void *ctx) {
  struct file_store *fs = ctx;
  if (fs) {
    free(fs->dir);
    free(fs);
  }
}

/* malloc'd a + b. */
static char *concat(const char *a, const char *b) {
  return pkjwt__concat(a, strlen(a), b, (const char *)NULL);
}

/* The default folder: $XDG_CACHE_HOME/pkjwt (an absolute one), else
 * $HOME/.cache/pkjwt (HOME from the password database when unset). *parent
 * is the folder above it, made too when absent. */
static int default_dir(char **dir, char **parent, pkjwt_error *err) {
  const char *xdg = getenv("XDG_CACHE_HOME");
  if (xdg && xdg[0] == '/') {
    *parent = pkjwt__strdup(xdg);
  } else {
    const char *home = getenv("HOME");
    if (!home || !*home) {
      struct passwd *pw = getpwuid(geteuid());
      home = pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir : NULL;
    }
    if (!home)
      return pkjwt__fail(err, PKJWT_ERR_IO,
                         "no XDG_CACHE_HOME or home folder for the token "
                         "store");
    *parent = concat(home, "/.cache");
  }
  *dir = *parent ? concat(*parent, "/pkjwt") : NULL;
  if (!*dir)
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  return PKJWT_OK;
}

/* mkdir 0700 unless it is there. */
static int make_dir(const char *path, pkjwt_error *err) {
  if (mkdir(path, 0700) == 0 || errno == EEXIST)
    return PKJWT_OK;
  char eb[PKJWT__STRERROR_LEN];
  return pkjwt__fail(err, PKJWT_ERR_IO, "token store folder %s: %s", path,
                     pkjwt__strerror(errno, eb, sizeof(eb)));
}

int pkjwt_store_file_new(pkjwt_store **out, const char *dir,
                         pkjwt_error *err) {
  PKJWT__ERROR_BEGIN(err);
  if (!out)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "no place for the store");
  *out = NULL;
  if (dir && !*dir)
    return pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "empty store folder");
  char *path = NULL, *parent = NULL;
  int rc = PKJWT_OK;
  if (dir) {
    if (!(path = pkjwt__strdup(dir)))
      rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  } else {
    rc = default_dir(&path, &parent, err);
  }
  if (rc == PKJWT_OK && parent)
    rc = make_dir(parent, err);
  if (rc == PKJWT_OK)
    rc = make_dir(path, err);
  free(parent);
  struct stat st;
  if (rc == PKJWT_OK) {
    if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
      rc = pkjwt__fail(err, PKJWT_ERR_IO,
                       "token store folder %s: not a folder", path);
    else if (st.st_uid != geteuid() || (st.st_mode & 022) != 0)
      rc = pkjwt__fail(err, PKJWT_ERR_INSECURE,
                       "token store folder %s: %s (chmod 700)", path,
                       st.st_uid != geteuid() ? "not the user's own"
                                              : "others can write it");
  }
  struct file_store *fs = NULL;
  pkjwt_store *s = NULL;
  if (rc == PKJWT_OK) {
    fs = calloc(1, sizeof(*fs));
    s = calloc(1, sizeof(*s));
    if (!fs || !s)
      rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  }
  if (rc != PKJWT_OK) {
    free(path);
    free(fs);
    free(s);
    return rc;
  }
  fs->dir = path;
  s->version = PKJWT_STORE_VERSION;
  s->ctx = fs;
  s->get = fs_get;
  s->put = fs_put;
  s->del = fs_del;
  s->lock = fs_lock;
  s->unlock = fs_unlock;
  s->destroy = fs_destroy;
  *out = s;
  return PKJWT_OK;
}
