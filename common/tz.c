/*
 * tz: IANA time zones from TZif files (tz.h). The file format is RFC 8536;
 * the footer's rule is the POSIX TZ string with RFC 8536's extensions
 * (rule times from -167 to 167 hours).
 */
/* realpath() is X/Open. */
#define _XOPEN_SOURCE 700

#include "tz.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "day.h"

/* RFC 8536: a UT offset must lie in [-89999, 93599] seconds. */
#define TZ_OFF_MIN (-89999)
#define TZ_OFF_MAX 93599
/* The longest footer accepted; real ones are under 60 bytes. */
#define TZ_FOOTER_MAX 255

/* A day of the year in a rule: Jn (1..365, no Feb 29), n (0..365), or
 * Mm.w.d (day d of week w of month m; week 5 is the last). */
struct tz_date {
    char kind; /* 'J', 'n' or 'M' */
    int n;
    int m, w, d;
    int32_t time; /* seconds after local midnight, -167 h .. 167 h */
};

/* The footer's rule: standard time, and daylight time between start and
 * end if has_dst. Offsets are seconds east of UTC. */
struct tz_rule {
    int32_t std_off;
    int32_t dst_off;
    int has_dst;
    struct tz_date start, end;
};

struct tz_zone {
    char name[TZ_NAME_MAX + 1];
    size_t ntrans;
    int64_t *trans; /* ascending */
    uint8_t *idx;   /* the type each transition switches to */
    size_t ntypes;
    int32_t *utoff;
    int has_rule;
    struct tz_rule rule;
    int builtin;
};

struct tz_cache {
    pthread_mutex_t mu;
    char root[PATH_MAX];
    struct tz_zone **zones;
    size_t n;
};

static struct tz_zone tz_utc_zone = {.name = "UTC", .builtin = 1};

static void why_set(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || whylen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

const struct tz_zone *tz_utc(void)
{
    return &tz_utc_zone;
}

const char *tz_name(const struct tz_zone *z)
{
    return z->name;
}

int tz_is_utc(const struct tz_zone *z)
{
    if (z->builtin) {
        return 1;
    }
    return z->ntrans == 0 && z->ntypes >= 1 && z->utoff[0] == 0 &&
           (!z->has_rule || (!z->rule.has_dst && z->rule.std_off == 0));
}

/* ---- Names ------------------------------------------------------------ */

static int name_char_ok(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '+';
}

int tz_name_check(const char *name, size_t len, char *why, size_t whylen)
{
    size_t comp = 0;

    if (name == NULL || len == 0) {
        why_set(why, whylen, "the time zone name is empty");
        return -EINVAL;
    }
    if (len > TZ_NAME_MAX) {
        why_set(why, whylen, "the time zone name is longer than %d bytes", TZ_NAME_MAX);
        return -EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        char c = name[i];

        if (c == '/') {
            if (comp == 0) {
                why_set(why, whylen,
                        "'%.*s' is not a time zone name (an empty part, or a leading '/')",
                        (int)len, name);
                return -EINVAL;
            }
            comp = 0;
            continue;
        }
        if (!name_char_ok(c)) {
            /* The name may hold anything here: show only what is printable. */
            why_set(why, whylen,
                    "'%.*s' is not a time zone name (byte %zu: only letters, digits, '_', '-', "
                    "'+' and '/' between parts)",
                    (int)strnlen(name, len), name, i + 1);
            return -EINVAL;
        }
        comp++;
    }
    if (comp == 0) {
        why_set(why, whylen, "'%.*s' is not a time zone name (it ends with '/')", (int)len, name);
        return -EINVAL;
    }
    /* Files in the zoneinfo tree that are not zones of their own: the
     * host's zone (a link to whatever the host is set to), zic's default
     * rules, and clocks that count leap seconds. */
    if ((len == 9 && memcmp(name, "localtime", 9) == 0) ||
        (len == 10 && memcmp(name, "posixrules", 10) == 0) ||
        (len > 6 && memcmp(name, "right/", 6) == 0)) {
        why_set(why, whylen, "'%.*s' is not an IANA time zone", (int)len, name);
        return -EINVAL;
    }
    return 0;
}

/* ---- Calendar ---------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if (a % b != 0 && ((a < 0) != (b < 0))) {
        q--;
    }
    return q;
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(int64_t y, int m)
{
    static const unsigned dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* The local day number of the rule date in year y. */
static int64_t rule_day(const struct tz_date *d, int64_t y)
{
    int64_t jan1 = day_from_civil(y, 1, 1);

    if (d->kind == 'J') {
        /* Feb 29 is never counted: day 60 is always March 1. */
        return jan1 + d->n - 1 + (is_leap(y) && d->n >= 60);
    }
    if (d->kind == 'n') {
        return jan1 + d->n;
    }
    {
        int64_t first = day_from_civil(y, (unsigned)d->m, 1);
        /* 1970-01-01 was a Thursday (4). */
        int64_t wd = first + 4 - 7 * floor_div(first + 4, 7);
        int64_t dom = 1 + (d->d - wd + 7) % 7 + (int64_t)(d->w - 1) * 7;

        while (dom > month_days(y, d->m)) {
            dom -= 7;
        }
        return first + dom - 1;
    }
}

/* The footer rule's offset at t. */
static int32_t rule_offset(const struct tz_rule *r, int64_t t)
{
    int64_t y;
    unsigned m, d;
    int64_t best_t = INT64_MIN;
    int32_t best = r->std_off;

    if (!r->has_dst) {
        return r->std_off;
    }
    day_to_civil(floor_div(t + r->std_off, 86400), &y, &m, &d);
    /* The transitions of the years around t, so that rules whose times
     * cross a year's end are right too; the latest at or before t wins,
     * and a start wins a tie with an end (a zone on daylight time all
     * year ends and starts at the same instant). */
    for (int64_t yy = y - 1; yy <= y + 1; yy++) {
        int64_t s = rule_day(&r->start, yy) * 86400 + r->start.time - r->std_off;
        int64_t e = rule_day(&r->end, yy) * 86400 + r->end.time - r->dst_off;

        if (e <= t && (e > best_t)) {
            best_t = e;
            best = r->std_off;
        }
        if (s <= t && (s >= best_t)) {
            best_t = s;
            best = r->dst_off;
        }
    }
    return best;
}

/* ---- Lookups ----------------------------------------------------------- */

int32_t tz_offset_at(const struct tz_zone *z, int64_t t)
{
    size_t lo, hi;

    if (z->builtin) {
        return 0;
    }
    if (z->ntrans == 0) {
        return z->has_rule ? rule_offset(&z->rule, t) : z->utoff[0];
    }
    if (t < z->trans[0]) {
        return z->utoff[0];
    }
    if (t >= z->trans[z->ntrans - 1] && z->has_rule) {
        return rule_offset(&z->rule, t);
    }
    /* The last transition at or before t. */
    lo = 0;
    hi = z->ntrans;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        if (z->trans[mid] <= t) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return z->utoff[z->idx[lo]];
}

int64_t tz_day_of(const struct tz_zone *z, int64_t t)
{
    return floor_div(t + tz_offset_at(z, t), 86400);
}

int64_t tz_day_start(const struct tz_zone *z, int64_t day)
{
    /* Offsets lie within -89999..93599 s, so the day starts somewhere in
     * this range; the first instant of day or later is found by halving. */
    int64_t lo = day * 86400 - TZ_OFF_MAX - 1;
    int64_t hi = day * 86400 - TZ_OFF_MIN + 1;

    if (z->builtin) {
        return day * 86400;
    }
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;

        if (tz_day_of(z, mid) >= day) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    return hi;
}

/* ---- The footer's POSIX TZ string --------------------------------------- */

/* Reads a decimal number of at most maxdigits digits at *p. */
static int rd_num(const char **p, int maxdigits, int *out)
{
    int v = 0, n = 0;

    while (**p >= '0' && **p <= '9' && n < maxdigits) {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    if (n == 0) {
        return -1;
    }
    *out = v;
    return 0;
}

/* [+-]hh[:mm[:ss]], hours up to maxh; into seconds (signed). */
static int rd_hms(const char **p, int maxh, int32_t *out)
{
    int sign = 1, h, m = 0, s = 0;

    if (**p == '+' || **p == '-') {
        sign = **p == '-' ? -1 : 1;
        (*p)++;
    }
    if (rd_num(p, 3, &h) < 0 || h > maxh) {
        return -1;
    }
    if (**p == ':') {
        (*p)++;
        if (rd_num(p, 2, &m) < 0 || m > 59) {
            return -1;
        }
        if (**p == ':') {
            (*p)++;
            if (rd_num(p, 2, &s) < 0 || s > 59) {
                return -1;
            }
        }
    }
    *out = sign * (h * 3600 + m * 60 + s);
    return 0;
}

/* A zone abbreviation: 3 or more letters, or <...> of letters, digits and
 * signs. */
static int rd_abbr(const char **p)
{
    const char *s = *p;
    size_t n = 0;

    if (*s == '<') {
        s++;
        while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
               *s == '+' || *s == '-') {
            s++;
            n++;
        }
        if (*s != '>' || n < 3) {
            return -1;
        }
        *p = s + 1;
        return 0;
    }
    while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')) {
        s++;
        n++;
    }
    if (n < 3) {
        return -1;
    }
    *p = s;
    return 0;
}

/* A POSIX offset (west positive) into seconds east, checked. */
static int rd_offset(const char **p, int32_t *east)
{
    int32_t v;

    if (rd_hms(p, 24, &v) < 0 || -v < TZ_OFF_MIN || -v > TZ_OFF_MAX) {
        return -1;
    }
    *east = -v;
    return 0;
}

static int rd_date(const char **p, struct tz_date *d)
{
    memset(d, 0, sizeof(*d));
    if (**p == 'J') {
        (*p)++;
        d->kind = 'J';
        if (rd_num(p, 3, &d->n) < 0 || d->n < 1 || d->n > 365) {
            return -1;
        }
    } else if (**p == 'M') {
        (*p)++;
        d->kind = 'M';
        if (rd_num(p, 2, &d->m) < 0 || d->m < 1 || d->m > 12 || *(*p)++ != '.' ||
            rd_num(p, 1, &d->w) < 0 || d->w < 1 || d->w > 5 || *(*p)++ != '.' ||
            rd_num(p, 1, &d->d) < 0 || d->d > 6) {
            return -1;
        }
    } else {
        d->kind = 'n';
        if (rd_num(p, 3, &d->n) < 0 || d->n > 365) {
            return -1;
        }
    }
    d->time = 2 * 3600;
    if (**p == '/') {
        (*p)++;
        if (rd_hms(p, 167, &d->time) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Parses the footer's TZ string s (NUL-terminated) into r. */
static int rule_parse(const char *s, struct tz_rule *r)
{
    const char *p = s;

    memset(r, 0, sizeof(*r));
    if (rd_abbr(&p) < 0 || rd_offset(&p, &r->std_off) < 0) {
        return -1;
    }
    r->dst_off = r->std_off;
    if (*p == '\0') {
        return 0;
    }
    if (rd_abbr(&p) < 0) {
        return -1;
    }
    r->has_dst = 1;
    r->dst_off = r->std_off + 3600;
    if (*p != ',' && *p != '\0' && rd_offset(&p, &r->dst_off) < 0) {
        return -1;
    }
    if (r->dst_off < TZ_OFF_MIN || r->dst_off > TZ_OFF_MAX) {
        return -1;
    }
    if (*p == '\0') {
        /* POSIX leaves the default rule to the system; this is the one
         * glibc and zic assume (the United States' since 2007). */
        const char *us = ",M3.2.0,M11.1.0";

        p = us;
    }
    if (*p++ != ',' || rd_date(&p, &r->start) < 0 || *p++ != ',' || rd_date(&p, &r->end) < 0 ||
        *p != '\0') {
        return -1;
    }
    return 0;
}

/* ---- TZif ---------------------------------------------------------------- */

struct tzif_hdr {
    int version; /* 0 for version 1, else 2, 3, 4, ... */
    uint32_t isut, isstd, leap, time, type, chr;
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64s(const uint8_t *p)
{
    uint64_t v = (uint64_t)be32(p) << 32 | be32(p + 4);

    return (int64_t)v;
}

static int hdr_read(const uint8_t *buf, size_t len, size_t off, struct tzif_hdr *h, char *why,
                    size_t whylen)
{
    const uint8_t *p;

    if (len < 44 || off > len - 44) {
        why_set(why, whylen, "the file is too short for a TZif header");
        return -EBADMSG;
    }
    p = buf + off;
    if (memcmp(p, "TZif", 4) != 0) {
        why_set(why, whylen, "the file is not a TZif file (no \"TZif\" magic)");
        return -EBADMSG;
    }
    if (p[4] != 0 && (p[4] < '2' || p[4] > '9')) {
        why_set(why, whylen, "unknown TZif version byte 0x%02x", p[4]);
        return -EBADMSG;
    }
    h->version = p[4] == 0 ? 1 : p[4] - '0';
    h->isut = be32(p + 20);
    h->isstd = be32(p + 24);
    h->leap = be32(p + 28);
    h->time = be32(p + 32);
    h->type = be32(p + 36);
    h->chr = be32(p + 40);
    if (h->type == 0 || h->type > 256 || (h->isut != 0 && h->isut != h->type) ||
        (h->isstd != 0 && h->isstd != h->type)) {
        why_set(why, whylen, "the TZif header's counts are inconsistent");
        return -EBADMSG;
    }
    return 0;
}

/* Bytes of the data block after a header, with times of tsize bytes. */
static uint64_t block_len(const struct tzif_hdr *h, unsigned tsize)
{
    return (uint64_t)h->time * (tsize + 1) + (uint64_t)h->type * 6 + h->chr +
           (uint64_t)h->leap * (tsize + 4) + h->isstd + h->isut;
}

/* Reads the data block at buf (len bytes known to hold it) into z. */
static int block_read(const uint8_t *buf, const struct tzif_hdr *h, unsigned tsize,
                      struct tz_zone *z, char *why, size_t whylen)
{
    const uint8_t *p = buf;

    for (uint32_t i = 0; i < h->time; i++) {
        z->trans[i] = tsize == 8 ? be64s(p) : (int64_t)(int32_t)be32(p);
        if (i > 0 && z->trans[i] <= z->trans[i - 1]) {
            why_set(why, whylen, "the TZif transitions are not in ascending order");
            return -EBADMSG;
        }
        p += tsize;
    }
    for (uint32_t i = 0; i < h->time; i++) {
        if (p[i] >= h->type) {
            why_set(why, whylen, "a TZif transition names a type that does not exist");
            return -EBADMSG;
        }
        z->idx[i] = p[i];
    }
    p += h->time;
    for (uint32_t i = 0; i < h->type; i++) {
        int32_t off = (int32_t)be32(p);

        if (off < TZ_OFF_MIN || off > TZ_OFF_MAX || p[4] > 1 || (h->chr > 0 && p[5] >= h->chr)) {
            why_set(why, whylen, "a TZif local time type is out of range");
            return -EBADMSG;
        }
        z->utoff[i] = off;
        p += 6;
    }
    /* Abbreviations, leap seconds and the standard/UT indicators are not
     * needed for offsets. */
    z->ntrans = h->time;
    z->ntypes = h->type;
    return 0;
}

static struct tz_zone *zone_alloc(const struct tzif_hdr *h)
{
    size_t n = h->time, t = h->type;
    size_t size = sizeof(struct tz_zone) + n * sizeof(int64_t) + t * sizeof(int32_t) + n;
    struct tz_zone *z = calloc(1, size);
    uint8_t *p;

    if (z == NULL) {
        return NULL;
    }
    p = (uint8_t *)(z + 1);
    z->trans = (int64_t *)(void *)p;
    p += n * sizeof(int64_t);
    z->utoff = (int32_t *)(void *)p;
    p += t * sizeof(int32_t);
    z->idx = p;
    return z;
}

/* The footer "\n<TZ string>\n" at buf (len bytes). */
static int footer_read(const uint8_t *buf, size_t len, struct tz_zone *z, char *why, size_t whylen)
{
    char s[TZ_FOOTER_MAX + 1];
    size_t n = 0;

    if (len < 2 || buf[0] != '\n') {
        why_set(why, whylen, "the TZif footer is missing");
        return -EBADMSG;
    }
    while (1 + n < len && buf[1 + n] != '\n') {
        if (n >= TZ_FOOTER_MAX || buf[1 + n] == '\0') {
            why_set(why, whylen, "the TZif footer is not a TZ string");
            return -EBADMSG;
        }
        s[n] = (char)buf[1 + n];
        n++;
    }
    if (1 + n >= len) {
        why_set(why, whylen, "the TZif footer does not end");
        return -EBADMSG;
    }
    s[n] = '\0';
    if (n == 0) {
        return 0;
    }
    if (rule_parse(s, &z->rule) < 0) {
        why_set(why, whylen, "the TZif footer's rule '%s' cannot be read", s);
        return -EBADMSG;
    }
    z->has_rule = 1;
    return 0;
}

int tz_parse(const uint8_t *buf, size_t len, struct tz_zone **out, char *why, size_t whylen)
{
    struct tzif_hdr h1, h2;
    const struct tzif_hdr *h;
    struct tz_zone *z = NULL;
    uint64_t len1, len2;
    size_t off;
    int rc;

    *out = NULL;
    if (buf == NULL) {
        why_set(why, whylen, "the file is empty");
        return -EBADMSG;
    }
    rc = hdr_read(buf, len, 0, &h1, why, whylen);
    if (rc != 0) {
        return rc;
    }
    len1 = block_len(&h1, 4);
    if (len1 > len - 44) {
        why_set(why, whylen, "the TZif file is shorter than its header says");
        return -EBADMSG;
    }
    h = &h1;
    off = 44;
    if (h1.version >= 2) {
        rc = hdr_read(buf, len, 44 + (size_t)len1, &h2, why, whylen);
        if (rc != 0) {
            return rc;
        }
        off = 44 + (size_t)len1 + 44;
        len2 = block_len(&h2, 8);
        if (h2.version < 2 || len2 > len - off) {
            why_set(why, whylen, "the TZif file's 64-bit part is shorter than its header says");
            return -EBADMSG;
        }
        h = &h2;
    }
    z = zone_alloc(h);
    if (z == NULL) {
        return -ENOMEM;
    }
    rc = block_read(buf + off, h, h->version >= 2 ? 8 : 4, z, why, whylen);
    if (rc == 0 && h->version >= 2) {
        size_t foot = off + (size_t)block_len(h, 8);

        rc = footer_read(buf + foot, len - foot, z, why, whylen);
    }
    if (rc != 0) {
        free(z);
        return rc;
    }
    *out = z;
    return 0;
}

void tz_zone_free(struct tz_zone *z)
{
    if (z != NULL && !z->builtin) {
        free(z);
    }
}

/* ---- The cache --------------------------------------------------------- */

struct tz_cache *tz_cache_new(const char *root)
{
    struct tz_cache *c = calloc(1, sizeof(*c));
    int n;

    if (c == NULL) {
        return NULL;
    }
    n = snprintf(c->root, sizeof(c->root), "%s", root != NULL ? root : TZ_ROOT);
    if (n < 0 || (size_t)n >= sizeof(c->root) || pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

void tz_cache_free(struct tz_cache *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        tz_zone_free(c->zones[i]);
    }
    free(c->zones);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* Reads the whole regular file path (at most TZ_FILE_MAX bytes) into a
 * new buffer (caller frees). path has been resolved; O_NOFOLLOW keeps it
 * so. */
static int read_file(const char *path, const char *name, uint8_t **out, size_t *outlen, char *why,
                     size_t whylen)
{
    struct stat st;
    uint8_t *buf = NULL;
    size_t n = 0;
    int fd;
    int rc;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        rc = -errno;
        why_set(why, whylen, "time zone '%s' cannot be read: %s", name, strerror(-rc));
        return rc == -ELOOP ? -ENOENT : rc;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        why_set(why, whylen, "unknown time zone '%s' (not a zone file)", name);
        rc = -ENOENT;
        goto out;
    }
    if ((uint64_t)st.st_size > TZ_FILE_MAX) {
        why_set(why, whylen, "time zone '%s': the file is larger than %zu bytes", name,
                TZ_FILE_MAX);
        rc = -EFBIG;
        goto out;
    }
    rc = -ENOMEM;
    buf = malloc(TZ_FILE_MAX + 1);
    if (buf == NULL) {
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, buf + n, TZ_FILE_MAX + 1 - n);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            rc = -errno;
            why_set(why, whylen, "time zone '%s' cannot be read: %s", name, strerror(errno));
            goto out;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
        if (n > TZ_FILE_MAX) {
            why_set(why, whylen, "time zone '%s': the file is larger than %zu bytes", name,
                    TZ_FILE_MAX);
            rc = -EFBIG;
            goto out;
        }
    }
    *out = buf;
    *outlen = n;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    close(fd);
    return rc;
}

/* Loads name (checked) from c's root into *out (caller owns). */
static int cache_load(struct tz_cache *c, const char *name, struct tz_zone **out, char *why,
                      size_t whylen)
{
    char path[PATH_MAX];
    char real[PATH_MAX];
    char real_root[PATH_MAX];
    char pwhy[TZ_WHY_LEN];
    uint8_t *buf = NULL;
    size_t len = 0, rl;
    int n;
    int rc;

    n = snprintf(path, sizeof(path), "%s/%s", c->root, name);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        why_set(why, whylen, "unknown time zone '%s'", name);
        return -ENOENT;
    }
    /* Resolve every link before anything is opened, and refuse what lands
     * outside the root. */
    if (realpath(c->root, real_root) == NULL || realpath(path, real) == NULL) {
        why_set(why, whylen, "unknown time zone '%s' (no such zone in %s)", name, c->root);
        return -ENOENT;
    }
    rl = strlen(real_root);
    if (strncmp(real, real_root, rl) != 0 || real[rl] != '/') {
        why_set(why, whylen, "unknown time zone '%s' (it leads outside %s)", name, c->root);
        return -ENOENT;
    }
    rc = read_file(real, name, &buf, &len, why, whylen);
    if (rc != 0) {
        return rc;
    }
    rc = tz_parse(buf, len, out, pwhy, sizeof(pwhy));
    free(buf);
    if (rc == -EBADMSG) {
        why_set(why, whylen, "time zone '%s' is not a zone file: %s", name, pwhy);
        return rc;
    }
    if (rc == 0) {
        snprintf((*out)->name, sizeof((*out)->name), "%s", name);
    }
    return rc;
}

int tz_cache_get(struct tz_cache *c, const char *name, const struct tz_zone **out, char *why,
                 size_t whylen)
{
    struct tz_zone *z = NULL;
    size_t len = name != NULL ? strnlen(name, TZ_NAME_MAX + 1) : 0;
    int rc;

    *out = NULL;
    rc = tz_name_check(name, len, why, whylen);
    if (rc != 0) {
        return rc;
    }
    if (strcmp(name, "UTC") == 0) {
        *out = tz_utc();
        return 0;
    }
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->zones[i]->name, name) == 0) {
            *out = c->zones[i];
            rc = 0;
            goto out;
        }
    }
    if (c->n >= TZ_CACHE_MAX) {
        why_set(why, whylen, "time zone '%s': %d zones are loaded already", name, TZ_CACHE_MAX);
        rc = -ENOSPC;
        goto out;
    }
    if (c->n % 16 == 0) {
        struct tz_zone **nz = realloc(c->zones, (c->n + 16) * sizeof(*nz));

        if (nz == NULL) {
            rc = -ENOMEM;
            goto out;
        }
        c->zones = nz;
    }
    rc = cache_load(c, name, &z, why, whylen);
    if (rc == 0) {
        c->zones[c->n++] = z;
        *out = z;
    }
out:
    pthread_mutex_unlock(&c->mu);
    return rc;
}
