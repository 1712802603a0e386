/*
 * test_observe_assigned: `coachq observe --assignment ID` through the
 * observer's UI, driven in tmux against a real coachqd over mutual TLS. A
 * lead sets a coverage plan and draws (`coachq plan`, `coachq assign
 * --seed`); the observer starts from their open assignment (the manager and
 * the rubric preset, the coachee chosen at setup), scores, submits, and
 * `coachq assignments --all` then shows it done by that observation.
 * Starting from someone else's assignment, from an expired one or from the
 * one just done is refused before the UI opens, saying why. Skipped only
 * when tmux is not installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "testutil.h"
#include "tmuxutil.h"
#include "uuid.h"

#define OUT_MAX (1u << 16)

/* Fails with the whole text unless it contains want. */
static void has(const char *text, const char *want)
{
    if (strstr(text, want) == NULL) {
        fail_msg("'%s' not in:\n%s", want, text);
    }
}

/* Runs coachq as user against the fixture's server with its own local
 * store; up to 7 arguments, NULL-terminated. Returns the exit status with
 * stdout and stderr in out (OUT_MAX bytes). */
static int run_as(struct tmuxutil *f, const char *user, char *out, int expect, const char *a0,
                  const char *a1, const char *a2, const char *a3, const char *a4, const char *a5,
                  const char *a6)
{
    char cert[600], key[600], ca[600], server[64], local[700], rel[64];

    snprintf(rel, sizeof(rel), "users/%s.crt", user);
    testutil_cert_path(cert, sizeof(cert), rel);
    snprintf(rel, sizeof(rel), "users/%s.key", user);
    testutil_cert_path(key, sizeof(key), rel);
    testutil_cert_path(ca, sizeof(ca), "ca.crt");
    snprintf(server, sizeof(server), "127.0.0.1:%d", f->srv.port);
    snprintf(local, sizeof(local), "%s/cli-%s", f->dir, user);
    return testutil_coachq(out, OUT_MAX, expect, "--server", server, "--cert", cert, "--key", key,
                           "--ca", ca, "--data-dir", local, a0, a1, a2, a3, a4, a5, a6, NULL);
}

/* Draws for period (NULL: this month) with the first seed from 1 on whose
 * dry run gives obs.ann an assignment, then for real. */
static void draw_with_ann(struct tmuxutil *f, char *out, const char *period)
{
    char seed[24];
    int found = 0;

    for (int n = 1; n <= 200 && !found; n++) {
        snprintf(seed, sizeof(seed), "%d", n);
        run_as(f, "lead.gil", out, 0, "assign", "line:slm.eve", "--seed", seed,
               period != NULL ? "--period" : "--dry-run", period,
               period != NULL ? "--dry-run" : NULL);
        found = strstr(out, "obs.ann") != NULL;
    }
    if (!found) {
        fail_msg("no seed of 1..200 assigns obs.ann anything: %s", out);
    }
    run_as(f, "lead.gil", out, 0, "assign", "line:slm.eve", "--seed", seed,
           period != NULL ? "--period" : NULL, period, NULL);
}

/* The first of obs.ann's assignments (--all) with status want: its id into
 * id (UUID_STR_LEN) and its manager into mgr (65). Returns 1 if found. */
static int ann_assignment(struct tmuxutil *f, char *out, const char *want, char *id, char *mgr)
{
    json_error_t jerr;
    json_t *l;
    size_t i;
    json_t *e;
    int found = 0;

    run_as(f, "obs.ann", out, 0, "assignments", "--all", "--json", NULL, NULL, NULL, NULL);
    l = json_loads(out, 0, &jerr);
    if (l == NULL) {
        fail_msg("coachq assignments --json: not JSON: %s", out);
    }
    if (json_is_object(l) && json_object_get(l, "assignments") != NULL) {
        e = json_object_get(l, "assignments");
        json_incref(e);
        json_decref(l);
        l = e;
    }
    json_array_foreach(l, i, e)
    {
        if (!found && strcmp(json_string_value(json_object_get(e, "status")), want) == 0) {
            snprintf(id, UUID_STR_LEN, "%s", json_string_value(json_object_get(e, "id")));
            snprintf(mgr, 65, "%s", json_string_value(json_object_get(e, "manager")));
            found = 1;
        }
    }
    json_decref(l);
    return found;
}

static void test_observe_assignment(void **state)
{
    struct tmuxutil *f = *state;
    char *out = malloc(OUT_MAX);
    char s[TMUXUTIL_SCREEN_MAX];
    char id[UUID_STR_LEN], mgr[65], old[UUID_STR_LEN], oldmgr[65], args[256], obsid[UUID_STR_LEN];
    Coachq__V1__StoredObservation *rec;
    const char *p;

    assert_non_null(out);
    tmuxutil_need_tmux(f);
    run_as(f, "lead.gil", out, 0, "plan", "line:slm.eve", "--rubric", "coaching-conversation",
           "--per-month=1", NULL, NULL);
    /* Last year's draw: expired by now. */
    draw_with_ann(f, out, "2025-01-15");
    assert_true(ann_assignment(f, out, "expired", old, oldmgr));
    draw_with_ann(f, out, NULL);
    assert_true(ann_assignment(f, out, "open", id, mgr));

    /* Refused before the UI opens: expired, someone else's. */
    run_as(f, "obs.ann", out, 2, "observe", "--assignment", old, NULL, NULL, NULL, NULL);
    has(out, "is expired (its due window has passed)");
    has(out, oldmgr);
    run_as(f, "alice", out, 2, "observe", "--assignment", id, NULL, NULL, NULL, NULL);
    has(out, "is not one of your open assignments");
    has(out, "someone else's");

    /* From the assignment in the UI: the manager and the rubric preset. */
    snprintf(args, sizeof(args), "--assignment %s --type deal_review --focus process", id);
    tmuxutil_ui_start(f, "a", "", args, 0);
    tmuxutil_wait_for(f, "a", "Choose the coachee", s, sizeof(s));
    has(s, mgr);
    has(s, "Coaching conversation v1");
    tmuxutil_key_until(f, "a", "Enter", "Observed live, or from a recording?");
    tmuxutil_key_until(f, "a", "Enter", "RUNNING");
    tmuxutil_mark(f, "a", "o", 1);
    tmuxutil_end_live(f, "a");
    for (int i = 0; i < 10; i++) {
        tmuxutil_keys(f, "a", "3");
    }
    tmuxutil_wait_for(f, "a", "10 of 10 rated", s, sizeof(s));
    tmuxutil_key_until(f, "a", "Enter", "AGREED ACTIONS");
    tmuxutil_key_until(f, "a", "Enter", "ready to submit");
    tmuxutil_key_until(f, "a", "s", "STORED");
    tmuxutil_keys(f, "a", "Enter");
    assert_int_equal(tmuxutil_wait_exit(f, "a"), 0);
    tmuxutil_assert_no_sanitizer_report(f);

    /* The stored observation names the assignment, which is done by it. */
    rec = tmuxutil_the_stored(f);
    assert_int_equal(rec->observation->assignment_id.len, 16);
    assert_string_equal(uuid_format(rec->observation->assignment_id.data, obsid), id);
    assert_string_equal(rec->observation->coach_id, mgr);
    uuid_format(rec->observation->id.data, obsid);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    run_as(f, "obs.ann", out, 0, "assignments", "--all", "--json", NULL, NULL, NULL, NULL);
    p = strstr(out, id);
    assert_non_null(p);
    p = strstr(p, "\"status\"");
    assert_non_null(p);
    assert_int_equal(strncmp(p, "\"status\": \"done\"", 16), 0);
    has(out, obsid);
    run_as(f, "obs.ann", out, 0, "assignments", NULL, NULL, NULL, NULL, NULL, NULL);
    assert_null(strstr(out, id));
    /* Done: starting from it again is refused, saying so. */
    run_as(f, "obs.ann", out, 2, "observe", "--assignment", id, NULL, NULL, NULL, NULL);
    has(out, "is done already");

    /* Reassigned by an administrator to another certified observer: refused,
     * saying so. Next month's draw gives obs.ann an open one to move. */
    draw_with_ann(f, out, "2027-01-15");
    assert_true(ann_assignment(f, out, "open", id, mgr));
    {
        static const char *const to[] = {"obs.ben", "obs.cy", "alice", "bob"};
        char err[4096];
        int moved = 0;

        for (size_t i = 0; i < sizeof(to) / sizeof(to[0]) && !moved; i++) {
            moved = testutil_coachqd_in(f->dir, out, OUT_MAX, err, sizeof(err), "assignment",
                                        "reassign", id, to[i], "--data", f->data, NULL) == 0;
        }
        if (!moved) {
            fail_msg("no observer took the reassignment: %s", err);
        }
    }
    run_as(f, "obs.ann", out, 2, "observe", "--assignment", id, NULL, NULL, NULL, NULL);
    has(out, "is reassigned to another observer");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TMUXUTIL_TEST(test_observe_assignment),
    };

    tmuxutil_test_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
