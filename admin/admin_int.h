/*
 * admin_int: what the files of coachqd's administration verbs share (the
 * verbs themselves are admin.h's; admin.c says how they are organised).
 *
 * struct admin is one run of one command: admin_run() in admin.c makes it
 * (on the heap), the command's run function gets it borrowed for the call,
 * and the store it opens is closed by admin_main(). Every function here is
 * called on the thread that runs the command; a store_exec() callback runs
 * on the store's writer thread while that thread waits, so the callbacks
 * may use struct admin too. Functions that report print to stderr
 * ("coachqd <command>: message") and return an exit code (1 failed, 2
 * usage error) or a negative errno, as each says.
 */
#ifndef COACHQ_ADMIN_INT_H
#define COACHQ_ADMIN_INT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "coachq.pb-c.h"

struct csv;
struct store;
struct store_txn;
struct table;
struct table_errs;

#define ADMIN_MAX_OPTS 8
#define ADMIN_MAX_POS 3
#define ADMIN_MAX_ERRORS 20
#define ADMIN_MAX_ROWS 1000000
#define ADMIN_MAX_NAME 200
#define ADMIN_MAX_EMAIL 254
#define ADMIN_MAX_MODULE 200
#define ADMIN_MAX_PINS 32
#define ADMIN_MAX_RUBRIC_FILE ((size_t)4 << 20)
#define ADMIN_MAX_CERT_DAYS 3650
#define ADMIN_NROLES 5
#define ADMIN_DEFAULT_DAYS 365

/* A dry run's callback aborts its transaction with this after counting. */
#define ADMIN_DRY_RUN (-ECANCELED)

/* ---- Commands and their options ------------------------------------- */

struct admin_opt {
    const char *name; /* without the leading "--" */
    const char *arg;  /* the value's placeholder in the help; NULL: a flag */
    const char *help;
};

struct admin;

struct admin_cmd {
    const char *verb;
    const char *sub;  /* NULL: the verb takes no subcommand */
    const char *args; /* positional arguments, for the help */
    size_t min_pos;
    size_t max_pos;
    const struct admin_opt *opts; /* ends with a NULL name; --data, --help implied */
    const char *help;
    int (*run)(struct admin *a);
};

/* One run of a command. */
struct admin {
    const char *prog;            /* argv[0]; borrowed */
    const struct admin_cmd *cmd; /* the command being run */
    const char *pos[ADMIN_MAX_POS];
    size_t npos;
    const char *val[ADMIN_MAX_OPTS]; /* by index in cmd->opts; NULL: not given */
    const char *data_dir;            /* borrowed from argv or static */
    char name[48];                   /* "rubric add" */
    char origin[64];                 /* "coachqd rubric add", for the audit log */
    char actor[96];                  /* "local:<unix user>" */
    int64_t now_ms;
    int32_t today;
    struct store *store; /* owned; closed by admin_main() */
    char err[1024];      /* why a transaction failed, set by its callback */
};

/* What a show or list command's store callbacks share: the command, its
 * read transaction (borrowed for the callback) and how many were printed. */
struct admin_show {
    struct admin *a;
    struct store_txn *t;
    const char *id;
    size_t n;
};

/* A change to one person, run by admin_person_change_txn(). */
struct person_change {
    struct admin *a;
    const char *id;
    const char *action; /* audit action, e.g. "user.disable" */
    /* user add */
    int add;
    const char *name, *email;
    Coachq__V1__Role roles[ADMIN_NROLES];
    size_t nroles;
    const char *manager; /* NULL: none */
    int32_t effective;
    /* user disable / enable */
    int set_disabled; /* -1: leave; 0 / 1: the new state */
    /* a pin, for user add --cert, user pin, cert issue */
    int pin;
    uint8_t sha[32];
    int need_role;  /* cert issue: the person must hold a role */
    int check_only; /* run the checks, then abort with ADMIN_DRY_RUN */
    /* user zone, user add --time-zone: NULL leaves it, "" the organisation's */
    const char *time_zone;
    /* Out. */
    int changed;
    int zone_changed; /* the aggregates are rebuilt in the same transaction */
    char detail[512];
};

/* ---- Shared helpers (admin.c) ------------------------------------------ */

/* Prints "coachqd <command>: message" to stderr. */
void admin_errorf(const struct admin *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints a usage error with a pointer to the help; returns exit code 2. */
int admin_usage_error(const struct admin *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Records why a transaction callback failed (printed after store_exec()
 * returned) and returns rc, so that a callback can `return admin_txn_fail(...)`. */
int admin_txn_fail(struct admin *a, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reports a failed store_exec()/store_view(): the callback's message, or
 * the code's description. Returns exit code 1. */
int admin_store_failure(const struct admin *a, int rc);

/* Parses a whole YYYY-MM-DD date, 1970-01-01 to 9999-12-31, into a day
 * number. */
int admin_parse_date(const char *s, int32_t *day);

/* Parses YYYY-MM-DD (midnight UTC) or YYYY-MM-DDTHH:MM:SSZ into ms. */
int admin_parse_time_ms(const char *s, int64_t *ms);

/* Formats a day number as YYYY-MM-DD into buf (at least 16 bytes). */
const char *admin_fmt_day(int32_t day, char *buf, size_t len);

/* Formats ms since the epoch as YYYY-MM-DDTHH:MM:SS.mmmZ (buf >= 32 bytes). */
const char *admin_fmt_ms(int64_t ms, char *buf, size_t len);

/* Parses a whole decimal number in [min, max]. */
int admin_parse_long(const char *s, long min, long max, long *out);

/* Parses a whole unsigned 64-bit decimal number. */
int admin_parse_u64(const char *s, uint64_t *out);

/* mkdir -p: makes path and its missing parents with mode. */
int admin_mkdir_p(const char *path, mode_t mode);

/* Reads a whole file of at most max bytes. *out (caller owns, free()) is
 * NUL-terminated; *len excludes the NUL. */
int admin_read_file(const char *path, size_t max, char **out, size_t *len);

/* Opens the store in a->data_dir, creating the directory first if create.
 * Prints why it failed. */
int admin_open_store(struct admin *a, int create);

/* Writes n bytes as "AB:CD:..." into out (outlen bytes, NUL-terminated). */
void admin_hex_fingerprint(const uint8_t *p, size_t n, char *out, size_t outlen);

/* Reads the SHA-256 of a certificate to pin to user. Warns when its CN
 * does not name the user: the server looks users up by CN, so such a pin
 * never lets anybody in, and once a user has pins, certificates without
 * one are refused (an administrator may want exactly that, to lock a user
 * out of an old certificate). Prints why it failed. */
int admin_pin_from_file(const struct admin *a, const char *user, const char *path, uint8_t sha[32]);

/* True if s is at most max bytes without control characters. */
int admin_plain_text(const char *s, size_t max);

/* A plausible e-mail address: one '@' with text on both sides, no blanks. */
int admin_email_like(const char *s);

/*
 * Parses roles separated by ',' or ';' ("rep" or nothing: no roles) into
 * out (ADMIN_NROLES entries), sorted and without repeats. On -EINVAL msg
 * (msglen bytes) says what is wrong.
 */
int admin_parse_roles(const char *s, Coachq__V1__Role *out, size_t *n, char *msg, size_t msglen);

/* Writes roles as "observer, administrator" ("rep (no roles)" for none)
 * into buf (len bytes); returns buf. */
const char *admin_fmt_roles(const Coachq__V1__Role *roles, size_t n, char *buf, size_t len);

/* True if person a holds exactly roles (in any order). */
int admin_same_roles(const Coachq__V1__Person *a, const Coachq__V1__Role *roles, size_t n);

/* ---- Command line (admin_args.c) --------------------------------------- */

/* The value of option name (NULL when not given). name must be one of the
 * command's options. */
const char *admin_opt_value(const struct admin *a, const char *name);

/* Reads option name as a date; def when absent. Prints the usage error. */
int admin_opt_date(const struct admin *a, const char *name, int32_t def, int32_t *out);

/* Reads option name as a number in [min, max]; def when absent. */
int admin_opt_long(const struct admin *a, const char *name, long min, long max, long def,
                   long *out);

/* Checks a person or rubric id given on the command line. */
int admin_arg_id(const struct admin *a, const char *what, const char *s);

/* Finds the command named by argv[1] (and argv[2] for verbs with
 * subcommands). Returns 0 with *cmd and *first (index of the first
 * argument after the command's words) set, or an exit code (0 after a
 * verb's --help, 2 for a usage error) with *cmd NULL. */
int admin_find_cmd(int argc, char **argv, const struct admin_cmd **cmd, int *first);

/* Reads the options and positional arguments after the command's words.
 * Returns 0, 1 after printing --help, or 2 after a usage error. */
int admin_parse_args(struct admin *a, int argc, char **argv, int first);

/* ---- Rubrics (admin_rubrics.c) ----------------------------------------- */

/* Loads every built-in rubric (init and demo). */
int admin_load_builtins(struct admin *a);

/*
 * The admin_run_* functions below are the commands' run functions, one per
 * row of the command table (admin_args.c): each gets the parsed command
 * (borrowed), prints what it did or why it failed, and returns the exit
 * code: 0 done, 1 failed (nothing changed), 2 usage error.
 */
int admin_run_init(struct admin *a);

int admin_run_rubric_add(struct admin *a);

int admin_run_rubric_list(struct admin *a);

int admin_run_rubric_show(struct admin *a);

/* ---- Imports (admin_import.c) ------------------------------------------ */

int admin_run_import_people(struct admin *a);

int admin_run_import_programme(struct admin *a);

int admin_run_import_outcomes(struct admin *a);

/* ---- Sessions held and commitments (admin_cadence.c) ------------------- */

int admin_run_import_sessions(struct admin *a);

int admin_run_commitment_set(struct admin *a);

int admin_run_commitment_clear(struct admin *a);

int admin_run_commitment_list(struct admin *a);

/* ---- The observation programme (admin_assign.c) -------------------------- */

int admin_run_plan_set(struct admin *a);

int admin_run_plan_show(struct admin *a);

int admin_run_plan_list(struct admin *a);

int admin_run_assign(struct admin *a);

int admin_run_assignment_list(struct admin *a);

int admin_run_assignment_reassign(struct admin *a);

/* ---- Users (admin_users.c) --------------------------------------------- */

/* Applies one change to a person (add, disable or enable, a pin) with its
 * audit entry; a change that changes nothing writes nothing. */
int admin_person_change_txn(struct store_txn *t, void *arg);

void admin_person_change_init(struct person_change *pc, struct admin *a, const char *action);

int admin_run_user_add(struct admin *a);

int admin_run_user_disable(struct admin *a);

int admin_run_user_enable(struct admin *a);

int admin_run_user_pin(struct admin *a);

void admin_print_cert(const Coachq__V1__Certification *c, int32_t today, int with_observer);

int admin_run_user_show(struct admin *a);

int admin_run_user_list(struct admin *a);

int admin_run_user_password(struct admin *a);

int admin_run_user_link(struct admin *a);

/* ---- Certificates (admin_certs.c) -------------------------------------- */

int admin_run_cert_issue(struct admin *a);

int admin_run_cert_grant(struct admin *a);

int admin_run_cert_list(struct admin *a);

/* ---- Audit, demo, verify (admin_verify.c) ------------------------------ */

int admin_run_audit(struct admin *a);

/* ---- API tokens (admin_tokens.c) ------------------------------------- */

int admin_run_token_create(struct admin *a);
int admin_run_token_list(struct admin *a);
int admin_run_token_revoke(struct admin *a);

int admin_run_demo(struct admin *a);

/* Compares in one read transaction; a repair rebuilds everything in one
 * write transaction (with its audit entry), so records written meanwhile
 * are included too. Exit 0: no difference, or repaired; 1: differences. */
int admin_run_verify(struct admin *a);

/* ---- Retention and erasure (admin_erase.c) ------------------------------ */

int admin_run_retention(struct admin *a);

int admin_run_erase(struct admin *a);

/* ---- Time zones (admin_zone.c) ------------------------------------------ */

/* Part of admin_person_change_txn(): sets p's zone to pc->time_zone
 * (checked against the system's tzdata) when it differs, with the detail
 * for the audit. Returns 0 or admin_txn_fail()'s code. Writer thread. */
int admin_zone_person(struct store_txn *t, struct person_change *pc, Coachq__V1__Person *p);

/* Checks a zone name given on the command line for its shape, before any
 * store is opened. Prints the usage error; returns 0 or 2. */
int admin_zone_arg(const struct admin *a, const char *name);

int admin_run_org(struct admin *a);

int admin_run_user_zone(struct admin *a);

/*
 * Reads the table of a people or programme import from c (borrowed; its
 * next record is the header) into t (overwritten; caller owns, free with
 * table_clear()): columns names (ncol of them, any order; those from
 * nrequired on may be left out, 0: none may), at most
 * ADMIN_MAX_ROWS rows, and reading stops once e holds ADMIN_MAX_ERRORS.
 * Returns as table_read().
 */
int admin_table_read(struct csv *c, const char *const *names, size_t ncol, size_t nrequired,
                     struct table *t, struct table_errs *e);

/* ---- Backup and restore (admin_backup.c) ------------------------------- */

int admin_run_backup(struct admin *a);

int admin_run_restore(struct admin *a);

#endif
