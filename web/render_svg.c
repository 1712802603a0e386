/*
 * render_svg: the charts of a dashboard page, drawn as inline SVG on the
 * server (no JavaScript, no inline style: the CSP forbids both). The shared
 * geometry first (round ticks, the plot area, grid, labels, legend), then
 * one section per chart kind: lines with confidence bands, heat map,
 * quadrant and bars. Every text from records goes through render_esc()
 * (render_int.h); every chart names, in its <desc>, the table that holds
 * its figures with their n.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "render_int.h"

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
static void put_tick(struct render_out *o, double v, double step)
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
    render_putf(o, "%.*f", dec, v);
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

static void svg_open(struct render_out *o, size_t ci, double h, const char *kind_words,
                     const Coachq__V1__Chart *c, const Coachq__V1__Dashboard *d)
{
    size_t ti = render_table_index(d, c->table_id);
    const Coachq__V1__Table *t = ti < d->n_tables ? d->tables[ti] : NULL;

    render_putf(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart-svg\" viewBox=\"0 0 %.0f %.0f\" "
        "width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-labelledby=\"c%zu-t c%zu-d\" "
        "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\" "
        "font-size=\"11\">\n<title id=\"c%zu-t\">",
        SVG_W, h, SVG_W, h, ci, ci, ci);
    render_esc(o, c->title);
    render_putf(o, "</title>\n<desc id=\"c%zu-d\">", ci);
    render_put(o, kind_words);
    if (t != NULL) {
        render_put(o, " The figures, with their n, are in the table \xE2\x80\x9C");
        render_esc(o, t->title);
        render_put(o, "\xE2\x80\x9D.");
    }
    render_put(o, "</desc>\n");
}

static void axis_titles(struct render_out *o, const struct plot *p, const Coachq__V1__Chart *c,
                        double xtitle_y)
{
    if (!render_empty(c->x_title)) {
        render_putf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#3e4c59\">",
                    (p->x0 + p->x1) / 2, xtitle_y);
        render_esc_max(o, c->x_title, 80);
        render_put(o, "</text>\n");
    }
    if (!render_empty(c->y_title)) {
        double cy = (p->y0 + p->y1) / 2;
        render_putf(
            o,
            "<text x=\"14\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 14 %.1f)\" "
            "fill=\"#3e4c59\">",
            cy, cy);
        render_esc_max(o, c->y_title, 50);
        render_put(o, "</text>\n");
    }
}

/* Horizontal grid lines with their labels at round values. */
static void y_grid(struct render_out *o, const struct plot *p, double step)
{
    double k0 = ceild(p->vmin / step - 1e-9), k1 = floord(p->vmax / step + 1e-9);
    double k;
    int guard = 0;

    render_put(o, "<g class=\"grid\">\n");
    for (k = k0; k <= k1 && guard < 40; k += 1, guard++) {
        double v = k * step, y = py(p, v);
        render_putf(o,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e7eb\" "
                    "stroke-width=\"1\" />",
                    p->x0, y, p->x1, y);
        render_putf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#52606d\">",
                    p->x0 - 6, y + 4);
        put_tick(o, v, step);
        render_put(o, "</text>\n");
    }
    render_put(o, "</g>\n");
}

/* The longest x label in characters, at most cap. */
static size_t label_chars(const Coachq__V1__Chart *c, size_t cap)
{
    size_t i, maxc = 1;

    for (i = 0; i < c->n_x_labels; i++) {
        size_t n = render_text_chars(c->x_labels[i]);
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
static void x_labels(struct render_out *o, const struct plot *p, const Coachq__V1__Chart *c,
                     int rotate)
{
    size_t nx = c->n_x_labels, i, step = 1, maxc = label_chars(c, 16);
    double slot = (p->x1 - p->x0) / (double)nx;

    if (!rotate) {
        step = (size_t)ceild(((double)maxc * CHAR_W + 8) / slot);
        step = step < 1 ? 1 : step;
    }
    render_put(o, "<g class=\"xlabels\" fill=\"#52606d\" text-anchor=\"");
    render_put(o, rotate ? "end" : "middle");
    render_put(o, "\">\n");
    for (i = 0; i < nx; i += step) {
        double x = pxi(p, i, nx);
        render_putf(o,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#9aa5b1\" />",
                    x, p->y1, x, p->y1 + 4);
        if (rotate) {
            render_putf(o, "<text x=\"%.1f\" y=\"%.1f\" transform=\"rotate(-45 %.1f %.1f)\">", x,
                        p->y1 + 12, x, p->y1 + 12);
            render_esc_max(o, c->x_labels[i], ROT_LABEL_CHARS);
        } else {
            render_putf(o, "<text x=\"%.1f\" y=\"%.1f\">", x, p->y1 + 16);
            render_esc_max(o, c->x_labels[i], 16);
        }
        render_put(o, "</text>\n");
    }
    render_put(o, "</g>\n");
}

static void series_style(struct render_out *o, size_t si)
{
    const char *dash = dashes[(si / NPALETTE) % (sizeof dashes / sizeof dashes[0])];
    render_putf(o, " stroke=\"%s\"", palette[si % NPALETTE]);
    if (dash[0] != 0) {
        render_putf(o, " stroke-dasharray=\"%s\"", dash);
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
static void legend(struct render_out *o, const Coachq__V1__Chart *c, double x0, double y0,
                   double width, int bars)
{
    size_t per = (size_t)(width / LEGEND_COL), i;

    per = per < 1 ? 1 : per;
    render_put(o, "<g class=\"legend\" fill=\"#1f2933\">\n");
    for (i = 0; i < c->n_series; i++) {
        double x = x0 + (double)(i % per) * LEGEND_COL;
        double y = y0 + (double)(i / per) * LEGEND_ROW;
        if (bars) {
            render_putf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"10\" fill=\"%s\" />",
                        x, y - 9, palette[i % NPALETTE]);
        } else {
            render_putf(
                o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke-width=\"2.5\"", x,
                y - 4, x + 18, y - 4);
            series_style(o, i);
            render_put(o, " />");
        }
        render_putf(o, "<text x=\"%.1f\" y=\"%.1f\">", x + 24, y);
        render_esc_max(o, c->series[i] != NULL ? c->series[i]->name : "", 32);
        render_put(o, "</text>\n");
    }
    render_put(o, "</g>\n");
}

/* A <title> child for tooltips: "series, label: value (n=..)". */
static void point_title(struct render_out *o, const char *series, const char *label, double v,
                        unsigned n)
{
    render_put(o, "<title>");
    if (!render_empty(series)) {
        render_esc_max(o, series, 60);
        render_put(o, ", ");
    }
    render_esc_max(o, label, 30);
    render_putf(o, ": %.2f", v);
    if (n > 0) {
        render_putf(o, " (n=%u)", n);
    }
    render_put(o, "</title>");
}

/* ---- LINES ------------------------------------------------------------ */

/* Series si's confidence band: a shaded polygon over each run of periods
 * that have one, a short thick bar for a run of one. */
static void lines_band(struct render_out *o, const struct plot *p, const Coachq__V1__Series *s,
                       size_t si, size_t nx)
{
    size_t i;

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
            double x = pxi(p, a, nx);
            render_putf(o,
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke-width=\"6\" "
                        "stroke-opacity=\"0.2\" stroke=\"%s\" />\n",
                        x, py(p, s->lo[a]), x, py(p, s->hi[a]), palette[si % NPALETTE]);
            continue;
        }
        render_putf(o, "<polygon class=\"band\" fill=\"%s\" fill-opacity=\"0.15\" points=\"",
                    palette[si % NPALETTE]);
        for (k = a; k < b; k++) {
            render_putf(o, "%.1f,%.1f ", pxi(p, k, nx), py(p, s->hi[k]));
        }
        for (k = b; k > a; k--) {
            render_putf(o, "%.1f,%.1f%s", pxi(p, k - 1, nx), py(p, s->lo[k - 1]),
                        k - 1 > a ? " " : "");
        }
        render_put(o, "\" />\n");
    }
}

/* Series si: one polyline per run of present values, and a dot with its
 * tooltip on each. */
static void lines_series(struct render_out *o, const Coachq__V1__Chart *c, const struct plot *p,
                         const Coachq__V1__Series *s, size_t si)
{
    size_t nx = c->n_x_labels, i;

    render_putf(o, "<g class=\"series\" fill=\"%s\">\n", palette[si % NPALETTE]);
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
        render_put(o, "<polyline fill=\"none\" stroke-width=\"2\" stroke-linejoin=\"round\"");
        series_style(o, si);
        render_put(o, " points=\"");
        for (k = a; k < i; k++) {
            render_putf(o, "%.1f,%.1f%s", pxi(p, k, nx), py(p, s->y[k]), k + 1 < i ? " " : "");
        }
        render_put(o, "\" />\n");
    }
    for (i = 0; i < nx; i++) {
        if (!series_present(s, i, nx)) {
            continue;
        }
        render_putf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\">", pxi(p, i, nx), py(p, s->y[i]));
        point_title(o, s->name, c->x_labels[i], s->y[i], series_n(s, i));
        render_put(o, "</circle>\n");
    }
    render_put(o, "</g>\n");
}

static void chart_lines(struct render_out *o, size_t ci, const Coachq__V1__Chart *c,
                        const Coachq__V1__Dashboard *d)
{
    struct plot p = {56, 14, SVG_W - 16, 14 + 250, 0, 0, 0, 0};
    size_t nx = c->n_x_labels, si;
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
    render_putf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#9aa5b1\" />\n",
                p.x0, p.y1, p.x1, p.y1);
    x_labels(o, &p, c, 0);

    /* Bands first, so every line draws over every band. */
    for (si = 0; si < c->n_series; si++) {
        if (c->series[si] != NULL && c->series[si]->has_band) {
            lines_band(o, &p, c->series[si], si, nx);
        }
    }
    for (si = 0; si < c->n_series; si++) {
        if (c->series[si] != NULL) {
            lines_series(o, c, &p, c->series[si], si);
        }
    }
    axis_titles(o, &p, c, p.y1 + 34);
    legend(o, c, p.x0, p.y1 + 48 + 10, p.x1 - p.x0, 0);
    render_put(o, "</svg>\n");
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

/* Where a heat map's parts go, worked out before anything is drawn. */
struct heat_geom {
    double lo, hi;  /* the values at the light and the dark end */
    double x0, top; /* the cells' left and top */
    double cw, ch;  /* one cell's width and height */
    int rotate;     /* the column names are slanted */
};

/* The value range, the room for the row names on the left and for the
 * column names above, and the cells' size. Returns the drawing's height. */
static double heat_layout(const Coachq__V1__Chart *c, struct heat_geom *g)
{
    size_t nx = c->n_x_labels, nr = c->n_series, i, maxc = 4;
    double labelw, right = 8;
    double tw = (double)label_chars(c, ROT_LABEL_CHARS) * CHAR_W;

    g->lo = 0;
    g->hi = 1;
    g->ch = 24;
    g->top = 30;
    if (isfinite(c->y_min) && isfinite(c->y_max) && c->y_max > c->y_min) {
        g->lo = c->y_min;
        g->hi = c->y_max;
    } else if (!series_extent(c, &g->lo, &g->hi) || g->hi <= g->lo) {
        g->hi = g->lo + 1;
    }
    for (i = 0; i < nr; i++) {
        size_t n = render_text_chars(c->series[i] != NULL ? c->series[i]->name : "");
        maxc = n > maxc ? n : maxc;
    }
    maxc = maxc > 30 ? 30 : maxc;
    labelw = (double)maxc * CHAR_W + 14;
    g->x0 = labelw;
    g->cw = (SVG_W - right - g->x0) / (double)nx;
    /* Every column is named: slanted when the names do not fit across. */
    g->rotate = tw + 6 > g->cw;
    if (g->rotate) {
        right = SIN45 * tw - g->cw / 2 + 10;
        right = right < 8 ? 8 : right;
        g->cw = (SVG_W - right - g->x0) / (double)nx;
        g->top = SIN45 * tw + 18;
    }
    return g->top + g->ch * (double)nr + 16 + 40;
}

/* The column names above the cells. */
static void heat_columns(struct render_out *o, const Coachq__V1__Chart *c,
                         const struct heat_geom *g)
{
    size_t j;

    render_put(o, "<g fill=\"#52606d\" text-anchor=\"");
    render_put(o, g->rotate ? "start" : "middle");
    render_put(o, "\">\n");
    for (j = 0; j < c->n_x_labels; j++) {
        double x = g->x0 + ((double)j + 0.5) * g->cw;
        if (g->rotate) {
            render_putf(o, "<text x=\"%.1f\" y=\"%.1f\" transform=\"rotate(-45 %.1f %.1f)\">", x,
                        g->top - 8, x, g->top - 8);
        } else {
            render_putf(o, "<text x=\"%.1f\" y=\"%.1f\">", x, g->top - 10);
        }
        render_esc_max(o, c->x_labels[j], ROT_LABEL_CHARS);
        render_put(o, "</text>\n");
    }
    render_put(o, "</g>\n");
}

/* Cell j of row s at (x, y): its colour, its tooltip and, when it is wide
 * enough, its value; a cell without enough data is grey with a dash. */
static void heat_cell(struct render_out *o, const Coachq__V1__Chart *c, const struct heat_geom *g,
                      const Coachq__V1__Series *s, size_t j, double x, double y)
{
    char fill[8];
    int present = s != NULL && series_present(s, j, c->n_x_labels);
    double t = present ? (s->y[j] - g->lo) / (g->hi - g->lo) : 0;

    if (present) {
        heat_colour(t, fill);
    } else {
        memcpy(fill, "#F5F7FA", 8);
    }
    render_putf(o,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                "stroke=\"#ffffff\" stroke-width=\"1\">",
                x, y, g->cw, g->ch, fill);
    if (present) {
        point_title(o, s->name, c->x_labels[j], s->y[j], series_n(s, j));
    } else {
        render_put(o, "<title>");
        render_esc_max(o, s != NULL ? s->name : "", 60);
        render_put(o, ", ");
        render_esc_max(o, c->x_labels[j], 30);
        render_put(o, ": insufficient data</title>");
    }
    render_put(o, "</rect>\n");
    if (g->cw < 22) {
        return;
    }
    render_putf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"%s\">", x + g->cw / 2,
                y + g->ch / 2 + 4,
                !present   ? "#7b8794"
                : t > 0.55 ? "#ffffff"
                           : "#1f2933");
    if (present) {
        render_putf(o, "%.1f", s->y[j]);
    } else {
        render_put(o, "\xE2\x80\x93");
    }
    render_put(o, "</text>\n");
}

/* The scale under the cells: swatches at round values, then the mark of a
 * cell without enough data. */
static void heat_scale(struct render_out *o, const struct heat_geom *g, size_t nr)
{
    double step = nice_step(g->hi - g->lo, 4), v, ly = g->top + g->ch * (double)nr + 22;
    double lx = g->x0;
    int guard = 0;

    render_put(o, "<g class=\"legend\" fill=\"#52606d\">\n<text x=\"");
    render_putf(o, "%.1f\" y=\"%.1f\" text-anchor=\"end\">scale</text>\n", lx - 8, ly + 11);
    for (v = ceild(g->lo / step - 1e-9) * step; v <= g->hi + step * 1e-9 && guard < 12;
         v += step, guard++) {
        char fill[8];
        heat_colour((v - g->lo) / (g->hi - g->lo), fill);
        render_putf(o,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"28\" height=\"14\" fill=\"%s\" "
                    "stroke=\"#cbd2d9\" />",
                    lx, ly, fill);
        render_putf(o, "<text x=\"%.1f\" y=\"%.1f\">", lx + 34, ly + 11);
        put_tick(o, v, step);
        render_put(o, "</text>\n");
        lx += 70;
    }
    render_putf(o,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"28\" height=\"14\" fill=\"#F5F7FA\" "
                "stroke=\"#cbd2d9\" /><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                "fill=\"#7b8794\">\xE2\x80\x93</text><text x=\"%.1f\" y=\"%.1f\">insufficient "
                "data</text>\n</g>\n",
                lx + 10, ly, lx + 24, ly + 11, lx + 44, ly + 11);
}

static void chart_heatmap(struct render_out *o, size_t ci, const Coachq__V1__Chart *c,
                          const Coachq__V1__Dashboard *d)
{
    size_t nx = c->n_x_labels, nr = c->n_series, i, j;
    struct heat_geom g;
    double h = heat_layout(c, &g);
    char words[160];

    snprintf(words, sizeof words,
             "Heat map: %zu rows by %zu columns, darker cells are higher, from %.2f to %.2f; "
             "a dash marks a cell without enough data.",
             nr, nx, g.lo, g.hi);
    svg_open(o, ci, h, words, c, d);
    heat_columns(o, c, &g);
    for (i = 0; i < nr; i++) {
        const Coachq__V1__Series *s = c->series[i];
        double y = g.top + (double)i * g.ch;
        render_putf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#1f2933\">",
                    g.x0 - 8, y + g.ch / 2 + 4);
        render_esc_max(o, s != NULL ? s->name : "", 30);
        render_put(o, "</text>\n");
        for (j = 0; j < nx; j++) {
            heat_cell(o, c, &g, s, j, g.x0 + (double)j * g.cw, y);
        }
    }
    heat_scale(o, &g, nr);
    render_put(o, "</svg>\n");
}

/* ---- QUADRANT --------------------------------------------------------- */

/*
 * The ranges of a quadrant chart: every point, the split and the chart's
 * own y range fit in p, with round steps in *xstep and *ystep. Counts the
 * points that are drawn (*nok) and the flagged ones among them (*nflag).
 */
static void quadrant_extent(const Coachq__V1__Chart *c, struct plot *p, double *xstep,
                            double *ystep, size_t *nok, size_t *nflag)
{
    size_t i;
    int have = 0;

    for (i = 0; i < c->n_points; i++) {
        const Coachq__V1__Point *q = c->points[i];
        if (q == NULL || !isfinite(q->x) || !isfinite(q->y)) {
            continue;
        }
        if (!have) {
            p->xmin = p->xmax = q->x;
            p->vmin = p->vmax = q->y;
            have = 1;
        }
        p->xmin = q->x < p->xmin ? q->x : p->xmin;
        p->xmax = q->x > p->xmax ? q->x : p->xmax;
        p->vmin = q->y < p->vmin ? q->y : p->vmin;
        p->vmax = q->y > p->vmax ? q->y : p->vmax;
        (*nok)++;
        *nflag += q->flagged != 0;
    }
    if (isfinite(c->x_split)) {
        p->xmin = c->x_split < p->xmin ? c->x_split : p->xmin;
        p->xmax = c->x_split > p->xmax ? c->x_split : p->xmax;
    }
    if (isfinite(c->y_min) && isfinite(c->y_max) && c->y_max > c->y_min) {
        p->vmin = c->y_min < p->vmin ? c->y_min : p->vmin;
        p->vmax = c->y_max > p->vmax ? c->y_max : p->vmax;
        *ystep = nice_step(p->vmax - p->vmin, 5);
        if (p->vmin < c->y_min || p->vmax > c->y_max) {
            *ystep = nice_range(&p->vmin, &p->vmax);
        }
    } else {
        if (isfinite(c->y_split)) {
            p->vmin = c->y_split < p->vmin ? c->y_split : p->vmin;
            p->vmax = c->y_split > p->vmax ? c->y_split : p->vmax;
        }
        *ystep = nice_range(&p->vmin, &p->vmax);
    }
    if (p->xmax > p->xmin) {
        /* Room so that no point sits on the frame; counts stay >= 0. */
        double pad = (p->xmax - p->xmin) * 0.06;
        p->xmin = p->xmin >= 0 && p->xmin - pad < 0 ? 0 : p->xmin - pad;
        p->xmax += pad;
    }
    *xstep = nice_range(&p->xmin, &p->xmax);
}

/* The x axis's ticks and their labels at round values. */
static void quadrant_x_ticks(struct render_out *o, const struct plot *p, double xstep)
{
    double k0 = ceild(p->xmin / xstep - 1e-9), k1 = floord(p->xmax / xstep + 1e-9), k;
    int guard = 0;

    render_put(o, "<g fill=\"#52606d\" text-anchor=\"middle\">\n");
    for (k = k0; k <= k1 && guard < 40; k += 1, guard++) {
        double x = pxv(p, k * xstep);
        render_putf(o,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#9aa5b1\" />"
                    "<text x=\"%.1f\" y=\"%.1f\">",
                    x, p->y1, x, p->y1 + 4, x, p->y1 + 16);
        put_tick(o, k * xstep, xstep);
        render_put(o, "</text>\n");
    }
    render_put(o, "</g>\n");
}

static void quadrant_label(struct render_out *o, double x, double y, const char *anchor,
                           const char *xw, const char *xt, const char *yw, const char *yt)
{
    render_putf(
        o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" fill=\"#7b8794\" font-style=\"italic\">",
        x, y, anchor);
    render_put(o, xw);
    render_put(o, " ");
    render_esc_max(o, render_empty(xt) ? "x" : xt, 28);
    render_put(o, ", ");
    render_put(o, yw);
    render_put(o, " ");
    render_esc_max(o, render_empty(yt) ? "y" : yt, 28);
    render_put(o, "</text>\n");
}

/* The frame, the dashed split lines (at the middle when the chart has no
 * split) and the names of the four quadrants. */
static void quadrant_frame(struct render_out *o, const Coachq__V1__Chart *c, const struct plot *p)
{
    double sx = isfinite(c->x_split) ? pxv(p, c->x_split) : (p->x0 + p->x1) / 2;
    double sy = isfinite(c->y_split) ? py(p, c->y_split) : (p->y0 + p->y1) / 2;

    render_putf(o,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
                "stroke=\"#9aa5b1\" />\n",
                p->x0, p->y0, p->x1 - p->x0, p->y1 - p->y0);
    render_putf(o,
                "<g stroke=\"#3e4c59\" stroke-dasharray=\"5 4\" stroke-width=\"1.2\">"
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" />"
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" /></g>\n",
                sx, p->y0, sx, p->y1, p->x0, sy, p->x1, sy);
    quadrant_label(o, p->x0 + 6, p->y0 + 14, "start", "low", c->x_title, "high", c->y_title);
    quadrant_label(o, p->x1 - 6, p->y0 + 14, "end", "high", c->x_title, "high", c->y_title);
    quadrant_label(o, p->x0 + 6, p->y1 - 8, "start", "low", c->x_title, "low", c->y_title);
    quadrant_label(o, p->x1 - 6, p->y1 - 8, "end", "high", c->x_title, "low", c->y_title);
}

/* Where the flagged points' names went, so that the next one clears them. */
struct quadrant_names {
    double at[64][2];
    size_t n;
};

/* The name of flagged point q at (x, y), beside it: left of it near the
 * right edge. */
static void quadrant_flag_label(struct render_out *o, const struct plot *p,
                                const Coachq__V1__Point *q, double x, double y,
                                struct quadrant_names *names)
{
    int right = x > p->x0 + 0.72 * (p->x1 - p->x0);
    double ly = y + 4;

    /* Names of points close together would print over each other: move a
     * name down until it clears the ones placed before it. */
    for (size_t k = 0; k < names->n; k++) {
        if (fabs(names->at[k][0] - x) < 160 && fabs(names->at[k][1] - ly) < 13) {
            ly = names->at[k][1] + 13;
            k = (size_t)-1; /* look at every placed name again */
        }
    }
    if (names->n < sizeof(names->at) / sizeof(names->at[0])) {
        names->at[names->n][0] = x;
        names->at[names->n][1] = ly;
        names->n++;
    }
    render_putf(o,
                "<text class=\"flag-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" "
                "fill=\"#1f2933\" font-weight=\"600\">",
                right ? x - 9 : x + 9, ly, right ? "end" : "start");
    render_esc_max(o, q->label, 28);
    render_put(o, "</text>\n");
}

/* Unflagged points first, flagged ones on top with their names. */
static void quadrant_points(struct render_out *o, const Coachq__V1__Chart *c, const struct plot *p)
{
    struct quadrant_names names;
    size_t i;

    names.n = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (i = 0; i < c->n_points; i++) {
            const Coachq__V1__Point *q = c->points[i];
            double x, y;
            if (q == NULL || !isfinite(q->x) || !isfinite(q->y) || (q->flagged != 0) != pass) {
                continue;
            }
            x = pxv(p, q->x);
            y = py(p, q->y);
            if (pass == 0) {
                render_putf(o,
                            "<circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" "
                            "fill=\"#0072B2\" fill-opacity=\"0.75\">",
                            x, y);
            } else {
                render_putf(o,
                            "<circle class=\"pt flagged\" cx=\"%.1f\" cy=\"%.1f\" r=\"6.5\" "
                            "fill=\"#D55E00\" stroke=\"#1f2933\" stroke-width=\"1.2\">",
                            x, y);
            }
            render_put(o, "<title>");
            render_esc_max(o, q->label, 60);
            render_putf(o, ": %.2f, %.2f", q->x, q->y);
            if (q->n > 0) {
                render_putf(o, " (n=%u)", (unsigned)q->n);
            }
            render_put(o, "</title></circle>\n");
            if (pass == 1) {
                quadrant_flag_label(o, p, q, x, y, &names);
            }
        }
    }
}

static void chart_quadrant(struct render_out *o, size_t ci, const Coachq__V1__Chart *c,
                           const Coachq__V1__Dashboard *d)
{
    struct plot p = {56, 14, SVG_W - 16, 14 + 320, 0, 0, 0, 0};
    size_t nflag = 0, nok = 0;
    double xstep, ystep, h = p.y1 + 70, ly = p.y1 + 58;
    char words[200];

    quadrant_extent(c, &p, &xstep, &ystep, &nok, &nflag);
    snprintf(words, sizeof words,
             "Scatter plot of %zu points split into four quadrants; %zu flagged points are drawn "
             "larger in orange and named.",
             nok, nflag);
    svg_open(o, ci, h, words, c, d);
    y_grid(o, &p, ystep);
    quadrant_x_ticks(o, &p, xstep);
    quadrant_frame(o, c, &p);
    quadrant_points(o, c, &p);
    axis_titles(o, &p, c, p.y1 + 34);
    render_putf(o,
                "<g class=\"legend\" fill=\"#1f2933\"><circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" "
                "fill=\"#0072B2\" fill-opacity=\"0.75\" /><text x=\"%.1f\" y=\"%.1f\">other</text>"
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6.5\" fill=\"#D55E00\" stroke=\"#1f2933\" "
                "stroke-width=\"1.2\" /><text x=\"%.1f\" y=\"%.1f\">flagged (named)</text></g>\n",
                p.x0 + 5, ly - 4, p.x0 + 14, ly, p.x0 + 80, ly - 4, p.x0 + 92, ly);
    render_put(o, "</svg>\n");
}

/* ---- BARS ------------------------------------------------------------- */

static void chart_bars(struct render_out *o, size_t ci, const Coachq__V1__Chart *c,
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
        render_putf(o, "<g class=\"series\" fill=\"%s\">\n", palette[si % NPALETTE]);
        for (i = 0; i < nx; i++) {
            double x = p.x0 + (double)i * slot + slot * 0.1 + (double)si * bw;
            double y, top, hh;
            if (!series_present(s, i, nx)) {
                if (bw >= 8) {
                    render_putf(o,
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
            render_putf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">", x + 0.5,
                        top, bw > 1.5 ? bw - 1 : bw, hh);
            point_title(o, s->name, c->x_labels[i], s->y[i], series_n(s, i));
            render_put(o, "</rect>\n");
            if (series_band(s, i)) {
                double cx = x + bw / 2, ylo = py(&p, s->lo[i]), yhi = py(&p, s->hi[i]);
                render_putf(o,
                            "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f %.1fH%.1f\" "
                            "stroke=\"#1f2933\" stroke-width=\"1\" fill=\"none\" />\n",
                            cx, ylo, yhi, cx - 3, ylo, cx + 3, cx - 3, yhi, cx + 3);
            }
        }
        render_put(o, "</g>\n");
    }
    render_putf(
        o,
        "<line class=\"zero\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1f2933\" "
        "stroke-width=\"1.2\" />\n",
        p.x0, zy, p.x1, zy);
    axis_titles(o, &p, c, p.y1 + 34 + extra);
    legend(o, c, p.x0, p.y1 + 48 + extra + 10, p.x1 - p.x0, 1);
    render_put(o, "</svg>\n");
}

void render_svg_chart(struct render_out *o, const Coachq__V1__Dashboard *d, size_t ci)
{
    const Coachq__V1__Chart *c = d->charts[ci];

    render_putf(o, "<figure class=\"chart\" id=\"chart-%zu\">\n<figcaption>", ci);
    render_esc(o, c->title);
    render_put(o, "</figcaption>\n");
    if (!chart_has_data(c)) {
        render_put(o, "<p class=\"empty\">No data in this period.</p>\n");
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
            render_put(o, "<p class=\"empty\">This chart cannot be shown; its figures are in the "
                          "table.</p>\n");
            break;
        }
    }
    render_put(o, "</figure>\n");
}
