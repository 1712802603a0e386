#include "tls_ctx.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "error.h"

/* TLS 1.2 suites: forward secret and AEAD only. TLS 1.3 keeps its defaults,
 * which are all AEAD. */
#define TLS_CTX_CIPHERS_12                                                                         \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

#define TLS_CTX_VERIFY_DEPTH 2
#define TLS_CTX_CN_MAX 64

/* The ex_data slot of an SSL_CTX that holds its ALPN list in wire format.
 * Written once under pthread_once, read-only afterwards; OpenSSL frees the
 * list with the context. */
static pthread_once_t tls_ctx_alpn_once = PTHREAD_ONCE_INIT;
static int tls_ctx_alpn_index = -1;

struct tls_ctx_alpn {
    size_t len;
    unsigned char wire[256];
    int optional; /* a ClientHello without ALPN is taken (dashboard port) */
};

static void tls_ctx_alpn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                              void *argp)
{
    (void)parent;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    OPENSSL_free(ptr);
}

static void tls_ctx_alpn_index_init(void)
{
    tls_ctx_alpn_index =
        CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_CTX, 0, NULL, NULL, NULL, tls_ctx_alpn_free);
}

const char *tls_ctx_errors(char *buf, size_t buflen)
{
    size_t used = 0;
    unsigned long e;
    const char *data;
    int flags;

    if (buflen == 0) {
        return buf;
    }
    buf[0] = '\0';
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        char one[256];
        int n;

        ERR_error_string_n(e, one, sizeof(one));
        if (used + 1 >= buflen) {
            continue; /* keep draining so the queue ends empty */
        }
        n = snprintf(buf + used, buflen - used, "%s%s%s%s", used > 0 ? "; " : "", one,
                     (flags & ERR_TXT_STRING) && data[0] != '\0' ? ": " : "",
                     (flags & ERR_TXT_STRING) ? data : "");
        if (n < 0) {
            break;
        }
        used += (size_t)n < buflen - used ? (size_t)n : buflen - used - 1;
    }
    if (used == 0) {
        snprintf(buf, buflen, "no OpenSSL error reported");
    }
    return buf;
}

static void tls_ctx_fail(char *err, size_t errlen, const char *what, const char *file)
{
    char reason[512];

    tls_ctx_errors(reason, sizeof(reason));
    if (err == NULL || errlen == 0) {
        return;
    }
    if (file != NULL) {
        snprintf(err, errlen, "%s %s: %s", what, file, reason);
    } else {
        snprintf(err, errlen, "%s: %s", what, reason);
    }
}

static void tls_ctx_msg(char *err, size_t errlen, const char *msg)
{
    if (err != NULL && errlen > 0) {
        snprintf(err, errlen, "%s", msg);
    }
}

/* Encodes one protocol name as an ALPN list. Returns 0 or -EINVAL. */
static int tls_ctx_alpn_encode(const char *alpn, struct tls_ctx_alpn *out)
{
    size_t n;

    if (alpn == NULL) {
        return -EINVAL;
    }
    n = strlen(alpn);
    if (n == 0 || n > 255) {
        return -EINVAL;
    }
    out->wire[0] = (unsigned char)n;
    memcpy(out->wire + 1, alpn, n);
    out->len = n + 1;
    return 0;
}

/* Server: picks the configured protocol, or fails the handshake with
 * no_application_protocol when the client does not offer it. */
static int tls_ctx_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                               const unsigned char *in, unsigned int inlen, void *arg)
{
    const struct tls_ctx_alpn *a;
    unsigned char *sel = NULL;
    unsigned char sellen = 0;

    (void)arg;
    a = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), tls_ctx_alpn_index);
    if (a == NULL) {
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    if (SSL_select_next_proto(&sel, &sellen, a->wire, (unsigned int)a->len, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    *out = sel;
    *outlen = sellen;
    return SSL_TLSEXT_ERR_OK;
}

/* Server: the ALPN select callback does not run for a ClientHello without
 * ALPN at all, so its absence is refused here, unless the context takes
 * it (RFC 7301 section 3.2: a server carries on without ALPN, and the
 * dashboard port then speaks HTTP/1.1). The protocol port stays strict: a
 * peer that does not name coachq/1 is not a coachq client, and refusing it
 * in the handshake keeps another protocol's bytes (an HTTP request sent to
 * the wrong port, a scanner) from ever reaching the frame parser. */
static int tls_ctx_client_hello(SSL *ssl, int *al, void *arg)
{
    const struct tls_ctx_alpn *a;
    const unsigned char *ext = NULL;
    size_t extlen = 0;

    (void)arg;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &ext,
                                  &extlen) != 1) {
        a = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), tls_ctx_alpn_index);
        if (a != NULL && a->optional) {
            return SSL_CLIENT_HELLO_SUCCESS;
        }
        /* So that the logged reason says why, not just "callback failed". */
        ERR_raise_data(ERR_LIB_SSL, SSL_R_NO_APPLICATION_PROTOCOL, "client offered no ALPN");
        *al = SSL_AD_NO_APPLICATION_PROTOCOL;
        return SSL_CLIENT_HELLO_ERROR;
    }
    return SSL_CLIENT_HELLO_SUCCESS;
}

/* What both sides share: versions, suites, options. */
static int tls_ctx_common(SSL_CTX *ctx, char *err, size_t errlen)
{
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        tls_ctx_fail(err, errlen, "setting the minimum TLS version", NULL);
        return -EIO;
    }
    if (SSL_CTX_set_cipher_list(ctx, TLS_CTX_CIPHERS_12) != 1) {
        tls_ctx_fail(err, errlen, "setting the TLS 1.2 cipher list", NULL);
        return -EIO;
    }
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    return 0;
}

/* Loads cert (chain) and key and checks that they match. */
static int tls_ctx_load_pair(SSL_CTX *ctx, const char *cert, const char *key, char *err,
                             size_t errlen)
{
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        tls_ctx_fail(err, errlen, "loading certificate", cert);
        return -EIO;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        tls_ctx_fail(err, errlen, "loading private key", key);
        return -EIO;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        tls_ctx_fail(err, errlen, "private key does not match certificate; key", key);
        return -EIO;
    }
    return 0;
}

/* Trust store = the CA file, nothing else (no default paths). */
static int tls_ctx_load_ca(SSL_CTX *ctx, const char *ca, char *err, size_t errlen)
{
    if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
        tls_ctx_fail(err, errlen, "loading CA file", ca);
        return -EIO;
    }
    return 0;
}

/* 1 if a certificate of store issued and signed crl. */
static int tls_ctx_crl_signed_by_anchor(X509_STORE *store, X509_CRL *crl)
{
    STACK_OF(X509_OBJECT) * objs;
    int found = 0;

    objs = X509_STORE_get0_objects(store);
    for (int i = 0; objs != NULL && i < sk_X509_OBJECT_num(objs) && !found; i++) {
        X509 *ca = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
        EVP_PKEY *key;

        if (ca == NULL || X509_NAME_cmp(X509_get_subject_name(ca), X509_CRL_get_issuer(crl)) != 0) {
            continue;
        }
        key = X509_get0_pubkey(ca);
        found = key != NULL && X509_CRL_verify(crl, key) == 1;
        ERR_clear_error();
    }
    return found;
}

/* Adds every CRL of the PEM file crl to ctx's trust store and turns on
 * revocation checking of the client's certificate. Each CRL must be signed
 * by a CA of the trust store (loaded before) and current: a CRL from
 * another CA, or one past its nextUpdate, would make OpenSSL refuse every
 * client, so it is refused here, where the operator sees why. */
static int tls_ctx_load_crl(SSL_CTX *ctx, const char *crl, char *err, size_t errlen)
{
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    BIO *bio = NULL;
    X509_CRL *x = NULL;
    unsigned n = 0;
    int rc = -EIO;

    bio = BIO_new_file(crl, "r");
    if (bio == NULL) {
        tls_ctx_fail(err, errlen, "opening CRL file", crl);
        goto out;
    }
    for (;;) {
        const ASN1_TIME *next;

        x = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
        if (x == NULL) {
            unsigned long e = ERR_peek_last_error();

            /* The end of the file is "no start line" after the last CRL. */
            if (n > 0 && ERR_GET_LIB(e) == ERR_LIB_PEM &&
                ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
                ERR_clear_error();
                break;
            }
            tls_ctx_fail(err, errlen,
                         n == 0 ? "reading CRL file (no PEM X509 CRL in it)" : "reading CRL file",
                         crl);
            goto out;
        }
        if (!tls_ctx_crl_signed_by_anchor(store, x)) {
            rc = -EINVAL;
            snprintf(err, errlen,
                     "CRL file %s: CRL %u is not signed by a CA of the --ca file; it would refuse "
                     "every client",
                     crl, n + 1);
            goto out;
        }
        next = X509_CRL_get0_nextUpdate(x);
        if (next != NULL && X509_cmp_current_time(next) <= 0) {
            rc = -EINVAL;
            snprintf(err, errlen,
                     "CRL file %s: CRL %u is past its nextUpdate; it would refuse every client: "
                     "issue a fresh one (openssl ca -gencrl)",
                     crl, n + 1);
            goto out;
        }
        if (X509_STORE_add_crl(store, x) != 1) {
            tls_ctx_fail(err, errlen, "adding a CRL from", crl);
            goto out;
        }
        X509_CRL_free(x);
        x = NULL;
        n++;
    }
    if (X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_CRL_CHECK) != 1) {
        tls_ctx_fail(err, errlen, "turning on CRL checking", NULL);
        goto out;
    }
    rc = 0;
out:
    X509_CRL_free(x);
    BIO_free(bio);
    return rc;
}

/* A session-id context of its own for every kind of server context, so that
 * a session made on one port never resumes on the other. */
static int tls_ctx_sid_ctx(SSL_CTX *ctx, const struct tls_ctx_opts *opts, char *err, size_t errlen)
{
    char label[300];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int n;

    n = snprintf(label, sizeof(label), "coachq sid ctx alpn=%s client_cert=%d", opts->alpn,
                 opts->require_client_cert ? 1 : 0);
    if (n < 0 || (size_t)n >= sizeof(label)) {
        tls_ctx_msg(err, errlen, "ALPN protocol name too long");
        return -EINVAL;
    }
    if (EVP_Digest(label, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1 ||
        mdlen > SSL_MAX_SID_CTX_LENGTH) {
        tls_ctx_fail(err, errlen, "deriving the session-id context", NULL);
        return -EIO;
    }
    if (SSL_CTX_set_session_id_context(ctx, md, mdlen) != 1) {
        tls_ctx_fail(err, errlen, "setting the session-id context", NULL);
        return -EIO;
    }
    return 0;
}

int tls_ctx_server_new(const struct tls_ctx_opts *opts, SSL_CTX **out, char *err, size_t errlen)
{
    SSL_CTX *ctx = NULL;
    struct tls_ctx_alpn *alpn = NULL;
    STACK_OF(X509_NAME) *names = NULL;
    X509_VERIFY_PARAM *param;
    int rc = -EINVAL;

    tls_ctx_msg(err, errlen, "");
    ERR_clear_error();
    if (opts == NULL || out == NULL || opts->cert_file == NULL || opts->key_file == NULL ||
        (opts->require_client_cert && opts->ca_file == NULL)) {
        tls_ctx_msg(err, errlen, "server TLS context needs cert_file, key_file and ca_file");
        goto out;
    }
    pthread_once(&tls_ctx_alpn_once, tls_ctx_alpn_index_init);
    if (tls_ctx_alpn_index < 0) {
        rc = -EIO;
        tls_ctx_fail(err, errlen, "allocating the ALPN ex_data index", NULL);
        goto out;
    }
    alpn = OPENSSL_zalloc(sizeof(*alpn));
    if (alpn == NULL) {
        rc = -ENOMEM;
        tls_ctx_msg(err, errlen, "out of memory");
        goto out;
    }
    if (tls_ctx_alpn_encode(opts->alpn, alpn) != 0) {
        tls_ctx_msg(err, errlen, "ALPN protocol must be 1 to 255 bytes");
        goto out;
    }
    alpn->optional = opts->alpn_optional ? 1 : 0;
    rc = -EIO;
    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        tls_ctx_fail(err, errlen, "creating the server TLS context", NULL);
        goto out;
    }
    if (SSL_CTX_set_ex_data(ctx, tls_ctx_alpn_index, alpn) != 1) {
        tls_ctx_fail(err, errlen, "storing the ALPN protocol", NULL);
        goto out;
    }
    alpn = NULL; /* the context owns it now */
    if (tls_ctx_common(ctx, err, errlen) != 0 ||
        tls_ctx_load_pair(ctx, opts->cert_file, opts->key_file, err, errlen) != 0) {
        goto out;
    }
    rc = tls_ctx_sid_ctx(ctx, opts, err, errlen);
    if (rc != 0) {
        goto out;
    }
    rc = -EIO;
    SSL_CTX_set_alpn_select_cb(ctx, tls_ctx_alpn_select, NULL);
    SSL_CTX_set_client_hello_cb(ctx, tls_ctx_client_hello, NULL);
    if (opts->require_client_cert) {
        if (tls_ctx_load_ca(ctx, opts->ca_file, err, errlen) != 0) {
            goto out;
        }
        names = SSL_load_client_CA_file(opts->ca_file);
        if (names == NULL) {
            tls_ctx_fail(err, errlen, "reading CA names from", opts->ca_file);
            goto out;
        }
        SSL_CTX_set_client_CA_list(ctx, names); /* takes ownership */
        names = NULL;
        if (opts->crl_file != NULL && opts->crl_file[0] != '\0') {
            rc = tls_ctx_load_crl(ctx, opts->crl_file, err, errlen);
            if (rc != 0) {
                goto out;
            }
            rc = -EIO;
        }
        /* No verify callback: OpenSSL's verdict stands. */
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        SSL_CTX_set_verify_depth(ctx, TLS_CTX_VERIFY_DEPTH);
        param = SSL_CTX_get0_param(ctx);
        if (X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_CLIENT) != 1 ||
            X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT) != 1 ||
            X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_PARTIAL_CHAIN) != 1) {
            tls_ctx_fail(err, errlen, "setting verification parameters", NULL);
            goto out;
        }
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    *out = ctx;
    ctx = NULL;
    rc = 0;
out:
    OPENSSL_free(alpn);
    SSL_CTX_free(ctx);
    return rc;
}

int tls_ctx_client_new(const struct tls_ctx_opts *opts, SSL_CTX **out, char *err, size_t errlen)
{
    SSL_CTX *ctx = NULL;
    struct tls_ctx_alpn alpn;
    X509_VERIFY_PARAM *param;
    int rc = -EINVAL;

    tls_ctx_msg(err, errlen, "");
    ERR_clear_error();
    if (opts == NULL || out == NULL || opts->ca_file == NULL ||
        (opts->cert_file == NULL) != (opts->key_file == NULL)) {
        tls_ctx_msg(err, errlen, "client TLS context needs ca_file, and cert_file with key_file");
        goto out;
    }
    if (tls_ctx_alpn_encode(opts->alpn, &alpn) != 0) {
        tls_ctx_msg(err, errlen, "ALPN protocol must be 1 to 255 bytes");
        goto out;
    }
    rc = -EIO;
    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        tls_ctx_fail(err, errlen, "creating the client TLS context", NULL);
        goto out;
    }
    if (tls_ctx_common(ctx, err, errlen) != 0) {
        goto out;
    }
    if (opts->cert_file != NULL &&
        tls_ctx_load_pair(ctx, opts->cert_file, opts->key_file, err, errlen) != 0) {
        goto out;
    }
    if (tls_ctx_load_ca(ctx, opts->ca_file, err, errlen) != 0) {
        goto out;
    }
    /* SSL_CTX_set_alpn_protos returns 0 on success. */
    if (SSL_CTX_set_alpn_protos(ctx, alpn.wire, (unsigned int)alpn.len) != 0) {
        tls_ctx_fail(err, errlen, "setting the ALPN protocol", NULL);
        goto out;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_verify_depth(ctx, TLS_CTX_VERIFY_DEPTH);
    param = SSL_CTX_get0_param(ctx);
    if (X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER) != 1 ||
        X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT) != 1) {
        tls_ctx_fail(err, errlen, "setting verification parameters", NULL);
        goto out;
    }
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    *out = ctx;
    ctx = NULL;
    rc = 0;
out:
    SSL_CTX_free(ctx);
    return rc;
}

static int tls_ctx_cn_char_ok(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '@' || ch == '-';
}

/* 1 if ca (a certificate of the context's trust store) issued and signed
 * x itself: names and key identifiers match, ca may sign certificates, and
 * x's signature verifies with ca's key. */
static int tls_ctx_issued_by(X509 *ca, X509 *x)
{
    EVP_PKEY *key;

    if (X509_check_issued(ca, x) != X509_V_OK) {
        return 0;
    }
    key = X509_get0_pubkey(ca);
    if (key == NULL || X509_verify(x, key) != 1) {
        ERR_clear_error();
        return 0;
    }
    return 1;
}

/* 1 if a certificate of ctx's trust store (the --ca file) issued x
 * directly. */
static int tls_ctx_issued_by_anchor(SSL_CTX *ctx, X509 *x)
{
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    STACK_OF(X509_OBJECT) * objs;
    int found = 0;

    if (store == NULL || X509_STORE_lock(store) != 1) {
        return 0;
    }
    objs = X509_STORE_get0_objects(store);
    for (int i = 0; objs != NULL && i < sk_X509_OBJECT_num(objs) && !found; i++) {
        X509 *ca = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));

        found = ca != NULL && tls_ctx_issued_by(ca, x);
    }
    X509_STORE_unlock(store);
    return found;
}

int tls_ctx_peer_check(SSL *ssl, char *why, size_t whylen)
{
    X509 *peer;
    uint32_t flags;
    const char *reason = NULL;

    tls_ctx_msg(why, whylen, "");
    if (ssl == NULL) {
        return ERROR_NO_PEER_CERT;
    }
    peer = SSL_get0_peer_certificate(ssl);
    if (peer == NULL || SSL_get_verify_result(ssl) != X509_V_OK) {
        tls_ctx_msg(why, whylen, "no verified client certificate");
        return ERROR_NO_PEER_CERT;
    }
    /* OpenSSL's sslclient purpose lets a CA certificate act as a client, and
     * a CA without pathlen lets a certificate it signed verify too: whoever
     * holds a CA:TRUE certificate from the deployment CA could mint any
     * user. So the rule is checked here, on the certificate itself, at
     * every handshake (resumed ones too: the session keeps the peer's
     * certificate), without relying on the CA's pathlen. */
    flags = X509_get_extension_flags(peer);
    if (X509_check_ca(peer) != 0 || (flags & EXFLAG_CA) != 0) {
        reason = "the client certificate is a CA certificate (basicConstraints CA:TRUE or "
                 "keyUsage keyCertSign); a user needs an end-entity certificate (CA:FALSE)";
    } else if ((flags & EXFLAG_KUSAGE) == 0 ||
               (X509_get_key_usage(peer) & KU_DIGITAL_SIGNATURE) == 0) {
        reason = "the client certificate's keyUsage does not have digitalSignature";
    } else if ((flags & EXFLAG_XKUSAGE) == 0 ||
               (X509_get_extended_key_usage(peer) & XKU_SSL_CLIENT) == 0) {
        reason = "the client certificate's extendedKeyUsage does not have clientAuth";
    } else if (!tls_ctx_issued_by_anchor(SSL_get_SSL_CTX(ssl), peer)) {
        reason = "the client certificate is not issued directly by the deployment CA (--ca); "
                 "certificates issued by an intermediate CA are refused unless that CA is "
                 "in the --ca file";
    }
    if (reason != NULL) {
        tls_ctx_msg(why, whylen, reason);
        return -EPERM;
    }
    return 0;
}

int tls_ctx_peer_identity(SSL *ssl, char *cn, size_t cnlen)
{
    X509 *peer;
    X509_NAME *subject;
    X509_NAME_ENTRY *entry;
    const ASN1_STRING *data;
    const unsigned char *bytes;
    int idx;
    int len;
    int i;
    int rc;

    if (cn != NULL && cnlen > 0) {
        cn[0] = '\0';
    }
    if (ssl == NULL) {
        return ERROR_NO_PEER_CERT;
    }
    /* Both: verify_result is X509_V_OK when no certificate was sent. */
    peer = SSL_get0_peer_certificate(ssl);
    if (peer == NULL || SSL_get_verify_result(ssl) != X509_V_OK) {
        return ERROR_NO_PEER_CERT;
    }
    rc = tls_ctx_peer_check(ssl, NULL, 0);
    if (rc < 0) {
        return rc;
    }
    subject = X509_get_subject_name(peer);
    if (subject == NULL) {
        return -EINVAL;
    }
    idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (idx < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, idx) >= 0) {
        return -EINVAL; /* none, or more than one: ambiguous */
    }
    entry = X509_NAME_get_entry(subject, idx);
    data = X509_NAME_ENTRY_get_data(entry);
    if (data == NULL) {
        return -EINVAL;
    }
    bytes = ASN1_STRING_get0_data(data);
    len = ASN1_STRING_length(data);
    if (bytes == NULL || len <= 0 || len > TLS_CTX_CN_MAX || cn == NULL || (size_t)len >= cnlen) {
        return -EINVAL;
    }
    /* Multi-byte encodings (BMPString ...) fail here on their zero bytes. */
    for (i = 0; i < len; i++) {
        if (!tls_ctx_cn_char_ok(bytes[i])) {
            return -EINVAL;
        }
    }
    memcpy(cn, bytes, (size_t)len);
    cn[len] = '\0';
    return 0;
}
