/* rubrics: versioned rubrics in the store (see rubrics.h). */
#include "rubrics.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "obs_codec.h"
#include "store_int.h"

/* Builds the key id + be32 version. Returns 0 or -EINVAL (no id, or an id
 * longer than KEYS_ID_MAX). */
static int rubrics_key(struct keys_buf *k, const char *id, uint32_t version)
{
    keys_buf_reset(k);
    keys_buf_id(k, id);
    keys_buf_u32(k, version);
    return k->err != 0 ? -EINVAL : 0;
}

/*
 * Packs r with added_at_ms set to 0 into *out (caller owns, free()) and its
 * length into *len. The load time is not content: loading the same file twice
 * must not count as a change. Returns 0 or -ENOMEM.
 */
static int rubrics_pack_content(const Coachq__V1__Rubric *r, uint8_t **out, size_t *len)
{
    Coachq__V1__Rubric copy = *r;
    size_t n;

    /* A shallow copy: pack only reads the fields it shares with r. */
    copy.added_at_ms = 0;
    n = coachq__v1__rubric__get_packed_size(&copy);
    *out = malloc(n > 0 ? n : 1);
    if (*out == NULL) {
        return -ENOMEM;
    }
    *len = coachq__v1__rubric__pack(&copy, *out);
    return 0;
}

/* Tells whether a and b hold the same content, added_at_ms aside. Returns 1,
 * 0 or -ENOMEM. */
static int rubrics_same_content(const Coachq__V1__Rubric *a, const Coachq__V1__Rubric *b)
{
    uint8_t *pa = NULL;
    uint8_t *pb = NULL;
    size_t la = 0;
    size_t lb = 0;
    int rc;

    rc = rubrics_pack_content(a, &pa, &la);
    if (rc != 0) {
        goto out;
    }
    rc = rubrics_pack_content(b, &pb, &lb);
    if (rc != 0) {
        goto out;
    }
    rc = la == lb && memcmp(pa, pb, la) == 0;
out:
    free(pa);
    free(pb);
    return rc;
}

/* Tells whether two behaviours of one id mean the same: the same definition
 * and the same four anchors. Names and indicators may change (they help
 * observers see the behaviour; they do not redefine what is scored). Sets
 * *what to the part that differs. */
static int rubrics_same_meaning(const Coachq__V1__Behaviour *a, const Coachq__V1__Behaviour *b,
                                const char **what)
{
    const char *da = a->definition != NULL ? a->definition : "";
    const char *db = b->definition != NULL ? b->definition : "";

    if (strcmp(da, db) != 0) {
        *what = "another definition";
        return 0;
    }
    if (a->n_anchors != b->n_anchors) {
        *what = "other anchors";
        return 0;
    }
    for (size_t i = 0; i < a->n_anchors; i++) {
        const char *xa = a->anchors[i] != NULL ? a->anchors[i] : "";
        const char *xb = b->anchors[i] != NULL ? b->anchors[i] : "";

        if (strcmp(xa, xb) != 0) {
            *what = "other anchors";
            return 0;
        }
    }
    return 1;
}

struct rubrics_meaning {
    const Coachq__V1__Rubric *r;
    size_t klen;
    struct rubrics_conflict *out;
    int found;
};

static int rubrics_meaning_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                              void *arg)
{
    struct rubrics_meaning *m = arg;
    Coachq__V1__Rubric *old;

    (void)key;
    if (klen != m->klen) {
        return 0;
    }
    old = coachq__v1__rubric__unpack(NULL, vlen, val);
    if (old == NULL) {
        return -EIO;
    }
    /* Who coaches is part of what the rubric scores: the rules, the
     * aggregates and the dashboards read it per rubric id. */
    if (old->version != m->r->version &&
        (old->coach_role == COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER) !=
            (m->r->coach_role == COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER)) {
        m->found = 1;
        m->out->coach_role = 1;
        m->out->version = old->version;
        m->out->what = "another coach";
    }
    if (old->version != m->r->version && !m->found) {
        for (size_t i = 0; i < m->r->n_behaviours && !m->found; i++) {
            const Coachq__V1__Behaviour *nb = m->r->behaviours[i];
            const Coachq__V1__Behaviour *ob = rubrics_behaviour(old, nb->id);
            const char *what = "";

            if (ob != NULL && !rubrics_same_meaning(ob, nb, &what)) {
                m->found = 1;
                snprintf(m->out->behaviour, sizeof(m->out->behaviour), "%s", nb->id);
                m->out->index = i;
                m->out->version = old->version;
                m->out->what = what;
            }
        }
    }
    coachq__v1__rubric__free_unpacked(old, NULL);
    return m->found ? 1 : 0;
}

int rubrics_meaning_conflict(struct store_txn *t, const Coachq__V1__Rubric *r,
                             struct rubrics_conflict *out)
{
    struct rubrics_meaning m;
    struct keys_buf k;
    int rc;

    memset(out, 0, sizeof(*out));
    out->what = "";
    if (r == NULL || rubrics_key(&k, r->id, 0) != 0) {
        return -EINVAL;
    }
    m.r = r;
    m.klen = k.len;
    m.out = out;
    m.found = 0;
    rc = store_txn_scan(t, t->s->dbi_rubrics, k.b, k.len - 4, 0, rubrics_meaning_cb, &m);
    if (rc < 0) {
        return rc;
    }
    return m.found;
}

int rubrics_put(struct store_txn *t, const Coachq__V1__Rubric *r, int *changed)
{
    struct rubrics_conflict conflict;
    Coachq__V1__Rubric *old = NULL;
    struct keys_buf k;
    int rc;

    if (changed != NULL) {
        *changed = 0;
    }
    if (r == NULL || r->version == 0 || rubrics_key(&k, r->id, r->version) != 0) {
        return -EINVAL;
    }
    /* Checked first so that a read transaction fails the same way whether
     * or not the version is already stored. */
    if (!t->write) {
        return -EROFS;
    }
    rc = store_txn_get_msg(t, t->s->dbi_rubrics, k.b, k.len, &coachq__v1__rubric__descriptor,
                           (ProtobufCMessage **)&old);
    if (rc == 0) {
        rc = rubrics_same_content(old, r);
        if (rc == 1) {
            rc = 0;
        } else if (rc == 0) {
            /* Observations scored against this version must keep its
             * meaning: a changed rubric is a new version. */
            rc = -EEXIST;
        }
        goto out;
    }
    if (rc != -ENOENT) {
        goto out;
    }
    /* Aggregates are kept per behaviour id across versions: an id must keep
     * its meaning, or old and new scores would be averaged as one. */
    rc = rubrics_meaning_conflict(t, r, &conflict);
    if (rc != 0) {
        rc = rc > 0 ? -EILSEQ : rc;
        goto out;
    }
    /* What the codec read of this version in an abandoned attempt goes
     * (obs_codec.h): from this commit on, the version is the one stored. */
    obs_codec_forget(t->s, r->id, r->version);
    t->rubric_put = 1;
    rc = store_txn_put_msg(t, t->s->dbi_rubrics, k.b, k.len, &r->base, NULL);
    if (rc == 0 && changed != NULL) {
        *changed = 1;
    }
out:
    coachq__v1__rubric__free_unpacked(old, NULL);
    return rc;
}

/* Decodes the first value a scan visits (the latest version in a reverse
 * scan of one id's prefix). */
struct rubrics_first {
    size_t klen; /* the length every key of the id has */
    Coachq__V1__Rubric *r;
};

static int rubrics_first_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                            void *arg)
{
    struct rubrics_first *f = arg;

    (void)key;
    if (klen != f->klen) {
        /* Not an (id, version) key; the prefix holds nothing else. */
        return 0;
    }
    f->r = coachq__v1__rubric__unpack(NULL, vlen, val);
    return f->r != NULL ? 1 : -EIO;
}

int rubrics_get(struct store_txn *t, const char *id, uint32_t version, Coachq__V1__Rubric **out)
{
    struct rubrics_first f;
    struct keys_buf k;
    int rc;

    if (out == NULL) {
        return -EINVAL;
    }
    *out = NULL;
    if (rubrics_key(&k, id, version) != 0) {
        /* No rubric can be stored under an id that makes no key. */
        return -ENOENT;
    }
    if (version != 0) {
        return store_txn_get_msg(t, t->s->dbi_rubrics, k.b, k.len, &coachq__v1__rubric__descriptor,
                                 (ProtobufCMessage **)out);
    }
    f.klen = k.len;
    f.r = NULL;
    /* The prefix is the key without its 4-byte version; versions are
     * big-endian, so the last key of the prefix is the latest version. */
    rc = store_txn_scan(t, t->s->dbi_rubrics, k.b, k.len - 4, 1, rubrics_first_cb, &f);
    if (rc != 0) {
        coachq__v1__rubric__free_unpacked(f.r, NULL);
        return rc;
    }
    if (f.r == NULL) {
        return -ENOENT;
    }
    *out = f.r;
    return 0;
}

/*
 * State of a listing. With latest_only each decoded version waits in
 * pending until the scan reaches a key of another id (or the end): only
 * then is it known to be that id's latest.
 */
struct rubrics_walk {
    int latest_only;
    rubrics_cb cb;
    void *arg;
    Coachq__V1__Rubric *pending;
    uint8_t pending_prefix[1 + KEYS_ID_MAX];
    size_t pending_plen;
};

/* Hands the pending rubric to the callback and frees it. Returns the
 * callback's result. */
static int rubrics_walk_flush(struct rubrics_walk *w)
{
    int rc = 0;

    if (w->pending != NULL) {
        rc = w->cb(w->pending, w->arg);
        coachq__v1__rubric__free_unpacked(w->pending, NULL);
        w->pending = NULL;
    }
    return rc;
}

static int rubrics_walk_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                           void *arg)
{
    struct rubrics_walk *w = arg;
    Coachq__V1__Rubric *r;
    size_t plen;
    int rc;

    if (klen < 1 + 4 || key[0] == 0 || klen != (size_t)key[0] + 1 + 4 || key[0] > KEYS_ID_MAX) {
        return -EIO;
    }
    plen = klen - 4;
    r = coachq__v1__rubric__unpack(NULL, vlen, val);
    if (r == NULL) {
        return -EIO;
    }
    if (!w->latest_only) {
        rc = w->cb(r, w->arg);
        coachq__v1__rubric__free_unpacked(r, NULL);
        return rc;
    }
    if (w->pending != NULL &&
        (w->pending_plen != plen || memcmp(w->pending_prefix, key, plen) != 0)) {
        rc = rubrics_walk_flush(w);
        if (rc != 0) {
            /* The callback stopped the listing: r is never shown. */
            coachq__v1__rubric__free_unpacked(r, NULL);
            return rc;
        }
    }
    /* A later version of the same id simply replaces the pending one. */
    coachq__v1__rubric__free_unpacked(w->pending, NULL);
    w->pending = r;
    memcpy(w->pending_prefix, key, plen);
    w->pending_plen = plen;
    return 0;
}

int rubrics_list(struct store_txn *t, int latest_only, rubrics_cb cb, void *arg)
{
    struct rubrics_walk w;
    int rc;

    if (cb == NULL) {
        return -EINVAL;
    }
    memset(&w, 0, sizeof(w));
    w.latest_only = latest_only;
    w.cb = cb;
    w.arg = arg;
    rc = store_txn_scan(t, t->s->dbi_rubrics, NULL, 0, 0, rubrics_walk_cb, &w);
    if (rc == 0) {
        /* The last id's latest version is still pending. */
        rc = rubrics_walk_flush(&w);
        if (rc == 1) {
            rc = 0;
        }
    }
    coachq__v1__rubric__free_unpacked(w.pending, NULL);
    return rc;
}

const Coachq__V1__Behaviour *rubrics_behaviour(const Coachq__V1__Rubric *r, const char *bid)
{
    if (r == NULL || bid == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < r->n_behaviours; i++) {
        if (r->behaviours[i]->id != NULL && strcmp(r->behaviours[i]->id, bid) == 0) {
            return r->behaviours[i];
        }
    }
    return NULL;
}

int rubrics_needs_evidence(const Coachq__V1__Rubric *r, uint32_t score)
{
    if (r == NULL) {
        return 0;
    }
    for (size_t i = 0; i < r->n_evidence_required; i++) {
        if (r->evidence_required[i] == score) {
            return 1;
        }
    }
    return 0;
}
