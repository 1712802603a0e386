/*
 * test_web_signin: signing in to the dashboard port (web/web_signin.c)
 * through a real coachqd over real TLS, with the fixture of test_web
 * (testutil_web_setup(): a real LMDB made by the real administration
 * verbs, passwords and a one-time link set with `coachqd user password`
 * and `coachqd user link`, and a browser signed in for every role).
 *
 * What is checked: the cookies' flags exactly, and signing out; the
 * wrong-password answer is the same for unknown users, in about the same
 * time; CSRF (missing, wrong, foreign Origin) refused with 403 and nothing
 * changed, and tokens the client chose or a session it planted refused;
 * one-time links: opening one uses nothing up, its page's POST
 * (CSRF-checked) works once; signing in ends the browser's previous
 * session; unknown and ended sessions redirect (expiry itself, in hours,
 * is websess's unit test).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "client.h"
#include "frame.h"
#include "testutil.h"

#define DAY 86400LL

/* ---- Cookies, sign-in, sign-out -------------------------------------- */

static void test_cookie_flags(void **state)
{
    struct testutil_web *w = *state;
    struct testutil_http_resp r;
    char line[512], sid[128], expect[300], cookie[300], csrf[TESTUTIL_WEB_TOKEN_LEN + 1];
    char both[300];

    assert_int_equal(
        testutil_web_signin(w, "lead.gil", TESTUTIL_WEB_PASSWORD, both, sizeof(both), &r), 303);
    assert_true(
        testutil_web_set_cookie(&r, "__Host-coachq_session", sid, sizeof(sid), line, sizeof(line)));
    assert_int_equal(strlen(sid), TESTUTIL_WEB_TOKEN_LEN);
    snprintf(expect, sizeof(expect),
             "__Host-coachq_session=%s; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=28800",
             sid);
    assert_string_equal(line, expect);
    assert_non_null(testutil_http_header(&r, "Location", 0, line, sizeof(line)));
    assert_string_equal(line, "/");
    testutil_http_resp_free(&r);

    /* Signing out ends the session and clears the cookie. */
    snprintf(cookie, sizeof(cookie), "%s", both);
    testutil_web_session_csrf(w, cookie, "/d/manager/flm.cara", csrf);
    snprintf(expect, sizeof(expect), "csrf=%s", csrf);
    assert_int_equal(testutil_web_req(w, "POST", "/signout", cookie, NULL, expect, &r), 303);
    assert_true(
        testutil_web_set_cookie(&r, "__Host-coachq_session", sid, sizeof(sid), line, sizeof(line)));
    assert_string_equal(line, "__Host-coachq_session=; HttpOnly; Secure; SameSite=Strict; Path=/; "
                              "Max-Age=0");
    assert_non_null(testutil_http_header(&r, "Location", 0, line, sizeof(line)));
    assert_string_equal(line, "/signin");
    testutil_http_resp_free(&r);
    assert_int_equal(testutil_web_req(w, "GET", "/d/manager/flm.cara", cookie, NULL, NULL, &r),
                     303);
    testutil_http_resp_free(&r);
    assert_int_equal(
        testutil_web_req(w, "GET", "/api/v1/dashboards/manager/flm.cara", cookie, NULL, NULL, &r),
        401);
    testutil_http_resp_free(&r);
    /* The other session of the same user lives on. */
    assert_int_equal(testutil_web_req(w, "GET", "/d/manager/flm.cara",
                                      w->cookie[TESTUTIL_WEB_R_LEAD], NULL, NULL, &r),
                     200);
    testutil_http_resp_free(&r);
}

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Unknown users and wrong passwords get the same answer, in about the same
 * time (the unknown user's password is checked against a dummy hash). */
static void test_wrong_password(void **state)
{
    struct testutil_web *w = *state;
    struct testutil_http_resp a, b;
    char sid[128];
    double t0, t_known = 0, t_unknown = 0;

    for (int i = 0; i < 2; i++) {
        t0 = mono_s();
        assert_int_equal(testutil_web_signin(w, "lead.gil", "not-the-password", NULL, 0, &a), 401);
        t_known += mono_s() - t0;
        t0 = mono_s();
        assert_int_equal(testutil_web_signin(w, "no.such.user", "not-the-password", NULL, 0, &b),
                         401);
        t_unknown += mono_s() - t0;
        assert_true(testutil_web_has(a.body, "or password is wrong"));
        assert_true(testutil_web_has(b.body, "or password is wrong"));
        assert_false(
            testutil_web_set_cookie(&a, "__Host-coachq_session", sid, sizeof(sid), NULL, 0) &&
            sid[0] != '\0');
        assert_false(
            testutil_web_set_cookie(&b, "__Host-coachq_session", sid, sizeof(sid), NULL, 0) &&
            sid[0] != '\0');
        testutil_http_resp_free(&a);
        testutil_http_resp_free(&b);
    }
    print_message("wrong password %.1f ms, unknown user %.1f ms\n", t_known * 500, t_unknown * 500);
    assert_true(t_unknown > t_known / 4);
    /* Hostile input in the form is just a wrong sign-in. */
    assert_int_equal(testutil_web_signin(w, "%3Cscript%3E", "x", NULL, 0, &a), 401);
    assert_false(testutil_web_has(a.body, "<script>"));
    testutil_http_resp_free(&a);
}

/* ---- CSRF ------------------------------------------------------------ */

static void test_csrf(void **state)
{
    struct testutil_web *w = *state;
    struct testutil_http_resp r;
    char csrf[TESTUTIL_WEB_TOKEN_LEN + 1], body[200], origin[200], c[200];
    const char *cara = w->cookie[TESTUTIL_WEB_R_FLM];

    testutil_web_session_csrf(w, cara, "/d/me", csrf);
    /* Missing, wrong, and right but from another site. */
    assert_int_equal(testutil_web_req(w, "POST", "/signout", cara, NULL, "", &r), 403);
    assert_true(testutil_web_has(r.body, "CSRF"));
    testutil_http_resp_free(&r);
    assert_int_equal(testutil_web_req(w, "POST", "/signout", cara, NULL,
                                      "csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &r),
                     403);
    assert_true(testutil_web_has(r.body, "CSRF"));
    testutil_http_resp_free(&r);
    snprintf(body, sizeof(body), "csrf=%s", csrf);
    assert_int_equal(
        testutil_web_req(w, "POST", "/signout", cara, "Origin: https://evil.example", body, &r),
        403);
    assert_true(testutil_web_has(r.body, "Origin"));
    testutil_http_resp_free(&r);
    assert_int_equal(testutil_web_req(w, "POST", "/signout", cara, "Origin: null", body, &r), 403);
    testutil_http_resp_free(&r);
    /* Another user's token is not this session's. */
    {
        char lead_csrf[TESTUTIL_WEB_TOKEN_LEN + 1];
        char lb[200];
        testutil_web_session_csrf(w, w->cookie[TESTUTIL_WEB_R_LEAD], "/d/manager/flm.cara",
                                  lead_csrf);
        snprintf(lb, sizeof(lb), "csrf=%s", lead_csrf);
        assert_int_equal(testutil_web_req(w, "POST", "/signout", cara, NULL, lb, &r), 403);
        testutil_http_resp_free(&r);
    }
    /* Nothing changed: still signed in. */
    assert_int_equal(testutil_web_req(w, "GET", "/d/me", cara, NULL, NULL, &r), 200);
    testutil_http_resp_free(&r);

    /* Sign-in: the form's token must be one the server made for this
     * browser's device cookie. */
    {
        char pre[TESTUTIL_WEB_TOKEN_LEN + 1], dev[TESTUTIL_WEB_DEVICE_MAX],
            other_dev[TESTUTIL_WEB_DEVICE_MAX];
        char other_pre[TESTUTIL_WEB_TOKEN_LEN + 1], forged[TESTUTIL_WEB_TOKEN_LEN + 1];
        testutil_web_signin_form(w, dev, pre);
        snprintf(body, sizeof(body), "user=flm.cara&password=%s&csrf=%s", TESTUTIL_WEB_PASSWORD,
                 pre);
        /* No device cookie. */
        assert_int_equal(testutil_web_req(w, "POST", "/signin", NULL, NULL, body, &r), 403);
        testutil_http_resp_free(&r);
        /* The old double-submit cookie is nothing now. */
        snprintf(c, sizeof(c), "__Host-coachq_csrf=%s", pre);
        assert_int_equal(testutil_web_req(w, "POST", "/signin", c, NULL, body, &r), 403);
        testutil_http_resp_free(&r);
        assert_int_equal(
            testutil_web_req(w, "POST", "/signin", dev, "Origin: https://evil.example", body, &r),
            403);
        testutil_http_resp_free(&r);
        /* Another browser's token (made for another device). */
        testutil_web_signin_form(w, other_dev, other_pre);
        snprintf(body, sizeof(body), "user=flm.cara&password=%s&csrf=%s", TESTUTIL_WEB_PASSWORD,
                 other_pre);
        assert_int_equal(testutil_web_req(w, "POST", "/signin", dev, NULL, body, &r), 403);
        assert_true(testutil_web_has(r.body, "CSRF"));
        testutil_http_resp_free(&r);
        /* The same with this site's own Origin and its own token works. */
        snprintf(body, sizeof(body), "user=flm.cara&password=%s&csrf=%s", TESTUTIL_WEB_PASSWORD,
                 pre);
        snprintf(origin, sizeof(origin), "Origin: https://127.0.0.1:%d", w->srv.dash_port);
        assert_int_equal(testutil_web_req(w, "POST", "/signin", dev, origin, body, &r), 303);
        testutil_http_resp_free(&r);
        /* A forged token: one character of a real one changed. */
        testutil_web_signin_form_again(w, dev, pre);
        snprintf(forged, sizeof(forged), "%s", pre);
        forged[20] = forged[20] == 'A' ? 'B' : 'A';
        snprintf(body, sizeof(body), "user=flm.cara&password=%s&csrf=%s", TESTUTIL_WEB_PASSWORD,
                 forged);
        assert_int_equal(testutil_web_req(w, "POST", "/signin", dev, NULL, body, &r), 403);
        testutil_http_resp_free(&r);
    }
}

/* A token or a device cookie the client chose is never taken, and neither
 * is a device cookie whose MAC is forged. */
static void test_client_chosen_tokens_refused(void **state)
{
    struct testutil_web *w = *state;
    struct testutil_http_resp r;
    char dev[TESTUTIL_WEB_DEVICE_MAX], pre[TESTUTIL_WEB_TOKEN_LEN + 1], body[300], c[400], v[128];
    static const char *const chosen[] = {
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "__________________________________________8",
        "0000000000000000000000000000000000000000000",
    };

    testutil_web_signin_form(w, dev, pre);
    /* A token the client made up, alone or as the old double-submit pair. */
    for (size_t i = 0; i < sizeof(chosen) / sizeof(chosen[0]); i++) {
        snprintf(body, sizeof(body), "user=flm.cara&password=%s&csrf=%s", TESTUTIL_WEB_PASSWORD,
                 chosen[i]);
        assert_int_equal(testutil_web_req(w, "POST", "/signin", dev, NULL, body, &r), 403);
        testutil_http_resp_free(&r);
        snprintf(c, sizeof(c), "%s; __Host-coachq_csrf=%s", dev, chosen[i]);
        assert_int_equal(testutil_web_req(w, "POST", "/signin", c, NULL, body, &r), 403);
        testutil_http_resp_free(&r);
    }
    /* A device cookie the client made up, with a good token for it is not
     * to be had: GET /signin with it issues a new device instead. */
    snprintf(c, sizeof(c), "__Host-coachq_device=AAAAAAAAAAAAAAAAAAAAAA.%s", chosen[0]);
    assert_int_equal(testutil_web_req(w, "GET", "/signin", c, NULL, NULL, &r), 200);
    assert_true(testutil_web_set_cookie(&r, "__Host-coachq_device", v, sizeof(v), NULL, 0));
    assert_true(strncmp(v, "AAAAAAAAAAAAAAAAAAAAAA.", 23) != 0);
    testutil_http_resp_free(&r);
    /* The real device id with another MAC, and the real token: refused. */
    {
        char forged[TESTUTIL_WEB_DEVICE_MAX];
        size_t at = strlen(dev) - 5;
        snprintf(forged, sizeof(forged), "%s", dev);
        forged[at] = forged[at] == 'A' ? 'B' : 'A';
        snprintf(body, sizeof(body), "user=flm.cara&password=%s&csrf=%s", TESTUTIL_WEB_PASSWORD,
                 pre);
        assert_int_equal(testutil_web_req(w, "POST", "/signin", forged, NULL, body, &r), 403);
        testutil_http_resp_free(&r);
        /* And a signed-in session with it is no session. */
        assert_int_equal(
            testutil_web_signin(w, "flm.cara", TESTUTIL_WEB_PASSWORD, c, sizeof(c), NULL), 303);
        {
            char sess[200], bad[400];
            const char *semi = strchr(c, ';');
            const char *devpart = strstr(c, "__Host-coachq_device=");
            char fdev[TESTUTIL_WEB_DEVICE_MAX];
            size_t k;
            assert_non_null(semi);
            assert_non_null(devpart);
            snprintf(sess, sizeof(sess), "%.*s", (int)(semi - c), c);
            snprintf(fdev, sizeof(fdev), "%s", devpart);
            k = strlen(fdev) - 3;
            fdev[k] = fdev[k] == 'A' ? 'B' : 'A';
            assert_int_equal(testutil_web_req(w, "GET", "/d/me", c, NULL, NULL, &r), 200);
            testutil_http_resp_free(&r);
            snprintf(bad, sizeof(bad), "%s; %s", sess, fdev);
            assert_int_equal(testutil_web_req(w, "GET", "/d/me", bad, NULL, NULL, &r), 303);
            testutil_http_resp_free(&r);
            assert_int_equal(testutil_web_req(w, "GET", "/d/me", sess, NULL, NULL, &r), 303);
            testutil_http_resp_free(&r);
            assert_int_equal(
                testutil_web_req(w, "GET", "/api/v1/dashboards/me", sess, NULL, NULL, &r), 401);
            testutil_http_resp_free(&r);
        }
    }
}

/* Cookie tossing: user A's session cookie planted into user B's browser
 * (from another port of the host, which browsers let set this port's
 * cookies) is no session there: B's device is not the one A signed in on. */
static void test_planted_session_refused(void **state)
{
    struct testutil_web *w = *state;
    struct testutil_http_resp r;
    char a_sess[200], b_dev[TESTUTIL_WEB_DEVICE_MAX], planted[400];
    const char *cara = w->cookie[TESTUTIL_WEB_R_FLM]; /* "session; device" of browser A */
    const char *lead = w->cookie[TESTUTIL_WEB_R_LEAD];
    const char *semi;

    semi = strchr(cara, ';');
    assert_non_null(semi);
    snprintf(a_sess, sizeof(a_sess), "%.*s", (int)(semi - cara), cara);
    snprintf(b_dev, sizeof(b_dev), "%s", strstr(lead, "__Host-coachq_device="));
    /* B's browser with A's session cookie: signed out, on every route. */
    snprintf(planted, sizeof(planted), "%s; %s", a_sess, b_dev);
    assert_int_equal(testutil_web_req(w, "GET", "/d/me", planted, NULL, NULL, &r), 303);
    testutil_http_resp_free(&r);
    assert_int_equal(testutil_web_req(w, "GET", "/", planted, NULL, NULL, &r), 303);
    {
        char loc[100];
        assert_non_null(testutil_http_header(&r, "Location", 0, loc, sizeof(loc)));
        assert_string_equal(loc, "/signin");
    }
    testutil_http_resp_free(&r);
    assert_int_equal(testutil_web_req(w, "GET", "/api/v1/dashboards/me", planted, NULL, NULL, &r),
                     401);
    assert_false(testutil_web_has(r.body, "Cara"));
    testutil_http_resp_free(&r);
    /* A fresh browser's device (never signed in) with A's session: the same. */
    {
        char dev[TESTUTIL_WEB_DEVICE_MAX], pre[TESTUTIL_WEB_TOKEN_LEN + 1];
        testutil_web_signin_form(w, dev, pre);
        snprintf(planted, sizeof(planted), "%s; %s", a_sess, dev);
        assert_int_equal(testutil_web_req(w, "GET", "/d/me", planted, NULL, NULL, &r), 303);
        testutil_http_resp_free(&r);
    }
    /* Both browsers still work with their own cookies. */
    assert_int_equal(testutil_web_req(w, "GET", "/d/me", cara, NULL, NULL, &r), 200);
    testutil_http_resp_free(&r);
    assert_int_equal(testutil_web_req(w, "GET", "/d/programme", lead, NULL, NULL, &r), 200);
    testutil_http_resp_free(&r);
}

/* ---- Links and sessions ---------------------------------------------- */

/* GET /signin/link's page for path: its CSRF token (also the pre-session
 * cookie's) into csrf. */
static void link_page(struct testutil_web *w, const char *path,
                      char device[TESTUTIL_WEB_DEVICE_MAX], char csrf[TESTUTIL_WEB_TOKEN_LEN + 1])
{
    struct testutil_http_resp r;
    char value[100];

    assert_int_equal(testutil_web_req(w, "GET", path, NULL, NULL, NULL, &r), 200);
    assert_true(testutil_web_has(r.body, "action=\"/signin/link\""));
    assert_true(testutil_web_has(r.body, "Continue to sign in"));
    assert_true(testutil_web_page_csrf(r.body, csrf));
    assert_true(testutil_web_set_cookie(&r, "__Host-coachq_device", value, sizeof(value), NULL, 0));
    snprintf(device, TESTUTIL_WEB_DEVICE_MAX, "__Host-coachq_device=%s", value);
    /* Opening a link signs nobody in and names nobody. */
    assert_false(
        testutil_web_set_cookie(&r, "__Host-coachq_session", value, sizeof(value), NULL, 0));
    assert_false(testutil_web_has(r.body, "flm.dan"));
    assert_false(testutil_web_has(r.body, "Dan Roe"));
    testutil_http_resp_free(&r);
}

static void test_link_once(void **state)
{
    struct testutil_web *w = *state;
    struct testutil_http_resp r;
    char path[200], sid[128], cookie[400], line[512], expect[300];
    char csrf[TESTUTIL_WEB_TOKEN_LEN + 1], c[TESTUTIL_WEB_DEVICE_MAX], body[300];
    char other[TESTUTIL_WEB_DEVICE_MAX], other_csrf[TESTUTIL_WEB_TOKEN_LEN + 1];

    snprintf(path, sizeof(path), "/signin/link?token=%s", w->link_dan);
    /* GET shows the page only, as often as a mail scanner likes: the link
     * stays unused. */
    link_page(w, path, other, other_csrf);
    link_page(w, path, c, csrf);
    /* The POST without the page's CSRF token (login CSRF), with a wrong
     * one, another browser's, or from another site is refused and uses
     * nothing up. */
    snprintf(body, sizeof(body), "token=%s", w->link_dan);
    assert_int_equal(testutil_web_req(w, "POST", "/signin/link", c, NULL, body, &r), 403);
    assert_true(testutil_web_has(r.body, "CSRF"));
    testutil_http_resp_free(&r);
    snprintf(body, sizeof(body), "token=%s&csrf=%s", w->link_dan, csrf);
    assert_int_equal(testutil_web_req(w, "POST", "/signin/link", NULL, NULL, body, &r), 403);
    testutil_http_resp_free(&r);
    assert_int_equal(
        testutil_web_req(w, "POST", "/signin/link",
                         "__Host-coachq_csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL,
                         body, &r),
        403);
    testutil_http_resp_free(&r);
    assert_int_equal(testutil_web_req(w, "POST", "/signin/link", other, NULL, body, &r), 403);
    testutil_http_resp_free(&r);
    assert_int_equal(
        testutil_web_req(w, "POST", "/signin/link", c, "Origin: https://evil.example", body, &r),
        403);
    testutil_http_resp_free(&r);
    /* A malformed token with a good CSRF token is named. */
    snprintf(expect, sizeof(expect), "token=short&csrf=%s", csrf);
    assert_int_equal(testutil_web_req(w, "POST", "/signin/link", c, NULL, expect, &r), 400);
    assert_true(testutil_web_has(r.body, "token"));
    testutil_http_resp_free(&r);

    /* The page's button: signed in. */
    assert_int_equal(testutil_web_req(w, "POST", "/signin/link", c, NULL, body, &r), 303);
    assert_true(
        testutil_web_set_cookie(&r, "__Host-coachq_session", sid, sizeof(sid), line, sizeof(line)));
    snprintf(expect, sizeof(expect),
             "__Host-coachq_session=%s; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=28800",
             sid);
    assert_string_equal(line, expect);
    testutil_http_resp_free(&r);
    snprintf(cookie, sizeof(cookie), "__Host-coachq_session=%s; %s", sid, c);
    assert_int_equal(testutil_web_req(w, "GET", "/d/me", cookie, NULL, NULL, &r), 200);
    assert_true(testutil_web_has(r.body, "Dan Roe") || testutil_web_has(r.body, "flm.dan"));
    testutil_http_resp_free(&r);

    /* The second use is refused and signs nobody in. */
    link_page(w, path, c, csrf);
    snprintf(body, sizeof(body), "token=%s&csrf=%s", w->link_dan, csrf);
    assert_int_equal(testutil_web_req(w, "POST", "/signin/link", c, NULL, body, &r), 403);
    assert_true(testutil_web_has(r.body, "unknown, used or expired"));
    assert_false(testutil_web_set_cookie(&r, "__Host-coachq_session", sid, sizeof(sid), NULL, 0) &&
                 sid[0] != '\0');
    testutil_http_resp_free(&r);
    /* Malformed tokens are named. */
    assert_int_equal(testutil_web_req(w, "GET", "/signin/link?token=short", NULL, NULL, NULL, &r),
                     400);
    testutil_http_resp_free(&r);
    assert_int_equal(testutil_web_req(w, "GET", "/signin/link", NULL, NULL, NULL, &r), 400);
    testutil_http_resp_free(&r);
}

/* Signing in while the browser has a session ends that session. */
static void test_signin_replaces_session(void **state)
{
    struct testutil_web *w = *state;
    struct testutil_http_resp r;
    char old[300], csrf[TESTUTIL_WEB_TOKEN_LEN + 1], c[400], body[300], sid[128];
    const char *dev;

    assert_int_equal(
        testutil_web_signin(w, "flm.cara", TESTUTIL_WEB_PASSWORD, old, sizeof(old), NULL), 303);
    assert_int_equal(testutil_web_req(w, "GET", "/d/me", old, NULL, NULL, &r), 200);
    testutil_http_resp_free(&r);
    dev = strstr(old, "__Host-coachq_device=");
    assert_non_null(dev);
    testutil_web_signin_form_again(w, dev, csrf);
    snprintf(body, sizeof(body), "user=flm.cara&password=%s&csrf=%s", TESTUTIL_WEB_PASSWORD, csrf);
    assert_int_equal(testutil_web_req(w, "POST", "/signin", old, NULL, body, &r), 303);
    assert_true(testutil_web_set_cookie(&r, "__Host-coachq_session", sid, sizeof(sid), NULL, 0));
    testutil_http_resp_free(&r);
    assert_int_equal(strlen(sid), TESTUTIL_WEB_TOKEN_LEN);
    assert_false(strncmp(old + strlen("__Host-coachq_session="), sid, TESTUTIL_WEB_TOKEN_LEN) == 0);
    /* The old cookie no longer works; the new one does. */
    assert_int_equal(testutil_web_req(w, "GET", "/d/me", old, NULL, NULL, &r), 303);
    testutil_http_resp_free(&r);
    snprintf(c, sizeof(c), "__Host-coachq_session=%s; %s", sid, dev);
    assert_int_equal(testutil_web_req(w, "GET", "/d/me", c, NULL, NULL, &r), 200);
    testutil_http_resp_free(&r);
    /* Other browsers' sessions of the same user live on. */
    assert_int_equal(
        testutil_web_req(w, "GET", "/d/me", w->cookie[TESTUTIL_WEB_R_FLM], NULL, NULL, &r), 200);
    testutil_http_resp_free(&r);
}

static void test_unknown_session(void **state)
{
    struct testutil_web *w = *state;
    struct testutil_http_resp r;
    const char *bogus = "__Host-coachq_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    char loc[100];
    json_t *j;

    assert_int_equal(testutil_web_req(w, "GET", "/d/me", bogus, NULL, NULL, &r), 303);
    assert_non_null(testutil_http_header(&r, "Location", 0, loc, sizeof(loc)));
    assert_string_equal(loc, "/signin");
    testutil_http_resp_free(&r);
    assert_int_equal(
        testutil_web_req(w, "GET", "/d/me", "__Host-coachq_session=%3Cjunk%3E", NULL, NULL, &r),
        303);
    testutil_http_resp_free(&r);
    assert_int_equal(testutil_web_req(w, "GET", "/api/v1/dashboards/me", bogus, NULL, NULL, &r),
                     401);
    j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_string(json_object_get(j, "error")));
    json_decref(j);
    testutil_http_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cookie_flags),
        cmocka_unit_test(test_wrong_password),
        cmocka_unit_test(test_csrf),
        cmocka_unit_test(test_client_chosen_tokens_refused),
        cmocka_unit_test(test_planted_session_refused),
        cmocka_unit_test(test_link_once),
        cmocka_unit_test(test_signin_replaces_session),
        cmocka_unit_test(test_unknown_session),
    };

    return cmocka_run_group_tests(tests, testutil_web_setup, testutil_web_teardown);
}
