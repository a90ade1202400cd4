/* PC/SC readers: a slot for each reader in which a card that one of our drivers
 * recognises has been seen (at C_Initialize or later; slots are only ever added).
 * Card presence follows the reader; events come from SCardGetStatusChange on a context
 * of its own, so a blocked wait never holds up the connections' context, and
 * C_Finalize cancels it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drivers.h"
#include "pcsc.h"
#include "rv.h"
#include "slot.h"
#include "trace.h"
#include "vendor.h"

/* apdu_pcsc_wait watches at most 16 readers, the PnP notification included. */
#define PCSC_MAX_READERS 15

struct p11_pcsc {
    apdu_pcsc *ctx; /* connections and status queries, under the module lock */
    apdu_pcsc *ev;  /* C_WaitForSlotEvent only, used without the module lock */
    atomic_bool waiting;
    /* the reader states the event wait last saw */
    char *names[PCSC_MAX_READERS];
    unsigned long known[PCSC_MAX_READERS];
    size_t nnames;
};

/* A card pulled and pushed back between two calls is noticed by the token's present()
 * (apdu/pcsc.c asks pcscd about our handle, which pcsc-lite flags on every removal), so
 * the source needs no replaced() hook of its own. */
typedef struct pcsc_slot {
    char reader[256];
} pcsc_slot;

/* Current state of one reader: present, with ATR. */
static bool reader_state(apdu_pcsc *ctx, const char *reader, apdu_reader_state *st)
{
    memset(st, 0, sizeof(*st));
    st->reader = reader;
    st->known = 0; /* unaware: answer at once with the current state */
    apdu_status as = apdu_pcsc_wait(ctx, st, 1, 0, false);
    return as == APDU_OK || as == APDU_ERR_TIMEOUT;
}

static CK_RV pcsc_open(p11_slot *s, p11_token **out)
{
    pcsc_slot *ps = s->src_ctx;
    p11_pcsc *pc = s->m->pcsc;
    apdu_transport *t = NULL;
    uint8_t atr[33];
    size_t atr_len = sizeof(atr);

    if (!pc) /* a forked child: the parent's connections are not ours */
        return CKR_TOKEN_NOT_PRESENT;
    apdu_status as = apdu_pcsc_connect(pc->ctx, ps->reader, &t);
    if (as != APDU_OK)
        return p11_rv_from_apdu(as);
    t->trace = p11_trace_apdu;
    t->trace_arg = NULL;
    as = apdu_get_atr(t, atr, &atr_len);
    if (as != APDU_OK) {
        apdu_close(t);
        return p11_rv_from_apdu(as);
    }
    const p11_card_driver *drv = p11_driver_match(atr, atr_len);
    if (!drv) {
        apdu_close(t);
        return CKR_TOKEN_NOT_RECOGNIZED;
    }
    /* The driver reads the card as it opens: one transaction, like any driver call. */
    bool held = apdu_begin(t) == APDU_OK;
    CK_RV rv = drv->open(t, out); /* owns t from here, also on failure */
    if (rv != CKR_OK)
        return rv;
    if (held)
        apdu_end(t);
    (*out)->io = t;
    (*out)->parallel = 1; /* one card, one handle: its operations take turns */
    (*out)->changes_seen_at_txn = true;
    return CKR_OK;
}

static bool pcsc_may_be_present(p11_slot *s)
{
    pcsc_slot *ps = s->src_ctx;
    apdu_reader_state st;
    if (!s->m->pcsc)
        return false;
    return reader_state(s->m->pcsc->ctx, ps->reader, &st) && st.present;
}

static void pcsc_release(p11_slot *s, bool after_fork)
{
    (void)after_fork;
    free(s->src_ctx);
    s->src_ctx = NULL;
}

static const p11_slot_src_ops pcsc_src = {
    .kind = "pcsc",
    .fork_safe = false,
    .open = pcsc_open,
    .may_be_present = pcsc_may_be_present,
    .release = pcsc_release,
};

static bool reader_has_slot(p11_module *m, const char *reader)
{
    for (size_t i = 0; i < m->nslots; i++) {
        const p11_slot *s = m->slots[i];
        if (s->src == &pcsc_src && !strcmp(((const pcsc_slot *)s->src_ctx)->reader, reader))
            return true;
    }
    return false;
}

/* Readers holding a card one of our drivers knows, and not yet a slot: add them. */
static void scan(p11_module *m, bool as_event)
{
    p11_pcsc *pc = m->pcsc;
    char **names = NULL;
    if (!pc || apdu_pcsc_list_readers(pc->ctx, &names) != APDU_OK)
        return;
    for (size_t i = 0; names[i]; i++) {
        apdu_reader_state st;
        if (reader_has_slot(m, names[i]))
            continue;
        if (!reader_state(pc->ctx, names[i], &st) || !st.present)
            continue;
        const p11_card_driver *drv = p11_driver_match(st.atr, st.atr_len);
        if (!drv)
            continue;
        pcsc_slot *ps = calloc(1, sizeof(*ps));
        if (!ps)
            break;
        snprintf(ps->reader, sizeof(ps->reader), "%s", names[i]);
        p11_slot *s = NULL;
        if (p11_slot_add(m, &pcsc_src, ps, names[i], P11_MANUFACTURER, drv->vendor, &s) != CKR_OK)
            break;
        if (s && as_event)
            s->event = true;
        p11_trace_msg("PC/SC reader '%s': %s card", names[i], drv->name);
    }
    apdu_pcsc_free_list(names);
}

CK_RV p11_pcsc_discover(p11_module *m)
{
    p11_pcsc *pc = calloc(1, sizeof(*pc));
    if (!pc)
        return CKR_HOST_MEMORY;
    apdu_status as = apdu_pcsc_open_context(&pc->ctx);
    if (as == APDU_OK) {
        /* made now, not by the first waiter: C_Finalize may cancel it from any thread */
        as = apdu_pcsc_open_context(&pc->ev);
        if (as != APDU_OK)
            apdu_pcsc_close_context(pc->ctx);
    }
    if (as != APDU_OK) {
        free(pc);
        return p11_rv_from_apdu(as);
    }
    m->pcsc = pc;
    /* At C_Initialize the slots are simply there; found on a later try (the retry
     * clock has started), each new slot is an event. */
    scan(m, m->pcsc_next_try_ms != 0);
    return CKR_OK;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void p11_pcsc_rescan(p11_module *m)
{
    /* pcscd may start (socket activation, `vtoken sim`) after the application loaded
     * us: keep looking for it, at most once a second. */
    if (!m->pcsc && m->pcsc_wanted && now_ms() >= m->pcsc_next_try_ms) {
        m->pcsc_next_try_ms = now_ms() + 1000;
        if (p11_pcsc_discover(m) != CKR_OK)
            return;
    }
    scan(m, true);
}

/* The state last seen for a reader (0 = unaware). */
static unsigned long known_state(const p11_pcsc *pc, const char *reader)
{
    for (size_t i = 0; i < pc->nnames; i++)
        if (!strcmp(pc->names[i], reader))
            return pc->known[i];
    return 0;
}

bool p11_pcsc_wait(p11_module *m, long timeout_ms)
{
    p11_pcsc *pc = m->pcsc;
    apdu_reader_state st[PCSC_MAX_READERS];
    char *names[PCSC_MAX_READERS];
    size_t n = 0;
    char **list = NULL;
    bool changed = false;

    if (!pc)
        return false;
    /* One waiter in pcscd at a time; the others poll. */
    if (atomic_exchange(&pc->waiting, true))
        return false;
    /* Listed each time: readers come and go (the PnP notification wakes the wait). */
    if (apdu_pcsc_list_readers(pc->ev, &list) != APDU_OK)
        goto out;
    memset(st, 0, sizeof(st));
    for (size_t i = 0; list[i] && n < PCSC_MAX_READERS; i++) {
        names[n] = strdup(list[i]);
        if (!names[n])
            continue;
        st[n].reader = names[n];
        st[n].known = known_state(pc, names[n]);
        n++;
    }
    apdu_pcsc_free_list(list);
    apdu_status as = apdu_pcsc_wait(pc->ev, st, n, timeout_ms, true);
    changed = as == APDU_OK;
    for (size_t i = 0; i < pc->nnames; i++)
        free(pc->names[i]);
    for (size_t i = 0; i < n; i++) {
        pc->names[i] = names[i];
        pc->known[i] = (as == APDU_OK) ? st[i].current : st[i].known;
    }
    pc->nnames = n;
out:
    atomic_store(&pc->waiting, false);
    return changed;
}

void p11_pcsc_cancel(p11_module *m)
{
    if (m->pcsc && m->pcsc->ev)
        apdu_pcsc_cancel(m->pcsc->ev);
}

void p11_pcsc_free(p11_module *m, bool after_fork)
{
    p11_pcsc *pc = m->pcsc;
    if (!pc)
        return;
    m->pcsc = NULL;
    for (size_t i = 0; i < pc->nnames; i++)
        free(pc->names[i]);
    /* In a forked child the contexts are the parent's: releasing them would talk to
     * pcscd on the parent's behalf. Leak them instead. */
    if (!after_fork) {
        apdu_pcsc_close_context(pc->ev);
        apdu_pcsc_close_context(pc->ctx);
    }
    free(pc);
}
