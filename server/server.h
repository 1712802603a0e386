/*
 * server: coachqd's protocol port on one libuv loop.
 *
 * Accepts TLS connections (common/tls_conn) into a connection set
 * (common/connset: --max-connections, --max-per-address, the first-frame
 * deadline), requires a verified client certificate whose subject CN is
 * the user, reads frames (proto/frame), decodes them under a memory
 * budget (proto/pbmem), validates and authorises each request
 * (proto/validate, query/auth), hands writes to the store's writer thread
 * and reads to libuv's thread pool, and answers every request with a frame
 * that carries its request id. server.c runs the port, server_req.c
 * decides each request, server_read.c runs the reads (server_int.h).
 *
 * Back-pressure: a connection stops being read while it has max_in_flight
 * requests unanswered or more than write_high bytes of answers unsent.
 * A bad frame (zero or too large a length, undecodable, over budget) gets
 * an Error and its connection is closed; other connections go on.
 *
 * Everything here runs on the loop thread, except the functions named as
 * running on the thread pool or the writer thread.
 */
#ifndef COACHQ_SERVER_H
#define COACHQ_SERVER_H

#include <stddef.h>
#include <uv.h>

#include "config.h"

struct server;

/*
 * Opens the store in cfg->data_dir (creating the directory), loads the TLS
 * material, binds the protocol port, writes the port file, installs the
 * SIGINT/SIGTERM (stop) and SIGHUP (server_reload()) handlers on loop
 * (borrowed until server_free()) and tells the service manager READY=1
 * (sdnotify). cfg is copied. On success *out is set (caller owns: run the
 * loop until it returns, then server_free()). On failure returns a
 * negative code and writes a message for the operator into err.
 */
int server_new(uv_loop_t *loop, const struct config *cfg, struct server **out, char *err,
               size_t errlen);

/* The protocol port actually bound (useful with port 0). */
int server_port(const struct server *s);
/* The bound dashboard port (0 when it is off). */
int server_dash_port(const struct server *s);

/*
 * Starts a graceful stop, as SIGTERM does: stop accepting, stop reading
 * requests, answer every request already taken (writes are committed and
 * acknowledged), close the connections, then release the loop's handles so
 * that uv_run() returns. Idempotent.
 */
void server_stop(struct server *s);

/*
 * Reloads the TLS material, as SIGHUP does: makes new contexts from the
 * configured certificate, key, CA and CRL files for both ports, and
 * accepts new connections with them; open connections keep theirs. If a
 * file is bad, the old contexts stay, the error is logged (reload_failed)
 * and a negative code returned. Tells the service manager RELOADING=1 and
 * then READY=1 (sdnotify). Loop thread.
 */
int server_reload(struct server *s);

/* 0 after a clean stop, 1 if the store failed and writes were refused. */
int server_exit_code(const struct server *s);

/* Closes the store and frees everything. Call after uv_run() returned. NULL-safe. */
void server_free(struct server *s);

#endif
