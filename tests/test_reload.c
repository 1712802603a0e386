/*
 * test_reload: coachqd as a service manager sees it, against the real
 * binary ($COACHQD) over TLS with a real store.
 *
 * Readiness: with $NOTIFY_SOCKET naming a datagram socket the test binds
 * (as systemd does for Type=notify), coachqd sends READY=1 once both ports
 * listen, RELOADING=1 with MONOTONIC_USEC and READY=1 again around a
 * SIGHUP, and STOPPING=1 on SIGTERM.
 *
 * SIGHUP reload: a CRL made with `openssl ca -gencrl` by the test's own CA
 * database over the test CA revokes alice; after SIGHUP a new connection
 * with alice's certificate is refused at the handshake, bob's is taken,
 * and alice's connection made before goes on working. A rotated server
 * certificate is served on both ports after the next SIGHUP. A broken CRL,
 * or one signed by another CA, fails the reload: the error is logged, the
 * old context (and its CRL) stays and the server keeps serving. A bad CRL
 * at start-up stops coachqd with exit 1 and says why.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "client.h"
#include "sdnotify.h"
#include "testutil.h"
#include "tls_ctx.h"

/* Runs argv (NULL-terminated) with output to /dev/null, unless it fails:
 * then the test fails, naming the command. */
static void run(const char *const *argv)
{
    pid_t pid;
    int status = 0;

    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);

        if (fd >= 0) {
            dup2(fd, 1);
            close(fd);
        }
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "test_reload: command failed: %s %s %s\n", argv[0], argv[1],
                argv[2] != NULL ? argv[2] : "");
        fail();
    }
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

/* How many lines of the server's log name event. */
static int log_count(const struct testutil_server *s, const char *event)
{
    char want[128];
    char line[4096];
    FILE *f;
    int n = 0;

    snprintf(want, sizeof(want), "event=%s ", event);
    f = fopen(s->log_file, "r");
    if (f == NULL) {
        return 0;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        n += strstr(line, want) != NULL;
    }
    fclose(f);
    return n;
}

/* Waits until the log names event at least n times; fails the test after
 * 20 s (scaled). */
static void wait_log(const struct testutil_server *s, const char *event, int n)
{
    for (unsigned i = 0; i < 2000u * testutil_timeout_scale(); i++) {
        if (log_count(s, event) >= n) {
            return;
        }
        testutil_sleep_ms(10);
    }
    fprintf(stderr, "test_reload: no %d x event=%s in %s\n", n, event, s->log_file);
    fail();
}

/* Whether text is in the log (a substring of one line). */
static int log_has(const struct testutil_server *s, const char *text)
{
    char line[4096];
    FILE *f = fopen(s->log_file, "r");
    int found = 0;

    if (f == NULL) {
        return 0;
    }
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        found = strstr(line, text) != NULL;
    }
    fclose(f);
    return found;
}

/* Waits until one log line holds both a and b; fails the test after 20 s
 * (scaled). */
static void wait_text(const struct testutil_server *s, const char *a, const char *b)
{
    char line[4096];

    for (unsigned i = 0; i < 2000u * testutil_timeout_scale(); i++) {
        FILE *f = fopen(s->log_file, "r");
        int found = 0;

        while (f != NULL && !found && fgets(line, sizeof(line), f) != NULL) {
            found = strstr(line, a) != NULL && strstr(line, b) != NULL;
        }
        if (f != NULL) {
            fclose(f);
        }
        if (found) {
            return;
        }
        testutil_sleep_ms(10);
    }
    fprintf(stderr, "test_reload: no line with '%s' and '%s' in %s\n", a, b, s->log_file);
    fail();
}

/* ---- Readiness ---- */

/* Receives one datagram within 20 s (scaled) into buf. */
static void recv_state(int fd, char *buf, size_t buflen)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ssize_t n;

    assert_int_equal(poll(&p, 1, (int)(20000u * testutil_timeout_scale())), 1);
    n = recv(fd, buf, buflen - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
}

/* Each case's server lives in *state, so that a failed case's teardown
 * kills it and shows its log (testutil_server_abandon()). */
static int srv_setup(void **state)
{
    *state = calloc(1, sizeof(struct testutil_server));
    return *state != NULL ? 0 : -1;
}

static int srv_teardown(void **state)
{
    testutil_server_abandon(*state);
    free(*state);
    return 0;
}

static void test_readiness(void **state)
{
    struct testutil_server *srv = *state;
    struct sockaddr_un sa;
    char dir[256];
    char data[300];
    char got[SDNOTIFY_MAX + 1];
    char want[64];
    struct client *c;
    int fd;

    testutil_tmpdir(dir, sizeof(dir));
    snprintf(data, sizeof(data), "%s/data", dir);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    assert_true(strlen(dir) + strlen("/notify") < sizeof(sa.sun_path));
    memcpy(sa.sun_path, dir, strlen(dir));
    memcpy(sa.sun_path + strlen(dir), "/notify", strlen("/notify") + 1);
    fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(setenv("NOTIFY_SOCKET", sa.sun_path, 1), 0);
    testutil_seed_org(data);
    testutil_server_start(srv, data, NULL);
    assert_int_equal(unsetenv("NOTIFY_SOCKET"), 0);

    /* READY=1 comes once, when both ports listen: they do. */
    recv_state(fd, got, sizeof(got));
    assert_non_null(strstr(got, "READY=1\n"));
    snprintf(want, sizeof(want), "MAINPID=%ld", (long)srv->pid);
    assert_non_null(strstr(got, want));
    assert_non_null(strstr(got, "STATUS=serving"));
    c = testutil_connect(srv, "alice", 0);
    client_free(c);

    /* A reload is bracketed by RELOADING=1 (with the monotonic clock) and
     * READY=1. */
    assert_int_equal(kill(srv->pid, SIGHUP), 0);
    recv_state(fd, got, sizeof(got));
    assert_memory_equal(got, "RELOADING=1\nMONOTONIC_USEC=", 27);
    recv_state(fd, got, sizeof(got));
    assert_memory_equal(got, "READY=1\n", 8);

    /* SIGTERM: STOPPING=1, then a clean exit. */
    assert_int_equal(kill(srv->pid, SIGTERM), 0);
    recv_state(fd, got, sizeof(got));
    assert_string_equal(got, "STOPPING=1");
    testutil_stop_clean(srv);
    close(fd);
    testutil_rmrf(dir);
}

/* ---- Reload of certificates and the CRL ---- */

/* The test's CA database over the test CA (never written to): index,
 * CRL number and an openssl ca configuration in dir. */
struct pki {
    char dir[300];
    char cnf[400];
    char crl[400]; /* what coachqd reads (--crl) */
    char crl_new[400];
};

static void pki_init(struct pki *p, const char *dir, const char *ca_dir)
{
    char path[400];
    char text[2048];

    snprintf(p->dir, sizeof(p->dir), "%s", dir);
    snprintf(p->cnf, sizeof(p->cnf), "%s/ca.cnf", dir);
    snprintf(p->crl, sizeof(p->crl), "%s/crl.pem", dir);
    snprintf(p->crl_new, sizeof(p->crl_new), "%s/crl.new", dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/index.txt", dir);
    write_file(path, "");
    snprintf(path, sizeof(path), "%s/crlnumber", dir);
    write_file(path, "01\n");
    snprintf(text, sizeof(text),
             "[ca]\ndefault_ca = tca\n[tca]\ndatabase = %s/index.txt\ncrlnumber = %s/crlnumber\n"
             "default_md = sha256\ndefault_crl_days = 30\ncertificate = %s/ca.crt\n"
             "private_key = %s/ca.key\ncrl_extensions = crl_ext\n"
             "[crl_ext]\nauthorityKeyIdentifier = keyid:always\n",
             dir, dir, ca_dir, ca_dir);
    write_file(p->cnf, text);
}

/* Writes a fresh CRL of p's database and moves it over the live one, as an
 * operator would (rename: coachqd never reads half a file). */
static void pki_gencrl(const struct pki *p)
{
    const char *argv[] = {"openssl", "ca", "-config", p->cnf, "-gencrl", "-out", p->crl_new, NULL};

    run(argv);
    assert_int_equal(rename(p->crl_new, p->crl), 0);
}

static void pki_revoke(const struct pki *p, const char *cert)
{
    const char *argv[] = {"openssl", "ca", "-config", p->cnf, "-revoke", cert, NULL};

    run(argv);
}

/* SHA-256 of the certificate in a PEM file. */
static void file_fingerprint(const char *path, unsigned char md[32])
{
    FILE *f = fopen(path, "r");
    X509 *x;
    unsigned int n = 0;

    assert_non_null(f);
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    assert_int_equal(X509_digest(x, EVP_sha256(), md, &n), 1);
    assert_int_equal(n, 32);
    X509_free(x);
}

/* Connects to 127.0.0.1:port with OpenSSL (ALPN alpn, with user's
 * certificate or none), and returns the SHA-256 of the certificate the
 * server presented, verified against the test CA. */
static void served_fingerprint(int port, const char *alpn, const char *user, unsigned char md[32])
{
    struct tls_ctx_opts o;
    struct sockaddr_in sin;
    struct timeval tv = {.tv_sec = 20, .tv_usec = 0};
    char ca[600];
    char cert[600];
    char key[600];
    char rel[200];
    char err[512];
    SSL_CTX *ctx = NULL;
    SSL *ssl;
    X509 *peer;
    unsigned int n = 0;
    int fd;

    memset(&o, 0, sizeof(o));
    o.ca_file = testutil_cert_path(ca, sizeof(ca), "ca.crt");
    o.alpn = alpn;
    if (user != NULL) {
        snprintf(rel, sizeof(rel), "users/%s.crt", user);
        o.cert_file = testutil_cert_path(cert, sizeof(cert), rel);
        snprintf(rel, sizeof(rel), "users/%s.key", user);
        o.key_file = testutil_cert_path(key, sizeof(key), rel);
    }
    assert_int_equal(tls_ctx_client_new(&o, &ctx, err, sizeof(err)), 0);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    ssl = SSL_new(ctx);
    assert_non_null(ssl);
    SSL_set_fd(ssl, fd);
    assert_int_equal(SSL_connect(ssl), 1);
    peer = SSL_get0_peer_certificate(ssl);
    assert_non_null(peer);
    assert_int_equal(X509_digest(peer, EVP_sha256(), md, &n), 1);
    SSL_shutdown(ssl);
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
}

/* Connects as user; returns client_connect()'s result (the client is freed). */
static int try_connect(const struct testutil_server *s, const char *user)
{
    struct client_opts o;
    struct client_error e;
    struct client *c = NULL;
    int rc;

    testutil_client_opts(&o, s, user, 7);
    o.timeout_ms = 10000u * testutil_timeout_scale();
    rc = client_connect(&o, &c, &e);
    client_free(c);
    return rc;
}

/* One request on an open connection. */
static void assert_works(struct client *c)
{
    Coachq__V1__RubricList *l = NULL;
    struct client_error e;

    assert_int_equal(client_rubrics(c, &l, &e), 0);
    assert_non_null(l);
    assert_true(l->n_rubrics > 0);
    coachq__v1__rubric_list__free_unpacked(l, NULL);
}

static void test_reload_crl_and_cert(void **state)
{
    struct testutil_server *srv = *state;
    struct pki pki;
    struct pki other;
    char dir[256];
    char data[300];
    char pkidir[300];
    char otherdir[300];
    char srvdir[300];
    char crt[400];
    char key[400];
    char tmp[400];
    char src[600];
    char alice[600];
    unsigned char want[32];
    unsigned char got[32];
    unsigned char old[32];
    const char *script = getenv("COACHQ_CERTS_SCRIPT");
    struct client *a1;
    struct client *b1;

    assert_non_null(script);
    testutil_tmpdir(dir, sizeof(dir));
    snprintf(data, sizeof(data), "%s/data", dir);
    snprintf(pkidir, sizeof(pkidir), "%s/pki", dir);
    snprintf(otherdir, sizeof(otherdir), "%s/other", dir);
    snprintf(srvdir, sizeof(srvdir), "%s/srv", dir);
    pki_init(&pki, pkidir, testutil_certs());
    snprintf(src, sizeof(src), "%s/other", testutil_certs());
    pki_init(&other, otherdir, src);
    /* The server's own copy of its certificate and key, to rotate. */
    assert_int_equal(mkdir(srvdir, 0700), 0);
    snprintf(crt, sizeof(crt), "%s/server.crt", srvdir);
    snprintf(key, sizeof(key), "%s/server.key", srvdir);
    testutil_copy_file(testutil_cert_path(src, sizeof(src), "server.crt"), crt);
    testutil_copy_file(testutil_cert_path(src, sizeof(src), "server.key"), key);
    testutil_cert_path(alice, sizeof(alice), "users/alice.crt");
    pki_gencrl(&pki); /* revokes nothing yet */
    testutil_seed_org(data);
    {
        const char *extra[] = {"--cert", crt, "--key", key, "--crl", pki.crl, NULL};

        testutil_server_start(srv, data, extra);
    }
    a1 = testutil_connect(srv, "alice", 0);
    assert_works(a1);

    /* Revoke alice; until SIGHUP nothing changes. */
    pki_revoke(&pki, alice);
    pki_gencrl(&pki);
    assert_int_equal(try_connect(srv, "alice"), 0);
    assert_int_equal(kill(srv->pid, SIGHUP), 0);
    wait_log(srv, "reloaded", 1);
    assert_true(try_connect(srv, "alice") < 0);
    /* The server logs why, maybe after the client has given up. */
    wait_text(srv, "tls=\"", "certificate revoked");
    assert_int_equal(try_connect(srv, "bob"), 0);
    /* The connection made before the reload carries on. */
    assert_works(a1);

    /* Rotate the server certificate: the new one is served on both ports
     * to new connections; open ones are not disturbed. */
    served_fingerprint(srv->port, "coachq/1", "bob", old);
    snprintf(tmp, sizeof(tmp), "%s/new", dir);
    assert_int_equal(mkdir(tmp, 0700), 0);
    {
        char p[600];
        char q[600];
        const char *argv[] = {script, "--dir", tmp, "server", "--ip", "127.0.0.1", NULL};

        snprintf(p, sizeof(p), "%s/ca.crt", tmp);
        testutil_copy_file(testutil_cert_path(q, sizeof(q), "ca.crt"), p);
        snprintf(p, sizeof(p), "%s/ca.key", tmp);
        testutil_copy_file(testutil_cert_path(q, sizeof(q), "ca.key"), p);
        run(argv);
        snprintf(p, sizeof(p), "%s/server.key", tmp);
        assert_int_equal(rename(p, key), 0);
        snprintf(p, sizeof(p), "%s/server.crt", tmp);
        assert_int_equal(rename(p, crt), 0);
    }
    file_fingerprint(crt, want);
    assert_memory_not_equal(want, old, 32);
    b1 = testutil_connect(srv, "bob", 1);
    assert_int_equal(kill(srv->pid, SIGHUP), 0);
    wait_log(srv, "reloaded", 2);
    served_fingerprint(srv->port, "coachq/1", "bob", got);
    assert_memory_equal(got, want, 32);
    served_fingerprint(srv->dash_port, "http/1.1", NULL, got);
    assert_memory_equal(got, want, 32);
    assert_works(a1);
    assert_works(b1);

    /* A broken CRL: the reload fails, says why, and changes nothing. */
    write_file(pki.crl, "-----BEGIN X509 CRL-----\nbm90IGEgQ1JM\n-----END X509 CRL-----\n");
    assert_int_equal(kill(srv->pid, SIGHUP), 0);
    wait_log(srv, "reload_failed", 1);
    assert_true(log_has(srv, pki.crl));
    testutil_assert_alive(srv);
    assert_int_equal(try_connect(srv, "bob"), 0);
    assert_true(try_connect(srv, "alice") < 0);
    served_fingerprint(srv->port, "coachq/1", "bob", got);
    assert_memory_equal(got, want, 32);

    /* A CRL from another CA would refuse everyone: refused. */
    pki_gencrl(&other);
    assert_int_equal(rename(other.crl, pki.crl), 0);
    assert_int_equal(kill(srv->pid, SIGHUP), 0);
    wait_log(srv, "reload_failed", 2);
    assert_true(log_has(srv, "is not signed by a CA of the --ca file"));
    assert_int_equal(try_connect(srv, "bob"), 0);
    assert_works(a1);

    client_free(a1);
    client_free(b1);
    testutil_stop_clean(srv);
    testutil_rmrf(dir);
}

/* Starts coachqd on data with the test certificates and --crl crl, expecting
 * exit 1 (a start-up failure); its output goes to out (size outlen). */
static void start_fails(const char *data, const char *crl, char *out, size_t outlen)
{
    char cert[600];
    char key[600];
    char ca[600];

    testutil_coachqd(out, outlen, 1, "--data", data, "--listen", "127.0.0.1:0", "--dashboard",
                     "off", "--cert", testutil_cert_path(cert, sizeof(cert), "server.crt"), "--key",
                     testutil_cert_path(key, sizeof(key), "server.key"), "--ca",
                     testutil_cert_path(ca, sizeof(ca), "ca.crt"), "--crl", crl, NULL);
}

/* A CRL that cannot be used stops coachqd at start-up, with the file named
 * and no READY=1: one that is not a CRL, and one past its nextUpdate (which
 * would refuse every client). */
static void test_bad_crl_at_start(void **state)
{
    struct pki pki;
    char dir[256];
    char data[300];
    char crl[300];
    char pkidir[300];
    char out[4096];
    char got[SDNOTIFY_MAX + 1];
    struct sockaddr_un sa;
    ssize_t n;
    int fd;

    (void)state;
    testutil_tmpdir(dir, sizeof(dir));
    snprintf(data, sizeof(data), "%s/data", dir);
    snprintf(crl, sizeof(crl), "%s/crl.pem", dir);
    write_file(crl, "not a CRL\n");
    testutil_coachqd(out, sizeof(out), 0, "init", "--data", data, NULL);
    /* A start that fails never tells the service manager it is ready. */
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    assert_true(strlen(dir) + strlen("/notify") < sizeof(sa.sun_path));
    memcpy(sa.sun_path, dir, strlen(dir));
    memcpy(sa.sun_path + strlen(dir), "/notify", strlen("/notify") + 1);
    fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(setenv("NOTIFY_SOCKET", sa.sun_path, 1), 0);
    start_fails(data, crl, out, sizeof(out));
    assert_int_equal(unsetenv("NOTIFY_SOCKET"), 0);
    assert_non_null(strstr(out, crl));
    assert_non_null(strstr(out, "no PEM X509 CRL"));
    while ((n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT)) > 0) {
        got[n] = '\0';
        assert_null(strstr(got, "READY=1"));
    }
    close(fd);

    /* Due a second after it is made: wait until that has passed. */
    snprintf(pkidir, sizeof(pkidir), "%s/pki", dir);
    pki_init(&pki, pkidir, testutil_certs());
    {
        const char *argv[] = {"openssl", "ca", "-config", pki.cnf, "-gencrl",
                              "-crlsec", "1",  "-out",    pki.crl, NULL};
        FILE *f;
        X509_CRL *x;
        int passed = 0;

        run(argv);
        f = fopen(pki.crl, "r");
        assert_non_null(f);
        x = PEM_read_X509_CRL(f, NULL, NULL, NULL);
        fclose(f);
        assert_non_null(x);
        for (int i = 0; i < 500 && !passed; i++) {
            passed = X509_cmp_current_time(X509_CRL_get0_nextUpdate(x)) < 0;
            if (!passed) {
                testutil_sleep_ms(10);
            }
        }
        X509_CRL_free(x);
        assert_true(passed);
    }
    start_fails(data, pki.crl, out, sizeof(out));
    assert_non_null(strstr(out, pki.crl));
    assert_non_null(strstr(out, "past its nextUpdate"));
    testutil_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_readiness, srv_setup, srv_teardown),
        cmocka_unit_test_setup_teardown(test_reload_crl_and_cert, srv_setup, srv_teardown),
        cmocka_unit_test(test_bad_crl_at_start),
    };

    testutil_watchdog(240);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
