/* NCA's certificate profile for individuals (research/tokens.md section 9), as the test
 * CA of `vtoken nca` issues it and as the flows recognise it on a token: the subject's
 * RDNs in NCA's order and string types, the AUTH and SIGN extensions, validity per
 * media, and the SubjectKeyIdentifier NCA uses as the key's alias and CKA_ID. */
#ifndef VTOKEN_NCA_PROFILE_H
#define VTOKEN_NCA_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* The two key sets NCA issues to a person. */
typedef enum nca_template {
    NCA_TEMPLATE_NONE = 0, /* a certificate that is neither (not NCA's, or a CA) */
    NCA_TEMPLATE_AUTH,     /* login / TLS client: digitalSignature + keyEncipherment */
    NCA_TEMPLATE_SIGN,     /* legal signature: digitalSignature + nonRepudiation */
} nca_template;

const char *nca_template_name(nca_template t); /* "AUTH", "SIGN", "-" */
/* "AUTH" / "SIGN" in any letter case; NCA_TEMPLATE_NONE otherwise. */
nca_template nca_template_parse(const char *s);

/* Where the keys live: NCA issues 3-year certificates on hardware media and 1-year
 * certificates in the file store (research/tokens.md 9, source S40). */
typedef enum nca_media { NCA_MEDIA_TOKEN, NCA_MEDIA_FILE } nca_media;
int nca_media_validity_days(nca_media m); /* 1095 or 365 */
const char *nca_media_name(nca_media m);  /* "token" / "file" */

/* A person as NCA names them. Strings are UTF-8. */
#define NCA_IIN_LEN 12
typedef struct nca_person {
    char iin[NCA_IIN_LEN + 1]; /* 12 digits */
    char name[256];            /* CN: "SURNAME NAME", e.g. "ТЕСТОВ ТЕСТ" */
    char patronymic[128];      /* GIVENNAME; "" when the person has none */
    char locality[128];        /* L */
    char region[128];          /* ST */
} nca_person;

/* Check a person's fields (12-digit IIN, a name of at least two words, UTF-8, no
 * control characters). false with a reason for a person in why. */
bool nca_person_check(const nca_person *p, char *why, size_t cap);

/* CN, SURNAME, SERIALNUMBER=IIN..., C=KZ, L, ST, [GIVENNAME]: one RDN each, in that
 * order, UTF8String except SERIALNUMBER and C (PrintableString), as in NCA's
 * certificates. NULL on failure (bad UTF-8 or memory). */
X509_NAME *nca_subject_name(const nca_person *p);

/* NCA's SubjectKeyIdentifier: SHA-1 over the whole DER SubjectPublicKeyInfo (not RFC
 * 5280's method 1: checked against NCA's test certificates). */
#define NCA_SKI_LEN 20
bool nca_ski(const EVP_PKEY *pub, uint8_t out[NCA_SKI_LEN]);

/* Add the end-entity extensions of a template to cert: keyUsage (critical), EKU with
 * NCA's individual role OID, authorityKeyIdentifier (ca_ski), subjectKeyIdentifier
 * (from cert's public key), certificatePolicies (individual sign 1.2.398.3.3.2.3 /
 * auth 1.2.398.3.3.2.4 with NCA's CPS qualifiers), in NCA's order. */
bool nca_profile_add_extensions(X509 *cert, nca_template t, const uint8_t ca_ski[NCA_SKI_LEN]);

/* What a certificate on a token is for, as NCALayer tells AUTHENTICATION from
 * SIGNATURE keys: EKU clientAuth -> AUTH, EKU emailProtection or keyUsage
 * nonRepudiation -> SIGN; CA certificates and anything else -> NONE. */
nca_template nca_cert_template(X509 *cert);

/* Fields for messages and --json: the subject's CN and "IIN..." SERIALNUMBER (empty
 * strings when absent), the serial number as lower-case hex, and the SKI extension
 * (false when the certificate has none). */
void nca_cert_cn(X509 *cert, char *out, size_t cap);
void nca_cert_iin(X509 *cert, char *out, size_t cap);
void nca_cert_serial_hex(X509 *cert, char *out, size_t cap);
bool nca_cert_ski(X509 *cert, uint8_t out[NCA_SKI_LEN]);
/* "2029-11-21T10:15:00Z" from an ASN1_TIME; "" when it cannot be read. */
void nca_time_iso(const ASN1_TIME *t, char *out, size_t cap);

#endif
