/* lib/base64.c: base64url (JWS, JWK) and standard base64 (x5c, certificates). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t encode(char *dst, const unsigned char *src, size_t n,
                     const char *abc, int pad) {
  char *p = dst;
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = ((uint32_t)src[i] << 16) | ((uint32_t)src[i + 1] << 8) | src[i + 2];
    *p++ = abc[(v >> 18) & 63];
    *p++ = abc[(v >> 12) & 63];
    *p++ = abc[(v >> 6) & 63];
    *p++ = abc[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)src[i] << 16;
    *p++ = abc[(v >> 18) & 63];
    *p++ = abc[(v >> 12) & 63];
    if (pad) {
      *p++ = '=';
      *p++ = '=';
    }
  } else if (n - i == 2) {
    uint32_t v = ((uint32_t)src[i] << 16) | ((uint32_t)src[i + 1] << 8);
    *p++ = abc[(v >> 18) & 63];
    *p++ = abc[(v >> 12) & 63];
    *p++ = abc[(v >> 6) & 63];
    if (pad)
      *p++ = '=';
  }
  *p = '\0';
  return (size_t)(p - dst);
}

size_t pkjwt__b64url_encode(char *dst, const unsigned char *src, size_t n) {
  return encode(dst, src, n, url_alphabet, 0);
}

size_t pkjwt__b64_encode(char *dst, const unsigned char *src, size_t n) {
  return encode(dst, src, n, std_alphabet, 1);
}

static int value_of(unsigned char c, int url) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == (url ? '-' : '+'))
    return 62;
  if (c == (url ? '_' : '/'))
    return 63;
  return -1;
}

/* Strict decoder: canonical input only, so one value has one encoding. */
static int decode(unsigned char **out, size_t *outlen, const char *src,
                  size_t n, int url) {
  if (!url) {
    if (n % 4 != 0)
      return -1;
    size_t padlen = 0;
    while (padlen < 2 && padlen < n && src[n - 1 - padlen] == '=')
      padlen++;
    n -= padlen;
  }
  if (n % 4 == 1)
    return -1;
  size_t cap = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
  unsigned char *buf = malloc(cap + 1);
  if (!buf)
    return -2;
  size_t o = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int v = value_of((unsigned char)src[i], url);
    if (v < 0) {
      free(buf);
      return -1;
    }
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      buf[o++] = (unsigned char)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) { /* non-zero trailing bits: not canonical */
    free(buf);
    return -1;
  }
  buf[o] = '\0';
  *out = buf;
  *outlen = o;
  return 0;
}

int pkjwt__b64url_decode(unsigned char **out, size_t *outlen, const char *src,
                         size_t n) {
  return decode(out, outlen, src, n, 1);
}

int pkjwt__b64_decode(unsigned char **out, size_t *outlen, const char *src,
                      size_t n) {
  return decode(out, outlen, src, n, 0);
}
