/*
 * metrics: histograms that any thread may update without a lock, and the
 * Prometheus text exposition format (version 0.0.4) that coachqd's
 * /metrics endpoint writes them in.
 *
 * A histogram counts whole-number observations (microseconds, records,
 * ...) into fixed buckets with relaxed atomic additions: the writer thread
 * and the thread pool record into it with no lock and no allocation, and
 * the loop thread reads it at scrape time. A scrape may see one bucket
 * before another thread's matching sum is added; each figure is still
 * monotonic, which is all Prometheus asks of counters.
 *
 * The writing half appends families and samples to a bounded buffer
 * (common/buf). Metric names and label values come from the callers'
 * fixed tables, never from a peer; metrics_labels() builds a label set
 * and refuses a value that is not a plain word.
 */
#ifndef COACHQ_METRICS_H
#define COACHQ_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* The most buckets a histogram has, besides +Inf. */
#define METRICS_HIST_MAX 24

struct metrics_hist {
    const uint64_t *bounds; /* upper bounds, ascending; borrowed (static tables) */
    unsigned nbounds;       /* at most METRICS_HIST_MAX */
    _Atomic uint64_t bucket[METRICS_HIST_MAX + 1]; /* per bucket, not cumulative; last +Inf */
    _Atomic uint64_t sum;
};

/* Sets h up empty with the n bounds (borrowed for h's life; n is capped at
 * METRICS_HIST_MAX). Not thread-safe: before h is shared. */
void metrics_hist_init(struct metrics_hist *h, const uint64_t *bounds, unsigned n);

/* Counts one observation v (in the bounds' unit). Any thread, lock-free. */
void metrics_hist_observe(struct metrics_hist *h, uint64_t v);

/* The number of observations so far. Any thread. */
uint64_t metrics_hist_count(const struct metrics_hist *h);

/* Adds n to a counter with a relaxed atomic addition. Any thread. */
void metrics_add(_Atomic uint64_t *counter, uint64_t n);

/* A counter's value. Any thread. */
uint64_t metrics_get(const _Atomic uint64_t *counter);

/*
 * Jobs on libuv's thread pool, which the dashboards, sign-ins and the
 * protocol port's reads share: counted when queued (loop thread), started
 * and finished. Queued but not started is the pool's queue; started but
 * not finished, its busy threads.
 */
struct metrics_pool {
    _Atomic uint64_t queued;
    _Atomic uint64_t started;
    _Atomic uint64_t finished;
};

/* Each is NULL-safe (nothing counted) and lock-free; any thread. Call
 * queued before uv_queue_work(); when that fails, started and finished. */
void metrics_pool_queued(struct metrics_pool *p);
void metrics_pool_started(struct metrics_pool *p);
void metrics_pool_finished(struct metrics_pool *p);

/*
 * Appends "# HELP name help" and "# TYPE name type" (type: "counter",
 * "gauge" or "histogram"). Returns 0 or buf_append()'s error (-ENOBUFS,
 * -ENOMEM); every function below likewise.
 */
int metrics_family(struct buf *b, const char *name, const char *type, const char *help);

/* Appends one sample "name{labels} value". labels is "" or the inside of
 * the braces, e.g. "port=\"protocol\",state=\"open\"". */
int metrics_sample(struct buf *b, const char *name, const char *labels, double value);

/* As metrics_sample() for a whole number, written exactly. */
int metrics_sample_u64(struct buf *b, const char *name, const char *labels, uint64_t value);

/* A family of one unlabelled sample: metrics_family() then the sample, so
 * that the name is written once. */
int metrics_scalar(struct buf *b, const char *name, const char *type, const char *help,
                   double value);
int metrics_scalar_u64(struct buf *b, const char *name, const char *type, const char *help,
                       uint64_t value);

/*
 * Appends h's series under name (its _bucket, _sum and _count) with the
 * labels (as above; le is added). Bounds and sum are divided by unit, so a
 * histogram kept in microseconds is written in seconds with unit 1e6.
 */
int metrics_hist_write(struct buf *b, const char *name, const char *labels,
                       const struct metrics_hist *h, double unit);

/* 1 if s is a safe label value from a fixed table: 1..64 bytes of
 * [A-Za-z0-9_.+-], else 0. */
int metrics_label_ok(const char *s);

/*
 * Writes the label set k1="v1",k2="v2",... into out (size outlen) from
 * the name and value pairs that follow, ended by NULL. Returns 0, or
 * -EINVAL when a value fails metrics_label_ok() or out is too small (out
 * is then "" and the caller writes nothing).
 */
int metrics_labels(char *out, size_t outlen, ...);

#endif
