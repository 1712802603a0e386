/*
 * fuzz_http: the dashboard port's request layer on top of llhttp (strict
 * mode), as http_parse_stream() runs it without TLS: the stream arrives in
 * chunks whose size the input's first byte picks, and every request that
 * comes out is read the way web.c reads it (path, query, headers, cookies,
 * form fields). The promises checked: a path starts with '/' and holds no
 * control byte, the body is within HTTP_MAX_BODY, and whatever splitting
 * of the stream hands over the same requests and refuses the same streams.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_request(const struct http_exchange *x, void *arg)
{
    static const char *const headers[] = {"Host",         "Cookie",         "Origin",
                                          "Content-Type", "Content-Length", "Transfer-Encoding"};
    static const char *const fields[] = {"csrf", "user", "password", "token", "rubric", "until"};
    const char *path = http_path(x);
    const char *query = http_query(x);
    const uint8_t *body;
    size_t blen = 0, i;
    char out[512];
    unsigned *count = arg;

    (*count)++;
    if (path[0] != '/' || http_method(x)[0] == '\0') {
        abort();
    }
    for (i = 0; path[i] != '\0'; i++) {
        if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f) {
            abort();
        }
    }
    for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        const char *v = http_header(x, headers[i]);
        if (v != NULL && (strchr(v, '\r') != NULL || strchr(v, '\n') != NULL)) {
            abort();
        }
    }
    body = http_body(x, &blen);
    if (blen > HTTP_MAX_BODY || (blen > 0 && body == NULL)) {
        abort();
    }
    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        int n = http_form_value(query, strlen(query), fields[i], out, sizeof(out));
        if (n >= 0 && (size_t)n != strlen(out)) {
            abort();
        }
        if (blen > 0) {
            n = http_form_value((const char *)body, blen, fields[i], out, sizeof(out));
            if (n >= 0 && (size_t)n != strlen(out)) {
                abort();
            }
        }
        n = http_cookie(x, fields[i], out, sizeof(out));
        if (n >= 0 && (size_t)n != strlen(out)) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned whole = 0, split = 0;
    int a, b;

    if (size < 1) {
        return 0;
    }
    a = http_parse_stream(data + 1, size - 1, 0, on_request, &whole);
    b = http_parse_stream(data + 1, size - 1, (size_t)data[0] + 1, on_request, &split);
    /* The same requests are handed over whatever the chunking, and a
     * stream refused whole is refused split. The status may differ when a
     * request is wrong in two ways (a 65th header whose name holds a bad
     * byte: llhttp sees the byte first in one buffer, the header count
     * trips first when the name arrives in pieces); both close. */
    if ((a < 0) != (b < 0) || (a >= 0 && a != b) || whole != split) {
        abort();
    }
    return 0;
}
