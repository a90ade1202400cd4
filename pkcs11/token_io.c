/* The PKCS#11 layer's driver calls: one transaction per driver operation, private-key
 * operations outside the slot lock, everything else after they have drained. See
 * token_io.h for the rules. */
#include "token_io.h"

#include <string.h>

#include "transport.h"

/* ---- the gate ------------------------------------------------------------------- */

void p11_gate_init(p11_gate *g)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->shared = 0;
    g->epoch = 0;
}

void p11_gate_destroy(p11_gate *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

void p11_gate_drain(p11_slot *s)
{
    p11_gate *g = &s->gate;
    pthread_mutex_lock(&g->mu);
    /* No new one can start: starting needs the slot lock, which the caller holds. */
    while (g->shared > 0)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static unsigned long gate_epoch(p11_gate *g)
{
    pthread_mutex_lock(&g->mu);
    unsigned long e = g->epoch;
    pthread_mutex_unlock(&g->mu);
    return e;
}

CK_RV p11_io_session_idle(p11_slot *slot, CK_SESSION_HANDLE h, p11_session **s)
{
    while ((*s)->busy) {
        unsigned long e = gate_epoch(&slot->gate);
        p11_slot_unlock(slot);
        pthread_mutex_lock(&slot->gate.mu);
        while (slot->gate.epoch == e)
            pthread_cond_wait(&slot->gate.cv, &slot->gate.mu);
        pthread_mutex_unlock(&slot->gate.mu);
        (void)p11_slot_lock(slot);
        *s = p11_session_find(slot->m, h);
        if (!*s)
            return CKR_SESSION_HANDLE_INVALID;
    }
    return CKR_OK;
}

/* ---- transactions ---------------------------------------------------------------- */

/* A card reset by someone else is reported once, by the begin that meets it; the
 * handle is attached again by then, so one more try takes the transaction. */
static CK_RV txn_begin(p11_token *t, bool shared, bool *held)
{
    *held = false;
    if (!t->io)
        return CKR_OK;
    for (int tries = 0; tries < 2; tries++) {
        apdu_status st = shared ? apdu_begin_shared(t->io) : apdu_begin(t->io);
        if (st == APDU_OK) {
            *held = true;
            return CKR_OK;
        }
        if (st == APDU_ERR_NO_CARD)
            return CKR_DEVICE_REMOVED;
        if (st != APDU_ERR_CARD_RESET)
            return CKR_DEVICE_ERROR;
    }
    return CKR_DEVICE_ERROR;
}

static void txn_end(p11_token *t, bool held)
{
    if (held)
        apdu_end(t->io);
}

/* ---- exclusive calls ------------------------------------------------------------- */

/* Drain, take the transaction: the caller then calls the driver and excl_end. */
static CK_RV excl_begin(p11_slot *s, bool *held)
{
    *held = false;
    if (!s->token)
        return CKR_TOKEN_NOT_PRESENT;
    p11_gate_drain(s);
    return txn_begin(s->token, false, held);
}

#define EXCL_CALL(s, call)                                                                         \
    do {                                                                                           \
        bool held_;                                                                                \
        CK_RV rv_ = excl_begin((s), &held_);                                                       \
        if (rv_ == CKR_OK) {                                                                       \
            p11_token *t_ = (s)->token;                                                            \
            rv_ = t_->ops->call;                                                                   \
            txn_end(t_, held_);                                                                    \
        }                                                                                          \
        return rv_;                                                                                \
    } while (0)

CK_RV p11_io_get_info(p11_slot *s, p11_token_info *info)
{
    EXCL_CALL(s, get_info(t_, info));
}

CK_RV p11_io_login(p11_slot *s, CK_USER_TYPE who, const uint8_t *pin, size_t len)
{
    EXCL_CALL(s, login(t_, who, pin, len));
}

CK_RV p11_io_logout(p11_slot *s)
{
    EXCL_CALL(s, logout(t_));
}

CK_RV p11_io_set_pin(p11_slot *s, CK_USER_TYPE who, const uint8_t *old_pin, size_t old_len,
                     const uint8_t *new_pin, size_t new_len)
{
    if (s->token && !s->token->ops->set_pin)
        return CKR_FUNCTION_NOT_SUPPORTED;
    EXCL_CALL(s, set_pin(t_, who, old_pin, old_len, new_pin, new_len));
}

CK_RV p11_io_init_pin(p11_slot *s, const uint8_t *pin, size_t len)
{
    if (s->token && !s->token->ops->init_pin)
        return CKR_FUNCTION_NOT_SUPPORTED;
    EXCL_CALL(s, init_pin(t_, pin, len));
}

CK_RV p11_io_init_token(p11_slot *s, const uint8_t *so_pin, size_t len, const char *label)
{
    if (s->token && !s->token->ops->init_token)
        return CKR_FUNCTION_NOT_SUPPORTED;
    EXCL_CALL(s, init_token(t_, so_pin, len, label));
}

CK_RV p11_io_list_objects(p11_slot *s, p11_tobj **objs, size_t *n)
{
    EXCL_CALL(s, list_objects(t_, objs, n));
}

CK_RV p11_io_create_object(p11_slot *s, const p11_attrs *tmpl, p11_tobj *out)
{
    EXCL_CALL(s, create_object(t_, tmpl, out));
}

CK_RV p11_io_destroy_object(p11_slot *s, const p11_tobj *obj)
{
    EXCL_CALL(s, destroy_object(t_, obj));
}

CK_RV p11_io_set_attributes(p11_slot *s, const p11_tobj *obj, const p11_attrs *changes,
                            p11_tobj *updated)
{
    EXCL_CALL(s, set_attributes(t_, obj, changes, updated));
}

CK_RV p11_io_generate_rsa(p11_slot *s, CK_ULONG bits, const uint8_t *pub_exp, size_t exp_len,
                          const p11_attrs *pub_tmpl, const p11_attrs *priv_tmpl, p11_tobj *pub,
                          p11_tobj *priv)
{
    EXCL_CALL(s, generate_rsa(t_, bits, pub_exp, exp_len, pub_tmpl, priv_tmpl, pub, priv));
}

void p11_io_close(p11_slot *s)
{
    if (!s->token)
        return;
    p11_gate_drain(s);
    s->token->ops->close(s->token);
    s->token = NULL;
}

static unsigned parallel_of(const p11_token *t);

/* Only a token that runs private-key operations side by side promises that these
 * read nothing such an operation changes (P11_CAP_PARALLEL); with any other, they wait
 * for the one in flight (a PKCS#12 token re-reads its file here, a PC/SC handle
 * updates its reader state). */
static void quiet_if_needed(p11_slot *s)
{
    if (parallel_of(s->token) <= 1)
        p11_gate_drain(s);
}

uint64_t p11_io_generation(p11_slot *s)
{
    if (!s->token)
        return 0;
    quiet_if_needed(s);
    return s->token->ops->generation(s->token);
}

CK_RV p11_io_present(p11_slot *s)
{
    if (!s->token)
        return CKR_TOKEN_NOT_PRESENT;
    quiet_if_needed(s);
    return s->token->ops->present(s->token);
}

/* ---- private-key operations ------------------------------------------------------ */

typedef struct shared_call {
    p11_slot *slot;
    p11_token *t;
    CK_SESSION_HANDLE h;
    p11_tobj key; /* a copy: the object may be re-listed while the token works */
    bool held;    /* the transaction */
} shared_call;

static unsigned parallel_of(const p11_token *t)
{
    if (!(t->ops->caps & P11_CAP_PARALLEL) || t->parallel == 0)
        return 1;
    return t->parallel;
}

/* Take a place at the gate, mark the session busy and release the slot lock. Whatever
 * it returns, shared_end follows. */
static CK_RV shared_begin(p11_session *s, const p11_object *key, shared_call *c)
{
    p11_slot *slot = s->slot;
    p11_gate *g = &slot->gate;
    CK_RV rv = CKR_OK;

    memset(c, 0, sizeof(*c));
    c->slot = slot;
    c->t = slot->token;
    c->h = s->handle;
    if (key) {
        rv = p11_attrs_copy(&c->key.attrs, &key->t.attrs);
        memcpy(c->key.ref, key->t.ref, key->t.ref_len);
        c->key.ref_len = key->t.ref_len;
    }
    unsigned limit = parallel_of(c->t);
    pthread_mutex_lock(&g->mu);
    while (g->shared >= limit)
        pthread_cond_wait(&g->cv, &g->mu);
    g->shared++;
    pthread_mutex_unlock(&g->mu);
    s->busy = true;
    p11_slot_unlock(slot);
    if (rv == CKR_OK)
        rv = txn_begin(c->t, true, &c->held);
    return rv;
}

/* Leave the gate and take the slot lock again. False: the session was closed meanwhile. */
static bool shared_end(shared_call *c)
{
    p11_slot *slot = c->slot;
    p11_gate *g = &slot->gate;

    txn_end(c->t, c->held);
    p11_tobj_free(&c->key);
    pthread_mutex_lock(&g->mu);
    g->shared--;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    (void)p11_slot_lock(slot);
    p11_session *s = p11_session_find(slot->m, c->h);
    if (s)
        s->busy = false;
    pthread_mutex_lock(&g->mu);
    g->epoch++;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    return s != NULL;
}

static CK_RV shared_done(shared_call *c, CK_RV rv, bool *gone)
{
    *gone = !shared_end(c);
    return *gone ? CKR_SESSION_HANDLE_INVALID : rv;
}

CK_RV p11_io_rsa_sign(p11_session *s, const p11_object *key, p11_rsa_op op, const uint8_t *in,
                      size_t in_len, uint8_t *out, size_t *out_len, bool *gone)
{
    shared_call c;
    CK_RV rv = shared_begin(s, key, &c);
    if (rv == CKR_OK)
        rv = c.t->ops->rsa_sign(c.t, &c.key, op, in, in_len, out, out_len);
    return shared_done(&c, rv, gone);
}

CK_RV p11_io_rsa_decrypt(p11_session *s, const p11_object *key, p11_rsa_op op, const uint8_t *in,
                         size_t in_len, uint8_t *out, size_t *out_len, bool *gone)
{
    shared_call c;
    CK_RV rv = shared_begin(s, key, &c);
    if (rv == CKR_OK)
        rv = c.t->ops->rsa_decrypt(c.t, &c.key, op, in, in_len, out, out_len);
    return shared_done(&c, rv, gone);
}

CK_RV p11_io_ec_sign(p11_session *s, const p11_object *key, const uint8_t *hash, size_t hash_len,
                     uint8_t *out, size_t *out_len, bool *gone)
{
    shared_call c;
    CK_RV rv = shared_begin(s, key, &c);
    if (rv == CKR_OK)
        rv = c.t->ops->ec_sign(c.t, &c.key, hash, hash_len, out, out_len);
    return shared_done(&c, rv, gone);
}

CK_RV p11_io_random(p11_session *s, uint8_t *out, size_t len, bool *gone)
{
    shared_call c;
    CK_RV rv = shared_begin(s, NULL, &c);
    if (rv == CKR_OK)
        rv = c.t->ops->random(c.t, out, len);
    return shared_done(&c, rv, gone);
}
