/*
 * kvfile: "key = value" config files (kvfile.h).
 */
#include "kvfile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Drops blanks (and a line's end) from both ends of s, in place. */
static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r')) {
        e--;
    }
    *e = '\0';
    return s;
}

int kvfile_read(const char *path, kvfile_line_cb cb, void *arg, char *err, size_t errlen)
{
    char line[KVFILE_MAX_LINE];
    char msg[512];
    unsigned lineno = 0;
    FILE *f = NULL;
    int rc;

    f = fopen(path, "r");
    if (f == NULL) {
        rc = -errno;
        snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(errno));
        goto out;
    }
    errno = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t ll = strlen(line);
        char *k = line;
        char *v, *eq;
        size_t vl;

        lineno++;
        rc = -EINVAL;
        if (ll == sizeof(line) - 1 && line[ll - 1] != '\n' && !feof(f)) {
            snprintf(err, errlen, "%s:%u: line too long (at most %d bytes)", path, lineno,
                     KVFILE_MAX_LINE - 2);
            goto out;
        }
        if (lineno == 1 && strncmp(k, "\xef\xbb\xbf", 3) == 0) {
            k += 3; /* the byte order mark some editors write */
        }
        k = trim(k);
        if (*k == '\0' || *k == '#') {
            continue;
        }
        eq = strchr(k, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "%s:%u: expected \"key = value\"", path, lineno);
            goto out;
        }
        *eq = '\0';
        k = trim(k);
        v = trim(eq + 1);
        vl = strlen(v);
        if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
            v[vl - 1] = '\0';
            v++;
        }
        msg[0] = '\0';
        rc = cb(arg, k, v, lineno, msg, sizeof(msg));
        if (rc < 0) {
            snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
            goto out;
        }
    }
    if (ferror(f)) {
        rc = errno != 0 ? -errno : -EIO;
        snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(-rc));
        goto out;
    }
    rc = 0;
out:
    if (f != NULL) {
        fclose(f);
    }
    return rc;
}
