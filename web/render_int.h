/*
 * render_int: what the two halves of the dashboard pages share, private to
 * web/. render_html.c writes the pages and owns the writer and escaping
 * below; render_svg.c draws the charts inside a dashboard page through
 * them. Nothing outside render_html.c and render_svg.c includes this.
 *
 * Every append goes through a struct render_out, which keeps the first
 * error: the page code reads top to bottom without a check after every
 * append, and the caller checks rc once at the end. After an error nothing
 * more is appended, and the caller's buffer may hold a partial page, which
 * the callers discard. All of it is pure (no loop, no store, no globals):
 * any thread, one struct render_out per thread.
 */
#ifndef COACHQ_RENDER_INT_H
#define COACHQ_RENDER_INT_H

#include <stddef.h>

#include "buf.h"
#include "coachq.pb-c.h"

struct render_out {
    struct buf *b; /* borrowed from the render_*() caller for the call */
    int rc;        /* 0, or the first error: -ENOBUFS (b's max), -ENOMEM, -EINVAL */
};

/* Appends s (NUL-terminated, borrowed for the call) as it is: only fixed
 * markup goes through here, never text from records or requests. */
void render_put(struct render_out *o, const char *s);

/* Appends printf-formatted fixed words and numbers; text from records or
 * requests goes through render_esc() instead. */
void render_putf(struct render_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends s escaped for HTML text and attribute values, which is also valid
 * XML character data for SVG: & < > " ' and CR as references, malformed
 * UTF-8, controls and noncharacters as U+FFFD. At most maxchars code points
 * are written; a longer text ends with an ellipsis. s may be NULL (the
 * empty text). */
void render_esc_max(struct render_out *o, const char *s, size_t maxchars);

/* render_esc_max() without a limit. */
void render_esc(struct render_out *o, const char *s);

/* 1 when s is NULL or "". */
int render_empty(const char *s);

/* The code points in s, as render_esc_max() counts them (a malformed byte
 * counts one); s may be NULL. */
size_t render_text_chars(const char *s);

/* The index of d's first table whose id is id, or d->n_tables when id is
 * NULL, "" or no table's. */
size_t render_table_index(const Coachq__V1__Dashboard *d, const char *id);

/*
 * render_svg.c: appends chart ci of d (ci < d->n_charts, d->charts[ci] not
 * NULL) as a <figure>: its caption, then an inline SVG drawing of its kind
 * (lines, heat map, quadrant, bars), or a note when it has no data or its
 * kind is unknown. d is borrowed for the call.
 */
void render_svg_chart(struct render_out *o, const Coachq__V1__Dashboard *d, size_t ci);

#endif
