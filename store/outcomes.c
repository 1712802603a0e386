/*
 * outcomes: business results in the store's outcomes database, and the
 * reader of their CSV files.
 *
 * Key: len(1) subject | team(1) | be32 period key | len(1) metric. The
 * period key is first_day * 2 + (1 for a quarter, 0 for a month), so that a
 * subject's figures sort by the day their period starts, a month before the
 * quarter that starts on the same day, and no two periods share a key.
 * Periods run from 1970 (days are not negative) to 9999.
 */
#include "day.h"
#include "outcomes.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "csv.h"
#include "keys.h"
#include "store_int.h"

#define OUTCOMES_MIN_YEAR 1970
#define OUTCOMES_MAX_YEAR 9999
#define OUTCOMES_MAX_METRIC 40
/* Largest whole number of sessions a manager can have logged in a period. */
#define OUTCOMES_MAX_SESSIONS 100000.0
#define OUTCOMES_MSG_LEN 600

/* ---- Periods ---------------------------------------------------------- */

/* Days since 1970-01-01 of a date (proleptic Gregorian calendar). */
static int32_t outcomes_days(int y, int m, int d)
{
    return (int32_t)day_from_civil(y, (unsigned)m, (unsigned)d);
}

/* The year and month of a day number. */
static void outcomes_civil(int32_t z, int *y, int *m)
{
    int64_t yy;
    unsigned mm, dd;

    day_to_civil(z, &yy, &mm, &dd);
    *y = (int)yy;
    *m = (int)mm;
}

/* The first day of the month months after (y, m). */
static int32_t outcomes_month_start(int y, int m, int months)
{
    int idx = y * 12 + (m - 1) + months;

    return outcomes_days(idx / 12, idx % 12 + 1, 1);
}

/* Parses a period into its first day, last day and whether it is a
 * quarter. */
static int outcomes_period(const char *s, int32_t *first, int32_t *last, int *quarter)
{
    int y = 0, m;

    if (s == NULL || strlen(s) != 7 || s[4] != '-') {
        return -EINVAL;
    }
    for (int i = 0; i < 4; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -EINVAL;
        }
        y = y * 10 + (s[i] - '0');
    }
    if (y < OUTCOMES_MIN_YEAR || y > OUTCOMES_MAX_YEAR) {
        return -EINVAL;
    }
    if (s[5] == 'Q') {
        if (s[6] < '1' || s[6] > '4') {
            return -EINVAL;
        }
        m = (s[6] - '1') * 3 + 1;
        *quarter = 1;
        *first = outcomes_days(y, m, 1);
        *last = outcomes_month_start(y, m, 3) - 1;
        return 0;
    }
    if (s[5] < '0' || s[5] > '1' || s[6] < '0' || s[6] > '9') {
        return -EINVAL;
    }
    m = (s[5] - '0') * 10 + (s[6] - '0');
    if (m < 1 || m > 12) {
        return -EINVAL;
    }
    *quarter = 0;
    *first = outcomes_days(y, m, 1);
    *last = outcomes_month_start(y, m, 1) - 1;
    return 0;
}

int outcomes_period_parse(const char *period, int32_t *first_day, int32_t *last_day)
{
    int32_t first, last;
    int quarter;

    if (outcomes_period(period, &first, &last, &quarter) < 0) {
        return -EINVAL;
    }
    if (first_day != NULL) {
        *first_day = first;
    }
    if (last_day != NULL) {
        *last_day = last;
    }
    return 0;
}

/* ---- Checks ----------------------------------------------------------- */

static int outcomes_metric_ok(const char *s)
{
    size_t n;

    if (s == NULL) {
        return 0;
    }
    for (n = 0; s[n] != '\0'; n++) {
        char c = s[n];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            return 0;
        }
    }
    return n >= 1 && n <= OUTCOMES_MAX_METRIC;
}

/* Checks value against metric's range. Returns 0, or -EINVAL with what is
 * wrong in msg (len bytes). */
static int outcomes_value_ok(const char *metric, double v, char *msg, size_t len)
{
    if (!isfinite(v)) {
        snprintf(msg, len, "must be a finite number");
        return -EINVAL;
    }
    if (strcmp(metric, "win_rate") == 0 || strcmp(metric, "crm_completeness") == 0) {
        if (v < 0 || v > 1) {
            snprintf(msg, len, "%g is outside 0..1: %s is a fraction (write 45%% as 0.45)", v,
                     metric);
            return -EINVAL;
        }
    } else if (strcmp(metric, "quota_attainment") == 0 ||
               strcmp(metric, "pipeline_coverage") == 0) {
        if (v < 0) {
            snprintf(msg, len, "%g is negative; %s is at least 0 (write 110%% as 1.1)", v, metric);
            return -EINVAL;
        }
    } else if (strcmp(metric, "sessions_held") == 0) {
        if (v < 0 || v > OUTCOMES_MAX_SESSIONS || v != (double)(int64_t)v) {
            snprintf(msg, len, "%g is not a whole number of sessions from 0 to %.0f", v,
                     OUTCOMES_MAX_SESSIONS);
            return -EINVAL;
        }
    }
    return 0;
}

static int outcomes_fail(struct validate_error *e, const char *prefix, const char *field,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int outcomes_fail(struct validate_error *e, const char *prefix, const char *field,
                         const char *fmt, ...)
{
    va_list ap;

    if (e == NULL) {
        return -EINVAL;
    }
    e->code = COACHQ__V1__CODE__INVALID_ARGUMENT;
    snprintf(e->field, sizeof(e->field), "%s%s%s", prefix, prefix[0] && field[0] ? "." : "", field);
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

int outcomes_check(const Coachq__V1__Outcome *o, const char *prefix, struct validate_error *e)
{
    char msg[200];

    if (prefix == NULL) {
        prefix = "";
    }
    if (o == NULL) {
        return outcomes_fail(e, prefix, "", "the outcome is missing");
    }
    if (validate_id(o->subject_id) != 0) {
        return outcomes_fail(e, prefix, "subject_id",
                             "'%s' is not a person id: 1 to %d letters, digits, '.', '_', '@' "
                             "or '-'",
                             o->subject_id != NULL ? o->subject_id : "", VALIDATE_MAX_ID);
    }
    if (outcomes_period_parse(o->period, NULL, NULL) < 0) {
        return outcomes_fail(e, prefix, "period",
                             "'%.40s' is not a period: a month YYYY-MM or a quarter YYYY-Qn "
                             "(n 1 to 4), years %d to %d",
                             o->period != NULL ? o->period : "", OUTCOMES_MIN_YEAR,
                             OUTCOMES_MAX_YEAR);
    }
    if (!outcomes_metric_ok(o->metric)) {
        return outcomes_fail(e, prefix, "metric",
                             "'%.60s' is not a metric: win_rate, pipeline_coverage, "
                             "quota_attainment, crm_completeness, sessions_held, or 1 to %d of "
                             "a-z, 0-9 and '_'",
                             o->metric != NULL ? o->metric : "", OUTCOMES_MAX_METRIC);
    }
    if (outcomes_value_ok(o->metric, o->value, msg, sizeof(msg)) < 0) {
        return outcomes_fail(e, prefix, "value", "%s", msg);
    }
    return 0;
}

/* ---- The database ----------------------------------------------------- */

/* Builds o's key. o must have passed outcomes_check(). */
static int outcomes_key(struct keys_buf *k, const Coachq__V1__Outcome *o)
{
    int32_t first, last;
    uint8_t team = o->team ? 1 : 0;
    int quarter;

    if (outcomes_period(o->period, &first, &last, &quarter) < 0) {
        return -EINVAL;
    }
    keys_buf_reset(k);
    keys_buf_id(k, o->subject_id);
    keys_buf_raw(k, &team, 1);
    keys_buf_u32(k, (uint32_t)first * 2u + (uint32_t)quarter);
    keys_buf_id(k, o->metric);
    return k->err;
}

int outcomes_put(struct store_txn *t, const Coachq__V1__Outcome *o, int *state)
{
    ProtobufCMessage *m = NULL;
    Coachq__V1__Outcome *old;
    struct keys_buf k;
    MDB_val person;
    int rc;

    if (state != NULL) {
        *state = 0;
    }
    if (outcomes_check(o, "outcome", NULL) < 0) {
        return -EINVAL;
    }
    if (!t->write) {
        return -EROFS;
    }
    rc = store_txn_get_raw(t, t->s->dbi_people, (const uint8_t *)o->subject_id,
                           strlen(o->subject_id), &person);
    if (rc < 0) {
        return rc;
    }
    rc = outcomes_key(&k, o);
    if (rc < 0) {
        return rc;
    }
    rc = store_txn_get_msg(t, t->s->dbi_outcomes, k.b, k.len, &coachq__v1__outcome__descriptor, &m);
    if (rc < 0 && rc != -ENOENT) {
        return rc;
    }
    old = (Coachq__V1__Outcome *)m;
    if (old != NULL && old->value == o->value) {
        /* The key holds subject, team, period and metric; only the value
         * (and the import time, which does not count) can differ. */
        coachq__v1__outcome__free_unpacked(old, NULL);
        return 0;
    }
    rc = store_txn_put_msg(t, t->s->dbi_outcomes, k.b, k.len, &o->base, NULL);
    if (rc == 0 && state != NULL) {
        *state = old != NULL ? 2 : 1;
    }
    if (old != NULL) {
        coachq__v1__outcome__free_unpacked(old, NULL);
    }
    return rc;
}

struct outcomes_list_ctx {
    int32_t from, until;
    outcomes_cb cb;
    void *arg;
};

static int outcomes_list_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                             void *arg)
{
    struct outcomes_list_ctx *c = arg;
    Coachq__V1__Outcome *o;
    uint32_t pk;
    int32_t first, last;
    size_t pos;
    int y, m, rc;

    /* len | subject | team | period(4) | len | metric */
    if (klen < 1 || key[0] == 0 || (size_t)key[0] + 1 + 1 + 4 + 2 > klen) {
        return -EIO;
    }
    pos = (size_t)key[0] + 2;
    pk = keys_get_be32(key + pos);
    first = (int32_t)(pk / 2);
    outcomes_civil(first, &y, &m);
    last = outcomes_month_start(y, m, (pk & 1) ? 3 : 1) - 1;
    if (first > c->until || last < c->from) {
        return 0;
    }
    o = coachq__v1__outcome__unpack(NULL, vlen, val);
    if (o == NULL) {
        return -EIO;
    }
    rc = c->cb(o, c->arg);
    coachq__v1__outcome__free_unpacked(o, NULL);
    return rc;
}

int outcomes_list(struct store_txn *t, const char *subject, int32_t from_day, int32_t until_day,
                  outcomes_cb cb, void *arg)
{
    struct outcomes_list_ctx c = {from_day, until_day, cb, arg};
    struct keys_buf k;

    keys_buf_reset(&k);
    if (subject != NULL) {
        if (validate_id(subject) != 0) {
            return -EINVAL;
        }
        keys_buf_id(&k, subject);
        if (k.err != 0) {
            return k.err;
        }
    }
    if (from_day > until_day) {
        return 0;
    }
    return store_txn_scan(t, t->s->dbi_outcomes, k.b, k.len, 0, outcomes_list_one, &c);
}

/* ---- Imports ---------------------------------------------------------- */

struct outcomes_ref {
    const Coachq__V1__Outcome *o;
    size_t i; /* the row's index in its import */
};

/* Orders rows by key, then by their index, so that of two equal keys the
 * first given comes first. Periods are compared as text: a valid period
 * has exactly one spelling. */
static int outcomes_ref_cmp(const void *x, const void *y)
{
    const struct outcomes_ref *a = x;
    const struct outcomes_ref *b = y;
    int c = strcmp(a->o->subject_id, b->o->subject_id);

    if (c == 0) {
        c = (int)(a->o->team != 0) - (int)(b->o->team != 0);
    }
    if (c == 0) {
        c = strcmp(a->o->period, b->o->period);
    }
    if (c == 0) {
        c = strcmp(a->o->metric, b->o->metric);
    }
    if (c == 0) {
        c = a->i < b->i ? -1 : a->i > b->i;
    }
    return c;
}

static int outcomes_same_key(const Coachq__V1__Outcome *a, const Coachq__V1__Outcome *b)
{
    return strcmp(a->subject_id, b->subject_id) == 0 && !a->team == !b->team &&
           strcmp(a->period, b->period) == 0 && strcmp(a->metric, b->metric) == 0;
}

/* Sorts n rows into refs (n entries, caller's) by key. */
static void outcomes_sort(Coachq__V1__Outcome *const *rows, size_t n, struct outcomes_ref *refs)
{
    for (size_t i = 0; i < n; i++) {
        refs[i].o = rows[i];
        refs[i].i = i;
    }
    if (n > 1) {
        qsort(refs, n, sizeof(*refs), outcomes_ref_cmp);
    }
}

int outcomes_import_txn(struct store_txn *t, Coachq__V1__Outcome *const *rows, size_t n,
                        int64_t now_ms, const char *actor, const char *origin,
                        Coachq__V1__ImportResult *res, struct validate_error *fault)
{
    struct outcomes_ref *refs = NULL;
    char prefix[40], detail[200];
    int rc;

    res->added = res->changed = res->unchanged = 0;
    if (!t->write) {
        return -EROFS;
    }
    if (n > OUTCOMES_MAX_ROWS) {
        return outcomes_fail(fault, "outcomes", "", "%zu outcomes; at most %u in one import", n,
                             OUTCOMES_MAX_ROWS);
    }
    /* Every check before the first write: a refused import writes
     * nothing even if its caller were to commit. */
    for (size_t i = 0; i < n; i++) {
        MDB_val person;

        snprintf(prefix, sizeof(prefix), "outcomes[%zu]", i);
        if (outcomes_check(rows[i], prefix, fault) < 0) {
            return -EINVAL;
        }
        rc = store_txn_get_raw(t, t->s->dbi_people, (const uint8_t *)rows[i]->subject_id,
                               strlen(rows[i]->subject_id), &person);
        if (rc == -ENOENT) {
            return outcomes_fail(fault, prefix, "subject_id",
                                 "no person '%s' is known; import people first",
                                 rows[i]->subject_id);
        }
        if (rc < 0) {
            return rc;
        }
    }
    if (n > 0) {
        refs = malloc(n * sizeof(*refs));
        if (refs == NULL) {
            return -ENOMEM;
        }
        outcomes_sort(rows, n, refs);
        for (size_t i = 1; i < n; i++) {
            if (outcomes_same_key(refs[i - 1].o, refs[i].o)) {
                snprintf(prefix, sizeof(prefix), "outcomes[%zu]", refs[i].i);
                rc = outcomes_fail(fault, prefix, "",
                                   "the same subject, team, period and metric as outcomes[%zu]",
                                   refs[i - 1].i);
                free(refs);
                return rc;
            }
        }
        free(refs);
    }
    for (size_t i = 0; i < n; i++) {
        Coachq__V1__Outcome o = *rows[i];
        int state;

        o.imported_at_ms = now_ms;
        rc = outcomes_put(t, &o, &state);
        if (rc < 0) {
            return rc;
        }
        if (state == 1) {
            res->added++;
        } else if (state == 2) {
            res->changed++;
        } else {
            res->unchanged++;
        }
    }
    if (res->added + res->changed > 0) {
        snprintf(detail, sizeof(detail), "%zu outcomes; %u added, %u changed, %u unchanged", n,
                 res->added, res->changed, res->unchanged);
        rc = audit_append(t, now_ms, actor, "import.outcomes", "outcomes", detail, origin, NULL);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

/* ---- CSV -------------------------------------------------------------- */

static const char *const outcomes_cols[OUTCOMES_NCOL] = {"subject_id", "team", "period", "metric",
                                                         "value"};

struct outcomes_err {
    size_t line, col;
    char *msg; /* owned */
};

struct outcomes_parse {
    const char *name;
    size_t max_errs;
    struct outcomes_err *errs; /* at most max_errs kept */
    size_t nkept;
    size_t nerrs; /* all of them */
    int oom;
    Coachq__V1__Outcome **rows;
    struct outcomes_pos *pos;
    size_t n, cap;
};

static void outcomes_err(struct outcomes_parse *p, size_t line, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Records an error at line:col (line 0: the file as a whole). */
static void outcomes_err(struct outcomes_parse *p, size_t line, size_t col, const char *fmt, ...)
{
    char msg[OUTCOMES_MSG_LEN];
    va_list ap;
    int off;

    p->nerrs++;
    if (p->nkept >= p->max_errs) {
        return;
    }
    if (line == 0) {
        off = snprintf(msg, sizeof(msg), "%s: ", p->name);
    } else {
        off = snprintf(msg, sizeof(msg), "%s:%zu:%zu: ", p->name, line, col);
    }
    if (off < 0 || (size_t)off >= sizeof(msg)) {
        off = (int)sizeof(msg) - 1;
    }
    va_start(ap, fmt);
    vsnprintf(msg + off, sizeof(msg) - (size_t)off, fmt, ap);
    va_end(ap);
    p->errs[p->nkept].msg = strdup(msg);
    if (p->errs[p->nkept].msg == NULL) {
        p->oom = 1;
        return;
    }
    p->errs[p->nkept].line = line;
    p->errs[p->nkept].col = col;
    p->nkept++;
}

static int outcomes_err_cmp(const void *x, const void *y)
{
    const struct outcomes_err *a = x;
    const struct outcomes_err *b = y;

    if (a->line != b->line) {
        return a->line < b->line ? -1 : 1;
    }
    return a->col < b->col ? -1 : a->col > b->col;
}

/* A field's text without leading and trailing blanks, copied into out
 * (CSV_MAX_FIELD + 1 bytes); *lead gets how many were skipped at the
 * start. */
static void outcomes_trim(const char *s, char *out, size_t *lead)
{
    size_t start = 0, end = strlen(s);

    while (s[start] == ' ' || s[start] == '\t') {
        start++;
    }
    while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t')) {
        end--;
    }
    memcpy(out, s + start, end - start);
    out[end - start] = '\0';
    *lead = start;
}

static void outcomes_header_err(size_t line, size_t col, const char *msg, void *arg)
{
    outcomes_err(arg, line, col, "%s", msg);
}

/* Maps the header's fields to the columns: map[i] is field i's column. */
static int outcomes_header(struct outcomes_parse *p, const struct csv_record *rec,
                           size_t map[CSV_MAX_FIELDS])
{
    return csv_header_map(rec, outcomes_cols, OUTCOMES_NCOL, map, outcomes_header_err, p) > 0
               ? -EINVAL
               : 0;
}

/* Reads a value: a plain decimal number, finite. */
static int outcomes_number(const char *s, double *out)
{
    char *end = NULL;

    if (s[0] == '\0') {
        return -EINVAL;
    }
    for (const char *c = s; *c != '\0'; c++) {
        /* strtod() also reads hexadecimal, "inf" and "nan": none is a
         * figure a CRM exports. */
        if (!((*c >= '0' && *c <= '9') || *c == '.' || *c == '-' || *c == '+' || *c == 'e' ||
              *c == 'E')) {
            return -EINVAL;
        }
    }
    errno = 0;
    *out = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(*out)) {
        return -EINVAL;
    }
    return 0;
}

static int outcomes_grow(struct outcomes_parse *p)
{
    size_t cap;
    Coachq__V1__Outcome **rows;
    struct outcomes_pos *pos;

    if (p->n < p->cap) {
        return 0;
    }
    cap = p->cap ? p->cap * 2 : 64;
    if (cap > OUTCOMES_MAX_ROWS) {
        cap = OUTCOMES_MAX_ROWS;
    }
    rows = realloc(p->rows, cap * sizeof(*rows));
    if (rows == NULL) {
        return -ENOMEM;
    }
    p->rows = rows;
    pos = realloc(p->pos, cap * sizeof(*pos));
    if (pos == NULL) {
        return -ENOMEM;
    }
    p->pos = pos;
    p->cap = cap;
    return 0;
}

/* Checks one record and, if it is good, keeps it as a row. */
static int outcomes_row(struct outcomes_parse *p, const struct csv_record *rec, const size_t *map)
{
    char f[OUTCOMES_NCOL][CSV_MAX_FIELD + 1];
    struct outcomes_pos pos;
    Coachq__V1__Outcome *o;
    size_t before = p->nerrs;
    char msg[200];
    double value = 0;
    int team = 0;

    pos.line = rec->line;
    for (size_t i = 0; i < rec->n; i++) {
        size_t lead;

        outcomes_trim(rec->field[i], f[map[i]], &lead);
        pos.col[map[i]] = rec->col[i] + lead;
    }
    if (validate_id(f[OUTCOMES_COL_SUBJECT]) != 0) {
        outcomes_err(p, pos.line, pos.col[OUTCOMES_COL_SUBJECT],
                     "subject_id '%.100s' is %s: 1 to %d letters, digits, '.', '_', '@' or '-'",
                     f[OUTCOMES_COL_SUBJECT],
                     f[OUTCOMES_COL_SUBJECT][0] ? "not a valid id" : "empty; it needs an id",
                     VALIDATE_MAX_ID);
    }
    if (strcasecmp(f[OUTCOMES_COL_TEAM], "yes") == 0) {
        team = 1;
    } else if (f[OUTCOMES_COL_TEAM][0] != '\0' && strcasecmp(f[OUTCOMES_COL_TEAM], "no") != 0) {
        outcomes_err(p, pos.line, pos.col[OUTCOMES_COL_TEAM],
                     "team '%.40s' is not yes, no or empty (yes: the figure covers the "
                     "subject's team)",
                     f[OUTCOMES_COL_TEAM]);
    }
    if (outcomes_period_parse(f[OUTCOMES_COL_PERIOD], NULL, NULL) < 0) {
        outcomes_err(p, pos.line, pos.col[OUTCOMES_COL_PERIOD],
                     "period '%.40s' is not a month YYYY-MM or a quarter YYYY-Qn (n 1 to 4), "
                     "years %d to %d",
                     f[OUTCOMES_COL_PERIOD], OUTCOMES_MIN_YEAR, OUTCOMES_MAX_YEAR);
    }
    if (!outcomes_metric_ok(f[OUTCOMES_COL_METRIC])) {
        outcomes_err(p, pos.line, pos.col[OUTCOMES_COL_METRIC],
                     "metric '%.60s' is not win_rate, pipeline_coverage, quota_attainment, "
                     "crm_completeness, sessions_held, or a name of 1 to %d of a-z, 0-9 and '_'",
                     f[OUTCOMES_COL_METRIC], OUTCOMES_MAX_METRIC);
    } else if (outcomes_number(f[OUTCOMES_COL_VALUE], &value) < 0) {
        const char *v = f[OUTCOMES_COL_VALUE];
        size_t len = strlen(v);

        outcomes_err(p, pos.line, pos.col[OUTCOMES_COL_VALUE], "value '%.40s' is not a number%s", v,
                     len > 0 && v[len - 1] == '%'
                         ? ": write percentages as plain numbers (45% as 0.45)"
                         : " (plain decimal, e.g. 0.45 or 3.2)");
    } else if (outcomes_value_ok(f[OUTCOMES_COL_METRIC], value, msg, sizeof(msg)) < 0) {
        outcomes_err(p, pos.line, pos.col[OUTCOMES_COL_VALUE], "value %s", msg);
    }
    if (p->nerrs > before) {
        /* Good rows are kept even after an error elsewhere, so that a key
         * given twice is still found; a failed parse frees them all. */
        return 0;
    }
    if (outcomes_grow(p) < 0) {
        return -ENOMEM;
    }
    o = malloc(sizeof(*o));
    if (o == NULL) {
        return -ENOMEM;
    }
    coachq__v1__outcome__init(o);
    o->team = team;
    o->value = value;
    o->subject_id = strdup(f[OUTCOMES_COL_SUBJECT]);
    o->period = strdup(f[OUTCOMES_COL_PERIOD]);
    o->metric = strdup(f[OUTCOMES_COL_METRIC]);
    p->rows[p->n] = o;
    p->pos[p->n] = pos;
    p->n++;
    if (o->subject_id == NULL || o->period == NULL || o->metric == NULL) {
        return -ENOMEM;
    }
    return 0;
}

/* Reports every key given twice, at its later line, naming the first. */
static int outcomes_dups(struct outcomes_parse *p)
{
    struct outcomes_ref *refs;

    if (p->n < 2) {
        return 0;
    }
    refs = malloc(p->n * sizeof(*refs));
    if (refs == NULL) {
        return -ENOMEM;
    }
    outcomes_sort(p->rows, p->n, refs);
    for (size_t i = 1, first = 0; i < p->n; i++) {
        if (!outcomes_same_key(refs[first].o, refs[i].o)) {
            first = i;
            continue;
        }
        outcomes_err(p, p->pos[refs[i].i].line, p->pos[refs[i].i].col[OUTCOMES_COL_SUBJECT],
                     "subject '%s', team %s, period %s, metric %s is already on line %zu",
                     refs[i].o->subject_id, refs[i].o->team ? "yes" : "no", refs[i].o->period,
                     refs[i].o->metric, p->pos[refs[first].i].line);
    }
    free(refs);
    return 0;
}

static int outcomes_read(struct outcomes_parse *p, const char *text, size_t len)
{
    size_t map[CSV_MAX_FIELDS];
    struct csv_record rec;
    struct csv *c = NULL;
    size_t eline = 0, ecol = 0;
    char msg[256];
    int rc;

    rc = csv_new(text, len, &c);
    if (rc < 0) {
        return rc;
    }
    msg[0] = '\0';
    rc = csv_next(c, &rec, &eline, &ecol, msg, sizeof(msg));
    if (rc == 0) {
        outcomes_err(p, 0, 0,
                     "the file is empty; its first line must name the columns: "
                     "subject_id,team,period,metric,value");
        goto out;
    }
    if (rc < 0) {
        outcomes_err(p, eline, ecol, "%s", msg[0] ? msg : "cannot be read as CSV");
        goto out;
    }
    if (outcomes_header(p, &rec, map) < 0) {
        goto out;
    }
    for (;;) {
        msg[0] = '\0';
        rc = csv_next(c, &rec, &eline, &ecol, msg, sizeof(msg));
        if (rc == 0) {
            break;
        }
        if (rc < 0) {
            /* The reader cannot find the next record after a broken one. */
            outcomes_err(p, eline, ecol, "%s", msg[0] ? msg : "cannot be read as CSV");
            goto out;
        }
        if (rec.n != OUTCOMES_NCOL) {
            outcomes_err(p, rec.line, rec.n > OUTCOMES_NCOL ? rec.col[OUTCOMES_NCOL] : 1,
                         "%zu fields, expected %d (subject_id,team,period,metric,value)", rec.n,
                         OUTCOMES_NCOL);
            continue;
        }
        if (p->n >= OUTCOMES_MAX_ROWS) {
            outcomes_err(p, rec.line, 1, "more than %u rows; split the file", OUTCOMES_MAX_ROWS);
            rc = -E2BIG;
            goto out;
        }
        rc = outcomes_row(p, &rec, map);
        if (rc < 0) {
            goto out;
        }
    }
    rc = outcomes_dups(p);
out:
    csv_free(c);
    if (rc >= 0 && p->oom) {
        rc = -ENOMEM;
    }
    if (rc >= 0 && p->nerrs > 0) {
        rc = -EINVAL;
    }
    return rc < 0 ? rc : 0;
}

int outcomes_parse_csv_pos(const char *name, const char *text, size_t len, outcomes_err_cb errs,
                           void *arg, size_t max_errs, Coachq__V1__Outcome ***rows, size_t *n,
                           size_t *n_errs, struct outcomes_pos **pos)
{
    struct outcomes_parse p;
    int rc;

    *rows = NULL;
    *n = 0;
    *n_errs = 0;
    if (pos != NULL) {
        *pos = NULL;
    }
    memset(&p, 0, sizeof(p));
    p.name = name != NULL ? name : "-";
    p.max_errs = errs != NULL ? max_errs : 0;
    if (p.max_errs > 0) {
        p.errs = calloc(p.max_errs, sizeof(*p.errs));
        if (p.errs == NULL) {
            return -ENOMEM;
        }
    }
    rc = outcomes_read(&p, text, len);
    if (p.nkept > 1) {
        qsort(p.errs, p.nkept, sizeof(*p.errs), outcomes_err_cmp);
    }
    for (size_t i = 0; i < p.nkept; i++) {
        if (rc != -ENOMEM) {
            errs(p.errs[i].msg, arg);
        }
        free(p.errs[i].msg);
    }
    free(p.errs);
    *n_errs = p.nerrs;
    if (rc < 0) {
        outcomes_rows_free(p.rows, p.n);
        free(p.pos);
        return rc;
    }
    *rows = p.rows;
    *n = p.n;
    if (pos != NULL) {
        *pos = p.pos;
    } else {
        free(p.pos);
    }
    return 0;
}

int outcomes_parse_csv(const char *name, const char *text, size_t len, outcomes_err_cb errs,
                       void *arg, size_t max_errs, Coachq__V1__Outcome ***rows, size_t *n,
                       size_t *n_errs)
{
    return outcomes_parse_csv_pos(name, text, len, errs, arg, max_errs, rows, n, n_errs, NULL);
}

void outcomes_rows_free(Coachq__V1__Outcome **rows, size_t n)
{
    if (rows == NULL) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (rows[i] != NULL) {
            free(rows[i]->subject_id);
            free(rows[i]->period);
            free(rows[i]->metric);
            free(rows[i]);
        }
    }
    free(rows);
}

int outcomes_fault_col(const char *field, size_t *row)
{
    static const char *const names[OUTCOMES_NCOL] = {"subject_id", "team", "period", "metric",
                                                     "value"};
    static const char head[] = "outcomes[";
    const char *s;
    char *end = NULL;
    unsigned long long i;

    if (field == NULL || strncmp(field, head, sizeof(head) - 1) != 0) {
        return -1;
    }
    s = field + sizeof(head) - 1;
    if (*s < '0' || *s > '9') {
        return -1;
    }
    errno = 0;
    i = strtoull(s, &end, 10);
    if (errno != 0 || end == NULL || *end != ']') {
        return -1;
    }
    *row = (size_t)i;
    if (end[1] != '.') {
        return -1;
    }
    for (int k = 0; k < OUTCOMES_NCOL; k++) {
        if (strcmp(end + 2, names[k]) == 0) {
            return k;
        }
    }
    return -1;
}
