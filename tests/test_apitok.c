/*
 * test_apitok: API tokens in the store (store/apitok.h) and their bearer's
 * identity (auth_identify_token_txn(), query/auth.h): a token reads as its
 * user until it is revoked or expires or the user is disabled; forged,
 * truncated and altered tokens are unknown; the secret is never stored;
 * the last use is written at most once a minute.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "apitok.h"
#include "auth.h"
#include "people.h"
#include "store.h"
#include "testutil.h"

#define NOW_MS ((int64_t)1767225600000) /* 2026-01-01 */

struct tok_ctx {
    const char *user;
    int64_t now_ms;
    int64_t expires_ms;
    char token[APITOK_LEN + 1];
    char id[APITOK_ID_LEN + 1];
    struct auth_user who;
    int touch;
    int rc;
    int disable;
    const char *probe;
};

static int build_org(struct store_txn *t, void *arg)
{
    int rc;

    (void)arg;
    rc =
        testutil_put_person(t, "slm.eve", "Eve", COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER, NULL);
    if (rc == 0) {
        rc = testutil_put_person(t, "rep.ida", "Ida", 0, NULL);
    }
    return rc;
}

static int create_txn(struct store_txn *t, void *arg)
{
    struct tok_ctx *c = arg;

    return apitok_create_txn(t, c->user, "bi", c->now_ms, c->expires_ms, "local:test", c->token,
                             c->id);
}

static int identify_txn(struct store_txn *t, void *arg)
{
    struct tok_ctx *c = arg;
    char why[96];

    c->rc = auth_identify_token_txn(t, c->probe, c->now_ms, &c->who, &c->touch, why, sizeof(why));
    return 0;
}

static int revoke_txn(struct store_txn *t, void *arg)
{
    struct tok_ctx *c = arg;

    return apitok_revoke_txn(t, c->id, c->now_ms, NULL);
}

static int touch_txn(struct store_txn *t, void *arg)
{
    struct tok_ctx *c = arg;

    return apitok_touch_txn(t, c->token, c->now_ms);
}

static int disable_txn(struct store_txn *t, void *arg)
{
    struct tok_ctx *c = arg;
    Coachq__V1__Person *p = NULL;
    int rc = people_get(t, c->user, &p);

    if (rc == 0) {
        p->disabled = c->disable;
        rc = people_put(t, p, NULL);
        coachq__v1__person__free_unpacked(p, NULL);
    }
    return rc;
}

static int identify(struct store *s, struct tok_ctx *c, const char *probe, int64_t now_ms)
{
    c->probe = probe;
    c->now_ms = now_ms;
    assert_int_equal(store_view(s, identify_txn, c), 0);
    return c->rc;
}

static void test_token_lifecycle(void **state)
{
    struct testutil_store_fx *fx = testutil_store_fx_new(build_org, NULL);
    struct tok_ctx c;
    char forged[APITOK_LEN + 1];

    (void)state;
    memset(&c, 0, sizeof(c));
    c.user = "slm.eve";
    c.now_ms = NOW_MS;
    c.expires_ms = NOW_MS + 86400000;
    assert_int_equal(store_exec(fx->s, create_txn, &c), 0);
    assert_int_equal(strlen(c.token), APITOK_LEN);
    assert_int_equal(strncmp(c.token, "cqt_", 4), 0);
    assert_true(apitok_well_formed(c.token));

    /* Its user, with their roles, and a first use due. */
    assert_int_equal(identify(fx->s, &c, c.token, NOW_MS), 0);
    assert_string_equal(c.who.id, "slm.eve");
    assert_int_equal(c.who.roles, AUTH_SECOND_LEVEL);
    assert_int_equal(c.touch, 1);

    /* Forged: one character changed, truncated, extended, wrong prefix. */
    memcpy(forged, c.token, sizeof(forged));
    forged[10] = forged[10] == 'A' ? 'B' : 'A';
    assert_int_equal(identify(fx->s, &c, forged, NOW_MS), -EACCES);
    memcpy(forged, c.token, sizeof(forged));
    forged[APITOK_LEN - 1] = '\0';
    assert_int_equal(identify(fx->s, &c, forged, NOW_MS), -EACCES);
    assert_int_equal(identify(fx->s, &c, "cqt_", NOW_MS), -EACCES);
    assert_int_equal(identify(fx->s, &c, "", NOW_MS), -EACCES);
    memcpy(forged, c.token, sizeof(forged));
    forged[0] = 'x';
    assert_int_equal(identify(fx->s, &c, forged, NOW_MS), -EACCES);

    /* The last use is written at most once a minute. */
    assert_int_equal(store_exec(fx->s, touch_txn, &c), 0);
    assert_int_equal(identify(fx->s, &c, c.token, NOW_MS + 1000), 0);
    assert_int_equal(c.touch, 0);
    assert_int_equal(identify(fx->s, &c, c.token, NOW_MS + APITOK_TOUCH_MS), 0);
    assert_int_equal(c.touch, 1);

    /* Expired the moment its expiry comes. */
    assert_int_equal(identify(fx->s, &c, c.token, c.expires_ms - 1), 0);
    assert_int_equal(identify(fx->s, &c, c.token, c.expires_ms), -EACCES);

    /* A disabled user's token is refused, and works again once enabled. */
    c.disable = 1;
    assert_int_equal(store_exec(fx->s, disable_txn, &c), 0);
    assert_int_equal(identify(fx->s, &c, c.token, NOW_MS), -EACCES);
    c.disable = 0;
    assert_int_equal(store_exec(fx->s, disable_txn, &c), 0);
    assert_int_equal(identify(fx->s, &c, c.token, NOW_MS), 0);

    /* Revoked for good; a second revoke says so. */
    c.now_ms = NOW_MS;
    assert_int_equal(store_exec(fx->s, revoke_txn, &c), 0);
    assert_int_equal(identify(fx->s, &c, c.token, NOW_MS), -EACCES);
    assert_int_equal(store_exec(fx->s, revoke_txn, &c), -EALREADY);
    testutil_store_fx_free(fx);
}

static void test_reps_and_strangers_get_no_token(void **state)
{
    struct testutil_store_fx *fx = testutil_store_fx_new(build_org, NULL);
    struct tok_ctx c;

    (void)state;
    memset(&c, 0, sizeof(c));
    c.now_ms = NOW_MS;
    c.user = "rep.ida";
    assert_int_equal(store_exec(fx->s, create_txn, &c), -EINVAL);
    c.user = "nobody";
    assert_int_equal(store_exec(fx->s, create_txn, &c), -ENOENT);
    c.user = "slm.eve";
    c.expires_ms = NOW_MS - 1;
    assert_int_equal(store_exec(fx->s, create_txn, &c), -EINVAL);
    testutil_store_fx_free(fx);
}

/* Whether needle (n bytes) occurs in hay (len bytes). */
static int contains(const char *hay, size_t len, const char *needle, size_t n)
{
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(hay + i, needle, n) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The token text is nowhere in the data file: only its hash is stored. */
static void test_secret_not_stored(void **state)
{
    struct testutil_store_fx *fx = testutil_store_fx_new(build_org, NULL);
    struct tok_ctx c;
    char path[600];
    FILE *f;
    char *data;
    long n;

    (void)state;
    memset(&c, 0, sizeof(c));
    c.user = "slm.eve";
    c.now_ms = NOW_MS;
    assert_int_equal(store_exec(fx->s, create_txn, &c), 0);
    snprintf(path, sizeof(path), "%s/data.mdb", fx->dir);
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = malloc((size_t)n);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    assert_false(contains(data, (size_t)n, c.token + 4, APITOK_LEN - 4));
    assert_true(contains(data, (size_t)n, c.id, APITOK_ID_LEN));
    free(data);
    testutil_store_fx_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_lifecycle),
        cmocka_unit_test(test_reps_and_strangers_get_no_token),
        cmocka_unit_test(test_secret_not_stored),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
