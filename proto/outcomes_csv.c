/*
 * outcomes_csv: the CSV reader of business results (outcomes_csv.h).
 */
#include "outcomes_csv.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csv.h"

#define OUTCOMES_MSG_LEN 600

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
