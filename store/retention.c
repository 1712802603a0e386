/*
 * retention: the retention policy (retention.h). The version chains are
 * read first (obs_versions, one cursor), the affected observations noted
 * with their versions' ids, and only then changed, since LMDB cursors do
 * not follow a database that changes under them. Memory is proportional
 * to the affected versions.
 */
#include "retention.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "actions.h"
#include "agg.h"
#include "audit.h"
#include "cadence.h"
#include "day.h"
#include "erase.h"
#include "grow.h"
#include "keys.h"
#include "obs.h"
#include "obs_codec.h"
#include "store_int.h"
#include "zone.h"

/* The longest assignment index key (asg_open's). */
#define RET_KEY_MAX (2 + 2 * KEYS_ID_MAX + 4 + KEYS_UUID_LEN)

/* One affected observation: its versions' ids, oldest first. */
struct ret_obs {
    uint8_t root[KEYS_UUID_LEN];
    int32_t day;
    uint32_t n;
    uint8_t (*ids)[KEYS_UUID_LEN];
};

struct ret_ctx {
    struct store_txn *t;
    struct retention_request *r;
    /* The chain being read. */
    uint8_t root[KEYS_UUID_LEN];
    int have_root;
    uint8_t (*ids)[KEYS_UUID_LEN];
    uint32_t n;
    size_t cap;
    /* Affected so far. */
    struct ret_obs *v;
    size_t nv;
    size_t capv;
    /* Deleted records' sequence numbers, sorted before the audit pass. */
    uint64_t *seqs;
    size_t nseqs;
    size_t capseqs;
    uint8_t key[32]; /* the run's pseudonym key */
};

/* Decides on the chain in c (the latest version is its last id). */
static int chain_done(struct ret_ctx *c)
{
    Coachq__V1__StoredObservation *rec = NULL;
    const Coachq__V1__Observation *o;
    struct ret_obs *ro;
    int32_t day;
    int rc;

    if (!c->have_root || c->n == 0) {
        return 0;
    }
    rc = obs_read_txn(c->t, c->ids[c->n - 1], &rec);
    if (rc == -ENOENT) {
        rc = 0; /* a chain without its record: nothing of it to keep or remove */
        goto out;
    }
    if (rc != 0) {
        goto out;
    }
    o = rec->observation;
    if (o == NULL || o->calibration_ref.len == KEYS_UUID_LEN) {
        goto out;
    }
    /* The session date as everywhere else: in the coach's time zone. */
    rc = zone_session_day(c->t, o, &day);
    if (rc != 0) {
        goto out;
    }
    if (day >= c->r->before_day) {
        goto out;
    }
    if (c->r->anonymise && o->coach_id != NULL && o->coachee_id != NULL &&
        strncmp(o->coach_id, RETENTION_ANON_PREFIX, strlen(RETENTION_ANON_PREFIX)) == 0 &&
        strncmp(o->coachee_id, RETENTION_ANON_PREFIX, strlen(RETENTION_ANON_PREFIX)) == 0) {
        c->r->skipped++;
        goto out;
    }
    rc = GROW_ARRAY(c->v, c->capv, c->nv + 1, 64);
    if (rc < 0) {
        goto out;
    }
    ro = &c->v[c->nv];
    memcpy(ro->root, c->root, KEYS_UUID_LEN);
    ro->day = day;
    ro->n = c->n;
    ro->ids = malloc((size_t)c->n * KEYS_UUID_LEN);
    rc = -ENOMEM;
    if (ro->ids == NULL) {
        goto out;
    }
    memcpy(ro->ids, c->ids, (size_t)c->n * KEYS_UUID_LEN);
    c->nv++;
    c->r->observations++;
    c->r->versions += c->n;
    rc = 0;
out:
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    c->n = 0;
    c->have_root = 0;
    return rc;
}

/* obs_versions: root(16) + be32 version -> uuid(16), chains in order. */
static int chain_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct ret_ctx *c = arg;
    int rc;

    if (klen != KEYS_UUID_LEN + 4 || vlen != KEYS_UUID_LEN) {
        return -EIO;
    }
    if (c->have_root && memcmp(c->root, key, KEYS_UUID_LEN) != 0) {
        rc = chain_done(c);
        if (rc != 0) {
            return rc;
        }
    }
    if (!c->have_root) {
        memcpy(c->root, key, KEYS_UUID_LEN);
        c->have_root = 1;
    }
    if (GROW_ARRAY(c->ids, c->cap, (size_t)c->n + 1, 8) < 0) {
        return -ENOMEM;
    }
    memcpy(c->ids[c->n++], val, KEYS_UUID_LEN);
    return 0;
}

/* Deletes (put 0; absent ones are no change) or puts (put 1) the record's
 * three index entries; only the latest version of an observation has
 * them. */
static int index_entries(struct store_txn *t, const Coachq__V1__StoredObservation *rec, int put)
{
    const Coachq__V1__Observation *o = rec->observation;
    const char *ids[3] = {o->coach_id, rec->observer_id, o->coachee_id};
    MDB_dbi dbis[3] = {t->s->dbi_by_coach, t->s->dbi_by_observer, t->s->dbi_by_coachee};
    uint8_t key[KEYS_INDEX_MAX];
    size_t klen;
    int rc = 0;

    for (int i = 0; i < 3 && rc == 0; i++) {
        if (ids[i] == NULL || keys_index_encode(key, sizeof(key), ids[i], strlen(ids[i]),
                                                o->started_at, o->id.data, &klen) != 0) {
            if (put) {
                return -EIO;
            }
            continue;
        }
        rc = put ? store_txn_put_raw(t, dbis[i], key, klen, "", 0, NULL)
                 : store_txn_del(t, dbis[i], key, klen);
    }
    return rc;
}

/* The pseudonym of person id in the session of o: "anon-" and 8 hex
 * digits of SHA-256(run key, id, NUL, started_at). Replaces *pp. */
static int anon_id(const struct ret_ctx *c, const Coachq__V1__Observation *o, char **pp)
{
    uint8_t buf[32 + 65 + 8];
    uint8_t md[SHA256_DIGEST_LENGTH];
    size_t len, n = 0;
    char *next;

    if (*pp == NULL || (*pp)[0] == '\0') {
        return 0;
    }
    len = strlen(*pp);
    if (len > 64) {
        return -EIO;
    }
    memcpy(buf, c->key, sizeof(c->key));
    n = sizeof(c->key);
    memcpy(buf + n, *pp, len + 1);
    n += len + 1;
    keys_time_encode(o->started_at, buf + n);
    n += KEYS_TIME_LEN;
    SHA256(buf, n, md);
    OPENSSL_cleanse(buf, sizeof(buf));
    next = malloc(sizeof(RETENTION_ANON_PREFIX) + 8);
    if (next == NULL) {
        return -ENOMEM;
    }
    snprintf(next, sizeof(RETENTION_ANON_PREFIX) + 8, RETENTION_ANON_PREFIX "%02x%02x%02x%02x",
             md[0], md[1], md[2], md[3]);
    free(*pp);
    *pp = next;
    return 0;
}

/* Anonymises one version in place (latest: it is the one indexed). */
static int anonymise_one(struct ret_ctx *c, uint64_t seq, Coachq__V1__StoredObservation *rec,
                         int latest)
{
    Coachq__V1__Observation *o = rec->observation;
    struct erase_walk w;
    uint8_t skey[8];
    uint8_t *packed = NULL;
    size_t n;
    int rc;

    rc = index_entries(c->t, rec, 0);
    memset(&w, 0, sizeof(w));
    w.blank = 1;
    if (rc == 0) {
        rc = erase_walk_msg(&rec->base, &w);
    }
    if (rc == 0) {
        rc = anon_id(c, o, &o->coach_id);
    }
    if (rc == 0) {
        rc = anon_id(c, o, &o->coachee_id);
    }
    for (size_t i = 0; rc == 0 && i < o->n_actions; i++) {
        rc = anon_id(c, o, &o->actions[i]->owner_id);
    }
    if (rc != 0) {
        return rc;
    }
    /* The assignment it fulfilled names the manager: the link goes (and the
     * assignment's own, ret_assignments()). The record's "assigned" stays:
     * it names nobody, and the assigned-only figures keep counting it
     * (agg.h, AGG_ASSIGNED). */
    free(o->assignment_id.data);
    o->assignment_id.data = NULL;
    o->assignment_id.len = 0;
    /* Back in the stored form (obs_codec.h). */
    rc = obs_codec_pack(c->t, rec, &packed, &n);
    if (rc != 0) {
        return rc;
    }
    keys_put_be64(skey, seq);
    rc = store_txn_put_raw(c->t, c->t->s->dbi_obs, skey, sizeof(skey), packed, n, NULL);
    free(packed);
    if (rc == 0 && latest) {
        rc = index_entries(c->t, rec, 1);
    }
    return rc;
}

/* Deletes one version: record, id, chain entry, index entries and
 * aggregate contribution. */
static int delete_one(const struct ret_ctx *c, uint64_t seq,
                      const Coachq__V1__StoredObservation *rec, const uint8_t root[KEYS_UUID_LEN],
                      uint32_t version)
{
    struct store_txn *t = c->t;
    const uint8_t *id = rec->observation->id.data;
    uint8_t vkey[KEYS_UUID_LEN + 4];
    uint8_t skey[8];
    int rc;

    memcpy(vkey, root, KEYS_UUID_LEN);
    keys_put_be32(vkey + KEYS_UUID_LEN, version);
    keys_put_be64(skey, seq);
    rc = index_entries(t, rec, 0);
    if (rc == 0) {
        rc = store_txn_del(t, t->s->dbi_obs, skey, sizeof(skey));
    }
    if (rc == 0) {
        rc = store_txn_del(t, t->s->dbi_ids, id, KEYS_UUID_LEN);
    }
    if (rc == 0) {
        rc = store_txn_del(t, t->s->dbi_versions, vkey, sizeof(vkey));
    }
    if (rc == 0) {
        rc = store_txn_del(t, t->s->dbi_agg_contrib, id, KEYS_UUID_LEN);
    }
    return rc;
}

static int apply_one(struct ret_ctx *c, const struct ret_obs *ro)
{
    int rc = 0;

    for (uint32_t i = 0; i < ro->n && rc == 0; i++) {
        Coachq__V1__StoredObservation *rec = NULL;
        uint64_t seq;

        rc = obs_seq_txn(c->t, ro->ids[i], &seq);
        if (rc == 0) {
            rc = obs_read_seq_txn(c->t, seq, &rec);
        }
        if (rc == -ENOENT) {
            rc = 0; /* a chain entry without its record: only the entry goes */
            continue;
        }
        if (rc == 0 && (rec->observation == NULL || rec->observation->id.len != KEYS_UUID_LEN)) {
            rc = -EIO;
        }
        if (rc == 0 && c->r->anonymise) {
            rc = anonymise_one(c, seq, rec, i + 1 == ro->n);
        } else if (rc == 0) {
            rc = delete_one(c, seq, rec, ro->root, rec->version != 0 ? rec->version : i + 1);
        }
        coachq__v1__stored_observation__free_unpacked(rec, NULL);
    }
    return rc;
}

static int seq_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

struct audit_fix {
    struct ret_ctx *c;
    uint64_t *keys; /* entries to rewrite, by number */
    uint64_t *rseq;
    size_t n;
    size_t cap;
};

static int audit_find(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct audit_fix *f = arg;
    Coachq__V1__AuditEntry *e;
    int rc = 0;

    if (klen != 8) {
        return -EIO;
    }
    e = coachq__v1__audit_entry__unpack(NULL, vlen, val);
    if (e == NULL) {
        return -EIO;
    }
    if (e->record_seq != 0 &&
        bsearch(&e->record_seq, f->c->seqs, f->c->nseqs, sizeof(uint64_t), seq_cmp) != NULL) {
        if (f->n == f->cap) {
            size_t cap = f->cap ? f->cap * 2 : 64;
            uint64_t *nk = realloc(f->keys, cap * sizeof(*nk));
            uint64_t *ns = nk != NULL ? realloc(f->rseq, cap * sizeof(*ns)) : NULL;

            if (nk != NULL) {
                f->keys = nk;
            }
            if (ns == NULL) {
                rc = -ENOMEM;
                goto out;
            }
            f->rseq = ns;
            f->cap = cap;
        }
        f->keys[f->n] = keys_get_be64(key);
        f->rseq[f->n++] = e->record_seq;
    }
out:
    coachq__v1__audit_entry__free_unpacked(e, NULL);
    return rc;
}

/* The audit entries that name a record about to be deleted keep who did
 * what and when, in their own words: a reference would name nothing. */
static int audit_rewrite(struct ret_ctx *c)
{
    struct audit_fix f;
    int rc;

    memset(&f, 0, sizeof(f));
    f.c = c;
    qsort(c->seqs, c->nseqs, sizeof(uint64_t), seq_cmp);
    rc = store_txn_scan(c->t, c->t->s->dbi_audit, NULL, 0, 0, audit_find, &f);
    for (size_t i = 0; rc == 0 && i < f.n; i++) {
        Coachq__V1__AuditEntry *e = NULL;
        struct obs_audit_text text;
        uint8_t key[8];
        char detail[80];
        uint8_t *packed = NULL;
        size_t n;

        keys_put_be64(key, f.keys[i]);
        rc = store_txn_get_msg(c->t, c->t->s->dbi_audit, key, sizeof(key),
                               &coachq__v1__audit_entry__descriptor, (ProtobufCMessage **)&e);
        if (rc == 0) {
            rc = obs_audit_text_txn(c->t, f.rseq[i], &text);
        }
        if (rc == 0) {
            snprintf(detail, sizeof(detail), "seq=%" PRIu64 " (removed by the retention policy)",
                     f.rseq[i]);
            e->record_seq = 0;
            e->actor = text.actor;
            e->action = text.action;
            e->subject = text.subject;
            e->detail = detail;
            n = coachq__v1__audit_entry__get_packed_size(e);
            packed = malloc(n > 0 ? n : 1);
            rc = packed == NULL ? -ENOMEM : 0;
        }
        if (rc == 0) {
            coachq__v1__audit_entry__pack(e, packed);
            rc = store_txn_put_raw(c->t, c->t->s->dbi_audit, key, sizeof(key), packed, n, NULL);
        }
        if (e != NULL) {
            /* The strings put in are the stack's; the decoded ones were
             * empty (a reference entry holds no text) and are let go. */
            e->actor = e->action = e->subject = e->detail = NULL;
            coachq__v1__audit_entry__free_unpacked(e, NULL);
        }
        free(packed);
        c->r->audit++;
    }
    free(f.keys);
    free(f.rseq);
    return rc;
}

/* ---- Assignments and draws ------------------------------------------------ */

/* Keys noted during a scan, deleted after it. */
struct ret_keys {
    uint8_t (*k)[RET_KEY_MAX];
    size_t *len;
    size_t n;
    size_t cap;
};

static int ret_keys_add(struct ret_keys *l, const uint8_t *key, size_t klen)
{
    if (klen > RET_KEY_MAX) {
        return -EIO;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        uint8_t(*nk)[RET_KEY_MAX] = realloc(l->k, cap * sizeof(*nk));
        size_t *nl = nk != NULL ? realloc(l->len, cap * sizeof(*nl)) : NULL;

        if (nk != NULL) {
            l->k = nk;
        }
        if (nl == NULL) {
            return -ENOMEM;
        }
        l->len = nl;
        l->cap = cap;
    }
    memcpy(l->k[l->n], key, klen);
    l->len[l->n++] = klen;
    return 0;
}

static void ret_keys_free(struct ret_keys *l)
{
    free(l->k);
    free(l->len);
    memset(l, 0, sizeof(*l));
}

static int ret_keys_del(struct store_txn *t, MDB_dbi dbi, const struct ret_keys *l)
{
    int rc = 0;

    for (size_t i = 0; i < l->n && rc == 0; i++) {
        rc = store_txn_del(t, dbi, l->k[i], l->len[i]);
    }
    return rc;
}

static int uuid_cmp(const void *a, const void *b)
{
    return memcmp(a, b, KEYS_UUID_LEN);
}

static int root_cmp(const void *key, const void *elem)
{
    return memcmp(key, ((const struct ret_obs *)elem)->root, KEYS_UUID_LEN);
}

struct ret_asg {
    struct ret_ctx *c;
    struct ret_keys del;   /* assignments' ids to delete (sorted before use) */
    struct ret_keys clear; /* fulfilled by an affected observation: the link goes */
    struct ret_keys idx;   /* index entries of deleted ones */
};

static int ret_asg_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct ret_asg *ra = arg;
    Coachq__V1__Assignment *a;
    int rc = 0;

    if (klen != KEYS_UUID_LEN) {
        return -EIO;
    }
    a = coachq__v1__assignment__unpack(NULL, vlen, val);
    if (a == NULL) {
        return -EIO;
    }
    if (a->due_until_day < ra->c->r->before_day) {
        rc = ret_keys_add(&ra->del, key, klen);
    } else if (a->observation_id.len == KEYS_UUID_LEN &&
               bsearch(a->observation_id.data, ra->c->v, ra->c->nv, sizeof(*ra->c->v), root_cmp) !=
                   NULL) {
        rc = ret_keys_add(&ra->clear, key, klen);
    }
    coachq__v1__assignment__free_unpacked(a, NULL);
    return rc;
}

/* asg_open and asg_by_manager keys end with the assignment's id. */
static int ret_idx_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct ret_asg *ra = arg;

    (void)val;
    (void)vlen;
    if (klen < KEYS_UUID_LEN) {
        return -EIO;
    }
    if (bsearch(key + klen - KEYS_UUID_LEN, ra->del.k, ra->del.n, sizeof(*ra->del.k), uuid_cmp) ==
        NULL) {
        return 0;
    }
    return ret_keys_add(&ra->idx, key, klen);
}

static int ret_draw_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct ret_asg *ra = arg;
    Coachq__V1__AssignmentDraw *d = coachq__v1__assignment_draw__unpack(NULL, vlen, val);
    int rc = 0;

    if (d == NULL) {
        return -EIO;
    }
    if (d->due_until_day < ra->c->r->before_day) {
        rc = ret_keys_add(&ra->idx, key, klen);
    }
    coachq__v1__assignment_draw__free_unpacked(d, NULL);
    return rc;
}

/* Clears the observation id of assignment key (it stays done). */
static int ret_asg_unlink(struct store_txn *t, const uint8_t *key)
{
    Coachq__V1__Assignment *a = NULL;
    int rc;

    rc = store_txn_get_msg(t, t->s->dbi_asg, key, KEYS_UUID_LEN,
                           &coachq__v1__assignment__descriptor, (ProtobufCMessage **)&a);
    if (rc == 0) {
        free(a->observation_id.data);
        a->observation_id.data = NULL;
        a->observation_id.len = 0;
        rc = store_txn_put_msg(t, t->s->dbi_asg, key, KEYS_UUID_LEN, &a->base, NULL);
    }
    coachq__v1__assignment__free_unpacked(a, NULL);
    return rc;
}

/*
 * The cut-off applies to the observation programme too: every assignment
 * (any status) and every draw whose window ended before the cut-off day is
 * deleted with its index entries, and an assignment (of a later window)
 * that an affected observation fulfilled loses its observation id, so no
 * assignment maps an anonymised or deleted record back to its manager.
 * c->v is in root order (the version chains are).
 */
static int ret_assignments(struct ret_ctx *c)
{
    struct store_txn *t = c->t;
    struct ret_asg ra;
    int rc;

    memset(&ra, 0, sizeof(ra));
    ra.c = c;
    rc = store_txn_scan(t, t->s->dbi_asg, NULL, 0, 0, ret_asg_one, &ra);
    if (rc == 0 && ra.del.n > 0) {
        /* Every index of assignments ends in the assignment's id. */
        const MDB_dbi idx[] = {t->s->dbi_asg_open, t->s->dbi_asg_by_manager, t->s->dbi_asg_due,
                               t->s->dbi_asg_obs_due};

        /* Scanned in key order: already sorted. */
        for (size_t i = 0; rc == 0 && i < sizeof(idx) / sizeof(idx[0]); i++) {
            ra.idx.n = 0;
            rc = store_txn_scan(t, idx[i], NULL, 0, 0, ret_idx_one, &ra);
            if (rc == 0) {
                rc = ret_keys_del(t, idx[i], &ra.idx);
            }
        }
        if (rc == 0) {
            rc = ret_keys_del(t, t->s->dbi_asg, &ra.del);
        }
    }
    for (size_t i = 0; rc == 0 && i < ra.clear.n; i++) {
        rc = ret_asg_unlink(t, ra.clear.k[i]);
    }
    ra.idx.n = 0;
    if (rc == 0) {
        rc = store_txn_scan(t, t->s->dbi_asg_draws, NULL, 0, 0, ret_draw_one, &ra);
    }
    if (rc == 0) {
        rc = ret_keys_del(t, t->s->dbi_asg_draws, &ra.idx);
    }
    c->r->assignments = ra.del.n;
    c->r->unlinked = ra.clear.n;
    c->r->draws = ra.idx.n;
    ret_keys_free(&ra.del);
    ret_keys_free(&ra.clear);
    ret_keys_free(&ra.idx);
    return rc;
}

int retention_txn(struct store_txn *t, struct retention_request *r)
{
    struct ret_ctx *c;
    char detail[300], day[16];
    int rc;

    r->observations = r->versions = r->skipped = r->audit = 0;
    r->assignments = r->unlinked = r->draws = 0;
    if (!t->write) {
        return -EROFS;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return -ENOMEM;
    }
    c->t = t;
    c->r = r;
    rc = RAND_bytes(c->key, sizeof(c->key)) == 1 ? 0 : -EIO;
    if (rc == 0) {
        rc = store_txn_scan(t, t->s->dbi_versions, NULL, 0, 0, chain_one, c);
    }
    if (rc == 0) {
        rc = chain_done(c);
    }
    for (size_t i = 0; rc == 0 && i < c->nv; i++) {
        if (r->each != NULL) {
            rc = r->each(c->v[i].root, c->v[i].day, c->v[i].n, r->each_arg);
        }
        if (rc == 0 && !r->anonymise) {
            /* Noted first, so that the audit pass can still read them. */
            for (uint32_t k = 0; k < c->v[i].n && rc == 0; k++) {
                uint64_t seq;

                if (obs_seq_txn(t, c->v[i].ids[k], &seq) != 0) {
                    continue;
                }
                if (GROW_ARRAY(c->seqs, c->capseqs, c->nseqs + 1, 64) < 0) {
                    rc = -ENOMEM;
                    break;
                }
                c->seqs[c->nseqs++] = seq;
            }
        }
    }
    if (rc == 0 && c->nseqs > 0) {
        rc = audit_rewrite(c);
    }
    if (rc == 0) {
        rc = ret_assignments(c);
    }
    for (size_t i = 0; rc == 0 && i < c->nv; i++) {
        rc = apply_one(c, &c->v[i]);
    }
    if (rc == 0 && c->nv > 0) {
        rc = agg_rebuild_txn(t);
    }
    if (rc == 0 && c->nv > 0) {
        /* Sessions left the rep index, or moved to pseudonyms. */
        rc = cadence_rebuild_txn(t, NULL);
    }
    if (rc == 0 && c->nv > 0) {
        /* The action records copy from the records: derived again from
         * what is left. */
        rc = actions_rebuild_txn(t, NULL);
    }
    if (rc == 0) {
        day_format(r->before_day, day, sizeof(day));
        snprintf(detail, sizeof(detail),
                 "policy=%s; sessions before %s; observations=%" PRIu64 "; versions=%" PRIu64
                 "; skipped=%" PRIu64 "; audit=%" PRIu64 "; assignments=%" PRIu64
                 "; unlinked=%" PRIu64 "; draws=%" PRIu64,
                 r->policy != NULL ? r->policy : "-", day, r->observations, r->versions, r->skipped,
                 r->audit, r->assignments, r->unlinked, r->draws);
        rc = audit_append(t, r->now_ms, r->actor,
                          r->anonymise ? "retention.anonymise" : "retention.delete", "observations",
                          detail, r->origin, NULL);
    }
    for (size_t i = 0; i < c->nv; i++) {
        free(c->v[i].ids);
    }
    free(c->v);
    free(c->ids);
    free(c->seqs);
    OPENSSL_cleanse(c->key, sizeof(c->key));
    free(c);
    return rc;
}
