/*
 * frame: the protocol's framing, a 4-byte big-endian length followed by
 * that many bytes of packed coachq.v1.Frame.
 *
 * The reader is incremental: bytes go in as they arrive, in any split, and
 * whole frames come out. A length prefix is checked against the maximum as
 * soon as its four bytes are in, before anything is allocated for the body;
 * the buffer never holds more than one maximum frame plus one input chunk.
 *
 * A reader is embedded in its owner (one per connection) and used by one
 * thread at a time; frame_reader_free() releases its buffer.
 */
#ifndef COACHQ_FRAME_H
#define COACHQ_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define FRAME_HEADER_LEN 4
#define FRAME_DEFAULT_MAX (64u * 1024u)
/* The largest input chunk frame_reader_feed() accepts in one call. */
#define FRAME_MAX_CHUNK (64u * 1024u)

struct frame_reader {
    struct buf in;    /* unconsumed input */
    size_t max_frame; /* largest allowed body, bytes */
    size_t consumed;  /* bytes of in already handed out by frame_reader_next() */
};

/* Prepares a reader for bodies of at most max_frame bytes. */
void frame_reader_init(struct frame_reader *r, size_t max_frame);

/* Frees the reader's buffer. NULL-safe. */
void frame_reader_free(struct frame_reader *r);

/*
 * Appends n bytes (borrowed for the call; n <= FRAME_MAX_CHUNK). Returns 0,
 * ERROR_FRAME_EMPTY or ERROR_FRAME_TOO_LARGE if a length prefix now complete
 * is zero or too large (the reader is then unusable), or -ENOBUFS if more
 * input was fed than the reader may hold.
 */
int frame_reader_feed(struct frame_reader *r, const uint8_t *p, size_t n);

/*
 * Takes the next whole frame. Returns 1 and sets *body and *len (borrowed
 * until the next feed or next call), 0 if more bytes are needed, or
 * ERROR_FRAME_EMPTY / ERROR_FRAME_TOO_LARGE for a bad length prefix.
 */
int frame_reader_next(struct frame_reader *r, const uint8_t **body, size_t *len);

/* Bytes held that belong to frames not yet returned. */
size_t frame_reader_buffered(const struct frame_reader *r);

/* Writes len as the 4-byte big-endian prefix into out. */
void frame_put_header(uint8_t out[FRAME_HEADER_LEN], uint32_t len);

#endif
