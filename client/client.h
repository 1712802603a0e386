/*
 * client: a connection from coachq to coachqd, and the requests on it.
 *
 * A struct client owns its own libuv loop, TLS context and one tls_conn, so
 * several clients can run on several threads at once. The calls below are
 * synchronous: each runs the loop until its responses arrived, the timeout
 * passed or the connection failed. Requests are pipelined: submit_many
 * keeps up to `window` requests in flight on the one connection.
 *
 * One thread uses a client at a time.
 *
 * Programs using this library must ignore SIGPIPE (libuv writes with
 * write(2)); otherwise a server that goes away mid-write kills the process.
 *
 * Results: 0; -EREMOTEIO when the server answered the request with an Error
 * (err->code is its code, never OK or UNAVAILABLE from the client itself);
 * any other negative code is a failure of the connection (refused, TLS,
 * timeout -ETIMEDOUT, closed), with err->code UNAVAILABLE (or
 * DEADLINE_EXCEEDED for a timeout) and err->message saying what happened in
 * words a person can act on. After a connection failure every further call
 * fails the same way at once.
 */
#ifndef COACHQ_CLIENT_H
#define COACHQ_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "coachq.pb-c.h"

struct client;

struct client_opts {
    const char *host;      /* server host name or IP; borrowed until client_free() */
    const char *port;      /* e.g. "7443" */
    const char *cert_file; /* user certificate, PEM; NULL = none */
    const char *key_file;
    const char *ca_file;     /* deployment CA, PEM */
    const char *server_name; /* name to verify in the server cert; NULL = host */
    uint64_t timeout_ms;     /* per call without progress; 0 = 30 s */
    unsigned window;         /* requests in flight; 0 = 64 */
};

/* A server's answer to one request: either a body or an Error. */
struct client_error {
    Coachq__V1__Code code; /* OK when there was no error */
    char message[512];
    char field[96];
};

/*
 * Connects and completes the TLS handshake and a Hello/Welcome exchange.
 * On success *out is set (caller owns, free with client_free()). On failure
 * returns a negative code and describes it in err. When the server refused
 * this user at the handshake (a disabled user, an unknown or replaced
 * certificate) err->code is the server's PERMISSION_DENIED or
 * UNAUTHENTICATED and err->message its reason, not UNAVAILABLE: the server
 * was reached and said no.
 */
int client_connect(const struct client_opts *opts, struct client **out, struct client_error *err);

/* Closes the connection (close_notify) and frees everything. NULL-safe. */
void client_free(struct client *c);

/* The Welcome the server sent; borrowed until client_free(). */
const Coachq__V1__Welcome *client_welcome(const struct client *c);

/* The client's identification sent in Hello. */
#define CLIENT_VERSION "coachq/0.1.0"
/* The largest response frame the client accepts (pages can be large). */
#define CLIENT_MAX_FRAME (16u * 1024u * 1024u)

/* 1 while the connection is usable, 0 after it failed or closed. */
int client_connected(const struct client *c);

/* Per-record outcome of client_submit_many(). */
struct client_submit_result {
    int done;                       /* 1 once answered */
    Coachq__V1__Ack__Result result; /* STORED or DUPLICATE when err.code == OK */
    uint64_t seq;
    int64_t received_at_ms;
    uint32_t version; /* 1 for an original, 2.. for an amendment; 0 from an older server */
    struct client_error err;
};

/* Called after each answer, on the calling thread, for progress output
 * (answered of total so far, arg as given); may be NULL. */
typedef void (*client_progress_cb)(size_t answered, size_t total, void *arg);

/*
 * Submits n observations (borrowed for the call; each must have its 16-byte
 * id set), pipelined, and fills results[i] for obs[i]. Returns 0 when every
 * record got an answer (some may be errors: check results), or a negative
 * code if the connection failed; results answered before that are kept and
 * the others have done = 0 and err.code UNAVAILABLE. window is capped by the
 * Welcome's max_in_flight. A record whose frame would exceed the Welcome's
 * max_frame_bytes is not sent: it fails at once with INVALID_ARGUMENT.
 */
int client_submit_many(struct client *c, Coachq__V1__Observation *const *obs, size_t n,
                       struct client_submit_result *results, client_progress_cb progress,
                       void *arg);

/*
 * The calls below send one request and wait for its answer. Those with an
 * out parameter return 0 with *out set to the answer (caller owns, free
 * with the free_unpacked() function of its type named at each call, passing
 * NULL as the allocator); on failure they return a negative code with *out
 * NULL and err filled as described at the top of this file. Arguments are
 * borrowed for the call.
 */

/* Fetches one record; *out is freed with
 * coachq__v1__stored_observation__free_unpacked(). err->code is NOT_FOUND
 * when there is none. */
int client_get(struct client *c, const uint8_t id[16], Coachq__V1__StoredObservation **out,
               struct client_error *err);

/* Lists one page; *out is freed with
 * coachq__v1__observation_page__free_unpacked(). */
int client_list(struct client *c, const Coachq__V1__ListObservations *q,
                Coachq__V1__ObservationPage **out, struct client_error *err);

/* Fetches the server's counters; *out is freed with
 * coachq__v1__stats__free_unpacked(). */
int client_stats(struct client *c, Coachq__V1__Stats **out, struct client_error *err);

/* Lists the latest version of every rubric; *out is freed with
 * coachq__v1__rubric_list__free_unpacked(). */
int client_rubrics(struct client *c, Coachq__V1__RubricList **out, struct client_error *err);

/* Fetches one rubric version (version 0 = the latest); *out is freed with
 * coachq__v1__rubric__free_unpacked(). err->code is NOT_FOUND when the
 * server has no such rubric or version. */
int client_rubric(struct client *c, const char *id, uint32_t version, Coachq__V1__Rubric **out,
                  struct client_error *err);

/* Fetches every version of an observation (id is any version's id), oldest
 * first, as far as the caller may read them; *out is freed with
 * coachq__v1__observation_history__free_unpacked(). */
int client_history(struct client *c, const uint8_t id[16], Coachq__V1__ObservationHistory **out,
                   struct client_error *err);

/* Fetches an observer's certifications and calibration results
 * (observer_id NULL or "" = the caller); *out is freed with
 * coachq__v1__cert_status__free_unpacked(). */
int client_cert_status(struct client *c, const char *observer_id, Coachq__V1__CertStatus **out,
                       struct client_error *err);

/* Registers a calibration reference session (ref->id must be its 16-byte
 * UUID, ref borrowed for the call). Returns 0 once the server stored it
 * (sending the same reference again is also 0), or a negative code with err
 * filled (ALREADY_EXISTS when a different reference has the id). The
 * server's Ack names only the id the caller gave, so nothing is returned. */
int client_add_reference(struct client *c, const Coachq__V1__CalibrationReference *ref,
                         struct client_error *err);

/* A calibration request (`coachq calibrate`, `coachq reference retire`;
 * q borrowed for the call). Returns 0 with *out set (caller owns,
 * coachq__v1__calibration_answer__free_unpacked()), or a negative code with
 * err filled. */
int client_calibration(struct client *c, const Coachq__V1__CalibrationRequest *q,
                       Coachq__V1__CalibrationAnswer **out, struct client_error *err);

/* The people the caller may observe today: front-line managers, each
 * followed by the reps who report to them (ListPeople). Returns 0 with *out
 * set (caller owns, coachq__v1__people_list__free_unpacked(*out, NULL)), or a
 * negative code with err filled (PERMISSION_DENIED for roles that do not
 * observe). */
int client_people(struct client *c, Coachq__V1__PeopleList **out, struct client_error *err);

/* Lists the agreed actions q selects (ListActions, borrowed for the call)
 * that the caller may read. Returns 0 with *out set (caller owns,
 * coachq__v1__action_list__free_unpacked(*out, NULL)), or a negative code
 * with err filled (INVALID_ARGUMENT naming the field). */
int client_actions(struct client *c, const Coachq__V1__ListActions *q, Coachq__V1__ActionList **out,
                   struct client_error *err);

/* Fetches a dashboard (GetDashboard, q borrowed for the call) as the
 * caller may see it. Returns 0 with *out set (caller owns,
 * coachq__v1__dashboard__free_unpacked(*out, NULL)), or a negative code with
 * err filled: NOT_FOUND for a subject that does not exist or is outside the
 * caller's line, PERMISSION_DENIED for a dashboard the caller's roles do
 * not have, INVALID_ARGUMENT naming the field. */
int client_dashboard(struct client *c, const Coachq__V1__GetDashboard *q,
                     Coachq__V1__Dashboard **out, struct client_error *err);

/* The largest number of rows client_import_outcomes() puts in one request,
 * whatever the frame limit allows: it bounds the server's transaction. */
#define CLIENT_IMPORT_CHUNK_MAX 5000u

/* One page of the full export (leads and administrators): the records
 * after q->after_seq in sequence order. *out: caller owns, free with
 * coachq__v1__export_page__free_unpacked(*out, NULL). Returns as
 * client_dashboard(). */
int client_export_page(struct client *c, const Coachq__V1__ExportObservations *q,
                       Coachq__V1__ExportPage **out, struct client_error *err);

/*
 * Imports business results (ImportOutcomes): rows (borrowed for the call)
 * go in chunks whose frames fit the server's max_frame_bytes (Welcome),
 * each chunk its own request and transaction. Rows are idempotent per
 * (subject, team, period, metric), so sending a chunk again after a failure
 * is harmless. res gets the summed counts of the chunks stored; *done (may
 * be NULL) the number of rows stored, which on failure is where the failing
 * chunk starts. A server fault names its row as
 * "import_outcomes.outcomes[i]..." with i counted from the start of rows,
 * not of the chunk. Returns 0, or a negative code with err filled
 * (INVALID_ARGUMENT when a row is too big for one frame).
 */
int client_import_outcomes(struct client *c, Coachq__V1__Outcome *const *rows, size_t n,
                           Coachq__V1__ImportResult *res, size_t *done, struct client_error *err);

/*
 * Imports sessions held (ImportSessions): the whole CSV file (csv, len
 * borrowed for the call) in one request, stored all or nothing; file names
 * it in the server's FILE:LINE:COL errors. Returns 0 with *out set (caller
 * owns, coachq__v1__sessions_imported__free_unpacked(*out, NULL)): the file
 * was imported (or checked, dry_run) when (*out)->n_errors and
 * errors_total are 0, else refused with nothing imported. Or a negative
 * code with err filled: -EMSGSIZE when the file does not fit the server's
 * frame limit (nothing sent), PERMISSION_DENIED for a caller who may not
 * import.
 */
int client_import_sessions(struct client *c, const void *csv, size_t len, const char *file,
                           int dry_run, Coachq__V1__SessionsImported **out,
                           struct client_error *err);

/* An observer's open assignments (ListAssignments, borrowed for the
 * call), or a lead's view of anybody's. Returns 0 with *out set (caller
 * owns, coachq__v1__assignment_list__free_unpacked(*out, NULL)), or a
 * negative code with err filled. */
int client_assignments(struct client *c, const Coachq__V1__ListAssignments *q,
                       Coachq__V1__AssignmentList **out, struct client_error *err);

/* A lead's draw of assignments (DrawAssignments, borrowed for the call).
 * Returns 0 with *out set (caller owns,
 * coachq__v1__assignment_draw_result__free_unpacked(*out, NULL)), or a
 * negative code with err filled (FAILED_PRECONDITION naming the field). */
int client_draw_assignments(struct client *c, const Coachq__V1__DrawAssignments *q,
                            Coachq__V1__AssignmentDrawResult **out, struct client_error *err);

/* Sets a coverage plan, or with q->list_only reads them all
 * (SetCoveragePlan, borrowed for the call). Returns 0 with *out set
 * (caller owns, coachq__v1__coverage_plan_list__free_unpacked(*out,
 * NULL)), or a negative code with err filled. */
int client_coverage_plans(struct client *c, const Coachq__V1__SetCoveragePlan *q,
                          Coachq__V1__CoveragePlanList **out, struct client_error *err);

/* Sends raw bytes on the connection (data borrowed for the call), for
 * tests of hostile input. Returns 0 or a negative connection code. */
int client_send_raw(struct client *c, const void *data, size_t len);

#endif
