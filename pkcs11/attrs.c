/* Owned attribute sets (p11_attrs) and driver object records (p11_tobj).
 * Every value is a private copy; freeing or replacing a value wipes it, because a set
 * may carry key material on its way to a driver. */
#include "attrs.h"

#include <stdlib.h>
#include <string.h>

#include "token.h"
#include "vt_util.h"

static void attr_wipe_value(p11_attr *at)
{
    if (at->value) {
        vt_wipe(at->value, at->len);
        free(at->value);
    }
    at->value = NULL;
    at->len = 0;
}

void p11_attrs_free(p11_attrs *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        attr_wipe_value(&a->v[i]);
    free(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
}

static p11_attr *attrs_find(const p11_attrs *a, CK_ATTRIBUTE_TYPE type)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].type == type)
            return &a->v[i];
    return NULL;
}

static CK_RV attrs_grow(p11_attrs *a)
{
    if (a->n < a->cap)
        return CKR_OK;
    size_t cap = a->cap ? a->cap * 2 : 8;
    p11_attr *v = realloc(a->v, cap * sizeof(*v));
    if (!v)
        return CKR_HOST_MEMORY;
    a->v = v;
    a->cap = cap;
    return CKR_OK;
}

CK_RV p11_attrs_set(p11_attrs *a, CK_ATTRIBUTE_TYPE type, const void *value, CK_ULONG len)
{
    void *copy = NULL;
    CK_RV rv = CKR_OK;

    if (!a || (len > 0 && !value))
        return CKR_ARGUMENTS_BAD;
    if (len > 0) {
        copy = malloc(len);
        if (!copy)
            return CKR_HOST_MEMORY;
        memcpy(copy, value, len);
    }
    p11_attr *at = attrs_find(a, type);
    if (!at) {
        rv = attrs_grow(a);
        if (rv != CKR_OK)
            goto out;
        at = &a->v[a->n++];
        at->type = type;
        at->value = NULL;
        at->len = 0;
    }
    attr_wipe_value(at);
    at->value = copy;
    at->len = len;
    copy = NULL;
out:
    free(copy);
    return rv;
}

CK_RV p11_attrs_set_ulong(p11_attrs *a, CK_ATTRIBUTE_TYPE type, CK_ULONG v)
{
    return p11_attrs_set(a, type, &v, sizeof(v));
}

CK_RV p11_attrs_set_bool(p11_attrs *a, CK_ATTRIBUTE_TYPE type, bool v)
{
    CK_BBOOL b = v ? CK_TRUE : CK_FALSE;
    return p11_attrs_set(a, type, &b, sizeof(b));
}

void p11_attrs_remove(p11_attrs *a, CK_ATTRIBUTE_TYPE type)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++) {
        if (a->v[i].type != type)
            continue;
        attr_wipe_value(&a->v[i]);
        memmove(&a->v[i], &a->v[i + 1], (a->n - i - 1) * sizeof(a->v[0]));
        a->n--;
        return;
    }
}

CK_RV p11_attrs_copy(p11_attrs *dst, const p11_attrs *src)
{
    p11_attrs tmp = {0};
    CK_RV rv = CKR_OK;

    if (!dst || !src)
        return CKR_ARGUMENTS_BAD;
    for (size_t i = 0; i < src->n; i++) {
        rv = p11_attrs_set(&tmp, src->v[i].type, src->v[i].value, src->v[i].len);
        if (rv != CKR_OK)
            goto out;
    }
    p11_attrs_free(dst);
    *dst = tmp;
    tmp = (p11_attrs){0};
out:
    p11_attrs_free(&tmp);
    return rv;
}

CK_RV p11_attrs_from_template(p11_attrs *a, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    p11_attrs tmp = {0};
    CK_RV rv = CKR_OK;

    if (!a || !p11_buf_ok(tmpl, n, sizeof(*tmpl)))
        return CKR_ARGUMENTS_BAD;
    for (CK_ULONG i = 0; i < n; i++) {
        const CK_ATTRIBUTE *t = &tmpl[i];
        /* CK_UNAVAILABLE_INFORMATION is ~0: no buffer is that large */
        if (!p11_buf_ok(t->pValue, t->ulValueLen, 1)) {
            rv = CKR_ATTRIBUTE_VALUE_INVALID;
            goto out;
        }
        const p11_attr *prev = attrs_find(&tmp, t->type);
        if (prev) {
            if (prev->len != t->ulValueLen ||
                (prev->len > 0 && memcmp(prev->value, t->pValue, prev->len) != 0)) {
                rv = CKR_TEMPLATE_INCONSISTENT;
                goto out;
            }
            continue;
        }
        rv = p11_attrs_set(&tmp, t->type, t->pValue, t->ulValueLen);
        if (rv != CKR_OK)
            goto out;
    }
    p11_attrs_free(a);
    *a = tmp;
    tmp = (p11_attrs){0};
out:
    p11_attrs_free(&tmp);
    return rv;
}

const p11_attr *p11_attrs_get(const p11_attrs *a, CK_ATTRIBUTE_TYPE type)
{
    if (!a)
        return NULL;
    return attrs_find(a, type);
}

bool p11_attrs_get_ulong(const p11_attrs *a, CK_ATTRIBUTE_TYPE type, CK_ULONG *out)
{
    const p11_attr *at = p11_attrs_get(a, type);
    if (!at || at->len != sizeof(CK_ULONG))
        return false;
    if (out)
        memcpy(out, at->value, sizeof(CK_ULONG));
    return true;
}

bool p11_attrs_get_bool(const p11_attrs *a, CK_ATTRIBUTE_TYPE type, bool *out)
{
    const p11_attr *at = p11_attrs_get(a, type);
    if (!at || at->len != sizeof(CK_BBOOL))
        return false;
    if (out)
        *out = *(const CK_BBOOL *)at->value != CK_FALSE;
    return true;
}

bool p11_attrs_match(const p11_attrs *a, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    if (n > 0 && !tmpl)
        return false;
    for (CK_ULONG i = 0; i < n; i++) {
        const p11_attr *at = p11_attrs_get(a, tmpl[i].type);
        if (!at || at->len != tmpl[i].ulValueLen)
            return false;
        if (at->len > 0 && (!tmpl[i].pValue || memcmp(at->value, tmpl[i].pValue, at->len) != 0))
            return false;
    }
    return true;
}

void p11_tobj_free(p11_tobj *o)
{
    if (!o)
        return;
    p11_attrs_free(&o->attrs);
    vt_wipe(o->ref, sizeof(o->ref));
    o->ref_len = 0;
}

void p11_tobjs_free(p11_tobj *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        p11_tobj_free(&v[i]);
    free(v);
}
