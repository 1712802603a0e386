/*
 * tls_ctx: the OpenSSL contexts coachq uses, configured once, in one place.
 *
 * A server context for the protocol port requires a client certificate
 * signed directly by the deployment CA and verifies it the strict way (depth 2,
 * purpose sslclient, X509_V_FLAG_X509_STRICT, the CA file as the only trust
 * anchor, no verify callback that could override OpenSSL's verdict, no
 * partial chains). A server context for the dashboard port asks for no
 * certificate. Both: TLS 1.2 minimum, TLS 1.2 suites AEAD-only with ECDHE,
 * server preference, no compression, no renegotiation, their own session-id
 * context, and an ALPN protocol the client must offer (on the dashboard
 * port a client that offers no ALPN at all is taken as HTTP/1.1).
 *
 * A client context presents a user certificate, trusts only the deployment
 * CA and checks the server's host name or IP.
 *
 * Contexts are created on one thread and may then be shared read-only.
 */
#ifndef COACHQ_TLS_CTX_H
#define COACHQ_TLS_CTX_H

#include <stddef.h>
#include <openssl/ssl.h>

struct tls_ctx_opts {
    const char *cert_file;   /* PEM certificate (chain); borrowed for the call */
    const char *key_file;    /* PEM private key; borrowed for the call */
    const char *ca_file;     /* PEM deployment CA; borrowed for the call */
    const char *crl_file;    /* server with client certificates only: NULL or "" = none;
                                else PEM CRLs, one from each CA of ca_file that issues
                                client certificates; borrowed for the call */
    const char *alpn;        /* one ALPN protocol, e.g. "coachq/1" */
    int require_client_cert; /* server only: 1 on the protocol port */
    int alpn_optional;       /* server only: a client offering no ALPN at all is taken
                                (dashboard port, RFC 7301); one offering other
                                protocols only is still refused */
};

/*
 * Creates a server context. With a CRL file (protocol port), every CRL in it
 * must be signed by a certificate of the CA file and be current (its
 * nextUpdate not passed), or the context is not made; a client certificate
 * a CRL revokes is then refused in the handshake (alert
 * certificate_revoked), as is one whose issuer has no CRL in the file.
 * Contexts are never changed once made: a reload makes a new one. On success *out is set (caller
 * owns, free with SSL_CTX_free()) and 0 is returned; on failure returns -EINVAL or -EIO and writes
 * a message naming the file and OpenSSL's reason into err (size errlen, always NUL-terminated).
 */
int tls_ctx_server_new(const struct tls_ctx_opts *opts, SSL_CTX **out, char *err, size_t errlen);

/* Creates a client context; as tls_ctx_server_new(). cert/key may be NULL
 * to connect without a client certificate (tests of refusal use this). */
int tls_ctx_client_new(const struct tls_ctx_opts *opts, SSL_CTX **out, char *err, size_t errlen);

/*
 * After a completed handshake on a protocol-port connection (resumed ones
 * included): checks that the peer presented a verified certificate that is
 * an end-entity client certificate: not a CA (no basicConstraints CA:TRUE,
 * no keyUsage keyCertSign), keyUsage with digitalSignature,
 * extendedKeyUsage with clientAuth, and issued and signed directly by a
 * certificate of the context's CA file (an intermediate CA is accepted as
 * an issuer only when it is in that file itself). The CA's pathlen is not
 * relied on. Returns 0, ERROR_NO_PEER_CERT (none, or not verified) or
 * -EPERM, with the reason in why (size whylen; may be NULL). ssl is
 * borrowed for the call.
 */
int tls_ctx_peer_check(SSL *ssl, char *why, size_t whylen);

/*
 * As tls_ctx_peer_check(), then copies the certificate's subject CN into cn
 * (size cnlen). Returns 0, ERROR_NO_PEER_CERT, -EPERM (not an end-entity
 * client certificate issued directly by the CA), or -EINVAL (no CN, CN too
 * long or with bytes outside [A-Za-z0-9._@-]). ssl is borrowed for the call.
 */
int tls_ctx_peer_identity(SSL *ssl, char *cn, size_t cnlen);

/*
 * Drains OpenSSL's error queue of the calling thread into buf (size buflen,
 * always NUL-terminated) as one line, for one log line. Returns buf.
 */
const char *tls_ctx_errors(char *buf, size_t buflen);

#endif
