/*
 * test_pki: who may be a user on the protocol port, against a deployment
 * PKI made here with the openssl command line as an operator might make it:
 * a CA with NO pathlen constraint (the shipped script sets pathlen:0, many
 * operators' CAs do not).
 *
 * The attack: a certificate with basicConstraints CA:TRUE that the
 * deployment CA signed (a "sub-CA") is used as a client, and then signs a
 * leaf with CN=lead.gil, the enablement lead. Both verify under OpenSSL's
 * sslclient purpose (checked here with `openssl verify`, so the test is not
 * vacuous); the real coachqd must welcome neither. An end-entity
 * certificate the CA signed directly is welcomed, and a sub-CA put in the
 * --ca file on purpose (an explicitly configured intermediate) may issue
 * users, but is still no user itself.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "client.h"
#include "testutil.h"

#define WATCHDOG_SECONDS 120

/* Runs a shell command line; fails the test unless it exits 0. */
static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    int n;
    int st;

    va_start(ap, fmt);
    n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof(cmd));
    st = system(cmd);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fail_msg("command failed (status 0x%x): %s", st, cmd);
    }
}

/* The extension sections the PKI uses. */
static const char pki_cnf[] = "[req]\n"
                              "distinguished_name = dn\n"
                              "prompt = no\n"
                              "[dn]\n"
                              "CN = placeholder\n"
                              /* The deployment CA: CA:TRUE and no pathlen. */
                              "[root]\n"
                              "basicConstraints = critical,CA:TRUE\n"
                              "keyUsage = critical,keyCertSign,cRLSign\n"
                              "subjectKeyIdentifier = hash\n"
                              "authorityKeyIdentifier = keyid:always\n"
                              /* A CA certificate that can also pass as a TLS client. */
                              "[subca]\n"
                              "basicConstraints = critical,CA:TRUE\n"
                              "keyUsage = critical,digitalSignature,keyCertSign,cRLSign\n"
                              "extendedKeyUsage = clientAuth\n"
                              "subjectKeyIdentifier = hash\n"
                              "authorityKeyIdentifier = keyid:always\n"
                              "[user]\n"
                              "basicConstraints = critical,CA:FALSE\n"
                              "keyUsage = critical,digitalSignature\n"
                              "extendedKeyUsage = clientAuth\n"
                              "subjectKeyIdentifier = hash\n"
                              "authorityKeyIdentifier = keyid:always\n"
                              "[server]\n"
                              "basicConstraints = critical,CA:FALSE\n"
                              "keyUsage = critical,digitalSignature\n"
                              "extendedKeyUsage = serverAuth\n"
                              "subjectAltName = IP:127.0.0.1,DNS:localhost\n"
                              "subjectKeyIdentifier = hash\n"
                              "authorityKeyIdentifier = keyid:always\n";

/* A serial number no other certificate of this run has. */
static unsigned long pki_serial(void)
{
    static unsigned long n;

    return ((unsigned long)getpid() << 16) + ++n;
}

/* Makes a key and a certificate NAME with subject CN and extension section
 * EXT, signed by ISSUER (a name in the PKI directory). */
static void pki_issue(const char *pki, const char *name, const char *cn, const char *ext,
                      const char *issuer)
{
    sh("cd '%s' && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
       "-out %s.key 2>/dev/null && "
       "openssl req -new -config pki.cnf -key %s.key -subj '/CN=%s' -out %s.csr 2>/dev/null && "
       "openssl x509 -req -in %s.csr -CA %s.crt -CAkey %s.key -set_serial 0x%lx -days 30 "
       "-sha256 -extfile pki.cnf -extensions %s -out %s.crt 2>/dev/null",
       pki, name, name, cn, name, name, issuer, issuer, pki_serial(), ext, name);
}

static void pki_make(const char *pki)
{
    FILE *f;
    char path[700];

    snprintf(path, sizeof(path), "%s/pki.cnf", pki);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(pki_cnf, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    sh("cd '%s' && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key "
       "2>/dev/null && openssl req -new -x509 -config pki.cnf -extensions root -key ca.key "
       "-subj '/CN=operator CA without pathlen' -days 30 -sha256 -out ca.crt 2>/dev/null",
       pki);
    pki_issue(pki, "server", "127.0.0.1", "server", "ca");
    pki_issue(pki, "gil", "lead.gil", "user", "ca");
    /* The sub-CA names an existing observer, so a refusal cannot come from
     * an unknown user. */
    pki_issue(pki, "subca", "alice", "subca", "ca");
    pki_issue(pki, "minted", "lead.gil", "user", "subca");
    /* The minted leaf presents its issuer, as a real attacker would. */
    sh("cd '%s' && cat minted.crt subca.crt > minted-chain.crt && cat ca.crt subca.crt > "
       "ca-and-subca.crt",
       pki);
    /* OpenSSL itself accepts both as TLS clients of this CA: the attack is
     * real, and only coachqd's own rule stops it. */
    sh("cd '%s' && openssl verify -x509_strict -purpose sslclient -CAfile ca.crt subca.crt "
       ">/dev/null && openssl verify -x509_strict -purpose sslclient -CAfile ca.crt "
       "-untrusted subca.crt minted.crt >/dev/null",
       pki);
}

/* The PKI's directory, "<the fixture's directory>/pki", into out. */
static const char *pki_dir(const struct testutil_org *f, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/pki", f->dir);
    return out;
}

/* Starts coachqd with the PKI's server certificate and ca_name as --ca. */
static void fx_start(struct testutil_org *f, const char *ca_name)
{
    static char cert[700], key[700], ca[700];
    const char *args[] = {"--cert", cert, "--key", key, "--ca", ca, "--dashboard", "off", NULL};
    char pki[600];

    testutil_org_make(f);
    pki_dir(f, pki, sizeof(pki));
    sh("mkdir -p '%s'", pki);
    pki_make(pki);
    snprintf(cert, sizeof(cert), "%s/server.crt", pki);
    snprintf(key, sizeof(key), "%s/server.key", pki);
    snprintf(ca, sizeof(ca), "%s/%s", pki, ca_name);
    testutil_server_start(&f->srv, f->data, args);
}

/* Connects with the PKI's cert_name (a chain file) and key_name. Returns
 * client_connect()'s result; on success *out is the client. */
static int pki_connect(struct testutil_org *f, const char *cert_name, const char *key_name,
                       struct client **out, struct client_error *err)
{
    char port[16], cert[700], key[700], ca[700];
    char pki[600];
    struct client_opts o;

    snprintf(port, sizeof(port), "%d", f->srv.port);
    pki_dir(f, pki, sizeof(pki));
    snprintf(cert, sizeof(cert), "%s/%s", pki, cert_name);
    snprintf(key, sizeof(key), "%s/%s", pki, key_name);
    snprintf(ca, sizeof(ca), "%s/ca.crt", pki);
    memset(&o, 0, sizeof(o));
    o.host = "127.0.0.1";
    o.port = port;
    o.cert_file = cert;
    o.key_file = key;
    o.ca_file = ca;
    o.timeout_ms = 5000;
    *out = NULL;
    memset(err, 0, sizeof(*err));
    return client_connect(&o, out, err);
}

/* The certificate is refused before any Welcome: the connection fails and
 * says why. */
static void expect_refused(struct testutil_org *f, const char *cert_name, const char *key_name,
                           const char *want)
{
    struct client *c = NULL;
    struct client_error err;
    int rc = pki_connect(f, cert_name, key_name, &c, &err);

    if (rc == 0) {
        const Coachq__V1__Welcome *w = client_welcome(c);
        fail_msg("%s got a Welcome as %s", cert_name, w != NULL ? w->user_id : "?");
    }
    assert_null(c);
    print_message("%s refused: %s\n", cert_name, err.message);
    if (want != NULL && strstr(err.message, want) == NULL) {
        fail_msg("expected '%s' in the refusal, got: %s", want, err.message);
    }
}

static void expect_welcome(struct testutil_org *f, const char *cert_name, const char *key_name,
                           const char *user)
{
    struct client *c = NULL;
    struct client_error err;
    int rc = pki_connect(f, cert_name, key_name, &c, &err);

    if (rc != 0) {
        fail_msg("%s was refused: %s", cert_name, err.message);
    }
    assert_string_equal(client_welcome(c)->user_id, user);
    client_free(c);
}

/* Neither a CA certificate as a client, nor a leaf it minted for the
 * enablement lead, gets a Welcome; the lead's own certificate does. */
static void test_ca_cert_cannot_mint_users(void **state)
{
    struct testutil_org *f = *state;

    fx_start(f, "ca.crt");
    expect_welcome(f, "gil.crt", "gil.key", "lead.gil");
    expect_refused(f, "subca.crt", "subca.key", "CA certificate");
    expect_refused(f, "minted-chain.crt", "minted.key", "not issued directly");
    /* Both again, after the server has seen them once (a resumed session
     * must not slip through either; the client library does not resume,
     * so this is a fresh handshake). */
    expect_refused(f, "subca.crt", "subca.key", NULL);
    expect_refused(f, "minted-chain.crt", "minted.key", NULL);
    expect_welcome(f, "gil.crt", "gil.key", "lead.gil");
    testutil_stop_clean(&f->srv);
}

/* An intermediate the operator puts in the --ca file may issue users; it
 * is still no user itself. */
static void test_configured_intermediate(void **state)
{
    struct testutil_org *f = *state;

    fx_start(f, "ca-and-subca.crt");
    expect_welcome(f, "minted-chain.crt", "minted.key", "lead.gil");
    expect_welcome(f, "gil.crt", "gil.key", "lead.gil");
    expect_refused(f, "subca.crt", "subca.key", "CA certificate");
    testutil_stop_clean(&f->srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ca_cert_cannot_mint_users, testutil_org_setup,
                                        testutil_org_teardown),
        cmocka_unit_test_setup_teardown(test_configured_intermediate, testutil_org_setup,
                                        testutil_org_teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    testutil_watchdog(WATCHDOG_SECONDS);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
