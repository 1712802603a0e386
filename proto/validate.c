#include "validate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* 2000-01-01 and 2100-01-01 in seconds since the epoch: a session outside
 * these years is a unit mistake (milliseconds, or a missing value). */
#define VALIDATE_MIN_TIME 946684800LL
#define VALIDATE_MAX_TIME 4102444800LL

/*
 * A field's name as an error reports it: leaf alone, or list[i].leaf, with
 * [j] after it when j is not VNAME_NONE. It is made into text only when a
 * check fails, so that checking a valid record formats nothing: the server
 * checks every observation on its loop thread, each with a dozen ratings.
 */
struct vname {
    const char *list; /* NULL: the name is leaf alone */
    size_t i;
    const char *leaf;
    size_t j;
};
#define VNAME_NONE SIZE_MAX
#define FIELD(name) (&(const struct vname){NULL, 0, (name), VNAME_NONE})
#define ITEM(list, i, leaf) (&(const struct vname){(list), (i), (leaf), VNAME_NONE})

static int vfail(struct validate_error *err, const char *prefix, const struct vname *name,
                 const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static int vfail(struct validate_error *err, const char *prefix, const struct vname *name,
                 const char *fmt, va_list ap)
{
    size_t cap = sizeof(err->field);
    int n;

    err->code = COACHQ__V1__CODE__INVALID_ARGUMENT;
    if (name->list == NULL) {
        n = snprintf(err->field, cap, "%s%s%s", prefix, prefix[0] ? "." : "", name->leaf);
    } else {
        n = snprintf(err->field, cap, "%s%s%s[%zu].%s", prefix, prefix[0] ? "." : "", name->list,
                     name->i, name->leaf);
    }
    if (name->j != VNAME_NONE && n >= 0 && (size_t)n < cap) {
        snprintf(err->field + n, cap - (size_t)n, "[%zu]", name->j);
    }
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    return -EINVAL;
}

static int fail(struct validate_error *err, const char *prefix, const char *field, const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));

static int fail(struct validate_error *err, const char *prefix, const char *field, const char *fmt,
                ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = vfail(err, prefix, FIELD(field), fmt, ap);
    va_end(ap);
    return rc;
}

/* fail() of an item's field (struct vname). */
static int fail_at(struct validate_error *err, const char *prefix, const struct vname *name,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail_at(struct validate_error *err, const char *prefix, const struct vname *name,
                   const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = vfail(err, prefix, name, fmt, ap);
    va_end(ap);
    return rc;
}

int validate_id(const char *s)
{
    size_t n = 0;

    if (s == NULL) {
        return -EINVAL;
    }
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '@' || c == '-';
        if (!ok || n >= VALIDATE_MAX_ID) {
            return -EINVAL;
        }
    }
    return n == 0 ? -EINVAL : 0;
}

size_t validate_utf8_len(const char *str, size_t avail)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned c = s[0];
    size_t n;
    unsigned cp;

    if (c < 0x80) {
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n > avail) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* Overlong forms, surrogates and code points above U+10FFFF. */
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return n;
}

int validate_utf8(const char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        size_t n = validate_utf8_len(s + i, len - i);

        if (n == 0) {
            return -EINVAL;
        }
        i += n;
    }
    return 0;
}

/* Whether the code point cp may stand in text of the kind asked for:
 * nothing of C0 but tab and newline (and those only in multi-line text),
 * no DEL, and no C1 controls, which terminals act on. */
static int text_char_ok(unsigned cp, int multiline)
{
    if (cp == '\t' || cp == '\n') {
        return multiline;
    }
    return cp >= 0x20 && cp != 0x7f && (cp < 0x80 || cp > 0x9f);
}

/* The code point of the n-byte valid UTF-8 character at s. */
static unsigned utf8_decode(const unsigned char *s, size_t n)
{
    static const unsigned lead_mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
    unsigned cp = s[0] & lead_mask[n];

    for (size_t i = 1; i < n; i++) {
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    return cp;
}

/* Whether all eight bytes at u are printable ASCII (0x20 to 0x7e). A byte
 * below 0x20 borrows into its top bit when 0x20 is taken from it (counted
 * only where the byte's own top bit is clear, and a borrow can cross into a
 * higher byte only from a byte that is itself below 0x20); one of 0x7f or
 * above has its top bit set in itself or once 1 is added (a carry can
 * leave only a byte of 0xff, whose own top bit is set). */
static int text_word_printable(const unsigned char *u)
{
    const uint64_t ones = 0x0101010101010101ULL;
    const uint64_t tops = 0x8080808080808080ULL;
    uint64_t w;

    memcpy(&w, u, sizeof(w));
    return (((w - 0x20 * ones) & ~w) | w | (w + ones)) & tops ? 0 : 1;
}

int validate_text(const char *s, size_t len, int multiline, size_t *bad)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        size_t n;

        /* Printable ASCII, most of any text, is decided eight bytes at a
         * time while they are all printable, then byte by byte; only the
         * rest needs a character decoded. */
        if (len - i >= 8 && text_word_printable(u + i)) {
            i += 8;
            continue;
        }
        if (u[i] >= 0x20 && u[i] < 0x7f) {
            i++;
            continue;
        }
        n = validate_utf8_len(s + i, len - i);

        if (n == 0 || !text_char_ok(utf8_decode((const unsigned char *)s + i, n), multiline)) {
            if (bad != NULL) {
                *bad = i;
            }
            return -EINVAL;
        }
        i += n;
    }
    return 0;
}

const char *validate_text_problem(const char *s, size_t len, size_t at)
{
    size_t n = validate_utf8_len(s + at, len - at);

    if (n == 0) {
        return "is not valid UTF-8 text";
    }
    if (s[at] == '\0') {
        return "contains a NUL character, which coachq cannot store; remove it";
    }
    if (s[at] == '\t' || s[at] == '\n') {
        return "contains a tab or line break; it must be one line";
    }
    return "contains a control character; text may hold tabs and line breaks but no other "
           "control characters";
}

/* ---- Strings on the wire ------------------------------------------------ */

#define WIRE_MAX_DEPTH 16
#define WIRE_MAX_FIELDS 64

/* Reads a varint at *p (below end). Returns 0 or -EBADMSG. */
static int wire_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;

    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t b;

        if (*p >= end) {
            return -EBADMSG;
        }
        b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return 0;
        }
    }
    return -EBADMSG;
}

/*
 * Where the walk is: the field of the message above that holds the message
 * being walked (NULL at the top) and its index among that field's values.
 * The path is written out only when a check fails (wire_path()), so a valid
 * frame costs no formatting.
 */
struct wire_at {
    const struct wire_at *up;
    const ProtobufCFieldDescriptor *f;
    unsigned index;
};

/* Writes the path of at, e.g. "ratings[2].evidence", into path (cap
 * bytes); a path that does not fit is cut. */
static void wire_path(const struct wire_at *at, char *path, size_t cap)
{
    const struct wire_at *chain[WIRE_MAX_DEPTH + 2];
    size_t n = 0, used = 0;

    for (; at != NULL && n < sizeof(chain) / sizeof(chain[0]); at = at->up) {
        chain[n++] = at;
    }
    path[0] = '\0';
    while (n > 0 && used + 1 < cap) {
        const struct wire_at *a = chain[--n];
        int w;

        if (a->f->label == PROTOBUF_C_LABEL_REPEATED) {
            w = snprintf(path + used, cap - used, "%s%s[%u]", used > 0 ? "." : "", a->f->name,
                         a->index);
        } else {
            w = snprintf(path + used, cap - used, "%s%s", used > 0 ? "." : "", a->f->name);
        }
        if (w < 0) {
            return;
        }
        used = (size_t)w >= cap - used ? cap - 1 : used + (size_t)w;
    }
}

/* Walks one message's fields; see validate_wire_text(). */
static int wire_walk(const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end,
                     const struct wire_at *up, int depth, char *path, size_t cap, const char **why)
{
    unsigned seen[WIRE_MAX_FIELDS] = {0};

    if (depth > WIRE_MAX_DEPTH) {
        return -EBADMSG;
    }
    while (p < end) {
        uint64_t key;
        uint64_t len;
        const ProtobufCFieldDescriptor *f;
        unsigned index = 0;
        int rc = wire_varint(&p, end, &key);

        if (rc < 0 || key >> 3 > UINT32_MAX) {
            return -EBADMSG;
        }
        if (key >> 3 == 0) {
            /* Field number 0 does not exist. protobuf-c takes one written in
             * two bytes as an unknown field, and drops it when a later copy
             * of the same message field is merged over it: the frame then
             * decodes, and only this walk sees it. Inside a message field
             * it is that field's refusal; at the top, not a message. */
            if (up == NULL) {
                return -EBADMSG;
            }
            *why = "holds a field number 0, which protobuf does not allow";
            wire_path(up, path, cap);
            return -EINVAL;
        }
        f = protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3));
        if (f != NULL && (size_t)(f - d->fields) < WIRE_MAX_FIELDS) {
            index = seen[f - d->fields]++;
        }
        switch (key & 7) {
        case 0:
            rc = wire_varint(&p, end, &len);
            break;
        case 1:
            rc = end - p >= 8 ? 0 : -EBADMSG;
            p += rc == 0 ? 8 : 0;
            break;
        case 5:
            rc = end - p >= 4 ? 0 : -EBADMSG;
            p += rc == 0 ? 4 : 0;
            break;
        case 2:
            rc = wire_varint(&p, end, &len);
            if (rc < 0 || len > (uint64_t)(end - p)) {
                return -EBADMSG;
            }
            if (f != NULL && f->type == PROTOBUF_C_TYPE_STRING) {
                size_t bad;

                if (validate_text((const char *)p, (size_t)len, 1, &bad) < 0) {
                    struct wire_at here = {up, f, index};

                    *why = validate_text_problem((const char *)p, (size_t)len, bad);
                    wire_path(&here, path, cap);
                    return -EINVAL;
                }
            } else if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                struct wire_at here = {up, f, index};

                rc = wire_walk(f->descriptor, p, p + len, &here, depth + 1, path, cap, why);
                if (rc < 0) {
                    return rc;
                }
            }
            p += len;
            break;
        default:
            /* Groups (3, 4) are not proto3, and 6 and 7 do not exist. */
            rc = -EBADMSG;
            break;
        }
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

int validate_wire_text(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                       struct validate_error *err)
{
    const char *why = NULL;
    int rc;

    err->field[0] = '\0';
    rc = wire_walk(d, buf, buf + len, NULL, 0, err->field, sizeof(err->field), &why);
    if (rc == -EINVAL) {
        err->code = COACHQ__V1__CODE__INVALID_ARGUMENT;
        snprintf(err->message, sizeof(err->message), "%s", why);
    } else if (rc < 0) {
        err->code = COACHQ__V1__CODE__INVALID_ARGUMENT;
        snprintf(err->field, sizeof(err->field), "%s", "");
        snprintf(err->message, sizeof(err->message), "%s", "the bytes are not a protobuf message");
    }
    return rc;
}

/* Checks free text: validate_text() text within max bytes. */
static int check_text(struct validate_error *err, const char *prefix, const struct vname *field,
                      const char *s, size_t max, int required)
{
    size_t n = s == NULL ? 0 : strlen(s);
    size_t bad;

    if (n == 0) {
        if (required) {
            return fail_at(err, prefix, field, "is required and may not be empty");
        }
        return 0;
    }
    if (n > max) {
        return fail_at(err, prefix, field, "is %zu bytes long; shorten it to at most %zu bytes", n,
                       max);
    }
    if (validate_text(s, n, 1, &bad) < 0) {
        return fail_at(err, prefix, field, "%s", validate_text_problem(s, n, bad));
    }
    return 0;
}

static int check_id(struct validate_error *err, const char *prefix, const struct vname *field,
                    const char *s)
{
    if (s == NULL || s[0] == '\0') {
        return fail_at(err, prefix, field, "is required: give the person's or rubric's id");
    }
    if (validate_id(s) < 0) {
        return fail_at(err, prefix, field,
                       "must be 1 to %d characters of letters, digits, '.', '_', '@' or '-'",
                       VALIDATE_MAX_ID);
    }
    return 0;
}

static int check_rating(const Coachq__V1__Rating *r, size_t i, const char *prefix,
                        struct validate_error *err)
{
    int rc;

    rc = check_id(err, prefix, ITEM("ratings", i, "behaviour_id"), r->behaviour_id);
    if (rc < 0) {
        return rc;
    }
    /* The store's own form of a rating (store/obs_codec.h): a client that
     * set it could make a stored record name another behaviour than the
     * one it rated, so it is refused rather than ignored. */
    if (r->behaviour_place != 0) {
        return fail_at(err, prefix, ITEM("ratings", i, "behaviour_place"),
                       "is kept by the server only and must not be sent; name the behaviour by "
                       "behaviour_id");
    }
    if (r->not_applicable && r->score != 0) {
        return fail_at(err, prefix, ITEM("ratings", i, "score"),
                       "is %u but the rating is marked not applicable; give a score or mark it "
                       "not applicable, not both",
                       r->score);
    }
    if (!r->not_applicable && (r->score < 1 || r->score > 4)) {
        return fail_at(err, prefix, ITEM("ratings", i, "score"),
                       "is %u; a score must be 1 (not demonstrated) to 4 (exemplary), or mark the "
                       "behaviour not applicable",
                       r->score);
    }
    return check_text(err, prefix, ITEM("ratings", i, "evidence"), r->evidence,
                      VALIDATE_MAX_EVIDENCE, 0);
}

/* A rating's evidence offset: only on a recording, and inside it. */
static int check_evidence_offset(const Coachq__V1__Observation *o, size_t i, const char *prefix,
                                 struct validate_error *err)
{
    const Coachq__V1__Rating *r = o->ratings[i];

    if (r->evidence_offset_ms == 0) {
        return 0;
    }
    if (o->recording == NULL) {
        return fail_at(err, prefix, ITEM("ratings", i, "evidence_offset_ms"),
                       "is set on a live session; evidence offsets are positions in a recording");
    }
    if (r->evidence_offset_ms > o->recording->length_ms) {
        return fail_at(err, prefix, ITEM("ratings", i, "evidence_offset_ms"),
                       "is %u ms, after the recording's end at %u ms; evidence must fall inside "
                       "the recording",
                       r->evidence_offset_ms, o->recording->length_ms);
    }
    return 0;
}

static int check_ratings(const Coachq__V1__Observation *o, const char *prefix,
                         struct validate_error *err)
{
    if (o->n_ratings == 0) {
        return fail(err, prefix, "ratings", "is empty; rate every behaviour of the rubric");
    }
    if (o->n_ratings > VALIDATE_MAX_RATINGS) {
        return fail(err, prefix, "ratings", "has %zu entries; at most %d are allowed", o->n_ratings,
                    VALIDATE_MAX_RATINGS);
    }
    for (size_t i = 0; i < o->n_ratings; i++) {
        int rc = check_rating(o->ratings[i], i, prefix, err);
        if (rc < 0) {
            return rc;
        }
        rc = check_evidence_offset(o, i, prefix, err);
        if (rc < 0) {
            return rc;
        }
        /* The list is short (capped above), so a quadratic scan is cheapest. */
        for (size_t j = 0; j < i; j++) {
            if (strcmp(o->ratings[j]->behaviour_id, o->ratings[i]->behaviour_id) == 0) {
                return fail_at(err, prefix, ITEM("ratings", i, "behaviour_id"),
                               "rates behaviour '%s' a second time (first at ratings[%zu]); rate "
                               "each behaviour once",
                               o->ratings[i]->behaviour_id, j);
            }
        }
    }
    return 0;
}

/* A marker's author: the observer on a live session; on a recording also
 * the rep or the manager, whose comments need that stage's time. */
static int check_marker_author(const Coachq__V1__Observation *o, size_t i, const char *prefix,
                               struct validate_error *err)
{
    const Coachq__V1__Marker *m = o->markers[i];

    if (m->author < COACHQ__V1__RECORDING_AUTHOR__RECORDING_AUTHOR_OBSERVER ||
        m->author > COACHQ__V1__RECORDING_AUTHOR__RECORDING_AUTHOR_MANAGER) {
        return fail_at(err, prefix, ITEM("markers", i, "author"),
                       "is %d; choose observer, rep or manager", (int)m->author);
    }
    if (m->author == COACHQ__V1__RECORDING_AUTHOR__RECORDING_AUTHOR_OBSERVER) {
        return 0;
    }
    if (o->recording == NULL) {
        return fail_at(err, prefix, ITEM("markers", i, "author"),
                       "is the %s, but only a recorded session has comments by the rep or the "
                       "manager; on a live session every marker is the observer's",
                       m->author == COACHQ__V1__RECORDING_AUTHOR__RECORDING_AUTHOR_REP ? "rep"
                                                                                       : "manager");
    }
    if (m->author == COACHQ__V1__RECORDING_AUTHOR__RECORDING_AUTHOR_REP &&
        o->recording->rep_commented_at == 0) {
        return fail(err, prefix, "recording.rep_commented_at",
                    "is missing, but markers[%zu] is the rep's comment; give the time the rep "
                    "commented",
                    i);
    }
    if (m->author == COACHQ__V1__RECORDING_AUTHOR__RECORDING_AUTHOR_MANAGER &&
        o->recording->manager_commented_at == 0) {
        return fail(err, prefix, "recording.manager_commented_at",
                    "is missing, but markers[%zu] is the manager's comment; give the time the "
                    "manager commented",
                    i);
    }
    return 0;
}

static int check_markers(const Coachq__V1__Observation *o, const char *prefix,
                         struct validate_error *err)
{

    if (o->n_markers > VALIDATE_MAX_MARKERS) {
        return fail(err, prefix, "markers", "has %zu entries; at most %d are allowed", o->n_markers,
                    VALIDATE_MAX_MARKERS);
    }
    for (size_t i = 0; i < o->n_markers; i++) {
        const Coachq__V1__Marker *m = o->markers[i];
        int rc;
        if (m->kind <= COACHQ__V1__MARKER_KIND__MARKER_KIND_UNSPECIFIED ||
            m->kind > COACHQ__V1__MARKER_KIND__MARKER_KIND_ACTION_AGREED) {
            return fail_at(err, prefix, ITEM("markers", i, "kind"),
                           "is %d, which is not a known marker kind", (int)m->kind);
        }
        if (o->recording != NULL && m->offset_ms > o->recording->length_ms) {
            return fail_at(err, prefix, ITEM("markers", i, "offset_ms"),
                           "is %u ms, after the recording's end at %u ms; markers must fall inside "
                           "the recording",
                           m->offset_ms, o->recording->length_ms);
        }
        if (o->recording == NULL && (uint64_t)m->offset_ms > (uint64_t)o->duration_s * 1000u) {
            return fail_at(err, prefix, ITEM("markers", i, "offset_ms"),
                           "is %u ms, after the session's end at %u s; markers must fall inside "
                           "the session",
                           m->offset_ms, o->duration_s);
        }
        rc = check_marker_author(o, i, prefix, err);
        if (rc < 0) {
            return rc;
        }
        rc = check_text(err, prefix, ITEM("markers", i, "note"), m->note, VALIDATE_MAX_NOTE, 0);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

static int action_id_seen(const Coachq__V1__Observation *o, size_t n,
                          const ProtobufCBinaryData *id);

/* An action's id, owner and focus: the id is empty (derived by the server)
 * or 16 bytes and unique in the observation; one or two focus entries at
 * most, behaviour ids or one skill in free text. */
static int check_action_more(const Coachq__V1__Observation *o, size_t i, const char *prefix,
                             struct validate_error *err)
{
    const Coachq__V1__Action *a = o->actions[i];
    size_t nfocus = a->n_focus_behaviours;
    int rc;

    if (a->id.len != 0 && a->id.len != 16) {
        return fail_at(err, prefix, ITEM("actions", i, "id"),
                       "is %zu bytes; it must be a 16-byte UUID made by the client, kept across "
                       "retries and amendments",
                       a->id.len);
    }
    if (a->id.len == 16 && action_id_seen(o, i, &a->id)) {
        return fail_at(err, prefix, ITEM("actions", i, "id"),
                       "is the id of an earlier action of this session; make one "
                       "id per action");
    }
    if (a->owner < COACHQ__V1__ACTION_OWNER__ACTION_OWNER_UNSPECIFIED ||
        a->owner > COACHQ__V1__ACTION_OWNER__ACTION_OWNER_MANAGER) {
        return fail_at(err, prefix, ITEM("actions", i, "owner"), "is %d; choose rep or manager",
                       (int)a->owner);
    }
    if (a->focus_skill != NULL && a->focus_skill[0] != '\0') {
        nfocus++;
    }
    if (nfocus > VALIDATE_MAX_FOCUS) {
        return fail_at(err, prefix, ITEM("actions", i, "focus_behaviours"),
                       "names %zu focus areas; good coaching picks one or two, so keep at most %d",
                       nfocus, VALIDATE_MAX_FOCUS);
    }
    for (size_t j = 0; j < a->n_focus_behaviours; j++) {
        if (a->focus_behaviours[j] == NULL || validate_id(a->focus_behaviours[j]) < 0) {
            return fail_at(err, prefix,
                           (&(const struct vname){"actions", i, "focus_behaviours", j}),
                           "must be a behaviour id of the rubric (letters, digits, '.', '_', '@', "
                           "'-'); put a rep skill in free text in focus_skill");
        }
    }
    rc = check_text(err, prefix, ITEM("actions", i, "focus_skill"), a->focus_skill,
                    VALIDATE_MAX_SKILL, 0);
    return rc;
}

static int check_actions(const Coachq__V1__Observation *o, const char *prefix,
                         struct validate_error *err)
{

    if (o->n_actions > VALIDATE_MAX_ACTIONS) {
        return fail(err, prefix, "actions", "has %zu entries; at most %d are allowed", o->n_actions,
                    VALIDATE_MAX_ACTIONS);
    }
    for (size_t i = 0; i < o->n_actions; i++) {
        const Coachq__V1__Action *a = o->actions[i];
        int rc;
        rc = check_text(err, prefix, ITEM("actions", i, "text"), a->text, VALIDATE_MAX_ACTION, 1);
        if (rc < 0) {
            return rc;
        }
        if (a->due_day > VALIDATE_MAX_DAY) {
            return fail_at(err, prefix, ITEM("actions", i, "due_day"),
                           "is day %u, after 9999-12-31; give the due date as days since "
                           "1970-01-01, or 0 for none",
                           a->due_day);
        }
        if (a->owner_id != NULL && a->owner_id[0] != '\0') {
            rc = check_id(err, prefix, ITEM("actions", i, "owner_id"), a->owner_id);
            if (rc < 0) {
                return rc;
            }
        }
        rc = check_action_more(o, i, prefix, err);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

/* True if the first n actions of o hold the 16-byte id. */
static int action_id_seen(const Coachq__V1__Observation *o, size_t n, const ProtobufCBinaryData *id)
{
    for (size_t j = 0; j < n; j++) {
        const ProtobufCBinaryData *b = &o->actions[j]->id;

        if (b->len == id->len && id->len > 0 && memcmp(b->data, id->data, id->len) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The follow-ups of actions agreed before: a known status, a 16-byte action
 * id named once, never an action agreed in this same observation. */
static int check_follow_ups(const Coachq__V1__Observation *o, const char *prefix,
                            struct validate_error *err)
{

    if (o->n_follow_ups > VALIDATE_MAX_FOLLOW_UPS) {
        return fail(err, prefix, "follow_ups", "has %zu entries; at most %d are allowed",
                    o->n_follow_ups, VALIDATE_MAX_FOLLOW_UPS);
    }
    for (size_t i = 0; i < o->n_follow_ups; i++) {
        const Coachq__V1__FollowUp *u = o->follow_ups[i];
        int rc;

        if (u->action_id.len != 16) {
            return fail_at(err, prefix, ITEM("follow_ups", i, "action_id"),
                           "is %zu bytes; it must be the 16-byte id of an action agreed in an "
                           "earlier session",
                           u->action_id.len);
        }
        for (size_t j = 0; j < i; j++) {
            if (memcmp(o->follow_ups[j]->action_id.data, u->action_id.data, 16) == 0) {
                return fail_at(err, prefix, ITEM("follow_ups", i, "action_id"),
                               "names the same action as follow_ups[%zu]; follow each action up "
                               "once per session",
                               j);
            }
        }
        if (action_id_seen(o, o->n_actions, &u->action_id)) {
            return fail_at(err, prefix, ITEM("follow_ups", i, "action_id"),
                           "is an action agreed in this same session; follow it up in a later one");
        }
        if (u->status <= COACHQ__V1__ACTION_STATUS__ACTION_STATUS_UNSPECIFIED ||
            u->status > COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DROPPED) {
            return fail_at(err, prefix, ITEM("follow_ups", i, "status"),
                           "is %d; choose open, done, partly done, not done or dropped",
                           (int)u->status);
        }
        rc = check_text(err, prefix, ITEM("follow_ups", i, "evidence"), u->evidence,
                        VALIDATE_MAX_EVIDENCE, 0);
        if (rc < 0) {
            return rc;
        }
        if (u->at != 0 && (u->at < VALIDATE_MIN_TIME || u->at >= VALIDATE_MAX_TIME)) {
            return fail_at(err, prefix, ITEM("follow_ups", i, "at"),
                           "is %lld; give the time in seconds since 1970-01-01 UTC, or 0 for the "
                           "session's start",
                           (long long)u->at);
        }
        /* The time orders an action's history (the latest session's word
         * stands), so it lies within the session that records it: never
         * before the action was agreed (an earlier session) nor after this
         * session, whatever the client's clock. */
        if (u->at != 0 &&
            (u->at < o->started_at || u->at > o->started_at + (int64_t)o->duration_s)) {
            return fail_at(err, prefix, ITEM("follow_ups", i, "at"),
                           "is %lld s %s the session's %s; a follow-up is checked during the "
                           "session that records it (started_at to started_at + duration_s), or "
                           "give none for the session's start",
                           (long long)(u->at < o->started_at
                                           ? o->started_at - u->at
                                           : u->at - o->started_at - (int64_t)o->duration_s),
                           u->at < o->started_at ? "before" : "after",
                           u->at < o->started_at ? "start" : "end");
        }
    }
    return 0;
}

int validate_observation(const Coachq__V1__Observation *o, const char *prefix,
                         struct validate_error *err)
{
    int rc;

    if (o == NULL) {
        return fail(err, "", prefix, "is missing; send the observation to submit");
    }
    if (o->id.len != 16) {
        return fail(err, prefix, "id",
                    "is %zu bytes; it must be a 16-byte UUID, made once by the client and kept "
                    "for retries",
                    o->id.len);
    }
    rc = check_id(err, prefix, FIELD("rubric_id"), o->rubric_id);
    if (rc < 0) {
        return rc;
    }
    if (o->rubric_version == 0) {
        return fail(err, prefix, "rubric_version",
                    "is missing; name the rubric version the session was scored against");
    }
    rc = check_id(err, prefix, FIELD("coach_id"), o->coach_id);
    if (rc < 0) {
        return rc;
    }
    rc = check_id(err, prefix, FIELD("coachee_id"), o->coachee_id);
    if (rc < 0) {
        return rc;
    }
    if (strcmp(o->coach_id, o->coachee_id) == 0) {
        return fail(err, prefix, "coachee_id",
                    "is the same person as coach_id; the coachee is the rep being coached");
    }
    if (o->session_type <= COACHQ__V1__SESSION_TYPE__SESSION_TYPE_UNSPECIFIED ||
        o->session_type > COACHQ__V1__SESSION_TYPE__SESSION_TYPE_PERSONAL_CHECK_IN) {
        return fail(err, prefix, "session_type",
                    "is %d; choose deal review, call review, pipeline review, account plan, "
                    "skill practice or personal check-in",
                    (int)o->session_type);
    }
    if (o->focus <= COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_UNSPECIFIED ||
        o->focus > COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_HUMAN) {
        return fail(err, prefix, "focus", "is %d; choose process, skill or human", (int)o->focus);
    }
    if (o->started_at < VALIDATE_MIN_TIME || o->started_at >= VALIDATE_MAX_TIME) {
        return fail(err, prefix, "started_at",
                    "is %lld; give the session start in seconds since 1970-01-01 UTC, between "
                    "the years 2000 and 2100",
                    (long long)o->started_at);
    }
    if (o->duration_s == 0 || o->duration_s > VALIDATE_MAX_DURATION_S) {
        return fail(err, prefix, "duration_s", "is %u; give the session length, 1 s to %u s",
                    o->duration_s, VALIDATE_MAX_DURATION_S);
    }
    if (o->amends.len != 0 && o->amends.len != 16) {
        return fail(err, prefix, "amends",
                    "is %zu bytes; it must be empty or the 16-byte id of the observation amended",
                    o->amends.len);
    }
    if (o->calibration_ref.len != 0 && o->calibration_ref.len != 16) {
        return fail(err, prefix, "calibration_ref",
                    "is %zu bytes; it must be empty or the 16-byte id of a reference session",
                    o->calibration_ref.len);
    }
    if (o->recording != NULL) {
        char rp[64];

        snprintf(rp, sizeof(rp), "%s%srecording", prefix, prefix[0] ? "." : "");
        rc = validate_recording(o->recording, 1, rp, err);
        if (rc < 0) {
            return rc;
        }
    }
    if (o->assignment_id.len != 0 && o->assignment_id.len != 16) {
        return fail(err, prefix, "assignment_id",
                    "is %zu bytes; it must be empty or the 16-byte id of an assignment",
                    o->assignment_id.len);
    }
    rc = check_ratings(o, prefix, err);
    if (rc < 0) {
        return rc;
    }
    rc = check_markers(o, prefix, err);
    if (rc < 0) {
        return rc;
    }
    rc = check_actions(o, prefix, err);
    if (rc < 0) {
        return rc;
    }
    rc = check_follow_ups(o, prefix, err);
    if (rc < 0) {
        return rc;
    }
    return check_text(err, prefix, FIELD("notes"), o->notes, VALIDATE_MAX_NOTES, 0);
}

/* ---- Recordings ------------------------------------------------------------ */

/* Whether c may stand in a recording's reference: printable ASCII but the
 * space and the characters that are never safe unescaped in a URL. */
static int ref_char_ok(char c)
{
    return c > 0x20 && c < 0x7f && strchr("\"<>\\^`{|}", c) == NULL;
}

/* A reference is an http or https URL with a host, or a CRM call id with
 * no scheme (no ':'). Returns 0 or -EINVAL with the reason in *why. */
static int check_reference_text(const char *s, size_t n, const char **why)
{
    const char *colon = memchr(s, ':', n);

    for (size_t i = 0; i < n; i++) {
        if (!ref_char_ok(s[i])) {
            *why = "contains a space, a control character or one of \" < > \\ ^ ` { | }; "
                   "give an http(s) URL or a CRM call id";
            return -EINVAL;
        }
    }
    if (colon == NULL) {
        return 0;
    }
    if ((n > 8 && strncasecmp(s, "https://", 8) == 0 && s[8] != '/') ||
        (n > 7 && strncasecmp(s, "http://", 7) == 0 && s[7] != '/')) {
        return 0;
    }
    *why = "is neither an http(s) URL with a host nor a CRM call id (which holds no ':'); "
           "coachq refuses other schemes such as javascript: or file:";
    return -EINVAL;
}

int validate_recording(const Coachq__V1__Recording *r, int workflow, const char *prefix,
                       struct validate_error *err)
{
    static const char *const stage[] = {"picked_at", "rep_commented_at", "manager_commented_at",
                                        "discussed_at"};
    int64_t at[4];
    size_t n = r->reference == NULL ? 0 : strlen(r->reference);
    const char *why = NULL;
    size_t last = 4;
    int rc;

    if (n == 0) {
        return fail(err, prefix, "reference",
                    "is required: give the recording's URL or CRM call id");
    }
    if (n > VALIDATE_MAX_REFERENCE) {
        return fail(err, prefix, "reference", "is %zu bytes long; at most %d are allowed", n,
                    VALIDATE_MAX_REFERENCE);
    }
    if (check_reference_text(r->reference, n, &why) < 0) {
        return fail(err, prefix, "reference", "%s", why);
    }
    if (r->length_ms == 0 || r->length_ms > VALIDATE_MAX_DURATION_S * 1000u) {
        return fail(err, prefix, "length_ms", "is %u; give the recording's length, 1 ms to %u s",
                    r->length_ms, VALIDATE_MAX_DURATION_S);
    }
    at[0] = r->picked_at;
    at[1] = r->rep_commented_at;
    at[2] = r->manager_commented_at;
    at[3] = r->discussed_at;
    if (!workflow) {
        for (size_t i = 0; i < 4; i++) {
            if (at[i] != 0) {
                return fail(err, prefix, stage[i],
                            "is set, but a reference session's recording has no review "
                            "workflow; give only its reference and length");
            }
        }
        if (r->manager_comments != NULL && r->manager_comments[0] != '\0') {
            return fail(err, prefix, "manager_comments",
                        "is set, but a reference session's recording has no review workflow");
        }
        return 0;
    }
    for (size_t i = 0; i < 4; i++) {
        if (at[i] == 0) {
            continue;
        }
        if (at[i] < VALIDATE_MIN_TIME || at[i] >= VALIDATE_MAX_TIME) {
            return fail(err, prefix, stage[i],
                        "is %lld; give the time in seconds since 1970-01-01 UTC, between the "
                        "years 2000 and 2100, or 0 while it has not happened",
                        (long long)at[i]);
        }
        if (last < 4 && at[i] < at[last]) {
            return fail(err, prefix, stage[i],
                        "is %lld s before %s; the review moves picked -> rep commented -> "
                        "manager commented -> discussed, in that order",
                        (long long)(at[last] - at[i]), stage[last]);
        }
        last = i;
    }
    rc = check_text(err, prefix, FIELD("manager_comments"), r->manager_comments, VALIDATE_MAX_NOTES,
                    0);
    if (rc < 0) {
        return rc;
    }
    if (r->manager_comments != NULL && r->manager_comments[0] != '\0' &&
        r->manager_commented_at == 0) {
        return fail(err, prefix, "manager_commented_at",
                    "is missing, but the manager's comments are given; give the time the "
                    "manager commented");
    }
    return 0;
}
