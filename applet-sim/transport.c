/* The in-process transport: apdu_transport over a sim_conn, so the module talks to an
 * embedded card through exactly the bytes it would send over PC/SC. begin/end hold the
 * card image lock across APDUs; generation follows the image. */
#include <stdlib.h>
#include <string.h>

#include "dialect.h"

static sim_conn *conn_of(apdu_transport *t)
{
    return (sim_conn *)t->ctx;
}

static apdu_status t_transmit(apdu_transport *t, const uint8_t *capdu, size_t clen, uint8_t *rapdu,
                              size_t *rlen)
{
    switch (sim_conn_process(conn_of(t), capdu, clen, rapdu, rlen)) {
    case SIM_OK:
        return APDU_OK;
    case SIM_ERR_POWER:
        return APDU_ERR_NO_CARD;
    case SIM_ERR_ARGS:
        return *rlen < 2 ? APDU_ERR_BUFFER : APDU_ERR_ARGS;
    default:
        return APDU_ERR_IO;
    }
}

static apdu_status t_get_atr(apdu_transport *t, uint8_t *atr, size_t *len)
{
    sim_conn *conn = conn_of(t);
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

static apdu_status t_reset(apdu_transport *t, bool cold, uint8_t *atr, size_t *len)
{
    sim_conn *conn = conn_of(t);
    sim_status st;
    if (cold)
        sim_conn_power_off(conn);
    st = cold ? sim_conn_power_on(conn, atr, len) : sim_conn_reset(conn, atr, len);
    return st == SIM_OK ? APDU_OK : APDU_ERR_BUFFER;
}

static apdu_status t_present(apdu_transport *t)
{
    return sim_conn_powered(conn_of(t)) ? APDU_OK : APDU_ERR_NO_CARD;
}

static apdu_status t_begin(apdu_transport *t)
{
    return sim_conn_begin(conn_of(t)) == SIM_OK ? APDU_OK : APDU_ERR_IO;
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
    .generation = t_generation,
    .close = t_close,
};

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
    t->max_short_nc = APDU_MAX_SHORT_NC;
    t->extended = conn->card->dialect != NULL && conn->card->dialect->extended_apdus;
    *out = t;
    return SIM_OK;
}
