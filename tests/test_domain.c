/*
 * test_domain: the organisation's rules through a real coachqd over real
 * TLS, with a real LMDB made by the real administration verbs
 * (testutil_seed_org(): fixtures/org.csv, certifications granted with
 * `coachqd cert grant`).
 *
 * What is checked: every role against every request (the access table of
 * query/auth.h), including reads outside one's line answered as "not
 * found"; each validation rule at submit with its code and field;
 * reporting lines by session date across a transfer; amendments as new
 * versions with history, and their window; calibration that certifies an
 * observer who was refused before; rubrics over the protocol; the people
 * an observer may observe today; disabled
 * users and pinned certificates refused at the next handshake.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "client.h"
#include "testutil.h"
#include "uuid.h"

#define WATCHDOG_SECONDS 240
/* 2025-03-03T10:00:00Z and 2025-09-01T10:00:00Z: before and after rep.lou
 * moved from flm.cara to flm.dan (2025-06-01). */
#define T_BEFORE 1741082400LL
#define T_AFTER 1756720800LL
#define DAY 86400LL

struct fixture {
    char dir[512];
    char data[600];
    struct testutil_server srv;
};

static int setup_args(void **state, const char *const *args)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    testutil_watchdog(WATCHDOG_SECONDS);
    testutil_tmpdir(f->dir, sizeof(f->dir));
    snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
    testutil_seed_org(f->data);
    testutil_server_start(&f->srv, f->data, args);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_args(state, NULL);
}

/* Calibration attempts that follow each other within seconds: a cool-down
 * of 2 s between attempts at one reference instead of a day. */
static int setup_short_cooldown(void **state)
{
    static const char *const args[] = {"--cert-cooldown", "2", NULL};

    return setup_args(state, args);
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    testutil_server_abandon(&f->srv);
    testutil_rmrf(f->dir);
    free(f);
    return 0;
}

/* Submits one observation; returns the answer. */
static struct client_submit_result submit(struct client *c, Coachq__V1__Observation *o)
{
    struct client_submit_result r;
    Coachq__V1__Observation *one[1] = {o};

    memset(&r, 0, sizeof(r));
    assert_int_equal(client_submit_many(c, one, 1, &r, NULL, NULL), 0);
    assert_true(r.done);
    return r;
}

static void assert_stored(const struct client_submit_result *r)
{
    if (r->err.code != COACHQ__V1__CODE__OK) {
        fail_msg("refused: code %d field %s: %s", r->err.code, r->err.field, r->err.message);
    }
    assert_int_equal(r->result, COACHQ__V1__ACK__RESULT__RESULT_STORED);
}

static void assert_refused(const struct client_submit_result *r, Coachq__V1__Code code,
                           const char *field)
{
    if (r->err.code != code || strcmp(r->err.field, field) != 0) {
        fail_msg("want code %d field %s; got code %d field '%s': %s", code, field, r->err.code,
                 r->err.field, r->err.message);
    }
    /* A message a person can act on, not just a code. */
    assert_true(strlen(r->err.message) > 20);
}

/* ---- Access: every role against every request ---------------------------- */

struct who {
    const char *user;
    int submit;      /* may submit */
    int read;        /* may read the record obs.ann made about flm.cara */
    int stats;       /* may read the server counters */
    int others_cert; /* may read obs.ann's certification status */
    int add_ref;     /* may register a calibration reference */
    int list_people; /* may list the people to observe */
};

static const struct who people[] = {
    {"obs.ann", 1, 1, 0, 1, 0, 1}, {"bob", 1, 0, 0, 0, 0, 1},       {"flm.cara", 0, 1, 0, 0, 0, 0},
    {"flm.dan", 0, 0, 0, 0, 0, 0}, {"mgr.jones", 0, 0, 0, 0, 0, 0}, {"slm.eve", 0, 1, 0, 0, 0, 0},
    {"slm.fay", 0, 0, 0, 0, 0, 0}, {"lead.gil", 0, 1, 1, 1, 1, 1},  {"admin.hal", 0, 1, 1, 1, 1, 1},
};

/* A master-scored reference: every behaviour of coaching-conversation v1. */
static void make_reference(Coachq__V1__CalibrationReference *ref, Coachq__V1__Rating r[10],
                           Coachq__V1__Rating *rp[10], uint8_t id[16], const uint32_t scores[10])
{
    Coachq__V1__CalibrationReference init = COACHQ__V1__CALIBRATION_REFERENCE__INIT;

    *ref = init;
    assert_int_equal(uuid_generate(id), 0);
    for (size_t i = 0; i < 10; i++) {
        Coachq__V1__Rating ri = COACHQ__V1__RATING__INIT;

        r[i] = ri;
        r[i].behaviour_id = (char *)testutil_behaviours[i];
        r[i].score = scores[i];
        rp[i] = &r[i];
    }
    ref->id.data = id;
    ref->id.len = 16;
    ref->rubric_id = (char *)"coaching-conversation";
    ref->rubric_version = 1;
    ref->title = (char *)"Deal review, enterprise renewal";
    ref->master = rp;
    ref->n_master = 10;
}

static void test_access_every_role(void **state)
{
    struct fixture *f = *state;
    struct client *ann = testutil_connect(&f->srv, "obs.ann", 0);
    struct testutil_obs t;
    struct client_submit_result r;
    struct client_error e;

    testutil_obs_make(&t, "flm.cara", "rep.ida", T_AFTER);
    r = submit(ann, &t.o);
    assert_stored(&r);
    client_free(ann);

    for (size_t i = 0; i < sizeof(people) / sizeof(people[0]); i++) {
        const struct who *w = &people[i];
        struct client *c = testutil_connect(&f->srv, w->user, 1);
        Coachq__V1__StoredObservation *rec = NULL;
        Coachq__V1__ObservationHistory *h = NULL;
        Coachq__V1__ObservationPage *page = NULL;
        Coachq__V1__ListObservations q = COACHQ__V1__LIST_OBSERVATIONS__INIT;
        Coachq__V1__Stats *st = NULL;
        Coachq__V1__CertStatus *cs = NULL;
        Coachq__V1__RubricList *rl = NULL;
        Coachq__V1__PeopleList *pl = NULL;
        Coachq__V1__CalibrationReference ref;
        Coachq__V1__Rating mr[10];
        Coachq__V1__Rating *mrp[10];
        uint8_t refid[16];
        static const uint32_t scores[10] = {3, 3, 2, 3, 2, 3, 3, 2, 3, 2};
        struct testutil_obs t2;
        int rc;

        print_message("access as %s\n", w->user);
        /* Submit. */
        testutil_obs_make(&t2, "flm.cara", "rep.ida", T_AFTER + DAY);
        r = submit(c, &t2.o);
        if (w->submit) {
            assert_stored(&r);
        } else {
            assert_int_equal(r.err.code, COACHQ__V1__CODE__PERMISSION_DENIED);
        }
        /* Get: refused reads look exactly like a missing record. */
        rc = client_get(c, t.id, &rec, &e);
        if (w->read) {
            assert_int_equal(rc, 0);
            assert_string_equal(rec->observer_id, "obs.ann");
            coachq__v1__stored_observation__free_unpacked(rec, NULL);
        } else {
            assert_int_equal(rc, -EREMOTEIO);
            assert_int_equal(e.code, COACHQ__V1__CODE__NOT_FOUND);
        }
        /* History: the same rule. */
        rc = client_history(c, t.id, &h, &e);
        if (w->read) {
            assert_int_equal(rc, 0);
            assert_int_equal(h->n_versions, 1);
            coachq__v1__observation_history__free_unpacked(h, NULL);
        } else {
            assert_int_equal(e.code, COACHQ__V1__CODE__NOT_FOUND);
        }
        /* List by coach: the record shows exactly when a get would. */
        q.by = COACHQ__V1__LIST_BY__LIST_BY_COACH;
        q.person_id = (char *)"flm.cara";
        q.since = T_AFTER;
        q.until = T_AFTER + 1;
        assert_int_equal(client_list(c, &q, &page, &e), 0);
        assert_int_equal(page->n_observations, w->read ? 1 : 0);
        coachq__v1__observation_page__free_unpacked(page, NULL);
        /* Rubrics: everybody. */
        assert_int_equal(client_rubrics(c, &rl, &e), 0);
        assert_int_equal(rl->n_rubrics, 3);
        coachq__v1__rubric_list__free_unpacked(rl, NULL);
        /* Certification status: own always, obs.ann's by rule. */
        assert_int_equal(client_cert_status(c, NULL, &cs, &e), 0);
        assert_string_equal(cs->observer_id, w->user);
        coachq__v1__cert_status__free_unpacked(cs, NULL);
        cs = NULL;
        rc = client_cert_status(c, "obs.ann", &cs, &e);
        if (w->others_cert || strcmp(w->user, "obs.ann") == 0) {
            assert_int_equal(rc, 0);
            assert_int_equal(cs->n_certifications, 2);
            coachq__v1__cert_status__free_unpacked(cs, NULL);
        } else {
            assert_int_equal(e.code, COACHQ__V1__CODE__PERMISSION_DENIED);
        }
        /* Server counters. */
        rc = client_stats(c, &st, &e);
        if (w->stats) {
            assert_int_equal(rc, 0);
            assert_true(st->records_stored >= 1);
            coachq__v1__stats__free_unpacked(st, NULL);
        } else {
            assert_int_equal(e.code, COACHQ__V1__CODE__PERMISSION_DENIED);
        }
        /* Calibration references. */
        make_reference(&ref, mr, mrp, refid, scores);
        rc = client_add_reference(c, &ref, &e);
        if (w->add_ref) {
            assert_int_equal(rc, 0);
        } else {
            assert_int_equal(e.code, COACHQ__V1__CODE__PERMISSION_DENIED);
        }
        /* The people to observe. */
        rc = client_people(c, &pl, &e);
        if (w->list_people) {
            assert_int_equal(rc, 0);
            assert_true(pl->n_people > 0);
            coachq__v1__people_list__free_unpacked(pl, NULL);
        } else {
            assert_int_equal(rc, -EREMOTEIO);
            assert_int_equal(e.code, COACHQ__V1__CODE__PERMISSION_DENIED);
            assert_null(pl);
        }
        client_free(c);
    }
    testutil_assert_alive(&f->srv);
}

/* A rep has no login and gets a clear refusal at the handshake. */
static void test_rep_has_no_login(void **state)
{
    struct fixture *f = *state;
    struct client_opts opts;
    struct client_error e;
    struct client *c = NULL;

    testutil_client_opts(&opts, &f->srv, "rep.ida", 0);
    assert_true(client_connect(&opts, &c, &e) < 0);
    assert_null(c);
    assert_non_null(strstr(e.message, "no role"));
}

/* ---- Validation at submit ------------------------------------------------- */

static void test_submit_rules(void **state)
{
    struct fixture *f = *state;
    struct client *ann = testutil_connect(&f->srv, "obs.ann", 0);
    struct client *ben = testutil_connect(&f->srv, "obs.ben", 1);
    struct client_submit_result r;
    struct testutil_obs t;
    time_t now = time(NULL);

    /* An observer without a certification. */
    testutil_obs_make(&t, "flm.cara", "rep.ida", T_AFTER);
    r = submit(ben, &t.o);
    assert_refused(&r, COACHQ__V1__CODE__FAILED_PRECONDITION, "observation.rubric_id");
    assert_non_null(strstr(r.err.message, "not certified"));

    /* The coach must be a front-line manager. */
    testutil_obs_make(&t, "slm.eve", "rep.ida", T_AFTER);
    r = submit(ann, &t.o);
    assert_refused(&r, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation.coach_id");
    testutil_obs_make(&t, "flm.nobody", "rep.ida", T_AFTER);
    r = submit(ann, &t.o);
    assert_refused(&r, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation.coach_id");

    /* The coachee must report to the coach on the session date. */
    testutil_obs_make(&t, "flm.cara", "rep.jon", T_AFTER);
    r = submit(ann, &t.o);
    assert_refused(&r, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation.coachee_id");
    assert_non_null(strstr(r.err.message, "flm.dan"));

    /* rep.lou moved from flm.cara to flm.dan on 2025-06-01: each session
     * belongs to the line that held on its date. */
    testutil_obs_make(&t, "flm.cara", "rep.lou", T_BEFORE);
    r = submit(ann, &t.o);
    assert_stored(&r);
    testutil_obs_make(&t, "flm.cara", "rep.lou", T_AFTER);
    r = submit(ann, &t.o);
    assert_refused(&r, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation.coachee_id");
    testutil_obs_make(&t, "flm.dan", "rep.lou", T_AFTER);
    r = submit(ann, &t.o);
    assert_stored(&r);
    testutil_obs_make(&t, "flm.dan", "rep.lou", T_BEFORE);
    r = submit(ann, &t.o);
    assert_refused(&r, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation.coachee_id");

    /* Every behaviour rated. */
    testutil_obs_make(&t, "flm.cara", "rep.ida", T_AFTER);
    t.o.n_ratings = 9;
    r = submit(ann, &t.o);
    assert_refused(&r, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation.ratings");
    assert_non_null(strstr(r.err.message, "documents-actions"));

    /* No unknown behaviour. */
    testutil_obs_make(&t, "flm.cara", "rep.ida", T_AFTER);
    t.r[4].behaviour_id = (char *)"mind-reading";
    r = submit(ann, &t.o);
    assert_refused(&r, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation.ratings[4].behaviour_id");

    /* Evidence where the rubric requires it (scores 1 and 4). */
    testutil_obs_make(&t, "flm.cara", "rep.ida", T_AFTER);
    t.r[2].score = 4;
    r = submit(ann, &t.o);
    assert_refused(&r, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation.ratings[2].evidence");
    t.r[2].evidence = (char *)"walked the rep through the buyer's three objections";
    r = submit(ann, &t.o);
    assert_stored(&r);

    /* Not applicable only where the rubric allows it: collaborative does
     * not, praises-insight does. */
    testutil_obs_make(&t, "flm.cara", "rep.ida", T_AFTER);
    t.r[0].score = 0;
    t.r[0].not_applicable = 1;
    r = submit(ann, &t.o);
    assert_refused(&r, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation.ratings[0].not_applicable");
    testutil_obs_make(&t, "flm.cara", "rep.ida", T_AFTER);
    t.r[6].score = 0;
    t.r[6].not_applicable = 1;
    r = submit(ann, &t.o);
    assert_stored(&r);

    /* Not in the future, not before the rubric version took effect. */
    testutil_obs_make(&t, "flm.cara", "rep.ida", (int64_t)now + 2 * DAY);
    r = submit(ann, &t.o);
    assert_refused(&r, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation.started_at");
    testutil_obs_make(&t, "flm.cara", "rep.ida", 1688205600LL); /* 2023-07-01 */
    r = submit(ann, &t.o);
    assert_refused(&r, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation.started_at");

    /* A rubric or version the server does not have. */
    testutil_obs_make(&t, "flm.cara", "rep.ida", T_AFTER);
    t.o.rubric_version = 7;
    r = submit(ann, &t.o);
    assert_refused(&r, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation.rubric_version");
    t.o.rubric_id = (char *)"negotiation";
    t.o.rubric_version = 1;
    r = submit(ann, &t.o);
    assert_refused(&r, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation.rubric_id");

    client_free(ben);
    client_free(ann);
    testutil_assert_alive(&f->srv);
}

/* ---- Amendments ------------------------------------------------------------ */

static void test_amendments(void **state)
{
    struct fixture *f = *state;
    struct client *ann = testutil_connect(&f->srv, "obs.ann", 0);
    struct client *bob = testutil_connect(&f->srv, "bob", 1);
    struct client *cara = testutil_connect(&f->srv, "flm.cara", 2);
    Coachq__V1__StoredObservation *rec = NULL;
    Coachq__V1__ObservationHistory *h = NULL;
    Coachq__V1__ObservationPage *page = NULL;
    Coachq__V1__ListObservations q = COACHQ__V1__LIST_OBSERVATIONS__INIT;
    struct client_submit_result r;
    struct client_error e;
    struct testutil_obs orig, v2, v3, theirs;
    char out[4096];

    testutil_obs_make(&orig, "flm.cara", "rep.ida", T_AFTER + 5 * DAY);
    r = submit(ann, &orig.o);
    assert_stored(&r);

    /* Version 2: its own id, linked to the original. */
    testutil_obs_make(&v2, "flm.cara", "rep.ida", T_AFTER + 5 * DAY);
    v2.r[3].score = 3;
    v2.o.amends.data = orig.id;
    v2.o.amends.len = 16;
    r = submit(ann, &v2.o);
    assert_stored(&r);
    /* Resending the amendment is a duplicate, not a third version. */
    r = submit(ann, &v2.o);
    assert_int_equal(r.result, COACHQ__V1__ACK__RESULT__RESULT_DUPLICATE);

    /* Version 3 may name the original again. */
    testutil_obs_make(&v3, "flm.cara", "rep.ida", T_AFTER + 5 * DAY);
    v3.o.amends.data = orig.id;
    v3.o.amends.len = 16;
    v3.o.notes = (char *)"third version";
    r = submit(ann, &v3.o);
    assert_stored(&r);

    /* The original is kept, marked superseded. */
    assert_int_equal(client_get(ann, orig.id, &rec, &e), 0);
    assert_int_equal(rec->version, 1);
    assert_true(rec->superseded);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    assert_int_equal(client_get(ann, v3.id, &rec, &e), 0);
    assert_int_equal(rec->version, 3);
    assert_false(rec->superseded);
    assert_memory_equal(rec->root_id.data, orig.id, 16);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);

    /* History from any version's id, oldest first; the coach reads it too. */
    assert_int_equal(client_history(cara, v2.id, &h, &e), 0);
    assert_int_equal(h->n_versions, 3);
    assert_memory_equal(h->versions[0]->observation->id.data, orig.id, 16);
    assert_memory_equal(h->versions[1]->observation->id.data, v2.id, 16);
    assert_memory_equal(h->versions[2]->observation->id.data, v3.id, 16);
    assert_int_equal(h->versions[2]->version, 3);
    coachq__v1__observation_history__free_unpacked(h, NULL);

    /* Lists show the latest version only. */
    q.by = COACHQ__V1__LIST_BY__LIST_BY_COACH;
    q.person_id = (char *)"flm.cara";
    q.since = T_AFTER + 5 * DAY;
    q.until = T_AFTER + 5 * DAY + 1;
    assert_int_equal(client_list(ann, &q, &page, &e), 0);
    assert_int_equal(page->n_observations, 1);
    assert_memory_equal(page->observations[0]->observation->id.data, v3.id, 16);
    coachq__v1__observation_page__free_unpacked(page, NULL);

    /* Another observer cannot amend it, and learns nothing about it. */
    testutil_obs_make(&theirs, "flm.cara", "rep.ida", T_AFTER + 5 * DAY);
    theirs.o.amends.data = orig.id;
    theirs.o.amends.len = 16;
    r = submit(bob, &theirs.o);
    assert_refused(&r, COACHQ__V1__CODE__NOT_FOUND, "observation.amends");

    /* An amendment is checked like any observation. */
    testutil_obs_make(&theirs, "flm.cara", "rep.jon", T_AFTER + 5 * DAY);
    theirs.o.amends.data = orig.id;
    theirs.o.amends.len = 16;
    r = submit(ann, &theirs.o);
    assert_refused(&r, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation.coachee_id");

    /* The audit log has the submission and both amendments. */
    client_free(cara);
    client_free(bob);
    client_free(ann);
    testutil_coachqd(out, sizeof(out), 0, "audit", "--data", f->data, NULL);
    assert_non_null(strstr(out, "amend"));
    assert_non_null(strstr(out, "obs.ann"));

    /* With a window of 0 days, the window has closed. */
    testutil_stop_clean(&f->srv);
    {
        static const char *const args[] = {"--amend-days", "0", NULL};
        struct testutil_obs late;

        testutil_server_start(&f->srv, f->data, args);
        ann = testutil_connect(&f->srv, "obs.ann", 0);
        testutil_obs_make(&late, "flm.cara", "rep.ida", T_AFTER + 5 * DAY);
        late.o.amends.data = orig.id;
        late.o.amends.len = 16;
        r = submit(ann, &late.o);
        assert_refused(&r, COACHQ__V1__CODE__FAILED_PRECONDITION, "observation.amends");
        client_free(ann);
    }
}

/* ---- Calibration and certification ------------------------------------ */

static void test_calibration_certifies(void **state)
{
    struct fixture *f = *state;
    struct client *gil = testutil_connect(&f->srv, "lead.gil", 0);
    struct client *ben = testutil_connect(&f->srv, "obs.ben", 1);
    Coachq__V1__CalibrationReference ref;
    Coachq__V1__Rating mr[10];
    Coachq__V1__Rating *mrp[10];
    Coachq__V1__CertStatus *cs = NULL;
    uint8_t refid[16];
    static const uint32_t master[10] = {3, 2, 3, 1, 2, 3, 4, 2, 3, 2};
    static const uint32_t poor[10] = {1, 4, 1, 3, 4, 1, 2, 4, 1, 4};
    struct client_submit_result r;
    struct client_error e;
    struct testutil_obs t;
    time_t now = time(NULL);
    char out[8192];

    /* A reference must score every behaviour of a rubric the server has. */
    make_reference(&ref, mr, mrp, refid, master);
    ref.n_master = 9;
    assert_int_equal(client_add_reference(gil, &ref, &e), -EREMOTEIO);
    assert_int_equal(e.code, COACHQ__V1__CODE__INVALID_ARGUMENT);
    assert_string_equal(e.field, "add_reference.reference.master");
    assert_non_null(strstr(e.message, "documents-actions"));
    ref.n_master = 10;
    ref.rubric_version = 3;
    assert_int_equal(client_add_reference(gil, &ref, &e), -EREMOTEIO);
    assert_string_equal(e.field, "add_reference.reference.rubric_version");
    ref.rubric_version = 1;
    assert_int_equal(client_add_reference(gil, &ref, &e), 0);
    /* Its id now belongs to it: other master scores under it are refused. */
    mr[0].score = 1;
    assert_int_equal(client_add_reference(gil, &ref, &e), -EREMOTEIO);
    assert_int_equal(e.code, COACHQ__V1__CODE__ALREADY_EXISTS);
    mr[0].score = master[0];

    /* Refused as uncertified. */
    testutil_obs_make(&t, "flm.cara", "rep.ida", (int64_t)now - DAY);
    r = submit(ben, &t.o);
    assert_refused(&r, COACHQ__V1__CODE__FAILED_PRECONDITION, "observation.rubric_id");

    /* A poor attempt: stored, not passed, nothing granted. */
    testutil_obs_make(&t, "flm.cara", "rep.ida", (int64_t)now - DAY);
    for (size_t i = 0; i < 10; i++) {
        t.r[i].score = poor[i];
        t.r[i].evidence = (char *)"as heard in the recording";
    }
    t.o.calibration_ref.data = refid;
    t.o.calibration_ref.len = 16;
    r = submit(ben, &t.o);
    assert_stored(&r);
    /* The cool-down between two attempts at one reference (2 s here). */
    sleep(3);
    assert_int_equal(client_cert_status(ben, NULL, &cs, &e), 0);
    assert_int_equal(cs->n_certifications, 0);
    assert_int_equal(cs->n_results, 1);
    assert_false(cs->results[0]->passed);
    assert_true(strlen(cs->results[0]->reason) > 10);
    coachq__v1__cert_status__free_unpacked(cs, NULL);

    /* Calibration attempts are kept out of the coach's view. */
    {
        struct client *cara = testutil_connect(&f->srv, "flm.cara", 2);
        Coachq__V1__StoredObservation *rec = NULL;

        assert_int_equal(client_get(cara, t.id, &rec, &e), -EREMOTEIO);
        assert_int_equal(e.code, COACHQ__V1__CODE__NOT_FOUND);
        client_free(cara);
    }

    /* A second attempt that matches the masters replaces the first. */
    testutil_obs_make(&t, "flm.cara", "rep.ida", (int64_t)now - DAY);
    for (size_t i = 0; i < 10; i++) {
        t.r[i].score = master[i];
        t.r[i].evidence = (char *)"as heard in the recording";
    }
    t.o.calibration_ref.data = refid;
    t.o.calibration_ref.len = 16;
    r = submit(ben, &t.o);
    assert_stored(&r);
    assert_int_equal(client_cert_status(ben, NULL, &cs, &e), 0);
    assert_int_equal(cs->n_certifications, 1);
    assert_string_equal(cs->certifications[0]->rubric_id, "coaching-conversation");
    assert_string_equal(cs->certifications[0]->granted_by, "calibration");
    /* The observer learns that they passed, not the figures ... */
    assert_true(cs->certifications[0]->figures_withheld);
    assert_true(cs->certifications[0]->exact == 0.0);
    assert_int_equal(cs->n_results, 2);
    assert_true(cs->results[1]->passed);
    assert_true(cs->results[1]->figures_withheld);
    coachq__v1__cert_status__free_unpacked(cs, NULL);
    /* ... which their enablement lead sees. */
    assert_int_equal(client_cert_status(gil, "obs.ben", &cs, &e), 0);
    assert_int_equal(cs->n_certifications, 1);
    assert_false(cs->certifications[0]->figures_withheld);
    assert_true(cs->certifications[0]->exact > 0.999);
    assert_true(cs->certifications[0]->kappa > 0.999);
    assert_false(cs->certifications[0]->kappa_undefined);
    coachq__v1__cert_status__free_unpacked(cs, NULL);

    /* Now the same observer's real observations are accepted: a session
     * of today (an hour ago, or at midnight in the day's first hour, as
     * the certification holds from today). */
    testutil_obs_make(&t, "flm.cara", "rep.ida",
                      (int64_t)now - ((int64_t)now % DAY < 3600 ? (int64_t)now % DAY : 3600));
    r = submit(ben, &t.o);
    assert_stored(&r);
    /* ... but only from the certification's first day on. */
    testutil_obs_make(&t, "flm.cara", "rep.ida", (int64_t)now - 30 * DAY);
    r = submit(ben, &t.o);
    assert_refused(&r, COACHQ__V1__CODE__FAILED_PRECONDITION, "observation.started_at");

    client_free(ben);
    client_free(gil);
    testutil_coachqd(out, sizeof(out), 0, "cert", "list", "--data", f->data, "obs.ben", NULL);
    assert_non_null(strstr(out, "coaching-conversation"));
    assert_non_null(strstr(out, "calibration"));
}

/* The observers dashboard's row of observer id, or NULL; *col_attempts and
 * *col_flag get the indexes of those columns. */
static const Coachq__V1__TableRow *observers_row(const Coachq__V1__Dashboard *d, const char *id,
                                                 size_t *col_attempts, size_t *col_flag)
{
    for (size_t i = 0; i < d->n_tables; i++) {
        const Coachq__V1__Table *t = d->tables[i];

        if (strcmp(t->id, "observers") != 0) {
            continue;
        }
        for (size_t c = 0; c < t->n_columns; c++) {
            if (strcmp(t->columns[c], "Calibration attempts") == 0) {
                *col_attempts = c;
            } else if (strcmp(t->columns[c], "Calibration flag") == 0) {
                *col_flag = c;
            }
        }
        for (size_t r = 0; r < t->n_rows; r++) {
            if (t->rows[r]->n_cells > 0 && strcmp(t->rows[r]->cells[0]->link, id) == 0) {
                return t->rows[r];
            }
        }
    }
    return NULL;
}

/* Asserts that an observer's own status carries no figure an attacker could
 * read the master scores from (issue 10, "Calibration is an oracle"). */
static void assert_no_figures(const Coachq__V1__CertStatus *cs)
{
    for (size_t i = 0; i < cs->n_results; i++) {
        const Coachq__V1__CalibrationResult *r = cs->results[i];

        assert_true(r->figures_withheld);
        assert_int_equal(r->n, 0);
        assert_true(r->exact == 0.0 && r->within_one == 0.0 && r->kappa == 0.0);
        assert_false(r->kappa_undefined);
        assert_null(strchr(r->reason, '%'));
        assert_null(strstr(r->reason, "kappa"));
        assert_null(strstr(r->reason, "pair"));
        for (size_t b = 0; b < 10; b++) {
            assert_null(strstr(r->reason, testutil_behaviours[b]));
        }
    }
    for (size_t i = 0; i < cs->n_certifications; i++) {
        const Coachq__V1__Certification *c = cs->certifications[i];

        assert_true(c->figures_withheld);
        assert_int_equal(c->n, 0);
        assert_true(c->exact == 0.0 && c->within_one == 0.0 && c->kappa == 0.0);
    }
}

/*
 * The attacker of issue 10 point 3: an observer resubmits attempts at one
 * reference that vary one behaviour's score, to read its master score off
 * the results. The results say passed or not and nothing else, the limits
 * refuse the fourth attempt in the window (and any attempt within the
 * cool-down) naming when the next is possible, every attempt is audited,
 * and the lead's observers dashboard flags the pattern.
 */
static void test_calibration_exam_is_no_oracle(void **state)
{
    struct fixture *f = *state;
    struct client *gil = testutil_connect(&f->srv, "lead.gil", 0);
    struct client *ben = testutil_connect(&f->srv, "obs.ben", 1);
    Coachq__V1__CalibrationReference ref;
    Coachq__V1__Rating mr[10];
    Coachq__V1__Rating *mrp[10];
    Coachq__V1__CertStatus *cs = NULL;
    Coachq__V1__GetDashboard q = COACHQ__V1__GET_DASHBOARD__INIT;
    Coachq__V1__Dashboard *dash = NULL;
    const Coachq__V1__TableRow *row;
    uint8_t refid[16];
    /* Master scores that make exact agreement hinge on behaviour 0. */
    static const uint32_t master[10] = {2, 1, 3, 1, 2, 3, 4, 2, 3, 2};
    static const uint32_t others[10] = {0, 2, 4, 2, 3, 4, 1, 3, 4, 3};
    struct client_submit_result r;
    struct client_error e;
    struct testutil_obs t;
    time_t now = time(NULL);
    size_t col_attempts = 0, col_flag = 0;
    char out[16384];

    make_reference(&ref, mr, mrp, refid, master);
    assert_int_equal(client_add_reference(gil, &ref, &e), 0);

    /* One attempt, then the cool-down (2 s here, 24 h by default). */
    for (int attempt = 0; attempt < 2; attempt++) {
        testutil_obs_make(&t, "flm.cara", "rep.ida", (int64_t)now - DAY);
        for (size_t i = 0; i < 10; i++) {
            t.r[i].score = i == 0 ? 1 : others[i];
            t.r[i].evidence = (char *)"as heard in the recording";
        }
        t.o.calibration_ref.data = refid;
        t.o.calibration_ref.len = 16;
        r = submit(ben, &t.o);
        if (attempt == 0) {
            assert_stored(&r);
        } else {
            assert_refused(&r, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "observation.calibration_ref");
            assert_non_null(strstr(r.err.message, "next attempt is possible from"));
            assert_non_null(strstr(r.err.message, "UTC"));
        }
    }

    /* After each cool-down, the window's limit of 3 attempts holds. The
     * attacker goes on varying behaviour 0 (2, 3, 4) with the rest off. */
    for (uint32_t score = 2; score <= 4; score++) {
        sleep(3);
        testutil_obs_make(&t, "flm.cara", "rep.ida", (int64_t)now - DAY);
        for (size_t i = 0; i < 10; i++) {
            t.r[i].score = i == 0 ? score : others[i];
            t.r[i].evidence = (char *)"as heard in the recording";
        }
        t.o.calibration_ref.data = refid;
        t.o.calibration_ref.len = 16;
        r = submit(ben, &t.o);
        if (score < 4) {
            /* Attempts 2 and 3 of the window. */
            assert_stored(&r);
        } else {
            assert_refused(&r, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "observation.calibration_ref");
            assert_non_null(strstr(r.err.message, "all 3 attempts"));
            assert_non_null(strstr(r.err.message, "next attempt is possible from"));
        }
        /* Whatever the score, the observer's status reads the same: no
         * figure moves when the varied score meets the master's. */
        assert_int_equal(client_cert_status(ben, NULL, &cs, &e), 0);
        assert_no_figures(cs);
        assert_false(cs->results[cs->n_results - 1]->passed);
        assert_non_null(strstr(cs->results[cs->n_results - 1]->reason, "not passed"));
        coachq__v1__cert_status__free_unpacked(cs, NULL);
    }
    assert_int_equal(client_cert_status(ben, NULL, &cs, &e), 0);
    assert_int_equal(cs->n_results, 3);
    assert_int_equal(cs->results[2]->attempt, 3);
    assert_int_equal(cs->results[2]->attempts_allowed, 3);
    assert_true(cs->results[2]->next_attempt_ms > (int64_t)now * 1000 + 29 * DAY * 1000);
    assert_non_null(strstr(cs->results[2]->reason, "attempt 3 of 3"));
    coachq__v1__cert_status__free_unpacked(cs, NULL);

    /* The lead sees the figures, and the pattern is flagged for them. */
    assert_int_equal(client_cert_status(gil, "obs.ben", &cs, &e), 0);
    assert_int_equal(cs->n_results, 3);
    assert_false(cs->results[2]->figures_withheld);
    assert_true(cs->results[2]->n > 0);
    coachq__v1__cert_status__free_unpacked(cs, NULL);
    q.kind = COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS;
    assert_int_equal(client_dashboard(gil, &q, &dash, &e), 0);
    row = observers_row(dash, "obs.ben", &col_attempts, &col_flag);
    assert_non_null(row);
    assert_true(col_attempts > 0 && col_flag > 0);
    assert_string_equal(row->cells[col_attempts]->text, "3");
    assert_non_null(strstr(row->cells[col_flag]->text, "suspicious"));
    assert_non_null(strstr(row->cells[col_flag]->text, "one behaviour varied"));
    assert_non_null(strstr(row->cells[col_flag]->text, "limit reached"));
    /* An observer who attempted nothing is not flagged. */
    row = observers_row(dash, "obs.ann", &col_attempts, &col_flag);
    assert_non_null(row);
    assert_string_equal(row->cells[col_flag]->text, "");
    coachq__v1__dashboard__free_unpacked(dash, NULL);

    client_free(ben);
    client_free(gil);
    /* Every attempt is audited, the refused ones too. */
    testutil_coachqd(out, sizeof(out), 0, "audit", "--data", f->data, NULL);
    {
        size_t stored = 0;
        size_t refused = 0;

        for (const char *p = out; (p = strstr(p, "  calibrate  ")) != NULL; p++) {
            stored++;
        }
        for (const char *p = out; (p = strstr(p, "  calibrate.refused  ")) != NULL; p++) {
            refused++;
        }
        assert_int_equal(stored, 3);
        assert_int_equal(refused, 2);
    }
}

/* ---- Rubrics over the protocol ------------------------------------------- */

static void test_rubrics(void **state)
{
    struct fixture *f = *state;
    struct client *c = testutil_connect(&f->srv, "flm.dan", 0);
    Coachq__V1__Rubric *rb = NULL;
    struct client_error e;

    assert_int_equal(client_rubric(c, "coaching-conversation", 0, &rb, &e), 0);
    assert_int_equal(rb->version, 1);
    assert_int_equal(rb->n_behaviours, 10);
    for (size_t i = 0; i < rb->n_behaviours; i++) {
        assert_string_equal(rb->behaviours[i]->id, testutil_behaviours[i]);
        assert_int_equal(rb->behaviours[i]->n_anchors, 4);
        assert_true(rb->behaviours[i]->n_indicators > 0);
        assert_true(strlen(rb->behaviours[i]->definition) > 40);
    }
    assert_int_equal(rb->n_evidence_required, 2);
    coachq__v1__rubric__free_unpacked(rb, NULL);
    rb = NULL;
    assert_int_equal(client_rubric(c, "call-review", 1, &rb, &e), 0);
    assert_int_equal(rb->n_behaviours, 8);
    coachq__v1__rubric__free_unpacked(rb, NULL);
    rb = NULL;
    assert_int_equal(client_rubric(c, "call-review", 2, &rb, &e), -EREMOTEIO);
    assert_int_equal(e.code, COACHQ__V1__CODE__NOT_FOUND);
    client_free(c);
}

/* ---- The people to observe --------------------------------------------- */

/* Every front-line manager in id order, each followed by the reps who
 * report to them today: rep.lou moved from flm.cara to flm.dan on
 * 2025-06-01, so he is under flm.dan now. Second-level managers are
 * listed alone, as the coaches of coaching-the-coach (their coachees are
 * the front-line managers listed with them as manager); observers, leads
 * and administrators are not people to observe. */
static void test_people(void **state)
{
    static const struct {
        const char *id;
        const char *name;
        const char *manager;
        int manager_role; /* 1 front-line, 2 second-level manager, 0 a rep */
    } want[] = {
        {"flm.cara", "Cara Lind", "slm.eve", 1}, {"rep.ida", "Ida Park", "flm.cara", 0},
        {"flm.dan", "Dan Roe", "slm.fay", 1},    {"rep.jon", "Jon Bell", "flm.dan", 0},
        {"rep.lou", "Lou Fenn", "flm.dan", 0},   {"mgr.jones", "Jo Jones", "slm.eve", 1},
        {"rep.kim", "Kim Ash", "mgr.jones", 0},  {"slm.eve", "Eve Stone", "", 2},
        {"slm.fay", "Fay Moss", "", 2},
    };
    struct fixture *f = *state;
    struct client *c = testutil_connect(&f->srv, "obs.ann", 0);
    Coachq__V1__PeopleList *pl = NULL;
    struct client_error e;
    int64_t before = (int64_t)time(NULL);

    assert_true(before > T_AFTER);
    assert_int_equal(client_people(c, &pl, &e), 0);
    assert_true(pl->as_of >= before && pl->as_of <= (int64_t)time(NULL));
    for (size_t i = 0; i < pl->n_people; i++) {
        print_message("people[%zu] %s manager %s\n", i, pl->people[i]->id,
                      pl->people[i]->manager_id);
    }
    assert_int_equal(pl->n_people, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < pl->n_people; i++) {
        const Coachq__V1__PersonSummary *p = pl->people[i];

        assert_string_equal(p->id, want[i].id);
        assert_string_equal(p->name, want[i].name);
        assert_string_equal(p->manager_id, want[i].manager);
        if (want[i].manager_role) {
            assert_int_equal(p->n_roles, 1);
            assert_int_equal(p->roles[0], want[i].manager_role == 1
                                              ? COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER
                                              : COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER);
        } else {
            assert_int_equal(p->n_roles, 0);
        }
    }
    coachq__v1__people_list__free_unpacked(pl, NULL);
    pl = NULL;
    client_free(c);

    /* A front-line manager may not list the organisation. */
    c = testutil_connect(&f->srv, "flm.cara", 0);
    assert_int_equal(client_people(c, &pl, &e), -EREMOTEIO);
    assert_null(pl);
    assert_int_equal(e.code, COACHQ__V1__CODE__PERMISSION_DENIED);
    assert_non_null(strstr(e.message, "observers"));
    client_free(c);

    /* An enablement lead may, and gets the same list. */
    c = testutil_connect(&f->srv, "lead.gil", 0);
    assert_int_equal(client_people(c, &pl, &e), 0);
    assert_int_equal(pl->n_people, sizeof(want) / sizeof(want[0]));
    assert_string_equal(pl->people[4]->id, "rep.lou");
    assert_string_equal(pl->people[4]->manager_id, "flm.dan");
    coachq__v1__people_list__free_unpacked(pl, NULL);
    client_free(c);
    testutil_assert_alive(&f->srv);
}

/* ---- Disabled users and pinned certificates --------------------------------- */

static void test_disable_and_pin(void **state)
{
    struct fixture *f = *state;
    struct client *kai = testutil_connect(&f->srv, "gone.kai", 0);
    struct client *again = NULL;
    struct client_opts opts;
    struct client_error e;
    char out[4096], bobcrt[600], newdir[600], crt[700], key[700];
    Coachq__V1__RubricList *rl = NULL;

    /* Disabled while connected: refused from the next handshake on. */
    testutil_coachqd(out, sizeof(out), 0, "user", "disable", "--data", f->data, "gone.kai", NULL);
    testutil_client_opts(&opts, &f->srv, "gone.kai", 1);
    assert_true(client_connect(&opts, &again, &e) < 0);
    assert_non_null(strstr(e.message, "disabled"));
    /* The connection made before keeps its answers (no rewrite of the
     * past), until it closes. */
    assert_int_equal(client_rubrics(kai, &rl, &e), 0);
    coachq__v1__rubric_list__free_unpacked(rl, NULL);
    client_free(kai);
    testutil_coachqd(out, sizeof(out), 0, "user", "enable", "--data", f->data, "gone.kai", NULL);
    kai = testutil_connect(&f->srv, "gone.kai", 0);
    client_free(kai);

    /* Pin alice to another certificate: her own is refused. */
    testutil_cert_path(bobcrt, sizeof(bobcrt), "users/bob.crt");
    testutil_coachqd(out, sizeof(out), 0, "user", "pin", "--data", f->data, "alice", bobcrt, NULL);
    testutil_client_opts(&opts, &f->srv, "alice", 1);
    assert_true(client_connect(&opts, &again, &e) < 0);
    assert_non_null(strstr(e.message, "not the one registered"));

    /* An issued certificate is pinned and works; the old one no longer. */
    snprintf(newdir, sizeof(newdir), "%s/issued", f->dir);
    assert_int_equal(mkdir(newdir, 0700), 0);
    testutil_cert_path(crt, sizeof(crt), "ca.crt");
    testutil_cert_path(key, sizeof(key), "ca.key");
    testutil_coachqd(out, sizeof(out), 0, "cert", "issue", "--data", f->data, "carol", "--ca-cert",
                     crt, "--ca-key", key, "--out", newdir, NULL);
    testutil_client_opts(&opts, &f->srv, "carol", 1);
    assert_true(client_connect(&opts, &again, &e) < 0);
    snprintf(crt, sizeof(crt), "%s/carol.crt", newdir);
    snprintf(key, sizeof(key), "%s/carol.key", newdir);
    opts.cert_file = crt;
    opts.key_file = key;
    assert_int_equal(client_connect(&opts, &again, &e), 0);
    assert_string_equal(client_welcome(again)->user_id, "carol");
    assert_int_equal(client_welcome(again)->n_roles, 1);
    assert_int_equal(client_welcome(again)->roles[0], COACHQ__V1__ROLE__ROLE_OBSERVER);
    client_free(again);
    testutil_assert_alive(&f->srv);
}

/* ---- The README's walkthrough on the demo organisation --------------------- */

/* The first observation the README submits is valid on the organisation
 * `coachqd demo` makes, for the observer dev.sh issues a certificate to. */
static void test_readme_example_on_demo(void **state)
{
    char dir[512], data[600], example[700], copy[700], server[64];
    char crt[700], key[700], ca[700], cakey[700];
    char out[8192];
    struct testutil_server srv;
    FILE *in, *dst;
    int ch;

    (void)state;
    testutil_watchdog(WATCHDOG_SECONDS);
    testutil_tmpdir(dir, sizeof(dir));
    snprintf(data, sizeof(data), "%s/data", dir);
    testutil_coachqd(out, sizeof(out), 0, "demo", "--data", data, NULL);
    testutil_cert_path(ca, sizeof(ca), "ca.crt");
    testutil_cert_path(cakey, sizeof(cakey), "ca.key");
    testutil_coachqd(out, sizeof(out), 0, "cert", "issue", "obs.chen", "--data", data, "--ca-cert",
                     ca, "--ca-key", cakey, "--out", dir, NULL);
    snprintf(crt, sizeof(crt), "%s/obs.chen.crt", dir);
    snprintf(key, sizeof(key), "%s/obs.chen.key", dir);

    /* Submit a copy: the client may write ids back into its file. */
    snprintf(example, sizeof(example), "%s/../../docs/examples/first-observation.json",
             testutil_fixtures());
    snprintf(copy, sizeof(copy), "%s/first-observation.json", dir);
    in = fopen(example, "r");
    assert_non_null(in);
    dst = fopen(copy, "w");
    assert_non_null(dst);
    while ((ch = fgetc(in)) != EOF) {
        fputc(ch, dst);
    }
    fclose(in);
    fclose(dst);

    testutil_server_start(&srv, data, NULL);
    snprintf(server, sizeof(server), "127.0.0.1:%d", srv.port);
    testutil_coachq(out, sizeof(out), 0, "--server", server, "--cert", crt, "--key", key, "--ca",
                    ca, "submit", copy, NULL);
    assert_non_null(strstr(out, "STORED"));
    testutil_coachq(out, sizeof(out), 0, "--server", server, "--cert", crt, "--key", key, "--ca",
                    ca, "submit", copy, NULL);
    assert_non_null(strstr(out, "DUPLICATE"));
    testutil_coachq(out, sizeof(out), 0, "--server", server, "--cert", crt, "--key", key, "--ca",
                    ca, "list", "--coach", "flm.garcia", NULL);
    assert_non_null(strstr(out, "0b5e1c7a"));
    testutil_stop_clean(&srv);
    testutil_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_access_every_role, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rep_has_no_login, setup, teardown),
        cmocka_unit_test_setup_teardown(test_submit_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_amendments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_calibration_certifies, setup_short_cooldown, teardown),
        cmocka_unit_test_setup_teardown(test_calibration_exam_is_no_oracle, setup_short_cooldown,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rubrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_people, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disable_and_pin, setup, teardown),
        cmocka_unit_test(test_readme_example_on_demo),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
