/*
 * cli: the coachq command line (observe, amend, mine, queue, submit, get,
 * history, list, rubrics, cert status, reference add, dashboard, outcomes
 * import, stats, whoami).
 *
 * main() only calls cli_main(), so tests can run every command in-process
 * and read what it printed. Connection settings come from flags, then the
 * environment (COACHQ_SERVER, COACHQ_CERT, COACHQ_KEY, COACHQ_CA), then a
 * config file ($COACHQ_CONFIG, else $XDG_CONFIG_HOME/coachq/config, else
 * ~/.config/coachq/config) of "key = value" lines, then the defaults that
 * match the development certificates (dev-certs/ in the current directory).
 * The local store (localstore.h: the outbox, the saved session, cached
 * rubrics) is --data-dir, else $COACHQ_DATA_DIR, else its default place;
 * the commands that use it open and close it themselves, so a caller must
 * not hold the same store open meanwhile (LMDB allows one opening per
 * process).
 */
#ifndef COACHQ_CLI_H
#define COACHQ_CLI_H

#include <stdio.h>

/* Exit codes of cli_main(). */
#define CLI_EXIT_OK 0      /* everything succeeded */
#define CLI_EXIT_FAILED 1  /* a record or request failed, or input had errors */
#define CLI_EXIT_USAGE 2   /* bad command line or configuration */
#define CLI_EXIT_CONNECT 3 /* could not connect, TLS failure, or the connection broke */

/*
 * Runs one coachq command line. argv is borrowed for the call (argv[0] is
 * the program name). Normal output goes to out, messages and progress to
 * err (both borrowed; typically stdout and stderr). Returns an exit code
 * above. Uses getopt_long, so it is not thread-safe; it may be called
 * repeatedly in one process. Ignores SIGPIPE for the process.
 */
int cli_main(int argc, char **argv, FILE *out, FILE *err);

#endif
