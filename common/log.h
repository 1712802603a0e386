/*
 * log: one key=value line per event, written to standard error.
 *
 * Every line starts with ts=<UTC ISO-8601 with milliseconds> level=<level>
 * event=<event>, followed by the caller's key=value pairs. A line is written
 * with a single write(2) so lines from different threads never interleave.
 * The module has no state: nothing to initialise, safe from any thread.
 */
#ifndef COACHQ_LOG_H
#define COACHQ_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/*
 * Writes one line. event is a short snake_case name ("conn_open"); fmt, if
 * not NULL, formats the rest of the line ("peer=%s user=%s"). Lines longer
 * than 1 KiB are truncated. Values that may contain spaces or come from a
 * peer should go through log_quote() first.
 */
void log_event(enum log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Copies s into out (size outlen, always NUL-terminated) as a double-quoted
 * value with quotes, backslashes and control bytes escaped, truncated to fit.
 * Returns out.
 */
const char *log_quote(const char *s, char *out, size_t outlen);

#endif
