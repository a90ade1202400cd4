/* Names of PKCS#11 constants for the trace and for test failure messages:
 * p11_rv_name(CKR_PIN_INCORRECT) -> "CKR_PIN_INCORRECT". Unknown values come back as
 * hex in a thread-local buffer, so every function here is safe from any thread. */
#ifndef P11_NAMES_H
#define P11_NAMES_H

#include "p11.h"

const char *p11_rv_name(CK_RV rv);
const char *p11_mech_name(CK_MECHANISM_TYPE m);
const char *p11_attr_name(CK_ATTRIBUTE_TYPE a);
const char *p11_class_name(CK_OBJECT_CLASS c);
const char *p11_user_name(CK_USER_TYPE u);

#endif
