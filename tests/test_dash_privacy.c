/*
 * The privacy minimum against an attacker with a calculator (issue 11).
 *
 * For each role, a viewer fetches every dashboard it may open (every kind,
 * every subject, several `until` days) as JSON, collects every figure with
 * its n, and tries to solve for the scores of people it may not see one by
 * one: each figure on its own, and for every pair of figures the
 * subtraction (n1 x1 - n2 x2) / (n1 - n2). The test fails if any result is
 * the exact mean (with its exact count) of one hidden person, or of a group
 * of hidden people smaller than the privacy minimum.
 *
 * The organisation is built so that the attack works on a dashboard that
 * averages whoever was observed, or includes the viewer, or lets weeks be
 * differenced:
 *   line 1 (slm.1): six managers, only the viewer flm.v1 and flm.p1
 *                   observed: line - own = flm.p1;
 *   line 2 (slm.2): five managers, all observed: line - own = the other
 *                   four, a group below the minimum;
 *   line 3 (slm.3): seven managers; in week 2 the viewer flm.v3 and five
 *                   peers observed, in week 1 only flm.n3: the window
 *                   ending in week 1 minus the one ending in week 2 =
 *                   flm.n3. The five peers' average is a fair comparison
 *                   and must still be shown.
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
#include <jansson.h>

#include "buf.h"
#include "dash.h"
#include "dashfmt.h"
#include "store.h"
#include "testutil.h"

/* "Today": Wednesday 2024-06-12 12:00 UTC; week 0 starts Monday 2024-06-10. */
#define TODAY 19886
#define MONDAY0 19884
#define NOW_S ((int64_t)TODAY * 86400 + 12 * 3600)
#define NB 10
#define PRIVACY_MIN 5

struct person_spec {
    const char *id;
    Coachq__V1__Role role; /* 0: a rep */
    const char *manager;
    int week; /* the week (0 = this week) of their sessions (sessions()); -1: none */
};

static const struct person_spec PEOPLE[] = {
    {"slm.1", COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER, NULL, -1},
    {"slm.2", COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER, NULL, -1},
    {"slm.3", COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER, NULL, -1},
    {"flm.v1", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.1", 2},
    {"flm.p1", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.1", 2},
    {"flm.a1", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.1", -1},
    {"flm.b1", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.1", -1},
    {"flm.c1", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.1", -1},
    {"flm.d1", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.1", -1},
    {"flm.v2", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.2", 2},
    {"flm.e2", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.2", 2},
    {"flm.f2", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.2", 2},
    {"flm.g2", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.2", 2},
    {"flm.h2", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.2", 2},
    {"flm.v3", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.3", 2},
    {"flm.i3", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.3", 2},
    {"flm.j3", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.3", 2},
    {"flm.k3", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.3", 2},
    {"flm.l3", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.3", 2},
    {"flm.m3", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.3", 2},
    {"flm.n3", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.3", 1},
    {"rep.1", 0, "flm.v1", -1},
    {"obs.1", COACHQ__V1__ROLE__ROLE_OBSERVER, NULL, -1},
    {"lead.1", COACHQ__V1__ROLE__ROLE_ENABLEMENT_LEAD, NULL, -1},
    {"admin.1", COACHQ__V1__ROLE__ROLE_ADMINISTRATOR, NULL, -1},
};
#define NPEOPLE (sizeof(PEOPLE) / sizeof(PEOPLE[0]))

/* How many sessions person k had: m * 2^r for the r-th observed person of
 * a line, m being 7, 5 and 3 for lines 1, 2 and 3. So no two people share
 * an n, every group of one line has an n of its own, and a group's n minus
 * the viewer's is never the n of a group without the viewer: a secret is
 * found only where arithmetic really isolates it, not by coincidence. */
static unsigned sessions(size_t k)
{
    static const unsigned mult[] = {7, 5, 3};
    unsigned r = 0;
    const char *line = PEOPLE[k].manager;

    if (PEOPLE[k].week < 0 || line == NULL || strncmp(line, "slm.", 4) != 0) {
        return 0;
    }
    for (size_t i = 0; i < k; i++) {
        r += PEOPLE[i].week >= 0 && PEOPLE[i].manager != NULL &&
             strcmp(PEOPLE[i].manager, line) == 0;
    }
    return mult[line[4] - '1'] << r;
}

/* The score person k gives behaviour b in session j: varied, so that every
 * person's means are their own. */
static uint32_t score(size_t k, unsigned j, size_t b)
{
    uint64_t x = (uint64_t)k * 0x9E3779B97F4A7C15ull + (uint64_t)j * 0xBF58476D1CE4E5B9ull +
                 (uint64_t)b * 0x94D049BB133111EBull;

    /* splitmix64's finaliser: no pattern shared between people. */
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 31;
    return 1 + (uint32_t)(x % 4);
}

static int org_cb(struct store_txn *t, void *arg)
{
    int rc = 0;

    (void)arg;
    for (size_t i = 0; i < NPEOPLE && rc == 0; i++) {
        rc = testutil_put_person(t, PEOPLE[i].id, NULL, PEOPLE[i].role, PEOPLE[i].manager);
    }
    if (rc == 0) {
        rc = testutil_put_rubric(t, "", 0);
    }
    if (rc == 0) {
        rc = testutil_put_cert(t, "obs.1", 19000, 21000, "admin.1");
    }
    return rc;
}

static void observe(struct testutil_store_fx *f, size_t k, unsigned j)
{
    struct testutil_obs o;
    int32_t day = MONDAY0 - 7 * PEOPLE[k].week + (int32_t)(j % 7);

    testutil_obs_make(&o, PEOPLE[k].id, "rep.1", (int64_t)day * 86400 + 8 * 3600 + (j / 7) * 60);
    for (size_t b = 0; b < NB; b++) {
        o.r[b].score = score(k, j, b);
    }
    assert_int_equal(testutil_store_submit(f->s, &o.o, "obs.1", NOW_S * 1000), 0);
}

static int setup(void **state)
{
    struct testutil_store_fx *f;

    testutil_watchdog(240);
    f = testutil_store_fx_new(org_cb, NULL);
    for (size_t k = 0; k < NPEOPLE; k++) {
        for (unsigned j = 0; j < sessions(k); j++) {
            observe(f, k, j);
        }
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    testutil_store_fx_free(*state);
    return 0;
}

/* ---- What the attacker is after ---------------------------------------- */

/* A secret: the mean (and count) of one behaviour, or of the quality index
 * (slot NB), over one hidden person or a small group of hidden people. */
struct secret {
    double mean;
    unsigned n;
    int tag;
    unsigned group; /* the same people, every tag */
    char what[160];
};

struct secrets {
    struct secret *s;
    size_t n;
    size_t cap;
};

static void secret_add(struct secrets *ss, double mean, unsigned n, int tag, unsigned group,
                       const char *what)
{
    if (ss->n == ss->cap) {
        ss->cap = ss->cap ? ss->cap * 2 : 64;
        ss->s = realloc(ss->s, ss->cap * sizeof(*ss->s));
        assert_non_null(ss->s);
    }
    ss->s[ss->n].mean = mean;
    ss->s[ss->n].n = n;
    ss->s[ss->n].tag = tag;
    ss->s[ss->n].group = group;
    snprintf(ss->s[ss->n].what, sizeof(ss->s[ss->n].what), "%s", what);
    ss->n++;
}

/* Person k's sum over their sessions of behaviour b (b == NB: the quality
 * index, the mean of each session's scores). */
static double person_sum(size_t k, size_t b)
{
    double sum = 0;

    for (unsigned j = 0; j < sessions(k); j++) {
        if (b < NB) {
            sum += score(k, j, b);
        } else {
            double s = 0;

            for (size_t x = 0; x < NB; x++) {
                s += score(k, j, x);
            }
            sum += s / NB;
        }
    }
    return sum;
}

/* Every group of 1 to PRIVACY_MIN - 1 observed people of one line that the
 * viewer may not see one by one (hidden[k]), each behaviour and the index. */
static void secrets_of(const unsigned char *hidden, struct secrets *ss)
{
    size_t idx[NPEOPLE];
    size_t m = 0;

    for (size_t k = 0; k < NPEOPLE; k++) {
        if (hidden[k] && PEOPLE[k].week >= 0 && PEOPLE[k].role != 0) {
            idx[m++] = k;
        }
    }
    for (unsigned long mask = 1; mask < (1ul << m); mask++) {
        unsigned size = (unsigned)__builtin_popcountl(mask);
        const char *line = NULL;
        unsigned count = 0;
        int one_line = 1;
        char who[120] = "";

        if (size >= PRIVACY_MIN) {
            continue;
        }
        for (size_t i = 0; i < m; i++) {
            if (mask & (1ul << i)) {
                const char *l = PEOPLE[idx[i]].manager;

                one_line &= line == NULL || strcmp(line, l) == 0;
                line = l;
                count += sessions(idx[i]);
                snprintf(who + strlen(who), sizeof(who) - strlen(who), "%s ", PEOPLE[idx[i]].id);
            }
        }
        if (!one_line) {
            continue;
        }
        for (size_t b = 0; b <= NB; b++) {
            char what[160];
            double sum = 0;

            for (size_t i = 0; i < m; i++) {
                if (mask & (1ul << i)) {
                    sum += person_sum(idx[i], b);
                }
            }
            snprintf(what, sizeof(what), "%s%s", who, b < NB ? testutil_behaviours[b] : "index");
            secret_add(ss, sum / count, count, (int)b, (unsigned)mask, what);
        }
    }
}

/* ---- What the attacker can fetch --------------------------------------- */

/* What a figure is about, as an attacker reads it off the page: the
 * behaviour named by its row, column, series or x label (0..NB-1), or NB
 * for the quality index and every other figure. Only figures about the
 * same thing are subtracted, and compared with that thing's secrets. */
static int tag_of(const char *a, const char *b)
{
    for (int i = 0; i < NB; i++) {
        if ((a != NULL && strcmp(a, testutil_behaviours[i]) == 0) ||
            (b != NULL && strcmp(b, testutil_behaviours[i]) == 0)) {
            return i;
        }
    }
    return NB;
}

struct figure {
    double v;
    unsigned n;
    int tag;
    char slot[512]; /* where, the behaviour left out: the same slot across tags */
    char where[512];
};

struct figures {
    struct figure *f;
    size_t n;
    size_t cap;
};

static void figure_add(struct figures *fs, double v, unsigned n, int tag, const char *slot,
                       const char *where)
{
    for (size_t i = 0; i < fs->n; i++) {
        if (fs->f[i].n == n && fs->f[i].v == v && fs->f[i].tag == tag &&
            strcmp(fs->f[i].slot, slot) == 0) {
            return; /* the same figure elsewhere adds nothing */
        }
    }
    if (fs->n == fs->cap) {
        fs->cap = fs->cap ? fs->cap * 2 : 256;
        fs->f = realloc(fs->f, fs->cap * sizeof(*fs->f));
        assert_non_null(fs->f);
    }
    fs->f[fs->n].v = v;
    fs->f[fs->n].n = n;
    fs->f[fs->n].tag = tag;
    snprintf(fs->f[fs->n].slot, sizeof(fs->f[fs->n].slot), "%s", slot);
    snprintf(fs->f[fs->n].where, sizeof(fs->f[fs->n].where), "%s", where);
    fs->n++;
}

/* Every figure of a dashboard's JSON: table cells and chart series. */
static void figures_of_json(json_t *j, const char *what, struct figures *fs)
{
    json_t *tables = json_object_get(j, "tables");
    json_t *charts = json_object_get(j, "charts");
    char where[512];
    char slot[512];

    for (size_t t = 0; t < json_array_size(tables); t++) {
        json_t *jt = json_array_get(tables, t);
        json_t *rows = json_object_get(jt, "rows");
        json_t *cols = json_object_get(jt, "columns");
        const char *id = json_string_value(json_object_get(jt, "id"));

        for (size_t r = 0; r < json_array_size(rows); r++) {
            json_t *row = json_array_get(rows, r);

            for (size_t c = 0; c < json_array_size(row); c++) {
                json_t *cell = json_array_get(row, c);
                json_t *v = json_object_get(cell, "value");
                json_int_t n = json_integer_value(json_object_get(cell, "n"));

                if (json_is_number(v) && n > 0) {
                    const char *label =
                        json_string_value(json_object_get(json_array_get(row, 0), "text"));
                    const char *col = json_string_value(json_array_get(cols, c));
                    /* A session's own index counts behaviours, not sessions: another unit. */
                    int tag = strcmp(id, "recent") == 0 ? NB + 1 : tag_of(label, col);

                    snprintf(where, sizeof(where), "%s %s[%zu][%zu]", what, id, r, c);
                    snprintf(slot, sizeof(slot), "%s %s row %s col %s", what, id,
                             tag_of(label, NULL) < NB ? "*" : label,
                             tag_of(NULL, col) < NB ? "*" : col);
                    figure_add(fs, json_number_value(v), (unsigned)n, tag, slot, where);
                }
            }
        }
    }
    for (size_t c = 0; c < json_array_size(charts); c++) {
        json_t *ch = json_array_get(charts, c);
        json_t *series = json_object_get(ch, "series");
        json_t *xs = json_object_get(ch, "x_labels");
        const char *id = json_string_value(json_object_get(ch, "id"));

        for (size_t s = 0; s < json_array_size(series); s++) {
            json_t *se = json_array_get(series, s);
            json_t *y = json_object_get(se, "y");
            json_t *n = json_object_get(se, "n");

            for (size_t i = 0; i < json_array_size(y); i++) {
                json_t *v = json_array_get(y, i);
                json_int_t k = json_integer_value(json_array_get(n, i));

                if (json_is_number(v) && k > 0) {
                    const char *name = json_string_value(json_object_get(se, "name"));
                    const char *x = json_string_value(json_array_get(xs, i));

                    snprintf(where, sizeof(where), "%s chart %s[%zu][%zu]", what, id, s, i);
                    snprintf(slot, sizeof(slot), "%s chart %s series %s x %s", what, id,
                             tag_of(name, NULL) < NB ? "*" : name, tag_of(x, NULL) < NB ? "*" : x);
                    figure_add(fs, json_number_value(v), (unsigned)k, tag_of(name, x), slot, where);
                }
            }
        }
    }
}

struct fetch {
    const char *user;
    unsigned roles;
    int kind;
    const char *subject;
    int32_t until;
    struct figures *fs;
    unsigned built;
};

/* Builds the dashboard fe names and adds its figures to fe->fs. */
static void fetch_one(struct testutil_store_fx *f, struct fetch *fe)
{
    struct dash_opts o;
    struct testutil_dash_req q = {fe->user, fe->roles, fe->kind, fe->subject,
                                  NULL,     fe->until, &o,       NOW_S};
    struct dash *d = NULL;
    struct buf b;
    json_t *j;
    json_error_t err;
    char what[160];

    dash_opts_default(&o);
    o.privacy_min = PRIVACY_MIN;
    if (testutil_dash_build(f->s, &q, &d, NULL) != 0) {
        dash_free(d);
        return; /* refused: nothing to learn */
    }
    buf_init(&b, 1u << 24);
    assert_int_equal(dashfmt_json(dash_message(d), &b), 0);
    j = json_loadb((const char *)b.data, b.len, 0, &err);
    assert_non_null(j);
    snprintf(what, sizeof(what), "%s/%s until %d", dashfmt_kind_name(fe->kind), fe->subject,
             (int)fe->until);
    figures_of_json(j, what, fe->fs);
    fe->built++;
    json_decref(j);
    buf_free(&b);
    dash_free(d);
}

/* Every dashboard user may open, as JSON, for every subject and several
 * `until` days, into fs. Returns how many were built. */
static unsigned fetch_all(struct testutil_store_fx *f, const char *user, unsigned roles,
                          struct figures *fs)
{
    static const int kinds[] = {
        COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_MANAGERS,
        COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MANAGER,
        COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME,
        COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS,
        COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_COACHING,
        COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_COACHING_MANAGERS,
        COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVER,
    };
    static const int32_t untils[] = {0, MONDAY0 - 7 + 2, MONDAY0 - 14 + 2, MONDAY0 - 21 + 2,
                                     MONDAY0 - 70};
    struct fetch fe = {user, roles, 0, "", 0, fs, 0};

    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        for (size_t s = 0; s <= NPEOPLE; s++) {
            for (size_t u = 0; u < sizeof(untils) / sizeof(untils[0]); u++) {
                fe.kind = kinds[k];
                fe.subject = s < NPEOPLE ? PEOPLE[s].id : "";
                fe.until = untils[u];
                fetch_one(f, &fe);
            }
        }
    }
    return fe.built;
}

/* One solution of a secret found by the attack, before confirmation. */
struct hit {
    unsigned group;
    const struct figure *x, *y; /* y NULL: x itself is the secret */
    int tag;
    char msg[1400];
};

static int secret_cmp(const void *a, const void *b)
{
    const struct secret *x = a, *y = b;

    if (x->tag != y->tag) {
        return x->tag < y->tag ? -1 : 1;
    }
    return (x->n > y->n) - (x->n < y->n);
}

/* Checks (v, m) of tag against the secrets (sorted), recording hits. */
static void check(const struct secrets *ss, double v, unsigned m, int tag, const struct figure *x,
                  const struct figure *y, const char *viewer, struct hit **hits, size_t *nhits)
{
    size_t lo = 0, hi = ss->n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const struct secret *s = &ss->s[mid];

        if (s->tag < tag || (s->tag == tag && s->n < m)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for (; lo < ss->n && ss->s[lo].tag == tag && ss->s[lo].n == m; lo++) {
        const struct secret *s = &ss->s[lo];
        struct hit *h;

        if (fabs(v - s->mean) >= 1e-9) {
            continue;
        }
        *hits = realloc(*hits, (*nhits + 1) * sizeof(**hits));
        assert_non_null(*hits);
        h = &(*hits)[(*nhits)++];
        h->group = s->group;
        h->x = x;
        h->y = y;
        h->tag = tag;
        if (y == NULL) {
            snprintf(h->msg, sizeof(h->msg), "%s sees %s directly: %s = %.6f (n=%u)", viewer,
                     s->what, x->where, x->v, x->n);
        } else {
            snprintf(h->msg, sizeof(h->msg), "%s solves %s: (%u * %s - %u * %s) / %u = %.6f",
                     viewer, s->what, x->n, x->where, y->n, y->where, m, v);
        }
    }
}

/*
 * The attack. A solution counts as a leak when the same figures (the same
 * slots) give the same people's secret for at least two behaviours: a real
 * leak gives every behaviour away, while scores of 1 to 4 make one-off
 * numerical coincidences between unrelated figures unavoidable. Fails the
 * test with what leaked.
 */
static void attack(const struct figures *fs, struct secrets *ss, const char *viewer)
{
    struct hit *hits = NULL;
    size_t nhits = 0;

    if (ss->n == 0) {
        return; /* a viewer who may see everyone one by one has nothing to find */
    }
    qsort(ss->s, ss->n, sizeof(*ss->s), secret_cmp);
    for (size_t a = 0; a < fs->n; a++) {
        const struct figure *x = &fs->f[a];

        check(ss, x->v, x->n, x->tag, x, NULL, viewer, &hits, &nhits);
        for (size_t b = 0; b < fs->n; b++) {
            const struct figure *y = &fs->f[b];
            unsigned m;

            if (x->n <= y->n || x->tag != y->tag) {
                continue;
            }
            m = x->n - y->n;
            check(ss, ((double)x->n * x->v - (double)y->n * y->v) / m, m, x->tag, x, y, viewer,
                  &hits, &nhits);
        }
    }
    for (size_t i = 0; i < nhits; i++) {
        for (size_t j = 0; j < nhits; j++) {
            if (hits[j].group == hits[i].group && hits[j].tag != hits[i].tag &&
                strcmp(hits[j].x->slot, hits[i].x->slot) == 0 &&
                (hits[i].y == NULL) == (hits[j].y == NULL) &&
                (hits[i].y == NULL || strcmp(hits[j].y->slot, hits[i].y->slot) == 0)) {
                fail_msg("%s; and %s", hits[i].msg, hits[j].msg);
            }
        }
    }
    free(hits);
}

/* Who user may see one by one: a manager's own figures, a second-level
 * manager's line, everybody for leads and administrators. */
static void hidden_from(const char *user, unsigned roles, unsigned char *hidden)
{
    for (size_t k = 0; k < NPEOPLE; k++) {
        int sees = (roles & (AUTH_LEAD | AUTH_ADMIN)) != 0 || strcmp(PEOPLE[k].id, user) == 0 ||
                   ((roles & AUTH_SECOND_LEVEL) && PEOPLE[k].manager != NULL &&
                    strcmp(PEOPLE[k].manager, user) == 0);

        hidden[k] = !sees;
    }
}

static void test_attacker(void **state)
{
    static const struct {
        const char *user;
        unsigned roles;
    } viewers[] = {
        {"flm.v1", AUTH_FRONT_LINE}, {"flm.v2", AUTH_FRONT_LINE},  {"flm.v3", AUTH_FRONT_LINE},
        {"flm.n3", AUTH_FRONT_LINE}, {"slm.1", AUTH_SECOND_LEVEL}, {"slm.3", AUTH_SECOND_LEVEL},
        {"obs.1", AUTH_OBSERVER},    {"lead.1", AUTH_LEAD},        {"admin.1", AUTH_ADMIN},
    };
    struct testutil_store_fx *f = *state;

    for (size_t v = 0; v < sizeof(viewers) / sizeof(viewers[0]); v++) {
        unsigned char hidden[NPEOPLE];
        struct figures fs = {NULL, 0, 0};
        struct secrets ss = {NULL, 0, 0};
        unsigned built;

        hidden_from(viewers[v].user, viewers[v].roles, hidden);
        secrets_of(hidden, &ss);
        built = fetch_all(f, viewers[v].user, viewers[v].roles, &fs);
        if (viewers[v].roles & (AUTH_FRONT_LINE | AUTH_SECOND_LEVEL)) {
            assert_true(built > 0);
        }
        attack(&fs, &ss, viewers[v].user);
        free(fs.f);
        free(ss.s);
    }
}

/* The rule withholds what would single someone out, not every comparison:
 * flm.v3's five observed peers of week 2 are shown as one average, for
 * every behaviour of the rubric (each read into its own place). */
static void test_fair_comparison_stays(void **state)
{
    struct testutil_store_fx *f = *state;
    struct figures fs = {NULL, 0, 0};
    struct fetch fe = {"flm.v3",
                       AUTH_FRONT_LINE,
                       COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_COACHING,
                       "flm.v3",
                       0,
                       &fs,
                       0};

    fetch_one(f, &fe);
    assert_int_equal(fe.built, 1);
    for (size_t b = 0; b < NB; b++) {
        double sum = 0;
        unsigned count = 0;
        int found = 0;

        for (size_t k = 0; k < NPEOPLE; k++) {
            const char *id = PEOPLE[k].id;

            if (strlen(id) == 6 && strncmp(id, "flm.", 4) == 0 && id[4] >= 'i' && id[4] <= 'm' &&
                id[5] == '3') {
                sum += person_sum(k, b);
                count += sessions(k);
            }
        }
        for (size_t i = 0; i < fs.n; i++) {
            /* b's own figure: its label names behaviour b. */
            found |=
                fs.f[i].tag == (int)b && fs.f[i].n == count && fabs(fs.f[i].v - sum / count) < 1e-9;
        }
        if (!found) {
            fail_msg("no peers' average of behaviour %zu", b);
        }
    }
    free(fs.f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attacker),
        cmocka_unit_test(test_fair_comparison_stays),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
