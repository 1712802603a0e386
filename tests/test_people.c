/* Tests of store/people.c and store/audit.c: people and roles, reporting
 * lines with effective dates and their reverse index, management chains,
 * programmes and enrolments, and the audit log's numbering and limits.
 *
 * Write callbacks run on the store's writer thread, where a failed cmocka
 * assertion cannot jump back to the test, so they only record what they saw
 * and the test thread asserts afterwards. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit.h"
#include "keys.h"
#include "people.h"
#include "store.h"
#include "store_int.h"
#include "testutil.h"

#define MAX_IDS 64

struct fixture {
    char dir[512];
    struct store *s;
};

static struct store *open_store(const char *dir, size_t map_size)
{
    return testutil_store_open(dir, map_size);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        return -1;
    }
    testutil_tmpdir(f->dir, sizeof(f->dir));
    f->s = open_store(f->dir, 0);
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

/* ---- Write helpers (store_exec) --------------------------------------- */

struct person_arg {
    const Coachq__V1__Person *p;
    int changed;
};

static int person_put_fn(struct store_txn *t, void *arg)
{
    struct person_arg *a = arg;

    a->changed = -1;
    return people_put(t, a->p, &a->changed);
}

static int person_put(struct store *s, const Coachq__V1__Person *p, int *changed)
{
    struct person_arg a = {p, -1};
    int rc = store_exec(s, person_put_fn, &a);

    *changed = a.changed;
    return rc;
}

struct line_arg {
    const char *person;
    const char *manager;
    int32_t day;
    int changed;
};

static int line_put_fn(struct store_txn *t, void *arg)
{
    struct line_arg *a = arg;

    a->changed = -1;
    return people_line_put(t, a->person, a->manager, a->day, &a->changed);
}

static int line_put(struct store *s, const char *person, const char *manager, int32_t day,
                    int *changed)
{
    struct line_arg a = {person, manager, day, -1};
    int rc = store_exec(s, line_put_fn, &a);

    if (changed != NULL) {
        *changed = a.changed;
    }
    return rc;
}

/* Puts a line change and fails the test unless it was stored as new. */
static void line_set(struct store *s, const char *person, const char *manager, int32_t day)
{
    int changed = -1;

    assert_int_equal(line_put(s, person, manager, day, &changed), 0);
    assert_int_equal(changed, 1);
}

struct programme_arg {
    const Coachq__V1__Programme *p;
    const Coachq__V1__Enrolment *e;
    int changed;
};

static int programme_put_fn(struct store_txn *t, void *arg)
{
    struct programme_arg *a = arg;

    a->changed = -1;
    if (a->p != NULL) {
        return people_programme_put(t, a->p, &a->changed);
    }
    return people_enrolment_put(t, a->e, &a->changed);
}

static int programme_put(struct store *s, const Coachq__V1__Programme *p,
                         const Coachq__V1__Enrolment *e, int *changed)
{
    struct programme_arg a = {p, e, -1};
    int rc = store_exec(s, programme_put_fn, &a);

    *changed = a.changed;
    return rc;
}

struct audit_arg {
    int64_t at_ms;
    const char *actor;
    const char *detail;
    uint64_t seq;
    int fail_after; /* return -EINVAL after appending */
};

static int audit_fn(struct store_txn *t, void *arg)
{
    struct audit_arg *a = arg;
    int rc;

    a->seq = 0;
    rc = audit_append(t, a->at_ms, a->actor, "test.action", "subject-1", a->detail, "origin-1",
                      &a->seq);
    if (rc != 0) {
        return rc;
    }
    return a->fail_after ? -EINVAL : 0;
}

static int audit_add(struct store *s, int64_t at_ms, const char *actor, const char *detail,
                     uint64_t *seq)
{
    struct audit_arg a = {at_ms, actor, detail, 0, 0};
    int rc = store_exec(s, audit_fn, &a);

    *seq = a.seq;
    return rc;
}

/* ---- Read helpers (store_view) ---------------------------------------- */

struct get_arg {
    const char *id;
    const char *id2;
    Coachq__V1__Person *person;
    Coachq__V1__Programme *programme;
    Coachq__V1__Enrolment *enrolment;
};

static int person_get_fn(struct store_txn *t, void *arg)
{
    struct get_arg *a = arg;

    return people_get(t, a->id, &a->person);
}

static int person_get(struct store *s, const char *id, Coachq__V1__Person **out)
{
    /* Starts from the caller's value, so a test can see that it is reset. */
    struct get_arg a = {id, NULL, *out, NULL, NULL};
    int rc = store_view(s, person_get_fn, &a);

    *out = a.person;
    return rc;
}

static int programme_get_fn(struct store_txn *t, void *arg)
{
    struct get_arg *a = arg;

    return people_programme_get(t, a->id, &a->programme);
}

static int enrolment_get_fn(struct store_txn *t, void *arg)
{
    struct get_arg *a = arg;

    return people_enrolment_get(t, a->id, a->id2, &a->enrolment);
}

/* A list of ids a callback collected; stop_after > 0 makes the callback
 * return 1 once it has that many. */
struct ids {
    char id[MAX_IDS][65];
    int32_t day[MAX_IDS];
    size_t n;
    size_t stop_after;
    int overflow;
};

static int ids_add(struct ids *l, const char *id, int32_t day)
{
    if (l->n == MAX_IDS) {
        l->overflow = 1;
        return -ENOBUFS;
    }
    snprintf(l->id[l->n], sizeof(l->id[0]), "%s", id);
    l->day[l->n] = day;
    l->n++;
    return l->stop_after > 0 && l->n >= l->stop_after ? 1 : 0;
}

static int person_list_cb(const Coachq__V1__Person *p, void *arg)
{
    return ids_add(arg, p->id, 0);
}

static int person_list_fn(struct store_txn *t, void *arg)
{
    return people_list(t, person_list_cb, arg);
}

static int id_cb(const char *id, void *arg)
{
    return ids_add(arg, id, 0);
}

struct at_arg {
    const char *person;
    int32_t day;
    char out[65];
    char chain[PEOPLE_MAX_CHAIN][65];
    size_t n;
    struct ids *ids;
};

static int manager_at_fn(struct store_txn *t, void *arg)
{
    struct at_arg *a = arg;

    return people_manager_at(t, a->person, a->day, a->out, sizeof(a->out));
}

/* The manager of person on day, or "-" with the error code returned. */
static int manager_at(struct store *s, const char *person, int32_t day, char out[65])
{
    struct at_arg a;
    int rc;

    memset(&a, 0, sizeof(a));
    a.person = person;
    a.day = day;
    snprintf(a.out, sizeof(a.out), "unset");
    rc = store_view(s, manager_at_fn, &a);
    snprintf(out, 65, "%s", a.out);
    return rc;
}

/* Fails the test unless person's manager on day is want. */
static void expect_manager(struct store *s, const char *person, int32_t day, const char *want)
{
    char got[65];

    assert_int_equal(manager_at(s, person, day, got), 0);
    assert_string_equal(got, want);
}

/* Fails the test unless person has no manager on day. */
static void expect_no_manager(struct store *s, const char *person, int32_t day)
{
    char got[65];

    assert_int_equal(manager_at(s, person, day, got), -ENOENT);
    assert_string_equal(got, "");
}

static int chain_at_fn(struct store_txn *t, void *arg)
{
    struct at_arg *a = arg;

    return people_chain_at(t, a->person, a->day, a->chain, &a->n);
}

static int reports_at_fn(struct store_txn *t, void *arg)
{
    struct at_arg *a = arg;

    return people_reports_at(t, a->person, a->day, id_cb, a->ids);
}

/* Collects the reports of manager on day into l (emptied first). */
static int reports_at(struct store *s, const char *manager, int32_t day, struct ids *l)
{
    struct at_arg a;

    memset(&a, 0, sizeof(a));
    memset(l->id, 0, sizeof(l->id));
    l->n = 0;
    l->overflow = 0;
    a.person = manager;
    a.day = day;
    a.ids = l;
    return store_view(s, reports_at_fn, &a);
}

/* Fails the test unless manager's reports on day are exactly the n ids
 * given, in that order. */
static void expect_reports(struct store *s, const char *manager, int32_t day, size_t n, ...)
{
    struct ids l;
    va_list ap;

    memset(&l, 0, sizeof(l));
    assert_int_equal(reports_at(s, manager, day, &l), 0);
    assert_int_equal(l.n, n);
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(l.id[i], va_arg(ap, const char *));
    }
    va_end(ap);
}

static int line_cb(const Coachq__V1__ReportingLine *line, void *arg)
{
    struct ids *l = arg;

    if (strcmp(line->person_id, "r1") != 0) {
        return -EBADMSG;
    }
    return ids_add(l, line->manager_id, line->effective_day);
}

static int lines_fn(struct store_txn *t, void *arg)
{
    struct at_arg *a = arg;

    return people_lines(t, a->person, line_cb, a->ids);
}

struct count_arg {
    uint8_t prefix[KEYS_BUF_MAX];
    size_t plen;
    size_t n;
};

static int count_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct count_arg *c = arg;

    (void)key;
    (void)klen;
    (void)val;
    (void)vlen;
    c->n++;
    return 0;
}

static int count_fn(struct store_txn *t, void *arg)
{
    struct count_arg *c = arg;

    return store_txn_scan(t, t->s->dbi_reports, c->prefix, c->plen, 0, count_cb, c);
}

/* The number of reverse-index entries under manager, read directly from
 * the reports database (people_reports_at() filters stale ones out, so it
 * cannot show them). */
static size_t reverse_entries(struct store *s, const char *manager)
{
    struct count_arg c;
    struct keys_buf k;

    keys_buf_reset(&k);
    keys_buf_id(&k, manager);
    assert_int_equal(k.err, 0);
    memset(&c, 0, sizeof(c));
    memcpy(c.prefix, k.b, k.len);
    c.plen = k.len;
    assert_int_equal(store_view(s, count_fn, &c), 0);
    return c.n;
}

struct audit_list_arg {
    int64_t since;
    size_t n;
    uint64_t seq[MAX_IDS];
    int64_t at[MAX_IDS];
    char detail[MAX_IDS][1024];
    char actor[MAX_IDS][32];
    char origin[MAX_IDS][32];
};

static int audit_list_cb(const Coachq__V1__AuditEntry *e, void *arg)
{
    struct audit_list_arg *a = arg;

    if (a->n == MAX_IDS) {
        return -ENOBUFS;
    }
    a->seq[a->n] = e->seq;
    a->at[a->n] = e->at_ms;
    snprintf(a->detail[a->n], sizeof(a->detail[0]), "%s", e->detail);
    snprintf(a->actor[a->n], sizeof(a->actor[0]), "%s", e->actor);
    snprintf(a->origin[a->n], sizeof(a->origin[0]), "%s", e->origin);
    a->n++;
    return 0;
}

static int audit_list_fn(struct store_txn *t, void *arg)
{
    struct audit_list_arg *a = arg;

    return audit_list(t, a->since, audit_list_cb, a);
}

/* Lists the audit log from since into a (heap, caller frees). */
static struct audit_list_arg *audit_read(struct store *s, int64_t since)
{
    struct audit_list_arg *a = calloc(1, sizeof(*a));

    assert_non_null(a);
    a->since = since;
    assert_int_equal(store_view(s, audit_list_fn, a), 0);
    return a;
}

/* ---- People ----------------------------------------------------------- */

static void test_person_put_get(void **state)
{
    struct fixture *f = *state;
    Coachq__V1__Person p = COACHQ__V1__PERSON__INIT;
    Coachq__V1__Role roles[2] = {COACHQ__V1__ROLE__ROLE_OBSERVER,
                                 COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER};
    Coachq__V1__Person *got = NULL;
    int changed = -1;

    p.id = "alice";
    p.name = "Alice Example";
    p.email = "alice@example.com";
    p.roles = roles;
    p.n_roles = 2;
    p.updated_at_ms = 1000;
    assert_int_equal(person_put(f->s, &p, &changed), 0);
    assert_int_equal(changed, 1);

    assert_int_equal(person_get(f->s, "alice", &got), 0);
    assert_non_null(got);
    assert_string_equal(got->id, "alice");
    assert_string_equal(got->name, "Alice Example");
    assert_string_equal(got->email, "alice@example.com");
    assert_int_equal(got->n_roles, 2);
    assert_int_equal(got->roles[1], COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER);
    assert_int_equal(got->updated_at_ms, 1000);
    coachq__v1__person__free_unpacked(got, NULL);
    got = NULL;

    /* Re-importing the same record changes nothing. */
    assert_int_equal(person_put(f->s, &p, &changed), 0);
    assert_int_equal(changed, 0);

    p.name = "Alice Renamed";
    assert_int_equal(person_put(f->s, &p, &changed), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(person_get(f->s, "alice", &got), 0);
    assert_string_equal(got->name, "Alice Renamed");
    coachq__v1__person__free_unpacked(got, NULL);

    got = (Coachq__V1__Person *)&p;
    assert_int_equal(person_get(f->s, "nobody", &got), -ENOENT);
    assert_null(got);
    assert_int_equal(person_get(f->s, "bad id", &got), -EINVAL);
    assert_int_equal(person_get(f->s, "", &got), -EINVAL);

    p.id = "has space";
    assert_int_equal(person_put(f->s, &p, &changed), -EINVAL);
    assert_int_equal(person_get(f->s, "has", &got), -ENOENT);
}

static void test_has_role(void **state)
{
    Coachq__V1__Person p = COACHQ__V1__PERSON__INIT;
    Coachq__V1__Role roles[2] = {COACHQ__V1__ROLE__ROLE_OBSERVER,
                                 COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER};

    (void)state;
    p.id = "bob";
    assert_false(people_has_role(&p, COACHQ__V1__ROLE__ROLE_OBSERVER));
    p.roles = roles;
    p.n_roles = 2;
    assert_true(people_has_role(&p, COACHQ__V1__ROLE__ROLE_OBSERVER));
    assert_true(people_has_role(&p, COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER));
    assert_false(people_has_role(&p, COACHQ__V1__ROLE__ROLE_ADMINISTRATOR));
    assert_false(people_has_role(&p, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER));
    p.n_roles = 1;
    assert_false(people_has_role(&p, COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER));
    assert_false(people_has_role(NULL, COACHQ__V1__ROLE__ROLE_OBSERVER));
}

static void test_list_order(void **state)
{
    struct fixture *f = *state;
    const char *ids[] = {"carol", "alice", "bob", "al", "Zed"};
    Coachq__V1__Person p = COACHQ__V1__PERSON__INIT;
    struct ids l;
    int changed;

    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        p.id = (char *)ids[i];
        p.name = (char *)ids[i];
        assert_int_equal(person_put(f->s, &p, &changed), 0);
        assert_int_equal(changed, 1);
    }
    /* Id order is byte order: a shorter id that prefixes a longer one comes
     * first, and length does not matter otherwise. */
    memset(&l, 0, sizeof(l));
    assert_int_equal(store_view(f->s, person_list_fn, &l), 0);
    assert_int_equal(l.n, 5);
    assert_string_equal(l.id[0], "Zed");
    assert_string_equal(l.id[1], "al");
    assert_string_equal(l.id[2], "alice");
    assert_string_equal(l.id[3], "bob");
    assert_string_equal(l.id[4], "carol");

    /* A callback returning 1 stops the listing without an error. */
    memset(&l, 0, sizeof(l));
    l.stop_after = 2;
    assert_int_equal(store_view(f->s, person_list_fn, &l), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.id[1], "al");
}

/* ---- Reporting lines -------------------------------------------------- */

static void test_line_history(void **state)
{
    struct fixture *f = *state;
    struct at_arg a;
    struct ids l;
    char got[65];
    int changed = -1;

    line_set(f->s, "r1", "m1", 100);
    line_set(f->s, "r1", "m2", 200);

    expect_no_manager(f->s, "r1", 99);
    expect_manager(f->s, "r1", 100, "m1");
    expect_manager(f->s, "r1", 150, "m1");
    expect_manager(f->s, "r1", 199, "m1");
    expect_manager(f->s, "r1", 200, "m2");
    expect_manager(f->s, "r1", 100000, "m2");

    /* A transfer does not rewrite history: adding a change before the
     * transfer later still leaves the later dates alone. */
    line_set(f->s, "r1", "m3", 150);
    expect_manager(f->s, "r1", 149, "m1");
    expect_manager(f->s, "r1", 150, "m3");
    expect_manager(f->s, "r1", 200, "m2");

    /* Re-importing a change changes nothing. */
    assert_int_equal(line_put(f->s, "r1", "m1", 100, &changed), 0);
    assert_int_equal(changed, 0);

    /* The whole line, oldest first. */
    memset(&a, 0, sizeof(a));
    memset(&l, 0, sizeof(l));
    a.person = "r1";
    a.ids = &l;
    assert_int_equal(store_view(f->s, lines_fn, &a), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.id[0], "m1");
    assert_int_equal(l.day[0], 100);
    assert_string_equal(l.id[1], "m3");
    assert_int_equal(l.day[1], 150);
    assert_string_equal(l.id[2], "m2");
    assert_int_equal(l.day[2], 200);

    /* Someone with no line at all, and an id a prefix of another's. */
    expect_no_manager(f->s, "r2", 1000);
    line_set(f->s, "r", "mx", 10);
    expect_manager(f->s, "r", 500, "mx");
    expect_manager(f->s, "r1", 120, "m1");

    /* Days before 1970 sort before later ones. */
    line_set(f->s, "old", "m-neg", -400);
    line_set(f->s, "old", "m-pos", 5);
    expect_no_manager(f->s, "old", -401);
    expect_manager(f->s, "old", -400, "m-neg");
    expect_manager(f->s, "old", -1, "m-neg");
    expect_manager(f->s, "old", 4, "m-neg");
    expect_manager(f->s, "old", 5, "m-pos");

    /* Malformed ids. */
    assert_int_equal(manager_at(f->s, "", 100, got), -EINVAL);
    assert_int_equal(manager_at(f->s, "r 1", 100, got), -EINVAL);
    assert_int_equal(line_put(f->s, "r1", "bad manager", 300, NULL), -EINVAL);
    assert_int_equal(line_put(f->s, "bad person", "m1", 300, NULL), -EINVAL);
    assert_int_equal(line_put(f->s, "r1", "r1", 300, NULL), -EINVAL);
    expect_manager(f->s, "r1", 300, "m2");
}

static void test_line_to_nobody(void **state)
{
    struct fixture *f = *state;
    int changed = -1;

    line_set(f->s, "r1", "m1", 100);
    line_set(f->s, "r1", "", 300);
    expect_manager(f->s, "r1", 299, "m1");
    expect_no_manager(f->s, "r1", 300);
    expect_no_manager(f->s, "r1", 400);
    expect_reports(f->s, "m1", 299, 1, "r1");
    expect_reports(f->s, "m1", 300, 0);

    /* NULL is the same as "": storing it again changes nothing. */
    assert_int_equal(line_put(f->s, "r1", NULL, 300, &changed), 0);
    assert_int_equal(changed, 0);

    /* Back under a manager later on. */
    line_set(f->s, "r1", "m2", 500);
    expect_no_manager(f->s, "r1", 499);
    expect_manager(f->s, "r1", 500, "m2");
}

static void test_line_same_day_replaces(void **state)
{
    struct fixture *f = *state;

    line_set(f->s, "r1", "m1", 100);
    line_set(f->s, "r2", "m1", 100);
    assert_int_equal(reverse_entries(f->s, "m1"), 2);

    /* A correction on the same day replaces that day's change, and the old
     * manager's reverse entry goes with it. */
    line_set(f->s, "r1", "m2", 100);
    expect_manager(f->s, "r1", 100, "m2");
    assert_int_equal(reverse_entries(f->s, "m1"), 1);
    assert_int_equal(reverse_entries(f->s, "m2"), 1);
    expect_reports(f->s, "m1", 100, 1, "r2");
    expect_reports(f->s, "m2", 100, 1, "r1");

    /* Replaced by "nobody": no reverse entry is left for anyone. */
    line_set(f->s, "r1", "", 100);
    assert_int_equal(reverse_entries(f->s, "m2"), 0);
    expect_no_manager(f->s, "r1", 100);
    expect_reports(f->s, "m2", 100, 0);

    /* And back again. */
    line_set(f->s, "r1", "m1", 100);
    assert_int_equal(reverse_entries(f->s, "m1"), 2);
    expect_reports(f->s, "m1", 100, 2, "r1", "r2");
}

static int chain_at(struct store *s, const char *person, int32_t day, struct at_arg *a)
{
    memset(a, 0, sizeof(*a));
    a->person = person;
    a->day = day;
    a->n = 999;
    return store_view(s, chain_at_fn, a);
}

static void test_chain(void **state)
{
    struct fixture *f = *state;
    struct at_arg a;
    char id[16];
    char up[16];

    line_set(f->s, "a", "b", 10);
    line_set(f->s, "b", "c", 10);
    line_set(f->s, "c", "d", 20);

    assert_int_equal(chain_at(f->s, "a", 5, &a), 0);
    assert_int_equal(a.n, 0);
    assert_int_equal(chain_at(f->s, "a", 15, &a), 0);
    assert_int_equal(a.n, 2);
    assert_string_equal(a.chain[0], "b");
    assert_string_equal(a.chain[1], "c");
    assert_int_equal(chain_at(f->s, "a", 25, &a), 0);
    assert_int_equal(a.n, 3);
    assert_string_equal(a.chain[0], "b");
    assert_string_equal(a.chain[1], "c");
    assert_string_equal(a.chain[2], "d");
    assert_int_equal(chain_at(f->s, "d", 25, &a), 0);
    assert_int_equal(a.n, 0);

    /* A cycle x -> y -> z -> x stops before anyone repeats. */
    line_set(f->s, "x", "y", 1);
    line_set(f->s, "y", "z", 1);
    line_set(f->s, "z", "x", 1);
    assert_int_equal(chain_at(f->s, "x", 1, &a), 0);
    assert_int_equal(a.n, 2);
    assert_string_equal(a.chain[0], "y");
    assert_string_equal(a.chain[1], "z");

    /* A cycle above the person: p -> q -> s -> q. */
    line_set(f->s, "p", "q", 1);
    line_set(f->s, "q", "s", 1);
    line_set(f->s, "s", "q", 1);
    assert_int_equal(chain_at(f->s, "p", 1, &a), 0);
    assert_int_equal(a.n, 2);
    assert_string_equal(a.chain[0], "q");
    assert_string_equal(a.chain[1], "s");

    /* A chain deeper than the cap: c00 -> c01 -> ... -> c20. */
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof(id), "c%02d", i);
        snprintf(up, sizeof(up), "c%02d", i + 1);
        line_set(f->s, id, up, 1);
    }
    assert_int_equal(chain_at(f->s, "c00", 1, &a), 0);
    assert_int_equal(a.n, PEOPLE_MAX_CHAIN);
    assert_string_equal(a.chain[0], "c01");
    assert_string_equal(a.chain[PEOPLE_MAX_CHAIN - 1], "c16");

    assert_int_equal(chain_at(f->s, "no such!", 1, &a), -EINVAL);
    assert_int_equal(a.n, 0);
}

/* The reporting-line history test_reports and test_reports_on read:
 * joined in a day order that is not the id order, a repeated change naming
 * the same manager (r3 must come once), and r2 transferring to m2 and
 * later coming back. */
static void reports_history(struct store *s)
{
    line_set(s, "r3", "m1", 110);
    line_set(s, "r1", "m1", 100);
    line_set(s, "r2", "m1", 120);
    line_set(s, "r10", "m2", 100);
    line_set(s, "r3", "m1", 130);
    line_set(s, "r2", "m2", 200);
    line_set(s, "r2", "m1", 300);
}

static void test_reports(void **state)
{
    struct fixture *f = *state;
    struct ids l;

    reports_history(f->s);

    expect_reports(f->s, "m1", 99, 0);
    expect_reports(f->s, "m1", 100, 1, "r1");
    expect_reports(f->s, "m1", 115, 2, "r1", "r3");
    expect_reports(f->s, "m1", 150, 3, "r1", "r2", "r3");
    expect_reports(f->s, "m1", 250, 2, "r1", "r3");
    expect_reports(f->s, "m1", 350, 3, "r1", "r2", "r3");
    expect_reports(f->s, "m2", 150, 1, "r10");
    expect_reports(f->s, "m2", 250, 2, "r10", "r2");
    expect_reports(f->s, "m2", 350, 1, "r10");
    expect_reports(f->s, "nobody", 350, 0);

    /* A callback returning 1 stops the walk. */
    memset(&l, 0, sizeof(l));
    l.stop_after = 1;
    assert_int_equal(reports_at(f->s, "m1", 350, &l), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.id[0], "r1");

    assert_int_equal(reports_at(f->s, "bad id", 350, &l), -EINVAL);
}

/* What people_reports_on() gave: per id, one character per day ('1' or
 * '0'), as "id:0110". */
struct on_arg {
    const char *manager;
    const int32_t *days;
    size_t ndays;
    struct ids l;
};

static int on_cb(const char *id, const uint8_t *on, void *arg)
{
    struct on_arg *a = arg;
    char both[65];
    size_t n = (size_t)snprintf(both, sizeof(both), "%s:", id);

    for (size_t j = 0; j < a->ndays && n + 1 < sizeof(both); j++) {
        both[n++] = on[j] ? '1' : '0';
    }
    both[n] = '\0';
    return ids_add(&a->l, both, 0);
}

static int reports_on_fn(struct store_txn *t, void *arg)
{
    struct on_arg *a = arg;

    return people_reports_on(t, a->manager, a->days, a->ndays, on_cb, a);
}

/* Fails the test unless every day's column of a is what
 * people_reports_at() gives for that day. */
static void expect_on_matches_at(struct store *s, const struct on_arg *a)
{
    for (size_t j = 0; j < a->ndays; j++) {
        struct ids at;
        size_t k = 0;

        memset(&at, 0, sizeof(at));
        assert_int_equal(reports_at(s, a->manager, a->days[j], &at), 0);
        for (size_t i = 0; i < a->l.n; i++) {
            const char *colon = strchr(a->l.id[i], ':');

            assert_non_null(colon);
            if (colon[1 + j] != '1') {
                continue;
            }
            assert_true(k < at.n);
            assert_int_equal(strncmp(a->l.id[i], at.id[k], (size_t)(colon - a->l.id[i])), 0);
            assert_int_equal(strlen(at.id[k]), (size_t)(colon - a->l.id[i]));
            k++;
        }
        assert_int_equal(k, at.n);
    }
}

static void test_reports_on(void **state)
{
    struct fixture *f = *state;
    /* Not in day order, and one day twice. */
    static const int32_t days[] = {350, 99, 150, 115, 250, 100, 450, 150};
    struct on_arg a;

    reports_history(f->s);
    /* r1 reports to nobody from 400, r4 only after every day asked. */
    line_set(f->s, "r1", "", 400);
    line_set(f->s, "r4", "m1", 500);

    memset(&a, 0, sizeof(a));
    a.manager = "m1";
    a.days = days;
    a.ndays = sizeof(days) / sizeof(days[0]);
    assert_int_equal(store_view(f->s, reports_on_fn, &a), 0);
    /* In id order, each once, r4 not at all. */
    assert_int_equal(a.l.n, 3);
    assert_string_equal(a.l.id[0], "r1:10111101");
    assert_string_equal(a.l.id[1], "r2:10100011");
    assert_string_equal(a.l.id[2], "r3:10111011");
    expect_on_matches_at(f->s, &a);

    memset(&a.l, 0, sizeof(a.l));
    a.manager = "m2";
    assert_int_equal(store_view(f->s, reports_on_fn, &a), 0);
    assert_int_equal(a.l.n, 2);
    assert_string_equal(a.l.id[0], "r10:10111111");
    assert_string_equal(a.l.id[1], "r2:00001000");
    expect_on_matches_at(f->s, &a);

    /* Nobody's reports, a callback that stops, and refusals. */
    memset(&a.l, 0, sizeof(a.l));
    a.manager = "nobody";
    assert_int_equal(store_view(f->s, reports_on_fn, &a), 0);
    assert_int_equal(a.l.n, 0);
    a.manager = "m1";
    a.l.stop_after = 1;
    assert_int_equal(store_view(f->s, reports_on_fn, &a), 0);
    assert_int_equal(a.l.n, 1);
    assert_string_equal(a.l.id[0], "r1:10111101");
    memset(&a.l, 0, sizeof(a.l));
    a.ndays = 0;
    assert_int_equal(store_view(f->s, reports_on_fn, &a), -EINVAL);
    a.ndays = 1;
    a.manager = "bad id";
    assert_int_equal(store_view(f->s, reports_on_fn, &a), -EINVAL);
}

/* ---- Programmes and enrolments ---------------------------------------- */

struct enrol_list {
    const char *programme;
    const char *const *of; /* people_enrolments_of()'s ids, when set */
    size_t n_of;
    struct ids l;
};

static int enrol_cb(const Coachq__V1__Enrolment *e, void *arg)
{
    struct ids *l = arg;
    char both[65];

    snprintf(both, sizeof(both), "%s/%s", e->programme_id, e->person_id);
    return ids_add(l, both, (int32_t)e->n_attended);
}

static int enrol_list_fn(struct store_txn *t, void *arg)
{
    struct enrol_list *a = arg;

    if (a->of != NULL) {
        return people_enrolments_of(t, a->of, a->n_of, enrol_cb, &a->l);
    }
    return people_enrolments(t, a->programme, enrol_cb, &a->l);
}

/* Stores an enrolment of mgr-d in prog-2025 whose value does not unpack:
 * a length-delimited field 1 that claims 5 bytes and holds none. */
static int enrol_damage_fn(struct store_txn *t, void *arg)
{
    static const uint8_t bad[] = {0x0a, 0x05};
    struct keys_buf k;

    (void)arg;
    keys_buf_reset(&k);
    keys_buf_id(&k, "prog-2025");
    keys_buf_id(&k, "mgr-d");
    if (k.err != 0) {
        return k.err;
    }
    return store_txn_put_raw(t, t->s->dbi_enrolments, k.b, k.len, bad, sizeof(bad), NULL);
}

/* Stores, under a key that names prog-2025 and mgr-b and then holds one
 * stray byte, an empty enrolment (which unpacks): a key the store never
 * writes, which a reader must refuse rather than take for mgr-b's. */
static int enrol_stray_key_fn(struct store_txn *t, void *arg)
{
    struct keys_buf k;

    (void)arg;
    keys_buf_reset(&k);
    keys_buf_id(&k, "prog-2025");
    keys_buf_id(&k, "mgr-b");
    if (k.err != 0) {
        return k.err;
    }
    k.b[k.len++] = 0;
    return store_txn_put_raw(t, t->s->dbi_enrolments, k.b, k.len, (const uint8_t *)"", 0, NULL);
}

/* Lists mgr-b's and mgr-c's enrolments: prog/mgr-c, then prog-2025/mgr-b
 * with its two modules attended. */
static void expect_some_enrolments(struct store *s)
{
    static const char *const some[] = {"mgr-b", "mgr-c"};
    struct enrol_list el;

    memset(&el, 0, sizeof(el));
    el.of = some;
    el.n_of = 2;
    assert_int_equal(store_view(s, enrol_list_fn, &el), 0);
    assert_int_equal(el.l.n, 2);
    assert_string_equal(el.l.id[0], "prog/mgr-c");
    assert_string_equal(el.l.id[1], "prog-2025/mgr-b");
    assert_int_equal(el.l.day[1], 2);
}

static void test_programmes(void **state)
{
    struct fixture *f = *state;
    Coachq__V1__Programme p = COACHQ__V1__PROGRAMME__INIT;
    Coachq__V1__Enrolment e = COACHQ__V1__ENROLMENT__INIT;
    Coachq__V1__Attendance att[2] = {COACHQ__V1__ATTENDANCE__INIT, COACHQ__V1__ATTENDANCE__INIT};
    Coachq__V1__Attendance *attp[2] = {&att[0], &att[1]};
    struct get_arg g;
    struct enrol_list el;
    int changed = -1;

    p.id = "prog-2025";
    p.name = "Deal coaching 2025";
    assert_int_equal(programme_put(f->s, &p, NULL, &changed), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(programme_put(f->s, &p, NULL, &changed), 0);
    assert_int_equal(changed, 0);
    p.name = "Deal coaching 2025 (revised)";
    assert_int_equal(programme_put(f->s, &p, NULL, &changed), 0);
    assert_int_equal(changed, 1);

    memset(&g, 0, sizeof(g));
    g.id = "prog-2025";
    assert_int_equal(store_view(f->s, programme_get_fn, &g), 0);
    assert_non_null(g.programme);
    assert_string_equal(g.programme->name, "Deal coaching 2025 (revised)");
    coachq__v1__programme__free_unpacked(g.programme, NULL);
    memset(&g, 0, sizeof(g));
    g.id = "prog-2024";
    assert_int_equal(store_view(f->s, programme_get_fn, &g), -ENOENT);
    assert_null(g.programme);
    p.id = "";
    assert_int_equal(programme_put(f->s, &p, NULL, &changed), -EINVAL);

    att[0].module = "m1-questions";
    att[0].day = 20100;
    att[1].module = "m2-evidence";
    att[1].day = 20107;
    e.programme_id = "prog-2025";
    e.cohort_id = "cohort-a";
    e.cohort_start_day = 20090;
    e.person_id = "mgr-b";
    e.attended = attp;
    e.n_attended = 1;
    assert_int_equal(programme_put(f->s, NULL, &e, &changed), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(programme_put(f->s, NULL, &e, &changed), 0);
    assert_int_equal(changed, 0);
    e.n_attended = 2;
    assert_int_equal(programme_put(f->s, NULL, &e, &changed), 0);
    assert_int_equal(changed, 1);
    e.person_id = "mgr-a";
    e.n_attended = 0;
    assert_int_equal(programme_put(f->s, NULL, &e, &changed), 0);
    assert_int_equal(changed, 1);
    e.programme_id = "prog";
    e.person_id = "mgr-c";
    assert_int_equal(programme_put(f->s, NULL, &e, &changed), 0);
    assert_int_equal(changed, 1);
    e.person_id = "bad person";
    assert_int_equal(programme_put(f->s, NULL, &e, &changed), -EINVAL);

    memset(&g, 0, sizeof(g));
    g.id = "prog-2025";
    g.id2 = "mgr-b";
    assert_int_equal(store_view(f->s, enrolment_get_fn, &g), 0);
    assert_non_null(g.enrolment);
    assert_string_equal(g.enrolment->cohort_id, "cohort-a");
    assert_int_equal(g.enrolment->cohort_start_day, 20090);
    assert_int_equal(g.enrolment->n_attended, 2);
    assert_string_equal(g.enrolment->attended[1]->module, "m2-evidence");
    assert_int_equal(g.enrolment->attended[1]->day, 20107);
    coachq__v1__enrolment__free_unpacked(g.enrolment, NULL);
    memset(&g, 0, sizeof(g));
    g.id = "prog";
    g.id2 = "mgr-b";
    assert_int_equal(store_view(f->s, enrolment_get_fn, &g), -ENOENT);
    assert_null(g.enrolment);

    /* One programme's cohort, then every programme's. */
    memset(&el, 0, sizeof(el));
    el.programme = "prog-2025";
    assert_int_equal(store_view(f->s, enrol_list_fn, &el), 0);
    assert_int_equal(el.l.n, 2);
    assert_string_equal(el.l.id[0], "prog-2025/mgr-a");
    assert_string_equal(el.l.id[1], "prog-2025/mgr-b");
    assert_int_equal(el.l.day[1], 2);

    memset(&el, 0, sizeof(el));
    el.programme = "prog";
    assert_int_equal(store_view(f->s, enrol_list_fn, &el), 0);
    assert_int_equal(el.l.n, 1);
    assert_string_equal(el.l.id[0], "prog/mgr-c");

    memset(&el, 0, sizeof(el));
    assert_int_equal(store_view(f->s, enrol_list_fn, &el), 0);
    assert_int_equal(el.l.n, 3);
    assert_string_equal(el.l.id[0], "prog/mgr-c");
    assert_string_equal(el.l.id[1], "prog-2025/mgr-a");
    assert_string_equal(el.l.id[2], "prog-2025/mgr-b");

    /* The enrolments of some people only, in every programme. */
    {
        const char *some[] = {"mgr-b", "mgr-c"};
        const char *one[] = {"mgr-a"};
        const char *nobody[] = {"mgr-z"};

        expect_some_enrolments(f->s);

        memset(&el, 0, sizeof(el));
        el.of = one;
        el.n_of = 1;
        assert_int_equal(store_view(f->s, enrol_list_fn, &el), 0);
        assert_int_equal(el.l.n, 1);
        assert_string_equal(el.l.id[0], "prog-2025/mgr-a");

        memset(&el, 0, sizeof(el));
        el.of = nobody;
        el.n_of = 1;
        assert_int_equal(store_view(f->s, enrol_list_fn, &el), 0);
        assert_int_equal(el.l.n, 0);

        /* No ids: nothing, not every enrolment. */
        memset(&el, 0, sizeof(el));
        el.of = some;
        el.n_of = 0;
        assert_int_equal(store_view(f->s, enrol_list_fn, &el), 0);
        assert_int_equal(el.l.n, 0);

        /* The others' enrolments are not decoded: one that does not unpack
         * fails a list of every enrolment but not a list of other people's. */
        assert_int_equal(store_exec(f->s, enrol_damage_fn, NULL), 0);
        memset(&el, 0, sizeof(el));
        assert_int_equal(store_view(f->s, enrol_list_fn, &el), -EIO);
        expect_some_enrolments(f->s);

        /* A key with a byte after the person's id is refused, not read as
         * that person's enrolment. */
        assert_int_equal(store_exec(f->s, enrol_stray_key_fn, NULL), 0);
        memset(&el, 0, sizeof(el));
        el.of = some;
        el.n_of = 2;
        assert_int_equal(store_view(f->s, enrol_list_fn, &el), -EIO);
    }
}

/* ---- Audit ------------------------------------------------------------ */

static void test_audit_numbering(void **state)
{
    struct fixture *f = *state;
    struct audit_list_arg *a;
    uint64_t seq = 0;

    assert_int_equal(audit_add(f->s, 1000, "alice", "first", &seq), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(audit_add(f->s, 2000, "bob", "second", &seq), 0);
    assert_int_equal(seq, 2);
    assert_int_equal(audit_add(f->s, 3000, NULL, "third", &seq), 0);
    assert_int_equal(seq, 3);

    /* Numbering goes on after a reopen. */
    store_close(f->s);
    f->s = open_store(f->dir, 0);
    assert_int_equal(audit_add(f->s, 4000, "carol", NULL, &seq), 0);
    assert_int_equal(seq, 4);

    a = audit_read(f->s, INT64_MIN);
    assert_int_equal(a->n, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(a->seq[i], i + 1);
        assert_int_equal(a->at[i], (int64_t)(i + 1) * 1000);
        assert_string_equal(a->origin[i], "origin-1");
    }
    assert_string_equal(a->actor[0], "alice");
    assert_string_equal(a->detail[1], "second");
    assert_string_equal(a->actor[2], "");
    assert_string_equal(a->detail[3], "");
    free(a);

    /* since is inclusive. */
    a = audit_read(f->s, 2000);
    assert_int_equal(a->n, 3);
    assert_int_equal(a->seq[0], 2);
    assert_int_equal(a->seq[2], 4);
    free(a);
    a = audit_read(f->s, 4001);
    assert_int_equal(a->n, 0);
    free(a);

    /* A clock that stepped back: the filter looks at every entry. */
    assert_int_equal(audit_add(f->s, 1500, "dave", "late", &seq), 0);
    assert_int_equal(seq, 5);
    a = audit_read(f->s, 1200);
    assert_int_equal(a->n, 4);
    assert_int_equal(a->seq[3], 5);
    free(a);
}

/* Appends detail and returns the length of the detail stored. */
static size_t audit_stored_len(struct store *s, const char *detail, char *copy, size_t copylen)
{
    struct audit_list_arg *a;
    uint64_t seq = 0;
    size_t n;

    assert_int_equal(audit_add(s, 7000, "alice", detail, &seq), 0);
    a = audit_read(s, 7000);
    assert_true(a->n >= 1);
    assert_int_equal(a->seq[a->n - 1], seq);
    n = strlen(a->detail[a->n - 1]);
    snprintf(copy, copylen, "%s", a->detail[a->n - 1]);
    free(a);
    return n;
}

static void test_audit_truncate(void **state)
{
    struct fixture *f = *state;
    char text[1200];
    char got[1024];

    /* Exactly 1000 bytes stay whole; 1001 ASCII bytes lose the last. */
    memset(text, 'a', sizeof(text));
    text[1000] = '\0';
    assert_int_equal(audit_stored_len(f->s, text, got, sizeof(got)), 1000);
    text[1000] = 'b';
    text[1001] = '\0';
    assert_int_equal(audit_stored_len(f->s, text, got, sizeof(got)), 1000);
    assert_int_equal(got[999], 'a');

    /* A two-byte character across the boundary (bytes 999 and 1000) goes. */
    memset(text, 'a', sizeof(text));
    text[999] = (char)0xc3;
    text[1000] = (char)0xa9;
    text[1100] = '\0';
    assert_int_equal(audit_stored_len(f->s, text, got, sizeof(got)), 999);

    /* A two-byte character ending at byte 999 stays. */
    memset(text, 'a', sizeof(text));
    text[998] = (char)0xc3;
    text[999] = (char)0xa9;
    text[1100] = '\0';
    assert_int_equal(audit_stored_len(f->s, text, got, sizeof(got)), 1000);
    assert_int_equal((unsigned char)got[999], 0xa9);

    /* A four-byte character at bytes 997..1000 goes whole. */
    memset(text, 'a', sizeof(text));
    memcpy(text + 997, "\xf0\x9f\x98\x80", 4);
    text[1100] = '\0';
    assert_int_equal(audit_stored_len(f->s, text, got, sizeof(got)), 997);

    /* A three-byte character at bytes 998..1000 too. */
    memset(text, 'a', sizeof(text));
    memcpy(text + 998, "\xe2\x82\xac", 3);
    text[1100] = '\0';
    assert_int_equal(audit_stored_len(f->s, text, got, sizeof(got)), 998);
}

static void test_audit_aborted(void **state)
{
    struct fixture *f = *state;
    struct audit_arg arg = {5000, "mallory", "never", 0, 1};
    struct audit_list_arg *a;
    uint64_t seq = 0;

    assert_int_equal(audit_add(f->s, 1000, "alice", "kept", &seq), 0);
    assert_int_equal(seq, 1);

    /* The change failed after its entry was appended: the entry goes with
     * it. */
    assert_int_equal(store_exec(f->s, audit_fn, &arg), -EINVAL);
    assert_int_equal(arg.seq, 2);
    a = audit_read(f->s, INT64_MIN);
    assert_int_equal(a->n, 1);
    assert_string_equal(a->detail[0], "kept");
    free(a);

    /* The number was not used up. */
    assert_int_equal(audit_add(f->s, 6000, "alice", "next", &seq), 0);
    assert_int_equal(seq, 2);
    a = audit_read(f->s, INT64_MIN);
    assert_int_equal(a->n, 2);
    assert_string_equal(a->detail[1], "next");
    free(a);
}

/* ---- Read-only transactions and map growth ---------------------------- */

struct ro_arg {
    int rc[6];
    int changed[5];
};

static int readonly_fn(struct store_txn *t, void *arg)
{
    struct ro_arg *a = arg;
    Coachq__V1__Person p = COACHQ__V1__PERSON__INIT;
    Coachq__V1__Programme prog = COACHQ__V1__PROGRAMME__INIT;
    Coachq__V1__Enrolment e = COACHQ__V1__ENROLMENT__INIT;
    uint64_t seq = 77;

    p.id = "ro-person";
    prog.id = "ro-prog";
    e.programme_id = "ro-prog";
    e.person_id = "ro-person";
    a->rc[0] = people_put(t, &p, &a->changed[0]);
    a->rc[1] = people_line_put(t, "ro-person", "ro-manager", 10, &a->changed[1]);
    a->rc[2] = people_line_put(t, "ro-person", "", 10, &a->changed[2]);
    a->rc[3] = people_programme_put(t, &prog, &a->changed[3]);
    a->rc[4] = people_enrolment_put(t, &e, &a->changed[4]);
    a->rc[5] = audit_append(t, 1, "a", "b", "c", "d", "e", &seq);
    return seq == 77 ? 0 : -EPROTO;
}

static void test_readonly(void **state)
{
    struct fixture *f = *state;
    struct ro_arg a;
    struct audit_list_arg *al;
    Coachq__V1__Person *got = NULL;

    memset(&a, 0, sizeof(a));
    assert_int_equal(store_view(f->s, readonly_fn, &a), 0);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(a.rc[i], -EROFS);
    }
    assert_int_equal(person_get(f->s, "ro-person", &got), -ENOENT);
    expect_no_manager(f->s, "ro-person", 10);
    al = audit_read(f->s, INT64_MIN);
    assert_int_equal(al->n, 0);
    free(al);
}

#define BULK_N 1500

enum bulk_kind {
    BULK_PEOPLE,
    BULK_LINES,
    BULK_LINES_NOBODY, /* lines only, no reverse entries */
    BULK_PROGRAMMES,
    BULK_ENROLMENTS,
    BULK_AUDIT,
};

struct bulk_arg {
    enum bulk_kind kind;
    int runs;
};

/* Writes BULK_N records of one kind, enough to fill a 256 KiB map several
 * times over, and hands any failure back unchanged. */
static int bulk_fn(struct store_txn *t, void *arg)
{
    struct bulk_arg *a = arg;
    Coachq__V1__Person p = COACHQ__V1__PERSON__INIT;
    Coachq__V1__Programme prog = COACHQ__V1__PROGRAMME__INIT;
    Coachq__V1__Enrolment e = COACHQ__V1__ENROLMENT__INIT;
    char id[32];
    char name[600];
    int rc = 0;

    a->runs++;
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    p.name = name;
    prog.name = name;
    e.programme_id = "bulk-prog";
    e.cohort_id = name;
    for (int i = 0; i < BULK_N && rc == 0; i++) {
        snprintf(id, sizeof(id), "bulk-%05d", i);
        switch (a->kind) {
        case BULK_PEOPLE:
            p.id = id;
            rc = people_put(t, &p, NULL);
            break;
        case BULK_LINES:
            /* Several changes each, to fill the map with small keys. */
            for (int d = 0; d < 8 && rc == 0; d++) {
                rc = people_line_put(t, id, d % 2 == 0 ? "bulk-boss" : "bulk-other", 10 + d, NULL);
            }
            break;
        case BULK_LINES_NOBODY:
            for (int d = 0; d < 8 && rc == 0; d++) {
                rc = people_line_put(t, id, "", 10 + d, NULL);
            }
            break;
        case BULK_PROGRAMMES:
            prog.id = id;
            rc = people_programme_put(t, &prog, NULL);
            break;
        case BULK_ENROLMENTS:
            e.person_id = id;
            rc = people_enrolment_put(t, &e, NULL);
            break;
        case BULK_AUDIT:
            rc = audit_append(t, i, "bulk", "person.put", id, name, NULL, NULL);
            break;
        }
    }
    return rc;
}

static int bulk_check_fn(struct store_txn *t, void *arg)
{
    return people_reports_at(t, "bulk-boss", 100, id_cb, arg);
}

struct bulk_count {
    size_t people;
    size_t enrolments;
};

static int bulk_person_cb(const Coachq__V1__Person *p, void *arg)
{
    struct bulk_count *c = arg;

    (void)p;
    c->people++;
    return 0;
}

static int bulk_enrolment_cb(const Coachq__V1__Enrolment *e, void *arg)
{
    struct bulk_count *c = arg;

    (void)e;
    c->enrolments++;
    return 0;
}

static int bulk_count_fn(struct store_txn *t, void *arg)
{
    int rc = people_list(t, bulk_person_cb, arg);

    if (rc == 0) {
        rc = people_enrolments(t, "bulk-prog", bulk_enrolment_cb, arg);
    }
    return rc;
}

/* Runs one kind of bulk write in a fresh store with a 256 KiB map: LMDB's
 * MAP_FULL must reach the writer unchanged, which grows the map and runs
 * the function again. */
static void bulk_write(enum bulk_kind kind, char *dir, size_t dirlen, struct store **s)
{
    struct bulk_arg b = {kind, 0};
    struct store_stats st;

    testutil_tmpdir(dir, dirlen);
    *s = open_store(dir, 256 * 1024);
    assert_int_equal(store_exec(*s, bulk_fn, &b), 0);
    store_get_stats(*s, &st);
    assert_true(st.map_grows >= 1);
    assert_true(b.runs >= 2);
}

static void test_map_full_passes_through(void **state)
{
    struct fixture *f = *state;
    struct audit_list_arg *al;
    struct bulk_count c;
    struct get_arg g;
    struct ids l;
    char dir[512];
    struct store *s = NULL;

    (void)f;

    bulk_write(BULK_PEOPLE, dir, sizeof(dir), &s);
    memset(&c, 0, sizeof(c));
    assert_int_equal(store_view(s, bulk_count_fn, &c), 0);
    assert_int_equal(c.people, BULK_N);
    store_close(s);
    testutil_rmrf(dir);

    bulk_write(BULK_LINES, dir, sizeof(dir), &s);
    expect_manager(s, "bulk-01234", 14, "bulk-boss");
    expect_manager(s, "bulk-01234", 100, "bulk-other");
    memset(&l, 0, sizeof(l));
    /* More reports than the callback takes: its negative code comes back. */
    assert_int_equal(reports_at(s, "bulk-boss", 16, &l), -ENOBUFS);
    assert_true(l.overflow);
    assert_int_equal(l.n, MAX_IDS);
    assert_string_equal(l.id[0], "bulk-00000");
    assert_string_equal(l.id[MAX_IDS - 1], "bulk-00063");
    memset(&l, 0, sizeof(l));
    l.stop_after = 10;
    assert_int_equal(store_view(s, bulk_check_fn, &l), 0);
    assert_int_equal(l.n, 0); /* on day 100 everyone is with bulk-other */
    store_close(s);
    testutil_rmrf(dir);

    bulk_write(BULK_LINES_NOBODY, dir, sizeof(dir), &s);
    expect_no_manager(s, "bulk-01499", 17);
    assert_int_equal(reverse_entries(s, "bulk-boss"), 0);
    store_close(s);
    testutil_rmrf(dir);

    bulk_write(BULK_PROGRAMMES, dir, sizeof(dir), &s);
    memset(&g, 0, sizeof(g));
    g.id = "bulk-01499";
    assert_int_equal(store_view(s, programme_get_fn, &g), 0);
    assert_non_null(g.programme);
    assert_int_equal(strlen(g.programme->name), 599);
    coachq__v1__programme__free_unpacked(g.programme, NULL);
    store_close(s);
    testutil_rmrf(dir);

    bulk_write(BULK_ENROLMENTS, dir, sizeof(dir), &s);
    memset(&c, 0, sizeof(c));
    assert_int_equal(store_view(s, bulk_count_fn, &c), 0);
    assert_int_equal(c.enrolments, BULK_N);
    store_close(s);
    testutil_rmrf(dir);

    bulk_write(BULK_AUDIT, dir, sizeof(dir), &s);
    al = audit_read(s, BULK_N - 1);
    assert_int_equal(al->n, 1);
    assert_int_equal(al->seq[0], BULK_N);
    free(al);
    store_close(s);
    testutil_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_person_put_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_has_role, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_to_nobody, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_same_day_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reports_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_programmes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_numbering, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_truncate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_aborted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_full_passes_through, setup, teardown),
    };

    testutil_watchdog(240);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
