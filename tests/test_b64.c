/* Tests of common/b64.c: unpadded base64 in both alphabets, the lengths
 * B64_LEN() promises, and what the decoder refuses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "b64.h"
#include "testutil.h"

/* RFC 4648's test vectors, without their padding. */
static void test_vectors(void **state)
{
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *want[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    char out[16];
    uint8_t back[16];

    (void)state;
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        size_t n = strlen(in[i]);
        assert_int_equal(b64_encode(B64_STD, (const uint8_t *)in[i], n, out), B64_LEN(n));
        assert_string_equal(out, want[i]);
        assert_int_equal(b64_decode(B64_STD, out, strlen(out), back, sizeof(back)), (int)n);
        assert_memory_equal(back, in[i], n);
    }
}

/* The two alphabets differ in "+/" against "-_" only. */
static void test_alphabets(void **state)
{
    const uint8_t in[] = {0xfb, 0xff, 0xbf};
    char out[8];
    uint8_t back[8];

    (void)state;
    b64_encode(B64_STD, in, sizeof(in), out);
    assert_string_equal(out, "+/+/");
    b64_encode(B64_URL, in, sizeof(in), out);
    assert_string_equal(out, "-_-_");
    assert_int_equal(b64_decode(B64_URL, "-_-_", 4, back, sizeof(back)), 3);
    assert_memory_equal(back, in, sizeof(in));
    assert_int_equal(b64_decode(B64_URL, "+/+/", 4, back, sizeof(back)), -EINVAL);
    assert_int_equal(b64_decode(B64_STD, "-_-_", 4, back, sizeof(back)), -EINVAL);
}

static void test_refusals(void **state)
{
    uint8_t out[8];

    (void)state;
    /* No encoding is 1 mod 4 characters long. */
    assert_int_equal(b64_decode(B64_STD, "Zm9vY", 5, out, sizeof(out)), -EINVAL);
    /* Padding, a NUL and other characters are outside the alphabet. */
    assert_int_equal(b64_decode(B64_STD, "Zg==", 4, out, sizeof(out)), -EINVAL);
    assert_int_equal(b64_decode(B64_STD, "Z\0g", 3, out, sizeof(out)), -EINVAL);
    assert_int_equal(b64_decode(B64_STD, "Zm!v", 4, out, sizeof(out)), -EINVAL);
    /* Non-zero trailing bits: "Zh" is not the encoding of anything. */
    assert_int_equal(b64_decode(B64_STD, "Zh", 2, out, sizeof(out)), -EINVAL);
    /* No room. */
    assert_int_equal(b64_decode(B64_STD, "Zm9vYmFy", 8, out, 5), -EINVAL);
    assert_int_equal(b64_decode(B64_STD, "Zm9vYmFy", 8, out, 6), 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_alphabets),
        cmocka_unit_test(test_refusals),
    };

    testutil_watchdog(60);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
