/*
 * observe_keys: what each key does in the observe UI: the line editor, the
 * searchable pickers of the setup steps, and the keys of the live,
 * rating, actions and review phases and of the questions. Keys change the
 * session only through session.h, which journals nothing by itself: the
 * run loop (observe.c) saves the session after every key, before the
 * screen shows its effect.
 */
#define _XOPEN_SOURCE 700 /* wcwidth() and the wide-character curses calls */

#include "observe_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#include "day.h"
#include "error.h"
#include "obs_json.h"

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

/* Moves the cursor of a list of n rows one row down (or up), if it can. */
static void cursor_step(struct ui *ui, int down, size_t n)
{
    uint32_t *cur = &ui->ses->s->cursor;

    if (down ? *cur + 1 < n : *cur > 0) {
        *cur = down ? *cur + 1 : *cur - 1;
        ui->ses->dirty = 1;
    }
}

void observe_keys_picker_free(struct picker *pk)
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

/* Whether p may be the coachee of a coach of coach_role: a front-line
 * manager's reps are neither kind of manager; a second-level manager's
 * coachees are front-line managers. */
static int coachee_kind(const Coachq__V1__PersonSummary *p, int coach_role)
{
    if (coach_role == COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER) {
        return session_has_role(p, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER);
    }
    return !session_has_role(p, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER) &&
           !session_has_role(p, COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER);
}

int observe_keys_picker_build(struct ui *ui, int step)
{
    struct picker *pk = &ui->pk;
    const Coachq__V1__Observation *d = ui->ses->d;
    const char *current = NULL;
    size_t cap;
    char buf[LABEL_MAX];
    /* Whom the chosen rubric scores (rubric.coach_role). */
    int coach_role = ui->ses->rubric != NULL && ui->ses->rubric->coach_role ==
                                                    COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER
                         ? COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER
                         : COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER;

    observe_keys_picker_free(pk);
    switch (step) {
    case SESSION_STEP_RUBRIC:
        cap = ui->ses->n_rlist;
        break;
    case SESSION_STEP_COACH:
    case SESSION_STEP_COACHEE:
        cap = ui->ses->people != NULL ? ui->ses->people->n_people : 0;
        break;
    default:
        cap = 8;
        break;
    }
    pk->items = calloc(cap > 0 ? cap : 1, sizeof(*pk->items));
    pk->match = calloc(cap > 0 ? cap : 1, sizeof(*pk->match));
    if (pk->items == NULL || pk->match == NULL) {
        observe_keys_picker_free(pk);
        return -ENOMEM;
    }
    pk->step = step;
    switch (step) {
    case SESSION_STEP_RUBRIC:
        for (size_t i = 0; i < ui->ses->n_rlist; i++) {
            snprintf(buf, sizeof(buf), "%s v%u", ui->ses->rlist[i]->name,
                     ui->ses->rlist[i]->version);
            picker_push(pk, cap, ui->ses->rlist[i]->id, buf, (int)i);
        }
        current = d->rubric_id;
        break;
    case SESSION_STEP_COACH:
        /* The coaches the rubric scores: front-line managers, or for
         * coaching the coaches, second-level managers. */
        for (size_t i = 0; i < cap; i++) {
            const Coachq__V1__PersonSummary *p = ui->ses->people->people[i];

            if (session_has_role(p, coach_role)) {
                picker_push(pk, cap, p->id, p->name, 0);
            }
        }
        pk->allow_free = 1;
        current = d->coach_id;
        break;
    case SESSION_STEP_COACHEE:
        /* The coach's own reps (for coaching the coaches, their own
         * front-line managers); when the coach is not in the list (typed
         * by hand), everyone of that kind. */
        for (size_t i = 0; i < cap; i++) {
            const Coachq__V1__PersonSummary *p = ui->ses->people->people[i];

            if (strcmp(p->manager_id, d->coach_id) == 0 && coachee_kind(p, coach_role)) {
                picker_push(pk, cap, p->id, p->name, 0);
            }
        }
        for (size_t i = 0; pk->n == 0 && i < cap; i++) {
            const Coachq__V1__PersonSummary *p = ui->ses->people->people[i];

            if (coachee_kind(p, coach_role)) {
                picker_push(pk, cap, p->id, p->name, 0);
            }
        }
        pk->allow_free = 1;
        current = d->coachee_id;
        break;
    case SESSION_STEP_TYPE:
        for (int v = 1; v <= 6; v++) {
            picker_push(pk, cap, obs_json_session_type_name(v),
                        session_type_words(v, buf, sizeof(buf)), v);
        }
        current = obs_json_session_type_name(d->session_type);
        break;
    case SESSION_STEP_MODE:
        picker_push(pk, cap, "live", "live: the clock runs with the room", 0);
        picker_push(pk, cap, "recording", "a recording: its reference and length next", 1);
        break;
    default:
        for (int v = 1; v <= 3; v++) {
            picker_push(pk, cap, obs_json_focus_name(v),
                        v == COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_HUMAN
                            ? "human side (motivation, stress, rejection)"
                            : session_focus_words(v),
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

/* Shows the first step from `from` on that needs the observer, with its
 * picker, or ends setup (session_setup_next()). */
static void setup_next(struct ui *ui, int from, int64_t now)
{
    int st = session_setup_next(ui->ses, from, now);

    if (st < 0) {
        observe_keys_picker_free(&ui->pk);
    } else if (observe_keys_picker_build(ui, st) < 0) {
        session_say(ui->ses, 1, "out of memory");
    }
}

/* Takes the picker's choice (or the typed id) for the current step. */
static void setup_choose(struct ui *ui, int64_t now)
{
    struct picker *pk = &ui->pk;
    Coachq__V1__Observation *d = ui->ses->d;
    int step = (int)ui->ses->s->cursor;
    const struct pick_item *it = NULL;
    const char *id;

    if (pk->n_match > 0) {
        it = &pk->items[pk->match[pk->sel]];
        id = it->id;
    } else if (pk->allow_free && pk->filter[0] != '\0') {
        if (validate_id(pk->filter) < 0) {
            session_say(ui->ses, 1, "\"%s\" is not an id: ids are letters, digits and . _ @ -",
                        pk->filter);
            return;
        }
        /* A search that found nobody is more likely a typo than an id
         * missing from the list: ask once more. */
        if (pk->n > 0 && !pk->confirm_free) {
            pk->confirm_free = 1;
            session_say(ui->ses, 1, "\"%s\" is not in the list: Enter again uses it as the id",
                        pk->filter);
            return;
        }
        id = pk->filter;
    } else {
        session_say(ui->ses, 1, "nothing matches: Backspace shortens the search");
        return;
    }
    switch (step) {
    case SESSION_STEP_RUBRIC:
        if (it == NULL) {
            return;
        }
        if (session_choose_rubric(ui->ses, (size_t)it->value) < 0) {
            session_say(ui->ses, 1, "out of memory");
            return;
        }
        break;
    case SESSION_STEP_COACH:
        if (strcmp(d->coach_id, id) != 0 && d->started_at == 0) {
            /* Another coach: the coachee chosen for the old one is asked
             * again. */
            (void)session_set_str(&d->coachee_id, "");
        }
        if (session_set_str(&d->coach_id, id) < 0) {
            session_say(ui->ses, 1, "out of memory");
            return;
        }
        break;
    case SESSION_STEP_COACHEE:
        if (session_set_str(&d->coachee_id, id) < 0) {
            session_say(ui->ses, 1, "out of memory");
            return;
        }
        break;
    case SESSION_STEP_TYPE:
        d->session_type = it != NULL ? it->value : 0;
        break;
    case SESSION_STEP_MODE:
        if (it == NULL || !observe_mode_choose(ui, it->value)) {
            return;
        }
        break;
    default:
        d->focus = it != NULL ? it->value : 0;
        break;
    }
    ui->ses->dirty = 1;
    ui->ses->status[0] = '\0';
    setup_next(ui, step + 1, now);
    if (ui->ses->s->phase == SESSION_PHASE_SETUP && ui->ses->d->started_at == 0) {
        char check[SESSION_STATUS_MAX - 16];

        /* Said as soon as the pair (or the rubric) is known. */
        if (session_checks_words(ui->ses, now, check, sizeof(check))) {
            session_say(ui->ses, 1, "check: %s", check);
        }
    }
}

/* Esc: one interactive step back; at the first, the quit question. After
 * the session (changing details), back to the review. */
static void setup_back(struct ui *ui)
{
    int step = (int)ui->ses->s->cursor;

    if (ui->ses->d->started_at != 0) {
        observe_keys_picker_free(&ui->pk);
        session_set_phase(ui->ses, SESSION_PHASE_REVIEW, 0);
        return;
    }
    for (int st = step - 1; st >= 0; st--) {
        int preset = (st == SESSION_STEP_RUBRIC && ui->ses->o->rubric_id != NULL) ||
                     (st == SESSION_STEP_COACH && ui->ses->o->coach_id != NULL) ||
                     (st == SESSION_STEP_COACHEE && ui->ses->o->coachee_id != NULL) ||
                     (st == SESSION_STEP_TYPE && ui->ses->o->session_type != 0) ||
                     (st == SESSION_STEP_FOCUS && ui->ses->o->focus != 0);

        if (!preset && (st != SESSION_STEP_RUBRIC || ui->ses->n_rlist > 0)) {
            session_set_phase(ui->ses, SESSION_PHASE_SETUP, (uint32_t)st);
            if (observe_keys_picker_build(ui, st) < 0) {
                session_say(ui->ses, 1, "out of memory");
            }
            return;
        }
    }
    session_ask_quit(ui->ses);
}

static void setup_key(struct ui *ui, int is_key, wint_t ch, int64_t now)
{
    struct picker *pk = &ui->pk;
    size_t page = 8;

    if (pk->step != (int)ui->ses->s->cursor &&
        observe_keys_picker_build(ui, (int)ui->ses->s->cursor) < 0) {
        session_say(ui->ses, 1, "out of memory");
        return;
    }
    if (observe_edit_is_enter(is_key, ch)) {
        setup_choose(ui, now);
        return;
    }
    if (observe_edit_is_backspace(is_key, ch)) {
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
        ui->ses->modal = SESSION_MODAL_HELP;
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

static void rating_enter(struct ui *ui, uint32_t cursor)
{
    if (session_rating_enter(ui->ses, cursor) == 0) {
        ui->details = 0;
    }
}

/* n in the live phase: the note of the chosen marker (ui->live_sel back
 * from the newest). */
static void live_note(struct ui *ui)
{
    const Coachq__V1__Observation *d = ui->ses->d;
    const Coachq__V1__Marker *m;
    char prompt[LABEL_MAX], t[24];
    size_t i;

    if (d->n_markers == 0) {
        session_say(ui->ses, 1, "no marker yet: tap a marker key first");
        return;
    }
    if (ui->live_sel >= d->n_markers) {
        ui->live_sel = d->n_markers - 1;
    }
    i = d->n_markers - 1 - ui->live_sel;
    m = d->markers[i];
    session_fmt_clock(m->offset_ms, t, sizeof(t));
    snprintf(prompt, sizeof(prompt),
             "Note on %s at %s (Alt+key marks):", session_kind_label(m->kind), t);
    observe_edit_open(ui, EDIT_NOTE, i, VALIDATE_MAX_NOTE, m->note, prompt);
}

static void live_key(struct ui *ui, int is_key, wint_t ch, int64_t now)
{
    char t[24];
    int k;

    if (ui->end_confirm) {
        /* The question of the Enter before: Enter or y ends the live
         * phase; any other key carries on and does what it does. */
        ui->end_confirm = 0;
        ui->ses->status[0] = '\0';
        if (observe_edit_is_enter(is_key, ch) ||
            (!is_key && (ch == 'y' || ch == 'Y' || ch == 'r'))) {
            session_clock_stop(ui->ses, now);
            session_set_duration(ui->ses, now);
            session_fmt_clock(ui->ses->s->elapsed_ms, t, sizeof(t));
            rating_enter(ui, 0);
            session_say(ui->ses, 0,
                        "session ended at %s: rate each behaviour (i shows its definition)", t);
            return;
        }
        if (!is_key && (ch == KEY_ESC || ch == 'n' || ch == 'N')) {
            session_say(ui->ses, 0, "the session goes on");
            return;
        }
    } else if (observe_edit_is_enter(is_key, ch) || (!is_key && ch == 'r')) {
        ui->end_confirm = 1;
        session_say(ui->ses, 1,
                    "end the live phase and rate? Enter or y ends it; any other key goes on");
        return;
    }
    if (is_key) {
        /* Up/Down choose the marker that n notes. */
        if (ch == KEY_UP && ui->live_sel + 1 < ui->ses->d->n_markers) {
            ui->live_sel++;
        } else if (ch == KEY_DOWN && ui->live_sel > 0) {
            ui->live_sel--;
        } else if (ch == KEY_LEFT || ch == KEY_RIGHT) {
            (void)session_seek(ui->ses, ch == KEY_LEFT ? -5000 : 5000, now);
        }
        return;
    }
    k = observe_edit_marker_key(ch);
    if (k >= 0) {
        if (session_marker_add(ui->ses, session_kinds[k].kind, now) == 0) {
            ui->live_sel = 0;
        }
        return;
    }
    switch (ch) {
    case ' ':
        if (session_clock_running(ui->ses->s)) {
            session_clock_stop(ui->ses, now);
            session_say(ui->ses, 0, "paused: space resumes the clock");
        } else {
            session_clock_start(ui->ses, now);
            session_say(ui->ses, 0, "the clock runs again");
        }
        break;
    case 'u': {
        size_t before = ui->ses->d->n_markers;

        session_marker_undo(ui->ses);
        /* live_sel counts back from the newest, which undo took: the same
         * marker is now one closer to the newest. */
        if (ui->ses->d->n_markers < before && ui->live_sel > 0) {
            ui->live_sel--;
        }
        if (ui->live_sel > 0 && ui->live_sel >= ui->ses->d->n_markers) {
            ui->live_sel = ui->ses->d->n_markers > 0 ? ui->ses->d->n_markers - 1 : 0;
        }
        break;
    }
    case 'n':
        live_note(ui);
        break;
    case '[':
    case ']':
        (void)session_seek(ui->ses, ch == '[' ? -30000 : 30000, now);
        break;
    case 'g':
        if (session_is_recording(ui->ses)) {
            observe_edit_open(ui, EDIT_SEEK, 0, 16, NULL, "Go to (mm:ss):");
        } else {
            (void)session_seek(ui->ses, 0, now);
        }
        break;
    case '?':
        ui->ses->modal = SESSION_MODAL_HELP;
        break;
    case 'q':
    case KEY_CTRL_C:
        session_ask_quit(ui->ses);
        break;
    default:
        break;
    }
}

static void open_evidence(struct ui *ui, int advance)
{
    const Coachq__V1__Behaviour *b = ui->ses->rubric->behaviours[ui->ses->s->cursor];
    const Coachq__V1__Rating *rt = ui->ses->d->ratings[ui->ses->s->cursor];
    char prompt[LABEL_MAX];

    if (rt->score > 0 && session_needs_evidence(ui->ses->rubric, rt->score)) {
        snprintf(prompt, sizeof(prompt), "Evidence for %s (required for a %u):", b->name,
                 rt->score);
    } else {
        snprintf(prompt, sizeof(prompt), "Evidence for %s:", b->name);
    }
    observe_edit_open(ui, EDIT_EVIDENCE, ui->ses->s->cursor, VALIDATE_MAX_EVIDENCE, rt->evidence,
                      prompt);
    ui->ed.advance = advance;
}

/* The keys that rate the current behaviour, shared by the list and the
 * details view. Returns 1 when ch was one of them. */
static int rate_key(struct ui *ui, wint_t ch)
{
    if (ch >= '1' && ch <= '4') {
        if (session_rate(ui->ses, (uint32_t)(ch - '0'))) {
            /* The rubric wants evidence for this score: ask for it now,
             * while the observer remembers. */
            open_evidence(ui, !ui->details);
        } else if (!ui->details) {
            session_rating_advance(ui->ses);
        }
        return 1;
    }
    if (ch == 'x') {
        if (session_rate_na(ui->ses) < 0) {
            return 1;
        }
        if (!ui->details) {
            session_rating_advance(ui->ses);
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
            if (ui->ses->s->cursor > 0) {
                ui->ses->s->cursor--;
                ui->details_top = 0;
                ui->ses->dirty = 1;
            }
            break;
        case KEY_RIGHT:
            if (ui->ses->s->cursor + 1 < ui->ses->rubric->n_behaviours) {
                ui->ses->s->cursor++;
                ui->details_top = 0;
                ui->ses->dirty = 1;
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
        session_ask_quit(ui->ses);
        break;
    default:
        break;
    }
}

static void rating_key(struct ui *ui, int is_key, wint_t ch, int64_t now)
{
    size_t n = ui->ses->rubric->n_behaviours;
    size_t at;
    char problem[SESSION_STATUS_MAX];

    if (ui->details) {
        details_key(ui, is_key, ch);
        return;
    }
    if (observe_edit_is_enter(is_key, ch)) {
        if (session_rating_problem(ui->ses, &at, problem, sizeof(problem))) {
            ui->ses->s->cursor = (uint32_t)at;
            ui->ses->dirty = 1;
            session_say(ui->ses, 1, "%s", problem);
            return;
        }
        session_after_rating(ui->ses);
        return;
    }
    if (is_key) {
        if (ch == KEY_UP || ch == KEY_DOWN) {
            cursor_step(ui, ch == KEY_DOWN, n);
        } else if (ch == KEY_HOME) {
            ui->ses->s->cursor = 0;
            ui->ses->dirty = 1;
        } else if (ch == KEY_END && n > 0) {
            ui->ses->s->cursor = (uint32_t)(n - 1);
            ui->ses->dirty = 1;
        }
        return;
    }
    if (rate_key(ui, ch)) {
        return;
    }
    switch (ch) {
    case 'j':
    case 'k':
        cursor_step(ui, ch == 'j', n);
        break;
    case 'i':
    case '?':
        ui->details = 1;
        ui->details_top = 0;
        break;
    case 'b':
        if (!session_can_go_live(ui->ses)) {
            session_say(ui->ses, 1, "there is no live phase to go back to");
            break;
        }
        session_set_phase(ui->ses, SESSION_PHASE_LIVE, 0);
        session_clock_start(ui->ses, now);
        session_say(ui->ses, 0, "back live: the clock runs on from where the session ended");
        break;
    case 'q':
    case KEY_CTRL_C:
        session_ask_quit(ui->ses);
        break;
    default:
        break;
    }
}

/* The focus behaviours list of the selected action (f in the actions
 * phase): j/k move, space or Enter picks or unpicks, f or Esc closes. */
static void focus_key(struct ui *ui, wint_t ch)
{
    const Coachq__V1__Rubric *r = ui->ses->rubric;
    size_t n = r != NULL ? r->n_behaviours : 0;

    switch (ch) {
    case 'j':
        if (ui->focus_cur + 1 < n) {
            ui->focus_cur++;
        }
        break;
    case 'k':
        if (ui->focus_cur > 0) {
            ui->focus_cur--;
        }
        break;
    case ' ':
        if (ui->focus_cur < n) {
            (void)session_action_toggle_focus(ui->ses, ui->ses->s->cursor,
                                              r->behaviours[ui->focus_cur]->id);
        }
        break;
    case 'f':
    case 'q':
    case KEY_ESC:
        ui->focus_pick = 0;
        break;
    case KEY_CTRL_C:
        ui->focus_pick = 0;
        session_ask_quit(ui->ses);
        break;
    default:
        break;
    }
}

/* The keys of the selected action's fields: o owner, u due date, f focus
 * behaviours, s rep skill. Returns 1 when ch was one of them. */
static int action_field_key(struct ui *ui, wint_t ch)
{
    uint32_t cur = ui->ses->s->cursor;
    const Coachq__V1__Action *a;
    char due[DAY_TIME_LEN];

    if (ch != 'o' && ch != 'u' && ch != 'f' && ch != 's') {
        return 0;
    }
    if (cur >= ui->ses->d->n_actions) {
        session_say(ui->ses, 1, "no action yet: a adds one");
        return 1;
    }
    a = ui->ses->d->actions[cur];
    switch (ch) {
    case 'o':
        (void)session_action_toggle_owner(ui->ses, cur);
        break;
    case 'u':
        due[0] = '\0';
        if (a->due_day != 0) {
            day_format(a->due_day, due, sizeof(due));
        }
        observe_edit_open(ui, EDIT_DUE, cur, DAY_TIME_LEN, due,
                          "Due date (YYYY-MM-DD, on or after the session; empty for none):");
        break;
    case 'f':
        if (ui->ses->rubric == NULL || ui->ses->rubric->n_behaviours == 0) {
            session_say(ui->ses, 1, "the rubric has no behaviours to pick");
            break;
        }
        ui->focus_pick = 1;
        ui->focus_cur = 0;
        session_say(ui->ses, 0, "space picks or unpicks a behaviour (two at most); f closes");
        break;
    default:
        observe_edit_open(ui, EDIT_SKILL, cur, VALIDATE_MAX_SKILL, a->focus_skill,
                          "Rep skill it serves, in free text (empty for none):");
        break;
    }
    return 1;
}

static void fu_evidence(struct ui *ui, size_t i)
{
    const Coachq__V1__ActionRecord *rec;
    Coachq__V1__FollowUp *fu;

    if (session_fu_row(ui->ses, i, &rec, &fu) == NULL || fu == NULL) {
        session_say(ui->ses, 1, "set a status first: d done, p partly, n not done, x dropped");
        return;
    }
    observe_edit_open(ui, EDIT_FU_EVIDENCE, i, VALIDATE_MAX_EVIDENCE, fu->evidence,
                      "Evidence (what showed it):");
}

/* The follow-up step: a status for each open action of the pair, with an
 * evidence note. */
static void followups_key(struct ui *ui, int is_key, wint_t ch, int64_t now)
{
    static const struct {
        int key;
        int status;
    } status_keys[] = {
        {'d', COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE},
        {'p', COACHQ__V1__ACTION_STATUS__ACTION_STATUS_PARTLY_DONE},
        {'n', COACHQ__V1__ACTION_STATUS__ACTION_STATUS_NOT_DONE},
        {'x', COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DROPPED},
        {'o', COACHQ__V1__ACTION_STATUS__ACTION_STATUS_OPEN},
        {'-', 0},
    };
    size_t n = session_fu_count(ui->ses);
    uint32_t cur = ui->ses->s->cursor;

    if (observe_edit_is_enter(is_key, ch)) {
        session_set_phase(ui->ses, SESSION_PHASE_ACTIONS, 0);
        session_say(ui->ses, 0, "add the agreed actions, or Enter for the review");
        return;
    }
    if (is_key) {
        if (ch == KEY_UP) {
            ch = 'k';
        } else if (ch == KEY_DOWN) {
            ch = 'j';
        } else {
            return;
        }
    }
    for (size_t k = 0; k < sizeof(status_keys) / sizeof(status_keys[0]); k++) {
        const Coachq__V1__ActionRecord *rec;
        Coachq__V1__FollowUp *fu;

        if ((wint_t)status_keys[k].key != ch) {
            continue;
        }
        if (cur >= n || session_fu_set(ui->ses, cur, status_keys[k].status, now) < 0) {
            return;
        }
        /* Ask for the evidence now, while the observer remembers it. */
        if (status_keys[k].status != 0 && session_fu_row(ui->ses, cur, &rec, &fu) != NULL &&
            fu != NULL && fu->evidence[0] == '\0') {
            fu_evidence(ui, cur);
        }
        return;
    }
    switch (ch) {
    case 'v':
        if (cur < n) {
            fu_evidence(ui, cur);
        }
        break;
    case 'j':
    case 'k':
        cursor_step(ui, ch == 'j', n);
        break;
    case 'b':
        rating_enter(ui, 0);
        break;
    case '?':
        ui->ses->modal = SESSION_MODAL_HELP;
        break;
    case 'q':
    case KEY_CTRL_C:
        session_ask_quit(ui->ses);
        break;
    default:
        break;
    }
}

/* x (or Delete) on an action: asks first; y deletes it. */
static void ask_delete(struct ui *ui, size_t i)
{
    ui->del_confirm = i + 1;
    session_say(ui->ses, 1, "delete action %zu (\"%s\")? y deletes it; any other key keeps it",
                i + 1, ui->ses->d->actions[i]->text);
}

/* The answer to ask_delete()'s question. */
static void answer_delete(struct ui *ui, int is_key, wint_t ch)
{
    size_t i = ui->del_confirm - 1;

    ui->del_confirm = 0;
    if (is_key || (ch != 'y' && ch != 'Y') || i >= ui->ses->d->n_actions) {
        session_say(ui->ses, 0, "kept: nothing was deleted");
        return;
    }
    session_action_delete(ui->ses, i);
    if (ui->ses->s->cursor > 0 && ui->ses->s->cursor >= ui->ses->d->n_actions) {
        ui->ses->s->cursor--;
    }
    session_say(ui->ses, 0, "action %zu deleted", i + 1);
}

static void actions_key(struct ui *ui, int is_key, wint_t ch)
{
    size_t n = ui->ses->d->n_actions;
    uint32_t cur = ui->ses->s->cursor;

    if (ui->del_confirm != 0) {
        answer_delete(ui, is_key, ch);
        return;
    }

    if (ui->focus_pick) {
        if (observe_edit_is_enter(is_key, ch)) {
            focus_key(ui, ' ');
        } else if (is_key && (ch == KEY_UP || ch == KEY_DOWN)) {
            focus_key(ui, ch == KEY_UP ? 'k' : 'j');
        } else if (!is_key) {
            focus_key(ui, ch);
        }
        return;
    }
    if (observe_edit_is_enter(is_key, ch)) {
        session_set_phase(ui->ses, SESSION_PHASE_REVIEW, 0);
        ui->ses->status[0] = '\0';
        return;
    }
    if (is_key) {
        if (ch == KEY_UP && cur > 0) {
            ui->ses->s->cursor--;
            ui->ses->dirty = 1;
        } else if (ch == KEY_DOWN && cur + 1 < n) {
            ui->ses->s->cursor++;
            ui->ses->dirty = 1;
        } else if (ch == KEY_DC && cur < n) {
            ask_delete(ui, cur);
        }
        return;
    }
    if (action_field_key(ui, ch)) {
        return;
    }
    switch (ch) {
    case 'a':
        observe_edit_open(ui, EDIT_ACTION_NEW, 0, VALIDATE_MAX_ACTION, "", "New agreed action:");
        break;
    case 'e':
        if (cur < n) {
            observe_edit_open(ui, EDIT_ACTION, cur, VALIDATE_MAX_ACTION,
                              ui->ses->d->actions[cur]->text, "Agreed action (empty deletes it):");
        }
        break;
    case 'x':
        if (cur < n) {
            ask_delete(ui, cur);
        }
        break;
    case 'j':
    case 'k':
        cursor_step(ui, ch == 'j', n);
        break;
    case 'b':
        session_before_actions(ui->ses);
        ui->details = 0;
        break;
    case '?':
        ui->ses->modal = SESSION_MODAL_HELP;
        break;
    case 'q':
    case KEY_CTRL_C:
        session_ask_quit(ui->ses);
        break;
    default:
        break;
    }
}

/* A refused follow-up ("follow_ups[i]..."): the follow-up step, on the
 * row of the action that follow-up names. */
static void fix_follow_up(struct ui *ui, const char *f)
{
    const char *p = strstr(f, "follow_ups[");
    char *end = NULL;
    uint32_t row = 0;
    long i = -1;

    if (p != NULL) {
        p += 11;
        i = strtol(p, &end, 10);
        if (end == p) {
            i = -1;
        }
    }
    if (i >= 0 && (size_t)i < ui->ses->d->n_follow_ups) {
        const ProtobufCBinaryData *want = &ui->ses->d->follow_ups[i]->action_id;

        for (size_t r = 0; r < session_fu_count(ui->ses); r++) {
            const Coachq__V1__ActionRecord *rec;
            Coachq__V1__FollowUp *fu;
            const ProtobufCBinaryData *id = session_fu_row(ui->ses, r, &rec, &fu);

            if (id != NULL && id->len == want->len &&
                memcmp(id->data, want->data, want->len) == 0) {
                row = (uint32_t)r;
            }
        }
    }
    session_set_phase(ui->ses, SESSION_PHASE_FOLLOWUPS, row);
}

/* A refusal of the whole record for its size (field "observation", a
 * message in bytes): where the text that makes it big can be removed or
 * shortened, the part holding the most of it (actions with their
 * follow-ups, evidence notes, the session note); marker notes cannot be
 * changed after the live phase, so they are only named. */
static void fix_size(struct ui *ui)
{
    const Coachq__V1__Observation *d = ui->ses->d;
    size_t actions = 0, evidence = 0, notes = strlen(d->notes), markers = 0;
    size_t longest = 0, at = 0;

    for (size_t i = 0; i < d->n_actions; i++) {
        actions += strlen(d->actions[i]->text) + strlen(d->actions[i]->focus_skill) + 40;
    }
    for (size_t i = 0; i < d->n_follow_ups; i++) {
        actions += strlen(d->follow_ups[i]->evidence) + 24;
    }
    for (size_t i = 0; i < d->n_ratings; i++) {
        size_t n = strlen(d->ratings[i]->evidence);

        evidence += n;
        if (n > longest) {
            longest = n;
            at = i;
        }
    }
    for (size_t i = 0; i < d->n_markers; i++) {
        markers += strlen(d->markers[i]->note);
    }
    if (actions >= evidence && actions >= notes && actions >= markers &&
        (d->n_actions > 0 || d->n_follow_ups > 0)) {
        session_set_phase(ui->ses, SESSION_PHASE_ACTIONS, 0);
        session_say(ui->ses, 1,
                    "too big: most of it is the agreed actions and follow-ups (%zu and %zu): x "
                    "deletes an action, e shortens it, v a follow-up's evidence; Enter, "
                    "then s submits again",
                    d->n_actions, d->n_follow_ups);
    } else if (evidence >= notes && evidence >= markers && evidence > 0) {
        rating_enter(ui, (uint32_t)at);
        session_say(ui->ses, 1,
                    "too big: the evidence notes hold the most (this one is the longest): v "
                    "shortens it; Enter, then s submits again");
    } else if (notes >= markers && notes > 0) {
        observe_edit_open(ui, EDIT_NOTES, 0, VALIDATE_MAX_NOTES, d->notes, "Session note:");
        session_say(ui->ses, 1, "too big: the session note holds the most: shorten it");
    } else if (markers > 0) {
        session_say(ui->ses, 1,
                    "too big: the marker notes hold the most, and cannot change after the live "
                    "phase; q leaves it in the outbox");
    } else {
        session_say(ui->ses, 1,
                    "too big: its %zu markers make most of it, and cannot change after the live "
                    "phase; q leaves it in the outbox",
                    d->n_markers);
    }
}

/* After a refusal: go where the server's field points, if the UI can. */
static void fix_field(struct ui *ui, int64_t now)
{
    const char *f = ui->ses->refusal.field;
    const char *p;

    if (strcmp(f, "observation") == 0 && strstr(ui->ses->refusal.message, "bytes") != NULL) {
        fix_size(ui);
        return;
    }

    if (strstr(f, "ratings[") != NULL) {
        char *end = NULL;
        long i;

        p = strstr(f, "ratings[") + 8;
        i = strtol(p, &end, 10);
        rating_enter(ui, (end != p && i >= 0) ? (uint32_t)i : 0);
        return;
    }
    if (strstr(f, "follow_ups") != NULL) {
        fix_follow_up(ui, f);
        return;
    }
    if (strstr(f, "actions[") != NULL) {
        char *end = NULL;
        long i;

        p = strstr(f, "actions[") + 8;
        i = strtol(p, &end, 10);
        session_set_phase(ui->ses, SESSION_PHASE_ACTIONS,
                          (end != p && i >= 0 && (size_t)i < ui->ses->d->n_actions) ? (uint32_t)i
                                                                                    : 0);
        return;
    }
    if (strstr(f, "actions") != NULL) {
        session_set_phase(ui->ses, SESSION_PHASE_ACTIONS, 0);
        return;
    }
    /* Fields chosen in the setup steps ("coachee" before "coach", which it
     * contains). */
    {
        static const struct {
            const char *field;
            int step;
        } steps[] = {
            {"coachee", SESSION_STEP_COACHEE},
            {"coach", SESSION_STEP_COACH},
            {"session_type", SESSION_STEP_TYPE},
            {"focus", SESSION_STEP_FOCUS},
        };

        for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
            if (strstr(f, steps[k].field) != NULL) {
                setup_next(ui, steps[k].step, now);
                return;
            }
        }
    }
    if (strstr(f, "notes") != NULL) {
        observe_edit_open(ui, EDIT_NOTES, 0, VALIDATE_MAX_NOTES, ui->ses->d->notes,
                          "Session note:");
        return;
    }
    session_say(ui->ses, 1, "the UI cannot change %s; q leaves the observation in the outbox",
                f[0] ? f : "what the server named");
}

/* Shows that the submission is on its way while it is. */
static void sending(struct session *ses, void *arg)
{
    struct ui *ui = arg;

    ses->modal = SESSION_MODAL_SENDING;
    observe_draw(ui);
    ses->modal = SESSION_MODAL_NONE;
}

static void review_key(struct ui *ui, int is_key, wint_t ch, int64_t now)
{
    if (is_key) {
        return;
    }
    switch (ch) {
    case 's':
        session_submit(ui->ses, now, sending, ui);
        observe_cal_after_submit(ui);
        break;
    case 'r':
        rating_enter(ui, 0);
        break;
    case 'a':
        session_set_phase(ui->ses, SESSION_PHASE_ACTIONS, 0);
        break;
    case 'f':
        session_open_actions_load(ui->ses);
        if (session_fu_count(ui->ses) == 0) {
            session_say(ui->ses, 1, "no open action of this pair to follow up%s%s",
                        ui->ses->open_state < 0 ? ": " : "", ui->ses->open_why);
            break;
        }
        session_set_phase(ui->ses, SESSION_PHASE_FOLLOWUPS, 0);
        break;
    case 'c':
        setup_next(ui, SESSION_STEP_COACH, now);
        break;
    case 'n':
        observe_edit_open(ui, EDIT_NOTES, 0, VALIDATE_MAX_NOTES, ui->ses->d->notes,
                          "Session note:");
        break;
    case 'b':
        if (ui->ses->refused) {
            fix_field(ui, now);
        } else {
            rating_enter(ui, 0);
        }
        break;
    case '?':
        ui->ses->modal = SESSION_MODAL_HELP;
        break;
    case 'q':
    case KEY_CTRL_C:
        if (ui->ses->refused) {
            ui->ses->modal = SESSION_MODAL_REJECT;
        } else {
            session_ask_quit(ui->ses);
        }
        break;
    default:
        break;
    }
}

/* SESSION_MODAL_DISCARD: the session is not on disk; only the typed word
 * "discard" and Enter quit, losing it. */
static void discard_key(struct ui *ui, int is_key, wint_t ch)
{
    size_t n = strlen(ui->ses->discard);

    if (observe_edit_is_enter(is_key, ch)) {
        ui->ses->modal = SESSION_MODAL_NONE;
        if (strcmp(ui->ses->discard, SESSION_DISCARD_WORD) != 0) {
            session_say(ui->ses, 1, "not quit: type %s exactly to quit without saving",
                        SESSION_DISCARD_WORD);
            return;
        }
        session_discard(ui->ses);
        return;
    }
    if (observe_edit_is_backspace(is_key, ch)) {
        if (n > 0) {
            ui->ses->discard[n - 1] = '\0';
        }
        return;
    }
    if (!is_key && ch == KEY_ESC) {
        ui->ses->modal = SESSION_MODAL_NONE;
        session_say(ui->ses, 1,
                    "not quit: all is kept in memory; free disk space, or s submits it");
        return;
    }
    if (!is_key && ch > ' ' && ch < 127 && n + 1 < sizeof(ui->ses->discard)) {
        ui->ses->discard[n] = (char)ch;
        ui->ses->discard[n + 1] = '\0';
    }
}

/* SESSION_MODAL_CONFLICT: the ways out of an id the server has with other
 * content. */
static void conflict_key(struct ui *ui, int is_key, wint_t ch, int64_t now)
{
    int rc;

    (void)now;
    if (ui->ses->conflict_confirm) {
        ui->ses->conflict_confirm = 0;
        if (is_key || (ch != 'y' && ch != 'Y')) {
            return;
        }
        session_conflict_discard(ui->ses);
        return;
    }
    if (is_key) {
        return;
    }
    switch (ch) {
    case 'd':
        ui->ses->conflict_confirm = 1;
        break;
    case 'a':
        rc = session_conflict_amend(ui->ses);
        if (rc < 0) {
            session_say(ui->ses, 1, "cannot make it an amendment: %s", error_strerror(rc));
            break;
        }
        break;
    case 'k':
    case KEY_ESC:
        ui->ses->modal = SESSION_MODAL_NONE;
        session_say(ui->ses, 1,
                    "kept this copy; the server refuses its id: s shows these choices again");
        break;
    case 'q':
    case KEY_CTRL_C:
        ui->ses->modal = SESSION_MODAL_NONE;
        session_ask_quit(ui->ses);
        break;
    default:
        break;
    }
}

void observe_keys_on_key(struct ui *ui, int is_key, wint_t ch)
{
    int64_t now = session_now_ms();
    int rows, cols;

    getmaxyx(stdscr, rows, cols);
    if (ui->ses->result != SESSION_RESULT_NONE) {
        session_end(ui->ses);
        return;
    }
    if (ui->ses->modal == SESSION_MODAL_HELP) {
        /* ?, Esc and q close the keys; any other key closes them and
         * does what it does (a marker tapped there is not lost). */
        ui->ses->modal = SESSION_MODAL_NONE;
        if (!is_key && (ch == '?' || ch == KEY_ESC || ch == 'q')) {
            return;
        }
    }
    if (ui->ses->modal == SESSION_MODAL_DISCARD) {
        discard_key(ui, is_key, ch);
        return;
    }
    if (ui->ses->modal == SESSION_MODAL_CONFLICT) {
        conflict_key(ui, is_key, ch, now);
        return;
    }
    if (ui->ses->modal == SESSION_MODAL_QUIT || ui->ses->modal == SESSION_MODAL_REJECT) {
        enum session_modal m = ui->ses->modal;

        /* Either may open SESSION_MODAL_DISCARD when the disk refuses them. */
        ui->ses->modal = SESSION_MODAL_NONE;
        if (!is_key && (ch == 'y' || ch == 'Y')) {
            if (m == SESSION_MODAL_QUIT) {
                session_quit_saved(ui->ses);
            } else {
                session_leave_rejected(ui->ses, now);
            }
        }
        return;
    }
    if (!observe_draw_fits(ui, rows, cols)) {
        /* Nothing the observer cannot see takes effect, except quitting. */
        if (!is_key && (ch == 'q' || ch == KEY_CTRL_C)) {
            session_ask_quit(ui->ses);
        }
        return;
    }
    if (ui->ed.target != EDIT_NONE) {
        observe_edit_key(ui, is_key, ch);
        return;
    }
    switch ((enum session_phase)ui->ses->s->phase) {
    case SESSION_PHASE_LIVE:
        live_key(ui, is_key, ch, now);
        break;
    case SESSION_PHASE_RATING:
        rating_key(ui, is_key, ch, now);
        break;
    case SESSION_PHASE_ACTIONS:
        actions_key(ui, is_key, ch);
        break;
    case SESSION_PHASE_FOLLOWUPS:
        followups_key(ui, is_key, ch, now);
        break;
    case SESSION_PHASE_REVIEW:
        review_key(ui, is_key, ch, now);
        break;
    default:
        if (!is_key && ch == KEY_CTRL_C) {
            session_ask_quit(ui->ses);
            break;
        }
        setup_key(ui, is_key, ch, now);
        break;
    }
}
