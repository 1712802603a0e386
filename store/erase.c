/*
 * erase: a person's erasure (erase.h). The databases are walked one by
 * one; each entry that names the person is noted with its new key and
 * value while a cursor reads, and the notes are applied after the cursor
 * is closed, since LMDB cursors do not follow a database that changes
 * under them. Only the changed entries are held in memory.
 */
#include "erase.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "actions.h"
#include "agg.h"
#include "audit.h"
#include "cadence.h"
#include "grow.h"
#include "keys.h"
#include "obs.h"
#include "obs_codec.h"
#include "people.h"
#include "store_int.h"
#include "validate.h"

/* The longest part of a name redacted on its own, with its NUL. */
#define ERASE_PART_MAX 128
/* The most parts of a name redacted on their own. */
#define ERASE_MAX_PARTS 6

/* ---- Redaction ---------------------------------------------------------- */

static int word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c >= 0x80;
}

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* True if s[j] continues a word: a word byte, or a '.' or '@' between
 * word bytes, as inside an id or an e-mail address ("ann" is not a word of
 * "ann.lee" or "ann@example.org"; it is one of "ann." at a sentence's end). */
static int joins(const char *s, size_t slen, size_t j, int forward)
{
    unsigned char c = (unsigned char)s[j];

    if (word_byte(c)) {
        return 1;
    }
    if (c != '.' && c != '@') {
        return 0;
    }
    if (forward) {
        return j + 1 < slen && word_byte((unsigned char)s[j + 1]);
    }
    return j > 0 && word_byte((unsigned char)s[j - 1]);
}

/* True if pat (plen bytes, not empty) matches s at i as a whole word, in
 * any ASCII case unless exact. */
static int match_at(const char *s, size_t slen, size_t i, const char *pat, size_t plen, int exact)
{
    if (plen == 0 || plen > slen - i) {
        return 0;
    }
    for (size_t k = 0; k < plen; k++) {
        unsigned char a = (unsigned char)s[i + k], b = (unsigned char)pat[k];

        if (exact ? a != b : lower(a) != lower(b)) {
            return 0;
        }
    }
    if (word_byte((unsigned char)pat[0]) && i > 0 && joins(s, slen, i - 1, 0)) {
        return 0;
    }
    if (word_byte((unsigned char)pat[plen - 1]) && i + plen < slen && joins(s, slen, i + plen, 1)) {
        return 0;
    }
    return 1;
}

int erase_redact(const char *s, const struct erase_pat *pats, size_t n, char **out)
{
    size_t slen = strlen(s);
    size_t cap = 0, len = 0;
    char *buf = NULL;
    int hits = 0;
    size_t i = 0;

    *out = NULL;
    while (i < slen) {
        size_t k, plen = 0;

        for (k = 0; k < n; k++) {
            plen = strlen(pats[k].pat);
            if (match_at(s, slen, i, pats[k].pat, plen, pats[k].exact)) {
                break;
            }
        }
        if (k < n) {
            size_t rlen = strlen(pats[k].repl);

            if (buf == NULL) {
                /* Room for the text so far, and grown as replacements add. */
                cap = slen + rlen + 1;
                buf = malloc(cap);
                if (buf == NULL) {
                    return -ENOMEM;
                }
                memcpy(buf, s, i);
                len = i;
            }
            if (len + rlen + (slen - i) + 1 > cap) {
                char *nb;

                cap = (len + rlen + (slen - i) + 1) * 2;
                nb = realloc(buf, cap);
                if (nb == NULL) {
                    free(buf);
                    return -ENOMEM;
                }
                buf = nb;
            }
            memcpy(buf + len, pats[k].repl, rlen);
            len += rlen;
            i += plen;
            hits++;
            continue;
        }
        if (buf != NULL) {
            buf[len++] = s[i];
        }
        i++;
    }
    if (buf != NULL) {
        buf[len] = '\0';
        *out = buf;
    }
    return hits;
}

/* ---- Rewriting messages ------------------------------------------------- */

/* 3: a recording's reference (replaced by ERASE_REDACTED where free text is
 * blanked, since the URL or CRM call id ties the session to the real call
 * and a recording needs one; redacted otherwise); 2: free text (blanked or
 * redacted); 1: redacted, never blanked (an audit entry's actor and
 * subject); 0: neither. "name" is an API token's (people's names are not
 * walked: the person's own record is rewritten whole). */
static int text_kind(const char *name)
{
    static const char *const free_text[] = {"notes",  "evidence", "note",
                                            "text",   "detail",   "title",
                                            "reason", "name",     "manager_comments"};

    for (size_t i = 0; i < sizeof(free_text) / sizeof(free_text[0]); i++) {
        if (strcmp(name, free_text[i]) == 0) {
            return 2;
        }
    }
    if (strcmp(name, "reference") == 0) {
        return 3;
    }
    return strcmp(name, "actor") == 0 || strcmp(name, "subject") == 0;
}

/* Rewrites one string field *pp by w. */
static int walk_string(char **pp, int kind, struct erase_walk *w)
{
    const char *s = *pp != NULL ? *pp : "";
    char *next = NULL;
    int rc;

    if (w->from != NULL && strcmp(s, w->from) == 0) {
        next = strdup(w->to);
        if (next == NULL) {
            return -ENOMEM;
        }
    } else if (w->scope_from != NULL && strcmp(s, w->scope_from) == 0) {
        next = strdup(w->scope_to);
        if (next == NULL) {
            return -ENOMEM;
        }
    } else if (kind >= 2 && w->blank) {
        if (s[0] == '\0' || (kind == 3 && strcmp(s, ERASE_REDACTED) == 0)) {
            return 0;
        }
        next = strdup(kind == 3 ? ERASE_REDACTED : "");
        if (next == NULL) {
            return -ENOMEM;
        }
        w->texts++;
    } else if (kind != 0 && w->npats > 0) {
        rc = erase_redact(s, w->pats, w->npats, &next);
        if (rc < 0) {
            return rc;
        }
        if (next == NULL) {
            return 0;
        }
        w->texts++;
    } else {
        return 0;
    }
    free(*pp);
    *pp = next;
    w->changed++;
    return 0;
}

int erase_walk_msg(ProtobufCMessage *m, struct erase_walk *w)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    int rc = 0;

    for (unsigned f = 0; f < d->n_fields && rc == 0; f++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[f];
        char *base = (char *)m + fd->offset;
        size_t n = 1;
        void **items = (void **)base;

        if (fd->type != PROTOBUF_C_TYPE_STRING && fd->type != PROTOBUF_C_TYPE_MESSAGE) {
            continue;
        }
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            n = *(size_t *)((char *)m + fd->quantifier_offset);
            items = *(void ***)base;
        }
        for (size_t i = 0; i < n && rc == 0; i++) {
            if (fd->type == PROTOBUF_C_TYPE_STRING) {
                rc = walk_string((char **)&items[i], text_kind(fd->name), w);
            } else if (items[i] != NULL) {
                rc = erase_walk_msg(items[i], w);
            }
        }
    }
    return rc;
}

/* ---- Changes noted during a scan ------------------------------------------ */

struct change {
    uint8_t *key; /* the old key; deleted unless equal to the new one */
    size_t klen;
    uint8_t *nkey; /* NULL: only delete */
    size_t nklen;
    uint8_t *val;
    size_t vlen;
};

struct changes {
    struct change *v;
    size_t n;
    size_t cap;
};

static void changes_free(struct changes *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].key);
        free(c->v[i].nkey);
        free(c->v[i].val);
    }
    free(c->v);
    memset(c, 0, sizeof(*c));
}

/* Notes a change; nkey NULL deletes key. Copies every buffer. */
static int changes_add(struct changes *c, const uint8_t *key, size_t klen, const uint8_t *nkey,
                       size_t nklen, const uint8_t *val, size_t vlen)
{
    struct change *e;

    if (GROW_ARRAY(c->v, c->cap, c->n + 1, 16) < 0) {
        return -ENOMEM;
    }
    e = &c->v[c->n];
    memset(e, 0, sizeof(*e));
    e->key = malloc(klen);
    e->klen = klen;
    if (e->key == NULL) {
        return -ENOMEM;
    }
    memcpy(e->key, key, klen);
    c->n++;
    if (nkey != NULL) {
        e->nkey = malloc(nklen);
        e->val = malloc(vlen > 0 ? vlen : 1);
        if (e->nkey == NULL || e->val == NULL) {
            return -ENOMEM;
        }
        memcpy(e->nkey, nkey, nklen);
        e->nklen = nklen;
        if (vlen > 0) {
            memcpy(e->val, val, vlen);
        }
        e->vlen = vlen;
    }
    return 0;
}

/* Applies the noted changes to dbi: every deletion first, then every put,
 * so that a key moved onto a key that is itself moved away is not lost. */
static int changes_apply(struct store_txn *t, MDB_dbi dbi, const struct changes *c)
{
    int rc = 0;

    for (size_t i = 0; i < c->n && rc == 0; i++) {
        const struct change *e = &c->v[i];

        if (e->nkey == NULL || e->nklen != e->klen || memcmp(e->nkey, e->key, e->klen) != 0) {
            rc = store_txn_del(t, dbi, e->key, e->klen);
        }
    }
    for (size_t i = 0; i < c->n && rc == 0; i++) {
        const struct change *e = &c->v[i];

        if (e->nkey != NULL) {
            rc = store_txn_put_raw(t, dbi, e->nkey, e->nklen, e->val, e->vlen, NULL);
        }
    }
    return rc;
}

/* ---- The erasure ------------------------------------------------------------ */

/* How a database's keys are laid out, one letter per part: 'p' a person's
 * id (length byte and bytes), 'i' another id, 'd' a day (4 bytes), 'u' a
 * uuid (16), 't' a time (8), 's' the rest, a plan's scope ("line:<id>"
 * names the person), 'r' the rest, whatever it is. */
struct db_spec {
    MDB_dbi dbi;
    const char *key;
    const ProtobufCMessageDescriptor *msg; /* the value's type; NULL: raw */
    int raw_id_value;                      /* the value is a person's id (lines) */
    int delete_if_named; /* delete the person's: 1 the key is the id (credentials), 2 the value
                            is an expiry (8 bytes) and the id (sign-in links), 3 the value is
                            an ApiToken of theirs */
};

struct erase_ctx {
    struct store_txn *t;
    struct erase_request *r;
    struct erase_pat pats[ERASE_MAX_PARTS + 3];
    size_t npats;
    char parts[ERASE_MAX_PARTS][ERASE_PART_MAX];
    const struct db_spec *spec;
    struct changes ch;
    char scope_from[ERASE_PART_MAX]; /* "line:<id>" */
    char scope_to[ERASE_PART_MAX];   /* "line:<pseudonym>" */
};

/* Rewrites key by spec, moving person ids equal to e->r->id to the
 * pseudonym. Returns 1 if it changed, 0 if not, -EIO for a key that does
 * not follow spec (left alone by the caller). */
static int rekey(const struct erase_ctx *e, const uint8_t *key, size_t klen, const char *spec,
                 struct keys_buf *out)
{
    size_t pos = 0, idlen = strlen(e->r->id);
    int changed = 0;

    keys_buf_reset(out);
    for (const char *s = spec; *s != '\0'; s++) {
        size_t n;

        switch (*s) {
        case 'p':
        case 'i':
            if (pos >= klen || key[pos] == 0 || key[pos] > klen - pos - 1) {
                return -EIO;
            }
            n = key[pos];
            if (*s == 'p' && n == idlen && memcmp(key + pos + 1, e->r->id, n) == 0) {
                keys_buf_id(out, e->r->pseudonym);
                changed = 1;
            } else {
                keys_buf_raw(out, key + pos, n + 1);
            }
            pos += n + 1;
            continue;
        case 'd':
            n = 4;
            break;
        case 'u':
            n = KEYS_UUID_LEN;
            break;
        case 't':
            n = KEYS_TIME_LEN;
            break;
        case 's':
            n = klen - pos;
            if (n == strlen(e->scope_from) && memcmp(key + pos, e->scope_from, n) == 0) {
                keys_buf_raw(out, (const uint8_t *)e->scope_to, strlen(e->scope_to));
                pos += n;
                changed = 1;
                continue;
            }
            break;
        default: /* 'r' */
            n = klen - pos;
            break;
        }
        if (n > klen - pos) {
            return -EIO;
        }
        keys_buf_raw(out, key + pos, n);
        pos += n;
    }
    if (pos != klen || out->err != 0) {
        return -EIO;
    }
    return changed;
}

static int erase_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct erase_ctx *e = arg;
    const struct db_spec *sp = e->spec;
    size_t idlen = strlen(e->r->id);
    struct keys_buf nk;
    ProtobufCMessage *m = NULL;
    uint8_t *packed = NULL;
    const uint8_t *nval = val;
    size_t nvlen = vlen;
    int kc = 0, vc = 0;
    int rc = 0;

    if (sp->delete_if_named) {
        /* The credentials' key is the id; a link's value its expiry and the id. */
        int named = 0;

        if (sp->delete_if_named == 1) {
            named = klen == idlen && memcmp(key, e->r->id, klen) == 0;
        } else if (sp->delete_if_named == 2) {
            named = vlen == 8 + idlen && memcmp(val + 8, e->r->id, idlen) == 0;
        } else {
            Coachq__V1__ApiToken *tok = coachq__v1__api_token__unpack(NULL, vlen, val);

            /* Tokens are credentials too: the person's go; a token that
             * does not decode is verify's to report. */
            named = tok != NULL && strcmp(tok->user_id, e->r->id) == 0;
            coachq__v1__api_token__free_unpacked(tok, NULL);
        }

        if (named) {
            e->r->counts.creds++;
            return changes_add(&e->ch, key, klen, NULL, 0, NULL, 0);
        }
        if (sp->msg == NULL) {
            return 0;
        }
        /* Others' tokens: their free text is walked like any record's. */
    }
    if (strcmp(sp->key, "r") != 0) {
        kc = rekey(e, key, klen, sp->key, &nk);
        if (kc < 0) {
            return 0; /* not a key of this layout: not ours to judge */
        }
    }
    if (sp->raw_id_value && vlen == idlen && memcmp(val, e->r->id, idlen) == 0) {
        nval = (const uint8_t *)e->r->pseudonym;
        nvlen = strlen(e->r->pseudonym);
        vc = 1;
    } else if (sp->msg != NULL) {
        struct erase_walk w;

        memset(&w, 0, sizeof(w));
        w.pats = e->pats;
        w.npats = e->npats;
        w.from = e->r->id;
        w.to = e->r->pseudonym;
        w.scope_from = e->scope_from;
        w.scope_to = e->scope_to;
        m = protobuf_c_message_unpack(sp->msg, NULL, vlen, val);
        if (m == NULL) {
            return 0; /* a value that does not decode is verify's to report */
        }
        rc = erase_walk_msg(m, &w);
        if (rc == 0 && w.changed > 0) {
            nvlen = protobuf_c_message_get_packed_size(m);
            packed = malloc(nvlen > 0 ? nvlen : 1);
            if (packed == NULL) {
                rc = -ENOMEM;
            } else {
                protobuf_c_message_pack(m, packed);
                nval = packed;
                vc = 1;
            }
        }
    }
    if (rc == 0 && (kc || vc)) {
        if (kc) {
            e->r->counts.keys++;
        }
        if (vc && sp->dbi == e->t->s->dbi_audit) {
            e->r->counts.audit++;
        } else if (vc) {
            e->r->counts.values++;
        }
        rc = changes_add(&e->ch, key, klen, kc ? nk.b : key, kc ? nk.len : klen, nval, nvlen);
    }
    free(packed);
    if (m != NULL) {
        protobuf_c_message_free_unpacked(m, NULL);
    }
    return rc;
}

/* Rewrites one stored observation version (key: its sequence number). */
static int erase_record(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct erase_ctx *e = arg;
    Coachq__V1__StoredObservation *rec;
    const Coachq__V1__Observation *o;
    struct erase_walk w;
    uint8_t *packed = NULL;
    size_t n;
    int rc;

    rc = obs_codec_decode(e->t, val, vlen, NULL, "erase", klen == 8 ? keys_get_be64(key) : 0, &rec);
    if (rc == -EIO || (rc == 0 && rec->observation == NULL)) {
        coachq__v1__stored_observation__free_unpacked(rec, NULL);
        return 0; /* verify reports a record that does not decode */
    }
    if (rc != 0) {
        return rc;
    }
    o = rec->observation;
    memset(&w, 0, sizeof(w));
    w.from = e->r->id;
    w.to = e->r->pseudonym;
    w.blank = (o->coach_id != NULL && strcmp(o->coach_id, e->r->id) == 0) ||
              (o->coachee_id != NULL && strcmp(o->coachee_id, e->r->id) == 0);
    w.pats = e->pats;
    w.npats = e->npats;
    rc = erase_walk_msg(&rec->base, &w);
    if (rc == 0 && w.changed > 0) {
        e->r->counts.records++;
        e->r->counts.stripped += w.blank != 0;
        e->r->counts.texts += w.texts;
        /* Back in the stored form (obs_codec.h). */
        rc = obs_codec_pack(e->t, rec, &packed, &n);
        if (rc == 0) {
            rc = changes_add(&e->ch, key, klen, key, klen, packed, n);
        }
    }
    free(packed);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    return rc;
}

/* A fresh pseudonym that names nobody yet. */
static int erase_pseudonym(struct store_txn *t, char out[ERASE_PSEUDONYM_LEN + 1])
{
    for (int tries = 0; tries < 16; tries++) {
        uint8_t raw[4];
        MDB_val v;
        int rc;

        if (RAND_bytes(raw, sizeof(raw)) != 1) {
            return -EIO;
        }
        snprintf(out, ERASE_PSEUDONYM_LEN + 1, ERASE_PSEUDONYM_PREFIX "%02x%02x%02x%02x", raw[0],
                 raw[1], raw[2], raw[3]);
        rc = store_txn_get_raw(t, t->s->dbi_people, (const uint8_t *)out, strlen(out), &v);
        if (rc == -ENOENT) {
            return 0;
        }
        if (rc < 0) {
            return rc;
        }
    }
    return -EEXIST;
}

/* The patterns: e-mail, full name, the name's parts of 3 bytes or more
 * (redacted), and the id (the pseudonym); longest first, so that where two
 * match at one place the longer wins. */
static void erase_patterns(struct erase_ctx *e, const Coachq__V1__Person *p)
{
    const char *name = p->name != NULL ? p->name : "";
    size_t np = 0;

    e->npats = 0;
    if (p->email != NULL && p->email[0] != '\0') {
        e->pats[e->npats++] = (struct erase_pat){p->email, ERASE_REDACTED, 0};
    }
    if (name[0] != '\0') {
        e->pats[e->npats++] = (struct erase_pat){name, ERASE_REDACTED, 0};
    }
    /* Ids are exact: "zelda" the id is not "Zelda" somebody's first name. */
    e->pats[e->npats++] = (struct erase_pat){e->r->id, e->r->pseudonym, 1};
    for (const char *s = name; *s != '\0' && np < ERASE_MAX_PARTS;) {
        size_t len = 0;

        while (*s != '\0' && !word_byte((unsigned char)*s)) {
            s++;
        }
        while (s[len] != '\0' && word_byte((unsigned char)s[len])) {
            len++;
        }
        if (len >= 3 && len < sizeof(e->parts[0]) && len < strlen(name)) {
            memcpy(e->parts[np], s, len);
            e->parts[np][len] = '\0';
            e->pats[e->npats++] = (struct erase_pat){e->parts[np++], ERASE_REDACTED, 0};
        }
        s += len;
    }
    for (size_t i = 1; i < e->npats; i++) {
        for (size_t j = i; j > 0 && strlen(e->pats[j].pat) > strlen(e->pats[j - 1].pat); j--) {
            struct erase_pat tp = e->pats[j];

            e->pats[j] = e->pats[j - 1];
            e->pats[j - 1] = tp;
        }
    }
}

/* Every entry of a database, copied: u32 key length, u32 value length,
 * the key, the value; one after the other in key order. */
/*
 * Writes dbi's tree afresh: its entries are copied, the database emptied
 * (its pages freed) and the entries put back in order. LMDB keeps a
 * deleted key as the separator in a branch page when it was the first key
 * of a leaf page, and a compacted copy (mdb_copy -c) copies branch pages as
 * they are: without this, the erased id would survive in the compacted
 * file. Costs a copy of the database in memory.
 */
static int erase_fresh_tree(struct store_txn *t, MDB_dbi dbi)
{
    struct store_tree_copy c = {NULL, 0, 0, 0};
    int rc;

    rc = store_txn_scan(t, dbi, NULL, 0, 0, store_tree_copy_one, &c);
    if (rc == 0) {
        return store_tree_refill(t, dbi, &c);
    }
    free(c.b);
    return rc;
}

/* Walks one database with erase_one() and applies what it noted; a
 * database whose keys named the person is written afresh. */
static int erase_db(struct erase_ctx *e, const struct db_spec *sp)
{
    uint64_t keys = e->r->counts.keys + e->r->counts.creds;
    int rc;

    e->spec = sp;
    rc = store_txn_scan(e->t, sp->dbi, NULL, 0, 0, erase_one, e);
    if (rc == 0) {
        rc = changes_apply(e->t, sp->dbi, &e->ch);
    }
    changes_free(&e->ch);
    if (rc == 0 && e->r->counts.keys + e->r->counts.creds != keys) {
        rc = erase_fresh_tree(e->t, sp->dbi);
    }
    return rc;
}

/* The person's record becomes the pseudonym's. */
static int erase_person_record(struct erase_ctx *e, const Coachq__V1__Person *old)
{
    Coachq__V1__Person p = *old;
    int rc;

    p.id = e->r->pseudonym;
    p.name = (char *)ERASE_NAME;
    p.email = (char *)"";
    p.disabled = 1;
    p.n_cert_sha256 = 0;
    p.cert_sha256 = NULL;
    p.updated_at_ms = e->r->now_ms;
    p.erased_at_ms = e->r->now_ms > 0 ? e->r->now_ms : 1;
    rc = store_txn_del(e->t, e->t->s->dbi_people, (const uint8_t *)e->r->id, strlen(e->r->id));
    if (rc == 0) {
        rc = people_put(e->t, &p, NULL);
    }
    return rc;
}

int erase_person_txn(struct store_txn *t, struct erase_request *r)
{
    struct store *s = t->s;
    const struct db_spec specs[] = {
        {s->dbi_lines, "pd", NULL, 1, 0},
        {s->dbi_reports, "pdp", NULL, 0, 0},
        {s->dbi_enrolments, "ip", &coachq__v1__enrolment__descriptor, 0, 0},
        {s->dbi_certs, "pid", &coachq__v1__certification__descriptor, 0, 0},
        {s->dbi_refs, "r", &coachq__v1__calibration_reference__descriptor, 0, 0},
        {s->dbi_attempts, "pu", NULL, 0, 0},
        {s->dbi_callog, "put", NULL, 0, 0},
        {s->dbi_calres, "pit", &coachq__v1__calibration_result__descriptor, 0, 0},
        {s->dbi_outcomes, "pr", &coachq__v1__outcome__descriptor, 0, 0},
        {s->dbi_by_coach, "pr", NULL, 0, 0},
        {s->dbi_by_observer, "pr", NULL, 0, 0},
        {s->dbi_by_coachee, "pr", NULL, 0, 0},
        {s->dbi_audit, "r", &coachq__v1__audit_entry__descriptor, 0, 0},
        {s->dbi_creds, "r", NULL, 0, 1},
        {s->dbi_links, "r", NULL, 0, 2},
        {s->dbi_tokens, "r", &coachq__v1__api_token__descriptor, 0, 3},
        {s->dbi_held, "pdp", NULL, 0, 0},
        {s->dbi_asg, "r", &coachq__v1__assignment__descriptor, 0, 0},
        {s->dbi_asg_draws, "r", &coachq__v1__assignment_draw__descriptor, 0, 0},
        {s->dbi_asg_open, "ppdu", NULL, 0, 0},
        {s->dbi_asg_by_manager, "pdu", NULL, 0, 0},
        {s->dbi_plans, "s", &coachq__v1__coverage_plan__descriptor, 0, 0},
        {s->dbi_asg_obs_due, "pdu", NULL, 0, 0},
    };
    Coachq__V1__Person *p = NULL;
    struct erase_ctx *e = NULL;
    char detail[400];
    int rc;

    memset(r->pseudonym, 0, sizeof(r->pseudonym));
    memset(&r->counts, 0, sizeof(r->counts));
    if (!t->write) {
        return -EROFS;
    }
    if (r->id == NULL || validate_id(r->id) != 0) {
        return -EINVAL;
    }
    rc = people_get(t, r->id, &p);
    if (rc != 0) {
        return rc;
    }
    if (p->erased_at_ms != 0) {
        snprintf(r->pseudonym, sizeof(r->pseudonym), "%s", p->id);
        rc = -EALREADY;
        goto out;
    }
    rc = -ENOMEM;
    e = calloc(1, sizeof(*e));
    if (e == NULL) {
        goto out;
    }
    e->t = t;
    e->r = r;
    rc = erase_pseudonym(t, r->pseudonym);
    if (rc != 0) {
        goto out;
    }
    erase_patterns(e, p);
    /* A second-level manager's coverage plan is keyed and scoped by the
     * line; assignments and draws copy the scope. */
    snprintf(e->scope_from, sizeof(e->scope_from), "line:%s", r->id);
    snprintf(e->scope_to, sizeof(e->scope_to), "line:%s", r->pseudonym);
    rc = erase_person_record(e, p);
    if (rc == 0) {
        rc = erase_fresh_tree(t, s->dbi_people);
    }
    for (size_t i = 0; rc == 0 && i < sizeof(specs) / sizeof(specs[0]); i++) {
        rc = erase_db(e, &specs[i]);
    }
    if (rc == 0) {
        rc = obs_scan_txn(t, erase_record, e);
        if (rc == 0) {
            rc = changes_apply(t, s->dbi_obs, &e->ch);
        }
        changes_free(&e->ch);
    }
    if (rc == 0) {
        rc = agg_rebuild_txn(t);
    }
    if (rc == 0) {
        /* The coaching days' counts are keyed by people's ids. */
        rc = cadence_rebuild_txn(t, NULL);
    }
    if (rc == 0) {
        /* The action records copy ids and texts from the records: derived
         * again from the pseudonymised ones. */
        rc = actions_rebuild_txn(t, NULL);
    }
    if (rc == 0) {
        MDB_stat st;

        if (mdb_stat(t->txn, s->dbi_agg, &st) == 0) {
            r->counts.agg_keys = st.ms_entries;
        }
        snprintf(detail, sizeof(detail),
                 "records=%" PRIu64 "; stripped=%" PRIu64 "; texts=%" PRIu64 "; keys=%" PRIu64
                 "; values=%" PRIu64 "; audit=%" PRIu64 "; credentials=%" PRIu64,
                 r->counts.records, r->counts.stripped, r->counts.texts, r->counts.keys,
                 r->counts.values, r->counts.audit, r->counts.creds);
        rc = audit_append(t, r->now_ms, r->actor, "person.erase", r->pseudonym, detail, r->origin,
                          NULL);
    }
out:
    if (e != NULL) {
        changes_free(&e->ch);
        free(e);
    }
    coachq__v1__person__free_unpacked(p, NULL);
    return rc;
}
