/*
 * dash_builder: the builder API the dashboards are written in, and what
 * they share. The dispatcher (dash.c, public API in dash.h) checks a request,
 * decides access and calls one dashboard (dash_line.c, dash_programme.c,
 * dash_observers.c) through a dash_build_cb; the dashboards fill the dash
 * through the functions below and call nothing of the dispatcher's.
 *
 * The functions keep the dash_ prefix of the dashboards' module family: they
 * are the names the dashboards' code and tests have always called.
 *
 * Ownership and lifetime: a dash is created by dash_new() (or dash_build())
 * and freed by dash_free(). Every string and array of its message, and every
 * pointer a function below returns into it (tables, rows, cells, charts,
 * series, strings), lives in the dash's arena: owned by the dash, valid until
 * dash_free(), never freed on its own. Strings passed in are copied.
 *
 * Errors: building never stops half-way with a code. The first allocation
 * that fails marks the dash failed: from then on the functions return NULL
 * or do nothing, and dash_failed() returns -ENOMEM. A dashboard checks
 * dash_failed() once at its end. Not thread-safe; one dash per thread.
 */
#ifndef COACHQ_DASH_BUILDER_H
#define COACHQ_DASH_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "agg.h"
#include "auth.h"
#include "coachq.pb-c.h"
#include "metrics.h"

struct store_txn;

/* A figure's text below the minimum n. */
#define DASH_INSUFFICIENT "insufficient data"
/* A group figure withheld because it would rest on too few people. */
#define DASH_SMALL_GROUP "group too small"

struct dash_opts {
    unsigned min_n;       /* default 3 */
    unsigned privacy_min; /* default 5 */
    unsigned trend_weeks; /* default 12 */
    unsigned heat_weeks;  /* default 8 */
    /* Days an observer may amend an observation (store_policy's
     * amend_window_days; default 14): My reliability shows a week's drift
     * only once they are over after the week's end. */
    unsigned amend_days;
    /* Build times by kind for /metrics: DASH_BUILD_SLOTS histograms in
     * microseconds, indexed by Coachq__V1__DashboardKind; borrowed (they
     * outlive every build); NULL: not measured. */
    struct metrics_hist *build_us;
};
/* Entries of dash_opts.build_us: one per DashboardKind value. */
#define DASH_BUILD_SLOTS 8

/* Fills o with the defaults above. */
void dash_opts_default(struct dash_opts *o);

struct dash;

/* ---- The message and its arena ------------------------------------------ */

/* A new empty dashboard of kind with opts (NULL: the defaults, copied);
 * caller owns, free with dash_free(). NULL on no memory. */
struct dash *dash_new(Coachq__V1__DashboardKind kind, const struct dash_opts *opts);

/* The message, to read (dash_message()) or to fill in (dash_msg());
 * borrowed until dash_free(). */
const Coachq__V1__Dashboard *dash_message(const struct dash *d);
Coachq__V1__Dashboard *dash_msg(struct dash *d);

/* Frees d and everything in its arena; dash_free(NULL) is a no-op. */
void dash_free(struct dash *d);

/* Arena allocation of n zeroed bytes; NULL on no memory (then the dash is
 * marked failed and dash_failed() returns -ENOMEM). */
void *dash_alloc(struct dash *d, size_t n);
/* A copy of s ("" for NULL) in the arena. */
char *dash_strdup(struct dash *d, const char *s);
/* text followed by "%" in the arena (NULL on no memory, as dash_printf()):
 * a share whose figure dash_cell_num() has already written with 0 decimals,
 * which is what printf's "%.0f%%" of the cell's value gives, without
 * formatting the number again. text is borrowed. */
char *dash_percent_text(struct dash *d, const char *text);
/* a, sep and b ("" for NULL) one after the other in the arena, as
 * dash_printf(d, "%s%s%s", a, sep, b) writes them, without its format's
 * cost: a scope "<line>/<manager>", a sign before a figure's text. NULL
 * on no memory (as dash_printf()). All three borrowed. */
char *dash_join_text(struct dash *d, const char *a, const char *sep, const char *b);
/* v's text as dash_printf(d, "%.*f", decimals, v) writes it (decimals 0
 * to 6, clamped), in the arena, as dash_cell_num() writes a figure: by
 * hand where that cannot differ from printf, else by printf. NULL on no
 * memory. */
char *dash_fixed_text(struct dash *d, double v, int decimals);
/* Texts dash_printf() writes shorter than this many bytes are formatted
 * once (into a buffer of this size on the stack, then copied); longer
 * ones twice (measured, then written). */
#define DASH_PRINTF_BUF 1024u
/* printf into the arena (the text is vsnprintf()'s whatever its length);
 * NULL on no memory or a format vsnprintf() refuses (the dash is then
 * marked failed). */
char *dash_printf(struct dash *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 0, or -ENOMEM when an allocation failed (or d is NULL). */
int dash_failed(const struct dash *d);
/* Appends a note (printf) to the message. */
void dash_note(struct dash *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- Tables and charts ----------------------------------------------------
 *
 * Each appends to the message (or to t, r, c, s) and returns the new element
 * (in the arena), or NULL when d failed; a NULL t, r, c or s is ignored, so
 * a sequence of calls needs one check at its end.
 */
Coachq__V1__Table *dash_table(struct dash *d, const char *id, const char *title,
                              const char *const *columns, size_t ncolumns);
Coachq__V1__TableRow *dash_row(struct dash *d, Coachq__V1__Table *t);
/* A label cell (n 0); link may be NULL. */
Coachq__V1__Cell *dash_cell_text(struct dash *d, Coachq__V1__TableRow *r, const char *text,
                                 const char *link);
/* A figure with its n, shown with decimals places; below min_n it becomes
 * "insufficient data" without a value. */
Coachq__V1__Cell *dash_cell_num(struct dash *d, Coachq__V1__TableRow *r, double v, unsigned n,
                                int decimals);
/* A count (its own n, never insufficient). */
Coachq__V1__Cell *dash_cell_count(struct dash *d, Coachq__V1__TableRow *r, uint64_t v);

Coachq__V1__Chart *dash_chart(struct dash *d, const char *id, const char *title,
                              Coachq__V1__Chart__Kind kind, const char *table_id);
void dash_chart_x(struct dash *d, Coachq__V1__Chart *c, const char *label);
Coachq__V1__Series *dash_series(struct dash *d, Coachq__V1__Chart *c, const char *name,
                                int has_band);
/* Appends one value: present only when n >= min_n (and then y, lo, hi). */
void dash_series_add(struct dash *d, Coachq__V1__Series *s, double y, unsigned n, double lo,
                     double hi);
/* Appends one value that is not an estimate (a status, a count): present
 * whenever y is finite, whatever n; NAN appends a gap. */
void dash_series_add_value(struct dash *d, Coachq__V1__Series *s, double y, unsigned n);
void dash_point(struct dash *d, Coachq__V1__Chart *c, const char *label, double x, double y,
                unsigned n, int flagged);

/* ---- What every dashboard is given ----------------------------------------
 *
 * dash_build() validates the request, resolves the subject, decides access
 * and then calls the kind's dash_build_cb with a context that holds what
 * every dashboard needs. Every pointer in it is borrowed for the call.
 */
struct dash_ctx {
    struct store_txn *t;                 /* the read transaction */
    const struct auth_user *user;        /* who asks */
    const Coachq__V1__GetDashboard *req; /* the request (validated) */
    const struct dash_opts *opts;        /* min_n, privacy_min, weeks */
    int64_t now_s;                       /* "now" */
    int32_t today;                       /* now_s as a day since 1970-01-01 */
    int32_t until_day;                   /* last day covered: the Sunday of the week of
                                            req->until_day (or of today) */
    int32_t until_monday;                /* agg_week_of(until_day) */
    const char *subject;                 /* MY_MANAGERS / MANAGER / MY_COACHING: the person
                                            (resolved; never empty); PROGRAMME / OBSERVERS:
                                            req->subject_id as given (may be "") */
    const Coachq__V1__Person *person;    /* the subject's record, or NULL when none */
    const char *rubric_id;               /* resolved: req->rubric_id or the default rubric */
    uint32_t rubric_version;             /* the latest version of rubric_id */
    const Coachq__V1__Rubric *rubric;    /* that version (borrowed for the call) */
};

/*
 * One dashboard: fills d (title, tables, charts, notes) from c, and returns
 * 0 or a negative code (-ENOMEM when d has failed). On the thread of the
 * dash_build() call.
 */
typedef int (*dash_build_cb)(struct dash *d, const struct dash_ctx *c);

/* ---- Helpers the dashboards share ---------------------------------------- */

/* The aggregate kind a dashboard reads for kind: its assigned twin (agg.h,
 * AGG_ASSIGNED) when the request asks for assigned observations only and
 * kind has one, else kind. */
enum agg_scope dash_agg_kind(const struct dash_ctx *c, enum agg_scope kind);

/* The Monday of the week i weeks before c->until_monday (0: that week). */
int32_t dash_week(const struct dash_ctx *c, unsigned weeks_back);

/* The behaviour of w with id bid, or NULL (borrowed from w). */
const Coachq__V1__AggBehaviour *dash_agg_behaviour(const Coachq__V1__AggWeek *w, const char *bid);

/* Mean and 95% confidence interval (t distribution, n - 1 degrees of
 * freedom) from a count, sum and sum of squares. Returns 0 with *mean set,
 * and *lo, *hi (either may be NULL) set when n >= 2; -EDOM when n is 0, 1 when n
 * is 1 (mean only: no interval). */
int dash_mean_ci(uint64_t n, double sum, double sumsq, double *mean, double *lo, double *hi);
/* The same figures, with the t quantiles (tens of microseconds each) that
 * d's page has used remembered in d: a page of weekly intervals shares few
 * degrees of freedom. */
int dash_page_mean_ci(struct dash *d, uint64_t n, double sum, double sumsq, double *mean,
                      double *lo, double *hi);
/* stats_t975(df), from a table for df up to 1024 (the same doubles). */
double dash_t975(uint64_t df);

/* Writes day as "YYYY-MM-DD" into buf (len >= 11 for years 0..9999);
 * returns buf. */
const char *dash_day_text(int32_t day, char *buf, size_t len);

/* The person's display name (falls back to the id), in d's arena. */
const char *dash_person_name(struct dash *d, struct store_txn *t, const char *id);

/* The count of a figure (a double sum of counts) as a cell's n: 0 for
 * none or NAN, capped at UINT32_MAX. */
unsigned dash_clamp_n(double n);

/* ---- Lists of people -------------------------------------------------------- */

/* People one dashboard handles at most: lists of them grow up to this. */
#define DASH_MAX_PEOPLE 1000000u

/* A growable array of person ids, in the order added. Start it zeroed;
 * it owns its array: free it with dash_ids_free(). */
struct dash_ids {
    char (*id)[65];
    size_t n;
    size_t cap;
};

/* Appends a copy of id. Returns 0, -EINVAL for an id over 64 bytes, -E2BIG
 * past DASH_MAX_PEOPLE or -ENOMEM (the list is unchanged then). */
int dash_ids_push(struct dash_ids *l, const char *id);
/* Frees the array and zeroes l (safe on a zeroed list). */
void dash_ids_free(struct dash_ids *l);
/* Appends every enabled person holding role, in id order, to *out (a
 * transaction borrowed for the call). Returns 0 or a negative code; *out
 * may hold some ids after a failure, and is freed with dash_ids_free(). */
int dash_ids_with_role(struct store_txn *t, Coachq__V1__Role role, struct dash_ids *out);
/* dash_ids_with_role() for two roles in one walk of the people: each list
 * as that function would make it. Returns as dash_ids_with_role(); free
 * both lists with dash_ids_free() whatever it returns. */
int dash_ids_with_roles(struct store_txn *t, Coachq__V1__Role role_a, struct dash_ids *out_a,
                        Coachq__V1__Role role_b, struct dash_ids *out_b);

#endif
