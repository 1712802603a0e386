/*
 * Tests of kvfile (the "key = value" config files of both programs): what
 * a line may look like, that every refusal names file and line, and that
 * the client reads its config file through it with its own keys.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli.h"
#include "kvfile.h"
#include "testutil.h"

/* Collects "key=value@line;" for every setting; refuses the key "bad". */
static int collect(void *arg, const char *key, const char *value, unsigned line, char *msg,
                   size_t msglen)
{
    char *out = arg;
    size_t n = strlen(out);

    if (strcmp(key, "bad") == 0) {
        snprintf(msg, msglen, "no '%s' here", key);
        return -EPERM;
    }
    snprintf(out + n, 512 - n, "%s=%s@%u;", key, value, line);
    return 0;
}

static void test_lines(void **state)
{
    static const char text[] = "\xef\xbb\xbf# comment after a byte order mark\n"
                               "\n"
                               "  \t# indented comment\n"
                               "a = 1\n"
                               "b=2\r\n"
                               "\tc  =  \"x y\"  \n"
                               "d = \"\n"
                               "e =\n"
                               "f = p#q # not a comment\n"
                               "g = = h";
    char path[64], err[256], out[512] = "";

    (void)state;
    testutil_temp_file(path, sizeof(path), text);
    assert_int_equal(kvfile_read(path, collect, out, err, sizeof(err)), 0);
    assert_string_equal(out, "a=1@4;b=2@5;c=x y@6;d=\"@7;e=@8;f=p#q # not a comment@9;g== h@10;");
    unlink(path);
}

static void test_refusals(void **state)
{
    static const struct {
        const char *text;
        int rc;
        const char *message; /* after "PATH:" */
    } cases[] = {
        {"a = 1\nno equals sign\n", -EINVAL, "2: expected \"key = value\""},
        {"a = 1\n\nbad = 2\n", -EPERM, "3: no 'bad' here"},
    };
    char path[64], err[256], want[300], out[512];
    char *longline;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        out[0] = '\0';
        testutil_temp_file(path, sizeof(path), cases[i].text);
        assert_int_equal(kvfile_read(path, collect, out, err, sizeof(err)), cases[i].rc);
        snprintf(want, sizeof(want), "%s:%s", path, cases[i].message);
        assert_string_equal(err, want);
        unlink(path);
    }
    longline = malloc(KVFILE_MAX_LINE + 10);
    assert_non_null(longline);
    memset(longline, 'x', KVFILE_MAX_LINE + 8);
    memcpy(longline, "a = ", 4);
    longline[KVFILE_MAX_LINE + 8] = '\n';
    longline[KVFILE_MAX_LINE + 9] = '\0';
    testutil_temp_file(path, sizeof(path), longline);
    out[0] = '\0';
    assert_int_equal(kvfile_read(path, collect, out, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, ":1: line too long"));
    assert_string_equal(out, "");
    unlink(path);
    free(longline);

    assert_int_equal(kvfile_read("/nonexistent/x.conf", collect, out, err, sizeof(err)), -ENOENT);
    assert_string_equal(err, "cannot read config file /nonexistent/x.conf: No such file or "
                             "directory");
    assert_int_equal(kvfile_read("/", collect, out, err, sizeof(err)), -EISDIR);
    assert_string_equal(err, "cannot read config file /: Is a directory");
}

/* Runs coachq with words; returns its exit code, stderr in err_out (free). */
static int run_cli(const char *const *words, char **err_out)
{
    char *argv[16];
    char *out = NULL;
    size_t outlen = 0, errlen = 0;
    FILE *o = open_memstream(&out, &outlen);
    FILE *e = open_memstream(err_out, &errlen);
    int argc = 0;
    int rc;

    assert_non_null(o);
    assert_non_null(e);
    argv[argc++] = (char *)"coachq";
    for (size_t i = 0; words[i] != NULL && argc < 15; i++) {
        argv[argc++] = (char *)words[i];
    }
    argv[argc] = NULL;
    rc = cli_main(argc, argv, o, e);
    fclose(o);
    fclose(e);
    free(out);
    return rc;
}

/* The client's config file: its four keys, an unknown key refused naming
 * file and line, a flag winning over the file. */
static void test_client_config(void **state)
{
    static const char *const whoami[] = {"whoami", "--timeout", "5", NULL};
    static const char *const flagged[] = {"whoami", "--server", "[::1", NULL};
    char path[64], want[128];
    char *err = NULL;

    (void)state;
    unsetenv("COACHQ_SERVER");
    testutil_temp_file(path, sizeof(path), "# the client\nserver = \"bad host:port:x\"\nca = /x\n");
    setenv("COACHQ_CONFIG", path, 1);
    /* The file's server is used (and refused as not HOST:PORT)... */
    assert_int_equal(run_cli(whoami, &err), CLI_EXIT_USAGE);
    assert_non_null(strstr(err, "server 'bad host:port:x' is not HOST:PORT"));
    free(err);
    /* ...unless a flag names another. */
    assert_int_equal(run_cli(flagged, &err), CLI_EXIT_USAGE);
    assert_non_null(strstr(err, "server '[::1' is not HOST:PORT"));
    free(err);
    unlink(path);

    testutil_temp_file(path, sizeof(path), "server = 127.0.0.1:7443\nsevrer = x\n");
    setenv("COACHQ_CONFIG", path, 1);
    assert_int_equal(run_cli(whoami, &err), CLI_EXIT_USAGE);
    snprintf(want, sizeof(want), "%s:2: unknown key 'sevrer' (known: server, cert, key, ca)", path);
    assert_non_null(strstr(err, want));
    free(err);
    unlink(path);

    /* A config file named in COACHQ_CONFIG must exist. */
    setenv("COACHQ_CONFIG", "/nonexistent/coachq.conf", 1);
    assert_int_equal(run_cli(whoami, &err), CLI_EXIT_USAGE);
    assert_non_null(strstr(err, "cannot read config file /nonexistent/coachq.conf"));
    free(err);
    unsetenv("COACHQ_CONFIG");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_client_config),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
