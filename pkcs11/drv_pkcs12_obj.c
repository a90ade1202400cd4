/* The objects of a PKCS#12 token: each key of the open file as a private key and a
 * public key object, each certificate as a certificate object, named as NCA names them
 * (CKA_ID = the certificate's SubjectKeyIdentifier, CKA_LABEL = the bag's friendlyName,
 * which NCA sets to that identifier in lower-case hex). Writes go through the keystore,
 * which rewrites the file atomically: certificates (paired with their key by the
 * keystore), imported RSA keys, generated RSA key pairs, and removals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "drv_pkcs12.h"
#include "hash.h"
#include "objattr.h"
#include "trace.h"

/* ---- identities ---- */

/* The DER SubjectPublicKeyInfo of pk (into spki when non-NULL) and its SHA-1: the
 * SubjectKeyIdentifier NCA's CA puts in the key's certificate (the SHA-1 of the whole
 * SPKI, as NCA's test certificates show; not RFC 5280's method 1, which hashes the key
 * bits alone), so a key without a certificate already has its certificate's CKA_ID. Also
 * our reference. */
static bool pub_id(EVP_PKEY *pk, uint8_t out[20], vt_buf *spki)
{
    unsigned char *der = NULL;
    bool ok = false;

    int n = pk ? i2d_PUBKEY(pk, &der) : -1;
    if (n <= 0)
        goto out;
    p11_hash_oneshot(P11_SHA1, der, (size_t)n, out);
    ok = !spki || vt_buf_append(spki, der, (size_t)n);
out:
    OPENSSL_free(der);
    return ok;
}

static void cert_hash(ks_p12 *p, size_t j, uint8_t out[20])
{
    size_t len = 0;
    const uint8_t *der = ks_p12_cert_der(p, j, &len);
    p11_hash_oneshot(P11_SHA1, der, len, out);
}

static bool find_key(ks_p12 *p, const uint8_t hash[20], size_t *idx)
{
    uint8_t h[20];
    for (size_t i = 0; i < ks_p12_count(p, KS_P12_KEY); i++) {
        if (pub_id(ks_p12_key(p, i), h, NULL) && !memcmp(h, hash, 20)) {
            *idx = i;
            return true;
        }
    }
    return false;
}

static bool find_cert(ks_p12 *p, const uint8_t hash[20], size_t *idx)
{
    uint8_t h[20];
    for (size_t j = 0; j < ks_p12_count(p, KS_P12_CERT); j++) {
        cert_hash(p, j, h);
        if (!memcmp(h, hash, 20)) {
            *idx = j;
            return true;
        }
    }
    return false;
}

/* The certificate of a key (same public key), or -1. */
static long cert_of_key(ks_p12 *p, EVP_PKEY *key)
{
    for (size_t j = 0; key && j < ks_p12_count(p, KS_P12_CERT); j++) {
        X509 *x = ks_p12_cert(p, j);
        EVP_PKEY *pub = x ? X509_get0_pubkey(x) : NULL;
        if (pub && EVP_PKEY_eq(pub, key) == 1)
            return (long)j;
    }
    return -1;
}

static bool key_of_cert(ks_p12 *p, size_t j)
{
    X509 *x = ks_p12_cert(p, j);
    EVP_PKEY *pub = x ? X509_get0_pubkey(x) : NULL;
    for (size_t i = 0; pub && i < ks_p12_count(p, KS_P12_KEY); i++) {
        EVP_PKEY *k = ks_p12_key(p, i);
        if (k && EVP_PKEY_eq(pub, k) == 1)
            return true;
    }
    return false;
}

typedef struct p12_name {
    uint8_t id[64];
    size_t id_len;
    char label[2 * 64 + 1];
} p12_name;

static void set_id(p12_name *nm, const uint8_t *id, size_t len)
{
    nm->id_len = len > sizeof(nm->id) ? sizeof(nm->id) : len;
    memcpy(nm->id, id, nm->id_len);
}

/* A certificate's CKA_ID: its SubjectKeyIdentifier (NCA), else its localKeyID, else
 * the SHA-1 of its SubjectPublicKeyInfo (pub_id). */
static void cert_name(ks_p12 *p, size_t j, p12_name *nm)
{
    X509 *x = ks_p12_cert(p, j);
    const ASN1_OCTET_STRING *ski = x ? X509_get0_subject_key_id(x) : NULL;
    size_t len = 0;
    const uint8_t *lkid = ks_p12_local_key_id(p, KS_P12_CERT, j, &len);
    uint8_t h[20];
    if (ski && ASN1_STRING_length(ski) > 0)
        set_id(nm, ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski));
    else if (lkid && len)
        set_id(nm, lkid, len);
    else if (x && pub_id(X509_get0_pubkey(x), h, NULL))
        set_id(nm, h, sizeof(h));
    else
        nm->id_len = 0;
    const char *fn = ks_p12_friendly_name(p, KS_P12_CERT, j);
    if (fn && *fn)
        snprintf(nm->label, sizeof(nm->label), "%s", fn);
    else
        vt_hex_encode(nm->id, nm->id_len, nm->label);
}

/* A key's CKA_ID: its certificate's, so that the pair matches; without a certificate
 * its localKeyID, else pub_id (what the certificate's SubjectKeyIdentifier will be). */
static void key_name(ks_p12 *p, size_t i, long cert, const uint8_t pubhash[20], p12_name *nm)
{
    size_t len = 0;
    const uint8_t *lkid = ks_p12_local_key_id(p, KS_P12_KEY, i, &len);
    if (cert >= 0) {
        p12_name cn;
        cert_name(p, (size_t)cert, &cn);
        set_id(nm, cn.id, cn.id_len);
    } else if (lkid && len) {
        set_id(nm, lkid, len);
    } else {
        set_id(nm, pubhash, 20);
    }
    const char *fn = ks_p12_friendly_name(p, KS_P12_KEY, i);
    if (fn && *fn)
        snprintf(nm->label, sizeof(nm->label), "%s", fn);
    else
        vt_hex_encode(nm->id, nm->id_len, nm->label);
}

/* ---- attributes ---- */

static CK_RV set_bn(p11_attrs *a, CK_ATTRIBUTE_TYPE t, EVP_PKEY *pk, const char *param)
{
    BIGNUM *bn = NULL;
    uint8_t buf[1024];
    CK_RV rv = CKR_FUNCTION_FAILED;
    if (EVP_PKEY_get_bn_param(pk, param, &bn) && BN_num_bytes(bn) <= (int)sizeof(buf)) {
        int n = BN_bn2bin(bn, buf);
        rv = p11_attrs_set(a, t, buf, (CK_ULONG)n);
    }
    BN_free(bn);
    return rv;
}

/* CKA_EC_PARAMS (the named curve's OID) and, for the public key, CKA_EC_POINT (the
 * point in an OCTET STRING). Explicit curve parameters are not offered. */
static CK_RV set_ec(p11_attrs *a, EVP_PKEY *pk, bool point)
{
    char curve[80];
    unsigned char *der = NULL;
    uint8_t q[1 + 2 * 66];
    size_t qlen = 0;
    CK_RV rv = CKR_FUNCTION_FAILED;
    ASN1_OCTET_STRING *os = NULL;

    if (!EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof(curve), NULL))
        goto out;
    int nid = OBJ_sn2nid(curve);
    if (nid == NID_undef)
        nid = OBJ_ln2nid(curve);
    int n = nid != NID_undef ? i2d_ASN1_OBJECT(OBJ_nid2obj(nid), &der) : -1;
    if (n <= 0)
        goto out;
    rv = p11_attrs_set(a, CKA_EC_PARAMS, der, (CK_ULONG)n);
    OPENSSL_free(der);
    der = NULL;
    if (rv != CKR_OK || !point)
        goto out;
    rv = CKR_FUNCTION_FAILED;
    os = ASN1_OCTET_STRING_new();
    if (!EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, q, sizeof(q),
                                         &qlen) ||
        !os || !ASN1_OCTET_STRING_set(os, q, (int)qlen))
        goto out;
    n = i2d_ASN1_OCTET_STRING(os, &der);
    if (n > 0)
        rv = p11_attrs_set(a, CKA_EC_POINT, der, (CK_ULONG)n);
out:
    ASN1_OCTET_STRING_free(os);
    OPENSSL_free(der);
    return rv;
}

static CK_RV set_common(p11_attrs *a, CK_OBJECT_CLASS cls, const p12_name *nm, bool destroyable)
{
    CK_RV rv;
    /* Everything in a .p12 is encrypted under the password: every object is private,
     * and nothing is visible before login. The file keeps NCA's names, so nothing can
     * be renamed (CKA_MODIFIABLE false). */
    if ((rv = p11_attrs_set_ulong(a, CKA_CLASS, cls)) != CKR_OK ||
        (rv = p11_attrs_set_bool(a, CKA_TOKEN, true)) != CKR_OK ||
        (rv = p11_attrs_set_bool(a, CKA_PRIVATE, true)) != CKR_OK ||
        (rv = p11_attrs_set_bool(a, CKA_MODIFIABLE, false)) != CKR_OK ||
        (rv = p11_attrs_set_bool(a, CKA_DESTROYABLE, destroyable)) != CKR_OK ||
        (rv = p11_attrs_set(a, CKA_ID, nm->id, nm->id_len)) != CKR_OK)
        return rv;
    return p11_attrs_set(a, CKA_LABEL, nm->label, strlen(nm->label));
}

static void set_ref(p11_tobj *o, char kind, const uint8_t hash[20])
{
    o->ref[0] = (uint8_t)kind;
    memcpy(o->ref + 1, hash, 20);
    o->ref_len = P12_REF_LEN;
}

static bool was_generated(const p12_token *k, const uint8_t hash[20])
{
    size_t n = k->ngenerated < P12_MAX_GENERATED ? k->ngenerated : P12_MAX_GENERATED;
    for (size_t i = 0; i < n; i++)
        if (!memcmp(k->generated[i], hash, 20))
            return true;
    return false;
}

/* Key i as a private and a public key object. CKR_KEY_TYPE_INCONSISTENT for a key
 * this driver cannot use (GOST, Ed25519, explicit EC parameters): it stays in the file
 * but is not shown. */
static CK_RV key_objects(p12_token *k, ks_p12 *p, size_t i, p11_tobj *priv, p11_tobj *pub)
{
    EVP_PKEY *pk = ks_p12_key(p, i);
    uint8_t hash[20];
    vt_buf spki = {0}, subject = {0};
    p12_name nm;
    CK_KEY_TYPE kt;
    CK_RV rv = CKR_KEY_TYPE_INCONSISTENT;

    if (!pk)
        goto out;
    if (EVP_PKEY_is_a(pk, "RSA"))
        kt = CKK_RSA;
    else if (EVP_PKEY_is_a(pk, "EC"))
        kt = CKK_EC;
    else
        goto out;
    rv = CKR_HOST_MEMORY;
    if (!pub_id(pk, hash, &spki))
        goto out;
    long cert = cert_of_key(p, pk);
    key_name(p, i, cert, hash, &nm);
    if (cert >= 0) {
        unsigned char *der = NULL;
        int n = i2d_X509_NAME(X509_get_subject_name(ks_p12_cert(p, (size_t)cert)), &der);
        if (n > 0)
            vt_buf_append(&subject, der, (size_t)n);
        OPENSSL_free(der);
    }
    bool local = was_generated(k, hash);
    bool rsa = kt == CKK_RSA;
    for (int side = 0; side < 2; side++) {
        bool is_priv = side == 0;
        p11_attrs *a = is_priv ? &priv->attrs : &pub->attrs;
        /* Keys in a file were written there and can be read back with the password:
         * never "always sensitive" or "never extractable", whoever made them. */
        if ((rv = set_common(a, is_priv ? CKO_PRIVATE_KEY : CKO_PUBLIC_KEY, &nm, is_priv)) !=
                CKR_OK ||
            (rv = p11_attrs_set_ulong(a, CKA_KEY_TYPE, kt)) != CKR_OK ||
            (rv = p11_attrs_set_bool(a, CKA_LOCAL, local)) != CKR_OK ||
            (rv = p11_attrs_set_ulong(a, CKA_KEY_GEN_MECHANISM,
                                      local ? CKM_RSA_PKCS_KEY_PAIR_GEN
                                            : CK_UNAVAILABLE_INFORMATION)) != CKR_OK ||
            (rv = p11_attrs_set(a, CKA_PUBLIC_KEY_INFO, spki.data, spki.len)) != CKR_OK ||
            (rv = p11_attrs_set(a, CKA_SUBJECT, subject.data, subject.len)) != CKR_OK)
            goto out;
        if (rsa)
            rv = set_bn(a, CKA_MODULUS, pk, OSSL_PKEY_PARAM_RSA_N);
        if (rv == CKR_OK && rsa)
            rv = set_bn(a, CKA_PUBLIC_EXPONENT, pk, OSSL_PKEY_PARAM_RSA_E);
        if (rv == CKR_OK && !rsa)
            rv = set_ec(a, pk, !is_priv);
        if (rv != CKR_OK)
            goto out;
        if (is_priv) {
            if ((rv = p11_attrs_set_bool(a, CKA_SENSITIVE, true)) != CKR_OK ||
                (rv = p11_attrs_set_bool(a, CKA_EXTRACTABLE, false)) != CKR_OK ||
                (rv = p11_attrs_set_bool(a, CKA_ALWAYS_SENSITIVE, false)) != CKR_OK ||
                (rv = p11_attrs_set_bool(a, CKA_NEVER_EXTRACTABLE, false)) != CKR_OK ||
                (rv = p11_attrs_set_bool(a, CKA_SIGN, true)) != CKR_OK ||
                (rv = p11_attrs_set_bool(a, CKA_DECRYPT, rsa)) != CKR_OK)
                goto out;
            set_ref(priv, P12_REF_PRIV, hash);
        } else {
            if ((rv = p11_attrs_set_bool(a, CKA_VERIFY, true)) != CKR_OK ||
                (rv = p11_attrs_set_bool(a, CKA_ENCRYPT, rsa)) != CKR_OK)
                goto out;
            set_ref(pub, P12_REF_PUB, hash);
        }
    }
    rv = spki.oom || subject.oom ? CKR_HOST_MEMORY : CKR_OK;
out:
    vt_buf_free(&spki);
    vt_buf_free(&subject);
    return rv;
}

static CK_RV cert_object(ks_p12 *p, size_t j, p11_tobj *o)
{
    size_t len = 0;
    const uint8_t *der = ks_p12_cert_der(p, j, &len);
    uint8_t hash[20];
    p12_name nm;
    CK_RV rv;

    if (!der)
        return CKR_GENERAL_ERROR;
    cert_name(p, j, &nm);
    p11_hash_oneshot(P11_SHA1, der, len, hash);
    /* 1 = CK_CERTIFICATE_CATEGORY_TOKEN_USER: the token holds its private key. */
    if ((rv = set_common(&o->attrs, CKO_CERTIFICATE, &nm, true)) != CKR_OK ||
        (rv = p11_attrs_set_ulong(&o->attrs, CKA_CERTIFICATE_TYPE, CKC_X_509)) != CKR_OK ||
        (rv = p11_attrs_set_ulong(&o->attrs, CKA_CERTIFICATE_CATEGORY,
                                  key_of_cert(p, j) ? 1 : 0)) != CKR_OK ||
        (rv = p11_attrs_set(&o->attrs, CKA_VALUE, der, len)) != CKR_OK)
        return rv;
    set_ref(o, P12_REF_CERT, hash);
    return CKR_OK;
}

/* ---- listing ---- */

CK_RV p11_p12_list_objects(p11_token *t, p11_tobj **objs, size_t *n)
{
    p12_token *k = t->drv;
    ks_p12 *p = k->file;
    p11_tobj *v = NULL;
    size_t got = 0;
    CK_RV rv = CKR_OK;

    *objs = NULL;
    *n = 0;
    if (!p) /* before login the file is a sealed box */
        return CKR_OK;
    size_t nkeys = ks_p12_count(p, KS_P12_KEY), ncerts = ks_p12_count(p, KS_P12_CERT);
    if (nkeys + ncerts == 0)
        return CKR_OK;
    v = calloc(2 * nkeys + ncerts, sizeof(*v));
    if (!v)
        return CKR_HOST_MEMORY;
    ERR_set_mark();
    for (size_t i = 0; i < nkeys; i++) {
        rv = key_objects(k, p, i, &v[got], &v[got + 1]);
        if (rv == CKR_KEY_TYPE_INCONSISTENT) {
            p11_tobj_free(&v[got]);
            p11_tobj_free(&v[got + 1]);
            p11_trace_msg("pkcs12 %s: key %zu has an algorithm this token does not use; "
                          "it stays in the file, not shown",
                          k->name, i + 1);
            continue;
        }
        if (rv != CKR_OK)
            goto out;
        got += 2;
    }
    for (size_t j = 0; j < ncerts; j++) {
        rv = cert_object(p, j, &v[got]);
        if (rv != CKR_OK)
            goto out;
        got++;
    }
    rv = CKR_OK;
out:
    ERR_pop_to_mark();
    if (rv != CKR_OK) {
        p11_tobjs_free(v, 2 * nkeys + ncerts);
        return rv;
    }
    *objs = v;
    *n = got;
    return CKR_OK;
}

/* The listing's object with this reference, moved into out. */
static CK_RV object_by_ref(p11_token *t, char kind, const uint8_t hash[20], p11_tobj *out)
{
    p11_tobj *v = NULL;
    size_t n = 0;
    CK_RV rv = p11_p12_list_objects(t, &v, &n);
    if (rv != CKR_OK)
        return rv;
    rv = CKR_GENERAL_ERROR;
    for (size_t i = 0; i < n; i++) {
        if (v[i].ref_len == P12_REF_LEN && v[i].ref[0] == (uint8_t)kind &&
            !memcmp(v[i].ref + 1, hash, 20)) {
            *out = v[i];
            memset(&v[i], 0, sizeof(v[i]));
            rv = CKR_OK;
            break;
        }
    }
    p11_tobjs_free(v, n);
    return rv;
}

EVP_PKEY *p11_p12_key_of(p12_token *k, const p11_tobj *obj)
{
    size_t i;
    if (!k->file || obj->ref_len != P12_REF_LEN || obj->ref[0] != P12_REF_PRIV)
        return NULL;
    return find_key(k->file, obj->ref + 1, &i) ? ks_p12_key(k->file, i) : NULL;
}

/* ---- writing ---- */

static bool attr_differs(const p11_attrs *tmpl, CK_ATTRIBUTE_TYPE type, const p11_tobj *got)
{
    const p11_attr *want = p11_attrs_get(tmpl, type);
    const p11_attr *have = p11_attrs_get(&got->attrs, type);
    return want && want->len > 0 &&
           (!have || have->len != want->len || memcmp(have->value, want->value, want->len) != 0);
}

static CK_RV create_cert(p11_token *t, ks_p12 *p, const p11_attrs *tmpl, p11_tobj *out)
{
    p12_token *k = t->drv;
    const p11_attr *val = p11_attrs_get(tmpl, CKA_VALUE);
    size_t idx = 0, len = 0;
    uint8_t hash[20];

    if (!val || val->len == 0)
        return CKR_TEMPLATE_INCOMPLETE;
    ks_status st = ks_p12_add_cert(p, val->value, val->len, &idx);
    if (st == KS_ERR_CORRUPT) {
        p11_trace_msg("pkcs12 %s: %s", k->name, ks_p12_error(p));
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    CK_RV rv = p11_p12_rv(k, st, true, st != KS_OK ? ks_p12_error(p) : NULL);
    if (rv != CKR_OK)
        return rv;
    /* The keystore gave the certificate's key the same localKeyID and friendlyName:
     * that key's object changed too. */
    p11_p12_wrote(k, true);
    const uint8_t *der = ks_p12_cert_der(p, idx, &len);
    p11_hash_oneshot(P11_SHA1, der, len, hash);
    rv = object_by_ref(t, P12_REF_CERT, hash, out);
    if (rv == CKR_OK && (attr_differs(tmpl, CKA_ID, out) || attr_differs(tmpl, CKA_LABEL, out)))
        p11_trace_msg("pkcs12 %s: the certificate is named as NCA names it (CKA_ID = its "
                      "SubjectKeyIdentifier), not as the template asked",
                      k->name);
    return rv;
}

/* A copy of a template byte string as a C string, or NULL when absent or empty. */
static char *template_string(const p11_attrs *a, CK_ATTRIBUTE_TYPE type)
{
    const p11_attr *at = p11_attrs_get(a, type);
    if (!at || at->len == 0 || memchr(at->value, '\0', at->len))
        return NULL;
    return strndup(at->value, at->len);
}

static const p11_attr *template_id(const p11_attrs *a, const p11_attrs *b)
{
    const p11_attr *at = p11_attrs_get(a, CKA_ID);
    if ((!at || at->len == 0) && b)
        at = p11_attrs_get(b, CKA_ID);
    return at && at->len > 0 && at->len <= 64 ? at : NULL;
}

/* Add key to the file named by the templates' CKA_ID / CKA_LABEL (else NCA's names,
 * which the keystore gives: its future SKI, as pub_id, and its hex), and describe it. */
static CK_RV store_key(p11_token *t, ks_p12 *p, EVP_PKEY *key, const p11_attrs *tmpl,
                       const p11_attrs *other, bool generated, p11_tobj *priv, p11_tobj *pub)
{
    p12_token *k = t->drv;
    const p11_attr *id = template_id(tmpl, other);
    char *label = template_string(tmpl, CKA_LABEL);
    uint8_t hash[20];
    size_t idx = 0;
    CK_RV rv = CKR_HOST_MEMORY;

    if (!label && other)
        label = template_string(other, CKA_LABEL);
    if (!pub_id(key, hash, NULL))
        goto out;
    ks_status st = ks_p12_add_key(p, key, id ? id->value : NULL, id ? id->len : 0, label, &idx);
    rv = p11_p12_rv(k, st, true, st != KS_OK ? ks_p12_error(p) : NULL);
    if (rv != CKR_OK)
        goto out;
    if (generated) {
        memcpy(k->generated[k->ngenerated % P12_MAX_GENERATED], hash, 20);
        k->ngenerated++;
    }
    /* The new key's public key object appears with it. */
    p11_p12_wrote(k, !pub);
    rv = object_by_ref(t, P12_REF_PRIV, hash, priv);
    if (rv == CKR_OK && pub)
        rv = object_by_ref(t, P12_REF_PUB, hash, pub);
out:
    free(label);
    return rv;
}

/* An RSA private key from a C_CreateObject template (the module has checked that n, e
 * and d are there), built in the keystore's library context. */
static EVP_PKEY *rsa_from_template(p12_token *k, const p11_attrs *a)
{
    static const struct {
        CK_ATTRIBUTE_TYPE type;
        const char *param;
    } parts[] = {
        {CKA_MODULUS, OSSL_PKEY_PARAM_RSA_N},
        {CKA_PUBLIC_EXPONENT, OSSL_PKEY_PARAM_RSA_E},
        {CKA_PRIVATE_EXPONENT, OSSL_PKEY_PARAM_RSA_D},
        {CKA_PRIME_1, OSSL_PKEY_PARAM_RSA_FACTOR1},
        {CKA_PRIME_2, OSSL_PKEY_PARAM_RSA_FACTOR2},
        {CKA_EXPONENT_1, OSSL_PKEY_PARAM_RSA_EXPONENT1},
        {CKA_EXPONENT_2, OSSL_PKEY_PARAM_RSA_EXPONENT2},
        {CKA_COEFFICIENT, OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
    };
    BIGNUM *bn[8] = {0};
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pk = NULL;
    size_t have = 0;

    for (size_t i = 0; bld && i < VT_ARRAY_LEN(parts); i++) {
        const p11_attr *at = p11_attrs_get(a, parts[i].type);
        if (!at || at->len == 0)
            continue;
        bn[i] = BN_secure_new();
        if (!bn[i] || !BN_bin2bn(at->value, (int)at->len, bn[i]) ||
            !OSSL_PARAM_BLD_push_BN(bld, parts[i].param, bn[i]))
            goto out;
        have |= (size_t)1 << i;
    }
    /* CRT parts are all or nothing. */
    if ((have & 7) != 7 || ((have >> 3) != 0 && (have >> 3) != 0x1f))
        goto out;
    params = bld ? OSSL_PARAM_BLD_to_param(bld) : NULL;
    ctx = EVP_PKEY_CTX_new_from_name(ks_p12_ctx_libctx(k->ctx), "RSA", NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, params) <= 0)
        pk = NULL;
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params); /* clears the secure block the BN_secure_new parts went to */
    OSSL_PARAM_BLD_free(bld);
    for (size_t i = 0; i < VT_ARRAY_LEN(bn); i++)
        BN_clear_free(bn[i]);
    return pk;
}

CK_RV p11_p12_create_object(p11_token *t, const p11_attrs *tmpl, p11_tobj *out)
{
    p12_token *k = t->drv;
    ks_p12 *p = NULL;
    CK_OBJECT_CLASS cls = p11_attrs_class(tmpl);
    CK_RV rv;

    if (cls != CKO_CERTIFICATE && cls != CKO_PRIVATE_KEY) {
        p11_trace_msg("pkcs12 %s: a PKCS#12 file holds keys and certificates only", k->name);
        return CKR_TEMPLATE_INCONSISTENT;
    }
    rv = p11_p12_current(k, &p);
    if (rv != CKR_OK)
        return rv;
    ERR_set_mark();
    if (cls == CKO_CERTIFICATE) {
        rv = create_cert(t, p, tmpl, out);
    } else {
        EVP_PKEY *key = rsa_from_template(k, tmpl);
        rv = key ? store_key(t, p, key, tmpl, NULL, false, out, NULL) : CKR_ATTRIBUTE_VALUE_INVALID;
        EVP_PKEY_free(key);
    }
    ERR_pop_to_mark();
    return rv;
}

CK_RV p11_p12_destroy_object(p11_token *t, const p11_tobj *obj)
{
    p12_token *k = t->drv;
    ks_p12 *p = NULL;
    size_t idx = 0;
    ks_p12_kind kind;
    bool found;

    if (obj->ref_len != P12_REF_LEN)
        return CKR_OBJECT_HANDLE_INVALID;
    if (obj->ref[0] == P12_REF_PUB)
        return CKR_ACTION_PROHIBITED; /* part of its private key: goes with it */
    CK_RV rv = p11_p12_current(k, &p);
    if (rv != CKR_OK)
        return rv;
    ERR_set_mark();
    if (obj->ref[0] == P12_REF_PRIV) {
        kind = KS_P12_KEY;
        found = find_key(p, obj->ref + 1, &idx);
    } else {
        kind = KS_P12_CERT;
        found = find_cert(p, obj->ref + 1, &idx);
    }
    ERR_pop_to_mark();
    if (!found)
        return CKR_OBJECT_HANDLE_INVALID;
    ks_status st = ks_p12_remove(p, kind, idx);
    rv = p11_p12_rv(k, st, true, st != KS_OK ? ks_p12_error(p) : NULL);
    if (rv == CKR_OK)
        p11_p12_wrote(k, true); /* a key takes its public key along; pairs change */
    return rv;
}

CK_RV p11_p12_set_attributes(p11_token *t, const p11_tobj *obj, const p11_attrs *changes,
                             p11_tobj *updated)
{
    (void)obj;
    (void)changes;
    (void)updated;
    p11_trace_msg("pkcs12 %s: objects keep the names the file gives them",
                  ((p12_token *)t->drv)->name);
    return CKR_ATTRIBUTE_READ_ONLY; /* (objects say CKA_MODIFIABLE false) */
}

CK_RV p11_p12_generate_rsa(p11_token *t, CK_ULONG bits, const uint8_t *pub_exp, size_t exp_len,
                           const p11_attrs *pub_tmpl, const p11_attrs *priv_tmpl, p11_tobj *pub,
                           p11_tobj *priv)
{
    p12_token *k = t->drv;
    ks_p12 *p = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *key = NULL;
    BIGNUM *e = NULL;

    CK_RV rv = p11_p12_current(k, &p);
    if (rv != CKR_OK)
        return rv;
    ERR_set_mark();
    rv = CKR_FUNCTION_FAILED;
    ctx = EVP_PKEY_CTX_new_from_name(ks_p12_ctx_libctx(k->ctx), "RSA", NULL);
    e = BN_bin2bn(pub_exp, (int)exp_len, NULL);
    if (!ctx || !e || EVP_PKEY_keygen_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) <= 0)
        goto out;
    if (EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) <= 0 || EVP_PKEY_generate(ctx, &key) <= 0) {
        rv = CKR_TEMPLATE_INCONSISTENT; /* an exponent OpenSSL refuses (even, 1) */
        goto out;
    }
    rv = store_key(t, p, key, priv_tmpl, pub_tmpl, true, priv, pub);
    if (rv == CKR_OK && !p11_attrs_bool(pub_tmpl, CKA_TOKEN, false)) {
        /* A session public key: the module keeps it, we forget the reference. The
         * file's key still has its token public key, which the next listing shows. */
        pub->ref_len = 0;
        k->relist_after_write = true;
        rv = p11_attrs_set_bool(&pub->attrs, CKA_TOKEN, false);
        if (rv == CKR_OK)
            rv = p11_attrs_set_bool(&pub->attrs, CKA_DESTROYABLE, true);
    }
out:
    ERR_pop_to_mark();
    BN_free(e);
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(ctx);
    return rv;
}
