/* Mechanisms: the table, and what a token supports given its driver's capabilities.
 * RSA public-key operations (verify, encrypt) run in software and are always offered;
 * the private-key side needs the driver: PKCS#1 v1.5 with either raw RSA or on-token
 * padding, PSS / OAEP / X.509 only with raw RSA (the module pads). ECDSA (sign on the
 * token, verify in software) only for drivers with EC keys. */
#include "mech.h"

#include <string.h>

#include "slot.h"
#include "trace.h"
#include "vt_util.h"

static const p11_mech_desc mechs[] = {
    {CKM_RSA_PKCS_KEY_PAIR_GEN, P11_MK_RSA_KEYGEN, P11_SHA1},
    {CKM_RSA_PKCS, P11_MK_RSA_PKCS, P11_SHA1},
    {CKM_RSA_X_509, P11_MK_RSA_X509, P11_SHA1},
    {CKM_SHA1_RSA_PKCS, P11_MK_RSA_HASH_PKCS, P11_SHA1},
    {CKM_SHA224_RSA_PKCS, P11_MK_RSA_HASH_PKCS, P11_SHA224},
    {CKM_SHA256_RSA_PKCS, P11_MK_RSA_HASH_PKCS, P11_SHA256},
    {CKM_SHA384_RSA_PKCS, P11_MK_RSA_HASH_PKCS, P11_SHA384},
    {CKM_SHA512_RSA_PKCS, P11_MK_RSA_HASH_PKCS, P11_SHA512},
    {CKM_RSA_PKCS_PSS, P11_MK_RSA_PSS, P11_SHA1},
    {CKM_SHA1_RSA_PKCS_PSS, P11_MK_RSA_HASH_PSS, P11_SHA1},
    {CKM_SHA224_RSA_PKCS_PSS, P11_MK_RSA_HASH_PSS, P11_SHA224},
    {CKM_SHA256_RSA_PKCS_PSS, P11_MK_RSA_HASH_PSS, P11_SHA256},
    {CKM_SHA384_RSA_PKCS_PSS, P11_MK_RSA_HASH_PSS, P11_SHA384},
    {CKM_SHA512_RSA_PKCS_PSS, P11_MK_RSA_HASH_PSS, P11_SHA512},
    {CKM_RSA_PKCS_OAEP, P11_MK_RSA_OAEP, P11_SHA1},
    {CKM_ECDSA, P11_MK_ECDSA, P11_SHA1},
    {CKM_ECDSA_SHA1, P11_MK_ECDSA_HASH, P11_SHA1},
    {CKM_ECDSA_SHA224, P11_MK_ECDSA_HASH, P11_SHA224},
    {CKM_ECDSA_SHA256, P11_MK_ECDSA_HASH, P11_SHA256},
    {CKM_ECDSA_SHA384, P11_MK_ECDSA_HASH, P11_SHA384},
    {CKM_ECDSA_SHA512, P11_MK_ECDSA_HASH, P11_SHA512},
    {CKM_SHA_1, P11_MK_DIGEST, P11_SHA1},
    {CKM_SHA224, P11_MK_DIGEST, P11_SHA224},
    {CKM_SHA256, P11_MK_DIGEST, P11_SHA256},
    {CKM_SHA384, P11_MK_DIGEST, P11_SHA384},
    {CKM_SHA512, P11_MK_DIGEST, P11_SHA512},
};

const p11_mech_desc *p11_mech_find(CK_MECHANISM_TYPE type)
{
    for (size_t i = 0; i < VT_ARRAY_LEN(mechs); i++)
        if (mechs[i].type == type)
            return &mechs[i];
    return NULL;
}

bool p11_mech_is_ec(const p11_mech_desc *md)
{
    return md && (md->kind == P11_MK_ECDSA || md->kind == P11_MK_ECDSA_HASH);
}

/* EC key sizes (bits of the group order) the ECDSA path takes: P-192 to P-521. */
#define P11_EC_MIN_BITS 192
#define P11_EC_MAX_BITS 521

CK_FLAGS p11_mech_flags(const p11_slot *s, const p11_mech_desc *md)
{
    unsigned caps = s->token ? s->token->ops->caps : 0;
    bool raw = caps & P11_CAP_RSA_RAW;
    bool pkcs1 = raw || (caps & P11_CAP_RSA_PKCS1);

    switch (md->kind) {
    case P11_MK_RSA_KEYGEN:
        return (caps & P11_CAP_KEYGEN_RSA) ? CKF_GENERATE_KEY_PAIR | CKF_HW : 0;
    case P11_MK_RSA_PKCS:
        return CKF_VERIFY | CKF_ENCRYPT | (pkcs1 ? CKF_SIGN | CKF_DECRYPT | CKF_HW : 0);
    case P11_MK_RSA_X509:
        return CKF_VERIFY | CKF_ENCRYPT | (raw ? CKF_SIGN | CKF_DECRYPT | CKF_HW : 0);
    case P11_MK_RSA_HASH_PKCS:
        return CKF_VERIFY | (pkcs1 ? CKF_SIGN | CKF_HW : 0);
    case P11_MK_RSA_PSS:
    case P11_MK_RSA_HASH_PSS:
        return CKF_VERIFY | (raw ? CKF_SIGN | CKF_HW : 0);
    case P11_MK_RSA_OAEP:
        return CKF_ENCRYPT | (raw ? CKF_DECRYPT | CKF_HW : 0);
    case P11_MK_ECDSA:
    case P11_MK_ECDSA_HASH:
        return (caps & P11_CAP_EC) ? CKF_SIGN | CKF_VERIFY | CKF_HW | CKF_EC_F_P |
                                         CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS
                                   : 0;
    case P11_MK_DIGEST:
        return CKF_DIGEST;
    }
    return 0;
}

CK_RV p11_get_mechanism_list(p11_slot *s, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count)
{
    CK_ULONG n = 0;
    if (!count)
        return CKR_ARGUMENTS_BAD;
    for (size_t i = 0; i < VT_ARRAY_LEN(mechs); i++)
        if (p11_mech_flags(s, &mechs[i]))
            n++;
    if (!list) {
        *count = n;
        return CKR_OK;
    }
    if (*count < n) {
        *count = n;
        return CKR_BUFFER_TOO_SMALL;
    }
    n = 0;
    for (size_t i = 0; i < VT_ARRAY_LEN(mechs); i++)
        if (p11_mech_flags(s, &mechs[i]))
            list[n++] = mechs[i].type;
    *count = n;
    p11_trace_out("count=%lu", n);
    return CKR_OK;
}

CK_RV p11_get_mechanism_info(p11_slot *s, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info)
{
    if (!info)
        return CKR_ARGUMENTS_BAD;
    const p11_mech_desc *md = p11_mech_find(type);
    CK_FLAGS flags = md ? p11_mech_flags(s, md) : 0;
    if (!flags)
        return CKR_MECHANISM_INVALID;
    memset(info, 0, sizeof(*info));
    info->flags = flags;
    if (p11_mech_is_ec(md)) {
        info->ulMinKeySize = P11_EC_MIN_BITS;
        info->ulMaxKeySize = P11_EC_MAX_BITS;
    } else if (md->kind != P11_MK_DIGEST) {
        info->ulMinKeySize = s->token->ops->rsa_min_bits;
        info->ulMaxKeySize = s->token->ops->rsa_max_bits;
    }
    p11_trace_out("min=%lu max=%lu flags=0x%lx", info->ulMinKeySize, info->ulMaxKeySize,
                  info->flags);
    return CKR_OK;
}
