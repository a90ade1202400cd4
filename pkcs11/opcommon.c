/* Key and parameter checks common to every cryptographic operation. */
#include "op.h"

#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "objattr.h"
#include "rsa_pad.h"
#include "slot.h"

static bool mech_allowed(const p11_object *key, CK_MECHANISM_TYPE mech)
{
    const p11_attr *am = p11_attrs_get(&key->t.attrs, CKA_ALLOWED_MECHANISMS);
    if (!am || am->len == 0)
        return true;
    const CK_MECHANISM_TYPE *v = am->value;
    for (size_t i = 0; i < am->len / sizeof(*v); i++)
        if (v[i] == mech)
            return true;
    return false;
}

CK_RV p11_op_key(p11_session *s, CK_OBJECT_HANDLE h, CK_OBJECT_CLASS cls, CK_ATTRIBUTE_TYPE usage,
                 CK_MECHANISM_TYPE mech, p11_object **out)
{
    p11_object *o;
    const p11_token *t = s->slot->token;
    /* On a PC/SC card a private-key operation meets a reset or a removal at the begin of
     * its own transaction (txn_begin in token_io.c): asking here as well would cost a
     * round trip per signature, four pcscd messages. Public-key operations may never
     * reach the token, and the other tokens' checks are cheap: those ask now. */
    bool deferred = cls == CKO_PRIVATE_KEY && t && t->changes_seen_at_txn && s->slot->store.listed;
    CK_RV rv = deferred ? p11_object_lookup_listed(s, h, &o) : p11_object_lookup(s, h, &o);
    if (rv == CKR_OBJECT_HANDLE_INVALID)
        return CKR_KEY_HANDLE_INVALID;
    if (rv != CKR_OK)
        return rv;
    if (o->cls != CKO_PUBLIC_KEY && o->cls != CKO_PRIVATE_KEY && o->cls != CKO_SECRET_KEY)
        return CKR_KEY_HANDLE_INVALID;
    /* ECDSA mechanisms take EC keys; every other mechanism RSA keys. A mechanism the
     * token does not offer (or an unknown one) is left to p11_op_start, whose
     * CKR_MECHANISM_INVALID says more than a key type would. */
    const p11_mech_desc *md = p11_mech_find(mech);
    bool ec = p11_mech_is_ec(md) && p11_mech_flags(s->slot, md) != 0;
    CK_KEY_TYPE want = ec ? CKK_EC : CKK_RSA;
    if (p11_attrs_key_type(&o->t.attrs) != want)
        return CKR_KEY_TYPE_INCONSISTENT;
    if (o->cls != cls || !p11_attrs_bool(&o->t.attrs, usage, false))
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    if (!mech_allowed(o, mech))
        return CKR_MECHANISM_INVALID;
    *out = o;
    return CKR_OK;
}

/* Signature length of an EC key: r || s for its curve. */
static CK_RV ec_sig_len(const p11_object *key, size_t *k)
{
    const p11_attr *pa = p11_attrs_get(&key->t.attrs, CKA_EC_PARAMS);
    *k = pa ? p11_ec_sig_len(pa->value, pa->len) : 0;
    return *k ? CKR_OK : CKR_KEY_SIZE_RANGE;
}

CK_RV p11_op_modulus(const p11_object *key, const uint8_t **n, size_t *k)
{
    const p11_attr *m = p11_attrs_get(&key->t.attrs, CKA_MODULUS);
    if (!m || m->len == 0)
        return CKR_KEY_SIZE_RANGE;
    const uint8_t *p = m->value;
    size_t len = m->len;
    while (len > 0 && *p == 0) {
        p++;
        len--;
    }
    if (len < 64 || len > 1024) /* 512..8192 bits */
        return CKR_KEY_SIZE_RANGE;
    *n = p;
    *k = len;
    return CKR_OK;
}

static CK_RV params_pss(p11_op *op, const CK_MECHANISM *mech, size_t modbits)
{
    const CK_RSA_PKCS_PSS_PARAMS *pp = mech->pParameter;
    p11_hash_alg h;
    if (!pp || mech->ulParameterLen != sizeof(*pp))
        return CKR_MECHANISM_PARAM_INVALID;
    if (!p11_hash_from_mech(pp->hashAlg, &h) || !p11_hash_from_mgf(pp->mgf, &op->mgf))
        return CKR_MECHANISM_PARAM_INVALID;
    /* The hash-and-sign forms fix the hash; the parameters must agree. */
    if (op->md->kind == P11_MK_RSA_HASH_PSS && h != op->md->hash)
        return CKR_MECHANISM_PARAM_INVALID;
    if (pp->sLen > p11_pss_max_salt(modbits, p11_hash_len(h)))
        return CKR_MECHANISM_PARAM_INVALID;
    op->pss_hash = h;
    op->salt_len = pp->sLen;
    return CKR_OK;
}

static CK_RV params_oaep(p11_op *op, const CK_MECHANISM *mech, size_t k)
{
    const CK_RSA_PKCS_OAEP_PARAMS *pp = mech->pParameter;
    if (!pp || mech->ulParameterLen != sizeof(*pp))
        return CKR_MECHANISM_PARAM_INVALID;
    if (!p11_hash_from_mech(pp->hashAlg, &op->pss_hash) || !p11_hash_from_mgf(pp->mgf, &op->mgf))
        return CKR_MECHANISM_PARAM_INVALID;
    /* source 0 with no data is what several clients send for "no label" */
    if (pp->source != CKZ_DATA_SPECIFIED && !(pp->source == 0 && pp->ulSourceDataLen == 0))
        return CKR_MECHANISM_PARAM_INVALID;
    if (pp->ulSourceDataLen > 0 && !pp->pSourceData)
        return CKR_MECHANISM_PARAM_INVALID;
    if (k < 2 * p11_hash_len(op->pss_hash) + 2)
        return CKR_KEY_SIZE_RANGE;
    if (pp->ulSourceDataLen && !vt_buf_append(&op->label, pp->pSourceData, pp->ulSourceDataLen))
        return CKR_HOST_MEMORY;
    return CKR_OK;
}

CK_RV p11_op_start(p11_session *s, p11_op_kind kind, const CK_MECHANISM *mech, CK_FLAGS use,
                   const p11_object *key, p11_op **out)
{
    p11_op *op = NULL;
    const uint8_t *n = NULL;
    CK_RV rv = CKR_OK;

    if (!mech)
        return CKR_ARGUMENTS_BAD;
    if (s->op[kind])
        return CKR_OPERATION_ACTIVE;
    const p11_mech_desc *md = p11_mech_find(mech->mechanism);
    if (!md || !(p11_mech_flags(s->slot, md) & use))
        return CKR_MECHANISM_INVALID;
    op = calloc(1, sizeof(*op));
    if (!op)
        return CKR_HOST_MEMORY;
    op->kind = kind;
    op->md = md;
    if (key) {
        op->key = key->handle;
        rv = p11_mech_is_ec(md) ? ec_sig_len(key, &op->k) : p11_op_modulus(key, &n, &op->k);
        if (rv != CKR_OK)
            goto out;
        op->always_auth = key->cls == CKO_PRIVATE_KEY &&
                          p11_attrs_bool(&key->t.attrs, CKA_ALWAYS_AUTHENTICATE, false);
    }
    switch (md->kind) {
    case P11_MK_RSA_PSS:
    case P11_MK_RSA_HASH_PSS:
        rv = params_pss(op, mech, p11_rsa_modulus_bits(n, op->k));
        break;
    case P11_MK_RSA_OAEP:
        rv = params_oaep(op, mech, op->k);
        break;
    default:
        /* Mechanisms without parameters: a pointer with length 0 is tolerated. */
        if (mech->ulParameterLen != 0)
            rv = CKR_MECHANISM_PARAM_INVALID;
        break;
    }
    if (rv != CKR_OK)
        goto out;
    if (md->kind == P11_MK_DIGEST || md->kind == P11_MK_RSA_HASH_PKCS ||
        md->kind == P11_MK_RSA_HASH_PSS || md->kind == P11_MK_ECDSA_HASH) {
        op->hashing = true;
        p11_hash_init(&op->h, md->hash);
    }
    if (md->kind == P11_MK_RSA_HASH_PKCS)
        op->pss_hash = md->hash;
    s->op[kind] = op;
    *out = op;
    op = NULL;
out:
    p11_op_free(op);
    return rv;
}

CK_RV p11_op_load_public(p11_op *op, const p11_object *key)
{
    if (p11_attrs_key_type(&key->t.attrs) == CKK_EC) {
        const p11_attr *pa = p11_attrs_get(&key->t.attrs, CKA_EC_PARAMS);
        const p11_attr *pt = p11_attrs_get(&key->t.attrs, CKA_EC_POINT);
        if (!pa || !pt)
            return CKR_KEY_SIZE_RANGE;
        op->pub = p11_ec_public_key(pa->value, pa->len, pt->value, pt->len);
        return op->pub ? CKR_OK : CKR_KEY_SIZE_RANGE;
    }
    const p11_attr *n = p11_attrs_get(&key->t.attrs, CKA_MODULUS);
    const p11_attr *e = p11_attrs_get(&key->t.attrs, CKA_PUBLIC_EXPONENT);
    if (!n || !e || !n->len || !e->len)
        return CKR_KEY_SIZE_RANGE;
    op->pub = p11_rsa_public_key(n->value, n->len, e->value, e->len);
    return op->pub ? CKR_OK : CKR_KEY_SIZE_RANGE;
}

CK_RV p11_op_private(p11_session *s, p11_op *op, p11_object **key)
{
    p11_object *o;
    /* Checked against the token at the operation's init; a key destroyed since through
     * this module is gone from the list, one the card lost answers from the card. */
    CK_RV rv = p11_object_lookup_listed(s, op->key, &o);
    if (rv == CKR_OBJECT_HANDLE_INVALID)
        return CKR_KEY_HANDLE_INVALID;
    if (rv != CKR_OK)
        return rv;
    /* CKA_ALWAYS_AUTHENTICATE: C_Login(CKU_CONTEXT_SPECIFIC) since this operation's
     * init, once per use of the key. */
    if (op->always_auth && !op->ctx_auth)
        return CKR_USER_NOT_LOGGED_IN;
    *key = o;
    return CKR_OK;
}

CK_RV p11_op_gather(p11_op *op, const uint8_t *data, size_t len, size_t max)
{
    op->multipart = true;
    if (len > max || op->data.len > max - len)
        return CKR_DATA_LEN_RANGE;
    if (len && !vt_buf_append(&op->data, data, len))
        return CKR_HOST_MEMORY;
    return CKR_OK;
}
