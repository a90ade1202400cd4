/* The module's single instance: what C_Initialize creates and C_Finalize destroys.
 * It owns the slots and the session handle map. Locking (call.c): the module lock guards
 * the slot list and the session map and is held only briefly; each slot has a lock of
 * its own for its token, login state, sessions and objects, held for the length of a
 * call on it (see slot.h for the order). After fork() the child sees "not initialised" until it
 * calls C_Initialize, unless the application initialised through a CKF_INTERFACE_FORK_SAFE
 * interface (then the child keeps a copy of the state; see p11_module_enter_child). */
#ifndef P11_MODULE_H
#define P11_MODULE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "hmap.h"
#include "options.h"
#include "p11.h"
#include "token.h"

typedef struct p11_slot p11_slot;
typedef struct p11_session p11_session;
typedef struct p11_object p11_object;
typedef struct p11_vendor p11_vendor;
typedef struct p11_pcsc p11_pcsc;
typedef struct p11_embedded p11_embedded;
typedef struct p11_pkcs12 p11_pkcs12;

/* The application's mutex callbacks, or a pthread mutex. */
typedef struct p11_lock {
    bool use_app;
    CK_CREATEMUTEX create;
    CK_DESTROYMUTEX destroy;
    CK_LOCKMUTEX lock;
    CK_UNLOCKMUTEX unlock;
    void *app_mutex;
    pthread_mutex_t os;
} p11_lock;

typedef struct p11_module {
    pid_t pid;
    bool fork_safe; /* initialised through a CKF_INTERFACE_FORK_SAFE interface */
    p11_lock lock;  /* the slot list, the session map, discovery; never held while waiting */
    p11_options opts;
    const p11_vendor *vendor; /* NULL: every vendor */

    p11_slot **slots; /* index == CK_SLOT_ID; only ever appended to */
    size_t nslots, slots_cap;

    p11_hmap sessions; /* CK_SESSION_HANDLE -> p11_session */
    CK_SESSION_HANDLE next_session;
    atomic_ulong next_object; /* one object handle space; the maps are per slot */

    p11_embedded *embedded;     /* $VTOKEN_HOME side, NULL when off */
    p11_pcsc *_Atomic pcsc;     /* PC/SC side, NULL when off or pcscd unreachable; set by
                                   a rescan while slots read it under their own locks */
    p11_pkcs12 *pkcs12;         /* PKCS#12 directories, NULL when off */
    bool pcsc_wanted;           /* option pcsc on: keep trying to reach pcscd */
    long long pcsc_next_try_ms; /* CLOCK_MONOTONIC, rate limit for those tries */

    uint8_t state_key[32]; /* authenticates C_GetOperationState blobs */

    atomic_bool finalizing; /* C_Finalize has started: blocked waits return */
    atomic_int waiters;     /* threads inside C_WaitForSlotEvent */
    atomic_int calls;       /* other calls in progress: C_Finalize waits for them */
} p11_module;

/* The instance when initialised in this process; otherwise NULL. A forked child of an
 * instance initialised through the fork-safe interface gets the inherited instance,
 * adopted by p11_module_enter_child() before anything else is done with it. */
p11_module *p11_module_current(bool *child_adopt);
void p11_module_enter_child(p11_module *m); /* no lock held; once per child */

CK_RV p11_module_initialize(CK_VOID_PTR args, bool fork_safe);
CK_RV p11_module_finalize(CK_VOID_PTR reserved);
CK_RV p11_module_get_info(CK_INFO_PTR info, CK_BYTE major, CK_BYTE minor);

CK_RV p11_module_lock(p11_module *m);
void p11_module_unlock(p11_module *m);

/* Locks made like the module's: the application's mutexes when it gave them, else
 * pthread mutexes (slot locks). */
CK_RV p11_lock_init_like(p11_lock *l, const p11_lock *model);
void p11_lock_destroy(p11_lock *l);
CK_RV p11_lock_acquire(p11_lock *l);
void p11_lock_release(p11_lock *l);

/* Handle allocation: never 0, never reused within one initialisation. Session handles
 * under the module lock; object handles from any slot's call. */
CK_OBJECT_HANDLE p11_module_new_object_handle(p11_module *m);
CK_SESSION_HANDLE p11_module_new_session_handle(p11_module *m);

#endif
