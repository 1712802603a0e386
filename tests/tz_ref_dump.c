/*
 * tz_ref_dump: the product's time zone arithmetic (common/tz.c) for
 * tz_reference.py, which checks it against Python's zoneinfo. Reads lines
 * from stdin: "zone NAME" loads a zone through a struct tz_cache on the
 * system's zoneinfo; any other line is an instant in seconds, answered
 * with "T OFFSET DAY DAYSTART" (the offset east of UTC, the local day of T
 * and the first instant of that day). A zone that cannot be loaded
 * answers "error WHY". Exits 0, or 1 on a malformed line.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tz.h"

int main(void)
{
    struct tz_cache *c = tz_cache_new(NULL);
    const struct tz_zone *z = tz_utc();
    char line[256];
    char why[TZ_WHY_LEN];
    int code = 0;

    if (c == NULL) {
        return 1;
    }
    while (fgets(line, sizeof(line), stdin) != NULL) {
        size_t n = strcspn(line, "\n");
        char *end = NULL;
        long long t;

        line[n] = '\0';
        if (strncmp(line, "zone ", 5) == 0) {
            if (tz_cache_get(c, line + 5, &z, why, sizeof(why)) != 0) {
                printf("error %s\n", why);
                z = tz_utc();
            } else {
                printf("ok %s\n", tz_name(z));
            }
            continue;
        }
        errno = 0;
        t = strtoll(line, &end, 10);
        if (errno != 0 || end == line || *end != '\0') {
            fprintf(stderr, "tz_ref_dump: bad line '%s'\n", line);
            code = 1;
            break;
        }
        {
            int64_t day = tz_day_of(z, t);

            printf("%lld %" PRId32 " %" PRId64 " %" PRId64 "\n", t, tz_offset_at(z, t), day,
                   tz_day_start(z, day));
        }
    }
    fflush(stdout);
    tz_cache_free(c);
    return code;
}
