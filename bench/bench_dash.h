/*
 * The organisation bench_dash loads, and the reads it times on their own
 * beside the dashboards (bench_views.c): each is a store_txn_cb for
 * store_view().
 */
#ifndef COACHQ_BENCH_DASH_H
#define COACHQ_BENCH_DASH_H

#include <stdint.h>

#include "store.h"

#define BENCH_SLMS 10
#define BENCH_FLMS 200 /* 20 per second-level manager */
#define BENCH_REPS 5
#define BENCH_OBSERVERS 20
#define BENCH_CHUNK 20000u
#define BENCH_SLOT 416u /* bytes per packed observation */
#define BENCH_SMALL 10000u
#define BENCH_DEFAULT_MAX 1000000u
#define BENCH_LIMIT 5000000u
#define BENCH_DEFAULT_RUNS 300u
#define BENCH_MAX_SECONDS 30.0
#define BENCH_RUBRIC "coaching-conversation"
#define BENCH_LEAD "lead.bench"
#define BENCH_PROGRAMME "coaching-foundations"
#define BENCH_COHORTS 4
#define BENCH_COHORT_SIZE 40 /* the other front-line managers are not enrolled */
#define BENCH_MODULES 4
/* The year ends on 2026-05-28 (1780000000 s); sessions fill the 52 weeks
 * before it. */
#define BENCH_NOW 1780000000LL
#define BENCH_WINDOW_S (52LL * 7 * 86400)
#define BENCH_DAY_S 86400

/* agg_read() of 12 weeks for every manager of slm.00's line. */
struct agg_arg {
    uint64_t observations;
};
int bench_agg_txn(struct store_txn *t, void *arg);

/* The store's part of the cadence tables: the coaching days of every rep
 * of slm.00's line over the 12-week window. */
struct cadence_arg {
    uint64_t days;
};
int bench_cadence_txn(struct store_txn *t, void *arg);

/* The action tables' reads: the follow-through counters of slm.00's
 * managers, flm.000's open actions and its reps' recent actions. */
struct act_arg {
    struct store_txn *t;
    uint64_t agreed;  /* in the 20 managers' 12 weeks */
    uint64_t open;    /* flm.000's open actions */
    uint64_t records; /* records read */
};
int bench_act_txn(struct store_txn *t, void *arg);

/* bench_proc.c: this process's CPU time, all threads, in microseconds (0
 * if the kernel does not say). */
double bench_cpu_us(void);
/* From /proc/self/io: the bytes this process handed to write calls (wchar)
 * and the kernel's write_bytes (folios); both 0 where the kernel does not
 * say. */
void bench_written_bytes(uint64_t *wchar, uint64_t *folios);
/* This process's RssAnon in KiB, or 0. */
long bench_rss_anon_kib(void);
/* The bytes of disk DIR/data.mdb takes (its blocks), or -1. */
long long bench_file_bytes(const char *dir);

#endif
