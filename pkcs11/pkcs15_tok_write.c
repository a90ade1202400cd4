/* Token objects in PKCS#15, write side: templates to PKCS#15 entries, creating
 * certificates, data objects and keys (imported or generated on the card through the
 * driver's p11_p15_keys), destroying and changing them. The read side is pkcs15_tok.c. */
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "pkcs15_tok_int.h"

/* ---- templates ---- */

static bool tmpl_bool(const p11_attrs *a, CK_ATTRIBUTE_TYPE type, bool def)
{
    bool v;

    return p11_attrs_get_bool(a, type, &v) ? v : def;
}

static void tmpl_label(const p11_attrs *a, const char *def, char out[P11_P15_MAX_LABEL + 1])
{
    const p11_attr *l = a ? p11_attrs_get(a, CKA_LABEL) : NULL;
    size_t n = l ? l->len : 0;

    if (!l) {
        snprintf(out, P11_P15_MAX_LABEL + 1, "%s", def);
        return;
    }
    if (n > P11_P15_MAX_LABEL)
        n = P11_P15_MAX_LABEL;
    if (n) /* an empty CKA_LABEL may have no value pointer */
        memcpy(out, l->value, n);
    out[n] = '\0';
}

/* CKA_ID, or the "mozilla" style OpenSC uses: SHA-1 of the modulus. */
static CK_RV tmpl_id(const p11_attrs *a, const p11_attrs *b, const vt_buf *modulus, p11_p15_id *id)
{
    const p11_attr *at = a ? p11_attrs_get(a, CKA_ID) : NULL;

    if ((!at || at->len == 0) && b)
        at = p11_attrs_get(b, CKA_ID);
    if (at && at->len) {
        if (at->len > sizeof(id->v))
            return CKR_ATTRIBUTE_VALUE_INVALID;
        memcpy(id->v, at->value, at->len);
        id->len = at->len;
        return CKR_OK;
    }
    if (!modulus || modulus->len == 0)
        return CKR_TEMPLATE_INCOMPLETE;
    SHA1(modulus->data, modulus->len, id->v);
    id->len = SHA_DIGEST_LENGTH;
    return CKR_OK;
}

static unsigned prkey_usage(const p11_attrs *a)
{
    unsigned u = 0;

    if (tmpl_bool(a, CKA_SIGN, false))
        u |= P11_P15_USAGE_SIGN;
    if (tmpl_bool(a, CKA_SIGN_RECOVER, false))
        u |= P11_P15_USAGE_SIGNRECOVER;
    if (tmpl_bool(a, CKA_DECRYPT, false))
        u |= P11_P15_USAGE_DECRYPT;
    if (tmpl_bool(a, CKA_UNWRAP, false))
        u |= P11_P15_USAGE_UNWRAP;
    return u ? u : P11_P15_USAGE_SIGN;
}

static unsigned pubkey_usage(const p11_attrs *a)
{
    unsigned u = 0;

    if (tmpl_bool(a, CKA_VERIFY, false))
        u |= P11_P15_USAGE_VERIFY;
    if (tmpl_bool(a, CKA_VERIFY_RECOVER, false))
        u |= P11_P15_USAGE_VERIFYRECOVER;
    if (tmpl_bool(a, CKA_ENCRYPT, false))
        u |= P11_P15_USAGE_ENCRYPT;
    if (tmpl_bool(a, CKA_WRAP, false))
        u |= P11_P15_USAGE_WRAP;
    return u ? u : P11_P15_USAGE_VERIFY;
}

/* Write value to a new template EF and add its DF entry; on failure the EF goes. */
static CK_RV store_with_ef(p11_p15_tok *k, p11_p15_df_type type, p11_p15_obj *o, uint16_t base,
                           p11_p15_file_role role, const uint8_t *value, size_t len, p11_tobj *out)
{
    p11_p15_path abs;
    CK_RV rv = p11_p15_card_alloc_ef(&k->p15, base, &abs);

    if (rv != CKR_OK)
        return rv;
    o->path = abs;
    o->has_path = true;
    /* An EF no DF entry names may be there: a write interrupted before its entry (a
     * crash, a card pulled). Written over, it would keep its old size and give the new
     * value a tail of stale bytes; start from a fresh EF of exactly this size. */
    rv = k->fs.remove(k->fs.ctx, &abs);
    if (rv == CKR_OK)
        rv = k->fs.write(k->fs.ctx, &abs, role, len, value, len);
    if (rv == CKR_OK)
        rv = p11_p15_card_add(&k->p15, &k->fs, type, o);
    if (rv != CKR_OK) {
        (void)k->fs.remove(k->fs.ctx, &abs);
        return rv;
    }
    p11_p15_tok_touched(k);
    return out ? p11_p15_tok_to_tobj(k, type, o, out) : CKR_OK;
}

static CK_RV store_public_key(p11_p15_tok *k, const vt_buf *n, const vt_buf *e,
                              const p11_p15_id *id, const char *label, unsigned usage,
                              unsigned access, p11_tobj *out)
{
    p11_p15_obj o;
    vt_buf der = {0};
    CK_RV rv;

    p11_p15_obj_init(&o, P11_P15_OBJ_PUBKEY_RSA);
    snprintf(o.label, sizeof(o.label), "%s", label);
    o.flags = P11_P15_CO_MODIFIABLE;
    /* an EF holding the key's value, not a key the card can use (OpenSC writes the same) */
    o.u.key.native = false;
    o.u.key.id = *id;
    o.u.key.usage = usage;
    o.u.key.access_flags = access;
    o.u.key.modulus_bits = n->len * 8;
    rv = p11_p15_encode_rsa_pubkey(k->p15.codec, n->data, n->len, e->data, e->len, &der) ==
                 P11_P15_OK
             ? CKR_OK
             : CKR_GENERAL_ERROR;
    if (rv == CKR_OK)
        rv = store_with_ef(k, P11_P15_PUKDF, &o, 0x0200, P11_P15_FILE_PUBLIC_EF, der.data, der.len,
                           out);
    vt_buf_free(&der);
    p11_p15_obj_clear(&o);
    return rv;
}

static CK_RV create_cert(p11_p15_tok *k, const p11_attrs *tmpl, p11_tobj *out)
{
    const p11_attr *val = p11_attrs_get(tmpl, CKA_VALUE);
    vt_buf der = {0}, n = {0}, e = {0};
    p11_attrs scratch = {0};
    CK_ULONG cat = 0;
    p11_p15_obj o;
    CK_RV rv;

    if (!val || val->len == 0)
        return CKR_TEMPLATE_INCOMPLETE;
    if (!vt_buf_append(&der, val->value, val->len))
        return CKR_HOST_MEMORY;
    p11_p15_obj_init(&o, P11_P15_OBJ_CERT_X509);
    rv = p11_p15_tok_cert_attrs(&der, &scratch, &n, &e) == CKR_OK ? CKR_OK
                                                                  : CKR_ATTRIBUTE_VALUE_INVALID;
    if (rv == CKR_OK)
        rv = tmpl_id(tmpl, NULL, &n, &o.u.cert.id);
    if (rv != CKR_OK)
        goto out;
    tmpl_label(tmpl, "Certificate", o.label);
    o.flags =
        P11_P15_CO_MODIFIABLE | (tmpl_bool(tmpl, CKA_PRIVATE, false) ? P11_P15_CO_PRIVATE : 0);
    o.u.cert.authority = p11_attrs_get_ulong(tmpl, CKA_CERTIFICATE_CATEGORY, &cat) && cat == 2;
    rv = store_with_ef(k, P11_P15_CDF, &o, 0x0300, P11_P15_FILE_PUBLIC_EF, der.data, der.len, out);
out:
    p11_p15_obj_clear(&o);
    p11_attrs_free(&scratch);
    vt_buf_free(&der);
    vt_buf_free(&n);
    vt_buf_free(&e);
    return rv;
}

static CK_RV create_data(p11_p15_tok *k, const p11_attrs *tmpl, p11_tobj *out)
{
    const p11_attr *val = p11_attrs_get(tmpl, CKA_VALUE),
                   *app = p11_attrs_get(tmpl, CKA_APPLICATION),
                   *oid = p11_attrs_get(tmpl, CKA_OBJECT_ID);
    bool priv = tmpl_bool(tmpl, CKA_PRIVATE, false);
    p11_p15_obj o;
    CK_RV rv = CKR_OK;

    p11_p15_obj_init(&o, P11_P15_OBJ_DATA);
    tmpl_label(tmpl, "", o.label);
    o.flags = P11_P15_CO_MODIFIABLE | (priv ? P11_P15_CO_PRIVATE : 0);
    if (priv) {
        o.auth_id.v[0] = p11_p15_tok_user_auth(k);
        o.auth_id.len = 1;
    }
    if (app && app->len) {
        size_t n = app->len > P11_P15_MAX_LABEL ? P11_P15_MAX_LABEL : app->len;
        memcpy(o.u.data.app_name, app->value, n);
        o.u.data.app_name[n] = '\0';
    }
    if (oid && oid->len) {
        const unsigned char *p = oid->value;
        ASN1_OBJECT *obj = d2i_ASN1_OBJECT(NULL, &p, (long)oid->len);
        if (!obj || OBJ_obj2txt(o.u.data.app_oid, sizeof(o.u.data.app_oid), obj, 1) <= 0)
            rv = CKR_ATTRIBUTE_VALUE_INVALID;
        ASN1_OBJECT_free(obj);
    }
    if (rv == CKR_OK)
        rv = store_with_ef(k, P11_P15_DODF, &o, priv ? 0x0500 : 0x0400,
                           priv ? P11_P15_FILE_PRIVATE_EF : P11_P15_FILE_PUBLIC_EF,
                           val ? val->value : NULL, val ? val->len : 0, out);
    p11_p15_obj_clear(&o);
    return rv;
}

static bool get_buf(const p11_attrs *a, CK_ATTRIBUTE_TYPE type, vt_buf *out)
{
    const p11_attr *at = p11_attrs_get(a, type);
    const uint8_t *v;
    size_t n;

    if (!at || at->len == 0)
        return false;
    v = at->value;
    n = at->len;
    while (n > 1 && v[0] == 0) { /* unsigned big integers: no leading zeros */
        v++;
        n--;
    }
    return vt_buf_append(out, v, n);
}

/* The RSA key of a private key template. */
static CK_RV template_rsa(const p11_attrs *tmpl, p11_p15_rsa *key)
{
    static const CK_ATTRIBUTE_TYPE crt[] = {CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1,
                                            CKA_EXPONENT_2, CKA_COEFFICIENT};
    vt_buf *parts[] = {&key->p, &key->q, &key->dp, &key->dq, &key->qinv};
    size_t i, half;

    if (!get_buf(tmpl, CKA_MODULUS, &key->n) || !get_buf(tmpl, CKA_PUBLIC_EXPONENT, &key->e))
        return CKR_TEMPLATE_INCOMPLETE;
    if (key->n.len != 128 && key->n.len != 256)
        return CKR_ATTRIBUTE_VALUE_INVALID; /* the cards hold 1024- and 2048-bit keys */
    half = key->n.len / 2;
    if (key->e.len > half)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    for (i = 0; i < VT_ARRAY_LEN(crt); i++) {
        if (!get_buf(tmpl, crt[i], parts[i]))
            return CKR_TEMPLATE_INCOMPLETE;
        if (parts[i]->len > half)
            return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    return CKR_OK;
}

/* The PrKDF entry of a key in key reference ref. */
static void prkey_entry(p11_p15_tok *k, p11_p15_obj *o, const char *label, const p11_p15_id *id,
                        unsigned usage, unsigned access, long ref, size_t bits, bool consent)
{
    p11_p15_obj_init(o, P11_P15_OBJ_PRKEY_RSA);
    snprintf(o->label, sizeof(o->label), "%s", label);
    o->flags = P11_P15_CO_PRIVATE | P11_P15_CO_MODIFIABLE;
    o->auth_id.v[0] = p11_p15_tok_user_auth(k);
    o->auth_id.len = 1;
    o->user_consent = consent ? 1 : 0;
    o->u.key.id = *id;
    o->u.key.usage = usage;
    o->u.key.access_flags = access;
    o->u.key.key_reference = ref;
    o->u.key.modulus_bits = bits;
    k->keys->path(k->fs.ctx, ref, &o->path);
    o->has_path = true;
}

/* A free key reference the card offers. Free means no PrKDF entry names it: a key
 * object may still be there, left by a generation or import interrupted before its
 * entry was written (a crash, a card pulled). It is removed, or creating the new key
 * would fail on it every time. */
static CK_RV alloc_key_ref(p11_p15_tok *k, long *ref)
{
    CK_RV rv = p11_p15_card_alloc_key_ref(&k->p15, ref);

    if (rv == CKR_OK && *ref > k->keys->ref_max)
        rv = CKR_DEVICE_MEMORY; /* every key slot of the card is taken */
    if (rv == CKR_OK)
        rv = k->keys->remove(k->fs.ctx, *ref);
    return rv;
}

static CK_RV create_private_key(p11_p15_tok *k, const p11_attrs *tmpl, p11_tobj *out)
{
    p11_p15_rsa key;
    char label[P11_P15_MAX_LABEL + 1];
    p11_p15_id id;
    p11_p15_obj o;
    long ref = -1;
    unsigned access = P11_P15_ACCESS_SENSITIVE;
    bool files = false;
    CK_ULONG kt = CKK_RSA;
    CK_RV rv;

    memset(&o, 0, sizeof(o));
    memset(&key, 0, sizeof(key));
    if (p11_attrs_get_ulong(tmpl, CKA_KEY_TYPE, &kt) && kt != CKK_RSA)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    rv = template_rsa(tmpl, &key);
    if (rv == CKR_OK)
        rv = tmpl_id(tmpl, NULL, &key.n, &id);
    if (rv == CKR_OK)
        rv = p11_p15_tok_ensure_app(k);
    if (rv == CKR_OK)
        rv = alloc_key_ref(k, &ref);
    if (rv == CKR_OK)
        rv = k->keys->create(k->fs.ctx, ref, (CK_ULONG)key.n.len * 8);
    files = rv == CKR_OK;
    if (rv == CKR_OK)
        rv = k->keys->store(k->fs.ctx, ref, &key);
    if (rv != CKR_OK)
        goto out;
    if (tmpl_bool(tmpl, CKA_EXTRACTABLE, false))
        access |= P11_P15_ACCESS_EXTRACTABLE;
    tmpl_label(tmpl, "Private Key", label);
    prkey_entry(k, &o, label, &id, prkey_usage(tmpl), access, ref, key.n.len * 8,
                tmpl_bool(tmpl, CKA_ALWAYS_AUTHENTICATE, false));
    rv = p11_p15_card_add(&k->p15, &k->fs, P11_P15_PRKDF, &o);
    if (rv != CKR_OK)
        goto out;
    files = false;
    /* The private key must show CKA_MODULUS and CKA_PUBLIC_EXPONENT. A card that keeps
     * the public half with the key (keys->read_public) gives them, and the PrKDF entry
     * alone is what opensc-pkcs11's C_CreateObject writes; on any other card a PuKDF
     * entry keeps them. */
    if (!k->keys->read_public)
        rv = store_public_key(k, &key.n, &key.e, &id, label, P11_P15_USAGE_VERIFY, 0, NULL);
    p11_p15_tok_touched(k);
    if (rv == CKR_OK)
        rv = p11_p15_tok_to_tobj(k, P11_P15_PRKDF, &o, out);
out:
    if (files)
        (void)k->keys->remove(k->fs.ctx, ref);
    p11_p15_obj_clear(&o);
    p11_p15_rsa_free(&key);
    return rv;
}

static CK_RV create_public_key(p11_p15_tok *k, const p11_attrs *tmpl, p11_tobj *out)
{
    vt_buf n = {0}, e = {0};
    char label[P11_P15_MAX_LABEL + 1];
    p11_p15_id id;
    CK_ULONG kt = CKK_RSA;
    CK_RV rv;

    if (p11_attrs_get_ulong(tmpl, CKA_KEY_TYPE, &kt) && kt != CKK_RSA)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    rv = get_buf(tmpl, CKA_MODULUS, &n) && get_buf(tmpl, CKA_PUBLIC_EXPONENT, &e)
             ? CKR_OK
             : CKR_TEMPLATE_INCOMPLETE;
    if (rv == CKR_OK)
        rv = tmpl_id(tmpl, NULL, &n, &id);
    if (rv == CKR_OK)
        rv = p11_p15_tok_ensure_app(k);
    tmpl_label(tmpl, "Public Key", label);
    if (rv == CKR_OK)
        rv = store_public_key(k, &n, &e, &id, label, pubkey_usage(tmpl), 0, out);
    vt_buf_free(&n);
    vt_buf_free(&e);
    return rv;
}

CK_RV p11_p15_tok_create(p11_p15_tok *k, const p11_attrs *tmpl, p11_tobj *out)
{
    CK_ULONG cls;
    CK_RV rv;

    memset(out, 0, sizeof(*out));
    if (!p11_attrs_get_ulong(tmpl, CKA_CLASS, &cls))
        return CKR_TEMPLATE_INCOMPLETE;
    if (!tmpl_bool(tmpl, CKA_TOKEN, true))
        return CKR_TEMPLATE_INCONSISTENT; /* session objects are the module's */
    rv = p11_p15_tok_ensure_app(k);
    if (rv != CKR_OK)
        return rv;
    switch (cls) {
    case CKO_CERTIFICATE:
        return create_cert(k, tmpl, out);
    case CKO_DATA:
        return create_data(k, tmpl, out);
    case CKO_PRIVATE_KEY:
        return create_private_key(k, tmpl, out);
    case CKO_PUBLIC_KEY:
        return create_public_key(k, tmpl, out);
    default:
        return CKR_TEMPLATE_INCONSISTENT;
    }
}

CK_RV p11_p15_tok_destroy(p11_p15_tok *k, const p11_tobj *obj)
{
    p11_p15_df *df = NULL;
    p11_p15_path abs;
    size_t i = 0;
    CK_RV rv = p11_p15_tok_find(k, obj, &df, &i);

    if (rv != CKR_OK)
        return rv;
    const p11_p15_obj *o = &df->objs[i];
    long ref = p11_p15_obj_is_prkey(o->type) ? o->u.key.key_reference : -1;
    bool own_ef = ref <= 0 && p11_p15_tok_value_path(k, o, &abs) && abs.len > k->p15.app.len &&
                  memcmp(abs.v, k->p15.app.v, k->p15.app.len) == 0; /* only our own EFs */
    /* The DF entry goes first. Interrupted between the two steps (a crash, a card
     * pulled), the card then keeps a key or an EF that no entry names: unseen, and
     * replaced by the next object made there. The other order would leave an entry
     * naming nothing, and every listing of the token would fail on it. */
    rv = p11_p15_card_remove(&k->p15, &k->fs, df, i);
    if (rv == CKR_OK && ref > 0)
        rv = k->keys->remove(k->fs.ctx, ref);
    else if (rv == CKR_OK && own_ef)
        rv = k->fs.remove(k->fs.ctx, &abs);
    p11_p15_tok_touched(k);
    return rv;
}

CK_RV p11_p15_tok_set_attributes(p11_p15_tok *k, const p11_tobj *obj, const p11_attrs *changes,
                                 p11_tobj *updated)
{
    p11_p15_df *df = NULL;
    p11_p15_obj o;
    size_t i = 0, c;
    CK_RV rv = p11_p15_tok_find(k, obj, &df, &i);

    memset(updated, 0, sizeof(*updated));
    if (rv != CKR_OK)
        return rv;
    if (p11_p15_obj_copy(&o, &df->objs[i]) != P11_P15_OK)
        return CKR_HOST_MEMORY;
    for (c = 0; c < changes->n && rv == CKR_OK; c++) {
        const p11_attr *a = &changes->v[c];
        p11_p15_id *id = p11_p15_obj_is_prkey(o.type) || p11_p15_obj_is_pubkey(o.type) ? &o.u.key.id
                         : o.type == P11_P15_OBJ_CERT_X509 ? &o.u.cert.id
                                                           : NULL;
        if (a->type == CKA_LABEL) {
            if (a->len > P11_P15_MAX_LABEL)
                rv = CKR_ATTRIBUTE_VALUE_INVALID;
            else {
                if (a->len)
                    memcpy(o.label, a->value, a->len);
                o.label[a->len] = '\0';
            }
        } else if (a->type == CKA_ID && id) {
            if (a->len > sizeof(id->v))
                rv = CKR_ATTRIBUTE_VALUE_INVALID;
            else {
                if (a->len)
                    memcpy(id->v, a->value, a->len);
                id->len = a->len;
            }
        } else {
            rv = CKR_ATTRIBUTE_READ_ONLY;
        }
    }
    if (rv == CKR_OK)
        rv = p11_p15_card_replace(&k->p15, &k->fs, df, i, &o);
    p11_p15_tok_touched(k);
    if (rv == CKR_OK)
        rv = p11_p15_tok_to_tobj(k, df->type, &df->objs[i], updated);
    p11_p15_obj_clear(&o);
    return rv;
}

CK_RV p11_p15_tok_generate_rsa(p11_p15_tok *k, CK_ULONG bits, const uint8_t *pub_exp,
                               size_t exp_len, const p11_attrs *pub_tmpl,
                               const p11_attrs *priv_tmpl, p11_tobj *pub, p11_tobj *priv)
{
    static const uint8_t f4[] = {0x01, 0x00, 0x01};
    vt_buf n = {0}, e = {0};
    char label[P11_P15_MAX_LABEL + 1], pub_label[P11_P15_MAX_LABEL + 1];
    p11_p15_id id;
    p11_p15_obj o;
    long ref = -1;
    bool files = false;
    CK_RV rv;

    memset(&o, 0, sizeof(o));
    memset(pub, 0, sizeof(*pub));
    memset(priv, 0, sizeof(*priv));
    if (bits != 1024 && bits != 2048)
        return CKR_KEY_SIZE_RANGE;
    while (exp_len > 1 && pub_exp && pub_exp[0] == 0) {
        pub_exp++;
        exp_len--;
    }
    /* the cards make keys with e = 65537 only */
    if (pub_exp && exp_len && (exp_len != 3 || memcmp(pub_exp, f4, 3) != 0))
        return CKR_TEMPLATE_INCONSISTENT;
    rv = p11_p15_tok_ensure_app(k);
    if (rv == CKR_OK)
        rv = alloc_key_ref(k, &ref);
    if (rv == CKR_OK)
        rv = k->keys->create(k->fs.ctx, ref, bits);
    files = rv == CKR_OK;
    if (rv == CKR_OK)
        rv = k->keys->generate(k->fs.ctx, ref, bits, &n, &e);
    if (rv == CKR_OK && n.len != bits / 8)
        rv = CKR_DEVICE_ERROR;
    if (rv == CKR_OK)
        rv = tmpl_id(priv_tmpl, pub_tmpl, &n, &id);
    if (rv != CKR_OK)
        goto out;
    tmpl_label(priv_tmpl, "Private Key", label);
    tmpl_label(pub_tmpl, label, pub_label);
    prkey_entry(k, &o, label, &id, prkey_usage(priv_tmpl),
                P11_P15_ACCESS_SENSITIVE | P11_P15_ACCESS_ALWAYSSENSITIVE |
                    P11_P15_ACCESS_NEVEREXTRACTABLE | P11_P15_ACCESS_LOCAL,
                ref, bits, tmpl_bool(priv_tmpl, CKA_ALWAYS_AUTHENTICATE, false));
    rv = p11_p15_card_add(&k->p15, &k->fs, P11_P15_PRKDF, &o);
    if (rv != CKR_OK)
        goto out;
    files = false;
    rv = store_public_key(k, &n, &e, &id, pub_label, pubkey_usage(pub_tmpl), P11_P15_ACCESS_LOCAL,
                          pub);
    p11_p15_tok_touched(k);
    if (rv == CKR_OK)
        rv = p11_p15_tok_to_tobj(k, P11_P15_PRKDF, &o, priv);
    if (rv != CKR_OK)
        p11_tobj_free(pub);
out:
    if (files)
        (void)k->keys->remove(k->fs.ctx, ref);
    p11_p15_obj_clear(&o);
    vt_buf_free(&n);
    vt_buf_free(&e);
    return rv;
}
