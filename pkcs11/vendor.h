/* Vendor personalities of the module itself: loaded under a vendor's library name
 * (a symlink named libjcPKCS11-2.so, say) or with vendor=NAME, the module shows only
 * that vendor's tokens and that vendor's C_GetInfo strings. */
#ifndef P11_VENDOR_H
#define P11_VENDOR_H

#include <stdbool.h>

#include "p11.h"

typedef struct p11_vendor p11_vendor;
struct p11_vendor {
    const char *name;         /* token family, as p11_card_driver.vendor / profile name */
    const char *const *libs;  /* library file names that select it (prefix match) */
    const char *manufacturer; /* C_GetInfo manufacturerID */
    const char *description;  /* C_GetInfo libraryDescription */
};

#define P11_MANUFACTURER "vtoken"
#define P11_DESCRIPTION  "vtoken virtual NCA tokens"

/* opt: the vendor= option ("" = none given, "all" = no filter). Otherwise decided by
 * the file name this module was loaded from. NULL: no filter. */
const p11_vendor *p11_vendor_select(const char *opt);
const p11_vendor *p11_vendor_by_name(const char *name);
const p11_vendor *p11_vendor_by_library(const char *path);
/* A slot of this family is shown under v (NULL v shows everything). */
bool p11_vendor_allows(const p11_vendor *v, const char *family);

#endif
