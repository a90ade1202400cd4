/* Slots: the fixed, append-only slot list, token presence, C_GetSlotList /
 * C_GetSlotInfo / C_GetTokenInfo and C_WaitForSlotEvent. */
#include "slot.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "names.h"
#include "session.h"
#include "token_io.h"
#include "trace.h"
#include "vendor.h"

#define P11_WAIT_POLL_MS 50L

void p11_pad(CK_UTF8CHAR *dst, size_t width, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n > width)
        n = width;
    memset(dst, ' ', width);
    if (n)
        memcpy(dst, src, n);
}

p11_slot *p11_slot_get(p11_module *m, CK_SLOT_ID id)
{
    return id < m->nslots ? m->slots[id] : NULL;
}

CK_RV p11_slot_lock(p11_slot *s)
{
    return p11_lock_acquire(&s->lock);
}

void p11_slot_unlock(p11_slot *s)
{
    p11_lock_release(&s->lock);
}

CK_RV p11_slots_snapshot(p11_module *m, p11_slot ***out, size_t *n)
{
    CK_RV rv = p11_module_lock(m);
    if (rv != CKR_OK)
        return rv;
    *n = m->nslots;
    *out = malloc((*n ? *n : 1) * sizeof(**out));
    if (*out && *n > 0)
        memcpy(*out, m->slots, *n * sizeof(**out));
    p11_module_unlock(m);
    return *out ? CKR_OK : CKR_HOST_MEMORY;
}

void p11_slot_after_fork(p11_slot *s)
{
    /* A lock or a gate place held by a thread that does not exist in this process
     * would never be given back: start both afresh (the old ones are abandoned). */
    p11_lock fresh;
    if (p11_lock_init_like(&fresh, &s->m->lock) == CKR_OK)
        s->lock = fresh;
    p11_gate_init(&s->gate);
    for (size_t i = 0; i < s->nsessions; i++)
        s->sessions[i]->busy = false;
}

/* Derive the PIN flags from the counters when the token has them, so every driver
 * reports CKF_*_PIN_COUNT_LOW / FINAL_TRY / LOCKED the same way. */
static void info_pin_flags(p11_token_info *ti)
{
    if (ti->user_tries_left >= 0) {
        ti->flags &=
            ~(CK_FLAGS)(CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED);
        if (ti->user_tries_left == 0)
            ti->flags |= CKF_USER_PIN_LOCKED;
        else if (ti->user_tries_left == 1)
            ti->flags |= CKF_USER_PIN_FINAL_TRY;
        else if (ti->user_tries_max > 0 && ti->user_tries_left < ti->user_tries_max)
            ti->flags |= CKF_USER_PIN_COUNT_LOW;
    }
    if (ti->so_tries_left >= 0) {
        ti->flags &= ~(CK_FLAGS)(CKF_SO_PIN_COUNT_LOW | CKF_SO_PIN_FINAL_TRY | CKF_SO_PIN_LOCKED);
        if (ti->so_tries_left == 0)
            ti->flags |= CKF_SO_PIN_LOCKED;
        else if (ti->so_tries_left == 1)
            ti->flags |= CKF_SO_PIN_FINAL_TRY;
        else if (ti->so_tries_max > 0 && ti->so_tries_left < ti->so_tries_max)
            ti->flags |= CKF_SO_PIN_COUNT_LOW;
    }
}

CK_RV p11_slot_update_info(p11_slot *s)
{
    p11_token_info ti;
    if (!s->token)
        return CKR_TOKEN_NOT_PRESENT;
    memset(&ti, 0, sizeof(ti));
    ti.user_tries_left = ti.user_tries_max = ti.so_tries_left = ti.so_tries_max = -1;
    ti.total_mem = ti.free_mem = CK_UNAVAILABLE_INFORMATION;
    CK_RV rv = p11_io_get_info(s, &ti);
    if (rv != CKR_OK)
        return rv;
    ti.label[sizeof(ti.label) - 1] = ti.manufacturer[sizeof(ti.manufacturer) - 1] = '\0';
    ti.model[sizeof(ti.model) - 1] = ti.serial[sizeof(ti.serial) - 1] = '\0';
    if (s->token->ops->caps & P11_CAP_RNG)
        ti.flags |= CKF_RNG;
    info_pin_flags(&ti);
    s->info = ti;
    return CKR_OK;
}

static CK_RV slot_open(p11_slot *s, bool as_event)
{
    p11_token *tok = NULL;
    if (s->token)
        return CKR_OK;
    if (s->src->may_be_present && !s->src->may_be_present(s))
        return CKR_TOKEN_NOT_PRESENT;
    CK_RV rv = s->src->open(s, &tok);
    if (rv != s->last_open_rv && rv != CKR_OK && rv != CKR_TOKEN_NOT_PRESENT)
        p11_trace_msg("slot %lu: token did not open: %s", s->id, p11_rv_name(rv));
    s->last_open_rv = rv;
    if (rv != CKR_OK)
        return rv == CKR_HOST_MEMORY ? rv : CKR_TOKEN_NOT_PRESENT;
    s->token = tok;
    s->logged_in = false;
    s->store.listed = false;
    if (as_event)
        s->event = true;
    rv = p11_slot_update_info(s);
    if (rv != CKR_OK) {
        p11_trace_msg("slot %lu: token info unreadable: 0x%lx", s->id, rv);
        p11_slot_token_lost(s);
        s->event = as_event;
        return CKR_TOKEN_NOT_PRESENT;
    }
    return CKR_OK;
}

CK_RV p11_slot_add(p11_module *m, const p11_slot_src_ops *src, void *ctx, const char *desc,
                   const char *manufacturer, const char *vendor, p11_slot **out)
{
    p11_slot *s = NULL;
    CK_RV rv = CKR_OK;

    if (out)
        *out = NULL;
    if (!p11_vendor_allows(m->vendor, vendor)) {
        p11_trace_msg("slot '%s' hidden by the vendor filter (%s)", desc, m->vendor->name);
        goto out; /* not an error: this module personality does not show it */
    }
    if (m->nslots == m->slots_cap) {
        size_t cap = m->slots_cap ? m->slots_cap * 2 : 8;
        p11_slot **v = realloc(m->slots, cap * sizeof(*v));
        if (!v) {
            rv = CKR_HOST_MEMORY;
            goto out;
        }
        m->slots = v;
        m->slots_cap = cap;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    rv = p11_lock_init_like(&s->lock, &m->lock);
    if (rv != CKR_OK) {
        free(s);
        s = NULL;
        goto out;
    }
    p11_gate_init(&s->gate);
    s->m = m;
    s->id = m->nslots;
    snprintf(s->description, sizeof(s->description), "%s", desc ? desc : "");
    snprintf(s->manufacturer, sizeof(s->manufacturer), "%s",
             manufacturer ? manufacturer : P11_MANUFACTURER);
    s->vendor = vendor;
    s->src = src;
    s->src_ctx = ctx;
    ctx = NULL;
    m->slots[m->nslots++] = s;
    /* Under the module lock (discovery) but before anyone else can see the slot. */
    (void)slot_open(s, false);
    if (out)
        *out = s;
out:
    if (ctx)
        src->release(&(p11_slot){.m = m, .src = src, .src_ctx = ctx}, false);
    return rv;
}

void p11_slot_token_lost(p11_slot *s)
{
    p11_session_close_all(s);
    p11_objects_drop_all(s);
    s->logged_in = false;
    p11_io_close(s);
    s->event = true;
}

void p11_slot_free(p11_slot *s, bool after_fork)
{
    if (!s)
        return;
    p11_session_close_all(s);
    p11_objects_drop_all(s);
    if (s->token && (!after_fork || s->src->fork_safe))
        s->token->ops->close(s->token);
    s->token = NULL;
    s->src->release(s, after_fork);
    free(s->sessions);
    p11_index_free(&s->store.idx);
    p11_hmap_free(&s->store.map);
    free(s->store.v);
    if (!after_fork) {
        /* a child's copy may be held by a thread of the parent: leave it alone */
        p11_gate_destroy(&s->gate);
        p11_lock_destroy(&s->lock);
    }
    free(s);
}

CK_RV p11_slot_refresh(p11_slot *s)
{
    if (s->token) {
        CK_RV rv = p11_io_present(s);
        /* present() also answers "not the card we opened" (apdu/pcsc.c) */
        if (rv == CKR_OK)
            return CKR_OK;
        p11_trace_msg("slot %lu: token removed", s->id);
        p11_slot_token_lost(s);
    }
    return slot_open(s, true);
}

/* Rescan the sources for new slots (module lock taken here). */
static CK_RV rescan(p11_module *m)
{
    CK_RV rv = p11_module_lock(m);
    if (rv != CKR_OK)
        return rv;
    p11_pcsc_rescan(m);
    p11_pkcs12_rescan(m);
    p11_module_unlock(m);
    return CKR_OK;
}

/* Refresh the slot's presence under its lock: true when a token is there. */
static bool refresh_locked(p11_slot *s)
{
    if (p11_slot_lock(s) != CKR_OK)
        return false;
    bool there = p11_slot_refresh(s) == CKR_OK;
    p11_slot_unlock(s);
    return there;
}

CK_RV p11_get_slot_list(p11_module *m, CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count)
{
    p11_slot **v = NULL;
    size_t nv = 0;
    CK_ULONG n = 0;
    CK_RV rv;

    if (!count)
        return CKR_ARGUMENTS_BAD;
    /* New readers, cards or PKCS#12 files only on the sizing call, so the two calls of
     * the usual sequence agree. */
    if (!list && (rv = rescan(m)) != CKR_OK)
        return rv;
    rv = p11_slots_snapshot(m, &v, &nv);
    if (rv != CKR_OK)
        return rv;
    for (size_t i = 0; i < nv; i++) {
        bool there = !present || refresh_locked(v[i]);
        if (there && list && n < *count)
            list[n] = v[i]->id;
        if (there)
            n++;
    }
    free(v);
    if (list && *count < n) {
        *count = n;
        return CKR_BUFFER_TOO_SMALL;
    }
    *count = n;
    p11_trace_out("count=%lu", n);
    return CKR_OK;
}

CK_RV p11_get_slot_info(p11_slot *s, CK_SLOT_INFO_PTR info)
{
    if (!info)
        return CKR_ARGUMENTS_BAD;
    (void)p11_slot_refresh(s);
    memset(info, 0, sizeof(*info));
    p11_pad(info->slotDescription, sizeof(info->slotDescription), s->description);
    p11_pad(info->manufacturerID, sizeof(info->manufacturerID), s->manufacturer);
    info->flags = CKF_REMOVABLE_DEVICE;
    if (!strcmp(s->src->kind, "pcsc"))
        info->flags |= CKF_HW_SLOT;
    if (s->token)
        info->flags |= CKF_TOKEN_PRESENT;
    info->hardwareVersion.major = 0;
    info->hardwareVersion.minor = 1;
    info->firmwareVersion.major = 0;
    info->firmwareVersion.minor = 1;
    return CKR_OK;
}

CK_RV p11_get_token_info(p11_slot *s, CK_TOKEN_INFO_PTR info)
{
    CK_ULONG rw = 0;

    if (!info)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = p11_slot_update_info(s);
    if (rv != CKR_OK)
        return rv;
    const p11_token_info *ti = &s->info;
    memset(info, 0, sizeof(*info));
    p11_pad(info->label, sizeof(info->label), ti->label);
    p11_pad(info->manufacturerID, sizeof(info->manufacturerID), ti->manufacturer);
    p11_pad(info->model, sizeof(info->model), ti->model);
    p11_pad(info->serialNumber, sizeof(info->serialNumber), ti->serial);
    info->flags = ti->flags;
    for (size_t i = 0; i < s->nsessions; i++)
        if (p11_session_rw(s->sessions[i]))
            rw++;
    info->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
    info->ulSessionCount = s->nsessions;
    info->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
    info->ulRwSessionCount = rw;
    info->ulMaxPinLen = ti->max_pin;
    info->ulMinPinLen = ti->min_pin;
    info->ulTotalPublicMemory = ti->total_mem;
    info->ulFreePublicMemory = ti->free_mem;
    info->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
    info->hardwareVersion = ti->hw;
    info->firmwareVersion = ti->fw;
    memset(info->utcTime, ' ', sizeof(info->utcTime));
    p11_trace_out("label=\"%s\" flags=0x%lx", ti->label, ti->flags);
    return CKR_OK;
}

/* One look at every slot, each under its lock: presence changes become events. */
static bool poll_events(p11_module *m, CK_SLOT_ID_PTR slot)
{
    p11_slot **v = NULL;
    size_t nv = 0;
    bool found = false;

    if (rescan(m) != CKR_OK || p11_slots_snapshot(m, &v, &nv) != CKR_OK)
        return false;
    for (size_t i = 0; i < nv; i++)
        (void)refresh_locked(v[i]);
    for (size_t i = 0; i < nv && !found; i++) {
        if (p11_slot_lock(v[i]) != CKR_OK)
            continue;
        if (v[i]->event) {
            v[i]->event = false;
            *slot = v[i]->id;
            found = true;
        }
        p11_slot_unlock(v[i]);
    }
    free(v);
    return found;
}

CK_RV p11_wait_for_slot_event(p11_module *m, CK_FLAGS flags, CK_SLOT_ID_PTR slot,
                              CK_VOID_PTR reserved)
{
    CK_RV rv;

    if (!slot || reserved)
        return CKR_ARGUMENTS_BAD;
    for (;;) {
        if (atomic_load(&m->finalizing))
            return CKR_CRYPTOKI_NOT_INITIALIZED;
        bool found = poll_events(m, slot);
        rv = p11_module_lock(m);
        if (rv != CKR_OK)
            return rv;
        bool have_pcsc = m->pcsc != NULL;
        p11_module_unlock(m);
        if (found) {
            p11_trace_out("slot=%lu", *slot);
            return CKR_OK;
        }
        if (flags & CKF_DONT_BLOCK)
            return CKR_NO_EVENT;
        /* Block on the caller's thread: in pcscd when there are readers (C_Finalize
         * cancels that), else short sleeps that notice C_Finalize. */
        if (!have_pcsc || !p11_pcsc_wait(m, 4 * P11_WAIT_POLL_MS)) {
            struct timespec ts = {0, P11_WAIT_POLL_MS * 1000L * 1000L};
            nanosleep(&ts, NULL);
        }
    }
}
