/*
 * erase: a person's erasure from the store (`coachqd erase`,
 * docs/operations.md "Retention and erasure").
 *
 * Erasing person X, in one write transaction:
 *
 *   - X's Person record is replaced by a pseudonym: a new random id
 *     "erased-<8 hex>" (no function of X, so nobody can confirm a guess
 *     from the store), name "Erased person", no e-mail, no pinned
 *     certificate, disabled, erased_at_ms set; the roles are kept, so the
 *     records other people rely on (X as coach, coachee, observer, action
 *     owner, manager in a reporting line, enrolled in a cohort, subject of
 *     a business result, certified observer) keep their structure under
 *     the pseudonym;
 *   - every key that names X (reporting lines, the reports index,
 *     enrolments, certifications, calibration attempts and results,
 *     business results, the three observation indexes) is moved to the
 *     pseudonym, and every value that names X is rewritten;
 *   - X's password hash and one-time sign-in links are deleted;
 *   - free text: in the observations where X was the coach or the coachee
 *     every free text (notes, evidence, marker notes, action text) is
 *     removed, since it describes X; everywhere else (other observations,
 *     calibration references, audit entries) each whole-word,
 *     ASCII-case-insensitive occurrence of X's e-mail, full name or a part
 *     of the name of at least three bytes becomes "[erased]", and of X's
 *     id (in its exact case) the pseudonym;
 *   - audit entries naming X are rewritten to the pseudonym (this is the
 *     one change ever made to past audit entries), and one "person.erase"
 *     entry records that an erasure took place, with counts only;
 *   - the dashboards' aggregates are rebuilt from the rewritten records.
 *
 * LMDB keeps freed pages in the file until they are reused, so the old
 * bytes remain in data.mdb until a compacted copy replaces it
 * (mdb_copy -c); backups taken before hold them too.
 *
 * Every function here works in a transaction of the caller's; strings are
 * borrowed for the call.
 */
#ifndef COACHQ_ERASE_H
#define COACHQ_ERASE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "store.h"

/* What an erasure changed (or, for a dry run aborted after it, would). */
struct erase_counts {
    uint64_t records;  /* observation versions rewritten */
    uint64_t stripped; /* of which had every free text removed (X took part) */
    uint64_t texts;    /* free-text fields redacted (a name or id in them) */
    uint64_t keys;     /* keys moved to the pseudonym, outside people */
    uint64_t values;   /* other values rewritten (lines, certifications, ...) */
    uint64_t audit;    /* audit entries rewritten */
    uint64_t creds;    /* password hashes and sign-in links deleted */
    uint64_t agg_keys; /* aggregate values after the rebuild */
};

#define ERASE_PSEUDONYM_PREFIX "erased-"
#define ERASE_PSEUDONYM_LEN 15 /* "erased-" and 8 hex digits */
#define ERASE_NAME "Erased person"
#define ERASE_REDACTED "[erased]"

struct erase_request {
    const char *id;    /* the person to erase (borrowed) */
    int64_t now_ms;    /* erased_at_ms, the audit entry's time */
    const char *actor; /* the audit entry's actor and origin (borrowed) */
    const char *origin;
    /* Out. */
    char pseudonym[ERASE_PSEUDONYM_LEN + 1];
    struct erase_counts counts;
};

/*
 * Erases r->id (write transaction; see above). Fills r->pseudonym and
 * r->counts afresh on every call (the writer may run it twice). Returns 0,
 * -EINVAL (not a valid id), -ENOENT (no such person), -EALREADY (r->id is
 * an erased person's pseudonym: nothing to do; r->pseudonym is set), -EROFS
 * (a read transaction), -ENOMEM, -EIO or a store code to pass on.
 */
int erase_person_txn(struct store_txn *t, struct erase_request *r);

/* A text to redact: pat (matched in any ASCII case unless exact) becomes
 * repl. Both strings borrowed. */
struct erase_pat {
    const char *pat;
    const char *repl;
    int exact;
};

/*
 * Replaces, in s, every whole-word occurrence of pats[i].pat by
 * pats[i].repl (n of them; where several match at one position the first
 * wins, so the caller puts longer ones first). A word character is an
 * ASCII letter or digit, '_' or any byte >= 0x80, and a '.' or '@' between
 * two of them (inside an id or an e-mail address); a match must not have
 * one on either side unless the pattern's own edge is not one. *out
 * (caller owns, free()) is NULL when nothing matched. Returns the number
 * of matches replaced, or -ENOMEM.
 */
int erase_redact(const char *s, const struct erase_pat *pats, size_t n, char **out);

/* How erase_walk_msg() rewrites a message (pats, from and to borrowed for
 * the call). */
struct erase_walk {
    int blank;
    const struct erase_pat *pats;
    size_t npats;
    const char *from; /* NULL: no id is replaced */
    const char *to;
    const char *scope_from; /* NULL, or a plan scope "line:<id>" replaced whole */
    const char *scope_to;
    uint64_t changed;
    uint64_t texts;
};
/*
 * The free text of a message, to blank or redact: every string field,
 * however deep in m, whose name is one of notes, evidence, note, text,
 * detail, title, reason, manager_comments or reference (and, for ids set
 * to replace, any string field equal to from). A field's old string is
 * freed with free() and the new one malloc'ed, so m must have been
 * unpacked with the default allocator. With blank set, free text becomes
 * empty and a reference (a recording's URL or CRM call id, which a
 * recording needs) becomes ERASE_REDACTED; otherwise it is redacted with
 * pats (erase_redact()). Any string field (free text or not) equal to
 * from (when not NULL) becomes to, and one equal to scope_from (when not
 * NULL) becomes scope_to. *changed counts the fields changed and
 * w->texts the free-text fields among them. Returns 0 or -ENOMEM.
 */
int erase_walk_msg(ProtobufCMessage *m, struct erase_walk *w);

#endif
