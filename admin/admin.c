/*
 * admin: coachqd's administration verbs (admin.h; the operator's guide is
 * docs/admin.md): the entry points, and the helpers every group of verbs
 * shares (admin_int.h): messages, dates and numbers, files and the store,
 * certificate files and roles.
 *
 * Every command is a row of one table (admin_args.c): its words, positional
 * arguments and options. One parser reads every command line from that
 * table, so the verbs share --data, --help, "--opt value" / "--opt=value"
 * and their usage errors. A command opens the store, makes all of its
 * changes in one store_exec() callback together with their audit entries
 * (a failed command changes nothing), and prints what it did only after
 * the commit. The store may run a callback more than once (it retries a
 * batch after growing the map), so every callback resets its counters and
 * messages first.
 *
 * The verbs are one file per group: admin_args.c (the command table and
 * its parser), admin_rubrics.c (init, rubric), admin_import.c (import),
 * admin_users.c (user), admin_certs.c (cert), admin_verify.c (audit,
 * demo, verify) and admin_erase.c (retention, erase).
 */
#include "admin_int.h"
#include "admin.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "agg.h"
#include "certissue.h"
#include "day.h"
#include "error.h"
#include "store.h"
#include "table.h"
#include "str.h"
#include "zone.h"

/* ---- Messages ------------------------------------------------------- */

/* Prints "coachqd <command>: message" to stderr. */
void admin_errorf(const struct admin *a, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s %s: ", a->prog, a->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Prints a usage error with a pointer to the help; returns exit code 2. */
int admin_usage_error(const struct admin *a, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s %s: ", a->prog, a->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s %s --help'.\n", a->prog, a->name);
    return 2;
}

/* Records why a transaction callback failed (printed after store_exec()
 * returned) and returns rc, so that a callback can `return admin_txn_fail(...)`. */
int admin_txn_fail(struct admin *a, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(a->err, sizeof(a->err), fmt, ap);
    va_end(ap);
    return rc;
}

/* Reports a failed store_exec()/store_view(): the callback's message, or
 * the code's description. Returns exit code 1. */
int admin_store_failure(const struct admin *a, int rc)
{
    if (a->err[0] != '\0') {
        admin_errorf(a, "%s", a->err);
    } else {
        admin_errorf(a, "%s", error_strerror(rc));
    }
    return 1;
}

/* ---- Dates and numbers ----------------------------------------------- */

/*
 * The calendar is common/day.h's; these wrappers only keep admin's own
 * contract: day numbers as int32_t, the strings returned for use inside a
 * printf(), and --since's two exact forms (no offset, no fraction).
 */

/* Parses a whole YYYY-MM-DD date, 1970-01-01 to 9999-12-31, into a day
 * number. */
int admin_parse_date(const char *s, int32_t *day)
{
    uint32_t d;

    if (day_parse(s, &d) < 0) {
        return -EINVAL;
    }
    *day = (int32_t)d;
    return 0;
}

/* Parses YYYY-MM-DD (midnight UTC) or YYYY-MM-DDTHH:MM:SSZ into ms. */
int admin_parse_time_ms(const char *s, int64_t *ms)
{
    size_t len = strlen(s);
    int32_t day;
    int64_t t;

    if (len == 10) {
        if (admin_parse_date(s, &day) < 0) {
            return -EINVAL;
        }
        *ms = (int64_t)day * 86400000;
        return 0;
    }
    /* day_parse_time() also takes "t", "z", a fraction and an offset;
     * --since takes only the one UTC form its help names. */
    if (len != 20 || s[10] != 'T' || s[19] != 'Z' || day_parse_time(s, &t) < 0 || t < 0) {
        return -EINVAL;
    }
    *ms = t * 1000;
    return 0;
}

/* Formats a day number as YYYY-MM-DD into buf (at least 16 bytes). */
const char *admin_fmt_day(int32_t day, char *buf, size_t len)
{
    day_format(day, buf, len);
    return buf;
}

/* Formats ms since the epoch as YYYY-MM-DDTHH:MM:SS.mmmZ (buf >= 32 bytes). */
const char *admin_fmt_ms(int64_t ms, char *buf, size_t len)
{
    day_format_time_ms(ms, buf, len);
    return buf;
}

/* Parses a whole decimal number in [min, max]. */
int admin_parse_long(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    long v;

    if (s == NULL || s[0] == '\0') {
        return -EINVAL;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        return -EINVAL;
    }
    *out = v;
    return 0;
}

/* Parses a whole unsigned 64-bit decimal number. */
int admin_parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;

    if (s == NULL || s[0] < '0' || s[0] > '9') {
        return -EINVAL;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return -EINVAL;
    }
    *out = v;
    return 0;
}

/* ---- Files and the store ---------------------------------------------- */

/* mkdir -p: makes path and its missing parents with mode. */
int admin_mkdir_p(const char *path, mode_t mode)
{
    char buf[1024];
    struct stat st;
    char *p;

    if (str_copy(buf, sizeof(buf), path) < 0) {
        return -ENAMETOOLONG;
    }
    for (p = buf + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, mode) < 0 && errno != EEXIST) {
                return -errno;
            }
            *p = '/';
        }
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST) {
        return -errno;
    }
    if (stat(buf, &st) < 0) {
        return -errno;
    }
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Reads a whole file of at most max bytes. *out (caller owns, free()) is
 * NUL-terminated; *len excludes the NUL. */
int admin_read_file(const char *path, size_t max, char **out, size_t *len)
{
    char *data = NULL;
    struct stat st;
    size_t got = 0;
    int fd = -1;
    int rc;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto out;
    }
    rc = -EFBIG;
    if (st.st_size < 0 || (uint64_t)st.st_size > max) {
        goto out;
    }
    rc = -ENOMEM;
    data = malloc((size_t)st.st_size + 1);
    if (data == NULL) {
        goto out;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            goto out;
        }
        got += (size_t)n;
    }
    data[got] = '\0';
    *out = data;
    *len = got;
    data = NULL;
    rc = 0;
out:
    if (fd >= 0) {
        close(fd);
    }
    free(data);
    return rc;
}

/* Opens the store in a->data_dir, creating the directory first if create.
 * Prints why it failed. */
/* Sets a->today to the organisation's local date. Any thread. */
static int admin_today_txn(struct store_txn *t, void *arg)
{
    struct admin *a = arg;

    return zone_day_of(t, NULL, a->now_ms / 1000, &a->today);
}

int admin_open_store(struct admin *a, int create)
{
    struct store_policy policy;
    struct store_opts so;
    int rc;

    if (a->store != NULL) {
        return 0; /* already open for this verb */
    }
    if (create) {
        rc = admin_mkdir_p(a->data_dir, 0700);
        if (rc < 0) {
            admin_errorf(a, "cannot create the data directory '%s': %s", a->data_dir,
                         error_strerror(rc));
            return rc;
        }
    }
    if (!create) {
        /* Only init and demo make a store: elsewhere a mistyped --data
         * must not leave an empty one behind. */
        char path[1100];
        struct stat st;

        snprintf(path, sizeof(path), "%s/data.mdb", a->data_dir);
        if (stat(a->data_dir, &st) < 0) {
            admin_errorf(
                a, "the data directory '%s' does not exist (make it with '%s init --data %s')",
                a->data_dir, a->prog, a->data_dir);
            return -ENOENT;
        }
        if (stat(path, &st) < 0) {
            admin_errorf(a, "'%s' holds no coachq store (make one with '%s init --data %s')",
                         a->data_dir, a->prog, a->data_dir);
            return -ENOENT;
        }
    }
    store_policy_default(&policy);
    memset(&so, 0, sizeof(so));
    so.policy = &policy;
    rc = store_open(a->data_dir, &so, &a->store);
    if (rc == -ENOENT) {
        admin_errorf(a, "the data directory '%s' does not exist (make it with '%s init --data %s')",
                     a->data_dir, a->prog, a->data_dir);
    } else if (rc < 0) {
        admin_errorf(a, "cannot open the store in '%s': %s", a->data_dir, error_strerror(rc));
    }
    if (rc == 0) {
        /* Today is the organisation's local date (store/zone.h). */
        (void)store_view(a->store, admin_today_txn, a);
    }
    return rc;
}

void admin_hex_fingerprint(const uint8_t *p, size_t n, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i, o = 0;

    for (i = 0; i < n && o + 3 < outlen; i++) {
        if (i > 0) {
            out[o++] = ':';
        }
        out[o++] = hex[p[i] >> 4];
        out[o++] = hex[p[i] & 15];
    }
    out[o] = '\0';
}

/* Reads the subject CN of the first certificate in a PEM file. */
static int cert_file_cn(const char *path, char *cn, size_t cnlen)
{
    BIO *bio = NULL;
    X509 *x = NULL;
    int rc = -EINVAL;
    int n;

    cn[0] = '\0';
    bio = BIO_new_file(path, "r");
    if (bio == NULL) {
        goto out;
    }
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (x == NULL) {
        goto out;
    }
    n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, (int)cnlen);
    if (n < 0) {
        cn[0] = '\0';
        goto out;
    }
    rc = 0;
out:
    X509_free(x);
    BIO_free(bio);
    return rc;
}

/* Reads the SHA-256 of a certificate to pin to user. Warns when its CN
 * does not name the user: the server looks users up by CN, so such a pin
 * never lets anybody in, and once a user has pins, certificates without
 * one are refused (an administrator may want exactly that, to lock a user
 * out of an old certificate). Prints why it failed. */
int admin_pin_from_file(const struct admin *a, const char *user, const char *path, uint8_t sha[32])
{
    char err[512], cn[256];
    int rc;

    rc = certissue_fingerprint_file(path, sha, err, sizeof(err));
    if (rc < 0) {
        admin_errorf(a, "%s: %s", path, err[0] ? err : error_strerror(rc));
        return rc;
    }
    if (cert_file_cn(path, cn, sizeof(cn)) < 0 || strcmp(cn, user) != 0) {
        admin_errorf(a,
                     "warning: %s: the certificate's subject CN is '%s', not '%s'; the server "
                     "identifies users by CN, so this pin will never match a login of '%s'",
                     path, cn, user, user);
    }
    return 0;
}

/* True if s is at most max bytes without control characters. */
int admin_plain_text(const char *s, size_t max)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || i >= max) {
            return 0;
        }
    }
    return 1;
}

/* A plausible e-mail address: one '@' with text on both sides, no blanks. */
int admin_email_like(const char *s)
{
    const char *at = strchr(s, '@');

    return at != NULL && at != s && at[1] != '\0' && strchr(at + 1, '@') == NULL &&
           strchr(s, ' ') == NULL;
}

/* ---- Roles -------------------------------------------------------------- */

static const struct {
    const char *name;
    Coachq__V1__Role role;
} role_names[ADMIN_NROLES] = {
    {"observer", COACHQ__V1__ROLE__ROLE_OBSERVER},
    {"front_line_manager", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER},
    {"second_level_manager", COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER},
    {"enablement_lead", COACHQ__V1__ROLE__ROLE_ENABLEMENT_LEAD},
    {"administrator", COACHQ__V1__ROLE__ROLE_ADMINISTRATOR},
};

static const char *role_name(Coachq__V1__Role r)
{
    size_t i;

    for (i = 0; i < ADMIN_NROLES; i++) {
        if (role_names[i].role == r) {
            return role_names[i].name;
        }
    }
    return "unknown";
}

/*
 * Parses roles separated by ',' or ';' ("rep" or nothing: no roles) into
 * out (ADMIN_NROLES entries), sorted and without repeats. On -EINVAL msg
 * (msglen bytes) says what is wrong.
 */
int admin_parse_roles(const char *s, Coachq__V1__Role *out, size_t *n, char *msg, size_t msglen)
{
    unsigned mask = 0;
    int rep = 0;
    size_t i = 0;

    *n = 0;
    while (s[i] != '\0') {
        size_t start, end, len, k;
        int found = 0;

        while (s[i] == ' ' || s[i] == ',' || s[i] == ';') {
            i++;
        }
        start = i;
        while (s[i] != '\0' && s[i] != ',' && s[i] != ';') {
            i++;
        }
        end = i;
        while (end > start && s[end - 1] == ' ') {
            end--;
        }
        len = end - start;
        if (len == 0) {
            continue;
        }
        if (len == 3 && strncmp(s + start, "rep", 3) == 0) {
            rep = 1;
            found = 1;
        }
        for (k = 0; !found && k < ADMIN_NROLES; k++) {
            if (strlen(role_names[k].name) == len &&
                strncmp(role_names[k].name, s + start, len) == 0) {
                mask |= 1u << role_names[k].role;
                found = 1;
            }
        }
        if (!found) {
            snprintf(msg, msglen,
                     "role '%.*s' is not one of observer, front_line_manager, "
                     "second_level_manager, enablement_lead, administrator, or rep",
                     (int)(len > 64 ? 64 : len), s + start);
            return -EINVAL;
        }
        if (rep && mask != 0) {
            snprintf(msg, msglen, "role 'rep' means no roles; it cannot be combined with others");
            return -EINVAL;
        }
    }
    for (i = 0; i < ADMIN_NROLES; i++) {
        if (mask & (1u << role_names[i].role)) {
            out[(*n)++] = role_names[i].role;
        }
    }
    return 0;
}

const char *admin_fmt_roles(const Coachq__V1__Role *roles, size_t n, char *buf, size_t len)
{
    size_t i, o = 0;

    buf[0] = '\0';
    if (n == 0) {
        snprintf(buf, len, "rep (no roles)");
        return buf;
    }
    for (i = 0; i < n && o < len; i++) {
        int w = snprintf(buf + o, len - o, "%s%s", i ? ", " : "", role_name(roles[i]));

        if (w < 0) {
            break;
        }
        o += (size_t)w;
    }
    return buf;
}

int admin_same_roles(const Coachq__V1__Person *a, const Coachq__V1__Role *roles, size_t n)
{
    unsigned ma = 0, mb = 0;
    size_t i;

    for (i = 0; i < a->n_roles; i++) {
        ma |= 1u << ((unsigned)a->roles[i] & 31);
    }
    for (i = 0; i < n; i++) {
        mb |= 1u << ((unsigned)roles[i] & 31);
    }
    return ma == mb;
}

/* The actor of every audit entry: "local:<unix user>". */
static void local_actor(char *out, size_t len)
{
    struct passwd *pw = getpwuid(geteuid());

    if (pw != NULL && pw->pw_name != NULL && pw->pw_name[0] != '\0') {
        snprintf(out, len, "local:%s", pw->pw_name);
    } else {
        snprintf(out, len, "local:%lu", (unsigned long)geteuid());
    }
}

/*
 * Commands that may change the past of the organisation (a back-dated
 * reporting line, an enrolment, a certification) change which scope an
 * observation counts in, so the aggregates are brought up to date right
 * after them, in their own transaction: the records are the truth, the
 * aggregates only their sum (`coachqd verify` compares the two).
 */
static int refresh_aggregates(struct admin *a)
{
    static const char *const changes_past[] = {"import people", "import programme", "cert grant"};
    struct agg_verify_result r;
    int rc;

    if (a->store == NULL) {
        return 0;
    }
    for (size_t i = 0; i < sizeof(changes_past) / sizeof(changes_past[0]); i++) {
        if (strcmp(a->name, changes_past[i]) != 0) {
            continue;
        }
        memset(&r, 0, sizeof(r));
        rc = agg_verify(a->store, 0, NULL, NULL, &r);
        if (rc == 0 && r.differences > 0) {
            rc = agg_verify(a->store, 1, NULL, NULL, &r);
            if (rc == 0) {
                printf("dashboard aggregates brought up to date (%" PRIu64 " changed)\n",
                       r.differences);
            }
        }
        if (rc != 0) {
            admin_errorf(a,
                         "the change is stored, but the dashboards' aggregates could not be "
                         "brought up to date: %s; run `coachqd verify --repair`",
                         error_strerror(rc));
            return 1;
        }
        return 0;
    }
    return 0;
}

/* ---- Entry points ----------------------------------------------------------- */

int admin_main(int argc, char **argv)
{
    const char *slash = strrchr(argv[0], '/');
    struct timespec ts;
    struct admin *a;
    int first = 0;
    int code;

    if (argc < 2 || !admin_is_verb(argv[1])) {
        fprintf(stderr, "%s: unknown command '%s'\n", argv[0], argc > 1 ? argv[1] : "");
        return 2;
    }
    /* struct admin is large (messages); keep it off the stack. */
    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        return 1;
    }
    a->prog = slash != NULL ? slash + 1 : argv[0];
    a->data_dir = "data";
    argv[0] = (char *)a->prog;
    code = admin_find_cmd(argc, argv, &a->cmd, &first);
    if (a->cmd == NULL) {
        goto out;
    }
    snprintf(a->name, sizeof(a->name), "%s%s%s", a->cmd->verb, a->cmd->sub ? " " : "",
             a->cmd->sub ? a->cmd->sub : "");
    snprintf(a->origin, sizeof(a->origin), "coachqd %s", a->name);
    code = admin_parse_args(a, argc, argv, first);
    if (code != 0) {
        code = code == 1 ? 0 : code;
        goto out;
    }
    local_actor(a->actor, sizeof(a->actor));
    clock_gettime(CLOCK_REALTIME, &ts);
    a->now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    a->today = store_day_of(ts.tv_sec);
    code = a->cmd->run(a);
    if (code == 0) {
        code = refresh_aggregates(a);
    }
out:
    fflush(stdout);
    if (a->store != NULL) {
        store_close(a->store);
    }
    free(a);
    return code;
}

/* ---- CSV imports ---------------------------------------------------------- */

int admin_table_read(struct csv *c, const char *const *names, size_t ncol, size_t nrequired,
                     struct table *t, struct table_errs *e)
{
    const struct table_spec spec = {
        .names = names,
        .ncol = ncol,
        .max_rows = ADMIN_MAX_ROWS,
        .too_many = "",
        .too_many_rc = -EINVAL,
        .unreadable = NULL,
        .stop_when_full = 1,
        .nrequired = nrequired,
    };

    memset(t, 0, sizeof(*t));
    return table_read(c, &spec, table_keep, t, e);
}
