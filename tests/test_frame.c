/*
 * Tests of frame, the incremental length-prefixed frame reader: frames split
 * in any way, many frames in one read, bad length prefixes caught as soon as
 * their four bytes are in, and the bounds on what the reader will hold.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "error.h"
#include "frame.h"
#include "pbwire.h"

/* Writes one frame (header and body) at out; returns the bytes written. */
static size_t put_frame(uint8_t *out, const void *body, uint32_t len)
{
    frame_put_header(out, len);
    if (len > 0) {
        memcpy(out + FRAME_HEADER_LEN, body, len);
    }
    return FRAME_HEADER_LEN + (size_t)len;
}

/* Takes the next frame and expects it to be want (wlen bytes). */
static void expect_frame(struct frame_reader *r, const void *want, size_t wlen)
{
    const uint8_t *body = NULL;
    size_t len = 0;

    assert_int_equal(frame_reader_next(r, &body, &len), 1);
    assert_int_equal(len, wlen);
    assert_non_null(body);
    assert_memory_equal(body, want, wlen);
}

static void expect_none(struct frame_reader *r)
{
    const uint8_t *body = NULL;
    size_t len = 0;

    assert_int_equal(frame_reader_next(r, &body, &len), 0);
}

static void test_put_header_big_endian(void **state)
{
    uint8_t h[FRAME_HEADER_LEN];

    (void)state;
    frame_put_header(h, 0x01020304u);
    assert_int_equal(h[0], 0x01);
    assert_int_equal(h[1], 0x02);
    assert_int_equal(h[2], 0x03);
    assert_int_equal(h[3], 0x04);

    frame_put_header(h, 5);
    assert_memory_equal(h, "\x00\x00\x00\x05", 4);

    frame_put_header(h, 0x10000u);
    assert_memory_equal(h, "\x00\x01\x00\x00", 4);

    frame_put_header(h, 0xffffffffu);
    assert_memory_equal(h, "\xff\xff\xff\xff", 4);

    frame_put_header(h, 0);
    assert_memory_equal(h, "\x00\x00\x00\x00", 4);
}

static void test_split_byte_by_byte(void **state)
{
    struct frame_reader r;
    uint8_t wire[64];
    size_t n = put_frame(wire, "hello, frame", 12);

    (void)state;
    frame_reader_init(&r, 100);
    expect_none(&r);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(frame_reader_feed(&r, wire + i, 1), 0);
        assert_int_equal(frame_reader_buffered(&r), i + 1);
        if (i + 1 < n) {
            expect_none(&r);
        }
    }
    expect_frame(&r, "hello, frame", 12);
    assert_int_equal(frame_reader_buffered(&r), 0);
    expect_none(&r);
    frame_reader_free(&r);
}

static void test_two_frames_byte_by_byte(void **state)
{
    struct frame_reader r;
    uint8_t wire[64];
    size_t n = put_frame(wire, "one", 3);
    int got = 0;

    (void)state;
    n += put_frame(wire + n, "second", 6);
    frame_reader_init(&r, 100);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *body;
        size_t len;
        int rc;
        assert_int_equal(frame_reader_feed(&r, wire + i, 1), 0);
        rc = frame_reader_next(&r, &body, &len);
        assert_true(rc == 0 || rc == 1);
        if (rc == 1) {
            /* Each frame comes out the moment its last byte is in. */
            if (got == 0) {
                assert_int_equal(i, 6);
                assert_int_equal(len, 3);
                assert_memory_equal(body, "one", 3);
            } else {
                assert_int_equal(i, n - 1);
                assert_int_equal(len, 6);
                assert_memory_equal(body, "second", 6);
            }
            got++;
        }
    }
    assert_int_equal(got, 2);
    assert_int_equal(frame_reader_buffered(&r), 0);
    frame_reader_free(&r);
}

static void test_many_frames_one_read(void **state)
{
    struct frame_reader r;
    uint8_t wire[4096];
    uint8_t body[200];
    size_t n = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(body); i++) {
        body[i] = (uint8_t)i;
    }
    /* Frames of 1..20 bytes, all in one feed. */
    for (uint32_t k = 1; k <= 20; k++) {
        n += put_frame(wire + n, body, k);
    }
    frame_reader_init(&r, 100);
    assert_int_equal(frame_reader_feed(&r, wire, n), 0);
    assert_int_equal(frame_reader_buffered(&r), n);
    for (uint32_t k = 1; k <= 20; k++) {
        expect_frame(&r, body, k);
    }
    expect_none(&r);
    assert_int_equal(frame_reader_buffered(&r), 0);

    /* The reader keeps working after the buffer has been drained. */
    n = put_frame(wire, "again", 5);
    assert_int_equal(frame_reader_feed(&r, wire, n), 0);
    expect_frame(&r, "again", 5);
    frame_reader_free(&r);
}

static void test_zero_length_prefix(void **state)
{
    struct frame_reader r;
    uint8_t h[FRAME_HEADER_LEN];
    const uint8_t *body;
    size_t len;

    (void)state;
    frame_put_header(h, 0);
    frame_reader_init(&r, 100);
    assert_int_equal(frame_reader_feed(&r, h, 2), 0);
    assert_int_equal(frame_reader_next(&r, &body, &len), 0);
    assert_int_equal(frame_reader_feed(&r, h + 2, 2), ERROR_FRAME_EMPTY);
    assert_int_equal(frame_reader_next(&r, &body, &len), ERROR_FRAME_EMPTY);
    /* The reader stays failed. */
    assert_int_equal(frame_reader_next(&r, &body, &len), ERROR_FRAME_EMPTY);
    frame_reader_free(&r);
}

static void test_length_equal_max_accepted(void **state)
{
    struct frame_reader r;
    uint8_t *wire = malloc(FRAME_HEADER_LEN + 100);
    uint8_t body[100];

    (void)state;
    assert_non_null(wire);
    memset(body, 0xab, sizeof(body));
    frame_reader_init(&r, 100);
    put_frame(wire, body, 100);
    assert_int_equal(frame_reader_feed(&r, wire, FRAME_HEADER_LEN), 0);
    expect_none(&r);
    assert_int_equal(frame_reader_feed(&r, wire + FRAME_HEADER_LEN, 100), 0);
    expect_frame(&r, body, 100);
    frame_reader_free(&r);
    free(wire);
}

static void test_default_max_frame_split(void **state)
{
    struct frame_reader r;
    size_t blen = FRAME_DEFAULT_MAX;
    size_t total = FRAME_HEADER_LEN + blen + FRAME_HEADER_LEN + 3;
    uint8_t *wire = malloc(total);
    uint8_t *body = malloc(blen);
    size_t first = FRAME_MAX_CHUNK;

    (void)state;
    assert_non_null(wire);
    assert_non_null(body);
    for (size_t i = 0; i < blen; i++) {
        body[i] = (uint8_t)(i * 7);
    }
    put_frame(wire, body, (uint32_t)blen);
    put_frame(wire + FRAME_HEADER_LEN + blen, "end", 3);

    frame_reader_init(&r, FRAME_DEFAULT_MAX);
    /* A whole maximum chunk that is not yet a whole frame. */
    assert_int_equal(frame_reader_feed(&r, wire, first), 0);
    expect_none(&r);
    assert_int_equal(frame_reader_buffered(&r), first);
    /* The rest of it and the next frame in one more read. */
    assert_int_equal(frame_reader_feed(&r, wire + first, total - first), 0);
    expect_frame(&r, body, blen);
    expect_frame(&r, "end", 3);
    expect_none(&r);
    frame_reader_free(&r);
    free(body);
    free(wire);
}

static void test_too_large_detected_from_header(void **state)
{
    struct frame_reader r;
    uint8_t h[FRAME_HEADER_LEN];
    const uint8_t *body;
    size_t len;

    (void)state;
    frame_put_header(h, 101);
    frame_reader_init(&r, 100);
    /* Three bytes are not yet a length. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(frame_reader_feed(&r, h + i, 1), 0);
        assert_int_equal(frame_reader_next(&r, &body, &len), 0);
    }
    /* The fourth completes it: refused before any body byte arrives. */
    assert_int_equal(frame_reader_feed(&r, h + 3, 1), ERROR_FRAME_TOO_LARGE);
    assert_int_equal(frame_reader_next(&r, &body, &len), ERROR_FRAME_TOO_LARGE);
    assert_int_equal(frame_reader_buffered(&r), FRAME_HEADER_LEN);
    frame_reader_free(&r);

    /* A huge length in a single feed, with a little body behind it. */
    frame_reader_init(&r, FRAME_DEFAULT_MAX);
    {
        uint8_t wire[8] = {0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c', 'd'};
        assert_int_equal(frame_reader_feed(&r, wire, sizeof(wire)), ERROR_FRAME_TOO_LARGE);
        assert_int_equal(frame_reader_next(&r, &body, &len), ERROR_FRAME_TOO_LARGE);
    }
    frame_reader_free(&r);

    /* max + 1 with the default maximum. */
    frame_reader_init(&r, FRAME_DEFAULT_MAX);
    frame_put_header(h, FRAME_DEFAULT_MAX + 1);
    assert_int_equal(frame_reader_feed(&r, h, sizeof(h)), ERROR_FRAME_TOO_LARGE);
    frame_reader_free(&r);
}

static void test_truncated_frame(void **state)
{
    struct frame_reader r;
    uint8_t wire[64];
    size_t n = put_frame(wire, "0123456789", 10);

    (void)state;
    frame_reader_init(&r, 100);
    /* Header and half the body. */
    assert_int_equal(frame_reader_feed(&r, wire, FRAME_HEADER_LEN + 5), 0);
    expect_none(&r);
    assert_int_equal(frame_reader_buffered(&r), FRAME_HEADER_LEN + 5);
    expect_none(&r);
    assert_int_equal(frame_reader_buffered(&r), FRAME_HEADER_LEN + 5);
    /* The rest completes it. */
    assert_int_equal(frame_reader_feed(&r, wire + FRAME_HEADER_LEN + 5, n - FRAME_HEADER_LEN - 5),
                     0);
    expect_frame(&r, "0123456789", 10);
    assert_int_equal(frame_reader_buffered(&r), 0);
    frame_reader_free(&r);
}

static void test_truncated_after_good_frame(void **state)
{
    struct frame_reader r;
    uint8_t wire[64];
    size_t n = put_frame(wire, "good", 4);

    (void)state;
    n += put_frame(wire + n, "partial!", 8);
    frame_reader_init(&r, 100);
    /* One whole frame and all but the last 3 bytes of the next. */
    assert_int_equal(frame_reader_feed(&r, wire, n - 3), 0);
    expect_frame(&r, "good", 4);
    assert_int_equal(frame_reader_buffered(&r), FRAME_HEADER_LEN + 5);
    expect_none(&r);
    assert_int_equal(frame_reader_feed(&r, wire + n - 3, 3), 0);
    expect_frame(&r, "partial!", 8);
    assert_int_equal(frame_reader_buffered(&r), 0);
    frame_reader_free(&r);
}

static void test_bad_header_after_good_frame(void **state)
{
    struct frame_reader r;
    uint8_t wire[64];
    const uint8_t *body;
    size_t len;
    size_t n;

    (void)state;
    /* Good frame, then a zero length, in one chunk. */
    n = put_frame(wire, "good", 4);
    frame_put_header(wire + n, 0);
    n += FRAME_HEADER_LEN;
    frame_reader_init(&r, 100);
    assert_int_equal(frame_reader_feed(&r, wire, n), 0);
    expect_frame(&r, "good", 4);
    assert_int_equal(frame_reader_next(&r, &body, &len), ERROR_FRAME_EMPTY);
    frame_reader_free(&r);

    /* Good frame, then a too-large length, in one chunk. */
    n = put_frame(wire, "fine", 4);
    frame_put_header(wire + n, 1000);
    n += FRAME_HEADER_LEN;
    frame_reader_init(&r, 100);
    assert_int_equal(frame_reader_feed(&r, wire, n), 0);
    expect_frame(&r, "fine", 4);
    assert_int_equal(frame_reader_next(&r, &body, &len), ERROR_FRAME_TOO_LARGE);
    frame_reader_free(&r);

    /* Good frame returned, then the bad header arrives in the next read:
     * the feed itself reports it. */
    n = put_frame(wire, "ok", 2);
    frame_reader_init(&r, 100);
    assert_int_equal(frame_reader_feed(&r, wire, n), 0);
    expect_frame(&r, "ok", 2);
    frame_put_header(wire, 101);
    assert_int_equal(frame_reader_feed(&r, wire, FRAME_HEADER_LEN), ERROR_FRAME_TOO_LARGE);
    frame_reader_free(&r);
}

static void test_feed_larger_than_chunk(void **state)
{
    struct frame_reader r;
    uint8_t *big = calloc(1, FRAME_MAX_CHUNK + 1);

    (void)state;
    assert_non_null(big);
    frame_put_header(big, 10);
    frame_reader_init(&r, FRAME_DEFAULT_MAX);
    assert_int_equal(frame_reader_feed(&r, big, FRAME_MAX_CHUNK + 1), -ENOBUFS);
    assert_int_equal(frame_reader_buffered(&r), 0);
    /* Exactly one chunk is fine. */
    assert_int_equal(frame_reader_feed(&r, big, FRAME_MAX_CHUNK), 0);
    frame_reader_free(&r);
    free(big);
}

static void test_undrained_input_bounded(void **state)
{
    struct frame_reader r;
    uint8_t *chunk = malloc(FRAME_MAX_CHUNK);
    uint8_t body[100];
    size_t n = 0;
    int rc;

    (void)state;
    assert_non_null(chunk);
    memset(body, 'q', sizeof(body));
    while (n + FRAME_HEADER_LEN + sizeof(body) <= FRAME_MAX_CHUNK) {
        n += put_frame(chunk + n, body, sizeof(body));
    }
    frame_reader_init(&r, 100);
    /* A reader that is fed but never read from must refuse, not grow. */
    assert_int_equal(frame_reader_feed(&r, chunk, n), 0);
    rc = frame_reader_feed(&r, chunk, n);
    assert_int_equal(rc, -ENOBUFS);
    assert_int_equal(frame_reader_buffered(&r), n);
    assert_true(r.in.cap <= 100 + FRAME_HEADER_LEN + FRAME_MAX_CHUNK);
    /* What was held is intact. */
    expect_frame(&r, body, sizeof(body));
    frame_reader_free(&r);
    free(chunk);
}

static void test_free_and_reuse(void **state)
{
    struct frame_reader r;
    uint8_t wire[32];
    size_t n = put_frame(wire, "abc", 3);

    (void)state;
    frame_reader_init(&r, 100);
    assert_int_equal(frame_reader_feed(&r, wire, n - 1), 0);
    frame_reader_free(&r);
    assert_int_equal(frame_reader_buffered(&r), 0);
    frame_reader_free(&r);
    frame_reader_free(NULL);

    frame_reader_init(&r, 100);
    assert_int_equal(frame_reader_feed(&r, wire, n), 0);
    expect_frame(&r, "abc", 3);
    frame_reader_free(&r);
}

/* pbwire's varints: the length at each 7-bit boundary, and bytes that
 * decode back to the value (low group first, the top bit set on every
 * byte but the last). */
static void test_pbwire_varint(void **state)
{
    static const uint64_t values[] = {0,          1,          127,        128,
                                      16383,      16384,      2097151,    2097152,
                                      UINT32_MAX, 1ULL << 35, 1ULL << 56, (1ULL << 63) - 1,
                                      1ULL << 63, UINT64_MAX};
    static const size_t lens[] = {1, 1, 1, 2, 2, 3, 3, 4, 5, 6, 9, 9, 10, 10};

    (void)state;
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        uint8_t out[PBWIRE_VARINT_MAX + 1];
        uint64_t back = 0;
        size_t n;

        memset(out, 0xee, sizeof(out));
        assert_int_equal(pbwire_varint_len(values[i]), lens[i]);
        n = pbwire_varint_put(out, values[i]);
        assert_int_equal(n, lens[i]);
        assert_int_equal(out[n], 0xee);
        for (size_t k = 0; k < n; k++) {
            assert_int_equal((out[k] & 0x80) != 0, k + 1 < n);
            back |= (uint64_t)(out[k] & 0x7f) << (7 * k);
        }
        assert_true(back == values[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_header_big_endian),
        cmocka_unit_test(test_split_byte_by_byte),
        cmocka_unit_test(test_two_frames_byte_by_byte),
        cmocka_unit_test(test_many_frames_one_read),
        cmocka_unit_test(test_zero_length_prefix),
        cmocka_unit_test(test_length_equal_max_accepted),
        cmocka_unit_test(test_default_max_frame_split),
        cmocka_unit_test(test_too_large_detected_from_header),
        cmocka_unit_test(test_truncated_frame),
        cmocka_unit_test(test_truncated_after_good_frame),
        cmocka_unit_test(test_bad_header_after_good_frame),
        cmocka_unit_test(test_feed_larger_than_chunk),
        cmocka_unit_test(test_undrained_input_bounded),
        cmocka_unit_test(test_free_and_reuse),
        cmocka_unit_test(test_pbwire_varint),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
