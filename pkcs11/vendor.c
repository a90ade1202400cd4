/* The vendor table. Strings marked VERIFIED in shared/research/tokens.md are used as
 * is; the rest are our defaults (docs/pkcs11.md says which). */
#include "vendor.h"

#include <dlfcn.h>
#include <string.h>

#include "trace.h"
#include "vt_util.h"

static const char *const etoken_libs[] = {"libeToken.so", "libeTPkcs11.so", NULL};
static const char *const jacarta_libs[] = {"libjcPKCS11-2.so", "libjcPKCS11.so", NULL};
static const char *const kaztoken_libs[] = {"libkaztoken-pkcs11.so", "libkaztoken.so", NULL};

static const p11_vendor vendors[] = {
    {"etoken", etoken_libs, "SafeNet, Inc.", "SafeNet eToken PKCS#11"},
    {"jacarta", jacarta_libs, "Aladdin R.D.", "JaCarta PKCS#11"},
    {"kaztoken", kaztoken_libs, P11_MANUFACTURER, "Kaztoken PKCS#11"},
};

const p11_vendor *p11_vendor_by_name(const char *name)
{
    for (size_t i = 0; name && i < VT_ARRAY_LEN(vendors); i++)
        if (!strcmp(vendors[i].name, name))
            return &vendors[i];
    return NULL;
}

const p11_vendor *p11_vendor_by_library(const char *path)
{
    if (!path)
        return NULL;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (size_t i = 0; i < VT_ARRAY_LEN(vendors); i++)
        for (const char *const *l = vendors[i].libs; *l; l++)
            if (!strncmp(base, *l, strlen(*l)))
                return &vendors[i];
    return NULL;
}

const p11_vendor *p11_vendor_select(const char *opt)
{
    if (opt && *opt) {
        if (!strcmp(opt, "all"))
            return NULL;
        const p11_vendor *v = p11_vendor_by_name(opt);
        if (!v)
            p11_trace_msg("option vendor=%s: unknown vendor, showing every token", opt);
        return v;
    }
    Dl_info info;
    if (dladdr((void *)&p11_vendor_select, &info) && info.dli_fname)
        return p11_vendor_by_library(info.dli_fname);
    return NULL;
}

bool p11_vendor_allows(const p11_vendor *v, const char *family)
{
    if (!v)
        return true;
    return family && !strcmp(v->name, family);
}
