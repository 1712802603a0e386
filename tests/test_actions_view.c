/*
 * test_actions_view: the values of actions_by laid out for Manager detail
 * and My coaching (store/actions_view.c, actions format 5). What the pages
 * read from them (actions_open_txn(), actions_recent_txn()) must be what
 * the records give (the same reads with the values deleted), after random
 * sessions, follow-ups and a coach with more open actions than a value
 * holds; `verify` finds a wrong or missing value and --repair mends it; a
 * damaged value sends the page to the records and stops neither the page
 * nor the writer; a store of format 4 gets its values on open; erasure and
 * retention leave them right.
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
#include <unistd.h>

#include <cmocka.h>

#include "actions.h"
#include "erase.h"
#include "retention.h"
#include "store.h"
#include "testutil.h"

/* "Today": 2024-06-12 (day 19886). */
#define TODAY 19886
#define NOW_S ((int64_t)TODAY * 86400 + 12 * 3600)

static const char *const coaches[] = {"flm.a", "flm.b"};
static const char *const reps[] = {"rep.1", "rep.2"};

/* An action agreed in the sessions below, to follow up. */
struct agreed {
    uint8_t id[16];
    int coach, rep;
    int closed;
};

struct world {
    struct testutil_store_fx *f;
    struct agreed a[512];
    size_t n;
    unsigned seed;
    uint8_t last_obs[16]; /* the last session's observation id */
};

static unsigned next_rand(struct world *w)
{
    w->seed = w->seed * 1103515245u + 12345u;
    return (w->seed >> 16) & 0x7fff;
}

/* One session of coaches[c] with reps[r] on day: n new actions (due some
 * days later or never, with a focus behaviour or a skill) and, when fu is
 * not NULL, a follow-up of it with status st. */
static void session(struct world *w, int c, int r, int32_t day, int n, struct agreed *fu,
                    Coachq__V1__ActionStatus st)
{
    struct testutil_obs o;
    Coachq__V1__Action act[3];
    Coachq__V1__Action *ap[3];
    char text[3][32];
    char *focus[3][1];
    Coachq__V1__FollowUp up = COACHQ__V1__FOLLOW_UP__INIT;
    Coachq__V1__FollowUp *upp = &up;

    testutil_obs_make(&o, coaches[c], reps[r], (int64_t)day * 86400 + 9 * 3600);
    for (int i = 0; i < n && i < 3; i++) {
        Coachq__V1__Action init = COACHQ__V1__ACTION__INIT;

        act[i] = init;
        snprintf(text[i], sizeof(text[i]), "act %zu", w->n + (size_t)i);
        act[i].text = text[i];
        act[i].owner_id = (char *)reps[r];
        if (next_rand(w) % 2 == 0) {
            act[i].due_day = (uint32_t)(day + 1 + (int32_t)(next_rand(w) % 30));
        }
        if (next_rand(w) % 2 == 0) {
            focus[i][0] = (char *)testutil_behaviours[next_rand(w) % 10];
            act[i].focus_behaviours = focus[i];
            act[i].n_focus_behaviours = 1;
        } else {
            act[i].focus_skill = (char *)"objection handling";
        }
        ap[i] = &act[i];
    }
    o.o.actions = ap;
    o.o.n_actions = (size_t)n;
    if (fu != NULL) {
        up.action_id.data = fu->id;
        up.action_id.len = 16;
        up.status = st;
        up.evidence = (char *)"seen on the call";
        o.o.follow_ups = &upp;
        o.o.n_follow_ups = 1;
    }
    assert_int_equal(testutil_store_submit(w->f->s, &o.o, "obs.1", NOW_S * 1000), 0);
    memcpy(w->last_obs, o.id, 16);
    for (int i = 0; i < n && w->n < sizeof(w->a) / sizeof(w->a[0]); i++) {
        actions_id_of(&act[i], o.id, (size_t)i, w->a[w->n].id);
        w->a[w->n].coach = c;
        w->a[w->n].rep = r;
        w->a[w->n].closed = 0;
        w->n++;
    }
}

/* Sessions from day on, one a day: random pairs, actions and follow-ups
 * of an earlier open action of the pair (done or dropped closes it). */
static void random_sessions(struct world *w, int32_t day, int count)
{
    static const Coachq__V1__ActionStatus st[] = {
        COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE,
        COACHQ__V1__ACTION_STATUS__ACTION_STATUS_PARTLY_DONE,
        COACHQ__V1__ACTION_STATUS__ACTION_STATUS_NOT_DONE,
        COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DROPPED,
    };

    for (int s = 0; s < count; s++) {
        int c = (int)(next_rand(w) % 2), r = (int)(next_rand(w) % 2);
        struct agreed *fu = NULL;
        Coachq__V1__ActionStatus status = st[next_rand(w) % 4];

        if (w->n > 0 && next_rand(w) % 3 != 0) {
            for (size_t tries = 0; tries < 8 && fu == NULL; tries++) {
                struct agreed *a = &w->a[next_rand(w) % w->n];

                fu = a->coach == c && a->rep == r && !a->closed ? a : NULL;
            }
        }
        session(w, c, r, day + s, (int)(next_rand(w) % 4), fu, status);
        if (fu != NULL) {
            fu->closed = status == COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE ||
                         status == COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DROPPED;
        }
    }
}

/* ---- What the pages read, as text ------------------------------------------ */

struct seen {
    char text[8192];
    size_t n;
};

static int open_seen_cb(const Coachq__V1__ActionRecord *a, void *arg)
{
    struct seen *s = arg;
    size_t len = strlen(s->text);

    snprintf(s->text + len, sizeof(s->text) - len, "%s|%s|%d|%u|%d;", a->text, a->coachee_id,
             a->agreed_day, a->due_day, (int)a->status);
    s->n++;
    return 0;
}

/* What focus progress takes from a record: focus and the follow-ups that
 * stand (each observation's last event with a status). */
static int recent_seen_cb(const Coachq__V1__ActionRecord *a, void *arg)
{
    struct seen *s = arg;
    size_t len = strlen(s->text);

    len += (size_t)snprintf(s->text + len, sizeof(s->text) - len, "%s|%d|%s|", a->text,
                            (int)a->status, a->focus_skill != NULL ? a->focus_skill : "");
    for (size_t i = 0; i < a->n_focus_behaviours && len < sizeof(s->text); i++) {
        len +=
            (size_t)snprintf(s->text + len, sizeof(s->text) - len, "%s,", a->focus_behaviours[i]);
    }
    for (size_t i = 0; i < a->n_history && len < sizeof(s->text); i++) {
        const Coachq__V1__ActionEvent *e = a->history[i];
        int later = 0;

        for (size_t j = i + 1; j < a->n_history; j++) {
            later = later || (a->history[j]->observation_id.len == e->observation_id.len &&
                              memcmp(a->history[j]->observation_id.data, e->observation_id.data,
                                     e->observation_id.len) == 0);
        }
        if (!later && e->status != COACHQ__V1__ACTION_STATUS__ACTION_STATUS_UNSPECIFIED) {
            len += (size_t)snprintf(s->text + len, sizeof(s->text) - len, "%d:%d,", e->day,
                                    (int)e->status);
        }
    }
    if (len < sizeof(s->text)) {
        snprintf(s->text + len, sizeof(s->text) - len, ";");
    }
    s->n++;
    return 0;
}

struct read_req {
    const char *coach;
    const char *coachee; /* NULL: the open list */
    size_t max;
    struct seen *out;
    struct actions_open_counts counts;
};

static int read_txn(struct store_txn *t, void *arg)
{
    struct read_req *q = arg;

    if (q->coachee == NULL) {
        return actions_open_txn(t, q->coach, TODAY, q->max, open_seen_cb, q->out, &q->counts);
    }
    return actions_recent_txn(t, q->coach, q->coachee, q->max, recent_seen_cb, q->out);
}

static void page_read(struct store *s, const char *coach, const char *coachee, size_t max,
                      struct seen *out, uint64_t *open)
{
    struct read_req q;

    memset(out, 0, sizeof(*out));
    memset(&q, 0, sizeof(q));
    q.coach = coach;
    q.coachee = coachee;
    q.max = max;
    q.out = out;
    assert_int_equal(store_view(s, read_txn, &q), 0);
    if (open != NULL) {
        *open = q.counts.open;
    }
}

/* Every list the pages read: coaches' open lists (20, and 30 past what a
 * value holds) and every pair's recent actions (6). */
struct pages {
    struct seen open[2], open30[2], recent[2][2];
    uint64_t n_open[2];
};

static void pages_read(struct store *s, struct pages *p)
{
    for (int c = 0; c < 2; c++) {
        page_read(s, coaches[c], NULL, ACTIONS_OPEN_KEPT, &p->open[c], &p->n_open[c]);
        page_read(s, coaches[c], NULL, 30, &p->open30[c], NULL);
        for (int r = 0; r < 2; r++) {
            page_read(s, coaches[c], reps[r], ACTIONS_RECENT_KEPT, &p->recent[c][r], NULL);
        }
    }
}

static void pages_equal(const struct pages *a, const struct pages *b)
{
    for (int c = 0; c < 2; c++) {
        assert_int_equal(a->n_open[c], b->n_open[c]);
        assert_string_equal(a->open[c].text, b->open[c].text);
        assert_string_equal(a->open30[c].text, b->open30[c].text);
        for (int r = 0; r < 2; r++) {
            assert_string_equal(a->recent[c][r].text, b->recent[c][r].text);
        }
    }
}

/* The pages from the values equal the pages from the records (the values
 * deleted), and verify finds nothing to mend. The records are an oracle
 * for the open list at any length (past ACTIONS_OPEN_KEPT both read the
 * index), but for a pair's list only below the record path's key bound
 * (ACTIONS_RECENT_KEYS keys per record asked for, actions.h): a rep with
 * enough newer actions of another coach to use up those keys (a few
 * dozen) gets a value of 6 and fewer from the records, by design. The sessions here stay below it
 * (two coaches, at most 3 actions a session); test_recent_past_key_bound checks the pair past it
 * against what was agreed. */
static void check_against_records(struct world *w)
{
    struct pages *with = calloc(2, sizeof(*with));
    struct actions_verify_result v;

    assert_non_null(with);
    pages_read(w->f->s, &with[0]);
    assert_int_equal(actions_verify(w->f->s, 0, &v), 0);
    assert_int_equal(v.differences, 0);
    assert_int_equal(testutil_actions_values_drop(w->f->s), 0);
    pages_read(w->f->s, &with[1]);
    pages_equal(&with[0], &with[1]);
    /* Put the values back for what follows. */
    assert_int_equal(actions_verify(w->f->s, 1, &v), 0);
    free(with);
}

static struct world *world_new(unsigned seed)
{
    struct world *w = calloc(1, sizeof(*w));

    assert_non_null(w);
    w->seed = seed;
    w->f = testutil_store_fx_new(testutil_put_two_line_org, NULL);
    return w;
}

static void world_free(struct world *w)
{
    testutil_store_fx_free(w->f);
    free(w);
}

/* ---- Tests ---------------------------------------------------------------- */

/* Random sessions, each its own batch: after every ten, the pages from the
 * values are those from the records, for the open list past the bound of
 * what a value holds (a coach with more than ACTIONS_OPEN_KEPT open
 * actions: the list of 30 reads the index) and for the pairs' lists below
 * the record path's key bound (check_against_records()). */
static void test_random_against_records(void **state)
{
    (void)state;
    for (unsigned seed = 1; seed <= 3; seed++) {
        struct world *w = world_new(seed);
        struct seen s;
        uint64_t open = 0;

        for (int round = 0; round < 6; round++) {
            random_sessions(w, TODAY - 200 + round * 10, 10);
            check_against_records(w);
        }
        page_read(w->f->s, "flm.a", NULL, 30, &s, &open);
        assert_true(open > ACTIONS_OPEN_KEPT);
        assert_int_equal(s.n, open < 30 ? open : 30);
        world_free(w);
    }
}

/* A value that says something else than the records: the page shows it
 * (it reads the value), verify finds it and --repair mends it; a missing
 * value is found too, and the page then reads the records. */
static void test_verify_wrong_and_missing(void **state)
{
    struct world *w = world_new(7);
    static const uint8_t okey[] = {'O', 'f', 'l', 'm', '.', 'b', 0};
    static const uint8_t rkey[] = {'R', 'r', 'e', 'p', '.', '2', 0, 'f', 'l', 'm', '.', 'b'};
    uint8_t forged[64];
    size_t fl = 0;
    struct actions_verify_result v;
    struct seen s, s0;
    uint64_t open = 0;

    (void)state;
    session(w, 1, 1, TODAY - 10, 1, NULL, 0);
    page_read(w->f->s, "flm.b", NULL, ACTIONS_OPEN_KEPT, &s0, &open);
    assert_int_equal(open, 1);
    /* Version 1, one entry: id, coachee, text "forged", days, status. */
    forged[fl++] = 1;
    forged[fl++] = 1;
    memset(forged + fl, 0xab, 16);
    fl += 16;
    forged[fl++] = 5;
    memcpy(forged + fl, "rep.2", 5);
    fl += 5;
    forged[fl++] = 0;
    forged[fl++] = 6;
    memcpy(forged + fl, "forged", 6);
    fl += 6;
    memset(forged + fl, 0, 8);
    fl += 8;
    forged[fl++] = (uint8_t)COACHQ__V1__ACTION_STATUS__ACTION_STATUS_OPEN;
    assert_int_equal(testutil_actions_by_set(w->f->s, okey, sizeof(okey), forged, fl), 0);
    page_read(w->f->s, "flm.b", NULL, ACTIONS_OPEN_KEPT, &s, NULL);
    assert_non_null(strstr(s.text, "forged|rep.2|"));
    assert_int_equal(actions_verify(w->f->s, 0, &v), 0);
    assert_int_equal(v.differences, 1);
    assert_int_equal(actions_verify(w->f->s, 1, &v), 0);
    assert_int_equal(actions_verify(w->f->s, 0, &v), 0);
    assert_int_equal(v.differences, 0);
    page_read(w->f->s, "flm.b", NULL, ACTIONS_OPEN_KEPT, &s, NULL);
    assert_string_equal(s.text, s0.text);

    /* Missing: the pair's recent value. */
    assert_int_equal(testutil_actions_by_set(w->f->s, rkey, sizeof(rkey), NULL, 0), 0);
    assert_int_equal(actions_verify(w->f->s, 0, &v), 0);
    assert_int_equal(v.differences, 1);
    page_read(w->f->s, "flm.b", "rep.2", ACTIONS_RECENT_KEPT, &s, NULL);
    assert_int_equal(s.n, 1);
    assert_int_equal(actions_verify(w->f->s, 1, &v), 0);
    assert_int_equal(actions_verify(w->f->s, 0, &v), 0);
    assert_int_equal(v.differences, 0);
    world_free(w);
}

/* Damaged values (bytes that do not parse, a count the open counters
 * disagree with): the pages read the records and are right, and the writer
 * goes on and writes the values again. */
static void test_damaged_value(void **state)
{
    struct world *w = world_new(11);
    static const uint8_t okey[] = {'O', 'f', 'l', 'm', '.', 'a', 0};
    static const uint8_t rkey[] = {'R', 'r', 'e', 'p', '.', '1', 0, 'f', 'l', 'm', '.', 'a'};
    static const uint8_t junk[] = {1, 200, 0xff, 0xff, 3};
    static const uint8_t empty[] = {1, 0};
    struct pages *p = calloc(2, sizeof(*p));
    struct actions_verify_result v;

    (void)state;
    assert_non_null(p);
    random_sessions(w, TODAY - 100, 30);
    pages_read(w->f->s, &p[0]);
    assert_true(p[0].open[0].n > 0 && p[0].recent[0][0].n > 0);
    assert_int_equal(testutil_actions_by_set(w->f->s, okey, sizeof(okey), junk, sizeof(junk)), 0);
    assert_int_equal(testutil_actions_by_set(w->f->s, rkey, sizeof(rkey), junk, sizeof(junk)), 0);
    pages_read(w->f->s, &p[1]);
    pages_equal(&p[0], &p[1]);
    /* A well-formed value of no entries, where the counters say some are
     * open: the open list reads the index. */
    assert_int_equal(testutil_actions_by_set(w->f->s, okey, sizeof(okey), empty, sizeof(empty)), 0);
    pages_read(w->f->s, &p[1]);
    pages_equal(&p[0], &p[1]);
    assert_int_equal(testutil_actions_by_set(w->f->s, rkey, sizeof(rkey), empty, sizeof(empty)), 0);
    pages_read(w->f->s, &p[1]);
    pages_equal(&p[0], &p[1]);
    /* The writer takes sessions of the damaged persons and mends their
     * values from the records (a pair value of no entries says nothing of
     * the pair's records). */
    session(w, 0, 0, TODAY - 50, 2, NULL, 0);
    assert_int_equal(actions_verify(w->f->s, 0, &v), 0);
    assert_int_equal(v.differences, 0);
    check_against_records(w);
    free(p);
    world_free(w);
}

/* Opens the store in w's directory with its log (standard error) caught
 * in log (NUL-terminated, at most len - 1 bytes). */
static void open_logged(struct world *w, char *log, size_t len)
{
    w->f->s = testutil_store_open_logged(w->f->dir, 0, log, len);
}

/* A store of actions format 4 (its values removed, its format set back)
 * gets them on open: verify finds them missing before and nothing after,
 * and the pages read them. The upgrade is format 5's own step, which
 * writes the values and nothing else, not a rebuild of every record: its
 * log line says so and counts the values verify found missing; format 6's
 * step follows it (4 -> 5 -> 6), its line after, counting every record. */
static void test_migration_from_4(void **state)
{
    struct world *w = world_new(5);
    struct actions_verify_result v;
    struct pages *p = calloc(2, sizeof(*p));
    char log[4096], want[96], want6[96];

    (void)state;
    assert_non_null(p);
    random_sessions(w, TODAY - 100, 40);
    pages_read(w->f->s, &p[0]);
    assert_int_equal(testutil_actions_values_drop(w->f->s), 0);
    assert_int_equal(testutil_meta_put_be32(w->f->s, "actions_format", 4), 0);
    assert_int_equal(actions_verify(w->f->s, 0, &v), 0);
    assert_true(v.differences >= 5);
    snprintf(want, sizeof(want), "event=actions_format_upgraded from=4 to=5 values=%llu\n",
             (unsigned long long)v.differences);
    store_close(w->f->s);
    open_logged(w, log, sizeof(log));
    assert_non_null(strstr(log, want));
    assert_null(strstr(log, "actions="));
    assert_int_equal(actions_verify(w->f->s, 0, &v), 0);
    assert_int_equal(v.differences, 0);
    /* The steps chain: format 6's follows format 5's, over every record. */
    snprintf(want6, sizeof(want6), "event=actions_format_upgraded from=5 to=6 records=%llu\n",
             (unsigned long long)v.records);
    assert_true(v.records > 0);
    assert_non_null(strstr(log, want6));
    assert_true(strstr(log, want6) > strstr(log, want));
    pages_read(w->f->s, &p[1]);
    pages_equal(&p[0], &p[1]);
    check_against_records(w);
    free(p);
    world_free(w);
}

static int erase_txn(struct store_txn *t, void *arg)
{
    struct erase_request r;

    memset(&r, 0, sizeof(r));
    r.id = arg;
    r.now_ms = NOW_S * 1000;
    r.actor = "test";
    r.origin = "test";
    return erase_person_txn(t, &r);
}

static int retention_run(struct store_txn *t, void *arg)
{
    return retention_txn(t, arg);
}

/* Erasure takes an erased rep's values with their records (the pseudonym's
 * are what its records give), and retention a retired action from the
 * lists. */
static void test_erasure_and_retention(void **state)
{
    struct world *w = world_new(3);
    struct retention_request r;
    struct seen s;
    uint64_t before = 0, after = 0;

    (void)state;
    random_sessions(w, TODAY - 150, 40);
    page_read(w->f->s, "flm.a", "rep.2", ACTIONS_RECENT_KEPT, &s, NULL);
    assert_true(s.n > 0);
    assert_int_equal(store_exec(w->f->s, erase_txn, (void *)"rep.2"), 0);
    page_read(w->f->s, "flm.a", "rep.2", ACTIONS_RECENT_KEPT, &s, NULL);
    assert_int_equal(s.n, 0);
    check_against_records(w);

    page_read(w->f->s, "flm.a", NULL, ACTIONS_OPEN_KEPT, &s, &before);
    memset(&r, 0, sizeof(r));
    r.before_day = TODAY - 130;
    r.now_ms = NOW_S * 1000;
    r.actor = "test";
    r.origin = "test";
    r.policy = "test";
    assert_int_equal(store_exec(w->f->s, retention_run, &r), 0);
    assert_true(r.observations > 0);
    page_read(w->f->s, "flm.a", NULL, ACTIONS_OPEN_KEPT, &s, &after);
    assert_true(after < before);
    check_against_records(w);
    world_free(w);
}

/* A full pair value whose last entry, agreed in the session of an older
 * one outside it, is closed: it now sorts after that one (open first on a
 * tie), so the value is made again from the records, and shows the other. */
static void test_recent_full_value_reorders(void **state)
{
    struct world *w = world_new(9);
    struct pages *p = calloc(2, sizeof(*p));
    struct actions_verify_result v;
    struct agreed *hi;

    (void)state;
    assert_non_null(p);
    session(w, 0, 0, TODAY - 40, 2, NULL, 0);
    hi = memcmp(w->a[0].id, w->a[1].id, 16) > 0 ? &w->a[0] : &w->a[1];
    for (int i = 0; i < ACTIONS_RECENT_KEPT - 1; i++) {
        session(w, 0, 0, TODAY - 30 + i, 1, NULL, 0);
    }
    session(w, 0, 0, TODAY - 10, 0, hi, COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE);
    assert_int_equal(actions_verify(w->f->s, 0, &v), 0);
    assert_int_equal(v.differences, 0);
    pages_read(w->f->s, &p[0]);
    assert_int_equal(p[0].recent[0][0].n, ACTIONS_RECENT_KEPT);
    check_against_records(w);
    free(p);
    world_free(w);
}

/* A store with the organisation's rules on, as coachqd opens it. */
static struct world *world_enforced(unsigned seed)
{
    struct world *w = world_new(seed);

    store_close(w->f->s);
    w->f->s = testutil_store_open_enforced(w->f->dir);
    return w;
}

/* Amends the session of observation obs (started on day) with one of coach
 * with rep agreeing the action a (its id kept), or none when a is NULL. */
static void amend(struct world *w, const uint8_t obs[16], int32_t day, int c, int r,
                  struct agreed *a, const char *text)
{
    struct testutil_obs o;
    Coachq__V1__Action act = COACHQ__V1__ACTION__INIT;
    Coachq__V1__Action *ap = &act;

    testutil_obs_make(&o, coaches[c], reps[r], (int64_t)day * 86400 + 9 * 3600);
    o.o.amends.data = (uint8_t *)obs;
    o.o.amends.len = 16;
    if (a != NULL) {
        act.text = (char *)text;
        act.owner_id = (char *)reps[r];
        act.focus_skill = (char *)"objection handling";
        act.id.data = a->id;
        act.id.len = 16;
        o.o.actions = &ap;
        o.o.n_actions = 1;
        a->coach = c;
        a->rep = r;
    }
    assert_int_equal(testutil_store_submit(w->f->s, &o.o, "obs.1", NOW_S * 1000), 0);
}

/* A full pair value that loses an entry (an amendment moves a session to
 * another pair, or drops the newest session's action) is made again from
 * the records: the pair's record outside it comes in, so the page still
 * shows ACTIONS_RECENT_KEPT actions, the oldest among them. */
static void test_recent_full_value_loses_entry(void **state)
{
    struct world *w = world_enforced(13);
    struct actions_verify_result v;
    uint8_t moved[16], newest[16];
    int32_t day0 = TODAY - 40;
    struct seen s;

    (void)state;
    for (int i = 0; i < ACTIONS_RECENT_KEPT + 2; i++) {
        session(w, 0, 0, day0 + i, 1, NULL, 0);
        if (i == 2) {
            memcpy(moved, w->last_obs, 16);
        }
    }
    memcpy(newest, w->last_obs, 16);
    page_read(w->f->s, "flm.a", "rep.1", ACTIONS_RECENT_KEPT, &s, NULL);
    assert_int_equal(s.n, ACTIONS_RECENT_KEPT);
    assert_null(strstr(s.text, "act 1|"));

    /* Session 2 moves to flm.b with rep.2: acts 1 and 0 come in. */
    amend(w, moved, day0 + 2, 1, 1, &w->a[2], "act 2");
    page_read(w->f->s, "flm.a", "rep.1", ACTIONS_RECENT_KEPT, &s, NULL);
    assert_int_equal(s.n, ACTIONS_RECENT_KEPT);
    assert_non_null(strstr(s.text, "act 1|"));
    assert_null(strstr(s.text, "act 2|"));
    page_read(w->f->s, "flm.b", "rep.2", ACTIONS_RECENT_KEPT, &s, NULL);
    assert_int_equal(s.n, 1);
    assert_non_null(strstr(s.text, "act 2|"));
    assert_int_equal(actions_verify(w->f->s, 0, &v), 0);
    assert_int_equal(v.differences, 0);
    check_against_records(w);

    /* The newest session's action is dropped: act 0 comes in. */
    amend(w, newest, day0 + ACTIONS_RECENT_KEPT + 1, 0, 0, NULL, NULL);
    page_read(w->f->s, "flm.a", "rep.1", ACTIONS_RECENT_KEPT, &s, NULL);
    assert_int_equal(s.n, ACTIONS_RECENT_KEPT);
    assert_non_null(strstr(s.text, "act 0|"));
    assert_null(strstr(s.text, "act 7|"));
    assert_int_equal(actions_verify(w->f->s, 0, &v), 0);
    assert_int_equal(v.differences, 0);
    check_against_records(w);
    world_free(w);
}

/* One batch of sessions whose actions touch more persons' values than a
 * batch notes (VIEW_TOUCH_MAX entries): a session of flm.b with rep.2
 * first, then 89 of flm.a with rep.1 agreeing 50 actions each. The values
 * noted before the write-out are written too. */
#define BIG_OBS 90
#define BIG_ACTS 50

struct big {
    uint8_t *buf[BIG_OBS];
    size_t len[BIG_OBS];
};

static void big_make(struct big *b)
{
    for (int i = 0; i < BIG_OBS; i++) {
        struct testutil_obs o;
        Coachq__V1__Action act[BIG_ACTS], *ap[BIG_ACTS];
        char text[BIG_ACTS][32];
        int first = i == 0;
        int n = first ? 1 : BIG_ACTS;

        testutil_obs_make(&o, coaches[first ? 1 : 0], reps[first ? 1 : 0],
                          (int64_t)(TODAY - 100 + i) * 86400 + 9 * 3600);
        for (int k = 0; k < n; k++) {
            Coachq__V1__Action init = COACHQ__V1__ACTION__INIT;

            act[k] = init;
            snprintf(text[k], sizeof(text[k]), "act %d.%d", i, k);
            act[k].text = text[k];
            act[k].owner_id = (char *)reps[first ? 1 : 0];
            act[k].focus_skill = (char *)"objection handling";
            ap[k] = &act[k];
        }
        o.o.actions = ap;
        o.o.n_actions = (size_t)n;
        b->len[i] = coachq__v1__observation__get_packed_size(&o.o);
        b->buf[i] = malloc(b->len[i]);
        assert_non_null(b->buf[i]);
        coachq__v1__observation__pack(&o.o, b->buf[i]);
    }
}

static void big_fill(void *arg, struct store_write *w, int i)
{
    struct big *b = arg;

    memset(w, 0, sizeof(*w));
    w->obs = b->buf[i];
    w->obs_len = b->len[i];
    w->observer_id = "obs.1";
    w->received_at_ms = NOW_S * 1000;
}

static void test_batch_past_touch_bound(void **state)
{
    struct world *w = world_enforced(17);
    struct big b;
    struct seen s;
    uint64_t open = 0;

    (void)state;
    big_make(&b);
    testutil_write_one_batch(w->f->s, BIG_OBS, big_fill, testutil_check_stored, &b, NULL, 0);
    page_read(w->f->s, "flm.b", "rep.2", ACTIONS_RECENT_KEPT, &s, NULL);
    assert_int_equal(s.n, 1);
    page_read(w->f->s, "flm.b", NULL, ACTIONS_OPEN_KEPT, &s, &open);
    assert_int_equal(open, 1);
    page_read(w->f->s, "flm.a", NULL, ACTIONS_OPEN_KEPT, &s, &open);
    assert_int_equal(open, (uint64_t)(BIG_OBS - 1) * BIG_ACTS);
    check_against_records(w);
    for (int i = 0; i < BIG_OBS; i++) {
        free(b.buf[i]);
    }
    world_free(w);
}

/* A pair past the record path's key bound, where the records are no
 * oracle (check_against_records()): flm.a agrees 6 actions with rep.1,
 * then flm.b 75 newer ones. The page from the value shows flm.a's 6, which
 * the test agreed, while the record path, its keys used up by flm.b's,
 * finds fewer; verify finds nothing to mend. */
static void test_recent_past_key_bound(void **state)
{
    struct world *w = world_new(19);
    struct actions_verify_result v;
    struct seen s;
    char want[16];

    (void)state;
    for (int i = 0; i < ACTIONS_RECENT_KEPT; i++) {
        session(w, 0, 0, TODAY - 120 + i, 1, NULL, 0);
    }
    for (int i = 0; i < 25; i++) {
        session(w, 1, 0, TODAY - 100 + i, 3, NULL, 0);
    }
    page_read(w->f->s, "flm.a", "rep.1", ACTIONS_RECENT_KEPT, &s, NULL);
    assert_int_equal(s.n, ACTIONS_RECENT_KEPT);
    for (int i = 0; i < ACTIONS_RECENT_KEPT; i++) {
        snprintf(want, sizeof(want), "act %d|", i);
        assert_non_null(strstr(s.text, want));
    }
    assert_int_equal(actions_verify(w->f->s, 0, &v), 0);
    assert_int_equal(v.differences, 0);
    assert_int_equal(testutil_actions_values_drop(w->f->s), 0);
    page_read(w->f->s, "flm.a", "rep.1", ACTIONS_RECENT_KEPT, &s, NULL);
    assert_true(s.n < ACTIONS_RECENT_KEPT);
    world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_against_records),
        cmocka_unit_test(test_verify_wrong_and_missing),
        cmocka_unit_test(test_damaged_value),
        cmocka_unit_test(test_migration_from_4),
        cmocka_unit_test(test_erasure_and_retention),
        cmocka_unit_test(test_recent_full_value_reorders),
        cmocka_unit_test(test_recent_full_value_loses_entry),
        cmocka_unit_test(test_batch_past_touch_bound),
        cmocka_unit_test(test_recent_past_key_bound),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
