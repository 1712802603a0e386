/*
 * testutil_assign: what test_assign.c (the draw and reassignment) and
 * test_assign_fulfil.c (fulfilment, erasure, the verbs over TLS) share: the
 * organisation of three lines in a bare store with a coverage plan, the
 * draw and the reassignment. Test helpers: a failure fails the calling test
 * through cmocka. Every function runs on the test's thread, except the
 * *_txn store callbacks, which run on the store's writer thread.
 */
#ifndef COACHQ_TESTUTIL_ASSIGN_H
#define COACHQ_TESTUTIL_ASSIGN_H

#include <stddef.h>
#include <stdint.h>

#include "assign.h"
#include "store.h"
#include "testutil.h"

/* A day in October 2024; the draw's window is that month. */
#define DAY 20000
#define NOW_MS ((int64_t)DAY * 86400000 + 3600000)

/* The front-line managers of lines a, b and c. */
extern const char *const line_a[4];
extern const char *const line_b[2];
extern const char *const line_c[6];
/* Certified, enabled observers. obs.a reports to slm.a (its own line);
 * dir.1 is above slm.a (line a reports to it); slm.c observes too. */
extern const char *const observers[6];

/* A coverage plan: its scope, which exclusions are on (own line, own
 * reports, last observed), the load cap and the observations per period. */
struct plan_args {
    const char *scope;
    int line, reports, last;
    uint32_t cap, per;
};

/* One draw: the request, its result (the caller's to clear), whether it is
 * written (keep) and assign_draw()'s result. */
struct draw_call {
    struct assign_draw_req req;
    struct assign_draw_result res;
    int keep;
    int rc;
};

/* Writer callback: assign_draw() for arg, a struct draw_call; cancelled
 * (-ECANCELED) unless keep. */
int draw_txn(struct store_txn *t, void *arg);

/* Draws plan scope with seed (written when keep); fails the test unless
 * the draw succeeds. dc->res is the caller's to clear. */
void draw(struct store *s, const char *scope, uint64_t seed, uint32_t sample, int keep,
          struct draw_call *dc);

/* A bare store holding the organisation and the plan pa (borrowed); the
 * caller frees it with testutil_store_fx_free(). */
struct testutil_store_fx *org_with_plan(const struct plan_args *pa);

/* One reassignment of assignment id to observer to; new_id, fault and rc
 * are assign_reassign()'s answer. */
struct reassign_call {
    uint8_t id[16];
    const char *to;
    uint8_t new_id[16];
    struct validate_error fault;
    int rc;
};

/* Writer callback: assign_reassign() for arg, a struct reassign_call. */
int reassign_txn(struct store_txn *t, void *arg);

/* Reads assignment id again (caller frees). */
Coachq__V1__Assignment *reread(struct store *s, const uint8_t id[16]);

#endif
