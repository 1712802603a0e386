/*
 * testutil_raw: a blocking TLS peer that speaks coachq's framing by hand
 * (testutil.h, struct testutil_raw), for the tests that send what the real
 * client never would or that watch exactly what the server writes back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "client.h"
#include "frame.h"
#include "testutil.h"

void testutil_raw_open(struct testutil_raw *r, const struct testutil_server *s, SSL_CTX *ctx,
                       int timeout_s)
{
    r->fd = testutil_tcp_connect(s->port, timeout_s);
    assert_true(r->fd >= 0);
    r->ssl = SSL_new(ctx);
    assert_non_null(r->ssl);
    assert_int_equal(X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(r->ssl), "127.0.0.1"), 1);
    assert_int_equal(SSL_set_fd(r->ssl, r->fd), 1);
    assert_int_equal(SSL_connect(r->ssl), 1);
}

void testutil_raw_close(struct testutil_raw *r, int polite)
{
    if (r->ssl != NULL) {
        if (polite) {
            SSL_shutdown(r->ssl);
        }
        SSL_free(r->ssl);
        r->ssl = NULL;
    }
    if (r->fd >= 0) {
        close(r->fd);
        r->fd = -1;
    }
}

void testutil_raw_send(struct testutil_raw *r, const void *p, size_t n)
{
    const uint8_t *b = p;

    while (n > 0) {
        int chunk = n > (1u << 20) ? 1 << 20 : (int)n;
        int k = SSL_write(r->ssl, b, chunk);

        assert_true(k > 0);
        b += k;
        n -= (size_t)k;
    }
}

int testutil_raw_recv(struct testutil_raw *r, uint8_t *p, size_t n)
{
    while (n > 0) {
        int k = SSL_read(r->ssl, p, n > 65536 ? 65536 : (int)n);

        if (k <= 0) {
            int e = SSL_get_error(r->ssl, k);

            return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? -2 : -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

Coachq__V1__Frame *testutil_raw_frame(struct testutil_raw *r, size_t *len)
{
    uint8_t hdr[FRAME_HEADER_LEN];
    uint8_t *body;
    uint32_t n;
    Coachq__V1__Frame *f;
    int rc = testutil_raw_recv(r, hdr, sizeof(hdr));

    if (rc == -2) {
        fail_msg("timed out awaiting a frame");
    }
    if (rc < 0) {
        return NULL;
    }
    n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    assert_true(n > 0 && n <= CLIENT_MAX_FRAME);
    body = malloc(n);
    assert_non_null(body);
    assert_int_equal(testutil_raw_recv(r, body, n), 0);
    f = coachq__v1__frame__unpack(NULL, n, body);
    free(body);
    assert_non_null(f);
    if (len != NULL) {
        *len = n;
    }
    return f;
}
