/* Attribute rules per object class (PKCS#11 2.40 §4): which attributes an object of a
 * class has, their defaults, which the application may give at creation or key
 * generation or change later, and which are the secret parts of a private key. Every
 * object the module shows is completed against these rules, so clients that read many
 * attributes at once (SunPKCS11) always find them. */
#ifndef P11_OBJATTR_H
#define P11_OBJATTR_H

#include <stdbool.h>

#include "attrs.h"
#include "p11.h"

#define P11_AF_CREATE   0x0001u /* may appear in C_CreateObject / C_CopyObject templates */
#define P11_AF_MODIFY   0x0002u /* may be changed by C_SetAttributeValue */
#define P11_AF_GENERATE 0x0004u /* may appear in C_GenerateKeyPair templates */
#define P11_AF_SECRET   0x0008u /* private key component: never revealed while sensitive */
#define P11_AF_DEFAULT  0x0010u /* filled with the rule's default when missing */
#define P11_AF_BOOL     0x0100u /* value is a CK_BBOOL */
#define P11_AF_ULONG    0x0200u /* value is a CK_ULONG */
#define P11_AF_DATE     0x0400u /* value is empty or a CK_DATE */

typedef struct p11_attr_rule {
    CK_ATTRIBUTE_TYPE type;
    unsigned flags;
    CK_ULONG dflt; /* for P11_AF_DEFAULT booleans/ulongs; byte strings default to empty */
} p11_attr_rule;

/* The rule for type on an object of class cls (key type kt for keys); NULL when the
 * attribute does not belong to such an object. */
const p11_attr_rule *p11_attr_rule_find(CK_OBJECT_CLASS cls, CK_KEY_TYPE kt,
                                        CK_ATTRIBUTE_TYPE type);
/* Value format check: CKR_ATTRIBUTE_VALUE_INVALID for a bad length or boolean. */
CK_RV p11_attr_check_value(const p11_attr_rule *r, const void *v, CK_ULONG len);
/* Check an application template against the rules: CKR_ATTRIBUTE_TYPE_INVALID for an
 * attribute the class does not have, CKR_ATTRIBUTE_READ_ONLY for one the application
 * may not give here (need = P11_AF_CREATE, P11_AF_GENERATE or P11_AF_MODIFY),
 * CKR_ATTRIBUTE_VALUE_INVALID for a malformed value. */
CK_RV p11_attrs_check_template(CK_OBJECT_CLASS cls, CK_KEY_TYPE kt, const p11_attrs *a,
                               unsigned need);
/* Fill defaults and derived attributes (CKA_MODULUS_BITS, CKA_PUBLIC_KEY_INFO,
 * certificate fields, CKA_CHECK_VALUE). */
CK_RV p11_obj_complete(p11_attrs *a);

CK_OBJECT_CLASS p11_attrs_class(const p11_attrs *a); /* CK_UNAVAILABLE_INFORMATION */
CK_KEY_TYPE p11_attrs_key_type(const p11_attrs *a);  /* CK_UNAVAILABLE_INFORMATION */
bool p11_attrs_bool(const p11_attrs *a, CK_ATTRIBUTE_TYPE t, bool dflt);

#endif
