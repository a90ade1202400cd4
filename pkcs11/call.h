/* The one place where entry points are checked, locked, traced and their CK_RV
 * finished. api.c states what each C_* function needs and which operation it runs:
 *
 *   CK_RV C_SignInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
 *   {
 *       IN_SESSION(h, 0, p11_sign_init(S, m, k), "hSession=%lu ...", h, ...);
 *   }
 *
 * Inside the operation expression M is the module, SLOT the slot and S the session
 * (each NULL when the call does not need it). The trace arguments are evaluated only
 * when tracing is on. A call with a slot or a session runs under that slot's lock; a
 * module-wide call (C_GetSlotList) under none: it locks what it visits. */
#ifndef P11_CALL_H
#define P11_CALL_H

#include <stdbool.h>
#include <time.h>

#include "module.h"
#include "session.h"
#include "slot.h"
#include "trace.h"

#define P11_NEED_INIT    0x01u /* C_Initialize has been called (in this process) */
#define P11_NEED_SLOT    0x02u /* a valid slot ID */
#define P11_NEED_TOKEN   0x04u /* ... with a token present */
#define P11_NEED_SESSION 0x08u /* a valid session handle */
#define P11_NEED_RW      0x10u /* ... of a R/W session: else CKR_SESSION_READ_ONLY */
#define P11_NEED_USER    0x20u /* the normal user is logged in: else CKR_USER_NOT_LOGGED_IN */
#define P11_NEED_WAITER  0x40u /* runs without the lock, counted for C_Finalize to wait on */

typedef struct p11_call {
    const char *fn;
    unsigned need;
    p11_module *m;
    p11_slot *slot;
    p11_session *s;
    bool counted; /* in m->calls */
    bool locked;  /* slot->lock held */
    bool waiter;
    bool traced;
    struct timespec t0;
    char args[640];
} p11_call;

CK_RV p11_call_enter(p11_call *c, const char *fn, unsigned need, CK_SLOT_ID slot,
                     CK_SESSION_HANDLE session);
void p11_call_args(p11_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
CK_RV p11_call_leave(p11_call *c, CK_RV rv);

#define P11_CALL(need, slot_id, session, expr, ...)                                                \
    do {                                                                                           \
        p11_call c_;                                                                               \
        CK_RV rv_ = p11_call_enter(&c_, __func__, (need), (slot_id), (session));                   \
        if (c_.traced)                                                                             \
            p11_call_args(&c_, __VA_ARGS__);                                                       \
        if (rv_ == CKR_OK) {                                                                       \
            p11_module *const M = c_.m;                                                            \
            p11_slot *const SLOT = c_.slot;                                                        \
            p11_session *const S = c_.s;                                                           \
            (void)M;                                                                               \
            (void)SLOT;                                                                            \
            (void)S;                                                                               \
            rv_ = (expr);                                                                          \
        }                                                                                          \
        return p11_call_leave(&c_, rv_);                                                           \
    } while (0)

/* No initialisation needed (C_GetFunctionList, C_GetInterface*, C_Initialize). */
#define IN_LIBRARY(expr, ...)  P11_CALL(0, 0, 0, expr, __VA_ARGS__)
#define IN_MODULE(expr, ...)   P11_CALL(P11_NEED_INIT, 0, 0, expr, __VA_ARGS__)
#define IN_SLOT(id, expr, ...) P11_CALL(P11_NEED_INIT | P11_NEED_SLOT, id, 0, expr, __VA_ARGS__)
#define IN_TOKEN(id, expr, ...)                                                                    \
    P11_CALL(P11_NEED_INIT | P11_NEED_SLOT | P11_NEED_TOKEN, id, 0, expr, __VA_ARGS__)
#define IN_SESSION(h, need, expr, ...)                                                             \
    P11_CALL(P11_NEED_INIT | P11_NEED_SESSION | (need), 0, h, expr, __VA_ARGS__)
#define IN_WAITER(expr, ...) P11_CALL(P11_NEED_INIT | P11_NEED_WAITER, 0, 0, expr, __VA_ARGS__)

#endif
