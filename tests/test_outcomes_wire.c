/*
 * test_outcomes_wire: a stored figure's value read from its wire bytes
 * (outcomes_value_of()) against protobuf-c's full unpack, on packed
 * outcomes with random and edge-case values, with fields added, repeated,
 * of another wire type or unknown, cut short at every length and with
 * bytes flipped; and outcomes_figures() against outcomes_list() on a
 * store: the same figures, in the same order, with the same fields.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "outcomes.h"
#include "people.h"
#include "store.h"
#include "testutil.h"

/* A small generator with its state in the caller's hands. */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Checks the wire read of len bytes at p against the full unpack: the
 * same value, bit for bit, or -EIO exactly when the unpack fails. Returns
 * 1 when the bytes were an Outcome. */
static int same_as_unpack(const uint8_t *p, size_t len)
{
    Coachq__V1__Outcome *o = coachq__v1__outcome__unpack(NULL, len, p);
    double v = 12345.0;
    int rc = outcomes_value_of(p, len, &v);

    if (o == NULL) {
        assert_int_equal(rc, -EIO);
        return 0;
    }
    assert_int_equal(rc, 0);
    assert_memory_equal(&v, &o->value, sizeof(v));
    coachq__v1__outcome__free_unpacked(o, NULL);
    return 1;
}

/* Packs o into buf (at least 512 bytes); returns the length. */
static size_t pack(const Coachq__V1__Outcome *o, uint8_t *buf)
{
    size_t n = coachq__v1__outcome__get_packed_size(o);

    assert_true(n <= 512);
    return coachq__v1__outcome__pack(o, buf);
}

static const uint8_t value_2_5[] = {0x29, 0, 0, 0, 0, 0, 0, 0x04, 0x40}; /* value = 2.5 */

static void test_edges(void **state)
{
    /* Each case: bytes, and whether protobuf-c reads them as an Outcome
     * (the wire read must agree either way). */
    static const struct {
        uint8_t b[40];
        size_t n;
    } cases[] = {
        {{0}, 0}, /* empty: every field absent, the value 0 */
        {{0x0a, 1, 'a', 0x10, 1, 0x1a, 7, '2', '0', '2', '6', '-', 'Q', '1'}, 14},
        {{0x29, 0, 0, 0, 0, 0, 0, 0x04, 0x40}, 9},
        /* The value twice: the last counts. */
        {{0x29, 0, 0, 0, 0, 0, 0, 0x04, 0x40, 0x29, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f}, 18},
        /* NaN, infinity, minus zero, the smallest subnormal. */
        {{0x29, 1, 0, 0, 0, 0, 0, 0xf8, 0x7f}, 9},
        {{0x29, 0, 0, 0, 0, 0, 0, 0xf0, 0xff}, 9},
        {{0x29, 0, 0, 0, 0, 0, 0, 0, 0x80}, 9},
        {{0x29, 1, 0, 0, 0, 0, 0, 0, 0}, 9},
        /* An unknown varint field, then an unknown length-delimited one. */
        {{0x38, 5, 0x29, 0, 0, 0, 0, 0, 0, 0x04, 0x40}, 11},
        {{0xa2, 0x06, 2, 'x', 'y', 0x29, 0, 0, 0, 0, 0, 0, 0x04, 0x40}, 14},
        /* The value as a varint, as 32 bits, as a string: another wire type. */
        {{0x28, 5}, 2},
        {{0x2d, 0, 0, 0x20, 0x40}, 5},
        {{0x2a, 1, 0}, 3},
        /* A value cut short, a string longer than what is left. */
        {{0x29, 0, 0, 0, 0, 0, 0, 0x04}, 8},
        {{0x0a, 5, 'a', 'b'}, 4},
        /* A varint of 11 bytes; one of exactly 10; a tag of field 0. */
        {{0x30, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 1}, 12},
        {{0x30, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 1}, 11},
        {{0x00, 0}, 2},
        /* A string's length as an overlong varint. */
        {{0x0a, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00, 'a'}, 8},
        /* A group start, end-group alone. */
        {{0x0b, 0x0c}, 2},
        {{0x0c}, 1},
    };
    double v = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        same_as_unpack(cases[i].b, cases[i].n);
    }
    assert_int_equal(outcomes_value_of(value_2_5, sizeof(value_2_5), &v), 0);
    assert_true(v == 2.5);
    /* Truncated bytes are a clear error, never a read past them. */
    assert_int_equal(outcomes_value_of(value_2_5, sizeof(value_2_5) - 1, &v), -EIO);
}

static void test_random(void **state)
{
    static const char *const periods[] = {"2026-Q1", "2025-12", "2026-02", "1970-01"};
    static const char *const metrics[] = {"win_rate", "quota_attainment", "sessions_held", "x_9"};
    uint64_t s = 0x9e3779b97f4a7c15u;
    uint8_t buf[512], cut[512];
    char subject[70];
    size_t outcomes = 0;

    (void)state;
    for (int round = 0; round < 4000; round++) {
        Coachq__V1__Outcome o = COACHQ__V1__OUTCOME__INIT;
        uint64_t bits = rnd(&s);
        size_t n, slen = rnd(&s) % 65;

        for (size_t i = 0; i < slen; i++) {
            subject[i] = (char)('a' + rnd(&s) % 26);
        }
        subject[slen] = '\0';
        o.subject_id = subject;
        o.team = (protobuf_c_boolean)(rnd(&s) & 1);
        o.period = (char *)periods[rnd(&s) % 4];
        o.metric = (char *)metrics[rnd(&s) % 4];
        /* Any 64 bits: NaNs, infinities, subnormals, zeros of both signs. */
        memcpy(&o.value, &bits, sizeof(o.value));
        if (round % 7 == 0) {
            o.value = (double)(rnd(&s) % 1000) / 8.0;
        }
        o.imported_at_ms = (int64_t)rnd(&s) >> (rnd(&s) % 64);
        n = pack(&o, buf);
        outcomes += (size_t)same_as_unpack(buf, n);
        /* Cut short at every length. */
        for (size_t k = 0; k < n; k++) {
            memcpy(cut, buf, k);
            same_as_unpack(cut, k);
        }
        /* A field appended: the value again, an unknown field, or random
         * bytes; then a few bytes flipped anywhere. */
        memcpy(cut, buf, n);
        switch (round % 4) {
        case 0:
            cut[n] = 0x29;
            bits = rnd(&s);
            memcpy(cut + n + 1, &bits, 8);
            n += 9;
            break;
        case 1:
            cut[n] = 0x40 | (uint8_t)(rnd(&s) % 6); /* field 8, any wire type */
            cut[n + 1] = 2;
            cut[n + 2] = 'z';
            cut[n + 3] = 'z';
            n += 4;
            break;
        default:
            for (int j = 0; j < 6; j++) {
                cut[n++] = (uint8_t)rnd(&s);
            }
            break;
        }
        same_as_unpack(cut, n);
        for (int j = 0; j < 3; j++) {
            cut[rnd(&s) % n] ^= (uint8_t)(1u << (rnd(&s) % 8));
            same_as_unpack(cut, n);
        }
    }
    /* Every packed outcome was one. */
    assert_int_equal(outcomes, 4000);
}

/* ---- outcomes_figures() against outcomes_list() ------------------------- */

/* A bare store (testutil_store_fx_new()), with a watchdog. */
static int setup(void **state)
{
    testutil_watchdog(240);
    *state = testutil_store_fx_new(NULL, NULL);
    return 0;
}

static int teardown(void **state)
{
    testutil_store_fx_free(*state);
    return 0;
}

static const char *const subjects[] = {"rep.a", "rep.bb", "flm.c", "z"};

/* Puts every subject's figures: months and quarters of 2024 to 2026, some
 * team figures, the metrics in turn, values that are not round. */
static int load_fn(struct store_txn *t, void *arg)
{
    static const char *const metrics[] = {"quota_attainment", "pipeline_coverage", "own_9"};
    char period[16];
    int rc = 0;

    (void)arg;
    for (size_t i = 0; i < 4 && rc == 0; i++) {
        Coachq__V1__Person p = COACHQ__V1__PERSON__INIT;

        p.id = (char *)subjects[i];
        p.name = (char *)subjects[i];
        rc = people_put(t, &p, NULL);
    }
    for (size_t i = 0; i < 4 && rc == 0; i++) {
        for (int y = 2024; y <= 2026 && rc == 0; y++) {
            for (int m = 1; m <= 16 && rc == 0; m++) {
                Coachq__V1__Outcome o = COACHQ__V1__OUTCOME__INIT;

                if (m <= 12) {
                    snprintf(period, sizeof(period), "%d-%02d", y, m);
                } else {
                    snprintf(period, sizeof(period), "%d-Q%d", y, m - 12);
                }
                o.subject_id = (char *)subjects[i];
                o.team = (protobuf_c_boolean)((m + (int)i) % 3 == 0);
                o.period = period;
                o.metric = (char *)metrics[(size_t)m % 3];
                o.value = (double)(y * 100 + m) / 7.0 + (double)i;
                rc = outcomes_put(t, &o, NULL);
            }
        }
    }
    return rc;
}

/* The figures as text, from either read: one line per figure. */
struct seen {
    char text[32768];
    size_t len;
    size_t n;
};

static void seen_add(struct seen *w, const char *subject, size_t slen, int team, int32_t first,
                     int quarter, const char *metric, size_t mlen, double value)
{
    int n = snprintf(w->text + w->len, sizeof(w->text) - w->len, "%.*s|%d|%d|%d|%.*s|%a\n",
                     (int)slen, subject, team, (int)first, quarter, (int)mlen, metric, value);

    assert_true(n > 0 && (size_t)n < sizeof(w->text) - w->len);
    w->len += (size_t)n;
    w->n++;
}

static int list_cb(const Coachq__V1__Outcome *o, void *arg)
{
    int32_t first = 0, last = 0;
    int quarter = 0;

    assert_int_equal(outcomes_period_parts(o->period, &first, &last, &quarter), 0);
    seen_add(arg, o->subject_id, strlen(o->subject_id), o->team != 0, first, quarter, o->metric,
             strlen(o->metric), o->value);
    return 0;
}

static int fig_cb(const struct outcomes_fig *f, void *arg)
{
    seen_add(arg, f->subject, f->subject_len, f->team, f->first_day, f->quarter, f->metric,
             f->metric_len, f->value);
    return 0;
}

struct both {
    const char *subject;
    int32_t from, until;
    struct seen list, figs;
};

static int both_fn(struct store_txn *t, void *arg)
{
    struct both *b = arg;
    int rc;

    memset(&b->list, 0, sizeof(b->list));
    memset(&b->figs, 0, sizeof(b->figs));
    rc = outcomes_list(t, b->subject, b->from, b->until, list_cb, &b->list);
    if (rc == 0) {
        rc = outcomes_figures(t, b->subject, b->from, b->until, fig_cb, &b->figs);
    }
    return rc;
}

static int count_fn(struct store_txn *t, void *arg)
{
    return outcomes_count(t, arg);
}

static void test_figures(void **state)
{
    struct testutil_store_fx *f = *state;
    struct both *b = calloc(1, sizeof(*b));
    uint64_t n = 0;
    size_t total = 0;

    assert_non_null(b);
    assert_int_equal(store_exec(f->s, load_fn, NULL), 0);
    /* Every subject and all of them; windows inside, across and outside
     * the figures. */
    for (size_t i = 0; i <= 4; i++) {
        static const int32_t windows[][2] = {
            {0, 40000}, {19814, 19904}, {20089, 20089}, {20454, 20600}, {30000, 30001}};

        for (size_t w = 0; w < sizeof(windows) / sizeof(windows[0]); w++) {
            b->subject = i < 4 ? subjects[i] : NULL;
            b->from = windows[w][0];
            b->until = windows[w][1];
            assert_int_equal(store_view(f->s, both_fn, b), 0);
            assert_int_equal(b->figs.n, b->list.n);
            assert_string_equal(b->figs.text, b->list.text);
            total += b->figs.n;
        }
    }
    /* The windows reached figures: 4 subjects x 48 in the widest, twice. */
    assert_true(total > 2 * 4 * 48);
    /* Every figure is counted: 4 subjects, 3 years of 12 months and 4 quarters. */
    assert_int_equal(store_view(f->s, count_fn, &n), 0);
    assert_int_equal(n, 4 * 3 * 16);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_random),
        cmocka_unit_test_setup_teardown(test_figures, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
