/*
 * admin_import: `coachqd import people|programme|outcomes`: each import's
 * file is read and checked first, without the store (people_csv.h,
 * programme_csv.h, outcomes_csv.h, all on the table format of
 * proto/table.h), then merged with what the store holds in one write
 * transaction, all or nothing, with every error as FILE:LINE:COL
 * (admin_int.h).
 */
#include "admin_int.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "audit.h"
#include "cadence.h"
#include "csv.h"
#include "error.h"
#include "outcomes.h"
#include "outcomes_csv.h"
#include "people.h"
#include "people_csv.h"
#include "programme_csv.h"
#include "store.h"
#include "str.h"
#include "table.h"
#include "tz.h"
#include "validate.h"
#include "zone.h"

/* ---- Import errors and CSV tables ---------------------------------------- */

/* Opens the import's file for reading; says why it cannot into e. */
static int import_open(const char *path, struct table_errs *e, struct csv **c)
{
    int rc = csv_open_file(path, c);

    if (rc < 0) {
        table_err(e, 0, 0, "cannot read: %s", error_strerror(rc));
        return -EINVAL;
    }
    return 0;
}

/* Prints the errors in file order (those found in the store come later
 * than the file's own), then the verdict. */
static void import_print(const struct admin *a, struct table_errs *e)
{
    size_t i;
    int more = e->total > e->n;

    table_errs_sort(e);
    for (i = 0; i < e->n; i++) {
        fprintf(stderr, "%s\n", e->kept[i].msg);
    }
    if (more) {
        fprintf(stderr, "(stopped after %d errors)\n", ADMIN_MAX_ERRORS);
    }
    admin_errorf(a, "nothing imported: %zu error%s%s", e->n, e->n == 1 ? "" : "s",
                 more ? " or more" : "");
}

/* Checks and merges an import inside one write transaction; the common
 * ending of both imports: abort on errors or for a dry run. */
static int import_finish(const struct table_errs *e, int dry_run)
{
    if (e->total > 0) {
        return -EINVAL;
    }
    return dry_run ? ADMIN_DRY_RUN : 0;
}

/* ---- import people ------------------------------------------------------- */

struct people_import {
    struct admin *a;
    const char *path;
    struct people_csv csv; /* the file's rows, checked */
    int dry_run;
    struct table_errs errs;
    size_t static_errs; /* errors found before the transaction */
    /* Results, set afresh by each run of the callback. */
    size_t added, updated, unchanged, lines, zones;
    char summary[256];
};

/* Creates or updates one person; keeps pins and the disabled flag, and
 * leaves an unchanged person alone (updated_at_ms included). */
static int people_put_row(struct people_import *pi, struct store_txn *t,
                          const struct people_csv_row *pr)
{
    Coachq__V1__Person p = COACHQ__V1__PERSON__INIT;
    Coachq__V1__Person *old = NULL;
    const struct table_row *r = pr->r;
    int rc;

    rc = people_get(t, r->f[PEOPLE_CSV_ID], &old);
    if (rc < 0 && rc != -ENOENT) {
        goto out;
    }
    p.id = r->f[PEOPLE_CSV_ID];
    p.name = r->f[PEOPLE_CSV_NAME];
    p.email = r->f[PEOPLE_CSV_EMAIL];
    p.roles = (Coachq__V1__Role *)pr->roles;
    p.n_roles = pr->nroles;
    /* Without the column, a person keeps the zone they have. */
    p.time_zone = r->col[PEOPLE_CSV_TZ] != 0 ? r->f[PEOPLE_CSV_TZ]
                  : old != NULL              ? old->time_zone
                                             : "";
    if (p.time_zone[0] != '\0' && (old == NULL || strcmp(old->time_zone, p.time_zone) != 0)) {
        char why[TZ_WHY_LEN];

        if (zone_load(t, p.time_zone, NULL, why, sizeof(why)) != 0) {
            table_err(&pi->errs, r->line, r->col[PEOPLE_CSV_TZ], "time_zone: %s", why);
            rc = 0;
            goto out;
        }
    }
    if (old != NULL && strcmp(old->time_zone, p.time_zone) != 0) {
        pi->zones++;
    }
    if (old != NULL) {
        if (strcmp(old->name, p.name) == 0 && strcmp(old->email, p.email) == 0 &&
            strcmp(old->time_zone, p.time_zone) == 0 &&
            admin_same_roles(old, pr->roles, pr->nroles)) {
            pi->unchanged++;
            rc = 0;
            goto out;
        }
        p.disabled = old->disabled;
        p.n_cert_sha256 = old->n_cert_sha256;
        p.cert_sha256 = old->cert_sha256;
    }
    p.updated_at_ms = pi->a->now_ms;
    rc = people_put(t, &p, NULL);
    if (rc < 0) {
        goto out;
    }
    if (old != NULL) {
        pi->updated++;
    } else {
        pi->added++;
    }
out:
    if (old != NULL) {
        coachq__v1__person__free_unpacked(old, NULL);
    }
    return rc;
}

struct last_line {
    char manager[VALIDATE_MAX_ID + 1];
    int32_t day;
    int any;
};

static int last_line_cb(const Coachq__V1__ReportingLine *line, void *arg)
{
    struct last_line *l = arg;

    str_copy(l->manager, sizeof(l->manager), line->manager_id);
    l->day = line->effective_day;
    l->any = 1;
    return 0;
}

/* Checks one row's manager and records its line. */
static int people_line_row(struct people_import *pi, struct store_txn *t,
                           const struct people_csv_row *pr)
{
    const struct table_row *r = pr->r;
    const char *mgr = r->f[PEOPLE_CSV_MANAGER];
    Coachq__V1__Person *m = NULL;
    char day[16];
    int rc, changed = 0;

    /* Malformed ids were reported already and cannot be looked up. */
    if (validate_id(r->f[PEOPLE_CSV_ID]) < 0 || (mgr[0] != '\0' && validate_id(mgr) < 0)) {
        return 0;
    }
    if (mgr[0] != '\0' && people_csv_find(&pi->csv, mgr) == NULL) {
        rc = people_get(t, mgr, &m);
        if (rc == -ENOENT) {
            table_err(&pi->errs, r->line, r->col[PEOPLE_CSV_MANAGER],
                      "manager_id '%s' is neither in this file nor in the store", mgr);
            return 0;
        }
        if (rc < 0) {
            return rc;
        }
        coachq__v1__person__free_unpacked(m, NULL);
    }
    if (mgr[0] == '\0' && !pr->has_day) {
        struct last_line last;

        /* Without a date, "reports to nobody" cannot end a line that the
         * store holds: the file must say from when. */
        memset(&last, 0, sizeof(last));
        rc = people_lines(t, r->f[PEOPLE_CSV_ID], last_line_cb, &last);
        if (rc < 0 && rc != -ENOENT) {
            return rc;
        }
        if (last.any && last.manager[0] != '\0') {
            table_err(&pi->errs, r->line, r->col[PEOPLE_CSV_EFFECTIVE],
                      "effective_date is empty, but the store has '%s' reporting to '%s' since "
                      "%s: give the date from which they report to nobody",
                      r->f[PEOPLE_CSV_ID], last.manager, admin_fmt_day(last.day, day, sizeof(day)));
        }
        return 0;
    }
    if (pi->errs.total > 0) {
        return 0;
    }
    rc = people_line_put(t, r->f[PEOPLE_CSV_ID], mgr, pr->day, &changed);
    if (rc < 0) {
        return rc;
    }
    pi->lines += changed ? 1 : 0;
    return 0;
}

static int people_import_txn(struct store_txn *t, void *arg)
{
    struct people_import *pi = arg;
    struct admin *a = pi->a;
    size_t i;
    int rc;

    a->err[0] = '\0';
    table_errs_truncate(&pi->errs, pi->static_errs);
    pi->added = pi->updated = pi->unchanged = pi->lines = pi->zones = 0;
    /* Pass 1: the people, so that pass 2 finds managers in this file. */
    for (i = 0; i < pi->csv.tab.n && pi->errs.total == 0; i++) {
        if (!pi->csv.rows[i].first) {
            continue;
        }
        rc = people_put_row(pi, t, &pi->csv.rows[i]);
        if (rc < 0) {
            return admin_txn_fail(a, rc, "%s:%zu: %s", pi->path, pi->csv.rows[i].r->line,
                                  error_strerror(rc));
        }
    }
    /* Pass 2: managers and reporting lines. */
    for (i = 0; i < pi->csv.tab.n; i++) {
        rc = people_line_row(pi, t, &pi->csv.rows[i]);
        if (rc < 0) {
            return admin_txn_fail(a, rc, "%s:%zu: %s", pi->path, pi->csv.rows[i].r->line,
                                  error_strerror(rc));
        }
    }
    snprintf(pi->summary, sizeof(pi->summary),
             "people: %zu rows; %zu added, %zu updated, %zu unchanged; reporting lines: %zu "
             "changed%s",
             pi->csv.tab.n, pi->added, pi->updated, pi->unchanged, pi->lines,
             pi->zones > 0 ? "; time zones changed, aggregates rebuilt" : "");
    /* A person's sessions in another zone may fall on other days: the
     * aggregates follow in this transaction (zone.h). */
    if (pi->errs.total == 0 && !pi->dry_run && pi->zones > 0) {
        rc = agg_rebuild_txn(t);
        if (rc < 0) {
            return admin_txn_fail(a, rc, "rebuilding the aggregates: %s", error_strerror(rc));
        }
        rc = cadence_rebuild_txn(t, NULL);
        if (rc < 0) {
            return admin_txn_fail(a, rc, "counting the coaching days: %s", error_strerror(rc));
        }
    }
    if (pi->errs.total == 0 && !pi->dry_run && pi->added + pi->updated + pi->lines > 0) {
        rc = audit_append(t, a->now_ms, a->actor, "import.people", pi->path, pi->summary, a->origin,
                          NULL);
        if (rc < 0) {
            return admin_txn_fail(a, rc, "audit: %s", error_strerror(rc));
        }
    }
    return import_finish(&pi->errs, pi->dry_run);
}

int admin_run_import_people(struct admin *a)
{
    struct people_import *pi = NULL;
    struct csv *c = NULL;
    int code = 1;
    int rc;

    pi = calloc(1, sizeof(*pi));
    if (pi == NULL) {
        admin_errorf(a, "out of memory");
        return 1;
    }
    pi->a = a;
    pi->path = a->pos[0];
    if (table_errs_init(&pi->errs, a->pos[0], ADMIN_MAX_ERRORS) < 0) {
        admin_errorf(a, "out of memory");
        goto out;
    }
    pi->dry_run = admin_opt_value(a, "dry-run") != NULL;
    if (admin_open_store(a, 0) < 0) {
        goto out;
    }
    rc = import_open(pi->path, &pi->errs, &c);
    if (rc == 0) {
        rc = people_csv_read(&pi->csv, c, &pi->errs);
    }
    if (rc == -ENOMEM) {
        admin_errorf(a, "out of memory");
        goto out;
    }
    if (rc < 0) {
        import_print(a, &pi->errs);
        goto out;
    }
    pi->static_errs = pi->errs.total;
    rc = store_exec(a->store, people_import_txn, pi);
    if (rc == 0 || rc == ADMIN_DRY_RUN) {
        printf("%s%s\n", rc == 0 ? "" : "dry run, nothing written: ", pi->summary);
        code = 0;
    } else if (pi->errs.total > 0) {
        import_print(a, &pi->errs);
    } else {
        admin_store_failure(a, rc);
    }
out:
    people_csv_clear(&pi->csv);
    table_errs_close(&pi->errs);
    csv_free(c);
    free(pi);
    return code;
}

/* ---- import programme ---------------------------------------------------- */

struct prog_import {
    struct admin *a;
    const char *path;
    struct programme_csv csv; /* the file's rows, checked */
    struct table_errs errs;
    size_t static_errs;
    /* Results, set afresh by each run of the callback. */
    size_t progs_added, progs_renamed, enr_added, enr_updated, enr_unchanged, attended, completions;
    char summary[320];
};

static int prog_put_programme(struct prog_import *gi, struct store_txn *t,
                              const struct table_row *r)
{
    Coachq__V1__Programme p = COACHQ__V1__PROGRAMME__INIT;
    Coachq__V1__Programme *old = NULL;
    int rc, changed = 0;

    rc = people_programme_get(t, r->f[PROGRAMME_CSV_PROG], &old);
    if (rc < 0 && rc != -ENOENT) {
        return rc;
    }
    p.id = r->f[PROGRAMME_CSV_PROG];
    p.name = r->f[PROGRAMME_CSV_NAME];
    rc = people_programme_put(t, &p, &changed);
    if (rc == 0 && changed) {
        if (old != NULL) {
            gi->progs_renamed++;
        } else {
            gi->progs_added++;
        }
    }
    if (old != NULL) {
        coachq__v1__programme__free_unpacked(old, NULL);
    }
    return rc;
}

static int has_attendance(Coachq__V1__Attendance *const *list, size_t n, const char *module,
                          int32_t day)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (list[i]->day == day && strcmp(list[i]->module, module) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Merges the rows [g, g + n) of one person in one programme into their
 * enrolment: the cohort from the file, attendance added (never twice),
 * completion set when the file gives it. */
static int prog_put_enrolment(struct prog_import *gi, struct store_txn *t,
                              struct programme_csv_row *const *g, size_t n)
{
    Coachq__V1__Enrolment e = COACHQ__V1__ENROLMENT__INIT;
    Coachq__V1__Enrolment *old = NULL;
    Coachq__V1__Attendance *fresh = NULL;
    Coachq__V1__Attendance **list = NULL;
    const struct table_row *r = g[0]->r;
    size_t i, nold = 0, nfresh = 0;
    int rc, changed = 0;

    rc = people_enrolment_get(t, r->f[PROGRAMME_CSV_PROG], r->f[PROGRAMME_CSV_PERSON], &old);
    if (rc < 0 && rc != -ENOENT) {
        goto out;
    }
    nold = old != NULL ? old->n_attended : 0;
    rc = -ENOMEM;
    fresh = calloc(n, sizeof(*fresh));
    list = calloc(nold + n + 1, sizeof(*list));
    if (fresh == NULL || list == NULL) {
        goto out;
    }
    for (i = 0; i < nold; i++) {
        list[i] = old->attended[i];
    }
    e.programme_id = r->f[PROGRAMME_CSV_PROG];
    e.person_id = r->f[PROGRAMME_CSV_PERSON];
    e.cohort_id = r->f[PROGRAMME_CSV_COHORT];
    e.cohort_start_day = g[0]->start;
    e.completed_day = old != NULL ? old->completed_day : 0;
    for (i = 0; i < n; i++) {
        if (g[i]->has_attended &&
            !has_attendance(list, nold + nfresh, g[i]->r->f[PROGRAMME_CSV_MODULE],
                            g[i]->attended)) {
            Coachq__V1__Attendance init = COACHQ__V1__ATTENDANCE__INIT;

            fresh[nfresh] = init;
            fresh[nfresh].module = g[i]->r->f[PROGRAMME_CSV_MODULE];
            fresh[nfresh].day = g[i]->attended;
            list[nold + nfresh] = &fresh[nfresh];
            nfresh++;
        }
        if (g[i]->has_completed && e.completed_day != g[i]->completed) {
            e.completed_day = g[i]->completed;
            gi->completions++;
        }
    }
    e.attended = list;
    e.n_attended = nold + nfresh;
    rc = people_enrolment_put(t, &e, &changed);
    if (rc < 0) {
        goto out;
    }
    gi->attended += nfresh;
    if (old == NULL) {
        gi->enr_added++;
    } else if (changed) {
        gi->enr_updated++;
    } else {
        gi->enr_unchanged++;
    }
out:
    free(fresh);
    free(list);
    if (old != NULL) {
        coachq__v1__enrolment__free_unpacked(old, NULL);
    }
    return rc;
}

static int prog_import_txn(struct store_txn *t, void *arg)
{
    struct prog_import *gi = arg;
    struct admin *a = gi->a;
    size_t i = 0;
    int rc;

    a->err[0] = '\0';
    table_errs_truncate(&gi->errs, gi->static_errs);
    gi->progs_added = gi->progs_renamed = gi->enr_added = gi->enr_updated = 0;
    gi->enr_unchanged = gi->attended = gi->completions = 0;
    while (i < gi->csv.tab.n) {
        const struct table_row *r = gi->csv.sorted[i]->r;
        Coachq__V1__Person *p = NULL;
        size_t j = i + 1;

        while (j < gi->csv.tab.n &&
               strcmp(gi->csv.sorted[j]->r->f[PROGRAMME_CSV_PROG], r->f[PROGRAMME_CSV_PROG]) == 0 &&
               strcmp(gi->csv.sorted[j]->r->f[PROGRAMME_CSV_PERSON], r->f[PROGRAMME_CSV_PERSON]) ==
                   0) {
            j++;
        }
        rc = validate_id(r->f[PROGRAMME_CSV_PERSON]) < 0
                 ? -EINVAL
                 : people_get(t, r->f[PROGRAMME_CSV_PERSON], &p);
        if (rc == -ENOENT) {
            table_err(&gi->errs, r->line, r->col[PROGRAMME_CSV_PERSON],
                      "person_id '%s' is not in the store (import people first)",
                      r->f[PROGRAMME_CSV_PERSON]);
        } else if (rc < 0 && rc != -EINVAL) {
            return admin_txn_fail(a, rc, "%s:%zu: %s", gi->path, r->line, error_strerror(rc));
        }
        if (p != NULL) {
            coachq__v1__person__free_unpacked(p, NULL);
        }
        if (gi->errs.total == 0) {
            if (i == 0 || strcmp(gi->csv.sorted[i - 1]->r->f[PROGRAMME_CSV_PROG],
                                 r->f[PROGRAMME_CSV_PROG]) != 0) {
                rc = prog_put_programme(gi, t, r);
            } else {
                rc = 0;
            }
            if (rc == 0) {
                rc = prog_put_enrolment(gi, t, &gi->csv.sorted[i], j - i);
            }
            if (rc < 0) {
                return admin_txn_fail(a, rc, "%s:%zu: %s", gi->path, r->line, error_strerror(rc));
            }
        }
        i = j;
    }
    snprintf(gi->summary, sizeof(gi->summary),
             "programme: %zu rows; programmes: %zu added, %zu renamed; enrolments: %zu added, "
             "%zu updated, %zu unchanged; attendances: %zu added; completions: %zu set",
             gi->csv.tab.n, gi->progs_added, gi->progs_renamed, gi->enr_added, gi->enr_updated,
             gi->enr_unchanged, gi->attended, gi->completions);
    if (gi->errs.total == 0 &&
        gi->progs_added + gi->progs_renamed + gi->enr_added + gi->enr_updated > 0) {
        rc = audit_append(t, a->now_ms, a->actor, "import.programme", gi->path, gi->summary,
                          a->origin, NULL);
        if (rc < 0) {
            return admin_txn_fail(a, rc, "audit: %s", error_strerror(rc));
        }
    }
    return import_finish(&gi->errs, 0);
}

int admin_run_import_programme(struct admin *a)
{
    struct prog_import *gi = NULL;
    struct csv *c = NULL;
    int code = 1;
    int rc;

    gi = calloc(1, sizeof(*gi));
    if (gi == NULL) {
        admin_errorf(a, "out of memory");
        return 1;
    }
    gi->a = a;
    gi->path = a->pos[0];
    if (table_errs_init(&gi->errs, a->pos[0], ADMIN_MAX_ERRORS) < 0) {
        admin_errorf(a, "out of memory");
        goto out;
    }
    if (admin_open_store(a, 0) < 0) {
        goto out;
    }
    rc = import_open(gi->path, &gi->errs, &c);
    if (rc == 0) {
        rc = programme_csv_read(&gi->csv, c, &gi->errs);
    }
    if (rc == -ENOMEM) {
        admin_errorf(a, "out of memory");
        goto out;
    }
    if (rc < 0) {
        import_print(a, &gi->errs);
        goto out;
    }
    gi->static_errs = gi->errs.total;
    rc = store_exec(a->store, prog_import_txn, gi);
    if (rc == 0) {
        printf("%s\n", gi->summary);
        code = 0;
    } else if (gi->errs.total > 0) {
        import_print(a, &gi->errs);
    } else {
        admin_store_failure(a, rc);
    }
out:
    programme_csv_clear(&gi->csv);
    table_errs_close(&gi->errs);
    csv_free(c);
    free(gi);
    return code;
}

/* One run of import outcomes. */
struct outcomes_import {
    struct admin *a;
    const char *path;
    Coachq__V1__Outcome **rows; /* owned, outcomes_rows_free() */
    size_t n;
    struct outcomes_pos *pos; /* owned; where each row is in the file */
    int dry_run;
    struct table_errs errs;
    Coachq__V1__ImportResult res;
    struct validate_error fault;
    char summary[256];
};

static void outcomes_csv_err(const char *msg, void *arg)
{
    (void)arg;
    fprintf(stderr, "%s\n", msg);
}

/* Reports a fault of outcomes_import_txn() at the row's line and column. */
static void outcomes_import_fault(struct outcomes_import *oi)
{
    size_t row = SIZE_MAX;
    int col = outcomes_fault_col(oi->fault.field, &row);

    if (row < oi->n) {
        table_err(&oi->errs, oi->pos[row].line, col >= 0 ? oi->pos[row].col[col] : 1, "%s",
                  oi->fault.message);
    } else {
        table_err(&oi->errs, 0, 0, "%s: %s", oi->fault.field, oi->fault.message);
    }
}

static int outcomes_import_cb(struct store_txn *t, void *arg)
{
    struct outcomes_import *oi = arg;
    struct admin *a = oi->a;
    const char *last = NULL;
    int rc;

    a->err[0] = '\0';
    table_errs_truncate(&oi->errs, 0);
    /* Every unknown subject (not only the first), each at its line. */
    for (size_t i = 0; i < oi->n && !table_errs_full(&oi->errs); i++) {
        Coachq__V1__Person *p = NULL;

        if (last != NULL && strcmp(last, oi->rows[i]->subject_id) == 0) {
            continue;
        }
        rc = people_get(t, oi->rows[i]->subject_id, &p);
        if (rc == -ENOENT) {
            table_err(&oi->errs, oi->pos[i].line, oi->pos[i].col[OUTCOMES_COL_SUBJECT],
                      "subject_id '%s' is nobody in the store; import people first",
                      oi->rows[i]->subject_id);
            continue;
        }
        if (rc < 0) {
            return admin_txn_fail(a, rc, "%s:%zu: %s", oi->path, oi->pos[i].line,
                                  error_strerror(rc));
        }
        coachq__v1__person__free_unpacked(p, NULL);
        last = oi->rows[i]->subject_id;
    }
    if (oi->errs.total > 0) {
        return -EINVAL;
    }
    memset(&oi->fault, 0, sizeof(oi->fault));
    rc = outcomes_import_txn(t, oi->rows, oi->n, a->now_ms, a->actor, a->origin, &oi->res,
                             &oi->fault);
    if (rc == -EINVAL && oi->fault.message[0] != '\0') {
        outcomes_import_fault(oi);
        return rc;
    }
    if (rc < 0) {
        return admin_txn_fail(a, rc, "%s", error_strerror(rc));
    }
    snprintf(oi->summary, sizeof(oi->summary),
             "outcomes: %zu rows; %" PRIu32 " added, %" PRIu32 " changed, %" PRIu32 " unchanged",
             oi->n, oi->res.added, oi->res.changed, oi->res.unchanged);
    return import_finish(&oi->errs, oi->dry_run);
}

int admin_run_import_outcomes(struct admin *a)
{
    struct outcomes_import *oi = NULL;
    char *data = NULL;
    size_t len = 0, n_errs = 0;
    int code = 1;
    int rc;

    oi = calloc(1, sizeof(*oi));
    if (oi == NULL) {
        admin_errorf(a, "out of memory");
        return 1;
    }
    oi->a = a;
    oi->path = a->pos[0];
    if (table_errs_init(&oi->errs, a->pos[0], ADMIN_MAX_ERRORS) < 0) {
        admin_errorf(a, "out of memory");
        goto out;
    }
    oi->dry_run = admin_opt_value(a, "dry-run") != NULL;
    coachq__v1__import_result__init(&oi->res);
    if (admin_open_store(a, 0) < 0) {
        goto out;
    }
    rc = admin_read_file(oi->path, CSV_MAX_FILE, &data, &len);
    if (rc < 0) {
        table_err(&oi->errs, 0, 0, "cannot read: %s",
                  rc == -EFBIG ? "larger than the 64 MiB an import may be" : error_strerror(rc));
        import_print(a, &oi->errs);
        goto out;
    }
    rc = outcomes_parse_csv_pos(oi->path, data, len, outcomes_csv_err, NULL, ADMIN_MAX_ERRORS,
                                &oi->rows, &oi->n, &n_errs, &oi->pos);
    if (rc == -ENOMEM) {
        admin_errorf(a, "out of memory");
        goto out;
    }
    if (rc < 0) {
        if (n_errs > ADMIN_MAX_ERRORS) {
            fprintf(stderr, "(stopped after %d errors)\n", ADMIN_MAX_ERRORS);
        }
        admin_errorf(a, "nothing imported: %zu error%s", n_errs, n_errs == 1 ? "" : "s");
        goto out;
    }
    rc = store_exec(a->store, outcomes_import_cb, oi);
    if (rc == 0 || rc == ADMIN_DRY_RUN) {
        printf("%s%s\n", rc == 0 ? "" : "dry run, nothing written: ", oi->summary);
        code = 0;
    } else if (oi->errs.total > 0) {
        import_print(a, &oi->errs);
    } else {
        admin_store_failure(a, rc);
    }
out:
    outcomes_rows_free(oi->rows, oi->n);
    table_errs_close(&oi->errs);
    free(oi->pos);
    free(data);
    free(oi);
    return code;
}
