/* Sessions: open/close, session state, C_GetSessionInfo, operation state for digests
 * and C_SessionCancel. */
#include "session.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "object.h"
#include "slot.h"
#include "token_io.h"
#include "trace.h"

bool p11_session_rw(const p11_session *s)
{
    return (s->flags & CKF_RW_SESSION) != 0;
}

CK_STATE p11_session_state(const p11_session *s)
{
    const p11_slot *slot = s->slot;
    bool rw = p11_session_rw(s);
    if (slot->logged_in && slot->user == CKU_SO)
        return CKS_RW_SO_FUNCTIONS;
    if (slot->logged_in && slot->user == CKU_USER)
        return rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
    return rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
}

p11_session *p11_session_get(p11_module *m, CK_SESSION_HANDLE h)
{
    return p11_hmap_get(&m->sessions, h);
}

p11_session *p11_session_find(p11_module *m, CK_SESSION_HANDLE h)
{
    (void)p11_module_lock(m);
    p11_session *s = p11_hmap_get(&m->sessions, h);
    p11_module_unlock(m);
    return s;
}

void p11_op_free(p11_op *op)
{
    if (!op)
        return;
    p11_hash_wipe(&op->h);
    vt_buf_free(&op->label);
    vt_buf_free(&op->data);
    vt_buf_free(&op->result);
    EVP_PKEY_free(op->pub);
    vt_wipe(op, sizeof(*op));
    free(op);
}

void p11_session_end_op(p11_session *s, p11_op_kind kind)
{
    p11_op_free(s->op[kind]);
    s->op[kind] = NULL;
}

static void find_free(p11_findop *f)
{
    if (!f)
        return;
    free(f->h);
    free(f);
}

/* Unlink and free one session; the caller decides about logging out. */
static void session_free(p11_session *s)
{
    p11_slot *slot = s->slot;
    p11_objects_session_closed(slot, s);
    for (size_t i = 0; i < slot->nsessions; i++) {
        if (slot->sessions[i] == s) {
            slot->sessions[i] = slot->sessions[--slot->nsessions];
            break;
        }
    }
    (void)p11_module_lock(slot->m);
    p11_hmap_del(&slot->m->sessions, s->handle);
    p11_module_unlock(slot->m);
    for (int k = 0; k < P11_OP_COUNT; k++)
        p11_op_free(s->op[k]);
    find_free(s->find);
    free(s);
}

void p11_session_close_all(p11_slot *slot)
{
    /* A private-key operation running without the slot lock may be reading its
     * session's operation: let it finish first. */
    p11_gate_drain(slot);
    while (slot->nsessions > 0)
        session_free(slot->sessions[slot->nsessions - 1]);
}

/* Closing the application's last session with a token logs it out (spec 2.40,
 * C_CloseSession). */
static void logout_if_last(p11_slot *slot)
{
    if (slot->nsessions > 0 || !slot->logged_in)
        return;
    if (slot->token)
        (void)p11_io_logout(slot);
    slot->logged_in = false;
    p11_objects_login_changed(slot, true);
}

CK_RV p11_open_session(p11_slot *slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
                       CK_SESSION_HANDLE_PTR ph)
{
    p11_module *m = slot->m;
    p11_session *s = NULL;
    CK_RV rv = CKR_OK;

    if (!ph)
        return CKR_ARGUMENTS_BAD;
    if (!(flags & CKF_SERIAL_SESSION))
        return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
    if (flags & ~(CK_FLAGS)(CKF_SERIAL_SESSION | CKF_RW_SESSION))
        return CKR_ARGUMENTS_BAD;
    if (!(flags & CKF_RW_SESSION) && slot->logged_in && slot->user == CKU_SO)
        return CKR_SESSION_READ_WRITE_SO_EXISTS;
    if ((flags & CKF_RW_SESSION) && (slot->info.flags & CKF_WRITE_PROTECTED))
        return CKR_TOKEN_WRITE_PROTECTED;
    if (slot->nsessions == slot->sessions_cap) {
        size_t cap = slot->sessions_cap ? slot->sessions_cap * 2 : 8;
        p11_session **v = realloc(slot->sessions, cap * sizeof(*v));
        if (!v)
            return CKR_HOST_MEMORY;
        slot->sessions = v;
        slot->sessions_cap = cap;
    }
    s = calloc(1, sizeof(*s));
    if (!s)
        return CKR_HOST_MEMORY;
    s->slot = slot;
    s->flags = flags;
    s->app = app;
    s->notify = notify; /* never called: the module raises no surrender callbacks */
    (void)p11_module_lock(m);
    s->handle = p11_module_new_session_handle(m);
    rv = p11_hmap_put(&m->sessions, s->handle, s);
    p11_module_unlock(m);
    if (rv != CKR_OK) {
        free(s);
        return rv;
    }
    slot->sessions[slot->nsessions++] = s;
    *ph = s->handle;
    p11_trace_out("hSession=%lu", s->handle);
    return CKR_OK;
}

CK_RV p11_close_session(p11_session *s)
{
    p11_slot *slot = s->slot;
    session_free(s);
    logout_if_last(slot);
    return CKR_OK;
}

CK_RV p11_close_all_sessions(p11_slot *slot)
{
    p11_session_close_all(slot);
    logout_if_last(slot);
    return CKR_OK;
}

CK_RV p11_get_session_info(p11_session *s, CK_SESSION_INFO_PTR info)
{
    if (!info)
        return CKR_ARGUMENTS_BAD;
    /* NSS polls this call to notice removal when it does not wait for slot events. */
    p11_slot *slot = s->slot;
    if (!slot->token || p11_io_present(slot) != CKR_OK)
        return CKR_DEVICE_REMOVED; /* call.c closes the sessions */
    memset(info, 0, sizeof(*info));
    info->slotID = slot->id;
    info->state = p11_session_state(s);
    info->flags = s->flags;
    info->ulDeviceError = 0;
    p11_trace_out("state=%lu", info->state);
    return CKR_OK;
}

CK_RV p11_session_cancel(p11_session *s, CK_FLAGS flags)
{
    static const struct {
        CK_FLAGS flag;
        p11_op_kind kind;
    } map[] = {
        {CKF_DIGEST, P11_OP_DIGEST},   {CKF_SIGN, P11_OP_SIGN},       {CKF_VERIFY, P11_OP_VERIFY},
        {CKF_ENCRYPT, P11_OP_ENCRYPT}, {CKF_DECRYPT, P11_OP_DECRYPT},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (flags & map[i].flag)
            p11_session_end_op(s, map[i].kind);
    if ((flags & CKF_FIND_OBJECTS) && s->find) {
        find_free(s->find);
        s->find = NULL;
    }
    return CKR_OK;
}

/* ---- operation state --------------------------------------------------------
 * Only a digest is saveable: "VTOS" | 1 | hash state | HMAC-SHA256 under a key made
 * at C_Initialize. The MAC keeps a forged blob from reaching the hash code. */

#define STATE_MAGIC   "VTOS"
#define STATE_MAC_LEN 32

static CK_RV state_mac(const p11_module *m, const uint8_t *data, size_t len, uint8_t *mac)
{
    unsigned int mlen = STATE_MAC_LEN;
    if (!HMAC(EVP_sha256(), m->state_key, sizeof(m->state_key), data, len, mac, &mlen))
        return CKR_FUNCTION_FAILED;
    return CKR_OK;
}

CK_RV p11_get_operation_state(p11_session *s, CK_BYTE_PTR state, CK_ULONG_PTR len)
{
    bool any = s->find != NULL;
    for (int k = 0; k < P11_OP_COUNT; k++)
        any = any || s->op[k];
    if (!len)
        return CKR_ARGUMENTS_BAD;
    if (!any)
        return CKR_OPERATION_NOT_INITIALIZED;
    p11_op *op = s->op[P11_OP_DIGEST];
    for (int k = 0; k < P11_OP_COUNT; k++)
        if (k != P11_OP_DIGEST && s->op[k])
            return CKR_STATE_UNSAVEABLE;
    if (!op || s->find)
        return CKR_STATE_UNSAVEABLE;
    size_t body = 5 + p11_hash_state_len(op->h.alg);
    size_t total = body + STATE_MAC_LEN;
    if (!state) {
        *len = total;
        return CKR_OK;
    }
    if (*len < total) {
        *len = total;
        return CKR_BUFFER_TOO_SMALL;
    }
    memcpy(state, STATE_MAGIC, 4);
    state[4] = 1;
    p11_hash_export(&op->h, state + 5);
    CK_RV rv = state_mac(s->slot->m, state, body, state + body);
    if (rv != CKR_OK)
        return rv;
    *len = total;
    return CKR_OK;
}

CK_RV p11_set_operation_state(p11_session *s, CK_BYTE_PTR state, CK_ULONG len,
                              CK_OBJECT_HANDLE enc_key, CK_OBJECT_HANDLE auth_key)
{
    uint8_t mac[STATE_MAC_LEN];
    p11_op *op = NULL;
    CK_RV rv = CKR_OK;

    if (!p11_buf_ok(state, len, 1))
        return CKR_ARGUMENTS_BAD;
    if (len < 5 + STATE_MAC_LEN || memcmp(state, STATE_MAGIC, 4) != 0 || state[4] != 1)
        return CKR_SAVED_STATE_INVALID;
    rv = state_mac(s->slot->m, state, len - STATE_MAC_LEN, mac);
    if (rv != CKR_OK)
        return rv;
    if (CRYPTO_memcmp(mac, state + len - STATE_MAC_LEN, STATE_MAC_LEN) != 0)
        return CKR_SAVED_STATE_INVALID;
    if (enc_key != CK_INVALID_HANDLE || auth_key != CK_INVALID_HANDLE)
        return CKR_KEY_NOT_NEEDED;
    op = calloc(1, sizeof(*op));
    if (!op)
        return CKR_HOST_MEMORY;
    op->kind = P11_OP_DIGEST;
    op->hashing = true;
    if (!p11_hash_import(&op->h, state + 5, len - 5 - STATE_MAC_LEN)) {
        rv = CKR_SAVED_STATE_INVALID;
        goto out;
    }
    static const CK_MECHANISM_TYPE mechs[P11_HASH_COUNT] = {CKM_SHA_1, CKM_SHA224, CKM_SHA256,
                                                            CKM_SHA384, CKM_SHA512};
    op->md = p11_mech_find(mechs[op->h.alg]);
    p11_session_end_op(s, P11_OP_DIGEST);
    s->op[P11_OP_DIGEST] = op;
    op = NULL;
out:
    p11_op_free(op);
    return rv;
}
