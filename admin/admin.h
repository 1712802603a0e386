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

/* True if verb is one of admin_main()'s verbs. */
int admin_is_verb(const char *verb);

/*
 * Runs `coachqd <verb> ...`: argv[0] is the program name, argv[1] the verb.
 * Returns the process exit code: 0 done, 1 failed (the message says why and
 * names file, line and column for imports), 2 usage error.
 */
int admin_main(int argc, char **argv);

#endif
