/*
 * dashfmt: a Dashboard as JSON (built with jansson, then dumped into the
 * caller's buf), as CSV and as a terminal table (laid out in a grid of
 * cleaned cells first, so that column widths are known before a line is
 * written). What each format holds is in dashfmt.h.
 */
#include "dashfmt.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "day.h"
#include "jsonx.h"
#include "obs_json.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* What a cell says when its n is below the minimum (dash.h's
 * DASH_INSUFFICIENT; repeated here because cq_proto does not see dash.h). */
#define INSUFFICIENT_TEXT "insufficient data"
/* Terminal tables: the gap between columns, the width when the caller gives
 * none, and the narrowest width worth laying out. */
#define TEXT_GAP 2u
#define TEXT_DEFAULT_WIDTH 100u
#define TEXT_MIN_WIDTH 20u

/* ---- kinds --------------------------------------------------------------- */

/* Indexed by the enum value; UNSPECIFIED has no name. */
static const char *const kind_names[] = {NULL,        "managers", "manager",  "programme",
                                         "observers", "me",       "coaching", "observer"};

const char *dashfmt_kind_name(Coachq__V1__DashboardKind kind)
{
    if ((int)kind <= 0 || (size_t)kind >= COUNT(kind_names)) {
        return NULL;
    }
    return kind_names[kind];
}

Coachq__V1__DashboardKind dashfmt_kind_from_name(const char *name)
{
    if (name == NULL) {
        return COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_UNSPECIFIED;
    }
    for (size_t i = 1; i < COUNT(kind_names); i++) {
        if (strcmp(kind_names[i], name) == 0) {
            return (Coachq__V1__DashboardKind)i;
        }
    }
    return COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_UNSPECIFIED;
}

static const char *chart_kind_name(Coachq__V1__Chart__Kind k)
{
    switch (k) {
    case COACHQ__V1__CHART__KIND__KIND_LINES:
        return "lines";
    case COACHQ__V1__CHART__KIND__KIND_HEATMAP:
        return "heatmap";
    case COACHQ__V1__CHART__KIND__KIND_QUADRANT:
        return "quadrant";
    case COACHQ__V1__CHART__KIND__KIND_BARS:
        return "bars";
    default:
        return "unspecified";
    }
}

/* ---- UTF-8 --------------------------------------------------------------- */

/* The length of the valid UTF-8 sequence at s (len bytes left), or 0 when
 * the bytes there are not one: overlong forms, surrogates and values past
 * U+10FFFF are refused as the standard says. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
    unsigned c = s[0];
    size_t n;
    uint32_t cp;
    uint32_t min;

    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n > len) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return n;
}

/* The code point of the valid n-byte UTF-8 sequence at s. */
static uint32_t utf8_cp(const unsigned char *s, size_t n)
{
    static const unsigned char lead_mask[5] = {0, 0x7f, 0x1f, 0x0f, 0x07};
    uint32_t cp = s[0] & lead_mask[n];

    for (size_t i = 1; i < n; i++) {
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    return cp;
}

/*
 * The terminal columns code point cp takes, without a locale (the server
 * has none to ask): 0 for combining marks, zero-width joiners and
 * variation selectors, 2 for East Asian wide and full-width characters
 * and emoji, 1 for the rest. Ranges from the Unicode blocks they cover;
 * a rare character outside them may be off by one column, never more.
 */
static size_t cp_columns(uint32_t cp)
{
    static const uint32_t zero[][2] = {
        {0x0300, 0x036F},   {0x0483, 0x0489},   {0x0591, 0x05BD}, {0x0610, 0x061A},
        {0x064B, 0x065F},   {0x0E31, 0x0E31},   {0x0E34, 0x0E3A}, {0x0E47, 0x0E4E},
        {0x1AB0, 0x1AFF},   {0x1DC0, 0x1DFF},   {0x200B, 0x200F}, {0x2060, 0x2064},
        {0x20D0, 0x20FF},   {0xFE00, 0xFE0F},   {0xFE20, 0xFE2F}, {0x1F3FB, 0x1F3FF},
        {0xE0000, 0xE007F}, {0xE0100, 0xE01EF},
    };
    static const uint32_t wide[][2] = {
        {0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},   {0x23E9, 0x23EC},
        {0x23F0, 0x23F3},   {0x25FD, 0x25FE},   {0x2614, 0x2615},   {0x2648, 0x2653},
        {0x26A1, 0x26A1},   {0x26AA, 0x26AB},   {0x26BD, 0x26BE},   {0x26C4, 0x26C5},
        {0x26D4, 0x26D4},   {0x26EA, 0x26EA},   {0x26F2, 0x26F5},   {0x26FA, 0x26FD},
        {0x2705, 0x2705},   {0x270A, 0x270B},   {0x2728, 0x2728},   {0x274C, 0x274C},
        {0x2753, 0x2755},   {0x2757, 0x2757},   {0x2795, 0x2797},   {0x27B0, 0x27B0},
        {0x2B1B, 0x2B1C},   {0x2B50, 0x2B50},   {0x2B55, 0x2B55},   {0x2E80, 0x303E},
        {0x3041, 0x33FF},   {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},   {0xA000, 0xA4CF},
        {0xA960, 0xA97F},   {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},   {0xFE10, 0xFE19},
        {0xFE30, 0xFE6F},   {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},   {0x16FE0, 0x18CFF},
        {0x1B000, 0x1B2FF}, {0x1F004, 0x1F004}, {0x1F0CF, 0x1F0CF}, {0x1F18E, 0x1F18E},
        {0x1F191, 0x1F19A}, {0x1F200, 0x1F251}, {0x1F300, 0x1F64F}, {0x1F680, 0x1F6FF},
        {0x1F7E0, 0x1F7EB}, {0x1F90C, 0x1F9FF}, {0x1FA70, 0x1FAFF}, {0x20000, 0x2FFFD},
        {0x30000, 0x3FFFD},
    };

    if (cp < 0x300) {
        return 1;
    }
    for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
        if (cp >= zero[i][0] && cp <= zero[i][1]) {
            return 0;
        }
    }
    for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++) {
        if (cp >= wide[i][0] && cp <= wide[i][1]) {
            return 2;
        }
    }
    return 1;
}

/*
 * Copies s into a new string fit for the destination: invalid UTF-8 bytes
 * become '?', and with for_terminal set, control characters (C0, DEL and
 * C1, which a terminal would act on, and line breaks, which would break the
 * table) become a space. *width gets the terminal columns it takes
 * (cp_columns(); may be NULL). Returns NULL when out of memory; caller frees.
 */
static char *clean_text(const char *s, int for_terminal, size_t *width)
{
    const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
    size_t len = strlen((const char *)p);
    char *out = malloc(len + 1);
    size_t o = 0;
    size_t w = 0;

    if (out == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq(p + i, len - i);

        if (n == 0) {
            out[o++] = '?';
            i++;
            w++;
        } else if (for_terminal && n == 1 && (p[i] < 0x20 || p[i] == 0x7f)) {
            out[o++] = ' ';
            i++;
            w++;
        } else if (for_terminal && n == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0) {
            out[o++] = ' ';
            i += 2;
            w++;
        } else {
            memcpy(out + o, p + i, n);
            o += n;
            w += cp_columns(utf8_cp(p + i, n));
            i += n;
        }
    }
    out[o] = '\0';
    if (width != NULL) {
        *width = w;
    }
    return out;
}

/* ---- numbers ------------------------------------------------------------- */

/* Whether s is a plain decimal number as a figure is shown: an optional
 * '-', digits, and optionally '.' and more digits. */
static int plain_number(const char *s)
{
    const char *p = s;
    int digits = 0;

    if (p == NULL) {
        return 0;
    }
    if (*p == '-') {
        p++;
    }
    while (*p >= '0' && *p <= '9') {
        p++;
        digits++;
    }
    if (*p == '.') {
        int frac = 0;

        p++;
        while (*p >= '0' && *p <= '9') {
            p++;
            frac++;
        }
        if (frac == 0) {
            return 0;
        }
    }
    return digits > 0 && *p == '\0';
}

/* A cell that is a figure: it has a value, or would have one with a larger
 * n. Labels are neither. */
static int cell_is_figure(const Coachq__V1__Cell *c)
{
    return c->has_value || c->insufficient;
}

/* A cell that may be given as a number: a figure with a value (never an
 * insufficient one, whatever else it claims). */
static int cell_has_number(const Coachq__V1__Cell *c)
{
    return c->has_value && !c->insufficient && isfinite(c->value);
}

/* ---- JSON ---------------------------------------------------------------- */

/* A JSON string of s; jansson refuses invalid UTF-8, so such bytes are
 * replaced by '?' first. NULL only when out of memory. */
static json_t *json_text(const char *s)
{
    json_t *v = json_string(s != NULL ? s : "");
    char *copy;

    if (v != NULL) {
        return v;
    }
    copy = clean_text(s, 0, NULL);
    if (copy == NULL) {
        return NULL;
    }
    v = json_string(copy);
    free(copy);
    return v;
}

/* A number, or null where there is none to give (JSON has no NaN). */
static json_t *json_number(double v, int present)
{
    return present && isfinite(v) ? json_real(v) : json_null();
}

static json_t *json_day(int32_t day)
{
    char s[DAY_TIME_LEN];

    day_format(day, s, sizeof(s));
    return json_string(s);
}

/* Appends v (taking ownership) to arr; -1 when v is NULL or it failed. */
static int push(json_t *arr, json_t *v)
{
    if (v == NULL) {
        return -1;
    }
    return json_array_append_new(arr, v);
}

static json_t *strings_json(char **s, size_t n)
{
    json_t *arr = json_array();

    if (arr == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (push(arr, json_text(s[i])) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *cell_json(const Coachq__V1__Cell *c)
{
    json_t *o = json_object();

    if (o == NULL) {
        return NULL;
    }
    if (jsonx_put(o, "text", json_text(c->text)) < 0 ||
        jsonx_put(o, "value", json_number(c->value, cell_has_number(c))) < 0 ||
        jsonx_put(o, "n", json_integer(c->n)) < 0 ||
        jsonx_put(o, "insufficient", json_boolean(c->insufficient)) < 0 ||
        (c->link != NULL && c->link[0] != '\0' && jsonx_put(o, "link", json_text(c->link)) < 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *row_json(const Coachq__V1__TableRow *r)
{
    json_t *arr = json_array();

    if (arr == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < r->n_cells; i++) {
        if (push(arr, cell_json(r->cells[i])) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *table_json(const Coachq__V1__Table *t)
{
    json_t *o = json_object();
    json_t *rows = json_array();

    if (o == NULL || rows == NULL) {
        goto fail;
    }
    for (size_t i = 0; i < t->n_rows; i++) {
        if (push(rows, row_json(t->rows[i])) < 0) {
            goto fail;
        }
    }
    if (jsonx_put(o, "id", json_text(t->id)) < 0 ||
        jsonx_put(o, "title", json_text(t->title)) < 0 ||
        jsonx_put(o, "columns", strings_json(t->columns, t->n_columns)) < 0) {
        goto fail;
    }
    if (jsonx_put(o, "rows", rows) < 0) {
        rows = NULL;
        goto fail;
    }
    rows = NULL;
    if (t->note != NULL && t->note[0] != '\0' && jsonx_put(o, "note", json_text(t->note)) < 0) {
        goto fail;
    }
    return o;
fail:
    json_decref(rows);
    json_decref(o);
    return NULL;
}

/* Element i of a series' repeated field of n entries, or dflt past its end
 * (a sender may leave the arrays short). */
#define AT(arr, n, i, dflt) ((i) < (n) ? (arr)[i] : (dflt))

static json_t *series_json(const Coachq__V1__Series *s)
{
    json_t *o = json_object();
    json_t *y = json_array();
    json_t *n = json_array();
    json_t *lo = s->has_band ? json_array() : NULL;
    json_t *hi = s->has_band ? json_array() : NULL;

    if (o == NULL || y == NULL || n == NULL || (s->has_band && (lo == NULL || hi == NULL))) {
        goto fail;
    }
    for (size_t i = 0; i < s->n_y; i++) {
        int present = AT(s->present, s->n_present, i, 1) != 0;

        if (push(y, json_number(s->y[i], present)) < 0 ||
            push(n, json_integer(AT(s->n, s->n_n, i, 0))) < 0) {
            goto fail;
        }
        if (s->has_band &&
            (push(lo, json_number(AT(s->lo, s->n_lo, i, NAN), present && i < s->n_lo)) < 0 ||
             push(hi, json_number(AT(s->hi, s->n_hi, i, NAN), present && i < s->n_hi)) < 0)) {
            goto fail;
        }
    }
    if (jsonx_put(o, "name", json_text(s->name)) < 0) {
        goto fail;
    }
    /* jsonx_put() takes each array whether or not it succeeds. */
    {
        int bad = jsonx_put(o, "y", y) < 0;

        y = NULL;
        bad |= jsonx_put(o, "n", n) < 0;
        n = NULL;
        if (s->has_band) {
            bad |= jsonx_put(o, "lo", lo) < 0;
            lo = NULL;
            bad |= jsonx_put(o, "hi", hi) < 0;
            hi = NULL;
        }
        if (bad) {
            goto fail;
        }
    }
    return o;
fail:
    json_decref(y);
    json_decref(n);
    json_decref(lo);
    json_decref(hi);
    json_decref(o);
    return NULL;
}

static json_t *point_json(const Coachq__V1__Point *p)
{
    json_t *o = json_object();

    if (o == NULL) {
        return NULL;
    }
    if (jsonx_put(o, "label", json_text(p->label)) < 0 ||
        jsonx_put(o, "x", json_number(p->x, 1)) < 0 ||
        jsonx_put(o, "y", json_number(p->y, 1)) < 0 || jsonx_put(o, "n", json_integer(p->n)) < 0 ||
        jsonx_put(o, "flagged", json_boolean(p->flagged)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *chart_json(const Coachq__V1__Chart *c)
{
    json_t *o = json_object();
    json_t *series = json_array();
    json_t *points = json_array();
    int bad;

    if (o == NULL || series == NULL || points == NULL) {
        goto fail;
    }
    for (size_t i = 0; i < c->n_series; i++) {
        if (push(series, series_json(c->series[i])) < 0) {
            goto fail;
        }
    }
    for (size_t i = 0; i < c->n_points; i++) {
        if (push(points, point_json(c->points[i])) < 0) {
            goto fail;
        }
    }
    if (jsonx_put(o, "id", json_text(c->id)) < 0 ||
        jsonx_put(o, "title", json_text(c->title)) < 0 ||
        jsonx_put(o, "kind", json_string(chart_kind_name(c->kind))) < 0 ||
        (c->table_id != NULL && c->table_id[0] != '\0' &&
         jsonx_put(o, "table", json_text(c->table_id)) < 0) ||
        jsonx_put(o, "x_title", json_text(c->x_title)) < 0 ||
        jsonx_put(o, "y_title", json_text(c->y_title)) < 0 ||
        jsonx_put(o, "y_min", json_number(c->y_min, 1)) < 0 ||
        jsonx_put(o, "y_max", json_number(c->y_max, 1)) < 0 ||
        jsonx_put(o, "x_labels", strings_json(c->x_labels, c->n_x_labels)) < 0) {
        goto fail;
    }
    if (c->kind == COACHQ__V1__CHART__KIND__KIND_QUADRANT &&
        (jsonx_put(o, "x_split", json_number(c->x_split, 1)) < 0 ||
         jsonx_put(o, "y_split", json_number(c->y_split, 1)) < 0)) {
        goto fail;
    }
    bad = jsonx_put(o, "series", series) < 0;
    series = NULL;
    bad |= jsonx_put(o, "points", points) < 0;
    points = NULL;
    if (bad) {
        goto fail;
    }
    return o;
fail:
    json_decref(series);
    json_decref(points);
    json_decref(o);
    return NULL;
}

static json_t *dashboard_json(const Coachq__V1__Dashboard *d)
{
    json_t *o = json_object();
    json_t *tables = json_array();
    json_t *charts = json_array();
    const char *kind = dashfmt_kind_name(d->kind);
    char generated[DAY_TIME_LEN];
    int bad;

    if (o == NULL || tables == NULL || charts == NULL) {
        goto fail;
    }
    for (size_t i = 0; i < d->n_tables; i++) {
        if (push(tables, table_json(d->tables[i])) < 0) {
            goto fail;
        }
    }
    for (size_t i = 0; i < d->n_charts; i++) {
        if (push(charts, chart_json(d->charts[i])) < 0) {
            goto fail;
        }
    }
    day_format_time_ms(d->generated_at_ms, generated, sizeof(generated));
    if (jsonx_put(o, "kind", kind != NULL ? json_string(kind) : json_null()) < 0 ||
        jsonx_put(o, "title", json_text(d->title)) < 0 ||
        jsonx_put(o, "subject_id", json_text(d->subject_id)) < 0 ||
        jsonx_put(o, "subject_name", json_text(d->subject_name)) < 0 ||
        jsonx_put(o, "rubric_id", json_text(d->rubric_id)) < 0 ||
        jsonx_put(o, "from", json_day(d->from_day)) < 0 ||
        jsonx_put(o, "until", json_day(d->until_day)) < 0 ||
        jsonx_put(o, "min_n", json_integer(d->min_n)) < 0 ||
        jsonx_put(o, "privacy_min", json_integer(d->privacy_min)) < 0 ||
        jsonx_put(o, "generated_at", json_string(generated)) < 0 ||
        jsonx_put(o, "assigned_only", json_boolean(d->assigned_only)) < 0 ||
        jsonx_put(o, "notes", strings_json(d->notes, d->n_notes)) < 0) {
        goto fail;
    }
    bad = jsonx_put(o, "tables", tables) < 0;
    tables = NULL;
    bad |= jsonx_put(o, "charts", charts) < 0;
    charts = NULL;
    if (bad) {
        goto fail;
    }
    return o;
fail:
    json_decref(tables);
    json_decref(charts);
    json_decref(o);
    return NULL;
}

/* json_dump_callback() only learns that a write failed; the buf's own code
 * (-ENOBUFS for a full buf) is kept here so that the caller gets it. */
struct dump_ctx {
    struct buf *out;
    int rc;
};

static int dump_cb(const char *p, size_t n, void *arg)
{
    struct dump_ctx *x = arg;
    int rc = buf_append(x->out, p, n);

    if (rc < 0) {
        x->rc = rc;
        return -1;
    }
    return 0;
}

int dashfmt_json(const Coachq__V1__Dashboard *d, struct buf *out)
{
    struct dump_ctx x = {out, 0};
    size_t start = out->len;
    json_t *j = dashboard_json(d);
    int rc = -ENOMEM;

    if (j == NULL) {
        return -ENOMEM;
    }
    if (json_dump_callback(j, dump_cb, &x, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 &&
        dump_cb("\n", 1, &x) == 0) {
        rc = 0;
    } else if (x.rc < 0) {
        rc = x.rc;
    }
    if (rc < 0) {
        out->len = start;
    }
    json_decref(j);
    return rc;
}

/* ---- CSV ----------------------------------------------------------------- */

/* Appends one field: neutralised when a spreadsheet would take it for a
 * formula (unless is_number says it is a figure's plain number), and
 * quoted when it holds a separator, a quote or a line break. */
static int csv_field(struct buf *out, const char *s, int is_number)
{
    int quote = strpbrk(s, ",\"\r\n") != NULL;
    int rc = 0;

    if (quote) {
        rc = buf_append(out, "\"", 1);
    }
    if (rc == 0 && !is_number && s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL) {
        rc = buf_append(out, "'", 1);
    }
    for (const char *p = s; rc == 0 && *p != '\0';) {
        const char *q = quote ? strchr(p, '"') : NULL;
        size_t n = q != NULL ? (size_t)(q - p) + 1 : strlen(p);

        rc = buf_append(out, p, n);
        if (rc == 0 && q != NULL) {
            rc = buf_append(out, "\"", 1);
        }
        p += n;
    }
    if (rc == 0 && quote) {
        rc = buf_append(out, "\"", 1);
    }
    return rc;
}

static int csv_sep(struct buf *out, size_t col)
{
    return col > 0 ? buf_append(out, ",", 1) : 0;
}

/* The figure of a cell with a number, rounded as shown: its text when that
 * is a plain number, also after dropping a sign "+" or a unit "%" ("+0.25",
 * "62%"), else the value itself. */
static int csv_figure(struct buf *out, const Coachq__V1__Cell *c)
{
    char num[64];
    const char *t = c->text != NULL ? c->text : "";
    size_t len;

    if (t[0] == '+') {
        t++;
    }
    len = strlen(t);
    if (len > 0 && t[len - 1] == '%') {
        len--;
    }
    if (len > 0 && len < sizeof(num)) {
        memcpy(num, t, len);
        num[len] = '\0';
        if (plain_number(num)) {
            return csv_field(out, num, 1);
        }
    }
    snprintf(num, sizeof(num), "%.6g", c->value);
    return csv_field(out, num, 1);
}

int dashfmt_csv(const Coachq__V1__Table *t, struct buf *out)
{
    size_t start = out->len;
    unsigned char *figure = calloc(t->n_columns > 0 ? t->n_columns : 1, 1);
    char name[300];
    int rc = -ENOMEM;

    if (figure == NULL) {
        return -ENOMEM;
    }
    /* A column whose cells carry figures gets its n beside it. */
    for (size_t i = 0; i < t->n_rows; i++) {
        const Coachq__V1__TableRow *r = t->rows[i];

        for (size_t j = 0; j < r->n_cells && j < t->n_columns; j++) {
            if (r->cells[j]->n > 0 || cell_is_figure(r->cells[j])) {
                figure[j] = 1;
            }
        }
    }
    rc = 0;
    for (size_t j = 0, col = 0; rc == 0 && j < t->n_columns; j++) {
        const char *c = t->columns[j] != NULL ? t->columns[j] : "";

        rc = csv_sep(out, col++);
        if (rc == 0) {
            rc = csv_field(out, c, 0);
        }
        if (rc == 0 && figure[j]) {
            snprintf(name, sizeof(name), "%s n", c);
            rc = csv_sep(out, col++);
            if (rc == 0) {
                rc = csv_field(out, name, 0);
            }
        }
    }
    if (rc == 0) {
        rc = buf_append(out, "\r\n", 2);
    }
    for (size_t i = 0; rc == 0 && i < t->n_rows; i++) {
        const Coachq__V1__TableRow *r = t->rows[i];

        for (size_t j = 0, col = 0; rc == 0 && j < t->n_columns; j++) {
            const Coachq__V1__Cell *c = j < r->n_cells ? r->cells[j] : NULL;

            rc = csv_sep(out, col++);
            if (rc == 0 && c != NULL) {
                if (cell_has_number(c)) {
                    rc = csv_figure(out, c);
                } else if (c->insufficient) {
                    rc = csv_field(out, INSUFFICIENT_TEXT, 0);
                } else {
                    rc = csv_field(out, c->text != NULL ? c->text : "", 0);
                }
            }
            if (rc == 0 && figure[j]) {
                rc = csv_sep(out, col++);
                if (rc == 0 && c != NULL && (c->n > 0 || cell_is_figure(c))) {
                    char n[16];

                    snprintf(n, sizeof(n), "%u", (unsigned)c->n);
                    rc = csv_field(out, n, 1);
                }
            }
        }
        if (rc == 0) {
            rc = buf_append(out, "\r\n", 2);
        }
    }
    free(figure);
    if (rc < 0) {
        out->len = start;
    }
    return rc;
}

/* ---- text ---------------------------------------------------------------- */

/* One laid-out cell: its cleaned text (owned) and how many columns it
 * takes on a terminal. */
struct tcell {
    char *s;
    size_t w;
    int right; /* a figure: right-aligned */
};

/* A table for the terminal: a header row and nrows rows of ncols cells. */
struct grid {
    size_t ncols;
    size_t nrows;    /* body rows, header not counted */
    struct tcell *c; /* (nrows + 1) * ncols, header first */
};

static struct tcell *grid_at(struct grid *g, size_t row, size_t col)
{
    return &g->c[row * g->ncols + col];
}

static int grid_init(struct grid *g, size_t ncols, size_t nrows)
{
    g->ncols = ncols;
    g->nrows = nrows;
    if (ncols != 0 && nrows + 1 > SIZE_MAX / sizeof(*g->c) / ncols) {
        g->c = NULL;
        return -ENOMEM;
    }
    g->c = calloc((nrows + 1) * (ncols > 0 ? ncols : 1), sizeof(*g->c));
    return g->c != NULL ? 0 : -ENOMEM;
}

static void grid_free(struct grid *g)
{
    if (g->c != NULL) {
        for (size_t i = 0; i < (g->nrows + 1) * g->ncols; i++) {
            free(g->c[i].s);
        }
    }
    free(g->c);
    g->c = NULL;
}

/* Sets a cell to the cleaned text s. Returns 0 or -ENOMEM. */
static int grid_set(struct grid *g, size_t row, size_t col, const char *s, int right)
{
    struct tcell *c = grid_at(g, row, col);

    free(c->s);
    c->s = clean_text(s, 1, &c->w);
    c->right = right;
    return c->s != NULL ? 0 : -ENOMEM;
}

/* How a figure reads on a terminal: its text and " (n=12)", except for a
 * count, whose n is the figure itself. */
static void figure_text(const char *text, unsigned n, char *out, size_t outlen)
{
    char nbuf[16];

    snprintf(nbuf, sizeof(nbuf), "%u", n);
    if (n == 0 || strcmp(text, nbuf) == 0) {
        snprintf(out, outlen, "%s", text);
    } else {
        snprintf(out, outlen, "%s (n=%u)", text, n);
    }
}

static int grid_set_cell(struct grid *g, size_t row, size_t col, const Coachq__V1__Cell *c)
{
    char s[512];
    const char *text = c->text != NULL ? c->text : "";

    if (!cell_is_figure(c)) {
        return grid_set(g, row, col, text, 0);
    }
    if (c->insufficient) {
        text = INSUFFICIENT_TEXT;
    }
    figure_text(text, c->n, s, sizeof(s));
    return grid_set(g, row, col, s, 1);
}

static int grid_from_table(struct grid *g, const Coachq__V1__Table *t)
{
    int rc = grid_init(g, t->n_columns, t->n_rows);

    for (size_t j = 0; rc == 0 && j < t->n_columns; j++) {
        rc = grid_set(g, 0, j, t->columns[j], 0);
    }
    for (size_t i = 0; rc == 0 && i < t->n_rows; i++) {
        const Coachq__V1__TableRow *r = t->rows[i];

        for (size_t j = 0; rc == 0 && j < t->n_columns; j++) {
            if (j < r->n_cells) {
                rc = grid_set_cell(g, i + 1, j, r->cells[j]);
                /* A header over figures is right-aligned with them. */
                if (grid_at(g, i + 1, j)->right) {
                    grid_at(g, 0, j)->right = 1;
                }
            } else {
                rc = grid_set(g, i + 1, j, "", 0);
            }
        }
    }
    return rc;
}

/* The figures of a chart that has no table of its own, as a table: a
 * row per series over the x labels, or a row per point of a quadrant. */
static int grid_from_chart(struct grid *g, const Coachq__V1__Chart *c)
{
    char s[512];
    char num[64];
    int rc;

    if (c->kind == COACHQ__V1__CHART__KIND__KIND_QUADRANT) {
        rc = grid_init(g, 4, c->n_points);
        if (rc == 0) {
            rc = grid_set(g, 0, 0, "", 0);
        }
        if (rc == 0) {
            rc = grid_set(g, 0, 1, c->x_title, 1);
        }
        if (rc == 0) {
            rc = grid_set(g, 0, 2, c->y_title, 1);
        }
        if (rc == 0) {
            rc = grid_set(g, 0, 3, "", 0);
        }
        for (size_t i = 0; rc == 0 && i < c->n_points; i++) {
            const Coachq__V1__Point *p = c->points[i];

            rc = grid_set(g, i + 1, 0, p->label, 0);
            snprintf(num, sizeof(num), "%.2f", p->x);
            if (rc == 0) {
                rc = grid_set(g, i + 1, 1, num, 1);
            }
            snprintf(num, sizeof(num), "%.2f", p->y);
            figure_text(num, p->n, s, sizeof(s));
            if (rc == 0) {
                rc = grid_set(g, i + 1, 2, s, 1);
            }
            if (rc == 0) {
                rc = grid_set(g, i + 1, 3, p->flagged ? "flagged" : "", 0);
            }
        }
        return rc;
    }
    rc = grid_init(g, c->n_x_labels + 1, c->n_series);
    if (rc == 0) {
        rc = grid_set(g, 0, 0, "", 0);
    }
    for (size_t j = 0; rc == 0 && j < c->n_x_labels; j++) {
        rc = grid_set(g, 0, j + 1, c->x_labels[j], 1);
    }
    for (size_t i = 0; rc == 0 && i < c->n_series; i++) {
        const Coachq__V1__Series *se = c->series[i];

        rc = grid_set(g, i + 1, 0, se->name, 0);
        for (size_t j = 0; rc == 0 && j < c->n_x_labels; j++) {
            unsigned n = AT(se->n, se->n_n, j, 0);

            if (j < se->n_y && AT(se->present, se->n_present, j, 1) && isfinite(se->y[j])) {
                snprintf(num, sizeof(num), "%.2f", se->y[j]);
                figure_text(num, n, s, sizeof(s));
            } else if (n > 0) {
                figure_text(INSUFFICIENT_TEXT, n, s, sizeof(s));
            } else {
                snprintf(s, sizeof(s), "-");
            }
            rc = grid_set(g, i + 1, j + 1, s, 1);
        }
    }
    return rc;
}

static int put_spaces(struct buf *out, size_t n)
{
    static const char spaces[] = "                                ";
    int rc = 0;

    while (rc == 0 && n > 0) {
        size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;

        rc = buf_append(out, spaces, k);
        n -= k;
    }
    return rc;
}

static int put_str(struct buf *out, const char *s)
{
    return buf_append(out, s, strlen(s));
}

static int put_fmt(struct buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int put_fmt(struct buf *out, const char *fmt, ...)
{
    char s[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(s, sizeof(s), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return -EINVAL;
    }
    return buf_append(out, s, (size_t)n < sizeof(s) ? (size_t)n : sizeof(s) - 1);
}

/* A line of text from a record, cleaned for the terminal. */
static int put_clean_line(struct buf *out, const char *prefix, const char *s)
{
    char *c = clean_text(s, 1, NULL);
    int rc;

    if (c == NULL) {
        return -ENOMEM;
    }
    rc = put_str(out, prefix);
    if (rc == 0) {
        rc = put_str(out, c);
    }
    if (rc == 0) {
        rc = buf_append(out, "\n", 1);
    }
    free(c);
    return rc;
}

/* The terminal columns of the n bytes at s (valid UTF-8, as clean_text()
 * leaves it). */
static size_t utf8_width(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t w = 0;

    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(p + i, n - i);

        if (k == 0) {
            w++;
            i++;
            continue;
        }
        w += cp_columns(utf8_cp(p + i, k));
        i += k;
    }
    return w;
}

/* prefix and then a paragraph from a record or the server, cleaned for
 * the terminal and wrapped at spaces to width columns (a word longer than
 * that gets a line of its own). */
static int put_wrapped(struct buf *out, const char *prefix, const char *s, size_t width)
{
    char *c = clean_text(s, 1, NULL);
    const char *p;
    size_t col = utf8_width(prefix, strlen(prefix));
    int rc;

    if (c == NULL) {
        return -ENOMEM;
    }
    rc = put_str(out, prefix);
    for (p = c; rc == 0 && *p != '\0';) {
        size_t n;
        size_t w;

        while (*p == ' ') {
            p++;
        }
        n = strcspn(p, " ");
        if (n == 0) {
            break;
        }
        w = utf8_width(p, n);
        if (col > 0 && col + 1 + w > width) {
            rc = buf_append(out, "\n", 1);
            col = 0;
        } else if (col > 0 && p != c) {
            rc = buf_append(out, " ", 1);
            col++;
        }
        if (rc == 0) {
            rc = buf_append(out, p, n);
        }
        col += w;
        p += n;
    }
    if (rc == 0) {
        rc = buf_append(out, "\n", 1);
    }
    free(c);
    return rc;
}

/* Each column's natural width (its widest cell, header included) into w;
 * returns the table's width with the gaps. */
static size_t grid_natural(struct grid *g, size_t *w)
{
    size_t total = 0;

    for (size_t j = 0; j < g->ncols; j++) {
        w[j] = 1;
        for (size_t i = 0; i <= g->nrows; i++) {
            if (grid_at(g, i, j)->w > w[j]) {
                w[j] = grid_at(g, i, j)->w;
            }
        }
        total += w[j] + (j > 0 ? TEXT_GAP : 0);
    }
    return total;
}

/* Writes the columns cols[0..n) of g at their natural widths w (indexed
 * by column), figures right-aligned, with a rule under the header: every
 * cell whole. */
static int grid_render_cols(struct grid *g, const size_t *cols, size_t n, const size_t *w,
                            struct buf *out)
{
    int rc = 0;

    for (size_t i = 0; rc == 0 && i <= g->nrows; i++) {
        size_t line = out->len;

        for (size_t k = 0; rc == 0 && k < n; k++) {
            const struct tcell *c = grid_at(g, i, cols[k]);
            size_t pad = w[cols[k]] > c->w ? w[cols[k]] - c->w : 0;

            if (k > 0) {
                rc = put_spaces(out, TEXT_GAP);
            }
            if (rc == 0 && c->right) {
                rc = put_spaces(out, pad);
            }
            if (rc == 0) {
                rc = put_str(out, c->s);
            }
            if (rc == 0 && !c->right && k + 1 < n) {
                rc = put_spaces(out, pad);
            }
        }
        /* No trailing blanks where the last cells are empty. */
        while (rc == 0 && out->len > line && out->data[out->len - 1] == ' ') {
            out->len--;
        }
        if (rc == 0) {
            rc = buf_append(out, "\n", 1);
        }
        /* A rule under the header. */
        for (size_t k = 0; rc == 0 && i == 0 && k < n; k++) {
            rc = put_spaces(out, k > 0 ? TEXT_GAP : 0);
            for (size_t r = 0; rc == 0 && r < w[cols[k]]; r++) {
                rc = buf_append(out, "-", 1);
            }
            if (rc == 0 && k + 1 == n) {
                rc = buf_append(out, "\n", 1);
            }
        }
    }
    return rc;
}

/* The table pivoted, for a width that cannot hold its first column and
 * any other side by side: one block per row, its first cell, then each
 * other column as "header: figure" (the figure on a line of its own when
 * both do not fit; never cut, never broken). */
static int grid_render_pivot(struct grid *g, size_t width, struct buf *out)
{
    int rc = 0;

    for (size_t i = 1; rc == 0 && i <= g->nrows; i++) {
        if (i > 1) {
            rc = buf_append(out, "\n", 1);
        }
        if (rc == 0) {
            rc = put_wrapped(out, "", grid_at(g, i, 0)->s, width);
        }
        for (size_t j = 1; rc == 0 && j < g->ncols; j++) {
            const struct tcell *h = grid_at(g, 0, j);
            const struct tcell *c = grid_at(g, i, j);

            rc = put_str(out, "  ");
            if (rc == 0) {
                rc = put_str(out, h->s);
            }
            if (rc == 0) {
                rc = put_str(out, 2 + h->w + 2 + c->w <= width ? ": " : ":\n    ");
            }
            if (rc == 0) {
                rc = put_str(out, c->s);
            }
            if (rc == 0) {
                rc = buf_append(out, "\n", 1);
            }
        }
    }
    return rc;
}

/*
 * Writes g to fit width without cutting a name or a figure: at its
 * natural widths when it fits; else split into parts of columns that fit,
 * each part repeating the first column (the row's name) and saying which
 * part it is; else, when not even the first column and one other fit
 * side by side, pivoted (grid_render_pivot()). A single cell wider than
 * width is the only thing left wider than asked.
 */
static int grid_render(struct grid *g, size_t width, struct buf *out)
{
    size_t *w = calloc(g->ncols > 0 ? g->ncols : 1, 2 * sizeof(*w));
    size_t *cols;
    size_t widest = 0, parts = 0, part = 0;
    int rc = 0;

    if (w == NULL) {
        return -ENOMEM;
    }
    cols = w + (g->ncols > 0 ? g->ncols : 1);
    if (grid_natural(g, w) <= width || g->ncols < 2) {
        for (size_t j = 0; j < g->ncols; j++) {
            cols[j] = j;
        }
        rc = grid_render_cols(g, cols, g->ncols, w, out);
        goto out;
    }
    for (size_t j = 1; j < g->ncols; j++) {
        widest = w[j] > widest ? w[j] : widest;
    }
    if (w[0] + TEXT_GAP + widest > width) {
        rc = grid_render_pivot(g, width, out);
        goto out;
    }
    /* How many parts, then each. */
    for (size_t j = 1; j < g->ncols; parts++) {
        size_t used = w[0];

        while (j < g->ncols && used + TEXT_GAP + w[j] <= width) {
            used += TEXT_GAP + w[j++];
        }
    }
    for (size_t j = 1; rc == 0 && j < g->ncols;) {
        size_t used = w[0], n = 1;

        cols[0] = 0;
        while (j < g->ncols && used + TEXT_GAP + w[j] <= width) {
            used += TEXT_GAP + w[j];
            cols[n++] = j++;
        }
        part++;
        rc = put_fmt(out, "%s(part %zu of %zu)\n", part > 1 ? "\n" : "", part, parts);
        if (rc == 0) {
            rc = grid_render_cols(g, cols, n, w, out);
        }
    }
out:
    free(w);
    return rc;
}

/* The lines above a dashboard's tables: title, subject, period and
 * rubric, the rules every figure follows, and the dashboard's notes. Every
 * string from a record is cleaned for the terminal first. */
static int text_header(const Coachq__V1__Dashboard *d, size_t width, struct buf *out)
{
    char from[DAY_TIME_LEN];
    char until[DAY_TIME_LEN];
    char *name = clean_text(d->subject_name, 1, NULL);
    char *id = clean_text(d->subject_id, 1, NULL);
    char *rubric = clean_text(d->rubric_id, 1, NULL);
    int rc = -ENOMEM;

    if (name == NULL || id == NULL || rubric == NULL) {
        goto out;
    }
    day_format(d->from_day, from, sizeof(from));
    day_format(d->until_day, until, sizeof(until));
    rc = put_clean_line(out, "", d->title != NULL && d->title[0] ? d->title : "Dashboard");
    if (rc == 0 && (name[0] != '\0' || id[0] != '\0')) {
        rc = put_fmt(out, "%s%s%s%s\n", name, name[0] && id[0] ? " (" : "", id,
                     name[0] && id[0] ? ")" : "");
    }
    if (rc == 0) {
        rc = put_fmt(out, "%s to %s%s%s\n", from, until, rubric[0] ? ", rubric " : "", rubric);
    }
    if (rc == 0) {
        char rules[200];

        snprintf(rules, sizeof(rules),
                 "Every figure shows its n; below n=%u it reads \"%s\"; groups of fewer than %u "
                 "people are not broken down.",
                 (unsigned)d->min_n, INSUFFICIENT_TEXT, (unsigned)d->privacy_min);
        rc = put_wrapped(out, "", rules, width);
    }
    for (size_t i = 0; rc == 0 && i < d->n_notes; i++) {
        rc = put_wrapped(out, "Note: ", d->notes[i], width);
    }
out:
    free(name);
    free(id);
    free(rubric);
    return rc;
}

int dashfmt_text(const Coachq__V1__Dashboard *d, unsigned width, struct buf *out)
{
    size_t start = out->len;
    size_t wd = width == 0 ? TEXT_DEFAULT_WIDTH : width < TEXT_MIN_WIDTH ? TEXT_MIN_WIDTH : width;
    int rc = text_header(d, wd, out);

    for (size_t i = 0; rc == 0 && i < d->n_tables; i++) {
        const Coachq__V1__Table *t = d->tables[i];
        struct grid g = {0, 0, NULL};

        /* Titles wrap at the width like the notes. */
        rc = buf_append(out, "\n", 1);
        if (rc == 0) {
            rc = put_wrapped(out, "", t->title != NULL && t->title[0] ? t->title : t->id, wd);
        }
        if (rc == 0 && t->n_rows == 0) {
            rc = put_str(out, "(nothing to show)\n");
        } else if (rc == 0) {
            rc = grid_from_table(&g, t);
            if (rc == 0) {
                rc = grid_render(&g, wd, out);
            }
        }
        grid_free(&g);
        if (rc == 0 && t->note != NULL && t->note[0] != '\0') {
            rc = put_wrapped(out, "", t->note, wd);
        }
    }
    /* Charts draw the figures of a table; one without a table is given as
     * one here, so that no figure is only on the web page. */
    for (size_t i = 0; rc == 0 && i < d->n_charts; i++) {
        const Coachq__V1__Chart *c = d->charts[i];
        struct grid g = {0, 0, NULL};

        if (dashfmt_find_table(d, c->table_id) != NULL) {
            continue;
        }
        rc = buf_append(out, "\n", 1);
        if (rc == 0) {
            rc = put_wrapped(out, "", c->title != NULL && c->title[0] ? c->title : c->id, wd);
        }
        if (rc == 0) {
            rc = grid_from_chart(&g, c);
        }
        if (rc == 0 && g.nrows == 0) {
            rc = put_str(out, "(nothing to show)\n");
        } else if (rc == 0) {
            rc = grid_render(&g, wd, out);
        }
        grid_free(&g);
    }
    if (rc < 0) {
        out->len = start;
    }
    return rc;
}

const Coachq__V1__Table *dashfmt_find_table(const Coachq__V1__Dashboard *d, const char *id)
{
    if (d == NULL || id == NULL || id[0] == '\0') {
        return NULL;
    }
    for (size_t i = 0; i < d->n_tables; i++) {
        if (d->tables[i]->id != NULL && strcmp(d->tables[i]->id, id) == 0) {
            return d->tables[i];
        }
    }
    return NULL;
}
