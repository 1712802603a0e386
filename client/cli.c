/*
 * Size: this file is over the layout's 1,500 lines. It is one of the five the
 * layout issue splits along its seams (see ../shared/design/architecture.md);
 * until then it stays whole so that the hardening and statistics fixes
 * landed without a move in the same change.
 */
#include "day.h"
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "buf.h"
#include "client.h"
#include "dashfmt.h"
#include "localstore.h"
#include "observe.h"
#include "outbox.h"
#include "str.h"
#include "jsonx.h"
#include "obs_json.h"
#include "outcomes_csv.h"
#include "rubric_json.h"
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
};

#define COMMON_OPTIONS                                                                             \
    {"server", required_argument, NULL, OPT_SERVER}, {"cert", required_argument, NULL, OPT_CERT},  \
        {"key", required_argument, NULL, OPT_KEY}, {"ca", required_argument, NULL, OPT_CA},        \
        {"timeout", required_argument, NULL, OPT_TIMEOUT},                                         \
        {"data-dir", required_argument, NULL, OPT_DATA_DIR},                                       \
    {                                                                                              \
        "help", no_argument, NULL, 'h'                                                             \
    }

#define COMMON_HELP                                                                                \
    "Connection options (flag > environment > config file > default):\n"                           \
    "  --server HOST:PORT  coachqd's protocol port (COACHQ_SERVER; default " DEFAULT_SERVER ")\n"  \
    "  --cert FILE         your user certificate, PEM (COACHQ_CERT; default " DEFAULT_CERT ")\n"   \
    "  --key FILE          its private key, PEM (COACHQ_KEY; default " DEFAULT_KEY ")\n"           \
    "  --ca FILE           the deployment CA, PEM (COACHQ_CA; default " DEFAULT_CA ")\n"           \
    "  --timeout SECONDS   give up when the server makes no progress for this long (30)\n"         \
    "  --data-dir DIR      the local store: outbox, saved session, cached rubrics\n"               \
    "                      (flag > COACHQ_DATA_DIR > $XDG_DATA_HOME/coachq >\n"                    \
    "                      ~/.local/share/coachq; not read from the config file)\n"                \
    "  -h, --help          show this help\n"                                                       \
    "The config file is $COACHQ_CONFIG, or $XDG_CONFIG_HOME/coachq/config, or\n"                   \
    "~/.config/coachq/config, with lines like \"server = coachq.example.com:7443\"\n"              \
    "(keys: server, cert, key, ca; '#' starts a comment).\n"

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

static void msg(struct cli *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "coachq <cmd>: message" to the error stream. */
static void msg(struct cli *x, const char *fmt, ...)
{
    va_list ap;

    fprintf(x->err, "%s: ", x->cmd);
    va_start(ap, fmt);
    vfprintf(x->err, fmt, ap);
    va_end(ap);
    fputc('\n', x->err);
}

static int usage(struct cli *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints a usage error and returns CLI_EXIT_USAGE. */
static int usage(struct cli *x, const char *fmt, ...)
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
static int parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
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
        if (parse_ulong(arg, 1, 86400, &x->timeout_s) < 0) {
            usage(x, "--timeout: '%s' is not a number of seconds (1..86400)", arg);
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
static int next_option(struct cli *x, int argc, char **argv, const char *shortopts,
                       const struct option *opts, const char *help, int *opt)
{
    for (;;) {
        int h;
        *opt = getopt_long(argc, argv, shortopts, opts, NULL);
        if (*opt == 'h') {
            fputs(help, x->out);
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
static int bad_option(struct cli *x, int argc, char **argv)
{
    const char *what = optind - 1 < argc && optind > 0 ? argv[optind - 1] : "?";

    if (optopt != 0 && optopt < 256) {
        return usage(x, "option -%c is unknown or needs a value", optopt);
    }
    return usage(x, "option '%s' is unknown or needs a value", what);
}

/*
 * Parses the options of a command that takes the common ones and, when json
 * is not NULL, --json (setting *json to 1). Positional arguments are left
 * from optind on. Returns -1 to go on, or an exit code (--help printed
 * help).
 */
static int json_options(struct cli *x, int argc, char **argv, const char *help, int *json)
{
    static const struct option opts[] = {
        COMMON_OPTIONS,
        {"json", no_argument, NULL, OPT_JSON},
        {NULL, 0, NULL, 0},
    };
    int opt;

    for (;;) {
        int rc = next_option(x, argc, argv, "h", opts, help, &opt);
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
        return bad_option(x, argc, argv);
    }
    return -1;
}

/* As json_options() without --json, for a command with no arguments. */
static int simple_options(struct cli *x, int argc, char **argv, const char *help)
{
    int rc = json_options(x, argc, argv, help, NULL);

    if (rc < 0 && optind < argc) {
        return usage(x, "unexpected argument '%s'", argv[optind]);
    }
    return rc;
}

/* As json_options(), for a command whose one argument is an observation's
 * UUID, which it parses into id. */
static int id_options(struct cli *x, int argc, char **argv, const char *help, int *json,
                      uint8_t id[UUID_LEN])
{
    int rc = json_options(x, argc, argv, help, json);

    if (rc >= 0) {
        return rc;
    }
    if (argc - optind != 1) {
        return usage(x, "expected exactly one ID");
    }
    if (uuid_parse(argv[optind], id) < 0) {
        return usage(x, "'%s' is not a UUID (like 0b5e1c7a-3f6d-4e2b-9a41-6c0d2f8e7b13)",
                     argv[optind]);
    }
    return -1;
}

/* How a command takes the options of its own: returns 1 when it took opt
 * (with its value val), 0 when opt is not one of them, or CLI_EXIT_USAGE
 * negated after reporting a bad value. */
typedef int (*take_option_cb)(struct cli *x, int opt, const char *val, void *arg);

/*
 * Parses every option of a command: the common ones, and its own through
 * take. Positional arguments are left from optind on. Returns -1 to go
 * on, or an exit code (--help printed help).
 */
static int parse_options(struct cli *x, int argc, char **argv, const struct option *opts,
                         const char *help, take_option_cb take, void *arg)
{
    int opt;

    for (;;) {
        int rc = next_option(x, argc, argv, "h", opts, help, &opt);

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
            return bad_option(x, argc, argv);
        }
    }
}

/* ---- settings ------------------------------------------------------------ */

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r')) {
        e--;
    }
    *e = '\0';
    return s;
}

/*
 * Reads "key = value" lines from path into the four settings (each buffer
 * PATH_LEN). A missing file is fine unless required. Returns 0 or
 * CLI_EXIT_USAGE.
 */
static int read_config(struct cli *x, const char *path, int required, char vals[4][PATH_LEN])
{
    static const char *const keys[] = {"server", "cert", "key", "ca"};
    FILE *f = fopen(path, "r");
    char line[2048];
    unsigned lineno = 0;
    int rc = CLI_EXIT_USAGE;

    if (f == NULL) {
        if (!required && errno == ENOENT) {
            return 0;
        }
        msg(x, "cannot read config file %s: %s", path, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *eq;
        char *k;
        char *v;
        size_t vl;
        int found = 0;

        lineno++;
        k = trim(line);
        if (*k == '\0' || *k == '#') {
            continue;
        }
        eq = strchr(k, '=');
        if (eq == NULL) {
            msg(x, "%s:%u: expected \"key = value\"", path, lineno);
            goto out;
        }
        *eq = '\0';
        k = trim(k);
        v = trim(eq + 1);
        vl = strlen(v);
        if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
            v[vl - 1] = '\0';
            v++;
        }
        for (size_t i = 0; i < 4; i++) {
            if (strcmp(k, keys[i]) == 0) {
                str_copy(vals[i], PATH_LEN, v);
                found = 1;
            }
        }
        if (!found) {
            msg(x, "%s:%u: unknown key '%s' (known: server, cert, key, ca)", path, lineno, k);
            goto out;
        }
    }
    rc = 0;
out:
    fclose(f);
    return rc;
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
    if (parse_ulong(colon + 1, 1, 65535, &port) < 0) {
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
        msg(x, "server '%s' is not HOST:PORT (an IPv6 address goes in brackets: [::1]:7443)",
            server);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* Fills o with the resolved settings (its strings borrowed from x).
 * Returns 0 or an exit code. */
static int client_settings(struct cli *x, unsigned window, struct client_opts *o)
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
static int try_connect(struct cli *x, unsigned window, struct client **out, struct client_error *e)
{
    struct client_opts o;
    int rc = client_settings(x, window, &o);

    if (rc != 0) {
        return rc;
    }
    return client_connect(&o, out, e) < 0 ? CLI_EXIT_CONNECT : 0;
}

/* As try_connect(), saying why a connection failed. */
static int connect_server(struct cli *x, unsigned window, struct client **out)
{
    struct client_error e;
    int rc = try_connect(x, window, out, &e);

    if (rc == CLI_EXIT_CONNECT) {
        msg(x, "%s", e.message);
    }
    return rc;
}

/* Opens the local store: --data-dir, else $COACHQ_DATA_DIR, else the
 * default place. Returns 0 or CLI_EXIT_FAILED after saying why. */
static int open_store(struct cli *x, struct localstore **ls)
{
    const char *dir = x->flag_data_dir;
    const char *env = getenv("COACHQ_DATA_DIR");
    char err[PATH_LEN + 256];

    if (dir == NULL && env != NULL && env[0] != '\0') {
        dir = env;
    }
    if (localstore_open(dir, ls, err, sizeof(err)) < 0) {
        msg(x, "%s", err);
        return CLI_EXIT_FAILED;
    }
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The observation's id, or "-" when it has none. */
static const char *obs_id(const Coachq__V1__Observation *o, char id[UUID_STR_LEN])
{
    if (o == NULL || o->id.len != UUID_LEN) {
        snprintf(id, UUID_STR_LEN, "-");
        return id;
    }
    return uuid_format(o->id.data, id);
}

static const char *code_name(int code)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&coachq__v1__code__descriptor, code);

    return v != NULL ? v->name : "UNKNOWN";
}

/* Whether a failed connection was the server refusing this user (a
 * disabled user, an unknown or revoked certificate) rather than a server
 * that could not be reached. */
static int conn_refused(int code)
{
    return code == COACHQ__V1__CODE__PERMISSION_DENIED || code == COACHQ__V1__CODE__UNAUTHENTICATED;
}

/*
 * Writes why a connection failed into out (size outlen): "server
 * unreachable: ..." only when the server could not be reached; a refusal
 * says that the server refused and why. Returns out.
 */
static const char *conn_why(const struct client_error *e, char *out, size_t outlen)
{
    static const char refused_prefix[] = "the server refused";

    if (conn_refused(e->code)) {
        if (strncmp(e->message, refused_prefix, sizeof(refused_prefix) - 1) == 0) {
            snprintf(out, outlen, "%s", e->message);
        } else {
            snprintf(out, outlen, "the server refused the connection (%s): %s", code_name(e->code),
                     e->message);
        }
    } else if (e->code == COACHQ__V1__CODE__UNAVAILABLE ||
               e->code == COACHQ__V1__CODE__DEADLINE_EXCEEDED || e->code == COACHQ__V1__CODE__OK) {
        snprintf(out, outlen, "server unreachable: %s", e->message);
    } else {
        snprintf(out, outlen, "connection failed (%s): %s", code_name(e->code), e->message);
    }
    return out;
}

/* Reports a failed request: a server Error is 1, the connection is 3. */
static int request_failed(struct cli *x, int rc, const struct client_error *e)
{
    if (rc == -EREMOTEIO) {
        msg(x, "%s%s%s: %s", code_name(e->code), e->field[0] ? " " : "", e->field, e->message);
        return CLI_EXIT_FAILED;
    }
    msg(x, "%s", e->message);
    return CLI_EXIT_CONNECT;
}

/* ---- submit -------------------------------------------------------------- */

struct input {
    const char *path; /* borrowed from argv */
    json_t *root;
    int is_stdin;
    int dirty; /* ids were added */
};

struct submit {
    struct cli *x;
    struct input *in;
    size_t n_in;
    Coachq__V1__Observation **obs;
    size_t *rec_file;  /* record -> input */
    size_t *rec_index; /* record -> index in its array, or SIZE_MAX for a lone object */
    size_t n;
    size_t unsaved_ids; /* records given an id that no file keeps */
    int quiet;
    int tty;
};

static const char *const submit_help =
    "Usage: coachq submit [OPTIONS] FILE...\n"
    "Sends observations to coachqd. Each FILE (or - for standard input) holds one\n"
    "JSON observation or an array of them (format: docs/observation-json.md).\n"
    "Every file is read and checked first; if any record has an error, nothing is\n"
    "sent. Records are then pipelined over one connection, and one line is printed\n"
    "per record: \"<uuid> STORED seq=N\", \"<uuid> DUPLICATE seq=N\" or\n"
    "\"<uuid> ERROR CODE field: message\", then \"stored=N duplicate=N failed=N\".\n"
    "An amendment (a record with \"amends\": the original's id, and an id of its\n"
    "own) adds its version: \"<uuid> STORED seq=N version=2\".\n"
    "\n"
    "A record without an \"id\" gets a fresh UUID, and the FILE IS REWRITTEN with\n"
    "the new ids (through a temporary file in the same directory, indent 2) before\n"
    "anything is sent, so that submitting the same file again is answered\n"
    "DUPLICATE instead of storing the records twice. Standard input is never\n"
    "rewritten: give ids there yourself if you may retry.\n"
    "\n"
    "When the server cannot be reached (or the connection fails before every\n"
    "answer), the records without an answer go to the outbox of the local store\n"
    "(--data-dir), with their ids and the reason: \"<uuid> QUEUED (server\n"
    "unreachable: ...): coachq queue flush sends it\", or \"QUEUED (the server\n"
    "refused you: ...)\" when the server refused this user (disabled, unknown\n"
    "certificate); the summary adds \"queued=N\".\n"
    "\n"
    "Options:\n"
    "  --no-write-ids      do not rewrite files (a retry then stores records again)\n"
    "  --window N          requests in flight at once (default 64)\n"
    "  -q, --quiet         print only errors and the summary, no progress\n" COMMON_HELP
    "\nExit status: 0 all stored or duplicate, 1 some record failed or input had\n"
    "errors, 2 usage, 3 connection or TLS failure, or the server refused this\n"
    "user (the records are queued).\n";

static void progress_cb(size_t answered, size_t total, void *arg)
{
    struct submit *s = arg;

    if (s->quiet) {
        return;
    }
    if (s->tty) {
        if (answered % 100 == 0 || answered == total) {
            fprintf(s->x->err, "\rsubmitted %zu/%zu", answered, total);
            if (answered == total) {
                fputc('\n', s->x->err);
            }
            fflush(s->x->err);
        }
    } else if (total >= 1000 && (answered % 1000 == 0 || answered == total)) {
        fprintf(s->x->err, "submitted %zu/%zu\n", answered, total);
    }
}

/* Writes root to path through a temporary file in the same directory. */
static int rewrite_file(struct cli *x, const char *path, json_t *root)
{
    char tmp[PATH_LEN + 32];
    const char *slash = strrchr(path, '/');
    struct stat st;
    int fd = -1;
    int rc = -1;

    if (slash != NULL) {
        snprintf(tmp, sizeof(tmp), "%.*s/.%s.XXXXXX", (int)(slash - path), path, slash + 1);
    } else {
        snprintf(tmp, sizeof(tmp), ".%s.XXXXXX", path);
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        msg(x, "%s: cannot create a temporary file to add ids: %s", path, strerror(errno));
        tmp[0] = '\0';
        goto out;
    }
    if (stat(path, &st) == 0) {
        fchmod(fd, st.st_mode & 07777);
    }
    if (json_dumpfd(root, fd, JSON_INDENT(2)) < 0 || write(fd, "\n", 1) != 1 || fsync(fd) < 0) {
        msg(x, "%s: cannot write the ids: %s", path, strerror(errno));
        goto out;
    }
    if (close(fd) < 0) {
        fd = -1;
        msg(x, "%s: cannot write the ids: %s", path, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        msg(x, "%s: cannot replace the file: %s", path, strerror(errno));
        goto out;
    }
    tmp[0] = '\0';
    rc = 0;
out:
    if (fd >= 0) {
        close(fd);
    }
    if (tmp[0] != '\0') {
        unlink(tmp);
    }
    return rc;
}

/* Returns a copy of obj with "id" first (jansson keeps insertion order). */
static json_t *with_id_first(json_t *obj, const char *id)
{
    json_t *n = json_object();
    const char *k;
    json_t *v;

    if (n == NULL || json_object_set_new(n, "id", json_string(id)) < 0) {
        json_decref(n);
        return NULL;
    }
    json_object_foreach(obj, k, v)
    {
        if (strcmp(k, "id") != 0 && json_object_set(n, k, v) < 0) {
            json_decref(n);
            return NULL;
        }
    }
    return n;
}

/*
 * Reads one JSON file (or standard input when is_stdin), refusing repeated
 * keys. Returns the document (caller owns, json_decref()), or NULL after
 * printing where the file is wrong.
 */
static json_t *load_input(struct cli *x, const char *path, int is_stdin)
{
    json_error_t je;
    json_t *root;
    const char *name = is_stdin ? "(stdin)" : path;

    if (is_stdin) {
        root = json_loadf(stdin, JSON_REJECT_DUPLICATES, &je);
    } else {
        root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    }
    if (root == NULL) {
        if (je.line > 0) {
            msg(x, "%s:%d:%d: %s", name, je.line, je.column, je.text);
        } else {
            msg(x, "%s: %s", name, je.text);
        }
    }
    return root;
}

/*
 * Gives a record that has no id a fresh random UUID (id->data is malloc'd
 * and belongs to the record). When copy is not NULL, *copy is set to a copy
 * of obj, the JSON the record came from, with the new "id" first (caller
 * owns), to be written back into its file. Returns 0 or -ENOMEM.
 */
static int give_id(ProtobufCBinaryData *id, json_t *obj, json_t **copy)
{
    char ids[UUID_STR_LEN];

    id->data = malloc(UUID_LEN);
    if (id->data == NULL || uuid_generate(id->data) < 0) {
        free(id->data);
        id->data = NULL;
        return -ENOMEM;
    }
    id->len = UUID_LEN;
    if (copy != NULL) {
        *copy = with_id_first(obj, uuid_format(id->data, ids));
        if (*copy == NULL) {
            return -ENOMEM;
        }
    }
    return 0;
}

/* Names a record for messages: "file" or "file: record 3". */
static void record_label(const struct submit *s, size_t r, char *buf, size_t len)
{
    const struct input *in = &s->in[s->rec_file[r]];
    const char *name = in->is_stdin ? "(stdin)" : in->path;

    if (s->rec_index[r] == SIZE_MAX) {
        snprintf(buf, len, "%s", name);
    } else {
        snprintf(buf, len, "%s: record %zu", name, s->rec_index[r]);
    }
}

/* Parses one JSON object as record r, adding an id if it has none. */
static int add_record(struct submit *s, size_t file, size_t index, json_t *obj, int write_ids,
                      size_t *bad)
{
    struct input *in = &s->in[file];
    Coachq__V1__Observation *o = NULL;
    char err[512];
    char label[PATH_LEN + 64];
    size_t r = s->n;
    int rc;

    s->rec_file[r] = file;
    s->rec_index[r] = index;
    rc = obs_json_parse(obj, &o, err, sizeof(err));
    if (rc < 0) {
        record_label(s, r, label, sizeof(label));
        msg(s->x, "%s: %s", label, err);
        (*bad)++;
        return rc == -ENOMEM ? rc : 0;
    }
    if (o->id.len == 0) {
        json_t *n = NULL;

        if (give_id(&o->id, obj, write_ids && !in->is_stdin ? &n : NULL) < 0) {
            obs_json_free(o);
            return -ENOMEM;
        }
        if (n != NULL) {
            if (index == SIZE_MAX) {
                json_decref(in->root);
                in->root = n;
            } else {
                json_array_set_new(in->root, index, n);
            }
            in->dirty = 1;
        } else {
            s->unsaved_ids++;
        }
    }
    s->obs[r] = o;
    s->n++;
    return 0;
}

/*
 * Puts the records the server did not answer (every record when res is
 * NULL) into the outbox as queued, with why, and prints a line for each.
 * Their queue times are a millisecond apart so that the outbox keeps the
 * input's order (an original before its amendment). Adds to *queued.
 */
static void submit_queue(struct submit *s, const struct client_submit_result *res,
                         const struct client_error *why, size_t *queued)
{
    struct cli *x = s->x;
    struct localstore *ls = NULL;
    Coachq__V1__Error err = COACHQ__V1__ERROR__INIT;
    int64_t now = now_ms();
    char id[UUID_STR_LEN];
    char reason[sizeof(why->message) + 64];

    if (open_store(x, &ls) != 0) {
        msg(x, "%s; nothing was queued", why->message);
        return;
    }
    err.code = why->code != COACHQ__V1__CODE__OK ? why->code : COACHQ__V1__CODE__UNAVAILABLE;
    err.message = (char *)why->message;
    err.field = (char *)why->field;
    for (size_t r = 0; r < s->n; r++) {
        Coachq__V1__OutboxEntry e = COACHQ__V1__OUTBOX_ENTRY__INIT;
        int rc;

        if (res != NULL && res[r].done) {
            continue;
        }
        e.observation = s->obs[r];
        e.state = COACHQ__V1__OUTBOX_ENTRY__STATE__STATE_QUEUED;
        e.last_error = &err;
        e.attempts = 1;
        e.queued_at_ms = now + (int64_t)r;
        e.last_attempt_ms = now;
        obs_id(s->obs[r], id);
        rc = localstore_outbox_put(ls, &e);
        if (rc < 0) {
            msg(x, "%s: not queued: %s: %s", id, localstore_path(ls), strerror(-rc));
            continue;
        }
        fprintf(x->out, "%s QUEUED (%s): coachq queue flush sends it\n", id,
                conn_why(why, reason, sizeof(reason)));
        (*queued)++;
    }
    localstore_close(ls);
}

/* Prints the answer to record r; counts it in stored, dup or failed. */
static void submit_report(struct submit *s, size_t r, const struct client_submit_result *res,
                          size_t counts[3])
{
    char id[UUID_STR_LEN];

    obs_id(s->obs[r], id);
    if (res->done && res->err.code == COACHQ__V1__CODE__OK) {
        int is_dup = res->result == COACHQ__V1__ACK__RESULT__RESULT_DUPLICATE;

        counts[is_dup ? 1 : 0]++;
        if (!s->quiet) {
            fprintf(s->x->out, "%s %s seq=%llu", id, is_dup ? "DUPLICATE" : "STORED",
                    (unsigned long long)res->seq);
            /* Only amendments say their version: an original is 1. */
            if (res->version > 1) {
                fprintf(s->x->out, " version=%u", res->version);
            }
            fputc('\n', s->x->out);
        }
        return;
    }
    counts[2]++;
    fprintf(s->x->out, "%s ERROR %s %s%s%s\n", id, code_name(res->err.code), res->err.field,
            res->err.field[0] ? ": " : "", res->err.message);
}

/*
 * Sends the parsed records and prints what became of each. When the server
 * cannot be reached, or the connection fails before every answer, the
 * records without an answer go to the outbox. Returns the exit code.
 */
static int submit_send(struct submit *s, unsigned window)
{
    struct cli *x = s->x;
    struct client *c = NULL;
    struct client_submit_result *res = NULL;
    struct client_error why;
    size_t counts[3] = {0, 0, 0}; /* stored, duplicate, failed */
    size_t queued = 0;
    int queued_why = 0;
    int rc = try_connect(x, window, &c, &why);
    int src = -1;

    if (rc == CLI_EXIT_USAGE) {
        return rc;
    }
    if (rc == 0) {
        res = calloc(s->n, sizeof(*res));
        if (res == NULL) {
            msg(x, "out of memory");
            rc = CLI_EXIT_FAILED;
            goto out;
        }
        src = client_submit_many(c, s->obs, s->n, res, progress_cb, s);
        for (size_t r = 0; r < s->n; r++) {
            if (res[r].done) {
                submit_report(s, r, &res[r], counts);
            } else if (queued_why == 0) {
                /* The first record left without an answer says why. */
                why = res[r].err;
                queued_why = 1;
            }
        }
    }
    if (src < 0) {
        submit_queue(s, res, &why, &queued);
    }
    fprintf(x->out, "stored=%zu duplicate=%zu failed=%zu", counts[0], counts[1], counts[2]);
    if (queued > 0) {
        fprintf(x->out, " queued=%zu", queued);
    }
    fputc('\n', x->out);
    if (src < 0) {
        msg(x,
            "the server %s; %zu record%s wait%s in the outbox (coachq queue list): "
            "'coachq queue flush' sends %s, stored once however often it is sent",
            c == NULL ? (conn_refused(why.code) ? "refused the connection" : "was unreachable")
                      : "connection failed before every answer",
            queued, queued == 1 ? "" : "s", queued == 1 ? "s" : "", queued == 1 ? "it" : "them");
        rc = CLI_EXIT_CONNECT;
    } else {
        rc = counts[2] > 0 ? CLI_EXIT_FAILED : CLI_EXIT_OK;
    }
out:
    client_free(c);
    free(res);
    return rc;
}

static int cmd_submit(struct cli *x, int argc, char **argv)
{
    static const struct option opts[] = {
        COMMON_OPTIONS,
        {"no-write-ids", no_argument, NULL, OPT_NO_WRITE_IDS},
        {"window", required_argument, NULL, OPT_WINDOW},
        {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    struct submit s;
    unsigned long window = 0;
    int write_ids = 1;
    size_t total = 0;
    size_t bad = 0;
    int rc = CLI_EXIT_FAILED;
    int opt;

    memset(&s, 0, sizeof(s));
    s.x = x;
    for (;;) {
        int orc = next_option(x, argc, argv, "hq", opts, submit_help, &opt);
        if (orc >= 0) {
            return orc;
        }
        if (opt == -1) {
            break;
        }
        switch (opt) {
        case 'q':
            s.quiet = 1;
            break;
        case OPT_NO_WRITE_IDS:
            write_ids = 0;
            break;
        case OPT_WINDOW:
            if (parse_ulong(optarg, 1, 4096, &window) < 0) {
                return usage(x, "--window: '%s' is not a number 1..4096", optarg);
            }
            break;
        default:
            return bad_option(x, argc, argv);
        }
    }
    if (optind >= argc) {
        return usage(x, "no FILE given (use - for standard input)");
    }
    s.n_in = (size_t)(argc - optind);
    s.in = calloc(s.n_in, sizeof(*s.in));
    if (s.in == NULL) {
        msg(x, "out of memory");
        goto out;
    }
    s.tty = isatty(fileno(x->err));

    /* Read every file first. */
    for (size_t i = 0; i < s.n_in; i++) {
        struct input *in = &s.in[i];

        in->path = argv[optind + (int)i];
        in->is_stdin = strcmp(in->path, "-") == 0;
        for (size_t k = 0; k < i && in->is_stdin; k++) {
            if (s.in[k].is_stdin) {
                rc = usage(x, "standard input (-) given twice");
                goto out;
            }
        }
        in->root = load_input(x, in->path, in->is_stdin);
        if (in->root == NULL) {
            bad++;
            continue;
        }
        if (json_is_array(in->root)) {
            total += json_array_size(in->root);
        } else if (json_is_object(in->root)) {
            total++;
        } else {
            msg(x, "%s: must hold a JSON object or an array of objects",
                in->is_stdin ? "(stdin)" : in->path);
            bad++;
        }
    }

    s.obs = calloc(total > 0 ? total : 1, sizeof(*s.obs));
    s.rec_file = calloc(total > 0 ? total : 1, sizeof(*s.rec_file));
    s.rec_index = calloc(total > 0 ? total : 1, sizeof(*s.rec_index));
    if (s.obs == NULL || s.rec_file == NULL || s.rec_index == NULL) {
        msg(x, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < s.n_in; i++) {
        struct input *in = &s.in[i];
        int e = 0;

        if (in->root == NULL) {
            continue; /* reported above; the other files are still checked */
        }
        if (json_is_object(in->root)) {
            e = add_record(&s, i, SIZE_MAX, in->root, write_ids, &bad);
        } else if (json_is_array(in->root)) {
            for (size_t k = 0; k < json_array_size(in->root) && e == 0; k++) {
                e = add_record(&s, i, k, json_array_get(in->root, k), write_ids, &bad);
            }
        }
        if (e < 0) {
            msg(x, "out of memory");
            goto out;
        }
    }
    if (bad > 0) {
        msg(x, "%zu error%s in the input; nothing was sent", bad, bad == 1 ? "" : "s");
        goto out;
    }
    if (s.n == 0) {
        msg(x, "no records in the input; nothing to send");
        rc = CLI_EXIT_OK;
        fprintf(x->out, "stored=0 duplicate=0 failed=0\n");
        goto out;
    }
    /* Persist new ids before sending, so a retry after any failure below
     * reuses them. */
    for (size_t i = 0; i < s.n_in; i++) {
        if (s.in[i].dirty && rewrite_file(x, s.in[i].path, s.in[i].root) < 0) {
            msg(x, "nothing was sent (use --no-write-ids to send without saving the ids)");
            goto out;
        }
        if (s.in[i].dirty && !s.quiet) {
            msg(x, "%s: added ids to records that had none", s.in[i].path);
        }
    }
    if (s.unsaved_ids > 0 && !s.quiet) {
        msg(x,
            "%zu record%s got a new id that is not saved anywhere: sending the same input "
            "again will store %s a second time",
            s.unsaved_ids, s.unsaved_ids == 1 ? "" : "s", s.unsaved_ids == 1 ? "it" : "them");
    }

    rc = submit_send(&s, (unsigned)window);
out:
    for (size_t r = 0; r < s.n; r++) {
        obs_json_free(s.obs[r]);
    }
    free(s.obs);
    free(s.rec_file);
    free(s.rec_index);
    for (size_t i = 0; i < s.n_in; i++) {
        json_decref(s.in[i].root);
    }
    free(s.in);
    return rc;
}

/* ---- get ----------------------------------------------------------------- */

/* The enum value's proto name without prefix, lower-case ("enablement_lead"). */
static const char *enum_label(const ProtobufCEnumDescriptor *d, int v, const char *prefix,
                              char *buf, size_t len)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
    const char *name;
    size_t i;

    if (ev == NULL) {
        snprintf(buf, len, "%d", v);
        return buf;
    }
    name = ev->name;
    if (strncmp(name, prefix, strlen(prefix)) == 0) {
        name += strlen(prefix);
    }
    for (i = 0; name[i] != '\0' && i + 1 < len; i++) {
        buf[i] = (char)tolower((unsigned char)name[i]);
    }
    buf[i] = '\0';
    return buf;
}

/* Mean of the scored ratings and their count; n/a ratings never count. */
static double mean_score(const Coachq__V1__Observation *o, size_t *scored)
{
    double sum = 0;

    *scored = 0;
    for (size_t i = 0; i < o->n_ratings; i++) {
        if (!o->ratings[i]->not_applicable && o->ratings[i]->score > 0) {
            sum += o->ratings[i]->score;
            (*scored)++;
        }
    }
    return *scored > 0 ? sum / (double)*scored : 0;
}

static const char *or_dash(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : "-";
}

/* The lines saying what else an observation refers to. */
static void print_obs_links(FILE *f, const Coachq__V1__Observation *o)
{
    char e[UUID_STR_LEN];

    if (o->amends.len == UUID_LEN) {
        fprintf(f, "amends      %s\n", uuid_format(o->amends.data, e));
    }
    if (o->calibration_ref.len == UUID_LEN) {
        fprintf(f, "calibration %s (an attempt at a reference session; not in dashboards)\n",
                uuid_format(o->calibration_ref.data, e));
    }
}

/* The observation's content, from its rubric on. */
static void print_obs_body(FILE *f, const Coachq__V1__Observation *o)
{
    char t[DAY_TIME_LEN];
    char e[64];
    size_t scored;
    double mean = mean_score(o, &scored);

    fprintf(f, "rubric      %s v%u\n", or_dash(o->rubric_id), o->rubric_version);
    fprintf(f, "coach       %s\n", or_dash(o->coach_id));
    fprintf(f, "coachee     %s\n", or_dash(o->coachee_id));
    fprintf(f, "session     %s",
            obs_json_session_type_name(o->session_type) != NULL
                ? obs_json_session_type_name(o->session_type)
                : enum_label(&coachq__v1__session_type__descriptor, o->session_type,
                             "SESSION_TYPE_", e, sizeof(e)));
    if (obs_json_focus_name(o->focus) != NULL) {
        fprintf(f, ", focus %s", obs_json_focus_name(o->focus));
    }
    day_format_time(o->started_at, t, sizeof(t));
    fprintf(f, "\nstarted     %s, %u min", t, o->duration_s / 60);
    if (o->duration_s % 60 != 0) {
        fprintf(f, " %u s", o->duration_s % 60);
    }
    fputc('\n', f);
    if (scored > 0) {
        fprintf(f, "ratings     %zu, mean %.2f over %zu scored\n", o->n_ratings, mean, scored);
    } else {
        fprintf(f, "ratings     %zu, none scored\n", o->n_ratings);
    }
    for (size_t i = 0; i < o->n_ratings; i++) {
        const Coachq__V1__Rating *r = o->ratings[i];
        char sc[8];

        if (r->not_applicable) {
            snprintf(sc, sizeof(sc), "n/a");
        } else {
            snprintf(sc, sizeof(sc), "%u", r->score);
        }
        fprintf(f, "  %-28s %3s", r->behaviour_id, sc);
        if (r->evidence != NULL && r->evidence[0] != '\0') {
            fprintf(f, "  %s", r->evidence);
        }
        fputc('\n', f);
    }
    if (o->n_markers > 0) {
        fprintf(f, "markers     %zu\n", o->n_markers);
    }
    for (size_t i = 0; i < o->n_markers; i++) {
        const Coachq__V1__Marker *m = o->markers[i];
        const char *k = obs_json_marker_kind_name(m->kind);

        obs_json_format_offset(m->offset_ms, t, sizeof(t));
        fprintf(f, "  %9s  %-18s", t, k != NULL ? k : "?");
        if (m->note != NULL && m->note[0] != '\0') {
            fprintf(f, " %s", m->note);
        }
        fputc('\n', f);
    }
    if (o->n_actions > 0) {
        fprintf(f, "actions     %zu\n", o->n_actions);
    }
    for (size_t i = 0; i < o->n_actions; i++) {
        const Coachq__V1__Action *a = o->actions[i];

        fprintf(f, "  - %s", a->text);
        if (a->owner_id != NULL && a->owner_id[0] != '\0') {
            fprintf(f, " (owner %s", a->owner_id);
        } else {
            fprintf(f, " (no owner");
        }
        if (a->due_day != 0) {
            day_format(a->due_day, t, sizeof(t));
            fprintf(f, ", due %s", t);
        }
        fprintf(f, ")\n");
    }
    if (o->notes != NULL && o->notes[0] != '\0') {
        fprintf(f, "notes       %s\n", o->notes);
    }
}

static void print_record(FILE *f, const Coachq__V1__StoredObservation *s)
{
    const Coachq__V1__Observation *o = s->observation;
    char id[UUID_STR_LEN];
    char t[DAY_TIME_LEN];

    if (o == NULL) {
        fprintf(f, "(empty record, seq %llu)\n", (unsigned long long)s->seq);
        return;
    }
    fprintf(f, "id          %s\n", obs_id(o, id));
    if (s->version != 0) {
        fprintf(f, "version     %u, %s\n", s->version,
                s->superseded ? "superseded by a later version" : "current");
    }
    print_obs_links(f, o);
    day_format_time_ms(s->received_at_ms, t, sizeof(t));
    fprintf(f, "seq         %llu (received %s from %s)\n", (unsigned long long)s->seq, t,
            or_dash(s->observer_id));
    print_obs_body(f, o);
}

/* Prints j (borrowed; NULL when building it ran out of memory) with indent
 * 2 and a newline. Returns CLI_EXIT_OK, or CLI_EXIT_FAILED after saying
 * that memory ran out. */
static int print_json(struct cli *x, const json_t *j)
{
    char *text = j != NULL ? json_dumps(j, JSON_INDENT(2)) : NULL;

    if (text == NULL) {
        msg(x, "out of memory");
        return CLI_EXIT_FAILED;
    }
    fprintf(x->out, "%s\n", text);
    free(text);
    return CLI_EXIT_OK;
}

static const char *const get_help =
    "Usage: coachq get [OPTIONS] ID\n"
    "Prints one observation, by its UUID, as text or (--json) as JSON in the\n"
    "format of docs/observation-json.md plus seq, received_at and observer.\n"
    "\n"
    "Options:\n"
    "  --json              print JSON\n" COMMON_HELP
    "\nExit status: 0 found, 1 not found or refused, 2 usage, 3 connection failure.\n";

static int cmd_get(struct cli *x, int argc, char **argv)
{
    struct client *c = NULL;
    Coachq__V1__StoredObservation *rec = NULL;
    struct client_error e;
    uint8_t id[UUID_LEN];
    int json = 0;
    int rc = id_options(x, argc, argv, get_help, &json, id);

    if (rc >= 0) {
        return rc;
    }
    rc = connect_server(x, 0, &c);
    if (rc != 0) {
        goto out;
    }
    rc = client_get(c, id, &rec, &e);
    if (rc < 0) {
        rc = request_failed(x, rc, &e);
        goto out;
    }
    if (json) {
        json_t *j = obs_json_from_stored(rec);

        rc = print_json(x, j);
        json_decref(j);
    } else {
        print_record(x->out, rec);
        rc = CLI_EXIT_OK;
    }
out:
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    client_free(c);
    return rc;
}

/* ---- list ---------------------------------------------------------------- */

static const char *const list_help =
    "Usage: coachq list (--coach ID | --observer ID | --coachee ID) [OPTIONS]\n"
    "Lists observations of one person, oldest session first, following the\n"
    "server's pages until --limit records were printed.\n"
    "\n"
    "Options:\n"
    "  --coach ID          sessions where ID was the coach (the manager)\n"
    "  --observer ID       sessions that ID scored\n"
    "  --coachee ID        sessions where ID was the coachee (the rep)\n"
    "  --since WHEN        sessions that started at or after WHEN\n"
    "  --until WHEN        sessions that started before WHEN; a date alone means\n"
    "                      up to the end of that day\n"
    "                      (WHEN: 2026-11-02 or 2026-11-02T14:30:00Z, UTC)\n"
    "  --limit N           print at most N records (default 50; 0 = all)\n"
    "  --json              print a JSON array of records instead of the table\n" COMMON_HELP
    "\nColumns: started_at, uuid, coach, coachee, observer, rubric, mean score\n"
    "(n/a ratings excluded), n ratings.\n"
    "Exit status: 0 success, 1 refused, 2 usage, 3 connection failure.\n";

/* "YYYY-MM-DD" (start of the day, or of the next day when end) or a full
 * ISO-8601 time. Returns 0 or -EINVAL. */
static int parse_when(const char *s, int end, int64_t *out)
{
    char buf[40];

    if (strlen(s) == 10) {
        snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
        if (day_parse_time(buf, out) < 0) {
            return -EINVAL;
        }
        if (end) {
            *out += 86400;
        }
        return 0;
    }
    return day_parse_time(s, out);
}

static void print_row(FILE *f, const Coachq__V1__StoredObservation *s)
{
    const Coachq__V1__Observation *o = s->observation;
    char t[DAY_TIME_LEN];
    char id[UUID_STR_LEN] = "-";
    char rubric[96];
    char mean[16] = "-";
    size_t scored;
    double m;

    if (o == NULL) {
        return;
    }
    if (o->id.len == UUID_LEN) {
        uuid_format(o->id.data, id);
    }
    day_format_time(o->started_at, t, sizeof(t));
    snprintf(rubric, sizeof(rubric), "%s v%u", o->rubric_id, o->rubric_version);
    m = mean_score(o, &scored);
    if (scored > 0) {
        snprintf(mean, sizeof(mean), "%.2f", m);
    }
    fprintf(f, "%-20s  %-36s  %-16s  %-16s  %-16s  %-24s  %4s  %3zu\n", t, id, o->coach_id,
            o->coachee_id, or_dash(s->observer_id), rubric, mean, o->n_ratings);
}

/* Called for each record of a listing (borrowed for the call); returns 0
 * to go on or an exit code (after saying why). */
typedef int (*list_row_cb)(struct cli *x, const Coachq__V1__StoredObservation *s, void *arg);

/*
 * Follows the server's pages of q (its cursor is used and reset) until
 * limit records (0 = all) went to row. *more says whether the server had
 * more. Returns 0 or an exit code (after saying why).
 */
static int list_pages(struct cli *x, struct client *c, Coachq__V1__ListObservations *q,
                      unsigned long limit, list_row_cb row, void *arg, int *more)
{
    Coachq__V1__ObservationPage *page = NULL;
    struct client_error e;
    uint8_t *cursor = NULL;
    size_t done = 0;
    int rc;

    *more = 0;
    for (;;) {
        size_t want = limit == 0 ? LIST_PAGE_MAX : limit - done;

        q->page_size = (uint32_t)(want < LIST_PAGE_MAX ? want : LIST_PAGE_MAX);
        rc = client_list(c, q, &page, &e);
        if (rc < 0) {
            rc = request_failed(x, rc, &e);
            goto out;
        }
        for (size_t i = 0; i < page->n_observations && (limit == 0 || done < limit); i++) {
            rc = row(x, page->observations[i], arg);
            if (rc != 0) {
                goto out;
            }
            done++;
        }
        *more = page->next_cursor.len > 0;
        if (!*more || (limit != 0 && done >= limit)) {
            break;
        }
        /* The cursor must outlive the page it came from. */
        free(cursor);
        cursor = malloc(page->next_cursor.len);
        if (cursor == NULL) {
            msg(x, "out of memory");
            rc = CLI_EXIT_FAILED;
            goto out;
        }
        memcpy(cursor, page->next_cursor.data, page->next_cursor.len);
        q->cursor.data = cursor;
        q->cursor.len = page->next_cursor.len;
        coachq__v1__observation_page__free_unpacked(page, NULL);
        page = NULL;
    }
    rc = 0;
out:
    coachq__v1__observation_page__free_unpacked(page, NULL);
    free(cursor);
    q->cursor.data = NULL;
    q->cursor.len = 0;
    return rc;
}

/* What `coachq list` prints into: a JSON array, or the table when all is
 * NULL. */
struct list_out {
    json_t *all;
    size_t printed;
};

static int list_print_cb(struct cli *x, const Coachq__V1__StoredObservation *s, void *arg)
{
    struct list_out *lo = arg;

    if (lo->all == NULL) {
        print_row(x->out, s);
    } else if (json_array_append_new(lo->all, obs_json_from_stored(s)) < 0) {
        msg(x, "out of memory");
        return CLI_EXIT_FAILED;
    }
    lo->printed++;
    return 0;
}

static int cmd_list(struct cli *x, int argc, char **argv)
{
    static const struct option opts[] = {
        COMMON_OPTIONS,
        {"coach", required_argument, NULL, OPT_COACH},
        {"observer", required_argument, NULL, OPT_OBSERVER},
        {"coachee", required_argument, NULL, OPT_COACHEE},
        {"since", required_argument, NULL, OPT_SINCE},
        {"until", required_argument, NULL, OPT_UNTIL},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"json", no_argument, NULL, OPT_JSON},
        {NULL, 0, NULL, 0},
    };
    Coachq__V1__ListObservations q = COACHQ__V1__LIST_OBSERVATIONS__INIT;
    struct client *c = NULL;
    struct list_out lo = {NULL, 0};
    unsigned long limit = DEFAULT_LIST_LIMIT;
    int json = 0;
    int more = 0;
    int rc;
    int opt;

    for (;;) {
        rc = next_option(x, argc, argv, "h", opts, list_help, &opt);
        if (rc >= 0) {
            return rc;
        }
        if (opt == -1) {
            break;
        }
        switch (opt) {
        case OPT_COACH:
        case OPT_OBSERVER:
        case OPT_COACHEE:
            if (q.by != COACHQ__V1__LIST_BY__LIST_BY_UNSPECIFIED) {
                return usage(x, "give only one of --coach, --observer, --coachee");
            }
            q.by = opt == OPT_COACH      ? COACHQ__V1__LIST_BY__LIST_BY_COACH
                   : opt == OPT_OBSERVER ? COACHQ__V1__LIST_BY__LIST_BY_OBSERVER
                                         : COACHQ__V1__LIST_BY__LIST_BY_COACHEE;
            q.person_id = optarg;
            break;
        case OPT_SINCE:
            if (parse_when(optarg, 0, &q.since) < 0) {
                return usage(x,
                             "--since: '%s' is not a date (2026-11-02) or UTC time "
                             "(2026-11-02T14:30:00Z)",
                             optarg);
            }
            break;
        case OPT_UNTIL:
            if (parse_when(optarg, 1, &q.until) < 0) {
                return usage(x,
                             "--until: '%s' is not a date (2026-11-02) or UTC time "
                             "(2026-11-02T14:30:00Z)",
                             optarg);
            }
            break;
        case OPT_LIMIT:
            if (parse_ulong(optarg, 0, 100000000, &limit) < 0) {
                return usage(x, "--limit: '%s' is not a number", optarg);
            }
            break;
        case OPT_JSON:
            json = 1;
            break;
        default:
            return bad_option(x, argc, argv);
        }
    }
    if (optind < argc) {
        return usage(x, "unexpected argument '%s'", argv[optind]);
    }
    if (q.by == COACHQ__V1__LIST_BY__LIST_BY_UNSPECIFIED) {
        return usage(x, "say whose observations: --coach ID, --observer ID or --coachee ID");
    }
    if (q.since != 0 && q.until != 0 && q.until <= q.since) {
        return usage(x, "--until must be after --since");
    }
    rc = connect_server(x, 0, &c);
    if (rc != 0) {
        return rc;
    }
    if (json) {
        lo.all = json_array();
        if (lo.all == NULL) {
            msg(x, "out of memory");
            rc = CLI_EXIT_FAILED;
            goto out;
        }
    } else {
        fprintf(x->out, "%-20s  %-36s  %-16s  %-16s  %-16s  %-24s  %4s  %3s\n", "STARTED_AT",
                "UUID", "COACH", "COACHEE", "OBSERVER", "RUBRIC", "MEAN", "N");
    }
    rc = list_pages(x, c, &q, limit, list_print_cb, &lo, &more);
    if (rc != 0) {
        goto out;
    }
    if (json) {
        rc = print_json(x, lo.all);
    } else {
        fprintf(x->out, "%zu observation%s%s\n", lo.printed, lo.printed == 1 ? "" : "s",
                more ? " (more: raise --limit, or 0 for all)" : "");
    }
out:
    json_decref(lo.all);
    client_free(c);
    return rc;
}

/* ---- stats and whoami ---------------------------------------------------- */

static const char *const stats_help =
    "Usage: coachq stats [OPTIONS]\n"
    "Prints the server's counters (commits, records, group-commit batch sizes,\n"
    "commit latency, connections).\n"
    "\n" COMMON_HELP;

static int cmd_stats(struct cli *x, int argc, char **argv)
{
    struct client *c = NULL;
    Coachq__V1__Stats *st = NULL;
    struct client_error e;
    int rc = simple_options(x, argc, argv, stats_help);

    if (rc >= 0) {
        return rc;
    }
    rc = connect_server(x, 0, &c);
    if (rc != 0) {
        return rc;
    }
    rc = client_stats(c, &st, &e);
    if (rc < 0) {
        rc = request_failed(x, rc, &e);
        goto out;
    }
    fprintf(x->out, "commits            %llu\n", (unsigned long long)st->commits);
    fprintf(x->out, "records_stored     %llu\n", (unsigned long long)st->records_stored);
    fprintf(x->out, "duplicates         %llu\n", (unsigned long long)st->duplicates);
    fprintf(x->out, "batched_requests   %llu\n", (unsigned long long)st->batched_requests);
    fprintf(x->out, "max_batch          %llu\n", (unsigned long long)st->max_batch);
    if (st->commits > 0) {
        fprintf(x->out, "mean_batch         %.2f\n",
                (double)st->batched_requests / (double)st->commits);
        fprintf(x->out, "commit_ms_mean     %.3f\n",
                (double)st->commit_us_total / (double)st->commits / 1000.0);
    }
    fprintf(x->out, "commit_ms_max      %.3f\n", (double)st->commit_us_max / 1000.0);
    fprintf(x->out, "connections        %llu\n", (unsigned long long)st->connections);
    rc = CLI_EXIT_OK;
out:
    coachq__v1__stats__free_unpacked(st, NULL);
    client_free(c);
    return rc;
}

static const char *const whoami_help =
    "Usage: coachq whoami [OPTIONS]\n"
    "Connects and prints who the server thinks you are (the user id from your\n"
    "certificate and your roles), and the server's version and limits.\n"
    "\n" COMMON_HELP;

static int cmd_whoami(struct cli *x, int argc, char **argv)
{
    struct client *c = NULL;
    const Coachq__V1__Welcome *w;
    char role[64];
    int rc = simple_options(x, argc, argv, whoami_help);

    if (rc >= 0) {
        return rc;
    }
    rc = connect_server(x, 0, &c);
    if (rc != 0) {
        return rc;
    }
    w = client_welcome(c);
    fprintf(x->out, "user       %s\n", w->user_id);
    fprintf(x->out, "roles      ");
    for (size_t i = 0; i < w->n_roles; i++) {
        fprintf(
            x->out, "%s%s", i > 0 ? ", " : "",
            enum_label(&coachq__v1__role__descriptor, w->roles[i], "ROLE_", role, sizeof(role)));
    }
    fprintf(x->out, "%s\n", w->n_roles == 0 ? "(none)" : "");
    fprintf(x->out, "server     %s:%s, %s, protocol %u\n", x->host, x->port,
            or_dash(w->server_version), w->protocol_version);
    fprintf(x->out, "limits     %u bytes per frame, %u requests in flight\n", w->max_frame_bytes,
            w->max_in_flight);
    if (w->max_response_bytes > w->max_frame_bytes) {
        fprintf(x->out, "           answers up to %u bytes (dashboards, people)\n",
                w->max_response_bytes);
    }
    client_free(c);
    return CLI_EXIT_OK;
}

/* ---- history ------------------------------------------------------------- */

static const char *const history_help =
    "Usage: coachq history [OPTIONS] ID\n"
    "Prints every version of an observation, oldest first: the original and its\n"
    "amendments. ID may be any version's UUID. Each version is printed as 'coachq\n"
    "get' prints a record, with its version number and whether it is current or\n"
    "superseded by a later version. Versions you may not read are left out.\n"
    "\n"
    "Options:\n"
    "  --json              print a JSON array of the versions (the format of 'get\n"
    "                      --json', with version, root_id and superseded)\n" COMMON_HELP
    "\nExit status: 0 found, 1 not found or refused, 2 usage, 3 connection failure.\n";

static int cmd_history(struct cli *x, int argc, char **argv)
{
    struct client *c = NULL;
    Coachq__V1__ObservationHistory *h = NULL;
    struct client_error e;
    json_t *all = NULL;
    uint8_t id[UUID_LEN];
    int json = 0;
    int rc = id_options(x, argc, argv, history_help, &json, id);

    if (rc >= 0) {
        return rc;
    }
    rc = connect_server(x, 0, &c);
    if (rc != 0) {
        goto out;
    }
    rc = client_history(c, id, &h, &e);
    if (rc < 0) {
        rc = request_failed(x, rc, &e);
        goto out;
    }
    if (h->n_versions == 0) {
        msg(x, "%s: no version of this observation is visible to you", argv[optind]);
        rc = CLI_EXIT_FAILED;
        goto out;
    }
    rc = CLI_EXIT_FAILED;
    if (json) {
        all = json_array();
        if (all == NULL) {
            msg(x, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < h->n_versions; i++) {
            if (json_array_append_new(all, obs_json_from_stored(h->versions[i])) < 0) {
                msg(x, "out of memory");
                goto out;
            }
        }
        rc = print_json(x, all);
    } else {
        fprintf(x->out, "%zu version%s, oldest first\n", h->n_versions,
                h->n_versions == 1 ? "" : "s");
        for (size_t i = 0; i < h->n_versions; i++) {
            fputc('\n', x->out);
            print_record(x->out, h->versions[i]);
        }
        rc = CLI_EXIT_OK;
    }
out:
    json_decref(all);
    coachq__v1__observation_history__free_unpacked(h, NULL);
    client_free(c);
    return rc;
}

/* ---- rubrics ------------------------------------------------------------- */

/* Text is wrapped to this many columns. */
#define WRAP_COLS 80

/* day_format() returning buf, so that it can stand among printf's
 * arguments. */
static const char *format_day(int64_t day, char *buf, size_t len)
{
    day_format(day, buf, len);
    return buf;
}

/*
 * Prints text wrapped at WRAP_COLS columns and ends the line. The cursor is
 * at column col (after a label the caller printed); continuation lines are
 * indented by indent spaces. Lines break only at white space, so a word
 * longer than a line stays whole; UTF-8 continuation bytes take no column.
 */
static void print_wrapped(FILE *f, size_t col, size_t indent, const char *text)
{
    const char *p = text != NULL ? text : "";
    int line_start = 1;

    for (;;) {
        const char *w;
        size_t bytes;
        size_t width = 0;

        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        w = p;
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            if (((unsigned char)*p & 0xc0) != 0x80) {
                width++;
            }
            p++;
        }
        bytes = (size_t)(p - w);
        if (!line_start && col + 1 + width > WRAP_COLS) {
            fprintf(f, "\n%*s", (int)indent, "");
            col = indent;
            line_start = 1;
        }
        if (!line_start) {
            fputc(' ', f);
            col++;
        }
        fwrite(w, 1, bytes, f);
        col += width;
        line_start = 0;
    }
    fputc('\n', f);
}

/* The names of scores 1..4 (domain.md, "Rating scale"). */
static const char *const score_names[] = {"not demonstrated", "developing", "proficient",
                                          "exemplary"};

static void print_rubric(FILE *f, const Coachq__V1__Rubric *r)
{
    char t[DAY_TIME_LEN];

    fprintf(f, "rubric      %s v%u\n", r->id, r->version);
    fprintf(f, "name        ");
    print_wrapped(f, 12, 12, r->name);
    fprintf(f, "effective   %s (sessions before it cannot be scored against this version)\n",
            format_day(r->effective_day, t, sizeof(t)));
    if (r->added_at_ms != 0) {
        day_format_time_ms(r->added_at_ms, t, sizeof(t));
        fprintf(f, "added       %s\n", t);
    }
    fprintf(f, "evidence    ");
    if (r->n_evidence_required == 0) {
        fprintf(f, "not required for any score\n");
    } else {
        fprintf(f, "required for score%s ", r->n_evidence_required == 1 ? "" : "s");
        for (size_t i = 0; i < r->n_evidence_required; i++) {
            fprintf(f, "%s%u",
                    i == 0                            ? ""
                    : i + 1 == r->n_evidence_required ? " and "
                                                      : ", ",
                    r->evidence_required[i]);
        }
        fputc('\n', f);
    }
    fprintf(f, "behaviours  %zu\n", r->n_behaviours);
    if (r->description != NULL && r->description[0] != '\0') {
        fputc('\n', f);
        print_wrapped(f, 0, 0, r->description);
    }
    for (size_t i = 0; i < r->n_behaviours; i++) {
        const Coachq__V1__Behaviour *b = r->behaviours[i];

        fprintf(f, "\n%zu. %s (%s)\n   ", i + 1, b->name, b->id);
        print_wrapped(f, 3, 3, b->definition);
        fprintf(f, "   Indicators:\n");
        for (size_t k = 0; k < b->n_indicators; k++) {
            fprintf(f, "     - ");
            print_wrapped(f, 7, 7, b->indicators[k]);
        }
        fprintf(f, "   Anchors:\n");
        for (size_t k = 0; k < b->n_anchors; k++) {
            int n = fprintf(f, "     %zu %s: ", k + 1, k < 4 ? score_names[k] : "?");

            print_wrapped(f, n > 0 ? (size_t)n : 0, 7, b->anchors[k]);
        }
        fprintf(f, "   n/a: %s\n",
                b->allow_not_applicable ? "allowed (a session may give no occasion for it)"
                                        : "not allowed");
    }
}

/* Splits "ID" or "ID@VERSION" (version 0 = the latest). An id may itself
 * contain '@': only a last '@' followed by digits starts a version. Returns
 * 0 or -EINVAL. */
static int split_rubric_ref(const char *arg, char *id, size_t idlen, uint32_t *version)
{
    const char *at = strrchr(arg, '@');
    size_t n = strlen(arg);
    unsigned long v;

    *version = 0;
    if (at != NULL && at[1] >= '0' && at[1] <= '9') {
        if (parse_ulong(at + 1, 1, UINT32_MAX, &v) < 0) {
            return -EINVAL;
        }
        *version = (uint32_t)v;
        n = (size_t)(at - arg);
    }
    if (n == 0 || n >= idlen) {
        return -EINVAL;
    }
    memcpy(id, arg, n);
    id[n] = '\0';
    return 0;
}

static const char *const rubrics_help =
    "Usage: coachq rubrics [OPTIONS]\n"
    "       coachq rubrics show [OPTIONS] ID[@VERSION]\n"
    "Without a subcommand, lists the rubrics on the server, the latest version of\n"
    "each: id, version, number of behaviours, effective date and name.\n"
    "'show' prints one rubric version in full (the latest without @VERSION): the\n"
    "scores that need an evidence note, then each behaviour's id, name,\n"
    "definition, indicators, the anchors of scores 1 to 4, and whether it may be\n"
    "rated n/a. (A rubric id that itself ends in @ and digits needs @VERSION.)\n"
    "\n"
    "Options:\n"
    "Every rubric fetched is kept in the local store (--data-dir). When the server\n"
    "cannot be reached, both forms answer from there, saying so on standard error:\n"
    "\"(offline: cached rubrics from DIR)\".\n"
    "\n"
    "Options:\n"
    "  --json              (show only) print the rubric in the file format of\n"
    "                      docs/rubrics.md\n" COMMON_HELP
    "\nExit status: 0 success (also from the cache), 1 not found or refused, 2 usage,\n"
    "3 connection failure and nothing cached.\n";

static void rubric_header(FILE *f)
{
    fprintf(f, "%-32s  %7s  %10s  %-10s  %s\n", "ID", "VERSION", "BEHAVIOURS", "EFFECTIVE", "NAME");
}

static void rubric_row(FILE *f, const Coachq__V1__Rubric *l)
{
    char day[DAY_TIME_LEN];

    fprintf(f, "%-32s  %7u  %10zu  %-10s  %s\n", l->id, l->version, l->n_behaviours,
            format_day(l->effective_day, day, sizeof(day)), l->name);
}

static void rubric_footer(FILE *f, size_t n)
{
    fprintf(f, "%zu rubric%s\n", n, n == 1 ? "" : "s");
}

/* Prints one rubric in full, as text or JSON. Returns the exit code. */
static int rubric_show(struct cli *x, const Coachq__V1__Rubric *r, int json)
{
    char *text;

    if (!json) {
        print_rubric(x->out, r);
        return CLI_EXIT_OK;
    }
    text = rubric_json_dump(r);
    if (text == NULL) {
        msg(x, "out of memory");
        return CLI_EXIT_FAILED;
    }
    fputs(text, x->out);
    free(text);
    return CLI_EXIT_OK;
}

/* Keeps fetched rubrics (borrowed) in the local store for working
 * offline. A failure costs only the cache, so it is a note, not an error. */
static void rubrics_cache(struct cli *x, Coachq__V1__Rubric *const *r, size_t n)
{
    struct localstore *ls = NULL;

    if (open_store(x, &ls) != 0) {
        msg(x, "(the rubrics are not cached for offline use)");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = localstore_rubric_put(ls, r[i]);

        if (rc < 0) {
            msg(x, "cannot cache rubric %s v%u in %s: %s", r[i]->id, r[i]->version,
                localstore_path(ls), strerror(-rc));
        }
    }
    localstore_close(ls);
}

/* What to print, online or from the cache. */
struct rubrics_req {
    int show;
    int json;
    char id[128];
    uint32_t version;
};

static int rubrics_online(struct cli *x, struct client *c, const struct rubrics_req *q)
{
    Coachq__V1__RubricList *list = NULL;
    Coachq__V1__Rubric *r = NULL;
    struct client_error e;
    int rc;

    if (q->show) {
        rc = client_rubric(c, q->id, q->version, &r, &e);
        if (rc < 0) {
            return request_failed(x, rc, &e);
        }
        rubrics_cache(x, &r, 1);
        rc = rubric_show(x, r, q->json);
        coachq__v1__rubric__free_unpacked(r, NULL);
        return rc;
    }
    rc = client_rubrics(c, &list, &e);
    if (rc < 0) {
        return request_failed(x, rc, &e);
    }
    rubrics_cache(x, list->rubrics, list->n_rubrics);
    rubric_header(x->out);
    for (size_t i = 0; i < list->n_rubrics; i++) {
        rubric_row(x->out, list->rubrics[i]);
    }
    rubric_footer(x->out, list->n_rubrics);
    coachq__v1__rubric_list__free_unpacked(list, NULL);
    return CLI_EXIT_OK;
}

struct rubric_rows {
    FILE *f;
    size_t n;
};

/* Prints a cached rubric's row, the header before the first. */
static int rubric_cached_row_cb(const Coachq__V1__Rubric *r, void *arg)
{
    struct rubric_rows *rows = arg;

    if (rows->n == 0) {
        rubric_header(rows->f);
    }
    rubric_row(rows->f, r);
    rows->n++;
    return 0;
}

/* The server was not reached (why): answers from the cache if it has the
 * rubrics. Returns the exit code. */
static int rubrics_offline(struct cli *x, const struct rubrics_req *q,
                           const struct client_error *why)
{
    struct localstore *ls = NULL;
    Coachq__V1__Rubric *r = NULL;
    struct rubric_rows rows = {x->out, 0};
    int rc = CLI_EXIT_CONNECT;

    msg(x, "%s", why->message);
    if (open_store(x, &ls) != 0) {
        return CLI_EXIT_CONNECT;
    }
    if (q->show && localstore_rubric_get(ls, q->id, q->version, &r) == 0) {
        fprintf(x->err, "(offline: cached rubrics from %s)\n", localstore_path(ls));
        rc = rubric_show(x, r, q->json);
    } else if (!q->show && localstore_rubric_list(ls, rubric_cached_row_cb, &rows) == 0 &&
               rows.n > 0) {
        rubric_footer(x->out, rows.n);
        fprintf(x->err, "(offline: cached rubrics from %s)\n", localstore_path(ls));
        rc = CLI_EXIT_OK;
    } else {
        msg(x,
            "no cached copy in %s either: run 'coachq rubrics' once while the server is reachable",
            localstore_path(ls));
    }
    coachq__v1__rubric__free_unpacked(r, NULL);
    localstore_close(ls);
    return rc;
}

static int cmd_rubrics(struct cli *x, int argc, char **argv)
{
    struct client *c = NULL;
    struct client_error e;
    struct rubrics_req q;
    int rc;

    memset(&q, 0, sizeof(q));
    rc = json_options(x, argc, argv, rubrics_help, &q.json);
    if (rc >= 0) {
        return rc;
    }
    if (optind < argc) {
        if (strcmp(argv[optind], "show") != 0) {
            return usage(x, "unknown subcommand '%s' (to see one rubric: coachq rubrics show ID)",
                         argv[optind]);
        }
        if (argc - optind != 2) {
            return usage(x, "expected 'rubrics show ID[@VERSION]'");
        }
        if (split_rubric_ref(argv[optind + 1], q.id, sizeof(q.id), &q.version) < 0) {
            return usage(x, "'%s' is not a rubric ID or ID@VERSION (like coaching-conversation@1)",
                         argv[optind + 1]);
        }
        q.show = 1;
    } else if (q.json) {
        return usage(x, "--json goes with 'rubrics show ID'");
    }
    rc = try_connect(x, 0, &c, &e);
    if (rc == CLI_EXIT_CONNECT) {
        return rubrics_offline(x, &q, &e);
    }
    if (rc == 0) {
        rc = rubrics_online(x, c, &q);
    }
    client_free(c);
    return rc;
}

/* ---- cert status --------------------------------------------------------- */

/* Where a certification stands on a day, as text and as JSON. */
enum cert_when { CERT_VALID, CERT_EXPIRED, CERT_NOT_YET_VALID };
static const char *const cert_when_text[] = {"valid today", "expired", "not yet valid"};
static const char *const cert_when_json[] = {"valid", "expired", "not_yet_valid"};

static enum cert_when cert_when_on(const Coachq__V1__Certification *ct, int64_t today)
{
    if (today < ct->valid_from_day) {
        return CERT_NOT_YET_VALID;
    }
    if (today > ct->valid_until_day) {
        return CERT_EXPIRED;
    }
    return CERT_VALID;
}

/* A fraction 0..1 as "82.5%", or "-" when there is no figure. */
static const char *pct(double v, int have, char *buf, size_t len)
{
    if (!have || !isfinite(v)) {
        snprintf(buf, len, "-");
    } else {
        snprintf(buf, len, "%.1f%%", v * 100.0);
    }
    return buf;
}

/* Kappa as "0.82", "undef" when it is 0/0 (the scores compared use one
 * category; the note under the table says so), or "-" when there is no
 * figure. */
static const char *kappa_str(double v, int have, int undefined, char *buf, size_t len)
{
    if (have && undefined) {
        snprintf(buf, len, "undef");
    } else if (!have || !isfinite(v)) {
        snprintf(buf, len, "-");
    } else {
        snprintf(buf, len, "%.2f", v);
    }
    return buf;
}

static void print_cert_status(FILE *f, const Coachq__V1__CertStatus *cs, int64_t today)
{
    char a[32];
    char b[32];
    char k[32];
    char t[DAY_TIME_LEN];
    int undefined = 0;
    int withheld = 0;

    fprintf(f, "observer    %s\n", or_dash(cs->observer_id));
    fprintf(f, "\ncertifications: %zu\n", cs->n_certifications);
    if (cs->n_certifications > 0) {
        fprintf(f, "  %-24s  %-10s  %-11s  %-13s  %-16s  %5s  %6s  %8s  %5s\n", "RUBRIC",
                "VALID FROM", "VALID UNTIL", "STATUS", "GRANTED BY", "N", "EXACT", "WITHIN 1",
                "KAPPA");
    }
    for (size_t i = 0; i < cs->n_certifications; i++) {
        const Coachq__V1__Certification *ct = cs->certifications[i];
        char from[DAY_TIME_LEN];
        char until[DAY_TIME_LEN];
        char n[16] = "-";
        /* A certification an administrator granted has no figures. */
        int have = ct->n > 0;

        if (have) {
            snprintf(n, sizeof(n), "%u", ct->n);
        }
        fprintf(f, "  %-24s  %-10s  %-11s  %-13s  %-16s  %5s  %6s  %8s  %5s\n", ct->rubric_id,
                format_day(ct->valid_from_day, from, sizeof(from)),
                format_day(ct->valid_until_day, until, sizeof(until)),
                cert_when_text[cert_when_on(ct, today)], or_dash(ct->granted_by), n,
                pct(ct->exact, have, a, sizeof(a)), pct(ct->within_one, have, b, sizeof(b)),
                kappa_str(ct->kappa, have, ct->kappa_undefined, k, sizeof(k)));
        undefined |= have && ct->kappa_undefined;
        withheld |= ct->figures_withheld;
    }
    fprintf(f, "\ncalibration results: %zu\n", cs->n_results);
    if (cs->n_results > 0) {
        fprintf(f, "  %-24s  %-24s  %8s  %5s  %6s  %8s  %5s  %s\n", "AT", "RUBRIC", "SESSIONS", "N",
                "EXACT", "WITHIN 1", "KAPPA", "RESULT");
    }
    for (size_t i = 0; i < cs->n_results; i++) {
        const Coachq__V1__CalibrationResult *r = cs->results[i];
        int have = r->n > 0;
        char n[16] = "-";

        if (have) {
            snprintf(n, sizeof(n), "%u", r->n);
        }
        day_format_time_ms(r->at_ms, t, sizeof(t));
        /* A withheld result's reason is in words already (it starts with
         * "passed" or "not passed"). */
        fprintf(f, "  %-24s  %-24s  %8u  %5s  %6s  %8s  %5s  %s%s%s\n", t, r->rubric_id,
                r->sessions, n, pct(r->exact, have, a, sizeof(a)),
                pct(r->within_one, have, b, sizeof(b)),
                kappa_str(r->kappa, have, r->kappa_undefined, k, sizeof(k)),
                r->figures_withheld ? "" : (r->passed ? "passed" : "not passed"),
                !r->figures_withheld && r->reason != NULL && r->reason[0] != '\0' ? ": " : "",
                r->reason != NULL ? r->reason : "");
        undefined |= have && r->kappa_undefined;
        withheld |= r->figures_withheld;
    }
    if (undefined) {
        fprintf(f, "\nundef: weighted kappa is undefined (0/0) because the scores compared all use "
                   "one\ncategory; exact agreement alone decided.\n");
    }
    if (withheld) {
        fprintf(f,
                "\nAgreement figures are shown to enablement leads only: attempt by attempt they\n"
                "would reveal the master scores. Your lead can go through a result with you.\n");
    }
}

/* A figure for JSON: null when there is none (jansson refuses NaN). */
static json_t *json_figure(double v, int have)
{
    return have && isfinite(v) ? json_real(v) : json_null();
}

static json_t *cert_json(const Coachq__V1__Certification *ct, int64_t today)
{
    json_t *o = json_object();
    char from[DAY_TIME_LEN];
    char until[DAY_TIME_LEN];
    char at[DAY_TIME_LEN];
    int have = ct->n > 0;

    if (o == NULL) {
        return NULL;
    }
    day_format_time_ms(ct->granted_at_ms, at, sizeof(at));
    if (jsonx_put(o, "rubric", json_string(ct->rubric_id)) < 0 ||
        jsonx_put(o, "valid_from",
                  json_string(format_day(ct->valid_from_day, from, sizeof(from)))) < 0 ||
        jsonx_put(o, "valid_until",
                  json_string(format_day(ct->valid_until_day, until, sizeof(until)))) < 0 ||
        jsonx_put(o, "status", json_string(cert_when_json[cert_when_on(ct, today)])) < 0 ||
        jsonx_put(o, "granted_by", json_string(ct->granted_by)) < 0 ||
        (ct->granted_at_ms != 0 && jsonx_put(o, "granted_at", json_string(at)) < 0) ||
        jsonx_put(o, "n", json_integer(ct->n)) < 0 ||
        jsonx_put(o, "exact", json_figure(ct->exact, have)) < 0 ||
        jsonx_put(o, "within_one", json_figure(ct->within_one, have)) < 0 ||
        jsonx_put(o, "kappa", json_figure(ct->kappa, have && !ct->kappa_undefined)) < 0 ||
        jsonx_put(o, "kappa_undefined", json_boolean(have && ct->kappa_undefined)) < 0 ||
        jsonx_put(o, "figures_withheld", json_boolean(ct->figures_withheld)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *result_json(const Coachq__V1__CalibrationResult *r)
{
    json_t *o = json_object();
    char at[DAY_TIME_LEN];
    char next[DAY_TIME_LEN];
    int have = r->n > 0;

    if (o == NULL) {
        return NULL;
    }
    day_format_time_ms(r->at_ms, at, sizeof(at));
    day_format_time_ms(r->next_attempt_ms, next, sizeof(next));
    if (jsonx_put(o, "at", json_string(at)) < 0 ||
        jsonx_put(o, "rubric", json_string(r->rubric_id)) < 0 ||
        jsonx_put(o, "sessions", json_integer(r->sessions)) < 0 ||
        jsonx_put(o, "n", json_integer(r->n)) < 0 ||
        jsonx_put(o, "exact", json_figure(r->exact, have)) < 0 ||
        jsonx_put(o, "within_one", json_figure(r->within_one, have)) < 0 ||
        jsonx_put(o, "kappa", json_figure(r->kappa, have && !r->kappa_undefined)) < 0 ||
        jsonx_put(o, "kappa_undefined", json_boolean(have && r->kappa_undefined)) < 0 ||
        jsonx_put(o, "figures_withheld", json_boolean(r->figures_withheld)) < 0 ||
        jsonx_put(o, "passed", json_boolean(r->passed)) < 0 ||
        (r->attempt > 0 && jsonx_put(o, "attempt", json_integer(r->attempt)) < 0) ||
        (r->attempts_allowed > 0 &&
         jsonx_put(o, "attempts_allowed", json_integer(r->attempts_allowed)) < 0) ||
        (r->next_attempt_ms > 0 && jsonx_put(o, "next_attempt", json_string(next)) < 0) ||
        (r->reason != NULL && r->reason[0] != '\0' &&
         jsonx_put(o, "reason", json_string(r->reason)) < 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* CertStatus as JSON (caller owns), or NULL on out of memory. */
static json_t *cert_status_json(const Coachq__V1__CertStatus *cs, int64_t today)
{
    json_t *o = json_object();
    json_t *certs = json_array();
    json_t *results = json_array();
    json_t *ret = NULL;

    if (o == NULL || certs == NULL || results == NULL) {
        goto out;
    }
    for (size_t i = 0; i < cs->n_certifications; i++) {
        if (json_array_append_new(certs, cert_json(cs->certifications[i], today)) < 0) {
            goto out;
        }
    }
    for (size_t i = 0; i < cs->n_results; i++) {
        if (json_array_append_new(results, result_json(cs->results[i])) < 0) {
            goto out;
        }
    }
    /* json_object_set() takes references of its own: ours go at out. */
    if (jsonx_put(o, "observer", json_string(cs->observer_id)) < 0 ||
        json_object_set(o, "certifications", certs) < 0 ||
        json_object_set(o, "results", results) < 0) {
        goto out;
    }
    ret = o;
    o = NULL;
out:
    json_decref(certs);
    json_decref(results);
    json_decref(o);
    return ret;
}

static const char *const cert_help =
    "Usage: coachq cert status [OPTIONS] [OBSERVER]\n"
    "Prints an observer's certifications and calibration results (yours without\n"
    "OBSERVER; others' need the right to see them).\n"
    "Certifications: rubric, first and last valid day, whether it is valid today,\n"
    "expired or not yet valid, who granted it (\"calibration\" or an\n"
    "administrator), and the calibration's figures: n rating pairs, exact\n"
    "agreement, agreement within one point and weighted kappa (\"undef\" when the\n"
    "scores compared use one category: exact agreement alone decided).\n"
    "Calibration results: when, rubric, reference sessions scored, n, the same\n"
    "figures, and passed or why not.\n"
    "An observer reading their own status sees whether they passed, which attempt\n"
    "it was and when the next attempt at that reference is possible, never the\n"
    "figures: those go to enablement leads and administrators.\n"
    "\n"
    "Options:\n"
    "  --json              print JSON: {\"observer\", \"certifications\": [...],\n"
    "                      \"results\": [...]}; figures are fractions 0..1 (null\n"
    "                      when there are none), days \"YYYY-MM-DD\", status \"valid\",\n"
    "                      \"expired\" or \"not_yet_valid\"\n" COMMON_HELP
    "\nExit status: 0 success, 1 refused, 2 usage, 3 connection failure.\n";

static int cmd_cert(struct cli *x, int argc, char **argv)
{
    struct client *c = NULL;
    Coachq__V1__CertStatus *cs = NULL;
    struct client_error e;
    const char *observer = NULL;
    int64_t today = (int64_t)time(NULL);
    int json = 0;
    int rc = json_options(x, argc, argv, cert_help, &json);

    if (rc >= 0) {
        return rc;
    }
    if (optind >= argc || strcmp(argv[optind], "status") != 0) {
        return usage(x, "expected 'cert status [OBSERVER]'");
    }
    if (argc - optind > 2) {
        return usage(x, "unexpected argument '%s'", argv[optind + 2]);
    }
    if (argc - optind == 2) {
        observer = argv[optind + 1];
    }
    /* Days since 1970 rounded down, also for the (theoretical) times
     * before it. */
    today = today >= 0 ? today / 86400 : -((-today + 86399) / 86400);
    rc = connect_server(x, 0, &c);
    if (rc != 0) {
        goto out;
    }
    rc = client_cert_status(c, observer, &cs, &e);
    if (rc < 0) {
        rc = request_failed(x, rc, &e);
        goto out;
    }
    if (json) {
        json_t *j = cert_status_json(cs, today);

        rc = print_json(x, j);
        json_decref(j);
    } else {
        print_cert_status(x->out, cs, today);
        rc = CLI_EXIT_OK;
    }
out:
    coachq__v1__cert_status__free_unpacked(cs, NULL);
    client_free(c);
    return rc;
}

/* ---- reference add ------------------------------------------------------- */

static const char *const reference_help =
    "Usage: coachq reference add [OPTIONS] FILE\n"
    "Registers a calibration reference session: a session master coders scored,\n"
    "which observers then score to be certified (enablement leads and\n"
    "administrators only). FILE (or - for standard input) holds one JSON object:\n"
    "  {\"id\": \"<uuid>\", \"rubric\": \"coaching-conversation\", \"rubric_version\": 1,\n"
    "   \"title\": \"Deal review, recorded 2026-10-14\",\n"
    "   \"master\": [{\"behaviour\": \"collaborative\", \"score\": 3}, ...]}\n"
    "with one master rating per behaviour of the rubric (format:\n"
    "docs/observation-json.md). Prints \"<uuid> STORED\": observers name that id as\n"
    "\"calibration_ref\" in their attempts.\n"
    "\n"
    "Without an \"id\", the reference gets a fresh UUID and the FILE IS REWRITTEN\n"
    "with it (through a temporary file, indent 2) before anything is sent, so that\n"
    "running the command again registers the same reference instead of a second\n"
    "one. Standard input is never rewritten.\n"
    "\n"
    "Options:\n"
    "  --no-write-ids      do not rewrite FILE (a retry then registers it again)\n" COMMON_HELP
    "\nExit status: 0 stored, 1 refused or the file has errors, 2 usage,\n"
    "3 connection failure.\n";

static int cmd_reference(struct cli *x, int argc, char **argv)
{
    static const struct option opts[] = {
        COMMON_OPTIONS,
        {"no-write-ids", no_argument, NULL, OPT_NO_WRITE_IDS},
        {NULL, 0, NULL, 0},
    };
    struct client *c = NULL;
    Coachq__V1__CalibrationReference *ref = NULL;
    struct client_error e;
    json_t *root = NULL;
    const char *path;
    const char *name;
    char err[512];
    char id[UUID_STR_LEN];
    int write_ids = 1;
    int is_stdin;
    int rc;
    int opt;

    for (;;) {
        rc = next_option(x, argc, argv, "h", opts, reference_help, &opt);
        if (rc >= 0) {
            return rc;
        }
        if (opt == -1) {
            break;
        }
        switch (opt) {
        case OPT_NO_WRITE_IDS:
            write_ids = 0;
            break;
        default:
            return bad_option(x, argc, argv);
        }
    }
    if (optind >= argc || strcmp(argv[optind], "add") != 0) {
        return usage(x, "expected 'reference add FILE'");
    }
    if (argc - optind != 2) {
        return usage(x, "expected exactly one FILE (use - for standard input)");
    }
    path = argv[optind + 1];
    is_stdin = strcmp(path, "-") == 0;
    name = is_stdin ? "(stdin)" : path;
    rc = CLI_EXIT_FAILED;
    root = load_input(x, path, is_stdin);
    if (root == NULL) {
        goto out;
    }
    if (obs_json_parse_reference(root, &ref, err, sizeof(err)) < 0) {
        msg(x, "%s: %s", name, err);
        goto out;
    }
    if (ref->id.len == 0) {
        json_t *n = NULL;

        if (give_id(&ref->id, root, write_ids && !is_stdin ? &n : NULL) < 0) {
            msg(x, "out of memory");
            goto out;
        }
        if (n != NULL) {
            json_decref(root);
            root = n;
            /* Saved before sending, so that a retry after any failure
             * below registers the same reference. */
            if (rewrite_file(x, path, root) < 0) {
                msg(x, "nothing was sent (use --no-write-ids to send without saving the id)");
                goto out;
            }
            msg(x, "%s: added an id", path);
        } else {
            msg(x, "the reference got a new id that is not saved anywhere: sending the same input "
                   "again registers it a second time");
        }
    }
    rc = connect_server(x, 0, &c);
    if (rc != 0) {
        goto out;
    }
    rc = client_add_reference(c, ref, &e);
    if (rc < 0) {
        rc = request_failed(x, rc, &e);
        goto out;
    }
    fprintf(x->out, "%s STORED\n", uuid_format(ref->id.data, id));
    rc = CLI_EXIT_OK;
out:
    obs_json_free_reference(ref);
    json_decref(root);
    client_free(c);
    return rc;
}

/* ---- queue --------------------------------------------------------------- */

static int entry_is_rejected(const Coachq__V1__OutboxEntry *e)
{
    return e->state == COACHQ__V1__OUTBOX_ENTRY__STATE__STATE_REJECTED;
}

static int entry_has_error(const Coachq__V1__OutboxEntry *e)
{
    const Coachq__V1__Error *er = e->last_error;

    return er != NULL &&
           (er->code != COACHQ__V1__CODE__OK || (er->message != NULL && er->message[0] != '\0'));
}

/* Why an entry waits: "CODE field: message", or "not sent yet". */
static const char *entry_why(const Coachq__V1__OutboxEntry *e, char *buf, size_t len)
{
    const Coachq__V1__Error *er = e->last_error;

    if (!entry_has_error(e)) {
        snprintf(buf, len, "not sent yet");
    } else {
        snprintf(buf, len, "%s%s%s: %s", code_name(er->code), er->field[0] != '\0' ? " " : "",
                 er->field, or_dash(er->message));
    }
    return buf;
}

/* The entry's last error as JSON, or null when it has none. */
static json_t *entry_error_json(const Coachq__V1__OutboxEntry *e)
{
    json_t *o;

    if (!entry_has_error(e)) {
        return json_null();
    }
    o = json_object();
    if (o == NULL || jsonx_put(o, "code", json_string(code_name(e->last_error->code))) < 0 ||
        jsonx_put(o, "field", json_string(e->last_error->field)) < 0 ||
        jsonx_put(o, "message", json_string(e->last_error->message)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* An outbox entry as JSON for `queue list` and `mine` (caller owns), or
 * NULL when memory ran out. */
static json_t *entry_json(const Coachq__V1__OutboxEntry *e)
{
    const Coachq__V1__Observation *o = e->observation;
    json_t *j = json_object();
    char id[UUID_STR_LEN];
    char started[DAY_TIME_LEN];
    char queued[DAY_TIME_LEN];
    char tried[DAY_TIME_LEN];

    if (j == NULL) {
        return NULL;
    }
    day_format_time(o->started_at, started, sizeof(started));
    day_format_time_ms(e->queued_at_ms, queued, sizeof(queued));
    day_format_time_ms(e->last_attempt_ms, tried, sizeof(tried));
    if (jsonx_put(j, "id", json_string(obs_id(o, id))) < 0 ||
        jsonx_put(j, "coach", json_string(o->coach_id)) < 0 ||
        jsonx_put(j, "coachee", json_string(o->coachee_id)) < 0 ||
        jsonx_put(j, "started_at", json_string(started)) < 0 ||
        jsonx_put(j, "state", json_string(entry_is_rejected(e) ? "rejected" : "queued")) < 0 ||
        jsonx_put(j, "attempts", json_integer(e->attempts)) < 0 ||
        jsonx_put(j, "queued_at", json_string(queued)) < 0 ||
        jsonx_put(j, "last_attempt", e->last_attempt_ms != 0 ? json_string(tried) : json_null()) <
            0 ||
        jsonx_put(j, "error", entry_error_json(e)) < 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* Prints one outbox entry as a line; why says why it waits. */
typedef void (*entry_row_fn)(FILE *f, const Coachq__V1__OutboxEntry *e, const char *why);

/* A walk over the outbox that prints each entry with row (or adds it to
 * all, when not NULL) and counts them. */
struct queue_walk {
    struct cli *x;
    json_t *all;
    entry_row_fn row;
    size_t queued;
    size_t rejected;
};

static void queue_header(FILE *f)
{
    fprintf(f, "%-36s  %-16s  %-16s  %-10s  %-8s  %8s  %s\n", "ID", "COACH", "COACHEE", "SESSION",
            "STATE", "ATTEMPTS", "WHY");
}

/* A row of `queue list`. */
static void queue_row(FILE *f, const Coachq__V1__OutboxEntry *e, const char *why)
{
    char id[UUID_STR_LEN];
    char day[DAY_TIME_LEN];

    /* The date alone: the time is in `queue show`. */
    day_format_time(e->observation->started_at, day, sizeof(day));
    day[10] = '\0';
    fprintf(f, "%-36s  %-16s  %-16s  %-10s  %-8s  %8u  %s\n", obs_id(e->observation, id),
            e->observation->coach_id, e->observation->coachee_id, day,
            entry_is_rejected(e) ? "rejected" : "queued", e->attempts, why);
}

/* A line after `queue flush` for each rejected entry. */
static void rejected_row(FILE *f, const Coachq__V1__OutboxEntry *e, const char *why)
{
    char id[UUID_STR_LEN];

    if (entry_is_rejected(e)) {
        fprintf(f, "%s REJECTED %s\n", obs_id(e->observation, id), why);
    }
}

static int queue_walk_cb(const Coachq__V1__OutboxEntry *e, void *arg)
{
    struct queue_walk *w = arg;
    char why[768];

    if (entry_is_rejected(e)) {
        w->rejected++;
    } else {
        w->queued++;
    }
    if (w->all != NULL) {
        return json_array_append_new(w->all, entry_json(e)) < 0 ? -ENOMEM : 0;
    }
    w->row(w->x->out, e, entry_why(e, why, sizeof(why)));
    return 0;
}

/* Walks the outbox with w. Returns 0 or CLI_EXIT_FAILED after saying why. */
static int queue_walk(struct localstore *ls, struct queue_walk *w)
{
    int rc = localstore_outbox_list(ls, queue_walk_cb, w);

    if (rc < 0) {
        msg(w->x, "cannot read the outbox in %s: %s", localstore_path(ls), strerror(-rc));
        return CLI_EXIT_FAILED;
    }
    return 0;
}

static int queue_list(struct cli *x, struct localstore *ls, int json)
{
    struct queue_walk w = {x, NULL, queue_row, 0, 0};
    int rc;

    if (json) {
        w.all = json_array();
        if (w.all == NULL) {
            msg(x, "out of memory");
            return CLI_EXIT_FAILED;
        }
    } else {
        queue_header(x->out);
    }
    rc = queue_walk(ls, &w);
    if (rc == 0 && json) {
        rc = print_json(x, w.all);
    } else if (rc == 0) {
        fprintf(x->out, "%zu in the outbox (%zu queued, %zu rejected)\n", w.queued + w.rejected,
                w.queued, w.rejected);
    }
    json_decref(w.all);
    return rc;
}

/* Says why a flush could not finish. Returns the exit code. */
static int flush_failed(struct cli *x, struct localstore *ls, int rc,
                        const struct outbox_summary *sum)
{
    if (sum->conn_err.code == COACHQ__V1__CODE__OK) {
        msg(x, "the outbox in %s: %s", localstore_path(ls), strerror(-rc));
        return CLI_EXIT_FAILED;
    }
    if (conn_refused(sum->conn_err.code)) {
        char reason[sizeof(sum->conn_err.message) + 64];

        msg(x, "%s; the entries stay queued, see 'coachq queue list'",
            conn_why(&sum->conn_err, reason, sizeof(reason)));
        return CLI_EXIT_CONNECT;
    }
    msg(x, "server unreachable (%s): %s; the entries stay queued, see 'coachq queue list'",
        code_name(sum->conn_err.code), sum->conn_err.message);
    return CLI_EXIT_CONNECT;
}

static int queue_flush(struct cli *x, struct localstore *ls, int rejected)
{
    struct client_opts o;
    struct outbox_summary sum;
    struct queue_walk w = {x, NULL, rejected_row, 0, 0};
    int rc = client_settings(x, 0, &o);
    int frc;

    if (rc != 0) {
        return rc;
    }
    frc = outbox_flush(ls, &o, rejected, &sum);
    fprintf(x->out, "stored=%zu duplicate=%zu rejected=%zu waiting=%zu\n", sum.sent, sum.duplicates,
            sum.rejected, sum.waiting);
    rc = queue_walk(ls, &w);
    if (frc < 0 || sum.waiting > 0) {
        return flush_failed(x, ls, frc, &sum);
    }
    if (rc == 0 && w.rejected > 0) {
        msg(x,
            "%zu rejected entr%s stay in the outbox: fix (coachq observe --fix ID) or discard "
            "(coachq queue discard ID)",
            w.rejected, w.rejected == 1 ? "y" : "ies");
        rc = CLI_EXIT_FAILED;
    }
    return rc;
}

/* Loads the entry id; returns 0 or CLI_EXIT_FAILED after saying why. */
static int queue_get(struct cli *x, struct localstore *ls, const uint8_t id[UUID_LEN],
                     Coachq__V1__OutboxEntry **e)
{
    char ids[UUID_STR_LEN];
    int rc = localstore_outbox_get(ls, id, e);

    if (rc == -ENOENT) {
        msg(x, "%s is not in the outbox (see 'coachq queue list')", uuid_format(id, ids));
        return CLI_EXIT_FAILED;
    }
    if (rc < 0) {
        msg(x, "cannot read the outbox in %s: %s", localstore_path(ls), strerror(-rc));
        return CLI_EXIT_FAILED;
    }
    return 0;
}

static void print_entry(FILE *f, const Coachq__V1__OutboxEntry *e)
{
    char id[UUID_STR_LEN];
    char t[DAY_TIME_LEN];
    char why[768];

    fprintf(f, "id          %s\n", obs_id(e->observation, id));
    fprintf(f, "state       %s\n",
            entry_is_rejected(e) ? "rejected: the server refused it; fix or discard it"
                                 : "queued: to be sent");
    day_format_time_ms(e->queued_at_ms, t, sizeof(t));
    fprintf(f, "queued      %s\n", t);
    fprintf(f, "attempts    %u", e->attempts);
    if (e->last_attempt_ms != 0) {
        day_format_time_ms(e->last_attempt_ms, t, sizeof(t));
        fprintf(f, ", the last at %s", t);
    }
    fprintf(f, "\nwhy         %s\n", entry_why(e, why, sizeof(why)));
    print_obs_links(f, e->observation);
    print_obs_body(f, e->observation);
}

static int queue_show(struct cli *x, struct localstore *ls, const uint8_t id[UUID_LEN], int json)
{
    Coachq__V1__OutboxEntry *e = NULL;
    int rc = queue_get(x, ls, id, &e);

    if (rc != 0) {
        return rc;
    }
    if (json) {
        json_t *j = obs_json_from_observation(e->observation);

        rc = print_json(x, j);
        json_decref(j);
    } else {
        print_entry(x->out, e);
    }
    coachq__v1__outbox_entry__free_unpacked(e, NULL);
    return rc;
}

static int queue_discard(struct cli *x, struct localstore *ls, const uint8_t id[UUID_LEN])
{
    Coachq__V1__OutboxEntry *e = NULL;
    char ids[UUID_STR_LEN];
    char day[DAY_TIME_LEN];
    int rc = queue_get(x, ls, id, &e);

    if (rc != 0) {
        return rc;
    }
    rc = localstore_outbox_del(ls, id);
    if (rc < 0 && rc != -ENOENT) {
        msg(x, "cannot discard %s from %s: %s", uuid_format(id, ids), localstore_path(ls),
            strerror(-rc));
        rc = CLI_EXIT_FAILED;
    } else {
        day_format_time(e->observation->started_at, day, sizeof(day));
        fprintf(x->out, "%s discarded (coach %s, coachee %s, session %s): it will not be sent\n",
                uuid_format(id, ids), e->observation->coach_id, e->observation->coachee_id, day);
        rc = CLI_EXIT_OK;
    }
    coachq__v1__outbox_entry__free_unpacked(e, NULL);
    return rc;
}

static const char *const queue_help =
    "Usage: coachq queue list [--json] [OPTIONS]\n"
    "       coachq queue flush [--rejected] [OPTIONS]\n"
    "       coachq queue show [--json] [OPTIONS] ID\n"
    "       coachq queue discard [OPTIONS] ID\n"
    "The outbox: finished observations waiting for the server, kept in the local\n"
    "store (--data-dir) until the server has stored them or you discard them. An\n"
    "entry keeps its UUID through every retry, so the server stores it once\n"
    "however often it is sent.\n"
    "  list      every entry, oldest first: id, coach, coachee, session date, state\n"
    "            (queued: to be sent; rejected: the server refused it), attempts,\n"
    "            and why it waits (the last error: code, field and message, or\n"
    "            \"not sent yet\")\n"
    "  flush     sends the queued entries over one connection, prints\n"
    "            \"stored=N duplicate=N rejected=N waiting=N\" and then every rejected\n"
    "            entry with its error: \"<uuid> REJECTED CODE field: message\"\n"
    "  show      one entry: its state and why, then the observation (--json: the\n"
    "            observation alone, in the format 'coachq submit' reads)\n"
    "  discard   removes one entry for good\n"
    "Entries also go out at the start of 'coachq observe'.\n"
    "\n"
    "Options:\n"
    "  --json              (list, show) print JSON\n"
    "  --rejected          (flush) send the rejected entries again too, e.g. after\n"
    "                      the organisation's data was corrected\n" COMMON_HELP
    "\nExit status: 0 success (flush: the outbox is empty now), 1 rejected entries\n"
    "remain (flush), no such entry or the local store failed, 2 usage, 3 the\n"
    "server was unreachable or refused this user (flush: the entries stay queued).\n";

struct queue_args {
    int json;
    int rejected;
};

static int take_queue_option(struct cli *x, int opt, const char *val, void *arg)
{
    struct queue_args *a = arg;

    (void)x;
    (void)val;
    if (opt == OPT_JSON) {
        a->json = 1;
        return 1;
    }
    if (opt == OPT_REJECTED) {
        a->rejected = 1;
        return 1;
    }
    return 0;
}

static int cmd_queue(struct cli *x, int argc, char **argv)
{
    static const struct option opts[] = {
        COMMON_OPTIONS,
        {"json", no_argument, NULL, OPT_JSON},
        {"rejected", no_argument, NULL, OPT_REJECTED},
        {NULL, 0, NULL, 0},
    };
    static const char *const subs[] = {"list", "flush", "show", "discard"};
    struct queue_args a = {0, 0};
    struct localstore *ls = NULL;
    uint8_t id[UUID_LEN];
    size_t sub = 0;
    int rc = parse_options(x, argc, argv, opts, queue_help, take_queue_option, &a);

    if (rc >= 0) {
        return rc;
    }
    while (optind < argc && sub < 4 && strcmp(argv[optind], subs[sub]) != 0) {
        sub++;
    }
    if (optind >= argc || sub == 4) {
        return usage(x, "expected 'queue list', 'queue flush', 'queue show ID' or "
                        "'queue discard ID'");
    }
    if (argc - optind != (sub >= 2 ? 2 : 1)) {
        return usage(x, sub >= 2 ? "expected exactly one ID" : "unexpected argument");
    }
    if (sub >= 2 && uuid_parse(argv[optind + 1], id) < 0) {
        return usage(x, "'%s' is not a UUID (as 'coachq queue list' shows them)", argv[optind + 1]);
    }
    if (a.json && sub != 0 && sub != 2) {
        return usage(x, "--json goes with 'queue list' and 'queue show'");
    }
    if (a.rejected && sub != 1) {
        return usage(x, "--rejected goes with 'queue flush'");
    }
    rc = open_store(x, &ls);
    if (rc != 0) {
        return rc;
    }
    switch (sub) {
    case 0:
        rc = queue_list(x, ls, a.json);
        break;
    case 1:
        rc = queue_flush(x, ls, a.rejected);
        break;
    case 2:
        rc = queue_show(x, ls, id, a.json);
        break;
    default:
        rc = queue_discard(x, ls, id);
        break;
    }
    localstore_close(ls);
    return rc;
}

/* ---- mine ---------------------------------------------------------------- */

/* How far back `coachq mine` looks without --since, and how many stored
 * records it shows at most. */
#define MINE_DAYS 90
#define MINE_MAX 2000

/* The server lists a person's records oldest session first: putting each
 * in front of the ones before turns the list newest first. */
static int mine_keep_cb(struct cli *x, const Coachq__V1__StoredObservation *s, void *arg)
{
    json_t *all = arg;

    if (json_array_insert_new(all, 0, obs_json_from_stored(s)) < 0) {
        msg(x, "out of memory");
        return CLI_EXIT_FAILED;
    }
    return 0;
}

static void mine_header(FILE *f)
{
    fprintf(f, "%-20s  %-36s  %-16s  %-16s  %-24s  %s\n", "STARTED_AT", "UUID", "COACH", "COACHEE",
            "RUBRIC", "STATUS");
}

static void mine_row(FILE *f, const char *started, const char *id, const char *coach,
                     const char *coachee, const char *rubric, unsigned rubric_version,
                     const char *status)
{
    char r[96];

    snprintf(r, sizeof(r), "%s v%u", rubric, rubric_version);
    fprintf(f, "%-20s  %-36s  %-16s  %-16s  %-24s  %s\n", started, id, coach, coachee, r, status);
}

static const char *json_str(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));

    return v != NULL ? v : "-";
}

/* A stored record's row (from its JSON, obs_json_from_stored()): its
 * version, whether a later one replaced it, and what it amends. */
static void mine_stored_row(FILE *f, const json_t *o)
{
    char status[160];
    json_int_t version = json_integer_value(json_object_get(o, "version"));
    int n =
        snprintf(status, sizeof(status), "stored v%lld, %s", (long long)(version > 0 ? version : 1),
                 json_is_true(json_object_get(o, "superseded")) ? "superseded by a later version"
                                                                : "current");

    if (version > 1 && json_object_get(o, "amends") != NULL && n > 0 &&
        (size_t)n < sizeof(status)) {
        snprintf(status + n, sizeof(status) - (size_t)n, ", amends %s", json_str(o, "amends"));
    }
    mine_row(f, json_str(o, "started_at"), json_str(o, "id"), json_str(o, "coach"),
             json_str(o, "coachee"), json_str(o, "rubric"),
             (unsigned)json_integer_value(json_object_get(o, "rubric_version")), status);
}

/* An outbox entry's row in `mine`. */
static void mine_entry_row(FILE *f, const Coachq__V1__OutboxEntry *e, const char *why)
{
    const Coachq__V1__Observation *o = e->observation;
    char status[800];
    char id[UUID_STR_LEN];
    char t[DAY_TIME_LEN];

    snprintf(status, sizeof(status), "%s: %s", entry_is_rejected(e) ? "rejected" : "queued", why);
    day_format_time(o->started_at, t, sizeof(t));
    mine_row(f, t, obs_id(o, id), o->coach_id, o->coachee_id, o->rubric_id, o->rubric_version,
             status);
}

/* Fetches the caller's records since since into all (as JSON, newest
 * first). Returns 0 or an exit code (after saying why). */
static int mine_fetch(struct cli *x, struct client *c, int64_t since, json_t *all, int *more)
{
    Coachq__V1__ListObservations q = COACHQ__V1__LIST_OBSERVATIONS__INIT;

    q.by = COACHQ__V1__LIST_BY__LIST_BY_OBSERVER;
    q.person_id = client_welcome(c)->user_id;
    q.since = since;
    return list_pages(x, c, &q, MINE_MAX, mine_keep_cb, all, more);
}

static const char *const mine_help =
    "Usage: coachq mine [OPTIONS]\n"
    "Lists your observations, newest session first: those the server stored\n"
    "(with their version: \"stored v1, current\", \"stored v1, superseded by a\n"
    "later version\" when amended, \"stored v2, current, amends <uuid>\"), then\n"
    "those still in your outbox (\"queued: why\" or \"rejected: CODE field:\n"
    "message\"; see 'coachq queue'). When the server cannot be reached, only the\n"
    "outbox is listed.\n"
    "\n"
    "Options:\n"
    "  --since WHEN        sessions that started at or after WHEN (2026-11-02 or\n"
    "                      2026-11-02T14:30:00Z, UTC; default: the last 90 days)\n"
    "  --json              print {\"stored\": [...], \"outbox\": [...]}: records as\n"
    "                      'coachq get --json' prints them, entries as 'coachq queue\n"
    "                      list --json' (\"stored\" is null when offline)\n" COMMON_HELP
    "\nExit status: 0 success, 1 refused or the local store failed, 2 usage, 3 the\n"
    "server was unreachable (the outbox is still listed).\n";

struct mine_args {
    int64_t since;
    int json;
};

static int take_mine_option(struct cli *x, int opt, const char *val, void *arg)
{
    struct mine_args *a = arg;

    if (opt == OPT_JSON) {
        a->json = 1;
        return 1;
    }
    if (opt != OPT_SINCE) {
        return 0;
    }
    if (parse_when(val, 0, &a->since) < 0) {
        usage(x, "--since: '%s' is not a date (2026-11-02) or UTC time (2026-11-02T14:30:00Z)",
              val);
        return -CLI_EXIT_USAGE;
    }
    return 1;
}

/* Prints the outbox part of `mine` (into out when JSON). Returns 0 or an
 * exit code. */
static int mine_outbox(struct cli *x, json_t *out, size_t *n)
{
    struct localstore *ls = NULL;
    struct queue_walk w = {x, NULL, mine_entry_row, 0, 0};
    int rc = open_store(x, &ls);

    if (rc != 0) {
        return rc;
    }
    if (out != NULL) {
        w.all = json_array();
        if (w.all == NULL || json_object_set(out, "outbox", w.all) < 0) {
            msg(x, "out of memory");
            rc = CLI_EXIT_FAILED;
        }
    }
    if (rc == 0) {
        rc = queue_walk(ls, &w);
    }
    *n = w.queued + w.rejected;
    json_decref(w.all);
    localstore_close(ls);
    return rc;
}

static int cmd_mine(struct cli *x, int argc, char **argv)
{
    static const struct option opts[] = {
        COMMON_OPTIONS,
        {"since", required_argument, NULL, OPT_SINCE},
        {"json", no_argument, NULL, OPT_JSON},
        {NULL, 0, NULL, 0},
    };
    struct mine_args a = {(int64_t)time(NULL) - MINE_DAYS * 86400, 0};
    struct client *c = NULL;
    struct client_error e;
    json_t *stored = NULL;
    json_t *root = NULL;
    char since[DAY_TIME_LEN];
    size_t queued = 0;
    int more = 0;
    int orc;
    int rc = parse_options(x, argc, argv, opts, mine_help, take_mine_option, &a);

    if (rc >= 0) {
        return rc;
    }
    if (optind < argc) {
        return usage(x, "unexpected argument '%s'", argv[optind]);
    }
    rc = try_connect(x, 0, &c, &e);
    if (rc == CLI_EXIT_USAGE) {
        return rc;
    }
    stored = json_array();
    root = a.json ? json_object() : NULL;
    if (stored == NULL || (a.json && root == NULL)) {
        msg(x, "out of memory");
        rc = CLI_EXIT_FAILED;
        goto out;
    }
    if (rc == CLI_EXIT_CONNECT) {
        msg(x, "%s; only your outbox is listed", e.message);
    } else {
        rc = mine_fetch(x, c, a.since, stored, &more);
    }
    if (a.json && json_object_set(root, "stored", c != NULL ? stored : json_null()) < 0) {
        msg(x, "out of memory");
        rc = CLI_EXIT_FAILED;
        goto out;
    }
    if (!a.json) {
        mine_header(x->out);
        for (size_t i = 0; i < json_array_size(stored); i++) {
            mine_stored_row(x->out, json_array_get(stored, i));
        }
    }
    orc = mine_outbox(x, root, &queued);
    rc = rc != 0 ? rc : orc;
    if (a.json) {
        orc = print_json(x, root);
        rc = rc != 0 ? rc : orc;
    } else {
        day_format_time(a.since, since, sizeof(since));
        fprintf(x->out, "%zu stored since %s%s, %zu in the outbox\n", json_array_size(stored),
                since, more ? " (more: give a later --since)" : "", queued);
    }
out:
    json_decref(stored);
    json_decref(root);
    client_free(c);
    return rc;
}

/* ---- observe and amend --------------------------------------------------- */

/* The value of an enum whose JSON names name_of gives (d lists the
 * values), or -1. */
static int enum_by_name(const ProtobufCEnumDescriptor *d, const char *(*name_of)(int),
                        const char *s)
{
    for (unsigned i = 0; i < d->n_values; i++) {
        const char *n = name_of(d->values[i].value);

        if (n != NULL && strcmp(n, s) == 0) {
            return d->values[i].value;
        }
    }
    return -1;
}

/* The options of `observe`, and what they point to. */
struct observe_args {
    struct observe_opts o;
    char rubric[128];
    uint8_t fix_id[UUID_LEN];
    int fix;
};

static int take_observe_option(struct cli *x, int opt, const char *val, void *arg)
{
    struct observe_args *a = arg;

    switch (opt) {
    case OPT_RUBRIC:
        if (split_rubric_ref(val, a->rubric, sizeof(a->rubric), &a->o.rubric_version) < 0) {
            usage(x, "--rubric: '%s' is not ID or ID@VERSION (like coaching-conversation@1)", val);
            return -CLI_EXIT_USAGE;
        }
        a->o.rubric_id = a->rubric;
        return 1;
    case OPT_COACH:
        a->o.coach_id = val;
        return 1;
    case OPT_COACHEE:
        a->o.coachee_id = val;
        return 1;
    case OPT_TYPE:
        a->o.session_type =
            enum_by_name(&coachq__v1__session_type__descriptor, obs_json_session_type_name, val);
        if (a->o.session_type < 0) {
            usage(x,
                  "--type: '%s' is not a session type (deal_review, call_review, "
                  "pipeline_review, account_plan, skill_practice, personal_check_in)",
                  val);
            return -CLI_EXIT_USAGE;
        }
        return 1;
    case OPT_FOCUS:
        a->o.focus =
            enum_by_name(&coachq__v1__coaching_focus__descriptor, obs_json_focus_name, val);
        if (a->o.focus < 0) {
            usage(x, "--focus: '%s' is not process, skill or human", val);
            return -CLI_EXIT_USAGE;
        }
        return 1;
    case OPT_RESUME:
        a->o.resume = 1;
        return 1;
    case OPT_FIX:
        if (uuid_parse(val, a->fix_id) < 0) {
            usage(x, "--fix: '%s' is not a UUID (as 'coachq queue list' shows them)", val);
            return -CLI_EXIT_USAGE;
        }
        a->fix = 1;
        return 1;
    default:
        return 0;
    }
}

/*
 * Sends what waits in the outbox before the UI starts ("at the next
 * start"), with a short timeout so that an unreachable server does not
 * hold the observer up; one line says what became of it. Entries stay
 * queued when the server is not reached.
 */
static void flush_quietly(struct cli *x, struct localstore *ls, const struct client_opts *conn)
{
    struct client_opts quick = *conn;
    struct outbox_summary sum;

    quick.timeout_ms = 5000;
    (void)outbox_flush(ls, &quick, 0, &sum);
    if (sum.sent + sum.duplicates + sum.rejected > 0) {
        fprintf(x->err, "outbox: %zu sent, %zu rejected, %zu still waiting (coachq queue list)\n",
                sum.sent + sum.duplicates, sum.rejected, sum.waiting);
    }
}

/* Flushes the outbox, then runs the UI with o. Returns its exit code. */
static int start_ui(struct cli *x, struct localstore *ls, struct observe_opts *o)
{
    struct client_opts conn;
    char label[300];
    int rc = client_settings(x, 0, &conn);

    if (rc != 0) {
        return rc;
    }
    snprintf(label, sizeof(label), strchr(x->host, ':') != NULL ? "[%s]:%s" : "%s:%s", x->host,
             x->port);
    o->conn = &conn;
    o->server_label = label;
    flush_quietly(x, ls, &conn);
    fflush(x->out);
    fflush(x->err);
    return observe_run(ls, o, x->out, x->err);
}

static const char *const observe_help =
    "Usage: coachq observe [OPTIONS]\n"
    "Scores a live coaching session in a full-screen terminal UI (80x24 or more):\n"
    "setup (rubric, coach, coachee, session type, focus), the live phase (a clock\n"
    "and one key per marker), the ratings, the agreed actions, then review and\n"
    "submit. Every keystroke is saved to the local store as it happens, so a\n"
    "session survives a crash: continue it with --resume. A finished observation\n"
    "goes to the outbox and is sent at once when the server can be reached; if\n"
    "not, at the next start or by 'coachq queue flush'. The outbox is sent first\n"
    "whenever the UI starts (one line says what became of it). Press ? in the UI\n"
    "for the keys.\n"
    "\n"
    "Options (the setup asks for what is not given):\n"
    "  --rubric ID[@V]     the rubric, and its version (default the latest)\n"
    "  --coach ID          the manager observed\n"
    "  --coachee ID        the rep\n"
    "  --type TYPE         deal_review, call_review, pipeline_review, account_plan,\n"
    "                      skill_practice or personal_check_in\n"
    "  --focus FOCUS       process, skill or human\n"
    "  --resume            continue the session saved in the local store\n"
    "  --fix ID            open an outbox entry the server rejected, to correct and\n"
    "                      resubmit it (see 'coachq queue list')\n" COMMON_HELP
    "\nExit status: 0 stored or queued, 1 refused (kept in the outbox) or quit with\n"
    "the session saved, 2 usage (also: nothing to resume, no such outbox entry),\n"
    "3 the local store failed. A terminal smaller than 80x24 shows a message until\n"
    "it grows.\n";

static int cmd_observe(struct cli *x, int argc, char **argv)
{
    static const struct option opts[] = {
        COMMON_OPTIONS,
        {"rubric", required_argument, NULL, OPT_RUBRIC},
        {"coach", required_argument, NULL, OPT_COACH},
        {"coachee", required_argument, NULL, OPT_COACHEE},
        {"type", required_argument, NULL, OPT_TYPE},
        {"focus", required_argument, NULL, OPT_FOCUS},
        {"resume", no_argument, NULL, OPT_RESUME},
        {"fix", required_argument, NULL, OPT_FIX},
        {NULL, 0, NULL, 0},
    };
    struct observe_args a;
    struct localstore *ls = NULL;
    Coachq__V1__OutboxEntry *fix = NULL;
    int rc;

    memset(&a, 0, sizeof(a));
    rc = parse_options(x, argc, argv, opts, observe_help, take_observe_option, &a);
    if (rc >= 0) {
        return rc;
    }
    if (optind < argc) {
        return usage(x, "unexpected argument '%s'", argv[optind]);
    }
    if (a.fix && a.o.resume) {
        return usage(x, "--fix and --resume do not go together");
    }
    if (open_store(x, &ls) != 0) {
        /* observe.h's code for a local store failure. */
        return CLI_EXIT_CONNECT;
    }
    if (a.fix) {
        rc = queue_get(x, ls, a.fix_id, &fix);
        if (rc != 0) {
            rc = CLI_EXIT_USAGE;
            goto out;
        }
        a.o.fix = fix;
    }
    rc = start_ui(x, ls, &a.o);
out:
    coachq__v1__outbox_entry__free_unpacked(fix, NULL);
    localstore_close(ls);
    return rc;
}

static const char *const amend_help =
    "Usage: coachq amend [OPTIONS] ID\n"
    "Corrects one of your stored observations: opens the UI of 'coachq observe' on\n"
    "a copy of it, at the ratings. Submitting stores a new version that amends it\n"
    "(with its own id); the original is kept, marked superseded ('coachq history\n"
    "ID' shows every version). Only the observer may amend an observation, and\n"
    "only within the amendment window the server enforces.\n"
    "\n" COMMON_HELP "\nExit status: 0 stored or queued, 1 not yours, not found or refused,\n"
    "2 usage, 3 connection failure (the original is fetched from the server).\n";

/* Fetches the caller's own record id. Returns 0 or an exit code. */
static int fetch_own(struct cli *x, const uint8_t id[UUID_LEN], Coachq__V1__StoredObservation **rec)
{
    struct client *c = NULL;
    struct client_error e;
    char ids[UUID_STR_LEN];
    int rc = connect_server(x, 0, &c);

    if (rc != 0) {
        return rc;
    }
    rc = client_get(c, id, rec, &e);
    if (rc < 0) {
        rc = request_failed(x, rc, &e);
    } else if ((*rec)->observation == NULL ||
               strcmp((*rec)->observer_id, client_welcome(c)->user_id) != 0) {
        msg(x, "%s was observed by %s, not by you (%s): only its observer may amend it",
            uuid_format(id, ids), or_dash((*rec)->observer_id), client_welcome(c)->user_id);
        rc = CLI_EXIT_FAILED;
    }
    client_free(c);
    return rc;
}

static int cmd_amend(struct cli *x, int argc, char **argv)
{
    Coachq__V1__StoredObservation *rec = NULL;
    struct localstore *ls = NULL;
    struct observe_opts o;
    uint8_t id[UUID_LEN];
    int rc = id_options(x, argc, argv, amend_help, NULL, id);

    if (rc >= 0) {
        return rc;
    }
    rc = fetch_own(x, id, &rec);
    if (rc != 0) {
        goto out;
    }
    if (open_store(x, &ls) != 0) {
        rc = CLI_EXIT_CONNECT;
        goto out;
    }
    memset(&o, 0, sizeof(o));
    o.amend = rec;
    rc = start_ui(x, ls, &o);
out:
    localstore_close(ls);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    return rc;
}

/* ---- dashboard ----------------------------------------------------------- */

/* A dashboard's JSON stays far below this; it only bounds the buffer. */
#define DASH_OUT_MAX (64u * 1024u * 1024u)
/* Terminal tables: the width when standard output is not a terminal. */
#define DASH_DEFAULT_WIDTH 100u

static const char *const dashboard_help =
    "Usage: coachq dashboard KIND [SUBJECT] [OPTIONS]\n"
    "Prints a dashboard as the server computes it for you: the same figures as\n"
    "the web pages and the /api/v1 JSON and CSV. KIND is one of\n"
    "  managers [SLM]   My managers: per front-line manager the quality trend beside\n"
    "                   their inputs, the behaviour heat-map, volume vs quality,\n"
    "                   actions (second-level managers; leads and administrators\n"
    "                   name the SLM)\n"
    "  manager FLM      Manager detail: per behaviour over weeks, markers, recent\n"
    "                   observations (the manager, the managers above them, leads)\n"
    "  programme        Programme impact: quality before and after training against\n"
    "                   the not-yet-trained, attendance beside quality, outcomes\n"
    "                   (enablement leads, administrators)\n"
    "  observers        Observer reliability: certification, calibration agreement,\n"
    "                   double coding, severity drift, coverage (leads, administrators)\n"
    "  me [FLM]         My coaching: your own trend and what to focus on next\n"
    "Without SUBJECT the dashboard is about you. Every figure shows its n; below\n"
    "the server's minimum n it reads \"insufficient data\", never a number.\n"
    "\n"
    "Options:\n"
    "  --rubric ID         the rubric (default coaching-conversation)\n"
    "  --until YYYY-MM-DD  the last week covered: up to the Sunday of that day's\n"
    "                      ISO week (default this week)\n"
    "  --json              print the dashboard as JSON (docs/dashboards.md)\n"
    "  --csv TABLE         print one table as CSV (RFC 4180, CRLF); TABLE is its id,\n"
    "                      as in the JSON's \"tables\"\n"
    "  --width N           terminal tables fit N columns (default: the terminal's\n"
    "                      width, or 100)\n" COMMON_HELP
    "\nExit status: 0 success, 1 refused or not found, 2 usage, 3 connection failure.\n";

enum {
    OPT_CSV = 400,
    OPT_WIDTH,
};

struct dashboard_args {
    Coachq__V1__GetDashboard q;
    const char *csv;
    int json;
    unsigned long width;
};

static int take_dashboard_option(struct cli *x, int opt, const char *val, void *arg)
{
    struct dashboard_args *a = arg;
    uint32_t day;

    switch (opt) {
    case OPT_RUBRIC:
        a->q.rubric_id = (char *)val;
        return 1;
    case OPT_UNTIL:
        if (day_parse(val, &day) < 0 || day > INT32_MAX) {
            usage(x, "--until: '%s' is not a day YYYY-MM-DD", val);
            return -CLI_EXIT_USAGE;
        }
        a->q.until_day = (int32_t)day;
        return 1;
    case OPT_JSON:
        a->json = 1;
        return 1;
    case OPT_CSV:
        a->csv = val;
        return 1;
    case OPT_WIDTH:
        if (parse_ulong(val, 20, 1000, &a->width) < 0) {
            usage(x, "--width: '%s' is not a number of columns (20..1000)", val);
            return -CLI_EXIT_USAGE;
        }
        return 1;
    default:
        return 0;
    }
}

/* The width of the terminal out writes to, or DASH_DEFAULT_WIDTH. */
static unsigned terminal_width(FILE *out)
{
    struct winsize ws;
    int fd = fileno(out);

    if (fd >= 0 && isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) {
        return ws.ws_col;
    }
    return DASH_DEFAULT_WIDTH;
}

/* Writes b to x's output. Returns CLI_EXIT_OK or CLI_EXIT_FAILED. */
static int write_out(struct cli *x, const struct buf *b)
{
    if (b->len > 0 && fwrite(b->data, 1, b->len, x->out) != b->len) {
        msg(x, "cannot write the output");
        return CLI_EXIT_FAILED;
    }
    return CLI_EXIT_OK;
}

static int cmd_dashboard(struct cli *x, int argc, char **argv)
{
    static const struct option opts[] = {
        COMMON_OPTIONS,
        {"rubric", required_argument, NULL, OPT_RUBRIC},
        {"until", required_argument, NULL, OPT_UNTIL},
        {"json", no_argument, NULL, OPT_JSON},
        {"csv", required_argument, NULL, OPT_CSV},
        {"width", required_argument, NULL, OPT_WIDTH},
        {NULL, 0, NULL, 0},
    };
    struct dashboard_args a;
    struct client *c = NULL;
    Coachq__V1__Dashboard *d = NULL;
    struct client_error e;
    struct buf b;
    int rc;

    memset(&a, 0, sizeof(a));
    coachq__v1__get_dashboard__init(&a.q);
    buf_init(&b, DASH_OUT_MAX);
    rc = parse_options(x, argc, argv, opts, dashboard_help, take_dashboard_option, &a);
    if (rc >= 0) {
        return rc;
    }
    if (optind >= argc) {
        return usage(x, "expected a KIND: managers, manager, programme, observers or me");
    }
    a.q.kind = dashfmt_kind_from_name(argv[optind]);
    if (a.q.kind == COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_UNSPECIFIED) {
        return usage(x, "'%s' is not a dashboard: managers, manager, programme, observers or me",
                     argv[optind]);
    }
    if (argc - optind > 2) {
        return usage(x, "unexpected argument '%s'", argv[optind + 2]);
    }
    if (argc - optind == 2) {
        a.q.subject_id = argv[optind + 1];
    }
    if (a.q.kind == COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MANAGER &&
        a.q.subject_id[0] == '\0') {
        return usage(x, "'manager' needs the front-line manager's id (or use 'me')");
    }
    if (a.json && a.csv != NULL) {
        return usage(x, "--json and --csv exclude each other");
    }
    rc = connect_server(x, 0, &c);
    if (rc != 0) {
        goto out;
    }
    rc = client_dashboard(c, &a.q, &d, &e);
    if (rc < 0) {
        rc = request_failed(x, rc, &e);
        goto out;
    }
    if (a.csv != NULL) {
        const Coachq__V1__Table *t = dashfmt_find_table(d, a.csv);

        if (t == NULL) {
            fprintf(x->err, "%s: this dashboard has no table '%s'; its tables:", x->cmd, a.csv);
            for (size_t i = 0; i < d->n_tables; i++) {
                fprintf(x->err, " %s", d->tables[i]->id);
            }
            fputc('\n', x->err);
            rc = CLI_EXIT_USAGE;
            goto out;
        }
        rc = dashfmt_csv(t, &b);
    } else if (a.json) {
        rc = dashfmt_json(d, &b);
    } else {
        rc = dashfmt_text(d, a.width != 0 ? (unsigned)a.width : terminal_width(x->out), &b);
    }
    if (rc < 0) {
        msg(x, "cannot format the dashboard: %s", strerror(-rc));
        rc = CLI_EXIT_FAILED;
        goto out;
    }
    rc = write_out(x, &b);
out:
    buf_free(&b);
    coachq__v1__dashboard__free_unpacked(d, NULL);
    client_free(c);
    return rc;
}

/* ---- outcomes import ----------------------------------------------------- */

/* An outcomes file of OUTCOMES_MAX_ROWS ordinary rows is a few MiB. */
#define OUTCOMES_FILE_MAX (64u * 1024u * 1024u)
/* Parse errors shown before only their count is. */
#define OUTCOMES_MAX_ERRS 20u

static const char *const outcomes_help =
    "Usage: coachq outcomes import [OPTIONS] FILE.csv\n"
    "Imports business results from the CRM or another system of record\n"
    "(enablement leads and administrators). FILE (- for standard input) is CSV\n"
    "with the header\n"
    "  subject_id,team,period,metric,value\n"
    "subject_id: a person (a rep, or a manager); team: yes when the figure is for\n"
    "the manager's whole team (else no or empty); period: a month 2026-09 or a\n"
    "quarter 2026-Q3; metric: win_rate, pipeline_coverage, quota_attainment,\n"
    "crm_completeness, sessions_held or your own [a-z0-9_] name; value: a number.\n"
    "\n"
    "The file is checked whole before anything is sent; every bad cell is\n"
    "reported as FILE:LINE:COL. Rows go in chunks that fit the server's frame\n"
    "limit, each stored in its own transaction. A row replaces the value of its\n"
    "(subject, team, period, metric), so importing a file again is harmless: after\n"
    "a failure, fix the file and run the command again.\n"
    "Prints how many rows were added, changed and unchanged.\n"
    "\n"
    "Options:\n" COMMON_HELP
    "\nExit status: 0 imported, 1 refused or the file has errors, 2 usage,\n"
    "3 connection failure.\n";

static void outcomes_err(const char *m, void *arg)
{
    struct cli *x = arg;

    fprintf(x->err, "%s\n", m);
}

/* Reads path (or standard input) into b, NUL-terminated. Returns 0 or
 * CLI_EXIT_FAILED after saying why. */
static int read_text(struct cli *x, const char *path, int is_stdin, struct buf *b)
{
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    char chunk[65536];
    size_t n;
    int rc = 0;

    if (f == NULL) {
        msg(x, "%s: %s", path, strerror(errno));
        return CLI_EXIT_FAILED;
    }
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        rc = buf_append(b, chunk, n);
    }
    if (rc == 0 && ferror(f)) {
        msg(x, "%s: cannot read it", is_stdin ? "(stdin)" : path);
        rc = CLI_EXIT_FAILED;
    } else if (rc == 0) {
        rc = buf_append(b, "", 1) < 0 ? -ENOBUFS : 0;
        if (rc == 0) {
            b->len--;
        }
    }
    if (rc < 0) {
        msg(x, "%s: %s", is_stdin ? "(stdin)" : path,
            rc == -ENOBUFS ? "larger than 64 MiB; split it into several files" : "out of memory");
        rc = CLI_EXIT_FAILED;
    }
    if (!is_stdin) {
        fclose(f);
    }
    return rc;
}

/* Reports a server fault about one row at the row's place in the file:
 * "FILE:LINE:COL: message". Returns 1 when it could, else 0. */
static int outcomes_fault_at(struct cli *x, const char *name, const struct client_error *e,
                             const struct outcomes_pos *pos, size_t n)
{
    static const char prefix[] = "import_outcomes.";
    size_t row = SIZE_MAX;
    int col;

    if (pos == NULL || strncmp(e->field, prefix, sizeof(prefix) - 1) != 0) {
        return 0;
    }
    col = outcomes_fault_col(e->field + sizeof(prefix) - 1, &row);
    if (row >= n) {
        return 0;
    }
    if (col >= 0) {
        fprintf(x->err, "%s:%zu:%zu: %s\n", name, pos[row].line, pos[row].col[col], e->message);
    } else {
        fprintf(x->err, "%s:%zu: %s\n", name, pos[row].line, e->message);
    }
    return 1;
}

static int cmd_outcomes(struct cli *x, int argc, char **argv)
{
    struct client *c = NULL;
    Coachq__V1__Outcome **rows = NULL;
    Coachq__V1__ImportResult res = COACHQ__V1__IMPORT_RESULT__INIT;
    struct outcomes_pos *pos = NULL;
    struct client_error e;
    struct buf text;
    const char *path;
    const char *name;
    size_t n = 0;
    size_t n_errs = 0;
    size_t done = 0;
    int is_stdin;
    int rc = json_options(x, argc, argv, outcomes_help, NULL);

    if (rc >= 0) {
        return rc;
    }
    if (optind >= argc || strcmp(argv[optind], "import") != 0) {
        return usage(x, "expected 'outcomes import FILE.csv'");
    }
    if (argc - optind != 2) {
        return usage(x, "expected exactly one FILE (use - for standard input)");
    }
    path = argv[optind + 1];
    is_stdin = strcmp(path, "-") == 0;
    name = is_stdin ? "(stdin)" : path;
    buf_init(&text, OUTCOMES_FILE_MAX);
    rc = read_text(x, path, is_stdin, &text);
    if (rc != 0) {
        goto out;
    }
    rc = outcomes_parse_csv_pos(name, text.data != NULL ? (const char *)text.data : "", text.len,
                                outcomes_err, x, OUTCOMES_MAX_ERRS, &rows, &n, &n_errs, &pos);
    if (rc < 0) {
        if (rc == -EINVAL) {
            if (n_errs > OUTCOMES_MAX_ERRS) {
                msg(x, "%zu more errors", n_errs - OUTCOMES_MAX_ERRS);
            }
            msg(x, "%s: %zu error%s; nothing was sent", name, n_errs, n_errs == 1 ? "" : "s");
        } else if (rc == -E2BIG) {
            msg(x, "%s: more than %u rows; split it into several files", name, OUTCOMES_MAX_ROWS);
        } else {
            msg(x, "%s: %s", name, strerror(-rc));
        }
        rc = CLI_EXIT_FAILED;
        goto out;
    }
    if (n == 0) {
        msg(x, "%s: no rows to import", name);
        rc = CLI_EXIT_FAILED;
        goto out;
    }
    rc = connect_server(x, 0, &c);
    if (rc != 0) {
        goto out;
    }
    rc = client_import_outcomes(c, rows, n, &res, &done, &e);
    if (rc < 0) {
        if (rc != -EREMOTEIO || !outcomes_fault_at(x, name, &e, pos, n)) {
            rc = request_failed(x, rc, &e);
        } else {
            rc = CLI_EXIT_FAILED;
        }
        if (done > 0) {
            msg(x,
                "the first %zu of %zu rows were imported (%u added, %u changed, %u "
                "unchanged); the rest were not: run the command again once the cause is "
                "fixed (rows already imported stay unchanged)",
                done, n, (unsigned)res.added, (unsigned)res.changed, (unsigned)res.unchanged);
        } else {
            msg(x, "nothing was imported");
        }
        goto out;
    }
    fprintf(x->out, "%zu row%s: %u added, %u changed, %u unchanged\n", n, n == 1 ? "" : "s",
            (unsigned)res.added, (unsigned)res.changed, (unsigned)res.unchanged);
    rc = CLI_EXIT_OK;
out:
    free(pos);
    outcomes_rows_free(rows, n);
    buf_free(&text);
    client_free(c);
    return rc;
}

/* ---- main ---------------------------------------------------------------- */

static const char *const main_help =
    "Usage: coachq [OPTIONS] COMMAND [ARGS]\n"
    "The coachq client: submit coaching observations to coachqd and query them.\n"
    "\n"
    "Commands:\n"
    "  observe             score a live session in the terminal (saved as you type)\n"
    "  amend ID            correct one of your observations (a new version)\n"
    "  mine                your recent observations and what waits in your outbox\n"
    "  queue list|flush|show ID|discard ID\n"
    "                      the outbox: observations waiting for the server\n"
    "  submit FILE...      send observations from JSON files (- = standard input);\n"
    "                      queued in the outbox when the server is unreachable\n"
    "  get ID              print one observation\n"
    "  history ID          print every version of an observation (amendments)\n"
    "  list --coach ID     list observations (also --observer, --coachee)\n"
    "  rubrics [show ID]   list the rubrics, or print one in full (cached offline)\n"
    "  cert status [ID]    print an observer's certifications and calibration results\n"
    "  reference add FILE  register a calibration reference session\n"
    "  dashboard KIND [ID] print a dashboard: managers, manager, programme, observers,\n"
    "                      me (also --json, or --csv TABLE)\n"
    "  outcomes import FILE.csv\n"
    "                      import business results (leads, administrators)\n"
    "  stats               print the server's counters\n"
    "  whoami              print your user id and roles as the server sees them\n"
    "Run 'coachq COMMAND --help' for a command's options.\n"
    "\n"
    "Options (also accepted after COMMAND):\n"
    "  --version           print the version\n" COMMON_HELP
    "\nExit status: 0 success, 1 a record or request failed, 2 usage,\n"
    "3 connection or TLS failure.\n";

struct command {
    const char *name;
    int (*run)(struct cli *x, int argc, char **argv);
};

static const struct command commands[] = {
    {"submit", cmd_submit},       {"get", cmd_get},
    {"history", cmd_history},     {"list", cmd_list},
    {"rubrics", cmd_rubrics},     {"cert", cmd_cert},
    {"reference", cmd_reference}, {"stats", cmd_stats},
    {"whoami", cmd_whoami},       {"queue", cmd_queue},
    {"mine", cmd_mine},           {"observe", cmd_observe},
    {"amend", cmd_amend},         {"dashboard", cmd_dashboard},
    {"outcomes", cmd_outcomes},
};

int cli_main(int argc, char **argv, FILE *out, FILE *err)
{
    static const struct option opts[] = {
        COMMON_OPTIONS,
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
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
        rc = next_option(&x, argc, argv, "+h", opts, main_help, &opt);
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
        return bad_option(&x, argc, argv);
    }
    if (optind >= argc) {
        return usage(&x, "no command given");
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[optind], commands[i].name) == 0) {
            int sub_argc = argc - optind;
            char **sub_argv = argv + optind;

            snprintf(cmdname, sizeof(cmdname), "coachq %s", commands[i].name);
            x.cmd = cmdname;
            /* Restart getopt on the command's own arguments. */
            optind = 0;
            rc = commands[i].run(&x, sub_argc, sub_argv);
            fflush(out);
            return rc;
        }
    }
    return usage(&x, "unknown command '%s'", argv[optind]);
}
