/*
 * stats_ref_dump: the statistics coachq computes, for cases read from
 * standard input, printed for tests/stats_reference.py to compare against
 * SciPy, scikit-learn and statsmodels.
 *
 * One case per line, a keyword and numbers separated by spaces; one line
 * of output per case: the results as %.17g ("nan" where the product has no
 * figure), or "err" when the function refused the input. Keywords:
 *
 *   tq P DF                    stats_t_quantile(P, DF)
 *   tc LEVEL DF                stats_t_crit(LEVEL, DF)
 *   ib A B X                   stats_ibeta(A, B, X)
 *   agree LO HI N a1 b1 ...    stats_agreement(): exact within_one kappa kappa_defined
 *   table K c11 c12 ...        stats_agreement_table(): the same four
 *   mean N SUM SUMSQ           stats_summary() and stats_mean_ci():
 *                              mean var sd (then est se df lo hi, or err)
 *   did n m sd (x4)            stats_did(): est se df lo hi pooled_sd effect effect_defined
 *   didc LEVEL G then G x (n1 n2 n3 n4 s1 s2 s3 s4)
 *                              stats_did_cluster_*() (totals summed here):
 *                              est se df lo hi groups
 *   corr N x1 y1 ...           stats_corr(): r ci_defined lo hi, then the
 *                              same from stats_corr_sums()
 *
 * A block "store UNTIL_DAY MANAGERS OBSERVERS" ... "end" builds a store
 * (people, training, observations; see store_block()) in a temporary
 * directory and prints the Programme impact and Observer reliability
 * dashboards, then Manager detail of each manager, as JSON, each as a line
 * "json LENGTH" and LENGTH bytes (then a newline); a block that fails
 * prints "err CODE".
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"
#include "buf.h"
#include "dash.h"
#include "dashfmt.h"
#include "people.h"
#include "stats.h"
#include "store.h"
#include "testutil.h"

#define REF_MAX_TOKENS 200000
#define REF_NB 10
#define REF_MAX_MANAGERS 200
#define REF_MAX_OBSERVERS 20

static double tok[REF_MAX_TOKENS];

/* Splits line after its keyword into numbers; returns how many. */
static size_t numbers(char *p)
{
    size_t n = 0;

    for (;;) {
        char *end;
        double v;

        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '\0' || *p == '\n') {
            return n;
        }
        v = strtod(p, &end);
        if (end == p || n == REF_MAX_TOKENS) {
            return n;
        }
        tok[n++] = v;
        p = end;
    }
}

static void put(double v)
{
    if (isnan(v)) {
        fputs(" nan", stdout);
    } else {
        printf(" %.17g", v);
    }
}

static void case_agree(size_t n)
{
    static int a[REF_MAX_TOKENS / 2];
    static int b[REF_MAX_TOKENS / 2];
    struct stats_agreement s;
    size_t pairs = (size_t)tok[2];

    if (n != 3 + 2 * pairs) {
        fputs(" err", stdout);
        return;
    }
    for (size_t i = 0; i < pairs; i++) {
        a[i] = (int)tok[3 + 2 * i];
        b[i] = (int)tok[4 + 2 * i];
    }
    if (stats_agreement(a, b, pairs, (int)tok[0], (int)tok[1], &s) != 0) {
        fputs(" err", stdout);
        return;
    }
    put(s.exact);
    put(s.within_one);
    put(s.kappa);
    put(s.kappa_defined);
}

static void case_table(size_t n)
{
    struct stats_agreement s;
    int k = n >= 1 ? (int)tok[0] : 0;

    if (n < 1 || (size_t)(k * k) + 1 > n || stats_agreement_table(&tok[1], k, &s) != 0) {
        fputs(" err", stdout);
        return;
    }
    put(s.exact);
    put(s.within_one);
    put(s.kappa);
    put(s.kappa_defined);
}

static void case_mean(void)
{
    struct stats_summary s;
    struct stats_ci c;

    if (stats_summary((uint64_t)tok[0], tok[1], tok[2], &s) != 0) {
        fputs(" err", stdout);
        return;
    }
    put(s.mean);
    put(s.var_defined ? s.var : NAN);
    put(s.var_defined ? s.sd : NAN);
    if (stats_mean_ci((uint64_t)tok[0], tok[1], tok[2], &c) != 0) {
        fputs(" err", stdout);
        return;
    }
    put(c.est);
    put(c.se);
    put(c.df);
    put(c.lo);
    put(c.hi);
}

static void case_did(void)
{
    struct stats_cell cells[4];
    struct stats_did d;

    for (int i = 0; i < 4; i++) {
        cells[i].n = tok[3 * i];
        cells[i].mean = tok[3 * i + 1];
        cells[i].sd = tok[3 * i + 2];
    }
    if (stats_did(cells, &d) != 0) {
        fputs(" err", stdout);
        return;
    }
    put(d.did.est);
    put(d.did.se);
    put(d.did.df);
    put(d.did.lo);
    put(d.did.hi);
    put(d.pooled_sd);
    put(d.effect_defined ? d.effect : NAN);
    put(d.effect_defined);
}

static void case_didc(size_t n)
{
    struct stats_did_cluster a;
    struct stats_ci c;
    double tn[4] = {0, 0, 0, 0};
    double ts[4] = {0, 0, 0, 0};
    size_t g = n >= 2 ? (size_t)tok[1] : 0;

    if (n < 2 + 8 * g) {
        fputs(" err", stdout);
        return;
    }
    for (size_t i = 0; i < g; i++) {
        for (int k = 0; k < 4; k++) {
            tn[k] += tok[2 + 8 * i + (size_t)k];
            ts[k] += tok[2 + 8 * i + 4 + (size_t)k];
        }
    }
    if (stats_did_cluster_init(&a, tn, ts) != 0) {
        fputs(" err", stdout);
        return;
    }
    for (size_t i = 0; i < g; i++) {
        if (stats_did_cluster_add(&a, &tok[2 + 8 * i], &tok[2 + 8 * i + 4]) != 0) {
            fputs(" err", stdout);
            return;
        }
    }
    if (stats_did_cluster_finish(&a, tok[0], &c) != 0) {
        fputs(" err", stdout);
        return;
    }
    put(c.est);
    put(c.se);
    put(c.df);
    put(c.lo);
    put(c.hi);
    put(a.groups);
}

static void corr_out(int rc, const struct stats_corr *c)
{
    if (rc != 0) {
        fputs(" err", stdout);
        return;
    }
    put(c->r);
    put(c->ci_defined);
    put(c->ci_defined ? c->lo : NAN);
    put(c->ci_defined ? c->hi : NAN);
}

static void case_corr(size_t n)
{
    static double x[REF_MAX_TOKENS / 2];
    static double y[REF_MAX_TOKENS / 2];
    size_t pairs = n >= 1 ? (size_t)tok[0] : 0;
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    struct stats_corr c;

    if (n != 1 + 2 * pairs) {
        fputs(" err", stdout);
        return;
    }
    for (size_t i = 0; i < pairs; i++) {
        x[i] = tok[1 + 2 * i];
        y[i] = tok[2 + 2 * i];
        sx += x[i];
        sy += y[i];
        sxx += x[i] * x[i];
        syy += y[i] * y[i];
        sxy += x[i] * y[i];
    }
    corr_out(stats_corr(x, y, pairs, &c), &c);
    corr_out(stats_corr_sums((uint64_t)pairs, sx, sy, sxx, syy, sxy, &c), &c);
}

/* ---- A store, and two dashboards over it -------------------------------- */

struct ref_org {
    int managers;
    int observers;
    int32_t completed[REF_MAX_MANAGERS]; /* 0: never trained */
};

static int org_cb(struct store_txn *t, void *arg)
{
    const struct ref_org *org = arg;
    Coachq__V1__Programme prog = COACHQ__V1__PROGRAMME__INIT;
    char id[32];
    int rc = 0;

    for (int i = 0; i < org->managers && rc == 0; i++) {
        snprintf(id, sizeof(id), "flm.%d", i);
        rc = testutil_put_person(t, id, NULL, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, NULL);
    }
    for (int i = 0; i < org->observers && rc == 0; i++) {
        snprintf(id, sizeof(id), "obs.%d", i);
        rc = testutil_put_person(t, id, NULL, COACHQ__V1__ROLE__ROLE_OBSERVER, NULL);
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "lead.a", NULL, COACHQ__V1__ROLE__ROLE_ENABLEMENT_LEAD, NULL);
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "rep.1", NULL, 0, NULL);
    }
    if (rc == 0) {
        rc = testutil_put_rubric(t, "", 1);
    }
    for (int i = 0; i < org->observers && rc == 0; i++) {
        snprintf(id, sizeof(id), "obs.%d", i);
        rc = testutil_put_cert(t, id, 10000, 40000, "admin");
    }
    prog.id = (char *)"p1";
    prog.name = (char *)"Programme";
    if (rc == 0) {
        rc = people_programme_put(t, &prog, NULL);
    }
    for (int i = 0; i < org->managers && rc == 0; i++) {
        Coachq__V1__Enrolment e = COACHQ__V1__ENROLMENT__INIT;

        if (org->completed[i] == 0) {
            continue;
        }
        snprintf(id, sizeof(id), "flm.%d", i);
        e.programme_id = (char *)"p1";
        e.cohort_id = (char *)"c1";
        e.cohort_start_day = org->completed[i] - 14;
        e.person_id = id;
        e.completed_day = org->completed[i];
        rc = people_enrolment_put(t, &e, NULL);
    }
    return rc;
}

/* "o OBSERVER MANAGER DAY HOUR s1 .. s10" (0: not applicable). */
static int observe(struct store *s, size_t n)
{
    struct testutil_obs o;
    char observer[32];
    char coach[32];

    if (n != 4 + REF_NB) {
        return -EINVAL;
    }
    snprintf(observer, sizeof(observer), "obs.%d", (int)tok[0]);
    snprintf(coach, sizeof(coach), "flm.%d", (int)tok[1]);
    testutil_obs_make(&o, coach, "rep.1", (int64_t)tok[2] * 86400 + (int64_t)tok[3] * 3600);
    /* The coaching mix follows the hour (stats_reference.py does the
     * same): focus 1 + hour % 3, session type 1 + (hour / 3) % 6. */
    o.o.focus = (Coachq__V1__CoachingFocus)(1 + (int)tok[3] % 3);
    o.o.session_type = (Coachq__V1__SessionType)(1 + ((int)tok[3] / 3) % 6);
    for (size_t i = 0; i < REF_NB; i++) {
        o.r[i].score = (uint32_t)tok[4 + i];
        o.r[i].not_applicable = tok[4 + i] == 0;
    }
    return testutil_store_submit(s, &o.o, observer, ((int64_t)tok[2] + 1) * 86400 * 1000);
}

/* Prints the dashboard kind (about subject: NULL for none) as the lead
 * sees it, as "json SIZE" and the JSON. */
static int print_dash_of(struct store *s, int kind, const char *subject, int32_t until_day)
{
    struct dash *d = NULL;
    struct buf out;
    struct testutil_dash_req q = {"lead.a", AUTH_LEAD, kind, subject,
                                  NULL,     until_day, NULL, (int64_t)until_day * 86400 + 43200};
    int rc;

    buf_init(&out, 64u * 1024 * 1024);
    rc = testutil_dash_build(s, &q, &d, NULL);
    if (rc == 0) {
        rc = dashfmt_json(dash_message(d), &out);
    }
    if (rc == 0) {
        printf("json %zu\n", out.len);
        fwrite(out.data, 1, out.len, stdout);
        fputc('\n', stdout);
    }
    buf_free(&out);
    dash_free(d);
    return rc;
}

static int print_dash(struct store *s, int kind, int32_t until_day)
{
    return print_dash_of(s, kind, NULL, until_day);
}

/*
 * The block after "store UNTIL_DAY MANAGERS OBSERVERS":
 *   t MANAGER DAY    the manager completed training on DAY
 *   o ...            an observation (see observe())
 *   end
 */
static int store_block(size_t n, char *line, size_t cap)
{
    struct ref_org org;
    struct testutil_store_fx *f;
    int32_t until_day;
    int org_done = 0;
    int rc = 0;

    memset(&org, 0, sizeof(org));
    if (n != 3 || tok[1] < 1 || tok[1] > REF_MAX_MANAGERS || tok[2] < 1 ||
        tok[2] > REF_MAX_OBSERVERS) {
        return -EINVAL;
    }
    until_day = (int32_t)tok[0];
    org.managers = (int)tok[1];
    org.observers = (int)tok[2];
    f = testutil_store_fx_new(NULL, NULL);
    /* The training days come first: the cohort aggregates follow the
     * enrolments as observations are written. */
    while (fgets(line, (int)cap, stdin) != NULL) {
        size_t k = numbers(line + 1);

        if (line[0] == 't' && k == 2 && tok[0] >= 0 && tok[0] < org.managers) {
            org.completed[(int)tok[0]] = (int32_t)tok[1];
            continue;
        }
        if (!org_done) {
            rc = store_exec(f->s, org_cb, &org);
            org_done = 1;
        }
        if (line[0] != 'o') {
            break; /* "end" */
        }
        if (rc == 0) {
            rc = observe(f->s, k);
        }
    }
    if (rc == 0) {
        rc = print_dash(f->s, COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME, until_day);
    }
    if (rc == 0) {
        rc = print_dash(f->s, COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS, until_day);
    }
    /* Manager detail of every manager: the coaching mix and quality by
     * focus. */
    for (int i = 0; i < org.managers && rc == 0; i++) {
        char id[32];

        snprintf(id, sizeof(id), "flm.%d", i);
        rc = print_dash_of(f->s, COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MANAGER, id, until_day);
    }
    testutil_store_fx_free(f);
    return rc;
}

int main(void)
{
    static char line[4 * 1024 * 1024];

    while (fgets(line, sizeof(line), stdin) != NULL) {
        char *sp = strchr(line, ' ');
        size_t n;

        if (sp == NULL) {
            continue;
        }
        *sp = '\0';
        n = numbers(sp + 1);
        if (strcmp(line, "store") == 0) {
            int rc = store_block(n, line, sizeof(line));

            if (rc != 0) {
                printf("err %d\n", rc);
            }
            fflush(stdout);
            continue;
        }
        fputs(line, stdout);
        if (strcmp(line, "tq") == 0 && n == 2) {
            put(stats_t_quantile(tok[0], tok[1]));
        } else if (strcmp(line, "tc") == 0 && n == 2) {
            put(stats_t_crit(tok[0], tok[1]));
        } else if (strcmp(line, "ib") == 0 && n == 3) {
            put(stats_ibeta(tok[0], tok[1], tok[2]));
        } else if (strcmp(line, "agree") == 0 && n >= 3) {
            case_agree(n);
        } else if (strcmp(line, "table") == 0) {
            case_table(n);
        } else if (strcmp(line, "mean") == 0 && n == 3) {
            case_mean();
        } else if (strcmp(line, "did") == 0 && n == 12) {
            case_did();
        } else if (strcmp(line, "didc") == 0) {
            case_didc(n);
        } else if (strcmp(line, "corr") == 0) {
            case_corr(n);
        } else {
            fputs(" err", stdout);
        }
        fputc('\n', stdout);
    }
    return 0;
}
