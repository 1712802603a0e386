/*
 * memo: the batch's decoded reads (store_int.h, struct store_txn_memo).
 *
 * Every observation of a batch is checked against its rubric, and every
 * record of its session is counted or not by its observer's certification;
 * in a batch these are mostly the same few. The writer decodes each once
 * per batch here instead of once per record. The engine empties the memo
 * when the batch's attempt ends, before a nested transaction, and whenever
 * a rubric or certification is written (store_txn_put_raw(),
 * store_txn_del()), so a memoised value is always what a fresh read of the
 * transaction would return. Writer thread.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "certs.h"
#include "coachq.pb-c.h"
#include "rubrics.h"
#include "store_int.h"

void store_txn_memo_clear(struct store_txn_memo *m)
{
    if (m == NULL) {
        return;
    }
    coachq__v1__rubric__free_unpacked(m->rubric, NULL);
    memset(m, 0, sizeof(*m));
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
    } else {
        *own = r;
    }
    *out = r;
    return 0;
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
