/* Private-key operations of a PKCS#12 token with the open file's keys, in the
 * keystore's private OpenSSL library context: raw RSA (the module pads: PKCS#1 v1.5,
 * PSS, OAEP, X.509), ECDSA returning r || s, and random numbers. OpenSSL's error queue
 * is left as the application had it. */
#include <string.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "drv_pkcs12.h"
#include "trace.h"

/* The key of obj, of the wanted type. */
static CK_RV key_for(p12_token *k, const p11_tobj *obj, const char *type, EVP_PKEY **out)
{
    if (!k->file)
        return CKR_USER_NOT_LOGGED_IN;
    *out = p11_p12_key_of(k, obj);
    if (!*out)
        return CKR_KEY_HANDLE_INVALID;
    return EVP_PKEY_is_a(*out, type) ? CKR_OK : CKR_KEY_TYPE_INCONSISTENT;
}

static CK_RV rsa_raw(p11_token *t, const p11_tobj *obj, bool sign, p11_rsa_op op, const uint8_t *in,
                     size_t in_len, uint8_t *out, size_t *out_len)
{
    p12_token *k = t->drv;
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *ctx = NULL;

    if (op != P11_RSA_RAW)
        return CKR_MECHANISM_INVALID; /* we offer raw RSA only: the module pads */
    CK_RV rv = key_for(k, obj, "RSA", &pk);
    if (rv != CKR_OK)
        return rv;
    size_t size = (size_t)EVP_PKEY_get_size(pk);
    if (in_len != size)
        return CKR_DATA_LEN_RANGE;
    if (*out_len < size) {
        *out_len = size;
        return CKR_BUFFER_TOO_SMALL;
    }
    ERR_set_mark();
    rv = CKR_FUNCTION_FAILED;
    ctx = EVP_PKEY_CTX_new_from_pkey(ks_p12_ctx_libctx(k->ctx), pk, NULL);
    if (!ctx)
        goto out;
    if (sign) {
        if (EVP_PKEY_sign_init(ctx) <= 0 ||
            EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) <= 0 ||
            EVP_PKEY_sign(ctx, out, out_len, in, in_len) <= 0)
            goto out;
    } else {
        if (EVP_PKEY_decrypt_init(ctx) <= 0 ||
            EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) <= 0 ||
            EVP_PKEY_decrypt(ctx, out, out_len, in, in_len) <= 0)
            goto out;
    }
    rv = *out_len == size ? CKR_OK : CKR_FUNCTION_FAILED;
out:
    if (rv != CKR_OK)
        p11_trace_msg("pkcs12 %s: raw RSA %s failed", k->name, sign ? "signature" : "decryption");
    EVP_PKEY_CTX_free(ctx);
    ERR_pop_to_mark();
    return rv;
}

CK_RV p11_p12_rsa_sign(p11_token *t, const p11_tobj *key, p11_rsa_op op, const uint8_t *in,
                       size_t in_len, uint8_t *out, size_t *out_len)
{
    return rsa_raw(t, key, true, op, in, in_len, out, out_len);
}

CK_RV p11_p12_rsa_decrypt(p11_token *t, const p11_tobj *key, p11_rsa_op op, const uint8_t *in,
                          size_t in_len, uint8_t *out, size_t *out_len)
{
    return rsa_raw(t, key, false, op, in, in_len, out, out_len);
}

CK_RV p11_p12_ec_sign(p11_token *t, const p11_tobj *key, const uint8_t *hash, size_t hash_len,
                      uint8_t *out, size_t *out_len)
{
    p12_token *k = t->drv;
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    ECDSA_SIG *sig = NULL;
    uint8_t der[160];
    size_t der_len = sizeof(der);

    CK_RV rv = key_for(k, key, "EC", &pk);
    if (rv != CKR_OK)
        return rv;
    int bits = EVP_PKEY_get_bits(pk);
    size_t n = bits > 0 ? ((size_t)bits + 7) / 8 : 0;
    if (n == 0 || 2 * n > sizeof(der))
        return CKR_KEY_SIZE_RANGE;
    if (*out_len < 2 * n) {
        *out_len = 2 * n;
        return CKR_BUFFER_TOO_SMALL;
    }
    ERR_set_mark();
    rv = CKR_FUNCTION_FAILED;
    ctx = EVP_PKEY_CTX_new_from_pkey(ks_p12_ctx_libctx(k->ctx), pk, NULL);
    /* No digest is set: the input is signed as the hash it is (cut to the order's
     * length, as ECDSA does). */
    if (!ctx || EVP_PKEY_sign_init(ctx) <= 0 ||
        EVP_PKEY_sign(ctx, der, &der_len, hash, hash_len) <= 0)
        goto out;
    const unsigned char *q = der;
    sig = d2i_ECDSA_SIG(NULL, &q, (long)der_len);
    if (!sig)
        goto out;
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG_get0(sig, &r, &s);
    if (BN_bn2binpad(r, out, (int)n) != (int)n || BN_bn2binpad(s, out + n, (int)n) != (int)n)
        goto out;
    *out_len = 2 * n;
    rv = CKR_OK;
out:
    if (rv != CKR_OK)
        p11_trace_msg("pkcs12 %s: ECDSA signature failed", k->name);
    ECDSA_SIG_free(sig);
    EVP_PKEY_CTX_free(ctx);
    ERR_pop_to_mark();
    return rv;
}

CK_RV p11_p12_random(p11_token *t, uint8_t *out, size_t len)
{
    p12_token *k = t->drv;
    ERR_set_mark();
    int ok = RAND_bytes_ex(ks_p12_ctx_libctx(k->ctx), out, len, 0);
    ERR_pop_to_mark();
    return ok == 1 ? CKR_OK : CKR_FUNCTION_FAILED;
}
