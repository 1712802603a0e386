/*
 * Size: this file is over the layout's 1,500 lines. It is one of the five the
 * layout issue splits along its seams (see ../shared/design/architecture.md);
 * until then it stays whole so that the hardening and statistics fixes
 * landed without a move in the same change.
 */
#include "day.h"
#include "render_html.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "http.h"
#include "obs_json.h"

/*
 * Everything is written through a struct out that keeps the first error, so
 * the page code reads top to bottom without a check after every append; the
 * caller's buffer may then hold a partial page, which the callers discard.
 */
struct out {
    struct buf *b;
    int rc;
};

static void put_n(struct out *o, const char *s, size_t n)
{
    if (o->rc == 0) {
        o->rc = buf_append(o->b, s, n);
    }
}

static void put(struct out *o, const char *s)
{
    put_n(o, s, strlen(s));
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct out *o, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    int n;

    if (o->rc != 0) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        o->rc = -EINVAL;
        return;
    }
    if ((size_t)n < sizeof small) {
        put_n(o, small, (size_t)n);
        return;
    }
    /* Only numbers and fixed words go through putf; a long one is a bug,
     * but it is still written whole rather than cut. */
    char *big = malloc((size_t)n + 1);
    if (big == NULL) {
        o->rc = -ENOMEM;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    put_n(o, big, (size_t)n);
    free(big);
}

/* ---- Escaping --------------------------------------------------------- */

/*
 * Decodes one UTF-8 sequence at p strictly (no overlongs, no surrogates,
 * nothing above U+10FFFF). Returns the bytes it covers (at least 1) and the
 * code point in *cp, or U+FFFD for a malformed sequence (then 1 byte is
 * consumed and decoding resumes at the next). The terminating NUL is never
 * a continuation byte, so a cut sequence stops before it.
 */
static size_t utf8_next(const unsigned char *p, uint32_t *cp)
{
    unsigned char b0 = p[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t len, i;
    uint32_t c;

    if (b0 < 0x80) {
        *cp = b0;
        return 1;
    }
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2;
        c = b0 & 0x1Fu;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3;
        c = b0 & 0x0Fu;
        if (b0 == 0xE0) {
            lo = 0xA0;
        } else if (b0 == 0xED) {
            hi = 0x9F;
        }
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4;
        c = b0 & 0x07u;
        if (b0 == 0xF0) {
            lo = 0x90;
        } else if (b0 == 0xF4) {
            hi = 0x8F;
        }
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    for (i = 1; i < len; i++) {
        unsigned char b = p[i];
        if (b < lo || b > hi) {
            *cp = 0xFFFD;
            return 1;
        }
        lo = 0x80;
        hi = 0xBF;
        c = (c << 6) | (b & 0x3Fu);
    }
    *cp = c;
    return len;
}

/* Characters that XML 1.0 forbids or that HTML reports as parse errors:
 * C0 controls other than tab, LF, CR; DEL and the C1 controls; and the
 * noncharacters. */
static int char_refused(uint32_t cp)
{
    if (cp < 0x20) {
        return cp != '\t' && cp != '\n' && cp != '\r';
    }
    if (cp >= 0x7F && cp <= 0x9F) {
        return 1;
    }
    if (cp >= 0xFDD0 && cp <= 0xFDEF) {
        return 1;
    }
    return (cp & 0xFFFEu) == 0xFFFEu;
}

/*
 * Writes s escaped for HTML text and attribute values, which is also valid
 * XML character data for SVG. At most maxchars code points are written;
 * a longer text ends with an ellipsis. NULL is the empty text.
 */
static void esc_max(struct out *o, const char *s, size_t maxchars)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *run;
    size_t chars = 0;

    if (s == NULL) {
        return;
    }
    run = p;
    while (*p != 0) {
        uint32_t cp;
        size_t len = utf8_next(p, &cp);
        const char *rep = NULL;

        if (chars == maxchars) {
            put_n(o, (const char *)run, (size_t)(p - run));
            put(o, "\xE2\x80\xA6");
            return;
        }
        chars++;
        switch (cp) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        case '\r':
            rep = "&#13;";
            break;
        default:
            if (cp == 0xFFFD || char_refused(cp)) {
                /* Malformed input also comes back as U+FFFD: write the
                 * replacement rather than the bytes it stands for. */
                rep = "\xEF\xBF\xBD";
            }
            break;
        }
        if (rep != NULL) {
            put_n(o, (const char *)run, (size_t)(p - run));
            put(o, rep);
            p += len;
            run = p;
        } else {
            p += len;
        }
    }
    put_n(o, (const char *)run, (size_t)(p - run));
}

static void esc(struct out *o, const char *s)
{
    esc_max(o, s, SIZE_MAX);
}

int render_escape(struct buf *out, const char *s)
{
    struct out o = {out, 0};
    esc(&o, s);
    return o.rc;
}

/* Percent-encodes s as one URL path segment or query value: only the
 * unreserved characters stay, so the result is also safe in an attribute. */
/* Appends s percent-encoded for a URL path segment (ids are at most 64
 * bytes, so three bytes each always fit). */
static void url_seg(struct out *o, const char *s)
{
    char enc[3 * 256 + 1];

    if (http_url_encode(s != NULL ? s : "", enc, sizeof(enc)) < 0) {
        o->rc = -ENOBUFS;
        return;
    }
    put(o, enc);
}

static int empty(const char *s)
{
    return s == NULL || s[0] == 0;
}

/* Code points in s (malformed bytes count one each). */
static size_t text_chars(const char *s)
{
    const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
    size_t n = 0;

    while (*p != 0) {
        uint32_t cp;
        p += utf8_next(p, &cp);
        n++;
    }
    return n;
}

static void put_day(struct out *o, int32_t day)
{
    int64_t y;
    unsigned m, d;

    day_to_civil(day, &y, &m, &d);
    putf(o, "%04lld-%02u-%02u", (long long)y, m, d);
}

/* ---- Page frame ------------------------------------------------------- */

struct nav_item {
    unsigned roles;
    const char *href;
    const char *label;
    Coachq__V1__DashboardKind kind;
};

static const struct nav_item nav_items[] = {
    {AUTH_SECOND_LEVEL, "/d/managers", "My managers",
     COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_MANAGERS},
    {AUTH_FRONT_LINE, "/d/me", "My coaching",
     COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_COACHING},
    {AUTH_LEAD | AUTH_ADMIN, "/d/programme", "Programme impact",
     COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME},
    {AUTH_LEAD | AUTH_ADMIN, "/d/observers", "Observer reliability",
     COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS},
};

/* Void elements are written self-closed ("<meta ... />"), which HTML5
 * accepts, so the whole page is also well-formed XML and tests can check it. */
static void page_start(struct out *o, const char *title, const char *subtitle)
{
    put(o, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />\n"
           "<title>");
    esc_max(o, title, 120);
    if (!empty(subtitle)) {
        put(o, " \xE2\x80\x94 ");
        esc_max(o, subtitle, 80);
    }
    put(o, " \xC2\xB7 coachq</title>\n"
           "<link rel=\"stylesheet\" href=\"/static/coachq.css\" />\n"
           /* The icon travels in the page (the CSP allows data: images), so
            * browsers do not ask for /favicon.ico. */
           "<link rel=\"icon\" href=\"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/"
           "svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%231f4e79'/"
           "%3E%3Cpath d='M3 11l3-4 3 2 4-5' stroke='%23fff' stroke-width='1.8' fill='none'/"
           "%3E%3C/svg%3E\" />\n</head>\n<body>\n");
}

static void page_header(struct out *o, const struct render_ctx *ctx,
                        Coachq__V1__DashboardKind current)
{
    size_t i;
    int any = 0;

    put(o, "<header class=\"top\">\n<a class=\"brand\" href=\"/\">coachq</a>\n");
    if (ctx != NULL) {
        for (i = 0; i < sizeof nav_items / sizeof nav_items[0]; i++) {
            if ((ctx->roles & nav_items[i].roles) == 0) {
                continue;
            }
            if (!any) {
                put(o, "<nav aria-label=\"Dashboards\">\n<ul>\n");
                any = 1;
            }
            put(o, "<li><a href=\"");
            put(o, nav_items[i].href);
            put(o, "\"");
            if (nav_items[i].kind == current) {
                put(o, " aria-current=\"page\"");
            }
            put(o, ">");
            put(o, nav_items[i].label);
            put(o, "</a></li>\n");
        }
        if (any) {
            put(o, "</ul>\n</nav>\n");
        }
        put(o, "<div class=\"user\"><span class=\"who\">Signed in as ");
        if (!empty(ctx->user_name)) {
            esc_max(o, ctx->user_name, 60);
            put(o, " <span class=\"uid\">(");
            esc_max(o, ctx->user_id, 64);
            put(o, ")</span>");
        } else {
            esc_max(o, ctx->user_id, 64);
        }
        put(o, "</span>\n<form class=\"signout\" method=\"post\" action=\"/signout\">"
               "<input type=\"hidden\" name=\"csrf\" value=\"");
        esc(o, ctx->csrf);
        put(o, "\" /><button type=\"submit\">Sign out</button></form></div>\n");
    }
    put(o, "</header>\n");
}

static void page_end(struct out *o, int64_t generated_at_ms)
{
    put(o, "<footer class=\"foot\">coachq");
    if (generated_at_ms > 0) {
        int64_t s = generated_at_ms / 1000;
        int64_t day = s / 86400;
        int64_t sod = s % 86400;
        put(o, " \xC2\xB7 generated ");
        put_day(o, (int32_t)day);
        putf(o, " %02d:%02d UTC", (int)(sod / 3600), (int)(sod / 60 % 60));
    }
    put(o, "</footer>\n</body>\n</html>\n");
}

/* ---- Tables ----------------------------------------------------------- */

static int cell_is_figure(const Coachq__V1__Cell *c)
{
    return c->insufficient || c->has_value || c->n > 0;
}

static void put_link_open(struct out *o, const char *id, const struct render_ctx *ctx)
{
    put(o, "<a href=\"/d/manager/");
    url_seg(o, id);
    if (ctx != NULL && !empty(ctx->query)) {
        esc(o, ctx->query);
    }
    put(o, "\">");
}

static void put_cell(struct out *o, const Coachq__V1__Dashboard *d, const Coachq__V1__Cell *c,
                     const char *tag, const struct render_ctx *ctx)
{
    /* Links go to the manager detail page; the observers' dashboard names
     * observers, who have no page of their own. */
    int link = !empty(c->link) && d->kind != COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS;

    put(o, "<");
    put(o, tag);
    if (tag[1] == 'h') {
        put(o, " scope=\"row\"");
    }
    if (c->insufficient) {
        /* Whatever text or value came with it, an insufficient figure is
         * never shown as a number. */
        put(o, " class=\"num insufficient\"><span class=\"insuf\">insufficient data</span>");
        if (c->n > 0) {
            putf(o, "<span class=\"n\">n=%u</span>", (unsigned)c->n);
        }
    } else if (cell_is_figure(c)) {
        char nbuf[16];
        put(o, " class=\"num\">");
        if (link) {
            put_link_open(o, c->link, ctx);
        }
        esc(o, c->text);
        if (link) {
            put(o, "</a>");
        }
        snprintf(nbuf, sizeof nbuf, "%u", (unsigned)c->n);
        /* A count is its own n: "12 n=12" would say nothing. */
        if (c->n > 0 && (c->text == NULL || strcmp(c->text, nbuf) != 0)) {
            putf(o, "<span class=\"n\">n=%u</span>", (unsigned)c->n);
        }
    } else {
        put(o, ">");
        if (link) {
            put_link_open(o, c->link, ctx);
        }
        esc(o, c->text);
        if (link) {
            put(o, "</a>");
        }
    }
    put(o, "</");
    put(o, tag);
    put(o, ">");
}

static void put_csv_href(struct out *o, const Coachq__V1__Table *t, const struct render_ctx *ctx)
{
    esc(o, ctx->api_path);
    put(o, "/tables/");
    url_seg(o, t->id);
    put(o, ".csv");
    if (!empty(ctx->query)) {
        esc(o, ctx->query);
    }
}

/* From this many columns a table is "wide": tighter cells, n under the
 * figure. */
#define RENDER_WIDE_COLUMNS 9

static void put_table(struct out *o, const Coachq__V1__Dashboard *d, const Coachq__V1__Table *t,
                      size_t ti, const struct render_ctx *ctx)
{
    size_t i, j;

    /* A table of many columns puts each figure's n under it, so that it
     * fits its card (see the CSS). */
    putf(o, "<div class=\"table-wrap%s\" id=\"table-%zu\">\n<table>\n<caption>",
         t->n_columns >= RENDER_WIDE_COLUMNS ? " wide" : "", ti);
    esc(o, t->title);
    put(o, "</caption>\n");
    if (t->n_columns > 0) {
        put(o, "<thead><tr>");
        for (i = 0; i < t->n_columns; i++) {
            put(o, "<th scope=\"col\"");
            if (i > 0) {
                put(o, " class=\"num\"");
            }
            put(o, ">");
            esc(o, t->columns[i]);
            put(o, "</th>");
        }
        put(o, "</tr></thead>\n");
    }
    put(o, "<tbody>\n");
    for (i = 0; i < t->n_rows; i++) {
        const Coachq__V1__TableRow *r = t->rows[i];
        put(o, "<tr>");
        for (j = 0; r != NULL && j < r->n_cells; j++) {
            if (r->cells[j] != NULL) {
                put_cell(o, d, r->cells[j], j == 0 ? "th" : "td", ctx);
            } else {
                put(o, "<td></td>");
            }
        }
        put(o, "</tr>\n");
    }
    if (t->n_rows == 0) {
        putf(o, "<tr><td class=\"empty\" colspan=\"%zu\">No data in this period.</td></tr>\n",
             t->n_columns > 0 ? t->n_columns : (size_t)1);
    }
    put(o, "</tbody>\n</table>\n</div>\n<div class=\"table-foot\">");
    if (!empty(t->note)) {
        put(o, "<p class=\"note\">");
        esc(o, t->note);
        put(o, "</p>");
    }
    if (ctx != NULL && !empty(ctx->api_path)) {
        put(o, "<a class=\"csv\" href=\"");
        put_csv_href(o, t, ctx);
        put(o, "\">Download CSV<span class=\"vh\"> of ");
        esc(o, t->title);
        put(o, "</span></a>");
    }
    put(o, "</div>\n");
}

/* ---- Charts: shared geometry ------------------------------------------ */

#define SVG_W 760.0
#define CHAR_W 6.4 /* average width of an 11px sans-serif character */

/* Colour-blind-safe categorical colours, in the order series use them. */
static const char *const palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                      "#E69F00", "#56B4E9", "#6B6B6B", "#000000"};
#define NPALETTE (sizeof palette / sizeof palette[0])
/* Past the palette, series repeat colours with a dash pattern. */
static const char *const dashes[] = {"", "6 3", "2 3", "8 3 2 3"};

struct plot {
    double x0, y0, x1, y1; /* plot area: left, top, right, bottom */
    double vmin, vmax;     /* values along y */
    double xmin, xmax;     /* values along x (quadrant) */
};

static double absd(double v)
{
    return v < 0 ? -v : v;
}

static double floord(double v)
{
    double t = (double)(long long)v;
    return t > v ? t - 1 : t;
}

static double ceild(double v)
{
    double t = (double)(long long)v;
    return t < v ? t + 1 : t;
}

/* A round step (1, 2 or 5 times a power of ten) giving about target ticks. */
static double nice_step(double range, int target)
{
    double raw = range / target, p = 1;

    if (!(raw > 0) || !isfinite(raw)) {
        return 1;
    }
    while (p * 10 <= raw) {
        p *= 10;
    }
    while (p > raw) {
        p /= 10;
    }
    if (raw <= p) {
        return p;
    }
    if (raw <= 2 * p) {
        return 2 * p;
    }
    if (raw <= 5 * p) {
        return 5 * p;
    }
    return 10 * p;
}

/* Widens [*lo, *hi] to round steps; an empty or inverted range gets room. */
static double nice_range(double *lo, double *hi)
{
    double step;

    if (!isfinite(*lo) || !isfinite(*hi)) {
        *lo = 0;
        *hi = 1;
    }
    if (*hi <= *lo) {
        *lo -= 1;
        *hi += 1;
    }
    step = nice_step(*hi - *lo, 5);
    *lo = floord(*lo / step) * step;
    *hi = ceild(*hi / step) * step;
    return step;
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static double py(const struct plot *p, double v)
{
    double t = (v - p->vmin) / (p->vmax - p->vmin);
    if (!isfinite(t)) {
        t = 0;
    }
    return p->y1 - clampd(t, 0, 1) * (p->y1 - p->y0);
}

static double pxv(const struct plot *p, double v)
{
    double t = (v - p->xmin) / (p->xmax - p->xmin);
    if (!isfinite(t)) {
        t = 0;
    }
    return p->x0 + clampd(t, 0, 1) * (p->x1 - p->x0);
}

/* The x of the centre of slot i of n across the plot. */
static double pxi(const struct plot *p, size_t i, size_t n)
{
    return p->x0 + ((double)i + 0.5) * (p->x1 - p->x0) / (double)n;
}

/* A value formatted with the decimals its step needs; "-0" never shows. */
static void put_tick(struct out *o, double v, double step)
{
    int dec = 0;
    double s = step;

    while (s < 1 && dec < 6) {
        s *= 10;
        dec++;
    }
    if (absd(v) < step * 1e-9) {
        v = 0;
    }
    putf(o, "%.*f", dec, v);
}

static int series_present(const Coachq__V1__Series *s, size_t i, size_t nx)
{
    return i < nx && i < s->n_y && i < s->n_present && s->present[i] && isfinite(s->y[i]);
}

static int series_band(const Coachq__V1__Series *s, size_t i)
{
    return s->has_band && i < s->n_lo && i < s->n_hi && isfinite(s->lo[i]) && isfinite(s->hi[i]);
}

static unsigned series_n(const Coachq__V1__Series *s, size_t i)
{
    return i < s->n_n ? s->n[i] : 0;
}

static int chart_has_data(const Coachq__V1__Chart *c)
{
    size_t i, j;

    if (c->kind == COACHQ__V1__CHART__KIND__KIND_QUADRANT) {
        for (i = 0; i < c->n_points; i++) {
            if (c->points[i] != NULL && isfinite(c->points[i]->x) && isfinite(c->points[i]->y)) {
                return 1;
            }
        }
        return 0;
    }
    for (i = 0; i < c->n_series; i++) {
        for (j = 0; c->series[i] != NULL && j < c->n_x_labels; j++) {
            if (series_present(c->series[i], j, c->n_x_labels)) {
                return 1;
            }
        }
    }
    return 0;
}

/* The range of the present values (with their bands); 0 when there are none. */
static int series_extent(const Coachq__V1__Chart *c, double *lo, double *hi)
{
    size_t i, j;
    int any = 0;

    for (i = 0; i < c->n_series; i++) {
        const Coachq__V1__Series *s = c->series[i];
        for (j = 0; s != NULL && j < c->n_x_labels; j++) {
            double a, b;
            if (!series_present(s, j, c->n_x_labels)) {
                continue;
            }
            a = b = s->y[j];
            if (series_band(s, j)) {
                a = s->lo[j] < a ? s->lo[j] : a;
                b = s->hi[j] > b ? s->hi[j] : b;
            }
            if (!any || a < *lo) {
                *lo = a;
            }
            if (!any || b > *hi) {
                *hi = b;
            }
            any = 1;
        }
    }
    return any;
}

static void svg_open(struct out *o, size_t ci, double h, const char *kind_words,
                     const Coachq__V1__Chart *c, const Coachq__V1__Dashboard *d)
{
    const Coachq__V1__Table *t = NULL;
    size_t i;

    for (i = 0; !empty(c->table_id) && i < d->n_tables; i++) {
        if (d->tables[i] != NULL && d->tables[i]->id != NULL &&
            strcmp(d->tables[i]->id, c->table_id) == 0) {
            t = d->tables[i];
            break;
        }
    }
    putf(o,
         "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart-svg\" viewBox=\"0 0 %.0f %.0f\" "
         "width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-labelledby=\"c%zu-t c%zu-d\" "
         "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\" "
         "font-size=\"11\">\n<title id=\"c%zu-t\">",
         SVG_W, h, SVG_W, h, ci, ci, ci);
    esc(o, c->title);
    putf(o, "</title>\n<desc id=\"c%zu-d\">", ci);
    put(o, kind_words);
    if (t != NULL) {
        put(o, " The figures, with their n, are in the table \xE2\x80\x9C");
        esc(o, t->title);
        put(o, "\xE2\x80\x9D.");
    }
    put(o, "</desc>\n");
}

static void axis_titles(struct out *o, const struct plot *p, const Coachq__V1__Chart *c,
                        double xtitle_y)
{
    if (!empty(c->x_title)) {
        putf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#3e4c59\">",
             (p->x0 + p->x1) / 2, xtitle_y);
        esc_max(o, c->x_title, 80);
        put(o, "</text>\n");
    }
    if (!empty(c->y_title)) {
        double cy = (p->y0 + p->y1) / 2;
        putf(o,
             "<text x=\"14\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 14 %.1f)\" "
             "fill=\"#3e4c59\">",
             cy, cy);
        esc_max(o, c->y_title, 50);
        put(o, "</text>\n");
    }
}

/* Horizontal grid lines with their labels at round values. */
static void y_grid(struct out *o, const struct plot *p, double step)
{
    double k0 = ceild(p->vmin / step - 1e-9), k1 = floord(p->vmax / step + 1e-9);
    double k;
    int guard = 0;

    put(o, "<g class=\"grid\">\n");
    for (k = k0; k <= k1 && guard < 40; k += 1, guard++) {
        double v = k * step, y = py(p, v);
        putf(o,
             "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e7eb\" "
             "stroke-width=\"1\" />",
             p->x0, y, p->x1, y);
        putf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#52606d\">", p->x0 - 6,
             y + 4);
        put_tick(o, v, step);
        put(o, "</text>\n");
    }
    put(o, "</g>\n");
}

/* The longest x label in characters, at most cap. */
static size_t label_chars(const Coachq__V1__Chart *c, size_t cap)
{
    size_t i, maxc = 1;

    for (i = 0; i < c->n_x_labels; i++) {
        size_t n = text_chars(c->x_labels[i]);
        maxc = n > maxc ? n : maxc;
    }
    return maxc > cap ? cap : maxc;
}

#define ROT_LABEL_CHARS 22
#define SIN45 0.7071

/*
 * The x labels under the plot. Periods (rotate 0) are thinned to every k-th
 * when they would collide; categories (rotate 1) are all named, slanted,
 * since a bar without its name means nothing.
 */
static void x_labels(struct out *o, const struct plot *p, const Coachq__V1__Chart *c, int rotate)
{
    size_t nx = c->n_x_labels, i, step = 1, maxc = label_chars(c, 16);
    double slot = (p->x1 - p->x0) / (double)nx;

    if (!rotate) {
        step = (size_t)ceild(((double)maxc * CHAR_W + 8) / slot);
        step = step < 1 ? 1 : step;
    }
    put(o, "<g class=\"xlabels\" fill=\"#52606d\" text-anchor=\"");
    put(o, rotate ? "end" : "middle");
    put(o, "\">\n");
    for (i = 0; i < nx; i += step) {
        double x = pxi(p, i, nx);
        putf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#9aa5b1\" />", x,
             p->y1, x, p->y1 + 4);
        if (rotate) {
            putf(o, "<text x=\"%.1f\" y=\"%.1f\" transform=\"rotate(-45 %.1f %.1f)\">", x,
                 p->y1 + 12, x, p->y1 + 12);
            esc_max(o, c->x_labels[i], ROT_LABEL_CHARS);
        } else {
            putf(o, "<text x=\"%.1f\" y=\"%.1f\">", x, p->y1 + 16);
            esc_max(o, c->x_labels[i], 16);
        }
        put(o, "</text>\n");
    }
    put(o, "</g>\n");
}

static void series_style(struct out *o, size_t si)
{
    const char *dash = dashes[(si / NPALETTE) % (sizeof dashes / sizeof dashes[0])];
    putf(o, " stroke=\"%s\"", palette[si % NPALETTE]);
    if (dash[0] != 0) {
        putf(o, " stroke-dasharray=\"%s\"", dash);
    }
}

#define LEGEND_COL 236.0
#define LEGEND_ROW 18.0

static double legend_height(size_t n, double width)
{
    size_t per = (size_t)(width / LEGEND_COL);
    per = per < 1 ? 1 : per;
    return (double)((n + per - 1) / per) * LEGEND_ROW;
}

/* One entry per series below the plot, in columns across width. */
static void legend(struct out *o, const Coachq__V1__Chart *c, double x0, double y0, double width,
                   int bars)
{
    size_t per = (size_t)(width / LEGEND_COL), i;

    per = per < 1 ? 1 : per;
    put(o, "<g class=\"legend\" fill=\"#1f2933\">\n");
    for (i = 0; i < c->n_series; i++) {
        double x = x0 + (double)(i % per) * LEGEND_COL;
        double y = y0 + (double)(i / per) * LEGEND_ROW;
        if (bars) {
            putf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"10\" fill=\"%s\" />", x,
                 y - 9, palette[i % NPALETTE]);
        } else {
            putf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke-width=\"2.5\"", x,
                 y - 4, x + 18, y - 4);
            series_style(o, i);
            put(o, " />");
        }
        putf(o, "<text x=\"%.1f\" y=\"%.1f\">", x + 24, y);
        esc_max(o, c->series[i] != NULL ? c->series[i]->name : "", 32);
        put(o, "</text>\n");
    }
    put(o, "</g>\n");
}

/* A <title> child for tooltips: "series, label: value (n=..)". */
static void point_title(struct out *o, const char *series, const char *label, double v, unsigned n)
{
    put(o, "<title>");
    if (!empty(series)) {
        esc_max(o, series, 60);
        put(o, ", ");
    }
    esc_max(o, label, 30);
    putf(o, ": %.2f", v);
    if (n > 0) {
        putf(o, " (n=%u)", n);
    }
    put(o, "</title>");
}

/* ---- LINES ------------------------------------------------------------ */

static void chart_lines(struct out *o, size_t ci, const Coachq__V1__Chart *c,
                        const Coachq__V1__Dashboard *d)
{
    struct plot p = {56, 14, SVG_W - 16, 14 + 250, 0, 0, 0, 0};
    size_t nx = c->n_x_labels, si, i;
    double step, lh = legend_height(c->n_series, p.x1 - p.x0);
    double h = p.y1 + 48 + lh;
    char words[160];

    if (isfinite(c->y_min) && isfinite(c->y_max) && c->y_max > c->y_min) {
        p.vmin = c->y_min;
        p.vmax = c->y_max;
        step = nice_step(p.vmax - p.vmin, 5);
    } else {
        p.vmin = 0;
        p.vmax = 1;
        series_extent(c, &p.vmin, &p.vmax);
        step = nice_range(&p.vmin, &p.vmax);
    }
    snprintf(words, sizeof words,
             "Line chart: %zu series over %zu periods; gaps mark periods without enough data.",
             c->n_series, nx);
    svg_open(o, ci, h, words, c, d);
    y_grid(o, &p, step);
    putf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#9aa5b1\" />\n", p.x0,
         p.y1, p.x1, p.y1);
    x_labels(o, &p, c, 0);

    /* Bands first, so every line draws over every band. */
    for (si = 0; si < c->n_series; si++) {
        const Coachq__V1__Series *s = c->series[si];
        if (s == NULL || !s->has_band) {
            continue;
        }
        for (i = 0; i < nx;) {
            size_t a = i, b, k;
            if (!series_present(s, i, nx) || !series_band(s, i)) {
                i++;
                continue;
            }
            while (i < nx && series_present(s, i, nx) && series_band(s, i)) {
                i++;
            }
            b = i; /* [a, b) */
            if (b - a == 1) {
                double x = pxi(&p, a, nx);
                putf(o,
                     "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke-width=\"6\" "
                     "stroke-opacity=\"0.2\" stroke=\"%s\" />\n",
                     x, py(&p, s->lo[a]), x, py(&p, s->hi[a]), palette[si % NPALETTE]);
                continue;
            }
            putf(o, "<polygon class=\"band\" fill=\"%s\" fill-opacity=\"0.15\" points=\"",
                 palette[si % NPALETTE]);
            for (k = a; k < b; k++) {
                putf(o, "%.1f,%.1f ", pxi(&p, k, nx), py(&p, s->hi[k]));
            }
            for (k = b; k > a; k--) {
                putf(o, "%.1f,%.1f%s", pxi(&p, k - 1, nx), py(&p, s->lo[k - 1]),
                     k - 1 > a ? " " : "");
            }
            put(o, "\" />\n");
        }
    }
    for (si = 0; si < c->n_series; si++) {
        const Coachq__V1__Series *s = c->series[si];
        if (s == NULL) {
            continue;
        }
        putf(o, "<g class=\"series\" fill=\"%s\">\n", palette[si % NPALETTE]);
        /* One polyline per run of present values: a gap stays a gap. */
        for (i = 0; i < nx;) {
            size_t a = i, k;
            if (!series_present(s, i, nx)) {
                i++;
                continue;
            }
            while (i < nx && series_present(s, i, nx)) {
                i++;
            }
            if (i - a < 2) {
                continue;
            }
            put(o, "<polyline fill=\"none\" stroke-width=\"2\" stroke-linejoin=\"round\"");
            series_style(o, si);
            put(o, " points=\"");
            for (k = a; k < i; k++) {
                putf(o, "%.1f,%.1f%s", pxi(&p, k, nx), py(&p, s->y[k]), k + 1 < i ? " " : "");
            }
            put(o, "\" />\n");
        }
        for (i = 0; i < nx; i++) {
            if (!series_present(s, i, nx)) {
                continue;
            }
            putf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\">", pxi(&p, i, nx), py(&p, s->y[i]));
            point_title(o, s->name, c->x_labels[i], s->y[i], series_n(s, i));
            put(o, "</circle>\n");
        }
        put(o, "</g>\n");
    }
    axis_titles(o, &p, c, p.y1 + 34);
    legend(o, c, p.x0, p.y1 + 48 + 10, p.x1 - p.x0, 0);
    put(o, "</svg>\n");
}

/* ---- HEATMAP ---------------------------------------------------------- */

/* A sequential single-hue scale, light (low) to dark (high). */
static const unsigned char heat_stops[][3] = {
    {0xEF, 0xF3, 0xFF}, {0xC6, 0xDB, 0xEF}, {0x6B, 0xAE, 0xD6},
    {0x21, 0x71, 0xB5}, {0x08, 0x30, 0x6B},
};
#define NHEAT (sizeof heat_stops / sizeof heat_stops[0])

static void heat_colour(double t, char out[8])
{
    double f = clampd(t, 0, 1) * (double)(NHEAT - 1);
    size_t k = (size_t)f;
    double r;
    int ch[3], j;

    if (k >= NHEAT - 1) {
        k = NHEAT - 2;
    }
    r = f - (double)k;
    for (j = 0; j < 3; j++) {
        ch[j] = (int)(heat_stops[k][j] + (heat_stops[k + 1][j] - heat_stops[k][j]) * r + 0.5);
    }
    snprintf(out, 8, "#%02X%02X%02X", ch[0] & 0xFF, ch[1] & 0xFF, ch[2] & 0xFF);
}

static void chart_heatmap(struct out *o, size_t ci, const Coachq__V1__Chart *c,
                          const Coachq__V1__Dashboard *d)
{
    size_t nx = c->n_x_labels, nr = c->n_series, i, j, maxc = 4;
    double lo = 0, hi = 1, labelw, cw, ch = 24, top = 30, h, x0, right = 8;
    double tw = (double)label_chars(c, ROT_LABEL_CHARS) * CHAR_W;
    int rotate;
    char words[160];

    if (isfinite(c->y_min) && isfinite(c->y_max) && c->y_max > c->y_min) {
        lo = c->y_min;
        hi = c->y_max;
    } else if (!series_extent(c, &lo, &hi) || hi <= lo) {
        hi = lo + 1;
    }
    for (i = 0; i < nr; i++) {
        size_t n = text_chars(c->series[i] != NULL ? c->series[i]->name : "");
        maxc = n > maxc ? n : maxc;
    }
    maxc = maxc > 30 ? 30 : maxc;
    labelw = (double)maxc * CHAR_W + 14;
    x0 = labelw;
    cw = (SVG_W - right - x0) / (double)nx;
    /* Every column is named: slanted when the names do not fit across. */
    rotate = tw + 6 > cw;
    if (rotate) {
        right = SIN45 * tw - cw / 2 + 10;
        right = right < 8 ? 8 : right;
        cw = (SVG_W - right - x0) / (double)nx;
        top = SIN45 * tw + 18;
    }
    h = top + ch * (double)nr + 16 + 40;
    snprintf(words, sizeof words,
             "Heat map: %zu rows by %zu columns, darker cells are higher, from %.2f to %.2f; "
             "a dash marks a cell without enough data.",
             nr, nx, lo, hi);
    svg_open(o, ci, h, words, c, d);

    put(o, "<g fill=\"#52606d\" text-anchor=\"");
    put(o, rotate ? "start" : "middle");
    put(o, "\">\n");
    for (j = 0; j < nx; j++) {
        double x = x0 + ((double)j + 0.5) * cw;
        if (rotate) {
            putf(o, "<text x=\"%.1f\" y=\"%.1f\" transform=\"rotate(-45 %.1f %.1f)\">", x, top - 8,
                 x, top - 8);
        } else {
            putf(o, "<text x=\"%.1f\" y=\"%.1f\">", x, top - 10);
        }
        esc_max(o, c->x_labels[j], ROT_LABEL_CHARS);
        put(o, "</text>\n");
    }
    put(o, "</g>\n");
    for (i = 0; i < nr; i++) {
        const Coachq__V1__Series *s = c->series[i];
        double y = top + (double)i * ch;
        putf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#1f2933\">", x0 - 8,
             y + ch / 2 + 4);
        esc_max(o, s != NULL ? s->name : "", 30);
        put(o, "</text>\n");
        for (j = 0; j < nx; j++) {
            double x = x0 + (double)j * cw;
            char fill[8];
            int present = s != NULL && series_present(s, j, nx);
            double t = present ? (s->y[j] - lo) / (hi - lo) : 0;

            if (present) {
                heat_colour(t, fill);
            } else {
                memcpy(fill, "#F5F7FA", 8);
            }
            putf(o,
                 "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                 "stroke=\"#ffffff\" stroke-width=\"1\">",
                 x, y, cw, ch, fill);
            if (present) {
                point_title(o, s->name, c->x_labels[j], s->y[j], series_n(s, j));
            } else {
                put(o, "<title>");
                esc_max(o, s != NULL ? s->name : "", 60);
                put(o, ", ");
                esc_max(o, c->x_labels[j], 30);
                put(o, ": insufficient data</title>");
            }
            put(o, "</rect>\n");
            if (cw < 22) {
                continue;
            }
            putf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"%s\">", x + cw / 2,
                 y + ch / 2 + 4,
                 !present   ? "#7b8794"
                 : t > 0.55 ? "#ffffff"
                            : "#1f2933");
            if (present) {
                putf(o, "%.1f", s->y[j]);
            } else {
                put(o, "\xE2\x80\x93");
            }
            put(o, "</text>\n");
        }
    }
    /* The scale: swatches at round values. */
    {
        double step = nice_step(hi - lo, 4), v, ly = top + ch * (double)nr + 22;
        double lx = x0;
        int guard = 0;
        put(o, "<g class=\"legend\" fill=\"#52606d\">\n<text x=\"");
        putf(o, "%.1f\" y=\"%.1f\" text-anchor=\"end\">scale</text>\n", lx - 8, ly + 11);
        for (v = ceild(lo / step - 1e-9) * step; v <= hi + step * 1e-9 && guard < 12;
             v += step, guard++) {
            char fill[8];
            heat_colour((v - lo) / (hi - lo), fill);
            putf(o,
                 "<rect x=\"%.1f\" y=\"%.1f\" width=\"28\" height=\"14\" fill=\"%s\" "
                 "stroke=\"#cbd2d9\" />",
                 lx, ly, fill);
            putf(o, "<text x=\"%.1f\" y=\"%.1f\">", lx + 34, ly + 11);
            put_tick(o, v, step);
            put(o, "</text>\n");
            lx += 70;
        }
        putf(o,
             "<rect x=\"%.1f\" y=\"%.1f\" width=\"28\" height=\"14\" fill=\"#F5F7FA\" "
             "stroke=\"#cbd2d9\" /><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
             "fill=\"#7b8794\">\xE2\x80\x93</text><text x=\"%.1f\" y=\"%.1f\">insufficient "
             "data</text>\n</g>\n",
             lx + 10, ly, lx + 24, ly + 11, lx + 44, ly + 11);
    }
    put(o, "</svg>\n");
}

/* ---- QUADRANT --------------------------------------------------------- */

static void quadrant_label(struct out *o, double x, double y, const char *anchor, const char *xw,
                           const char *xt, const char *yw, const char *yt)
{
    putf(o,
         "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" fill=\"#7b8794\" font-style=\"italic\">",
         x, y, anchor);
    put(o, xw);
    put(o, " ");
    esc_max(o, empty(xt) ? "x" : xt, 28);
    put(o, ", ");
    put(o, yw);
    put(o, " ");
    esc_max(o, empty(yt) ? "y" : yt, 28);
    put(o, "</text>\n");
}

static void chart_quadrant(struct out *o, size_t ci, const Coachq__V1__Chart *c,
                           const Coachq__V1__Dashboard *d)
{
    struct plot p = {56, 14, SVG_W - 16, 14 + 320, 0, 0, 0, 0};
    size_t i, nflag = 0, nok = 0;
    double xstep, ystep, h = p.y1 + 70, sx, sy;
    int have = 0;
    char words[200];

    for (i = 0; i < c->n_points; i++) {
        const Coachq__V1__Point *q = c->points[i];
        if (q == NULL || !isfinite(q->x) || !isfinite(q->y)) {
            continue;
        }
        if (!have) {
            p.xmin = p.xmax = q->x;
            p.vmin = p.vmax = q->y;
            have = 1;
        }
        p.xmin = q->x < p.xmin ? q->x : p.xmin;
        p.xmax = q->x > p.xmax ? q->x : p.xmax;
        p.vmin = q->y < p.vmin ? q->y : p.vmin;
        p.vmax = q->y > p.vmax ? q->y : p.vmax;
        nok++;
        nflag += q->flagged != 0;
    }
    if (isfinite(c->x_split)) {
        p.xmin = c->x_split < p.xmin ? c->x_split : p.xmin;
        p.xmax = c->x_split > p.xmax ? c->x_split : p.xmax;
    }
    if (isfinite(c->y_min) && isfinite(c->y_max) && c->y_max > c->y_min) {
        p.vmin = c->y_min < p.vmin ? c->y_min : p.vmin;
        p.vmax = c->y_max > p.vmax ? c->y_max : p.vmax;
        ystep = nice_step(p.vmax - p.vmin, 5);
        if (p.vmin < c->y_min || p.vmax > c->y_max) {
            ystep = nice_range(&p.vmin, &p.vmax);
        }
    } else {
        if (isfinite(c->y_split)) {
            p.vmin = c->y_split < p.vmin ? c->y_split : p.vmin;
            p.vmax = c->y_split > p.vmax ? c->y_split : p.vmax;
        }
        ystep = nice_range(&p.vmin, &p.vmax);
    }
    if (p.xmax > p.xmin) {
        /* Room so that no point sits on the frame; counts stay >= 0. */
        double pad = (p.xmax - p.xmin) * 0.06;
        p.xmin = p.xmin >= 0 && p.xmin - pad < 0 ? 0 : p.xmin - pad;
        p.xmax += pad;
    }
    xstep = nice_range(&p.xmin, &p.xmax);
    snprintf(words, sizeof words,
             "Scatter plot of %zu points split into four quadrants; %zu flagged points are drawn "
             "larger in orange and named.",
             nok, nflag);
    svg_open(o, ci, h, words, c, d);
    y_grid(o, &p, ystep);
    /* x axis ticks at round values */
    {
        double k0 = ceild(p.xmin / xstep - 1e-9), k1 = floord(p.xmax / xstep + 1e-9), k;
        int guard = 0;
        put(o, "<g fill=\"#52606d\" text-anchor=\"middle\">\n");
        for (k = k0; k <= k1 && guard < 40; k += 1, guard++) {
            double x = pxv(&p, k * xstep);
            putf(o,
                 "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#9aa5b1\" />"
                 "<text x=\"%.1f\" y=\"%.1f\">",
                 x, p.y1, x, p.y1 + 4, x, p.y1 + 16);
            put_tick(o, k * xstep, xstep);
            put(o, "</text>\n");
        }
        put(o, "</g>\n");
    }
    putf(o,
         "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
         "stroke=\"#9aa5b1\" />\n",
         p.x0, p.y0, p.x1 - p.x0, p.y1 - p.y0);
    sx = isfinite(c->x_split) ? pxv(&p, c->x_split) : (p.x0 + p.x1) / 2;
    sy = isfinite(c->y_split) ? py(&p, c->y_split) : (p.y0 + p.y1) / 2;
    putf(o,
         "<g stroke=\"#3e4c59\" stroke-dasharray=\"5 4\" stroke-width=\"1.2\">"
         "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" />"
         "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" /></g>\n",
         sx, p.y0, sx, p.y1, p.x0, sy, p.x1, sy);
    quadrant_label(o, p.x0 + 6, p.y0 + 14, "start", "low", c->x_title, "high", c->y_title);
    quadrant_label(o, p.x1 - 6, p.y0 + 14, "end", "high", c->x_title, "high", c->y_title);
    quadrant_label(o, p.x0 + 6, p.y1 - 8, "start", "low", c->x_title, "low", c->y_title);
    quadrant_label(o, p.x1 - 6, p.y1 - 8, "end", "high", c->x_title, "low", c->y_title);

    /* Unflagged points first, flagged ones on top with their names. */
    double placed[64][2];
    size_t nplaced = 0;

    for (int pass = 0; pass < 2; pass++) {
        for (i = 0; i < c->n_points; i++) {
            const Coachq__V1__Point *q = c->points[i];
            double x, y;
            if (q == NULL || !isfinite(q->x) || !isfinite(q->y) || (q->flagged != 0) != pass) {
                continue;
            }
            x = pxv(&p, q->x);
            y = py(&p, q->y);
            if (pass == 0) {
                putf(o,
                     "<circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"#0072B2\" "
                     "fill-opacity=\"0.75\">",
                     x, y);
            } else {
                putf(o,
                     "<circle class=\"pt flagged\" cx=\"%.1f\" cy=\"%.1f\" r=\"6.5\" "
                     "fill=\"#D55E00\" stroke=\"#1f2933\" stroke-width=\"1.2\">",
                     x, y);
            }
            put(o, "<title>");
            esc_max(o, q->label, 60);
            putf(o, ": %.2f, %.2f", q->x, q->y);
            if (q->n > 0) {
                putf(o, " (n=%u)", (unsigned)q->n);
            }
            put(o, "</title></circle>\n");
            if (pass == 1) {
                int right = x > p.x0 + 0.72 * (p.x1 - p.x0);
                double ly = y + 4;

                /* Names of points close together would print over each
                 * other: move a name down until it clears the ones placed
                 * before it. */
                for (size_t k = 0; k < nplaced; k++) {
                    if (fabs(placed[k][0] - x) < 160 && fabs(placed[k][1] - ly) < 13) {
                        ly = placed[k][1] + 13;
                        k = (size_t)-1; /* look at every placed name again */
                    }
                }
                if (nplaced < sizeof(placed) / sizeof(placed[0])) {
                    placed[nplaced][0] = x;
                    placed[nplaced][1] = ly;
                    nplaced++;
                }
                putf(o,
                     "<text class=\"flag-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" "
                     "fill=\"#1f2933\" font-weight=\"600\">",
                     right ? x - 9 : x + 9, ly, right ? "end" : "start");
                esc_max(o, q->label, 28);
                put(o, "</text>\n");
            }
        }
    }
    axis_titles(o, &p, c, p.y1 + 34);
    {
        double ly = p.y1 + 58;
        putf(o,
             "<g class=\"legend\" fill=\"#1f2933\"><circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" "
             "fill=\"#0072B2\" fill-opacity=\"0.75\" /><text x=\"%.1f\" y=\"%.1f\">other</text>"
             "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6.5\" fill=\"#D55E00\" stroke=\"#1f2933\" "
             "stroke-width=\"1.2\" /><text x=\"%.1f\" y=\"%.1f\">flagged (named)</text></g>\n",
             p.x0 + 5, ly - 4, p.x0 + 14, ly, p.x0 + 80, ly - 4, p.x0 + 92, ly);
    }
    put(o, "</svg>\n");
}

/* ---- BARS ------------------------------------------------------------- */

static void chart_bars(struct out *o, size_t ci, const Coachq__V1__Chart *c,
                       const Coachq__V1__Dashboard *d)
{
    struct plot p = {56, 14, SVG_W - 16, 14 + 240, 0, 0, 0, 0};
    size_t nx = c->n_x_labels, ns = c->n_series, si, i;
    double step, lh = legend_height(ns, p.x1 - p.x0), h, slot, bw, zy, extra = 0;
    double tw = (double)label_chars(c, ROT_LABEL_CHARS) * CHAR_W;
    int rotate = tw + 8 > (p.x1 - p.x0) / (double)nx;
    char words[160];

    if (rotate) {
        /* Slanted names hang down and to the left of their bars. */
        double left = SIN45 * tw - (p.x1 - p.x0) / (double)nx / 2 + 4;
        p.x0 = left > p.x0 ? left : p.x0;
        extra = SIN45 * tw - 6;
    }
    h = p.y1 + 48 + extra + lh;
    series_extent(c, &p.vmin, &p.vmax); /* from 0..0: zero stays in range */
    if (isfinite(c->y_min) && isfinite(c->y_max) && c->y_max > c->y_min) {
        p.vmin = c->y_min < p.vmin ? c->y_min : p.vmin;
        p.vmax = c->y_max > p.vmax ? c->y_max : p.vmax;
    }
    p.vmin = p.vmin > 0 ? 0 : p.vmin;
    p.vmax = p.vmax < 0 ? 0 : p.vmax;
    step = nice_range(&p.vmin, &p.vmax);
    snprintf(words, sizeof words,
             "Bar chart: %zu series grouped over %zu categories; bars below the zero line are "
             "negative.",
             ns, nx);
    svg_open(o, ci, h, words, c, d);
    y_grid(o, &p, step);
    x_labels(o, &p, c, rotate);
    slot = (p.x1 - p.x0) / (double)nx;
    bw = slot * 0.8 / (double)(ns > 0 ? ns : 1);
    zy = py(&p, 0);
    for (si = 0; si < ns; si++) {
        const Coachq__V1__Series *s = c->series[si];
        if (s == NULL) {
            continue;
        }
        putf(o, "<g class=\"series\" fill=\"%s\">\n", palette[si % NPALETTE]);
        for (i = 0; i < nx; i++) {
            double x = p.x0 + (double)i * slot + slot * 0.1 + (double)si * bw;
            double y, top, hh;
            if (!series_present(s, i, nx)) {
                if (bw >= 8) {
                    putf(o,
                         "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                         "fill=\"#7b8794\">\xE2\x80\x93</text>\n",
                         x + bw / 2, zy - 3);
                }
                continue;
            }
            y = py(&p, s->y[i]);
            top = y < zy ? y : zy;
            hh = absd(y - zy);
            hh = hh < 1 ? 1 : hh;
            putf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">", x + 0.5, top,
                 bw > 1.5 ? bw - 1 : bw, hh);
            point_title(o, s->name, c->x_labels[i], s->y[i], series_n(s, i));
            put(o, "</rect>\n");
            if (series_band(s, i)) {
                double cx = x + bw / 2, ylo = py(&p, s->lo[i]), yhi = py(&p, s->hi[i]);
                putf(o,
                     "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f %.1fH%.1f\" "
                     "stroke=\"#1f2933\" stroke-width=\"1\" fill=\"none\" />\n",
                     cx, ylo, yhi, cx - 3, ylo, cx + 3, cx - 3, yhi, cx + 3);
            }
        }
        put(o, "</g>\n");
    }
    putf(o,
         "<line class=\"zero\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1f2933\" "
         "stroke-width=\"1.2\" />\n",
         p.x0, zy, p.x1, zy);
    axis_titles(o, &p, c, p.y1 + 34 + extra);
    legend(o, c, p.x0, p.y1 + 48 + extra + 10, p.x1 - p.x0, 1);
    put(o, "</svg>\n");
}

static void put_chart(struct out *o, const Coachq__V1__Dashboard *d, size_t ci)
{
    const Coachq__V1__Chart *c = d->charts[ci];

    putf(o, "<figure class=\"chart\" id=\"chart-%zu\">\n<figcaption>", ci);
    esc(o, c->title);
    put(o, "</figcaption>\n");
    if (!chart_has_data(c)) {
        put(o, "<p class=\"empty\">No data in this period.</p>\n");
    } else {
        switch (c->kind) {
        case COACHQ__V1__CHART__KIND__KIND_LINES:
            chart_lines(o, ci, c, d);
            break;
        case COACHQ__V1__CHART__KIND__KIND_HEATMAP:
            chart_heatmap(o, ci, c, d);
            break;
        case COACHQ__V1__CHART__KIND__KIND_QUADRANT:
            chart_quadrant(o, ci, c, d);
            break;
        case COACHQ__V1__CHART__KIND__KIND_BARS:
            chart_bars(o, ci, c, d);
            break;
        default:
            put(o, "<p class=\"empty\">This chart cannot be shown; its figures are in the "
                   "table.</p>\n");
            break;
        }
    }
    put(o, "</figure>\n");
}

/* ---- Pages ------------------------------------------------------------ */

/* The first table whose id is id, as an index, or n_tables. */
static size_t table_index(const Coachq__V1__Dashboard *d, const char *id)
{
    size_t i;

    for (i = 0; !empty(id) && i < d->n_tables; i++) {
        if (d->tables[i] != NULL && d->tables[i]->id != NULL && strcmp(d->tables[i]->id, id) == 0) {
            return i;
        }
    }
    return d->n_tables;
}

int render_dashboard(const Coachq__V1__Dashboard *d, const struct render_ctx *ctx, struct buf *out)
{
    struct out o = {out, 0};
    size_t i, j;
    int orphans = 0;

    page_start(&o, d->title, d->subject_name);
    page_header(&o, ctx, d->kind);
    put(&o, "<main>\n<div class=\"intro\">\n<h1>");
    esc(&o, d->title);
    put(&o, "</h1>\n");
    if (!empty(d->subject_name) || !empty(d->subject_id)) {
        put(&o, "<p class=\"subject\">");
        esc(&o, !empty(d->subject_name) ? d->subject_name : d->subject_id);
        put(&o, "</p>\n");
    }
    put(&o, "<dl class=\"meta\"><dt>Period</dt><dd>");
    put_day(&o, d->from_day);
    put(&o, " to ");
    put_day(&o, d->until_day);
    put(&o, "</dd>");
    if (!empty(d->rubric_id)) {
        put(&o, "<dt>Rubric</dt><dd>");
        esc(&o, d->rubric_id);
        put(&o, "</dd>");
    }
    put(&o, "</dl>\n<p class=\"rules\">");
    putf(&o,
         "Every figure shows its n. Figures from fewer than %u observation%s are shown as "
         "\xE2\x80\x9Cinsufficient data\xE2\x80\x9D, never as a number.",
         (unsigned)d->min_n, d->min_n == 1 ? "" : "s");
    if (d->privacy_min > 0) {
        putf(&o, " Groups of fewer than %u people are not broken down.", (unsigned)d->privacy_min);
    }
    put(&o, "</p>\n");
    if (d->n_notes > 0) {
        put(&o, "<ul class=\"notes\">\n");
        for (i = 0; i < d->n_notes; i++) {
            put(&o, "<li>");
            esc(&o, d->notes[i]);
            put(&o, "</li>\n");
        }
        put(&o, "</ul>\n");
    }
    if (ctx != NULL && !empty(ctx->api_path)) {
        put(&o, "<p class=\"downloads\"><a href=\"");
        esc(&o, ctx->api_path);
        if (!empty(ctx->query)) {
            esc(&o, ctx->query);
        }
        put(&o, "\">All figures as JSON</a></p>\n");
    }
    put(&o, "</div>\n");

    /* Each table after the charts drawn from it, in the tables' order. */
    for (i = 0; i < d->n_tables; i++) {
        if (d->tables[i] == NULL) {
            continue;
        }
        put(&o, "<section class=\"panel\">\n");
        for (j = 0; j < d->n_charts; j++) {
            if (d->charts[j] != NULL && table_index(d, d->charts[j]->table_id) == i) {
                put_chart(&o, d, j);
            }
        }
        put_table(&o, d, d->tables[i], i, ctx);
        put(&o, "</section>\n");
    }
    for (j = 0; j < d->n_charts; j++) {
        if (d->charts[j] == NULL || table_index(d, d->charts[j]->table_id) < d->n_tables) {
            continue;
        }
        if (!orphans) {
            put(&o, "<section class=\"panel\">\n");
            orphans = 1;
        }
        put_chart(&o, d, j);
    }
    if (orphans) {
        put(&o, "</section>\n");
    }
    put(&o, "</main>\n");
    page_end(&o, d->generated_at_ms);
    return o.rc;
}

int render_signin(const char *csrf, const char *error, struct buf *out)
{
    struct out o = {out, 0};

    page_start(&o, "Sign in", NULL);
    page_header(&o, NULL, COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_UNSPECIFIED);
    put(&o, "<main class=\"narrow\">\n<h1>Sign in</h1>\n");
    if (!empty(error)) {
        put(&o, "<p class=\"error\" role=\"alert\">");
        esc(&o, error);
        put(&o, "</p>\n");
    }
    put(&o, "<form class=\"signin\" method=\"post\" action=\"/signin\">\n"
            "<label for=\"user\">User</label>\n"
            "<input id=\"user\" name=\"user\" type=\"text\" autocomplete=\"username\" "
            "autocapitalize=\"none\" spellcheck=\"false\" required=\"required\" "
            "autofocus=\"autofocus\" />\n"
            "<label for=\"password\">Password</label>\n"
            "<input id=\"password\" name=\"password\" type=\"password\" "
            "autocomplete=\"current-password\" required=\"required\" />\n"
            "<input type=\"hidden\" name=\"csrf\" value=\"");
    esc(&o, csrf);
    put(&o, "\" />\n<button type=\"submit\">Sign in</button>\n</form>\n"
            "<p class=\"hint\">No password? A one-time sign-in link from your administrator "
            "also works: open it in this browser and continue.</p>\n</main>\n");
    page_end(&o, 0);
    return o.rc;
}

int render_signin_link(const char *token, const char *csrf, struct buf *out)
{
    struct out o = {out, 0};

    page_start(&o, "Sign in", NULL);
    page_header(&o, NULL, COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_UNSPECIFIED);
    put(&o, "<main class=\"narrow\">\n<h1>Sign in</h1>\n"
            "<p>This one-time sign-in link works once. Continue to sign in with it in this "
            "browser.</p>\n"
            "<form class=\"signin\" method=\"post\" action=\"/signin/link\">\n"
            "<input type=\"hidden\" name=\"token\" value=\"");
    esc(&o, token);
    put(&o, "\" />\n<input type=\"hidden\" name=\"csrf\" value=\"");
    esc(&o, csrf);
    put(&o, "\" />\n<button type=\"submit\">Continue to sign in</button>\n</form>\n</main>\n");
    page_end(&o, 0);
    return o.rc;
}

static const char *status_text(int status)
{
    switch (status) {
    case 400:
        return "Bad request";
    case 401:
        return "Not signed in";
    case 403:
        return "Forbidden";
    case 404:
        return "Not found";
    case 405:
        return "Method not allowed";
    case 413:
        return "Request too large";
    case 429:
        return "Too many requests";
    case 500:
        return "Server error";
    case 503:
        return "Service unavailable";
    default:
        return status >= 500 ? "Server error" : "Error";
    }
}

int render_error(int status, const char *message, const struct render_ctx *ctx, struct buf *out)
{
    struct out o = {out, 0};
    char title[64];

    snprintf(title, sizeof title, "%d %s", status, status_text(status));
    page_start(&o, title, NULL);
    page_header(&o, ctx, COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_UNSPECIFIED);
    put(&o, "<main class=\"narrow\">\n<h1>");
    esc(&o, title);
    put(&o, "</h1>\n");
    if (!empty(message)) {
        put(&o, "<p class=\"error\">");
        esc(&o, message);
        put(&o, "</p>\n");
    }
    put(&o, "<p><a href=\"/\">Back to your dashboards</a></p>\n</main>\n");
    page_end(&o, 0);
    return o.rc;
}

/* ---- Stylesheet ------------------------------------------------------- */

static const char css[] =
    ":root{--ink:#1f2933;--muted:#52606d;--line:#d9dee3;--soft:#f5f7fa;--accent:#0b4f8a;"
    "--warn:#8a4b00;--bad:#9b1c1c}\n"
    "*,*::before,*::after{box-sizing:border-box}\n"
    "html{-webkit-text-size-adjust:100%}\n"
    "body{margin:0;background:var(--soft);color:var(--ink);"
    "font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,"
    "sans-serif}\n"
    "a{color:var(--accent)}\n"
    "a:focus-visible,button:focus-visible,input:focus-visible{outline:2px solid var(--accent);"
    "outline-offset:2px}\n"
    ".top{display:flex;flex-wrap:wrap;align-items:center;gap:8px 24px;padding:10px 24px;"
    "background:#fff;border-bottom:1px solid var(--line)}\n"
    ".brand{font-weight:700;font-size:17px;color:var(--ink);text-decoration:none;"
    "letter-spacing:.02em}\n"
    ".top nav ul{display:flex;flex-wrap:wrap;gap:4px;margin:0;padding:0;list-style:none}\n"
    ".top nav a{display:block;padding:6px 10px;border-radius:4px;text-decoration:none;"
    "color:var(--muted)}\n"
    ".top nav a:hover{background:var(--soft);color:var(--ink)}\n"
    ".top nav a[aria-current=page]{background:#e6eef6;color:var(--accent);font-weight:600}\n"
    ".user{margin-left:auto;display:flex;align-items:center;gap:12px;color:var(--muted)}\n"
    ".uid{color:#7b8794}\n"
    ".signout{margin:0}\n"
    "button{font:inherit;padding:6px 14px;border:1px solid var(--accent);border-radius:4px;"
    "background:var(--accent);color:#fff;cursor:pointer}\n"
    ".signout button{background:#fff;color:var(--accent);padding:4px 10px}\n"
    "main{max-width:1280px;margin:0 auto;padding:16px 24px 32px}\n"
    "main.narrow{max-width:420px;padding-top:48px}\n"
    "h1{font-size:22px;margin:8px 0 2px}\n"
    ".subject{font-size:16px;margin:0 0 8px;color:var(--muted)}\n"
    ".meta{display:flex;flex-wrap:wrap;gap:4px 8px;margin:0 0 8px}\n"
    ".meta dt{font-weight:600}\n"
    ".meta dd{margin:0 16px 0 0}\n"
    ".rules{margin:4px 0;color:var(--muted)}\n"
    ".notes{margin:4px 0;padding-left:20px;color:var(--muted)}\n"
    ".downloads{margin:8px 0 0}\n"
    ".panel{background:#fff;border:1px solid var(--line);border-radius:6px;padding:16px 20px;"
    "margin:16px 0}\n"
    ".chart{margin:0 0 16px}\n"
    ".chart figcaption{font-weight:600;font-size:15px;margin:0 0 6px}\n"
    ".chart-svg{display:block;width:100%;max-width:760px;height:auto}\n"
    ".empty{color:var(--muted);font-style:italic;margin:8px 0}\n"
    /* A wide table (the Programme impact table has 11 columns) must show
     * every figure: headings wrap, and a table of RENDER_WIDE_COLUMNS or
     * more (.wide) has tighter cells with each n under its figure, so that
     * it fits its card; if a narrow window still cannot hold it, it
     * scrolls inside the card instead of being cut off. */
    ".table-wrap{overflow-x:auto;max-width:100%}\n"
    "table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}\n"
    "caption{text-align:left;font-weight:600;font-size:15px;padding:0 0 6px}\n"
    "th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;"
    "vertical-align:top}\n"
    "thead th{border-bottom:2px solid #9aa5b1;font-weight:600;vertical-align:bottom}\n"
    "tbody th{font-weight:500}\n"
    "tbody tr:nth-child(even){background:#fafbfc}\n"
    ".num{text-align:right;white-space:nowrap}\n"
    "thead .num{white-space:normal}\n"
    ".wide{font-size:13px}\n"
    ".wide th,.wide td{padding:4px 5px}\n"
    ".wide .n{display:block;margin:0}\n"
    ".wide .num{white-space:normal}\n"
    ".n{display:inline-block;margin-left:6px;font-size:11px;color:#7b8794}\n"
    ".insufficient .insuf{color:var(--warn);font-style:italic;font-size:12px}\n"
    ".table-foot{display:flex;flex-wrap:wrap;justify-content:space-between;gap:8px;"
    "margin-top:6px}\n"
    ".note{margin:0;color:var(--muted);font-size:13px}\n"
    ".csv{margin-left:auto;font-size:13px}\n"
    ".vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);"
    "white-space:nowrap}\n"
    ".signin{display:flex;flex-direction:column;gap:6px;background:#fff;padding:20px;"
    "border:1px solid var(--line);border-radius:6px}\n"
    ".signin input{font:inherit;padding:7px 8px;border:1px solid #9aa5b1;border-radius:4px}\n"
    ".signin button{margin-top:10px}\n"
    ".hint{color:var(--muted)}\n"
    ".error{color:var(--bad);background:#fdf2f2;border:1px solid #f5c2c2;border-radius:4px;"
    "padding:8px 12px}\n"
    ".foot{max-width:1280px;margin:0 auto;padding:0 24px 24px;color:#7b8794;font-size:12px}\n"
    "@media print{\n"
    "@page{margin:14mm}\n"
    "body{background:#fff;font-size:10pt}\n"
    ".top nav,.signout,.downloads,.csv{display:none}\n"
    ".top{padding:0 0 6px}\n"
    "main{max-width:none;padding:0}\n"
    ".panel{display:block;border:0;padding:0;margin:0 0 12pt;break-inside:auto}\n"
    ".chart{break-inside:avoid}\n"
    ".chart-svg{max-width:17cm;max-height:11cm}\n"
    ".table-wrap{overflow:visible}\n"
    /* Wide tables (a column per week) must fit the page: smaller type,
     * tighter cells, and long words may break. */
    "table{width:100%;font-size:7.5pt;table-layout:auto}\n"
    "th,td{padding:2px 3px;overflow-wrap:anywhere}\n"
    "thead th,.num{white-space:normal}\n"
    ".n{display:block;margin:0;font-size:6.5pt}\n"
    ".insufficient .insuf{font-size:7pt}\n"
    "thead{display:table-header-group}\n"
    "tr,caption{break-inside:avoid}\n"
    "caption{break-after:avoid}\n"
    "a{color:inherit;text-decoration:none}\n"
    "tbody tr:nth-child(even){background:none}\n"
    "}\n";

const char *render_css(size_t *len)
{
    if (len != NULL) {
        *len = sizeof css - 1;
    }
    return css;
}
