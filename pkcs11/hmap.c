/* Handle map: open addressing, linear probing, tombstones, rehash at 3/4 load. */
#include "hmap.h"

#include <stdlib.h>

static size_t hm_hash(CK_ULONG key)
{
    /* Handles are small consecutive integers: spread them (64-bit mix). */
    unsigned long long x = key;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

void p11_hmap_free(p11_hmap *m)
{
    if (!m)
        return;
    free(m->v);
    m->v = NULL;
    m->cap = m->used = m->live = 0;
}

static CK_RV hm_rehash(p11_hmap *m, size_t cap)
{
    p11_hmap_slot *v = calloc(cap, sizeof(*v));
    if (!v)
        return CKR_HOST_MEMORY;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->v[i].key == 0 || m->v[i].val == NULL)
            continue;
        size_t j = hm_hash(m->v[i].key) & (cap - 1);
        while (v[j].key != 0)
            j = (j + 1) & (cap - 1);
        v[j] = m->v[i];
    }
    free(m->v);
    m->v = v;
    m->cap = cap;
    m->used = m->live;
    return CKR_OK;
}

CK_RV p11_hmap_put(p11_hmap *m, CK_ULONG key, void *val)
{
    if (key == 0 || !val)
        return CKR_ARGUMENTS_BAD;
    if ((m->used + 1) * 4 >= m->cap * 3) {
        size_t cap = m->cap ? m->cap : 16;
        while ((m->live + 1) * 2 >= cap)
            cap *= 2;
        CK_RV rv = hm_rehash(m, cap);
        if (rv != CKR_OK)
            return rv;
    }
    size_t mask = m->cap - 1, i = hm_hash(key) & mask;
    size_t tomb = (size_t)-1;
    while (m->v[i].key != 0) {
        if (m->v[i].key == key && m->v[i].val != NULL) {
            m->v[i].val = val;
            return CKR_OK;
        }
        if (m->v[i].val == NULL && tomb == (size_t)-1)
            tomb = i;
        i = (i + 1) & mask;
    }
    if (tomb != (size_t)-1) {
        i = tomb;
    } else {
        m->used++;
    }
    m->v[i].key = key;
    m->v[i].val = val;
    m->live++;
    return CKR_OK;
}

static size_t hm_find(const p11_hmap *m, CK_ULONG key)
{
    if (m->cap == 0 || key == 0)
        return (size_t)-1;
    size_t mask = m->cap - 1, i = hm_hash(key) & mask;
    while (m->v[i].key != 0) {
        if (m->v[i].key == key && m->v[i].val != NULL)
            return i;
        i = (i + 1) & mask;
    }
    return (size_t)-1;
}

void *p11_hmap_get(const p11_hmap *m, CK_ULONG key)
{
    size_t i = hm_find(m, key);
    return i == (size_t)-1 ? NULL : m->v[i].val;
}

void *p11_hmap_del(p11_hmap *m, CK_ULONG key)
{
    size_t i = hm_find(m, key);
    if (i == (size_t)-1)
        return NULL;
    void *val = m->v[i].val;
    m->v[i].val = NULL; /* tombstone: key stays so probing continues past it */
    m->live--;
    return val;
}

bool p11_hmap_next(const p11_hmap *m, size_t *pos, CK_ULONG *key, void **val)
{
    for (size_t i = *pos; i < m->cap; i++) {
        if (m->v[i].key != 0 && m->v[i].val != NULL) {
            *pos = i + 1;
            if (key)
                *key = m->v[i].key;
            if (val)
                *val = m->v[i].val;
            return true;
        }
    }
    *pos = m->cap;
    return false;
}
