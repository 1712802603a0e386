#include "sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int sdnotify_send_to(const char *addr, const char *state)
{
    struct sockaddr_un sa;
    struct msghdr msg;
    struct iovec iov;
    socklen_t salen;
    size_t alen;
    size_t slen;
    ssize_t n;
    int fd = -1;
    int rc = -EINVAL;

    if (addr == NULL || state == NULL) {
        goto out;
    }
    alen = strlen(addr);
    slen = strlen(state);
    /* A relative path would depend on the working directory; systemd only
     * ever passes an absolute path or an abstract name. */
    if (alen < 2 || (addr[0] != '/' && addr[0] != '@') || alen > sizeof(sa.sun_path) - 1 ||
        slen == 0 || slen > SDNOTIFY_MAX) {
        goto out;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, addr, alen);
    if (addr[0] == '@') {
        /* Abstract namespace: a leading NUL, and the name's exact length
         * (no terminating NUL counts, or the name would differ). */
        sa.sun_path[0] = '\0';
        salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + alen);
    } else {
        salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + alen + 1);
    }
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    memset(&msg, 0, sizeof(msg));
    iov.iov_base = (void *)state;
    iov.iov_len = slen;
    msg.msg_name = &sa;
    msg.msg_namelen = salen;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    do {
        n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        rc = -errno;
        goto out;
    }
    /* A datagram goes whole or not at all. */
    rc = (size_t)n == slen ? 0 : -EIO;
out:
    if (fd >= 0) {
        close(fd);
    }
    return rc;
}

int sdnotify_send(const char *state)
{
    const char *addr = getenv("NOTIFY_SOCKET");

    if (addr == NULL || addr[0] == '\0') {
        return 0;
    }
    return sdnotify_send_to(addr, state);
}

int sdnotify_reloading_state(char *buf, size_t buflen)
{
    struct timespec ts;
    uint64_t usec;
    int n;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return -errno;
    }
    usec = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    n = snprintf(buf, buflen, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, usec);
    if (n < 0 || (size_t)n >= buflen) {
        return -ENOSPC;
    }
    return 0;
}
