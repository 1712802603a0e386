/*
 * actions_record: an action record's stored bytes (actions format 6).
 *
 * A record is rewritten when it is followed up, one event longer. Were it
 * stored at its packed size, the first follow-up of a record in a full
 * page would split that page in the middle, and the tree of records, whose
 * new keys arrive in order and would otherwise fill their pages, would
 * stay about 60% full (docs/benchmarks.md, "Ids in the order records
 * arrive"). So a record is stored at the size it will have after its
 * first follow-up: its packed size without its history, plus
 * ACTIONS_RECORD_SLACK. The rest is a pad, a length-delimited field of a
 * number the record does not use, put before the record's own fields:
 *
 *   0xFA 0x7F (field 2047, length-delimited), u8 n (< 128), n zero bytes,
 *   the packed record
 *
 * A record and its first follow-up (an event of up to the slack's bytes)
 * then have the same size, and LMDB overwrites a value of the same size in
 * its place. A pad of 1 or 2 bytes cannot be written; such a record, and
 * one whose history outgrew the slack, is stored without one. The stored
 * bytes follow from the record alone, so a rebuild writes the same bytes
 * as the writer did (actions_verify() compares them). The pad is still
 * protobuf, so any decoder of ActionRecord reads a padded value (as an
 * unknown field); the store strips it before decoding, so no record it
 * hands out carries it.
 */
#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

#include "actions_int.h"
#include "log.h"
#include "store_int.h"

/* The pad's first two bytes: field 2047, wire type 2, as a varint. */
#define PAD_TAG0 0xFA
#define PAD_TAG1 0x7F
#define PAD_HEAD 3   /* the tag and a one-byte length */
#define PAD_MAX 127u /* a one-byte length */

/* Bytes of v as a protobuf varint. */
static size_t varint_len(size_t v)
{
    size_t n = 1;

    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t actions_record_pad(const Coachq__V1__ActionRecord *r, size_t packed)
{
    size_t hist = 0;
    size_t want;

    for (size_t i = 0; i < r->n_history; i++) {
        size_t e = coachq__v1__action_event__get_packed_size(r->history[i]);

        hist += 1 + varint_len(e) + e; /* field 15's tag, length, event */
    }
    want = packed - hist + ACTIONS_RECORD_SLACK;
    if (want <= packed || want - packed < PAD_HEAD || want - packed - PAD_HEAD > PAD_MAX) {
        return 0;
    }
    return want - packed;
}

/* Writes r with its pad into v (pad + packed bytes). */
static void record_write(const Coachq__V1__ActionRecord *r, size_t pad, uint8_t *v)
{
    if (pad > 0) {
        v[0] = PAD_TAG0;
        v[1] = PAD_TAG1;
        v[2] = (uint8_t)(pad - PAD_HEAD);
        memset(v + PAD_HEAD, 0, pad - PAD_HEAD);
    }
    coachq__v1__action_record__pack(r, v + pad);
}

int actions_record_put(struct store_txn *t, const Coachq__V1__ActionRecord *r, int tail)
{
    size_t packed = coachq__v1__action_record__get_packed_size(r);
    size_t pad = actions_record_pad(r, packed);
    MDB_val k, v;
    uint8_t stackbuf[1024];
    uint8_t *buf = stackbuf;
    int rc;

    if (!t->write) {
        return -EROFS;
    }
    k.mv_data = r->id.data;
    k.mv_size = KEYS_UUID_LEN;
    if (tail) {
        /* Packed straight into its place in the page; a new record's id
         * mostly sorts last and is appended. */
        v.mv_data = NULL;
        v.mv_size = pad + packed;
        rc = store_txn_put_tail(t, t->s->dbi_actions, &k, &v, MDB_RESERVE);
        if (rc == 0) {
            record_write(r, pad, v.mv_data);
        }
        return rc == 0 ? 0 : rc == ENOMEM ? -ENOMEM : STORE_TXN_ABORT(rc);
    }
    if (pad + packed > sizeof(stackbuf)) {
        buf = malloc(pad + packed);
        if (buf == NULL) {
            return -ENOMEM;
        }
    }
    record_write(r, pad, buf);
    rc = store_txn_put_raw(t, t->s->dbi_actions, k.mv_data, k.mv_size, buf, pad + packed, NULL);
    if (buf != stackbuf) {
        free(buf);
    }
    return rc;
}

int actions_record_unpack(const uint8_t *v, size_t n, Coachq__V1__ActionRecord **out)
{
    size_t skip = 0;

    *out = NULL;
    if (n >= 2 && v[0] == PAD_TAG0 && v[1] == PAD_TAG1) {
        /* A pad that runs past the value, or one with no record after it
         * (a value is never only a pad: a record has at least its id). */
        if (n < PAD_HEAD || v[2] > PAD_MAX || (size_t)v[2] + PAD_HEAD >= n) {
            log_event(LOG_ERROR, "store_value_corrupt", "type=ActionRecord size=%zu pad", n);
            return -EIO;
        }
        skip = (size_t)v[2] + PAD_HEAD;
    }
    *out = coachq__v1__action_record__unpack(NULL, n - skip, v + skip);
    if (*out == NULL) {
        log_event(LOG_ERROR, "store_value_corrupt", "type=ActionRecord size=%zu", n);
        return -EIO;
    }
    return 0;
}

/* ---- The step from actions format 5 to 6 ------------------------------ */

/* Adds one record to the struct store_tree_copy in arg, padded. A value
 * that does not decode is kept as it is: the step changes no record's
 * meaning, and `coachqd verify` finds it as before. */
static int step_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    Coachq__V1__ActionRecord *r = NULL;
    size_t packed = 0, pad = 0;
    uint8_t *v;

    if (actions_record_unpack(val, vlen, &r) == 0) {
        packed = coachq__v1__action_record__get_packed_size(r);
        pad = actions_record_pad(r, packed);
    }
    v = store_tree_copy_add(arg, key, klen, r != NULL ? pad + packed : vlen);
    if (v != NULL && r != NULL) {
        record_write(r, pad, v);
    } else if (v != NULL) {
        memcpy(v, val, vlen);
    }
    coachq__v1__action_record__free_unpacked(r, NULL);
    return v != NULL ? 0 : -ENOMEM;
}

int actions_format_6(struct store_txn *t, uint64_t *n)
{
    struct store_tree_copy c = {NULL, 0, 0, 0};
    int rc;

    *n = 0;
    /* Every record padded in memory (about 190 MB at a million records),
     * then put back into the emptied tree by appends, so that its pages
     * come out full: a record padded in its place would split every page
     * it grew in, and a scratch tree in the file would leave its pages
     * free in it afterwards (store_tree_refill()). */
    rc = store_txn_scan(t, t->s->dbi_actions, NULL, 0, 0, step_one, &c);
    if (rc == 0) {
        rc = store_tree_refill(t, t->s->dbi_actions, &c);
    }
    if (rc == 0) {
        *n = c.n;
    }
    free(c.b);
    return rc;
}
