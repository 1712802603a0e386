/*
 * Tests of cursor: a sealed list cursor opens only with the server's key,
 * for the user and the query it was sealed for, before its expiry; every
 * single-bit change, a truncation, another user, another query, another key
 * and a late use are refused; the sealed bytes show nothing of the
 * position; and cursor_key_load() makes a 0600 key once and reads it back.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cursor.h"
#include "testutil.h"

#define NOW 1793059200LL

static const uint8_t key[CURSOR_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
/* An index key as the store makes it: index, person, time, record id. */
static const uint8_t pos[] = "\x01"
                             "flm.dan\x00\x80\x00\x00\x00\x6a\xe0\x5b\x00"
                             "0123456789abcdef";

/* Whether the n bytes at hay hold the string needle. */
static int contains(const uint8_t *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);

    for (size_t i = 0; i + k <= n; i++) {
        if (memcmp(hay + i, needle, k) == 0) {
            return 1;
        }
    }
    return 0;
}

static void bind_for(struct cursor_bind *b, const char *user, const char *query)
{
    b->user = user;
    b->query = (const uint8_t *)query;
    b->query_len = strlen(query);
}

static void test_round_trip(void **state)
{
    struct cursor_bind b;
    uint8_t sealed[CURSOR_MAX_SEALED];
    uint8_t out[CURSOR_MAX_POS];
    size_t n = 0;
    size_t m = 0;

    (void)state;
    bind_for(&b, "alice", "coach flm.dan");
    assert_int_equal(cursor_seal(key, &b, NOW + 60, pos, sizeof(pos), sealed, sizeof(sealed), &n),
                     0);
    assert_int_equal(n, CURSOR_OVERHEAD + sizeof(pos));
    assert_int_equal(cursor_open(key, &b, NOW, sealed, n, out, sizeof(out), &m), 0);
    assert_int_equal(m, sizeof(pos));
    assert_memory_equal(out, pos, sizeof(pos));
    /* Opaque: neither the person nor the record id shows. */
    assert_false(contains(sealed, n, "flm.dan"));
    assert_false(contains(sealed, n, "0123456789"));
    /* Two seals of one position differ (random nonce): cursors cannot be
     * compared to learn that two lists stand at the same record. */
    {
        uint8_t again[CURSOR_MAX_SEALED];
        size_t n2 = 0;

        assert_int_equal(
            cursor_seal(key, &b, NOW + 60, pos, sizeof(pos), again, sizeof(again), &n2), 0);
        assert_int_equal(n2, n);
        assert_memory_not_equal(again, sealed, n);
    }
}

static void test_refusals(void **state)
{
    struct cursor_bind b;
    struct cursor_bind other;
    uint8_t sealed[CURSOR_MAX_SEALED];
    uint8_t bad[CURSOR_MAX_SEALED];
    uint8_t other_key[CURSOR_KEY_LEN] = {9};
    uint8_t out[CURSOR_MAX_POS];
    size_t n = 0;
    size_t m = 0;

    (void)state;
    bind_for(&b, "alice", "coach flm.dan");
    assert_int_equal(cursor_seal(key, &b, NOW + 60, pos, sizeof(pos), sealed, sizeof(sealed), &n),
                     0);
    /* Every bit of it is covered. */
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(bad, sealed, n);
            bad[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(cursor_open(key, &b, NOW, bad, n, out, sizeof(out), &m),
                             CURSOR_E_FORGED);
        }
    }
    for (size_t len = 0; len < n; len++) {
        assert_int_equal(cursor_open(key, &b, NOW, sealed, len, out, sizeof(out), &m),
                         CURSOR_E_FORGED);
    }
    /* Another user, a user whose id extends into the query, another query. */
    bind_for(&other, "bob", "coach flm.dan");
    assert_int_equal(cursor_open(key, &other, NOW, sealed, n, out, sizeof(out), &m),
                     CURSOR_E_FORGED);
    bind_for(&other, "alicec", "oach flm.dan");
    assert_int_equal(cursor_open(key, &other, NOW, sealed, n, out, sizeof(out), &m),
                     CURSOR_E_FORGED);
    bind_for(&other, "alice", "coach flm.cara");
    assert_int_equal(cursor_open(key, &other, NOW, sealed, n, out, sizeof(out), &m),
                     CURSOR_E_FORGED);
    /* Another server's key. */
    assert_int_equal(cursor_open(other_key, &b, NOW, sealed, n, out, sizeof(out), &m),
                     CURSOR_E_FORGED);
    /* Expired, but only once genuine: a tampered old cursor is forged. */
    assert_int_equal(cursor_open(key, &b, NOW + 61, sealed, n, out, sizeof(out), &m),
                     CURSOR_E_EXPIRED);
    assert_int_equal(cursor_open(key, &b, NOW + 60, sealed, n, out, sizeof(out), &m), 0);
    /* No room for the position. */
    assert_int_equal(cursor_open(key, &b, NOW, sealed, n, out, sizeof(pos) - 1, &m),
                     CURSOR_E_FORGED);
    /* Positions too long to seal. */
    {
        uint8_t big[CURSOR_MAX_POS + 1] = {0};

        assert_int_equal(cursor_seal(key, &b, NOW, big, sizeof(big), bad, sizeof(bad), &m),
                         -EINVAL);
    }
}

static void test_key_file(void **state)
{
    char dir[512];
    char path[600];
    uint8_t k1[CURSOR_KEY_LEN];
    uint8_t k2[CURSOR_KEY_LEN];
    struct stat st;
    int fd;

    (void)state;
    testutil_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/cursor.key", dir);
    assert_int_equal(cursor_key_load(dir, k1), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, CURSOR_KEY_LEN);
    /* The same key at the next start; a loose mode is made tight. */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(cursor_key_load(dir, k2), 0);
    assert_memory_equal(k1, k2, CURSOR_KEY_LEN);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* A short key file is refused, not used. */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "short", 5), 5);
    close(fd);
    assert_int_equal(cursor_key_load(dir, k2), -EINVAL);
    testutil_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_key_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
