/*
 * actions_view: the values of actions_by laid out for the line pages
 * (actions.h, actions format 5). Manager detail and My coaching list a
 * coach's first open actions and, per rep, the focus of the actions agreed
 * with them most recently; read from their records, each is a look-up by a
 * random id in a tree of every record, which grows with the store. So the
 * writer keeps, per person rather than per action, what those tables show:
 *
 *   'O', coach id, 0 -> the first ACTIONS_OPEN_KEPT of coach's open records
 *       in the open index's order ('o'): version 1, u8 n, n x (id(16),
 *       u8 length, coachee, be16 length, text, be32 agreed day, be32 due
 *       day, u8 status)
 *   'R', coachee id, 0, coach id -> the ACTIONS_RECENT_KEPT records coach
 *       agreed with coachee most recently (by agreed_at, open first, then
 *       by id, newest first, as actions_recent_txn() visits them): version
 *       1, u8 n, n x (id(16), be64 agreed_at, u8 open, u8 status, be32
 *       agreed day, be16 length, text, u8 length, focus skill, u8 n, n x
 *       (u8 length, focus behaviour), u8 n, n x (be32 day, u8 status)),
 *       the last list being the follow-ups that stand
 *       (each observation's last event, unless it withdrew what it said),
 *       oldest first.
 *
 * A value is a function of the records and the index alone, so the writer
 * remakes it once per touched person and batch (actions_view_flush()),
 * reusing the entries of the value it replaces and reading only the
 * records the batch changed (and, for the open list, one that moves into
 * its first ACTIONS_OPEN_KEPT); actions_view_derive() makes them all from
 * the records (a rebuild, the upgrade from format 4), so `coachqd verify`
 * compares them and --repair mends them like every other entry. A record
 * whose summary would not fit (only a damaged one: the caps are validate.h's)
 * leaves its person without a value, and a reader without a value, or with
 * one that does not parse or does not agree with the open counters, reads
 * the records as before.
 *
 * Writer thread for the writes; the reads run in any transaction.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "actions_int.h"
#include "keys.h"
#include "mdberr.h"
#include "store_int.h"

#define VIEW_VERSION 1
/* Follow-ups one recent entry holds at most (a u8 count). */
#define VIEW_POINTS 255u
/* Touch entries (struct view_touch, 147 bytes each: up to 4 per changed
 * record, an 'O' and an 'R' for its old version and for its new) one batch
 * notes before their values are written out in the same transaction,
 * about 1.2 MB. */
#define VIEW_TOUCH_MAX 8192u

_Static_assert(ACTIONS_OPEN_KEPT <= 255 && ACTIONS_RECENT_KEPT <= 255, "a value's count is a u8");
_Static_assert(VALIDATE_MAX_ACTION <= 0xffff && VALIDATE_MAX_SKILL <= 255, "lengths fit");

/* ---- A growing value ----------------------------------------------------- */

struct vbuf {
    uint8_t *p;
    size_t len, cap;
    int bad; /* out of memory, or a field that does not fit */
};

static void vb_add(struct vbuf *b, const void *src, size_t n)
{
    if (b->bad) {
        return;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap > 0 ? b->cap : 256;
        uint8_t *p;

        while (cap < b->len + n) {
            cap *= 2;
        }
        p = realloc(b->p, cap);
        if (p == NULL) {
            b->bad = -ENOMEM;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n > 0) {
        memcpy(b->p + b->len, src, n);
    }
    b->len += n;
}

static void vb_u8(struct vbuf *b, unsigned x)
{
    uint8_t c = (uint8_t)x;

    vb_add(b, &c, 1);
}

static void vb_be32(struct vbuf *b, uint32_t x)
{
    uint8_t c[4];

    keys_put_be32(c, x);
    vb_add(b, c, 4);
}

/* A string of at most max bytes (max <= 255 with a u8 length, else be16). */
static void vb_str(struct vbuf *b, const char *s, size_t max)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n > max) {
        b->bad = b->bad != 0 ? b->bad : -E2BIG;
        return;
    }
    if (max > 255) {
        uint8_t c[2] = {(uint8_t)(n >> 8), (uint8_t)n};

        vb_add(b, c, 2);
    } else {
        vb_u8(b, (unsigned)n);
    }
    vb_add(b, s, n);
}

/* ---- Entries --------------------------------------------------------------- */

/* Appends r's open entry ('O'). */
static void open_entry(struct vbuf *b, const Coachq__V1__ActionRecord *r)
{
    if (r->id.len != KEYS_UUID_LEN) {
        b->bad = b->bad != 0 ? b->bad : -EINVAL;
        return;
    }
    vb_add(b, r->id.data, KEYS_UUID_LEN);
    vb_str(b, r->coachee_id, VALIDATE_MAX_ID);
    vb_str(b, r->text, VALIDATE_MAX_ACTION);
    vb_be32(b, (uint32_t)r->agreed_day);
    vb_be32(b, r->due_day);
    vb_u8(b, (unsigned)r->status);
}

/* Whether r's i-th event stands: no later event of the same observation. */
static int event_stands(const Coachq__V1__ActionRecord *r, size_t i)
{
    const Coachq__V1__ActionEvent *e = r->history[i];

    for (size_t j = i + 1; j < r->n_history; j++) {
        const Coachq__V1__ActionEvent *x = r->history[j];

        if (x->observation_id.len == e->observation_id.len &&
            memcmp(x->observation_id.data, e->observation_id.data, e->observation_id.len) == 0) {
            return 0;
        }
    }
    return e->status != COACHQ__V1__ACTION_STATUS__ACTION_STATUS_UNSPECIFIED;
}

/* Appends r's recent entry ('R'). */
static void recent_entry(struct vbuf *b, const Coachq__V1__ActionRecord *r)
{
    uint8_t at[8];
    size_t np = 0;

    if (r->id.len != KEYS_UUID_LEN || r->n_focus_behaviours > VALIDATE_MAX_FOCUS) {
        b->bad = b->bad != 0 ? b->bad : -E2BIG;
        return;
    }
    keys_put_be64(at, (uint64_t)r->agreed_at);
    vb_add(b, r->id.data, KEYS_UUID_LEN);
    vb_add(b, at, 8);
    vb_u8(b, actions_status_open(r->status) ? 1 : 0);
    vb_u8(b, (unsigned)r->status);
    vb_be32(b, (uint32_t)r->agreed_day);
    vb_str(b, r->text, VALIDATE_MAX_ACTION);
    vb_str(b, r->focus_skill, VALIDATE_MAX_SKILL);
    vb_u8(b, (unsigned)r->n_focus_behaviours);
    for (size_t i = 0; i < r->n_focus_behaviours; i++) {
        vb_str(b, r->focus_behaviours[i], VALIDATE_MAX_ID);
    }
    for (size_t i = 0; i < r->n_history; i++) {
        np += event_stands(r, i);
    }
    if (np > VIEW_POINTS) {
        b->bad = b->bad != 0 ? b->bad : -E2BIG;
        return;
    }
    vb_u8(b, (unsigned)np);
    for (size_t i = 0; i < r->n_history; i++) {
        if (event_stands(r, i)) {
            vb_be32(b, (uint32_t)r->history[i]->day);
            vb_u8(b, (unsigned)r->history[i]->status);
        }
    }
}

/* Reads a string of at most max bytes at *off of v (vlen bytes) into out
 * (max + 1 bytes, or NULL to skip it). Returns 0 or -EIO. */
static int get_str(const uint8_t *v, size_t vlen, size_t *off, size_t max, char *out)
{
    size_t n;

    if (max > 255) {
        if (*off + 2 > vlen) {
            return -EIO;
        }
        n = ((size_t)v[*off] << 8) | v[*off + 1];
        *off += 2;
    } else {
        if (*off + 1 > vlen) {
            return -EIO;
        }
        n = v[(*off)++];
    }
    if (n > max || *off + n > vlen) {
        return -EIO;
    }
    if (out != NULL) {
        memcpy(out, v + *off, n);
        out[n] = 0;
    }
    *off += n;
    return 0;
}

/* An entry read back as the record fields the pages use (id, coach,
 * coachee, text, status, agreed day; the open list's due day; the recent
 * list's agreed_at, focus and standing follow-ups as history, each with an
 * observation id of its own), on the heap (its arrays are a few
 * kilobytes). */
struct view_rec {
    Coachq__V1__ActionRecord r;
    Coachq__V1__ActionEvent ev[VIEW_POINTS];
    Coachq__V1__ActionEvent *evp[VIEW_POINTS];
    uint8_t obs[VIEW_POINTS];
    char coach[VALIDATE_MAX_ID + 1];
    char coachee[VALIDATE_MAX_ID + 1];
    char text[VALIDATE_MAX_ACTION + 1];
    char skill[VALIDATE_MAX_SKILL + 1];
    char focus[VALIDATE_MAX_FOCUS][VALIDATE_MAX_ID + 1];
    char *focusp[VALIDATE_MAX_FOCUS];
    uint8_t id[KEYS_UUID_LEN];
};

/* Reads the entry of kind ('O' or 'R') at *off of v into out (NULL: only
 * checks it and steps over it). For 'R', *at and *open get its order. Returns
 * 0 or -EIO. */
static int entry_read(char kind, const uint8_t *v, size_t vlen, size_t *off, struct view_rec *out,
                      int64_t *at, int *open)
{
    Coachq__V1__ActionRecord *r = out != NULL ? &out->r : NULL;
    size_t o = *off;

    if (o + KEYS_UUID_LEN > vlen) {
        return -EIO;
    }
    if (out != NULL) {
        coachq__v1__action_record__init(r);
        memcpy(out->id, v + o, KEYS_UUID_LEN);
        r->id.data = out->id;
        r->id.len = KEYS_UUID_LEN;
        r->coach_id = out->coach;
        r->coachee_id = out->coachee;
    }
    o += KEYS_UUID_LEN;
    if (kind == 'O') {
        if (get_str(v, vlen, &o, VALIDATE_MAX_ID, out != NULL ? out->coachee : NULL) != 0 ||
            get_str(v, vlen, &o, VALIDATE_MAX_ACTION, out != NULL ? out->text : NULL) != 0 ||
            o + 9 > vlen) {
            return -EIO;
        }
        if (r != NULL) {
            r->text = out->text;
            r->agreed_day = (int32_t)keys_get_be32(v + o);
            r->due_day = keys_get_be32(v + o + 4);
            r->status = (Coachq__V1__ActionStatus)v[o + 8];
        }
        *off = o + 9;
        return 0;
    }
    if (o + 14 > vlen) {
        return -EIO;
    }
    if (at != NULL) {
        *at = (int64_t)keys_get_be64(v + o);
        *open = v[o + 8];
    }
    if (r != NULL) {
        r->agreed_at = (int64_t)keys_get_be64(v + o);
        r->status = (Coachq__V1__ActionStatus)v[o + 9];
        r->agreed_day = (int32_t)keys_get_be32(v + o + 10);
        r->text = out->text;
    }
    o += 14;
    if (get_str(v, vlen, &o, VALIDATE_MAX_ACTION, out != NULL ? out->text : NULL) != 0 ||
        get_str(v, vlen, &o, VALIDATE_MAX_SKILL, out != NULL ? out->skill : NULL) != 0 ||
        o + 1 > vlen || v[o] > VALIDATE_MAX_FOCUS) {
        return -EIO;
    }
    if (r != NULL) {
        r->focus_skill = out->skill;
        r->n_focus_behaviours = v[o];
        r->focus_behaviours = out->focusp;
    }
    for (size_t i = 0, nf = v[o++]; i < nf; i++) {
        if (get_str(v, vlen, &o, VALIDATE_MAX_ID, out != NULL ? out->focus[i] : NULL) != 0) {
            return -EIO;
        }
        if (out != NULL) {
            out->focusp[i] = out->focus[i];
        }
    }
    if (o + 1 > vlen || o + 1 + 5 * (size_t)v[o] > vlen) {
        return -EIO;
    }
    if (r != NULL) {
        /* Each standing follow-up as an event of an observation of its own,
         * so that the pages' rule (an observation's last event stands)
         * keeps every one of them. */
        r->n_history = v[o];
        r->history = out->evp;
        for (size_t i = 0; i < r->n_history; i++) {
            coachq__v1__action_event__init(&out->ev[i]);
            out->obs[i] = (uint8_t)i;
            out->ev[i].observation_id.data = &out->obs[i];
            out->ev[i].observation_id.len = 1;
            out->ev[i].day = (int32_t)keys_get_be32(v + o + 1 + 5 * i);
            out->ev[i].status = (Coachq__V1__ActionStatus)v[o + 1 + 5 * i + 4];
            out->evp[i] = &out->ev[i];
        }
    }
    *off = o + 1 + 5 * (size_t)v[o];
    return 0;
}

/* Checks a value of kind: its version, and n entries that fill it. *n gets
 * n. Returns 0 or -EIO. */
static int value_check(char kind, const uint8_t *v, size_t vlen, size_t *n)
{
    size_t off = 2;

    if (vlen < 2 || v[0] != VIEW_VERSION) {
        return -EIO;
    }
    *n = v[1];
    for (size_t i = 0; i < *n; i++) {
        if (entry_read(kind, v, vlen, &off, NULL, NULL, NULL) != 0) {
            return -EIO;
        }
    }
    return off == vlen ? 0 : -EIO;
}

/* ---- Keys ------------------------------------------------------------------ */

static size_t open_key(uint8_t key[ACTIONS_KEY_MAX], const char *coach)
{
    size_t n = strlen(coach);

    key[0] = 'O';
    memcpy(key + 1, coach, n);
    key[1 + n] = 0;
    return 2 + n;
}

static size_t recent_key(uint8_t key[ACTIONS_KEY_MAX], const char *coachee, const char *coach)
{
    size_t n = strlen(coachee), m = strlen(coach);

    key[0] = 'R';
    memcpy(key + 1, coachee, n);
    key[1 + n] = 0;
    memcpy(key + 2 + n, coach, m);
    return 2 + n + m;
}

/* Puts val (or deletes the key when val is empty, NULL) unless it holds
 * exactly that already (old, olen; NULL when absent). */
static int value_put(struct store_txn *t, const uint8_t *key, size_t klen, const uint8_t *old,
                     size_t olen, const struct vbuf *val)
{
    if (val == NULL || val->len == 0) {
        return old != NULL ? store_txn_del(t, t->s->dbi_actions_by, key, klen) : 0;
    }
    if (old != NULL && olen == val->len && memcmp(old, val->p, olen) == 0) {
        return 0;
    }
    return store_txn_put_raw(t, t->s->dbi_actions_by, key, klen, val->p, val->len, NULL);
}

/* Copies the value under key into *out (caller frees; NULL when absent). */
static int value_get(struct store_txn *t, const uint8_t *key, size_t klen, uint8_t **out,
                     size_t *len)
{
    MDB_val v;
    int rc = store_txn_get_raw(t, t->s->dbi_actions_by, key, klen, &v);

    *out = NULL;
    *len = 0;
    if (rc == -ENOENT) {
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    *out = malloc(v.mv_size > 0 ? v.mv_size : 1);
    if (*out == NULL) {
        return -ENOMEM;
    }
    memcpy(*out, v.mv_data, v.mv_size);
    *len = v.mv_size;
    return 0;
}

/* ---- The open list ------------------------------------------------------- */

static int id_in(const uint8_t *id, const uint8_t (*ids)[KEYS_UUID_LEN], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (memcmp(ids[i], id, KEYS_UUID_LEN) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Finds id's entry in a checked value of kind: *off and *len, or 0. */
static int entry_find(char kind, const uint8_t *v, size_t vlen, const uint8_t *id, size_t *off,
                      size_t *len)
{
    size_t o = 2;

    for (size_t i = 0; v != NULL && i < v[1]; i++) {
        size_t start = o;

        if (entry_read(kind, v, vlen, &o, NULL, NULL, NULL) != 0) {
            return 0;
        }
        if (memcmp(v + start, id, KEYS_UUID_LEN) == 0) {
            *off = start;
            *len = o - start;
            return 1;
        }
    }
    return 0;
}

/*
 * Makes coach's open value into val from the open index's first
 * ACTIONS_OPEN_KEPT entries: an entry of old (a checked value, or NULL)
 * is kept unless its id is one of ids (changed in the batch); the others
 * are read from their records. val stays empty with no open record.
 */
static int open_build(struct store_txn *t, const char *coach, const uint8_t *old, size_t olen,
                      const uint8_t (*ids)[KEYS_UUID_LEN], size_t nids, struct vbuf *val)
{
    uint8_t prefix[ACTIONS_KEY_MAX];
    size_t n = strlen(coach), plen = 2 + n, count = 0;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc;

    prefix[0] = 'o';
    memcpy(prefix + 1, coach, n);
    prefix[1 + n] = 0;
    vb_u8(val, VIEW_VERSION);
    vb_u8(val, 0);
    rc = mdb_cursor_open(t->txn, t->s->dbi_actions_by, &cur);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    k.mv_data = prefix;
    k.mv_size = plen;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && count < ACTIONS_OPEN_KEPT) {
        const uint8_t *id;
        size_t eo, el;

        if (k.mv_size != plen + 12 + KEYS_UUID_LEN || memcmp(k.mv_data, prefix, plen) != 0) {
            break;
        }
        id = (const uint8_t *)k.mv_data + k.mv_size - KEYS_UUID_LEN;
        if (!id_in(id, ids, nids) && entry_find('O', old, olen, id, &eo, &el)) {
            vb_add(val, old + eo, el);
        } else {
            Coachq__V1__ActionRecord *r = NULL;
            uint8_t idc[KEYS_UUID_LEN];

            memcpy(idc, id, KEYS_UUID_LEN);
            rc = actions_indexed_get(t, idc, &r);
            if (rc == 1) {
                /* A dangling entry (verify finds it): the list stays as
                 * short as the records say, and its count then disagrees
                 * with the open counters, so the page reads the index. */
                rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
                continue;
            }
            if (rc != 0) {
                break;
            }
            open_entry(val, r);
            coachq__v1__action_record__free_unpacked(r, NULL);
        }
        count++;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND) {
        rc = 0;
    }
    rc = mdberr_errno(rc);
    if (rc == 0 && val->bad == 0 && val->len > 0) {
        val->p[1] = (uint8_t)count;
    }
    if (rc == 0 && (count == 0 || val->bad == -E2BIG || val->bad == -EINVAL)) {
        val->len = 0; /* no value: none open, or a record that does not fit */
        val->bad = 0;
    }
    return rc != 0 ? rc : val->bad;
}

/* ---- The recent lists ------------------------------------------------------ */

/* One entry of a recent list being made: its order and its bytes in the
 * list's shared buffer. */
struct recent_item {
    int64_t at;
    int open;
    int dead; /* replaced or gone */
    uint8_t id[KEYS_UUID_LEN];
    size_t off, len;
};

/* actions_recent_txn()'s order: newest first, open first on a tie, then by
 * id, the later first. */
static int recent_cmp(const void *a, const void *b)
{
    const struct recent_item *x = a, *y = b;

    if (x->dead != y->dead) {
        return x->dead - y->dead;
    }
    if (x->at != y->at) {
        return x->at > y->at ? -1 : 1;
    }
    if (x->open != y->open) {
        return y->open - x->open;
    }
    return -memcmp(x->id, y->id, KEYS_UUID_LEN);
}

/* Makes the value from the first ACTIONS_RECENT_KEPT live items (sorted). */
static void recent_value(const struct recent_item *it, size_t n, const struct vbuf *ebuf,
                         struct vbuf *val)
{
    size_t k = 0;

    vb_u8(val, VIEW_VERSION);
    vb_u8(val, 0);
    for (size_t i = 0; i < n && k < ACTIONS_RECENT_KEPT; i++) {
        if (!it[i].dead) {
            vb_add(val, ebuf->p + it[i].off, it[i].len);
            k++;
        }
    }
    if (val->bad == 0) {
        val->p[1] = (uint8_t)k;
        val->len = k > 0 ? val->len : 0;
    }
}

struct recent_walk {
    struct vbuf val;
    size_t n;
};

static int recent_walk_cb(const Coachq__V1__ActionRecord *r, void *arg)
{
    struct recent_walk *w = arg;

    recent_entry(&w->val, r);
    w->n++;
    return 0;
}

/* Makes the pair's value from its records, newest first (no bound on the
 * other coaches' records passed over), and writes it in place of old. */
static int recent_derive(struct store_txn *t, const char *coachee, const char *coach,
                         const uint8_t *old, size_t olen)
{
    uint8_t key[ACTIONS_KEY_MAX];
    size_t klen = recent_key(key, coachee, coach);
    struct recent_walk w;
    int rc;

    memset(&w, 0, sizeof(w));
    vb_u8(&w.val, VIEW_VERSION);
    vb_u8(&w.val, 0);
    rc = actions_recent_walk(t, coach, coachee, ACTIONS_RECENT_KEPT, SIZE_MAX, recent_walk_cb, &w);
    if (rc == 0 && w.val.bad == -ENOMEM) {
        rc = -ENOMEM;
    }
    if (rc == 0) {
        if (w.val.bad != 0 || w.n == 0) {
            w.val.len = 0; /* none, or a record that does not fit: no value */
        } else {
            w.val.p[1] = (uint8_t)w.n;
        }
        rc = value_put(t, key, klen, old, olen, &w.val);
    }
    free(w.val.p);
    return rc;
}

/*
 * Remakes the pair's value after the batch changed the records ids: the
 * old value's entries, those of ids replaced by their records' (or gone
 * when a record left the pair), sorted again. The records outside a full
 * old value all come after its last entry, so the result is exact unless
 * a full value lost an entry or one moved after its last; then the pair
 * is derived from its records.
 */
static int recent_update(struct store_txn *t, const char *coachee, const char *coach,
                         const uint8_t (*ids)[KEYS_UUID_LEN], size_t nids)
{
    uint8_t key[ACTIONS_KEY_MAX];
    size_t klen = recent_key(key, coachee, coach);
    uint8_t *old = NULL;
    size_t olen = 0, on = 0, n = 0, off = 2;
    struct recent_item *it = NULL;
    struct recent_item last;
    struct vbuf ebuf, val;
    int derive = 0;
    int rc;

    memset(&ebuf, 0, sizeof(ebuf));
    memset(&val, 0, sizeof(val));
    memset(&last, 0, sizeof(last));
    rc = value_get(t, key, klen, &old, &olen);
    if (rc != 0) {
        goto out;
    }
    /* A stored value always has an entry: one without is damaged, and says
     * nothing of the pair's records. */
    if (old == NULL || value_check('R', old, olen, &on) != 0 || on == 0) {
        derive = 1;
        goto out;
    }
    it = calloc(on + nids, sizeof(*it));
    if (it == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < on; i++, n++) {
        size_t start = off;

        (void)entry_read('R', old, olen, &off, NULL, &it[n].at, &it[n].open);
        memcpy(it[n].id, old + start, KEYS_UUID_LEN);
        it[n].off = ebuf.len;
        it[n].len = off - start;
        vb_add(&ebuf, old + start, off - start);
    }
    if (on == ACTIONS_RECENT_KEPT) {
        last = it[on - 1];
    }
    for (size_t j = 0; j < nids && !derive && rc == 0; j++) {
        Coachq__V1__ActionRecord *r = NULL;
        int was = 0, in_pair;

        for (size_t i = 0; i < on; i++) {
            if (!it[i].dead && memcmp(it[i].id, ids[j], KEYS_UUID_LEN) == 0) {
                it[i].dead = 1;
                was = 1;
            }
        }
        rc = actions_get_txn(t, ids[j], &r);
        if (rc == -ENOENT) {
            rc = 0;
        }
        if (rc != 0) {
            break;
        }
        in_pair = r != NULL && r->coach_id != NULL && r->coachee_id != NULL &&
                  strcmp(r->coach_id, coach) == 0 && strcmp(r->coachee_id, coachee) == 0;
        if (in_pair) {
            size_t start = ebuf.len;

            recent_entry(&ebuf, r);
            it[n].at = r->agreed_at;
            it[n].open = actions_status_open(r->status);
            memcpy(it[n].id, ids[j], KEYS_UUID_LEN);
            it[n].off = start;
            it[n].len = ebuf.len - start;
            derive = ebuf.bad != 0 ||
                     (was && on == ACTIONS_RECENT_KEPT && recent_cmp(&it[n], &last) > 0);
            n++;
        } else {
            derive = was && on == ACTIONS_RECENT_KEPT;
        }
        coachq__v1__action_record__free_unpacked(r, NULL);
    }
    if (rc == 0 && !derive) {
        qsort(it, n, sizeof(*it), recent_cmp);
        recent_value(it, n, &ebuf, &val);
        rc = val.bad != 0 ? val.bad : value_put(t, key, klen, old, olen, &val);
    }
out:
    if (rc == 0 && derive) {
        rc = recent_derive(t, coachee, coach, old, olen);
    }
    free(it);
    free(ebuf.p);
    free(val.p);
    free(old);
    return rc;
}

static int open_update(struct store_txn *t, const char *coach, const uint8_t (*ids)[KEYS_UUID_LEN],
                       size_t nids)
{
    uint8_t key[ACTIONS_KEY_MAX];
    size_t klen = open_key(key, coach);
    uint8_t *old = NULL;
    size_t olen = 0, on = 0;
    struct vbuf val;
    int rc;

    memset(&val, 0, sizeof(val));
    rc = value_get(t, key, klen, &old, &olen);
    if (rc == 0) {
        int ok = old != NULL && value_check('O', old, olen, &on) == 0;

        rc = open_build(t, coach, ok ? old : NULL, olen, ids, nids, &val);
    }
    if (rc == 0) {
        rc = value_put(t, key, klen, old, olen, &val);
    }
    free(val.p);
    free(old);
    return rc;
}

/* ---- The batch's touched persons ----------------------------------------- */

struct view_touch {
    char kind; /* 'O' or 'R' */
    char coach[VALIDATE_MAX_ID + 1];
    char coachee[VALIDATE_MAX_ID + 1]; /* 'R' only */
    uint8_t id[KEYS_UUID_LEN];
};

struct actions_views {
    struct view_touch *v;
    size_t n, cap;
};

void actions_views_free(struct actions_views *vs)
{
    if (vs != NULL) {
        free(vs->v);
        free(vs);
    }
}

static int touch_cmp(const void *a, const void *b)
{
    const struct view_touch *x = a, *y = b;
    int c = x->kind - y->kind;

    if (c == 0) {
        c = strcmp(x->coach, y->coach);
    }
    if (c == 0) {
        c = strcmp(x->coachee, y->coachee);
    }
    return c != 0 ? c : memcmp(x->id, y->id, KEYS_UUID_LEN);
}

static int views_add(struct actions_views *vs, char kind, const char *coach, const char *coachee,
                     const uint8_t *id)
{
    struct view_touch *e;

    if (vs->n == vs->cap) {
        size_t cap = vs->cap > 0 ? 2 * vs->cap : 64;
        struct view_touch *p = realloc(vs->v, cap * sizeof(*p));

        if (p == NULL) {
            return -ENOMEM;
        }
        vs->v = p;
        vs->cap = cap;
    }
    e = &vs->v[vs->n++];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    memcpy(e->coach, coach, strlen(coach) + 1);
    if (coachee != NULL) {
        memcpy(e->coachee, coachee, strlen(coachee) + 1);
    }
    memcpy(e->id, id, KEYS_UUID_LEN);
    return 0;
}

int actions_view_touch(struct store_txn *t, struct actions_views **vsp,
                       const Coachq__V1__ActionRecord *r)
{
    size_t nc = r->coach_id != NULL ? strlen(r->coach_id) : 0;
    size_t ne = r->coachee_id != NULL ? strlen(r->coachee_id) : 0;
    int rc = 0;

    if (nc == 0 || nc > VALIDATE_MAX_ID || ne == 0 || ne > VALIDATE_MAX_ID ||
        r->id.len != KEYS_UUID_LEN) {
        return 0; /* a record no index holds: no value either */
    }
    if (*vsp == NULL) {
        *vsp = calloc(1, sizeof(**vsp));
        if (*vsp == NULL) {
            return -ENOMEM;
        }
    }
    if (actions_status_open(r->status)) {
        rc = views_add(*vsp, 'O', r->coach_id, NULL, r->id.data);
    }
    if (rc == 0) {
        rc = views_add(*vsp, 'R', r->coach_id, r->coachee_id, r->id.data);
    }
    if (rc == 0 && (*vsp)->n >= VIEW_TOUCH_MAX) {
        /* A value depends on the records and the index only, so writing
         * them now and again later gives what one write at the end would. */
        rc = actions_view_flush(t, *vsp);
    }
    return rc;
}

int actions_view_flush(struct store_txn *t, struct actions_views *vs)
{
    uint8_t(*ids)[KEYS_UUID_LEN] = NULL;
    int rc = 0;

    if (vs == NULL || vs->n == 0) {
        return 0;
    }
    qsort(vs->v, vs->n, sizeof(vs->v[0]), touch_cmp);
    ids = malloc(vs->n * KEYS_UUID_LEN);
    if (ids == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < vs->n && rc == 0;) {
        const struct view_touch *g = &vs->v[i];
        size_t nids = 0;

        for (; i < vs->n && vs->v[i].kind == g->kind && strcmp(vs->v[i].coach, g->coach) == 0 &&
               strcmp(vs->v[i].coachee, g->coachee) == 0;
             i++) {
            if (nids == 0 || memcmp(ids[nids - 1], vs->v[i].id, KEYS_UUID_LEN) != 0) {
                memcpy(ids[nids++], vs->v[i].id, KEYS_UUID_LEN);
            }
        }
        rc = g->kind == 'O' ? open_update(t, g->coach, (const uint8_t(*)[KEYS_UUID_LEN])ids, nids)
                            : recent_update(t, g->coachee, g->coach,
                                            (const uint8_t(*)[KEYS_UUID_LEN])ids, nids);
    }
    free(ids);
    vs->n = 0;
    return rc;
}

/* ---- Every value, from the records ---------------------------------------- */

/* The distinct persons of kind's keys ('o': coaches, 'e': coachees), each
 * VALIDATE_MAX_ID + 1 bytes in *out (caller frees). */
static int persons_of(struct store_txn *t, char kind, char (**out)[VALIDATE_MAX_ID + 1], size_t *n)
{
    uint8_t seek[ACTIONS_KEY_MAX];
    char(*p)[VALIDATE_MAX_ID + 1] = NULL;
    size_t cap = 0;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc;

    *out = NULL;
    *n = 0;
    rc = mdb_cursor_open(t->txn, t->s->dbi_actions_by, &cur);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    seek[0] = (uint8_t)kind;
    k.mv_data = seek;
    k.mv_size = 1;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0) {
        const uint8_t *kd = k.mv_data;
        const uint8_t *nul;
        size_t len;

        if (k.mv_size < 2 || kd[0] != (uint8_t)kind) {
            break;
        }
        nul = memchr(kd + 1, 0, k.mv_size - 1);
        len = nul != NULL ? (size_t)(nul - kd - 1) : 0;
        if (len == 0 || len > VALIDATE_MAX_ID) {
            rc = -EIO;
            break;
        }
        if (*n == cap) {
            size_t c2 = cap > 0 ? 2 * cap : 256;
            char(*q)[VALIDATE_MAX_ID + 1] = realloc(p, c2 * sizeof(*q));

            if (q == NULL) {
                rc = -ENOMEM;
                break;
            }
            p = q;
            cap = c2;
        }
        memcpy(p[*n], kd + 1, len);
        p[*n][len] = 0;
        (*n)++;
        /* Past every key of this person: its prefix with a 1 after the id. */
        memcpy(seek, kd, 1 + len);
        seek[1 + len] = 1;
        k.mv_data = seek;
        k.mv_size = 2 + len;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND) {
        rc = 0;
    }
    rc = mdberr_errno(rc);
    if (rc != 0) {
        free(p);
        *n = 0;
        return rc;
    }
    *out = p;
    return 0;
}

/* One record of a coachee's, as derive_coachee() collects them. */
struct coachee_item {
    struct recent_item it;
    char coach[VALIDATE_MAX_ID + 1];
};

static int coachee_item_cmp(const void *a, const void *b)
{
    const struct coachee_item *x = a, *y = b;
    int c = strcmp(x->coach, y->coach);

    return c != 0 ? c : recent_cmp(&x->it, &y->it);
}

/* Writes every recent value of coachee, from all of its records, adding
 * the values written to *made. */
static int derive_coachee(struct store_txn *t, const char *coachee, uint64_t *made)
{
    uint8_t prefix[ACTIONS_KEY_MAX];
    size_t ne = strlen(coachee), n = 0, cap = 0;
    struct coachee_item *items = NULL;
    struct recent_item *run = NULL;
    struct vbuf ebuf;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc;

    memset(&ebuf, 0, sizeof(ebuf));
    prefix[0] = 'e';
    memcpy(prefix + 1, coachee, ne);
    prefix[1 + ne] = 0;
    rc = mdb_cursor_open(t->txn, t->s->dbi_actions_by, &cur);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    k.mv_data = prefix;
    k.mv_size = 2 + ne;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0) {
        Coachq__V1__ActionRecord *r = NULL;
        uint8_t id[KEYS_UUID_LEN];
        int got;

        if (k.mv_size < 2 + ne + KEYS_UUID_LEN || memcmp(k.mv_data, prefix, 2 + ne) != 0) {
            break;
        }
        memcpy(id, (const uint8_t *)k.mv_data + k.mv_size - KEYS_UUID_LEN, KEYS_UUID_LEN);
        got = actions_indexed_get(t, id, &r);
        if (got < 0) {
            rc = got;
            break;
        }
        if (got == 0 && r->coach_id != NULL && r->coach_id[0] != '\0' &&
            strlen(r->coach_id) <= VALIDATE_MAX_ID && r->coachee_id != NULL &&
            strcmp(r->coachee_id, coachee) == 0) {
            if (n == cap) {
                size_t c2 = cap > 0 ? 2 * cap : 64;
                struct coachee_item *q = realloc(items, c2 * sizeof(*q));

                if (q == NULL) {
                    coachq__v1__action_record__free_unpacked(r, NULL);
                    rc = -ENOMEM;
                    break;
                }
                items = q;
                cap = c2;
            }
            memset(&items[n], 0, sizeof(items[n]));
            memcpy(items[n].coach, r->coach_id, strlen(r->coach_id) + 1);
            items[n].it.at = r->agreed_at;
            items[n].it.open = actions_status_open(r->status);
            memcpy(items[n].it.id, id, KEYS_UUID_LEN);
            items[n].it.off = ebuf.len;
            recent_entry(&ebuf, r);
            if (ebuf.bad == -E2BIG || ebuf.bad == -EINVAL) {
                /* A record that does not fit: its pair gets no value. */
                ebuf.bad = 0;
                items[n].it.len = SIZE_MAX;
            } else {
                items[n].it.len = ebuf.len - items[n].it.off;
            }
            n++;
        }
        coachq__v1__action_record__free_unpacked(r, NULL);
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND) {
        rc = 0;
    }
    rc = mdberr_errno(rc);
    if (rc == 0 && ebuf.bad != 0) {
        rc = ebuf.bad;
    }
    if (rc == 0 && n > 0) {
        qsort(items, n, sizeof(*items), coachee_item_cmp);
        run = calloc(ACTIONS_RECENT_KEPT, sizeof(*run));
        rc = run == NULL ? -ENOMEM : 0;
    }
    for (size_t i = 0; i < n && rc == 0;) {
        size_t j = i, m = 0;
        int fits = 1;
        struct vbuf val;
        uint8_t key[ACTIONS_KEY_MAX];

        for (; j < n && strcmp(items[j].coach, items[i].coach) == 0; j++) {
            if (m < ACTIONS_RECENT_KEPT) {
                fits = fits && items[j].it.len != SIZE_MAX;
                run[m++] = items[j].it;
            }
        }
        memset(&val, 0, sizeof(val));
        if (fits) {
            recent_value(run, m, &ebuf, &val);
            rc = val.bad;
        }
        if (rc == 0 && val.len > 0) {
            rc = store_txn_put_raw(t, t->s->dbi_actions_by, key,
                                   recent_key(key, coachee, items[i].coach), val.p, val.len, NULL);
            *made += rc == 0;
        }
        free(val.p);
        i = j;
    }
    free(run);
    free(items);
    free(ebuf.p);
    return rc;
}

int actions_view_derive(struct store_txn *t, uint64_t *n)
{
    char(*who)[VALIDATE_MAX_ID + 1] = NULL;
    size_t nwho = 0;
    uint64_t made = 0;
    int rc;

    rc = persons_of(t, 'o', &who, &nwho);
    for (size_t i = 0; i < nwho && rc == 0; i++) {
        uint8_t key[ACTIONS_KEY_MAX];
        struct vbuf val;

        memset(&val, 0, sizeof(val));
        rc = open_build(t, who[i], NULL, 0, NULL, 0, &val);
        if (rc == 0 && val.len > 0) {
            rc = store_txn_put_raw(t, t->s->dbi_actions_by, key, open_key(key, who[i]), val.p,
                                   val.len, NULL);
            made += rc == 0;
        }
        free(val.p);
    }
    free(who);
    who = NULL;
    if (rc == 0) {
        rc = persons_of(t, 'e', &who, &nwho);
    }
    for (size_t i = 0; i < nwho && rc == 0; i++) {
        rc = derive_coachee(t, who[i], &made);
    }
    free(who);
    if (n != NULL) {
        *n = made;
    }
    return rc;
}

/* ---- Reads ------------------------------------------------------------------ */

/* Visits the first max entries of a checked value of kind with cb. */
static int value_visit(char kind, const uint8_t *v, size_t vlen, size_t max, const char *coach,
                       const char *coachee, actions_cb cb, void *arg)
{
    struct view_rec *vr = malloc(sizeof(*vr));
    size_t off = 2;
    int rc = 0;

    if (vr == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < v[1] && i < max && rc == 0; i++) {
        rc = entry_read(kind, v, vlen, &off, vr, NULL, NULL);
        if (rc == 0) {
            memcpy(vr->coach, coach, strlen(coach) + 1);
            if (coachee != NULL) {
                memcpy(vr->coachee, coachee, strlen(coachee) + 1);
            }
            rc = cb(&vr->r, arg);
        }
    }
    free(vr);
    return rc == 1 ? 0 : rc;
}

int actions_view_open(struct store_txn *t, const char *coach, uint64_t open, size_t max,
                      actions_cb cb, void *arg, int *served)
{
    uint8_t key[ACTIONS_KEY_MAX];
    size_t want = open < max ? (size_t)open : max, kept, vn = 0;
    MDB_val v;
    int rc;

    *served = 0;
    if (max > ACTIONS_OPEN_KEPT && open > ACTIONS_OPEN_KEPT) {
        return 0; /* more than the value holds: the index */
    }
    kept = open < ACTIONS_OPEN_KEPT ? (size_t)open : ACTIONS_OPEN_KEPT;
    rc = store_txn_get_raw(t, t->s->dbi_actions_by, key, open_key(key, coach), &v);
    if (rc == -ENOENT) {
        *served = kept == 0;
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    if (value_check('O', v.mv_data, v.mv_size, &vn) != 0 || vn != kept) {
        return 0; /* damaged, or not what the counters say: the index */
    }
    *served = 1;
    return value_visit('O', v.mv_data, v.mv_size, want, coach, NULL, cb, arg);
}

int actions_view_recent(struct store_txn *t, const char *coach, const char *coachee, size_t k,
                        actions_cb cb, void *arg, int *served)
{
    uint8_t key[ACTIONS_KEY_MAX];
    size_t vn = 0;
    MDB_val v;
    int rc;

    *served = 0;
    if (k > ACTIONS_RECENT_KEPT || strlen(coach) > VALIDATE_MAX_ID) {
        return 0;
    }
    rc = store_txn_get_raw(t, t->s->dbi_actions_by, key, recent_key(key, coachee, coach), &v);
    if (rc == -ENOENT) {
        return 0; /* no record of the pair, or one that does not fit: the index */
    }
    if (rc != 0) {
        return rc;
    }
    if (value_check('R', v.mv_data, v.mv_size, &vn) != 0 || vn == 0) {
        return 0;
    }
    *served = 1;
    return value_visit('R', v.mv_data, v.mv_size, k, coach, coachee, cb, arg);
}
