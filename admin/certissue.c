/*
 * certissue: the C counterpart of `certs/coachq-certs user`, so that
 * `coachqd cert issue` needs no openssl command line tool.
 *
 * Everything here runs on the calling thread and blocks (key generation,
 * file reads, fsync); it is meant for the command line, never for the loop
 * thread.
 */
#include "certissue.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "fsutil.h"
#include "tls_ctx.h"
#include "validate.h"

/* What `openssl ca -rand_serial` uses: 159 random bits keep the serial
 * positive and within the 20 octets RFC 5280 allows. */
#define CERTISSUE_SERIAL_BITS 159

/* The range certs/coachq-certs accepts for --days. */
#define CERTISSUE_MAX_DAYS 99999

/* A PEM certificate or key is a few kilobytes; anything above this is the
 * wrong file, and reading it whole would only waste memory. */
#define CERTISSUE_MAX_PEM (1024L * 1024L)

#define CERTISSUE_PATH_MAX 4096
#define CERTISSUE_SHA256_LEN 32

/* The extensions of a user certificate, in the order and with the values
 * that certs/coachq-certs writes them. The subject key identifier needs the
 * public key and the authority key identifier the CA certificate, both of
 * which the extension context provides. */
struct certissue_ext {
    int nid;
    const char *value;
};

static const struct certissue_ext certissue_exts[] = {
    {NID_basic_constraints, "critical,CA:FALSE"},
    {NID_key_usage, "critical,digitalSignature"},
    {NID_subject_key_identifier, "hash"},
    {NID_authority_key_identifier, "keyid:always"},
    {NID_ext_key_usage, "clientAuth"},
};

static void certissue_msg(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void certissue_msg(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* As certissue_msg(), followed by OpenSSL's reasons. Drains the error queue
 * so that the next caller starts clean. */
static void certissue_ssl_msg(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void certissue_ssl_msg(char *err, size_t errlen, const char *fmt, ...)
{
    char what[CERTISSUE_PATH_MAX + 256];
    char reason[512];
    va_list ap;

    tls_ctx_errors(reason, sizeof(reason));
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    certissue_msg(err, errlen, "%s (OpenSSL: %s)", what, reason);
}

/*
 * Opens path for reading after checking that it is a regular file of sane
 * size, so that a directory or a device gives a clear message instead of a
 * PEM parse error. Returns 0 with *out set (caller owns, fclose()), or
 * -errno with a message naming what and path.
 */
static int certissue_open_pem(const char *path, const char *what, FILE **out, char *err,
                              size_t errlen)
{
    struct stat st;
    FILE *f = NULL;
    int rc;

    f = fopen(path, "r");
    if (f == NULL) {
        rc = -errno;
        certissue_msg(err, errlen, "cannot read %s %s: %s", what, path, strerror(errno));
        goto out;
    }
    if (fstat(fileno(f), &st) != 0) {
        rc = -errno;
        certissue_msg(err, errlen, "cannot read %s %s: %s", what, path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
        certissue_msg(err, errlen, "cannot read %s %s: not a regular file", what, path);
        goto out;
    }
    if (st.st_size > CERTISSUE_MAX_PEM) {
        rc = -EFBIG;
        certissue_msg(err, errlen, "cannot read %s %s: %lld bytes is too large for a PEM file",
                      what, path, (long long)st.st_size);
        goto out;
    }
    *out = f;
    f = NULL;
    rc = 0;
out:
    if (f != NULL) {
        fclose(f);
    }
    return rc;
}

/* Reads the first certificate in the PEM file at path. Returns 0 with *out
 * set (caller owns, X509_free()), or a negative code with a message. */
static int certissue_read_cert(const char *path, const char *what, X509 **out, char *err,
                               size_t errlen)
{
    FILE *f = NULL;
    X509 *x = NULL;
    int rc;

    rc = certissue_open_pem(path, what, &f, err, errlen);
    if (rc < 0) {
        goto out;
    }
    x = PEM_read_X509(f, NULL, NULL, NULL);
    if (x == NULL) {
        rc = -EINVAL;
        certissue_ssl_msg(err, errlen,
                          "cannot read %s %s: it holds no PEM certificate "
                          "(\"-----BEGIN CERTIFICATE-----\")",
                          what, path);
        goto out;
    }
    *out = x;
    rc = 0;
out:
    if (f != NULL) {
        fclose(f);
    }
    return rc;
}

/* A passphrase callback that refuses: without it OpenSSL would prompt on
 * the terminal, which a daemon's subcommand must never do. It records that
 * a passphrase was asked for, so the message can say the key is encrypted. */
static int certissue_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    int *asked = u;

    (void)buf;
    (void)size;
    (void)rwflag;
    *asked = 1;
    return -1;
}

/* Reads the PEM private key at path. Returns 0 with *out set (caller owns,
 * EVP_PKEY_free()), or a negative code with a message. */
static int certissue_read_key(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
    FILE *f = NULL;
    EVP_PKEY *k = NULL;
    int asked = 0;
    int rc;

    rc = certissue_open_pem(path, "CA key", &f, err, errlen);
    if (rc < 0) {
        goto out;
    }
    k = PEM_read_PrivateKey(f, NULL, certissue_no_passphrase, &asked);
    if (k == NULL) {
        rc = -EINVAL;
        if (asked) {
            certissue_ssl_msg(err, errlen,
                              "CA key %s is encrypted with a passphrase, which cannot be "
                              "entered here; use an unencrypted copy of the key",
                              path);
        } else {
            certissue_ssl_msg(err, errlen, "cannot read CA key %s: it holds no PEM private key",
                              path);
        }
        goto out;
    }
    *out = k;
    rc = 0;
out:
    if (f != NULL) {
        fclose(f);
    }
    return rc;
}

/* Checks that the CA certificate and key belong together and can issue
 * now. Returns 0 or -EINVAL with a message. */
static int certissue_check_ca(X509 *ca, EVP_PKEY *ca_key, const char *ca_cert_path,
                              const char *ca_key_path, char *err, size_t errlen)
{
    if (X509_check_private_key(ca, ca_key) != 1) {
        /* The queue only says "key values mismatch"; the message says
         * which files and what to do. */
        ERR_clear_error();
        certissue_msg(err, errlen,
                      "CA key %s does not match %s; give the key that was made together "
                      "with that CA certificate",
                      ca_key_path, ca_cert_path);
        return -EINVAL;
    }
    if (X509_check_ca(ca) == 0) {
        ERR_clear_error();
        certissue_msg(err, errlen,
                      "%s is not a CA certificate (it needs basicConstraints CA:TRUE and "
                      "keyUsage keyCertSign); give the deployment CA's certificate",
                      ca_cert_path);
        return -EINVAL;
    }
    if (X509_cmp_current_time(X509_get0_notAfter(ca)) < 0) {
        certissue_msg(err, errlen,
                      "CA certificate %s has expired, so nothing it signs would be accepted; "
                      "make a new CA",
                      ca_cert_path);
        return -EINVAL;
    }
    return 0;
}

/* Sets a random positive serial of CERTISSUE_SERIAL_BITS bits. Returns 0 or
 * -EIO with the OpenSSL queue left for the caller to drain. */
static int certissue_set_serial(X509 *x)
{
    BIGNUM *bn = NULL;
    ASN1_INTEGER *ai = NULL;
    int rc = -EIO;

    bn = BN_new();
    if (bn == NULL) {
        goto out;
    }
    /* Zero is not a valid serial; with 159 random bits it is all but
     * impossible, but cheap to rule out. */
    do {
        if (BN_rand(bn, CERTISSUE_SERIAL_BITS, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) {
            goto out;
        }
    } while (BN_is_zero(bn));
    ai = BN_to_ASN1_INTEGER(bn, NULL);
    if (ai == NULL || X509_set_serialNumber(x, ai) != 1) {
        goto out;
    }
    rc = 0;
out:
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return rc;
}

/*
 * Builds and signs the user's certificate for key. Returns 0 with *out set
 * (caller owns, X509_free()), or a negative code with a message.
 */
static int certissue_build(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *key, const char *user, int days,
                           X509 **out, char *err, size_t errlen)
{
    X509 *x = NULL;
    X509_NAME *subject;
    X509V3_CTX v3;
    time_t now = time(NULL);
    int rc = -EIO;

    x = X509_new();
    if (x == NULL) {
        certissue_ssl_msg(err, errlen, "cannot make a certificate");
        goto out;
    }
    if (X509_set_version(x, X509_VERSION_3) != 1 || certissue_set_serial(x) < 0 ||
        X509_set_issuer_name(x, X509_get_subject_name(ca)) != 1) {
        certissue_ssl_msg(err, errlen, "cannot set the certificate's version, serial or issuer");
        goto out;
    }
    /* Valid from now, as `openssl ca -days` makes it: no back-dating. */
    if (X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &now) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(x), days, 0, &now) == NULL) {
        certissue_ssl_msg(err, errlen, "cannot set the certificate's validity of %d days", days);
        goto out;
    }
    subject = X509_get_subject_name(x);
    if (X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
                                   (const unsigned char *)user, -1, -1, 0) != 1 ||
        X509_set_pubkey(x, key) != 1) {
        certissue_ssl_msg(err, errlen, "cannot set the certificate's subject CN=%s or its key",
                          user);
        goto out;
    }
    X509V3_set_ctx(&v3, ca, x, NULL, NULL, 0);
    for (size_t i = 0; i < sizeof(certissue_exts) / sizeof(certissue_exts[0]); i++) {
        const struct certissue_ext *e = &certissue_exts[i];
        X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, &v3, e->nid, e->value);
        int ok = ext != NULL && X509_add_ext(x, ext, -1) == 1;

        X509_EXTENSION_free(ext);
        if (!ok) {
            certissue_ssl_msg(err, errlen, "cannot add the extension %s = %s", OBJ_nid2sn(e->nid),
                              e->value);
            goto out;
        }
    }
    if (X509_sign(x, ca_key, EVP_sha256()) <= 0) {
        certissue_ssl_msg(err, errlen, "cannot sign the certificate with the CA key");
        goto out;
    }
    *out = x;
    x = NULL;
    rc = 0;
out:
    X509_free(x);
    return rc;
}

/* Writes n bytes to fd, retrying short writes. Returns 0 or -errno. */
static int certissue_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Creates path exclusively: an existing file, or a symlink in its place,
 * is never followed or replaced. Returns an fd or -errno with a message. */
static int certissue_create(const char *path, mode_t mode, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

    if (fd < 0) {
        int e = errno;

        if (e == EEXIST) {
            certissue_msg(err, errlen,
                          "%s exists; refusing to overwrite it (remove it first, or issue "
                          "into another directory)",
                          path);
        } else {
            certissue_msg(err, errlen, "cannot create %s: %s", path, strerror(e));
        }
        return -e;
    }
    return fd;
}

/* Writes the bytes of bio to fd and flushes them to disk. Returns 0 or
 * -errno with a message naming path. */
static int certissue_write_bio(int fd, BIO *bio, const char *path, char *err, size_t errlen)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    int rc;

    if (n <= 0) {
        certissue_msg(err, errlen, "cannot write %s: nothing was encoded", path);
        return -EIO;
    }
    rc = certissue_write_all(fd, data, (size_t)n);
    if (rc == 0 && fsync(fd) != 0) {
        rc = -errno;
    }
    if (rc < 0) {
        certissue_msg(err, errlen, "cannot write %s: %s", path, strerror(-rc));
    }
    return rc;
}

/* Flushes the directory entries of out_dir, so that both new names survive
 * a crash together with their contents. Returns 0 or -errno. */
static int certissue_sync_dir(const char *out_dir, char *err, size_t errlen)
{
    int rc = fsutil_sync_dir(out_dir);

    if (rc < 0) {
        certissue_msg(err, errlen, "cannot flush directory %s: %s", out_dir, strerror(-rc));
    }
    return rc;
}

/* Closes *fd if open, reporting a failed close (which on some file systems
 * is where a write error surfaces). Returns 0 or -errno. */
static int certissue_close(int *fd, const char *path, char *err, size_t errlen)
{
    int rc = 0;

    if (*fd >= 0 && close(*fd) != 0) {
        rc = -errno;
        certissue_msg(err, errlen, "cannot write %s: %s", path, strerror(errno));
    }
    *fd = -1;
    return rc;
}

/* Checks certissue_user()'s arguments and writes the two files' paths
 * into crt_path and key_path (CERTISSUE_PATH_MAX bytes each). Returns 0,
 * -EINVAL or -ENAMETOOLONG with a message in err. */
static int certissue_check_args(const char *ca_cert, const char *ca_key, const char *user, int days,
                                const char *out_dir, char *crt_path, char *key_path, char *err,
                                size_t errlen)
{
    int n1, n2;

    if (ca_cert == NULL || ca_key == NULL || user == NULL || out_dir == NULL) {
        certissue_msg(err, errlen,
                      "the CA certificate, CA key, user id and output directory "
                      "are all needed");
        return -EINVAL;
    }
    if (validate_id(user) < 0) {
        certissue_msg(err, errlen,
                      "the user id must be 1 to %d characters of letters, digits, '.', '_', "
                      "'@' or '-'",
                      VALIDATE_MAX_ID);
        return -EINVAL;
    }
    if (days < 1 || days > CERTISSUE_MAX_DAYS) {
        certissue_msg(err, errlen, "the validity must be 1 to %d days, not %d", CERTISSUE_MAX_DAYS,
                      days);
        return -EINVAL;
    }
    n1 = snprintf(crt_path, CERTISSUE_PATH_MAX, "%s/%s.crt", out_dir, user);
    n2 = snprintf(key_path, CERTISSUE_PATH_MAX, "%s/%s.key", out_dir, user);
    if (n1 < 0 || n2 < 0 || n1 >= CERTISSUE_PATH_MAX || n2 >= CERTISSUE_PATH_MAX) {
        certissue_msg(err, errlen, "the output directory's path is too long");
        return -ENAMETOOLONG;
    }
    return 0;
}

/* Reads and checks the CA, makes user's P-256 key and certificate signed
 * by it, and its SHA-256 into md (CERTISSUE_SHA256_LEN bytes). On success
 * *key_out and *x_out are the caller's (free with EVP_PKEY_free() and
 * X509_free()). Returns 0 or a negative code with a message in err. */
static int certissue_sign(const char *ca_cert, const char *ca_key, const char *user, int days,
                          EVP_PKEY **key_out, X509 **x_out, unsigned char *md, char *err,
                          size_t errlen)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    X509 *ca = NULL;
    EVP_PKEY *cakey = NULL;
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    int rc;

    rc = certissue_read_cert(ca_cert, "CA certificate", &ca, err, errlen);
    if (rc < 0) {
        goto out;
    }
    rc = certissue_read_key(ca_key, &cakey, err, errlen);
    if (rc < 0) {
        goto out;
    }
    rc = certissue_check_ca(ca, cakey, ca_cert, ca_key, err, errlen);
    if (rc < 0) {
        goto out;
    }

    rc = -EIO;
    key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (key == NULL) {
        certissue_ssl_msg(err, errlen, "cannot generate a P-256 key");
        goto out;
    }
    rc = certissue_build(ca, cakey, key, user, days, &x, err, errlen);
    if (rc < 0) {
        goto out;
    }
    rc = -EIO;
    if (X509_digest(x, EVP_sha256(), digest, &mdlen) != 1 || mdlen != CERTISSUE_SHA256_LEN) {
        certissue_ssl_msg(err, errlen, "cannot compute the certificate's SHA-256 fingerprint");
        goto out;
    }
    memcpy(md, digest, CERTISSUE_SHA256_LEN);
    *key_out = key;
    *x_out = x;
    key = NULL;
    x = NULL;
    rc = 0;
out:
    X509_free(x);
    EVP_PKEY_free(key);
    EVP_PKEY_free(cakey);
    X509_free(ca);
    return rc;
}

/* Writes the encoded certificate and key (crt_pem, key_pem: borrowed) to
 * crt_path and key_path, which must not exist yet, then syncs out_dir.
 * Both names are claimed before either is written, and on failure the
 * names this call created are removed: either both files are written
 * whole or neither is left. Returns 0 or a negative code with a message
 * in err. */
static int certissue_write_files(const char *crt_path, const char *key_path, const char *out_dir,
                                 BIO *crt_pem, BIO *key_pem, char *err, size_t errlen)
{
    int crt_fd = -1;
    int key_fd = -1;
    int crt_made = 0;
    int key_made = 0;
    int rc;

    rc = certissue_create(crt_path, 0644, err, errlen);
    if (rc < 0) {
        goto out;
    }
    crt_fd = rc;
    crt_made = 1;
    rc = certissue_create(key_path, 0600, err, errlen);
    if (rc < 0) {
        goto out;
    }
    key_fd = rc;
    key_made = 1;

    rc = certissue_write_bio(crt_fd, crt_pem, crt_path, err, errlen);
    if (rc < 0) {
        goto out;
    }
    rc = certissue_close(&crt_fd, crt_path, err, errlen);
    if (rc < 0) {
        goto out;
    }
    rc = certissue_write_bio(key_fd, key_pem, key_path, err, errlen);
    if (rc < 0) {
        goto out;
    }
    rc = certissue_close(&key_fd, key_path, err, errlen);
    if (rc < 0) {
        goto out;
    }
    rc = certissue_sync_dir(out_dir, err, errlen);
out:
    if (crt_fd >= 0) {
        close(crt_fd);
    }
    if (key_fd >= 0) {
        close(key_fd);
    }
    /* Only names this call created are removed: O_EXCL guarantees they
     * were not there before. */
    if (rc < 0 && crt_made) {
        unlink(crt_path);
    }
    if (rc < 0 && key_made) {
        unlink(key_path);
    }
    return rc;
}

int certissue_user(const char *ca_cert, const char *ca_key, const char *user, int days,
                   const char *out_dir, uint8_t sha256[32], char *err, size_t errlen)
{
    char crt_path[CERTISSUE_PATH_MAX];
    char key_path[CERTISSUE_PATH_MAX];
    unsigned char md[CERTISSUE_SHA256_LEN];
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    BIO *crt_pem = NULL;
    BIO *key_pem = NULL;
    int rc;

    certissue_msg(err, errlen, "%s", "");
    rc =
        certissue_check_args(ca_cert, ca_key, user, days, out_dir, crt_path, key_path, err, errlen);
    if (rc < 0) {
        goto out;
    }
    rc = certissue_sign(ca_cert, ca_key, user, days, &key, &x, md, err, errlen);
    if (rc < 0) {
        goto out;
    }

    /* Both files are encoded in memory first, so that nothing is created
     * unless there is something whole to write. The key's buffer is
     * secure memory, cleared when it is freed. */
    rc = -EIO;
    crt_pem = BIO_new(BIO_s_mem());
    key_pem = BIO_new(BIO_s_secmem());
    if (crt_pem == NULL || key_pem == NULL || PEM_write_bio_X509(crt_pem, x) != 1 ||
        PEM_write_bio_PKCS8PrivateKey(key_pem, key, NULL, NULL, 0, NULL, NULL) != 1) {
        certissue_ssl_msg(err, errlen, "cannot encode the certificate or key as PEM");
        goto out;
    }
    rc = certissue_write_files(crt_path, key_path, out_dir, crt_pem, key_pem, err, errlen);
    if (rc < 0) {
        goto out;
    }
    memcpy(sha256, md, CERTISSUE_SHA256_LEN);
    rc = 0;
out:
    BIO_free(key_pem);
    BIO_free(crt_pem);
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

int certissue_fingerprint_file(const char *path, uint8_t sha256[32], char *err, size_t errlen)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    X509 *x = NULL;
    int rc = -EINVAL;

    certissue_msg(err, errlen, "%s", "");
    if (path == NULL) {
        certissue_msg(err, errlen, "a certificate file is needed");
        goto out;
    }
    rc = certissue_read_cert(path, "certificate", &x, err, errlen);
    if (rc < 0) {
        goto out;
    }
    if (X509_digest(x, EVP_sha256(), md, &mdlen) != 1 || mdlen != CERTISSUE_SHA256_LEN) {
        rc = -EIO;
        certissue_ssl_msg(err, errlen, "cannot compute the SHA-256 fingerprint of %s", path);
        goto out;
    }
    memcpy(sha256, md, CERTISSUE_SHA256_LEN);
    rc = 0;
out:
    X509_free(x);
    return rc;
}
