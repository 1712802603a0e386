/*
 * Tests of rubric_json: the two shipped rubrics, the round trip through
 * rubric_json_dump(), and the refusals, each of which must name the JSON
 * path of what is wrong.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rubric_json.h"

static const char *const cc_ids[] = {
    "collaborative",      "regular-cadence",           "consistent-framework", "buyers-view",
    "looks-for-evidence", "elicits-critical-thinking", "praises-insight",      "objective-curious",
    "doesnt-take-over",   "documents-actions",
};

static const char *const cr_ids[] = {
    "rep-prepared-calls", "manager-prepared",      "rep-self-assesses-first", "leads-with-positive",
    "focused-feedback",   "practises-until-right", "tracks-progress",         "praise-and-repeat",
};

static const char *const ctc_ids[] = {
    "listened-before-meeting",
    "rep-self-assessed-first",
    "positive-first",
    "one-or-two-things",
    "practised",
    "tracked-progress",
    "follow-through",
};

/* 2024-01-01 as days since 1970-01-01. */
#define DAY_2024_01_01 19723

static Coachq__V1__Rubric *parse_ok(const char *text)
{
    Coachq__V1__Rubric *r = NULL;
    char err[512];
    int rc = rubric_json_parse(text, strlen(text), &r, err, sizeof(err));

    if (rc != 0) {
        fail_msg("parse failed: rc=%d: %s", rc, err);
    }
    assert_non_null(r);
    return r;
}

/* Parses text and expects -EINVAL with a message that starts with want. */
static void expect_error(const char *what, const char *text, size_t len, const char *want)
{
    Coachq__V1__Rubric *r = NULL;
    char err[512];
    int rc = rubric_json_parse(text, len, &r, err, sizeof(err));

    if (rc != -EINVAL || strncmp(err, want, strlen(want)) != 0) {
        fail_msg("%s: rc=%d err=\"%s\", want \"%s...\"", what, rc, err, want);
    }
    assert_null(r);
}

/* The packed protobuf of r, so that two rubrics compare field by field. */
static uint8_t *pack(const Coachq__V1__Rubric *r, size_t *len)
{
    uint8_t *buf;

    *len = coachq__v1__rubric__get_packed_size(r);
    buf = malloc(*len > 0 ? *len : 1);
    assert_non_null(buf);
    assert_int_equal(coachq__v1__rubric__pack(r, buf), *len);
    return buf;
}

static void check_shipped(const Coachq__V1__Rubric *r, const char *id, const char *const *ids,
                          size_t n)
{
    size_t na = 0;

    assert_string_equal(r->id, id);
    assert_int_equal(r->version, 1);
    assert_true(strlen(r->name) > 0);
    assert_true(strlen(r->description) > 0);
    assert_int_equal(r->effective_day, DAY_2024_01_01);
    assert_int_equal(r->n_evidence_required, 2);
    assert_int_equal(r->evidence_required[0], 1);
    assert_int_equal(r->evidence_required[1], 4);
    assert_int_equal(r->added_at_ms, 0);
    assert_int_equal(r->n_behaviours, n);
    for (size_t i = 0; i < n; i++) {
        const Coachq__V1__Behaviour *b = r->behaviours[i];

        assert_string_equal(b->id, ids[i]);
        assert_true(strlen(b->name) > 0);
        assert_true(strlen(b->definition) > 40);
        /* The shipped behaviours list three to five indicators. */
        assert_in_range(b->n_indicators, 3, 5);
        for (size_t k = 0; k < b->n_indicators; k++) {
            assert_true(strlen(b->indicators[k]) > 10);
        }
        assert_int_equal(b->n_anchors, 4);
        for (size_t k = 0; k < b->n_anchors; k++) {
            assert_true(strlen(b->anchors[k]) > 10);
            for (size_t m = 0; m < k; m++) {
                assert_string_not_equal(b->anchors[k], b->anchors[m]);
            }
        }
        na += b->allow_not_applicable ? 1 : 0;
    }
    /* Some behaviours can have no occasion in a session; most always do. */
    assert_true(na >= 2);
    assert_true(na < n / 2);
}

static void test_builtins(void **state)
{
    const char *name = "x";
    Coachq__V1__Rubric *r;

    (void)state;
    assert_int_equal(rubric_json_builtin_count(), 3);

    r = parse_ok(rubric_json_builtin(0, &name));
    assert_string_equal(name, "coaching-conversation.json");
    check_shipped(r, "coaching-conversation", cc_ids, sizeof(cc_ids) / sizeof(cc_ids[0]));
    assert_true(r->behaviours[6]->allow_not_applicable);  /* praises-insight */
    assert_false(r->behaviours[0]->allow_not_applicable); /* collaborative */
    coachq__v1__rubric__free_unpacked(r, NULL);

    r = parse_ok(rubric_json_builtin(1, &name));
    assert_string_equal(name, "call-review.json");
    check_shipped(r, "call-review", cr_ids, sizeof(cr_ids) / sizeof(cr_ids[0]));
    assert_true(r->behaviours[5]->allow_not_applicable); /* practises-until-right */
    coachq__v1__rubric__free_unpacked(r, NULL);

    /* The third scores a second-level manager coaching one of their own
     * front-line managers; the other two leave the coach at its default. */
    r = parse_ok(rubric_json_builtin(2, &name));
    assert_string_equal(name, "coaching-the-coach.json");
    check_shipped(r, "coaching-the-coach", ctc_ids, sizeof(ctc_ids) / sizeof(ctc_ids[0]));
    assert_int_equal(r->coach_role, COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER);
    coachq__v1__rubric__free_unpacked(r, NULL);
    r = parse_ok(rubric_json_builtin(0, NULL));
    assert_int_equal(r->coach_role, COACHQ__V1__ROLE__ROLE_UNSPECIFIED);
    coachq__v1__rubric__free_unpacked(r, NULL);

    assert_null(rubric_json_builtin(3, &name));
    assert_null(name);
    assert_null(rubric_json_builtin(SIZE_MAX, NULL));
    assert_non_null(rubric_json_builtin(0, NULL));
}

/* The text is len bytes, not a C string: a copy with no terminator must
 * parse without reading past its end (AddressSanitizer would see it). */
static void test_not_nul_terminated(void **state)
{
    const char *text = rubric_json_builtin(1, NULL);
    size_t len = strlen(text);
    char *copy = malloc(len);
    Coachq__V1__Rubric *r = NULL;
    char err[256];

    (void)state;
    assert_non_null(copy);
    memcpy(copy, text, len);
    assert_int_equal(rubric_json_parse(copy, len, &r, err, sizeof(err)), 0);
    assert_string_equal(r->id, "call-review");
    coachq__v1__rubric__free_unpacked(r, NULL);
    /* Cut inside a string: refused, still without over-reading. */
    assert_int_equal(rubric_json_parse(copy, len / 2, &r, err, sizeof(err)), -EINVAL);
    assert_null(r);
    free(copy);
}

/* parse(dump(r)) packs to the same bytes as r, and dumping that again gives
 * the same text. */
static void roundtrip(const Coachq__V1__Rubric *r)
{
    Coachq__V1__Rubric *r2;
    char *text = rubric_json_dump(r);
    char *text2;
    uint8_t *pa;
    uint8_t *pb;
    size_t la;
    size_t lb;

    assert_non_null(text);
    assert_int_equal(text[strlen(text) - 1], '\n');
    r2 = parse_ok(text);
    pa = pack(r, &la);
    pb = pack(r2, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(pa, pb, la);
    text2 = rubric_json_dump(r2);
    assert_non_null(text2);
    assert_string_equal(text, text2);
    free(pa);
    free(pb);
    free(text);
    free(text2);
    coachq__v1__rubric__free_unpacked(r2, NULL);
}

static void test_roundtrip(void **state)
{
    Coachq__V1__Rubric *r;

    (void)state;
    for (size_t i = 0; i < rubric_json_builtin_count(); i++) {
        r = parse_ok(rubric_json_builtin(i, NULL));
        roundtrip(r);
        /* added_at_ms is kept when set, and not written when zero. */
        r->added_at_ms = 1793629800123LL;
        roundtrip(r);
        coachq__v1__rubric__free_unpacked(r, NULL);
    }

    /* The less usual corners: no description, no evidence needed, a leap
     * day, text outside ASCII, characters that JSON must escape. */
    r = parse_ok("{\"id\": \"x\", \"version\": 7, \"name\": \"Ünïcode — \\\"quoted\\\"\\n\","
                 " \"effective\": \"2024-02-29\", \"evidence_required\": [],"
                 " \"behaviours\": [{\"id\": \"b\", \"name\": \"B\", \"definition\": \"D\\tx\","
                 " \"indicators\": [\"i ✓\"], \"anchors\": [\"a\", \"b\", \"c\", \"d\"],"
                 " \"not_applicable\": true}]}");
    assert_int_equal(r->version, 7);
    assert_string_equal(r->name, "Ünïcode — \"quoted\"\n");
    assert_string_equal(r->description, "");
    assert_int_equal(r->effective_day, 19782);
    assert_int_equal(r->n_evidence_required, 0);
    assert_true(r->behaviours[0]->allow_not_applicable);
    roundtrip(r);
    coachq__v1__rubric__free_unpacked(r, NULL);
}

/* A minimal valid rubric whose parts can be replaced: each NULL field keeps
 * its default, and OMIT leaves the key out. */
#define OMIT "\x01"

struct doc {
    const char *id;
    const char *version;
    const char *effective;
    const char *evidence;
    const char *behaviours;
    const char *extra; /* spliced in as more keys, e.g. "\"colour\": 1" */
};

#define B_OK(id)                                                                                   \
    "{\"id\": \"" id "\", \"name\": \"N\", \"definition\": \"D\", \"indicators\": [\"i\"], "       \
    "\"anchors\": [\"1\", \"2\", \"3\", \"4\"]}"

static void add(char *buf, size_t len, const char *key, const char *value, const char *dflt)
{
    size_t used = strlen(buf);

    if (value == NULL) {
        value = dflt;
    }
    if (strcmp(value, OMIT) == 0) {
        return;
    }
    snprintf(buf + used, len - used, "%s\"%s\": %s", used > 1 ? ", " : "", key, value);
}

static const char *build(const struct doc *d)
{
    static char buf[16384];
    size_t used;

    snprintf(buf, sizeof(buf), "{");
    add(buf, sizeof(buf), "id", d->id, "\"t\"");
    add(buf, sizeof(buf), "version", d->version, "1");
    add(buf, sizeof(buf), "name", NULL, "\"T\"");
    add(buf, sizeof(buf), "effective", d->effective, "\"2024-01-01\"");
    add(buf, sizeof(buf), "evidence_required", d->evidence, OMIT);
    add(buf, sizeof(buf), "behaviours", d->behaviours, "[" B_OK("a") "]");
    used = strlen(buf);
    if (d->extra != NULL) {
        snprintf(buf + used, sizeof(buf) - used, ", %s", d->extra);
    }
    used = strlen(buf);
    snprintf(buf + used, sizeof(buf) - used, "}");
    return buf;
}

struct bad {
    const char *what;
    struct doc d;
    const char *want;
};

static const struct bad bad_docs[] = {
    {"missing id", {.id = OMIT}, "id: missing"},
    {"id not a string", {.id = "42"}, "id: must be a string, not an integer"},
    {"id with a space", {.id = "\"a b\""}, "id: \"a b\" is not a valid id"},
    {"version 0", {.version = "0"}, "version: must be a whole number, 1 or more"},
    {"version negative", {.version = "-3"}, "version: must be"},
    {"version as text", {.version = "\"1\""}, "version: must be"},
    {"version with a fraction", {.version = "1.5"}, "version: must be"},
    {"version too big", {.version = "4294967296"}, "version: must be"},
    {"missing version", {.version = OMIT}, "version: missing"},
    {"missing effective", {.effective = OMIT}, "effective: missing"},
    {"not a leap year", {.effective = "\"2023-02-29\""}, "effective: must be a real calendar date"},
    {"1900 not a leap year", {.effective = "\"1900-02-29\""}, "effective: must be"},
    {"month 13", {.effective = "\"2024-13-01\""}, "effective: must be"},
    {"april 31", {.effective = "\"2024-04-31\""}, "effective: must be"},
    {"day 0", {.effective = "\"2024-01-00\""}, "effective: must be"},
    {"short month", {.effective = "\"2024-1-01\""}, "effective: must be"},
    {"with a time", {.effective = "\"2024-01-01T00:00:00Z\""}, "effective: must be"},
    {"before 1970", {.effective = "\"1969-12-31\""}, "effective: must be"},
    {"date as number", {.effective = "20240101"}, "effective: must be"},
    {"evidence score 5", {.evidence = "[1, 5]"}, "evidence_required[1]: must be a score from 1"},
    {"evidence score 0", {.evidence = "[0]"}, "evidence_required[0]: must be a score"},
    {"evidence as text", {.evidence = "[\"1\"]"}, "evidence_required[0]: must be a score"},
    {"evidence twice", {.evidence = "[4, 1, 4]"}, "evidence_required[2]: score 4 is listed twice"},
    {"evidence not array", {.evidence = "1"}, "evidence_required: must be an array, not an int"},
    {"missing behaviours", {.behaviours = OMIT}, "behaviours: missing"},
    {"empty behaviours", {.behaviours = "[]"}, "behaviours: need 1 to 40 behaviours, found 0"},
    {"behaviours an object", {.behaviours = "{}"}, "behaviours: must be an array, not an object"},
    {"behaviour a string", {.behaviours = "[\"a\"]"}, "behaviours[0]: must be an object"},
    {"three anchors",
     {.behaviours = "[" B_OK("a") ", {\"id\": \"b\", \"name\": \"N\", \"definition\": \"D\", "
                                  "\"indicators\": [\"i\"], \"anchors\": [\"1\", \"2\", \"3\"]}]"},
     "behaviours[1].anchors: need exactly 4 anchors (scores 1 to 4), found 3"},
    {"five anchors",
     {.behaviours = "[{\"id\": \"b\", \"name\": \"N\", \"definition\": \"D\", "
                    "\"indicators\": [\"i\"], \"anchors\": [\"1\", \"2\", \"3\", \"4\", \"5\"]}]"},
     "behaviours[0].anchors: need exactly 4 anchors (scores 1 to 4), found 5"},
    {"blank anchor",
     {.behaviours = "[{\"id\": \"b\", \"name\": \"N\", \"definition\": \"D\", "
                    "\"indicators\": [\"i\"], \"anchors\": [\"1\", \" \", \"3\", \"4\"]}]"},
     "behaviours[0].anchors[1]: must not be empty"},
    {"anchor a number",
     {.behaviours = "[{\"id\": \"b\", \"name\": \"N\", \"definition\": \"D\", "
                    "\"indicators\": [\"i\"], \"anchors\": [\"1\", \"2\", 3, \"4\"]}]"},
     "behaviours[0].anchors[2]: must be a string, not an integer"},
    {"missing anchors",
     {.behaviours = "[{\"id\": \"b\", \"name\": \"N\", \"definition\": \"D\", "
                    "\"indicators\": [\"i\"]}]"},
     "behaviours[0].anchors: missing"},
    {"no indicators",
     {.behaviours = "[{\"id\": \"b\", \"name\": \"N\", \"definition\": \"D\", "
                    "\"indicators\": [], \"anchors\": [\"1\", \"2\", \"3\", \"4\"]}]"},
     "behaviours[0].indicators: need 1 to 20 indicators, found 0"},
    {"missing definition",
     {.behaviours = "[{\"id\": \"b\", \"name\": \"N\", "
                    "\"indicators\": [\"i\"], \"anchors\": [\"1\", \"2\", \"3\", \"4\"]}]"},
     "behaviours[0].definition: missing"},
    {"empty name",
     {.behaviours = "[{\"id\": \"b\", \"name\": \"\", \"definition\": \"D\", "
                    "\"indicators\": [\"i\"], \"anchors\": [\"1\", \"2\", \"3\", \"4\"]}]"},
     "behaviours[0].name: must not be empty"},
    {"behaviour id invalid",
     {.behaviours = "[{\"id\": \"b/c\", \"name\": \"N\", \"definition\": \"D\", "
                    "\"indicators\": [\"i\"], \"anchors\": [\"1\", \"2\", \"3\", \"4\"]}]"},
     "behaviours[0].id: \"b/c\" is not a valid id"},
    {"duplicate behaviour id",
     {.behaviours = "[" B_OK("a") ", " B_OK("b") ", " B_OK("a") "]"},
     "behaviours[2].id: \"a\" is already the id of behaviours[0]"},
    {"not_applicable as text",
     {.behaviours = "[{\"id\": \"b\", \"name\": \"N\", \"definition\": \"D\", "
                    "\"indicators\": [\"i\"], \"anchors\": [\"1\", \"2\", \"3\", \"4\"], "
                    "\"not_applicable\": \"yes\"}]"},
     "behaviours[0].not_applicable: must be true or false, not a string"},
    {"unknown key at the top", {.extra = "\"colour\": \"red\""}, "colour: unknown key (known keys"},
    {"unknown key in a behaviour",
     {.behaviours = "[{\"id\": \"b\", \"name\": \"N\", \"definition\": \"D\", "
                    "\"indicators\": [\"i\"], \"anchors\": [\"1\", \"2\", \"3\", \"4\"], "
                    "\"notapplicable\": true}]"},
     "behaviours[0].notapplicable: unknown key"},
    {"added_at_ms negative", {.extra = "\"added_at_ms\": -1"}, "added_at_ms: must be"},
    {"coach not a known role",
     {.extra = "\"coach\": \"enablement-lead\""},
     "coach: must be \"front-line-manager\""},
    {"coach as a number", {.extra = "\"coach\": 3"}, "coach: must be \"front-line-manager\""},
    {"duplicate JSON key", {.extra = "\"version\": 2"}, "version: duplicate object key"},
    {"duplicate key in a behaviour",
     {.behaviours = "[" B_OK("a") ", {\"id\": \"b\", \"id\": \"c\"}]"},
     "behaviours[1].id: duplicate object key"},
    {"lone surrogate",
     {.behaviours = "[{\"id\": \"b\", \"name\": \"N\\ud800\", \"definition\": \"D\", "
                    "\"indicators\": [\"i\"], \"anchors\": [\"1\", \"2\", \"3\", \"4\"]}]"},
     "behaviours[0].name: invalid Unicode"},
};

static void test_bad_inputs(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_docs) / sizeof(bad_docs[0]); i++) {
        const char *text = build(&bad_docs[i].d);

        expect_error(bad_docs[i].what, text, strlen(text), bad_docs[i].want);
    }
}

/* The minimal document of the table is itself valid, so that each bad case
 * fails only for its own reason. */
static void test_minimal_is_valid(void **state)
{
    struct doc d = {0};
    Coachq__V1__Rubric *r;

    (void)state;
    r = parse_ok(build(&d));
    assert_string_equal(r->id, "t");
    assert_int_equal(r->n_behaviours, 1);
    assert_false(r->behaviours[0]->allow_not_applicable);
    coachq__v1__rubric__free_unpacked(r, NULL);
}

static void test_default_evidence(void **state)
{
    struct doc d = {0};
    Coachq__V1__Rubric *r;

    (void)state;
    r = parse_ok(build(&d));
    assert_int_equal(r->n_evidence_required, 2);
    assert_int_equal(r->evidence_required[0], 1);
    assert_int_equal(r->evidence_required[1], 4);
    coachq__v1__rubric__free_unpacked(r, NULL);

    d.evidence = "null";
    r = parse_ok(build(&d));
    assert_int_equal(r->n_evidence_required, 2);
    coachq__v1__rubric__free_unpacked(r, NULL);

    d.evidence = "[]";
    r = parse_ok(build(&d));
    assert_int_equal(r->n_evidence_required, 0);
    coachq__v1__rubric__free_unpacked(r, NULL);

    d.evidence = "[4, 2]";
    r = parse_ok(build(&d));
    assert_int_equal(r->n_evidence_required, 2);
    assert_int_equal(r->evidence_required[0], 4);
    assert_int_equal(r->evidence_required[1], 2);
    coachq__v1__rubric__free_unpacked(r, NULL);
}

static void test_dates(void **state)
{
    static const struct {
        const char *date;
        int32_t day;
    } good[] = {
        {"\"1970-01-01\"", 0},       {"\"2000-02-29\"", 11016}, {"\"2024-01-01\"", 19723},
        {"\"2024-02-29\"", 19782},   {"\"2024-12-31\"", 20088}, {"\"2100-03-01\"", 47541},
        {"\"9999-12-31\"", 2932896},
    };
    struct doc d = {0};

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        Coachq__V1__Rubric *r;

        d.effective = good[i].date;
        r = parse_ok(build(&d));
        assert_int_equal(r->effective_day, good[i].day);
        /* Every edge day is written back as it was read. */
        roundtrip(r);
        coachq__v1__rubric__free_unpacked(r, NULL);
    }
    /* Control characters are refused by the field they are in. */
    {
        static const char esc[] = "{\"id\": \"t\", \"version\": 1, \"name\": \"T\\u001b[2J\"}";

        expect_error("escape in a name", esc, sizeof(esc) - 1,
                     "name: contains a control character");
    }
}

/* Invalid UTF-8 is found by byte, and named by the value it is in. */
static void test_invalid_utf8(void **state)
{
    static const char name_bad[] = "{\"id\": \"t\", \"version\": 1, \"name\": \"T\", "
                                   "\"effective\": \"2024-01-01\", \"behaviours\": [{\"id\": "
                                   "\"a\", \"name\": \"N\xff\", \"definition\": \"D\", "
                                   "\"indicators\": [\"i\"], \"anchors\": [\"1\", \"2\", \"3\", "
                                   "\"4\"]}]}";
    static const char anchor_bad[] = "{\"id\": \"t\", \"version\": 1, \"name\": \"T\", "
                                     "\"effective\": \"2024-01-01\", \"behaviours\": [{\"id\": "
                                     "\"a\", \"name\": \"N\", \"definition\": \"D\", "
                                     "\"indicators\": [\"i\"], \"anchors\": [\"1\", \"2\", "
                                     "\"3\xc3(\", \"4\"]}]}";
    /* An overlong encoding of '/' and a UTF-16 surrogate written as UTF-8. */
    static const char overlong[] = "{\"id\": \"t\", \"name\": \"\xc0\xaf\"}";
    static const char surrogate[] = "{\"id\": \"t\", \"description\": \"\xed\xa0\x80\"}";
    static const char cut[] = "{\"id\": \"t\", \"name\": \"\xe2\x82";
    static const char in_key[] = "{\"id\": \"t\", \"n\xfe\": 1}";

    (void)state;
    expect_error("bad byte in a name", name_bad, sizeof(name_bad) - 1,
                 "behaviours[0].name: not valid UTF-8 (byte 0xff");
    expect_error("bad byte in an anchor", anchor_bad, sizeof(anchor_bad) - 1,
                 "behaviours[0].anchors[2]: not valid UTF-8 (byte 0xc3");
    expect_error("overlong", overlong, sizeof(overlong) - 1, "name: not valid UTF-8 (byte 0xc0");
    expect_error("surrogate", surrogate, sizeof(surrogate) - 1,
                 "description: not valid UTF-8 (byte 0xed");
    expect_error("cut sequence", cut, sizeof(cut) - 1, "name: not valid UTF-8 (byte 0xe2");
    expect_error("bad byte in a key", in_key, sizeof(in_key) - 1, "(file): not valid UTF-8");
}

static void test_too_many_behaviours(void **state)
{
    char list[8192];
    size_t used = 0;
    struct doc d = {0};
    const char *text;
    Coachq__V1__Rubric *r;

    (void)state;
    list[used++] = '[';
    for (int i = 0; i < RUBRIC_MAX_BEHAVIOURS; i++) {
        used += (size_t)snprintf(list + used, sizeof(list) - used,
                                 "%s{\"id\": \"b%d\", \"name\": \"N\", \"definition\": \"D\", "
                                 "\"indicators\": [\"i\"], \"anchors\": [\"1\", \"2\", \"3\", "
                                 "\"4\"]}",
                                 i > 0 ? ", " : "", i);
        assert_true(used < sizeof(list) - 200);
    }
    snprintf(list + used, sizeof(list) - used, "]");

    /* Forty is the limit and is accepted... */
    d.behaviours = list;
    r = parse_ok(build(&d));
    assert_int_equal(r->n_behaviours, RUBRIC_MAX_BEHAVIOURS);
    coachq__v1__rubric__free_unpacked(r, NULL);

    /* ...and one more is not. */
    snprintf(list + used, sizeof(list) - used, ", " B_OK("one-more") "]");
    text = build(&d);
    expect_error("41 behaviours", text, strlen(text),
                 "behaviours: need 1 to 40 behaviours, found 41");
}

/* Text fields are capped at RUBRIC_MAX_TEXT bytes and the whole file at a
 * megabyte, both checked before anything is copied. */
static void test_caps(void **state)
{
    size_t biglen = 2 * 1024 * 1024;
    char *big = malloc(biglen);
    char def[RUBRIC_MAX_TEXT + 16];
    char list[RUBRIC_MAX_TEXT + 256];
    struct doc d = {0};
    const char *text;
    Coachq__V1__Rubric *r;

    (void)state;
    assert_non_null(big);
    memset(def, 'x', sizeof(def));
    def[RUBRIC_MAX_TEXT] = '\0';
    snprintf(list, sizeof(list),
             "[{\"id\": \"b\", \"name\": \"N\", \"definition\": \"%s\", "
             "\"indicators\": [\"i\"], \"anchors\": [\"1\", \"2\", \"3\", \"4\"]}]",
             def);
    d.behaviours = list;
    r = parse_ok(build(&d));
    assert_int_equal(strlen(r->behaviours[0]->definition), RUBRIC_MAX_TEXT);
    coachq__v1__rubric__free_unpacked(r, NULL);

    def[RUBRIC_MAX_TEXT] = 'x';
    def[RUBRIC_MAX_TEXT + 1] = '\0';
    snprintf(list, sizeof(list),
             "[{\"id\": \"b\", \"name\": \"N\", \"definition\": \"%s\", "
             "\"indicators\": [\"i\"], \"anchors\": [\"1\", \"2\", \"3\", \"4\"]}]",
             def);
    text = build(&d);
    expect_error("long definition", text, strlen(text),
                 "behaviours[0].definition: is 4001 bytes long; the limit is 4000");

    /* Spaces are valid JSON around a value, so only the size refuses this. */
    memset(big, ' ', biglen);
    big[0] = '{';
    big[biglen - 1] = '}';
    expect_error("two megabytes", big, biglen, "(file): is 2097152 bytes");
    free(big);
}

static void test_not_json(void **state)
{
    static const char trailing[] = "{\"id\": \"t\"} x";
    const char *text;
    Coachq__V1__Rubric dummy;
    Coachq__V1__Rubric *r = &dummy; /* a failed parse must reset it to NULL */
    char err[256];
    char tiny[8];

    (void)state;
    expect_error("array", "[1, 2]", 6, "(file): must be a JSON object, not an array");
    expect_error("empty", "", 0, "(file): ");
    /* Between two members the path is the enclosing object's; inside a
     * behaviour it is as deep as the break. */
    text = "{\"id\": \"t\",\n \"version\": 1,,}";
    expect_error("syntax", text, strlen(text),
                 "(file): string or '}' expected near ',' (line 2, column 15)");
    text = "{\"behaviours\": [{\"id\": \"a\" \"name\": \"N\"}]}";
    expect_error("missing comma", text, strlen(text), "behaviours[0].id: '}' expected");
    assert_int_equal(rubric_json_parse(trailing, sizeof(trailing) - 1, &r, err, sizeof(err)),
                     -EINVAL);
    assert_null(r);
    assert_non_null(strstr(err, "line 1"));

    /* A short error buffer is filled as far as it goes and stays a string;
     * no buffer at all is allowed too. */
    memset(tiny, 'z', sizeof(tiny));
    assert_int_equal(rubric_json_parse("[]", 2, &r, tiny, sizeof(tiny)), -EINVAL);
    assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
    assert_int_equal(rubric_json_parse("[]", 2, &r, NULL, 0), -EINVAL);
    assert_int_equal(rubric_json_parse(NULL, 0, &r, err, sizeof(err)), -EINVAL);
    assert_null(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtins),
        cmocka_unit_test(test_not_nul_terminated),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_minimal_is_valid),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_default_evidence),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_too_many_behaviours),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_not_json),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
