/*
 * rubrics: versioned rubrics in the store.
 *
 * A rubric version is immutable: putting (id, version) again with other
 * content is refused, so old observations keep their version's meaning.
 * A changed rubric is a new version.
 *
 * Every function works inside a transaction of the caller's (store_exec()
 * or store_view()); rubrics_put() needs a write transaction and returns
 * -EROFS in a read one. Rubrics passed in are borrowed for the call;
 * rubrics handed to a callback are borrowed for that call, and those handed
 * out are decoded copies the caller owns. Errors are negative errnos, or
 * the store's codes that callers inside store/ pass on untouched.
 */
#ifndef COACHQ_RUBRICS_H
#define COACHQ_RUBRICS_H

#include <stdint.h>

#include "coachq.pb-c.h"
#include "store.h"

/*
 * Stores r (write transaction). *changed (may be NULL) is 0 when the same
 * version is already stored with identical content (added_at_ms is not
 * compared). Returns 0, -EEXIST (that version exists with other content),
 * -EILSEQ (a behaviour id of r has another meaning in a stored version of
 * the rubric: see rubrics_meaning_conflict()), -EINVAL (no id or version
 * 0), -EROFS or a store code to pass on.
 */
int rubrics_put(struct store_txn *t, const Coachq__V1__Rubric *r, int *changed);

/* A behaviour whose id a stored version uses with another meaning. */
struct rubrics_conflict {
    char behaviour[65]; /* the behaviour id */
    size_t index;       /* its position in the new version's behaviours */
    uint32_t version;   /* the stored version that defines it otherwise */
    const char *what;   /* "another definition" or "other anchors" (static) */
    int coach_role;     /* 1: version `version` has another coach role (behaviour "") */
};

/*
 * The dashboards' aggregates are kept per rubric and behaviour id, across
 * versions. So a behaviour id may appear in several versions of a rubric
 * only with the same definition and the same four anchors (its name and
 * indicators may change); a behaviour that means something else needs a
 * new id. Checks r against every stored version of r->id other than
 * r->version, in any transaction. Returns 0 (no conflict), 1 with *out
 * set (the first conflict), or a negative code.
 */
int rubrics_meaning_conflict(struct store_txn *t, const Coachq__V1__Rubric *r,
                             struct rubrics_conflict *out);

/* Reads id at version (0: the latest). Returns 0 and sets *out (caller
 * owns, free with coachq__v1__rubric__free_unpacked(*out, NULL)), or
 * -ENOENT. */
int rubrics_get(struct store_txn *t, const char *id, uint32_t version, Coachq__V1__Rubric **out);

/* Calls cb for every stored version in (id, version) order, or only the
 * latest version of each id if latest_only (r borrowed for the call). */
typedef int (*rubrics_cb)(const Coachq__V1__Rubric *r, void *arg);
int rubrics_list(struct store_txn *t, int latest_only, rubrics_cb cb, void *arg);

/* The behaviour of r with id bid, or NULL (borrowed from r). */
const Coachq__V1__Behaviour *rubrics_behaviour(const Coachq__V1__Rubric *r, const char *bid);

/* True if r requires an evidence note for score. */
int rubrics_needs_evidence(const Coachq__V1__Rubric *r, uint32_t score);

#endif
