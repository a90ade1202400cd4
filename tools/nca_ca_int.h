/* Inside the test CA (nca_ca.c: creation, issuing, status; nca_ca_revoke.c:
 * revocations and the CRL): the handle and the file helpers both use. */
#ifndef VTOKEN_NCA_CA_INT_H
#define VTOKEN_NCA_CA_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "nca_ca.h"
#include "vt_util.h"

struct nca_ca {
    char dir[4096];
    EVP_PKEY *key;
    X509 *cert;
    uint8_t ski[NCA_SKI_LEN];
};

/* <ca dir>/<name>. */
void nca_ca_path(const nca_ca *ca, const char *name, char *out, size_t cap);
/* "2026-11-21T12:00:00Z" and back (false when s is not exactly that form). */
void nca_iso_of(time_t t, char *out, size_t cap);
bool nca_time_of_iso(const char *s, time_t *out);
/* A memory BIO's contents appended to out. */
int nca_bio_to_buf(BIO *bio, vt_buf *out);
/* Write (create: only when absent) a file atomically; err says why not. */
int nca_write_pem(const char *path, vt_buf *pem, unsigned mode, bool create, char *err,
                  size_t errcap);
X509 *nca_read_cert(const char *path, char *err, size_t errcap);
ASN1_INTEGER *nca_serial_of_hex(const char *hex);
/* Rewrite crl.pem from the index. Under the lock (or while creating the CA). */
int nca_ca_write_crl(nca_ca *ca, char *err, size_t errcap);

#endif
