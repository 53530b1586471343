/*
 * lib/snapshot.h: a seqlock over one string (the client's cached access
 * token), so that readers copy it without a lock and without writing any
 * shared memory: cached gets cost tens of nanoseconds and scale with
 * threads. One writer at a time (the caller's lock); any number of readers.
 */
#ifndef PKJWT_SNAPSHOT_H
#define PKJWT_SNAPSHOT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* An immutable-capacity buffer of words. Readers may hold a pointer to one
 * that has been replaced, so replaced buffers live until the snapshot is
 * freed; capacities double, so there are at most a few dozen. */
typedef struct pkjwt__snap_buf {
  struct pkjwt__snap_buf *retired_next; /* under the writer's lock */
  size_t cap_words;                     /* fixed at allocation */
  _Atomic uint64_t w[];
} pkjwt__snap_buf;

typedef struct pkjwt__snapshot {
  _Atomic unsigned long seq; /* odd while a write is under way */
  _Atomic(pkjwt__snap_buf *) buf;
  _Atomic size_t len; /* 0: no string */
  _Atomic int64_t refresh_at, expires_at;
  pkjwt__snap_buf *retired; /* under the writer's lock */
} pkjwt__snapshot;

/* An empty snapshot (no string). */
void pkjwt__snapshot_init(pkjwt__snapshot *s);

/* Wipe and free every buffer; no reader may be running. */
void pkjwt__snapshot_free(pkjwt__snapshot *s);

/*
 * With the writer's lock held: publish tok (NULL: "no string") with its
 * refresh and expiry times. PKJWT_ERR_NOMEM when a larger buffer cannot be
 * had (the old string stays published).
 */
int pkjwt__snapshot_publish(pkjwt__snapshot *s, const char *tok,
                            int64_t refresh_at, int64_t expires_at);

/*
 * Copy the string into buf when it is fresh at now (now < refresh_at).
 * Returns 1 (copied, NUL-terminated, *expires_at set when not NULL), 0 (no
 * fresh string) or -1 (buf too small; *need set to the size needed).
 */
int pkjwt__snapshot_read(pkjwt__snapshot *s, char *buf, size_t buflen,
                         int64_t now, int64_t *expires_at, size_t *need);

#endif
