/* Common include for the module: the PKCS#11 types (2.40 from p11-kit's header, 3.0
 * additions from p11_v3.h) and the few module-wide definitions. */
#ifndef P11_P11_H
#define P11_P11_H

#include <p11-kit/pkcs11.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p11_v3.h"

/* Can the caller's buffer exist: n elements of size bytes at p (NULL only when n is 0),
 * inside the address space? A length near ULONG_MAX with a small buffer is the caller's
 * mistake, but reading it would be ours: such arguments are CKR_ARGUMENTS_BAD. */
static inline bool p11_buf_ok(const void *p, CK_ULONG n, size_t size)
{
    if (n == 0)
        return true;
    if (p == NULL || n > (CK_ULONG)PTRDIFF_MAX / size)
        return false;
    return (uintptr_t)p <= UINTPTR_MAX - n * size;
}

#endif
