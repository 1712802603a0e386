/*
 * test_obs_codec: the stored form of a record (store/obs_codec.h): ratings
 * stored by their behaviour's place and read back as submitted, the place
 * refused from the wire, a damaged place read as -EIO naming the record,
 * and the schema 12 step that rewrites the records of an older store.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "agg.h"
#include "keys.h"
#include "obs.h"
#include "obs_codec.h"
#include "rubrics.h"
#include "store.h"
#include "store_int.h"
#include "testutil.h"
#include "validate.h"

/* A session inside the two-line organisation's lines (2023-11-14). */
#define SESSION_AT 1700000000

/* The record of id as stored: its raw bytes copied out. */
struct raw_rec {
    const uint8_t *id;
    uint64_t seq;
    uint8_t *bytes;
    size_t len;
};

static int raw_get(struct store_txn *t, void *arg)
{
    struct raw_rec *r = arg;
    const uint8_t *val;
    int rc = obs_raw_txn(t, r->id, &r->seq, &val, &r->len);

    if (rc != 0) {
        return rc;
    }
    r->bytes = malloc(r->len);
    assert_non_null(r->bytes);
    memcpy(r->bytes, val, r->len);
    return 0;
}

/* The stored record of id, unpacked as protobuf-c reads it, without the
 * codec. Caller frees it. */
static Coachq__V1__StoredObservation *raw_record(struct store *s, const uint8_t *id, size_t *len)
{
    struct raw_rec r = {id, 0, NULL, 0};
    Coachq__V1__StoredObservation *rec;

    assert_int_equal(store_view(s, raw_get, &r), 0);
    rec = coachq__v1__stored_observation__unpack(NULL, r.len, r.bytes);
    assert_non_null(rec);
    /* The writer packs the stored record around the observation that
     * obs_codec_observation() gives (obs_apply.c) rather than packing a
     * whole record: the bytes must be what packing the record makes. */
    {
        size_t n = coachq__v1__stored_observation__get_packed_size(rec);
        uint8_t *again = malloc(n > 0 ? n : 1);

        assert_non_null(again);
        coachq__v1__stored_observation__pack(rec, again);
        assert_int_equal(n, r.len);
        assert_memory_equal(again, r.bytes, n);
        free(again);
    }
    if (len != NULL) {
        *len = r.len;
    }
    free(r.bytes);
    return rec;
}

/* Puts rec (borrowed) packed as it is, with no codec, under its sequence
 * number. */
struct raw_put {
    const Coachq__V1__StoredObservation *rec;
};

static int raw_put_txn(struct store_txn *t, void *arg)
{
    struct raw_put *p = arg;
    size_t n = coachq__v1__stored_observation__get_packed_size(p->rec);
    uint8_t *b = malloc(n > 0 ? n : 1);
    uint8_t skey[8];
    int rc;

    assert_non_null(b);
    coachq__v1__stored_observation__pack(p->rec, b);
    keys_put_be64(skey, p->rec->seq);
    rc = store_txn_put_raw(t, t->s->dbi_obs, skey, sizeof(skey), b, n, NULL);
    free(b);
    return rc;
}

static void raw_put(struct store *s, const Coachq__V1__StoredObservation *rec)
{
    struct raw_put p = {rec};

    assert_int_equal(store_exec(s, raw_put_txn, &p), 0);
}

/* The packed observation o, as a client sends it. Caller frees it. */
static uint8_t *pack_obs(const Coachq__V1__Observation *o, size_t *n)
{
    uint8_t *b;

    *n = coachq__v1__observation__get_packed_size(o);
    b = malloc(*n > 0 ? *n : 1);
    assert_non_null(b);
    coachq__v1__observation__pack(o, b);
    return b;
}

/* Asserts that the record of id reads back with exactly the bytes of o. */
static void assert_reads_as(struct store *s, const uint8_t *id, const Coachq__V1__Observation *o)
{
    Coachq__V1__StoredObservation *got = NULL;
    uint8_t *want, *have;
    size_t wn, hn;

    assert_int_equal(store_get(s, id, &got), 0);
    assert_non_null(got->observation);
    want = pack_obs(o, &wn);
    have = pack_obs(got->observation, &hn);
    assert_int_equal(hn, wn);
    assert_memory_equal(have, want, wn);
    for (size_t i = 0; i < got->observation->n_ratings; i++) {
        assert_int_equal(got->observation->ratings[i]->behaviour_place, 0);
    }
    free(want);
    free(have);
    coachq__v1__stored_observation__free_unpacked(got, NULL);
}

/* A record of the rubric is stored with every rating named by place, in
 * fewer bytes, and every reader gets the submitted observation back byte
 * for byte. */
static void test_stored_by_place(void **state)
{
    struct testutil_store_fx *f = testutil_store_fx_new(testutil_put_two_line_org, NULL);
    Coachq__V1__StoredObservation *raw, *got = NULL;
    struct testutil_obs t;
    size_t stored, plain;

    (void)state;
    testutil_obs_make(&t, "flm.a", "rep.1", SESSION_AT);
    assert_int_equal(testutil_store_submit(f->s, &t.o, "obs.1", testutil_now_ms()), 0);
    raw = raw_record(f->s, t.id, &stored);
    assert_int_equal(raw->observation->n_ratings, 10);
    for (size_t i = 0; i < raw->observation->n_ratings; i++) {
        assert_int_equal(raw->observation->ratings[i]->behaviour_place, i + 1);
        assert_string_equal(raw->observation->ratings[i]->behaviour_id, "");
    }
    /* The same record with its ids is bigger by at least the ids. */
    assert_int_equal(store_get(f->s, t.id, &got), 0);
    got->superseded = 0;
    plain = coachq__v1__stored_observation__get_packed_size(got);
    for (size_t i = 0; i < 10; i++) {
        stored += strlen(testutil_behaviours[i]);
    }
    assert_true(plain >= stored);
    coachq__v1__stored_observation__free_unpacked(got, NULL);
    coachq__v1__stored_observation__free_unpacked(raw, NULL);
    assert_reads_as(f->s, t.id, &t.o);
    testutil_store_fx_free(f);
}

/* Ratings in another order than the rubric's, and one the rubric does not
 * name (the rules are off in this store): each keeps its behaviour, the
 * unknown one by its id. */
static void test_unknown_and_reordered(void **state)
{
    struct testutil_store_fx *f = testutil_store_fx_new(testutil_put_two_line_org, NULL);
    Coachq__V1__StoredObservation *raw;
    Coachq__V1__Rating *swap;
    struct testutil_obs t;

    (void)state;
    testutil_obs_make(&t, "flm.a", "rep.1", SESSION_AT);
    swap = t.rp[0];
    t.rp[0] = t.rp[3];
    t.rp[3] = swap;
    t.r[5].behaviour_id = "not-in-the-rubric";
    assert_int_equal(testutil_store_submit(f->s, &t.o, "obs.1", testutil_now_ms()), 0);
    raw = raw_record(f->s, t.id, NULL);
    assert_int_equal(raw->observation->ratings[0]->behaviour_place, 4);
    assert_int_equal(raw->observation->ratings[3]->behaviour_place, 1);
    assert_int_equal(raw->observation->ratings[5]->behaviour_place, 0);
    assert_string_equal(raw->observation->ratings[5]->behaviour_id, "not-in-the-rubric");
    coachq__v1__stored_observation__free_unpacked(raw, NULL);
    assert_reads_as(f->s, t.id, &t.o);
    testutil_store_fx_free(f);
}

/* The attacker's test: a request that sets the store's own field is
 * refused by name; and one that reaches the writer anyway (the server
 * validates first) cannot make its record name another behaviour. */
static void test_place_from_wire(void **state)
{
    struct testutil_store_fx *f = testutil_store_fx_new(testutil_put_two_line_org, NULL);
    Coachq__V1__StoredObservation *got = NULL;
    struct validate_error err;
    struct testutil_obs t;

    (void)state;
    testutil_obs_make(&t, "flm.a", "rep.1", SESSION_AT);
    assert_int_equal(validate_observation(&t.o, "observation", &err), 0);
    t.r[2].behaviour_place = 7;
    memset(&err, 0, sizeof(err));
    assert_int_equal(validate_observation(&t.o, "observation", &err), -EINVAL);
    assert_string_equal(err.field, "observation.ratings[2].behaviour_place");
    assert_non_null(strstr(err.message, "server only"));

    assert_int_equal(testutil_store_submit(f->s, &t.o, "obs.1", testutil_now_ms()), 0);
    assert_int_equal(store_get(f->s, t.id, &got), 0);
    assert_string_equal(got->observation->ratings[2]->behaviour_id, testutil_behaviours[2]);
    assert_int_equal(got->observation->ratings[2]->behaviour_place, 0);
    coachq__v1__stored_observation__free_unpacked(got, NULL);

    /* With the rules off, a place beside an empty id and beside an id the
     * rubric does not name: each reads back as submitted, without it. */
    testutil_obs_make(&t, "flm.a", "rep.1", SESSION_AT + 86400);
    t.r[4].behaviour_id = (char *)"";
    t.r[4].behaviour_place = 2;
    t.r[6].behaviour_id = (char *)"not-in-the-rubric";
    t.r[6].behaviour_place = 3;
    assert_int_equal(testutil_store_submit(f->s, &t.o, "obs.1", testutil_now_ms()), 0);
    t.r[4].behaviour_place = 0;
    t.r[6].behaviour_place = 0;
    assert_reads_as(f->s, t.id, &t.o);
    testutil_store_fx_free(f);
}

/* Puts coaching-conversation v2 (its behaviours in the reverse order),
 * packs a record scored against it, and gives up the transaction. */
static int put_v2_and_abort(struct store_txn *t, void *arg)
{
    Coachq__V1__Rubric r = COACHQ__V1__RUBRIC__INIT;
    Coachq__V1__StoredObservation rec = COACHQ__V1__STORED_OBSERVATION__INIT;
    Coachq__V1__Behaviour b[10];
    Coachq__V1__Behaviour *bp[10];
    struct testutil_obs *o = arg;
    uint8_t *packed = NULL;
    size_t n = 0;

    for (size_t i = 0; i < 10; i++) {
        Coachq__V1__Behaviour init = COACHQ__V1__BEHAVIOUR__INIT;

        b[i] = init;
        b[i].id = (char *)testutil_behaviours[9 - i];
        b[i].name = (char *)testutil_behaviours[9 - i];
        b[i].allow_not_applicable = 1;
        bp[i] = &b[i];
    }
    r.id = (char *)"coaching-conversation";
    r.version = 2;
    r.name = (char *)"Coaching conversation";
    r.behaviours = bp;
    r.n_behaviours = 10;
    r.effective_day = 18000;
    assert_int_equal(rubrics_put(t, &r, NULL), 0);
    rec.seq = 1;
    rec.observation = &o->o;
    assert_int_equal(obs_codec_pack(t, &rec, &packed, &n), 0);
    free(packed);
    return -ECANCELED;
}

/* The codec's cache keeps only committed rubric versions: a version put in
 * a transaction that is given up names nothing afterwards, so a record
 * scored against it (the rules are off) keeps its ids and reads back as
 * submitted, also after the store is opened again. */
static void test_aborted_rubric(void **state)
{
    struct testutil_store_fx *f = testutil_store_fx_new(testutil_put_two_line_org, NULL);
    Coachq__V1__StoredObservation *raw;
    struct testutil_obs t;

    (void)state;
    testutil_obs_make(&t, "flm.a", "rep.1", SESSION_AT);
    t.o.rubric_version = 2;
    assert_int_equal(store_exec(f->s, put_v2_and_abort, &t), -ECANCELED);
    assert_int_equal(testutil_store_submit(f->s, &t.o, "obs.1", testutil_now_ms()), 0);
    raw = raw_record(f->s, t.id, NULL);
    for (size_t i = 0; i < raw->observation->n_ratings; i++) {
        assert_int_equal(raw->observation->ratings[i]->behaviour_place, 0);
    }
    coachq__v1__stored_observation__free_unpacked(raw, NULL);
    assert_reads_as(f->s, t.id, &t.o);
    store_close(f->s);
    f->s = testutil_store_open(f->dir, 0);
    assert_reads_as(f->s, t.id, &t.o);
    testutil_store_fx_free(f);
}

/* Standard error sent to a file between capture_begin() and
 * capture_end(), which copies what was logged into log. */
struct capture {
    char path[64];
    int fd;
    int saved;
};

static void capture_begin(struct capture *c)
{
    snprintf(c->path, sizeof(c->path), "/tmp/test_obs_codec_log_XXXXXX");
    c->fd = mkstemp(c->path);
    c->saved = dup(STDERR_FILENO);
    assert_true(c->fd >= 0 && c->saved >= 0);
    fflush(stderr);
    assert_int_equal(dup2(c->fd, STDERR_FILENO), STDERR_FILENO);
}

static void capture_end(struct capture *c, char *log, size_t cap)
{
    ssize_t n;

    fflush(stderr);
    assert_int_equal(dup2(c->saved, STDERR_FILENO), STDERR_FILENO);
    close(c->saved);
    assert_int_equal(lseek(c->fd, 0, SEEK_SET), 0);
    n = read(c->fd, log, cap - 1);
    log[n > 0 ? n : 0] = '\0';
    close(c->fd);
    unlink(c->path);
}

/* Runs store_get() of id with standard error in a file; returns its code
 * and copies what was logged into log. */
static int get_logged(struct store *s, const uint8_t *id, char *log, size_t cap)
{
    Coachq__V1__StoredObservation *got = NULL;
    struct capture c;
    int rc;

    capture_begin(&c);
    rc = store_get(s, id, &got);
    capture_end(&c, log, cap);
    if (rc == 0) {
        coachq__v1__stored_observation__free_unpacked(got, NULL);
    }
    return rc;
}

/* A damaged stored record is -EIO with a line naming its sequence number:
 * a place past the rubric's behaviours, a place beside an id, a place in
 * a record whose rubric version is not stored. */
static void test_damaged_place(void **state)
{
    struct testutil_store_fx *f = testutil_store_fx_new(testutil_put_two_line_org, NULL);
    Coachq__V1__StoredObservation *raw;
    struct testutil_obs t;
    char log[2048];
    char want[64];

    (void)state;
    testutil_obs_make(&t, "flm.a", "rep.1", SESSION_AT);
    assert_int_equal(testutil_store_submit(f->s, &t.o, "obs.1", testutil_now_ms()), 0);
    raw = raw_record(f->s, t.id, NULL);
    snprintf(want, sizeof(want), "seq=%llu", (unsigned long long)raw->seq);

    raw->observation->ratings[9]->behaviour_place = 11;
    raw_put(f->s, raw);
    assert_int_equal(get_logged(f->s, t.id, log, sizeof(log)), -EIO);
    assert_non_null(strstr(log, "store_record_corrupt"));
    assert_non_null(strstr(log, want));
    assert_non_null(strstr(log, "place_past_rubric"));
    /* The writer's read of it, for a resubmission, names it too. */
    {
        struct capture c;
        char line[96];
        int rc;

        capture_begin(&c);
        rc = testutil_store_submit(f->s, &t.o, "obs.1", testutil_now_ms());
        capture_end(&c, log, sizeof(log));
        assert_int_not_equal(rc, 0);
        snprintf(line, sizeof(line), "op=dedupe %s ", want);
        assert_non_null(strstr(log, line));
    }

    raw->observation->ratings[9]->behaviour_place = 10;
    raw->observation->ratings[9]->behaviour_id = "looks-for-evidence";
    raw_put(f->s, raw);
    assert_int_equal(get_logged(f->s, t.id, log, sizeof(log)), -EIO);
    assert_non_null(strstr(log, want));
    raw->observation->ratings[9]->behaviour_id = (char *)protobuf_c_empty_string;

    raw->observation->rubric_version = 9;
    raw_put(f->s, raw);
    assert_int_equal(get_logged(f->s, t.id, log, sizeof(log)), -EIO);
    assert_non_null(strstr(log, want));
    assert_non_null(strstr(log, "rubric_version_missing"));

    /* Put right again, it reads as submitted. */
    raw->observation->rubric_version = 1;
    raw_put(f->s, raw);
    assert_reads_as(f->s, t.id, &t.o);
    coachq__v1__stored_observation__free_unpacked(raw, NULL);
    testutil_store_fx_free(f);
}

/* What the records of a schema 11 store look like: each rewritten with its
 * ids (as a coachqd of schema 11 stored it), and the schema set to 11. */
struct as_eleven {
    const uint8_t (*ids)[16];
    size_t n;
};

static int as_eleven_txn(struct store_txn *t, void *arg)
{
    struct as_eleven *a = arg;
    uint8_t v11[4];
    int rc = 0;

    for (size_t i = 0; i < a->n && rc == 0; i++) {
        Coachq__V1__StoredObservation *rec = NULL;
        uint64_t seq = 0;
        uint8_t skey[8];
        uint8_t *b;
        size_t n;

        rc = obs_read_txn(t, a->ids[i], &rec);
        if (rc != 0) {
            break;
        }
        rc = obs_seq_txn(t, a->ids[i], &seq);
        n = coachq__v1__stored_observation__get_packed_size(rec);
        b = malloc(n);
        assert_non_null(b);
        coachq__v1__stored_observation__pack(rec, b);
        keys_put_be64(skey, seq);
        if (rc == 0) {
            rc = store_txn_put_raw(t, t->s->dbi_obs, skey, sizeof(skey), b, n, NULL);
        }
        free(b);
        coachq__v1__stored_observation__free_unpacked(rec, NULL);
    }
    keys_put_be32(v11, 11);
    if (rc == 0) {
        rc = store_txn_put_raw(t, t->s->dbi_meta, (const uint8_t *)"schema_version", 14, v11, 4,
                               NULL);
    }
    return rc;
}

/* A store of schema 11 opened by this build: every record is rewritten by
 * place, reads as submitted, and the aggregates rebuilt from the records
 * match the stored ones (`coachqd verify`). Opening again changes
 * nothing. */
static void test_schema_12_step(void **state)
{
    struct testutil_store_fx *f = testutil_store_fx_new(testutil_put_two_line_org, NULL);
    struct testutil_obs t[3];
    uint8_t ids[3][16];
    struct as_eleven a = {(const uint8_t(*)[16])ids, 3};
    struct agg_verify_result vr;
    Coachq__V1__StoredObservation *raw;
    size_t before, after;

    (void)state;
    for (int i = 0; i < 3; i++) {
        testutil_obs_make(&t[i], i == 2 ? "flm.b" : "flm.a", i == 2 ? "rep.2" : "rep.1",
                          SESSION_AT + 86400 * i);
        assert_int_equal(testutil_store_submit(f->s, &t[i].o, "obs.1", testutil_now_ms()), 0);
        memcpy(ids[i], t[i].id, 16);
    }
    assert_int_equal(store_exec(f->s, as_eleven_txn, &a), 0);
    raw = raw_record(f->s, ids[0], &before);
    assert_int_equal(raw->observation->ratings[0]->behaviour_place, 0);
    assert_string_equal(raw->observation->ratings[0]->behaviour_id, testutil_behaviours[0]);
    coachq__v1__stored_observation__free_unpacked(raw, NULL);
    store_close(f->s);

    for (int round = 0; round < 2; round++) {
        f->s = testutil_store_open(f->dir, 0);
        for (int i = 0; i < 3; i++) {
            raw = raw_record(f->s, ids[i], i == 0 ? &after : NULL);
            for (size_t j = 0; j < raw->observation->n_ratings; j++) {
                assert_int_equal(raw->observation->ratings[j]->behaviour_place, j + 1);
            }
            coachq__v1__stored_observation__free_unpacked(raw, NULL);
            assert_reads_as(f->s, ids[i], &t[i].o);
        }
        assert_true(after < before);
        memset(&vr, 0, sizeof(vr));
        assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &vr), 0);
        assert_int_equal(vr.observations, 3);
        assert_int_equal(vr.differences, 0);
        store_close(f->s);
    }
    f->s = NULL;
    testutil_store_fx_free(f);
}

/* Puts junk (bytes no record unpacks from) at sequence number seq. */
static int put_junk_txn(struct store_txn *t, void *arg)
{
    static const uint8_t junk[] = {0xff, 0xff, 0xff};
    uint8_t skey[8];

    keys_put_be64(skey, *(const uint64_t *)arg);
    return store_txn_put_raw(t, t->s->dbi_obs, skey, sizeof(skey), junk, sizeof(junk), NULL);
}

/* A schema 11 store with one record that does not decode opens: the step
 * rewrites the others and keeps that one as it is, naming its sequence
 * number, and `coachqd verify` reports it as a build of 11 does. */
static void test_schema_12_junk(void **state)
{
    struct testutil_store_fx *f = testutil_store_fx_new(testutil_put_two_line_org, NULL);
    struct testutil_obs t[2];
    uint8_t ids[2][16];
    struct as_eleven a = {(const uint8_t(*)[16])ids, 2};
    struct agg_verify_result vr;
    Coachq__V1__StoredObservation *raw;
    uint64_t junk_seq = 1000;
    struct capture c;
    char log[4096];

    (void)state;
    for (int i = 0; i < 2; i++) {
        testutil_obs_make(&t[i], "flm.a", "rep.1", SESSION_AT + 86400 * i);
        assert_int_equal(testutil_store_submit(f->s, &t[i].o, "obs.1", testutil_now_ms()), 0);
        memcpy(ids[i], t[i].id, 16);
    }
    assert_int_equal(store_exec(f->s, as_eleven_txn, &a), 0);
    assert_int_equal(store_exec(f->s, put_junk_txn, &junk_seq), 0);
    store_close(f->s);

    capture_begin(&c);
    f->s = testutil_store_open(f->dir, 0);
    capture_end(&c, log, sizeof(log));
    assert_non_null(f->s);
    assert_non_null(strstr(log, "store_record_kept"));
    assert_non_null(strstr(log, "seq=1000"));
    for (int i = 0; i < 2; i++) {
        raw = raw_record(f->s, ids[i], NULL);
        assert_int_equal(raw->observation->ratings[0]->behaviour_place, 1);
        coachq__v1__stored_observation__free_unpacked(raw, NULL);
        assert_reads_as(f->s, ids[i], &t[i].o);
    }
    memset(&vr, 0, sizeof(vr));
    capture_begin(&c);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &vr), -EIO);
    capture_end(&c, log, sizeof(log));
    assert_non_null(strstr(log, "store_record_corrupt"));
    assert_non_null(strstr(log, "seq=1000"));
    testutil_store_fx_free(f);
}

/* The step run again over records already stored by place (a store whose
 * schema number alone says 11) leaves every record's bytes as they were. */
static void test_migrate_again(void **state)
{
    struct testutil_store_fx *f = testutil_store_fx_new(testutil_put_two_line_org, NULL);
    struct as_eleven a = {NULL, 0};
    struct raw_rec before, after;
    struct testutil_obs t;

    (void)state;
    testutil_obs_make(&t, "flm.a", "rep.1", SESSION_AT);
    assert_int_equal(testutil_store_submit(f->s, &t.o, "obs.1", testutil_now_ms()), 0);
    before = (struct raw_rec){t.id, 0, NULL, 0};
    assert_int_equal(store_view(f->s, raw_get, &before), 0);
    assert_int_equal(store_exec(f->s, as_eleven_txn, &a), 0);
    store_close(f->s);
    f->s = testutil_store_open(f->dir, 0);
    after = (struct raw_rec){t.id, 0, NULL, 0};
    assert_int_equal(store_view(f->s, raw_get, &after), 0);
    assert_int_equal(after.len, before.len);
    assert_memory_equal(after.bytes, before.bytes, before.len);
    free(before.bytes);
    free(after.bytes);
    assert_reads_as(f->s, t.id, &t.o);
    testutil_store_fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stored_by_place), cmocka_unit_test(test_unknown_and_reordered),
        cmocka_unit_test(test_place_from_wire), cmocka_unit_test(test_aborted_rubric),
        cmocka_unit_test(test_damaged_place),   cmocka_unit_test(test_schema_12_step),
        cmocka_unit_test(test_schema_12_junk),  cmocka_unit_test(test_migrate_again),
    };

    testutil_watchdog(120);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
