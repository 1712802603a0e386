/*
 * observe_edit: the observe UI's line editor, for notes, evidence, actions
 * and the other short texts: what typing does, how the text is measured
 * against the server's byte limits (as typed, with a counter in
 * characters) and how grapheme clusters are kept whole (a zero-width
 * joiner sequence such as the woman technologist is one character: typed,
 * counted, deleted and refused whole). In the live phase, Alt with a
 * marker key marks a moment while a note is open.
 */
#define _XOPEN_SOURCE 700 /* wcwidth() and the wide-character curses calls */

#include "observe_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#include "error.h"

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
            /* Never dropped silently: the commit says so instead. */
            return -EILSEQ;
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

/* Whether c joins or modifies the character before it rather than being a
 * character of its own: zero-width (non-)joiners, variation selectors, tag
 * characters, and marks of width 0 (combining accents). iswprint() says no
 * to some of these, which the editor used to drop. */
static int is_extender(wint_t c)
{
    return c == 0x200C || c == 0x200D || (c >= 0xFE00 && c <= 0xFE0F) ||
           (c >= 0xE0020 && c <= 0xE007F) || (c >= 0x1F3FB && c <= 0x1F3FF) ||
           (c > 0x7F && iswprint(c) && wcwidth((wchar_t)c) == 0);
}

/* Where the grapheme cluster that ends just before pos starts: a
 * character with its extenders, and what a zero-width joiner joins to it
 * (the woman technologist is woman, ZWJ, laptop). */
static size_t cluster_start(const struct editor *ed, size_t pos)
{
    size_t i = pos;

    while (i > 0) {
        i--;
        if (is_extender((wint_t)ed->buf[i])) {
            continue;
        }
        if (i > 0 && ed->buf[i - 1] == 0x200D) {
            continue;
        }
        break;
    }
    return i;
}

/* Where the grapheme cluster that starts at pos ends (see cluster_start). */
static size_t cluster_end(const struct editor *ed, size_t pos)
{
    size_t i = pos;

    if (i >= ed->len) {
        return ed->len;
    }
    i++;
    while (i < ed->len && (is_extender((wint_t)ed->buf[i]) || ed->buf[i - 1] == 0x200D)) {
        i++;
    }
    return i;
}

/* Removes buf[from, to) from the editor's text. */
static void editor_cut(struct editor *ed, size_t from, size_t to)
{
    memmove(&ed->buf[from], &ed->buf[to], (ed->len - to) * sizeof(ed->buf[0]));
    ed->len -= to - from;
    ed->pos = from;
}

/* The UTF-8 bytes of one character (0 when the locale cannot write it). */
static size_t char_bytes(wchar_t c)
{
    char mb[MB_LEN_MAX];
    mbstate_t st;
    size_t k;

    memset(&st, 0, sizeof(st));
    k = wcrtomb(mb, c, &st);
    return k == (size_t)-1 ? 0 : k;
}

void observe_edit_count(const struct editor *ed, size_t *chars, size_t *bytes)
{
    *chars = 0;
    *bytes = 0;
    for (size_t i = 0; i < ed->len; i++) {
        *bytes += char_bytes(ed->buf[i]);
        *chars += !(is_extender((wint_t)ed->buf[i]) || (i > 0 && ed->buf[i - 1] == 0x200D));
    }
}

void observe_edit_open(struct ui *ui, enum edit_target t, size_t index, size_t max_bytes,
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
    if (i < len) {
        /* Saving what loaded would cut the stored text without a word. */
        ed->partial = 1;
        session_say(ui->ses, 1,
                    "this text cannot be edited here (this terminal's locale cannot read all "
                    "of it); Esc leaves it unchanged");
    }
}

static void editor_close(struct ui *ui)
{
    ui->ed.target = EDIT_NONE;
}

static void editor_commit(struct ui *ui)
{
    struct editor *ed = &ui->ed;
    char *text;
    int rc = -ENOENT;
    int n;

    if (ed->partial) {
        session_say(ui->ses, 1,
                    "not saved: the text did not load whole in this terminal; Esc leaves it "
                    "unchanged");
        return;
    }
    text = malloc(EDIT_MAX * MB_LEN_MAX + 1);
    if (text == NULL) {
        session_say(ui->ses, 1, "out of memory: the text was not kept");
        return;
    }
    n = editor_text(ed, text, EDIT_MAX * MB_LEN_MAX + 1);
    if (n == -EILSEQ) {
        session_say(ui->ses, 1, "a character cannot be written in this locale; remove it");
        free(text);
        return;
    }
    if (n < 0 || (size_t)n > ed->max_bytes) {
        session_say(ui->ses, 1, "too long: at most %zu bytes; shorten it", ed->max_bytes);
        free(text);
        return;
    }
    if (validate_utf8(text, (size_t)n) < 0) {
        session_say(ui->ses, 1, "the text is not UTF-8 (check the terminal's locale)");
        free(text);
        return;
    }
    switch (ed->target) {
    case EDIT_NOTE:
        if (ed->index < ui->ses->d->n_markers) {
            rc = session_set_str(&ui->ses->d->markers[ed->index]->note, text);
            if (rc == 0) {
                session_say(ui->ses, 0, "note %s", n > 0 ? "saved" : "removed");
            }
        }
        break;
    case EDIT_EVIDENCE:
        if (ed->index < ui->ses->d->n_ratings) {
            rc = session_set_evidence(ui->ses, ed->index, text, session_now_ms());
            if (rc == 0) {
                session_say(ui->ses, 0, "evidence %s", n > 0 ? "saved" : "removed");
            }
        }
        break;
    case EDIT_ACTION_NEW:
        if (n == 0) {
            rc = 0;
            break;
        }
        rc = session_action_add(ui->ses, text);
        if (rc == 0) {
            ui->ses->s->cursor = (uint32_t)(ui->ses->d->n_actions - 1);
            session_say(ui->ses, 0, "action added");
        }
        break;
    case EDIT_ACTION:
        if (ed->index < ui->ses->d->n_actions) {
            if (n == 0) {
                session_action_delete(ui->ses, ed->index);
                rc = 0;
            } else {
                rc = session_set_str(&ui->ses->d->actions[ed->index]->text, text);
            }
        }
        break;
    case EDIT_NOTES:
        rc = session_set_str(&ui->ses->d->notes, text);
        break;
    case EDIT_FU_EVIDENCE:
        rc = session_fu_evidence(ui->ses, ed->index, text);
        if (rc == 0) {
            session_say(ui->ses, 0, "follow-up evidence %s", n > 0 ? "saved" : "removed");
        }
        break;
    case EDIT_REC_REF:
    case EDIT_REC_LENGTH:
        /* observe_mode.c closes the editor, opens the next or keeps it. */
        observe_mode_commit(ui, text);
        free(text);
        return;
    case EDIT_SEEK:
    case EDIT_DUE:
    case EDIT_SKILL:
        rc = ed->target == EDIT_SEEK  ? session_seek_to(ui->ses, text, session_now_ms())
             : ed->target == EDIT_DUE ? session_action_set_due(ui->ses, ed->index, text)
                                      : session_action_set_skill(ui->ses, ed->index, text);
        if (rc < 0 && rc != -ENOMEM) {
            /* The status line says why; the typed text stays to be fixed. */
            free(text);
            return;
        }
        break;
    default:
        rc = 0;
        break;
    }
    free(text);
    if (rc == -ENOMEM) {
        session_say(ui->ses, 1, "out of memory: the text was not kept");
        return;
    }
    if (rc == -ENOENT) {
        /* What the text was for went away while it was typed. */
        session_say(ui->ses, 1, "not saved: what this text belonged to is gone");
        editor_close(ui);
        return;
    }
    ui->ses->dirty = 1;
    if (ed->advance) {
        session_rating_advance(ui->ses);
    }
    editor_close(ui);
}

int observe_edit_is_enter(int is_key, wint_t ch)
{
    return is_key ? ch == KEY_ENTER : (ch == '\r' || ch == '\n');
}

int observe_edit_is_backspace(int is_key, wint_t ch)
{
    return is_key ? ch == KEY_BACKSPACE : (ch == 127 || ch == 8);
}

/* The index of marker key ch in session_kinds, or -1. Caps Lock must not
 * lose a marker. */
int observe_edit_marker_key(wint_t ch)
{
    for (size_t k = 0; k < SESSION_N_KINDS; k++) {
        if ((wint_t)session_kinds[k].key == towlower(ch)) {
            return (int)k;
        }
    }
    return -1;
}

/* Esc while a note of the live phase is open: Alt with a marker key (the
 * terminal sends Esc and the key at once) marks the moment and leaves the
 * note open, so a note never holds marking up. Returns 1 when it was
 * that; a lone Esc (or Esc and another key, which is put back) is 0. */
static int live_alt_mark(struct ui *ui)
{
    wint_t nx;
    int got, k;

    timeout(0);
    got = get_wch(&nx);
    timeout(TICK_MS);
    if (got == ERR) {
        return 0;
    }
    k = got == OK ? observe_edit_marker_key(nx) : -1;
    if (k < 0) {
        if (got == KEY_CODE_YES) {
            ungetch((int)nx);
        } else {
            unget_wch((wchar_t)nx);
        }
        return 0;
    }
    if (session_marker_add(ui->ses, session_kinds[k].kind, session_now_ms()) == 0) {
        char said[SESSION_STATUS_MAX];

        /* The chosen marker is still the one the note is on. */
        ui->live_sel = ui->ses->d->n_markers - 1 - ui->ed.index;
        snprintf(said, sizeof(said), "%s", ui->ses->status);
        session_say(ui->ses, 0, "%s; the note stays open", said);
    }
    return 1;
}

void observe_edit_key(struct ui *ui, int is_key, wint_t ch)
{
    struct editor *ed = &ui->ed;

    if (observe_edit_is_enter(is_key, ch)) {
        editor_commit(ui);
        return;
    }
    if (!is_key && ch == KEY_ESC && ed->target == EDIT_NOTE &&
        ui->ses->s->phase == SESSION_PHASE_LIVE && live_alt_mark(ui)) {
        return;
    }
    if (!is_key && (ch == KEY_ESC || ch == KEY_CTRL_C)) {
        if (ed->advance) {
            session_rating_advance(ui->ses);
        }
        session_say(ui->ses, 0, "not changed");
        editor_close(ui);
        return;
    }
    if (observe_edit_is_backspace(is_key, ch)) {
        /* A whole grapheme cluster: never half an emoji. */
        if (ed->pos > 0) {
            editor_cut(ed, cluster_start(ed, ed->pos), ed->pos);
        }
        return;
    }
    if (is_key) {
        switch (ch) {
        case KEY_LEFT:
            if (ed->pos > 0) {
                ed->pos = cluster_start(ed, ed->pos);
            }
            break;
        case KEY_RIGHT:
            ed->pos = cluster_end(ed, ed->pos);
            break;
        case KEY_HOME:
            ed->pos = 0;
            break;
        case KEY_END:
            ed->pos = ed->len;
            break;
        case KEY_DC:
            if (ed->pos < ed->len) {
                size_t at = ed->pos;

                editor_cut(ed, at, cluster_end(ed, at));
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
    /* Only text the record can hold: printable characters and what joins
     * them into one (ZWJ, variation selectors), and outside a UTF-8 locale
     * only ASCII (the record's text is UTF-8). */
    if (!(iswprint(ch) || (ui->utf8 && is_extender(ch))) || (!ui->utf8 && ch > 126)) {
        return;
    }
    if (ed->dropping) {
        /* The rest of a cluster that was refused (a pasted woman
         * technologist whose joiner did not fit must not leave its laptop
         * behind): its extenders, and the character its joiner joined. */
        if (is_extender(ch) || ed->drop_zwj) {
            ed->drop_zwj = ch == 0x200D;
            return;
        }
        ed->dropping = 0;
    }
    {
        size_t chars, bytes, k = char_bytes((wchar_t)ch);
        int joins = is_extender(ch) || (ed->pos > 0 && ed->buf[ed->pos - 1] == 0x200D);

        observe_edit_count(ed, &chars, &bytes);
        if (k == 0) {
            session_say(ui->ses, 1, "this terminal's locale cannot write that character");
            return;
        }
        if (ed->len >= EDIT_MAX || bytes + k > ed->max_bytes) {
            /* The limit is the server's, enforced here as typed. A
             * character that would complete a cluster that does not fit
             * takes the cluster's start with it: never half an emoji. */
            if (joins && ed->pos > 0) {
                ed->dropping = 1;
                ed->drop_zwj = ch == 0x200D;
                editor_cut(ed, cluster_start(ed, ed->pos), ed->pos);
                session_say(ui->ses, 1,
                            "the text is full (%zu bytes): the last character did not fit "
                            "whole and was removed",
                            ed->max_bytes);
            } else {
                session_say(ui->ses, 1, "the text is full: at most %zu bytes", ed->max_bytes);
            }
            return;
        }
    }
    memmove(&ed->buf[ed->pos + 1], &ed->buf[ed->pos], (ed->len - ed->pos) * sizeof(ed->buf[0]));
    ed->buf[ed->pos++] = (wchar_t)ch;
    ed->len++;
}
