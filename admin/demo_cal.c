/*
 * demo_cal: calibration as the observer's UI leaves it (issue 15, part 4),
 * after the year is replayed: half of the observers had their latest
 * attempt at the first deal-review reference shown in full (`coachq
 * calibrate`), which spends that reference for them, and the enablement
 * lead retired the second call-review reference. Observer reliability's
 * per-observer history (/d/observers/ID) then shows every kind of row.
 */
#include <errno.h>
#include <stdio.h>

#include "error.h"

#include "certs.h"
#include "certs_cal.h"
#include "demo_int.h"
#include "uuid.h"

/* Write transaction: the reveals and the retirement. */
static int demo_cal_txn(struct store_txn *t, void *arg)
{
    struct demo *d = arg;
    const struct store_policy *p = &d->policy;
    char idstr[UUID_STR_LEN];
    int rc;

    for (int i = 0; i < DEMO_OBSERVERS; i += 2) {
        Coachq__V1__CalibrationAnswer *a = NULL;
        const char *who = d->people[DEMO_P_OBS + i].id;

        rc = certs_reveal(t, who, d->ref_id[0][0], d->now_ms - 3600 * 1000, p, &a);
        coachq__v1__calibration_answer__free_unpacked(a, NULL);
        if (rc == -ENOENT) {
            continue; /* no attempt there to show */
        }
        if (rc != 0) {
            return rc;
        }
        uuid_format(d->ref_id[0][0], idstr);
        rc = demo_audit(t, d->now_ms - 3600 * 1000, "calibrate.reveal", idstr,
                        "the attempt's figures and differences shown; the reference is spent");
        if (rc != 0) {
            return rc;
        }
        d->revealed++;
    }
    rc = certs_reference_retire(t, d->ref_id[DEMO_RUBRICS - 1][DEMO_REFS - 1],
                                d->now_ms - 1800 * 1000, NULL);
    if (rc != 0) {
        return rc;
    }
    uuid_format(d->ref_id[DEMO_RUBRICS - 1][DEMO_REFS - 1], idstr);
    return demo_audit(t, d->now_ms - 1800 * 1000, "calibration.reference.retire", idstr, "");
}

int demo_cal_finish(struct demo *d)
{
    int rc = store_exec(d->s, demo_cal_txn, d);

    if (rc != 0) {
        demo_say(d, "showing calibration attempts in full failed: %s", error_strerror(rc));
        return rc;
    }
    demo_say(d,
             "calibration in the UI: %u observers were shown an attempt in full (that reference "
             "is spent for them); one call-review reference is retired",
             d->revealed);
    return 0;
}
