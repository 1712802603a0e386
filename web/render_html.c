/*
 * render_html: the HTML half of the dashboard pages. The writer every page
 * and chart goes through (struct render_out, render_int.h), escaping for
 * HTML and SVG text, the page frame, tables, the dashboard, sign-in and
 * error pages, and the stylesheet. The charts inside a dashboard page are
 * drawn by render_svg.c.
 */
#include "render_html.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "day.h"
#include "http.h"
#include "render_int.h"

static void put_n(struct render_out *o, const char *s, size_t n)
{
    if (o->rc == 0) {
        o->rc = buf_append(o->b, s, n);
    }
}

void render_put(struct render_out *o, const char *s)
{
    put_n(o, s, strlen(s));
}

void render_putf(struct render_out *o, const char *fmt, ...)
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
void render_esc_max(struct render_out *o, const char *s, size_t maxchars)
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
            render_put(o, "\xE2\x80\xA6");
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
            render_put(o, rep);
            p += len;
            run = p;
        } else {
            p += len;
        }
    }
    put_n(o, (const char *)run, (size_t)(p - run));
}

void render_esc(struct render_out *o, const char *s)
{
    render_esc_max(o, s, SIZE_MAX);
}

int render_escape(struct buf *out, const char *s)
{
    struct render_out o = {out, 0};
    render_esc(&o, s);
    return o.rc;
}

/* Percent-encodes s as one URL path segment or query value: only the
 * unreserved characters stay, so the result is also safe in an attribute.
 * Ids are at most 64 bytes, so three bytes each always fit. */
static void url_seg(struct render_out *o, const char *s)
{
    char enc[3 * 256 + 1];

    if (http_url_encode(s != NULL ? s : "", enc, sizeof(enc)) < 0) {
        o->rc = -ENOBUFS;
        return;
    }
    render_put(o, enc);
}

int render_empty(const char *s)
{
    return s == NULL || s[0] == 0;
}

/* Code points in s (malformed bytes count one each). */
size_t render_text_chars(const char *s)
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

static void put_day(struct render_out *o, int32_t day)
{
    char s[DAY_TIME_LEN];

    day_format(day, s, sizeof(s));
    render_put(o, s);
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
    {AUTH_SECOND_LEVEL, "/d/coaching", "Coaching my managers",
     COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_COACHING_MANAGERS},
    {AUTH_LEAD | AUTH_ADMIN, "/d/programme", "Programme impact",
     COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME},
    {AUTH_LEAD | AUTH_ADMIN, "/d/observers", "Observer reliability",
     COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS},
    {AUTH_OBSERVER, "/d/observer", "My reliability",
     COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVER},
};

/* Void elements are written self-closed ("<meta ... />"), which HTML5
 * accepts, so the whole page is also well-formed XML and tests can check it. */
static void page_start(struct render_out *o, const char *title, const char *subtitle)
{
    render_put(o, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />\n"
                  "<title>");
    render_esc_max(o, title, 120);
    if (!render_empty(subtitle)) {
        render_put(o, " \xE2\x80\x94 ");
        render_esc_max(o, subtitle, 80);
    }
    render_put(o,
               " \xC2\xB7 coachq</title>\n"
               "<link rel=\"stylesheet\" href=\"/static/coachq.css\" />\n"
               /* The icon travels in the page (the CSP allows data: images), so
                * browsers do not ask for /favicon.ico. */
               "<link rel=\"icon\" href=\"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/"
               "svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%231f4e79'/"
               "%3E%3Cpath d='M3 11l3-4 3 2 4-5' stroke='%23fff' stroke-width='1.8' fill='none'/"
               "%3E%3C/svg%3E\" />\n</head>\n<body>\n");
}

static void page_header(struct render_out *o, const struct render_ctx *ctx,
                        Coachq__V1__DashboardKind current)
{
    size_t i;
    int any = 0;

    render_put(o, "<header class=\"top\">\n<a class=\"brand\" href=\"/\">coachq</a>\n");
    if (ctx != NULL) {
        for (i = 0; i < sizeof nav_items / sizeof nav_items[0]; i++) {
            if ((ctx->roles & nav_items[i].roles) == 0) {
                continue;
            }
            if (!any) {
                render_put(o, "<nav aria-label=\"Dashboards\">\n<ul>\n");
                any = 1;
            }
            render_put(o, "<li><a href=\"");
            render_put(o, nav_items[i].href);
            render_put(o, "\"");
            if (nav_items[i].kind == current) {
                render_put(o, " aria-current=\"page\"");
            }
            render_put(o, ">");
            render_put(o, nav_items[i].label);
            render_put(o, "</a></li>\n");
        }
        if (any) {
            render_put(o, "</ul>\n</nav>\n");
        }
        render_put(o, "<div class=\"user\"><span class=\"who\">Signed in as ");
        if (!render_empty(ctx->user_name)) {
            render_esc_max(o, ctx->user_name, 60);
            render_put(o, " <span class=\"uid\">(");
            render_esc_max(o, ctx->user_id, 64);
            render_put(o, ")</span>");
        } else {
            render_esc_max(o, ctx->user_id, 64);
        }
        render_put(o, "</span>\n<form class=\"signout\" method=\"post\" action=\"/signout\">"
                      "<input type=\"hidden\" name=\"csrf\" value=\"");
        render_esc(o, ctx->csrf);
        render_put(o, "\" /><button type=\"submit\">Sign out</button></form></div>\n");
    }
    render_put(o, "</header>\n");
}

static void page_end(struct render_out *o, int64_t generated_at_ms)
{
    render_put(o, "<footer class=\"foot\">coachq");
    if (generated_at_ms > 0) {
        int64_t s = generated_at_ms / 1000;
        int64_t day = s / 86400;
        int64_t sod = s % 86400;
        render_put(o, " \xC2\xB7 generated ");
        put_day(o, (int32_t)day);
        render_putf(o, " %02d:%02d UTC", (int)(sod / 3600), (int)(sod / 60 % 60));
    }
    render_put(o, "</footer>\n</body>\n</html>\n");
}

/* ---- Tables ----------------------------------------------------------- */

static int cell_is_figure(const Coachq__V1__Cell *c)
{
    return c->insufficient || c->has_value || c->n > 0;
}

static void put_link_open(struct render_out *o, const char *id, const struct render_ctx *ctx,
                          const Coachq__V1__Dashboard *d)
{
    /* Observer reliability names observers: their link goes to their
     * calibration history (dash_obs_history.c); every other link to the
     * manager detail page. */
    render_put(o, d->kind == COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS
                      ? "<a href=\"/d/observers/"
                      : "<a href=\"/d/manager/");
    url_seg(o, id);
    if (ctx != NULL && !render_empty(ctx->query)) {
        render_esc(o, ctx->query);
    }
    render_put(o, "\">");
}

static void put_cell(struct render_out *o, const Coachq__V1__Dashboard *d,
                     const Coachq__V1__Cell *c, const char *tag, const struct render_ctx *ctx)
{
    /* Links go to the manager detail page, or from Observer reliability to
     * an observer's calibration history. */
    int link = !render_empty(c->link);

    render_put(o, "<");
    render_put(o, tag);
    if (tag[1] == 'h') {
        render_put(o, " scope=\"row\"");
    }
    if (c->insufficient) {
        /* Whatever text or value came with it, an insufficient figure is
         * never shown as a number. */
        render_put(o, " class=\"num insufficient\"><span class=\"insuf\">insufficient data</span>");
        if (c->n > 0) {
            render_putf(o, "<span class=\"n\">n=%u</span>", (unsigned)c->n);
        }
    } else if (cell_is_figure(c)) {
        char nbuf[16];
        render_put(o, " class=\"num\">");
        if (link) {
            put_link_open(o, c->link, ctx, d);
        }
        render_esc(o, c->text);
        if (link) {
            render_put(o, "</a>");
        }
        snprintf(nbuf, sizeof nbuf, "%u", (unsigned)c->n);
        /* A count is its own n: "12 n=12" would say nothing. */
        if (c->n > 0 && (c->text == NULL || strcmp(c->text, nbuf) != 0)) {
            render_putf(o, "<span class=\"n\">n=%u</span>", (unsigned)c->n);
        }
    } else {
        render_put(o, ">");
        if (link) {
            put_link_open(o, c->link, ctx, d);
        }
        render_esc(o, c->text);
        if (link) {
            render_put(o, "</a>");
        }
    }
    render_put(o, "</");
    render_put(o, tag);
    render_put(o, ">");
}

/* The kept query, and the assigned-only filter when d has it: the page's
 * own JSON and CSV links keep the filter; links to other pages do not
 * (only Programme impact and Observer reliability take it). */
static void put_query_filtered(struct render_out *o, const struct render_ctx *ctx,
                               const Coachq__V1__Dashboard *d)
{
    if (!render_empty(ctx->query)) {
        render_esc(o, ctx->query);
    }
    if (d->assigned_only) {
        render_put(o, render_empty(ctx->query) ? "?assigned=1" : "&amp;assigned=1");
    }
}

/* The filter's toggle on the two pages that take it (not on an observer's
 * calibration history): a link to the same page with, or without, it. */
static void put_assigned_toggle(struct render_out *o, const Coachq__V1__Dashboard *d,
                                const struct render_ctx *ctx)
{
    const char *path =
        d->kind == COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME   ? "/d/programme"
        : d->kind == COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS ? "/d/observers"
                                                                          : NULL;
    const char *q = ctx != NULL && !render_empty(ctx->query) ? ctx->query : "";

    if (path == NULL || !render_empty(d->subject_id)) {
        return;
    }
    render_put(o, "<p class=\"filter\">");
    if (d->assigned_only) {
        render_put(o, "Assigned observations only: the unbiased sample. <a href=\"");
        render_put(o, path);
        render_esc(o, q);
        render_put(o, "\">Show every observation</a>");
    } else {
        render_put(o, "<a href=\"");
        render_put(o, path);
        render_esc(o, q);
        render_put(o, q[0] != '\0' ? "&amp;assigned=1" : "?assigned=1");
        render_put(o, "\">Assigned observations only</a> (the unbiased sample)");
    }
    render_put(o, "</p>\n");
}

static void put_csv_href(struct render_out *o, const Coachq__V1__Table *t,
                         const struct render_ctx *ctx, const Coachq__V1__Dashboard *d)
{
    render_esc(o, ctx->api_path);
    render_put(o, "/tables/");
    url_seg(o, t->id);
    render_put(o, ".csv");
    put_query_filtered(o, ctx, d);
}

/* From this many columns a table is "wide": tighter cells, n under the
 * figure. */
#define RENDER_WIDE_COLUMNS 9

static void put_table(struct render_out *o, const Coachq__V1__Dashboard *d,
                      const Coachq__V1__Table *t, size_t ti, const struct render_ctx *ctx)
{
    size_t i, j;

    /* A table of many columns puts each figure's n under it, so that it
     * fits its card (see the CSS). */
    render_putf(o, "<div class=\"table-wrap%s\" id=\"table-%zu\">\n<table>\n<caption>",
                t->n_columns >= RENDER_WIDE_COLUMNS ? " wide" : "", ti);
    render_esc(o, t->title);
    render_put(o, "</caption>\n");
    if (t->n_columns > 0) {
        render_put(o, "<thead><tr>");
        for (i = 0; i < t->n_columns; i++) {
            render_put(o, "<th scope=\"col\"");
            if (i > 0) {
                render_put(o, " class=\"num\"");
            }
            render_put(o, ">");
            render_esc(o, t->columns[i]);
            render_put(o, "</th>");
        }
        render_put(o, "</tr></thead>\n");
    }
    render_put(o, "<tbody>\n");
    for (i = 0; i < t->n_rows; i++) {
        const Coachq__V1__TableRow *r = t->rows[i];
        render_put(o, "<tr>");
        for (j = 0; r != NULL && j < r->n_cells; j++) {
            if (r->cells[j] != NULL) {
                put_cell(o, d, r->cells[j], j == 0 ? "th" : "td", ctx);
            } else {
                render_put(o, "<td></td>");
            }
        }
        render_put(o, "</tr>\n");
    }
    if (t->n_rows == 0) {
        render_putf(o,
                    "<tr><td class=\"empty\" colspan=\"%zu\">No data in this period.</td></tr>\n",
                    t->n_columns > 0 ? t->n_columns : (size_t)1);
    }
    render_put(o, "</tbody>\n</table>\n</div>\n<div class=\"table-foot\">");
    if (!render_empty(t->note)) {
        render_put(o, "<p class=\"note\">");
        render_esc(o, t->note);
        render_put(o, "</p>");
    }
    if (ctx != NULL && !render_empty(ctx->api_path)) {
        render_put(o, "<a class=\"csv\" href=\"");
        put_csv_href(o, t, ctx, d);
        render_put(o, "\">Download CSV<span class=\"vh\"> of ");
        render_esc(o, t->title);
        render_put(o, "</span></a>");
    }
    render_put(o, "</div>\n");
}

/* ---- Pages ------------------------------------------------------------ */

/* The first table whose id is id, as an index, or n_tables. */
size_t render_table_index(const Coachq__V1__Dashboard *d, const char *id)
{
    size_t i;

    for (i = 0; !render_empty(id) && i < d->n_tables; i++) {
        if (d->tables[i] != NULL && d->tables[i]->id != NULL && strcmp(d->tables[i]->id, id) == 0) {
            return i;
        }
    }
    return d->n_tables;
}

int render_dashboard(const Coachq__V1__Dashboard *d, const struct render_ctx *ctx, struct buf *out)
{
    struct render_out o = {out, 0};
    size_t i, j;
    int orphans = 0;

    page_start(&o, d->title, d->subject_name);
    page_header(&o, ctx, d->kind);
    render_put(&o, "<main>\n<div class=\"intro\">\n<h1>");
    render_esc(&o, d->title);
    render_put(&o, "</h1>\n");
    if (!render_empty(d->subject_name) || !render_empty(d->subject_id)) {
        render_put(&o, "<p class=\"subject\">");
        render_esc(&o, !render_empty(d->subject_name) ? d->subject_name : d->subject_id);
        render_put(&o, "</p>\n");
    }
    render_put(&o, "<dl class=\"meta\"><dt>Period</dt><dd>");
    put_day(&o, d->from_day);
    render_put(&o, " to ");
    put_day(&o, d->until_day);
    render_put(&o, "</dd>");
    if (!render_empty(d->rubric_id)) {
        render_put(&o, "<dt>Rubric</dt><dd>");
        render_esc(&o, d->rubric_id);
        render_put(&o, "</dd>");
    }
    render_put(&o, "</dl>\n");
    put_assigned_toggle(&o, d, ctx);
    render_put(&o, "<p class=\"rules\">");
    render_putf(&o,
                "Every figure shows its n. Figures from fewer than %u observation%s are shown as "
                "\xE2\x80\x9Cinsufficient data\xE2\x80\x9D, never as a number.",
                (unsigned)d->min_n, d->min_n == 1 ? "" : "s");
    if (d->privacy_min > 0) {
        render_putf(&o, " Groups of fewer than %u people are not broken down.",
                    (unsigned)d->privacy_min);
    }
    render_put(&o, "</p>\n");
    if (d->n_notes > 0) {
        render_put(&o, "<ul class=\"notes\">\n");
        for (i = 0; i < d->n_notes; i++) {
            render_put(&o, "<li>");
            render_esc(&o, d->notes[i]);
            render_put(&o, "</li>\n");
        }
        render_put(&o, "</ul>\n");
    }
    if (ctx != NULL && !render_empty(ctx->api_path)) {
        render_put(&o, "<p class=\"downloads\"><a href=\"");
        render_esc(&o, ctx->api_path);
        put_query_filtered(&o, ctx, d);
        render_put(&o, "\">All figures as JSON</a></p>\n");
    }
    render_put(&o, "</div>\n");

    /* Each table after the charts drawn from it, in the tables' order. */
    for (i = 0; i < d->n_tables; i++) {
        if (d->tables[i] == NULL) {
            continue;
        }
        render_put(&o, "<section class=\"panel\">\n");
        for (j = 0; j < d->n_charts; j++) {
            if (d->charts[j] != NULL && render_table_index(d, d->charts[j]->table_id) == i) {
                render_svg_chart(&o, d, j);
            }
        }
        put_table(&o, d, d->tables[i], i, ctx);
        render_put(&o, "</section>\n");
    }
    for (j = 0; j < d->n_charts; j++) {
        if (d->charts[j] == NULL || render_table_index(d, d->charts[j]->table_id) < d->n_tables) {
            continue;
        }
        if (!orphans) {
            render_put(&o, "<section class=\"panel\">\n");
            orphans = 1;
        }
        render_svg_chart(&o, d, j);
    }
    if (orphans) {
        render_put(&o, "</section>\n");
    }
    render_put(&o, "</main>\n");
    page_end(&o, d->generated_at_ms);
    return o.rc;
}

int render_signin(const char *csrf, const char *error, struct buf *out)
{
    struct render_out o = {out, 0};

    page_start(&o, "Sign in", NULL);
    page_header(&o, NULL, COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_UNSPECIFIED);
    render_put(&o, "<main class=\"narrow\">\n<h1>Sign in</h1>\n");
    if (!render_empty(error)) {
        render_put(&o, "<p class=\"error\" role=\"alert\">");
        render_esc(&o, error);
        render_put(&o, "</p>\n");
    }
    render_put(&o, "<form class=\"signin\" method=\"post\" action=\"/signin\">\n"
                   "<label for=\"user\">User</label>\n"
                   "<input id=\"user\" name=\"user\" type=\"text\" autocomplete=\"username\" "
                   "autocapitalize=\"none\" spellcheck=\"false\" required=\"required\" "
                   "autofocus=\"autofocus\" />\n"
                   "<label for=\"password\">Password</label>\n"
                   "<input id=\"password\" name=\"password\" type=\"password\" "
                   "autocomplete=\"current-password\" required=\"required\" />\n"
                   "<input type=\"hidden\" name=\"csrf\" value=\"");
    render_esc(&o, csrf);
    render_put(&o, "\" />\n<button type=\"submit\">Sign in</button>\n</form>\n"
                   "<p class=\"hint\">No password? A one-time sign-in link from your administrator "
                   "also works: open it in this browser and continue.</p>\n</main>\n");
    page_end(&o, 0);
    return o.rc;
}

int render_signin_link(const char *token, const char *csrf, struct buf *out)
{
    struct render_out o = {out, 0};

    page_start(&o, "Sign in", NULL);
    page_header(&o, NULL, COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_UNSPECIFIED);
    render_put(&o, "<main class=\"narrow\">\n<h1>Sign in</h1>\n"
                   "<p>This one-time sign-in link works once. Continue to sign in with it in this "
                   "browser.</p>\n"
                   "<form class=\"signin\" method=\"post\" action=\"/signin/link\">\n"
                   "<input type=\"hidden\" name=\"token\" value=\"");
    render_esc(&o, token);
    render_put(&o, "\" />\n<input type=\"hidden\" name=\"csrf\" value=\"");
    render_esc(&o, csrf);
    render_put(&o,
               "\" />\n<button type=\"submit\">Continue to sign in</button>\n</form>\n</main>\n");
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
    struct render_out o = {out, 0};
    char title[64];

    snprintf(title, sizeof title, "%d %s", status, status_text(status));
    page_start(&o, title, NULL);
    page_header(&o, ctx, COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_UNSPECIFIED);
    render_put(&o, "<main class=\"narrow\">\n<h1>");
    render_esc(&o, title);
    render_put(&o, "</h1>\n");
    if (!render_empty(message)) {
        render_put(&o, "<p class=\"error\">");
        render_esc(&o, message);
        render_put(&o, "</p>\n");
    }
    render_put(&o, "<p><a href=\"/\">Back to your dashboards</a></p>\n</main>\n");
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
