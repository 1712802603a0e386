/*
 * kvfile: reads a config file of "key = value" lines, the one form both
 * programs take (coachqd --config, the client's ~/.config/coachq/config).
 *
 * A line is blank, a comment (its first non-blank character is '#'), or
 * "key = value" with blanks around either side allowed; a value may be in
 * double quotes, which are removed. A '#' after a value is part of it (a
 * path may hold one). A byte order mark before the first line is skipped,
 * and CRLF line ends are read as LF. What the keys mean is the caller's:
 * each line goes to its callback.
 *
 * No state; every pointer is borrowed for the call.
 */
#ifndef COACHQ_KVFILE_H
#define COACHQ_KVFILE_H

#include <stddef.h>

/* The longest line read, its end included. */
#define KVFILE_MAX_LINE 2048

/*
 * Called for each "key = value" line of the file with its number (from 1).
 * key and value are valid for the call. Returns 0 to go on, or a negative
 * errno after writing why into msg (size msglen), without the file and
 * line, which kvfile_read() puts in front.
 */
typedef int (*kvfile_line_cb)(void *arg, const char *key, const char *value, unsigned line,
                              char *msg, size_t msglen);

/*
 * Reads path line by line, calling cb(arg, ...) for each setting. Returns
 * 0; or -ENOENT when the file does not exist, another negative errno when
 * it cannot be read ("cannot read config file PATH: reason" in err); or
 * -EINVAL for a line that is not "key = value" or too long, or the
 * callback's code, with "PATH:LINE: why" in err (size errlen).
 */
int kvfile_read(const char *path, kvfile_line_cb cb, void *arg, char *err, size_t errlen);

#endif
