/*
 * test_browser: every dashboard of the demo organisation, as each role,
 * in a real headless Chromium (Debian's `chromium`), against a real coachqd
 * over real TLS.
 *
 * Chromium is driven over the DevTools protocol on a pipe
 * (--remote-debugging-pipe: commands on fd 3, events and answers on fd 4,
 * each message JSON ending with a NUL byte), so no WebSocket client and no
 * JavaScript of ours is needed. A page fails the test on any console error,
 * uncaught exception, log entry of level error (CSP violations and failed
 * loads land there), failed network request, HTTP status >= 400 of any
 * response, or image that did not load. Every page is saved as a
 * screenshot into $COACHQ_SCREENSHOTS (default ./screenshots).
 *
 * Without chromium installed the test is skipped, except under CI=true,
 * where it fails: CI must run it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "testutil.h"

#define CDP_MAX_MSG (64u * 1024 * 1024)
#define CDP_TIMEOUT_MS 30000

struct cdp {
    pid_t pid;
    int to;   /* we write commands here (the browser's fd 3) */
    int from; /* we read messages here (the browser's fd 4) */
    char *buf;
    size_t len, cap;
    int next_id;
    char session[128];
    /* What went wrong on the page being loaded. */
    char errors[8192];
    size_t nerrors;
    int loaded;
    int main_status;
    int expect_status; /* a page expected to answer this (>= 400) is no error */
};

static char g_tmp[512];
static char g_chromium[512];
static struct testutil_server g_srv;
static int g_started;

static const char *find_chromium(char *out, size_t outlen)
{
    static const char *const names[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser",
                                        "/usr/bin/google-chrome"};
    const char *env = getenv("COACHQ_CHROMIUM");

    if (env != NULL && env[0] != '\0') {
        snprintf(out, outlen, "%s", env);
        return access(out, X_OK) == 0 ? out : NULL;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (access(names[i], X_OK) == 0) {
            snprintf(out, outlen, "%s", names[i]);
            return out;
        }
    }
    return NULL;
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void cdp_note(struct cdp *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cdp_note(struct cdp *c, const char *fmt, ...)
{
    size_t used = strlen(c->errors);
    va_list ap;

    c->nerrors++;
    if (used + 2 >= sizeof(c->errors)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(c->errors + used, sizeof(c->errors) - used - 1, fmt, ap);
    va_end(ap);
    used = strlen(c->errors);
    if (used + 1 < sizeof(c->errors)) {
        c->errors[used] = '\n';
        c->errors[used + 1] = '\0';
    }
}

static void cdp_start(struct cdp *c, const char *profile)
{
    int in[2], out[2];
    char prof_arg[600];

    memset(c, 0, sizeof(*c));
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    snprintf(prof_arg, sizeof(prof_arg), "--user-data-dir=%s", profile);
    c->pid = fork();
    assert_true(c->pid >= 0);
    if (c->pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        /* fd 3: commands to the browser; fd 4: its messages. Move the pipe
         * ends out of the way first, since they may be 3 or 4 already. */
        int r = fcntl(in[0], F_DUPFD, 10);
        int w = fcntl(out[1], F_DUPFD, 10);
        if (r < 0 || w < 0 || dup2(r, 3) < 0 || dup2(w, 4) < 0) {
            _exit(127);
        }
        if (devnull >= 0) {
            dup2(devnull, 0);
            if (getenv("COACHQ_BROWSER_LOG") == NULL) {
                dup2(devnull, 1);
                dup2(devnull, 2);
            }
        }
        for (int fd = 5; fd < 1024; fd++) {
            close(fd);
        }
        execl(g_chromium, g_chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
              "--disable-extensions", "--disable-background-networking", "--disable-sync",
              "--ignore-certificate-errors", "--remote-debugging-pipe", "--window-size=1366,900",
              prof_arg, "about:blank", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    c->to = in[1];
    c->from = out[0];
    c->next_id = 1;
    signal(SIGPIPE, SIG_IGN);
}

static void cdp_stop(struct cdp *c)
{
    int status;

    if (c->to >= 0) {
        close(c->to);
    }
    if (c->from >= 0) {
        close(c->from);
    }
    c->to = c->from = -1;
    if (c->pid > 0) {
        kill(c->pid, SIGTERM);
        for (int i = 0; i < 50; i++) {
            if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
                c->pid = 0;
                break;
            }
            testutil_sleep_ms(100);
        }
        if (c->pid > 0) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, &status, 0);
            c->pid = 0;
        }
    }
    free(c->buf);
    c->buf = NULL;
}

/* Reads the next whole message (NUL-terminated) within the deadline;
 * returns it (caller frees with json_decref) or NULL on timeout/EOF. */
static json_t *cdp_read(struct cdp *c, int64_t deadline)
{
    for (;;) {
        char *nul = c->len > 0 ? memchr(c->buf, '\0', c->len) : NULL;
        if (nul != NULL) {
            size_t n = (size_t)(nul - c->buf);
            json_error_t err;
            json_t *m = json_loadb(c->buf, n, 0, &err);
            memmove(c->buf, nul + 1, c->len - n - 1);
            c->len -= n + 1;
            if (m == NULL) {
                fail_msg("DevTools sent a message that is not JSON: %s", err.text);
            }
            return m;
        }
        int64_t left = deadline - mono_ms();
        if (left <= 0) {
            return NULL;
        }
        struct pollfd p = {.fd = c->from, .events = POLLIN};
        int pr = poll(&p, 1, (int)left);
        if (pr <= 0) {
            continue;
        }
        if (c->cap - c->len < 65536) {
            size_t ncap = c->cap == 0 ? 1u << 20 : c->cap * 2;
            assert_true(ncap <= CDP_MAX_MSG);
            c->buf = realloc(c->buf, ncap);
            assert_non_null(c->buf);
            c->cap = ncap;
        }
        ssize_t r = read(c->from, c->buf + c->len, c->cap - c->len);
        if (r <= 0) {
            return NULL;
        }
        c->len += (size_t)r;
    }
}

/* Looks at one event of the page session: errors, load, main status. */
static void cdp_event(struct cdp *c, json_t *m)
{
    const char *method = json_string_value(json_object_get(m, "method"));
    json_t *p = json_object_get(m, "params");

    if (method == NULL) {
        return;
    }
    if (strcmp(method, "Page.loadEventFired") == 0) {
        c->loaded = 1;
    } else if (strcmp(method, "Runtime.consoleAPICalled") == 0) {
        const char *type = json_string_value(json_object_get(p, "type"));
        if (type != NULL && (strcmp(type, "error") == 0 || strcmp(type, "assert") == 0)) {
            cdp_note(c, "console.%s", type);
        }
    } else if (strcmp(method, "Runtime.exceptionThrown") == 0) {
        cdp_note(c, "uncaught exception");
    } else if (strcmp(method, "Log.entryAdded") == 0) {
        json_t *e = json_object_get(p, "entry");
        const char *level = json_string_value(json_object_get(e, "level"));
        const char *text = json_string_value(json_object_get(e, "text"));
        const char *url = json_string_value(json_object_get(e, "url"));
        char expected[96];

        /* The browser also logs the expected status of a refused page. */
        snprintf(expected, sizeof(expected), "the server responded with a status of %d",
                 c->expect_status);
        if (level != NULL && strcmp(level, "error") == 0 &&
            !(c->expect_status != 0 && text != NULL && strstr(text, expected) != NULL)) {
            cdp_note(c, "console error: %s (%s)", text != NULL ? text : "?",
                     url != NULL ? url : "");
        }
    } else if (strcmp(method, "Network.loadingFailed") == 0) {
        const char *err = json_string_value(json_object_get(p, "errorText"));
        const char *type = json_string_value(json_object_get(p, "type"));
        cdp_note(c, "request failed: %s (%s)", err != NULL ? err : "?", type != NULL ? type : "?");
    } else if (strcmp(method, "Network.responseReceived") == 0) {
        json_t *r = json_object_get(p, "response");
        const char *type = json_string_value(json_object_get(p, "type"));
        const char *url = json_string_value(json_object_get(r, "url"));
        int status = (int)json_integer_value(json_object_get(r, "status"));
        int document = type != NULL && strcmp(type, "Document") == 0;

        if (document) {
            c->main_status = status;
        }
        if (status >= 400 && !(document && status == c->expect_status)) {
            cdp_note(c, "HTTP %d for %s", status, url != NULL ? url : "?");
        }
    }
}

/* Sends method with params (stolen; may be NULL) on the page session (or
 * the browser when session is 0) and waits for its answer, handling events
 * meanwhile. Returns the "result" object (caller decrefs the returned
 * message through *msg). */
static json_t *cdp_call(struct cdp *c, int on_session, const char *method, json_t *params,
                        json_t **msg)
{
    json_t *cmd = json_object();
    int id = c->next_id++;
    int64_t deadline = mono_ms() + CDP_TIMEOUT_MS;
    char *text;

    json_object_set_new(cmd, "id", json_integer(id));
    json_object_set_new(cmd, "method", json_string(method));
    json_object_set_new(cmd, "params", params != NULL ? params : json_object());
    if (on_session) {
        json_object_set_new(cmd, "sessionId", json_string(c->session));
    }
    text = json_dumps(cmd, JSON_COMPACT);
    json_decref(cmd);
    assert_non_null(text);
    size_t n = strlen(text) + 1; /* with the NUL that ends a message */
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(c->to, text + off, n - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            free(text);
            fail_msg("cannot write to chromium (did it start? set COACHQ_BROWSER_LOG=1)");
        }
        off += (size_t)w;
    }
    free(text);
    for (;;) {
        json_t *m = cdp_read(c, deadline);
        if (m == NULL) {
            fail_msg("chromium did not answer %s within %d ms", method, CDP_TIMEOUT_MS);
        }
        json_t *mid = json_object_get(m, "id");
        if (mid != NULL && json_integer_value(mid) == id) {
            json_t *err = json_object_get(m, "error");
            if (err != NULL) {
                const char *em = json_string_value(json_object_get(err, "message"));
                fail_msg("DevTools %s failed: %s", method, em != NULL ? em : "?");
            }
            *msg = m;
            return json_object_get(m, "result");
        }
        cdp_event(c, m);
        json_decref(m);
    }
}

static void cdp_call0(struct cdp *c, int on_session, const char *method, json_t *params)
{
    json_t *m = NULL;

    cdp_call(c, on_session, method, params, &m);
    json_decref(m);
}

/* Opens a page and attaches to it with events on. */
static void cdp_open_page(struct cdp *c)
{
    json_t *m = NULL;
    json_t *r = cdp_call(c, 0, "Target.createTarget", json_pack("{s:s}", "url", "about:blank"), &m);
    const char *target = json_string_value(json_object_get(r, "targetId"));
    char tid[128];

    assert_non_null(target);
    snprintf(tid, sizeof(tid), "%s", target);
    json_decref(m);
    r = cdp_call(c, 0, "Target.attachToTarget",
                 json_pack("{s:s,s:b}", "targetId", tid, "flatten", 1), &m);
    snprintf(c->session, sizeof(c->session), "%s",
             json_string_value(json_object_get(r, "sessionId")));
    json_decref(m);
    cdp_call0(c, 1, "Page.enable", NULL);
    cdp_call0(c, 1, "Runtime.enable", NULL);
    cdp_call0(c, 1, "Log.enable", NULL);
    cdp_call0(c, 1, "Network.enable", NULL);
}

static void cdp_reset(struct cdp *c)
{
    c->errors[0] = '\0';
    c->nerrors = 0;
    c->loaded = 0;
    c->main_status = 0;
}

/* Waits for the page's load event plus a short quiet period. */
static void cdp_wait_loaded(struct cdp *c, const char *what)
{
    int64_t deadline = mono_ms() + CDP_TIMEOUT_MS;

    while (!c->loaded) {
        json_t *e = cdp_read(c, deadline);
        if (e == NULL) {
            fail_msg("%s did not finish loading within %d ms", what, CDP_TIMEOUT_MS);
        }
        cdp_event(c, e);
        json_decref(e);
    }
    /* Late console messages and subresource failures. */
    deadline = mono_ms() + 300;
    for (;;) {
        json_t *e = cdp_read(c, deadline);
        if (e == NULL) {
            break;
        }
        cdp_event(c, e);
        json_decref(e);
    }
}

/* Loads url and waits for it. */
static void cdp_load(struct cdp *c, const char *url)
{
    json_t *m = NULL;

    cdp_reset(c);
    json_t *r = cdp_call(c, 1, "Page.navigate", json_pack("{s:s}", "url", url), &m);
    const char *nav_err = json_string_value(json_object_get(r, "errorText"));
    if (nav_err != NULL && nav_err[0] != '\0') {
        cdp_note(c, "navigation to %s failed: %s", url, nav_err);
    }
    json_decref(m);
    cdp_wait_loaded(c, url);
}

/* Evaluates a JavaScript expression in the page (DevTools, not the page's
 * own scripts: the CSP forbids those) and copies its string value. */
static void cdp_eval_string(struct cdp *c, const char *expr, char *out, size_t outlen)
{
    json_t *m = NULL;
    json_t *r = cdp_call(c, 1, "Runtime.evaluate",
                         json_pack("{s:s,s:b}", "expression", expr, "returnByValue", 1), &m);
    const char *v = json_string_value(json_object_get(json_object_get(r, "result"), "value"));

    snprintf(out, outlen, "%s", v != NULL ? v : "");
    json_decref(m);
}

/* Follows a one-time sign-in link. The link's page asks to continue; its
 * form's POST uses the link up and signs in (no script of the page's own
 * runs: the form is submitted through DevTools, as a click would). */
static void cdp_sign_in(struct cdp *c, const char *link)
{
    char path[256];
    char sent[16];

    cdp_load(c, link);
    cdp_eval_string(c, "document.location.pathname", path, sizeof(path));
    if (strcmp(path, "/signin/link") == 0) {
        cdp_reset(c);
        cdp_eval_string(c,
                        "(function(){var f=document.querySelector('form[method=post]');"
                        "if(!f){return 'none';}f.submit();return 'sent';})()",
                        sent, sizeof(sent));
        assert_string_equal(sent, "sent");
        cdp_wait_loaded(c, "the sign-in link's form");
    }
}

static void cdp_screenshot(struct cdp *c, const char *path)
{
    json_t *m = NULL;
    json_t *r = cdp_call(c, 1, "Page.captureScreenshot",
                         json_pack("{s:s,s:b}", "format", "png", "captureBeyondViewport", 1), &m);
    const char *b64 = json_string_value(json_object_get(r, "data"));
    size_t n;
    unsigned char *png;
    int len;
    FILE *f;

    assert_non_null(b64);
    n = strlen(b64);
    png = malloc(n / 4 * 3 + 3);
    assert_non_null(png);
    len = EVP_DecodeBlock(png, (const unsigned char *)b64, (int)n);
    assert_true(len > 8);
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    if (n >= 2 && b64[n - 1] == '=') {
        len -= b64[n - 2] == '=' ? 2 : 1;
    }
    assert_memory_equal(png, "\x89PNG", 4);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(png, 1, (size_t)len, f), (size_t)len);
    assert_int_equal(fclose(f), 0);
    free(png);
    json_decref(m);
}

/* ---- The demo and its users ------------------------------------------- */

struct role {
    const char *user;
    const char *label;
    const char *landing;  /* where signing in ends */
    int landing_status;   /* and its status */
    const char *pages[8]; /* dashboard paths, NULL-terminated */
};

static const struct role roles[] = {
    {"lead.amara",
     "lead",
     "/d/programme",
     200,
     {"/d/programme", "/d/observers", "/d/managers/slm.north", "/d/manager/flm.garcia",
      "/d/me/flm.garcia", "/d/observer/obs.chen", "/d/observers/obs.chen", NULL}},
    /* An administrator who is nothing else (made by setup()). */
    {"admin.test",
     "admin",
     "/d/programme",
     200,
     {"/d/programme", "/d/observers", "/d/managers/slm.south", "/d/manager/flm.garcia",
      "/d/me/flm.garcia", "/d/coaching/slm.south", NULL}},
    {"slm.north",
     "slm",
     "/d/managers",
     200,
     {"/d/managers", "/d/manager/flm.garcia", "/d/me/flm.garcia", "/d/coaching", NULL}},
    {"flm.garcia", "flm", "/d/me", 200, {"/d/me", "/d/manager/flm.garcia", NULL}},
    /* Observers land on their own reliability page. */
    {"obs.chen", "observer", "/d/observer", 200, {"/d/observer/obs.chen", NULL}},
};

static const char *screenshots_dir(void)
{
    const char *d = getenv("COACHQ_SCREENSHOTS");

    return d != NULL && d[0] != '\0' ? d : "screenshots";
}

static int setup(void **state)
{
    char out[4096];
    char data[600];
    const char *ci = getenv("CI");

    (void)state;
    if (find_chromium(g_chromium, sizeof(g_chromium)) == NULL) {
        if (ci != NULL && strcmp(ci, "true") == 0) {
            fprintf(stderr, "test_browser: chromium is not installed (./dev.sh setup)\n");
            return -1;
        }
        g_chromium[0] = '\0';
        return 0;
    }
    testutil_watchdog(600);
    testutil_tmpdir(g_tmp, sizeof(g_tmp));
    snprintf(data, sizeof(data), "%s/data", g_tmp);
    testutil_coachqd(out, sizeof(out), 0, "demo", "--data", data, (char *)NULL);
    testutil_coachqd(out, sizeof(out), 0, "user", "add", "admin.test", "--name", "Ada Admin",
                     "--role", "administrator", "--data", data, (char *)NULL);
    {
        char pw[700];
        FILE *f;

        snprintf(pw, sizeof(pw), "%s/password", g_tmp);
        f = fopen(pw, "w");
        assert_non_null(f);
        fputs("correct horse battery staple\n", f);
        assert_int_equal(fclose(f), 0);
        testutil_coachqd(out, sizeof(out), 0, "user", "password", "slm.south", "--password-file",
                         pw, "--data", data, (char *)NULL);
    }
    testutil_server_start(&g_srv, data, NULL);
    g_started = 1;
    mkdir(screenshots_dir(), 0755);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (g_started) {
        testutil_stop_clean(&g_srv);
        g_started = 0;
    }
    if (g_tmp[0] != '\0') {
        testutil_rmrf(g_tmp);
    }
    return 0;
}

/* Makes a one-time sign-in link for user with the real administration
 * verb, while the server runs. */
static void signin_link(const char *user, char *url, size_t urllen)
{
    char out[4096];
    char base[128];
    char data[600];
    const char *p;

    snprintf(base, sizeof(base), "https://127.0.0.1:%d", g_srv.dash_port);
    snprintf(data, sizeof(data), "%s/data", g_tmp);
    testutil_coachqd(out, sizeof(out), 0, "user", "link", user, "--data", data, "--url", base,
                     (char *)NULL);
    p = strstr(out, base);
    assert_non_null(p);
    size_t n = strcspn(p, " \r\n\t");
    assert_true(n < urllen);
    memcpy(url, p, n);
    url[n] = '\0';
}

/*
 * The tables of the coaching loop each page must show, by path prefix
 * (issue 14's pages): every role that may open the page sees them, found
 * by their CSV links (one per table, named by the table's id).
 */
static const struct {
    const char *prefix;
    const char *tables[12]; /* NULL-terminated */
} page_tables[] = {
    {"/d/managers",
     {"follow-through", "cadence", "quantity-without-quality", "mix-focus", "mix-type",
      "quality-focus", "team-results", NULL}},
    {"/d/manager/",
     {"open-actions", "focus-progress", "mix-focus", "mix-type", "quality-focus", NULL}},
    {"/d/me",
     {"open-actions", "my-cadence", "my-cadence-reps", "mix-focus", "mix-type", "quality-focus",
      "team-results", NULL}},
    {"/d/programme", {"mix-shift", "second-level-coaching", "coaching-later", NULL}},
    {"/d/coaching",
     {"coaching-trend", "coaching-behaviours", "coaching-managers", "coaching-later", NULL}},
    {"/d/observer/", {"reliability", "observer-weeks", NULL}},
};

/* Fails unless the page just loaded shows every loop table its path needs. */
static void check_page_tables(struct cdp *c, const char *who, const char *path)
{
    char ids[4096];

    cdp_eval_string(c,
                    "' ' + Array.from(document.querySelectorAll('a.csv')).map(function(a){"
                    "var h = a.getAttribute('href'); var i = h.indexOf('/tables/');"
                    "return h.substring(i + 8).split('.csv')[0];}).join(' ') + ' '",
                    ids, sizeof(ids));
    for (size_t i = 0; i < sizeof(page_tables) / sizeof(page_tables[0]); i++) {
        if (strncmp(path, page_tables[i].prefix, strlen(page_tables[i].prefix)) != 0) {
            continue;
        }
        for (size_t j = 0; page_tables[i].tables[j] != NULL; j++) {
            char want[64];

            snprintf(want, sizeof(want), " %s ", page_tables[i].tables[j]);
            if (strstr(ids, want) == NULL) {
                fail_msg("%s as %s: no table %s among:%s", path, who, page_tables[i].tables[j],
                         ids);
            }
        }
    }
}

static void check_page(struct cdp *c, const char *who, const char *path)
{
    char url[512];
    char broken[4096];
    char wide[4096];
    char svgs[32];
    char file[1024];
    char name[256];

    snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", g_srv.dash_port, path);
    cdp_load(c, url);
    if (c->main_status != 200) {
        cdp_note(c, "page status %d", c->main_status);
    }
    /* Images that did not load; the dashboards draw inline SVG, so also
     * count those to know a chart is there at all. */
    cdp_eval_string(c,
                    "Array.from(document.images).filter(function(i){return !i.complete || "
                    "i.naturalWidth === 0;}).map(function(i){return i.src;}).join(' ')",
                    broken, sizeof(broken));
    if (broken[0] != '\0') {
        cdp_note(c, "broken images: %s", broken);
    }
    cdp_eval_string(c, "String(document.querySelectorAll('svg').length)", svgs, sizeof(svgs));
    snprintf(name, sizeof(name), "%s%s", who, path);
    for (char *q = name; *q != '\0'; q++) {
        if (*q == '/' || *q == '.') {
            *q = '-';
        }
    }
    snprintf(file, sizeof(file), "%s/%s.png", screenshots_dir(), name);
    cdp_screenshot(c, file);
    fprintf(stderr, "test_browser: %-10s %-28s status %d, %s svg, %zu problem(s), %s\n", who, path,
            c->main_status, svgs, c->nerrors, file);
    if (c->nerrors > 0) {
        fail_msg("%s as %s:\n%s", path, who, c->errors);
    }
    /* Every dashboard draws at least one chart. */
    assert_true(strtol(svgs, NULL, 10) > 0);
    /* No table is wider than its card at the usual window width: a column
     * that only a scroll bar reveals is a hidden figure (the Programme
     * impact table with 11 columns was cut off). */
    cdp_eval_string(c,
                    "Array.from(document.querySelectorAll('.table-wrap')).filter(function(w){"
                    "return w.scrollWidth > w.clientWidth + 1;}).map(function(w){return w.id + "
                    "' (' + w.scrollWidth + ' px in ' + w.clientWidth + ' px)';}).join(', ')",
                    wide, sizeof(wide));
    if (wide[0] != '\0') {
        fail_msg("%s as %s: tables wider than their card: %s", path, who, wide);
    }
    check_page_tables(c, who, path);
}

static void test_every_dashboard_every_role(void **state)
{
    (void)state;
    if (g_chromium[0] == '\0') {
        skip();
    }
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        const struct role *r = &roles[i];
        struct cdp c;
        char profile[700];
        char link[512];
        char path[256];
        char file[1024];

        snprintf(profile, sizeof(profile), "%s/profile-%s", g_tmp, r->label);
        signin_link(r->user, link, sizeof(link));
        cdp_start(&c, profile);
        cdp_open_page(&c);
        c.expect_status = r->landing_status >= 400 ? r->landing_status : 0;
        cdp_sign_in(&c, link);
        if (c.nerrors > 0) {
            fail_msg("sign-in as %s:\n%s", r->user, c.errors);
        }
        cdp_eval_string(&c, "document.location.pathname", path, sizeof(path));
        assert_string_equal(path, r->landing);
        assert_int_equal(c.main_status, r->landing_status);
        if (r->landing_status != 200) {
            snprintf(file, sizeof(file), "%s/%s-landing.png", screenshots_dir(), r->label);
            cdp_screenshot(&c, file);
            fprintf(stderr, "test_browser: %-10s %-28s status %d (expected), %s\n", r->label,
                    r->landing, c.main_status, file);
        }
        c.expect_status = 0;
        for (size_t j = 0; r->pages[j] != NULL; j++) {
            check_page(&c, r->label, r->pages[j]);
        }
        cdp_stop(&c);
    }
}

static void test_signin_page_signed_out(void **state)
{
    struct cdp c;
    char profile[700];
    char url[256];
    char path[256];

    (void)state;
    if (g_chromium[0] == '\0') {
        skip();
    }
    snprintf(profile, sizeof(profile), "%s/profile-anon", g_tmp);
    cdp_start(&c, profile);
    cdp_open_page(&c);
    /* A dashboard asked for without a session lands on the sign-in form. */
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/d/programme", g_srv.dash_port);
    cdp_load(&c, url);
    cdp_eval_string(&c, "document.location.pathname", path, sizeof(path));
    assert_string_equal(path, "/signin");
    assert_int_equal(c.main_status, 200);
    if (c.nerrors > 0) {
        fail_msg("sign-in page:\n%s", c.errors);
    }
    snprintf(path, sizeof(path), "%s/signin.png", screenshots_dir());
    cdp_screenshot(&c, path);

    /* The password form, as a person fills it in: it must reach the
     * dashboard (the browser's own Origin passes the CSRF check). */
    {
        char sent[16];

        cdp_reset(&c);
        cdp_eval_string(&c,
                        "(function(){var f=document.querySelector('form[method=post]');"
                        "f.querySelector('[name=user]').value='slm.south';"
                        "f.querySelector('[name=password]').value='correct horse battery staple';"
                        "f.submit();return 'sent';})()",
                        sent, sizeof(sent));
        assert_string_equal(sent, "sent");
        cdp_wait_loaded(&c, "the password form");
        if (c.nerrors > 0) {
            fail_msg("password sign-in:\n%s", c.errors);
        }
        cdp_eval_string(&c, "document.location.pathname", path, sizeof(path));
        assert_string_equal(path, "/d/managers");
        assert_int_equal(c.main_status, 200);

        /* Sign out with the page's own form: back to the sign-in page, and
         * the dashboard is gone. */
        cdp_reset(&c);
        cdp_eval_string(&c,
                        "(function(){var f=document.querySelector('form[action=\"/signout\"]');"
                        "if(!f){return 'none';}f.submit();return 'sent';})()",
                        sent, sizeof(sent));
        assert_string_equal(sent, "sent");
        cdp_wait_loaded(&c, "the sign-out form");
        if (c.nerrors > 0) {
            fail_msg("sign-out:\n%s", c.errors);
        }
        cdp_eval_string(&c, "document.location.pathname", path, sizeof(path));
        assert_string_equal(path, "/signin");
        snprintf(url, sizeof(url), "https://127.0.0.1:%d/d/managers", g_srv.dash_port);
        cdp_load(&c, url);
        cdp_eval_string(&c, "document.location.pathname", path, sizeof(path));
        assert_string_equal(path, "/signin");
    }
    cdp_stop(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signin_page_signed_out),
        cmocka_unit_test(test_every_dashboard_every_role),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
