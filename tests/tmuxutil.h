/*
 * tmuxutil: the observe UI's tests driven through tmux, shared by
 * test_observe and test_observe_journal.
 *
 * The fixture (struct tmuxutil) is a temporary directory, a detached tmux
 * server of its own (its own socket and config file, so no user tmux is
 * touched; panes stay after their process exits, for the exit status) and
 * a real coachqd serving a seeded organisation. The helpers run the real
 * `coachq` binary ($COACHQ) in a tmux session, type keys with `tmux
 * send-keys`, and poll the screen with `tmux capture-pane` until the
 * expected text shows, with a deadline (TMUXUTIL_WAIT_MS). Under the
 * sanitizers every coachq run writes any report to a file that
 * tmuxutil_assert_no_sanitizer_report() reads.
 *
 * Like testutil, the helpers fail the running cmocka test rather than
 * return an error. Strings passed in are borrowed for the call; out
 * buffers are the caller's. Single-threaded: the test's main thread.
 */
#ifndef COACHQ_TMUXUTIL_H
#define COACHQ_TMUXUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "coachq.pb-c.h"
#include "testutil.h"

struct MDB_env;
struct MDB_txn;

/* How long a wait for the screen (or an exit) lasts before it fails. */
#define TMUXUTIL_WAIT_MS 15000
/* A buffer for one captured screen. */
#define TMUXUTIL_SCREEN_MAX 16384

/* The fixture; made by tmuxutil_setup(), freed by tmuxutil_teardown(). */
struct tmuxutil {
    char dir[512];
    char data[600];  /* the server's */
    char local[600]; /* the client's local store */
    char sock[600];
    char conf[600];
    char asan[600];
    int have_tmux;
    int tmux_started;
    int mounted;         /* a small tmpfs is mounted on local */
    struct MDB_env *env; /* a reader on the client's store (test_observe_journal) */
    struct MDB_txn *rd;
    struct testutil_server srv;
};

/* The setup choices that skip the pickers of `coachq observe`. */
#define TMUXUTIL_PRESET                                                                            \
    "--rubric coaching-conversation --coach flm.cara --coachee rep.ida --type deal_review "        \
    "--focus process"

/* The wall clock in ms since the epoch. */
int64_t tmuxutil_wall_ms(void);

/* Runs tmux on the fixture's own server with up to 16 arguments; fails
 * the test unless it exits 0. */
void tmuxutil_tmux(struct tmuxutil *f, char *out, size_t outlen, ...);

/* Starts coachq with args (a command and its arguments, shell-quoted) in a
 * new tmux session called name, 80x24, as user (a certificate in the test
 * certificates' users/), with local as its COACHQ_DATA_DIR. env is extra
 * "K=V " text for its environment (may be ""). With direct, the pane runs
 * coachq itself (exec), so the pane's pid is coachq's; otherwise a shell
 * runs it and writes its exit status to a file for tmuxutil_wait_exit(), then
 * lingers a moment so that tmux reads everything coachq printed before the
 * pane dies (tmux's own pane_dead_status is not reliable: it races with the
 * end of the output). */
void tmuxutil_ui_run(struct tmuxutil *f, const char *name, const char *user, const char *local,
                     const char *env, const char *args, int direct);

/* Starts coachq observe with args as obs.ann with the fixture's local
 * store: tmuxutil_ui_run() for the observe cases. */
void tmuxutil_ui_start(struct tmuxutil *f, const char *name, const char *env, const char *args,
                       int direct);

/* The text of session name's pane now (capture-pane -p) into out. */
void tmuxutil_screen(struct tmuxutil *f, const char *name, char *out, size_t outlen);

/* Waits until the screen shows text; fails with the screen if it does
 * not within TMUXUTIL_WAIT_MS. Returns with the screen in out. */
void tmuxutil_wait_for(struct tmuxutil *f, const char *name, const char *text, char *out,
                       size_t outlen);

/* Sends k (a tmux key name, e.g. "Enter", "C-c", "q") to session name. */
void tmuxutil_keys(struct tmuxutil *f, const char *name, const char *k);

/* Types t literally (send-keys -l) into session name. */
void tmuxutil_text(struct tmuxutil *f, const char *name, const char *t);

/* Types one key and waits for its effect on screen. */
void tmuxutil_key_until(struct tmuxutil *f, const char *name, const char *k, const char *until);

/* Ends the live phase: Enter, which asks first, and Enter again; waits
 * for the rating phase. */
void tmuxutil_end_live(struct tmuxutil *f, const char *name);

/* Whether the pane's process has exited, its exit status, and its pid. */
void tmuxutil_pane_state(struct tmuxutil *f, const char *name, int *dead, int *status, long *pid);

/* Waits for coachq in the pane (started without direct) to exit and
 * returns its exit status. */
int tmuxutil_wait_exit(struct tmuxutil *f, const char *name);

/* Fails the test if a sanitizer wrote a report for any coachq run. */
void tmuxutil_assert_no_sanitizer_report(struct tmuxutil *f);

/* A cmocka setup: makes the fixture (caller owns, free with
 * tmuxutil_teardown()) in *state: a temporary directory, the tmux config,
 * and when tmux is installed a seeded organisation served by a real
 * coachqd. Starts the test's watchdog. */
int tmuxutil_setup(void **state);

/* A cmocka teardown: kills the fixture's tmux server, ends the held
 * reader, unmounts a small disk, abandons the server, removes the
 * directory and frees *state. */
int tmuxutil_teardown(void **state);

/* A cmocka test of fn with the fixture made and freed around it. */
#define TMUXUTIL_TEST(fn) cmocka_unit_test_setup_teardown(fn, tmuxutil_setup, tmuxutil_teardown)

/* Before cmocka_run_group_tests(): with COACHQ_TEST_FILTER set (e.g.
 * COACHQ_TEST_FILTER=test_amend), only the matching cases run. */
void tmuxutil_test_filter(void);

/* Skips the running test when tmux is not installed. */
void tmuxutil_need_tmux(const struct tmuxutil *f);

/* The one observation obs.ann has on the server, fetched over the
 * protocol; fails the test unless there is exactly one. Caller owns, free
 * with coachq__v1__stored_observation__free_unpacked(). */
Coachq__V1__StoredObservation *tmuxutil_the_stored(struct tmuxutil *f);

/* The session in progress saved in the client's local store (caller
 * owns, free with coachq__v1__local_session__free_unpacked()); fails the
 * test if there is none. */
Coachq__V1__LocalSession *tmuxutil_saved_session(struct tmuxutil *f);

/* Waits until the live phase shows n markers in all. */
void tmuxutil_wait_markers(struct tmuxutil *f, const char *name, size_t n);

/* Types marker key k and waits until the marker count is n_after. */
void tmuxutil_mark(struct tmuxutil *f, const char *name, const char *k, size_t n_after);

/* Line n (0-based) of a captured screen, into out. */
void tmuxutil_line_of(const char *scr, int n, char *out, size_t outlen);

/* Waits until line n of the screen contains text. */
void tmuxutil_wait_line(struct tmuxutil *f, const char *name, int n, const char *want);

/* The screen's text with every row trimmed and the rows joined by one
 * space: a message the UI wrapped over several rows reads as one line
 * again, and a message cut anywhere does not. */
void tmuxutil_joined(const char *scr, char *out, size_t outlen);

/* Waits until the joined screen shows text; returns it in out. */
void tmuxutil_wait_joined(struct tmuxutil *f, const char *name, const char *text, char *out,
                          size_t outlen);

#endif
