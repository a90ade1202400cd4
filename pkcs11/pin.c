/* Login state and PIN management: C_Login (user, SO, context-specific), C_Logout,
 * C_InitPIN, C_SetPIN, C_InitToken. PIN checks and counters are the token's: the module
 * forwards, then refreshes the token flags the counters drive. PINs are copied only into
 * buffers that are wiped. */
#include <string.h>

#include "names.h"
#include "object.h"
#include "session.h"
#include "slot.h"
#include "token_io.h"
#include "trace.h"

static bool is_so(const p11_slot *s)
{
    return s->logged_in && s->user == CKU_SO;
}

/* An operation on this session waiting for a context-specific login. */
static p11_op *ctx_login_op(p11_session *s)
{
    p11_op *op = s->op[P11_OP_SIGN];
    if (op && op->always_auth)
        return op;
    op = s->op[P11_OP_DECRYPT];
    if (op && op->always_auth)
        return op;
    return NULL;
}

static CK_RV login_context(p11_session *s, const uint8_t *pin, size_t len)
{
    p11_slot *slot = s->slot;
    p11_op *op = ctx_login_op(s);
    if (!op)
        return CKR_OPERATION_NOT_INITIALIZED;
    if (!(slot->logged_in && slot->user == CKU_USER))
        return CKR_USER_NOT_LOGGED_IN;
    CK_RV rv = p11_io_login(slot, CKU_CONTEXT_SPECIFIC, pin, len);
    (void)p11_slot_update_info(slot);
    if (rv == CKR_PIN_LEN_RANGE)
        rv = CKR_PIN_INCORRECT;
    if (rv == CKR_OK)
        op->ctx_auth = true;
    return rv;
}

CK_RV p11_login(p11_session *s, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
    p11_slot *slot = s->slot;
    CK_RV rv;

    if (user != CKU_SO && user != CKU_USER && user != CKU_CONTEXT_SPECIFIC)
        return CKR_USER_TYPE_INVALID;
    p11_trace_out("userType=%s", p11_user_name(user));
    /* No protected authentication path: the PIN always comes from the caller. */
    if (!pin)
        return CKR_ARGUMENTS_BAD;
    if (user == CKU_CONTEXT_SPECIFIC)
        return login_context(s, pin, len);
    if (slot->logged_in)
        return slot->user == user ? CKR_USER_ALREADY_LOGGED_IN : CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
    if (user == CKU_SO) {
        for (size_t i = 0; i < slot->nsessions; i++)
            if (!p11_session_rw(slot->sessions[i]))
                return CKR_SESSION_READ_ONLY_EXISTS;
    } else if (!(slot->info.flags & CKF_USER_PIN_INITIALIZED)) {
        return CKR_USER_PIN_NOT_INITIALIZED;
    }
    rv = p11_io_login(slot, user, pin, len);
    /* C_Login has no CKR_PIN_LEN_RANGE: a PIN of impossible length is simply wrong. */
    if (rv == CKR_PIN_LEN_RANGE)
        rv = CKR_PIN_INCORRECT;
    (void)p11_slot_update_info(slot); /* counters moved either way */
    if (rv != CKR_OK)
        return rv;
    slot->logged_in = true;
    slot->user = user;
    p11_objects_login_changed(slot, false);
    return CKR_OK;
}

CK_RV p11_logout(p11_session *s)
{
    p11_slot *slot = s->slot;
    if (!slot->logged_in)
        return CKR_USER_NOT_LOGGED_IN;
    CK_RV rv = p11_io_logout(slot);
    /* Whatever the card says, this application is logged out now. */
    slot->logged_in = false;
    p11_objects_login_changed(slot, true);
    if (rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT)
        return rv;
    return CKR_OK;
}

static CK_RV check_new_pin(const p11_slot *slot, const uint8_t *pin, CK_ULONG len)
{
    if (!pin)
        return CKR_ARGUMENTS_BAD;
    if ((slot->info.min_pin && len < slot->info.min_pin) ||
        (slot->info.max_pin && len > slot->info.max_pin))
        return CKR_PIN_LEN_RANGE;
    return CKR_OK;
}

CK_RV p11_init_pin(p11_session *s, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
    p11_slot *slot = s->slot;
    if (!is_so(slot) || !p11_session_rw(s))
        return CKR_USER_NOT_LOGGED_IN;
    CK_RV rv = check_new_pin(slot, pin, len);
    if (rv != CKR_OK)
        return rv;
    rv = p11_io_init_pin(slot, pin, len);
    (void)p11_slot_update_info(slot);
    return rv;
}

CK_RV p11_set_pin(p11_session *s, CK_UTF8CHAR_PTR old_pin, CK_ULONG old_len,
                  CK_UTF8CHAR_PTR new_pin, CK_ULONG new_len)
{
    p11_slot *slot = s->slot;
    if (!old_pin || !new_pin)
        return CKR_ARGUMENTS_BAD;
    if (!p11_session_rw(s))
        return CKR_SESSION_READ_ONLY;
    CK_RV rv = check_new_pin(slot, new_pin, new_len);
    if (rv != CKR_OK)
        return rv;
    /* The SO's PIN when the SO is logged in, the user's otherwise (spec 2.40). */
    CK_USER_TYPE who = is_so(slot) ? CKU_SO : CKU_USER;
    p11_trace_out("who=%s", p11_user_name(who));
    rv = p11_io_set_pin(slot, who, old_pin, old_len, new_pin, new_len);
    (void)p11_slot_update_info(slot);
    return rv;
}

CK_RV p11_init_token(p11_slot *slot, CK_UTF8CHAR_PTR pin, CK_ULONG len, CK_UTF8CHAR_PTR label)
{
    char lab[33];
    if (!pin || !label)
        return CKR_ARGUMENTS_BAD;
    if (slot->nsessions > 0)
        return CKR_SESSION_EXISTS;
    if (!slot->token->ops->init_token)
        return CKR_FUNCTION_NOT_SUPPORTED;
    /* The label arrives blank-padded to 32 bytes; drivers get it trimmed. */
    memcpy(lab, label, 32);
    lab[32] = '\0';
    for (int i = 31; i >= 0 && lab[i] == ' '; i--)
        lab[i] = '\0';
    CK_RV rv = p11_io_init_token(slot, pin, len, lab);
    p11_objects_drop_all(slot);
    slot->logged_in = false;
    (void)p11_slot_update_info(slot);
    return rv;
}
