/*
 * session_checks: what the server would refuse about a session's setup
 * (session_checks.c), said at setup rather than after the session was
 * scored.
 */
#ifndef COACHQ_SESSION_CHECKS_H
#define COACHQ_SESSION_CHECKS_H

#include <stddef.h>
#include <stdint.h>

struct session;

/* Loads the observer's certifications for session_checks_words(): from
 * the server (and caches them), else from the cache. Once per session. */
void session_checks_load(struct session *ses);

/* What the server would refuse about the setup, in words into buf (len
 * bytes): the observer not certified for the rubric on the day of now_ms,
 * the coachee outside the coach's line; starting "offline, from cache:"
 * (or "from cache:" when the server was not asked) when a fact came from
 * the cache, so that the words cannot be cut off. Returns 1 when there is
 * something to say, else 0 (buf ""). Nothing for an amendment. */
int session_checks_words(const struct session *ses, int64_t now_ms, char *buf, size_t len);

#endif
