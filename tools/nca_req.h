/* What a token signs in NCA's flows, built and checked here without any private key:
 * PKCS#10 requests whose signature comes from a callback (the token's C_Sign), the
 * login challenge of NCA's site, and the signed revocation request. All signatures are
 * SHA256withRSA (PKCS#1 v1.5), NCA's RSA algorithm. */
#ifndef VTOKEN_NCA_REQ_H
#define VTOKEN_NCA_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

/* Sign data with SHA256withRSA: write the signature to sig (capacity *sig_len on
 * entry, length on return). Returns 0, or non-zero with the reason already reported
 * by the callback's owner. */
typedef int (*nca_sign_fn)(void *arg, const uint8_t *data, size_t len, uint8_t *sig,
                           size_t *sig_len);
#define NCA_SIG_MAX 512 /* RSA-4096 */

/* A PKCS#10 request for subject and pub whose signature over the
 * CertificationRequestInfo comes from sign(arg, ...). NULL with err filled on failure
 * (a callback failure leaves err empty: its owner has said why). */
X509_REQ *nca_csr_build(const X509_NAME *subject, EVP_PKEY *pub, nca_sign_fn sign, void *arg,
                        char *err, size_t errcap);

/* true when data carries a valid SHA256withRSA signature by the key of cert. */
bool nca_verify_sha256_rsa(X509 *cert, const uint8_t *data, size_t len, const uint8_t *sig,
                           size_t sig_len);

/* NCA's site asks the AUTH key to sign a fresh challenge. Ours is one line of text:
 * "vtoken-nca-login nonce=<64 hex> time=<ISO 8601 UTC>", 32 random bytes from
 * OpenSSL's generator (the site's, not the token's). */
#define NCA_CHALLENGE_MAX 160
bool nca_challenge_new(char out[NCA_CHALLENGE_MAX]);

/* A revocation request: which certificate, why, when, and by whom (the serial of the
 * AUTH certificate whose key signs it). Its text, signed as is:
 *   vtoken-nca-revoke
 *   serial: <hex>
 *   reason: <RFC 5280 name>
 *   time: <ISO 8601 UTC>
 *   signer: <hex>
 */
typedef struct nca_revreq {
    char serial[81];
    char reason[32];
    char time[32];
    char signer[81];
} nca_revreq;

/* The text to sign (NUL-terminated), or false when it does not fit. */
bool nca_revreq_text(const nca_revreq *r, char *out, size_t cap);
/* Parse the text back; false on anything but exactly that form. */
bool nca_revreq_parse(const char *text, nca_revreq *r);

/* RFC 5280 CRL reasons by name ("keyCompromise" -> 1); -1 when unknown. */
int nca_reason_code(const char *name);
/* The names, for --help and error messages: "unspecified, keyCompromise, ..." */
const char *nca_reason_list(void);

#endif
