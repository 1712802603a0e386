/*
 * audit: the append-only audit log in the store's audit database, keyed by
 * the entry's number as big-endian 64 bits so that key order is commit
 * order. Entries are appended (MDB_APPEND), so their pages are filled
 * rather than split in half. A stored observation's entry holds the
 * record's sequence number instead of its text, which is read back from
 * the record (obs.h) when the log is listed.
 */
#include "audit.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "keys.h"
#include "log.h"
#include "obs.h"
#include "store_int.h"

/* Longest text kept per field, in bytes. */
#define AUDIT_MAX_TEXT 1000

/* Returns s, or a copy in buf (AUDIT_MAX_TEXT + 1 bytes) cut to at most
 * AUDIT_MAX_TEXT bytes without splitting a UTF-8 sequence. NULL becomes "". */
static const char *audit_cut(const char *s, char buf[AUDIT_MAX_TEXT + 1])
{
    size_t n;

    if (s == NULL) {
        return "";
    }
    n = strlen(s);
    if (n <= AUDIT_MAX_TEXT) {
        return s;
    }
    n = AUDIT_MAX_TEXT;
    /* s[n] is the first byte dropped. If it continues a sequence, that
     * sequence started before the cut and goes too. A sequence has at most
     * three continuation bytes, so text that is not UTF-8 still keeps most
     * of its bytes. */
    for (int i = 0; i < 3 && n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80; i++) {
        n--;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

struct audit_last {
    uint64_t seq;
    int found;
};

static int audit_last_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                          void *arg)
{
    struct audit_last *l = arg;

    (void)val;
    (void)vlen;
    if (klen != 8) {
        return -EIO;
    }
    l->seq = keys_get_be64(key);
    l->found = 1;
    return 1;
}

/* Numbers e (its next number follows the last key) and appends it. */
static int audit_put(struct store_txn *t, Coachq__V1__AuditEntry *e, uint64_t *seq)
{
    struct audit_last last = {0, 0};
    uint8_t key[8];
    MDB_val k, v;
    int rc;

    if (!t->write) {
        return -EROFS;
    }
    /* The next number follows the last key: entries are never deleted, and
     * an aborted transaction leaves no key behind, so numbers have no gaps. */
    rc = store_txn_scan(t, t->s->dbi_audit, NULL, 0, 1, audit_last_one, &last);
    if (rc != 0) {
        return rc;
    }
    if (last.found && last.seq == UINT64_MAX) {
        return -EOVERFLOW;
    }
    e->seq = last.found ? last.seq + 1 : 1;
    keys_put_be64(key, e->seq);
    k.mv_data = key;
    k.mv_size = sizeof(key);
    v.mv_data = NULL;
    v.mv_size = coachq__v1__audit_entry__get_packed_size(e);
    /* The key follows the last one: an append, packed in place. */
    rc = mdb_put(t->txn, t->s->dbi_audit, &k, &v, MDB_APPEND | MDB_RESERVE);
    if (rc != 0) {
        return rc == ENOMEM ? -ENOMEM : STORE_TXN_ABORT(rc);
    }
    coachq__v1__audit_entry__pack(e, v.mv_data);
    if (seq != NULL) {
        *seq = e->seq;
    }
    return 0;
}

int audit_append(struct store_txn *t, int64_t at_ms, const char *actor, const char *action,
                 const char *subject, const char *detail, const char *origin, uint64_t *seq)
{
    Coachq__V1__AuditEntry e = COACHQ__V1__AUDIT_ENTRY__INIT;
    char bufs[5][AUDIT_MAX_TEXT + 1];

    e.at_ms = at_ms;
    e.actor = (char *)audit_cut(actor, bufs[0]);
    e.action = (char *)audit_cut(action, bufs[1]);
    e.subject = (char *)audit_cut(subject, bufs[2]);
    e.detail = (char *)audit_cut(detail, bufs[3]);
    e.origin = (char *)audit_cut(origin, bufs[4]);
    return audit_put(t, &e, seq);
}

int audit_append_record(struct store_txn *t, int64_t at_ms, const char *origin, uint64_t record_seq,
                        uint64_t *seq)
{
    Coachq__V1__AuditEntry e = COACHQ__V1__AUDIT_ENTRY__INIT;
    char buf[AUDIT_MAX_TEXT + 1];

    if (record_seq == 0) {
        return -EINVAL;
    }
    e.at_ms = at_ms;
    e.origin = (char *)audit_cut(origin, buf);
    e.record_seq = record_seq;
    return audit_put(t, &e, seq);
}

struct audit_list_ctx {
    struct store_txn *t;
    int64_t since_ms;
    audit_cb cb;
    void *arg;
};

/* Hands cb the entry e names a record with that record's text filled in,
 * in a copy of e: the decoded entry's strings stay its own to free. */
static int audit_list_record(struct audit_list_ctx *c, const Coachq__V1__AuditEntry *e)
{
    Coachq__V1__AuditEntry shown = *e;
    struct obs_audit_text buf;
    struct obs_audit_text *text = &buf;
    int rc;

    rc = obs_audit_text_txn(c->t, e->record_seq, text);
    if (rc == -ENOENT || rc == -EIO) {
        /* The log goes on past a record that is gone or damaged. */
        log_event(LOG_ERROR, "store_audit_record_unreadable", "entry=%llu seq=%llu rc=%d",
                  (unsigned long long)e->seq, (unsigned long long)e->record_seq, rc);
        memset(text, 0, sizeof(*text));
        snprintf(text->action, sizeof(text->action), "observation");
        snprintf(text->subject, sizeof(text->subject), "-");
        snprintf(text->detail, sizeof(text->detail), "seq=%llu (the record cannot be read)",
                 (unsigned long long)e->record_seq);
        rc = 0;
    }
    if (rc == 0) {
        shown.actor = text->actor;
        shown.action = text->action;
        shown.subject = text->subject;
        shown.detail = text->detail;
        rc = c->cb(&shown, c->arg);
    }
    return rc;
}

static int audit_list_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                          void *arg)
{
    struct audit_list_ctx *c = arg;
    Coachq__V1__AuditEntry *e;
    int rc = 0;

    (void)key;
    if (klen != 8) {
        return -EIO;
    }
    e = coachq__v1__audit_entry__unpack(NULL, vlen, val);
    if (e == NULL) {
        return -EIO;
    }
    /* Clocks can step back, so at_ms is not ordered by number: every entry
     * is checked rather than stopping at the first older one. */
    if (e->at_ms >= c->since_ms) {
        rc = e->record_seq != 0 ? audit_list_record(c, e) : c->cb(e, c->arg);
    }
    coachq__v1__audit_entry__free_unpacked(e, NULL);
    return rc;
}

int audit_list(struct store_txn *t, int64_t since_ms, audit_cb cb, void *arg)
{
    struct audit_list_ctx c = {t, since_ms, cb, arg};

    return store_txn_scan(t, t->s->dbi_audit, NULL, 0, 0, audit_list_one, &c);
}
