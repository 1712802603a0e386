/*
 * dash: the dashboards' dispatcher. dash_build() checks the request, decides
 * access and hands over to the dashboard's own code through a table of
 * kinds (each kind's roles, subject and dash_build_cb). The dashboards
 * (dash_line.c, dash_programme.c, dash_observers.c) are written in the
 * builder API (dash_builder.h) and never call back into this file.
 */
#include "dash.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dash_coaching.h"
#include "dash_line.h"
#include "dash_ctc.h"
#include "dash_observer.h"
#include "dash_observers.h"
#include "dash_programme.h"
#include "people.h"
#include "rubrics.h"
#include "store.h"
#include "zone.h"

/* Longest window a dashboard reads: its cost is weeks read, so keep it
 * bounded whatever the configuration says. */
#define DASH_MAX_WEEKS 104u

static int dash_any_week_cb(int32_t monday, const Coachq__V1__AggWeek *w, void *arg)
{
    (void)monday;
    *(int *)arg = w->observations > 0;
    return *(int *)arg ? 1 : 0;
}

/*
 * Sets *yes if subject was in u's line on the date of a counted session of
 * rubric in the trend window ending on until_day: the line-coach aggregate
 * (agg.h) of u and subject has a session there. A former manager may open
 * Manager detail for those sessions.
 */
static int dash_was_line(struct store_txn *t, const struct auth_user *u, const char *subject,
                         const char *rubric_id, int32_t until_day, unsigned trend_weeks, int *yes)
{
    char scope[2 * VALIDATE_MAX_ID + 2];
    int32_t until_monday = agg_week_of(until_day);
    int32_t from_monday = until_monday - 7 * (int32_t)(trend_weeks > 0 ? trend_weeks - 1 : 0);

    *yes = 0;
    if ((u->roles & AUTH_SECOND_LEVEL) == 0) {
        return 0;
    }
    snprintf(scope, sizeof(scope), "%s/%s", u->id, subject);
    return agg_read_head(t, AGG_LINE_COACH, scope, rubric_id, from_monday, until_monday,
                         dash_any_week_cb, yes);
}

static void dash_fault(struct validate_error *e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void dash_fault(struct validate_error *e, const char *field, const char *fmt, ...)
{
    va_list ap;

    if (e == NULL) {
        return;
    }
    e->code = COACHQ__V1__CODE__INVALID_ARGUMENT;
    snprintf(e->field, sizeof(e->field), "%s", field);
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
}

/* The options with zero fields defaulted and the windows kept bounded. */
static void dash_opts_fix(const struct dash_opts *in, struct dash_opts *out)
{
    struct dash_opts def;

    dash_opts_default(&def);
    *out = in != NULL ? *in : def;
    if (out->min_n == 0) {
        out->min_n = def.min_n;
    }
    if (out->privacy_min == 0) {
        out->privacy_min = def.privacy_min;
    }
    if (out->trend_weeks == 0) {
        out->trend_weeks = def.trend_weeks;
    }
    if (out->heat_weeks == 0) {
        out->heat_weeks = def.heat_weeks;
    }
    if (out->trend_weeks > DASH_MAX_WEEKS) {
        out->trend_weeks = DASH_MAX_WEEKS;
    }
    if (out->heat_weeks > DASH_MAX_WEEKS) {
        out->heat_weeks = DASH_MAX_WEEKS;
    }
}

/* Programme impact: its own tables, then coaching the coaches beside the
 * lines' front-line coaching (dash_ctc.h). Limited to assigned
 * observations, the coaching-the-coach tables are left out: they rest on
 * the lines' aggregates, which have no assigned twin, and on sessions of
 * second-level managers, which no plan assigns. */
static int dash_programme_impact(struct dash *d, const struct dash_ctx *c)
{
    int rc = dash_programme(d, c);

    if (rc == 0 && c->req->assigned_only) {
        dash_note(d, "The coaching-the-coach tables are left out of the assigned-only view: "
                     "they rest on second-level managers' sessions and on whole lines, which "
                     "the observation programme does not assign.");
        return 0;
    }
    return rc != 0 ? rc : dash_ctc_programme(d, c);
}

/* One kind of dashboard: who has it at all, what it is about, and the
 * builder that draws it. */
struct dash_kind {
    Coachq__V1__DashboardKind kind;
    const char *title;
    unsigned roles;                /* roles that have such a dashboard (auth.h's table) */
    int about_person;              /* the subject is a person (by default the caller) */
    Coachq__V1__Role subject_role; /* about_person: the role the subject must hold */
    dash_build_cb build;
};

static const struct dash_kind dash_kinds[] = {
    {
        .kind = COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_MANAGERS,
        .title = "My managers",
        .roles = AUTH_SECOND_LEVEL | AUTH_LEAD | AUTH_ADMIN,
        .about_person = 1,
        .subject_role = COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER,
        .build = dash_my_managers,
    },
    {
        .kind = COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MANAGER,
        .title = "Manager detail",
        .roles = AUTH_FRONT_LINE | AUTH_SECOND_LEVEL | AUTH_LEAD | AUTH_ADMIN,
        .about_person = 1,
        .subject_role = COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER,
        .build = dash_manager,
    },
    {
        .kind = COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME,
        .title = "Programme impact",
        .roles = AUTH_LEAD | AUTH_ADMIN,
        .build = dash_programme_impact,
    },
    {
        .kind = COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS,
        .title = "Observer reliability",
        .roles = AUTH_LEAD | AUTH_ADMIN,
        .build = dash_observers,
    },
    {
        .kind = COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_COACHING,
        .title = "My coaching",
        .roles = AUTH_FRONT_LINE | AUTH_SECOND_LEVEL | AUTH_LEAD | AUTH_ADMIN,
        .about_person = 1,
        .subject_role = COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER,
        .build = dash_my_coaching,
    },
    {
        .kind = COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_COACHING_MANAGERS,
        .title = "Coaching my managers",
        .roles = AUTH_SECOND_LEVEL | AUTH_LEAD | AUTH_ADMIN,
        .about_person = 1,
        .subject_role = COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER,
        .build = dash_coaching_managers,
    },
    {
        .kind = COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVER,
        .title = "My reliability",
        .roles = AUTH_OBSERVER | AUTH_LEAD | AUTH_ADMIN,
        .about_person = 1,
        .subject_role = COACHQ__V1__ROLE__ROLE_OBSERVER,
        .build = dash_observer,
    },
};

/* The entry of kind, or NULL for an unknown kind. */
static const struct dash_kind *dash_kind_find(int kind)
{
    for (size_t i = 0; i < sizeof(dash_kinds) / sizeof(dash_kinds[0]); i++) {
        if ((int)dash_kinds[i].kind == kind) {
            return &dash_kinds[i];
        }
    }
    return NULL;
}

/*
 * The request's shape, which needs nothing stored: sets *kind, *subject (as
 * given, "" for none) and *rubric_id (resolved; borrowed from req or a
 * literal). Returns 0 or -EINVAL with fault set.
 */
static int dash_check(const Coachq__V1__GetDashboard *req, int32_t today,
                      const struct dash_kind **kind, const char **subject, const char **rubric_id,
                      struct validate_error *fault)
{
    *kind = dash_kind_find((int)req->kind);
    if (*kind == NULL) {
        dash_fault(fault, "get_dashboard.kind",
                   "unknown dashboard kind %d: use my-managers, manager, programme, "
                   "observers, my-coaching, coaching or observer",
                   (int)req->kind);
        return -EINVAL;
    }
    *subject = req->subject_id != NULL ? req->subject_id : "";
    if ((*subject)[0] != '\0' && validate_id(*subject) != 0) {
        dash_fault(fault, "get_dashboard.subject_id",
                   "not a person id: 1 to 64 characters of A-Z a-z 0-9 . _ @ -");
        return -EINVAL;
    }
    *rubric_id =
        req->rubric_id != NULL && req->rubric_id[0] != '\0' ? req->rubric_id : DASH_DEFAULT_RUBRIC;
    if (validate_id(*rubric_id) != 0) {
        dash_fault(fault, "get_dashboard.rubric_id",
                   "not a rubric id: 1 to 64 characters of A-Z a-z 0-9 . _ @ -");
        return -EINVAL;
    }
    if (req->until_day < 0 || req->until_day > today + 1) {
        dash_fault(fault, "get_dashboard.until_day",
                   "%d is not a day up to today (%d); 0 means today", (int)req->until_day,
                   (int)today);
        return -EINVAL;
    }
    if (req->assigned_only &&
        ((req->kind != COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME &&
          req->kind != COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS) ||
         (*subject)[0] != '\0')) {
        dash_fault(fault, "get_dashboard.assigned_only",
                   "only Programme impact and Observer reliability (not one observer's "
                   "calibration history) can be limited to assigned observations");
        return -EINVAL;
    }
    if (req->not_coached_weeks > 52) {
        dash_fault(fault, "get_dashboard.not_coached_weeks",
                   "%u is not a number of weeks from 1 to 52; 0 means 4",
                   (unsigned)req->not_coached_weeks);
        return -EINVAL;
    }
    return 0;
}

/*
 * Resolves the subject of a person dashboard (the caller when the request
 * names none) into *subject and *person (caller owns, free with
 * coachq__v1__person__free_unpacked(), also after a failure), and decides
 * whether u may see the page. Returns 0, -ENOENT when the person does not
 * exist, lacks the kind's role or u may not see them, -EACCES for a refused
 * dashboard about nobody, or another negative code.
 */
static int dash_admit(struct store_txn *t, const struct auth_user *u, const struct dash_kind *k,
                      const Coachq__V1__GetDashboard *req, const char *rubric_id, int32_t today,
                      unsigned trend_weeks, const char **subject, Coachq__V1__Person **person)
{
    struct auth_target target;
    char chain[PEOPLE_MAX_CHAIN][65];
    size_t n_chain = 0;
    int rc;

    if (k->about_person) {
        if ((*subject)[0] == '\0') {
            *subject = u->id;
        }
        rc = people_get(t, *subject, person);
        if (rc != 0) {
            return rc;
        }
        if (!people_has_role(*person, k->subject_role)) {
            return -ENOENT;
        }
        rc = people_chain_at(t, *subject, today, chain, &n_chain);
        if (rc != 0) {
            return rc;
        }
    }

    memset(&target, 0, sizeof(target));
    target.dashboard = (int)k->kind;
    target.subject = *subject;
    target.chain = (const char(*)[65])chain;
    target.n_chain = n_chain;
    if (k->kind == COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MANAGER &&
        auth_decide(u, AUTH_DASHBOARD, &target) != 0) {
        rc = dash_was_line(t, u, *subject, rubric_id, req->until_day != 0 ? req->until_day : today,
                           trend_weeks, &target.was_line);
        if (rc != 0) {
            return rc;
        }
    }
    if (auth_decide(u, AUTH_DASHBOARD, &target) != 0) {
        /* About a person: as if that person did not exist. */
        return k->about_person ? -ENOENT : -EACCES;
    }
    return 0;
}

/*
 * Figures are kept by ISO week, so a page covers whole weeks: the last day
 * covered is the Sunday of the week of the day asked for, and every figure
 * (the recent observations, training, results, certification) is cut there
 * too, so that the page states exactly what it covers.
 */
static void dash_ctx_weeks(struct dash_ctx *c, int32_t asked)
{
    c->until_monday = agg_week_of(asked);
    c->until_day = c->until_monday + 6;
}

/* The message's heading: title, subject, rubric and period. */
static void dash_head(struct dash *d, const struct dash_kind *k, const struct dash_ctx *c)
{
    Coachq__V1__Dashboard *m = dash_msg(d);
    const Coachq__V1__Person *person = c->person;

    m->title = c->req->assigned_only
                   ? dash_printf(d, "%s: assigned observations only, the unbiased sample", k->title)
                   : dash_strdup(d, k->title);
    m->assigned_only = c->req->assigned_only;
    m->subject_id = dash_strdup(d, c->subject);
    m->subject_name = dash_strdup(
        d, person != NULL && person->name != NULL && person->name[0] != '\0' ? person->name
                                                                             : c->subject);
    m->rubric_id = dash_strdup(d, c->rubric_id);
    m->from_day = dash_week(c, c->opts->trend_weeks - 1);
    m->until_day = c->until_day;
    m->generated_at_ms = c->now_s * 1000;
}

/* Says so when the page covers more than the day asked for. */
static void dash_weeks_note(struct dash *d, const struct dash_ctx *c, int32_t asked)
{
    char a[16], w[16], e[16];

    if (asked == c->until_day) {
        return;
    }
    dash_note(d,
              "Figures are kept by ISO week, so this page covers whole weeks: %s to Sunday "
              "%s, the whole week of %s included.",
              dash_day_text(dash_msg(d)->from_day, a, sizeof(a)),
              dash_day_text(c->until_day, e, sizeof(e)), dash_day_text(asked, w, sizeof(w)));
}

int dash_build(struct store_txn *t, const struct auth_user *u, const Coachq__V1__GetDashboard *req,
               const struct dash_opts *opts, int64_t now_s, struct dash **out,
               struct validate_error *fault)
{
    Coachq__V1__Rubric *rubric = NULL;
    Coachq__V1__Person *person = NULL;
    const struct dash_kind *k;
    struct dash_opts o;
    struct dash_ctx c;
    struct dash *d = NULL;
    const char *subject;
    const char *rubric_id;
    int32_t today;
    int32_t asked;
    struct timespec t0, t1;
    int rc;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (out != NULL) {
        *out = NULL;
    }
    if (t == NULL || u == NULL || req == NULL || out == NULL) {
        return -EINVAL;
    }
    dash_opts_fix(opts, &o);
    /* "Today", and so "this week", is the viewer's local date. */
    rc = zone_day_of(t, u->id, now_s, &today);
    if (rc != 0) {
        return rc;
    }
    rc = dash_check(req, today, &k, &subject, &rubric_id, fault);
    if (rc != 0) {
        return rc;
    }
    /* Whether the caller's roles have such a dashboard at all: answering
     * this needs nothing about the subject, so -EACCES reveals nothing. */
    if ((u->roles & k->roles) == 0) {
        return -EACCES;
    }
    rc = rubrics_get(t, rubric_id, 0, &rubric);
    if (rc == -ENOENT) {
        dash_fault(fault, "get_dashboard.rubric_id", "no rubric \"%s\" is loaded", rubric_id);
        return -EINVAL;
    }
    if (rc != 0) {
        return rc;
    }
    /* The other pages read a front-line rubric: sessions of second-level
     * managers coaching their managers would be read as a front-line
     * manager's coaching of reps. */
    if (k->kind != COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_COACHING_MANAGERS &&
        rubric->coach_role == COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER) {
        dash_fault(fault, "get_dashboard.rubric_id",
                   "rubric \"%s\" scores second-level managers coaching their managers: it has "
                   "its own page, Coaching my managers (`coachq dashboard coaching`)",
                   rubric_id);
        rc = -EINVAL;
        goto out;
    }
    rc = dash_admit(t, u, k, req, rubric_id, today, o.trend_weeks, &subject, &person);
    if (rc != 0) {
        goto out;
    }

    memset(&c, 0, sizeof(c));
    c.t = t;
    c.user = u;
    c.req = req;
    c.opts = &o;
    c.now_s = now_s;
    c.today = today;
    asked = req->until_day != 0 ? req->until_day : today;
    dash_ctx_weeks(&c, asked);
    c.subject = subject;
    c.person = person;
    c.rubric_id = rubric_id;
    c.rubric_version = rubric->version;
    c.rubric = rubric;

    d = dash_new(k->kind, &o);
    if (d == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    dash_head(d, k, &c);
    rc = k->build(d, &c);
    if (rc == 0 && req->assigned_only) {
        dash_note(d, "Assigned observations only: every figure on this page comes from the "
                     "observations that fulfilled an assignment of the observation programme, "
                     "the unbiased sample (the draw, not the observer, chose whom to observe). "
                     "Business results, certification, calibration and the plans' coverage are "
                     "not observations and are shown whole.");
    }
    if (rc == 0) {
        dash_weeks_note(d, &c, asked);
        rc = dash_failed(d);
    }
    if (rc == 0) {
        *out = d;
        d = NULL;
        if (o.build_us != NULL && (unsigned)k->kind < DASH_BUILD_SLOTS) {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            metrics_hist_observe(
                &o.build_us[k->kind],
                (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000LL + (t1.tv_nsec - t0.tv_nsec) / 1000));
        }
    }
out:
    dash_free(d);
    coachq__v1__person__free_unpacked(person, NULL);
    coachq__v1__rubric__free_unpacked(rubric, NULL);
    return rc;
}
