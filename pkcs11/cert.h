/* X.509, RSA and EC public-key helpers over OpenSSL: the fields C_CreateObject derives
 * from a certificate, SubjectPublicKeyInfo encoding, and public keys for software
 * verify / encrypt. */
#ifndef P11_CERT_H
#define P11_CERT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "p11.h"
#include "vt_util.h"

typedef struct p11_cert_fields {
    vt_buf subject;  /* DER Name */
    vt_buf issuer;   /* DER Name */
    vt_buf serial;   /* DER INTEGER (tag and length included, as CKA_SERIAL_NUMBER) */
    vt_buf spki;     /* DER SubjectPublicKeyInfo */
    vt_buf modulus;  /* RSA keys only: big-endian, no leading zero */
    vt_buf exponent; /* RSA keys only */
} p11_cert_fields;

/* CKR_ATTRIBUTE_VALUE_INVALID when der is not one complete X.509 certificate. */
CK_RV p11_cert_parse(const uint8_t *der, size_t len, p11_cert_fields *out);
void p11_cert_fields_free(p11_cert_fields *f);

EVP_PKEY *p11_rsa_public_key(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen);
CK_RV p11_rsa_spki(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen, vt_buf *out);
/* Modulus length in bits, ignoring leading zero bytes. */
CK_ULONG p11_rsa_modulus_bits(const uint8_t *n, size_t nlen);

/* An EC public key from CKA_EC_PARAMS (a named curve's OID, DER) and CKA_EC_POINT (the
 * DER OCTET STRING around the point; a bare point is accepted too). NULL when either
 * is malformed or the curve is unknown. */
EVP_PKEY *p11_ec_public_key(const uint8_t *params, size_t plen, const uint8_t *point,
                            size_t ptlen);
/* Bytes in an ECDSA signature (r || s, each as long as the group order) on the named
 * curve of CKA_EC_PARAMS; 0 when the curve is unknown. */
size_t p11_ec_sig_len(const uint8_t *params, size_t plen);

#endif
