#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "error.h"
#include "helpdoc.h"
#include "http.h"
#include "kvfile.h"
#include "store.h"
#include "str.h"

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->data_dir, sizeof(c->data_dir), "data");
    snprintf(c->listen_host, sizeof(c->listen_host), "127.0.0.1");
    snprintf(c->listen_port, sizeof(c->listen_port), "7443");
    snprintf(c->cert_file, sizeof(c->cert_file), "dev-certs/server.crt");
    snprintf(c->key_file, sizeof(c->key_file), "dev-certs/server.key");
    snprintf(c->ca_file, sizeof(c->ca_file), "dev-certs/ca.crt");
    c->max_connections = 1000;
    /* One address gets a tenth of the slots, so a flood from one address
     * leaves the rest to everybody else. One user gets enough for an
     * observer's UI, scripts and a load test's parallel connections; past
     * that a new connection replaces the user's longest idle one. */
    c->max_per_address = 100;
    c->max_per_user = 64;
    c->first_frame_timeout_ms = 5 * 1000;
    c->max_frame = 64 * 1024;
    c->max_in_flight = 64;
    /* protobuf-c may need 45-60x a frame's size for many empty sub-messages;
     * anything honest needs far less than 64x. */
    c->unpack_budget = 64 * c->max_frame;
    c->memory_budget = 256u * 1024 * 1024;
    c->handshake_timeout_ms = 10 * 1000;
    c->idle_timeout_ms = 5 * 60 * 1000;
    c->drain_timeout_ms = 30 * 1000;
    c->write_high = 256 * 1024;
    c->write_low = 64 * 1024;
    c->write_max = 4u * 1024 * 1024;
    c->map_size = 64u * 1024 * 1024;
    c->max_batch = STORE_MAX_BATCH;
    c->reader_check_ms = 60 * 1000;
    c->stats_log_ms = 10 * 1000;
    c->amend_days = 14;
    c->cert_exact = 0.80;
    c->cert_kappa = 0.70;
    c->cert_min_pairs = 8;
    c->cert_days = 365;
    c->cert_attempts = 3;
    c->cert_window_days = 30;
    c->cert_cooldown_s = 24 * 3600;
    snprintf(c->dash_host, sizeof(c->dash_host), "127.0.0.1");
    snprintf(c->dash_port, sizeof(c->dash_port), "8443");
    c->dash_min_n = 3;
    c->dash_privacy_min = 5;
    c->session_ttl_s = 8 * 3600;
    c->http_request_timeout_ms = 10 * 1000;
    c->cursor_ttl_s = 3600;
    c->http_header_timeout_ms = 5 * 1000;
}

void config_http_opts(const struct config *c, struct http_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->host = c->dash_host;
    o->port = c->dash_port;
    o->port_file = c->dash_port_file;
    o->cert_file = c->cert_file;
    o->key_file = c->key_file;
    o->ca_file = c->ca_file;
    o->max_connections = c->max_connections;
    o->max_per_address = c->max_per_address;
    o->handshake_timeout_ms = c->handshake_timeout_ms;
    o->idle_timeout_ms = c->idle_timeout_ms;
    o->header_timeout_ms = c->http_header_timeout_ms;
    o->request_timeout_ms = c->http_request_timeout_ms;
    o->write_high = c->write_high;
    o->write_low = c->write_low;
    o->write_max = c->write_max;
}

/* Parses a whole decimal number in [min, max]. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;

    if (s == NULL || s[0] == '\0' || s[0] == '-') {
        return -EINVAL;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        return -EINVAL;
    }
    *out = v;
    return 0;
}

/* Parses a whole decimal fraction in [min, max]. */
static int parse_double(const char *s, double min, double max, double *out)
{
    char *end = NULL;
    double v;

    if (s == NULL || s[0] == '\0') {
        return -EINVAL;
    }
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max)) {
        return -EINVAL;
    }
    *out = v;
    return 0;
}

/* Splits HOST:PORT, [v6]:PORT into host (size hostlen) and port (size 16). */
static int parse_hostport(const char *s, char *host_out, size_t hostlen, char *port_out)
{
    const char *colon = strrchr(s, ':');
    const char *host = s;
    size_t hlen;
    uint64_t port;

    if (colon == NULL || parse_u64(colon + 1, 0, 65535, &port) < 0) {
        return -EINVAL;
    }
    hlen = (size_t)(colon - s);
    if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']') {
        host++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= hostlen) {
        return -EINVAL;
    }
    memcpy(host_out, host, hlen);
    host_out[hlen] = '\0';
    snprintf(port_out, 16, "%llu", (unsigned long long)port);
    return 0;
}

static int parse_listen(struct config *c, const char *s)
{
    return parse_hostport(s, c->listen_host, sizeof(c->listen_host), c->listen_port);
}

/* HOST:PORT or "off" into host (hostlen bytes) and port (16 bytes), with
 * *on set to whether a port was given; nothing changes on -EINVAL. */
static int parse_hostport_or_off(const char *s, char *host, size_t hostlen, char *port, int *on)
{
    char h[256];
    char p[16];

    if (strcmp(s, "off") == 0) {
        *on = 0;
        return 0;
    }
    if (hostlen > sizeof(h) || parse_hostport(s, h, hostlen, p) < 0) {
        return -EINVAL;
    }
    *on = 1;
    memcpy(host, h, hostlen);
    memcpy(port, p, sizeof(p));
    return 0;
}

/* --dashboard HOST:PORT or off. */
static int parse_dashboard(struct config *c, const char *s)
{
    int on = !c->dash_off;
    int rc = parse_hostport_or_off(s, c->dash_host, sizeof(c->dash_host), c->dash_port, &on);

    c->dash_off = !on;
    return rc;
}

/* --metrics HOST:PORT or off. */
static int parse_metrics(struct config *c, const char *s)
{
    return parse_hostport_or_off(s, c->metrics_host, sizeof(c->metrics_host), c->metrics_port,
                                 &c->metrics_on);
}

/* 1 for "localhost", 127.0.0.0/8 and ::1 (also IPv4-mapped), else 0: a
 * name other than localhost may resolve anywhere. */
static int host_is_loopback(const char *host)
{
    unsigned char a[16];

    if (strcmp(host, "localhost") == 0) {
        return 1;
    }
    if (inet_pton(AF_INET, host, a) == 1) {
        return a[0] == 127;
    }
    if (inet_pton(AF_INET6, host, a) == 1) {
        static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        static const unsigned char one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

        return memcmp(a, one, 16) == 0 || (memcmp(a, v4mapped, 12) == 0 && a[12] == 127);
    }
    return 0;
}

/* How an option's value is read and where it goes. */
enum config_kind {
    KIND_PATH,      /* a string into a char array */
    KIND_U64,       /* a whole number into a uint64_t */
    KIND_UNSIGNED,  /* a whole number into an unsigned */
    KIND_SIZE,      /* a whole number into a size_t */
    KIND_HOURS,     /* a whole number of hours into a uint64_t of seconds */
    KIND_DOUBLE,    /* a decimal fraction into a double */
    KIND_PERCENT,   /* a percentage into a double fraction */
    KIND_LISTEN,    /* --listen HOST:PORT */
    KIND_DASHBOARD, /* --dashboard HOST:PORT or off */
    KIND_METRICS,   /* --metrics HOST:PORT or off */
    KIND_FLAG,      /* an option without a value that sets an int to 1 */
};

/*
 * One long option: its name, kind, field, the range of its value (whole
 * numbers in min..max, fractions in dmin..dmax), and its documentation:
 * the placeholder of its value and one paragraph of help. This table is
 * the one source of the command line, --help, the config file (every
 * option is a key of the same name), the shipped default config file and
 * the OPTIONS of coachqd(8); the defaults shown are config_defaults()'s,
 * printed back by config_value().
 */
struct config_opt {
    const char *name;
    enum config_kind kind;
    size_t off;  /* of the field in struct config */
    size_t size; /* of a KIND_PATH field */
    uint64_t min, max;
    double dmin, dmax;
    const char *arg;  /* the value's placeholder, e.g. "DIR" */
    const char *help; /* one paragraph, no trailing period needed */
};

#define CONFIG_FIELD(field) offsetof(struct config, field), sizeof(((struct config *)0)->field)
#define OPT_PATH(name, field, arg, help)                                                           \
    {                                                                                              \
        name, KIND_PATH, CONFIG_FIELD(field), 0, 0, 0, 0, arg, help                                \
    }
#define OPT_NUM(name, kind, field, lo, hi, arg, help)                                              \
    {                                                                                              \
        name, kind, CONFIG_FIELD(field), lo, hi, 0, 0, arg, help                                   \
    }
#define OPT_FRAC(name, kind, field, lo, hi, arg, help)                                             \
    {                                                                                              \
        name, kind, CONFIG_FIELD(field), 0, 0, lo, hi, arg, help                                   \
    }
#define OPT_FLAG(name, field, help)                                                                \
    {                                                                                              \
        name, KIND_FLAG, CONFIG_FIELD(field), 0, 0, 0, 0, NULL, help                               \
    }
#define OPT_HOSTPORT(name, kind, arg, help)                                                        \
    {                                                                                              \
        name, kind, 0, 0, 0, 0, 0, 0, arg, help                                                    \
    }

/* The options, in the order --help and the man page list them. */
static const struct config_opt config_opts[] = {
    OPT_PATH("data", data_dir, "DIR", "data directory, created if missing"),
    OPT_HOSTPORT("listen", KIND_LISTEN, "HOST:PORT", "protocol port; port 0 picks a free one"),
    OPT_PATH("cert", cert_file, "FILE", "server certificate, PEM"),
    OPT_PATH("key", key_file, "FILE", "server private key, PEM"),
    OPT_PATH("ca", ca_file, "FILE", "deployment CA that signs user certificates directly"),
    OPT_PATH("crl", crl_file, "FILE",
             "PEM CRLs of the CA: the protocol port refuses the client certificates they revoke "
             "(re-read on SIGHUP)"),
    OPT_PATH("port-file", port_file, "FILE", "write the bound protocol port to FILE"),
    OPT_NUM("max-connections", KIND_UNSIGNED, max_connections, 1, 1000000, "N",
            "open connections before new ones are closed"),
    OPT_NUM("max-per-address", KIND_UNSIGNED, max_per_address, 1, 1000000, "N",
            "open connections from one address (IPv6: one /64), on each port"),
    OPT_NUM("max-per-user", KIND_UNSIGNED, max_per_user, 1, 1000000, "N",
            "protocol-port connections of one user; a new one closes the user's oldest idle one"),
    OPT_NUM("first-frame-timeout", KIND_U64, first_frame_timeout_ms, 1, 3600000, "MS",
            "protocol port: a new connection must complete its handshake and send a whole first "
            "frame within this many milliseconds"),
    OPT_NUM("max-frame", KIND_SIZE, max_frame, 64, 16u * 1024 * 1024, "BYTES",
            "largest frame body accepted"),
    OPT_NUM("max-in-flight", KIND_UNSIGNED, max_in_flight, 1, 100000, "N",
            "requests per connection before reading pauses"),
    OPT_NUM("unpack-budget", KIND_SIZE, unpack_budget, 1024, (uint64_t)1 << 40, "BYTES",
            "memory one frame may take to decode"),
    OPT_NUM("memory-budget", KIND_SIZE, memory_budget, 1024, (uint64_t)1 << 40, "BYTES",
            "memory all frames being decoded may take"),
    OPT_NUM("handshake-timeout", KIND_U64, handshake_timeout_ms, 1, 3600000, "MS",
            "a TLS handshake must finish within this many milliseconds"),
    OPT_NUM("idle-timeout", KIND_U64, idle_timeout_ms, 1, 86400000, "MS",
            "a connection with no request for this many milliseconds is closed"),
    OPT_NUM("drain-timeout", KIND_U64, drain_timeout_ms, 1, 3600000, "MS",
            "longest wait for in-flight work on SIGTERM"),
    OPT_NUM("write-high", KIND_SIZE, write_high, 1024, (uint64_t)1 << 32, "BYTES",
            "pending output that pauses reading"),
    OPT_NUM("write-max", KIND_SIZE, write_max, 4096, (uint64_t)1 << 34, "BYTES",
            "pending output that closes the connection"),
    OPT_NUM("map-size", KIND_SIZE, map_size, 65536, (uint64_t)1 << 40, "BYTES",
            "initial LMDB map size; it grows when full"),
    OPT_NUM("max-batch", KIND_UNSIGNED, max_batch, 1, STORE_MAX_BATCH_LIMIT, "N",
            "submissions committed in one transaction at most; more is faster under load, and "
            "the writer keeps the largest transaction's page buffers"),
    OPT_NUM("stats-interval", KIND_U64, stats_log_ms, 0, 86400000, "MS",
            "period of the store_stats log line, 0 = off"),
    OPT_NUM("amend-days", KIND_UNSIGNED, amend_days, 0, 3650, "N",
            "observers may amend their observations this long"),
    OPT_FRAC("cert-exact", KIND_PERCENT, cert_exact, 0, 100, "PERCENT",
             "calibration: exact agreement needed to certify"),
    OPT_FRAC("cert-kappa", KIND_DOUBLE, cert_kappa, -1, 1, "K",
             "calibration: weighted kappa needed to certify"),
    OPT_NUM("cert-min-pairs", KIND_UNSIGNED, cert_min_pairs, 1, 100000, "N",
            "calibration: rating pairs compared at least"),
    OPT_NUM("cert-days", KIND_UNSIGNED, cert_days, 1, 3650, "N",
            "a certification holds this many days"),
    OPT_NUM("cert-attempts", KIND_UNSIGNED, cert_attempts, 0, 1000, "N",
            "calibration: attempts at one reference session per window, 0 = no limit"),
    OPT_NUM("cert-window-days", KIND_UNSIGNED, cert_window_days, 1, 3650, "N",
            "calibration: the window attempts count in"),
    OPT_NUM("cert-cooldown", KIND_U64, cert_cooldown_s, 0, 3650ull * 86400, "S",
            "calibration: seconds between two attempts at one reference session"),
    OPT_HOSTPORT("dashboard", KIND_DASHBOARD, "HOST:PORT|off",
                 "dashboard port (HTTPS for browsers); port 0 picks a free one"),
    OPT_PATH("dashboard-port-file", dash_port_file, "FILE",
             "write the bound dashboard port to FILE"),
    OPT_NUM("min-n", KIND_UNSIGNED, dash_min_n, 1, 1000, "N",
            "figures from fewer items show \"insufficient data\""),
    OPT_NUM("privacy-min", KIND_UNSIGNED, dash_privacy_min, 1, 1000, "N",
            "groups of fewer people are not broken down"),
    OPT_NUM("session-hours", KIND_HOURS, session_ttl_s, 1, 720, "N",
            "a browser sign-in lasts this long"),
    OPT_NUM("http-timeout", KIND_U64, http_request_timeout_ms, 1, 3600000, "MS",
            "a dashboard request must arrive whole within this many milliseconds"),
    OPT_NUM("http-header-timeout", KIND_U64, http_header_timeout_ms, 1, 3600000, "MS",
            "and its headers within this many milliseconds"),
    OPT_NUM("cursor-ttl", KIND_U64, cursor_ttl_s, 1, 7 * 86400, "S",
            "a list's next-page cursor is valid this many seconds"),
    OPT_HOSTPORT("metrics", KIND_METRICS, "HOST:PORT|off",
                 "Prometheus /metrics over plain HTTP; loopback only unless --metrics-any-host; "
                 "port 0 picks a free one"),
    OPT_PATH("metrics-port-file", metrics_port_file, "FILE",
             "write the bound metrics port to FILE"),
    OPT_FLAG("metrics-any-host", metrics_any_host,
             "allow --metrics on a non-loopback address (the figures are unauthenticated: "
             "firewall it)"),
};

#define CONFIG_NOPTS (sizeof(config_opts) / sizeof(config_opts[0]))
/* getopt_long() returns an option's index plus this. */
#define CONFIG_OPT_BASE 256

/*
 * Applies one option's value arg to c. Returns 0 or -EINVAL. A whole
 * number that does not parse stores 0 (and a percentage is still divided),
 * as the command line always did; the caller refuses the whole line then.
 */
static int config_apply(struct config *c, const struct config_opt *o, const char *arg)
{
    char *field = (char *)c + o->off;
    uint64_t v = 0;
    int rc;

    switch (o->kind) {
    case KIND_PATH:
        return str_copy(field, o->size, arg);
    case KIND_U64:
        return parse_u64(arg, o->min, o->max, (uint64_t *)(void *)field);
    case KIND_UNSIGNED:
        rc = parse_u64(arg, o->min, o->max, &v);
        *(unsigned *)(void *)field = (unsigned)v;
        return rc;
    case KIND_SIZE:
        rc = parse_u64(arg, o->min, o->max, &v);
        *(size_t *)(void *)field = (size_t)v;
        return rc;
    case KIND_HOURS:
        rc = parse_u64(arg, o->min, o->max, &v);
        *(uint64_t *)(void *)field = v * 3600;
        return rc;
    case KIND_DOUBLE:
        return parse_double(arg, o->dmin, o->dmax, (double *)(void *)field);
    case KIND_PERCENT:
        rc = parse_double(arg, o->dmin, o->dmax, (double *)(void *)field);
        *(double *)(void *)field /= 100;
        return rc;
    case KIND_LISTEN:
        return parse_listen(c, arg);
    case KIND_DASHBOARD:
        return parse_dashboard(c, arg);
    case KIND_METRICS:
        return parse_metrics(c, arg);
    case KIND_FLAG:
        /* On the command line a flag has no value; a configuration file
         * line may still say yes or no. */
        if (arg == NULL || strcmp(arg, "yes") == 0 || strcmp(arg, "true") == 0 ||
            strcmp(arg, "1") == 0) {
            *(int *)(void *)field = 1;
            return 0;
        }
        if (strcmp(arg, "no") == 0 || strcmp(arg, "false") == 0 || strcmp(arg, "0") == 0) {
            *(int *)(void *)field = 0;
            return 0;
        }
        return -EINVAL;
    }
    return -EINVAL;
}

/* The checks across options, once all are read: water marks in order and
 * one frame's budget within the total. Returns 0 or ERROR_CONFIG with a
 * message in err. */
static int config_check(struct config *c, char *err, size_t errlen)
{
    if (c->write_low >= c->write_high) {
        c->write_low = c->write_high / 4;
    }
    if (c->write_max < c->write_high) {
        snprintf(err, errlen, "--write-max must be at least --write-high (%zu)", c->write_high);
        return ERROR_CONFIG;
    }
    if (c->metrics_on && !c->metrics_any_host && !host_is_loopback(c->metrics_host)) {
        snprintf(err, errlen,
                 "--metrics %s is not a loopback address; /metrics has no authentication, so "
                 "a wider address needs --metrics-any-host (and a firewall)",
                 c->metrics_host);
        return ERROR_CONFIG;
    }
    if (c->unpack_budget > c->memory_budget) {
        snprintf(err, errlen, "--unpack-budget must not exceed --memory-budget (%zu)",
                 c->memory_budget);
        return ERROR_CONFIG;
    }
    return 0;
}

/* ---- Values as text ---------------------------------------------------- */

/* Writes v in the fewest digits that read back as v: 0.7, not
 * 0.69999999999999996, yet every digit an operator gave. */
static void fmt_double(double v, char *buf, size_t len)
{
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) {
            return;
        }
    }
}

/* Writes o's value in c as its option takes it, so that it reads back the
 * same: the defaults of --help and the config files, --check-config. */
static void config_value(const struct config *c, const struct config_opt *o, char *buf, size_t len)
{
    const char *field = (const char *)c + o->off;
    const char *host = c->listen_host;
    const char *port = c->listen_port;

    switch (o->kind) {
    case KIND_PATH:
        snprintf(buf, len, "%s", field);
        return;
    case KIND_U64:
        snprintf(buf, len, "%llu", (unsigned long long)*(const uint64_t *)(const void *)field);
        return;
    case KIND_UNSIGNED:
        snprintf(buf, len, "%u", *(const unsigned *)(const void *)field);
        return;
    case KIND_SIZE:
        snprintf(buf, len, "%zu", *(const size_t *)(const void *)field);
        return;
    case KIND_HOURS:
        snprintf(buf, len, "%llu",
                 (unsigned long long)(*(const uint64_t *)(const void *)field / 3600));
        return;
    case KIND_DOUBLE:
        fmt_double(*(const double *)(const void *)field, buf, len);
        return;
    case KIND_PERCENT:
        fmt_double(*(const double *)(const void *)field * 100, buf, len);
        return;
    case KIND_DASHBOARD:
        if (c->dash_off) {
            snprintf(buf, len, "off");
            return;
        }
        host = c->dash_host;
        port = c->dash_port;
        break;
    case KIND_METRICS:
        if (!c->metrics_on) {
            snprintf(buf, len, "off");
            return;
        }
        host = c->metrics_host;
        port = c->metrics_port;
        break;
    case KIND_FLAG:
        snprintf(buf, len, "%s", *(const int *)(const void *)field ? "yes" : "no");
        return;
    case KIND_LISTEN:
        break;
    }
    snprintf(buf, len, strchr(host, ':') != NULL ? "[%s]:%s" : "%s:%s", host, port);
}

/* ---- Documentation ------------------------------------------------------ */

/* An option as --help and the man page name it: "--data DIR", "--metrics-any-host". */
static void config_opt_left(const struct config_opt *o, char *buf, size_t len)
{
    if (o->arg != NULL) {
        snprintf(buf, len, "--%s %s", o->name, o->arg);
    } else {
        snprintf(buf, len, "--%s", o->name);
    }
}

/* What --help and coachqd(8) say beside the options, written once. */
static const char config_doc_summary[] = "the coachq server and its administration";
static const char config_doc_description[] =
    "Runs the coachq server: observers' clients submit observations over mutual TLS, and every "
    "acknowledged observation is in a committed, fsynced LMDB transaction. A second port serves "
    "the dashboards to browsers over HTTPS.";
static const char config_doc_config[] =
    "Settings come from the command line, then the config file (--config FILE, else "
    "$COACHQD_CONFIG), then the built-in defaults. The file holds \"key = value\" lines, one per "
    "option, named as the long option without its dashes (listen = 0.0.0.0:7443, dashboard = "
    "off); '#' starts a comment line. An unknown key, a bad value or a key given twice is an "
    "error naming the file, the line and the key.";
static const char config_doc_signals[] =
    "Signals: SIGINT or SIGTERM stop accepting, acknowledge what is in flight, and exit 0. SIGHUP "
    "re-reads --cert, --key, --ca and --crl for new connections (open ones keep theirs); if a "
    "file is bad the old ones stay and the error is logged.";
static const char config_doc_exit[] =
    "Exit status: 0 stopped by a signal after draining; 1 the store failed (e.g. an I/O error on "
    "commit) or the server could not start; 2 usage or configuration error.";

/* The options that are not settings, so not keys of the config file. */
static const struct {
    const char *left;
    const char *help;
} config_doc_extra[] = {
    {"--config FILE", "read settings from FILE (key = value lines); flags on the command line win"},
    {"--check-config", "check the settings (command line and config file), print them as a config "
                       "file would set them, and exit"},
    {"--help-config", "print a config file to start from: every option with its help, those "
                      "given as flags set, the others commented out with their defaults; and exit"},
    {"-h, --help", "show this help"},
};

#define CONFIG_NEXTRA (sizeof(config_doc_extra) / sizeof(config_doc_extra[0]))
#define CONFIG_HELP_COL 28
#define CONFIG_HELP_WIDTH 80

void config_usage(void *fp, const char *prog)
{
    FILE *f = fp;
    struct config d;
    char left[64], def[300];

    config_defaults(&d);
    fprintf(f, "Usage: %s [serve] [options]\n\n", prog);
    helpdoc_wrap(f, config_doc_description, 0, CONFIG_HELP_WIDTH);
    fprintf(f, "\nOptions (defaults in brackets):\n");
    for (size_t i = 0; i < CONFIG_NOPTS; i++) {
        config_opt_left(&config_opts[i], left, sizeof(left));
        config_value(&d, &config_opts[i], def, sizeof(def));
        helpdoc_opt(f, left, config_opts[i].help, def, CONFIG_HELP_COL, CONFIG_HELP_WIDTH);
    }
    for (size_t i = 0; i < CONFIG_NEXTRA; i++) {
        helpdoc_opt(f, config_doc_extra[i].left, config_doc_extra[i].help, NULL, CONFIG_HELP_COL,
                    CONFIG_HELP_WIDTH);
    }
    fputc('\n', f);
    helpdoc_wrap(f, config_doc_config, 0, CONFIG_HELP_WIDTH);
    fputc('\n', f);
    helpdoc_wrap(f, config_doc_signals, 0, CONFIG_HELP_WIDTH);
    helpdoc_wrap(f, config_doc_exit, 0, CONFIG_HELP_WIDTH);
}

/* Prints the command that makes this config file: --help-config with a
 * flag for each setting that differs from the defaults d. */
static void print_file_command(FILE *f, const struct config *c, const struct config *d)
{
    char value[600], def[600];

    fprintf(f, "#   coachqd --help-config");
    for (size_t i = 0; i < CONFIG_NOPTS; i++) {
        config_value(c, &config_opts[i], value, sizeof(value));
        config_value(d, &config_opts[i], def, sizeof(def));
        if (strcmp(value, def) != 0) {
            fprintf(
                f, strpbrk(value, " \t'\"") != NULL || value[0] == '\0' ? " --%s '%s'" : " --%s %s",
                config_opts[i].name, value);
        }
    }
    fputc('\n', f);
}

void config_print_file(void *fp, const struct config *c, int commented)
{
    FILE *f = fp;
    char value[600], def[600];
    struct config d;

    config_defaults(&d);
    if (commented) {
        fprintf(f, "# coachqd's config file: one \"key = value\" line per setting; a line that\n"
                   "# starts with '#' is a comment. Every key is the long option of the same\n"
                   "# name (coachqd(8)), and a flag on the command line wins over this file.\n"
                   "# The lines commented out hold the built-in defaults; the others are this\n"
                   "# installation's settings. Made from coachqd's option table by\n");
        print_file_command(f, c, &d);
    }
    for (size_t i = 0; i < CONFIG_NOPTS; i++) {
        int same;

        config_value(c, &config_opts[i], value, sizeof(value));
        config_value(&d, &config_opts[i], def, sizeof(def));
        same = strcmp(value, def) == 0;
        if (commented) {
            fprintf(f, "\n# %s%s%s\n%s", config_opts[i].help,
                    same ? "" : "; default: ", same ? "" : def, same ? "#" : "");
        }
        fprintf(f, "%s =%s%s\n", config_opts[i].name, value[0] != '\0' ? " " : "", value);
    }
}

void config_man(void *fp, const char *version)
{
    FILE *f = fp;
    struct config d;
    char left[64], def[300];

    config_defaults(&d);
    helpdoc_man_head(f, "coachqd", 8, version, "System Administration", config_doc_summary);
    helpdoc_man_section(f, "SYNOPSIS");
    helpdoc_man_synopsis(f, "coachqd", "[serve] [options]");
    admin_man_synopsis(f, "coachqd");
    helpdoc_man_section(f, "DESCRIPTION");
    helpdoc_man_text(f, config_doc_description);
    helpdoc_man_text(f, "The administration verbs (COMMANDS below) run on the server host against "
                        "the data directory, beside a running server or without one; each makes "
                        "its changes in one transaction and records them in the audit log.");
    helpdoc_man_text(f, config_doc_config);
    helpdoc_man_text(f, config_doc_signals);
    helpdoc_man_section(f, "OPTIONS");
    helpdoc_man_text(f, "These options run the server (the verb serve, the default). Each is also "
                        "a key of the config file.");
    for (size_t i = 0; i < CONFIG_NOPTS; i++) {
        config_opt_left(&config_opts[i], left, sizeof(left));
        config_value(&d, &config_opts[i], def, sizeof(def));
        helpdoc_man_opt(f, left, config_opts[i].help, def);
    }
    for (size_t i = 0; i < CONFIG_NEXTRA; i++) {
        helpdoc_man_opt(f, config_doc_extra[i].left, config_doc_extra[i].help, NULL);
    }
    helpdoc_man_section(f, "COMMANDS");
    admin_man_commands(f, "coachqd");
    helpdoc_man_section(f, "FILES");
    helpdoc_man_opt(f, "/etc/coachq/coachqd.conf",
                    "The config file the packaged service reads (--config). As shipped, it sets "
                    "the package's paths (the data directory /var/lib/coachq, the certificates "
                    "in /etc/coachq) and has every other key commented out with its default.",
                    NULL);
    helpdoc_man_opt(f, "DIR/data.mdb",
                    "The store, an LMDB environment in the data directory (--data); its lock "
                    "file is DIR/lock.mdb.",
                    NULL);
    helpdoc_man_section(f, "ENVIRONMENT");
    helpdoc_man_opt(f, "COACHQD_CONFIG",
                    "The config file to read when --config is not given; unset or empty: none.",
                    NULL);
    helpdoc_man_opt(f, "UV_THREADPOOL_SIZE",
                    "Threads of libuv's pool, which runs the reads of both ports and the "
                    "dashboards' password checks.",
                    "8");
    helpdoc_man_section(f, "EXIT STATUS");
    helpdoc_man_text(f, config_doc_exit);
    helpdoc_man_text(f, admin_exit_status);
    helpdoc_man_section(f, "SEE ALSO");
    fputs("\\fBcoachq\\fR(1), \\fBmdb_copy\\fR(1), \\fBmdb_stat\\fR(1)\n", f);
}

/* ---- The config file ------------------------------------------------------ */

static const struct config_opt *config_find(const char *name)
{
    for (size_t i = 0; i < CONFIG_NOPTS; i++) {
        if (strcmp(config_opts[i].name, name) == 0) {
            return &config_opts[i];
        }
    }
    return NULL;
}

/* What config_read_file() keeps while it reads: the settings, and the line
 * each key was first given on. */
struct config_reading {
    struct config *c;
    unsigned seen[CONFIG_NOPTS];
};

/* kvfile_read()'s callback: one "key = value" line. */
static int config_file_line(void *arg, const char *key, const char *value, unsigned line, char *msg,
                            size_t msglen)
{
    struct config_reading *r = arg;
    const struct config_opt *o = config_find(key);
    size_t idx;

    if (o == NULL) {
        snprintf(msg, msglen, "unknown key '%.64s' (see coachqd --help)", key);
        return -EINVAL;
    }
    idx = (size_t)(o - config_opts);
    if (r->seen[idx] != 0) {
        snprintf(msg, msglen, "key '%s' given twice (first on line %u)", key, r->seen[idx]);
        return -EINVAL;
    }
    r->seen[idx] = line;
    if (config_apply(r->c, o, value) < 0) {
        snprintf(msg, msglen, "invalid value '%.200s' for key '%s'", value, key);
        return -EINVAL;
    }
    return 0;
}

int config_read_file(struct config *c, const char *path, char *err, size_t errlen)
{
    struct config_reading r;

    memset(&r, 0, sizeof(r));
    r.c = c;
    return kvfile_read(path, config_file_line, &r, err, errlen) < 0 ? ERROR_CONFIG : 0;
}

/* ---- The command line ---------------------------------------------------- */

/* getopt_long() values of the options that are not settings. */
enum {
    OPT_CONFIG = CONFIG_OPT_BASE + 1000,
    OPT_CHECK_CONFIG,
    OPT_HELP_MAN,
    OPT_HELP_CONFIG,
};

/* Finds --config and the options that print and exit, before the file is
 * read: those need no file, and a broken one must not hide the help. */
static void config_prescan(int argc, char **argv, const struct option *opts, const char **path,
                           int *prints)
{
    int ch;

    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (ch == OPT_CONFIG) {
            *path = optarg;
        } else if (ch == 'h' || ch == OPT_HELP_MAN || ch == OPT_HELP_CONFIG) {
            *prints = 1;
        }
    }
}

int config_parse_args(struct config *c, int argc, char **argv, char *err, size_t errlen)
{
    struct option opts[CONFIG_NOPTS + 6];
    const char *path = NULL;
    int prints = 0, check = 0, print = 0;
    int ch;
    int li = -1;

    for (size_t i = 0; i < CONFIG_NOPTS; i++) {
        opts[i].name = config_opts[i].name;
        opts[i].has_arg = config_opts[i].kind == KIND_FLAG ? no_argument : required_argument;
        opts[i].flag = NULL;
        opts[i].val = CONFIG_OPT_BASE + (int)i;
    }
    opts[CONFIG_NOPTS] = (struct option){"help", no_argument, NULL, 'h'};
    opts[CONFIG_NOPTS + 1] = (struct option){"config", required_argument, NULL, OPT_CONFIG};
    opts[CONFIG_NOPTS + 2] = (struct option){"check-config", no_argument, NULL, OPT_CHECK_CONFIG};
    opts[CONFIG_NOPTS + 3] = (struct option){"help-config", no_argument, NULL, OPT_HELP_CONFIG};
    /* Hidden: the build writes coachqd(8) with it. */
    opts[CONFIG_NOPTS + 4] = (struct option){"help-man", no_argument, NULL, OPT_HELP_MAN};
    opts[CONFIG_NOPTS + 5] = (struct option){NULL, 0, NULL, 0};
    config_prescan(argc, argv, opts, &path, &prints);
    if (path == NULL) {
        path = getenv("COACHQD_CONFIG");
        if (path != NULL && path[0] == '\0') {
            path = NULL;
        }
    }
    if (path != NULL && !prints && config_read_file(c, path, err, errlen) < 0) {
        return ERROR_CONFIG;
    }
    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":h", opts, &li)) != -1) {
        int rc;

        if (ch == '?' || ch == ':') {
            li = -1;
        }
        if (ch == 'h') {
            config_usage(stdout, argv[0]);
            return CONFIG_HELP;
        }
        if (ch == OPT_HELP_MAN) {
            return CONFIG_MAN;
        }
        if (ch == OPT_HELP_CONFIG) {
            print = 1;
            continue;
        }
        if (ch == OPT_CONFIG) {
            continue;
        }
        if (ch == OPT_CHECK_CONFIG) {
            check = 1;
            continue;
        }
        if (ch == ':') {
            snprintf(err, errlen, "option %s needs a value", argv[optind - 1]);
            return ERROR_CONFIG;
        }
        if (ch == '?' && optopt >= CONFIG_OPT_BASE &&
            optopt < CONFIG_OPT_BASE + (int)CONFIG_NOPTS) {
            /* getopt_long() names a flag given a value by its val. */
            snprintf(err, errlen, "option --%s takes no value",
                     config_opts[optopt - CONFIG_OPT_BASE].name);
            return ERROR_CONFIG;
        }
        if (ch < CONFIG_OPT_BASE || ch >= CONFIG_OPT_BASE + (int)CONFIG_NOPTS) {
            snprintf(err, errlen, "unknown option %s", argv[optind - 1]);
            return ERROR_CONFIG;
        }
        rc = config_apply(c, &config_opts[ch - CONFIG_OPT_BASE], optarg);
        if (rc < 0) {
            snprintf(err, errlen, "invalid value '%s' for --%s", optarg,
                     li >= 0 ? opts[li].name : "?");
            return ERROR_CONFIG;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
        return ERROR_CONFIG;
    }
    if (config_check(c, err, errlen) < 0) {
        return ERROR_CONFIG;
    }
    if (print || check) {
        config_print_file(stdout, c, print);
        return CONFIG_DONE;
    }
    return 0;
}
