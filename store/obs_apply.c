/*
 * obs_apply: what the writer does with one submitted observation, the
 * store's hook (store.h, "The hook"). A new id is checked against the
 * organisation (rules.h), stored with the writer's next sequence number,
 * chained to the versions of its observation, indexed by coach, observer and
 * coachee (an amendment takes the version it supersedes out of the
 * indexes), audited (audit.h), counted in the dashboards' aggregates
 * (agg.h) and, for a calibration attempt, logged against the exam's limits
 * and scored (certs.h). An id already stored is a duplicate when the same
 * observer sent the same bytes, and refused otherwise.
 *
 * Everything runs on the writer thread inside the batch's write
 * transaction; nothing here blocks. It also holds store_open(), which opens
 * the engine with this hook.
 */
#include "obs.h"

#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "agg.h"
#include "assign.h"
#include "audit.h"
#include "cadence.h"
#include "certs.h"
#include "error.h"
#include "keys.h"
#include "log.h"
#include "obs_codec.h"
#include "pbwire.h"
#include "rules.h"
#include "store_int.h"
#include "uuid.h"
#include "zone.h"

/* Puts key -> empty into dbi, appended when the key sorts after the last
 * key there (store_txn_put_tail()). Returns 0 or an LMDB code. */
static int obs_put_index(struct store_txn *t, MDB_dbi dbi, const uint8_t *key, size_t klen)
{
    MDB_val k, v;

    k.mv_data = (void *)key;
    k.mv_size = klen;
    v.mv_data = NULL;
    v.mv_size = 0;
    return store_txn_put_tail(t, dbi, &k, &v, 0);
}

/* Reads the stored version id's packed record into *v (borrowed until the
 * transaction's next write) and its sequence number into *seq: the number
 * from the id index, then the record. Returns 0, MDB_NOTFOUND, or another LMDB code (MDB_CORRUPTED
 * when the index names no record). */
static int obs_get_stored(struct store_txn *t, const uint8_t *id, MDB_val *v, uint64_t *seq)
{
    MDB_val k, s;
    int rc;

    k.mv_data = (void *)id;
    k.mv_size = KEYS_UUID_LEN;
    rc = mdb_get(t->txn, t->s->dbi_ids, &k, &s);
    if (rc != 0) {
        return rc;
    }
    if (s.mv_size != 8) {
        log_event(LOG_ERROR, "store_index_corrupt", "index=ids size=%zu", s.mv_size);
        return MDB_CORRUPTED;
    }
    *seq = keys_get_be64(s.mv_data);
    /* The key is the index's value itself, read before any write. */
    rc = mdb_get(t->txn, t->s->dbi_obs, &s, v);
    if (rc == MDB_NOTFOUND) {
        log_event(LOG_ERROR, "store_index_dangling", "index=ids seq=%llu",
                  (unsigned long long)*seq);
        rc = MDB_CORRUPTED;
    }
    return rc;
}

/* True if the stored record and the submission are the same resubmission:
 * same observer and byte-identical packed observation. The server packs the
 * bytes it submits from a decoded message, so they are canonical and a
 * repack of the stored observation reproduces them. */
static int obs_same_content(const Coachq__V1__StoredObservation *old, const struct store_write *w)
{
    uint8_t *buf;
    size_t n;
    int same;

    if (old->observation == NULL || old->observer_id == NULL ||
        strcmp(old->observer_id, w->observer_id) != 0) {
        return 0;
    }
    n = coachq__v1__observation__get_packed_size(old->observation);
    if (n != w->obs_len) {
        return 0;
    }
    if (n == 0) {
        return 1;
    }
    buf = malloc(n);
    if (buf == NULL) {
        return -ENOMEM;
    }
    coachq__v1__observation__pack(old->observation, buf);
    same = memcmp(buf, w->obs, n) == 0;
    free(buf);
    return same;
}

/* Answers a submission whose id is already stored (val, borrowed from the
 * transaction, at sequence seq): a duplicate, or -EEXIST without changing or revealing the
 * existing record. */
static void obs_apply_existing(struct store_txn *t, struct store_write *w, const MDB_val *val,
                               uint64_t seq)
{
    Coachq__V1__StoredObservation *old = NULL;
    int same;

    /* Decode before anything else touches the transaction; the ids come
     * back from the rubric (obs_codec.h), so that the repacked observation
     * is the one submitted. */
    same = obs_codec_decode(t, val->mv_data, val->mv_size, NULL, "dedupe", seq, &old);
    if (same != 0) {
        w->rc = same;
        return;
    }
    same = obs_same_content(old, w);
    if (same < 0) {
        w->rc = same;
    } else if (same) {
        w->rc = 0;
        w->result = STORE_DUPLICATE;
        w->seq = old->seq;
        w->version = old->version != 0 ? old->version : 1;
        w->stored_at_ms = old->received_at_ms;
    } else {
        w->rc = -EEXIST;
    }
    coachq__v1__stored_observation__free_unpacked(old, NULL);
}

/* Builds the three index keys (coach, observer, coachee) of a record. */
static int obs_index_keys(const Coachq__V1__Observation *obs, const char *observer,
                          uint8_t keys[3][KEYS_INDEX_MAX], size_t klen[3])
{
    const char *ids[3];

    ids[0] = obs->coach_id;
    ids[1] = observer;
    ids[2] = obs->coachee_id;
    for (int i = 0; i < 3; i++) {
        if (ids[i] == NULL || keys_index_encode(keys[i], KEYS_INDEX_MAX, ids[i], strlen(ids[i]),
                                                obs->started_at, obs->id.data, &klen[i]) != 0) {
            return -EINVAL;
        }
    }
    return 0;
}

/* A code of cadence_count_session() as an LMDB code: the writer's abort
 * code turned back, memory as ENOMEM, the rest (a damaged count) EIO. */
static int obs_count_code(int rc)
{
    if (rc == 0) {
        return 0;
    }
    if (store_txn_is_abort(rc)) {
        return store_txn_abort_mdb(rc);
    }
    return rc == -ENOMEM ? ENOMEM : EIO;
}

/* Takes the superseded version's entries out of the indexes, so that lists
 * show the latest version of each observation, and its session out of the
 * coaching days' counts when it had a rep index entry (cadence.h). Returns
 * 0 or an LMDB code. */
static int obs_unindex(struct store_txn *t, const uint8_t prev[16])
{
    Coachq__V1__StoredObservation *old = NULL;
    MDB_dbi dbis[3] = {t->s->dbi_by_coach, t->s->dbi_by_observer, t->s->dbi_by_coachee};
    uint8_t keys[3][KEYS_INDEX_MAX];
    size_t klen[3];
    MDB_val k, v;
    uint64_t seq = 0;
    int rc;

    rc = obs_get_stored(t, prev, &v, &seq);
    if (rc != 0) {
        return rc;
    }
    rc = obs_codec_decode(t, v.mv_data, v.mv_size, NULL, "unindex", seq, &old);
    if (rc == -ENOMEM) {
        return ENOMEM;
    }
    if (rc != 0 || old->observation == NULL) {
        coachq__v1__stored_observation__free_unpacked(old, NULL);
        return MDB_CORRUPTED;
    }
    rc = 0;
    if (obs_index_keys(old->observation, old->observer_id, keys, klen) == 0) {
        for (int i = 0; i < 3 && rc == 0; i++) {
            k.mv_data = keys[i];
            k.mv_size = klen[i];
            rc = mdb_del(t->txn, dbis[i], &k, NULL);
            if (rc == 0 && dbis[i] == t->s->dbi_by_coachee) {
                rc = obs_count_code(cadence_count_session(t, old->observation->coachee_id,
                                                          old->observation->coach_id,
                                                          old->observation->started_at, -1));
            } else if (rc == MDB_NOTFOUND) {
                rc = 0;
            }
        }
    }
    coachq__v1__stored_observation__free_unpacked(old, NULL);
    return rc;
}

/* Puts the new version's index entries: a calibration attempt scores a
 * reference session, not a real coach, so only its observer's list shows
 * it. The rep's entry counts the session in the coaching days (cadence.h).
 * Returns 0 or an LMDB code. */
static int obs_index(struct store_txn *t, const Coachq__V1__Observation *obs,
                     uint8_t keys[3][KEYS_INDEX_MAX], const size_t klen[3])
{
    int calibration = obs->calibration_ref.len == KEYS_UUID_LEN;
    MDB_dbi dbis[3] = {t->s->dbi_by_coach, t->s->dbi_by_observer, t->s->dbi_by_coachee};
    int rc = 0;

    for (int i = 0; i < 3 && rc == 0; i++) {
        if (calibration && i != 1) {
            continue;
        }
        rc = obs_put_index(t, dbis[i], keys[i], klen[i]);
        if (rc == 0 && i == 2) {
            rc = obs_count_code(
                cadence_count_session(t, obs->coachee_id, obs->coach_id, obs->started_at, 1));
        }
    }
    return rc;
}

/* An audit entry's failure: an LMDB code that ends the attempt (the entry
 * must commit with what it describes), or logged and let go. */
static int obs_audit_fail(int rc, const char *subject)
{
    if (store_txn_is_abort(rc)) {
        return store_txn_abort_mdb(rc);
    }
    if (rc == -ENOMEM) {
        return ENOMEM;
    }
    if (rc != 0) {
        log_event(LOG_ERROR, "store_audit_failed", "subject=%s rc=%d", subject, rc);
    }
    return 0;
}

/* Writes the audit entry of a stored observation: it names the record by
 * sequence number, and the log's readers get its text from the record
 * (obs_audit_text_txn()), so nothing is formatted here. Returns 0 or an
 * LMDB code. */
static int obs_audit(struct store_txn *t, const struct store_write *w,
                     const Coachq__V1__Observation *obs, uint64_t seq)
{
    char subject[40] = "";
    int rc;

    rc = audit_append_record(t, w->received_at_ms, w->origin, seq, NULL);
    if (rc != 0) {
        uuid_format(obs->id.data, subject);
    }
    return obs_audit_fail(rc, subject);
}

/* Writes the audit entry of a calibration attempt the exam's limits
 * refused. Returns 0 or an LMDB code; *wrote is set once it is put. */
static int obs_audit_refused(struct store_txn *t, const struct store_write *w,
                             const Coachq__V1__Observation *obs, int *wrote)
{
    char subject[40];
    int rc;

    uuid_format(obs->calibration_ref.data, subject);
    rc = audit_append(t, w->received_at_ms, w->observer_id, "calibrate.refused", subject,
                      w->fault.message, w->origin, NULL);
    if (rc == 0) {
        *wrote = 1;
    }
    return obs_audit_fail(rc, subject);
}

/* Checks obs against the organisation (rules.h). A refusal is w's answer
 * (w->rc, w->fault); a refused calibration attempt is audited all the same,
 * since a lead reads attempts against the exam's limits there. Returns 0 or
 * an LMDB code. */
static int obs_check(struct store_txn *t, struct store_write *w, const Coachq__V1__Observation *obs,
                     struct rules_amend *amend, int *wrote)
{
    int rc;

    rc = rules_check_observation(t, w->observer_id, obs, w->received_at_ms, &t->s->policy, amend,
                                 &w->fault);
    if (store_txn_is_abort(rc)) {
        return store_txn_abort_mdb(rc);
    }
    if (rc == 0) {
        return 0;
    }
    w->rc = rc;
    if (obs->calibration_ref.len == KEYS_UUID_LEN &&
        w->fault.code == COACHQ__V1__CODE__RESOURCE_EXHAUSTED) {
        return obs_audit_refused(t, w, obs, wrote);
    }
    return 0;
}

/* Puts the record rec under its sequence number and its id in the id
 * index, its entry in the version chain, and its index entries in place of
 * the superseded version's (prev, or NULL). The record is put in its stored
 * form (obs_codec.h). Returns 0 or an LMDB code; *wrote is set once
 * anything is put. */
static int obs_put(struct store_txn *t, const Coachq__V1__StoredObservation *rec,
                   const uint8_t *prev, uint8_t keys[3][KEYS_INDEX_MAX], const size_t klen[3],
                   int *wrote)
{
    const Coachq__V1__Observation *obs = rec->observation;
    Coachq__V1__StoredObservation rest = *rec;
    struct obs_codec_obs enc;
    uint8_t vkey[KEYS_UUID_LEN + 4];
    uint8_t skey[8];
    size_t head, olen;
    MDB_val k, v;
    int rc;

    /* The observation in its stored form: its ratings name their
     * behaviours by place. */
    rc = obs_codec_observation(t, obs, &enc);
    if (rc != 0) {
        obs_codec_release(&enc);
        return rc == -ENOMEM ? ENOMEM : store_txn_is_abort(rc) ? store_txn_abort_mdb(rc) : EIO;
    }
    /* The observation is field 1, which protobuf-c packs first: its tag,
     * its length and its bytes, packed straight into the record's page. The
     * rest follows, packed as usual. So the record is what packing the
     * stored form of rec would make (test_store checks the bytes). */
    rest.observation = NULL;
    olen = coachq__v1__observation__get_packed_size(&enc.obs);
    head = 1 + pbwire_varint_len(olen) + olen;
    keys_put_be64(skey, rec->seq);
    k.mv_data = skey;
    k.mv_size = sizeof(skey);
    v.mv_data = NULL;
    v.mv_size = head + coachq__v1__stored_observation__get_packed_size(&rest);
    /* The writer hands out sequence numbers in increasing order, so the
     * record goes after the last key: LMDB skips the search and fills its
     * pages fully (a number that is not greater fails with MDB_KEYEXIST).
     * MDB_RESERVE lets the record be written straight into its page. */
    rc = mdb_put(t->txn, t->s->dbi_obs, &k, &v, MDB_APPEND | MDB_RESERVE);
    if (rc != 0) {
        obs_codec_release(&enc);
        return rc;
    }
    *wrote = 1;
    {
        uint8_t *out = v.mv_data;
        size_t n = 1;

        out[0] = (1u << 3) | PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
        n += pbwire_varint_put(out + n, olen);
        coachq__v1__observation__pack(&enc.obs, out + n);
        coachq__v1__stored_observation__pack(&rest, out + head);
    }
    obs_codec_release(&enc);
    k.mv_data = obs->id.data;
    k.mv_size = KEYS_UUID_LEN;
    v.mv_data = skey;
    v.mv_size = sizeof(skey);
    /* Ids made in the order records arrive (a client's UUIDv7s) are
     * appended, without a search; an id already stored is refused as
     * before (obs_apply() looked first, so that would be damage). */
    rc = store_txn_put_tail(t, t->s->dbi_ids, &k, &v, MDB_NOOVERWRITE);
    if (rc != 0) {
        return rc;
    }

    memcpy(vkey, rec->root_id.data, KEYS_UUID_LEN);
    keys_put_be32(vkey + KEYS_UUID_LEN, rec->version);
    k.mv_data = vkey;
    k.mv_size = sizeof(vkey);
    v.mv_data = obs->id.data;
    v.mv_size = KEYS_UUID_LEN;
    rc = store_txn_put_tail(t, t->s->dbi_versions, &k, &v, 0);
    if (rc != 0) {
        return rc;
    }
    if (prev != NULL) {
        rc = obs_unindex(t, prev);
        if (rc != 0) {
            return rc;
        }
    }
    return obs_index(t, obs, keys, klen);
}

struct obs_calibration {
    const struct store_write *w;
    const Coachq__V1__Observation *obs;
};

static int obs_score_txn(struct store_txn *t, void *arg)
{
    const struct obs_calibration *c = arg;

    return certs_calibrate(t, c->w->observer_id, c->obs->calibration_ref.data, c->obs->id.data,
                           c->w->received_at_ms, &t->s->policy, NULL);
}

/* Logs a stored calibration attempt against the exam's limits and, when
 * the policy is enforced, scores it in a nested transaction: the attempt
 * stays stored even if scoring it fails (it is scored again with the
 * observer's next attempt). Returns 0 or an LMDB code. */
static int obs_calibrate(struct store_txn *t, const struct store_write *w,
                         const Coachq__V1__Observation *obs)
{
    struct obs_calibration c = {w, obs};
    int fn_rc;
    int rc;

    rc = certs_exam_log(t, w->observer_id, obs->calibration_ref.data, obs->id.data,
                        w->received_at_ms);
    if (store_txn_is_abort(rc)) {
        return store_txn_abort_mdb(rc);
    }
    if (rc != 0) {
        /* Ids were checked before, so only damage or memory gets here; an
         * attempt that is not logged must not be stored. */
        log_event(LOG_ERROR, "store_exam_log_failed", "observer=%s rc=%d", w->observer_id, rc);
        return rc == -ENOMEM ? ENOMEM : EIO;
    }
    if (!t->s->policy.enforce) {
        return 0;
    }
    rc = store_txn_nested(t, obs_score_txn, &c, &fn_rc);
    if (rc == 0 && fn_rc != 0) {
        log_event(LOG_ERROR, "store_calibrate_failed", "observer=%s rc=%d err=\"%s\"",
                  w->observer_id, fn_rc, error_strerror(fn_rc));
    }
    return rc;
}

/* What follows a stored version in the same transaction: its audit entry,
 * its aggregates and, for a calibration attempt, the exam. Returns 0 or an
 * LMDB code. */
static int obs_after_put(struct store_txn *t, const struct store_write *w,
                         const Coachq__V1__StoredObservation *rec, const uint8_t *prev)
{
    const Coachq__V1__Observation *obs = rec->observation;
    int rc;

    rc = obs_audit(t, w, obs, rec->seq);
    if (rc != 0) {
        return rc;
    }
    rc = agg_observation(t, rec, prev);
    if (store_txn_is_abort(rc)) {
        return store_txn_abort_mdb(rc);
    }
    if (rc != 0) {
        /* The record is already put in this transaction, so the attempt
         * must end rather than store it without its aggregates. Only a
         * stored record that no longer decodes gets here: corruption, which
         * the failure policy treats like an I/O error. */
        log_event(LOG_ERROR, "store_agg_failed", "seq=%" PRIu64 " rc=%d", rec->seq, rc);
        return rc == -ENOMEM ? ENOMEM : EIO;
    }
    rc = actions_observation(t, rec, prev);
    if (store_txn_is_abort(rc)) {
        return store_txn_abort_mdb(rc);
    }
    if (rc != 0) {
        /* As for the aggregates: the record must not be stored without
         * its action records. */
        log_event(LOG_ERROR, "store_actions_failed", "seq=%" PRIu64 " rc=%d", rec->seq, rc);
        return rc == -ENOMEM ? ENOMEM : EIO;
    }
    if (obs->calibration_ref.len == KEYS_UUID_LEN) {
        return obs_calibrate(t, w, obs);
    }
    return 0;
}

/* Which assignment obs fulfils (assign.h), before anything is put: a
 * refusal is w's answer. Returns 0 (then *found and match) or an LMDB code. */
static int obs_assignment(struct store_txn *t, struct store_write *w,
                          const Coachq__V1__Observation *obs, const struct rules_amend *amend,
                          uint8_t match[16], int *found)
{
    int amendment = amend->is_amendment || obs->amends.len != 0;
    int32_t session_day = 0;
    int32_t now_day = 0;
    int maybe = 0;
    int rc;

    *found = 0;
    /* Most records fulfil nothing: the zones are read only when an open
     * assignment could match. */
    rc = assign_match_candidate(t, w->observer_id, obs, amendment, &maybe);
    if (rc == 0 && !maybe) {
        return 0;
    }
    if (rc == 0) {
        /* Today as the window is kept: in the coach's zone, like the
         * session's day. */
        rc = assign_today(t, obs->coach_id, w->received_at_ms, &now_day);
        if (rc == 0) {
            rc = zone_session_day(t, obs, &session_day);
        }
        if (rc < 0 && !store_txn_is_abort(rc)) {
            session_day = (int32_t)(obs->started_at / 86400);
            rc = 0;
        }
    }
    if (rc == 0) {
        rc = assign_match(t, w->observer_id, obs, amendment,
                          amend->is_amendment ? amend->root : NULL, session_day, now_day, match,
                          found, &w->fault);
    }
    if (store_txn_is_abort(rc)) {
        return store_txn_abort_mdb(rc);
    }
    if (rc == ERROR_REFUSED) {
        w->rc = rc;
        return 0;
    }
    if (rc < 0) {
        log_event(LOG_ERROR, "store_assignment_failed", "rc=%d", rc);
        return rc == -ENOMEM ? ENOMEM : EIO;
    }
    return 0;
}

/* The decoded observation's memory: its fields are carved from one buffer
 * on the writer's stack instead of one malloc each, and what does not fit
 * (a large record) falls back to malloc, counted in spilled. Everything
 * decoded lives only while obs_apply() runs. */
#define OBS_ARENA_BYTES 32768u

struct obs_arena {
    size_t used;
    size_t spilled;
    max_align_t buf[OBS_ARENA_BYTES / sizeof(max_align_t)];
};

static void *obs_arena_alloc(void *data, size_t size)
{
    struct obs_arena *a = data;
    size_t align = sizeof(max_align_t);
    size_t n = (size + align - 1) / align * align;

    if (n >= size && n <= sizeof(a->buf) - a->used) {
        void *p = (char *)a->buf + a->used;

        a->used += n;
        return p;
    }
    a->spilled++;
    return malloc(size);
}

static void obs_arena_free(void *data, void *p)
{
    struct obs_arena *a = data;
    const char *lo = (const char *)a->buf;

    if ((const char *)p < lo || (const char *)p >= lo + sizeof(a->buf)) {
        free(p);
    }
}

/* The hook (store_apply_cb): applies one observation request inside the
 * batch's write transaction. Sets the request's tentative outcome (the
 * owner cannot see it before the batch is completed, and every failure path
 * of the batch overwrites it). */
static int obs_apply(struct store_txn *t, struct store_write *w, uint64_t *next_seq, int *wrote)
{
    Coachq__V1__Observation *obs = NULL;
    Coachq__V1__StoredObservation rec = COACHQ__V1__STORED_OBSERVATION__INIT;
    struct rules_amend amend;
    uint8_t keys[3][KEYS_INDEX_MAX];
    size_t klen[3];
    const uint8_t *prev;
    struct obs_arena arena;
    ProtobufCAllocator alloc = {obs_arena_alloc, obs_arena_free, &arena};
    MDB_val v;
    uint64_t seq = 0;
    uint8_t asg[16];
    int asg_found = 0;
    int rc = 0;

    memset(&amend, 0, sizeof(amend));
    arena.used = 0;
    arena.spilled = 0;
    obs = coachq__v1__observation__unpack(&alloc, w->obs_len, w->obs);
    if (obs == NULL || obs->id.len != KEYS_UUID_LEN || obs->id.data == NULL ||
        w->observer_id == NULL) {
        w->rc = -EINVAL;
        goto out;
    }
    rc = obs_get_stored(t, obs->id.data, &v, &seq);
    if (rc == 0) {
        obs_apply_existing(t, w, &v, seq);
        goto out;
    }
    if (rc != MDB_NOTFOUND) {
        goto out;
    }
    rc = 0;
    if (obs_index_keys(obs, w->observer_id, keys, klen) != 0) {
        w->rc = -EINVAL;
        goto out;
    }
    if (t->s->policy.enforce) {
        rc = obs_check(t, w, obs, &amend, wrote);
        if (rc != 0 || w->rc != 0) {
            goto out;
        }
    }
    rc = obs_assignment(t, w, obs, &amend, asg, &asg_found);
    if (rc != 0 || w->rc != 0) {
        goto out;
    }
    rec.observation = obs;
    rec.seq = *next_seq;
    rec.received_at_ms = w->received_at_ms;
    /* protobuf-c's field is not const; pack only reads it. */
    rec.observer_id = (char *)w->observer_id;
    rec.version = amend.is_amendment ? amend.version : 1;
    rec.root_id.data = amend.is_amendment ? amend.root : obs->id.data;
    rec.root_id.len = KEYS_UUID_LEN;
    prev = amend.is_amendment ? amend.previous : NULL;
    /* An amendment inherits it from the version it supersedes, which the
     * rules read (prev is set only when they ran). */
    rec.assigned = asg_found || obs->assignment_id.len == KEYS_UUID_LEN || amend.assigned;
    /* The coaching days' counts the record changes are merged over the
     * batch (cadence.h), like its aggregates and actions. */
    rc = obs_count_code(cadence_batch_begin(t));
    if (rc == 0) {
        rc = obs_put(t, &rec, prev, keys, klen, wrote);
    }
    if (rc == 0) {
        rc = obs_after_put(t, w, &rec, prev);
    }
    if (rc == 0 && asg_found) {
        /* In the record's own transaction: the assignment is done exactly
         * when the record is durable. */
        rc = assign_fulfil(t, asg, rec.root_id.data, w->received_at_ms);
        if (store_txn_is_abort(rc)) {
            rc = store_txn_abort_mdb(rc);
        } else if (rc != 0) {
            log_event(LOG_ERROR, "store_assignment_failed", "seq=%" PRIu64 " rc=%d", rec.seq, rc);
            rc = rc == -ENOMEM ? ENOMEM : EIO;
        }
    }
    if (rc != 0) {
        goto out;
    }
    (*next_seq)++;
    w->rc = 0;
    w->result = STORE_STORED;
    w->seq = rec.seq;
    w->version = rec.version;
    w->stored_at_ms = w->received_at_ms;
out:
    /* A record that fits the buffer leaves nothing to give back, and
     * walking its fields to free none of them cost 1% of the writer. */
    if (arena.spilled > 0) {
        coachq__v1__observation__free_unpacked(obs, &alloc);
    }
    return rc;
}

/* ---- Schema 6: records keyed by sequence number -------------------------- */

/* One record of the old obs database: its sequence number and id. */
struct obs_moved {
    uint64_t seq;
    uint8_t id[KEYS_UUID_LEN];
};

static int obs_moved_cmp(const void *a, const void *b)
{
    const struct obs_moved *x = a, *y = b;

    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Pass 1 of obs_migrate_seq(): walks the old database (in id order, so the
 * id index is appended to) and collects every record's sequence number
 * into *out / *n (caller owns, free()). Returns 0 or an LMDB code. */
static int obs_migrate_ids(struct store_txn *t, MDB_dbi old, struct obs_moved **out, size_t *n)
{
    MDB_cursor *cur = NULL, *ids = NULL;
    struct obs_moved *m = NULL;
    size_t cap = 0;
    uint8_t skey[8];
    MDB_val k, v, sv;
    int rc;

    *out = NULL;
    *n = 0;
    rc = mdb_cursor_open(t->txn, old, &cur);
    if (rc == 0) {
        rc = mdb_cursor_open(t->txn, t->s->dbi_ids, &ids);
    }
    if (rc == 0) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    }
    while (rc == 0) {
        Coachq__V1__StoredObservation *r;

        r = coachq__v1__stored_observation__unpack(NULL, v.mv_size, v.mv_data);
        if (k.mv_size != KEYS_UUID_LEN || r == NULL || r->seq == 0) {
            log_event(LOG_ERROR, "store_record_corrupt", "op=migrate key=%zu size=%zu", k.mv_size,
                      v.mv_size);
            coachq__v1__stored_observation__free_unpacked(r, NULL);
            rc = MDB_CORRUPTED;
            break;
        }
        if (*n == cap) {
            size_t grown = cap == 0 ? 1024 : cap * 2;
            struct obs_moved *g = realloc(m, grown * sizeof(*m));

            if (g == NULL) {
                coachq__v1__stored_observation__free_unpacked(r, NULL);
                rc = ENOMEM;
                break;
            }
            m = g;
            cap = grown;
        }
        m[*n].seq = r->seq;
        memcpy(m[*n].id, k.mv_data, KEYS_UUID_LEN);
        coachq__v1__stored_observation__free_unpacked(r, NULL);
        keys_put_be64(skey, m[*n].seq);
        sv.mv_data = skey;
        sv.mv_size = sizeof(skey);
        /* Ids come in key order into an index that is empty before the
         * move: each one goes after the last. */
        rc = mdb_cursor_put(ids, &k, &sv, MDB_APPEND);
        if (rc != 0) {
            break;
        }
        (*n)++;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND) {
        rc = 0;
    }
    if (ids != NULL) {
        mdb_cursor_close(ids);
    }
    if (cur != NULL) {
        mdb_cursor_close(cur);
    }
    if (rc != 0) {
        free(m);
        *n = 0;
        return rc;
    }
    *out = m;
    return 0;
}

/* Pass 2 of obs_migrate_seq(): copies the records m (sorted by sequence
 * number) from the old database, each appended under its number. Returns
 * 0 or an LMDB code. */
static int obs_migrate_records(struct store_txn *t, MDB_dbi old, const struct obs_moved *m,
                               size_t n)
{
    uint8_t skey[8];
    MDB_val k, v;
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i > 0 && m[i].seq == m[i - 1].seq) {
            log_event(LOG_ERROR, "store_record_corrupt", "op=migrate seq=%llu twice",
                      (unsigned long long)m[i].seq);
            return MDB_CORRUPTED;
        }
        k.mv_data = (void *)m[i].id;
        k.mv_size = KEYS_UUID_LEN;
        rc = mdb_get(t->txn, old, &k, &v);
        if (rc != 0) {
            break;
        }
        /* v is on a page of the old database, which nothing in this
         * transaction writes until it is dropped below. */
        keys_put_be64(skey, m[i].seq);
        k.mv_data = skey;
        k.mv_size = sizeof(skey);
        rc = mdb_put(t->txn, t->s->dbi_obs, &k, &v, MDB_APPEND);
    }
    return rc;
}

/*
 * Schema 6 keys the records by sequence number (obs.h): moves every record
 * of the old obs database (uuid(16) -> StoredObservation) to obs_seq in
 * sequence order, puts its id into obs_ids, and deletes the old database,
 * all in the upgrade's transaction (nothing changes unless all of it
 * commits). A store without the old database (a new one, or one already
 * moved) is left as it is, so running it again does nothing. Audit entries
 * written before keep the text they copied: the log is never rewritten,
 * and audit_list() reads both forms. Returns 0 or STORE_TXN_ABORT() of an
 * LMDB code.
 */
static int obs_migrate_seq(struct store_txn *t)
{
    struct obs_moved *m = NULL;
    size_t n = 0;
    MDB_dbi old;
    int rc;

    rc = mdb_dbi_open(t->txn, "obs", 0, &old);
    if (rc == MDB_NOTFOUND) {
        return 0;
    }
    if (rc == 0) {
        rc = obs_migrate_ids(t, old, &m, &n);
    }
    if (rc == 0) {
        qsort(m, n, sizeof(*m), obs_moved_cmp);
        rc = obs_migrate_records(t, old, m, n);
    }
    if (rc == 0) {
        rc = mdb_drop(t->txn, old, 1);
    }
    free(m);
    if (rc != 0) {
        return STORE_TXN_ABORT(rc);
    }
    log_event(LOG_INFO, "store_records_rekeyed", "records=%zu", n);
    return 0;
}

/*
 * Schema 8 keeps the agreed actions as records of their own (actions.h),
 * schema 9 adds their open index and follow-through counters:
 * they are derived from the stored observations' actions, replayed in
 * sequence order. Deriving starts from empty tables, so running it again
 * gives the same records. Returns 0 or a negative code.
 */
static int obs_migrate_actions(struct store_txn *t)
{
    uint64_t n = 0;
    int rc = actions_rebuild_txn(t, &n);

    if (rc == 0) {
        log_event(LOG_INFO, "store_actions_derived", "actions=%" PRIu64, n);
    }
    return rc;
}

/* Schema 12 stores each rating's behaviour by its place in the record's
 * rubric version (obs_codec.h): every record is rewritten in that form, in
 * the upgrade's transaction. Returns 0 or a negative code. */
static int obs_migrate_places(struct store_txn *t)
{
    uint64_t n = 0;
    int rc = obs_codec_migrate(t, &n);

    if (rc == 0) {
        log_event(LOG_INFO, "store_records_placed", "records=%" PRIu64, n);
    }
    return rc;
}

/* The schema hook (store_upgrade_cb), at every open (from_version 0: the
 * store's schema is current): the records of a store from before
 * schema 6 are keyed by sequence number (obs_migrate_seq()), then the
 * aggregates of a store from before schema 7 are rebuilt from its records
 * (agg.h): before 4 they missed scopes or counted double coding per pair,
 * before 7 values and contributions were protobuf messages; before 8 there
 * were no action records, and before 9 they had no open index nor
 * follow-through counters (obs_migrate_actions() derives them all); the
 * layout of the counters has a format of its own (actions_format_check()).
 * Before 11 there were no coaching days' counts: they are counted from the
 * rep index, and their layout has a format of its own too
 * (cadence_format_check()). Before 12 ratings named their behaviours by
 * id in the stored record: obs_migrate_places() names them by place. */
static int obs_upgrade(struct store_txn *t, uint32_t from_version)
{
    int rc = 0;
    int rebuilt = 0;
    int derived = 0;

    if (from_version != 0 && from_version < 6) {
        rc = obs_migrate_seq(t);
    }
    if (rc == 0 && from_version != 0 && from_version < 12) {
        rc = obs_migrate_places(t);
    }
    if (rc == 0 && from_version != 0 && from_version < 7) {
        rc = agg_rebuild_txn(t);
        rebuilt = rc == 0;
    }
    if (rc == 0) {
        rc = agg_format_check(t, rebuilt);
    }
    if (rc == 0 && from_version != 0 && from_version < 9) {
        rc = obs_migrate_actions(t);
        derived = rc == 0;
    }
    if (rc == 0) {
        rc = actions_format_check(t, derived);
    }
    if (rc == 0) {
        rc = cadence_format_check(t, from_version != 0 && from_version < 11);
    }
    return rc;
}

/* The discard hook (store_discard_cb): what the batch merged is dropped
 * unwritten, the aggregates', the actions' counters and the coaching
 * days' counts alike. */
static void obs_discard(struct store_txn *t)
{
    if (t->batch != NULL) {
        agg_batch_discard(t);
    }
    actions_batch_discard(t);
    cadence_batch_discard(t);
}

/* The flush hook (store_flush_cb): the aggregates, the actions' counters
 * and the coaching days' counts merged over the batch are written, with
 * their codes turned into the LMDB ones the engine acts on (a full map
 * grows and the batch is retried). Any may be unset: a batch whose records
 * do not count in the aggregates may still agree actions. */
static int obs_flush(struct store_txn *t)
{
    const char *what = "store_agg_flush_failed";
    int rc = 0;

    if (t->batch != NULL) {
        rc = agg_flush(t);
    }
    if (rc == 0) {
        what = "store_actions_flush_failed";
        rc = actions_flush(t);
    }
    if (rc == 0) {
        what = "store_cadence_flush_failed";
        rc = cadence_flush(t);
    }
    /* Whatever failed, the attempt ends and the rest is never written. */
    obs_discard(t);
    if (store_txn_is_abort(rc)) {
        return store_txn_abort_mdb(rc);
    }
    if (rc != 0) {
        /* A stored value that does not decode, or memory: like a put that
         * failed, the attempt ends. */
        log_event(LOG_ERROR, what, "rc=%d", rc);
        return rc == -ENOMEM ? ENOMEM : EIO;
    }
    return 0;
}

static const struct store_hooks obs_hooks = {
    .apply = obs_apply,
    .upgrade = obs_upgrade,
    .flush = obs_flush,
    .discard = obs_discard,
};

int store_open(const char *dir, const struct store_opts *opts, struct store **out)
{
    return store_open_hooks(dir, opts, &obs_hooks, out);
}
