/*
 * localstore: the observer's own LMDB store on their machine, so that
 * nothing typed is lost to a dropped network, a closed lid or a crash.
 *
 * It lives in $XDG_DATA_HOME/coachq (or ~/.local/share/coachq) and holds:
 *   - the session in progress, saved durably (committed and fsynced) after
 *     every keystroke, so `coachq observe --resume` restores it exactly;
 *   - the outbox: finished observations waiting for the server, each with
 *     why it is waiting (not sent yet, server unreachable, or refused with
 *     the server's error), kept until stored or discarded by the observer;
 *   - caches of the server's rubrics and of the people the observer may
 *     observe, for working offline.
 *
 * Every write is one LMDB transaction, committed without MDB_NOSYNC,
 * MDB_NOMETASYNC, MDB_WRITEMAP or MDB_MAPASYNC: when a function returns 0
 * its change is on disk. The map starts at 64 MiB and doubles when full
 * (up to 1 GiB). Functions run on the calling thread; the store is not
 * shared between threads. Results handed out are decoded copies the caller
 * owns. Errors are 0 or a negative errno (-ENOENT absent, -ENOSPC full,
 * -EBADMSG a damaged value, -EIO LMDB itself failed).
 *
 * Open a directory at most once per process at a time: LMDB forbids a
 * second environment on the same files in one process (closing it would
 * drop the first one's locks). Open the store once and pass it down. Other
 * processes (a second coachq) may use the same directory at once.
 */
#ifndef COACHQ_LOCALSTORE_H
#define COACHQ_LOCALSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "coachq.pb-c.h"

struct localstore;

/*
 * Opens (creating it and its directory, mode 0700) the store in dir
 * (borrowed for the call), or in the default place when dir is NULL. On
 * success *out is set (caller owns, localstore_close()). Returns 0 or a
 * negative errno; err (errlen bytes) then says what failed, naming the
 * path.
 */
int localstore_open(const char *dir, struct localstore **out, char *err, size_t errlen);

/* Closes the store. NULL-safe. */
void localstore_close(struct localstore *ls);

/* The directory in use (borrowed until localstore_close()). */
const char *localstore_path(const struct localstore *ls);

/* The session in progress (one at a time): save (s borrowed for the call;
 * durable on return), load (-ENOENT when there is none; caller owns *out,
 * free with coachq__v1__local_session__free_unpacked(*out, NULL)), clear
 * (0 also when there was none). */
int localstore_session_save(struct localstore *ls, const Coachq__V1__LocalSession *s);
int localstore_session_load(struct localstore *ls, Coachq__V1__LocalSession **out);
int localstore_session_clear(struct localstore *ls);

/* Moves a finished session into the outbox in one transaction: puts e
 * (borrowed for the call; keyed by e->observation->id, which must be 16
 * bytes, else -EINVAL) and clears the session. After a crash either both
 * happened or neither did. */
int localstore_session_finish(struct localstore *ls, const Coachq__V1__OutboxEntry *e);

/* The outbox, keyed by observation id (16 bytes). put adds or replaces e
 * (borrowed for the call; -EINVAL without an observation with a 16-byte
 * id). get returns -ENOENT when absent; caller owns *out, free with
 * coachq__v1__outbox_entry__free_unpacked(*out, NULL). del returns -ENOENT
 * when absent. list calls cb for every entry, oldest queued_at_ms first (e
 * borrowed for the call); cb returns 0 to go on, 1 to stop, or a negative
 * code, which list returns. No transaction is open while cb runs, so cb
 * may change the store (it sees the entries as they were when list
 * began). */
int localstore_outbox_put(struct localstore *ls, const Coachq__V1__OutboxEntry *e);
int localstore_outbox_get(struct localstore *ls, const uint8_t id[16],
                          Coachq__V1__OutboxEntry **out);
int localstore_outbox_del(struct localstore *ls, const uint8_t id[16]);
typedef int (*localstore_outbox_cb)(const Coachq__V1__OutboxEntry *e, void *arg);
int localstore_outbox_list(struct localstore *ls, localstore_outbox_cb cb, void *arg);

/* Cached rubrics: put (r borrowed for the call; keyed by id and version;
 * -EINVAL for version 0 or an id of 0 or over 200 bytes), get (version 0 =
 * the latest cached; -ENOENT; caller owns *out, free with
 * coachq__v1__rubric__free_unpacked(*out, NULL)), list (the latest cached
 * version of each id, by id; r borrowed for the call, cb as for the
 * outbox). */
int localstore_rubric_put(struct localstore *ls, const Coachq__V1__Rubric *r);
int localstore_rubric_get(struct localstore *ls, const char *id, uint32_t version,
                          Coachq__V1__Rubric **out);
typedef int (*localstore_rubric_cb)(const Coachq__V1__Rubric *r, void *arg);
int localstore_rubric_list(struct localstore *ls, localstore_rubric_cb cb, void *arg);

/* The cached people list, the last one put (p borrowed for the call);
 * get returns -ENOENT when none (caller owns *out, free with
 * coachq__v1__people_list__free_unpacked(*out, NULL)). */
int localstore_people_put(struct localstore *ls, const Coachq__V1__PeopleList *p);
int localstore_people_get(struct localstore *ls, Coachq__V1__PeopleList **out);

/* The cached certification status of the store's observer, the last one
 * put (c borrowed for the call), for the setup's checks offline; get
 * returns -ENOENT when none (caller owns *out, free with
 * coachq__v1__cert_status__free_unpacked(*out, NULL)). */
int localstore_cert_put(struct localstore *ls, const Coachq__V1__CertStatus *c);
int localstore_cert_get(struct localstore *ls, Coachq__V1__CertStatus **out);

/*
 * Decodes one stored value (len bytes at data, borrowed for the call) as
 * every loader above does, with the same size cap: the journal's decoder on
 * its own, for tests and the fuzz target. On success sets *out (caller
 * owns, protobuf_c_message_free_unpacked(*out, NULL)); else -EBADMSG.
 */
int localstore_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                      ProtobufCMessage **out);

#endif
