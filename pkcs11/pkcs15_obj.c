/* PKCS#15 directory-file entries (PrKDF, PuKDF, CDF, DODF, AODF): the p11_p15_obj model
 * (init, copy, free), the entry kinds of each DF, and decoding DF bytes into entries.
 * Encoding back is in pkcs15_obj_enc.c. */
#include <stdlib.h>
#include <string.h>

#include "pkcs15_int.h"

bool p11_p15_obj_is_prkey(p11_p15_obj_type t)
{
    return t == P11_P15_OBJ_PRKEY_RSA || t == P11_P15_OBJ_PRKEY_EC ||
           t == P11_P15_OBJ_PRKEY_GOSTR3410;
}

bool p11_p15_obj_is_pubkey(p11_p15_obj_type t)
{
    return t == P11_P15_OBJ_PUBKEY_RSA || t == P11_P15_OBJ_PUBKEY_EC ||
           t == P11_P15_OBJ_PUBKEY_GOSTR3410;
}

bool p11_p15_obj_is_key(p11_p15_obj_type t)
{
    return p11_p15_obj_is_prkey(t) || p11_p15_obj_is_pubkey(t);
}

void p11_p15_obj_init(p11_p15_obj *o, p11_p15_obj_type type)
{
    memset(o, 0, sizeof(*o));
    o->type = type;
    o->path.count = -1;
    if (p11_p15_obj_is_key(type)) {
        o->u.key.native = true;
        o->u.key.key_reference = -1;
        o->u.key.gost_params[0] = o->u.key.gost_params[1] = o->u.key.gost_params[2] = -1;
    } else if (type == P11_P15_OBJ_AUTH_PIN) {
        o->u.pin.reference = -1;
        o->u.pin.max_len = -1;
    }
}

void p11_p15_obj_clear(p11_p15_obj *o)
{
    if (!o)
        return;
    vt_buf_free(&o->direct);
    vt_buf_free(&o->raw);
    if (p11_p15_obj_is_key(o->type))
        vt_buf_free(&o->u.key.subject);
    memset(o, 0, sizeof(*o));
}

void p11_p15_objs_free(p11_p15_obj *v, size_t n)
{
    size_t i;

    if (!v)
        return;
    for (i = 0; i < n; i++)
        p11_p15_obj_clear(&v[i]);
    free(v);
}

static bool buf_copy(vt_buf *dst, const vt_buf *src)
{
    memset(dst, 0, sizeof(*dst));
    if (src->len == 0)
        return true;
    return vt_buf_append(dst, src->data, src->len);
}

p11_p15_status p11_p15_obj_copy(p11_p15_obj *dst, const p11_p15_obj *src)
{
    bool ok;

    *dst = *src;
    ok = buf_copy(&dst->direct, &src->direct) && buf_copy(&dst->raw, &src->raw);
    if (ok && p11_p15_obj_is_key(src->type))
        ok = buf_copy(&dst->u.key.subject, &src->u.key.subject);
    else if (p11_p15_obj_is_key(src->type))
        memset(&dst->u.key.subject, 0, sizeof(dst->u.key.subject));
    if (!ok) {
        p11_p15_obj_clear(dst);
        return P11_P15_ERR_NOMEM;
    }
    return P11_P15_OK;
}

static const p11_p15_entry_kind kinds[] = {
    {P11_P15_OBJ_PRKEY_RSA, "PrivateKeyType", "privateRSAKey", 0x30},
    {P11_P15_OBJ_PRKEY_EC, "PrivateKeyType", "privateECKey", 0xA0},
    {P11_P15_OBJ_PRKEY_GOSTR3410, "PrivateKeyType", "privateGOSTR3410Key", 0xA4},
    {P11_P15_OBJ_PUBKEY_RSA, "PublicKeyType", "publicRSAKey", 0x30},
    {P11_P15_OBJ_PUBKEY_EC, "PublicKeyType", "publicECKey", 0xA0},
    {P11_P15_OBJ_PUBKEY_GOSTR3410, "PublicKeyType", "publicGOSTR3410Key", 0xA4},
    {P11_P15_OBJ_CERT_X509, "CertificateType", "x509Certificate", 0x30},
    {P11_P15_OBJ_DATA, "DataType", "opaqueDO", 0x30},
    {P11_P15_OBJ_AUTH_PIN, "AuthenticationType", "pin", 0x30},
};

const p11_p15_entry_kind *p11_p15_kind_of_type(p11_p15_obj_type t)
{
    size_t i;

    for (i = 0; i < VT_ARRAY_LEN(kinds); i++)
        if (kinds[i].type == t)
            return &kinds[i];
    return NULL;
}

/* Which entry type an outer tag means in a DF of this type (NULL: not modelled). */
static const p11_p15_entry_kind *kind_of_tag(p11_p15_df_type df, uint8_t tag)
{
    p11_p15_obj_type t = P11_P15_OBJ_UNKNOWN;
    size_t i;

    switch (df) {
    case P11_P15_PRKDF:
        t = tag == 0x30   ? P11_P15_OBJ_PRKEY_RSA
            : tag == 0xA0 ? P11_P15_OBJ_PRKEY_EC
            : tag == 0xA4 ? P11_P15_OBJ_PRKEY_GOSTR3410
                          : P11_P15_OBJ_UNKNOWN;
        break;
    case P11_P15_PUKDF:
    case P11_P15_PUKDF_TRUSTED:
        t = tag == 0x30   ? P11_P15_OBJ_PUBKEY_RSA
            : tag == 0xA0 ? P11_P15_OBJ_PUBKEY_EC
            : tag == 0xA4 ? P11_P15_OBJ_PUBKEY_GOSTR3410
                          : P11_P15_OBJ_UNKNOWN;
        break;
    case P11_P15_CDF:
    case P11_P15_CDF_TRUSTED:
    case P11_P15_CDF_USEFUL:
        t = tag == 0x30 ? P11_P15_OBJ_CERT_X509 : P11_P15_OBJ_UNKNOWN;
        break;
    case P11_P15_DODF:
        t = tag == 0x30 ? P11_P15_OBJ_DATA : P11_P15_OBJ_UNKNOWN;
        break;
    case P11_P15_AODF:
        t = tag == 0x30 ? P11_P15_OBJ_AUTH_PIN : P11_P15_OBJ_UNKNOWN;
        break;
    default:
        break;
    }
    for (i = 0; i < VT_ARRAY_LEN(kinds); i++)
        if (kinds[i].type == t)
            return &kinds[i];
    return NULL;
}

/* ---- decoding ---- */

static p11_p15_status read_id(asn1_node n, const char *name, p11_p15_id *id, bool *present)
{
    return p11_p15_read_octets(n, name, id->v, sizeof(id->v), &id->len, present);
}

static p11_p15_status read_common(asn1_node n, const char *alt, p11_p15_obj *o)
{
    char f[192];
    bool has;
    p11_p15_status st;

    st = p11_p15_read_text(n, p11_p15_name(f, sizeof(f), alt, "commonObjectAttributes.label"),
                           o->label, sizeof(o->label), &has);
    if (st == P11_P15_OK)
        st = p11_p15_read_bits(n, p11_p15_name(f, sizeof(f), alt, "commonObjectAttributes.flags"),
                               &o->flags, &has);
    if (st == P11_P15_OK)
        st = read_id(n, p11_p15_name(f, sizeof(f), alt, "commonObjectAttributes.authId"),
                     &o->auth_id, &has);
    if (st == P11_P15_OK) {
        st = p11_p15_read_long(
            n, p11_p15_name(f, sizeof(f), alt, "commonObjectAttributes.userConsent"),
            &o->user_consent, &has);
        if (st == P11_P15_OK && !has)
            o->user_consent = 0;
    }
    return st;
}

/* ObjectValue at name: an indirect path, or direct bytes. URLs are not followed. */
static p11_p15_status read_value(asn1_node n, const char *name, p11_p15_obj *o)
{
    char f[192], alt[32];
    p11_p15_status st;

    st = p11_p15_read_choice(n, name, alt, sizeof(alt));
    if (st != P11_P15_OK)
        return st;
    if (strcmp(alt, "direct") == 0)
        return p11_p15_read_buf(n, p11_p15_name(f, sizeof(f), name, "direct"), &o->direct, NULL);
    if (strcmp(alt, "indirect") != 0)
        return P11_P15_ERR_DER;
    st = p11_p15_read_choice(n, p11_p15_name(f, sizeof(f), name, "indirect"), alt, sizeof(alt));
    if (st != P11_P15_OK)
        return st;
    if (strcmp(alt, "path") != 0)
        return P11_P15_ERR_UNSUPPORTED;
    st = p11_p15_read_path(n, p11_p15_name(f, sizeof(f), name, "indirect.path"), &o->path);
    if (st == P11_P15_OK)
        o->has_path = true;
    return st;
}

/* The subject name inside subClassAttributes (CommonPrivate/PublicKeyAttributes). */
p11_p15_status p11_p15_read_subject(const p11_p15_codec *c, asn1_node n, const char *alt,
                                    bool private_key, vt_buf *subject)
{
    char f[192];
    vt_buf sub = {0};
    asn1_node s = NULL;
    bool has;
    int start, end;
    p11_p15_status st;

    vt_buf_clear(subject);
    st = p11_p15_read_buf(n, p11_p15_name(f, sizeof(f), alt, "subClassAttributes"), &sub, &has);
    if (st != P11_P15_OK || !has)
        goto out;
    st = p11_p15_node_decode(
        c, private_key ? "CommonPrivateKeyAttributes" : "CommonPublicKeyAttributes", sub.data,
        sub.len, &s);
    if (st != P11_P15_OK)
        goto out;
    if (!p11_p15_has(s, "subjectName"))
        goto out;
    if (asn1_der_decoding_startEnd(s, sub.data, (int)sub.len, "subjectName", &start, &end) !=
            ASN1_SUCCESS ||
        start < 0 || end < start || (size_t)end >= sub.len) {
        st = P11_P15_ERR_DER;
        goto out;
    }
    if (!vt_buf_append(subject, sub.data + start, (size_t)(end - start + 1)))
        st = P11_P15_ERR_NOMEM;
out:
    asn1_delete_structure(&s);
    vt_buf_free(&sub);
    return st;
}

static p11_p15_status read_key(const p11_p15_codec *c, asn1_node n, const char *alt, p11_p15_obj *o)
{
    p11_p15_key *k = &o->u.key;
    char f[192];
    bool has;
    long v;
    p11_p15_status st;

    st = read_id(n, p11_p15_name(f, sizeof(f), alt, "classAttributes.iD"), &k->id, NULL);
    if (st == P11_P15_OK)
        st = p11_p15_read_bits(n, p11_p15_name(f, sizeof(f), alt, "classAttributes.usage"),
                               &k->usage, NULL);
    if (st == P11_P15_OK) {
        st = p11_p15_read_bool(n, p11_p15_name(f, sizeof(f), alt, "classAttributes.native"),
                               &k->native, &has);
        if (st == P11_P15_OK && !has)
            k->native = true;
    }
    if (st == P11_P15_OK)
        st = p11_p15_read_bits(n, p11_p15_name(f, sizeof(f), alt, "classAttributes.accessFlags"),
                               &k->access_flags, &has);
    if (st == P11_P15_OK) {
        st = p11_p15_read_long(n, p11_p15_name(f, sizeof(f), alt, "classAttributes.keyReference"),
                               &k->key_reference, &has);
        if (st == P11_P15_OK && !has)
            k->key_reference = -1;
        /* Some old writers stored references above 127 as negative numbers. */
        if (st == P11_P15_OK && k->key_reference < -1)
            k->key_reference += 256;
    }
    if (st == P11_P15_OK)
        st = p11_p15_read_subject(c, n, alt, p11_p15_obj_is_prkey(o->type), &k->subject);
    if (st == P11_P15_OK)
        st = read_value(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes.value"), o);
    if (st != P11_P15_OK)
        return st;

    switch (o->type) {
    case P11_P15_OBJ_PRKEY_RSA:
    case P11_P15_OBJ_PUBKEY_RSA:
        st = p11_p15_read_long(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes.modulusLength"),
                               &v, NULL);
        if (st == P11_P15_OK && (v <= 0 || v > 65536))
            st = P11_P15_ERR_DER;
        if (st == P11_P15_OK)
            k->modulus_bits = (size_t)v;
        break;
    case P11_P15_OBJ_PRKEY_EC:
    case P11_P15_OBJ_PUBKEY_EC: {
        /* OpenSC puts the field size where ISO has keyInfo: take it when it is an INTEGER */
        vt_buf ki = {0};
        st = p11_p15_read_buf(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes.keyInfo"), &ki,
                              &has);
        if (st == P11_P15_OK && has && ki.len >= 3 && ki.len <= 6 && ki.data[0] == 0x02 &&
            ki.data[1] == ki.len - 2) {
            size_t i;
            k->modulus_bits = 0;
            for (i = 2; i < ki.len; i++)
                k->modulus_bits = (k->modulus_bits << 8) | ki.data[i];
        }
        vt_buf_free(&ki);
        break;
    }
    case P11_P15_OBJ_PRKEY_GOSTR3410:
    case P11_P15_OBJ_PUBKEY_GOSTR3410:
        st = p11_p15_read_long(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes.paramsR3410"),
                               &k->gost_params[0], NULL);
        if (st == P11_P15_OK) {
            st = p11_p15_read_long(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes.paramsR3411"),
                                   &k->gost_params[1], &has);
            if (st == P11_P15_OK && !has)
                k->gost_params[1] = -1;
        }
        if (st == P11_P15_OK) {
            st = p11_p15_read_long(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes.params28147"),
                                   &k->gost_params[2], &has);
            if (st == P11_P15_OK && !has)
                k->gost_params[2] = -1;
        }
        k->modulus_bits = 256;
        break;
    default:
        break;
    }
    return st;
}

static p11_p15_status read_cert(asn1_node n, const char *alt, p11_p15_obj *o)
{
    char f[192];
    bool has;
    p11_p15_status st;

    st = read_id(n, p11_p15_name(f, sizeof(f), alt, "classAttributes.iD"), &o->u.cert.id, NULL);
    if (st == P11_P15_OK)
        st = p11_p15_read_bool(n, p11_p15_name(f, sizeof(f), alt, "classAttributes.authority"),
                               &o->u.cert.authority, &has);
    if (st == P11_P15_OK)
        st = read_value(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes.value"), o);
    return st;
}

static p11_p15_status read_data(asn1_node n, const char *alt, p11_p15_obj *o)
{
    char f[192];
    bool has;
    p11_p15_status st;

    st = p11_p15_read_text(n, p11_p15_name(f, sizeof(f), alt, "classAttributes.applicationName"),
                           o->u.data.app_name, sizeof(o->u.data.app_name), &has);
    if (st == P11_P15_OK)
        st = p11_p15_read_text(n, p11_p15_name(f, sizeof(f), alt, "classAttributes.applicationOID"),
                               o->u.data.app_oid, sizeof(o->u.data.app_oid), &has);
    if (st == P11_P15_OK)
        st = read_value(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes"), o);
    return st;
}

static p11_p15_status read_pin(asn1_node n, const char *alt, p11_p15_obj *o)
{
    p11_p15_pin *p = &o->u.pin;
    char f[192];
    bool has;
    long v;
    size_t pad_len;
    p11_p15_status st;

    st = read_id(n, p11_p15_name(f, sizeof(f), alt, "classAttributes.authId"), &p->auth_id, &has);
    if (st == P11_P15_OK)
        st = p11_p15_read_bits(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes.pinFlags"),
                               &p->flags, NULL);
    if (st == P11_P15_OK)
        st = p11_p15_read_long(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes.pinType"), &v,
                               NULL);
    if (st == P11_P15_OK)
        p->type = (int)v;
    if (st == P11_P15_OK)
        st = p11_p15_read_long(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes.minLength"),
                               &p->min_len, NULL);
    if (st == P11_P15_OK)
        st = p11_p15_read_long(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes.storedLength"),
                               &p->stored_len, NULL);
    if (st == P11_P15_OK) {
        st = p11_p15_read_long(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes.maxLength"),
                               &p->max_len, &has);
        if (st == P11_P15_OK && !has)
            p->max_len = -1;
    }
    if (st == P11_P15_OK) {
        st = p11_p15_read_long(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes.pinReference"),
                               &p->reference, &has);
        if (st == P11_P15_OK && !has)
            p->reference = -1;
        else if (st == P11_P15_OK && p->reference < 0)
            p->reference += 256; /* old writers' negative references */
    }
    if (st == P11_P15_OK) {
        st = p11_p15_read_octets(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes.padChar"),
                                 &p->pad_char, 1, &pad_len, &p->has_pad);
        if (st == P11_P15_OK && p->has_pad && pad_len != 1)
            st = P11_P15_ERR_DER;
    }
    if (st == P11_P15_OK &&
        p11_p15_has(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes.path"))) {
        st = p11_p15_read_path(n, f, &o->path);
        o->has_path = st == P11_P15_OK;
    }
    if (st == P11_P15_OK && (p->min_len < 0 || p->stored_len < 0 || p->type < 0))
        st = P11_P15_ERR_DER;
    return st;
}

static p11_p15_status decode_entry(const p11_p15_codec *c, const p11_p15_entry_kind *k,
                                   const uint8_t *der, size_t len, p11_p15_obj *o)
{
    asn1_node n = NULL;
    char alt[48];
    p11_p15_status st;

    st = p11_p15_node_decode(c, k->asn_type, der, len, &n);
    if (st != P11_P15_OK)
        return st;
    st = p11_p15_read_choice(n, "", alt, sizeof(alt));
    if (st == P11_P15_OK && strcmp(alt, k->alt) != 0)
        st = P11_P15_ERR_DER;
    if (st == P11_P15_OK)
        st = read_common(n, k->alt, o);
    if (st == P11_P15_OK) {
        if (p11_p15_obj_is_key(k->type))
            st = read_key(c, n, k->alt, o);
        else if (k->type == P11_P15_OBJ_CERT_X509)
            st = read_cert(n, k->alt, o);
        else if (k->type == P11_P15_OBJ_DATA)
            st = read_data(n, k->alt, o);
        else if (k->type == P11_P15_OBJ_AUTH_PIN)
            st = read_pin(n, k->alt, o);
    }
    asn1_delete_structure(&n);
    if (st == P11_P15_ERR_UNSUPPORTED)
        st = P11_P15_ERR_DER;
    return st;
}

p11_p15_status p11_p15_decode_df(const p11_p15_codec *c, p11_p15_df_type type, const uint8_t *der,
                                 size_t len, p11_p15_obj **objs, size_t *n)
{
    p11_p15_obj *v = NULL, *nv;
    size_t count = 0, cap = 0, pos = 0, el;
    p11_p15_status st = P11_P15_OK;

    if (!c || !objs || !n || (!der && len) || (unsigned)type >= P11_P15_DF_TYPES)
        return P11_P15_ERR_ARGS;
    *objs = NULL;
    *n = 0;
    while (pos < len) {
        const p11_p15_entry_kind *k;
        p11_p15_obj *o;

        /* the unused tail of a fixed-size EF */
        if (der[pos] == 0x00 || der[pos] == 0xFF)
            break;
        st = p11_p15_der_element(der + pos, len - pos, &el);
        if (st != P11_P15_OK)
            goto out;
        if (count == cap) {
            cap = cap ? cap * 2 : 8;
            nv = realloc(v, cap * sizeof(*v));
            if (!nv) {
                st = P11_P15_ERR_NOMEM;
                goto out;
            }
            v = nv;
        }
        k = kind_of_tag(type, der[pos]);
        o = &v[count];
        p11_p15_obj_init(o, k ? k->type : P11_P15_OBJ_UNKNOWN);
        count++;
        if (!vt_buf_append(&o->raw, der + pos, el)) {
            st = P11_P15_ERR_NOMEM;
            goto out;
        }
        if (k) {
            st = decode_entry(c, k, der + pos, el, o);
            if (st != P11_P15_OK)
                goto out;
        }
        pos += el;
    }
out:
    if (st != P11_P15_OK) {
        p11_p15_objs_free(v, count);
        return st;
    }
    *objs = v;
    *n = count;
    return P11_P15_OK;
}
