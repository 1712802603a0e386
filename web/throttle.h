/*
 * throttle: failure budgets with exponential backoff, for the dashboard
 * port's sign-in (one table keyed by client address, one by user id).
 *
 * Each key may fail free_failures times at no cost. Every failure beyond
 * that blocks the key for base_ms, doubling with each further failure, up
 * to max_ms. Failures are forgotten one per forget_ms, so a key that stops
 * failing is back to its free budget after free_failures * forget_ms at
 * most. A blocked key's attempts are refused without being counted: an
 * attacker gets one try per backoff period, and the block never grows
 * beyond max_ms (a lock-out that an attacker can cause must stay short).
 *
 * Memory is bounded: at most max_entries keys. When a new key needs room,
 * the key that failed least recently and is not blocked goes first (the
 * least recent of all if the 64 oldest are all blocked), so that a flood
 * of made-up keys costs a fixed amount of memory, never grows the table,
 * and does not lift the blocks it holds unless it is larger than the
 * table and older blocks are all that is left.
 *
 * Time comes from the caller (milliseconds on any monotonic clock), which
 * lets tests run hours in a moment. Loop thread only (no locking).
 *
 * Keys are borrowed for the call and copied. Nothing here fails loudly: a
 * failure that cannot be counted for want of memory costs nothing (the
 * attempt is answered as within budget), which only loosens the budget
 * while memory is short.
 */
#ifndef COACHQ_THROTTLE_H
#define COACHQ_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#define THROTTLE_MAX_KEY 80

struct throttle;

struct throttle_opts {
    unsigned free_failures; /* failures before any backoff */
    uint64_t base_ms;       /* the first backoff */
    uint64_t max_ms;        /* the longest backoff */
    uint64_t forget_ms;     /* one failure is forgotten per this long */
    size_t max_entries;     /* keys held at most */
};

/* A table with o's limits (copied; a max_ms below base_ms counts as
 * base_ms), or NULL: out of memory, or o has a zero base_ms, forget_ms or
 * max_entries, or max_entries over 2^24. The caller owns it: free with
 * throttle_free(). */
struct throttle *throttle_new(const struct throttle_opts *o);

/* Frees t and every key it holds; NULL is a no-op. */
void throttle_free(struct throttle *t);

/* How many milliseconds key must still wait before its next attempt at
 * now_ms: 0 when it may try now. A key longer than THROTTLE_MAX_KEY is
 * treated as its first THROTTLE_MAX_KEY bytes. */
uint64_t throttle_wait_ms(struct throttle *t, const char *key, uint64_t now_ms);

/* Counts a failure of key at now_ms, making room for a new key as the
 * opening comment says. Returns the wait it now has (0 while within its
 * free budget, or when there was no memory to count it). */
uint64_t throttle_fail(struct throttle *t, const char *key, uint64_t now_ms);

/* Forgets key's failures (a successful sign-in of that user). */
void throttle_reset(struct throttle *t, const char *key);

/* Keys held now. */
size_t throttle_count(const struct throttle *t);

/*
 * The key for a client address from a peer string as tls_conn_peer()
 * writes it ("192.0.2.1:443" or "[2001:db8::1]:443") into out (size >= 48):
 * an IPv4 address as such (an IPv4-mapped IPv6 one too), an IPv6 address
 * as its /64 prefix, since one host usually holds a whole /64. Returns 0
 * or -EINVAL (not an address; out is then "?").
 */
int throttle_addr_key(const char *peer, char *out, size_t outlen);

#endif
