/*
 * testutil: what the tests share: temporary directories, a watchdog that
 * fails a hung test, the test certificates, a real coachqd started as a
 * child process on 127.0.0.1 port 0 (alone, or with its organisation and
 * directory as one fixture, struct testutil_org), and, for the unit tests
 * of the store's readers, a bare store with an organisation built in it
 * and dashboards built over it, and the dashboard port's fixture (struct
 * testutil_web: a seeded server with a signed-in browser per role, and
 * the HTTP and sign-in steps of test_web and test_web_signin).
 *
 * Most helpers fail the running cmocka test (or abort) rather than return
 * an error, so that a case reads as its steps; those that return a code
 * say so. Strings passed in are borrowed for the call unless a function
 * says otherwise. Single-threaded: tests call these from their main thread.
 */
#ifndef COACHQ_TESTUTIL_H
#define COACHQ_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <lmdb.h>
#include <openssl/ssl.h>

#include "coachq.pb-c.h"

struct client_opts;

/* Makes a fresh directory under $TMPDIR (or /tmp) and writes its path into
 * out (size outlen). Aborts the test on failure. */
void testutil_tmpdir(char *out, size_t outlen);

/* Removes a directory tree made by testutil_tmpdir(). */
void testutil_rmrf(const char *path);

/* Opens the closed store in dir with LMDB itself (for a test that reads,
 * damages or rewrites stored bytes under the store's feet), flags as
 * mdb_env_open()'s, and begins a transaction in it, read-only when flags
 * holds MDB_RDONLY. Fails the test on any error. The caller ends *txn
 * (mdb_txn_commit() or mdb_txn_abort()) and then mdb_env_close(*env). */
void testutil_lmdb_begin(const char *dir, unsigned flags, MDB_env **env, MDB_txn **txn);

/* Writes text to a fresh file under /tmp and its path into path (size
 * len, at least 32); the caller unlinks it. Aborts the test on failure. */
void testutil_temp_file(char *path, size_t len, const char *text);

/* Aborts the process with a message if it is still running after seconds
 * (times testutil_timeout_scale()): a hung test fails instead of hanging CI. */
void testutil_watchdog(unsigned seconds);

/* The factor by which the tests stretch their time limits: 3 in sanitizer
 * builds, else 1, or COACHQ_WATCHDOG_SCALE (1 to 20) when it is set. */
unsigned testutil_timeout_scale(void);

/* The directory with the test certificates (COACHQ_TEST_CERTS). Aborts if
 * it is unset. Borrowed, static storage. */
const char *testutil_certs(void);

/* Writes "<certs>/<rel>" into out. Returns out. */
const char *testutil_cert_path(char *out, size_t outlen, const char *rel);

/* A coachqd child process. */
struct testutil_server {
    pid_t pid;
    int port;      /* protocol port it bound */
    int dash_port; /* dashboard port it bound; 0 with --dashboard off */
    char datadir[512];
    char port_file[600];
    char dash_port_file[600];
    char log_file[600];
};

/*
 * Starts $COACHQD serve on 127.0.0.1 port 0 with the test certificates and
 * data in datadir, its dashboard port on 127.0.0.1 port 0 too, plus extra
 * arguments (NULL-terminated list, may be NULL; "--dashboard off" among them
 * turns the dashboard port off), and waits until it reports its ports.
 * Aborts the test on failure.
 */
void testutil_server_start(struct testutil_server *s, const char *datadir,
                           const char *const *extra_args);

/* For a teardown after a failed case: if s is still running, shows the end
 * of its log on stderr and kills it with SIGKILL. */
void testutil_server_abandon(struct testutil_server *s);

/* Sends sig (0 = none) and waits for the process; returns its wait status. */
int testutil_server_stop(struct testutil_server *s, int sig);

/* Fills opts to connect to s as user (a certificate in the test
 * certificates' users/ directory); "" or NULL user = no certificate. The
 * strings point into static storage that lives until the next call with the
 * same slot (0..7). */
void testutil_client_opts(struct client_opts *opts, const struct testutil_server *s,
                          const char *user, int slot);

struct client;

/* Connects to s as user (see testutil_client_opts()); fails the test if
 * that does not work. Caller owns the client (client_free()). */
struct client *testutil_connect(const struct testutil_server *s, const char *user, int slot);

/* Fails the test unless the server process is still running. */
void testutil_assert_alive(const struct testutil_server *s);

/* Stops the server with SIGTERM and fails the test unless it exits 0. */
void testutil_stop_clean(struct testutil_server *s);

/* Fails the test unless a and b pack to the same bytes. */
void testutil_assert_same_obs(const Coachq__V1__Observation *a, const Coachq__V1__Observation *b);

/*
 * Runs $COACHQD with the arguments after expect (NULL-terminated), with
 * stdout and stderr captured into out (outlen bytes, NUL-terminated, cut if
 * longer), and fails the test unless it exits with status expect (a
 * negative expect accepts any). Returns the exit status.
 */
int testutil_coachqd(char *out, size_t outlen, int expect, ...);

/* Reads the file at path into buf (cap bytes, NUL-terminated, cut if
 * longer); "" if it cannot be read. */
void testutil_slurp(const char *path, char *buf, size_t cap);

/*
 * Runs argv (NULL-terminated; argv[0] a path or a program on PATH) in
 * directory cwd (NULL: this one) with stdout and stderr captured into out
 * and err (NUL-terminated, cut if longer) through files .out and .err in
 * the directory scratch. Fails the test if it died by a signal or a
 * sanitizer reported anything. Returns its exit status.
 */
int testutil_run_capture(const char *scratch, const char *cwd, const char *const *argv, char *out,
                         size_t outlen, char *err, size_t errlen);

/* Runs `$COACHQD ARGS...` (up to 38, NULL-terminated) in dir, with stdout
 * and stderr captured into out and err as testutil_run_capture() does.
 * Returns its exit status. */
int testutil_coachqd_in(const char *dir, char *out, size_t outlen, char *err, size_t errlen, ...);

/* Connects a plain TCP socket to 127.0.0.1:port with send and receive
 * timeouts of timeout_s seconds. Returns the socket, or -1. */
int testutil_tcp_connect(int port, int timeout_s);

/* Sends all n bytes, or stops quietly when the peer closed first (the
 * caller checks what it expected of that). */
void testutil_tcp_send(int fd, const void *p, size_t n);

/* The same for the client, $COACHQ. */
int testutil_coachq(char *out, size_t outlen, int expect, ...);

/* The directory of the test fixtures (COACHQ_TEST_FIXTURES). Borrowed. */
const char *testutil_fixtures(void);

/*
 * Makes datadir an organisation for integration tests, with the real
 * administration verbs: `coachqd init`, `coachqd import people
 * fixtures/org.csv`, and certifications for the observers alice, bob,
 * carol, dave and obs.ann on both shipped rubrics from 2024-01-01 for ten
 * years (obs.ben and gone.kai stay uncertified). See fixtures/org.csv for
 * the people, roles and reporting lines.
 */
void testutil_seed_org(const char *datadir);

/* A complete observation of the shipped coaching-conversation rubric v1:
 * every behaviour scored 2 or 3 (no evidence needed), a fresh random id. */
struct testutil_obs {
    Coachq__V1__Observation o;
    Coachq__V1__Rating r[10];
    Coachq__V1__Rating *rp[10];
    uint8_t id[16];
    char coach[65];
    char coachee[65];
};

/* The behaviour ids of coaching-conversation v1, in order. */
extern const char *const testutil_behaviours[10];

/* Fills t for coach and coachee with a session starting at started_at
 * (seconds). The strings are copied into t. */
void testutil_obs_make(struct testutil_obs *t, const char *coach, const char *coachee,
                       int64_t started_at);

/* A shipped rubric as testutil_obs_make_rubric() observes it: its id
 * (version 1), its behaviour ids in order (at most 10), and the session
 * type and focus of the observation. */
struct testutil_rubric {
    const char *id;
    const char *const *behaviours;
    size_t n;
    Coachq__V1__SessionType type;
    Coachq__V1__CoachingFocus focus;
};

/* coaching-conversation (testutil_obs_make()'s) and coaching-the-coach. */
extern const struct testutil_rubric testutil_rubric_conversation;
extern const struct testutil_rubric testutil_rubric_ctc;

/* testutil_obs_make() for rubric: every behaviour scored 2 or 3. */
void testutil_obs_make_rubric(struct testutil_obs *t, const struct testutil_rubric *rubric,
                              const char *coach, const char *coachee, int64_t started_at);

struct store;

/* Opens the bare store in dir (map_size bytes to start; 0 = default) with
 * the organisation's rules off: for tests of the store itself. Fails the
 * test if it cannot. Caller owns the store (store_close()). */
struct store *testutil_store_open(const char *dir, size_t map_size);

/* Sleeps ms milliseconds. */
void testutil_sleep_ms(long ms);

/* ---- An organisation in a bare store --------------------------------- */

/*
 * Builders for the unit tests of the store's readers (dashboards,
 * aggregates), which lay out an organisation of their own in a store from
 * testutil_store_open(). The put functions run inside a store_exec()
 * transaction t; every string is borrowed for the call. Each returns 0 or
 * the store's code (people_put(), rubrics_put(), certs_put()) for the
 * caller to assert or pass on.
 */
struct store_txn;

/* A bare store in a temporary directory, the fixture of those tests. */
struct testutil_store_fx {
    char dir[512];   /* the temporary directory */
    struct store *s; /* the store in it (testutil_store_open()); owned */
};

/* Makes the directory and the store and, when build is not NULL, runs
 * build(t, arg) in one store_exec() write transaction, failing the test
 * unless it returns 0. Caller owns the result (testutil_store_fx_free()). */
struct testutil_store_fx *testutil_store_fx_new(int (*build)(struct store_txn *t, void *arg),
                                                void *arg);

/* Closes the store, removes the directory and frees f. NULL is a no-op. */
void testutil_store_fx_free(struct testutil_store_fx *f);

/* The day the builders' reporting lines start on (2022-01-08). */
#define TESTUTIL_ORG_DAY 19000

/* Puts person id, named name (NULL: the id), with role (0: none, a rep)
 * and, when manager is not NULL, a reporting line to manager from
 * TESTUTIL_ORG_DAY. */
int testutil_put_person(struct store_txn *t, const char *id, const char *name,
                        Coachq__V1__Role role, const char *manager);

/* Puts the rubric that testutil_obs_make() observes: coaching-conversation
 * v1, "Coaching conversation", effective on day 18000, with the ten
 * testutil_behaviours, each named name_prefix followed by its id (prefix
 * "" for the id alone) and allowing "n/a" when allow_na is set. */
int testutil_put_rubric(struct store_txn *t, const char *name_prefix, int allow_na);

/* Certifies observer on coaching-conversation from from_day to until_day,
 * granted by granted_by. */
int testutil_put_cert(struct store_txn *t, const char *observer, int32_t from_day,
                      int32_t until_day, const char *granted_by);

/* Runs steps(t) in one store_exec() transaction with a fresh writer's
 * memo (store_int.h) attached, as a batch has, and empties the memo
 * afterwards. steps returns 0 when every step held, else the number of
 * the step that failed; that is returned. Fails the test if the
 * transaction does not commit. */
int testutil_memo_steps(struct store *s, int (*steps)(struct store_txn *t));

/* A small organisation in one store_exec() callback (arg unused): slm.a
 * over flm.a and flm.b, rep.1 reporting to flm.a and rep.2 to flm.b, the
 * observer obs.1 certified from day 19000 to 21000, and
 * testutil_put_rubric()'s rubric with its ids as names and "n/a" allowed.
 * Returns 0 or the first failing put's code. */
int testutil_put_two_line_org(struct store_txn *t, void *arg);

/*
 * Packs o (borrowed for the call), submits it to s as observer, received
 * at received_ms (ms since the epoch), and waits for the writer's answer.
 * Returns 0 once it is stored; store_submit()'s error; -EIO when the
 * request the writer completed is not this one; or the write's own result.
 * -ENOMEM when packing runs out of memory.
 */
int testutil_store_submit(struct store *s, const Coachq__V1__Observation *o, const char *observer,
                          int64_t received_ms);

/* The wall clock in ms since the epoch (a request's received_at_ms). */
int64_t testutil_now_ms(void);

/*
 * Stores a session of coach (flm.dan, flm.cara or mgr.jones of
 * testutil_seed_org(), with a rep of their team) at started_at (seconds)
 * scored by observer, received now; t keeps it, and its id, for an
 * amendment. amends: the 16-byte id it supersedes (borrowed; t points at
 * it), or NULL. Fails the test unless it is stored. Test thread.
 */
void testutil_submit_seeded(struct store *s, const char *observer, struct testutil_obs *t,
                            const char *coach, int64_t started_at, const uint8_t *amends);

/*
 * Stores one observation of coach (coachee "rep.1", testutil_obs_make()'s
 * rubric) by observer, started at hour on day (days since the epoch), every
 * behaviour scored score, received at received_ms; fails the test unless
 * it is stored. Test thread.
 */
void testutil_observe_scored(struct store *s, const char *observer, const char *coach, int32_t day,
                             int hour, uint32_t score, int64_t received_ms);

struct dash;
struct dash_opts;
struct validate_error;

/* A dashboard request and who makes it, for testutil_dash_build(). */
struct testutil_dash_req {
    const char *user;             /* the viewer's id */
    unsigned roles;               /* the viewer's AUTH_* roles */
    int kind;                     /* a Coachq__V1__DashboardKind */
    const char *subject;          /* NULL: none ("") */
    const char *rubric;           /* NULL: none ("") */
    int32_t until_day;            /* 0: today */
    const struct dash_opts *opts; /* passed to dash_build() as it is */
    int64_t now_s;                /* "today", seconds since the epoch */
};

/*
 * Builds the dashboard q asks for with dash_build() in a read transaction
 * of s (failing the test if the transaction fails). Returns dash_build()'s
 * result, with *out (caller owns, dash_free()) and fault (may be NULL;
 * zeroed first) as dash_build() leaves them: the tests check its contract.
 */
int testutil_dash_build(struct store *s, const struct testutil_dash_req *q, struct dash **out,
                        struct validate_error *fault);

/* testutil_dash_build() as the enablement lead "lead.a" with no subject or
 * rubric and dash_opts_default()'s options, except privacy_min when it is
 * not 0. */
int testutil_dash_as_lead(struct store *s, int kind, int32_t until_day, unsigned privacy_min,
                          int64_t now_s, struct dash **out);

/* ---- A real coachqd on the test organisation -------------------------- */

/* The part every fixture of the integration tests shares: a temporary
 * directory, the organisation of testutil_seed_org() in its "data"
 * subdirectory, and the server run on it. Embed it in the test's own
 * fixture, zeroed (calloc), so that testutil_org_cleanup() knows what was
 * made. */
struct testutil_org {
    char dir[512];  /* the temporary directory; "" until made */
    char data[600]; /* dir/data, the server's data directory */
    struct testutil_server srv;
};

/* Makes o's directory and seeds the organisation into o->data, without
 * starting a server (for a test that makes more files first). Aborts or
 * fails the test on failure. */
void testutil_org_make(struct testutil_org *o);

/* testutil_org_make(), then starts the server on o->data with extra_args
 * (as testutil_server_start()). */
void testutil_org_start(struct testutil_org *o, const char *const *extra_args);

/* For a teardown, failed cases included: abandons a server still running
 * (testutil_server_abandon(): its log is shown) and removes the directory,
 * if one was made. o itself is the caller's to free. */
void testutil_org_cleanup(struct testutil_org *o);

/* cmocka setup and teardown for a test whose whole fixture is one struct
 * testutil_org: setup sets *state to a zeroed one (the case starts it with
 * testutil_org_start()); teardown runs testutil_org_cleanup() and frees it.
 * Both return 0, or -1 when out of memory. */
int testutil_org_setup(void **state);
int testutil_org_teardown(void **state);

/* ---- The client's integration fixture --------------------------------- */

/* How much of the client's output a struct testutil_cli keeps. */
#define TESTUTIL_CLI_OUT_LEN (1u << 20)

/*
 * The fixture of a test that drives the real client against a real coachqd
 * on the test organisation: the temporary directory dir, the server's data
 * directory data (dir/data), the file a case writes its input to (file,
 * dir/obs.json), the client's local data directory (local, dir/local), the
 * server's address, the CA certificate's path, the output of the last run
 * (out, TESTUTIL_CLI_OUT_LEN bytes) and the test's start (now, Unix
 * seconds), from which a case builds its times. cert and key hold the last
 * paths testutil_cli_cert() and testutil_cli_key() made.
 */
struct testutil_cli {
    char dir[512];
    char data[600];
    char server[64];
    char ca[600];
    char cert[600];
    char key[600];
    char file[700];
    char local[700];
    char *out;
    struct testutil_server srv;
    int64_t now;
};

/* Zeroes f, arms the watchdog for watchdog_s seconds, seeds the
 * organisation and starts the server on it. Aborts or fails the test on
 * failure. */
void testutil_cli_start(struct testutil_cli *f, unsigned watchdog_s);

/* For a teardown: stops a server still running (it must exit 0 on
 * SIGTERM, else the test fails), removes the directory and frees the
 * output. */
void testutil_cli_stop(struct testutil_cli *f);

/* The paths of user's certificate and key in the test certificates'
 * users/ directory, in f->cert and f->key. */
const char *testutil_cli_cert(struct testutil_cli *f, const char *user);
const char *testutil_cli_key(struct testutil_cli *f, const char *user);

/* Runs coachq against f's server as user, expecting exit status expect,
 * with the arguments after user; the output is in f->out. */
#define TESTUTIL_CQ(f, expect, user, ...)                                                          \
    testutil_coachq((f)->out, TESTUTIL_CLI_OUT_LEN, (expect), "--server", (f)->server, "--cert",   \
                    testutil_cli_cert((f), (user)), "--key", testutil_cli_key((f), (user)),        \
                    "--ca", (f)->ca, "--data-dir", (f)->local, __VA_ARGS__, NULL)

/* ---- HTTPS for the dashboard port ------------------------------------- */

/* One HTTP response. Caller owns; free with testutil_http_resp_free(). */
struct testutil_http_resp {
    int status;
    char *head; /* status line and header lines, CRLF-separated, NUL-terminated */
    char *body; /* body_len bytes, NUL-terminated */
    size_t body_len;
};

/*
 * Sends one request over real TLS (trusting only the test CA, verifying
 * the server certificate for 127.0.0.1, ALPN http/1.1) to 127.0.0.1:port,
 * with Host, Connection: close and, when body is not NULL, Content-Length
 * and (unless headers name one) a form Content-Type. headers is a
 * NULL-terminated list of "Name: value" lines (may be NULL). Reads the
 * answer until the server closes (or Content-Length is complete) and
 * fills out. Returns the status, or -1 if the connection, the TLS
 * handshake or the response failed (out is then empty).
 */
int testutil_https(int port, const char *method, const char *path, const char *const *headers,
                   const char *body, struct testutil_http_resp *out);

/* The idx-th (0 = first) value of header name (case-insensitive) in r,
 * copied into out (outlen bytes, NUL-terminated, cut if longer). Returns
 * out, or NULL when there is no such header. */
const char *testutil_http_header(const struct testutil_http_resp *r, const char *name, int idx,
                                 char *out, size_t outlen);

/* Frees r's buffers; r is empty afterwards. NULL-safe. */
void testutil_http_resp_free(struct testutil_http_resp *r);

/*
 * The dashboard port's fixture, shared by test_web and test_web_signin: a
 * real coachqd over real TLS with a real LMDB made by the real
 * administration verbs (testutil_seed_org(), people with hostile names
 * and ids that look like the API's words imported, `coachqd user
 * password` for everyone, `coachqd user link` for flm.dan), observations
 * submitted over the protocol, and a browser signed in for every role.
 */

/* The password every web user has. */
#define TESTUTIL_WEB_PASSWORD "correct-horse-battery-7"
/* The length of a session id, CSRF token or link token (base64url). */
#define TESTUTIL_WEB_TOKEN_LEN 43
/* The length of a device cookie's value. */
#define TESTUTIL_WEB_DEVICE_LEN (22 + 1 + 43)
/* A buffer for a device cookie as a Cookie header ("__Host-coachq_device=..."). */
#define TESTUTIL_WEB_DEVICE_MAX 160
/* flm.xss's (and rep.xss's) name, and the evidence of flm.xss's observations. */
#define TESTUTIL_WEB_XSS_NAME "=cmd|<script>alert(1)</script> \"Q\" & Co"
#define TESTUTIL_WEB_XSS_NOTE "=cmd|' /C calc'!A0 <script>alert(1)</script> \"quotes\" & more"

/* The roles of the fixture's browsers; TESTUTIL_WEB_R_OUT is signed out. */
enum testutil_web_role {
    TESTUTIL_WEB_R_OUT,
    TESTUTIL_WEB_R_OBS,
    TESTUTIL_WEB_R_FLM,
    TESTUTIL_WEB_R_SLM,
    TESTUTIL_WEB_R_LEAD,
    TESTUTIL_WEB_R_ADMIN,
    TESTUTIL_WEB_NROLES
};

/* The user of each role (NULL for TESTUTIL_WEB_R_OUT). Static storage. */
extern const char *const testutil_web_role_user[TESTUTIL_WEB_NROLES];

/* The fixture. Owned by the cmocka group state between
 * testutil_web_setup() and testutil_web_teardown(). */
struct testutil_web {
    char dir[512];
    char data[600];
    struct testutil_server srv;
    char cookie[TESTUTIL_WEB_NROLES][256]; /* session and device cookies ("" signed out) */
    char fay_cookie[256];                  /* slm.fay: another line */
    char link_dan[TESTUTIL_WEB_TOKEN_LEN + 1];
    char table[64]; /* a table id of manager/flm.cara; "" until a test finds one */
};

/* A cmocka group setup: builds the fixture and stores it (caller owns,
 * free with testutil_web_teardown()) in *state. Fails the run on error. */
int testutil_web_setup(void **state);

/* A cmocka group teardown: prints what the server logged as errors, stops
 * it (failing if it did not stop cleanly), removes the directory and frees
 * *state. NULL-safe. */
int testutil_web_teardown(void **state);

/* Whether hay (may be NULL) contains needle. */
int testutil_web_has(const char *hay, const char *needle);

/* One HTTPS request to w's dashboard port with an optional cookie
 * ("name=value", "" or NULL), extra header line (NULL) and form body
 * (NULL). Fails unless a response comes back with every security header.
 * Returns the status; r is filled (caller owns, free with
 * testutil_http_resp_free()). */
int testutil_web_req(const struct testutil_web *w, const char *method, const char *path,
                     const char *cookie, const char *extra, const char *body,
                     struct testutil_http_resp *r);

/* The value of cookie name among r's Set-Cookie headers into out; the
 * whole Set-Cookie line into line (may be NULL). Returns 1 if found. */
int testutil_web_set_cookie(const struct testutil_http_resp *r, const char *name, char *out,
                            size_t outlen, char *line, size_t linelen);

/* The CSRF token of the first CSRF-carrying form in html into out. Returns
 * 1 if found. */
int testutil_web_page_csrf(const char *html, char out[TESTUTIL_WEB_TOKEN_LEN + 1]);

/* GET /signin in a fresh browser: the device cookie it sets (checking its
 * flags; "__Host-coachq_device=...", for a Cookie header) into device and
 * the form's pre-session token into csrf. */
void testutil_web_signin_form(const struct testutil_web *w, char device[TESTUTIL_WEB_DEVICE_MAX],
                              char csrf[TESTUTIL_WEB_TOKEN_LEN + 1]);

/* GET /signin in a browser that has device (a Cookie header): fails if a
 * new device cookie is set; the form's token into csrf. */
void testutil_web_signin_form_again(const struct testutil_web *w, const char *device,
                                    char csrf[TESTUTIL_WEB_TOKEN_LEN + 1]);

/* Signs user in with password in a fresh browser; fills cookie (may be
 * NULL; the browser's Cookie header: "__Host-coachq_session=...;
 * __Host-coachq_device=...", "" if none was set) and returns the status
 * (303 on success). With keep, the response goes there (caller owns, free
 * with testutil_http_resp_free()). */
int testutil_web_signin(const struct testutil_web *w, const char *user, const char *password,
                        char *cookie, size_t cookielen, struct testutil_http_resp *keep);

/* The session's CSRF token, read from page (one the cookie's user may
 * see; fails unless it answers 200 with a token). */
void testutil_web_session_csrf(const struct testutil_web *w, const char *cookie, const char *page,
                               char out[TESTUTIL_WEB_TOKEN_LEN + 1]);

/* Submits n observations of coach with coachee over the protocol, by the
 * observers alice, bob, carol, dave and obs.ann in turn, on the last days
 * (3 days apart); note (may be NULL) is every rating's evidence. */
void testutil_web_submit(const struct testutil_web *w, const char *coach, const char *coachee,
                         int n, const char *note);

/*
 * Writes n requests as one batch of s's writer: a request of its own holds
 * the writer inside its batch while they are queued (fill(arg, w, i) fills
 * request i), with mid (a request with fn set, or NULL) queued before
 * request mid_at. Then waits for every answer, checks each request with
 * check(arg, w, i), and asserts that they all made one batch and the store
 * did not fail. Test thread; everything borrowed for the call.
 */
struct store_write;
typedef void (*testutil_fill_fn)(void *arg, struct store_write *w, int i);
typedef void (*testutil_check_fn)(void *arg, const struct store_write *w, int i);
void testutil_write_one_batch(struct store *s, int n, testutil_fill_fn fill,
                              testutil_check_fn check, void *arg, struct store_write *mid,
                              int mid_at);

/* A testutil_check_fn that fails the test unless request i was stored
 * (arg unused). */
void testutil_check_stored(void *arg, const struct store_write *w, int i);

/* The same n requests written one per commit, the baseline the batch's
 * result is compared with: each submitted, drained and checked with
 * check(arg, w, i) before the next. Test thread. */
void testutil_write_each(struct store *s, int n, testutil_fill_fn fill, testutil_check_fn check,
                         void *arg);

/*
 * A store with the organisation's rules on (store_policy_default(), enforce
 * 1), as the writer's tests of aggregates open it; asserts it opens. The
 * caller owns the store; testutil_store_close_drained() closes it after
 * taking the writer's answers still queued. Test thread.
 */
struct store *testutil_store_open_enforced(const char *dir);
void testutil_store_close_drained(struct store *s);

/*
 * A cmocka fixture: a temporary directory seeded with testutil_seed_org()
 * and its store open with testutil_store_open_enforced() (a watchdog of
 * 240 s). testutil_seeded_setup() puts it in *state;
 * testutil_seeded_teardown() closes the store (when s is not NULL),
 * removes the directory and frees it.
 */
struct testutil_seeded {
    char dir[512];
    struct store *s;
};
int testutil_seeded_setup(void **state);
int testutil_seeded_teardown(void **state);

/*
 * A store_exec() function: marks the stored record whose id (16 bytes) is
 * arg assigned, by raw LMDB, and rebuilds the aggregates from the records,
 * as the upgrade from format 3 does after agg_assigned_backfill(): an
 * assigned record without a server's draw, whose amendments are assigned
 * too. Asserts the record is stored. Returns 0 or the rebuild's code.
 */
int testutil_mark_assigned_txn(struct store_txn *t, void *arg);

/* Writes format as the aggregates' format number (meta's "agg_format")
 * in txn, a transaction of testutil_lmdb_begin(), so that the next open
 * takes the store for a store of that format. Fails the test on error. */
void testutil_lmdb_put_agg_format(MDB_txn *txn, uint32_t format);

/*
 * Visits every entry of the aggregates (the agg_week database) of the
 * closed store in dir by LMDB itself, in key order, in one write
 * transaction that it commits; format > 0 is first written as the
 * aggregates' format number (testutil_lmdb_put_agg_format()). visit(cur,
 * k, v, arg) sees each key and value (borrowed for the call) and may delete
 * the entry under cur (mdb_cursor_del()) or rewrite it (MDB_CURRENT, with
 * the key copied out first). Fails the test on any error. Test thread.
 */
typedef void (*testutil_lmdb_visit_fn)(MDB_cursor *cur, const MDB_val *k, const MDB_val *v,
                                       void *arg);
void testutil_lmdb_agg_each(const char *dir, uint32_t format, testutil_lmdb_visit_fn visit,
                            void *arg);

/* A store_exec() function: the aggregates' stored format number into
 * *(uint32_t *)arg. Returns 0 or the read's code. */
int testutil_agg_format_txn(struct store_txn *t, void *arg);

/* Puts val (vlen bytes) under key in the store's actions_by, or deletes
 * key when val is NULL, in one store_exec(): for tests that damage or
 * remove the actions' page values. Returns store_exec()'s result. */
int testutil_actions_by_set(struct store *s, const uint8_t *key, size_t klen, const uint8_t *val,
                            size_t vlen);

/* Puts val (vlen bytes) under key in the store's outcomes as they are,
 * in one store_exec(): for tests that store a damaged or short key.
 * Returns store_exec()'s result. */
int testutil_outcomes_put_raw(struct store *s, const uint8_t *key, size_t klen, const uint8_t *val,
                              size_t vlen);

/* Deletes every page value of the actions ('O' and 'R' keys of actions_by,
 * actions.h), so that the reads fall back to the records. */
int testutil_actions_values_drop(struct store *s);

/* Puts the be32 v under key in the store's meta database (a stored
 * format number, to make a store of an older format). */
int testutil_meta_put_be32(struct store *s, const char *key, uint32_t v);

/* Puts val (vlen bytes) as the stored action record under id (16 bytes),
 * or deletes it when val is NULL, in one store_exec(): for tests that
 * damage, forge or remove a record's stored bytes. Returns store_exec()'s
 * result. testutil_batch.c. */
int testutil_actions_record_set(struct store *s, const uint8_t id[16], const uint8_t *val,
                                size_t vlen);

/* Copies the stored bytes of the action record id (at most cap) into buf
 * and their length into *len. Returns 0, -ENOENT, -ENOSPC or a store code. */
int testutil_actions_record_get(struct store *s, const uint8_t id[16], uint8_t *buf, size_t cap,
                                size_t *len);

/* Stores every action record again without its pad (actions format 6's,
 * store/actions_record.c), as actions format 5 stored it; *n gets the
 * records seen. Returns store_exec()'s result. */
int testutil_actions_unpad(struct store *s, size_t *n);

/* Sets *exists to whether s's environment holds a named tree called name
 * (a read transaction; opens no tree that is not there): for tests that a
 * step's scratch tree is gone. Returns store_view()'s result.
 * testutil_batch.c. */
int testutil_tree_exists(struct store *s, const char *name, int *exists);

/* A group setup for suites that drive coachqd with raw TLS peers: ignores
 * SIGPIPE (a write to a socket the server closed must fail, not kill the
 * test) and makes alice's client context for alpn in *ctx (caller owns;
 * SSL_CTX_free()). Returns 0, or -1 with the reason on stderr.
 * testutil_batch.c. */
int testutil_raw_peer_setup(const char *alpn, SSL_CTX **ctx);

/* Makes user's client context for alpn in *ctx (caller owns;
 * SSL_CTX_free()), user being one of the certificates in the test
 * certificates' users/ directory, or NULL for a context with no client
 * certificate (the CA only). Returns 0, or -1 with the reason on
 * stderr. testutil_batch.c. */
int testutil_raw_peer_ctx(const char *alpn, const char *user, SSL_CTX **ctx);

/* Opens the store in dir with a map of map_size bytes (0: the default) as
 * testutil_store_open() does, with what it logs while opening (standard
 * error) caught in log (NUL-ended, at most len - 1 bytes; a file open.log
 * in dir holds it). Fails the test when the log cannot be caught. Returns
 * the store (caller owns it). testutil_batch.c. */
struct store *testutil_store_open_logged(const char *dir, size_t map_size, char *log, size_t len);

/* Submits the packed observation buf (len bytes, borrowed) to s as
 * observer, received at received_ms, and waits for the writer's answer;
 * results as testutil_store_submit(), which packs and calls it.
 * testutil_batch.c. */
int testutil_store_submit_packed(struct store *s, const uint8_t *buf, size_t len,
                                 const char *observer, int64_t received_ms);

/* Checks cadence_pair_bits() of coach and coachee against the list
 * cadence_pair_days() gives, in t (any transaction), over windows with
 * both ends in [lo, hi]: every first day with last days on a block's edge,
 * beside it, on a 64-day word's edge and at hi, and the minutes' first day
 * at, inside and past the window. Fails the test on the first window that
 * differs. testutil_batch.c. */
void testutil_cadence_bits_check(struct store_txn *t, const char *coach, const char *coachee,
                                 int32_t lo, int32_t hi);

/* Erases person id (borrowed) from s as of now_ms in one write
 * transaction, as `coachqd erase` does, the actor and origin "test"; *er
 * (the caller's) is zeroed first and holds the request afterwards (its
 * pseudonym among it). Returns what store_exec() returns.
 * testutil_batch.c. */
struct erase_request;
int testutil_erase(struct store *s, const char *id, int64_t now_ms, struct erase_request *er);

/* A blocking TLS peer speaking coachq's framing by hand (testutil_raw.c),
 * for tests that send what the real client never would. Every function
 * fails the test on what the test did not ask to see; the caller's thread. */
struct testutil_raw {
    int fd;
    SSL *ssl;
};

/* Connects r to s's protocol port with ctx (borrowed; its certificate and
 * ALPN), send and receive timeouts of timeout_s seconds, and completes the
 * handshake checking the server's certificate for 127.0.0.1. */
void testutil_raw_open(struct testutil_raw *r, const struct testutil_server *s, SSL_CTX *ctx,
                       int timeout_s);

/* Closes r, sending close_notify first only when polite is set (else the
 * peer simply goes away). Safe on a closed r. */
void testutil_raw_close(struct testutil_raw *r, int polite);

/* Writes all n bytes of p (borrowed), in TLS records of at most 1 MiB. */
void testutil_raw_send(struct testutil_raw *r, const void *p, size_t n);

/* Reads exactly n bytes into p. Returns 0, -1 if the connection closed or
 * failed first, or -2 on the receive timeout. */
int testutil_raw_recv(struct testutil_raw *r, uint8_t *p, size_t n);

/* Reads one frame (caller owns; coachq__v1__frame__free_unpacked()), its
 * body's size into *len (may be NULL). Returns NULL if the connection
 * closed before the frame began; fails the test on a timeout, a close inside
 * the frame or a frame that does not decode. */
Coachq__V1__Frame *testutil_raw_frame(struct testutil_raw *r, size_t *len);

/* Copies the file from into to (both borrowed; to is created or
 * truncated), failing the test on any error. testutil_batch.c. */
void testutil_copy_file(const char *from, const char *to);

/* What a clean verify of a store counted (testutil_verify_clean()). */
struct testutil_verified {
    uint64_t observations; /* records read */
    uint64_t counted;      /* of which counted in aggregates */
    uint64_t values;       /* aggregate values stored and compared */
    uint64_t actions;      /* action records stored */
    uint64_t days;         /* coaching day counts stored */
};

/* Runs `$COACHQD verify --data data` (data borrowed; no server may hold
 * the store) and fails the test, showing the output, unless it exits 0
 * with 0 differences in the aggregates (cumulative lists among them), the
 * action records, the assignment indexes and the coaching day counts. Puts
 * what it counted in *out. testutil_verify.c. */
void testutil_verify_clean(const char *data, struct testutil_verified *out);

/* testutil_verify_clean() on data, and fails the test unless the store
 * holds exactly records observations, every one counted in the aggregates
 * (a check of a store with nothing derived could not fail). */
void testutil_verify_counted(const char *data, uint64_t records);

#endif
