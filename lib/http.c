/*
 * lib/http.c: the token client's HTTP transport on libcurl: the URL policy,
 * one POST or GET per call, the 1 MiB body cap, timeouts and TLS settings.
 * Nothing here retries: lib/client.c decides that from what we report.
 */
/* strcasecmp, inet_pton under -std=c11 */
#define _POSIX_C_SOURCE 200809L
#include "http.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void) {
  global_rc = curl_global_init(CURL_GLOBAL_ALL);
}

int pkjwt__http_global_init(pkjwt_error *err) {
  if (pthread_once(&global_once, global_init) != 0 || global_rc != CURLE_OK)
    return pkjwt__fail(err, PKJWT_ERR_INTERNAL, "libcurl failed to start: %s",
                       curl_easy_strerror(global_rc));
  return PKJWT_OK;
}

/* ---- URL policy ---- */

static int host_is_loopback(const char *host) {
  if (strcasecmp(host, "localhost") == 0)
    return 1;
  size_t n = strlen(host);
  if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
    char inner[64];
    struct in6_addr a6;
    if (n - 2 >= sizeof(inner))
      return 0;
    memcpy(inner, host + 1, n - 2);
    inner[n - 2] = '\0';
    /* A zone id ("%eth0") makes inet_pton fail: refused, which is safe. */
    return inet_pton(AF_INET6, inner, &a6) == 1 &&
           memcmp(&a6, &in6addr_loopback, sizeof(a6)) == 0;
  }
  /* curl_url normalises "127.1" and "0x7f000001" to dotted quads. */
  struct in_addr a4;
  if (inet_pton(AF_INET, host, &a4) == 1)
    return (ntohl(a4.s_addr) >> 24) == 127;
  return 0;
}

int pkjwt__http_url_check(const char *url, const char *what, int *loopback,
                          pkjwt_error *err) {
  int rc = PKJWT_OK;
  char *scheme = NULL, *host = NULL;
  if (loopback)
    *loopback = 0;
  CURLU *u = curl_url();
  if (!u)
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
  if (uc == CURLUE_OK)
    uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
  if (uc == CURLUE_OK && strcasecmp(scheme, "https") != 0 &&
      strcasecmp(scheme, "http") != 0) {
    rc = pkjwt__fail(err, PKJWT_ERR_INSECURE,
                     "%s: scheme %s refused: use https", what, scheme);
    goto out;
  }
  if (uc == CURLUE_OK)
    uc = curl_url_get(u, CURLUPART_HOST, &host, 0);
  if (uc == CURLUE_OUT_OF_MEMORY) {
    rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "%s: libcurl: out of memory", what);
    goto out;
  }
  if (uc != CURLUE_OK) {
    rc = pkjwt__fail(err, PKJWT_ERR_INVALID_ARG, "%s: not a valid URL (%s)",
                     what, curl_url_strerror(uc));
    goto out;
  }
  int lo = host_is_loopback(host);
  if (strcasecmp(scheme, "http") == 0) {
    if (!lo) {
      rc = pkjwt__fail(err, PKJWT_ERR_INSECURE,
                       "%s: plain http is allowed only to a loopback host "
                       "(127.0.0.0/8, ::1, localhost), not %s: use https",
                       what, host);
      goto out;
    }
  }
  if (loopback)
    *loopback = lo;
out:
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(u);
  return rc;
}

/* ---- form building ---- */

int pkjwt__form_add(char **buf, size_t *len, const char *name,
                    const char *value, pkjwt_error *err) {
  char *esc = curl_easy_escape(NULL, value, 0);
  if (!esc)
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  size_t elen = strlen(esc), nlen = strlen(name);
  size_t need = *len + (*len ? 1 : 0) + nlen + 1 + elen + 1;
  char *nb = malloc(need);
  if (!nb) {
    OPENSSL_cleanse(esc, elen);
    curl_free(esc);
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  }
  size_t at = 0;
  if (*len) {
    memcpy(nb, *buf, *len);
    nb[(*len)] = '&';
    at = *len + 1;
  }
  memcpy(nb + at, name, nlen);
  at += nlen;
  nb[at++] = '=';
  memcpy(nb + at, esc, elen);
  at += elen;
  nb[at] = '\0';
  OPENSSL_cleanse(esc, elen);
  curl_free(esc);
  if (*buf)
    pkjwt__cleanse_free(*buf, *len + 1);
  *buf = nb;
  *len = at;
  return PKJWT_OK;
}

/* ---- one exchange ---- */

typedef struct body_buf {
  char *data;
  size_t len, cap;
  int oversize, nomem;
} body_buf;

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud) {
  body_buf *b = ud;
  size_t add = size * nmemb;
  if (add > (size_t)PKJWT__HTTP_BODY_MAX ||
      b->len + add > (size_t)PKJWT__HTTP_BODY_MAX) {
    b->oversize = 1;
    return 0; /* curl aborts with CURLE_WRITE_ERROR */
  }
  if (b->len + add + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + add + 1)
      cap *= 2;
    char *nd = malloc(cap);
    if (!nd) {
      b->nomem = 1;
      return 0;
    }
    /* Copy and wipe rather than realloc: the body may hold a token. */
    if (b->data) {
      memcpy(nd, b->data, b->len);
      pkjwt__cleanse_free(b->data, b->cap);
    }
    b->data = nd;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, add);
  b->len += add;
  b->data[b->len] = '\0';
  return add;
}

/* Failures where another attempt can help. TLS verification and
 * configuration problems never pass by themselves. */
static int curl_retryable(CURLcode c) {
  switch (c) {
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_CONNECT:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_HTTP3:
    return 1;
  default:
    return 0;
  }
}

static int curl_is_tls_trust(CURLcode c) {
  return c == CURLE_PEER_FAILED_VERIFICATION || c == CURLE_SSL_CACERT_BADFILE ||
         c == CURLE_SSL_CERTPROBLEM || c == CURLE_SSL_ISSUER_ERROR ||
         c == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
}

static int transport_error(pkjwt__http_response *resp, CURLcode c,
                           const char *curl_msg, const char *url,
                           const pkjwt__http_opts *o, pkjwt_error *err) {
  /* curl's message can quote the server (a certificate's name, a proxy's
   * answer): made printable */
  const char *raw = curl_msg[0] ? curl_msg : curl_easy_strerror(c);
  char detail[CURL_ERROR_SIZE];
  (void)pkjwt__printable(detail, sizeof(detail), raw, strlen(raw));
  resp->retryable = curl_retryable(c);
  if (c == CURLE_OUT_OF_MEMORY)
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "%s: libcurl: out of memory",
                       url);
  if (c == CURLE_OPERATION_TIMEDOUT) {
    int rc = pkjwt__fail(err, PKJWT_ERR_TIMEOUT, "%s: %s", url, detail);
    pkjwt__hint(err, "%s",
                "the server did not answer in time: check the network, "
                "the proxy settings (https_proxy, no_proxy) and the URL");
    return rc;
  }
  if (c == CURLE_BAD_CONTENT_ENCODING) {
    resp->retryable = 0;
    return pkjwt__fail(err, PKJWT_ERR_RESPONSE,
                       "%s: the answer's Content-Encoding is one this "
                       "libcurl cannot decode: %s",
                       url, detail);
  }
  if (curl_is_tls_trust(c)) {
    int rc = pkjwt__fail(err, PKJWT_ERR_NETWORK,
                         "%s: TLS certificate not accepted: %s", url, detail);
    pkjwt__hint(err, "%s",
                o->ca_file
                    ? "the server's certificate is not signed by the CA in "
                      "the CA file given, or names another host"
                    : "the server's certificate is not trusted: give the CA "
                      "that signed it as the client's CA file, and check "
                      "the URL's host name");
    return rc;
  }
  int rc = pkjwt__fail(err, PKJWT_ERR_NETWORK, "%s: %s", url, detail);
  pkjwt__hint(err, "%s",
              "check the network, the proxy settings (https_proxy, "
              "no_proxy) and the URL");
  return rc;
}

static void wipe_slist(struct curl_slist *l) {
  for (struct curl_slist *p = l; p; p = p->next)
    if (p->data)
      OPENSSL_cleanse(p->data, strlen(p->data));
  curl_slist_free_all(l);
}

/* The request's headers; a Bearer header's text goes to *auth (wiped by the
 * caller). -1 when out of memory, with what was made in *out and *auth. */
static int build_headers(struct curl_slist **out, char **auth, size_t *auth_len,
                         const char *form, const char *bearer) {
  struct curl_slist *tmp = curl_slist_append(*out, "Accept: application/json");
  if (!tmp)
    return -1;
  *out = tmp;
  if (form) {
    tmp = curl_slist_append(*out,
                            "Content-Type: application/x-www-form-urlencoded");
    if (!tmp)
      return -1;
    *out = tmp;
  }
  if (bearer) {
    static const char prefix[] = "Authorization: Bearer ";
    *auth_len = sizeof(prefix) - 1 + strlen(bearer);
    *auth = malloc(*auth_len + 1);
    if (!*auth)
      return -1;
    memcpy(*auth, prefix, sizeof(prefix) - 1);
    memcpy(*auth + sizeof(prefix) - 1, bearer, strlen(bearer) + 1);
    tmp = curl_slist_append(*out, *auth);
    if (!tmp)
      return -1;
    *out = tmp;
  }
  return 0;
}

/* Every option of one exchange; the first refusal is returned. */
static CURLcode set_options(CURL *h, const pkjwt__http_opts *o, const char *url,
                            int loopback, char *curl_msg,
                            struct curl_slist *hdrs, body_buf *body,
                            const char *form) {
  CURLcode c = CURLE_OK;
#define SETOPT(opt, val)                                                       \
  do {                                                                         \
    if (c == CURLE_OK)                                                         \
      c = curl_easy_setopt(h, opt, val);                                       \
  } while (0)
  SETOPT(CURLOPT_URL, url);
  SETOPT(CURLOPT_ERRORBUFFER, curl_msg);
  SETOPT(CURLOPT_NOSIGNAL, 1L);
  SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
  /* Accept-Encoding with every encoding this libcurl decodes: some servers
   * compress whatever the request says, and then curl decodes it. */
  SETOPT(CURLOPT_ACCEPT_ENCODING, "");
#if LIBCURL_VERSION_NUM >= 0x075500
  SETOPT(CURLOPT_PROTOCOLS_STR, "https,http");
#else
  SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTPS | CURLPROTO_HTTP));
#endif
  SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
  SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
  if (o->ca_file)
    SETOPT(CURLOPT_CAINFO, o->ca_file);
  /* A loopback host never goes through a proxy: plain http to it must not
   * carry an assertion or a token across the network. */
  if (loopback)
    SETOPT(CURLOPT_NOPROXY, "*");
  SETOPT(CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
  SETOPT(CURLOPT_TIMEOUT_MS, o->timeout_ms);
  SETOPT(CURLOPT_USERAGENT, o->user_agent);
  SETOPT(CURLOPT_HTTPHEADER, hdrs);
  SETOPT(CURLOPT_WRITEFUNCTION, on_write);
  SETOPT(CURLOPT_WRITEDATA, body);
  SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)PKJWT__HTTP_BODY_MAX);
  if (form) {
    /* POSTFIELDS (not COPYPOSTFIELDS): curl reads our buffer, which the
     * caller wipes; no copy of the assertion is left in curl's memory. */
    SETOPT(CURLOPT_POSTFIELDSIZE, (long)strlen(form));
    SETOPT(CURLOPT_POSTFIELDS, form);
  } else {
    SETOPT(CURLOPT_HTTPGET, 1L);
  }
#undef SETOPT
  return c;
}

long pkjwt__http_max_age(const char *v) {
  long age = -1;
  for (const char *p = v; p && *p;) {
    while (*p == ' ' || *p == '\t' || *p == ',')
      p++;
    size_t n = strcspn(p, ",");
    if ((n == 8 && strncasecmp(p, "no-store", 8) == 0) ||
        (n >= 8 && strncasecmp(p, "no-cache", 8) == 0))
      return 0;
    if (n > 8 && strncasecmp(p, "max-age=", 8) == 0) {
      long a = 0;
      size_t i = 8;
      for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
        a = a < 100000000L ? a * 10 + (p[i] - '0') : 1000000000L;
      if (i > 8)
        age = a;
    }
    p += n;
  }
  return age;
}

/* Status, Retry-After and a redirect's target from a finished exchange. */
static void read_info(CURL *h, pkjwt__http_response *resp) {
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
  curl_off_t ra = -1;
  if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0) {
    /* curl reads both forms (seconds, HTTP date); 0 also means absent. */
    resp->retry_after = ra > 86400 ? 86400 : (long)ra;
  }
  struct curl_header *cc = NULL;
  if (curl_easy_header(h, "Cache-Control", 0, CURLH_HEADER, -1, &cc) ==
          CURLHE_OK &&
      cc && cc->value)
    resp->max_age = pkjwt__http_max_age(cc->value);
  if (resp->status >= 300 && resp->status < 400) {
    char *loc = NULL;
    if (curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc)
      (void)pkjwt__printable(resp->location, sizeof(resp->location), loc,
                             strlen(loc)); /* kept to be printed */
  }
}

/* Run the exchange and hand the body over to resp. */
static int perform(pkjwt__http_response *resp, CURL *h, body_buf *body,
                   const char *curl_msg, const char *url,
                   const pkjwt__http_opts *o, pkjwt_error *err) {
  CURLcode c = curl_easy_perform(h);
  if (body->nomem)
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  if (body->oversize || c == CURLE_FILESIZE_EXCEEDED)
    return pkjwt__fail(err, PKJWT_ERR_RESPONSE,
                       "%s: response larger than 1 MiB", url);
  if (c != CURLE_OK)
    return transport_error(resp, c, curl_msg, url, o, err);
  if (!body->data) {
    if (!(body->data = calloc(1, 1)))
      return pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
    body->cap = 1;
  }
  read_info(h, resp);
  resp->body = body->data;
  resp->body_len = body->len;
  body->data = NULL;
  return PKJWT_OK;
}

int pkjwt__http_request(pkjwt__http_response *resp, const pkjwt__http_opts *o,
                        const char *url, const char *form, const char *bearer,
                        pkjwt_error *err) {
  memset(resp, 0, sizeof(*resp));
  resp->retry_after = -1;
  resp->max_age = -1;
  int loopback = 0;
  int rc = pkjwt__http_global_init(err);
  if (rc == PKJWT_OK)
    rc = pkjwt__http_url_check(url, "URL", &loopback, err);
  if (rc != PKJWT_OK)
    return rc;

  CURL *h = curl_easy_init();
  if (!h)
    return pkjwt__fail(err, PKJWT_ERR_NOMEM, "libcurl: no handle");

  char curl_msg[CURL_ERROR_SIZE];
  curl_msg[0] = '\0';
  body_buf body = {0};
  struct curl_slist *hdrs = NULL;
  char *auth = NULL;
  size_t auth_len = 0;
  CURLcode c;
  if (build_headers(&hdrs, &auth, &auth_len, form, bearer) != 0)
    rc = pkjwt__fail(err, PKJWT_ERR_NOMEM, "out of memory");
  else if ((c = set_options(h, o, url, loopback, curl_msg, hdrs, &body,
                            form)) != CURLE_OK)
    rc = pkjwt__fail(err,
                     c == CURLE_OUT_OF_MEMORY ? PKJWT_ERR_NOMEM
                                              : PKJWT_ERR_INTERNAL,
                     "libcurl option refused: %s", curl_easy_strerror(c));
  else
    rc = perform(resp, h, &body, curl_msg, url, o, err);
  if (body.data)
    pkjwt__cleanse_free(body.data, body.cap);
  curl_easy_cleanup(h);
  wipe_slist(hdrs);
  if (auth)
    pkjwt__cleanse_free(auth, auth_len + 1);
  return rc;
}

void pkjwt__http_response_clear(pkjwt__http_response *resp) {
  if (!resp)
    return;
  if (resp->body)
    pkjwt__cleanse_free(resp->body, resp->body_len + 1);
  memset(resp, 0, sizeof(*resp));
  resp->retry_after = -1;
  resp->max_age = -1;
}
