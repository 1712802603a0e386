/*
 * dash_builder: the builder API every dashboard is written in. A dash keeps
 * every string and array of its Dashboard message in one arena, so
 * dash_free() releases a whole dashboard at once and no path can leak half a
 * message; the helpers below are what the dashboards share (their context,
 * sums of weekly aggregates, confidence intervals, dates and names).
 *
 * The dispatcher (dash.c) calls the dashboards; the dashboards call only
 * this module, never the dispatcher, so the code has no cycle.
 */
#include "dash_builder.h"
#include "dash_t975.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "day.h"
#include "people.h"
#include "stats.h"

/* Arena chunks: most dashboards fit in a few. */
#define DASH_CHUNK 16384u

struct dash_chunk {
    struct dash_chunk *next;
    size_t used;
    size_t cap;
    max_align_t data[];
};

/* Slots of the t quantiles a page remembers (dash_mean_ci()). */
#define DASH_T_MEMO 32u

struct dash {
    Coachq__V1__Dashboard msg;
    struct dash_opts opts;
    struct dash_chunk *chunks;
    int failed;
    /* stats_t975() of degrees of freedom t_df[i] (0: empty slot), which
     * costs tens of microseconds; a page's intervals share few of them. */
    uint64_t t_df[DASH_T_MEMO];
    double t_crit[DASH_T_MEMO];
};

void dash_opts_default(struct dash_opts *o)
{
    o->min_n = 3;
    o->privacy_min = 5;
    o->trend_weeks = 12;
    o->heat_weeks = 8;
    o->amend_days = 14;
    o->build_us = NULL;
}

/* ---- Arena ------------------------------------------------------------- */

void *dash_alloc(struct dash *d, size_t n)
{
    struct dash_chunk *c;
    size_t align = sizeof(max_align_t);
    size_t need;
    void *p;

    if (d == NULL || d->failed) {
        return NULL;
    }
    if (n == 0) {
        n = 1;
    }
    if (n > SIZE_MAX / 2) {
        d->failed = 1;
        return NULL;
    }
    need = (n + align - 1) / align * align;
    c = d->chunks;
    if (c == NULL || c->cap - c->used < need) {
        size_t cap = need > DASH_CHUNK ? need : DASH_CHUNK;

        c = malloc(sizeof(*c) + cap);
        if (c == NULL) {
            d->failed = 1;
            return NULL;
        }
        c->used = 0;
        c->cap = cap;
        /* A big one-off block goes behind the current chunk so the current
         * chunk's free space stays in use. */
        if (d->chunks != NULL && need > DASH_CHUNK) {
            c->next = d->chunks->next;
            d->chunks->next = c;
        } else {
            c->next = d->chunks;
            d->chunks = c;
        }
    }
    p = (unsigned char *)c->data + c->used;
    c->used += need;
    memset(p, 0, n);
    return p;
}

char *dash_strdup(struct dash *d, const char *s)
{
    size_t len;
    char *p;

    if (s == NULL) {
        s = "";
    }
    len = strlen(s);
    p = dash_alloc(d, len + 1);
    if (p != NULL) {
        memcpy(p, s, len + 1);
    }
    return p;
}

char *dash_percent_text(struct dash *d, const char *text)
{
    size_t len = text != NULL ? strlen(text) : 0;
    char *p = dash_alloc(d, len + 2);

    if (p != NULL) {
        if (len > 0) {
            memcpy(p, text, len);
        }
        p[len] = '%';
        p[len + 1] = '\0';
    }
    return p;
}

char *dash_join_text(struct dash *d, const char *a, const char *sep, const char *b)
{
    const char *part[3] = {a != NULL ? a : "", sep != NULL ? sep : "", b != NULL ? b : ""};
    size_t len[3], total = 1;
    char *p, *q;

    for (int i = 0; i < 3; i++) {
        len[i] = strlen(part[i]);
        total += len[i];
    }
    p = dash_alloc(d, total);
    if (p == NULL) {
        return NULL;
    }
    q = p;
    for (int i = 0; i < 3; i++) {
        memcpy(q, part[i], len[i]);
        q += len[i];
    }
    *q = '\0';
    return p;
}

static char *dash_vprintf(struct dash *d, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static char *dash_vprintf(struct dash *d, const char *fmt, va_list ap)
{
    /* A text shorter than buf (nearly every one: cells, names, most notes)
     * is formatted once, into buf, and copied; a longer one is formatted
     * again into the arena once its length is known. */
    char buf[DASH_PRINTF_BUF];
    va_list ap2;
    char *p;
    int len;

    va_copy(ap2, ap);
    len = vsnprintf(buf, sizeof(buf), fmt, ap2);
    va_end(ap2);
    if (len < 0) {
        if (d != NULL) {
            d->failed = 1;
        }
        return NULL;
    }
    p = dash_alloc(d, (size_t)len + 1);
    if (p != NULL) {
        if ((size_t)len < sizeof(buf)) {
            memcpy(p, buf, (size_t)len + 1);
        } else {
            vsnprintf(p, (size_t)len + 1, fmt, ap);
        }
    }
    return p;
}

char *dash_printf(struct dash *d, const char *fmt, ...)
{
    va_list ap;
    char *p;

    va_start(ap, fmt);
    p = dash_vprintf(d, fmt, ap);
    va_end(ap);
    return p;
}

int dash_failed(const struct dash *d)
{
    return d == NULL || d->failed ? -ENOMEM : 0;
}

/*
 * Makes room for one more element in a repeated field of n elements of size
 * elem. Capacity is implied by n (4, then powers of two), so the message
 * needs no capacity fields: a full array is copied into one twice its size
 * (the old one stays in the arena until dash_free(), at most doubling the
 * space). Returns the array to store into, or NULL (d failed).
 */
static void *dash_grow(struct dash *d, void *arr, size_t n, size_t elem)
{
    size_t cap = 4;
    void *p;

    while (cap < n) {
        if (cap > SIZE_MAX / 2 / elem) {
            d->failed = 1;
            return NULL;
        }
        cap *= 2;
    }
    if (arr != NULL && n < cap) {
        return arr;
    }
    if (n == cap) {
        cap *= 2;
    }
    p = dash_alloc(d, cap * elem);
    if (p != NULL && n > 0) {
        memcpy(p, arr, n * elem);
    }
    return p;
}

/* Appends v to the repeated field (arr, n) of element type T. */
#define DASH_PUSH(d, arr, n, v)                                                                    \
    do {                                                                                           \
        void *grown_ = dash_grow((d), (arr), (n), sizeof(*(arr)));                                 \
        if (grown_ != NULL) {                                                                      \
            (arr) = grown_;                                                                        \
            (arr)[(n)++] = (v);                                                                    \
        }                                                                                          \
    } while (0)

/* ---- The message ------------------------------------------------------- */

struct dash *dash_new(Coachq__V1__DashboardKind kind, const struct dash_opts *opts)
{
    static const Coachq__V1__Dashboard init = COACHQ__V1__DASHBOARD__INIT;
    struct dash *d = calloc(1, sizeof(*d));

    if (d == NULL) {
        return NULL;
    }
    d->msg = init;
    if (opts != NULL) {
        d->opts = *opts;
    } else {
        dash_opts_default(&d->opts);
    }
    d->msg.kind = kind;
    d->msg.min_n = d->opts.min_n;
    d->msg.privacy_min = d->opts.privacy_min;
    d->msg.title = (char *)"";
    d->msg.subject_id = (char *)"";
    d->msg.subject_name = (char *)"";
    d->msg.rubric_id = (char *)"";
    return d;
}

Coachq__V1__Dashboard *dash_msg(struct dash *d)
{
    return &d->msg;
}

const Coachq__V1__Dashboard *dash_message(const struct dash *d)
{
    return &d->msg;
}

void dash_free(struct dash *d)
{
    struct dash_chunk *c;

    if (d == NULL) {
        return;
    }
    c = d->chunks;
    while (c != NULL) {
        struct dash_chunk *next = c->next;

        free(c);
        c = next;
    }
    free(d);
}

void dash_note(struct dash *d, const char *fmt, ...)
{
    va_list ap;
    char *p;

    va_start(ap, fmt);
    p = dash_vprintf(d, fmt, ap);
    va_end(ap);
    if (p != NULL) {
        DASH_PUSH(d, d->msg.notes, d->msg.n_notes, p);
    }
}

Coachq__V1__Table *dash_table(struct dash *d, const char *id, const char *title,
                              const char *const *columns, size_t ncolumns)
{
    static const Coachq__V1__Table init = COACHQ__V1__TABLE__INIT;
    Coachq__V1__Table *t = dash_alloc(d, sizeof(*t));

    if (t == NULL) {
        return NULL;
    }
    *t = init;
    t->id = dash_strdup(d, id);
    t->title = dash_strdup(d, title);
    t->note = (char *)"";
    if (ncolumns > 0) {
        t->columns = dash_alloc(d, ncolumns * sizeof(*t->columns));
        if (t->columns == NULL) {
            return NULL;
        }
        for (size_t i = 0; i < ncolumns; i++) {
            t->columns[i] = dash_strdup(d, columns[i]);
        }
        t->n_columns = ncolumns;
    }
    DASH_PUSH(d, d->msg.tables, d->msg.n_tables, t);
    return d->failed ? NULL : t;
}

Coachq__V1__TableRow *dash_row(struct dash *d, Coachq__V1__Table *t)
{
    static const Coachq__V1__TableRow init = COACHQ__V1__TABLE_ROW__INIT;
    Coachq__V1__TableRow *r;

    if (t == NULL) {
        return NULL;
    }
    r = dash_alloc(d, sizeof(*r));
    if (r == NULL) {
        return NULL;
    }
    *r = init;
    DASH_PUSH(d, t->rows, t->n_rows, r);
    return d->failed ? NULL : r;
}

static Coachq__V1__Cell *dash_cell(struct dash *d, Coachq__V1__TableRow *r)
{
    static const Coachq__V1__Cell init = COACHQ__V1__CELL__INIT;
    Coachq__V1__Cell *c;

    if (r == NULL) {
        return NULL;
    }
    c = dash_alloc(d, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    *c = init;
    c->text = (char *)"";
    c->link = (char *)"";
    DASH_PUSH(d, r->cells, r->n_cells, c);
    return d->failed ? NULL : c;
}

Coachq__V1__Cell *dash_cell_text(struct dash *d, Coachq__V1__TableRow *r, const char *text,
                                 const char *link)
{
    Coachq__V1__Cell *c = dash_cell(d, r);

    if (c == NULL) {
        return NULL;
    }
    c->text = dash_strdup(d, text);
    if (link != NULL) {
        c->link = dash_strdup(d, link);
    }
    return c;
}

/*
 * A figure's text, as snprintf("%.*f") writes it, without printf's cost
 * for the figures a page is made of. The value is scaled and rounded by
 * hand only where that rounding cannot differ from printf's (which rounds
 * the exact binary value): the scaled value stays below 1e9, so its own
 * rounding error is below 2e-7, and it lies more than 1e-6 from a rounding
 * boundary. Anything else (ties, large values) goes to printf.
 */
static char *dash_fixed(struct dash *d, double v, int decimals)
{
    static const double scale[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
    char buf[40];
    char *p = buf + sizeof(buf);
    double s = fabs(v) * scale[decimals];
    double fl = floor(s);
    uint64_t u;

    if (!(s < 1e9) || fabs(s - fl - 0.5) < 1e-6) {
        return dash_printf(d, "%.*f", decimals, v);
    }
    u = (uint64_t)fl + (s - fl > 0.5);
    *--p = '\0';
    for (int i = 0; i < decimals; i++) {
        *--p = (char)('0' + u % 10);
        u /= 10;
    }
    if (decimals > 0) {
        *--p = '.';
    }
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (signbit(v)) {
        *--p = '-';
    }
    return dash_strdup(d, p);
}

char *dash_fixed_text(struct dash *d, double v, int decimals)
{
    if (decimals < 0) {
        decimals = 0;
    } else if (decimals > 6) {
        decimals = 6;
    }
    return dash_fixed(d, v, decimals);
}

/* A count's text, as snprintf("%llu") writes it. */
static char *dash_count_text(struct dash *d, uint64_t v)
{
    char buf[24];
    char *p = buf + sizeof(buf);

    *--p = '\0';
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    return dash_strdup(d, p);
}

Coachq__V1__Cell *dash_cell_num(struct dash *d, Coachq__V1__TableRow *r, double v, unsigned n,
                                int decimals)
{
    Coachq__V1__Cell *c = dash_cell(d, r);

    if (c == NULL) {
        return NULL;
    }
    c->n = n;
    if (n < d->opts.min_n || n == 0) {
        c->text = (char *)DASH_INSUFFICIENT;
        c->insufficient = 1;
        return c;
    }
    if (!isfinite(v)) {
        /* Enough observations but no figure (e.g. a ratio over zero). */
        c->text = (char *)"n/a";
        return c;
    }
    if (decimals < 0) {
        decimals = 0;
    } else if (decimals > 6) {
        decimals = 6;
    }
    c->value = v;
    c->has_value = 1;
    c->text = dash_fixed(d, v, decimals);
    return c;
}

Coachq__V1__Cell *dash_cell_count(struct dash *d, Coachq__V1__TableRow *r, uint64_t v)
{
    Coachq__V1__Cell *c = dash_cell(d, r);

    if (c == NULL) {
        return NULL;
    }
    c->value = (double)v;
    c->has_value = 1;
    c->n = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
    c->text = dash_count_text(d, v);
    return c;
}

Coachq__V1__Chart *dash_chart(struct dash *d, const char *id, const char *title,
                              Coachq__V1__Chart__Kind kind, const char *table_id)
{
    static const Coachq__V1__Chart init = COACHQ__V1__CHART__INIT;
    Coachq__V1__Chart *c = dash_alloc(d, sizeof(*c));

    if (c == NULL) {
        return NULL;
    }
    *c = init;
    c->id = dash_strdup(d, id);
    c->title = dash_strdup(d, title);
    c->kind = kind;
    c->x_title = (char *)"";
    c->y_title = (char *)"";
    c->table_id = dash_strdup(d, table_id != NULL ? table_id : "");
    DASH_PUSH(d, d->msg.charts, d->msg.n_charts, c);
    return d->failed ? NULL : c;
}

void dash_chart_x(struct dash *d, Coachq__V1__Chart *c, const char *label)
{
    char *s;

    if (c == NULL) {
        return;
    }
    s = dash_strdup(d, label);
    if (s != NULL) {
        DASH_PUSH(d, c->x_labels, c->n_x_labels, s);
    }
}

Coachq__V1__Series *dash_series(struct dash *d, Coachq__V1__Chart *c, const char *name,
                                int has_band)
{
    static const Coachq__V1__Series init = COACHQ__V1__SERIES__INIT;
    Coachq__V1__Series *s;

    if (c == NULL) {
        return NULL;
    }
    s = dash_alloc(d, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    *s = init;
    s->name = dash_strdup(d, name);
    s->has_band = has_band != 0;
    DASH_PUSH(d, c->series, c->n_series, s);
    return d->failed ? NULL : s;
}

void dash_series_add(struct dash *d, Coachq__V1__Series *s, double y, unsigned n, double lo,
                     double hi)
{
    protobuf_c_boolean present;

    if (s == NULL || d->failed) {
        return;
    }
    present = n >= d->opts.min_n && n > 0 && isfinite(y);
    if (!present) {
        y = lo = hi = 0;
    } else if (!isfinite(lo) || !isfinite(hi)) {
        /* No interval (n < 2): a band of no width. */
        lo = hi = y;
    }
    DASH_PUSH(d, s->y, s->n_y, y);
    DASH_PUSH(d, s->present, s->n_present, present);
    DASH_PUSH(d, s->n, s->n_n, n);
    if (s->has_band) {
        DASH_PUSH(d, s->lo, s->n_lo, lo);
        DASH_PUSH(d, s->hi, s->n_hi, hi);
    }
}

void dash_series_add_value(struct dash *d, Coachq__V1__Series *s, double y, unsigned n)
{
    protobuf_c_boolean present;

    if (s == NULL || d->failed) {
        return;
    }
    present = isfinite(y);
    if (!present) {
        y = 0;
    }
    DASH_PUSH(d, s->y, s->n_y, y);
    DASH_PUSH(d, s->present, s->n_present, present);
    DASH_PUSH(d, s->n, s->n_n, n);
    if (s->has_band) {
        DASH_PUSH(d, s->lo, s->n_lo, y);
        DASH_PUSH(d, s->hi, s->n_hi, y);
    }
}

void dash_point(struct dash *d, Coachq__V1__Chart *c, const char *label, double x, double y,
                unsigned n, int flagged)
{
    static const Coachq__V1__Point init = COACHQ__V1__POINT__INIT;
    Coachq__V1__Point *p;

    if (c == NULL) {
        return;
    }
    p = dash_alloc(d, sizeof(*p));
    if (p == NULL) {
        return;
    }
    *p = init;
    p->label = dash_strdup(d, label);
    p->x = x;
    p->y = y;
    p->n = n;
    p->flagged = flagged != 0;
    DASH_PUSH(d, c->points, c->n_points, p);
}

enum agg_scope dash_agg_kind(const struct dash_ctx *c, enum agg_scope kind)
{
    if (c->req == NULL || !c->req->assigned_only) {
        return kind;
    }
    switch (kind) {
    case AGG_COACH:
    case AGG_ORG:
    case AGG_OBSERVER:
    case AGG_COHORT:
    case AGG_OBSERVER_COACH:
        return (enum agg_scope)(kind | AGG_ASSIGNED);
    default:
        return kind;
    }
}

int32_t dash_week(const struct dash_ctx *c, unsigned weeks_back)
{
    return c->until_monday - 7 * (int32_t)weeks_back;
}

const Coachq__V1__AggBehaviour *dash_agg_behaviour(const Coachq__V1__AggWeek *w, const char *bid)
{
    if (w == NULL || bid == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < w->n_behaviours; i++) {
        if (w->behaviours[i]->id != NULL && strcmp(w->behaviours[i]->id, bid) == 0) {
            return w->behaviours[i];
        }
    }
    return NULL;
}

double dash_t975(uint64_t df)
{
    if (df >= 1 && df <= DASH_T975_MAX) {
        return dash_t975_table[df - 1];
    }
    return stats_t975((double)df);
}

/* dash_t975(df), remembered in d beyond the table (df >= 1). */
static double dash_page_t975(struct dash *d, uint64_t df)
{
    size_t slot = (size_t)(df % DASH_T_MEMO);

    if (df <= DASH_T975_MAX) {
        return dash_t975_table[df - 1];
    }
    if (d->t_df[slot] != df) {
        d->t_crit[slot] = stats_t975((double)df);
        d->t_df[slot] = df;
    }
    return d->t_crit[slot];
}

int dash_mean_ci(uint64_t n, double sum, double sumsq, double *mean, double *lo, double *hi)
{
    struct stats_ci ci;

    if (n == 0) {
        return -EDOM;
    }
    *mean = sum / (double)n;
    if (n == 1 || stats_mean_ci(n, sum, sumsq, &ci) != 0) {
        return 1; /* one rating has no spread: the mean only */
    }
    if (lo != NULL) {
        *lo = ci.lo;
    }
    if (hi != NULL) {
        *hi = ci.hi;
    }
    return 0;
}

int dash_page_mean_ci(struct dash *d, uint64_t n, double sum, double sumsq, double *mean,
                      double *lo, double *hi)
{
    struct stats_summary s;
    double se;
    double crit;

    if (n == 0) {
        return -EDOM;
    }
    *mean = sum / (double)n;
    /* stats_mean_ci()'s arithmetic, step for step, with its t quantile
     * remembered for the page. */
    if (n == 1 || stats_summary(n, sum, sumsq, &s) != 0) {
        return 1; /* one rating has no spread: the mean only */
    }
    se = s.sd / sqrt((double)n);
    crit = dash_page_t975(d, n - 1);
    if (lo != NULL) {
        *lo = s.mean - crit * se;
    }
    if (hi != NULL) {
        *hi = s.mean + crit * se;
    }
    return 0;
}

const char *dash_day_text(int32_t day, char *buf, size_t len)
{
    day_format(day, buf, len);
    return buf;
}

const char *dash_person_name(struct dash *d, struct store_txn *t, const char *id)
{
    Coachq__V1__Person *p = NULL;
    const char *name;

    if (people_get(t, id, &p) != 0 || p == NULL) {
        return dash_strdup(d, id);
    }
    name = dash_strdup(d, p->name != NULL && p->name[0] != '\0' ? p->name : id);
    coachq__v1__person__free_unpacked(p, NULL);
    return name;
}

unsigned dash_clamp_n(double n)
{
    if (!(n > 0)) {
        return 0;
    }
    return n >= (double)UINT32_MAX ? UINT32_MAX : (unsigned)n;
}

/* ---- Lists of people ----------------------------------------------------- */

int dash_ids_push(struct dash_ids *l, const char *id)
{
    size_t len = strlen(id);

    if (len > 64) {
        return -EINVAL;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap == 0 ? 64 : l->cap * 2;
        void *p;

        if (cap > DASH_MAX_PEOPLE) {
            return -E2BIG;
        }
        p = realloc(l->id, cap * sizeof(*l->id));
        if (p == NULL) {
            return -ENOMEM;
        }
        l->id = p;
        l->cap = cap;
    }
    memcpy(l->id[l->n], id, len + 1);
    l->n++;
    return 0;
}

void dash_ids_free(struct dash_ids *l)
{
    free(l->id);
    memset(l, 0, sizeof(*l));
}

struct dash_ids_role {
    struct dash_ids *out;
    Coachq__V1__Role role;
};

static int dash_ids_role_cb(const Coachq__V1__Person *p, void *arg)
{
    struct dash_ids_role *rc = arg;

    if (p->disabled || !people_has_role(p, rc->role)) {
        return 0;
    }
    return dash_ids_push(rc->out, p->id);
}

int dash_ids_with_role(struct store_txn *t, Coachq__V1__Role role, struct dash_ids *out)
{
    struct dash_ids_role rc = {out, role};

    return people_list(t, dash_ids_role_cb, &rc);
}

struct dash_ids_roles {
    struct dash_ids *out[2];
    Coachq__V1__Role role[2];
};

static int dash_ids_roles_cb(const Coachq__V1__Person *p, void *arg)
{
    struct dash_ids_roles *rc = arg;
    int err = 0;

    for (int i = 0; i < 2 && err == 0 && !p->disabled; i++) {
        if (people_has_role(p, rc->role[i])) {
            err = dash_ids_push(rc->out[i], p->id);
        }
    }
    return err;
}

int dash_ids_with_roles(struct store_txn *t, Coachq__V1__Role role_a, struct dash_ids *out_a,
                        Coachq__V1__Role role_b, struct dash_ids *out_b)
{
    struct dash_ids_roles rc = {{out_a, out_b}, {role_a, role_b}};

    return people_list(t, dash_ids_roles_cb, &rc);
}
