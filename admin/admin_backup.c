/*
 * admin_backup: `coachqd backup` and `coachqd restore` (admin_int.h; the
 * operator's guide is docs/operations.md, "Backup and restore").
 *
 * backup writes a compacted copy of the store (store_copy(): one read
 * transaction of a second opener, so the server goes on writing) into a
 * directory beside the destination, opens that copy as a store and checks
 * its aggregates against its records, and only then renames it to the
 * destination. A destination that exists is therefore always a whole,
 * verified backup, and one that does not exist was never half written.
 *
 * restore goes the other way: it copies the backup (compacted again, so a
 * damaged backup fails here and not in the server), opens and checks the
 * copy inside the data directory, records the restore in the copy's audit
 * log, and swaps it in. It never replaces a store that a process has open
 * (a running coachqd), and replaces a stopped one only with --force,
 * keeping it in a directory beside the new one.
 */
#include "admin_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agg.h"
#include "audit.h"
#include "day.h"
#include "error.h"
#include "fsutil.h"
#include "store.h"

#define BACKUP_PATH_MAX STORE_COPY_PATH_MAX
/* A directory made here (a name checked against BACKUP_PATH_MAX plus a
 * suffix), and a file in one. */
#define BACKUP_DIR_BUF (BACKUP_PATH_MAX + 64)
#define BACKUP_FILE_BUF (BACKUP_DIR_BUF + 64)

/* Seconds on the monotonic clock, for "in 1.2 s". */
static double backup_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mib(uint64_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

/* Removes dir/name if it exists; 0 or a negative errno. */
static int unlink_in(const char *dir, const char *name)
{
    char path[BACKUP_FILE_BUF];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

/* Removes a work directory that holds at most a store (data.mdb, lock.mdb). */
static void remove_work_dir(const char *dir)
{
    unlink_in(dir, "data.mdb");
    unlink_in(dir, "lock.mdb");
    rmdir(dir);
}

/* The directory part of path ("." if none) into out. */
static void parent_of(const char *path, char *out, size_t outlen)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL) {
        snprintf(out, outlen, ".");
    } else if (slash == path) {
        snprintf(out, outlen, "/");
    } else {
        snprintf(out, outlen, "%.*s", (int)(slash - path), path);
    }
}

/* Checks that dir holds a store file; prints why not. 0 or -ENOENT. */
static int require_store(const struct admin *a, const char *what, const char *dir)
{
    char path[BACKUP_FILE_BUF];
    struct stat st;

    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        admin_errorf(a, "%s '%s' is not a directory", what, dir);
        return -ENOENT;
    }
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
        admin_errorf(a, "%s '%s' holds no coachq store (no data.mdb)", what, dir);
        return -ENOENT;
    }
    return 0;
}

/* Copies the store in src into the new directory work, printing progress.
 * Prints why it failed and removes what it made. */
static int copy_into(struct admin *a, const char *src, const char *work,
                     struct store_copy_info *info)
{
    double t0 = backup_now_s();
    int rc;

    if (mkdir(work, 0700) < 0) {
        rc = -errno;
        admin_errorf(a, "cannot create '%s': %s", work, error_strerror(rc));
        return rc;
    }
    printf("copying the store in %s ...\n", src);
    fflush(stdout);
    rc = store_copy(src, work, info);
    if (rc < 0) {
        admin_errorf(a, "cannot copy the store in '%s': %s", src,
                     rc == -EPROTO ? "it is not a coachq store" : error_strerror(rc));
        remove_work_dir(work);
        return rc;
    }
    printf("copied: records up to sequence %" PRIu64 ", %.1f MiB (the source file is %.1f MiB), "
           "in %.1f s\n",
           info->next_seq > 0 ? info->next_seq - 1 : 0, mib(info->bytes), mib(info->source_bytes),
           backup_now_s() - t0);
    return 0;
}

struct restore_note {
    struct admin *a;
    const char *from;
    const struct store_copy_info *info;
};

/* The restored store's audit log says where it came from. */
static int restore_audit_txn(struct store_txn *t, void *arg)
{
    const struct restore_note *n = arg;
    char detail[BACKUP_PATH_MAX + 128];

    snprintf(detail, sizeof(detail), "from %s; records up to sequence %" PRIu64, n->from,
             n->info->next_seq > 0 ? n->info->next_seq - 1 : 0);
    return audit_append(t, n->a->now_ms, n->a->actor, "store.restore", n->a->data_dir, detail,
                        n->a->origin, NULL);
}

/*
 * Opens the copy in work as a store (an older schema is upgraded there),
 * and checks its aggregates against its records. With repair, differences
 * are rebuilt (a restore); without, they fail the check (a backup). With
 * note, the restore is recorded in the copy's audit log. Closes the store
 * again. Prints what it found; returns 0 or an exit code.
 */
static int check_copy(struct admin *a, const char *work, int repair,
                      const struct restore_note *note)
{
    const char *data_dir = a->data_dir;
    struct agg_verify_result r;
    double t0 = backup_now_s();
    int code = 1;
    int rc;

    printf("verifying the copy ...\n");
    fflush(stdout);
    a->data_dir = work;
    rc = admin_open_store(a, 0);
    a->data_dir = data_dir;
    if (rc < 0) {
        return 1;
    }
    memset(&r, 0, sizeof(r));
    rc = agg_verify(a->store, 0, NULL, NULL, &r);
    if (rc < 0) {
        admin_errorf(a, "cannot read the copy's records: %s", error_strerror(rc));
        goto out;
    }
    if (r.differences > 0 && !repair) {
        /* The records are what a backup is for, and a restore rebuilds the
         * aggregates; the difference is worth a warning, not a lost backup. */
        admin_errorf(a,
                     "warning: the aggregates differ from the records (%" PRIu64
                     " differences) in the store and so in the copy: run '%s verify --repair "
                     "--data %s' (a restore of this backup rebuilds them)",
                     r.differences, a->prog, data_dir);
    } else if (r.differences > 0) {
        memset(&r, 0, sizeof(r));
        rc = agg_verify(a->store, 1, NULL, NULL, &r);
        if (rc < 0) {
            admin_errorf(a, "cannot rebuild the copy's aggregates: %s", error_strerror(rc));
            goto out;
        }
        printf("the backup's aggregates differed from its records: rebuilt\n");
    }
    if (note != NULL) {
        rc = store_exec(a->store, restore_audit_txn, (void *)note);
        if (rc < 0) {
            admin_errorf(a, "cannot write the restore's audit entry: %s", error_strerror(rc));
            goto out;
        }
    }
    printf("verified: %" PRIu64 " observations read%s (%.1f s)\n", r.observations,
           r.differences == 0 || repair ? ", the aggregates match the records" : "",
           backup_now_s() - t0);
    code = 0;
out:
    store_close(a->store);
    a->store = NULL;
    /* Nobody else opened the copy: its lock file goes. */
    unlink_in(work, "lock.mdb");
    return code;
}

int admin_run_backup(struct admin *a)
{
    const char *dest = a->pos[0];
    char parent[BACKUP_PATH_MAX], work[BACKUP_DIR_BUF];
    struct store_copy_info info;
    struct stat st;
    int code;

    if (strlen(dest) >= BACKUP_PATH_MAX - 32 || strlen(a->data_dir) >= BACKUP_PATH_MAX - 32) {
        return admin_usage_error(a, "the directory names are too long");
    }
    if (require_store(a, "the data directory", a->data_dir) < 0) {
        return 1;
    }
    if (lstat(dest, &st) == 0) {
        admin_errorf(a, "'%s' exists; a backup never overwrites anything (name a new directory)",
                     dest);
        return 1;
    }
    parent_of(dest, parent, sizeof(parent));
    if (admin_mkdir_p(parent, 0700) < 0) {
        admin_errorf(a, "cannot create the directory '%s': %s", parent, strerror(errno));
        return 1;
    }
    snprintf(work, sizeof(work), "%s.partial-%ld", dest, (long)getpid());
    if (copy_into(a, a->data_dir, work, &info) < 0) {
        return 1;
    }
    code = check_copy(a, work, 0, NULL);
    if (code != 0) {
        remove_work_dir(work);
        return code;
    }
    if (rename(work, dest) < 0 || fsutil_sync_dir(parent) < 0) {
        admin_errorf(a, "cannot rename '%s' to '%s': %s (the verified copy stays in '%s')", work,
                     dest, strerror(errno), work);
        return 1;
    }
    printf("backup written to %s: restore it with '%s restore %s --data DIR'\n", dest, a->prog,
           dest);
    return 0;
}

/* Moves dir/data.mdb into a new dir/pre-restore-<time>/ and returns its
 * name in keep. Prints why it failed. */
static int keep_old_store(struct admin *a, char *keep, size_t keeplen)
{
    char stamp[DAY_TIME_LEN], from[BACKUP_FILE_BUF], to[BACKUP_FILE_BUF];
    size_t i, j = 0;

    day_format_time(a->now_ms / 1000, stamp, sizeof(stamp));
    /* "2026-12-05T17:04:05Z" as 20261205T170405Z: no ':' in a file name. */
    for (i = 0; stamp[i] != '\0'; i++) {
        if (stamp[i] != '-' && stamp[i] != ':') {
            stamp[j++] = stamp[i];
        }
    }
    stamp[j] = '\0';
    snprintf(keep, keeplen, "%s/pre-restore-%s", a->data_dir, stamp);
    if (mkdir(keep, 0700) < 0) {
        admin_errorf(a, "cannot create '%s': %s", keep, strerror(errno));
        return 1;
    }
    snprintf(from, sizeof(from), "%s/data.mdb", a->data_dir);
    snprintf(to, sizeof(to), "%s/data.mdb", keep);
    if (rename(from, to) < 0) {
        admin_errorf(a, "cannot move '%s' to '%s': %s", from, to, strerror(errno));
        rmdir(keep);
        return 1;
    }
    return 0;
}

/* Refuses a data directory that a process has open. Prints why. */
static int refuse_live(struct admin *a)
{
    pid_t pid = 0;
    int rc = store_holder(a->data_dir, &pid);

    if (rc < 0) {
        admin_errorf(a, "cannot tell whether the store in '%s' is in use: %s", a->data_dir,
                     error_strerror(rc));
        return 1;
    }
    if (rc > 0) {
        admin_errorf(a,
                     "the store in '%s' is open in process %ld (a running coachqd?): stop it "
                     "first; nothing was changed",
                     a->data_dir, (long)pid);
        return 1;
    }
    return 0;
}

int admin_run_restore(struct admin *a)
{
    const char *from = a->pos[0];
    int force = admin_opt_value(a, "force") != NULL;
    char work[BACKUP_DIR_BUF], path[BACKUP_FILE_BUF], dest[BACKUP_FILE_BUF];
    char keep[BACKUP_DIR_BUF];
    struct store_copy_info info;
    struct restore_note note;
    struct stat st;
    int had_store;
    int code;

    keep[0] = '\0';
    if (strlen(from) >= BACKUP_PATH_MAX - 32 || strlen(a->data_dir) >= BACKUP_PATH_MAX - 128) {
        return admin_usage_error(a, "the directory names are too long");
    }
    if (require_store(a, "the backup", from) < 0) {
        return 1;
    }
    if (admin_mkdir_p(a->data_dir, 0700) < 0) {
        admin_errorf(a, "cannot create the data directory '%s': %s", a->data_dir, strerror(errno));
        return 1;
    }
    if (refuse_live(a) != 0) {
        return 1;
    }
    snprintf(path, sizeof(path), "%s/data.mdb", a->data_dir);
    had_store = stat(path, &st) == 0;
    if (had_store && !force) {
        admin_errorf(a,
                     "'%s' already holds a store; restore replaces one only with --force (which "
                     "keeps it in %s/pre-restore-<time>/); nothing was changed",
                     a->data_dir, a->data_dir);
        return 1;
    }
    snprintf(work, sizeof(work), "%s/restore-partial-%ld", a->data_dir, (long)getpid());
    if (copy_into(a, from, work, &info) < 0) {
        return 1;
    }
    note.a = a;
    note.from = from;
    note.info = &info;
    code = check_copy(a, work, 1, &note);
    if (code != 0) {
        remove_work_dir(work);
        return code;
    }
    /* Checked again just before the swap: a server started meanwhile
     * keeps its store. */
    if (refuse_live(a) != 0 || (had_store && keep_old_store(a, keep, sizeof(keep)) != 0)) {
        remove_work_dir(work);
        return 1;
    }
    /* The lock file belongs to the store being replaced; nobody has it
     * open, and LMDB makes a new one. */
    unlink_in(a->data_dir, "lock.mdb");
    snprintf(path, sizeof(path), "%s/data.mdb", work);
    snprintf(dest, sizeof(dest), "%s/data.mdb", a->data_dir);
    if (rename(path, dest) < 0) {
        admin_errorf(a, "cannot move the restored store into place: %s", strerror(errno));
        remove_work_dir(work);
        return 1;
    }
    remove_work_dir(work);
    if (fsutil_sync_dir(a->data_dir) < 0) {
        admin_errorf(a, "cannot sync '%s': %s", a->data_dir, strerror(errno));
        return 1;
    }
    printf("restored %s into %s (records up to sequence %" PRIu64 ")\n", from, a->data_dir,
           info.next_seq > 0 ? info.next_seq - 1 : 0);
    if (keep[0] != '\0') {
        printf("the store it replaced is in %s\n", keep);
    }
    return 0;
}
