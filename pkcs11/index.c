/* Attribute index: open addressing over (type, value) buckets of object pointers. */
#include "index.h"

#include <stdlib.h>
#include <string.h>

#include "object.h"

static const CK_ATTRIBUTE_TYPE indexed[] = {CKA_CLASS, CKA_ID, CKA_LABEL};

bool p11_index_is_indexed(CK_ATTRIBUTE_TYPE type)
{
    for (size_t i = 0; i < sizeof(indexed) / sizeof(indexed[0]); i++)
        if (indexed[i] == type)
            return true;
    return false;
}

static uint64_t ix_hash(CK_ATTRIBUTE_TYPE type, const void *val, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    const uint8_t *p = val;
    for (size_t i = 0; i < sizeof(type); i++) {
        h ^= (uint8_t)(type >> (8 * i));
        h *= 1099511628211ULL;
    }
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static bool ix_equal(const p11_index_entry *e, uint64_t h, CK_ATTRIBUTE_TYPE type, const void *val,
                     size_t len)
{
    return e->used && !e->deleted && e->hash == h && e->type == type && e->len == len &&
           (len == 0 || memcmp(e->val, val, len) == 0);
}

static p11_index_entry *ix_find(const p11_index *ix, CK_ATTRIBUTE_TYPE type, const void *val,
                                size_t len)
{
    if (ix->cap == 0)
        return NULL;
    uint64_t h = ix_hash(type, val, len);
    size_t mask = ix->cap - 1;
    for (size_t i = (size_t)h & mask; ix->v[i].used; i = (i + 1) & mask)
        if (ix_equal(&ix->v[i], h, type, val, len))
            return &ix->v[i];
    return NULL;
}

static CK_RV ix_rehash(p11_index *ix, size_t cap)
{
    p11_index_entry *v = calloc(cap, sizeof(*v));
    if (!v)
        return CKR_HOST_MEMORY;
    for (size_t i = 0; i < ix->cap; i++) {
        p11_index_entry *e = &ix->v[i];
        if (!e->used || e->deleted)
            continue;
        size_t j = (size_t)e->hash & (cap - 1);
        while (v[j].used)
            j = (j + 1) & (cap - 1);
        v[j] = *e;
    }
    free(ix->v);
    ix->v = v;
    ix->cap = cap;
    ix->used = ix->live;
    return CKR_OK;
}

/* The bucket for (type, value), created when missing. */
static CK_RV ix_bucket(p11_index *ix, CK_ATTRIBUTE_TYPE type, const void *val, size_t len,
                       p11_index_entry **out)
{
    p11_index_entry *e = ix_find(ix, type, val, len);
    if (e) {
        *out = e;
        return CKR_OK;
    }
    if ((ix->used + 1) * 4 >= ix->cap * 3) {
        size_t cap = ix->cap ? ix->cap : 16;
        while ((ix->live + 1) * 2 >= cap)
            cap *= 2;
        CK_RV rv = ix_rehash(ix, cap);
        if (rv != CKR_OK)
            return rv;
    }
    uint8_t *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (!copy)
            return CKR_HOST_MEMORY;
        memcpy(copy, val, len);
    }
    uint64_t h = ix_hash(type, val, len);
    size_t mask = ix->cap - 1, i = (size_t)h & mask;
    while (ix->v[i].used && !ix->v[i].deleted)
        i = (i + 1) & mask;
    e = &ix->v[i];
    if (!e->used)
        ix->used++;
    memset(e, 0, sizeof(*e));
    e->used = true;
    e->hash = h;
    e->type = type;
    e->val = copy;
    e->len = len;
    ix->live++;
    *out = e;
    return CKR_OK;
}

static void ix_unlink(p11_index *ix, p11_index_entry *e, p11_object *o)
{
    for (size_t k = 0; k < e->n; k++) {
        if (e->objs[k] == o) {
            e->objs[k] = e->objs[--e->n];
            break;
        }
    }
    if (e->n == 0) {
        free(e->val);
        free(e->objs);
        e->val = NULL;
        e->objs = NULL;
        e->cap = 0;
        e->deleted = true;
        ix->live--;
    }
}

CK_RV p11_index_add(p11_index *ix, p11_object *o)
{
    size_t done = 0;
    CK_RV rv = CKR_OK;
    for (; done < sizeof(indexed) / sizeof(indexed[0]); done++) {
        const p11_attr *at = p11_attrs_get(&o->t.attrs, indexed[done]);
        if (!at)
            continue;
        p11_index_entry *e;
        rv = ix_bucket(ix, at->type, at->value, at->len, &e);
        if (rv != CKR_OK)
            goto out;
        if (e->n == e->cap) {
            size_t cap = e->cap ? e->cap * 2 : 4;
            p11_object **v = realloc(e->objs, cap * sizeof(*v));
            if (!v) {
                if (e->n == 0)
                    ix_unlink(ix, e, o);
                rv = CKR_HOST_MEMORY;
                goto out;
            }
            e->objs = v;
            e->cap = cap;
        }
        e->objs[e->n++] = o;
    }
out:
    if (rv != CKR_OK) {
        /* undo the attributes already indexed */
        for (size_t i = 0; i < done; i++) {
            const p11_attr *at = p11_attrs_get(&o->t.attrs, indexed[i]);
            p11_index_entry *e = at ? ix_find(ix, at->type, at->value, at->len) : NULL;
            if (e)
                ix_unlink(ix, e, o);
        }
    }
    return rv;
}

void p11_index_remove(p11_index *ix, p11_object *o)
{
    for (size_t i = 0; i < sizeof(indexed) / sizeof(indexed[0]); i++) {
        const p11_attr *at = p11_attrs_get(&o->t.attrs, indexed[i]);
        p11_index_entry *e = at ? ix_find(ix, at->type, at->value, at->len) : NULL;
        if (e)
            ix_unlink(ix, e, o);
    }
}

bool p11_index_candidates(const p11_index *ix, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                          p11_object *const **objs, size_t *count)
{
    bool any = false;
    *objs = NULL;
    *count = 0;
    for (CK_ULONG i = 0; i < n; i++) {
        if (!p11_index_is_indexed(tmpl[i].type))
            continue;
        if (!p11_buf_ok(tmpl[i].pValue, tmpl[i].ulValueLen, 1))
            continue; /* matches nothing: p11_attrs_match compares lengths first */
        const p11_index_entry *e = ix_find(ix, tmpl[i].type, tmpl[i].pValue, tmpl[i].ulValueLen);
        if (!e) {
            *objs = NULL;
            *count = 0;
            return true; /* no object has this value: nothing matches */
        }
        if (!any || e->n < *count) {
            *objs = e->objs;
            *count = e->n;
        }
        any = true;
    }
    return any;
}

void p11_index_free(p11_index *ix)
{
    for (size_t i = 0; i < ix->cap; i++) {
        free(ix->v[i].val);
        free(ix->v[i].objs);
    }
    free(ix->v);
    memset(ix, 0, sizeof(*ix));
}
