#include "mdberr.h"

#include <errno.h>
#include <lmdb.h>

int mdberr_errno(int mdb_rc)
{
    switch (mdb_rc) {
    case MDB_SUCCESS:
        return 0;
    case MDB_NOTFOUND:
        return -ENOENT;
    case MDB_KEYEXIST:
        return -EEXIST;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
        return -ENOSPC;
    case MDB_READERS_FULL:
    case MDB_DBS_FULL:
        return -EAGAIN;
    case MDB_VERSION_MISMATCH:
    case MDB_INVALID:
        return -EPROTO;
    default:
        break;
    }
    if (mdb_rc > 0) {
        /* LMDB passes system errors through as positive errno values. */
        return -mdb_rc;
    }
    if (mdb_rc < MDB_KEYEXIST || mdb_rc > MDB_LAST_ERRCODE) {
        /* Already a negative errno, not an MDB_* code. */
        return mdb_rc;
    }
    return -EIO;
}
