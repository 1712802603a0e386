/*
 * config: coachqd's settings, their embedded defaults, and the config file
 * and command line that change them. One table of options (config.c) is
 * the source of the command line, the config file's keys, --help, the
 * shipped default config file and the OPTIONS of coachqd(8).
 *
 * The defaults run a development server on loopback with the certificates
 * that `certs/coachq-certs dev` makes in ./dev-certs and data in ./data.
 * Every limit that protects the server from a peer is here, with a default
 * a test exercises.
 */
#ifndef COACHQ_CONFIG_H
#define COACHQ_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct http_opts;

struct config {
    char data_dir[512];
    char listen_host[256];
    char listen_port[16]; /* "0" = any free port */
    char cert_file[512];
    char key_file[512];
    char ca_file[512];
    char crl_file[512];  /* empty = none; PEM CRLs checked on the protocol port */
    char port_file[512]; /* empty = none; gets the bound port */
    unsigned max_connections;
    unsigned max_per_address; /* open connections from one address (IPv6: one /64), each port */
    unsigned max_per_user;    /* authenticated protocol-port connections of one user */
    uint64_t first_frame_timeout_ms; /* protocol port: accept to first whole frame */
    size_t max_frame;                /* bytes of one frame body */
    unsigned max_in_flight;          /* requests per connection before reads pause */
    size_t unpack_budget;            /* bytes protobuf-c may allocate for one frame */
    size_t memory_budget;            /* bytes all frames being decoded may hold */
    uint64_t handshake_timeout_ms;
    uint64_t idle_timeout_ms;
    uint64_t drain_timeout_ms; /* on SIGTERM, longest wait for in-flight work */
    size_t write_high;
    size_t write_low;
    size_t write_max;
    size_t map_size;
    unsigned max_batch;
    /* submissions per write transaction (store_opts) */ /* initial LMDB map size */
    uint64_t reader_check_ms;                            /* period of mdb_reader_check() */
    uint64_t stats_log_ms; /* period of the store_stats log line; 0 = off */
    /* The deployment's rules (store_policy). */
    unsigned amend_days;       /* observers amend within this many days */
    double cert_exact;         /* calibration thresholds: exact agreement 0..1 */
    double cert_kappa;         /* and weighted kappa */
    unsigned cert_min_pairs;   /* rating pairs needed at least */
    unsigned cert_days;        /* a certification holds this many days */
    unsigned cert_attempts;    /* calibration attempts at one reference per window */
    unsigned cert_window_days; /* the window they count in */
    uint64_t cert_cooldown_s;  /* least time between two attempts at one reference */
    /* The dashboard port (HTTPS for browsers) and the dashboards' rules. */
    int dash_off;                     /* --dashboard off: no dashboard port */
    char dash_host[256];              /* [127.0.0.1] */
    char dash_port[16];               /* [8443]; "0" = any free port */
    char dash_port_file[512];         /* empty = none; gets the bound dashboard port */
    unsigned dash_min_n;              /* figures with a smaller n: insufficient data [3] */
    unsigned dash_privacy_min;        /* groups of fewer people not broken down [5] */
    uint64_t session_ttl_s;           /* browser sessions last this long [8 h] */
    uint64_t http_request_timeout_ms; /* a request must arrive whole within [10 s] */
    uint64_t cursor_ttl_s;            /* list cursors are valid this long [1 h] */
    uint64_t http_header_timeout_ms;  /* and its headers within [5 s] */
    /* The metrics port (plain HTTP, GET /metrics; server/metrics_http.h). */
    int metrics_on;              /* --metrics HOST:PORT given [off] */
    char metrics_host[256];      /* a loopback address unless metrics_any_host */
    char metrics_port[16];       /* "0" = any free port */
    char metrics_port_file[512]; /* empty = none; gets the bound metrics port */
    int metrics_any_host;        /* --metrics-any-host: a non-loopback host is allowed */
};

/* Fills c with the embedded defaults. */
void config_defaults(struct config *c);

/* What config_parse_args() returns besides 0 (run the server). */
#define CONFIG_HELP 1 /* --help was printed; the caller adds the verbs */
#define CONFIG_MAN 2  /* --help-man: the caller prints coachqd(8) (config_man) */
#define CONFIG_DONE 3 /* printed what was asked (--check-config, --help-config) */

/*
 * Applies the config file and then the command-line options (argv[0] is
 * the verb or program name, as getopt_long expects), so that a flag wins
 * over the file. The file is --config FILE, else $COACHQD_CONFIG when set
 * and not empty, else none. Returns 0, one of the CONFIG_* values above,
 * or ERROR_CONFIG with a message for the user in err (size errlen); a
 * message about the file names the file, the line and the key.
 */
int config_parse_args(struct config *c, int argc, char **argv, char *err, size_t errlen);

/*
 * Applies the "key = value" lines of the config file path to c: blank
 * lines and lines starting with '#' are skipped, a value may be in double
 * quotes, every key is a long option's name. Returns 0, or ERROR_CONFIG
 * with "FILE:LINE: ..." in err for an unknown key, a bad value, a key
 * given twice or a line that is not "key = value" (c may then be changed
 * in part).
 */
int config_read_file(struct config *c, const char *path, char *err, size_t errlen);

/*
 * Fills o with what the dashboard port (web/http.h) takes from c: its host,
 * port and port file, the certificate, the connection limits and timeouts.
 * o's strings are borrowed from c, valid while c is.
 */
void config_http_opts(const struct config *c, struct http_opts *o);

/* Prints --help: the options and their defaults, to f (a FILE *). */
void config_usage(void *f, const char *prog);

/*
 * Prints c's settings to f (a FILE *) as config file lines, one per
 * option, in the table's order. commented: a config file to ship
 * (--help-config): a header naming the command that makes it, each
 * option's help, and each setting that is the default commented out;
 * else the effective settings of --check-config.
 */
void config_print_file(void *f, const struct config *c, int commented);

/* Prints the man page coachqd(8) in roff to f (a FILE *): the options and
 * the administration verbs from their tables. version goes in its footer. */
void config_man(void *f, const char *version);

#endif
