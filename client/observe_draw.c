/*
 * observe_draw: the screens of the observe UI, drawn from the session
 * (session.h) with ncurses: the setup pickers, the live clock and counts,
 * the ratings with each behaviour in full, the agreed actions, the review
 * and the server's answer, the help, the line editor and the questions.
 * Drawing changes nothing in the session; the messages at the bottom of
 * the screen wrap rather than being cut.
 */
#define _XOPEN_SOURCE 700 /* wcwidth() and the wide-character curses calls */

#include "day.h"
#include "observe_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#include "error.h"
#include "uuid.h"
#include "str.h"

static const char *const step_names[SESSION_STEP_COUNT] = {
    "rubric", "coach", "coachee", "session type", "focus", "live or recording"};

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

void observe_draw_emit(struct flow *f, int x, int width, attr_t a, const char *prefix,
                       const char *s)
{
    emit(f, x, width, a, prefix, s);
}

static void hline_at(int y, int cols)
{
    mvhline(y, 0, ACS_HLINE, cols);
}

/* The title bar: name of the phase on the left, right text on the right. */
static void title_bar(const struct ui *ui, int cols, const char *phase, const char *right)
{
    attr_t a = attr(ui, ROLE_TITLE);
    /* A calibration attempt says so on every screen, with the reference's
     * title where there is room (observe.h). */
    int cal = ui->ses->d != NULL && ui->ses->d->calibration_ref.len != 0;
    const char *title =
        cal && ui->ses->o->calibration_title != NULL ? ui->ses->o->calibration_title : "";
    int w = text_width(right);
    int fits = w < cols - 30;

    attr_on(a, NULL);
    mvhline(0, 0, ' ', cols);
    attr_off(a, NULL);
    putf(0, 1, cal && fits && w > 0 ? cols - w - 4 : cols - 2, a, "coachq %s  %s%s%s",
         cal ? "CALIBRATION" : "observe", phase, title[0] != '\0' ? "  " : "", title);
    if (fits) {
        put(0, cols - w - 1, w, a, right);
    }
}

/* The journal's trouble in words, or "" when it is fine. */
static void journal_words(const struct ui *ui, char *buf, size_t len)
{
    buf[0] = '\0';
    if (ui->ses->save_rc < 0) {
        snprintf(buf, len, "NOT SAVED to disk (%s): kept in memory only; retrying",
                 error_strerror(ui->ses->save_rc));
    } else if (ui->ses->clear_pending) {
        snprintf(buf, len, "the older saved copy could not be removed (%s); retrying",
                 error_strerror(ui->ses->clear_rc));
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
    char journal[SESSION_STATUS_MAX], refused[sizeof(ui->ses->offline_why) + 32];
    char other[SESSION_STATUS_MAX + sizeof(ui->ses->offline_why)];
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
    if (ui->ses->offline && ui->ses->offline_refused) {
        snprintf(refused, sizeof(refused), "not connected: %s", ui->ses->offline_why);
    }
    a[1] = attr(ui, ROLE_WARN);
    other[0] = '\0';
    a[2] = attr(ui, ui->ses->status_warn ? ROLE_WARN : ROLE_PLAIN);
    if (ui->ses->status[0] != '\0') {
        snprintf(other, sizeof(other), "%s", ui->ses->status);
    } else if (ui->ses->offline && !ui->ses->offline_refused) {
        snprintf(other, sizeof(other), "offline: %s", ui->ses->offline_why);
    }
    for (int i = 0; i < 3; i++) {
        n[i] = msg[i][0] != '\0' ? wrap(msg[i], width, sp[i], FOOT_MAX) : 0;
        if (n[i] > FOOT_MAX - total) {
            n[i] = FOOT_MAX - total;
        }
        total += n[i];
    }
    /* The screen keeps its top: the compact live layout's counts and
     * ratio take 8 rows, the others' headers 4. */
    {
        int keep = ui->ses->s->phase == SESSION_PHASE_LIVE && (rows < MIN_ROWS || cols < MIN_COLS)
                       ? COMPACT_TOP_ROWS
                       : 4;

        if (total > rows - 2 - keep) {
            total = rows - 2 - keep;
        }
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
    if (ui->ses->rubric != NULL) {
        snprintf(buf, len, "%s v%u",
                 ui->ses->rubric->name[0] ? ui->ses->rubric->name : ui->ses->rubric->id,
                 ui->ses->rubric->version);
    } else if (ui->ses->d->rubric_id[0] != '\0') {
        snprintf(buf, len, "%s v%u", ui->ses->d->rubric_id, ui->ses->d->rubric_version);
    } else {
        snprintf(buf, len, "-");
    }
}

static void count_kinds(const Coachq__V1__Observation *d, size_t counts[SESSION_N_KINDS])
{
    memset(counts, 0, SESSION_N_KINDS * sizeof(counts[0]));
    for (size_t i = 0; i < d->n_markers; i++) {
        for (size_t k = 0; k < SESSION_N_KINDS; k++) {
            if ((int)d->markers[i]->kind == session_kinds[k].kind) {
                counts[k]++;
            }
        }
    }
}

/* "5 : 2 (2.5 asks per tell)". */
static void ratio_words(const size_t counts[SESSION_N_KINDS], char *buf, size_t len)
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

int observe_draw_fits(const struct ui *ui, int rows, int cols)
{
    if (ui->ses->s->phase == SESSION_PHASE_LIVE && ui->ses->modal != SESSION_MODAL_CONFLICT) {
        return rows >= COMPACT_MIN_ROWS && cols >= COMPACT_MIN_COLS;
    }
    return rows >= MIN_ROWS && cols >= MIN_COLS;
}

static void draw_too_small(const struct ui *ui, int rows, int cols)
{
    char msg[320];
    struct span sp[8];
    int n;
    int live = ui->ses->s->phase == SESSION_PHASE_LIVE && ui->ses->modal != SESSION_MODAL_CONFLICT;

    snprintf(msg, sizeof(msg),
             "coachq observe needs a terminal of at least %dx%d%s; this one is %dx%d. Enlarge it: "
             "%s and the clock goes on.",
             live ? COMPACT_MIN_COLS : MIN_COLS, live ? COMPACT_MIN_ROWS : MIN_ROWS,
             live                                      ? " for the live phase"
             : ui->ses->s->phase == SESSION_PHASE_LIVE ? " for this question"
                                                       : " (the live phase fits in 40x12)",
             cols, rows,
             session_journaled(ui->ses) ? "the session is saved"
                                        : "the session is NOT saved to disk (kept in memory)");
    n = wrap(msg, cols > 2 ? cols - 2 : 1, sp, 8);
    for (int i = 0; i < n && i < 8 && i < rows; i++) {
        putn(i, 1, cols > 2 ? cols - 2 : cols, attr(ui, ROLE_WARN), msg + sp[i].off, sp[i].len);
    }
    if (ui->ses->modal == SESSION_MODAL_QUIT && rows > n + 1) {
        put(n + 1, 1, cols - 2, A_BOLD, "quit? (y/n)");
    } else if (ui->ses->modal == SESSION_MODAL_DISCARD && rows > n + 1) {
        putf(n + 1, 1, cols - 2, A_BOLD, "type %s, Enter: %s_", SESSION_DISCARD_WORD,
             ui->ses->discard);
    }
}

/* The header rows 1-2 shared by the live and rating screens. */
static void session_header(const struct ui *ui, int cols)
{
    char rb[LABEL_MAX], t[64], c1[LABEL_MAX], c2[LABEL_MAX];

    rubric_words(ui, rb, sizeof(rb));
    session_type_words(ui->ses->d->session_type, t, sizeof(t));
    putf(1, 1, cols - 2, A_NORMAL, "%s | %s | focus: %s", rb, t,
         session_focus_words(ui->ses->d->focus));
    putf(2, 1, cols - 2, A_NORMAL, "Coach %s   Coachee %s",
         session_person_words(ui->ses, ui->ses->d->coach_id, c1, sizeof(c1)),
         session_person_words(ui->ses, ui->ses->d->coachee_id, c2, sizeof(c2)));
}

/* A record's line: its text, and the status and due date when they say
 * something. */
static void record_words(const Coachq__V1__ActionRecord *r, char *buf, size_t len)
{
    char due[DAY_TIME_LEN], on[DAY_TIME_LEN];

    day_format(r->agreed_day, on, sizeof(on));
    due[0] = '\0';
    if (r->due_day != 0) {
        day_format(r->due_day, due, sizeof(due));
    }
    snprintf(buf, len, "%s (agreed %s%s%s%s%s)", r->text, on, due[0] ? ", due " : "", due,
             r->status != COACHQ__V1__ACTION_STATUS__ACTION_STATUS_OPEN ? ", " : "",
             r->status != COACHQ__V1__ACTION_STATUS__ACTION_STATUS_OPEN
                 ? session_status_words(r->status)
                 : "");
}

/* The pair's open actions on rows [y, ymax): what the setup steps and the
 * rating phase show, so the session can start from them. Returns the rows
 * used. */
static int open_panel(struct ui *ui, int y, int ymax, int cols)
{
    const struct session *ses = ui->ses;
    char line[VALIDATE_MAX_ACTION + 80];
    int y0 = y;

    if (y >= ymax || ses->d->coach_id[0] == '\0' || ses->d->coachee_id[0] == '\0') {
        return 0;
    }
    if (ses->open_state < 0) {
        putf(y++, 1, cols - 2, attr(ui, ROLE_WARN),
             "Open actions of this pair: not loaded (%s); the session goes on", ses->open_why);
        return y - y0;
    }
    if (ses->open_state == 0) {
        return 0;
    }
    putf(y++, 1, cols - 2, A_BOLD, "Open actions of this pair: %zu%s", ses->n_open,
         ses->n_open > 0 ? " (followed up after the ratings)" : "");
    for (size_t i = 0; i < ses->n_open && y < ymax; i++, y++) {
        if (y == ymax - 1 && i + 1 < ses->n_open) {
            putf(y, 3, cols - 4, A_NORMAL, "... and %zu more", ses->n_open - i);
            break;
        }
        record_words(ses->open[i], line, sizeof(line));
        putf(y, 3, cols - 4, A_NORMAL, "- %s", line);
    }
    return y - y0;
}

static void draw_setup(struct ui *ui, int rows, int cols)
{
    const struct picker *pk = &ui->pk;
    const char *what;
    char right[64], rb[LABEL_MAX], buf[LABEL_MAX];
    int step = (int)ui->ses->s->cursor;
    int y, list_top, list_rows;

    snprintf(right, sizeof(right), "step %d of %d: %s", step + 1, SESSION_STEP_COUNT,
             step < SESSION_STEP_COUNT ? step_names[step] : "");
    title_bar(ui, cols, ui->ses->d->started_at != 0 ? "CHANGE SESSION DETAILS" : "NEW SESSION",
              right);
    rubric_words(ui, rb, sizeof(rb));
    putf(2, 1, cols - 2, step == SESSION_STEP_RUBRIC ? A_BOLD : A_NORMAL, "%c Rubric        %s",
         step == SESSION_STEP_RUBRIC ? '>' : ' ', rb);
    putf(3, 1, cols - 2, step == SESSION_STEP_COACH ? A_BOLD : A_NORMAL, "%c Coach         %s",
         step == SESSION_STEP_COACH ? '>' : ' ',
         session_person_words(ui->ses, ui->ses->d->coach_id, buf, sizeof(buf)));
    putf(4, 1, cols - 2, step == SESSION_STEP_COACHEE ? A_BOLD : A_NORMAL, "%c Coachee       %s",
         step == SESSION_STEP_COACHEE ? '>' : ' ',
         session_person_words(ui->ses, ui->ses->d->coachee_id, buf, sizeof(buf)));
    putf(5, 1, cols - 2, step == SESSION_STEP_TYPE ? A_BOLD : A_NORMAL, "%c Session type  %s",
         step == SESSION_STEP_TYPE ? '>' : ' ',
         session_type_words(ui->ses->d->session_type, buf, sizeof(buf)));
    putf(6, 1, cols - 2, step == SESSION_STEP_FOCUS ? A_BOLD : A_NORMAL, "%c Focus         %s",
         step == SESSION_STEP_FOCUS ? '>' : ' ', session_focus_words(ui->ses->d->focus));
    observe_mode_words(ui, buf, sizeof(buf));
    putf(7, 1, cols - 2, step == SESSION_STEP_MODE ? A_BOLD : A_NORMAL, "%c Mode          %s",
         step == SESSION_STEP_MODE ? '>' : ' ', buf);
    hline_at(8, cols);
    switch (step) {
    case SESSION_STEP_RUBRIC:
        what = "Choose the rubric";
        break;
    case SESSION_STEP_COACH:
        what = "Choose the coach (the front-line manager observed)";
        break;
    case SESSION_STEP_COACHEE:
        what = "Choose the coachee (the rep)";
        break;
    case SESSION_STEP_TYPE:
        what = "Choose the session type";
        break;
    case SESSION_STEP_MODE:
        what = "Observed live, or from a recording?";
        break;
    default:
        what = "Choose the coaching focus";
        break;
    }
    put(9, 1, cols - 2, A_BOLD, what);
    putf(10, 1, cols - 2, A_NORMAL, "Search: %s_", pk->filter);
    list_top = 11;
    list_rows = rows - 3 - list_top;
    if (step >= SESSION_STEP_TYPE && ui->ses->open_state != 0) {
        /* The pair is chosen: their open actions below the short lists,
         * above the rule over the keys (higher when messages take more
         * than one row). */
        int bottom = rows - 2 - ui->foot_n;
        int panel =
            ui->ses->open_state < 0 ? 1 : 1 + (int)(ui->ses->n_open < 4 ? ui->ses->n_open : 4);

        if (bottom - list_top - panel - 1 >= 3) {
            list_rows = bottom - list_top - panel - 1;
            hline_at(list_top + list_rows, cols);
            open_panel(ui, list_top + list_rows + 1, bottom, cols);
        }
    }
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

/* The latest markers from row y to ymax (excluded), newest first, the
 * one n notes marked ">". */
static void live_markers(struct ui *ui, int y, int ymax, int cols)
{
    const Coachq__V1__Observation *d = ui->ses->d;
    size_t room = ymax > y ? (size_t)(ymax - y) : 0;
    size_t skip = 0;
    char t[24];

    if (ui->live_sel >= d->n_markers) {
        ui->live_sel = d->n_markers > 0 ? d->n_markers - 1 : 0;
    }
    /* Scrolled so that the chosen marker shows. */
    if (room > 0 && ui->live_sel >= room) {
        skip = ui->live_sel - room + 1;
    }

    for (size_t i = d->n_markers - skip; i > 0 && y < ymax; i--, y++) {
        const Coachq__V1__Marker *m = d->markers[i - 1];
        int chosen = d->n_markers - i == ui->live_sel;
        int w;

        session_fmt_clock(m->offset_ms, t, sizeof(t));
        w = putf(y, 0, cols - 1, chosen ? A_BOLD : A_NORMAL, "%s %s  %-18s", chosen ? ">" : " ", t,
                 session_kind_label(m->kind));
        if (m->note[0] != '\0') {
            putf(y, w + 1, cols - 2 - w, A_NORMAL, "\"%s\"", m->note);
        }
    }
    if (d->n_markers == 0 && y < ymax) {
        put(y, 2, cols - 3, A_NORMAL, "none yet: tap o d e p s t a as moments happen");
    }
}

/* The live phase in less than 80x24, down to COMPACT_MIN_COLS x
 * COMPACT_MIN_ROWS: beside a video call. The counts in two columns, the
 * ask : tell ratio, the latest markers and the keys. */
static void draw_live_compact(struct ui *ui, int rows, int cols, int64_t now)
{
    const Coachq__V1__Observation *d = ui->ses->d;
    size_t counts[SESSION_N_KINDS];
    char clk[24], right[64], c1[LABEL_MAX], c2[LABEL_MAX];
    int running = session_clock_running(ui->ses->s);
    int half = cols / 2;
    int y;

    count_kinds(d, counts);
    session_clock_label(ui->ses, now, clk, sizeof(clk));
    snprintf(right, sizeof(right), "%s %s", clk, running ? "RUNNING" : "PAUSED");
    attr_on(attr(ui, ROLE_TITLE), NULL);
    mvhline(0, 0, ' ', cols);
    attr_off(attr(ui, ROLE_TITLE), NULL);
    put(0, 1, cols - 2, attr(ui, ROLE_TITLE), session_is_recording(ui->ses) ? "REC" : "LIVE");
    put(0, cols - 1 - text_width(right), text_width(right),
        running ? attr(ui, ROLE_TITLE) : attr(ui, ROLE_WARN) | A_REVERSE, right);
    putf(1, 1, cols - 2, A_NORMAL, "%s -> %s",
         session_person_words(ui->ses, d->coach_id, c1, sizeof(c1)),
         session_person_words(ui->ses, d->coachee_id, c2, sizeof(c2)));
    for (size_t k = 0; k < SESSION_N_KINDS; k++) {
        int x = k % 2 == 0 ? 1 : half + 1;

        putf(2 + (int)k / 2, x, half - 2, A_NORMAL, "%c %-*.*s%3zu", session_kinds[k].key,
             half - 8 > 0 ? half - 8 : 1, half - 8 > 0 ? half - 8 : 1, session_kinds[k].label,
             counts[k]);
    }
    putf(6, 1, cols - 2, attr(ui, ROLE_ACCENT), "ask : tell %zu : %zu   Markers in all: %zu",
         counts[0], counts[1], d->n_markers);
    hline_at(7, cols);
    y = rows - ui->foot_n - 2;
    if (y < COMPACT_TOP_ROWS) {
        y = COMPACT_TOP_ROWS; /* long messages: the markers give way, the counts stay */
    }
    {
        char check[SESSION_STATUS_MAX];
        int top = COMPACT_TOP_ROWS;

        /* What the server would refuse stays in sight here too, on one
         * line (where it came from goes first, so a cut keeps that). */
        if (y > top && session_checks_words(ui->ses, now, check, sizeof(check))) {
            put(top, 1, 2, attr(ui, ROLE_WARN) | A_BOLD, "!");
            put(top, 3, cols - 4, attr(ui, ROLE_WARN) | A_BOLD, check);
            top++;
        }
        live_markers(ui, top, y, cols);
    }
    hline_at(y, cols);
    footer(ui, rows, cols, "odepsta mark n note u undo spc pause Enter rate ? keys");
}

static void draw_live(struct ui *ui, int rows, int cols, int64_t now)
{
    const Coachq__V1__Observation *d = ui->ses->d;
    size_t counts[SESSION_N_KINDS];
    char clk[24], right[64], ratio[64], t[24];
    int running = session_clock_running(ui->ses->s);
    int y, first_self = -1;

    count_kinds(d, counts);
    session_clock_label(ui->ses, now, clk, sizeof(clk));
    snprintf(right, sizeof(right), "%s  %s", clk, running ? "RUNNING" : "PAUSED");
    title_bar(ui, cols, session_is_recording(ui->ses) ? "RECORDING" : "LIVE", right);
    if (!running) {
        /* The paused state stands out even without colour. */
        put(0, cols - 1 - text_width(right), text_width(right), attr(ui, ROLE_WARN) | A_REVERSE,
            right);
    }
    session_header(ui, cols);
    hline_at(3, cols);
    put(4, 1, 40, A_BOLD, "key  marker              count");
    for (size_t k = 0; k < SESSION_N_KINDS; k++) {
        putf(5 + (int)k, 1, 40, A_NORMAL, " %c   %-20s %5zu", session_kinds[k].key,
             session_kinds[k].label, counts[k]);
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
        session_fmt_clock(d->markers[first_self]->offset_ms, t, sizeof(t));
        putf(7, 44, cols - 45, A_NORMAL, "Rep first self-assessed at %s", t);
    } else {
        put(7, 44, cols - 45, A_NORMAL, "Rep has not self-assessed yet");
    }
    putf(8, 44, cols - 45, A_NORMAL, "Manager took over %zu time%s", counts[5],
         str_plural(counts[5], "", "s"));
    putf(9, 44, cols - 45, A_NORMAL, "Markers in all: %zu", d->n_markers);
    hline_at(12, cols);
    y = 13;
    {
        char check[SESSION_STATUS_MAX];
        struct span sp[3];
        int n;

        /* What the server would refuse stays in sight all session long,
         * wrapped, above the markers. */
        if (session_checks_words(ui->ses, now, check, sizeof(check))) {
            n = wrap(check, cols - 4, sp, 3);
            for (int i = 0; i < n; i++, y++) {
                if (i == 0) {
                    put(y, 1, 2, attr(ui, ROLE_WARN) | A_BOLD, "!");
                }
                putn(y, 3, cols - 4, attr(ui, ROLE_WARN) | A_BOLD, check + sp[i].off, sp[i].len);
            }
        }
    }
    put(y, 1, cols - 2, A_BOLD,
        "Latest markers (Up/Down choose one, n: its note, u: undo the newest)");
    live_markers(ui, y + 1, rows - 3, cols);
    hline_at(rows - 3, cols);
    footer(ui, rows, cols,
           "o/d/e/p/s/t/a mark  n note  u undo  space pause  Enter rate  ? keys  q quit");
}

/* The body of the details view of the current behaviour: definition,
 * indicators, the four level anchors, and the keys. */
static void details_body(struct ui *ui, struct flow *f, int w)
{
    const Coachq__V1__Behaviour *b = ui->ses->rubric->behaviours[ui->ses->s->cursor];
    const Coachq__V1__Rating *rt = ui->ses->d->ratings[ui->ses->s->cursor];
    char line[LABEL_MAX + 64];

    if (rt->not_applicable) {
        snprintf(line, sizeof(line), "%s: not applicable", b->name);
    } else if (rt->score > 0) {
        snprintf(line, sizeof(line), "%s: %u %s", b->name, rt->score,
                 session_score_words[rt->score]);
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
        snprintf(line, sizeof(line), "%zu %s%s: ", i + 1, session_score_words[i + 1],
                 session_needs_evidence(ui->ses->rubric, (uint32_t)i + 1) ? " (evidence required)"
                                                                          : "");
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
    snprintf(right, sizeof(right), "behaviour %u of %zu", ui->ses->s->cursor + 1,
             ui->ses->rubric->n_behaviours);
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

static void draw_rating(struct ui *ui, int rows, int cols)
{
    const Coachq__V1__Rubric *r = ui->ses->rubric;
    size_t n = r->n_behaviours;
    size_t cur = ui->ses->s->cursor;
    size_t rated = 0, top = 0;
    char right[64], clk[24], line[2200];
    int list_top = 4, detail_rows = 6;
    int list_rows = rows - 3 - list_top - 1 - detail_rows;
    int y, panel = ui->ses->open_state < 0 || ui->ses->n_open > 0;

    if (ui->details) {
        draw_details(ui, rows, cols);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        rated += ui->ses->d->ratings[i]->score > 0 || ui->ses->d->ratings[i]->not_applicable;
    }
    session_fmt_clock(session_clock_now(ui->ses->s, session_now_ms()), clk, sizeof(clk));
    snprintf(right, sizeof(right), "%zu of %zu rated | session %s", rated, n, clk);
    title_bar(ui, cols, "RATING", right);
    session_header(ui, cols);
    hline_at(3, cols);
    list_rows -= panel;
    if (list_rows < 3) {
        list_rows = 3;
    }
    if (cur >= (size_t)list_rows) {
        top = cur - (size_t)list_rows + 1;
    }
    y = list_top;
    for (size_t i = top; i < n && y < list_top + list_rows; i++, y++) {
        const Coachq__V1__Behaviour *b = r->behaviours[i];
        const Coachq__V1__Rating *rt = ui->ses->d->ratings[i];
        attr_t a = i == cur ? A_REVERSE : A_NORMAL;
        char score[32];
        int missing =
            rt->score > 0 && session_needs_evidence(r, rt->score) && rt->evidence[0] == '\0';

        if (rt->not_applicable) {
            snprintf(score, sizeof(score), "n/a");
        } else if (rt->score > 0) {
            snprintf(score, sizeof(score), "%u %s", rt->score, session_score_words[rt->score]);
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
    if (panel) {
        /* One line: the open actions are followed up after the ratings. */
        if (ui->ses->open_state < 0) {
            putf(y++, 1, cols - 2, attr(ui, ROLE_WARN), "Open actions: not loaded (%s)",
                 ui->ses->open_why);
        } else {
            putf(y++, 1, cols - 2, attr(ui, ROLE_ACCENT),
                 "Open actions %zu, followed up next: %s%s", ui->ses->n_open,
                 ui->ses->open[0]->text, ui->ses->n_open > 1 ? "; ..." : "");
        }
    }
    hline_at(y++, cols);
    if (cur < n) {
        const Coachq__V1__Behaviour *b = r->behaviours[cur];
        const Coachq__V1__Rating *rt = ui->ses->d->ratings[cur];
        struct flow f;

        memset(&f, 0, sizeof(f));
        f.y = y;
        f.ymax = rows - 3;
        f.draw = 1;
        if (rt->score > 0 && rt->score <= b->n_anchors) {
            snprintf(line, sizeof(line), "%s - %u %s: %s", b->name, rt->score,
                     session_score_words[rt->score], b->anchors[rt->score - 1]);
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
        session_can_go_live(ui->ses)
            ? "1-4 score  x n/a  v evidence  i details  j/k move  Enter done  b live  q quit"
            : "1-4 score  x n/a  v evidence  i details  j/k move  Enter done  ? details  q quit");
}

/* The follow-up step: each open action of the pair with its follow-up. */
static void draw_followups(struct ui *ui, int rows, int cols)
{
    size_t n = session_fu_count(ui->ses);
    size_t cur = ui->ses->s->cursor, done = 0, top = 0;
    char right[64], line[VALIDATE_MAX_ACTION + 80], idw[UUID_STR_LEN];
    int y = 4, per = 3;

    for (size_t i = 0; i < n; i++) {
        const Coachq__V1__ActionRecord *rec;
        Coachq__V1__FollowUp *fu;

        (void)session_fu_row(ui->ses, i, &rec, &fu);
        done += fu != NULL;
    }
    snprintf(right, sizeof(right), "%zu of %zu followed up", done, n);
    title_bar(ui, cols, "FOLLOW-UP", right);
    put(1, 1, cols - 2, A_NORMAL,
        "Did the rep (or manager) do what was agreed? Optional: Enter goes on.");
    if (ui->ses->open_state < 0) {
        putf(2, 1, cols - 2, attr(ui, ROLE_WARN), "Open actions not loaded (%s)",
             ui->ses->open_why);
    }
    hline_at(3, cols);
    if (cur >= (size_t)((rows - 7) / per)) {
        top = cur - (size_t)((rows - 7) / per) + 1;
    }
    for (size_t i = top; i < n && y + per - 1 < rows - 3; i++, y += per) {
        const Coachq__V1__ActionRecord *rec;
        Coachq__V1__FollowUp *fu;
        const ProtobufCBinaryData *id = session_fu_row(ui->ses, i, &rec, &fu);
        attr_t a = i == cur ? A_REVERSE : A_NORMAL;

        if (i == cur) {
            attr_on(a, NULL);
            mvhline(y, 0, ' ', cols);
            attr_off(a, NULL);
        }
        if (rec != NULL) {
            record_words(rec, line, sizeof(line));
        } else {
            snprintf(line, sizeof(line), "action %s (its text is not loaded)",
                     id != NULL && id->len == UUID_LEN ? uuid_format(id->data, idw) : "?");
        }
        putf(y, 0, cols - 1, a, "%c%2zu. %s", i == cur ? '>' : ' ', i + 1, line);
        if (fu != NULL) {
            char at[DAY_TIME_LEN];

            day_format_time(fu->at, at, sizeof(at));
            putf(y + 1, 5, cols - 6, attr(ui, ROLE_OK), "-> %s at %s",
                 session_status_words(fu->status), at);
            putf(y + 2, 8, cols - 9, A_NORMAL, "evidence: %s",
                 fu->evidence[0] != '\0' ? fu->evidence : "- (v adds it)");
        } else {
            put(y + 1, 5, cols - 6, A_NORMAL, "-> not followed up");
        }
    }
    hline_at(rows - 3, cols);
    footer(ui, rows, cols,
           "d done  p partly  n not done  x dropped  o open  - none  v evidence  Enter on");
}

/* The rubric's behaviours to pick the selected action's focus from. */
static void draw_focus_pick(struct ui *ui, int rows, int cols)
{
    const Coachq__V1__Rubric *r = ui->ses->rubric;
    const Coachq__V1__Action *ac = ui->ses->d->actions[ui->ses->s->cursor];
    size_t top = 0;
    int y = 5;

    putf(4, 1, cols - 2, A_BOLD, "Focus behaviours of action %u (one or two): %s",
         ui->ses->s->cursor + 1, ac->text);
    if (ui->focus_cur >= (size_t)(rows - 9)) {
        top = ui->focus_cur - (size_t)(rows - 9) + 1;
    }
    for (size_t i = top; r != NULL && i < r->n_behaviours && y < rows - 3; i++, y++) {
        int on = 0;
        attr_t a = i == ui->focus_cur ? A_REVERSE : A_NORMAL;

        for (size_t j = 0; j < ac->n_focus_behaviours; j++) {
            on |= strcmp(ac->focus_behaviours[j], r->behaviours[i]->id) == 0;
        }
        putf(y, 1, cols - 2, a, "%c [%c] %-30.30s %s", i == ui->focus_cur ? '>' : ' ',
             on ? 'x' : ' ', r->behaviours[i]->name, r->behaviours[i]->id);
    }
    hline_at(rows - 3, cols);
    footer(ui, rows, cols, "space pick/unpick  j/k move  f or Esc done  (two focus areas at most)");
}

static void draw_actions(struct ui *ui, int rows, int cols)
{
    const Coachq__V1__Observation *d = ui->ses->d;
    size_t cur = ui->ses->s->cursor;
    char right[64];
    int y = 4;

    snprintf(right, sizeof(right), "%zu agreed action%s", d->n_actions,
             str_plural(d->n_actions, "", "s"));
    title_bar(ui, cols, "AGREED ACTIONS", right);
    put(1, 1, cols - 2, A_NORMAL,
        "What did manager and rep agree to do? Optional: Enter goes on to the review.");
    hline_at(3, cols);
    if (d->n_actions == 0) {
        put(y, 2, cols - 3, A_NORMAL, "none yet: a adds one");
    }
    if (ui->focus_pick) {
        draw_focus_pick(ui, rows, cols);
        return;
    }
    for (size_t i = cur > (size_t)(rows - 8) / 2 ? cur - (size_t)(rows - 8) / 2 : 0;
         i < d->n_actions && y + 1 < rows - 3; i++, y += 2) {
        const Coachq__V1__Action *ac = d->actions[i];
        attr_t a = i == cur ? A_REVERSE : A_NORMAL;
        char due[DAY_TIME_LEN], focus[LABEL_MAX + VALIDATE_MAX_SKILL];

        if (i == cur) {
            attr_on(a, NULL);
            mvhline(y, 0, ' ', cols);
            attr_off(a, NULL);
        }
        putf(y, 0, cols - 1, a, "%c%2zu. %s", i == cur ? '>' : ' ', i + 1, ac->text);
        if (ac->due_day != 0) {
            day_format(ac->due_day, due, sizeof(due));
        } else {
            snprintf(due, sizeof(due), "-");
        }
        putf(y + 1, 5, cols - 6, A_NORMAL, "owner %s | due %s | focus %s",
             ac->owner == COACHQ__V1__ACTION_OWNER__ACTION_OWNER_MANAGER ? "manager" : "rep", due,
             session_action_focus_words(ac, focus, sizeof(focus)));
    }
    hline_at(rows - 3, cols);
    footer(ui, rows, cols,
           "a add  e edit  x del  o owner  u due  f focus  s skill  Enter review  b back  ? keys");
}

/* The server's answer on the review screen, from row y on. */
static void review_answer(struct ui *ui, int rows, int cols, int y)
{
    char line[1200];
    struct flow f;

    memset(&f, 0, sizeof(f));
    f.y = y;
    f.ymax = rows - 2 - ui->foot_n;
    f.draw = 1;
    if (ui->ses->result == SESSION_RESULT_STORED || ui->ses->result == SESSION_RESULT_DUPLICATE) {
        if (ui->ses->result == SESSION_RESULT_STORED) {
            snprintf(line, sizeof(line),
                     "STORED: the server stored this observation (seq %llu, version %u). Press "
                     "any key to exit.",
                     (unsigned long long)ui->ses->result_seq, ui->ses->result_version);
        } else {
            snprintf(line, sizeof(line),
                     "ALREADY STORED: the server had this observation already (a duplicate, "
                     "seq %llu); nothing changed. Press any key to exit.",
                     (unsigned long long)ui->ses->result_seq);
        }
        emit(&f, 1, cols - 2, attr(ui, ROLE_OK) | A_BOLD, NULL, line);
        if (ui->ses->clear_pending) {
            emit(&f, 1, cols - 2, attr(ui, ROLE_WARN), NULL,
                 "The older copy saved on this machine could not be removed yet; a later "
                 "coachq observe --resume finds it stored and offers to discard it.");
        }
    } else if (ui->ses->result == SESSION_RESULT_QUEUED) {
        snprintf(line, sizeof(line),
                 "QUEUED: the server %s (%s). The observation waits in the outbox on this "
                 "machine; coachq queue flush sends it (so does the next coachq observe). Press "
                 "any key to exit.",
                 session_code_is_transient(ui->ses->refusal.code) ? "could not be reached"
                                                                  : "refused you",
                 ui->ses->refusal.message);
        emit(&f, 1, cols - 2, attr(ui, ROLE_ACCENT) | A_BOLD, NULL, line);
    } else if (ui->ses->modal == SESSION_MODAL_SENDING) {
        put(y, 1, cols - 2, A_BOLD, "Sending to the server...");
    } else if (ui->ses->refused) {
        snprintf(line, sizeof(line), "REFUSED: %s (%s)%s%s: %s",
                 session_code_words(ui->ses->refusal.code),
                 session_code_name(ui->ses->refusal.code), ui->ses->refusal.field[0] ? " at " : "",
                 ui->ses->refusal.field, ui->ses->refusal.message);
        emit(&f, 1, cols - 2, attr(ui, ROLE_WARN) | A_BOLD, NULL, line);
    }
}

static void draw_review(struct ui *ui, int rows, int cols)
{
    const Coachq__V1__Observation *d = ui->ses->d;
    const Coachq__V1__Rubric *r = ui->ses->rubric;
    size_t counts[SESSION_N_KINDS];
    size_t evidence = 0, at = 0;
    char id[UUID_STR_LEN], am[UUID_STR_LEN], rb[LABEL_MAX], t[64], tm[DAY_TIME_LEN];
    char clk[24], c1[LABEL_MAX], c2[LABEL_MAX], ratio[64], problem[SESSION_STATUS_MAX];
    int y, half, nrows, problem_found;
    struct flow f;

    count_kinds(d, counts);
    title_bar(ui, cols, "REVIEW",
              d->amends.len == UUID_LEN ? "amendment"
              : ui->ses->o->fix != NULL ? "fixing a rejected observation"
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
    session_fmt_clock((uint64_t)d->duration_s * 1000u, clk, sizeof(clk));
    putf(2, 1, cols - 2, A_NORMAL, "Rubric   %s", rb);
    putf(3, 1, cols - 2, A_NORMAL, "Coach    %s",
         session_person_words(ui->ses, d->coach_id, c1, sizeof(c1)));
    putf(4, 1, cols - 2, A_NORMAL, "Coachee  %s",
         session_person_words(ui->ses, d->coachee_id, c2, sizeof(c2)));
    putf(5, 1, cols - 2, A_NORMAL, "Session  %s, focus %s; started %s, %s long", t,
         session_focus_words(d->focus), tm, clk);
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
    putf(y++, 1, cols - 2, A_NORMAL,
         "Evidence %zu note%s   Actions %zu   Follow-ups %zu   Session note: %s", evidence,
         str_plural(evidence, "", "s"), d->n_actions, d->n_follow_ups,
         d->notes[0] ? d->notes : "-");
    problem_found = session_rating_problem(ui->ses, &at, problem, sizeof(problem));
    /* Wrapped, not cut: the problem names the behaviour and what to do. */
    memset(&f, 0, sizeof(f));
    f.y = y;
    f.ymax = rows - 3;
    f.draw = 1;
    emit(&f, 1, cols - 2, attr(ui, problem_found ? ROLE_WARN : ROLE_OK), "Missing  ",
         problem_found ? problem : "nothing: ready to submit");
    y = f.y;
    hline_at(y++, cols);
    review_answer(ui, rows, cols, y);
    hline_at(rows - 3, cols);
    if (ui->ses->result != SESSION_RESULT_NONE) {
        footer(ui, rows, cols, "any key exits");
    } else if (ui->ses->refused) {
        footer(ui, rows, cols,
               "s submit  b fix  r rate  f follow-ups  a actions  c details  ? keys  q leave");
    } else {
        footer(ui, rows, cols,
               "s submit  r rate  f follow-ups  a actions  c details  n note  ? keys  q quit");
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
        "",
        "Once coach and coachee are chosen, their open actions from earlier",
        "sessions show below the list; they are followed up after the ratings.",
        NULL,
    };
    static const char *const live[] = {
        "o  open question            d  directive (the manager tells)",
        "e  evidence asked           p  praise",
        "s  rep self-assessed        t  manager took over",
        "a  action agreed",
        "Each marker is stamped with the clock's time.",
        "",
        "Up/Down choose a recent marker (> marks it); a new marker chooses itself",
        "n       add or edit the note of the chosen marker; while typing it,",
        "        Alt with a marker key marks the moment and the note stays open",
        "u       undo the last marker",
        "space   pause or resume the clock",
        "Left/Right, [ ]  on a recording: back/on 5 s, 30 s; g  go to mm:ss",
        "Enter   end the session and rate it (also r); asks first: Enter or y",
        "q       quit; the session is saved: coachq observe --resume continues it",
        "?       these keys",
        "",
        "Every key is saved at once, so a crash or a closed lid loses nothing.",
        NULL,
    };
    static const char *const actions[] = {
        "a       add an agreed action",
        "e       edit the selected action's text",
        "x       delete the selected action (asks first: y deletes it)",
        "o       owner: the rep or the manager",
        "u       due date (YYYY-MM-DD, not before the session; empty for none)",
        "f       focus behaviours from the rubric (one or two; space picks)",
        "s       a rep skill in free text (counts as a focus area)",
        "j/k     move (also Up/Down)",
        "Enter   go on to the review",
        "b       back to the follow-ups (or the ratings)",
        "q       quit; the session is saved",
        NULL,
    };
    static const char *const followups[] = {
        "d       done                    p       partly done",
        "n       not done                x       dropped",
        "o       still open (followed up, not finished)",
        "-       not followed up (removes the follow-up)",
        "v       write or edit the evidence note (asked for after a status)",
        "j/k     move (also Up/Down)",
        "Enter   go on to the agreed actions",
        "b       back to the ratings",
        "q       quit; the session is saved",
        "Each follow-up is stamped with the session clock's moment.",
        NULL,
    };
    static const char *const review[] = {
        "s       submit to the server",
        "r       back to the ratings",
        "a       back to the agreed actions",
        "f       back to the follow-ups of the open actions",
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
        "Enter   done: go on to the follow-ups (if any) and the agreed actions",
        "b       back to the live phase (the clock resumes)",
        "q       quit; the session is saved",
        NULL,
    };
    const char *const *lines;
    int y = 2;

    switch ((enum session_phase)ui->ses->s->phase) {
    case SESSION_PHASE_LIVE:
        lines = live;
        break;
    case SESSION_PHASE_RATING:
        lines = rating;
        break;
    case SESSION_PHASE_ACTIONS:
        lines = actions;
        break;
    case SESSION_PHASE_FOLLOWUPS:
        lines = followups;
        break;
    case SESSION_PHASE_REVIEW:
        lines = review;
        break;
    default:
        lines = setup;
        break;
    }
    title_bar(ui, cols, "KEYS", "");
    if (cols >= MIN_COLS) {
        for (size_t i = 0; lines[i] != NULL && y < rows - 3; i++, y++) {
            put(y, 2, cols - 3, A_NORMAL, lines[i]);
        }
    } else {
        /* The compact live layout: each line wrapped, not cut. */
        struct flow f;

        memset(&f, 0, sizeof(f));
        f.y = 1;
        f.ymax = rows - 3;
        f.draw = 1;
        for (size_t i = 0; lines[i] != NULL && f.y < f.ymax; i++) {
            if (lines[i][0] != '\0') {
                emit(&f, 1, cols - 2, A_NORMAL, NULL, lines[i]);
            }
        }
    }
    hline_at(rows - 3, cols);
    put(rows - 2, 1, cols - 2, attr(ui, ROLE_ACCENT),
        cols >= MIN_COLS ? "?, Esc or q close this; any other key closes it and does what it does"
                         : "? Esc q close; other keys act");
    if (!session_journaled(ui->ses)) {
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
    char bytes[96];
    size_t nchars, nbytes;

    mvhline(rows - 4, 0, ' ', cols);
    mvhline(rows - 3, 0, ' ', cols);
    mvhline(rows - 2, 0, ' ', cols);
    /* The limit as typed: characters so far, and how many more fit (the
     * server counts bytes: a plain letter takes 1, an emoji 4 or more). */
    observe_edit_count(ed, &nchars, &nbytes);
    snprintf(bytes, sizeof(bytes), " %zu chars, %zu bytes left  Enter saves  Esc cancels", nchars,
             nbytes < ed->max_bytes ? ed->max_bytes - nbytes : 0);
    if (text_width(bytes) > cols / 2) {
        snprintf(bytes, sizeof(bytes), " %zu chars, %zu bytes left", nchars,
                 nbytes < ed->max_bytes ? ed->max_bytes - nbytes : 0);
    }
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

    if (ui->ses->modal == SESSION_MODAL_DISCARD) {
        snprintf(typed, sizeof(typed),
                 "not saved: type %s, Enter to quit and lose it; Esc stays: %s_",
                 SESSION_DISCARD_WORD, ui->ses->discard);
        q = typed;
    } else if (ui->ses->modal == SESSION_MODAL_QUIT) {
        q = ui->ses->s->phase == SESSION_PHASE_SETUP && ui->ses->d->started_at == 0
                ? "quit? the choices so far are saved; coachq observe --resume continues (y/n)"
                : "quit? the session is saved; coachq observe --resume continues it (y/n)";
    } else if (ui->ses->modal == SESSION_MODAL_REJECT) {
        q = "leave it in the outbox as rejected? coachq queue list shows it (y/n)";
    } else if (ui->ses->modal == SESSION_MODAL_CONFLICT && ui->ses->conflict_confirm) {
        q = "discard the copy on this machine for good? (y/n)";
    }
    if (q != NULL && text_width(q) > cols - 2 && ui->ses->modal == SESSION_MODAL_QUIT) {
        /* The compact live layout: the question whole, with its y/n. */
        q = "quit? it is saved: --resume (y/n)";
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
             evidence, str_plural(evidence, "", "s"), o != NULL ? o->n_markers : 0,
             str_plural(o != NULL ? o->n_markers : 0, "", "s"), o != NULL ? o->n_actions : 0,
             str_plural(o != NULL ? o->n_actions : 0, "", "s"));
}

/* The server has this observation's id with other content (SESSION_MODAL_CONFLICT):
 * both sides, and the ways out. */
static void draw_conflict(struct ui *ui, int rows, int cols)
{
    const Coachq__V1__StoredObservation *rec = ui->ses->conflict;
    char id[UUID_STR_LEN], tm[DAY_TIME_LEN], line[512], mine[160], theirs[160];
    struct flow f;

    uuid_format(ui->ses->d->id.data, id);
    day_format_time(rec->received_at_ms / 1000, tm, sizeof(tm));
    content_words(rec->observation, theirs, sizeof(theirs));
    content_words(ui->ses->d, mine, sizeof(mine));
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
    if (ui->ses->conflict_confirm) {
        draw_modal_line(ui, rows - (ui->foot_n - 1), cols);
    }
}

void observe_draw(struct ui *ui)
{
    int rows, cols;
    int64_t now = session_now_ms();

    getmaxyx(stdscr, rows, cols);
    erase();
    curs_set(0);
    ui->foot_n = 1;
    if (!observe_draw_fits(ui, rows, cols)) {
        draw_too_small(ui, rows, cols);
        refresh();
        return;
    }
    if (ui->ses->modal == SESSION_MODAL_HELP) {
        draw_help(ui, rows, cols);
        refresh();
        return;
    }
    if (ui->ses->modal == SESSION_MODAL_CONFLICT) {
        draw_conflict(ui, rows, cols);
        refresh();
        return;
    }
    if (observe_cal_draw(ui, rows, cols)) {
        refresh();
        return;
    }
    /* Counted first, so that a screen can keep its own text above them. */
    footer(ui, rows, cols, NULL);
    switch ((enum session_phase)ui->ses->s->phase) {
    case SESSION_PHASE_LIVE:
        if (rows < MIN_ROWS || cols < MIN_COLS) {
            draw_live_compact(ui, rows, cols, now);
        } else {
            draw_live(ui, rows, cols, now);
        }
        break;
    case SESSION_PHASE_RATING:
        draw_rating(ui, rows, cols);
        break;
    case SESSION_PHASE_ACTIONS:
        draw_actions(ui, rows, cols);
        break;
    case SESSION_PHASE_FOLLOWUPS:
        draw_followups(ui, rows, cols);
        break;
    case SESSION_PHASE_REVIEW:
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

void observe_draw_saved(struct ui *ui, const char *what, int confirm)
{
    struct flow f;
    int rows, cols;

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
}

void observe_draw_loading(void)
{
    erase();
    put(1, 1, COLS - 2, A_BOLD, "coachq observe: loading the rubric and the people...");
    refresh();
}
