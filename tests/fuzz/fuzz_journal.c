/*
 * fuzz_journal: the observer's local journal (client/localstore.c). The
 * first byte picks the record kind (the session in progress, an outbox
 * entry, a cached rubric, the cached people list); the rest are the bytes
 * as read back from the journal, decoded by localstore_decode() as every
 * loader does. A record that decodes is written through the store and read
 * back, and must come back byte for byte. The store is made once per
 * process, in /dev/shm when there is one (commits are fsynced).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "localstore.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static struct localstore *ls;

static void cleanup(void)
{
    char p[128];

    localstore_close(ls);
    snprintf(p, sizeof(p), "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];

    (void)argc;
    (void)argv;
    snprintf(dir, sizeof(dir), "%s/coachq-fuzz-journal-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (mkdtemp(dir) == NULL || localstore_open(dir, &ls, err, sizeof(err)) != 0) {
        abort();
    }
    atexit(cleanup);
    return 0;
}

static void same(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t na = protobuf_c_message_get_packed_size(a);
    size_t nb = protobuf_c_message_get_packed_size(b);
    uint8_t *pa = malloc(na + 1), *pb = malloc(nb + 1);

    if (pa == NULL || pb == NULL || na != nb) {
        abort();
    }
    protobuf_c_message_pack(a, pa);
    protobuf_c_message_pack(b, pb);
    if (memcmp(pa, pb, na) != 0) {
        abort();
    }
    free(pa);
    free(pb);
}

static void session(const Coachq__V1__LocalSession *s)
{
    Coachq__V1__LocalSession *back = NULL;
    int rc = localstore_session_save(ls, s);

    if (rc != 0) {
        fprintf(stderr, "fuzz_journal: saving a decoded session failed: %d\n", rc);
        abort();
    }
    rc = localstore_session_load(ls, &back);
    if (rc != 0) {
        fprintf(stderr, "fuzz_journal: loading the session just saved failed: %d\n", rc);
        abort();
    }
    same(&s->base, &back->base);
    coachq__v1__local_session__free_unpacked(back, NULL);
    if (localstore_session_clear(ls) != 0) {
        abort();
    }
}

static int count_cb(const Coachq__V1__OutboxEntry *e, void *arg)
{
    (void)e;
    (*(size_t *)arg)++;
    return 0;
}

static void outbox(const Coachq__V1__OutboxEntry *e)
{
    Coachq__V1__OutboxEntry *back = NULL;
    size_t n = 0;
    int rc = localstore_outbox_put(ls, e);

    if (rc != 0) {
        /* Only an entry without a 16-byte observation id is refused. */
        if (e->observation != NULL && e->observation->id.len == 16) {
            abort();
        }
        return;
    }
    if (localstore_outbox_get(ls, e->observation->id.data, &back) != 0) {
        abort();
    }
    same(&e->base, &back->base);
    coachq__v1__outbox_entry__free_unpacked(back, NULL);
    if (localstore_outbox_list(ls, count_cb, &n) != 0 || n != 1 ||
        localstore_outbox_del(ls, e->observation->id.data) != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ProtobufCMessageDescriptor *const kinds[] = {
        &coachq__v1__local_session__descriptor, &coachq__v1__outbox_entry__descriptor,
        &coachq__v1__rubric__descriptor, &coachq__v1__people_list__descriptor};
    const ProtobufCMessageDescriptor *desc;
    ProtobufCMessage *m = NULL;

    if (size < 1) {
        return 0;
    }
    desc = kinds[data[0] % 4];
    if (localstore_decode(desc, data + 1, size - 1, &m) != 0) {
        if (m != NULL) {
            abort();
        }
        return 0;
    }
    if (desc == &coachq__v1__local_session__descriptor) {
        session((const Coachq__V1__LocalSession *)m);
    } else if (desc == &coachq__v1__outbox_entry__descriptor) {
        outbox((const Coachq__V1__OutboxEntry *)m);
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}
