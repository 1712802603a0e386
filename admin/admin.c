/*
 * admin: coachqd's administration verbs (admin.h; the operator's guide is
 * docs/admin.md).
 *
 * Every command is a row of one table: its words, positional arguments and
 * options. One parser reads every command line from that table, so the
 * verbs share --data, --help, "--opt value" / "--opt=value" and their usage
 * errors. A command opens the store, makes all of its changes in one
 * store_exec() callback together with their audit entries (a failed command
 * changes nothing), and prints what it did only after the commit. The store
 * may run a callback more than once (it retries a batch after growing the
 * map), so every callback resets its counters and messages first.
 */

/*
 * Size: this file is over the layout's 1,500 lines. It is one of the five the
 * layout issue splits along its seams (see ../shared/design/architecture.md);
 * until then it stays whole so that the hardening and statistics fixes
 * landed without a move in the same change.
 */
#include "day.h"
#include "admin.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "agg.h"
#include "audit.h"
#include "certissue.h"
#include "certs.h"
#include "csv.h"
#include "demo.h"
#include "obs_json.h"
#include "error.h"
#include "outcomes.h"
#include "outcomes_csv.h"
#include "people.h"
#include "rubric_json.h"
#include "rubrics.h"
#include "store.h"
#include "str.h"
#include "table.h"
#include "validate.h"
#include "websess.h"

#define ADMIN_MAX_OPTS 8
#define ADMIN_MAX_POS 3
#define ADMIN_MAX_ERRORS 20
#define ADMIN_MAX_ERROR_LEN 600
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

static int run_init(struct admin *a);
static int run_rubric_add(struct admin *a);
static int run_rubric_list(struct admin *a);
static int run_rubric_show(struct admin *a);
static int run_import_people(struct admin *a);
static int run_import_programme(struct admin *a);
static int run_user_add(struct admin *a);
static int run_user_disable(struct admin *a);
static int run_user_enable(struct admin *a);
static int run_user_show(struct admin *a);
static int run_user_list(struct admin *a);
static int run_user_pin(struct admin *a);
static int run_cert_issue(struct admin *a);
static int run_cert_grant(struct admin *a);
static int run_cert_list(struct admin *a);
static int run_audit(struct admin *a);
static int run_demo(struct admin *a);
static int run_verify(struct admin *a);
static int run_import_outcomes(struct admin *a);
static int run_user_password(struct admin *a);
static int run_user_link(struct admin *a);

static const struct admin_opt opts_none[] = {{NULL, NULL, NULL}};

static const struct admin_opt opts_rubric_show[] = {
    {"json", NULL, "print the rubric in its JSON file format"},
    {NULL, NULL, NULL},
};

static const struct admin_opt opts_import_people[] = {
    {"dry-run", NULL, "check the file and count the changes, write nothing"},
    {NULL, NULL, NULL},
};

static const struct admin_opt opts_user_add[] = {
    {"name", "NAME", "full name (required)"},
    {"email", "EMAIL", "e-mail address"},
    {"role", "R[,R...]",
     "roles (required): observer, front_line_manager, second_level_manager, "
     "enablement_lead, administrator; or rep (no roles, no login)"},
    {"manager", "ID", "reports to this person from --effective on"},
    {"effective", "YYYY-MM-DD", "first day of that reporting line"},
    {"cert", "FILE.crt", "pin this certificate (its SHA-256) to the user"},
    {NULL, NULL, NULL},
};

static const struct admin_opt opts_cert_issue[] = {
    {"ca-cert", "FILE", "CA certificate, PEM [dev-certs/ca.crt]"},
    {"ca-key", "FILE", "CA private key, PEM [dev-certs/ca.key]"},
    {"out", "DIR", "where USER.crt and USER.key are written [.]"},
    {"days", "N", "days the certificate is valid, 1..3650 [365]"},
    {NULL, NULL, NULL},
};

static const struct admin_opt opts_cert_grant[] = {
    {"from", "YYYY-MM-DD", "first day it holds [today]"},
    {"until", "YYYY-MM-DD", "last day it holds"},
    {"days", "N", "days it holds, 1..3650, instead of --until [365]"},
    {NULL, NULL, NULL},
};

static const struct admin_opt opts_audit[] = {
    {"since", "WHEN", "entries from YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC) on"},
    {"limit", "N", "only the newest N of them"},
    {NULL, NULL, NULL},
};

static const struct admin_opt opts_demo[] = {
    {"seed", "N", "same seed, same organisation and observations [1]"},
    {NULL, NULL, NULL},
};

static const struct admin_opt opts_verify[] = {
    {"repair", NULL, "replace the stored aggregates by the rebuilt ones"},
    {NULL, NULL, NULL},
};

static const struct admin_opt opts_user_password[] = {
    {"password-file", "FILE", "read the password from FILE's first line [standard input]"},
    {NULL, NULL, NULL},
};

static const struct admin_opt opts_user_link[] = {
    {"url", "URL", "the dashboard's address as browsers reach it [https://127.0.0.1:8443]"},
    {"minutes", "N", "the link works once, for this many minutes, 1..1440 [15]"},
    {NULL, NULL, NULL},
};

static const struct admin_cmd admin_cmds[] = {
    {"init", NULL, "", 0, 0, opts_none,
     "Creates the data directory and the store, and loads the built-in rubrics.", run_init},
    {"rubric", "add", "FILE.json", 1, 1, opts_none,
     "Adds a rubric version from its JSON file (docs/rubrics.md).", run_rubric_add},
    {"rubric", "list", "", 0, 0, opts_none, "Lists every stored rubric version.", run_rubric_list},
    {"rubric", "show", "ID[@VERSION]", 1, 1, opts_rubric_show,
     "Shows a rubric (the latest version unless @VERSION is given).", run_rubric_show},
    {"import", "people", "FILE.csv", 1, 1, opts_import_people,
     "Imports people and reporting lines (columns id,name,email,role,manager_id,"
     "effective_date).",
     run_import_people},
    {"import", "programme", "FILE.csv", 1, 1, opts_none,
     "Imports a training programme's cohorts, attendance and completion (columns "
     "programme_id,programme_name,cohort_id,cohort_start,person_id,module,attended_on,"
     "completed_on).",
     run_import_programme},
    {"import", "outcomes", "FILE.csv", 1, 1, opts_import_people,
     "Imports business results (columns subject_id,team,period,metric,value).",
     run_import_outcomes},
    {"user", "add", "ID", 1, 1, opts_user_add, "Adds a person.", run_user_add},
    {"user", "disable", "ID", 1, 1, opts_none,
     "Disables a user: the server refuses their certificate at their next connection.",
     run_user_disable},
    {"user", "enable", "ID", 1, 1, opts_none, "Enables a disabled user again.", run_user_enable},
    {"user", "show", "ID", 1, 1, opts_none,
     "Shows a person: roles, pinned certificates, reporting lines, reports, certifications.",
     run_user_show},
    {"user", "list", "", 0, 0, opts_none, "Lists every person.", run_user_list},
    {"user", "password", "ID", 1, 1, opts_user_password,
     "Sets a user's dashboard password (read from standard input).", run_user_password},
    {"user", "link", "ID", 1, 1, opts_user_link,
     "Prints a one-time dashboard sign-in link for a user.", run_user_link},
    {"user", "pin", "ID FILE.crt", 2, 2, opts_none,
     "Pins a certificate (its SHA-256) to a user; its CN should be the id.", run_user_pin},
    {"cert", "issue", "USER", 1, 1, opts_cert_issue,
     "Makes a client certificate for a user with the deployment CA and pins it.", run_cert_issue},
    {"cert", "grant", "OBSERVER RUBRIC", 2, 2, opts_cert_grant,
     "Certifies an observer for a rubric (an administrator's grant, without calibration).",
     run_cert_grant},
    {"cert", "list", "[OBSERVER]", 0, 1, opts_none,
     "Lists certifications and calibration results (of everybody, or of one observer).",
     run_cert_list},
    {"audit", NULL, "", 0, 0, opts_audit, "Prints the audit log, oldest first.", run_audit},
    {"demo", NULL, "", 0, 0, opts_demo,
     "Initialises a new data directory and seeds a demo organisation into it.", run_demo},
    {"verify", NULL, "", 0, 0, opts_verify,
     "Rebuilds the dashboards' aggregates from the records and reports any difference.",
     run_verify},
};

#define ADMIN_NCMDS (sizeof(admin_cmds) / sizeof(admin_cmds[0]))

/* ---- Messages ------------------------------------------------------- */

static void errorf(const struct admin *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const struct admin *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int txn_fail(struct admin *a, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prints "coachqd <command>: message" to stderr. */
static void errorf(const struct admin *a, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s %s: ", a->prog, a->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Prints a usage error with a pointer to the help; returns exit code 2. */
static int usage_error(const struct admin *a, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s %s: ", a->prog, a->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s %s --help'.\n", a->prog, a->name);
    return 2;
}

/* Records why a transaction callback failed (printed after store_exec()
 * returned) and returns rc, so that a callback can `return txn_fail(...)`. */
static int txn_fail(struct admin *a, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(a->err, sizeof(a->err), fmt, ap);
    va_end(ap);
    return rc;
}

/* Reports a failed store_exec()/store_view(): the callback's message, or
 * the code's description. Returns exit code 1. */
static int store_failure(const struct admin *a, int rc)
{
    if (a->err[0] != '\0') {
        errorf(a, "%s", a->err);
    } else {
        errorf(a, "%s", error_strerror(rc));
    }
    return 1;
}

/* ---- Dates and numbers ----------------------------------------------- */

/*
 * The calendar is common/day.h's; these wrappers only keep admin's own
 * contract: day numbers as int32_t, the strings returned for use inside a
 * printf(), and --since's two exact forms (no offset, no fraction).
 */

/* Parses a whole YYYY-MM-DD date, 1970-01-01 to 9999-12-31, into a day
 * number. */
static int parse_date(const char *s, int32_t *day)
{
    uint32_t d;

    if (day_parse(s, &d) < 0) {
        return -EINVAL;
    }
    *day = (int32_t)d;
    return 0;
}

/* Parses YYYY-MM-DD (midnight UTC) or YYYY-MM-DDTHH:MM:SSZ into ms. */
static int parse_time_ms(const char *s, int64_t *ms)
{
    size_t len = strlen(s);
    int32_t day;
    int64_t t;

    if (len == 10) {
        if (parse_date(s, &day) < 0) {
            return -EINVAL;
        }
        *ms = (int64_t)day * 86400000;
        return 0;
    }
    /* day_parse_time() also takes "t", "z", a fraction and an offset;
     * --since takes only the one UTC form its help names. */
    if (len != 20 || s[10] != 'T' || s[19] != 'Z' || day_parse_time(s, &t) < 0 || t < 0) {
        return -EINVAL;
    }
    *ms = t * 1000;
    return 0;
}

/* Formats a day number as YYYY-MM-DD into buf (at least 16 bytes). */
static const char *fmt_day(int32_t day, char *buf, size_t len)
{
    day_format(day, buf, len);
    return buf;
}

/* Formats ms since the epoch as YYYY-MM-DDTHH:MM:SS.mmmZ (buf >= 32 bytes). */
static const char *fmt_ms(int64_t ms, char *buf, size_t len)
{
    day_format_time_ms(ms, buf, len);
    return buf;
}

/* Parses a whole decimal number in [min, max]. */
static int parse_long(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    long v;

    if (s == NULL || s[0] == '\0') {
        return -EINVAL;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        return -EINVAL;
    }
    *out = v;
    return 0;
}

/* Parses a whole unsigned 64-bit decimal number. */
static int parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;

    if (s == NULL || s[0] < '0' || s[0] > '9') {
        return -EINVAL;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return -EINVAL;
    }
    *out = v;
    return 0;
}

/* ---- Command line ----------------------------------------------------- */

/* The value of option name (NULL when not given). name must be one of the
 * command's options. */
static const char *opt(const struct admin *a, const char *name)
{
    size_t i;

    for (i = 0; a->cmd->opts[i].name != NULL; i++) {
        if (strcmp(a->cmd->opts[i].name, name) == 0) {
            return a->val[i];
        }
    }
    return NULL;
}

/* Reads option name as a date; def when absent. Prints the usage error. */
static int opt_date(const struct admin *a, const char *name, int32_t def, int32_t *out)
{
    const char *v = opt(a, name);

    *out = def;
    if (v != NULL && parse_date(v, out) < 0) {
        usage_error(a, "--%s: '%s' is not a valid date (YYYY-MM-DD, from 1970-01-01)", name, v);
        return -EINVAL;
    }
    return 0;
}

/* Reads option name as a number in [min, max]; def when absent. */
static int opt_long(const struct admin *a, const char *name, long min, long max, long def,
                    long *out)
{
    const char *v = opt(a, name);

    *out = def;
    if (v != NULL && parse_long(v, min, max, out) < 0) {
        usage_error(a, "--%s: '%s' is not a number from %ld to %ld", name, v, min, max);
        return -EINVAL;
    }
    return 0;
}

/* Checks a person or rubric id given on the command line. */
static int arg_id(const struct admin *a, const char *what, const char *s)
{
    if (validate_id(s) < 0) {
        usage_error(a, "%s '%s' is not a valid id: 1 to %d letters, digits, '.', '_', '@' or '-'",
                    what, s, VALIDATE_MAX_ID);
        return -EINVAL;
    }
    return 0;
}

/* Prints text wrapped at 100 columns, continuation lines indented by
 * indent; the first line starts where the cursor is, at column indent. */
static void print_wrapped(FILE *f, const char *text, int indent)
{
    const size_t width = 100 - (size_t)indent;
    const char *help = text;
    size_t len = strlen(help);

    while (len > width) {
        size_t cut = width;

        while (cut > 0 && help[cut] != ' ') {
            cut--;
        }
        if (cut == 0) {
            cut = width;
        }
        fprintf(f, "%.*s\n%*s", (int)cut, help, indent, "");
        help += cut;
        len -= cut;
        while (*help == ' ') {
            help++;
            len--;
        }
    }
    fprintf(f, "%s\n", help);
}

/* Prints "  LEFT  help" with the help wrapped. */
static void print_opt_line(FILE *f, const char *left, const char *help)
{
    if (strlen(left) > 24) {
        fprintf(f, "  %s\n  %-24s ", left, "");
    } else {
        fprintf(f, "  %-24s ", left);
    }
    print_wrapped(f, help, 27);
}

/* Prints one command's help. */
static void cmd_help(FILE *f, const char *prog, const struct admin_cmd *c)
{
    char left[64];
    size_t i;

    fprintf(f, "Usage: %s %s%s%s%s%s [options]\n\n", prog, c->verb, c->sub != NULL ? " " : "",
            c->sub != NULL ? c->sub : "", c->args[0] ? " " : "", c->args);
    print_wrapped(f, c->help, 0);
    fprintf(f, "\nOptions:\n");
    for (i = 0; c->opts[i].name != NULL; i++) {
        snprintf(left, sizeof(left), "--%s%s%s", c->opts[i].name, c->opts[i].arg ? " " : "",
                 c->opts[i].arg ? c->opts[i].arg : "");
        print_opt_line(f, left, c->opts[i].help);
    }
    print_opt_line(f, "--data DIR", "data directory [data]");
    print_opt_line(f, "-h, --help", "show this help");
    fprintf(f, "\nExit status: 0 done, 1 failed (nothing changed; the message says why), "
               "2 usage error.\n");
}

/* Prints the subcommands of a verb. */
static void verb_help(FILE *f, const char *prog, const char *verb)
{
    size_t i;

    fprintf(f, "Usage: %s %s COMMAND [options]\n\nCommands:\n", prog, verb);
    for (i = 0; i < ADMIN_NCMDS; i++) {
        if (strcmp(admin_cmds[i].verb, verb) == 0) {
            char left[64];

            snprintf(left, sizeof(left), "%s %s", admin_cmds[i].sub, admin_cmds[i].args);
            print_opt_line(f, left, admin_cmds[i].help);
        }
    }
    fprintf(f, "\nSee '%s %s COMMAND --help' for each command's options.\n", prog, verb);
}

/* Finds the command named by argv[1] (and argv[2] for verbs with
 * subcommands). Returns 0 with *cmd and *first (index of the first
 * argument after the command's words) set, or an exit code (0 after a
 * verb's --help, 2 for a usage error) with *cmd NULL. */
static int find_cmd(int argc, char **argv, const struct admin_cmd **cmd, int *first)
{
    const char *verb = argv[1];
    size_t i;

    *cmd = NULL;
    for (i = 0; i < ADMIN_NCMDS; i++) {
        if (strcmp(admin_cmds[i].verb, verb) == 0 && admin_cmds[i].sub == NULL) {
            *cmd = &admin_cmds[i];
            *first = 2;
            return 0;
        }
    }
    if (argc < 3) {
        fprintf(stderr, "%s %s: which command?\n", argv[0], verb);
        verb_help(stderr, argv[0], verb);
        return 2;
    }
    if (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0) {
        verb_help(stdout, argv[0], verb);
        return 0;
    }
    for (i = 0; i < ADMIN_NCMDS; i++) {
        if (strcmp(admin_cmds[i].verb, verb) == 0 && strcmp(admin_cmds[i].sub, argv[2]) == 0) {
            *cmd = &admin_cmds[i];
            *first = 3;
            return 0;
        }
    }
    fprintf(stderr, "%s %s: unknown command '%s'\nTry '%s %s --help'.\n", argv[0], verb, argv[2],
            argv[0], verb);
    return 2;
}

/* Stores one option; name is the text after "--", up to '=' if any. */
static int take_option(struct admin *a, const char *name, size_t namelen, const char *inline_val,
                       int argc, char **argv, int *i)
{
    const struct admin_opt *opts = a->cmd->opts;
    const char **slot = NULL;
    int is_flag = 0;
    size_t k;

    if (namelen == 4 && strncmp(name, "data", 4) == 0) {
        slot = &a->data_dir;
    }
    for (k = 0; slot == NULL && opts[k].name != NULL; k++) {
        assert(k < ADMIN_MAX_OPTS);
        if (strlen(opts[k].name) == namelen && strncmp(opts[k].name, name, namelen) == 0) {
            slot = &a->val[k];
            is_flag = opts[k].arg == NULL;
        }
    }
    if (slot == NULL) {
        return usage_error(a, "unknown option '--%.*s'", (int)namelen, name);
    }
    if (is_flag) {
        if (inline_val != NULL) {
            return usage_error(a, "--%.*s takes no value", (int)namelen, name);
        }
        *slot = "";
        return 0;
    }
    if (inline_val == NULL) {
        if (*i + 1 >= argc) {
            return usage_error(a, "--%.*s needs a value", (int)namelen, name);
        }
        inline_val = argv[++*i];
    }
    if (validate_text(inline_val, strlen(inline_val), 0, NULL) < 0) {
        return usage_error(a,
                           "--%.*s: the value is not one line of UTF-8 text (a control character "
                           "or invalid byte); coachq stores text only as it can give it back",
                           (int)namelen, name);
    }
    *slot = inline_val;
    return 0;
}

/* Reads the options and positional arguments after the command's words.
 * Returns 0, 1 after printing --help, or 2 after a usage error. */
static int parse_args(struct admin *a, int argc, char **argv, int first)
{
    int only_pos = 0;
    int i, rc;

    for (i = first; i < argc; i++) {
        const char *s = argv[i];

        if (!only_pos && strcmp(s, "--") == 0) {
            only_pos = 1;
        } else if (!only_pos && (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0)) {
            cmd_help(stdout, a->prog, a->cmd);
            return 1;
        } else if (!only_pos && s[0] == '-' && s[1] == '-') {
            const char *eq = strchr(s + 2, '=');
            size_t namelen = eq != NULL ? (size_t)(eq - (s + 2)) : strlen(s + 2);

            rc = take_option(a, s + 2, namelen, eq != NULL ? eq + 1 : NULL, argc, argv, &i);
            if (rc != 0) {
                return rc;
            }
        } else if (!only_pos && s[0] == '-' && s[1] != '\0') {
            return usage_error(a, "unknown option '%s'", s);
        } else if (a->npos >= a->cmd->max_pos) {
            return usage_error(a, "unexpected argument '%s'", s);
        } else if (validate_text(s, strlen(s), 0, NULL) < 0) {
            return usage_error(a,
                               "argument %zu is not one line of UTF-8 text (a control character "
                               "or invalid byte); coachq stores text only as it can give it back",
                               a->npos + 1);
        } else {
            a->pos[a->npos++] = s;
        }
    }
    if (a->npos < a->cmd->min_pos) {
        return usage_error(a, "missing argument%s %s", a->cmd->min_pos > 1 ? "s" : "",
                           a->cmd->args);
    }
    if (a->data_dir[0] == '\0') {
        return usage_error(a, "--data needs a directory");
    }
    return 0;
}

/* ---- Files and the store ---------------------------------------------- */

/* mkdir -p: makes path and its missing parents with mode. */
static int mkdir_p(const char *path, mode_t mode)
{
    char buf[1024];
    struct stat st;
    char *p;

    if (str_copy(buf, sizeof(buf), path) < 0) {
        return -ENAMETOOLONG;
    }
    for (p = buf + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, mode) < 0 && errno != EEXIST) {
                return -errno;
            }
            *p = '/';
        }
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST) {
        return -errno;
    }
    if (stat(buf, &st) < 0) {
        return -errno;
    }
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Reads a whole file of at most max bytes. *out (caller owns, free()) is
 * NUL-terminated; *len excludes the NUL. */
static int read_file(const char *path, size_t max, char **out, size_t *len)
{
    char *data = NULL;
    struct stat st;
    size_t got = 0;
    int fd = -1;
    int rc;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto out;
    }
    rc = -EFBIG;
    if (st.st_size < 0 || (uint64_t)st.st_size > max) {
        goto out;
    }
    rc = -ENOMEM;
    data = malloc((size_t)st.st_size + 1);
    if (data == NULL) {
        goto out;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            goto out;
        }
        got += (size_t)n;
    }
    data[got] = '\0';
    *out = data;
    *len = got;
    data = NULL;
    rc = 0;
out:
    if (fd >= 0) {
        close(fd);
    }
    free(data);
    return rc;
}

/* Opens the store in a->data_dir, creating the directory first if create.
 * Prints why it failed. */
static int open_store(struct admin *a, int create)
{
    struct store_policy policy;
    struct store_opts so;
    int rc;

    if (a->store != NULL) {
        return 0; /* admin_main_store(): the caller's */
    }
    if (create) {
        rc = mkdir_p(a->data_dir, 0700);
        if (rc < 0) {
            errorf(a, "cannot create the data directory '%s': %s", a->data_dir, error_strerror(rc));
            return rc;
        }
    }
    if (!create) {
        /* Only init and demo make a store: elsewhere a mistyped --data
         * must not leave an empty one behind. */
        char path[1100];
        struct stat st;

        snprintf(path, sizeof(path), "%s/data.mdb", a->data_dir);
        if (stat(a->data_dir, &st) < 0) {
            errorf(a, "the data directory '%s' does not exist (make it with '%s init --data %s')",
                   a->data_dir, a->prog, a->data_dir);
            return -ENOENT;
        }
        if (stat(path, &st) < 0) {
            errorf(a, "'%s' holds no coachq store (make one with '%s init --data %s')", a->data_dir,
                   a->prog, a->data_dir);
            return -ENOENT;
        }
    }
    store_policy_default(&policy);
    memset(&so, 0, sizeof(so));
    so.policy = &policy;
    rc = store_open(a->data_dir, &so, &a->store);
    if (rc == -ENOENT) {
        errorf(a, "the data directory '%s' does not exist (make it with '%s init --data %s')",
               a->data_dir, a->prog, a->data_dir);
    } else if (rc < 0) {
        errorf(a, "cannot open the store in '%s': %s", a->data_dir, error_strerror(rc));
    }
    return rc;
}

static void hex_fingerprint(const uint8_t *p, size_t n, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i, o = 0;

    for (i = 0; i < n && o + 3 < outlen; i++) {
        if (i > 0) {
            out[o++] = ':';
        }
        out[o++] = hex[p[i] >> 4];
        out[o++] = hex[p[i] & 15];
    }
    out[o] = '\0';
}

/* Reads the subject CN of the first certificate in a PEM file. */
static int cert_file_cn(const char *path, char *cn, size_t cnlen)
{
    BIO *bio = NULL;
    X509 *x = NULL;
    int rc = -EINVAL;
    int n;

    cn[0] = '\0';
    bio = BIO_new_file(path, "r");
    if (bio == NULL) {
        goto out;
    }
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (x == NULL) {
        goto out;
    }
    n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, (int)cnlen);
    if (n < 0) {
        cn[0] = '\0';
        goto out;
    }
    rc = 0;
out:
    X509_free(x);
    BIO_free(bio);
    return rc;
}

/* Reads the SHA-256 of a certificate to pin to user. Warns when its CN
 * does not name the user: the server looks users up by CN, so such a pin
 * never lets anybody in, and once a user has pins, certificates without
 * one are refused (an administrator may want exactly that, to lock a user
 * out of an old certificate). Prints why it failed. */
static int pin_from_file(const struct admin *a, const char *user, const char *path, uint8_t sha[32])
{
    char err[512], cn[256];
    int rc;

    rc = certissue_fingerprint_file(path, sha, err, sizeof(err));
    if (rc < 0) {
        errorf(a, "%s: %s", path, err[0] ? err : error_strerror(rc));
        return rc;
    }
    if (cert_file_cn(path, cn, sizeof(cn)) < 0 || strcmp(cn, user) != 0) {
        errorf(a,
               "warning: %s: the certificate's subject CN is '%s', not '%s'; the server "
               "identifies users by CN, so this pin will never match a login of '%s'",
               path, cn, user, user);
    }
    return 0;
}

/* True if s is at most max bytes without control characters. */
static int plain_text(const char *s, size_t max)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || i >= max) {
            return 0;
        }
    }
    return 1;
}

/* A plausible e-mail address: one '@' with text on both sides, no blanks. */
static int email_like(const char *s)
{
    const char *at = strchr(s, '@');

    return at != NULL && at != s && at[1] != '\0' && strchr(at + 1, '@') == NULL &&
           strchr(s, ' ') == NULL;
}

/* ---- Roles -------------------------------------------------------------- */

static const struct {
    const char *name;
    Coachq__V1__Role role;
} role_names[ADMIN_NROLES] = {
    {"observer", COACHQ__V1__ROLE__ROLE_OBSERVER},
    {"front_line_manager", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER},
    {"second_level_manager", COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER},
    {"enablement_lead", COACHQ__V1__ROLE__ROLE_ENABLEMENT_LEAD},
    {"administrator", COACHQ__V1__ROLE__ROLE_ADMINISTRATOR},
};

static const char *role_name(Coachq__V1__Role r)
{
    size_t i;

    for (i = 0; i < ADMIN_NROLES; i++) {
        if (role_names[i].role == r) {
            return role_names[i].name;
        }
    }
    return "unknown";
}

/*
 * Parses roles separated by ',' or ';' ("rep" or nothing: no roles) into
 * out (ADMIN_NROLES entries), sorted and without repeats. On -EINVAL msg
 * (msglen bytes) says what is wrong.
 */
static int parse_roles(const char *s, Coachq__V1__Role *out, size_t *n, char *msg, size_t msglen)
{
    unsigned mask = 0;
    int rep = 0;
    size_t i = 0;

    *n = 0;
    while (s[i] != '\0') {
        size_t start, end, len, k;
        int found = 0;

        while (s[i] == ' ' || s[i] == ',' || s[i] == ';') {
            i++;
        }
        start = i;
        while (s[i] != '\0' && s[i] != ',' && s[i] != ';') {
            i++;
        }
        end = i;
        while (end > start && s[end - 1] == ' ') {
            end--;
        }
        len = end - start;
        if (len == 0) {
            continue;
        }
        if (len == 3 && strncmp(s + start, "rep", 3) == 0) {
            rep = 1;
            found = 1;
        }
        for (k = 0; !found && k < ADMIN_NROLES; k++) {
            if (strlen(role_names[k].name) == len &&
                strncmp(role_names[k].name, s + start, len) == 0) {
                mask |= 1u << role_names[k].role;
                found = 1;
            }
        }
        if (!found) {
            snprintf(msg, msglen,
                     "role '%.*s' is not one of observer, front_line_manager, "
                     "second_level_manager, enablement_lead, administrator, or rep",
                     (int)(len > 64 ? 64 : len), s + start);
            return -EINVAL;
        }
        if (rep && mask != 0) {
            snprintf(msg, msglen, "role 'rep' means no roles; it cannot be combined with others");
            return -EINVAL;
        }
    }
    for (i = 0; i < ADMIN_NROLES; i++) {
        if (mask & (1u << role_names[i].role)) {
            out[(*n)++] = role_names[i].role;
        }
    }
    return 0;
}

static const char *fmt_roles(const Coachq__V1__Role *roles, size_t n, char *buf, size_t len)
{
    size_t i, o = 0;

    buf[0] = '\0';
    if (n == 0) {
        snprintf(buf, len, "rep (no roles)");
        return buf;
    }
    for (i = 0; i < n && o < len; i++) {
        int w = snprintf(buf + o, len - o, "%s%s", i ? ", " : "", role_name(roles[i]));

        if (w < 0) {
            break;
        }
        o += (size_t)w;
    }
    return buf;
}

static int same_roles(const Coachq__V1__Person *a, const Coachq__V1__Role *roles, size_t n)
{
    unsigned ma = 0, mb = 0;
    size_t i;

    for (i = 0; i < a->n_roles; i++) {
        ma |= 1u << ((unsigned)a->roles[i] & 31);
    }
    for (i = 0; i < n; i++) {
        mb |= 1u << ((unsigned)roles[i] & 31);
    }
    return ma == mb;
}

/* The actor of every audit entry: "local:<unix user>". */
static void local_actor(char *out, size_t len)
{
    struct passwd *pw = getpwuid(geteuid());

    if (pw != NULL && pw->pw_name != NULL && pw->pw_name[0] != '\0') {
        snprintf(out, len, "local:%s", pw->pw_name);
    } else {
        snprintf(out, len, "local:%lu", (unsigned long)geteuid());
    }
}

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
                return txn_fail(a, rc, "rubric %s v%u: %s", r->id, r->version, error_strerror(rc));
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
            return txn_fail(a, rc, "rubric %s v%u: %s", r->id, r->version, error_strerror(rc));
        }
        rp->status[i] = changed ? RUBRIC_ADDED : RUBRIC_UNCHANGED;
        if (changed) {
            snprintf(subject, sizeof(subject), "%s@%u", r->id, r->version);
            rc = audit_append(t, a->now_ms, a->actor, "rubric.add", subject, r->name, a->origin,
                              NULL);
            if (rc < 0) {
                return txn_fail(a, rc, "audit: %s", error_strerror(rc));
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
        errorf(a, "too many rubrics at once");
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

        errorf(a,
               "%s: rubric '%s' version %u is already stored with different content. A stored "
               "version never changes (old observations keep its meaning): bump \"version\" to "
               "%u and add it again. Nothing was changed.",
               what, c->id, c->version, rp.latest + 1);
        return 1;
    }
    if (rc == -EILSEQ && rp.meaning.behaviour[0] != '\0') {
        const Coachq__V1__Rubric *c = r[rp.conflict];

        errorf(a,
               "%s: behaviours[%zu].id: \"%s\" has %s in version %u of rubric '%s'. "
               "Dashboards average a behaviour's scores across versions by its id, so an id "
               "keeps its definition and anchors: give the changed behaviour a new id. Nothing "
               "was changed.",
               what, rp.meaning.index, rp.meaning.behaviour, rp.meaning.what, rp.meaning.version,
               c->id);
        return 1;
    }
    if (rc < 0) {
        return store_failure(a, rc);
    }
    for (i = 0; i < n; i++) {
        printf("rubric %s v%u: %s\n", r[i]->id, r[i]->version,
               status[i] == RUBRIC_ADDED ? "added" : "unchanged");
    }
    return 0;
}

/* Loads every built-in rubric (init and demo). */
static int load_builtins(struct admin *a)
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
            errorf(a, "built-in rubric %s: %s", name ? name : "?", text ? err : "missing");
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

static int run_init(struct admin *a)
{
    int code;

    if (open_store(a, 1) < 0) {
        return 1;
    }
    printf("data directory: %s\n", a->data_dir);
    code = load_builtins(a);
    if (code == 0) {
        printf("ready: start the server with '%s --data %s'\n", a->prog, a->data_dir);
    }
    return code;
}

static int run_rubric_add(struct admin *a)
{
    const char *path = a->pos[0];
    Coachq__V1__Rubric *r = NULL;
    char *text = NULL;
    char err[512];
    size_t len = 0;
    int code = 1;
    int rc;

    rc = read_file(path, ADMIN_MAX_RUBRIC_FILE, &text, &len);
    if (rc < 0) {
        errorf(a, "cannot read %s: %s", path, error_strerror(rc));
        goto out;
    }
    rc = rubric_json_parse(text, len, &r, err, sizeof(err));
    if (rc < 0) {
        errorf(a, "%s: %s", path, err);
        goto out;
    }
    if (open_store(a, 0) < 0) {
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
           fmt_day(r->effective_day, day, sizeof(day)));
    return 0;
}

static int rubric_list_txn(struct store_txn *t, void *arg)
{
    printf("%-28s %7s  %-40s %10s  %s\n", "ID", "VERSION", "NAME", "BEHAVIOURS", "EFFECTIVE");
    return rubrics_list(t, 0, rubric_list_cb, arg);
}

static int run_rubric_list(struct admin *a)
{
    int rc;

    if (open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_view(a->store, rubric_list_txn, a);
    return rc < 0 ? store_failure(a, rc) : 0;
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
    printf("effective from %s; added %s\n", fmt_day(r->effective_day, day, sizeof(day)),
           fmt_ms(r->added_at_ms, at, sizeof(at)));
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

static int run_rubric_show(struct admin *a)
{
    struct rubric_get g;
    const char *at = strchr(a->pos[0], '@');
    size_t idlen = at != NULL ? (size_t)(at - a->pos[0]) : strlen(a->pos[0]);
    long version = 0;
    int rc;

    memset(&g, 0, sizeof(g));
    if (idlen > VALIDATE_MAX_ID) {
        return usage_error(a, "rubric id '%s' is longer than %d characters", a->pos[0],
                           VALIDATE_MAX_ID);
    }
    memcpy(g.id, a->pos[0], idlen);
    if (arg_id(a, "rubric", g.id) < 0) {
        return 2;
    }
    if (at != NULL && parse_long(at + 1, 1, UINT32_MAX, &version) < 0) {
        return usage_error(a, "'%s': the version after '@' must be a number from 1", a->pos[0]);
    }
    g.version = (uint32_t)version;
    if (open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_view(a->store, rubric_get_txn, &g);
    if (rc == -ENOENT) {
        errorf(a, "no rubric '%s'%s (see '%s rubric list')", a->pos[0],
               at != NULL ? " at that version" : "", a->prog);
        return 1;
    }
    if (rc < 0) {
        return store_failure(a, rc);
    }
    if (opt(a, "json") != NULL) {
        char *json = rubric_json_dump(g.r);

        if (json == NULL) {
            coachq__v1__rubric__free_unpacked(g.r, NULL);
            errorf(a, "out of memory");
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

/* ---- Import errors and CSV tables ---------------------------------------- */

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
    errorf(a, "nothing imported: %zu error%s%s", e->n, e->n == 1 ? "" : "s",
           more ? " or more" : "");
}

/*
 * Reads the CSV file path whose first line names the columns names (ncol
 * of them, any order) into t, fields in the order of names. Problems go
 * into e; returns 0 (rows read, though some may have been refused: check
 * e->total), -EINVAL (the file cannot be read on: see e) or -ENOMEM.
 */
static int table_load(const char *path, const char *const *names, size_t ncol, struct table *t,
                      struct table_errs *e)
{
    struct table_spec spec = {
        .names = names,
        .ncol = ncol,
        .max_rows = ADMIN_MAX_ROWS,
        .too_many = "",
        .too_many_rc = -EINVAL,
        .unreadable = NULL,
        .stop_when_full = 1,
    };
    struct csv *c = NULL;
    int rc;

    memset(t, 0, sizeof(*t));
    rc = csv_open_file(path, &c);
    if (rc < 0) {
        table_err(e, 0, 0, "cannot read: %s", error_strerror(rc));
        return -EINVAL;
    }
    rc = table_read(c, &spec, table_keep, t, e);
    csv_free(c);
    return rc;
}

static int check_email(struct table_errs *e, const struct table_row *r, size_t k)
{
    const char *s = r->f[k];

    if (s[0] == '\0') {
        return 0;
    }
    if (table_check_text(e, r, k, "email", ADMIN_MAX_EMAIL, 0) < 0) {
        return -EINVAL;
    }
    if (!email_like(s)) {
        table_err(e, r->line, r->col[k], "email '%s' is not an e-mail address", s);
        return -EINVAL;
    }
    return 0;
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

enum { P_ID, P_NAME, P_EMAIL, P_ROLE, P_MANAGER, P_EFFECTIVE, P_NCOL };

static const char *const people_cols[P_NCOL] = {"id",   "name",       "email",
                                                "role", "manager_id", "effective_date"};

struct person_row {
    const struct table_row *r; /* borrowed from the table */
    Coachq__V1__Role roles[ADMIN_NROLES];
    size_t nroles;
    int32_t day;
    int has_day;
    int first; /* the first row of its id: the one that puts the person */
};

struct people_import {
    struct admin *a;
    const char *path;
    struct table tab;
    struct person_row *rows;
    struct person_row **by_id; /* sorted by id, then line */
    int dry_run;
    struct table_errs errs;
    size_t static_errs; /* errors found before the transaction */
    /* Results, set afresh by each run of the callback. */
    size_t added, updated, unchanged, lines;
    char summary[256];
};

static int cmp_person_row(const void *x, const void *y)
{
    const struct person_row *a = *(struct person_row *const *)x;
    const struct person_row *b = *(struct person_row *const *)y;
    int c = strcmp(a->r->f[P_ID], b->r->f[P_ID]);

    if (c != 0) {
        return c;
    }
    return a->r->line < b->r->line ? -1 : a->r->line > b->r->line;
}

/* The row of id in this file whose line starts last (a person may have a
 * row per reporting line change), or NULL. */
static struct person_row *people_find(const struct people_import *pi, const char *id)
{
    struct person_row *best = NULL;
    size_t lo = 0, hi = pi->tab.n;

    /* The first row of id: by_id is sorted by id, then line. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (strcmp(pi->by_id[mid]->r->f[P_ID], id) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for (; lo < pi->tab.n && strcmp(pi->by_id[lo]->r->f[P_ID], id) == 0; lo++) {
        struct person_row *pr = pi->by_id[lo];

        if (best == NULL || (pr->has_day && (!best->has_day || pr->day >= best->day))) {
            best = pr;
        }
    }
    return best;
}

static void people_check_row(struct people_import *pi, struct person_row *pr)
{
    const struct table_row *r = pr->r;
    struct table_errs *e = &pi->errs;
    char msg[200];

    table_check_id(e, r, P_ID, "id");
    table_check_text(e, r, P_NAME, "name", ADMIN_MAX_NAME, 1);
    check_email(e, r, P_EMAIL);
    if (parse_roles(r->f[P_ROLE], pr->roles, &pr->nroles, msg, sizeof(msg)) < 0) {
        table_err(e, r->line, r->col[P_ROLE], "%s", msg);
    }
    if (r->f[P_MANAGER][0] != '\0') {
        if (table_check_id(e, r, P_MANAGER, "manager_id") == 0 &&
            strcmp(r->f[P_MANAGER], r->f[P_ID]) == 0) {
            table_err(e, r->line, r->col[P_MANAGER], "'%s' cannot be their own manager",
                      r->f[P_ID]);
        }
        if (r->f[P_EFFECTIVE][0] == '\0') {
            table_err(e, r->line, r->col[P_EFFECTIVE],
                      "effective_date is empty; a manager_id needs the date from which the "
                      "line holds (YYYY-MM-DD)");
            return;
        }
    }
    table_check_date(e, r, P_EFFECTIVE, "effective_date", 0, &pr->day, &pr->has_day);
}

/* Reports a reporting line within the file that leads back to where it
 * started, once per loop (at the loop's smallest id). */
static void people_check_loop(struct people_import *pi, const struct person_row *pr)
{
    const char *start = pr->r->f[P_ID];
    const struct person_row *cur = pr;
    int steps;

    for (steps = 0; steps < 4 * PEOPLE_MAX_CHAIN; steps++) {
        cur = cur->r->f[P_MANAGER][0] ? people_find(pi, cur->r->f[P_MANAGER]) : NULL;
        if (cur == NULL || strcmp(cur->r->f[P_ID], start) < 0) {
            return;
        }
        if (cur == pr) {
            table_err(&pi->errs, pr->r->line, pr->r->col[P_MANAGER],
                      "manager_id '%s': the reporting line from '%s' leads back to '%s'",
                      pr->r->f[P_MANAGER], start, start);
            return;
        }
    }
}

/*
 * A person may have several rows, one per change of their reporting line
 * (a transfer); each must give the same name, email and roles as their
 * first row.
 */
static void people_check_same_person(struct people_import *pi, const struct person_row *first,
                                     const struct person_row *pr)
{
    static const size_t same[3] = {P_NAME, P_EMAIL, P_ROLE};
    const struct table_row *e = first->r;
    const struct table_row *r = pr->r;
    size_t k;

    for (k = 0; k < 3; k++) {
        size_t c = same[k];
        int differs = c == P_ROLE ? pr->nroles != first->nroles ||
                                        memcmp(pr->roles, first->roles,
                                               pr->nroles * sizeof(pr->roles[0])) != 0
                                  : strcmp(e->f[c], r->f[c]) != 0;

        if (differs) {
            table_err(&pi->errs, r->line, r->col[c],
                      "%s '%s' differs from line %zu ('%s'); the rows of one person must agree",
                      people_cols[c], r->f[c], e->line, e->f[c]);
            return;
        }
    }
}

/* Two rows of one person must not name different managers from one day. */
static void people_check_same_day(struct people_import *pi, const struct person_row *earlier,
                                  const struct person_row *pr)
{
    if (pr->has_day && earlier->has_day && pr->day == earlier->day &&
        strcmp(earlier->r->f[P_MANAGER], pr->r->f[P_MANAGER]) != 0) {
        table_err(&pi->errs, pr->r->line, pr->r->col[P_EFFECTIVE],
                  "line %zu gives '%s' another manager from the same day", earlier->r->line,
                  pr->r->f[P_ID]);
    }
}

/* Checks everything that needs no store. */
static int people_check(struct people_import *pi)
{
    size_t i;

    pi->rows = calloc(pi->tab.n + 1, sizeof(*pi->rows));
    pi->by_id = calloc(pi->tab.n + 1, sizeof(*pi->by_id));
    if (pi->rows == NULL || pi->by_id == NULL) {
        return -ENOMEM;
    }
    for (i = 0; i < pi->tab.n; i++) {
        pi->rows[i].r = &pi->tab.rows[i];
        pi->by_id[i] = &pi->rows[i];
        people_check_row(pi, &pi->rows[i]);
    }
    qsort(pi->by_id, pi->tab.n, sizeof(*pi->by_id), cmp_person_row);
    for (i = 0; i < pi->tab.n; i++) {
        const char *id = pi->by_id[i]->r->f[P_ID];
        size_t k;

        pi->by_id[i]->first = 1;
        if (validate_id(id) < 0) {
            continue;
        }
        for (k = i; k > 0 && strcmp(pi->by_id[k - 1]->r->f[P_ID], id) == 0; k--) {
            people_check_same_day(pi, pi->by_id[k - 1], pi->by_id[i]);
        }
        if (k < i) {
            pi->by_id[i]->first = 0;
            people_check_same_person(pi, pi->by_id[k], pi->by_id[i]);
        }
    }
    for (i = 0; i < pi->tab.n; i++) {
        people_check_loop(pi, &pi->rows[i]);
    }
    return 0;
}

/* Creates or updates one person; keeps pins and the disabled flag, and
 * leaves an unchanged person alone (updated_at_ms included). */
static int people_put_row(struct people_import *pi, struct store_txn *t,
                          const struct person_row *pr)
{
    Coachq__V1__Person p = COACHQ__V1__PERSON__INIT;
    Coachq__V1__Person *old = NULL;
    const struct table_row *r = pr->r;
    int rc;

    rc = people_get(t, r->f[P_ID], &old);
    if (rc < 0 && rc != -ENOENT) {
        goto out;
    }
    p.id = r->f[P_ID];
    p.name = r->f[P_NAME];
    p.email = r->f[P_EMAIL];
    p.roles = (Coachq__V1__Role *)pr->roles;
    p.n_roles = pr->nroles;
    if (old != NULL) {
        if (strcmp(old->name, p.name) == 0 && strcmp(old->email, p.email) == 0 &&
            same_roles(old, pr->roles, pr->nroles)) {
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
                           const struct person_row *pr)
{
    const struct table_row *r = pr->r;
    const char *mgr = r->f[P_MANAGER];
    Coachq__V1__Person *m = NULL;
    char day[16];
    int rc, changed = 0;

    /* Malformed ids were reported already and cannot be looked up. */
    if (validate_id(r->f[P_ID]) < 0 || (mgr[0] != '\0' && validate_id(mgr) < 0)) {
        return 0;
    }
    if (mgr[0] != '\0' && people_find(pi, mgr) == NULL) {
        rc = people_get(t, mgr, &m);
        if (rc == -ENOENT) {
            table_err(&pi->errs, r->line, r->col[P_MANAGER],
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
        rc = people_lines(t, r->f[P_ID], last_line_cb, &last);
        if (rc < 0 && rc != -ENOENT) {
            return rc;
        }
        if (last.any && last.manager[0] != '\0') {
            table_err(&pi->errs, r->line, r->col[P_EFFECTIVE],
                      "effective_date is empty, but the store has '%s' reporting to '%s' since "
                      "%s: give the date from which they report to nobody",
                      r->f[P_ID], last.manager, fmt_day(last.day, day, sizeof(day)));
        }
        return 0;
    }
    if (pi->errs.total > 0) {
        return 0;
    }
    rc = people_line_put(t, r->f[P_ID], mgr, pr->day, &changed);
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
    pi->added = pi->updated = pi->unchanged = pi->lines = 0;
    /* Pass 1: the people, so that pass 2 finds managers in this file. */
    for (i = 0; i < pi->tab.n && pi->errs.total == 0; i++) {
        if (!pi->rows[i].first) {
            continue;
        }
        rc = people_put_row(pi, t, &pi->rows[i]);
        if (rc < 0) {
            return txn_fail(a, rc, "%s:%zu: %s", pi->path, pi->rows[i].r->line, error_strerror(rc));
        }
    }
    /* Pass 2: managers and reporting lines. */
    for (i = 0; i < pi->tab.n; i++) {
        rc = people_line_row(pi, t, &pi->rows[i]);
        if (rc < 0) {
            return txn_fail(a, rc, "%s:%zu: %s", pi->path, pi->rows[i].r->line, error_strerror(rc));
        }
    }
    snprintf(pi->summary, sizeof(pi->summary),
             "people: %zu rows; %zu added, %zu updated, %zu unchanged; reporting lines: %zu "
             "changed",
             pi->tab.n, pi->added, pi->updated, pi->unchanged, pi->lines);
    if (pi->errs.total == 0 && !pi->dry_run && pi->added + pi->updated + pi->lines > 0) {
        rc = audit_append(t, a->now_ms, a->actor, "import.people", pi->path, pi->summary, a->origin,
                          NULL);
        if (rc < 0) {
            return txn_fail(a, rc, "audit: %s", error_strerror(rc));
        }
    }
    return import_finish(&pi->errs, pi->dry_run);
}

static int run_import_people(struct admin *a)
{
    struct people_import *pi = NULL;
    int code = 1;
    int rc;

    pi = calloc(1, sizeof(*pi));
    if (pi == NULL) {
        errorf(a, "out of memory");
        return 1;
    }
    pi->a = a;
    pi->path = a->pos[0];
    if (table_errs_init(&pi->errs, a->pos[0], ADMIN_MAX_ERRORS) < 0) {
        errorf(a, "out of memory");
        goto out;
    }
    pi->dry_run = opt(a, "dry-run") != NULL;
    if (open_store(a, 0) < 0) {
        goto out;
    }
    rc = table_load(pi->path, people_cols, P_NCOL, &pi->tab, &pi->errs);
    if (rc == 0) {
        rc = people_check(pi);
    }
    if (rc == -ENOMEM) {
        errorf(a, "out of memory");
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
        store_failure(a, rc);
    }
out:
    table_clear(&pi->tab);
    table_errs_close(&pi->errs);
    free(pi->rows);
    free(pi->by_id);
    free(pi);
    return code;
}

/* ---- import programme ---------------------------------------------------- */

enum { G_PROG, G_NAME, G_COHORT, G_START, G_PERSON, G_MODULE, G_ATTENDED, G_COMPLETED, G_NCOL };

static const char *const programme_cols[G_NCOL] = {"programme_id", "programme_name", "cohort_id",
                                                   "cohort_start", "person_id",      "module",
                                                   "attended_on",  "completed_on"};

struct prog_row {
    const struct table_row *r; /* borrowed from the table */
    int32_t start, attended, completed;
    int has_start, has_attended, has_completed;
};

struct prog_import {
    struct admin *a;
    const char *path;
    struct table tab;
    struct prog_row *rows;
    struct prog_row **sorted; /* by programme, person, line */
    struct table_errs errs;
    size_t static_errs;
    /* Results, set afresh by each run of the callback. */
    size_t progs_added, progs_renamed, enr_added, enr_updated, enr_unchanged, attended, completions;
    char summary[320];
};

static int cmp_prog_row(const void *x, const void *y)
{
    const struct prog_row *a = *(struct prog_row *const *)x;
    const struct prog_row *b = *(struct prog_row *const *)y;
    int c = strcmp(a->r->f[G_PROG], b->r->f[G_PROG]);

    if (c == 0) {
        c = strcmp(a->r->f[G_PERSON], b->r->f[G_PERSON]);
    }
    if (c != 0) {
        return c;
    }
    return a->r->line < b->r->line ? -1 : a->r->line > b->r->line;
}

static void prog_check_row(struct prog_import *gi, struct prog_row *g)
{
    const struct table_row *r = g->r;
    struct table_errs *e = &gi->errs;

    table_check_id(e, r, G_PROG, "programme_id");
    table_check_text(e, r, G_NAME, "programme_name", ADMIN_MAX_NAME, 1);
    table_check_id(e, r, G_COHORT, "cohort_id");
    table_check_date(e, r, G_START, "cohort_start", 1, &g->start, &g->has_start);
    table_check_id(e, r, G_PERSON, "person_id");
    table_check_text(e, r, G_MODULE, "module", ADMIN_MAX_MODULE, 0);
    table_check_date(e, r, G_ATTENDED, "attended_on", 0, &g->attended, &g->has_attended);
    table_check_date(e, r, G_COMPLETED, "completed_on", 0, &g->completed, &g->has_completed);
    if (r->f[G_MODULE][0] != '\0' && r->f[G_ATTENDED][0] == '\0') {
        table_err(e, r->line, r->col[G_ATTENDED],
                  "attended_on is empty; module '%s' needs the day it was attended",
                  r->f[G_MODULE]);
    } else if (r->f[G_MODULE][0] == '\0' && r->f[G_ATTENDED][0] != '\0') {
        table_err(e, r->line, r->col[G_MODULE],
                  "module is empty; attended_on needs the module that was attended");
    }
}

/* Rows that must agree: a programme's name, and a person's cohort and
 * completion within one programme (one enrolment per programme and person). */
static void prog_check_groups(struct prog_import *gi)
{
    const struct prog_row *first_of_prog = NULL, *first_of_enr = NULL;
    size_t i;

    for (i = 0; i < gi->tab.n; i++) {
        const struct prog_row *g = gi->sorted[i];
        const struct table_row *r = g->r;

        if (first_of_prog == NULL || strcmp(first_of_prog->r->f[G_PROG], r->f[G_PROG]) != 0) {
            first_of_prog = g;
            first_of_enr = g;
            continue;
        }
        if (strcmp(first_of_prog->r->f[G_NAME], r->f[G_NAME]) != 0) {
            table_err(&gi->errs, r->line, r->col[G_NAME],
                      "programme '%s' is named '%s' on line %zu", r->f[G_PROG],
                      first_of_prog->r->f[G_NAME], first_of_prog->r->line);
        }
        if (strcmp(first_of_enr->r->f[G_PERSON], r->f[G_PERSON]) != 0) {
            first_of_enr = g;
            continue;
        }
        if (strcmp(first_of_enr->r->f[G_COHORT], r->f[G_COHORT]) != 0 ||
            strcmp(first_of_enr->r->f[G_START], r->f[G_START]) != 0) {
            table_err(&gi->errs, r->line, r->col[G_COHORT],
                      "'%s' is in cohort '%s' starting %s on line %zu; a person is in one "
                      "cohort per programme",
                      r->f[G_PERSON], first_of_enr->r->f[G_COHORT], first_of_enr->r->f[G_START],
                      first_of_enr->r->line);
        }
    }
    /* Completion dates of one enrolment must agree where given. */
    for (i = 1; i < gi->tab.n; i++) {
        const struct prog_row *g = gi->sorted[i];
        size_t k;

        if (!g->has_completed) {
            continue;
        }
        for (k = i; k > 0; k--) {
            const struct prog_row *p = gi->sorted[k - 1];

            if (strcmp(p->r->f[G_PROG], g->r->f[G_PROG]) != 0 ||
                strcmp(p->r->f[G_PERSON], g->r->f[G_PERSON]) != 0) {
                break;
            }
            if (p->has_completed) {
                if (p->completed != g->completed) {
                    table_err(&gi->errs, g->r->line, g->r->col[G_COMPLETED],
                              "completed_on '%s' differs from '%s' on line %zu",
                              g->r->f[G_COMPLETED], p->r->f[G_COMPLETED], p->r->line);
                }
                break;
            }
        }
    }
}

static int prog_check(struct prog_import *gi)
{
    size_t i;

    gi->rows = calloc(gi->tab.n + 1, sizeof(*gi->rows));
    gi->sorted = calloc(gi->tab.n + 1, sizeof(*gi->sorted));
    if (gi->rows == NULL || gi->sorted == NULL) {
        return -ENOMEM;
    }
    for (i = 0; i < gi->tab.n; i++) {
        gi->rows[i].r = &gi->tab.rows[i];
        gi->sorted[i] = &gi->rows[i];
        prog_check_row(gi, &gi->rows[i]);
    }
    qsort(gi->sorted, gi->tab.n, sizeof(*gi->sorted), cmp_prog_row);
    prog_check_groups(gi);
    return 0;
}

static int prog_put_programme(struct prog_import *gi, struct store_txn *t,
                              const struct table_row *r)
{
    Coachq__V1__Programme p = COACHQ__V1__PROGRAMME__INIT;
    Coachq__V1__Programme *old = NULL;
    int rc, changed = 0;

    rc = people_programme_get(t, r->f[G_PROG], &old);
    if (rc < 0 && rc != -ENOENT) {
        return rc;
    }
    p.id = r->f[G_PROG];
    p.name = r->f[G_NAME];
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
                              struct prog_row *const *g, size_t n)
{
    Coachq__V1__Enrolment e = COACHQ__V1__ENROLMENT__INIT;
    Coachq__V1__Enrolment *old = NULL;
    Coachq__V1__Attendance *fresh = NULL;
    Coachq__V1__Attendance **list = NULL;
    const struct table_row *r = g[0]->r;
    size_t i, nold = 0, nfresh = 0;
    int rc, changed = 0;

    rc = people_enrolment_get(t, r->f[G_PROG], r->f[G_PERSON], &old);
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
    e.programme_id = r->f[G_PROG];
    e.person_id = r->f[G_PERSON];
    e.cohort_id = r->f[G_COHORT];
    e.cohort_start_day = g[0]->start;
    e.completed_day = old != NULL ? old->completed_day : 0;
    for (i = 0; i < n; i++) {
        if (g[i]->has_attended &&
            !has_attendance(list, nold + nfresh, g[i]->r->f[G_MODULE], g[i]->attended)) {
            Coachq__V1__Attendance init = COACHQ__V1__ATTENDANCE__INIT;

            fresh[nfresh] = init;
            fresh[nfresh].module = g[i]->r->f[G_MODULE];
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
    while (i < gi->tab.n) {
        const struct table_row *r = gi->sorted[i]->r;
        Coachq__V1__Person *p = NULL;
        size_t j = i + 1;

        while (j < gi->tab.n && strcmp(gi->sorted[j]->r->f[G_PROG], r->f[G_PROG]) == 0 &&
               strcmp(gi->sorted[j]->r->f[G_PERSON], r->f[G_PERSON]) == 0) {
            j++;
        }
        rc = validate_id(r->f[G_PERSON]) < 0 ? -EINVAL : people_get(t, r->f[G_PERSON], &p);
        if (rc == -ENOENT) {
            table_err(&gi->errs, r->line, r->col[G_PERSON],
                      "person_id '%s' is not in the store (import people first)", r->f[G_PERSON]);
        } else if (rc < 0 && rc != -EINVAL) {
            return txn_fail(a, rc, "%s:%zu: %s", gi->path, r->line, error_strerror(rc));
        }
        if (p != NULL) {
            coachq__v1__person__free_unpacked(p, NULL);
        }
        if (gi->errs.total == 0) {
            if (i == 0 || strcmp(gi->sorted[i - 1]->r->f[G_PROG], r->f[G_PROG]) != 0) {
                rc = prog_put_programme(gi, t, r);
            } else {
                rc = 0;
            }
            if (rc == 0) {
                rc = prog_put_enrolment(gi, t, &gi->sorted[i], j - i);
            }
            if (rc < 0) {
                return txn_fail(a, rc, "%s:%zu: %s", gi->path, r->line, error_strerror(rc));
            }
        }
        i = j;
    }
    snprintf(gi->summary, sizeof(gi->summary),
             "programme: %zu rows; programmes: %zu added, %zu renamed; enrolments: %zu added, "
             "%zu updated, %zu unchanged; attendances: %zu added; completions: %zu set",
             gi->tab.n, gi->progs_added, gi->progs_renamed, gi->enr_added, gi->enr_updated,
             gi->enr_unchanged, gi->attended, gi->completions);
    if (gi->errs.total == 0 &&
        gi->progs_added + gi->progs_renamed + gi->enr_added + gi->enr_updated > 0) {
        rc = audit_append(t, a->now_ms, a->actor, "import.programme", gi->path, gi->summary,
                          a->origin, NULL);
        if (rc < 0) {
            return txn_fail(a, rc, "audit: %s", error_strerror(rc));
        }
    }
    return import_finish(&gi->errs, 0);
}

static int run_import_programme(struct admin *a)
{
    struct prog_import *gi = NULL;
    int code = 1;
    int rc;

    gi = calloc(1, sizeof(*gi));
    if (gi == NULL) {
        errorf(a, "out of memory");
        return 1;
    }
    gi->a = a;
    gi->path = a->pos[0];
    if (table_errs_init(&gi->errs, a->pos[0], ADMIN_MAX_ERRORS) < 0) {
        errorf(a, "out of memory");
        goto out;
    }
    if (open_store(a, 0) < 0) {
        goto out;
    }
    rc = table_load(gi->path, programme_cols, G_NCOL, &gi->tab, &gi->errs);
    if (rc == 0) {
        rc = prog_check(gi);
    }
    if (rc == -ENOMEM) {
        errorf(a, "out of memory");
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
        store_failure(a, rc);
    }
out:
    table_clear(&gi->tab);
    table_errs_close(&gi->errs);
    free(gi->rows);
    free(gi->sorted);
    free(gi);
    return code;
}

/* ---- user add, disable, enable, pin --------------------------------------- */

/* A change to one person, run by person_change_txn(). */
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
    /* Out. */
    int changed;
    char detail[512];
};

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
        return txn_fail(pc->a, -EEXIST,
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
            return txn_fail(pc->a, rc, "manager '%s' is not in the store", pc->manager);
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
static int person_change_txn(struct store_txn *t, void *arg)
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
            rc = txn_fail(a, rc, "no user '%s' (see '%s user list')", pc->id, a->prog);
            goto out;
        }
        if (rc < 0) {
            goto out;
        }
        p = *old;
        if (pc->need_role && old->n_roles == 0) {
            rc = txn_fail(a, -EPERM, "'%s' holds no role (a rep): reps have no login", pc->id);
            goto out;
        }
        if (pc->need_role && old->disabled) {
            rc = txn_fail(a, -EPERM, "'%s' is disabled; enable them first ('%s user enable %s')",
                          pc->id, a->prog, pc->id);
            goto out;
        }
        if (pc->set_disabled >= 0 && (int)old->disabled != pc->set_disabled) {
            p.disabled = pc->set_disabled;
            pc->changed = 1;
        }
    }
    if (pc->pin && (old == NULL || !pin_held(old, pc->sha))) {
        if (p.n_cert_sha256 >= ADMIN_MAX_PINS) {
            rc = txn_fail(a, -ENOSPC, "'%s' has %d pinned certificates already", pc->id,
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
        rc = txn_fail(a, rc, "cannot store '%s': %s", pc->id, error_strerror(rc));
        goto out;
    }
    if (pc->add && pc->manager != NULL) {
        rc = people_line_put(t, pc->id, pc->manager, pc->effective, NULL);
        if (rc < 0) {
            rc = txn_fail(a, rc, "reporting line: %s", error_strerror(rc));
            goto out;
        }
    }
    rc = audit_append(t, a->now_ms, a->actor, pc->action, pc->id, pc->detail, a->origin, NULL);
    if (rc < 0) {
        rc = txn_fail(a, rc, "audit: %s", error_strerror(rc));
    }
out:
    free(pins);
    if (old != NULL) {
        coachq__v1__person__free_unpacked(old, NULL);
    }
    return rc;
}

static void person_change_init(struct person_change *pc, struct admin *a, const char *action)
{
    memset(pc, 0, sizeof(*pc));
    pc->a = a;
    pc->id = a->pos[0];
    pc->action = action;
    pc->set_disabled = -1;
}

static int run_user_add(struct admin *a)
{
    struct person_change pc;
    const char *role = opt(a, "role");
    char msg[200], roles[160], fp[100], day[16] = "";
    int32_t eff = 0;
    int rc;

    person_change_init(&pc, a, "user.add");
    pc.add = 1;
    pc.name = opt(a, "name");
    pc.email = opt(a, "email");
    pc.manager = opt(a, "manager");
    if (arg_id(a, "user", pc.id) < 0) {
        return 2;
    }
    if (pc.name == NULL || pc.name[0] == '\0' || role == NULL) {
        return usage_error(a, "--name and --role are required");
    }
    if (!plain_text(pc.name, ADMIN_MAX_NAME) ||
        (pc.email != NULL && (!plain_text(pc.email, ADMIN_MAX_EMAIL) || !email_like(pc.email)))) {
        return usage_error(a, "--name or --email is too long, holds control characters, or the "
                              "e-mail is not an address");
    }
    if (parse_roles(role, pc.roles, &pc.nroles, msg, sizeof(msg)) < 0) {
        return usage_error(a, "--role: %s", msg);
    }
    if ((pc.manager != NULL) != (opt(a, "effective") != NULL)) {
        return usage_error(a, "--manager and --effective go together");
    }
    if (pc.manager != NULL && arg_id(a, "manager", pc.manager) < 0) {
        return 2;
    }
    if (pc.manager != NULL && strcmp(pc.manager, pc.id) == 0) {
        return usage_error(a, "'%s' cannot be their own manager", pc.id);
    }
    if (opt_date(a, "effective", 0, &eff) < 0) {
        return 2;
    }
    pc.effective = eff;
    if (opt(a, "cert") != NULL) {
        if (pin_from_file(a, pc.id, opt(a, "cert"), pc.sha) < 0) {
            return 1;
        }
        pc.pin = 1;
    }
    fmt_roles(pc.roles, pc.nroles, roles, sizeof(roles));
    hex_fingerprint(pc.sha, sizeof(pc.sha), fp, sizeof(fp));
    snprintf(pc.detail, sizeof(pc.detail), "name=%s; roles=%s%s%s%s%s%s%s", pc.name, roles,
             pc.manager ? "; manager=" : "", pc.manager ? pc.manager : "",
             pc.manager ? " from " : "", pc.manager ? fmt_day(eff, day, sizeof(day)) : "",
             pc.pin ? "; pinned sha256=" : "", pc.pin ? fp : "");
    if (open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_exec(a->store, person_change_txn, &pc);
    if (rc < 0) {
        return store_failure(a, rc);
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

    person_change_init(&pc, a, disabled ? "user.disable" : "user.enable");
    pc.set_disabled = disabled;
    snprintf(pc.detail, sizeof(pc.detail), "%s",
             disabled ? "certificate refused from the next connection" : "login allowed again");
    if (arg_id(a, "user", pc.id) < 0) {
        return 2;
    }
    if (open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_exec(a->store, person_change_txn, &pc);
    if (rc < 0) {
        return store_failure(a, rc);
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

static int run_user_disable(struct admin *a)
{
    return set_disabled(a, 1);
}

static int run_user_enable(struct admin *a)
{
    return set_disabled(a, 0);
}

static int run_user_pin(struct admin *a)
{
    struct person_change pc;
    char fp[100];
    int rc;

    person_change_init(&pc, a, "user.pin");
    if (arg_id(a, "user", pc.id) < 0) {
        return 2;
    }
    if (pin_from_file(a, pc.id, a->pos[1], pc.sha) < 0) {
        return 1;
    }
    pc.pin = 1;
    hex_fingerprint(pc.sha, sizeof(pc.sha), fp, sizeof(fp));
    snprintf(pc.detail, sizeof(pc.detail), "sha256=%s", fp);
    if (open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_exec(a->store, person_change_txn, &pc);
    if (rc < 0) {
        return store_failure(a, rc);
    }
    if (pc.changed) {
        printf("user %s: pinned certificate SHA-256 %s\n", pc.id, fp);
    } else {
        printf("user %s: unchanged (certificate SHA-256 %s is already pinned)\n", pc.id, fp);
    }
    return 0;
}

/* ---- user show, user list -------------------------------------------------- */

struct show {
    struct admin *a;
    struct store_txn *t;
    const char *id;
    size_t n;
};

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
    struct show *sh = arg;
    char day[16];

    printf("  from %s: ", fmt_day(line->effective_day, day, sizeof(day)));
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
    struct show *sh = arg;

    printf("  ");
    print_person_ref(sh->t, id);
    printf("\n");
    sh->n++;
    return 0;
}

static void print_cert(const Coachq__V1__Certification *c, int32_t today, int with_observer)
{
    char from[16], until[16];

    printf("  %s%s%s from %s until %s, granted by %s", with_observer ? c->observer_id : "",
           with_observer ? "  " : "", c->rubric_id, fmt_day(c->valid_from_day, from, sizeof(from)),
           fmt_day(c->valid_until_day, until, sizeof(until)), c->granted_by);
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
    struct show *sh = arg;

    print_cert(c, sh->a->today, 0);
    sh->n++;
    return 0;
}

static int user_show_txn(struct store_txn *t, void *arg)
{
    struct show *sh = arg;
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
           fmt_roles(p->roles, p->n_roles, roles, sizeof(roles)),
           p->disabled ? "disabled" : "enabled", fmt_ms(p->updated_at_ms, at, sizeof(at)));
    printf("pinned certificates (SHA-256):%s\n", p->n_cert_sha256 ? "" : " none");
    for (i = 0; i < p->n_cert_sha256; i++) {
        hex_fingerprint(p->cert_sha256[i].data, p->cert_sha256[i].len, fp, sizeof(fp));
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

static int run_user_show(struct admin *a)
{
    struct show sh;
    int rc;

    memset(&sh, 0, sizeof(sh));
    sh.a = a;
    sh.id = a->pos[0];
    if (arg_id(a, "user", sh.id) < 0) {
        return 2;
    }
    if (open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_view(a->store, user_show_txn, &sh);
    fflush(stdout);
    if (rc == -ENOENT) {
        errorf(a, "no user '%s' (see '%s user list')", sh.id, a->prog);
        return 1;
    }
    return rc < 0 ? store_failure(a, rc) : 0;
}

static int user_list_cb(const Coachq__V1__Person *p, void *arg)
{
    struct show *sh = arg;
    char roles[160], mgr[VALIDATE_MAX_ID + 1];

    if (people_manager_at(sh->t, p->id, sh->a->today, mgr, sizeof(mgr)) < 0) {
        mgr[0] = '\0';
    }
    printf("%-24s %-28s %-9s %4zu  %-20s %s\n", p->id, p->name,
           p->disabled ? "disabled" : "enabled", p->n_cert_sha256, mgr[0] ? mgr : "-",
           fmt_roles(p->roles, p->n_roles, roles, sizeof(roles)));
    sh->n++;
    return 0;
}

static int user_list_txn(struct store_txn *t, void *arg)
{
    struct show *sh = arg;
    int rc;

    sh->t = t;
    printf("%-24s %-28s %-9s %4s  %-20s %s\n", "ID", "NAME", "STATUS", "PINS", "MANAGER", "ROLES");
    rc = people_list(t, user_list_cb, sh);
    if (rc >= 0) {
        printf("%zu people\n", sh->n);
    }
    return rc;
}

static int run_user_list(struct admin *a)
{
    struct show sh;
    int rc;

    memset(&sh, 0, sizeof(sh));
    sh.a = a;
    if (open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_view(a->store, user_list_txn, &sh);
    return rc < 0 ? store_failure(a, rc) : 0;
}

/* ---- cert issue, grant, list ---------------------------------------------- */

static int run_cert_issue(struct admin *a)
{
    const char *ca_cert = opt(a, "ca-cert") != NULL ? opt(a, "ca-cert") : "dev-certs/ca.crt";
    const char *ca_key = opt(a, "ca-key") != NULL ? opt(a, "ca-key") : "dev-certs/ca.key";
    const char *out = opt(a, "out") != NULL ? opt(a, "out") : ".";
    struct person_change pc;
    char err[512], fp[100], crt[1100], key[1100];
    long days;
    int rc;

    person_change_init(&pc, a, "cert.issue");
    pc.pin = 1;
    pc.need_role = 1;
    if (arg_id(a, "user", pc.id) < 0 ||
        opt_long(a, "days", 1, ADMIN_MAX_CERT_DAYS, ADMIN_DEFAULT_DAYS, &days) < 0) {
        return 2;
    }
    snprintf(crt, sizeof(crt), "%s/%s.crt", out, pc.id);
    snprintf(key, sizeof(key), "%s/%s.key", out, pc.id);
    if (open_store(a, 0) < 0) {
        return 1;
    }
    /* The user's checks run before any file is made, and again in the
     * transaction that pins the certificate. */
    pc.check_only = 1;
    rc = store_exec(a->store, person_change_txn, &pc);
    if (rc != ADMIN_DRY_RUN) {
        return store_failure(a, rc);
    }
    rc = mkdir_p(out, 0700);
    if (rc < 0) {
        errorf(a, "cannot create '%s': %s", out, error_strerror(rc));
        return 1;
    }
    err[0] = '\0';
    rc = certissue_user(ca_cert, ca_key, pc.id, (int)days, out, pc.sha, err, sizeof(err));
    if (rc < 0) {
        errorf(a, "%s", err[0] ? err : error_strerror(rc));
        return 1;
    }
    hex_fingerprint(pc.sha, sizeof(pc.sha), fp, sizeof(fp));
    snprintf(pc.detail, sizeof(pc.detail), "sha256=%s; days=%ld; ca=%s; out=%s", fp, days, ca_cert,
             out);
    pc.check_only = 0;
    rc = store_exec(a->store, person_change_txn, &pc);
    if (rc < 0) {
        /* Nothing was pinned, so the files would only mislead. */
        unlink(crt);
        unlink(key);
        store_failure(a, rc);
        errorf(a, "removed %s and %s again", crt, key);
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
        return txn_fail(a, rc, "no user '%s'", g->observer);
    }
    if (rc < 0) {
        return rc;
    }
    holds = people_has_role(p, COACHQ__V1__ROLE__ROLE_OBSERVER) > 0;
    coachq__v1__person__free_unpacked(p, NULL);
    if (!holds) {
        return txn_fail(a, -EPERM, "'%s' does not hold the observer role", g->observer);
    }
    rc = rubrics_get(t, g->rubric, 0, &r);
    if (rc == -ENOENT) {
        return txn_fail(a, rc, "no rubric '%s' (see '%s rubric list')", g->rubric, a->prog);
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
        return txn_fail(a, rc, "cannot store the certification: %s", error_strerror(rc));
    }
    snprintf(subject, sizeof(subject), "%s/%s", g->observer, g->rubric);
    snprintf(detail, sizeof(detail), "from %s until %s", fmt_day(g->from, from, sizeof(from)),
             fmt_day(g->until, until, sizeof(until)));
    rc = audit_append(t, a->now_ms, a->actor, "cert.grant", subject, detail, a->origin, NULL);
    if (rc < 0) {
        return txn_fail(a, rc, "audit: %s", error_strerror(rc));
    }
    g->changed = 1;
    return 0;
}

static int run_cert_grant(struct admin *a)
{
    struct grant g;
    char from[16], until[16];
    long days;
    int rc;

    memset(&g, 0, sizeof(g));
    g.a = a;
    g.observer = a->pos[0];
    g.rubric = a->pos[1];
    if (arg_id(a, "observer", g.observer) < 0 || arg_id(a, "rubric", g.rubric) < 0 ||
        opt_date(a, "from", a->today, &g.from) < 0 ||
        opt_long(a, "days", 1, ADMIN_MAX_CERT_DAYS, ADMIN_DEFAULT_DAYS, &days) < 0) {
        return 2;
    }
    if (opt(a, "until") != NULL && opt(a, "days") != NULL) {
        return usage_error(a, "give --until or --days, not both");
    }
    /* Both days are inclusive: N days from D end on D + N - 1. */
    g.until = g.from + (int32_t)days - 1;
    if (opt_date(a, "until", g.until, &g.until) < 0) {
        return 2;
    }
    if (g.until < g.from) {
        return usage_error(a, "--until is before --from");
    }
    if (open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_exec(a->store, cert_grant_txn, &g);
    if (rc < 0) {
        return store_failure(a, rc);
    }
    printf("certification %s for %s from %s until %s: %s\n", g.observer, g.rubric,
           fmt_day(g.from, from, sizeof(from)), fmt_day(g.until, until, sizeof(until)),
           g.changed ? "granted" : "unchanged (already granted)");
    return 0;
}

static int cert_list_cb(const Coachq__V1__Certification *c, void *arg)
{
    struct show *sh = arg;

    print_cert(c, sh->a->today, 1);
    sh->n++;
    return 0;
}

static int result_list_cb(const Coachq__V1__CalibrationResult *r, void *arg)
{
    struct show *sh = arg;
    char at[32];
    char kappa[32];

    if (r->kappa_undefined) {
        snprintf(kappa, sizeof(kappa), "undefined");
    } else {
        snprintf(kappa, sizeof(kappa), "%.2f", r->kappa);
    }
    printf("  %s  %s  %s: %s, %u sessions, n=%u, exact %.2f, within one %.2f, kappa %s%s%s\n",
           r->observer_id, r->rubric_id, fmt_ms(r->at_ms, at, sizeof(at)),
           r->passed ? "passed" : "not passed", r->sessions, r->n, r->exact, r->within_one, kappa,
           r->reason[0] ? ": " : "", r->reason);
    sh->n++;
    return 0;
}

static int cert_list_txn(struct store_txn *t, void *arg)
{
    struct show *sh = arg;
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

static int run_cert_list(struct admin *a)
{
    struct show sh;
    int rc;

    memset(&sh, 0, sizeof(sh));
    sh.a = a;
    sh.id = a->npos > 0 ? a->pos[0] : NULL;
    if (sh.id != NULL && arg_id(a, "observer", sh.id) < 0) {
        return 2;
    }
    if (open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_view(a->store, cert_list_txn, &sh);
    fflush(stdout);
    if (rc == -ENOENT && sh.id != NULL) {
        errorf(a, "no user '%s'", sh.id);
        return 1;
    }
    return rc < 0 ? store_failure(a, rc) : 0;
}

/* ---- audit ----------------------------------------------------------------- */

struct audit_walk {
    int64_t since_ms;
    uint64_t limit; /* 0: every entry */
    uint64_t total; /* entries since since_ms, counted first with a limit */
    uint64_t seen;
    int printing;
};

static int audit_print_cb(const Coachq__V1__AuditEntry *e, void *arg)
{
    struct audit_walk *w = arg;
    char at[32];

    if (!w->printing) {
        w->total++;
        return 0;
    }
    /* With a limit, pass over all but the newest entries. */
    if (w->limit > 0 && w->total > w->limit && w->seen++ < w->total - w->limit) {
        return 0;
    }
    printf("%" PRIu64 "  %s  %s  %s  %s  %s  (%s)\n", e->seq, fmt_ms(e->at_ms, at, sizeof(at)),
           e->actor, e->action, e->subject[0] ? e->subject : "-", e->detail[0] ? e->detail : "-",
           e->origin[0] ? e->origin : "-");
    return 0;
}

static int audit_txn(struct store_txn *t, void *arg)
{
    struct audit_walk *w = arg;
    int rc;

    /* Both passes in one read transaction see the same entries. */
    if (w->limit > 0) {
        rc = audit_list(t, w->since_ms, audit_print_cb, w);
        if (rc < 0) {
            return rc;
        }
    }
    w->printing = 1;
    return audit_list(t, w->since_ms, audit_print_cb, w);
}

static int run_audit(struct admin *a)
{
    struct audit_walk w;
    const char *since = opt(a, "since");
    long limit;
    int rc;

    memset(&w, 0, sizeof(w));
    if (since != NULL && parse_time_ms(since, &w.since_ms) < 0) {
        return usage_error(a, "--since: '%s' is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", since);
    }
    if (opt_long(a, "limit", 1, LONG_MAX, 0, &limit) < 0) {
        return 2;
    }
    w.limit = (uint64_t)limit;
    if (open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_view(a->store, audit_txn, &w);
    return rc < 0 ? store_failure(a, rc) : 0;
}

/* ---- demo ------------------------------------------------------------------- */

static int any_person_cb(const Coachq__V1__Person *p, void *arg)
{
    (void)p;
    *(int *)arg = 1;
    return 1;
}

static int any_person_txn(struct store_txn *t, void *arg)
{
    return people_list(t, any_person_cb, arg);
}

struct demo_audit {
    struct admin *a;
    char detail[256];
};

static int demo_audit_txn(struct store_txn *t, void *arg)
{
    struct demo_audit *d = arg;

    return audit_append(t, d->a->now_ms, d->a->actor, "demo", d->a->data_dir, d->detail,
                        d->a->origin, NULL);
}

static int run_demo(struct admin *a)
{
    struct demo_summary sum;
    struct demo_opts o;
    struct demo_audit da;
    const char *seed = opt(a, "seed");
    int found = 0;
    int rc;

    memset(&o, 0, sizeof(o));
    memset(&sum, 0, sizeof(sum));
    o.seed = 1;
    if (seed != NULL && parse_u64(seed, &o.seed) < 0) {
        return usage_error(a, "--seed: '%s' is not a whole number", seed);
    }
    o.now = a->now_ms / 1000;
    o.progress = stderr;
    if (open_store(a, 1) < 0) {
        return 1;
    }
    rc = store_view(a->store, any_person_txn, &found);
    if (rc < 0) {
        return store_failure(a, rc);
    }
    if (found) {
        errorf(a, "'%s' already holds people; the demo needs a new data directory", a->data_dir);
        return 1;
    }
    printf("data directory: %s\n", a->data_dir);
    if (load_builtins(a) != 0) {
        return 1;
    }
    rc = demo_run(a->store, &o, &sum);
    if (rc < 0) {
        errorf(a, "the demo failed: %s",
               rc == -ENOSYS ? "not available in this build" : error_strerror(rc));
        return 1;
    }
    memset(&da, 0, sizeof(da));
    da.a = a;
    snprintf(da.detail, sizeof(da.detail),
             "seed=%" PRIu64 "; people=%u; observations=%u; calibrations=%u; cohorts=%u", o.seed,
             sum.people, sum.observations, sum.calibrations, sum.cohorts);
    rc = store_exec(a->store, demo_audit_txn, &da);
    if (rc < 0) {
        return store_failure(a, rc);
    }
    printf("demo (seed %" PRIu64 "): %u people: %u observers, %u second-level managers, %u "
           "front-line managers, %u reps, %u enablement lead%s\n",
           o.seed, sum.people, sum.observers, sum.second_level, sum.front_line, sum.reps, sum.leads,
           sum.leads == 1 ? "" : "s");
    printf("  %u observations, %u calibration attempts, %u programme cohorts\n", sum.observations,
           sum.calibrations, sum.cohorts);
    printf("start the server with '%s --data %s'\n", a->prog, a->data_dir);
    return 0;
}

/*
 * Commands that may change the past of the organisation (a back-dated
 * reporting line, an enrolment, a certification) change which scope an
 * observation counts in, so the aggregates are brought up to date right
 * after them, in their own transaction: the records are the truth, the
 * aggregates only their sum (`coachqd verify` compares the two).
 */
static int refresh_aggregates(struct admin *a)
{
    static const char *const changes_past[] = {"import people", "import programme", "cert grant"};
    struct agg_verify_result r;
    int rc;

    if (a->store == NULL) {
        return 0;
    }
    for (size_t i = 0; i < sizeof(changes_past) / sizeof(changes_past[0]); i++) {
        if (strcmp(a->name, changes_past[i]) != 0) {
            continue;
        }
        memset(&r, 0, sizeof(r));
        rc = agg_verify(a->store, 0, NULL, NULL, &r);
        if (rc == 0 && r.differences > 0) {
            rc = agg_verify(a->store, 1, NULL, NULL, &r);
            if (rc == 0) {
                printf("dashboard aggregates brought up to date (%" PRIu64 " changed)\n",
                       r.differences);
            }
        }
        if (rc != 0) {
            errorf(a,
                   "the change is stored, but the dashboards' aggregates could not be "
                   "brought up to date: %s; run `coachqd verify --repair`",
                   error_strerror(rc));
            return 1;
        }
        return 0;
    }
    return 0;
}

/* ---- Entry points ----------------------------------------------------------- */

int admin_is_verb(const char *verb)
{
    size_t i;

    if (verb == NULL) {
        return 0;
    }
    for (i = 0; i < ADMIN_NCMDS; i++) {
        if (strcmp(admin_cmds[i].verb, verb) == 0) {
            return 1;
        }
    }
    return 0;
}

static int admin_run(struct store *borrowed, int argc, char **argv)
{
    const char *slash = strrchr(argv[0], '/');
    struct timespec ts;
    struct admin *a;
    int first = 0;
    int code;

    if (argc < 2 || !admin_is_verb(argv[1])) {
        fprintf(stderr, "%s: unknown command '%s'\n", argv[0], argc > 1 ? argv[1] : "");
        return 2;
    }
    /* struct admin is large (messages); keep it off the stack. */
    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        return 1;
    }
    a->store = borrowed;
    a->prog = slash != NULL ? slash + 1 : argv[0];
    a->data_dir = "data";
    argv[0] = (char *)a->prog;
    code = find_cmd(argc, argv, &a->cmd, &first);
    if (a->cmd == NULL) {
        goto out;
    }
    snprintf(a->name, sizeof(a->name), "%s%s%s", a->cmd->verb, a->cmd->sub ? " " : "",
             a->cmd->sub ? a->cmd->sub : "");
    snprintf(a->origin, sizeof(a->origin), "coachqd %s", a->name);
    code = parse_args(a, argc, argv, first);
    if (code != 0) {
        code = code == 1 ? 0 : code;
        goto out;
    }
    local_actor(a->actor, sizeof(a->actor));
    clock_gettime(CLOCK_REALTIME, &ts);
    a->now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    a->today = store_day_of(ts.tv_sec);
    code = a->cmd->run(a);
    if (code == 0) {
        code = refresh_aggregates(a);
    }
out:
    fflush(stdout);
    if (a->store != borrowed) {
        store_close(a->store);
    }
    free(a);
    return code;
}

int admin_main(int argc, char **argv)
{
    return admin_run(NULL, argc, argv);
}

int admin_main_store(struct store *s, int argc, char **argv)
{
    return admin_run(s, argc, argv);
}

/* ---- Dashboards: verify, outcomes, browser sign-in ------------------ */

static void verify_diff_cb(const char *key, const char *what, void *arg)
{
    (void)arg;
    printf("difference: %s: %s\n", key, what);
}

struct verify_repair {
    struct admin *a;
    const struct agg_verify_result *r;
};

static int verify_repair_txn(struct store_txn *t, void *arg)
{
    struct verify_repair *vr = arg;
    char detail[160];
    int rc;

    rc = agg_rebuild_txn(t);
    if (rc != 0) {
        return rc;
    }
    snprintf(detail, sizeof(detail),
             "aggregates rebuilt; differences=%" PRIu64 "; observations=%" PRIu64,
             vr->r->differences, vr->r->observations);
    return audit_append(t, vr->a->now_ms, vr->a->actor, "verify.repair", "aggregates", detail,
                        vr->a->origin, NULL);
}

/* Compares in one read transaction; a repair rebuilds everything in one
 * write transaction (with its audit entry), so records written meanwhile
 * are included too. Exit 0: no difference, or repaired; 1: differences. */
static int run_verify(struct admin *a)
{
    struct agg_verify_result r;
    struct verify_repair vr;
    int repair = opt(a, "repair") != NULL;
    int rc;

    if (open_store(a, 0) < 0) {
        return 1;
    }
    rc = agg_verify(a->store, 0, verify_diff_cb, NULL, &r);
    if (rc < 0) {
        return store_failure(a, rc);
    }
    printf("observations read: %" PRIu64 "\ncounted: %" PRIu64 "\naggregate values: %" PRIu64
           "\ndifferences: %" PRIu64 "\n",
           r.observations, r.counted, r.keys, r.differences);
    if (r.differences == 0) {
        printf("the aggregates match the records\n");
        return 0;
    }
    if (!repair) {
        printf("the aggregates differ from the records; '%s verify --repair --data %s' rebuilds "
               "them\n",
               a->prog, a->data_dir);
        return 1;
    }
    vr.a = a;
    vr.r = &r;
    rc = store_exec(a->store, verify_repair_txn, &vr);
    if (rc < 0) {
        return store_failure(a, rc);
    }
    printf("repaired: every aggregate was rebuilt from the records\n");
    return 0;
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
            return txn_fail(a, rc, "%s:%zu: %s", oi->path, oi->pos[i].line, error_strerror(rc));
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
        return txn_fail(a, rc, "%s", error_strerror(rc));
    }
    snprintf(oi->summary, sizeof(oi->summary),
             "outcomes: %zu rows; %" PRIu32 " added, %" PRIu32 " changed, %" PRIu32 " unchanged",
             oi->n, oi->res.added, oi->res.changed, oi->res.unchanged);
    return import_finish(&oi->errs, oi->dry_run);
}

static int run_import_outcomes(struct admin *a)
{
    struct outcomes_import *oi = NULL;
    char *data = NULL;
    size_t len = 0, n_errs = 0;
    int code = 1;
    int rc;

    oi = calloc(1, sizeof(*oi));
    if (oi == NULL) {
        errorf(a, "out of memory");
        return 1;
    }
    oi->a = a;
    oi->path = a->pos[0];
    if (table_errs_init(&oi->errs, a->pos[0], ADMIN_MAX_ERRORS) < 0) {
        errorf(a, "out of memory");
        goto out;
    }
    oi->dry_run = opt(a, "dry-run") != NULL;
    coachq__v1__import_result__init(&oi->res);
    if (open_store(a, 0) < 0) {
        goto out;
    }
    rc = read_file(oi->path, CSV_MAX_FILE, &data, &len);
    if (rc < 0) {
        table_err(&oi->errs, 0, 0, "cannot read: %s",
                  rc == -EFBIG ? "larger than the 64 MiB an import may be" : error_strerror(rc));
        import_print(a, &oi->errs);
        goto out;
    }
    rc = outcomes_parse_csv_pos(oi->path, data, len, outcomes_csv_err, NULL, ADMIN_MAX_ERRORS,
                                &oi->rows, &oi->n, &n_errs, &oi->pos);
    if (rc == -ENOMEM) {
        errorf(a, "out of memory");
        goto out;
    }
    if (rc < 0) {
        if (n_errs > ADMIN_MAX_ERRORS) {
            fprintf(stderr, "(stopped after %d errors)\n", ADMIN_MAX_ERRORS);
        }
        errorf(a, "nothing imported: %zu error%s", n_errs, n_errs == 1 ? "" : "s");
        goto out;
    }
    rc = store_exec(a->store, outcomes_import_cb, oi);
    if (rc == 0 || rc == ADMIN_DRY_RUN) {
        printf("%s%s\n", rc == 0 ? "" : "dry run, nothing written: ", oi->summary);
        code = 0;
    } else if (oi->errs.total > 0) {
        import_print(a, &oi->errs);
    } else {
        store_failure(a, rc);
    }
out:
    outcomes_rows_free(oi->rows, oi->n);
    table_errs_close(&oi->errs);
    free(oi->pos);
    free(data);
    free(oi);
    return code;
}

/* ---- Dashboard sign-in (user password, user link) -------------------- */

#define ADMIN_MAX_PASSWORD 1024

struct dash_signin {
    struct admin *a;
    const char *id;
    char hash[200];                    /* user password */
    int64_t minutes;                   /* user link */
    char token[WEBSESS_TOKEN_LEN + 1]; /* user link: filled by the transaction */
};

/* Whether id may sign in to the dashboards: a person who holds a role and
 * is not disabled. Sets a->err and returns a negative code if not. */
static int dash_user_check(struct dash_signin *d, struct store_txn *t)
{
    struct admin *a = d->a;
    Coachq__V1__Person *p = NULL;
    int rc = people_get(t, d->id, &p);

    if (rc == -ENOENT) {
        return txn_fail(a, rc, "no person '%s' (add them with '%s user add')", d->id, a->prog);
    }
    if (rc < 0) {
        return rc;
    }
    if (auth_roles_of(p) == 0) {
        rc = txn_fail(a, -EINVAL, "'%s' holds no role (a rep): reps do not sign in", d->id);
    } else if (p->disabled) {
        rc = txn_fail(a, -EACCES, "'%s' is disabled; enable them first with '%s user enable %s'",
                      d->id, a->prog, d->id);
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
    rc = websess_set_password_txn(t, d->id, d->hash);
    if (rc < 0) {
        return txn_fail(a, rc, "cannot store the password: %s", error_strerror(rc));
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
        errorf(a, "no password on %s", from);
        return -EINVAL;
    }
    n = strlen(out);
    if (n > 0 && out[n - 1] == '\n') {
        out[--n] = '\0';
    } else if (!feof(f)) {
        errorf(a, "the password on %s is longer than %d bytes", from, ADMIN_MAX_PASSWORD);
        return -EINVAL;
    }
    if (n > 0 && out[n - 1] == '\r') {
        out[--n] = '\0';
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f) {
            errorf(a, "the password on %s holds a control character", from);
            return -EINVAL;
        }
    }
    return (int)n;
}

static int run_user_password(struct admin *a)
{
    struct dash_signin d;
    char pw[ADMIN_MAX_PASSWORD + 2];
    const char *file = opt(a, "password-file");
    size_t chars = 0;
    int n, rc;

    memset(&d, 0, sizeof(d));
    d.a = a;
    d.id = a->pos[0];
    if (arg_id(a, "user", d.id) < 0) {
        return 2;
    }
    if (file != NULL) {
        FILE *f = fopen(file, "r");
        if (f == NULL) {
            errorf(a, "cannot open --password-file '%s': %s", file, strerror(errno));
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
    if (chars < WEBSESS_MIN_PASSWORD) {
        OPENSSL_cleanse(pw, sizeof(pw));
        errorf(a, "the password is too short: %zu characters, at least %d are needed", chars,
               WEBSESS_MIN_PASSWORD);
        return 1;
    }
    rc = websess_hash_password(pw, d.hash, sizeof(d.hash));
    OPENSSL_cleanse(pw, sizeof(pw));
    if (rc < 0) {
        errorf(a, "cannot hash the password: %s", error_strerror(rc));
        return 1;
    }
    if (open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_exec(a->store, user_password_txn, &d);
    if (rc < 0) {
        return store_failure(a, rc);
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
    rc = websess_link_create_txn(t, d->id, a->now_ms / 1000, d->minutes * 60, d->token);
    if (rc < 0) {
        return txn_fail(a, rc, "cannot store the link: %s", error_strerror(rc));
    }
    snprintf(detail, sizeof(detail), "one-time sign-in link, valid %" PRId64 " minutes",
             d->minutes);
    return audit_append(t, a->now_ms, a->actor, "user.link", d->id, detail, a->origin, NULL);
}

static int run_user_link(struct admin *a)
{
    struct dash_signin d;
    const char *url = opt(a, "url");
    const char *mins = opt(a, "minutes");
    uint64_t m = WEBSESS_LINK_TTL_S / 60;
    size_t ulen;
    int rc;

    memset(&d, 0, sizeof(d));
    d.a = a;
    d.id = a->pos[0];
    if (arg_id(a, "user", d.id) < 0) {
        return 2;
    }
    if (url == NULL) {
        url = "https://127.0.0.1:8443";
    }
    ulen = strlen(url);
    if (strncmp(url, "https://", 8) != 0 || ulen <= 8 || ulen > 300) {
        return usage_error(a, "--url: '%s' is not an https:// address", url);
    }
    for (size_t i = 0; i < ulen; i++) {
        unsigned char ch = (unsigned char)url[i];
        if (ch <= 0x20 || ch >= 0x7f || strchr("?#\"<>\\", ch) != NULL) {
            return usage_error(a,
                               "--url: '%s' holds a space, a control character or one of "
                               "? # \" < > \\",
                               url);
        }
    }
    while (ulen > 8 && url[ulen - 1] == '/') {
        ulen--;
    }
    if (mins != NULL && (parse_u64(mins, &m) < 0 || m < 1 || m > 1440)) {
        return usage_error(a, "--minutes: '%s' is not a number from 1 to 1440", mins);
    }
    d.minutes = (int64_t)m;
    if (open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_exec(a->store, user_link_txn, &d);
    if (rc < 0) {
        return store_failure(a, rc);
    }
    printf("%.*s/signin/link?token=%s\n", (int)ulen, url, d.token);
    fprintf(stderr, "The link signs %s in once, within %" PRId64 " minutes.\n", d.id, d.minutes);
    OPENSSL_cleanse(d.token, sizeof(d.token));
    return 0;
}
