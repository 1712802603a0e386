/*
 * memo: the batch's decoded reads (store_int.h, struct store_txn_memo).
 *
 * Every observation of a batch is checked against its rubric, and every
 * record of its session is counted or not by its observer's certification;
 * in a batch these are mostly the same few. The same holds for the people
 * a record names (its observer, coach and coachee) and for the reporting
 * lines above them, which the rules and the aggregates each read: a
 * record costs five line reads above its coach (the scorer's chain, the
 * line key and the chain keys read the coach's manager three times and
 * the manager's manager twice). The writer decodes each once per batch
 * here instead of once per record or per use. The engine empties the memo
 * before a nested transaction and whenever a rubric, certification,
 * person, reporting line, programme or enrolment is written
 * (store_txn_put_raw(), store_txn_del()), so a memoised value is always
 * what a fresh read of the transaction would return, and frees it when
 * the batch's attempt ends. Writer thread.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs.h"
#include "coachq.pb-c.h"
#include "people.h"
#include "rubrics.h"
#include "store_int.h"
#include "validate.h"

/*
 * The people and line tables: open addressing with linear probing, kept at
 * most half full so that a probe ends soon, and capped so that a batch
 * naming more people than that reads the others each time rather than
 * growing the writer's memory (112 KiB and 352 KiB at most, plus the
 * decoded people). The records of a batch mostly share observers, coaches
 * and the managers above them, so the caps hold the people of most
 * batches, with room for a coachee per record besides.
 *
 * The memo is emptied before every nested transaction (each administrator's
 * request in a batch, each calibration record under enforcement) and after
 * every batch, so emptying must cost little: a slot holds an entry only
 * when its generation is the memo's, and emptying moves the memo to the
 * next generation instead of freeing the tables, which would make the next
 * lookup allocate them and zero their slots again. The engine keeps them
 * from batch to batch and frees them with the store.
 */
#define MEMO_PEOPLE_SLOTS (2 * STORE_MEMO_PEOPLE_MAX)
#define MEMO_PEOPLE_MAX STORE_MEMO_PEOPLE_MAX
#define MEMO_LINES_SLOTS (2 * STORE_MEMO_LINES_MAX)
#define MEMO_LINES_MAX STORE_MEMO_LINES_MAX

/* The kept people are decoded into blocks of the memo's, carved in order
 * and freed together when the memo is emptied: decoding a person then
 * costs no malloc per field, and emptying the memo no free per person. A
 * batch's people need far less than the cap (a person is a few hundred
 * bytes); beyond it they are read and decoded as outside a batch. */
#define MEMO_BLOCK_BYTES (32u * 1024u)
#define MEMO_ARENA_MAX (16u * MEMO_BLOCK_BYTES)

_Static_assert((MEMO_PEOPLE_SLOTS & (MEMO_PEOPLE_SLOTS - 1)) == 0, "a power of two");
_Static_assert((MEMO_LINES_SLOTS & (MEMO_LINES_SLOTS - 1)) == 0, "a power of two");

struct store_memo_block {
    struct store_memo_block *next;
    size_t used;
    size_t cap;
    max_align_t data[];
};

/* A slot of the people or line table: what a probe compares, in 16
 * bytes, and where the entry is (idx into the entries, which are kept in
 * the order they were added). A probe then reads a few bytes per slot
 * rather than a whole entry: at 156 bytes an entry, the line table's
 * slots filled 624 KiB, more than the core's cache, and its probes cost
 * more than the reads they saved. */
struct store_memo_slot {
    uint32_t hash;
    uint32_t gen; /* holds an entry when the memo's gen */
    int32_t day;  /* the line table's; 0 in the people table */
    uint32_t idx;
};

/* A person as people_get() answered: p (decoded into the memo's blocks),
 * or NULL for -ENOENT. */
struct store_memo_person {
    Coachq__V1__Person *p;
    char id[VALIDATE_MAX_ID + 1];
};

/* people_manager_at(id, day)'s answer: 0 with manager, or -ENOENT, which
 * holds from day from to day last (people_manager_span()). */
struct store_memo_line {
    int32_t from, last;
    int rc;
    char id[VALIDATE_MAX_ID + 1];
    char manager[VALIDATE_MAX_ID + 1];
};

/* Frees m's rubric and blocks, which the entries of the tables point
 * into, and empties its cached certification answer. */
static void memo_forget_values(struct store_txn_memo *m)
{
    coachq__v1__rubric__free_unpacked(m->rubric, NULL);
    m->rubric = NULL;
    m->cert_set = 0;
    /* The kept people live in the blocks. They are freed rather than kept
     * for reuse, so that a caller still holding a person it borrowed before
     * the memo was emptied reads freed memory, which the sanitizers report,
     * rather than another person. */
    while (m->blocks != NULL) {
        struct store_memo_block *b = m->blocks;

        m->blocks = b->next;
        free(b);
    }
    m->arena_bytes = 0;
}

void store_txn_memo_reset(struct store_txn_memo *m)
{
    if (m == NULL) {
        return;
    }
    memo_forget_values(m);
    /* Nothing was added in this generation: every slot is already empty
     * in it. Skipping the step also makes the wrap below rarer. */
    if (m->n_people == 0 && m->n_lines == 0) {
        return;
    }
    m->n_people = 0;
    m->n_lines = 0;
    if (m->gen == UINT32_MAX) {
        /* After 2^32 generations a slot's stamp could come round again:
         * start the stamps over from a zeroed table. */
        if (m->people_slots != NULL) {
            memset(m->people_slots, 0, MEMO_PEOPLE_SLOTS * sizeof(*m->people_slots));
        }
        if (m->line_slots != NULL) {
            memset(m->line_slots, 0, MEMO_LINES_SLOTS * sizeof(*m->line_slots));
        }
        m->gen = 1;
    } else {
        m->gen++;
    }
}

void store_txn_memo_clear(struct store_txn_memo *m)
{
    if (m == NULL) {
        return;
    }
    memo_forget_values(m);
    free(m->people_slots);
    free(m->people);
    free(m->line_slots);
    free(m->lines);
    memset(m, 0, sizeof(*m));
}

/* FNV-1a of id's len bytes, then of day's: the tables' hash. */
static uint32_t memo_hash(const char *id, size_t len, int32_t day)
{
    uint32_t h = 2166136261u;
    uint32_t d = (uint32_t)day;

    for (size_t i = 0; i < len; i++) {
        h = (h ^ (uint8_t)id[i]) * 16777619u;
    }
    for (int i = 0; i < 4; i++, d >>= 8) {
        h = (h ^ (d & 0xffu)) * 16777619u;
    }
    return h;
}

/* The length of id when the memo may key it (1..VALIDATE_MAX_ID bytes),
 * else 0: a malformed id is left to the reader, which refuses it. */
static size_t memo_id_len(const char *id)
{
    size_t n = id != NULL ? strnlen(id, VALIDATE_MAX_ID + 1) : 0;

    return n <= VALIDATE_MAX_ID ? n : 0;
}

/* A zeroed memo is in generation 0, which is also the stamp of a slot
 * never written: the tables' first user moves it to generation 1, after
 * which the generation never returns to 0 (store_txn_memo_reset()). */
static void memo_gen_start(struct store_txn_memo *m)
{
    if (m->gen == 0) {
        m->gen = 1;
    }
}

/* id's slot in m's people table: the one that holds it, or the empty one
 * where it would go. NULL when the table cannot be made. */
static struct store_memo_slot *memo_person_slot(struct store_txn_memo *m, const char *id,
                                                size_t len, uint32_t h)
{
    size_t i;

    if (m->people_slots == NULL) {
        m->people_slots = calloc(MEMO_PEOPLE_SLOTS, sizeof(*m->people_slots));
        m->people = malloc(MEMO_PEOPLE_MAX * sizeof(*m->people));
        if (m->people_slots == NULL || m->people == NULL) {
            free(m->people_slots);
            free(m->people);
            m->people_slots = NULL;
            m->people = NULL;
            return NULL;
        }
    }
    memo_gen_start(m);
    for (i = h & (MEMO_PEOPLE_SLOTS - 1); m->people_slots[i].gen == m->gen;
         i = (i + 1) & (MEMO_PEOPLE_SLOTS - 1)) {
        const struct store_memo_slot *sl = &m->people_slots[i];

        if (sl->hash == h && memcmp(m->people[sl->idx].id, id, len + 1) == 0) {
            break;
        }
    }
    return &m->people_slots[i];
}

/* (id, day)'s slot in m's line table, as memo_person_slot(). */
static struct store_memo_slot *memo_line_slot(struct store_txn_memo *m, const char *id, size_t len,
                                              int32_t day, uint32_t h)
{
    size_t i;

    if (m->line_slots == NULL) {
        m->line_slots = calloc(MEMO_LINES_SLOTS, sizeof(*m->line_slots));
        m->lines = malloc(MEMO_LINES_MAX * sizeof(*m->lines));
        if (m->line_slots == NULL || m->lines == NULL) {
            free(m->line_slots);
            free(m->lines);
            m->line_slots = NULL;
            m->lines = NULL;
            return NULL;
        }
    }
    memo_gen_start(m);
    for (i = h & (MEMO_LINES_SLOTS - 1); m->line_slots[i].gen == m->gen;
         i = (i + 1) & (MEMO_LINES_SLOTS - 1)) {
        const struct store_memo_slot *sl = &m->line_slots[i];

        if (sl->hash == h && sl->day == day && memcmp(m->lines[sl->idx].id, id, len + 1) == 0) {
            break;
        }
    }
    return &m->line_slots[i];
}

/* protobuf-c's allocator over m's blocks: NULL once they would pass the
 * cap, which makes the decoding fail and the caller read as without a
 * memo. */
static void *memo_arena_alloc(void *arg, size_t size)
{
    struct store_txn_memo *m = arg;
    struct store_memo_block *b = m->blocks;
    size_t need;
    void *p;

    if (size > MEMO_ARENA_MAX) {
        return NULL;
    }
    need = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (need == 0) {
        need = sizeof(max_align_t);
    }
    if (b == NULL || b->cap - b->used < need) {
        size_t cap = need > MEMO_BLOCK_BYTES ? need : MEMO_BLOCK_BYTES;

        if (cap > MEMO_ARENA_MAX - m->arena_bytes) {
            return NULL;
        }
        b = malloc(sizeof(*b) + cap);
        if (b == NULL) {
            return NULL;
        }
        b->next = m->blocks;
        b->used = 0;
        b->cap = cap;
        m->blocks = b;
        m->arena_bytes += cap;
    }
    p = (char *)b->data + b->used;
    b->used += need;
    return p;
}

/* The blocks are freed together when the memo is emptied. */
static void memo_arena_free(void *arg, void *p)
{
    (void)arg;
    (void)p;
}

/* Reads person id (len bytes) as people_get() does, decoding it into m's
 * blocks: 0 and *out, or -EINVAL, -ENOENT or a store code; -ENOBUFS when
 * it does not decode there (the blocks are full, or the value is damaged,
 * which people_get() then reports). */
static int memo_person_decode(struct store_txn *t, struct store_txn_memo *m, const char *id,
                              size_t len, Coachq__V1__Person **out)
{
    ProtobufCAllocator a = {memo_arena_alloc, memo_arena_free, m};
    MDB_val v;
    int rc;

    *out = NULL;
    if (validate_id(id) != 0) {
        return -EINVAL;
    }
    rc = store_txn_get_raw(t, t->s->dbi_people, (const uint8_t *)id, len, &v);
    if (rc != 0) {
        return rc;
    }
    *out = coachq__v1__person__unpack(&a, v.mv_size, v.mv_data);
    return *out != NULL ? 0 : -ENOBUFS;
}

/*
 * people_get(t, id) through t's memo. Returns 0 and sets *out (borrowed
 * until the memo is emptied) and *own (what the caller frees with
 * coachq__v1__person__free_unpacked(): NULL when the memo keeps the
 * person, else *out); -ENOENT with both NULL; or people_get()'s other
 * codes, which are not kept.
 */
int store_txn_memo_person(struct store_txn *t, const char *id, const Coachq__V1__Person **out,
                          Coachq__V1__Person **own)
{
    struct store_txn_memo *m = t->memo;
    struct store_memo_slot *sl = NULL;
    Coachq__V1__Person *p = NULL;
    size_t len = memo_id_len(id);
    uint32_t h = 0;
    int rc;

    *out = NULL;
    *own = NULL;
    if (m != NULL && len > 0) {
        h = memo_hash(id, len, 0);
        sl = memo_person_slot(m, id, len, h);
        if (sl != NULL && sl->gen == m->gen) {
            p = m->people[sl->idx].p;
            *out = p;
            return p != NULL ? 0 : -ENOENT;
        }
    }
    if (sl != NULL && m->n_people < MEMO_PEOPLE_MAX) {
        rc = memo_person_decode(t, m, id, len, &p);
        /* The read leaves the table as it was, so sl is still id's empty
         * slot. */
        if (rc == 0 || rc == -ENOENT) {
            struct store_memo_person *e = &m->people[m->n_people];

            e->p = p;
            memcpy(e->id, id, len + 1);
            sl->hash = h;
            sl->day = 0;
            sl->idx = (uint32_t)m->n_people;
            sl->gen = m->gen;
            m->n_people++;
            *out = p;
            return rc;
        }
        if (rc != -ENOBUFS) {
            return rc;
        }
    }
    rc = people_get(t, id, &p);
    *own = p;
    *out = p;
    return rc;
}

int store_txn_memo_manager_at(struct store_txn *t, const char *person, int32_t day, char *out,
                              size_t outlen)
{
    return store_txn_memo_manager_span(t, person, day, out, outlen, NULL, NULL);
}

/*
 * people_manager_span(t, person, day, out, outlen, from, last) through t's
 * memo, with the same results: 0 with the manager in out, -ENOENT
 * (reports to nobody), -ENOBUFS, or its other codes, which are not kept.
 */
int store_txn_memo_manager_span(struct store_txn *t, const char *person, int32_t day, char *out,
                                size_t outlen, int32_t *from, int32_t *last)
{
    struct store_txn_memo *m = t->memo;
    struct store_memo_slot *sl = NULL;
    char manager[VALIDATE_MAX_ID + 1];
    size_t len = memo_id_len(person);
    size_t mlen;
    uint32_t h = 0;
    int32_t span_from = INT32_MIN, span_last = INT32_MAX;
    int rc;

    if (out != NULL && outlen > 0) {
        out[0] = '\0';
    }
    if (m == NULL || len == 0) {
        return people_manager_span(t, person, day, out, outlen, from, last);
    }
    h = memo_hash(person, len, day);
    sl = memo_line_slot(m, person, len, day, h);
    if (sl != NULL && sl->gen == m->gen) {
        const struct store_memo_line *e = &m->lines[sl->idx];

        rc = e->rc;
        span_from = e->from;
        span_last = e->last;
        memcpy(manager, e->manager, sizeof(manager));
    } else {
        manager[0] = '\0';
        rc = people_manager_span(t, person, day, manager, sizeof(manager), &span_from, &span_last);
        if (sl != NULL && (rc == 0 || rc == -ENOENT) && m->n_lines < MEMO_LINES_MAX) {
            struct store_memo_line *e = &m->lines[m->n_lines];

            e->from = span_from;
            e->last = span_last;
            e->rc = rc;
            memcpy(e->id, person, len + 1);
            /* -ENOENT leaves the manager empty. */
            memcpy(e->manager, manager, rc == 0 ? strlen(manager) + 1 : 1);
            sl->hash = h;
            sl->day = day;
            sl->idx = (uint32_t)m->n_lines;
            sl->gen = m->gen;
            m->n_lines++;
        }
    }
    if (rc == 0 || rc == -ENOENT) {
        if (from != NULL) {
            *from = span_from;
        }
        if (last != NULL) {
            *last = span_last;
        }
    }
    if (rc != 0) {
        return rc;
    }
    mlen = strlen(manager);
    if (out == NULL || mlen + 1 > outlen) {
        return -ENOBUFS;
    }
    memcpy(out, manager, mlen + 1);
    return 0;
}

/*
 * Rubric id at version (not 0), as rubrics_get() reads it. Returns 0 and
 * sets *out, borrowed until the transaction's memo is emptied; *own is
 * what the caller must free (coachq__v1__rubric__free_unpacked(), NULL
 * when the memo keeps it). Otherwise rubrics_get()'s code.
 */
int store_txn_memo_rubric(struct store_txn *t, const char *id, uint32_t version,
                          const Coachq__V1__Rubric **out, Coachq__V1__Rubric **own)
{
    struct store_txn_memo *m = t->memo;
    Coachq__V1__Rubric *r = NULL;
    int rc;

    *out = NULL;
    *own = NULL;
    if (m != NULL && m->rubric != NULL && version != 0 && m->rubric->version == version &&
        m->rubric->id != NULL && id != NULL && strcmp(m->rubric->id, id) == 0) {
        *out = m->rubric;
        return 0;
    }
    rc = rubrics_get(t, id, version, &r);
    if (rc != 0) {
        return rc;
    }
    /* Only a rubric stored under the id and version asked for is kept, so
     * a hit above is exactly that key. */
    if (m != NULL && version != 0 && r->version == version && r->id != NULL &&
        strcmp(r->id, id) == 0) {
        coachq__v1__rubric__free_unpacked(m->rubric, NULL);
        m->rubric = r;
        m->rubric_unique = -1;
    } else {
        *own = r;
    }
    *out = r;
    return 0;
}

int store_txn_memo_rubric_unique(struct store_txn *t, const Coachq__V1__Rubric *r)
{
    struct store_txn_memo *m = t->memo;

    if (m == NULL || r == NULL || r != m->rubric) {
        return 0;
    }
    if (m->rubric_unique < 0) {
        /* Once per rubric the batch decodes, not per record. */
        int unique = 1;

        for (size_t i = 0; i < r->n_behaviours && unique; i++) {
            const char *id = r->behaviours[i]->id;

            for (size_t j = 0; j < i && unique; j++) {
                const char *other = r->behaviours[j]->id;

                unique = id != NULL && other != NULL && strcmp(id, other) != 0;
            }
            unique = unique && id != NULL;
        }
        m->rubric_unique = unique;
    }
    return m->rubric_unique;
}

/*
 * certs_valid_on(t, observer, rubric, day) without what it decodes: 0 if
 * a certification holds on day, -ENOENT if none does, or its other codes
 * (which are not kept).
 */
int store_txn_memo_certified(struct store_txn *t, const char *observer, const char *rubric,
                             int32_t day)
{
    struct store_txn_memo *m = t->memo;
    Coachq__V1__Certification *c = NULL;
    size_t lo, lr;
    int rc;

    lo = observer != NULL ? strlen(observer) : sizeof(m->cert_observer);
    lr = rubric != NULL ? strlen(rubric) : sizeof(m->cert_rubric);
    if (m != NULL && m->cert_set && m->cert_day == day && lo < sizeof(m->cert_observer) &&
        lr < sizeof(m->cert_rubric) && strcmp(m->cert_observer, observer) == 0 &&
        strcmp(m->cert_rubric, rubric) == 0) {
        return m->cert_rc;
    }
    rc = certs_valid_on(t, observer, rubric, day, &c, NULL);
    coachq__v1__certification__free_unpacked(c, NULL);
    if (m != NULL && (rc == 0 || rc == -ENOENT) && lo < sizeof(m->cert_observer) &&
        lr < sizeof(m->cert_rubric)) {
        memcpy(m->cert_observer, observer, lo + 1);
        memcpy(m->cert_rubric, rubric, lr + 1);
        m->cert_day = day;
        m->cert_rc = rc;
        m->cert_set = 1;
    }
    return rc;
}
