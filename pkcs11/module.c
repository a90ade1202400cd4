/* The module instance: C_Initialize / C_Finalize, the lock, fork detection, C_GetInfo.
 * The instance pointer is the module's only global (STYLE.md). */
#include "module.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "names.h"
#include "object.h"
#include "session.h"
#include "slot.h"
#include "trace.h"
#include "vendor.h"

#ifndef VT_VERSION_MAJOR
#define VT_VERSION_MAJOR 0
#endif
#ifndef VT_VERSION_MINOR
#define VT_VERSION_MINOR 1
#endif

static p11_module *_Atomic g_mod;
/* Serialises C_Initialize and C_Finalize against each other only; never held while a
 * call waits on anything. */
static pthread_mutex_t g_init_lock = PTHREAD_MUTEX_INITIALIZER;

p11_module *p11_module_current(bool *child_adopt)
{
    p11_module *m = atomic_load(&g_mod);
    *child_adopt = false;
    if (!m)
        return NULL;
    if (m->pid == getpid())
        return m;
    if (m->fork_safe) {
        *child_adopt = true;
        return m;
    }
    return NULL;
}

/* ---- lock ---------------------------------------------------------------- */

static CK_RV lock_init(p11_lock *l, const CK_C_INITIALIZE_ARGS *a)
{
    if (a && a->CreateMutex) {
        l->use_app = true;
        l->create = a->CreateMutex;
        l->destroy = a->DestroyMutex;
        l->lock = a->LockMutex;
        l->unlock = a->UnlockMutex;
        return l->create(&l->app_mutex);
    }
    l->use_app = false;
    return pthread_mutex_init(&l->os, NULL) == 0 ? CKR_OK : CKR_CANT_LOCK;
}

void p11_lock_destroy(p11_lock *l)
{
    if (l->use_app) {
        if (l->app_mutex)
            l->destroy(l->app_mutex);
        l->app_mutex = NULL;
    } else {
        pthread_mutex_destroy(&l->os);
    }
}

CK_RV p11_lock_init_like(p11_lock *l, const p11_lock *model)
{
    if (model->use_app) {
        *l = *model;
        l->app_mutex = NULL;
        return l->create(&l->app_mutex);
    }
    memset(l, 0, sizeof(*l));
    return pthread_mutex_init(&l->os, NULL) == 0 ? CKR_OK : CKR_CANT_LOCK;
}

CK_RV p11_lock_acquire(p11_lock *l)
{
    if (l->use_app)
        return l->lock(l->app_mutex);
    return pthread_mutex_lock(&l->os) == 0 ? CKR_OK : CKR_CANT_LOCK;
}

void p11_lock_release(p11_lock *l)
{
    if (l->use_app)
        l->unlock(l->app_mutex);
    else
        pthread_mutex_unlock(&l->os);
}

CK_RV p11_module_lock(p11_module *m)
{
    return p11_lock_acquire(&m->lock);
}

void p11_module_unlock(p11_module *m)
{
    p11_lock_release(&m->lock);
}

/* ---- handles --------------------------------------------------------------- */

CK_OBJECT_HANDLE p11_module_new_object_handle(p11_module *m)
{
    return atomic_fetch_add(&m->next_object, 1) + 1;
}

CK_SESSION_HANDLE p11_module_new_session_handle(p11_module *m)
{
    return ++m->next_session;
}

/* ---- life cycle ------------------------------------------------------------ */

/* Free everything. after_fork: in a child discarding its parent's copy, where PC/SC
 * connections must be left alone (closing them would close the parent's). */
static void module_destroy(p11_module *m, bool after_fork)
{
    for (size_t i = 0; i < m->nslots; i++)
        p11_slot_free(m->slots[i], after_fork);
    free(m->slots);
    p11_pcsc_free(m, after_fork);
    p11_embedded_free(m, after_fork);
    p11_pkcs12_free(m, after_fork); /* after the slots: their tokens use its context */
    p11_hmap_free(&m->sessions);
    vt_wipe(m->state_key, sizeof(m->state_key));
    p11_lock_destroy(&m->lock);
    free(m);
}

static CK_RV check_init_args(const CK_C_INITIALIZE_ARGS *a)
{
    int given = !!a->CreateMutex + !!a->DestroyMutex + !!a->LockMutex + !!a->UnlockMutex;
    if (given != 0 && given != 4)
        return CKR_ARGUMENTS_BAD;
    /* CKF_LIBRARY_CANT_CREATE_OS_THREADS needs nothing: the module never creates
     * threads (a blocking C_WaitForSlotEvent runs on the caller's thread). */
    return CKR_OK;
}

static void discover(p11_module *m)
{
    bool test_used = false;
    CK_RV rv = p11_test_discover(m, &test_used);
    if (rv != CKR_OK)
        p11_trace_msg("test slots: %s", p11_rv_name(rv));
    if (test_used)
        return;
    if (m->opts.embedded) {
        rv = p11_embedded_discover(m);
        if (rv != CKR_OK)
            p11_trace_msg("embedded tokens unavailable: %s", p11_rv_name(rv));
    }
    if (m->opts.pcsc) {
        m->pcsc_wanted = true;
        rv = p11_pcsc_discover(m);
        if (rv != CKR_OK)
            p11_trace_msg("PC/SC readers unavailable: %s", p11_rv_name(rv));
    }
    if (m->opts.pkcs12) {
        rv = p11_pkcs12_discover(m);
        if (rv != CKR_OK)
            p11_trace_msg("PKCS#12 files unavailable: %s", p11_rv_name(rv));
    }
}

CK_RV p11_module_initialize(CK_VOID_PTR args, bool fork_safe)
{
    const CK_C_INITIALIZE_ARGS *a = args;
    p11_module *m = NULL;
    CK_RV rv = CKR_OK;

    p11_trace_env_once();
    pthread_mutex_lock(&g_init_lock);
    p11_module *cur = atomic_load(&g_mod);
    if (cur && cur->pid == getpid()) {
        rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
        goto out;
    }
    if (a) {
        rv = check_init_args(a);
        if (rv != CKR_OK)
            goto out;
    }
    if (cur) {
        /* A forked child initialising: drop the parent's copy without touching what
         * the parent still uses, nor waiting for what its other threads held. */
        atomic_store(&g_mod, NULL);
        p11_lock fresh;
        if (p11_lock_init_like(&fresh, &cur->lock) == CKR_OK)
            cur->lock = fresh;
        for (size_t i = 0; i < cur->nslots; i++)
            p11_slot_after_fork(cur->slots[i]);
        module_destroy(cur, true);
    }
    m = calloc(1, sizeof(*m));
    if (!m) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    m->pid = getpid();
    m->fork_safe = fork_safe;
    rv = lock_init(&m->lock, a);
    if (rv != CKR_OK) {
        free(m);
        m = NULL;
        goto out;
    }
    /* NSS, SunPKCS11 and p11-kit pass a parameter string in pReserved (the spec says
     * NULL); $VTOKEN_OPTIONS and vtoken.conf's [module] serve every other client. */
    p11_options_load(&m->opts, a ? (const char *)a->pReserved : NULL);
    if (m->opts.trace[0])
        p11_trace_open(m->opts.trace);
    if (m->opts.unknown[0])
        p11_trace_msg("C_Initialize: ignoring unknown options: %s", m->opts.unknown);
    if (m->opts.bad[0])
        p11_trace_msg("C_Initialize: ignoring malformed options: %s", m->opts.bad);
    m->vendor = p11_vendor_select(m->opts.vendor);
    if (RAND_bytes(m->state_key, sizeof(m->state_key)) != 1) {
        rv = CKR_FUNCTION_FAILED;
        goto out;
    }
    discover(m);
    atomic_store(&g_mod, m);
    m = NULL;
out:
    if (m)
        module_destroy(m, false);
    pthread_mutex_unlock(&g_init_lock);
    return rv;
}

static void enter_child_locked(p11_module *m);

CK_RV p11_module_finalize(CK_VOID_PTR reserved)
{
    CK_RV rv = CKR_OK;
    bool adopt;

    pthread_mutex_lock(&g_init_lock);
    p11_module *m = p11_module_current(&adopt);
    if (!m) {
        rv = CKR_CRYPTOKI_NOT_INITIALIZED;
        goto out;
    }
    if (reserved) {
        rv = CKR_ARGUMENTS_BAD;
        goto out;
    }
    if (adopt)
        enter_child_locked(m);
    rv = p11_module_lock(m);
    if (rv != CKR_OK)
        goto out;
    atomic_store(&m->finalizing, true);
    p11_module_unlock(m);

    /* Wake a C_WaitForSlotEvent blocked in pcscd and wait until every waiter has
     * returned CKR_CRYPTOKI_NOT_INITIALIZED, and every call still running on a slot has
     * returned (the spec leaves C_Finalize during other calls undefined; this makes it
     * safe), before anything is freed. */
    while (atomic_load(&m->waiters) > 0 || atomic_load(&m->calls) > 0) {
        p11_pcsc_cancel(m);
        struct timespec ts = {0, 2L * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&g_mod, NULL);
    module_destroy(m, false);
out:
    pthread_mutex_unlock(&g_init_lock);
    return rv;
}

/* g_init_lock held. */
static void enter_child_locked(p11_module *m)
{
    if (m->pid == getpid())
        return;
    m->pid = getpid();
    p11_trace_msg("fork-safe interface: child %ld adopts the module state", (long)m->pid);
    /* Only the thread that forked exists here: whatever the parent's other threads held
     * (the module lock, slot locks, calls in progress) is abandoned, not waited for. */
    p11_lock fresh;
    if (p11_lock_init_like(&fresh, &m->lock) == CKR_OK)
        m->lock = fresh;
    atomic_store(&m->calls, 0);
    atomic_store(&m->waiters, 0);
    for (size_t i = 0; i < m->nslots; i++)
        p11_slot_after_fork(m->slots[i]);
    /* Connections that belong to the parent (PC/SC) cannot be shared: for this child
     * those tokens are gone. In-process cards and mocks carry on as copies. */
    for (size_t i = 0; i < m->nslots; i++) {
        p11_slot *s = m->slots[i];
        if (s->src->fork_safe || !s->token)
            continue;
        s->token = NULL; /* the parent's connection: leak it, never close it */
        p11_session_close_all(s);
        p11_objects_drop_all(s);
        s->logged_in = false;
        s->event = true;
    }
    p11_pcsc_free(m, true);
}

void p11_module_enter_child(p11_module *m)
{
    pthread_mutex_lock(&g_init_lock);
    enter_child_locked(m);
    pthread_mutex_unlock(&g_init_lock);
}

CK_RV p11_module_get_info(CK_INFO_PTR info, CK_BYTE major, CK_BYTE minor)
{
    bool adopt;
    p11_module *m = p11_module_current(&adopt);

    if (!info)
        return CKR_ARGUMENTS_BAD;
    memset(info, 0, sizeof(*info));
    info->cryptokiVersion.major = major;
    info->cryptokiVersion.minor = minor;
    const p11_vendor *v = m ? m->vendor : NULL;
    p11_pad(info->manufacturerID, sizeof(info->manufacturerID),
            v ? v->manufacturer : P11_MANUFACTURER);
    p11_pad(info->libraryDescription, sizeof(info->libraryDescription),
            v ? v->description : P11_DESCRIPTION);
    info->flags = 0;
    info->libraryVersion.major = VT_VERSION_MAJOR;
    info->libraryVersion.minor = VT_VERSION_MINOR;
    return CKR_OK;
}
