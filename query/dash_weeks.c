/*
 * dash_weeks: the weeks of one scope as the line dashboards read them
 * (dash_weeks.h): the weekly aggregates of the page's weeks, their rolling
 * sums, and the summing of weeks with one bump allocator per scope read.
 */
#include "dash_weeks.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* A bump allocator for the weeks of one struct dash_weeks: their behaviours,
 * ids and arrays live in a few chunks freed together (dash_weeks_free()),
 * rather than in hundreds of allocations per scope read. */
#define WEEK_CHUNK 32768u

struct week_chunk {
    struct week_chunk *next;
    size_t used;
    size_t cap;
    max_align_t data[];
};

/*
 * Every week this file sums is built by dash_week_add(): the same sums in the
 * same order as agg_week_add() (so the same figures), without its
 * allocation per behaviour id and per added behaviour. A behaviour and its
 * id are one allocation, the array of them grows by doubling, and a
 * behaviour is first looked for at its position in src, since the weeks of
 * one rubric list their behaviours in one order. With an arena (the weeks
 * of a struct dash_weeks) everything comes from it and is freed with it; without
 * one (NULL) from malloc, freed by dash_week_clear().
 */
#define WEEK_FIRST_CAP 16u

/* n bytes from *arena (NULL when out of memory). */
static void *week_alloc(struct week_chunk **arena, size_t n)
{
    size_t align = sizeof(max_align_t);
    struct week_chunk *c = *arena;
    void *p;

    n = (n + align - 1) / align * align;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > WEEK_CHUNK ? n : WEEK_CHUNK;

        c = malloc(sizeof(*c) + cap);
        if (c == NULL) {
            return NULL;
        }
        c->next = *arena;
        c->used = 0;
        c->cap = cap;
        *arena = c;
    }
    p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

static void week_arena_free(struct week_chunk **arena)
{
    while (*arena != NULL) {
        struct week_chunk *next = (*arena)->next;

        free(*arena);
        *arena = next;
    }
}

/* Frees a week built by dash_week_add() without an arena. */
void dash_week_clear(Coachq__V1__AggWeek *w)
{
    static const Coachq__V1__AggWeek init = COACHQ__V1__AGG_WEEK__INIT;

    for (size_t i = 0; i < w->n_behaviours; i++) {
        free(w->behaviours[i]);
    }
    free(w->behaviours);
    free(w->markers);
    free(w->pairs);
    free(w->mix);
    free(w->mix_q);
    *w = init;
}

/* Grows an array of elements of size bytes, *arr with *have of them, to n
 * elements, the new ones all-zero bytes (0 for the uint64 counts, 0.0 for
 * the IEEE 754 doubles). */
static int week_grow(struct week_chunk **arena, void **arr, size_t *have, size_t n, size_t size)
{
    unsigned char *a;

    if (*have >= n) {
        return 0;
    }
    if (arena != NULL) {
        a = week_alloc(arena, n * size);
        if (a != NULL && *have > 0) {
            memcpy(a, *arr, *have * size);
        }
    } else {
        a = realloc(*arr, n * size);
    }
    if (a == NULL) {
        return -ENOMEM;
    }
    memset(a + *have * size, 0, (n - *have) * size);
    *arr = a;
    *have = n;
    return 0;
}

static int week_grow_u64(struct week_chunk **arena, uint64_t **arr, size_t *have, size_t n)
{
    void *p = *arr;
    int rc = week_grow(arena, &p, have, n, sizeof(**arr));

    *arr = p;
    return rc;
}

static int week_grow_f64(struct week_chunk **arena, double **arr, size_t *have, size_t n)
{
    void *p = *arr;
    int rc = week_grow(arena, &p, have, n, sizeof(**arr));

    *arr = p;
    return rc;
}

/* dst's behaviour id (looked for at position hint first), appended when
 * dst has none yet; NULL when out of memory. */
static Coachq__V1__AggBehaviour *week_behaviour(struct week_chunk **arena, Coachq__V1__AggWeek *dst,
                                                const char *id, size_t hint)
{
    static const Coachq__V1__AggBehaviour init = COACHQ__V1__AGG_BEHAVIOUR__INIT;
    Coachq__V1__AggBehaviour *db;
    size_t n = dst->n_behaviours;
    size_t len;

    if (hint < n && strcmp(dst->behaviours[hint]->id, id) == 0) {
        return dst->behaviours[hint];
    }
    for (size_t j = 0; j < n; j++) {
        if (strcmp(dst->behaviours[j]->id, id) == 0) {
            return dst->behaviours[j];
        }
    }
    /* The array holds WEEK_FIRST_CAP, then doubles at every power of two
     * from there. */
    if (n == 0 || (n >= WEEK_FIRST_CAP && (n & (n - 1)) == 0)) {
        size_t cap = n == 0 ? WEEK_FIRST_CAP : 2 * n;
        Coachq__V1__AggBehaviour **arr;

        if (arena != NULL) {
            arr = week_alloc(arena, cap * sizeof(*arr));
            if (arr != NULL && n > 0) {
                memcpy(arr, dst->behaviours, n * sizeof(*arr));
            }
        } else {
            arr = realloc(dst->behaviours, cap * sizeof(*arr));
        }
        if (arr == NULL) {
            return NULL;
        }
        dst->behaviours = arr;
    }
    len = strlen(id);
    db = arena != NULL ? week_alloc(arena, sizeof(*db) + len + 1) : malloc(sizeof(*db) + len + 1);
    if (db == NULL) {
        return NULL;
    }
    *db = init;
    db->id = (char *)(db + 1);
    memcpy(db->id, id, len + 1);
    dst->behaviours[dst->n_behaviours++] = db;
    return db;
}

/* dst += src (see above), dst's memory from arena (NULL: malloc); src's
 * behaviours left out unless behaviours is set, and then only the one
 * whose id is only when only is not NULL. Returns 0 or -ENOMEM. */
static int week_add_only(struct week_chunk **arena, Coachq__V1__AggWeek *dst,
                         const Coachq__V1__AggWeek *src, int behaviours, const char *only)
{
    for (size_t i = 0; behaviours && i < src->n_behaviours; i++) {
        const Coachq__V1__AggBehaviour *sb = src->behaviours[i];
        Coachq__V1__AggBehaviour *db;

        if (sb == NULL || sb->id == NULL || (only != NULL && strcmp(sb->id, only) != 0)) {
            continue;
        }
        db = week_behaviour(arena, dst, sb->id, i);
        if (db == NULL) {
            return -ENOMEM;
        }
        db->count += sb->count;
        db->sum += sb->sum;
        db->sumsq += sb->sumsq;
        db->proficient += sb->proficient;
    }
    if (week_grow_u64(arena, &dst->markers, &dst->n_markers, src->n_markers) != 0 ||
        week_grow_u64(arena, &dst->pairs, &dst->n_pairs, src->n_pairs) != 0 ||
        week_grow_u64(arena, &dst->mix, &dst->n_mix, src->n_mix) != 0 ||
        week_grow_f64(arena, &dst->mix_q, &dst->n_mix_q, src->n_mix_q) != 0) {
        return -ENOMEM;
    }
    agg_week_add_counts(dst, src);
    return 0;
}

static int week_add_in(struct week_chunk **arena, Coachq__V1__AggWeek *dst,
                       const Coachq__V1__AggWeek *src, int behaviours)
{
    return week_add_only(arena, dst, src, behaviours, NULL);
}

/* dst += src for the quality figures alone (DASH_ROLL_INDEX): the same
 * additions agg_week_add_counts() makes of them, and nothing to allocate. */
static void week_add_index(Coachq__V1__AggWeek *dst, const Coachq__V1__AggWeek *src)
{
    dst->observations += src->observations;
    dst->index_n += src->index_n;
    dst->index_sum += src->index_sum;
    dst->index_sumsq += src->index_sumsq;
}

/* dst += src, dst's memory from malloc (free with dash_week_clear()). */
int dash_week_add(Coachq__V1__AggWeek *dst, const Coachq__V1__AggWeek *src)
{
    return week_add_in(NULL, dst, src, 1);
}

/* What a read of one scope's weeks fills: the weeks (with their behaviours
 * unless sums is set) and, with sums, *total and *recent summed whole as
 * each week is read. */
struct weeks_read {
    struct dash_weeks *ws;
    int sums;
    Coachq__V1__AggWeek *total;  /* every week */
    const char *total_only;      /* NULL, or the one behaviour total keeps */
    Coachq__V1__AggWeek *recent; /* the weeks from ws->w[recent_from] */
    unsigned recent_from;
};

static int weeks_cb(int32_t monday, const Coachq__V1__AggWeek *src, void *arg)
{
    struct weeks_read *wr = arg;
    struct dash_weeks *ws = wr->ws;
    int32_t first = ws->first - 7 * (DASH_ROLL - 1);
    int32_t i = (monday - first) / 7;
    int rc;

    if (monday < first || (monday - first) % 7 != 0 || i >= (int32_t)(ws->n + DASH_ROLL - 1)) {
        return 0;
    }
    if (ws->index_only) {
        week_add_index(&ws->raw[i], src);
        rc = 0;
    } else {
        rc = week_add_in(&ws->arena, &ws->raw[i], src, !wr->sums);
    }
    if (rc != 0 || !wr->sums || i < DASH_ROLL - 1) {
        return rc;
    }
    /* The weeks come oldest first, so each sum adds them in the order
     * weeks_sum() adds the stored copies: the same figures, with no copy of
     * a week's behaviours in between. */
    rc = week_add_only(NULL, wr->total, src, 1, wr->total_only);
    if (rc == 0 && wr->recent != NULL && (unsigned)i - (DASH_ROLL - 1) >= wr->recent_from) {
        rc = week_add_in(NULL, wr->recent, src, 1);
    }
    return rc;
}

void dash_weeks_free(struct dash_weeks *ws)
{
    week_arena_free(&ws->arena);
    free(ws->raw);
    free(ws->r);
    ws->raw = ws->r = ws->w = NULL;
    ws->n = 0;
}

/* Reads the last n weeks (up to c->until_monday) of one scope, and their
 * rolling sums as roll says; with wr->sums, the weeks without behaviours
 * and the sums of wr (dash_weeks.h). */
static int weeks_load(const struct dash_ctx *c, enum agg_scope kind, const char *id, unsigned n,
                      enum dash_roll roll, struct dash_weeks *ws, struct weeks_read *wr)
{
    static const Coachq__V1__AggWeek init = COACHQ__V1__AGG_WEEK__INIT;
    int rc;

    ws->n = n;
    ws->first = dash_week(c, n - 1);
    ws->arena = NULL;
    ws->index_only = roll == DASH_ROLL_INDEX;
    /* Not calloc(): every week is set to init below, and zeroing the
     * arrays first cost as much again (n is an unsigned int: its weeks'
     * bytes fit a size_t). */
    ws->raw = malloc((n + DASH_ROLL - 1) * sizeof(*ws->raw));
    ws->r = malloc((n > 0 ? n : 1) * sizeof(*ws->r));
    if (ws->raw == NULL || ws->r == NULL) {
        free(ws->raw);
        free(ws->r);
        ws->raw = ws->r = NULL;
        ws->n = 0;
        return -ENOMEM;
    }
    ws->w = ws->raw + DASH_ROLL - 1;
    for (unsigned i = 0; i < n + DASH_ROLL - 1; i++) {
        ws->raw[i] = init;
    }
    for (unsigned i = 0; i < n; i++) {
        ws->r[i] = init;
    }
    /* Only the page's own weeks are read: the first weeks of a rolling
     * series roll over fewer weeks rather than reach before the period the
     * page states. */
    wr->ws = ws;
    rc = agg_read(c->t, dash_agg_kind(c, kind), id, c->rubric_id, ws->first, c->until_monday,
                  weeks_cb, wr);
    for (unsigned i = 0; rc == 0 && roll != DASH_ROLL_NONE && i < n; i++) {
        for (unsigned j = 0; rc == 0 && j < DASH_ROLL; j++) {
            if (ws->index_only) {
                week_add_index(&ws->r[i], &ws->raw[i + j]);
            } else {
                rc = week_add_in(&ws->arena, &ws->r[i], &ws->raw[i + j], roll == DASH_ROLL_ALL);
            }
        }
    }
    if (rc != 0) {
        dash_weeks_free(ws);
    }
    return rc;
}

int dash_weeks_load(const struct dash_ctx *c, enum agg_scope kind, const char *id, unsigned n,
                    enum dash_roll roll, struct dash_weeks *ws)
{
    struct weeks_read wr;

    memset(&wr, 0, sizeof(wr));
    return weeks_load(c, kind, id, n, roll, ws, &wr);
}

/* dash_weeks_load_sums_only() with ws's weeks rolled as roll says
 * (DASH_ROLL_HEAD or DASH_ROLL_INDEX). */
static int sums_load(const struct dash_ctx *c, enum agg_scope kind, const char *id, unsigned n,
                     struct dash_weeks *ws, Coachq__V1__AggWeek *total, const char *total_only,
                     unsigned recent, Coachq__V1__AggWeek *recent_sum, enum dash_roll roll)
{
    static const Coachq__V1__AggWeek init = COACHQ__V1__AGG_WEEK__INIT;
    struct weeks_read wr;

    *total = init;
    if (recent_sum != NULL) {
        *recent_sum = init;
    }
    memset(&wr, 0, sizeof(wr));
    wr.sums = 1;
    wr.total = total;
    wr.total_only = total_only;
    wr.recent = recent_sum;
    wr.recent_from = recent < n ? n - recent : 0;
    return weeks_load(c, kind, id, n, roll, ws, &wr);
}

int dash_weeks_load_sums(const struct dash_ctx *c, enum agg_scope kind, const char *id, unsigned n,
                         struct dash_weeks *ws, Coachq__V1__AggWeek *total, unsigned recent,
                         Coachq__V1__AggWeek *recent_sum)
{
    return sums_load(c, kind, id, n, ws, total, NULL, recent, recent_sum, DASH_ROLL_HEAD);
}

int dash_weeks_load_sums_only(const struct dash_ctx *c, enum agg_scope kind, const char *id,
                              unsigned n, struct dash_weeks *ws, Coachq__V1__AggWeek *total,
                              const char *total_only, unsigned recent,
                              Coachq__V1__AggWeek *recent_sum)
{
    return sums_load(c, kind, id, n, ws, total, total_only, recent, recent_sum, DASH_ROLL_INDEX);
}

/* Sums weeks [from, to) of ws into *sum (initialised here; dash_week_clear()
 * it, also after a failure), their behaviours too if behaviours is set. */
static int weeks_sum(const struct dash_weeks *ws, unsigned from, unsigned to,
                     Coachq__V1__AggWeek *sum, int behaviours)
{
    static const Coachq__V1__AggWeek init = COACHQ__V1__AGG_WEEK__INIT;
    int rc = 0;

    *sum = init;
    for (unsigned i = from; i < to && i < ws->n && rc == 0; i++) {
        if (ws->index_only && !behaviours) {
            /* The weeks hold nothing else to add. */
            week_add_index(sum, &ws->w[i]);
        } else {
            rc = week_add_in(NULL, sum, &ws->w[i], behaviours);
        }
    }
    return rc;
}

int dash_weeks_sum(const struct dash_weeks *ws, unsigned from, unsigned to,
                   Coachq__V1__AggWeek *sum)
{
    return weeks_sum(ws, from, to, sum, 1);
}

int dash_weeks_sum_head(const struct dash_weeks *ws, unsigned from, unsigned to,
                        Coachq__V1__AggWeek *sum)
{
    return weeks_sum(ws, from, to, sum, 0);
}
