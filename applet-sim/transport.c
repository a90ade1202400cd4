/* The in-process transports: apdu_transport over a sim_conn, so the module talks to an
 * embedded card through exactly the bytes it would send over PC/SC. begin/end hold the
 * card image lock across APDUs; generation follows the image. The pool transport
 * spreads a host's threads over several channels of one connection. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dialect.h"

/* ---- one connection ---------------------------------------------------------- */

static sim_conn *conn_of(apdu_transport *t)
{
    return (sim_conn *)t->ctx;
}

static apdu_status from_sim(sim_status st, size_t rlen)
{
    switch (st) {
    case SIM_OK:
        return APDU_OK;
    case SIM_ERR_POWER:
        return APDU_ERR_NO_CARD;
    case SIM_ERR_ARGS:
        return rlen < 2 ? APDU_ERR_BUFFER : APDU_ERR_ARGS;
    default:
        return APDU_ERR_IO;
    }
}

static apdu_status t_transmit(apdu_transport *t, const uint8_t *capdu, size_t clen, uint8_t *rapdu,
                              size_t *rlen)
{
    sim_status st = sim_conn_process(conn_of(t), capdu, clen, rapdu, rlen);
    return from_sim(st, *rlen);
}

static apdu_status conn_atr(sim_conn *conn, uint8_t *atr, size_t *len)
{
    size_t alen;
    const uint8_t *a = sim_profile_atr(sim_card_profile(conn->card), &alen);
    if (!sim_conn_powered(conn))
        return APDU_ERR_NO_CARD;
    if (*len < alen)
        return APDU_ERR_BUFFER;
    memcpy(atr, a, alen);
    *len = alen;
    return APDU_OK;
}

static apdu_status t_get_atr(apdu_transport *t, uint8_t *atr, size_t *len)
{
    return conn_atr(conn_of(t), atr, len);
}

static sim_status conn_reset(sim_conn *conn, bool cold, uint8_t *atr, size_t *len)
{
    if (cold)
        sim_conn_power_off(conn);
    return cold ? sim_conn_power_on(conn, atr, len) : sim_conn_reset(conn, atr, len);
}

static apdu_status t_reset(apdu_transport *t, bool cold, uint8_t *atr, size_t *len)
{
    return conn_reset(conn_of(t), cold, atr, len) == SIM_OK ? APDU_OK : APDU_ERR_BUFFER;
}

static apdu_status t_present(apdu_transport *t)
{
    return sim_conn_powered(conn_of(t)) ? APDU_OK : APDU_ERR_NO_CARD;
}

static apdu_status t_begin(apdu_transport *t)
{
    return sim_conn_begin(conn_of(t)) == SIM_OK ? APDU_OK : APDU_ERR_IO;
}

static apdu_status t_begin_shared(apdu_transport *t)
{
    return sim_conn_begin_shared(conn_of(t)) == SIM_OK ? APDU_OK : APDU_ERR_IO;
}

static apdu_status t_end(apdu_transport *t)
{
    return sim_conn_end(conn_of(t)) == SIM_OK ? APDU_OK : APDU_ERR_IO;
}

static uint64_t t_generation(apdu_transport *t)
{
    return sim_card_generation(conn_of(t)->card);
}

static void t_close(apdu_transport *t)
{
    sim_conn_close(conn_of(t));
    t->ctx = NULL;
}

static const struct apdu_transport_ops sim_transport_ops = {
    .transmit = t_transmit,
    .get_atr = t_get_atr,
    .reset = t_reset,
    .present = t_present,
    .begin = t_begin,
    .end = t_end,
    .begin_shared = t_begin_shared,
    .generation = t_generation,
    .close = t_close,
};

static void transport_init(apdu_transport *t, sim_conn *conn)
{
    t->max_short_nc = APDU_MAX_SHORT_NC;
    t->extended = conn->card->dialect != NULL && conn->card->dialect->extended_apdus;
}

sim_status sim_transport_new(sim_conn *conn, apdu_transport **out)
{
    apdu_transport *t;
    if (conn == NULL || out == NULL)
        return SIM_ERR_ARGS;
    if (!sim_conn_powered(conn))
        return SIM_ERR_POWER;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return SIM_ERR_NOMEM;
    t->ops = &sim_transport_ops;
    t->ctx = conn;
    transport_init(t, conn);
    *out = t;
    return SIM_OK;
}

/* ---- a pool of channels -------------------------------------------------------- */

/* A thread owns a channel from its outermost begin to the matching end, so the APDUs of
 * one operation (SELECT then READ, MSE SET then PSO, the parts of a chain) stay on one
 * channel, and operations of different threads run side by side. A transmit outside
 * any begin goes to channel 0, one APDU at a time. */
typedef struct chan {
    sim_conn *conn;
    pthread_t owner;
    unsigned depth; /* 0: free */
} chan;

typedef struct pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t n;
    unsigned fork_gen;
    chan ch[SIM_POOL_MAX];
} pool;

static atomic_uint pool_fork_gen;
static pthread_once_t pool_fork_once = PTHREAD_ONCE_INIT;

static void pool_on_fork_child(void)
{
    atomic_fetch_add(&pool_fork_gen, 1);
}

static void pool_fork_hook(void)
{
    pthread_atfork(NULL, NULL, pool_on_fork_child);
}

static pool *pool_of(apdu_transport *t)
{
    return (pool *)t->ctx;
}

/* [mu held] Bindings made by the parent's threads do not exist in a forked child. */
static void pool_fork_check(pool *p)
{
    unsigned gen = atomic_load(&pool_fork_gen);
    if (p->fork_gen == gen)
        return;
    p->fork_gen = gen;
    for (size_t i = 0; i < p->n; i++)
        p->ch[i].depth = 0;
}

/* [mu held] The channel this thread holds, or NULL. */
static chan *bound(pool *p)
{
    pthread_t self = pthread_self();
    for (size_t i = 0; i < p->n; i++)
        if (p->ch[i].depth > 0 && pthread_equal(p->ch[i].owner, self))
            return &p->ch[i];
    return NULL;
}

/* This thread's channel, binding a free one (any, or only channel 0) when it has none. */
static chan *acquire(pool *p, bool any)
{
    chan *c;
    pthread_mutex_lock(&p->mu);
    pool_fork_check(p);
    c = bound(p);
    while (c == NULL) {
        for (size_t i = 0; i < (any ? p->n : 1) && c == NULL; i++)
            if (p->ch[i].depth == 0)
                c = &p->ch[i];
        if (c == NULL)
            pthread_cond_wait(&p->cv, &p->mu);
    }
    if (c->depth++ == 0)
        c->owner = pthread_self();
    pthread_mutex_unlock(&p->mu);
    return c;
}

static void release(pool *p, chan *c)
{
    pthread_mutex_lock(&p->mu);
    if (c->depth > 0 && --c->depth == 0)
        pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static apdu_status p_transmit(apdu_transport *t, const uint8_t *capdu, size_t clen, uint8_t *rapdu,
                              size_t *rlen)
{
    pool *p = pool_of(t);
    chan *c = acquire(p, false);
    sim_status st = sim_conn_process(c->conn, capdu, clen, rapdu, rlen);
    release(p, c);
    return from_sim(st, *rlen);
}

static apdu_status p_get_atr(apdu_transport *t, uint8_t *atr, size_t *len)
{
    return conn_atr(pool_of(t)->ch[0].conn, atr, len);
}

/* Every channel powers with the card: a reset waits until no thread holds one. */
static apdu_status p_reset(apdu_transport *t, bool cold, uint8_t *atr, size_t *len)
{
    pool *p = pool_of(t);
    sim_status st = SIM_OK;
    pthread_mutex_lock(&p->mu);
    pool_fork_check(p);
    for (;;) {
        size_t busy = 0;
        for (size_t i = 0; i < p->n; i++)
            busy += p->ch[i].depth > 0 && !pthread_equal(p->ch[i].owner, pthread_self());
        if (busy == 0)
            break;
        pthread_cond_wait(&p->cv, &p->mu);
    }
    for (size_t i = p->n; i-- > 0 && st == SIM_OK;) {
        size_t alen = *len;
        st = conn_reset(p->ch[i].conn, cold, atr, &alen);
        if (i == 0)
            *len = alen;
    }
    pthread_mutex_unlock(&p->mu);
    return st == SIM_OK ? APDU_OK : APDU_ERR_BUFFER;
}

static apdu_status p_present(apdu_transport *t)
{
    return sim_conn_powered(pool_of(t)->ch[0].conn) ? APDU_OK : APDU_ERR_NO_CARD;
}

static apdu_status p_begin_kind(apdu_transport *t, bool shared)
{
    pool *p = pool_of(t);
    chan *c = acquire(p, true);
    sim_status st = shared ? sim_conn_begin_shared(c->conn) : sim_conn_begin(c->conn);
    if (st != SIM_OK) {
        release(p, c);
        return APDU_ERR_IO;
    }
    return APDU_OK;
}

static apdu_status p_begin(apdu_transport *t)
{
    return p_begin_kind(t, false);
}

static apdu_status p_begin_shared(apdu_transport *t)
{
    return p_begin_kind(t, true);
}

static apdu_status p_end(apdu_transport *t)
{
    pool *p = pool_of(t);
    chan *c;
    pthread_mutex_lock(&p->mu);
    pool_fork_check(p);
    c = bound(p);
    pthread_mutex_unlock(&p->mu);
    if (c == NULL)
        return APDU_OK; /* no begin of this thread to end */
    sim_conn_end(c->conn);
    release(p, c);
    return APDU_OK;
}

static uint64_t p_generation(apdu_transport *t)
{
    return sim_card_generation(pool_of(t)->ch[0].conn->card);
}

static void pool_free(pool *p)
{
    /* the channels first: they share the base connection's security status */
    for (size_t i = p->n; i-- > 0;)
        sim_conn_close(p->ch[i].conn);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static void p_close(apdu_transport *t)
{
    pool_free(pool_of(t));
    t->ctx = NULL;
}

static const struct apdu_transport_ops pool_ops = {
    .transmit = p_transmit,
    .get_atr = p_get_atr,
    .reset = p_reset,
    .present = p_present,
    .begin = p_begin,
    .end = p_end,
    .begin_shared = p_begin_shared,
    .generation = p_generation,
    .close = p_close,
};

sim_status sim_transport_new_pool(sim_conn *conn, size_t n, apdu_transport **out)
{
    apdu_transport *t = NULL;
    pool *p = NULL;
    sim_status rv = SIM_ERR_ARGS;

    if (conn == NULL || out == NULL || n == 0 || n > SIM_POOL_MAX || conn->base != NULL)
        return SIM_ERR_ARGS;
    if (!sim_conn_powered(conn))
        return SIM_ERR_POWER;
    pthread_once(&pool_fork_once, pool_fork_hook);
    rv = SIM_ERR_NOMEM;
    t = calloc(1, sizeof(*t));
    p = calloc(1, sizeof(*p));
    if (t == NULL || p == NULL)
        goto fail;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->fork_gen = atomic_load(&pool_fork_gen);
    p->ch[0].conn = conn;
    p->n = 1;
    while (p->n < n) {
        rv = sim_conn_open_channel(conn, &p->ch[p->n].conn);
        if (rv != SIM_OK)
            goto fail;
        p->n++;
    }
    t->ops = &pool_ops;
    t->ctx = p;
    transport_init(t, conn);
    *out = t;
    return SIM_OK;
fail:
    free(t);
    if (p != NULL) {
        p->ch[0].conn = NULL; /* the caller keeps conn on failure */
        for (size_t i = p->n; i-- > 1;)
            sim_conn_close(p->ch[i].conn);
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        free(p);
    }
    return rv;
}
