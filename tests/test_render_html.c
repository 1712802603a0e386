/*
 * Tests of render_html: a hand-built Dashboard with every chart kind, a
 * confidence band, a gap, insufficient cells, an empty chart and hostile
 * text everywhere a record's text can go. The page must carry that text
 * only escaped (in HTML and in SVG), hold no script, inline style or event
 * attribute, be well-formed as XML (void elements are self-closed), link
 * every table's CSV, draw a gap as a gap and never show an insufficient
 * figure as a number; the same input gives the same bytes. Sign-in and
 * error pages, the escaping function and the stylesheet are checked too.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <cmocka.h>

#include "auth.h"
#include "buf.h"
#include "render_html.h"
#include "testutil.h"

#define NELEM(x) (sizeof(x) / sizeof((x)[0]))
#define PAGE_MAX (8u << 20)

/* Text a record could carry: markup, quotes, an ampersand, a control
 * character, the end of a CDATA section, a C1 control, a malformed byte and
 * a noncharacter. */
#define HOSTILE "<script>alert(1)</script>\"'& \x01 ]]> \xC2\x85 \xFF \xEF\xBF\xBE end"
#define HOSTILE_ESCAPED "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp; "

/* ---- Building messages (freed all at once) ---------------------------- */

struct arena {
    void *p[512];
    size_t n;
};

static void *arena_alloc(struct arena *a, size_t n)
{
    void *p = calloc(1, n);
    assert_non_null(p);
    assert_true(a->n < NELEM(a->p));
    a->p[a->n++] = p;
    return p;
}

static void arena_free(struct arena *a)
{
    while (a->n > 0) {
        free(a->p[--a->n]);
    }
}

static Coachq__V1__Cell *cell(struct arena *a, const char *text, int has_value, double v,
                              unsigned n, int insufficient, const char *link)
{
    Coachq__V1__Cell *c = arena_alloc(a, sizeof *c);
    coachq__v1__cell__init(c);
    c->text = (char *)text;
    c->has_value = has_value;
    c->value = v;
    c->n = n;
    c->insufficient = insufficient;
    if (link != NULL) {
        c->link = (char *)link;
    }
    return c;
}

static Coachq__V1__Table *table(struct arena *a, const char *id, const char *title,
                                const char *const *cols, size_t ncols, size_t nrows)
{
    Coachq__V1__Table *t = arena_alloc(a, sizeof *t);
    coachq__v1__table__init(t);
    t->id = (char *)id;
    t->title = (char *)title;
    t->columns = (char **)cols;
    t->n_columns = ncols;
    t->rows = arena_alloc(a, sizeof *t->rows * (nrows > 0 ? nrows : 1));
    return t;
}

static void row(struct arena *a, Coachq__V1__Table *t, size_t ncells, ...)
{
    Coachq__V1__TableRow *r = arena_alloc(a, sizeof *r);
    va_list ap;
    size_t i;

    coachq__v1__table_row__init(r);
    r->cells = arena_alloc(a, sizeof *r->cells * ncells);
    va_start(ap, ncells);
    for (i = 0; i < ncells; i++) {
        r->cells[i] = va_arg(ap, Coachq__V1__Cell *);
    }
    va_end(ap);
    r->n_cells = ncells;
    t->rows[t->n_rows++] = r;
}

/* A series over n x labels; present[i] == 0 leaves a gap. */
static Coachq__V1__Series *series(struct arena *a, const char *name, size_t n, const double *y,
                                  const int *present, const double *band)
{
    Coachq__V1__Series *s = arena_alloc(a, sizeof *s);
    size_t i;

    coachq__v1__series__init(s);
    s->name = (char *)name;
    s->y = arena_alloc(a, sizeof(double) * n);
    s->present = arena_alloc(a, sizeof(protobuf_c_boolean) * n);
    s->n = arena_alloc(a, sizeof(uint32_t) * n);
    s->n_y = s->n_present = s->n_n = n;
    for (i = 0; i < n; i++) {
        s->y[i] = y[i];
        s->present[i] = present == NULL || present[i];
        s->n[i] = s->present[i] ? 5 + (uint32_t)i : 1;
    }
    if (band != NULL) {
        s->has_band = 1;
        s->lo = arena_alloc(a, sizeof(double) * n);
        s->hi = arena_alloc(a, sizeof(double) * n);
        s->n_lo = s->n_hi = n;
        for (i = 0; i < n; i++) {
            s->lo[i] = y[i] - band[i];
            s->hi[i] = y[i] + band[i];
        }
    }
    return s;
}

static Coachq__V1__Chart *chart(struct arena *a, const char *id, const char *title,
                                Coachq__V1__Chart__Kind kind, const char *table_id,
                                const char *const *xl, size_t nx, size_t nseries)
{
    Coachq__V1__Chart *c = arena_alloc(a, sizeof *c);
    coachq__v1__chart__init(c);
    c->id = (char *)id;
    c->title = (char *)title;
    c->kind = kind;
    c->table_id = (char *)table_id;
    c->x_labels = (char **)xl;
    c->n_x_labels = nx;
    c->series = arena_alloc(a, sizeof *c->series * (nseries > 0 ? nseries : 1));
    return c;
}

static const char *const weeks[] = {"2025-W08", "2025-W09", "2025-W10",
                                    "2025-W11", "2025-W12", "2025-W13"};
static const char *const trend_cols[] = {"Manager", "2025-W12", "2025-W13", "Sessions"};
static const char *const heat_cols[] = {"Behaviour", "2025-W12", "2025-W13"};
static const char *const quad_cols[] = {"Manager", "Sessions", "Quality"};
static const char *const bar_cols[] = {"Behaviour", "Effect"};
static const char *const empty_cols[] = {"Behaviour", "Quality"};
/* Category names too long to stand side by side under their bars. */
static const char *const behaviours[] = {"Asks open questions first " HOSTILE,
                                         "Lets the rep self-assess before feedback",
                                         "Agrees one next step",
                                         "Models the skill",
                                         "Follows up on agreed actions",
                                         "Listens"};

/* The manager id a link cell carries: it must be URL-encoded in the href. */
#define LINK_ID "flm\"<x>&y"
#define LINK_HREF "/d/manager/flm%22%3Cx%3E%26y?rubric=cc&amp;until=2025-03-30"
#define API "/api/v1/dashboards/managers/slm.a"
#define QUERY "?rubric=cc&until=2025-03-30"

struct fixture {
    struct arena a;
    Coachq__V1__Dashboard d;
    Coachq__V1__Table *tables[5];
    Coachq__V1__Chart *charts[5];
    char *notes[2];
};

static void build(struct fixture *f)
{
    struct arena *a = &f->a;
    static const double y0[] = {2.1, 2.4, 0, 2.8, 3.0, 3.2};
    static const int p0[] = {1, 1, 0, 1, 1, 1};
    static const double b0[] = {0.3, 0.3, 0, 0.25, 0.2, 0.2};
    static const double y1[] = {1.5, 1.7, 1.9, 2.0, 2.2, 2.3};
    static const double h0[] = {1.2, 3.9};
    static const int hp0[] = {1, 0};
    static const double h1[] = {2.5, 3.1};
    static const double bars[] = {0.42, -0.5, 0.1, 0.2, 0.0, 0.3};
    static const double ebars[] = {0.1, 0.2, 0.1, 0.1, 0.1, 0.1};
    static const double none[] = {0, 0};
    static const int nonep[] = {0, 0};
    Coachq__V1__Table *t;
    Coachq__V1__Chart *c;
    Coachq__V1__Point *pt;
    size_t i;

    memset(f, 0, sizeof *f);
    coachq__v1__dashboard__init(&f->d);
    f->d.kind = COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_MANAGERS;
    f->d.title = "My managers " HOSTILE;
    f->d.subject_id = "slm.a";
    f->d.subject_name = "Sam " HOSTILE;
    f->d.rubric_id = "cc";
    f->d.from_day = 20094;  /* 2025-01-06 */
    f->d.until_day = 20177; /* 2025-03-30 */
    f->d.min_n = 3;
    f->d.privacy_min = 5;
    f->d.generated_at_ms = 1743336000000LL;
    f->notes[0] = "Note " HOSTILE;
    f->notes[1] = "Second note";
    f->d.notes = f->notes;
    f->d.n_notes = 2;

    /* trend: a link cell, figures, an insufficient cell that (wrongly)
     * carries a number, which must not be shown. */
    t = table(a, "trend", "Quality " HOSTILE, trend_cols, NELEM(trend_cols), 3);
    t->note = "Table note " HOSTILE;
    row(a, t, 4, cell(a, "Fran " HOSTILE, 0, 0, 0, 0, LINK_ID), cell(a, "2.80", 1, 2.8, 7, 0, NULL),
        cell(a, "3.00", 1, 3.0, 8, 0, NULL), cell(a, "12", 1, 12, 12, 0, NULL));
    row(a, t, 4, cell(a, "Gil", 0, 0, 0, 0, "flm.g"), cell(a, "7.77", 1, 7.77, 2, 1, NULL),
        cell(a, "insufficient data", 0, 0, 1, 1, NULL), cell(a, "3", 1, 3, 3, 0, NULL));
    f->tables[0] = t;
    t = table(a, "heat", "Behaviours", heat_cols, NELEM(heat_cols), 2);
    row(a, t, 3, cell(a, "Ask", 0, 0, 0, 0, NULL), cell(a, "1.20", 1, 1.2, 5, 0, NULL),
        cell(a, "insufficient data", 0, 0, 2, 1, NULL));
    f->tables[1] = t;
    t = table(a, "quad", "Volume and quality", quad_cols, NELEM(quad_cols), 2);
    row(a, t, 3, cell(a, "Fran", 0, 0, 0, 0, LINK_ID), cell(a, "14", 1, 14, 14, 0, NULL),
        cell(a, "1.90", 1, 1.9, 9, 0, NULL));
    f->tables[2] = t;
    t = table(a, "impact", "Impact", bar_cols, NELEM(bar_cols), 2);
    row(a, t, 2, cell(a, "Ask", 0, 0, 0, 0, NULL), cell(a, "0.42", 1, 0.42, 20, 0, NULL));
    f->tables[3] = t;
    t = table(a, "empty", "Nothing yet", empty_cols, NELEM(empty_cols), 0);
    f->tables[4] = t;
    f->d.tables = f->tables;
    f->d.n_tables = 5;

    c = chart(a, "trend", "Quality trend " HOSTILE, COACHQ__V1__CHART__KIND__KIND_LINES, "trend",
              weeks, NELEM(weeks), 2);
    c->y_min = 1;
    c->y_max = 4;
    c->x_title = "Week";
    c->y_title = "Quality " HOSTILE;
    c->series[c->n_series++] = series(a, "Fran " HOSTILE, NELEM(weeks), y0, p0, b0);
    c->series[c->n_series++] = series(a, "Gil", NELEM(weeks), y1, NULL, NULL);
    f->charts[0] = c;

    c = chart(a, "heat", "Behaviour heat map", COACHQ__V1__CHART__KIND__KIND_HEATMAP, "heat",
              heat_cols + 1, 2, 2);
    c->y_min = 1;
    c->y_max = 4;
    c->series[c->n_series++] = series(a, "Ask " HOSTILE, 2, h0, hp0, NULL);
    c->series[c->n_series++] = series(a, "Listen", 2, h1, NULL, NULL);
    f->charts[1] = c;

    c = chart(a, "quad", "Volume vs quality", COACHQ__V1__CHART__KIND__KIND_QUADRANT, "quad", NULL,
              0, 0);
    c->x_title = "sessions";
    c->y_title = "quality";
    c->y_min = 1;
    c->y_max = 4;
    c->x_split = 10;
    c->y_split = 2.5;
    c->points = arena_alloc(a, sizeof *c->points * 3);
    for (i = 0; i < 3; i++) {
        pt = arena_alloc(a, sizeof *pt);
        coachq__v1__point__init(pt);
        pt->label = i == 0 ? "Flagged " HOSTILE : "Other";
        pt->x = i == 0 ? 14 : 4 + (double)i;
        pt->y = i == 0 ? 1.9 : 3.1;
        pt->n = 9;
        pt->flagged = i == 0;
        c->points[c->n_points++] = pt;
    }
    f->charts[2] = c;

    c = chart(a, "impact", "Effect by behaviour", COACHQ__V1__CHART__KIND__KIND_BARS, "impact",
              behaviours, NELEM(behaviours), 1);
    c->series[c->n_series++] = series(a, "Difference " HOSTILE, NELEM(bars), bars, NULL, ebars);
    f->charts[3] = c;

    c = chart(a, "empty", "Empty chart", COACHQ__V1__CHART__KIND__KIND_LINES, "empty",
              heat_cols + 1, 2, 1);
    c->series[c->n_series++] = series(a, "None", 2, none, nonep, NULL);
    f->charts[4] = c;
    f->d.charts = f->charts;
    f->d.n_charts = 5;
}

static const struct render_ctx ctx_slm = {
    .user_id = "slm.a",
    .user_name = "Sam " HOSTILE,
    .roles = AUTH_SECOND_LEVEL,
    .csrf = "tok\"en<1>",
    .api_path = API,
    .query = QUERY,
};

/* The page as a NUL-terminated string; caller frees. */
static char *render(const Coachq__V1__Dashboard *d, const struct render_ctx *ctx)
{
    struct buf b;
    char *s;

    buf_init(&b, PAGE_MAX);
    assert_int_equal(render_dashboard(d, ctx, &b), 0);
    s = malloc(b.len + 1);
    assert_non_null(s);
    memcpy(s, b.data, b.len);
    s[b.len] = 0;
    assert_int_equal(strlen(s), b.len); /* no NUL inside */
    buf_free(&b);
    return s;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    const char *p = hay;

    while ((p = strstr(p, needle)) != NULL) {
        n++;
        p += strlen(needle);
    }
    return n;
}

static int ci_contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay != 0; hay++) {
        if (strncasecmp(hay, needle, n) == 0) {
            return 1;
        }
    }
    return 0;
}

/* ---- A small XML checker ---------------------------------------------- */

static const char *const elements[] = {
    "html", "head", "meta", "title", "link", "body", "header", "a", "nav", "ul", "li", "div",
    "span", "form", "input", "button", "main", "h1", "p", "dl", "dt", "dd", "section", "figure",
    "figcaption", "table", "caption", "thead", "tbody", "tr", "th", "td", "footer", "label",
    /* SVG */
    "svg", "desc", "g", "line", "text", "polyline", "polygon", "circle", "rect", "path"};

static const char *const attributes[] = {
    "lang", "charset", "name", "content", "rel", "href", "class", "aria-label", "aria-current",
    "method", "action", "type", "value", "id", "scope", "colspan", "for", "autocomplete",
    "autocapitalize", "spellcheck", "required", "autofocus", "role", "aria-labelledby",
    /* SVG presentation and geometry */
    "xmlns", "viewBox", "width", "height", "font-family", "font-size", "font-style", "font-weight",
    "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "d", "points", "fill", "fill-opacity",
    "stroke", "stroke-width", "stroke-opacity", "stroke-dasharray", "stroke-linejoin",
    "text-anchor", "transform"};

static int in_list(const char *const *list, size_t n, const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Checks an entity reference at p ('&'); returns its length or 0. */
static size_t entity_ok(const char *p)
{
    static const char *const named[] = {"&amp;", "&lt;", "&gt;", "&quot;"};
    size_t i;

    for (i = 0; i < NELEM(named); i++) {
        if (strncmp(p, named[i], strlen(named[i])) == 0) {
            return strlen(named[i]);
        }
    }
    if (p[1] == '#') {
        size_t k = 2;
        long v = 0;
        while (isdigit((unsigned char)p[k]) && k < 10) {
            v = v * 10 + (p[k] - '0');
            k++;
        }
        /* XML allows only tab, LF, CR below 0x20. */
        if (p[k] == ';' && k > 2 && (v >= 0x20 || v == 9 || v == 10 || v == 13)) {
            return k + 1;
        }
    }
    return 0;
}

/*
 * Walks s as XML (after an optional "<!doctype html>"): balanced tags,
 * attributes quoted and listed, known elements only, text with only the
 * known entity references, no control characters, well-formed UTF-8 without
 * noncharacters. Fails the test with where it stopped.
 */
static void check_xml(const char *s)
{
    const char *stack[64];
    size_t slen[64];
    size_t depth = 0, tags = 0;
    const char *p = s;

    if (strncmp(p, "<!doctype html>", 15) == 0) {
        p += 15;
    }
    while (*p != 0) {
        unsigned char c = (unsigned char)*p;
        if (c == '<') {
            int closing = p[1] == '/';
            const char *n = p + 1 + closing, *e = n;
            while (isalnum((unsigned char)*e) || *e == '-') {
                e++;
            }
            if (e == n) {
                fail_msg("bad tag at offset %zu: %.40s", (size_t)(p - s), p);
            }
            if (!in_list(elements, NELEM(elements), n, (size_t)(e - n))) {
                fail_msg("element <%.*s> is not expected", (int)(e - n), n);
            }
            p = e;
            if (closing) {
                if (*p != '>' || depth == 0 || slen[depth - 1] != (size_t)(e - n) ||
                    memcmp(stack[depth - 1], n, slen[depth - 1]) != 0) {
                    fail_msg("unbalanced </%.*s> at offset %zu", (int)(e - n), n, (size_t)(p - s));
                }
                depth--;
                p++;
                continue;
            }
            tags++;
            for (;;) {
                const char *an;
                while (*p == ' ' || *p == '\n') {
                    p++;
                }
                if (*p == '>' || (p[0] == '/' && p[1] == '>')) {
                    break;
                }
                an = p;
                while (isalnum((unsigned char)*p) || *p == '-') {
                    p++;
                }
                if (p == an || p[0] != '=' || p[1] != '"') {
                    fail_msg("bad attribute at offset %zu: %.40s", (size_t)(an - s), an);
                }
                if ((p - an) > 2 && strncasecmp(an, "on", 2) == 0) {
                    fail_msg("event attribute %.*s", (int)(p - an), an);
                }
                if (!in_list(attributes, NELEM(attributes), an, (size_t)(p - an))) {
                    fail_msg("attribute %.*s is not expected", (int)(p - an), an);
                }
                p += 2;
                while (*p != '"') {
                    if (*p == 0 || *p == '<') {
                        fail_msg("bad attribute value at offset %zu", (size_t)(p - s));
                    }
                    if (*p == '&') {
                        size_t k = entity_ok(p);
                        if (k == 0) {
                            fail_msg("bad entity in attribute: %.12s", p);
                        }
                        p += k;
                    } else {
                        p++;
                    }
                }
                p++;
            }
            if (*p == '>') {
                assert_true(depth < NELEM(stack));
                stack[depth] = n;
                slen[depth] = (size_t)(e - n);
                depth++;
                p++;
            } else {
                p += 2;
            }
        } else if (c == '&') {
            size_t k = entity_ok(p);
            if (k == 0) {
                fail_msg("bad entity at offset %zu: %.12s", (size_t)(p - s), p);
            }
            p += k;
        } else if (c == '>') {
            fail_msg("raw '>' in text at offset %zu: %.40s", (size_t)(p - s),
                     p > s + 20 ? p - 20 : s);
        } else if (c < 0x20 && c != '\n' && c != '\t') {
            fail_msg("control character 0x%02x at offset %zu", c, (size_t)(p - s));
        } else if (c >= 0x80) {
            /* valid UTF-8, no C1 controls, no noncharacters */
            size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2, k;
            uint32_t cp = c & (c >= 0xF0 ? 0x07 : c >= 0xE0 ? 0x0F : 0x1F);
            if (c < 0xC2 || c > 0xF4) {
                fail_msg("malformed UTF-8 at offset %zu", (size_t)(p - s));
            }
            for (k = 1; k < len; k++) {
                if (((unsigned char)p[k] & 0xC0) != 0x80) {
                    fail_msg("malformed UTF-8 at offset %zu", (size_t)(p - s));
                }
                cp = (cp << 6) | ((unsigned char)p[k] & 0x3F);
            }
            if ((cp >= 0x80 && cp <= 0x9F) || (cp & 0xFFFE) == 0xFFFE ||
                (cp >= 0xD800 && cp <= 0xDFFF)) {
                fail_msg("character U+%04X at offset %zu", (unsigned)cp, (size_t)(p - s));
            }
            p += len;
        } else {
            p++;
        }
    }
    if (depth != 0) {
        fail_msg("%zu elements left open, innermost <%.*s>", depth, (int)slen[depth - 1],
                 stack[depth - 1]);
    }
    assert_true(tags > 0);
}

/* The n-th "<svg" ... "</svg>" of page, as a new string (NULL past the last). */
static char *svg_part(const char *page, size_t n)
{
    const char *p = page, *e;
    char *s;

    for (;;) {
        p = strstr(p, "<svg");
        if (p == NULL) {
            return NULL;
        }
        if (n-- == 0) {
            break;
        }
        p++;
    }
    e = strstr(p, "</svg>");
    assert_non_null(e);
    e += 6;
    s = malloc((size_t)(e - p) + 1);
    assert_non_null(s);
    memcpy(s, p, (size_t)(e - p));
    s[e - p] = 0;
    return s;
}

/* The figure with id="chart-<i>" as a new string. */
static char *figure_part(const char *page, size_t i)
{
    char id[32];
    const char *p, *e;
    char *s;

    snprintf(id, sizeof id, "id=\"chart-%zu\"", i);
    p = strstr(page, id);
    assert_non_null(p);
    e = strstr(p, "</figure>");
    assert_non_null(e);
    s = malloc((size_t)(e - p) + 1);
    assert_non_null(s);
    memcpy(s, p, (size_t)(e - p));
    s[e - p] = 0;
    return s;
}

/* The number in attribute attr="..." of the first element at or after p. */
static double attr_num(const char *p, const char *attr)
{
    char key[32];
    const char *q;
    char *end;
    double v;

    snprintf(key, sizeof key, " %s=\"", attr);
    q = strstr(p, key);
    assert_non_null(q);
    v = strtod(q + strlen(key), &end);
    assert_true(end != q + strlen(key));
    return v;
}

/* ---- Tests ------------------------------------------------------------ */

static void test_escape(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"plain", "plain"},
        {"a<b>c", "a&lt;b&gt;c"},
        {"\"'&", "&quot;&#39;&amp;"},
        {"]]>", "]]&gt;"},
        {"tab\tnl\ncr\r", "tab\tnl\ncr&#13;"},
        {"\x01\x1f\x7f", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\xC2\x85", "\xEF\xBF\xBD"},                             /* C1 control */
        {"\xEF\xBF\xBE", "\xEF\xBF\xBD"},                         /* U+FFFE */
        {"\xFF", "\xEF\xBF\xBD"},                                 /* not UTF-8 */
        {"\xC0\xBC", "\xEF\xBF\xBD\xEF\xBF\xBD"},                 /* overlong '<' */
        {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* surrogate */
        {"\xE2\x82", "\xEF\xBF\xBD\xEF\xBF\xBD"},                 /* cut short */
        {"caf\xC3\xA9 \xE2\x80\x93 \xF0\x9F\x98\x80", "caf\xC3\xA9 \xE2\x80\x93 \xF0\x9F\x98\x80"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < NELEM(cases); i++) {
        struct buf b;
        buf_init(&b, 1024);
        assert_int_equal(render_escape(&b, cases[i].in), 0);
        if (b.len != strlen(cases[i].want) || memcmp(b.data, cases[i].want, b.len) != 0) {
            fail_msg("case %zu: got \"%.*s\"", i, (int)b.len, (const char *)b.data);
        }
        buf_free(&b);
    }
    {
        struct buf b;
        buf_init(&b, 1024);
        assert_int_equal(render_escape(&b, NULL), 0);
        assert_int_equal(b.len, 0);
        buf_free(&b);
    }
}

static void test_page_safe(void **state)
{
    struct fixture f;
    char *page, *svg;
    size_t i;

    (void)state;
    build(&f);
    page = render(&f.d, &ctx_slm);

    assert_false(ci_contains(page, "<script"));
    assert_false(ci_contains(page, "<style"));
    assert_false(ci_contains(page, " style="));
    assert_null(strstr(page, "]]>"));
    assert_null(strstr(page, "\x01"));
    assert_null(strstr(page, "\xFF"));
    assert_null(strstr(page, "\xC2\x85"));
    assert_null(strstr(page, "\xEF\xBF\xBE"));
    assert_null(strstr(page, "tok\"en"));
    assert_non_null(strstr(page, "value=\"tok&quot;en&lt;1&gt;\""));
    /* Title, subject (twice), user name, notes, table title and note, cells,
     * chart titles and SVG texts all carry it, escaped. */
    assert_true(count(page, HOSTILE_ESCAPED) >= 12);
    check_xml(page);

    /* In SVG too: the hostile series name, heat-map row and flagged point. */
    for (i = 0; (svg = svg_part(page, i)) != NULL; i++) {
        assert_non_null(strstr(svg, HOSTILE_ESCAPED));
        assert_non_null(strstr(svg, "role=\"img\""));
        assert_non_null(strstr(svg, "<title id="));
        assert_non_null(strstr(svg, "<desc id="));
        check_xml(svg);
        free(svg);
    }
    assert_int_equal(i, 4); /* the empty chart has none */
    free(page);
    arena_free(&f.a);
}

static void test_page_frame(void **state)
{
    struct fixture f;
    char *page;
    struct render_ctx lead = ctx_slm;

    (void)state;
    build(&f);
    page = render(&f.d, &ctx_slm);
    assert_true(strncmp(page, "<!doctype html>\n<html lang=\"en\">", 32) == 0);
    assert_non_null(strstr(page, "<meta charset=\"utf-8\" />"));
    assert_non_null(strstr(page, "name=\"viewport\""));
    assert_non_null(strstr(page, "<link rel=\"stylesheet\" href=\"/static/coachq.css\" />"));
    assert_non_null(strstr(page, "<title>My managers &lt;script"));
    assert_non_null(strstr(page, "<form class=\"signout\" method=\"post\" action=\"/signout\">"));
    assert_non_null(strstr(page, "<a href=\"/d/managers\" aria-current=\"page\">My managers</a>"));
    assert_null(strstr(page, "/d/programme"));
    assert_null(strstr(page, "/d/me\""));
    assert_non_null(strstr(page, "2025-01-06 to 2025-03-30"));
    assert_non_null(strstr(page, "fewer than 3 observations"));
    assert_non_null(strstr(page, "fewer than 5 people"));
    assert_non_null(strstr(page, "generated 2025-03-30 12:00 UTC"));
    /* One JSON link, one CSV link per table. */
    assert_int_equal(count(page, "href=\"" API "?rubric=cc&amp;until=2025-03-30\""), 1);
    for (size_t i = 0; i < f.d.n_tables; i++) {
        char want[160];
        snprintf(want, sizeof want, "href=\"" API "/tables/%s.csv?rubric=cc&amp;until=2025-03-30\"",
                 f.d.tables[i]->id);
        if (count(page, want) != 1) {
            fail_msg("no CSV link for table %s", f.d.tables[i]->id);
        }
    }
    free(page);

    lead.roles = AUTH_LEAD | AUTH_FRONT_LINE;
    page = render(&f.d, &lead);
    assert_non_null(strstr(page, "href=\"/d/programme\""));
    assert_non_null(strstr(page, "href=\"/d/observers\""));
    assert_non_null(strstr(page, "href=\"/d/me\""));
    assert_null(strstr(page, "href=\"/d/managers\""));
    free(page);

    /* Without an API path there are no download links at all. */
    lead.api_path = NULL;
    page = render(&f.d, &lead);
    assert_null(strstr(page, ".csv"));
    assert_null(strstr(page, "JSON"));
    check_xml(page);
    free(page);
    arena_free(&f.a);
}

static void test_tables(void **state)
{
    struct fixture f;
    char *page;
    const char *p;

    (void)state;
    build(&f);
    page = render(&f.d, &ctx_slm);
    /* Link cells go to the manager's page, the id encoded, the query kept. */
    assert_int_equal(count(page, "<a href=\"" LINK_HREF "\">"), 2);
    assert_non_null(strstr(page, "<a href=\"/d/manager/flm.g?rubric=cc&amp;until=2025-03-30\">"));
    /* Figures show their n; a count is its own n. */
    assert_non_null(strstr(page, "<td class=\"num\">2.80<span class=\"n\">n=7</span></td>"));
    assert_non_null(strstr(page, "<td class=\"num\">12</td>"));
    /* Insufficient cells: the words and their n, never the number that
     * (wrongly) came with one of them. */
    assert_int_equal(count(page, "<td class=\"num insufficient\"><span class=\"insuf\">"
                                 "insufficient data</span><span class=\"n\">n=2</span></td>"),
                     2);
    assert_null(strstr(page, "7.77"));
    assert_int_equal(count(page, "class=\"num insufficient\""), 3);
    /* Captions and notes. */
    assert_non_null(strstr(page, "<caption>Quality &lt;script&gt;"));
    assert_non_null(strstr(page, "<p class=\"note\">Table note &lt;script&gt;"));
    /* The empty table says so. */
    p = strstr(page, "<caption>Nothing yet</caption>");
    assert_non_null(p);
    assert_non_null(strstr(p, "No data in this period."));
    /* Each chart comes before its table. */
    assert_true(strstr(page, "id=\"chart-0\"") < strstr(page, "id=\"table-0\""));
    assert_true(strstr(page, "id=\"table-0\"") < strstr(page, "id=\"chart-1\""));
    free(page);

    /* On the observers' dashboard, link cells go to the observer's
     * calibration history. */
    f.d.kind = COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS;
    page = render(&f.d, &ctx_slm);
    assert_null(strstr(page, "/d/manager/"));
    assert_non_null(strstr(page, "<a href=\"/d/observers/"));
    free(page);
    arena_free(&f.a);
}

static void test_lines(void **state)
{
    struct fixture f;
    char *page, *fig;

    (void)state;
    build(&f);
    page = render(&f.d, &ctx_slm);
    fig = figure_part(page, 0);
    /* Series 0 has a gap at week 3: two polylines, five points. Series 1
     * has none: one polyline of six. */
    assert_int_equal(count(fig, "<polyline fill=\"none\" stroke-width=\"2\" "
                                "stroke-linejoin=\"round\" stroke=\"#0072B2\""),
                     2);
    assert_int_equal(count(fig, "<polyline fill=\"none\" stroke-width=\"2\" "
                                "stroke-linejoin=\"round\" stroke=\"#D55E00\""),
                     1);
    assert_int_equal(count(fig, "<circle "), 11);
    /* The band: split at the gap too, so two polygons. */
    assert_int_equal(count(fig, "<polygon class=\"band\" fill=\"#0072B2\""), 2);
    /* The grid for quality 1..4. */
    assert_non_null(strstr(fig, ">1</text>"));
    assert_non_null(strstr(fig, ">4</text>"));
    assert_non_null(strstr(fig, ">2025-W08</text>"));
    assert_non_null(strstr(fig, "(n=5)</title>"));
    free(fig);

    /* The empty chart has no SVG, just the words. */
    fig = figure_part(page, 4);
    assert_null(strstr(fig, "<svg"));
    assert_non_null(strstr(fig, "No data in this period."));
    free(fig);
    free(page);
    arena_free(&f.a);
}

static void test_other_charts(void **state)
{
    struct fixture f;
    char *page, *fig;
    const char *p, *neg;
    double zero;

    (void)state;
    build(&f);
    page = render(&f.d, &ctx_slm);

    fig = figure_part(page, 1);                    /* heat map */
    assert_int_equal(count(fig, "<rect "), 4 + 5); /* cells and scale */
    assert_non_null(strstr(fig, ">1.2</text>"));
    assert_non_null(strstr(fig, ">\xE2\x80\x93</text>"));
    assert_non_null(strstr(fig, ": insufficient data</title>"));
    assert_null(strstr(fig, "3.9")); /* the absent value */
    /* Low and high values get different fills from the scale. */
    p = strstr(fig, "1.20 (n=5)");
    assert_non_null(p);
    free(fig);

    fig = figure_part(page, 2); /* quadrant */
    assert_int_equal(count(fig, "<circle class=\"pt flagged\""), 1);
    assert_int_equal(count(fig, "<circle class=\"pt\""), 2);
    assert_non_null(strstr(fig, "<text class=\"flag-label\""));
    assert_non_null(strstr(fig, ">Flagged &lt;script&gt;"));
    assert_non_null(strstr(fig, "stroke-dasharray=\"5 4\""));
    assert_non_null(strstr(fig, "high sessions, low quality"));
    free(fig);

    fig = figure_part(page, 3); /* bars */
    p = strstr(fig, "<line class=\"zero\"");
    assert_non_null(p);
    zero = attr_num(p, "y1");
    neg = strstr(fig, ": -0.50");
    assert_non_null(neg);
    /* The negative bar's rect starts at the zero line and goes down; the
     * positive one ends at it. */
    {
        const char *r = neg;
        while (r > fig && strncmp(r, "<rect ", 6) != 0) {
            r--;
        }
        assert_true(attr_num(r, "y") == zero);
        r = strstr(fig, "<rect ");
        assert_true(attr_num(r, "y") + attr_num(r, "height") - zero < 0.11);
        assert_true(attr_num(r, "y") + attr_num(r, "height") - zero > -0.11);
        assert_true(attr_num(r, "y") < zero);
    }
    assert_int_equal(count(fig, "<path d=\"M"), 6); /* error bars */
    /* Every category is named, slanted; none is thinned away. */
    assert_int_equal(count(fig, "\" transform=\"rotate(-45 "), 6);
    assert_non_null(strstr(fig, ">Asks open questions fi\xE2\x80\xA6</text>"));
    assert_non_null(strstr(fig, ">Lets the rep self-asse\xE2\x80\xA6</text>"));
    free(fig);
    free(page);
    arena_free(&f.a);
}

static void test_deterministic_and_capped(void **state)
{
    struct fixture f;
    char *a, *b;
    struct buf small;
    size_t full;

    (void)state;
    build(&f);
    a = render(&f.d, &ctx_slm);
    b = render(&f.d, &ctx_slm);
    assert_string_equal(a, b);
    full = strlen(a);
    free(b);
    free(a);

    buf_init(&small, full - 1);
    assert_int_equal(render_dashboard(&f.d, &ctx_slm, &small), -ENOBUFS);
    assert_true(small.len < full);
    buf_free(&small);
    buf_init(&small, full);
    assert_int_equal(render_dashboard(&f.d, &ctx_slm, &small), 0);
    assert_int_equal(small.len, full);
    buf_free(&small);
    arena_free(&f.a);
}

/* Fields a hand-made message may leave NULL or short, and values a bug
 * upstream could produce (NaN, infinities, arrays shorter than x_labels),
 * still give a well-formed page. */
static void test_ragged_input(void **state)
{
    struct fixture f;
    char *page;
    static const double ny[] = {NAN, INFINITY, 2.5, -1e300};

    (void)state;
    build(&f);
    f.charts[0]->series[1] = series(&f.a, NULL, 4, ny, NULL, NULL);
    f.charts[0]->series[1]->n_present = 2; /* fewer flags than values */
    f.charts[0]->y_min = 0;
    f.charts[0]->y_max = 0; /* no range given: computed */
    f.charts[2]->points[1]->x = NAN;
    f.charts[3]->kind = (Coachq__V1__Chart__Kind)99;
    f.tables[0]->title = NULL;
    f.tables[0]->rows[0]->cells[1] = NULL;
    f.d.subject_name = NULL;
    f.d.title = NULL;
    page = render(&f.d, &ctx_slm);
    check_xml(page);
    assert_null(strstr(page, "nan"));
    assert_null(strstr(page, "inf"));
    assert_non_null(strstr(page, "This chart cannot be shown"));
    free(page);
    page = render(&f.d, NULL);
    check_xml(page);
    assert_null(strstr(page, "/signout"));
    free(page);
    arena_free(&f.a);
}

static char *buf_str(struct buf *b)
{
    char *s = malloc(b->len + 1);
    assert_non_null(s);
    memcpy(s, b->data, b->len);
    s[b->len] = 0;
    return s;
}

static void test_signin_and_error(void **state)
{
    struct buf b;
    char *s;

    (void)state;
    buf_init(&b, PAGE_MAX);
    assert_int_equal(render_signin("c\"srf", "Wrong " HOSTILE, &b), 0);
    s = buf_str(&b);
    check_xml(s);
    assert_non_null(strstr(s, "<form class=\"signin\" method=\"post\" action=\"/signin\">"));
    assert_non_null(strstr(s, "name=\"user\""));
    assert_non_null(strstr(s, "name=\"password\" type=\"password\""));
    assert_non_null(strstr(s, "<input type=\"hidden\" name=\"csrf\" value=\"c&quot;srf\" />"));
    assert_non_null(strstr(s, "role=\"alert\">Wrong " HOSTILE_ESCAPED));
    assert_non_null(strstr(s, "one-time sign-in link"));
    assert_false(ci_contains(s, "<script"));
    free(s);
    buf_free(&b);

    buf_init(&b, PAGE_MAX);
    assert_int_equal(render_signin("x", NULL, &b), 0);
    s = buf_str(&b);
    assert_null(strstr(s, "role=\"alert\""));
    free(s);
    buf_free(&b);

    buf_init(&b, PAGE_MAX);
    assert_int_equal(render_error(404, "No such " HOSTILE, &ctx_slm, &b), 0);
    s = buf_str(&b);
    check_xml(s);
    assert_non_null(strstr(s, "<title>404 Not found"));
    assert_non_null(strstr(s, "<h1>404 Not found</h1>"));
    assert_non_null(strstr(s, "No such " HOSTILE_ESCAPED));
    assert_non_null(strstr(s, "<a href=\"/\">"));
    assert_non_null(strstr(s, "action=\"/signout\""));
    free(s);
    buf_free(&b);

    buf_init(&b, PAGE_MAX);
    assert_int_equal(render_error(500, NULL, NULL, &b), 0);
    s = buf_str(&b);
    check_xml(s);
    assert_non_null(strstr(s, "500 Server error"));
    assert_null(strstr(s, "/signout"));
    free(s);
    buf_free(&b);
}

static void test_css(void **state)
{
    size_t len = 0;
    const char *css = render_css(&len);

    (void)state;
    assert_non_null(css);
    assert_int_equal(strlen(css), len);
    assert_non_null(strstr(css, "@media print"));
    assert_null(strstr(css, "url("));
    assert_null(strstr(css, "@import"));
    /* Braces balance. */
    {
        long depth = 0;
        for (size_t i = 0; i < len; i++) {
            depth += css[i] == '{';
            depth -= css[i] == '}';
            assert_true(depth >= 0);
        }
        assert_int_equal(depth, 0);
    }
}

/* A sample page in a temporary directory (kept when COACHQ_TEST_KEEP is
 * set, for looking at), read back whole; with xmllint installed its SVG
 * parts are checked by a real XML parser as well. */
static void test_sample_file(void **state)
{
    struct fixture f;
    char dir[512], path[600], *page, *back;
    FILE *fp;
    long n;

    (void)state;
    build(&f);
    page = render(&f.d, &ctx_slm);
    testutil_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/sample.html", dir);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(page, 1, strlen(page), fp), strlen(page));
    assert_int_equal(fclose(fp), 0);
    fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_int_equal((size_t)n, strlen(page));
    rewind(fp);
    back = malloc((size_t)n + 1);
    assert_non_null(back);
    assert_int_equal(fread(back, 1, (size_t)n, fp), (size_t)n);
    back[n] = 0;
    fclose(fp);
    assert_string_equal(back, page);
    free(back);

    if (access("/usr/bin/xmllint", X_OK) == 0) {
        char *svg;
        char cmd[800];
        for (size_t i = 0; (svg = svg_part(page, i)) != NULL; i++) {
            snprintf(path, sizeof path, "%s/chart-%zu.svg", dir, i);
            fp = fopen(path, "wb");
            assert_non_null(fp);
            fputs(svg, fp);
            fclose(fp);
            free(svg);
            snprintf(cmd, sizeof cmd, "/usr/bin/xmllint --noout '%s'", path);
            assert_int_equal(system(cmd), 0);
        }
    }
    if (getenv("COACHQ_TEST_KEEP") != NULL) {
        print_message("sample page: %s/sample.html\n", dir);
    } else {
        testutil_rmrf(dir);
    }
    free(page);
    arena_free(&f.a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_page_safe),
        cmocka_unit_test(test_page_frame),
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_other_charts),
        cmocka_unit_test(test_deterministic_and_capped),
        cmocka_unit_test(test_ragged_input),
        cmocka_unit_test(test_signin_and_error),
        cmocka_unit_test(test_css),
        cmocka_unit_test(test_sample_file),
    };

    testutil_watchdog(60);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
