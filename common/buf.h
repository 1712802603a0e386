/*
 * buf: a byte buffer with a hard cap.
 *
 * Grows on demand up to max bytes and fails with -ENOBUFS rather than grow
 * past it, so no peer can make a buffer unbounded. Consumed bytes are dropped
 * from the front. Not thread-safe; one owner at a time.
 */
#ifndef COACHQ_BUF_H
#define COACHQ_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
    uint8_t *data; /* owned; NULL until the first append */
    size_t len;    /* bytes held, starting at data */
    size_t cap;    /* bytes allocated */
    size_t max;    /* cap never grows beyond this */
};

/* Prepares an empty buffer that will hold at most max bytes. */
void buf_init(struct buf *b, size_t max);

/* Frees the storage; the buffer is empty and reusable afterwards. NULL-safe. */
void buf_free(struct buf *b);

/*
 * Appends n bytes from p (borrowed for the call). Returns 0, -ENOBUFS if
 * len + n would exceed max (nothing is appended), or -ENOMEM.
 */
int buf_append(struct buf *b, const void *p, size_t n);

/* Drops the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);

#endif
