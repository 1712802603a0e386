#include "pbmem.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "error.h"

/* Each block carries its size in a header so that free can give it back;
 * the header keeps the payload aligned for any type. */
#define PBMEM_HDR (sizeof(max_align_t))

static void *pbmem_alloc(void *data, size_t size)
{
    struct pbmem *m = data;
    size_t total, used;
    unsigned char *p;

    if (size > SIZE_MAX - PBMEM_HDR) {
        m->exceeded = 1;
        return NULL;
    }
    total = size + PBMEM_HDR;
    if (m->used + total > m->limit || m->used + total < m->used) {
        m->exceeded = 1;
        return NULL;
    }
    if (m->pool != NULL) {
        used = atomic_fetch_add(&m->pool->used, total);
        if (used + total > m->pool->limit) {
            atomic_fetch_sub(&m->pool->used, total);
            m->exceeded = 1;
            return NULL;
        }
    }
    p = malloc(total);
    if (p == NULL) {
        /* Out of memory is answered as the budget is: the frame is refused,
         * not the process. */
        m->exceeded = 1;
        if (m->pool != NULL) {
            atomic_fetch_sub(&m->pool->used, total);
        }
        return NULL;
    }
    *(size_t *)p = total;
    m->used += total;
    return p + PBMEM_HDR;
}

static void pbmem_release(void *data, void *ptr)
{
    struct pbmem *m = data;
    unsigned char *p;
    size_t total;

    if (ptr == NULL) {
        return;
    }
    p = (unsigned char *)ptr - PBMEM_HDR;
    total = *(size_t *)p;
    m->used -= total;
    if (m->pool != NULL) {
        atomic_fetch_sub(&m->pool->used, total);
    }
    free(p);
}

void pbmem_pool_init(struct pbmem_pool *pool, size_t limit)
{
    atomic_init(&pool->used, 0);
    pool->limit = limit;
}

void pbmem_init(struct pbmem *m, struct pbmem_pool *pool, size_t limit)
{
    m->pa.alloc = pbmem_alloc;
    m->pa.free = pbmem_release;
    m->pa.allocator_data = m;
    m->pool = pool;
    m->used = 0;
    m->limit = limit;
    m->exceeded = 0;
}

int pbmem_unpack_frame(struct pbmem *m, const uint8_t *body, size_t len, Coachq__V1__Frame **out)
{
    Coachq__V1__Frame *f;

    m->exceeded = 0;
    f = coachq__v1__frame__unpack(&m->pa, len, body);
    if (f == NULL) {
        /* protobuf-c says only NULL; the allocator knows whether it was
         * the budget or the bytes. */
        return m->exceeded ? ERROR_BUDGET : -EBADMSG;
    }
    *out = f;
    return 0;
}

void pbmem_frame_free(struct pbmem *m, Coachq__V1__Frame *f)
{
    if (f == NULL) {
        return;
    }
    coachq__v1__frame__free_unpacked(f, &m->pa);
}
