/*
 * obs: reading the observation records (obs.h): one record, the versions of
 * one observation, a page of one person's index, and a person's newest
 * records. The writer's side is obs_apply.c.
 */
#include "obs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "keys.h"
#include "pbwire.h"
#include "log.h"
#include "mdberr.h"
#include "obs_codec.h"
#include "store_int.h"
#include "uuid.h"

_Static_assert(KEYS_INDEX_MAX <= sizeof(((struct store_page *)0)->cursor),
               "a list cursor is one index key");

static MDB_dbi obs_index_dbi(const struct store *s, enum store_index by)
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

static int obs_index_valid(enum store_index by)
{
    return by == STORE_BY_COACH || by == STORE_BY_OBSERVER || by == STORE_BY_COACHEE;
}

/* The id of the latest version of the observation rooted at root, into
 * latest. Returns 0, -ENOENT or a negative errno. */
static int obs_latest_version(struct store_txn *t, const uint8_t root[16], uint8_t latest[16])
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint8_t seek[KEYS_UUID_LEN + 4];
    int rc;

    memcpy(seek, root, KEYS_UUID_LEN);
    memset(seek + KEYS_UUID_LEN, 0xff, 4);
    rc = mdb_cursor_open(t->txn, t->s->dbi_versions, &cur);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    k.mv_data = seek;
    k.mv_size = sizeof(seek);
    /* Versions are below 0xffffffff: the key at or after the seek belongs
     * to a later root (or there is none), and the one before it is root's
     * last version if root has any. */
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc == 0) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
    } else if (rc == MDB_NOTFOUND) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    }
    if (rc == 0 && (k.mv_size != sizeof(seek) || memcmp(k.mv_data, root, KEYS_UUID_LEN) != 0 ||
                    v.mv_size != KEYS_UUID_LEN)) {
        rc = MDB_NOTFOUND;
    }
    if (rc == 0) {
        memcpy(latest, v.mv_data, KEYS_UUID_LEN);
    }
    mdb_cursor_close(cur);
    return mdberr_errno(rc);
}

int obs_seq_txn(struct store_txn *t, const uint8_t id[16], uint64_t *seq)
{
    MDB_val k, v;
    int rc;

    k.mv_data = (void *)id;
    k.mv_size = KEYS_UUID_LEN;
    rc = mdb_get(t->txn, t->s->dbi_ids, &k, &v);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    if (v.mv_size != 8) {
        log_event(LOG_ERROR, "store_index_corrupt", "index=ids size=%zu", v.mv_size);
        return -EIO;
    }
    *seq = keys_get_be64(v.mv_data);
    return 0;
}

/* The packed record with sequence number seq, borrowed from the
 * transaction. Returns 0, -ENOENT or a negative errno. */
static int obs_raw_seq(struct store_txn *t, uint64_t seq, MDB_val *v)
{
    uint8_t key[8];
    MDB_val k;

    keys_put_be64(key, seq);
    k.mv_data = key;
    k.mv_size = sizeof(key);
    return mdberr_errno(mdb_get(t->txn, t->s->dbi_obs, &k, v));
}

int obs_raw_txn(struct store_txn *t, const uint8_t id[16], uint64_t *seq, const uint8_t **val,
                size_t *len)
{
    uint64_t n;
    MDB_val v;
    int rc;

    rc = obs_seq_txn(t, id, &n);
    if (rc != 0) {
        return rc;
    }
    rc = obs_raw_seq(t, n, &v);
    if (rc == -ENOENT) {
        /* The id index names a record that is not there. */
        log_event(LOG_ERROR, "store_index_dangling", "index=ids seq=%llu", (unsigned long long)n);
        return -EIO;
    }
    if (rc != 0) {
        return rc;
    }
    if (seq != NULL) {
        *seq = n;
    }
    *val = v.mv_data;
    *len = v.mv_size;
    return 0;
}

/* Decodes a packed record (borrowed from the transaction; its key seq)
 * into *out, through the record codec (obs_codec.h). */
static int obs_decode(struct store_txn *t, const uint8_t *val, size_t len, const char *op,
                      uint64_t seq, Coachq__V1__StoredObservation **out)
{
    return obs_codec_decode(t, val, len, NULL, op, seq, out);
}

int obs_read_txn_alloc(struct store_txn *t, const uint8_t id[16], ProtobufCAllocator *a,
                       Coachq__V1__StoredObservation **out)
{
    const uint8_t *val;
    uint64_t seq = 0;
    size_t len;
    int rc;

    *out = NULL;
    rc = obs_raw_txn(t, id, &seq, &val, &len);
    if (rc != 0) {
        return rc;
    }
    return obs_codec_decode(t, val, len, a, "read", seq, out);
}

int obs_read_txn(struct store_txn *t, const uint8_t id[16], Coachq__V1__StoredObservation **out)
{
    const uint8_t *val;
    uint64_t seq = 0;
    size_t len;
    int rc;

    *out = NULL;
    rc = obs_raw_txn(t, id, &seq, &val, &len);
    if (rc != 0) {
        return rc;
    }
    /* Decoded (copied) while the transaction still pins the page. */
    return obs_decode(t, val, len, "read", seq, out);
}

int obs_read_seq_txn(struct store_txn *t, uint64_t seq, Coachq__V1__StoredObservation **out)
{
    MDB_val v;
    int rc;

    *out = NULL;
    rc = obs_raw_seq(t, seq, &v);
    if (rc != 0) {
        return rc;
    }
    return obs_decode(t, v.mv_data, v.mv_size, "read_seq", seq, out);
}

int obs_scan_txn(struct store_txn *t, obs_scan_cb cb, void *arg)
{
    return store_txn_scan(t, t->s->dbi_obs, NULL, 0, 0, cb, arg);
}

int obs_audit_text_txn(struct store_txn *t, uint64_t seq, struct obs_audit_text *out)
{
    Coachq__V1__StoredObservation *r = NULL;
    const Coachq__V1__Observation *obs;
    const char *action = "submit";
    int rc;

    memset(out, 0, sizeof(*out));
    rc = obs_read_seq_txn(t, seq, &r);
    if (rc != 0) {
        return rc;
    }
    obs = r->observation;
    if (obs == NULL || obs->id.len != KEYS_UUID_LEN || r->observer_id == NULL) {
        log_event(LOG_ERROR, "store_record_corrupt", "op=audit seq=%llu", (unsigned long long)seq);
        rc = -EIO;
        goto out;
    }
    /* The very text the writer used to copy into the entry (schema 5 and
     * before), so that the log reads the same whichever form it holds. */
    if (obs->calibration_ref.len == KEYS_UUID_LEN) {
        action = "calibrate";
    } else if (r->version > 1) {
        action = "amend";
    }
    snprintf(out->actor, sizeof(out->actor), "%s", r->observer_id);
    snprintf(out->action, sizeof(out->action), "%s", action);
    uuid_format(obs->id.data, out->subject);
    snprintf(out->detail, sizeof(out->detail),
             "seq=%llu version=%u rubric=%s@%u coach=%s coachee=%s", (unsigned long long)r->seq,
             (unsigned)r->version, obs->rubric_id, (unsigned)obs->rubric_version, obs->coach_id,
             obs->coachee_id);
out:
    coachq__v1__stored_observation__free_unpacked(r, NULL);
    return rc;
}

int store_get_txn(struct store_txn *t, const uint8_t id[16], Coachq__V1__StoredObservation **out)
{
    Coachq__V1__StoredObservation *r;
    uint8_t latest[KEYS_UUID_LEN];
    int rc;

    *out = NULL;
    rc = obs_read_txn(t, id, &r);
    if (rc != 0) {
        return rc;
    }
    if (r->version == 0) {
        /* Schema 1 records are originals. */
        r->version = 1;
    }
    if (r->root_id.len == KEYS_UUID_LEN && obs_latest_version(t, r->root_id.data, latest) == 0) {
        r->superseded = memcmp(latest, id, KEYS_UUID_LEN) != 0;
    }
    *out = r;
    return 0;
}

struct obs_history {
    struct store_txn *t;
    Coachq__V1__StoredObservation **items;
    size_t n;
    size_t cap;
};

static int obs_history_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                           void *arg)
{
    struct obs_history *h = arg;
    int rc;

    (void)key;
    (void)klen;
    if (vlen != KEYS_UUID_LEN) {
        return -EIO;
    }
    if (GROW_ARRAY(h->items, h->cap, h->n + 1, 4) < 0) {
        return -ENOMEM;
    }
    rc = store_get_txn(h->t, val, &h->items[h->n]);
    if (rc != 0) {
        return rc == -ENOENT ? -EIO : rc;
    }
    h->n++;
    return 0;
}

int store_history_txn(struct store_txn *t, const uint8_t id[16],
                      Coachq__V1__StoredObservation ***out, size_t *n)
{
    Coachq__V1__StoredObservation *first = NULL;
    struct obs_history h;
    uint8_t root[KEYS_UUID_LEN];
    int rc;

    *out = NULL;
    *n = 0;
    rc = store_get_txn(t, id, &first);
    if (rc != 0) {
        return rc;
    }
    memset(&h, 0, sizeof(h));
    h.t = t;
    if (first->root_id.len != KEYS_UUID_LEN) {
        /* A schema 1 record has no version entries: it is its own history. */
        h.items = malloc(sizeof(*h.items));
        if (h.items == NULL) {
            coachq__v1__stored_observation__free_unpacked(first, NULL);
            return -ENOMEM;
        }
        h.items[0] = first;
        *out = h.items;
        *n = 1;
        return 0;
    }
    memcpy(root, first->root_id.data, KEYS_UUID_LEN);
    coachq__v1__stored_observation__free_unpacked(first, NULL);
    rc = store_txn_scan(t, t->s->dbi_versions, root, KEYS_UUID_LEN, 0, obs_history_one, &h);
    if (rc != 0) {
        for (size_t i = 0; i < h.n; i++) {
            coachq__v1__stored_observation__free_unpacked(h.items[i], NULL);
        }
        free(h.items);
        return rc;
    }
    *out = h.items;
    *n = h.n;
    return 0;
}

struct obs_get {
    const uint8_t *uuid;
    Coachq__V1__StoredObservation **out;
};

static int obs_get_view(struct store_txn *t, void *arg)
{
    struct obs_get *g = arg;

    return store_get_txn(t, g->uuid, g->out);
}

int store_get(struct store *s, const uint8_t uuid[16], Coachq__V1__StoredObservation **out)
{
    struct obs_get g = {uuid, out};

    *out = NULL;
    if (uuid == NULL) {
        return -EINVAL;
    }
    return store_view(s, obs_get_view, &g);
}

/* ---- Pages of one person's index -------------------------------------- */

/* One store_list() call: the query, the page it fills, where the scan
 * starts and what it has taken so far. */
struct obs_list {
    const struct store_query *q;
    struct store_page *page;
    uint8_t seek[KEYS_INDEX_MAX];
    size_t seek_len;
    size_t prefix_len;
    int skip_equal; /* the seek is the previous page's last key: skip it */
    size_t bytes;   /* the page's records, packed as ObservationPage entries */
    int more;       /* a record that passes the filter follows the page */
};

/* Checks q and finds where its page starts: the person's first key at or
 * after since, or after the cursor if that comes later. Returns 0 or
 * -EINVAL. */
static int obs_list_start(struct obs_list *l)
{
    const struct store_query *q = l->q;
    const char *cid;
    size_t cid_len;
    size_t id_len;

    if (q == NULL || q->person_id == NULL || q->limit < 1 || q->limit > STORE_MAX_PAGE ||
        !obs_index_valid(q->by) || (q->cursor == NULL && q->cursor_len != 0)) {
        return -EINVAL;
    }
    id_len = strlen(q->person_id);
    if (keys_index_bound(l->seek, sizeof(l->seek), q->person_id, id_len, q->since, &l->seek_len) !=
        0) {
        return -EINVAL;
    }
    l->prefix_len = 1 + id_len;
    if (q->cursor_len != 0) {
        /* A cursor is the last key of the previous page: one well-formed key
         * of this very person. */
        if (keys_index_decode(q->cursor, q->cursor_len, &cid, &cid_len, NULL, NULL) != 0 ||
            cid_len != id_len || memcmp(cid, q->person_id, id_len) != 0) {
            return -EINVAL;
        }
        if (keys_compare(q->cursor, q->cursor_len, l->seek, l->seek_len) >= 0) {
            memcpy(l->seek, q->cursor, q->cursor_len);
            l->seek_len = q->cursor_len;
            l->skip_equal = 1;
        }
    }
    return 0;
}

/* Reads the record that the index key k names and adds it to the page if
 * the filter lets it through, or finds the page full (l->more). Returns 0,
 * -EIO or -ENOMEM. */
static int obs_list_offer(struct store_txn *t, struct obs_list *l, const uint8_t *uuid,
                          const MDB_val *k)
{
    const struct store_query *q = l->q;
    struct store_page *page = l->page;
    Coachq__V1__StoredObservation *rec = NULL;
    int rc;

    rc = store_get_txn(t, uuid, &rec);
    if (rc != 0) {
        if (rc == -ENOENT) {
            log_event(LOG_ERROR, "store_index_dangling", "index=%d", (int)q->by);
            rc = -EIO;
        }
        return rc;
    }
    if (q->filter == NULL || q->filter(t, rec, q->filter_arg)) {
        /* The record's share of a packed ObservationPage: its tag, its
         * length and its bytes. */
        size_t sz = coachq__v1__stored_observation__get_packed_size(rec);
        size_t entry = 1 + pbwire_varint_len(sz) + sz;

        if (page->n == q->limit ||
            (q->max_bytes != 0 && page->n > 0 && l->bytes + entry > q->max_bytes)) {
            l->more = 1;
        } else {
            page->items[page->n++] = rec;
            rec = NULL;
            l->bytes += entry;
            memcpy(page->cursor, k->mv_data, k->mv_size);
            page->cursor_len = k->mv_size;
        }
    }
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    return 0;
}

/* Walks the person's index from the seek in a read transaction
 * (store_view()), filling the page. */
static int obs_list_txn(struct store_txn *t, void *arg)
{
    struct obs_list *l = arg;
    const struct store_query *q = l->q;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    const uint8_t *uuid;
    int64_t at;
    uint32_t scanned = 0;
    int rc;

    rc = mdb_cursor_open(t->txn, obs_index_dbi(t->s, q->by), &cur);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    k.mv_data = l->seek;
    k.mv_size = l->seek_len;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0) {
        if (k.mv_size < l->prefix_len || memcmp(k.mv_data, l->seek, l->prefix_len) != 0) {
            break; /* past this person's keys */
        }
        if (keys_index_decode(k.mv_data, k.mv_size, NULL, NULL, &at, &uuid) != 0) {
            log_event(LOG_ERROR, "store_index_corrupt", "size=%zu", k.mv_size);
            rc = -EIO;
            goto out;
        }
        if (l->skip_equal && keys_compare(k.mv_data, k.mv_size, l->seek, l->seek_len) == 0) {
            l->skip_equal = 0;
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
            continue;
        }
        l->skip_equal = 0;
        if (q->until != INT64_MAX && at >= q->until) {
            break;
        }
        if (q->max_scan != 0 && scanned == q->max_scan) {
            /* Whether a record the caller may read follows is unknown: the
             * caller is told so rather than given a place it may not see. */
            l->page->scan_capped = 1;
            l->more = l->page->n > 0;
            break;
        }
        scanned++;
        rc = obs_list_offer(t, l, uuid, &k);
        if (rc != 0) {
            goto out;
        }
        if (l->more) {
            break;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        rc = mdberr_errno(rc);
        goto out;
    }
    rc = 0;
    if (!l->more) {
        l->page->cursor_len = 0;
    }
out:
    mdb_cursor_close(cur);
    return rc;
}

int store_list(struct store *s, const struct store_query *q, struct store_page *page)
{
    struct obs_list l;
    int rc;

    if (page == NULL) {
        return -EINVAL;
    }
    memset(page, 0, sizeof(*page));
    memset(&l, 0, sizeof(l));
    l.q = q;
    l.page = page;
    rc = obs_list_start(&l);
    if (rc != 0) {
        return rc;
    }
    if (q->since >= q->until && q->until != INT64_MAX) {
        return 0;
    }
    page->items = calloc(q->limit, sizeof(*page->items));
    if (page->items == NULL) {
        return -ENOMEM;
    }
    rc = store_view(s, obs_list_txn, &l);
    if (rc != 0) {
        store_page_free(page);
    }
    return rc;
}

void store_page_free(struct store_page *page)
{
    if (page == NULL) {
        return;
    }
    for (size_t i = 0; i < page->n; i++) {
        coachq__v1__stored_observation__free_unpacked(page->items[i], NULL);
    }
    free(page->items);
    page->items = NULL;
    page->n = 0;
    page->cursor_len = 0;
}

/* ---- A person's newest records ---------------------------------------- */

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
        !obs_index_valid(by)) {
        return -EINVAL;
    }
    id_len = strlen(person);
    if (keys_index_bound(seek, sizeof(seek), person, id_len, until, &seek_len) != 0) {
        return -EINVAL;
    }
    prefix_len = 1 + id_len;
    rc = mdb_cursor_open(t->txn, obs_index_dbi(t->s, by), &cur);
    if (rc != 0) {
        return mdberr_errno(rc);
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
        /* The indexes name only each observation's latest version
         * (obs_apply.c takes a superseded version's entries out), so the
         * record is read without store_get_txn()'s look-up of the latest
         * version: one random read fewer per record. */
        rc = obs_read_txn(t, uuid, &rec);
        if (rc == 0) {
            rec->version = rec->version == 0 ? 1 : rec->version;
            rec->superseded = 0;
        }
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
    rc = rc == MDB_NOTFOUND ? 0 : mdberr_errno(rc);
out:
    mdb_cursor_close(cur);
    return rc;
}

int store_after_txn(struct store_txn *t, uint64_t after, size_t max, store_after_cb cb, void *arg,
                    uint64_t *last)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint8_t key[8];
    size_t n = 0;
    int mrc;
    int rc = 0;

    if (last != NULL) {
        *last = after;
    }
    if (after == UINT64_MAX) {
        return 0;
    }
    mrc = mdb_cursor_open(t->txn, t->s->dbi_obs, &cur);
    if (mrc != 0) {
        return mdberr_errno(mrc);
    }
    keys_put_be64(key, after + 1);
    k.mv_data = key;
    k.mv_size = sizeof(key);
    mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (mrc == 0 && n < max && rc == 0) {
        Coachq__V1__StoredObservation *r = NULL;
        uint8_t latest[KEYS_UUID_LEN];
        uint64_t seq;

        if (k.mv_size != 8) {
            rc = -EIO;
            break;
        }
        seq = keys_get_be64(k.mv_data);
        /* Decoded (copied) while the transaction pins the page. */
        rc = obs_decode(t, v.mv_data, v.mv_size, "after", seq, &r);
        if (rc != 0) {
            break;
        }
        if (r->version == 0) {
            r->version = 1;
        }
        /* The key is the record's sequence number (obs_apply.c). */
        r->seq = seq;
        if (r->observation != NULL && r->root_id.len == KEYS_UUID_LEN &&
            r->observation->id.len == KEYS_UUID_LEN &&
            obs_latest_version(t, r->root_id.data, latest) == 0) {
            r->superseded = memcmp(latest, r->observation->id.data, KEYS_UUID_LEN) != 0;
        }
        rc = cb(r, arg);
        coachq__v1__stored_observation__free_unpacked(r, NULL);
        if (last != NULL) {
            *last = seq;
        }
        n++;
        if (rc != 0) {
            break;
        }
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc != 0) {
        return rc < 0 ? rc : 0;
    }
    return mrc == 0 || mrc == MDB_NOTFOUND ? 0 : mdberr_errno(mrc);
}

int store_head_seq_txn(struct store_txn *t, uint64_t *seq)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc;

    *seq = 0;
    rc = mdb_cursor_open(t->txn, t->s->dbi_obs, &cur);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    if (rc == 0 && k.mv_size == 8) {
        *seq = keys_get_be64(k.mv_data);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : mdberr_errno(rc);
}
