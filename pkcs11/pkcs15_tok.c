/* Token objects in a card's PKCS#15 application, as OpenSC's pkcs15-init lays them out:
 * listing them as PKCS#11 objects (values read from their EFs), and creating, generating,
 * destroying and relabelling them; the card's key storage is the driver's (p11_p15_keys).
 * A p11_tobj's ref is the DF type followed by the absolute path of the object's value
 * (its key file, for private keys). */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "pkcs15_tok_int.h"

/* ---- the application ---- */

p11_p15_status p11_p15_tok_init(p11_p15_tok *k)
{
    pthread_mutex_init(&k->key_mu, NULL);
    return p11_p15_card_init(&k->p15);
}

void p11_p15_tok_free(p11_p15_tok *k)
{
    p11_p15_card_free(&k->p15);
    pthread_mutex_destroy(&k->key_mu);
}

void p11_p15_rsa_free(p11_p15_rsa *k)
{
    vt_buf_free(&k->n);
    vt_buf_free(&k->e);
    vt_buf_free(&k->p);
    vt_buf_free(&k->q);
    vt_buf_free(&k->dp);
    vt_buf_free(&k->dq);
    vt_buf_free(&k->qinv);
}

void p11_p15_tok_touched(p11_p15_tok *k)
{
    k->loaded_gen = apdu_generation(k->t);
}

CK_RV p11_p15_tok_load(p11_p15_tok *k)
{
    uint64_t gen = apdu_generation(k->t);
    CK_RV rv;

    if (k->loaded && gen == k->loaded_gen)
        return CKR_OK;
    rv = p11_p15_card_load(&k->p15, &k->fs);
    if (rv == CKR_OK) {
        k->loaded = true;
        k->loaded_gen = gen;
    }
    return rv;
}

CK_RV p11_p15_tok_ensure_app(p11_p15_tok *k)
{
    CK_RV rv = p11_p15_tok_load(k);

    if (rv != CKR_OK || k->p15.present)
        return rv;
    rv = p11_p15_card_create(&k->p15, &k->fs, &k->app);
    p11_p15_tok_touched(k);
    return rv;
}

/* The authId of objects the user PIN protects. */
uint8_t p11_p15_tok_user_auth(const p11_p15_tok *k)
{
    return k->app.user_ref ? k->app.user_ref : 2;
}

/* ---- refs ---- */

static void make_ref(p11_tobj *o, p11_p15_df_type type, const p11_p15_path *abs)
{
    o->ref[0] = (uint8_t)type;
    memcpy(o->ref + 1, abs->v, abs->len);
    o->ref_len = 1 + abs->len;
}

bool p11_p15_tok_value_path(p11_p15_tok *k, const p11_p15_obj *o, p11_p15_path *abs)
{
    return o->has_path && p11_p15_card_abs_path(&k->p15, &o->path, abs);
}

/* The DF entry a p11_tobj stands for. */
CK_RV p11_p15_tok_find(p11_p15_tok *k, const p11_tobj *obj, p11_p15_df **df_out, size_t *idx)
{
    p11_p15_df *df;
    size_t i;
    CK_RV rv = p11_p15_tok_load(k);

    if (rv != CKR_OK)
        return rv;
    if (obj->ref_len < 3 || obj->ref[0] >= P11_P15_DF_TYPES)
        return CKR_OBJECT_HANDLE_INVALID;
    df = p11_p15_card_df(&k->p15, (p11_p15_df_type)obj->ref[0]);
    for (i = 0; df && i < df->n; i++) {
        p11_p15_path abs;
        if (p11_p15_tok_value_path(k, &df->objs[i], &abs) && abs.len == obj->ref_len - 1 &&
            memcmp(abs.v, obj->ref + 1, abs.len) == 0) {
            *df_out = df;
            *idx = i;
            return CKR_OK;
        }
    }
    return CKR_OBJECT_HANDLE_INVALID;
}

size_t p11_p15_tok_object_count(const p11_p15_tok *k)
{
    size_t i, n = 0;

    for (i = 0; i < k->p15.ndfs; i++)
        if (k->p15.dfs[i].type != P11_P15_AODF)
            n += k->p15.dfs[i].n;
    return n;
}

/* ---- values ---- */

static CK_RV read_value(p11_p15_tok *k, const p11_p15_obj *o, vt_buf *out)
{
    p11_p15_path abs;
    bool found = false;
    CK_RV rv;

    vt_buf_clear(out);
    if (!o->has_path)
        return vt_buf_append(out, o->direct.data, o->direct.len) ? CKR_OK : CKR_HOST_MEMORY;
    if (!p11_p15_tok_value_path(k, o, &abs))
        return CKR_DEVICE_ERROR;
    rv = k->fs.read(k->fs.ctx, &abs, out, &found);
    if (rv == CKR_OK && !found)
        rv = CKR_DEVICE_ERROR;
    return rv;
}

static bool bn_to_buf(const BIGNUM *bn, vt_buf *out)
{
    int n = BN_num_bytes(bn);

    vt_buf_clear(out);
    if (n <= 0 || !vt_buf_reserve(out, (size_t)n))
        return false;
    out->len = (size_t)BN_bn2bin(bn, out->data);
    return true;
}

/* n and e of an RSA EVP_PKEY */
static bool pkey_rsa(EVP_PKEY *pk, vt_buf *n, vt_buf *e)
{
    BIGNUM *bn = NULL, *be = NULL;
    bool ok = pk && EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA &&
              EVP_PKEY_get_bn_param(pk, "n", &bn) && EVP_PKEY_get_bn_param(pk, "e", &be) &&
              bn_to_buf(bn, n) && bn_to_buf(be, e);

    BN_free(bn);
    BN_free(be);
    return ok;
}

/* The modulus and exponent in a public key EF or direct value: RSAPublicKey, or a
 * SubjectPublicKeyInfo (plain or as OpenSC's [1]-tagged direct value). */
static bool pubkey_value_rsa(p11_p15_tok *k, const vt_buf *v, vt_buf *n, vt_buf *e)
{
    const unsigned char *p;
    EVP_PKEY *pk;
    vt_buf copy = {0};
    bool ok;

    if (v->len == 0)
        return false;
    if (p11_p15_decode_rsa_pubkey(k->p15.codec, v->data, v->len, n, e) == P11_P15_OK)
        return true;
    if (!vt_buf_append(&copy, v->data, v->len))
        return false;
    if (copy.data[0] == 0xA1)
        copy.data[0] = 0x30;
    p = copy.data;
    pk = d2i_PUBKEY(NULL, &p, (long)copy.len);
    ok = pkey_rsa(pk, n, e);
    EVP_PKEY_free(pk);
    vt_buf_free(&copy);
    return ok;
}

static CK_RV set_der(p11_attrs *a, CK_ATTRIBUTE_TYPE type, int len, unsigned char *der)
{
    CK_RV rv = len > 0 ? p11_attrs_set(a, type, der, (CK_ULONG)len) : CKR_DEVICE_ERROR;

    OPENSSL_free(der);
    return rv;
}

/* CKA_SUBJECT, CKA_ISSUER, CKA_SERIAL_NUMBER; n and e when the key is RSA. */
CK_RV p11_p15_tok_cert_attrs(const vt_buf *der, p11_attrs *a, vt_buf *n, vt_buf *e)
{
    const unsigned char *p = der->data;
    X509 *x = d2i_X509(NULL, &p, (long)der->len);
    unsigned char *buf = NULL;
    int len;
    CK_RV rv;

    if (!x)
        return CKR_DEVICE_ERROR;
    len = i2d_X509_NAME(X509_get_subject_name(x), &buf);
    rv = set_der(a, CKA_SUBJECT, len, buf);
    if (rv == CKR_OK) {
        buf = NULL;
        len = i2d_X509_NAME(X509_get_issuer_name(x), &buf);
        rv = set_der(a, CKA_ISSUER, len, buf);
    }
    if (rv == CKR_OK) {
        buf = NULL;
        len = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &buf);
        rv = set_der(a, CKA_SERIAL_NUMBER, len, buf);
    }
    if (rv == CKR_OK && n && e)
        (void)pkey_rsa(X509_get0_pubkey(x), n, e);
    X509_free(x);
    return rv;
}

/* ---- PKCS#15 -> PKCS#11 ---- */

static CK_RV common_attrs(p11_attrs *a, CK_OBJECT_CLASS cls, const p11_p15_obj *o)
{
    CK_RV rv = p11_attrs_set_ulong(a, CKA_CLASS, cls);

    if (rv == CKR_OK)
        rv = p11_attrs_set_bool(a, CKA_TOKEN, true);
    if (rv == CKR_OK)
        rv = p11_attrs_set_bool(a, CKA_PRIVATE, (o->flags & P11_P15_CO_PRIVATE) != 0);
    if (rv == CKR_OK)
        rv = p11_attrs_set_bool(a, CKA_MODIFIABLE, (o->flags & P11_P15_CO_MODIFIABLE) != 0);
    if (rv == CKR_OK)
        rv = p11_attrs_set(a, CKA_LABEL, o->label, (CK_ULONG)strlen(o->label));
    return rv;
}

/* The public half of a private key: what the card keeps with its key reference, else
 * the PuKDF entry with its iD, else a certificate with it. */
static void key_public(p11_p15_tok *k, const p11_p15_key *key, vt_buf *n, vt_buf *e)
{
    static const p11_p15_df_type order[] = {P11_P15_PUKDF, P11_P15_CDF};
    const p11_p15_id *id = &key->id;
    vt_buf v = {0};
    size_t d, i;

    if (k->keys && k->keys->read_public && key->key_reference > 0 &&
        k->keys->read_public(k->fs.ctx, key->key_reference, n, e) != CKR_OK) {
        vt_buf_clear(n);
        vt_buf_clear(e);
    }
    for (d = 0; d < VT_ARRAY_LEN(order) && n->len == 0; d++) {
        p11_p15_df *df = p11_p15_card_df(&k->p15, order[d]);
        for (i = 0; df && i < df->n && n->len == 0; i++) {
            const p11_p15_obj *o = &df->objs[i];
            const p11_p15_id *oid = order[d] == P11_P15_CDF ? &o->u.cert.id : &o->u.key.id;
            if (o->type == P11_P15_OBJ_UNKNOWN || oid->len != id->len ||
                memcmp(oid->v, id->v, id->len) != 0 || read_value(k, o, &v) != CKR_OK)
                continue;
            if (order[d] == P11_P15_CDF) {
                p11_attrs scratch = {0};
                (void)p11_p15_tok_cert_attrs(&v, &scratch, n, e);
                p11_attrs_free(&scratch);
            } else {
                (void)pubkey_value_rsa(k, &v, n, e);
            }
        }
    }
    vt_buf_free(&v);
}

static CK_RV key_attrs(p11_p15_tok *k, const p11_p15_obj *o, bool private_key, p11_attrs *a)
{
    const p11_p15_key *key = &o->u.key;
    vt_buf n = {0}, e = {0}, v = {0};
    CK_RV rv;

    rv = common_attrs(a, private_key ? CKO_PRIVATE_KEY : CKO_PUBLIC_KEY, o);
    if (rv == CKR_OK)
        rv = p11_attrs_set_ulong(a, CKA_KEY_TYPE, CKK_RSA);
    if (rv == CKR_OK)
        rv = p11_attrs_set(a, CKA_ID, key->id.v, (CK_ULONG)key->id.len);
    if (rv == CKR_OK)
        rv = p11_attrs_set(a, CKA_SUBJECT, key->subject.data, (CK_ULONG)key->subject.len);
    if (rv == CKR_OK)
        rv = p11_attrs_set_bool(a, CKA_LOCAL, (key->access_flags & P11_P15_ACCESS_LOCAL) != 0);
    if (rv == CKR_OK)
        rv = p11_attrs_set_bool(a, CKA_DERIVE, (key->usage & P11_P15_USAGE_DERIVE) != 0);
    if (rv == CKR_OK)
        rv = p11_attrs_set_ulong(a, CKA_MODULUS_BITS, key->modulus_bits);
    if (rv != CKR_OK)
        goto out;
    if (private_key) {
        unsigned af = key->access_flags;
        static const struct {
            CK_ATTRIBUTE_TYPE type;
            unsigned usage;
        } use[] = {{CKA_SIGN, P11_P15_USAGE_SIGN | P11_P15_USAGE_NONREPUDIATION},
                   {CKA_SIGN_RECOVER, P11_P15_USAGE_SIGNRECOVER},
                   {CKA_DECRYPT, P11_P15_USAGE_DECRYPT},
                   {CKA_UNWRAP, P11_P15_USAGE_UNWRAP}};
        size_t i;
        for (i = 0; i < VT_ARRAY_LEN(use) && rv == CKR_OK; i++)
            rv = p11_attrs_set_bool(a, use[i].type, (key->usage & use[i].usage) != 0);
        if (rv == CKR_OK)
            rv = p11_attrs_set_bool(a, CKA_SENSITIVE, (af & P11_P15_ACCESS_SENSITIVE) != 0);
        if (rv == CKR_OK)
            rv = p11_attrs_set_bool(a, CKA_ALWAYS_SENSITIVE,
                                    (af & P11_P15_ACCESS_ALWAYSSENSITIVE) != 0);
        /* the card never gives a private key out, whatever the flag says */
        if (rv == CKR_OK)
            rv = p11_attrs_set_bool(a, CKA_EXTRACTABLE, false);
        if (rv == CKR_OK)
            rv = p11_attrs_set_bool(a, CKA_NEVER_EXTRACTABLE,
                                    (af & P11_P15_ACCESS_NEVEREXTRACTABLE) != 0);
        if (rv == CKR_OK)
            rv = p11_attrs_set_bool(a, CKA_ALWAYS_AUTHENTICATE, o->user_consent > 0);
        key_public(k, key, &n, &e);
    } else {
        static const struct {
            CK_ATTRIBUTE_TYPE type;
            unsigned usage;
        } use[] = {{CKA_VERIFY, P11_P15_USAGE_VERIFY | P11_P15_USAGE_NONREPUDIATION},
                   {CKA_VERIFY_RECOVER, P11_P15_USAGE_VERIFYRECOVER},
                   {CKA_ENCRYPT, P11_P15_USAGE_ENCRYPT},
                   {CKA_WRAP, P11_P15_USAGE_WRAP}};
        size_t i;
        for (i = 0; i < VT_ARRAY_LEN(use) && rv == CKR_OK; i++)
            rv = p11_attrs_set_bool(a, use[i].type, (key->usage & use[i].usage) != 0);
        if (rv == CKR_OK)
            rv = read_value(k, o, &v);
        if (rv == CKR_OK && !pubkey_value_rsa(k, &v, &n, &e))
            rv = CKR_DEVICE_ERROR;
    }
    if (rv == CKR_OK && n.len) {
        rv = p11_attrs_set(a, CKA_MODULUS, n.data, (CK_ULONG)n.len);
        if (rv == CKR_OK)
            rv = p11_attrs_set(a, CKA_PUBLIC_EXPONENT, e.data, (CK_ULONG)e.len);
    }
out:
    vt_buf_free(&n);
    vt_buf_free(&e);
    vt_buf_free(&v);
    return rv;
}

static CK_RV data_attrs(p11_p15_tok *k, const p11_p15_obj *o, p11_attrs *a)
{
    vt_buf v = {0};
    CK_RV rv = common_attrs(a, CKO_DATA, o);

    if (rv == CKR_OK)
        rv = p11_attrs_set(a, CKA_APPLICATION, o->u.data.app_name,
                           (CK_ULONG)strlen(o->u.data.app_name));
    if (rv == CKR_OK) {
        ASN1_OBJECT *obj = o->u.data.app_oid[0] ? OBJ_txt2obj(o->u.data.app_oid, 1) : NULL;
        unsigned char *der = NULL;
        int len = obj ? i2d_ASN1_OBJECT(obj, &der) : 0;
        rv = len > 0 ? p11_attrs_set(a, CKA_OBJECT_ID, der, (CK_ULONG)len)
                     : p11_attrs_set(a, CKA_OBJECT_ID, NULL, 0);
        OPENSSL_free(der);
        ASN1_OBJECT_free(obj);
    }
    if (rv == CKR_OK)
        rv = read_value(k, o, &v);
    if (rv == CKR_OK)
        rv = p11_attrs_set(a, CKA_VALUE, v.data, (CK_ULONG)v.len);
    vt_buf_free(&v);
    return rv;
}

static CK_RV cert_obj_attrs(p11_p15_tok *k, const p11_p15_obj *o, p11_attrs *a)
{
    vt_buf v = {0};
    CK_RV rv = common_attrs(a, CKO_CERTIFICATE, o);

    if (rv == CKR_OK)
        rv = p11_attrs_set_ulong(a, CKA_CERTIFICATE_TYPE, CKC_X_509);
    if (rv == CKR_OK)
        rv = p11_attrs_set(a, CKA_ID, o->u.cert.id.v, (CK_ULONG)o->u.cert.id.len);
    if (rv == CKR_OK)
        rv = p11_attrs_set_bool(a, CKA_TRUSTED, false);
    if (rv == CKR_OK)
        rv = p11_attrs_set_ulong(a, CKA_CERTIFICATE_CATEGORY, o->u.cert.authority ? 2 : 0);
    if (rv == CKR_OK)
        rv = read_value(k, o, &v);
    if (rv == CKR_OK)
        rv = p11_attrs_set(a, CKA_VALUE, v.data, (CK_ULONG)v.len);
    if (rv == CKR_OK)
        rv = p11_p15_tok_cert_attrs(&v, a, NULL, NULL);
    vt_buf_free(&v);
    return rv;
}

CK_RV p11_p15_tok_to_tobj(p11_p15_tok *k, p11_p15_df_type type, const p11_p15_obj *o, p11_tobj *out)
{
    p11_p15_path abs;
    CK_RV rv;

    memset(out, 0, sizeof(*out));
    if (!p11_p15_tok_value_path(k, o, &abs))
        return CKR_DEVICE_ERROR; /* direct values are not written by pkcs15-init here */
    make_ref(out, type, &abs);
    if (p11_p15_obj_is_prkey(o->type))
        rv = key_attrs(k, o, true, &out->attrs);
    else if (p11_p15_obj_is_pubkey(o->type))
        rv = key_attrs(k, o, false, &out->attrs);
    else if (o->type == P11_P15_OBJ_CERT_X509)
        rv = cert_obj_attrs(k, o, &out->attrs);
    else
        rv = data_attrs(k, o, &out->attrs);
    if (rv != CKR_OK)
        p11_tobj_free(out);
    return rv;
}

static bool listed(const p11_p15_obj *o)
{
    switch (o->type) {
    case P11_P15_OBJ_PRKEY_RSA:
    case P11_P15_OBJ_PUBKEY_RSA:
    case P11_P15_OBJ_CERT_X509:
    case P11_P15_OBJ_DATA:
        return o->has_path;
    default:
        return false; /* EC and GOST keys: not yet offered */
    }
}

CK_RV p11_p15_tok_list(p11_p15_tok *k, p11_tobj **objs, size_t *n)
{
    p11_tobj *v = NULL;
    size_t count = 0, d, i;
    bool user = k->user;
    CK_RV rv = p11_p15_tok_load(k);

    *objs = NULL;
    *n = 0;
    if (rv != CKR_OK)
        return rv;
    v = calloc(p11_p15_tok_object_count(k) + 1, sizeof(*v));
    if (!v)
        return CKR_HOST_MEMORY;
    for (d = 0; d < k->p15.ndfs && rv == CKR_OK; d++) {
        const p11_p15_df *df = &k->p15.dfs[d];
        if (df->type == P11_P15_AODF || df->type == P11_P15_SKDF)
            continue;
        for (i = 0; i < df->n && rv == CKR_OK; i++) {
            const p11_p15_obj *o = &df->objs[i];
            if (!listed(o) || ((o->flags & P11_P15_CO_PRIVATE) && !user))
                continue;
            rv = p11_p15_tok_to_tobj(k, df->type, o, &v[count]);
            if (rv == CKR_OK)
                count++;
        }
    }
    if (rv != CKR_OK || count == 0) {
        p11_tobjs_free(v, count);
        return rv;
    }
    *objs = v;
    *n = count;
    return CKR_OK;
}

CK_RV p11_p15_tok_key_info(p11_p15_tok *k, const p11_tobj *key, long *ref, size_t *bytes,
                           p11_p15_path *path)
{
    p11_p15_df *df = NULL;
    size_t i = 0;
    pthread_mutex_lock(&k->key_mu);
    CK_RV rv = p11_p15_tok_find(k, key, &df, &i);

    if (rv != CKR_OK) {
        rv = rv == CKR_OBJECT_HANDLE_INVALID ? CKR_KEY_HANDLE_INVALID : rv;
        goto out;
    }
    if (df->objs[i].type != P11_P15_OBJ_PRKEY_RSA || df->objs[i].u.key.key_reference <= 0 ||
        df->objs[i].u.key.key_reference > 0xFF) {
        rv = CKR_KEY_TYPE_INCONSISTENT;
        goto out;
    }
    *ref = df->objs[i].u.key.key_reference;
    *bytes = (df->objs[i].u.key.modulus_bits + 7) / 8;
    if (path && !p11_p15_tok_value_path(k, &df->objs[i], path))
        rv = CKR_DEVICE_ERROR;
out:
    pthread_mutex_unlock(&k->key_mu);
    return rv;
}
