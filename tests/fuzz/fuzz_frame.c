/*
 * fuzz_frame: the protocol port's input path. The bytes arrive in chunks
 * (sizes taken from the input's first byte) through the frame reader; each
 * body is unpacked under a pbmem budget as the server does, its strings are
 * checked on the wire, an observation in a submit is validated, and every
 * frame that unpacks is packed again and must unpack to the same bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "pbmem.h"
#include "validate.h"

#define FUZZ_BUDGET (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Packs f, unpacks the result and checks that packing that gives the same
 * bytes: protobuf-c's encoding of a decoded message is canonical. */
static void repack(const Coachq__V1__Frame *f)
{
    size_t n = coachq__v1__frame__get_packed_size(f);
    uint8_t *a = malloc(n + 1);
    uint8_t *b = NULL;
    Coachq__V1__Frame *g = NULL;
    struct pbmem m;
    size_t n2;

    if (a == NULL) {
        return;
    }
    if (coachq__v1__frame__pack(f, a) != n) {
        abort();
    }
    pbmem_init(&m, NULL, 64u * FUZZ_BUDGET);
    if (pbmem_unpack_frame(&m, a, n, &g) < 0) {
        abort();
    }
    n2 = coachq__v1__frame__get_packed_size(g);
    b = malloc(n2 + 1);
    if (b == NULL || n2 != n || coachq__v1__frame__pack(g, b) != n || memcmp(a, b, n) != 0) {
        abort();
    }
    pbmem_frame_free(&m, g);
    if (m.used != 0) {
        abort();
    }
    free(b);
    free(a);
}

static void one_body(struct pbmem_pool *pool, const uint8_t *body, size_t len)
{
    struct pbmem m;
    Coachq__V1__Frame *f = NULL;
    struct validate_error err;
    int rc;

    pbmem_init(&m, pool, FUZZ_BUDGET);
    if (pbmem_unpack_frame(&m, body, len, &f) < 0) {
        if (m.used != 0) {
            abort();
        }
        return;
    }
    /* The server checks every string on the wire once the frame unpacked:
     * bytes protobuf-c took are well formed for that walk too, and a
     * refusal names its field and says why. */
    memset(&err, 0, sizeof(err));
    rc = validate_wire_text(&coachq__v1__frame__descriptor, body, len, &err);
    if (rc == -EBADMSG || (rc < 0 && (err.field[0] == '\0' || err.message[0] == '\0'))) {
        abort();
    }
    if (f->body_case == COACHQ__V1__FRAME__BODY_SUBMIT && f->submit != NULL &&
        f->submit->observation != NULL) {
        memset(&err, 0, sizeof(err));
        if (validate_observation(f->submit->observation, "observation", &err) < 0 &&
            (err.field[0] == '\0' || err.message[0] == '\0')) {
            /* Every refusal names its field and says why. */
            abort();
        }
    }
    repack(f);
    pbmem_frame_free(&m, f);
    if (m.used != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct frame_reader r;
    struct pbmem_pool pool;
    size_t chunk, off;

    if (size < 1) {
        return 0;
    }
    chunk = (size_t)data[0] + 1;
    data++;
    size--;
    pbmem_pool_init(&pool, 4u * FUZZ_BUDGET);
    frame_reader_init(&r, FRAME_DEFAULT_MAX);
    for (off = 0; off < size;) {
        size_t n = size - off < chunk ? size - off : chunk;
        const uint8_t *body;
        size_t len;
        int rc;

        if (frame_reader_feed(&r, data + off, n) < 0) {
            break;
        }
        off += n;
        rc = frame_reader_next(&r, &body, &len);
        while (rc > 0) {
            one_body(&pool, body, len);
            rc = frame_reader_next(&r, &body, &len);
        }
        if (rc < 0) {
            break;
        }
    }
    frame_reader_free(&r);
    if (atomic_load(&pool.used) != 0) {
        abort();
    }
    return 0;
}
