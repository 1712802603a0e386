/* Tests of web/websess.c: the in-memory session table (expiry, eviction
 * of the oldest, ending a user's sessions), token comparison, device
 * cookies and pre-session tokens. Passwords and links: test_creds.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "websess.h"

/* ---- Sessions ---- */

static struct auth_user user(const char *id, unsigned roles)
{
    struct auth_user u;

    memset(&u, 0, sizeof(u));
    snprintf(u.id, sizeof(u.id), "%s", id);
    u.roles = roles;
    return u;
}

static void test_sessions(void **state)
{
    struct websess_table *t = websess_table_new(3600);
    struct auth_user amy = user("obs.amy", AUTH_OBSERVER);
    struct auth_user lu = user("lead.lu", AUTH_LEAD);
    const struct websess *s1, *s2, *s3, *got;
    char id1[WEBSESS_TOKEN_LEN + 1], id2[WEBSESS_TOKEN_LEN + 1], id3[WEBSESS_TOKEN_LEN + 1];

    (void)state;
    assert_null(websess_table_new(0));
    assert_non_null(t);
    s1 = websess_start(t, &amy, 1000);
    assert_non_null(s1);
    memcpy(id1, s1->id, sizeof(id1));
    assert_int_equal(strlen(s1->id), WEBSESS_TOKEN_LEN);
    assert_int_equal(strlen(s1->csrf), WEBSESS_TOKEN_LEN);
    assert_string_not_equal(s1->id, s1->csrf);
    assert_int_equal(s1->created_s, 1000);
    assert_int_equal(s1->expires_s, 4600);
    assert_string_equal(s1->user.id, "obs.amy");
    assert_int_equal(s1->user.roles, AUTH_OBSERVER);
    s2 = websess_start(t, &lu, 2000);
    assert_non_null(s2);
    memcpy(id2, s2->id, sizeof(id2));
    s3 = websess_start(t, &amy, 2500);
    assert_non_null(s3);
    memcpy(id3, s3->id, sizeof(id3));
    assert_int_equal(websess_count(t), 3);

    got = websess_find(t, id2, 2001);
    assert_non_null(got);
    assert_string_equal(got->user.id, "lead.lu");
    assert_null(websess_find(t, "nope", 2001));
    assert_null(websess_find(t, NULL, 2001));
    {
        char wrong[WEBSESS_TOKEN_LEN + 1];
        memcpy(wrong, id2, sizeof(wrong));
        wrong[10] = wrong[10] == 'x' ? 'y' : 'x';
        assert_null(websess_find(t, wrong, 2001));
    }

    /* Expiry: s1 lasts until 4600 exclusive. */
    assert_non_null(websess_find(t, id1, 4599));
    assert_null(websess_find(t, id1, 4600));
    assert_int_equal(websess_count(t), 2);

    /* Ending a user's sessions leaves the others. */
    websess_end_user(t, "obs.amy");
    assert_int_equal(websess_count(t), 1);
    assert_null(websess_find(t, id3, 4600));
    assert_non_null(websess_find(t, id2, 4600));
    websess_end(t, id2);
    assert_int_equal(websess_count(t), 0);
    websess_end(t, id2); /* twice is harmless */
    websess_table_free(t);
}

static void test_session_eviction(void **state)
{
    struct websess_table *t = websess_table_new(86400);
    struct auth_user u = user("obs.amy", AUTH_OBSERVER);
    char first[WEBSESS_TOKEN_LEN + 1], second[WEBSESS_TOKEN_LEN + 1];
    char last[WEBSESS_TOKEN_LEN + 1];
    const struct websess *s;

    (void)state;
    assert_non_null(t);
    /* Every session another user's: the per-user cap stays out of it. */
    for (int i = 0; i < WEBSESS_MAX; i++) {
        snprintf(u.id, sizeof(u.id), "obs.u%05d", i);
        s = websess_start(t, &u, 100 + i / 100);
        assert_non_null(s);
        if (i == 0) {
            memcpy(first, s->id, sizeof(first));
        } else if (i == 1) {
            memcpy(second, s->id, sizeof(second));
        }
    }
    assert_int_equal(websess_count(t), WEBSESS_MAX);
    /* One more: the oldest goes, the count stays at the cap. */
    snprintf(u.id, sizeof(u.id), "obs.amy");
    s = websess_start(t, &u, 500);
    assert_non_null(s);
    memcpy(last, s->id, sizeof(last));
    assert_int_equal(websess_count(t), WEBSESS_MAX);
    assert_null(websess_find(t, first, 500));
    assert_non_null(websess_find(t, second, 500));
    assert_non_null(websess_find(t, last, 500));
    /* Everything expires at once a day later. */
    assert_null(websess_find(t, last, 500 + 86400));
    assert_int_equal(websess_count(t), 0);
    websess_table_free(t);
}

/* One account signing in again and again ends only its own oldest
 * sessions: at most WEBSESS_MAX_PER_USER each, nobody else evicted. */
static void test_session_per_user(void **state)
{
    struct websess_table *t = websess_table_new(86400);
    struct auth_user amy = user("obs.amy", AUTH_OBSERVER);
    struct auth_user lu = user("flm.lu", AUTH_FRONT_LINE);
    char others[3][WEBSESS_TOKEN_LEN + 1];
    char amys[WEBSESS_MAX_PER_USER + 1][WEBSESS_TOKEN_LEN + 1];
    const struct websess *s;

    (void)state;
    assert_non_null(t);
    s = websess_start(t, &lu, 10); /* older than all of amy's */
    assert_non_null(s);
    memcpy(others[0], s->id, sizeof(others[0]));
    for (int i = 0; i < WEBSESS_MAX_PER_USER; i++) {
        s = websess_start(t, &amy, 20 + i);
        assert_non_null(s);
        memcpy(amys[i], s->id, sizeof(amys[i]));
        if (i == 3) {
            s = websess_start(t, &lu, 21 + i);
            assert_non_null(s);
            memcpy(others[1], s->id, sizeof(others[1]));
        }
    }
    assert_int_equal(websess_count(t), WEBSESS_MAX_PER_USER + 2);
    /* The 17th: amy's oldest ends, not lu's older session. */
    s = websess_start(t, &amy, 100);
    assert_non_null(s);
    memcpy(amys[WEBSESS_MAX_PER_USER], s->id, sizeof(amys[0]));
    assert_int_equal(websess_count(t), WEBSESS_MAX_PER_USER + 2);
    assert_null(websess_find(t, amys[0], 100));
    for (int i = 1; i <= WEBSESS_MAX_PER_USER; i++) {
        assert_non_null(websess_find(t, amys[i], 100));
    }
    assert_non_null(websess_find(t, others[0], 100));
    assert_non_null(websess_find(t, others[1], 100));
    /* Signing in as often as the whole table holds evicts nobody else. */
    s = websess_start(t, &lu, 101);
    assert_non_null(s);
    memcpy(others[2], s->id, sizeof(others[2]));
    for (int i = 0; i < WEBSESS_MAX; i++) {
        s = websess_start(t, &amy, 200);
        assert_non_null(s);
        assert_string_equal(s->user.id, "obs.amy");
    }
    assert_int_equal(websess_count(t), WEBSESS_MAX_PER_USER + 3);
    for (int i = 0; i < 3; i++) {
        s = websess_find(t, others[i], 200);
        assert_non_null(s);
        assert_string_equal(s->user.id, "flm.lu");
    }
    assert_null(websess_find(t, amys[WEBSESS_MAX_PER_USER], 200));
    websess_table_free(t);
}

static void test_tokens(void **state)
{
    char a[WEBSESS_TOKEN_LEN + 1], b[WEBSESS_TOKEN_LEN + 1];

    (void)state;
    assert_int_equal(creds_random_token(a), 0);
    assert_int_equal(creds_random_token(b), 0);
    assert_int_equal(strlen(a), WEBSESS_TOKEN_LEN);
    assert_string_not_equal(a, b);
    assert_true(websess_token_equal(a, a));
    assert_true(websess_token_equal("abc", "abc"));
    assert_false(websess_token_equal(a, b));
    assert_false(websess_token_equal("abc", "abd"));
    assert_false(websess_token_equal("abc", "abcd"));
    assert_false(websess_token_equal("", ""));
    assert_false(websess_token_equal(NULL, "abc"));
    assert_false(websess_token_equal("abc", NULL));
}

/* Device cookies and pre-session tokens are the server's MACs: a value a
 * client makes up, one changed in any character, one from another
 * server key (before a restart), for another device, or expired, fails. */
static void test_devices_and_presession(void **state)
{
    struct websess_table *t = websess_table_new(3600);
    struct websess_table *other = websess_table_new(3600);
    char dev[WEBSESS_DEVICE_LEN + 1], dev2[WEBSESS_DEVICE_LEN + 1], bad[WEBSESS_DEVICE_LEN + 1];
    char id[WEBSESS_DEVICE_ID_LEN + 1], id2[WEBSESS_DEVICE_ID_LEN + 1];
    char tok[WEBSESS_TOKEN_LEN + 1], forged[WEBSESS_TOKEN_LEN + 1];
    struct auth_user amy = {.id = "obs.amy", .roles = AUTH_OBSERVER};
    const struct websess *s;

    (void)state;
    assert_non_null(t);
    assert_non_null(other);
    assert_int_equal(websess_device_new(t, dev), 0);
    assert_int_equal(websess_device_new(t, dev2), 0);
    assert_int_equal(strlen(dev), WEBSESS_DEVICE_LEN);
    assert_string_not_equal(dev, dev2);
    assert_int_equal(websess_device_check(t, dev, id), 0);
    assert_int_equal(websess_device_check(t, dev2, id2), 0);
    assert_int_equal(strlen(id), WEBSESS_DEVICE_ID_LEN);
    assert_memory_equal(id, dev, WEBSESS_DEVICE_ID_LEN);
    /* Every single changed character is caught. */
    for (size_t i = 0; i < WEBSESS_DEVICE_LEN; i++) {
        if (i == WEBSESS_DEVICE_ID_LEN) {
            continue;
        }
        memcpy(bad, dev, sizeof(bad));
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        assert_int_equal(websess_device_check(t, bad, id2), -EACCES);
        assert_string_equal(id2, "");
    }
    assert_int_equal(websess_device_check(other, dev, id2), -EACCES);
    assert_int_equal(websess_device_check(t, "", id2), -EACCES);
    assert_int_equal(websess_device_check(t, NULL, id2), -EACCES);
    assert_int_equal(
        websess_device_check(
            t, "AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", id2),
        -EACCES);
    websess_device_check(t, dev2, id2);

    assert_int_equal(websess_presession_token(t, id, 1000, tok), 0);
    assert_int_equal(strlen(tok), WEBSESS_TOKEN_LEN);
    assert_int_equal(websess_presession_check(t, id, tok, 1000), 0);
    assert_int_equal(websess_presession_check(t, id, tok, 1000 + WEBSESS_PRESESSION_TTL_S - 1), 0);
    assert_int_equal(websess_presession_check(t, id, tok, 1000 + WEBSESS_PRESESSION_TTL_S),
                     -EACCES);
    /* Issued "in the future" (a forged expiry would be): refused. */
    assert_int_equal(websess_presession_check(t, id, tok, 100), -EACCES);
    assert_int_equal(websess_presession_check(t, id2, tok, 1000), -EACCES);
    assert_int_equal(websess_presession_check(other, id, tok, 1000), -EACCES);
    for (size_t i = 0; i < WEBSESS_TOKEN_LEN - 1; i++) {
        memcpy(forged, tok, sizeof(forged));
        forged[i] = forged[i] == 'A' ? 'B' : 'A';
        assert_int_equal(websess_presession_check(t, id, forged, 1000), -EACCES);
    }
    assert_int_equal(
        websess_presession_check(t, id, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 1000),
        -EACCES);
    assert_int_equal(websess_presession_check(t, id, "", 1000), -EACCES);
    assert_int_equal(websess_presession_token(t, "short", 1000, tok), -EINVAL);

    /* A session remembers its device. */
    s = websess_start_on(t, &amy, id, 1000);
    assert_non_null(s);
    assert_string_equal(s->device, id);
    s = websess_start(t, &amy, 1000);
    assert_non_null(s);
    assert_string_equal(s->device, "");
    assert_null(websess_start_on(t, &amy, "short", 1000));
    websess_table_free(t);
    websess_table_free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sessions),
        cmocka_unit_test(test_session_eviction),
        cmocka_unit_test(test_session_per_user),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_devices_and_presession),
    };

    testutil_watchdog(120);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
