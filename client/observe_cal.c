/*
 * observe_cal: a calibration attempt's result inside the UI. Once the
 * server has the attempt, the caller's observe_opts.calibration_result
 * reveals it (exact and within-one agreement, weighted kappa or
 * "undefined" and why, passed or not, where the observer differed from the
 * master coder) and this screen shows that text, wrapped to the terminal
 * (observe_draw_emit()), until a key closes the UI; lines that do not fit
 * are counted on the last row, as the caller prints the same result
 * afterwards for scripts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "observe_int.h"
#include "uuid.h"

void observe_cal_after_submit(struct ui *ui)
{
    const struct observe_opts *o = ui->ses->o;
    const Coachq__V1__Observation *d = ui->ses->d;

    /* Only the attempt asked for: a saved session of another reference
     * resumed instead reveals nothing (as observe_run's stored_out). */
    if (o->calibration_result == NULL || ui->cal_text != NULL || o->calibration_ref == NULL ||
        d == NULL || d->calibration_ref.len != UUID_LEN ||
        memcmp(d->calibration_ref.data, o->calibration_ref, UUID_LEN) != 0 ||
        (ui->ses->result != SESSION_RESULT_STORED && ui->ses->result != SESSION_RESULT_DUPLICATE)) {
        return;
    }
    /* The answer takes a connection: say so while it comes. */
    session_say(ui->ses, 0, "fetching the result of the attempt...");
    observe_draw(ui);
    ui->cal_text = o->calibration_result(o->calibration_arg);
}

/* Lays out the result's lines in f, each wrapped by display width (an
 * empty line stays one blank row). Returns 0 or -ENOMEM. */
static int cal_lines(struct flow *f, const char *text, int cols)
{
    size_t len = strlen(text);
    char *t = malloc(len + 1);
    char *p = t;

    if (t == NULL) {
        return -ENOMEM;
    }
    memcpy(t, text, len + 1);
    while (*p != '\0') {
        char *nl = strchr(p, '\n');

        if (nl != NULL) {
            *nl = '\0';
        }
        observe_draw_emit(f, 1, cols - 2, A_NORMAL, NULL, p);
        if (nl == NULL) {
            break;
        }
        p = nl + 1;
    }
    free(t);
    return 0;
}

int observe_cal_draw(struct ui *ui, int rows, int cols)
{
    struct flow f;
    char line[160];

    if (ui->cal_text == NULL || ui->ses->result == SESSION_RESULT_NONE) {
        return 0;
    }
    attron(A_REVERSE | A_BOLD);
    mvhline(0, 0, ' ', cols);
    mvaddnstr(0, 1, "coachq CALIBRATION  RESULT", cols - 2);
    attroff(A_REVERSE | A_BOLD);
    snprintf(line, sizeof(line), "%s: the server stored this attempt (seq %llu, version %u).",
             ui->ses->result == SESSION_RESULT_STORED ? "STORED" : "ALREADY STORED",
             (unsigned long long)ui->ses->result_seq, ui->ses->result_version);
    attron(A_BOLD);
    mvaddnstr(1, 1, line, cols - 2);
    attroff(A_BOLD);
    /* Counted first: when the lines do not all fit, the last row says how
     * many are left out (the whole result is printed when the UI closes). */
    memset(&f, 0, sizeof(f));
    f.y = 2;
    f.ymax = rows - 2;
    (void)cal_lines(&f, ui->cal_text, cols);
    if (f.total > f.ymax - 2) {
        f.ymax--;
    }
    f.y = 2;
    f.draw = 1;
    f.total = 0;
    if (cal_lines(&f, ui->cal_text, cols) < 0) {
        mvaddnstr(2, 1, "out of memory: the result is printed when this closes", cols - 2);
    } else if (f.total > f.y - 2) {
        snprintf(line, sizeof(line), "... %d more line%s, printed when this closes",
                 f.total - (f.y - 2), f.total - (f.y - 2) == 1 ? "" : "s");
        attron(A_BOLD);
        mvaddnstr(f.ymax, 1, line, cols - 2);
        attroff(A_BOLD);
    }
    mvhline(rows - 2, 0, ACS_HLINE, cols);
    mvaddnstr(rows - 1, 1, "Press any key to close (the result is printed again for scripts)",
              cols - 2);
    return 1;
}
