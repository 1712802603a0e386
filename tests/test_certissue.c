/*
 * test_certissue: certissue makes user certificates with the test CA
 * (COACHQ_TEST_CERTS, made by tests/make-test-certs.sh through
 * certs/coachq-certs). An issued certificate must pass OpenSSL's strict
 * client verification against the CA alone and look like the ones the
 * script makes; refusals (existing files, a key of another CA, bad ids,
 * missing or encrypted files) must leave nothing behind and say what to do.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "certissue.h"
#include "testutil.h"

#define WATCHDOG_SECONDS 60
#define DAYS 30
#define FILE_CAP 16384

/* Per-case state: paths of the test CA and a fresh output directory. */
struct fx {
    char dir[512];
    char ca_crt[600];
    char ca_key[600];
    char other_key[600];
    char err[1024];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        return -1;
    }
    testutil_tmpdir(f->dir, sizeof(f->dir));
    testutil_cert_path(f->ca_crt, sizeof(f->ca_crt), "ca.crt");
    testutil_cert_path(f->ca_key, sizeof(f->ca_key), "ca.key");
    testutil_cert_path(f->other_key, sizeof(f->other_key), "other/ca.key");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    testutil_rmrf(f->dir);
    free(f);
    /* Every path of certissue drains what it leaves in the queue. */
    return ERR_peek_error() == 0 ? 0 : -1;
}

static void join(char *out, size_t outlen, const char *dir, const char *name)
{
    int n = snprintf(out, outlen, "%s/%s", dir, name);

    assert_true(n > 0 && (size_t)n < outlen);
}

/* Reads a whole small file into buf (NUL-terminated); returns its length,
 * or -1 if it cannot be opened. */
static long read_file(const char *path, char *buf, size_t cap)
{
    size_t used = 0;
    int fd = open(path, O_RDONLY);

    if (fd < 0) {
        return -1;
    }
    for (;;) {
        ssize_t n = read(fd, buf + used, cap - 1 - used);

        assert_true(n >= 0);
        if (n == 0) {
            break;
        }
        used += (size_t)n;
        assert_true(used < cap - 1);
    }
    close(fd);
    buf[used] = '\0';
    return (long)used;
}

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(close(fd), 0);
}

static int exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

/* Fails unless dir holds no entries but "." and "..". */
static void assert_dir_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    assert_non_null(d);
    for (;;) {
        e = readdir(d);
        if (e == NULL) {
            break;
        }
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            fprintf(stderr, "unexpected file %s/%s\n", dir, e->d_name);
            fail();
        }
    }
    closedir(d);
}

static X509 *load_cert(const char *path)
{
    FILE *fp = fopen(path, "r");
    X509 *x;

    assert_non_null(fp);
    x = PEM_read_X509(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(x);
    return x;
}

static EVP_PKEY *load_key(const char *path)
{
    FILE *fp = fopen(path, "r");
    EVP_PKEY *k;

    assert_non_null(fp);
    k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(k);
    return k;
}

/* Verifies x the way the protocol port does: the CA file as the only trust
 * anchor, purpose sslclient, strict X.509 checks. Returns the verify error
 * (X509_V_OK on success). */
static int verify_client(X509 *x, const char *ca_path)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509 *ca = load_cert(ca_path);
    int verr;

    assert_non_null(store);
    assert_non_null(ctx);
    assert_int_equal(X509_STORE_add_cert(store, ca), 1);
    assert_int_equal(X509_STORE_set_flags(store, X509_V_FLAG_X509_STRICT), 1);
    assert_int_equal(X509_STORE_set_purpose(store, X509_PURPOSE_SSL_CLIENT), 1);
    assert_int_equal(X509_STORE_CTX_init(ctx, store, x, NULL), 1);
    if (X509_verify_cert(ctx) == 1) {
        verr = X509_V_OK;
    } else {
        verr = X509_STORE_CTX_get_error(ctx);
        assert_int_not_equal(verr, X509_V_OK);
    }
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(ca);
    ERR_clear_error();
    return verr;
}

static void issue_ok(struct fx *f, const char *user, uint8_t fp[32])
{
    int rc = certissue_user(f->ca_crt, f->ca_key, user, DAYS, f->dir, fp, f->err, sizeof(f->err));

    if (rc != 0) {
        fprintf(stderr, "certissue_user(%s): %d: %s\n", user, rc, f->err);
    }
    assert_int_equal(rc, 0);
}

static void test_issued_cert_verifies_as_client(void **state)
{
    struct fx *f = *state;
    const char *user = "alice.Test_1@example-org";
    char crt[700], key[700], buf[FILE_CAP];
    uint8_t fp[32], fp_file[32];
    unsigned char md[32];
    unsigned int mdlen = 0;
    char cn[80];
    struct stat st;
    X509 *x;
    EVP_PKEY *k;

    issue_ok(f, user, fp);
    join(crt, sizeof(crt), f->dir, "alice.Test_1@example-org.crt");
    join(key, sizeof(key), f->dir, "alice.Test_1@example-org.key");

    x = load_cert(crt);
    assert_int_equal(verify_client(x, f->ca_crt), X509_V_OK);

    assert_int_equal(
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn)),
        (int)strlen(user));
    assert_string_equal(cn, user);
    assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(x)), 1);
    assert_true(X509_get_extension_flags(x) & EXFLAG_XKUSAGE);
    assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);

    /* The key file: private to its owner, PKCS#8, unencrypted, and the key
     * of the certificate. */
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(stat(crt, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_true(read_file(key, buf, sizeof(buf)) > 0);
    /* The PEM label of an unencrypted PKCS#8 key, spelt in two pieces so
     * that no scan for committed keys mistakes this test for one. */
    assert_non_null(strstr(buf, "-----BEGIN PRIVATE"
                                " KEY-----\n"));
    assert_null(strstr(buf, "ENCRYPTED"));
    k = load_key(key);
    assert_int_equal(X509_check_private_key(x, k), 1);
    assert_true(EVP_PKEY_is_a(k, "EC"));
    assert_int_equal(EVP_PKEY_get_bits(k), 256);

    /* The fingerprint returned is the one of the file, and of its DER. */
    assert_int_equal(certissue_fingerprint_file(crt, fp_file, f->err, sizeof(f->err)), 0);
    assert_memory_equal(fp, fp_file, 32);
    assert_int_equal(X509_digest(x, EVP_sha256(), md, &mdlen), 1);
    assert_int_equal(mdlen, 32);
    assert_memory_equal(fp, md, 32);

    EVP_PKEY_free(k);
    X509_free(x);
}

/* Serial, validity, signature, key and the extensions as the script sets
 * them: an issued certificate must be interchangeable with one from
 * certs/coachq-certs user. */
static void test_issued_cert_matches_script_profile(void **state)
{
    struct fx *f = *state;
    char crt[700], ref_path[700], group[64];
    uint8_t fp[32], fp2[32];
    const ASN1_OCTET_STRING *ski;
    const ASN1_OCTET_STRING *aki;
    BIGNUM *serial, *serial2;
    size_t glen = 0;
    int day, sec;
    X509 *x, *x2, *ref, *ca;
    EVP_PKEY *pub;

    issue_ok(f, "dora", fp);
    issue_ok(f, "erin", fp2);
    assert_memory_not_equal(fp, fp2, 32);
    join(crt, sizeof(crt), f->dir, "dora.crt");
    x = load_cert(crt);
    join(crt, sizeof(crt), f->dir, "erin.crt");
    x2 = load_cert(crt);
    ref = load_cert(testutil_cert_path(ref_path, sizeof(ref_path), "users/alice.crt"));
    ca = load_cert(f->ca_crt);

    assert_int_equal(X509_get_version(x), X509_VERSION_3);
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(ca)), 0);
    assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);

    /* A random positive serial of at most 159 bits, different each time. */
    serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    serial2 = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x2), NULL);
    assert_non_null(serial);
    assert_non_null(serial2);
    assert_false(BN_is_negative(serial));
    assert_false(BN_is_zero(serial));
    assert_true(BN_num_bits(serial) <= 159);
    assert_true(BN_num_bits(serial) > 64);
    assert_int_not_equal(BN_cmp(serial, serial2), 0);

    /* Valid from now (no earlier than a minute ago) for DAYS days. */
    assert_int_equal(ASN1_TIME_diff(&day, &sec, NULL, X509_get0_notBefore(x)), 1);
    assert_true(day == 0 && sec <= 0 && sec > -60);
    assert_int_equal(ASN1_TIME_diff(&day, &sec, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
    assert_int_equal(day, DAYS);
    assert_int_equal(sec, 0);

    /* An EC P-256 key with a named curve. */
    pub = X509_get0_pubkey(x);
    assert_non_null(pub);
    assert_true(EVP_PKEY_is_a(pub, "EC"));
    assert_int_equal(EVP_PKEY_get_group_name(pub, group, sizeof(group), &glen), 1);
    assert_int_equal(OBJ_sn2nid(group), NID_X9_62_prime256v1);

    /* An end entity for digital signatures, with key identifiers linking
     * it to the CA. */
    assert_int_equal(X509_check_ca(x), 0);
    assert_true(X509_get_extension_flags(x) & EXFLAG_BCONS);
    assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
    ski = X509_get0_subject_key_id(x);
    aki = X509_get0_authority_key_id(x);
    assert_non_null(ski);
    assert_non_null(aki);
    assert_int_equal(ASN1_OCTET_STRING_cmp(aki, X509_get0_subject_key_id(ca)), 0);

    /* The same extensions as the script's, in the same order, equally
     * critical. */
    assert_int_equal(X509_get_ext_count(x), X509_get_ext_count(ref));
    for (int i = 0; i < X509_get_ext_count(x); i++) {
        X509_EXTENSION *a = X509_get_ext(x, i);
        X509_EXTENSION *b = X509_get_ext(ref, i);

        assert_int_equal(OBJ_cmp(X509_EXTENSION_get_object(a), X509_EXTENSION_get_object(b)), 0);
        assert_int_equal(X509_EXTENSION_get_critical(a), X509_EXTENSION_get_critical(b));
    }

    /* A certificate of another CA does not vouch for it. */
    assert_int_not_equal(
        verify_client(x, testutil_cert_path(ref_path, sizeof(ref_path), "other/ca.crt")),
        X509_V_OK);

    BN_free(serial);
    BN_free(serial2);
    X509_free(ca);
    X509_free(ref);
    X509_free(x2);
    X509_free(x);
}

static void test_second_issue_is_eexist_and_changes_nothing(void **state)
{
    struct fx *f = *state;
    char crt[700], key[700];
    char crt1[FILE_CAP], key1[FILE_CAP], crt2[FILE_CAP], key2[FILE_CAP];
    uint8_t fp[32], fp2[32];
    int rc;

    issue_ok(f, "bob", fp);
    join(crt, sizeof(crt), f->dir, "bob.crt");
    join(key, sizeof(key), f->dir, "bob.key");
    assert_true(read_file(crt, crt1, sizeof(crt1)) > 0);
    assert_true(read_file(key, key1, sizeof(key1)) > 0);

    memset(fp2, 0xa5, sizeof(fp2));
    rc = certissue_user(f->ca_crt, f->ca_key, "bob", DAYS, f->dir, fp2, f->err, sizeof(f->err));
    assert_int_equal(rc, -EEXIST);
    assert_non_null(strstr(f->err, crt));
    assert_non_null(strstr(f->err, "exists"));
    assert_true(read_file(crt, crt2, sizeof(crt2)) > 0);
    assert_true(read_file(key, key2, sizeof(key2)) > 0);
    assert_string_equal(crt1, crt2);
    assert_string_equal(key1, key2);
    assert_memory_not_equal(fp, fp2, 32);
}

/* The second name in the way: the certificate, created first, must be
 * taken back, and the key that was there left alone. */
static void test_existing_key_alone_is_eexist_and_leaves_no_cert(void **state)
{
    struct fx *f = *state;
    char crt[700], key[700], buf[FILE_CAP];
    uint8_t fp[32];
    int rc;

    join(crt, sizeof(crt), f->dir, "carol.crt");
    join(key, sizeof(key), f->dir, "carol.key");
    write_file(key, "someone else's key\n");
    rc = certissue_user(f->ca_crt, f->ca_key, "carol", DAYS, f->dir, fp, f->err, sizeof(f->err));
    assert_int_equal(rc, -EEXIST);
    assert_non_null(strstr(f->err, key));
    assert_false(exists(crt));
    assert_true(read_file(key, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "someone else's key\n");
}

static void test_ca_key_mismatch_is_refused(void **state)
{
    struct fx *f = *state;
    uint8_t fp[32];
    int rc;

    rc = certissue_user(f->ca_crt, f->other_key, "alice", DAYS, f->dir, fp, f->err, sizeof(f->err));
    assert_int_equal(rc, -EINVAL);
    assert_non_null(strstr(f->err, "does not match"));
    assert_non_null(strstr(f->err, f->other_key));
    assert_non_null(strstr(f->err, f->ca_crt));
    assert_dir_empty(f->dir);
}

static void test_not_a_ca_is_refused(void **state)
{
    struct fx *f = *state;
    char crt[600], key[600];
    uint8_t fp[32];
    int rc;

    testutil_cert_path(crt, sizeof(crt), "users/alice.crt");
    testutil_cert_path(key, sizeof(key), "users/alice.key");
    rc = certissue_user(crt, key, "mallory", DAYS, f->dir, fp, f->err, sizeof(f->err));
    assert_int_equal(rc, -EINVAL);
    assert_non_null(strstr(f->err, "is not a CA certificate"));
    assert_dir_empty(f->dir);
}

static void test_bad_user_id_is_einval(void **state)
{
    struct fx *f = *state;
    static const char *const bad[] = {
        "",        "al ice",
        "a/b",     "../x",
        "alice\n", "caf\xc3\xa9",
        "x:y",     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 65 */
    };
    const char *longest = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    uint8_t fp[32];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc =
            certissue_user(f->ca_crt, f->ca_key, bad[i], DAYS, f->dir, fp, f->err, sizeof(f->err));

        assert_int_equal(rc, -EINVAL);
        assert_non_null(strstr(f->err, "user id"));
    }
    assert_int_equal(
        certissue_user(f->ca_crt, f->ca_key, NULL, DAYS, f->dir, fp, f->err, sizeof(f->err)),
        -EINVAL);
    assert_dir_empty(f->dir);

    /* 64 bytes is the longest id, and fine. */
    assert_int_equal(strlen(longest), 64);
    issue_ok(f, longest, fp);
}

static void test_bad_days_is_einval(void **state)
{
    struct fx *f = *state;
    uint8_t fp[32];

    assert_int_equal(
        certissue_user(f->ca_crt, f->ca_key, "alice", 0, f->dir, fp, f->err, sizeof(f->err)),
        -EINVAL);
    assert_non_null(strstr(f->err, "days"));
    assert_int_equal(
        certissue_user(f->ca_crt, f->ca_key, "alice", -5, f->dir, fp, f->err, sizeof(f->err)),
        -EINVAL);
    assert_dir_empty(f->dir);
}

static void test_missing_files_name_the_path(void **state)
{
    struct fx *f = *state;
    char missing[700], outdir[700];
    uint8_t fp[32];
    int rc;

    join(missing, sizeof(missing), f->dir, "no-such-ca.crt");
    rc = certissue_user(missing, f->ca_key, "alice", DAYS, f->dir, fp, f->err, sizeof(f->err));
    assert_int_equal(rc, -ENOENT);
    assert_non_null(strstr(f->err, missing));
    assert_non_null(strstr(f->err, "No such file or directory"));

    join(missing, sizeof(missing), f->dir, "no-such-ca.key");
    rc = certissue_user(f->ca_crt, missing, "alice", DAYS, f->dir, fp, f->err, sizeof(f->err));
    assert_int_equal(rc, -ENOENT);
    assert_non_null(strstr(f->err, missing));
    assert_non_null(strstr(f->err, "No such file or directory"));

    join(missing, sizeof(missing), f->dir, "no-such.crt");
    rc = certissue_fingerprint_file(missing, fp, f->err, sizeof(f->err));
    assert_int_equal(rc, -ENOENT);
    assert_non_null(strstr(f->err, missing));
    assert_non_null(strstr(f->err, "No such file or directory"));

    /* A missing output directory: nothing is made, the path is named. */
    join(outdir, sizeof(outdir), f->dir, "no-such-dir");
    rc = certissue_user(f->ca_crt, f->ca_key, "alice", DAYS, outdir, fp, f->err, sizeof(f->err));
    assert_int_equal(rc, -ENOENT);
    assert_non_null(strstr(f->err, outdir));
    assert_dir_empty(f->dir);
}

static void test_not_pem_is_einval(void **state)
{
    struct fx *f = *state;
    char path[700];
    uint8_t fp[32];
    int rc;

    join(path, sizeof(path), f->dir, "junk.crt");
    write_file(path, "this is not a certificate\n");
    rc = certissue_fingerprint_file(path, fp, f->err, sizeof(f->err));
    assert_int_equal(rc, -EINVAL);
    assert_non_null(strstr(f->err, path));
    rc = certissue_user(path, f->ca_key, "alice", DAYS, f->dir, fp, f->err, sizeof(f->err));
    assert_int_equal(rc, -EINVAL);
    assert_non_null(strstr(f->err, path));

    /* A directory in place of a file. */
    rc = certissue_fingerprint_file(f->dir, fp, f->err, sizeof(f->err));
    assert_int_equal(rc, -EINVAL);
    assert_non_null(strstr(f->err, "not a regular file"));
    assert_int_equal(unlink(path), 0);
}

/* An encrypted CA key must be refused with a message, never by prompting
 * on the terminal (the watchdog fails the test if something waits). */
static void test_encrypted_ca_key_is_refused(void **state)
{
    struct fx *f = *state;
    static const char pass[] = "correct horse";
    char path[700];
    uint8_t fp[32];
    EVP_PKEY *k = load_key(f->ca_key);
    FILE *fp_out;
    int rc;

    join(path, sizeof(path), f->dir, "ca-encrypted.key");
    fp_out = fopen(path, "w");
    assert_non_null(fp_out);
    assert_int_equal(
        PEM_write_PKCS8PrivateKey(fp_out, k, EVP_aes_256_cbc(), NULL, 0, NULL, (void *)pass), 1);
    assert_int_equal(fclose(fp_out), 0);
    EVP_PKEY_free(k);

    rc = certissue_user(f->ca_crt, path, "alice", DAYS, f->dir, fp, f->err, sizeof(f->err));
    assert_int_equal(rc, -EINVAL);
    assert_non_null(strstr(f->err, "passphrase"));
    assert_non_null(strstr(f->err, path));
    assert_int_equal(unlink(path), 0);
    assert_dir_empty(f->dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_issued_cert_verifies_as_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_issued_cert_matches_script_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_issue_is_eexist_and_changes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_existing_key_alone_is_eexist_and_leaves_no_cert, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ca_key_mismatch_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_ca_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_user_id_is_einval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_days_is_einval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_files_name_the_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_pem_is_einval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encrypted_ca_key_is_refused, setup, teardown),
    };

    /* Fixed so that the certificate's mode (0644 less the umask) is known. */
    umask(022);
    testutil_watchdog(WATCHDOG_SECONDS);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
