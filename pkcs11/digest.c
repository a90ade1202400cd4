/* Message digests (SHA-1, SHA-2) computed in the module; available without login,
 * as NSS expects. */
#include <string.h>

#include "op.h"
#include "trace.h"

CK_RV p11_digest_init(p11_session *s, CK_MECHANISM_PTR mech)
{
    p11_op *op;
    if (!mech)
        return CKR_ARGUMENTS_BAD;
    p11_trace_out("mech=%s", p11_tr_mech(mech));
    return p11_op_start(s, P11_OP_DIGEST, mech, CKF_DIGEST, NULL, &op);
}

static CK_RV digest_finish(p11_session *s, p11_op *op, const uint8_t *data, size_t len,
                           CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    size_t hlen = p11_hash_len(op->h.alg);
    if (!out) {
        *out_len = hlen;
        return CKR_OK;
    }
    if (*out_len < hlen) {
        *out_len = hlen;
        return CKR_BUFFER_TOO_SMALL;
    }
    p11_hash_update(&op->h, data, len);
    p11_hash_final(&op->h, out);
    *out_len = hlen;
    p11_session_end_op(s, P11_OP_DIGEST);
    return CKR_OK;
}

CK_RV p11_digest(p11_session *s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out,
                 CK_ULONG_PTR out_len)
{
    p11_op *op = s->op[P11_OP_DIGEST];
    if (!op)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (!out_len || !p11_buf_ok(data, len, 1) || op->multipart) {
        CK_RV rv = op->multipart ? CKR_OPERATION_ACTIVE : CKR_ARGUMENTS_BAD;
        p11_session_end_op(s, P11_OP_DIGEST);
        return rv;
    }
    return digest_finish(s, op, data, len, out, out_len);
}

CK_RV p11_digest_update(p11_session *s, CK_BYTE_PTR data, CK_ULONG len)
{
    p11_op *op = s->op[P11_OP_DIGEST];
    if (!op)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (!p11_buf_ok(data, len, 1)) {
        p11_session_end_op(s, P11_OP_DIGEST);
        return CKR_ARGUMENTS_BAD;
    }
    op->multipart = true;
    p11_hash_update(&op->h, data, len);
    return CKR_OK;
}

CK_RV p11_digest_key(p11_session *s, CK_OBJECT_HANDLE key)
{
    p11_op *op = s->op[P11_OP_DIGEST];
    p11_object *o;
    if (!op)
        return CKR_OPERATION_NOT_INITIALIZED;
    CK_RV rv = p11_object_lookup(s, key, &o);
    if (rv == CKR_OBJECT_HANDLE_INVALID)
        rv = CKR_KEY_HANDLE_INVALID;
    /* Only secret keys have a value to digest, and the card's keys never leave it. */
    else if (rv == CKR_OK)
        rv = (o->cls == CKO_PUBLIC_KEY || o->cls == CKO_PRIVATE_KEY || o->cls == CKO_SECRET_KEY)
                 ? CKR_KEY_INDIGESTIBLE
                 : CKR_KEY_HANDLE_INVALID;
    p11_session_end_op(s, P11_OP_DIGEST);
    return rv;
}

CK_RV p11_digest_final(p11_session *s, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    p11_op *op = s->op[P11_OP_DIGEST];
    if (!op)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (!out_len) {
        p11_session_end_op(s, P11_OP_DIGEST);
        return CKR_ARGUMENTS_BAD;
    }
    return digest_finish(s, op, NULL, 0, out, out_len);
}
