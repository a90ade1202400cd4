/* Slots: a fixed list per initialisation (only ever appended to), each fed by a source
 * (embedded virtual token, PC/SC reader, PKCS#12 file, test mock) that opens a token
 * when one is present. Presence is a flag; changes become slot events.
 *
 * Locking: a call on a slot or a session holds that slot's lock (slot->lock) from its
 * checks to its end; the module lock is taken inside it only briefly (session map,
 * handles), never the other way round, and never two slot locks at once. Private-key
 * operations release the slot lock while the token computes (token_io.c): the slot's
 * gate counts them, and every other driver call waits until none is running. */
#ifndef P11_SLOT_H
#define P11_SLOT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "module.h"
#include "object.h"
#include "token.h"

/* Where a slot's token comes from. */
typedef struct p11_slot_src_ops {
    const char *kind; /* "embedded", "pcsc", "pkcs12", "test" */
    /* The state a forked child inherits stays usable (in-memory card, mock); false for
     * PC/SC, whose connections belong to the parent. */
    bool fork_safe;
    /* Open the token now in the slot: CKR_TOKEN_NOT_PRESENT when there is none. */
    CK_RV (*open)(p11_slot *s, p11_token **out);
    /* Cheap hint while no token is open: false = surely absent (skip open). NULL means
     * always try open. */
    bool (*may_be_present)(p11_slot *s);
    /* Release src_ctx. after_fork: in a child that must not touch the parent's
     * connections (leak rather than close them). */
    void (*release)(p11_slot *s, bool after_fork);
} p11_slot_src_ops;

/* The private-key operations of a slot that run without its lock (token_io.c). Its own
 * pthread mutex: waiting needs a condition variable, which the application's mutex
 * callbacks do not offer. */
typedef struct p11_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned shared;     /* operations running without the slot lock */
    unsigned long epoch; /* moves whenever one of them has finished with its session */
} p11_gate;

struct p11_slot {
    p11_module *m;
    CK_SLOT_ID id;
    p11_lock lock;
    p11_gate gate;
    char description[65];
    char manufacturer[33];
    const char *vendor; /* family ("kaztoken"...), for the vendor filter */
    const p11_slot_src_ops *src;
    void *src_ctx;

    p11_token *token; /* NULL: no token present (or not yet opened) */
    p11_token_info info;
    bool event;         /* presence changed since C_WaitForSlotEvent last reported it */
    CK_RV last_open_rv; /* traced only when it changes */

    /* One login state per token, shared by all of the application's sessions. */
    bool logged_in;
    CK_USER_TYPE user;

    p11_session **sessions;
    size_t nsessions, sessions_cap;

    p11_objstore store;
};

/* Append a slot (takes ownership of ctx; on failure ctx is released). The token is
 * opened right away when present. */
CK_RV p11_slot_add(p11_module *m, const p11_slot_src_ops *src, void *ctx, const char *desc,
                   const char *manufacturer, const char *vendor, p11_slot **out);
void p11_slot_free(p11_slot *s, bool after_fork);
p11_slot *p11_slot_get(p11_module *m, CK_SLOT_ID id); /* module lock held */
CK_RV p11_slot_lock(p11_slot *s);
void p11_slot_unlock(p11_slot *s);
/* The slots as they are now (module lock taken inside): a copy the caller frees, to
 * visit each under its own lock. */
CK_RV p11_slots_snapshot(p11_module *m, p11_slot ***out, size_t *n);
/* A forked child adopting the module: locks and gates held by the parent's other
 * threads are not the child's (module lock held, no other thread exists). */
void p11_slot_after_fork(p11_slot *s);

/* Re-check presence: opens a newly present token, or notices removal. CKR_OK when a
 * token is present afterwards, CKR_TOKEN_NOT_PRESENT otherwise. */
CK_RV p11_slot_refresh(p11_slot *s);
/* The token went away (removal noticed, CKR_DEVICE_REMOVED from a driver): close its
 * sessions, forget the login and the objects, close the driver. Sets the event. */
void p11_slot_token_lost(p11_slot *s);
/* Refresh s->info from the driver (PIN counters move with every login attempt). */
CK_RV p11_slot_update_info(p11_slot *s);

CK_RV p11_get_slot_list(p11_module *m, CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count);
CK_RV p11_get_slot_info(p11_slot *s, CK_SLOT_INFO_PTR info);
CK_RV p11_get_token_info(p11_slot *s, CK_TOKEN_INFO_PTR info);
/* Runs without the module lock held (takes it around each poll). */
CK_RV p11_wait_for_slot_event(p11_module *m, CK_FLAGS flags, CK_SLOT_ID_PTR slot,
                              CK_VOID_PTR reserved);

/* Slot discovery, called by C_Initialize in this order. */
CK_RV p11_embedded_discover(p11_module *m);
void p11_embedded_free(p11_module *m, bool after_fork);
CK_RV p11_pcsc_discover(p11_module *m);
/* Look for readers that gained a supported card since the last look; adds slots. */
void p11_pcsc_rescan(p11_module *m);
/* Block in SCardGetStatusChange for up to timeout_ms; true when something changed. */
bool p11_pcsc_wait(p11_module *m, long timeout_ms);
void p11_pcsc_cancel(p11_module *m);
void p11_pcsc_free(p11_module *m, bool after_fork);
CK_RV p11_test_discover(p11_module *m, bool *used);
/* PKCS#12 files ("Personal computer" storage, slot_pkcs12.c): one slot per file of the
 * configured directories; a rescan appends slots for files that appeared since. */
CK_RV p11_pkcs12_discover(p11_module *m);
void p11_pkcs12_rescan(p11_module *m);
void p11_pkcs12_free(p11_module *m, bool after_fork);

/* blank-pad src into a fixed-width PKCS#11 string field */
void p11_pad(CK_UTF8CHAR *dst, size_t width, const char *src);

#endif
