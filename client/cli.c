/*
 * cli: the coachq command line: the settings (flags, environment, config
 * file, defaults), the option helpers every command shares, and cli_main(),
 * which dispatches to one command. The commands live one group per file,
 * as git's builtin/ does: cmd_submit.c (submit, get, list, history, mine),
 * cmd_rubrics.c (rubrics, cert status, reference add), cmd_queue.c
 * (queue), cmd_observe.c (observe, amend) and cmd_dashboard.c (dashboard,
 * stats, whoami, outcomes import); cli_int.h is what they share. See
 * cli.h for how it is called.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_int.h"
#include "client.h"
#include "kvfile.h"
#include "localstore.h"
#include "str.h"
#include "uuid.h"

/* Prints "coachq <cmd>: message" to the error stream. */
void cli_msg(struct cli *x, const char *fmt, ...)
{
    va_list ap;

    fprintf(x->err, "%s: ", x->cmd);
    va_start(ap, fmt);
    vfprintf(x->err, fmt, ap);
    va_end(ap);
    fputc('\n', x->err);
}

/* Prints a usage error and returns CLI_EXIT_USAGE. */
int cli_usage(struct cli *x, const char *fmt, ...)
{
    va_list ap;

    fprintf(x->err, "%s: ", x->cmd);
    va_start(ap, fmt);
    vfprintf(x->err, fmt, ap);
    va_end(ap);
    fprintf(x->err, "\nTry '%s --help'.\n", x->cmd);
    return CLI_EXIT_USAGE;
}

/* Parses a whole decimal number in [min, max]. Returns 0 or -EINVAL. */
int cli_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    char *end;
    long long v;

    if (s == NULL || *s < '0' || *s > '9') {
        return -EINVAL;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0 || (unsigned long long)v < min ||
        (unsigned long long)v > max) {
        return -EINVAL;
    }
    *out = (unsigned long)v;
    return 0;
}

/*
 * Handles an option every command takes. Returns 1 if opt was one, 0 if
 * not, or CLI_EXIT_USAGE (negated) for a bad value.
 */
static int common_option(struct cli *x, int opt, const char *arg)
{
    switch (opt) {
    case OPT_SERVER:
        x->flag_server = arg;
        return 1;
    case OPT_CERT:
        x->flag_cert = arg;
        return 1;
    case OPT_KEY:
        x->flag_key = arg;
        return 1;
    case OPT_CA:
        x->flag_ca = arg;
        return 1;
    case OPT_DATA_DIR:
        x->flag_data_dir = arg;
        return 1;
    case OPT_TIMEOUT:
        if (cli_parse_ulong(arg, 1, 86400, &x->timeout_s) < 0) {
            cli_usage(x, "--timeout: '%s' is not a number of seconds (1..86400)", arg);
            return -CLI_EXIT_USAGE;
        }
        return 1;
    default:
        return 0;
    }
}

/*
 * Takes the next command-line option, handling those every command takes
 * and -h, which prints help. Returns -1 with *opt set to the option for the
 * caller, or to -1 when there are no more; or an exit code: CLI_EXIT_OK
 * after the help, CLI_EXIT_USAGE for a bad value.
 */
int cli_next_option(struct cli *x, int argc, char **argv, const struct cli_doc *doc, int *opt)
{
    struct option opts[CLI_MAX_OPTS];
    char shortopts[32];

    /* Rebuilt at each call: getopt_long() keeps its place in argv, not in
     * the table, and the table is small. */
    cli_getopt_table(doc, doc == &cli_doc_main, opts, CLI_MAX_OPTS, shortopts, sizeof(shortopts));
    for (;;) {
        int h;
        *opt = getopt_long(argc, argv, shortopts, opts, NULL);
        if (*opt == 'h') {
            cli_print_help(x->out, doc);
            return CLI_EXIT_OK;
        }
        if (*opt == -1) {
            return -1;
        }
        h = common_option(x, *opt, optarg);
        if (h < 0) {
            return -h;
        }
        if (h == 0) {
            return -1;
        }
    }
}

/* Reports an option getopt_long refused. */
int cli_bad_option(struct cli *x, int argc, char **argv)
{
    const char *what = optind - 1 < argc && optind > 0 ? argv[optind - 1] : "?";

    if (optopt != 0 && optopt < 256) {
        return cli_usage(x, "option -%c is unknown or needs a value", optopt);
    }
    return cli_usage(x, "option '%s' is unknown or needs a value", what);
}

/*
 * Parses the options of a command that takes the common ones and, when json
 * is not NULL, --json (setting *json to 1). Positional arguments are left
 * from optind on. Returns -1 to go on, or an exit code (--help printed
 * help).
 */
int cli_json_options(struct cli *x, int argc, char **argv, const struct cli_doc *doc, int *json)
{
    int opt;

    for (;;) {
        int rc = cli_next_option(x, argc, argv, doc, &opt);
        if (rc >= 0) {
            return rc;
        }
        if (opt == -1) {
            break;
        }
        if (opt == OPT_JSON && json != NULL) {
            *json = 1;
            continue;
        }
        return cli_bad_option(x, argc, argv);
    }
    return -1;
}

/* As cli_json_options() without --json, for a command with no arguments. */
int cli_simple_options(struct cli *x, int argc, char **argv, const struct cli_doc *doc)
{
    int rc = cli_json_options(x, argc, argv, doc, NULL);

    if (rc < 0 && optind < argc) {
        return cli_usage(x, "unexpected argument '%s'", argv[optind]);
    }
    return rc;
}

/* As cli_json_options(), for a command whose one argument is an observation's
 * UUID, which it parses into id. */
int cli_id_options(struct cli *x, int argc, char **argv, const struct cli_doc *doc, int *json,
                   uint8_t id[UUID_LEN])
{
    int rc = cli_json_options(x, argc, argv, doc, json);

    if (rc >= 0) {
        return rc;
    }
    if (argc - optind != 1) {
        return cli_usage(x, "expected exactly one ID");
    }
    if (uuid_parse(argv[optind], id) < 0) {
        return cli_usage(x, "'%s' is not a UUID (like 0b5e1c7a-3f6d-4e2b-9a41-6c0d2f8e7b13)",
                         argv[optind]);
    }
    return -1;
}

/*
 * Parses every option of a command: the common ones, and its own through
 * take. Positional arguments are left from optind on. Returns -1 to go
 * on, or an exit code (--help printed help).
 */
int cli_parse_options(struct cli *x, int argc, char **argv, const struct cli_doc *doc,
                      cli_take_option_cb take, void *arg)
{
    int opt;

    for (;;) {
        int rc = cli_next_option(x, argc, argv, doc, &opt);

        if (rc >= 0) {
            return rc;
        }
        if (opt == -1) {
            return -1;
        }
        rc = take(x, opt, optarg, arg);
        if (rc < 0) {
            return -rc;
        }
        if (rc == 0) {
            return cli_bad_option(x, argc, argv);
        }
    }
}

/* ---- settings ------------------------------------------------------------ */

/* The keys of the client's config file, in the order of their settings. */
static const char *const config_keys[] = {"server", "cert", "key", "ca"};

/* kvfile_read()'s callback: one "key = value" line into its setting. */
static int config_line(void *arg, const char *key, const char *value, unsigned line, char *msg,
                       size_t msglen)
{
    char(*vals)[PATH_LEN] = arg;

    (void)line;
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(key, config_keys[i]) == 0) {
            str_copy(vals[i], PATH_LEN, value);
            return 0;
        }
    }
    snprintf(msg, msglen, "unknown key '%.64s' (known: server, cert, key, ca)", key);
    return -EINVAL;
}

/*
 * Reads "key = value" lines from path into the four settings (each buffer
 * PATH_LEN). A missing file is fine unless required. Returns 0 or
 * CLI_EXIT_USAGE.
 */
static int read_config(struct cli *x, const char *path, int required, char vals[4][PATH_LEN])
{
    char err[PATH_LEN + 600];
    int rc = kvfile_read(path, config_line, vals, err, sizeof(err));

    if (rc == -ENOENT && !required) {
        return 0;
    }
    if (rc < 0) {
        cli_msg(x, "%s", err);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* Splits "host:port", "[v6]:port" or "host" into x->host and x->port. */
static int split_server(struct cli *x, const char *s)
{
    const char *colon;
    const char *host = s;
    size_t hlen;
    unsigned long port;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');

        if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
            return -EINVAL;
        }
        host = s + 1;
        hlen = (size_t)(close - host);
        colon = close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = strrchr(s, ':');
        if (colon != NULL && strchr(s, ':') != colon) {
            return -EINVAL; /* a bare IPv6 address needs brackets */
        }
        hlen = colon != NULL ? (size_t)(colon - s) : strlen(s);
    }
    if (hlen == 0 || hlen >= sizeof(x->host)) {
        return -EINVAL;
    }
    memcpy(x->host, host, hlen);
    x->host[hlen] = '\0';
    if (colon == NULL) {
        str_copy(x->port, sizeof(x->port), DEFAULT_PORT);
        return 0;
    }
    if (cli_parse_ulong(colon + 1, 1, 65535, &port) < 0) {
        return -EINVAL;
    }
    snprintf(x->port, sizeof(x->port), "%lu", port);
    return 0;
}

/* Resolves the connection settings by precedence. Returns 0 or an exit code. */
static int resolve_settings(struct cli *x)
{
    char file[4][PATH_LEN] = {{0}};
    const char *flags[4] = {x->flag_server, x->flag_cert, x->flag_key, x->flag_ca};
    static const char *const envs[4] = {"COACHQ_SERVER", "COACHQ_CERT", "COACHQ_KEY", "COACHQ_CA"};
    static const char *const defaults[4] = {DEFAULT_SERVER, DEFAULT_CERT, DEFAULT_KEY, DEFAULT_CA};
    char *dst[4] = {NULL, x->cert, x->key, x->ca};
    char server[PATH_LEN];
    const char *cfg = getenv("COACHQ_CONFIG");
    char path[PATH_LEN];
    int rc;

    if (cfg != NULL && cfg[0] != '\0') {
        rc = read_config(x, cfg, 1, file);
    } else {
        const char *xdg = getenv("XDG_CONFIG_HOME");
        const char *home = getenv("HOME");

        path[0] = '\0';
        if (xdg != NULL && xdg[0] == '/') {
            snprintf(path, sizeof(path), "%s/coachq/config", xdg);
        } else if (home != NULL && home[0] != '\0') {
            snprintf(path, sizeof(path), "%s/.config/coachq/config", home);
        }
        rc = path[0] != '\0' ? read_config(x, path, 0, file) : 0;
    }
    if (rc != 0) {
        return rc;
    }
    dst[0] = server;
    for (size_t i = 0; i < 4; i++) {
        const char *env = getenv(envs[i]);
        const char *v = defaults[i];

        if (flags[i] != NULL) {
            v = flags[i];
        } else if (env != NULL && env[0] != '\0') {
            v = env;
        } else if (file[i][0] != '\0') {
            v = file[i];
        }
        str_copy(dst[i], PATH_LEN, v);
    }
    if (split_server(x, server) < 0) {
        cli_msg(x, "server '%s' is not HOST:PORT (an IPv6 address goes in brackets: [::1]:7443)",
                server);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* Fills o with the resolved settings (its strings borrowed from x).
 * Returns 0 or an exit code. */
int cli_client_settings(struct cli *x, unsigned window, struct client_opts *o)
{
    int rc = resolve_settings(x);

    if (rc != 0) {
        return rc;
    }
    memset(o, 0, sizeof(*o));
    o->host = x->host;
    o->port = x->port;
    o->cert_file = x->cert;
    o->key_file = x->key;
    o->ca_file = x->ca;
    o->timeout_ms = (uint64_t)x->timeout_s * 1000u;
    o->window = window;
    return 0;
}

/* Connects with the resolved settings. Returns 0, CLI_EXIT_USAGE (after
 * saying why) or CLI_EXIT_CONNECT, with the reason only in *e. */
int cli_try_connect(struct cli *x, unsigned window, struct client **out, struct client_error *e)
{
    struct client_opts o;
    int rc = cli_client_settings(x, window, &o);

    if (rc != 0) {
        return rc;
    }
    return client_connect(&o, out, e) < 0 ? CLI_EXIT_CONNECT : 0;
}

/* As cli_try_connect(), saying why a connection failed. */
int cli_connect_server(struct cli *x, unsigned window, struct client **out)
{
    struct client_error e;
    int rc = cli_try_connect(x, window, out, &e);

    if (rc == CLI_EXIT_CONNECT) {
        cli_msg(x, "%s", e.message);
    }
    return rc;
}

/* Opens the local store: --data-dir, else $COACHQ_DATA_DIR, else the
 * default place. Returns 0 or CLI_EXIT_FAILED after saying why. */
int cli_open_store(struct cli *x, struct localstore **ls)
{
    const char *dir = x->flag_data_dir;
    const char *env = getenv("COACHQ_DATA_DIR");
    char err[PATH_LEN + 256];

    if (dir == NULL && env != NULL && env[0] != '\0') {
        dir = env;
    }
    if (localstore_open(dir, ls, err, sizeof(err)) < 0) {
        cli_msg(x, "%s", err);
        return CLI_EXIT_FAILED;
    }
    return 0;
}

int64_t cli_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The observation's id, or "-" when it has none. */
const char *cli_obs_id(const Coachq__V1__Observation *o, char id[UUID_STR_LEN])
{
    if (o == NULL || o->id.len != UUID_LEN) {
        snprintf(id, UUID_STR_LEN, "-");
        return id;
    }
    return uuid_format(o->id.data, id);
}

const char *cli_code_name(int code)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&coachq__v1__code__descriptor, code);

    return v != NULL ? v->name : "UNKNOWN";
}

/* Whether a failed connection was the server refusing this user (a
 * disabled user, an unknown or revoked certificate) rather than a server
 * that could not be reached. */
int cli_conn_refused(int code)
{
    return code == COACHQ__V1__CODE__PERMISSION_DENIED || code == COACHQ__V1__CODE__UNAUTHENTICATED;
}

/*
 * Writes why a connection failed into out (size outlen): "server
 * unreachable: ..." only when the server could not be reached; a refusal
 * says that the server refused and why. Returns out.
 */
const char *cli_conn_why(const struct client_error *e, char *out, size_t outlen)
{
    static const char refused_prefix[] = "the server refused";

    if (cli_conn_refused(e->code)) {
        if (strncmp(e->message, refused_prefix, sizeof(refused_prefix) - 1) == 0) {
            snprintf(out, outlen, "%s", e->message);
        } else {
            snprintf(out, outlen, "the server refused the connection (%s): %s",
                     cli_code_name(e->code), e->message);
        }
    } else if (e->code == COACHQ__V1__CODE__UNAVAILABLE ||
               e->code == COACHQ__V1__CODE__DEADLINE_EXCEEDED || e->code == COACHQ__V1__CODE__OK) {
        snprintf(out, outlen, "server unreachable: %s", e->message);
    } else {
        snprintf(out, outlen, "connection failed (%s): %s", cli_code_name(e->code), e->message);
    }
    return out;
}

/* Reports a failed request: a server Error is 1, the connection is 3. */
int cli_request_failed(struct cli *x, int rc, const struct client_error *e)
{
    if (rc == -EREMOTEIO) {
        cli_msg(x, "%s%s%s: %s", cli_code_name(e->code), e->field[0] ? " " : "", e->field,
                e->message);
        return CLI_EXIT_FAILED;
    }
    cli_msg(x, "%s", e->message);
    return CLI_EXIT_CONNECT;
}

/* ---- main ---------------------------------------------------------------- */

int cli_main(int argc, char **argv, FILE *out, FILE *err)
{
    struct cli x;
    struct sigaction sa;
    char cmdname[64];
    int opt;
    int rc;

    memset(&x, 0, sizeof(x));
    x.out = out;
    x.err = err;
    x.cmd = "coachq";
    x.timeout_s = 30;

    /* A write to a connection the server closed must be an error, not a
     * silent death. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);

    /* "+": stop at the command name, which has options of its own. */
    optind = 0;
    opterr = 0;
    for (;;) {
        rc = cli_next_option(&x, argc, argv, &cli_doc_main, &opt);
        if (rc >= 0) {
            return rc;
        }
        if (opt == -1) {
            break;
        }
        if (opt == OPT_VERSION) {
            fprintf(out, "%s\n", CLIENT_VERSION);
            return CLI_EXIT_OK;
        }
        if (opt == OPT_HELP_MAN) {
            cli_print_man(out, COACHQ_VERSION);
            return CLI_EXIT_OK;
        }
        return cli_bad_option(&x, argc, argv);
    }
    if (optind >= argc) {
        return cli_usage(&x, "no command given");
    }
    for (size_t i = 0; i < cli_ncommands; i++) {
        if (strcmp(argv[optind], cli_commands[i].doc->name) == 0) {
            int sub_argc = argc - optind;
            char **sub_argv = argv + optind;

            snprintf(cmdname, sizeof(cmdname), "coachq %s", cli_commands[i].doc->name);
            x.cmd = cmdname;
            /* Restart getopt on the command's own arguments. */
            optind = 0;
            rc = cli_commands[i].run(&x, sub_argc, sub_argv);
            fflush(out);
            return rc;
        }
    }
    return cli_usage(&x, "unknown command '%s'", argv[optind]);
}
