#include "agg.h"

#include <errno.h>
#include <stdio.h>

/* Placeholder: replaced by the aggregates implementation. */
int32_t agg_week_of(int32_t day)
{
    return day;
}
const char *agg_week_label(int32_t monday, char *buf, size_t len)
{
    snprintf(buf, len, "%d", monday);
    return buf;
}
int agg_observation(struct store_txn *t, const Coachq__V1__StoredObservation *rec,
                    const uint8_t *prev_id)
{
    (void)t;
    (void)rec;
    (void)prev_id;
    return 0;
}
