/*
 * str: bounded string helpers, in place of strcpy and strncpy.
 *
 * No state and no allocation: safe from any thread; the caller owns every
 * buffer.
 */
#ifndef COACHQ_STR_H
#define COACHQ_STR_H

#include <stddef.h>

/*
 * Copies src (borrowed) into dst (size n > 0), truncating if needed; dst is
 * always NUL-terminated. Returns 0, or -ENAMETOOLONG if src was truncated.
 */
int str_copy(char *dst, size_t n, const char *src);

/*
 * The word that goes with a count: one (borrowed) when n is 1, else many
 * (borrowed), e.g. str_plural(n, "entry stays", "entries stay"). Every
 * message that prints a count with a noun or verb takes its words from
 * here, so none says "1 markers". Returns one of its arguments.
 */
const char *str_plural(size_t n, const char *one, const char *many);

#endif
