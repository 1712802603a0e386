/*
 * cli_recording: how the commands print a session observed from a
 * recording (`coachq get`, `history`, `queue`, `reference add`).
 */
#include <stdio.h>
#include <string.h>

#include "cli_int.h"
#include "day.h"
#include "obs_json.h"
#include "observe.h"
#include "recording_json.h"
#include "session.h"
#include "validate.h"

void cli_print_recording(FILE *f, const Coachq__V1__Recording *r)
{
    static const char *const stage[4] = {"picked by rep", "rep commented", "manager commented",
                                         "discussed"};
    int64_t at[4];
    char t[DAY_TIME_LEN];

    if (r == NULL) {
        return;
    }
    at[0] = r->picked_at;
    at[1] = r->rep_commented_at;
    at[2] = r->manager_commented_at;
    at[3] = r->discussed_at;
    obs_json_format_offset(r->length_ms, t, sizeof(t));
    fprintf(f, "recording   %s (%s)\n", cli_or_dash(r->reference), t);
    for (size_t i = 0; i < 4; i++) {
        if (at[i] != 0) {
            day_format_time(at[i], t, sizeof(t));
            fprintf(f, "  %-19s %s\n", stage[i], t);
        }
    }
    if (r->manager_comments != NULL && r->manager_comments[0] != '\0') {
        fprintf(f, "  manager's comments: %s\n", r->manager_comments);
    }
}

const char *cli_marker_author(const Coachq__V1__Marker *m)
{
    if (m->author == COACHQ__V1__RECORDING_AUTHOR__RECORDING_AUTHOR_OBSERVER) {
        return NULL;
    }
    return recording_author_name(m->author);
}

int cli_check_recording_opts(struct cli *x, const struct observe_opts *o, int fix)
{
    struct validate_error err;
    int is_length;

    if (o->recording_ref == NULL && o->recording_length_ms == 0) {
        return 0;
    }
    if (o->recording_ref == NULL || o->recording_length_ms == 0) {
        return cli_usage(x, "--recording REF and --length MM:SS go together");
    }
    if (o->resume || fix) {
        return cli_usage(x, "--recording starts a new session: the saved or fixed one keeps its "
                            "own recording");
    }
    if (session_recording_check(o->recording_ref, &o->recording_length_ms, &is_length, &err) < 0) {
        return cli_usage(x, "%s: %s", is_length ? "--length" : "--recording", err.message);
    }
    return 0;
}
