/*
 * table: the CSV table format of the imports (table.h).
 */
#include "table.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "day.h"
#include "error.h"
#include "grow.h"
#include "validate.h"

/* ---- Errors ------------------------------------------------------------ */

int table_errs_init(struct table_errs *e, const char *file, size_t max)
{
    memset(e, 0, sizeof(*e));
    e->file = file;
    if (max > 0) {
        /* Not zeroed: an entry is written whole before it counts. */
        e->kept = malloc(max * sizeof(*e->kept));
        if (e->kept == NULL) {
            return -ENOMEM;
        }
    }
    e->max = max;
    return 0;
}

void table_errs_close(struct table_errs *e)
{
    free(e->kept);
    e->kept = NULL;
    e->max = e->n = e->total = 0;
}

void table_err(struct table_errs *e, size_t line, size_t col, const char *fmt, ...)
{
    struct table_err *k;
    size_t len = sizeof(k->msg);
    va_list ap;
    int off;

    e->total++;
    if (e->n >= e->max) {
        return;
    }
    k = &e->kept[e->n];
    k->line = line;
    k->col = col;
    if (line == 0) {
        off = snprintf(k->msg, len, "%s: ", e->file);
    } else {
        off = snprintf(k->msg, len, "%s:%zu:%zu: ", e->file, line, col);
    }
    if (off < 0 || (size_t)off >= len) {
        off = (int)len - 1;
    }
    va_start(ap, fmt);
    vsnprintf(k->msg + off, len - (size_t)off, fmt, ap);
    va_end(ap);
    e->n++;
}

int table_errs_full(const struct table_errs *e)
{
    return e->n >= e->max;
}

void table_errs_truncate(struct table_errs *e, size_t total)
{
    if (total < e->total) {
        e->total = total;
    }
    if (e->n > e->total) {
        e->n = e->total;
    }
}

void table_errs_sort(struct table_errs *e)
{
    /* An insertion sort: stable, and there are at most some dozens. */
    for (size_t i = 1; i < e->n; i++) {
        struct table_err x = e->kept[i];
        size_t k = i;

        while (k > 0 && (e->kept[k - 1].line > x.line ||
                         (e->kept[k - 1].line == x.line && e->kept[k - 1].col > x.col))) {
            e->kept[k] = e->kept[k - 1];
            k--;
        }
        e->kept[k] = x;
    }
}

/* ---- Reading ------------------------------------------------------------- */

/* One record's fields, trimmed, while its callback runs: one buffer that
 * grows to the longest record (most are some dozens of bytes). */
struct table_cells {
    char *buf;
    size_t cap;
};

/* Copies s without leading and trailing blanks into out (strlen(s) + 1
 * bytes); *lead gets how many were skipped at the start (the column of the
 * text proper moves by that). */
static void table_trim(const char *s, char *out, size_t *lead)
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

static void table_columns_text(const struct table_spec *spec, char *buf, size_t len)
{
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < spec->ncol && o < len; i++) {
        int w = snprintf(buf + o, len - o, "%s%s", i ? "," : "", spec->names[i]);

        if (w < 0) {
            break;
        }
        o += (size_t)w;
    }
}

static void table_header_err(size_t line, size_t col, const char *msg, void *arg)
{
    table_err(arg, line, col, "%s", msg);
}

/* Reports the reader's error at its place. */
static int table_csv_err(struct table_errs *e, const struct table_spec *spec, int rc, size_t line,
                         size_t col, const char *msg)
{
    table_err(e, line, col, "%s",
              msg[0]                     ? msg
              : spec->unreadable != NULL ? spec->unreadable
                                         : error_strerror(rc));
    return -EINVAL;
}

/* Trims rec's fields into cells and calls row with them. */
static int table_record(const struct table_spec *spec, const struct csv_record *rec,
                        const size_t *map, struct table_cells *cells, table_row_cb row, void *arg)
{
    struct table_row r;
    size_t need = 0, off = 0;

    for (size_t i = 0; i < rec->n && i < spec->ncol; i++) {
        need += strlen(rec->field[i]) + 1;
    }
    if (need > cells->cap) {
        char *buf = realloc(cells->buf, need);

        if (buf == NULL) {
            return -ENOMEM;
        }
        cells->buf = buf;
        cells->cap = need;
    }
    memset(&r, 0, sizeof(r));
    r.line = rec->line;
    /* Optional columns the file leaves out read as empty, at column 0. */
    for (size_t k = 0; k < spec->ncol; k++) {
        r.f[k] = (char *)"";
    }
    for (size_t i = 0; i < rec->n && i < spec->ncol; i++) {
        size_t lead;

        r.f[map[i]] = cells->buf + off;
        table_trim(rec->field[i], r.f[map[i]], &lead);
        off += strlen(rec->field[i]) + 1;
        r.col[map[i]] = rec->col[i] + lead;
    }
    return row(&r, arg);
}

/* The header's trimmed field i equals name. */
static int table_header_has(const struct csv_record *rec, const char *name)
{
    for (size_t i = 0; i < rec->n; i++) {
        const char *f = rec->field[i];
        size_t lead = 0, end = strlen(f);

        while (f[lead] == ' ' || f[lead] == '\t') {
            lead++;
        }
        while (end > lead && (f[end - 1] == ' ' || f[end - 1] == '\t')) {
            end--;
        }
        if (strlen(name) == end - lead && memcmp(name, f + lead, end - lead) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The columns the header must name: the required ones and the optional
 * ones it does name; names[j] is the spec's column idx[j]. Returns how
 * many. */
static size_t table_header_cols(const struct table_spec *spec, const struct csv_record *rec,
                                const char **names, size_t *idx)
{
    size_t nreq = spec->nrequired != 0 ? spec->nrequired : spec->ncol;
    size_t n = 0;

    for (size_t k = 0; k < spec->ncol; k++) {
        if (k < nreq || table_header_has(rec, spec->names[k])) {
            names[n] = spec->names[k];
            idx[n++] = k;
        }
    }
    return n;
}

int table_read(struct csv *c, const struct table_spec *spec, table_row_cb row, void *arg,
               struct table_errs *e)
{
    const char *names[TABLE_MAX_COLS];
    size_t idx[TABLE_MAX_COLS];
    size_t nhdr;
    size_t map[CSV_MAX_FIELDS];
    struct table_cells cells = {NULL, 0};
    struct csv_record rec;
    size_t eline = 0, ecol = 0, kept = 0;
    char msg[256], all[256];
    int rc;

    table_columns_text(spec, all, sizeof(all));
    msg[0] = '\0';
    rc = csv_next(c, &rec, &eline, &ecol, msg, sizeof(msg));
    if (rc == 0) {
        table_err(e, 0, 0, "the file is empty; its first line must name the columns: %s", all);
        rc = -EINVAL;
        goto out;
    }
    if (rc < 0) {
        rc = table_csv_err(e, spec, rc, eline, ecol, msg);
        goto out;
    }
    nhdr = table_header_cols(spec, &rec, names, idx);
    if (csv_header_map(&rec, names, nhdr, map, table_header_err, e) > 0) {
        rc = -EINVAL;
        goto out;
    }
    for (size_t i = 0; i < rec.n; i++) {
        map[i] = idx[map[i]];
    }
    for (;;) {
        msg[0] = '\0';
        rc = csv_next(c, &rec, &eline, &ecol, msg, sizeof(msg));
        if (rc == 0) {
            break;
        }
        if (rc < 0) {
            /* The reader cannot find the next record after a broken one. */
            rc = table_csv_err(e, spec, rc, eline, ecol, msg);
            goto out;
        }
        if (rec.n != nhdr) {
            table_err(e, rec.line, rec.n > nhdr ? rec.col[nhdr] : 1,
                      "%zu fields, expected %zu (%s)", rec.n, nhdr, all);
        } else if (kept >= spec->max_rows) {
            table_err(e, rec.line, 1, "more than %zu rows%s", spec->max_rows, spec->too_many);
            rc = spec->too_many_rc;
            goto out;
        } else {
            rc = table_record(spec, &rec, map, &cells, row, arg);
            if (rc < 0) {
                goto out;
            }
            kept += rc > 0 ? 1 : 0;
        }
        if (spec->stop_when_full && table_errs_full(e)) {
            rc = -EINVAL;
            goto out;
        }
    }
    rc = 0;
out:
    free(cells.buf);
    return rc;
}

/* ---- Rows in memory ------------------------------------------------------ */

int table_keep(const struct table_row *row, void *arg)
{
    struct table *t = arg;
    struct table_row *r;
    size_t need = 0, off = 0;

    if (GROW_ARRAY(t->rows, t->cap, t->n + 1, 64) < 0) {
        return -ENOMEM;
    }
    r = &t->rows[t->n];
    memset(r, 0, sizeof(*r));
    r->line = row->line;
    t->n++;
    /* One allocation holds the row's fields: an import of a million rows
     * makes a million allocations, not one per field. */
    for (size_t k = 0; k < TABLE_MAX_COLS; k++) {
        need += row->f[k] != NULL ? strlen(row->f[k]) + 1 : 0;
    }
    r->text = malloc(need > 0 ? need : 1);
    if (r->text == NULL) {
        return -ENOMEM;
    }
    for (size_t k = 0; k < TABLE_MAX_COLS; k++) {
        size_t len;

        if (row->f[k] == NULL) {
            continue;
        }
        len = strlen(row->f[k]) + 1;
        r->f[k] = r->text + off;
        memcpy(r->f[k], row->f[k], len);
        off += len;
        r->col[k] = row->col[k];
    }
    return 1;
}

void table_clear(struct table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->rows[i].text);
    }
    free(t->rows);
    memset(t, 0, sizeof(*t));
}

/* ---- Cells ----------------------------------------------------------------- */

int table_check_id(struct table_errs *e, const struct table_row *r, size_t k, const char *what)
{
    if (validate_id(r->f[k]) < 0) {
        table_err(e, r->line, r->col[k],
                  "%s '%s' is %s: 1 to %d letters, digits, '.', '_', '@' or '-'", what, r->f[k],
                  r->f[k][0] ? "not a valid id" : "empty; it needs an id", VALIDATE_MAX_ID);
        return -EINVAL;
    }
    return 0;
}

int table_check_text(struct table_errs *e, const struct table_row *r, size_t k, const char *what,
                     size_t max, int required)
{
    const unsigned char *s = (const unsigned char *)r->f[k];

    if (required && s[0] == '\0') {
        table_err(e, r->line, r->col[k], "%s is empty", what);
        return -EINVAL;
    }
    if (strlen(r->f[k]) > max) {
        table_err(e, r->line, r->col[k], "%s is longer than %zu bytes", what, max);
        return -EINVAL;
    }
    for (size_t i = 0; s[i] != '\0'; i++) {
        if (s[i] < 0x20 || s[i] == 0x7f) {
            table_err(e, r->line, r->col[k], "%s holds a control character", what);
            return -EINVAL;
        }
    }
    return 0;
}

int table_check_date(struct table_errs *e, const struct table_row *r, size_t k, const char *what,
                     int required, int32_t *day, int *has)
{
    uint32_t d;

    *has = 0;
    *day = 0;
    if (r->f[k][0] == '\0') {
        if (required) {
            table_err(e, r->line, r->col[k], "%s is empty; it needs a date (YYYY-MM-DD)", what);
            return -EINVAL;
        }
        return 0;
    }
    if (day_parse(r->f[k], &d) < 0) {
        table_err(e, r->line, r->col[k],
                  "%s '%s' is not a valid date (YYYY-MM-DD, from 1970-01-01)", what, r->f[k]);
        return -EINVAL;
    }
    *day = (int32_t)d;
    *has = 1;
    return 0;
}
