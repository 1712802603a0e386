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

#include "client.h"
#include "store.h"
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

static void on_alarm(int sig)
{
    static const char msg[] = "testutil: watchdog expired: the test hung\n";
    (void)sig;
    if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
        _exit(99);
    }
    _exit(99);
}

void testutil_watchdog(unsigned seconds)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    alarm(seconds);
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

void testutil_server_start(struct testutil_server *s, const char *datadir,
                           const char *const *extra_args)
{
    const char *bin = getenv("COACHQD");
    char cert[600], key[600], ca[600];
    const char *argv[64];
    int argc = 0;

    if (bin == NULL) {
        fprintf(stderr, "testutil: COACHQD is not set (run the tests through ctest)\n");
        abort();
    }
    memset(s, 0, sizeof(*s));
    snprintf(s->datadir, sizeof(s->datadir), "%s", datadir);
    snprintf(s->port_file, sizeof(s->port_file), "%s.port", datadir);
    snprintf(s->log_file, sizeof(s->log_file), "%s.log", datadir);
    unlink(s->port_file);
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
    for (int i = 0; extra_args != NULL && extra_args[i] != NULL && argc < 62; i++) {
        argv[argc++] = extra_args[i];
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
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    /* Wait for the port file: the server writes it after it listens. */
    for (int i = 0; i < 2000; i++) {
        FILE *f = fopen(s->port_file, "r");
        int st;
        if (f != NULL) {
            char line[16] = {0};
            char *end = NULL;
            long port;
            if (fgets(line, sizeof(line), f) != NULL) {
                port = strtol(line, &end, 10);
                if (end != line && port > 0 && port < 65536) {
                    s->port = (int)port;
                }
            }
            fclose(f);
            if (s->port > 0) {
                return;
            }
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
    opts->timeout_ms = 20000;
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

void testutil_obs_make(struct testutil_obs *t, const char *coach, const char *coachee,
                       int64_t started_at)
{
    Coachq__V1__Observation init = COACHQ__V1__OBSERVATION__INIT;

    memset(t, 0, sizeof(*t));
    t->o = init;
    if (uuid_generate(t->id) != 0) {
        die("uuid_generate");
    }
    snprintf(t->coach, sizeof(t->coach), "%s", coach);
    snprintf(t->coachee, sizeof(t->coachee), "%s", coachee);
    for (size_t i = 0; i < 10; i++) {
        Coachq__V1__Rating r = COACHQ__V1__RATING__INIT;

        t->r[i] = r;
        t->r[i].behaviour_id = (char *)testutil_behaviours[i];
        t->r[i].score = 2 + (uint32_t)(i % 2);
        t->rp[i] = &t->r[i];
    }
    t->o.id.data = t->id;
    t->o.id.len = sizeof(t->id);
    t->o.rubric_id = (char *)"coaching-conversation";
    t->o.rubric_version = 1;
    t->o.coach_id = t->coach;
    t->o.coachee_id = t->coachee;
    t->o.session_type = COACHQ__V1__SESSION_TYPE__SESSION_TYPE_DEAL_REVIEW;
    t->o.focus = COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_PROCESS;
    t->o.started_at = started_at;
    t->o.duration_s = 1800;
    t->o.ratings = t->rp;
    t->o.n_ratings = 10;
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
