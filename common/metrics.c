#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void metrics_hist_init(struct metrics_hist *h, const uint64_t *bounds, unsigned n)
{
    h->bounds = bounds;
    h->nbounds = n > METRICS_HIST_MAX ? METRICS_HIST_MAX : n;
    for (unsigned i = 0; i <= METRICS_HIST_MAX; i++) {
        atomic_init(&h->bucket[i], 0);
    }
    atomic_init(&h->sum, 0);
}

void metrics_hist_observe(struct metrics_hist *h, uint64_t v)
{
    unsigned i = 0;

    /* The tables are short (at most METRICS_HIST_MAX): a linear scan is as
     * quick as a binary search and has no branch to mispredict late. */
    while (i < h->nbounds && v > h->bounds[i]) {
        i++;
    }
    atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum, v, memory_order_relaxed);
}

uint64_t metrics_hist_count(const struct metrics_hist *h)
{
    uint64_t n = 0;

    for (unsigned i = 0; i <= h->nbounds; i++) {
        n += metrics_get(&h->bucket[i]);
    }
    return n;
}

void metrics_add(_Atomic uint64_t *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

uint64_t metrics_get(const _Atomic uint64_t *counter)
{
    /* C11's atomic_load_explicit takes a pointer to non-const; the object
     * is not const, only this view of it. */
    return atomic_load_explicit((_Atomic uint64_t *)counter, memory_order_relaxed);
}

void metrics_pool_queued(struct metrics_pool *p)
{
    if (p != NULL) {
        metrics_add(&p->queued, 1);
    }
}

void metrics_pool_started(struct metrics_pool *p)
{
    if (p != NULL) {
        metrics_add(&p->started, 1);
    }
}

void metrics_pool_finished(struct metrics_pool *p)
{
    if (p != NULL) {
        metrics_add(&p->finished, 1);
    }
}

/* Appends what snprintf makes of fmt; a line is far below the stack
 * buffer (names, a label set and a number). */
static int out_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int out_printf(struct buf *b, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line)) {
        return -ENOBUFS;
    }
    return buf_append(b, line, (size_t)n);
}

int metrics_family(struct buf *b, const char *name, const char *type, const char *help)
{
    return out_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A value in the exposition format: integers exactly, others with enough
 * digits to round-trip, and Prometheus's spellings of the specials. */
static void format_value(char *out, size_t outlen, double v)
{
    if (isnan(v)) {
        snprintf(out, outlen, "NaN");
    } else if (isinf(v)) {
        snprintf(out, outlen, v > 0 ? "+Inf" : "-Inf");
    } else if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        snprintf(out, outlen, "%.0f", v);
    } else {
        /* The shortest of 15 and 17 digits that reads back the same, so
         * 0.00025 is not written 0.00025000000000000001. */
        snprintf(out, outlen, "%.15g", v);
        if (strtod(out, NULL) != v) {
            snprintf(out, outlen, "%.17g", v);
        }
    }
}

int metrics_sample(struct buf *b, const char *name, const char *labels, double value)
{
    char v[64];

    format_value(v, sizeof(v), value);
    if (labels[0] == '\0') {
        return out_printf(b, "%s %s\n", name, v);
    }
    return out_printf(b, "%s{%s} %s\n", name, labels, v);
}

int metrics_sample_u64(struct buf *b, const char *name, const char *labels, uint64_t value)
{
    if (labels[0] == '\0') {
        return out_printf(b, "%s %" PRIu64 "\n", name, value);
    }
    return out_printf(b, "%s{%s} %" PRIu64 "\n", name, labels, value);
}

int metrics_scalar(struct buf *b, const char *name, const char *type, const char *help,
                   double value)
{
    int rc = metrics_family(b, name, type, help);

    return rc < 0 ? rc : metrics_sample(b, name, "", value);
}

int metrics_scalar_u64(struct buf *b, const char *name, const char *type, const char *help,
                       uint64_t value)
{
    int rc = metrics_family(b, name, type, help);

    return rc < 0 ? rc : metrics_sample_u64(b, name, "", value);
}

int metrics_hist_write(struct buf *b, const char *name, const char *labels,
                       const struct metrics_hist *h, double unit)
{
    const char *sep = labels[0] != '\0' ? "," : "";
    uint64_t cum = 0;
    char le[64];
    int rc;

    for (unsigned i = 0; i <= h->nbounds; i++) {
        cum += metrics_get(&h->bucket[i]);
        if (i < h->nbounds) {
            format_value(le, sizeof(le), (double)h->bounds[i] / unit);
        } else {
            snprintf(le, sizeof(le), "+Inf");
        }
        rc = out_printf(b, "%s_bucket{%s%sle=\"%s\"} %" PRIu64 "\n", name, labels, sep, le, cum);
        if (rc < 0) {
            return rc;
        }
    }
    /* The count is the +Inf bucket as read above, so the two agree in
     * every scrape even while other threads observe. */
    snprintf(le, sizeof(le), "%s", labels[0] != '\0' ? "{" : "");
    rc = out_printf(b, "%s_sum%s%s%s ", name, le, labels, labels[0] != '\0' ? "}" : "");
    if (rc < 0) {
        return rc;
    }
    format_value(le, sizeof(le), (double)metrics_get(&h->sum) / unit);
    rc = out_printf(b, "%s\n", le);
    if (rc < 0) {
        return rc;
    }
    if (labels[0] == '\0') {
        return out_printf(b, "%s_count %" PRIu64 "\n", name, cum);
    }
    return out_printf(b, "%s_count{%s} %" PRIu64 "\n", name, labels, cum);
}

int metrics_label_ok(const char *s)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++) {
        unsigned char ch = (unsigned char)s[n];

        if (n >= 64 ||
            !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '+' || ch == '-')) {
            return 0;
        }
    }
    return n > 0;
}

int metrics_labels(char *out, size_t outlen, ...)
{
    va_list ap;
    const char *k;
    size_t used = 0;
    int rc = 0;

    if (outlen == 0) {
        return -EINVAL;
    }
    out[0] = '\0';
    va_start(ap, outlen);
    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        int n;

        if (v == NULL || !metrics_label_ok(v)) {
            rc = -EINVAL;
            break;
        }
        n = snprintf(out + used, outlen - used, "%s%s=\"%s\"", used > 0 ? "," : "", k, v);
        if (n < 0 || (size_t)n >= outlen - used) {
            rc = -EINVAL;
            break;
        }
        used += (size_t)n;
    }
    va_end(ap);
    if (rc < 0) {
        out[0] = '\0';
    }
    return rc;
}
