/*
 * observe_int: what the four files of the observe UI share, private to
 * them: observe.c (start-up and the run loop), observe_draw.c (the
 * screens), observe_keys.c (what each key does) and observe_edit.c (the
 * line editor). The session itself,
 * everything that is not drawing or reading keys, is session.h's; struct
 * ui adds the terminal, the pickers of the setup steps and the line
 * editor to it.
 *
 * Ownership: observe_run() makes the one struct ui of a run and frees it
 * when the UI closes; ui->ses is owned by it (session_free()). Everything
 * here runs on the thread that called observe_run(), with ncurses'
 * current screen set to ui->scr.
 */
#ifndef COACHQ_OBSERVE_INT_H
#define COACHQ_OBSERVE_INT_H

#include <stddef.h>
#include <wchar.h>

#include <curses.h>

#include "session.h"
#include "session_checks.h"
#include "validate.h"

#define MIN_COLS 80
#define MIN_ROWS 24
/* The live phase also has a compact layout, down to this size: beside a
 * video call (60x20 and smaller). The other phases need MIN_COLS x
 * MIN_ROWS. */
#define COMPACT_MIN_COLS 40
#define COMPACT_MIN_ROWS 12
/* Rows the compact live layout keeps at its top: title, pair, counts, ratio, rule. */
#define COMPACT_TOP_ROWS 8
/* How long one wait for a key lasts: the clock on screen moves at least
 * this often. */
#define TICK_MS 200
/* Characters the line editor holds; each target also has a byte cap. */
/* Characters the line editor holds: enough for the longest text the
 * server takes (VALIDATE_MAX_NOTES bytes) even in plain letters. */
#define EDIT_MAX 8192
#define FILTER_MAX 64
#define LABEL_MAX 160
#define KEY_CTRL_C 3
#define KEY_ESC 27
/* The most rows the messages at the bottom of the screen may take; each
 * message wraps there rather than being cut. */
#define FOOT_MAX 10

/* What the line editor is editing. */
enum edit_target {
    EDIT_NONE = 0,
    EDIT_NOTE,        /* the note of marker ed.index */
    EDIT_EVIDENCE,    /* the evidence of rating ed.index */
    EDIT_ACTION_NEW,  /* a new agreed action */
    EDIT_ACTION,      /* the text of action ed.index */
    EDIT_NOTES,       /* the observation's overall notes */
    EDIT_FU_EVIDENCE, /* the evidence of follow-up row ed.index */
    EDIT_DUE,         /* the due date of action ed.index */
    EDIT_SKILL,       /* the rep skill of action ed.index */
    EDIT_SEEK,        /* a position in the recording to go to */
    EDIT_REC_REF,     /* setup: the reference of the recording scored */
    EDIT_REC_LENGTH,  /* setup: its length */
};

/* Colour pairs (only when the terminal has colours and NO_COLOR is unset). */
enum role {
    ROLE_PLAIN = 0,
    ROLE_TITLE,
    ROLE_WARN,
    ROLE_OK,
    ROLE_ACCENT,
};

struct pick_item {
    char id[VALIDATE_MAX_ID + 1];
    char label[LABEL_MAX];
    int value; /* an enum value, or an index into ses->rlist */
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
    int partial;  /* the initial text did not load whole: saving is refused */
    int dropping; /* a cluster was refused: what continues it is dropped too */
    int drop_zwj; /* ... and it ended in a zero-width joiner */
};

struct ui {
    struct session *ses; /* owned; free with session_free() */
    SCREEN *scr;
    int colour;
    int utf8; /* the locale's text is UTF-8: any printable character may be typed */

    struct picker pk;
    struct editor ed;
    int details; /* the rating phase shows the behaviour in full */
    int details_top;
    int focus_pick;     /* the actions phase picks the focus behaviours of the selected action */
    size_t focus_cur;   /* the behaviour the focus list's cursor is on */
    int foot_n;         /* rows the bottom messages take in this draw (1 or more) */
    int end_confirm;    /* live: Enter was pressed once; Enter or y again ends the live phase */
    size_t del_confirm; /* actions: 1 + the action that y deletes; 0 = no question */
    size_t live_sel;    /* live: the marker n notes, counted back from the newest (0) */
    /* Setup: the recording's reference, checked, while its length is asked. */
    char rec_ref[VALIDATE_MAX_REFERENCE + 1];
    /* A calibration attempt's result once the server has it (owned;
     * observe_cal.c), shown until the UI closes. */
    char *cal_text;
};

/* Whether the screen (rows x cols) is big enough for the session's phase:
 * MIN_COLS x MIN_ROWS, or for the live phase COMPACT_MIN_COLS x
 * COMPACT_MIN_ROWS. */
int observe_draw_fits(const struct ui *ui, int rows, int cols);

/* Draws the screen of the session's phase, its modal and the editor. */
void observe_draw(struct ui *ui);

/* Draws the line shown while the session loads. */
void observe_draw_loading(void);

/* Draws the question asked at start about a saved session (what: its
 * description; confirm: the discard is to be confirmed). */
void observe_draw_saved(struct ui *ui, const char *what, int confirm);

/* Applies one key (is_key: ch is a KEY_* code) to the session. */
void observe_keys_on_key(struct ui *ui, int is_key, wint_t ch);

/* The editor's text in grapheme clusters (what a reader counts as
 * characters: the woman technologist is one) and in UTF-8 bytes (what the
 * server's limits count). */
void observe_edit_count(const struct editor *ed, size_t *chars, size_t *bytes);

/* Opens the line editor on target t (index: which marker, rating or
 * action) with initial text (borrowed for the call; NULL for none), the
 * server's cap max_bytes and a prompt (borrowed for the call). */
void observe_edit_open(struct ui *ui, enum edit_target t, size_t index, size_t max_bytes,
                       const char *initial, const char *prompt);

/* Applies one key to the open editor: Enter saves, Esc cancels. */
void observe_edit_key(struct ui *ui, int is_key, wint_t ch);

/* Whether the key is Enter (or Backspace), from a key code or a character. */
int observe_edit_is_enter(int is_key, wint_t ch);
int observe_edit_is_backspace(int is_key, wint_t ch);

/* The index in session_kinds of marker key ch (any case), or -1. */
int observe_edit_marker_key(wint_t ch);

/* Builds the picker of a setup step, preselecting the current value.
 * Returns 0 or -ENOMEM. observe_keys_picker_free() empties it. */
int observe_keys_picker_build(struct ui *ui, int step);
void observe_keys_picker_free(struct picker *pk);

/*
 * The setup's mode step (observe_mode.c): live, or a recording whose
 * reference and length the line editor asks next, each checked as the
 * server checks them (validate_recording()); a refused one keeps the
 * editor open with the typed text and the status line naming the field.
 */
/* The mode in words for the setup screen: "live" or "recording REF (LEN)". */
void observe_mode_words(const struct ui *ui, char *buf, size_t len);
/* Enter on the mode picker's item value (0 live, 1 recording). Returns 1
 * when the setup goes on to the next step (live), 0 when the editor asks
 * for the recording. */
int observe_mode_choose(struct ui *ui, int value);
/* Enter in the EDIT_REC_REF or EDIT_REC_LENGTH editor with its text
 * (borrowed): the length's acceptance ends the setup. */
void observe_mode_commit(struct ui *ui, const char *text);

/* After a submission (observe_cal.c): a calibration attempt the server has
 * gets its result from o->calibration_result, once. */
void observe_cal_after_submit(struct ui *ui);
/* Draws the result screen when there is one: returns 1, else 0. */
int observe_cal_draw(struct ui *ui, int rows, int cols);

/* A column of wrapped text being laid out (observe_draw.c): the rows it
 * may use, the lines scrolled away above it, and a count of every line
 * for scrolling. With draw 0 it only counts. */
struct flow {
    int y;
    int ymax;
    int skip;
    int total;
    int draw;
};

/* Lays out prefix and s word-wrapped by display width within [x,
 * x+width) as f allows; lines after the first are indented by the
 * prefix's width (a hanging indent). */
void observe_draw_emit(struct flow *f, int x, int width, attr_t a, const char *prefix,
                       const char *s);

#endif
