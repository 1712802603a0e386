/*
 * b64: unpadded base64, in the standard alphabet (A-Z a-z 0-9 + /) and the
 * URL-safe one (- and _ in place of + and /).
 *
 * The sign-in code writes every random value it hands out in it: password
 * hashes' salts and keys (standard), and link tokens, session ids, device
 * cookies and pre-session tokens (URL-safe, so that they travel in a URL or
 * a cookie unescaped). Neither direction writes or accepts "=" padding.
 *
 * Pure functions on caller-owned buffers; any thread.
 */
#ifndef COACHQ_B64_H
#define COACHQ_B64_H

#include <stddef.h>
#include <stdint.h>

enum b64_alphabet {
    B64_STD, /* "+/" */
    B64_URL, /* "-_" */
};

/* The length of the unpadded encoding of n bytes, without the NUL. */
#define B64_LEN(n) ((4 * (n) + 2) / 3)

/*
 * Encodes the n bytes at in (borrowed for the call) into out, which must
 * hold B64_LEN(n) + 1 bytes, and NUL-terminates it. Returns the length
 * written, B64_LEN(n). Cannot fail.
 */
size_t b64_encode(enum b64_alphabet a, const uint8_t *in, size_t n, char *out);

/*
 * Decodes the len characters at s (borrowed for the call; no NUL needed)
 * into out (outlen bytes). Returns the number of bytes written, or -EINVAL
 * for a character outside the alphabet (a NUL included), a length no
 * encoding has, non-zero trailing bits, or more bytes than outlen. On
 * -EINVAL out may hold part of the bytes.
 */
int b64_decode(enum b64_alphabet a, const char *s, size_t len, uint8_t *out, size_t outlen);

#endif
