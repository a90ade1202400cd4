/* Common include for the module: the PKCS#11 types (2.40 from p11-kit's header, 3.0
 * additions from p11_v3.h) and the few module-wide definitions. */
#ifndef P11_P11_H
#define P11_P11_H

#include <p11-kit/pkcs11.h>

#include "p11_v3.h"

#endif
