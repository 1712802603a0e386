/*
 * certs_int: what certs.c shares with certs_cal.c inside the store, the
 * agreement's judgement and the one-category test, so that an attempt
 * shown to its observer is judged by the same rule as the certification.
 */
#ifndef COACHQ_CERTS_INT_H
#define COACHQ_CERTS_INT_H

#include <stddef.h>

#include "stats.h"
#include "store.h"

/* Judges ag against the policy's thresholds: 1 passed, 0 not, with the
 * reason in words into reason (len bytes). */
int certs_judge(const struct store_policy *p, const struct stats_agreement *ag, char *reason,
                size_t len);

/* True if every one of the n scores is the same category. */
int certs_one_category(const int *scores, size_t n);

#endif
