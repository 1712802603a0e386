/*
 * admin_rubrics: `coachqd init` and `coachqd rubric add|list|show`: the
 * built-in rubrics and rubric versions from their JSON files (admin_int.h).
 */
#include "admin_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "error.h"
#include "rubric_json.h"
#include "rubrics.h"
#include "store.h"
#include "validate.h"

/* ---- Rubrics: init, rubric add ------------------------------------------ */

enum rubric_status { RUBRIC_ADDED = 1, RUBRIC_UNCHANGED = 2 };

struct rubric_put {
    struct admin *a;
    Coachq__V1__Rubric **r; /* borrowed */
    size_t n;
    enum rubric_status *status;      /* out, n entries */
    size_t conflict;                 /* out: index refused with -EEXIST or -EILSEQ */
    uint32_t latest;                 /* out: latest stored version of that id */
    struct rubrics_conflict meaning; /* out: with -EILSEQ, the behaviour */
};

static int rubric_put_txn(struct store_txn *t, void *arg)
{
    struct rubric_put *rp = arg;
    struct admin *a = rp->a;
    char subject[96];
    size_t i;
    int rc, changed;

    a->err[0] = '\0';
    for (i = 0; i < rp->n; i++) {
        Coachq__V1__Rubric *r = rp->r[i];

        rc = rubrics_put(t, r, &changed);
        if (rc == -EILSEQ) {
            rp->conflict = i;
            if (rubrics_meaning_conflict(t, r, &rp->meaning) != 1) {
                return admin_txn_fail(a, rc, "rubric %s v%u: %s", r->id, r->version,
                                      error_strerror(rc));
            }
            return rc;
        }
        if (rc == -EEXIST) {
            Coachq__V1__Rubric *latest = NULL;

            rp->conflict = i;
            rp->latest = r->version;
            if (rubrics_get(t, r->id, 0, &latest) == 0) {
                rp->latest = latest->version;
                coachq__v1__rubric__free_unpacked(latest, NULL);
            }
            return rc;
        }
        if (rc < 0) {
            return admin_txn_fail(a, rc, "rubric %s v%u: %s", r->id, r->version,
                                  error_strerror(rc));
        }
        rp->status[i] = changed ? RUBRIC_ADDED : RUBRIC_UNCHANGED;
        if (changed) {
            snprintf(subject, sizeof(subject), "%s@%u", r->id, r->version);
            rc = audit_append(t, a->now_ms, a->actor, "rubric.add", subject, r->name, a->origin,
                              NULL);
            if (rc < 0) {
                return admin_txn_fail(a, rc, "audit: %s", error_strerror(rc));
            }
        }
    }
    return 0;
}

/* Stores rubrics in one transaction and prints one line each. what names
 * their source for a refusal (the file, or "built-in"). */
static int put_rubrics(struct admin *a, Coachq__V1__Rubric **r, size_t n, const char *what)
{
    enum rubric_status status[8];
    struct rubric_put rp;
    size_t i;
    int rc;

    if (n > sizeof(status) / sizeof(status[0])) {
        admin_errorf(a, "too many rubrics at once");
        return 1;
    }
    memset(&rp, 0, sizeof(rp));
    rp.a = a;
    rp.r = r;
    rp.n = n;
    rp.status = status;
    for (i = 0; i < n; i++) {
        r[i]->added_at_ms = a->now_ms;
    }
    rc = store_exec(a->store, rubric_put_txn, &rp);
    if (rc == -EEXIST) {
        const Coachq__V1__Rubric *c = r[rp.conflict];

        admin_errorf(
            a,
            "%s: rubric '%s' version %u is already stored with different content. A stored "
            "version never changes (old observations keep its meaning): bump \"version\" to "
            "%u and add it again. Nothing was changed.",
            what, c->id, c->version, rp.latest + 1);
        return 1;
    }
    if (rc == -EILSEQ && rp.meaning.coach_role) {
        const Coachq__V1__Rubric *c = r[rp.conflict];

        admin_errorf(a,
                     "%s: coach: version %u of rubric '%s' scores %s coaching; a new version "
                     "keeps who coaches (the rules and dashboards read it per rubric id): give "
                     "a rubric with another coach a new id. Nothing was changed.",
                     what, rp.meaning.version, c->id,
                     c->coach_role == COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER
                         ? "front-line managers'"
                         : "second-level managers'");
        return 1;
    }
    if (rc == -EILSEQ && rp.meaning.behaviour[0] != '\0') {
        const Coachq__V1__Rubric *c = r[rp.conflict];

        admin_errorf(
            a,
            "%s: behaviours[%zu].id: \"%s\" has %s in version %u of rubric '%s'. "
            "Dashboards average a behaviour's scores across versions by its id, so an id "
            "keeps its definition and anchors: give the changed behaviour a new id. Nothing "
            "was changed.",
            what, rp.meaning.index, rp.meaning.behaviour, rp.meaning.what, rp.meaning.version,
            c->id);
        return 1;
    }
    if (rc < 0) {
        return admin_store_failure(a, rc);
    }
    for (i = 0; i < n; i++) {
        printf("rubric %s v%u: %s\n", r[i]->id, r[i]->version,
               status[i] == RUBRIC_ADDED ? "added" : "unchanged");
    }
    return 0;
}

/* Loads every built-in rubric (init and demo). */
int admin_load_builtins(struct admin *a)
{
    Coachq__V1__Rubric *r[8] = {NULL};
    size_t n = rubric_json_builtin_count();
    char err[512];
    size_t i;
    int code = 1;

    if (n > sizeof(r) / sizeof(r[0])) {
        n = sizeof(r) / sizeof(r[0]);
    }
    for (i = 0; i < n; i++) {
        const char *name = NULL;
        const char *text = rubric_json_builtin(i, &name);

        if (text == NULL || rubric_json_parse(text, strlen(text), &r[i], err, sizeof(err)) < 0) {
            admin_errorf(a, "built-in rubric %s: %s", name ? name : "?", text ? err : "missing");
            goto out;
        }
    }
    code = put_rubrics(a, r, n, "built-in");
out:
    for (i = 0; i < n; i++) {
        if (r[i] != NULL) {
            coachq__v1__rubric__free_unpacked(r[i], NULL);
        }
    }
    return code;
}

int admin_run_init(struct admin *a)
{
    int code;

    if (admin_open_store(a, 1) < 0) {
        return 1;
    }
    printf("data directory: %s\n", a->data_dir);
    code = admin_load_builtins(a);
    if (code == 0) {
        printf("ready: start the server with '%s --data %s'\n", a->prog, a->data_dir);
    }
    return code;
}

int admin_run_rubric_add(struct admin *a)
{
    const char *path = a->pos[0];
    Coachq__V1__Rubric *r = NULL;
    char *text = NULL;
    char err[512];
    size_t len = 0;
    int code = 1;
    int rc;

    rc = admin_read_file(path, ADMIN_MAX_RUBRIC_FILE, &text, &len);
    if (rc < 0) {
        admin_errorf(a, "cannot read %s: %s", path, error_strerror(rc));
        goto out;
    }
    rc = rubric_json_parse(text, len, &r, err, sizeof(err));
    if (rc < 0) {
        admin_errorf(a, "%s: %s", path, err);
        goto out;
    }
    if (admin_open_store(a, 0) < 0) {
        goto out;
    }
    code = put_rubrics(a, &r, 1, path);
out:
    if (r != NULL) {
        coachq__v1__rubric__free_unpacked(r, NULL);
    }
    free(text);
    return code;
}

/* ---- rubric list, rubric show ------------------------------------------- */

static int rubric_list_cb(const Coachq__V1__Rubric *r, void *arg)
{
    char day[16];

    (void)arg;
    printf("%-28s %7u  %-40s %10zu  %s\n", r->id, r->version, r->name, r->n_behaviours,
           admin_fmt_day(r->effective_day, day, sizeof(day)));
    return 0;
}

static int rubric_list_txn(struct store_txn *t, void *arg)
{
    printf("%-28s %7s  %-40s %10s  %s\n", "ID", "VERSION", "NAME", "BEHAVIOURS", "EFFECTIVE");
    return rubrics_list(t, 0, rubric_list_cb, arg);
}

int admin_run_rubric_list(struct admin *a)
{
    int rc;

    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_view(a->store, rubric_list_txn, a);
    return rc < 0 ? admin_store_failure(a, rc) : 0;
}

struct rubric_get {
    char id[VALIDATE_MAX_ID + 1];
    uint32_t version;
    Coachq__V1__Rubric *r; /* out; caller owns */
};

static int rubric_get_txn(struct store_txn *t, void *arg)
{
    struct rubric_get *g = arg;

    return rubrics_get(t, g->id, g->version, &g->r);
}

static void print_rubric(const Coachq__V1__Rubric *r)
{
    char day[16], at[32];
    size_t i, k;

    printf("%s v%u: %s\n", r->id, r->version, r->name);
    if (r->description != NULL && r->description[0] != '\0') {
        printf("%s\n", r->description);
    }
    printf("effective from %s; added %s\n", admin_fmt_day(r->effective_day, day, sizeof(day)),
           admin_fmt_ms(r->added_at_ms, at, sizeof(at)));
    printf("evidence note required for scores:");
    for (i = 0; i < r->n_evidence_required; i++) {
        printf("%s %u", i ? "," : "", r->evidence_required[i]);
    }
    printf("%s\n%zu behaviours\n", r->n_evidence_required ? "" : " none", r->n_behaviours);
    for (i = 0; i < r->n_behaviours; i++) {
        const Coachq__V1__Behaviour *b = r->behaviours[i];

        printf("\n%zu. %s (%s)\n   %s\n   Indicators:\n", i + 1, b->name, b->id, b->definition);
        for (k = 0; k < b->n_indicators; k++) {
            printf("     - %s\n", b->indicators[k]);
        }
        printf("   Anchors:\n");
        for (k = 0; k < b->n_anchors; k++) {
            printf("     %zu: %s\n", k + 1, b->anchors[k]);
        }
        printf("   Not applicable: %s\n", b->allow_not_applicable ? "allowed" : "not allowed");
    }
}

int admin_run_rubric_show(struct admin *a)
{
    struct rubric_get g;
    const char *at = strchr(a->pos[0], '@');
    size_t idlen = at != NULL ? (size_t)(at - a->pos[0]) : strlen(a->pos[0]);
    long version = 0;
    int rc;

    memset(&g, 0, sizeof(g));
    if (idlen > VALIDATE_MAX_ID) {
        return admin_usage_error(a, "rubric id '%s' is longer than %d characters", a->pos[0],
                                 VALIDATE_MAX_ID);
    }
    memcpy(g.id, a->pos[0], idlen);
    if (admin_arg_id(a, "rubric", g.id) < 0) {
        return 2;
    }
    if (at != NULL && admin_parse_long(at + 1, 1, UINT32_MAX, &version) < 0) {
        return admin_usage_error(a, "'%s': the version after '@' must be a number from 1",
                                 a->pos[0]);
    }
    g.version = (uint32_t)version;
    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_view(a->store, rubric_get_txn, &g);
    if (rc == -ENOENT) {
        admin_errorf(a, "no rubric '%s'%s (see '%s rubric list')", a->pos[0],
                     at != NULL ? " at that version" : "", a->prog);
        return 1;
    }
    if (rc < 0) {
        return admin_store_failure(a, rc);
    }
    if (admin_opt_value(a, "json") != NULL) {
        char *json = rubric_json_dump(g.r);

        if (json == NULL) {
            coachq__v1__rubric__free_unpacked(g.r, NULL);
            admin_errorf(a, "out of memory");
            return 1;
        }
        printf("%s\n", json);
        free(json);
    } else {
        print_rubric(g.r);
    }
    coachq__v1__rubric__free_unpacked(g.r, NULL);
    return 0;
}
