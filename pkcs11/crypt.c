/* Encryption with public keys in software and decryption on the token (RSA PKCS#1
 * v1.5, OAEP, raw X.509). A decryption whose result did not fit keeps the plaintext
 * for the retry, so the card (and the PIN of an always-authenticate key) is asked once. */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "op.h"
#include "rsa_pad.h"
#include "slot.h"
#include "token_io.h"
#include "trace.h"

CK_RV p11_encrypt_init(p11_session *s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key)
{
    p11_object *o;
    p11_op *op;
    if (!mech)
        return CKR_ARGUMENTS_BAD;
    if (s->op[P11_OP_ENCRYPT])
        return CKR_OPERATION_ACTIVE;
    p11_trace_out("mech=%s", p11_tr_mech(mech));
    CK_RV rv = p11_op_key(s, key, CKO_PUBLIC_KEY, CKA_ENCRYPT, mech->mechanism, &o);
    if (rv != CKR_OK)
        return rv;
    rv = p11_op_start(s, P11_OP_ENCRYPT, mech, CKF_ENCRYPT, o, &op);
    if (rv != CKR_OK)
        return rv;
    rv = p11_op_load_public(op, o);
    if (rv != CKR_OK)
        p11_session_end_op(s, P11_OP_ENCRYPT);
    return rv;
}

static CK_RV encrypt_rsa(p11_op *op, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(op->pub, NULL);
    uint8_t block[1024];
    CK_RV rv = CKR_FUNCTION_FAILED;
    size_t hlen = p11_hash_len(op->pss_hash);

    if (!ctx || EVP_PKEY_encrypt_init(ctx) <= 0)
        goto out;
    switch (op->md->kind) {
    case P11_MK_RSA_PKCS:
        if (len > op->k - 11) {
            rv = CKR_DATA_LEN_RANGE;
            goto out;
        }
        if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0)
            goto out;
        break;
    case P11_MK_RSA_OAEP:
        if (len > op->k - 2 * hlen - 2) {
            rv = CKR_DATA_LEN_RANGE;
            goto out;
        }
        if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_rsa_oaep_md(ctx, p11_hash_md(op->pss_hash)) <= 0 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, p11_hash_md(op->mgf)) <= 0)
            goto out;
        if (op->label.len) {
            /* OpenSSL takes ownership of the label buffer */
            unsigned char *l = OPENSSL_memdup(op->label.data, op->label.len);
            if (!l || EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, l, (int)op->label.len) <= 0) {
                OPENSSL_free(l);
                goto out;
            }
        }
        break;
    case P11_MK_RSA_X509:
        if (len > op->k) {
            rv = CKR_DATA_LEN_RANGE;
            goto out;
        }
        memset(block, 0, op->k - len);
        if (len)
            memcpy(block + op->k - len, in, len);
        in = block;
        len = op->k;
        if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) <= 0)
            goto out;
        break;
    default:
        rv = CKR_MECHANISM_INVALID;
        goto out;
    }
    rv = EVP_PKEY_encrypt(ctx, out, out_len, in, len) > 0 ? CKR_OK : CKR_DATA_INVALID;
out:
    vt_wipe(block, sizeof(block));
    EVP_PKEY_CTX_free(ctx);
    return rv;
}

static CK_RV encrypt_finish(p11_session *s, p11_op *op, const uint8_t *data, size_t len,
                            CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    if (!out) {
        *out_len = op->k;
        return CKR_OK;
    }
    if (*out_len < op->k) {
        *out_len = op->k;
        return CKR_BUFFER_TOO_SMALL;
    }
    size_t n = *out_len;
    CK_RV rv = encrypt_rsa(op, data, len, out, &n);
    if (rv == CKR_OK)
        *out_len = n;
    p11_session_end_op(s, P11_OP_ENCRYPT);
    return rv;
}

CK_RV p11_encrypt(p11_session *s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out,
                  CK_ULONG_PTR out_len)
{
    p11_op *op = s->op[P11_OP_ENCRYPT];
    if (!op)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (!out_len || !p11_buf_ok(data, len, 1) || op->multipart) {
        CK_RV rv = op->multipart ? CKR_OPERATION_ACTIVE : CKR_ARGUMENTS_BAD;
        p11_session_end_op(s, P11_OP_ENCRYPT);
        return rv;
    }
    return encrypt_finish(s, op, data, len, out, out_len);
}

/* RSA encryption is single-part: *Update gathers, *Final encrypts. */
CK_RV p11_encrypt_update(p11_session *s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out,
                         CK_ULONG_PTR out_len)
{
    p11_op *op = s->op[P11_OP_ENCRYPT];
    CK_RV rv;
    (void)out;
    if (!op)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (!out_len || !p11_buf_ok(data, len, 1))
        rv = CKR_ARGUMENTS_BAD;
    else
        rv = p11_op_gather(op, data, len, op->k);
    if (rv != CKR_OK) {
        p11_session_end_op(s, P11_OP_ENCRYPT);
        return rv;
    }
    *out_len = 0;
    return CKR_OK;
}

CK_RV p11_encrypt_final(p11_session *s, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    p11_op *op = s->op[P11_OP_ENCRYPT];
    if (!op)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (!out_len) {
        p11_session_end_op(s, P11_OP_ENCRYPT);
        return CKR_ARGUMENTS_BAD;
    }
    bool ends = out && *out_len >= op->k;
    vt_buf data = op->data;
    if (ends)
        op->data = (vt_buf){0};
    CK_RV rv = encrypt_finish(s, op, data.data, data.len, out, out_len);
    if (ends)
        vt_buf_free(&data);
    return rv;
}

/* ---- decrypt ------------------------------------------------------------------ */

CK_RV p11_decrypt_init(p11_session *s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key)
{
    p11_object *o;
    p11_op *op;
    if (!mech)
        return CKR_ARGUMENTS_BAD;
    if (s->op[P11_OP_DECRYPT])
        return CKR_OPERATION_ACTIVE;
    p11_trace_out("mech=%s", p11_tr_mech(mech));
    CK_RV rv = p11_op_key(s, key, CKO_PRIVATE_KEY, CKA_DECRYPT, mech->mechanism, &o);
    if (rv != CKR_OK)
        return rv;
    if (!(s->slot->logged_in && s->slot->user == CKU_USER))
        return CKR_USER_NOT_LOGGED_IN;
    return p11_op_start(s, P11_OP_DECRYPT, mech, CKF_DECRYPT, o, &op);
}

/* The card's private-key step and the padding removal, into op->result. *gone: the
 * session was closed while the token worked (token_io.h): s and op are gone too. */
static CK_RV decrypt_rsa(p11_session *s, p11_op *op, const uint8_t *in, size_t len, bool *gone)
{
    p11_token *t = s->slot->token;
    p11_object *key;
    uint8_t em[1024];
    size_t em_len = sizeof(em);
    const uint8_t *n;
    size_t k;
    CK_RV rv = p11_op_private(s, op, &key);
    if (rv != CKR_OK)
        return rv;
    rv = p11_op_modulus(key, &n, &k);
    if (rv != CKR_OK)
        return rv;
    if (len != k || !in)
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    if (memcmp(in, n, k) >= 0)
        return CKR_ENCRYPTED_DATA_INVALID;
    if (!vt_buf_reserve(&op->result, k))
        return CKR_HOST_MEMORY;
    bool raw = t->ops->caps & P11_CAP_RSA_RAW;
    op->ctx_auth = false; /* one use of the key per context-specific login */
    if (op->md->kind == P11_MK_RSA_PKCS && (t->ops->caps & P11_CAP_RSA_PKCS1)) {
        size_t out = k;
        rv = p11_io_rsa_decrypt(s, key, P11_RSA_PKCS1, in, len, op->result.data, &out, gone);
        if (rv == CKR_OK)
            op->result.len = out;
        goto out;
    }
    if (!raw) {
        rv = CKR_MECHANISM_INVALID;
        goto out;
    }
    rv = p11_io_rsa_decrypt(s, key, P11_RSA_RAW, in, len, em, &em_len, gone);
    if (rv != CKR_OK)
        goto out;
    if (em_len != k) {
        rv = CKR_DEVICE_ERROR;
        goto out;
    }
    size_t out = 0;
    switch (op->md->kind) {
    case P11_MK_RSA_PKCS:
        rv = p11_unpad_pkcs1_decrypt(em, k, op->result.data, &out);
        break;
    case P11_MK_RSA_OAEP:
        rv = p11_unpad_oaep(op->pss_hash, op->mgf, op->label.data, op->label.len, em, k,
                            op->result.data, &out);
        break;
    default: /* CKM_RSA_X_509: the whole block */
        memcpy(op->result.data, em, k);
        out = k;
        break;
    }
    if (rv == CKR_OK)
        op->result.len = out;
out:
    vt_wipe(em, sizeof(em));
    return rv;
}

/* Deliver op->result, keeping it (and the operation) when the buffer is too small. */
static CK_RV decrypt_deliver(p11_session *s, p11_op *op, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    if (*out_len < op->result.len) {
        *out_len = op->result.len;
        op->have_result = true;
        return CKR_BUFFER_TOO_SMALL;
    }
    if (op->result.len)
        memcpy(out, op->result.data, op->result.len);
    *out_len = op->result.len;
    p11_session_end_op(s, P11_OP_DECRYPT);
    return CKR_OK;
}

static CK_RV decrypt_finish(p11_session *s, p11_op *op, const uint8_t *in, size_t len,
                            CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    bool gone = false;
    CK_RV rv;
    if (op->have_result) {
        if (!out) {
            *out_len = op->result.len;
            return CKR_OK;
        }
        return decrypt_deliver(s, op, out, out_len);
    }
    if (!out) {
        /* The plaintext is not known before the card is asked: k is the bound. */
        *out_len = op->k;
        return CKR_OK;
    }
    rv = decrypt_rsa(s, op, in, len, &gone);
    if (gone)
        return rv;
    if (rv == CKR_OK)
        return decrypt_deliver(s, op, out, out_len);
    p11_session_end_op(s, P11_OP_DECRYPT);
    return rv;
}

CK_RV p11_decrypt(p11_session *s, CK_BYTE_PTR in, CK_ULONG len, CK_BYTE_PTR out,
                  CK_ULONG_PTR out_len)
{
    p11_op *op = s->op[P11_OP_DECRYPT];
    if (!op)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (!out_len || !p11_buf_ok(in, len, 1) || op->multipart) {
        CK_RV rv = op->multipart ? CKR_OPERATION_ACTIVE : CKR_ARGUMENTS_BAD;
        p11_session_end_op(s, P11_OP_DECRYPT);
        return rv;
    }
    return decrypt_finish(s, op, in, len, out, out_len);
}

CK_RV p11_decrypt_update(p11_session *s, CK_BYTE_PTR in, CK_ULONG len, CK_BYTE_PTR out,
                         CK_ULONG_PTR out_len)
{
    p11_op *op = s->op[P11_OP_DECRYPT];
    CK_RV rv;
    (void)out;
    if (!op)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (!out_len || !p11_buf_ok(in, len, 1))
        rv = CKR_ARGUMENTS_BAD;
    else if (op->have_result)
        rv = CKR_OPERATION_ACTIVE;
    else
        rv = p11_op_gather(op, in, len, op->k);
    if (rv != CKR_OK) {
        p11_session_end_op(s, P11_OP_DECRYPT);
        return rv;
    }
    *out_len = 0;
    return CKR_OK;
}

CK_RV p11_decrypt_final(p11_session *s, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    p11_op *op = s->op[P11_OP_DECRYPT];
    if (!op)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (!out_len) {
        p11_session_end_op(s, P11_OP_DECRYPT);
        return CKR_ARGUMENTS_BAD;
    }
    /* the gathered input stays in op->data until the operation ends */
    return decrypt_finish(s, op, op->data.data, op->data.len, out, out_len);
}
