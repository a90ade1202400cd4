/* Embedded virtual tokens: one slot per token of $VTOKEN_HOME (option home=), each a
 * card image run in-process by applet-sim and reached through its in-process
 * transport, so the module sees only APDUs, exactly as over PC/SC. The transport is a
 * small pool of channels of one connection (one security status, as a card's logical
 * channels share it), so private-key operations of several threads run at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers.h"
#include "rv.h"
#include "sim.h"
#include "slot.h"
#include "trace.h"
#include "vendor.h"

struct p11_embedded {
    sim_home *home;
};

/* Channels per embedded token: private-key operations that can run at once. More than
 * the cores of a small machine buys nothing; a few spare keep one slow caller from
 * holding up the others. */
#define EMB_CHANNELS 4

typedef struct emb_slot {
    char name[32];
    char profile[32];
    char image[4096];
    sim_card *card; /* opened on first use, kept for the slot's life */
} emb_slot;

static CK_RV emb_open(p11_slot *s, p11_token **out)
{
    emb_slot *e = s->src_ctx;
    sim_conn *conn = NULL;
    apdu_transport *t = NULL;
    uint8_t atr[33];
    size_t atr_len = sizeof(atr);
    char *why = NULL;
    sim_status st;
    CK_RV rv;

    if (!e->card) {
        st = sim_card_open(e->image, &e->card, &why);
        if (st != SIM_OK) {
            p11_trace_msg("embedded %s: %s%s%s", e->name, sim_strerror(st), why ? ": " : "",
                          why ? why : "");
            free(why);
            e->card = NULL;
            return p11_rv_from_sim(st);
        }
    }
    st = sim_conn_open(e->card, &conn);
    if (st == SIM_OK)
        st = sim_conn_power_on(conn, atr, &atr_len);
    if (st != SIM_OK) {
        sim_conn_close(conn);
        return p11_rv_from_sim(st);
    }
    st = sim_transport_new_pool(conn, EMB_CHANNELS, &t); /* owns conn from here */
    if (st != SIM_OK) {
        sim_conn_close(conn);
        return p11_rv_from_sim(st);
    }
    t->trace = p11_trace_apdu;
    t->trace_arg = NULL;
    if (apdu_present(t) != APDU_OK) {
        apdu_close(t);
        return CKR_TOKEN_NOT_PRESENT;
    }
    const p11_card_driver *drv = p11_driver_match(atr, atr_len);
    if (!drv) {
        apdu_close(t); /* the slot traces CKR_TOKEN_NOT_RECOGNIZED once */
        return CKR_TOKEN_NOT_RECOGNIZED;
    }
    /* The driver reads the card as it opens: one transaction, like any driver call. */
    bool held = apdu_begin(t) == APDU_OK;
    rv = drv->open(t, out); /* owns t from here, also on failure */
    if (rv != CKR_OK)
        return rv;
    if (held)
        apdu_end(t);
    (*out)->io = t;
    (*out)->parallel = EMB_CHANNELS;
    p11_trace_msg("embedded %s: %s driver", e->name, drv->name);
    return rv;
}

static void emb_release(p11_slot *s, bool after_fork)
{
    emb_slot *e = s->src_ctx;
    (void)after_fork; /* an in-process card is the child's own copy */
    if (!e)
        return;
    if (e->card)
        sim_card_close(e->card);
    free(e);
    s->src_ctx = NULL;
}

static const p11_slot_src_ops emb_src = {
    .kind = "embedded",
    .fork_safe = true,
    .open = emb_open,
    .may_be_present = NULL,
    .release = emb_release,
};

CK_RV p11_embedded_discover(p11_module *m)
{
    char dir[4096];
    char *why = NULL;
    const char *opt = m->opts.home[0] ? m->opts.home : NULL;
    sim_status st = sim_home_resolve(opt, dir, sizeof(dir));
    if (st != SIM_OK)
        return p11_rv_from_sim(st);
    m->embedded = calloc(1, sizeof(*m->embedded));
    if (!m->embedded)
        return CKR_HOST_MEMORY;
    st = sim_home_open(dir, &m->embedded->home, &why);
    if (st != SIM_OK) {
        p11_trace_msg("VTOKEN_HOME %s: %s%s%s", dir, sim_strerror(st), why ? ": " : "",
                      why ? why : "");
        free(why);
        free(m->embedded);
        m->embedded = NULL;
        return p11_rv_from_sim(st);
    }
    sim_home *home = m->embedded->home;
    for (size_t i = 0; i < sim_home_token_count(home); i++) {
        const sim_token_conf *tc = sim_home_token(home, i);
        const sim_profile *prof = sim_profile_by_name(tc->profile);
        emb_slot *e = calloc(1, sizeof(*e));
        if (!e)
            return CKR_HOST_MEMORY;
        snprintf(e->name, sizeof(e->name), "%s", tc->name);
        snprintf(e->profile, sizeof(e->profile), "%s", tc->profile);
        snprintf(e->image, sizeof(e->image), "%s", tc->image);
        /* The slot reads like the token's real reader. */
        const char *reader = prof ? sim_profile_reader_name(prof) : tc->name;
        CK_RV rv = p11_slot_add(m, &emb_src, e, reader, P11_MANUFACTURER,
                                prof ? sim_profile_name(prof) : NULL, NULL);
        if (rv != CKR_OK)
            return rv;
    }
    return CKR_OK;
}

void p11_embedded_free(p11_module *m, bool after_fork)
{
    (void)after_fork;
    if (!m->embedded)
        return;
    sim_home_close(m->embedded->home);
    free(m->embedded);
    m->embedded = NULL;
}
