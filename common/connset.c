/*
 * connset: the open connections of one listening port (see connset.h).
 */
#include "connset.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "log.h"

void connset_init(struct connset *set, uv_loop_t *loop, SSL_CTX *ctx,
                  const struct connset_opts *opts)
{
    memset(set, 0, sizeof(*set));
    set->loop = loop;
    set->ctx = ctx;
    set->opts = *opts;
    set->opts.tls.read_buf = set->read_buf;
    set->opts.tls.read_buf_len = sizeof(set->read_buf);
}

int connset_admit(struct connset *set, uv_stream_t *listener, int status)
{
    /* Refused ones are closed at once, so a flood cannot hold file
     * descriptors. */
    return listen_admit(set->loop, listener, status, set->stopping, set->n - set->nrefusing,
                        set->opts.max_connections, set->opts.refused_event);
}

void connset_refuse(struct connset *set, uv_stream_t *listener, const char *reason)
{
    listen_refuse(set->loop, listener, set->opts.refused_event, reason, set->n);
}

/* Open connections from cc's address, cc included. */
static unsigned connset_count_address(const struct connset *set, const struct connset_conn *cc)
{
    unsigned n = 0;

    for (const struct connset_conn *o = set->head; o != NULL; o = o->next) {
        if (o->tls != NULL && listen_addr_equal(&o->addr, &cc->addr)) {
            n++;
        }
    }
    return n;
}

int connset_accept(struct connset *set, uv_stream_t *listener, struct connset_conn *cc,
                   const struct tls_conn_callbacks *cbs, void *data)
{
    int rc;

    cc->data = data;
    cc->id = ++set->next_id;
    rc = tls_conn_accept(set->loop, listener, set->ctx, &set->opts.tls, cbs, data, &cc->tls);
    if (rc < 0) {
        cc->tls = NULL;
        connset_refuse(set, listener, "accept_failed");
        return rc;
    }
    tls_conn_peer(cc->tls, cc->peer, sizeof(cc->peer));
    listen_addr_key(tls_conn_peer_addr(cc->tls), &cc->addr);
    cc->prev = NULL;
    cc->next = set->head;
    if (set->head != NULL) {
        set->head->prev = cc;
    }
    set->head = cc;
    set->n++;
    /* One address (a flood, a slowloris, idle sockets) may hold only
     * max_per_address of the slots, so a user from elsewhere always finds
     * one. Counted after the accept, which is when the address is known;
     * the refused one is closed at once and costs no handshake. */
    if (connset_count_address(set, cc) > set->opts.max_per_address) {
        if (set->opts.refusal_logs_open) {
            log_event(LOG_WARN, set->opts.refused_event,
                      "conn=%" PRIu64 " peer=%s reason=max_per_address open=%u", cc->id, cc->peer,
                      set->n);
        } else {
            log_event(LOG_WARN, set->opts.refused_event,
                      "conn=%" PRIu64 " peer=%s reason=max_per_address", cc->id, cc->peer);
        }
        cc->refused = 1;
        set->nrefusing++;
        tls_conn_abort(cc->tls, -EUSERS);
        return 1;
    }
    /* A fixed deadline that trickled bytes do not extend: a peer that
     * connects and then stays silent gives its slot back soon. */
    tls_conn_set_deadline(cc->tls, set->opts.accept_deadline_ms);
    return 0;
}

void connset_remove(struct connset *set, struct connset_conn *cc)
{
    cc->tls = NULL;
    if (cc->prev != NULL) {
        cc->prev->next = cc->next;
    } else {
        set->head = cc->next;
    }
    if (cc->next != NULL) {
        cc->next->prev = cc->prev;
    }
}

void connset_release(struct connset *set, struct connset_conn *cc)
{
    set->n--;
    if (cc->refused) {
        set->nrefusing--;
    }
}

void connset_stop(struct connset *set)
{
    set->stopping = 1;
}

void connset_abort_all(struct connset *set, int err)
{
    for (struct connset_conn *cc = set->head; cc != NULL; cc = cc->next) {
        if (cc->tls != NULL) {
            tls_conn_abort(cc->tls, err);
        }
    }
}

void connset_count_states(const struct connset *set, unsigned *handshaking, unsigned *open)
{
    *handshaking = 0;
    *open = 0;
    for (const struct connset_conn *e = set->head; e != NULL; e = e->next) {
        if (e->tls == NULL) {
            continue;
        }
        if (tls_conn_handshake_done(e->tls)) {
            (*open)++;
        } else {
            (*handshaking)++;
        }
    }
}
