/*
 * store_copy: copies of a whole store for backups and restores (store.h),
 * and the test of whether a process has a store open.
 *
 * A copy is made by a second opener of the environment, read-only: LMDB
 * lets any number of processes read while one writes, and a copy runs in
 * one read transaction, so it holds exactly the state of the last commit
 * before it began while a running coachqd goes on committing. Compaction
 * (MDB_CP_COMPACT) writes only the pages in use, renumbered, so the copy
 * is no larger than the data it holds.
 *
 * Whether a store is open elsewhere is read from LMDB's own lock protocol:
 * every process that has the environment open holds a shared fcntl() lock
 * on the first byte of lock.mdb (the first opener takes it exclusively
 * while it sets the lock file up). A process asking for an exclusive lock
 * there learns whether anybody holds it, and who. fcntl() locks belong to
 * a process, so the caller's own environments never count.
 */
#include "store.h"
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "keys.h"
#include "mdberr.h"

/* As in store.c: every named database a store may have, and the meta keys. */
#define STORE_COPY_MAX_DBS 48
#define STORE_COPY_RESIZE_TRIES 8

/* Reads schema_version and next_seq from the environment's meta table. */
static int copy_read_meta(MDB_env *env, struct store_copy_info *info)
{
    MDB_txn *txn = NULL;
    MDB_dbi meta;
    MDB_val k, v;
    int rc;

    rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    rc = mdb_dbi_open(txn, "meta", 0, &meta);
    if (rc == 0) {
        k.mv_data = (void *)"schema_version";
        k.mv_size = strlen("schema_version");
        rc = mdb_get(txn, meta, &k, &v);
    }
    if (rc == 0 && v.mv_size == 4) {
        info->schema_version = keys_get_be32(v.mv_data);
        k.mv_data = (void *)"next_seq";
        k.mv_size = strlen("next_seq");
        rc = mdb_get(txn, meta, &k, &v);
    } else if (rc == 0) {
        rc = MDB_CORRUPTED;
    }
    if (rc == 0 && v.mv_size == 8) {
        info->next_seq = keys_get_be64(v.mv_data);
    } else if (rc == 0) {
        rc = MDB_CORRUPTED;
    }
    mdb_txn_abort(txn);
    /* A file that LMDB opens but that has no coachq meta table is not a
     * store. */
    return rc == MDB_NOTFOUND ? -EPROTO : mdberr_errno(rc);
}

/* Makes dir/data.mdb durable: the file's data, then its directory entry. */
static int copy_sync(const char *dir)
{
    char path[STORE_COPY_PATH_MAX + 16];
    int fd, rc = 0;

    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    if (fchmod(fd, 0600) < 0 || fsync(fd) < 0) {
        rc = -errno;
    }
    close(fd);
    return rc == 0 ? fsutil_sync_dir(dir) : rc;
}

int store_copy(const char *dir, const char *dest, struct store_copy_info *info)
{
    char path[STORE_COPY_PATH_MAX + 16];
    MDB_env *env = NULL;
    struct stat st;
    int tries = 0;
    int rc;

    memset(info, 0, sizeof(*info));
    if (strlen(dir) > STORE_COPY_PATH_MAX || strlen(dest) > STORE_COPY_PATH_MAX) {
        return -ENAMETOOLONG;
    }
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    if (stat(path, &st) < 0) {
        return -errno;
    }
    info->source_bytes = (uint64_t)st.st_size;
    rc = mdb_env_create(&env);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    rc = mdb_env_set_maxdbs(env, STORE_COPY_MAX_DBS);
    if (rc == 0) {
        /* Read-only, and no thread-local reader slot: the copy's read
         * transaction is the only one this environment runs. */
        rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0600);
    }
    while (rc == 0) {
        rc = mdb_env_copy2(env, dest, MDB_CP_COMPACT);
        /* The running server grew the map after this environment was
         * opened: take the new size and begin again (the file the failed
         * attempt began is removed first, since the copy creates it
         * exclusively). */
        if (rc != MDB_MAP_RESIZED || ++tries > STORE_COPY_RESIZE_TRIES) {
            break;
        }
        snprintf(path, sizeof(path), "%s/data.mdb", dest);
        unlink(path);
        rc = mdb_env_set_mapsize(env, 0);
    }
    mdb_env_close(env);
    env = NULL;
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    rc = copy_sync(dest);
    if (rc < 0) {
        return rc;
    }
    snprintf(path, sizeof(path), "%s/data.mdb", dest);
    if (stat(path, &st) < 0) {
        return -errno;
    }
    info->bytes = (uint64_t)st.st_size;
    /* What the copy holds is read from the copy itself, so that it is the
     * state the copy's transaction saw. Nobody else has it open yet: no
     * lock file. */
    rc = mdb_env_create(&env);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    rc = mdb_env_set_maxdbs(env, STORE_COPY_MAX_DBS);
    if (rc == 0) {
        rc = mdb_env_open(env, dest, MDB_RDONLY | MDB_NOLOCK, 0600);
    }
    rc = rc != 0 ? mdberr_errno(rc) : copy_read_meta(env, info);
    mdb_env_close(env);
    return rc;
}

int store_holder(const char *dir, pid_t *pid)
{
    char path[STORE_COPY_PATH_MAX + 16];
    struct flock fl;
    int fd, rc;

    *pid = 0;
    if (strlen(dir) > STORE_COPY_PATH_MAX) {
        return -ENAMETOOLONG;
    }
    snprintf(path, sizeof(path), "%s/lock.mdb", dir);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        /* No lock file: nobody has opened the environment since it was
         * made or restored. */
        return errno == ENOENT ? 0 : -errno;
    }
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 1;
    rc = fcntl(fd, F_GETLK, &fl);
    if (rc < 0) {
        rc = -errno;
    } else if (fl.l_type != F_UNLCK) {
        *pid = fl.l_pid;
        rc = 1;
    }
    close(fd);
    return rc;
}
