/*
 * test_queue: the observer's outbox, end to end. The real coachq program
 * (testutil_coachq()) runs against a real coachqd with the fixture
 * organisation (testutil_seed_org()), as obs.ann, with its local store in
 * the test's directory (COACHQ_DATA_DIR).
 *
 * What is checked: a submit while the server is unreachable exits 3 and
 * leaves the record queued with the reason; `queue flush` then stores it
 * exactly once, and flushing again (also a resend of the very same record)
 * never stores a second copy; a record the server refuses stays in the
 * outbox, rejected with the server's error and field, until `queue
 * discard`; `mine` lists what is stored and what waits; `rubrics` answers
 * from its cache when the server is unreachable. outbox_flush() itself:
 * attempts and the reason recorded when the server is not reached. A
 * disabled user's submit and flush say the server refused, not that it
 * was unreachable.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "client.h"
#include "localstore.h"
#include "outbox.h"
#include "testutil.h"
#include "uuid.h"

#define WATCHDOG_SECONDS 240
#define OUT_LEN 32768

struct fixture {
    char dir[512];
    char data[600];
    char store[600];
    char file[600];
    char live[64]; /* --server of the running coachqd */
    char dead[64]; /* --server where nothing listens */
    char cert[600];
    char key[600];
    char ca[600];
    struct testutil_server srv;
};

/* A 127.0.0.1 port nobody listens on: bound, then closed again. */
static int dead_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port;

    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    testutil_watchdog(WATCHDOG_SECONDS);
    testutil_tmpdir(f->dir, sizeof(f->dir));
    snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
    snprintf(f->store, sizeof(f->store), "%s/client", f->dir);
    snprintf(f->file, sizeof(f->file), "%s/obs.json", f->dir);
    testutil_seed_org(f->data);
    testutil_server_start(&f->srv, f->data, NULL);
    snprintf(f->live, sizeof(f->live), "127.0.0.1:%d", f->srv.port);
    snprintf(f->dead, sizeof(f->dead), "127.0.0.1:%d", dead_port());
    testutil_cert_path(f->cert, sizeof(f->cert), "users/obs.ann.crt");
    testutil_cert_path(f->key, sizeof(f->key), "users/obs.ann.key");
    testutil_cert_path(f->ca, sizeof(f->ca), "ca.crt");
    /* The coachq children inherit it. */
    setenv("COACHQ_DATA_DIR", f->store, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    testutil_server_abandon(&f->srv);
    testutil_rmrf(f->dir);
    unsetenv("COACHQ_DATA_DIR");
    free(f);
    return 0;
}

/* Runs coachq CMD [SUB] [ARG] [--json] against server as obs.ann, expecting
 * exit status expect. Empty strings are left out. */
static void cq(struct fixture *f, char *out, int expect, const char *server, const char *cmd,
               const char *sub, const char *arg, const char *flag)
{
    const char *a[4] = {sub, arg, flag, NULL};
    const char *v[4] = {NULL, NULL, NULL, NULL};
    size_t n = 0;

    for (size_t i = 0; i < 3; i++) {
        if (a[i] != NULL && a[i][0] != '\0') {
            v[n++] = a[i];
        }
    }
    testutil_coachq(out, OUT_LEN, expect, cmd, "--server", server, "--cert", f->cert, "--key",
                    f->key, "--ca", f->ca, "--timeout", "20", v[0], v[1], v[2], NULL);
}

/* Writes an observation of coaching-conversation v1 with id, coach and
 * coachee into the fixture's file: every behaviour rated, evidence for
 * the scores 1 and 4 (the rubric wants it). */
static void write_obs(struct fixture *f, const char *id, const char *coach, const char *coachee)
{
    FILE *fp = fopen(f->file, "w");

    assert_non_null(fp);
    fprintf(fp,
            "{\n"
            "  \"id\": \"%s\",\n"
            "  \"rubric\": \"coaching-conversation\",\n"
            "  \"rubric_version\": 1,\n"
            "  \"coach\": \"%s\",\n"
            "  \"coachee\": \"%s\",\n"
            "  \"session_type\": \"deal_review\",\n"
            "  \"focus\": \"process\",\n"
            "  \"started_at\": \"2026-10-27T10:00:00Z\",\n"
            "  \"duration_min\": 40,\n"
            "  \"ratings\": [\n"
            "    {\"behaviour\": \"collaborative\", \"score\": 3},\n"
            "    {\"behaviour\": \"regular-cadence\", \"score\": 3},\n"
            "    {\"behaviour\": \"consistent-framework\", \"score\": 2},\n"
            "    {\"behaviour\": \"buyers-view\", \"score\": 4,\n"
            "     \"evidence\": \"Asked how the buyer's CFO would see the price.\"},\n"
            "    {\"behaviour\": \"looks-for-evidence\", \"score\": 3},\n"
            "    {\"behaviour\": \"elicits-critical-thinking\", \"score\": 2},\n"
            "    {\"behaviour\": \"praises-insight\", \"score\": 3},\n"
            "    {\"behaviour\": \"objective-curious\", \"score\": 3},\n"
            "    {\"behaviour\": \"doesnt-take-over\", \"score\": 1,\n"
            "     \"evidence\": \"Offered to write the proposal himself.\"},\n"
            "    {\"behaviour\": \"documents-actions\", \"score\": 2}\n"
            "  ],\n"
            "  \"markers\": [{\"kind\": \"open_question\", \"offset\": \"01:10\"}],\n"
            "  \"notes\": \"Queued while offline.\"\n"
            "}\n",
            id, coach, coachee);
    assert_int_equal(fclose(fp), 0);
}

static void new_id(char id[UUID_STR_LEN], uint8_t raw[UUID_LEN])
{
    assert_int_equal(uuid_generate(raw), 0);
    uuid_format(raw, id);
}

/* The outbox as `queue list --json` prints it (caller owns). */
static json_t *queue_json(struct fixture *f)
{
    char out[OUT_LEN];
    json_error_t je;
    json_t *j;

    cq(f, out, 0, f->dead, "queue", "list", "--json", "");
    j = json_loads(out, 0, &je);
    if (j == NULL || !json_is_array(j)) {
        fail_msg("queue list --json is not a JSON array: %s\n%s", je.text, out);
    }
    return j;
}

/* How many records obs.ann has stored with this id (any version). */
static size_t stored_copies(struct fixture *f, const uint8_t id[UUID_LEN])
{
    struct client *c = testutil_connect(&f->srv, "obs.ann", 0);
    Coachq__V1__ListObservations q = COACHQ__V1__LIST_OBSERVATIONS__INIT;
    Coachq__V1__ObservationPage *page = NULL;
    struct client_error e;
    size_t n = 0;

    q.by = COACHQ__V1__LIST_BY__LIST_BY_OBSERVER;
    q.person_id = (char *)"obs.ann";
    q.page_size = 500;
    assert_int_equal(client_list(c, &q, &page, &e), 0);
    /* Every record of this test fits in one page. */
    assert_int_equal(page->next_cursor.len, 0);
    for (size_t i = 0; i < page->n_observations; i++) {
        const Coachq__V1__Observation *o = page->observations[i]->observation;

        if (o != NULL && o->id.len == UUID_LEN && memcmp(o->id.data, id, UUID_LEN) == 0) {
            n++;
        }
    }
    coachq__v1__observation_page__free_unpacked(page, NULL);
    client_free(c);
    return n;
}

/* ---- Offline submit, then flush -------------------------------------------- */

static void test_offline_submit_then_flush_stores_once(void **state)
{
    struct fixture *f = *state;
    char out[OUT_LEN];
    char id[UUID_STR_LEN];
    uint8_t raw[UUID_LEN];
    json_t *q;
    json_t *e;
    struct client *c;
    Coachq__V1__StoredObservation *rec = NULL;
    struct client_error err;

    new_id(id, raw);
    write_obs(f, id, "flm.cara", "rep.ida");

    /* Server unreachable: exit 3, queued, with the reason. */
    cq(f, out, 3, f->dead, "submit", f->file, "", "");
    assert_non_null(strstr(out, id));
    assert_non_null(strstr(out, "QUEUED (server unreachable: "));
    assert_non_null(strstr(out, "coachq queue flush sends it"));
    assert_non_null(strstr(out, "queued=1"));
    assert_int_equal(stored_copies(f, raw), 0);

    cq(f, out, 0, f->dead, "queue", "list", "", "");
    assert_non_null(strstr(out, id));
    assert_non_null(strstr(out, "queued"));
    assert_non_null(strstr(out, "UNAVAILABLE"));
    assert_non_null(strstr(out, "1 in the outbox (1 queued, 0 rejected)"));
    q = queue_json(f);
    assert_int_equal(json_array_size(q), 1);
    e = json_array_get(q, 0);
    assert_string_equal(json_string_value(json_object_get(e, "id")), id);
    assert_string_equal(json_string_value(json_object_get(e, "state")), "queued");
    assert_string_equal(json_string_value(json_object_get(e, "coachee")), "rep.ida");
    assert_int_equal(json_integer_value(json_object_get(e, "attempts")), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "error"), "code")),
                        "UNAVAILABLE");
    /* The reason is in words, not just a code. */
    assert_true(strlen(json_string_value(json_object_get(json_object_get(e, "error"), "message"))) >
                10);
    json_decref(q);

    /* Another --data-dir is another store: empty. */
    {
        char other[700];

        snprintf(other, sizeof(other), "%s/other", f->dir);
        testutil_coachq(out, OUT_LEN, 0, "queue", "list", "--data-dir", other, NULL);
        assert_non_null(strstr(out, "0 in the outbox"));
    }

    /* Still unreachable: flush exits 3 and counts the attempt. */
    cq(f, out, 3, f->dead, "queue", "flush", "", "");
    assert_non_null(strstr(out, "waiting=1"));
    assert_non_null(strstr(out, "stay queued"));
    q = queue_json(f);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(q, 0), "attempts")), 2);
    json_decref(q);

    /* Server up: stored once; the outbox is empty. */
    cq(f, out, 0, f->live, "queue", "flush", "", "");
    assert_non_null(strstr(out, "stored=1 duplicate=0 rejected=0 waiting=0"));
    c = testutil_connect(&f->srv, "obs.ann", 1);
    assert_int_equal(client_get(c, raw, &rec, &err), 0);
    assert_string_equal(rec->observer_id, "obs.ann");
    assert_string_equal(rec->observation->coachee_id, "rep.ida");
    assert_int_equal(rec->observation->n_ratings, 10);
    assert_int_equal(rec->observation->n_markers, 1);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    client_free(c);
    assert_int_equal(stored_copies(f, raw), 1);
    q = queue_json(f);
    assert_int_equal(json_array_size(q), 0);
    json_decref(q);

    /* Flush again: nothing to send, still one record. */
    cq(f, out, 0, f->live, "queue", "flush", "", "");
    assert_non_null(strstr(out, "stored=0 duplicate=0 rejected=0 waiting=0"));
    assert_int_equal(stored_copies(f, raw), 1);

    /* The same record queued again (as after a crash between the server's
     * answer and the local delete): answered DUPLICATE, still one record,
     * and it leaves the outbox. */
    cq(f, out, 3, f->dead, "submit", f->file, "", "");
    cq(f, out, 0, f->live, "queue", "flush", "", "");
    assert_non_null(strstr(out, "stored=0 duplicate=1 rejected=0 waiting=0"));
    assert_int_equal(stored_copies(f, raw), 1);
    q = queue_json(f);
    assert_int_equal(json_array_size(q), 0);
    json_decref(q);

    /* mine: the stored record, current, and nothing waiting. */
    cq(f, out, 0, f->live, "mine", "--since", "2026-10-01", "");
    assert_non_null(strstr(out, id));
    assert_non_null(strstr(out, "stored v1, current"));
    assert_non_null(strstr(out, "0 in the outbox"));
    /* history --json: the current version says "superseded": false. */
    cq(f, out, 0, f->live, "history", id, "--json", "");
    assert_non_null(strstr(out, "\"superseded\": false"));
    assert_null(strstr(out, "\"superseded\": true"));

    /* amend refuses a record the caller may read but did not observe,
     * before any UI starts. */
    {
        char gil_cert[600];
        char gil_key[600];

        testutil_cert_path(gil_cert, sizeof(gil_cert), "users/lead.gil.crt");
        testutil_cert_path(gil_key, sizeof(gil_key), "users/lead.gil.key");
        testutil_coachq(out, OUT_LEN, 1, "amend", "--server", f->live, "--cert", gil_cert, "--key",
                        gil_key, "--ca", f->ca, id, NULL);
        assert_non_null(strstr(out, "only its observer may amend it"));
    }
}

/* ---- A refused record stays until discarded ---------------------------------- */

static void test_rejected_stays_until_discarded(void **state)
{
    struct fixture *f = *state;
    char out[OUT_LEN];
    char id[UUID_STR_LEN];
    uint8_t raw[UUID_LEN];
    json_t *q;
    json_t *e;
    json_t *j;
    json_error_t je;

    /* rep.jon reports to flm.dan, not to flm.cara. */
    new_id(id, raw);
    write_obs(f, id, "flm.cara", "rep.jon");
    cq(f, out, 3, f->dead, "submit", f->file, "", "");

    cq(f, out, 1, f->live, "queue", "flush", "", "");
    assert_non_null(strstr(out, "stored=0 duplicate=0 rejected=1 waiting=0"));
    assert_non_null(strstr(out, id));
    assert_non_null(strstr(out, "REJECTED INVALID_ARGUMENT observation.coachee_id: "));
    assert_int_equal(stored_copies(f, raw), 0);

    /* Kept, rejected, with the server's field. */
    cq(f, out, 0, f->dead, "queue", "list", "", "");
    assert_non_null(strstr(out, "rejected"));
    assert_non_null(strstr(out, "observation.coachee_id"));
    q = queue_json(f);
    assert_int_equal(json_array_size(q), 1);
    e = json_array_get(q, 0);
    assert_string_equal(json_string_value(json_object_get(e, "state")), "rejected");
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "error"), "field")),
                        "observation.coachee_id");
    assert_int_equal(json_integer_value(json_object_get(e, "attempts")), 2);
    json_decref(q);

    /* show --json: the observation, as submit reads it. */
    cq(f, out, 0, f->dead, "queue", "show", id, "--json");
    j = json_loads(out, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "id")), id);
    assert_string_equal(json_string_value(json_object_get(j, "coachee")), "rep.jon");
    json_decref(j);
    cq(f, out, 0, f->dead, "queue", "show", id, "");
    assert_non_null(strstr(out, "rejected: the server refused it"));
    assert_non_null(strstr(out, "INVALID_ARGUMENT observation.coachee_id"));

    /* observe and amend fail before the UI on what they cannot find. */
    {
        char other[UUID_STR_LEN];
        uint8_t other_raw[UUID_LEN];

        new_id(other, other_raw);
        cq(f, out, 2, f->dead, "observe", "--fix", other, "");
        assert_non_null(strstr(out, "is not in the outbox"));
        cq(f, out, 1, f->live, "amend", other, "", "");
        assert_non_null(strstr(out, "NOT_FOUND"));
        cq(f, out, 2, f->dead, "observe", "--type", "lunch", "");
        assert_non_null(strstr(out, "is not a session type"));
    }

    /* A plain flush leaves it alone (and says it is there); --rejected
     * sends it again, and it is refused again. */
    cq(f, out, 1, f->live, "queue", "flush", "", "");
    assert_non_null(strstr(out, "stored=0 duplicate=0 rejected=0 waiting=0"));
    assert_non_null(strstr(out, "REJECTED"));
    /* One entry: singular noun and verb. */
    assert_non_null(strstr(out, "1 rejected entry stays in the outbox"));
    cq(f, out, 1, f->live, "queue", "flush", "--rejected", "");
    assert_non_null(strstr(out, "rejected=1"));
    q = queue_json(f);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(q, 0), "attempts")), 3);
    json_decref(q);

    /* mine, offline: the outbox still shows it, with why. */
    cq(f, out, 3, f->dead, "mine", "", "", "");
    assert_non_null(strstr(out, id));
    assert_non_null(strstr(out, "rejected: INVALID_ARGUMENT observation.coachee_id"));
    /* Offline, the server's count is unknown, not 0. */
    assert_non_null(strstr(out, ": unknown (offline), 1 in the outbox"));
    assert_null(strstr(out, "0 stored"));

    cq(f, out, 0, f->dead, "queue", "discard", id, "");
    assert_non_null(strstr(out, "discarded"));
    q = queue_json(f);
    assert_int_equal(json_array_size(q), 0);
    json_decref(q);
    cq(f, out, 1, f->dead, "queue", "discard", id, "");
    assert_non_null(strstr(out, "not in the outbox"));
    cq(f, out, 2, f->dead, "queue", "show", "not-a-uuid", "");
    assert_int_equal(stored_copies(f, raw), 0);
}

/* ---- Rubrics from the cache ---------------------------------------------------- */

static void test_rubrics_offline_from_cache(void **state)
{
    struct fixture *f = *state;
    char out[OUT_LEN];
    char line[800];
    json_t *j;
    json_error_t je;

    /* Nothing cached yet. */
    cq(f, out, 3, f->dead, "rubrics", "", "", "");
    assert_non_null(strstr(out, "no cached copy"));

    cq(f, out, 0, f->live, "rubrics", "", "", "");
    assert_non_null(strstr(out, "coaching-conversation"));
    assert_null(strstr(out, "offline"));

    snprintf(line, sizeof(line), "(offline: cached rubrics from %s)", f->store);
    cq(f, out, 0, f->dead, "rubrics", "", "", "");
    assert_non_null(strstr(out, line));
    assert_non_null(strstr(out, "coaching-conversation"));
    assert_non_null(strstr(out, "call-review"));
    assert_non_null(strstr(out, "coaching-the-coach"));
    assert_non_null(strstr(out, "3 rubrics"));

    /* The list cached every rubric in full: show works offline too. */
    cq(f, out, 0, f->dead, "rubrics", "show", "coaching-conversation", "");
    assert_non_null(strstr(out, line));
    assert_non_null(strstr(out, "doesnt-take-over"));
    cq(f, out, 0, f->dead, "rubrics", "show", "call-review@1", "");
    assert_non_null(strstr(out, "call-review v1"));
    cq(f, out, 3, f->dead, "rubrics", "show", "no-such-rubric", "");
    assert_non_null(strstr(out, "no cached copy"));
    cq(f, out, 3, f->dead, "rubrics", "show", "call-review@7", "");

    /* --json: the offline note goes to standard error, which
     * testutil_coachq() captures with standard output; the JSON is what
     * starts at the first '{'. */
    cq(f, out, 0, f->dead, "rubrics", "show", "coaching-conversation", "--json");
    assert_non_null(strchr(out, '{'));
    j = json_loads(strchr(out, '{'), JSON_DISABLE_EOF_CHECK, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "coaching-conversation");
    json_decref(j);
}

/* ---- outbox_flush() itself ------------------------------------------------------- */

static void test_outbox_flush_records_attempts(void **state)
{
    struct fixture *f = *state;
    struct localstore *ls = NULL;
    struct testutil_obs t;
    struct client_opts opts;
    struct outbox_summary sum;
    Coachq__V1__OutboxEntry e = COACHQ__V1__OUTBOX_ENTRY__INIT;
    Coachq__V1__OutboxEntry *got = NULL;
    char err[512];
    static char dead_port_str[16];

    assert_int_equal(localstore_open(f->store, &ls, err, sizeof(err)), 0);
    /* 2026-10-27T10:00:00Z */
    testutil_obs_make(&t, "flm.cara", "rep.ida", 1793095200);
    e.observation = &t.o;
    e.state = COACHQ__V1__OUTBOX_ENTRY__STATE__STATE_QUEUED;
    e.queued_at_ms = 1;
    assert_int_equal(localstore_outbox_put(ls, &e), 0);

    /* Not reached: negative, the reason in the summary and the entry. */
    testutil_client_opts(&opts, &f->srv, "obs.ann", 2);
    snprintf(dead_port_str, sizeof(dead_port_str), "%s", strrchr(f->dead, ':') + 1);
    opts.port = dead_port_str;
    assert_true(outbox_flush(ls, &opts, 0, &sum) < 0);
    assert_int_equal(sum.waiting, 1);
    assert_int_equal(sum.sent + sum.duplicates + sum.rejected, 0);
    assert_int_equal(sum.conn_err.code, COACHQ__V1__CODE__UNAVAILABLE);
    assert_true(strlen(sum.conn_err.message) > 0);
    assert_int_equal(localstore_outbox_get(ls, t.id, &got), 0);
    assert_int_equal(got->state, COACHQ__V1__OUTBOX_ENTRY__STATE__STATE_QUEUED);
    assert_int_equal(got->attempts, 1);
    assert_true(got->last_attempt_ms > 1700000000000LL);
    assert_int_equal(got->last_error->code, COACHQ__V1__CODE__UNAVAILABLE);
    assert_string_equal(got->last_error->message, sum.conn_err.message);
    assert_int_equal(got->queued_at_ms, 1);
    coachq__v1__outbox_entry__free_unpacked(got, NULL);

    /* Reached: stored, gone from the outbox. */
    testutil_client_opts(&opts, &f->srv, "obs.ann", 2);
    assert_int_equal(outbox_flush(ls, &opts, 0, &sum), 0);
    assert_int_equal(sum.sent, 1);
    assert_int_equal(sum.waiting, 0);
    assert_int_equal(localstore_outbox_get(ls, t.id, &got), -ENOENT);
    assert_int_equal(stored_copies(f, t.id), 1);

    /* Nothing left: 0 without connecting (a dead port would fail). */
    opts.port = dead_port_str;
    assert_int_equal(outbox_flush(ls, &opts, 0, &sum), 0);
    assert_int_equal(sum.sent + sum.waiting, 0);
    localstore_close(ls);
}

/* ---- A refused user is not an unreachable server --------------------------- */

/* A disabled user's submit and flush name the server's refusal and never
 * say "unreachable": the server was reached and said no. The records stay
 * queued (an administrator may enable the user again), and the exit status
 * is still 3, a failed connection. */
static void test_refused_user_is_not_unreachable(void **state)
{
    struct fixture *f = *state;
    char out[OUT_LEN];
    char id[UUID_STR_LEN];
    uint8_t raw[UUID_LEN];
    json_t *q;

    new_id(id, raw);
    write_obs(f, id, "flm.cara", "rep.ida");
    testutil_coachqd(out, OUT_LEN, 0, "user", "disable", "--data", f->data, "obs.ann", NULL);

    cq(f, out, 3, f->live, "submit", f->file, "", "");
    assert_non_null(strstr(out, id));
    assert_non_null(strstr(out, "QUEUED (the server refused you: "));
    assert_non_null(strstr(out, "disabled"));
    assert_non_null(strstr(out, "PERMISSION_DENIED"));
    assert_non_null(strstr(out, "refused the connection"));
    assert_non_null(strstr(out, "queued=1"));
    assert_null(strstr(out, "unreachable"));

    q = queue_json(f);
    assert_int_equal(json_array_size(q), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(json_array_get(q, 0), "error"), "code")),
        "PERMISSION_DENIED");
    json_decref(q);

    cq(f, out, 3, f->live, "queue", "flush", "", "");
    assert_non_null(strstr(out, "waiting=1"));
    assert_non_null(strstr(out, "the server refused you: "));
    assert_non_null(strstr(out, "disabled"));
    assert_non_null(strstr(out, "stay queued"));
    assert_null(strstr(out, "unreachable"));

    /* A server that is really gone still says so. */
    cq(f, out, 3, f->dead, "queue", "flush", "", "");
    assert_non_null(strstr(out, "server unreachable (UNAVAILABLE): "));

    /* Enabled again: the queued record goes out, once ("stored=1": it
     * was not stored while the user was refused). */
    testutil_coachqd(out, OUT_LEN, 0, "user", "enable", "--data", f->data, "obs.ann", NULL);
    cq(f, out, 0, f->live, "queue", "flush", "", "");
    assert_non_null(strstr(out, "stored=1 duplicate=0 rejected=0 waiting=0"));
    assert_int_equal(stored_copies(f, raw), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_offline_submit_then_flush_stores_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rejected_stays_until_discarded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rubrics_offline_from_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_flush_records_attempts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_user_is_not_unreachable, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
