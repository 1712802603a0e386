/*
 * uuid: 16-byte record ids, made by the client and printed in the
 * canonical 8-4-4-4-12 lower-case form.
 *
 * Ids are version 7 (RFC 9562): the first 48 bits are the Unix time in
 * milliseconds, big-endian, and the other 74 bits (after the version and
 * variant) are random. Ids made later sort later, so the store's tables
 * keyed by id grow at their end instead of at random places (fewer pages
 * written per commit); 74 random bits keep them unguessable and unique.
 * The server never relies on the time in an id: any well-formed 16 bytes
 * are accepted as an id, and the time comes from the record's fields.
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

/* Fills out with a version-7 UUID: now's Unix time in milliseconds and
 * random bits from OpenSSL's RAND_bytes. Returns 0 or -EIO. */
int uuid_generate(uint8_t out[UUID_LEN]);

/* The same for a given time in milliseconds since 1970 (tests and
 * benchmarks that make ids of a chosen time). */
int uuid_generate_at(int64_t unix_ms, uint8_t out[UUID_LEN]);

/* Makes out a version-7 UUID of unix_ms around the random bytes the caller
 * already put in out[6..15] (a caller that draws many ids' random bytes
 * at once): the time in bytes 0..5, the version and variant bits over
 * those bytes. Any thread. */
void uuid_v7_stamp(int64_t unix_ms, uint8_t out[UUID_LEN]);

/* Formats id into out (UUID_STR_LEN bytes). Returns out. */
const char *uuid_format(const uint8_t id[UUID_LEN], char out[UUID_STR_LEN]);

/* Parses the canonical form (hyphens required, either case). Returns 0 or
 * -EINVAL. */
int uuid_parse(const char *s, uint8_t out[UUID_LEN]);

#endif
