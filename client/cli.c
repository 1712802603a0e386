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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "client.h"
#include "str.h"
#include "jsonx.h"
#include "obs_json.h"
#include "rubric_json.h"
#include "uuid.h"

#define DEFAULT_SERVER "127.0.0.1:7443"
#define DEFAULT_PORT "7443"
#define DEFAULT_CA "dev-certs/ca.crt"
#define DEFAULT_CERT "dev-certs/users/alice.crt"
#define DEFAULT_KEY "dev-certs/users/alice.key"
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
};

#define COMMON_OPTIONS                                                                             \
    {"server", required_argument, NULL, OPT_SERVER}, {"cert", required_argument, NULL, OPT_CERT},  \
        {"key", required_argument, NULL, OPT_KEY}, {"ca", required_argument, NULL, OPT_CA},        \
        {"timeout", required_argument, NULL, OPT_TIMEOUT},                                         \
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

/* Connects with the resolved settings. Returns 0 or an exit code. */
static int connect_server(struct cli *x, unsigned window, struct client **out)
{
    struct client_opts o = {0};
    struct client_error e;
    int rc;

    rc = resolve_settings(x);
    if (rc != 0) {
        return rc;
    }
    o.host = x->host;
    o.port = x->port;
    o.cert_file = x->cert;
    o.key_file = x->key;
    o.ca_file = x->ca;
    o.timeout_ms = (uint64_t)x->timeout_s * 1000u;
    o.window = window;
    if (client_connect(&o, out, &e) < 0) {
        msg(x, "%s", e.message);
        return CLI_EXIT_CONNECT;
    }
    return 0;
}

static const char *code_name(int code)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&coachq__v1__code__descriptor, code);

    return v != NULL ? v->name : "UNKNOWN";
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
    "Options:\n"
    "  --no-write-ids      do not rewrite files (a retry then stores records again)\n"
    "  --window N          requests in flight at once (default 64)\n"
    "  -q, --quiet         print only errors and the summary, no progress\n" COMMON_HELP
    "\nExit status: 0 all stored or duplicate, 1 some record failed or input had\n"
    "errors, 2 usage, 3 connection or TLS failure.\n";

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
    struct client *c = NULL;
    struct client_submit_result *res = NULL;
    unsigned long window = 0;
    int write_ids = 1;
    size_t total = 0;
    size_t bad = 0;
    size_t stored = 0;
    size_t dup = 0;
    size_t failed = 0;
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

    rc = connect_server(x, (unsigned)window, &c);
    if (rc != 0) {
        goto out;
    }
    res = calloc(s.n, sizeof(*res));
    if (res == NULL) {
        msg(x, "out of memory");
        rc = CLI_EXIT_FAILED;
        goto out;
    }
    {
        int src = client_submit_many(c, s.obs, s.n, res, progress_cb, &s);

        for (size_t r = 0; r < s.n; r++) {
            char id[UUID_STR_LEN];

            uuid_format(s.obs[r]->id.data, id);
            if (res[r].done && res[r].err.code == COACHQ__V1__CODE__OK) {
                int is_dup = res[r].result == COACHQ__V1__ACK__RESULT__RESULT_DUPLICATE;

                if (is_dup) {
                    dup++;
                } else {
                    stored++;
                }
                if (!s.quiet) {
                    fprintf(x->out, "%s %s seq=%llu", id, is_dup ? "DUPLICATE" : "STORED",
                            (unsigned long long)res[r].seq);
                    /* Only amendments say their version: an original is 1. */
                    if (res[r].version > 1) {
                        fprintf(x->out, " version=%u", res[r].version);
                    }
                    fputc('\n', x->out);
                }
            } else {
                failed++;
                fprintf(x->out, "%s ERROR %s %s%s%s\n", id, code_name(res[r].err.code),
                        res[r].err.field, res[r].err.field[0] ? ": " : "", res[r].err.message);
            }
        }
        fprintf(x->out, "stored=%zu duplicate=%zu failed=%zu\n", stored, dup, failed);
        if (src < 0) {
            msg(x,
                "the connection failed before every record was answered; running the same "
                "command again resends them (records already stored come back "
                "DUPLICATE%s)",
                s.unsaved_ids > 0 ? ", except those whose new ids were not saved" : "");
            rc = CLI_EXIT_CONNECT;
        } else {
            rc = failed > 0 ? CLI_EXIT_FAILED : CLI_EXIT_OK;
        }
    }
out:
    client_free(c);
    free(res);
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

static void print_record(FILE *f, const Coachq__V1__StoredObservation *s)
{
    const Coachq__V1__Observation *o = s->observation;
    char id[UUID_STR_LEN] = "-";
    char t[OBS_JSON_TIME_LEN];
    char e[64];
    size_t scored;
    double mean;

    if (o == NULL) {
        fprintf(f, "(empty record, seq %llu)\n", (unsigned long long)s->seq);
        return;
    }
    if (o->id.len == UUID_LEN) {
        uuid_format(o->id.data, id);
    }
    mean = mean_score(o, &scored);
    fprintf(f, "id          %s\n", id);
    if (s->version != 0) {
        fprintf(f, "version     %u, %s\n", s->version,
                s->superseded ? "superseded by a later version" : "current");
    }
    if (o->amends.len == UUID_LEN) {
        fprintf(f, "amends      %s\n", uuid_format(o->amends.data, e));
    }
    if (o->calibration_ref.len == UUID_LEN) {
        fprintf(f, "calibration %s (an attempt at a reference session; not in dashboards)\n",
                uuid_format(o->calibration_ref.data, e));
    }
    obs_json_format_time_ms(s->received_at_ms, t, sizeof(t));
    fprintf(f, "seq         %llu (received %s from %s)\n", (unsigned long long)s->seq, t,
            or_dash(s->observer_id));
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
    obs_json_format_time(o->started_at, t, sizeof(t));
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
            obs_json_format_day(a->due_day, t, sizeof(t));
            fprintf(f, ", due %s", t);
        }
        fprintf(f, ")\n");
    }
    if (o->notes != NULL && o->notes[0] != '\0') {
        fprintf(f, "notes       %s\n", o->notes);
    }
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
        if (obs_json_parse_time(buf, out) < 0) {
            return -EINVAL;
        }
        if (end) {
            *out += 86400;
        }
        return 0;
    }
    return obs_json_parse_time(s, out);
}

static void print_row(FILE *f, const Coachq__V1__StoredObservation *s)
{
    const Coachq__V1__Observation *o = s->observation;
    char t[OBS_JSON_TIME_LEN];
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
    obs_json_format_time(o->started_at, t, sizeof(t));
    snprintf(rubric, sizeof(rubric), "%s v%u", o->rubric_id, o->rubric_version);
    m = mean_score(o, &scored);
    if (scored > 0) {
        snprintf(mean, sizeof(mean), "%.2f", m);
    }
    fprintf(f, "%-20s  %-36s  %-16s  %-16s  %-16s  %-24s  %4s  %3zu\n", t, id, o->coach_id,
            o->coachee_id, or_dash(s->observer_id), rubric, mean, o->n_ratings);
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
    Coachq__V1__ObservationPage *page = NULL;
    struct client *c = NULL;
    struct client_error e;
    json_t *all = NULL;
    uint8_t *cursor = NULL;
    unsigned long limit = DEFAULT_LIST_LIMIT;
    size_t printed = 0;
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
        all = json_array();
        if (all == NULL) {
            msg(x, "out of memory");
            rc = CLI_EXIT_FAILED;
            goto out;
        }
    } else {
        fprintf(x->out, "%-20s  %-36s  %-16s  %-16s  %-16s  %-24s  %4s  %3s\n", "STARTED_AT",
                "UUID", "COACH", "COACHEE", "OBSERVER", "RUBRIC", "MEAN", "N");
    }
    for (;;) {
        size_t want = limit == 0 ? LIST_PAGE_MAX : limit - printed;

        q.page_size = (uint32_t)(want < LIST_PAGE_MAX ? want : LIST_PAGE_MAX);
        rc = client_list(c, &q, &page, &e);
        if (rc < 0) {
            rc = request_failed(x, rc, &e);
            goto out;
        }
        for (size_t i = 0; i < page->n_observations && (limit == 0 || printed < limit); i++) {
            if (json) {
                if (json_array_append_new(all, obs_json_from_stored(page->observations[i])) < 0) {
                    msg(x, "out of memory");
                    rc = CLI_EXIT_FAILED;
                    goto out;
                }
            } else {
                print_row(x->out, page->observations[i]);
            }
            printed++;
        }
        more = page->next_cursor.len > 0;
        if (!more || (limit != 0 && printed >= limit)) {
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
        q.cursor.data = cursor;
        q.cursor.len = page->next_cursor.len;
        coachq__v1__observation_page__free_unpacked(page, NULL);
        page = NULL;
    }
    if (json) {
        rc = print_json(x, all);
    } else {
        fprintf(x->out, "%zu observation%s%s\n", printed, printed == 1 ? "" : "s",
                more ? " (more: raise --limit, or 0 for all)" : "");
        rc = CLI_EXIT_OK;
    }
out:
    coachq__v1__observation_page__free_unpacked(page, NULL);
    free(cursor);
    json_decref(all);
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

/* obs_json_format_day() returning buf, so that it can stand among printf's
 * arguments. */
static const char *format_day(int64_t day, char *buf, size_t len)
{
    obs_json_format_day(day, buf, len);
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
    char t[OBS_JSON_TIME_LEN];

    fprintf(f, "rubric      %s v%u\n", r->id, r->version);
    fprintf(f, "name        ");
    print_wrapped(f, 12, 12, r->name);
    fprintf(f, "effective   %s (sessions before it cannot be scored against this version)\n",
            format_day(r->effective_day, t, sizeof(t)));
    if (r->added_at_ms != 0) {
        obs_json_format_time_ms(r->added_at_ms, t, sizeof(t));
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
    "  --json              (show only) print the rubric in the file format of\n"
    "                      docs/rubrics.md\n" COMMON_HELP
    "\nExit status: 0 success, 1 not found or refused, 2 usage, 3 connection failure.\n";

static int cmd_rubrics(struct cli *x, int argc, char **argv)
{
    struct client *c = NULL;
    Coachq__V1__RubricList *list = NULL;
    Coachq__V1__Rubric *r = NULL;
    struct client_error e;
    char id[128];
    uint32_t version = 0;
    int show = 0;
    int json = 0;
    int rc = json_options(x, argc, argv, rubrics_help, &json);

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
        if (split_rubric_ref(argv[optind + 1], id, sizeof(id), &version) < 0) {
            return usage(x, "'%s' is not a rubric ID or ID@VERSION (like coaching-conversation@1)",
                         argv[optind + 1]);
        }
        show = 1;
    } else if (json) {
        return usage(x, "--json goes with 'rubrics show ID'");
    }
    rc = connect_server(x, 0, &c);
    if (rc != 0) {
        goto out;
    }
    if (show) {
        rc = client_rubric(c, id, version, &r, &e);
        if (rc < 0) {
            rc = request_failed(x, rc, &e);
            goto out;
        }
        if (json) {
            char *text = rubric_json_dump(r);

            if (text == NULL) {
                msg(x, "out of memory");
                rc = CLI_EXIT_FAILED;
                goto out;
            }
            fputs(text, x->out);
            free(text);
        } else {
            print_rubric(x->out, r);
        }
    } else {
        rc = client_rubrics(c, &list, &e);
        if (rc < 0) {
            rc = request_failed(x, rc, &e);
            goto out;
        }
        fprintf(x->out, "%-32s  %7s  %10s  %-10s  %s\n", "ID", "VERSION", "BEHAVIOURS", "EFFECTIVE",
                "NAME");
        for (size_t i = 0; i < list->n_rubrics; i++) {
            const Coachq__V1__Rubric *l = list->rubrics[i];
            char day[OBS_JSON_TIME_LEN];

            fprintf(x->out, "%-32s  %7u  %10zu  %-10s  %s\n", l->id, l->version, l->n_behaviours,
                    format_day(l->effective_day, day, sizeof(day)), l->name);
        }
        fprintf(x->out, "%zu rubric%s\n", list->n_rubrics, list->n_rubrics == 1 ? "" : "s");
    }
    rc = CLI_EXIT_OK;
out:
    coachq__v1__rubric__free_unpacked(r, NULL);
    coachq__v1__rubric_list__free_unpacked(list, NULL);
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

static const char *kappa_str(double v, int have, char *buf, size_t len)
{
    if (!have || !isfinite(v)) {
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
    char t[OBS_JSON_TIME_LEN];

    fprintf(f, "observer    %s\n", or_dash(cs->observer_id));
    fprintf(f, "\ncertifications: %zu\n", cs->n_certifications);
    if (cs->n_certifications > 0) {
        fprintf(f, "  %-24s  %-10s  %-11s  %-13s  %-16s  %5s  %6s  %8s  %5s\n", "RUBRIC",
                "VALID FROM", "VALID UNTIL", "STATUS", "GRANTED BY", "N", "EXACT", "WITHIN 1",
                "KAPPA");
    }
    for (size_t i = 0; i < cs->n_certifications; i++) {
        const Coachq__V1__Certification *ct = cs->certifications[i];
        char from[OBS_JSON_TIME_LEN];
        char until[OBS_JSON_TIME_LEN];
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
                kappa_str(ct->kappa, have, k, sizeof(k)));
    }
    fprintf(f, "\ncalibration results: %zu\n", cs->n_results);
    if (cs->n_results > 0) {
        fprintf(f, "  %-24s  %-24s  %8s  %5s  %6s  %8s  %5s  %s\n", "AT", "RUBRIC", "SESSIONS", "N",
                "EXACT", "WITHIN 1", "KAPPA", "RESULT");
    }
    for (size_t i = 0; i < cs->n_results; i++) {
        const Coachq__V1__CalibrationResult *r = cs->results[i];
        int have = r->n > 0;

        obs_json_format_time_ms(r->at_ms, t, sizeof(t));
        fprintf(f, "  %-24s  %-24s  %8u  %5u  %6s  %8s  %5s  %s%s%s\n", t, r->rubric_id,
                r->sessions, r->n, pct(r->exact, have, a, sizeof(a)),
                pct(r->within_one, have, b, sizeof(b)), kappa_str(r->kappa, have, k, sizeof(k)),
                r->passed ? "passed" : "not passed",
                !r->passed && r->reason != NULL && r->reason[0] != '\0' ? ": " : "",
                !r->passed && r->reason != NULL ? r->reason : "");
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
    char from[OBS_JSON_TIME_LEN];
    char until[OBS_JSON_TIME_LEN];
    char at[OBS_JSON_TIME_LEN];
    int have = ct->n > 0;

    if (o == NULL) {
        return NULL;
    }
    obs_json_format_time_ms(ct->granted_at_ms, at, sizeof(at));
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
        jsonx_put(o, "kappa", json_figure(ct->kappa, have)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *result_json(const Coachq__V1__CalibrationResult *r)
{
    json_t *o = json_object();
    char at[OBS_JSON_TIME_LEN];
    int have = r->n > 0;

    if (o == NULL) {
        return NULL;
    }
    obs_json_format_time_ms(r->at_ms, at, sizeof(at));
    if (jsonx_put(o, "at", json_string(at)) < 0 ||
        jsonx_put(o, "rubric", json_string(r->rubric_id)) < 0 ||
        jsonx_put(o, "sessions", json_integer(r->sessions)) < 0 ||
        jsonx_put(o, "n", json_integer(r->n)) < 0 ||
        jsonx_put(o, "exact", json_figure(r->exact, have)) < 0 ||
        jsonx_put(o, "within_one", json_figure(r->within_one, have)) < 0 ||
        jsonx_put(o, "kappa", json_figure(r->kappa, have)) < 0 ||
        jsonx_put(o, "passed", json_boolean(r->passed)) < 0 ||
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
    "agreement, agreement within one point and weighted kappa.\n"
    "Calibration results: when, rubric, reference sessions scored, n, the same\n"
    "figures, and passed or why not.\n"
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

/* ---- main ---------------------------------------------------------------- */

static const char *const main_help =
    "Usage: coachq [OPTIONS] COMMAND [ARGS]\n"
    "The coachq client: submit coaching observations to coachqd and query them.\n"
    "\n"
    "Commands:\n"
    "  submit FILE...      send observations from JSON files (- = standard input)\n"
    "  get ID              print one observation\n"
    "  history ID          print every version of an observation (amendments)\n"
    "  list --coach ID     list observations (also --observer, --coachee)\n"
    "  rubrics [show ID]   list the rubrics, or print one in full\n"
    "  cert status [ID]    print an observer's certifications and calibration results\n"
    "  reference add FILE  register a calibration reference session\n"
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
    {"submit", cmd_submit},       {"get", cmd_get},         {"history", cmd_history},
    {"list", cmd_list},           {"rubrics", cmd_rubrics}, {"cert", cmd_cert},
    {"reference", cmd_reference}, {"stats", cmd_stats},     {"whoami", cmd_whoami},
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
