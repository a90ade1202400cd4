/* Secret wiping and constant-time comparison, the one place that does either. */
#include "vt_util.h"

#include <openssl/crypto.h>

void vt_wipe(void *p, size_t len)
{
    if (p != NULL && len > 0)
        OPENSSL_cleanse(p, len);
}

int vt_ct_memcmp(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len);
}
