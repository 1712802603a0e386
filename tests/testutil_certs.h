/*
 * testutil_certs: what test_certs.c (the rubric, certification and
 * reference records) and test_certs_cal.c (calibration) share: a bare store
 * per test (setup(), teardown()) and the helpers that write and read its
 * records. Test helpers: a failure fails the calling test through cmocka.
 * Every function runs on the test's thread, except the *_fn store
 * callbacks, which run on the store's writer or reader thread.
 */
#ifndef COACHQ_TESTUTIL_CERTS_H
#define COACHQ_TESTUTIL_CERTS_H

#include <stddef.h>
#include <stdint.h>

#include "certs.h"
#include "rubrics.h"
#include "store.h"

/* 2024-06-10T06:13:20Z; its UTC day number is 19884. */
#define T0_MS 1718000000000LL
#define DAY0 19884
#define DAY_MS 86400000LL
#define NB 10 /* behaviours of the test rubric */

/* The behaviour ids of the test rubric, b1..b10. */
extern const char *const BIDS[NB];

/* ---- Fixture ----------------------------------------------------------- */

struct fixture {
    char dir[512];
    struct store_policy policy;
    struct store *s;
};

/* Writes the 16-byte id numbered n (a fixed prefix, n in the last byte). */
void make_id(uint8_t out[16], uint8_t n);

/* ---- Rubrics ----------------------------------------------------------- */

/* A rubric with its behaviours in one place; it points into itself, so it
 * must not be copied after trubric_init(). */
struct trubric {
    Coachq__V1__Rubric r;
    Coachq__V1__Behaviour b[NB];
    Coachq__V1__Behaviour *bp[NB];
    uint32_t ev[2];
};

/* Fills tr (borrowed; it keeps id and name, borrowed) as version of rubric
 * id with the first nb behaviours of BIDS. */
void trubric_init(struct trubric *tr, const char *id, uint32_t version, size_t nb,
                  const char *name);

/* Stores r (borrowed) in f's store; *changed gets rubrics_put()'s flag.
 * Returns the store's result. */
int put_rubric(struct fixture *f, const Coachq__V1__Rubric *r, int *changed);

/* Reads id@version; *out is the caller's (NULL on failure). */
int get_rubric(struct fixture *f, const char *id, uint32_t version, Coachq__V1__Rubric **out);

/* What a listing callback saw, as short strings. */
struct seen {
    char item[16][160];
    size_t n;
    size_t stop_after; /* return 1 after this many; 0 = never */
    int fail_with;     /* returned after the first item when not 0 */
    int latest_only;
};

/* Adds text to s; returns 1 when s->stop_after items are in, s->fail_with
 * when set, -ENOBUFS when full, else 0. */
int seen_add(struct seen *s, const char *text);

/* ---- Certifications ---------------------------------------------------- */

/* Fills c as observer's certification for rubric over days from..until
 * (the strings borrowed), granted by admin-1 at T0_MS. */
void cert_init(Coachq__V1__Certification *c, const char *observer, const char *rubric, int32_t from,
               int32_t until);

/* Writer callback: stores the certification arg (borrowed). */
int put_cert_fn(struct store_txn *t, void *arg);

struct valid_on {
    const char *observer;
    const char *rubric;
    int32_t day;
    Coachq__V1__Certification *out;
    Coachq__V1__Certification *last;
    int want_last;
};

/* Reader callback: certs_valid_on() for arg, a struct valid_on whose out
 * and last the caller frees. */
int valid_on_fn(struct store_txn *t, void *arg);

/*
 * Asks which certification of observer for rubric holds on day. Checks
 * that one holds (from, until: its days) or none does (from == 0 and
 * until == 0), and that "last" is the one ending on last_until (0: none).
 */
void check_valid_on(struct fixture *f, const char *observer, const char *rubric, int32_t day,
                    int32_t from, int32_t until, int32_t last_until);

struct list_certs {
    const char *observer;
    struct seen seen;
};

/* Reader callback: lists arg's (a struct list_certs) observer's
 * certifications into its seen. */
int list_certs_fn(struct store_txn *t, void *arg);

/* ---- Calibration references ------------------------------------------- */

/* A reference with its master ratings; scores are 1..4, or 0 for not
 * applicable. Points into itself: do not copy after tref_init(). */
struct tref {
    Coachq__V1__CalibrationReference r;
    Coachq__V1__Rating m[NB];
    Coachq__V1__Rating *mp[NB];
    uint8_t id[16];
};

/* Fills tr as reference n of rubric (version 1) with the master scores
 * (borrowed, 1..4 or 0 for not applicable) and title (borrowed). */
void tref_init(struct tref *tr, uint8_t n, const char *rubric, const int scores[NB],
               const char *title);

/* Writer callback: stores the calibration reference arg (borrowed). */
int put_ref_fn(struct store_txn *t, void *arg);

struct get_ref {
    const uint8_t *id;
    Coachq__V1__CalibrationReference *out;
};

/* Reader callback: reads arg's (a struct get_ref) reference into its out,
 * which the caller frees. */
int get_ref_fn(struct store_txn *t, void *arg);

/* The master scores of the references the tests use. */
extern const int MASTER[NB];

/* Lists observer's certifications in f's store into *l (caller's). */
void list_certs(struct fixture *f, const char *observer, struct list_certs *l);

/* cmocka setup: a bare store (no organisation enforced) in a fresh
 * directory, as a struct fixture in *state; -1 when it cannot open. */
int setup(void **state);

/* cmocka teardown: closes setup()'s store and removes its directory. */
int teardown(void **state);

#endif
