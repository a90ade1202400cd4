/* Per-token attribute index for C_FindObjectsInit: (CKA_CLASS | CKA_ID | CKA_LABEL,
 * value) -> the objects holding that value. A search narrows to the smallest matching
 * bucket instead of scanning every object. */
#ifndef P11_INDEX_H
#define P11_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p11.h"

typedef struct p11_object p11_object;

typedef struct p11_index_entry {
    uint64_t hash;
    CK_ATTRIBUTE_TYPE type;
    uint8_t *val;
    size_t len;
    p11_object **objs;
    size_t n, cap;
    bool used;    /* slot ever used (probe chains continue past it) */
    bool deleted; /* tombstone */
} p11_index_entry;

typedef struct p11_index {
    p11_index_entry *v;
    size_t cap, used, live;
} p11_index;

bool p11_index_is_indexed(CK_ATTRIBUTE_TYPE type);
/* Index o under each indexed attribute it has; all or nothing. */
CK_RV p11_index_add(p11_index *ix, p11_object *o);
/* Before o's attributes change or o is freed. */
void p11_index_remove(p11_index *ix, p11_object *o);
/* Candidates for a template: true with the smallest bucket over the template's indexed
 * attributes (possibly empty: nothing can match); false when the template has none. */
bool p11_index_candidates(const p11_index *ix, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                          p11_object *const **objs, size_t *count);
void p11_index_free(p11_index *ix);

#endif
