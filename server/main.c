/* coachqd: the coachq server. See server/server.h and `coachqd --help`. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "config.h"
#include "log.h"
#include "server.h"

/* The version in the man page's footer: the project's, from CMake. */
#ifndef COACHQ_VERSION
#define COACHQ_VERSION "unknown"
#endif

int main(int argc, char **argv)
{
    struct config cfg;
    struct server *srv = NULL;
    struct sigaction sa;
    uv_loop_t loop;
    char err[512];
    int rc;

    config_defaults(&cfg);
    /* "serve" is the default verb; the others are administration verbs. */
    if (argc > 1 && admin_is_verb(argv[1])) {
        return admin_main(argc, argv);
    }
    if (argc > 1 && strcmp(argv[1], "serve") == 0) {
        argv[1] = argv[0];
        argc--;
        argv++;
    } else if (argc > 1 && argv[1][0] != '-') {
        fprintf(stderr, "%s: unknown command '%s'\nTry '%s --help'.\n", argv[0], argv[1], argv[0]);
        return 2;
    }
    rc = config_parse_args(&cfg, argc, argv, err, sizeof(err));
    if (rc == CONFIG_HELP) {
        admin_usage(stdout);
        return 0;
    }
    if (rc == CONFIG_MAN) {
        config_man(stdout, COACHQ_VERSION);
        return 0;
    }
    if (rc == CONFIG_DONE) {
        return 0;
    }
    if (rc < 0) {
        fprintf(stderr, "%s: %s\nTry '%s --help'.\n", argv[0], err, argv[0]);
        return 2;
    }

    /* libuv's thread pool runs the reads of both ports and the dashboards'
     * password checks; its default of 4 threads is small for that. The
     * operator's own UV_THREADPOOL_SIZE wins. */
    setenv("UV_THREADPOOL_SIZE", "8", 0);

    /* A peer that vanishes mid-write must not kill the server. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    rc = uv_loop_init(&loop);
    if (rc < 0) {
        fprintf(stderr, "%s: uv_loop_init: %s\n", argv[0], uv_strerror(rc));
        return 1;
    }
    rc = server_new(&loop, &cfg, &srv, err, sizeof(err));
    if (rc < 0) {
        log_event(LOG_ERROR, "startup_failed", "reason=\"%s\"", err);
        fprintf(stderr, "%s: %s\n", argv[0], err);
        uv_loop_close(&loop);
        return 1;
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    rc = server_exit_code(srv);
    server_free(srv);
    if (uv_loop_close(&loop) != 0) {
        log_event(LOG_WARN, "loop_close_busy", NULL);
    }
    return rc;
}
