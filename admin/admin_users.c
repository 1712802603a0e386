/*
 * admin_users: `coachqd user add|disable|enable|pin|show|list|password|link`:
 * people, their roles, reporting lines, pinned certificates and dashboard
 * sign-in (admin_int.h).
 */
#include "admin_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "agg.h"
#include "audit.h"
#include "cadence.h"
#include "certs.h"
#include "creds.h"
#include "error.h"
#include "people.h"
#include "store.h"
#include "validate.h"

/* ---- user add, disable, enable, pin --------------------------------------- */

static int pin_held(const Coachq__V1__Person *p, const uint8_t sha[32])
{
    size_t i;

    for (i = 0; i < p->n_cert_sha256; i++) {
        if (p->cert_sha256[i].len == 32 && memcmp(p->cert_sha256[i].data, sha, 32) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Checks a user add inside the transaction: no such person yet, and the
 * manager exists. Fills the new person. */
static int person_change_add(struct person_change *pc, struct store_txn *t, Coachq__V1__Person *p)
{
    Coachq__V1__Person *m = NULL;
    int rc;

    rc = people_get(t, pc->id, &m);
    if (rc == 0) {
        coachq__v1__person__free_unpacked(m, NULL);
        return admin_txn_fail(pc->a, -EEXIST,
                              "'%s' already exists (see '%s user show %s'; change people with '%s "
                              "import people')",
                              pc->id, pc->a->prog, pc->id, pc->a->prog);
    }
    if (rc != -ENOENT) {
        return rc;
    }
    if (pc->manager != NULL) {
        rc = people_get(t, pc->manager, &m);
        if (rc == -ENOENT) {
            return admin_txn_fail(pc->a, rc, "manager '%s' is not in the store", pc->manager);
        }
        if (rc < 0) {
            return rc;
        }
        coachq__v1__person__free_unpacked(m, NULL);
    }
    p->id = (char *)pc->id;
    p->name = (char *)pc->name;
    p->email = (char *)(pc->email != NULL ? pc->email : "");
    p->roles = pc->roles;
    p->n_roles = pc->nroles;
    return 0;
}

/* Applies one change to a person (add, disable or enable, a pin) with its
 * audit entry; a change that changes nothing writes nothing. */
int admin_person_change_txn(struct store_txn *t, void *arg)
{
    struct person_change *pc = arg;
    struct admin *a = pc->a;
    Coachq__V1__Person p = COACHQ__V1__PERSON__INIT;
    Coachq__V1__Person *old = NULL;
    ProtobufCBinaryData *pins = NULL;
    int rc;

    a->err[0] = '\0';
    pc->changed = 0;
    if (pc->add) {
        rc = person_change_add(pc, t, &p);
        if (rc < 0) {
            goto out;
        }
    } else {
        rc = people_get(t, pc->id, &old);
        if (rc == -ENOENT) {
            rc = admin_txn_fail(a, rc, "no user '%s' (see '%s user list')", pc->id, a->prog);
            goto out;
        }
        if (rc < 0) {
            goto out;
        }
        p = *old;
        if (pc->need_role && old->n_roles == 0) {
            rc =
                admin_txn_fail(a, -EPERM, "'%s' holds no role (a rep): reps have no login", pc->id);
            goto out;
        }
        if (pc->need_role && old->disabled) {
            rc = admin_txn_fail(a, -EPERM,
                                "'%s' is disabled; enable them first ('%s user enable %s')", pc->id,
                                a->prog, pc->id);
            goto out;
        }
        if (pc->set_disabled >= 0 && (int)old->disabled != pc->set_disabled) {
            p.disabled = pc->set_disabled;
            pc->changed = 1;
        }
    }
    if (pc->pin && (old == NULL || !pin_held(old, pc->sha))) {
        if (p.n_cert_sha256 >= ADMIN_MAX_PINS) {
            rc = admin_txn_fail(a, -ENOSPC, "'%s' has %d pinned certificates already", pc->id,
                                ADMIN_MAX_PINS);
            goto out;
        }
        rc = -ENOMEM;
        pins = calloc(p.n_cert_sha256 + 1, sizeof(*pins));
        if (pins == NULL) {
            goto out;
        }
        if (p.n_cert_sha256 > 0) {
            memcpy(pins, p.cert_sha256, p.n_cert_sha256 * sizeof(*pins));
        }
        pins[p.n_cert_sha256].data = pc->sha;
        pins[p.n_cert_sha256].len = 32;
        p.cert_sha256 = pins;
        p.n_cert_sha256++;
        pc->changed = 1;
    }
    rc = admin_zone_person(t, pc, &p);
    if (rc < 0) {
        goto out;
    }
    if (pc->add) {
        pc->changed = 1;
    }
    rc = pc->check_only ? ADMIN_DRY_RUN : 0;
    if (!pc->changed || pc->check_only) {
        goto out;
    }
    p.updated_at_ms = a->now_ms;
    rc = people_put(t, &p, NULL);
    if (rc < 0) {
        rc = admin_txn_fail(a, rc, "cannot store '%s': %s", pc->id, error_strerror(rc));
        goto out;
    }
    if (pc->add && pc->manager != NULL) {
        rc = people_line_put(t, pc->id, pc->manager, pc->effective, NULL);
        if (rc < 0) {
            rc = admin_txn_fail(a, rc, "reporting line: %s", error_strerror(rc));
            goto out;
        }
    }
    /* The person's sessions may fall on other days now. */
    if (pc->zone_changed) {
        rc = agg_rebuild_txn(t);
        if (rc == 0) {
            rc = cadence_rebuild_txn(t, NULL);
        }
        if (rc < 0) {
            goto out;
        }
    }
    rc = audit_append(t, a->now_ms, a->actor, pc->action, pc->id, pc->detail, a->origin, NULL);
    if (rc < 0) {
        rc = admin_txn_fail(a, rc, "audit: %s", error_strerror(rc));
    }
out:
    free(pins);
    if (old != NULL) {
        coachq__v1__person__free_unpacked(old, NULL);
    }
    return rc;
}

void admin_person_change_init(struct person_change *pc, struct admin *a, const char *action)
{
    memset(pc, 0, sizeof(*pc));
    pc->a = a;
    pc->id = a->pos[0];
    pc->action = action;
    pc->set_disabled = -1;
}

int admin_run_user_add(struct admin *a)
{
    struct person_change pc;
    const char *role = admin_opt_value(a, "role");
    char msg[200], roles[160], fp[100], day[16] = "";
    int32_t eff = 0;
    int rc;

    admin_person_change_init(&pc, a, "user.add");
    pc.add = 1;
    pc.name = admin_opt_value(a, "name");
    pc.email = admin_opt_value(a, "email");
    pc.manager = admin_opt_value(a, "manager");
    if (admin_arg_id(a, "user", pc.id) < 0) {
        return 2;
    }
    if (pc.name == NULL || pc.name[0] == '\0' || role == NULL) {
        return admin_usage_error(a, "--name and --role are required");
    }
    if (!admin_plain_text(pc.name, ADMIN_MAX_NAME) ||
        (pc.email != NULL &&
         (!admin_plain_text(pc.email, ADMIN_MAX_EMAIL) || !admin_email_like(pc.email)))) {
        return admin_usage_error(a,
                                 "--name or --email is too long, holds control characters, or the "
                                 "e-mail is not an address");
    }
    if (admin_parse_roles(role, pc.roles, &pc.nroles, msg, sizeof(msg)) < 0) {
        return admin_usage_error(a, "--role: %s", msg);
    }
    if ((pc.manager != NULL) != (admin_opt_value(a, "effective") != NULL)) {
        return admin_usage_error(a, "--manager and --effective go together");
    }
    if (pc.manager != NULL && admin_arg_id(a, "manager", pc.manager) < 0) {
        return 2;
    }
    if (pc.manager != NULL && strcmp(pc.manager, pc.id) == 0) {
        return admin_usage_error(a, "'%s' cannot be their own manager", pc.id);
    }
    if (admin_opt_date(a, "effective", 0, &eff) < 0) {
        return 2;
    }
    pc.effective = eff;
    pc.time_zone = admin_opt_value(a, "time-zone");
    if (pc.time_zone != NULL && admin_zone_arg(a, pc.time_zone) != 0) {
        return 2;
    }
    if (admin_opt_value(a, "cert") != NULL) {
        if (admin_pin_from_file(a, pc.id, admin_opt_value(a, "cert"), pc.sha) < 0) {
            return 1;
        }
        pc.pin = 1;
    }
    admin_fmt_roles(pc.roles, pc.nroles, roles, sizeof(roles));
    admin_hex_fingerprint(pc.sha, sizeof(pc.sha), fp, sizeof(fp));
    snprintf(pc.detail, sizeof(pc.detail), "name=%s; roles=%s%s%s%s%s%s%s%s%s", pc.name, roles,
             pc.manager ? "; manager=" : "", pc.manager ? pc.manager : "",
             pc.manager ? " from " : "", pc.manager ? admin_fmt_day(eff, day, sizeof(day)) : "",
             pc.pin ? "; pinned sha256=" : "", pc.pin ? fp : "", pc.time_zone ? "; time zone " : "",
             pc.time_zone ? pc.time_zone : "");
    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_exec(a->store, admin_person_change_txn, &pc);
    if (rc < 0) {
        return admin_store_failure(a, rc);
    }
    printf("user %s: added (%s; roles: %s)\n", pc.id, pc.name, roles);
    if (pc.manager != NULL) {
        printf("  reports to %s from %s\n", pc.manager, day);
    }
    if (pc.pin) {
        printf("  pinned certificate SHA-256 %s\n", fp);
    }
    return 0;
}

/* user disable / enable. */
static int set_disabled(struct admin *a, int disabled)
{
    struct person_change pc;
    int rc;

    admin_person_change_init(&pc, a, disabled ? "user.disable" : "user.enable");
    pc.set_disabled = disabled;
    snprintf(pc.detail, sizeof(pc.detail), "%s",
             disabled ? "certificate refused from the next connection" : "login allowed again");
    if (admin_arg_id(a, "user", pc.id) < 0) {
        return 2;
    }
    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_exec(a->store, admin_person_change_txn, &pc);
    if (rc < 0) {
        return admin_store_failure(a, rc);
    }
    if (!pc.changed) {
        printf("user %s: unchanged (already %s)\n", pc.id, disabled ? "disabled" : "enabled");
    } else if (disabled) {
        printf("user %s: disabled; the server refuses their certificate at their next "
               "connection\n",
               pc.id);
    } else {
        printf("user %s: enabled\n", pc.id);
    }
    return 0;
}

int admin_run_user_disable(struct admin *a)
{
    return set_disabled(a, 1);
}

int admin_run_user_enable(struct admin *a)
{
    return set_disabled(a, 0);
}

int admin_run_user_pin(struct admin *a)
{
    struct person_change pc;
    char fp[100];
    int rc;

    admin_person_change_init(&pc, a, "user.pin");
    if (admin_arg_id(a, "user", pc.id) < 0) {
        return 2;
    }
    if (admin_pin_from_file(a, pc.id, a->pos[1], pc.sha) < 0) {
        return 1;
    }
    pc.pin = 1;
    admin_hex_fingerprint(pc.sha, sizeof(pc.sha), fp, sizeof(fp));
    snprintf(pc.detail, sizeof(pc.detail), "sha256=%s", fp);
    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_exec(a->store, admin_person_change_txn, &pc);
    if (rc < 0) {
        return admin_store_failure(a, rc);
    }
    if (pc.changed) {
        printf("user %s: pinned certificate SHA-256 %s\n", pc.id, fp);
    } else {
        printf("user %s: unchanged (certificate SHA-256 %s is already pinned)\n", pc.id, fp);
    }
    return 0;
}

/* ---- user show, user list -------------------------------------------------- */

static void print_person_ref(struct store_txn *t, const char *id)
{
    Coachq__V1__Person *p = NULL;

    if (people_get(t, id, &p) == 0) {
        printf("%s (%s)", id, p->name);
        coachq__v1__person__free_unpacked(p, NULL);
    } else {
        printf("%s", id);
    }
}

static int show_line_cb(const Coachq__V1__ReportingLine *line, void *arg)
{
    struct admin_show *sh = arg;
    char day[16];

    printf("  from %s: ", admin_fmt_day(line->effective_day, day, sizeof(day)));
    if (line->manager_id[0] == '\0') {
        printf("reports to nobody\n");
    } else {
        printf("reports to ");
        print_person_ref(sh->t, line->manager_id);
        printf("\n");
    }
    sh->n++;
    return 0;
}

static int show_report_cb(const char *id, void *arg)
{
    struct admin_show *sh = arg;

    printf("  ");
    print_person_ref(sh->t, id);
    printf("\n");
    sh->n++;
    return 0;
}

void admin_print_cert(const Coachq__V1__Certification *c, int32_t today, int with_observer)
{
    char from[16], until[16];

    printf("  %s%s%s from %s until %s, granted by %s", with_observer ? c->observer_id : "",
           with_observer ? "  " : "", c->rubric_id,
           admin_fmt_day(c->valid_from_day, from, sizeof(from)),
           admin_fmt_day(c->valid_until_day, until, sizeof(until)), c->granted_by);
    if (c->n > 0 && c->kappa_undefined) {
        printf(" (exact %.2f, within one %.2f, kappa undefined: one category, n=%u)", c->exact,
               c->within_one, c->n);
    } else if (c->n > 0) {
        printf(" (exact %.2f, within one %.2f, kappa %.2f, n=%u)", c->exact, c->within_one,
               c->kappa, c->n);
    }
    printf(": %s\n", today < c->valid_from_day    ? "not yet valid"
                     : today > c->valid_until_day ? "expired"
                                                  : "valid today");
}

static int show_cert_cb(const Coachq__V1__Certification *c, void *arg)
{
    struct admin_show *sh = arg;

    admin_print_cert(c, sh->a->today, 0);
    sh->n++;
    return 0;
}

static int user_show_txn(struct store_txn *t, void *arg)
{
    struct admin_show *sh = arg;
    Coachq__V1__Person *p = NULL;
    char roles[160], fp[100], at[32];
    size_t i;
    int rc;

    sh->t = t;
    rc = people_get(t, sh->id, &p);
    if (rc < 0) {
        return rc;
    }
    printf("id:       %s\nname:     %s\nemail:    %s\nroles:    %s\nstatus:   %s\nupdated:  %s\n",
           p->id, p->name, p->email[0] ? p->email : "-",
           admin_fmt_roles(p->roles, p->n_roles, roles, sizeof(roles)),
           p->disabled ? "disabled" : "enabled", admin_fmt_ms(p->updated_at_ms, at, sizeof(at)));
    printf("zone:     %s\n", p->time_zone[0] ? p->time_zone : "the organisation's");
    printf("pinned certificates (SHA-256):%s\n", p->n_cert_sha256 ? "" : " none");
    for (i = 0; i < p->n_cert_sha256; i++) {
        admin_hex_fingerprint(p->cert_sha256[i].data, p->cert_sha256[i].len, fp, sizeof(fp));
        printf("  %s\n", fp);
    }
    coachq__v1__person__free_unpacked(p, NULL);
    printf("reporting line history:\n");
    sh->n = 0;
    rc = people_lines(t, sh->id, show_line_cb, sh);
    if (rc < 0 && rc != -ENOENT) {
        return rc;
    }
    if (sh->n == 0) {
        printf("  (none)\n");
    }
    printf("direct reports today:\n");
    sh->n = 0;
    rc = people_reports_at(t, sh->id, sh->a->today, show_report_cb, sh);
    if (rc < 0 && rc != -ENOENT) {
        return rc;
    }
    if (sh->n == 0) {
        printf("  (none)\n");
    }
    printf("certifications:\n");
    sh->n = 0;
    rc = certs_list(t, sh->id, show_cert_cb, sh);
    if (rc < 0 && rc != -ENOENT) {
        return rc;
    }
    if (sh->n == 0) {
        printf("  (none)\n");
    }
    return 0;
}

int admin_run_user_show(struct admin *a)
{
    struct admin_show sh;
    int rc;

    memset(&sh, 0, sizeof(sh));
    sh.a = a;
    sh.id = a->pos[0];
    if (admin_arg_id(a, "user", sh.id) < 0) {
        return 2;
    }
    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_view(a->store, user_show_txn, &sh);
    fflush(stdout);
    if (rc == -ENOENT) {
        admin_errorf(a, "no user '%s' (see '%s user list')", sh.id, a->prog);
        return 1;
    }
    return rc < 0 ? admin_store_failure(a, rc) : 0;
}

static int user_list_cb(const Coachq__V1__Person *p, void *arg)
{
    struct admin_show *sh = arg;
    char roles[160], mgr[VALIDATE_MAX_ID + 1];

    if (people_manager_at(sh->t, p->id, sh->a->today, mgr, sizeof(mgr)) < 0) {
        mgr[0] = '\0';
    }
    printf("%-24s %-28s %-9s %4zu  %-20s %s\n", p->id, p->name,
           p->disabled ? "disabled" : "enabled", p->n_cert_sha256, mgr[0] ? mgr : "-",
           admin_fmt_roles(p->roles, p->n_roles, roles, sizeof(roles)));
    sh->n++;
    return 0;
}

static int user_list_txn(struct store_txn *t, void *arg)
{
    struct admin_show *sh = arg;
    int rc;

    sh->t = t;
    printf("%-24s %-28s %-9s %4s  %-20s %s\n", "ID", "NAME", "STATUS", "PINS", "MANAGER", "ROLES");
    rc = people_list(t, user_list_cb, sh);
    if (rc >= 0) {
        printf("%zu people\n", sh->n);
    }
    return rc;
}

int admin_run_user_list(struct admin *a)
{
    struct admin_show sh;
    int rc;

    memset(&sh, 0, sizeof(sh));
    sh.a = a;
    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_view(a->store, user_list_txn, &sh);
    return rc < 0 ? admin_store_failure(a, rc) : 0;
}

/* ---- Dashboard sign-in (user password, user link) -------------------- */

#define ADMIN_MAX_PASSWORD 1024

struct dash_signin {
    struct admin *a;
    const char *id;
    char hash[200];                  /* user password */
    int64_t minutes;                 /* user link */
    char token[CREDS_TOKEN_LEN + 1]; /* user link: filled by the transaction */
};

/* Whether id may sign in to the dashboards: a person who holds a role and
 * is not disabled. Sets a->err and returns a negative code if not. */
static int dash_user_check(struct dash_signin *d, struct store_txn *t)
{
    struct admin *a = d->a;
    Coachq__V1__Person *p = NULL;
    int rc = people_get(t, d->id, &p);

    if (rc == -ENOENT) {
        return admin_txn_fail(a, rc, "no person '%s' (add them with '%s user add')", d->id,
                              a->prog);
    }
    if (rc < 0) {
        return rc;
    }
    if (!creds_holds_role(p)) {
        rc = admin_txn_fail(a, -EINVAL, "'%s' holds no role (a rep): reps do not sign in", d->id);
    } else if (p->disabled) {
        rc = admin_txn_fail(a, -EACCES,
                            "'%s' is disabled; enable them first with '%s user enable %s'", d->id,
                            a->prog, d->id);
    }
    coachq__v1__person__free_unpacked(p, NULL);
    return rc;
}

static int user_password_txn(struct store_txn *t, void *arg)
{
    struct dash_signin *d = arg;
    struct admin *a = d->a;
    int rc = dash_user_check(d, t);

    if (rc < 0) {
        return rc;
    }
    rc = creds_set_password_txn(t, d->id, d->hash);
    if (rc < 0) {
        return admin_txn_fail(a, rc, "cannot store the password: %s", error_strerror(rc));
    }
    return audit_append(t, a->now_ms, a->actor, "user.password", d->id, "dashboard password set",
                        a->origin, NULL);
}

/* Reads the first line of f into out (size outlen): without its line end,
 * at most ADMIN_MAX_PASSWORD bytes. Returns its length or a negative code
 * with the message printed. */
static int read_password_line(struct admin *a, FILE *f, const char *from, char *out, size_t outlen)
{
    size_t n;

    if (fgets(out, (int)outlen, f) == NULL) {
        admin_errorf(a, "no password on %s", from);
        return -EINVAL;
    }
    n = strlen(out);
    if (n > 0 && out[n - 1] == '\n') {
        out[--n] = '\0';
    } else if (!feof(f)) {
        admin_errorf(a, "the password on %s is longer than %d bytes", from, ADMIN_MAX_PASSWORD);
        return -EINVAL;
    }
    if (n > 0 && out[n - 1] == '\r') {
        out[--n] = '\0';
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f) {
            admin_errorf(a, "the password on %s holds a control character", from);
            return -EINVAL;
        }
    }
    return (int)n;
}

int admin_run_user_password(struct admin *a)
{
    struct dash_signin d;
    char pw[ADMIN_MAX_PASSWORD + 2];
    const char *file = admin_opt_value(a, "password-file");
    size_t chars = 0;
    int n, rc;

    memset(&d, 0, sizeof(d));
    d.a = a;
    d.id = a->pos[0];
    if (admin_arg_id(a, "user", d.id) < 0) {
        return 2;
    }
    if (file != NULL) {
        FILE *f = fopen(file, "r");
        if (f == NULL) {
            admin_errorf(a, "cannot open --password-file '%s': %s", file, strerror(errno));
            return 1;
        }
        n = read_password_line(a, f, file, pw, sizeof(pw));
        fclose(f);
    } else {
        if (isatty(STDIN_FILENO)) {
            fprintf(stderr, "Dashboard password for %s (shown as typed): ", d.id);
        }
        n = read_password_line(a, stdin, "standard input", pw, sizeof(pw));
    }
    if (n < 0) {
        return 1;
    }
    for (int i = 0; i < n; i++) {
        chars += ((unsigned char)pw[i] & 0xc0) != 0x80; /* UTF-8 characters */
    }
    if (chars < CREDS_MIN_PASSWORD) {
        OPENSSL_cleanse(pw, sizeof(pw));
        admin_errorf(a, "the password is too short: %zu characters, at least %d are needed", chars,
                     CREDS_MIN_PASSWORD);
        return 1;
    }
    rc = creds_hash_password(pw, d.hash, sizeof(d.hash));
    OPENSSL_cleanse(pw, sizeof(pw));
    if (rc < 0) {
        admin_errorf(a, "cannot hash the password: %s", error_strerror(rc));
        return 1;
    }
    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_exec(a->store, user_password_txn, &d);
    if (rc < 0) {
        return admin_store_failure(a, rc);
    }
    printf("user %s: dashboard password set\n", d.id);
    return 0;
}

static int user_link_txn(struct store_txn *t, void *arg)
{
    struct dash_signin *d = arg;
    struct admin *a = d->a;
    char detail[80];
    int rc = dash_user_check(d, t);

    if (rc < 0) {
        return rc;
    }
    rc = creds_link_create_txn(t, d->id, a->now_ms / 1000, d->minutes * 60, d->token);
    if (rc < 0) {
        return admin_txn_fail(a, rc, "cannot store the link: %s", error_strerror(rc));
    }
    snprintf(detail, sizeof(detail), "one-time sign-in link, valid %" PRId64 " minutes",
             d->minutes);
    return audit_append(t, a->now_ms, a->actor, "user.link", d->id, detail, a->origin, NULL);
}

int admin_run_user_link(struct admin *a)
{
    struct dash_signin d;
    const char *url = admin_opt_value(a, "url");
    const char *mins = admin_opt_value(a, "minutes");
    uint64_t m = CREDS_LINK_TTL_S / 60;
    size_t ulen;
    int rc;

    memset(&d, 0, sizeof(d));
    d.a = a;
    d.id = a->pos[0];
    if (admin_arg_id(a, "user", d.id) < 0) {
        return 2;
    }
    if (url == NULL) {
        url = "https://127.0.0.1:8443";
    }
    ulen = strlen(url);
    if (strncmp(url, "https://", 8) != 0 || ulen <= 8 || ulen > 300) {
        return admin_usage_error(a, "--url: '%s' is not an https:// address", url);
    }
    for (size_t i = 0; i < ulen; i++) {
        unsigned char ch = (unsigned char)url[i];
        if (ch <= 0x20 || ch >= 0x7f || strchr("?#\"<>\\", ch) != NULL) {
            return admin_usage_error(a,
                                     "--url: '%s' holds a space, a control character or one of "
                                     "? # \" < > \\",
                                     url);
        }
    }
    while (ulen > 8 && url[ulen - 1] == '/') {
        ulen--;
    }
    if (mins != NULL && (admin_parse_u64(mins, &m) < 0 || m < 1 || m > 1440)) {
        return admin_usage_error(a, "--minutes: '%s' is not a number from 1 to 1440", mins);
    }
    d.minutes = (int64_t)m;
    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_exec(a->store, user_link_txn, &d);
    if (rc < 0) {
        return admin_store_failure(a, rc);
    }
    printf("%.*s/signin/link?token=%s\n", (int)ulen, url, d.token);
    fprintf(stderr, "The link signs %s in once, within %" PRId64 " minutes.\n", d.id, d.minutes);
    OPENSSL_cleanse(d.token, sizeof(d.token));
    return 0;
}
