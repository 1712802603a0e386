/*
 * test_server_cal: the calibration request's transaction function run the
 * way the writer runs it. A batch is run again after MDB_MAP_FULL or when
 * it is split (store.h), so every run must make its answer afresh: run
 * twice, it answers once. The list and the history only read: they answer
 * from a read transaction while the writer is held busy.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "certs.h"
#include "server_int.h"
#include "store.h"
#include "testutil.h"

#define CAL_ACTION(x) COACHQ__V1__CALIBRATION_REQUEST__ACTION__ACTION_##x

static const uint8_t REF_ID[16] = {0x5d, 0x0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};

static int put_ref_fn(struct store_txn *t, void *arg)
{
    return certs_reference_put(t, arg);
}

/* The writer's retry: the same function run twice for one request. */
static int twice_fn(struct store_txn *t, void *arg)
{
    int rc = server_cal_txn(t, arg);

    return rc != 0 ? rc : server_cal_txn(t, arg);
}

static void free_outputs(struct request *r)
{
    for (size_t i = 0; i < r->n_msgs; i++) {
        protobuf_c_message_free_unpacked(r->msgs[i], NULL);
    }
    free(r->msgs);
    for (size_t i = 0; i < r->n_msgs2; i++) {
        protobuf_c_message_free_unpacked(r->msgs2[i], NULL);
    }
    free(r->msgs2);
    coachq__v1__calibration_answer__free_unpacked(r->cal, NULL);
}

static void test_retire_run_twice_answers_once(void **state)
{
    Coachq__V1__CalibrationReference ref = COACHQ__V1__CALIBRATION_REFERENCE__INIT;
    Coachq__V1__ReferenceSummary *s;
    struct server srv;
    struct conn c;
    struct request *r;
    char dir[512];

    (void)state;
    testutil_tmpdir(dir, sizeof(dir));
    memset(&srv, 0, sizeof(srv));
    srv.store = testutil_store_open(dir, 0);
    assert_non_null(srv.store);
    ref.id.data = (uint8_t *)REF_ID;
    ref.id.len = sizeof(REF_ID);
    ref.rubric_id = (char *)"discovery";
    ref.rubric_version = 1;
    ref.title = (char *)"Deal review, Globex";
    ref.registered_by = (char *)"lead.gil";
    ref.registered_at_ms = 1700000000000;
    assert_int_equal(store_exec(srv.store, put_ref_fn, &ref), 0);

    memset(&c, 0, sizeof(c));
    c.srv = &srv;
    snprintf(c.user, sizeof(c.user), "lead.gil");
    snprintf(c.au.id, sizeof(c.au.id), "lead.gil");
    c.au.roles = AUTH_LEAD;
    snprintf(c.cs.peer, sizeof(c.cs.peer), "127.0.0.1:1");
    r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->conn = &c;
    r->version = (uint32_t)CAL_ACTION(RETIRE);
    memcpy(r->id, REF_ID, sizeof(REF_ID));
    r->w.received_at_ms = 1700000100000;
    snprintf(r->person, sizeof(r->person), "lead.gil");

    assert_int_equal(store_exec(srv.store, twice_fn, r), 0);
    /* The retired reference once, not once per run. */
    assert_int_equal(r->n_msgs, 1);
    assert_int_equal(r->n_msgs2, 0);
    assert_null(r->cal);
    s = (Coachq__V1__ReferenceSummary *)r->msgs[0];
    assert_string_equal(s->title, "Deal review, Globex");
    assert_true(s->retired_at_ms == 1700000100000);

    free_outputs(r);
    free(r);
    store_close(srv.store);
    testutil_rmrf(dir);
}

/* Holds the writer thread until released. */
struct hold {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered;
    int released;
};

static int hold_fn(struct store_txn *t, void *arg)
{
    struct hold *h = arg;

    (void)t;
    pthread_mutex_lock(&h->mu);
    h->entered = 1;
    pthread_cond_broadcast(&h->cv);
    while (!h->released) {
        pthread_cond_wait(&h->cv, &h->mu);
    }
    pthread_mutex_unlock(&h->mu);
    return 0;
}

static void test_list_and_history_read_with_writer_busy(void **state)
{
    Coachq__V1__CalibrationReference ref = COACHQ__V1__CALIBRATION_REFERENCE__INIT;
    Coachq__V1__ReferenceSummary *s;
    struct store_write w;
    struct hold h;
    struct server srv;
    struct conn c;
    struct request *r;
    char dir[512];

    (void)state;
    testutil_tmpdir(dir, sizeof(dir));
    memset(&srv, 0, sizeof(srv));
    srv.store = testutil_store_open(dir, 0);
    assert_non_null(srv.store);
    ref.id.data = (uint8_t *)REF_ID;
    ref.id.len = sizeof(REF_ID);
    ref.rubric_id = (char *)"discovery";
    ref.rubric_version = 1;
    ref.title = (char *)"Deal review, Globex";
    ref.registered_by = (char *)"lead.gil";
    ref.registered_at_ms = 1700000000000;
    assert_int_equal(store_exec(srv.store, put_ref_fn, &ref), 0);

    /* The writer is busy with a request that does not end until the reads
     * below have answered. */
    memset(&h, 0, sizeof(h));
    pthread_mutex_init(&h.mu, NULL);
    pthread_cond_init(&h.cv, NULL);
    memset(&w, 0, sizeof(w));
    w.fn = hold_fn;
    w.fn_arg = &h;
    w.received_at_ms = 1700000050000;
    assert_int_equal(store_submit(srv.store, &w), 0);
    pthread_mutex_lock(&h.mu);
    while (!h.entered) {
        pthread_cond_wait(&h.cv, &h.mu);
    }
    pthread_mutex_unlock(&h.mu);

    memset(&c, 0, sizeof(c));
    c.srv = &srv;
    snprintf(c.user, sizeof(c.user), "obs.ann");
    snprintf(c.au.id, sizeof(c.au.id), "obs.ann");
    c.au.roles = AUTH_OBSERVER;
    r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->conn = &c;
    r->version = (uint32_t)CAL_ACTION(REFERENCES);
    r->w.received_at_ms = 1700000100000;
    snprintf(r->person, sizeof(r->person), "obs.ann");
    /* A read transaction: a write in it would be refused (-EROFS). */
    assert_int_equal(store_view(srv.store, server_cal_read_txn, r), 0);
    assert_int_equal(r->n_msgs, 1);
    s = (Coachq__V1__ReferenceSummary *)r->msgs[0];
    assert_string_equal(s->title, "Deal review, Globex");
    /* Run again, it answers once. */
    assert_int_equal(store_view(srv.store, server_cal_read_txn, r), 0);
    assert_int_equal(r->n_msgs, 1);
    r->version = (uint32_t)CAL_ACTION(HISTORY);
    assert_int_equal(store_view(srv.store, server_cal_read_txn, r), 0);
    assert_int_equal(r->n_msgs, 0);
    assert_int_equal(r->n_msgs2, 0);
    /* Reveal and retire write: never on the read path. */
    r->version = (uint32_t)CAL_ACTION(RETIRE);
    memcpy(r->id, REF_ID, sizeof(REF_ID));
    assert_int_equal(store_view(srv.store, server_cal_read_txn, r), -EINVAL);

    pthread_mutex_lock(&h.mu);
    h.released = 1;
    pthread_cond_broadcast(&h.cv);
    pthread_mutex_unlock(&h.mu);
    store_drain(srv.store);
    assert_ptr_equal(store_completed_take(srv.store), &w);
    assert_int_equal(w.rc, 0);

    free_outputs(r);
    free(r);
    store_close(srv.store);
    pthread_cond_destroy(&h.cv);
    pthread_mutex_destroy(&h.mu);
    testutil_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retire_run_twice_answers_once),
        cmocka_unit_test(test_list_and_history_read_with_writer_busy),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
