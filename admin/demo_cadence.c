/*
 * demo_cadence: the demo organisation's coaching commitments and the
 * sessions held it imports (demo_int.h), so that its cadence tables show
 * cadence against a target, and managers who coach often but not well.
 */
#include "demo_int.h"

#include <errno.h>
#include <stdio.h>

#include "cadence.h"

int demo_commitments_txn(struct store_txn *t, void *arg)
{
    struct demo *d = arg;
    struct cadence_commit org = {CADENCE_EVERY_WEEKS, 2, d->now_ms};
    struct cadence_commit prog = {CADENCE_MINUTES_PER_WEEK, 30, d->now_ms};
    int rc;

    rc = cadence_commit_set(t, CADENCE_ORG, &org, NULL);
    if (rc == 0) {
        rc = demo_audit(t, d->now_ms, "commitment.set", CADENCE_ORG, "every rep every 2 weeks");
    }
    if (rc == 0) {
        rc = cadence_commit_set(t, DEMO_PROGRAMME, &prog, NULL);
    }
    if (rc == 0) {
        rc = demo_audit(t, d->now_ms, "commitment.set", DEMO_PROGRAMME,
                        "30 minutes a week per manager");
    }
    return rc;
}

/* A manager's cadence with each rep: days between sessions held, and their
 * minutes. */
struct held_style {
    uint32_t gap_lo, gap_hi; /* days, inclusive */
    uint32_t min_lo, min_hi; /* minutes, inclusive */
};

/* The busy managers coach every few days, briefly; the others weekly
 * (about two in five), every two or three weeks, or rarely. */
static void held_style(const struct demo_flm *f, struct demo_rng *r, struct held_style *st)
{
    static const struct held_style busy = {2, 5, 15, 30};
    static const struct held_style weekly = {5, 8, 30, 50};
    static const struct held_style fortnightly = {11, 20, 30, 60};
    static const struct held_style rarely = {25, 50, 30, 60};
    double u = demo_unit(r);

    if (f->busy) {
        *st = busy;
    } else if (u < 0.4) {
        *st = weekly;
    } else if (u < 0.75) {
        *st = fortnightly;
    } else {
        *st = rarely;
    }
}

int demo_sessions_held_txn(struct store_txn *t, void *arg)
{
    struct demo *d = arg;
    char detail[96];
    int rc;

    d->held = 0;
    for (int fi = 0; fi < DEMO_FLMS; fi++) {
        const struct demo_flm *f = &d->flm[fi];
        const struct demo_person *coach = &d->people[f->person];
        struct held_style st;
        struct demo_rng r;

        demo_fork(&r, d->seed, DEMO_S_HELD, (uint64_t)fi);
        held_style(f, &r, &st);
        for (int i = DEMO_P_REP; i < DEMO_P_REP + DEMO_REPS; i++) {
            struct demo_rng rr;
            int32_t day;

            demo_fork(&rr, d->seed, DEMO_S_HELD,
                      (uint64_t)1 << 32 | (uint64_t)fi << 16 | (uint64_t)i);
            day = d->start_day + (int32_t)demo_below(&rr, st.gap_hi);
            for (;;) {
                int32_t held = demo_weekday(day);
                uint32_t minutes = st.min_lo + demo_below(&rr, st.min_hi - st.min_lo + 1);

                if (held > d->now_day) {
                    break;
                }
                if (demo_manager_on(d, i, held) == f->person) {
                    rc = cadence_held_put(t, coach->id, d->people[i].id, held, minutes);
                    if (rc < 0 && rc != -EEXIST) {
                        return rc;
                    }
                    d->held += rc == 0;
                }
                day = held + (int32_t)(st.gap_lo + demo_below(&rr, st.gap_hi - st.gap_lo + 1));
            }
        }
    }
    snprintf(detail, sizeof(detail), "sessions: %u sessions held added", d->held);
    return demo_audit(t, d->now_ms, "import.sessions", "demo", detail);
}
