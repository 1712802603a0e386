/*
 * test_web: the dashboard port through a real coachqd over real TLS, with
 * a real LMDB made by the real administration verbs (testutil_seed_org(),
 * `coachqd user password`, `coachqd user link`) and observations submitted
 * over the protocol.
 *
 * What is checked: every route of web/web.h against every role and a
 * signed-out browser (and that the table misses no route of web.h); a
 * second-level manager who edits a URL to another line's manager gets 404
 * with no data; the cookies' flags exactly; the security headers on every
 * response, errors and redirects included; CSRF (missing, wrong, foreign
 * Origin) refused with 403 and nothing changed; one-time links: opening
 * one uses nothing up, its page's POST (CSRF-checked) works once; signing
 * in ends the browser's previous session;
 * unknown and ended sessions redirect (expiry itself, in hours, is
 * websess's unit test); the wrong-password answer is the
 * same for unknown users; bad query parameters are named; the JSON of
 * every dashboard equals the protocol's GetDashboard figure for figure and
 * each CSV table equals the JSON; text from records is escaped in HTML,
 * valid in JSON and neutralised in CSV.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "client.h"
#include "frame.h"
#include "testutil.h"

#define WATCHDOG_SECONDS 280
#define DAY 86400LL
#define PASSWORD "correct-horse-battery-7"
#define TOKEN_LEN 43
#define DEVICE_LEN (22 + 1 + 43)
#define DEVICE_COOKIE_MAX 160
/* Text from records that must come out escaped everywhere. */
#define XSS_NAME "=cmd|<script>alert(1)</script> \"Q\" & Co"
#define XSS_NOTE "=cmd|' /C calc'!A0 <script>alert(1)</script> \"quotes\" & more"

enum role { R_OUT, R_OBS, R_FLM, R_SLM, R_LEAD, R_ADMIN, NROLES };

static const char *const role_user[NROLES] = {NULL,      "obs.ann",  "flm.cara",
                                              "slm.eve", "lead.gil", "admin.hal"};

struct fixture {
    char dir[512];
    char data[600];
    struct testutil_server srv;
    char cookie[NROLES][256]; /* session and device cookies ("" signed out) */
    char fay_cookie[256];     /* slm.fay: another line */
    char link_dan[TOKEN_LEN + 1];
    char table[64]; /* a table id of manager/flm.cara */
};

static struct fixture *F;

/* ---- HTTP helpers ---------------------------------------------------- */

static int has(const char *hay, const char *needle)
{
    return hay != NULL && strstr(hay, needle) != NULL;
}

/* Fails unless r carries every security header. */
static void check_security_headers(const struct testutil_http_resp *r)
{
    char v[1024];

    assert_non_null(testutil_http_header(r, "Content-Security-Policy", 0, v, sizeof(v)));
    assert_true(has(v, "default-src 'none'"));
    assert_true(has(v, "frame-ancestors 'none'"));
    assert_false(has(v, "unsafe-inline"));
    assert_false(has(v, "script-src"));
    assert_non_null(testutil_http_header(r, "Strict-Transport-Security", 0, v, sizeof(v)));
    assert_true(strncmp(v, "max-age=", 8) == 0);
    assert_non_null(testutil_http_header(r, "X-Content-Type-Options", 0, v, sizeof(v)));
    assert_string_equal(v, "nosniff");
    assert_non_null(testutil_http_header(r, "X-Frame-Options", 0, v, sizeof(v)));
    assert_string_equal(v, "DENY");
    assert_non_null(testutil_http_header(r, "Referrer-Policy", 0, v, sizeof(v)));
    assert_string_equal(v, "same-origin");
    assert_non_null(testutil_http_header(r, "Cache-Control", 0, v, sizeof(v)));
    assert_string_equal(v, "no-store");
}

/*
 * One request with an optional cookie ("name=value" or "" / NULL), extra
 * header (NULL) and form body (NULL). Checks the security headers of
 * whatever comes back and returns the status.
 */
static int req(const char *method, const char *path, const char *cookie, const char *extra,
               const char *body, struct testutil_http_resp *r)
{
    char cookie_line[300];
    const char *hdrs[3] = {NULL, NULL, NULL};
    int n = 0;
    int status;

    if (cookie != NULL && cookie[0] != '\0') {
        snprintf(cookie_line, sizeof(cookie_line), "Cookie: %s", cookie);
        hdrs[n++] = cookie_line;
    }
    if (extra != NULL) {
        hdrs[n++] = extra;
    }
    status = testutil_https(F->srv.dash_port, method, path, hdrs, body, r);
    if (status < 0) {
        fail_msg("%s %s: no HTTP response", method, path);
    }
    check_security_headers(r);
    return status;
}

/* The value of cookie name among r's Set-Cookie headers into out; the
 * whole Set-Cookie line into line (may be NULL). Returns 1 if found. */
static int set_cookie(const struct testutil_http_resp *r, const char *name, char *out,
                      size_t outlen, char *line, size_t linelen)
{
    char v[512];
    size_t nlen = strlen(name);

    for (int i = 0; testutil_http_header(r, "Set-Cookie", i, v, sizeof(v)) != NULL; i++) {
        if (strncmp(v, name, nlen) == 0 && v[nlen] == '=') {
            const char *val = v + nlen + 1;
            size_t vlen = strcspn(val, ";");
            if (vlen >= outlen) {
                vlen = outlen - 1;
            }
            memcpy(out, val, vlen);
            out[vlen] = '\0';
            if (line != NULL) {
                snprintf(line, linelen, "%s", v);
            }
            return 1;
        }
    }
    return 0;
}

static int page_csrf(const char *html, char out[TOKEN_LEN + 1]);

/* GET /signin in a fresh browser: the device cookie it sets ("__Host-
 * coachq_device=...", for a Cookie header) into device and the form's
 * pre-session token into csrf. */
static void signin_form(char device[DEVICE_COOKIE_MAX], char csrf[TOKEN_LEN + 1])
{
    struct testutil_http_resp r;
    char line[512], value[100];
    char expect[600];

    assert_int_equal(req("GET", "/signin", NULL, NULL, NULL, &r), 200);
    assert_true(set_cookie(&r, "__Host-coachq_device", value, sizeof(value), line, sizeof(line)));
    assert_int_equal(strlen(value), DEVICE_LEN);
    snprintf(expect, sizeof(expect),
             "__Host-coachq_device=%s; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=2592000",
             value);
    assert_string_equal(line, expect);
    snprintf(device, DEVICE_COOKIE_MAX, "__Host-coachq_device=%s", value);
    assert_true(page_csrf(r.body, csrf));
    /* The token is not the cookie: it is the server's MAC of the device. */
    assert_null(strstr(value, csrf));
    testutil_http_resp_free(&r);
}

/* GET /signin in a browser that has device (a Cookie header): no new
 * device cookie, and the form's token into csrf. */
static void signin_form_again(const char *device, char csrf[TOKEN_LEN + 1])
{
    struct testutil_http_resp r;
    char value[128];

    assert_int_equal(req("GET", "/signin", device, NULL, NULL, &r), 200);
    assert_false(set_cookie(&r, "__Host-coachq_device", value, sizeof(value), NULL, 0));
    assert_true(page_csrf(r.body, csrf));
    testutil_http_resp_free(&r);
}

/* Signs user in with password in a fresh browser; fills cookie (the
 * browser's Cookie header: "__Host-coachq_session=...; __Host-coachq_device=...")
 * and returns the status (303 on success). */
static int signin(const char *user, const char *password, char *cookie, size_t cookielen,
                  struct testutil_http_resp *keep)
{
    char csrf[TOKEN_LEN + 1];
    char device[DEVICE_COOKIE_MAX];
    char body[512];
    char sid[64];
    struct testutil_http_resp r;
    int status;

    signin_form(device, csrf);
    snprintf(body, sizeof(body), "user=%s&password=%s&csrf=%s", user, password, csrf);
    status = req("POST", "/signin", device, NULL, body, &r);
    if (cookie != NULL) {
        cookie[0] = '\0';
        if (set_cookie(&r, "__Host-coachq_session", sid, sizeof(sid), NULL, 0) && sid[0] != '\0') {
            snprintf(cookie, cookielen, "__Host-coachq_session=%s; %s", sid, device);
        }
    }
    if (keep != NULL) {
        *keep = r;
    } else {
        testutil_http_resp_free(&r);
    }
    return status;
}

/* The CSRF token of the sign-out form in an HTML page into out. */
static int page_csrf(const char *html, char out[TOKEN_LEN + 1])
{
    const char *p = html;

    while ((p = strstr(p, "name=\"csrf\"")) != NULL) {
        const char *start = p, *end = strchr(p, '>');
        const char *v;
        while (start > html && *start != '<') {
            start--;
        }
        v = strstr(start, "value=\"");
        if (v != NULL && end != NULL && v < end) {
            v += 7;
            if (strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
                    TOKEN_LEN &&
                v[TOKEN_LEN] == '"') {
                memcpy(out, v, TOKEN_LEN);
                out[TOKEN_LEN] = '\0';
                return 1;
            }
        }
        p++;
    }
    return 0;
}

/* The session's CSRF token, read from a page the user may see. */
static void session_csrf(const char *cookie, const char *page, char out[TOKEN_LEN + 1])
{
    struct testutil_http_resp r;

    assert_int_equal(req("GET", page, cookie, NULL, NULL, &r), 200);
    assert_true(page_csrf(r.body, out));
    testutil_http_resp_free(&r);
}

/* ---- The protocol's GetDashboard ------------------------------------- */

static int proto_connect(const char *user, SSL_CTX **ctxp, SSL **sslp)
{
    static const unsigned char alpn[] = {8, 'c', 'o', 'a', 'c', 'h', 'q', '/', '1'};
    char crt[600], key[600], ca[600], rel[200];
    struct sockaddr_in a;
    struct timeval tv = {30, 0};
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl;
    int fd;

    assert_non_null(ctx);
    snprintf(rel, sizeof(rel), "users/%s.crt", user);
    testutil_cert_path(crt, sizeof(crt), rel);
    snprintf(rel, sizeof(rel), "users/%s.key", user);
    testutil_cert_path(key, sizeof(key), rel);
    testutil_cert_path(ca, sizeof(ca), "ca.crt");
    assert_int_equal(SSL_CTX_use_certificate_chain_file(ctx, crt), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM), 1);
    assert_int_equal(SSL_CTX_load_verify_locations(ctx, ca, NULL), 1);
    assert_int_equal(SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn)), 0);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)F->srv.port);
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &a.sin_addr), 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ssl = SSL_new(ctx);
    assert_non_null(ssl);
    assert_int_equal(X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1"), 1);
    assert_int_equal(SSL_set_fd(ssl, fd), 1);
    assert_int_equal(SSL_connect(ssl), 1);
    *ctxp = ctx;
    *sslp = ssl;
    return fd;
}

static void proto_read(SSL *ssl, uint8_t *p, size_t n)
{
    while (n > 0) {
        int k = SSL_read(ssl, p, n > 65536 ? 65536 : (int)n);
        assert_true(k > 0);
        p += k;
        n -= (size_t)k;
    }
}

/* Sends f and returns the answer (caller frees). */
static Coachq__V1__Frame *proto_roundtrip(SSL *ssl, const Coachq__V1__Frame *f)
{
    size_t n = coachq__v1__frame__get_packed_size(f);
    uint8_t *p = malloc(FRAME_HEADER_LEN + n);
    uint8_t hdr[FRAME_HEADER_LEN];
    uint32_t len;
    Coachq__V1__Frame *resp;

    assert_non_null(p);
    frame_put_header(p, (uint32_t)n);
    coachq__v1__frame__pack(f, p + FRAME_HEADER_LEN);
    assert_int_equal(SSL_write(ssl, p, (int)(FRAME_HEADER_LEN + n)), (int)(FRAME_HEADER_LEN + n));
    free(p);
    proto_read(ssl, hdr, sizeof(hdr));
    len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    assert_true(len > 0 && len <= CLIENT_MAX_FRAME);
    p = malloc(len);
    assert_non_null(p);
    proto_read(ssl, p, len);
    resp = coachq__v1__frame__unpack(NULL, len, p);
    free(p);
    assert_non_null(resp);
    assert_int_equal(resp->request_id, f->request_id);
    return resp;
}

/* GetDashboard over the protocol as user; returns the answering frame
 * (its dashboard member set; caller frees). */
static Coachq__V1__Frame *proto_dashboard(const char *user, Coachq__V1__DashboardKind kind,
                                          const char *subject)
{
    SSL_CTX *ctx;
    SSL *ssl;
    int fd = proto_connect(user, &ctx, &ssl);
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Hello hello = COACHQ__V1__HELLO__INIT;
    Coachq__V1__GetDashboard g = COACHQ__V1__GET_DASHBOARD__INIT;
    Coachq__V1__Frame *resp;

    hello.protocol_version = 1;
    hello.client_version = (char *)"test_web";
    f.request_id = 1;
    f.body_case = COACHQ__V1__FRAME__BODY_HELLO;
    f.hello = &hello;
    resp = proto_roundtrip(ssl, &f);
    assert_int_equal(resp->body_case, COACHQ__V1__FRAME__BODY_WELCOME);
    coachq__v1__frame__free_unpacked(resp, NULL);

    g.kind = kind;
    g.subject_id = (char *)(subject != NULL ? subject : "");
    g.rubric_id = (char *)"";
    f.request_id = 2;
    f.body_case = COACHQ__V1__FRAME__BODY_GET_DASHBOARD;
    f.get_dashboard = &g;
    resp = proto_roundtrip(ssl, &f);
    if (resp->body_case == COACHQ__V1__FRAME__BODY_ERROR) {
        fail_msg("GetDashboard %d/%s as %s: %s", (int)kind, subject != NULL ? subject : "", user,
                 resp->error->message);
    }
    assert_int_equal(resp->body_case, COACHQ__V1__FRAME__BODY_DASHBOARD);
    SSL_shutdown(ssl);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    return resp;
}

/* ---- CSV ------------------------------------------------------------- */

struct csv {
    char ***rows; /* rows[i][j] */
    size_t *ncols;
    size_t nrows;
};

static void csv_free(struct csv *c)
{
    for (size_t i = 0; i < c->nrows; i++) {
        for (size_t j = 0; j < c->ncols[i]; j++) {
            free(c->rows[i][j]);
        }
        free(c->rows[i]);
    }
    free(c->rows);
    free(c->ncols);
    memset(c, 0, sizeof(*c));
}

/* Parses RFC 4180 CSV with CRLF line ends; fails the test if malformed. */
static void csv_parse(const char *s, size_t len, struct csv *c)
{
    size_t i = 0;

    memset(c, 0, sizeof(*c));
    while (i < len) {
        char **row = NULL;
        size_t ncol = 0;
        for (;;) {
            char *cell = malloc(len + 1);
            size_t k = 0;
            assert_non_null(cell);
            if (i < len && s[i] == '"') {
                i++;
                for (;;) {
                    assert_true(i < len);
                    if (s[i] == '"') {
                        if (i + 1 < len && s[i + 1] == '"') {
                            cell[k++] = '"';
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    cell[k++] = s[i++];
                }
            } else {
                while (i < len && s[i] != ',' && s[i] != '\r') {
                    assert_true(s[i] != '"' && s[i] != '\n');
                    cell[k++] = s[i++];
                }
            }
            cell[k] = '\0';
            row = realloc(row, (ncol + 1) * sizeof(*row));
            assert_non_null(row);
            row[ncol++] = cell;
            if (i < len && s[i] == ',') {
                i++;
                continue;
            }
            assert_true(i + 1 < len + 1 && s[i] == '\r' && s[i + 1] == '\n');
            i += 2;
            break;
        }
        c->rows = realloc(c->rows, (c->nrows + 1) * sizeof(*c->rows));
        c->ncols = realloc(c->ncols, (c->nrows + 1) * sizeof(*c->ncols));
        assert_non_null(c->rows);
        assert_non_null(c->ncols);
        c->rows[c->nrows] = row;
        c->ncols[c->nrows] = ncol;
        c->nrows++;
    }
}

/* Digits after the decimal point of a number as written. */
static int decimals_of(const char *s)
{
    const char *dot = strchr(s, '.');

    return dot == NULL ? 0 : (int)strspn(dot + 1, "0123456789");
}

/* Fails unless the CSV of table (the JSON object jt) holds its figures. */
static void check_csv_matches(const char *what, json_t *jt, const char *csv, size_t len)
{
    struct csv c;
    json_t *cols = json_object_get(jt, "columns");
    json_t *rows = json_object_get(jt, "rows");
    size_t ncols = json_array_size(cols);
    size_t *map = calloc(ncols + 1, sizeof(*map));    /* CSV column of each JSON column */
    int *figure = calloc(ncols + 1, sizeof(*figure)); /* has an "n" column after it */
    size_t k = 0;

    assert_non_null(map);
    assert_non_null(figure);
    csv_parse(csv, len, &c);
    assert_int_equal(c.nrows, json_array_size(rows) + 1);
    for (size_t j = 0; j < ncols; j++) {
        const char *name = json_string_value(json_array_get(cols, j));
        char n_name[300];
        assert_non_null(name);
        assert_true(k < c.ncols[0]);
        assert_string_equal(c.rows[0][k], name);
        map[j] = k;
        snprintf(n_name, sizeof(n_name), "%s n", name);
        if (k + 1 < c.ncols[0] && strcmp(c.rows[0][k + 1], n_name) == 0) {
            figure[j] = 1;
            k += 2;
        } else {
            k += 1;
        }
    }
    assert_int_equal(k, c.ncols[0]);
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *row = json_array_get(rows, i);
        assert_int_equal(c.ncols[i + 1], c.ncols[0]);
        for (size_t j = 0; j < ncols; j++) {
            json_t *cell = json_array_get(row, j);
            json_t *val = json_object_get(cell, "value");
            const char *cv = c.rows[i + 1][map[j]];
            if (!figure[j]) {
                continue;
            }
            {
                char *end = NULL;
                long n = strtol(c.rows[i + 1][map[j] + 1], &end, 10);
                if (*end != '\0' || n != (long)json_integer_value(json_object_get(cell, "n"))) {
                    fail_msg("%s row %zu column %zu: CSV n %s, JSON n %lld", what, i, j,
                             c.rows[i + 1][map[j] + 1],
                             (long long)json_integer_value(json_object_get(cell, "n")));
                }
            }
            if (json_is_true(json_object_get(cell, "insufficient"))) {
                assert_string_equal(cv, "insufficient data");
                assert_true(json_is_null(val) || val == NULL);
            } else if (json_is_number(val)) {
                char *end = NULL;
                double v = strtod(cv, &end);
                double tol = 0.5 * pow(10.0, -decimals_of(cv)) + 1e-9;
                if (end == cv || *end != '\0' || fabs(v - json_number_value(val)) > tol) {
                    fail_msg("%s row %zu column %zu: CSV %s, JSON %.17g", what, i, j, cv,
                             json_number_value(val));
                }
            }
        }
    }
    free(map);
    free(figure);
    csv_free(&c);
}

/* ---- Comparing JSON with the protocol's message ---------------------- */

static void check_json_matches(const char *what, json_t *j, const Coachq__V1__Dashboard *m)
{
    json_t *tables = json_object_get(j, "tables");
    size_t cells = 0;

    assert_string_equal(json_string_value(json_object_get(j, "subject_id")), m->subject_id);
    assert_int_equal(json_array_size(tables), m->n_tables);
    assert_int_equal(json_integer_value(json_object_get(j, "min_n")), m->min_n);
    for (size_t t = 0; t < m->n_tables; t++) {
        const Coachq__V1__Table *pt = m->tables[t];
        json_t *jt = json_array_get(tables, t);
        json_t *rows = json_object_get(jt, "rows");
        assert_string_equal(json_string_value(json_object_get(jt, "id")), pt->id);
        assert_int_equal(json_array_size(json_object_get(jt, "columns")), pt->n_columns);
        assert_int_equal(json_array_size(rows), pt->n_rows);
        for (size_t r = 0; r < pt->n_rows; r++) {
            json_t *jr = json_array_get(rows, r);
            assert_int_equal(json_array_size(jr), pt->rows[r]->n_cells);
            for (size_t c = 0; c < pt->rows[r]->n_cells; c++) {
                const Coachq__V1__Cell *pc = pt->rows[r]->cells[c];
                json_t *jc = json_array_get(jr, c);
                json_t *val = json_object_get(jc, "value");
                if ((uint32_t)json_integer_value(json_object_get(jc, "n")) != pc->n) {
                    fail_msg("%s %s[%zu][%zu]: JSON n %lld, protocol n %u", what, pt->id, r, c,
                             (long long)json_integer_value(json_object_get(jc, "n")), pc->n);
                }
                assert_string_equal(json_string_value(json_object_get(jc, "text")), pc->text);
                assert_int_equal(json_is_true(json_object_get(jc, "insufficient")),
                                 pc->insufficient);
                if (pc->has_value) {
                    double v = json_number_value(val);
                    if (!json_is_number(val) || fabs(v - pc->value) > 1e-9 * fmax(1, fabs(v))) {
                        fail_msg("%s %s[%zu][%zu]: JSON %.17g, protocol %.17g", what, pt->id, r, c,
                                 v, pc->value);
                    }
                    cells++;
                } else {
                    assert_true(val == NULL || json_is_null(val));
                }
            }
        }
    }
    print_message("%s: %zu figures equal\n", what, cells);
}

/* ---- Set-up ---------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    assert_true(fputs(text, fp) >= 0);
    assert_int_equal(fclose(fp), 0);
}

/* The token of the link `coachqd user link` printed. */
static void link_token(const char *out, char token[TOKEN_LEN + 1])
{
    const char *p = strstr(out, "token=");

    assert_non_null(p);
    p += 6;
    assert_true(strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") >=
                TOKEN_LEN);
    memcpy(token, p, TOKEN_LEN);
    token[TOKEN_LEN] = '\0';
}

/* Submits n observations of coach with coachee, by the observers in turn,
 * on the last days; note (may be NULL) is every rating's evidence. */
static void submit(const char *coach, const char *coachee, int n, const char *note)
{
    static const char *const observers[] = {"alice", "bob", "carol", "dave", "obs.ann"};
    int64_t now = (int64_t)time(NULL);

    for (int i = 0; i < n; i++) {
        const char *observer = observers[i % 5];
        struct client *c = testutil_connect(&F->srv, observer, 0);
        struct testutil_obs t;
        Coachq__V1__Observation *op;
        struct client_submit_result res;

        testutil_obs_make(&t, coach, coachee, now - (int64_t)(i + 1) * 3 * DAY - 3600);
        for (size_t b = 0; b < 10; b++) {
            t.r[b].score = 1 + (uint32_t)((b + (size_t)i) % 4);
            t.r[b].evidence = (char *)(note != NULL ? note : "Asked the rep for the evidence.");
        }
        op = &t.o;
        memset(&res, 0, sizeof(res));
        assert_int_equal(client_submit_many(c, &op, 1, &res, NULL, NULL), 0);
        if (res.err.code != COACHQ__V1__CODE__OK) {
            fail_msg("submit %s by %s: %s (%s)", coach, observer, res.err.message, res.err.field);
        }
        client_free(c);
    }
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char out[8192];
    char path[700], csv[700], pw[700];
    const char *const everyone[] = {"obs.ann", "flm.cara", "flm.dan",   "slm.eve",
                                    "slm.fay", "lead.gil", "admin.hal", "flm.xss"};
    FILE *src, *dst;
    char line[512];

    assert_non_null(f);
    F = f;
    testutil_watchdog(WATCHDOG_SECONDS);
    testutil_tmpdir(f->dir, sizeof(f->dir));
    snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
    testutil_seed_org(f->data);

    /* A front-line manager in slm.eve's line whose name is hostile. */
    snprintf(path, sizeof(path), "%s/org.csv", testutil_fixtures());
    snprintf(csv, sizeof(csv), "%s/org-xss.csv", f->dir);
    src = fopen(path, "r");
    dst = fopen(csv, "w");
    assert_non_null(src);
    assert_non_null(dst);
    while (fgets(line, sizeof(line), src) != NULL) {
        fputs(line, dst);
    }
    fputs("flm.xss,\"=cmd|<script>alert(1)</script> \"\"Q\"\" & Co\",xss@example.com,"
          "front_line_manager,slm.eve,2024-01-01\n",
          dst);
    fputs("rep.xss,\"=cmd|<script>alert(1)</script> \"\"Q\"\" & Co\",,rep,flm.xss,2024-01-01\n",
          dst);
    /* Front-line managers whose ids look like the API's own words. */
    fputs("recent.csv,Rex Cent,rex@example.com,front_line_manager,slm.eve,2024-01-01\n", dst);
    fputs("tables,Tab Les,tab@example.com,front_line_manager,slm.eve,2024-01-01\n", dst);
    fputs("rep.rex,Rex Rep,,rep,recent.csv,2024-01-01\n", dst);
    fclose(src);
    assert_int_equal(fclose(dst), 0);
    testutil_coachqd(out, sizeof(out), 0, "import", "people", "--data", f->data, csv, NULL);

    snprintf(pw, sizeof(pw), "%s/password", f->dir);
    write_file(pw, PASSWORD "\n");
    for (size_t i = 0; i < sizeof(everyone) / sizeof(everyone[0]); i++) {
        testutil_coachqd(out, sizeof(out), 0, "user", "password", "--data", f->data,
                         "--password-file", pw, everyone[i], NULL);
    }
    testutil_coachqd(out, sizeof(out), 0, "user", "link", "--data", f->data, "flm.dan", NULL);
    link_token(out, f->link_dan);

    testutil_server_start(&f->srv, f->data, NULL);
    assert_true(f->srv.dash_port > 0);

    submit("flm.cara", "rep.ida", 6, NULL);
    submit("mgr.jones", "rep.kim", 5, NULL);
    submit("flm.dan", "rep.jon", 5, NULL);
    submit("flm.xss", "rep.xss", 4, XSS_NOTE);
    submit("recent.csv", "rep.rex", 3, NULL);

    for (int r = R_OBS; r < NROLES; r++) {
        assert_int_equal(signin(role_user[r], PASSWORD, f->cookie[r], sizeof(f->cookie[r]), NULL),
                         303);
        assert_true(f->cookie[r][0] != '\0');
    }
    assert_int_equal(signin("slm.fay", PASSWORD, f->fay_cookie, sizeof(f->fay_cookie), NULL), 303);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    if (f == NULL) {
        return 0;
    }
    /* What the server logged as errors, to explain any 500 above. */
    {
        FILE *fp = fopen(f->srv.log_file, "r");
        char line[1200];
        while (fp != NULL && fgets(line, sizeof(line), fp) != NULL) {
            if (strstr(line, "level=error") != NULL || strstr(line, "Sanitizer") != NULL ||
                strstr(line, "runtime error") != NULL || strstr(line, "    #") != NULL) {
                fprintf(stderr, "server: %s", line);
            }
        }
        if (fp != NULL) {
            fclose(fp);
        }
    }
    testutil_stop_clean(&f->srv);
    testutil_rmrf(f->dir);
    free(f);
    F = NULL;
    return 0;
}

/* A table id of the manager detail, for the CSV routes. */
static void find_table(void)
{
    struct testutil_http_resp r;
    json_t *j;

    if (F->table[0] != '\0') {
        return;
    }
    assert_int_equal(
        req("GET", "/api/v1/dashboards/manager/flm.cara", F->cookie[R_LEAD], NULL, NULL, &r), 200);
    j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_true(json_array_size(json_object_get(j, "tables")) > 0);
    snprintf(
        F->table, sizeof(F->table), "%s",
        json_string_value(json_object_get(json_array_get(json_object_get(j, "tables"), 0), "id")));
    json_decref(j);
    testutil_http_resp_free(&r);
}

/* ---- Every route x every role ---------------------------------------- */

struct route_case {
    const char *method;
    const char *pattern; /* as web.h writes it */
    const char *path;    /* "{T}" is replaced by a table id */
    const char *body;
    int expect[NROLES]; /* signed out, observer, FLM, SLM, lead, admin */
};

static const struct route_case routes[] = {
    {"GET", "/", "/", NULL, {303, 403, 303, 303, 303, 303}},
    {"GET", "/signin", "/signin", NULL, {200, 200, 200, 200, 200, 200}},
    {"POST",
     "/signin",
     "/signin",
     "user=lead.gil&password=" PASSWORD,
     {403, 403, 403, 403, 403, 403}},
    {"GET",
     "/signin/link?token=T",
     "/signin/link?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
     NULL,
     {200, 200, 200, 200, 200, 200}},
    {"POST",
     "/signin/link",
     "/signin/link",
     "token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
     {403, 403, 403, 403, 403, 403}},
    {"POST", "/signout", "/signout", "x=1", {303, 403, 403, 403, 403, 403}},
    {"GET", "/static/coachq.css", "/static/coachq.css", NULL, {200, 200, 200, 200, 200, 200}},
    {"GET", "/d/managers[/SLM]", "/d/managers", NULL, {303, 403, 403, 200, 404, 404}},
    {"GET", "/d/managers[/SLM]", "/d/managers/slm.eve", NULL, {303, 403, 403, 200, 200, 200}},
    {"GET", "/d/manager/FLM", "/d/manager/flm.cara", NULL, {303, 403, 200, 200, 200, 200}},
    {"GET", "/d/programme", "/d/programme", NULL, {303, 403, 403, 403, 200, 200}},
    {"GET", "/d/observers", "/d/observers", NULL, {303, 403, 403, 403, 200, 200}},
    {"GET", "/d/me", "/d/me", NULL, {303, 403, 200, 404, 404, 404}},
    {"GET", "/d/me", "/d/me/flm.cara", NULL, {303, 403, 200, 200, 200, 200}},
    {"GET",
     "/api/v1/dashboards/KIND[/SUBJECT]",
     "/api/v1/dashboards/managers/slm.eve",
     NULL,
     {401, 403, 403, 200, 200, 200}},
    {"GET",
     "/api/v1/dashboards/KIND[/SUBJECT]",
     "/api/v1/dashboards/manager/flm.cara",
     NULL,
     {401, 403, 200, 200, 200, 200}},
    {"GET",
     "/api/v1/dashboards/KIND[/SUBJECT]",
     "/api/v1/dashboards/programme",
     NULL,
     {401, 403, 403, 403, 200, 200}},
    {"GET",
     "/api/v1/dashboards/KIND[/SUBJECT]",
     "/api/v1/dashboards/observers",
     NULL,
     {401, 403, 403, 403, 200, 200}},
    {"GET",
     "/api/v1/dashboards/KIND[/SUBJECT]",
     "/api/v1/dashboards/me",
     NULL,
     {401, 403, 200, 404, 404, 404}},
    {"GET",
     "/api/v1/dashboards/KIND[/SUBJECT]/tables/TABLE.csv",
     "/api/v1/dashboards/manager/flm.cara/tables/{T}.csv",
     NULL,
     {401, 403, 200, 200, 200, 200}},
    {"GET",
     "/api/v1/dashboards/KIND[/SUBJECT]/tables/TABLE.csv",
     "/api/v1/dashboards/manager/flm.cara/tables/no-such-table.csv",
     NULL,
     {401, 403, 404, 404, 404, 404}},
    {"GET", "/d/nowhere", "/d/nowhere", NULL, {404, 404, 404, 404, 404, 404}},
    {"DELETE", "/", "/", NULL, {405, 405, 405, 405, 405, 405}},
};

static void expand(const char *path, char *out, size_t outlen)
{
    const char *t = strstr(path, "{T}");

    if (t == NULL) {
        snprintf(out, outlen, "%s", path);
        return;
    }
    snprintf(out, outlen, "%.*s%s%s", (int)(t - path), path, F->table, t + 3);
}

static void test_every_route_every_role(void **state)
{
    size_t checked = 0;

    (void)state;
    find_table();
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct route_case *rc = &routes[i];
        char path[300];
        expand(rc->path, path, sizeof(path));
        for (int role = 0; role < NROLES; role++) {
            struct testutil_http_resp r;
            char loc[300], ctype[200];
            int st = req(rc->method, path, F->cookie[role], NULL, rc->body, &r);
            int want = rc->expect[role];
            int api = strncmp(path, "/api/", 5) == 0;

            if (st != want) {
                fail_msg("%s %s as %s: status %d, expected %d", rc->method, path,
                         role_user[role] != NULL ? role_user[role] : "signed out", st, want);
            }
            testutil_http_header(&r, "Content-Type", 0, ctype, sizeof(ctype));
            if (st == 303) {
                assert_non_null(testutil_http_header(&r, "Location", 0, loc, sizeof(loc)));
                if (strcmp(path, "/") == 0) {
                    static const char *const home[NROLES] = {
                        "/signin", NULL, "/d/me", "/d/managers", "/d/programme", "/d/programme"};
                    assert_string_equal(loc, home[role]);
                } else {
                    assert_string_equal(loc, "/signin");
                }
            } else if (api && st != 405) {
                json_t *j = json_loads(r.body, 0, NULL);
                if (strstr(path, ".csv") != NULL && st == 200) {
                    assert_true(strncmp(ctype, "text/csv", 8) == 0);
                } else {
                    assert_true(strncmp(ctype, "application/json", 16) == 0);
                    assert_non_null(j);
                    if (st != 200) {
                        assert_true(json_is_string(json_object_get(j, "error")));
                    }
                }
                json_decref(j);
            } else if (st == 200 && strstr(path, ".css") == NULL) {
                assert_true(strncmp(ctype, "text/html", 9) == 0);
            }
            if (role == R_OBS && strcmp(path, "/") == 0 && st == 403) {
                assert_true(has(r.body, "bservers have no dashboards"));
            }
            testutil_http_resp_free(&r);
            checked++;
        }
    }
    print_message("%zu route x role requests as expected\n", checked);
}

/* Every route web.h lists has a row in the table above. */
static void test_table_covers_web_h(void **state)
{
    char path[700];
    char line[512];
    FILE *fp;
    int listed = 0;

    (void)state;
    snprintf(path, sizeof(path), "%s/../../web/web.h", testutil_fixtures());
    fp = fopen(path, "r");
    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp) != NULL) {
        char method[8], pattern[200];
        const char *p = line;
        size_t k;
        int found = 0;

        if (strncmp(p, " *   GET ", 9) != 0 && strncmp(p, " *   POST ", 10) != 0) {
            continue;
        }
        p += 5;
        k = strcspn(p, " ");
        snprintf(method, sizeof(method), "%.*s", (int)k, p);
        p += k;
        p += strspn(p, " ");
        k = strcspn(p, " \n");
        snprintf(pattern, sizeof(pattern), "%.*s", (int)k, p);
        for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
            if (strcmp(routes[i].method, method) == 0 && strcmp(routes[i].pattern, pattern) == 0) {
                found = 1;
            }
        }
        if (!found) {
            fail_msg("web.h lists %s %s but the route table does not test it", method, pattern);
        }
        listed++;
    }
    fclose(fp);
    assert_true(listed >= 12);
}

/* ---- The route grammar ------------------------------------------------ */

/* The first table id of the JSON dashboard at path (as the lead) into out. */
static void first_table(const char *path, const char *want_subject, char *out, size_t outlen)
{
    struct testutil_http_resp r;
    json_t *j;

    assert_int_equal(req("GET", path, F->cookie[R_LEAD], NULL, NULL, &r), 200);
    j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    if (want_subject != NULL) {
        assert_string_equal(json_string_value(json_object_get(j, "subject_id")), want_subject);
    }
    assert_true(json_array_size(json_object_get(j, "tables")) > 0);
    snprintf(
        out, outlen, "%s",
        json_string_value(json_object_get(json_array_get(json_object_get(j, "tables"), 0), "id")));
    json_decref(j);
    testutil_http_resp_free(&r);
}

/* A subject id ending in ".csv" (or named "tables") is a subject, never a
 * table: a front-line manager called recent.csv can be opened, and every
 * table still downloads, under /tables/. */
static void test_subject_ids_like_route_words(void **state)
{
    struct testutil_http_resp r;
    char t[64], path[300], ctype[100];

    (void)state;
    assert_int_equal(req("GET", "/d/manager/recent.csv", F->cookie[R_LEAD], NULL, NULL, &r), 200);
    assert_true(has(r.body, "Rex Cent"));
    assert_true(has(r.body, "/api/v1/dashboards/manager/recent.csv/tables/"));
    testutil_http_resp_free(&r);
    assert_int_equal(req("GET", "/d/manager/recent.csv", F->cookie[R_SLM], NULL, NULL, &r), 200);
    testutil_http_resp_free(&r);
    first_table("/api/v1/dashboards/manager/recent.csv", "recent.csv", t, sizeof(t));
    snprintf(path, sizeof(path), "/api/v1/dashboards/manager/recent.csv/tables/%s.csv", t);
    assert_int_equal(req("GET", path, F->cookie[R_LEAD], NULL, NULL, &r), 200);
    testutil_http_header(&r, "Content-Type", 0, ctype, sizeof(ctype));
    assert_true(strncmp(ctype, "text/csv", 8) == 0);
    testutil_http_resp_free(&r);

    /* A subject called "tables", with and without a table. */
    first_table("/api/v1/dashboards/manager/tables", "tables", t, sizeof(t));
    snprintf(path, sizeof(path), "/api/v1/dashboards/manager/tables/tables/%s.csv", t);
    assert_int_equal(req("GET", path, F->cookie[R_LEAD], NULL, NULL, &r), 200);
    testutil_http_header(&r, "Content-Type", 0, ctype, sizeof(ctype));
    assert_true(strncmp(ctype, "text/csv", 8) == 0);
    testutil_http_resp_free(&r);
    /* A dashboard without a subject: KIND/tables/TABLE.csv. */
    first_table("/api/v1/dashboards/programme", NULL, t, sizeof(t));
    snprintf(path, sizeof(path), "/api/v1/dashboards/programme/tables/%s.csv", t);
    assert_int_equal(req("GET", path, F->cookie[R_LEAD], NULL, NULL, &r), 200);
    testutil_http_header(&r, "Content-Type", 0, ctype, sizeof(ctype));
    assert_true(strncmp(ctype, "text/csv", 8) == 0);
    testutil_http_resp_free(&r);

    /* What the grammar does not have is 404: the old KIND/SUBJECT/TABLE.csv,
     * a table without .csv, "tables" alone, a fifth segment. */
    find_table();
    {
        char bad[5][300];
        snprintf(bad[0], sizeof(bad[0]), "/api/v1/dashboards/manager/flm.cara/%s.csv", F->table);
        snprintf(bad[1], sizeof(bad[1]), "/api/v1/dashboards/manager/flm.cara/tables/%s", F->table);
        snprintf(bad[2], sizeof(bad[2]), "/api/v1/dashboards/manager/flm.cara/tables");
        snprintf(bad[3], sizeof(bad[3]), "/api/v1/dashboards/manager/flm.cara/tables/%s.csv/x",
                 F->table);
        snprintf(bad[4], sizeof(bad[4]), "/d/manager/flm.cara/tables/%s.csv", F->table);
        for (int i = 0; i < 5; i++) {
            int st = req("GET", bad[i], F->cookie[R_LEAD], NULL, NULL, &r);
            if (st != 404) {
                fail_msg("GET %s: %d, expected 404", bad[i], st);
            }
            testutil_http_resp_free(&r);
        }
    }
}

/* ---- Scoping --------------------------------------------------------- */

/* slm.fay edits URLs to slm.eve's line: 404, no data, the same answer as
 * for nobody at all. */
static void test_other_line_is_not_found(void **state)
{
    static const char *const paths[] = {
        "/d/manager/flm.cara",
        "/d/me/flm.cara",
        "/d/managers/slm.eve",
        "/api/v1/dashboards/manager/flm.cara",
        "/api/v1/dashboards/managers/slm.eve",
        "/api/v1/dashboards/manager/flm.cara/tables/{T}.csv",
    };
    struct testutil_http_resp r, nobody;

    (void)state;
    find_table();
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char path[300];
        expand(paths[i], path, sizeof(path));
        assert_int_equal(req("GET", path, F->fay_cookie, NULL, NULL, &r), 404);
        assert_false(has(r.body, "Cara"));
        assert_false(has(r.body, "flm.cara"));
        assert_false(has(r.body, "Eve Stone"));
        assert_false(has(r.body, "Jo Jones"));
        assert_false(has(r.body, "insufficient"));
        testutil_http_resp_free(&r);
    }
    /* Nothing tells an existing person from a made-up one. */
    assert_int_equal(
        req("GET", "/api/v1/dashboards/manager/flm.cara", F->fay_cookie, NULL, NULL, &r), 404);
    assert_int_equal(
        req("GET", "/api/v1/dashboards/manager/flm.nobody", F->fay_cookie, NULL, NULL, &nobody),
        404);
    assert_string_equal(r.body, nobody.body);
    testutil_http_resp_free(&r);
    testutil_http_resp_free(&nobody);
    /* And her own line is fine. */
    assert_int_equal(req("GET", "/d/manager/flm.dan", F->fay_cookie, NULL, NULL, &r), 200);
    testutil_http_resp_free(&r);
    /* flm.cara cannot see flm.dan either. */
    assert_int_equal(req("GET", "/d/manager/flm.dan", F->cookie[R_FLM], NULL, NULL, &r), 404);
    assert_false(has(r.body, "Dan Roe"));
    testutil_http_resp_free(&r);
}

/* ---- Cookies, sign-in, sign-out -------------------------------------- */

static void test_cookie_flags(void **state)
{
    struct testutil_http_resp r;
    char line[512], sid[128], expect[300], cookie[300], csrf[TOKEN_LEN + 1];
    char both[300];

    (void)state;
    assert_int_equal(signin("lead.gil", PASSWORD, both, sizeof(both), &r), 303);
    assert_true(set_cookie(&r, "__Host-coachq_session", sid, sizeof(sid), line, sizeof(line)));
    assert_int_equal(strlen(sid), TOKEN_LEN);
    snprintf(expect, sizeof(expect),
             "__Host-coachq_session=%s; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=28800",
             sid);
    assert_string_equal(line, expect);
    assert_non_null(testutil_http_header(&r, "Location", 0, line, sizeof(line)));
    assert_string_equal(line, "/");
    testutil_http_resp_free(&r);

    /* Signing out ends the session and clears the cookie. */
    snprintf(cookie, sizeof(cookie), "%s", both);
    session_csrf(cookie, "/d/manager/flm.cara", csrf);
    snprintf(expect, sizeof(expect), "csrf=%s", csrf);
    assert_int_equal(req("POST", "/signout", cookie, NULL, expect, &r), 303);
    assert_true(set_cookie(&r, "__Host-coachq_session", sid, sizeof(sid), line, sizeof(line)));
    assert_string_equal(line, "__Host-coachq_session=; HttpOnly; Secure; SameSite=Strict; Path=/; "
                              "Max-Age=0");
    assert_non_null(testutil_http_header(&r, "Location", 0, line, sizeof(line)));
    assert_string_equal(line, "/signin");
    testutil_http_resp_free(&r);
    assert_int_equal(req("GET", "/d/manager/flm.cara", cookie, NULL, NULL, &r), 303);
    testutil_http_resp_free(&r);
    assert_int_equal(req("GET", "/api/v1/dashboards/manager/flm.cara", cookie, NULL, NULL, &r),
                     401);
    testutil_http_resp_free(&r);
    /* The other session of the same user lives on. */
    assert_int_equal(req("GET", "/d/manager/flm.cara", F->cookie[R_LEAD], NULL, NULL, &r), 200);
    testutil_http_resp_free(&r);
}

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Unknown users and wrong passwords get the same answer, in about the same
 * time (the unknown user's password is checked against a dummy hash). */
static void test_wrong_password(void **state)
{
    struct testutil_http_resp a, b;
    char sid[128];
    double t0, t_known = 0, t_unknown = 0;

    (void)state;
    for (int i = 0; i < 2; i++) {
        t0 = mono_s();
        assert_int_equal(signin("lead.gil", "not-the-password", NULL, 0, &a), 401);
        t_known += mono_s() - t0;
        t0 = mono_s();
        assert_int_equal(signin("no.such.user", "not-the-password", NULL, 0, &b), 401);
        t_unknown += mono_s() - t0;
        assert_true(has(a.body, "or password is wrong"));
        assert_true(has(b.body, "or password is wrong"));
        assert_false(set_cookie(&a, "__Host-coachq_session", sid, sizeof(sid), NULL, 0) &&
                     sid[0] != '\0');
        assert_false(set_cookie(&b, "__Host-coachq_session", sid, sizeof(sid), NULL, 0) &&
                     sid[0] != '\0');
        testutil_http_resp_free(&a);
        testutil_http_resp_free(&b);
    }
    print_message("wrong password %.1f ms, unknown user %.1f ms\n", t_known * 500, t_unknown * 500);
    assert_true(t_unknown > t_known / 4);
    /* Hostile input in the form is just a wrong sign-in. */
    assert_int_equal(signin("%3Cscript%3E", "x", NULL, 0, &a), 401);
    assert_false(has(a.body, "<script>"));
    testutil_http_resp_free(&a);
}

/* ---- CSRF ------------------------------------------------------------ */

static void test_csrf(void **state)
{
    struct testutil_http_resp r;
    char csrf[TOKEN_LEN + 1], body[200], origin[200], c[200];
    const char *cara = F->cookie[R_FLM];

    (void)state;
    session_csrf(cara, "/d/me", csrf);
    /* Missing, wrong, and right but from another site. */
    assert_int_equal(req("POST", "/signout", cara, NULL, "", &r), 403);
    assert_true(has(r.body, "CSRF"));
    testutil_http_resp_free(&r);
    assert_int_equal(
        req("POST", "/signout", cara, NULL, "csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &r),
        403);
    assert_true(has(r.body, "CSRF"));
    testutil_http_resp_free(&r);
    snprintf(body, sizeof(body), "csrf=%s", csrf);
    assert_int_equal(req("POST", "/signout", cara, "Origin: https://evil.example", body, &r), 403);
    assert_true(has(r.body, "Origin"));
    testutil_http_resp_free(&r);
    assert_int_equal(req("POST", "/signout", cara, "Origin: null", body, &r), 403);
    testutil_http_resp_free(&r);
    /* Another user's token is not this session's. */
    {
        char lead_csrf[TOKEN_LEN + 1];
        char lb[200];
        session_csrf(F->cookie[R_LEAD], "/d/manager/flm.cara", lead_csrf);
        snprintf(lb, sizeof(lb), "csrf=%s", lead_csrf);
        assert_int_equal(req("POST", "/signout", cara, NULL, lb, &r), 403);
        testutil_http_resp_free(&r);
    }
    /* Nothing changed: still signed in. */
    assert_int_equal(req("GET", "/d/me", cara, NULL, NULL, &r), 200);
    testutil_http_resp_free(&r);

    /* Sign-in: the form's token must be one the server made for this
     * browser's device cookie. */
    {
        char pre[TOKEN_LEN + 1], dev[DEVICE_COOKIE_MAX], other_dev[DEVICE_COOKIE_MAX];
        char other_pre[TOKEN_LEN + 1], forged[TOKEN_LEN + 1];
        signin_form(dev, pre);
        snprintf(body, sizeof(body), "user=flm.cara&password=%s&csrf=%s", PASSWORD, pre);
        /* No device cookie. */
        assert_int_equal(req("POST", "/signin", NULL, NULL, body, &r), 403);
        testutil_http_resp_free(&r);
        /* The old double-submit cookie is nothing now. */
        snprintf(c, sizeof(c), "__Host-coachq_csrf=%s", pre);
        assert_int_equal(req("POST", "/signin", c, NULL, body, &r), 403);
        testutil_http_resp_free(&r);
        assert_int_equal(req("POST", "/signin", dev, "Origin: https://evil.example", body, &r),
                         403);
        testutil_http_resp_free(&r);
        /* Another browser's token (made for another device). */
        signin_form(other_dev, other_pre);
        snprintf(body, sizeof(body), "user=flm.cara&password=%s&csrf=%s", PASSWORD, other_pre);
        assert_int_equal(req("POST", "/signin", dev, NULL, body, &r), 403);
        assert_true(has(r.body, "CSRF"));
        testutil_http_resp_free(&r);
        /* The same with this site's own Origin and its own token works. */
        snprintf(body, sizeof(body), "user=flm.cara&password=%s&csrf=%s", PASSWORD, pre);
        snprintf(origin, sizeof(origin), "Origin: https://127.0.0.1:%d", F->srv.dash_port);
        assert_int_equal(req("POST", "/signin", dev, origin, body, &r), 303);
        testutil_http_resp_free(&r);
        /* A forged token: one character of a real one changed. */
        signin_form_again(dev, pre);
        snprintf(forged, sizeof(forged), "%s", pre);
        forged[20] = forged[20] == 'A' ? 'B' : 'A';
        snprintf(body, sizeof(body), "user=flm.cara&password=%s&csrf=%s", PASSWORD, forged);
        assert_int_equal(req("POST", "/signin", dev, NULL, body, &r), 403);
        testutil_http_resp_free(&r);
    }
}

/* A token or a device cookie the client chose is never taken, and neither
 * is a device cookie whose MAC is forged. */
static void test_client_chosen_tokens_refused(void **state)
{
    struct testutil_http_resp r;
    char dev[DEVICE_COOKIE_MAX], pre[TOKEN_LEN + 1], body[300], c[400], v[128];
    static const char *const chosen[] = {
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "__________________________________________8",
        "0000000000000000000000000000000000000000000",
    };

    (void)state;
    signin_form(dev, pre);
    /* A token the client made up, alone or as the old double-submit pair. */
    for (size_t i = 0; i < sizeof(chosen) / sizeof(chosen[0]); i++) {
        snprintf(body, sizeof(body), "user=flm.cara&password=%s&csrf=%s", PASSWORD, chosen[i]);
        assert_int_equal(req("POST", "/signin", dev, NULL, body, &r), 403);
        testutil_http_resp_free(&r);
        snprintf(c, sizeof(c), "%s; __Host-coachq_csrf=%s", dev, chosen[i]);
        assert_int_equal(req("POST", "/signin", c, NULL, body, &r), 403);
        testutil_http_resp_free(&r);
    }
    /* A device cookie the client made up, with a good token for it is not
     * to be had: GET /signin with it issues a new device instead. */
    snprintf(c, sizeof(c), "__Host-coachq_device=AAAAAAAAAAAAAAAAAAAAAA.%s", chosen[0]);
    assert_int_equal(req("GET", "/signin", c, NULL, NULL, &r), 200);
    assert_true(set_cookie(&r, "__Host-coachq_device", v, sizeof(v), NULL, 0));
    assert_true(strncmp(v, "AAAAAAAAAAAAAAAAAAAAAA.", 23) != 0);
    testutil_http_resp_free(&r);
    /* The real device id with another MAC, and the real token: refused. */
    {
        char forged[DEVICE_COOKIE_MAX];
        size_t at = strlen(dev) - 5;
        snprintf(forged, sizeof(forged), "%s", dev);
        forged[at] = forged[at] == 'A' ? 'B' : 'A';
        snprintf(body, sizeof(body), "user=flm.cara&password=%s&csrf=%s", PASSWORD, pre);
        assert_int_equal(req("POST", "/signin", forged, NULL, body, &r), 403);
        testutil_http_resp_free(&r);
        /* And a signed-in session with it is no session. */
        assert_int_equal(signin("flm.cara", PASSWORD, c, sizeof(c), NULL), 303);
        {
            char sess[200], bad[400];
            const char *semi = strchr(c, ';');
            const char *devpart = strstr(c, "__Host-coachq_device=");
            char fdev[DEVICE_COOKIE_MAX];
            size_t k;
            assert_non_null(semi);
            assert_non_null(devpart);
            snprintf(sess, sizeof(sess), "%.*s", (int)(semi - c), c);
            snprintf(fdev, sizeof(fdev), "%s", devpart);
            k = strlen(fdev) - 3;
            fdev[k] = fdev[k] == 'A' ? 'B' : 'A';
            assert_int_equal(req("GET", "/d/me", c, NULL, NULL, &r), 200);
            testutil_http_resp_free(&r);
            snprintf(bad, sizeof(bad), "%s; %s", sess, fdev);
            assert_int_equal(req("GET", "/d/me", bad, NULL, NULL, &r), 303);
            testutil_http_resp_free(&r);
            assert_int_equal(req("GET", "/d/me", sess, NULL, NULL, &r), 303);
            testutil_http_resp_free(&r);
            assert_int_equal(req("GET", "/api/v1/dashboards/me", sess, NULL, NULL, &r), 401);
            testutil_http_resp_free(&r);
        }
    }
}

/* Cookie tossing: user A's session cookie planted into user B's browser
 * (from another port of the host, which browsers let set this port's
 * cookies) is no session there: B's device is not the one A signed in on. */
static void test_planted_session_refused(void **state)
{
    struct testutil_http_resp r;
    char a_sess[200], b_dev[DEVICE_COOKIE_MAX], planted[400];
    const char *cara = F->cookie[R_FLM]; /* "session; device" of browser A */
    const char *lead = F->cookie[R_LEAD];
    const char *semi;

    (void)state;
    semi = strchr(cara, ';');
    assert_non_null(semi);
    snprintf(a_sess, sizeof(a_sess), "%.*s", (int)(semi - cara), cara);
    snprintf(b_dev, sizeof(b_dev), "%s", strstr(lead, "__Host-coachq_device="));
    /* B's browser with A's session cookie: signed out, on every route. */
    snprintf(planted, sizeof(planted), "%s; %s", a_sess, b_dev);
    assert_int_equal(req("GET", "/d/me", planted, NULL, NULL, &r), 303);
    testutil_http_resp_free(&r);
    assert_int_equal(req("GET", "/", planted, NULL, NULL, &r), 303);
    {
        char loc[100];
        assert_non_null(testutil_http_header(&r, "Location", 0, loc, sizeof(loc)));
        assert_string_equal(loc, "/signin");
    }
    testutil_http_resp_free(&r);
    assert_int_equal(req("GET", "/api/v1/dashboards/me", planted, NULL, NULL, &r), 401);
    assert_false(has(r.body, "Cara"));
    testutil_http_resp_free(&r);
    /* A fresh browser's device (never signed in) with A's session: the same. */
    {
        char dev[DEVICE_COOKIE_MAX], pre[TOKEN_LEN + 1];
        signin_form(dev, pre);
        snprintf(planted, sizeof(planted), "%s; %s", a_sess, dev);
        assert_int_equal(req("GET", "/d/me", planted, NULL, NULL, &r), 303);
        testutil_http_resp_free(&r);
    }
    /* Both browsers still work with their own cookies. */
    assert_int_equal(req("GET", "/d/me", cara, NULL, NULL, &r), 200);
    testutil_http_resp_free(&r);
    assert_int_equal(req("GET", "/d/programme", lead, NULL, NULL, &r), 200);
    testutil_http_resp_free(&r);
}

/* ---- Links and sessions ---------------------------------------------- */

/* GET /signin/link's page for path: its CSRF token (also the pre-session
 * cookie's) into csrf. */
static void link_page(const char *path, char device[DEVICE_COOKIE_MAX], char csrf[TOKEN_LEN + 1])
{
    struct testutil_http_resp r;
    char value[100];

    assert_int_equal(req("GET", path, NULL, NULL, NULL, &r), 200);
    assert_true(has(r.body, "action=\"/signin/link\""));
    assert_true(has(r.body, "Continue to sign in"));
    assert_true(page_csrf(r.body, csrf));
    assert_true(set_cookie(&r, "__Host-coachq_device", value, sizeof(value), NULL, 0));
    snprintf(device, DEVICE_COOKIE_MAX, "__Host-coachq_device=%s", value);
    /* Opening a link signs nobody in and names nobody. */
    assert_false(set_cookie(&r, "__Host-coachq_session", value, sizeof(value), NULL, 0));
    assert_false(has(r.body, "flm.dan"));
    assert_false(has(r.body, "Dan Roe"));
    testutil_http_resp_free(&r);
}

static void test_link_once(void **state)
{
    struct testutil_http_resp r;
    char path[200], sid[128], cookie[400], line[512], expect[300];
    char csrf[TOKEN_LEN + 1], c[DEVICE_COOKIE_MAX], body[300];
    char other[DEVICE_COOKIE_MAX], other_csrf[TOKEN_LEN + 1];

    (void)state;
    snprintf(path, sizeof(path), "/signin/link?token=%s", F->link_dan);
    /* GET shows the page only, as often as a mail scanner likes: the link
     * stays unused. */
    link_page(path, other, other_csrf);
    link_page(path, c, csrf);
    /* The POST without the page's CSRF token (login CSRF), with a wrong
     * one, another browser's, or from another site is refused and uses
     * nothing up. */
    snprintf(body, sizeof(body), "token=%s", F->link_dan);
    assert_int_equal(req("POST", "/signin/link", c, NULL, body, &r), 403);
    assert_true(has(r.body, "CSRF"));
    testutil_http_resp_free(&r);
    snprintf(body, sizeof(body), "token=%s&csrf=%s", F->link_dan, csrf);
    assert_int_equal(req("POST", "/signin/link", NULL, NULL, body, &r), 403);
    testutil_http_resp_free(&r);
    assert_int_equal(req("POST", "/signin/link",
                         "__Host-coachq_csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL,
                         body, &r),
                     403);
    testutil_http_resp_free(&r);
    assert_int_equal(req("POST", "/signin/link", other, NULL, body, &r), 403);
    testutil_http_resp_free(&r);
    assert_int_equal(req("POST", "/signin/link", c, "Origin: https://evil.example", body, &r), 403);
    testutil_http_resp_free(&r);
    /* A malformed token with a good CSRF token is named. */
    snprintf(expect, sizeof(expect), "token=short&csrf=%s", csrf);
    assert_int_equal(req("POST", "/signin/link", c, NULL, expect, &r), 400);
    assert_true(has(r.body, "token"));
    testutil_http_resp_free(&r);

    /* The page's button: signed in. */
    assert_int_equal(req("POST", "/signin/link", c, NULL, body, &r), 303);
    assert_true(set_cookie(&r, "__Host-coachq_session", sid, sizeof(sid), line, sizeof(line)));
    snprintf(expect, sizeof(expect),
             "__Host-coachq_session=%s; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=28800",
             sid);
    assert_string_equal(line, expect);
    testutil_http_resp_free(&r);
    snprintf(cookie, sizeof(cookie), "__Host-coachq_session=%s; %s", sid, c);
    assert_int_equal(req("GET", "/d/me", cookie, NULL, NULL, &r), 200);
    assert_true(has(r.body, "Dan Roe") || has(r.body, "flm.dan"));
    testutil_http_resp_free(&r);

    /* The second use is refused and signs nobody in. */
    link_page(path, c, csrf);
    snprintf(body, sizeof(body), "token=%s&csrf=%s", F->link_dan, csrf);
    assert_int_equal(req("POST", "/signin/link", c, NULL, body, &r), 403);
    assert_true(has(r.body, "unknown, used or expired"));
    assert_false(set_cookie(&r, "__Host-coachq_session", sid, sizeof(sid), NULL, 0) &&
                 sid[0] != '\0');
    testutil_http_resp_free(&r);
    /* Malformed tokens are named. */
    assert_int_equal(req("GET", "/signin/link?token=short", NULL, NULL, NULL, &r), 400);
    testutil_http_resp_free(&r);
    assert_int_equal(req("GET", "/signin/link", NULL, NULL, NULL, &r), 400);
    testutil_http_resp_free(&r);
}

/* Signing in while the browser has a session ends that session. */
static void test_signin_replaces_session(void **state)
{
    struct testutil_http_resp r;
    char old[300], csrf[TOKEN_LEN + 1], c[400], body[300], sid[128];
    const char *dev;

    (void)state;
    assert_int_equal(signin("flm.cara", PASSWORD, old, sizeof(old), NULL), 303);
    assert_int_equal(req("GET", "/d/me", old, NULL, NULL, &r), 200);
    testutil_http_resp_free(&r);
    dev = strstr(old, "__Host-coachq_device=");
    assert_non_null(dev);
    signin_form_again(dev, csrf);
    snprintf(body, sizeof(body), "user=flm.cara&password=%s&csrf=%s", PASSWORD, csrf);
    assert_int_equal(req("POST", "/signin", old, NULL, body, &r), 303);
    assert_true(set_cookie(&r, "__Host-coachq_session", sid, sizeof(sid), NULL, 0));
    testutil_http_resp_free(&r);
    assert_int_equal(strlen(sid), TOKEN_LEN);
    assert_false(strncmp(old + strlen("__Host-coachq_session="), sid, TOKEN_LEN) == 0);
    /* The old cookie no longer works; the new one does. */
    assert_int_equal(req("GET", "/d/me", old, NULL, NULL, &r), 303);
    testutil_http_resp_free(&r);
    snprintf(c, sizeof(c), "__Host-coachq_session=%s; %s", sid, dev);
    assert_int_equal(req("GET", "/d/me", c, NULL, NULL, &r), 200);
    testutil_http_resp_free(&r);
    /* Other browsers' sessions of the same user live on. */
    assert_int_equal(req("GET", "/d/me", F->cookie[R_FLM], NULL, NULL, &r), 200);
    testutil_http_resp_free(&r);
}

static void test_unknown_session(void **state)
{
    struct testutil_http_resp r;
    const char *bogus = "__Host-coachq_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    char loc[100];
    json_t *j;

    (void)state;
    assert_int_equal(req("GET", "/d/me", bogus, NULL, NULL, &r), 303);
    assert_non_null(testutil_http_header(&r, "Location", 0, loc, sizeof(loc)));
    assert_string_equal(loc, "/signin");
    testutil_http_resp_free(&r);
    assert_int_equal(req("GET", "/d/me", "__Host-coachq_session=%3Cjunk%3E", NULL, NULL, &r), 303);
    testutil_http_resp_free(&r);
    assert_int_equal(req("GET", "/api/v1/dashboards/me", bogus, NULL, NULL, &r), 401);
    j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_string(json_object_get(j, "error")));
    json_decref(j);
    testutil_http_resp_free(&r);
}

static void test_bad_query(void **state)
{
    struct testutil_http_resp r;
    json_t *j;

    (void)state;
    assert_int_equal(req("GET", "/api/v1/dashboards/manager/flm.cara?until=2025-02-30",
                         F->cookie[R_LEAD], NULL, NULL, &r),
                     400);
    j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "field")), "until");
    assert_true(has(json_string_value(json_object_get(j, "error")), "until"));
    json_decref(j);
    testutil_http_resp_free(&r);
    assert_int_equal(req("GET", "/api/v1/dashboards/manager/flm.cara?rubric=a%2Fb",
                         F->cookie[R_LEAD], NULL, NULL, &r),
                     400);
    j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "field")), "rubric");
    json_decref(j);
    testutil_http_resp_free(&r);
    assert_int_equal(
        req("GET", "/d/manager/flm.cara?until=soon", F->cookie[R_LEAD], NULL, NULL, &r), 400);
    assert_true(has(r.body, "until"));
    testutil_http_resp_free(&r);
    /* A well-formed date is taken. */
    assert_int_equal(req("GET", "/api/v1/dashboards/manager/flm.cara?until=2025-12-31",
                         F->cookie[R_LEAD], NULL, NULL, &r),
                     200);
    testutil_http_resp_free(&r);
}

/* ---- Figures: JSON = protocol, CSV = JSON ---------------------------- */

static void compare_one(const char *user, const char *cookie, const char *kind_name,
                        Coachq__V1__DashboardKind kind, const char *subject)
{
    char path[300], what[400];
    struct testutil_http_resp r;
    json_t *j, *tables;
    Coachq__V1__Frame *pf;

    snprintf(path, sizeof(path), "/api/v1/dashboards/%s%s%s", kind_name, subject ? "/" : "",
             subject ? subject : "");
    snprintf(what, sizeof(what), "%s as %s", path, user);
    assert_int_equal(req("GET", path, cookie, NULL, NULL, &r), 200);
    j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    testutil_http_resp_free(&r);
    pf = proto_dashboard(user, kind, subject);
    check_json_matches(what, j, pf->dashboard);
    coachq__v1__frame__free_unpacked(pf, NULL);

    tables = json_object_get(j, "tables");
    for (size_t t = 0; t < json_array_size(tables); t++) {
        json_t *jt = json_array_get(tables, t);
        char cpath[400], disp[300], expect[300], cwhat[500];
        const char *id = json_string_value(json_object_get(jt, "id"));
        const char *subj = json_string_value(json_object_get(j, "subject_id"));
        snprintf(cpath, sizeof(cpath), "%s/tables/%s.csv", path, id);
        assert_int_equal(req("GET", cpath, cookie, NULL, NULL, &r), 200);
        assert_non_null(testutil_http_header(&r, "Content-Disposition", 0, disp, sizeof(disp)));
        /* The file names the page's period (issue 11). */
        snprintf(expect, sizeof(expect), "attachment; filename=\"%s%s%s-%s-%s_%s.csv\"", kind_name,
                 subj != NULL && subj[0] != '\0' ? "-" : "", subj != NULL ? subj : "", id,
                 json_string_value(json_object_get(j, "from")),
                 json_string_value(json_object_get(j, "until")));
        assert_string_equal(disp, expect);
        snprintf(cwhat, sizeof(cwhat), "%s table %s", what, id);
        check_csv_matches(cwhat, jt, r.body, r.body_len);
        testutil_http_resp_free(&r);
    }
    json_decref(j);
}

static void test_json_csv_match_protocol(void **state)
{
    (void)state;
    compare_one("lead.gil", F->cookie[R_LEAD], "manager",
                COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MANAGER, "flm.cara");
    compare_one("lead.gil", F->cookie[R_LEAD], "managers",
                COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_MANAGERS, "slm.eve");
    compare_one("lead.gil", F->cookie[R_LEAD], "programme",
                COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME, NULL);
    compare_one("lead.gil", F->cookie[R_LEAD], "observers",
                COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS, NULL);
    compare_one("slm.eve", F->cookie[R_SLM], "managers",
                COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_MANAGERS, "slm.eve");
    compare_one("slm.eve", F->cookie[R_SLM], "manager",
                COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MANAGER, "mgr.jones");
    compare_one("flm.cara", F->cookie[R_FLM], "me",
                COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_COACHING, NULL);
}

/* ---- Escaping -------------------------------------------------------- */

/* 1 if any string in j contains needle. */
static int json_contains(json_t *j, const char *needle)
{
    size_t i;
    const char *key;
    json_t *v;

    if (json_is_string(j)) {
        return strstr(json_string_value(j), needle) != NULL;
    }
    if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            if (json_contains(v, needle)) {
                return 1;
            }
        }
    }
    if (json_is_object(j)) {
        json_object_foreach(j, key, v)
        {
            if (json_contains(v, needle)) {
                return 1;
            }
        }
    }
    return 0;
}

static void test_escaping(void **state)
{
    static const char *const pages[] = {"/d/manager/flm.xss", "/d/me/flm.xss",
                                        "/d/managers/slm.eve"};
    struct testutil_http_resp r;
    json_t *j, *tables;
    int neutralised = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        assert_int_equal(req("GET", pages[i], F->cookie[R_LEAD], NULL, NULL, &r), 200);
        assert_false(has(r.body, "<script"));
        assert_false(has(r.body, "\"Q\""));
        assert_false(has(r.body, "\"quotes\""));
        if (i < 2) {
            assert_true(has(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;"));
            assert_true(has(r.body, "&amp; Co"));
            assert_true(has(r.body, "&quot;Q&quot;") || has(r.body, "&#34;Q&#34;") ||
                        has(r.body, "&#x22;Q&#x22;"));
        }
        testutil_http_resp_free(&r);
    }

    assert_int_equal(
        req("GET", "/api/v1/dashboards/manager/flm.xss", F->cookie[R_LEAD], NULL, NULL, &r), 200);
    j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "subject_name")), XSS_NAME);
    assert_true(json_contains(j, "<script>alert(1)</script> \"quotes\" & more"));
    testutil_http_resp_free(&r);

    tables = json_object_get(j, "tables");
    for (size_t t = 0; t < json_array_size(tables); t++) {
        char path[300];
        struct csv c;
        snprintf(path, sizeof(path), "/api/v1/dashboards/manager/flm.xss/tables/%s.csv",
                 json_string_value(json_object_get(json_array_get(tables, t), "id")));
        assert_int_equal(req("GET", path, F->cookie[R_LEAD], NULL, NULL, &r), 200);
        csv_parse(r.body, r.body_len, &c);
        for (size_t row = 0; row < c.nrows; row++) {
            for (size_t col = 0; col < c.ncols[row]; col++) {
                const char *cell = c.rows[row][col];
                char *end = NULL;
                assert_false(cell[0] == '=' || cell[0] == '+' || cell[0] == '@');
                if (cell[0] == '-') {
                    strtod(cell, &end);
                    assert_true(*end == '\0');
                }
                /* The rep's name starts its cell: it must come out as text. */
                neutralised += strncmp(cell, "'=cmd|<script>", 14) == 0;
            }
        }
        csv_free(&c);
        testutil_http_resp_free(&r);
    }
    json_decref(j);
    print_message("%d CSV cells with record text neutralised\n", neutralised);
    assert_true(neutralised > 0);
}

/* The session date (UTC) of submit()'s i-th observation of a manager. */
static const char *session_date(int i, char out[16])
{
    time_t t = (time_t)(time(NULL) - (int64_t)(i + 1) * 3 * DAY - 3600);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
    return out;
}

/* The rows of table id in a dashboard's JSON (borrowed from j). */
static json_t *json_table_rows(json_t *j, const char *id)
{
    json_t *tables = json_object_get(j, "tables");

    for (size_t t = 0; t < json_array_size(tables); t++) {
        json_t *tb = json_array_get(tables, t);

        if (strcmp(json_string_value(json_object_get(tb, "id")), id) == 0) {
            return json_object_get(tb, "rows");
        }
    }
    fail_msg("no table %s", id);
    return NULL;
}

/*
 * Issue 10 point 9, on the web: mgr.jones moves from slm.eve's line to
 * slm.fay's a week ago. Manager detail follows one rule in HTML, JSON and
 * CSV alike, the line on the session date: slm.fay sees the 2 sessions
 * since the move, slm.eve the 3 before it (she keeps access to them), a
 * lead all 5, in the behaviour figures and the recent observations alike.
 * Last in the group: it changes the organisation.
 */
static void test_transfer_one_rule(void **state)
{
    static const struct {
        enum role role; /* R_OUT: slm.fay */
        int first;      /* the sessions shown: submit()'s indexes [first, last) */
        int last;
    } views[] = {{R_OUT, 0, 2}, {R_SLM, 2, 5}, {R_LEAD, 0, 5}};
    char csv[700], out[8192], moved[16], line[256];
    time_t when = time(NULL) - 7 * DAY;
    struct tm tm;
    FILE *fp;

    (void)state;
    gmtime_r(&when, &tm);
    strftime(moved, sizeof(moved), "%Y-%m-%d", &tm);
    snprintf(csv, sizeof(csv), "%s/move.csv", F->dir);
    snprintf(line, sizeof(line),
             "id,name,email,role,manager_id,effective_date\n"
             "mgr.jones,Jo Jones,jones@example.com,front_line_manager,slm.fay,%s\n",
             moved);
    fp = fopen(csv, "w");
    assert_non_null(fp);
    fputs(line, fp);
    assert_int_equal(fclose(fp), 0);
    testutil_coachqd(out, sizeof(out), 0, "import", "people", "--data", F->data, csv, NULL);

    for (size_t v = 0; v < sizeof(views) / sizeof(views[0]); v++) {
        const char *cookie = views[v].role == R_OUT ? F->fay_cookie : F->cookie[views[v].role];
        int shown = views[v].last - views[v].first;
        struct testutil_http_resp r;
        json_t *j, *rows;
        char date[16];

        /* JSON: the behaviours' n and the recent rows. */
        assert_int_equal(req("GET", "/api/v1/dashboards/manager/mgr.jones", cookie, NULL, NULL, &r),
                         200);
        j = json_loads(r.body, 0, NULL);
        assert_non_null(j);
        rows = json_table_rows(j, "behaviours");
        assert_int_equal(
            json_integer_value(json_object_get(json_array_get(json_array_get(rows, 0), 1), "n")),
            shown);
        assert_int_equal(json_array_size(json_table_rows(j, "recent")), shown);
        json_decref(j);
        testutil_http_resp_free(&r);

        /* CSV and HTML: the sessions of the viewer's line, and no other. */
        assert_int_equal(req("GET", "/api/v1/dashboards/manager/mgr.jones/tables/recent.csv",
                             cookie, NULL, NULL, &r),
                         200);
        {
            struct testutil_http_resp h;

            assert_int_equal(req("GET", "/d/manager/mgr.jones", cookie, NULL, NULL, &h), 200);
            for (int i = 0; i < 5; i++) {
                int want = i >= views[v].first && i < views[v].last;

                session_date(i, date);
                if (has(r.body, date) != want || has(h.body, date) != want) {
                    fail_msg("view %zu: session %d (%s) %s in CSV %d, HTML %d", v, i, date,
                             want ? "missing" : "shown", has(r.body, date), has(h.body, date));
                }
            }
            testutil_http_resp_free(&h);
        }
        testutil_http_resp_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_covers_web_h),
        cmocka_unit_test(test_every_route_every_role),
        cmocka_unit_test(test_other_line_is_not_found),
        cmocka_unit_test(test_cookie_flags),
        cmocka_unit_test(test_wrong_password),
        cmocka_unit_test(test_csrf),
        cmocka_unit_test(test_client_chosen_tokens_refused),
        cmocka_unit_test(test_planted_session_refused),
        cmocka_unit_test(test_link_once),
        cmocka_unit_test(test_signin_replaces_session),
        cmocka_unit_test(test_unknown_session),
        cmocka_unit_test(test_bad_query),
        cmocka_unit_test(test_json_csv_match_protocol),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_subject_ids_like_route_words),
        cmocka_unit_test(test_transfer_one_rule),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
