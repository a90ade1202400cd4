/* The mechanism table: what each mechanism is, which token capabilities it needs and
 * what C_GetMechanismList / C_GetMechanismInfo report for a token. */
#ifndef P11_MECH_H
#define P11_MECH_H

#include <stdbool.h>

#include "hash.h"
#include "p11.h"

typedef struct p11_slot p11_slot;

typedef enum p11_mech_kind {
    P11_MK_RSA_KEYGEN,
    P11_MK_RSA_PKCS,      /* raw PKCS#1 v1.5 over caller data */
    P11_MK_RSA_X509,      /* raw RSA */
    P11_MK_RSA_HASH_PKCS, /* hash, DigestInfo, PKCS#1 v1.5 */
    P11_MK_RSA_PSS,       /* PSS over a caller's hash */
    P11_MK_RSA_HASH_PSS,  /* hash, then PSS */
    P11_MK_RSA_OAEP,
    P11_MK_ECDSA,      /* ECDSA over a caller's hash */
    P11_MK_ECDSA_HASH, /* hash, then ECDSA */
    P11_MK_DIGEST,
} p11_mech_kind;

typedef struct p11_mech_desc {
    CK_MECHANISM_TYPE type;
    p11_mech_kind kind;
    p11_hash_alg hash; /* hashing mechanisms */
} p11_mech_desc;

const p11_mech_desc *p11_mech_find(CK_MECHANISM_TYPE type);
/* An ECDSA mechanism (its keys are CKK_EC; every other key mechanism's are CKK_RSA)? */
bool p11_mech_is_ec(const p11_mech_desc *md);
/* Flags (CKF_SIGN...) the token supports for this mechanism; 0 = not supported. */
CK_FLAGS p11_mech_flags(const p11_slot *s, const p11_mech_desc *md);

CK_RV p11_get_mechanism_list(p11_slot *s, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count);
CK_RV p11_get_mechanism_info(p11_slot *s, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info);

#endif
