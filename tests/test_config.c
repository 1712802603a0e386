/*
 * Tests of config (coachqd's settings and command line): every kind of
 * option in the table lands in its field, values out of range and
 * malformed lines are refused with the operator's message, and the checks
 * across options run after parsing. The config file (--config FILE,
 * $COACHQD_CONFIG): every key is an option, flags win over it, and every
 * malformed line is refused naming file, line and key.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "error.h"
#include "http.h"
#include "testutil.h"

/* Parses the NULL-terminated words after the program name into c (from
 * the defaults). Returns config_parse_args()'s result; err gets its
 * message. */
static int parse(struct config *c, char *err, size_t errlen, const char *const *words)
{
    char *argv[32];
    int argc = 0;

    argv[argc++] = (char *)"coachqd";
    for (size_t i = 0; words[i] != NULL && argc < 31; i++) {
        argv[argc++] = (char *)words[i];
    }
    argv[argc] = NULL;
    config_defaults(c);
    err[0] = '\0';
    return config_parse_args(c, argc, argv, err, errlen);
}

static void test_every_kind(void **state)
{
    static const char *const words[] = {
        "--data",      "d",
        "--listen",    "[::1]:0",
        "--cert",      "a.crt",
        "--key=b.key", "--max-connections",
        "7",           "--max-frame",
        "100",         "--idle-timeout",
        "9",           "--cert-exact",
        "75",          "--cert-kappa",
        "0.5",         "--session-hours",
        "3",           "--dashboard",
        "off",         "--dashboard-port-file",
        "pf",          NULL,
    };
    struct config c;
    char err[256];

    (void)state;
    assert_int_equal(parse(&c, err, sizeof(err), words), 0);
    assert_string_equal(c.data_dir, "d");
    assert_string_equal(c.listen_host, "::1");
    assert_string_equal(c.listen_port, "0");
    assert_string_equal(c.cert_file, "a.crt");
    assert_string_equal(c.key_file, "b.key");
    assert_int_equal(c.max_connections, 7);
    assert_int_equal(c.max_frame, 100);
    assert_int_equal(c.idle_timeout_ms, 9);
    assert_true(c.cert_exact > 0.749 && c.cert_exact < 0.751);
    assert_true(c.cert_kappa > 0.499 && c.cert_kappa < 0.501);
    assert_int_equal(c.session_ttl_s, 3 * 3600);
    assert_int_equal(c.dash_off, 1);
    assert_string_equal(c.dash_port_file, "pf");
}

static void test_refusals(void **state)
{
    static const struct {
        const char *words[4];
        const char *message;
    } cases[] = {
        {{"--max-frame", "1", NULL}, "invalid value '1' for --max-frame"},
        {{"--cert-exact", "abc", NULL}, "invalid value 'abc' for --cert-exact"},
        {{"--cert-kappa", "2", NULL}, "invalid value '2' for --cert-kappa"},
        {{"--session-hours", "0", NULL}, "invalid value '0' for --session-hours"},
        {{"--dashboard", "bad", NULL}, "invalid value 'bad' for --dashboard"},
        {{"--cert-cooldown", "-1", NULL}, "invalid value '-1' for --cert-cooldown"},
        {{"--data", NULL}, "option --data needs a value"},
        {{"--bogus", NULL}, "unknown option --bogus"},
        {{"-z", NULL}, "unknown option -z"},
        {{"extra", NULL}, "unexpected argument 'extra'"},
        {{"--write-max", "5000", NULL}, "--write-max must be at least --write-high (262144)"},
        {{"--unpack-budget", "99999999999", NULL},
         "--unpack-budget must not exceed --memory-budget (268435456)"},
    };
    struct config c;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(parse(&c, err, sizeof(err), cases[i].words), ERROR_CONFIG);
        assert_string_equal(err, cases[i].message);
    }
}

static void test_water_marks(void **state)
{
    static const char *const words[] = {"--write-high", "2048", NULL};
    struct config c;
    char err[256];

    (void)state;
    /* write_low follows a write_high set below it. */
    assert_int_equal(parse(&c, err, sizeof(err), words), 0);
    assert_int_equal(c.write_high, 2048);
    assert_int_equal(c.write_low, 512);
}

static void test_http_opts(void **state)
{
    struct config c;
    struct http_opts o;

    (void)state;
    config_defaults(&c);
    config_http_opts(&c, &o);
    assert_string_equal(o.host, c.dash_host);
    assert_string_equal(o.port, c.dash_port);
    assert_ptr_equal(o.cert_file, c.cert_file);
    assert_int_equal(o.max_per_address, c.max_per_address);
    assert_int_equal(o.header_timeout_ms, c.http_header_timeout_ms);
    assert_int_equal(o.request_timeout_ms, c.http_request_timeout_ms);
    assert_int_equal(o.write_max, c.write_max);
}

/* --metrics: off by default, HOST:PORT or off, loopback unless
 * --metrics-any-host (a flag without a value). */
static void test_metrics(void **state)
{
    static const char *const loop4[] = {"--metrics", "127.0.0.2:0", "--metrics-port-file", "mp",
                                        NULL};
    static const char *const loop6[] = {"--metrics", "[::1]:9465", NULL};
    static const char *const name[] = {"--metrics", "localhost:9465", NULL};
    static const char *const mapped[] = {"--metrics", "[::ffff:127.0.0.1]:1", NULL};
    static const char *const wide[] = {"--metrics", "0.0.0.0:9465", NULL};
    static const char *const wide6[] = {"--metrics", "[::]:9465", NULL};
    static const char *const host[] = {"--metrics", "metrics.example.com:9465", NULL};
    static const char *const allowed[] = {"--metrics-any-host", "--metrics", "0.0.0.0:9465", NULL};
    static const char *const off[] = {"--metrics", "127.0.0.1:1", "--metrics", "off", NULL};
    static const char *const valued[] = {"--metrics-any-host=yes", NULL};
    struct config c;
    char err[256];

    (void)state;
    assert_int_equal(parse(&c, err, sizeof(err), off), 0);
    assert_int_equal(c.metrics_on, 0);
    assert_int_equal(parse(&c, err, sizeof(err), loop4), 0);
    assert_int_equal(c.metrics_on, 1);
    assert_string_equal(c.metrics_host, "127.0.0.2");
    assert_string_equal(c.metrics_port, "0");
    assert_string_equal(c.metrics_port_file, "mp");
    assert_int_equal(c.metrics_any_host, 0);
    assert_int_equal(parse(&c, err, sizeof(err), loop6), 0);
    assert_string_equal(c.metrics_host, "::1");
    assert_int_equal(parse(&c, err, sizeof(err), name), 0);
    assert_int_equal(parse(&c, err, sizeof(err), mapped), 0);
    assert_int_equal(parse(&c, err, sizeof(err), wide), ERROR_CONFIG);
    assert_non_null(strstr(err, "--metrics-any-host"));
    assert_int_equal(parse(&c, err, sizeof(err), wide6), ERROR_CONFIG);
    assert_int_equal(parse(&c, err, sizeof(err), host), ERROR_CONFIG);
    assert_int_equal(parse(&c, err, sizeof(err), allowed), 0);
    assert_int_equal(c.metrics_any_host, 1);
    assert_string_equal(c.metrics_host, "0.0.0.0");
    /* On the command line the flag takes no value. */
    assert_int_equal(parse(&c, err, sizeof(err), valued), ERROR_CONFIG);
    assert_string_equal(err, "option --metrics-any-host takes no value");
}

static void test_file_sets_every_kind(void **state)
{
    static const char text[] = "\xef\xbb\xbf# a comment after a byte order mark\n"
                               "\n"
                               "   # an indented comment\n"
                               "data = /var/lib/coachq\n"
                               "listen=0.0.0.0:7443\n"
                               "\tdashboard = off\n"
                               "cert = \"/etc/coachq/server cert.pem\"\n"
                               "cert-exact = 75\n"
                               "session-hours = 3\n"
                               "max-frame = 100   \r\n";
    char path[64], err[512];
    struct config c;

    (void)state;
    testutil_temp_file(path, sizeof(path), text);
    config_defaults(&c);
    assert_int_equal(config_read_file(&c, path, err, sizeof(err)), 0);
    assert_string_equal(c.data_dir, "/var/lib/coachq");
    assert_string_equal(c.listen_host, "0.0.0.0");
    assert_string_equal(c.listen_port, "7443");
    assert_int_equal(c.dash_off, 1);
    assert_string_equal(c.cert_file, "/etc/coachq/server cert.pem");
    assert_true(c.cert_exact > 0.749 && c.cert_exact < 0.751);
    assert_int_equal(c.session_ttl_s, 3 * 3600);
    assert_int_equal(c.max_frame, 100);
    unlink(path);
}

static void test_file_refusals(void **state)
{
    static const struct {
        const char *text;
        const char *message; /* after "PATH:" */
    } cases[] = {
        {"data = d\nbogus = 1\n", "2: unknown key 'bogus' (see coachqd --help)"},
        {"max-frame = 1\n", "1: invalid value '1' for key 'max-frame'"},
        {"\n\nlisten = nowhere\n", "3: invalid value 'nowhere' for key 'listen'"},
        {"data = a\n# x\ndata = b\n", "3: key 'data' given twice (first on line 1)"},
        {"data\n", "1: expected \"key = value\""},
        {"--data = d\n", "1: unknown key '--data' (see coachqd --help)"},
        {"config = other.conf\n", "1: unknown key 'config' (see coachqd --help)"},
        {"help = yes\n", "1: unknown key 'help' (see coachqd --help)"},
        {"cert-kappa = 2\n", "1: invalid value '2' for key 'cert-kappa'"},
    };
    char path[64], err[512], want[600];
    struct config c;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        testutil_temp_file(path, sizeof(path), cases[i].text);
        config_defaults(&c);
        assert_int_equal(config_read_file(&c, path, err, sizeof(err)), ERROR_CONFIG);
        snprintf(want, sizeof(want), "%s:%s", path, cases[i].message);
        assert_string_equal(err, want);
        unlink(path);
    }
    config_defaults(&c);
    assert_int_equal(config_read_file(&c, "/nonexistent/coachqd.conf", err, sizeof(err)),
                     ERROR_CONFIG);
    assert_non_null(strstr(err, "cannot read config file /nonexistent/coachqd.conf"));
}

/* A flag wins over the file, whichever comes first on the command line;
 * $COACHQD_CONFIG is read only without --config. */
static void test_file_precedence(void **state)
{
    char path[64], env_path[64], err[512];
    struct config c;

    (void)state;
    testutil_temp_file(path, sizeof(path), "max-connections = 7\nidle-timeout = 9\n");
    testutil_temp_file(env_path, sizeof(env_path), "max-connections = 8\ncursor-ttl = 11\n");
    {
        const char *words[] = {"--max-connections", "5", "--config", path, NULL};

        assert_int_equal(parse(&c, err, sizeof(err), words), 0);
        assert_int_equal(c.max_connections, 5);
        assert_int_equal(c.idle_timeout_ms, 9);
    }
    setenv("COACHQD_CONFIG", env_path, 1);
    {
        const char *words[] = {"--config", path, NULL};

        assert_int_equal(parse(&c, err, sizeof(err), words), 0);
        assert_int_equal(c.max_connections, 7);
        assert_int_equal(c.cursor_ttl_s, 3600);
    }
    {
        const char *words[] = {"--cursor-ttl", "12", NULL};

        assert_int_equal(parse(&c, err, sizeof(err), words), 0);
        assert_int_equal(c.max_connections, 8);
        assert_int_equal(c.cursor_ttl_s, 12);
    }
    setenv("COACHQD_CONFIG", "", 1);
    {
        const char *words[] = {NULL};

        assert_int_equal(parse(&c, err, sizeof(err), words), 0);
        assert_int_equal(c.max_connections, 1000);
    }
    unsetenv("COACHQD_CONFIG");
    {
        /* The checks across options see the file and the flags together. */
        const char *words[] = {"--config", path, "--write-high", "8192", "--write-max",
                               "4096",     NULL};

        assert_int_equal(parse(&c, err, sizeof(err), words), ERROR_CONFIG);
        assert_string_equal(err, "--write-max must be at least --write-high (8192)");
    }
    {
        const char *words[] = {"--config", "/nonexistent.conf", NULL};

        assert_int_equal(parse(&c, err, sizeof(err), words), ERROR_CONFIG);
        assert_non_null(strstr(err, "/nonexistent.conf"));
    }
    unlink(path);
    unlink(env_path);
}

/* The defaults printed as a config file read back as the defaults. */
static void test_file_round_trip(void **state)
{
    char path[64], err[512];
    struct config d, c;
    char *text = NULL, *again = NULL;
    size_t len = 0, againlen = 0;
    FILE *m;

    (void)state;
    config_defaults(&d);
    m = open_memstream(&text, &len);
    assert_non_null(m);
    config_print_file(m, &d, 0);
    fclose(m);
    testutil_temp_file(path, sizeof(path), text);
    config_defaults(&c);
    c.max_connections = 1;
    c.dash_off = 1;
    assert_int_equal(config_read_file(&c, path, err, sizeof(err)), 0);
    assert_int_equal(c.max_connections, d.max_connections);
    assert_int_equal(c.dash_off, 0);
    /* Every setting, compared as its option reads it. */
    m = open_memstream(&again, &againlen);
    assert_non_null(m);
    config_print_file(m, &c, 0);
    fclose(m);
    assert_string_equal(again, text);
    assert_non_null(strstr(text, "dashboard = 127.0.0.1:8443\n"));
    assert_non_null(strstr(text, "cert-exact = 80\n"));
    free(again);
    free(text);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_water_marks),
        cmocka_unit_test(test_http_opts),
        cmocka_unit_test(test_file_sets_every_kind),
        cmocka_unit_test(test_file_refusals),
        cmocka_unit_test(test_file_precedence),
        cmocka_unit_test(test_file_round_trip),
        cmocka_unit_test(test_metrics),
    };

    /* The settings are the tests' alone, whatever config file the person
     * running them names. */
    unsetenv("COACHQD_CONFIG");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
