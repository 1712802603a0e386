/*
 * observe: the live-scoring terminal UI's start-up and run loop. See
 * observe.h for what it does; the comments here say why it is built the
 * way it is. The session model is session.c, the screens
 * observe_draw.c, the keys observe_keys.c.
 *
 * All state lives in one struct ui made by observe_run(), never in
 * globals. The main loop reads one key with a short timeout (so the clock
 * ticks on screen), applies its effect, saves the session with
 * session_save() if anything changed, and only then redraws: what the
 * observer sees is always on disk.
 */
#define _XOPEN_SOURCE 700 /* wcwidth() and the wide-character curses calls */

#include "observe.h"

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#include "error.h"
#include "observe_int.h"
#include "uuid.h"
#include "validate.h"

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

/* A saved session exists and the observer did not ask to resume it:
 * starting anew would overwrite it, so ask. Returns 'r' (resume), 'd'
 * (discard it and go on) or 'q'. */
static int ask_saved(struct ui *ui, const Coachq__V1__LocalSession *saved)
{
    char what[512];
    int confirm = 0;

    session_saved_words(ui->ses, saved, what, sizeof(what));
    for (;;) {
        wint_t ch;
        int rc;

        observe_draw_saved(ui, what, confirm);
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

/* What can be refused before the terminal is taken: returns 0 with
 * *saved the saved session (NULL when there is none; caller owns), or
 * the exit code. */
static int check_start(struct localstore *ls, const struct observe_opts *o, FILE *err,
                       Coachq__V1__LocalSession **saved)
{
    int rc;

    *saved = NULL;
    if (!isatty(STDIN_FILENO) || (!isatty(STDOUT_FILENO) && !o->tty_out)) {
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
    rc = localstore_session_load(ls, saved);
    if (rc < 0 && rc != -ENOENT) {
        fprintf(err, "coachq observe: cannot read the saved session in %s: %s\n",
                localstore_path(ls), error_strerror(rc));
        return 3;
    }
    if (o->resume && *saved == NULL) {
        fprintf(err, "coachq observe: there is no saved session to resume in %s\n",
                localstore_path(ls));
        return 2;
    }
    return 0;
}

/* Reads keys until the session is done. Once the server has the
 * observation, the session is no longer journaled; while the journal fails
 * it is retried at each key and each SAVE_RETRY_MS (session.c), the
 * session staying in memory meanwhile. */
static void run_loop(struct ui *ui)
{
    struct session *ses = ui->ses;
    int keyed = 1;

    for (;;) {
        wint_t ch = 0;
        int64_t t = session_now_ms();
        int got;

        if (ses->result == SESSION_RESULT_NONE && ses->dirty &&
            (ses->save_rc == 0 || keyed || t >= ses->save_retry_ms)) {
            (void)session_save(ses);
        }
        if (ses->clear_pending && !ses->done && (keyed || t >= ses->save_retry_ms)) {
            session_clear_saved(ses);
        }
        keyed = 0;
        if (ses->done) {
            break;
        }
        observe_draw(ui);
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
        observe_keys_on_key(ui, got == KEY_CODE_YES, ch);
        keyed = 1;
    }
}

/* With the terminal taken: asks about a saved session, prepares the
 * session and runs it. Returns the exit code; why says what stopped it
 * from starting. */
static int run_ui(struct ui *ui, Coachq__V1__LocalSession **saved, char *why, size_t whylen)
{
    int rc;

    if (*saved != NULL && !ui->ses->o->resume) {
        int choice = ask_saved(ui, *saved);

        if (choice == 'q') {
            snprintf(ui->ses->final_msg, sizeof(ui->ses->final_msg),
                     "the saved session is kept; coachq observe --resume continues it\n");
            return 1;
        }
        if (choice == 'd') {
            coachq__v1__local_session__free_unpacked(*saved, NULL);
            *saved = NULL;
        }
    }
    observe_draw_loading();
    rc = session_start(ui->ses, saved, why, whylen);
    if (rc < 0) {
        return rc == -ENOMEM || rc == -EIO || rc == -EBADMSG ? 3 : 2;
    }
    if (ui->ses->s->phase == SESSION_PHASE_SETUP &&
        observe_keys_picker_build(ui, (int)ui->ses->s->cursor) < 0) {
        session_say(ui->ses, 1, "out of memory");
    }
    run_loop(ui);
    return ui->ses->exit_code;
}

int observe_run(struct localstore *ls, const struct observe_opts *o, FILE *out, FILE *err)
{
    struct ui *ui = NULL;
    Coachq__V1__LocalSession *saved = NULL;
    char *old_locale = NULL;
    const char *loc;
    char why[SESSION_STATUS_MAX * 2];
    FILE *tty = NULL;
    int curses_on = 0;
    int code;

    why[0] = '\0';
    code = check_start(ls, o, err, &saved);
    if (code != 0) {
        goto out;
    }
    code = 3;
    ui = calloc(1, sizeof(*ui));
    if (ui == NULL || session_new(ls, o, &ui->ses) < 0) {
        fprintf(err, "coachq observe: out of memory\n");
        goto out;
    }
    ui->pk.step = -1;

    /* Wide characters need the user's locale; it is put back afterwards,
     * for callers that run more than this. */
    loc = setlocale(LC_ALL, NULL);
    old_locale = loc != NULL ? strdup(loc) : NULL;
    setlocale(LC_ALL, "");
    ui->utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;

    if (!isatty(STDOUT_FILENO)) {
        /* o->tty_out (check_start()): the screen goes to the terminal. */
        tty = fopen("/dev/tty", "w");
        if (tty == NULL) {
            fprintf(err, "coachq observe: needs a terminal (standard output is not one and "
                         "/dev/tty cannot be opened)\n");
            code = 2;
            goto out;
        }
    }
    ui->scr = newterm(NULL, tty != NULL ? tty : stdout, stdin);
    if (ui->scr == NULL) {
        fprintf(err, "coachq observe: cannot use the terminal (TERM=%s)\n",
                getenv("TERM") != NULL ? getenv("TERM") : "");
        code = 2;
        goto out;
    }
    set_term(ui->scr);
    curses_on = 1;
    curses_start(ui);
    code = run_ui(ui, &saved, why, sizeof(why));
out:
    if (curses_on) {
        endwin();
        delscreen(ui->scr);
    }
    if (tty != NULL) {
        fclose(tty);
    }
    if (old_locale != NULL) {
        setlocale(LC_ALL, old_locale);
        free(old_locale);
    }
    if (why[0] != '\0') {
        fprintf(err, "coachq observe: %s\n", why);
    }
    if (o->stored_out != NULL) {
        /* A saved session resumed instead is not what the caller asked
         * for: only the preset calibration attempt counts. */
        *o->stored_out =
            ui != NULL && ui->ses != NULL && ui->ses->d != NULL &&
            (ui->ses->result == SESSION_RESULT_STORED ||
             ui->ses->result == SESSION_RESULT_DUPLICATE) &&
            (o->calibration_ref == NULL ||
             (ui->ses->d->calibration_ref.len == UUID_LEN &&
              memcmp(ui->ses->d->calibration_ref.data, o->calibration_ref, UUID_LEN) == 0));
    }
    if (ui != NULL && ui->ses != NULL && ui->ses->final_msg[0] != '\0') {
        fputs(ui->ses->final_msg, out);
        fflush(out);
    }
    if (ui != NULL) {
        observe_keys_picker_free(&ui->pk);
        free(ui->cal_text);
        session_free(ui->ses);
        free(ui);
    }
    if (saved != NULL) {
        coachq__v1__local_session__free_unpacked(saved, NULL);
    }
    return code;
}
