/*
 * demo_cadence: the demo organisation's coaching commitments (demo_int.h),
 * so that its cadence tables show cadence against a target.
 */
#include "demo_int.h"

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
