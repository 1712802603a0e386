/*
 * observe_mode: the setup's last step, live or a recording. A recording
 * asks for its reference, then its length, in the line editor; each is
 * checked by the server's own rule (validate_recording()) as it is
 * entered, and a refused one stays in the editor to be corrected with the
 * field named on the status line, the rest of the setup untouched (Esc
 * goes back to the choice). `coachq observe --recording REF --length
 * MM:SS` presets the same draft and skips the step.
 */
#include <string.h>

#include "obs_json.h"
#include "observe_int.h"

void observe_mode_words(const struct ui *ui, char *buf, size_t len)
{
    const Coachq__V1__Recording *r = ui->ses->d->recording;
    char t[24];

    if (r == NULL) {
        snprintf(buf, len, "live");
        return;
    }
    obs_json_format_offset(r->length_ms, t, sizeof(t));
    snprintf(buf, len, "recording %s (%s)", r->reference, t);
}

int observe_mode_choose(struct ui *ui, int value)
{
    if (value == 0) {
        return 1;
    }
    observe_edit_open(ui, EDIT_REC_REF, 0, VALIDATE_MAX_REFERENCE, ui->rec_ref,
                      "Recording (http(s) URL or CRM call id):");
    session_say(ui->ses, 0, "the recording's reference, then its length; Esc goes back");
    return 0;
}

void observe_mode_commit(struct ui *ui, const char *text)
{
    struct validate_error err;
    uint32_t ms = 0;
    int is_length, rc;

    if (ui->ed.target == EDIT_REC_REF) {
        /* Only the reference is checked here: the length comes next. */
        if (session_recording_check(text, NULL, &is_length, &err) < 0) {
            session_say(ui->ses, 1, "recording reference: %s", err.message);
            return;
        }
        snprintf(ui->rec_ref, sizeof(ui->rec_ref), "%s", text);
        observe_edit_open(ui, EDIT_REC_LENGTH, 0, 16, NULL, "Recording length (mm:ss or h:mm:ss):");
        session_say(ui->ses, 0, "recording %s: now its length", ui->rec_ref);
        return;
    }
    if (obs_json_parse_offset(text, &ms) < 0) {
        session_say(ui->ses, 1, "recording length: '%s' is not a length like 31:20 or 1:05:00",
                    text);
        return;
    }
    if (session_recording_check(ui->rec_ref, &ms, &is_length, &err) < 0) {
        session_say(ui->ses, 1, "recording %s: %s", is_length ? "length" : "reference",
                    err.message);
        return;
    }
    rc = session_recording_init(ui->ses, ui->rec_ref, ms);
    if (rc < 0) {
        session_say(ui->ses, 1, "out of memory");
        return;
    }
    ui->ed.target = EDIT_NONE;
    observe_keys_picker_free(&ui->pk);
    (void)session_setup_next(ui->ses, SESSION_STEP_MODE + 1, session_now_ms());
}
