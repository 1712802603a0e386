/*
 * pbmem: counting allocators for protobuf-c unpack, so that a hostile frame
 * costs its sender, not the server.
 *
 * protobuf-c can allocate 45 to 60 times a frame's size while unpacking
 * (many empty sub-messages; tests/test_pbmem.c measures 61x for a frame of
 * empty ratings). Every unpack of network input goes through a
 * struct pbmem allocator that charges each allocation against a per-message
 * limit and a process-wide struct pbmem_pool; when either would be
 * exceeded the allocation fails, the unpack returns NULL, and the caller
 * answers RESOURCE_EXHAUSTED. Memory is given back to the pool on free.
 *
 * Threads: a pool is shared by every thread (its counter is atomic); a
 * struct pbmem, and the message unpacked with it, belong to one request and
 * are used by one thread at a time.
 */
#ifndef COACHQ_PBMEM_H
#define COACHQ_PBMEM_H

#include <stdatomic.h>
#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

#include "coachq.pb-c.h"

/* Shared by every connection of a server; thread-safe counters. */
struct pbmem_pool {
    atomic_size_t used;
    size_t limit;
};

/* One unpacked message's accounting. Embed it in the request that owns the
 * message; it must outlive the message. */
struct pbmem {
    ProtobufCAllocator pa;   /* hand &pa to protobuf-c */
    struct pbmem_pool *pool; /* borrowed; may be NULL for no global limit */
    size_t used;
    size_t limit;
    int exceeded; /* set once an allocation was refused */
};

/* Prepares a pool that lets the messages charged to it hold at most limit
 * bytes together. The pool is the caller's (usually in its server struct)
 * and must outlive every struct pbmem that borrows it; nothing to free. */
void pbmem_pool_init(struct pbmem_pool *pool, size_t limit);

/* Prepares m to allow at most limit bytes, also charged against pool
 * (borrowed; may be NULL). Nothing to free but what m unpacked. */
void pbmem_init(struct pbmem *m, struct pbmem_pool *pool, size_t limit);

/*
 * Unpacks one Frame from body (borrowed for the call) under m's limits.
 * Returns 0 with *out set (free with pbmem_frame_free(m, *out)),
 * ERROR_BUDGET if a limit was hit, or -EBADMSG if the bytes are not a Frame.
 */
int pbmem_unpack_frame(struct pbmem *m, const uint8_t *body, size_t len, Coachq__V1__Frame **out);

/*
 * True if m (borrowed for the call), or a message inside it, kept an
 * unknown field numbered 0. protobuf-c accepts one whose tag is written in
 * more than one byte, but packs it back in one byte, which it then refuses:
 * such a message cannot be stored and read back. pbmem_unpack_frame()
 * refuses these frames; other decoders of stored bytes use this too.
 */
int pbmem_field_zero(const ProtobufCMessage *m);

/* Frees a frame unpacked with m. NULL-safe. */
void pbmem_frame_free(struct pbmem *m, Coachq__V1__Frame *f);

#endif
