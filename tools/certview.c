/* Certificates for people: what `vtoken show` prints for each certificate object,
 * including NCALayer's key-entry form. Parsing is OpenSSL's; only the presentation
 * choices are ours (UTF-8 names, Java-style serial hex). */
#include "certview.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vt_util.h"

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* RFC 2253-style "CN=..., O=..." in the certificate's own RDN order, UTF-8 kept as is. */
static char *name_text(const X509_NAME *name)
{
    unsigned long flags = (XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN | ASN1_STRFLGS_RFC2253) &
                          ~(unsigned long)ASN1_STRFLGS_ESC_MSB;
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL, *out = NULL;
    long n;

    if (!b)
        return NULL;
    if (X509_NAME_print_ex(b, name, 0, flags) >= 0) {
        n = BIO_get_mem_data(b, &data);
        out = malloc((size_t)n + 1);
        if (out) {
            memcpy(out, data, (size_t)n);
            out[n] = '\0';
        }
    }
    BIO_free(b);
    return out;
}

static char *first_cn(const X509_NAME *name)
{
    int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    unsigned char *utf8 = NULL;
    char *out;
    int n;

    if (i < 0)
        return dup_str("");
    n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (n < 0)
        return dup_str("");
    out = malloc((size_t)n + 1);
    if (out) {
        memcpy(out, utf8, (size_t)n);
        out[n] = '\0';
    }
    OPENSSL_free(utf8);
    return out;
}

/* BigInteger.toString(16): lower case, no leading zeros ("0" for zero). */
static char *serial_hex(const ASN1_INTEGER *serial)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
    char *hex, *p, *out;

    if (!bn)
        return NULL;
    hex = BN_bn2hex(bn);
    BN_free(bn);
    if (!hex)
        return NULL;
    p = hex;
    if (*p == '-')
        p++; /* negative serials exist in the wild; keep the sign in front */
    while (p[0] == '0' && p[1] != '\0')
        p++;
    out = malloc(strlen(p) + 2);
    if (out) {
        snprintf(out, strlen(p) + 2, "%s%s", hex[0] == '-' ? "-" : "", p);
        for (char *c = out; *c; c++)
            if (*c >= 'A' && *c <= 'F')
                *c = (char)(*c - 'A' + 'a');
    }
    OPENSSL_free(hex);
    return out;
}

static void time_text(const ASN1_TIME *t, char *out, size_t cap)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) {
        snprintf(out, cap, "?");
        return;
    }
    /* strftime, not snprintf: the fields are bounded, and -O2's truncation check
     * cannot see that through int arithmetic. */
    if (strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, cap, "?");
}

static void key_text(X509 *x, cert_view *v)
{
    X509_PUBKEY *pub = X509_get_X509_PUBKEY(x);
    ASN1_OBJECT *alg = NULL;
    EVP_PKEY *pk;

    if (pub && X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, pub) == 1 && alg) {
        switch (OBJ_obj2nid(alg)) {
        case NID_rsaEncryption:
            snprintf(v->key_alg, sizeof(v->key_alg), "RSA");
            break;
        case NID_X9_62_id_ecPublicKey:
            snprintf(v->key_alg, sizeof(v->key_alg), "EC");
            break;
        default:
            OBJ_obj2txt(v->key_alg, sizeof(v->key_alg), alg, 1);
        }
    }
    /* GOST keys do not decode without a GOST provider; bits then stay unknown. */
    pk = X509_get0_pubkey(x);
    if (pk)
        v->key_bits = EVP_PKEY_get_bits(pk);
}

static char *ski_hex(X509 *x)
{
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
    char *out;

    if (!ski)
        return dup_str("");
    out = malloc(2 * (size_t)ASN1_STRING_length(ski) + 1);
    if (out)
        vt_hex_encode(ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski), out);
    return out;
}

bool cert_view_parse(const uint8_t *der, size_t len, cert_view *v)
{
    const unsigned char *p = der;
    X509 *x;

    memset(v, 0, sizeof(*v));
    x = d2i_X509(NULL, &p, (long)len);
    if (!x || p != der + len) {
        X509_free(x);
        return false;
    }
    v->subject = name_text(X509_get_subject_name(x));
    v->issuer = name_text(X509_get_issuer_name(x));
    v->cn = first_cn(X509_get_subject_name(x));
    v->serial = serial_hex(X509_get0_serialNumber(x));
    v->ski = ski_hex(x);
    time_text(X509_get0_notBefore(x), v->not_before, sizeof(v->not_before));
    time_text(X509_get0_notAfter(x), v->not_after, sizeof(v->not_after));
    v->expired = X509_cmp_current_time(X509_get0_notAfter(x)) < 0;
    v->not_yet_valid = X509_cmp_current_time(X509_get0_notBefore(x)) > 0;
    key_text(x, v);
    X509_free(x);
    if (!v->subject || !v->issuer || !v->cn || !v->serial || !v->ski)
        goto fail;
    return true;
fail:
    cert_view_free(v);
    return false;
}

char *cert_view_entry(const cert_view *v, const char *alias_fallback)
{
    const char *alias = v->ski && v->ski[0] ? v->ski : alias_fallback ? alias_fallback : "";
    size_t n = strlen(v->key_alg) + strlen(v->cn) + strlen(v->serial) + strlen(alias) + 4;
    char *e = malloc(n);
    if (e)
        snprintf(e, n, "%s|%s|%s|%s", v->key_alg, v->cn, v->serial, alias);
    return e;
}

void cert_view_free(cert_view *v)
{
    free(v->subject);
    free(v->issuer);
    free(v->cn);
    free(v->serial);
    free(v->ski);
    memset(v, 0, sizeof(*v));
}
