/* Constant-to-name tables. Only the values the module uses or clients commonly send;
 * everything else prints as hex. */
#include "names.h"

#include <stdio.h>

#include "vt_util.h"

typedef struct p11_name {
    CK_ULONG v;
    const char *name;
} p11_name;

#define N(x)                                                                                       \
    {                                                                                              \
        x, #x                                                                                      \
    }

static const p11_name rv_names[] = {
    N(CKR_OK),
    N(CKR_CANCEL),
    N(CKR_HOST_MEMORY),
    N(CKR_SLOT_ID_INVALID),
    N(CKR_GENERAL_ERROR),
    N(CKR_FUNCTION_FAILED),
    N(CKR_ARGUMENTS_BAD),
    N(CKR_NO_EVENT),
    N(CKR_NEED_TO_CREATE_THREADS),
    N(CKR_CANT_LOCK),
    N(CKR_ATTRIBUTE_READ_ONLY),
    N(CKR_ATTRIBUTE_SENSITIVE),
    N(CKR_ATTRIBUTE_TYPE_INVALID),
    N(CKR_ATTRIBUTE_VALUE_INVALID),
    N(CKR_ACTION_PROHIBITED),
    N(CKR_DATA_INVALID),
    N(CKR_DATA_LEN_RANGE),
    N(CKR_DEVICE_ERROR),
    N(CKR_DEVICE_MEMORY),
    N(CKR_DEVICE_REMOVED),
    N(CKR_ENCRYPTED_DATA_INVALID),
    N(CKR_ENCRYPTED_DATA_LEN_RANGE),
    N(CKR_FUNCTION_CANCELED),
    N(CKR_FUNCTION_NOT_PARALLEL),
    N(CKR_FUNCTION_NOT_SUPPORTED),
    N(CKR_KEY_HANDLE_INVALID),
    N(CKR_KEY_SIZE_RANGE),
    N(CKR_KEY_TYPE_INCONSISTENT),
    N(CKR_KEY_NOT_NEEDED),
    N(CKR_KEY_CHANGED),
    N(CKR_KEY_NEEDED),
    N(CKR_KEY_INDIGESTIBLE),
    N(CKR_KEY_FUNCTION_NOT_PERMITTED),
    N(CKR_KEY_NOT_WRAPPABLE),
    N(CKR_KEY_UNEXTRACTABLE),
    N(CKR_MECHANISM_INVALID),
    N(CKR_MECHANISM_PARAM_INVALID),
    N(CKR_OBJECT_HANDLE_INVALID),
    N(CKR_OPERATION_ACTIVE),
    N(CKR_OPERATION_NOT_INITIALIZED),
    N(CKR_PIN_INCORRECT),
    N(CKR_PIN_INVALID),
    N(CKR_PIN_LEN_RANGE),
    N(CKR_PIN_EXPIRED),
    N(CKR_PIN_LOCKED),
    N(CKR_SESSION_CLOSED),
    N(CKR_SESSION_COUNT),
    N(CKR_SESSION_HANDLE_INVALID),
    N(CKR_SESSION_PARALLEL_NOT_SUPPORTED),
    N(CKR_SESSION_READ_ONLY),
    N(CKR_SESSION_EXISTS),
    N(CKR_SESSION_READ_ONLY_EXISTS),
    N(CKR_SESSION_READ_WRITE_SO_EXISTS),
    N(CKR_SIGNATURE_INVALID),
    N(CKR_SIGNATURE_LEN_RANGE),
    N(CKR_TEMPLATE_INCOMPLETE),
    N(CKR_TEMPLATE_INCONSISTENT),
    N(CKR_TOKEN_NOT_PRESENT),
    N(CKR_TOKEN_NOT_RECOGNIZED),
    N(CKR_TOKEN_WRITE_PROTECTED),
    N(CKR_UNWRAPPING_KEY_HANDLE_INVALID),
    N(CKR_USER_ALREADY_LOGGED_IN),
    N(CKR_USER_NOT_LOGGED_IN),
    N(CKR_USER_PIN_NOT_INITIALIZED),
    N(CKR_USER_TYPE_INVALID),
    N(CKR_USER_ANOTHER_ALREADY_LOGGED_IN),
    N(CKR_USER_TOO_MANY_TYPES),
    N(CKR_WRAPPED_KEY_INVALID),
    N(CKR_WRAPPING_KEY_HANDLE_INVALID),
    N(CKR_RANDOM_SEED_NOT_SUPPORTED),
    N(CKR_RANDOM_NO_RNG),
    N(CKR_DOMAIN_PARAMS_INVALID),
    N(CKR_CURVE_NOT_SUPPORTED),
    N(CKR_BUFFER_TOO_SMALL),
    N(CKR_SAVED_STATE_INVALID),
    N(CKR_INFORMATION_SENSITIVE),
    N(CKR_STATE_UNSAVEABLE),
    N(CKR_CRYPTOKI_NOT_INITIALIZED),
    N(CKR_CRYPTOKI_ALREADY_INITIALIZED),
    N(CKR_MUTEX_BAD),
    N(CKR_MUTEX_NOT_LOCKED),
    N(CKR_NEW_PIN_MODE),
    N(CKR_NEXT_OTP),
    N(CKR_PIN_TOO_WEAK),
    N(CKR_PUBLIC_KEY_INVALID),
    N(CKR_FUNCTION_REJECTED),
    N(CKR_TOKEN_RESOURCE_EXCEEDED),
    N(CKR_OPERATION_CANCEL_FAILED),
};

static const p11_name mech_names[] = {
    N(CKM_RSA_PKCS_KEY_PAIR_GEN),
    N(CKM_RSA_PKCS),
    N(CKM_RSA_9796),
    N(CKM_RSA_X_509),
    N(CKM_MD5_RSA_PKCS),
    N(CKM_SHA1_RSA_PKCS),
    N(CKM_RSA_PKCS_OAEP),
    N(CKM_RSA_PKCS_PSS),
    N(CKM_SHA1_RSA_PKCS_PSS),
    N(CKM_SHA256_RSA_PKCS),
    N(CKM_SHA384_RSA_PKCS),
    N(CKM_SHA512_RSA_PKCS),
    N(CKM_SHA256_RSA_PKCS_PSS),
    N(CKM_SHA384_RSA_PKCS_PSS),
    N(CKM_SHA512_RSA_PKCS_PSS),
    N(CKM_SHA224_RSA_PKCS),
    N(CKM_SHA224_RSA_PKCS_PSS),
    N(CKM_MD5),
    N(CKM_SHA_1),
    N(CKM_SHA224),
    N(CKM_SHA256),
    N(CKM_SHA384),
    N(CKM_SHA512),
    N(CKM_SHA_1_HMAC),
    N(CKM_SHA256_HMAC),
    N(CKM_EC_KEY_PAIR_GEN),
    N(CKM_ECDSA),
    N(CKM_ECDSA_SHA1),
    N(CKM_ECDSA_SHA256),
    N(CKM_ECDH1_DERIVE),
    N(CKM_AES_KEY_GEN),
    N(CKM_AES_CBC),
    N(CKM_AES_CBC_PAD),
    N(CKM_AES_GCM),
    N(CKM_GENERIC_SECRET_KEY_GEN),
};

static const p11_name attr_names[] = {
    N(CKA_CLASS),
    N(CKA_TOKEN),
    N(CKA_PRIVATE),
    N(CKA_LABEL),
    N(CKA_UNIQUE_ID),
    N(CKA_APPLICATION),
    N(CKA_VALUE),
    N(CKA_OBJECT_ID),
    N(CKA_CERTIFICATE_TYPE),
    N(CKA_ISSUER),
    N(CKA_SERIAL_NUMBER),
    N(CKA_AC_ISSUER),
    N(CKA_OWNER),
    N(CKA_ATTR_TYPES),
    N(CKA_TRUSTED),
    N(CKA_CERTIFICATE_CATEGORY),
    N(CKA_JAVA_MIDP_SECURITY_DOMAIN),
    N(CKA_URL),
    N(CKA_HASH_OF_SUBJECT_PUBLIC_KEY),
    N(CKA_HASH_OF_ISSUER_PUBLIC_KEY),
    N(CKA_NAME_HASH_ALGORITHM),
    N(CKA_CHECK_VALUE),
    N(CKA_KEY_TYPE),
    N(CKA_SUBJECT),
    N(CKA_ID),
    N(CKA_SENSITIVE),
    N(CKA_ENCRYPT),
    N(CKA_DECRYPT),
    N(CKA_WRAP),
    N(CKA_UNWRAP),
    N(CKA_SIGN),
    N(CKA_SIGN_RECOVER),
    N(CKA_VERIFY),
    N(CKA_VERIFY_RECOVER),
    N(CKA_DERIVE),
    N(CKA_START_DATE),
    N(CKA_END_DATE),
    N(CKA_MODULUS),
    N(CKA_MODULUS_BITS),
    N(CKA_PUBLIC_EXPONENT),
    N(CKA_PRIVATE_EXPONENT),
    N(CKA_PRIME_1),
    N(CKA_PRIME_2),
    N(CKA_EXPONENT_1),
    N(CKA_EXPONENT_2),
    N(CKA_COEFFICIENT),
    N(CKA_PUBLIC_KEY_INFO),
    N(CKA_PRIME),
    N(CKA_SUBPRIME),
    N(CKA_BASE),
    N(CKA_VALUE_BITS),
    N(CKA_VALUE_LEN),
    N(CKA_EXTRACTABLE),
    N(CKA_LOCAL),
    N(CKA_NEVER_EXTRACTABLE),
    N(CKA_ALWAYS_SENSITIVE),
    N(CKA_KEY_GEN_MECHANISM),
    N(CKA_MODIFIABLE),
    N(CKA_COPYABLE),
    N(CKA_DESTROYABLE),
    N(CKA_EC_PARAMS),
    N(CKA_EC_POINT),
    N(CKA_ALWAYS_AUTHENTICATE),
    N(CKA_WRAP_WITH_TRUSTED),
    N(CKA_WRAP_TEMPLATE),
    N(CKA_UNWRAP_TEMPLATE),
    N(CKA_DERIVE_TEMPLATE),
    N(CKA_ALLOWED_MECHANISMS),
    N(CKA_HW_FEATURE_TYPE),
    N(CKA_PROFILE_ID),
};

static const p11_name class_names[] = {
    N(CKO_DATA),       N(CKO_CERTIFICATE), N(CKO_PUBLIC_KEY),        N(CKO_PRIVATE_KEY),
    N(CKO_SECRET_KEY), N(CKO_HW_FEATURE),  N(CKO_DOMAIN_PARAMETERS), N(CKO_MECHANISM),
    N(CKO_OTP_KEY),    N(CKO_PROFILE),
};

static const p11_name user_names[] = {N(CKU_SO), N(CKU_USER), N(CKU_CONTEXT_SPECIFIC)};

#undef N

static const char *lookup(const p11_name *t, size_t n, CK_ULONG v)
{
    static _Thread_local char buf[4][24];
    static _Thread_local unsigned next;
    for (size_t i = 0; i < n; i++)
        if (t[i].v == v)
            return t[i].name;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof(buf[0]), "0x%lx", v);
    return b;
}

const char *p11_rv_name(CK_RV rv)
{
    return lookup(rv_names, VT_ARRAY_LEN(rv_names), rv);
}

const char *p11_mech_name(CK_MECHANISM_TYPE m)
{
    return lookup(mech_names, VT_ARRAY_LEN(mech_names), m);
}

const char *p11_attr_name(CK_ATTRIBUTE_TYPE a)
{
    return lookup(attr_names, VT_ARRAY_LEN(attr_names), a);
}

const char *p11_class_name(CK_OBJECT_CLASS c)
{
    return lookup(class_names, VT_ARRAY_LEN(class_names), c);
}

const char *p11_user_name(CK_USER_TYPE u)
{
    return lookup(user_names, VT_ARRAY_LEN(user_names), u);
}
