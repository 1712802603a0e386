/*
 * admin_certs: `coachqd cert issue|grant|list`: client certificates made
 * with the deployment CA, and observers' certifications for a rubric
 * (admin_int.h).
 */
#include "admin_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "certissue.h"
#include "certs.h"
#include "error.h"
#include "people.h"
#include "rubrics.h"
#include "store.h"

/* ---- cert issue, grant, list ---------------------------------------------- */

int admin_run_cert_issue(struct admin *a)
{
    const char *ca_cert =
        admin_opt_value(a, "ca-cert") != NULL ? admin_opt_value(a, "ca-cert") : "dev-certs/ca.crt";
    const char *ca_key =
        admin_opt_value(a, "ca-key") != NULL ? admin_opt_value(a, "ca-key") : "dev-certs/ca.key";
    const char *out = admin_opt_value(a, "out") != NULL ? admin_opt_value(a, "out") : ".";
    struct person_change pc;
    char err[512], fp[100], crt[1100], key[1100];
    long days;
    int rc;

    admin_person_change_init(&pc, a, "cert.issue");
    pc.pin = 1;
    pc.need_role = 1;
    if (admin_arg_id(a, "user", pc.id) < 0 ||
        admin_opt_long(a, "days", 1, ADMIN_MAX_CERT_DAYS, ADMIN_DEFAULT_DAYS, &days) < 0) {
        return 2;
    }
    snprintf(crt, sizeof(crt), "%s/%s.crt", out, pc.id);
    snprintf(key, sizeof(key), "%s/%s.key", out, pc.id);
    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    /* The user's checks run before any file is made, and again in the
     * transaction that pins the certificate. */
    pc.check_only = 1;
    rc = store_exec(a->store, admin_person_change_txn, &pc);
    if (rc != ADMIN_DRY_RUN) {
        return admin_store_failure(a, rc);
    }
    rc = admin_mkdir_p(out, 0700);
    if (rc < 0) {
        admin_errorf(a, "cannot create '%s': %s", out, error_strerror(rc));
        return 1;
    }
    err[0] = '\0';
    rc = certissue_user(ca_cert, ca_key, pc.id, (int)days, out, pc.sha, err, sizeof(err));
    if (rc < 0) {
        admin_errorf(a, "%s", err[0] ? err : error_strerror(rc));
        return 1;
    }
    admin_hex_fingerprint(pc.sha, sizeof(pc.sha), fp, sizeof(fp));
    snprintf(pc.detail, sizeof(pc.detail), "sha256=%s; days=%ld; ca=%s; out=%s", fp, days, ca_cert,
             out);
    pc.check_only = 0;
    rc = store_exec(a->store, admin_person_change_txn, &pc);
    if (rc < 0) {
        /* Nothing was pinned, so the files would only mislead. */
        unlink(crt);
        unlink(key);
        admin_store_failure(a, rc);
        admin_errorf(a, "removed %s and %s again", crt, key);
        return 1;
    }
    printf("user %s: certificate issued for %ld days and pinned (SHA-256 %s)\n", pc.id, days, fp);
    printf("  wrote %s\n  wrote %s (mode 0600: keep it private)\n", crt, key);
    printf("use it with the client:\n  coachq --cert %s --key %s --ca %s whoami\n", crt, key,
           ca_cert);
    return 0;
}

struct grant {
    struct admin *a;
    const char *observer;
    const char *rubric;
    int32_t from, until;
    int found;   /* the same grant is stored already */
    int changed; /* out */
};

static int same_grant_cb(const Coachq__V1__Certification *c, void *arg)
{
    struct grant *g = arg;

    if (strcmp(c->rubric_id, g->rubric) == 0 && c->valid_from_day == g->from &&
        c->valid_until_day == g->until && strcmp(c->granted_by, g->a->actor) == 0) {
        g->found = 1;
        return 1;
    }
    return 0;
}

static int cert_grant_txn(struct store_txn *t, void *arg)
{
    struct grant *g = arg;
    struct admin *a = g->a;
    Coachq__V1__Certification c = COACHQ__V1__CERTIFICATION__INIT;
    Coachq__V1__Person *p = NULL;
    Coachq__V1__Rubric *r = NULL;
    char detail[128], subject[160], from[16], until[16];
    int rc, holds;

    a->err[0] = '\0';
    g->changed = 0;
    g->found = 0;
    rc = people_get(t, g->observer, &p);
    if (rc == -ENOENT) {
        return admin_txn_fail(a, rc, "no user '%s'", g->observer);
    }
    if (rc < 0) {
        return rc;
    }
    holds = people_has_role(p, COACHQ__V1__ROLE__ROLE_OBSERVER) > 0;
    coachq__v1__person__free_unpacked(p, NULL);
    if (!holds) {
        return admin_txn_fail(a, -EPERM, "'%s' does not hold the observer role", g->observer);
    }
    rc = rubrics_get(t, g->rubric, 0, &r);
    if (rc == -ENOENT) {
        return admin_txn_fail(a, rc, "no rubric '%s' (see '%s rubric list')", g->rubric, a->prog);
    }
    if (rc < 0) {
        return rc;
    }
    coachq__v1__rubric__free_unpacked(r, NULL);
    rc = certs_list(t, g->observer, same_grant_cb, g);
    if (rc < 0 && rc != -ENOENT) {
        return rc;
    }
    if (g->found) {
        return 0;
    }
    c.observer_id = (char *)g->observer;
    c.rubric_id = (char *)g->rubric;
    c.valid_from_day = g->from;
    c.valid_until_day = g->until;
    c.granted_by = a->actor;
    c.granted_at_ms = a->now_ms;
    rc = certs_put(t, &c);
    if (rc < 0) {
        return admin_txn_fail(a, rc, "cannot store the certification: %s", error_strerror(rc));
    }
    snprintf(subject, sizeof(subject), "%s/%s", g->observer, g->rubric);
    snprintf(detail, sizeof(detail), "from %s until %s", admin_fmt_day(g->from, from, sizeof(from)),
             admin_fmt_day(g->until, until, sizeof(until)));
    rc = audit_append(t, a->now_ms, a->actor, "cert.grant", subject, detail, a->origin, NULL);
    if (rc < 0) {
        return admin_txn_fail(a, rc, "audit: %s", error_strerror(rc));
    }
    g->changed = 1;
    return 0;
}

int admin_run_cert_grant(struct admin *a)
{
    struct grant g;
    char from[16], until[16];
    int32_t utc_today = a->today;
    long days;
    int rc;

    memset(&g, 0, sizeof(g));
    g.a = a;
    g.observer = a->pos[0];
    g.rubric = a->pos[1];
    if (admin_arg_id(a, "observer", g.observer) < 0 || admin_arg_id(a, "rubric", g.rubric) < 0 ||
        admin_opt_date(a, "from", a->today, &g.from) < 0 ||
        admin_opt_long(a, "days", 1, ADMIN_MAX_CERT_DAYS, ADMIN_DEFAULT_DAYS, &days) < 0) {
        return 2;
    }
    if (admin_opt_value(a, "until") != NULL && admin_opt_value(a, "days") != NULL) {
        return admin_usage_error(a, "give --until or --days, not both");
    }
    /* Both days are inclusive: N days from D end on D + N - 1. */
    g.until = g.from + (int32_t)days - 1;
    if (admin_opt_date(a, "until", g.until, &g.until) < 0) {
        return 2;
    }
    if (g.until < g.from) {
        return admin_usage_error(a, "--until is before --from");
    }
    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    /* The default first day is today in the organisation's zone, known
     * once the store is open. */
    if (admin_opt_value(a, "from") == NULL) {
        g.from += a->today - utc_today;
        g.until += admin_opt_value(a, "until") == NULL ? a->today - utc_today : 0;
        if (g.until < g.from) {
            return admin_usage_error(a, "--until is before today");
        }
    }
    rc = store_exec(a->store, cert_grant_txn, &g);
    if (rc < 0) {
        return admin_store_failure(a, rc);
    }
    printf("certification %s for %s from %s until %s: %s\n", g.observer, g.rubric,
           admin_fmt_day(g.from, from, sizeof(from)), admin_fmt_day(g.until, until, sizeof(until)),
           g.changed ? "granted" : "unchanged (already granted)");
    return 0;
}

static int cert_list_cb(const Coachq__V1__Certification *c, void *arg)
{
    struct admin_show *sh = arg;

    admin_print_cert(c, sh->a->today, 1);
    sh->n++;
    return 0;
}

static int result_list_cb(const Coachq__V1__CalibrationResult *r, void *arg)
{
    struct admin_show *sh = arg;
    char at[32];
    char kappa[32];

    if (r->kappa_undefined) {
        snprintf(kappa, sizeof(kappa), "undefined");
    } else {
        snprintf(kappa, sizeof(kappa), "%.2f", r->kappa);
    }
    printf("  %s  %s  %s: %s, %u sessions, n=%u, exact %.2f, within one %.2f, kappa %s%s%s\n",
           r->observer_id, r->rubric_id, admin_fmt_ms(r->at_ms, at, sizeof(at)),
           r->passed ? "passed" : "not passed", r->sessions, r->n, r->exact, r->within_one, kappa,
           r->reason[0] ? ": " : "", r->reason);
    sh->n++;
    return 0;
}

static int cert_list_txn(struct store_txn *t, void *arg)
{
    struct admin_show *sh = arg;
    Coachq__V1__Person *p = NULL;
    int rc;

    if (sh->id != NULL) {
        rc = people_get(t, sh->id, &p);
        if (rc < 0) {
            return rc;
        }
        coachq__v1__person__free_unpacked(p, NULL);
    }
    printf("certifications:\n");
    sh->n = 0;
    rc = certs_list(t, sh->id, cert_list_cb, sh);
    if (rc < 0 && rc != -ENOENT) {
        return rc;
    }
    if (sh->n == 0) {
        printf("  (none)\n");
    }
    printf("calibration results:\n");
    sh->n = 0;
    rc = certs_results(t, sh->id, result_list_cb, sh);
    if (rc < 0 && rc != -ENOENT) {
        return rc;
    }
    if (sh->n == 0) {
        printf("  (none)\n");
    }
    return 0;
}

int admin_run_cert_list(struct admin *a)
{
    struct admin_show sh;
    int rc;

    memset(&sh, 0, sizeof(sh));
    sh.a = a;
    sh.id = a->npos > 0 ? a->pos[0] : NULL;
    if (sh.id != NULL && admin_arg_id(a, "observer", sh.id) < 0) {
        return 2;
    }
    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_view(a->store, cert_list_txn, &sh);
    fflush(stdout);
    if (rc == -ENOENT && sh.id != NULL) {
        admin_errorf(a, "no user '%s'", sh.id);
        return 1;
    }
    return rc < 0 ? admin_store_failure(a, rc) : 0;
}
