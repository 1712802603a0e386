/*
 * certs_cal: calibration as the observer's UI sees it (`coachq calibrate`,
 * observer.md "Calibration in the UI"): the reference sessions an observer
 * may attempt, retiring a reference, and revealing an attempt in full.
 *
 * The leak rule: once an observer has been shown an attempt's figures and,
 * behaviour by behaviour, where they differed from the master coder
 * (certs_reveal()), the reference is spent for them: the rules refuse any
 * later attempt at it (rules.c, field calibration_ref), so what they learnt
 * can never be turned into a certification at that reference. Until then
 * the exam's rule holds: pass or fail only (certs.h).
 *
 * Every function works inside a transaction of the caller's; writers need
 * a write transaction. Returns 0 or a negative errno (-ENOENT, -EINVAL,
 * -ENOMEM, -EIO) or the store's codes.
 */
#ifndef COACHQ_CERTS_CAL_H
#define COACHQ_CERTS_CAL_H

#include <stddef.h>
#include <stdint.h>

#include "coachq.pb-c.h"
#include "store.h"

/* Retires reference id at at_ms (write transaction); a retired one keeps
 * its first retirement time. *out (may be NULL) gets the reference as
 * stored (caller owns). -ENOENT when there is no such reference. */
int certs_reference_retire(struct store_txn *t, const uint8_t id[16], int64_t at_ms,
                           Coachq__V1__CalibrationReference **out);

/* *spent = 1 when observer has been shown the master scores of ref_id. */
int certs_ref_spent(struct store_txn *t, const char *observer, const uint8_t ref_id[16],
                    int *spent);

/* Every reference as observer sees it at now_ms (never its masters);
 * retired ones only with with_retired. s is borrowed for the call. */
typedef int (*certs_summary_cb)(const Coachq__V1__ReferenceSummary *s, void *arg);
int certs_reference_summaries(struct store_txn *t, const char *observer, int with_retired,
                              int64_t now_ms, const struct store_policy *policy,
                              certs_summary_cb cb, void *arg);

/*
 * Replaces r's figures (n, exact, within_one, kappa, kappa_undefined,
 * sessions = 1) and reason with those of the one attempt r records (its
 * observer, reference and time), judged against the policy; r->passed stays
 * the certification's decision. r must be an unpacked message (its reason
 * is freed with free()). -ENOENT when the attempt is gone.
 */
int certs_attempt_figures(struct store_txn *t, Coachq__V1__CalibrationResult *r,
                          const struct store_policy *policy);

/*
 * Reveals observer's latest attempt at ref_id (write transaction): marks its
 * result revealed (the reference is then spent for them) and sets *out
 * (caller owns, coachq__v1__calibration_answer__free_unpacked()) to the
 * result with the attempt's own figures and every master behaviour's
 * difference. -ENOENT when they have no attempt there.
 */
int certs_reveal(struct store_txn *t, const char *observer, const uint8_t ref_id[16],
                 int64_t now_ms, const struct store_policy *policy,
                 Coachq__V1__CalibrationAnswer **out);

#endif
