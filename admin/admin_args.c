/*
 * admin_args: the command table of coachqd's administration verbs (every
 * command's words, arguments, options and help) and the one parser that
 * reads every command line from it (admin_int.h).
 */
#include "admin_int.h"
#include "admin.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "helpdoc.h"
#include "validate.h"

/* ---- Commands and their options ------------------------------------- */

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
    {"time-zone", "ZONE", "IANA time zone of the person's sessions [the organisation's]"},
    {NULL, NULL, NULL},
};

static const struct admin_opt opts_org[] = {
    {"time-zone", "ZONE",
     "set the organisation's IANA time zone (e.g. Europe/Berlin); rebuilds the aggregates"},
    {NULL, NULL, NULL},
};

static const struct admin_opt opts_user_zone[] = {
    {"clear", NULL, "drop the person's zone: the organisation's applies again"},
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

static const struct admin_opt opts_restore[] = {
    {"force", NULL, "replace a stopped store in --data (it is kept in DIR/pre-restore-<time>/)"},
    {NULL, NULL, NULL},
};

static const struct admin_opt opts_retention[] = {
    {"older-than", "N{m|y|d}",
     "observations whose session date is more than N months, years or days old (required)"},
    {"delete", NULL, "delete every version of them"},
    {"anonymise", NULL,
     "remove their free text and the coach's and coachee's ids, keep the scores"},
    {"as-of", "YYYY-MM-DD", "count the age from this day [today]"},
    {"dry-run", NULL, "report what it would do, change nothing"},
    {"list", NULL, "list every observation affected"},
    {NULL, NULL, NULL},
};

static const struct admin_opt opts_erase[] = {
    {"dry-run", NULL, "report what it would do, change nothing"},
    {NULL, NULL, NULL},
};

static const struct admin_opt opts_plan_set[] = {
    {"rubric", "ID", "the rubric the observers must be certified for (required)"},
    {"per-month", "N", "observations of every front-line manager per calendar month, 1..31"},
    {"per-week", "N", "observations of every front-line manager per week (Monday to Sunday)"},
    {"load-cap", "N", "most open assignments per observer and period [no cap]"},
    {"off-own-line", NULL, "never assign an observer to a manager of their own line"},
    {"off-own-reports", NULL, "never assign an observer to a manager who reports to them"},
    {"off-last-observed", NULL, "never assign the observer of a manager's last observation"},
    {NULL, NULL, NULL},
};

static const struct admin_opt opts_assign[] = {
    {"seed", "N", "the draw's seed, 0..2^64-1 [random, printed]"},
    {"period", "YYYY-MM-DD", "a day in the month or week to draw for [today, organisation's zone]"},
    {"sample", "N", "draw at most N assignments, shared among the lines [every slot]"},
    {"dry-run", NULL, "print the draw, write nothing"},
    {NULL, NULL, NULL},
};

static const struct admin_opt opts_assignment_list[] = {
    {"all", NULL, "also done, expired and reassigned ones"},
    {NULL, NULL, NULL},
};

static const struct admin_opt opts_token_create[] = {
    {"name", "NAME", "what the token is for, e.g. \"warehouse loader\" (required)"},
    {"expires", "DATE|DAYS",
     "the last day it works (YYYY-MM-DD, UTC), or days from now, 1..3650 [never]"},
    {NULL, NULL, NULL},
};

static const struct admin_opt opts_commitment_set[] = {
    {"org", NULL, "the organisation's commitment (it holds where no programme sets one)"},
    {"programme", "ID", "the commitment of the managers enrolled in this programme"},
    {"minutes-per-week", "N", "N minutes of coaching per week per manager, 1..10080"},
    {"every-weeks", "N", "every rep coached at least once every N weeks, 1..52"},
    {NULL, NULL, NULL},
};

static const struct admin_opt opts_commitment_clear[] = {
    {"org", NULL, "the organisation's commitment"},
    {"programme", "ID", "the programme's commitment"},
    {NULL, NULL, NULL},
};

static const struct admin_cmd admin_cmds[] = {
    {"init", NULL, "", 0, 0, opts_none,
     "Creates the data directory and the store, and loads the built-in rubrics.", admin_run_init},
    {"rubric", "add", "FILE.json", 1, 1, opts_none,
     "Adds a rubric version from its JSON file (docs/rubrics.md).", admin_run_rubric_add},
    {"rubric", "list", "", 0, 0, opts_none, "Lists every stored rubric version.",
     admin_run_rubric_list},
    {"rubric", "show", "ID[@VERSION]", 1, 1, opts_rubric_show,
     "Shows a rubric (the latest version unless @VERSION is given).", admin_run_rubric_show},
    {"import", "people", "FILE.csv", 1, 1, opts_import_people,
     "Imports people and reporting lines (columns id,name,email,role,manager_id,"
     "effective_date, and optionally time_zone).",
     admin_run_import_people},
    {"import", "programme", "FILE.csv", 1, 1, opts_none,
     "Imports a training programme's cohorts, attendance and completion (columns "
     "programme_id,programme_name,cohort_id,cohort_start,person_id,module,attended_on,"
     "completed_on).",
     admin_run_import_programme},
    {"import", "outcomes", "FILE.csv", 1, 1, opts_import_people,
     "Imports business results (columns subject_id,team,period,metric,value).",
     admin_run_import_outcomes},
    {"import", "sessions", "FILE.csv", 1, 1, opts_import_people,
     "Imports coaching sessions held, one row per coach, rep and day (columns coach_id,"
     "coachee_id,date and optionally minutes); cadence counts them with the observed ones.",
     admin_run_import_sessions},
    {"commitment", "set", "", 0, 0, opts_commitment_set,
     "Sets a coaching commitment of the organisation (--org) or a programme (--programme ID): "
     "--minutes-per-week N or --every-weeks N; audited.",
     admin_run_commitment_set},
    {"commitment", "clear", "", 0, 0, opts_commitment_clear,
     "Removes the organisation's or a programme's coaching commitment; audited.",
     admin_run_commitment_clear},
    {"commitment", "list", "", 0, 0, opts_none, "Lists the coaching commitments.",
     admin_run_commitment_list},
    {"user", "add", "ID", 1, 1, opts_user_add, "Adds a person.", admin_run_user_add},
    {"user", "disable", "ID", 1, 1, opts_none,
     "Disables a user: the server refuses their certificate at their next connection.",
     admin_run_user_disable},
    {"user", "enable", "ID", 1, 1, opts_none, "Enables a disabled user again.",
     admin_run_user_enable},
    {"user", "show", "ID", 1, 1, opts_none,
     "Shows a person: roles, pinned certificates, reporting lines, reports, certifications.",
     admin_run_user_show},
    {"user", "list", "", 0, 0, opts_none, "Lists every person.", admin_run_user_list},
    {"user", "password", "ID", 1, 1, opts_user_password,
     "Sets a user's dashboard password (read from standard input).", admin_run_user_password},
    {"user", "link", "ID", 1, 1, opts_user_link,
     "Prints a one-time dashboard sign-in link for a user.", admin_run_user_link},
    {"user", "zone", "ID [ZONE]", 1, 2, opts_user_zone,
     "Sets the IANA time zone a person's sessions are dated in, or --clear it; rebuilds the "
     "aggregates.",
     admin_run_user_zone},
    {"org", NULL, "", 0, 0, opts_org,
     "Shows the organisation's settings, or sets its IANA time zone (--time-zone).", admin_run_org},
    {"user", "pin", "ID FILE.crt", 2, 2, opts_none,
     "Pins a certificate (its SHA-256) to a user; its CN should be the id.", admin_run_user_pin},
    {"cert", "issue", "USER", 1, 1, opts_cert_issue,
     "Makes a client certificate for a user with the deployment CA and pins it.",
     admin_run_cert_issue},
    {"cert", "grant", "OBSERVER RUBRIC", 2, 2, opts_cert_grant,
     "Certifies an observer for a rubric (an administrator's grant, without calibration).",
     admin_run_cert_grant},
    {"cert", "list", "[OBSERVER]", 0, 1, opts_none,
     "Lists certifications and calibration results (of everybody, or of one observer).",
     admin_run_cert_list},
    {"token", "create", "USER", 1, 1, opts_token_create,
     "Makes an API token that reads the JSON and CSV API and the change feed as USER (their "
     "role and line), prints it once, and audits it.",
     admin_run_token_create},
    {"token", "list", "[USER]", 0, 1, opts_none,
     "Lists API tokens (of everybody, or of one user): created, expires, last use, state.",
     admin_run_token_list},
    {"token", "revoke", "ID", 1, 1, opts_none,
     "Revokes an API token by its id (from 'token list'); audited.", admin_run_token_revoke},
    {"audit", NULL, "", 0, 0, opts_audit, "Prints the audit log, oldest first.", admin_run_audit},
    {"demo", NULL, "", 0, 0, opts_demo,
     "Initialises a new data directory and seeds a demo organisation into it.", admin_run_demo},
    {"verify", NULL, "", 0, 0, opts_verify,
     "Rebuilds the dashboards' aggregates from the records and reports any difference.",
     admin_run_verify},
    {"backup", NULL, "DEST", 1, 1, opts_none,
     "Writes a compacted copy of the store into the new directory DEST while the server runs, "
     "and verifies it.",
     admin_run_backup},
    {"restore", NULL, "BACKUP", 1, 1, opts_restore,
     "Restores a backup into --data; refuses a store that a running server has open.",
     admin_run_restore},
    {"retention", NULL, "", 0, 0, opts_retention,
     "Applies the retention policy: deletes or anonymises every version of the observations "
     "older than --older-than, rebuilds the aggregates and audits the run (counts only).",
     admin_run_retention},
    {"erase", NULL, "PERSON", 1, 1, opts_erase,
     "Erases a person: name, e-mail, certificate pins, credentials and sign-in links go, free "
     "text naming them is redacted, and what others' records need becomes a pseudonym.",
     admin_run_erase},
    {"plan", "set", "SCOPE", 1, 1, opts_plan_set,
     "Sets the coverage plan of a programme (SCOPE programme:ID) or of a second-level manager's "
     "line (line:ID): every front-line manager observed N times a month or week by a certified "
     "observer, with exclusions; audited.",
     admin_run_plan_set},
    {"plan", "show", "SCOPE", 1, 1, opts_none, "Shows one coverage plan.", admin_run_plan_show},
    {"plan", "list", "", 0, 0, opts_none, "Lists the coverage plans.", admin_run_plan_list},
    {"assign", NULL, "SCOPE", 1, 1, opts_assign,
     "Draws the plan's assignments by stratified random sampling from a recorded seed (strata: "
     "second-level managers' lines) and expires open ones past their window; exit status 3 when "
     "some manager found no eligible observer.",
     admin_run_assign},
    {"assignment", "list", "[OBSERVER]", 0, 1, opts_assignment_list,
     "Lists open assignments (of everybody, or of one observer), soonest due first.",
     admin_run_assignment_list},
    {"assignment", "reassign", "ID OBSERVER", 2, 2, opts_none,
     "Gives an open assignment to another enabled, certified observer; audited.",
     admin_run_assignment_reassign},
};

#define ADMIN_NCMDS (sizeof(admin_cmds) / sizeof(admin_cmds[0]))

/* ---- Command line ----------------------------------------------------- */

/* The value of option name (NULL when not given). name must be one of the
 * command's options. */
const char *admin_opt_value(const struct admin *a, const char *name)
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
int admin_opt_date(const struct admin *a, const char *name, int32_t def, int32_t *out)
{
    const char *v = admin_opt_value(a, name);

    *out = def;
    if (v != NULL && admin_parse_date(v, out) < 0) {
        admin_usage_error(a, "--%s: '%s' is not a valid date (YYYY-MM-DD, from 1970-01-01)", name,
                          v);
        return -EINVAL;
    }
    return 0;
}

/* Reads option name as a number in [min, max]; def when absent. */
int admin_opt_long(const struct admin *a, const char *name, long min, long max, long def, long *out)
{
    const char *v = admin_opt_value(a, name);

    *out = def;
    if (v != NULL && admin_parse_long(v, min, max, out) < 0) {
        admin_usage_error(a, "--%s: '%s' is not a number from %ld to %ld", name, v, min, max);
        return -EINVAL;
    }
    return 0;
}

/* Checks a person or rubric id given on the command line. */
int admin_arg_id(const struct admin *a, const char *what, const char *s)
{
    if (validate_id(s) < 0) {
        admin_usage_error(
            a, "%s '%s' is not a valid id: 1 to %d letters, digits, '.', '_', '@' or '-'", what, s,
            VALIDATE_MAX_ID);
        return -EINVAL;
    }
    return 0;
}

#define ADMIN_HELP_COL 27
#define ADMIN_HELP_WIDTH 100

/* Prints "  LEFT  help" with the help wrapped. */
static void print_opt_line(FILE *f, const char *left, const char *help)
{
    helpdoc_opt(f, left, help, NULL, ADMIN_HELP_COL, ADMIN_HELP_WIDTH);
}

/* The options every command takes besides its own, as --help and the man
 * page list them. */
static const struct admin_opt opts_implied[] = {
    {"data", "DIR", "data directory [data]"},
    {NULL, NULL, NULL},
};

const char admin_exit_status[] =
    "Exit status of a verb: 0 done, 1 failed (nothing changed; the message says why), "
    "2 usage error.";

/* Writes the command's words and arguments: "user add ID". */
static void cmd_words(const struct admin_cmd *c, char *out, size_t len)
{
    snprintf(out, len, "%s%s%s%s%s", c->verb, c->sub != NULL ? " " : "",
             c->sub != NULL ? c->sub : "", c->args[0] ? " " : "", c->args);
}

/* Writes an option's "--name ARG" (or "--name" for a flag). */
static void opt_left(const struct admin_opt *o, char *out, size_t len)
{
    snprintf(out, len, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
}

/* Prints one command's help. */
static void cmd_help(FILE *f, const char *prog, const struct admin_cmd *c)
{
    char left[64], words[128];
    size_t i;

    cmd_words(c, words, sizeof(words));
    fprintf(f, "Usage: %s %s [options]\n\n", prog, words);
    helpdoc_wrap(f, c->help, 0, ADMIN_HELP_WIDTH);
    fprintf(f, "\nOptions:\n");
    for (i = 0; c->opts[i].name != NULL; i++) {
        opt_left(&c->opts[i], left, sizeof(left));
        print_opt_line(f, left, c->opts[i].help);
    }
    for (i = 0; opts_implied[i].name != NULL; i++) {
        opt_left(&opts_implied[i], left, sizeof(left));
        print_opt_line(f, left, opts_implied[i].help);
    }
    print_opt_line(f, "-h, --help", "show this help");
    fputc('\n', f);
    helpdoc_wrap(f, admin_exit_status, 0, ADMIN_HELP_WIDTH);
}

void admin_usage(FILE *f)
{
    char words[128];

    fprintf(f, "\nAdministration (on the server host; each verb takes --data DIR and --help):\n");
    for (size_t i = 0; i < ADMIN_NCMDS; i++) {
        cmd_words(&admin_cmds[i], words, sizeof(words));
        helpdoc_opt(f, words, admin_cmds[i].help, NULL, 32, 80);
    }
    helpdoc_wrap(f, admin_exit_status, 0, 80);
}

void admin_man_synopsis(FILE *f, const char *prog)
{
    char cmd[160];

    for (size_t i = 0; i < ADMIN_NCMDS; i++) {
        const struct admin_cmd *c = &admin_cmds[i];
        char args[128];

        snprintf(cmd, sizeof(cmd), "%s %s%s%s", prog, c->verb, c->sub != NULL ? " " : "",
                 c->sub != NULL ? c->sub : "");
        snprintf(args, sizeof(args), "%s%s[options]", c->args, c->args[0] ? " " : "");
        helpdoc_man_synopsis(f, cmd, args);
    }
}

void admin_man_commands(FILE *f, const char *prog)
{
    char left[64], words[128], title[200];

    helpdoc_man_text(f, "Every command accepts \"--option value\" and \"--option=value\", and "
                        "takes these options besides its own:");
    for (size_t i = 0; opts_implied[i].name != NULL; i++) {
        opt_left(&opts_implied[i], left, sizeof(left));
        helpdoc_man_opt(f, left, opts_implied[i].help, NULL);
    }
    helpdoc_man_opt(f, "-h, --help", "show this help", NULL);
    for (size_t i = 0; i < ADMIN_NCMDS; i++) {
        const struct admin_cmd *c = &admin_cmds[i];

        cmd_words(c, words, sizeof(words));
        snprintf(title, sizeof(title), "%s %s", prog, words);
        helpdoc_man_subsection(f, title);
        helpdoc_man_text(f, c->help);
        for (size_t k = 0; c->opts[k].name != NULL; k++) {
            opt_left(&c->opts[k], left, sizeof(left));
            helpdoc_man_opt(f, left, c->opts[k].help, NULL);
        }
    }
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
int admin_find_cmd(int argc, char **argv, const struct admin_cmd **cmd, int *first)
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
        return admin_usage_error(a, "unknown option '--%.*s'", (int)namelen, name);
    }
    if (is_flag) {
        if (inline_val != NULL) {
            return admin_usage_error(a, "--%.*s takes no value", (int)namelen, name);
        }
        *slot = "";
        return 0;
    }
    if (inline_val == NULL) {
        if (*i + 1 >= argc) {
            return admin_usage_error(a, "--%.*s needs a value", (int)namelen, name);
        }
        inline_val = argv[++*i];
    }
    if (validate_text(inline_val, strlen(inline_val), 0, NULL) < 0) {
        return admin_usage_error(
            a,
            "--%.*s: the value is not one line of UTF-8 text (a control character "
            "or invalid byte); coachq stores text only as it can give it back",
            (int)namelen, name);
    }
    *slot = inline_val;
    return 0;
}

/* Reads the options and positional arguments after the command's words.
 * Returns 0, 1 after printing --help, or 2 after a usage error. */
int admin_parse_args(struct admin *a, int argc, char **argv, int first)
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
            return admin_usage_error(a, "unknown option '%s'", s);
        } else if (a->npos >= a->cmd->max_pos) {
            return admin_usage_error(a, "unexpected argument '%s'", s);
        } else if (validate_text(s, strlen(s), 0, NULL) < 0) {
            return admin_usage_error(
                a,
                "argument %zu is not one line of UTF-8 text (a control character "
                "or invalid byte); coachq stores text only as it can give it back",
                a->npos + 1);
        } else {
            a->pos[a->npos++] = s;
        }
    }
    if (a->npos < a->cmd->min_pos) {
        return admin_usage_error(a, "missing argument%s %s", a->cmd->min_pos > 1 ? "s" : "",
                                 a->cmd->args);
    }
    if (a->data_dir[0] == '\0') {
        return admin_usage_error(a, "--data needs a directory");
    }
    return 0;
}

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
