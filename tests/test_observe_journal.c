/*
 * test_observe_journal: the observe UI's local journal driven for real,
 * through tmux (tmuxutil) like test_observe: the real `coachq observe`
 * against a real coachqd, with the client's local store checked after.
 *
 * Cases: SIGKILL mid-session and --resume keeping every marker and the
 * clock; a full disk (a 1 MiB tmpfs for the client's store, filled
 * mid-session) with the server down, and with a submission whose saved
 * copy cannot be cleared; a resumed copy the server has already stored.
 * Skipped when tmux is not installed, and the full-disk cases also when
 * the test may not mount a tmpfs, i.e. does not run as root.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <lmdb.h>

#include <cmocka.h>

#include "client.h"
#include "localstore.h"
#include "testutil.h"
#include "tmuxutil.h"
#include "uuid.h"

/* ---- (b) SIGKILL mid-session, then --resume ---------------------------- */

static void test_crash_resume(void **state)
{
    struct tmuxutil *f = *state;
    Coachq__V1__LocalSession *before;
    Coachq__V1__StoredObservation *rec;
    const Coachq__V1__Observation *o;
    char s[TMUXUTIL_SCREEN_MAX];
    int dead, status;
    long pid;
    uint64_t elapsed_at_kill;

    tmuxutil_need_tmux(f);
    tmuxutil_ui_start(f, "b", "", TMUXUTIL_PRESET, 1);
    tmuxutil_wait_for(f, "b", "RUNNING", s, sizeof(s));
    tmuxutil_mark(f, "b", "o", 1);
    tmuxutil_mark(f, "b", "d", 2);
    testutil_sleep_ms(1100);
    tmuxutil_mark(f, "b", "e", 3);
    tmuxutil_key_until(f, "b", "n", "Note on evidence asked");
    tmuxutil_text(f, "b", "typed before the kill");
    tmuxutil_key_until(f, "b", "Enter", "\"typed before the kill\"");
    tmuxutil_mark(f, "b", "o", 4);

    /* The pane runs coachq itself (exec), so its pid is coachq's. */
    tmuxutil_pane_state(f, "b", &dead, &status, &pid);
    assert_int_equal(dead, 0);
    assert_true(pid > 1);
    assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
    for (int i = 0; i < 200 && !dead; i++) {
        testutil_sleep_ms(25);
        tmuxutil_pane_state(f, "b", &dead, &status, &pid);
    }
    assert_int_equal(dead, 1);

    /* What the dead client left in its store: every marker, the clock
     * still running. */
    before = tmuxutil_saved_session(f);
    assert_non_null(before->draft);
    assert_int_equal(before->draft->n_markers, 4);
    assert_string_equal(before->draft->markers[2]->note, "typed before the kill");
    assert_true(before->clock_started_ms > 0);
    elapsed_at_kill =
        before->elapsed_ms + (uint64_t)(tmuxutil_wall_ms() - before->clock_started_ms);
    testutil_sleep_ms(1000);

    tmuxutil_ui_start(f, "b2", "", "--resume", 0);
    tmuxutil_wait_for(f, "b2", "RUNNING", s, sizeof(s));
    /* The pane is captured while curses may still be drawing the resumed
     * screen (the header first), so each line is waited for, not read off
     * the first capture that shows the header; a wrong count still fails,
     * printing the screen. */
    tmuxutil_wait_for(f, "b2", "Markers in all: 4\n", s, sizeof(s));
    tmuxutil_wait_for(f, "b2", "\"typed before the kill\"", s, sizeof(s));
    tmuxutil_mark(f, "b2", "p", 5);
    tmuxutil_end_live(f, "b2");
    for (int i = 0; i < 10; i++) {
        tmuxutil_keys(f, "b2", "3");
    }
    tmuxutil_wait_for(f, "b2", "10 of 10 rated", s, sizeof(s));
    tmuxutil_key_until(f, "b2", "Enter", "AGREED ACTIONS");
    tmuxutil_key_until(f, "b2", "Enter", "ready to submit");
    tmuxutil_key_until(f, "b2", "s", "STORED");
    tmuxutil_keys(f, "b2", "Enter");
    assert_int_equal(tmuxutil_wait_exit(f, "b2"), 0);
    tmuxutil_assert_no_sanitizer_report(f);

    rec = tmuxutil_the_stored(f);
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

/* ---- (f) Helpers for full disks and long messages ----------------------- */

/* Mounts a 1 MiB tmpfs as the client's store directory, or skips the test
 * when this process may not mount (not root). */
static void mount_small(struct tmuxutil *f)
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
static void hold_reader(struct tmuxutil *f)
{
    testutil_lmdb_begin(f->local, MDB_RDONLY, &f->env, &f->rd);
}

/* Fills the small disk with a file until the file system says ENOSPC. */
static void fill_disk(struct tmuxutil *f)
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
static void free_disk(struct tmuxutil *f)
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
static int still_running(struct tmuxutil *f, const char *name)
{
    char path[700];

    snprintf(path, sizeof(path), "%s/status-%s", f->dir, name);
    return access(path, F_OK) != 0;
}

/* ---- (f) A full disk with the server down -------------------------------- */

/* Nothing typed while the disk was full is lost: the saved session is at
 * the review with n_markers markers and the 10 scores, notes for 1 and 4. */
static void check_nothing_lost(struct tmuxutil *f, const uint32_t scores[10], size_t n_markers)
{
    Coachq__V1__LocalSession *saved = tmuxutil_saved_session(f);

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
}

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
    struct tmuxutil *f = *state;
    Coachq__V1__LocalSession *saved;
    char s[TMUXUTIL_SCREEN_MAX], j[TMUXUTIL_SCREEN_MAX], want[64];
    size_t n_markers = 1;

    tmuxutil_need_tmux(f);
    mount_small(f);
    tmuxutil_ui_start(f, "f", "", TMUXUTIL_PRESET, 0);
    tmuxutil_wait_for(f, "f", "RUNNING", s, sizeof(s));
    tmuxutil_mark(f, "f", "o", 1);
    hold_reader(f);
    /* Saves after the reader use up the pages LMDB may still reuse. */
    while (n_markers < 6) {
        tmuxutil_mark(f, "f", "d", ++n_markers);
    }
    fill_disk(f);
    /* Markers go on being counted while the disk refuses them. */
    for (int i = 0; i < 20; i++) {
        tmuxutil_mark(f, "f", "e", ++n_markers);
        tmuxutil_screen(f, "f", s, sizeof(s));
        if (strstr(s, "NOT SAVED to disk") != NULL) {
            break;
        }
    }
    tmuxutil_wait_joined(
        f, "f", "NOT SAVED to disk (No space left on device): kept in memory only; retrying", j,
        sizeof(j));

    tmuxutil_end_live(f, "f");
    for (size_t i = 0; i < 10; i++) {
        char k[2] = {(char)('0' + scores[i]), '\0'};
        char note[32];

        tmuxutil_keys(f, "f", k);
        if (scores[i] == 1 || scores[i] == 4) {
            tmuxutil_wait_for(f, "f", "Evidence for ", s, sizeof(s));
            snprintf(note, sizeof(note), "seen on disk full %zu", i);
            tmuxutil_text(f, "f", note);
            tmuxutil_keys(f, "f", "Enter");
        }
        snprintf(want, sizeof(want), "%zu of 10 rated", i + 1);
        tmuxutil_wait_for(f, "f", want, s, sizeof(s));
    }
    tmuxutil_key_until(f, "f", "Enter", "AGREED ACTIONS");
    tmuxutil_key_until(f, "f", "Enter", "ready to submit");
    tmuxutil_wait_joined(f, "f", "NOT SAVED to disk (", j, sizeof(j));

    /* The server goes away; s says what became of the observation. */
    assert_int_equal(testutil_server_stop(&f->srv, SIGKILL) != -1, 1);
    tmuxutil_keys(f, "f", "s");
    tmuxutil_wait_joined(f, "f", "NOT QUEUED: the outbox could not be written (", j, sizeof(j));
    assert_non_null(strstr(j, "NOT SENT: cannot connect to 127.0.0.1:"));
    assert_non_null(strstr(j, "(is coachqd running there? check --server). NOT QUEUED"));
    assert_non_null(strstr(j, "All is kept in memory; s tries again."));
    assert_non_null(strstr(j, "NOT SAVED to disk ("));

    /* q does not claim what is not true, and y does not quit. */
    tmuxutil_keys(f, "f", "q");
    tmuxutil_wait_joined(
        f, "f", "not saved: type discard, Enter to quit and lose it; Esc stays:", j, sizeof(j));
    assert_null(strstr(j, "is saved"));
    tmuxutil_keys(f, "f", "y");
    tmuxutil_wait_for(f, "f", "Esc stays: y_", s, sizeof(s));
    tmuxutil_keys(f, "f", "Enter");
    tmuxutil_wait_joined(f, "f", "not quit: type discard exactly to quit without saving", j,
                         sizeof(j));
    tmuxutil_key_until(f, "f", "q", "Esc stays: _");
    tmuxutil_keys(f, "f", "Escape");
    tmuxutil_wait_joined(
        f, "f", "not quit: all is kept in memory; free disk space, or s submits it", j, sizeof(j));
    testutil_sleep_ms(300);
    assert_true(still_running(f, "f"));

    /* Space again: the next try journals everything, unasked. */
    free_disk(f);
    tmuxutil_wait_joined(f, "f", "saved again: everything typed is on disk now", j, sizeof(j));
    assert_null(strstr(j, "NOT SAVED"));
    tmuxutil_key_until(f, "f", "q", "quit? the session is saved");
    tmuxutil_keys(f, "f", "y");
    assert_int_equal(tmuxutil_wait_exit(f, "f"), 1);
    tmuxutil_wait_for(f, "f", "quit: the session is saved", s, sizeof(s));

    check_nothing_lost(f, scores, n_markers);

    /* --resume brings it all back. */
    tmuxutil_ui_start(f, "f2", "", "--resume", 0);
    tmuxutil_wait_for(f, "f2", "Evidence 8 notes", s, sizeof(s));
    assert_non_null(strstr(s, "ready to submit"));

    /* The disk fills again: quitting then takes the word, and says what
     * it costs. */
    hold_reader(f);
    for (int i = 0; i < 6; i++) {
        tmuxutil_key_until(f, "f2", "r", "RATING");
        tmuxutil_key_until(f, "f2", "Enter", "AGREED ACTIONS");
        tmuxutil_key_until(f, "f2", "Enter", "REVIEW");
    }
    fill_disk(f);
    tmuxutil_key_until(f, "f2", "n", "Session note");
    tmuxutil_text(f, "f2", "this note is never saved");
    tmuxutil_keys(f, "f2", "Enter");
    tmuxutil_wait_joined(f, "f2", "NOT SAVED to disk (", j, sizeof(j));
    tmuxutil_key_until(f, "f2", "q", "Esc stays: _");
    tmuxutil_text(f, "f2", "discard");
    tmuxutil_wait_for(f, "f2", "Esc stays: discard_", s, sizeof(s));
    tmuxutil_keys(f, "f2", "Enter");
    assert_int_equal(tmuxutil_wait_exit(f, "f2"), 3);
    tmuxutil_wait_joined(f, "f2", "discarded: the session could not be saved (", j, sizeof(j));
    free_disk(f);
    saved = tmuxutil_saved_session(f);
    assert_string_equal(saved->draft->notes, "");
    assert_int_equal(saved->draft->n_ratings, 10);
    assert_string_equal(saved->draft->ratings[7]->evidence, "seen on disk full 7");
    coachq__v1__local_session__free_unpacked(saved, NULL);
    tmuxutil_assert_no_sanitizer_report(f);
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
    struct tmuxutil *f = *state;
    Coachq__V1__LocalSession *stale;
    Coachq__V1__StoredObservation *rec;
    Coachq__V1__ObservationHistory *h = NULL;
    struct client_error e;
    struct client *c;
    struct localstore *ls = NULL;
    Coachq__V1__LocalSession *none = NULL;
    char s[TMUXUTIL_SCREEN_MAX], j[TMUXUTIL_SCREEN_MAX], id[UUID_STR_LEN], want[128], err[512];

    tmuxutil_need_tmux(f);
    mount_small(f);
    tmuxutil_ui_start(f, "g", "", TMUXUTIL_PRESET, 0);
    tmuxutil_wait_for(f, "g", "RUNNING", s, sizeof(s));
    tmuxutil_mark(f, "g", "o", 1);
    tmuxutil_end_live(f, "g");
    for (int i = 0; i < 10; i++) {
        tmuxutil_keys(f, "g", "3");
    }
    tmuxutil_wait_for(f, "g", "10 of 10 rated", s, sizeof(s));
    tmuxutil_key_until(f, "g", "Enter", "AGREED ACTIONS");
    tmuxutil_key_until(f, "g", "Enter", "ready to submit");

    /* Journaled at review with every score 3; then the disk fills and
     * the first score changes to 2 in memory only. */
    hold_reader(f);
    tmuxutil_key_until(f, "g", "r", "RATING");
    for (int i = 0; i < 3; i++) {
        tmuxutil_keys(f, "g", "j");
        tmuxutil_wait_line(f, "g", 5, "> 2 ");
        tmuxutil_keys(f, "g", "k");
        tmuxutil_wait_line(f, "g", 4, "> 1 ");
    }
    fill_disk(f);
    tmuxutil_key_until(f, "g", "2", "Collaborative: 2 developing");
    tmuxutil_wait_joined(f, "g", "NOT SAVED to disk (", j, sizeof(j));
    tmuxutil_key_until(f, "g", "Enter", "AGREED ACTIONS");
    tmuxutil_key_until(f, "g", "Enter", "ready to submit");
    tmuxutil_key_until(f, "g", "s", "STORED");
    tmuxutil_wait_joined(
        f, "g",
        "The older copy saved on this machine could not be removed yet; a later coachq "
        "observe --resume finds it stored and offers to discard it.",
        j, sizeof(j));
    tmuxutil_keys(f, "g", "Enter");
    assert_int_equal(tmuxutil_wait_exit(f, "g"), 0);
    tmuxutil_wait_joined(f, "g", "the older copy saved on this machine could not be removed (", j,
                         sizeof(j));
    free_disk(f);

    /* What was left behind: the older state under the stored id. */
    stale = tmuxutil_saved_session(f);
    rec = tmuxutil_the_stored(f);
    assert_memory_equal(stale->draft->id.data, rec->observation->id.data, UUID_LEN);
    assert_int_equal(stale->draft->ratings[0]->score, 3);
    assert_int_equal(rec->observation->ratings[0]->score, 2);
    uuid_format(rec->observation->id.data, id);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    coachq__v1__local_session__free_unpacked(stale, NULL);

    /* --resume names what happened and the ways out. */
    tmuxutil_ui_start(f, "g2", "", "--resume", 0);
    snprintf(want, sizeof(want), "The server already has observation %s (version 1, stored", id);
    tmuxutil_wait_joined(f, "g2", want, j, sizeof(j));
    assert_non_null(strstr(j, "On the server:   10 rated, 0 evidence notes, 1 marker, 0 actions"));
    assert_non_null(strstr(j, "On this machine: 10 rated, 0 evidence notes, 1 marker, 0 actions"));
    assert_non_null(strstr(j, "d  discard the copy on this machine"));
    assert_non_null(strstr(j, "a  submit this copy as an amendment"));
    /* Keep it: s meets the same choices again, from the server's refusal. */
    tmuxutil_key_until(f, "g2", "k", "kept this copy");
    /* It was saved in the ratings (the disk filled there). */
    tmuxutil_key_until(f, "g2", "Enter", "AGREED ACTIONS");
    tmuxutil_key_until(f, "g2", "Enter", "ready to submit");
    tmuxutil_keys(f, "g2", "s");
    tmuxutil_wait_joined(f, "g2", want, j, sizeof(j));
    tmuxutil_key_until(f, "g2", "d", "discard the copy on this machine for good? (y/n)");
    tmuxutil_keys(f, "g2", "n");
    testutil_sleep_ms(300);
    tmuxutil_screen(f, "g2", s, sizeof(s));
    assert_null(strstr(s, "for good?"));
    assert_non_null(strstr(s, "On this machine"));
    /* Amend: the copy becomes version 2 of the stored observation. */
    tmuxutil_key_until(f, "g2", "a", "now amends");
    tmuxutil_screen(f, "g2", s, sizeof(s));
    assert_non_null(strstr(s, "amendment"));
    tmuxutil_key_until(f, "g2", "s", "STORED");
    tmuxutil_wait_for(f, "g2", "version 2)", s, sizeof(s));
    tmuxutil_keys(f, "g2", "Enter");
    assert_int_equal(tmuxutil_wait_exit(f, "g2"), 0);
    tmuxutil_assert_no_sanitizer_report(f);

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
static void save_as_session(struct tmuxutil *f, Coachq__V1__Observation *obs)
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
    struct tmuxutil *f = *state;
    struct testutil_obs t;
    Coachq__V1__Observation *obs[1] = {&t.o};
    struct client_submit_result res;
    struct client *c;
    struct localstore *ls = NULL;
    Coachq__V1__LocalSession *none = NULL;
    Coachq__V1__StoredObservation *rec;
    char s[TMUXUTIL_SCREEN_MAX], j[TMUXUTIL_SCREEN_MAX], err[512];

    tmuxutil_need_tmux(f);
    testutil_obs_make(&t, "flm.cara", "rep.ida", (int64_t)time(NULL) - 86400);
    c = testutil_connect(&f->srv, "obs.ann", 0);
    memset(&res, 0, sizeof(res));
    assert_int_equal(client_submit_many(c, obs, 1, &res, NULL, NULL), 0);
    assert_int_equal(res.result, COACHQ__V1__ACK__RESULT__RESULT_STORED);
    client_free(c);

    save_as_session(f, &t.o);
    tmuxutil_ui_start(f, "h", "", "--resume", 0);
    tmuxutil_wait_joined(f, "h", "ALREADY STORED: the server had this observation already", j,
                         sizeof(j));
    tmuxutil_keys(f, "h", "Enter");
    assert_int_equal(tmuxutil_wait_exit(f, "h"), 0);
    tmuxutil_wait_for(f, "h", "already stored: ", s, sizeof(s));
    assert_int_equal(localstore_open(f->local, &ls, err, sizeof(err)), 0);
    assert_int_equal(localstore_session_load(ls, &none), -ENOENT);
    localstore_close(ls);

    t.r[1].score = 2;
    save_as_session(f, &t.o);
    tmuxutil_ui_start(f, "h2", "", "--resume", 0);
    tmuxutil_wait_joined(f, "h2", "On this machine: 10 rated", j, sizeof(j));
    tmuxutil_key_until(f, "h2", "d", "for good? (y/n)");
    tmuxutil_keys(f, "h2", "y");
    assert_int_equal(tmuxutil_wait_exit(f, "h2"), 0);
    tmuxutil_wait_joined(f, "h2", "discarded the copy on this machine; the server keeps ", j,
                         sizeof(j));
    assert_int_equal(localstore_open(f->local, &ls, err, sizeof(err)), 0);
    assert_int_equal(localstore_session_load(ls, &none), -ENOENT);
    localstore_close(ls);
    rec = tmuxutil_the_stored(f);
    assert_int_equal(rec->observation->ratings[1]->score, 3);
    assert_int_equal(rec->version, 1);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    tmuxutil_assert_no_sanitizer_report(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TMUXUTIL_TEST(test_crash_resume),
        TMUXUTIL_TEST(test_full_disk_offline),
        TMUXUTIL_TEST(test_full_disk_stored),
        TMUXUTIL_TEST(test_resume_stored),
    };

    tmuxutil_test_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
