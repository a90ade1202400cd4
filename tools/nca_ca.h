/* The local test CA of `vtoken nca`: a stand-in for NCA's "ҰКО 3.0 (RSA TEST)" that
 * lives in <home>/ca and issues NCA-profile certificates for keys made on tokens.
 *
 *   ca/ca.key      the CA's RSA-2048 key (PEM, 0600; a test key, not protected)
 *   ca/ca.crt      its self-signed certificate "C=KZ, CN=ҰКО 3.0 (RSA TEST) [vtoken]"
 *   ca/serial      the next serial number (hex; 20 bytes, as NCA's serials)
 *   ca/index       one line per issued certificate: status, dates, template, subject
 *   ca/crl.pem     the CRL, rewritten after every revocation
 *   ca/certs/      a copy of every issued certificate (<serial>.pem)
 *   ca/requests/   the signed revocation requests the CA accepted
 *
 * Every file is written atomically; an existing CA is never overwritten (a half-made
 * one, a key without its certificate, is completed from that key). Operations that
 * change the CA take an flock on ca/.lock, so several `vtoken` processes may share it. */
#ifndef VTOKEN_NCA_CA_H
#define VTOKEN_NCA_CA_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "nca_profile.h"

#define NCA_CA_DIR  "ca"
#define NCA_CA_NAME "ҰКО 3.0 (RSA TEST) [vtoken]"

typedef struct nca_ca nca_ca;

/* One line of the index. */
#define NCA_SERIAL_HEX_MAX 80
typedef struct nca_ca_entry {
    char serial[NCA_SERIAL_HEX_MAX + 1]; /* lower-case hex, no leading zeros */
    bool revoked;
    char issued[32], not_after[32]; /* ISO 8601 UTC */
    char revoked_at[32];            /* "" when not revoked */
    char reason[32];                /* RFC 5280 name; "" when not revoked */
    nca_template tmpl;
    char ski[2 * NCA_SKI_LEN + 1];
    char subject[512]; /* one line, RDNs in encoding order, UTF-8 */
} nca_ca_entry;

/* Open the CA of a home directory, creating it on first use (*created tells).
 * Returns 0, or non-zero with err filled. */
int nca_ca_open(const char *home_dir, nca_ca **out, bool *created, char *err, size_t errcap);
void nca_ca_close(nca_ca *ca);
const char *nca_ca_dir(const nca_ca *ca);
X509 *nca_ca_cert(const nca_ca *ca);

/* Issue a certificate for a PKCS#10 request: its signature must verify (the requester
 * holds the key), its key be RSA of 2048 bits or more and its subject carry an IIN
 * SERIALNUMBER and a CN. The certificate gets the template's extensions and the media's
 * validity; it is recorded in the index and in certs/. *out is the caller's. */
int nca_ca_issue(nca_ca *ca, X509_REQ *req, nca_template t, nca_media m, X509 **out, char *err,
                 size_t errcap);

/* The index line of a serial (hex, any case, leading zeros and ':' ignored). */
bool nca_ca_lookup(nca_ca *ca, const char *serial, nca_ca_entry *out);

/* What the CA says about a certificate. */
typedef enum nca_cert_state {
    NCA_CERT_VALID,
    NCA_CERT_REVOKED,
    NCA_CERT_EXPIRED, /* or not yet valid */
    NCA_CERT_FOREIGN, /* not issued by this CA (NCA's own test files, say) */
    NCA_CERT_UNKNOWN, /* signed by this CA's key but missing from its index */
} nca_cert_state;
const char *nca_cert_state_name(nca_cert_state s); /* "valid", "revoked", ... */

/* Chain (the certificate's signature by this CA), validity period, then the index.
 * *entry is filled when the index has the serial (may be NULL). */
nca_cert_state nca_ca_check(nca_ca *ca, X509 *cert, nca_ca_entry *entry);

/* A signed revocation request (nca_req.h text + SHA256withRSA signature). The CA
 * checks: the signer is a valid AUTH certificate it issued, the signature verifies with
 * it, the target exists, belongs to the same IIN and is not revoked yet. Then it marks
 * the target revoked, keeps the request in requests/ and rewrites the CRL. *out is the
 * target's new index line. */
int nca_ca_revoke_request(nca_ca *ca, const char *text, const uint8_t *sig, size_t sig_len,
                          nca_ca_entry *out, char *err, size_t errcap);

/* Revocation decided by the CA itself (reason "superseded" when a reissue replaces a
 * set). Revoking a revoked certificate is not an error. */
int nca_ca_revoke(nca_ca *ca, const char *serial, const char *reason, char *err, size_t errcap);

/* ---- the index file (nca_index.c) -------------------------------------------------- */

typedef struct nca_index {
    nca_ca_entry *v;
    size_t n;
} nca_index;

/* Read <dir>/index (missing file: empty index). Returns 0 or non-zero with err. */
int nca_index_load(const char *ca_dir, nca_index *idx, char *err, size_t errcap);
/* Replace <dir>/index atomically with idx. */
int nca_index_save(const char *ca_dir, const nca_index *idx, char *err, size_t errcap);
int nca_index_append(nca_index *idx, const nca_ca_entry *e);
nca_ca_entry *nca_index_find(nca_index *idx, const char *serial);
void nca_index_free(nca_index *idx);
/* Canonical form of a serial as typed: lower-case hex without ':' and leading zeros.
 * false when s is not hex. */
bool nca_serial_canon(const char *s, char *out, size_t cap);

/* An exclusive flock on <dir>/.lock: returns the descriptor (>= 0), or -1 with err. */
int nca_ca_lock(const char *ca_dir, char *err, size_t errcap);
void nca_ca_unlock(int fd);

#endif
