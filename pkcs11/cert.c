/* Certificate parsing, RSA and EC public keys (OpenSSL 3 EVP, no deprecated calls). */
#include "cert.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

static CK_RV append_der(vt_buf *b, int len, unsigned char *der)
{
    if (len <= 0 || !der)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    bool ok = vt_buf_append(b, der, (size_t)len);
    OPENSSL_free(der);
    return ok ? CKR_OK : CKR_HOST_MEMORY;
}

static CK_RV append_bn(vt_buf *b, const BIGNUM *bn)
{
    int n = BN_num_bytes(bn);
    if (n <= 0)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (!vt_buf_reserve(b, (size_t)n))
        return CKR_HOST_MEMORY;
    BN_bn2bin(bn, b->data + b->len);
    b->len += (size_t)n;
    return CKR_OK;
}

void p11_cert_fields_free(p11_cert_fields *f)
{
    vt_buf_free(&f->subject);
    vt_buf_free(&f->issuer);
    vt_buf_free(&f->serial);
    vt_buf_free(&f->spki);
    vt_buf_free(&f->modulus);
    vt_buf_free(&f->exponent);
}

CK_RV p11_cert_parse(const uint8_t *der, size_t len, p11_cert_fields *out)
{
    const unsigned char *p = der;
    X509 *x = NULL;
    EVP_PKEY *pk = NULL;
    BIGNUM *n = NULL, *e = NULL;
    unsigned char *enc = NULL;
    int elen;
    CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;

    memset(out, 0, sizeof(*out));
    if (!der || len == 0 || len > 1024UL * 1024UL)
        goto out;
    x = d2i_X509(NULL, &p, (long)len);
    if (!x || p != der + len) /* trailing bytes: not one certificate */
        goto out;
    enc = NULL;
    elen = i2d_X509_NAME(X509_get_subject_name(x), &enc);
    if ((rv = append_der(&out->subject, elen, enc)) != CKR_OK)
        goto out;
    enc = NULL;
    elen = i2d_X509_NAME(X509_get_issuer_name(x), &enc);
    if ((rv = append_der(&out->issuer, elen, enc)) != CKR_OK)
        goto out;
    enc = NULL;
    elen = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &enc);
    if ((rv = append_der(&out->serial, elen, enc)) != CKR_OK)
        goto out;
    enc = NULL;
    elen = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &enc);
    if ((rv = append_der(&out->spki, elen, enc)) != CKR_OK)
        goto out;
    pk = X509_get_pubkey(x);
    if (pk && EVP_PKEY_is_a(pk, "RSA") && EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) &&
        EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e)) {
        if ((rv = append_bn(&out->modulus, n)) != CKR_OK ||
            (rv = append_bn(&out->exponent, e)) != CKR_OK)
            goto out;
    }
    rv = (out->subject.oom || out->issuer.oom) ? CKR_HOST_MEMORY : CKR_OK;
out:
    if (rv != CKR_OK)
        p11_cert_fields_free(out);
    BN_free(n);
    BN_free(e);
    EVP_PKEY_free(pk);
    X509_free(x);
    return rv;
}

EVP_PKEY *p11_rsa_public_key(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen)
{
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pk = NULL;
    BIGNUM *bn = NULL, *be = NULL;

    if (!n || !nlen || !e || !elen)
        goto out;
    bn = BN_bin2bn(n, (int)nlen, NULL);
    be = BN_bin2bn(e, (int)elen, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (!bn || !be || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
        goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pk = NULL;
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    return pk;
}

CK_RV p11_rsa_spki(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen, vt_buf *out)
{
    EVP_PKEY *pk = p11_rsa_public_key(n, nlen, e, elen);
    unsigned char *der = NULL;
    CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;
    if (!pk)
        goto out;
    int len = i2d_PUBKEY(pk, &der);
    rv = append_der(out, len, der);
out:
    EVP_PKEY_free(pk);
    return rv;
}

CK_ULONG p11_rsa_modulus_bits(const uint8_t *n, size_t nlen)
{
    while (nlen > 0 && *n == 0) {
        n++;
        nlen--;
    }
    if (nlen == 0)
        return 0;
    CK_ULONG bits = (CK_ULONG)(nlen - 1) * 8;
    for (uint8_t top = n[0]; top; top >>= 1)
        bits++;
    return bits;
}

/* The curve NID of CKA_EC_PARAMS: exactly one OBJECT IDENTIFIER (namedCurve). */
static int ec_params_nid(const uint8_t *params, size_t plen)
{
    const unsigned char *p = params;
    if (!params || plen == 0 || plen > 256)
        return NID_undef;
    ASN1_OBJECT *obj = d2i_ASN1_OBJECT(NULL, &p, (long)plen);
    int nid = obj && p == params + plen ? OBJ_obj2nid(obj) : NID_undef;
    ASN1_OBJECT_free(obj);
    return nid;
}

size_t p11_ec_sig_len(const uint8_t *params, size_t plen)
{
    int nid = ec_params_nid(params, plen);
    EC_GROUP *g = nid != NID_undef ? EC_GROUP_new_by_curve_name(nid) : NULL;
    int bits = g ? EC_GROUP_order_bits(g) : 0;
    EC_GROUP_free(g);
    return bits > 0 ? 2 * (((size_t)bits + 7) / 8) : 0;
}

EVP_PKEY *p11_ec_public_key(const uint8_t *params, size_t plen, const uint8_t *point, size_t ptlen)
{
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *op = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pk = NULL;
    ASN1_OCTET_STRING *os = NULL;
    const unsigned char *q = point;

    int nid = ec_params_nid(params, plen);
    const char *curve = nid != NID_undef ? OBJ_nid2sn(nid) : NULL;
    if (!curve || !point || ptlen == 0 || ptlen > 1024)
        goto out;
    /* PKCS#11 2.40 wants the point wrapped in an OCTET STRING; some tokens store the
     * bare point, whose first byte (04, 02, 03) is never the OCTET STRING tag. */
    if (point[0] == V_ASN1_OCTET_STRING) {
        os = d2i_ASN1_OCTET_STRING(NULL, &q, (long)ptlen);
        if (!os || q != point + ptlen)
            goto out;
        point = ASN1_STRING_get0_data(os);
        ptlen = (size_t)ASN1_STRING_length(os);
    }
    bld = OSSL_PARAM_BLD_new();
    if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curve, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, ptlen))
        goto out;
    op = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!op || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, op) <= 0)
        pk = NULL;
out:
    ASN1_OCTET_STRING_free(os);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(op);
    OSSL_PARAM_BLD_free(bld);
    return pk;
}
