/*
 * observe: the live-scoring terminal UI. See observe.h for what it does;
 * the comments here say why it is built the way it is.
 *
 * All state lives in one struct ui made by observe_run(), never in
 * globals. The draft observation is a protobuf-c message whose every field
 * was allocated with malloc() (built here, or decoded with the default
 * allocator), so that it can be grown in place and freed with
 * coachq__v1__local_session__free_unpacked(). The main loop reads one key
 * with a short timeout (so the clock ticks on screen), applies its effect,
 * saves the session with localstore_session_save() if anything changed,
 * and only then redraws: what the observer sees is always on disk.
 */

/*
 * Size: this file is over the layout's 1,500 lines. It is one of the five the
 * layout issue splits along its seams (see ../shared/design/architecture.md);
 * until then it stays whole so that the hardening and statistics fixes
 * landed without a move in the same change.
 */
#define _XOPEN_SOURCE 700 /* wcwidth() and the wide-character curses calls */

#include "day.h"
#include "observe.h"

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>
#include <wctype.h>

#include <curses.h>

#include "error.h"
#include "obs_json.h"
#include "uuid.h"
#include "validate.h"

#define MIN_COLS 80
#define MIN_ROWS 24
/* How long one wait for a key lasts: the clock on screen moves at least
 * this often. */
#define TICK_MS 200
#define N_KINDS 7
/* Characters the line editor holds; each target also has a byte cap. */
#define EDIT_MAX 2000
#define FILTER_MAX 64
#define LABEL_MAX 160
#define STATUS_MAX 640
#define KEY_CTRL_C 3
#define KEY_ESC 27
/* While the journal fails, it is tried again at every key and at least
 * this often. */
#define SAVE_RETRY_MS 1000
/* The most rows the messages at the bottom of the screen may take; each
 * message wraps there rather than being cut. */
#define FOOT_MAX 10
/* The word typed to quit without a journal. */
#define DISCARD_WORD "discard"

/* The phases, as saved in LocalSession.phase (0, from an older save, is
 * read as setup). */
enum phase {
    PHASE_SETUP = 1,
    PHASE_LIVE = 2,
    PHASE_RATING = 3,
    PHASE_ACTIONS = 4,
    PHASE_REVIEW = 5,
};

/* The setup steps, as saved in LocalSession.cursor during setup. */
enum step {
    STEP_RUBRIC = 0,
    STEP_COACH,
    STEP_COACHEE,
    STEP_TYPE,
    STEP_FOCUS,
    STEP_COUNT,
};

/* What the line editor is editing. */
enum edit_target {
    EDIT_NONE = 0,
    EDIT_NOTE,       /* the note of marker ed.index */
    EDIT_EVIDENCE,   /* the evidence of rating ed.index */
    EDIT_ACTION_NEW, /* a new agreed action */
    EDIT_ACTION,     /* the text of action ed.index */
    EDIT_NOTES,      /* the observation's overall notes */
};

enum modal {
    MODAL_NONE = 0,
    MODAL_HELP,     /* the keys of the current phase */
    MODAL_QUIT,     /* "quit? ... (y/n)" */
    MODAL_REJECT,   /* after a refusal: leave it in the outbox as rejected? */
    MODAL_SENDING,  /* drawn while a submission is on its way */
    MODAL_DISCARD,  /* quitting unsaved: the observer types "discard" */
    MODAL_CONFLICT, /* the server has this id with other content */
};

enum result {
    RESULT_NONE = 0,
    RESULT_STORED,
    RESULT_DUPLICATE,
    RESULT_QUEUED,
};

/* Colour pairs (only when the terminal has colours and NO_COLOR is unset). */
enum role {
    ROLE_PLAIN = 0,
    ROLE_TITLE,
    ROLE_WARN,
    ROLE_OK,
    ROLE_ACCENT,
};

struct kind_info {
    int key;
    int kind;
    const char *label;
};

static const struct kind_info kinds[N_KINDS] = {
    {'o', COACHQ__V1__MARKER_KIND__MARKER_KIND_OPEN_QUESTION, "open question"},
    {'d', COACHQ__V1__MARKER_KIND__MARKER_KIND_DIRECTIVE, "directive"},
    {'e', COACHQ__V1__MARKER_KIND__MARKER_KIND_EVIDENCE_ASKED, "evidence asked"},
    {'p', COACHQ__V1__MARKER_KIND__MARKER_KIND_PRAISE, "praise"},
    {'s', COACHQ__V1__MARKER_KIND__MARKER_KIND_REP_SELF_ASSESSED, "rep self-assessed"},
    {'t', COACHQ__V1__MARKER_KIND__MARKER_KIND_MANAGER_TOOK_OVER, "manager took over"},
    {'a', COACHQ__V1__MARKER_KIND__MARKER_KIND_ACTION_AGREED, "action agreed"},
};

static const char *const score_words[5] = {"", "not demonstrated", "developing", "proficient",
                                           "exemplary"};

static const char *const step_names[STEP_COUNT] = {"rubric", "coach", "coachee", "session type",
                                                   "focus"};

struct pick_item {
    char id[VALIDATE_MAX_ID + 1];
    char label[LABEL_MAX];
    int value; /* an enum value, or an index into ui->rlist */
};

/* A searchable list: typing filters it (case-insensitive substring of the
 * id or the label). */
struct picker {
    int step; /* the setup step it was built for; -1 = none */
    struct pick_item *items;
    size_t n;
    size_t *match; /* indexes into items of those that match the filter */
    size_t n_match;
    size_t sel;       /* index into match */
    size_t top;       /* first match shown */
    int allow_free;   /* Enter with no match takes the typed text as an id */
    int confirm_free; /* Enter was pressed once on a typed id not in the list */
    char filter[FILTER_MAX];
};

struct editor {
    enum edit_target target;
    size_t index;
    size_t max_bytes; /* the server's cap for this text */
    int advance;      /* rating: move to the next behaviour when done */
    char prompt[LABEL_MAX];
    wchar_t buf[EDIT_MAX + 1];
    size_t len;
    size_t pos;
};

struct ui {
    struct localstore *ls;        /* borrowed */
    const struct observe_opts *o; /* borrowed */
    FILE *out;
    FILE *err;
    SCREEN *scr;
    int colour;
    int utf8; /* the locale's text is UTF-8: any printable character may be typed */

    Coachq__V1__LocalSession *s; /* owned; s->draft is the observation */
    Coachq__V1__Observation *d;  /* s->draft, borrowed from s */
    Coachq__V1__Rubric *rubric;  /* owned; the draft's rubric once chosen */
    Coachq__V1__Rubric **rlist;  /* owned; the rubrics to choose from */
    size_t n_rlist;
    Coachq__V1__PeopleList *people; /* owned; NULL when neither server nor cache had it */

    struct client *c; /* owned while setting up; NULL otherwise */
    int offline;      /* the server could not be reached this run */
    char offline_why[sizeof(((struct client_error *)0)->message)];

    struct picker pk;
    struct editor ed;
    enum modal modal;
    int details; /* the rating phase shows the behaviour in full */
    int details_top;

    /* The server's last refusal of this observation (this run, or the
     * outbox entry being fixed). */
    int refused;
    struct client_error refusal;
    enum result result;
    uint64_t result_seq;
    uint32_t result_version;

    int dirty;             /* the session changed since it was last saved */
    int save_rc;           /* the last save's result; shown until one works */
    int64_t save_retry_ms; /* when a failing journal is tried again without a key */
    /* The server has the observation, but the copy saved on this machine
     * could not be removed yet (clear_rc says why): tried again like a
     * save, and checked against the server at the next resume. */
    int clear_pending;
    int clear_rc;
    int foot_n;       /* rows the bottom messages take in this draw (1 or more) */
    char discard[12]; /* what was typed in MODAL_DISCARD (the modal row fits 78 columns) */
    /* The record the server has under the draft's id when it differs from
     * the draft (owned), for MODAL_CONFLICT; conflict_confirm after 'd'. */
    Coachq__V1__StoredObservation *conflict;
    int conflict_confirm;
    int offline_refused; /* the server was reached and refused this user */
    char status[STATUS_MAX];
    int status_warn;
    int done;
    int exit_code;
    char final_msg[1024];
};

/* ---- Small helpers -------------------------------------------------------- */

/* Wall-clock milliseconds: the clock must survive a restart of the
 * process, so it cannot be a monotonic clock of this boot. */
static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *kind_label(int kind)
{
    for (size_t i = 0; i < N_KINDS; i++) {
        if (kinds[i].kind == kind) {
            return kinds[i].label;
        }
    }
    return "marker";
}

static void say(struct ui *ui, int warn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets the status line. */
static void say(struct ui *ui, int warn, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(ui->status, sizeof(ui->status), fmt, ap);
    va_end(ap);
    ui->status_warn = warn;
}

/* Replaces the string *field of a message (malloc'd, or the shared empty
 * default) with a copy of v. Returns 0 or -ENOMEM (then *field is kept). */
static int set_str(char **field, const char *v)
{
    char *copy = NULL;

    if (v != NULL && v[0] != '\0') {
        copy = strdup(v);
        if (copy == NULL) {
            return -ENOMEM;
        }
    }
    if (*field != NULL && *field != protobuf_c_empty_string) {
        free(*field);
    }
    *field = copy != NULL ? copy : (char *)protobuf_c_empty_string;
    return 0;
}

/* A deep copy of any message, every part malloc'd, so that it can be
 * changed in place and freed with its free_unpacked(..., NULL). Returns
 * NULL when out of memory. */
static void *pb_copy(const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n > 0 ? n : 1);
    ProtobufCMessage *c;

    if (buf == NULL) {
        return NULL;
    }
    protobuf_c_message_pack(m, buf);
    c = protobuf_c_message_unpack(m->descriptor, NULL, n, buf);
    free(buf);
    return c;
}

/* "mm:ss" (minutes may pass 99). */
static void fmt_clock(uint64_t ms, char *out, size_t len)
{
    uint64_t s = ms / 1000u;

    snprintf(out, len, "%02llu:%02llu", (unsigned long long)(s / 60u),
             (unsigned long long)(s % 60u));
}

/* Case-insensitive (ASCII) substring test. */
static int ci_contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    if (n == 0) {
        return 1;
    }
    for (const char *h = hay; *h != '\0'; h++) {
        size_t i = 0;

        while (i < n && h[i] != '\0' &&
               (h[i] == needle[i] || ((unsigned char)h[i] < 128 && (unsigned char)needle[i] < 128 &&
                                      towlower((wint_t)(unsigned char)h[i]) ==
                                          towlower((wint_t)(unsigned char)needle[i])))) {
            i++;
        }
        if (i == n) {
            return 1;
        }
    }
    return 0;
}

static const char *session_type_words(int v, char *buf, size_t len)
{
    const char *n = obs_json_session_type_name(v);

    if (n == NULL) {
        snprintf(buf, len, "-");
        return buf;
    }
    snprintf(buf, len, "%s", n);
    for (char *p = buf; *p != '\0'; p++) {
        if (*p == '_') {
            *p = ' ';
        }
    }
    return buf;
}

static const char *focus_words(int v)
{
    switch (v) {
    case COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_PROCESS:
        return "process";
    case COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_SKILL:
        return "skill";
    case COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_HUMAN:
        return "human side";
    default:
        return "-";
    }
}

static const char *code_name(int code)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&coachq__v1__code__descriptor, code);

    return v != NULL ? v->name : "UNKNOWN";
}

/* A server code in words, for people. */
static const char *code_words(int code)
{
    switch (code) {
    case COACHQ__V1__CODE__INVALID_ARGUMENT:
        return "the record is not valid";
    case COACHQ__V1__CODE__FAILED_PRECONDITION:
        return "a rule of the organisation refused it";
    case COACHQ__V1__CODE__PERMISSION_DENIED:
        return "you may not submit this";
    case COACHQ__V1__CODE__NOT_FOUND:
        return "something it names does not exist";
    case COACHQ__V1__CODE__ALREADY_EXISTS:
        return "a different record already has this id";
    case COACHQ__V1__CODE__OUT_OF_RANGE:
        return "a value is out of range";
    case COACHQ__V1__CODE__UNAUTHENTICATED:
        return "the server did not accept your certificate";
    default:
        return "the server refused it";
    }
}

/* Errors worth retrying later rather than fixing: the observation is
 * queued, not rejected (the same rule as outbox_flush()). */
static int code_is_transient(int code)
{
    return code == COACHQ__V1__CODE__UNAVAILABLE || code == COACHQ__V1__CODE__DEADLINE_EXCEEDED;
}

/* ---- The clock ------------------------------------------------------------ */

/* The clock's time: what was accumulated before the last start, plus the
 * wall time since then while it runs. Because clock_started_ms is wall
 * time, a client killed while the clock ran finds on --resume that the
 * clock went on counting meanwhile, as the session in the room did. */
static uint64_t clock_now(const Coachq__V1__LocalSession *s, int64_t now)
{
    uint64_t e = s->elapsed_ms;

    if (s->clock_started_ms > 0 && now > s->clock_started_ms) {
        e += (uint64_t)(now - s->clock_started_ms);
    }
    return e;
}

static int clock_running(const Coachq__V1__LocalSession *s)
{
    return s->clock_started_ms > 0;
}

static void clock_start(struct ui *ui, int64_t now)
{
    if (ui->s->clock_started_ms == 0) {
        ui->s->clock_started_ms = now;
        ui->dirty = 1;
    }
    if (ui->d->started_at == 0) {
        ui->d->started_at = now / 1000;
        ui->dirty = 1;
    }
}

static void clock_stop(struct ui *ui, int64_t now)
{
    if (ui->s->clock_started_ms != 0) {
        ui->s->elapsed_ms = clock_now(ui->s, now);
        ui->s->clock_started_ms = 0;
        ui->dirty = 1;
    }
}

/* ---- Rubric, people and the draft ----------------------------------------- */

static int needs_evidence(const Coachq__V1__Rubric *r, uint32_t score)
{
    for (size_t i = 0; i < r->n_evidence_required; i++) {
        if (r->evidence_required[i] == score) {
            return 1;
        }
    }
    return 0;
}

static const Coachq__V1__PersonSummary *person(const struct ui *ui, const char *id)
{
    if (ui->people == NULL || id == NULL || id[0] == '\0') {
        return NULL;
    }
    for (size_t i = 0; i < ui->people->n_people; i++) {
        if (strcmp(ui->people->people[i]->id, id) == 0) {
            return ui->people->people[i];
        }
    }
    return NULL;
}

/* "Name (id)", or the id alone when the name is unknown, or "-". */
static const char *person_words(const struct ui *ui, const char *id, char *buf, size_t len)
{
    const Coachq__V1__PersonSummary *p = person(ui, id);

    if (id == NULL || id[0] == '\0') {
        snprintf(buf, len, "-");
    } else if (p != NULL && p->name[0] != '\0') {
        snprintf(buf, len, "%s (%s)", p->name, id);
    } else {
        snprintf(buf, len, "%s", id);
    }
    return buf;
}

static int has_role(const Coachq__V1__PersonSummary *p, int role)
{
    for (size_t i = 0; i < p->n_roles; i++) {
        if ((int)p->roles[i] == role) {
            return 1;
        }
    }
    return 0;
}

/* Makes the draft hold exactly one rating per behaviour of the rubric, in
 * the rubric's order, keeping the scores it already has (an amendment's,
 * a resumed session's). Ratings of behaviours the rubric does not have
 * cannot be stored and are dropped; the status line says how many. */
static int ratings_align(struct ui *ui)
{
    const Coachq__V1__Rubric *r = ui->rubric;
    Coachq__V1__Observation *d = ui->d;
    Coachq__V1__Rating **arr = NULL;
    Coachq__V1__Rating **fresh = NULL;
    size_t n = r->n_behaviours;
    size_t need = 0;
    size_t dropped = 0;
    int rc = -ENOMEM;

    arr = calloc(n > 0 ? n : 1, sizeof(*arr));
    fresh = calloc(n > 0 ? n : 1, sizeof(*fresh));
    if (arr == NULL || fresh == NULL) {
        goto out;
    }
    /* Allocate first, so that nothing is moved when memory runs out. */
    for (size_t i = 0; i < n; i++) {
        int found = 0;

        for (size_t j = 0; j < d->n_ratings && !found; j++) {
            found = strcmp(d->ratings[j]->behaviour_id, r->behaviours[i]->id) == 0;
        }
        if (!found) {
            fresh[need] = malloc(sizeof(**fresh));
            if (fresh[need] == NULL) {
                goto out;
            }
            coachq__v1__rating__init(fresh[need]);
            need++;
            if (set_str(&fresh[need - 1]->behaviour_id, r->behaviours[i]->id) < 0) {
                goto out;
            }
        }
    }
    need = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d->n_ratings && arr[i] == NULL; j++) {
            if (d->ratings[j] != NULL &&
                strcmp(d->ratings[j]->behaviour_id, r->behaviours[i]->id) == 0) {
                arr[i] = d->ratings[j];
                d->ratings[j] = NULL;
            }
        }
        if (arr[i] == NULL) {
            arr[i] = fresh[need];
            fresh[need++] = NULL;
        }
    }
    for (size_t j = 0; j < d->n_ratings; j++) {
        if (d->ratings[j] != NULL) {
            coachq__v1__rating__free_unpacked(d->ratings[j], NULL);
            dropped++;
        }
    }
    free(d->ratings);
    d->ratings = arr;
    d->n_ratings = n;
    arr = NULL;
    if (dropped > 0) {
        say(ui, 1, "dropped %zu rating(s) of behaviours that rubric %s v%u does not have", dropped,
            r->id, r->version);
    }
    ui->dirty = 1;
    rc = 0;
out:
    if (fresh != NULL) {
        for (size_t i = 0; i < n; i++) {
            if (fresh[i] != NULL) {
                coachq__v1__rating__free_unpacked(fresh[i], NULL);
            }
        }
    }
    free(fresh);
    free(arr);
    return rc;
}

/* The first reason the ratings cannot be finished yet: a behaviour not
 * rated, or one whose score needs evidence without it. Returns 1 and sets
 * *at and msg, or 0 when everything is there. */
static int rating_problem(const struct ui *ui, size_t *at, char *msg, size_t len)
{
    const Coachq__V1__Rubric *r = ui->rubric;

    if (r == NULL) {
        snprintf(msg, len, "no rubric chosen");
        *at = 0;
        return 1;
    }
    for (size_t i = 0; i < r->n_behaviours && i < ui->d->n_ratings; i++) {
        const Coachq__V1__Behaviour *b = r->behaviours[i];
        const Coachq__V1__Rating *rt = ui->d->ratings[i];

        if (!rt->not_applicable && rt->score == 0) {
            snprintf(msg, len, "%s is not rated yet: press 1-4%s", b->name,
                     b->allow_not_applicable ? ", or x for not applicable" : "");
            *at = i;
            return 1;
        }
        if (rt->score > 0 && needs_evidence(r, rt->score) && rt->evidence[0] == '\0') {
            snprintf(msg, len, "%s needs evidence for a score of %u: press v and say what you saw",
                     b->name, rt->score);
            *at = i;
            return 1;
        }
    }
    if (ui->d->n_ratings < r->n_behaviours) {
        snprintf(msg, len, "the ratings are incomplete");
        *at = ui->d->n_ratings;
        return 1;
    }
    return 0;
}

/* Appends a marker at the clock's time. */
static int marker_add(struct ui *ui, int kind, int64_t now)
{
    Coachq__V1__Observation *d = ui->d;
    Coachq__V1__Marker **arr;
    Coachq__V1__Marker *m;
    uint64_t at = clock_now(ui->s, now);
    char t[24];

    if (d->n_markers >= VALIDATE_MAX_MARKERS) {
        say(ui, 1, "a session holds at most %d markers; this one was not added",
            VALIDATE_MAX_MARKERS);
        return -ENOSPC;
    }
    m = malloc(sizeof(*m));
    if (m == NULL) {
        return -ENOMEM;
    }
    coachq__v1__marker__init(m);
    arr = realloc(d->markers, (d->n_markers + 1) * sizeof(*arr));
    if (arr == NULL) {
        free(m);
        return -ENOMEM;
    }
    d->markers = arr;
    m->kind = kind;
    m->offset_ms = at > UINT32_MAX ? UINT32_MAX : (uint32_t)at;
    d->markers[d->n_markers++] = m;
    ui->dirty = 1;
    fmt_clock(m->offset_ms, t, sizeof(t));
    say(ui, 0, "%s at %s", kind_label(kind), t);
    return 0;
}

static void marker_undo(struct ui *ui)
{
    Coachq__V1__Observation *d = ui->d;
    Coachq__V1__Marker *m;
    char t[24];

    if (d->n_markers == 0) {
        say(ui, 1, "no marker to undo");
        return;
    }
    m = d->markers[--d->n_markers];
    fmt_clock(m->offset_ms, t, sizeof(t));
    say(ui, 0, "undone: %s at %s", kind_label(m->kind), t);
    coachq__v1__marker__free_unpacked(m, NULL);
    if (d->n_markers == 0) {
        free(d->markers);
        d->markers = NULL;
    }
    ui->dirty = 1;
}

static int action_add(struct ui *ui, const char *text)
{
    Coachq__V1__Observation *d = ui->d;
    Coachq__V1__Action **arr;
    Coachq__V1__Action *a;

    if (d->n_actions >= VALIDATE_MAX_ACTIONS) {
        say(ui, 1, "a session holds at most %d agreed actions", VALIDATE_MAX_ACTIONS);
        return -ENOSPC;
    }
    a = malloc(sizeof(*a));
    if (a == NULL) {
        return -ENOMEM;
    }
    coachq__v1__action__init(a);
    if (set_str(&a->text, text) < 0) {
        free(a);
        return -ENOMEM;
    }
    arr = realloc(d->actions, (d->n_actions + 1) * sizeof(*arr));
    if (arr == NULL) {
        coachq__v1__action__free_unpacked(a, NULL);
        return -ENOMEM;
    }
    d->actions = arr;
    d->actions[d->n_actions++] = a;
    ui->dirty = 1;
    return 0;
}

static void action_delete(struct ui *ui, size_t i)
{
    Coachq__V1__Observation *d = ui->d;

    if (i >= d->n_actions) {
        return;
    }
    coachq__v1__action__free_unpacked(d->actions[i], NULL);
    memmove(&d->actions[i], &d->actions[i + 1], (d->n_actions - i - 1) * sizeof(d->actions[0]));
    d->n_actions--;
    if (d->n_actions == 0) {
        free(d->actions);
        d->actions = NULL;
    }
    ui->dirty = 1;
}

/* The session length for the record: the clock's time, rounded up to a
 * whole second so that every marker falls inside it, and at least 1 s. */
static void set_duration(struct ui *ui, int64_t now)
{
    uint64_t ms = clock_now(ui->s, now);
    uint64_t s = (ms + 999u) / 1000u;

    if (s < 1) {
        s = 1;
    }
    ui->d->duration_s = s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
    ui->dirty = 1;
}

/* ---- Saving --------------------------------------------------------------- */

/* Journals the session: committed and fsynced when it returns 0. A failure
 * is shown on every screen until a later save works; the keys go on
 * working, so nothing typed is refused because of a full disk, and
 * everything stays in memory (dirty stays set) while the main loop tries
 * again at every key and every SAVE_RETRY_MS. Quitting then needs the word
 * "discard" (MODAL_DISCARD), which a working save turns back into the
 * ordinary question. */
static int save(struct ui *ui)
{
    int was = ui->save_rc;
    int rc;

    ui->s->updated_at_ms = now_ms();
    rc = localstore_session_save(ui->ls, ui->s);
    ui->save_rc = rc;
    if (rc == 0) {
        ui->dirty = 0;
        if (was < 0) {
            say(ui, 0, "saved again: everything typed is on disk now");
        }
        if (ui->modal == MODAL_DISCARD) {
            ui->modal = MODAL_QUIT;
        }
    } else {
        ui->save_retry_ms = now_ms() + SAVE_RETRY_MS;
    }
    return rc;
}

/* Whether every change is on disk: nothing would be lost by quitting. */
static int journaled(const struct ui *ui)
{
    return !ui->dirty && ui->save_rc == 0;
}

/* Removes the saved session once the server has the observation; a
 * failure is kept in clear_pending and tried again like a save. */
static void clear_saved(struct ui *ui)
{
    int rc = localstore_session_clear(ui->ls);

    ui->clear_rc = rc;
    ui->clear_pending = rc < 0;
    if (rc < 0) {
        ui->save_retry_ms = now_ms() + SAVE_RETRY_MS;
    }
}

/* q: the quit question, or, when the session cannot be journaled, the
 * question that needs the word "discard": quitting then loses it. */
static void ask_quit(struct ui *ui)
{
    if (!journaled(ui) && save(ui) < 0) {
        ui->modal = MODAL_DISCARD;
        ui->discard[0] = '\0';
        return;
    }
    ui->modal = MODAL_QUIT;
}

static void set_phase(struct ui *ui, enum phase p, uint32_t cursor)
{
    ui->s->phase = (uint32_t)p;
    ui->s->cursor = cursor;
    ui->dirty = 1;
}

/* ---- The server and the caches -------------------------------------------- */

/* Connects once; after a failure, stays offline for the rest of setup. */
static int ui_connect(struct ui *ui)
{
    struct client_error e;
    int rc;

    if (ui->c != NULL) {
        return 0;
    }
    if (ui->offline) {
        return -ECONNREFUSED;
    }
    if (ui->o->conn == NULL) {
        ui->offline = 1;
        snprintf(ui->offline_why, sizeof(ui->offline_why), "no server configured");
        return -ECONNREFUSED;
    }
    memset(&e, 0, sizeof(e));
    rc = client_connect(ui->o->conn, &ui->c, &e);
    if (rc < 0) {
        ui->c = NULL;
        ui->offline = 1;
        ui->offline_refused = !code_is_transient(e.code);
        snprintf(ui->offline_why, sizeof(ui->offline_why), "%s", e.message);
        return rc;
    }
    return 0;
}

/* The setup's connection is not kept through the session: a live session
 * lasts longer than the server keeps an idle connection, and submitting
 * connects anew. */
static void ui_disconnect(struct ui *ui)
{
    client_free(ui->c);
    ui->c = NULL;
}

/* Loads the rubric id/version into ui->rubric: from the cache when the
 * exact version is there (versions never change) unless prefer_server,
 * else from the server (and caches it), else the latest cached. */
static int load_rubric(struct ui *ui, const char *id, uint32_t version, int prefer_server,
                       char *why, size_t whylen)
{
    Coachq__V1__Rubric *r = NULL;
    struct client_error e;
    int rc;

    if (!prefer_server && version != 0 && localstore_rubric_get(ui->ls, id, version, &r) == 0) {
        goto got;
    }
    if (ui_connect(ui) == 0) {
        memset(&e, 0, sizeof(e));
        rc = client_rubric(ui->c, id, version, &r, &e);
        if (rc == 0) {
            rc = localstore_rubric_put(ui->ls, r);
            if (rc < 0) {
                say(ui, 1, "could not cache rubric %s: %s", id, error_strerror(rc));
            }
            goto got;
        }
        if (rc == -EREMOTEIO && e.code == COACHQ__V1__CODE__NOT_FOUND) {
            snprintf(why, whylen, "the server has no rubric %s%s", id,
                     version != 0 ? " in that version" : "");
            return -ENOENT;
        }
        if (rc != -EREMOTEIO) {
            ui->offline = 1;
            snprintf(ui->offline_why, sizeof(ui->offline_why), "%s", e.message);
            ui_disconnect(ui);
        }
    }
    if (localstore_rubric_get(ui->ls, id, version, &r) == 0) {
        goto got;
    }
    snprintf(why, whylen, "rubric %s%s is not cached and the server %s (%s)", id,
             version != 0 ? " in that version" : "",
             ui->offline_refused ? "refused the connection" : "cannot be reached",
             ui->offline_why[0] != '\0' ? ui->offline_why : "offline");
    return -ENOENT;
got:
    if (ui->rubric != NULL) {
        coachq__v1__rubric__free_unpacked(ui->rubric, NULL);
    }
    ui->rubric = r;
    return 0;
}

static int rlist_add(struct ui *ui, const Coachq__V1__Rubric *r)
{
    Coachq__V1__Rubric **arr;
    Coachq__V1__Rubric *c;

    c = pb_copy(&r->base);
    if (c == NULL) {
        return -ENOMEM;
    }
    arr = realloc(ui->rlist, (ui->n_rlist + 1) * sizeof(*arr));
    if (arr == NULL) {
        coachq__v1__rubric__free_unpacked(c, NULL);
        return -ENOMEM;
    }
    ui->rlist = arr;
    ui->rlist[ui->n_rlist++] = c;
    return 0;
}

static int rlist_cb(const Coachq__V1__Rubric *r, void *arg)
{
    return rlist_add(arg, r);
}

/* The rubrics to choose from: the server's (cached as they come), else the
 * cache's. */
static int load_rubric_list(struct ui *ui)
{
    Coachq__V1__RubricList *l = NULL;
    struct client_error e;
    int rc;

    if (ui_connect(ui) == 0) {
        memset(&e, 0, sizeof(e));
        rc = client_rubrics(ui->c, &l, &e);
        if (rc == 0) {
            for (size_t i = 0; i < l->n_rubrics; i++) {
                (void)localstore_rubric_put(ui->ls, l->rubrics[i]);
                rc = rlist_add(ui, l->rubrics[i]);
                if (rc < 0) {
                    break;
                }
            }
            coachq__v1__rubric_list__free_unpacked(l, NULL);
            return rc;
        }
        if (rc != -EREMOTEIO) {
            ui->offline = 1;
            snprintf(ui->offline_why, sizeof(ui->offline_why), "%s", e.message);
            ui_disconnect(ui);
        }
    }
    return localstore_rubric_list(ui->ls, rlist_cb, ui);
}

/* The people the observer may observe: the server's (cached), else the
 * cache's, else none (the observer types ids). try_server 0 uses the
 * server only when a connection is already open. */
static void load_people(struct ui *ui, int try_server)
{
    Coachq__V1__PeopleList *p = NULL;
    struct client_error e;
    int rc;

    if ((ui->c != NULL || try_server) && ui_connect(ui) == 0) {
        memset(&e, 0, sizeof(e));
        rc = client_people(ui->c, &p, &e);
        if (rc == 0) {
            (void)localstore_people_put(ui->ls, p);
            ui->people = p;
            return;
        }
        if (rc != -EREMOTEIO) {
            ui->offline = 1;
            snprintf(ui->offline_why, sizeof(ui->offline_why), "%s", e.message);
            ui_disconnect(ui);
        }
    }
    if (localstore_people_get(ui->ls, &p) == 0) {
        ui->people = p;
    }
}

/* ---- Drawing helpers ------------------------------------------------------ */

static attr_t attr(const struct ui *ui, enum role r)
{
    if (ui->colour && r != ROLE_PLAIN) {
        return (attr_t)COLOR_PAIR((int)r) | (r == ROLE_TITLE ? A_BOLD : 0);
    }
    switch (r) {
    case ROLE_TITLE:
        return A_REVERSE;
    case ROLE_WARN:
    case ROLE_ACCENT:
        return A_BOLD;
    default:
        return A_NORMAL;
    }
}

/* Draws at most len bytes of s at y,x in at most maxcols columns. Bytes
 * that are not text in the locale, and unprintable characters, show as
 * '?', so a damaged string can never move the cursor. */
static int putn(int y, int x, int maxcols, attr_t a, const char *s, size_t len)
{
    wchar_t w[512];
    mbstate_t st;
    size_t i = 0;
    int n = 0;
    int col = 0;

    memset(&st, 0, sizeof(st));
    while (i < len && s[i] != '\0' && n < (int)(sizeof(w) / sizeof(w[0]))) {
        wchar_t wc;
        size_t k = mbrtowc(&wc, s + i, len - i, &st);
        int cw;

        if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
            wc = L'?';
            k = 1;
            memset(&st, 0, sizeof(st));
        }
        cw = iswprint((wint_t)wc) ? wcwidth(wc) : -1;
        if (cw < 0) {
            wc = L'?';
            cw = 1;
        }
        if (col + cw > maxcols) {
            break;
        }
        w[n++] = wc;
        col += cw;
        i += k;
    }
    if (n > 0) {
        attr_on(a, NULL);
        mvaddnwstr(y, x, w, n);
        attr_off(a, NULL);
    }
    return col;
}

static int put(int y, int x, int maxcols, attr_t a, const char *s)
{
    return putn(y, x, maxcols, a, s, strlen(s));
}

static int putf(int y, int x, int maxcols, attr_t a, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int putf(int y, int x, int maxcols, attr_t a, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return put(y, x, maxcols, a, buf);
}

/* The display width of the character at s (n bytes left) and its length
 * in bytes in *k; a byte that starts no valid character counts as one
 * column and one byte, and resets the conversion state. */
static int char_width(const char *s, size_t n, mbstate_t *st, size_t *k)
{
    wchar_t wc;
    int cw;

    *k = mbrtowc(&wc, s, n, st);
    if (*k == (size_t)-1 || *k == (size_t)-2 || *k == 0) {
        *k = 1;
        memset(st, 0, sizeof(*st));
        return 1;
    }
    cw = wcwidth(wc);
    return cw < 0 ? 1 : cw;
}

/* The display width of a string (unprintable bytes count one column). */
static int text_width(const char *s)
{
    mbstate_t st;
    size_t len = strlen(s);
    size_t i = 0;
    int col = 0;

    memset(&st, 0, sizeof(st));
    while (i < len) {
        size_t k;

        col += char_width(s + i, len - i, &st, &k);
        i += k;
    }
    return col;
}

struct span {
    size_t off;
    size_t len;
};

/* Word-wraps s to width columns: fills at most max spans (byte ranges of
 * s, one per line) and returns the number of lines the whole text needs. */
static int wrap(const char *s, int width, struct span *out, int max)
{
    size_t n = strlen(s);
    size_t i = 0;
    int lines = 0;

    if (width < 1) {
        width = 1;
    }
    while (i < n) {
        size_t start, j, brk = 0, end;
        int col = 0;
        mbstate_t st;

        while (i < n && s[i] == ' ') {
            i++;
        }
        if (i >= n) {
            break;
        }
        start = i;
        j = i;
        memset(&st, 0, sizeof(st));
        while (j < n && s[j] != '\n') {
            size_t k;
            int cw = char_width(s + j, n - j, &st, &k);

            if (col + cw > width) {
                break;
            }
            if (s[j] == ' ') {
                brk = j;
            }
            col += cw;
            j += k;
        }
        end = j;
        if (j < n && s[j] != '\n' && brk > start) {
            end = brk;
        }
        if (end == start) {
            /* One character wider than the line: show it alone. */
            end = start + 1;
            while (end < n && ((unsigned char)s[end] & 0xC0) == 0x80) {
                end++;
            }
        }
        if (lines < max) {
            out[lines].off = start;
            out[lines].len = end - start;
        }
        lines++;
        i = end;
        if (i < n && s[i] == '\n') {
            i++;
        }
    }
    return lines;
}

/* A column of wrapped text being laid out: the rows it may use, the lines
 * scrolled away above it, and a count of every line for scrolling. With
 * draw 0 it only counts. */
struct flow {
    int y;
    int ymax;
    int skip;
    int total;
    int draw;
};

/* Lays out prefix and s word-wrapped within [x, x+width); lines after the
 * first are indented by the prefix's width (a hanging indent). */
static void emit(struct flow *f, int x, int width, attr_t a, const char *prefix, const char *s)
{
    struct span sp[64];
    int pw = prefix != NULL ? text_width(prefix) : 0;
    int n;

    if (pw > width / 2) {
        pw = 0;
    }
    n = wrap(s, width - pw, sp, 64);
    if (n == 0) {
        n = 1;
        sp[0].off = 0;
        sp[0].len = 0;
    }
    for (int i = 0; i < n && i < 64; i++) {
        f->total++;
        if (f->skip > 0) {
            f->skip--;
            continue;
        }
        if (f->draw && f->y < f->ymax) {
            if (i == 0 && pw > 0) {
                put(f->y, x, pw, a, prefix);
            }
            putn(f->y, x + pw, width - pw, a, s + sp[i].off, sp[i].len);
        }
        if (f->y < f->ymax) {
            f->y++;
        }
    }
}

static void hline_at(int y, int cols)
{
    mvhline(y, 0, ACS_HLINE, cols);
}

/* The title bar: name of the phase on the left, right text on the right. */
static void title_bar(const struct ui *ui, int cols, const char *phase, const char *right)
{
    attr_t a = attr(ui, ROLE_TITLE);
    int w;

    attr_on(a, NULL);
    mvhline(0, 0, ' ', cols);
    attr_off(a, NULL);
    putf(0, 1, cols - 2, a, "coachq observe  %s", phase);
    w = text_width(right);
    if (w < cols - 30) {
        put(0, cols - w - 1, w, a, right);
    }
}

/* The journal's trouble in words, or "" when it is fine. */
static void journal_words(const struct ui *ui, char *buf, size_t len)
{
    buf[0] = '\0';
    if (ui->save_rc < 0) {
        snprintf(buf, len, "NOT SAVED to disk (%s): kept in memory only; retrying",
                 error_strerror(ui->save_rc));
    } else if (ui->clear_pending) {
        snprintf(buf, len, "the older saved copy could not be removed (%s); retrying",
                 error_strerror(ui->clear_rc));
    }
}

/* The bottom of the screen: the keys of the phase, then the messages: the
 * journal's trouble (which always shows) and the status line, each
 * word-wrapped, never cut. One message row is the usual layout (keys on
 * the row above it, a rule above them); longer messages push the keys and
 * the rule up over the screen's last rows, at most FOOT_MAX rows of them.
 * ui->foot_n says how many rows the messages took, for the modal line and
 * the editor drawn above them; with keys NULL, footer() only counts them. */
static void footer(struct ui *ui, int rows, int cols, const char *keys)
{
    char journal[STATUS_MAX], refused[sizeof(ui->offline_why) + 32];
    char other[STATUS_MAX + sizeof(ui->offline_why)];
    const char *msg[3] = {journal, refused, other};
    attr_t a[3];
    struct span sp[3][FOOT_MAX];
    int n[3], total = 0, top;
    int width = cols - 2;

    journal_words(ui, journal, sizeof(journal));
    a[0] = attr(ui, ROLE_WARN) | A_BOLD;
    /* A server that refused this user is news the whole session long; a
     * server out of reach only while nothing else is to be said. */
    refused[0] = '\0';
    if (ui->offline && ui->offline_refused) {
        snprintf(refused, sizeof(refused), "not connected: %s", ui->offline_why);
    }
    a[1] = attr(ui, ROLE_WARN);
    other[0] = '\0';
    a[2] = attr(ui, ui->status_warn ? ROLE_WARN : ROLE_PLAIN);
    if (ui->status[0] != '\0') {
        snprintf(other, sizeof(other), "%s", ui->status);
    } else if (ui->offline && !ui->offline_refused) {
        snprintf(other, sizeof(other), "offline: %s", ui->offline_why);
    }
    for (int i = 0; i < 3; i++) {
        n[i] = msg[i][0] != '\0' ? wrap(msg[i], width, sp[i], FOOT_MAX) : 0;
        if (n[i] > FOOT_MAX - total) {
            n[i] = FOOT_MAX - total;
        }
        total += n[i];
    }
    if (total > rows - 6) {
        total = rows - 6;
    }
    ui->foot_n = total > 1 ? total : 1;
    if (keys == NULL) {
        return;
    }
    top = rows - ui->foot_n;
    if (ui->foot_n > 1) {
        for (int y = top - 2; y < rows; y++) {
            mvhline(y, 0, ' ', cols);
        }
        hline_at(top - 2, cols);
    }
    put(top - 1, 1, width, attr(ui, ROLE_ACCENT), keys);
    for (int i = 0, y = top; i < 3; i++) {
        for (int j = 0; j < n[i] && y < rows; j++, y++) {
            putn(y, 1, width, a[i], msg[i] + sp[i][j].off, sp[i][j].len);
        }
    }
}

static void rubric_words(const struct ui *ui, char *buf, size_t len)
{
    if (ui->rubric != NULL) {
        snprintf(buf, len, "%s v%u", ui->rubric->name[0] ? ui->rubric->name : ui->rubric->id,
                 ui->rubric->version);
    } else if (ui->d->rubric_id[0] != '\0') {
        snprintf(buf, len, "%s v%u", ui->d->rubric_id, ui->d->rubric_version);
    } else {
        snprintf(buf, len, "-");
    }
}

static void count_kinds(const Coachq__V1__Observation *d, size_t counts[N_KINDS])
{
    memset(counts, 0, N_KINDS * sizeof(counts[0]));
    for (size_t i = 0; i < d->n_markers; i++) {
        for (size_t k = 0; k < N_KINDS; k++) {
            if ((int)d->markers[i]->kind == kinds[k].kind) {
                counts[k]++;
            }
        }
    }
}

/* "5 : 2 (2.5 asks per tell)". */
static void ratio_words(const size_t counts[N_KINDS], char *buf, size_t len)
{
    size_t ask = counts[0];
    size_t tell = counts[1];

    if (tell == 0) {
        snprintf(buf, len, "%zu : 0", ask);
    } else {
        snprintf(buf, len, "%zu : %zu  (%.1f asks per tell)", ask, tell,
                 (double)ask / (double)tell);
    }
}

/* ---- Screens -------------------------------------------------------------- */

static void draw_too_small(const struct ui *ui, int rows, int cols)
{
    char msg[256];
    struct span sp[8];
    int n;

    snprintf(msg, sizeof(msg),
             "coachq observe needs a terminal of at least %dx%d; this one is %dx%d. Enlarge it: "
             "%s and the clock goes on.",
             MIN_COLS, MIN_ROWS, cols, rows,
             journaled(ui) ? "the session is saved"
                           : "the session is NOT saved to disk (kept in memory)");
    n = wrap(msg, cols > 2 ? cols - 2 : 1, sp, 8);
    for (int i = 0; i < n && i < 8 && i < rows; i++) {
        putn(i, 1, cols > 2 ? cols - 2 : cols, attr(ui, ROLE_WARN), msg + sp[i].off, sp[i].len);
    }
    if (ui->modal == MODAL_QUIT && rows > n + 1) {
        put(n + 1, 1, cols - 2, A_BOLD, "quit? (y/n)");
    } else if (ui->modal == MODAL_DISCARD && rows > n + 1) {
        putf(n + 1, 1, cols - 2, A_BOLD, "type %s, Enter: %s_", DISCARD_WORD, ui->discard);
    }
}

/* The header rows 1-2 shared by the live and rating screens. */
static void session_header(const struct ui *ui, int cols)
{
    char rb[LABEL_MAX], t[64], c1[LABEL_MAX], c2[LABEL_MAX];

    rubric_words(ui, rb, sizeof(rb));
    session_type_words(ui->d->session_type, t, sizeof(t));
    putf(1, 1, cols - 2, A_NORMAL, "%s | %s | focus: %s", rb, t, focus_words(ui->d->focus));
    putf(2, 1, cols - 2, A_NORMAL, "Coach %s   Coachee %s",
         person_words(ui, ui->d->coach_id, c1, sizeof(c1)),
         person_words(ui, ui->d->coachee_id, c2, sizeof(c2)));
}

static void draw_setup(struct ui *ui, int rows, int cols)
{
    const struct picker *pk = &ui->pk;
    const char *what;
    char right[64], rb[LABEL_MAX], buf[LABEL_MAX];
    int step = (int)ui->s->cursor;
    int y, list_top, list_rows;

    snprintf(right, sizeof(right), "step %d of %d: %s", step + 1, STEP_COUNT,
             step < STEP_COUNT ? step_names[step] : "");
    title_bar(ui, cols, ui->d->started_at != 0 ? "CHANGE SESSION DETAILS" : "NEW SESSION", right);
    rubric_words(ui, rb, sizeof(rb));
    putf(2, 1, cols - 2, step == STEP_RUBRIC ? A_BOLD : A_NORMAL, "%c Rubric        %s",
         step == STEP_RUBRIC ? '>' : ' ', rb);
    putf(3, 1, cols - 2, step == STEP_COACH ? A_BOLD : A_NORMAL, "%c Coach         %s",
         step == STEP_COACH ? '>' : ' ', person_words(ui, ui->d->coach_id, buf, sizeof(buf)));
    putf(4, 1, cols - 2, step == STEP_COACHEE ? A_BOLD : A_NORMAL, "%c Coachee       %s",
         step == STEP_COACHEE ? '>' : ' ', person_words(ui, ui->d->coachee_id, buf, sizeof(buf)));
    putf(5, 1, cols - 2, step == STEP_TYPE ? A_BOLD : A_NORMAL, "%c Session type  %s",
         step == STEP_TYPE ? '>' : ' ', session_type_words(ui->d->session_type, buf, sizeof(buf)));
    putf(6, 1, cols - 2, step == STEP_FOCUS ? A_BOLD : A_NORMAL, "%c Focus         %s",
         step == STEP_FOCUS ? '>' : ' ', focus_words(ui->d->focus));
    hline_at(7, cols);
    switch (step) {
    case STEP_RUBRIC:
        what = "Choose the rubric";
        break;
    case STEP_COACH:
        what = "Choose the coach (the front-line manager observed)";
        break;
    case STEP_COACHEE:
        what = "Choose the coachee (the rep)";
        break;
    case STEP_TYPE:
        what = "Choose the session type";
        break;
    default:
        what = "Choose the coaching focus";
        break;
    }
    put(8, 1, cols - 2, A_BOLD, what);
    putf(9, 1, cols - 2, A_NORMAL, "Search: %s_", pk->filter);
    list_top = 10;
    list_rows = rows - 3 - list_top;
    y = list_top;
    if (pk->n_match == 0) {
        if (pk->allow_free && pk->filter[0] != '\0') {
            putf(y, 3, cols - 4, A_NORMAL, "no match: Enter uses \"%s\" as the id", pk->filter);
        } else if (pk->allow_free) {
            put(y, 3, cols - 4, A_NORMAL,
                pk->n == 0 ? "no list of people (offline, nothing cached): type the id"
                           : "no match");
        } else {
            put(y, 3, cols - 4, A_NORMAL, "no match");
        }
    }
    for (size_t i = pk->top; i < pk->n_match && y < list_top + list_rows; i++, y++) {
        const struct pick_item *it = &pk->items[pk->match[i]];
        attr_t a = i == pk->sel ? A_REVERSE : A_NORMAL;

        if (i == pk->sel) {
            attr_on(a, NULL);
            mvhline(y, 1, ' ', cols - 2);
            attr_off(a, NULL);
        }
        putf(y, 1, cols - 2, a, "%c %-40s %s", i == pk->sel ? '>' : ' ', it->label, it->id);
    }
    hline_at(rows - 3, cols);
    footer(ui, rows, cols,
           "type to search  Up/Down move  Enter choose  Esc back  ? keys  Ctrl-C quit");
}

static void draw_live(struct ui *ui, int rows, int cols, int64_t now)
{
    const Coachq__V1__Observation *d = ui->d;
    size_t counts[N_KINDS];
    char clk[24], right[64], ratio[64], t[24];
    int running = clock_running(ui->s);
    int y, first_self = -1;

    count_kinds(d, counts);
    fmt_clock(clock_now(ui->s, now), clk, sizeof(clk));
    snprintf(right, sizeof(right), "%s  %s", clk, running ? "RUNNING" : "PAUSED");
    title_bar(ui, cols, "LIVE", right);
    if (!running) {
        /* The paused state stands out even without colour. */
        put(0, cols - 1 - text_width(right), text_width(right), attr(ui, ROLE_WARN) | A_REVERSE,
            right);
    }
    session_header(ui, cols);
    hline_at(3, cols);
    put(4, 1, 40, A_BOLD, "key  marker              count");
    for (size_t k = 0; k < N_KINDS; k++) {
        putf(5 + (int)k, 1, 40, A_NORMAL, " %c   %-20s %5zu", kinds[k].key, kinds[k].label,
             counts[k]);
    }
    ratio_words(counts, ratio, sizeof(ratio));
    put(4, 44, cols - 45, A_BOLD, "Ask : tell (questions : directives)");
    put(5, 44, cols - 45, attr(ui, ROLE_ACCENT), ratio);
    for (size_t i = 0; i < d->n_markers; i++) {
        if (d->markers[i]->kind == COACHQ__V1__MARKER_KIND__MARKER_KIND_REP_SELF_ASSESSED) {
            first_self = (int)i;
            break;
        }
    }
    if (first_self >= 0) {
        fmt_clock(d->markers[first_self]->offset_ms, t, sizeof(t));
        putf(7, 44, cols - 45, A_NORMAL, "Rep first self-assessed at %s", t);
    } else {
        put(7, 44, cols - 45, A_NORMAL, "Rep has not self-assessed yet");
    }
    putf(8, 44, cols - 45, A_NORMAL, "Manager took over %zu time%s", counts[5],
         counts[5] == 1 ? "" : "s");
    putf(9, 44, cols - 45, A_NORMAL, "Markers in all: %zu", d->n_markers);
    hline_at(12, cols);
    put(13, 1, cols - 2, A_BOLD, "Latest markers (n: note on the newest, u: undo it)");
    y = 14;
    for (size_t i = d->n_markers; i > 0 && y < rows - 3; i--, y++) {
        const Coachq__V1__Marker *m = d->markers[i - 1];
        int w;

        fmt_clock(m->offset_ms, t, sizeof(t));
        w = putf(y, 2, cols - 3, i == d->n_markers ? A_BOLD : A_NORMAL, "%s  %-18s", t,
                 kind_label(m->kind));
        if (m->note[0] != '\0') {
            putf(y, 2 + w + 1, cols - 4 - w, A_NORMAL, "\"%s\"", m->note);
        }
    }
    if (d->n_markers == 0) {
        put(y, 2, cols - 3, A_NORMAL, "none yet: tap o d e p s t a as moments happen");
    }
    hline_at(rows - 3, cols);
    footer(ui, rows, cols,
           "o/d/e/p/s/t/a mark  n note  u undo  space pause  Enter rate  ? keys  q quit");
}

/* The body of the details view of the current behaviour: definition,
 * indicators, the four level anchors, and the keys. */
static void details_body(struct ui *ui, struct flow *f, int w)
{
    const Coachq__V1__Behaviour *b = ui->rubric->behaviours[ui->s->cursor];
    const Coachq__V1__Rating *rt = ui->d->ratings[ui->s->cursor];
    char line[LABEL_MAX + 64];

    if (rt->not_applicable) {
        snprintf(line, sizeof(line), "%s: not applicable", b->name);
    } else if (rt->score > 0) {
        snprintf(line, sizeof(line), "%s: %u %s", b->name, rt->score, score_words[rt->score]);
    } else {
        snprintf(line, sizeof(line), "%s: not rated yet", b->name);
    }
    emit(f, 2, w, A_BOLD, NULL, line);
    emit(f, 2, w, A_NORMAL, NULL, b->definition);
    emit(f, 2, w, A_NORMAL, NULL, "");
    emit(f, 2, w, A_BOLD, NULL, "What you can see or hear:");
    for (size_t i = 0; i < b->n_indicators; i++) {
        emit(f, 2, w, A_NORMAL, "- ", b->indicators[i]);
    }
    emit(f, 2, w, A_NORMAL, NULL, "");
    emit(f, 2, w, A_BOLD, NULL, "Levels:");
    for (size_t i = 0; i < b->n_anchors && i < 4; i++) {
        snprintf(line, sizeof(line), "%zu %s%s: ", i + 1, score_words[i + 1],
                 needs_evidence(ui->rubric, (uint32_t)i + 1) ? " (evidence required)" : "");
        emit(f, 2, w, A_BOLD, NULL, line);
        emit(f, 2, w, rt->score == i + 1 ? attr(ui, ROLE_ACCENT) | A_BOLD : A_NORMAL, "  ",
             b->anchors[i]);
    }
    emit(f, 2, w, A_NORMAL, NULL,
         b->allow_not_applicable ? "x not applicable: allowed when the session gave no occasion."
                                 : "Not applicable is not allowed for this behaviour.");
    if (rt->evidence[0] != '\0') {
        emit(f, 2, w, A_NORMAL, "Evidence: ", rt->evidence);
    }
    emit(f, 2, w, A_NORMAL, NULL, "");
    emit(f, 2, w, A_BOLD, NULL, "Keys");
    emit(f, 2, w, A_NORMAL, "  ",
         "1 2 3 4 score, x not applicable, v evidence note, Left/Right the previous or next "
         "behaviour, j/k or Up/Down scroll, i, ? or Esc back to the list.");
}

static void draw_details(struct ui *ui, int rows, int cols)
{
    struct flow f;
    char right[64];
    int view = rows - 3 - 2;

    /* Count first, so that scrolling stops at the end of the text even
     * after the window grew. */
    memset(&f, 0, sizeof(f));
    f.ymax = 1 << 20;
    details_body(ui, &f, cols - 4);
    if (ui->details_top > f.total - view) {
        ui->details_top = f.total > view ? f.total - view : 0;
    }
    snprintf(right, sizeof(right), "behaviour %u of %zu", ui->s->cursor + 1,
             ui->rubric->n_behaviours);
    title_bar(ui, cols, "RATING - DETAILS", right);
    memset(&f, 0, sizeof(f));
    f.y = 2;
    f.ymax = rows - 3;
    f.skip = ui->details_top;
    f.draw = 1;
    details_body(ui, &f, cols - 4);
    hline_at(rows - 3, cols);
    footer(ui, rows, cols,
           f.total > view ? "j/k scroll  1-4 score  x n/a  v evidence  Left/Right behaviour  i back"
                          : "1-4 score  x n/a  v evidence  Left/Right behaviour  i back");
}

/* Whether the rating phase may go back to the live phase: only for a
 * session observed live here, not for an amendment or a fix. */
static int can_go_live(const struct ui *ui)
{
    return ui->o->amend == NULL && ui->o->fix == NULL && ui->d->amends.len == 0 &&
           ui->s->elapsed_ms > 0;
}

static void draw_rating(struct ui *ui, int rows, int cols)
{
    const Coachq__V1__Rubric *r = ui->rubric;
    size_t n = r->n_behaviours;
    size_t cur = ui->s->cursor;
    size_t rated = 0, top = 0;
    char right[64], clk[24], line[2200];
    int list_top = 4, detail_rows = 6;
    int list_rows = rows - 3 - list_top - 1 - detail_rows;
    int y;

    if (ui->details) {
        draw_details(ui, rows, cols);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        rated += ui->d->ratings[i]->score > 0 || ui->d->ratings[i]->not_applicable;
    }
    fmt_clock(clock_now(ui->s, now_ms()), clk, sizeof(clk));
    snprintf(right, sizeof(right), "%zu of %zu rated | session %s", rated, n, clk);
    title_bar(ui, cols, "RATING", right);
    session_header(ui, cols);
    hline_at(3, cols);
    if (list_rows < 3) {
        list_rows = 3;
    }
    if (cur >= (size_t)list_rows) {
        top = cur - (size_t)list_rows + 1;
    }
    y = list_top;
    for (size_t i = top; i < n && y < list_top + list_rows; i++, y++) {
        const Coachq__V1__Behaviour *b = r->behaviours[i];
        const Coachq__V1__Rating *rt = ui->d->ratings[i];
        attr_t a = i == cur ? A_REVERSE : A_NORMAL;
        char score[32];
        int missing = rt->score > 0 && needs_evidence(r, rt->score) && rt->evidence[0] == '\0';

        if (rt->not_applicable) {
            snprintf(score, sizeof(score), "n/a");
        } else if (rt->score > 0) {
            snprintf(score, sizeof(score), "%u %s", rt->score, score_words[rt->score]);
        } else {
            snprintf(score, sizeof(score), "-");
        }
        if (i == cur) {
            attr_on(a, NULL);
            mvhline(y, 0, ' ', cols);
            attr_off(a, NULL);
        }
        putf(y, 0, 52, a, "%c%2zu %-26.26s %-19s", i == cur ? '>' : ' ', i + 1, b->name, score);
        if (missing) {
            put(y, 52, cols - 53, attr(ui, ROLE_WARN) | a, "evidence needed (v)");
        } else if (rt->evidence[0] != '\0') {
            putf(y, 52, cols - 53, a, "ev: %s", rt->evidence);
        }
    }
    y = list_top + list_rows;
    hline_at(y++, cols);
    if (cur < n) {
        const Coachq__V1__Behaviour *b = r->behaviours[cur];
        const Coachq__V1__Rating *rt = ui->d->ratings[cur];
        struct flow f;

        memset(&f, 0, sizeof(f));
        f.y = y;
        f.ymax = rows - 3;
        f.draw = 1;
        if (rt->score > 0 && rt->score <= b->n_anchors) {
            snprintf(line, sizeof(line), "%s - %u %s: %s", b->name, rt->score,
                     score_words[rt->score], b->anchors[rt->score - 1]);
        } else if (rt->not_applicable) {
            snprintf(line, sizeof(line), "%s - not applicable. %s", b->name, b->definition);
        } else {
            snprintf(line, sizeof(line), "%s: %s", b->name, b->definition);
        }
        emit(&f, 1, cols - 2, A_NORMAL, NULL, line);
        if (f.total > detail_rows) {
            put(f.ymax - 1, cols - 16, 15, attr(ui, ROLE_ACCENT), " i: read more ");
        }
    }
    hline_at(rows - 3, cols);
    footer(
        ui, rows, cols,
        can_go_live(ui)
            ? "1-4 score  x n/a  v evidence  i details  j/k move  Enter done  b live  q quit"
            : "1-4 score  x n/a  v evidence  i details  j/k move  Enter done  ? details  q quit");
}

static void draw_actions(struct ui *ui, int rows, int cols)
{
    const Coachq__V1__Observation *d = ui->d;
    size_t cur = ui->s->cursor;
    char right[64];
    int y = 4;

    snprintf(right, sizeof(right), "%zu agreed action%s", d->n_actions,
             d->n_actions == 1 ? "" : "s");
    title_bar(ui, cols, "AGREED ACTIONS", right);
    put(1, 1, cols - 2, A_NORMAL,
        "What did manager and rep agree to do? Optional: Enter goes on to the review.");
    hline_at(3, cols);
    if (d->n_actions == 0) {
        put(y, 2, cols - 3, A_NORMAL, "none yet: a adds one");
    }
    for (size_t i = 0; i < d->n_actions && y < rows - 3; i++, y++) {
        attr_t a = i == cur ? A_REVERSE : A_NORMAL;

        if (i == cur) {
            attr_on(a, NULL);
            mvhline(y, 0, ' ', cols);
            attr_off(a, NULL);
        }
        putf(y, 0, cols - 1, a, "%c%2zu. %s", i == cur ? '>' : ' ', i + 1, d->actions[i]->text);
    }
    hline_at(rows - 3, cols);
    footer(ui, rows, cols,
           "a add  e edit  x delete  j/k move  Enter review  b ratings  ? keys  q quit");
}

static void draw_review(struct ui *ui, int rows, int cols)
{
    const Coachq__V1__Observation *d = ui->d;
    const Coachq__V1__Rubric *r = ui->rubric;
    size_t counts[N_KINDS];
    size_t evidence = 0, at = 0;
    char id[UUID_STR_LEN], am[UUID_STR_LEN], rb[LABEL_MAX], t[64], tm[DAY_TIME_LEN];
    char clk[24], c1[LABEL_MAX], c2[LABEL_MAX], ratio[64], problem[STATUS_MAX], line[1200];
    int y, half, nrows, problem_found;
    struct flow f;

    count_kinds(d, counts);
    title_bar(ui, cols, "REVIEW",
              d->amends.len == UUID_LEN ? "amendment"
              : ui->o->fix != NULL      ? "fixing a rejected observation"
                                        : "");
    uuid_format(d->id.data, id);
    if (d->amends.len == UUID_LEN) {
        putf(1, 1, cols - 2, A_NORMAL, "Observation %s, amends %s", id,
             uuid_format(d->amends.data, am));
    } else {
        putf(1, 1, cols - 2, A_NORMAL, "Observation %s", id);
    }
    rubric_words(ui, rb, sizeof(rb));
    session_type_words(d->session_type, t, sizeof(t));
    day_format_time(d->started_at, tm, sizeof(tm));
    fmt_clock((uint64_t)d->duration_s * 1000u, clk, sizeof(clk));
    putf(2, 1, cols - 2, A_NORMAL, "Rubric   %s", rb);
    putf(3, 1, cols - 2, A_NORMAL, "Coach    %s", person_words(ui, d->coach_id, c1, sizeof(c1)));
    putf(4, 1, cols - 2, A_NORMAL, "Coachee  %s", person_words(ui, d->coachee_id, c2, sizeof(c2)));
    putf(5, 1, cols - 2, A_NORMAL, "Session  %s, focus %s; started %s, %s long", t,
         focus_words(d->focus), tm, clk);
    ratio_words(counts, ratio, sizeof(ratio));
    putf(6, 1, cols - 2, A_NORMAL, "Markers  %zu; ask : tell %s", d->n_markers, ratio);
    putf(7, 1, cols - 2, A_NORMAL,
         "  open %zu, directive %zu, evidence %zu, praise %zu, self %zu, took over %zu, action %zu",
         counts[0], counts[1], counts[2], counts[3], counts[4], counts[5], counts[6]);
    hline_at(8, cols);
    y = 9;
    half = (cols - 2) / 2;
    nrows = r != NULL ? (int)((r->n_behaviours + 1) / 2) : 0;
    if (nrows > 6) {
        nrows = 6;
    }
    for (size_t i = 0; r != NULL && i < r->n_behaviours && i < d->n_ratings; i++) {
        const Coachq__V1__Rating *rt = d->ratings[i];
        int row = (int)(i % (size_t)(nrows > 0 ? nrows : 1));
        int col = (int)(i / (size_t)(nrows > 0 ? nrows : 1));
        char sc[16];

        evidence += rt->evidence[0] != '\0';
        if (col > 1) {
            continue;
        }
        if (rt->not_applicable) {
            snprintf(sc, sizeof(sc), "n/a");
        } else if (rt->score > 0) {
            snprintf(sc, sizeof(sc), "%u", rt->score);
        } else {
            snprintf(sc, sizeof(sc), "-");
        }
        putf(y + row, 1 + col * half, half - 1, A_NORMAL, "%-28.28s %s%s", r->behaviours[i]->name,
             sc, rt->evidence[0] != '\0' ? " +ev" : "");
    }
    if (r != NULL && r->n_behaviours > (size_t)nrows * 2) {
        putf(y + nrows, 1, cols - 2, A_NORMAL, "... and %zu more (r shows them all)",
             r->n_behaviours - (size_t)nrows * 2);
    }
    y += nrows + (r != NULL && r->n_behaviours > (size_t)nrows * 2 ? 1 : 0);
    putf(y++, 1, cols - 2, A_NORMAL, "Evidence %zu note%s   Actions %zu   Session note: %s",
         evidence, evidence == 1 ? "" : "s", d->n_actions, d->notes[0] ? d->notes : "-");
    problem_found = rating_problem(ui, &at, problem, sizeof(problem));
    /* Wrapped, not cut: the problem names the behaviour and what to do. */
    memset(&f, 0, sizeof(f));
    f.y = y;
    f.ymax = rows - 3;
    f.draw = 1;
    emit(&f, 1, cols - 2, attr(ui, problem_found ? ROLE_WARN : ROLE_OK), "Missing  ",
         problem_found ? problem : "nothing: ready to submit");
    y = f.y;
    hline_at(y++, cols);
    memset(&f, 0, sizeof(f));
    f.y = y;
    f.ymax = rows - 2 - ui->foot_n;
    f.draw = 1;
    if (ui->result == RESULT_STORED || ui->result == RESULT_DUPLICATE) {
        if (ui->result == RESULT_STORED) {
            snprintf(line, sizeof(line),
                     "STORED: the server stored this observation (seq %llu, version %u). Press "
                     "any key to exit.",
                     (unsigned long long)ui->result_seq, ui->result_version);
        } else {
            snprintf(line, sizeof(line),
                     "ALREADY STORED: the server had this observation already (a duplicate, "
                     "seq %llu); nothing changed. Press any key to exit.",
                     (unsigned long long)ui->result_seq);
        }
        emit(&f, 1, cols - 2, attr(ui, ROLE_OK) | A_BOLD, NULL, line);
        if (ui->clear_pending) {
            emit(&f, 1, cols - 2, attr(ui, ROLE_WARN), NULL,
                 "The older copy saved on this machine could not be removed yet; a later "
                 "coachq observe --resume finds it stored and offers to discard it.");
        }
    } else if (ui->result == RESULT_QUEUED) {
        snprintf(line, sizeof(line),
                 "QUEUED: the server %s (%s). The observation waits in the outbox on this "
                 "machine; coachq queue flush sends it (so does the next coachq observe). Press "
                 "any key to exit.",
                 code_is_transient(ui->refusal.code) ? "could not be reached" : "refused you",
                 ui->refusal.message);
        emit(&f, 1, cols - 2, attr(ui, ROLE_ACCENT) | A_BOLD, NULL, line);
    } else if (ui->modal == MODAL_SENDING) {
        put(y, 1, cols - 2, A_BOLD, "Sending to the server...");
    } else if (ui->refused) {
        snprintf(line, sizeof(line), "REFUSED: %s (%s)%s%s: %s", code_words(ui->refusal.code),
                 code_name(ui->refusal.code), ui->refusal.field[0] ? " at " : "", ui->refusal.field,
                 ui->refusal.message);
        emit(&f, 1, cols - 2, attr(ui, ROLE_WARN) | A_BOLD, NULL, line);
    }
    hline_at(rows - 3, cols);
    if (ui->result != RESULT_NONE) {
        footer(ui, rows, cols, "any key exits");
    } else if (ui->refused) {
        footer(ui, rows, cols,
               "s submit  b fix  r ratings  a actions  c details  n note  ? keys  q leave");
    } else {
        footer(ui, rows, cols,
               "s submit  r ratings  a actions  c change details  n note  ? keys  q quit");
    }
}

/* The keys of the current phase, in words. */
static void draw_help(struct ui *ui, int rows, int cols)
{
    static const char *const setup[] = {
        "Typing          searches the list (ids and names)",
        "Up/Down         move; PgUp/PgDn move a page",
        "Enter           choose (with no match: use what you typed as the id)",
        "Backspace       delete a search character",
        "Esc             back a step (at the first step: quit)",
        "Ctrl-C          quit; the session is saved",
        NULL,
    };
    static const char *const live[] = {
        "o  open question            d  directive (the manager tells)",
        "e  evidence asked           p  praise",
        "s  rep self-assessed        t  manager took over",
        "a  action agreed",
        "Each marker is stamped with the clock's time.",
        "",
        "n       add or edit a short note on the last marker",
        "u       undo the last marker",
        "space   pause or resume the clock",
        "Enter   end the session and rate it (also r)",
        "q       quit; the session is saved: coachq observe --resume continues it",
        "?       these keys",
        "",
        "Every key is saved at once, so a crash or a closed lid loses nothing.",
        NULL,
    };
    static const char *const actions[] = {
        "a       add an agreed action",       "e       edit the selected action",
        "x       delete the selected action", "j/k     move (also Up/Down)",
        "Enter   go on to the review",        "b       back to the ratings",
        "q       quit; the session is saved", NULL,
    };
    static const char *const review[] = {
        "s       submit to the server",
        "r       back to the ratings",
        "a       back to the agreed actions",
        "c       change coach, coachee, session type or focus",
        "n       write the session note",
        "b       after a refusal: go to what the server named",
        "q       quit (after a refusal: leave it in the outbox as rejected)",
        NULL,
    };
    static const char *const rating[] = {
        "1 2 3 4 score: 1 not demonstrated, 2 developing, 3 proficient, 4 exemplary",
        "x       not applicable (where the rubric allows it)",
        "v       write or edit the evidence note",
        "i or ?  definition, indicators and level anchors of the behaviour",
        "j/k     move (also Up/Down)",
        "Enter   done: go on to the agreed actions",
        "b       back to the live phase (the clock resumes)",
        "q       quit; the session is saved",
        NULL,
    };
    const char *const *lines;
    int y = 2;

    switch ((enum phase)ui->s->phase) {
    case PHASE_LIVE:
        lines = live;
        break;
    case PHASE_RATING:
        lines = rating;
        break;
    case PHASE_ACTIONS:
        lines = actions;
        break;
    case PHASE_REVIEW:
        lines = review;
        break;
    default:
        lines = setup;
        break;
    }
    title_bar(ui, cols, "KEYS", "");
    for (size_t i = 0; lines[i] != NULL && y < rows - 3; i++, y++) {
        put(y, 2, cols - 3, A_NORMAL, lines[i]);
    }
    hline_at(rows - 3, cols);
    put(rows - 2, 1, cols - 2, attr(ui, ROLE_ACCENT), "any key closes this");
    if (!journaled(ui)) {
        /* The lines above describe a working store; this one is now. */
        put(rows - 1, 1, cols - 2, attr(ui, ROLE_WARN) | A_BOLD,
            "NOW: NOT SAVED to disk; kept in memory; q asks you to type discard");
    }
}

/* The line editor on the two rows above the footer. */
static void draw_editor(struct ui *ui, int rows, int cols)
{
    struct editor *ed = &ui->ed;
    wchar_t *b = ed->buf;
    int avail = cols - 4;
    size_t start = ed->pos;
    int w = 0, x;
    char bytes[32];

    mvhline(rows - 4, 0, ' ', cols);
    mvhline(rows - 3, 0, ' ', cols);
    mvhline(rows - 2, 0, ' ', cols);
    snprintf(bytes, sizeof(bytes), " Enter saves, Esc cancels");
    put(rows - 4, 1, cols - 2 - text_width(bytes), attr(ui, ROLE_ACCENT) | A_BOLD, ed->prompt);
    put(rows - 4, cols - 1 - text_width(bytes), text_width(bytes), A_NORMAL, bytes);
    mvhline(rows - 3, 0, ACS_HLINE, cols);
    /* Scroll so that the cursor is visible, showing as much as fits before
     * it. */
    while (start > 0) {
        int cw = wcwidth(b[start - 1]);

        if (cw < 0) {
            cw = 1;
        }
        if (w + cw > avail - 1) {
            break;
        }
        w += cw;
        start--;
    }
    put(rows - 2, 0, 2, A_BOLD, "> ");
    x = 2;
    for (size_t i = start; i < ed->len; i++) {
        int cw = wcwidth(b[i]);

        if (cw < 0) {
            cw = 1;
        }
        if (x + cw > cols - 1) {
            break;
        }
        mvaddnwstr(rows - 2, x, &b[i], 1);
        x += cw;
    }
    move(rows - 2, 2 + w);
}

static void draw_modal_line(struct ui *ui, int rows, int cols)
{
    const char *q = NULL;
    char typed[96];

    if (ui->modal == MODAL_DISCARD) {
        snprintf(typed, sizeof(typed),
                 "not saved: type %s, Enter to quit and lose it; Esc stays: %s_", DISCARD_WORD,
                 ui->discard);
        q = typed;
    } else if (ui->modal == MODAL_QUIT) {
        q = ui->s->phase == PHASE_SETUP && ui->d->started_at == 0
                ? "quit? the choices so far are saved; coachq observe --resume continues (y/n)"
                : "quit? the session is saved; coachq observe --resume continues it (y/n)";
    } else if (ui->modal == MODAL_REJECT) {
        q = "leave it in the outbox as rejected? coachq queue list shows it (y/n)";
    } else if (ui->modal == MODAL_CONFLICT && ui->conflict_confirm) {
        q = "discard the copy on this machine for good? (y/n)";
    }
    if (q != NULL) {
        attr_t a = attr(ui, ROLE_WARN) | A_REVERSE;

        attr_on(a, NULL);
        mvhline(rows - 2, 0, ' ', cols);
        attr_off(a, NULL);
        put(rows - 2, 1, cols - 2, a, q);
    }
}

/* "7 rated, 3 evidence notes, 12 markers, 1 action" for an observation. */
static void content_words(const Coachq__V1__Observation *o, char *buf, size_t len)
{
    size_t rated = 0, evidence = 0;

    for (size_t i = 0; o != NULL && i < o->n_ratings; i++) {
        rated += o->ratings[i]->score > 0 || o->ratings[i]->not_applicable;
        evidence += o->ratings[i]->evidence[0] != '\0';
    }
    snprintf(buf, len, "%zu rated, %zu evidence note%s, %zu marker%s, %zu action%s", rated,
             evidence, evidence == 1 ? "" : "s", o != NULL ? o->n_markers : 0,
             o != NULL && o->n_markers == 1 ? "" : "s", o != NULL ? o->n_actions : 0,
             o != NULL && o->n_actions == 1 ? "" : "s");
}

/* The server has this observation's id with other content (MODAL_CONFLICT):
 * both sides, and the ways out. */
static void draw_conflict(struct ui *ui, int rows, int cols)
{
    const Coachq__V1__StoredObservation *rec = ui->conflict;
    char id[UUID_STR_LEN], tm[DAY_TIME_LEN], line[512], mine[160], theirs[160];
    struct flow f;

    uuid_format(ui->d->id.data, id);
    day_format_time(rec->received_at_ms / 1000, tm, sizeof(tm));
    content_words(rec->observation, theirs, sizeof(theirs));
    content_words(ui->d, mine, sizeof(mine));
    title_bar(ui, cols, "ALREADY STORED", "");
    memset(&f, 0, sizeof(f));
    f.y = 2;
    f.ymax = rows - 3;
    f.draw = 1;
    snprintf(line, sizeof(line),
             "The server already has observation %s (version %u, stored %s), and the copy on "
             "this machine differs from it. It is most likely an older state, left behind when "
             "the disk was full as the session was submitted.",
             id, rec->version != 0 ? rec->version : 1, tm);
    emit(&f, 2, cols - 4, A_NORMAL, NULL, line);
    f.y++;
    emit(&f, 2, cols - 4, A_NORMAL, "On the server:   ", theirs);
    emit(&f, 2, cols - 4, A_NORMAL, "On this machine: ", mine);
    f.y++;
    emit(&f, 2, cols - 4, A_NORMAL, NULL,
         "d  discard the copy on this machine (the stored one stays as it is)");
    emit(&f, 2, cols - 4, A_NORMAL, NULL,
         "a  submit this copy as an amendment: a new version of the stored one");
    emit(&f, 2, cols - 4, A_NORMAL, NULL, "k  keep this copy and go back to it");
    emit(&f, 2, cols - 4, A_NORMAL, NULL, "q  quit and keep this copy on this machine");
    hline_at(rows - 3, cols);
    footer(ui, rows, cols, "d discard  a amend  k keep  q quit");
    if (ui->conflict_confirm) {
        draw_modal_line(ui, rows - (ui->foot_n - 1), cols);
    }
}

static void draw(struct ui *ui)
{
    int rows, cols;
    int64_t now = now_ms();

    getmaxyx(stdscr, rows, cols);
    erase();
    curs_set(0);
    ui->foot_n = 1;
    if (rows < MIN_ROWS || cols < MIN_COLS) {
        draw_too_small(ui, rows, cols);
        refresh();
        return;
    }
    if (ui->modal == MODAL_HELP) {
        draw_help(ui, rows, cols);
        refresh();
        return;
    }
    if (ui->modal == MODAL_CONFLICT) {
        draw_conflict(ui, rows, cols);
        refresh();
        return;
    }
    /* Counted first, so that a screen can keep its own text above them. */
    footer(ui, rows, cols, NULL);
    switch ((enum phase)ui->s->phase) {
    case PHASE_LIVE:
        draw_live(ui, rows, cols, now);
        break;
    case PHASE_RATING:
        draw_rating(ui, rows, cols);
        break;
    case PHASE_ACTIONS:
        draw_actions(ui, rows, cols);
        break;
    case PHASE_REVIEW:
        draw_review(ui, rows, cols);
        break;
    default:
        draw_setup(ui, rows, cols);
        break;
    }
    /* Both sit just above the messages, however many rows they took. */
    draw_modal_line(ui, rows - (ui->foot_n - 1), cols);
    if (ui->ed.target != EDIT_NONE) {
        draw_editor(ui, rows - (ui->foot_n - 1), cols);
        curs_set(1);
    }
    refresh();
}

/* ---- The line editor ------------------------------------------------------ */

/* The UTF-8 (locale) form of the editor's text into out. Returns its
 * length, or -ENAMETOOLONG when it does not fit in len bytes. */
static int editor_text(const struct editor *ed, char *out, size_t len)
{
    mbstate_t st;
    size_t n = 0;

    memset(&st, 0, sizeof(st));
    for (size_t i = 0; i < ed->len; i++) {
        char mb[MB_LEN_MAX];
        size_t k = wcrtomb(mb, ed->buf[i], &st);

        if (k == (size_t)-1) {
            continue;
        }
        if (n + k + 1 > len) {
            return -ENAMETOOLONG;
        }
        memcpy(out + n, mb, k);
        n += k;
    }
    out[n] = '\0';
    return (int)n;
}

static void editor_open(struct ui *ui, enum edit_target t, size_t index, size_t max_bytes,
                        const char *initial, const char *prompt)
{
    struct editor *ed = &ui->ed;
    mbstate_t st;
    size_t i = 0, len = initial != NULL ? strlen(initial) : 0;

    memset(ed, 0, sizeof(*ed));
    ed->target = t;
    ed->index = index;
    ed->max_bytes = max_bytes;
    snprintf(ed->prompt, sizeof(ed->prompt), "%s", prompt);
    memset(&st, 0, sizeof(st));
    while (i < len && ed->len < EDIT_MAX) {
        wchar_t wc;
        size_t k = mbrtowc(&wc, initial + i, len - i, &st);

        if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
            break;
        }
        ed->buf[ed->len++] = wc;
        i += k;
    }
    ed->pos = ed->len;
}

static void editor_close(struct ui *ui)
{
    ui->ed.target = EDIT_NONE;
}

/* Where the cursor goes after a rating's evidence was written or not. */
static void rating_advance(struct ui *ui)
{
    if (ui->s->cursor + 1 < ui->rubric->n_behaviours) {
        ui->s->cursor++;
        ui->dirty = 1;
    }
}

static void editor_commit(struct ui *ui)
{
    struct editor *ed = &ui->ed;
    char *text;
    int rc = -ENOMEM;
    int n;

    text = malloc(EDIT_MAX * MB_LEN_MAX + 1);
    if (text == NULL) {
        say(ui, 1, "out of memory: the text was not kept");
        return;
    }
    n = editor_text(ed, text, EDIT_MAX * MB_LEN_MAX + 1);
    if (n < 0 || (size_t)n > ed->max_bytes) {
        say(ui, 1, "too long: at most %zu bytes; shorten it", ed->max_bytes);
        free(text);
        return;
    }
    if (validate_utf8(text, (size_t)n) < 0) {
        say(ui, 1, "the text is not UTF-8 (check the terminal's locale)");
        free(text);
        return;
    }
    switch (ed->target) {
    case EDIT_NOTE:
        if (ed->index < ui->d->n_markers) {
            rc = set_str(&ui->d->markers[ed->index]->note, text);
            say(ui, 0, "note %s", n > 0 ? "saved" : "removed");
        }
        break;
    case EDIT_EVIDENCE:
        if (ed->index < ui->d->n_ratings) {
            rc = set_str(&ui->d->ratings[ed->index]->evidence, text);
            say(ui, 0, "evidence %s", n > 0 ? "saved" : "removed");
        }
        break;
    case EDIT_ACTION_NEW:
        if (n == 0) {
            rc = 0;
            break;
        }
        rc = action_add(ui, text);
        if (rc == 0) {
            ui->s->cursor = (uint32_t)(ui->d->n_actions - 1);
            say(ui, 0, "action added");
        }
        break;
    case EDIT_ACTION:
        if (ed->index < ui->d->n_actions) {
            if (n == 0) {
                action_delete(ui, ed->index);
                rc = 0;
            } else {
                rc = set_str(&ui->d->actions[ed->index]->text, text);
            }
        }
        break;
    case EDIT_NOTES:
        rc = set_str(&ui->d->notes, text);
        break;
    default:
        rc = 0;
        break;
    }
    free(text);
    if (rc == -ENOMEM) {
        say(ui, 1, "out of memory: the text was not kept");
        return;
    }
    ui->dirty = 1;
    if (ed->advance) {
        rating_advance(ui);
    }
    editor_close(ui);
}

static int is_enter(int is_key, wint_t ch)
{
    return is_key ? ch == KEY_ENTER : (ch == '\r' || ch == '\n');
}

static int is_backspace(int is_key, wint_t ch)
{
    return is_key ? ch == KEY_BACKSPACE : (ch == 127 || ch == 8);
}

static void editor_key(struct ui *ui, int is_key, wint_t ch)
{
    struct editor *ed = &ui->ed;

    if (is_enter(is_key, ch)) {
        editor_commit(ui);
        return;
    }
    if (!is_key && (ch == KEY_ESC || ch == KEY_CTRL_C)) {
        if (ed->advance) {
            rating_advance(ui);
        }
        say(ui, 0, "not changed");
        editor_close(ui);
        return;
    }
    if (is_backspace(is_key, ch)) {
        if (ed->pos > 0) {
            memmove(&ed->buf[ed->pos - 1], &ed->buf[ed->pos],
                    (ed->len - ed->pos) * sizeof(ed->buf[0]));
            ed->pos--;
            ed->len--;
        }
        return;
    }
    if (is_key) {
        switch (ch) {
        case KEY_LEFT:
            if (ed->pos > 0) {
                ed->pos--;
            }
            break;
        case KEY_RIGHT:
            if (ed->pos < ed->len) {
                ed->pos++;
            }
            break;
        case KEY_HOME:
            ed->pos = 0;
            break;
        case KEY_END:
            ed->pos = ed->len;
            break;
        case KEY_DC:
            if (ed->pos < ed->len) {
                memmove(&ed->buf[ed->pos], &ed->buf[ed->pos + 1],
                        (ed->len - ed->pos - 1) * sizeof(ed->buf[0]));
                ed->len--;
            }
            break;
        default:
            break;
        }
        return;
    }
    if (ch == 1) { /* Ctrl-A */
        ed->pos = 0;
        return;
    }
    if (ch == 5) { /* Ctrl-E */
        ed->pos = ed->len;
        return;
    }
    if (ch == 21) { /* Ctrl-U */
        ed->len = 0;
        ed->pos = 0;
        return;
    }
    if (ch == '\t') {
        ch = ' ';
    }
    /* Only text the record can hold: printable characters, and outside a
     * UTF-8 locale only ASCII (the record's text is UTF-8). */
    if (!iswprint(ch) || (!ui->utf8 && ch > 126)) {
        return;
    }
    if (ed->len >= EDIT_MAX) {
        say(ui, 1, "the text is full");
        return;
    }
    memmove(&ed->buf[ed->pos + 1], &ed->buf[ed->pos], (ed->len - ed->pos) * sizeof(ed->buf[0]));
    ed->buf[ed->pos++] = (wchar_t)ch;
    ed->len++;
}

/* ---- Setup ---------------------------------------------------------------- */

static void picker_free(struct picker *pk)
{
    free(pk->items);
    free(pk->match);
    memset(pk, 0, sizeof(*pk));
    pk->step = -1;
}

static void picker_filter(struct picker *pk)
{
    pk->n_match = 0;
    pk->confirm_free = 0;
    for (size_t i = 0; i < pk->n; i++) {
        if (ci_contains(pk->items[i].id, pk->filter) ||
            ci_contains(pk->items[i].label, pk->filter)) {
            pk->match[pk->n_match++] = i;
        }
    }
    if (pk->sel >= pk->n_match) {
        pk->sel = pk->n_match > 0 ? pk->n_match - 1 : 0;
    }
    if (pk->top > pk->sel) {
        pk->top = pk->sel;
    }
}

static int picker_push(struct picker *pk, size_t cap, const char *id, const char *label, int value)
{
    struct pick_item *it;

    if (pk->n >= cap) {
        return -ENOSPC;
    }
    it = &pk->items[pk->n++];
    snprintf(it->id, sizeof(it->id), "%s", id);
    snprintf(it->label, sizeof(it->label), "%s", label);
    it->value = value;
    return 0;
}

/* Builds the picker for a setup step, preselecting the current value. */
static int picker_build(struct ui *ui, int step)
{
    struct picker *pk = &ui->pk;
    const Coachq__V1__Observation *d = ui->d;
    const char *current = NULL;
    size_t cap;
    char buf[LABEL_MAX];

    picker_free(pk);
    switch (step) {
    case STEP_RUBRIC:
        cap = ui->n_rlist;
        break;
    case STEP_COACH:
    case STEP_COACHEE:
        cap = ui->people != NULL ? ui->people->n_people : 0;
        break;
    default:
        cap = 8;
        break;
    }
    pk->items = calloc(cap > 0 ? cap : 1, sizeof(*pk->items));
    pk->match = calloc(cap > 0 ? cap : 1, sizeof(*pk->match));
    if (pk->items == NULL || pk->match == NULL) {
        picker_free(pk);
        return -ENOMEM;
    }
    pk->step = step;
    switch (step) {
    case STEP_RUBRIC:
        for (size_t i = 0; i < ui->n_rlist; i++) {
            snprintf(buf, sizeof(buf), "%s v%u", ui->rlist[i]->name, ui->rlist[i]->version);
            picker_push(pk, cap, ui->rlist[i]->id, buf, (int)i);
        }
        current = d->rubric_id;
        break;
    case STEP_COACH:
        for (size_t i = 0; i < cap; i++) {
            const Coachq__V1__PersonSummary *p = ui->people->people[i];

            if (has_role(p, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER)) {
                picker_push(pk, cap, p->id, p->name, 0);
            }
        }
        pk->allow_free = 1;
        current = d->coach_id;
        break;
    case STEP_COACHEE:
        /* The coach's own reps; when the coach is not in the list (typed
         * by hand), everyone who is not a manager. */
        for (size_t i = 0; i < cap; i++) {
            const Coachq__V1__PersonSummary *p = ui->people->people[i];

            if (strcmp(p->manager_id, d->coach_id) == 0 &&
                !has_role(p, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER)) {
                picker_push(pk, cap, p->id, p->name, 0);
            }
        }
        for (size_t i = 0; pk->n == 0 && i < cap; i++) {
            const Coachq__V1__PersonSummary *p = ui->people->people[i];

            if (!has_role(p, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER)) {
                picker_push(pk, cap, p->id, p->name, 0);
            }
        }
        pk->allow_free = 1;
        current = d->coachee_id;
        break;
    case STEP_TYPE:
        for (int v = 1; v <= 6; v++) {
            picker_push(pk, cap, obs_json_session_type_name(v),
                        session_type_words(v, buf, sizeof(buf)), v);
        }
        current = obs_json_session_type_name(d->session_type);
        break;
    default:
        for (int v = 1; v <= 3; v++) {
            picker_push(pk, cap, obs_json_focus_name(v),
                        v == COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_HUMAN
                            ? "human side (motivation, stress, rejection)"
                            : focus_words(v),
                        v);
        }
        current = obs_json_focus_name(d->focus);
        break;
    }
    picker_filter(pk);
    for (size_t i = 0; current != NULL && i < pk->n_match; i++) {
        if (strcmp(pk->items[pk->match[i]].id, current) == 0) {
            pk->sel = i;
        }
    }
    return 0;
}

/* Whether a step still needs the observer: during the first setup, steps
 * whose value is already set (by an option or an earlier answer) are
 * skipped; when changing details after the session (started_at set),
 * every step from coach on is shown. */
static int step_needed(const struct ui *ui, int step)
{
    const Coachq__V1__Observation *d = ui->d;

    if (d->started_at != 0) {
        return step != STEP_RUBRIC;
    }
    switch (step) {
    case STEP_RUBRIC:
        return d->rubric_id[0] == '\0' || ui->rubric == NULL;
    case STEP_COACH:
        return d->coach_id[0] == '\0';
    case STEP_COACHEE:
        return d->coachee_id[0] == '\0';
    case STEP_TYPE:
        return d->session_type == 0;
    default:
        return d->focus == 0;
    }
}

static void live_enter(struct ui *ui, int64_t now)
{
    set_phase(ui, PHASE_LIVE, 0);
    clock_start(ui, now);
    say(ui, 0, "the clock runs: tap a key for each moment (? shows the keys)");
}

/* Shows the first step from `from` on that needs the observer, or ends
 * setup: into the live phase for a new session, back to the review after
 * changing details. */
static void setup_next(struct ui *ui, int from, int64_t now)
{
    for (int st = from; st < STEP_COUNT; st++) {
        if (step_needed(ui, st)) {
            set_phase(ui, PHASE_SETUP, (uint32_t)st);
            if (picker_build(ui, st) < 0) {
                say(ui, 1, "out of memory");
            }
            return;
        }
    }
    picker_free(&ui->pk);
    if (ui->d->started_at != 0) {
        set_phase(ui, PHASE_REVIEW, 0);
    } else {
        live_enter(ui, now);
    }
}

/* Takes the picker's choice (or the typed id) for the current step. */
static void setup_choose(struct ui *ui, int64_t now)
{
    struct picker *pk = &ui->pk;
    Coachq__V1__Observation *d = ui->d;
    int step = (int)ui->s->cursor;
    const struct pick_item *it = NULL;
    const char *id;

    if (pk->n_match > 0) {
        it = &pk->items[pk->match[pk->sel]];
        id = it->id;
    } else if (pk->allow_free && pk->filter[0] != '\0') {
        if (validate_id(pk->filter) < 0) {
            say(ui, 1, "\"%s\" is not an id: ids are letters, digits and . _ @ -", pk->filter);
            return;
        }
        /* A search that found nobody is more likely a typo than an id
         * missing from the list: ask once more. */
        if (pk->n > 0 && !pk->confirm_free) {
            pk->confirm_free = 1;
            say(ui, 1, "\"%s\" is not in the list: Enter again uses it as the id", pk->filter);
            return;
        }
        id = pk->filter;
    } else {
        say(ui, 1, "nothing matches: Backspace shortens the search");
        return;
    }
    switch (step) {
    case STEP_RUBRIC:
        if (it == NULL) {
            return;
        }
        if (ui->rubric != NULL) {
            coachq__v1__rubric__free_unpacked(ui->rubric, NULL);
        }
        ui->rubric = pb_copy(&ui->rlist[it->value]->base);
        if (ui->rubric == NULL || set_str(&d->rubric_id, ui->rubric->id) < 0) {
            say(ui, 1, "out of memory");
            return;
        }
        d->rubric_version = ui->rubric->version;
        break;
    case STEP_COACH:
        if (strcmp(d->coach_id, id) != 0 && d->started_at == 0) {
            /* Another coach: the coachee chosen for the old one is asked
             * again. */
            (void)set_str(&d->coachee_id, "");
        }
        if (set_str(&d->coach_id, id) < 0) {
            say(ui, 1, "out of memory");
            return;
        }
        break;
    case STEP_COACHEE:
        if (set_str(&d->coachee_id, id) < 0) {
            say(ui, 1, "out of memory");
            return;
        }
        break;
    case STEP_TYPE:
        d->session_type = it != NULL ? it->value : 0;
        break;
    default:
        d->focus = it != NULL ? it->value : 0;
        break;
    }
    ui->dirty = 1;
    ui->status[0] = '\0';
    setup_next(ui, step + 1, now);
}

/* Esc: one interactive step back; at the first, the quit question. After
 * the session (changing details), back to the review. */
static void setup_back(struct ui *ui)
{
    int step = (int)ui->s->cursor;

    if (ui->d->started_at != 0) {
        picker_free(&ui->pk);
        set_phase(ui, PHASE_REVIEW, 0);
        return;
    }
    for (int st = step - 1; st >= 0; st--) {
        int preset = (st == STEP_RUBRIC && ui->o->rubric_id != NULL) ||
                     (st == STEP_COACH && ui->o->coach_id != NULL) ||
                     (st == STEP_COACHEE && ui->o->coachee_id != NULL) ||
                     (st == STEP_TYPE && ui->o->session_type != 0) ||
                     (st == STEP_FOCUS && ui->o->focus != 0);

        if (!preset && (st != STEP_RUBRIC || ui->n_rlist > 0)) {
            set_phase(ui, PHASE_SETUP, (uint32_t)st);
            if (picker_build(ui, st) < 0) {
                say(ui, 1, "out of memory");
            }
            return;
        }
    }
    ask_quit(ui);
}

static void setup_key(struct ui *ui, int is_key, wint_t ch, int64_t now)
{
    struct picker *pk = &ui->pk;
    size_t page = 8;

    if (pk->step != (int)ui->s->cursor && picker_build(ui, (int)ui->s->cursor) < 0) {
        say(ui, 1, "out of memory");
        return;
    }
    if (is_enter(is_key, ch)) {
        setup_choose(ui, now);
        return;
    }
    if (is_backspace(is_key, ch)) {
        size_t n = strlen(pk->filter);

        while (n > 0) {
            n--;
            if (((unsigned char)pk->filter[n] & 0xC0) != 0x80) {
                break;
            }
        }
        pk->filter[n] = '\0';
        picker_filter(pk);
        return;
    }
    if (is_key) {
        switch (ch) {
        case KEY_UP:
            if (pk->sel > 0) {
                pk->sel--;
            }
            break;
        case KEY_DOWN:
            if (pk->sel + 1 < pk->n_match) {
                pk->sel++;
            }
            break;
        case KEY_PPAGE:
            pk->sel = pk->sel > page ? pk->sel - page : 0;
            break;
        case KEY_NPAGE:
            pk->sel = pk->sel + page < pk->n_match ? pk->sel + page
                                                   : (pk->n_match > 0 ? pk->n_match - 1 : 0);
            break;
        default:
            break;
        }
        if (pk->sel < pk->top) {
            pk->top = pk->sel;
        }
        if (pk->sel >= pk->top + 10) {
            pk->top = pk->sel - 9;
        }
        return;
    }
    if (ch == KEY_ESC) {
        setup_back(ui);
        return;
    }
    if (ch == '?') {
        ui->modal = MODAL_HELP;
        return;
    }
    if (iswprint(ch) && (ui->utf8 || ch < 127)) {
        char mb[MB_LEN_MAX];
        mbstate_t st;
        size_t n = strlen(pk->filter);
        size_t k;

        memset(&st, 0, sizeof(st));
        k = wcrtomb(mb, (wchar_t)ch, &st);
        if (k != (size_t)-1 && n + k < sizeof(pk->filter)) {
            memcpy(pk->filter + n, mb, k);
            pk->filter[n + k] = '\0';
            pk->sel = 0;
            pk->top = 0;
            picker_filter(pk);
        }
    }
}

/* ---- Live, rating, actions, review ---------------------------------------- */

static void rating_enter(struct ui *ui, uint32_t cursor)
{
    if (ratings_align(ui) < 0) {
        say(ui, 1, "out of memory");
        return;
    }
    set_phase(ui, PHASE_RATING, cursor < ui->rubric->n_behaviours ? cursor : 0);
    ui->details = 0;
}

static void live_key(struct ui *ui, int is_key, wint_t ch, int64_t now)
{
    char t[24];

    if (is_enter(is_key, ch) || (!is_key && ch == 'r')) {
        clock_stop(ui, now);
        set_duration(ui, now);
        fmt_clock(ui->s->elapsed_ms, t, sizeof(t));
        rating_enter(ui, 0);
        say(ui, 0, "session ended at %s: rate each behaviour (i shows its definition)", t);
        return;
    }
    if (is_key) {
        return;
    }
    /* Caps Lock must not lose a marker. */
    for (size_t k = 0; k < N_KINDS; k++) {
        if ((wint_t)kinds[k].key == towlower(ch)) {
            (void)marker_add(ui, kinds[k].kind, now);
            return;
        }
    }
    switch (ch) {
    case ' ':
        if (clock_running(ui->s)) {
            clock_stop(ui, now);
            say(ui, 0, "paused: space resumes the clock");
        } else {
            clock_start(ui, now);
            say(ui, 0, "the clock runs again");
        }
        break;
    case 'u':
        marker_undo(ui);
        break;
    case 'n':
        if (ui->d->n_markers == 0) {
            say(ui, 1, "no marker yet: tap a marker key first");
        } else {
            const Coachq__V1__Marker *m = ui->d->markers[ui->d->n_markers - 1];
            char prompt[LABEL_MAX];

            fmt_clock(m->offset_ms, t, sizeof(t));
            snprintf(prompt, sizeof(prompt), "Note on %s at %s:", kind_label(m->kind), t);
            editor_open(ui, EDIT_NOTE, ui->d->n_markers - 1, VALIDATE_MAX_NOTE, m->note, prompt);
        }
        break;
    case '?':
        ui->modal = MODAL_HELP;
        break;
    case 'q':
    case KEY_CTRL_C:
        ask_quit(ui);
        break;
    default:
        break;
    }
}

static void open_evidence(struct ui *ui, int advance)
{
    const Coachq__V1__Behaviour *b = ui->rubric->behaviours[ui->s->cursor];
    const Coachq__V1__Rating *rt = ui->d->ratings[ui->s->cursor];
    char prompt[LABEL_MAX];

    if (rt->score > 0 && needs_evidence(ui->rubric, rt->score)) {
        snprintf(prompt, sizeof(prompt), "Evidence for %s (required for a %u):", b->name,
                 rt->score);
    } else {
        snprintf(prompt, sizeof(prompt), "Evidence for %s:", b->name);
    }
    editor_open(ui, EDIT_EVIDENCE, ui->s->cursor, VALIDATE_MAX_EVIDENCE, rt->evidence, prompt);
    ui->ed.advance = advance;
}

/* The keys that rate the current behaviour, shared by the list and the
 * details view. Returns 1 when ch was one of them. */
static int rate_key(struct ui *ui, wint_t ch)
{
    const Coachq__V1__Behaviour *b = ui->rubric->behaviours[ui->s->cursor];
    Coachq__V1__Rating *rt = ui->d->ratings[ui->s->cursor];

    if (ch >= '1' && ch <= '4') {
        rt->score = (uint32_t)(ch - '0');
        rt->not_applicable = 0;
        ui->dirty = 1;
        say(ui, 0, "%s: %u %s", b->name, rt->score, score_words[rt->score]);
        if (needs_evidence(ui->rubric, rt->score) && rt->evidence[0] == '\0') {
            /* The rubric wants evidence for this score: ask for it now,
             * while the observer remembers. */
            open_evidence(ui, !ui->details);
        } else if (!ui->details) {
            rating_advance(ui);
        }
        return 1;
    }
    if (ch == 'x') {
        if (!b->allow_not_applicable) {
            say(ui, 1, "%s cannot be rated not applicable in this rubric", b->name);
            return 1;
        }
        rt->score = 0;
        rt->not_applicable = 1;
        ui->dirty = 1;
        say(ui, 0, "%s: not applicable", b->name);
        if (!ui->details) {
            rating_advance(ui);
        }
        return 1;
    }
    if (ch == 'v') {
        open_evidence(ui, 0);
        return 1;
    }
    return 0;
}

static void details_key(struct ui *ui, int is_key, wint_t ch)
{
    if (is_key) {
        switch (ch) {
        case KEY_UP:
            if (ui->details_top > 0) {
                ui->details_top--;
            }
            break;
        case KEY_DOWN:
            ui->details_top++;
            break;
        case KEY_PPAGE:
            ui->details_top = ui->details_top > 10 ? ui->details_top - 10 : 0;
            break;
        case KEY_NPAGE:
            ui->details_top += 10;
            break;
        case KEY_LEFT:
            if (ui->s->cursor > 0) {
                ui->s->cursor--;
                ui->details_top = 0;
                ui->dirty = 1;
            }
            break;
        case KEY_RIGHT:
            if (ui->s->cursor + 1 < ui->rubric->n_behaviours) {
                ui->s->cursor++;
                ui->details_top = 0;
                ui->dirty = 1;
            }
            break;
        default:
            break;
        }
        return;
    }
    if (rate_key(ui, ch)) {
        return;
    }
    switch (ch) {
    case 'j':
        ui->details_top++;
        break;
    case 'k':
        if (ui->details_top > 0) {
            ui->details_top--;
        }
        break;
    case 'i':
    case '?':
    case 'q':
    case KEY_ESC:
        ui->details = 0;
        break;
    case KEY_CTRL_C:
        ask_quit(ui);
        break;
    default:
        break;
    }
}

static void rating_key(struct ui *ui, int is_key, wint_t ch, int64_t now)
{
    size_t n = ui->rubric->n_behaviours;
    size_t at;
    char problem[STATUS_MAX];

    if (ui->details) {
        details_key(ui, is_key, ch);
        return;
    }
    if (is_enter(is_key, ch)) {
        if (rating_problem(ui, &at, problem, sizeof(problem))) {
            ui->s->cursor = (uint32_t)at;
            ui->dirty = 1;
            say(ui, 1, "%s", problem);
            return;
        }
        set_phase(ui, PHASE_ACTIONS, 0);
        say(ui, 0, "all rated: add the agreed actions, or Enter for the review");
        return;
    }
    if (is_key) {
        if (ch == KEY_UP && ui->s->cursor > 0) {
            ui->s->cursor--;
            ui->dirty = 1;
        } else if (ch == KEY_DOWN && ui->s->cursor + 1 < n) {
            ui->s->cursor++;
            ui->dirty = 1;
        } else if (ch == KEY_HOME) {
            ui->s->cursor = 0;
            ui->dirty = 1;
        } else if (ch == KEY_END && n > 0) {
            ui->s->cursor = (uint32_t)(n - 1);
            ui->dirty = 1;
        }
        return;
    }
    if (rate_key(ui, ch)) {
        return;
    }
    switch (ch) {
    case 'j':
        if (ui->s->cursor + 1 < n) {
            ui->s->cursor++;
            ui->dirty = 1;
        }
        break;
    case 'k':
        if (ui->s->cursor > 0) {
            ui->s->cursor--;
            ui->dirty = 1;
        }
        break;
    case 'i':
    case '?':
        ui->details = 1;
        ui->details_top = 0;
        break;
    case 'b':
        if (!can_go_live(ui)) {
            say(ui, 1, "there is no live phase to go back to");
            break;
        }
        set_phase(ui, PHASE_LIVE, 0);
        clock_start(ui, now);
        say(ui, 0, "back live: the clock runs on from where the session ended");
        break;
    case 'q':
    case KEY_CTRL_C:
        ask_quit(ui);
        break;
    default:
        break;
    }
}

static void actions_key(struct ui *ui, int is_key, wint_t ch)
{
    size_t n = ui->d->n_actions;
    uint32_t cur = ui->s->cursor;

    if (is_enter(is_key, ch)) {
        set_phase(ui, PHASE_REVIEW, 0);
        ui->status[0] = '\0';
        return;
    }
    if (is_key) {
        if (ch == KEY_UP && cur > 0) {
            ui->s->cursor--;
            ui->dirty = 1;
        } else if (ch == KEY_DOWN && cur + 1 < n) {
            ui->s->cursor++;
            ui->dirty = 1;
        } else if (ch == KEY_DC && cur < n) {
            action_delete(ui, cur);
            if (ui->s->cursor > 0 && ui->s->cursor >= ui->d->n_actions) {
                ui->s->cursor--;
            }
        }
        return;
    }
    switch (ch) {
    case 'a':
        editor_open(ui, EDIT_ACTION_NEW, 0, VALIDATE_MAX_ACTION, "", "New agreed action:");
        break;
    case 'e':
        if (cur < n) {
            editor_open(ui, EDIT_ACTION, cur, VALIDATE_MAX_ACTION, ui->d->actions[cur]->text,
                        "Agreed action (empty deletes it):");
        }
        break;
    case 'x':
        if (cur < n) {
            action_delete(ui, cur);
            if (ui->s->cursor > 0 && ui->s->cursor >= ui->d->n_actions) {
                ui->s->cursor--;
            }
            say(ui, 0, "action deleted");
        }
        break;
    case 'j':
        if (cur + 1 < n) {
            ui->s->cursor++;
            ui->dirty = 1;
        }
        break;
    case 'k':
        if (cur > 0) {
            ui->s->cursor--;
            ui->dirty = 1;
        }
        break;
    case 'b':
        rating_enter(ui, 0);
        break;
    case '?':
        ui->modal = MODAL_HELP;
        break;
    case 'q':
    case KEY_CTRL_C:
        ask_quit(ui);
        break;
    default:
        break;
    }
}

/* The outbox entry for the draft, with why it waits. The strings are
 * borrowed from ui for as long as the entry is used. */
static void outbox_entry(struct ui *ui, Coachq__V1__OutboxEntry *e, Coachq__V1__Error *err,
                         Coachq__V1__OutboxEntry__State state, int64_t now)
{
    Coachq__V1__OutboxEntry init = COACHQ__V1__OUTBOX_ENTRY__INIT;
    Coachq__V1__Error einit = COACHQ__V1__ERROR__INIT;

    *e = init;
    *err = einit;
    err->code = ui->refusal.code;
    err->message = ui->refusal.message;
    err->field = ui->refusal.field;
    e->observation = ui->d;
    e->state = state;
    e->last_error = err;
    e->attempts = 1;
    e->queued_at_ms = now;
    e->last_attempt_ms = now;
    if (ui->o->fix != NULL && ui->o->fix->observation != NULL &&
        ui->o->fix->observation->id.len == ui->d->id.len &&
        memcmp(ui->o->fix->observation->id.data, ui->d->id.data, ui->d->id.len) == 0) {
        e->attempts = ui->o->fix->attempts + 1;
        if (ui->o->fix->queued_at_ms > 0) {
            e->queued_at_ms = ui->o->fix->queued_at_ms;
        }
    }
}

/* Asks the server over c for the record under the draft's id. Returns 0
 * when it has none (or could not say), 1 when it has the draft's very
 * content (byte for byte, as the server compares), 2 when its content
 * differs; with 1 and 2, *rec is the record (caller owns, free with
 * coachq__v1__stored_observation__free_unpacked(*rec, NULL)). */
static int stored_copy(struct ui *ui, struct client *c, Coachq__V1__StoredObservation **rec)
{
    struct client_error e;
    uint8_t *a = NULL, *b = NULL;
    size_t na, nb;
    int same = 0;

    *rec = NULL;
    memset(&e, 0, sizeof(e));
    if (client_get(c, ui->d->id.data, rec, &e) < 0) {
        return 0;
    }
    if ((*rec)->observation == NULL) {
        coachq__v1__stored_observation__free_unpacked(*rec, NULL);
        *rec = NULL;
        return 0;
    }
    na = coachq__v1__observation__get_packed_size(ui->d);
    nb = coachq__v1__observation__get_packed_size((*rec)->observation);
    if (na == nb) {
        a = malloc(na > 0 ? na : 1);
        b = malloc(nb > 0 ? nb : 1);
        if (a != NULL && b != NULL) {
            coachq__v1__observation__pack(ui->d, a);
            coachq__v1__observation__pack((*rec)->observation, b);
            same = memcmp(a, b, na) == 0;
        }
    }
    free(a);
    free(b);
    return same ? 1 : 2;
}

/* The server has the draft's id: with the same content the session is
 * done (shown as already stored, and the saved copy removed); with other
 * content the observer chooses what becomes of this copy (MODAL_CONFLICT).
 * rec: takes ownership. */
static void stored_found(struct ui *ui, int kind, Coachq__V1__StoredObservation *rec)
{
    if (kind == 1) {
        ui->result = RESULT_DUPLICATE;
        ui->result_seq = rec->seq;
        ui->result_version = rec->version;
        ui->refused = 0;
        ui->dirty = 0;
        ui->save_rc = 0;
        ui->exit_code = 0;
        set_phase(ui, PHASE_REVIEW, 0);
        ui->dirty = 0;
        clear_saved(ui);
        coachq__v1__stored_observation__free_unpacked(rec, NULL);
        return;
    }
    if (ui->conflict != NULL) {
        coachq__v1__stored_observation__free_unpacked(ui->conflict, NULL);
    }
    ui->conflict = rec;
    ui->conflict_confirm = 0;
    ui->modal = MODAL_CONFLICT;
}

/* Sends the draft. Stored or duplicate: the session is cleared (and any
 * outbox entry of the same id removed). Server unreachable, or a passing
 * server trouble: the draft goes to the outbox as queued. Refused: the
 * session stays, with the server's error on screen. */
static void submit(struct ui *ui, int64_t now)
{
    struct client *c = NULL;
    struct client_submit_result res;
    Coachq__V1__Observation *one[1] = {ui->d};
    Coachq__V1__OutboxEntry e;
    Coachq__V1__Error err;
    Coachq__V1__StoredObservation *rec = NULL;
    char problem[STATUS_MAX];
    size_t at;
    int kind = 0;
    int rc;

    if (rating_problem(ui, &at, problem, sizeof(problem))) {
        say(ui, 1, "cannot submit yet: %s (r goes to the ratings)", problem);
        return;
    }
    ui->modal = MODAL_SENDING;
    draw(ui);
    ui->modal = MODAL_NONE;
    memset(&res, 0, sizeof(res));
    memset(&ui->refusal, 0, sizeof(ui->refusal));
    if (ui->o->conn == NULL) {
        rc = -ECONNREFUSED;
        ui->refusal.code = COACHQ__V1__CODE__UNAVAILABLE;
        snprintf(ui->refusal.message, sizeof(ui->refusal.message), "no server configured");
    } else {
        rc = client_connect(ui->o->conn, &c, &ui->refusal);
        if (rc == 0) {
            rc = client_submit_many(c, one, 1, &res, NULL, NULL);
            if (!res.done) {
                ui->refusal = res.err;
                if (ui->refusal.message[0] == '\0') {
                    snprintf(ui->refusal.message, sizeof(ui->refusal.message), "%s",
                             error_strerror(rc < 0 ? rc : -EIO));
                }
            } else if (res.err.code == COACHQ__V1__CODE__ALREADY_EXISTS) {
                /* Most likely an older copy of this session, left behind
                 * when a full disk kept the stored one from being cleared:
                 * see what the server has. */
                kind = stored_copy(ui, c, &rec);
            }
        }
        client_free(c);
    }
    if (kind == 1) {
        stored_found(ui, kind, rec);
        return;
    }
    if (res.done && res.err.code == COACHQ__V1__CODE__OK) {
        ui->result = res.result == COACHQ__V1__ACK__RESULT__RESULT_DUPLICATE ? RESULT_DUPLICATE
                                                                             : RESULT_STORED;
        ui->result_seq = res.seq;
        ui->result_version = res.version;
        ui->refused = 0;
        rc = localstore_outbox_del(ui->ls, ui->d->id.data);
        if (rc < 0 && rc != -ENOENT) {
            say(ui, 1, "stored, but the outbox copy could not be removed: %s", error_strerror(rc));
        }
        /* The server has it: memory need not hold it for the journal any
         * more. A saved copy that cannot be removed now (a full disk) is
         * retried, and recognised at the next resume. */
        clear_saved(ui);
        ui->dirty = 0;
        ui->save_rc = 0;
        ui->exit_code = 0;
        return;
    }
    if (!res.done || code_is_transient(res.err.code)) {
        if (res.done) {
            ui->refusal = res.err;
        }
        if (ui->refusal.code == COACHQ__V1__CODE__OK) {
            ui->refusal.code = COACHQ__V1__CODE__UNAVAILABLE;
        }
        outbox_entry(ui, &e, &err, COACHQ__V1__OUTBOX_ENTRY__STATE__STATE_QUEUED, now);
        rc = localstore_session_finish(ui->ls, &e);
        if (rc < 0) {
            say(ui, 1, "NOT SENT: %s. NOT QUEUED: the outbox could not be written (%s). %s",
                ui->refusal.message, error_strerror(rc),
                journaled(ui) ? "The session stays saved; s tries again."
                              : "All is kept in memory; s tries again.");
            return;
        }
        ui->result = RESULT_QUEUED;
        ui->dirty = 0;
        ui->exit_code = 0;
        return;
    }
    ui->refusal = res.err;
    ui->refused = 1;
    say(ui, 1, "b: go to what the server named, s: resubmit (same id), q: leave it in the outbox");
    if (kind == 2) {
        stored_found(ui, kind, rec);
    }
}

/* After a refusal: go where the server's field points, if the UI can. */
static void fix_field(struct ui *ui, int64_t now)
{
    const char *f = ui->refusal.field;
    const char *p;

    if (strstr(f, "ratings[") != NULL) {
        char *end = NULL;
        long i;

        p = strstr(f, "ratings[") + 8;
        i = strtol(p, &end, 10);
        rating_enter(ui, (end != p && i >= 0) ? (uint32_t)i : 0);
        return;
    }
    if (strstr(f, "actions") != NULL) {
        set_phase(ui, PHASE_ACTIONS, 0);
        return;
    }
    /* Fields chosen in the setup steps ("coachee" before "coach", which it
     * contains). */
    {
        static const struct {
            const char *field;
            int step;
        } steps[] = {
            {"coachee", STEP_COACHEE},
            {"coach", STEP_COACH},
            {"session_type", STEP_TYPE},
            {"focus", STEP_FOCUS},
        };

        for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
            if (strstr(f, steps[k].field) != NULL) {
                setup_next(ui, steps[k].step, now);
                return;
            }
        }
    }
    if (strstr(f, "notes") != NULL) {
        editor_open(ui, EDIT_NOTES, 0, VALIDATE_MAX_NOTES, ui->d->notes, "Session note:");
        return;
    }
    say(ui, 1, "the UI cannot change %s; q leaves the observation in the outbox",
        f[0] ? f : "what the server named");
}

static void review_key(struct ui *ui, int is_key, wint_t ch, int64_t now)
{
    if (is_key) {
        return;
    }
    switch (ch) {
    case 's':
        submit(ui, now);
        break;
    case 'r':
        rating_enter(ui, 0);
        break;
    case 'a':
        set_phase(ui, PHASE_ACTIONS, 0);
        break;
    case 'c':
        setup_next(ui, STEP_COACH, now);
        break;
    case 'n':
        editor_open(ui, EDIT_NOTES, 0, VALIDATE_MAX_NOTES, ui->d->notes, "Session note:");
        break;
    case 'b':
        if (ui->refused) {
            fix_field(ui, now);
        } else {
            rating_enter(ui, 0);
        }
        break;
    case '?':
        ui->modal = MODAL_HELP;
        break;
    case 'q':
    case KEY_CTRL_C:
        if (ui->refused) {
            ui->modal = MODAL_REJECT;
        } else {
            ask_quit(ui);
        }
        break;
    default:
        break;
    }
}

/* Leaves a refused observation in the outbox as rejected. */
static void leave_rejected(struct ui *ui, int64_t now)
{
    Coachq__V1__OutboxEntry e;
    Coachq__V1__Error err;
    char id[UUID_STR_LEN];
    int rc;

    outbox_entry(ui, &e, &err, COACHQ__V1__OUTBOX_ENTRY__STATE__STATE_REJECTED, now);
    rc = localstore_session_finish(ui->ls, &e);
    if (rc < 0) {
        if (journaled(ui)) {
            say(ui, 1, "the outbox could not be written (%s): the session stays saved",
                error_strerror(rc));
        } else {
            say(ui, 1,
                "the outbox could not be written (%s), nor the session: it is kept in memory",
                error_strerror(rc));
            ui->modal = MODAL_DISCARD;
            ui->discard[0] = '\0';
        }
        return;
    }
    uuid_format(ui->d->id.data, id);
    snprintf(ui->final_msg, sizeof(ui->final_msg),
             "rejected: %s stays in the outbox: %s%s%s: %s\n"
             "coachq queue list shows it; coachq observe --fix %s reopens it\n",
             id, code_name(ui->refusal.code), ui->refusal.field[0] ? " " : "", ui->refusal.field,
             ui->refusal.message, id);
    ui->dirty = 0;
    ui->exit_code = 1;
    ui->done = 1;
}

static void quit_saved(struct ui *ui)
{
    if (!journaled(ui) && save(ui) < 0) {
        /* Never quit on a session only memory holds without the word. */
        ui->modal = MODAL_DISCARD;
        ui->discard[0] = '\0';
        return;
    }
    snprintf(ui->final_msg, sizeof(ui->final_msg),
             "quit: the session is saved; coachq observe --resume continues it%s\n",
             ui->s->phase == PHASE_LIVE && clock_running(ui->s)
                 ? " (the clock keeps running meanwhile)"
                 : "");
    ui->exit_code = 1;
    ui->done = 1;
}

/* The exit message after a final result. */
static void result_message(struct ui *ui)
{
    char id[UUID_STR_LEN], pending[STATUS_MAX];

    pending[0] = '\0';
    if (ui->clear_pending) {
        snprintf(pending, sizeof(pending),
                 "the older copy saved on this machine could not be removed (%s); a later "
                 "coachq observe --resume finds it stored and offers to discard it\n",
                 error_strerror(ui->clear_rc));
    }
    uuid_format(ui->d->id.data, id);
    switch (ui->result) {
    case RESULT_STORED:
        snprintf(ui->final_msg, sizeof(ui->final_msg), "stored: %s (seq %llu, version %u)\n%s", id,
                 (unsigned long long)ui->result_seq, ui->result_version, pending);
        break;
    case RESULT_DUPLICATE:
        snprintf(ui->final_msg, sizeof(ui->final_msg),
                 "already stored: %s (seq %llu), nothing changed\n%s", id,
                 (unsigned long long)ui->result_seq, pending);
        break;
    case RESULT_QUEUED:
        snprintf(ui->final_msg, sizeof(ui->final_msg),
                 "queued: %s waits in the outbox (%s); coachq queue flush sends it\n", id,
                 ui->refusal.message);
        break;
    default:
        break;
    }
}

/* MODAL_DISCARD: the session is not on disk; only the typed word
 * "discard" and Enter quit, losing it. */
static void discard_key(struct ui *ui, int is_key, wint_t ch)
{
    size_t n = strlen(ui->discard);

    if (is_enter(is_key, ch)) {
        ui->modal = MODAL_NONE;
        if (strcmp(ui->discard, DISCARD_WORD) != 0) {
            say(ui, 1, "not quit: type %s exactly to quit without saving", DISCARD_WORD);
            return;
        }
        snprintf(ui->final_msg, sizeof(ui->final_msg),
                 "discarded: the session could not be saved (%s); what was not saved is lost "
                 "(coachq observe --resume continues from the last save, if there is one)\n",
                 error_strerror(ui->save_rc < 0 ? ui->save_rc : -EIO));
        ui->dirty = 0;
        ui->exit_code = 3;
        ui->done = 1;
        return;
    }
    if (is_backspace(is_key, ch)) {
        if (n > 0) {
            ui->discard[n - 1] = '\0';
        }
        return;
    }
    if (!is_key && ch == KEY_ESC) {
        ui->modal = MODAL_NONE;
        say(ui, 1, "not quit: all is kept in memory; free disk space, or s submits it");
        return;
    }
    if (!is_key && ch > ' ' && ch < 127 && n + 1 < sizeof(ui->discard)) {
        ui->discard[n] = (char)ch;
        ui->discard[n + 1] = '\0';
    }
}

/* The draft becomes an amendment of the record the server has under its
 * id: a new id, amending that record's root. */
static int conflict_amend(struct ui *ui)
{
    const Coachq__V1__StoredObservation *rec = ui->conflict;
    const ProtobufCBinaryData *root =
        rec->root_id.len == UUID_LEN ? &rec->root_id : &rec->observation->id;
    uint8_t *amends;
    char id[UUID_STR_LEN];

    if (root->len != UUID_LEN) {
        return -EINVAL;
    }
    amends = malloc(UUID_LEN);
    if (amends == NULL) {
        return -ENOMEM;
    }
    memcpy(amends, root->data, UUID_LEN);
    free(ui->d->amends.data);
    ui->d->amends.data = amends;
    ui->d->amends.len = UUID_LEN;
    if (uuid_generate(ui->d->id.data) < 0) {
        return -EIO;
    }
    uuid_format(amends, id);
    set_phase(ui, PHASE_REVIEW, 0);
    ui->refused = 0;
    say(ui, 0, "this copy now amends %s: s submits it as a new version", id);
    return 0;
}

/* MODAL_CONFLICT: the ways out of an id the server has with other
 * content. */
static void conflict_key(struct ui *ui, int is_key, wint_t ch, int64_t now)
{
    char id[UUID_STR_LEN];
    int rc;

    (void)now;
    if (ui->conflict_confirm) {
        ui->conflict_confirm = 0;
        if (is_key || (ch != 'y' && ch != 'Y')) {
            return;
        }
        clear_saved(ui);
        if (ui->clear_pending) {
            say(ui, 1, "the copy on this machine could not be removed (%s); d tries again",
                error_strerror(ui->clear_rc));
            return;
        }
        uuid_format(ui->d->id.data, id);
        snprintf(ui->final_msg, sizeof(ui->final_msg),
                 "discarded the copy on this machine; the server keeps %s (version %u)\n", id,
                 ui->conflict->version != 0 ? ui->conflict->version : 1);
        ui->dirty = 0;
        ui->save_rc = 0;
        ui->exit_code = 0;
        ui->done = 1;
        return;
    }
    if (is_key) {
        return;
    }
    switch (ch) {
    case 'd':
        ui->conflict_confirm = 1;
        break;
    case 'a':
        rc = conflict_amend(ui);
        if (rc < 0) {
            say(ui, 1, "cannot make it an amendment: %s", error_strerror(rc));
            break;
        }
        coachq__v1__stored_observation__free_unpacked(ui->conflict, NULL);
        ui->conflict = NULL;
        ui->modal = MODAL_NONE;
        break;
    case 'k':
    case KEY_ESC:
        ui->modal = MODAL_NONE;
        say(ui, 1, "kept this copy; the server refuses its id: s shows these choices again");
        break;
    case 'q':
    case KEY_CTRL_C:
        ui->modal = MODAL_NONE;
        ask_quit(ui);
        break;
    default:
        break;
    }
}

static void on_key(struct ui *ui, int is_key, wint_t ch)
{
    int64_t now = now_ms();
    int rows, cols;

    getmaxyx(stdscr, rows, cols);
    if (ui->result != RESULT_NONE) {
        if (ui->clear_pending) {
            clear_saved(ui);
        }
        result_message(ui);
        ui->done = 1;
        return;
    }
    if (ui->modal == MODAL_HELP) {
        ui->modal = MODAL_NONE;
        return;
    }
    if (ui->modal == MODAL_DISCARD) {
        discard_key(ui, is_key, ch);
        return;
    }
    if (ui->modal == MODAL_CONFLICT) {
        conflict_key(ui, is_key, ch, now);
        return;
    }
    if (ui->modal == MODAL_QUIT || ui->modal == MODAL_REJECT) {
        enum modal m = ui->modal;

        /* Either may open MODAL_DISCARD when the disk refuses them. */
        ui->modal = MODAL_NONE;
        if (!is_key && (ch == 'y' || ch == 'Y')) {
            if (m == MODAL_QUIT) {
                quit_saved(ui);
            } else {
                leave_rejected(ui, now);
            }
        }
        return;
    }
    if (rows < MIN_ROWS || cols < MIN_COLS) {
        /* Nothing the observer cannot see takes effect, except quitting. */
        if (!is_key && (ch == 'q' || ch == KEY_CTRL_C)) {
            ask_quit(ui);
        }
        return;
    }
    if (ui->ed.target != EDIT_NONE) {
        editor_key(ui, is_key, ch);
        return;
    }
    switch ((enum phase)ui->s->phase) {
    case PHASE_LIVE:
        live_key(ui, is_key, ch, now);
        break;
    case PHASE_RATING:
        rating_key(ui, is_key, ch, now);
        break;
    case PHASE_ACTIONS:
        actions_key(ui, is_key, ch);
        break;
    case PHASE_REVIEW:
        review_key(ui, is_key, ch, now);
        break;
    default:
        if (!is_key && ch == KEY_CTRL_C) {
            ask_quit(ui);
            break;
        }
        setup_key(ui, is_key, ch, now);
        break;
    }
}

/* ---- Start-up ------------------------------------------------------------- */

/* A new, empty session with a fresh id and the preset choices. */
static int session_new(struct ui *ui)
{
    const struct observe_opts *o = ui->o;
    Coachq__V1__LocalSession *s;
    Coachq__V1__Observation *d;

    s = malloc(sizeof(*s));
    d = malloc(sizeof(*d));
    if (s == NULL || d == NULL) {
        free(s);
        free(d);
        return -ENOMEM;
    }
    coachq__v1__local_session__init(s);
    coachq__v1__observation__init(d);
    s->draft = d;
    ui->s = s;
    ui->d = d;
    d->id.data = malloc(UUID_LEN);
    if (d->id.data == NULL) {
        return -ENOMEM;
    }
    d->id.len = UUID_LEN;
    if (uuid_generate(d->id.data) < 0) {
        return -EIO;
    }
    if (set_str(&s->server, o->server_label) < 0 || set_str(&d->coach_id, o->coach_id) < 0 ||
        set_str(&d->coachee_id, o->coachee_id) < 0) {
        return -ENOMEM;
    }
    d->session_type = o->session_type;
    d->focus = o->focus;
    s->phase = PHASE_SETUP;
    return 0;
}

/* The session for an amendment: the record's content under a new id,
 * amending the record's root, starting with its scores in the rating
 * phase. */
static int session_amend(struct ui *ui, const Coachq__V1__StoredObservation *rec)
{
    const Coachq__V1__Observation *src = rec->observation;
    const ProtobufCBinaryData *root;
    int rc;

    if (src == NULL) {
        return -EINVAL;
    }
    rc = session_new(ui);
    if (rc < 0) {
        return rc;
    }
    coachq__v1__observation__free_unpacked(ui->d, NULL);
    ui->d = pb_copy(&src->base);
    ui->s->draft = ui->d;
    if (ui->d == NULL) {
        return -ENOMEM;
    }
    root = rec->root_id.len == UUID_LEN ? &rec->root_id : &src->id;
    if (root->len != UUID_LEN) {
        return -EINVAL;
    }
    free(ui->d->amends.data);
    ui->d->amends.data = malloc(UUID_LEN);
    if (ui->d->amends.data == NULL) {
        return -ENOMEM;
    }
    memcpy(ui->d->amends.data, root->data, UUID_LEN);
    ui->d->amends.len = UUID_LEN;
    if (ui->d->id.len != UUID_LEN) {
        free(ui->d->id.data);
        ui->d->id.data = malloc(UUID_LEN);
        if (ui->d->id.data == NULL) {
            return -ENOMEM;
        }
        ui->d->id.len = UUID_LEN;
    }
    if (uuid_generate(ui->d->id.data) < 0) {
        return -EIO;
    }
    ui->s->elapsed_ms = (uint64_t)ui->d->duration_s * 1000u;
    ui->s->phase = PHASE_RATING;
    ui->s->cursor = 0;
    return 0;
}

/* The session for fixing a rejected outbox entry: the same observation
 * (same id), in the review phase, with the server's error on screen. */
static int session_fix(struct ui *ui, const Coachq__V1__OutboxEntry *e)
{
    int rc;

    if (e->observation == NULL || e->observation->id.len != UUID_LEN) {
        return -EINVAL;
    }
    rc = session_new(ui);
    if (rc < 0) {
        return rc;
    }
    coachq__v1__observation__free_unpacked(ui->d, NULL);
    ui->d = pb_copy(&e->observation->base);
    ui->s->draft = ui->d;
    if (ui->d == NULL) {
        return -ENOMEM;
    }
    ui->s->elapsed_ms = (uint64_t)ui->d->duration_s * 1000u;
    ui->s->phase = PHASE_REVIEW;
    if (e->last_error != NULL && e->state == COACHQ__V1__OUTBOX_ENTRY__STATE__STATE_REJECTED) {
        ui->refused = 1;
        ui->refusal.code = e->last_error->code;
        snprintf(ui->refusal.message, sizeof(ui->refusal.message), "%s", e->last_error->message);
        snprintf(ui->refusal.field, sizeof(ui->refusal.field), "%s", e->last_error->field);
        say(ui, 1,
            "b: go to what the server named, s: resubmit (same id), q: leave it in the outbox");
    }
    return 0;
}

/* A short description of a saved session, for the question at start. */
static void saved_words(const struct ui *ui, const Coachq__V1__LocalSession *s, char *buf,
                        size_t len)
{
    const Coachq__V1__Observation *d = s->draft;
    static const char *const phases[] = {"setup", "setup", "live", "rating", "actions", "review"};
    char clk[24], c1[LABEL_MAX], c2[LABEL_MAX];

    fmt_clock(clock_now(s, now_ms()), clk, sizeof(clk));
    snprintf(buf, len, "%s -> %s, %zu markers, clock %s, in the %s phase",
             person_words(ui, d != NULL ? d->coach_id : NULL, c1, sizeof(c1)),
             person_words(ui, d != NULL ? d->coachee_id : NULL, c2, sizeof(c2)),
             d != NULL ? d->n_markers : 0, clk, s->phase <= 5 ? phases[s->phase] : "setup");
}

/* A saved session exists and the observer did not ask to resume it:
 * starting anew would overwrite it, so ask. Returns 'r' (resume), 'd'
 * (discard it and go on) or 'q'. */
static int ask_saved(struct ui *ui, const Coachq__V1__LocalSession *saved)
{
    char what[512];
    int confirm = 0;

    saved_words(ui, saved, what, sizeof(what));
    for (;;) {
        struct flow f;
        int rows, cols;
        wint_t ch;
        int rc;

        getmaxyx(stdscr, rows, cols);
        erase();
        if (rows < MIN_ROWS || cols < MIN_COLS) {
            draw_too_small(ui, rows, cols);
        } else {
            title_bar(ui, cols, "SAVED SESSION", "");
            memset(&f, 0, sizeof(f));
            f.y = 2;
            f.ymax = rows - 3;
            f.draw = 1;
            emit(&f, 2, cols - 4, A_BOLD, NULL, "A session in progress is saved on this machine:");
            emit(&f, 4, cols - 6, A_NORMAL, NULL, what);
            f.y++;
            emit(&f, 2, cols - 4, A_NORMAL, NULL, "r  resume it (as coachq observe --resume does)");
            emit(&f, 2, cols - 4, A_NORMAL, NULL,
                 "d  discard it and start the new one (its markers and scores are lost)");
            emit(&f, 2, cols - 4, A_NORMAL, NULL, "q  quit and keep it");
            if (confirm) {
                put(rows - 2, 1, cols - 2, attr(ui, ROLE_WARN) | A_REVERSE,
                    "discard the saved session for good? (y/n)");
            }
        }
        refresh();
        rc = get_wch(&ch);
        if (rc == ERR || rc == KEY_CODE_YES) {
            continue;
        }
        if (confirm) {
            if (ch == 'y' || ch == 'Y') {
                return 'd';
            }
            confirm = 0;
            continue;
        }
        if (ch == 'r' || ch == 'q') {
            return (int)ch;
        }
        if (ch == KEY_CTRL_C) {
            return 'q';
        }
        if (ch == 'd') {
            confirm = 1;
        }
    }
}

/* Loads what the session needs that is not in it: its rubric, the people
 * (for names and the pickers), the rubric list (when it is still to be
 * chosen). Returns 0, or a negative code with why filled. */
static int load_for_session(struct ui *ui, int fresh, char *why, size_t whylen)
{
    Coachq__V1__Observation *d = ui->d;
    int rc;

    if (d->rubric_id[0] != '\0') {
        rc = load_rubric(ui, d->rubric_id, d->rubric_version, fresh && d->rubric_version == 0, why,
                         whylen);
        if (rc < 0) {
            return rc;
        }
        if (d->rubric_version == 0) {
            d->rubric_version = ui->rubric->version;
        }
        if (strcmp(ui->rubric->id, d->rubric_id) != 0 ||
            (d->rubric_version != 0 && ui->rubric->version != d->rubric_version)) {
            snprintf(why, whylen, "rubric %s v%u could not be loaded", d->rubric_id,
                     d->rubric_version);
            return -ENOENT;
        }
    } else {
        rc = load_rubric_list(ui);
        if (rc < 0 || ui->n_rlist == 0) {
            snprintf(why, whylen, "no rubric to choose: none cached and the server %s",
                     ui->offline ? "cannot be reached" : "has none");
            return -ENOENT;
        }
    }
    /* The people list is worth a connection only when someone is still to
     * be chosen; otherwise it is used when the connection is open anyway,
     * or from the cache, for names. */
    load_people(ui, fresh && (d->coach_id[0] == '\0' || d->coachee_id[0] == '\0'));
    ui_disconnect(ui);
    return 0;
}

static void curses_start(struct ui *ui)
{
    const char *nc = getenv("NO_COLOR");

    raw(); /* Ctrl-C is a key here: it asks before quitting */
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    timeout(TICK_MS);
    curs_set(0);
    if (has_colors() && (nc == NULL || nc[0] == '\0') && start_color() == OK) {
        short bg = use_default_colors() == OK ? -1 : COLOR_BLACK;

        init_pair(ROLE_TITLE, COLOR_BLACK, COLOR_CYAN);
        init_pair(ROLE_WARN, COLOR_RED, bg);
        init_pair(ROLE_OK, COLOR_GREEN, bg);
        init_pair(ROLE_ACCENT, COLOR_YELLOW, bg);
        ui->colour = 1;
    }
}

static void ui_free(struct ui *ui)
{
    if (ui->s != NULL) {
        coachq__v1__local_session__free_unpacked(ui->s, NULL);
    }
    if (ui->rubric != NULL) {
        coachq__v1__rubric__free_unpacked(ui->rubric, NULL);
    }
    for (size_t i = 0; i < ui->n_rlist; i++) {
        coachq__v1__rubric__free_unpacked(ui->rlist[i], NULL);
    }
    free(ui->rlist);
    if (ui->people != NULL) {
        coachq__v1__people_list__free_unpacked(ui->people, NULL);
    }
    if (ui->conflict != NULL) {
        coachq__v1__stored_observation__free_unpacked(ui->conflict, NULL);
    }
    picker_free(&ui->pk);
    client_free(ui->c);
}

/* The state the session starts in: the saved session (resume), an
 * amendment, a fix, or a new session. */
static int ui_prepare(struct ui *ui, Coachq__V1__LocalSession **saved, char *why, size_t whylen)
{
    const struct observe_opts *o = ui->o;
    Coachq__V1__StoredObservation *rec = NULL;
    int64_t now = now_ms();
    int fresh = 0;
    int kind = 0;
    int rc;

    if (*saved != NULL) {
        ui->s = *saved;
        *saved = NULL;
        if (ui->s->draft == NULL || ui->s->draft->id.len != UUID_LEN) {
            snprintf(why, whylen, "the saved session is damaged (no observation id)");
            return -EBADMSG;
        }
        ui->d = ui->s->draft;
        if (ui->s->phase < PHASE_SETUP || ui->s->phase > PHASE_REVIEW) {
            ui->s->phase = PHASE_SETUP;
            ui->s->cursor = 0;
        }
        /* A full disk may have kept the session of an observation the
         * server stored from being cleared: never bring back a state the
         * server would refuse without saying so. */
        if (ui_connect(ui) == 0) {
            kind = stored_copy(ui, ui->c, &rec);
        }
    } else if (o->amend != NULL) {
        rc = session_amend(ui, o->amend);
        if (rc < 0) {
            snprintf(why, whylen, "cannot amend that record: %s", error_strerror(rc));
            return rc;
        }
    } else if (o->fix != NULL) {
        rc = session_fix(ui, o->fix);
        if (rc < 0) {
            snprintf(why, whylen, "cannot fix that outbox entry: %s", error_strerror(rc));
            return rc;
        }
    } else {
        rc = session_new(ui);
        if (rc < 0) {
            snprintf(why, whylen, "cannot start a session: %s", error_strerror(rc));
            return rc;
        }
        if (o->rubric_id != NULL && (rc = set_str(&ui->d->rubric_id, o->rubric_id)) < 0) {
            return rc;
        }
        ui->d->rubric_version = o->rubric_version;
        fresh = 1;
    }
    rc = load_for_session(ui, fresh, why, whylen);
    if (rc < 0) {
        return rc;
    }
    if (ui->s->phase >= PHASE_RATING || ui->d->n_ratings > 0) {
        rc = ratings_align(ui);
        if (rc < 0) {
            snprintf(why, whylen, "out of memory");
            return rc;
        }
        if (ui->s->phase == PHASE_RATING && ui->s->cursor >= ui->rubric->n_behaviours) {
            ui->s->cursor = 0;
        }
    }
    if (ui->s->phase == PHASE_SETUP) {
        setup_next(ui, (int)ui->s->cursor < STEP_COUNT ? (int)ui->s->cursor : 0, now);
        if (ui->s->phase == PHASE_SETUP && (int)ui->s->cursor == STEP_RUBRIC && ui->n_rlist == 0) {
            rc = load_rubric_list(ui);
            ui_disconnect(ui);
            if (rc < 0 || ui->n_rlist == 0 || picker_build(ui, STEP_RUBRIC) < 0) {
                snprintf(why, whylen, "no rubric to choose: none cached, server unreachable");
                return -ENOENT;
            }
        }
    }
    if (ui->s->phase == PHASE_ACTIONS && ui->s->cursor >= ui->d->n_actions) {
        ui->s->cursor = 0;
    }
    ui->dirty = 1;
    if (kind != 0) {
        stored_found(ui, kind, rec);
    }
    return 0;
}

int observe_run(struct localstore *ls, const struct observe_opts *o, FILE *out, FILE *err)
{
    struct ui *ui = NULL;
    Coachq__V1__LocalSession *saved = NULL;
    char *old_locale = NULL;
    const char *loc;
    char why[STATUS_MAX * 2];
    int curses_on = 0;
    int keyed = 1;
    int rc;
    int code = 3;

    why[0] = '\0';
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(err, "coachq observe: needs a terminal (standard input and output)\n");
        return 2;
    }
    if (o->coach_id != NULL && validate_id(o->coach_id) < 0) {
        fprintf(err, "coachq observe: --coach %s is not an id\n", o->coach_id);
        return 2;
    }
    if (o->coachee_id != NULL && validate_id(o->coachee_id) < 0) {
        fprintf(err, "coachq observe: --coachee %s is not an id\n", o->coachee_id);
        return 2;
    }
    rc = localstore_session_load(ls, &saved);
    if (rc < 0 && rc != -ENOENT) {
        fprintf(err, "coachq observe: cannot read the saved session in %s: %s\n",
                localstore_path(ls), error_strerror(rc));
        return 3;
    }
    if (o->resume && saved == NULL) {
        fprintf(err, "coachq observe: there is no saved session to resume in %s\n",
                localstore_path(ls));
        return 2;
    }
    ui = calloc(1, sizeof(*ui));
    if (ui == NULL) {
        fprintf(err, "coachq observe: out of memory\n");
        goto out;
    }
    ui->ls = ls;
    ui->o = o;
    ui->out = out;
    ui->err = err;
    ui->pk.step = -1;
    ui->exit_code = 1;

    /* Wide characters need the user's locale; it is put back afterwards,
     * for callers that run more than this. */
    loc = setlocale(LC_ALL, NULL);
    old_locale = loc != NULL ? strdup(loc) : NULL;
    setlocale(LC_ALL, "");
    ui->utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;

    ui->scr = newterm(NULL, stdout, stdin);
    if (ui->scr == NULL) {
        fprintf(err, "coachq observe: cannot use the terminal (TERM=%s)\n",
                getenv("TERM") != NULL ? getenv("TERM") : "");
        code = 2;
        goto out;
    }
    set_term(ui->scr);
    curses_on = 1;
    curses_start(ui);

    if (saved != NULL && !o->resume) {
        int choice = ask_saved(ui, saved);

        if (choice == 'q') {
            snprintf(ui->final_msg, sizeof(ui->final_msg),
                     "the saved session is kept; coachq observe --resume continues it\n");
            code = 1;
            goto out;
        }
        if (choice == 'd') {
            coachq__v1__local_session__free_unpacked(saved, NULL);
            saved = NULL;
        }
    }
    erase();
    put(1, 1, COLS - 2, A_BOLD, "coachq observe: loading the rubric and the people...");
    refresh();
    rc = ui_prepare(ui, &saved, why, sizeof(why));
    if (rc < 0) {
        code = rc == -ENOMEM || rc == -EIO || rc == -EBADMSG ? 3 : 2;
        goto out;
    }
    for (;;) {
        wint_t ch = 0;
        int64_t t = now_ms();
        int got;

        /* Once the server has it, the session is no longer journaled;
         * while the journal fails it is retried at each key and each
         * SAVE_RETRY_MS, the session staying in memory meanwhile. */
        if (ui->result == RESULT_NONE && ui->dirty &&
            (ui->save_rc == 0 || keyed || t >= ui->save_retry_ms)) {
            (void)save(ui);
        }
        if (ui->clear_pending && !ui->done && (keyed || t >= ui->save_retry_ms)) {
            clear_saved(ui);
        }
        keyed = 0;
        if (ui->done) {
            break;
        }
        draw(ui);
        got = get_wch(&ch);
        if (got == ERR) {
            continue;
        }
        if (got == KEY_CODE_YES && ch == KEY_RESIZE) {
            /* ncurses has updated the size already; the next draw lays the
             * screen out anew. */
            clearok(curscr, TRUE);
            continue;
        }
        on_key(ui, got == KEY_CODE_YES, ch);
        keyed = 1;
    }
    code = ui->exit_code;
out:
    if (curses_on) {
        endwin();
        delscreen(ui->scr);
    }
    if (old_locale != NULL) {
        setlocale(LC_ALL, old_locale);
        free(old_locale);
    }
    if (why[0] != '\0') {
        fprintf(err, "coachq observe: %s\n", why);
    }
    if (ui != NULL && ui->final_msg[0] != '\0') {
        fputs(ui->final_msg, out);
        fflush(out);
    }
    if (ui != NULL) {
        ui_free(ui);
        free(ui);
    }
    if (saved != NULL) {
        coachq__v1__local_session__free_unpacked(saved, NULL);
    }
    return code;
}
