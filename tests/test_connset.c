/*
 * Tests of connset (the open connections of one listening port): the
 * per-address cap aborts the connection over it and gives its slot back,
 * max_connections refuses at admission, connections are numbered and
 * named, and abort-all and stop leave an empty set that admits nothing.
 * Plain TCP clients on 127.0.0.1 are enough: a connection is accepted
 * before any TLS byte.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "connset.h"
#include "listen.h"
#include "testutil.h"
#include "tls_ctx.h"

struct owner {
    struct connset_conn cs;
    struct fixture *fx;
    int closed;
    int err;
};

struct fixture {
    uv_loop_t loop;
    uv_tcp_t listener;
    SSL_CTX *ctx;
    struct connset set;
    struct owner *conns[8];
    unsigned naccepted;
    unsigned nrefused; /* connset_accept() returned 1 */
    unsigned nclosed;
    int port;
};

static void on_data(struct tls_conn *t, const uint8_t *data, size_t len, void *arg)
{
    (void)t;
    (void)data;
    (void)len;
    (void)arg;
}

static void on_close(struct tls_conn *t, int err, void *arg)
{
    struct owner *o = arg;

    (void)t;
    o->closed = 1;
    o->err = err;
    connset_remove(&o->fx->set, &o->cs);
    connset_release(&o->fx->set, &o->cs);
    o->fx->nclosed++;
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct fixture *fx = listener->data;
    static const struct tls_conn_callbacks cbs = {
        .on_data = on_data,
        .on_close = on_close,
    };
    struct owner *o;
    int rc;

    if (!connset_admit(&fx->set, listener, status)) {
        return;
    }
    o = calloc(1, sizeof(*o));
    assert_non_null(o);
    o->fx = fx;
    rc = connset_accept(&fx->set, listener, &o->cs, &cbs, o);
    assert_true(rc >= 0);
    assert_true(fx->naccepted < 8);
    fx->conns[fx->naccepted++] = o;
    if (rc > 0) {
        fx->nrefused++;
    }
}

static void fixture_start(struct fixture *fx, unsigned max_conn, unsigned max_per_address)
{
    struct tls_ctx_opts topts;
    struct connset_opts copts;
    char cert[600], key[600], ca[600], err[300];

    memset(fx, 0, sizeof(*fx));
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    memset(&topts, 0, sizeof(topts));
    topts.cert_file = testutil_cert_path(cert, sizeof(cert), "server.crt");
    topts.key_file = testutil_cert_path(key, sizeof(key), "server.key");
    topts.ca_file = testutil_cert_path(ca, sizeof(ca), "ca.crt");
    topts.alpn = "coachq/1";
    if (tls_ctx_server_new(&topts, &fx->ctx, err, sizeof(err)) != 0) {
        fail_msg("tls_ctx_server_new: %s", err);
    }
    memset(&copts, 0, sizeof(copts));
    copts.max_connections = max_conn;
    copts.max_per_address = max_per_address;
    copts.accept_deadline_ms = 10000;
    copts.refused_event = "test_conn_refused";
    connset_init(&fx->set, &fx->loop, fx->ctx, &copts);
    uv_tcp_init(&fx->loop, &fx->listener);
    fx->listener.data = fx;
    if (listen_bind(&fx->loop, &fx->listener, "127.0.0.1", "0", on_connection, "test port",
                    &fx->port, err, sizeof(err)) != 0) {
        fail_msg("listen_bind: %s", err);
    }
}

static void fixture_stop(struct fixture *fx)
{
    connset_stop(&fx->set);
    connset_abort_all(&fx->set, -ECANCELED);
    uv_close((uv_handle_t *)&fx->listener, NULL);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(fx->set.n, 0);
    assert_int_equal(fx->set.nrefusing, 0);
    assert_null(fx->set.head);
    for (unsigned i = 0; i < fx->naccepted; i++) {
        assert_int_equal(fx->conns[i]->closed, 1);
        free(fx->conns[i]);
    }
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    SSL_CTX_free(fx->ctx);
}

/* A blocking TCP connection to the fixture's port. */
static int client_connect(const struct fixture *fx)
{
    struct sockaddr_in sin;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)fx->port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    return fd;
}

/* Runs the loop until cond holds (a watchdog fails a hang). */
#define RUN_UNTIL(fx, cond)                                                                        \
    do {                                                                                           \
        while (!(cond)) {                                                                          \
            uv_run(&(fx)->loop, UV_RUN_ONCE);                                                      \
        }                                                                                          \
    } while (0)

static void test_per_address(void **state)
{
    struct fixture fx;
    int a, b;

    (void)state;
    fixture_start(&fx, 10, 1);
    a = client_connect(&fx);
    RUN_UNTIL(&fx, fx.naccepted == 1);
    assert_int_equal(fx.conns[0]->cs.id, 1);
    assert_int_equal(strncmp(fx.conns[0]->cs.peer, "127.0.0.1:", 10), 0);
    assert_ptr_equal(fx.conns[0]->cs.data, fx.conns[0]);
    assert_int_equal(fx.set.n, 1);
    /* The second from the same address is accepted, counted as refusing
     * (until its close, which may come in the same loop turn), and
     * aborted. */
    b = client_connect(&fx);
    RUN_UNTIL(&fx, fx.naccepted == 2);
    assert_int_equal(fx.nrefused, 1);
    assert_int_equal(fx.conns[1]->cs.id, 2);
    assert_int_equal(fx.conns[1]->cs.refused, 1);
    RUN_UNTIL(&fx, fx.conns[1]->closed);
    assert_int_equal(fx.conns[1]->err, -EUSERS);
    assert_int_equal(fx.set.n, 1);
    assert_int_equal(fx.set.nrefusing, 0);
    assert_ptr_equal(fx.set.head, &fx.conns[0]->cs);
    assert_int_equal(fx.conns[0]->closed, 0);
    close(a);
    close(b);
    fixture_stop(&fx);
}

/* The set lends its own read buffer to every connection it accepts
 * (connset.h): the bytes a peer sends land there, not in a buffer of the
 * connection's own. The peer here sends bytes that are not TLS, which the
 * server reads, refuses and closes on. */
static void test_reads_into_set_buffer(void **state)
{
    static const char junk[] = "ZZZZZZZZZZZZZZZZ";
    struct fixture fx;
    int a;

    (void)state;
    fixture_start(&fx, 10, 10);
    assert_ptr_equal(fx.set.opts.tls.read_buf, fx.set.read_buf);
    assert_int_equal(fx.set.opts.tls.read_buf_len, sizeof(fx.set.read_buf));
    memset(fx.set.read_buf, 0, sizeof(fx.set.read_buf));
    a = client_connect(&fx);
    assert_int_equal(write(a, junk, sizeof(junk) - 1), (ssize_t)(sizeof(junk) - 1));
    RUN_UNTIL(&fx, fx.naccepted == 1 && fx.conns[0]->closed);
    assert_memory_equal(fx.set.read_buf, junk, sizeof(junk) - 1);
    close(a);
    fixture_stop(&fx);
}

static void test_max_connections(void **state)
{
    struct fixture fx;
    int a, b;
    char byte;

    (void)state;
    fixture_start(&fx, 1, 10);
    a = client_connect(&fx);
    RUN_UNTIL(&fx, fx.naccepted == 1);
    /* The second is refused at admission: closed at once, never accepted
     * into the set. */
    b = client_connect(&fx);
    for (;;) {
        ssize_t r = recv(b, &byte, 1, MSG_DONTWAIT);

        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            break;
        }
        uv_run(&fx.loop, UV_RUN_NOWAIT);
        testutil_sleep_ms(5);
    }
    assert_int_equal(fx.naccepted, 1);
    assert_int_equal(fx.set.n, 1);
    close(a);
    close(b);
    fixture_stop(&fx);
}

static void test_abort_all(void **state)
{
    struct fixture fx;
    int fds[3];

    (void)state;
    fixture_start(&fx, 10, 10);
    for (int i = 0; i < 3; i++) {
        fds[i] = client_connect(&fx);
    }
    RUN_UNTIL(&fx, fx.naccepted == 3);
    assert_int_equal(fx.set.n, 3);
    connset_abort_all(&fx.set, -ETIMEDOUT);
    RUN_UNTIL(&fx, fx.nclosed == 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fx.conns[i]->err, -ETIMEDOUT);
        close(fds[i]);
    }
    fixture_stop(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_per_address),
        cmocka_unit_test(test_reads_into_set_buffer),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_abort_all),
    };

    testutil_watchdog(60);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
