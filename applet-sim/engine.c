/* The card engine: connections, power and reset, and the processing of one command APDU
 * as a card transaction (lock, reload if changed, dispatch to the dialect, save, unlock),
 * with command chaining, GET RESPONSE and private-key work run outside the lock. Card
 * errors become ISO status words here and nowhere else. */
#include <stdlib.h>
#include <string.h>

#include "dialect.h"
#include "fs.h"
#include "key.h"
#include "pin.h"
#include "sim_int.h"

#define CLA_CHAIN        0x10u
#define INS_GET_RESPONSE 0xC0u

/* ---- connections ---------------------------------------------------------------- */

static void clear_volatile(sim_conn *conn)
{
    sim_path_mf(&conn->cur_df);
    memset(&conn->cur_ef, 0, sizeof(conn->cur_ef));
    memset(&conn->mse_sign, 0, sizeof(conn->mse_sign));
    memset(&conn->mse_decipher, 0, sizeof(conn->mse_decipher));
    conn->chaining = false;
    vt_buf_clear(&conn->chain);
    vt_buf_clear(&conn->pending);
    conn->pending_off = 0;
}

void sim_conn_clear(sim_conn *conn)
{
    clear_volatile(conn);
    sim_pin_forget_all(conn); /* the status the channels share, too */
}

/* Power on or off, open, close: outside any command, so under the card lock (the
 * security status may be shared). A channel leaves the shared status to its base. */
static void conn_reset_state(sim_conn *conn)
{
    pthread_mutex_lock(&conn->card->mu);
    if (conn->base != NULL)
        clear_volatile(conn);
    else
        sim_conn_clear(conn);
    pthread_mutex_unlock(&conn->card->mu);
}

sim_status sim_conn_open(sim_card *card, sim_conn **out)
{
    sim_conn *conn;
    if (card == NULL || out == NULL)
        return SIM_ERR_ARGS;
    conn = calloc(1, sizeof(*conn));
    if (conn == NULL)
        return SIM_ERR_NOMEM;
    conn->card = card;
    conn->sec = &conn->own_sec;
    clear_volatile(conn);
    pthread_mutex_lock(&card->mu);
    card->nconns++;
    conn->fork_gen = card->fork_gen;
    pthread_mutex_unlock(&card->mu);
    *out = conn;
    return SIM_OK;
}

sim_status sim_conn_open_channel(sim_conn *base, sim_conn **out)
{
    sim_conn *conn = NULL;
    sim_status rv;
    if (base == NULL || base->base != NULL || out == NULL)
        return SIM_ERR_ARGS;
    rv = sim_conn_open(base->card, &conn);
    if (rv != SIM_OK)
        return rv;
    conn->base = base;
    conn->sec = base->sec;
    conn->powered = base->powered;
    *out = conn;
    return SIM_OK;
}

void sim_conn_close(sim_conn *conn)
{
    if (conn == NULL)
        return;
    sim_conn_end(conn);
    conn_reset_state(conn);
    vt_buf_free(&conn->chain);
    vt_buf_free(&conn->pending);
    pthread_mutex_lock(&conn->card->mu);
    conn->card->nconns--;
    pthread_mutex_unlock(&conn->card->mu);
    free(conn);
}

static sim_status answer_atr(sim_conn *conn, uint8_t *atr, size_t *len)
{
    const sim_profile *p = conn->card->profile;
    if (atr == NULL || len == NULL)
        return SIM_ERR_ARGS;
    if (*len < p->atr_len)
        return SIM_ERR_ARGS;
    memcpy(atr, p->atr, p->atr_len);
    *len = p->atr_len;
    return SIM_OK;
}

sim_status sim_conn_power_on(sim_conn *conn, uint8_t *atr, size_t *len)
{
    sim_status rv;
    if (conn == NULL)
        return SIM_ERR_ARGS;
    rv = answer_atr(conn, atr, len);
    if (rv != SIM_OK)
        return rv;
    if (sim_fault_card_out(conn->card))
        return SIM_ERR_POWER; /* a fault took the card out of its reader */
    conn_reset_state(conn);
    conn->powered = true;
    return SIM_OK;
}

sim_status sim_conn_reset(sim_conn *conn, uint8_t *atr, size_t *len)
{
    /* A warm reset ends the security status exactly as a power cycle does. */
    return sim_conn_power_on(conn, atr, len);
}

void sim_conn_power_off(sim_conn *conn)
{
    if (conn == NULL)
        return;
    sim_conn_end(conn);
    conn_reset_state(conn);
    conn->powered = false;
}

bool sim_conn_powered(const sim_conn *conn)
{
    return conn != NULL && conn->powered;
}

/* ---- one command ---------------------------------------------------------------- */

static bool sw_has_data(uint16_t sw)
{
    uint8_t sw1 = (uint8_t)(sw >> 8);
    return sw1 == 0x90 || sw1 == 0x61 || sw1 == 0x62 || sw1 == 0x63;
}

static uint16_t decode_error_sw(apdu_status st)
{
    return st == APDU_ERR_CLA_INVALID ? APDU_SW_CLA_UNSUPPORTED : APDU_SW_WRONG_LENGTH;
}

static void drop_chain(sim_conn *conn)
{
    conn->chaining = false;
    vt_buf_clear(&conn->chain);
}

static void drop_pending(sim_conn *conn)
{
    vt_buf_clear(&conn->pending);
    conn->pending_off = 0;
}

static uint16_t more_sw(size_t left)
{
    return APDU_SW_BYTES_REMAINING(left >= 256 ? 0 : left);
}

/* Hand out up to limit bytes of the pending response. */
static uint16_t take_pending(sim_conn *conn, size_t limit, vt_buf *out)
{
    size_t left = conn->pending.len - conn->pending_off;
    size_t n = left < limit ? left : limit;
    if (!vt_buf_append(out, conn->pending.data + conn->pending_off, n))
        return APDU_SW_MEMORY_FAILURE;
    conn->pending_off += n;
    left -= n;
    if (left == 0) {
        drop_pending(conn);
        return APDU_SW_OK;
    }
    return more_sw(left);
}

static uint16_t get_response(sim_conn *conn, const apdu_cmd *cmd, size_t cap, vt_buf *out)
{
    size_t limit;
    if (cmd->p1 != 0 || cmd->p2 != 0)
        return APDU_SW_WRONG_P1P2;
    if (cmd->nc != 0 || cmd->ne == 0)
        return APDU_SW_WRONG_LENGTH;
    if (conn->pending.len == 0)
        return APDU_SW_CONDITIONS;
    limit = cmd->ne < cap ? cmd->ne : cap;
    return take_pending(conn, limit, out);
}

static const sim_cmd *find_cmd(const sim_dialect *d, uint8_t cls, uint8_t ins, bool *ins_known)
{
    *ins_known = false;
    for (size_t i = 0; i < d->ncmds; i++) {
        if (d->cmds[i].ins != ins)
            continue;
        *ins_known = true;
        if (d->cmds[i].cla == cls)
            return &d->cmds[i];
    }
    return NULL;
}

/* The private-key work of a command, run with the card unlocked. */
static uint16_t run_job(sim_card *card, sim_job *job, vt_buf *resp)
{
    uint8_t out[512];
    size_t outlen = sizeof(out);
    sim_compute_hook hook;
    void *arg;
    uint16_t sw = APDU_SW_UNKNOWN;
    sim_status st;

    pthread_mutex_lock(&card->mu);
    hook = card->hook;
    arg = card->hook_arg;
    pthread_mutex_unlock(&card->mu);
    if (hook != NULL)
        hook(arg);

    st = job->key.pkey != NULL
             ? sim_key_rsa_private_loaded(&job->key, job->in, job->inlen, out, &outlen)
             : sim_key_rsa_private(job->key_der.data, job->key_der.len, job->in, job->inlen, out,
                                   &outlen);
    if (st == SIM_ERR_ARGS) {
        sw = APDU_SW_WRONG_DATA;
        goto out;
    }
    if (st != SIM_OK)
        goto out;
    if (job->reverse_output)
        for (size_t i = 0; i < outlen / 2; i++) {
            uint8_t t = out[i];
            out[i] = out[outlen - 1 - i];
            out[outlen - 1 - i] = t;
        }
    if (job->finish != NULL)
        sw = job->finish(out, outlen, resp);
    else
        sw = vt_buf_append(resp, out, outlen) ? APDU_SW_OK : APDU_SW_MEMORY_FAILURE;
out:
    vt_wipe(out, sizeof(out));
    vt_wipe(job->in, sizeof(job->in));
    vt_buf_free(&job->key_der);
    sim_key_rsa_unload(&job->key);
    job->pending = false;
    return sw;
}

static uint16_t run_handler(sim_conn *conn, const sim_cmd *c, const apdu_cmd *cmd, vt_buf *resp)
{
    sim_card *card = conn->card;
    sim_ctx ctx;
    uint16_t sw;
    sim_status st;

    memset(&ctx, 0, sizeof(ctx));
    ctx.card = card;
    ctx.conn = conn;
    ctx.img = &card->img;
    ctx.cmd = *cmd;
    ctx.resp = resp;
    ctx.exclusive = (c->flags & SIM_CMD_WRITES) != 0;

    if (sim_card_enter(card, conn, ctx.exclusive) != SIM_OK)
        return APDU_SW_MEMORY_FAILURE;
    if (card->broken) {
        sim_card_leave(card, conn, false);
        return APDU_SW_MEMORY_FAILURE;
    }
    sim_fs_revalidate(conn, &card->img);
    ks_image snap;
    bool checkpoint = ctx.exclusive && sim_card_checkpoint(card, &snap);
    sw = c->fn(&ctx);
    if (ctx.exclusive && !sw_has_data(sw)) {
        /* A failed write may have left memory half-changed: never save it; go back to
         * the transaction's state, or reload. */
        ctx.dirty = false;
        if (checkpoint) {
            sim_card_rollback(card, &snap);
            checkpoint = false;
        } else {
            card->stale = true;
        }
    }
    if (checkpoint)
        ks_image_free(&snap);
    if (ctx.job.pending && sw == APDU_SW_OK) {
        /* The key decoded once per card, not per signature (a copy would lose OpenSSL's
         * Montgomery contexts and blinding); the DER copy is not needed past here. */
        if (sim_card_key(card, ctx.job.key_der.data, ctx.job.key_der.len, &ctx.job.key) != SIM_OK)
            sim_key_rsa_unload(&ctx.job.key); /* run_job decodes the copy and answers */
        else
            vt_buf_free(&ctx.job.key_der);
        /* The computation runs without the card lock; a shared transaction ends here. */
        sim_conn_drop_shared(conn);
    }
    st = sim_card_leave(card, conn, ctx.dirty && ctx.exclusive);
    if (st != SIM_OK) {
        sw = APDU_SW_MEMORY_FAILURE;
        vt_buf_clear(resp);
    }
    if (ctx.job.pending) {
        if (sw == APDU_SW_OK)
            sw = run_job(card, &ctx.job, resp);
        vt_wipe(ctx.job.in, sizeof(ctx.job.in));
        vt_buf_free(&ctx.job.key_der);
        sim_key_rsa_unload(&ctx.job.key);
    }
    return sw;
}

static uint16_t dispatch(sim_conn *conn, const uint8_t *capdu, size_t clen, size_t cap,
                         vt_buf *resp, size_t *ne)
{
    const sim_dialect *d = conn->card->dialect;
    const sim_cmd *c;
    apdu_cmd cmd;
    apdu_status ast;
    bool ins_known, chained;
    uint8_t cls;
    uint16_t sw;

    *ne = 0;
    ast = apdu_decode(capdu, clen, &cmd);
    if (ast != APDU_OK) {
        drop_chain(conn);
        drop_pending(conn);
        return decode_error_sw(ast);
    }
    *ne = cmd.ne;
    if (cmd.ins == INS_GET_RESPONSE && (cmd.cla & 0xFCu) == 0x00 && d != NULL) {
        drop_chain(conn);
        if ((cmd.cla & 0x03u) != 0)
            return APDU_SW_LOGICAL_CHANNEL;
        return get_response(conn, &cmd, cap, resp);
    }
    drop_pending(conn);

    if (d == NULL)
        return APDU_SW_INS_UNSUPPORTED;
    cls = cmd.cla & 0xE0u;
    chained = (cmd.cla & CLA_CHAIN) != 0;
    if (cls != 0x00 && cls != 0x80) {
        drop_chain(conn);
        return APDU_SW_CLA_UNSUPPORTED;
    }
    if ((cmd.cla & 0x0Cu) != 0) {
        drop_chain(conn);
        return APDU_SW_SECURE_MESSAGING;
    }
    if ((cmd.cla & 0x03u) != 0) {
        drop_chain(conn);
        return APDU_SW_LOGICAL_CHANNEL;
    }
    c = find_cmd(d, cls, cmd.ins, &ins_known);
    if (c == NULL) {
        drop_chain(conn);
        return ins_known ? APDU_SW_CLA_UNSUPPORTED : APDU_SW_INS_UNSUPPORTED;
    }
    if (cmd.extended && !d->extended_apdus) {
        drop_chain(conn);
        return APDU_SW_WRONG_LENGTH;
    }

    if (conn->chaining && (conn->chain_cla != cls || conn->chain_ins != cmd.ins ||
                           conn->chain_p1 != cmd.p1 || conn->chain_p2 != cmd.p2)) {
        drop_chain(conn);
        return APDU_SW_LAST_CMD_OF_CHAIN;
    }
    if (chained) {
        if (!(c->flags & SIM_CMD_CHAINING)) {
            drop_chain(conn);
            return APDU_SW_CHAINING_UNSUPPORTED;
        }
        if (conn->chain.len + cmd.nc > d->max_chain) {
            drop_chain(conn);
            return APDU_SW_WRONG_LENGTH;
        }
        if (!vt_buf_append(&conn->chain, cmd.data, cmd.nc)) {
            drop_chain(conn);
            return APDU_SW_MEMORY_FAILURE;
        }
        conn->chaining = true;
        conn->chain_cla = cls;
        conn->chain_ins = cmd.ins;
        conn->chain_p1 = cmd.p1;
        conn->chain_p2 = cmd.p2;
        return APDU_SW_OK;
    }
    if (conn->chaining) {
        /* The last part: the command carries the data of the whole chain. */
        if (conn->chain.len + cmd.nc > d->max_chain ||
            !vt_buf_append(&conn->chain, cmd.data, cmd.nc)) {
            drop_chain(conn);
            return APDU_SW_WRONG_LENGTH;
        }
        conn->chaining = false;
        cmd.data = conn->chain.data;
        cmd.nc = conn->chain.len;
        sw = run_handler(conn, c, &cmd, resp);
        vt_buf_clear(&conn->chain);
        return sw;
    }
    return run_handler(conn, c, &cmd, resp);
}

sim_status sim_conn_process(sim_conn *conn, const uint8_t *capdu, size_t clen, uint8_t *rapdu,
                            size_t *rlen)
{
    vt_buf resp = {0};
    size_t cap, limit, ne = 0;
    sim_fault_cmd fc;
    uint16_t sw;

    if (conn == NULL || (capdu == NULL && clen > 0) || rapdu == NULL || rlen == NULL)
        return SIM_ERR_ARGS;
    if (!conn->powered)
        return SIM_ERR_POWER;
    cap = *rlen;
    if (cap < 2)
        return SIM_ERR_ARGS;
    cap -= 2;

    switch (sim_fault_begin(conn, capdu, clen, &fc)) {
    case SIM_FAULT_NO_CARD:
        return SIM_ERR_POWER;
    case SIM_FAULT_ANSWER:
        sw = fc.sw;
        break;
    default:
        sw = dispatch(conn, capdu, clen, cap, &resp, &ne);
    }
    if (!sw_has_data(sw))
        vt_buf_clear(&resp);

    if (resp.len > 0 && (uint8_t)(sw >> 8) != 0x61) {
        limit = ne < cap ? ne : cap;
        if (resp.len > limit && sw == APDU_SW_OK) {
            /* More than the host asked for (or no Le at all): the rest waits for
             * GET RESPONSE, as ISO/IEC 7816-4 has it. */
            vt_buf_clear(&conn->pending);
            if (!vt_buf_append(&conn->pending, resp.data + limit, resp.len - limit)) {
                sw = APDU_SW_MEMORY_FAILURE;
                resp.len = 0;
            } else {
                conn->pending_off = 0;
                sw = more_sw(resp.len - limit);
                resp.len = limit;
            }
        } else if (resp.len > limit) {
            resp.len = limit;
        }
    }
    if (resp.len > 0)
        memcpy(rapdu, resp.data, resp.len);
    rapdu[resp.len] = (uint8_t)(sw >> 8);
    rapdu[resp.len + 1] = (uint8_t)sw;
    *rlen = resp.len + 2;
    vt_buf_free(&resp);
    sim_fault_end(conn, &fc);
    return SIM_OK;
}
