/*
 * test_signin: the dashboard port's sign-in under attack, through a real
 * coachqd over real TLS with a real LMDB. Clients bind their own loopback
 * source address (127.0.0.2, .3, ...) before they connect, so that the
 * server sees distinct client addresses.
 *
 * What is checked: a flood of wrong passwords from eight keep-alive
 * connections of one address does not keep another address from signing
 * in (no 503: the checks are queued fairly, one per address at a time, and
 * the flood soon meets its address's budget, 429); 200 wrong passwords for
 * one user meet the user's budget (429 with Retry-After), the right
 * password is refused while the backoff lasts, from any address, and works
 * once it ended, while another user signs in meanwhile; bad one-time links
 * meet the address's budget too while another address's link works; each
 * failure is in the audit log and counted in the log.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "testutil.h"

#define PASSWORD "correct-horse-battery-7"
#define TOKEN_LEN 43

struct fixture {
    char dir[512];
    char data[600];
    char link[2][TOKEN_LEN + 1]; /* flm.dan's one-time links */
    struct testutil_server srv;
};

static struct fixture *F;

/* ---- A keep-alive HTTPS client with a chosen source address ---------- */

struct bc {
    int fd;
    SSL *ssl;
    char buf[65536];
    size_t len;
};

struct bresp {
    int status;
    char head[8192];
    char body[32768];
};

static SSL_CTX *client_ctx(void)
{
    static SSL_CTX *ctx;
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    char ca[600];

    pthread_mutex_lock(&mu);
    if (ctx == NULL) {
        static const unsigned char alpn[] = "\x08http/1.1";
        ctx = SSL_CTX_new(TLS_client_method());
        testutil_cert_path(ca, sizeof(ca), "ca.crt");
        SSL_CTX_load_verify_locations(ctx, ca, NULL);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1);
    }
    pthread_mutex_unlock(&mu);
    return ctx;
}

/* Connects from src (e.g. "127.0.0.2") to the dashboard port. Returns 0 or
 * -1; no cmocka assertion, so that threads may call it. */
static int bc_open(struct bc *c, const char *src)
{
    struct sockaddr_in sa, from;
    struct timeval tv = {.tv_sec = 30};

    memset(c, 0, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0) {
        return -1;
    }
    memset(&from, 0, sizeof(from));
    from.sin_family = AF_INET;
    if (inet_pton(AF_INET, src, &from.sin_addr) != 1 ||
        bind(c->fd, (struct sockaddr *)&from, sizeof(from)) != 0) {
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)F->srv.dash_port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        return -1;
    }
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    c->ssl = SSL_new(client_ctx());
    if (c->ssl == NULL) {
        return -1;
    }
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), "127.0.0.1");
    SSL_set_fd(c->ssl, c->fd);
    if (SSL_connect(c->ssl) != 1) {
        ERR_clear_error();
        return -1;
    }
    return 0;
}

static void bc_close(struct bc *c)
{
    if (c->ssl != NULL) {
        SSL_free(c->ssl);
    }
    if (c->fd >= 0) {
        close(c->fd);
    }
    c->ssl = NULL;
    c->fd = -1;
}

/* One request on c (kept alive); the answer in r. Returns the status or
 * -1. */
static int bc_req(struct bc *c, const char *method, const char *path, const char *cookie,
                  const char *body, struct bresp *r)
{
    char req[4096];
    int n;
    char *end;
    const char *cl;
    size_t hlen, blen;

    memset(r, 0, sizeof(*r));
    r->status = -1;
    n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s%s%s", method, path,
                 F->srv.dash_port, cookie != NULL ? "Cookie: " : "", cookie != NULL ? cookie : "",
                 cookie != NULL ? "\r\n" : "");
    if (body != NULL) {
        n += snprintf(req + n, sizeof(req) - (size_t)n,
                      "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "
                      "%zu\r\n\r\n%s",
                      strlen(body), body);
    } else {
        n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
    }
    if (SSL_write(c->ssl, req, n) != n) {
        ERR_clear_error();
        return -1;
    }
    for (;;) {
        c->buf[c->len] = '\0';
        end = strstr(c->buf, "\r\n\r\n");
        if (end != NULL) {
            hlen = (size_t)(end - c->buf) + 4;
            cl = strstr(c->buf, "\r\nContent-Length: ");
            if (cl == NULL || cl > end) {
                return -1;
            }
            blen = strtoul(cl + 18, NULL, 10);
            if (hlen >= sizeof(r->head) || blen >= sizeof(r->body)) {
                return -1;
            }
            if (c->len >= hlen + blen) {
                break;
            }
        }
        if (c->len >= sizeof(c->buf) - 1) {
            return -1;
        }
        n = SSL_read(c->ssl, c->buf + c->len, (int)(sizeof(c->buf) - 1 - c->len));
        if (n <= 0) {
            ERR_clear_error();
            return -1;
        }
        c->len += (size_t)n;
    }
    memcpy(r->head, c->buf, hlen);
    r->head[hlen] = '\0';
    memcpy(r->body, c->buf + hlen, blen);
    r->body[blen] = '\0';
    memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
    c->len -= hlen + blen;
    r->status = (int)strtol(r->head + 9, NULL, 10);
    return r->status;
}

/* The value of header name (first occurrence, "Name: value") into out. */
static int header_value(const struct bresp *r, const char *name, char *out, size_t outlen)
{
    char pat[80];
    const char *p, *e;

    snprintf(pat, sizeof(pat), "\r\n%s: ", name);
    p = strstr(r->head, pat);
    if (p == NULL) {
        return -1;
    }
    p += strlen(pat);
    e = strstr(p, "\r\n");
    snprintf(out, outlen, "%.*s", (int)(e - p), p);
    return 0;
}

/* The device cookie GET path (a sign-in page) set on c into device
 * ("__Host-coachq_device=..."), and its form's csrf into csrf. */
static int bc_form(struct bc *c, const char *path, char *device, size_t devlen,
                   char csrf[TOKEN_LEN + 1])
{
    struct bresp r;
    char v[300];
    const char *p;

    if (bc_req(c, "GET", path, device[0] != '\0' ? device : NULL, NULL, &r) != 200) {
        return -1;
    }
    if (header_value(&r, "Set-Cookie", v, sizeof(v)) == 0) {
        snprintf(device, devlen, "%.*s", (int)strcspn(v, ";"), v);
    }
    p = strstr(r.body, "name=\"csrf\" value=\"");
    if (p == NULL) {
        return -1;
    }
    p += strlen("name=\"csrf\" value=\"");
    snprintf(csrf, TOKEN_LEN + 1, "%.*s", TOKEN_LEN, p);
    return 0;
}

/* A whole sign-in from src in a fresh browser: the POST's status. */
static int signin_from(const char *src, const char *user, const char *password, struct bresp *r)
{
    struct bc c;
    char device[200] = "", csrf[TOKEN_LEN + 1], body[300];
    int st = -1;

    if (bc_open(&c, src) == 0 && bc_form(&c, "/signin", device, sizeof(device), csrf) == 0) {
        snprintf(body, sizeof(body), "user=%s&password=%s&csrf=%s", user, password, csrf);
        st = bc_req(&c, "POST", "/signin", device, body, r);
    }
    bc_close(&c);
    return st;
}

static double mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- Fixture ---------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    assert_true(fputs(text, fp) >= 0);
    assert_int_equal(fclose(fp), 0);
}

static void link_token(const char *out, char token[TOKEN_LEN + 1])
{
    const char *p = strstr(out, "token=");

    assert_non_null(p);
    snprintf(token, TOKEN_LEN + 1, "%.*s", TOKEN_LEN, p + 6);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    static const char *const users[] = {"flm.cara", "slm.eve", "lead.gil"};
    char out[8192], pw[700];

    assert_non_null(f);
    F = f;
    testutil_watchdog(280);
    testutil_tmpdir(f->dir, sizeof(f->dir));
    snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
    testutil_seed_org(f->data);
    snprintf(pw, sizeof(pw), "%s/password", f->dir);
    write_file(pw, PASSWORD "\n");
    for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
        testutil_coachqd(out, sizeof(out), 0, "user", "password", "--data", f->data,
                         "--password-file", pw, users[i], NULL);
    }
    for (int i = 0; i < 2; i++) {
        testutil_coachqd(out, sizeof(out), 0, "user", "link", "--data", f->data, "flm.dan", NULL);
        link_token(out, f->link[i]);
    }
    testutil_server_start(&f->srv, f->data, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    testutil_stop_clean(&f->srv);
    testutil_rmrf(f->dir);
    free(f);
    F = NULL;
    return 0;
}

/* ---- The flood ---------------------------------------------------------- */

struct flood {
    pthread_t th;
    int id;
    atomic_int *stop;
    int n401, n429, n503, nother, nfail;
};

/* One keep-alive connection from 127.0.0.3 sending wrong passwords for
 * made-up users and for a real one, as fast as answers come. */
static void *flood_main(void *arg)
{
    struct flood *fl = arg;
    struct bc c;
    char device[200] = "", csrf[TOKEN_LEN + 1], body[300];
    struct bresp r;
    int i = 0;

    if (bc_open(&c, "127.0.0.3") < 0 || bc_form(&c, "/signin", device, sizeof(device), csrf) < 0) {
        fl->nfail++;
        bc_close(&c);
        return NULL;
    }
    while (!atomic_load(fl->stop)) {
        int st;
        snprintf(body, sizeof(body), "user=%s&password=wrong-%d&csrf=%s",
                 i % 2 == 0 ? "flm.dan" : "spray.user", i, csrf);
        i++;
        st = bc_req(&c, "POST", "/signin", device, body, &r);
        if (st == 401) {
            fl->n401++;
        } else if (st == 429) {
            fl->n429++;
        } else if (st == 503) {
            fl->n503++;
        } else if (st < 0) {
            /* The server may close a connection; open another. */
            bc_close(&c);
            if (bc_open(&c, "127.0.0.3") < 0) {
                fl->nfail++;
                break;
            }
            continue;
        } else {
            fl->nother++;
        }
    }
    bc_close(&c);
    return NULL;
}

/* Eight keep-alive connections of one address sending wrong passwords do
 * not keep a user of another address from signing in: never 503. */
static void test_flood_does_not_block_others(void **state)
{
    struct flood fl[8];
    atomic_int stop = 0;
    int n401 = 0, n429 = 0, n503 = 0, nother = 0;
    double worst = 0;

    (void)state;
    memset(fl, 0, sizeof(fl));
    for (int i = 0; i < 8; i++) {
        fl[i].id = i;
        fl[i].stop = &stop;
        assert_int_equal(pthread_create(&fl[i].th, NULL, flood_main, &fl[i]), 0);
    }
    testutil_sleep_ms(300);
    for (int k = 0; k < 6; k++) {
        struct bresp r;
        double t0 = mono_ms(), ms;
        int st = signin_from("127.0.0.2", "flm.cara", PASSWORD, &r);
        ms = mono_ms() - t0;
        print_message("sign-in %d from 127.0.0.2 during the flood: %d in %.0f ms\n", k, st, ms);
        if (ms > worst) {
            worst = ms;
        }
        if (st != 303) {
            atomic_store(&stop, 1);
            fail_msg("sign-in %d from another address during the flood: %d", k, st);
        }
        testutil_sleep_ms(150);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 8; i++) {
        pthread_join(fl[i].th, NULL);
        assert_int_equal(fl[i].nfail, 0);
        n401 += fl[i].n401;
        n429 += fl[i].n429;
        n503 += fl[i].n503;
        nother += fl[i].nother;
    }
    print_message("flood: %d wrong (401), %d throttled (429), %d busy (503), %d other; "
                  "6 sign-ins from another address, slowest %.0f ms\n",
                  n401, n429, n503, nother, worst);
    assert_int_equal(nother, 0);
    /* The address's budget took over: far fewer checks than requests. */
    assert_true(n429 > n401);
    assert_true(n401 <= 40);
}

/* ---- One user's budget --------------------------------------------------- */

static int audit_count(const char *action, const char *subject)
{
    char *out = malloc(1 << 20);
    char pat[200];
    int n = 0;

    assert_non_null(out);
    testutil_coachqd(out, 1 << 20, 0, "audit", "--data", F->data, NULL);
    snprintf(pat, sizeof(pat), "  -  %s  %s  ", action, subject);
    for (const char *p = out; (p = strstr(p, pat)) != NULL; p++) {
        n++;
    }
    free(out);
    return n;
}

/* 200 wrong passwords for one user: the budget answers 429 with
 * Retry-After, the right password is refused until the backoff ended
 * (from any address), then works; another user is not held up. */
static void test_user_budget(void **state)
{
    struct bc c;
    char device[200] = "", csrf[TOKEN_LEN + 1], body[300], retry[32];
    struct bresp r;
    int n401 = 0, n429 = 0;
    long wait_s;
    double t0;

    (void)state;
    assert_int_equal(bc_open(&c, "127.0.0.4"), 0);
    assert_int_equal(bc_form(&c, "/signin", device, sizeof(device), csrf), 0);
    for (int i = 0; i < 200; i++) {
        int st;
        snprintf(body, sizeof(body), "user=slm.eve&password=guess-%d&csrf=%s", i, csrf);
        st = bc_req(&c, "POST", "/signin", device, body, &r);
        if (st == 401) {
            n401++;
        } else if (st == 429) {
            n429++;
            assert_int_equal(header_value(&r, "Retry-After", retry, sizeof(retry)), 0);
            assert_true(strtol(retry, NULL, 10) >= 1);
            assert_non_null(strstr(r.body, "Too many failed sign-ins"));
        } else {
            fail_msg("wrong password %d: status %d", i, st);
        }
    }
    bc_close(&c);
    print_message("200 wrong passwords for one user: %d checked (401), %d refused (429)\n", n401,
                  n429);
    assert_true(n401 >= 5);
    assert_true(n401 <= 20);
    assert_true(n429 >= 180);

    /* The right password, from an address that never failed: refused
     * while the backoff lasts. */
    assert_int_equal(signin_from("127.0.0.5", "slm.eve", PASSWORD, &r), 429);
    assert_int_equal(header_value(&r, "Retry-After", retry, sizeof(retry)), 0);
    wait_s = strtol(retry, NULL, 10);
    print_message("the right password waits %ld s\n", wait_s);
    assert_true(wait_s >= 1 && wait_s <= 300);
    assert_null(strstr(r.head, "__Host-coachq_session="));
    /* Another user, from there, is not held up. */
    assert_int_equal(signin_from("127.0.0.5", "lead.gil", PASSWORD, &r), 303);
    /* Once the backoff ended, the right password works. */
    t0 = mono_ms();
    testutil_sleep_ms(wait_s * 1000 + 200);
    assert_int_equal(signin_from("127.0.0.5", "slm.eve", PASSWORD, &r), 303);
    assert_non_null(strstr(r.head, "__Host-coachq_session="));
    assert_true(mono_ms() - t0 >= (double)wait_s * 1000);

    /* Every checked failure is audited, by nobody, naming the user and
     * the address. */
    assert_int_equal(audit_count("signin.failed", "slm.eve"), n401);
}

/* ---- Links -------------------------------------------------------------- */

/* Bad one-time links meet the address's budget too; another address's
 * good link still works. */
static void test_link_budget(void **state)
{
    struct bc c;
    char device[200] = "", csrf[TOKEN_LEN + 1], body[300], path[200];
    struct bresp r;
    int n403 = 0, n429 = 0;

    (void)state;
    snprintf(path, sizeof(path), "/signin/link?token=%s", F->link[0]);
    assert_int_equal(bc_open(&c, "127.0.0.6"), 0);
    assert_int_equal(bc_form(&c, path, device, sizeof(device), csrf), 0);
    for (int i = 0; i < 40; i++) {
        int st;
        snprintf(body, sizeof(body), "token=%040dAAA&csrf=%s", i, csrf);
        st = bc_req(&c, "POST", "/signin/link", device, body, &r);
        if (st == 403) {
            n403++;
        } else if (st == 429) {
            n429++;
        } else {
            fail_msg("bad link %d: status %d", i, st);
        }
    }
    print_message("40 bad links: %d checked (403), %d refused (429)\n", n403, n429);
    assert_true(n403 >= 10 && n403 <= 15);
    assert_true(n429 >= 25);
    /* Even the good link is refused from there while the backoff lasts. */
    snprintf(body, sizeof(body), "token=%s&csrf=%s", F->link[0], csrf);
    assert_int_equal(bc_req(&c, "POST", "/signin/link", device, body, &r), 429);
    bc_close(&c);
    /* From another address, the good link works. */
    snprintf(path, sizeof(path), "/signin/link?token=%s", F->link[1]);
    device[0] = '\0';
    assert_int_equal(bc_open(&c, "127.0.0.7"), 0);
    assert_int_equal(bc_form(&c, path, device, sizeof(device), csrf), 0);
    snprintf(body, sizeof(body), "token=%s&csrf=%s", F->link[1], csrf);
    assert_int_equal(bc_req(&c, "POST", "/signin/link", device, body, &r), 303);
    bc_close(&c);
    assert_true(audit_count("signin.link_failed", "-") >= n403);
}

/* The failures are counted in the log (the metric a scraper reads). */
static void test_failures_counted(void **state)
{
    FILE *fp = fopen(F->srv.log_file, "r");
    char line[2048];
    long last = -1, throttled = -1;

    (void)state;
    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp) != NULL) {
        const char *p;
        if (strstr(line, "event=signin_refused") != NULL &&
            (p = strstr(line, " failures=")) != NULL) {
            last = strtol(p + 10, NULL, 10);
        }
        if (strstr(line, "event=signin_throttled") != NULL &&
            (p = strstr(line, " throttled=")) != NULL) {
            throttled = strtol(p + 11, NULL, 10);
        }
    }
    fclose(fp);
    print_message("log: failures=%ld throttled=%ld\n", last, throttled);
    assert_true(last >= 5);
    assert_true(throttled >= 180);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flood_does_not_block_others),
        cmocka_unit_test(test_user_budget),
        cmocka_unit_test(test_link_budget),
        cmocka_unit_test(test_failures_counted),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, setup, teardown);
}
