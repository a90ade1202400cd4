/* The transport wrappers (optional operations, tracing) and the exchange helper that
 * turns one logical command into what the card needs: command chaining, GET RESPONSE
 * after 61xx and a re-issue after 6Cxx (ISO/IEC 7816-3 12.2, 7816-4 5.3). */
#include "transport.h"

#include <stdlib.h>
#include <string.h>

/* A card that keeps answering 61xx would otherwise loop forever. */
#define MAX_GET_RESPONSE 1024u
#define SHORT_RAPDU      (APDU_MAX_SHORT_NE + 2u)

static void trace(apdu_transport *t, apdu_dir dir, const uint8_t *buf, size_t len, bool sensitive)
{
    if (t->trace != NULL)
        t->trace(t->trace_arg, dir, buf, len, sensitive);
}

static apdu_status xmit(apdu_transport *t, const uint8_t *capdu, size_t clen, uint8_t *rapdu,
                        size_t *rlen, bool sensitive)
{
    trace(t, APDU_DIR_COMMAND, capdu, clen, sensitive);
    apdu_status st = t->ops->transmit(t, capdu, clen, rapdu, rlen);
    if (st == APDU_OK)
        trace(t, APDU_DIR_RESPONSE, rapdu, *rlen, sensitive);
    return st;
}

apdu_status apdu_transmit(apdu_transport *t, const uint8_t *capdu, size_t clen, uint8_t *rapdu,
                          size_t *rlen)
{
    if (t == NULL || t->ops == NULL || t->ops->transmit == NULL || capdu == NULL || rapdu == NULL ||
        rlen == NULL)
        return APDU_ERR_ARGS;
    bool sensitive = clen >= 2 && apdu_ins_is_sensitive(capdu[1]);
    return xmit(t, capdu, clen, rapdu, rlen, sensitive);
}

apdu_status apdu_get_atr(apdu_transport *t, uint8_t *atr, size_t *len)
{
    if (t == NULL || t->ops == NULL || t->ops->get_atr == NULL || atr == NULL || len == NULL)
        return APDU_ERR_ARGS;
    return t->ops->get_atr(t, atr, len);
}

apdu_status apdu_reset(apdu_transport *t, bool cold, uint8_t *atr, size_t *len)
{
    if (t == NULL || t->ops == NULL || t->ops->reset == NULL || atr == NULL || len == NULL)
        return APDU_ERR_ARGS;
    return t->ops->reset(t, cold, atr, len);
}

apdu_status apdu_present(apdu_transport *t)
{
    if (t == NULL || t->ops == NULL)
        return APDU_ERR_ARGS;
    if (t->ops->present == NULL)
        return APDU_OK; /* a transport that cannot lose its card */
    return t->ops->present(t);
}

apdu_status apdu_begin(apdu_transport *t)
{
    if (t == NULL || t->ops == NULL)
        return APDU_ERR_ARGS;
    return t->ops->begin != NULL ? t->ops->begin(t) : APDU_OK;
}

apdu_status apdu_begin_shared(apdu_transport *t)
{
    if (t == NULL || t->ops == NULL)
        return APDU_ERR_ARGS;
    if (t->ops->begin_shared != NULL)
        return t->ops->begin_shared(t);
    return t->ops->begin != NULL ? t->ops->begin(t) : APDU_OK;
}

apdu_status apdu_end(apdu_transport *t)
{
    if (t == NULL || t->ops == NULL)
        return APDU_ERR_ARGS;
    return t->ops->end != NULL ? t->ops->end(t) : APDU_OK;
}

uint64_t apdu_generation(apdu_transport *t)
{
    if (t == NULL || t->ops == NULL || t->ops->generation == NULL)
        return 0;
    return t->ops->generation(t);
}

void apdu_close(apdu_transport *t)
{
    if (t == NULL)
        return;
    if (t->ops != NULL && t->ops->close != NULL)
        t->ops->close(t);
    free(t);
}

/* ---- chaining --------------------------------------------------------------- */

size_t apdu_chain_count(const apdu_cmd *cmd, size_t chunk)
{
    if (cmd == NULL || chunk == 0)
        return 0;
    if (cmd->nc <= chunk)
        return 1;
    return (cmd->nc + chunk - 1) / chunk;
}

apdu_status apdu_chain_part(const apdu_cmd *cmd, size_t chunk, size_t i, apdu_cmd *part)
{
    size_t n = apdu_chain_count(cmd, chunk);
    if (n == 0 || i >= n || part == NULL)
        return APDU_ERR_ARGS;
    *part = *cmd;
    part->extended = false;
    if (n == 1)
        return APDU_OK;
    size_t off = i * chunk;
    part->data = cmd->data + off;
    part->nc = cmd->nc - off < chunk ? cmd->nc - off : chunk;
    if (i + 1 < n) {
        /* Only the last part asks for response data (7816-4 5.3.3). */
        part->cla = (uint8_t)(cmd->cla | 0x10);
        part->ne = 0;
    }
    return APDU_OK;
}

/* ---- exchange --------------------------------------------------------------- */

/* GET RESPONSE goes to the same logical channel as the command it continues. */
static uint8_t get_response_cla(uint8_t cla)
{
    if ((cla & 0xe0) == 0x00)
        return cla & 0x03; /* first interindustry values: channels 0-3 */
    if ((cla & 0xc0) == 0x40)
        return cla & 0x4f; /* further interindustry values: channels 4-19 */
    return 0x00;
}

typedef struct xchg {
    apdu_transport *t;
    bool sensitive;
    uint8_t *cbuf; /* encoded command */
    size_t ccap;
    uint8_t *rbuf; /* raw response */
    size_t rcap;
    size_t rused; /* high-water mark of rbuf, for the wipe */
} xchg;

/* Encode and send one command; on APDU_OK *r describes the response in x->rbuf. */
static apdu_status send_cmd(xchg *x, const apdu_cmd *c, apdu_resp *r)
{
    size_t clen, rlen = x->rcap;
    apdu_status st = apdu_encode(c, x->cbuf, x->ccap, &clen);
    if (st != APDU_OK)
        return st;
    st = xmit(x->t, x->cbuf, clen, x->rbuf, &rlen, x->sensitive);
    vt_wipe(x->cbuf, clen);
    if (st != APDU_OK)
        return st;
    if (rlen > x->rcap)
        return APDU_ERR_PROTOCOL;
    if (rlen > x->rused)
        x->rused = rlen;
    return apdu_resp_parse(x->rbuf, rlen, r) == APDU_OK ? APDU_OK : APDU_ERR_PROTOCOL;
}

static apdu_status keep_data(vt_buf *resp, const apdu_resp *r)
{
    if (resp == NULL || r->len == 0)
        return APDU_OK;
    return vt_buf_append(resp, r->data, r->len) ? APDU_OK : APDU_ERR_NOMEM;
}

apdu_status apdu_exchange(apdu_transport *t, const apdu_cmd *cmd, unsigned flags, vt_buf *resp,
                          uint16_t *sw)
{
    if (t == NULL || t->ops == NULL || t->ops->transmit == NULL || cmd == NULL || sw == NULL ||
        (cmd->nc > 0 && cmd->data == NULL))
        return APDU_ERR_ARGS;
    if (cmd->nc > APDU_MAX_NC)
        return APDU_ERR_NC_TOO_LONG;
    if (cmd->ne > APDU_MAX_NE)
        return APDU_ERR_NE_TOO_LONG;

    apdu_status st = APDU_OK;
    xchg x = {t, (flags & APDU_X_SENSITIVE) || apdu_ins_is_sensitive(cmd->ins), NULL, 0, NULL, 0,
              0};
    apdu_cmd c = *cmd;
    size_t chunk = t->max_short_nc;
    if (chunk == 0 || chunk > APDU_MAX_SHORT_NC)
        chunk = APDU_MAX_SHORT_NC;
    size_t nparts = 1;

    /* With extended length everything goes in one command; without, the data is chained
     * and more than 256 bytes of answer come back through 61xx anyway. */
    if (!t->extended) {
        c.extended = false;
        if (c.ne > APDU_MAX_SHORT_NE)
            c.ne = APDU_MAX_SHORT_NE;
        if (c.nc > chunk) {
            if (flags & APDU_X_NO_CHAINING)
                return APDU_ERR_NEEDS_EXTENDED;
            nparts = apdu_chain_count(&c, chunk);
        }
    }

    /* Room for the longest part in either form, Le included (a 6Cxx re-issue adds one). */
    x.ccap = 4 + 3 + (nparts > 1 ? chunk : c.nc) + 3;
    x.rcap = t->extended ? APDU_MAX_RAPDU : SHORT_RAPDU;
    x.cbuf = malloc(x.ccap);
    x.rbuf = malloc(x.rcap);
    if (x.cbuf == NULL || x.rbuf == NULL) {
        st = APDU_ERR_NOMEM;
        goto out;
    }

    apdu_resp r = {NULL, 0, 0};
    apdu_cmd part;
    for (size_t i = 0; i < nparts; i++) {
        if (nparts > 1)
            apdu_chain_part(&c, chunk, i, &part);
        else
            part = c;
        st = send_cmd(&x, &part, &r);
        if (st != APDU_OK)
            goto out;
        /* A part other than the last must be accepted with 9000; anything else ends
         * the chain and is the caller's answer. */
        if (i + 1 < nparts && r.sw != 0x9000) {
            st = keep_data(resp, &r);
            *sw = r.sw;
            goto out;
        }
    }

    if ((r.sw & 0xff00) == 0x6c00) {
        /* Wrong Le: send the (last part of the) command once more with the exact Ne. */
        part.ne = (r.sw & 0xff) ? (r.sw & 0xff) : 256;
        part.extended = false;
        st = send_cmd(&x, &part, &r);
        if (st != APDU_OK)
            goto out;
    }

    for (unsigned n = 0; (r.sw & 0xff00) == 0x6100 && !(flags & APDU_X_NO_GET_RESP); n++) {
        if (n == MAX_GET_RESPONSE) {
            st = APDU_ERR_PROTOCOL;
            goto out;
        }
        st = keep_data(resp, &r);
        if (st != APDU_OK)
            goto out;
        apdu_cmd gr = apdu_make(get_response_cla(cmd->cla), 0xc0, 0x00, 0x00, NULL, 0,
                                (r.sw & 0xff) ? (r.sw & 0xff) : 256);
        st = send_cmd(&x, &gr, &r);
        if (st != APDU_OK)
            goto out;
    }
    st = keep_data(resp, &r);
    if (st == APDU_OK)
        *sw = r.sw;
out:
    /* Both buffers may have carried a PIN or key material. */
    if (x.rbuf != NULL)
        vt_wipe(x.rbuf, x.rused);
    free(x.cbuf);
    free(x.rbuf);
    return st;
}
