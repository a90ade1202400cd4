/* A map from CK_ULONG handles to pointers (sessions, objects), open addressing with
 * linear probing. Lookups stay O(1) however many sessions Java opens or objects a
 * token holds; iteration order is unspecified. */
#ifndef P11_HMAP_H
#define P11_HMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "p11.h"

typedef struct p11_hmap_slot {
    CK_ULONG key; /* 0 = empty; handles are never 0 */
    void *val;    /* NULL with key != 0 = deleted */
} p11_hmap_slot;

typedef struct p11_hmap {
    p11_hmap_slot *v;
    size_t cap;  /* power of two, or 0 */
    size_t used; /* live + deleted */
    size_t live;
} p11_hmap;

void p11_hmap_free(p11_hmap *m);
/* key must be non-zero and val non-NULL; replaces an existing entry. */
CK_RV p11_hmap_put(p11_hmap *m, CK_ULONG key, void *val);
void *p11_hmap_get(const p11_hmap *m, CK_ULONG key);
void *p11_hmap_del(p11_hmap *m, CK_ULONG key); /* returns the removed value */

/* Iterate: for (size_t i = 0; p11_hmap_next(m, &i, &key, &val);) ... Removing the
 * current entry during the walk is allowed; adding is not. */
bool p11_hmap_next(const p11_hmap *m, size_t *pos, CK_ULONG *key, void **val);

#endif
