/*
 * http_codec: the text encodings of HTTP that need no connection: percent
 * decoding, form fields, cookies and URL encoding (the public ones are
 * declared in http.h; http.c decodes request paths with http_pct_decode()).
 * No allocation, no state: safe from any thread.
 */
#ifndef COACHQ_HTTP_CODEC_H
#define COACHQ_HTTP_CODEC_H

#include <stddef.h>

/* Percent-decodes s (len bytes) into out (size outlen, NUL-terminated);
 * '+' is a space when plus is set. Returns the length, or -EINVAL for a bad
 * escape, a NUL, or no room. */
int http_pct_decode(const char *s, size_t len, int plus, char *out, size_t outlen);

#endif
