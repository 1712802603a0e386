#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void buf_free(struct buf *b)
{
    if (b == NULL) {
        return;
    }
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    if (n == 0) {
        return 0;
    }
    if (n > b->max || b->len > b->max - n) {
        return -ENOBUFS;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap != 0 ? b->cap : (b->max < 4096 ? b->max : 4096);
        uint8_t *d;
        while (cap < b->len + n) {
            cap = cap > b->max / 2 ? b->max : cap * 2;
        }
        d = realloc(b->data, cap);
        if (d == NULL) {
            return -ENOMEM;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}
