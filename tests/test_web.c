/*
 * test_web: the dashboard port (web/web.c) through a real coachqd over
 * real TLS, with the fixture shared with test_web_signin
 * (testutil_web_setup(): a real LMDB made by the real administration
 * verbs, observations submitted over the protocol, a browser signed in
 * for every role). Signing in itself is test_web_signin's.
 *
 * What is checked: every route of web/web.h against every role and a
 * signed-out browser (and that the table misses no route of web.h); a
 * second-level manager who edits a URL to another line's manager gets 404
 * with no data; the security headers on every response, errors and
 * redirects included; bad query parameters are named; the JSON of every
 * dashboard equals the protocol's GetDashboard figure for figure and each
 * CSV table equals the JSON; text from records is escaped in HTML, valid
 * in JSON and neutralised in CSV; subject ids that look like the API's
 * words; a transfer moves a rep under one rule.
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

#define DAY 86400LL

/* ---- The protocol's GetDashboard ------------------------------------- */

static int proto_connect(struct testutil_web *w, const char *user, SSL_CTX **ctxp, SSL **sslp)
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
    a.sin_port = htons((uint16_t)w->srv.port);
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
static Coachq__V1__Frame *proto_dashboard(struct testutil_web *w, const char *user,
                                          Coachq__V1__DashboardKind kind, const char *subject)
{
    SSL_CTX *ctx;
    SSL *ssl;
    int fd = proto_connect(w, user, &ctx, &ssl);
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

/* A table id of the manager detail, for the CSV routes. */
static void find_table(struct testutil_web *w)
{
    struct testutil_http_resp r;
    json_t *j;

    if (w->table[0] != '\0') {
        return;
    }
    assert_int_equal(testutil_web_req(w, "GET", "/api/v1/dashboards/manager/flm.cara",
                                      w->cookie[TESTUTIL_WEB_R_LEAD], NULL, NULL, &r),
                     200);
    j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_true(json_array_size(json_object_get(j, "tables")) > 0);
    snprintf(
        w->table, sizeof(w->table), "%s",
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
    int expect[TESTUTIL_WEB_NROLES]; /* signed out, observer, FLM, SLM, lead, admin */
};

static const struct route_case routes[] = {
    {"GET", "/", "/", NULL, {303, 303, 303, 303, 303, 303}},
    {"GET", "/signin", "/signin", NULL, {200, 200, 200, 200, 200, 200}},
    {"POST",
     "/signin",
     "/signin",
     "user=lead.gil&password=" TESTUTIL_WEB_PASSWORD,
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
    /* An observer's calibration history: leads and administrators; a
     * person who is no observer has none. */
    {"GET", "/d/observers", "/d/observers/obs.ann", NULL, {303, 403, 403, 403, 200, 200}},
    {"GET", "/d/observers", "/d/observers/flm.cara", NULL, {303, 403, 403, 403, 404, 404}},
    {"GET", "/d/observers", "/d/observers/nobody.here", NULL, {303, 403, 403, 403, 404, 404}},
    {"GET",
     "/api/v1/dashboards/KIND[/SUBJECT]/tables/TABLE.csv",
     "/api/v1/dashboards/observers/obs.ann/tables/calibration-history.csv",
     NULL,
     {401, 403, 403, 403, 200, 200}},
    {"GET", "/d/me", "/d/me", NULL, {303, 403, 200, 404, 404, 404}},
    {"GET", "/d/me", "/d/me/flm.cara", NULL, {303, 403, 200, 200, 200, 200}},
    /* Coaching my managers: a second-level manager's own, or one below
     * them; another line's is answered as if it did not exist. */
    {"GET", "/d/coaching[/SLM]", "/d/coaching", NULL, {303, 403, 403, 200, 404, 404}},
    {"GET", "/d/coaching[/SLM]", "/d/coaching/slm.eve", NULL, {303, 403, 403, 200, 200, 200}},
    {"GET", "/d/coaching[/SLM]", "/d/coaching/slm.fay", NULL, {303, 403, 403, 404, 200, 200}},
    {"GET", "/d/coaching[/SLM]", "/d/coaching/flm.cara", NULL, {303, 403, 403, 404, 404, 404}},
    /* My reliability: an observer's own page; another observer's is
     * answered as if it did not exist; leads and administrators anyone's. */
    {"GET", "/d/observer[/OBS]", "/d/observer", NULL, {303, 200, 403, 403, 404, 404}},
    {"GET", "/d/observer[/OBS]", "/d/observer/obs.ann", NULL, {303, 200, 403, 403, 200, 200}},
    {"GET", "/d/observer[/OBS]", "/d/observer/alice", NULL, {303, 404, 403, 403, 200, 200}},
    {"GET", "/d/observer[/OBS]", "/d/observer/flm.cara", NULL, {303, 404, 403, 403, 404, 404}},
    {"GET",
     "/api/v1/dashboards/KIND[/SUBJECT]",
     "/api/v1/dashboards/observer/obs.ann",
     NULL,
     {401, 200, 403, 403, 200, 200}},
    {"GET",
     "/api/v1/dashboards/KIND[/SUBJECT]/tables/TABLE.csv",
     "/api/v1/dashboards/observer/obs.ann/tables/observer-weeks.csv",
     NULL,
     {401, 200, 403, 403, 200, 200}},
    {"GET",
     "/api/v1/dashboards/KIND[/SUBJECT]",
     "/api/v1/dashboards/coaching/slm.eve",
     NULL,
     {401, 403, 403, 200, 200, 200}},
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
    /* The change feed: every role reads what it may read (observers their
     * own records); a bad parameter is named whoever asks. */
    {"GET",
     "/api/v1/feed/observations?after=SEQ[&limit=N][&wait=S]",
     "/api/v1/feed/observations?after=0&limit=1",
     NULL,
     {401, 200, 200, 200, 200, 200}},
    {"GET",
     "/api/v1/feed/observations?after=SEQ[&limit=N][&wait=S]",
     "/api/v1/feed/observations?after=-1",
     NULL,
     {401, 400, 400, 400, 400, 400}},
    {"POST",
     "/api/v1/feed/observations",
     "/api/v1/feed/observations",
     "x=1",
     {405, 405, 405, 405, 405, 405}},
    {"GET", "/d/nowhere", "/d/nowhere", NULL, {404, 404, 404, 404, 404, 404}},
    {"DELETE", "/", "/", NULL, {405, 405, 405, 405, 405, 405}},
};

static void expand(struct testutil_web *w, const char *path, char *out, size_t outlen)
{
    const char *t = strstr(path, "{T}");

    if (t == NULL) {
        snprintf(out, outlen, "%s", path);
        return;
    }
    snprintf(out, outlen, "%.*s%s%s", (int)(t - path), path, w->table, t + 3);
}

static void test_every_route_every_role(void **state)
{
    struct testutil_web *w = *state;
    size_t checked = 0;

    find_table(w);
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct route_case *rc = &routes[i];
        char path[300];
        expand(w, rc->path, path, sizeof(path));
        for (int role = 0; role < TESTUTIL_WEB_NROLES; role++) {
            struct testutil_http_resp r;
            char loc[300], ctype[200];
            int st = testutil_web_req(w, rc->method, path, w->cookie[role], NULL, rc->body, &r);
            int want = rc->expect[role];
            int api = strncmp(path, "/api/", 5) == 0;

            if (st != want) {
                fail_msg("%s %s as %s: status %d, expected %d", rc->method, path,
                         testutil_web_role_user[role] != NULL ? testutil_web_role_user[role]
                                                              : "signed out",
                         st, want);
            }
            testutil_http_header(&r, "Content-Type", 0, ctype, sizeof(ctype));
            if (st == 303) {
                assert_non_null(testutil_http_header(&r, "Location", 0, loc, sizeof(loc)));
                if (strcmp(path, "/") == 0) {
                    static const char *const home[TESTUTIL_WEB_NROLES] = {
                        "/signin",     "/d/observer",  "/d/me",
                        "/d/managers", "/d/programme", "/d/programme"};
                    assert_string_equal(loc, home[role]);
                } else {
                    assert_string_equal(loc, "/signin");
                }
            } else if (api && st != 405) {
                json_t *j = json_loads(r.body, 0, NULL);
                if (strstr(path, ".csv") != NULL && st == 200) {
                    assert_true(strncmp(ctype, "text/csv", 8) == 0);
                } else if (strstr(path, "/feed/") != NULL && st == 200) {
                    /* NDJSON, chunked: a whole answer ends with the last
                     * chunk. */
                    assert_true(strcmp(ctype, "application/x-ndjson") == 0);
                    assert_true(r.body_len >= 5 &&
                                strcmp(r.body + r.body_len - 5, "0\r\n\r\n") == 0);
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
static void first_table(struct testutil_web *w, const char *path, const char *want_subject,
                        char *out, size_t outlen)
{
    struct testutil_http_resp r;
    json_t *j;

    assert_int_equal(
        testutil_web_req(w, "GET", path, w->cookie[TESTUTIL_WEB_R_LEAD], NULL, NULL, &r), 200);
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
    struct testutil_web *w = *state;
    struct testutil_http_resp r;
    char t[64], path[300], ctype[100];

    assert_int_equal(testutil_web_req(w, "GET", "/d/manager/recent.csv",
                                      w->cookie[TESTUTIL_WEB_R_LEAD], NULL, NULL, &r),
                     200);
    assert_true(testutil_web_has(r.body, "Rex Cent"));
    assert_true(testutil_web_has(r.body, "/api/v1/dashboards/manager/recent.csv/tables/"));
    testutil_http_resp_free(&r);
    assert_int_equal(testutil_web_req(w, "GET", "/d/manager/recent.csv",
                                      w->cookie[TESTUTIL_WEB_R_SLM], NULL, NULL, &r),
                     200);
    testutil_http_resp_free(&r);
    first_table(w, "/api/v1/dashboards/manager/recent.csv", "recent.csv", t, sizeof(t));
    snprintf(path, sizeof(path), "/api/v1/dashboards/manager/recent.csv/tables/%s.csv", t);
    assert_int_equal(
        testutil_web_req(w, "GET", path, w->cookie[TESTUTIL_WEB_R_LEAD], NULL, NULL, &r), 200);
    testutil_http_header(&r, "Content-Type", 0, ctype, sizeof(ctype));
    assert_true(strncmp(ctype, "text/csv", 8) == 0);
    testutil_http_resp_free(&r);

    /* A subject called "tables", with and without a table. */
    first_table(w, "/api/v1/dashboards/manager/tables", "tables", t, sizeof(t));
    snprintf(path, sizeof(path), "/api/v1/dashboards/manager/tables/tables/%s.csv", t);
    assert_int_equal(
        testutil_web_req(w, "GET", path, w->cookie[TESTUTIL_WEB_R_LEAD], NULL, NULL, &r), 200);
    testutil_http_header(&r, "Content-Type", 0, ctype, sizeof(ctype));
    assert_true(strncmp(ctype, "text/csv", 8) == 0);
    testutil_http_resp_free(&r);
    /* A dashboard without a subject: KIND/tables/TABLE.csv. */
    first_table(w, "/api/v1/dashboards/programme", NULL, t, sizeof(t));
    snprintf(path, sizeof(path), "/api/v1/dashboards/programme/tables/%s.csv", t);
    assert_int_equal(
        testutil_web_req(w, "GET", path, w->cookie[TESTUTIL_WEB_R_LEAD], NULL, NULL, &r), 200);
    testutil_http_header(&r, "Content-Type", 0, ctype, sizeof(ctype));
    assert_true(strncmp(ctype, "text/csv", 8) == 0);
    testutil_http_resp_free(&r);

    /* What the grammar does not have is 404: the old KIND/SUBJECT/TABLE.csv,
     * a table without .csv, "tables" alone, a fifth segment. */
    find_table(w);
    {
        char bad[5][300];
        snprintf(bad[0], sizeof(bad[0]), "/api/v1/dashboards/manager/flm.cara/%s.csv", w->table);
        snprintf(bad[1], sizeof(bad[1]), "/api/v1/dashboards/manager/flm.cara/tables/%s", w->table);
        snprintf(bad[2], sizeof(bad[2]), "/api/v1/dashboards/manager/flm.cara/tables");
        snprintf(bad[3], sizeof(bad[3]), "/api/v1/dashboards/manager/flm.cara/tables/%s.csv/x",
                 w->table);
        snprintf(bad[4], sizeof(bad[4]), "/d/manager/flm.cara/tables/%s.csv", w->table);
        for (int i = 0; i < 5; i++) {
            int st =
                testutil_web_req(w, "GET", bad[i], w->cookie[TESTUTIL_WEB_R_LEAD], NULL, NULL, &r);
            if (st != 404) {
                fail_msg("GET %s: %d, expected 404", bad[i], st);
            }
            testutil_http_resp_free(&r);
        }
    }
}

/* ---- Scoping --------------------------------------------------------- */

/* An observer's own page in the browser: in their menu, with their row
 * and the weeks, and without the leads' page in the menu. */
static void test_observer_page(void **state)
{
    struct testutil_web *w = *state;
    struct testutil_http_resp r;

    assert_int_equal(
        testutil_web_req(w, "GET", "/d/observer", w->cookie[TESTUTIL_WEB_R_OBS], NULL, NULL, &r),
        200);
    assert_true(testutil_web_has(r.body, "href=\"/d/observer\""));
    assert_true(testutil_web_has(r.body, "My reliability"));
    assert_true(testutil_web_has(r.body, "Week by week"));
    assert_false(testutil_web_has(r.body, "href=\"/d/observers\""));
    testutil_http_resp_free(&r);
}

/* slm.fay edits URLs to slm.eve's line: 404, no data, the same answer as
 * for nobody at all. */
static void test_other_line_is_not_found(void **state)
{
    struct testutil_web *w = *state;
    static const char *const paths[] = {
        "/d/manager/flm.cara",
        "/d/me/flm.cara",
        "/d/managers/slm.eve",
        "/api/v1/dashboards/manager/flm.cara",
        "/api/v1/dashboards/managers/slm.eve",
        "/api/v1/dashboards/manager/flm.cara/tables/{T}.csv",
    };
    struct testutil_http_resp r, nobody;

    find_table(w);
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char path[300];
        expand(w, paths[i], path, sizeof(path));
        assert_int_equal(testutil_web_req(w, "GET", path, w->fay_cookie, NULL, NULL, &r), 404);
        assert_false(testutil_web_has(r.body, "Cara"));
        assert_false(testutil_web_has(r.body, "flm.cara"));
        assert_false(testutil_web_has(r.body, "Eve Stone"));
        assert_false(testutil_web_has(r.body, "Jo Jones"));
        assert_false(testutil_web_has(r.body, "insufficient"));
        testutil_http_resp_free(&r);
    }
    /* Nothing tells an existing person from a made-up one. */
    assert_int_equal(testutil_web_req(w, "GET", "/api/v1/dashboards/manager/flm.cara",
                                      w->fay_cookie, NULL, NULL, &r),
                     404);
    assert_int_equal(testutil_web_req(w, "GET", "/api/v1/dashboards/manager/flm.nobody",
                                      w->fay_cookie, NULL, NULL, &nobody),
                     404);
    assert_string_equal(r.body, nobody.body);
    testutil_http_resp_free(&r);
    testutil_http_resp_free(&nobody);
    /* And her own line is fine. */
    assert_int_equal(
        testutil_web_req(w, "GET", "/d/manager/flm.dan", w->fay_cookie, NULL, NULL, &r), 200);
    testutil_http_resp_free(&r);
    /* flm.cara cannot see flm.dan either. */
    assert_int_equal(testutil_web_req(w, "GET", "/d/manager/flm.dan", w->cookie[TESTUTIL_WEB_R_FLM],
                                      NULL, NULL, &r),
                     404);
    assert_false(testutil_web_has(r.body, "Dan Roe"));
    testutil_http_resp_free(&r);
}

static void test_bad_query(void **state)
{
    struct testutil_web *w = *state;
    struct testutil_http_resp r;
    json_t *j;

    assert_int_equal(testutil_web_req(w, "GET",
                                      "/api/v1/dashboards/manager/flm.cara?until=2025-02-30",
                                      w->cookie[TESTUTIL_WEB_R_LEAD], NULL, NULL, &r),
                     400);
    j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "field")), "until");
    assert_true(testutil_web_has(json_string_value(json_object_get(j, "error")), "until"));
    json_decref(j);
    testutil_http_resp_free(&r);
    assert_int_equal(testutil_web_req(w, "GET", "/api/v1/dashboards/manager/flm.cara?rubric=a%2Fb",
                                      w->cookie[TESTUTIL_WEB_R_LEAD], NULL, NULL, &r),
                     400);
    j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "field")), "rubric");
    json_decref(j);
    testutil_http_resp_free(&r);
    assert_int_equal(testutil_web_req(w, "GET", "/d/manager/flm.cara?until=soon",
                                      w->cookie[TESTUTIL_WEB_R_LEAD], NULL, NULL, &r),
                     400);
    assert_true(testutil_web_has(r.body, "until"));
    testutil_http_resp_free(&r);
    /* A well-formed date is taken. */
    assert_int_equal(testutil_web_req(w, "GET",
                                      "/api/v1/dashboards/manager/flm.cara?until=2025-12-31",
                                      w->cookie[TESTUTIL_WEB_R_LEAD], NULL, NULL, &r),
                     200);
    testutil_http_resp_free(&r);
}

/* ---- Figures: JSON = protocol, CSV = JSON ---------------------------- */

static void compare_one(struct testutil_web *w, const char *user, const char *cookie,
                        const char *kind_name, Coachq__V1__DashboardKind kind, const char *subject)
{
    char path[300], what[400];
    struct testutil_http_resp r;
    json_t *j, *tables;
    Coachq__V1__Frame *pf;

    snprintf(path, sizeof(path), "/api/v1/dashboards/%s%s%s", kind_name, subject ? "/" : "",
             subject ? subject : "");
    snprintf(what, sizeof(what), "%s as %s", path, user);
    assert_int_equal(testutil_web_req(w, "GET", path, cookie, NULL, NULL, &r), 200);
    j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    testutil_http_resp_free(&r);
    pf = proto_dashboard(w, user, kind, subject);
    check_json_matches(what, j, pf->dashboard);
    coachq__v1__frame__free_unpacked(pf, NULL);

    tables = json_object_get(j, "tables");
    for (size_t t = 0; t < json_array_size(tables); t++) {
        json_t *jt = json_array_get(tables, t);
        char cpath[400], disp[300], expect[300], cwhat[500];
        const char *id = json_string_value(json_object_get(jt, "id"));
        const char *subj = json_string_value(json_object_get(j, "subject_id"));
        snprintf(cpath, sizeof(cpath), "%s/tables/%s.csv", path, id);
        assert_int_equal(testutil_web_req(w, "GET", cpath, cookie, NULL, NULL, &r), 200);
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
    struct testutil_web *w = *state;
    compare_one(w, "lead.gil", w->cookie[TESTUTIL_WEB_R_LEAD], "manager",
                COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MANAGER, "flm.cara");
    compare_one(w, "lead.gil", w->cookie[TESTUTIL_WEB_R_LEAD], "managers",
                COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_MANAGERS, "slm.eve");
    compare_one(w, "lead.gil", w->cookie[TESTUTIL_WEB_R_LEAD], "programme",
                COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME, NULL);
    compare_one(w, "lead.gil", w->cookie[TESTUTIL_WEB_R_LEAD], "observers",
                COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS, NULL);
    compare_one(w, "slm.eve", w->cookie[TESTUTIL_WEB_R_SLM], "managers",
                COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_MANAGERS, "slm.eve");
    compare_one(w, "slm.eve", w->cookie[TESTUTIL_WEB_R_SLM], "manager",
                COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MANAGER, "mgr.jones");
    compare_one(w, "flm.cara", w->cookie[TESTUTIL_WEB_R_FLM], "me",
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
    struct testutil_web *w = *state;
    static const char *const pages[] = {"/d/manager/flm.xss", "/d/me/flm.xss",
                                        "/d/managers/slm.eve"};
    struct testutil_http_resp r;
    json_t *j, *tables;
    int neutralised = 0;

    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        assert_int_equal(
            testutil_web_req(w, "GET", pages[i], w->cookie[TESTUTIL_WEB_R_LEAD], NULL, NULL, &r),
            200);
        assert_false(testutil_web_has(r.body, "<script"));
        assert_false(testutil_web_has(r.body, "\"Q\""));
        assert_false(testutil_web_has(r.body, "\"quotes\""));
        if (i < 2) {
            assert_true(testutil_web_has(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;"));
            assert_true(testutil_web_has(r.body, "&amp; Co"));
            assert_true(testutil_web_has(r.body, "&quot;Q&quot;") ||
                        testutil_web_has(r.body, "&#34;Q&#34;") ||
                        testutil_web_has(r.body, "&#x22;Q&#x22;"));
        }
        testutil_http_resp_free(&r);
    }

    assert_int_equal(testutil_web_req(w, "GET", "/api/v1/dashboards/manager/flm.xss",
                                      w->cookie[TESTUTIL_WEB_R_LEAD], NULL, NULL, &r),
                     200);
    j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "subject_name")),
                        TESTUTIL_WEB_XSS_NAME);
    assert_true(json_contains(j, "<script>alert(1)</script> \"quotes\" & more"));
    testutil_http_resp_free(&r);

    tables = json_object_get(j, "tables");
    for (size_t t = 0; t < json_array_size(tables); t++) {
        char path[300];
        struct csv c;
        snprintf(path, sizeof(path), "/api/v1/dashboards/manager/flm.xss/tables/%s.csv",
                 json_string_value(json_object_get(json_array_get(tables, t), "id")));
        assert_int_equal(
            testutil_web_req(w, "GET", path, w->cookie[TESTUTIL_WEB_R_LEAD], NULL, NULL, &r), 200);
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

/* The session date (UTC) of testutil_web_submit(w, )'s i-th observation of a manager. */
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
    struct testutil_web *w = *state;
    static const struct {
        enum testutil_web_role role; /* TESTUTIL_WEB_R_OUT: slm.fay */
        int first; /* the sessions shown: testutil_web_submit(w, )'s indexes [first, last) */
        int last;
    } views[] = {
        {TESTUTIL_WEB_R_OUT, 0, 2}, {TESTUTIL_WEB_R_SLM, 2, 5}, {TESTUTIL_WEB_R_LEAD, 0, 5}};
    char csv[700], out[8192], moved[16], line[256];
    time_t when = time(NULL) - 7 * DAY;
    struct tm tm;
    FILE *fp;

    gmtime_r(&when, &tm);
    strftime(moved, sizeof(moved), "%Y-%m-%d", &tm);
    snprintf(csv, sizeof(csv), "%s/move.csv", w->dir);
    snprintf(line, sizeof(line),
             "id,name,email,role,manager_id,effective_date\n"
             "mgr.jones,Jo Jones,jones@example.com,front_line_manager,slm.fay,%s\n",
             moved);
    fp = fopen(csv, "w");
    assert_non_null(fp);
    fputs(line, fp);
    assert_int_equal(fclose(fp), 0);
    testutil_coachqd(out, sizeof(out), 0, "import", "people", "--data", w->data, csv, NULL);

    for (size_t v = 0; v < sizeof(views) / sizeof(views[0]); v++) {
        const char *cookie =
            views[v].role == TESTUTIL_WEB_R_OUT ? w->fay_cookie : w->cookie[views[v].role];
        int shown = views[v].last - views[v].first;
        struct testutil_http_resp r;
        json_t *j, *rows;
        char date[16];

        /* JSON: the behaviours' n and the recent rows. */
        assert_int_equal(testutil_web_req(w, "GET", "/api/v1/dashboards/manager/mgr.jones", cookie,
                                          NULL, NULL, &r),
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
        assert_int_equal(testutil_web_req(w, "GET",
                                          "/api/v1/dashboards/manager/mgr.jones/tables/recent.csv",
                                          cookie, NULL, NULL, &r),
                         200);
        {
            struct testutil_http_resp h;

            assert_int_equal(
                testutil_web_req(w, "GET", "/d/manager/mgr.jones", cookie, NULL, NULL, &h), 200);
            for (int i = 0; i < 5; i++) {
                int want = i >= views[v].first && i < views[v].last;

                session_date(i, date);
                if (testutil_web_has(r.body, date) != want ||
                    testutil_web_has(h.body, date) != want) {
                    fail_msg("view %zu: session %d (%s) %s in CSV %d, HTML %d", v, i, date,
                             want ? "missing" : "shown", testutil_web_has(r.body, date),
                             testutil_web_has(h.body, date));
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
        cmocka_unit_test(test_observer_page),
        cmocka_unit_test(test_bad_query),
        cmocka_unit_test(test_json_csv_match_protocol),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_subject_ids_like_route_words),
        cmocka_unit_test(test_transfer_one_rule),
    };

    return cmocka_run_group_tests(tests, testutil_web_setup, testutil_web_teardown);
}
