/*
 * admin_erase: the verbs of data protection (admin_int.h): `coachqd
 * retention` (the retention policy, store/retention.h) and `coachqd erase`
 * (a person's erasure, store/erase.h). Each makes its whole change in one
 * write transaction with its audit entry; --dry-run runs the very same
 * transaction and aborts it, so what it reports is what a real run does.
 *
 * Like every verb they open the store beside a running coachqd: LMDB lets
 * one process write at a time (its writer lock), so the server's writer
 * waits for the transaction and then goes on with the changed store. The
 * server reads a person at every handshake and every dashboard request, so
 * an erased person is refused from then on.
 */
#include "admin_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "day.h"
#include "erase.h"
#include "error.h"
#include "retention.h"
#include "store.h"
#include "uuid.h"

/* What erasure and retention leave to the operator, printed after both. */
static void print_afterwards(const struct admin *a)
{
    printf("note: LMDB keeps freed pages, so data.mdb may still hold the old bytes until it is "
           "compacted: take a compacted copy (mdb_copy -c %s DIR, or coachqd's backup) and use "
           "it in place of the data directory\n",
           a->data_dir);
    printf("note: backups taken before this still hold the data: expire them too\n");
}

/* ---- retention ----------------------------------------------------------- */

#define RET_MAX_QUARTERS 4096

struct ret_quarter {
    int64_t year;
    unsigned q;
    uint64_t observations;
    uint64_t versions;
};

/* An observation listed by --list. */
struct ret_item {
    uint8_t root[16];
    int32_t day;
    uint32_t versions;
};

struct ret_run {
    struct admin *a;
    struct ret_item *items; /* --list */
    size_t nitems;
    size_t capitems;
    struct retention_request req;
    int dry_run;
    int list;
    struct ret_quarter *qs;
    size_t nq;
    char policy[64];
};

static int ret_each(const uint8_t root[16], int32_t day, uint32_t versions, void *arg)
{
    struct ret_run *rr = arg;
    int64_t y;
    unsigned m, d, q;
    size_t i;

    day_to_civil(day, &y, &m, &d);
    q = (m - 1) / 3 + 1;
    for (i = 0; i < rr->nq; i++) {
        if (rr->qs[i].year == y && rr->qs[i].q == q) {
            break;
        }
    }
    if (i == rr->nq) {
        if (rr->nq == RET_MAX_QUARTERS) {
            return -E2BIG;
        }
        rr->qs[rr->nq].year = y;
        rr->qs[rr->nq].q = q;
        rr->qs[rr->nq].observations = 0;
        rr->qs[rr->nq].versions = 0;
        rr->nq++;
    }
    rr->qs[i].observations++;
    rr->qs[i].versions += versions;
    if (rr->list) {
        if (rr->nitems == rr->capitems) {
            size_t cap = rr->capitems ? rr->capitems * 2 : 64;
            struct ret_item *ni = realloc(rr->items, cap * sizeof(*ni));

            if (ni == NULL) {
                return -ENOMEM;
            }
            rr->items = ni;
            rr->capitems = cap;
        }
        memcpy(rr->items[rr->nitems].root, root, 16);
        rr->items[rr->nitems].day = day;
        rr->items[rr->nitems++].versions = versions;
    }
    return 0;
}

static int ret_txn(struct store_txn *t, void *arg)
{
    struct ret_run *rr = arg;
    int rc;

    /* The writer may run this twice (store.h): start afresh. */
    rr->nq = 0;
    rr->nitems = 0;
    rc = retention_txn(t, &rr->req);
    if (rc != 0) {
        return admin_txn_fail(rr->a, rc, "the retention run failed: %s", error_strerror(rc));
    }
    return rr->dry_run ? ADMIN_DRY_RUN : 0;
}

static int quarter_cmp(const void *x, const void *y)
{
    const struct ret_quarter *a = x;
    const struct ret_quarter *b = y;

    if (a->year != b->year) {
        return a->year < b->year ? -1 : 1;
    }
    return (int)a->q - (int)b->q;
}

/* Parses "24m" (months), "730d" (days) or "2y" (years) into the first day
 * that is kept: the same date N months (or years) before today (the
 * month's last day when it has no such date), or N days before. */
static int ret_cutoff(const char *s, int32_t today, int32_t *out)
{
    size_t len = strlen(s);
    char num[16];
    long n;
    int64_t y, mm;
    unsigned m, d, last;

    if (len < 2 || len > sizeof(num)) {
        return -EINVAL;
    }
    memcpy(num, s, len - 1);
    num[len - 1] = '\0';
    if (admin_parse_long(num, 1, 100000, &n) < 0) {
        return -EINVAL;
    }
    switch (s[len - 1]) {
    case 'd':
        *out = (int32_t)(today - n);
        return *out >= 0 ? 0 : -EINVAL;
    case 'y':
        if (n > 8000) {
            return -EINVAL;
        }
        n *= 12;
        break;
    case 'm':
        break;
    default:
        return -EINVAL;
    }
    day_to_civil(today, &y, &m, &d);
    mm = y * 12 + (m - 1) - n;
    if (mm < 1970 * 12) {
        return -EINVAL;
    }
    y = mm / 12;
    m = (unsigned)(mm % 12) + 1;
    last = (unsigned)(day_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) -
                      day_from_civil(y, m, 1));
    *out = (int32_t)day_from_civil(y, m, d < last ? d : last);
    return 0;
}

int admin_run_retention(struct admin *a)
{
    const char *older = admin_opt_value(a, "older-than");
    int del = admin_opt_value(a, "delete") != NULL;
    int anon = admin_opt_value(a, "anonymise") != NULL;
    struct ret_run *rr = NULL;
    char cut[16], asof[16];
    int32_t today;
    int code = 1;
    int rc;

    if (older == NULL) {
        return admin_usage_error(a, "--older-than is required (e.g. 24m, 2y or 730d)");
    }
    if (del == anon) {
        return admin_usage_error(a, "give one action: --delete or --anonymise");
    }
    if (admin_opt_date(a, "as-of", a->today, &today) < 0) {
        return 2;
    }
    if (today > a->today) {
        admin_errorf(a,
                     "warning: --as-of %s is after today: sessions younger than --older-than "
                     "are affected",
                     admin_opt_value(a, "as-of"));
    }
    rr = calloc(1, sizeof(*rr));
    if (rr == NULL || (rr->qs = calloc(RET_MAX_QUARTERS, sizeof(*rr->qs))) == NULL) {
        admin_errorf(a, "out of memory");
        goto out;
    }
    if (ret_cutoff(older, today, &rr->req.before_day) < 0) {
        code = admin_usage_error(a,
                                 "--older-than: '%s' is not a number of months, years or days "
                                 "(24m, 2y, 730d) reaching back no further than 1970",
                                 older);
        goto out;
    }
    rr->a = a;
    rr->dry_run = admin_opt_value(a, "dry-run") != NULL;
    rr->list = admin_opt_value(a, "list") != NULL;
    snprintf(rr->policy, sizeof(rr->policy), "older than %s on %s", older,
             admin_fmt_day(today, asof, sizeof(asof)));
    rr->req.anonymise = anon;
    rr->req.now_ms = a->now_ms;
    rr->req.actor = a->actor;
    rr->req.origin = a->origin;
    rr->req.policy = rr->policy;
    rr->req.each = ret_each;
    rr->req.each_arg = rr;
    if (admin_open_store(a, 0) < 0) {
        goto out;
    }
    printf("policy: observations whose session date is before %s (older than %s on %s)\n",
           admin_fmt_day(rr->req.before_day, cut, sizeof(cut)), older, asof);
    printf("action: %s%s\n", anon ? "anonymise" : "delete", rr->dry_run ? " (dry run)" : "");
    fflush(stdout);
    rc = store_exec(a->store, ret_txn, rr);
    if (rc < 0 && !(rr->dry_run && rc == ADMIN_DRY_RUN)) {
        code = admin_store_failure(a, rc);
        goto out;
    }
    if (rr->list) {
        printf("observations (id of the original, session date, versions):\n");
    }
    for (size_t i = 0; i < rr->nitems; i++) {
        char id[UUID_STR_LEN], date[16];

        printf("  %s  %s  %" PRIu32 " version%s\n", uuid_format(rr->items[i].root, id),
               admin_fmt_day(rr->items[i].day, date, sizeof(date)), rr->items[i].versions,
               rr->items[i].versions == 1 ? "" : "s");
    }
    qsort(rr->qs, rr->nq, sizeof(*rr->qs), quarter_cmp);
    for (size_t i = 0; i < rr->nq; i++) {
        printf("  %" PRId64 "-Q%u  %" PRIu64 " observation%s, %" PRIu64 " version%s\n",
               rr->qs[i].year, rr->qs[i].q, rr->qs[i].observations,
               rr->qs[i].observations == 1 ? "" : "s", rr->qs[i].versions,
               rr->qs[i].versions == 1 ? "" : "s");
    }
    printf("total: %" PRIu64 " observation%s, %" PRIu64 " version%s", rr->req.observations,
           rr->req.observations == 1 ? "" : "s", rr->req.versions,
           rr->req.versions == 1 ? "" : "s");
    if (anon) {
        printf("; %" PRIu64 " already anonymised", rr->req.skipped);
    } else {
        printf("; %" PRIu64 " audit entr%s keep%s who did what without the record", rr->req.audit,
               rr->req.audit == 1 ? "y" : "ies", rr->req.audit == 1 ? "s" : "");
    }
    printf("\n");
    printf("programme: %" PRIu64 " assignment%s and %" PRIu64 " draw%s before the cut-off, %" PRIu64
           " later assignment%s unlinked\n",
           rr->req.assignments, rr->req.assignments == 1 ? "" : "s", rr->req.draws,
           rr->req.draws == 1 ? "" : "s", rr->req.unlinked, rr->req.unlinked == 1 ? "" : "s");
    if (rr->dry_run) {
        printf("dry run: nothing was changed\n");
    } else {
        printf("%s; the dashboards' aggregates were rebuilt; audit entry written\n",
               anon ? "anonymised" : "deleted");
        if (rr->req.observations > 0) {
            print_afterwards(a);
        }
    }
    code = 0;
out:
    if (rr != NULL) {
        free(rr->qs);
        free(rr->items);
    }
    free(rr);
    return code;
}

/* ---- erase ----------------------------------------------------------------- */

struct erase_run {
    struct admin *a;
    struct erase_request req;
    int dry_run;
};

static int erase_txn(struct store_txn *t, void *arg)
{
    struct erase_run *er = arg;
    int rc;

    rc = erase_person_txn(t, &er->req);
    if (rc == -EALREADY) {
        return rc;
    }
    if (rc == -ENOENT) {
        return admin_txn_fail(er->a, rc,
                              "no person '%s' (never added, or already erased: an erased person's "
                              "id is not kept; `%s user list` shows the pseudonyms)",
                              er->req.id, er->a->prog);
    }
    if (rc != 0) {
        return admin_txn_fail(er->a, rc, "the erasure failed: %s", error_strerror(rc));
    }
    return er->dry_run ? ADMIN_DRY_RUN : 0;
}

int admin_run_erase(struct admin *a)
{
    struct erase_run er;
    const struct erase_counts *c = &er.req.counts;
    int rc;

    memset(&er, 0, sizeof(er));
    if (admin_arg_id(a, "PERSON", a->pos[0]) < 0) {
        return 2;
    }
    er.a = a;
    er.req.id = a->pos[0];
    er.req.now_ms = a->now_ms;
    er.req.actor = a->actor;
    er.req.origin = a->origin;
    er.dry_run = admin_opt_value(a, "dry-run") != NULL;
    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_exec(a->store, erase_txn, &er);
    if (rc == -EALREADY) {
        printf("'%s' is an erased person's pseudonym: nothing to do\n", a->pos[0]);
        return 0;
    }
    if (rc < 0 && !(er.dry_run && rc == ADMIN_DRY_RUN)) {
        return admin_store_failure(a, rc);
    }
    printf("%s '%s': %s (\"%s\", disabled, no certificate pinned, no e-mail)\n",
           er.dry_run ? "would erase" : "erased", a->pos[0],
           er.dry_run ? "would become a pseudonym" : er.req.pseudonym, ERASE_NAME);
    printf("  observation versions rewritten: %" PRIu64 " (every free text removed from %" PRIu64
           " where the person was the coach or the coachee)\n",
           c->records, c->stripped);
    printf("  free-text fields redacted or removed: %" PRIu64 "\n", c->texts);
    printf("  keys moved to the pseudonym: %" PRIu64 "; other values rewritten: %" PRIu64 "\n",
           c->keys, c->values);
    printf("  audit entries rewritten: %" PRIu64 "; passwords and sign-in links deleted: %" PRIu64
           "\n",
           c->audit, c->creds);
    if (er.dry_run) {
        printf("dry run: nothing was changed\n");
        return 0;
    }
    printf("the dashboards' aggregates were rebuilt; audit entry person.erase written\n");
    printf("note: a running coachqd refuses the person from their next connection; a protocol "
           "connection open now ends when it closes (restart the server to cut it at once)\n");
    printf("note: a people import that still lists '%s' would add the person again: take them out "
           "of the HR export too\n",
           a->pos[0]);
    print_afterwards(a);
    return 0;
}
