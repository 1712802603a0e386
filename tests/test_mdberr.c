/*
 * Tests of mdberr: LMDB's codes as negative errno values, the one mapping
 * the store and the client's journal share.
 */
#include <errno.h>
#include <lmdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mdberr.h"

static void test_codes(void **state)
{
    (void)state;
    assert_int_equal(mdberr_errno(MDB_SUCCESS), 0);
    assert_int_equal(mdberr_errno(MDB_NOTFOUND), -ENOENT);
    assert_int_equal(mdberr_errno(MDB_KEYEXIST), -EEXIST);
    assert_int_equal(mdberr_errno(MDB_MAP_FULL), -ENOSPC);
    assert_int_equal(mdberr_errno(MDB_TXN_FULL), -ENOSPC);
    assert_int_equal(mdberr_errno(MDB_READERS_FULL), -EAGAIN);
    assert_int_equal(mdberr_errno(MDB_DBS_FULL), -EAGAIN);
    assert_int_equal(mdberr_errno(MDB_VERSION_MISMATCH), -EPROTO);
    assert_int_equal(mdberr_errno(MDB_INVALID), -EPROTO);
    /* Damage of every other kind is an I/O error, never success. */
    assert_int_equal(mdberr_errno(MDB_CORRUPTED), -EIO);
    assert_int_equal(mdberr_errno(MDB_PANIC), -EIO);
    assert_int_equal(mdberr_errno(MDB_BAD_TXN), -EIO);
    assert_int_equal(mdberr_errno(MDB_BAD_VALSIZE), -EIO);
}

/* A system error LMDB passes through (ENOSPC from a write on a full disk)
 * comes back negated; a code that is already a negative errno is kept. */
static void test_passthrough(void **state)
{
    (void)state;
    assert_int_equal(mdberr_errno(ENOSPC), -ENOSPC);
    assert_int_equal(mdberr_errno(EIO), -EIO);
    assert_int_equal(mdberr_errno(-ENOMEM), -ENOMEM);
    assert_int_equal(mdberr_errno(-EINVAL), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes),
        cmocka_unit_test(test_passthrough),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
