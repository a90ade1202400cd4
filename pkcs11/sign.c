/* Signing on the token and verification in software (RSA PKCS#1 v1.5, X.509 raw, PSS,
 * hash-and-sign; ECDSA over a hash or hash-and-sign), single- and multi-part. As the
 * spec has it, an operation ends with its result or with any error except
 * CKR_BUFFER_TOO_SMALL, and a length query (NULL output) leaves it active. */
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "op.h"
#include "rsa_pad.h"
#include "slot.h"
#include "token_io.h"
#include "trace.h"

/* The mechanism's input to the RSA step: data itself, or DigestInfo / hash of it. */
static CK_RV sign_input(p11_op *op, const uint8_t *data, size_t len, vt_buf *in)
{
    uint8_t hash[P11_HASH_MAX];
    if (!op->hashing) {
        if (len && !vt_buf_append(in, data, len))
            return CKR_HOST_MEMORY;
        return CKR_OK;
    }
    if (data)
        p11_hash_update(&op->h, data, len);
    p11_hash_final(&op->h, hash);
    size_t hlen = p11_hash_len(op->md->hash);
    if (op->md->kind == P11_MK_RSA_HASH_PKCS) {
        size_t plen;
        const uint8_t *prefix = p11_hash_digestinfo_prefix(op->md->hash, &plen);
        vt_buf_append(in, prefix, plen);
    }
    vt_buf_append(in, hash, hlen);
    vt_wipe(hash, sizeof(hash));
    return in->oom ? CKR_HOST_MEMORY : CKR_OK;
}

/* *gone: the session was closed while the token worked (token_io.h): s and op are
 * gone too. */
static CK_RV sign_rsa(p11_session *s, p11_op *op, const uint8_t *in, size_t len, uint8_t *sig,
                      size_t *sig_len, bool *gone)
{
    p11_token *t = s->slot->token;
    p11_object *key;
    const uint8_t *n;
    size_t k;
    uint8_t em[1024];
    const uint8_t *block = em;
    size_t block_len = 0;
    p11_rsa_op how = P11_RSA_RAW;
    CK_RV rv = p11_op_private(s, op, &key);
    if (rv != CKR_OK)
        return rv;
    rv = p11_op_modulus(key, &n, &k);
    if (rv != CKR_OK)
        return rv;
    bool raw = t->ops->caps & P11_CAP_RSA_RAW;
    switch (op->md->kind) {
    case P11_MK_RSA_PKCS:
    case P11_MK_RSA_HASH_PKCS:
        if (k < 11 || len > k - 11) {
            rv = CKR_DATA_LEN_RANGE;
            break;
        }
        if (t->ops->caps & P11_CAP_RSA_PKCS1) {
            how = P11_RSA_PKCS1;
            block = in;
            block_len = len;
            break;
        }
        rv = p11_pad_pkcs1_sign(in, len, em, k);
        block_len = k;
        break;
    case P11_MK_RSA_X509:
        /* Raw RSA: the input is a number below the modulus, zero-extended on the left. */
        if (len > k) {
            rv = CKR_DATA_LEN_RANGE;
            break;
        }
        memset(em, 0, k - len);
        if (len)
            memcpy(em + k - len, in, len);
        if (memcmp(em, n, k) >= 0)
            rv = CKR_DATA_INVALID;
        block_len = k;
        break;
    case P11_MK_RSA_PSS:
    case P11_MK_RSA_HASH_PSS:
        if (len != p11_hash_len(op->pss_hash)) {
            rv = CKR_DATA_LEN_RANGE;
            break;
        }
        rv = p11_pad_pss(op->pss_hash, op->mgf, op->salt_len, in, n, k, em);
        if (rv == CKR_OK && !raw)
            rv = CKR_MECHANISM_INVALID;
        block_len = k;
        break;
    default:
        rv = CKR_MECHANISM_INVALID;
        break;
    }
    /* A context-specific login covers one use of the key. */
    op->ctx_auth = false;
    if (rv == CKR_OK)
        rv = p11_io_rsa_sign(s, key, how, block, block_len, sig, sig_len, gone);
    vt_wipe(em, sizeof(em));
    return rv;
}

/* ECDSA on the token: the input is a hash (or, for CKM_ECDSA, whatever the caller
 * gives: the curve's order bounds what counts); the signature is r || s. */
static CK_RV sign_ec(p11_session *s, p11_op *op, const uint8_t *in, size_t len, uint8_t *sig,
                     size_t *sig_len, bool *gone)
{
    p11_token *t = s->slot->token;
    p11_object *key;
    size_t want = op->k;
    CK_RV rv = p11_op_private(s, op, &key);
    if (rv != CKR_OK)
        return rv;
    op->ctx_auth = false;
    if (!t->ops->ec_sign)
        return CKR_MECHANISM_INVALID;
    if (len == 0 || len > P11_HASH_MAX)
        return CKR_DATA_LEN_RANGE;
    rv = p11_io_ec_sign(s, key, in, len, sig, sig_len, gone);
    if (rv == CKR_OK && *sig_len != want)
        rv = CKR_DEVICE_ERROR;
    return rv;
}

CK_RV p11_sign_init(p11_session *s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key)
{
    p11_object *o;
    p11_op *op;
    if (!mech)
        return CKR_ARGUMENTS_BAD;
    if (s->op[P11_OP_SIGN])
        return CKR_OPERATION_ACTIVE;
    p11_trace_out("mech=%s", p11_tr_mech(mech));
    CK_RV rv = p11_op_key(s, key, CKO_PRIVATE_KEY, CKA_SIGN, mech->mechanism, &o);
    if (rv != CKR_OK)
        return rv;
    if (!(s->slot->logged_in && s->slot->user == CKU_USER))
        return CKR_USER_NOT_LOGGED_IN;
    return p11_op_start(s, P11_OP_SIGN, mech, CKF_SIGN, o, &op);
}

/* Shared tail of C_Sign and C_SignFinal. */
static CK_RV sign_finish(p11_session *s, p11_op *op, const uint8_t *data, size_t len,
                         CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
    vt_buf in = {0};
    size_t out_len;
    bool gone = false;
    CK_RV rv;

    if (!sig) {
        *sig_len = op->k; /* length query: the operation stays active */
        return CKR_OK;
    }
    if (*sig_len < op->k) {
        *sig_len = op->k;
        return CKR_BUFFER_TOO_SMALL;
    }
    rv = sign_input(op, data, len, &in);
    if (rv == CKR_OK) {
        out_len = *sig_len;
        rv = p11_mech_is_ec(op->md) ? sign_ec(s, op, in.data, in.len, sig, &out_len, &gone)
                                    : sign_rsa(s, op, in.data, in.len, sig, &out_len, &gone);
    }
    if (rv == CKR_OK)
        *sig_len = out_len;
    vt_buf_free(&in);
    if (!gone)
        p11_session_end_op(s, P11_OP_SIGN);
    return rv;
}

CK_RV p11_sign(p11_session *s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
               CK_ULONG_PTR sig_len)
{
    p11_op *op = s->op[P11_OP_SIGN];
    CK_RV rv;
    if (!op)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (!sig_len || !p11_buf_ok(data, len, 1)) {
        rv = CKR_ARGUMENTS_BAD;
        goto fail;
    }
    if (op->multipart) {
        rv = CKR_OPERATION_ACTIVE; /* C_SignUpdate was used: finish with C_SignFinal */
        goto fail;
    }
    return sign_finish(s, op, data, len, sig, sig_len);
fail:
    p11_session_end_op(s, P11_OP_SIGN);
    return rv;
}

CK_RV p11_sign_update(p11_session *s, CK_BYTE_PTR data, CK_ULONG len)
{
    p11_op *op = s->op[P11_OP_SIGN];
    CK_RV rv = CKR_OK;
    if (!op)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (!p11_buf_ok(data, len, 1)) {
        rv = CKR_ARGUMENTS_BAD;
    } else if (op->hashing) {
        op->multipart = true;
        p11_hash_update(&op->h, data, len);
    } else {
        rv = p11_op_gather(op, data, len, op->k);
    }
    if (rv != CKR_OK)
        p11_session_end_op(s, P11_OP_SIGN);
    return rv;
}

CK_RV p11_sign_final(p11_session *s, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
    p11_op *op = s->op[P11_OP_SIGN];
    if (!op)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (!sig_len) {
        p11_session_end_op(s, P11_OP_SIGN);
        return CKR_ARGUMENTS_BAD;
    }
    if (op->hashing)
        return sign_finish(s, op, NULL, 0, sig, sig_len);
    /* When this call ends the operation, the gathered input moves out of it first. */
    bool ends = sig && *sig_len >= op->k;
    vt_buf data = op->data;
    if (ends)
        op->data = (vt_buf){0};
    CK_RV rv = sign_finish(s, op, data.data, data.len, sig, sig_len);
    if (ends)
        vt_buf_free(&data);
    return rv;
}

/* ---- verify ------------------------------------------------------------------ */

/* ECDSA verification: r || s back into the DER ECDSA-Sig-Value OpenSSL checks. */
static CK_RV verify_ec(p11_op *op, const uint8_t *in, size_t len, const uint8_t *sig,
                       size_t sig_len)
{
    EVP_PKEY_CTX *ctx = NULL;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = NULL, *sv = NULL;
    unsigned char *der = NULL;
    CK_RV rv = CKR_FUNCTION_FAILED;
    size_t half = sig_len / 2;

    if (len == 0 || len > P11_HASH_MAX) {
        rv = CKR_DATA_LEN_RANGE;
        goto out;
    }
    r = BN_bin2bn(sig, (int)half, NULL);
    sv = BN_bin2bn(sig + half, (int)half, NULL);
    if (!es || !r || !sv || !ECDSA_SIG_set0(es, r, sv))
        goto out;
    r = sv = NULL; /* owned by es */
    int dlen = i2d_ECDSA_SIG(es, &der);
    ctx = EVP_PKEY_CTX_new(op->pub, NULL);
    if (dlen <= 0 || !ctx || EVP_PKEY_verify_init(ctx) <= 0)
        goto out;
    rv = EVP_PKEY_verify(ctx, der, (size_t)dlen, in, len) == 1 ? CKR_OK : CKR_SIGNATURE_INVALID;
out:
    OPENSSL_free(der);
    BN_free(r);
    BN_free(sv);
    ECDSA_SIG_free(es);
    EVP_PKEY_CTX_free(ctx);
    return rv;
}

static CK_RV verify_rsa(p11_op *op, const uint8_t *in, size_t len, const uint8_t *sig,
                        size_t sig_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(op->pub, NULL);
    uint8_t rec[1024];
    size_t rec_len = sizeof(rec);
    CK_RV rv = CKR_FUNCTION_FAILED;

    if (!ctx)
        goto out;
    switch (op->md->kind) {
    case P11_MK_RSA_PKCS:
    case P11_MK_RSA_HASH_PKCS:
        if (op->k < 11 || len > op->k - 11) {
            rv = CKR_DATA_LEN_RANGE;
            goto out;
        }
        if (EVP_PKEY_verify_recover_init(ctx) <= 0 ||
            EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0)
            goto out;
        rv = (EVP_PKEY_verify_recover(ctx, rec, &rec_len, sig, sig_len) > 0 && rec_len == len &&
              (len == 0 || memcmp(rec, in, len) == 0))
                 ? CKR_OK
                 : CKR_SIGNATURE_INVALID;
        break;
    case P11_MK_RSA_X509: {
        uint8_t want[1024];
        if (len > op->k) {
            rv = CKR_DATA_LEN_RANGE;
            goto out;
        }
        memset(want, 0, op->k - len);
        if (len)
            memcpy(want + op->k - len, in, len);
        if (EVP_PKEY_verify_recover_init(ctx) <= 0 ||
            EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) <= 0)
            goto out;
        rv = (EVP_PKEY_verify_recover(ctx, rec, &rec_len, sig, sig_len) > 0 && rec_len == op->k &&
              memcmp(rec, want, op->k) == 0)
                 ? CKR_OK
                 : CKR_SIGNATURE_INVALID;
        break;
    }
    case P11_MK_RSA_PSS:
    case P11_MK_RSA_HASH_PSS:
        if (len != p11_hash_len(op->pss_hash)) {
            rv = CKR_DATA_LEN_RANGE;
            goto out;
        }
        if (EVP_PKEY_verify_init(ctx) <= 0 ||
            EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_signature_md(ctx, p11_hash_md(op->pss_hash)) <= 0 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, p11_hash_md(op->mgf)) <= 0 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, (int)op->salt_len) <= 0)
            goto out;
        rv = EVP_PKEY_verify(ctx, sig, sig_len, in, len) > 0 ? CKR_OK : CKR_SIGNATURE_INVALID;
        break;
    default:
        rv = CKR_MECHANISM_INVALID;
        break;
    }
out:
    EVP_PKEY_CTX_free(ctx);
    return rv;
}

CK_RV p11_verify_init(p11_session *s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key)
{
    p11_object *o;
    p11_op *op;
    if (!mech)
        return CKR_ARGUMENTS_BAD;
    if (s->op[P11_OP_VERIFY])
        return CKR_OPERATION_ACTIVE;
    p11_trace_out("mech=%s", p11_tr_mech(mech));
    CK_RV rv = p11_op_key(s, key, CKO_PUBLIC_KEY, CKA_VERIFY, mech->mechanism, &o);
    if (rv != CKR_OK)
        return rv;
    rv = p11_op_start(s, P11_OP_VERIFY, mech, CKF_VERIFY, o, &op);
    if (rv != CKR_OK)
        return rv;
    rv = p11_op_load_public(op, o);
    if (rv != CKR_OK)
        p11_session_end_op(s, P11_OP_VERIFY);
    return rv;
}

static CK_RV verify_finish(p11_session *s, p11_op *op, const uint8_t *data, size_t len,
                           const uint8_t *sig, size_t sig_len)
{
    vt_buf in = {0};
    CK_RV rv;
    if (sig_len != op->k) {
        rv = CKR_SIGNATURE_LEN_RANGE;
        goto out;
    }
    rv = sign_input(op, data, len, &in);
    if (rv == CKR_OK)
        rv = p11_mech_is_ec(op->md) ? verify_ec(op, in.data, in.len, sig, sig_len)
                                    : verify_rsa(op, in.data, in.len, sig, sig_len);
out:
    vt_buf_free(&in);
    p11_session_end_op(s, P11_OP_VERIFY);
    return rv;
}

CK_RV p11_verify(p11_session *s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG sig_len)
{
    p11_op *op = s->op[P11_OP_VERIFY];
    CK_RV rv;
    if (!op)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (!sig || !p11_buf_ok(data, len, 1) || !p11_buf_ok(sig, sig_len, 1)) {
        rv = CKR_ARGUMENTS_BAD;
        goto fail;
    }
    if (op->multipart) {
        rv = CKR_OPERATION_ACTIVE;
        goto fail;
    }
    return verify_finish(s, op, data, len, sig, sig_len);
fail:
    p11_session_end_op(s, P11_OP_VERIFY);
    return rv;
}

CK_RV p11_verify_update(p11_session *s, CK_BYTE_PTR data, CK_ULONG len)
{
    p11_op *op = s->op[P11_OP_VERIFY];
    CK_RV rv = CKR_OK;
    if (!op)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (!p11_buf_ok(data, len, 1)) {
        rv = CKR_ARGUMENTS_BAD;
    } else if (op->hashing) {
        op->multipart = true;
        p11_hash_update(&op->h, data, len);
    } else {
        rv = p11_op_gather(op, data, len, op->k);
    }
    if (rv != CKR_OK)
        p11_session_end_op(s, P11_OP_VERIFY);
    return rv;
}

CK_RV p11_verify_final(p11_session *s, CK_BYTE_PTR sig, CK_ULONG sig_len)
{
    p11_op *op = s->op[P11_OP_VERIFY];
    if (!op)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (!sig || !p11_buf_ok(sig, sig_len, 1)) {
        p11_session_end_op(s, P11_OP_VERIFY);
        return CKR_ARGUMENTS_BAD;
    }
    if (op->hashing)
        return verify_finish(s, op, NULL, 0, sig, sig_len);
    vt_buf data = op->data;
    op->data = (vt_buf){0};
    CK_RV rv = verify_finish(s, op, data.data, data.len, sig, sig_len);
    vt_buf_free(&data);
    return rv;
}
