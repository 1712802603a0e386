/* Tests of the organisation's time zone (issue 16, section 5): common/tz.c's
 * names and files under attack, store/zone.c's session dates in three
 * zones (Australia/Sydney, America/Los_Angeles, Europe/Berlin) around
 * midnight and across daylight-saving changes, the reporting line and the
 * certification judged on the local date, the viewer's "today", a
 * person's override, and `coachqd org` / `coachqd user zone` (real
 * coachqd, real LMDB, the system's tzdata): a change moves the weeks,
 * rebuilds the aggregates, is audited, and verify agrees afterwards. The
 * organisation is testutil_seed_org()'s (fixtures/org.csv). */
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
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agg.h"
#include "auth.h"
#include "cadence.h"
#include "dash.h"
#include "dash_builder.h"
#include "day.h"
#include "error.h"
#include "store.h"
#include "testutil.h"
#include "tz.h"
#include "validate.h"
#include "zone.h"

#define RUBRIC "coaching-conversation"

struct fixture {
    char dir[512];
    struct store *s;
};

/* Seconds of a UTC date and time. */
static int64_t utc(int y, unsigned m, unsigned d, int hh, int mm)
{
    return day_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60;
}

static int32_t monday_of(int y, unsigned m, unsigned d)
{
    return agg_week_of((int32_t)day_from_civil(y, m, d));
}

static void open_store(struct fixture *f)
{
    assert_int_equal(store_open(f->dir, NULL, &f->s), 0);
}

static void close_store(struct fixture *f)
{
    if (f->s != NULL) {
        store_drain(f->s);
        (void)store_completed_take(f->s);
        store_close(f->s);
        f->s = NULL;
    }
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        return -1;
    }
    testutil_watchdog(240);
    testutil_tmpdir(f->dir, sizeof(f->dir));
    testutil_seed_org(f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    close_store(f);
    testutil_rmrf(f->dir);
    free(f);
    return 0;
}

/* Runs a coachqd verb on the fixture's data (the store closed meanwhile,
 * as an operator's second process would find it). */
static void verb(struct fixture *f, int expect, const char *a1, const char *a2, const char *a3,
                 const char *a4)
{
    char out[4096];
    int reopen = f->s != NULL;

    close_store(f);
    if (a4 != NULL) {
        testutil_coachqd(out, sizeof(out), expect, a1, a2, a3, a4, "--data", f->dir, NULL);
    } else {
        testutil_coachqd(out, sizeof(out), expect, a1, a2, a3, "--data", f->dir, NULL);
    }
    if (reopen) {
        open_store(f);
    }
}

static void set_org_zone(struct fixture *f, const char *zone)
{
    verb(f, 0, "org", "--time-zone", zone, NULL);
}

/* Submits a session of coach and coachee at t scored by observer; returns
 * the writer's rc, with the refusal in *fault (may be NULL). */
static int session(struct fixture *f, const char *observer, const char *coach, const char *coachee,
                   int64_t t)
{
    struct testutil_obs o;
    int rc;

    testutil_obs_make(&o, coach, coachee, t);
    rc = testutil_store_submit(f->s, &o.o, observer, testutil_now_ms());
    return rc;
}

struct count_args {
    enum agg_scope kind;
    const char *scope;
    int32_t monday;
    uint64_t n;
};

static int count_cb(int32_t monday, const Coachq__V1__AggWeek *w, void *arg)
{
    struct count_args *c = arg;

    if (monday == c->monday) {
        c->n += w->observations;
    }
    return 0;
}

static int count_txn(struct store_txn *t, void *arg)
{
    struct count_args *c = arg;

    return agg_read(t, c->kind, c->scope, RUBRIC, c->monday, c->monday, count_cb, c);
}

/* Observations the aggregates hold for (kind, scope) in the week of
 * monday: what every dashboard's week buckets are read from. */
static uint64_t week_count(struct fixture *f, enum agg_scope kind, const char *scope,
                           int32_t monday)
{
    struct count_args c = {kind, scope, monday, 0};

    assert_int_equal(store_view(f->s, count_txn, &c), 0);
    return c.n;
}

static void assert_verify_clean(struct fixture *f)
{
    struct agg_verify_result r;
    struct cadence_verify_result c;

    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
    /* A zone moves the coaching days' counts too (cadence.h): a change of
     * a person's or the organisation's zone that did not count them again
     * leaves a difference here. */
    assert_int_equal(cadence_verify(f->s, 0, &c), 0);
    assert_int_equal(c.differences, 0);
}

/* ---- Names and files under attack ---------------------------------------- */

static void test_names_refused(void **state)
{
    static const char *const bad[] = {
        "..",
        "../etc/passwd",
        "Europe/../../etc/passwd",
        "/etc/passwd",
        "/usr/share/zoneinfo/Europe/Berlin",
        "Europe//Berlin",
        "Europe/Berlin/",
        "./Europe/Berlin",
        "Europe/.Berlin",
        "zone.tab",
        "Europe/Berlin ",
        "Europe\\Berlin",
        "localtime",
        "posixrules",
        "right/Europe/Berlin",
        "",
    };
    char why[TZ_WHY_LEN];
    char longname[TZ_NAME_MAX + 8];
    const char nul[] = "Europe/Berlin\0/../../etc/passwd";

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        assert_int_equal(tz_name_check(bad[i], strlen(bad[i]), why, sizeof(why)), -EINVAL);
        assert_true(why[0] != '\0');
    }
    /* A NUL inside the bytes given is refused, not cut at. */
    assert_int_equal(tz_name_check(nul, sizeof(nul) - 1, why, sizeof(why)), -EINVAL);
    memset(longname, 'A', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(tz_name_check(longname, strlen(longname), why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "longer than"));
    assert_int_equal(tz_name_check("America/Argentina/ComodRivadavia", 32, why, sizeof(why)), 0);
    assert_int_equal(tz_name_check("Etc/GMT+5", 9, why, sizeof(why)), 0);
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(p, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

/* A zoneinfo tree of our own: a good zone, a text file, a truncated zone,
 * a link out of the tree, a directory, a FIFO and a huge file. */
static void test_files_refused(void **state)
{
    char root[512], outside[600], path[700];
    struct tz_cache *c;
    const struct tz_zone *z = NULL;
    const struct tz_zone *sys = NULL;
    struct tz_cache *sc;
    char why[TZ_WHY_LEN];
    char *berlin = NULL;
    size_t blen = 0;
    FILE *fp;
    char *big;

    (void)state;
    testutil_tmpdir(root, sizeof(root));
    snprintf(outside, sizeof(outside), "%s.outside", root);
    write_file(outside, "TZif2 secrets", 13);
    /* The real Europe/Berlin, copied. */
    fp = fopen(TZ_ROOT "/Europe/Berlin", "rb");
    assert_non_null(fp);
    berlin = malloc(65536);
    assert_non_null(berlin);
    blen = fread(berlin, 1, 65536, fp);
    fclose(fp);
    assert_true(blen > 44);
    snprintf(path, sizeof(path), "%s/Good", root);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/Good/Zone", root);
    write_file(path, berlin, blen);
    snprintf(path, sizeof(path), "%s/Text", root);
    write_file(path, "Europe/Berlin\n", 14);
    snprintf(path, sizeof(path), "%s/Short", root);
    write_file(path, berlin, blen / 2);
    snprintf(path, sizeof(path), "%s/Link", root);
    assert_int_equal(symlink(outside, path), 0);
    snprintf(path, sizeof(path), "%s/Fifo", root);
    assert_int_equal(mkfifo(path, 0600), 0);
    big = calloc(1, TZ_FILE_MAX + 2);
    assert_non_null(big);
    memcpy(big, berlin, blen);
    snprintf(path, sizeof(path), "%s/Big", root);
    write_file(path, big, TZ_FILE_MAX + 1);
    free(big);

    c = tz_cache_new(root);
    assert_non_null(c);
    assert_int_equal(tz_cache_get(c, "Good/Zone", &z, why, sizeof(why)), 0);
    sc = tz_cache_new(NULL);
    assert_non_null(sc);
    assert_int_equal(tz_cache_get(sc, "Europe/Berlin", &sys, why, sizeof(why)), 0);
    for (int64_t t = utc(1970, 1, 1, 0, 0); t < utc(2100, 1, 1, 0, 0); t += 86400 * 37 + 3607) {
        assert_int_equal(tz_offset_at(z, t), tz_offset_at(sys, t));
    }
    /* Found again, the same zone. */
    assert_int_equal(tz_cache_get(sc, "Europe/Berlin", &z, why, sizeof(why)), 0);
    assert_ptr_equal(z, sys);

    assert_int_equal(tz_cache_get(c, "Text", &z, why, sizeof(why)), -EBADMSG);
    assert_non_null(strstr(why, "'Text' is not a zone file"));
    assert_int_equal(tz_cache_get(c, "Short", &z, why, sizeof(why)), -EBADMSG);
    assert_int_equal(tz_cache_get(c, "Link", &z, why, sizeof(why)), -ENOENT);
    assert_non_null(strstr(why, "leads outside"));
    assert_int_equal(tz_cache_get(c, "Good", &z, why, sizeof(why)), -ENOENT);
    assert_int_equal(tz_cache_get(c, "Fifo", &z, why, sizeof(why)), -ENOENT);
    assert_int_equal(tz_cache_get(c, "Big", &z, why, sizeof(why)), -EFBIG);
    assert_int_equal(tz_cache_get(c, "Nowhere/Zone", &z, why, sizeof(why)), -ENOENT);
    assert_non_null(strstr(why, "unknown time zone 'Nowhere/Zone'"));
    assert_int_equal(tz_cache_get(c, "../x", &z, why, sizeof(why)), -EINVAL);
    assert_null(z);
    /* Built in, whatever the root holds. */
    assert_int_equal(tz_cache_get(c, "UTC", &z, why, sizeof(why)), 0);
    assert_true(tz_is_utc(z));

    tz_cache_free(sc);
    tz_cache_free(c);
    free(berlin);
    unlink(outside);
    testutil_rmrf(root);
}

/* The zone files the system has: offsets the issue names. */
static void test_known_offsets(void **state)
{
    struct tz_cache *c = tz_cache_new(NULL);
    const struct tz_zone *z;
    char why[TZ_WHY_LEN];

    (void)state;
    assert_non_null(c);
    assert_int_equal(tz_cache_get(c, "Australia/Lord_Howe", &z, why, sizeof(why)), 0);
    /* 30-minute daylight saving: +10:30 in winter, +11 in summer. */
    assert_int_equal(tz_offset_at(z, utc(2026, 7, 1, 0, 0)), 37800);
    assert_int_equal(tz_offset_at(z, utc(2027, 1, 1, 0, 0)), 39600);
    assert_int_equal(tz_offset_at(z, utc(2090, 1, 1, 0, 0)), 39600);
    assert_int_equal(tz_cache_get(c, "Asia/Kathmandu", &z, why, sizeof(why)), 0);
    assert_int_equal(tz_offset_at(z, utc(2026, 7, 1, 0, 0)), 20700);
    assert_int_equal(tz_cache_get(c, "America/St_Johns", &z, why, sizeof(why)), 0);
    assert_int_equal(tz_offset_at(z, utc(2026, 1, 15, 0, 0)), -12600);
    assert_int_equal(tz_offset_at(z, utc(2026, 7, 15, 0, 0)), -9000);
    /* Europe/Berlin's spring forward: 01:59:59 CET, then 03:00 CEST. */
    assert_int_equal(tz_cache_get(c, "Europe/Berlin", &z, why, sizeof(why)), 0);
    assert_int_equal(tz_offset_at(z, utc(2025, 3, 30, 1, 0) - 1), 3600);
    assert_int_equal(tz_offset_at(z, utc(2025, 3, 30, 1, 0)), 7200);
    /* A day starts at local midnight. */
    assert_int_equal(tz_day_start(z, day_from_civil(2025, 3, 31)), utc(2025, 3, 30, 22, 0));
    tz_cache_free(c);
}

/* ---- Session dates ------------------------------------------------------ */

/* A Monday 08:00 Sydney session is Sunday 22:00 UTC: it lands in the
 * Monday's ISO week in Sydney's zone. */
static void test_sydney_monday_morning(void **state)
{
    struct fixture *f = *state;
    int64_t t = utc(2025, 6, 1, 22, 0); /* Mon 2025-06-02 08:00 AEST */

    set_org_zone(f, "Australia/Sydney");
    open_store(f);
    assert_int_equal(session(f, "alice", "flm.cara", "rep.ida", t), 0);
    assert_int_equal(week_count(f, AGG_COACH, "flm.cara", monday_of(2025, 6, 2)), 1);
    assert_int_equal(week_count(f, AGG_COACH, "flm.cara", monday_of(2025, 5, 26)), 0);
    assert_int_equal(week_count(f, AGG_LINE, "slm.eve", monday_of(2025, 6, 2)), 1);
    assert_int_equal(week_count(f, AGG_OBSERVER, "alice", monday_of(2025, 6, 2)), 1);
    assert_verify_clean(f);
}

/* A Sunday 20:00 San Francisco session is Monday 03:00 UTC: it lands on
 * the Sunday, in the week that ends with it. */
static void test_la_sunday_evening(void **state)
{
    struct fixture *f = *state;
    int64_t t = utc(2025, 6, 2, 3, 0); /* Sun 2025-06-01 20:00 PDT */

    set_org_zone(f, "America/Los_Angeles");
    open_store(f);
    assert_int_equal(session(f, "alice", "flm.cara", "rep.ida", t), 0);
    assert_int_equal(week_count(f, AGG_COACH, "flm.cara", monday_of(2025, 5, 26)), 1);
    assert_int_equal(week_count(f, AGG_COACH, "flm.cara", monday_of(2025, 6, 2)), 0);
    assert_verify_clean(f);
}

/* Berlin's spring forward on Sunday 2025-03-30: 02:30 does not exist; a
 * client that reads "02:30" as +01:00 sends 01:30Z, which is 03:30 CEST,
 * still Sunday. 22:30Z that evening is Monday 00:30 CEST (not Sunday
 * 23:30, as CET would have it). */
static void test_berlin_spring_forward(void **state)
{
    struct fixture *f = *state;

    set_org_zone(f, "Europe/Berlin");
    open_store(f);
    assert_int_equal(session(f, "alice", "flm.cara", "rep.ida", utc(2025, 3, 30, 1, 30)), 0);
    assert_int_equal(session(f, "alice", "flm.cara", "rep.ida", utc(2025, 3, 29, 23, 30)), 0);
    assert_int_equal(session(f, "alice", "flm.cara", "rep.ida", utc(2025, 3, 30, 22, 30)), 0);
    assert_int_equal(session(f, "alice", "flm.cara", "rep.ida", utc(2025, 3, 30, 21, 30)), 0);
    /* 01:30Z (03:30 CEST), 23:30Z the day before (00:30 CET Sunday),
     * 21:30Z (23:30 CEST Sunday) */
    assert_int_equal(week_count(f, AGG_COACH, "flm.cara", monday_of(2025, 3, 24)), 3);
    assert_int_equal(week_count(f, AGG_COACH, "flm.cara", monday_of(2025, 3, 31)), 1);
    assert_verify_clean(f);
}

/* Sydney's autumn fall-back (Sunday 2025-04-06 03:00 AEDT -> 02:00 AEST)
 * and a session late on the Sunday. */
static void test_sydney_fall_back(void **state)
{
    struct fixture *f = *state;

    set_org_zone(f, "Australia/Sydney");
    open_store(f);
    /* 2025-04-05 15:30Z: 02:30 AEDT Sunday, the first of the two 02:30s. */
    assert_int_equal(session(f, "alice", "flm.cara", "rep.ida", utc(2025, 4, 5, 15, 30)), 0);
    /* 2025-04-05 16:30Z: 02:30 AEST Sunday, the second. */
    assert_int_equal(session(f, "alice", "flm.cara", "rep.ida", utc(2025, 4, 5, 16, 30)), 0);
    /* 2025-04-06 13:59Z: 23:59 AEST Sunday; 14:00Z is Monday. */
    assert_int_equal(session(f, "alice", "flm.cara", "rep.ida", utc(2025, 4, 6, 13, 59)), 0);
    assert_int_equal(session(f, "alice", "flm.cara", "rep.ida", utc(2025, 4, 6, 14, 0)), 0);
    assert_int_equal(week_count(f, AGG_COACH, "flm.cara", monday_of(2025, 3, 31)), 3);
    assert_int_equal(week_count(f, AGG_COACH, "flm.cara", monday_of(2025, 4, 7)), 1);
    assert_verify_clean(f);
}

/* Changing the zone moves stored sessions to their new weeks in the same
 * transaction, audited; verify agrees; and back again. */
static void test_change_moves_weeks(void **state)
{
    struct fixture *f = *state;
    int64_t t = utc(2025, 6, 1, 22, 0);
    char out[8192];

    open_store(f);
    assert_int_equal(session(f, "alice", "flm.cara", "rep.ida", t), 0);
    assert_int_equal(week_count(f, AGG_COACH, "flm.cara", monday_of(2025, 5, 26)), 1);
    set_org_zone(f, "Australia/Sydney");
    assert_int_equal(week_count(f, AGG_COACH, "flm.cara", monday_of(2025, 5, 26)), 0);
    assert_int_equal(week_count(f, AGG_COACH, "flm.cara", monday_of(2025, 6, 2)), 1);
    assert_int_equal(week_count(f, AGG_ORG, AGG_ORG_ALL, monday_of(2025, 6, 2)), 1);
    assert_verify_clean(f);
    set_org_zone(f, "UTC");
    assert_int_equal(week_count(f, AGG_COACH, "flm.cara", monday_of(2025, 5, 26)), 1);
    assert_int_equal(week_count(f, AGG_COACH, "flm.cara", monday_of(2025, 6, 2)), 0);
    assert_verify_clean(f);
    close_store(f);
    testutil_coachqd(out, sizeof(out), 0, "audit", "--data", f->dir, NULL);
    assert_non_null(
        strstr(out, "org.time_zone  organisation  time zone Australia/Sydney (was UTC)"));
    assert_non_null(
        strstr(out, "org.time_zone  organisation  time zone UTC (was Australia/Sydney)"));
    testutil_coachqd(out, sizeof(out), 0, "verify", "--data", f->dir, NULL);
    testutil_coachqd(out, sizeof(out), 0, "org", "--data", f->dir, NULL);
    assert_non_null(strstr(out, "time zone: UTC"));
}

/* The reporting line is the one that holds on the local session date:
 * rep.lou moves from flm.cara to flm.dan on Sunday 2025-06-01. At
 * 2025-05-31 22:30Z it is Saturday in UTC and Sunday in Sydney. */
static void test_reporting_line_local_date(void **state)
{
    struct fixture *f = *state;
    int64_t t = utc(2025, 5, 31, 22, 30);

    open_store(f);
    assert_int_equal(session(f, "alice", "flm.dan", "rep.lou", t), ERROR_REFUSED);
    assert_int_equal(session(f, "alice", "flm.cara", "rep.lou", t), 0);
    set_org_zone(f, "Australia/Sydney");
    assert_int_equal(session(f, "alice", "flm.dan", "rep.lou", t), 0);
    assert_int_equal(session(f, "alice", "flm.cara", "rep.lou", t + 60), ERROR_REFUSED);
    /* Both are in the week of Monday 2025-05-26, each in its coach's line
     * (a stored record is not judged again: the rules hold at submit). */
    assert_int_equal(week_count(f, AGG_LINE, "slm.fay", monday_of(2025, 5, 26)), 1);
    assert_int_equal(week_count(f, AGG_LINE, "slm.eve", monday_of(2025, 5, 26)), 1);
    assert_verify_clean(f);
}

/* The observer's certification is judged on the local session date. */
static void test_certification_local_date(void **state)
{
    struct fixture *f = *state;
    int64_t t = utc(2025, 6, 1, 22, 30); /* Sunday UTC, Monday 08:30 in Sydney */
    char out[4096];

    testutil_coachqd(out, sizeof(out), 0, "cert", "grant", "--data", f->dir, "obs.ben", RUBRIC,
                     "--from", "2025-06-02", "--days", "30", NULL);
    open_store(f);
    assert_int_equal(session(f, "obs.ben", "flm.cara", "rep.ida", t), ERROR_REFUSED);
    set_org_zone(f, "Australia/Sydney");
    assert_int_equal(session(f, "obs.ben", "flm.cara", "rep.ida", t), 0);
    assert_int_equal(week_count(f, AGG_OBSERVER, "obs.ben", monday_of(2025, 6, 2)), 1);
    assert_verify_clean(f);
}

/* A coach's own zone wins over the organisation's, for their sessions
 * only; clearing it gives them the organisation's again. */
static void test_person_override_wins(void **state)
{
    struct fixture *f = *state;
    int64_t t = utc(2025, 6, 1, 22, 0);
    char out[4096];

    verb(f, 0, "user", "zone", "flm.cara", "Australia/Sydney");
    open_store(f);
    assert_int_equal(session(f, "alice", "flm.cara", "rep.ida", t), 0);
    assert_int_equal(session(f, "alice", "flm.dan", "rep.jon", t), 0);
    assert_int_equal(week_count(f, AGG_COACH, "flm.cara", monday_of(2025, 6, 2)), 1);
    assert_int_equal(week_count(f, AGG_COACH, "flm.dan", monday_of(2025, 5, 26)), 1);
    set_org_zone(f, "America/Los_Angeles");
    assert_int_equal(week_count(f, AGG_COACH, "flm.cara", monday_of(2025, 6, 2)), 1);
    assert_int_equal(week_count(f, AGG_COACH, "flm.dan", monday_of(2025, 5, 26)), 1);
    verb(f, 0, "user", "zone", "flm.cara", "--clear");
    assert_int_equal(week_count(f, AGG_COACH, "flm.cara", monday_of(2025, 6, 2)), 0);
    assert_int_equal(week_count(f, AGG_COACH, "flm.cara", monday_of(2025, 5, 26)), 1);
    assert_verify_clean(f);
    close_store(f);
    testutil_coachqd(out, sizeof(out), 0, "audit", "--data", f->dir, NULL);
    assert_non_null(strstr(out, "user.time_zone  flm.cara  time zone Australia/Sydney (was the "
                                "organisation's)"));
    assert_non_null(strstr(out, "user.time_zone  flm.cara  time zone the organisation's (was "
                                "Australia/Sydney)"));
}

/* The people import's optional time_zone column: set, checked (shape in
 * the file stage, existence against tzdata in the store stage, with
 * FILE:LINE:COL), kept when the column is left out, cleared by an empty
 * cell; a change rebuilds the aggregates in the import's transaction. */
static void test_import_zone_column(void **state)
{
    struct fixture *f = *state;
    int64_t t = utc(2025, 6, 1, 22, 0);
    char csv[700], out[8192];
    const char *head = "id,name,email,role,manager_id,effective_date";
    const char *cara = "flm.cara,Cara Lind,cara@example.com,front_line_manager,slm.eve,2024-01-01";

    snprintf(csv, sizeof(csv), "%s/zones.csv", f->dir);
    open_store(f);
    assert_int_equal(session(f, "alice", "flm.cara", "rep.ida", t), 0);
    close_store(f);

    /* Hostile and unknown zones: refused at their cell, nothing changed. */
    snprintf(out, sizeof(out), "%s,time_zone\n%s,../../etc/passwd\n", head, cara);
    write_file(csv, out, strlen(out));
    testutil_coachqd(out, sizeof(out), 1, "import", "people", "--data", f->dir, csv, NULL);
    assert_non_null(strstr(out, "zones.csv:2:"));
    assert_non_null(strstr(out, "is not a time zone name"));
    snprintf(out, sizeof(out), "%s,time_zone\n%s,Mars/Olympus\n", head, cara);
    write_file(csv, out, strlen(out));
    testutil_coachqd(out, sizeof(out), 1, "import", "people", "--data", f->dir, csv, NULL);
    assert_non_null(strstr(out, "zones.csv:2:"));
    assert_non_null(strstr(out, "unknown time zone 'Mars/Olympus'"));
    /* Two rows of one person must agree on it. */
    snprintf(out, sizeof(out), "time_zone,%s\nAustralia/Sydney,%s\nEurope/Berlin,%s\n", head, cara,
             "flm.cara,Cara Lind,cara@example.com,front_line_manager,slm.fay,2025-01-01");
    write_file(csv, out, strlen(out));
    testutil_coachqd(out, sizeof(out), 1, "import", "people", "--data", f->dir, csv, NULL);
    assert_non_null(strstr(out, "zones.csv:3:1: time_zone 'Europe/Berlin' differs"));

    /* Set (the column may stand anywhere). */
    snprintf(out, sizeof(out), "time_zone,%s\nAustralia/Sydney,%s\n", head, cara);
    write_file(csv, out, strlen(out));
    testutil_coachqd(out, sizeof(out), 0, "import", "people", "--data", f->dir, csv, NULL);
    open_store(f);
    assert_int_equal(week_count(f, AGG_COACH, "flm.cara", monday_of(2025, 6, 2)), 1);
    assert_verify_clean(f);
    close_store(f);
    /* Left out: kept. */
    snprintf(out, sizeof(out), "%s\n%s\n", head, cara);
    write_file(csv, out, strlen(out));
    testutil_coachqd(out, sizeof(out), 0, "import", "people", "--data", f->dir, csv, NULL);
    testutil_coachqd(out, sizeof(out), 0, "user", "show", "--data", f->dir, "flm.cara", NULL);
    assert_non_null(strstr(out, "zone:     Australia/Sydney"));
    /* Empty: the organisation's again. */
    snprintf(out, sizeof(out), "%s,time_zone\n%s,\n", head, cara);
    write_file(csv, out, strlen(out));
    testutil_coachqd(out, sizeof(out), 0, "import", "people", "--data", f->dir, csv, NULL);
    testutil_coachqd(out, sizeof(out), 0, "audit", "--data", f->dir, NULL);
    assert_non_null(strstr(out, "time zones changed, aggregates rebuilt"));
    open_store(f);
    assert_int_equal(week_count(f, AGG_COACH, "flm.cara", monday_of(2025, 5, 26)), 1);
    assert_int_equal(week_count(f, AGG_COACH, "flm.cara", monday_of(2025, 6, 2)), 0);
    assert_verify_clean(f);
}

/* One observation as the client's JSON, of flm.cara and rep.ida at when. */
static void obs_json_file(const char *path, const char *when)
{
    char buf[2048];
    int n = snprintf(
        buf, sizeof(buf),
        "[{\"rubric\": \"coaching-conversation\", \"rubric_version\": 1, \"coach\": \"flm.cara\", "
        "\"coachee\": \"rep.ida\", \"session_type\": \"deal_review\", \"focus\": \"process\", "
        "\"started_at\": \"%s\", "
        "\"duration_min\": 30, \"ratings\": ["
        "{\"behaviour\": \"collaborative\", \"score\": 3},"
        "{\"behaviour\": \"regular-cadence\", \"score\": 2},"
        "{\"behaviour\": \"consistent-framework\", \"score\": 3},"
        "{\"behaviour\": \"buyers-view\", \"score\": 3},"
        "{\"behaviour\": \"looks-for-evidence\", \"score\": 3},"
        "{\"behaviour\": \"elicits-critical-thinking\", \"score\": 2},"
        "{\"behaviour\": \"praises-insight\", \"score\": 3},"
        "{\"behaviour\": \"objective-curious\", \"score\": 3},"
        "{\"behaviour\": \"doesnt-take-over\", \"score\": 2},"
        "{\"behaviour\": \"documents-actions\", \"score\": 2}]}]\n",
        when);

    assert_true(n > 0 && (size_t)n < sizeof(buf));
    write_file(path, buf, (size_t)n);
}

/* A running server picks the change up from its next transaction: a
 * session submitted over TLS after `coachqd org --time-zone` (run while
 * the server runs) is dated in the new zone, and verify agrees. */
static void test_running_server(void **state)
{
    struct testutil_org *o = *state;
    char server[64], cert[600], key[600], ca[600], file[700], out[8192];

    testutil_org_start(o, NULL);
    setenv("XDG_CONFIG_HOME", o->dir, 1);
    setenv("XDG_DATA_HOME", o->dir, 1);
    setenv("XDG_STATE_HOME", o->dir, 1);
    snprintf(server, sizeof(server), "127.0.0.1:%d", o->srv.port);
    testutil_cert_path(cert, sizeof(cert), "users/alice.crt");
    testutil_cert_path(key, sizeof(key), "users/alice.key");
    testutil_cert_path(ca, sizeof(ca), "ca.crt");
    snprintf(file, sizeof(file), "%s/one.json", o->dir);
    /* Sunday 22:00 UTC: Sunday under UTC. */
    obs_json_file(file, "2025-06-01T22:00:00Z");
    testutil_coachq(out, sizeof(out), 0, "submit", "--server", server, "--cert", cert, "--key", key,
                    "--ca", ca, file, NULL);
    testutil_coachqd(out, sizeof(out), 0, "org", "--time-zone", "Australia/Sydney", "--data",
                     o->data, NULL);
    /* Sunday 22:00 UTC a week later: Monday in Sydney, as the server now
     * dates it; the rebuild moved the first one to its Monday too. */
    obs_json_file(file, "2025-06-08T22:00:00Z");
    testutil_coachq(out, sizeof(out), 0, "submit", "--server", server, "--cert", cert, "--key", key,
                    "--ca", ca, file, NULL);
    testutil_coachqd(out, sizeof(out), 0, "verify", "--data", o->data, NULL);
    assert_non_null(strstr(out, "the aggregates match the records"));
    assert_non_null(strstr(out, "observations read: 2"));
}

/* "Today", and so the dashboard's last week, is the viewer's local date. */
static void test_dashboard_today(void **state)
{
    struct fixture *f = *state;
    int64_t now = utc(2025, 6, 1, 22, 0); /* Sunday UTC, Monday in Sydney */
    struct dash_opts o;
    struct testutil_dash_req q = {
        "lead.gil", AUTH_LEAD, COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME, NULL, NULL, 0,
        &o,         now};
    struct dash *d = NULL;

    dash_opts_default(&o);
    open_store(f);
    assert_int_equal(testutil_dash_build(f->s, &q, &d, NULL), 0);
    /* The last week shown ends on the Sunday of today's week. */
    assert_int_equal(dash_message(d)->until_day, day_from_civil(2025, 6, 1));
    dash_free(d);
    d = NULL;
    verb(f, 0, "user", "zone", "lead.gil", "Australia/Sydney");
    assert_int_equal(testutil_dash_build(f->s, &q, &d, NULL), 0);
    assert_int_equal(dash_message(d)->until_day, day_from_civil(2025, 6, 8));
    dash_free(d);
}

/* The verbs refuse hostile and unknown zones with a message naming them,
 * and change nothing. */
static void test_verbs_refuse(void **state)
{
    struct fixture *f = *state;
    char out[4096];
    const char *longname =
        "Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/B";

    testutil_coachqd(out, sizeof(out), 2, "org", "--data", f->dir, "--time-zone",
                     "../../../../etc/passwd", NULL);
    assert_non_null(strstr(out, "'../../../../etc/passwd' is not a time zone name"));
    testutil_coachqd(out, sizeof(out), 2, "org", "--data", f->dir, "--time-zone", "/etc/passwd",
                     NULL);
    testutil_coachqd(out, sizeof(out), 2, "org", "--data", f->dir, "--time-zone", longname, NULL);
    assert_non_null(strstr(out, "longer than"));
    testutil_coachqd(out, sizeof(out), 2, "org", "--data", f->dir, "--time-zone", "localtime",
                     NULL);
    testutil_coachqd(out, sizeof(out), 1, "org", "--data", f->dir, "--time-zone", "Mars/Olympus",
                     NULL);
    assert_non_null(strstr(out, "unknown time zone 'Mars/Olympus'"));
    /* A text file in the real zoneinfo tree. */
    testutil_coachqd(out, sizeof(out), 1, "org", "--data", f->dir, "--time-zone", "leapseconds",
                     NULL);
    assert_non_null(strstr(out, "'leapseconds' is not a zone file"));
    testutil_coachqd(out, sizeof(out), 1, "org", "--data", f->dir, "--time-zone", "America", NULL);
    testutil_coachqd(out, sizeof(out), 2, "user", "zone", "--data", f->dir, "flm.cara", "../UTC",
                     NULL);
    testutil_coachqd(out, sizeof(out), 1, "user", "zone", "--data", f->dir, "flm.cara",
                     "Europe/Atlantis", NULL);
    testutil_coachqd(out, sizeof(out), 1, "user", "zone", "--data", f->dir, "nobody.here",
                     "Europe/Berlin", NULL);
    testutil_coachqd(out, sizeof(out), 2, "user", "zone", "--data", f->dir, "flm.cara", NULL);
    testutil_coachqd(out, sizeof(out), 2, "user", "zone", "--data", f->dir, "flm.cara",
                     "Europe/Berlin", "--clear", NULL);
    testutil_coachqd(out, sizeof(out), 0, "org", "--data", f->dir, NULL);
    assert_non_null(strstr(out, "time zone: UTC"));
    assert_null(strstr(out, "people in another zone"));
    testutil_coachqd(out, sizeof(out), 0, "audit", "--data", f->dir, NULL);
    assert_null(strstr(out, "time_zone"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_refused),
        cmocka_unit_test(test_files_refused),
        cmocka_unit_test(test_known_offsets),
        cmocka_unit_test_setup_teardown(test_sydney_monday_morning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_la_sunday_evening, setup, teardown),
        cmocka_unit_test_setup_teardown(test_berlin_spring_forward, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sydney_fall_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_moves_weeks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reporting_line_local_date, setup, teardown),
        cmocka_unit_test_setup_teardown(test_certification_local_date, setup, teardown),
        cmocka_unit_test_setup_teardown(test_person_override_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_zone_column, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dashboard_today, setup, teardown),
        cmocka_unit_test_setup_teardown(test_running_server, testutil_org_setup,
                                        testutil_org_teardown),
        cmocka_unit_test_setup_teardown(test_verbs_refuse, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
