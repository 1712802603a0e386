/*
 * tz: IANA time zones read from the system's TZif files
 * (/usr/share/zoneinfo, RFC 8536), without localtime(), the TZ environment
 * or any process-wide state, so that a multi-threaded server can use many
 * zones at once.
 *
 * A zone is parsed from a whole TZif file: version 1 (32-bit times) or
 * version 2 and later (64-bit times, used when present), plus the POSIX TZ
 * rule of the footer for instants after the last transition (files built
 * "slim" stop their transitions early and leave the rest to that rule).
 * Leap-second records are skipped: the product's clock is POSIX time.
 *
 * Zones are immutable once parsed. A struct tz_cache loads each zone by
 * name once and keeps it until the cache is freed; it is safe from any
 * thread (one mutex around the list). Names are checked before any file is
 * opened: 1..TZ_NAME_MAX bytes of letters, digits, '_', '-', '+' and '/'
 * between non-empty components, so no ".." and no absolute path (nor
 * "localtime", "posixrules" or "right/..."); the file
 * that name resolves to must also lie under the cache's root after every
 * symbolic link is followed, be a regular file and hold at most
 * TZ_FILE_MAX bytes. Nothing outside the root is ever opened.
 *
 * "UTC" is built in (tz_utc()) and needs no file.
 */
#ifndef COACHQ_TZ_H
#define COACHQ_TZ_H

#include <stddef.h>
#include <stdint.h>

#define TZ_ROOT "/usr/share/zoneinfo"
/* The longest zone name accepted; IANA's longest is 32 bytes. */
#define TZ_NAME_MAX 64
/* The largest TZif file read; the largest "fat" file is about 4 KiB. */
#define TZ_FILE_MAX ((size_t)256 << 10)
/* Zones one cache keeps at most (tzdata has about 600). */
#define TZ_CACHE_MAX 1024
/* Bytes enough for any message the functions below write into why. */
#define TZ_WHY_LEN 256

struct tz_zone;
struct tz_cache;

/* The built-in UTC zone (static; never freed). */
const struct tz_zone *tz_utc(void);

/* The zone's name (borrowed from z), "UTC" for tz_utc(), "" for a zone
 * parsed from bytes by tz_parse(). */
const char *tz_name(const struct tz_zone *z);

/* True if z is UTC at every instant (tz_utc(), or a file with one type of
 * offset 0 and no rule otherwise). */
int tz_is_utc(const struct tz_zone *z);

/*
 * Checks that name (len bytes, not necessarily NUL-terminated) has the
 * shape of a zone name (above). Returns 0 or -EINVAL; on -EINVAL, why
 * (whylen bytes, may be NULL) says what is wrong.
 */
int tz_name_check(const char *name, size_t len, char *why, size_t whylen);

/*
 * Parses a whole TZif file of len bytes (borrowed for the call) into *out
 * (caller owns, free with tz_zone_free()). Returns 0, -EBADMSG (not a
 * TZif file, or one whose contents are inconsistent: why says what) or
 * -ENOMEM. Never reads outside buf, whatever its bytes.
 */
int tz_parse(const uint8_t *buf, size_t len, struct tz_zone **out, char *why, size_t whylen);

/* Frees a zone from tz_parse(); NULL and tz_utc() are no-ops. */
void tz_zone_free(struct tz_zone *z);

/* The offset from UTC (seconds east) in z at t (seconds since the epoch). */
int32_t tz_offset_at(const struct tz_zone *z, int64_t t);

/* The local day (days since 1970-01-01) in z of instant t. */
int64_t tz_day_of(const struct tz_zone *z, int64_t t);

/* The first instant (seconds since the epoch) whose local day in z is day
 * or later: local midnight, or the first instant after it where a
 * transition skips midnight. */
int64_t tz_day_start(const struct tz_zone *z, int64_t day);

/* A cache of zones loaded from the TZif files under root (copied; NULL
 * means TZ_ROOT). Caller owns, free with tz_cache_free(). Returns NULL on
 * out of memory. */
struct tz_cache *tz_cache_new(const char *root);

/* Frees the cache and every zone it loaded; NULL-safe. */
void tz_cache_free(struct tz_cache *c);

/*
 * Finds zone name (NUL-terminated) in the cache, loading it the first
 * time. *out is borrowed until tz_cache_free(). Thread-safe. Returns 0,
 * -EINVAL (not a zone name), -ENOENT (no such zone under the root, or it
 * resolves outside it), -EBADMSG (the file is not a TZif file), -EFBIG,
 * -ENOSPC (TZ_CACHE_MAX zones loaded), -ENOMEM or another negative errno
 * from reading; on failure why (may be NULL) says what, naming the zone.
 */
int tz_cache_get(struct tz_cache *c, const char *name, const struct tz_zone **out, char *why,
                 size_t whylen);

#endif
