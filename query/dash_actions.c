/*
 * dash_actions: the agreed actions on the line dashboards (dash_actions.h).
 */
#include "dash_actions.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "auth.h"
#include "people.h"

static unsigned n32(uint64_t n)
{
    return n > UINT32_MAX ? UINT32_MAX : (unsigned)n;
}

/* Open actions shown on one page at most, and index entries read for
 * them: a manager who never follows up is not read without end. */
#define LINE_MAX_OPEN_ACTIONS 20
#define LINE_MAX_ACTIONS_READ 2000

/* What the actions of one coach add up to over the window. */
struct follow_through {
    struct store_txn *t;
    const struct dash_ctx *c;
    int32_t from, until;
    uint64_t agreed, followed, done;
};

/* Whether the viewer may read action a: AUTH_READ_ACTION, with the coach's
 * managers today. */
static int action_visible(const struct dash_ctx *c, const Coachq__V1__ActionRecord *a)
{
    struct auth_target tg;
    char chain[PEOPLE_MAX_CHAIN][65];
    size_t n = 0;

    memset(&tg, 0, sizeof(tg));
    tg.action = a;
    if (people_chain_at(c->t, a->coach_id, c->today, chain, &n) == 0) {
        tg.chain = (const char(*)[65])chain;
        tg.n_chain = n;
    }
    return auth_decide(c->user, AUTH_READ_ACTION, &tg) == 0;
}

static int follow_through_cb(const Coachq__V1__ActionRecord *a, void *arg)
{
    struct follow_through *f = arg;
    int followed = 0;

    if (a->agreed_day < f->from || a->agreed_day > f->until || !action_visible(f->c, a)) {
        return 0;
    }
    for (size_t i = 0; i < a->n_history && !followed; i++) {
        followed = a->history[i]->status != COACHQ__V1__ACTION_STATUS__ACTION_STATUS_UNSPECIFIED;
    }
    f->agreed++;
    f->followed += followed && a->status != COACHQ__V1__ACTION_STATUS__ACTION_STATUS_OPEN;
    f->done += a->status == COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE;
    return 0;
}

/* Table "follow_through": per manager, the actions agreed in the window,
 * the share followed up in a later session and the share done, from the
 * action records' statuses; n is the actions agreed. */
void dash_actions_follow_through(struct dash *d, const struct dash_ctx *c,
                                 const struct dash_actions_row *rows, size_t n_rows)
{
    static const char *const cols[] = {"Manager", "Actions agreed", "Followed up", "Done"};
    Coachq__V1__Table *t = dash_table(d, "follow_through",
                                      "Actions agreed \u2192 followed up "
                                      "\u2192 done",
                                      cols, 4);

    if (t == NULL) {
        return;
    }
    t->note = dash_printf(d,
                          "Actions agreed in sessions of the last %u weeks, from their records: "
                          "followed up means a later session of the same manager and rep gave "
                          "it a status; done, that the latest status is done. n is the actions "
                          "agreed.",
                          c->opts->trend_weeks);
    for (size_t i = 0; i < n_rows; i++) {
        const struct dash_actions_row *m = &rows[i];
        Coachq__V1__TableRow *r = dash_row(d, t);
        struct follow_through f;
        Coachq__V1__Cell *cell;
        unsigned n;

        memset(&f, 0, sizeof(f));
        f.t = c->t;
        f.c = c;
        f.from = dash_week(c, c->opts->trend_weeks - 1);
        f.until = c->until_day;
        /* The window's days are the coach's; a day either side of UTC
         * covers every zone, and the callback keeps the exact days. */
        if (actions_agreed_txn(c->t, m->id, ((int64_t)f.from - 1) * 86400,
                               ((int64_t)f.until + 2) * 86400, follow_through_cb, &f) != 0) {
            f.agreed = f.followed = f.done = 0;
        }
        n = n32(f.agreed);
        dash_cell_text(d, r, m->name, m->id);
        dash_cell_count(d, r, f.agreed);
        cell = dash_cell_num(
            d, r, f.agreed > 0 ? 100.0 * (double)f.followed / (double)f.agreed : NAN, n, 0);
        if (cell != NULL && cell->has_value) {
            cell->text = dash_printf(d, "%.0f%%", cell->value);
        }
        cell = dash_cell_num(d, r, f.agreed > 0 ? 100.0 * (double)f.done / (double)f.agreed : NAN,
                             n, 0);
        if (cell != NULL && cell->has_value) {
            cell->text = dash_printf(d, "%.0f%%", cell->value);
        }
    }
}

struct open_actions {
    struct dash *d;
    const struct dash_ctx *c;
    Coachq__V1__Table *t;
    unsigned shown, open, overdue, read;
};

static int open_actions_cb(const Coachq__V1__ActionRecord *a, void *arg)
{
    struct open_actions *o = arg;
    char day[16], due[16];
    Coachq__V1__TableRow *r;
    int late;

    if (++o->read > LINE_MAX_ACTIONS_READ) {
        return 1;
    }
    if (!action_visible(o->c, a)) {
        return 0;
    }
    late = a->due_day != 0 && (int64_t)a->due_day < (int64_t)o->c->today;
    o->open++;
    o->overdue += late;
    if (o->shown >= LINE_MAX_OPEN_ACTIONS) {
        return 0;
    }
    o->shown++;
    r = dash_row(o->d, o->t);
    dash_cell_text(o->d, r, dash_person_name(o->d, o->c->t, a->coachee_id), NULL);
    dash_cell_text(o->d, r, a->text, NULL);
    dash_cell_text(o->d, r, dash_day_text(a->agreed_day, day, sizeof(day)), NULL);
    dash_cell_text(o->d, r,
                   a->due_day != 0 ? dash_day_text((int32_t)a->due_day, due, sizeof(due)) : "-",
                   NULL);
    dash_cell_text(o->d, r,
                   dash_printf(o->d, "%s%s",
                               a->status == COACHQ__V1__ACTION_STATUS__ACTION_STATUS_PARTLY_DONE
                                   ? "partly done"
                               : a->status == COACHQ__V1__ACTION_STATUS__ACTION_STATUS_NOT_DONE
                                   ? "not done"
                                   : "open",
                               late ? ", overdue" : ""),
                   NULL);
    return 0;
}

/* Table "open_actions": the coach's actions not yet done or dropped, oldest
 * first, overdue ones marked, as the viewer may read them. */
void dash_actions_open(struct dash *d, const struct dash_ctx *c, const char *coach)
{
    static const char *const cols[] = {"Rep", "Action", "Agreed", "Due", "Status"};
    struct open_actions o;
    struct actions_query q;

    memset(&o, 0, sizeof(o));
    memset(&q, 0, sizeof(q));
    o.d = d;
    o.c = c;
    o.t = dash_table(d, "open_actions", "Open and overdue actions", cols, 5);
    if (o.t == NULL) {
        return;
    }
    q.coach = coach;
    q.open_only = 1;
    q.today = c->today;
    if (actions_list_txn(c->t, &q, open_actions_cb, &o) != 0) {
        o.open = o.overdue = 0;
    }
    o.t->note = dash_printf(d,
                            "%u open action%s agreed in coaching sessions, %u overdue; each is "
                            "open until a later session of the same manager and rep follows it "
                            "up as done or dropped.%s",
                            o.open, o.open == 1 ? "" : "s", o.overdue,
                            o.shown < o.open ? " Only the oldest are listed." : "");
}
