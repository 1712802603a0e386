/*
 * certissue: makes a user's client certificate with the deployment CA, for
 * `coachqd cert issue`. The same kind of certificate as certs/coachq-certs
 * makes: an EC P-256 key, subject CN = the user id, extended key usage
 * clientAuth, signed by the CA with SHA-256.
 */
#ifndef COACHQ_CERTISSUE_H
#define COACHQ_CERTISSUE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Issues a certificate for user (a validate_id() id) valid for days days
 * from now, signed by the CA in ca_cert / ca_key (PEM paths). Writes
 * out_dir/<user>.crt and out_dir/<user>.key (the key mode 0600; existing
 * files are not overwritten: -EEXIST), and the certificate's SHA-256 over
 * its DER encoding into sha256. Returns 0 or a negative code, with a
 * message for the operator in err (errlen bytes).
 */
int certissue_user(const char *ca_cert, const char *ca_key, const char *user, int days,
                   const char *out_dir, uint8_t sha256[32], char *err, size_t errlen);

/* SHA-256 of the DER encoding of the first certificate in the PEM file at
 * path (for pinning an existing certificate). Returns 0 or a negative code
 * with a message in err. */
int certissue_fingerprint_file(const char *path, uint8_t sha256[32], char *err, size_t errlen);

#endif
