/*
 * certs: observer certification and calibration.
 *
 * A certification lets an observer score one rubric (any of its versions)
 * from one day to another, inclusive. It is granted by an administrator or
 * by calibration: an enablement lead registers a reference session with
 * master scores; observers score it like a session (an observation with
 * calibration_ref set); after each attempt the observer's agreement with
 * the masters is computed over the latest attempt of every reference of
 * that rubric they scored, and a certification from that day is granted
 * when the policy's thresholds are met. Every result is kept (history).
 */
#ifndef COACHQ_CERTS_H
#define COACHQ_CERTS_H

#include <stdint.h>

#include "coachq.pb-c.h"
#include "store.h"

/* Stores c (write transaction), keyed by observer, rubric and first day; a
 * certification with the same key is replaced. */
int certs_put(struct store_txn *t, const Coachq__V1__Certification *c);

/*
 * The certification of observer for rubric that holds on day. Returns 0 and
 * sets *out (caller owns, coachq__v1__certification__free_unpacked()), or
 * -ENOENT; then *last (if last is not NULL) gets the one with the latest
 * valid_until_day before or after day, or NULL when the observer never held
 * one (caller owns it too).
 */
int certs_valid_on(struct store_txn *t, const char *observer, const char *rubric, int32_t day,
                   Coachq__V1__Certification **out, Coachq__V1__Certification **last);

/* Every certification of observer (NULL: of everybody), in (observer,
 * rubric, from) order (c borrowed for the call). */
typedef int (*certs_cb)(const Coachq__V1__Certification *c, void *arg);
int certs_list(struct store_txn *t, const char *observer, certs_cb cb, void *arg);

/* Calibration references: store (-EEXIST if the id is taken with other
 * content), read (-ENOENT), list all. */
int certs_reference_put(struct store_txn *t, const Coachq__V1__CalibrationReference *r);
int certs_reference_get(struct store_txn *t, const uint8_t id[16],
                        Coachq__V1__CalibrationReference **out);
typedef int (*certs_reference_cb)(const Coachq__V1__CalibrationReference *r, void *arg);
int certs_references(struct store_txn *t, certs_reference_cb cb, void *arg);

/*
 * Records a stored calibration attempt (write transaction, called by the
 * writer right after it stored the observation obs_id, which scores
 * reference ref_id), then recomputes the observer's agreement for the
 * reference's rubric, stores the result, and grants a certification from
 * store_day_of(at_ms / 1000) for policy->cert_days days when it passed and
 * none already holds that day. *result (may be NULL) gets the result
 * (caller owns). Returns 0 or a negative code.
 */
int certs_calibrate(struct store_txn *t, const char *observer, const uint8_t ref_id[16],
                    const uint8_t obs_id[16], int64_t at_ms, const struct store_policy *policy,
                    Coachq__V1__CalibrationResult **result);

/* Every calibration result of observer (NULL: everybody), oldest first. */
typedef int (*certs_result_cb)(const Coachq__V1__CalibrationResult *r, void *arg);
int certs_results(struct store_txn *t, const char *observer, certs_result_cb cb, void *arg);

#endif
