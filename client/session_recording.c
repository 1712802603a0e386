/*
 * session_recording: a session scored from a recording (`coachq observe
 * --recording REF --length MM:SS`). The draft carries the recording; the
 * session clock is the position in it, which the observer sets (seek keys,
 * "go to mm:ss"), which stops at the recording's end, and which a resumed
 * session takes back paused where the last save left it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "obs_json.h"
#include "session.h"
#include "validate.h"

int session_is_recording(const struct session *ses)
{
    return ses->d != NULL && ses->d->recording != NULL;
}

int session_recording_check(const char *ref, const uint32_t *length_ms, int *is_length,
                            struct validate_error *err)
{
    Coachq__V1__Recording r = COACHQ__V1__RECORDING__INIT;

    r.reference = (char *)ref;
    /* Alone, the reference is checked with a length that is always valid. */
    r.length_ms = length_ms != NULL ? *length_ms : 1;
    *is_length = 0;
    if (validate_recording(&r, 1, "recording", err) < 0) {
        *is_length = strstr(err->field, "length") != NULL;
        return -EINVAL;
    }
    return 0;
}

int session_recording_init(struct session *ses, const char *ref, uint32_t length_ms)
{
    Coachq__V1__Recording *r = malloc(sizeof(*r));

    if (r == NULL) {
        return -ENOMEM;
    }
    coachq__v1__recording__init(r);
    r->reference = strdup(ref);
    if (r->reference == NULL) {
        free(r);
        return -ENOMEM;
    }
    r->length_ms = length_ms;
    ses->d->recording = r;
    ses->dirty = 1;
    return 0;
}

/* Sets the clock to pos ms (kept inside the recording), running on from
 * there if it ran. */
static void clock_set(struct session *ses, uint64_t pos, int64_t now)
{
    uint64_t len = ses->d->recording->length_ms;

    ses->s->elapsed_ms = pos > len ? len : pos;
    if (ses->s->clock_started_ms != 0) {
        ses->s->clock_started_ms = now;
    }
    ses->dirty = 1;
}

int session_seek(struct session *ses, int64_t delta_ms, int64_t now)
{
    int64_t pos;
    char t[24];

    if (!session_is_recording(ses)) {
        session_say(ses, 1,
                    "seeking works on a recording (coachq observe --recording); a live "
                    "session's clock runs with the room");
        return -EINVAL;
    }
    pos = (int64_t)session_clock_now(ses->s, now) + delta_ms;
    clock_set(ses, pos < 0 ? 0 : (uint64_t)pos, now);
    session_fmt_clock(ses->s->elapsed_ms, t, sizeof(t));
    session_say(ses, 0, "at %s of the recording", t);
    return 0;
}

int session_seek_to(struct session *ses, const char *text, int64_t now)
{
    uint32_t ms;
    char t[24];

    if (!session_is_recording(ses)) {
        return session_seek(ses, 0, now);
    }
    if (obs_json_parse_offset(text, &ms) < 0) {
        session_say(ses, 1, "'%s' is not a position: give mm:ss (like 12:30) or h:mm:ss", text);
        return -EINVAL;
    }
    if (ms > ses->d->recording->length_ms) {
        session_fmt_clock(ses->d->recording->length_ms, t, sizeof(t));
        session_say(ses, 1, "the recording ends at %s: give a position up to it", t);
        return -ERANGE;
    }
    clock_set(ses, ms, now);
    session_fmt_clock(ms, t, sizeof(t));
    session_say(ses, 0, "at %s of the recording", t);
    return 0;
}

void session_recording_resume(struct session *ses)
{
    char t[24];

    if (!session_is_recording(ses) || ses->s->clock_started_ms == 0) {
        return;
    }
    /* The player stopped with the client: stand where the last save left
     * the position, paused, rather than where the wall clock would. */
    ses->s->elapsed_ms = session_clock_now(ses->s, ses->s->updated_at_ms);
    ses->s->clock_started_ms = 0;
    ses->dirty = 1;
    session_fmt_clock(ses->s->elapsed_ms, t, sizeof(t));
    session_say(ses, 0, "resumed paused at %s of the recording: space plays on", t);
}

void session_clock_label(const struct session *ses, int64_t now, char *out, size_t len)
{
    char a[24], b[24];

    session_fmt_clock(session_clock_now(ses->s, now), a, sizeof(a));
    if (!session_is_recording(ses)) {
        snprintf(out, len, "%s", a);
        return;
    }
    session_fmt_clock(ses->d->recording->length_ms, b, sizeof(b));
    snprintf(out, len, "%s/%s", a, b);
}

int session_set_evidence(struct session *ses, size_t index, const char *text, int64_t now)
{
    Coachq__V1__Rating *r;
    uint64_t pos;
    int had, rc;

    if (ses->d == NULL || index >= ses->d->n_ratings) {
        return -EINVAL;
    }
    r = ses->d->ratings[index];
    had = r->evidence != NULL && r->evidence[0] != '\0' && r->evidence_offset_ms != 0;
    rc = session_set_str(&r->evidence, text);
    if (rc != 0) {
        return rc;
    }
    /* On a recording, new evidence is where the position stands when it is
     * first saved (kept inside the recording); editing it later, in the
     * review or an amendment, keeps the moment it was heard. Without
     * evidence, no offset. */
    if (session_is_recording(ses) && (text[0] == '\0' || !had)) {
        pos = text[0] != '\0' ? session_clock_now(ses->s, now) : 0;
        r->evidence_offset_ms =
            (uint32_t)(pos > ses->d->recording->length_ms ? ses->d->recording->length_ms : pos);
        ses->dirty = 1;
    }
    return 0;
}
