/*
 * tmuxutil: see tmuxutil.h. Runs tmux and coachq as child processes.
 */
#include "tmuxutil.h"

#include <errno.h>
#include <setjmp.h>
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
#include <sys/mount.h>

#include <lmdb.h>

#include <cmocka.h>

#include "client.h"
#include "localstore.h"
#include "uuid.h"

#define WATCHDOG_SECONDS 280

int64_t tmuxutil_wall_ms(void)
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

void tmuxutil_tmux(struct tmuxutil *f, char *out, size_t outlen, ...)
{
    const char *argv[24];
    char buf[TMUXUTIL_SCREEN_MAX];
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

void tmuxutil_ui_run(struct tmuxutil *f, const char *name, const char *user, const char *local,
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
    tmuxutil_tmux(f, NULL, 0, "new-session", "-d", "-s", name, "-x", "80", "-y", "24", cmd, NULL);
    f->tmux_started = 1;
}

void tmuxutil_ui_start(struct tmuxutil *f, const char *name, const char *env, const char *args,
                       int direct)
{
    char cmd[1024];

    snprintf(cmd, sizeof(cmd), "observe %s", args);
    tmuxutil_ui_run(f, name, "obs.ann", f->local, env, cmd, direct);
}

void tmuxutil_screen(struct tmuxutil *f, const char *name, char *out, size_t outlen)
{
    tmuxutil_tmux(f, out, outlen, "capture-pane", "-p", "-t", name, NULL);
}

void tmuxutil_wait_for(struct tmuxutil *f, const char *name, const char *text, char *out,
                       size_t outlen)
{
    int64_t end = tmuxutil_wall_ms() + TMUXUTIL_WAIT_MS;

    for (;;) {
        tmuxutil_screen(f, name, out, outlen);
        if (strstr(out, text) != NULL) {
            return;
        }
        if (tmuxutil_wall_ms() > end) {
            fail_msg("the screen never showed \"%s\"; it shows:\n%s", text, out);
        }
        testutil_sleep_ms(50);
    }
}

void tmuxutil_keys(struct tmuxutil *f, const char *name, const char *k)
{
    tmuxutil_tmux(f, NULL, 0, "send-keys", "-t", name, k, NULL);
}

void tmuxutil_text(struct tmuxutil *f, const char *name, const char *t)
{
    tmuxutil_tmux(f, NULL, 0, "send-keys", "-t", name, "-l", t, NULL);
}

void tmuxutil_key_until(struct tmuxutil *f, const char *name, const char *k, const char *until)
{
    char s[TMUXUTIL_SCREEN_MAX];

    tmuxutil_keys(f, name, k);
    tmuxutil_wait_for(f, name, until, s, sizeof(s));
}

void tmuxutil_end_live(struct tmuxutil *f, const char *name)
{
    char s[TMUXUTIL_SCREEN_MAX];

    tmuxutil_keys(f, name, "Enter");
    tmuxutil_wait_joined(f, name, "end the live phase and rate?", s, sizeof(s));
    tmuxutil_keys(f, name, "Enter");
    tmuxutil_wait_for(f, name, "RATING", s, sizeof(s));
}

void tmuxutil_pane_state(struct tmuxutil *f, const char *name, int *dead, int *status, long *pid)
{
    char out[256];
    char *end;

    tmuxutil_tmux(f, out, sizeof(out), "list-panes", "-t", name, "-F",
                  "#{pane_dead}:#{pane_dead_status}:#{pane_pid}", NULL);
    /* The status is empty while the pane lives. */
    *dead = (int)strtol(out, &end, 10);
    *status = *end == ':' ? (int)strtol(end + 1, &end, 10) : -1;
    *pid = *end == ':' ? strtol(end + 1, &end, 10) : -1;
}

int tmuxutil_wait_exit(struct tmuxutil *f, const char *name)
{
    int64_t end = tmuxutil_wall_ms() + TMUXUTIL_WAIT_MS;
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
        if (tmuxutil_wall_ms() > end) {
            char s[TMUXUTIL_SCREEN_MAX];

            tmuxutil_screen(f, name, s, sizeof(s));
            fail_msg("coachq did not exit; the screen shows:\n%s", s);
        }
        testutil_sleep_ms(50);
    }
}

void tmuxutil_assert_no_sanitizer_report(struct tmuxutil *f)
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

int tmuxutil_setup(void **state)
{
    struct tmuxutil *f = calloc(1, sizeof(*f));
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

int tmuxutil_teardown(void **state)
{
    struct tmuxutil *f = *state;
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

void tmuxutil_need_tmux(const struct tmuxutil *f)
{
    if (!f->have_tmux) {
        print_message("tmux is not installed: the UI tests need it (apt-get install tmux)\n");
        skip();
    }
}

Coachq__V1__StoredObservation *tmuxutil_the_stored(struct tmuxutil *f)
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

Coachq__V1__LocalSession *tmuxutil_saved_session(struct tmuxutil *f)
{
    struct localstore *ls = NULL;
    Coachq__V1__LocalSession *s = NULL;
    char err[512];

    assert_int_equal(localstore_open(f->local, &ls, err, sizeof(err)), 0);
    assert_int_equal(localstore_session_load(ls, &s), 0);
    localstore_close(ls);
    return s;
}

void tmuxutil_wait_markers(struct tmuxutil *f, const char *name, size_t n)
{
    char want[64], s[TMUXUTIL_SCREEN_MAX];

    snprintf(want, sizeof(want), "Markers in all: %zu\n", n);
    tmuxutil_wait_for(f, name, want, s, sizeof(s));
}

void tmuxutil_mark(struct tmuxutil *f, const char *name, const char *k, size_t n_after)
{
    tmuxutil_keys(f, name, k);
    tmuxutil_wait_markers(f, name, n_after);
}

void tmuxutil_line_of(const char *scr, int n, char *out, size_t outlen)
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

void tmuxutil_wait_line(struct tmuxutil *f, const char *name, int n, const char *want)
{
    int64_t end = tmuxutil_wall_ms() + TMUXUTIL_WAIT_MS;
    char s[TMUXUTIL_SCREEN_MAX], line[512];

    for (;;) {
        tmuxutil_screen(f, name, s, sizeof(s));
        tmuxutil_line_of(s, n, line, sizeof(line));
        if (strstr(line, want) != NULL) {
            return;
        }
        if (tmuxutil_wall_ms() > end) {
            fail_msg("line %d never showed \"%s\"; the screen is:\n%s", n, want, s);
        }
        testutil_sleep_ms(50);
    }
}

void tmuxutil_joined(const char *scr, char *out, size_t outlen)
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

void tmuxutil_wait_joined(struct tmuxutil *f, const char *name, const char *text, char *out,
                          size_t outlen)
{
    int64_t end = tmuxutil_wall_ms() + TMUXUTIL_WAIT_MS;
    char s[TMUXUTIL_SCREEN_MAX];

    for (;;) {
        tmuxutil_screen(f, name, s, sizeof(s));
        tmuxutil_joined(s, out, outlen);
        if (strstr(out, text) != NULL) {
            return;
        }
        if (tmuxutil_wall_ms() > end) {
            size_t n = strlen(out);

            /* The end of it: cmocka's message buffer is short. */
            fail_msg("the screen never showed \"%s\" (wrapped or not); it ends with:\n%s", text,
                     out + (n > 700 ? n - 700 : 0));
        }
        testutil_sleep_ms(50);
    }
}

void tmuxutil_test_filter(void)
{
    if (getenv("COACHQ_TEST_FILTER") != NULL) {
        cmocka_set_test_filter(getenv("COACHQ_TEST_FILTER"));
    }
}
