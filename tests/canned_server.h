/*
 * tests/canned_server.h: one canned-answer HTTP server on 127.0.0.1 for the
 * tests and benches. A thread accepts one connection at a time, reads a
 * whole request (head and Content-Length body), waits delay_ms, sends the
 * answer and closes. The answer is either a fixed string (answer) or made
 * per request by a callback (make), so a test can hand out a different
 * token each time.
 *
 *   canned_server s = {0};
 *   s.answer = CANNED_JSON_200("{...}");
 *   if (canned_start(&s) != 0) ... ;     s.base is "http://127.0.0.1:PORT"
 *   ... requests ...                     s.requests counts them,
 *                                        s.last_req holds the last one
 *   canned_stop(&s);
 *
 * The answer and make may be changed between requests (not during one).
 */
#ifndef PKJWT_TESTS_CANNED_SERVER_H
#define PKJWT_TESTS_CANNED_SERVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CANNED_REQ_MAX 16384

/* A 200 answer with a JSON body (the connection closes, so no length). */
#define CANNED_JSON_200(body)                                                  \
  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: "          \
  "close\r\n\r\n" body

typedef struct canned_server {
  /* set by the caller */
  const char *answer; /* the whole HTTP answer, used when make is NULL */
  /* Make the answer to request number n (from 1) into a malloc'd string;
   * NULL closes the connection without an answer. */
  char *(*make)(void *userdata, int n);
  void *userdata;
  long delay_ms; /* before each answer */
  /* set by the server */
  char base[64];                 /* "http://127.0.0.1:PORT" */
  atomic_int requests;           /* whole requests read so far */
  char last_req[CANNED_REQ_MAX]; /* the last one, head and body */
  /* private */
  char *buf; /* the thread's request buffer, reachable from here so that a
                forked child (without the thread) leaks nothing */
  int fd;
  atomic_int stop;
  pthread_t th;
} canned_server;

/* Read one whole request into buf (NUL-terminated); its length or -1. */
static inline long canned_read_request(int fd, char *buf, size_t cap) {
  size_t n = 0;
  char *hend = NULL;
  long clen = 0;
  while (n + 1 < cap) {
    ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
    if (r <= 0)
      break;
    n += (size_t)r;
    buf[n] = '\0';
    if (!hend && (hend = strstr(buf, "\r\n\r\n")) != NULL) {
      char *cl = strcasestr(buf, "\r\nContent-Length:");
      clen = cl ? strtol(cl + 17, NULL, 10) : 0;
    }
    if (hend && (long)(n - (size_t)(hend + 4 - buf)) >= clen)
      return (long)n;
  }
  buf[n] = '\0';
  return hend ? (long)n : -1;
}

static inline void canned_send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0)
      return;
    p += w;
    n -= (size_t)w;
  }
}

static inline void *canned_serve(void *arg) {
  canned_server *s = arg;
  char *buf = malloc(CANNED_REQ_MAX);
  if (!buf)
    return NULL;
  s->buf = buf;
  while (!atomic_load(&s->stop)) {
    struct pollfd p = {s->fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0)
      continue;
    int fd = accept(s->fd, NULL, NULL);
    if (fd < 0)
      continue;
    long n = canned_read_request(fd, buf, CANNED_REQ_MAX);
    if (n >= 0) {
      memcpy(s->last_req, buf, (size_t)n + 1);
      int k = atomic_fetch_add(&s->requests, 1) + 1;
      if (s->delay_ms > 0) {
        struct timespec ts = {s->delay_ms / 1000,
                              (s->delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
      }
      if (s->make) {
        char *a = s->make(s->userdata, k);
        if (a)
          canned_send_all(fd, a, strlen(a));
        free(a);
      } else if (s->answer) {
        canned_send_all(fd, s->answer, strlen(s->answer));
      }
    }
    close(fd);
  }
  free(buf);
  return NULL;
}

/* Listen on a free loopback port and start serving: 0, or -1. */
static inline int canned_start(canned_server *s) {
  atomic_init(&s->stop, 0);
  atomic_init(&s->requests, 0);
  s->last_req[0] = '\0';
  s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s->fd < 0)
    return -1;
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof(a);
  if (bind(s->fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
      listen(s->fd, 128) != 0 ||
      getsockname(s->fd, (struct sockaddr *)&a, &al) != 0 ||
      pthread_create(&s->th, NULL, canned_serve, s) != 0) {
    close(s->fd);
    s->fd = -1;
    return -1;
  }
  snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", ntohs(a.sin_port));
  return 0;
}

static inline void canned_stop(canned_server *s) {
  if (s->fd < 0)
    return;
  atomic_store(&s->stop, 1);
  pthread_join(s->th, NULL);
  close(s->fd);
  s->fd = -1;
}

#endif
