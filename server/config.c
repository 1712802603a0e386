#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "http.h"
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

void config_usage(void *fp, const char *prog)
{
    FILE *f = fp;
    struct config d;

    config_defaults(&d);
    fprintf(f,
            "Usage: %s [serve] [options]\n"
            "\n"
            "Runs the coachq server: observers' clients submit observations over mutual TLS,\n"
            "and every acknowledged observation is in a committed, fsynced LMDB transaction.\n"
            "\n"
            "Options (defaults in brackets):\n"
            "  --data DIR               data directory, created if missing [%s]\n"
            "  --listen HOST:PORT       protocol port; port 0 picks a free one [%s:%s]\n"
            "  --cert FILE              server certificate, PEM [%s]\n"
            "  --key FILE               server private key, PEM [%s]\n"
            "  --ca FILE                deployment CA that signs user certificates directly [%s]\n"
            "  --crl FILE               PEM CRLs of the CA: the protocol port refuses the client\n"
            "                           certificates they revoke (re-read on SIGHUP)\n"
            "  --port-file FILE         write the bound protocol port to FILE\n"
            "  --max-connections N      open connections before new ones are closed [%u]\n"
            "  --max-per-address N      open connections from one address (IPv6: one /64),\n"
            "                           on each port [%u]\n"
            "  --max-per-user N         protocol-port connections of one user; a new one\n"
            "                           closes the user's oldest idle one [%u]\n"
            "  --first-frame-timeout MS protocol port: a new connection must complete its\n"
            "                           handshake and send a whole first frame within [%llu]\n"
            "  --max-frame BYTES        largest frame body accepted [%zu]\n"
            "  --max-in-flight N        requests per connection before reading pauses [%u]\n"
            "  --unpack-budget BYTES    memory one frame may take to decode [%zu]\n"
            "  --memory-budget BYTES    memory all frames being decoded may take [%zu]\n"
            "  --handshake-timeout MS   [%llu]\n"
            "  --idle-timeout MS        [%llu]\n"
            "  --drain-timeout MS       longest wait for in-flight work on SIGTERM [%llu]\n"
            "  --write-high BYTES       pending output that pauses reading [%zu]\n"
            "  --write-max BYTES        pending output that closes the connection [%zu]\n"
            "  --map-size BYTES         initial LMDB map size; it grows when full [%zu]\n"
            "  --max-batch N            submissions committed in one transaction at most;\n"
            "                           more is faster under load, and the writer keeps\n"
            "                           the largest transaction's page buffers [%u]\n"
            "  --stats-interval MS      period of the store_stats log line, 0 = off [%llu]\n"
            "  --amend-days N           observers may amend their observations this long [%u]\n"
            "  --cert-exact PERCENT     calibration: exact agreement needed to certify [%.0f]\n"
            "  --cert-kappa K           calibration: weighted kappa needed to certify [%.2f]\n"
            "  --cert-min-pairs N       calibration: rating pairs compared at least [%u]\n"
            "  --cert-days N            a certification holds this many days [%u]\n"
            "  --cert-attempts N        calibration: attempts at one reference session per\n"
            "                           window, 0 = no limit [%u]\n"
            "  --cert-window-days N     calibration: the window attempts count in [%u]\n"
            "  --cert-cooldown S        calibration: seconds between two attempts at one\n"
            "                           reference session [%llu]\n"
            "  --dashboard HOST:PORT|off  dashboard port (HTTPS for browsers); port 0 picks a\n"
            "                           free one [%s:%s]\n"
            "  --dashboard-port-file FILE  write the bound dashboard port to FILE\n"
            "  --min-n N                figures from fewer items show \"insufficient data\" [%u]\n"
            "  --privacy-min N          groups of fewer people are not broken down [%u]\n"
            "  --session-hours N        a browser sign-in lasts this long [%llu]\n"
            "  --http-timeout MS        a dashboard request must arrive whole within [%llu]\n"
            "  --http-header-timeout MS and its headers within [%llu]\n"
            "  --cursor-ttl S           a list's next-page cursor is valid this long [%llu]\n"
            "  --metrics HOST:PORT|off  Prometheus /metrics over plain HTTP; loopback only\n"
            "                           unless --metrics-any-host; port 0 picks one [off]\n"
            "  --metrics-port-file FILE write the bound metrics port to FILE\n"
            "  --metrics-any-host       allow --metrics on a non-loopback address (the\n"
            "                           figures are unauthenticated: firewall it)\n"
            "  -h, --help               show this help\n"
            "\n"
            "Signals: SIGINT or SIGTERM stop accepting, acknowledge what is in flight, and\n"
            "exit 0. SIGHUP re-reads --cert, --key, --ca and --crl for new connections (open\n"
            "ones keep theirs); if a file is bad the old ones stay. Exit status 1: the store "
            "failed (e.g. an I/O error on commit); 2: usage.\n",
            prog, d.data_dir, d.listen_host, d.listen_port, d.cert_file, d.key_file, d.ca_file,
            d.max_connections, d.max_per_address, d.max_per_user,
            (unsigned long long)d.first_frame_timeout_ms, d.max_frame, d.max_in_flight,
            d.unpack_budget, d.memory_budget, (unsigned long long)d.handshake_timeout_ms,
            (unsigned long long)d.idle_timeout_ms, (unsigned long long)d.drain_timeout_ms,
            d.write_high, d.write_max, d.map_size, d.max_batch, (unsigned long long)d.stats_log_ms,
            d.amend_days, d.cert_exact * 100, d.cert_kappa, d.cert_min_pairs, d.cert_days,
            d.cert_attempts, d.cert_window_days, (unsigned long long)d.cert_cooldown_s, d.dash_host,
            d.dash_port, d.dash_min_n, d.dash_privacy_min,
            (unsigned long long)(d.session_ttl_s / 3600),
            (unsigned long long)d.http_request_timeout_ms,
            (unsigned long long)d.http_header_timeout_ms, (unsigned long long)d.cursor_ttl_s);
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

/* --dashboard HOST:PORT or off. */
static int parse_dashboard(struct config *c, const char *s)
{
    char host[sizeof(c->dash_host)];
    char port[16];

    if (strcmp(s, "off") == 0) {
        c->dash_off = 1;
        return 0;
    }
    if (parse_hostport(s, host, sizeof(host), port) < 0) {
        return -EINVAL;
    }
    c->dash_off = 0;
    memcpy(c->dash_host, host, sizeof(host));
    memcpy(c->dash_port, port, sizeof(port));
    return 0;
}

/* --metrics HOST:PORT or off. */
static int parse_metrics(struct config *c, const char *s)
{
    char host[sizeof(c->metrics_host)];
    char port[16];

    if (strcmp(s, "off") == 0) {
        c->metrics_on = 0;
        return 0;
    }
    if (parse_hostport(s, host, sizeof(host), port) < 0) {
        return -EINVAL;
    }
    c->metrics_on = 1;
    memcpy(c->metrics_host, host, sizeof(host));
    memcpy(c->metrics_port, port, sizeof(port));
    return 0;
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

/* One long option: its name, kind, field, and the range of its value
 * (whole numbers in min..max, fractions in dmin..dmax). */
struct config_opt {
    const char *name;
    enum config_kind kind;
    size_t off;  /* of the field in struct config */
    size_t size; /* of a KIND_PATH field */
    uint64_t min, max;
    double dmin, dmax;
};

#define CONFIG_FIELD(field) offsetof(struct config, field), sizeof(((struct config *)0)->field)
#define OPT_PATH(name, field)                                                                      \
    {                                                                                              \
        name, KIND_PATH, CONFIG_FIELD(field), 0, 0, 0, 0                                           \
    }
#define OPT_NUM(name, kind, field, lo, hi)                                                         \
    {                                                                                              \
        name, kind, CONFIG_FIELD(field), lo, hi, 0, 0                                              \
    }
#define OPT_FRAC(name, kind, field, lo, hi)                                                        \
    {                                                                                              \
        name, kind, CONFIG_FIELD(field), 0, 0, lo, hi                                              \
    }
#define OPT_FLAG(name, field)                                                                      \
    {                                                                                              \
        name, KIND_FLAG, CONFIG_FIELD(field), 0, 0, 0, 0                                           \
    }
#define OPT_HOSTPORT(name, kind)                                                                   \
    {                                                                                              \
        name, kind, 0, 0, 0, 0, 0, 0                                                               \
    }

/* The options, in the order getopt_long() is given them. */
static const struct config_opt config_opts[] = {
    OPT_PATH("data", data_dir),
    OPT_HOSTPORT("listen", KIND_LISTEN),
    OPT_PATH("cert", cert_file),
    OPT_PATH("key", key_file),
    OPT_PATH("ca", ca_file),
    OPT_PATH("crl", crl_file),
    OPT_PATH("port-file", port_file),
    OPT_NUM("max-connections", KIND_UNSIGNED, max_connections, 1, 1000000),
    OPT_NUM("max-frame", KIND_SIZE, max_frame, 64, 16u * 1024 * 1024),
    OPT_NUM("max-in-flight", KIND_UNSIGNED, max_in_flight, 1, 100000),
    OPT_NUM("max-batch", KIND_UNSIGNED, max_batch, 1, STORE_MAX_BATCH_LIMIT),
    OPT_NUM("unpack-budget", KIND_SIZE, unpack_budget, 1024, (uint64_t)1 << 40),
    OPT_NUM("memory-budget", KIND_SIZE, memory_budget, 1024, (uint64_t)1 << 40),
    OPT_NUM("handshake-timeout", KIND_U64, handshake_timeout_ms, 1, 3600000),
    OPT_NUM("idle-timeout", KIND_U64, idle_timeout_ms, 1, 86400000),
    OPT_NUM("drain-timeout", KIND_U64, drain_timeout_ms, 1, 3600000),
    OPT_NUM("write-high", KIND_SIZE, write_high, 1024, (uint64_t)1 << 32),
    OPT_NUM("write-max", KIND_SIZE, write_max, 4096, (uint64_t)1 << 34),
    OPT_NUM("map-size", KIND_SIZE, map_size, 65536, (uint64_t)1 << 40),
    OPT_NUM("stats-interval", KIND_U64, stats_log_ms, 0, 86400000),
    OPT_NUM("amend-days", KIND_UNSIGNED, amend_days, 0, 3650),
    OPT_FRAC("cert-exact", KIND_PERCENT, cert_exact, 0, 100),
    OPT_FRAC("cert-kappa", KIND_DOUBLE, cert_kappa, -1, 1),
    OPT_NUM("cert-min-pairs", KIND_UNSIGNED, cert_min_pairs, 1, 100000),
    OPT_NUM("cert-days", KIND_UNSIGNED, cert_days, 1, 3650),
    OPT_NUM("cert-attempts", KIND_UNSIGNED, cert_attempts, 0, 1000),
    OPT_NUM("cert-window-days", KIND_UNSIGNED, cert_window_days, 1, 3650),
    OPT_NUM("cert-cooldown", KIND_U64, cert_cooldown_s, 0, 3650ull * 86400),
    OPT_HOSTPORT("dashboard", KIND_DASHBOARD),
    OPT_PATH("dashboard-port-file", dash_port_file),
    OPT_NUM("min-n", KIND_UNSIGNED, dash_min_n, 1, 1000),
    OPT_NUM("privacy-min", KIND_UNSIGNED, dash_privacy_min, 1, 1000),
    OPT_NUM("session-hours", KIND_HOURS, session_ttl_s, 1, 720),
    OPT_NUM("http-timeout", KIND_U64, http_request_timeout_ms, 1, 3600000),
    OPT_NUM("cursor-ttl", KIND_U64, cursor_ttl_s, 1, 7 * 86400),
    OPT_NUM("max-per-address", KIND_UNSIGNED, max_per_address, 1, 1000000),
    OPT_NUM("max-per-user", KIND_UNSIGNED, max_per_user, 1, 1000000),
    OPT_NUM("first-frame-timeout", KIND_U64, first_frame_timeout_ms, 1, 3600000),
    OPT_NUM("http-header-timeout", KIND_U64, http_header_timeout_ms, 1, 3600000),
    OPT_HOSTPORT("metrics", KIND_METRICS),
    OPT_PATH("metrics-port-file", metrics_port_file),
    OPT_FLAG("metrics-any-host", metrics_any_host),
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

int config_parse_args(struct config *c, int argc, char **argv, char *err, size_t errlen)
{
    struct option opts[CONFIG_NOPTS + 2];
    int ch;
    int li = -1;

    for (size_t i = 0; i < CONFIG_NOPTS; i++) {
        opts[i].name = config_opts[i].name;
        opts[i].has_arg = config_opts[i].kind == KIND_FLAG ? no_argument : required_argument;
        opts[i].flag = NULL;
        opts[i].val = CONFIG_OPT_BASE + (int)i;
    }
    opts[CONFIG_NOPTS] = (struct option){"help", no_argument, NULL, 'h'};
    opts[CONFIG_NOPTS + 1] = (struct option){NULL, 0, NULL, 0};
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":h", opts, &li)) != -1) {
        int rc;

        if (ch == '?' || ch == ':') {
            li = -1;
        }
        if (ch == 'h') {
            config_usage(stdout, argv[0]);
            return 1;
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
    return config_check(c, err, errlen);
}
