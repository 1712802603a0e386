/*
 * test_admin: coachqd's administration verbs, run as the real program
 * ($COACHQD) in a temporary directory, with stdout and stderr captured to
 * files so that the tests can check messages and exit codes.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "certissue.h"
#include "rubric_json.h"
#include "testutil.h"

#define OUT_MAX (256 * 1024)

/* One test's directory (the children's working directory, so that files
 * and --data are relative and messages name "people.csv:LINE:COL") and
 * the last run's output. */
struct fx {
    char dir[512];
    char out[OUT_MAX];
    char err[OUT_MAX];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    testutil_watchdog(240);
    testutil_tmpdir(f->dir, sizeof(f->dir));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    testutil_rmrf(f->dir);
    free(f);
    return 0;
}

/* Fails with the output shown unless the last run exited with code. */
#define expect_exit(f, code, ...)                                                                  \
    do {                                                                                           \
        int got_ = testutil_coachqd_in((f)->dir, (f)->out, sizeof((f)->out), (f)->err,             \
                                       sizeof((f)->err), __VA_ARGS__, (const char *)NULL);         \
        if (got_ != (code)) {                                                                      \
            fail_msg("exit %d, expected %d\nstdout:\n%s\nstderr:\n%s", got_, (code), (f)->out,     \
                     (f)->err);                                                                    \
        }                                                                                          \
    } while (0)

static void contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL) {
        fail_msg("expected to find \"%s\" in:\n%s", needle, hay);
    }
}

static void lacks(const char *hay, const char *needle)
{
    if (strstr(hay, needle) != NULL) {
        fail_msg("did not expect \"%s\" in:\n%s", needle, hay);
    }
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    const char *p = hay;

    while ((p = strstr(p, needle)) != NULL) {
        n++;
        p += strlen(needle);
    }
    return n;
}

static void write_file(const struct fx *f, const char *name, const char *text)
{
    char path[700];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
    assert_int_equal(fclose(fp), 0);
}

/* "FILE:LINE:COL:" where COL is the 1-based column after prefix. */
static const char *where(char *buf, size_t len, const char *file, int line, const char *prefix)
{
    snprintf(buf, len, "%s:%d:%zu:", file, line, strlen(prefix) + 1);
    return buf;
}

/* The SHA-256 of a certificate file, formatted as coachqd prints it. */
static void fingerprint(const char *path, char *out, size_t len)
{
    uint8_t sha[32];
    char err[256];
    size_t i, o = 0;

    assert_int_equal(certissue_fingerprint_file(path, sha, err, sizeof(err)), 0);
    for (i = 0; i < 32 && o + 4 < len; i++) {
        o += (size_t)snprintf(out + o, len - o, "%s%02X", i ? ":" : "", sha[i]);
    }
}

/* Ten people, every role, three levels (second-level manager, front-line
 * managers, reps), a quoted name with a comma and one with quotes. */
static const char people_csv[] =
    "id,name,email,role,manager_id,effective_date\n"
    "vp,Vera Page,vera@example.com,second_level_manager;administrator,,\n"
    "m1,\"Smith, Anna\",anna@example.com,front_line_manager,vp,2024-01-01\n"
    "m2,Mia Two,mia@example.com,front_line_manager;observer,vp,2024-01-01\n"
    "r1,Rep One,,rep,m1,2024-01-01\n"
    "r2,\"Rob \"\"Bobby\"\" Two\",,,m1,2024-02-01\n"
    "r3,Rep Three,r3@example.com,,m2,2024-01-15\n"
    "r4,Rep Four,,,m2,2024-03-01\n"
    "obs,Olga Observer,olga@example.com,observer,,\n"
    "lead,Lee Lead,lee@example.com,enablement_lead,,\n"
    "adm,Ada Admin,ada@example.com,administrator,vp,2024-01-01\n";

static void init_and_people(struct fx *f)
{
    expect_exit(f, 0, "init");
    write_file(f, "people.csv", people_csv);
    expect_exit(f, 0, "import", "people", "people.csv");
}

static void test_help_and_usage(void **state)
{
    struct fx *f = *state;

    expect_exit(f, 0, "--help");
    /* One line per command, from the table each command's --help comes from. */
    contains(f->out, "import people FILE.csv");
    contains(f->out, "import programme FILE.csv");
    contains(f->out, "cert issue USER");
    expect_exit(f, 0, "user", "add", "--help");
    contains(f->out, "--role");
    contains(f->out, "--data DIR");
    expect_exit(f, 0, "import", "--help");
    contains(f->out, "programme FILE.csv");
    expect_exit(f, 2, "frobnicate");
    expect_exit(f, 2, "user", "frobnicate");
    expect_exit(f, 2, "user");
    expect_exit(f, 2, "audit", "--bogus");
    contains(f->err, "unknown option '--bogus'");
    expect_exit(f, 2, "audit", "--limit", "zero");
    expect_exit(f, 2, "audit", "--since", "2024-02-30");
    expect_exit(f, 2, "user", "add", "x1", "--role", "observer");
    contains(f->err, "--name");
    expect_exit(f, 2, "user", "add", "x1", "--name", "X", "--role", "wizard");
    contains(f->err, "wizard");
    expect_exit(f, 2, "user", "add", "x1", "--name", "X", "--role", "observer", "--manager", "vp");
    expect_exit(f, 2, "cert", "grant", "o", "r", "--until", "2024-01-01", "--days", "3");
    expect_exit(f, 2, "rubric", "show");
    expect_exit(f, 2, "user", "show", "bad id!");
    expect_exit(f, 2, "init", "--json");
    /* Arguments must be one line of text that can be given back: no
     * control characters, no invalid UTF-8, no line breaks. */
    expect_exit(f, 2, "user", "add", "x1", "--name", "Eve\x1b[2J", "--role", "observer");
    contains(f->err, "--name: the value is not one line of UTF-8 text");
    expect_exit(f, 2, "user", "add", "x1", "--name=two\nlines", "--role", "observer");
    contains(f->err, "--name");
    expect_exit(f, 2, "user", "add", "x1", "--name", "bad\xff", "--role", "observer");
    contains(f->err, "--name");
    expect_exit(f, 2, "user", "show", "x\x7f");
    contains(f->err, "argument 1 is not one line of UTF-8 text");
    /* None of the usage errors made a data directory. */
    expect_exit(f, 1, "user", "list");
    contains(f->err, "does not exist");
}

static void test_init_twice(void **state)
{
    struct fx *f = *state;

    expect_exit(f, 0, "init", "--data", "deep/er/data");
    contains(f->out, "rubric coaching-conversation v1: added");
    contains(f->out, "rubric call-review v1: added");
    contains(f->out, "rubric coaching-the-coach v1: added");
    expect_exit(f, 0, "init", "--data=deep/er/data");
    contains(f->out, "rubric coaching-conversation v1: unchanged");
    contains(f->out, "rubric call-review v1: unchanged");
    contains(f->out, "rubric coaching-the-coach v1: unchanged");
    lacks(f->out, "added");
    expect_exit(f, 0, "audit", "--data", "deep/er/data");
    assert_int_equal(count_of(f->out, "rubric.add"), 3);
}

static void test_rubric_list_show(void **state)
{
    struct fx *f = *state;
    Coachq__V1__Rubric *r = NULL;
    char err[256];

    expect_exit(f, 0, "init");
    expect_exit(f, 0, "rubric", "list");
    contains(f->out, "coaching-conversation");
    contains(f->out, "call-review");
    contains(f->out, "2024-01-01");
    expect_exit(f, 0, "rubric", "show", "coaching-conversation");
    contains(f->out, "coaching-conversation v1: Coaching conversation");
    contains(f->out, "Indicators:");
    contains(f->out, "Anchors:");
    contains(f->out, "     4: ");
    contains(f->out, "Not applicable:");
    contains(f->out, "evidence note required for scores: 1, 4");
    assert_int_equal(count_of(f->out, "Anchors:"), 10);
    expect_exit(f, 0, "rubric", "show", "call-review@1", "--json");
    assert_int_equal(rubric_json_parse(f->out, strlen(f->out), &r, err, sizeof(err)), 0);
    assert_string_equal(r->id, "call-review");
    assert_int_equal(r->n_behaviours, 8);
    coachq__v1__rubric__free_unpacked(r, NULL);
    expect_exit(f, 1, "rubric", "show", "no-such-rubric");
    contains(f->err, "no rubric 'no-such-rubric'");
    expect_exit(f, 1, "rubric", "show", "call-review@7");
    expect_exit(f, 2, "rubric", "show", "call-review@x");
}

static const char rubric_v1[] =
    "{\"id\": \"test-rubric\", \"version\": 1, \"name\": \"NAME\", \"description\": \"d\",\n"
    " \"effective\": \"2024-06-01\", \"behaviours\": [{\"id\": \"listens\", \"name\": "
    "\"Listens\",\n"
    "  \"definition\": \"The manager listens.\", \"indicators\": [\"Asks open questions.\"],\n"
    "  \"anchors\": [\"never\", \"sometimes\", \"mostly\", \"always\"],\n"
    "  \"not_applicable\": false}]}\n";

/* rubric_v1 with its name and version replaced. */
static void write_rubric(const struct fx *f, const char *file, const char *name, int version)
{
    char text[2048], *p;

    snprintf(text, sizeof(text), "%s", rubric_v1);
    p = strstr(text, "\"version\": 1");
    assert_non_null(p);
    p[11] = (char)('0' + version);
    p = strstr(text, "NAME");
    assert_non_null(p);
    memmove(p + strlen(name), p + 4, strlen(p + 4) + 1);
    memcpy(p, name, strlen(name));
    write_file(f, file, text);
}

static void test_rubric_add(void **state)
{
    struct fx *f = *state;

    expect_exit(f, 0, "init");
    write_rubric(f, "r.json", "Listening", 1);
    expect_exit(f, 0, "rubric", "add", "r.json");
    contains(f->out, "rubric test-rubric v1: added");
    expect_exit(f, 0, "rubric", "add", "r.json");
    contains(f->out, "rubric test-rubric v1: unchanged");
    /* Changed content under the same version: refused, nothing changed. */
    write_rubric(f, "r.json", "Hearing", 1);
    expect_exit(f, 1, "rubric", "add", "r.json");
    contains(f->err, "bump \"version\" to 2");
    expect_exit(f, 0, "rubric", "show", "test-rubric");
    contains(f->out, "test-rubric v1: Listening");
    lacks(f->out, "Hearing");
    /* As a new version it goes in, and both versions are listed. */
    write_rubric(f, "r.json", "Hearing", 2);
    expect_exit(f, 0, "rubric", "add", "r.json");
    contains(f->out, "rubric test-rubric v2: added");
    expect_exit(f, 0, "rubric", "list");
    contains(f->out, "Listening");
    contains(f->out, "Hearing");
    expect_exit(f, 0, "rubric", "show", "test-rubric");
    contains(f->out, "test-rubric v2: Hearing");
    expect_exit(f, 0, "rubric", "show", "test-rubric@1");
    contains(f->out, "test-rubric v1: Listening");
    /* A file that is not a rubric. */
    write_file(f, "bad.json", "{\"id\": \"x\"}");
    expect_exit(f, 1, "rubric", "add", "bad.json");
    contains(f->err, "bad.json: ");
}

/* Rubric "test-rubric" at version v with behaviour "listens" defined by
 * definition and anchor4 (its score 4), and a second behaviour "asks"
 * when with_asks. */
static void write_rubric_meaning(const struct fx *f, const char *file, int version,
                                 const char *definition, const char *anchor4, int with_asks)
{
    char text[2048];

    snprintf(text, sizeof(text),
             "{\"id\": \"test-rubric\", \"version\": %d, \"name\": \"Listening v%d\",\n"
             " \"effective\": \"2024-06-01\", \"behaviours\": [\n"
             " {\"id\": \"listens\", \"name\": \"Listens well\", \"definition\": \"%s\",\n"
             "  \"indicators\": [\"Asks open questions.\", \"Pauses.\"],\n"
             "  \"anchors\": [\"never\", \"sometimes\", \"mostly\", \"%s\"]}%s]}\n",
             version, version, definition, anchor4,
             with_asks ? ",\n {\"id\": \"asks\", \"name\": \"Asks\", \"definition\": "
                         "\"The manager asks.\", \"indicators\": [\"Questions.\"],\n"
                         "  \"anchors\": [\"no\", \"few\", \"some\", \"many\"]}"
                       : "");
    write_file(f, file, text);
}

/* Issue 11: aggregates are kept per behaviour id across rubric versions,
 * so a version that redefines a behaviour under the same id would have its
 * scores averaged with the old meaning's. Such a version is refused, naming
 * the behaviour; one that keeps every id's meaning and adds a behaviour goes
 * in. */
static void test_rubric_version_keeps_meaning(void **state)
{
    struct fx *f = *state;

    expect_exit(f, 0, "init");
    write_rubric(f, "r.json", "Listening", 1);
    expect_exit(f, 0, "rubric", "add", "r.json");
    /* A new definition under the same id: refused. */
    write_rubric_meaning(f, "v2.json", 2, "The manager talks.", "always", 0);
    expect_exit(f, 1, "rubric", "add", "v2.json");
    contains(f->err, "behaviours[0].id: \"listens\" has another definition in version 1");
    contains(f->err, "new id");
    expect_exit(f, 1, "rubric", "show", "test-rubric@2");
    /* New anchors under the same id: refused too. */
    write_rubric_meaning(f, "v2.json", 2, "The manager listens.", "every time", 0);
    expect_exit(f, 1, "rubric", "add", "v2.json");
    contains(f->err, "\"listens\" has other anchors in version 1");
    /* Same meaning (a new name and indicators) plus a new behaviour: added. */
    write_rubric_meaning(f, "v2.json", 2, "The manager listens.", "always", 1);
    expect_exit(f, 0, "rubric", "add", "v2.json");
    contains(f->out, "rubric test-rubric v2: added");
    /* Version 3 must agree with every stored version, "asks" included. */
    write_rubric_meaning(f, "v3.json", 3, "The manager listens.", "always", 1);
    expect_exit(f, 0, "rubric", "add", "v3.json");
    contains(f->out, "rubric test-rubric v3: added");
    /* Version 4 that scores second-level managers coaching: refused on
     * "coach", nothing stored. */
    {
        char text[2048];

        snprintf(text, sizeof(text),
                 "{\"id\": \"test-rubric\", \"version\": 4, \"name\": \"Listening v4\",\n"
                 " \"coach\": \"%s\", \"effective\": \"2024-06-01\", \"behaviours\": [\n"
                 " {\"id\": \"listens\", \"name\": \"Listens well\", \"definition\": "
                 "\"The manager listens.\",\n"
                 "  \"indicators\": [\"Asks open questions.\", \"Pauses.\"],\n"
                 "  \"anchors\": [\"never\", \"sometimes\", \"mostly\", \"always\"]}]}\n",
                 "second-level-manager");
        write_file(f, "v4.json", text);
    }
    expect_exit(f, 1, "rubric", "add", "v4.json");
    contains(f->err, "coach: version");
    contains(f->err, "new id");
    expect_exit(f, 1, "rubric", "show", "test-rubric@4");
}

static void test_import_people(void **state)
{
    struct fx *f = *state;
    char *changed;

    init_and_people(f);
    contains(f->out,
             "people: 10 rows; 10 added, 0 updated, 0 unchanged; reporting lines: 7 changed");
    expect_exit(f, 0, "import", "people", "people.csv");
    contains(f->out,
             "people: 10 rows; 0 added, 0 updated, 10 unchanged; reporting lines: 0 changed");
    expect_exit(f, 0, "audit");
    assert_int_equal(count_of(f->out, "import.people"), 1);
    /* Quoted fields keep their commas and quotes. */
    expect_exit(f, 0, "user", "show", "m1");
    contains(f->out, "name:     Smith, Anna");
    contains(f->out, "from 2024-01-01: reports to vp (Vera Page)");
    contains(f->out, "  r1 (Rep One)\n  r2 (Rob \"Bobby\" Two)\n");
    expect_exit(f, 0, "user", "show", "vp");
    contains(f->out, "roles:    second_level_manager, administrator");
    contains(f->out, "  adm (Ada Admin)\n  m1 (Smith, Anna)\n  m2 (Mia Two)\n");
    expect_exit(f, 0, "user", "show", "r2");
    contains(f->out, "roles:    rep (no roles)");
    expect_exit(f, 0, "user", "list");
    contains(f->out, "10 people");
    contains(f->out, "enablement_lead");
    /* One e-mail and one manager change: one updated, one line changed. */
    changed = strdup(people_csv);
    assert_non_null(changed);
    memcpy(strstr(changed, "olga@"), "olgb@", 5);
    memcpy(strstr(changed, "r4,Rep Four,,,m2,2024-03-01"), "r4,Rep Four,,,m1,2024-06-01", 27);
    write_file(f, "people2.csv", changed);
    free(changed);
    expect_exit(f, 0, "import", "people", "people2.csv", "--dry-run");
    contains(f->out, "dry run");
    contains(f->out, "0 added, 1 updated, 9 unchanged; reporting lines: 1 changed");
    expect_exit(f, 0, "user", "show", "obs");
    contains(f->out, "olga@example.com");
    expect_exit(f, 0, "import", "people", "people2.csv");
    contains(f->out, "0 added, 1 updated, 9 unchanged; reporting lines: 1 changed");
    expect_exit(f, 0, "user", "show", "r4");
    contains(f->out, "from 2024-03-01: reports to m2 (Mia Two)\n  from 2024-06-01: reports to m1");
    expect_exit(f, 0, "audit");
    assert_int_equal(count_of(f->out, "import.people"), 2);
    contains(f->out, "local:");
    /* A transfer as two rows of one person: the line keeps its history. */
    write_file(f, "transfer.csv",
               "id,name,email,role,manager_id,effective_date\n"
               "r3,Rep Three,r3@example.com,,m2,2024-01-15\n"
               "r3,Rep Three,r3@example.com,,m1,2025-02-01\n");
    expect_exit(f, 0, "import", "people", "transfer.csv");
    contains(f->out, "people: 2 rows; 0 added, 0 updated, 1 unchanged; reporting lines: 1 changed");
    expect_exit(f, 0, "user", "show", "r3");
    contains(f->out, "from 2024-01-15: reports to m2 (Mia Two)\n  from 2025-02-01: reports to m1");
    expect_exit(f, 0, "import", "people", "transfer.csv");
    contains(f->out, "reporting lines: 0 changed");
}

static void test_import_people_errors(void **state)
{
    struct fx *f = *state;
    char w[128];

    expect_exit(f, 0, "init");
    /* A bad date on line 4: nothing of the file goes in. */
    write_file(f, "bad.csv",
               "id,name,email,role,manager_id,effective_date\n"
               "boss,Bea Boss,bea@example.com,second_level_manager,,\n"
               "m9,\"Nine, Max\",,front_line_manager,boss,2024-01-01\n"
               "r9,Rep Nine,,,m9,2024-02-30\n");
    expect_exit(f, 1, "import", "people", "bad.csv");
    contains(f->err, where(w, sizeof(w), "bad.csv", 4, "r9,Rep Nine,,,m9,"));
    contains(f->err, "'2024-02-30' is not a valid date");
    contains(f->err, "nothing imported");
    expect_exit(f, 1, "user", "show", "boss");
    contains(f->err, "no user 'boss'");
    expect_exit(f, 0, "audit");
    lacks(f->out, "import.people");

    /* An unknown manager, a bad role and a missing date, all reported. */
    write_file(f, "bad2.csv",
               "role,id,name,email,manager_id,effective_date\n"
               "observer,ok1,Ok One,,,\n"
               "observer,x1,X One,,mgr.x,2024-01-01\n"
               "wizard,x2,X Two,,,\n"
               "observer,x3,X Three,,ok1,\n");
    expect_exit(f, 1, "import", "people", "bad2.csv");
    contains(f->err, where(w, sizeof(w), "bad2.csv", 3, "observer,x1,X One,,"));
    contains(f->err, "manager_id 'mgr.x' is neither in this file nor in the store");
    contains(f->err, where(w, sizeof(w), "bad2.csv", 4, ""));
    contains(f->err, "role 'wizard'");
    contains(f->err, where(w, sizeof(w), "bad2.csv", 5, "observer,x3,X Three,,ok1,"));
    contains(f->err, "3 errors");
    expect_exit(f, 1, "user", "show", "ok1");

    /* Header problems and an unterminated quote. */
    write_file(f, "bad3.csv", "id,name,email,role,manager,effective_date\n");
    expect_exit(f, 1, "import", "people", "bad3.csv");
    contains(f->err, "bad3.csv:1:20: unknown column 'manager'");
    contains(f->err, "missing column 'manager_id'");
    write_file(f, "bad4.csv",
               "id,name,email,role,manager_id,effective_date\n"
               "q1,\"Quote,,observer,,\n");
    expect_exit(f, 1, "import", "people", "bad4.csv");
    contains(f->err, "bad4.csv:2:");
    /* A person's rows (one per reporting line change) must agree. */
    write_file(f, "bad5.csv",
               "id,name,email,role,manager_id,effective_date\n"
               "d0,Boss,,front_line_manager,,\n"
               "d1,Dup,,observer,d0,2024-01-01\n"
               "d1,Dup Again,,observer,d0,2024-02-01\n"
               "d2,Two,,,d0,2024-01-01\n"
               "d2,Two,,,d1,2024-01-01\n");
    expect_exit(f, 1, "import", "people", "bad5.csv");
    contains(f->err, "bad5.csv:4:4: name 'Dup Again' differs from line 3");
    contains(f->err, where(w, sizeof(w), "bad5.csv", 6, "d2,Two,,,d1,"));
    contains(f->err, "line 5 gives 'd2' another manager from the same day");
    /* At most 20 errors are collected and printed. */
    {
        char many[4096];
        size_t o = (size_t)snprintf(many, sizeof(many), "%s",
                                    "id,name,email,role,manager_id,effective_date\n");

        for (int i = 0; i < 25; i++) {
            o += (size_t)snprintf(many + o, sizeof(many) - o, "w%d,W,,wizard,,\n", i);
        }
        write_file(f, "many.csv", many);
    }
    expect_exit(f, 1, "import", "people", "many.csv");
    assert_int_equal(count_of(f->err, "many.csv:"), 20);
    contains(f->err, "(stopped after 20 errors)");
    expect_exit(f, 1, "import", "people", "missing.csv");
    contains(f->err, "missing.csv");
    expect_exit(f, 0, "user", "list");
    contains(f->out, "0 people");
}

static const char programme_csv[] =
    "programme_id,programme_name,cohort_id,cohort_start,person_id,module,attended_on,"
    "completed_on\n"
    "coach-101,Coaching Essentials,c2024a,2024-03-01,m1,intro,2024-03-01,\n"
    "coach-101,Coaching Essentials,c2024a,2024-03-01,m1,\"deal review, part 1\",2024-03-08,"
    "2024-04-01\n"
    "coach-101,Coaching Essentials,c2024a,2024-03-01,m2,,,\n";

static void test_import_programme(void **state)
{
    struct fx *f = *state;
    char w[128];

    init_and_people(f);
    write_file(f, "prog.csv", programme_csv);
    expect_exit(f, 0, "import", "programme", "prog.csv");
    contains(f->out, "programme: 3 rows; programmes: 1 added, 0 renamed; enrolments: 2 added, 0 "
                     "updated, 0 unchanged; attendances: 2 added; completions: 1 set");
    expect_exit(f, 0, "import", "programme", "prog.csv");
    contains(f->out, "enrolments: 0 added, 0 updated, 2 unchanged; attendances: 0 added; "
                     "completions: 0 set");
    expect_exit(f, 0, "audit");
    assert_int_equal(count_of(f->out, "import.programme"), 1);

    /* A good row for a new programme, an unknown person and a bad date:
     * refused as a whole. */
    write_file(f, "badprog.csv",
               "programme_id,programme_name,cohort_id,cohort_start,person_id,module,"
               "attended_on,completed_on\n"
               "coach-201,Advanced,c1,2024-05-01,m2,intro,2024-05-02,\n"
               "coach-201,Advanced,c1,2024-05-01,ghost,intro,2024-05-02,\n"
               "coach-201,Advanced,c1,2024-05-01,r1,intro,2024-05-32,\n");
    expect_exit(f, 1, "import", "programme", "badprog.csv");
    contains(f->err, where(w, sizeof(w), "badprog.csv", 3, "coach-201,Advanced,c1,2024-05-01,"));
    contains(f->err, "person_id 'ghost' is not in the store");
    contains(f->err,
             where(w, sizeof(w), "badprog.csv", 4, "coach-201,Advanced,c1,2024-05-01,r1,intro,"));
    contains(f->err, "attended_on '2024-05-32'");
    /* The good row alone shows that nothing of the refused file was stored. */
    write_file(f, "goodprog.csv",
               "programme_id,programme_name,cohort_id,cohort_start,person_id,module,"
               "attended_on,completed_on\n"
               "coach-201,Advanced,c1,2024-05-01,m2,intro,2024-05-02,\n");
    expect_exit(f, 0, "import", "programme", "goodprog.csv");
    contains(f->out, "programmes: 1 added, 0 renamed; enrolments: 1 added");

    /* Rows of one person must agree on the cohort. */
    write_file(f, "badprog2.csv",
               "programme_id,programme_name,cohort_id,cohort_start,person_id,module,"
               "attended_on,completed_on\n"
               "coach-301,Third,c1,2024-05-01,m1,,,\n"
               "coach-301,Third,c2,2024-06-01,m1,,,\n"
               "coach-301,Third,c1,2024-05-01,m2,intro,,\n");
    expect_exit(f, 1, "import", "programme", "badprog2.csv");
    contains(f->err, where(w, sizeof(w), "badprog2.csv", 3, "coach-301,Third,"));
    contains(f->err, "one cohort per programme");
    contains(f->err,
             where(w, sizeof(w), "badprog2.csv", 4, "coach-301,Third,c1,2024-05-01,m2,intro,"));
}

static void test_users(void **state)
{
    struct fx *f = *state;
    char crt[600], bob[600], fp[128];

    init_and_people(f);
    expect_exit(f, 0, "user", "add", "obs2", "--name", "Otto Two", "--email", "otto@example.com",
                "--role", "observer,front_line_manager", "--manager", "vp", "--effective",
                "2024-04-01");
    contains(f->out, "user obs2: added");
    expect_exit(f, 0, "user", "show", "obs2");
    contains(f->out, "roles:    observer, front_line_manager");
    contains(f->out, "status:   enabled");
    contains(f->out, "from 2024-04-01: reports to vp (Vera Page)");
    contains(f->out, "pinned certificates (SHA-256): none");
    expect_exit(f, 1, "user", "add", "obs2", "--name", "Again", "--role", "observer");
    contains(f->err, "already exists");
    expect_exit(f, 1, "user", "add", "obs3", "--name", "O3", "--role", "observer", "--manager",
                "nobody", "--effective", "2024-01-01");
    contains(f->err, "manager 'nobody' is not in the store");
    expect_exit(f, 1, "user", "show", "obs3");

    expect_exit(f, 0, "user", "disable", "obs2");
    contains(f->out, "user obs2: disabled");
    expect_exit(f, 0, "user", "show", "obs2");
    contains(f->out, "status:   disabled");
    expect_exit(f, 0, "user", "disable", "obs2");
    contains(f->out, "unchanged");
    expect_exit(f, 0, "user", "enable", "obs2");
    expect_exit(f, 0, "user", "show", "obs2");
    contains(f->out, "status:   enabled");
    expect_exit(f, 1, "user", "disable", "nobody");
    contains(f->err, "no user 'nobody'");

    /* Pinning: the certificate's CN must be the user's id. */
    testutil_cert_path(crt, sizeof(crt), "users/alice.crt");
    testutil_cert_path(bob, sizeof(bob), "users/bob.crt");
    fingerprint(crt, fp, sizeof(fp));
    expect_exit(f, 0, "user", "add", "alice", "--name", "Alice", "--role", "administrator",
                "--cert", crt);
    expect_exit(f, 0, "user", "show", "alice");
    contains(f->out, fp);
    expect_exit(f, 0, "user", "pin", "alice", crt);
    contains(f->out, "unchanged");
    lacks(f->err, "warning");
    /* Another CN is pinned, with a warning (it locks alice out of her
     * own certificate, never lets bob in as alice). */
    expect_exit(f, 0, "user", "pin", "alice", bob);
    contains(f->err, "warning");
    contains(f->err, "CN is 'bob', not 'alice'");
    expect_exit(f, 0, "user", "add", "bob", "--name", "Bob", "--role", "rep");
    expect_exit(f, 0, "user", "pin", "bob", bob);
    lacks(f->err, "warning");
    fingerprint(bob, fp, sizeof(fp));
    expect_exit(f, 0, "user", "show", "bob");
    contains(f->out, fp);
    expect_exit(f, 0, "user", "show", "alice");
    contains(f->out, fp);
    expect_exit(f, 0, "user", "list");
    contains(f->out, "13 people");

    expect_exit(f, 0, "audit");
    contains(f->out, "user.add  obs2");
    contains(f->out, "user.disable  obs2");
    contains(f->out, "user.enable  obs2");
    contains(f->out, "user.pin  bob");
    contains(f->out, "(coachqd user add)");
    assert_int_equal(count_of(f->out, "user.disable"), 1);
}

static void test_cert_issue(void **state)
{
    struct fx *f = *state;
    char ca[600], key[600], path[800], fp[128];
    struct stat st;

    init_and_people(f);
    testutil_cert_path(ca, sizeof(ca), "ca.crt");
    testutil_cert_path(key, sizeof(key), "ca.key");
    expect_exit(f, 0, "cert", "issue", "m2", "--ca-cert", ca, "--ca-key", key, "--out", "certs",
                "--days", "30");
    contains(f->out, "certs/m2.crt");
    contains(f->out, "coachq --cert certs/m2.crt --key certs/m2.key --ca");
    snprintf(path, sizeof(path), "%s/certs/m2.key", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(path, sizeof(path), "%s/certs/m2.crt", f->dir);
    fingerprint(path, fp, sizeof(fp));
    expect_exit(f, 0, "user", "show", "m2");
    contains(f->out, fp);
    expect_exit(f, 0, "audit");
    contains(f->out, "cert.issue  m2");
    /* Existing files are not overwritten. */
    expect_exit(f, 1, "cert", "issue", "m2", "--ca-cert", ca, "--ca-key", key, "--out", "certs");
    /* Reps have no login: no certificate, no files. */
    expect_exit(f, 1, "cert", "issue", "r1", "--ca-cert", ca, "--ca-key", key, "--out", "certs");
    contains(f->err, "reps have no login");
    snprintf(path, sizeof(path), "%s/certs/r1.crt", f->dir);
    assert_int_equal(stat(path, &st), -1);
    expect_exit(f, 1, "cert", "issue", "ghost", "--ca-cert", ca, "--ca-key", key);
    expect_exit(f, 2, "cert", "issue", "m1", "--days", "0");
}

static void test_cert_grant_list(void **state)
{
    struct fx *f = *state;

    init_and_people(f);
    expect_exit(f, 0, "cert", "grant", "obs", "coaching-conversation", "--from", "2024-01-01",
                "--until", "2024-12-31");
    contains(f->out, "granted");
    expect_exit(f, 0, "cert", "grant", "obs", "coaching-conversation", "--from", "2024-01-01",
                "--until", "2024-12-31");
    contains(f->out, "unchanged");
    expect_exit(f, 0, "cert", "grant", "m2", "call-review");
    expect_exit(f, 0, "cert", "list");
    contains(f->out, "obs  coaching-conversation from 2024-01-01 until 2024-12-31, granted by "
                     "local:");
    contains(f->out, ": expired");
    contains(f->out, "m2  call-review from ");
    contains(f->out, ": valid today");
    contains(f->out, "calibration results:");
    expect_exit(f, 0, "cert", "list", "obs");
    lacks(f->out, "call-review");
    expect_exit(f, 1, "cert", "list", "ghost");
    expect_exit(f, 1, "cert", "grant", "m1", "coaching-conversation");
    contains(f->err, "observer role");
    expect_exit(f, 1, "cert", "grant", "obs", "no-rubric");
    contains(f->err, "no rubric 'no-rubric'");
    expect_exit(f, 2, "cert", "grant", "obs", "call-review", "--from", "2024-13-01");
    expect_exit(f, 2, "cert", "grant", "obs", "call-review", "--from", "2024-05-01", "--until",
                "2024-04-30");
    expect_exit(f, 0, "user", "show", "obs");
    contains(f->out, "coaching-conversation from 2024-01-01 until 2024-12-31");
    expect_exit(f, 0, "audit");
    assert_int_equal(count_of(f->out, "cert.grant"), 2);
}

static void test_audit(void **state)
{
    struct fx *f = *state;
    size_t lines;

    init_and_people(f);
    expect_exit(f, 0, "user", "disable", "r1");
    expect_exit(f, 0, "audit");
    lines = count_of(f->out, "\n");
    assert_int_equal(lines, 5); /* three rubrics, the import, the disable */
    contains(f->out, "local:");
    contains(f->out, "import.people  people.csv");
    contains(f->out, "(coachqd import people)");
    expect_exit(f, 0, "audit", "--limit", "1");
    assert_int_equal(count_of(f->out, "\n"), 1);
    contains(f->out, "user.disable  r1");
    expect_exit(f, 0, "audit", "--since", "2999-01-01T00:00:00Z");
    assert_string_equal(f->out, "");
    expect_exit(f, 0, "audit", "--since", "2000-01-01");
    assert_int_equal(count_of(f->out, "\n"), 5);
    expect_exit(f, 2, "audit", "--since", "2000-01-01T25:00:00Z");
}

static void test_demo(void **state)
{
    struct fx *f = *state;

    expect_exit(f, 2, "demo", "--seed", "x");
    expect_exit(f, 0, "demo", "--data", "demo", "--seed", "3");
    contains(f->out, "rubric coaching-conversation v1: added");
    contains(f->out, "demo (seed 3): ");
    expect_exit(f, 0, "audit", "--data", "demo", "--limit", "1");
    contains(f->out, "  demo  demo  seed=3; ");
    /* A directory that holds people is refused and left alone. */
    expect_exit(f, 1, "demo", "--data", "demo");
    contains(f->err, "already holds people");
    init_and_people(f);
    expect_exit(f, 1, "demo", "--seed", "7");
    contains(f->err, "already holds people");
    expect_exit(f, 0, "user", "list");
    contains(f->out, "10 people");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_help_and_usage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rubric_list_show, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rubric_add, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rubric_version_keeps_meaning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_people, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_people_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_programme, setup, teardown),
        cmocka_unit_test_setup_teardown(test_users, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_issue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_grant_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_demo, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
