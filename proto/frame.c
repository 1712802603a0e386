#include "frame.h"

#include <errno.h>

#include "error.h"

void frame_reader_init(struct frame_reader *r, size_t max_frame)
{
    /* Room for one whole maximum frame that arrived split, plus the chunk
     * that completes it. Nothing beyond that is ever held. */
    buf_init(&r->in, max_frame + FRAME_HEADER_LEN + FRAME_MAX_CHUNK);
    r->max_frame = max_frame;
    r->consumed = 0;
}

void frame_reader_free(struct frame_reader *r)
{
    if (r == NULL) {
        return;
    }
    buf_free(&r->in);
    r->consumed = 0;
}

static uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Checks the length prefix at the reader's position, if complete. */
static int check_header(const struct frame_reader *r)
{
    uint32_t len;

    if (r->in.len - r->consumed < FRAME_HEADER_LEN) {
        return 0;
    }
    len = get_be32(r->in.data + r->consumed);
    if (len == 0) {
        return ERROR_FRAME_EMPTY;
    }
    if (len > r->max_frame) {
        return ERROR_FRAME_TOO_LARGE;
    }
    return 0;
}

int frame_reader_feed(struct frame_reader *r, const uint8_t *p, size_t n)
{
    int rc;

    if (n > FRAME_MAX_CHUNK) {
        return -ENOBUFS;
    }
    /* Drop what earlier frames used before taking more. */
    if (r->consumed > 0) {
        buf_consume(&r->in, r->consumed);
        r->consumed = 0;
    }
    rc = buf_append(&r->in, p, n);
    if (rc < 0) {
        return rc;
    }
    return check_header(r);
}

int frame_reader_next(struct frame_reader *r, const uint8_t **body, size_t *len)
{
    size_t avail = r->in.len - r->consumed;
    uint32_t flen;
    int rc;

    rc = check_header(r);
    if (rc < 0) {
        return rc;
    }
    if (avail < FRAME_HEADER_LEN) {
        return 0;
    }
    flen = get_be32(r->in.data + r->consumed);
    if (avail - FRAME_HEADER_LEN < flen) {
        return 0;
    }
    *body = r->in.data + r->consumed + FRAME_HEADER_LEN;
    *len = flen;
    r->consumed += FRAME_HEADER_LEN + flen;
    return 1;
}

size_t frame_reader_buffered(const struct frame_reader *r)
{
    return r->in.len - r->consumed;
}

void frame_put_header(uint8_t out[FRAME_HEADER_LEN], uint32_t len)
{
    out[0] = (uint8_t)(len >> 24);
    out[1] = (uint8_t)(len >> 16);
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
}
