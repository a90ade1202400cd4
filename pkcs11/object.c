/* The per-token object store: handles, token-object cache and its re-listing,
 * visibility, C_FindObjects* and C_GetAttributeValue. */
#include "object.h"

#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "objattr.h"
#include "session.h"
#include "slot.h"
#include "token_io.h"
#include "trace.h"

bool p11_object_visible(const p11_slot *s, const p11_object *o)
{
    return !o->is_private || (s->logged_in && s->user == CKU_USER);
}

static CK_RV store_append(p11_objstore *st, p11_object *o)
{
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 32;
        p11_object **v = realloc(st->v, cap * sizeof(*v));
        if (!v)
            return CKR_HOST_MEMORY;
        st->v = v;
        st->cap = cap;
    }
    st->v[st->n++] = o;
    return CKR_OK;
}

static void store_unlink(p11_objstore *st, p11_object *o)
{
    for (size_t i = 0; i < st->n; i++) {
        if (st->v[i] == o) {
            st->v[i] = st->v[--st->n];
            return;
        }
    }
}

static void object_update_cache(p11_object *o)
{
    o->cls = p11_attrs_class(&o->t.attrs);
    o->is_private = p11_attrs_bool(&o->t.attrs, CKA_PRIVATE, false);
}

CK_RV p11_object_insert(p11_slot *s, p11_session *owner, p11_tobj *t, p11_object **out)
{
    p11_object *o = NULL;
    CK_RV rv = p11_obj_complete(&t->attrs);
    if (rv != CKR_OK)
        return rv;
    o = calloc(1, sizeof(*o));
    if (!o)
        return CKR_HOST_MEMORY;
    o->handle = p11_module_new_object_handle(s->m);
    o->slot = s;
    o->owner = owner;
    o->t = *t;
    memset(t, 0, sizeof(*t));
    object_update_cache(o);
    rv = p11_hmap_put(&s->store.map, o->handle, o);
    if (rv != CKR_OK)
        goto fail;
    rv = p11_index_add(&s->store.idx, o);
    if (rv != CKR_OK) {
        p11_hmap_del(&s->store.map, o->handle);
        goto fail;
    }
    rv = store_append(&s->store, o);
    if (rv != CKR_OK) {
        p11_index_remove(&s->store.idx, o);
        p11_hmap_del(&s->store.map, o->handle);
        goto fail;
    }
    if (out)
        *out = o;
    return CKR_OK;
fail:
    *t = o->t; /* give the caller its object back to free */
    free(o);
    return rv;
}

void p11_object_destroy(p11_slot *s, p11_object *o)
{
    p11_index_remove(&s->store.idx, o);
    p11_hmap_del(&s->store.map, o->handle);
    store_unlink(&s->store, o);
    p11_tobj_free(&o->t);
    free(o);
}

CK_RV p11_object_replace_attrs(p11_slot *s, p11_object *o, p11_attrs *attrs)
{
    CK_RV rv = p11_obj_complete(attrs);
    if (rv != CKR_OK)
        return rv;
    p11_index_remove(&s->store.idx, o);
    p11_attrs old = o->t.attrs;
    o->t.attrs = *attrs;
    rv = p11_index_add(&s->store.idx, o);
    if (rv != CKR_OK) {
        o->t.attrs = old;
        if (p11_index_add(&s->store.idx, o) != CKR_OK) {
            /* cannot even restore: the object leaves rather than staying unfindable */
            *attrs = (p11_attrs){0};
            p11_attrs_free(&old);
            p11_object_destroy(s, o);
            return CKR_HOST_MEMORY;
        }
        return rv;
    }
    memset(attrs, 0, sizeof(*attrs));
    p11_attrs_free(&old);
    object_update_cache(o);
    return CKR_OK;
}

void p11_objects_drop_all(p11_slot *s)
{
    while (s->store.n > 0)
        p11_object_destroy(s, s->store.v[s->store.n - 1]);
    s->store.listed = false;
}

void p11_objects_session_closed(p11_slot *s, p11_session *sess)
{
    for (size_t i = s->store.n; i-- > 0;) {
        if (i < s->store.n && s->store.v[i]->owner == sess)
            p11_object_destroy(s, s->store.v[i]);
    }
}

void p11_objects_login_changed(p11_slot *s, bool logged_out)
{
    if (logged_out) {
        /* Handles to private objects die with the login (even across a new login), and
         * private session objects are destroyed (spec 2.40, C_Logout). */
        for (size_t i = s->store.n; i-- > 0;)
            if (i < s->store.n && s->store.v[i]->is_private)
                p11_object_destroy(s, s->store.v[i]);
    }
    s->store.listed = false;
}

static p11_object *find_by_ref(p11_slot *s, const p11_tobj *t)
{
    if (t->ref_len == 0)
        return NULL;
    for (size_t i = 0; i < s->store.n; i++) {
        p11_object *o = s->store.v[i];
        if (!o->owner && o->t.ref_len == t->ref_len && !memcmp(o->t.ref, t->ref, t->ref_len))
            return o;
    }
    return NULL;
}

/* A private key whose driver gave no CKA_MODULUS borrows the public parts of the public
 * key or certificate with the same CKA_ID: clients (SunPKCS11) read them from the
 * private key. */
static void fill_public_parts(p11_slot *s, p11_object *priv)
{
    const p11_attr *id = p11_attrs_get(&priv->t.attrs, CKA_ID);
    const p11_attr *n = p11_attrs_get(&priv->t.attrs, CKA_MODULUS);
    vt_buf mod = {0}, exp = {0};
    p11_attrs copy = {0};

    if (!id || id->len == 0 || (n && n->len > 0))
        return;
    CK_ATTRIBUTE q = {CKA_ID, id->value, id->len};
    p11_object *const *c;
    size_t nc;
    if (!p11_index_candidates(&s->store.idx, &q, 1, &c, &nc))
        return;
    for (size_t i = 0; i < nc && mod.len == 0; i++) {
        p11_object *o = c[i];
        if (o->owner)
            continue;
        if (o->cls == CKO_PUBLIC_KEY) {
            const p11_attr *pn = p11_attrs_get(&o->t.attrs, CKA_MODULUS);
            const p11_attr *pe = p11_attrs_get(&o->t.attrs, CKA_PUBLIC_EXPONENT);
            if (!pn || !pe || !pn->len || !pe->len)
                continue;
            vt_buf_append(&mod, pn->value, pn->len);
            vt_buf_append(&exp, pe->value, pe->len);
        } else if (o->cls == CKO_CERTIFICATE) {
            const p11_attr *v = p11_attrs_get(&o->t.attrs, CKA_VALUE);
            p11_cert_fields f;
            if (!v || p11_cert_parse(v->value, v->len, &f) != CKR_OK)
                continue;
            vt_buf_append(&mod, f.modulus.data, f.modulus.len);
            vt_buf_append(&exp, f.exponent.data, f.exponent.len);
            p11_cert_fields_free(&f);
        }
    }
    /* The candidate bucket may move once priv is re-indexed: replace after the walk. */
    if (mod.len && exp.len && !mod.oom && !exp.oom &&
        p11_attrs_copy(&copy, &priv->t.attrs) == CKR_OK &&
        p11_attrs_set(&copy, CKA_MODULUS, mod.data, mod.len) == CKR_OK &&
        p11_attrs_set(&copy, CKA_PUBLIC_EXPONENT, exp.data, exp.len) == CKR_OK) {
        p11_attrs_remove(&copy, CKA_PUBLIC_KEY_INFO);
        (void)p11_object_replace_attrs(s, priv, &copy);
    }
    p11_attrs_free(&copy);
    vt_buf_free(&mod);
    vt_buf_free(&exp);
}

void p11_objects_pair_keys(p11_slot *s)
{
    for (size_t i = 0; i < s->store.n; i++) {
        p11_object *o = s->store.v[i];
        if (!o->owner && o->cls == CKO_PRIVATE_KEY)
            fill_public_parts(s, o);
    }
}

CK_RV p11_objects_sync(p11_slot *s)
{
    p11_tobj *list = NULL;
    size_t n = 0;
    CK_RV rv = CKR_OK;

    if (!s->token)
        return CKR_OK;
    uint64_t gen = p11_io_generation(s);
    if (s->store.listed && gen == s->store.gen)
        return CKR_OK;
    rv = p11_io_list_objects(s, &list, &n);
    if (rv != CKR_OK)
        goto out;
    for (size_t i = 0; i < s->store.n; i++)
        s->store.v[i]->seen = false;
    for (size_t i = 0; i < n; i++) {
        p11_object *o = find_by_ref(s, &list[i]);
        if (o) {
            o->seen = true;
            rv = p11_object_replace_attrs(s, o, &list[i].attrs);
        } else {
            rv = p11_object_insert(s, NULL, &list[i], &o);
            if (rv == CKR_OK)
                o->seen = true;
        }
        if (rv != CKR_OK)
            goto out;
    }
    for (size_t i = s->store.n; i-- > 0;) {
        p11_object *o = s->store.v[i];
        if (!o->owner && !o->seen)
            p11_object_destroy(s, o);
    }
    p11_objects_pair_keys(s);
    s->store.listed = true;
    s->store.gen = gen;
    p11_trace_msg("slot %lu: %zu token objects listed (generation %llu)", s->id, n,
                  (unsigned long long)gen);
out:
    p11_tobjs_free(list, n);
    return rv;
}

CK_RV p11_object_lookup_listed(p11_session *sess, CK_OBJECT_HANDLE h, p11_object **out)
{
    p11_slot *s = sess->slot;
    p11_object *o = p11_hmap_get(&s->store.map, h);
    if (!o || !p11_object_visible(s, o))
        return CKR_OBJECT_HANDLE_INVALID;
    *out = o;
    return CKR_OK;
}

CK_RV p11_object_lookup(p11_session *sess, CK_OBJECT_HANDLE h, p11_object **out)
{
    CK_RV rv = p11_objects_sync(sess->slot);
    return rv == CKR_OK ? p11_object_lookup_listed(sess, h, out) : rv;
}

/* ---- find ------------------------------------------------------------------- */

CK_RV p11_find_init(p11_session *sess, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
    p11_slot *s = sess->slot;
    p11_object *const *cand;
    size_t ncand;
    p11_findop *f = NULL;
    CK_RV rv;

    if (!p11_buf_ok(tmpl, n, sizeof(*tmpl)))
        return CKR_ARGUMENTS_BAD;
    if (sess->find)
        return CKR_OPERATION_ACTIVE;
    rv = p11_objects_sync(s);
    if (rv != CKR_OK)
        return rv;
    if (!p11_index_candidates(&s->store.idx, tmpl, n, &cand, &ncand)) {
        cand = s->store.v;
        ncand = s->store.n;
    }
    f = calloc(1, sizeof(*f));
    if (!f)
        return CKR_HOST_MEMORY;
    if (ncand > 0) {
        f->h = malloc(ncand * sizeof(*f->h));
        if (!f->h) {
            free(f);
            return CKR_HOST_MEMORY;
        }
    }
    for (size_t i = 0; i < ncand; i++) {
        p11_object *o = cand[i];
        if (p11_object_visible(s, o) && p11_attrs_match(&o->t.attrs, tmpl, n))
            f->h[f->n++] = o->handle;
    }
    sess->find = f;
    p11_trace_out("matches=%zu", f->n);
    return CKR_OK;
}

CK_RV p11_find_objects(p11_session *sess, CK_OBJECT_HANDLE_PTR ph, CK_ULONG max, CK_ULONG_PTR count)
{
    p11_findop *f = sess->find;
    CK_ULONG got = 0;

    if (!count || (!ph && max > 0))
        return CKR_ARGUMENTS_BAD;
    if (!f)
        return CKR_OPERATION_NOT_INITIALIZED;
    while (got < max && f->pos < f->n) {
        CK_OBJECT_HANDLE h = f->h[f->pos++];
        p11_object *o = p11_hmap_get(&sess->slot->store.map, h);
        if (o && p11_object_visible(sess->slot, o)) /* destroyed since the init? */
            ph[got++] = h;
    }
    *count = got;
    p11_trace_out("count=%lu", got);
    return CKR_OK;
}

CK_RV p11_find_final(p11_session *sess)
{
    if (!sess->find)
        return CKR_OPERATION_NOT_INITIALIZED;
    free(sess->find->h);
    free(sess->find);
    sess->find = NULL;
    return CKR_OK;
}

/* ---- attributes ------------------------------------------------------------- */

CK_RV p11_get_attribute_value(p11_session *sess, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_PTR tmpl,
                              CK_ULONG n)
{
    p11_object *o;
    bool sensitive = false, invalid = false, small = false;

    if (!p11_buf_ok(tmpl, n, sizeof(*tmpl)))
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = p11_object_lookup(sess, h, &o);
    if (rv != CKR_OK)
        return rv;
    CK_KEY_TYPE kt = p11_attrs_key_type(&o->t.attrs);
    bool hidden = p11_attrs_bool(&o->t.attrs, CKA_SENSITIVE, false) ||
                  !p11_attrs_bool(&o->t.attrs, CKA_EXTRACTABLE, true);
    /* Every attribute is processed whatever happens to the others (spec 2.40, 5.7). */
    for (CK_ULONG i = 0; i < n; i++) {
        CK_ATTRIBUTE *t = &tmpl[i];
        const p11_attr_rule *r = p11_attr_rule_find(o->cls, kt, t->type);
        const p11_attr *at = p11_attrs_get(&o->t.attrs, t->type);
        if (r && (r->flags & P11_AF_SECRET) && (hidden || !at)) {
            t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
            sensitive = true;
        } else if (!at) {
            t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
            invalid = true;
        } else if (!t->pValue) {
            t->ulValueLen = at->len;
        } else if (t->ulValueLen >= at->len) {
            if (at->len)
                memcpy(t->pValue, at->value, at->len);
            t->ulValueLen = at->len;
        } else {
            t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
            small = true;
        }
    }
    if (sensitive)
        return CKR_ATTRIBUTE_SENSITIVE;
    if (invalid)
        return CKR_ATTRIBUTE_TYPE_INVALID;
    if (small)
        return CKR_BUFFER_TOO_SMALL;
    return CKR_OK;
}

CK_RV p11_get_object_size(p11_session *sess, CK_OBJECT_HANDLE h, CK_ULONG_PTR size)
{
    p11_object *o;
    if (!size)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = p11_object_lookup(sess, h, &o);
    if (rv != CKR_OK)
        return rv;
    CK_ULONG total = 0;
    for (size_t i = 0; i < o->t.attrs.n; i++)
        total += o->t.attrs.v[i].len;
    *size = total;
    return CKR_OK;
}
