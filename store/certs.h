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
 * Attempts are limited like an exam's (certs_exam_state()), and observers
 * see whether they passed, never the figures (certs_withhold_result()).
 *
 * Every function works inside a transaction of the caller's (store_exec()
 * or store_view()); writers need a write transaction and return -EROFS in
 * a read one. Strings and ids passed in are borrowed for the call; records
 * handed to a callback are borrowed for that call; records handed out are
 * decoded copies the caller owns (each function names the free function).
 * Errors are negative errnos (-ENOENT, -EINVAL, -ENOMEM, -EIO), or the
 * store's codes that callers inside store/ pass on untouched.
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

/*
 * The calibration exam (observer.md, "Calibration"). An observer may attempt
 * one reference session at most policy->cert_attempts times within any
 * policy->cert_window_days days, and not again within
 * policy->cert_cooldown_s of their previous attempt at it. Every stored
 * attempt is logged with certs_exam_log() (write transaction, by the writer
 * when it stores the attempt). certs_exam_state() says where observer
 * stands with reference ref_id at now_ms: the attempts in the window that
 * ends at now_ms, the latest attempt, and the earliest time of the next
 * attempt (0: now). Both return 0 or a negative code.
 */
struct certs_exam {
    unsigned in_window; /* attempts within the window ending at now_ms */
    unsigned allowed;   /* policy->cert_attempts (0 = no limit) */
    int64_t last_ms;    /* the latest attempt; 0 = none */
    int64_t next_ms;    /* earliest next attempt; 0 = now */
    int cooling;        /* next_ms comes from the cool-down, not the limit */
};
int certs_exam_log(struct store_txn *t, const char *observer, const uint8_t ref_id[16],
                   const uint8_t obs_id[16], int64_t at_ms);
int certs_exam_state(struct store_txn *t, const char *observer, const uint8_t ref_id[16],
                     int64_t now_ms, const struct store_policy *policy, struct certs_exam *out);

/*
 * What a lead sees of observer's attempts in [since_ms, until_ms) (observers
 * dashboard): how many, how many of the references reached the attempt
 * limit within a window, and how many times two successive attempts at one
 * reference differed in the score of exactly one behaviour (the pattern of
 * someone reading master scores off the results). At most
 * CERTS_EXAM_MAX_READ attempts are read. Returns 0 or a negative code.
 */
#define CERTS_EXAM_MAX_READ 512
struct certs_exam_summary {
    unsigned attempts;
    unsigned limit_reached; /* references attempted the allowed number of times */
    unsigned one_varied;    /* successive attempts differing in one behaviour */
};
int certs_exam_summary(struct store_txn *t, const char *observer, int64_t since_ms,
                       int64_t until_ms, const struct store_policy *policy,
                       struct certs_exam_summary *out);

/*
 * Makes c or r fit to be shown to the observer themselves: clears the
 * agreement figures (n, exact, within_one, kappa) and sets
 * figures_withheld; a result's reason becomes words without figures, and
 * its next_attempt_ms is filled from the exam's state at now_ms. The
 * figures stay with enablement leads and administrators: they would tell
 * an observer, attempt after attempt, how close each change took them to
 * the master scores.
 */
void certs_withhold_cert(Coachq__V1__Certification *c);
int certs_withhold_result(struct store_txn *t, Coachq__V1__CalibrationResult *r, int64_t now_ms,
                          const struct store_policy *policy);

/* Every calibration result of observer (NULL: everybody), oldest first. */
typedef int (*certs_result_cb)(const Coachq__V1__CalibrationResult *r, void *arg);
int certs_results(struct store_txn *t, const char *observer, certs_result_cb cb, void *arg);

#endif
