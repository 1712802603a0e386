/*
 * dash: the five dashboards, computed from aggregates (agg.h), the
 * organisation (people.h), certifications (certs.h) and business results
 * (outcomes.h) into one Dashboard message: tables of cells and the charts
 * drawn from them. Every page, API call, CSV export and the protocol's
 * GetDashboard serve this same message, so their figures cannot disagree.
 *
 * Rules every dashboard keeps (domain.md, "Inputs, quality, results"):
 * every figure carries its n; a figure whose n is below opts->min_n is
 * "insufficient data" and has no value (dash_cell_num() does that); a group
 * of fewer than opts->privacy_min people is not broken down.
 *
 * The builder below allocates every string and array of the message from
 * the dash's arena; dash_free() releases it all at once. Not thread-safe;
 * one dash per thread.
 */
#ifndef COACHQ_DASH_H
#define COACHQ_DASH_H

#include <stddef.h>
#include <stdint.h>

#include "agg.h"
#include "auth.h"
#include "coachq.pb-c.h"
#include "validate.h"

struct store_txn;

#define DASH_DEFAULT_RUBRIC "coaching-conversation"
#define DASH_INSUFFICIENT "insufficient data"
/* A group figure withheld because it would rest on too few people. */
#define DASH_SMALL_GROUP "group too small"

struct dash_opts {
    unsigned min_n;       /* default 3 */
    unsigned privacy_min; /* default 5 */
    unsigned trend_weeks; /* default 12 */
    unsigned heat_weeks;  /* default 8 */
};

void dash_opts_default(struct dash_opts *o);

struct dash;

/*
 * Builds the dashboard req asks for, as user u sees it, in read transaction
 * t, "today" being now_s. Access is decided by auth_decide(AUTH_DASHBOARD)
 * before anything is read. Returns 0 and sets *out (free with dash_free()),
 * -ENOENT when the subject does not exist or u may not see it (the same
 * answer, so nobody learns who exists), -EACCES when u's roles have no such
 * dashboard at all, -EINVAL with fault set for a malformed request, or
 * another negative code.
 */
int dash_build(struct store_txn *t, const struct auth_user *u, const Coachq__V1__GetDashboard *req,
               const struct dash_opts *opts, int64_t now_s, struct dash **out,
               struct validate_error *fault);

/* The message (borrowed until dash_free()). */
const Coachq__V1__Dashboard *dash_message(const struct dash *d);

void dash_free(struct dash *d);

/* Dashboard kinds by URL name: dashfmt_kind_name() / dashfmt_kind_from_name(). */

/* ---- Builder (for the dashboards' own code and tests) ---------------- */

/* A new empty dashboard of kind; NULL on no memory. */
struct dash *dash_new(Coachq__V1__DashboardKind kind, const struct dash_opts *opts);
Coachq__V1__Dashboard *dash_msg(struct dash *d);
/* Arena allocation; everything is freed by dash_free(). NULL on no memory
 * (then the dash is marked failed and dash_failed() returns -ENOMEM). */
void *dash_alloc(struct dash *d, size_t n);
char *dash_strdup(struct dash *d, const char *s);
char *dash_printf(struct dash *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int dash_failed(const struct dash *d);
void dash_note(struct dash *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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
void dash_point(struct dash *d, Coachq__V1__Chart *c, const char *label, double x, double y,
                unsigned n, int flagged);

/* ---- Internal: the dashboards' own code (dash_line.c, dash_programme.c) --
 *
 * dash_build() validates the request, resolves the subject, decides access
 * and then calls one of the functions below with a context that holds what
 * every dashboard needs. They fill d (title, tables, charts, notes) and
 * return 0 or a negative code (-ENOMEM when d has failed).
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
    const char *rubric_id;               /* resolved: req->rubric_id or DASH_DEFAULT_RUBRIC */
    uint32_t rubric_version;             /* the latest version of rubric_id */
    const Coachq__V1__Rubric *rubric;    /* that version (borrowed for the call) */
};

/* The Monday of the week i weeks before c->until_monday (0: that week). */
int32_t dash_week(const struct dash_ctx *c, unsigned weeks_back);

/* Sums the AggWeeks of (kind, scope_id, c->rubric_id) with Mondays in
 * [from_monday, until_monday] into *sum (which this initialises; free it
 * with agg_week_clear(), also after a failure).
 * Returns 0 or a negative code. */
int dash_agg_sum(const struct dash_ctx *c, enum agg_scope kind, const char *scope_id,
                 int32_t from_monday, int32_t until_monday, Coachq__V1__AggWeek *sum);

/* The behaviour of w with id bid, or NULL (borrowed from w). */
const Coachq__V1__AggBehaviour *dash_agg_behaviour(const Coachq__V1__AggWeek *w, const char *bid);

/* Mean and 95% confidence interval (t distribution, n - 1 degrees of
 * freedom) from a count, sum and sum of squares. Returns 0 with *mean set,
 * and *lo, *hi (either may be NULL) set when n >= 2; -EDOM when n is 0, 1 when n
 * is 1 (mean only: no interval). */
int dash_mean_ci(uint64_t n, double sum, double sumsq, double *mean, double *lo, double *hi);

/* Writes day as "YYYY-MM-DD" into buf (len >= 11 for years 0..9999);
 * returns buf. */
const char *dash_day_text(int32_t day, char *buf, size_t len);

/* The person's display name (falls back to the id), from the arena. */
const char *dash_person_name(struct dash *d, struct store_txn *t, const char *id);

/* Dashboards 1, 2 and 5: implemented in dash_line.c. */
int dash_my_managers(struct dash *d, const struct dash_ctx *c);
int dash_manager(struct dash *d, const struct dash_ctx *c);
int dash_my_coaching(struct dash *d, const struct dash_ctx *c);

/* Dashboards 3 and 4: implemented in dash_programme.c. */
int dash_programme(struct dash *d, const struct dash_ctx *c);
int dash_observers(struct dash *d, const struct dash_ctx *c);

#endif
