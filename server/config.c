#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "http.h"
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
            "  -h, --help               show this help\n"
            "\n"
            "Signals: SIGINT or SIGTERM stop accepting, acknowledge what is in flight, and\n"
            "exit 0. Exit status 1: the store failed (e.g. an I/O error on commit); 2: usage.\n",
            prog, d.data_dir, d.listen_host, d.listen_port, d.cert_file, d.key_file, d.ca_file,
            d.max_connections, d.max_per_address, d.max_per_user,
            (unsigned long long)d.first_frame_timeout_ms, d.max_frame, d.max_in_flight,
            d.unpack_budget, d.memory_budget, (unsigned long long)d.handshake_timeout_ms,
            (unsigned long long)d.idle_timeout_ms, (unsigned long long)d.drain_timeout_ms,
            d.write_high, d.write_max, d.map_size, (unsigned long long)d.stats_log_ms, d.amend_days,
            d.cert_exact * 100, d.cert_kappa, d.cert_min_pairs, d.cert_days, d.cert_attempts,
            d.cert_window_days, (unsigned long long)d.cert_cooldown_s, d.dash_host, d.dash_port,
            d.dash_min_n, d.dash_privacy_min, (unsigned long long)(d.session_ttl_s / 3600),
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

enum {
    OPT_DATA = 256,
    OPT_LISTEN,
    OPT_CERT,
    OPT_KEY,
    OPT_CA,
    OPT_PORT_FILE,
    OPT_MAX_CONN,
    OPT_MAX_FRAME,
    OPT_MAX_IN_FLIGHT,
    OPT_UNPACK_BUDGET,
    OPT_MEMORY_BUDGET,
    OPT_HANDSHAKE_TIMEOUT,
    OPT_IDLE_TIMEOUT,
    OPT_DRAIN_TIMEOUT,
    OPT_WRITE_HIGH,
    OPT_WRITE_MAX,
    OPT_MAP_SIZE,
    OPT_STATS_INTERVAL,
    OPT_AMEND_DAYS,
    OPT_CERT_EXACT,
    OPT_CERT_KAPPA,
    OPT_CERT_MIN_PAIRS,
    OPT_CERT_DAYS,
    OPT_CERT_ATTEMPTS,
    OPT_CERT_WINDOW_DAYS,
    OPT_CERT_COOLDOWN,
    OPT_DASHBOARD,
    OPT_DASH_PORT_FILE,
    OPT_MIN_N,
    OPT_PRIVACY_MIN,
    OPT_SESSION_HOURS,
    OPT_HTTP_TIMEOUT,
    OPT_CURSOR_TTL,
    OPT_MAX_PER_ADDRESS,
    OPT_MAX_PER_USER,
    OPT_FIRST_FRAME_TIMEOUT,
    OPT_HTTP_HEADER_TIMEOUT,
};

int config_parse_args(struct config *c, int argc, char **argv, char *err, size_t errlen)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, OPT_DATA},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"cert", required_argument, NULL, OPT_CERT},
        {"key", required_argument, NULL, OPT_KEY},
        {"ca", required_argument, NULL, OPT_CA},
        {"port-file", required_argument, NULL, OPT_PORT_FILE},
        {"max-connections", required_argument, NULL, OPT_MAX_CONN},
        {"max-frame", required_argument, NULL, OPT_MAX_FRAME},
        {"max-in-flight", required_argument, NULL, OPT_MAX_IN_FLIGHT},
        {"unpack-budget", required_argument, NULL, OPT_UNPACK_BUDGET},
        {"memory-budget", required_argument, NULL, OPT_MEMORY_BUDGET},
        {"handshake-timeout", required_argument, NULL, OPT_HANDSHAKE_TIMEOUT},
        {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
        {"drain-timeout", required_argument, NULL, OPT_DRAIN_TIMEOUT},
        {"write-high", required_argument, NULL, OPT_WRITE_HIGH},
        {"write-max", required_argument, NULL, OPT_WRITE_MAX},
        {"map-size", required_argument, NULL, OPT_MAP_SIZE},
        {"stats-interval", required_argument, NULL, OPT_STATS_INTERVAL},
        {"amend-days", required_argument, NULL, OPT_AMEND_DAYS},
        {"cert-exact", required_argument, NULL, OPT_CERT_EXACT},
        {"cert-kappa", required_argument, NULL, OPT_CERT_KAPPA},
        {"cert-min-pairs", required_argument, NULL, OPT_CERT_MIN_PAIRS},
        {"cert-days", required_argument, NULL, OPT_CERT_DAYS},
        {"cert-attempts", required_argument, NULL, OPT_CERT_ATTEMPTS},
        {"cert-window-days", required_argument, NULL, OPT_CERT_WINDOW_DAYS},
        {"cert-cooldown", required_argument, NULL, OPT_CERT_COOLDOWN},
        {"dashboard", required_argument, NULL, OPT_DASHBOARD},
        {"dashboard-port-file", required_argument, NULL, OPT_DASH_PORT_FILE},
        {"min-n", required_argument, NULL, OPT_MIN_N},
        {"privacy-min", required_argument, NULL, OPT_PRIVACY_MIN},
        {"session-hours", required_argument, NULL, OPT_SESSION_HOURS},
        {"http-timeout", required_argument, NULL, OPT_HTTP_TIMEOUT},
        {"cursor-ttl", required_argument, NULL, OPT_CURSOR_TTL},
        {"max-per-address", required_argument, NULL, OPT_MAX_PER_ADDRESS},
        {"max-per-user", required_argument, NULL, OPT_MAX_PER_USER},
        {"first-frame-timeout", required_argument, NULL, OPT_FIRST_FRAME_TIMEOUT},
        {"http-header-timeout", required_argument, NULL, OPT_HTTP_HEADER_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    int li = -1;

    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":h", opts, &li)) != -1) {
        uint64_t v = 0;
        int rc = 0;
        if (ch == '?' || ch == ':') {
            li = -1;
        }
        switch (ch) {
        case 'h':
            config_usage(stdout, argv[0]);
            return 1;
        case OPT_DATA:
            rc = str_copy(c->data_dir, sizeof(c->data_dir), optarg);
            break;
        case OPT_LISTEN:
            rc = parse_listen(c, optarg);
            break;
        case OPT_CERT:
            rc = str_copy(c->cert_file, sizeof(c->cert_file), optarg);
            break;
        case OPT_KEY:
            rc = str_copy(c->key_file, sizeof(c->key_file), optarg);
            break;
        case OPT_CA:
            rc = str_copy(c->ca_file, sizeof(c->ca_file), optarg);
            break;
        case OPT_PORT_FILE:
            rc = str_copy(c->port_file, sizeof(c->port_file), optarg);
            break;
        case OPT_MAX_CONN:
            rc = parse_u64(optarg, 1, 1000000, &v);
            c->max_connections = (unsigned)v;
            break;
        case OPT_MAX_FRAME:
            rc = parse_u64(optarg, 64, 16u * 1024 * 1024, &v);
            c->max_frame = (size_t)v;
            break;
        case OPT_MAX_IN_FLIGHT:
            rc = parse_u64(optarg, 1, 100000, &v);
            c->max_in_flight = (unsigned)v;
            break;
        case OPT_UNPACK_BUDGET:
            rc = parse_u64(optarg, 1024, (uint64_t)1 << 40, &v);
            c->unpack_budget = (size_t)v;
            break;
        case OPT_MEMORY_BUDGET:
            rc = parse_u64(optarg, 1024, (uint64_t)1 << 40, &v);
            c->memory_budget = (size_t)v;
            break;
        case OPT_HANDSHAKE_TIMEOUT:
            rc = parse_u64(optarg, 1, 3600000, &c->handshake_timeout_ms);
            break;
        case OPT_IDLE_TIMEOUT:
            rc = parse_u64(optarg, 1, 86400000, &c->idle_timeout_ms);
            break;
        case OPT_DRAIN_TIMEOUT:
            rc = parse_u64(optarg, 1, 3600000, &c->drain_timeout_ms);
            break;
        case OPT_WRITE_HIGH:
            rc = parse_u64(optarg, 1024, (uint64_t)1 << 32, &v);
            c->write_high = (size_t)v;
            break;
        case OPT_WRITE_MAX:
            rc = parse_u64(optarg, 4096, (uint64_t)1 << 34, &v);
            c->write_max = (size_t)v;
            break;
        case OPT_MAP_SIZE:
            rc = parse_u64(optarg, 65536, (uint64_t)1 << 40, &v);
            c->map_size = (size_t)v;
            break;
        case OPT_STATS_INTERVAL:
            rc = parse_u64(optarg, 0, 86400000, &c->stats_log_ms);
            break;
        case OPT_AMEND_DAYS:
            rc = parse_u64(optarg, 0, 3650, &v);
            c->amend_days = (unsigned)v;
            break;
        case OPT_CERT_EXACT:
            rc = parse_double(optarg, 0, 100, &c->cert_exact);
            c->cert_exact /= 100;
            break;
        case OPT_CERT_KAPPA:
            rc = parse_double(optarg, -1, 1, &c->cert_kappa);
            break;
        case OPT_CERT_MIN_PAIRS:
            rc = parse_u64(optarg, 1, 100000, &v);
            c->cert_min_pairs = (unsigned)v;
            break;
        case OPT_CERT_DAYS:
            rc = parse_u64(optarg, 1, 3650, &v);
            c->cert_days = (unsigned)v;
            break;
        case OPT_CERT_ATTEMPTS:
            rc = parse_u64(optarg, 0, 1000, &v);
            c->cert_attempts = (unsigned)v;
            break;
        case OPT_CERT_WINDOW_DAYS:
            rc = parse_u64(optarg, 1, 3650, &v);
            c->cert_window_days = (unsigned)v;
            break;
        case OPT_CERT_COOLDOWN:
            rc = parse_u64(optarg, 0, 3650ull * 86400, &c->cert_cooldown_s);
            break;
        case OPT_DASHBOARD:
            rc = parse_dashboard(c, optarg);
            break;
        case OPT_DASH_PORT_FILE:
            rc = str_copy(c->dash_port_file, sizeof(c->dash_port_file), optarg);
            break;
        case OPT_MIN_N:
            rc = parse_u64(optarg, 1, 1000, &v);
            c->dash_min_n = (unsigned)v;
            break;
        case OPT_PRIVACY_MIN:
            rc = parse_u64(optarg, 1, 1000, &v);
            c->dash_privacy_min = (unsigned)v;
            break;
        case OPT_SESSION_HOURS:
            rc = parse_u64(optarg, 1, 720, &v);
            c->session_ttl_s = v * 3600;
            break;
        case OPT_HTTP_TIMEOUT:
            rc = parse_u64(optarg, 1, 3600000, &c->http_request_timeout_ms);
            break;
        case OPT_CURSOR_TTL:
            rc = parse_u64(optarg, 1, 7 * 86400, &c->cursor_ttl_s);
            break;
        case OPT_MAX_PER_ADDRESS:
            rc = parse_u64(optarg, 1, 1000000, &v);
            c->max_per_address = (unsigned)v;
            break;
        case OPT_MAX_PER_USER:
            rc = parse_u64(optarg, 1, 1000000, &v);
            c->max_per_user = (unsigned)v;
            break;
        case OPT_FIRST_FRAME_TIMEOUT:
            rc = parse_u64(optarg, 1, 3600000, &c->first_frame_timeout_ms);
            break;
        case OPT_HTTP_HEADER_TIMEOUT:
            rc = parse_u64(optarg, 1, 3600000, &c->http_header_timeout_ms);
            break;
        case ':':
            snprintf(err, errlen, "option %s needs a value", argv[optind - 1]);
            return ERROR_CONFIG;
        default:
            snprintf(err, errlen, "unknown option %s", argv[optind - 1]);
            return ERROR_CONFIG;
        }
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
    if (c->write_low >= c->write_high) {
        c->write_low = c->write_high / 4;
    }
    if (c->write_max < c->write_high) {
        snprintf(err, errlen, "--write-max must be at least --write-high (%zu)", c->write_high);
        return ERROR_CONFIG;
    }
    if (c->unpack_budget > c->memory_budget) {
        snprintf(err, errlen, "--unpack-budget must not exceed --memory-budget (%zu)",
                 c->memory_budget);
        return ERROR_CONFIG;
    }
    return 0;
}
