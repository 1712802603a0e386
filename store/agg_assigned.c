/*
 * agg_assigned: the assigned dimension's upgrade (agg.h, AGG_ASSIGNED). A
 * store whose aggregates are of format 3 or older holds records that
 * fulfilled an assignment without saying so (the writer recorded it only
 * in the assignment). Before those aggregates are rebuilt, every version
 * of the observation a done assignment names is marked "assigned". A
 * record anonymised before the upgrade cannot be: retention cleared its
 * assignment_id and its assignment's link.
 */
#include "agg.h"
#include "agg_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "keys.h"
#include "obs.h"
#include "obs_codec.h"
#include "store_int.h"

/* The roots the done assignments name, read before any write. */
struct asg_roots {
    uint8_t (*id)[KEYS_UUID_LEN];
    size_t n;
    size_t cap;
};

static int roots_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct asg_roots *r = arg;
    Coachq__V1__Assignment *a;
    int rc = 0;

    (void)key;
    (void)klen;
    a = coachq__v1__assignment__unpack(NULL, vlen, val);
    if (a == NULL) {
        return 0; /* assign_verify() reports a value that does not decode */
    }
    if (a->status == COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_DONE &&
        a->observation_id.len == KEYS_UUID_LEN) {
        rc = GROW_ARRAY(r->id, r->cap, r->n + 1, 64);
        if (rc == 0) {
            memcpy(r->id[r->n++], a->observation_id.data, KEYS_UUID_LEN);
        }
    }
    coachq__v1__assignment__free_unpacked(a, NULL);
    return rc;
}

/* Marks record id assigned, rewriting it if it was not (counted in
 * *marked). */
static int mark_one(struct store_txn *t, const uint8_t id[KEYS_UUID_LEN], uint64_t *marked)
{
    Coachq__V1__StoredObservation *rec = NULL;
    uint8_t skey[8];
    uint8_t *packed;
    size_t n;
    int rc = obs_read_txn(t, id, &rec);

    if (rc == -ENOENT) {
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    if (rec->assigned) {
        coachq__v1__stored_observation__free_unpacked(rec, NULL);
        return 0;
    }
    rec->assigned = 1;
    rec->superseded = 0; /* set when read, never stored */
    /* Back in the stored form (obs_codec.h). */
    rc = obs_codec_pack(t, rec, &packed, &n);
    if (rc != 0) {
        coachq__v1__stored_observation__free_unpacked(rec, NULL);
        return rc;
    }
    keys_put_be64(skey, rec->seq);
    rc = store_txn_put_raw(t, t->s->dbi_obs, skey, sizeof(skey), packed, n, NULL);
    free(packed);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    if (rc == 0) {
        (*marked)++;
    }
    return rc;
}

int agg_assigned_backfill(struct store_txn *t, uint64_t *marked)
{
    struct asg_roots r;
    int rc;

    *marked = 0;
    memset(&r, 0, sizeof(r));
    rc = store_txn_scan(t, t->s->dbi_asg, NULL, 0, 0, roots_one, &r);
    for (size_t i = 0; i < r.n && rc == 0; i++) {
        /* Every version of the observation: root + be32 version -> id. */
        for (uint32_t v = 1; rc == 0; v++) {
            uint8_t vkey[KEYS_UUID_LEN + 4];
            uint8_t id[KEYS_UUID_LEN];
            MDB_val val;

            memcpy(vkey, r.id[i], KEYS_UUID_LEN);
            keys_put_be32(vkey + KEYS_UUID_LEN, v);
            rc = store_txn_get_raw(t, t->s->dbi_versions, vkey, sizeof(vkey), &val);
            if (rc == -ENOENT && v == 1) {
                /* A store of one version each (no chain): the root itself. */
                rc = mark_one(t, r.id[i], marked);
                break;
            }
            if (rc == -ENOENT) {
                rc = 0;
                break;
            }
            if (rc != 0 || val.mv_size != KEYS_UUID_LEN) {
                rc = rc != 0 ? rc : -EIO;
                break;
            }
            memcpy(id, val.mv_data, KEYS_UUID_LEN);
            rc = mark_one(t, id, marked);
        }
    }
    free(r.id);
    return rc;
}
