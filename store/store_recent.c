/*
 * store_recent: the newest records of one person in one index, read inside a
 * transaction of the caller's (the dashboards' "recent observations"). It
 * walks the index backwards from a time bound and stops after a fixed number
 * of keys, so its cost does not depend on how many records the person has.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "log.h"
#include "store_int.h"

static MDB_dbi store_recent_dbi(const struct store *s, enum store_index by)
{
    switch (by) {
    case STORE_BY_OBSERVER:
        return s->dbi_by_observer;
    case STORE_BY_COACHEE:
        return s->dbi_by_coachee;
    case STORE_BY_COACH:
        break;
    }
    return s->dbi_by_coach;
}

int store_recent_txn(struct store_txn *t, enum store_index by, const char *person, int64_t until,
                     uint32_t max_keys, store_recent_cb cb, void *arg)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint8_t seek[KEYS_BOUND_MAX];
    size_t seek_len = 0;
    size_t prefix_len;
    size_t id_len;
    uint32_t seen = 0;
    const uint8_t *uuid;
    int64_t at;
    int rc;

    if (t == NULL || person == NULL || cb == NULL || max_keys < 1 || max_keys > STORE_MAX_PAGE ||
        (by != STORE_BY_COACH && by != STORE_BY_OBSERVER && by != STORE_BY_COACHEE)) {
        return -EINVAL;
    }
    id_len = strlen(person);
    if (keys_index_bound(seek, sizeof(seek), person, id_len, until, &seek_len) != 0) {
        return -EINVAL;
    }
    prefix_len = 1 + id_len;
    rc = mdb_cursor_open(t->txn, store_recent_dbi(t->s, by), &cur);
    if (rc != 0) {
        return store_errno(rc);
    }
    /* The bound is the smallest key of person at or after until: the key
     * before it (if it is person's) is the newest record before until. */
    k.mv_data = seek;
    k.mv_size = seek_len;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc == 0) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
    } else if (rc == MDB_NOTFOUND) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    }
    while (rc == 0 && seen < max_keys) {
        Coachq__V1__StoredObservation *rec = NULL;

        if (k.mv_size < prefix_len || memcmp(k.mv_data, seek, prefix_len) != 0) {
            break; /* before this person's keys */
        }
        if (keys_index_decode(k.mv_data, k.mv_size, NULL, NULL, &at, &uuid) != 0) {
            log_event(LOG_ERROR, "store_index_corrupt", "size=%zu", k.mv_size);
            rc = -EIO;
            goto out;
        }
        seen++;
        rc = store_get_txn(t, uuid, &rec);
        if (rc == -ENOENT) {
            rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
            continue; /* an index entry without its record: skip it */
        }
        if (rc != 0) {
            goto out;
        }
        /* The callback takes ownership of rec. */
        rc = cb(rec, arg);
        if (rc != 0) {
            rc = rc > 0 ? 0 : rc;
            goto out;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
    }
    /* Here rc is 0 or what the cursor last returned. */
    rc = rc == MDB_NOTFOUND ? 0 : store_errno(rc);
out:
    mdb_cursor_close(cur);
    return rc;
}
