#include "rubric_json.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "day.h"
#include "jsonx.h"
#include "obs_json.h"
#include "validate.h"

/* A rubric file is refused before parsing when it is larger than this. The
 * shipped rubrics are 10 to 15 KiB; a rubric at every other cap would be
 * far larger than anyone writes, so the file cap is the one that bites. */
#define RUBRIC_MAX_FILE (1024 * 1024)
/* Most indicators one behaviour may list. */
#define RUBRIC_MAX_INDICATORS 20
/* Exactly this many anchors: one for each score from 1 to 4. */
#define RUBRIC_ANCHORS 4
/* Room for JSON paths: "behaviours[39]" (ITEM_LEN), a key inside it
 * (SUB_LEN), and anything with an index after that (PATH_LEN). Each fits
 * the one before it plus what is appended, so the paths of known keys are
 * never cut; only an unknown key of absurd length can be. */
#define ITEM_LEN 40
#define SUB_LEN 64
#define PATH_LEN 128
/* The path finder records this many levels; a rubric has four. */
#define LOC_MAX_DEPTH 8
#define LOC_MAX_KEY 48

/* Defined in rubrics_embedded.c, which the build generates from the files in
 * proto/rubrics/ (proto/embed_rubrics.cmake). */
extern const char *const rubric_json_embedded_names[];
extern const char *const rubric_json_embedded_texts[];
extern const size_t rubric_json_embedded_count;

size_t rubric_json_builtin_count(void)
{
    return rubric_json_embedded_count;
}

const char *rubric_json_builtin(size_t i, const char **name)
{
    if (i >= rubric_json_embedded_count) {
        if (name != NULL) {
            *name = NULL;
        }
        return NULL;
    }
    if (name != NULL) {
        *name = rubric_json_embedded_names[i];
    }
    return rubric_json_embedded_texts[i];
}

/* ---- errors -------------------------------------------------------------- */

/* How a value's type is named in messages ("must be a string, not an
 * array"). */
static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number with a fraction";
    case JSON_TRUE:
    case JSON_FALSE:
        return "true/false";
    case JSON_NULL:
        return "null";
    }
    return "something else";
}

/* ---- locating a byte offset as a JSON path ------------------------------- */

/* One open object or array while walking the raw text. */
struct loc_frame {
    int is_array;
    size_t index;          /* arrays: the element we are in */
    int have_key;          /* objects: key holds the member we are in */
    char key[LOC_MAX_KEY]; /* truncated if longer */
};

struct locator {
    struct loc_frame f[LOC_MAX_DEPTH];
    size_t depth; /* may pass LOC_MAX_DEPTH; deeper levels are not kept */
};

static struct loc_frame *loc_top(struct locator *l)
{
    if (l->depth == 0 || l->depth > LOC_MAX_DEPTH) {
        return NULL;
    }
    return &l->f[l->depth - 1];
}

static void loc_path(const struct locator *l, char *out, size_t outlen)
{
    size_t used = 0;
    size_t n = l->depth < LOC_MAX_DEPTH ? l->depth : LOC_MAX_DEPTH;

    out[0] = '\0';
    for (size_t i = 0; i < n && used < outlen; i++) {
        const struct loc_frame *f = &l->f[i];
        int k = 0;

        if (f->is_array) {
            k = snprintf(out + used, outlen - used, "[%zu]", f->index);
        } else if (f->have_key) {
            k = snprintf(out + used, outlen - used, "%s%s", used > 0 ? "." : "", f->key);
        }
        if (k < 0) {
            break;
        }
        used += (size_t)k;
    }
    if (l->depth > LOC_MAX_DEPTH && used < outlen) {
        snprintf(out + used, outlen - used, "...");
    }
}

/*
 * jansson reports where a document is broken only as a line, a column and a
 * byte offset, and refuses invalid UTF-8 without saying in which value. A
 * rubric author wants the path ("behaviours[2].anchors[1]"), so this walks
 * the raw bytes, following the objects and arrays, up to stop. It also
 * checks that everything before stop is UTF-8. Returns the offset of the
 * first invalid byte, or SIZE_MAX if there is none; path receives the path
 * of the value at that point, or at stop ("" at the top level). The walk
 * trusts the structure only as far as it goes: for text that is not JSON
 * the path is a best guess, which is why messages also carry the line.
 */
static size_t locate(const char *text, size_t len, size_t stop, char *path, size_t pathlen)
{
    const unsigned char *s = (const unsigned char *)text;
    struct locator l;
    size_t bad = SIZE_MAX;
    size_t i = 0;

    memset(&l, 0, sizeof(l));
    if (stop > len) {
        stop = len;
    }
    while (i < stop) {
        unsigned char c = s[i];
        struct loc_frame *top = loc_top(&l);

        if (c == '"') {
            int is_key = top != NULL && !top->is_array && !top->have_key;
            size_t klen = 0;

            i++;
            while (i < stop && s[i] != '"') {
                size_t n = 1;

                if (s[i] == '\\') {
                    /* Skip the escaped byte too, unless it starts a
                     * multi-byte character that still needs checking. */
                    n = i + 1 < len && s[i + 1] < 0x80 ? 2 : 1;
                } else if (s[i] >= 0x80) {
                    n = validate_utf8_len(text + i, len - i);
                    if (n == 0) {
                        bad = i;
                        goto out;
                    }
                }
                for (size_t k = 0; is_key && k < n && i + k < stop; k++) {
                    if (klen + 1 < sizeof(top->key)) {
                        top->key[klen++] = (char)s[i + k];
                    }
                }
                i += n;
            }
            if (i >= stop) {
                goto out;
            }
            if (is_key) {
                top->key[klen] = '\0';
                top->have_key = 1;
            }
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t n = validate_utf8_len(text + i, len - i);

            if (n == 0) {
                bad = i;
                goto out;
            }
            i += n;
            continue;
        }
        if (c == '{' || c == '[') {
            l.depth++;
            top = loc_top(&l);
            if (top != NULL) {
                memset(top, 0, sizeof(*top));
                top->is_array = c == '[';
            }
        } else if ((c == '}' || c == ']') && l.depth > 0) {
            l.depth--;
        } else if (c == ',' && top != NULL) {
            if (top->is_array) {
                top->index++;
            } else {
                top->have_key = 0;
            }
        }
        i++;
    }
out:
    loc_path(&l, path, pathlen);
    return bad;
}

/* ---- parsing ------------------------------------------------------------- */

static const char *const rubric_keys[] = {
    "id",         "version",     "name",  "description", "effective", "evidence_required",
    "behaviours", "added_at_ms", "coach", NULL,
};

static const char *const behaviour_keys[] = {
    "id", "name", "definition", "indicators", "anchors", "not_applicable", NULL,
};

static int is_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') {
            return 0;
        }
    }
    return 1;
}

/*
 * Copies the string v (at path) into *out, a malloc'd string that
 * protobuf_c_message_free_unpacked() will free. Blank text is refused unless
 * blank_ok. Returns 0, -EINVAL or -ENOMEM.
 */
static int take_text(struct jsonx_ctx *x, const json_t *v, const char *path, int blank_ok,
                     char **out)
{
    const char *s;
    size_t len;
    size_t bad;
    char *copy;

    if (!json_is_string(v)) {
        return jsonx_fail(x, path, "must be a string, not %s", type_name(v));
    }
    s = json_string_value(v);
    len = json_string_length(v);
    /* jansson refuses \u0000 unless asked to allow it; this keeps the
     * C string and the JSON string the same length all the same. */
    if (validate_text(s, len, 1, &bad) < 0) {
        return jsonx_fail(x, path, "%s", validate_text_problem(s, len, bad));
    }
    if (len > RUBRIC_MAX_TEXT) {
        return jsonx_fail(x, path, "is %zu bytes long; the limit is %d", len, RUBRIC_MAX_TEXT);
    }
    if (!blank_ok && is_blank(s, len)) {
        return jsonx_fail(x, path, "must not be empty");
    }
    copy = malloc(len + 1);
    if (copy == NULL) {
        return -ENOMEM;
    }
    memcpy(copy, s, len + 1);
    *out = copy;
    return 0;
}

/* obj[key] as text. A required key must be present and not blank; an
 * optional one that is absent or null leaves *out alone. */
static int get_text(struct jsonx_ctx *x, const json_t *obj, const char *prefix, const char *key,
                    int required, char **out)
{
    json_t *v;
    char path[PATH_LEN];
    int rc;

    jsonx_join_path(path, sizeof(path), prefix, key);
    rc = jsonx_member(x, obj, key, path, required, &v);
    if (rc < 0 || v == NULL) {
        return rc;
    }
    return take_text(x, v, path, !required, out);
}

/* obj[key] as an id that validate_id() accepts. */
static int get_id(struct jsonx_ctx *x, const json_t *obj, const char *prefix, char **out)
{
    char path[PATH_LEN];
    int rc;

    rc = get_text(x, obj, prefix, "id", 1, out);
    if (rc < 0) {
        return rc;
    }
    if (validate_id(*out) < 0) {
        jsonx_join_path(path, sizeof(path), prefix, "id");
        return jsonx_fail(
            x, path,
            "\"%.*s\" is not a valid id: use 1 to %d letters, digits, '.', '_', '@' or "
            "'-'",
            VALIDATE_MAX_ID + 8, *out, VALIDATE_MAX_ID);
    }
    return 0;
}

/* The array v (at path) of n strings, each non-blank, into a new array of
 * malloc'd strings. *count grows with each string stored, so that a partly
 * built list frees cleanly. */
static int take_strings(struct jsonx_ctx *x, const json_t *v, const char *path, char ***list,
                        size_t *count)
{
    size_t n = json_array_size(v);
    char ipath[PATH_LEN];

    *list = calloc(n > 0 ? n : 1, sizeof(char *));
    if (*list == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        int rc;

        jsonx_index_path(ipath, sizeof(ipath), path, i);
        rc = take_text(x, json_array_get(v, i), ipath, 0, &(*list)[i]);
        if (rc < 0) {
            return rc;
        }
        (*count)++;
    }
    return 0;
}

/* obj[key], which must be an array; *out is NULL when it is absent. */
static int get_array(struct jsonx_ctx *x, const json_t *obj, const char *prefix, const char *key,
                     json_t **out)
{
    json_t *v = json_object_get(obj, key);
    char path[PATH_LEN];

    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (!json_is_array(v)) {
        jsonx_join_path(path, sizeof(path), prefix, key);
        return jsonx_fail(x, path, "must be an array, not %s", type_name(v));
    }
    *out = v;
    return 0;
}

static int parse_behaviour(struct jsonx_ctx *x, const json_t *j, const char *path,
                           Coachq__V1__Behaviour *b)
{
    char sub[SUB_LEN];
    json_t *arr;
    json_t *na;
    size_t n;
    int rc;

    if (!json_is_object(j)) {
        return jsonx_fail(x, path,
                          "must be an object like {\"id\": \"...\", \"name\": \"...\", ...}");
    }
    rc = jsonx_check_keys(x, j, path, behaviour_keys);
    if (rc < 0) {
        return rc;
    }
    rc = get_id(x, j, path, &b->id);
    if (rc < 0) {
        return rc;
    }
    rc = get_text(x, j, path, "name", 1, &b->name);
    if (rc < 0) {
        return rc;
    }
    rc = get_text(x, j, path, "definition", 1, &b->definition);
    if (rc < 0) {
        return rc;
    }

    jsonx_join_path(sub, sizeof(sub), path, "indicators");
    rc = get_array(x, j, path, "indicators", &arr);
    if (rc < 0) {
        return rc;
    }
    if (arr == NULL) {
        return jsonx_fail(x, sub, "missing; list what an observer can see or hear (at least one)");
    }
    n = json_array_size(arr);
    if (n < 1 || n > RUBRIC_MAX_INDICATORS) {
        return jsonx_fail(x, sub, "need 1 to %d indicators, found %zu", RUBRIC_MAX_INDICATORS, n);
    }
    rc = take_strings(x, arr, sub, &b->indicators, &b->n_indicators);
    if (rc < 0) {
        return rc;
    }

    jsonx_join_path(sub, sizeof(sub), path, "anchors");
    rc = get_array(x, j, path, "anchors", &arr);
    if (rc < 0) {
        return rc;
    }
    if (arr == NULL) {
        return jsonx_fail(x, sub, "missing; need exactly %d anchors (scores 1 to %d)",
                          RUBRIC_ANCHORS, RUBRIC_ANCHORS);
    }
    n = json_array_size(arr);
    if (n != RUBRIC_ANCHORS) {
        return jsonx_fail(x, sub, "need exactly %d anchors (scores 1 to %d), found %zu",
                          RUBRIC_ANCHORS, RUBRIC_ANCHORS, n);
    }
    rc = take_strings(x, arr, sub, &b->anchors, &b->n_anchors);
    if (rc < 0) {
        return rc;
    }

    na = json_object_get(j, "not_applicable");
    if (na != NULL && !json_is_null(na)) {
        if (!json_is_boolean(na)) {
            jsonx_join_path(sub, sizeof(sub), path, "not_applicable");
            return jsonx_fail(x, sub, "must be true or false, not %s", type_name(na));
        }
        b->allow_not_applicable = json_is_true(na);
    }
    return 0;
}

static int parse_behaviours(struct jsonx_ctx *x, const json_t *j, Coachq__V1__Rubric *r)
{
    json_t *arr;
    size_t n;
    int rc;

    rc = get_array(x, j, "", "behaviours", &arr);
    if (rc < 0) {
        return rc;
    }
    if (arr == NULL) {
        return jsonx_fail(x, "behaviours", "missing; it is required");
    }
    n = json_array_size(arr);
    if (n < 1 || n > RUBRIC_MAX_BEHAVIOURS) {
        return jsonx_fail(x, "behaviours", "need 1 to %d behaviours, found %zu",
                          RUBRIC_MAX_BEHAVIOURS, n);
    }
    r->behaviours = calloc(n, sizeof(*r->behaviours));
    if (r->behaviours == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        Coachq__V1__Behaviour *b = malloc(sizeof(*b));
        char path[ITEM_LEN];

        if (b == NULL) {
            return -ENOMEM;
        }
        coachq__v1__behaviour__init(b);
        r->behaviours[r->n_behaviours++] = b;
        jsonx_index_path(path, sizeof(path), "behaviours", i);
        rc = parse_behaviour(x, json_array_get(arr, i), path, b);
        if (rc < 0) {
            return rc;
        }
        /* Ratings name behaviours by id, so an id may appear once. */
        for (size_t k = 0; k < i; k++) {
            if (strcmp(r->behaviours[k]->id, b->id) == 0) {
                snprintf(path, sizeof(path), "behaviours[%zu].id", i);
                return jsonx_fail(x, path, "\"%s\" is already the id of behaviours[%zu]", b->id, k);
            }
        }
    }
    return 0;
}

static int parse_evidence(struct jsonx_ctx *x, const json_t *j, Coachq__V1__Rubric *r)
{
    json_t *arr;
    size_t n;
    int rc;

    rc = get_array(x, j, "", "evidence_required", &arr);
    if (rc < 0) {
        return rc;
    }
    /* The domain's default: a score at either end of the scale is a strong
     * claim and needs a note saying what was seen. */
    if (arr == NULL) {
        r->evidence_required = malloc(2 * sizeof(uint32_t));
        if (r->evidence_required == NULL) {
            return -ENOMEM;
        }
        r->evidence_required[0] = 1;
        r->evidence_required[1] = 4;
        r->n_evidence_required = 2;
        return 0;
    }
    n = json_array_size(arr);
    if (n > RUBRIC_ANCHORS) {
        return jsonx_fail(x, "evidence_required", "lists %zu scores; there are only 4 (1 to 4)", n);
    }
    r->evidence_required = malloc((n > 0 ? n : 1) * sizeof(uint32_t));
    if (r->evidence_required == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        char path[PATH_LEN];
        uint32_t score;

        jsonx_index_path(path, sizeof(path), "evidence_required", i);
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > RUBRIC_ANCHORS) {
            return jsonx_fail(x, path, "must be a score from 1 to %d", RUBRIC_ANCHORS);
        }
        score = (uint32_t)json_integer_value(v);
        for (size_t k = 0; k < i; k++) {
            if (r->evidence_required[k] == score) {
                return jsonx_fail(x, path, "score %u is listed twice", score);
            }
        }
        r->evidence_required[r->n_evidence_required++] = score;
    }
    return 0;
}

/* "coach": who coaches in the sessions the rubric scores. Absent means a
 * front-line manager, as for the rubrics written before the key existed. */
static int parse_coach(struct jsonx_ctx *x, const json_t *j, Coachq__V1__Rubric *r)
{
    const json_t *v = json_object_get(j, "coach");
    const char *s;

    r->coach_role = COACHQ__V1__ROLE__ROLE_UNSPECIFIED;
    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    s = json_is_string(v) ? json_string_value(v) : NULL;
    if (s != NULL && strcmp(s, RUBRIC_JSON_COACH_FRONT_LINE) == 0) {
        r->coach_role = COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER;
        return 0;
    }
    if (s != NULL && strcmp(s, RUBRIC_JSON_COACH_SECOND_LEVEL) == 0) {
        r->coach_role = COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER;
        return 0;
    }
    return jsonx_fail(
        x, "coach",
        "must be \"" RUBRIC_JSON_COACH_FRONT_LINE
        "\" (a front-line manager coaching a rep, the default) or \"" RUBRIC_JSON_COACH_SECOND_LEVEL
        "\" (a second-level manager coaching one of their front-line managers)");
}

/* A jsonx_parse_cb for a Rubric. */
static int parse_rubric(struct jsonx_ctx *x, const json_t *j, void *msg)
{
    Coachq__V1__Rubric *r = msg;
    json_t *v;
    uint32_t day;
    int rc;

    if (!json_is_object(j)) {
        return jsonx_fail(x, "", "must be a JSON object, not %s", type_name(j));
    }
    rc = jsonx_check_keys(x, j, "", rubric_keys);
    if (rc < 0) {
        return rc;
    }
    rc = get_id(x, j, "", &r->id);
    if (rc < 0) {
        return rc;
    }

    v = json_object_get(j, "version");
    if (v == NULL || json_is_null(v)) {
        return jsonx_fail(x, "version", "missing; it is required (1 for a new rubric)");
    }
    if (!json_is_integer(v) || json_integer_value(v) < 1 ||
        json_integer_value(v) > (json_int_t)UINT32_MAX) {
        return jsonx_fail(x, "version", "must be a whole number, 1 or more");
    }
    r->version = (uint32_t)json_integer_value(v);

    rc = get_text(x, j, "", "name", 1, &r->name);
    if (rc < 0) {
        return rc;
    }
    rc = get_text(x, j, "", "description", 0, &r->description);
    if (rc < 0) {
        return rc;
    }

    v = json_object_get(j, "effective");
    if (v == NULL || json_is_null(v)) {
        return jsonx_fail(x, "effective", "missing; it is required (a date like \"2024-01-01\")");
    }
    /* day_parse() checks the calendar: month lengths, leap years,
     * and nothing before 1970-01-01. Four-digit years keep the day number
     * far inside an int32. */
    if (!json_is_string(v) || day_parse(json_string_value(v), &day) < 0) {
        return jsonx_fail(x, "effective",
                          "must be a real calendar date \"YYYY-MM-DD\", 1970-01-01 or later");
    }
    r->effective_day = (int32_t)day;

    rc = parse_evidence(x, j, r);
    if (rc < 0) {
        return rc;
    }
    rc = parse_behaviours(x, j, r);
    if (rc < 0) {
        return rc;
    }
    rc = parse_coach(x, j, r);
    if (rc < 0) {
        return rc;
    }

    v = json_object_get(j, "added_at_ms");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            return jsonx_fail(x, "added_at_ms", "must be milliseconds since 1970, 0 or more");
        }
        r->added_at_ms = json_integer_value(v);
    }
    return 0;
}

/* coachq__v1__rubric__free_unpacked() as a jsonx_free_cb. */
static void free_rubric(void *msg)
{
    coachq__v1__rubric__free_unpacked(msg, NULL);
}

int rubric_json_parse(const char *text, size_t len, Coachq__V1__Rubric **out, char *err,
                      size_t errlen)
{
    struct jsonx_ctx x;
    json_t *j = NULL;
    json_error_t jerr;
    char path[PATH_LEN];
    void *r = NULL;
    size_t bad;
    int rc = -EINVAL;

    *out = NULL;
    jsonx_ctx_init(&x, err, errlen, "(file)");
    if (text == NULL) {
        jsonx_fail(&x, "", "no text");
        goto out;
    }
    if (len > RUBRIC_MAX_FILE) {
        jsonx_fail(&x, "", "is %zu bytes; a rubric file may be at most %d", len, RUBRIC_MAX_FILE);
        goto out;
    }
    bad = locate(text, len, len, path, sizeof(path));
    if (bad != SIZE_MAX) {
        jsonx_fail(&x, path, "not valid UTF-8 (byte 0x%02x at offset %zu)",
                   (unsigned)(unsigned char)text[bad], bad);
        goto out;
    }
    /* Without JSON_REJECT_DUPLICATES jansson keeps the last of two equal
     * keys, which would hide a copy-and-paste mistake. */
    j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL) {
        size_t at = jerr.position > 0 ? (size_t)jerr.position : 0;

        locate(text, len, at, path, sizeof(path));
        jsonx_fail(&x, path, "%s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
        goto out;
    }
    rc = jsonx_parse_message(&x, j, &coachq__v1__rubric__descriptor, parse_rubric, free_rubric, &r);
    *out = r;
out:
    json_decref(j);
    return rc;
}

/* ---- writing ------------------------------------------------------------- */

/* A JSON string for s. A parsed rubric is always valid UTF-8, but one built
 * elsewhere might not be, and jansson refuses such text; those bytes are
 * written as '?' so that the rest of the rubric can still be shown. */
static json_t *text_json(const char *s)
{
    json_t *v;
    char *copy;
    size_t len;
    size_t i = 0;

    if (s == NULL) {
        s = "";
    }
    v = json_string(s);
    if (v != NULL) {
        return v;
    }
    len = strlen(s);
    copy = malloc(len + 1);
    if (copy == NULL) {
        return NULL;
    }
    memcpy(copy, s, len + 1);
    while (i < len) {
        size_t n = validate_utf8_len(copy + i, len - i);

        if (n == 0) {
            copy[i] = '?';
            n = 1;
        }
        i += n;
    }
    v = json_string(copy);
    free(copy);
    return v;
}

static json_t *strings_json(char *const *list, size_t n)
{
    json_t *arr = json_array();

    if (arr == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (json_array_append_new(arr, text_json(list[i])) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *behaviour_json(const Coachq__V1__Behaviour *b)
{
    json_t *o = json_object();

    if (o == NULL) {
        return NULL;
    }
    if (jsonx_put(o, "id", text_json(b->id)) < 0 || jsonx_put(o, "name", text_json(b->name)) < 0 ||
        jsonx_put(o, "definition", text_json(b->definition)) < 0 ||
        jsonx_put(o, "indicators", strings_json(b->indicators, b->n_indicators)) < 0 ||
        jsonx_put(o, "anchors", strings_json(b->anchors, b->n_anchors)) < 0 ||
        jsonx_put(o, "not_applicable", json_boolean(b->allow_not_applicable)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Fills obj with r's keys in the order a person reads them. Returns 0 or
 * -1. */
static int rubric_fill(json_t *obj, const Coachq__V1__Rubric *r)
{
    char day[DAY_TIME_LEN];
    json_t *arr;

    if (jsonx_put(obj, "id", text_json(r->id)) < 0 ||
        jsonx_put(obj, "version", json_integer(r->version)) < 0 ||
        jsonx_put(obj, "name", text_json(r->name)) < 0 ||
        jsonx_put(obj, "description", text_json(r->description)) < 0) {
        return -1;
    }
    day_format(r->effective_day, day, sizeof(day));
    if (jsonx_put(obj, "effective", json_string(day)) < 0) {
        return -1;
    }
    arr = json_array();
    if (jsonx_put(obj, "evidence_required", arr) < 0) {
        return -1;
    }
    for (size_t i = 0; i < r->n_evidence_required; i++) {
        if (json_array_append_new(arr, json_integer(r->evidence_required[i])) < 0) {
            return -1;
        }
    }
    arr = json_array();
    if (jsonx_put(obj, "behaviours", arr) < 0) {
        return -1;
    }
    for (size_t i = 0; i < r->n_behaviours; i++) {
        if (json_array_append_new(arr, behaviour_json(r->behaviours[i])) < 0) {
            return -1;
        }
    }
    if (r->coach_role == COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER &&
        jsonx_put(obj, "coach", json_string(RUBRIC_JSON_COACH_SECOND_LEVEL)) < 0) {
        return -1;
    }
    if (r->coach_role == COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER &&
        jsonx_put(obj, "coach", json_string(RUBRIC_JSON_COACH_FRONT_LINE)) < 0) {
        return -1;
    }
    if (r->added_at_ms != 0 && jsonx_put(obj, "added_at_ms", json_integer(r->added_at_ms)) < 0) {
        return -1;
    }
    return 0;
}

char *rubric_json_dump(const Coachq__V1__Rubric *r)
{
    json_t *root = NULL;
    char *s = NULL;
    char *text = NULL;
    size_t n;

    root = json_object();
    if (root == NULL || rubric_fill(root, r) < 0) {
        goto out;
    }
    s = json_dumps(root, JSON_INDENT(2));
    if (s == NULL) {
        goto out;
    }
    /* jansson ends the text without a newline; a copy with one makes the
     * output a proper text file when it is saved. */
    n = strlen(s);
    text = malloc(n + 2);
    if (text == NULL) {
        goto out;
    }
    memcpy(text, s, n);
    text[n] = '\n';
    text[n + 1] = '\0';
out:
    free(s);
    json_decref(root);
    return text;
}
