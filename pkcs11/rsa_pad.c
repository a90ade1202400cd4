/* RSA padding over OpenSSL's RSA_padding_* routines (deprecated in OpenSSL 3 but the
 * constant-time implementations; the EVP interface does not expose them without a
 * private key). */
#define OPENSSL_API_COMPAT 10101
#include "rsa_pad.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/rsa.h>

#include "vt_util.h"

CK_RV p11_pad_pkcs1_sign(const uint8_t *data, size_t len, uint8_t *em, size_t k)
{
    if (k < 11 || len > k - 11)
        return CKR_DATA_LEN_RANGE;
    if (RSA_padding_add_PKCS1_type_1(em, (int)k, data, (int)len) != 1)
        return CKR_FUNCTION_FAILED;
    return CKR_OK;
}

CK_RV p11_unpad_pkcs1_decrypt(const uint8_t *em, size_t k, uint8_t *out, size_t *out_len)
{
    /* OpenSSL wants the block without the leading zero when the caller stripped it;
     * giving the full k bytes with num = k is the documented form. */
    int n = RSA_padding_check_PKCS1_type_2(out, (int)k, em, (int)k, (int)k);
    if (n < 0)
        return CKR_ENCRYPTED_DATA_INVALID;
    *out_len = (size_t)n;
    return CKR_OK;
}

size_t p11_pss_max_salt(size_t modbits, size_t hlen)
{
    size_t em_len = (modbits - 1 + 7) / 8;
    return em_len < hlen + 2 ? 0 : em_len - hlen - 2;
}

CK_RV p11_pad_pss(p11_hash_alg hash, p11_hash_alg mgf, size_t salt_len, const uint8_t *mhash,
                  const uint8_t *n, size_t nlen, uint8_t *em)
{
    RSA *rsa = RSA_new();
    BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL);
    BIGNUM *be = BN_new();
    CK_RV rv = CKR_FUNCTION_FAILED;

    if (!rsa || !bn || !be || !BN_set_word(be, 65537) || !RSA_set0_key(rsa, bn, be, NULL))
        goto out;
    bn = be = NULL; /* owned by rsa */
    /* Writes RSA_size bytes, itself starting with a zero byte when the modulus has
     * 8k+1 bits (emLen one shorter than k). */
    memset(em, 0, nlen);
    if (RSA_padding_add_PKCS1_PSS_mgf1(rsa, em, mhash, p11_hash_md(hash), p11_hash_md(mgf),
                                       (int)salt_len) != 1)
        goto out;
    rv = CKR_OK;
out:
    BN_free(bn);
    BN_free(be);
    RSA_free(rsa);
    return rv;
}

CK_RV p11_unpad_oaep(p11_hash_alg hash, p11_hash_alg mgf, const uint8_t *label, size_t label_len,
                     const uint8_t *em, size_t k, uint8_t *out, size_t *out_len)
{
    /* The whole block, leading zero included: OpenSSL checks that byte too. */
    int n = RSA_padding_check_PKCS1_OAEP_mgf1(out, (int)k, em, (int)k, (int)k, label,
                                              (int)label_len, p11_hash_md(hash), p11_hash_md(mgf));
    if (n < 0)
        return CKR_ENCRYPTED_DATA_INVALID;
    *out_len = (size_t)n;
    return CKR_OK;
}
