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
 * One environment per process, opened without MDB_NOSYNC (every commit is
 * durable). Functions run on the calling thread; the store is not shared
 * between threads. Results handed out are decoded copies the caller owns.
 */
#ifndef COACHQ_LOCALSTORE_H
#define COACHQ_LOCALSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "coachq.pb-c.h"

struct localstore;

/*
 * Opens (creating it and its directory, mode 0700) the store in dir, or in
 * the default place when dir is NULL. On success *out is set (caller owns,
 * localstore_close()). Returns 0 or a negative errno; err (errlen bytes)
 * then says what failed, naming the path.
 */
int localstore_open(const char *dir, struct localstore **out, char *err, size_t errlen);

/* Closes the store. NULL-safe. */
void localstore_close(struct localstore *ls);

/* The directory in use (borrowed until localstore_close()). */
const char *localstore_path(const struct localstore *ls);

/* The session in progress: save (durable on return), load (-ENOENT when
 * there is none; caller owns *out, free with
 * coachq__v1__local_session__free_unpacked(*out, NULL)), clear. */
int localstore_session_save(struct localstore *ls, const Coachq__V1__LocalSession *s);
int localstore_session_load(struct localstore *ls, Coachq__V1__LocalSession **out);
int localstore_session_clear(struct localstore *ls);

/* Moves a finished session into the outbox in one transaction: puts e
 * (keyed by e->observation->id) and clears the session. */
int localstore_session_finish(struct localstore *ls, const Coachq__V1__OutboxEntry *e);

/* The outbox, keyed by observation id (16 bytes). get returns -ENOENT when
 * absent; caller owns *out (coachq__v1__outbox_entry__free_unpacked()). list
 * calls cb for every entry, oldest queued first (e borrowed for the call);
 * cb returns 0 to go on, 1 to stop, or a negative code. */
int localstore_outbox_put(struct localstore *ls, const Coachq__V1__OutboxEntry *e);
int localstore_outbox_get(struct localstore *ls, const uint8_t id[16],
                          Coachq__V1__OutboxEntry **out);
int localstore_outbox_del(struct localstore *ls, const uint8_t id[16]);
typedef int (*localstore_outbox_cb)(const Coachq__V1__OutboxEntry *e, void *arg);
int localstore_outbox_list(struct localstore *ls, localstore_outbox_cb cb, void *arg);

/* Cached rubrics: put (keyed by id and version), get (version 0 = latest
 * cached; -ENOENT), list the latest cached version of each id. */
int localstore_rubric_put(struct localstore *ls, const Coachq__V1__Rubric *r);
int localstore_rubric_get(struct localstore *ls, const char *id, uint32_t version,
                          Coachq__V1__Rubric **out);
typedef int (*localstore_rubric_cb)(const Coachq__V1__Rubric *r, void *arg);
int localstore_rubric_list(struct localstore *ls, localstore_rubric_cb cb, void *arg);

/* The cached people list (the last one fetched); -ENOENT when none. */
int localstore_people_put(struct localstore *ls, const Coachq__V1__PeopleList *p);
int localstore_people_get(struct localstore *ls, Coachq__V1__PeopleList **out);

#endif
