#include "listen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

int listen_bind(uv_loop_t *loop, uv_tcp_t *listener, const char *host, const char *port,
                uv_connection_cb cb, const char *what, int *bound, char *err, size_t errlen)
{
    struct addrinfo hints;
    uv_getaddrinfo_t req;
    struct sockaddr_storage addr;
    int namelen = sizeof(addr);
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = uv_getaddrinfo(loop, &req, NULL, host, port, &hints);
    if (rc < 0) {
        snprintf(err, errlen, "cannot resolve the %s's address %s: %s", what, host,
                 uv_strerror(rc));
        return rc;
    }
    rc = uv_tcp_bind(listener, req.addrinfo->ai_addr, 0);
    uv_freeaddrinfo(req.addrinfo);
    if (rc == 0) {
        rc = uv_listen((uv_stream_t *)listener, 511, cb);
    }
    if (rc == 0) {
        rc = uv_tcp_getsockname(listener, (struct sockaddr *)&addr, &namelen);
    }
    if (rc < 0) {
        snprintf(err, errlen, "cannot listen on %s %s:%s: %s", what, host, port, uv_strerror(rc));
        return rc;
    }
    *bound = addr.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&addr)->sin6_port)
                                        : ntohs(((struct sockaddr_in *)&addr)->sin_port);
    return 0;
}

static void refused_closed(uv_handle_t *h)
{
    free(h);
}

void listen_refuse(uv_loop_t *loop, uv_stream_t *listener, const char *event, const char *reason,
                   unsigned open)
{
    uv_tcp_t *t = malloc(sizeof(*t));

    if (t == NULL || uv_tcp_init(loop, t) < 0) {
        free(t);
        log_event(LOG_ERROR, "accept_failed", "reason=out_of_memory");
        return;
    }
    if (uv_accept(listener, (uv_stream_t *)t) == 0) {
        log_event(LOG_WARN, event, "reason=%s open=%u", reason, open);
    }
    uv_close((uv_handle_t *)t, refused_closed);
}

int listen_admit(uv_loop_t *loop, uv_stream_t *listener, int status, int stopping, unsigned open,
                 unsigned max, const char *event)
{
    if (status < 0) {
        log_event(LOG_WARN, "accept_failed", "reason=\"%s\"", uv_strerror(status));
        return 0;
    }
    if (stopping || open >= max) {
        listen_refuse(loop, listener, event, stopping ? "shutting_down" : "max_connections", open);
        return 0;
    }
    return 1;
}

void listen_addr_key(const struct sockaddr *sa, struct listen_addr *out)
{
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    memset(out, 0, sizeof(*out));
    if (sa == NULL) {
        return;
    }
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

        out->b[0] = 4;
        memcpy(out->b + 1, &in->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        const unsigned char *a = in6->sin6_addr.s6_addr;

        if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0) {
            out->b[0] = 4;
            memcpy(out->b + 1, a + 12, 4);
        } else {
            out->b[0] = 6;
            memcpy(out->b + 1, a, 8); /* the /64 */
        }
    }
}

int listen_addr_equal(const struct listen_addr *a, const struct listen_addr *b)
{
    return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

int listen_write_port_file(const char *path, int port)
{
    char tmp[600];
    char line[16];
    int fd, n, rc = 0;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
        return -ENAMETOOLONG;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        return -errno;
    }
    n = snprintf(line, sizeof(line), "%d\n", port);
    if (write(fd, line, (size_t)n) != n) {
        rc = -EIO;
    }
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0) {
        rc = -errno;
    }
    return rc;
}
