/*
 * observe_cal: a calibration attempt's result inside the UI. Once the
 * server has the attempt, the caller's observe_opts.calibration_result
 * reveals it (exact and within-one agreement, weighted kappa or
 * "undefined" and why, passed or not, where the observer differed from the
 * master coder) and this screen shows that text, wrapped to the terminal,
 * until a key closes the UI; the caller prints the same result afterwards
 * for scripts.
 */
#include <stdlib.h>
#include <string.h>

#include "observe_int.h"

void observe_cal_after_submit(struct ui *ui)
{
    const struct observe_opts *o = ui->ses->o;

    if (o->calibration_result == NULL || ui->cal_text != NULL ||
        ui->ses->d->calibration_ref.len == 0 ||
        (ui->ses->result != SESSION_RESULT_STORED && ui->ses->result != SESSION_RESULT_DUPLICATE)) {
        return;
    }
    /* The answer takes a connection: say so while it comes. */
    session_say(ui->ses, 0, "fetching the result of the attempt...");
    observe_draw(ui);
    ui->cal_text = o->calibration_result(o->calibration_arg);
}

/* Draws text[0..n) from row y, wrapped at width w from column x; returns
 * the next row (at most ymax). */
static int wrapped(int y, int ymax, int x, int w, const char *text, size_t n)
{
    do {
        size_t k = n;

        if (k > (size_t)w) {
            k = (size_t)w;
            /* At a space when there is one, so words stay whole. */
            while (k > (size_t)w / 2 && text[k] != ' ') {
                k--;
            }
            if (text[k] != ' ') {
                k = (size_t)w;
            }
        }
        if (y >= ymax) {
            return y;
        }
        mvaddnstr(y++, x, text, (int)k);
        while (k < n && text[k] == ' ') {
            k++;
        }
        text += k;
        n -= k;
    } while (n > 0);
    return y;
}

int observe_cal_draw(struct ui *ui, int rows, int cols)
{
    const char *p = ui->cal_text;
    char line[160];
    int y = 2;

    if (p == NULL || ui->ses->result == SESSION_RESULT_NONE) {
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
    while (*p != '\0' && y < rows - 2) {
        const char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);

        y = n == 0 ? y + 1 : wrapped(y, rows - 2, 1, cols - 2, p, n);
        p += n + (nl != NULL);
    }
    mvhline(rows - 2, 0, ACS_HLINE, cols);
    mvaddnstr(rows - 1, 1, "Press any key to close (the result is printed again for scripts)",
              cols - 2);
    return 1;
}
