/*
 * demo_txns: what the demo writes in transactions of its own (demo_int.h):
 * the checks before anything is written, the organisation as imported
 * before the year, the calibration references, and the year's timeline of
 * line changes, enrolments and calibration rounds between the submitted
 * observations.
 */
#include "demo_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "certs.h"
#include "error.h"
#include "people.h"
#include "rubrics.h"
#include "uuid.h"

static const char *const demo_modules[DEMO_MODULES] = {
    "1-coaching-mindset", "2-ask-dont-tell", "3-deal-review-framework",
    "4-call-review",      "5-practice-lab",
};

int demo_audit(struct store_txn *t, int64_t at_ms, const char *action, const char *subject,
               const char *detail)
{
    return audit_append(t, at_ms, DEMO_ACTOR, action, subject, detail, DEMO_ORIGIN, NULL);
}

struct demo_people_found {
    int any;
};

static int demo_people_any_cb(const Coachq__V1__Person *p, void *arg)
{
    struct demo_people_found *f = arg;

    (void)p;
    f->any = 1;
    return 1;
}

const char *const demo_rubric_ids[DEMO_RUBRICS] = {"coaching-conversation", "call-review"};

int demo_check_txn(struct store_txn *t, void *arg)
{
    struct demo_check *c = arg;
    struct demo_people_found f = {0};
    int rc;

    c->has_people = 0;
    c->missing = 0;
    rc = people_list(t, demo_people_any_cb, &f);
    if (rc < 0) {
        return rc;
    }
    c->has_people = f.any;
    for (int i = 0; i < DEMO_RUBRICS; i++) {
        coachq__v1__rubric__free_unpacked(c->d->rubric[i], NULL);
        c->d->rubric[i] = NULL;
        rc = rubrics_get(t, demo_rubric_ids[i], 0, &c->d->rubric[i]);
        if (rc == -ENOENT) {
            c->missing = i + 1;
            return 0;
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static const char *demo_roles_str(enum demo_kind k)
{
    switch (k) {
    case DEMO_K_LEAD:
        return "enablement_lead,administrator";
    case DEMO_K_OBSERVER:
        return "observer";
    case DEMO_K_SLM:
        return "second_level_manager";
    case DEMO_K_FLM:
        return "front_line_manager";
    default:
        return "rep";
    }
}

/* The organisation as imported before the year: every person, their line
 * and the programme, in one transaction like an import. */
int demo_setup_txn(struct store_txn *t, void *arg)
{
    struct demo *d = arg;
    Coachq__V1__Programme prog = COACHQ__V1__PROGRAMME__INIT;
    char detail[256];
    char ds[16];
    int rc;

    demo_day_str(d->org_day, ds);
    for (int i = 0; i < DEMO_PEOPLE; i++) {
        const struct demo_person *dp = &d->people[i];
        Coachq__V1__Person p = COACHQ__V1__PERSON__INIT;
        Coachq__V1__Role roles[2];

        /* protobuf-c's fields are not const; pack only reads them. */
        p.id = (char *)dp->id;
        p.name = (char *)dp->name;
        p.email = (char *)dp->email;
        p.updated_at_ms = d->setup_ms;
        p.roles = roles;
        switch (dp->kind) {
        case DEMO_K_LEAD:
            roles[0] = COACHQ__V1__ROLE__ROLE_ENABLEMENT_LEAD;
            roles[1] = COACHQ__V1__ROLE__ROLE_ADMINISTRATOR;
            p.n_roles = 2;
            break;
        case DEMO_K_OBSERVER:
            roles[0] = COACHQ__V1__ROLE__ROLE_OBSERVER;
            p.n_roles = 1;
            break;
        case DEMO_K_SLM:
            roles[0] = COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER;
            p.n_roles = 1;
            break;
        case DEMO_K_FLM:
            roles[0] = COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER;
            p.n_roles = 1;
            break;
        default:
            p.n_roles = 0;
            break;
        }
        rc = people_put(t, &p, NULL);
        if (rc != 0) {
            return rc;
        }
        if (dp->manager >= 0) {
            rc = people_line_put(t, dp->id, d->people[dp->manager].id, d->org_day, NULL);
            if (rc != 0) {
                return rc;
            }
            snprintf(detail, sizeof(detail), "name=\"%s\" roles=%s manager=%s from %s", dp->name,
                     demo_roles_str(dp->kind), d->people[dp->manager].id, ds);
        } else {
            snprintf(detail, sizeof(detail), "name=\"%s\" roles=%s", dp->name,
                     demo_roles_str(dp->kind));
        }
        rc = demo_audit(t, d->setup_ms, "user.add", dp->id, detail);
        if (rc != 0) {
            return rc;
        }
    }
    prog.id = (char *)DEMO_PROGRAMME;
    prog.name = (char *)"Coaching skills for front-line managers";
    rc = people_programme_put(t, &prog, NULL);
    if (rc != 0) {
        return rc;
    }
    return demo_audit(t, d->setup_ms, "programme.add", DEMO_PROGRAMME, prog.name);
}

/* The reference sessions' master scores: one strong session (mostly 3 and
 * 4) and one weak (mostly 1 and 2) per rubric, so that the scores spread
 * over the whole scale and kappa measures agreement, not chance. */
void demo_plan_references(struct demo *d)
{
    struct demo_rng r;

    demo_fork(&r, d->seed, DEMO_S_REFS, 0);
    for (int ri = 0; ri < DEMO_RUBRICS; ri++) {
        const Coachq__V1__Rubric *rb = d->rubric[ri];
        size_t nb = rb->n_behaviours < DEMO_MAX_BEH ? rb->n_behaviours : DEMO_MAX_BEH;
        int32_t recorded_day = d->start_day - DEMO_RECORDED_DAYS_BEFORE;

        for (int j = 0; j < DEMO_REFS; j++) {
            size_t odd = demo_below(&r, (uint32_t)nb);
            int na_done = 0;
            int f = (int)demo_below(&r, DEMO_FLMS);

            demo_uuid(&r, d->ref_id[ri][j]);
            d->ref_coach[ri][j] = DEMO_P_FLM + f;
            d->ref_rep[ri][j] = DEMO_P_REP;
            for (int i = DEMO_P_REP; i < DEMO_PEOPLE; i++) {
                if (d->people[i].manager == DEMO_P_FLM + f) {
                    d->ref_rep[ri][j] = i;
                    break;
                }
            }
            d->ref_recorded[ri][j] =
                (int64_t)(recorded_day - 7 * j) * DEMO_DAY_S + 10 * DEMO_HOUR_S;
            for (size_t b = 0; b < nb; b++) {
                uint8_t sc;

                if (j == 0) {
                    sc = demo_chance(&r, 0.4) ? 4 : 3;
                    sc = b == odd ? 2 : sc;
                } else {
                    sc = demo_chance(&r, 0.4) ? 1 : 2;
                    sc = b == odd ? 3 : sc;
                    if (b != odd && !na_done && rb->behaviours[b]->allow_not_applicable) {
                        sc = 0;
                        na_done = 1;
                    }
                }
                d->master[ri][j][b] = sc;
            }
        }
    }
}

int demo_refs_txn(struct store_txn *t, void *arg)
{
    struct demo *d = arg;
    static const char *const titles[DEMO_RUBRICS][DEMO_REFS] = {
        {"Recorded deal review: a renewal at risk", "Recorded pipeline review: quarter-end push"},
        {"Call review: discovery call with a new prospect",
         "Call review: price objection on a follow-up call"},
    };
    int64_t at_ms =
        ((int64_t)(d->start_day - DEMO_REGISTERED_DAYS_BEFORE) * DEMO_DAY_S + 11 * DEMO_HOUR_S) *
        1000;
    char idstr[UUID_STR_LEN];
    char detail[200];
    int rc;

    for (int ri = 0; ri < DEMO_RUBRICS; ri++) {
        const Coachq__V1__Rubric *rb = d->rubric[ri];
        size_t nb = rb->n_behaviours < DEMO_MAX_BEH ? rb->n_behaviours : DEMO_MAX_BEH;

        for (int j = 0; j < DEMO_REFS; j++) {
            Coachq__V1__CalibrationReference ref = COACHQ__V1__CALIBRATION_REFERENCE__INIT;
            Coachq__V1__Recording rec = COACHQ__V1__RECORDING__INIT;
            char recref[96];
            Coachq__V1__Rating m[DEMO_MAX_BEH];
            Coachq__V1__Rating *mp[DEMO_MAX_BEH];
            char ev[DEMO_MAX_BEH][200];
            struct demo_rng r;

            demo_fork(&r, d->seed, DEMO_S_REFS, (uint64_t)(1 + ri * DEMO_REFS + j));
            for (size_t b = 0; b < nb; b++) {
                Coachq__V1__Rating rt = COACHQ__V1__RATING__INIT;
                uint8_t sc = d->master[ri][j][b];

                ev[b][0] = '\0';
                rt.behaviour_id = rb->behaviours[b]->id;
                rt.evidence = ev[b];
                if (sc == 0) {
                    rt.not_applicable = 1;
                } else {
                    rt.score = sc;
                    demo_evidence_note(ev[b], sizeof(ev[b]), &r, rb->behaviours[b], sc, 0);
                }
                m[b] = rt;
                mp[b] = &m[b];
            }
            ref.id.data = d->ref_id[ri][j];
            ref.id.len = 16;
            ref.rubric_id = rb->id;
            ref.rubric_version = rb->version;
            ref.title = (char *)titles[ri][j];
            ref.master = mp;
            ref.n_master = nb;
            ref.registered_by = d->people[DEMO_P_LEAD].id;
            ref.registered_at_ms = at_ms;
            /* The recording the masters scored, which observers score too
             * (the attempts' 35 minutes). */
            snprintf(recref, sizeof(recref), "https://calls.example.com/reference/%s-%d", rb->id,
                     j + 1);
            rec.reference = recref;
            rec.length_ms = 35u * 60u * 1000u;
            ref.recording = &rec;
            rc = certs_reference_put(t, &ref);
            if (rc != 0) {
                return rc;
            }
            uuid_format(d->ref_id[ri][j], idstr);
            snprintf(detail, sizeof(detail), "rubric=%s@%u title=%.100s registered_by=%s", rb->id,
                     (unsigned)rb->version, ref.title, ref.registered_by);
            rc = demo_audit(t, at_ms, "calibration.reference.add", idstr, detail);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}

struct demo_event_ctx {
    struct demo *d;
    const struct demo_event *ev;
};

/* A line change: a rep's transfer, or a manager's move to another
 * second-level manager. */
static int demo_line_txn(struct store_txn *t, void *arg)
{
    struct demo_event_ctx *c = arg;
    const struct demo_person *p = &c->d->people[c->ev->a];
    const struct demo_person *m = &c->d->people[c->ev->b];
    const struct demo_person *old = &c->d->people[p->manager];
    char detail[200];
    char ds[16];
    int rc;

    rc = people_line_put(t, p->id, m->id, c->ev->day, NULL);
    if (rc != 0) {
        return rc;
    }
    snprintf(detail, sizeof(detail), "manager=%s from %s (was %s)", m->id,
             demo_day_str(c->ev->day, ds), old->id);
    return demo_audit(t, c->ev->at_ms, "line.set", p->id, detail);
}

/* A cohort's enrolments: at its start (nothing attended yet), or at its
 * end with the modules attended and the completion day. */
static int demo_enrol_txn(struct store_txn *t, void *arg)
{
    struct demo_event_ctx *c = arg;
    struct demo *d = c->d;
    int cohort = c->ev->a;
    int done = c->ev->kind == DEMO_EV_COMPLETE;
    char detail[200];
    char ds[16];
    int rc;

    for (int fi = 0; fi < DEMO_FLMS; fi++) {
        const struct demo_flm *f = &d->flm[fi];
        Coachq__V1__Enrolment e = COACHQ__V1__ENROLMENT__INIT;
        Coachq__V1__Attendance at[DEMO_MODULES];
        Coachq__V1__Attendance *atp[DEMO_MODULES];

        if (f->cohort != cohort) {
            continue;
        }
        e.programme_id = (char *)DEMO_PROGRAMME;
        e.cohort_id = d->cohort_id[cohort];
        e.cohort_start_day = d->cohort_day[cohort];
        e.person_id = d->people[f->person].id;
        if (done) {
            for (int m = 0; m < f->n_attended; m++) {
                Coachq__V1__Attendance a = COACHQ__V1__ATTENDANCE__INIT;

                a.module = (char *)demo_modules[m];
                a.day = f->attended[m];
                at[m] = a;
                atp[m] = &at[m];
            }
            e.attended = atp;
            e.n_attended = (size_t)f->n_attended;
            e.completed_day = f->completed_day;
        }
        rc = people_enrolment_put(t, &e, NULL);
        if (rc != 0) {
            return rc;
        }
        if (done && f->completed_day > 0) {
            snprintf(detail, sizeof(detail), "programme=%s cohort=%s completed %s", DEMO_PROGRAMME,
                     e.cohort_id, demo_day_str(f->completed_day, ds));
        } else if (done) {
            snprintf(detail, sizeof(detail), "programme=%s cohort=%s attended %d of %d modules",
                     DEMO_PROGRAMME, e.cohort_id, f->n_attended, DEMO_MODULES);
        } else {
            snprintf(detail, sizeof(detail), "programme=%s cohort=%s starts %s", DEMO_PROGRAMME,
                     e.cohort_id, demo_day_str(e.cohort_start_day, ds));
        }
        rc = demo_audit(t, c->ev->at_ms, done ? "programme.complete" : "programme.enrol",
                        e.person_id, detail);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int demo_last_result_cb(const Coachq__V1__CalibrationResult *res, void *arg)
{
    struct demo_certs_check *c = arg;

    if (strcmp(res->rubric_id, demo_rubric_ids[c->rubric]) == 0) {
        snprintf(c->reason, sizeof(c->reason), "%s", res->reason);
    }
    return 0;
}

int demo_certs_txn(struct store_txn *t, void *arg)
{
    struct demo_certs_check *c = arg;
    int rc = 0;

    c->observer = -1;
    c->certified = 0;
    c->reason[0] = '\0';
    for (int o = 0; o < DEMO_OBSERVERS; o++) {
        int all = 1;

        for (int ri = 0; ri < DEMO_RUBRICS; ri++) {
            Coachq__V1__Certification *cert = NULL;
            const char *id = c->d->people[DEMO_P_OBS + o].id;

            rc = certs_valid_on(t, id, demo_rubric_ids[ri], c->day, &cert, NULL);
            coachq__v1__certification__free_unpacked(cert, NULL);
            if (rc == -ENOENT) {
                all = 0;
                rc = 0;
                if (c->observer < 0) {
                    c->observer = o;
                    c->rubric = ri;
                    rc = certs_results(t, id, demo_last_result_cb, c);
                }
            }
            if (rc != 0) {
                return rc;
            }
        }
        c->certified += (unsigned)all;
    }
    return 0;
}

/* A calibration round: every observer scores every reference of every
 * rubric, then each must hold a certification from that day. */
static int demo_calibrate(struct demo *d, const struct demo_event *ev)
{
    struct demo_certs_check cc;
    char ds[16];
    int64_t at = ev->at_ms;
    int rc = 0;

    for (int o = 0; o < DEMO_OBSERVERS && rc == 0; o++) {
        for (int ri = 0; ri < DEMO_RUBRICS && rc == 0; ri++) {
            for (int j = 0; j < DEMO_REFS && rc == 0; j++) {
                demo_build_attempt(d, ev->a, o, ri, j);
                rc = demo_queue(d, o, at < d->now_ms ? at : d->now_ms, 1);
                at += 3 * 60 * 1000;
            }
        }
    }
    if (rc == 0) {
        rc = demo_flush(d);
    }
    if (rc != 0 || !d->policy.enforce) {
        return rc;
    }
    memset(&cc, 0, sizeof(cc));
    cc.d = d;
    cc.day = ev->day;
    rc = store_view(d->s, demo_certs_txn, &cc);
    if (rc != 0) {
        demo_say(d, "reading the certifications failed: %s", error_strerror(rc));
        return rc;
    }
    if (cc.observer >= 0) {
        demo_say(d,
                 "observer %s failed calibration for '%s' on %s (%s): the generated attempts "
                 "should agree with the masters",
                 d->people[DEMO_P_OBS + cc.observer].id, demo_rubric_ids[cc.rubric],
                 demo_day_str(ev->day, ds), cc.reason[0] ? cc.reason : "no result");
        return -EPROTO;
    }
    return 0;
}

static int demo_event_cmp(const void *a, const void *b)
{
    const struct demo_event *x = a;
    const struct demo_event *y = b;

    if (x->at_ms != y->at_ms) {
        return x->at_ms < y->at_ms ? -1 : 1;
    }
    if (x->kind != y->kind) {
        return (int)x->kind - (int)y->kind;
    }
    return x->a - y->a;
}

static void demo_event_add(struct demo *d, enum demo_event_kind kind, int a, int b, int32_t day,
                           int hour)
{
    struct demo_event *e;
    int64_t at_ms = ((int64_t)day * DEMO_DAY_S + (int64_t)hour * DEMO_HOUR_S) * 1000;

    /* A recalibration due today happens by now at the latest; anything
     * later has not happened yet. */
    if (kind == DEMO_EV_CALIBRATE && day <= d->now_day && at_ms > d->now_ms) {
        at_ms = d->now_ms;
    }
    if (d->n_ev >= DEMO_MAX_EVENTS || at_ms > d->now_ms) {
        return;
    }
    e = &d->ev[d->n_ev++];
    e->at_ms = at_ms;
    e->kind = kind;
    e->a = a;
    e->b = b;
    e->day = day;
}

/* The year's changes to the organisation, in time order. Each happens
 * early on its day, before the day's first session (08:00). */
void demo_plan_events(struct demo *d)
{
    for (int k = 0; k < d->rounds; k++) {
        demo_event_add(d, DEMO_EV_CALIBRATE, k, 0, d->start_day + k * d->policy.cert_days,
                       DEMO_WINDOW_HOUR);
    }
    for (int i = 0; i < DEMO_PEOPLE; i++) {
        if (d->people[i].move_day != 0) {
            demo_event_add(d, DEMO_EV_LINE, i, d->people[i].new_manager, d->people[i].move_day, 5);
        }
    }
    for (int c = 0; c < DEMO_COHORTS; c++) {
        demo_event_add(d, DEMO_EV_ENROL, c, 0, d->cohort_day[c], 5);
        demo_event_add(d, DEMO_EV_COMPLETE, c, 0, d->cohort_day[c] + 7 * DEMO_MODULES, 5);
    }
    qsort(d->ev, d->n_ev, sizeof(d->ev[0]), demo_event_cmp);
}

static int demo_event_run(struct demo *d, const struct demo_event *ev)
{
    struct demo_event_ctx c = {d, ev};
    int rc;

    switch (ev->kind) {
    case DEMO_EV_CALIBRATE:
        return demo_calibrate(d, ev);
    case DEMO_EV_LINE:
        rc = store_exec(d->s, demo_line_txn, &c);
        break;
    default:
        rc = store_exec(d->s, demo_enrol_txn, &c);
        break;
    }
    if (rc != 0) {
        demo_say(d, "storing an organisation change failed: %s", error_strerror(rc));
    }
    return rc;
}

/* Submits every record in time order, with the organisation's changes
 * made when they happen. */
int demo_timeline(struct demo *d)
{
    size_t e = 0;
    int rc = 0;

    for (size_t i = 0; i < d->n_rec && rc == 0; i++) {
        while (rc == 0 && e < d->n_ev && d->ev[e].at_ms <= d->rec[i].received_ms) {
            rc = demo_ctc_due(d, d->ev[e].at_ms);
            if (rc == 0) {
                rc = demo_flush(d);
            }
            if (rc == 0) {
                rc = demo_event_run(d, &d->ev[e]);
            }
            e++;
        }
        if (rc == 0) {
            rc = demo_ctc_due(d, d->rec[i].received_ms);
        }
        if (rc == 0) {
            demo_build_record(d, &d->rec[i]);
            d->double_coded += d->rec[i].second;
            rc = demo_queue(d, d->rec[i].observer, d->rec[i].received_ms, 0);
        }
    }
    for (; rc == 0 && e < d->n_ev; e++) {
        rc = demo_ctc_due(d, d->ev[e].at_ms);
        if (rc == 0) {
            rc = demo_flush(d);
        }
        if (rc == 0) {
            rc = demo_event_run(d, &d->ev[e]);
        }
    }
    if (rc == 0) {
        rc = demo_ctc_due(d, INT64_MAX);
    }
    if (rc == 0) {
        rc = demo_flush(d);
    }
    return rc;
}
