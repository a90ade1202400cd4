/* A certificate as the token commands show it: names in UTF-8, serial, validity, key,
 * SubjectKeyIdentifier, and NCALayer's key-entry form alg|CN|serialHex|alias (the
 * legacy Applet's getKeys; research/tokens.md section 7), where alias = the SKI in hex,
 * which is also the friendlyName of NCA's PKCS#12 files. */
#ifndef VTOKEN_CERTVIEW_H
#define VTOKEN_CERTVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cert_view {
    char *subject; /* "CN=ТЕСТОВ ТЕСТ, SN=ТЕСТОВ, ..." in the certificate's RDN order */
    char *issuer;
    char *cn;     /* the subject's first commonName, "" when none */
    char *serial; /* lower-case hex without leading zeros, as Java's BigInteger prints */
    char not_before[32], not_after[32]; /* "2020-01-28T06:23:03Z" */
    bool expired, not_yet_valid;
    char key_alg[64]; /* "RSA", "EC", or the algorithm's OID */
    int key_bits;     /* 0 when unknown */
    char *ski;        /* lower-case hex, "" when the certificate has none */
} cert_view;

/* NCALayer's key entry, "RSA|ТЕСТОВ ТЕСТ|391759e5...|b2c70a9f...", with alias_fallback
 * as the alias when the certificate has no SKI (a token's CKA_ID, a file's friendlyName):
 * malloc'd, NULL on OOM. */
char *cert_view_entry(const cert_view *v, const char *alias_fallback);

/* False when der is not an X.509 certificate (or memory ran out). */
bool cert_view_parse(const uint8_t *der, size_t len, cert_view *out);
void cert_view_free(cert_view *v);

#endif
