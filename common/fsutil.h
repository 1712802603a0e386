/*
 * fsutil: small file-system steps that durability rests on. Functions
 * return 0 or a negative errno and are safe from any thread.
 */
#ifndef COACHQ_FSUTIL_H
#define COACHQ_FSUTIL_H

/* fsyncs the directory dir, so that the names created, renamed or removed
 * in it survive a crash (a file's own fsync does not make its name
 * durable). */
int fsutil_sync_dir(const char *dir);

#endif
