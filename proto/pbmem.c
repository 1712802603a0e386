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

/*
 * protobuf-c takes a tag for field number 0 written in more than one byte
 * (0x82 0x00) as an unknown field, packs it back as the one byte 0x02, and
 * then refuses those bytes: a record stored with such a field could never
 * be read again. Field number 0 does not exist; this finds one anywhere in
 * m. The schema nests a few levels; depth only guards against a loop.
 */
static int pbmem_has_field_zero(const ProtobufCMessage *m, unsigned depth)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    unsigned i;

    if (depth > 32) {
        return 1;
    }
    for (i = 0; i < m->n_unknown_fields; i++) {
        if (m->unknown_fields[i].tag == 0) {
            return 1;
        }
    }
    for (i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];

        if (fd->type != PROTOBUF_C_TYPE_MESSAGE) {
            continue;
        }
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + fd->quantifier_offset);
            ProtobufCMessage *const *v = *(ProtobufCMessage *const *const *)(base + fd->offset);
            size_t k;

            for (k = 0; k < n; k++) {
                if (v[k] != NULL && pbmem_has_field_zero(v[k], depth + 1)) {
                    return 1;
                }
            }
        } else {
            const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + fd->offset);

            if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                *(const uint32_t *)(base + fd->quantifier_offset) != fd->id) {
                continue;
            }
            if (sub != NULL && pbmem_has_field_zero(sub, depth + 1)) {
                return 1;
            }
        }
    }
    return 0;
}

int pbmem_field_zero(const ProtobufCMessage *m)
{
    return pbmem_has_field_zero(m, 0);
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
    if (pbmem_field_zero(&f->base)) {
        coachq__v1__frame__free_unpacked(f, &m->pa);
        return -EBADMSG;
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
