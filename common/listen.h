/*
 * listen: what both of coachqd's ports (the protocol and the dashboards) do
 * the same way with their listening sockets: bind and listen on a host and
 * port (port "0" picks a free one), refuse a connection at once when there
 * is no room for it, group peers' addresses for per-address limits, and
 * write the bound port to a file for whoever started the server.
 *
 * The listening handles are the caller's (embedded in its server struct)
 * and closed by it; this module keeps nothing. Loop thread only, except
 * listen_addr_key(), listen_addr_equal() and listen_write_port_file(),
 * which touch no loop and are safe from any thread.
 */
#ifndef COACHQ_LISTEN_H
#define COACHQ_LISTEN_H

#include <stddef.h>

#include <uv.h>

/*
 * Binds listener (initialised with uv_tcp_init) to host:port, listens with
 * cb and sets *bound to the port it got. what names the port in err
 * ("protocol port", "dashboard port"). host, port and what are borrowed
 * for the call. Returns 0 or a negative libuv code with a message in err
 * (size errlen, always NUL-terminated).
 */
int listen_bind(uv_loop_t *loop, uv_tcp_t *listener, const char *host, const char *port,
                uv_connection_cb cb, const char *what, int *bound, char *err, size_t errlen);

/*
 * Takes a pending connection off listener's backlog and closes it at once
 * (libuv stops watching a listener whose callback returned without
 * accepting), so a flood cannot hold file descriptors. Logs event with the
 * reason and the number of connections open.
 */
void listen_refuse(uv_loop_t *loop, uv_stream_t *listener, const char *event, const char *reason,
                   unsigned open);

/*
 * The first step of a listener's connection callback: returns 1 when the
 * new connection may be taken, or refuses it (listen_refuse()) and returns 0
 * when accepting failed (status < 0, logged), the server is stopping, or
 * open connections reached max. event names the refusal in the log.
 */
int listen_admit(uv_loop_t *loop, uv_stream_t *listener, int status, int stopping, unsigned open,
                 unsigned max, const char *event);

/*
 * What per-address limits count as one address: an IPv4 address (also when
 * it arrives IPv4-mapped on an IPv6 socket), or the /64 prefix of an IPv6
 * address, since one host commonly holds a whole /64.
 */
struct listen_addr {
    unsigned char b[17]; /* family tag, then the address bytes; zero-padded */
};

/* Fills out from sa (may be NULL: every unknown address is one). */
void listen_addr_key(const struct sockaddr *sa, struct listen_addr *out);

/* 1 if a and b are the same address for the limits, else 0. */
int listen_addr_equal(const struct listen_addr *a, const struct listen_addr *b);

/* Writes "PORT\n" to path (borrowed for the call) through a temporary file
 * and a rename, so a reader sees the whole line or nothing. Returns 0 or a
 * negative errno. */
int listen_write_port_file(const char *path, int port);

#endif
