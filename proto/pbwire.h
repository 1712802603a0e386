/*
 * pbwire: the protobuf wire format's varints, for code that lays out
 * protobuf bytes itself instead of asking protobuf-c to pack a message:
 * sizing a list page before its records are packed (store/obs.c, the
 * client's import batches) and writing a stored record around bytes that
 * are already packed (store/obs_apply.c). What they write is what
 * protobuf-c writes for the same value.
 *
 * No state and no allocation; safe from any thread.
 */
#ifndef COACHQ_PBWIRE_H
#define COACHQ_PBWIRE_H

#include <stddef.h>
#include <stdint.h>

/* The longest varint: a 64-bit value in 7-bit groups. */
#define PBWIRE_VARINT_MAX 10

/* Bytes the varint of v takes (1..PBWIRE_VARINT_MAX). */
size_t pbwire_varint_len(uint64_t v);

/* Writes the varint of v at out (at least pbwire_varint_len(v) bytes) and
 * returns its length. */
size_t pbwire_varint_put(uint8_t *out, uint64_t v);

#endif
