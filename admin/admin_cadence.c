/*
 * admin_cadence: `coachqd import sessions` (coaching sessions held, one row
 * per coach, rep and day: sessions_csv.h) and `coachqd commitment
 * set|clear|list` (a coaching commitment of the organisation or of a
 * programme), both on the store's cadence module (cadence.h). The import is
 * all or nothing with every error as FILE:LINE:COL; both are audited.
 */
#include "admin_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cadence.h"
#include "csv.h"
#include "error.h"
#include "people.h"
#include "sessions_csv.h"
#include "sessions_held.h"
#include "store.h"
#include "table.h"
#include "validate.h"

/* ---- import sessions ----------------------------------------------------- */

struct held_import {
    struct admin *a;
    const char *path;
    struct sessions_csv csv;
    int dry_run;
    struct table_errs errs;
    size_t static_errs;
    size_t added;
    char summary[256];
};

static int held_import_txn(struct store_txn *t, void *arg)
{
    struct held_import *hi = arg;
    struct admin *a = hi->a;
    size_t line = 0;
    int rc;

    a->err[0] = '\0';
    table_errs_truncate(&hi->errs, hi->static_errs);
    rc = sessions_held_import(t, &hi->csv, a->now_ms / 1000, hi->dry_run, &hi->errs, &hi->added,
                              &line);
    if (rc == -EINVAL && hi->errs.total > 0) {
        return rc;
    }
    if (rc < 0) {
        return admin_txn_fail(a, rc, "%s:%zu: %s", hi->path, line, error_strerror(rc));
    }
    snprintf(hi->summary, sizeof(hi->summary), "sessions: %zu rows; %zu sessions held added",
             hi->csv.tab.n, hi->added);
    if (!hi->dry_run && hi->added > 0) {
        rc = audit_append(t, a->now_ms, a->actor, "import.sessions", hi->path, hi->summary,
                          a->origin, NULL);
        if (rc < 0) {
            return admin_txn_fail(a, rc, "audit: %s", error_strerror(rc));
        }
    }
    return hi->dry_run ? ADMIN_DRY_RUN : 0;
}

static void held_print(const struct admin *a, struct table_errs *e)
{
    int more = e->total > e->n;

    table_errs_sort(e);
    for (size_t i = 0; i < e->n; i++) {
        fprintf(stderr, "%s\n", e->kept[i].msg);
    }
    if (more) {
        fprintf(stderr, "(stopped after %d errors)\n", ADMIN_MAX_ERRORS);
    }
    admin_errorf(a, "nothing imported: %zu error%s%s", e->n, e->n == 1 ? "" : "s",
                 more ? " or more" : "");
}

int admin_run_import_sessions(struct admin *a)
{
    struct held_import *hi = NULL;
    struct csv *c = NULL;
    int code = 1;
    int rc;

    hi = calloc(1, sizeof(*hi));
    if (hi == NULL) {
        admin_errorf(a, "out of memory");
        return 1;
    }
    hi->a = a;
    hi->path = a->pos[0];
    hi->dry_run = admin_opt_value(a, "dry-run") != NULL;
    if (table_errs_init(&hi->errs, a->pos[0], ADMIN_MAX_ERRORS) < 0) {
        admin_errorf(a, "out of memory");
        goto out;
    }
    if (admin_open_store(a, 0) < 0) {
        goto out;
    }
    rc = csv_open_file(hi->path, &c);
    if (rc < 0) {
        table_err(&hi->errs, 0, 0, "cannot read: %s", error_strerror(rc));
        rc = -EINVAL;
    } else {
        rc = sessions_csv_read(&hi->csv, c, &hi->errs);
    }
    if (rc == -ENOMEM) {
        admin_errorf(a, "out of memory");
        goto out;
    }
    if (rc < 0) {
        held_print(a, &hi->errs);
        goto out;
    }
    hi->static_errs = hi->errs.total;
    rc = store_exec(a->store, held_import_txn, hi);
    if (rc == 0 || rc == ADMIN_DRY_RUN) {
        printf("%s%s\n", rc == 0 ? "" : "dry run, nothing written: ", hi->summary);
        code = 0;
    } else if (hi->errs.total > 0) {
        held_print(a, &hi->errs);
    } else {
        admin_store_failure(a, rc);
    }
out:
    sessions_csv_clear(&hi->csv);
    table_errs_close(&hi->errs);
    csv_free(c);
    free(hi);
    return code;
}

/* ---- commitment ---------------------------------------------------------- */

struct commit_change {
    struct admin *a;
    const char *scope;
    struct cadence_commit c;
    int clear;
    int changed;
    char text[96];
};

/* The scope named by --org or --programme ID; prints the usage error. */
static int commit_scope(struct admin *a, const char **scope)
{
    const char *prog = admin_opt_value(a, "programme");
    int org = admin_opt_value(a, "org") != NULL;

    if (org == (prog != NULL)) {
        return admin_usage_error(a, "give exactly one of --org and --programme ID");
    }
    if (prog != NULL && validate_id(prog) < 0) {
        return admin_usage_error(a, "--programme: '%s' is not a valid id", prog);
    }
    *scope = org ? CADENCE_ORG : prog;
    return 0;
}

static int commit_change_txn(struct store_txn *t, void *arg)
{
    struct commit_change *cc = arg;
    struct admin *a = cc->a;
    Coachq__V1__Programme *p = NULL;
    char detail[160];
    int rc;

    a->err[0] = '\0';
    if (strcmp(cc->scope, CADENCE_ORG) != 0) {
        rc = people_programme_get(t, cc->scope, &p);
        if (rc == -ENOENT) {
            return admin_txn_fail(a, -ENOENT,
                                  "--programme: there is no programme '%s' (import programme "
                                  "first)",
                                  cc->scope);
        }
        if (rc < 0) {
            return admin_txn_fail(a, rc, "%s", error_strerror(rc));
        }
        coachq__v1__programme__free_unpacked(p, NULL);
    }
    if (cc->clear) {
        rc = cadence_commit_clear(t, cc->scope);
        if (rc == -ENOENT) {
            return admin_txn_fail(a, rc, "%s has no commitment",
                                  strcmp(cc->scope, CADENCE_ORG) == 0 ? "the organisation"
                                                                      : cc->scope);
        }
        cc->changed = rc == 0;
        snprintf(detail, sizeof(detail), "cleared");
    } else {
        rc = cadence_commit_set(t, cc->scope, &cc->c, &cc->changed);
        snprintf(detail, sizeof(detail), "%s", cadence_commit_text(&cc->c, cc->text, 96));
    }
    if (rc < 0) {
        return admin_txn_fail(a, rc, "%s", error_strerror(rc));
    }
    if (cc->changed) {
        rc = audit_append(t, a->now_ms, a->actor, cc->clear ? "commitment.clear" : "commitment.set",
                          cc->scope, detail, a->origin, NULL);
        if (rc < 0) {
            return admin_txn_fail(a, rc, "audit: %s", error_strerror(rc));
        }
    }
    return 0;
}

int admin_run_commitment_set(struct admin *a)
{
    struct commit_change cc;
    const char *mins = admin_opt_value(a, "minutes-per-week");
    const char *weeks = admin_opt_value(a, "every-weeks");
    long v;
    int rc;

    memset(&cc, 0, sizeof(cc));
    cc.a = a;
    rc = commit_scope(a, &cc.scope);
    if (rc != 0) {
        return rc;
    }
    if ((mins != NULL) == (weeks != NULL)) {
        return admin_usage_error(a, "give exactly one of --minutes-per-week N and --every-weeks N");
    }
    if (mins != NULL) {
        if (admin_parse_long(mins, 1, 10080, &v) != 0) {
            return admin_usage_error(a, "--minutes-per-week: '%s' is not a number from 1 to 10080",
                                     mins);
        }
        cc.c.kind = CADENCE_MINUTES_PER_WEEK;
    } else {
        if (admin_parse_long(weeks, 1, 52, &v) != 0) {
            return admin_usage_error(a, "--every-weeks: '%s' is not a number from 1 to 52", weeks);
        }
        cc.c.kind = CADENCE_EVERY_WEEKS;
    }
    cc.c.value = (uint32_t)v;
    cc.c.set_at_ms = a->now_ms;
    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_exec(a->store, commit_change_txn, &cc);
    if (rc != 0) {
        return admin_store_failure(a, rc);
    }
    printf("%s: %s%s\n", strcmp(cc.scope, CADENCE_ORG) == 0 ? "organisation" : cc.scope,
           cadence_commit_text(&cc.c, cc.text, sizeof(cc.text)), cc.changed ? "" : " (unchanged)");
    return 0;
}

int admin_run_commitment_clear(struct admin *a)
{
    struct commit_change cc;
    int rc;

    memset(&cc, 0, sizeof(cc));
    cc.a = a;
    cc.clear = 1;
    rc = commit_scope(a, &cc.scope);
    if (rc != 0) {
        return rc;
    }
    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_exec(a->store, commit_change_txn, &cc);
    if (rc != 0) {
        return admin_store_failure(a, rc);
    }
    printf("%s: commitment cleared\n",
           strcmp(cc.scope, CADENCE_ORG) == 0 ? "organisation" : cc.scope);
    return 0;
}

static int commit_print(const char *scope, const struct cadence_commit *c, void *arg)
{
    size_t *n = arg;
    char text[96], when[32];

    printf("%-24s %-40s set %s\n", strcmp(scope, CADENCE_ORG) == 0 ? "organisation" : scope,
           cadence_commit_text(c, text, sizeof(text)), admin_fmt_ms(c->set_at_ms, when, 32));
    (*n)++;
    return 0;
}

static int commit_list_txn(struct store_txn *t, void *arg)
{
    return cadence_commit_list(t, commit_print, arg);
}

int admin_run_commitment_list(struct admin *a)
{
    size_t n = 0;
    int rc;

    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_view(a->store, commit_list_txn, &n);
    if (rc != 0) {
        return admin_store_failure(a, rc);
    }
    if (n == 0) {
        printf("no commitment is set\n");
    }
    return 0;
}
