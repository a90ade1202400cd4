/* Entry checks, locking, the trace line and the CK_RV epilogue shared by every C_*
 * function. A removed token is noticed here once, whichever call ran into it. Locks are
 * taken in one order: a slot's lock, then (briefly, inside it) the module lock. */
#include "call.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "names.h"
#include "token_io.h"

CK_RV p11_call_enter(p11_call *c, const char *fn, unsigned need, CK_SLOT_ID slot_id,
                     CK_SESSION_HANDLE session)
{
    bool adopt = false, mlocked = false;
    CK_RV rv = CKR_OK;

    memset(c, 0, sizeof(*c));
    c->fn = fn;
    c->need = need;
    p11_trace_env_once();
    c->traced = p11_trace_on();
    if (c->traced) {
        p11_trace_begin();
        clock_gettime(CLOCK_MONOTONIC, &c->t0);
    }
    if (!(need & P11_NEED_INIT))
        return CKR_OK;

    c->m = p11_module_current(&adopt);
    if (!c->m) {
        rv = CKR_CRYPTOKI_NOT_INITIALIZED;
        goto out;
    }
    if (adopt)
        p11_module_enter_child(c->m);
    /* Counted before the check under the lock: C_Finalize either sees this call or this
     * call sees C_Finalize's flag. */
    atomic_fetch_add(&c->m->calls, 1);
    c->counted = true;
    rv = p11_module_lock(c->m);
    if (rv != CKR_OK)
        goto out;
    mlocked = true;
    if (atomic_load(&c->m->finalizing)) {
        rv = CKR_CRYPTOKI_NOT_INITIALIZED;
        goto out;
    }
    if (need & P11_NEED_WAITER) {
        /* The wait itself runs unlocked; C_Finalize wakes it. */
        atomic_fetch_add(&c->m->waiters, 1);
        c->waiter = true;
        goto out;
    }
    if (need & (P11_NEED_SLOT | P11_NEED_TOKEN)) {
        c->slot = p11_slot_get(c->m, slot_id);
        if (!c->slot) {
            rv = CKR_SLOT_ID_INVALID;
            goto out;
        }
    }
    if (need & P11_NEED_SESSION) {
        c->s = p11_session_get(c->m, session);
        if (!c->s) {
            rv = CKR_SESSION_HANDLE_INVALID;
            goto out;
        }
        c->slot = c->s->slot;
    }
    /* Slots outlive the call (they go only with C_Finalize); the session may not: it is
     * looked up again under the slot lock. The module lock is never held while waiting
     * for a slot lock. */
    p11_module_unlock(c->m);
    mlocked = false;
    if (!c->slot)
        goto out;
    rv = p11_slot_lock(c->slot);
    if (rv != CKR_OK)
        goto out;
    c->locked = true;
    if (need & P11_NEED_SESSION) {
        c->s = p11_session_find(c->m, session);
        rv = c->s ? p11_io_session_idle(c->slot, session, &c->s) : CKR_SESSION_HANDLE_INVALID;
        if (rv != CKR_OK) {
            c->s = NULL;
            goto out;
        }
    }
    if (need & P11_NEED_TOKEN) {
        rv = p11_slot_refresh(c->slot);
        if (rv != CKR_OK)
            goto out;
    }
    if (need & P11_NEED_SESSION) {
        if ((need & P11_NEED_RW) && !p11_session_rw(c->s)) {
            rv = CKR_SESSION_READ_ONLY;
            goto out;
        }
        if ((need & P11_NEED_USER) && !(c->slot->logged_in && c->slot->user == CKU_USER)) {
            rv = CKR_USER_NOT_LOGGED_IN;
            goto out;
        }
    }
out:
    if (mlocked)
        p11_module_unlock(c->m);
    return rv;
}

void p11_call_args(p11_call *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->args, sizeof(c->args), fmt, ap);
    va_end(ap);
}

/* A driver reporting the card gone ends every session with that token, whichever call
 * noticed; the caller learns it as CKR_DEVICE_REMOVED (session calls) or
 * CKR_TOKEN_NOT_PRESENT (slot calls). */
static CK_RV call_removed(p11_call *c, CK_RV rv)
{
    if (rv != CKR_DEVICE_REMOVED && rv != CKR_TOKEN_NOT_PRESENT)
        return rv;
    if (!c->locked || !c->slot || !c->slot->token)
        return rv;
    if (p11_io_present(c->slot) == CKR_OK)
        return rv;
    p11_slot_token_lost(c->slot);
    c->s = NULL; /* closed with the others */
    return (c->need & P11_NEED_SESSION) ? CKR_DEVICE_REMOVED : CKR_TOKEN_NOT_PRESENT;
}

CK_RV p11_call_leave(p11_call *c, CK_RV rv)
{
    rv = call_removed(c, rv);
    if (c->waiter)
        atomic_fetch_sub(&c->m->waiters, 1);
    if (c->locked)
        p11_slot_unlock(c->slot);
    if (c->counted)
        atomic_fetch_sub(&c->m->calls, 1);
    if (c->traced) {
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms =
            (double)(t1.tv_sec - c->t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - c->t0.tv_nsec) / 1e6;
        const char *outs = p11_trace_outs();
        p11_trace_msg("%s(%s) = %s%s%s [%.3f ms]", c->fn, c->args, p11_rv_name(rv),
                      *outs ? " -> " : "", outs, ms);
        p11_trace_end();
    }
    return rv;
}
