/*
 * admin: coachqd's administration verbs, run on the server host against
 * the data directory: init, rubric, import, user, cert, audit, demo,
 * verify, retention, erase.
 *
 * They open the same LMDB environment as a running server may have open
 * (LMDB serialises writers across processes), make every change in one
 * write transaction (an import is all or nothing) and record it in the
 * audit log as actor "local:<unix user>".
 */
#ifndef COACHQ_ADMIN_H
#define COACHQ_ADMIN_H

#include <stdio.h>

/* True if verb is one of admin_main()'s verbs. */
int admin_is_verb(const char *verb);

/*
 * Runs `coachqd <verb> ...`: argv[0] is the program name, argv[1] the verb.
 * Returns the process exit code: 0 done, 1 failed (the message says why and
 * names file, line and column for imports), 2 usage error.
 */
int admin_main(int argc, char **argv);

/* What every verb's --help and coachqd(8) say of a verb's exit status. */
extern const char admin_exit_status[];

/* Prints the list of commands for coachqd --help to f, from the command
 * table that each command's own --help is printed from. */
void admin_usage(FILE *f);

/* Prints one man page SYNOPSIS line per command to f (roff; prog is the
 * program's name, "coachqd"). */
void admin_man_synopsis(FILE *f, const char *prog);

/* Prints the COMMANDS section's body of coachqd(8) to f (roff): per
 * command its synopsis, what it does and its options, as its --help. */
void admin_man_commands(FILE *f, const char *prog);

#endif
