/* Tests of common/sdnotify.c against a real AF_UNIX datagram socket the
 * test binds, as systemd binds its notification socket: a path, an
 * abstract name ('@'), no $NOTIFY_SOCKET, and what is refused. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sdnotify.h"
#include "testutil.h"

/* Binds a datagram socket to addr (a path, or '@' + an abstract name). */
static int bind_dgram(const char *addr)
{
    struct sockaddr_un sa;
    size_t alen = strlen(addr);
    socklen_t salen;
    int fd;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    assert_true(alen < sizeof(sa.sun_path));
    memcpy(sa.sun_path, addr, alen);
    if (addr[0] == '@') {
        sa.sun_path[0] = '\0';
        salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + alen);
    } else {
        salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + alen + 1);
    }
    fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, salen), 0);
    return fd;
}

/* Receives one datagram (without waiting: it was sent already) into buf. */
static ssize_t recv_one(int fd, char *buf, size_t buflen)
{
    ssize_t n = recv(fd, buf, buflen - 1, MSG_DONTWAIT);

    if (n >= 0) {
        buf[n] = '\0';
    }
    return n;
}

/* A path socket gets each state as one datagram, exactly as sent. */
static void test_path_socket(void **state)
{
    char dir[256];
    char path[300];
    char got[SDNOTIFY_MAX + 2];
    int fd;

    (void)state;
    testutil_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/notify", dir);
    fd = bind_dgram(path);
    assert_int_equal(setenv("NOTIFY_SOCKET", path, 1), 0);
    assert_int_equal(sdnotify_send("READY=1\nSTATUS=serving"), 0);
    assert_int_equal(sdnotify_send("STOPPING=1"), 0);
    assert_int_equal(recv_one(fd, got, sizeof(got)), (ssize_t)strlen("READY=1\nSTATUS=serving"));
    assert_string_equal(got, "READY=1\nSTATUS=serving");
    assert_true(recv_one(fd, got, sizeof(got)) > 0);
    assert_string_equal(got, "STOPPING=1");
    /* Nothing more was sent. */
    assert_int_equal(recv_one(fd, got, sizeof(got)), -1);
    assert_int_equal(unsetenv("NOTIFY_SOCKET"), 0);
    close(fd);
    testutil_rmrf(dir);
}

/* An abstract name: '@' stands for the leading NUL, and the name's length
 * counts without a terminator (a trailing NUL would name another socket). */
static void test_abstract_socket(void **state)
{
    char name[108];
    char got[SDNOTIFY_MAX + 2];
    int fd;

    (void)state;
    snprintf(name, sizeof(name), "@coachq-test-sdnotify-%ld-%ld", (long)getpid(), (long)time(NULL));
    fd = bind_dgram(name);
    assert_int_equal(sdnotify_send_to(name, "READY=1"), 0);
    assert_true(recv_one(fd, got, sizeof(got)) > 0);
    assert_string_equal(got, "READY=1");
    close(fd);
    /* Nobody listens on it any more: the sender is told. */
    assert_int_equal(sdnotify_send_to(name, "READY=1"), -ECONNREFUSED);
}

/* The reload state carries the monotonic clock in microseconds, which
 * systemd compares with its own: it lies between two readings. */
static void test_reloading_state(void **state)
{
    struct timespec a;
    struct timespec b;
    char buf[128];
    const char *p;
    char *end = NULL;
    unsigned long long usec;
    uint64_t lo;
    uint64_t hi;

    (void)state;
    assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &a), 0);
    assert_int_equal(sdnotify_reloading_state(buf, sizeof(buf)), 0);
    assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &b), 0);
    assert_memory_equal(buf, "RELOADING=1\nMONOTONIC_USEC=", 27);
    p = buf + 27;
    usec = strtoull(p, &end, 10);
    assert_true(end != p && *end == '\0');
    lo = (uint64_t)a.tv_sec * 1000000u + (uint64_t)a.tv_nsec / 1000u;
    hi = (uint64_t)b.tv_sec * 1000000u + (uint64_t)b.tv_nsec / 1000u;
    assert_true(usec >= lo && usec <= hi);
    assert_int_equal(sdnotify_reloading_state(buf, 12), -ENOSPC);
}

/* Not under systemd: nothing is sent and nothing fails. */
static void test_unset_is_noop(void **state)
{
    (void)state;
    assert_int_equal(unsetenv("NOTIFY_SOCKET"), 0);
    assert_int_equal(sdnotify_send("READY=1"), 0);
    assert_int_equal(setenv("NOTIFY_SOCKET", "", 1), 0);
    assert_int_equal(sdnotify_send("READY=1"), 0);
    assert_int_equal(unsetenv("NOTIFY_SOCKET"), 0);
}

/* What is refused before any socket is made. */
static void test_refusals(void **state)
{
    char big[SDNOTIFY_MAX + 2];
    char longpath[200];

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    assert_int_equal(sdnotify_send_to("relative/path", "READY=1"), -EINVAL);
    assert_int_equal(sdnotify_send_to("@", "READY=1"), -EINVAL);
    assert_int_equal(sdnotify_send_to(longpath, "READY=1"), -EINVAL);
    assert_int_equal(sdnotify_send_to("/run/x", ""), -EINVAL);
    assert_int_equal(sdnotify_send_to("/run/x", big), -EINVAL);
    assert_int_equal(sdnotify_send_to(NULL, "READY=1"), -EINVAL);
    /* A path where nothing listens. */
    assert_int_equal(sdnotify_send_to("/nonexistent-coachq/notify", "READY=1"), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_socket),     cmocka_unit_test(test_abstract_socket),
        cmocka_unit_test(test_reloading_state), cmocka_unit_test(test_unset_is_noop),
        cmocka_unit_test(test_refusals),
    };

    testutil_watchdog(60);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
