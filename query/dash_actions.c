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

/* Whether the viewer may read coach's action records: AUTH_READ_ACTION,
 * with the coach's managers today. The rule looks at the coach only (and at
 * the scoring observer, whom a dashboard does not name), so one decision
 * holds for every record of the coach. */
static int coach_visible(const struct dash_ctx *c, const char *coach)
{
    Coachq__V1__ActionRecord a = COACHQ__V1__ACTION_RECORD__INIT;
    struct auth_target tg;
    char chain[PEOPLE_MAX_CHAIN][65];
    size_t n = 0;

    a.coach_id = (char *)coach;
    memset(&tg, 0, sizeof(tg));
    tg.action = &a;
    if (people_chain_at(c->t, coach, c->today, chain, &n) == 0) {
        tg.chain = (const char(*)[65])chain;
        tg.n_chain = n;
    }
    return auth_decide(c->user, AUTH_READ_ACTION, &tg) == 0;
}

/* A share of agreed, as "67%", n agreed. */
static void share_cell(struct dash *d, Coachq__V1__TableRow *r, uint64_t part, uint64_t agreed)
{
    Coachq__V1__Cell *cell = dash_cell_num(
        d, r, agreed > 0 ? 100.0 * (double)part / (double)agreed : NAN, n32(agreed), 0);

    if (cell != NULL && cell->has_value) {
        cell->text = dash_printf(d, "%.0f%%", cell->value);
    }
}

void dash_actions_follow_through(struct dash *d, const struct dash_ctx *c,
                                 const struct dash_actions_row *rows, size_t n_rows)
{
    static const char *const cols[] = {"Manager",     "Actions agreed", "Followed up", "Done",
                                       "Partly done", "Not done",       "Dropped"};
    Coachq__V1__Table *t = dash_table(d, "follow_through",
                                      "Actions agreed \u2192 followed up "
                                      "\u2192 done",
                                      cols, 7);
    int32_t from = dash_week(c, c->opts->trend_weeks - 1);

    if (t == NULL) {
        return;
    }
    t->note = dash_printf(
        d,
        "Actions agreed in sessions of the last %u weeks (by the week of the session, "
        "while the manager was in this line), from their records: followed up means a "
        "later session of the same manager and rep gave it a status; done, partly done, not "
        "done and dropped are the latest status. n is the actions agreed.",
        c->opts->trend_weeks);
    for (size_t i = 0; i < n_rows; i++) {
        const struct dash_actions_row *m = &rows[i];
        Coachq__V1__TableRow *r = dash_row(d, t);
        struct actions_follow f;

        if (actions_follow_txn(c->t, m->scope, from, c->until_day, &f) != 0) {
            memset(&f, 0, sizeof(f));
        }
        dash_cell_text(d, r, m->name, m->id);
        dash_cell_count(d, r, f.n[ACTIONS_AGREED]);
        share_cell(d, r, f.n[ACTIONS_FOLLOWED], f.n[ACTIONS_AGREED]);
        share_cell(d, r, f.n[ACTIONS_DONE], f.n[ACTIONS_AGREED]);
        share_cell(d, r, f.n[ACTIONS_PARTLY], f.n[ACTIONS_AGREED]);
        share_cell(d, r, f.n[ACTIONS_NOT_DONE], f.n[ACTIONS_AGREED]);
        share_cell(d, r, f.n[ACTIONS_DROPPED], f.n[ACTIONS_AGREED]);
    }
}

struct open_actions {
    struct dash *d;
    const struct dash_ctx *c;
    Coachq__V1__Table *t;
    unsigned shown;
};

static int open_actions_cb(const Coachq__V1__ActionRecord *a, void *arg)
{
    struct open_actions *o = arg;
    char day[16], due[16];
    Coachq__V1__TableRow *r;
    int late = a->due_day != 0 && (int64_t)a->due_day < (int64_t)o->c->today;

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

void dash_actions_open(struct dash *d, const struct dash_ctx *c, const char *coach)
{
    static const char *const cols[] = {"Rep", "Action", "Agreed", "Due", "Status"};
    struct actions_open_counts n;
    struct open_actions o;

    memset(&o, 0, sizeof(o));
    memset(&n, 0, sizeof(n));
    o.d = d;
    o.c = c;
    o.t = dash_table(d, "open_actions", "Open and overdue actions", cols, 5);
    if (o.t == NULL) {
        return;
    }
    if (!coach_visible(c, coach)) {
        o.t->note = dash_printf(d, "The actions of this manager's sessions are not shown to you.");
        return;
    }
    if (actions_open_txn(c->t, coach, c->today, DASH_ACTIONS_SHOWN, open_actions_cb, &o, &n) != 0) {
        n.open = n.overdue = 0;
    }
    o.t->note = dash_printf(
        d,
        "%llu open action%s agreed in coaching sessions, %llu overdue; each is open until a "
        "later session of the same manager and rep follows it up as done or dropped.%s",
        (unsigned long long)n.open, n.open == 1 ? "" : "s", (unsigned long long)n.overdue,
        o.shown < n.open ? dash_printf(d,
                                       " The %u most overdue are listed (by due day, those "
                                       "without one last, oldest first).",
                                       o.shown)
                         : "");
}
