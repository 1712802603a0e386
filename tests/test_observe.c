/*
 * test_observe: the observer's terminal UI driven for real.
 *
 * Each case runs the real `coachq observe` binary ($COACHQ) inside a
 * detached tmux server of its own (its own socket and config file, so no
 * user tmux is touched), types keys with `tmux send-keys`, reads the
 * screen with `tmux capture-pane` (polling until the expected text shows,
 * with a deadline), and checks what reached a real coachqd over mutual TLS
 * (an organisation seeded with the real administration verbs) and what the
 * client journaled in its local store. Panes stay after their process
 * exits (remain-on-exit), so the exit status is checked too, and under
 * the sanitizers every run writes any report to a file the test reads.
 *
 * Cases: a complete session (markers with a pause, a note, an undo, all
 * ten behaviours with evidence where the rubric wants it, an action,
 * submit); SIGKILL mid-session and --resume keeping every marker and the
 * clock; a score of 4 without evidence refused by the UI, then saved and
 * quit; the setup pickers, the 80x24 layout, resizing, a too-small
 * terminal, '?' and NO_COLOR; `coachq amend` changing one score of a
 * stored observation into a second version, and refusing another
 * observer's record; a full disk (a 1 MiB tmpfs for the client's store,
 * filled mid-session) with the server down, and with a submission whose
 * saved copy cannot be cleared; a resumed copy the server has already
 * stored; a disabled user; and messages that never get cut at 80x24.
 * Skipped only when tmux is not installed (the full-disk cases also when
 * the test may not mount a tmpfs, i.e. does not run as root).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <lmdb.h>

#include <cmocka.h>

#include "client.h"
#include "localstore.h"
#include "testutil.h"
#include "uuid.h"

#define WATCHDOG_SECONDS 280
#define WAIT_MS 15000
#define SCREEN_MAX 16384

struct fixture {
    char dir[512];
    char data[600];  /* the server's */
    char local[600]; /* the client's local store */
    char sock[600];
    char conf[600];
    char asan[600];
    int have_tmux;
    int tmux_started;
    int mounted;  /* a small tmpfs is mounted on local */
    MDB_env *env; /* a reader on the client's store, see hold_reader() */
    MDB_txn *rd;
    struct testutil_server srv;
};

static int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs argv (argv[0] looked up in PATH), capturing stdout and stderr into
 * out. Returns the exit status, or -1 if it could not run. */
static int run(char *out, size_t outlen, const char *const argv[])
{
    int fds[2];
    pid_t pid;
    int st = 0;
    size_t got = 0;

    if (pipe(fds) < 0) {
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        /* Never talk to a tmux the test itself may run in. */
        unsetenv("TMUX");
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    for (;;) {
        char buf[4096];
        ssize_t n = read(fds[0], buf, sizeof(buf));

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        for (ssize_t i = 0; i < n && out != NULL && got + 1 < outlen; i++) {
            out[got++] = buf[i];
        }
    }
    close(fds[0]);
    if (out != NULL && outlen > 0) {
        out[got] = '\0';
    }
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs tmux on the fixture's own server with up to 16 arguments; fails
 * the test unless it exits 0. */
static void tmux(struct fixture *f, char *out, size_t outlen, ...)
{
    const char *argv[24];
    char buf[SCREEN_MAX];
    int argc = 0;
    va_list ap;
    int rc;

    argv[argc++] = "tmux";
    argv[argc++] = "-S";
    argv[argc++] = f->sock;
    argv[argc++] = "-f";
    argv[argc++] = f->conf;
    va_start(ap, outlen);
    for (const char *a = va_arg(ap, const char *); a != NULL && argc < 23;
         a = va_arg(ap, const char *)) {
        argv[argc++] = a;
    }
    va_end(ap);
    argv[argc] = NULL;
    rc = run(out != NULL ? out : buf, out != NULL ? outlen : sizeof(buf), argv);
    if (rc != 0) {
        fail_msg("tmux %s failed (%d): %s", argv[5], rc, out != NULL ? out : buf);
    }
}

/* Starts coachq with args (a command and its arguments, shell-quoted) in a
 * new tmux session called name, 80x24, as user (a certificate in the test
 * certificates' users/), with local as its COACHQ_DATA_DIR. env is extra
 * "K=V " text for its environment (may be ""). With direct, the pane runs
 * coachq itself (exec), so the pane's pid is coachq's; otherwise a shell
 * runs it and writes its exit status to a file for wait_exit(), then
 * lingers a moment so that tmux reads everything coachq printed before the
 * pane dies (tmux's own pane_dead_status is not reliable: it races with the
 * end of the output). */
static void ui_run(struct fixture *f, const char *name, const char *user, const char *local,
                   const char *env, const char *args, int direct)
{
    char cmd[8192], cert[600], key[600], ca[600], asan_opts[900], ubsan_opts[900], status[700];
    char rel[128];
    const char *bin = getenv("COACHQ");
    const char *prev = getenv("ASAN_OPTIONS");
    const char *uprev = getenv("UBSAN_OPTIONS");

    assert_non_null(bin);
    snprintf(rel, sizeof(rel), "users/%s.crt", user);
    testutil_cert_path(cert, sizeof(cert), rel);
    snprintf(rel, sizeof(rel), "users/%s.key", user);
    testutil_cert_path(key, sizeof(key), rel);
    testutil_cert_path(ca, sizeof(ca), "ca.crt");
    /* A sanitizer report would otherwise vanish with the pane. */
    snprintf(asan_opts, sizeof(asan_opts), "%s%slog_path=%s", prev != NULL ? prev : "",
             prev != NULL && prev[0] ? ":" : "", f->asan);
    snprintf(ubsan_opts, sizeof(ubsan_opts), "%s%slog_path=%s", uprev != NULL ? uprev : "",
             uprev != NULL && uprev[0] ? ":" : "", f->asan);
    snprintf(status, sizeof(status), "%s/status-%s", f->dir, name);
    unlink(status);
    snprintf(cmd, sizeof(cmd),
             "%senv COACHQ_DATA_DIR='%s' LANG=C.UTF-8 TERM=screen ASAN_OPTIONS='%s' "
             "UBSAN_OPTIONS='%s' %s '%s' --server 127.0.0.1:%d --cert '%s' --key '%s' --ca '%s' "
             "%s%s%s%s",
             direct ? "exec " : "", local, asan_opts, ubsan_opts, env, bin, f->srv.port, cert, key,
             ca, args, direct ? "" : "; echo $? > '", direct ? "" : status,
             direct ? "" : "'; sleep 1");
    tmux(f, NULL, 0, "new-session", "-d", "-s", name, "-x", "80", "-y", "24", cmd, NULL);
    f->tmux_started = 1;
}

/* Starts coachq observe with args as obs.ann with the fixture's local
 * store: ui_run() for the observe cases. */
static void ui_start(struct fixture *f, const char *name, const char *env, const char *args,
                     int direct)
{
    char cmd[1024];

    snprintf(cmd, sizeof(cmd), "observe %s", args);
    ui_run(f, name, "obs.ann", f->local, env, cmd, direct);
}

static void screen(struct fixture *f, const char *name, char *out, size_t outlen)
{
    tmux(f, out, outlen, "capture-pane", "-p", "-t", name, NULL);
}

/* Waits until the screen shows text; fails with the screen if it does
 * not within WAIT_MS. Returns with the screen in out. */
static void wait_for(struct fixture *f, const char *name, const char *text, char *out,
                     size_t outlen)
{
    int64_t end = wall_ms() + WAIT_MS;

    for (;;) {
        screen(f, name, out, outlen);
        if (strstr(out, text) != NULL) {
            return;
        }
        if (wall_ms() > end) {
            fail_msg("the screen never showed \"%s\"; it shows:\n%s", text, out);
        }
        testutil_sleep_ms(50);
    }
}

static void keys(struct fixture *f, const char *name, const char *k)
{
    tmux(f, NULL, 0, "send-keys", "-t", name, k, NULL);
}

static void text(struct fixture *f, const char *name, const char *t)
{
    tmux(f, NULL, 0, "send-keys", "-t", name, "-l", t, NULL);
}

/* Types one key and waits for its effect on screen. */
static void key_until(struct fixture *f, const char *name, const char *k, const char *until)
{
    char s[SCREEN_MAX];

    keys(f, name, k);
    wait_for(f, name, until, s, sizeof(s));
}

/* Whether the pane's process has exited, its exit status, and its pid. */
static void pane_state(struct fixture *f, const char *name, int *dead, int *status, long *pid)
{
    char out[256];
    char *end;

    tmux(f, out, sizeof(out), "list-panes", "-t", name, "-F",
         "#{pane_dead}:#{pane_dead_status}:#{pane_pid}", NULL);
    /* The status is empty while the pane lives. */
    *dead = (int)strtol(out, &end, 10);
    *status = *end == ':' ? (int)strtol(end + 1, &end, 10) : -1;
    *pid = *end == ':' ? strtol(end + 1, &end, 10) : -1;
}

/* Waits for coachq in the pane (started without direct) to exit and
 * returns its exit status. */
static int wait_exit(struct fixture *f, const char *name)
{
    int64_t end = wall_ms() + WAIT_MS;
    char path[700];

    snprintf(path, sizeof(path), "%s/status-%s", f->dir, name);
    for (;;) {
        FILE *fp = fopen(path, "r");
        char line[32] = "";

        if (fp != NULL) {
            char *got = fgets(line, sizeof(line), fp);

            fclose(fp);
            if (got != NULL && strchr(line, '\n') != NULL) {
                return (int)strtol(line, NULL, 10);
            }
        }
        if (wall_ms() > end) {
            char s[SCREEN_MAX];

            screen(f, name, s, sizeof(s));
            fail_msg("coachq did not exit; the screen shows:\n%s", s);
        }
        testutil_sleep_ms(50);
    }
}

/* Fails the test if a sanitizer wrote a report for any coachq run. */
static void assert_no_sanitizer_report(struct fixture *f)
{
    char dir[600], base[128], path[1200], buf[8192];
    const char *slash = strrchr(f->asan, '/');
    DIR *d;
    struct dirent *e;

    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - f->asan), f->asan);
    snprintf(base, sizeof(base), "%s.", slash + 1);
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, base, strlen(base)) == 0) {
            FILE *fp;
            size_t n;

            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            fp = fopen(path, "r");
            n = fp != NULL ? fread(buf, 1, sizeof(buf) - 1, fp) : 0;
            buf[n] = '\0';
            if (fp != NULL) {
                fclose(fp);
            }
            closedir(d);
            fail_msg("coachq's sanitizer report %s:\n%s", path, buf);
        }
    }
    closedir(d);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    const char *const version[] = {"tmux", "-V", NULL};
    char out[256];
    FILE *fp;

    assert_non_null(f);
    testutil_watchdog(WATCHDOG_SECONDS);
    testutil_tmpdir(f->dir, sizeof(f->dir));
    snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
    snprintf(f->local, sizeof(f->local), "%s/local", f->dir);
    snprintf(f->sock, sizeof(f->sock), "%s/tmux.sock", f->dir);
    snprintf(f->conf, sizeof(f->conf), "%s/tmux.conf", f->dir);
    snprintf(f->asan, sizeof(f->asan), "%s/sanitizer", f->dir);
    f->have_tmux = run(out, sizeof(out), version) == 0;
    if (f->have_tmux) {
        fp = fopen(f->conf, "w");
        assert_non_null(fp);
        /* Keep dead panes (for their exit status); no status line, so the
         * pane is the whole 80x24. */
        fputs("set -g remain-on-exit on\nset -g status off\nset -g history-limit 100\n", fp);
        fclose(fp);
        testutil_seed_org(f->data);
        testutil_server_start(&f->srv, f->data, NULL);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    const char *argv[] = {"tmux", "-S", f->sock, "kill-server", NULL};

    if (f->tmux_started) {
        (void)run(NULL, 0, argv);
    }
    if (f->rd != NULL) {
        mdb_txn_abort(f->rd);
    }
    if (f->env != NULL) {
        mdb_env_close(f->env);
    }
    if (f->mounted) {
        /* Lazily: a coachq killed with its tmux may still hold files. */
        (void)umount2(f->local, MNT_DETACH);
    }
    testutil_server_abandon(&f->srv);
    testutil_rmrf(f->dir);
    free(f);
    return 0;
}

static void need_tmux(const struct fixture *f)
{
    if (!f->have_tmux) {
        print_message("tmux is not installed: the UI tests need it (apt-get install tmux)\n");
        skip();
    }
}

/* The one observation obs.ann has on the server. */
static Coachq__V1__StoredObservation *the_stored(struct fixture *f)
{
    Coachq__V1__ListObservations q = COACHQ__V1__LIST_OBSERVATIONS__INIT;
    Coachq__V1__ObservationPage *page = NULL;
    Coachq__V1__StoredObservation *rec = NULL;
    struct client_error e;
    struct client *c = testutil_connect(&f->srv, "obs.ann", 0);
    uint8_t id[UUID_LEN];

    q.by = COACHQ__V1__LIST_BY__LIST_BY_OBSERVER;
    q.person_id = (char *)"obs.ann";
    assert_int_equal(client_list(c, &q, &page, &e), 0);
    assert_int_equal(page->n_observations, 1);
    assert_int_equal(page->observations[0]->observation->id.len, UUID_LEN);
    memcpy(id, page->observations[0]->observation->id.data, UUID_LEN);
    coachq__v1__observation_page__free_unpacked(page, NULL);
    assert_int_equal(client_get(c, id, &rec, &e), 0);
    client_free(c);
    return rec;
}

static Coachq__V1__LocalSession *saved_session(struct fixture *f)
{
    struct localstore *ls = NULL;
    Coachq__V1__LocalSession *s = NULL;
    char err[512];

    assert_int_equal(localstore_open(f->local, &ls, err, sizeof(err)), 0);
    assert_int_equal(localstore_session_load(ls, &s), 0);
    localstore_close(ls);
    return s;
}

static int count_outbox(const Coachq__V1__OutboxEntry *e, void *arg)
{
    (void)e;
    (*(size_t *)arg)++;
    return 0;
}

#define PRESET                                                                                     \
    "--rubric coaching-conversation --coach flm.cara --coachee rep.ida --type deal_review "        \
    "--focus process"

/* Waits for the marker count shown in the live phase. */
static void wait_markers(struct fixture *f, const char *name, size_t n)
{
    char want[64], s[SCREEN_MAX];

    snprintf(want, sizeof(want), "Markers in all: %zu\n", n);
    wait_for(f, name, want, s, sizeof(s));
}

static void mark(struct fixture *f, const char *name, const char *k, size_t n_after)
{
    keys(f, name, k);
    wait_markers(f, name, n_after);
}

/* ---- (a) A complete session ------------------------------------------- */

static void test_complete_session(void **state)
{
    struct fixture *f = *state;
    static const int kinds[7] = {
        COACHQ__V1__MARKER_KIND__MARKER_KIND_OPEN_QUESTION,
        COACHQ__V1__MARKER_KIND__MARKER_KIND_DIRECTIVE,
        COACHQ__V1__MARKER_KIND__MARKER_KIND_OPEN_QUESTION,
        COACHQ__V1__MARKER_KIND__MARKER_KIND_EVIDENCE_ASKED,
        COACHQ__V1__MARKER_KIND__MARKER_KIND_PRAISE,
        COACHQ__V1__MARKER_KIND__MARKER_KIND_REP_SELF_ASSESSED,
        COACHQ__V1__MARKER_KIND__MARKER_KIND_ACTION_AGREED,
    };
    /* 0 = not applicable. */
    static const uint32_t scores[10] = {4, 3, 2, 0, 3, 1, 3, 3, 2, 3};
    Coachq__V1__StoredObservation *rec;
    const Coachq__V1__Observation *o;
    struct localstore *ls = NULL;
    Coachq__V1__LocalSession *none = NULL;
    char s[SCREEN_MAX], err[512];
    int64_t t_start, t_before_pause, t_after_pause;
    size_t outbox = 0;

    need_tmux(f);
    t_start = wall_ms() / 1000;
    ui_start(f, "a", "", PRESET, 0);
    wait_for(f, "a", "RUNNING", s, sizeof(s));
    mark(f, "a", "o", 1);
    testutil_sleep_ms(300);
    mark(f, "a", "d", 2);
    mark(f, "a", "o", 3);
    t_before_pause = wall_ms();
    key_until(f, "a", "Space", "PAUSED");
    testutil_sleep_ms(1500);
    key_until(f, "a", "Space", "RUNNING");
    mark(f, "a", "e", 4);
    t_after_pause = wall_ms();
    mark(f, "a", "p", 5);
    key_until(f, "a", "n", "Note on praise");
    text(f, "a", "asked about the CFO – café");
    key_until(f, "a", "Enter", "\"asked about the CFO");
    mark(f, "a", "s", 6);
    mark(f, "a", "t", 7);
    key_until(f, "a", "u", "undone: manager took over");
    wait_markers(f, "a", 6);
    mark(f, "a", "a", 7);
    testutil_sleep_ms(200);

    key_until(f, "a", "r", "RATING");
    for (size_t i = 0; i < 10; i++) {
        char k[2] = {scores[i] == 0 ? 'x' : (char)('0' + scores[i]), '\0'};
        char want[32];

        keys(f, "a", k);
        if (scores[i] == 1 || scores[i] == 4) {
            /* The rubric wants evidence for 1 and 4: the UI asks at once. */
            wait_for(f, "a", "Evidence for ", s, sizeof(s));
            text(f, "a", scores[i] == 4 ? "rep set the agenda" : "manager gave the answers");
            keys(f, "a", "Enter");
        }
        snprintf(want, sizeof(want), "%zu of 10 rated", i + 1);
        wait_for(f, "a", want, s, sizeof(s));
    }
    key_until(f, "a", "Enter", "AGREED ACTIONS");
    keys(f, "a", "a");
    wait_for(f, "a", "New agreed action", s, sizeof(s));
    text(f, "a", "Rep calls the CFO before Friday");
    key_until(f, "a", "Enter", "1 agreed action");
    key_until(f, "a", "Enter", "REVIEW");
    wait_for(f, "a", "ready to submit", s, sizeof(s));
    assert_non_null(strstr(s, "ask : tell 2 : 1"));
    key_until(f, "a", "s", "STORED");
    keys(f, "a", "x");
    assert_int_equal(wait_exit(f, "a"), 0);
    wait_for(f, "a", "stored: ", s, sizeof(s));
    assert_no_sanitizer_report(f);

    rec = the_stored(f);
    o = rec->observation;
    assert_string_equal(rec->observer_id, "obs.ann");
    assert_string_equal(o->rubric_id, "coaching-conversation");
    assert_int_equal(o->rubric_version, 1);
    assert_string_equal(o->coach_id, "flm.cara");
    assert_string_equal(o->coachee_id, "rep.ida");
    assert_int_equal(o->session_type, COACHQ__V1__SESSION_TYPE__SESSION_TYPE_DEAL_REVIEW);
    assert_int_equal(o->focus, COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_PROCESS);
    assert_in_range(o->started_at, t_start - 2, t_start + 10);
    /* The markers, in order, with offsets that grow and sit inside the
     * session; the paused time is not counted. */
    assert_int_equal(o->n_markers, 7);
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(o->markers[i]->kind, kinds[i]);
        assert_true(o->markers[i]->offset_ms <= o->duration_s * 1000u);
        if (i > 0) {
            assert_true(o->markers[i]->offset_ms >= o->markers[i - 1]->offset_ms);
        }
    }
    assert_true(o->markers[1]->offset_ms - o->markers[0]->offset_ms >= 250);
    assert_true((int64_t)(o->markers[3]->offset_ms - o->markers[2]->offset_ms) <
                (t_after_pause - t_before_pause) - 1000);
    assert_string_equal(o->markers[4]->note, "asked about the CFO – café");
    assert_string_equal(o->markers[0]->note, "");
    assert_true(o->duration_s >= 1 && o->duration_s < 120);
    /* The scores typed, with the evidence. */
    assert_int_equal(o->n_ratings, 10);
    for (size_t i = 0; i < 10; i++) {
        assert_string_equal(o->ratings[i]->behaviour_id, testutil_behaviours[i]);
        assert_int_equal(o->ratings[i]->score, scores[i]);
        assert_int_equal(o->ratings[i]->not_applicable, scores[i] == 0);
    }
    assert_string_equal(o->ratings[0]->evidence, "rep set the agenda");
    assert_string_equal(o->ratings[5]->evidence, "manager gave the answers");
    assert_string_equal(o->ratings[1]->evidence, "");
    assert_int_equal(o->n_actions, 1);
    assert_string_equal(o->actions[0]->text, "Rep calls the CFO before Friday");
    coachq__v1__stored_observation__free_unpacked(rec, NULL);

    /* Nothing is left behind on the observer's machine. */
    assert_int_equal(localstore_open(f->local, &ls, err, sizeof(err)), 0);
    assert_int_equal(localstore_session_load(ls, &none), -ENOENT);
    assert_int_equal(localstore_outbox_list(ls, count_outbox, &outbox), 0);
    assert_int_equal(outbox, 0);
    localstore_close(ls);
}

/* ---- (b) SIGKILL mid-session, then --resume ---------------------------- */

static void test_crash_resume(void **state)
{
    struct fixture *f = *state;
    Coachq__V1__LocalSession *before;
    Coachq__V1__StoredObservation *rec;
    const Coachq__V1__Observation *o;
    char s[SCREEN_MAX];
    int dead, status;
    long pid;
    uint64_t elapsed_at_kill;

    need_tmux(f);
    ui_start(f, "b", "", PRESET, 1);
    wait_for(f, "b", "RUNNING", s, sizeof(s));
    mark(f, "b", "o", 1);
    mark(f, "b", "d", 2);
    testutil_sleep_ms(1100);
    mark(f, "b", "e", 3);
    key_until(f, "b", "n", "Note on evidence asked");
    text(f, "b", "typed before the kill");
    key_until(f, "b", "Enter", "\"typed before the kill\"");
    mark(f, "b", "o", 4);

    /* The pane runs coachq itself (exec), so its pid is coachq's. */
    pane_state(f, "b", &dead, &status, &pid);
    assert_int_equal(dead, 0);
    assert_true(pid > 1);
    assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
    for (int i = 0; i < 200 && !dead; i++) {
        testutil_sleep_ms(25);
        pane_state(f, "b", &dead, &status, &pid);
    }
    assert_int_equal(dead, 1);

    /* What the dead client left in its store: every marker, the clock
     * still running. */
    before = saved_session(f);
    assert_non_null(before->draft);
    assert_int_equal(before->draft->n_markers, 4);
    assert_string_equal(before->draft->markers[2]->note, "typed before the kill");
    assert_true(before->clock_started_ms > 0);
    elapsed_at_kill = before->elapsed_ms + (uint64_t)(wall_ms() - before->clock_started_ms);
    testutil_sleep_ms(1000);

    ui_start(f, "b2", "", "--resume", 0);
    wait_for(f, "b2", "RUNNING", s, sizeof(s));
    assert_non_null(strstr(s, "Markers in all: 4\n"));
    assert_non_null(strstr(s, "\"typed before the kill\""));
    mark(f, "b2", "p", 5);
    key_until(f, "b2", "Enter", "RATING");
    for (int i = 0; i < 10; i++) {
        keys(f, "b2", "3");
    }
    wait_for(f, "b2", "10 of 10 rated", s, sizeof(s));
    key_until(f, "b2", "Enter", "AGREED ACTIONS");
    key_until(f, "b2", "Enter", "ready to submit");
    key_until(f, "b2", "s", "STORED");
    keys(f, "b2", "Enter");
    assert_int_equal(wait_exit(f, "b2"), 0);
    assert_no_sanitizer_report(f);

    rec = the_stored(f);
    o = rec->observation;
    /* The same record (its id was made before the kill), every marker typed
     * before the kill with the same offset and note, then the new one. */
    assert_int_equal(o->id.len, UUID_LEN);
    assert_memory_equal(o->id.data, before->draft->id.data, UUID_LEN);
    assert_int_equal(o->started_at, before->draft->started_at);
    assert_int_equal(o->n_markers, 5);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(o->markers[i]->kind, before->draft->markers[i]->kind);
        assert_int_equal(o->markers[i]->offset_ms, before->draft->markers[i]->offset_ms);
        assert_string_equal(o->markers[i]->note, before->draft->markers[i]->note);
    }
    assert_true(o->markers[2]->offset_ms - o->markers[1]->offset_ms >= 1000);
    /* The clock went on while the client was dead. */
    assert_int_equal(o->markers[4]->kind, COACHQ__V1__MARKER_KIND__MARKER_KIND_PRAISE);
    assert_true(o->markers[4]->offset_ms >= elapsed_at_kill + 900);
    assert_true((uint64_t)o->duration_s * 1000u >= o->markers[4]->offset_ms);
    for (size_t i = 0; i < o->n_ratings; i++) {
        assert_int_equal(o->ratings[i]->score, 3);
    }
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    coachq__v1__local_session__free_unpacked(before, NULL);
}

/* ---- (c) Evidence the rubric requires ---------------------------------- */

static void test_evidence_required(void **state)
{
    struct fixture *f = *state;
    Coachq__V1__LocalSession *saved;
    char s[SCREEN_MAX];

    need_tmux(f);
    ui_start(f, "c", "", PRESET, 0);
    wait_for(f, "c", "RUNNING", s, sizeof(s));
    mark(f, "c", "o", 1);
    key_until(f, "c", "Enter", "RATING");
    keys(f, "c", "4");
    wait_for(f, "c", "Evidence for Collaborative (required for a 4)", s, sizeof(s));
    key_until(f, "c", "Escape", "not changed");
    for (int i = 0; i < 9; i++) {
        keys(f, "c", "3");
    }
    wait_for(f, "c", "10 of 10 rated", s, sizeof(s));
    assert_non_null(strstr(s, "evidence needed (v)"));

    /* Finishing is refused, naming the behaviour, twice. */
    key_until(f, "c", "Enter", "Collaborative needs evidence for a score of 4");
    screen(f, "c", s, sizeof(s));
    assert_non_null(strstr(s, "coachq observe  RATING"));
    keys(f, "c", "Enter");
    testutil_sleep_ms(300);
    screen(f, "c", s, sizeof(s));
    assert_non_null(strstr(s, "Collaborative needs evidence for a score of 4"));
    assert_null(strstr(s, "AGREED ACTIONS"));

    /* The refusal put the cursor on the behaviour: v writes its evidence. */
    key_until(f, "c", "v", "Evidence for Collaborative");
    text(f, "c", "rep led the agenda");
    key_until(f, "c", "Enter", "evidence saved");
    key_until(f, "c", "Enter", "AGREED ACTIONS");

    /* Quit keeps everything for --resume. */
    key_until(f, "c", "q", "quit? the session is saved; coachq observe --resume continues it");
    keys(f, "c", "y");
    assert_int_equal(wait_exit(f, "c"), 1);
    wait_for(f, "c", "quit: the session is saved", s, sizeof(s));
    assert_no_sanitizer_report(f);
    saved = saved_session(f);
    assert_int_equal(saved->phase, 4); /* the agreed actions */
    assert_int_equal(saved->draft->n_ratings, 10);
    assert_int_equal(saved->draft->ratings[0]->score, 4);
    assert_string_equal(saved->draft->ratings[0]->evidence, "rep led the agenda");
    assert_int_equal(saved->draft->ratings[9]->score, 3);
    assert_int_equal(saved->draft->n_markers, 1);
    coachq__v1__local_session__free_unpacked(saved, NULL);
}

/* ---- (d) Setup pickers, layout, resizing, keys, colour ------------------ */

/* Line n (0-based) of a captured screen, into out. */
static void line_of(const char *scr, int n, char *out, size_t outlen)
{
    const char *p = scr;

    for (int i = 0; i < n && p != NULL; i++) {
        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }
    if (p == NULL) {
        out[0] = '\0';
        return;
    }
    snprintf(out, outlen, "%.*s", (int)strcspn(p, "\n"), p);
}

/* Waits until line n of the screen contains text. */
static void wait_line(struct fixture *f, const char *name, int n, const char *want)
{
    int64_t end = wall_ms() + WAIT_MS;
    char s[SCREEN_MAX], line[512];

    for (;;) {
        screen(f, name, s, sizeof(s));
        line_of(s, n, line, sizeof(line));
        if (strstr(line, want) != NULL) {
            return;
        }
        if (wall_ms() > end) {
            fail_msg("line %d never showed \"%s\"; the screen is:\n%s", n, want, s);
        }
        testutil_sleep_ms(50);
    }
}

/* Whether captured output (with -e) sets a foreground or background
 * colour: SGR parameters 30-37, 40-47, 90-97, 100-107, 38 or 48. */
static int has_colour(const char *s)
{
    for (const char *p = strstr(s, "\033["); p != NULL; p = strstr(p + 1, "\033[")) {
        const char *q = p + 2;

        while (*q >= '0' && *q <= '9') {
            char *end;
            long v = strtol(q, &end, 10);

            if ((v >= 30 && v <= 38) || (v >= 40 && v <= 48) || (v >= 90 && v <= 97) ||
                (v >= 100 && v <= 107)) {
                if (*end == 'm' || *end == ';') {
                    return 1;
                }
            }
            q = *end == ';' ? end + 1 : end;
        }
    }
    return 0;
}

static void test_layout(void **state)
{
    struct fixture *f = *state;
    Coachq__V1__LocalSession *saved;
    char s[SCREEN_MAX], line[512];

    need_tmux(f);
    ui_start(f, "d", "", "--rubric coaching-conversation --type deal_review --focus process", 0);
    /* The setup asks for what no option gave: coach, then coachee, found
     * by typing. */
    wait_for(f, "d", "Choose the coach", s, sizeof(s));
    text(f, "d", "flm.cara");
    keys(f, "d", "Enter");
    wait_for(f, "d", "Choose the coachee", s, sizeof(s));
    assert_non_null(strstr(s, "flm.cara"));
    text(f, "d", "rep.ida");
    keys(f, "d", "Enter");
    wait_for(f, "d", "RUNNING", s, sizeof(s));

    /* 80x24: the title on the first line, the keys on the 23rd. */
    line_of(s, 0, line, sizeof(line));
    assert_non_null(strstr(line, "coachq observe  LIVE"));
    wait_line(f, "d", 22, "? keys  q quit");
    line_of(s, 2, line, sizeof(line));
    assert_non_null(strstr(line, "flm.cara"));
    assert_non_null(strstr(line, "rep.ida"));

    /* Bigger: laid out anew for 100x30. */
    tmux(f, NULL, 0, "resize-window", "-t", "d", "-x", "100", "-y", "30", NULL);
    wait_line(f, "d", 28, "? keys  q quit");
    screen(f, "d", s, sizeof(s));
    line_of(s, 0, line, sizeof(line));
    assert_true(strlen(line) > 85); /* the clock moved to the right edge */
    line_of(s, 22, line, sizeof(line));
    assert_null(strstr(line, "q quit"));

    /* Too small: a message instead of a broken layout, and marker keys do
     * nothing the observer cannot see. */
    tmux(f, NULL, 0, "resize-window", "-t", "d", "-x", "60", "-y", "20", NULL);
    wait_for(f, "d", "needs a terminal of at least 80x24", s, sizeof(s));
    keys(f, "d", "o");
    testutil_sleep_ms(200);

    /* And back to 80x24. */
    tmux(f, NULL, 0, "resize-window", "-t", "d", "-x", "80", "-y", "24", NULL);
    wait_line(f, "d", 22, "? keys  q quit");
    wait_line(f, "d", 0, "LIVE");
    wait_markers(f, "d", 0);

    /* '?' shows the keys; any key closes them without marking. */
    key_until(f, "d", "?", "undo the last marker");
    screen(f, "d", s, sizeof(s));
    assert_non_null(strstr(s, "KEYS"));
    assert_non_null(strstr(s, "pause or resume the clock"));
    assert_non_null(strstr(s, "o  open question"));
    keys(f, "d", "o");
    wait_line(f, "d", 0, "LIVE");
    wait_markers(f, "d", 0);

    /* Colours: the terminal has them and NO_COLOR is unset. */
    tmux(f, s, sizeof(s), "capture-pane", "-e", "-p", "-t", "d", NULL);
    assert_true(has_colour(s));
    key_until(f, "d", "q", "quit?");
    keys(f, "d", "y");
    assert_int_equal(wait_exit(f, "d"), 1);

    /* The setup's answers were journaled. */
    saved = saved_session(f);
    assert_string_equal(saved->draft->coach_id, "flm.cara");
    assert_string_equal(saved->draft->coachee_id, "rep.ida");
    assert_int_equal(saved->phase, 2); /* live */
    coachq__v1__local_session__free_unpacked(saved, NULL);

    /* NO_COLOR: the same screen without a single colour. */
    ui_start(f, "d2", "NO_COLOR=1", "--resume", 0);
    wait_for(f, "d2", "RUNNING", s, sizeof(s));
    tmux(f, s, sizeof(s), "capture-pane", "-e", "-p", "-t", "d2", NULL);
    assert_false(has_colour(s));
    assert_non_null(strstr(s, "\033[7m")); /* the title bar is reverse video instead */
    key_until(f, "d2", "q", "quit?");
    keys(f, "d2", "y");
    assert_int_equal(wait_exit(f, "d2"), 1);
    assert_no_sanitizer_report(f);
}

/* ---- (e) Amend through the UI ------------------------------------------- */

static void test_amend(void **state)
{
    struct fixture *f = *state;
    struct testutil_obs t;
    Coachq__V1__Observation *obs[1] = {&t.o};
    struct client_submit_result res;
    struct client_error e;
    struct client *c;
    Coachq__V1__ObservationHistory *h = NULL;
    Coachq__V1__StoredObservation *orig = NULL;
    const Coachq__V1__StoredObservation *v1, *v2;
    char id[UUID_STR_LEN], printed[UUID_STR_LEN], args[128], other_local[700], want[256];
    char s[SCREEN_MAX], line[512];
    uint8_t new_id[UUID_LEN];
    const char *p;

    need_tmux(f);
    testutil_obs_make(&t, "flm.cara", "rep.ida", (int64_t)time(NULL) - 2 * 86400);
    c = testutil_connect(&f->srv, "obs.ann", 0);
    memset(&res, 0, sizeof(res));
    assert_int_equal(client_submit_many(c, obs, 1, &res, NULL, NULL), 0);
    assert_int_equal(res.err.code, COACHQ__V1__CODE__OK);
    assert_int_equal(res.result, COACHQ__V1__ACK__RESULT__RESULT_STORED);
    assert_int_equal(res.version, 1);
    uuid_format(t.id, id);
    snprintf(args, sizeof(args), "amend %s", id);

    /* The amendment opens at the ratings with the stored scores (2 for
     * behaviours 1, 3, 5..., 3 for the others). */
    ui_run(f, "e", "obs.ann", f->local, "", args, 0);
    wait_for(f, "e", "10 of 10 rated", s, sizeof(s));
    line_of(s, 0, line, sizeof(line));
    assert_non_null(strstr(line, "RATING"));
    wait_line(f, "e", 4, "> 1 Collaborative");
    screen(f, "e", s, sizeof(s));
    line_of(s, 4, line, sizeof(line));
    assert_non_null(strstr(line, "2 developing"));

    /* Behaviour 3 goes from 2 to 3; the cursor then moves to 4. */
    keys(f, "e", "j");
    keys(f, "e", "j");
    wait_line(f, "e", 6, "> 3 Consistent framework");
    screen(f, "e", s, sizeof(s));
    line_of(s, 6, line, sizeof(line));
    assert_non_null(strstr(line, "2 developing"));
    key_until(f, "e", "3", "Consistent framework: 3 proficient");
    wait_line(f, "e", 7, "> 4 Buyer's view");
    screen(f, "e", s, sizeof(s));
    line_of(s, 6, line, sizeof(line));
    assert_non_null(strstr(line, "3 proficient"));

    key_until(f, "e", "Enter", "AGREED ACTIONS");
    key_until(f, "e", "Enter", "ready to submit");
    screen(f, "e", s, sizeof(s));
    line_of(s, 0, line, sizeof(line));
    assert_non_null(strstr(line, "REVIEW"));
    assert_non_null(strstr(line, "amendment"));
    key_until(f, "e", "s", "STORED");
    screen(f, "e", s, sizeof(s));
    assert_non_null(strstr(s, "version 2)"));
    keys(f, "e", "Enter");
    assert_int_equal(wait_exit(f, "e"), 0);
    wait_for(f, "e", "stored: ", s, sizeof(s));
    p = strstr(s, "stored: ") + strlen("stored: ");
    snprintf(printed, sizeof(printed), "%.36s", p);
    assert_int_equal(uuid_parse(printed, new_id), 0);
    assert_non_null(strstr(p, ", version 2)"));
    assert_no_sanitizer_report(f);

    /* On the server: the original, superseded, then the amendment under
     * its own id, with only behaviour 3's score changed. */
    assert_int_equal(client_history(c, t.id, &h, &e), 0);
    assert_int_equal(h->n_versions, 2);
    v1 = h->versions[0];
    v2 = h->versions[1];
    assert_true(v1->superseded);
    assert_false(v2->superseded);
    assert_int_equal(v1->version, 1);
    assert_int_equal(v2->version, 2);
    assert_string_equal(v2->observer_id, "obs.ann");
    assert_int_equal(v1->observation->id.len, UUID_LEN);
    assert_memory_equal(v1->observation->id.data, t.id, UUID_LEN);
    assert_int_equal(v2->root_id.len, UUID_LEN);
    assert_memory_equal(v2->root_id.data, t.id, UUID_LEN);
    assert_int_equal(v2->observation->amends.len, UUID_LEN);
    assert_memory_equal(v2->observation->amends.data, t.id, UUID_LEN);
    assert_int_equal(v2->observation->id.len, UUID_LEN);
    assert_memory_not_equal(v2->observation->id.data, t.id, UUID_LEN);
    assert_memory_equal(v2->observation->id.data, new_id, UUID_LEN);
    assert_string_equal(v2->observation->coachee_id, "rep.ida");
    assert_int_equal(v2->observation->started_at, t.o.started_at);
    assert_int_equal(v2->observation->duration_s, t.o.duration_s);
    assert_int_equal(v1->observation->n_ratings, 10);
    assert_int_equal(v2->observation->n_ratings, 10);
    for (size_t i = 0; i < 10; i++) {
        const Coachq__V1__Rating *r1 = v1->observation->ratings[i];
        const Coachq__V1__Rating *r2 = v2->observation->ratings[i];

        assert_string_equal(r1->behaviour_id, testutil_behaviours[i]);
        assert_string_equal(r2->behaviour_id, testutil_behaviours[i]);
        assert_int_equal(r1->score, t.r[i].score);
        assert_int_equal(r2->score, i == 2 ? 3 : t.r[i].score);
        assert_false(r2->not_applicable);
    }
    coachq__v1__observation_history__free_unpacked(h, NULL);
    assert_int_equal(client_get(c, t.id, &orig, &e), 0);
    assert_true(orig->superseded);
    assert_int_equal(orig->version, 1);
    coachq__v1__stored_observation__free_unpacked(orig, NULL);

    /* Another observer may not amend it, nor even read it: the server
     * answers bob as if there were no such record, and the CLI stops
     * before any UI (a UI would wait for keys, and wait_exit() would time
     * out). */
    snprintf(other_local, sizeof(other_local), "%s/bob", f->dir);
    ui_run(f, "e2", "bob", other_local, "", args, 0);
    assert_int_equal(wait_exit(f, "e2"), 1);
    wait_for(f, "e2",
             "coachq amend: NOT_FOUND get.id: no observation with this id that you may read", s,
             sizeof(s));
    /* The enablement lead may read every record, but amending stays its
     * observer's: the CLI's own check refuses. */
    snprintf(other_local, sizeof(other_local), "%s/lead", f->dir);
    ui_run(f, "e3", "lead.gil", other_local, "", args, 0);
    assert_int_equal(wait_exit(f, "e3"), 1);
    wait_for(f, "e3", "only its observer may amend it", s, sizeof(s));
    /* The whole message, its wrapped lines joined. */
    tmux(f, s, sizeof(s), "capture-pane", "-J", "-p", "-t", "e3", NULL);
    snprintf(want, sizeof(want),
             "coachq amend: %s was observed by obs.ann, not by you (lead.gil): only its "
             "observer may amend it",
             id);
    assert_non_null(strstr(s, want));
    assert_no_sanitizer_report(f);
    client_free(c);
}

/* ---- (f) Helpers for full disks and long messages ----------------------- */

/* The screen's text with every row trimmed and the rows joined by one
 * space: a message the UI wrapped over several rows reads as one line
 * again, and a message cut anywhere does not. */
static void joined(const char *scr, char *out, size_t outlen)
{
    size_t o = 0;
    const char *p = scr;

    while (*p != '\0') {
        const char *e = strchr(p, '\n');
        size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
        size_t st = 0;

        while (n > 0 && p[n - 1] == ' ') {
            n--;
        }
        while (st < n && p[st] == ' ') {
            st++;
        }
        if (n > st) {
            if (o > 0 && o + 1 < outlen) {
                out[o++] = ' ';
            }
            for (size_t i = st; i < n && o + 1 < outlen; i++) {
                out[o++] = p[i];
            }
        }
        p = e != NULL ? e + 1 : p + n;
    }
    out[o] = '\0';
}

/* Waits until the joined screen shows text; returns it in out. */
static void wait_joined(struct fixture *f, const char *name, const char *text, char *out,
                        size_t outlen)
{
    int64_t end = wall_ms() + WAIT_MS;
    char s[SCREEN_MAX];

    for (;;) {
        screen(f, name, s, sizeof(s));
        joined(s, out, outlen);
        if (strstr(out, text) != NULL) {
            return;
        }
        if (wall_ms() > end) {
            size_t n = strlen(out);

            /* The end of it: cmocka's message buffer is short. */
            fail_msg("the screen never showed \"%s\" (wrapped or not); it ends with:\n%s", text,
                     out + (n > 700 ? n - 700 : 0));
        }
        testutil_sleep_ms(50);
    }
}

/* Mounts a 1 MiB tmpfs as the client's store directory, or skips the test
 * when this process may not mount (not root). */
static void mount_small(struct fixture *f)
{
    if (geteuid() != 0) {
        print_message("the full-disk cases mount a tmpfs, which needs root: skipped\n");
        skip();
    }
    assert_true(mkdir(f->local, 0700) == 0 || errno == EEXIST);
    if (mount("coachq-test", f->local, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0700") != 0) {
        print_message("cannot mount a tmpfs on %s (%s): skipped\n", f->local, strerror(errno));
        skip();
    }
    f->mounted = 1;
}

/* Holds a read transaction on the client's store from this process. LMDB
 * never reuses a page freed after the oldest reader's snapshot, so once
 * the pages freed before it are used up, every write of the client needs
 * new pages, and a full disk refuses each one (without the reader, LMDB
 * would go on recycling its own pages for a while, and when a write fails
 * would depend on its free list). */
static void hold_reader(struct fixture *f)
{
    assert_int_equal(mdb_env_create(&f->env), 0);
    assert_int_equal(mdb_env_set_maxdbs(f->env, 4), 0);
    assert_int_equal(mdb_env_open(f->env, f->local, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(f->env, NULL, MDB_RDONLY, &f->rd), 0);
}

/* Fills the small disk with a file until the file system says ENOSPC. */
static void fill_disk(struct fixture *f)
{
    char path[700], buf[4096];
    int fd;
    ssize_t n;

    memset(buf, 'x', sizeof(buf));
    snprintf(path, sizeof(path), "%s/filler", f->local);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    do {
        n = write(fd, buf, sizeof(buf));
    } while (n == (ssize_t)sizeof(buf));
    if (n >= 0) {
        n = write(fd, buf, sizeof(buf));
    }
    assert_true(n < 0 && errno == ENOSPC);
    close(fd);
}

/* Frees the disk again: the filler goes, and so does the reader. */
static void free_disk(struct fixture *f)
{
    char path[700];

    snprintf(path, sizeof(path), "%s/filler", f->local);
    assert_int_equal(unlink(path), 0);
    mdb_txn_abort(f->rd);
    f->rd = NULL;
    mdb_env_close(f->env);
    f->env = NULL;
}

/* Whether the pane's coachq (started without direct) is still running. */
static int still_running(struct fixture *f, const char *name)
{
    char path[700];

    snprintf(path, sizeof(path), "%s/status-%s", f->dir, name);
    return access(path, F_OK) != 0;
}

/* ---- (f) A full disk with the server down -------------------------------- */

/* Issue 10, point 17: with a full disk and the server down, `s` said
 * nothing, `q` claimed "the session is saved" next to a NOT SAVED line,
 * and the ratings and evidence typed meanwhile were lost. Now: the journal
 * failure shows on every screen, `s` says it was neither sent nor queued,
 * quitting takes the word "discard", everything stays in memory and is
 * journaled as soon as there is space again. */
static void test_full_disk_offline(void **state)
{
    /* Evidence for 1 and 4: seven 4s and a 1, each with a note. */
    static const uint32_t scores[10] = {4, 4, 4, 4, 4, 4, 4, 1, 3, 3};
    struct fixture *f = *state;
    Coachq__V1__LocalSession *saved;
    char s[SCREEN_MAX], j[SCREEN_MAX], want[64];
    size_t n_markers = 1;

    need_tmux(f);
    mount_small(f);
    ui_start(f, "f", "", PRESET, 0);
    wait_for(f, "f", "RUNNING", s, sizeof(s));
    mark(f, "f", "o", 1);
    hold_reader(f);
    /* Saves after the reader use up the pages LMDB may still reuse. */
    while (n_markers < 6) {
        mark(f, "f", "d", ++n_markers);
    }
    fill_disk(f);
    /* Markers go on being counted while the disk refuses them. */
    for (int i = 0; i < 20; i++) {
        mark(f, "f", "e", ++n_markers);
        screen(f, "f", s, sizeof(s));
        if (strstr(s, "NOT SAVED to disk") != NULL) {
            break;
        }
    }
    wait_joined(f, "f",
                "NOT SAVED to disk (No space left on device): kept in memory only; retrying", j,
                sizeof(j));

    key_until(f, "f", "Enter", "RATING");
    for (size_t i = 0; i < 10; i++) {
        char k[2] = {(char)('0' + scores[i]), '\0'};
        char note[32];

        keys(f, "f", k);
        if (scores[i] == 1 || scores[i] == 4) {
            wait_for(f, "f", "Evidence for ", s, sizeof(s));
            snprintf(note, sizeof(note), "seen on disk full %zu", i);
            text(f, "f", note);
            keys(f, "f", "Enter");
        }
        snprintf(want, sizeof(want), "%zu of 10 rated", i + 1);
        wait_for(f, "f", want, s, sizeof(s));
    }
    key_until(f, "f", "Enter", "AGREED ACTIONS");
    key_until(f, "f", "Enter", "ready to submit");
    wait_joined(f, "f", "NOT SAVED to disk (", j, sizeof(j));

    /* The server goes away; s says what became of the observation. */
    assert_int_equal(testutil_server_stop(&f->srv, SIGKILL) != -1, 1);
    keys(f, "f", "s");
    wait_joined(f, "f", "NOT QUEUED: the outbox could not be written (", j, sizeof(j));
    assert_non_null(strstr(j, "NOT SENT: cannot connect to 127.0.0.1:"));
    assert_non_null(strstr(j, "(is coachqd running there? check --server). NOT QUEUED"));
    assert_non_null(strstr(j, "All is kept in memory; s tries again."));
    assert_non_null(strstr(j, "NOT SAVED to disk ("));

    /* q does not claim what is not true, and y does not quit. */
    keys(f, "f", "q");
    wait_joined(f, "f", "not saved: type discard, Enter to quit and lose it; Esc stays:", j,
                sizeof(j));
    assert_null(strstr(j, "is saved"));
    keys(f, "f", "y");
    wait_for(f, "f", "Esc stays: y_", s, sizeof(s));
    keys(f, "f", "Enter");
    wait_joined(f, "f", "not quit: type discard exactly to quit without saving", j, sizeof(j));
    key_until(f, "f", "q", "Esc stays: _");
    keys(f, "f", "Escape");
    wait_joined(f, "f", "not quit: all is kept in memory; free disk space, or s submits it", j,
                sizeof(j));
    testutil_sleep_ms(300);
    assert_true(still_running(f, "f"));

    /* Space again: the next try journals everything, unasked. */
    free_disk(f);
    wait_joined(f, "f", "saved again: everything typed is on disk now", j, sizeof(j));
    assert_null(strstr(j, "NOT SAVED"));
    key_until(f, "f", "q", "quit? the session is saved");
    keys(f, "f", "y");
    assert_int_equal(wait_exit(f, "f"), 1);
    wait_for(f, "f", "quit: the session is saved", s, sizeof(s));

    /* Nothing typed while the disk was full is lost. */
    saved = saved_session(f);
    assert_int_equal(saved->phase, 5);
    assert_int_equal(saved->draft->n_markers, n_markers);
    assert_int_equal(saved->draft->n_ratings, 10);
    for (size_t i = 0; i < 10; i++) {
        char note[32];

        snprintf(note, sizeof(note), "seen on disk full %zu", i);
        assert_int_equal(saved->draft->ratings[i]->score, scores[i]);
        assert_string_equal(saved->draft->ratings[i]->evidence, i < 8 ? note : "");
    }
    coachq__v1__local_session__free_unpacked(saved, NULL);

    /* --resume brings it all back. */
    ui_start(f, "f2", "", "--resume", 0);
    wait_for(f, "f2", "Evidence 8 notes", s, sizeof(s));
    assert_non_null(strstr(s, "ready to submit"));

    /* The disk fills again: quitting then takes the word, and says what
     * it costs. */
    hold_reader(f);
    for (int i = 0; i < 6; i++) {
        key_until(f, "f2", "r", "RATING");
        key_until(f, "f2", "Enter", "AGREED ACTIONS");
        key_until(f, "f2", "Enter", "REVIEW");
    }
    fill_disk(f);
    key_until(f, "f2", "n", "Session note");
    text(f, "f2", "this note is never saved");
    keys(f, "f2", "Enter");
    wait_joined(f, "f2", "NOT SAVED to disk (", j, sizeof(j));
    key_until(f, "f2", "q", "Esc stays: _");
    text(f, "f2", "discard");
    wait_for(f, "f2", "Esc stays: discard_", s, sizeof(s));
    keys(f, "f2", "Enter");
    assert_int_equal(wait_exit(f, "f2"), 3);
    wait_joined(f, "f2", "discarded: the session could not be saved (", j, sizeof(j));
    free_disk(f);
    saved = saved_session(f);
    assert_string_equal(saved->draft->notes, "");
    assert_int_equal(saved->draft->n_ratings, 10);
    assert_string_equal(saved->draft->ratings[7]->evidence, "seen on disk full 7");
    coachq__v1__local_session__free_unpacked(saved, NULL);
    assert_no_sanitizer_report(f);
}

/* ---- (g) Stored, but the saved copy stays behind ------------------------ */

/* Issue 10, point 16: with a full disk, `s` said STORED and left the saved
 * session behind; --resume brought back that older state with the same id,
 * which the server refused as ALREADY_EXISTS, with no way out. Now the
 * STORED screen says the copy stays behind, and a resume finds the id on
 * the server and offers: discard the copy, keep it, or submit it as an
 * amendment. */
static void test_full_disk_stored(void **state)
{
    struct fixture *f = *state;
    Coachq__V1__LocalSession *stale;
    Coachq__V1__StoredObservation *rec;
    Coachq__V1__ObservationHistory *h = NULL;
    struct client_error e;
    struct client *c;
    struct localstore *ls = NULL;
    Coachq__V1__LocalSession *none = NULL;
    char s[SCREEN_MAX], j[SCREEN_MAX], id[UUID_STR_LEN], want[128], err[512];

    need_tmux(f);
    mount_small(f);
    ui_start(f, "g", "", PRESET, 0);
    wait_for(f, "g", "RUNNING", s, sizeof(s));
    mark(f, "g", "o", 1);
    key_until(f, "g", "Enter", "RATING");
    for (int i = 0; i < 10; i++) {
        keys(f, "g", "3");
    }
    wait_for(f, "g", "10 of 10 rated", s, sizeof(s));
    key_until(f, "g", "Enter", "AGREED ACTIONS");
    key_until(f, "g", "Enter", "ready to submit");

    /* Journaled at review with every score 3; then the disk fills and
     * the first score changes to 2 in memory only. */
    hold_reader(f);
    key_until(f, "g", "r", "RATING");
    for (int i = 0; i < 3; i++) {
        keys(f, "g", "j");
        wait_line(f, "g", 5, "> 2 ");
        keys(f, "g", "k");
        wait_line(f, "g", 4, "> 1 ");
    }
    fill_disk(f);
    key_until(f, "g", "2", "Collaborative: 2 developing");
    wait_joined(f, "g", "NOT SAVED to disk (", j, sizeof(j));
    key_until(f, "g", "Enter", "AGREED ACTIONS");
    key_until(f, "g", "Enter", "ready to submit");
    key_until(f, "g", "s", "STORED");
    wait_joined(f, "g",
                "The older copy saved on this machine could not be removed yet; a later coachq "
                "observe --resume finds it stored and offers to discard it.",
                j, sizeof(j));
    keys(f, "g", "Enter");
    assert_int_equal(wait_exit(f, "g"), 0);
    wait_joined(f, "g", "the older copy saved on this machine could not be removed (", j,
                sizeof(j));
    free_disk(f);

    /* What was left behind: the older state under the stored id. */
    stale = saved_session(f);
    rec = the_stored(f);
    assert_memory_equal(stale->draft->id.data, rec->observation->id.data, UUID_LEN);
    assert_int_equal(stale->draft->ratings[0]->score, 3);
    assert_int_equal(rec->observation->ratings[0]->score, 2);
    uuid_format(rec->observation->id.data, id);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    coachq__v1__local_session__free_unpacked(stale, NULL);

    /* --resume names what happened and the ways out. */
    ui_start(f, "g2", "", "--resume", 0);
    snprintf(want, sizeof(want), "The server already has observation %s (version 1, stored", id);
    wait_joined(f, "g2", want, j, sizeof(j));
    assert_non_null(strstr(j, "On the server:   10 rated, 0 evidence notes, 1 marker, 0 actions"));
    assert_non_null(strstr(j, "On this machine: 10 rated, 0 evidence notes, 1 marker, 0 actions"));
    assert_non_null(strstr(j, "d  discard the copy on this machine"));
    assert_non_null(strstr(j, "a  submit this copy as an amendment"));
    /* Keep it: s meets the same choices again, from the server's refusal. */
    key_until(f, "g2", "k", "kept this copy");
    /* It was saved in the ratings (the disk filled there). */
    key_until(f, "g2", "Enter", "AGREED ACTIONS");
    key_until(f, "g2", "Enter", "ready to submit");
    keys(f, "g2", "s");
    wait_joined(f, "g2", want, j, sizeof(j));
    key_until(f, "g2", "d", "discard the copy on this machine for good? (y/n)");
    keys(f, "g2", "n");
    testutil_sleep_ms(300);
    screen(f, "g2", s, sizeof(s));
    assert_null(strstr(s, "for good?"));
    assert_non_null(strstr(s, "On this machine"));
    /* Amend: the copy becomes version 2 of the stored observation. */
    key_until(f, "g2", "a", "now amends");
    screen(f, "g2", s, sizeof(s));
    assert_non_null(strstr(s, "amendment"));
    key_until(f, "g2", "s", "STORED");
    wait_for(f, "g2", "version 2)", s, sizeof(s));
    keys(f, "g2", "Enter");
    assert_int_equal(wait_exit(f, "g2"), 0);
    assert_no_sanitizer_report(f);

    c = testutil_connect(&f->srv, "obs.ann", 0);
    {
        uint8_t raw[UUID_LEN];

        assert_int_equal(uuid_parse(id, raw), 0);
        assert_int_equal(client_history(c, raw, &h, &e), 0);
    }
    assert_int_equal(h->n_versions, 2);
    assert_int_equal(h->versions[0]->observation->ratings[0]->score, 2);
    assert_int_equal(h->versions[1]->observation->ratings[0]->score, 3);
    coachq__v1__observation_history__free_unpacked(h, NULL);
    client_free(c);
    assert_int_equal(localstore_open(f->local, &ls, err, sizeof(err)), 0);
    assert_int_equal(localstore_session_load(ls, &none), -ENOENT);
    localstore_close(ls);
}

/* ---- (h) A resumed copy the server has ----------------------------------- */

/* Saves obs as the session in progress, at the review. */
static void save_as_session(struct fixture *f, Coachq__V1__Observation *obs)
{
    Coachq__V1__LocalSession ls_s = COACHQ__V1__LOCAL_SESSION__INIT;
    struct localstore *ls = NULL;
    char err[512];

    ls_s.draft = obs;
    ls_s.phase = 5;
    ls_s.elapsed_ms = (uint64_t)obs->duration_s * 1000u;
    assert_int_equal(localstore_open(f->local, &ls, err, sizeof(err)), 0);
    assert_int_equal(localstore_session_save(ls, &ls_s), 0);
    localstore_close(ls);
}

/* The same content: it is stored, said so, and the copy goes. Other
 * content: 'd' discards the copy after a confirmation, and the server's
 * record stays as it was. */
static void test_resume_stored(void **state)
{
    struct fixture *f = *state;
    struct testutil_obs t;
    Coachq__V1__Observation *obs[1] = {&t.o};
    struct client_submit_result res;
    struct client *c;
    struct localstore *ls = NULL;
    Coachq__V1__LocalSession *none = NULL;
    Coachq__V1__StoredObservation *rec;
    char s[SCREEN_MAX], j[SCREEN_MAX], err[512];

    need_tmux(f);
    testutil_obs_make(&t, "flm.cara", "rep.ida", (int64_t)time(NULL) - 86400);
    c = testutil_connect(&f->srv, "obs.ann", 0);
    memset(&res, 0, sizeof(res));
    assert_int_equal(client_submit_many(c, obs, 1, &res, NULL, NULL), 0);
    assert_int_equal(res.result, COACHQ__V1__ACK__RESULT__RESULT_STORED);
    client_free(c);

    save_as_session(f, &t.o);
    ui_start(f, "h", "", "--resume", 0);
    wait_joined(f, "h", "ALREADY STORED: the server had this observation already", j, sizeof(j));
    keys(f, "h", "Enter");
    assert_int_equal(wait_exit(f, "h"), 0);
    wait_for(f, "h", "already stored: ", s, sizeof(s));
    assert_int_equal(localstore_open(f->local, &ls, err, sizeof(err)), 0);
    assert_int_equal(localstore_session_load(ls, &none), -ENOENT);
    localstore_close(ls);

    t.r[1].score = 2;
    save_as_session(f, &t.o);
    ui_start(f, "h2", "", "--resume", 0);
    wait_joined(f, "h2", "On this machine: 10 rated", j, sizeof(j));
    key_until(f, "h2", "d", "for good? (y/n)");
    keys(f, "h2", "y");
    assert_int_equal(wait_exit(f, "h2"), 0);
    wait_joined(f, "h2", "discarded the copy on this machine; the server keeps ", j, sizeof(j));
    assert_int_equal(localstore_open(f->local, &ls, err, sizeof(err)), 0);
    assert_int_equal(localstore_session_load(ls, &none), -ENOENT);
    localstore_close(ls);
    rec = the_stored(f);
    assert_int_equal(rec->observation->ratings[1]->score, 3);
    assert_int_equal(rec->version, 1);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    assert_no_sanitizer_report(f);
}

/* ---- (i) A disabled user -------------------------------------------------- */

/* Issue 10, point 18: a disabled user read as "server unreachable". The
 * screen now names the server's refusal, at submit and at start-up. */
static void test_disabled_user(void **state)
{
    struct fixture *f = *state;
    char s[SCREEN_MAX], j[SCREEN_MAX], out[4096];

    need_tmux(f);
    ui_start(f, "i", "", PRESET, 0);
    wait_for(f, "i", "RUNNING", s, sizeof(s));
    key_until(f, "i", "Enter", "RATING");
    for (int i = 0; i < 10; i++) {
        keys(f, "i", "3");
    }
    wait_for(f, "i", "10 of 10 rated", s, sizeof(s));
    key_until(f, "i", "Enter", "AGREED ACTIONS");
    key_until(f, "i", "Enter", "ready to submit");
    testutil_coachqd(out, sizeof(out), 0, "user", "disable", "--data", f->data, "obs.ann", NULL);
    keys(f, "i", "s");
    wait_joined(f, "i",
                "QUEUED: the server refused you (the server refused you: user 'obs.ann' is "
                "disabled (PERMISSION_DENIED)).",
                j, sizeof(j));
    assert_null(strstr(j, "could not be reached"));
    keys(f, "i", "Enter");
    assert_int_equal(wait_exit(f, "i"), 0);

    /* At start-up: the session starts from the caches, and says why it is
     * not connected. */
    ui_start(f, "i2", "", PRESET, 0);
    wait_joined(f, "i2",
                "not connected: the server refused you: user 'obs.ann' is disabled "
                "(PERMISSION_DENIED)",
                j, sizeof(j));
    assert_null(strstr(j, "offline"));
    key_until(f, "i2", "q", "quit?");
    keys(f, "i2", "y");
    assert_int_equal(wait_exit(f, "i2"), 1);
    assert_no_sanitizer_report(f);
}

/* ---- (j) Messages that fit ----------------------------------------------- */

/* The rows a message needs in the UI's footer, wrapped at width columns
 * (ASCII: one byte, one column), as the UI's word wrap does it. */
static int rows_needed(const char *m, int width)
{
    size_t n = strlen(m), i = 0;
    int rows = 0;

    while (i < n) {
        size_t start, brk = 0, e;

        while (i < n && m[i] == ' ') {
            i++;
        }
        if (i >= n) {
            break;
        }
        start = i;
        e = i;
        while (e < n && (int)(e - start) < width) {
            if (m[e] == ' ') {
                brk = e;
            }
            e++;
        }
        if (e < n && brk > start) {
            e = brk;
        }
        rows++;
        i = e;
    }
    return rows;
}

/* The sources of the observe UI (client/observe.c, observe_draw.c,
 * observe_keys.c and the session model, session.c), one after the other,
 * read from next to this test (caller frees), or NULL when they are not
 * there. */
static char *read_ui_sources(void)
{
    static const char *const files[] = {"observe.c", "observe_draw.c", "observe_keys.c",
                                        "session.c"};
    const char *slash = strrchr(__FILE__, '/');
    char path[1024], *src = NULL;
    size_t total = 0;

    assert_non_null(slash);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        FILE *fp;
        long len;

        snprintf(path, sizeof(path), "%.*s/../client/%s", (int)(slash - __FILE__), __FILE__,
                 files[i]);
        fp = fopen(path, "r");
        if (fp == NULL) {
            print_message("%s not found next to the test: the message table is not checked\n",
                          path);
            free(src);
            return NULL;
        }
        fseek(fp, 0, SEEK_END);
        len = ftell(fp);
        fseek(fp, 0, SEEK_SET);
        src = realloc(src, total + (size_t)len + 1);
        assert_non_null(src);
        assert_int_equal(fread(src + total, 1, (size_t)len, fp), (size_t)len);
        total += (size_t)len;
        src[total] = '\0';
        fclose(fp);
    }
    return src;
}

/* Every say() format of the observe UI (session_say(ses, ...) in the
 * session model, session_say(ui->ses, ...) in the keys), its arguments at
 * their worst (an id or a server message of 120 characters, numbers of 10
 * digits), fits in the footer's rows: the footer wraps at 78 columns in
 * 80x24, up to 10 rows, one of them kept for the journal's warning; and
 * every question on the one modal row fits in 78 columns. Read from the
 * sources next to this test, so that a new message is checked too. */
static void check_message_table(void)
{
    static const char *const calls[] = {"say(ses, ", "say(ui->ses, "};
    char *src, *p;
    int n_say = 0, n_modal = 0;

    src = read_ui_sources();
    if (src == NULL) {
        return;
    }
    for (size_t c = 0; c < sizeof(calls) / sizeof(calls[0]); c++) {
        for (p = src; (p = strstr(p, calls[c])) != NULL; p++) {
            char fmt[2048], worst[4096];
            size_t o = 0, w = 0;
            const char *q = p + strlen(calls[c]);

            /* The literals concatenated, up to the first argument. */
            while (*q != '\0' && *q != ')') {
                if (*q == '"') {
                    for (q++; *q != '\0' && *q != '"'; q++) {
                        if (*q == '\\') {
                            q++;
                        }
                        if (o + 1 < sizeof(fmt)) {
                            fmt[o++] = *q;
                        }
                    }
                    q++;
                    continue;
                }
                if (*q == ',' && o > 0) {
                    break;
                }
                q++;
            }
            fmt[o] = '\0';
            if (o == 0 || strcmp(fmt, "%s") == 0) {
                continue; /* say(ui, warn, fmt, ...) itself, or a problem already checked */
            }
            for (size_t i = 0; fmt[i] != '\0' && w + 130 < sizeof(worst); i++) {
                if (fmt[i] != '%') {
                    worst[w++] = fmt[i];
                    continue;
                }
                i++;
                while (fmt[i] == 'l' || fmt[i] == 'z' || (fmt[i] >= '0' && fmt[i] <= '9')) {
                    i++;
                }
                if (fmt[i] == 's') {
                    for (int k = 0; k < 120; k++) {
                        worst[w++] = k % 12 == 11 ? ' ' : 'w';
                    }
                } else if (fmt[i] == '%') {
                    worst[w++] = '%';
                } else {
                    memcpy(worst + w, "4294967295", 10);
                    w += 10;
                }
            }
            worst[w] = '\0';
            if (rows_needed(worst, 78) > 9) {
                fail_msg("a status message needs %d rows at 80x24: \"%s\"", rows_needed(worst, 78),
                         fmt);
            }
            n_say++;
        }
    }
    /* The questions on the modal row: "q = ..." and each "quit? ...". */
    for (p = src; (p = strstr(p, "\"")) != NULL; p++) {
        const char *e = strchr(p + 1, '"');
        int modal = strncmp(p + 1, "quit? ", 6) == 0;

        for (const char *b = p - 1; b > src && b > p - 8 && !modal; b--) {
            modal = strncmp(b, "q = ", 4) == 0;
        }
        if (e == NULL) {
            break;
        }
        if (modal && (int)(e - (p + 1)) > 78) {
            fail_msg("a modal question is longer than 78 columns: %.*s", (int)(e - (p + 1)), p + 1);
        }
        n_modal += modal;
        p = (char *)e;
    }
    /* The discard question, with the most that can be typed (11 characters). */
    p = strstr(src, "\"not saved: type %s, Enter to quit and lose it; Esc stays: %s_\"");
    assert_non_null(p);
    assert_true(strlen("not saved: type discard, Enter to quit and lose it; Esc stays: _") + 11 <=
                78);
    free(src);
    /* The scan found the table (a rewrite of say() must update this test). */
    assert_true(n_say > 30);
    assert_true(n_modal >= 3);
}

/* Issue 10, point 18: status lines were cut at 80x24 ("...say what you sa",
 * "(is coachqd runn"). Every message now fits or wraps, and the whole of
 * each shows. */
static void test_messages_fit(void **state)
{
    struct fixture *f = *state;
    char s[SCREEN_MAX], j[SCREEN_MAX], want[256];

    check_message_table();
    need_tmux(f);
    ui_start(f, "j", "", PRESET, 0);
    wait_for(f, "j", "RUNNING", s, sizeof(s));
    key_until(f, "j", "Enter", "RATING");
    for (int i = 0; i < 10; i++) {
        keys(f, "j", i == 5 ? "4" : "3");
        if (i == 5) {
            wait_for(f, "j", "Evidence for Elicits critical thinking", s, sizeof(s));
            key_until(f, "j", "Escape", "not changed");
        }
    }
    wait_for(f, "j", "10 of 10 rated", s, sizeof(s));
    keys(f, "j", "Enter");
    wait_joined(f, "j",
                "Elicits critical thinking needs evidence for a score of 4: press v and say what "
                "you saw",
                j, sizeof(j));
    key_until(f, "j", "q", "quit?");
    keys(f, "j", "y");
    assert_int_equal(wait_exit(f, "j"), 1);

    /* The server is down: the whole reason shows, wrapped. */
    snprintf(want, sizeof(want),
             "offline: cannot connect to 127.0.0.1:%d: Connection refused (is coachqd running "
             "there? check --server)",
             f->srv.port);
    assert_true(testutil_server_stop(&f->srv, SIGKILL) != -1);
    ui_start(f, "j2", "", "--resume", 0);
    wait_joined(f, "j2", want, j, sizeof(j));
    key_until(f, "j2", "q", "quit?");
    keys(f, "j2", "y");
    assert_int_equal(wait_exit(f, "j2"), 1);
    assert_no_sanitizer_report(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_complete_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evidence_required, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_amend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk_offline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disabled_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_messages_fit, setup, teardown),
    };

    /* COACHQ_TEST_FILTER=test_amend runs the matching cases only. */
    if (getenv("COACHQ_TEST_FILTER") != NULL) {
        cmocka_set_test_filter(getenv("COACHQ_TEST_FILTER"));
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
