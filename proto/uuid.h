/*
 * uuid: 16-byte record ids, made by the client (version 4, random) and
 * printed in the canonical 8-4-4-4-12 lower-case form.
 *
 * No state and no allocation: the caller owns every buffer, and every
 * function is safe from any thread (OpenSSL's RAND_bytes is).
 */
#ifndef COACHQ_UUID_H
#define COACHQ_UUID_H

#include <stddef.h>
#include <stdint.h>

#define UUID_LEN 16
#define UUID_STR_LEN 37 /* 36 characters and the NUL */

/* Fills out with a random version-4 UUID from OpenSSL's RAND_bytes.
 * Returns 0 or -EIO. */
int uuid_generate(uint8_t out[UUID_LEN]);

/* Formats id into out (UUID_STR_LEN bytes). Returns out. */
const char *uuid_format(const uint8_t id[UUID_LEN], char out[UUID_STR_LEN]);

/* Parses the canonical form (hyphens required, either case). Returns 0 or
 * -EINVAL. */
int uuid_parse(const char *s, uint8_t out[UUID_LEN]);

#endif
