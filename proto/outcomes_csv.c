/*
 * outcomes_csv: the CSV reader of business results (outcomes_csv.h), on
 * the imports' table format (table.h): this file holds only what an
 * outcomes row means.
 */
#include "outcomes_csv.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csv.h"
#include "table.h"

/* ---- CSV -------------------------------------------------------------- */

static const char *const outcomes_cols[OUTCOMES_NCOL] = {"subject_id", "team", "period", "metric",
                                                         "value"};

/* The table: five columns; more rows than the store takes in one import
 * end the reading, and every row is read however many errors there are,
 * so that the count is complete. */
static const struct table_spec outcomes_spec = {
    .names = outcomes_cols,
    .ncol = OUTCOMES_NCOL,
    .max_rows = OUTCOMES_MAX_ROWS,
    .too_many = "; split the file",
    .too_many_rc = -E2BIG,
    .unreadable = "cannot be read as CSV",
    .stop_when_full = 0,
};

struct outcomes_parse {
    struct table_errs errs;
    Coachq__V1__Outcome **rows;
    struct outcomes_pos *pos;
    size_t n, cap;
};

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
static int outcomes_row(const struct table_row *r, void *arg)
{
    struct outcomes_parse *p = arg;
    char *const *f = r->f;
    struct outcomes_pos pos;
    Coachq__V1__Outcome *o;
    size_t before = p->errs.total;
    char msg[200];
    double value = 0;
    int team = 0;

    pos.line = r->line;
    for (size_t k = 0; k < OUTCOMES_NCOL; k++) {
        pos.col[k] = r->col[k];
    }
    if (validate_id(f[OUTCOMES_COL_SUBJECT]) != 0) {
        table_err(&p->errs, pos.line, pos.col[OUTCOMES_COL_SUBJECT],
                  "subject_id '%.100s' is %s: 1 to %d letters, digits, '.', '_', '@' or '-'",
                  f[OUTCOMES_COL_SUBJECT],
                  f[OUTCOMES_COL_SUBJECT][0] ? "not a valid id" : "empty; it needs an id",
                  VALIDATE_MAX_ID);
    }
    if (strcasecmp(f[OUTCOMES_COL_TEAM], "yes") == 0) {
        team = 1;
    } else if (f[OUTCOMES_COL_TEAM][0] != '\0' && strcasecmp(f[OUTCOMES_COL_TEAM], "no") != 0) {
        table_err(&p->errs, pos.line, pos.col[OUTCOMES_COL_TEAM],
                  "team '%.40s' is not yes, no or empty (yes: the figure covers the "
                  "subject's team)",
                  f[OUTCOMES_COL_TEAM]);
    }
    if (outcomes_period_parse(f[OUTCOMES_COL_PERIOD], NULL, NULL) < 0) {
        table_err(&p->errs, pos.line, pos.col[OUTCOMES_COL_PERIOD],
                  "period '%.40s' is not a month YYYY-MM or a quarter YYYY-Qn (n 1 to 4), "
                  "years %d to %d",
                  f[OUTCOMES_COL_PERIOD], OUTCOMES_MIN_YEAR, OUTCOMES_MAX_YEAR);
    }
    if (!outcomes_metric_ok(f[OUTCOMES_COL_METRIC])) {
        table_err(&p->errs, pos.line, pos.col[OUTCOMES_COL_METRIC],
                  "metric '%.60s' is not win_rate, pipeline_coverage, quota_attainment, "
                  "crm_completeness, sessions_held, or a name of 1 to %d of a-z, 0-9 and '_'",
                  f[OUTCOMES_COL_METRIC], OUTCOMES_MAX_METRIC);
    } else if (outcomes_number(f[OUTCOMES_COL_VALUE], &value) < 0) {
        const char *v = f[OUTCOMES_COL_VALUE];
        size_t len = strlen(v);

        table_err(
            &p->errs, pos.line, pos.col[OUTCOMES_COL_VALUE], "value '%.40s' is not a number%s", v,
            len > 0 && v[len - 1] == '%' ? ": write percentages as plain numbers (45% as 0.45)"
                                         : " (plain decimal, e.g. 0.45 or 3.2)");
    } else if (outcomes_value_ok(f[OUTCOMES_COL_METRIC], value, msg, sizeof(msg)) < 0) {
        table_err(&p->errs, pos.line, pos.col[OUTCOMES_COL_VALUE], "value %s", msg);
    }
    if (p->errs.total > before) {
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
    return 1;
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
        table_err(&p->errs, p->pos[refs[i].i].line, p->pos[refs[i].i].col[OUTCOMES_COL_SUBJECT],
                  "subject '%s', team %s, period %s, metric %s is already on line %zu",
                  refs[i].o->subject_id, refs[i].o->team ? "yes" : "no", refs[i].o->period,
                  refs[i].o->metric, p->pos[refs[first].i].line);
    }
    free(refs);
    return 0;
}

static int outcomes_read(struct outcomes_parse *p, const char *text, size_t len)
{
    struct csv *c = NULL;
    int rc;

    rc = csv_new(text, len, &c);
    if (rc < 0) {
        return rc;
    }
    rc = table_read(c, &outcomes_spec, outcomes_row, p, &p->errs);
    if (rc == 0) {
        rc = outcomes_dups(p);
    }
    csv_free(c);
    if (rc >= 0 && p->errs.total > 0) {
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
    rc = table_errs_init(&p.errs, name != NULL ? name : "-", errs != NULL ? max_errs : 0);
    if (rc < 0) {
        return rc;
    }
    rc = outcomes_read(&p, text, len);
    table_errs_sort(&p.errs);
    for (size_t i = 0; i < p.errs.n && rc != -ENOMEM; i++) {
        errs(p.errs.kept[i].msg, arg);
    }
    *n_errs = p.errs.total;
    table_errs_close(&p.errs);
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
        if (strcmp(end + 2, outcomes_cols[k]) == 0) {
            return k;
        }
    }
    return -1;
}
