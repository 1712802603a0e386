/*
 * mdberr: LMDB's result codes as the negative errno values every coachq
 * function returns, for the two programs that keep LMDB files: the server's
 * store and the client's local journal. One mapping, so both say the same
 * thing about a full map or a damaged file.
 *
 * Pure function of its argument, no state: safe from any thread. Uses only
 * lmdb.h's constants (no LMDB call), so common/ needs LMDB's header, not
 * its library.
 */
#ifndef COACHQ_MDBERR_H
#define COACHQ_MDBERR_H

/*
 * 0 for MDB_SUCCESS; -ENOENT not found; -EEXIST key exists; -ENOSPC map or
 * transaction full; -EAGAIN readers or databases full; -EPROTO version
 * mismatch or not an LMDB file; a positive value (a system error LMDB
 * passes through) negated; a value that is already a negative errno and no
 * MDB_* code, unchanged; -EIO for the rest (MDB_CORRUPTED, MDB_PANIC,
 * MDB_BAD_TXN, ...).
 */
int mdberr_errno(int mdb_rc);

#endif
