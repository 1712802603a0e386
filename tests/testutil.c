#include "testutil.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth.h"
#include "certs.h"
#include "client.h"
#include "dash.h"
#include "people.h"
#include "rubrics.h"
#include "store.h"
#include "store_int.h"
#include "uuid.h"

static void die(const char *what)
{
    fprintf(stderr, "testutil: %s: %s\n", what, strerror(errno));
    abort();
}

void testutil_tmpdir(char *out, size_t outlen)
{
    const char *base = getenv("TMPDIR");

    snprintf(out, outlen, "%s/coachq-test-XXXXXX", base != NULL && base[0] ? base : "/tmp");
    if (mkdtemp(out) == NULL) {
        die("mkdtemp");
    }
}

void testutil_temp_file(char *path, size_t len, const char *text)
{
    FILE *f;
    int fd;

    snprintf(path, len, "/tmp/coachq-test.XXXXXX");
    fd = mkstemp(path);
    if (fd < 0) {
        die("mkstemp");
    }
    f = fdopen(fd, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        die("write a temporary file");
    }
}

void testutil_rmrf(const char *path)
{
    pid_t pid;
    int st;

    if (path == NULL || path[0] == '\0' || strcmp(path, "/") == 0) {
        return;
    }
    pid = fork();
    if (pid == 0) {
        execl("/bin/rm", "rm", "-rf", "--", path, (char *)NULL);
        _exit(127);
    }
    if (pid > 0) {
        waitpid(pid, &st, 0);
    }
}

void testutil_lmdb_begin(const char *dir, unsigned flags, MDB_env **env, MDB_txn **txn)
{
    assert_int_equal(mdb_env_create(env), 0);
    assert_int_equal(mdb_env_set_maxdbs(*env, 64), 0);
    assert_int_equal(mdb_env_open(*env, dir, flags, 0600), 0);
    assert_int_equal(mdb_txn_begin(*env, NULL, flags & MDB_RDONLY, txn), 0);
}

static void on_alarm(int sig)
{
    static const char msg[] = "testutil: watchdog expired: the test hung\n";
    (void)sig;
    if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
        _exit(99);
    }
    _exit(99);
}

/* Sanitizer builds run several times slower, and slower still on a loaded
 * machine: their time limits are stretched by this factor. The build default
 * (3 with COACHQ_SANITIZE, else 1) can be overridden by COACHQ_WATCHDOG_SCALE,
 * which tests/CMakeLists.txt sets for ctest. */
#ifdef COACHQ_TEST_SANITIZE
#define TESTUTIL_DEFAULT_SCALE 3u
#else
#define TESTUTIL_DEFAULT_SCALE 1u
#endif
#define TESTUTIL_MAX_SCALE 20u

unsigned testutil_timeout_scale(void)
{
    const char *v = getenv("COACHQ_WATCHDOG_SCALE");
    char *end = NULL;
    unsigned long n;

    if (v == NULL || v[0] == '\0') {
        return TESTUTIL_DEFAULT_SCALE;
    }
    errno = 0;
    n = strtoul(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < 1 || n > TESTUTIL_MAX_SCALE) {
        fprintf(stderr,
                "testutil: COACHQ_WATCHDOG_SCALE must be an integer from 1 to %u, not \"%s\"\n",
                TESTUTIL_MAX_SCALE, v);
        abort();
    }
    return (unsigned)n;
}

void testutil_watchdog(unsigned seconds)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    alarm(seconds * testutil_timeout_scale());
}

const char *testutil_certs(void)
{
    const char *d = getenv("COACHQ_TEST_CERTS");

    if (d == NULL || d[0] == '\0') {
        fprintf(stderr, "testutil: COACHQ_TEST_CERTS is not set (run the tests through ctest)\n");
        abort();
    }
    return d;
}

const char *testutil_cert_path(char *out, size_t outlen, const char *rel)
{
    snprintf(out, outlen, "%s/%s", testutil_certs(), rel);
    return out;
}

void testutil_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The port in a port file once it is complete, else 0. */
static int read_port_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[16] = {0};
    char *end = NULL;
    long port = 0;

    if (f == NULL) {
        return 0;
    }
    if (fgets(line, sizeof(line), f) != NULL && strchr(line, '\n') != NULL) {
        port = strtol(line, &end, 10);
        if (end == line || port <= 0 || port >= 65536) {
            port = 0;
        }
    }
    fclose(f);
    return (int)port;
}

void testutil_server_start(struct testutil_server *s, const char *datadir,
                           const char *const *extra_args)
{
    const char *bin = getenv("COACHQD");
    char cert[600], key[600], ca[600];
    const char *argv[64];
    int argc = 0;
    int dash = 1;

    if (bin == NULL) {
        fprintf(stderr, "testutil: COACHQD is not set (run the tests through ctest)\n");
        abort();
    }
    memset(s, 0, sizeof(*s));
    snprintf(s->datadir, sizeof(s->datadir), "%s", datadir);
    snprintf(s->port_file, sizeof(s->port_file), "%s.port", datadir);
    snprintf(s->dash_port_file, sizeof(s->dash_port_file), "%s.dash.port", datadir);
    snprintf(s->log_file, sizeof(s->log_file), "%s.log", datadir);
    unlink(s->port_file);
    unlink(s->dash_port_file);
    testutil_cert_path(cert, sizeof(cert), "server.crt");
    testutil_cert_path(key, sizeof(key), "server.key");
    testutil_cert_path(ca, sizeof(ca), "ca.crt");
    argv[argc++] = bin;
    argv[argc++] = "--data";
    argv[argc++] = datadir;
    argv[argc++] = "--listen";
    argv[argc++] = "127.0.0.1:0";
    argv[argc++] = "--port-file";
    argv[argc++] = s->port_file;
    argv[argc++] = "--cert";
    argv[argc++] = cert;
    argv[argc++] = "--key";
    argv[argc++] = key;
    argv[argc++] = "--ca";
    argv[argc++] = ca;
    argv[argc++] = "--dashboard";
    argv[argc++] = "127.0.0.1:0";
    argv[argc++] = "--dashboard-port-file";
    argv[argc++] = s->dash_port_file;
    for (int i = 0; extra_args != NULL && extra_args[i] != NULL && argc < 62; i++) {
        argv[argc++] = extra_args[i];
        if (strcmp(extra_args[i], "--dashboard") == 0 && extra_args[i + 1] != NULL) {
            dash = strcmp(extra_args[i + 1], "off") != 0;
        } else if (strcmp(extra_args[i], "--dashboard=off") == 0) {
            dash = 0;
        }
    }
    argv[argc] = NULL;

    s->pid = fork();
    if (s->pid < 0) {
        die("fork");
    }
    if (s->pid == 0) {
        int fd = open(s->log_file, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        /* The settings are the arguments alone, whatever config file the
         * person running the tests names. */
        unsetenv("COACHQD_CONFIG");
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    /* Wait for the port files: the server writes each after it listens,
     * the protocol port's first. */
    for (unsigned i = 0; i < 2000u * testutil_timeout_scale(); i++) {
        int st;
        if (s->port == 0) {
            s->port = read_port_file(s->port_file);
        }
        if (s->port > 0 && dash && s->dash_port == 0) {
            s->dash_port = read_port_file(s->dash_port_file);
        }
        if (s->port > 0 && (!dash || s->dash_port > 0)) {
            return;
        }
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            fprintf(stderr, "testutil: coachqd exited during start-up; see %s\n", s->log_file);
            abort();
        }
        testutil_sleep_ms(10);
    }
    fprintf(stderr, "testutil: coachqd did not report its port; see %s\n", s->log_file);
    abort();
}

int testutil_server_stop(struct testutil_server *s, int sig)
{
    int st = 0;

    if (s->pid <= 0) {
        return -1;
    }
    if (sig != 0) {
        kill(s->pid, sig);
    }
    while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR) {
    }
    s->pid = 0;
    return st;
}

void testutil_server_abandon(struct testutil_server *s)
{
    char cmd[700];

    if (s->pid <= 0) {
        return;
    }
    fprintf(stderr, "--- coachqd log %s ---\n", s->log_file);
    snprintf(cmd, sizeof(cmd), "tail -n 40 '%s' >&2", s->log_file);
    if (system(cmd) != 0) {
        fprintf(stderr, "(no log)\n");
    }
    testutil_server_stop(s, SIGKILL);
}

void testutil_client_opts(struct client_opts *opts, const struct testutil_server *s,
                          const char *user, int slot)
{
    static char port[8][16], cert[8][600], key[8][600], ca[8][600];
    char rel[300];

    if (slot < 0 || slot >= 8) {
        abort();
    }
    memset(opts, 0, sizeof(*opts));
    snprintf(port[slot], sizeof(port[slot]), "%d", s->port);
    opts->host = "127.0.0.1";
    opts->port = port[slot];
    opts->ca_file = testutil_cert_path(ca[slot], sizeof(ca[slot]), "ca.crt");
    if (user != NULL && user[0] != '\0') {
        snprintf(rel, sizeof(rel), "users/%s.crt", user);
        opts->cert_file = testutil_cert_path(cert[slot], sizeof(cert[slot]), rel);
        snprintf(rel, sizeof(rel), "users/%s.key", user);
        opts->key_file = testutil_cert_path(key[slot], sizeof(key[slot]), rel);
    }
    opts->timeout_ms = 20000u * testutil_timeout_scale();
}

struct client *testutil_connect(const struct testutil_server *s, const char *user, int slot)
{
    struct client_opts opts;
    struct client_error err;
    struct client *c = NULL;
    int rc;

    testutil_client_opts(&opts, s, user, slot);
    rc = client_connect(&opts, &c, &err);
    if (rc != 0) {
        fail_msg("client_connect as %s: %d %s", user, rc, err.message);
    }
    return c;
}

void testutil_assert_alive(const struct testutil_server *s)
{
    int st;

    assert_true(s->pid > 0);
    if (waitpid(s->pid, &st, WNOHANG) != 0) {
        fail_msg("coachqd exited (status 0x%x); see %s", st, s->log_file);
    }
}

void testutil_stop_clean(struct testutil_server *s)
{
    int st = testutil_server_stop(s, SIGTERM);

    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fail_msg("coachqd did not exit 0 on SIGTERM (status 0x%x); see %s", st, s->log_file);
    }
}

void testutil_assert_same_obs(const Coachq__V1__Observation *a, const Coachq__V1__Observation *b)
{
    size_t na, nb;
    uint8_t *pa, *pb;

    assert_non_null(a);
    assert_non_null(b);
    na = coachq__v1__observation__get_packed_size(a);
    nb = coachq__v1__observation__get_packed_size(b);
    assert_int_equal(na, nb);
    pa = malloc(na + 1);
    pb = malloc(nb + 1);
    assert_non_null(pa);
    assert_non_null(pb);
    coachq__v1__observation__pack(a, pa);
    coachq__v1__observation__pack(b, pb);
    assert_memory_equal(pa, pb, na);
    free(pa);
    free(pb);
}

/* Runs the program named by the environment variable env with the
 * arguments in ap; see testutil_coachqd(). */
static int run_program(const char *env, char *out, size_t outlen, int expect, va_list ap)
{
    const char *bin = getenv(env);
    const char *argv[64];
    char path[] = "/tmp/coachq-run-XXXXXX";
    int argc = 0;
    int fd, st = 0, rc;
    pid_t pid;
    ssize_t n;
    size_t got = 0;

    if (bin == NULL) {
        fprintf(stderr, "testutil: %s is not set (run the tests through ctest)\n", env);
        abort();
    }
    argv[argc++] = bin;
    for (const char *a = va_arg(ap, const char *); a != NULL && argc < 63;
         a = va_arg(ap, const char *)) {
        argv[argc++] = a;
    }
    argv[argc] = NULL;
    fd = mkstemp(path);
    if (fd < 0) {
        die("mkstemp");
    }
    unlink(path);
    pid = fork();
    if (pid < 0) {
        die("fork");
    }
    if (pid == 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    if (out != NULL && outlen > 0) {
        lseek(fd, 0, SEEK_SET);
        while (got + 1 < outlen && (n = read(fd, out + got, outlen - 1 - got)) > 0) {
            got += (size_t)n;
        }
        out[got] = '\0';
    }
    close(fd);
    if (expect >= 0 && rc != expect) {
        fail_msg("%s %s %s: exit %d, expected %d; output:\n%s", bin, argc > 1 ? argv[1] : "",
                 argc > 2 ? argv[2] : "", rc, expect, out != NULL ? out : "");
    }
    return rc;
}

void testutil_slurp(const char *path, char *buf, size_t cap)
{
    FILE *fp = fopen(path, "rb");
    size_t n = 0;

    buf[0] = '\0';
    if (fp == NULL) {
        return;
    }
    n = fread(buf, 1, cap - 1, fp);
    buf[n] = '\0';
    fclose(fp);
}

int testutil_run_capture(const char *scratch, const char *cwd, const char *const *argv, char *out,
                         size_t outlen, char *err, size_t errlen)
{
    char outp[1100], errp[1100];
    int st = 0;
    pid_t pid;

    snprintf(outp, sizeof(outp), "%s/.out", scratch);
    snprintf(errp, sizeof(errp), "%s/.err", scratch);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        if (o < 0 || e < 0 || (cwd != NULL && chdir(cwd) < 0) || dup2(o, 1) < 0 || dup2(e, 2) < 0) {
            _exit(126);
        }
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    testutil_slurp(outp, out, outlen);
    testutil_slurp(errp, err, errlen);
    if (!WIFEXITED(st)) {
        fail_msg("%s %s died (status %d); stderr:\n%s", argv[0], argv[1], st, err);
    }
    /* Under the sanitizers a report must fail the test even where the
     * command was expected to fail anyway. */
    if (strstr(err, "Sanitizer") != NULL || strstr(err, "runtime error:") != NULL) {
        fail_msg("%s %s: sanitizer report:\n%s", argv[0], argv[1], err);
    }
    return WEXITSTATUS(st);
}

int testutil_coachqd_in(const char *dir, char *out, size_t outlen, char *err, size_t errlen, ...)
{
    const char *bin = getenv("COACHQD");
    const char *argv[40];
    int argc = 0;
    va_list ap;

    assert_non_null(bin);
    argv[argc++] = bin;
    va_start(ap, errlen);
    for (;;) {
        const char *s = va_arg(ap, const char *);

        assert_true(argc < 39);
        argv[argc++] = s;
        if (s == NULL) {
            break;
        }
    }
    va_end(ap);
    return testutil_run_capture(dir, dir, argv, out, outlen, err, errlen);
}

int testutil_coachqd(char *out, size_t outlen, int expect, ...)
{
    va_list ap;
    int rc;

    va_start(ap, expect);
    rc = run_program("COACHQD", out, outlen, expect, ap);
    va_end(ap);
    return rc;
}

int testutil_coachq(char *out, size_t outlen, int expect, ...)
{
    va_list ap;
    int rc;

    va_start(ap, expect);
    rc = run_program("COACHQ", out, outlen, expect, ap);
    va_end(ap);
    return rc;
}

const char *testutil_fixtures(void)
{
    const char *d = getenv("COACHQ_TEST_FIXTURES");

    if (d == NULL || d[0] == '\0') {
        fprintf(stderr,
                "testutil: COACHQ_TEST_FIXTURES is not set (run the tests through ctest)\n");
        abort();
    }
    return d;
}

void testutil_seed_org(const char *datadir)
{
    static const char *const observers[] = {"alice", "bob", "carol", "dave", "obs.ann"};
    static const char *const rubrics[] = {"coaching-conversation", "call-review"};
    char csv[600];
    char out[4096];

    snprintf(csv, sizeof(csv), "%s/org.csv", testutil_fixtures());
    testutil_coachqd(out, sizeof(out), 0, "init", "--data", datadir, NULL);
    testutil_coachqd(out, sizeof(out), 0, "import", "people", "--data", datadir, csv, NULL);
    for (size_t i = 0; i < sizeof(observers) / sizeof(observers[0]); i++) {
        for (size_t j = 0; j < sizeof(rubrics) / sizeof(rubrics[0]); j++) {
            testutil_coachqd(out, sizeof(out), 0, "cert", "grant", "--data", datadir, observers[i],
                             rubrics[j], "--from", "2024-01-01", "--days", "3650", NULL);
        }
    }
}

const char *const testutil_behaviours[10] = {
    "collaborative",      "regular-cadence",           "consistent-framework", "buyers-view",
    "looks-for-evidence", "elicits-critical-thinking", "praises-insight",      "objective-curious",
    "doesnt-take-over",   "documents-actions",
};

static const char *const ctc_behaviours[7] = {
    "listened-before-meeting",
    "rep-self-assessed-first",
    "positive-first",
    "one-or-two-things",
    "practised",
    "tracked-progress",
    "follow-through",
};

const struct testutil_rubric testutil_rubric_conversation = {
    "coaching-conversation", testutil_behaviours, 10,
    COACHQ__V1__SESSION_TYPE__SESSION_TYPE_DEAL_REVIEW,
    COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_PROCESS};

const struct testutil_rubric testutil_rubric_ctc = {
    "coaching-the-coach", ctc_behaviours, 7, COACHQ__V1__SESSION_TYPE__SESSION_TYPE_CALL_REVIEW,
    COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_SKILL};

void testutil_obs_make(struct testutil_obs *t, const char *coach, const char *coachee,
                       int64_t started_at)
{
    testutil_obs_make_rubric(t, &testutil_rubric_conversation, coach, coachee, started_at);
}

void testutil_obs_make_rubric(struct testutil_obs *t, const struct testutil_rubric *rubric,
                              const char *coach, const char *coachee, int64_t started_at)
{
    Coachq__V1__Observation init = COACHQ__V1__OBSERVATION__INIT;
    size_t n = rubric->n < 10 ? rubric->n : 10;

    memset(t, 0, sizeof(*t));
    t->o = init;
    if (uuid_generate(t->id) != 0) {
        die("uuid_generate");
    }
    snprintf(t->coach, sizeof(t->coach), "%s", coach);
    snprintf(t->coachee, sizeof(t->coachee), "%s", coachee);
    for (size_t i = 0; i < n; i++) {
        Coachq__V1__Rating r = COACHQ__V1__RATING__INIT;

        t->r[i] = r;
        t->r[i].behaviour_id = (char *)rubric->behaviours[i];
        t->r[i].score = 2 + (uint32_t)(i % 2);
        t->rp[i] = &t->r[i];
    }
    t->o.id.data = t->id;
    t->o.id.len = sizeof(t->id);
    t->o.rubric_id = (char *)rubric->id;
    t->o.rubric_version = 1;
    t->o.coach_id = t->coach;
    t->o.coachee_id = t->coachee;
    t->o.session_type = rubric->type;
    t->o.focus = rubric->focus;
    t->o.started_at = started_at;
    t->o.duration_s = 1800;
    t->o.ratings = t->rp;
    t->o.n_ratings = n;
}

struct store *testutil_store_open(const char *dir, size_t map_size)
{
    struct store_policy pol;
    struct store_opts opts;
    struct store *s = NULL;

    store_policy_default(&pol);
    pol.enforce = 0;
    memset(&opts, 0, sizeof(opts));
    opts.map_size = map_size;
    opts.policy = &pol;
    assert_int_equal(store_open(dir, &opts, &s), 0);
    assert_non_null(s);
    return s;
}

/* ---- An organisation in a bare store --------------------------------- */

struct testutil_store_fx *testutil_store_fx_new(int (*build)(struct store_txn *t, void *arg),
                                                void *arg)
{
    struct testutil_store_fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    testutil_tmpdir(f->dir, sizeof(f->dir));
    f->s = testutil_store_open(f->dir, 0);
    if (build != NULL) {
        assert_int_equal(store_exec(f->s, build, arg), 0);
    }
    return f;
}

void testutil_store_fx_free(struct testutil_store_fx *f)
{
    if (f == NULL) {
        return;
    }
    store_close(f->s);
    testutil_rmrf(f->dir);
    free(f);
}

int testutil_put_person(struct store_txn *t, const char *id, const char *name,
                        Coachq__V1__Role role, const char *manager)
{
    Coachq__V1__Person p = COACHQ__V1__PERSON__INIT;
    int rc;

    p.id = (char *)id;
    p.name = (char *)(name != NULL ? name : id);
    if (role != 0) {
        p.roles = &role;
        p.n_roles = 1;
    }
    rc = people_put(t, &p, NULL);
    if (rc == 0 && manager != NULL) {
        rc = people_line_put(t, id, manager, TESTUTIL_ORG_DAY, NULL);
    }
    return rc;
}

int testutil_put_rubric(struct store_txn *t, const char *name_prefix, int allow_na)
{
    Coachq__V1__Rubric r = COACHQ__V1__RUBRIC__INIT;
    Coachq__V1__Behaviour b[10];
    Coachq__V1__Behaviour *bp[10];
    char names[10][80];

    for (size_t i = 0; i < 10; i++) {
        Coachq__V1__Behaviour init = COACHQ__V1__BEHAVIOUR__INIT;

        b[i] = init;
        b[i].id = (char *)testutil_behaviours[i];
        snprintf(names[i], sizeof(names[i]), "%s%s", name_prefix, testutil_behaviours[i]);
        b[i].name = names[i];
        b[i].allow_not_applicable = allow_na != 0;
        bp[i] = &b[i];
    }
    r.id = (char *)"coaching-conversation";
    r.version = 1;
    r.name = (char *)"Coaching conversation";
    r.behaviours = bp;
    r.n_behaviours = 10;
    r.effective_day = 18000;
    return rubrics_put(t, &r, NULL);
}

int testutil_put_cert(struct store_txn *t, const char *observer, int32_t from_day,
                      int32_t until_day, const char *granted_by)
{
    Coachq__V1__Certification c = COACHQ__V1__CERTIFICATION__INIT;

    c.observer_id = (char *)observer;
    c.rubric_id = (char *)"coaching-conversation";
    c.valid_from_day = from_day;
    c.valid_until_day = until_day;
    c.granted_by = (char *)granted_by;
    return certs_put(t, &c);
}

struct memo_steps {
    int (*steps)(struct store_txn *t);
    int step;
};

static int memo_steps_fn(struct store_txn *t, void *arg)
{
    struct memo_steps *ms = arg;
    struct store_txn_memo m;

    memset(&m, 0, sizeof(m));
    t->memo = &m;
    ms->step = ms->steps(t);
    store_txn_memo_clear(&m);
    t->memo = NULL;
    return 0;
}

int testutil_memo_steps(struct store *s, int (*steps)(struct store_txn *t))
{
    struct memo_steps ms = {steps, -1};

    assert_int_equal(store_exec(s, memo_steps_fn, &ms), 0);
    return ms.step;
}

int testutil_put_two_line_org(struct store_txn *t, void *arg)
{
    int rc;

    (void)arg;
    rc = testutil_put_person(t, "slm.a", NULL, COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER, NULL);
    if (rc == 0) {
        rc = testutil_put_person(t, "flm.a", NULL, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER,
                                 "slm.a");
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "flm.b", NULL, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER,
                                 "slm.a");
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "rep.1", NULL, 0, "flm.a");
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "rep.2", NULL, 0, "flm.b");
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "obs.1", NULL, COACHQ__V1__ROLE__ROLE_OBSERVER, NULL);
    }
    if (rc == 0) {
        rc = testutil_put_rubric(t, "", 1);
    }
    if (rc == 0) {
        rc = testutil_put_cert(t, "obs.1", 19000, 21000, "obs.1");
    }
    return rc;
}

int testutil_store_submit(struct store *s, const Coachq__V1__Observation *o, const char *observer,
                          int64_t received_ms)
{
    size_t len = coachq__v1__observation__get_packed_size(o);
    uint8_t *buf = malloc(len > 0 ? len : 1);
    int rc;

    if (buf == NULL) {
        return -ENOMEM;
    }
    coachq__v1__observation__pack(o, buf);
    rc = testutil_store_submit_packed(s, buf, len, observer, received_ms);
    free(buf);
    return rc;
}

/* What testutil_dash_build() asks for, and what it got. */
struct dash_run {
    const struct testutil_dash_req *q;
    struct validate_error *fault;
    struct dash *d;
    int rc;
};

static int dash_run_cb(struct store_txn *t, void *arg)
{
    struct dash_run *r = arg;
    const struct testutil_dash_req *q = r->q;
    struct auth_user u;
    Coachq__V1__GetDashboard req = COACHQ__V1__GET_DASHBOARD__INIT;

    memset(&u, 0, sizeof(u));
    snprintf(u.id, sizeof(u.id), "%s", q->user);
    u.roles = q->roles;
    req.kind = q->kind;
    req.subject_id = (char *)(q->subject != NULL ? q->subject : "");
    req.rubric_id = (char *)(q->rubric != NULL ? q->rubric : "");
    req.until_day = q->until_day;
    r->rc = dash_build(t, &u, &req, q->opts, q->now_s, &r->d, r->fault);
    return 0;
}

int testutil_dash_build(struct store *s, const struct testutil_dash_req *q, struct dash **out,
                        struct validate_error *fault)
{
    struct validate_error ignored;
    struct dash_run r = {q, fault != NULL ? fault : &ignored, NULL, 0};

    memset(r.fault, 0, sizeof(*r.fault));
    assert_int_equal(store_view(s, dash_run_cb, &r), 0);
    *out = r.d;
    return r.rc;
}

int testutil_dash_as_lead(struct store *s, int kind, int32_t until_day, unsigned privacy_min,
                          int64_t now_s, struct dash **out)
{
    struct dash_opts o;
    struct testutil_dash_req q = {"lead.a", AUTH_LEAD, kind, NULL, NULL, until_day, &o, now_s};

    dash_opts_default(&o);
    if (privacy_min != 0) {
        o.privacy_min = privacy_min;
    }
    return testutil_dash_build(s, &q, out, NULL);
}

/* ---- A real coachqd on the test organisation -------------------------- */

void testutil_org_make(struct testutil_org *o)
{
    testutil_tmpdir(o->dir, sizeof(o->dir));
    snprintf(o->data, sizeof(o->data), "%s/data", o->dir);
    testutil_seed_org(o->data);
}

void testutil_org_start(struct testutil_org *o, const char *const *extra_args)
{
    testutil_org_make(o);
    testutil_server_start(&o->srv, o->data, extra_args);
}

void testutil_org_cleanup(struct testutil_org *o)
{
    testutil_server_abandon(&o->srv);
    if (o->dir[0] != '\0') {
        testutil_rmrf(o->dir);
    }
}

int testutil_org_setup(void **state)
{
    struct testutil_org *o = calloc(1, sizeof(*o));

    if (o == NULL) {
        return -1;
    }
    *state = o;
    return 0;
}

int testutil_org_teardown(void **state)
{
    struct testutil_org *o = *state;

    testutil_org_cleanup(o);
    free(o);
    return 0;
}

/* ---- The client's integration fixture --------------------------------- */

void testutil_cli_start(struct testutil_cli *f, unsigned watchdog_s)
{
    testutil_watchdog(watchdog_s);
    memset(f, 0, sizeof(*f));
    f->now = (int64_t)time(NULL);
    f->out = malloc(TESTUTIL_CLI_OUT_LEN);
    assert_non_null(f->out);
    testutil_tmpdir(f->dir, sizeof(f->dir));
    snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
    snprintf(f->file, sizeof(f->file), "%s/obs.json", f->dir);
    snprintf(f->local, sizeof(f->local), "%s/local", f->dir);
    testutil_seed_org(f->data);
    testutil_server_start(&f->srv, f->data, NULL);
    snprintf(f->server, sizeof(f->server), "127.0.0.1:%d", f->srv.port);
    testutil_cert_path(f->ca, sizeof(f->ca), "ca.crt");
}

void testutil_cli_stop(struct testutil_cli *f)
{
    if (f->srv.pid > 0) {
        testutil_stop_clean(&f->srv);
    }
    if (f->dir[0] != '\0') {
        testutil_rmrf(f->dir);
    }
    free(f->out);
    f->out = NULL;
}

const char *testutil_cli_cert(struct testutil_cli *f, const char *user)
{
    char rel[128];

    snprintf(rel, sizeof(rel), "users/%s.crt", user);
    return testutil_cert_path(f->cert, sizeof(f->cert), rel);
}

const char *testutil_cli_key(struct testutil_cli *f, const char *user)
{
    char rel[128];

    snprintf(rel, sizeof(rel), "users/%s.key", user);
    return testutil_cert_path(f->key, sizeof(f->key), rel);
}

/* ---- HTTPS for the dashboard port ------------------------------------- */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define HTTPS_TIMEOUT_S 30
#define HTTPS_MAX_RESPONSE (64u * 1024u * 1024u)

int testutil_tcp_connect(int port, int timeout_s)
{
    struct sockaddr_in a;
    struct timeval tv = {(time_t)timeout_s, 0};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        return -1;
    }
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, "127.0.0.1", &a.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return fd;
}

void testutil_tcp_send(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;

    while (n > 0) {
        ssize_t k = send(fd, b, n, MSG_NOSIGNAL);

        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return; /* the server may close first; the caller checks that */
        }
        b += k;
        n -= (size_t)k;
    }
}

static int https_connect(int port)
{
    return testutil_tcp_connect(port, HTTPS_TIMEOUT_S * (int)testutil_timeout_scale());
}

/* Appends n bytes to a growing heap buffer. Returns 0 or -1. */
static int https_append(char **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t ncap = *cap == 0 ? 16384 : *cap;
        char *nb;
        while (*len + n + 1 > ncap) {
            ncap *= 2;
        }
        if (ncap > HTTPS_MAX_RESPONSE) {
            return -1;
        }
        nb = realloc(*buf, ncap);
        if (nb == NULL) {
            return -1;
        }
        *buf = nb;
        *cap = ncap;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

static int https_write_all(SSL *ssl, const char *p, size_t n)
{
    while (n > 0) {
        int k = SSL_write(ssl, p, n > 65536 ? 65536 : (int)n);
        if (k <= 0) {
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Splits raw (len bytes) into out; raw is the whole response. */
static int https_parse(char *raw, size_t len, struct testutil_http_resp *out)
{
    char *end = strstr(raw, "\r\n\r\n");
    char *sp;
    char *stop = NULL;
    long status;
    size_t head_len, body_off;
    char cl[32];

    if (end == NULL || strncmp(raw, "HTTP/1.1 ", 9) != 0) {
        return -1;
    }
    sp = raw + 9;
    status = strtol(sp, &stop, 10);
    if (stop != sp + 3 || status < 100 || status > 599) {
        return -1;
    }
    head_len = (size_t)(end - raw);
    body_off = head_len + 4;
    out->head = malloc(head_len + 1);
    out->body = malloc(len - body_off + 1);
    if (out->head == NULL || out->body == NULL) {
        testutil_http_resp_free(out);
        return -1;
    }
    memcpy(out->head, raw, head_len);
    out->head[head_len] = '\0';
    out->body_len = len - body_off;
    memcpy(out->body, raw + body_off, out->body_len);
    out->body[out->body_len] = '\0';
    out->status = (int)status;
    if (testutil_http_header(out, "Content-Length", 0, cl, sizeof(cl)) != NULL) {
        char *e = NULL;
        unsigned long n = strtoul(cl, &e, 10);
        if (e == cl || *e != '\0' || n != out->body_len) {
            fprintf(stderr, "testutil_https: Content-Length %s but %zu body bytes\n", cl,
                    out->body_len);
            testutil_http_resp_free(out);
            return -1;
        }
    }
    return (int)status;
}

int testutil_https(int port, const char *method, const char *path, const char *const *headers,
                   const char *body, struct testutil_http_resp *out)
{
    static const unsigned char alpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    char ca[600];
    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    char *req = NULL, *raw = NULL;
    size_t req_len = 0, req_cap = 0, raw_len = 0, raw_cap = 0;
    char line[4096];
    int has_ctype = 0;
    int fd = -1;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    testutil_cert_path(ca, sizeof(ca), "ca.crt");
    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1 ||
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn)) != 0) {
        goto out;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    fd = https_connect(port);
    if (fd < 0) {
        goto out;
    }
    ssl = SSL_new(ctx);
    if (ssl == NULL || X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1") != 1 ||
        SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1 ||
        SSL_get_verify_result(ssl) != X509_V_OK) {
        fprintf(stderr, "testutil_https: TLS handshake with port %d failed\n", port);
        goto out;
    }
    snprintf(line, sizeof(line), "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n",
             method, path, port);
    if (https_append(&req, &req_len, &req_cap, line, strlen(line)) < 0) {
        goto out;
    }
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        if (strncasecmp(headers[i], "Content-Type:", 13) == 0) {
            has_ctype = 1;
        }
        if (https_append(&req, &req_len, &req_cap, headers[i], strlen(headers[i])) < 0 ||
            https_append(&req, &req_len, &req_cap, "\r\n", 2) < 0) {
            goto out;
        }
    }
    if (body != NULL) {
        snprintf(line, sizeof(line), "%sContent-Length: %zu\r\n",
                 has_ctype ? "" : "Content-Type: application/x-www-form-urlencoded\r\n",
                 strlen(body));
        if (https_append(&req, &req_len, &req_cap, line, strlen(line)) < 0) {
            goto out;
        }
    }
    if (https_append(&req, &req_len, &req_cap, "\r\n", 2) < 0 ||
        (body != NULL && https_append(&req, &req_len, &req_cap, body, strlen(body)) < 0) ||
        https_write_all(ssl, req, req_len) < 0) {
        goto out;
    }
    for (;;) {
        char chunk[16384];
        int k = SSL_read(ssl, chunk, sizeof(chunk));
        if (k <= 0) {
            int e = SSL_get_error(ssl, k);
            if (e != SSL_ERROR_ZERO_RETURN && e != SSL_ERROR_SYSCALL) {
                fprintf(stderr, "testutil_https: read failed (SSL error %d)\n", e);
            }
            break;
        }
        if (https_append(&raw, &raw_len, &raw_cap, chunk, (size_t)k) < 0) {
            goto out;
        }
    }
    if (raw == NULL) {
        goto out;
    }
    rc = https_parse(raw, raw_len, out);
out:
    ERR_clear_error();
    if (ssl != NULL) {
        SSL_shutdown(ssl);
        SSL_free(ssl);
    }
    if (fd >= 0) {
        close(fd);
    }
    SSL_CTX_free(ctx);
    free(req);
    free(raw);
    return rc;
}

const char *testutil_http_header(const struct testutil_http_resp *r, const char *name, int idx,
                                 char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    const char *p;

    if (r == NULL || r->head == NULL) {
        return NULL;
    }
    p = strstr(r->head, "\r\n");
    while (p != NULL) {
        const char *ln = p + 2;
        const char *eol = strstr(ln, "\r\n");
        size_t llen = eol != NULL ? (size_t)(eol - ln) : strlen(ln);

        if (llen > nlen && ln[nlen] == ':' && strncasecmp(ln, name, nlen) == 0) {
            if (idx == 0) {
                const char *v = ln + nlen + 1;
                size_t vlen;
                while (*v == ' ' || *v == '\t') {
                    v++;
                }
                vlen = llen - (size_t)(v - ln);
                while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) {
                    vlen--;
                }
                if (vlen >= outlen) {
                    vlen = outlen - 1;
                }
                memcpy(out, v, vlen);
                out[vlen] = '\0';
                return out;
            }
            idx--;
        }
        p = eol;
    }
    return NULL;
}

void testutil_http_resp_free(struct testutil_http_resp *r)
{
    if (r == NULL) {
        return;
    }
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

/* ---- The dashboard port's fixture (struct testutil_web) ---------------- */

#define TESTUTIL_WEB_DAY 86400LL
#define TESTUTIL_WEB_WATCHDOG_SECONDS 280

const char *const testutil_web_role_user[TESTUTIL_WEB_NROLES] = {
    NULL, "obs.ann", "flm.cara", "slm.eve", "lead.gil", "admin.hal"};

int testutil_web_has(const char *hay, const char *needle)
{
    return hay != NULL && strstr(hay, needle) != NULL;
}

/* Fails unless r carries every security header. */
static void check_security_headers(const struct testutil_http_resp *r)
{
    char v[1024];

    assert_non_null(testutil_http_header(r, "Content-Security-Policy", 0, v, sizeof(v)));
    assert_true(testutil_web_has(v, "default-src 'none'"));
    assert_true(testutil_web_has(v, "frame-ancestors 'none'"));
    assert_false(testutil_web_has(v, "unsafe-inline"));
    assert_false(testutil_web_has(v, "script-src"));
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
int testutil_web_req(const struct testutil_web *w, const char *method, const char *path,
                     const char *cookie, const char *extra, const char *body,
                     struct testutil_http_resp *r)
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
    status = testutil_https(w->srv.dash_port, method, path, hdrs, body, r);
    if (status < 0) {
        fail_msg("%s %s: no HTTP response", method, path);
    }
    check_security_headers(r);
    return status;
}

/* The value of cookie name among r's Set-Cookie headers into out; the
 * whole Set-Cookie line into line (may be NULL). Returns 1 if found. */
int testutil_web_set_cookie(const struct testutil_http_resp *r, const char *name, char *out,
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

/* GET /signin in a fresh browser: the device cookie it sets ("__Host-
 * coachq_device=...", for a Cookie header) into device and the form's
 * pre-session token into csrf. */
void testutil_web_signin_form(const struct testutil_web *w, char device[TESTUTIL_WEB_DEVICE_MAX],
                              char csrf[TESTUTIL_WEB_TOKEN_LEN + 1])
{
    struct testutil_http_resp r;
    char line[512], value[100];
    char expect[600];

    assert_int_equal(testutil_web_req(w, "GET", "/signin", NULL, NULL, NULL, &r), 200);
    assert_true(testutil_web_set_cookie(&r, "__Host-coachq_device", value, sizeof(value), line,
                                        sizeof(line)));
    assert_int_equal(strlen(value), TESTUTIL_WEB_DEVICE_LEN);
    snprintf(expect, sizeof(expect),
             "__Host-coachq_device=%s; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=2592000",
             value);
    assert_string_equal(line, expect);
    snprintf(device, TESTUTIL_WEB_DEVICE_MAX, "__Host-coachq_device=%s", value);
    assert_true(testutil_web_page_csrf(r.body, csrf));
    /* The token is not the cookie: it is the server's MAC of the device. */
    assert_null(strstr(value, csrf));
    testutil_http_resp_free(&r);
}

/* GET /signin in a browser that has device (a Cookie header): no new
 * device cookie, and the form's token into csrf. */
void testutil_web_signin_form_again(const struct testutil_web *w, const char *device,
                                    char csrf[TESTUTIL_WEB_TOKEN_LEN + 1])
{
    struct testutil_http_resp r;
    char value[128];

    assert_int_equal(testutil_web_req(w, "GET", "/signin", device, NULL, NULL, &r), 200);
    assert_false(
        testutil_web_set_cookie(&r, "__Host-coachq_device", value, sizeof(value), NULL, 0));
    assert_true(testutil_web_page_csrf(r.body, csrf));
    testutil_http_resp_free(&r);
}

/* Signs user in with password in a fresh browser; fills cookie (the
 * browser's Cookie header: "__Host-coachq_session=...; __Host-coachq_device=...")
 * and returns the status (303 on success). */
int testutil_web_signin(const struct testutil_web *w, const char *user, const char *password,
                        char *cookie, size_t cookielen, struct testutil_http_resp *keep)
{
    char csrf[TESTUTIL_WEB_TOKEN_LEN + 1];
    char device[TESTUTIL_WEB_DEVICE_MAX];
    char body[512];
    char sid[64];
    struct testutil_http_resp r;
    int status;

    testutil_web_signin_form(w, device, csrf);
    snprintf(body, sizeof(body), "user=%s&password=%s&csrf=%s", user, password, csrf);
    status = testutil_web_req(w, "POST", "/signin", device, NULL, body, &r);
    if (cookie != NULL) {
        cookie[0] = '\0';
        if (testutil_web_set_cookie(&r, "__Host-coachq_session", sid, sizeof(sid), NULL, 0) &&
            sid[0] != '\0') {
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
int testutil_web_page_csrf(const char *html, char out[TESTUTIL_WEB_TOKEN_LEN + 1])
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
                    TESTUTIL_WEB_TOKEN_LEN &&
                v[TESTUTIL_WEB_TOKEN_LEN] == '"') {
                memcpy(out, v, TESTUTIL_WEB_TOKEN_LEN);
                out[TESTUTIL_WEB_TOKEN_LEN] = '\0';
                return 1;
            }
        }
        p++;
    }
    return 0;
}

/* The session's CSRF token, read from a page the user may see. */
void testutil_web_session_csrf(const struct testutil_web *w, const char *cookie, const char *page,
                               char out[TESTUTIL_WEB_TOKEN_LEN + 1])
{
    struct testutil_http_resp r;

    assert_int_equal(testutil_web_req(w, "GET", page, cookie, NULL, NULL, &r), 200);
    assert_true(testutil_web_page_csrf(r.body, out));
    testutil_http_resp_free(&r);
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
static void link_token(const char *out, char token[TESTUTIL_WEB_TOKEN_LEN + 1])
{
    const char *p = strstr(out, "token=");

    assert_non_null(p);
    p += 6;
    assert_true(strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") >=
                TESTUTIL_WEB_TOKEN_LEN);
    memcpy(token, p, TESTUTIL_WEB_TOKEN_LEN);
    token[TESTUTIL_WEB_TOKEN_LEN] = '\0';
}

/* Submits n observations of coach with coachee, by the observers in turn,
 * on the last days; note (may be NULL) is every rating's evidence. */
void testutil_web_submit(const struct testutil_web *w, const char *coach, const char *coachee,
                         int n, const char *note)
{
    static const char *const observers[] = {"alice", "bob", "carol", "dave", "obs.ann"};
    int64_t now = (int64_t)time(NULL);

    for (int i = 0; i < n; i++) {
        const char *observer = observers[i % 5];
        struct client *c = testutil_connect(&w->srv, observer, 0);
        struct testutil_obs t;
        Coachq__V1__Observation *op;
        struct client_submit_result res;

        testutil_obs_make(&t, coach, coachee, now - (int64_t)(i + 1) * 3 * TESTUTIL_WEB_DAY - 3600);
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

int testutil_web_setup(void **state)
{
    struct testutil_web *f = calloc(1, sizeof(*f));
    char out[8192];
    char path[700], csv[700], pw[700];
    const char *const everyone[] = {"obs.ann", "flm.cara", "flm.dan",   "slm.eve",
                                    "slm.fay", "lead.gil", "admin.hal", "flm.xss"};
    FILE *src, *dst;
    char line[512];

    assert_non_null(f);
    testutil_watchdog(TESTUTIL_WEB_WATCHDOG_SECONDS);
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
    write_file(pw, TESTUTIL_WEB_PASSWORD "\n");
    for (size_t i = 0; i < sizeof(everyone) / sizeof(everyone[0]); i++) {
        testutil_coachqd(out, sizeof(out), 0, "user", "password", "--data", f->data,
                         "--password-file", pw, everyone[i], NULL);
    }
    testutil_coachqd(out, sizeof(out), 0, "user", "link", "--data", f->data, "flm.dan", NULL);
    link_token(out, f->link_dan);

    testutil_server_start(&f->srv, f->data, NULL);
    assert_true(f->srv.dash_port > 0);

    testutil_web_submit(f, "flm.cara", "rep.ida", 6, NULL);
    testutil_web_submit(f, "mgr.jones", "rep.kim", 5, NULL);
    testutil_web_submit(f, "flm.dan", "rep.jon", 5, NULL);
    testutil_web_submit(f, "flm.xss", "rep.xss", 4, TESTUTIL_WEB_XSS_NOTE);
    testutil_web_submit(f, "recent.csv", "rep.rex", 3, NULL);

    for (int r = TESTUTIL_WEB_R_OBS; r < TESTUTIL_WEB_NROLES; r++) {
        assert_int_equal(testutil_web_signin(f, testutil_web_role_user[r], TESTUTIL_WEB_PASSWORD,
                                             f->cookie[r], sizeof(f->cookie[r]), NULL),
                         303);
        assert_true(f->cookie[r][0] != '\0');
    }
    assert_int_equal(testutil_web_signin(f, "slm.fay", TESTUTIL_WEB_PASSWORD, f->fay_cookie,
                                         sizeof(f->fay_cookie), NULL),
                     303);
    *state = f;
    return 0;
}

int testutil_web_teardown(void **state)
{
    struct testutil_web *f = *state;

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
    return 0;
}
