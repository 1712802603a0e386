/* Tests of admin/demo*.c (demo_run()): the demo organisation is seeded
 * through the real rules (nothing refused), has the promised shape (roles,
 * certified observers, transfers with effective dates, a programme with
 * cohorts), is the same for the same seed and different for another, and
 * is never seeded twice into one store. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "audit.h"
#include "certs.h"
#include "agg.h"
#include "auth.h"
#include "buf.h"
#include "dash.h"
#include "dashfmt.h"
#include "demo.h"
#include "obs.h"
#include "outcomes.h"
#include "people.h"
#include "rubric_json.h"
#include "rubrics.h"
#include "store.h"
#include "testutil.h"
#include "validate.h"

/* 2026-05-28 20:26:40 UTC: a fixed end of the demo's year. */
#define T_NOW 1780000000LL
#define T_SEED 42u
#define T_OTHER_SEED 4242u

/* ---- Helpers ----------------------------------------------------------- */

static struct store *open_store(const char *dir)
{
    struct store_opts opts;
    struct store *s = NULL;

    /* Default policy: the rules are enforced. */
    memset(&opts, 0, sizeof(opts));
    assert_int_equal(store_open(dir, &opts, &s), 0);
    assert_non_null(s);
    assert_int_equal(store_get_policy(s)->enforce, 1);
    return s;
}

/* Loads the built-in rubrics the way `coachqd init` does. */
static int load_rubrics_txn(struct store_txn *t, void *arg)
{
    size_t n = rubric_json_builtin_count();
    char err[256];
    int rc = 0;

    (void)arg;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *name = NULL;
        const char *text = rubric_json_builtin(i, &name);
        Coachq__V1__Rubric *r = NULL;

        if (text == NULL) {
            return -ENOENT;
        }
        rc = rubric_json_parse(text, strlen(text), &r, err, sizeof(err));
        if (rc == 0) {
            rc = rubrics_put(t, r, NULL);
        }
        coachq__v1__rubric__free_unpacked(r, NULL);
    }
    return rc;
}

static struct store *open_init(const char *dir)
{
    struct store *s = open_store(dir);

    assert_true(rubric_json_builtin_count() >= 2);
    assert_int_equal(store_exec(s, load_rubrics_txn, NULL), 0);
    return s;
}

static int run_demo(struct store *s, uint64_t seed, struct demo_summary *sum)
{
    struct demo_opts o;

    memset(&o, 0, sizeof(o));
    o.seed = seed;
    o.now = T_NOW;
    o.progress = stderr;
    return demo_run(s, &o, sum);
}

/* ---- People and roles --------------------------------------------------- */

#define T_MAX_PEOPLE 400

struct people_seen {
    unsigned total, observers, flms, slms, leads, admins, reps;
    unsigned slm_observers; /* second-level managers who also observe (not in observers) */
    char observer_ids[16][65];
    unsigned n_observer_ids;
    char flm_ids[64][65];
    unsigned n_flm_ids;
    char rep_ids[T_MAX_PEOPLE][65];
    unsigned n_rep_ids;
    char slm_ids[8][65];
    unsigned n_slm_ids;
};

static int people_seen_cb(const Coachq__V1__Person *p, void *arg)
{
    struct people_seen *c = arg;

    c->total++;
    if (people_has_role(p, COACHQ__V1__ROLE__ROLE_OBSERVER) &&
        people_has_role(p, COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER)) {
        c->slm_observers++;
    } else if (people_has_role(p, COACHQ__V1__ROLE__ROLE_OBSERVER)) {
        c->observers++;
        if (c->n_observer_ids < 16) {
            snprintf(c->observer_ids[c->n_observer_ids++], 65, "%s", p->id);
        }
    }
    if (people_has_role(p, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER)) {
        c->flms++;
        if (c->n_flm_ids < 64) {
            snprintf(c->flm_ids[c->n_flm_ids++], 65, "%s", p->id);
        }
    }
    if (people_has_role(p, COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER)) {
        c->slms++;
        if (c->n_slm_ids < 8) {
            snprintf(c->slm_ids[c->n_slm_ids++], 65, "%s", p->id);
        }
    }
    if (people_has_role(p, COACHQ__V1__ROLE__ROLE_ENABLEMENT_LEAD)) {
        c->leads++;
    }
    if (people_has_role(p, COACHQ__V1__ROLE__ROLE_ADMINISTRATOR)) {
        c->admins++;
    }
    if (p->n_roles == 0) {
        c->reps++;
        if (c->n_rep_ids < T_MAX_PEOPLE) {
            snprintf(c->rep_ids[c->n_rep_ids++], 65, "%s", p->id);
        }
    }
    return 0;
}

static int people_seen_txn(struct store_txn *t, void *arg)
{
    return people_list(t, people_seen_cb, arg);
}

/* ---- Records ------------------------------------------------------------ */

/* One listing of a person's records: their count and the packed first and
 * last records. */
struct listing {
    size_t n;
    uint8_t *first;
    size_t first_len;
    uint8_t *last;
    size_t last_len;
};

static uint8_t *pack_rec(const Coachq__V1__StoredObservation *r, size_t *len)
{
    uint8_t *b;

    *len = coachq__v1__stored_observation__get_packed_size(r);
    b = malloc(*len > 0 ? *len : 1);
    assert_non_null(b);
    coachq__v1__stored_observation__pack(r, b);
    return b;
}

static void list_all(struct store *s, enum store_index by, const char *id, struct listing *l)
{
    struct store_query q;
    struct store_page page;

    memset(l, 0, sizeof(*l));
    memset(&q, 0, sizeof(q));
    q.by = by;
    q.person_id = id;
    q.since = INT64_MIN;
    q.until = INT64_MAX;
    q.limit = STORE_MAX_PAGE;
    for (;;) {
        memset(&page, 0, sizeof(page));
        assert_int_equal(store_list(s, &q, &page), 0);
        for (size_t i = 0; i < page.n; i++) {
            if (l->n == 0) {
                l->first = pack_rec(page.items[i], &l->first_len);
            }
            free(l->last);
            l->last = pack_rec(page.items[i], &l->last_len);
            l->n++;
        }
        if (page.cursor_len == 0) {
            store_page_free(&page);
            break;
        }
        /* The cursor lives in page: keep a copy for the next query. */
        {
            uint8_t *cur = malloc(sizeof(page.cursor));

            assert_non_null(cur);
            memcpy(cur, page.cursor, page.cursor_len);
            free((void *)q.cursor);
            q.cursor = cur;
            q.cursor_len = page.cursor_len;
        }
        store_page_free(&page);
    }
    free((void *)q.cursor);
}

static void listing_free(struct listing *l)
{
    free(l->first);
    free(l->last);
    memset(l, 0, sizeof(*l));
}

/* Every stored observation, counted over the coaches' listings
 * (calibration attempts are not listed under a coach). */
static size_t count_by_coaches(struct store *s, const struct people_seen *ps)
{
    size_t n = 0;

    for (unsigned i = 0; i < ps->n_flm_ids; i++) {
        struct listing l;

        list_all(s, STORE_BY_COACH, ps->flm_ids[i], &l);
        n += l.n;
        listing_free(&l);
    }
    /* Second-level managers coach their front-line managers. */
    for (unsigned i = 0; i < ps->n_slm_ids; i++) {
        struct listing l;

        list_all(s, STORE_BY_COACH, ps->slm_ids[i], &l);
        n += l.n;
        listing_free(&l);
    }
    return n;
}

/* ---- Certifications ------------------------------------------------------ */

struct certs_check {
    const struct people_seen *ps;
    const char *rubric;
    int32_t day;
    unsigned valid;
};

static int certs_check_txn(struct store_txn *t, void *arg)
{
    struct certs_check *c = arg;

    c->valid = 0;
    for (unsigned i = 0; i < c->ps->n_observer_ids; i++) {
        Coachq__V1__Certification *cert = NULL;
        int rc = certs_valid_on(t, c->ps->observer_ids[i], c->rubric, c->day, &cert, NULL);

        if (rc == 0) {
            c->valid++;
            assert_string_equal(cert->granted_by, "calibration");
            assert_true(cert->valid_from_day <= c->day && c->day <= cert->valid_until_day);
        } else if (rc != -ENOENT) {
            coachq__v1__certification__free_unpacked(cert, NULL);
            return rc;
        }
        coachq__v1__certification__free_unpacked(cert, NULL);
    }
    return 0;
}

/* ---- Lines ----------------------------------------------------------------- */

#define T_MAX_LINES 8

struct lines {
    char manager[T_MAX_LINES][65];
    int32_t day[T_MAX_LINES];
    unsigned n;
};

static int lines_cb(const Coachq__V1__ReportingLine *line, void *arg)
{
    struct lines *l = arg;

    if (l->n < T_MAX_LINES) {
        snprintf(l->manager[l->n], 65, "%s", line->manager_id);
        l->day[l->n] = line->effective_day;
    }
    l->n++;
    return 0;
}

/* The reps and managers whose line changed during the year. */
struct moves {
    const struct people_seen *ps;
    char rep[8][65];
    struct lines rep_lines[8];
    unsigned reps_moved;
    unsigned flms_moved;
    /* For the first mover: people_manager_at() the day before and on the
     * day of the move. */
    char before[65];
    char after[65];
    int rc_before;
    int rc_after;
};

static int moves_txn(struct store_txn *t, void *arg)
{
    struct moves *m = arg;
    int rc;

    m->reps_moved = 0;
    m->flms_moved = 0;
    for (unsigned i = 0; i < m->ps->n_rep_ids; i++) {
        struct lines l;

        memset(&l, 0, sizeof(l));
        rc = people_lines(t, m->ps->rep_ids[i], lines_cb, &l);
        if (rc != 0) {
            return rc;
        }
        if (l.n >= 2 && m->reps_moved < 8) {
            snprintf(m->rep[m->reps_moved], 65, "%s", m->ps->rep_ids[i]);
            m->rep_lines[m->reps_moved] = l;
        }
        m->reps_moved += l.n >= 2;
    }
    for (unsigned i = 0; i < m->ps->n_flm_ids; i++) {
        struct lines l;

        memset(&l, 0, sizeof(l));
        rc = people_lines(t, m->ps->flm_ids[i], lines_cb, &l);
        if (rc != 0) {
            return rc;
        }
        m->flms_moved += l.n >= 2;
    }
    if (m->reps_moved > 0) {
        int32_t move = m->rep_lines[0].day[1];

        m->rc_before = people_manager_at(t, m->rep[0], move - 1, m->before, sizeof(m->before));
        m->rc_after = people_manager_at(t, m->rep[0], move, m->after, sizeof(m->after));
    }
    return 0;
}

/* The manager a line list names on day. */
static const char *line_on(const struct lines *l, int32_t day)
{
    const char *m = NULL;

    for (unsigned i = 0; i < l->n && i < T_MAX_LINES; i++) {
        if (l->day[i] <= day) {
            m = l->manager[i];
        }
    }
    return m;
}

/* ---- Programme -------------------------------------------------------------- */

struct programme_seen {
    char cohorts[8][32];
    unsigned n_cohorts;
    unsigned enrolled;
    unsigned completed;
    unsigned with_attendance;
};

static int enrolment_cb(const Coachq__V1__Enrolment *e, void *arg)
{
    struct programme_seen *p = arg;
    unsigned i;

    p->enrolled++;
    p->completed += e->completed_day != 0;
    p->with_attendance += e->n_attended > 0;
    for (i = 0; i < p->n_cohorts; i++) {
        if (strcmp(p->cohorts[i], e->cohort_id) == 0) {
            break;
        }
    }
    if (i == p->n_cohorts && p->n_cohorts < 8) {
        snprintf(p->cohorts[p->n_cohorts++], 32, "%s", e->cohort_id);
    }
    return 0;
}

static int programme_txn(struct store_txn *t, void *arg)
{
    return people_enrolments(t, "coaching-skills", enrolment_cb, arg);
}

/* ---- Audit -------------------------------------------------------------------- */

struct audit_seen {
    unsigned demo_entries;
    unsigned submits;
    unsigned calibrates;
    int64_t last_at;
    int ordered;
};

static int audit_seen_cb(const Coachq__V1__AuditEntry *e, void *arg)
{
    struct audit_seen *a = arg;

    if (strcmp(e->actor, "local:demo") == 0) {
        a->demo_entries++;
        assert_string_equal(e->origin, "coachqd demo");
    }
    a->submits += strcmp(e->action, "submit") == 0;
    a->calibrates += strcmp(e->action, "calibrate") == 0;
    if (e->at_ms < a->last_at) {
        a->ordered = 0;
    }
    a->last_at = e->at_ms;
    return 0;
}

static int audit_txn(struct store_txn *t, void *arg)
{
    return audit_list(t, 0, audit_seen_cb, arg);
}

/* ---- Business results ------------------------------------------------------ */

#define T_MAX_FLMS 64

/* What the demo stored as outcomes, and a hash of all of it (in key order)
 * to compare runs. */
struct outcomes_seen {
    unsigned total, rep_figures, sessions, team;
    unsigned bad_range;
    uint64_t hash;
    /* sessions_held per manager over the year, in the order met */
    char flm[T_MAX_FLMS][65];
    double held[T_MAX_FLMS];
    unsigned n_flm;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++) {
        h = (h ^ b[i]) * 0x100000001b3ULL;
    }
    return h;
}

static int outcomes_seen_cb(const Coachq__V1__Outcome *o, void *arg)
{
    struct outcomes_seen *c = arg;
    double v = o->value;
    char line[256];
    int n;

    c->total++;
    n = snprintf(line, sizeof(line), "%s|%d|%s|%s|%.6f;", o->subject_id, o->team, o->period,
                 o->metric, v);
    c->hash = fnv(c->hash, line, (size_t)n);
    if (o->team) {
        c->team++;
        return 0;
    }
    if (strcmp(o->metric, "sessions_held") == 0) {
        unsigned k;

        c->sessions++;
        for (k = 0; k < c->n_flm && strcmp(c->flm[k], o->subject_id) != 0; k++) {
        }
        if (k == c->n_flm && c->n_flm < T_MAX_FLMS) {
            snprintf(c->flm[c->n_flm++], 65, "%s", o->subject_id);
        }
        if (k < T_MAX_FLMS) {
            c->held[k] += v;
        }
        return 0;
    }
    c->rep_figures++;
    if ((strcmp(o->metric, "win_rate") == 0 && (v < 0 || v > 1)) ||
        (strcmp(o->metric, "crm_completeness") == 0 && (v < 0 || v > 1)) ||
        (strcmp(o->metric, "quota_attainment") == 0 && (v < 0 || v > 1.6)) ||
        (strcmp(o->metric, "pipeline_coverage") == 0 && (v < 1 || v > 6))) {
        c->bad_range++;
    }
    return 0;
}

static int outcomes_seen_txn(struct store_txn *t, void *arg)
{
    struct outcomes_seen *c = arg;

    c->hash = 0xcbf29ce484222325ULL;
    return outcomes_list(t, NULL, 0, INT32_MAX, outcomes_seen_cb, c);
}

/* One manager's team win rate in a quarter (team figure), or NAN. */
struct team_rate {
    const char *flm;
    const char *period;
    double v;
};

static int team_rate_cb(const Coachq__V1__Outcome *o, void *arg)
{
    struct team_rate *r = arg;

    if (o->team && strcmp(o->period, r->period) == 0 && strcmp(o->metric, "win_rate") == 0) {
        r->v = o->value;
    }
    return 0;
}

static int team_rate_txn(struct store_txn *t, void *arg)
{
    struct team_rate *r = arg;

    r->v = NAN;
    return outcomes_list(t, r->flm, 0, INT32_MAX, team_rate_cb, r);
}

/* The mean score a coach's observations got in [since, until). */
static double mean_score(struct store *s, const char *coach, int64_t since, int64_t until)
{
    struct store_query q;
    struct store_page page;
    double sum = 0;
    unsigned n = 0;

    memset(&q, 0, sizeof(q));
    q.by = STORE_BY_COACH;
    q.person_id = coach;
    q.since = since;
    q.until = until;
    q.limit = STORE_MAX_PAGE;
    memset(&page, 0, sizeof(page));
    assert_int_equal(store_list(s, &q, &page), 0);
    for (size_t k = 0; k < page.n; k++) {
        const Coachq__V1__Observation *o = page.items[k]->observation;

        if (strcmp(o->rubric_id, "coaching-conversation") != 0) {
            continue;
        }
        for (size_t j = 0; j < o->n_ratings; j++) {
            if (!o->ratings[j]->not_applicable && o->ratings[j]->score > 0) {
                sum += o->ratings[j]->score;
                n++;
            }
        }
    }
    store_page_free(&page);
    return n > 0 ? sum / n : NAN;
}

/* r * |r| of x and y. */
static double correlation_sq(const double *x, const double *y, size_t n)
{
    double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;

    for (size_t i = 0; i < n; i++) {
        mx += x[i] / (double)n;
        my += y[i] / (double)n;
    }
    for (size_t i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    /* Signed r squared: no libm needed. */
    return (sxy < 0 ? -1.0 : 1.0) * sxy * sxy / (sxx * syy);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* The demo's outcomes: their shape, ranges, the busy managers' many logged
 * sessions, and team results that follow earlier coaching quality. */
static void check_outcomes(struct store *s, const struct demo_summary *sum,
                           const struct people_seen *ps)
{
    struct outcomes_seen *os = calloc(1, sizeof(*os));
    double held[T_MAX_FLMS], q[T_MAX_FLMS], w[T_MAX_FLMS];
    size_t n = 0;

    assert_non_null(os);
    assert_int_equal(store_view(s, outcomes_seen_txn, os), 0);
    assert_true(sum->outcomes > 0);
    assert_int_equal(os->total, sum->outcomes);
    /* Four figures per rep for each of 12 months; sessions held per
     * manager and month; team figures for whole quarters. */
    assert_int_equal(os->rep_figures, ps->reps * 12 * 4);
    assert_int_equal(os->sessions, ps->flms * 12);
    assert_int_equal(os->n_flm, ps->flms);
    assert_true(os->team > 0 && os->team % 2 == 0 && os->team <= ps->flms * 2 * 4);
    assert_int_equal(os->bad_range, 0);
    /* The three high-volume managers log well over twice the median. */
    memcpy(held, os->held, sizeof(double) * os->n_flm);
    qsort(held, os->n_flm, sizeof(double), cmp_double);
    assert_true(held[os->n_flm - 3] > 2 * held[os->n_flm / 2]);
    assert_true(held[os->n_flm - 4] < 2 * held[os->n_flm / 2]);

    /* Team win rates in 2026-Q1 follow the coaching quality observed one
     * to two quarters before (August to December 2025). */
    for (unsigned i = 0; i < ps->n_flm_ids && n < T_MAX_FLMS; i++) {
        struct team_rate tr = {ps->flm_ids[i], "2026-Q1", NAN};
        double m;

        assert_int_equal(store_view(s, team_rate_txn, &tr), 0);
        m = mean_score(s, ps->flm_ids[i], 1754006400LL /* 2025-08-01 */,
                       1767225600LL /* 2026-01-01 */);
        if (!isnan(tr.v) && !isnan(m)) {
            q[n] = m;
            w[n] = tr.v;
            n++;
        }
    }
    assert_true(n >= 20);
    assert_true(correlation_sq(q, w, n) > 0.4 * 0.4);
    free(os);
}

/* ---- Tests -------------------------------------------------------------------- */

/* The organisation's shape, certification, transfers, programme, audit,
 * and that a second run on the same store is refused. */
/* ---- Cadence ------------------------------------------------------------ */

static const Coachq__V1__Table *dash_table_of(const struct dash *d, const char *id)
{
    const Coachq__V1__Dashboard *m = dash_message(d);

    for (size_t i = 0; i < m->n_tables; i++) {
        if (strcmp(m->tables[i]->id, id) == 0) {
            return m->tables[i];
        }
    }
    fail_msg("no table %s", id);
    return NULL;
}

/* A demo My managers page as terminal tables at 80 and 200 columns: no
 * line wider than asked, nothing cut with "...", and every row's name
 * whole (coachq dashboard --width splits or pivots wide tables). */
static void check_text_fits(const struct dash *d)
{
    static const unsigned widths[] = {80, 200};
    const Coachq__V1__Dashboard *m = dash_message(d);

    for (size_t k = 0; k < sizeof(widths) / sizeof(widths[0]); k++) {
        struct buf b;
        char *s;

        buf_init(&b, 1u << 24);
        assert_int_equal(dashfmt_text(m, widths[k], &b), 0);
        s = strndup((const char *)b.data, b.len);
        assert_non_null(s);
        assert_null(strstr(s, "\xe2\x80\xa6"));
        for (const char *p = s; *p != '\0';) {
            const char *line = p;
            size_t w = 0;

            while (*p != '\0' && *p != '\n') {
                w += ((unsigned char)*p & 0xc0) != 0x80;
                p++;
            }
            if (w > widths[k]) {
                fail_msg("a line of %zu columns at width %u: %.*s", w, widths[k], (int)(p - line),
                         line);
            }
            p += *p == '\n';
        }
        for (size_t t = 0; t < m->n_tables; t++) {
            for (size_t r = 0; r < m->tables[t]->n_rows; r++) {
                const Coachq__V1__TableRow *row = m->tables[t]->rows[r];

                if (row->n_cells > 0 && row->cells[0]->text != NULL) {
                    assert_non_null(strstr(s, row->cells[0]->text));
                }
            }
        }
        free(s);
        buf_free(&b);
    }
}

/* The demo's sessions held make cadence real on My managers: across the
 * second-level managers' lines, some front-line managers meet the
 * commitment that holds for them and some do not, cadence differs from
 * manager to manager (weekly against monthly or less), and the busy
 * managers (many sessions, low quality) show as quantity without quality. */
static void check_cadence(struct store *s, const struct people_seen *ps)
{
    unsigned met = 0, not_met = 0, flagged = 0, rows = 0;
    double lo = INFINITY, hi = 0.0;

    assert_int_equal(ps->n_slm_ids, 4);
    for (unsigned i = 0; i < ps->n_slm_ids; i++) {
        struct testutil_dash_req q = {
            "lead",         AUTH_LEAD, COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_MANAGERS,
            ps->slm_ids[i], NULL,      0,
            NULL,           T_NOW};
        const Coachq__V1__Table *t, *qt;
        struct dash *d = NULL;

        assert_int_equal(testutil_dash_build(s, &q, &d, NULL), 0);
        t = dash_table_of(d, "cadence");
        for (size_t r = 0; r < t->n_rows; r++) {
            const Coachq__V1__TableRow *row = t->rows[r];
            const char *commit = NULL;

            /* The commitment's column, by its title. */
            for (size_t c = 0; c < t->n_columns && c < row->n_cells; c++) {
                if (strcmp(t->columns[c], "Commitment (input)") == 0) {
                    commit = row->cells[c]->text;
                }
            }
            const Coachq__V1__Cell *per = row->cells[3];

            rows++;
            assert_non_null(commit);
            met += strstr(commit, ": met") != NULL;
            not_met += strstr(commit, ": not met") != NULL;
            if (per->has_value) {
                lo = per->value < lo ? per->value : lo;
                hi = per->value > hi ? per->value : hi;
            }
        }
        qt = dash_table_of(d, "quantity-without-quality");
        for (size_t r = 0; r < qt->n_rows; r++) {
            flagged += strcmp(qt->rows[r]->cells[3]->text, "yes") == 0;
        }
        check_text_fits(d);
        dash_free(d);
    }
    assert_true(rows >= 20);
    assert_true(met >= 1);
    assert_true(not_met >= 1);
    assert_true(flagged >= 1);
    assert_true(hi >= 4.0);
    assert_true(lo <= 1.5);
}

/* Coaching the coaches: every second-level manager's page "Coaching my
 * managers" has real figures (their reviews of their managers and their
 * line's front-line coaching, over the minimum n), a second-level manager
 * who observes shows on their line's figures, and Programme impact puts
 * every second-level manager beside their line, with the question "does a
 * well-coached front-line manager coach better later?" answered with its
 * n and interval over enough managers. */
/* The demo's fulfilled assignments show in the assigned-only figures: the
 * organisation's assigned twin counts them, and Observer reliability
 * filtered to them has observers with observations and says it is
 * filtered. */
static int org_assigned_cb(int32_t monday, const Coachq__V1__AggWeek *w, void *arg)
{
    (void)monday;
    *(uint64_t *)arg += w->observations;
    return 0;
}

static int org_assigned_txn(struct store_txn *t, void *arg)
{
    return agg_read(t, AGG_ORG_ASG, AGG_ORG_ALL, "coaching-conversation", 0, 40000, org_assigned_cb,
                    arg);
}

/* Observer reliability filtered to assigned observations, as a lead. */
static int filtered_txn(struct store_txn *t, void *arg)
{
    struct dash **d = arg;
    struct auth_user u;
    Coachq__V1__GetDashboard req = COACHQ__V1__GET_DASHBOARD__INIT;
    struct validate_error fault;

    memset(&u, 0, sizeof(u));
    memset(&fault, 0, sizeof(fault));
    snprintf(u.id, sizeof(u.id), "%s", "lead");
    u.roles = AUTH_LEAD;
    req.kind = COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS;
    req.subject_id = (char *)"";
    req.rubric_id = (char *)"";
    req.assigned_only = 1;
    return dash_build(t, &u, &req, NULL, T_NOW, d, &fault);
}

static void check_assigned(struct store *s)
{
    uint64_t assigned = 0;
    double seen = 0;
    struct dash *d = NULL;
    const Coachq__V1__Table *t;

    assert_int_equal(store_view(s, org_assigned_txn, &assigned), 0);
    assert_true(assigned >= 1);
    assert_int_equal(store_view(s, filtered_txn, &d), 0);
    assert_non_null(d);
    assert_true(dash_message(d)->assigned_only);
    assert_non_null(strstr(dash_message(d)->title, "assigned observations only"));
    t = dash_table_of(d, "observers");
    for (size_t i = 0; i < t->n_rows; i++) {
        for (size_t j = 0; j < t->n_columns; j++) {
            if (strcmp(t->columns[j], "Observations") == 0 && t->rows[i]->cells[j]->has_value) {
                seen += t->rows[i]->cells[j]->value;
            }
        }
    }
    assert_true(seen >= 1);
    assert_true(seen <= (double)assigned);
    dash_free(d);
}

/* Calibration as the UI leaves it: one reference retired, some attempts
 * shown in full, and each observer with one sees its figures on My
 * reliability (and only those observers). */
static int retired_cb(const Coachq__V1__CalibrationReference *r, void *arg)
{
    *(unsigned *)arg += r->retired_at_ms != 0;
    return 0;
}

static int retired_txn(struct store_txn *t, void *arg)
{
    return certs_references(t, retired_cb, arg);
}

struct revealed_seen {
    const char *observer;
    unsigned n;
};

static int revealed_cb(const Coachq__V1__CalibrationResult *r, void *arg)
{
    ((struct revealed_seen *)arg)->n += r->revealed_at_ms != 0;
    return 0;
}

static int revealed_txn(struct store_txn *t, void *arg)
{
    struct revealed_seen *rs = arg;
    int rc = certs_results(t, rs->observer, revealed_cb, rs);

    return rc == -ENOENT ? 0 : rc;
}

static void check_calibration_ui(struct store *s, const struct people_seen *ps)
{
    unsigned retired = 0, with_figures = 0;

    assert_int_equal(store_view(s, retired_txn, &retired), 0);
    assert_int_equal(retired, 1);
    for (unsigned i = 0; i < ps->n_observer_ids; i++) {
        struct testutil_dash_req q = {ps->observer_ids[i],
                                      AUTH_OBSERVER,
                                      COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVER,
                                      NULL,
                                      NULL,
                                      0,
                                      NULL,
                                      T_NOW};
        struct revealed_seen rs = {ps->observer_ids[i], 0};
        struct dash *d = NULL;
        const Coachq__V1__Table *t;

        assert_int_equal(store_view(s, revealed_txn, &rs), 0);
        assert_int_equal(testutil_dash_build(s, &q, &d, NULL), 0);
        t = dash_table_of(d, "observer-calibration");
        assert_int_equal(t->n_rows > 0, rs.n > 0);
        if (t->n_rows > 0) {
            assert_string_equal(t->rows[0]->cells[1]->text, "1");
            assert_true(t->rows[0]->cells[3]->has_value);
            with_figures++;
        }
        dash_free(d);
    }
    assert_true(with_figures >= 1);
}

/* Two observers' coaching-the-coach certifications end soon (20 and 5
 * days after the demo's today): Observer reliability warns of both, the
 * nearer one as within a week, and of no other. */
static void check_expiry(struct store *s)
{
    struct dash *d = NULL;
    const Coachq__V1__Dashboard *m;
    unsigned month = 0, week = 0, other = 0;

    assert_int_equal(testutil_dash_as_lead(s, COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS,
                                           0, 0, T_NOW, &d),
                     0);
    m = dash_message(d);
    for (size_t i = 0; i < m->n_notes; i++) {
        const char *n = m->notes[i];

        if (strstr(n, "for rubric coaching-the-coach ends in ") == NULL) {
            other += strstr(n, " ends in ") != NULL;
        } else if (strncmp(n, "Certification ends within 30 days:", 34) == 0) {
            month++;
        } else if (strncmp(n, "Certification ends within a week:", 33) == 0) {
            week++;
        }
    }
    assert_int_equal(month, 1);
    assert_int_equal(week, 1);
    assert_int_equal(other, 0);
    /* The demo's observation programme: its plan's coverage. */
    assert_true(dash_table_of(d, "coverage-plans")->n_rows >= 1);
    dash_free(d);
}

/* My reliability: every observer of the demo opens their own page, with
 * their sessions week by week, calibration as pass or fail only. */
static void check_my_reliability(struct store *s, const struct people_seen *ps)
{
    unsigned with_sessions = 0;

    assert_true(ps->n_observer_ids >= 3);
    for (unsigned i = 0; i < ps->n_observer_ids; i++) {
        struct testutil_dash_req q = {ps->observer_ids[i],
                                      AUTH_OBSERVER,
                                      COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVER,
                                      NULL,
                                      NULL,
                                      0,
                                      NULL,
                                      T_NOW};
        struct dash *d = NULL;
        const Coachq__V1__Table *t;
        const Coachq__V1__TableRow *w;

        assert_int_equal(testutil_dash_build(s, &q, &d, NULL), 0);
        t = dash_table_of(d, "reliability");
        assert_int_equal(t->n_rows, 1);
        /* Calibration exact: never a figure for the observer. */
        assert_false(t->rows[0]->cells[3]->has_value);
        t = dash_table_of(d, "observer-weeks");
        w = t->rows[t->n_rows - 1];
        assert_string_equal(w->cells[0]->text, "Window");
        with_sessions += w->cells[1]->has_value && w->cells[1]->value > 0;
        dash_free(d);
    }
    assert_true(with_sessions >= 3);
}

/* Checks one stored version of a recorded call review: it passes the
 * observation rules, its stages run in order, the rep's comments sit inside
 * the recording and come with the rep's stage time. Counts it. */
static void check_recorded(const Coachq__V1__StoredObservation *rec, unsigned *n, unsigned *rep)
{
    const Coachq__V1__Observation *o = rec->observation;
    const Coachq__V1__Recording *r = o->recording;
    struct validate_error err;
    unsigned by_rep = 0;

    if (r == NULL) {
        return;
    }
    if (validate_observation(o, "observation", &err) != 0) {
        fail_msg("a demo recording is invalid: %s: %s", err.field, err.message);
    }
    assert_true(r->picked_at > 0 && r->picked_at < r->manager_commented_at);
    assert_true(r->manager_commented_at <= r->discussed_at);
    assert_int_equal(r->discussed_at, o->started_at);
    assert_true(r->manager_comments[0] != '\0');
    for (size_t i = 0; i < o->n_markers; i++) {
        if (o->markers[i]->author == COACHQ__V1__RECORDING_AUTHOR__RECORDING_AUTHOR_REP) {
            assert_true(o->markers[i]->offset_ms <= r->length_ms);
            by_rep++;
        }
    }
    assert_int_equal(by_rep > 0, r->rep_commented_at != 0);
    if (r->rep_commented_at != 0) {
        assert_true(r->picked_at <= r->rep_commented_at &&
                    r->rep_commented_at <= r->manager_commented_at);
    }
    (*n)++;
    *rep += r->rep_commented_at != 0;
}

/* Counts the references and those naming a valid recording. */
static int refs_cb(const Coachq__V1__CalibrationReference *r, void *arg)
{
    unsigned *n = arg;
    struct validate_error err;

    n[0]++;
    if (r->recording != NULL && validate_recording(r->recording, 0, "recording", &err) == 0) {
        n[1]++;
    }
    return 0;
}

static int refs_txn(struct store_txn *t, void *arg)
{
    return certs_references(t, refs_cb, arg);
}

/* Recorded call reviews: some, the rep commenting first in most but not
 * all, each one valid (check_recorded()); every calibration reference
 * names the recording the masters scored. */
static void check_recordings(struct store *s, const struct people_seen *ps,
                             const struct demo_summary *sum)
{
    unsigned n = 0, rep = 0;
    unsigned refs[2] = {0, 0};

    assert_int_equal(store_view(s, refs_txn, refs), 0);
    assert_true(refs[0] > 0);
    assert_int_equal(refs[1], refs[0]);
    assert_true(sum->recordings >= 20);
    assert_true(sum->recordings_rep_first > 0 && sum->recordings_rep_first < sum->recordings);
    for (unsigned i = 0; i < ps->n_flm_ids; i++) {
        struct store_query q;
        struct store_page page;

        memset(&q, 0, sizeof(q));
        q.by = STORE_BY_COACH;
        q.person_id = ps->flm_ids[i];
        q.since = INT64_MIN;
        q.until = INT64_MAX;
        q.limit = STORE_MAX_PAGE;
        for (;;) {
            memset(&page, 0, sizeof(page));
            assert_int_equal(store_list(s, &q, &page), 0);
            for (size_t k = 0; k < page.n; k++) {
                check_recorded(page.items[k], &n, &rep);
            }
            if (page.cursor_len == 0) {
                store_page_free(&page);
                break;
            }
            {
                uint8_t *cur = malloc(sizeof(page.cursor));

                assert_non_null(cur);
                memcpy(cur, page.cursor, page.cursor_len);
                free((void *)q.cursor);
                q.cursor = cur;
                q.cursor_len = page.cursor_len;
            }
            store_page_free(&page);
        }
        free((void *)q.cursor);
    }
    /* Double-coded sessions are reviewed twice: at least as many stored. */
    assert_true(n >= sum->recordings);
    assert_true(rep >= sum->recordings_rep_first && rep < n);
}

static void check_ctc(struct store *s, const struct people_seen *ps, const struct demo_summary *sum)
{
    struct dash *d = NULL;
    const Coachq__V1__Table *t;
    unsigned pages_with_figures = 0;

    assert_true(sum->ctc_reviews >= 50);
    assert_true(sum->slm_observed >= 10);
    for (unsigned i = 0; i < ps->n_slm_ids; i++) {
        struct testutil_dash_req q = {ps->slm_ids[i],
                                      AUTH_SECOND_LEVEL,
                                      COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_COACHING_MANAGERS,
                                      NULL,
                                      NULL,
                                      0,
                                      NULL,
                                      T_NOW};
        const Coachq__V1__TableRow *all;

        assert_int_equal(testutil_dash_build(s, &q, &d, NULL), 0);
        t = dash_table_of(d, "coaching-trend");
        all = t->rows[t->n_rows - 1];
        if (all->cells[1]->has_value && all->cells[2]->has_value) {
            assert_in_range(all->cells[1]->n, 3, 1000);
            assert_true(all->cells[1]->value >= 1.0 && all->cells[1]->value <= 4.0);
            pages_with_figures++;
        }
        t = dash_table_of(d, "coaching-managers");
        assert_true(t->n_rows >= 1);
        dash_table_of(d, "coaching-behaviours");
        dash_table_of(d, "coaching-later");
        dash_free(d);
    }
    assert_true(pages_with_figures >= 3);
    assert_int_equal(testutil_dash_as_lead(s, COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME,
                                           0, 0, T_NOW, &d),
                     0);
    t = dash_table_of(d, "second-level-coaching");
    assert_int_equal(t->n_rows, 4);
    t = dash_table_of(d, "coaching-later");
    fprintf(stderr, "coaching-later: r %s [%s, %s] n %u, managers %s\n", t->rows[0]->cells[1]->text,
            t->rows[0]->cells[2]->text, t->rows[0]->cells[3]->text, t->rows[0]->cells[1]->n,
            t->rows[0]->cells[4]->text);
    assert_true(t->rows[0]->cells[1]->has_value);
    assert_true(t->rows[0]->cells[1]->n >= 20);
    dash_free(d);
}

static void test_demo_organisation(void **state)
{
    char dir[512];
    struct store *s;
    struct demo_summary sum;
    struct people_seen *ps;
    struct certs_check cc;
    struct moves *mv;
    struct programme_seen prog;
    struct audit_seen au;
    int32_t today = store_day_of(T_NOW);

    (void)state;
    ps = calloc(1, sizeof(*ps));
    mv = calloc(1, sizeof(*mv));
    assert_non_null(ps);
    assert_non_null(mv);
    testutil_tmpdir(dir, sizeof(dir));
    s = open_init(dir);

    assert_int_equal(run_demo(s, T_SEED, &sum), 0);
    assert_int_equal(sum.refused, 0);
    /* The dashboards' aggregates agree with the records, also where an
     * enrolment came in after the sessions it now covers. */
    {
        struct agg_verify_result vr;

        assert_int_equal(agg_verify(s, 0, NULL, NULL, &vr), 0);
        assert_true(vr.counted > 1000);
        assert_int_equal(vr.differences, 0);
    }
    assert_int_equal(sum.people, 185);
    assert_int_equal(sum.leads, 1);
    assert_int_equal(sum.observers, 6);
    assert_int_equal(sum.second_level, 4);
    assert_int_equal(sum.front_line, 24);
    assert_int_equal(sum.reps, 150);
    assert_int_equal(sum.cohorts, 3);
    /* 3-4.5 sessions a month for 21 managers, 6-7.5 for the three busy
     * ones, some double-coded: about 1,300. */
    assert_in_range(sum.observations, 1000, 1700);
    /* Two references per rubric, two rubrics, six observers, at least one
     * round. */
    assert_true(sum.calibrations >= 6 * 2 * 2);
    assert_int_equal(sum.calibrations % (6 * 2 * 2), 0);

    /* Roles, as stored. */
    assert_int_equal(store_view(s, people_seen_txn, ps), 0);
    assert_int_equal(ps->total, sum.people);
    assert_int_equal(ps->observers, 6);
    assert_int_equal(ps->slm_observers, 2);
    assert_int_equal(ps->flms, 24);
    assert_int_equal(ps->slms, 4);
    assert_true(ps->leads >= 1);
    assert_true(ps->admins >= 1);
    assert_int_equal(ps->reps, 150);

    /* Every observer holds a certification by calibration valid now, for
     * both rubrics. */
    cc.ps = ps;
    cc.day = today;
    cc.rubric = "coaching-conversation";
    assert_int_equal(store_view(s, certs_check_txn, &cc), 0);
    assert_int_equal(cc.valid, 6);
    cc.rubric = "call-review";
    assert_int_equal(store_view(s, certs_check_txn, &cc), 0);
    assert_int_equal(cc.valid, 6);
    /* ... and a year ago, when the observations start. */
    cc.rubric = "coaching-conversation";
    cc.day = today - 365;
    assert_int_equal(store_view(s, certs_check_txn, &cc), 0);
    assert_int_equal(cc.valid, 6);

    /* Every stored observation is listed under its coach, and the count is
     * what the demo reported. */
    assert_int_equal(count_by_coaches(s, ps), sum.observations);

    /* Two or three reps moved team; one front-line manager moved. */
    mv->ps = ps;
    assert_int_equal(store_view(s, moves_txn, mv), 0);
    assert_in_range(mv->reps_moved, 2, 3);
    assert_int_equal(mv->flms_moved, 1);
    assert_int_equal(mv->rc_before, 0);
    assert_int_equal(mv->rc_after, 0);
    assert_string_equal(mv->before, mv->rep_lines[0].manager[0]);
    assert_string_equal(mv->after, mv->rep_lines[0].manager[1]);
    assert_string_not_equal(mv->before, mv->after);
    assert_true(mv->rep_lines[0].day[1] > today - 365 && mv->rep_lines[0].day[1] <= today);
    /* Each mover's observations belong to the line of their session
     * date: older ones to the old manager, newer to the new. */
    for (unsigned i = 0; i < mv->reps_moved && i < 8; i++) {
        struct store_query q;
        struct store_page page;

        memset(&q, 0, sizeof(q));
        q.by = STORE_BY_COACHEE;
        q.person_id = mv->rep[i];
        q.since = INT64_MIN;
        q.until = INT64_MAX;
        q.limit = STORE_MAX_PAGE;
        memset(&page, 0, sizeof(page));
        assert_int_equal(store_list(s, &q, &page), 0);
        for (size_t k = 0; k < page.n; k++) {
            const Coachq__V1__Observation *o = page.items[k]->observation;
            const char *m = line_on(&mv->rep_lines[i], store_day_of(o->started_at));

            assert_non_null(m);
            assert_string_equal(o->coach_id, m);
        }
        store_page_free(&page);
    }

    /* The programme: three cohorts, most managers enrolled, some never. */
    memset(&prog, 0, sizeof(prog));
    assert_int_equal(store_view(s, programme_txn, &prog), 0);
    assert_int_equal(prog.n_cohorts, 3);
    assert_in_range(prog.enrolled, 15, 23);
    assert_true(prog.completed >= 10 && prog.completed <= prog.enrolled);
    assert_int_equal(prog.with_attendance, prog.enrolled);

    /* The audit log: the demo's own entries, and the writer's for every
     * record, in time order. */
    memset(&au, 0, sizeof(au));
    au.ordered = 1;
    assert_int_equal(store_view(s, audit_txn, &au), 0);
    assert_true(au.demo_entries >= sum.people);
    assert_int_equal(au.submits, sum.observations);
    assert_int_equal(au.calibrates, sum.calibrations);
    assert_true(au.ordered);

    check_outcomes(s, &sum, ps);
    check_ctc(s, ps, &sum);
    check_my_reliability(s, ps);
    check_expiry(s);
    check_calibration_ui(s, ps);
    check_assigned(s);
    check_recordings(s, ps, &sum);
    assert_in_range(sum.held, 2000, 20000);
    check_cadence(s, ps);

    /* A second demo into the same store is refused, and changes nothing. */
    assert_int_equal(run_demo(s, T_SEED, &sum), -EEXIST);
    memset(ps, 0, sizeof(*ps));
    assert_int_equal(store_view(s, people_seen_txn, ps), 0);
    assert_int_equal(ps->total, 185);
    assert_int_equal(count_by_coaches(s, ps), au.submits);

    store_close(s);
    testutil_rmrf(dir);
    free(mv);
    free(ps);
}

/* The same seed gives the same records; another seed does not. */
static void test_demo_deterministic(void **state)
{
    const char *coach = "flm.garcia";
    char dir[3][512];
    struct demo_summary sum[3];
    struct listing l[3];
    struct outcomes_seen *os[3];

    (void)state;
    for (int i = 0; i < 3; i++) {
        struct store *s;

        testutil_tmpdir(dir[i], sizeof(dir[i]));
        s = open_init(dir[i]);
        assert_int_equal(run_demo(s, i < 2 ? T_SEED : T_OTHER_SEED, &sum[i]), 0);
        list_all(s, STORE_BY_COACH, coach, &l[i]);
        os[i] = calloc(1, sizeof(*os[i]));
        assert_non_null(os[i]);
        assert_int_equal(store_view(s, outcomes_seen_txn, os[i]), 0);
        store_close(s);
        testutil_rmrf(dir[i]);
    }
    assert_int_equal(sum[0].observations, sum[1].observations);
    assert_int_equal(sum[0].calibrations, sum[1].calibrations);
    assert_true(l[0].n > 3);
    assert_int_equal(l[0].n, l[1].n);
    assert_int_equal(l[0].first_len, l[1].first_len);
    assert_memory_equal(l[0].first, l[1].first, l[0].first_len);
    assert_int_equal(l[0].last_len, l[1].last_len);
    assert_memory_equal(l[0].last, l[1].last, l[0].last_len);

    /* Another seed: other sessions (at the least other record ids). */
    assert_true(l[2].n > 0);
    assert_true(l[2].first_len != l[0].first_len ||
                memcmp(l[2].first, l[0].first, l[0].first_len) != 0);
    assert_true(l[2].n != l[0].n || sum[2].observations != sum[0].observations ||
                l[2].last_len != l[0].last_len || memcmp(l[2].last, l[0].last, l[0].last_len) != 0);
    /* The business results too: the same for the same seed, not for
     * another. */
    assert_int_equal(sum[0].outcomes, sum[1].outcomes);
    assert_int_equal(sum[0].held, sum[1].held);
    assert_true(sum[2].held > 0);
    assert_int_equal(os[0]->total, os[1]->total);
    assert_true(os[0]->hash == os[1]->hash);
    assert_true(os[2]->total > 0);
    assert_true(os[2]->hash != os[0]->hash);
    for (int i = 0; i < 3; i++) {
        listing_free(&l[i]);
        free(os[i]);
    }
}

/* Without the rubrics (no `coachqd init`) the demo refuses and writes
 * nothing. */
static void test_demo_needs_rubrics(void **state)
{
    char dir[512];
    struct store *s;
    struct demo_summary sum;
    struct people_seen *ps;

    (void)state;
    ps = calloc(1, sizeof(*ps));
    assert_non_null(ps);
    testutil_tmpdir(dir, sizeof(dir));
    s = open_store(dir);
    assert_int_equal(run_demo(s, T_SEED, &sum), -ENOENT);
    assert_int_equal(sum.people, 0);
    assert_int_equal(sum.observations, 0);
    assert_int_equal(store_view(s, people_seen_txn, ps), 0);
    assert_int_equal(ps->total, 0);
    store_close(s);
    testutil_rmrf(dir);
    free(ps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_needs_rubrics),
        cmocka_unit_test(test_demo_organisation),
        cmocka_unit_test(test_demo_deterministic),
    };

    testutil_watchdog(280);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
