/* RSA key pair generation on the token, and the token's random number generator. */
#include <string.h>

#include "objattr.h"
#include "object.h"
#include "session.h"
#include "slot.h"
#include "token_io.h"
#include "trace.h"

/* Class and key type are implied by the mechanism; a template may repeat them but not
 * contradict them. */
static CK_RV implied(p11_attrs *a, CK_OBJECT_CLASS cls)
{
    CK_ULONG v;
    CK_RV rv;
    if (p11_attrs_get(a, CKA_CLASS) && (!p11_attrs_get_ulong(a, CKA_CLASS, &v) || v != cls))
        return CKR_TEMPLATE_INCONSISTENT;
    if (p11_attrs_get(a, CKA_KEY_TYPE) &&
        (!p11_attrs_get_ulong(a, CKA_KEY_TYPE, &v) || v != CKK_RSA))
        return CKR_TEMPLATE_INCONSISTENT;
    if ((rv = p11_attrs_set_ulong(a, CKA_CLASS, cls)) != CKR_OK ||
        (rv = p11_attrs_set_ulong(a, CKA_KEY_TYPE, CKK_RSA)) != CKR_OK)
        return rv;
    return p11_attrs_check_template(cls, CKK_RSA, a, P11_AF_GENERATE);
}

/* What an on-card key is, whatever the driver echoed back. */
static CK_RV mark_generated(p11_attrs *a, bool priv)
{
    CK_RV rv = CKR_OK;
    if (!p11_attrs_get(a, CKA_LOCAL))
        rv = p11_attrs_set_bool(a, CKA_LOCAL, true);
    if (rv == CKR_OK && !p11_attrs_get(a, CKA_KEY_GEN_MECHANISM))
        rv = p11_attrs_set_ulong(a, CKA_KEY_GEN_MECHANISM, CKM_RSA_PKCS_KEY_PAIR_GEN);
    if (priv && rv == CKR_OK && !p11_attrs_get(a, CKA_ALWAYS_SENSITIVE))
        rv = p11_attrs_set_bool(a, CKA_ALWAYS_SENSITIVE, p11_attrs_bool(a, CKA_SENSITIVE, true));
    if (priv && rv == CKR_OK && !p11_attrs_get(a, CKA_NEVER_EXTRACTABLE))
        rv = p11_attrs_set_bool(a, CKA_NEVER_EXTRACTABLE,
                                !p11_attrs_bool(a, CKA_EXTRACTABLE, false));
    return rv;
}

CK_RV p11_generate_key_pair(p11_session *s, CK_MECHANISM_PTR mech, CK_ATTRIBUTE_PTR pub_tmpl,
                            CK_ULONG pub_n, CK_ATTRIBUTE_PTR priv_tmpl, CK_ULONG priv_n,
                            CK_OBJECT_HANDLE_PTR ph_pub, CK_OBJECT_HANDLE_PTR ph_priv)
{
    p11_slot *slot = s->slot;
    p11_token *t = slot->token;
    p11_attrs pub = {0}, priv = {0};
    p11_tobj tpub = {0}, tpriv = {0};
    p11_object *opriv = NULL, *opub = NULL;
    static const uint8_t f4[] = {0x01, 0x00, 0x01};
    CK_ULONG bits;
    CK_RV rv;

    if (!mech || !ph_pub || !ph_priv || !p11_buf_ok(pub_tmpl, pub_n, sizeof(*pub_tmpl)) ||
        !p11_buf_ok(priv_tmpl, priv_n, sizeof(*priv_tmpl)))
        return CKR_ARGUMENTS_BAD;
    const p11_mech_desc *md = p11_mech_find(mech->mechanism);
    if (!md || !(p11_mech_flags(slot, md) & CKF_GENERATE_KEY_PAIR) || !t->ops->generate_rsa)
        return CKR_MECHANISM_INVALID;
    if (mech->ulParameterLen != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    if ((rv = p11_attrs_from_template(&pub, pub_tmpl, pub_n)) != CKR_OK ||
        (rv = p11_attrs_from_template(&priv, priv_tmpl, priv_n)) != CKR_OK ||
        (rv = implied(&pub, CKO_PUBLIC_KEY)) != CKR_OK ||
        (rv = implied(&priv, CKO_PRIVATE_KEY)) != CKR_OK)
        goto out;
    if (!p11_attrs_get_ulong(&pub, CKA_MODULUS_BITS, &bits)) {
        rv = CKR_TEMPLATE_INCOMPLETE;
        goto out;
    }
    if (bits < t->ops->rsa_min_bits || bits > t->ops->rsa_max_bits || bits % 8) {
        rv = CKR_KEY_SIZE_RANGE;
        goto out;
    }
    /* The private key lives on the card, so it is a token object and stays inside. */
    if (!p11_attrs_bool(&priv, CKA_TOKEN, false)) {
        rv = CKR_TEMPLATE_INCONSISTENT;
        goto out;
    }
    if (!p11_attrs_bool(&priv, CKA_SENSITIVE, true) ||
        p11_attrs_bool(&priv, CKA_EXTRACTABLE, false)) {
        rv = CKR_ATTRIBUTE_VALUE_INVALID;
        goto out;
    }
    if (!p11_session_rw(s)) {
        rv = CKR_SESSION_READ_ONLY;
        goto out;
    }
    if (!(slot->logged_in && slot->user == CKU_USER)) {
        rv = CKR_USER_NOT_LOGGED_IN;
        goto out;
    }
    const p11_attr *e = p11_attrs_get(&pub, CKA_PUBLIC_EXPONENT);
    if (e && e->len == 0) {
        rv = CKR_ATTRIBUTE_VALUE_INVALID;
        goto out;
    }
    const uint8_t *exp = e ? e->value : f4;
    size_t exp_len = e ? e->len : sizeof(f4);
    if ((rv = mark_generated(&priv, true)) != CKR_OK ||
        (rv = mark_generated(&pub, false)) != CKR_OK || (rv = p11_obj_complete(&pub)) != CKR_OK ||
        (rv = p11_obj_complete(&priv)) != CKR_OK)
        goto out;
    rv = p11_objects_sync(slot);
    if (rv != CKR_OK)
        goto out;
    rv = p11_io_generate_rsa(slot, bits, exp, exp_len, &pub, &priv, &tpub, &tpriv);
    if (rv != CKR_OK)
        goto out;
    if ((rv = mark_generated(&tpriv.attrs, true)) != CKR_OK ||
        (rv = mark_generated(&tpub.attrs, false)) != CKR_OK)
        goto out;
    bool pub_token = p11_attrs_bool(&pub, CKA_TOKEN, false);
    rv = p11_object_insert(slot, NULL, &tpriv, &opriv);
    if (rv == CKR_OK)
        rv = p11_object_insert(slot, pub_token ? NULL : s, &tpub, &opub);
    slot->store.gen = p11_io_generation(slot);
    if (rv != CKR_OK)
        goto out;
    *ph_pub = opub->handle;
    *ph_priv = opriv->handle;
    p11_trace_out("hPublicKey=%lu hPrivateKey=%lu bits=%lu", opub->handle, opriv->handle, bits);
out:
    p11_tobj_free(&tpub);
    p11_tobj_free(&tpriv);
    p11_attrs_free(&pub);
    p11_attrs_free(&priv);
    return rv;
}

CK_RV p11_generate_random(p11_session *s, CK_BYTE_PTR out, CK_ULONG len)
{
    p11_token *t = s->slot->token;
    bool gone = false;
    if (!p11_buf_ok(out, len, 1))
        return CKR_ARGUMENTS_BAD;
    if (!(t->ops->caps & P11_CAP_RNG) || !t->ops->random)
        return CKR_RANDOM_NO_RNG;
    if (len == 0)
        return CKR_OK;
    return p11_io_random(s, out, len, &gone);
}

CK_RV p11_seed_random(p11_session *s, CK_BYTE_PTR seed, CK_ULONG len)
{
    p11_token *t = s->slot->token;
    if (!p11_buf_ok(seed, len, 1))
        return CKR_ARGUMENTS_BAD;
    /* A card's generator takes no seed from the host. */
    return (t->ops->caps & P11_CAP_RNG) ? CKR_RANDOM_SEED_NOT_SUPPORTED : CKR_RANDOM_NO_RNG;
}
