/*
 * test_erase: `coachqd erase` and `coachqd retention`, run as the real
 * program ($COACHQD) on a store laid out by the test, and checked with the
 * real LMDB tools: mdb_dump (every database's keys and values) and
 * mdb_copy -c (the compacted file, grepped byte by byte).
 *
 * Erasure: nothing of the person (id, name, e-mail) remains in any
 * database, the audit log, the aggregates, the dashboards as JSON, or the
 * compacted file; others' records keep their structure and numbers; the
 * person cannot connect; a dry run, a second run and odd ids change
 * nothing. Retention: a dry run changes nothing, the real run removes
 * exactly what the dry run listed, the day exactly N months ago is kept,
 * and the aggregates match a rebuild.
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
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "agg.h"
#include "assign.h"
#include "audit.h"
#include "auth.h"
#include "buf.h"
#include "client.h"
#include "creds.h"
#include "dash.h"
#include "dash_builder.h"
#include "dashfmt.h"
#include "erase.h"
#include "keys.h"
#include "obs.h"
#include "outcomes.h"
#include "people.h"
#include "store.h"
#include "store_int.h"
#include "testutil.h"
#include "uuid.h"

#define OUT_MAX (512 * 1024)
/* "Today" of the retention runs: 2026-03-31 (--as-of). */
#define ASOF "2026-03-31"
#define DAY_2026_03_31 20543
/* "Today" of the erasure's organisation: Wednesday 2024-06-12 12:00 UTC. */
#define TODAY 19886
#define NOW_S ((int64_t)TODAY * 86400 + 12 * 3600)

struct fx {
    char dir[512];
    char data[600];
    char out[OUT_MAX];
    char err[OUT_MAX];
    uint8_t ids[8][16]; /* the observations made, by role in the test */
    size_t nids;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    testutil_watchdog(240);
    testutil_tmpdir(f->dir, sizeof(f->dir));
    snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
    assert_int_equal(mkdir(f->data, 0700), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    testutil_rmrf(f->dir);
    free(f);
    return 0;
}

/* Runs argv (NULL-terminated; argv[0] a path or a program on PATH) with
 * stdout and stderr in f->out and f->err; returns its exit status. */
static int run_argv(struct fx *f, const char *const *argv)
{
    return testutil_run_capture(f->dir, NULL, argv, f->out, sizeof(f->out), f->err, sizeof(f->err));
}

/* Runs `coachqd ARGS... --data f->data` (ARGS NULL-terminated) and fails
 * unless it exits with code; coachqd() below adds the NULL. */
static void coachqd_v(struct fx *f, int code, ...)
{
    const char *argv[24];
    int argc = 0;
    va_list ap;
    int got;

    argv[argc++] = getenv("COACHQD");
    assert_non_null(argv[0]);
    va_start(ap, code);
    for (;;) {
        const char *s = va_arg(ap, const char *);

        if (s == NULL) {
            break;
        }
        assert_true(argc < 20);
        argv[argc++] = s;
    }
    va_end(ap);
    argv[argc++] = "--data";
    argv[argc++] = f->data;
    argv[argc] = NULL;
    got = run_argv(f, argv);
    if (got != code) {
        fail_msg("coachqd %s: exit %d, expected %d\nstdout:\n%s\nstderr:\n%s", argv[1], got, code,
                 f->out, f->err);
    }
}

#define coachqd(f, code, ...) coachqd_v((f), (code), __VA_ARGS__, (const char *)NULL)

static void contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL) {
        fail_msg("expected to find \"%s\" in:\n%s", needle, hay);
    }
}

/* Case-insensitive search in len bytes (any bytes, NULs included). */
static const uint8_t *ci_find(const uint8_t *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);

    for (size_t i = 0; n > 0 && i + n <= len; i++) {
        size_t k = 0;

        while (k < n && (hay[i + k] | 0x20) == (((uint8_t)needle[k]) | 0x20)) {
            k++;
        }
        if (k == n) {
            return hay + i;
        }
    }
    return NULL;
}

/* Fails if any of needles (NULL-terminated) is in the len bytes of what. */
static void lacks_all(const char *what, const uint8_t *hay, size_t len, const char *const *needles)
{
    for (size_t i = 0; needles[i] != NULL; i++) {
        const uint8_t *p = ci_find(hay, len, needles[i]);

        if (p != NULL) {
            size_t off = (size_t)(p - hay);
            size_t from = off > 60 ? off - 60 : 0;
            char ctx[200];
            size_t k = 0;

            for (size_t j = from; j < len && j < off + 60 && k + 1 < sizeof(ctx); j++) {
                ctx[k++] = hay[j] >= 0x20 && hay[j] < 0x7f ? (char)hay[j] : '.';
            }
            ctx[k] = '\0';
            fail_msg("%s still holds \"%s\" at byte %zu: ...%s...", what, needles[i], off, ctx);
        }
    }
}

/* Every database's keys and values (mdb_dump -a -p), as text in *out
 * (caller frees). The tool is in dev.sh's packages (lmdb-utils). */
static char *dump_all(struct fx *f)
{
    const char *argv[] = {"mdb_dump", "-a", "-p", f->data, NULL};
    char *copy;
    int rc = run_argv(f, argv);

    if (rc == 127) {
        fail_msg("mdb_dump is not installed: run ./dev.sh setup (package lmdb-utils)");
    }
    assert_int_equal(rc, 0);
    assert_true(strlen(f->out) + 1 < OUT_MAX); /* the whole dump fits */
    copy = strdup(f->out);
    assert_non_null(copy);
    return copy;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *b;
    long n;

    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n > 0);
    rewind(fp);
    b = malloc((size_t)n);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return b;
}

/* ---- The organisation ---------------------------------------------------- */

static const uint8_t ZELDA_PIN[32] = {
    0x5a, 0x5a, 0x5a, 0x5a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
    0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c};

static int org_txn(struct store_txn *t, void *arg)
{
    Coachq__V1__Person z = COACHQ__V1__PERSON__INIT;
    Coachq__V1__Role roles[2] = {COACHQ__V1__ROLE__ROLE_OBSERVER,
                                 COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER};
    ProtobufCBinaryData pin = {32, (uint8_t *)ZELDA_PIN};
    Coachq__V1__Programme prog = COACHQ__V1__PROGRAMME__INIT;
    Coachq__V1__Enrolment en = COACHQ__V1__ENROLMENT__INIT;
    Coachq__V1__Outcome oc = COACHQ__V1__OUTCOME__INIT;
    Coachq__V1__CoveragePlan plan = COACHQ__V1__COVERAGE_PLAN__INIT;
    struct assign_draw_req draw;
    struct assign_draw_result drawn;
    char hash[200], token[CREDS_TOKEN_LEN + 1];
    int rc = 0;

    (void)arg;
    memset(&draw, 0, sizeof(draw));
    memset(&drawn, 0, sizeof(drawn));
    z.id = (char *)"zelda.q";
    z.name = (char *)"Zelda Quimby";
    z.email = (char *)"zelda.q@example.org";
    z.roles = roles;
    z.n_roles = 2;
    z.cert_sha256 = &pin;
    z.n_cert_sha256 = 1;
    rc = testutil_put_person(t, "slm.1", "Sam Lord", COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER,
                             NULL);
    rc = rc ? rc : people_put(t, &z, NULL);
    rc = rc ? rc : people_line_put(t, "zelda.q", "slm.1", TESTUTIL_ORG_DAY, NULL);
    rc = rc ? rc
            : testutil_put_person(t, "flm.b", "Bo Brand", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER,
                                  "slm.1");
    rc = rc ? rc : testutil_put_person(t, "rep.1", "Rae One", 0, "zelda.q");
    rc = rc ? rc : testutil_put_person(t, "rep.2", "Ray Two", 0, "flm.b");
    rc = rc ? rc : testutil_put_person(t, "zz.after", "Zak After", 0, "flm.b");
    rc = rc ? rc
            : testutil_put_person(t, "obs.1", "Oz Observer", COACHQ__V1__ROLE__ROLE_OBSERVER, NULL);
    rc =
        rc ? rc
           : testutil_put_person(t, "obs.2", "Ona Observer", COACHQ__V1__ROLE__ROLE_OBSERVER, NULL);
    rc = rc ? rc
            : testutil_put_person(t, "lead.a", "Lee Lead", COACHQ__V1__ROLE__ROLE_ENABLEMENT_LEAD,
                                  NULL);
    rc = rc ? rc : testutil_put_rubric(t, "", 0);
    rc = rc ? rc : testutil_put_cert(t, "obs.1", 19000, 21000, "lead.a");
    rc = rc ? rc : testutil_put_cert(t, "zelda.q", 19000, 21000, "lead.a");
    /* A certification that zelda.q granted: its granted_by names her. */
    rc = rc ? rc : testutil_put_cert(t, "obs.2", 19000, 21000, "zelda.q");
    prog.id = (char *)"prog.1";
    prog.name = (char *)"Coaching basics";
    rc = rc ? rc : people_programme_put(t, &prog, NULL);
    en.programme_id = (char *)"prog.1";
    en.cohort_id = (char *)"c1";
    en.cohort_start_day = 19800;
    en.person_id = (char *)"zelda.q";
    rc = rc ? rc : people_enrolment_put(t, &en, NULL);
    oc.subject_id = (char *)"zelda.q";
    oc.period = (char *)"2024-05";
    oc.metric = (char *)"win_rate";
    oc.value = 0.31;
    rc = rc ? rc : outcomes_put(t, &oc, NULL);
    /* A coverage plan of her line (its key and scope name her) and one she
     * set for the programme. */
    plan.scope = (char *)"line:zelda.q";
    plan.rubric_id = (char *)"coaching-conversation";
    plan.per_period = 1;
    plan.period = COACHQ__V1__COVERAGE_PERIOD__COVERAGE_PERIOD_MONTH;
    plan.set_by = (char *)"zelda.q";
    rc = rc ? rc : assign_plan_put(t, &plan, NULL);
    plan.scope = (char *)"programme:prog.1";
    rc = rc ? rc : assign_plan_put(t, &plan, NULL);
    /* A draw of her line (nobody to draw: its record and audit entry
     * still name the scope). */
    draw.scope = "line:zelda.q";
    draw.seed = 1;
    draw.period_day = TODAY;
    draw.now_ms = NOW_S * 1000;
    draw.actor = "lead.a";
    rc = rc ? rc : assign_draw(t, &draw, &drawn);
    assign_draw_result_clear(&drawn);
    /* Bo's many results, then a few of hers and a few of someone's whose
     * keys sort after hers (a longer id): the outcomes tree then has a
     * branch page whose separator key names her, which LMDB keeps when her
     * keys are deleted, and a compacted copy keeps too, unless the tree is
     * written afresh. */
    for (int i = 0; rc == 0 && i < 600; i++) {
        char period[16];

        snprintf(period, sizeof(period), "%d-%02d", 1980 + i / 12, 1 + i % 12);
        oc.period = period;
        oc.subject_id = (char *)"flm.b";
        rc = outcomes_put(t, &oc, NULL);
        oc.subject_id = (char *)"zelda.q";
        rc = rc || i >= 20 ? rc : outcomes_put(t, &oc, NULL);
        oc.subject_id = (char *)"zz.after";
        rc = rc || i >= 20 ? rc : outcomes_put(t, &oc, NULL);
    }
    rc = rc ? rc : creds_hash_password("correct horse battery", hash, sizeof(hash));
    rc = rc ? rc : creds_set_password_txn(t, "zelda.q", hash);
    rc = rc ? rc : creds_link_create_txn(t, "zelda.q", NOW_S, 900, token);
    rc = rc ? rc
            : audit_append(t, NOW_S * 1000, "local:root", "user.add", "zelda.q",
                           "name=\"Zelda Quimby\" email=zelda.q@example.org manager=slm.1",
                           "coachqd user add", NULL);
    rc = rc ? rc
            : audit_append(t, NOW_S * 1000, "zelda.q", "signin", "zelda.q/web", "via=password",
                           "127.0.0.1", NULL);
    return rc;
}

/* Reads the plan of scope arg: 0 if it is there and set by the erased
 * person's pseudonym (arg's "line:" scope or an "erased-" set_by). */
static int plan_txn(struct store_txn *t, void *arg)
{
    Coachq__V1__CoveragePlan *p = NULL;
    int rc = assign_plan_get(t, arg, &p);

    if (rc == 0) {
        assert_string_equal(p->scope, (const char *)arg);
        assert_true(strncmp(p->set_by, "erased-", 7) == 0);
        coachq__v1__coverage_plan__free_unpacked(p, NULL);
    }
    return rc;
}

/* Submits an observation (its id in f->ids[f->nids++]). */
static void submit(struct fx *f, struct store *s, int64_t received_ms, const char *coach,
                   const char *coachee, const char *observer, int64_t at, const char *notes,
                   const char *evidence, const char *action, const char *owner,
                   const uint8_t *amends)
{
    struct testutil_obs o;
    Coachq__V1__Action act = COACHQ__V1__ACTION__INIT;
    Coachq__V1__Action *ap = &act;

    testutil_obs_make(&o, coach, coachee, at);
    o.o.notes = (char *)(notes != NULL ? notes : "");
    if (evidence != NULL) {
        o.r[0].evidence = (char *)evidence;
    }
    if (action != NULL) {
        act.text = (char *)action;
        act.owner_id = (char *)owner;
        o.o.actions = &ap;
        o.o.n_actions = 1;
    }
    if (amends != NULL) {
        o.o.amends.data = (uint8_t *)amends;
        o.o.amends.len = 16;
    }
    assert_int_equal(testutil_store_submit(s, &o.o, observer, received_ms), 0);
    assert_true(f->nids < 8);
    memcpy(f->ids[f->nids++], o.id, 16);
}

/* The store in dir with the organisation's rules on, as coachqd runs it:
 * an amendment is only one under the rules. */
static struct store *open_enforced(const char *dir)
{
    struct store_policy pol;
    struct store_opts opts;
    struct store *s = NULL;

    store_policy_default(&pol);
    memset(&opts, 0, sizeof(opts));
    opts.policy = &pol;
    assert_int_equal(store_open(dir, &opts, &s), 0);
    return s;
}

/* The erasure's store: the organisation and five observations. */
static void make_org(struct fx *f)
{
    struct store *s = open_enforced(f->data);
    const int64_t now = NOW_S * 1000;
    int64_t t0 = (int64_t)(TODAY - 2) * 86400 + 9 * 3600;

    assert_int_equal(store_exec(s, org_txn, NULL), 0);
    /* 0: zelda.q coached; her name in the notes and the evidence. */
    submit(f, s, now, "zelda.q", "rep.1", "obs.1", t0, "Zelda Quimby ran a clear session",
           "Zelda asked open questions", "Practise discovery", "rep.1", NULL);
    /* 1: its amendment. */
    submit(f, s, now, "zelda.q", "rep.1", "obs.1", t0, "Amended: Quimby again", NULL, NULL, NULL,
           f->ids[0]);
    /* 2 and 3: one session of flm.b scored by zelda.q and by obs.1 (double coded). */
    submit(f, s, now, "flm.b", "rep.2", "zelda.q", t0 + 3600, "Rep two handled the objection",
           "Good questions", NULL, NULL, NULL);
    submit(f, s, now, "flm.b", "rep.2", "obs.1", t0 + 3600,
           "Asked ZELDA QUIMBY to join; see zelda.q@example.org. By zelda.q.", "Quimby-like pacing",
           "Shadow Zelda on a call", "zelda.q", NULL);
    /* 4: nothing to do with her. */
    submit(f, s, now, "flm.b", "rep.2", "obs.1", t0 + 7200, "A normal session", "Fine", NULL, NULL,
           NULL);
    store_close(s);
}

struct org_count {
    uint64_t observations;
};

static int org_count_cb(int32_t monday, const Coachq__V1__AggWeek *w, void *arg)
{
    (void)monday;
    ((struct org_count *)arg)->observations += w->observations;
    return 0;
}

static int org_count_txn(struct store_txn *t, void *arg)
{
    /* Every week of 1970 to 2052. */
    return agg_read(t, AGG_ORG, AGG_ORG_ALL, "coaching-conversation", 0, 30000, org_count_cb, arg);
}

static uint64_t org_observations(struct store *s)
{
    struct org_count c = {0};

    assert_int_equal(store_view(s, org_count_txn, &c), 0);
    return c.observations;
}

/* Every dashboard a viewer may open on the organisation, as JSON. */
static void dashboards_json(struct store *s, const char *pseudonym, struct buf *out)
{
    struct {
        const char *user;
        unsigned roles;
        int kind;
        const char *subject;
    } reqs[] = {
        {"slm.1", AUTH_SECOND_LEVEL, COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_MANAGERS, NULL},
        {"slm.1", AUTH_SECOND_LEVEL, COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MANAGER, "flm.b"},
        {"slm.1", AUTH_SECOND_LEVEL, COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MANAGER, pseudonym},
        {"lead.a", AUTH_LEAD, COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS, NULL},
        {"lead.a", AUTH_LEAD, COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME, NULL},
        {"flm.b", AUTH_FRONT_LINE, COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_COACHING, NULL},
    };
    size_t built = 0;

    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        struct dash_opts o;
        struct testutil_dash_req q = {
            reqs[i].user, reqs[i].roles, reqs[i].kind, reqs[i].subject, NULL, 0, &o, NOW_S};
        struct dash *d = NULL;

        dash_opts_default(&o);
        if (testutil_dash_build(s, &q, &d, NULL) == 0 && d != NULL) {
            assert_int_equal(dashfmt_json(dash_message(d), out), 0);
            built++;
        }
        dash_free(d);
    }
    assert_true(built >= 4);
}

static const char *const ZELDA[] = {"zelda", "quimby", "example.org", NULL};

/* ---- Erasure ------------------------------------------------------------------ */

static void test_erase_leaves_nothing(void **state)
{
    struct fx *f = *state;
    char pseudonym[32], cp[700], path[800], *before, *after, *again;
    Coachq__V1__StoredObservation *rec = NULL;
    struct auth_user who;
    struct buf json;
    struct store *s;
    uint64_t org_before;
    const char *p;
    uint8_t *bytes;
    size_t len;

    make_org(f);
    s = testutil_store_open(f->data, 0);
    org_before = org_observations(s);
    assert_true(org_before >= 3);
    store_close(s);
    /* An API token of hers (a credential: it goes) and one of someone
     * else's whose name names her (its text is redacted). */
    coachqd(f, 0, "token", "create", "zelda.q", "--name", "zelda's loader");
    coachqd(f, 0, "token", "create", "flm.b", "--name", "report for Zelda Quimby");

    /* A dry run reports and changes nothing. */
    before = dump_all(f);
    assert_non_null(ci_find((const uint8_t *)before, strlen(before), "quimby"));
    coachqd(f, 0, "erase", "zelda.q", "--dry-run");
    contains(f->out, "would erase 'zelda.q'");
    contains(f->out, "dry run: nothing was changed");
    after = dump_all(f);
    assert_string_equal(before, after);
    free(after);

    coachqd(f, 0, "erase", "zelda.q");
    contains(f->out, "erased 'zelda.q': erased-");
    contains(f->out, "compacted");
    p = strstr(f->out, "erased-");
    assert_non_null(p);
    memcpy(pseudonym, p, 15);
    pseudonym[15] = '\0';

    /* Every database, keys and values. */
    after = dump_all(f);
    lacks_all("mdb_dump -a", (const uint8_t *)after, strlen(after), ZELDA);
    assert_non_null(strstr(after, pseudonym));
    /* Her password hash and sign-in link are gone: they were the only ones. */
    assert_null(strstr(after, "scrypt"));

    /* Her token is gone; the other one stays, its name redacted. */
    coachqd(f, 0, "token", "list");
    lacks_all("coachqd token list", (const uint8_t *)f->out, strlen(f->out), ZELDA);
    contains(f->out, "flm.b");
    contains(f->out, "report for [erased]");

    /* The audit log as coachqd prints it: rewritten, and one erase entry. */
    coachqd(f, 0, "audit");
    lacks_all("coachqd audit", (const uint8_t *)f->out, strlen(f->out), ZELDA);
    contains(f->out, "person.erase");
    contains(f->out, pseudonym);
    p = strstr(f->out, "person.erase");
    assert_null(strstr(p, "Zelda"));

    /* The aggregates match a rebuild and kept the numbers. */
    coachqd(f, 0, "verify");
    contains(f->out, "differences: 0");

    /* The person shows as the pseudonym, disabled, nothing pinned. */
    coachqd(f, 1, "user", "show", "zelda.q");
    coachqd(f, 0, "user", "show", pseudonym);
    contains(f->out, "Erased person");
    contains(f->out, "disabled");

    s = testutil_store_open(f->data, 0);
    assert_int_equal(org_observations(s), org_before);
    /* Her line's coverage plan is the pseudonym's line's, and the plan she
     * set names the pseudonym. */
    snprintf(path, sizeof(path), "line:%s", pseudonym);
    assert_int_equal(store_view(s, plan_txn, path), 0);
    assert_int_equal(store_view(s, plan_txn, "programme:prog.1"), 0);
    assert_int_equal(store_view(s, plan_txn, "line:zelda.q"), -ENOENT);
    /* She cannot be identified, under either name. */
    char why[200];
    assert_int_not_equal(auth_identify(s, "zelda.q", ZELDA_PIN, &who, why, sizeof(why)), 0);
    assert_int_not_equal(auth_identify(s, pseudonym, ZELDA_PIN, &who, why, sizeof(why)), 0);
    /* Her own session: pseudonymised and every free text removed. */
    assert_int_equal(store_get(s, f->ids[1], &rec), 0);
    assert_string_equal(rec->observation->coach_id, pseudonym);
    assert_string_equal(rec->observation->notes, "");
    assert_string_equal(rec->observation->coachee_id, "rep.1");
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    assert_int_equal(store_get(s, f->ids[0], &rec), 0);
    assert_string_equal(rec->observation->ratings[0]->evidence, "");
    assert_string_equal(rec->observation->actions[0]->text, "");
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    /* The session she scored keeps her scores under the pseudonym. */
    assert_int_equal(store_get(s, f->ids[2], &rec), 0);
    assert_string_equal(rec->observer_id, pseudonym);
    assert_string_equal(rec->observation->notes, "Rep two handled the objection");
    assert_int_equal(rec->observation->n_ratings, 10);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    /* Someone else's record: only the words that name her, whole words. */
    assert_int_equal(store_get(s, f->ids[3], &rec), 0);
    snprintf(path, sizeof(path), "Asked [erased] to join; see [erased]. By %s.", pseudonym);
    assert_string_equal(rec->observation->notes, path);
    assert_string_equal(rec->observation->ratings[0]->evidence, "[erased]-like pacing");
    assert_string_equal(rec->observation->actions[0]->text, "Shadow [erased] on a call");
    assert_string_equal(rec->observation->actions[0]->owner_id, pseudonym);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    /* The dashboards, as JSON. */
    buf_init(&json, 16 << 20);
    dashboards_json(s, pseudonym, &json);
    lacks_all("the dashboards' JSON", json.data, json.len, ZELDA);
    buf_free(&json);
    store_close(s);

    /* The next compaction leaves no byte of her in the file. */
    snprintf(cp, sizeof(cp), "%s/compact", f->dir);
    assert_int_equal(mkdir(cp, 0700), 0);
    {
        const char *argv[] = {"mdb_copy", "-c", f->data, cp, NULL};
        int rc = run_argv(f, argv);

        if (rc == 127) {
            fail_msg("mdb_copy is not installed: run ./dev.sh setup (package lmdb-utils)");
        }
        assert_int_equal(rc, 0);
    }
    snprintf(path, sizeof(path), "%s/data.mdb", cp);
    bytes = read_file(path, &len);
    lacks_all("the compacted data.mdb", bytes, len, ZELDA);
    lacks_all("the compacted data.mdb", bytes, len, (const char *const[]){"zelda.q", NULL});
    for (size_t i = 0; i + sizeof(ZELDA_PIN) <= len; i++) {
        if (memcmp(bytes + i, ZELDA_PIN, sizeof(ZELDA_PIN)) == 0) {
            fail_msg("the compacted data.mdb still holds her certificate pin at byte %zu", i);
        }
    }
    free(bytes);

    /* Twice: her id is unknown now, the pseudonym is already erased; no change. */
    coachqd(f, 1, "erase", "zelda.q");
    contains(f->err, "no person 'zelda.q'");
    coachqd(f, 0, "erase", pseudonym);
    contains(f->out, "nothing to do");
    again = dump_all(f);
    assert_string_equal(after, again);
    free(again);
    free(after);
    free(before);
}

/* Whole words, any case; a longer word that merely starts with the name
 * is another word. */
static void test_redact_whole_words(void **state)
{
    const struct erase_pat pats[] = {
        {"zelda.q@example.org", "[erased]", 0},
        {"Zelda Quimby", "[erased]", 0},
        {"zelda.q", "erased-00000000", 1},
        {"Zelda", "[erased]", 0},
        {"Quimby", "[erased]", 0},
    };
    struct {
        const char *in;
        const char *out; /* NULL: unchanged */
    } cases[] = {
        {"Zeldaesque and zelda", "Zeldaesque and [erased]"},
        {"ZELDA QUIMBY, zelda quimby!", "[erased], [erased]!"},
        {"mail zelda.q@example.org now", "mail [erased] now"},
        {"by zelda.q.", "by erased-00000000."},
        {"(Quimby)", "([erased])"},
        {"Quimbyish xzelda zelda_q", NULL},
        {"", NULL},
        {"Zelda", "[erased]"},
        {"Zelda's call. Ask zelda.", "[erased]'s call. Ask [erased]."},
        {"zelda.quimby@x.org and x.zelda and zelda@x", NULL},
        {"by ZELDA.Q, by zelda.q", "by ZELDA.Q, by erased-00000000"},
        {"\xc3\xa9Zelda", NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out = NULL;
        int n = erase_redact(cases[i].in, pats, 5, &out);

        assert_true(n >= 0);
        if (cases[i].out == NULL) {
            assert_int_equal(n, 0);
            assert_null(out);
        } else {
            assert_non_null(out);
            assert_string_equal(out, cases[i].out);
        }
        free(out);
    }
}

static void test_erase_refuses_odd_ids(void **state)
{
    struct fx *f = *state;
    char *before, *after;
    char longid[80];

    make_org(f);
    before = dump_all(f);
    coachqd(f, 1, "erase", "nobody.here");
    contains(f->err, "no person 'nobody.here'");
    memset(longid, 'a', 65);
    longid[65] = '\0';
    {
        const char *bad[] = {"",        "zelda q",      "zelda.q\n", "\x01zelda",
                             "zelda/q", "z\xc3\xa9lda", longid};

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            coachqd(f, 2, "erase", bad[i]);
            contains(f->err, "Try 'coachqd erase --help'");
        }
    }
    coachqd(f, 2, "erase");
    coachqd(f, 2, "erase", "zelda.q", "obs.1");
    coachqd(f, 2, "erase", "zelda.q", "--force");
    coachqd(f, 0, "erase", "--help");
    contains(f->out, "PERSON");
    after = dump_all(f);
    assert_string_equal(before, after);
    free(after);
    free(before);
}

static int prefix_txn(struct store_txn *t, void *arg)
{
    (void)arg;
    return testutil_put_person(t, "zelda", "Zed Prefix", COACHQ__V1__ROLE__ROLE_OBSERVER, "slm.1");
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
        n++;
    }
    return n;
}

/* An id that is the start of another's ("zelda" and "zelda.q"): the other
 * person's keys, values and the text naming them are left as they were. */
static void test_erase_prefix_id(void **state)
{
    struct fx *f = *state;
    struct store *s;
    char *before, *after;

    make_org(f);
    s = open_enforced(f->data);
    assert_int_equal(store_exec(s, prefix_txn, NULL), 0);
    store_close(s);
    before = dump_all(f);
    coachqd(f, 0, "erase", "zelda");
    after = dump_all(f);
    assert_int_equal(count_of(after, "zelda.q"), count_of(before, "zelda.q"));
    assert_int_equal(count_of(after, "Zelda Quimby"), count_of(before, "Zelda Quimby"));
    assert_null(strstr(after, "Zed Prefix"));
    coachqd(f, 0, "user", "show", "zelda.q");
    contains(f->out, "Zelda Quimby");
    coachqd(f, 0, "verify");
    free(after);
    free(before);
}

/* A running server: the erasure goes through LMDB's writer lock beside it,
 * and the person is refused at their next connection. */
static void test_erase_while_serving(void **state)
{
    struct fx *f = *state;
    struct testutil_org o;
    struct client_opts opts;
    struct client_error err;
    struct client *c = NULL;

    memset(&o, 0, sizeof(o));
    testutil_org_start(&o, NULL);
    c = testutil_connect(&o.srv, "carol", 0);
    client_free(c);
    snprintf(f->data, sizeof(f->data), "%s", o.data);
    coachqd(f, 0, "erase", "carol");
    contains(f->out, "erased 'carol'");
    testutil_client_opts(&opts, &o.srv, "carol", 0);
    c = NULL;
    assert_int_not_equal(client_connect(&opts, &c, &err), 0);
    client_free(c);
    /* Everybody else is served as before. */
    c = testutil_connect(&o.srv, "alice", 0);
    client_free(c);
    testutil_assert_alive(&o.srv);
    coachqd(f, 0, "verify");
    testutil_stop_clean(&o.srv);
    testutil_org_cleanup(&o);
}

/* ---- Retention ------------------------------------------------------------------ */

static void make_history(struct fx *f)
{
    struct store *s = open_enforced(f->data);
    const int64_t now = ((int64_t)DAY_2026_03_31 * 86400 + 12 * 3600) * 1000;
    int64_t h = 10 * 3600;

    assert_int_equal(store_exec(s, org_txn, NULL), 0);
    /* 0: 2026-02-27, a day before the cut-off of 1m on 2026-03-31. */
    submit(f, s, now, "flm.b", "rep.2", "obs.1", (int64_t)(DAY_2026_03_31 - 32) * 86400 + h,
           "Old: gone", "old evidence", NULL, NULL, NULL);
    /* 1: 2026-02-28, exactly one month before (March 31 has no February
     * twin): kept. */
    submit(f, s, now, "flm.b", "rep.2", "obs.1", (int64_t)(DAY_2026_03_31 - 31) * 86400 + h,
           "Boundary: kept", NULL, NULL, NULL, NULL);
    /* 2: 2026-03-01: kept. */
    submit(f, s, now, "flm.b", "rep.2", "obs.1", (int64_t)(DAY_2026_03_31 - 30) * 86400 + h,
           "Recent: kept", NULL, NULL, NULL, NULL);
    /* 3 and 4: 2025-06-15 with an amendment: both versions go. */
    submit(f, s, now, "zelda.q", "rep.1", "obs.1", (int64_t)20254 * 86400 + h, "Older: gone", NULL,
           "Follow up", "rep.1", NULL);
    submit(f, s, now, "zelda.q", "rep.1", "obs.1", (int64_t)20254 * 86400 + h, "Older, amended",
           NULL, "Follow up", "rep.1", f->ids[3]);
    store_close(s);
}

/* The observation programme of make_history(): slm.1's line drawn for
 * January 2026 (a window before the cut-off) and February 2026 (ending on
 * the cut-off day), flm.b's February assignment fulfilled by observation 0
 * and the record naming it, as the writer leaves them. */
struct programme {
    const uint8_t *root; /* observation 0 */
    uint8_t feb[16];     /* flm.b's February assignment */
};

static int programme_draw(struct store_txn *t, int32_t day, struct programme *pg, int feb)
{
    struct assign_draw_req req;
    struct assign_draw_result res;
    int rc, found = 0;

    memset(&req, 0, sizeof(req));
    req.scope = "line:slm.1";
    req.seed = 7;
    req.period_day = day;
    req.now_ms = (int64_t)day * 86400000;
    req.actor = "lead.a";
    rc = assign_draw(t, &req, &res);
    for (size_t i = 0; rc == 0 && i < res.n; i++) {
        if (strcmp(res.asg[i]->manager_id, "flm.b") == 0) {
            memcpy(pg->feb, res.asg[i]->id.data, 16);
            found = 1;
        }
    }
    if (rc == 0 && feb && !found) {
        rc = -ENOENT;
    }
    assign_draw_result_clear(&res);
    return rc;
}

static int programme_txn(struct store_txn *t, void *arg)
{
    struct programme *pg = arg;
    Coachq__V1__CoveragePlan plan = COACHQ__V1__COVERAGE_PLAN__INIT;
    Coachq__V1__StoredObservation *rec = NULL;
    uint8_t skey[8], *packed = NULL;
    uint64_t seq;
    size_t n;
    int rc;

    plan.scope = (char *)"line:slm.1";
    plan.rubric_id = (char *)"coaching-conversation";
    plan.per_period = 1;
    plan.period = COACHQ__V1__COVERAGE_PERIOD__COVERAGE_PERIOD_MONTH;
    plan.set_by = (char *)"lead.a";
    rc = assign_plan_put(t, &plan, NULL);
    rc = rc ? rc : programme_draw(t, DAY_2026_03_31 - 70, pg, 0); /* 2026-01-20 */
    rc = rc ? rc : programme_draw(t, DAY_2026_03_31 - 40, pg, 1); /* 2026-02-19 */
    rc = rc ? rc : assign_fulfil(t, pg->feb, pg->root, (int64_t)DAY_2026_03_31 * 86400000);
    rc = rc ? rc : obs_seq_txn(t, pg->root, &seq);
    rc = rc ? rc : obs_read_seq_txn(t, seq, &rec);
    if (rc == 0) {
        rec->observation->assignment_id.data = pg->feb;
        rec->observation->assignment_id.len = 16;
        n = coachq__v1__stored_observation__get_packed_size(rec);
        packed = malloc(n);
        rc = packed == NULL ? -ENOMEM : 0;
    }
    if (rc == 0) {
        coachq__v1__stored_observation__pack(rec, packed);
        keys_put_be64(skey, seq);
        rc = store_txn_put_raw(t, t->s->dbi_obs, skey, sizeof(skey), packed, n, NULL);
        rec->observation->assignment_id.data = NULL;
        rec->observation->assignment_id.len = 0;
    }
    free(packed);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    return rc;
}

static void make_programme(struct fx *f, struct programme *pg)
{
    struct store *s = open_enforced(f->data);

    pg->root = f->ids[0];
    assert_int_equal(store_exec(s, programme_txn, pg), 0);
    store_close(s);
}

struct programme_left {
    const struct programme *pg;
    size_t n;       /* assignments left */
    int feb_done;   /* flm.b's February one: done, without its observation */
    uint64_t draws; /* draws left */
};

static int programme_left_txn(struct store_txn *t, void *arg)
{
    struct programme_left *pl = arg;
    Coachq__V1__Assignment **l = NULL;
    Coachq__V1__Assignment *a = NULL;
    MDB_stat st;
    int truncated, rc;

    rc = assign_list(t, NULL, 1, (int64_t)DAY_2026_03_31 * 86400000, &l, &pl->n, &truncated);
    assign_list_free(l, pl->n);
    rc = rc ? rc : assign_get(t, pl->pg->feb, &a);
    if (rc == 0) {
        pl->feb_done = a->status == COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_DONE &&
                       a->observation_id.len == 0;
    }
    coachq__v1__assignment__free_unpacked(a, NULL);
    if (rc == 0 && mdb_stat(t->txn, t->s->dbi_asg_draws, &st) == 0) {
        pl->draws = st.ms_entries;
    }
    return rc;
}

/* After the retention: January's draw and assignments are gone, February's
 * stay, and the one observation 0 fulfilled no longer names it. */
static void programme_check(struct fx *f, const struct programme *pg)
{
    struct programme_left pl;
    struct store *s = testutil_store_open(f->data, 0);

    memset(&pl, 0, sizeof(pl));
    pl.pg = pg;
    assert_int_equal(store_view(s, programme_left_txn, &pl), 0);
    assert_int_equal(pl.n, 2);
    assert_true(pl.feb_done);
    assert_int_equal(pl.draws, 1);
    store_close(s);
    coachqd(f, 0, "verify");
    contains(f->out, "assignment index differences: 0");
}

static void test_retention_delete(void **state)
{
    struct fx *f = *state;
    Coachq__V1__StoredObservation *rec = NULL;
    char id0[UUID_STR_LEN], id3[UUID_STR_LEN], id1[UUID_STR_LEN], id2[UUID_STR_LEN];
    char *before, *after, *verify_before;
    struct programme pg;
    struct store *s;

    make_history(f);
    make_programme(f, &pg);
    uuid_format(f->ids[0], id0);
    uuid_format(f->ids[1], id1);
    uuid_format(f->ids[2], id2);
    uuid_format(f->ids[3], id3);

    coachqd(f, 0, "verify");
    verify_before = strdup(f->out);
    assert_non_null(verify_before);
    before = dump_all(f);
    coachqd(f, 0, "retention", "--older-than", "1m", "--delete", "--as-of", ASOF, "--dry-run",
            "--list");
    contains(f->out, "before 2026-02-28");
    contains(f->out, id0);
    contains(f->out, id3);
    contains(f->out, "2025-Q2  1 observation, 2 versions");
    contains(f->out, "2026-Q1  1 observation, 1 version");
    contains(f->out, "total: 2 observations, 3 versions");
    contains(f->out, "dry run: nothing was changed");
    assert_null(strstr(f->out, id1));
    assert_null(strstr(f->out, id2));
    after = dump_all(f);
    assert_string_equal(before, after);
    free(after);
    coachqd(f, 0, "verify");
    assert_string_equal(verify_before, f->out);
    free(verify_before);

    coachqd(f, 0, "retention", "--older-than", "1m", "--delete", "--as-of", ASOF, "--list");
    contains(f->out, "total: 2 observations, 3 versions");
    contains(f->out, "3 audit entries keep who did what");
    contains(f->out, "programme: 2 assignments and 2 draws before the cut-off, 1 later assignment "
                     "unlinked");
    s = testutil_store_open(f->data, 0);
    /* Exactly the listed ones are gone, every version. */
    assert_int_equal(store_get(s, f->ids[0], &rec), -ENOENT);
    assert_int_equal(store_get(s, f->ids[3], &rec), -ENOENT);
    assert_int_equal(store_get(s, f->ids[4], &rec), -ENOENT);
    assert_int_equal(store_get(s, f->ids[1], &rec), 0);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    assert_int_equal(store_get(s, f->ids[2], &rec), 0);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    store_close(s);
    after = dump_all(f);
    assert_null(strstr(after, "Older: gone"));
    assert_null(strstr(after, "old evidence"));
    assert_non_null(strstr(after, "Boundary: kept"));
    free(after);
    coachqd(f, 0, "verify");
    contains(f->out, "differences: 0");
    coachqd(f, 0, "audit");
    contains(f->out, "retention.delete");
    contains(f->out, "observations=2; versions=3");
    contains(f->out, "assignments=2; unlinked=1; draws=2");
    contains(f->out, "removed by the retention policy");
    assert_null(strstr(f->out, "cannot be read"));
    programme_check(f, &pg);
    /* Again: nothing left to do. */
    coachqd(f, 0, "retention", "--older-than", "1m", "--delete", "--as-of", ASOF);
    contains(f->out, "total: 0 observations, 0 versions");
    free(before);
}

static void test_retention_anonymise(void **state)
{
    struct fx *f = *state;
    Coachq__V1__StoredObservation *rec = NULL;
    char *after;
    struct programme pg;
    struct store *s;
    uint64_t org;

    make_history(f);
    make_programme(f, &pg);
    s = testutil_store_open(f->data, 0);
    org = 0;
    {
        struct org_count c = {0};

        /* Every week from 2025 on: the retention's sessions included. */
        assert_int_equal(store_view(s, org_count_txn, &c), 0);
        org = c.observations;
    }
    store_close(s);
    coachqd(f, 0, "retention", "--older-than", "1m", "--anonymise", "--as-of", ASOF);
    contains(f->out, "total: 2 observations, 3 versions; 0 already anonymised");
    s = testutil_store_open(f->data, 0);
    assert_int_equal(store_get(s, f->ids[4], &rec), 0);
    assert_true(strncmp(rec->observation->coach_id, "anon-", 5) == 0);
    assert_true(strncmp(rec->observation->coachee_id, "anon-", 5) == 0);
    assert_string_equal(rec->observation->actions[0]->owner_id, rec->observation->coachee_id);
    assert_string_equal(rec->observation->notes, "");
    assert_string_equal(rec->observation->actions[0]->text, "");
    assert_int_equal(rec->observation->n_ratings, 10);
    assert_string_equal(rec->observer_id, "obs.1");
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    /* The record no longer names the assignment it fulfilled. */
    assert_int_equal(store_get(s, f->ids[0], &rec), 0);
    assert_int_equal(rec->observation->assignment_id.len, 0);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    {
        struct org_count c = {0};

        assert_int_equal(store_view(s, org_count_txn, &c), 0);
        assert_int_equal(c.observations, org);
    }
    store_close(s);
    after = dump_all(f);
    assert_null(strstr(after, "Older: gone"));
    assert_null(strstr(after, "old evidence"));
    free(after);
    coachqd(f, 0, "verify");
    contains(f->out, "differences: 0");
    programme_check(f, &pg);
    coachqd(f, 0, "retention", "--older-than", "1m", "--anonymise", "--as-of", ASOF);
    contains(f->out, "total: 0 observations, 0 versions; 2 already anonymised");
}

/* Submits a session reviewed from a recording (its id in f->ids[f->nids++]):
 * the call reference and the manager's comments tie it to the real call. */
static void submit_recorded(struct fx *f, struct store *s, int64_t received_ms, const char *coach,
                            const char *coachee, int64_t at, const char *reference,
                            const char *comments)
{
    struct testutil_obs o;
    Coachq__V1__Recording rec = COACHQ__V1__RECORDING__INIT;

    testutil_obs_make(&o, coach, coachee, at);
    rec.reference = (char *)reference;
    rec.length_ms = 600000;
    rec.manager_comments = (char *)comments;
    rec.picked_at = at + 3600;
    rec.rep_commented_at = at + 7200;
    rec.manager_commented_at = at + 10800;
    o.o.recording = &rec;
    o.o.notes = (char *)"";
    assert_int_equal(testutil_store_submit(s, &o.o, "obs.1", received_ms), 0);
    assert_true(f->nids < 8);
    memcpy(f->ids[f->nids++], o.id, 16);
}

/* A recorded review's manager comments and call reference are free text of
 * the person's: erasure and anonymisation remove both (a reference, which a
 * recording needs, becomes a placeholder), and the store still verifies. */
static void test_erase_recording(void **state)
{
    struct fx *f = *state;
    const int64_t now = ((int64_t)DAY_2026_03_31 * 86400 + 12 * 3600) * 1000;
    Coachq__V1__StoredObservation *rec = NULL;
    struct store *s = open_enforced(f->data);
    char *after;

    assert_int_equal(store_exec(s, org_txn, NULL), 0);
    /* 0: zelda.q coached, recently: erasure blanks it. */
    submit_recorded(f, s, now, "zelda.q", "rep.1", (int64_t)(DAY_2026_03_31 - 3) * 86400,
                    "https://calls.example.com/c/ZQ-7781", "Zelda rushed pricing on CRM-7781");
    /* 1: flm.b coached, in 2025: anonymisation blanks it. */
    submit_recorded(f, s, now, "flm.b", "rep.2", (int64_t)20254 * 86400, "CRM-BB-5531",
                    "Bo handled the objection well");
    store_close(s);

    coachqd(f, 0, "erase", "zelda.q");
    coachqd(f, 0, "retention", "--older-than", "1m", "--anonymise", "--as-of", ASOF);
    contains(f->out, "total: 1 observation");
    s = testutil_store_open(f->data, 0);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(store_get(s, f->ids[i], &rec), 0);
        assert_non_null(rec->observation->recording);
        assert_string_equal(rec->observation->recording->reference, ERASE_REDACTED);
        assert_string_equal(rec->observation->recording->manager_comments, "");
        assert_int_equal(rec->observation->recording->length_ms, 600000);
        coachq__v1__stored_observation__free_unpacked(rec, NULL);
    }
    store_close(s);
    after = dump_all(f);
    assert_null(strstr(after, "ZQ-7781"));
    assert_null(strstr(after, "rushed pricing"));
    assert_null(strstr(after, "BB-5531"));
    assert_null(strstr(after, "objection well"));
    free(after);
    coachqd(f, 0, "verify");
    contains(f->out, "differences: 0");
}

static void test_retention_usage(void **state)
{
    struct fx *f = *state;

    make_history(f);
    coachqd(f, 2, "retention", "--delete");
    contains(f->err, "--older-than is required");
    coachqd(f, 2, "retention", "--older-than", "1m");
    contains(f->err, "--delete or --anonymise");
    coachqd(f, 2, "retention", "--older-than", "1m", "--delete", "--anonymise");
    {
        const char *bad[] = {"0m", "m", "12", "5x", "-3m", "1.5y", "99999999d", "9000y"};

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            coachqd(f, 2, "retention", "--older-than", bad[i], "--delete");
            contains(f->err, "--older-than");
        }
    }
    coachqd(f, 2, "retention", "--older-than", "1m", "--delete", "--as-of", "2026-02-30");
    coachqd(f, 0, "retention", "--help");
    contains(f->out, "--older-than");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redact_whole_words),
        cmocka_unit_test_setup_teardown(test_erase_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase_refuses_odd_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase_prefix_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase_while_serving, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_anonymise, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_usage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase_recording, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
