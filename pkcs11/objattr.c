/* Attribute rule tables and object completion. */
#include "objattr.h"

#include <string.h>

#include "cert.h"
#include "hash.h"
#include "vt_util.h"

#define C P11_AF_CREATE
#define M P11_AF_MODIFY
#define G P11_AF_GENERATE
#define S P11_AF_SECRET
#define D P11_AF_DEFAULT
#define B P11_AF_BOOL
#define U P11_AF_ULONG
#define T P11_AF_DATE

/* Every storage object. CKA_PRIVATE's default depends on the class (see below). */
static const p11_attr_rule r_storage[] = {
    {CKA_CLASS, C | G | U, 0},
    {CKA_TOKEN, C | G | D | B, CK_FALSE},
    {CKA_PRIVATE, C | G | B, 0},
    {CKA_MODIFIABLE, C | G | D | B, CK_TRUE},
    {CKA_LABEL, C | M | G | D, 0},
    {CKA_COPYABLE, C | G | D | B, CK_TRUE},
    {CKA_DESTROYABLE, C | G | D | B, CK_TRUE},
};

static const p11_attr_rule r_data[] = {
    {CKA_APPLICATION, C | M | D, 0},
    {CKA_OBJECT_ID, C | M | D, 0},
    {CKA_VALUE, C | M | D, 0},
};

static const p11_attr_rule r_cert[] = {
    {CKA_CERTIFICATE_TYPE, C | U, 0},
    {CKA_TRUSTED, C | D | B, CK_FALSE},
    {CKA_CERTIFICATE_CATEGORY, C | D | U, 0 /* CK_CERTIFICATE_CATEGORY_UNSPECIFIED */},
    {CKA_CHECK_VALUE, C, 0},
    {CKA_START_DATE, C | M | D | T, 0},
    {CKA_END_DATE, C | M | D | T, 0},
    {CKA_PUBLIC_KEY_INFO, C | D, 0},
    /* X.509 public key certificate */
    {CKA_SUBJECT, C, 0},
    {CKA_ID, C | M | D, 0},
    {CKA_ISSUER, C, 0},
    {CKA_SERIAL_NUMBER, C, 0},
    {CKA_VALUE, C, 0},
    {CKA_URL, C | D, 0},
    {CKA_HASH_OF_SUBJECT_PUBLIC_KEY, C | D, 0},
    {CKA_HASH_OF_ISSUER_PUBLIC_KEY, C | D, 0},
    {CKA_JAVA_MIDP_SECURITY_DOMAIN, C | D | U, 0},
    {CKA_NAME_HASH_ALGORITHM, C | D | U, CKM_SHA_1},
};

static const p11_attr_rule r_key[] = {
    {CKA_KEY_TYPE, C | G | U, 0},
    {CKA_ID, C | M | G | D, 0},
    {CKA_START_DATE, C | M | G | D | T, 0},
    {CKA_END_DATE, C | M | G | D | T, 0},
    {CKA_DERIVE, C | M | G | D | B, CK_FALSE},
    {CKA_LOCAL, D | B, CK_FALSE},
    {CKA_KEY_GEN_MECHANISM, D | U, CK_UNAVAILABLE_INFORMATION},
    {CKA_ALLOWED_MECHANISMS, C | G | D, 0},
};

static const p11_attr_rule r_public[] = {
    {CKA_SUBJECT, C | M | G | D, 0},          {CKA_ENCRYPT, C | M | G | D | B, CK_TRUE},
    {CKA_VERIFY, C | M | G | D | B, CK_TRUE}, {CKA_VERIFY_RECOVER, C | M | G | D | B, CK_FALSE},
    {CKA_WRAP, C | M | G | D | B, CK_FALSE},  {CKA_TRUSTED, D | B, CK_FALSE},
    {CKA_WRAP_TEMPLATE, C | G | D, 0},        {CKA_PUBLIC_KEY_INFO, C | D, 0},
};

static const p11_attr_rule r_public_rsa[] = {
    {CKA_MODULUS, C, 0},
    {CKA_MODULUS_BITS, G | U, 0},
    {CKA_PUBLIC_EXPONENT, C | G, 0},
};

static const p11_attr_rule r_private[] = {
    {CKA_SUBJECT, C | M | G | D, 0},
    {CKA_SENSITIVE, C | M | G | D | B, CK_TRUE},
    {CKA_DECRYPT, C | M | G | D | B, CK_TRUE},
    {CKA_SIGN, C | M | G | D | B, CK_TRUE},
    {CKA_SIGN_RECOVER, C | M | G | D | B, CK_FALSE},
    {CKA_UNWRAP, C | M | G | D | B, CK_FALSE},
    {CKA_EXTRACTABLE, C | M | G | D | B, CK_FALSE},
    {CKA_ALWAYS_SENSITIVE, D | B, CK_FALSE},
    {CKA_NEVER_EXTRACTABLE, D | B, CK_FALSE},
    {CKA_WRAP_WITH_TRUSTED, C | G | D | B, CK_FALSE},
    {CKA_UNWRAP_TEMPLATE, C | G | D, 0},
    {CKA_ALWAYS_AUTHENTICATE, C | G | D | B, CK_FALSE},
    {CKA_PUBLIC_KEY_INFO, C | D, 0},
};

static const p11_attr_rule r_private_rsa[] = {
    {CKA_MODULUS, C, 0},        {CKA_PUBLIC_EXPONENT, C, 0}, {CKA_PRIVATE_EXPONENT, C | S, 0},
    {CKA_PRIME_1, C | S, 0},    {CKA_PRIME_2, C | S, 0},     {CKA_EXPONENT_1, C | S, 0},
    {CKA_EXPONENT_2, C | S, 0}, {CKA_COEFFICIENT, C | S, 0},
};

static const p11_attr_rule r_public_ec[] = {
    {CKA_EC_PARAMS, C | G, 0},
    {CKA_EC_POINT, C, 0},
};

static const p11_attr_rule r_private_ec[] = {
    {CKA_EC_PARAMS, C, 0},
    {CKA_VALUE, C | S, 0},
};

#undef C
#undef M
#undef G
#undef S
#undef D
#undef B
#undef U
#undef T

typedef struct rule_set {
    const p11_attr_rule *v;
    size_t n;
} rule_set;

#define RS(a) ((rule_set){(a), sizeof(a) / sizeof((a)[0])})

/* The rule tables that apply to a class, most specific last. */
static size_t rule_sets(CK_OBJECT_CLASS cls, CK_KEY_TYPE kt, rule_set out[4])
{
    size_t n = 0;
    out[n++] = RS(r_storage);
    switch (cls) {
    case CKO_DATA:
        out[n++] = RS(r_data);
        break;
    case CKO_CERTIFICATE:
        out[n++] = RS(r_cert);
        break;
    case CKO_PUBLIC_KEY:
        out[n++] = RS(r_key);
        out[n++] = RS(r_public);
        if (kt == CKK_RSA)
            out[n++] = RS(r_public_rsa);
        else if (kt == CKK_EC)
            out[n++] = RS(r_public_ec);
        break;
    case CKO_PRIVATE_KEY:
        out[n++] = RS(r_key);
        out[n++] = RS(r_private);
        if (kt == CKK_RSA)
            out[n++] = RS(r_private_rsa);
        else if (kt == CKK_EC)
            out[n++] = RS(r_private_ec);
        break;
    default:
        break;
    }
    return n;
}

const p11_attr_rule *p11_attr_rule_find(CK_OBJECT_CLASS cls, CK_KEY_TYPE kt, CK_ATTRIBUTE_TYPE type)
{
    rule_set sets[4];
    size_t n = rule_sets(cls, kt, sets);
    const p11_attr_rule *found = NULL;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < sets[i].n; j++)
            if (sets[i].v[j].type == type)
                found = &sets[i].v[j];
    return found;
}

CK_RV p11_attr_check_value(const p11_attr_rule *r, const void *v, CK_ULONG len)
{
    if (len > 0 && !v)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (r->flags & P11_AF_BOOL) {
        if (len != sizeof(CK_BBOOL))
            return CKR_ATTRIBUTE_VALUE_INVALID;
        CK_BBOOL b = *(const CK_BBOOL *)v;
        if (b != CK_TRUE && b != CK_FALSE)
            return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    if ((r->flags & P11_AF_ULONG) && len != sizeof(CK_ULONG))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if ((r->flags & P11_AF_DATE) && len != 0 && len != sizeof(CK_DATE))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (r->type == CKA_ALLOWED_MECHANISMS && len % sizeof(CK_MECHANISM_TYPE) != 0)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    return CKR_OK;
}

CK_RV p11_attrs_check_template(CK_OBJECT_CLASS cls, CK_KEY_TYPE kt, const p11_attrs *a,
                               unsigned need)
{
    CK_RV rv = CKR_OK;
    for (size_t i = 0; i < a->n; i++) {
        const p11_attr_rule *r = p11_attr_rule_find(cls, kt, a->v[i].type);
        if (!r)
            return CKR_ATTRIBUTE_TYPE_INVALID;
        if (!(r->flags & need))
            return CKR_ATTRIBUTE_READ_ONLY;
        rv = p11_attr_check_value(r, a->v[i].value, a->v[i].len);
        if (rv != CKR_OK)
            return rv;
    }
    return CKR_OK;
}

CK_OBJECT_CLASS p11_attrs_class(const p11_attrs *a)
{
    CK_ULONG v;
    return p11_attrs_get_ulong(a, CKA_CLASS, &v) ? v : CK_UNAVAILABLE_INFORMATION;
}

CK_KEY_TYPE p11_attrs_key_type(const p11_attrs *a)
{
    CK_ULONG v;
    return p11_attrs_get_ulong(a, CKA_KEY_TYPE, &v) ? v : CK_UNAVAILABLE_INFORMATION;
}

bool p11_attrs_bool(const p11_attrs *a, CK_ATTRIBUTE_TYPE t, bool dflt)
{
    bool v;
    return p11_attrs_get_bool(a, t, &v) ? v : dflt;
}

static bool has_value(const p11_attrs *a, CK_ATTRIBUTE_TYPE t)
{
    const p11_attr *at = p11_attrs_get(a, t);
    return at && at->len > 0;
}

/* Certificate fields a driver or application left out, from CKA_VALUE. */
static CK_RV complete_cert(p11_attrs *a)
{
    p11_cert_fields f;
    CK_RV rv = CKR_OK;
    const p11_attr *val = p11_attrs_get(a, CKA_VALUE);

    if (!val || val->len == 0)
        return CKR_OK;
    if (has_value(a, CKA_SUBJECT) && has_value(a, CKA_ISSUER) && has_value(a, CKA_SERIAL_NUMBER) &&
        has_value(a, CKA_PUBLIC_KEY_INFO) && has_value(a, CKA_CHECK_VALUE))
        return CKR_OK;
    if (p11_cert_parse(val->value, val->len, &f) != CKR_OK)
        return CKR_OK; /* an unparsable token certificate keeps what it has */
    uint8_t sha1[20];
    p11_hash_oneshot(P11_SHA1, val->value, val->len, sha1);
    if (!has_value(a, CKA_SUBJECT))
        rv = p11_attrs_set(a, CKA_SUBJECT, f.subject.data, f.subject.len);
    if (rv == CKR_OK && !has_value(a, CKA_ISSUER))
        rv = p11_attrs_set(a, CKA_ISSUER, f.issuer.data, f.issuer.len);
    if (rv == CKR_OK && !has_value(a, CKA_SERIAL_NUMBER))
        rv = p11_attrs_set(a, CKA_SERIAL_NUMBER, f.serial.data, f.serial.len);
    if (rv == CKR_OK && !has_value(a, CKA_PUBLIC_KEY_INFO))
        rv = p11_attrs_set(a, CKA_PUBLIC_KEY_INFO, f.spki.data, f.spki.len);
    /* CKA_CHECK_VALUE of a certificate: the first three bytes of its SHA-1. */
    if (rv == CKR_OK && !has_value(a, CKA_CHECK_VALUE))
        rv = p11_attrs_set(a, CKA_CHECK_VALUE, sha1, 3);
    p11_cert_fields_free(&f);
    return rv;
}

static CK_RV complete_rsa(p11_attrs *a, CK_OBJECT_CLASS cls)
{
    const p11_attr *n = p11_attrs_get(a, CKA_MODULUS);
    const p11_attr *e = p11_attrs_get(a, CKA_PUBLIC_EXPONENT);
    CK_RV rv = CKR_OK;
    if (!n || !n->len)
        return CKR_OK;
    if (cls == CKO_PUBLIC_KEY && !p11_attrs_get(a, CKA_MODULUS_BITS))
        rv = p11_attrs_set_ulong(a, CKA_MODULUS_BITS, p11_rsa_modulus_bits(n->value, n->len));
    if (rv == CKR_OK && e && e->len && !has_value(a, CKA_PUBLIC_KEY_INFO)) {
        vt_buf spki = {0};
        n = p11_attrs_get(a, CKA_MODULUS);
        e = p11_attrs_get(a, CKA_PUBLIC_EXPONENT);
        if (p11_rsa_spki(n->value, n->len, e->value, e->len, &spki) == CKR_OK)
            rv = p11_attrs_set(a, CKA_PUBLIC_KEY_INFO, spki.data, spki.len);
        vt_buf_free(&spki);
    }
    return rv;
}

CK_RV p11_obj_complete(p11_attrs *a)
{
    CK_OBJECT_CLASS cls = p11_attrs_class(a);
    CK_KEY_TYPE kt = p11_attrs_key_type(a);
    rule_set sets[4];
    CK_RV rv = CKR_OK;

    if (cls == CK_UNAVAILABLE_INFORMATION)
        return CKR_TEMPLATE_INCOMPLETE;
    if (!p11_attrs_get(a, CKA_PRIVATE))
        rv = p11_attrs_set_bool(a, CKA_PRIVATE, cls == CKO_PRIVATE_KEY);
    size_t ns = rule_sets(cls, kt, sets);
    for (size_t i = 0; rv == CKR_OK && i < ns; i++) {
        for (size_t j = 0; rv == CKR_OK && j < sets[i].n; j++) {
            const p11_attr_rule *r = &sets[i].v[j];
            if (!(r->flags & P11_AF_DEFAULT) || p11_attrs_get(a, r->type))
                continue;
            if (r->flags & P11_AF_BOOL)
                rv = p11_attrs_set_bool(a, r->type, r->dflt != CK_FALSE);
            else if (r->flags & P11_AF_ULONG)
                rv = p11_attrs_set_ulong(a, r->type, r->dflt);
            else
                rv = p11_attrs_set(a, r->type, NULL, 0);
        }
    }
    if (rv == CKR_OK && cls == CKO_CERTIFICATE)
        rv = complete_cert(a);
    if (rv == CKR_OK && (cls == CKO_PUBLIC_KEY || cls == CKO_PRIVATE_KEY) && kt == CKK_RSA)
        rv = complete_rsa(a, cls);
    return rv;
}
