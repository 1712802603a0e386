/*
 * server_read: the protocol port's reads. Each runs in one read
 * transaction on libuv's thread pool (the *_txn functions and read_work(),
 * which decide what the user may see with query/auth), and is answered on
 * the loop thread (the send_* functions, from read_done()). A request's
 * results are copies it owns, freed by server_request_finish().
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "certs.h"
#include "obs.h"
#include "dashfmt.h"
#include "error.h"
#include "log.h"
#include "people.h"
#include "rubrics.h"
#include "server_int.h"
#include "tls_conn.h"
#include "tz.h"
#include "zone.h"

/* ---- Reads (thread pool) ---- */

/* Whether the request's user may read rec: query/auth.c decides. Thread
 * pool. */
static int may_read_txn(struct store_txn *t, const struct auth_user *u,
                        const Coachq__V1__StoredObservation *rec)
{
    return auth_may_read_txn(t, u, rec);
}

static int get_txn(struct store_txn *t, void *arg)
{
    struct request *r = arg;
    int rc = store_get_txn(t, r->id, &r->rec);

    if (rc == 0) {
        r->allowed = may_read_txn(t, &r->conn->au, r->rec);
    }
    return rc;
}

/* A store_list_filter_cb: the caller sees only what they may read, and the
 * page (and its cursor) is made of those records alone. */
int server_read_list_filter(struct store_txn *t, Coachq__V1__StoredObservation *rec, void *arg)
{
    struct request *r = arg;

    return may_read_txn(t, &r->conn->au, rec);
}

static int history_txn(struct store_txn *t, void *arg)
{
    struct request *r = arg;
    int rc = store_history_txn(t, r->id, &r->versions, &r->n_versions);

    if (rc != 0) {
        return rc;
    }
    r->visible = calloc(r->n_versions > 0 ? r->n_versions : 1, 1);
    if (r->visible == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < r->n_versions; i++) {
        r->visible[i] = (unsigned char)may_read_txn(t, &r->conn->au, r->versions[i]);
        r->allowed |= r->visible[i];
    }
    return 0;
}

/* Appends a decoded copy of m (which is borrowed) to *arr (server_int.h). */
int server_read_keep(const ProtobufCMessage *m, ProtobufCMessage ***arr, size_t *n)
{
    ProtobufCMessage **grown;
    ProtobufCMessage *copy;
    uint8_t *buf;
    size_t len = protobuf_c_message_get_packed_size(m);

    buf = malloc(len > 0 ? len : 1);
    if (buf == NULL) {
        return -ENOMEM;
    }
    protobuf_c_message_pack(m, buf);
    copy = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
    free(buf);
    if (copy == NULL) {
        return -ENOMEM;
    }
    grown = realloc(*arr, (*n + 1) * sizeof(*grown));
    if (grown == NULL) {
        protobuf_c_message_free_unpacked(copy, NULL);
        return -ENOMEM;
    }
    grown[*n] = copy;
    *arr = grown;
    (*n)++;
    return 0;
}

static int keep_rubric(const Coachq__V1__Rubric *rb, void *arg)
{
    struct request *r = arg;

    return server_read_keep(&rb->base, &r->msgs, &r->n_msgs);
}

static int keep_cert(const Coachq__V1__Certification *c, void *arg)
{
    struct request *r = arg;

    return server_read_keep(&c->base, &r->msgs, &r->n_msgs);
}

int server_read_keep_result(const Coachq__V1__CalibrationResult *res, void *arg)
{
    struct request *r = arg;

    return server_read_keep(&res->base, &r->msgs2, &r->n_msgs2);
}

static int rubrics_txn(struct store_txn *t, void *arg)
{
    return rubrics_list(t, 1, keep_rubric, arg);
}

static int rubric_txn(struct store_txn *t, void *arg)
{
    struct request *r = arg;
    Coachq__V1__Rubric *rb = NULL;
    int rc = rubrics_get(t, r->person, r->version, &rb);

    if (rc == 0) {
        rc = server_read_keep(&rb->base, &r->msgs, &r->n_msgs);
        coachq__v1__rubric__free_unpacked(rb, NULL);
    }
    return rc;
}

static int cert_status_txn(struct store_txn *t, void *arg)
{
    struct request *r = arg;
    const struct tz_zone *z = NULL;
    int rc = certs_list(t, r->person, keep_cert, r);

    if (rc == 0) {
        rc = certs_results(t, r->person, server_read_keep_result, r);
    }
    /* The zone the observer's days are counted in, for the client's
     * expiry warnings (cert_expiry.h). */
    if (rc == 0 && zone_of_person(t, r->person, &z) == 0 && z != NULL) {
        snprintf(r->zone, sizeof(r->zone), "%s", tz_name(z));
    }
    /* The calibration exam (certs.h): observers learn whether they passed
     * and when they may try again, never the agreement figures, which
     * attempt after attempt would reveal the master scores. Enablement
     * leads and administrators see them. */
    if (rc == 0 && (r->conn->au.roles & (AUTH_LEAD | AUTH_ADMIN)) == 0) {
        for (size_t i = 0; i < r->n_msgs; i++) {
            certs_withhold_cert((Coachq__V1__Certification *)r->msgs[i]);
        }
        for (size_t i = 0; i < r->n_msgs2 && rc == 0; i++) {
            rc = certs_withhold_result(t, (Coachq__V1__CalibrationResult *)r->msgs2[i],
                                       (int64_t)time(NULL) * 1000,
                                       store_get_policy(r->conn->srv->store));
        }
    }
    return rc;
}

/* Collecting a list of actions. Thread pool. */
struct actions_walk {
    struct request *r;
    struct store_txn *t;
    char (*line)[VALIDATE_MAX_ID + 1]; /* a line's people, grown as it is walked */
    size_t n_line;
    size_t cap_line;
};

/* Keeps r (borrowed) if the caller may read it: AUTH_READ_ACTION with the
 * coach's managers today and who scored the session that agreed it. */
static int actions_keep(const Coachq__V1__ActionRecord *a, void *arg)
{
    struct actions_walk *w = arg;
    struct request *r = w->r;
    struct auth_target tg;
    char chain[PEOPLE_MAX_CHAIN][65];
    Coachq__V1__StoredObservation *agreed = NULL;
    size_t n = 0, bytes;
    int rc;

    memset(&tg, 0, sizeof(tg));
    tg.action = a;
    if ((r->conn->au.roles & AUTH_SECOND_LEVEL) &&
        people_chain_at(w->t, a->coach_id, r->act_today, chain, &n) == 0) {
        tg.chain = (const char(*)[65])chain;
        tg.n_chain = n;
    }
    if ((r->conn->au.roles & AUTH_OBSERVER) && a->agreed_in.len == UUID_LEN &&
        store_get_txn(w->t, a->agreed_in.data, &agreed) == 0) {
        tg.action_observer = agreed->observer_id;
    }
    /* The coach and the coachee of a coaching-the-coach session read the
     * actions it agreed. */
    if ((r->conn->au.roles & (AUTH_FRONT_LINE | AUTH_SECOND_LEVEL)) &&
        (strcmp(a->coach_id, r->conn->au.id) == 0 || strcmp(a->coachee_id, r->conn->au.id) == 0) &&
        a->agreed_in.len == UUID_LEN &&
        (agreed != NULL || store_get_txn(w->t, a->agreed_in.data, &agreed) == 0) &&
        agreed->observation != NULL) {
        tg.coaches_coach = auth_rubric_coaches_coach(w->t, agreed->observation->rubric_id,
                                                     agreed->observation->rubric_version);
    }
    rc = auth_decide(&r->conn->au, AUTH_READ_ACTION, &tg);
    coachq__v1__stored_observation__free_unpacked(agreed, NULL);
    if (rc != 0) {
        return 0;
    }
    bytes = coachq__v1__action_record__get_packed_size(a) + PEOPLE_ENTRY_OVERHEAD;
    if (r->n_msgs >= ACTIONS_MAX_LIST || bytes > r->max_bytes - r->list_bytes) {
        r->truncated = 1;
        return 1;
    }
    r->list_bytes += bytes;
    return server_read_keep(&a->base, &r->msgs, &r->n_msgs);
}

static int actions_line_add(const char *id, void *arg)
{
    struct actions_walk *w = arg;

    for (size_t i = 0; i < w->n_line; i++) {
        if (strcmp(w->line[i], id) == 0) {
            return 0;
        }
    }
    if (w->n_line == w->cap_line) {
        size_t cap = w->cap_line == 0 ? 64 : w->cap_line * 2;
        char(*g)[VALIDATE_MAX_ID + 1] = realloc(w->line, cap * sizeof(*g));

        if (g == NULL) {
            return -ENOMEM;
        }
        w->line = g;
        w->cap_line = cap;
    }
    snprintf(w->line[w->n_line++], VALIDATE_MAX_ID + 1, "%s", id);
    return 0;
}

static int actions_txn(struct store_txn *t, void *arg)
{
    struct request *r = arg;
    struct actions_walk w;
    struct actions_query q;
    const char **coaches = NULL;
    int rc = 0;

    memset(&w, 0, sizeof(w));
    memset(&q, 0, sizeof(q));
    w.r = r;
    w.t = t;
    rc = zone_day_of(t, r->person, r->as_of, &r->act_today);
    if (rc != 0) {
        r->act_today = store_day_of(r->as_of);
    }
    q.open_only = r->act_open;
    q.overdue_only = r->act_overdue;
    q.today = r->act_today;
    if (r->act_by == 'c') {
        q.coach = r->person;
    } else if (r->act_by == 'e') {
        q.coachee = r->person;
    } else {
        /* Everyone below the manager today, level by level. */
        rc = people_reports_at(t, r->person, r->act_today, actions_line_add, &w);
        for (size_t i = 0; rc == 0 && i < w.n_line; i++) {
            char id[VALIDATE_MAX_ID + 1];

            snprintf(id, sizeof(id), "%s", w.line[i]);
            rc = people_reports_at(t, id, r->act_today, actions_line_add, &w);
        }
        coaches = rc == 0 && w.n_line > 0 ? calloc(w.n_line, sizeof(*coaches)) : NULL;
        for (size_t i = 0; coaches != NULL && i < w.n_line; i++) {
            coaches[i] = w.line[i];
        }
        q.coaches = coaches;
        q.n_coaches = coaches != NULL ? w.n_line : 0;
    }
    if (rc == 0) {
        struct actions_list_stat st;

        /* The records read are capped whatever the caller may see of them
         * (ACTIONS_EXAMINE_MAX): a cut list says so. */
        rc = actions_list_txn(t, &q, actions_keep, &w, &st);
        if (st.capped) {
            r->truncated = 1;
        }
    }
    free(coaches);
    free(w.line);
    return rc;
}

/* Walking the organisation for a people list. Thread pool. */
struct people_walk {
    struct request *r;
    struct store_txn *t;
    int32_t day;
    const char *manager; /* whose reports are being kept; borrowed */
};

/* Keeps a summary of p (borrowed) with today's manager manager ("" for
 * none). Returns 0, 1 once the list is full (and marks it cut), or a
 * negative code. */
static int people_keep(struct request *r, const Coachq__V1__Person *p, const char *manager)
{
    Coachq__V1__PersonSummary s = COACHQ__V1__PERSON_SUMMARY__INIT;
    size_t bytes;

    /* protobuf-c's fields are not const, but packing only reads them. */
    s.id = p->id;
    s.name = p->name;
    s.roles = p->roles;
    s.n_roles = p->n_roles;
    s.manager_id = (char *)manager;
    bytes = coachq__v1__person_summary__get_packed_size(&s) + PEOPLE_ENTRY_OVERHEAD;
    if (r->n_msgs >= PEOPLE_MAX || bytes > r->max_bytes - r->list_bytes) {
        r->truncated = 1;
        return 1;
    }
    r->list_bytes += bytes;
    return server_read_keep(&s.base, &r->msgs, &r->n_msgs);
}

static int people_keep_report(const char *id, void *arg)
{
    struct people_walk *w = arg;
    Coachq__V1__Person *p = NULL;
    int rc = people_get(w->t, id, &p);

    /* A line may name someone whose person record is gone: there is
     * nobody to show. */
    if (rc == -ENOENT) {
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    rc = people_keep(w->r, p, w->manager);
    coachq__v1__person__free_unpacked(p, NULL);
    return rc;
}

/* Whether the caller may score a session p coaches today (AUTH_SCORE,
 * with p's line today): a second-level manager who observes is offered
 * their own line only, for either rubric; nobody is offered themself.
 * Leads and administrators are offered everyone. Sets *yes. */
static int people_may_score(struct people_walk *w, const Coachq__V1__Person *p, int flm, int *yes)
{
    const struct auth_user *u = &w->r->conn->au;
    char chain[PEOPLE_MAX_CHAIN][65];
    struct auth_target tg;
    size_t n = 0;
    int rc;

    *yes = 1;
    if ((u->roles & (AUTH_LEAD | AUTH_ADMIN)) != 0 || (u->roles & AUTH_OBSERVER) == 0) {
        return 0;
    }
    rc = people_chain_at(w->t, p->id, w->day, chain, &n);
    if (rc == -ENOENT) {
        n = 0;
        rc = 0;
    }
    if (rc != 0) {
        return rc;
    }
    memset(&tg, 0, sizeof(tg));
    tg.coach = p->id;
    tg.chain = (const char(*)[65])chain;
    tg.n_chain = n;
    /* A second-level manager coaches under the coaching-the-coach rubric. */
    tg.coaches_coach = !flm;
    *yes = auth_decide(u, AUTH_SCORE, &tg) == 0;
    return 0;
}

/* Keeps a front-line manager, then everyone who reports to them today:
 * the coachees a submit would accept for them on that day. A second-level
 * manager is kept alone: the coach of the rubric that scores coaching the
 * coaches, whose coachees are the front-line managers listed with them as
 * their manager. */
static int people_keep_manager(const Coachq__V1__Person *p, void *arg)
{
    struct people_walk *w = arg;
    char manager[VALIDATE_MAX_ID + 1];
    int flm = people_has_role(p, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER);
    int yes = 1;
    int rc;

    if (!flm && !people_has_role(p, COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER)) {
        return 0;
    }
    rc = people_may_score(w, p, flm, &yes);
    if (rc != 0 || !yes) {
        return rc;
    }
    rc = people_manager_at(w->t, p->id, w->day, manager, sizeof(manager));
    if (rc == -ENOENT) {
        manager[0] = '\0';
        rc = 0;
    }
    if (rc == 0) {
        rc = people_keep(w->r, p, manager);
    }
    if (rc != 0 || !flm) {
        return rc;
    }
    w->manager = p->id;
    rc = people_reports_at(w->t, p->id, w->day, people_keep_report, w);
    w->manager = NULL;
    if (rc == 0 && w->r->truncated) {
        rc = 1;
    }
    return rc;
}

static int people_txn(struct store_txn *t, void *arg)
{
    struct people_walk w;

    memset(&w, 0, sizeof(w));
    w.r = arg;
    w.t = t;
    /* Today's lines: today in the asking user's zone. */
    if (zone_day_of(t, w.r->conn->au.id, w.r->as_of, &w.day) != 0) {
        w.day = store_day_of(w.r->as_of);
    }
    return people_list(t, people_keep_manager, &w);
}

/* Builds the dashboard and measures its answer. Thread pool. */
static int dashboard_txn(struct store_txn *t, void *arg)
{
    struct request *r = arg;
    int rc;

    memset(&r->fault, 0, sizeof(r->fault));
    rc = dash_build(t, &r->conn->au, &r->dreq, &r->dopts, r->as_of, &r->dash, &r->fault);
    if (rc == 0) {
        r->list_bytes = coachq__v1__dashboard__get_packed_size(dash_message(r->dash));
        r->truncated = r->list_bytes > r->max_bytes;
    }
    return rc;
}

/* Keeps one record of an export page while it fits the frame. Thread pool. */
static int export_keep(const Coachq__V1__StoredObservation *rec, void *arg)
{
    struct request *r = arg;
    size_t bytes;

    if (r->n_msgs >= r->page_max) {
        return 1;
    }
    if (r->q.since != 0 &&
        (rec->observation == NULL || rec->observation->started_at < r->q.since)) {
        r->last_seq = rec->seq;
        return 0;
    }
    bytes = coachq__v1__stored_observation__get_packed_size(rec) + 8;
    if (r->n_msgs > 0 && bytes > r->max_bytes - r->list_bytes) {
        return 1; /* the next page starts with it */
    }
    r->list_bytes += bytes;
    r->last_seq = rec->seq;
    return server_read_keep(&rec->base, &r->msgs, &r->n_msgs);
}

static int export_txn(struct store_txn *t, void *arg)
{
    struct request *r = arg;
    int rc = store_head_seq_txn(t, &r->head_seq);

    r->last_seq = r->after_seq;
    if (rc == 0) {
        /* Skipped records (before since) count against the scan too, so a
         * page reads a bounded number of records whatever the filter. */
        rc = store_after_txn(t, r->after_seq, (size_t)r->page_max * 10 + 1, export_keep, r, NULL);
    }
    if (rc == 0 && r->n_msgs > 0) {
        r->days = calloc(r->n_msgs, sizeof(*r->days));
        rc = r->days != NULL ? 0 : -ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i < r->n_msgs; i++) {
        const Coachq__V1__StoredObservation *rec =
            (const Coachq__V1__StoredObservation *)r->msgs[i];

        if (rec->observation != NULL) {
            rc = zone_session_day(t, rec->observation, &r->days[i]);
        }
    }
    r->more = r->last_seq < r->head_seq;
    return rc;
}

/* Thread pool. */
static void read_work(uv_work_t *work)
{
    struct request *r = work->data;
    struct store *st = r->conn->srv->store;

    metrics_pool_started(&r->conn->srv->pool_jobs);
    switch (r->kind) {
    case REQ_GET:
        r->rc = store_view(st, get_txn, r);
        return;
    case REQ_HISTORY:
        r->rc = store_view(st, history_txn, r);
        return;
    case REQ_RUBRICS:
        r->rc = store_view(st, rubrics_txn, r);
        return;
    case REQ_RUBRIC:
        r->rc = store_view(st, rubric_txn, r);
        return;
    case REQ_CERT_STATUS:
        r->rc = store_view(st, cert_status_txn, r);
        return;
    case REQ_PEOPLE:
        r->rc = store_view(st, people_txn, r);
        return;
    case REQ_DASHBOARD:
        r->rc = store_view(st, dashboard_txn, r);
        return;
    case REQ_EXPORT:
        r->rc = store_view(st, export_txn, r);
        return;
    case REQ_ACTIONS:
        r->rc = store_view(st, actions_txn, r);
        return;
    case REQ_CALIBRATION:
        r->rc = store_view(st, server_cal_read_txn, r);
        return;
    case REQ_ASSIGN:
        r->rc = store_view(st, server_assign_read_txn, r);
        return;
    case REQ_LIST:
        break;
    case REQ_SUBMIT:
    case REQ_ADD_REFERENCE:
    case REQ_IMPORT_OUTCOMES:
    case REQ_IMPORT_SESSIONS:
        r->rc = -EINVAL;
        return;
    }
    r->rc = store_list(st, &r->q, &r->page);
}

/* The answer to a read that failed inside the store. */
static void send_read_failure(struct request *r)
{
    server_conn_send_error(r->conn, r->request_id,
                           r->rc == -ENOMEM ? COACHQ__V1__CODE__RESOURCE_EXHAUSTED
                                            : COACHQ__V1__CODE__INTERNAL,
                           "", "the server could not read the store; try again");
}

static void send_record(struct request *r)
{
    struct conn *c = r->conn;
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;

    if (r->rc == -ENOENT || (r->rc == 0 && !r->allowed)) {
        /* The same answer whether the record is missing or not the user's:
         * existence is not revealed. */
        server_conn_send_error(c, r->request_id, COACHQ__V1__CODE__NOT_FOUND, "get.id",
                               "no observation with this id that you may read");
        return;
    }
    if (r->rc < 0) {
        send_read_failure(r);
        return;
    }
    f.request_id = r->request_id;
    f.body_case = COACHQ__V1__FRAME__BODY_RECORD;
    f.record = r->rec;
    server_conn_send(c, &f);
}

static void send_history(struct request *r)
{
    struct conn *c = r->conn;
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__ObservationHistory h = COACHQ__V1__OBSERVATION_HISTORY__INIT;
    size_t nv = 0;

    if (r->rc == -ENOENT || (r->rc == 0 && !r->allowed)) {
        server_conn_send_error(c, r->request_id, COACHQ__V1__CODE__NOT_FOUND, "get_history.id",
                               "no observation with this id that you may read");
        return;
    }
    if (r->rc < 0) {
        send_read_failure(r);
        return;
    }
    /* Only the versions the user may read, in order; the array is the
     * request's and is compacted in place. */
    for (size_t i = 0; i < r->n_versions; i++) {
        if (r->visible[i]) {
            Coachq__V1__StoredObservation *tmp = r->versions[nv];

            r->versions[nv] = r->versions[i];
            r->versions[i] = tmp;
            nv++;
        }
    }
    h.versions = r->versions;
    h.n_versions = nv;
    f.request_id = r->request_id;
    f.body_case = COACHQ__V1__FRAME__BODY_HISTORY;
    f.history = &h;
    server_conn_send(c, &f);
}

static void send_rubrics(struct request *r)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__RubricList l = COACHQ__V1__RUBRIC_LIST__INIT;

    if (r->kind == REQ_RUBRIC && r->rc == -ENOENT) {
        server_conn_send_error(
            r->conn, r->request_id, COACHQ__V1__CODE__NOT_FOUND,
            r->version != 0 ? "get_rubric.version" : "get_rubric.id",
            "no such rubric or version on this server; 'coachq rubrics' lists them");
        return;
    }
    if (r->rc < 0) {
        send_read_failure(r);
        return;
    }
    f.request_id = r->request_id;
    if (r->kind == REQ_RUBRIC && r->n_msgs == 1) {
        f.body_case = COACHQ__V1__FRAME__BODY_RUBRIC;
        f.rubric = (Coachq__V1__Rubric *)r->msgs[0];
    } else {
        l.rubrics = (Coachq__V1__Rubric **)r->msgs;
        l.n_rubrics = r->n_msgs;
        f.body_case = COACHQ__V1__FRAME__BODY_RUBRICS;
        f.rubrics = &l;
    }
    server_conn_send(r->conn, &f);
}

static void send_cert_status(struct request *r)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__CertStatus cs = COACHQ__V1__CERT_STATUS__INIT;

    if (r->rc < 0) {
        send_read_failure(r);
        return;
    }
    cs.observer_id = r->person;
    cs.time_zone = r->zone;
    cs.certifications = (Coachq__V1__Certification **)r->msgs;
    cs.n_certifications = r->n_msgs;
    cs.results = (Coachq__V1__CalibrationResult **)r->msgs2;
    cs.n_results = r->n_msgs2;
    f.request_id = r->request_id;
    f.body_case = COACHQ__V1__FRAME__BODY_CERT_STATUS;
    f.cert_status = &cs;
    server_conn_send(r->conn, &f);
}

static void send_people(struct request *r)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__PeopleList l = COACHQ__V1__PEOPLE_LIST__INIT;

    if (r->rc < 0) {
        send_read_failure(r);
        return;
    }
    if (r->truncated) {
        log_event(LOG_WARN, "people_list_truncated",
                  "conn=%" PRIu64 " user=%s people=%zu bytes=%zu max_people=%u max_bytes=%zu",
                  r->conn->cs.id, r->conn->user, r->n_msgs, r->list_bytes, PEOPLE_MAX,
                  r->max_bytes);
    }
    l.people = (Coachq__V1__PersonSummary **)r->msgs;
    l.n_people = r->n_msgs;
    l.as_of = r->as_of;
    f.request_id = r->request_id;
    f.body_case = COACHQ__V1__FRAME__BODY_PEOPLE;
    f.people = &l;
    server_conn_send(r->conn, &f);
}

static void send_actions(struct request *r)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__ActionList l = COACHQ__V1__ACTION_LIST__INIT;

    if (r->rc < 0) {
        send_read_failure(r);
        return;
    }
    l.actions = (Coachq__V1__ActionRecord **)r->msgs;
    l.n_actions = r->n_msgs;
    l.today = r->act_today;
    l.truncated = r->truncated;
    f.request_id = r->request_id;
    f.body_case = COACHQ__V1__FRAME__BODY_ACTIONS;
    f.actions = &l;
    server_conn_send(r->conn, &f);
}

/* The bytes a list cursor is bound to besides the user: the index, the
 * time range and the person (cursor.h). out must hold LIST_BIND_MAX. */
size_t server_read_list_binding(const struct store_query *q, uint8_t *out)
{
    size_t n = 0;
    size_t plen = strlen(q->person_id);

    out[n++] = (uint8_t)q->by;
    for (int i = 0; i < 8; i++) {
        out[n++] = (uint8_t)((uint64_t)q->since >> (56 - 8 * i));
    }
    for (int i = 0; i < 8; i++) {
        out[n++] = (uint8_t)((uint64_t)q->until >> (56 - 8 * i));
    }
    memcpy(out + n, q->person_id, plen);
    return n + plen;
}

static void send_page(struct request *r)
{
    struct conn *c = r->conn;
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__ObservationPage page = COACHQ__V1__OBSERVATION_PAGE__INIT;
    uint8_t bind[LIST_BIND_MAX];
    uint8_t sealed[CURSOR_MAX_SEALED];
    size_t sealed_len = 0;
    struct cursor_bind b;

    if (r->rc == -EINVAL) {
        /* The store refused the opened cursor: sealed by this server, but
         * not a key of this person's list (cannot happen unless the key
         * leaked). */
        server_conn_send_error(c, r->request_id, COACHQ__V1__CODE__INVALID_ARGUMENT, "list.cursor",
                               "the cursor is not one this server gave for this list; start again "
                               "without a cursor");
        return;
    }
    if (r->rc < 0) {
        send_read_failure(r);
        return;
    }
    if (r->page.scan_capped && r->page.n == 0) {
        server_conn_send_error(
            c, r->request_id, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "list",
            "the list crosses too many records to answer at once; narrow it with "
            "since and until");
        return;
    }
    if (r->page.cursor_len > 0) {
        b.user = c->user;
        b.query = bind;
        b.query_len = server_read_list_binding(&r->q, bind);
        if (cursor_seal(c->srv->cursor_key, &b, (int64_t)time(NULL) + c->srv->cfg.cursor_ttl_s,
                        r->page.cursor, r->page.cursor_len, sealed, sizeof(sealed),
                        &sealed_len) < 0) {
            server_conn_send_error(c, r->request_id, COACHQ__V1__CODE__INTERNAL, "",
                                   "the server could not make the next page's cursor; try again");
            return;
        }
    }
    page.observations = r->page.items;
    page.n_observations = r->page.n;
    page.next_cursor.data = sealed_len > 0 ? sealed : NULL;
    page.next_cursor.len = sealed_len;
    f.request_id = r->request_id;
    f.body_case = COACHQ__V1__FRAME__BODY_PAGE;
    f.page = &page;
    server_conn_send(c, &f);
}

/* Who may see a dashboard of a kind, for a refusal. */
static const char *dashboard_who(Coachq__V1__DashboardKind kind)
{
    switch (kind) {
    case COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_MANAGERS:
        return "\"my managers\" is for second-level managers (their own line), enablement "
               "leads and administrators";
    case COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MANAGER:
    case COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_COACHING:
        return "a front-line manager's dashboards are for that manager, the managers above "
               "them, enablement leads and administrators";
    case COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_COACHING_MANAGERS:
        return "\"coaching my managers\" is for second-level managers (their own, or those "
               "below them), enablement leads and administrators";
    case COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME:
        return "programme impact is for enablement leads and administrators only";
    case COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS:
        return "observer reliability is for enablement leads and administrators only";
    case COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVER:
        return "\"my reliability\" is for observers (their own), enablement leads and "
               "administrators";
    default:
        return "your roles have no such dashboard";
    }
}

static void send_dashboard(struct request *r)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    char msg[256];

    switch (r->rc) {
    case 0:
        break;
    case -ENOENT:
        /* The same answer for a person who does not exist and one outside
         * the caller's line: existence is not revealed. */
        server_conn_send_error(r->conn, r->request_id, COACHQ__V1__CODE__NOT_FOUND,
                               "get_dashboard.subject_id",
                               "no such dashboard subject, or not in your line");
        return;
    case -EACCES:
        server_conn_send_error(r->conn, r->request_id, COACHQ__V1__CODE__PERMISSION_DENIED,
                               "get_dashboard.kind", dashboard_who(r->dreq.kind));
        return;
    case -EINVAL:
        server_conn_send_error(r->conn, r->request_id,
                               r->fault.code != COACHQ__V1__CODE__OK
                                   ? r->fault.code
                                   : COACHQ__V1__CODE__INVALID_ARGUMENT,
                               r->fault.field[0] ? r->fault.field : "get_dashboard",
                               r->fault.message[0] ? r->fault.message : "the request is not valid");
        return;
    default:
        log_event(LOG_ERROR, "dashboard_failed", "conn=%" PRIu64 " user=%s kind=%d rc=%d (%s)",
                  r->conn->cs.id, r->conn->user, (int)r->dreq.kind, r->rc, error_strerror(r->rc));
        send_read_failure(r);
        return;
    }
    if (r->truncated) {
        log_event(LOG_WARN, "dashboard_too_large",
                  "conn=%" PRIu64 " user=%s kind=%d bytes=%zu max_bytes=%zu", r->conn->cs.id,
                  r->conn->user, (int)r->dreq.kind, r->list_bytes, r->max_bytes);
        snprintf(msg, sizeof(msg),
                 "the dashboard's answer is %zu bytes, above the %zu bytes this connection "
                 "takes; ask for a narrower one (one manager, or another rubric)",
                 r->list_bytes, r->max_bytes);
        server_conn_send_error(r->conn, r->request_id, COACHQ__V1__CODE__RESOURCE_EXHAUSTED,
                               "get_dashboard", msg);
        return;
    }
    f.request_id = r->request_id;
    f.body_case = COACHQ__V1__FRAME__BODY_DASHBOARD;
    /* protobuf-c's fields are not const, but packing only reads them. */
    f.dashboard = (Coachq__V1__Dashboard *)dash_message(r->dash);
    server_conn_send(r->conn, &f);
}

static void send_export(struct request *r)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__ExportPage p = COACHQ__V1__EXPORT_PAGE__INIT;

    if (r->rc < 0) {
        send_read_failure(r);
        return;
    }
    p.observations = (Coachq__V1__StoredObservation **)r->msgs;
    p.n_observations = r->n_msgs;
    p.last_seq = r->last_seq;
    p.more = r->more;
    p.head_seq = r->head_seq;
    p.session_days = r->days;
    p.n_session_days = r->days != NULL ? r->n_msgs : 0;
    f.request_id = r->request_id;
    f.body_case = COACHQ__V1__FRAME__BODY_EXPORT_PAGE;
    f.export_page = &p;
    server_conn_send(r->conn, &f);
}

static void read_done(uv_work_t *work, int status)
{
    struct request *r = work->data;

    metrics_pool_finished(&r->conn->srv->pool_jobs);
    r->conn->cur_kind = r->frame_kind;
    if (r->conn->cs.tls != NULL && status == 0) {
        switch (r->kind) {
        case REQ_GET:
            send_record(r);
            break;
        case REQ_HISTORY:
            send_history(r);
            break;
        case REQ_RUBRICS:
        case REQ_RUBRIC:
            send_rubrics(r);
            break;
        case REQ_CERT_STATUS:
            send_cert_status(r);
            break;
        case REQ_PEOPLE:
            send_people(r);
            break;
        case REQ_LIST:
            send_page(r);
            break;
        case REQ_DASHBOARD:
            send_dashboard(r);
            break;
        case REQ_EXPORT:
            send_export(r);
            break;
        case REQ_ACTIONS:
            send_actions(r);
            break;
        case REQ_CALIBRATION:
            /* The list and the history (server_cal.c): one answer for
             * both paths. */
            r->w.rc = r->rc;
            server_cal_answer(r);
            break;
        case REQ_ASSIGN:
            /* ListAssignments (server_assign.c): the writer's answer. */
            r->w.rc = r->rc;
            server_assign_answer(r);
            break;
        case REQ_SUBMIT:
        case REQ_ADD_REFERENCE:
        case REQ_IMPORT_OUTCOMES:
        case REQ_IMPORT_SESSIONS:
            break;
        }
    }
    r->conn->cur_kind = SERVER_REQ_KIND_NONE;
    server_request_finish(r);
}

void server_read_queue(struct conn *c, struct request *r)
{
    int rc;

    r->work.data = r;
    metrics_pool_queued(&c->srv->pool_jobs);
    rc = uv_queue_work(c->srv->loop, &r->work, read_work, read_done);
    if (rc < 0) {
        metrics_pool_started(&c->srv->pool_jobs);
        metrics_pool_finished(&c->srv->pool_jobs);
        server_conn_send_error(c, r->request_id, COACHQ__V1__CODE__UNAVAILABLE, "",
                               "the server could not start the read; try again");
        server_request_finish(r);
    }
}
