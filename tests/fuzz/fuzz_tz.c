/*
 * fuzz_tz: the TZif reader (common/tz.c, tz_parse()), which reads files
 * from /usr/share/zoneinfo that a broken package or a hostile operator
 * could have replaced. A file is either refused with a message or gives a
 * zone whose every lookup answers within the offsets RFC 8536 allows and
 * whose days start where they say, whatever the bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t probes[] = {
        INT64_MIN / 2, -2208988800,   -1, 0, 1, 1700000000, 2147483647, 2147483648, 4102444800,
        253402300799,  INT64_MAX / 2,
    };
    struct tz_zone *z = NULL;
    char why[TZ_WHY_LEN];
    int rc;

    why[0] = '\0';
    rc = tz_parse(data, size, &z, why, sizeof(why));
    if (rc != 0) {
        if (z != NULL || why[0] == '\0') {
            abort();
        }
        return 0;
    }
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        int64_t t = probes[i];
        int32_t off = tz_offset_at(z, t);
        int64_t day = tz_day_of(z, t);

        if (off < -89999 || off > 93599) {
            abort();
        }
        if (tz_day_of(z, tz_day_start(z, day)) < day) {
            abort();
        }
    }
    tz_zone_free(z);
    return 0;
}
