/* Tests of store/creds.c: scrypt password hashes and their checks,
 * stored passwords for users with a role, and one-time sign-in links (used
 * once, expiring).
 *
 * Write callbacks run on the store's writer thread, where a failed cmocka
 * assertion cannot jump back to the test, so they only record results. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "creds.h"
#include "people.h"
#include "store.h"
#include "testutil.h"

struct fixture {
    char dir[512];
    struct store *s;
};

struct person_seed {
    const char *id;
    Coachq__V1__Role role; /* 0: a rep */
    int disabled;
};

static const struct person_seed seeds[] = {
    {"obs.amy", COACHQ__V1__ROLE__ROLE_OBSERVER, 0},
    {"lead.lu", COACHQ__V1__ROLE__ROLE_ENABLEMENT_LEAD, 0},
    {"rep.bo", 0, 0},
};

static int seed_txn(struct store_txn *t, void *arg)
{
    (void)arg;
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        Coachq__V1__Person p = COACHQ__V1__PERSON__INIT;
        Coachq__V1__Role role = seeds[i].role;
        int rc;
        p.id = (char *)seeds[i].id;
        p.name = (char *)seeds[i].id;
        if (role != 0) {
            p.n_roles = 1;
            p.roles = &role;
        }
        p.disabled = seeds[i].disabled;
        rc = people_put(t, &p, NULL);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    testutil_tmpdir(f->dir, sizeof(f->dir));
    f->s = testutil_store_open(f->dir, 0);
    assert_int_equal(store_exec(f->s, seed_txn, NULL), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    store_close(f->s);
    testutil_rmrf(f->dir);
    free(f);
    return 0;
}

/* ---- Passwords ---- */

static void test_hash_and_check(void **state)
{
    char h1[200], h2[200];

    (void)state;
    assert_int_equal(creds_hash_password("correct horse battery", h1, sizeof(h1)), 0);
    assert_int_equal(strncmp(h1, "scrypt$15$8$1$", 14), 0);
    /* 16-byte salt and 32-byte key, unpadded base64: 22 and 43 chars. */
    assert_int_equal(strlen(h1), 14 + 22 + 1 + 43);
    assert_int_equal(creds_check_password("correct horse battery", h1), 0);
    assert_int_equal(creds_check_password("correct horse batterY", h1), -EACCES);
    assert_int_equal(creds_check_password("", h1), -EACCES);
    /* A fresh salt each time: same password, different hash, both good. */
    assert_int_equal(creds_hash_password("correct horse battery", h2, sizeof(h2)), 0);
    assert_string_not_equal(h1, h2);
    assert_int_equal(creds_check_password("correct horse battery", h2), 0);
    /* No room. */
    assert_true(creds_hash_password("x", h2, 40) < 0);
}

static void test_malformed_hashes(void **state)
{
    char good[200], bad[260];
    const char *cases[] = {
        "",
        "scrypt",
        "bcrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "scrypt$15$8$1$",
        "scrypt$99$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "scrypt$15$999$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "scrypt$15$8$9$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "scrypt$x$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "scrypt$15$8$1$AAAA!AAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAA",
        "scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA",
        "scrypt$15$8$1$A$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(creds_check_password("whatever1234", cases[i]), -EINVAL);
    }
    assert_int_equal(creds_check_password("whatever1234", NULL), -EINVAL);
    /* A good hash cut short or with a character changed in its base64. */
    assert_int_equal(creds_hash_password("whatever1234", good, sizeof(good)), 0);
    /* Cut by one to four characters: never a shorter key that verifies. */
    for (int cut = 1; cut <= 4; cut++) {
        snprintf(bad, sizeof(bad), "%.*s", (int)strlen(good) - cut, good);
        assert_int_equal(creds_check_password("whatever1234", bad), -EINVAL);
    }
    snprintf(bad, sizeof(bad), "%s", good);
    bad[strlen(bad) - 5] = bad[strlen(bad) - 5] == 'A' ? 'B' : 'A';
    assert_int_equal(creds_check_password("whatever1234", bad), -EACCES);
}

struct pw_op {
    const char *user;
    const char *hash;
    int rc;
};

static int set_pw_txn(struct store_txn *t, void *arg)
{
    struct pw_op *op = arg;

    op->rc = creds_set_password_txn(t, op->user, op->hash);
    return 0;
}

struct pw_read {
    const char *user;
    char out[200];
    int rc;
};

static int get_pw_txn(struct store_txn *t, void *arg)
{
    struct pw_read *r = arg;

    r->rc = creds_get_password_txn(t, r->user, r->out, sizeof(r->out));
    return 0;
}

static void test_stored_password(void **state)
{
    struct fixture *f = *state;
    char h[200];
    struct pw_op op = {0};
    struct pw_read rd = {0};

    assert_int_equal(creds_hash_password("a long password", h, sizeof(h)), 0);
    op.user = "obs.amy";
    op.hash = h;
    assert_int_equal(store_exec(f->s, set_pw_txn, &op), 0);
    assert_int_equal(op.rc, 0);
    rd.user = "obs.amy";
    assert_int_equal(store_view(f->s, get_pw_txn, &rd), 0);
    assert_int_equal(rd.rc, 0);
    assert_string_equal(rd.out, h);
    assert_int_equal(creds_check_password("a long password", rd.out), 0);

    /* Unknown people, reps, malformed ids and hashes are refused. */
    op.user = "nobody";
    assert_int_equal(store_exec(f->s, set_pw_txn, &op), 0);
    assert_int_equal(op.rc, -ENOENT);
    op.user = "rep.bo";
    assert_int_equal(store_exec(f->s, set_pw_txn, &op), 0);
    assert_int_equal(op.rc, -EINVAL);
    op.user = "bad id";
    assert_int_equal(store_exec(f->s, set_pw_txn, &op), 0);
    assert_int_equal(op.rc, -ENOENT);
    op.user = "lead.lu";
    op.hash = "plaintext";
    assert_int_equal(store_exec(f->s, set_pw_txn, &op), 0);
    assert_int_equal(op.rc, -EINVAL);
    rd.user = "lead.lu";
    assert_int_equal(store_view(f->s, get_pw_txn, &rd), 0);
    assert_int_equal(rd.rc, -ENOENT);
    rd.user = "rep.bo";
    assert_int_equal(store_view(f->s, get_pw_txn, &rd), 0);
    assert_int_equal(rd.rc, -ENOENT);
}

/* ---- Links ---- */

struct link_op {
    const char *user;
    int64_t now, ttl;
    char token[CREDS_TOKEN_LEN + 1];
    char got[65];
    int rc;
};

static int link_create(struct store_txn *t, void *arg)
{
    struct link_op *op = arg;

    op->rc = creds_link_create_txn(t, op->user, op->now, op->ttl, op->token);
    return 0;
}

static int link_consume(struct store_txn *t, void *arg)
{
    struct link_op *op = arg;

    op->rc = creds_link_consume_txn(t, op->token, op->now, op->got);
    return 0;
}

static void test_links(void **state)
{
    struct fixture *f = *state;
    struct link_op a = {.user = "obs.amy", .now = 1000000, .ttl = CREDS_LINK_TTL_S};
    struct link_op b = {.user = "lead.lu", .now = 1000000, .ttl = 60};
    struct link_op c = {.user = "rep.bo", .now = 1000000, .ttl = 60};

    assert_int_equal(store_exec(f->s, link_create, &a), 0);
    assert_int_equal(a.rc, 0);
    assert_int_equal(strlen(a.token), CREDS_TOKEN_LEN);
    assert_int_equal(strspn(a.token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789-_"),
                     CREDS_TOKEN_LEN);
    assert_int_equal(store_exec(f->s, link_create, &b), 0);
    assert_int_equal(b.rc, 0);
    assert_string_not_equal(a.token, b.token);
    /* Reps get no link. */
    assert_int_equal(store_exec(f->s, link_create, &c), 0);
    assert_int_equal(c.rc, -EINVAL);

    /* A wrong token (one character off) finds nothing. */
    {
        struct link_op w = a;
        w.token[0] = w.token[0] == 'A' ? 'B' : 'A';
        assert_int_equal(store_exec(f->s, link_consume, &w), 0);
        assert_int_equal(w.rc, -ENOENT);
        snprintf(w.token, sizeof(w.token), "short");
        assert_int_equal(store_exec(f->s, link_consume, &w), 0);
        assert_int_equal(w.rc, -ENOENT);
    }
    /* Used once, just before it expires; then never again. */
    a.now += CREDS_LINK_TTL_S - 1;
    assert_int_equal(store_exec(f->s, link_consume, &a), 0);
    assert_int_equal(a.rc, 0);
    assert_string_equal(a.got, "obs.amy");
    assert_int_equal(store_exec(f->s, link_consume, &a), 0);
    assert_int_equal(a.rc, -ENOENT);
    assert_string_equal(a.got, "");

    /* Expired: refused, and deleted (not usable even with an earlier clock). */
    b.now += 60;
    assert_int_equal(store_exec(f->s, link_consume, &b), 0);
    assert_int_equal(b.rc, -ENOENT);
    b.now = 1000000;
    assert_int_equal(store_exec(f->s, link_consume, &b), 0);
    assert_int_equal(b.rc, -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_and_check),
        cmocka_unit_test(test_malformed_hashes),
        cmocka_unit_test_setup_teardown(test_stored_password, setup, teardown),
        cmocka_unit_test_setup_teardown(test_links, setup, teardown),
    };

    testutil_watchdog(120);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
