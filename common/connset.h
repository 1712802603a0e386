/*
 * connset: the open connections of one listening port, kept the same way by
 * both of coachqd's ports (the protocol port in server/server.c and the
 * dashboard port in web/http.c), each over common/tls_conn.
 *
 * A set accepts TLS connections from a listener under two caps: at most
 * max_connections open (a connection refused for its address is closing
 * and holds no slot), and at most max_per_address from one address
 * (listen_addr_key(): an IPv4 address or an IPv6 /64). It numbers the
 * connections, names their peers, links them in an intrusive list, puts a
 * fixed deadline on every new one, and aborts them all when told to. What
 * a connection carries (frames, HTTP requests) is its owner's.
 *
 * The owner embeds a struct connset in its server and a struct
 * connset_conn in each of its connections. A zeroed struct connset is an
 * empty set that admits nothing until connset_init(). The set never
 * allocates or frees: the owner allocates its connection before
 * connset_accept() and frees it after connset_release().
 *
 * Life of a connection:
 *   connset_admit()   may a new connection be taken at all? (else refused)
 *   connset_accept()  accept it, link it, check its address, set deadline
 *   ... the owner's tls_conn callbacks ...
 *   connset_remove()  in the owner's on_close: unlinked, tls = NULL
 *   connset_release() when the owner frees it: its slot is given back
 * Between remove and release (e.g. while a timer of the owner closes) the
 * connection still counts against max_connections.
 *
 * Errors and refusals are logged here, with the owner's event name. Loop
 * thread only.
 */
#ifndef COACHQ_CONNSET_H
#define COACHQ_CONNSET_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <uv.h>

#include "listen.h"
#include "tls_conn.h"

/* The set's part of one connection, embedded in the owner's. */
struct connset_conn {
    struct tls_conn *tls;             /* borrowed; NULL once closed (connset_remove()) */
    void *data;                       /* the owner's connection, arg of its tls_conn callbacks */
    char peer[64];                    /* "ip:port" of the peer */
    struct listen_addr addr;          /* what the per-address cap counts */
    uint64_t id;                      /* 1, 2, ... in the set's accept order */
    int refused;                      /* over max_per_address: aborted, holds no slot */
    struct connset_conn *prev, *next; /* the set's list; next stays valid through remove */
};

struct connset_opts {
    unsigned max_connections;    /* open connections before new ones are refused */
    unsigned max_per_address;    /* open connections from one address */
    uint64_t accept_deadline_ms; /* tls_conn_set_deadline() on every new connection */
    const char *refused_event;   /* log event of a refusal, e.g. "conn_refused"; static */
    int refusal_logs_open;       /* the per-address refusal also logs open=<count> */
    struct tls_conn_opts tls;    /* each connection's timeouts and water marks */
};

struct connset {
    uv_loop_t *loop;
    SSL_CTX *ctx; /* borrowed until every connection closed */
    struct connset_opts opts;
    struct connset_conn *head; /* open connections, newest first */
    unsigned n;                /* accepted and not yet released */
    unsigned nrefusing;        /* of n: refused for their address, closing */
    uint64_t next_id;
    int stopping; /* connset_stop() was called: nothing more is admitted */
    /* Every connection's socket reads land here (tls_conn_opts read_buf):
     * they all run on the set's loop, and a read is copied into OpenSSL
     * at once, so one buffer serves them instead of 64 KiB each. */
    uint8_t read_buf[TLS_CONN_READ_BUF];
};

/* Sets up an empty set on loop that accepts into ctx (borrowed until every
 * connection closed) with opts (copied; opts->tls.read_buf is replaced by
 * the set's own). The set must not move while a connection is open. */
void connset_init(struct connset *set, uv_loop_t *loop, SSL_CTX *ctx,
                  const struct connset_opts *opts);

/*
 * The first step of the listener's connection callback (status is its
 * argument): returns 1 when a new connection may be taken, else refuses
 * the pending one at once (listen_admit()) and returns 0: accepting failed,
 * the set is stopped, or max_connections are open.
 */
int connset_admit(struct connset *set, uv_stream_t *listener, int status);

/* Takes the pending connection off listener and closes it, logging the
 * set's refused_event with reason (e.g. "out_of_memory"). */
void connset_refuse(struct connset *set, uv_stream_t *listener, const char *reason);

/*
 * Accepts the pending connection into cc (embedded in the owner's
 * connection data, zeroed) with cbs and data as tls_conn_accept()'s
 * callbacks and arg, links it and gives it its number and peer. Returns:
 *   0  accepted; the accept deadline is set;
 *   1  accepted, but its address already holds max_per_address: it is
 *      logged and aborted (the owner marks it closing; on_close follows);
 *   <0 accepting failed: refused and logged, cc is not linked and no
 *      callback will come (the owner frees its connection).
 */
int connset_accept(struct connset *set, uv_stream_t *listener, struct connset_conn *cc,
                   const struct tls_conn_callbacks *cbs, void *data);

/* Unlinks cc and clears cc->tls; for the owner's on_close. */
void connset_remove(struct connset *set, struct connset_conn *cc);

/* Gives cc's slot back; once, when the owner frees the connection. */
void connset_release(struct connset *set, struct connset_conn *cc);

/* Admits nothing from now on (the owner closes its listener). Idempotent. */
void connset_stop(struct connset *set);

/* Closes every open connection at once with err (tls_conn_abort()). Their
 * on_close callbacks follow from the loop. */
void connset_abort_all(struct connset *set, int err);

/* Counts the set's open connections (linked, TLS not closed) into
 * *handshaking (handshake not completed) and *open (completed). */
void connset_count_states(const struct connset *set, unsigned *handshaking, unsigned *open);

#endif
