/* Owned attribute sets: what a token object is, as the module and the drivers see it.
 * Values are copied in; sets holding secrets are wiped on free. */
#ifndef P11_ATTRS_H
#define P11_ATTRS_H

#include <stdbool.h>
#include <stddef.h>

#include "p11.h"

typedef struct p11_attr {
    CK_ATTRIBUTE_TYPE type;
    void *value;   /* NULL when len == 0 */
    CK_ULONG len;
} p11_attr;

typedef struct p11_attrs {
    p11_attr *v;
    size_t n, cap;
} p11_attrs;

void p11_attrs_free(p11_attrs *a); /* wipes values */
CK_RV p11_attrs_copy(p11_attrs *dst, const p11_attrs *src);
/* Copy a caller's template; CKR_ATTRIBUTE_VALUE_INVALID on NULL value with len > 0,
 * CKR_TEMPLATE_INCONSISTENT on a repeated type with different values. */
CK_RV p11_attrs_from_template(p11_attrs *a, const CK_ATTRIBUTE *tmpl, CK_ULONG n);

/* Set (replace) one attribute. */
CK_RV p11_attrs_set(p11_attrs *a, CK_ATTRIBUTE_TYPE type, const void *value, CK_ULONG len);
CK_RV p11_attrs_set_ulong(p11_attrs *a, CK_ATTRIBUTE_TYPE type, CK_ULONG v);
CK_RV p11_attrs_set_bool(p11_attrs *a, CK_ATTRIBUTE_TYPE type, bool v);
void p11_attrs_remove(p11_attrs *a, CK_ATTRIBUTE_TYPE type);

const p11_attr *p11_attrs_get(const p11_attrs *a, CK_ATTRIBUTE_TYPE type);
bool p11_attrs_get_ulong(const p11_attrs *a, CK_ATTRIBUTE_TYPE type, CK_ULONG *out);
bool p11_attrs_get_bool(const p11_attrs *a, CK_ATTRIBUTE_TYPE type, bool *out);

/* Every attribute of the template is present in a with an equal value. */
bool p11_attrs_match(const p11_attrs *a, const CK_ATTRIBUTE *tmpl, CK_ULONG n);

#endif
