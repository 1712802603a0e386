/*
 * test_integrity: what the real coachqd (a child process on 127.0.0.1 port
 * 0, real TLS, a real LMDB holding fixtures/org.csv) keeps true about the
 * bytes it takes and gives back:
 *
 * - text: a string with a NUL, a control character or invalid UTF-8 is
 *   refused with INVALID_ARGUMENT naming the field, never stored cut short
 *   at the NUL; every acknowledged record reads back byte-identical to what
 *   was sent (a property test over random strings sent as raw frames);
 * - list cursors: opaque, and refused when forged, tampered with, replayed
 *   by another user, used for another query or expired; a page never holds
 *   nor points past a record the caller may not read;
 * - frame size: a list whose records pass max_frame_bytes comes back in
 *   frames no larger than Welcome advertises, every record exactly once;
 * - days: a due day past 9999-12-31 is refused, and one on it round-trips
 *   through the JSON that `coachq get --json` prints.
 *
 * Raw frames go through a blocking OpenSSL peer written here, since the
 * client library cannot put a NUL into a C string field.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "client.h"
#include "frame.h"
#include "obs_json.h"
#include "testutil.h"
#include "tls_ctx.h"
#include "validate.h"

#define ALPN "coachq/1"
#define WATCHDOG_SECONDS 240
#define RAW_TIMEOUT_S 10
/* 2026-10-27T00:00:00Z: sessions the organisation's rules accept. */
#define T0 1793059200LL
#define HOUR 3600LL

static SSL_CTX *g_ctx[2]; /* alice, bob */

struct fx {
    char dir[512];
    char data[600];
    struct testutil_server srv;
};

static void fx_start(struct fx *f, const char *const *extra)
{
    testutil_tmpdir(f->dir, sizeof(f->dir));
    snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
    testutil_seed_org(f->data);
    testutil_server_start(&f->srv, f->data, extra);
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    *state = f;
    return f == NULL ? -1 : 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    testutil_server_abandon(&f->srv);
    if (f->dir[0] != '\0') {
        testutil_rmrf(f->dir);
    }
    free(f);
    return 0;
}

/* ---- Frames for a blocking TLS peer (testutil_raw) ---- */

/* Packs f with its length prefix (caller frees); *n gets the total. */
static uint8_t *pack_frame(const Coachq__V1__Frame *f, size_t *n)
{
    size_t body = coachq__v1__frame__get_packed_size(f);
    uint8_t *p = malloc(FRAME_HEADER_LEN + body);

    assert_non_null(p);
    frame_put_header(p, (uint32_t)body);
    coachq__v1__frame__pack(f, p + FRAME_HEADER_LEN);
    *n = FRAME_HEADER_LEN + body;
    return p;
}

/* Overwrites the one place where placeholder (len bytes) stands in p
 * (n bytes) with repl (len bytes). The encoding stays valid: the length
 * prefixes do not change. */
static void patch(uint8_t *p, size_t n, const char *placeholder, const uint8_t *repl, size_t len)
{
    size_t at = SIZE_MAX;

    for (size_t i = 0; i + len <= n; i++) {
        if (memcmp(p + i, placeholder, len) == 0) {
            assert_true(at == SIZE_MAX);
            at = i;
        }
    }
    assert_true(at != SIZE_MAX);
    memcpy(p + at, repl, len);
}

/*
 * Submits o on r with the string placeholder replaced by repl (len bytes,
 * placeholder has the same length), and returns the answer. If sent_obs is
 * not NULL it gets the packed Observation as sent (caller frees), *sent_len
 * its size.
 */
static Coachq__V1__Frame *submit_patched(struct testutil_raw *r, uint64_t rid,
                                         Coachq__V1__Observation *o, const char *placeholder,
                                         const uint8_t *repl, size_t len, uint8_t **sent_obs,
                                         size_t *sent_len)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__SubmitObservation sub = COACHQ__V1__SUBMIT_OBSERVATION__INIT;
    Coachq__V1__Frame *resp;
    uint8_t *p;
    size_t n;

    sub.observation = o;
    f.request_id = rid;
    f.body_case = COACHQ__V1__FRAME__BODY_SUBMIT;
    f.submit = &sub;
    p = pack_frame(&f, &n);
    patch(p, n, placeholder, repl, len);
    if (sent_obs != NULL) {
        size_t on = coachq__v1__observation__get_packed_size(o);
        uint8_t *op = malloc(on);

        assert_non_null(op);
        coachq__v1__observation__pack(o, op);
        patch(op, on, placeholder, repl, len);
        *sent_obs = op;
        *sent_len = on;
    }
    testutil_raw_send(r, p, n);
    free(p);
    resp = testutil_raw_frame(r, NULL);
    assert_non_null(resp);
    assert_int_equal(resp->request_id, rid);
    return resp;
}

static void expect_error(Coachq__V1__Frame *resp, Coachq__V1__Code code, const char *field)
{
    if (resp->body_case != COACHQ__V1__FRAME__BODY_ERROR) {
        fail_msg("expected an Error on %s, got body %d", field, (int)resp->body_case);
    }
    assert_int_equal(resp->error->code, code);
    assert_string_equal(resp->error->field, field);
    assert_true(strlen(resp->error->message) > 10);
    coachq__v1__frame__free_unpacked(resp, NULL);
}

/* ---- Text ---- */

/*
 * The cases of the issue: a NUL in notes, in an id and in a rating's
 * evidence is refused with the field's path, and a record stored with
 * "abc" does not make "abc\0def" under the same id a DUPLICATE.
 */
static void test_nul_refused(void **state)
{
    struct fx *f = *state;
    struct testutil_obs t;
    struct testutil_raw r;
    Coachq__V1__Frame *resp;
    char notes[16] = "abcXdef";
    char coach[32] = "mgr.jonesXevil";
    char evidence[16] = "saidXthat";
    Coachq__V1__ListObservations l = COACHQ__V1__LIST_OBSERVATIONS__INIT;
    Coachq__V1__Frame lf = COACHQ__V1__FRAME__INIT;
    char person[16] = "mgr.jonesX";
    uint8_t *p;
    size_t n;

    fx_start(f, NULL);
    testutil_raw_open(&r, &f->srv, g_ctx[0], RAW_TIMEOUT_S);

    testutil_obs_make(&t, "mgr.jones", "rep.kim", T0);
    t.o.notes = notes;
    resp = submit_patched(&r, 1, &t.o, "abcXdef", (const uint8_t *)"abc\0def", 7, NULL, NULL);
    expect_error(resp, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation.notes");

    t.o.notes = NULL;
    t.o.coach_id = coach;
    resp = submit_patched(&r, 2, &t.o, "mgr.jonesXevil", (const uint8_t *)"mgr.jones\0evil", 14,
                          NULL, NULL);
    expect_error(resp, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation.coach_id");
    t.o.coach_id = t.coach;

    t.r[2].evidence = evidence;
    resp = submit_patched(&r, 3, &t.o, "saidXthat", (const uint8_t *)"said\0that", 9, NULL, NULL);
    expect_error(resp, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation.ratings[2].evidence");
    resp = submit_patched(&r, 4, &t.o, "saidXthat", (const uint8_t *)"said\x1b[2J", 9, NULL, NULL);
    expect_error(resp, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation.ratings[2].evidence");
    t.r[2].evidence = NULL;

    /* Stored as "abc"; then the same id with "abc\0def" is refused, not a
     * DUPLICATE of what was stored. */
    t.o.notes = notes;
    resp = submit_patched(&r, 5, &t.o, "abcXdef", (const uint8_t *)"abc\0\0\0\0", 7, NULL, NULL);
    expect_error(resp, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation.notes");
    memcpy(notes, "abc", 4);
    resp = submit_patched(&r, 6, &t.o, "abc", (const uint8_t *)"abc", 3, NULL, NULL);
    assert_int_equal(resp->body_case, COACHQ__V1__FRAME__BODY_ACK);
    assert_int_equal(resp->ack->result, COACHQ__V1__ACK__RESULT__RESULT_STORED);
    coachq__v1__frame__free_unpacked(resp, NULL);
    memcpy(notes, "abcXdef", 8);
    resp = submit_patched(&r, 7, &t.o, "abcXdef", (const uint8_t *)"abc\0def", 7, NULL, NULL);
    expect_error(resp, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation.notes");

    /* Other requests' strings too. */
    l.by = COACHQ__V1__LIST_BY__LIST_BY_COACH;
    l.person_id = person;
    lf.request_id = 8;
    lf.body_case = COACHQ__V1__FRAME__BODY_LIST;
    lf.list = &l;
    p = pack_frame(&lf, &n);
    patch(p, n, "mgr.jonesX", (const uint8_t *)"mgr.jones\0", 10);
    testutil_raw_send(&r, p, n);
    free(p);
    resp = testutil_raw_frame(&r, NULL);
    assert_non_null(resp);
    expect_error(resp, COACHQ__V1__CODE__INVALID_ARGUMENT, "list.person_id");

    testutil_raw_close(&r, 1);
    testutil_stop_clean(&f->srv);
}

/* Pieces random text is made of, each known to be allowed in multi-line
 * text or not. */
struct piece {
    const char *bytes;
    size_t len;
    int ok;
};

static const struct piece pieces[] = {
    {"a", 1, 1},
    {"Z", 1, 1},
    {" ", 1, 1},
    {"~", 1, 1},
    {"\t", 1, 1},
    {"\n", 1, 1},
    {"\xc3\xa9", 2, 1},         /* é */
    {"\xe2\x82\xac", 3, 1},     /* € */
    {"\xf0\x9f\x98\x80", 4, 1}, /* an emoji */
    {"\xc2\xa0", 2, 1},         /* no-break space */
    {"\0", 1, 0},
    {"\r", 1, 0},
    {"\x01", 1, 0},
    {"\x1b", 1, 0},
    {"\x7f", 1, 0},
    {"\xc2\x85", 2, 0}, /* NEL, a C1 control */
    {"\xc2\x9b", 2, 0}, /* CSI, a C1 control */
    {"\xff", 1, 0},
    {"\x80", 1, 0},             /* a lone continuation byte */
    {"\xc0\xaf", 2, 0},         /* overlong '/' */
    {"\xed\xa0\x80", 3, 0},     /* a surrogate */
    {"\xe2\x82", 2, 0},         /* cut short */
    {"\xf4\x90\x80\x80", 4, 0}, /* above U+10FFFF */
};

static uint64_t next_rand(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/*
 * The property: whatever string is sent, either the server refuses it
 * with INVALID_ARGUMENT naming exactly the field, and only if the string
 * breaks the rule, or it acknowledges it and the record read back packs to
 * exactly the bytes sent.
 */
static void test_acked_is_identical(void **state)
{
    enum { ROUNDS = 400 };
    struct fx *f = *state;
    struct testutil_raw r;
    struct client *c;
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    unsigned acked = 0;
    unsigned refused = 0;

    fx_start(f, NULL);
    testutil_raw_open(&r, &f->srv, g_ctx[0], RAW_TIMEOUT_S);
    c = testutil_connect(&f->srv, "alice", 0);
    for (unsigned round = 0; round < ROUNDS; round++) {
        struct testutil_obs t;
        uint8_t text[64];
        char placeholder[80];
        size_t len = 0;
        int ok = 1;
        unsigned npieces = 1 + (unsigned)(next_rand(&seed) % 12);
        int bad_only_sometimes = next_rand(&seed) % 2 == 0;
        unsigned where = (unsigned)(next_rand(&seed) % 11); /* 10: notes */
        char field[64];
        Coachq__V1__Frame *resp;
        uint8_t *sent = NULL;
        size_t sent_len = 0;

        for (unsigned i = 0; i < npieces; i++) {
            const struct piece *pc = &pieces[next_rand(&seed) % (sizeof(pieces) / sizeof(*pieces))];

            /* Half the rounds use good pieces only, so that acks are many. */
            if (bad_only_sometimes && !pc->ok) {
                pc = &pieces[next_rand(&seed) % 10];
            }
            memcpy(text + len, pc->bytes, pc->len);
            len += pc->len;
            ok &= pc->ok;
        }
        /* A placeholder of the same length that occurs nowhere else. */
        assert_true(len >= 1 && len < sizeof(placeholder));
        for (size_t i = 0; i < len; i++) {
            placeholder[i] = "#%&^"[(i + round) % 4];
        }
        placeholder[len] = '\0';
        if (len < 4) {
            /* Too short to be unique: put a fixed prefix before both. */
            memmove(text + 4, text, len);
            memcpy(text, "pre:", 4);
            memmove(placeholder + 4, placeholder, len + 1);
            memcpy(placeholder, "pre:", 4);
            len += 4;
        }
        testutil_obs_make(&t, "mgr.jones", "rep.kim", T0 + (int64_t)round * 60);
        if (where == 10) {
            t.o.notes = placeholder;
            snprintf(field, sizeof(field), "observation.notes");
        } else {
            t.r[where].evidence = placeholder;
            snprintf(field, sizeof(field), "observation.ratings[%u].evidence", where);
        }
        resp = submit_patched(&r, round + 1, &t.o, placeholder, text, len, &sent, &sent_len);
        if (resp->body_case == COACHQ__V1__FRAME__BODY_ACK) {
            Coachq__V1__StoredObservation *rec = NULL;
            struct client_error e;
            uint8_t *back;
            size_t back_len;

            if (!ok) {
                fail_msg("round %u: a string that breaks the rule was acknowledged", round);
            }
            assert_int_equal(resp->ack->result, COACHQ__V1__ACK__RESULT__RESULT_STORED);
            assert_int_equal(client_get(c, t.id, &rec, &e), 0);
            back_len = coachq__v1__observation__get_packed_size(rec->observation);
            back = malloc(back_len);
            assert_non_null(back);
            coachq__v1__observation__pack(rec->observation, back);
            assert_int_equal(back_len, sent_len);
            assert_memory_equal(back, sent, sent_len);
            free(back);
            coachq__v1__stored_observation__free_unpacked(rec, NULL);
            coachq__v1__frame__free_unpacked(resp, NULL);
            acked++;
        } else {
            if (ok) {
                fail_msg("round %u: a good string was refused: %s %s", round,
                         resp->body_case == COACHQ__V1__FRAME__BODY_ERROR ? resp->error->field : "",
                         resp->body_case == COACHQ__V1__FRAME__BODY_ERROR ? resp->error->message
                                                                          : "");
            }
            expect_error(resp, COACHQ__V1__CODE__INVALID_ARGUMENT, field);
            refused++;
        }
        free(sent);
    }
    print_message("text property: %u rounds, %u acknowledged byte-identical, %u refused by "
                  "field\n",
                  ROUNDS, acked, refused);
    assert_true(acked > 50 && refused > 50);
    client_free(c);
    testutil_raw_close(&r, 1);
    testutil_stop_clean(&f->srv);
}

/* ---- Cursors ---- */

/* Submits n records of alice's or bob's for flm.dan and rep.jon starting at
 * at, one every step seconds; fills ids (16 bytes each) if not NULL. */
static void submit_series(struct client *c, size_t n, int64_t at, int64_t step, uint8_t *ids)
{
    struct testutil_obs *t = calloc(n, sizeof(*t));
    Coachq__V1__Observation **obs = calloc(n, sizeof(*obs));
    struct client_submit_result *res = calloc(n, sizeof(*res));

    assert_true(t != NULL && obs != NULL && res != NULL);
    for (size_t i = 0; i < n; i++) {
        testutil_obs_make(&t[i], "flm.dan", "rep.jon", at + (int64_t)i * step);
        obs[i] = &t[i].o;
        if (ids != NULL) {
            memcpy(ids + 16 * i, t[i].id, 16);
        }
    }
    assert_int_equal(client_submit_many(c, obs, n, res, NULL, NULL), 0);
    for (size_t i = 0; i < n; i++) {
        if (res[i].err.code != COACHQ__V1__CODE__OK) {
            fail_msg("submit %zu: %s %s", i, res[i].err.field, res[i].err.message);
        }
    }
    free(t);
    free(obs);
    free(res);
}

/* Expects q to be refused with INVALID_ARGUMENT on list.cursor; returns
 * the message's first bytes in msg. */
static void expect_cursor_refused(struct client *c, const Coachq__V1__ListObservations *q,
                                  char *msg, size_t msglen)
{
    Coachq__V1__ObservationPage *page = NULL;
    struct client_error e;

    assert_true(client_list(c, q, &page, &e) < 0);
    assert_null(page);
    assert_int_equal(e.code, COACHQ__V1__CODE__INVALID_ARGUMENT);
    assert_string_equal(e.field, "list.cursor");
    snprintf(msg, msglen, "%s", e.message);
}

/* As expect_cursor_refused(), for a cursor that is not a genuine one for
 * this user and query: the refusal must not be for its age. */
static void expect_cursor_forged(struct client *c, const Coachq__V1__ListObservations *q)
{
    char msg[512];

    expect_cursor_refused(c, q, msg, sizeof(msg));
    assert_null(strstr(msg, "expired"));
}

static int contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k)
{
    for (size_t i = 0; i + k <= n; i++) {
        if (memcmp(hay + i, needle, k) == 0) {
            return 1;
        }
    }
    return 0;
}

static void test_cursors(void **state)
{
    enum { NALICE = 12, NBOB = 6 };
    static const char *const extra[] = {"--cursor-ttl", "6", NULL};
    struct fx *f = *state;
    struct client *alice;
    struct client *bob;
    uint8_t ids[NALICE * 16];
    uint8_t bob_ids[NBOB * 16];
    uint8_t cursor[256];
    size_t cursor_len;
    uint8_t bad[256];
    unsigned seen[NALICE] = {0};
    Coachq__V1__ListObservations q = COACHQ__V1__LIST_OBSERVATIONS__INIT;
    Coachq__V1__ListObservations q2;
    Coachq__V1__ObservationPage *page = NULL;
    struct client_error e;
    char msg[512];
    size_t pages = 0;

    fx_start(f, extra);
    alice = testutil_connect(&f->srv, "alice", 0);
    bob = testutil_connect(&f->srv, "bob", 1);
    /* Alice's 12 hours; bob's between her first two and after her last. */
    submit_series(alice, NALICE, T0, HOUR, ids);
    submit_series(bob, 3, T0 + 60, 60, bob_ids);
    submit_series(bob, NBOB - 3, T0 + NALICE * HOUR, 60, bob_ids + 3 * 16);

    q.by = COACHQ__V1__LIST_BY__LIST_BY_COACH;
    q.person_id = (char *)"flm.dan";
    q.page_size = 5;
    assert_int_equal(client_list(alice, &q, &page, &e), 0);
    assert_int_equal(page->n_observations, 5);
    assert_true(page->next_cursor.len > 0 && page->next_cursor.len <= sizeof(cursor));
    cursor_len = page->next_cursor.len;
    memcpy(cursor, page->next_cursor.data, cursor_len);
    coachq__v1__observation_page__free_unpacked(page, NULL);
    page = NULL;

    /* Opaque: no person id, no record id of anyone's in it. */
    assert_false(contains(cursor, cursor_len, (const uint8_t *)"flm.dan", 7));
    for (size_t i = 0; i < NALICE; i++) {
        assert_false(contains(cursor, cursor_len, ids + 16 * i, 8));
    }
    for (size_t i = 0; i < NBOB; i++) {
        assert_false(contains(cursor, cursor_len, bob_ids + 16 * i, 8));
    }

    /* Forged: random bytes, and a cursor in the old plaintext form (the
     * index key of alice's 5th record). */
    for (size_t i = 0; i < sizeof(bad); i++) {
        bad[i] = (uint8_t)(i * 37 + 11);
    }
    q2 = q;
    q2.cursor.data = bad;
    q2.cursor.len = cursor_len;
    expect_cursor_forged(alice, &q2);
    q2.cursor.len = 200;
    expect_cursor_forged(alice, &q2);
    /* Tampered: each byte in turn. */
    for (size_t i = 0; i < cursor_len; i++) {
        memcpy(bad, cursor, cursor_len);
        bad[i] ^= 0x01;
        q2.cursor.len = cursor_len;
        expect_cursor_forged(alice, &q2);
    }
    /* Replayed by another user, for the very same list. */
    q2 = q;
    q2.cursor.data = cursor;
    q2.cursor.len = cursor_len;
    expect_cursor_forged(bob, &q2);
    /* The same user, another query. */
    q2.person_id = (char *)"flm.cara";
    expect_cursor_forged(alice, &q2);
    q2.person_id = (char *)"flm.dan";
    q2.by = COACHQ__V1__LIST_BY__LIST_BY_COACHEE;
    expect_cursor_forged(alice, &q2);
    q2.by = q.by;
    q2.since = T0 - 1;
    expect_cursor_forged(alice, &q2);
    q2.since = 0;
    q2.until = T0 + 100 * HOUR;
    expect_cursor_forged(alice, &q2);

    /* The genuine cursor, followed to the end: every one of alice's records
     * once, none of bob's, and no cursor after her last (bob's later ones
     * must not show as "more"). */
    q2 = q;
    q2.cursor.data = NULL;
    q2.cursor.len = 0;
    for (;;) {
        int more;

        assert_int_equal(client_list(alice, &q2, &page, &e), 0);
        pages++;
        for (size_t i = 0; i < page->n_observations; i++) {
            const Coachq__V1__StoredObservation *s = page->observations[i];
            size_t k;

            assert_string_equal(s->observer_id, "alice");
            for (k = 0; k < NALICE; k++) {
                if (memcmp(s->observation->id.data, ids + 16 * k, 16) == 0) {
                    break;
                }
            }
            assert_true(k < NALICE);
            seen[k]++;
        }
        more = page->next_cursor.len > 0;
        if (more) {
            assert_int_equal(page->n_observations, 5);
            cursor_len = page->next_cursor.len;
            memcpy(cursor, page->next_cursor.data, cursor_len);
            q2.cursor.data = cursor;
            q2.cursor.len = cursor_len;
        }
        coachq__v1__observation_page__free_unpacked(page, NULL);
        page = NULL;
        if (!more) {
            break;
        }
    }
    for (size_t k = 0; k < NALICE; k++) {
        assert_int_equal(seen[k], 1);
    }
    assert_int_equal(pages, 3);

    /* Expired: a genuine cursor of alice's, for her own list, too late. */
    q2 = q;
    assert_int_equal(client_list(alice, &q2, &page, &e), 0);
    cursor_len = page->next_cursor.len;
    assert_true(cursor_len > 0);
    memcpy(cursor, page->next_cursor.data, cursor_len);
    coachq__v1__observation_page__free_unpacked(page, NULL);
    page = NULL;
    q2.cursor.data = cursor;
    q2.cursor.len = cursor_len;
    assert_int_equal(client_list(alice, &q2, &page, &e), 0);
    coachq__v1__observation_page__free_unpacked(page, NULL);
    page = NULL;
    testutil_sleep_ms(7500);
    expect_cursor_refused(alice, &q2, msg, sizeof(msg));
    assert_non_null(strstr(msg, "expired"));

    client_free(alice);
    client_free(bob);
    testutil_stop_clean(&f->srv);
}

/* ---- Frame size ---- */

/*
 * With --max-frame 16384, 40 records of about 5 KB each: a page of 100
 * would be about 200 KB. Every page comes back in a frame no larger than
 * Welcome's max_frame_bytes, and every record exactly once.
 */
static void test_pages_fit_frame(void **state)
{
    enum { NREC = 40 };
    static const char *const extra[] = {"--max-frame", "16384", NULL};
    struct fx *f = *state;
    struct client *alice;
    struct testutil_obs *t = calloc(NREC, sizeof(*t));
    Coachq__V1__Observation *obs[NREC];
    struct client_submit_result res[NREC];
    char evidence[460];
    char big_evidence[1400];
    unsigned seen[NREC] = {0};
    struct testutil_raw r;
    Coachq__V1__Frame hf = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Hello hello = COACHQ__V1__HELLO__INIT;
    Coachq__V1__Frame *resp;
    uint32_t max_frame;
    uint8_t cursor[256];
    size_t cursor_len = 0;
    size_t pages = 0;
    size_t largest = 0;
    uint8_t *p;
    size_t n;

    assert_non_null(t);
    memset(evidence, 'e', sizeof(evidence) - 1);
    evidence[sizeof(evidence) - 1] = '\0';
    memset(big_evidence, 'b', sizeof(big_evidence) - 1);
    big_evidence[sizeof(big_evidence) - 1] = '\0';
    fx_start(f, extra);
    alice = testutil_connect(&f->srv, "alice", 0);
    for (size_t i = 0; i < NREC; i++) {
        testutil_obs_make(&t[i], "flm.dan", "rep.jon", T0 + (int64_t)i * 60);
        for (size_t k = 0; k < 10; k++) {
            t[i].r[k].evidence = evidence;
        }
        obs[i] = &t[i].o;
    }
    assert_int_equal(client_submit_many(alice, obs, NREC, res, NULL, NULL), 0);
    for (size_t i = 0; i < NREC; i++) {
        assert_int_equal(res[i].err.code, COACHQ__V1__CODE__OK);
    }

    testutil_raw_open(&r, &f->srv, g_ctx[0], RAW_TIMEOUT_S);
    hf.request_id = 1;
    hf.body_case = COACHQ__V1__FRAME__BODY_HELLO;
    hf.hello = &hello;
    hello.protocol_version = 1;
    p = pack_frame(&hf, &n);
    testutil_raw_send(&r, p, n);
    free(p);
    resp = testutil_raw_frame(&r, NULL);
    assert_non_null(resp);
    assert_int_equal(resp->body_case, COACHQ__V1__FRAME__BODY_WELCOME);
    max_frame = resp->welcome->max_frame_bytes;
    assert_int_equal(max_frame, 16384);
    /* Answers that do not page say their own limit. */
    assert_true(resp->welcome->max_response_bytes >= max_frame);
    coachq__v1__frame__free_unpacked(resp, NULL);

    for (;;) {
        Coachq__V1__Frame lf = COACHQ__V1__FRAME__INIT;
        Coachq__V1__ListObservations l = COACHQ__V1__LIST_OBSERVATIONS__INIT;
        size_t len = 0;

        l.by = COACHQ__V1__LIST_BY__LIST_BY_OBSERVER;
        l.person_id = (char *)"alice";
        l.page_size = 100;
        l.cursor.data = cursor_len > 0 ? cursor : NULL;
        l.cursor.len = cursor_len;
        lf.request_id = 10 + pages;
        lf.body_case = COACHQ__V1__FRAME__BODY_LIST;
        lf.list = &l;
        p = pack_frame(&lf, &n);
        testutil_raw_send(&r, p, n);
        free(p);
        resp = testutil_raw_frame(&r, &len);
        assert_non_null(resp);
        assert_int_equal(resp->body_case, COACHQ__V1__FRAME__BODY_PAGE);
        pages++;
        assert_true(pages <= NREC);
        if (len > max_frame) {
            fail_msg("page %zu is a %zu-byte frame; Welcome says at most %u", pages, len,
                     max_frame);
        }
        largest = len > largest ? len : largest;
        assert_true(resp->page->n_observations >= 1);
        for (size_t i = 0; i < resp->page->n_observations; i++) {
            size_t k;

            for (k = 0; k < NREC; k++) {
                if (memcmp(resp->page->observations[i]->observation->id.data, t[k].id, 16) == 0) {
                    break;
                }
            }
            assert_true(k < NREC);
            seen[k]++;
        }
        cursor_len = resp->page->next_cursor.len;
        assert_true(cursor_len <= sizeof(cursor));
        if (cursor_len > 0) {
            memcpy(cursor, resp->page->next_cursor.data, cursor_len);
        }
        coachq__v1__frame__free_unpacked(resp, NULL);
        if (cursor_len == 0) {
            break;
        }
    }
    for (size_t k = 0; k < NREC; k++) {
        assert_int_equal(seen[k], 1);
    }
    assert_true(pages > 1);
    print_message("pages: %d records of ~5 KB in %zu frames, the largest %zu bytes (limit %u)\n",
                  NREC, pages, largest, max_frame);
    testutil_raw_close(&r, 1);

    /* A record too large to come back in one frame is refused at the door. */
    {
        struct testutil_obs big;
        char *notes = malloc(VALIDATE_MAX_NOTES + 1);
        struct client_submit_result one;
        Coachq__V1__Observation *list[1] = {&big.o};
        size_t size;

        assert_non_null(notes);
        testutil_obs_make(&big, "flm.dan", "rep.jon", T0 + 99 * HOUR);
        for (size_t k = 0; k < 10; k++) {
            big.r[k].evidence = big_evidence;
        }
        big.o.notes = notes;
        /* Grow the notes until the record is just under the request limit. */
        memset(notes, 'n', VALIDATE_MAX_NOTES);
        for (size_t len = 100; len < VALIDATE_MAX_NOTES; len += 10) {
            notes[len] = '\0';
            size = coachq__v1__observation__get_packed_size(&big.o);
            if (size + 100 > max_frame) {
                break;
            }
            notes[len] = 'n';
        }
        assert_true(size + 100 > max_frame);
        assert_int_equal(client_submit_many(alice, list, 1, &one, NULL, NULL), 0);
        assert_int_equal(one.err.code, COACHQ__V1__CODE__INVALID_ARGUMENT);
        assert_string_equal(one.err.field, "observation");
        free(notes);
    }
    client_free(alice);
    free(t);
    testutil_stop_clean(&f->srv);
}

/* ---- Days ---- */

static void test_due_day_bounds(void **state)
{
    struct fx *f = *state;
    struct client *alice;
    struct testutil_obs t;
    Coachq__V1__Action a = COACHQ__V1__ACTION__INIT;
    Coachq__V1__Action *ap[1] = {&a};
    Coachq__V1__Observation *list[1] = {&t.o};
    struct client_submit_result res;
    Coachq__V1__StoredObservation *rec = NULL;
    Coachq__V1__Observation *parsed = NULL;
    struct client_error e;
    char err[256];
    json_t *j;
    char *text;
    json_error_t je;
    uint8_t *x;
    uint8_t *y;
    size_t nx;

    fx_start(f, NULL);
    alice = testutil_connect(&f->srv, "alice", 0);
    testutil_obs_make(&t, "mgr.jones", "rep.kim", T0);
    a.text = (char *)"send the deck";
    a.owner_id = (char *)"rep.kim";
    t.o.actions = ap;
    t.o.n_actions = 1;

    a.due_day = UINT32_MAX;
    assert_int_equal(client_submit_many(alice, list, 1, &res, NULL, NULL), 0);
    assert_int_equal(res.err.code, COACHQ__V1__CODE__INVALID_ARGUMENT);
    assert_string_equal(res.err.field, "observation.actions[0].due_day");
    a.due_day = VALIDATE_MAX_DAY + 1;
    assert_int_equal(client_submit_many(alice, list, 1, &res, NULL, NULL), 0);
    assert_int_equal(res.err.code, COACHQ__V1__CODE__INVALID_ARGUMENT);
    assert_string_equal(res.err.field, "observation.actions[0].due_day");

    /* 9999-12-31 is stored, and `get --json` output (obs_json_from_stored)
     * parses back, as `coachq submit` parses it, to the same record. */
    a.due_day = VALIDATE_MAX_DAY;
    assert_int_equal(client_submit_many(alice, list, 1, &res, NULL, NULL), 0);
    assert_int_equal(res.err.code, COACHQ__V1__CODE__OK);
    assert_int_equal(client_get(alice, t.id, &rec, &e), 0);
    j = obs_json_from_stored(rec);
    assert_non_null(j);
    text = json_dumps(j, JSON_COMPACT);
    assert_non_null(strstr(text, "9999-12-31"));
    json_decref(j);
    j = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    assert_non_null(j);
    if (obs_json_parse(j, &parsed, err, sizeof(err)) != 0) {
        fail_msg("get --json does not parse back: %s", err);
    }
    nx = coachq__v1__observation__get_packed_size(parsed);
    assert_int_equal(nx, coachq__v1__observation__get_packed_size(rec->observation));
    x = malloc(nx);
    y = malloc(nx);
    coachq__v1__observation__pack(parsed, x);
    coachq__v1__observation__pack(rec->observation, y);
    assert_memory_equal(x, y, nx);
    free(x);
    free(y);
    free(text);
    json_decref(j);
    obs_json_free(parsed);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    client_free(alice);
    testutil_stop_clean(&f->srv);
}

static int group_setup(void **state)
{
    static const char *const users[2] = {"alice", "bob"};
    struct sigaction sa;

    (void)state;
    testutil_watchdog(WATCHDOG_SECONDS);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    for (int i = 0; i < 2; i++) {
        struct tls_ctx_opts o;
        char cert[600], key[600], ca[600], rel[64], err[512];

        memset(&o, 0, sizeof(o));
        snprintf(rel, sizeof(rel), "users/%s.crt", users[i]);
        o.cert_file = testutil_cert_path(cert, sizeof(cert), rel);
        snprintf(rel, sizeof(rel), "users/%s.key", users[i]);
        o.key_file = testutil_cert_path(key, sizeof(key), rel);
        o.ca_file = testutil_cert_path(ca, sizeof(ca), "ca.crt");
        o.alpn = ALPN;
        if (tls_ctx_client_new(&o, &g_ctx[i], err, sizeof(err)) != 0) {
            fprintf(stderr, "tls_ctx_client_new: %s\n", err);
            return -1;
        }
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    SSL_CTX_free(g_ctx[0]);
    SSL_CTX_free(g_ctx[1]);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nul_refused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_acked_is_identical, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_cursors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pages_fit_frame, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_due_day_bounds, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
