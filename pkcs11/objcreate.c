/* C_CreateObject, C_CopyObject, C_DestroyObject and C_SetAttributeValue: template
 * checks against the class rules, certificate field derivation and cross-checks, and
 * the hand-off to the driver for token objects. */
#include "object.h"

#include <string.h>

#include "cert.h"
#include "objattr.h"
#include "session.h"
#include "slot.h"
#include "token_io.h"
#include "trace.h"

static bool logged_user(const p11_slot *s)
{
    return s->logged_in && s->user == CKU_USER;
}

static bool attr_equals(const p11_attrs *a, CK_ATTRIBUTE_TYPE t, const vt_buf *v)
{
    const p11_attr *at = p11_attrs_get(a, t);
    return at && at->len == v->len && (v->len == 0 || !memcmp(at->value, v->data, v->len));
}

/* CKA_SUBJECT, CKA_ISSUER and CKA_SERIAL_NUMBER come from CKA_VALUE; a caller's value
 * that contradicts the certificate is rejected. CKA_ID defaults to the CKA_ID of the
 * token's key with the same modulus, else SHA-1 of the modulus (NSS's convention). */
static CK_RV prepare_cert(p11_slot *s, p11_attrs *a)
{
    p11_cert_fields f;
    CK_ULONG ctype;
    CK_RV rv;

    if (!p11_attrs_get_ulong(a, CKA_CERTIFICATE_TYPE, &ctype))
        return CKR_TEMPLATE_INCOMPLETE;
    if (ctype != CKC_X_509)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    const p11_attr *val = p11_attrs_get(a, CKA_VALUE);
    if (!val || val->len == 0)
        return CKR_TEMPLATE_INCOMPLETE;
    rv = p11_cert_parse(val->value, val->len, &f);
    if (rv != CKR_OK)
        return rv;
    const struct {
        CK_ATTRIBUTE_TYPE t;
        const vt_buf *v;
    } derived[] = {
        {CKA_SUBJECT, &f.subject},
        {CKA_ISSUER, &f.issuer},
        {CKA_SERIAL_NUMBER, &f.serial},
    };
    for (size_t i = 0; i < sizeof(derived) / sizeof(derived[0]); i++) {
        if (p11_attrs_get(a, derived[i].t) && !attr_equals(a, derived[i].t, derived[i].v)) {
            rv = CKR_TEMPLATE_INCONSISTENT;
            goto out;
        }
        rv = p11_attrs_set(a, derived[i].t, derived[i].v->data, derived[i].v->len);
        if (rv != CKR_OK)
            goto out;
    }
    if (!p11_attrs_get(a, CKA_ID) && f.modulus.len) {
        const p11_attr *id = NULL;
        for (size_t i = 0; i < s->store.n && !id; i++) {
            p11_object *o = s->store.v[i];
            if (o->cls != CKO_PRIVATE_KEY && o->cls != CKO_PUBLIC_KEY)
                continue;
            const p11_attr *n = p11_attrs_get(&o->t.attrs, CKA_MODULUS);
            const p11_attr *oid = p11_attrs_get(&o->t.attrs, CKA_ID);
            if (n && oid && oid->len && n->len == f.modulus.len &&
                !memcmp(n->value, f.modulus.data, n->len))
                id = oid;
        }
        if (id) {
            rv = p11_attrs_set(a, CKA_ID, id->value, id->len);
        } else {
            uint8_t sha1[20];
            p11_hash_oneshot(P11_SHA1, f.modulus.data, f.modulus.len, sha1);
            rv = p11_attrs_set(a, CKA_ID, sha1, sizeof(sha1));
        }
    }
out:
    p11_cert_fields_free(&f);
    return rv;
}

static CK_RV require(const p11_attrs *a, const CK_ATTRIBUTE_TYPE *types, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const p11_attr *at = p11_attrs_get(a, types[i]);
        if (!at || at->len == 0)
            return CKR_TEMPLATE_INCOMPLETE;
    }
    return CKR_OK;
}

/* Class-specific checks and derivations before an object is created. */
static CK_RV prepare_object(p11_session *sess, p11_attrs *a, bool token)
{
    p11_slot *s = sess->slot;
    CK_OBJECT_CLASS cls = p11_attrs_class(a);
    CK_KEY_TYPE kt = p11_attrs_key_type(a);
    CK_RV rv;

    switch (cls) {
    case CKO_DATA:
        return CKR_OK;
    case CKO_CERTIFICATE:
        if (p11_attrs_bool(a, CKA_TRUSTED, false) && !(s->logged_in && s->user == CKU_SO))
            return CKR_ATTRIBUTE_READ_ONLY; /* only the SO may mark a certificate trusted */
        return prepare_cert(s, a);
    case CKO_PUBLIC_KEY: {
        static const CK_ATTRIBUTE_TYPE need[] = {CKA_MODULUS, CKA_PUBLIC_EXPONENT};
        if (kt == CK_UNAVAILABLE_INFORMATION)
            return CKR_TEMPLATE_INCOMPLETE;
        if (kt != CKK_RSA)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        return require(a, need, 2);
    }
    case CKO_PRIVATE_KEY: {
        static const CK_ATTRIBUTE_TYPE need[] = {CKA_MODULUS, CKA_PUBLIC_EXPONENT,
                                                 CKA_PRIVATE_EXPONENT};
        if (kt == CK_UNAVAILABLE_INFORMATION)
            return CKR_TEMPLATE_INCOMPLETE;
        if (kt != CKK_RSA)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        /* A card holds private keys as token objects only, and never lets them out. */
        if (!token)
            return CKR_TEMPLATE_INCONSISTENT;
        if (!p11_attrs_bool(a, CKA_SENSITIVE, true) || p11_attrs_bool(a, CKA_EXTRACTABLE, false))
            return CKR_ATTRIBUTE_VALUE_INVALID;
        rv = require(a, need, 3);
        if (rv != CKR_OK)
            return rv;
        /* Imported, so neither local nor always sensitive. */
        if ((rv = p11_attrs_set_bool(a, CKA_LOCAL, false)) != CKR_OK ||
            (rv = p11_attrs_set_bool(a, CKA_ALWAYS_SENSITIVE, false)) != CKR_OK ||
            (rv = p11_attrs_set_bool(a, CKA_NEVER_EXTRACTABLE, false)) != CKR_OK ||
            (rv = p11_attrs_set_bool(a, CKA_SENSITIVE, true)) != CKR_OK)
            return rv;
        return CKR_OK;
    }
    default:
        return CKR_ATTRIBUTE_VALUE_INVALID; /* CKA_CLASS names a class we do not hold */
    }
}

/* Create from a complete template: on the token through the driver, or in memory. */
static CK_RV create_from(p11_session *sess, p11_attrs *a, CK_OBJECT_HANDLE_PTR ph)
{
    p11_slot *s = sess->slot;
    p11_tobj t = {0};
    p11_object *o = NULL;
    bool token = p11_attrs_bool(a, CKA_TOKEN, false);
    CK_RV rv;

    if (token && !p11_session_rw(sess))
        return CKR_SESSION_READ_ONLY;
    if (p11_attrs_bool(a, CKA_PRIVATE, p11_attrs_class(a) == CKO_PRIVATE_KEY) && !logged_user(s))
        return CKR_USER_NOT_LOGGED_IN;
    rv = p11_objects_sync(s); /* a certificate looks for its key among current objects */
    if (rv != CKR_OK)
        return rv;
    rv = prepare_object(sess, a, token);
    if (rv != CKR_OK)
        return rv;
    rv = p11_obj_complete(a);
    if (rv != CKR_OK)
        return rv;
    if (token) {
        if (!(s->token->ops->caps & P11_CAP_WRITE) || !s->token->ops->create_object)
            return CKR_TOKEN_WRITE_PROTECTED;
        rv = p11_io_create_object(s, a, &t);
        if (rv != CKR_OK)
            goto out;
        rv = p11_object_insert(s, NULL, &t, &o);
        if (rv == CKR_OK)
            s->store.gen = p11_io_generation(s); /* our own write */
    } else {
        t.attrs = *a;
        memset(a, 0, sizeof(*a));
        rv = p11_object_insert(s, sess, &t, &o);
    }
    if (rv == CKR_OK) {
        *ph = o->handle;
        p11_trace_out("hObject=%lu", o->handle);
    }
out:
    p11_tobj_free(&t);
    return rv;
}

CK_RV p11_create_object(p11_session *sess, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,
                        CK_OBJECT_HANDLE_PTR ph)
{
    p11_attrs a = {0};
    CK_RV rv;

    if (!ph || !p11_buf_ok(tmpl, n, sizeof(*tmpl)))
        return CKR_ARGUMENTS_BAD;
    rv = p11_attrs_from_template(&a, tmpl, n);
    if (rv != CKR_OK)
        goto out;
    CK_OBJECT_CLASS cls = p11_attrs_class(&a);
    if (cls == CK_UNAVAILABLE_INFORMATION) {
        rv = p11_attrs_get(&a, CKA_CLASS) ? CKR_ATTRIBUTE_VALUE_INVALID : CKR_TEMPLATE_INCOMPLETE;
        goto out;
    }
    rv = p11_attrs_check_template(cls, p11_attrs_key_type(&a), &a, P11_AF_CREATE);
    if (rv != CKR_OK)
        goto out;
    rv = create_from(sess, &a, ph);
out:
    p11_attrs_free(&a);
    return rv;
}

CK_RV p11_copy_object(p11_session *sess, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,
                      CK_OBJECT_HANDLE_PTR ph)
{
    p11_object *o;
    p11_attrs a = {0}, changes = {0};
    CK_RV rv;

    if (!ph || !p11_buf_ok(tmpl, n, sizeof(*tmpl)))
        return CKR_ARGUMENTS_BAD;
    rv = p11_object_lookup(sess, h, &o);
    if (rv != CKR_OK)
        return rv;
    if (!p11_attrs_bool(&o->t.attrs, CKA_COPYABLE, true))
        return CKR_ACTION_PROHIBITED;
    /* The secret parts of a card's key never reach the host: nothing to copy from. */
    if (o->cls == CKO_PRIVATE_KEY)
        return CKR_ACTION_PROHIBITED;
    rv = p11_attrs_from_template(&changes, tmpl, n);
    if (rv != CKR_OK)
        goto out;
    CK_KEY_TYPE kt = p11_attrs_key_type(&o->t.attrs);
    for (size_t i = 0; i < changes.n; i++) {
        CK_ATTRIBUTE_TYPE t = changes.v[i].type;
        const p11_attr_rule *r = p11_attr_rule_find(o->cls, kt, t);
        if (!r) {
            rv = CKR_ATTRIBUTE_TYPE_INVALID;
            goto out;
        }
        /* spec 2.40: the copy may change CKA_TOKEN, CKA_PRIVATE, CKA_MODIFIABLE,
         * CKA_DESTROYABLE and what C_SetAttributeValue could change. */
        bool ok = (r->flags & P11_AF_MODIFY) || t == CKA_TOKEN || t == CKA_PRIVATE ||
                  t == CKA_MODIFIABLE || t == CKA_DESTROYABLE || t == CKA_COPYABLE;
        if (!ok) {
            rv = CKR_ATTRIBUTE_READ_ONLY;
            goto out;
        }
        rv = p11_attr_check_value(r, changes.v[i].value, changes.v[i].len);
        if (rv != CKR_OK)
            goto out;
    }
    rv = p11_attrs_copy(&a, &o->t.attrs);
    for (size_t i = 0; rv == CKR_OK && i < changes.n; i++)
        rv = p11_attrs_set(&a, changes.v[i].type, changes.v[i].value, changes.v[i].len);
    if (rv == CKR_OK)
        rv = create_from(sess, &a, ph);
out:
    p11_attrs_free(&a);
    p11_attrs_free(&changes);
    return rv;
}

CK_RV p11_destroy_object(p11_session *sess, CK_OBJECT_HANDLE h)
{
    p11_slot *s = sess->slot;
    p11_object *o;
    CK_RV rv = p11_object_lookup(sess, h, &o);
    if (rv != CKR_OK)
        return rv;
    if (!p11_attrs_bool(&o->t.attrs, CKA_DESTROYABLE, true))
        return CKR_ACTION_PROHIBITED;
    if (o->owner) {
        p11_object_destroy(s, o);
        return CKR_OK;
    }
    if (!p11_session_rw(sess))
        return CKR_SESSION_READ_ONLY;
    if (!(s->token->ops->caps & P11_CAP_WRITE) || !s->token->ops->destroy_object)
        return CKR_TOKEN_WRITE_PROTECTED;
    rv = p11_io_destroy_object(s, &o->t);
    if (rv != CKR_OK)
        return rv;
    p11_object_destroy(s, o);
    s->store.gen = p11_io_generation(s);
    return CKR_OK;
}

CK_RV p11_set_attribute_value(p11_session *sess, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_PTR tmpl,
                              CK_ULONG n)
{
    p11_slot *s = sess->slot;
    p11_object *o;
    p11_attrs changes = {0}, next = {0};
    p11_tobj updated = {0};
    CK_RV rv;

    if (!p11_buf_ok(tmpl, n, sizeof(*tmpl)))
        return CKR_ARGUMENTS_BAD;
    rv = p11_object_lookup(sess, h, &o);
    if (rv != CKR_OK)
        return rv;
    if (!o->owner && !p11_session_rw(sess))
        return CKR_SESSION_READ_ONLY;
    if (!p11_attrs_bool(&o->t.attrs, CKA_MODIFIABLE, true))
        return CKR_ACTION_PROHIBITED;
    rv = p11_attrs_from_template(&changes, tmpl, n);
    if (rv != CKR_OK)
        goto out;
    rv = p11_attrs_check_template(o->cls, p11_attrs_key_type(&o->t.attrs), &changes, P11_AF_MODIFY);
    if (rv != CKR_OK)
        goto out;
    /* One-way switches: a key may become sensitive or unextractable, never back. */
    bool v;
    if ((p11_attrs_get_bool(&changes, CKA_SENSITIVE, &v) && !v &&
         p11_attrs_bool(&o->t.attrs, CKA_SENSITIVE, false)) ||
        (p11_attrs_get_bool(&changes, CKA_EXTRACTABLE, &v) && v &&
         !p11_attrs_bool(&o->t.attrs, CKA_EXTRACTABLE, true))) {
        rv = CKR_ATTRIBUTE_READ_ONLY;
        goto out;
    }
    if (o->owner) {
        rv = p11_attrs_copy(&next, &o->t.attrs);
        for (size_t i = 0; rv == CKR_OK && i < changes.n; i++)
            rv = p11_attrs_set(&next, changes.v[i].type, changes.v[i].value, changes.v[i].len);
        if (rv == CKR_OK)
            rv = p11_object_replace_attrs(s, o, &next);
        goto out;
    }
    if (!(s->token->ops->caps & P11_CAP_WRITE) || !s->token->ops->set_attributes) {
        rv = CKR_TOKEN_WRITE_PROTECTED;
        goto out;
    }
    rv = p11_io_set_attributes(s, &o->t, &changes, &updated);
    if (rv != CKR_OK)
        goto out;
    rv = p11_object_replace_attrs(s, o, &updated.attrs);
    if (rv == CKR_OK && updated.ref_len) {
        memcpy(o->t.ref, updated.ref, updated.ref_len);
        o->t.ref_len = updated.ref_len;
    }
    /* A new CKA_ID makes and breaks pairs: the next listing is skipped below. */
    if (rv == CKR_OK && p11_attrs_get(&changes, CKA_ID))
        p11_objects_pair_keys(s);
    s->store.gen = p11_io_generation(s);
out:
    p11_tobj_free(&updated);
    p11_attrs_free(&changes);
    p11_attrs_free(&next);
    return rv;
}
