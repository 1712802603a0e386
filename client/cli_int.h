/*
 * cli_int: what the files of the coachq command line share, private to
 * client/cli.c and client/cmd_*.c: the option numbers and the options
 * every command takes, the settings of one run (struct cli), the helpers
 * that print messages, parse options, connect and open the local store,
 * and the command entry points that cli_main() dispatches to. Everything
 * here starts with cli_ (the commands are cli_cmd_<name>(), as git's are
 * cmd_<name>()).
 *
 * Ownership: a struct cli lives on cli_main()'s stack for one run; its
 * streams and flags are borrowed from the caller for that run. Unless a
 * comment says otherwise, pointers passed to these functions are borrowed
 * for the call, and what they hand back through an out-parameter is the
 * caller's to free with the function the comment names.
 *
 * Errors: a command returns a CLI_EXIT_* code (cli.h) after printing why
 * to x->err; helpers that "return an exit code" do the same, and those
 * that return 0 or a negative errno say so.
 */
#ifndef COACHQ_CLI_INT_H
#define COACHQ_CLI_INT_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "client.h"
#include "localstore.h"
#include "uuid.h"

#define DEFAULT_SERVER "127.0.0.1:7443"
#define DEFAULT_PORT "7443"
#define DEFAULT_CA "dev-certs/ca.crt"
#define DEFAULT_CERT "dev-certs/users/obs.chen.crt"
#define DEFAULT_KEY "dev-certs/users/obs.chen.key"
#define DEFAULT_LIST_LIMIT 50
/* Largest page the client asks for; the server may cap it lower. */
#define LIST_PAGE_MAX 500u
#define PATH_LEN 1024
/* Options of one command, the common ones included, at most. */
#define CLI_MAX_OPTS 32

/* Long-only options. */
enum {
    OPT_SERVER = 256,
    OPT_CERT,
    OPT_KEY,
    OPT_CA,
    OPT_TIMEOUT,
    OPT_VERSION,
    OPT_NO_WRITE_IDS,
    OPT_WINDOW,
    OPT_JSON,
    OPT_COACH,
    OPT_OBSERVER,
    OPT_COACHEE,
    OPT_SINCE,
    OPT_UNTIL,
    OPT_LIMIT,
    OPT_DATA_DIR,
    OPT_REJECTED,
    OPT_RUBRIC,
    OPT_TYPE,
    OPT_FOCUS,
    OPT_RESUME,
    OPT_FIX,
    OPT_CSV,
    OPT_WIDTH,
    OPT_HELP_MAN,
    OPT_FORMAT,
    OPT_AFTER,
    OPT_OUTPUT,
    OPT_LINE,
    OPT_OPEN,
    OPT_OVERDUE,
    OPT_NOT_COACHED,
    OPT_DRY_RUN,
    OPT_LIST,
    OPT_HISTORY,
    OPT_RESULT,
    OPT_RECORDING,
    OPT_LENGTH,
    OPT_ALL,
    OPT_SEED,
    OPT_PERIOD,
    OPT_SAMPLE,
    OPT_ASSIGNMENT,
    OPT_PER_MONTH,
    OPT_PER_WEEK,
    OPT_LOAD_CAP,
    OPT_OFF_LINE,
    OPT_OFF_REPORTS,
    OPT_OFF_LAST,
    OPT_ASSIGNED_ONLY,
};

/*
 * One option of a command (cli_doc.c): its long name, getopt_long()'s value
 * (an OPT_* above, or a letter that is also its short form), the value's
 * placeholder (NULL: a flag) and its help.
 */
struct cli_opt {
    const char *name;
    int val;
    const char *arg;
    const char *help;
};

/*
 * One command's documentation, the one source of its options, its --help
 * and its part of coachq(1). Strings are static.
 */
struct cli_doc {
    const char *name;           /* "submit"; "" for coachq itself */
    const char *brief;          /* the command list's left column: "submit FILE..." */
    const char *summary;        /* the command list's right column */
    const char *usage;          /* the forms after "coachq NAME", one per line */
    const char *text;           /* what it does: lines, paragraphs between blank lines */
    const struct cli_opt *opts; /* its own options, ending with a NULL name */
    const char *exit;           /* "Exit status: ..." */
};

/* The options every command takes (--server, --cert, ..., --help). */
extern const struct cli_opt cli_common_opts[];

/* The documentation of coachq itself and of each command (cli_doc.c). */
extern const struct cli_doc cli_doc_main, cli_doc_observe, cli_doc_amend, cli_doc_mine,
    cli_doc_queue, cli_doc_submit, cli_doc_get, cli_doc_history, cli_doc_list, cli_doc_rubrics,
    cli_doc_cert, cli_doc_reference, cli_doc_dashboard, cli_doc_outcomes, cli_doc_export,
    cli_doc_stats, cli_doc_whoami, cli_doc_actions;
extern const struct cli_doc cli_doc_sessions;
extern const struct cli_doc cli_doc_calibrate;
extern const struct cli_doc cli_doc_assignments, cli_doc_assign, cli_doc_plan;

struct cli;

/* One command: its documentation (whose name is the command's word) and
 * its entry point (the cli_cmd_* functions below). */
struct cli_command {
    const struct cli_doc *doc;
    int (*run)(struct cli *x, int argc, char **argv);
};

/* Every command (cli_ncommands of them), in the order the main help and
 * coachq(1) list them. */
extern const struct cli_command cli_commands[];
extern const size_t cli_ncommands;

/*
 * Fills opts (cap entries, ending with a zero entry) and shortopts (scap
 * bytes) for getopt_long() from d's options and the common ones.
 * stop_at_command: coachq's own options, which stop at the command's name
 * ("+") and include the hidden --help-man.
 */
void cli_getopt_table(const struct cli_doc *d, int stop_at_command, struct option *opts, size_t cap,
                      char *shortopts, size_t scap);

/* Prints d's --help to f. */
void cli_print_help(FILE *f, const struct cli_doc *d);

/* Prints the man page coachq(1) in roff to f; version goes in its footer. */
void cli_print_man(FILE *f, const char *version);

/* One run of cli_main(). */
struct cli {
    FILE *out;
    FILE *err;
    const char *cmd; /* "coachq submit", for messages */
    /* Flags; NULL when not given. Borrowed from argv. */
    const char *flag_server;
    const char *flag_cert;
    const char *flag_key;
    const char *flag_ca;
    const char *flag_data_dir;
    unsigned long timeout_s;
    /* Resolved settings. */
    char host[256];
    char port[16];
    char cert[PATH_LEN];
    char key[PATH_LEN];
    char ca[PATH_LEN];
};

/* How a command takes the options of its own: returns 1 when it took opt
 * (with its value val), 0 when opt is not one of them, or CLI_EXIT_USAGE
 * negated after reporting a bad value. */
typedef int (*cli_take_option_cb)(struct cli *x, int opt, const char *val, void *arg);

/* Prints one outbox entry as a line; why says why it waits. */
typedef void (*cli_entry_row_cb)(FILE *f, const Coachq__V1__OutboxEntry *e, const char *why);

/* A walk over the outbox that prints each entry with row (or adds it to
 * all, when not NULL) and counts them. */
struct cli_queue_walk {
    struct cli *x;
    json_t *all;
    cli_entry_row_cb row;
    size_t queued;
    size_t rejected;
};

/* Prints "coachq <cmd>: message" to the error stream. */
void cli_msg(struct cli *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints a usage error and returns CLI_EXIT_USAGE. */
int cli_usage(struct cli *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses a whole decimal number in [min, max]. Returns 0 or -EINVAL. */
int cli_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/*
 * Takes the next command-line option of the command doc documents (its
 * options and the common ones, from doc's table), handling those every
 * command takes and -h, which prints doc's help. Returns -1 with *opt set to the option for the
 * caller, or to -1 when there are no more; or an exit code: CLI_EXIT_OK
 * after the help, CLI_EXIT_USAGE for a bad value.
 */
int cli_next_option(struct cli *x, int argc, char **argv, const struct cli_doc *doc, int *opt);

/* Reports an option getopt_long refused. */
int cli_bad_option(struct cli *x, int argc, char **argv);

/*
 * Parses the options of a command that takes the common ones and, when json
 * is not NULL, --json (setting *json to 1). Positional arguments are left
 * from optind on. Returns -1 to go on, or an exit code (--help printed
 * help).
 */
int cli_json_options(struct cli *x, int argc, char **argv, const struct cli_doc *doc, int *json);

/* As cli_json_options() without --json, for a command with no arguments. */
int cli_simple_options(struct cli *x, int argc, char **argv, const struct cli_doc *doc);

/* As cli_json_options(), for a command whose one argument is an observation's
 * UUID, which it parses into id. */
int cli_id_options(struct cli *x, int argc, char **argv, const struct cli_doc *doc, int *json,
                   uint8_t id[UUID_LEN]);

/*
 * Parses every option of a command: the common ones, and its own through
 * take. Positional arguments are left from optind on. Returns -1 to go
 * on, or an exit code (--help printed help).
 */
int cli_parse_options(struct cli *x, int argc, char **argv, const struct cli_doc *doc,
                      cli_take_option_cb take, void *arg);

/* Fills o with the resolved settings (its strings borrowed from x).
 * Returns 0 or an exit code. */
int cli_client_settings(struct cli *x, unsigned window, struct client_opts *o);

/* Connects with the resolved settings. Returns 0, CLI_EXIT_USAGE (after
 * saying why) or CLI_EXIT_CONNECT, with the reason only in *e. */
int cli_try_connect(struct cli *x, unsigned window, struct client **out, struct client_error *e);

/* As cli_try_connect(), saying why a connection failed. */
int cli_connect_server(struct cli *x, unsigned window, struct client **out);

/* Opens the local store: --data-dir, else $COACHQ_DATA_DIR, else the
 * default place. Returns 0 or CLI_EXIT_FAILED after saying why. */
int cli_open_store(struct cli *x, struct localstore **ls);

/* Wall-clock milliseconds. */
int64_t cli_now_ms(void);

/* The observation's id, or "-" when it has none. */
const char *cli_obs_id(const Coachq__V1__Observation *o, char id[UUID_STR_LEN]);

/* The server code's name, e.g. "INVALID_ARGUMENT". */
const char *cli_code_name(int code);

/* Whether a failed connection was the server refusing this user (a
 * disabled user, an unknown or revoked certificate) rather than a server
 * that could not be reached. */
int cli_conn_refused(int code);

/*
 * Writes why a connection failed into out (size outlen): "server
 * unreachable: ..." only when the server could not be reached; a refusal
 * says that the server refused and why. Returns out.
 */
const char *cli_conn_why(const struct client_error *e, char *out, size_t outlen);

/* Reports a failed request: a server Error is 1, the connection is 3. */
int cli_request_failed(struct cli *x, int rc, const struct client_error *e);

/* Writes root to path through a temporary file in the same directory. */
int cli_rewrite_file(struct cli *x, const char *path, json_t *root);

/*
 * Reads one JSON file (or standard input when is_stdin), refusing repeated
 * keys. Returns the document (caller owns, json_decref()), or NULL after
 * printing where the file is wrong.
 */
json_t *cli_load_input(struct cli *x, const char *path, int is_stdin);

/*
 * Gives a record that has no id a fresh random UUID (id->data is malloc'd
 * and belongs to the record). When copy is not NULL, *copy is set to a copy
 * of obj, the JSON the record came from, with the new "id" first (caller
 * owns), to be written back into its file. Returns 0 or -ENOMEM.
 */
int cli_give_id(ProtobufCBinaryData *id, json_t *obj, json_t **copy);

/* The enum value's proto name without prefix, lower-case ("enablement_lead"). */
const char *cli_enum_label(const ProtobufCEnumDescriptor *d, int v, const char *prefix, char *buf,
                           size_t len);

/* s, or "-" when it is NULL or empty. */
const char *cli_or_dash(const char *s);

/* The lines saying what else an observation refers to. */
void cli_print_obs_links(FILE *f, const Coachq__V1__Observation *o);

/* The observation's content, from its rubric on. */
void cli_print_obs_body(FILE *f, const Coachq__V1__Observation *o);

/* The recording a session was observed from, and its review's stages
 * (cli_recording.c). r is borrowed. */
void cli_print_recording(FILE *f, const Coachq__V1__Recording *r);

/* "rep" or "manager" for a marker of theirs on a recording; NULL for the
 * observer's own. */
const char *cli_marker_author(const Coachq__V1__Marker *m);

struct observe_opts;

/* Checks observe's --recording and --length (both or neither, a valid
 * reference and length, not with --resume or --fix). Returns 0 or the
 * usage exit code, with the message printed (cli_recording.c). */
int cli_check_recording_opts(struct cli *x, const struct observe_opts *o, int fix);

/* Prints j (borrowed; NULL when building it ran out of memory) with indent
 * 2 and a newline. Returns CLI_EXIT_OK, or CLI_EXIT_FAILED after saying
 * that memory ran out. */
int cli_print_json(struct cli *x, const json_t *j);

/* Splits "ID" or "ID@VERSION" (version 0 = the latest). An id may itself
 * contain '@': only a last '@' followed by digits starts a version. Returns
 * 0 or -EINVAL. */
int cli_split_rubric_ref(const char *arg, char *id, size_t idlen, uint32_t *version);

/* Whether the server refused the entry (it waits to be fixed, not sent). */
int cli_entry_is_rejected(const Coachq__V1__OutboxEntry *e);

/* Why an entry waits: "CODE field: message", or "not sent yet". */
const char *cli_entry_why(const Coachq__V1__OutboxEntry *e, char *buf, size_t len);

/* An outbox entry as JSON for `queue list` and `mine` (caller owns), or
 * NULL when memory ran out. */
json_t *cli_entry_json(const Coachq__V1__OutboxEntry *e);

/* Walks the outbox with w. Returns 0 or CLI_EXIT_FAILED after saying why. */
int cli_queue_walk(struct localstore *ls, struct cli_queue_walk *w);

/* Loads the entry id; returns 0 or CLI_EXIT_FAILED after saying why. */
int cli_queue_get(struct cli *x, struct localstore *ls, const uint8_t id[UUID_LEN],
                  Coachq__V1__OutboxEntry **e);

/*
 * The commands, one group per file. Each runs one command: argv[0] is the
 * command's name and the rest its arguments (argv borrowed for the call);
 * it prints to x->out and x->err and returns a CLI_EXIT_* code.
 */
int cli_cmd_submit(struct cli *x, int argc, char **argv);    /* cmd_submit.c */
int cli_cmd_get(struct cli *x, int argc, char **argv);       /* cmd_submit.c */
int cli_cmd_list(struct cli *x, int argc, char **argv);      /* cmd_submit.c */
int cli_cmd_history(struct cli *x, int argc, char **argv);   /* cmd_submit.c */
int cli_cmd_mine(struct cli *x, int argc, char **argv);      /* cmd_submit.c */
int cli_cmd_rubrics(struct cli *x, int argc, char **argv);   /* cmd_rubrics.c */
int cli_cmd_cert(struct cli *x, int argc, char **argv);      /* cmd_rubrics.c */
int cli_cmd_reference(struct cli *x, int argc, char **argv); /* cmd_rubrics.c */
int cli_cmd_queue(struct cli *x, int argc, char **argv);     /* cmd_queue.c */
int cli_cmd_observe(struct cli *x, int argc, char **argv);   /* cmd_observe.c */
int cli_cmd_amend(struct cli *x, int argc, char **argv);     /* cmd_observe.c */
int cli_cmd_dashboard(struct cli *x, int argc, char **argv); /* cmd_dashboard.c */
int cli_cmd_stats(struct cli *x, int argc, char **argv);     /* cmd_dashboard.c */
int cli_cmd_whoami(struct cli *x, int argc, char **argv);    /* cmd_dashboard.c */
int cli_cmd_outcomes(struct cli *x, int argc, char **argv);  /* cmd_dashboard.c */
int cli_cmd_export(struct cli *x, int argc, char **argv);    /* cmd_export.c */
int cli_cmd_actions(struct cli *x, int argc, char **argv);   /* cmd_actions.c */
int cli_cmd_sessions(struct cli *x, int argc, char **argv);  /* cmd_sessions.c */
int cli_cmd_calibrate(struct cli *x, int argc, char **argv); /* cmd_calibrate.c */

/* `coachq reference retire ID` (cmd_calibrate.c). */
int cli_reference_retire(struct cli *x, const char *arg);
int cli_cmd_assignments(struct cli *x, int argc, char **argv); /* cmd_assign.c */
int cli_cmd_assign(struct cli *x, int argc, char **argv);      /* cmd_assign.c */
int cli_cmd_plan(struct cli *x, int argc, char **argv);        /* cmd_assign.c */

struct observe_opts;

/* Runs the observer's UI with o (cmd_observe.c): flushes the outbox
 * quietly first, then observe_run(). Returns its exit code. */
int cli_observe_start(struct cli *x, struct localstore *ls, struct observe_opts *o);

#endif
