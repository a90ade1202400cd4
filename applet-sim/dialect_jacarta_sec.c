/* The JaCarta dialect, security half: PIN objects selected as files (3F00/0010 SO,
 * 3F00/0020 user) and VERIFY, LOGOUT by reference list, CHANGE REFERENCE DATA for PINs and
 * RSA key objects, RESET RETRY COUNTER, on-card key generation (00 47) and PSO with the
 * selected key object: PKCS#1 signing, PKCS#1 deciphering and raw RSA. */
#include <string.h>

#include "dialect_jacarta.h"
#include "fs.h"
#include "key.h"
#include "pin.h"
#include "tlv.h"

/* ---- PIN objects ---------------------------------------------------------------- */

long jc_pin_target(sim_ctx *ctx, uint8_t p2, uint16_t *sw)
{
    long idx;
    *sw = APDU_SW_REF_DATA_NOT_FOUND;
    if (p2 == 0) {
        idx = sim_fs_cur_ef(ctx);
        return idx >= 0 && ctx->img->nodes[idx].type == SIM_NODE_PIN ? idx : -1;
    }
    if (p2 & 0x80u)
        return -1; /* local PINs (reference bit 8): none on this card */
    return sim_pin_find(ctx->img, p2);
}

static uint8_t pin_ref(const ks_node *n)
{
    return n->path[n->path_len - 1];
}

/* The PIN object's length policy (tag A5 bytes 5 and 6). */
static void pin_lengths(const ks_node *n, size_t *min, size_t *max)
{
    *min = jc_prop(n, 5);
    *max = jc_prop(n, 6);
    if (*min == 0)
        *min = 1;
    if (*max == 0 || *max > JC_PIN_MAX)
        *max = JC_PIN_MAX;
}

uint16_t jc_create_pin(sim_ctx *ctx, uint16_t fid, const uint8_t *prop, size_t prop_len,
                       const uint8_t *ac, size_t ac_len, const uint8_t *content, size_t content_len)
{
    const sim_profile *p = ctx->card->profile;
    vt_buf attrs = {0};
    sim_path mf, path;
    uint8_t ref = (uint8_t)fid;
    int tries;
    long mfi, idx;
    uint16_t sw = APDU_SW_MEMORY_FAILURE;

    if (prop_len < 7 || (fid >> 8) != 0 || ref == 0 || ref > 0x7F)
        return APDU_SW_WRONG_DATA;
    tries = prop[4] & 0x0F;
    if (tries == 0 || prop[5] == 0 || prop[5] > prop[6] || prop[6] > JC_PIN_MAX)
        return APDU_SW_WRONG_DATA;
    if (content != NULL && (content_len < prop[5] || content_len > prop[6]))
        return APDU_SW_WRONG_DATA;
    sim_path_mf(&mf);
    if (!sim_path_eq(&ctx->conn->cur_df, &mf))
        return APDU_SW_FUNC_UNSUPPORTED; /* PINs are global: created in the MF */
    mfi = sim_img_find(ctx->img, &mf, SIM_KIND_FILE);
    if (mfi < 0)
        return APDU_SW_FILE_NOT_FOUND;
    if (!jc_ac_allows(ctx, &ctx->img->nodes[mfi], JC_DF_CREATE))
        return APDU_SW_SECURITY_STATUS;
    path = mf;
    sim_path_append(&path, fid);
    if (sim_img_find(ctx->img, &path, SIM_KIND_FILE | SIM_KIND_PIN) >= 0)
        return APDU_SW_FILE_EXISTS;
    if (sim_img_used(ctx->img) + sim_node_cost(0) > p->capacity)
        return APDU_SW_NOT_ENOUGH_MEMORY;
    if (!jc_build_attrs(&attrs, fid, prop[6], JC_FDB_KO, NULL, 0, prop, prop_len, ac, ac_len) ||
        sim_pin_create(ctx->img, ref, attrs.data, attrs.len, tries) != SIM_OK)
        goto out;
    idx = sim_pin_find(ctx->img, ref);
    if (content != NULL && sim_pin_set_value(ctx->img, idx, content, content_len) != SIM_OK)
        goto out;
    ctx->dirty = true;
    sim_fs_make_current(ctx, idx);
    sw = APDU_SW_OK;
out:
    vt_buf_free(&attrs);
    return sw;
}

/* ---- VERIFY, LOGOUT ------------------------------------------------------------- */

/* 00 20 00 P2 [PIN]: P2 00 is the selected PIN object (as OpenSC's driver sends it after
 * selecting 3F00/00ref), else the global reference. No data: the state, no try used. */
uint16_t jc_verify(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    uint16_t sw;
    size_t min, max;
    long idx;
    uint8_t ref;
    int tries;

    if (c->p1 != 0)
        return APDU_SW_WRONG_P1P2;
    idx = jc_pin_target(ctx, c->p2, &sw);
    if (idx < 0)
        return sw;
    ref = pin_ref(&ctx->img->nodes[idx]);
    if (c->nc == 0) {
        if (sim_pin_verified(ctx, ref))
            return APDU_SW_OK;
        tries = sim_pin_tries(&ctx->img->nodes[idx]);
        return tries == 0 ? APDU_SW_AUTH_BLOCKED
                          : APDU_SW_VERIFY_FAILED(tries > 15 ? 15 : (unsigned)tries);
    }
    pin_lengths(&ctx->img->nodes[idx], &min, &max);
    if (c->nc < min || c->nc > max)
        return APDU_SW_WRONG_LENGTH; /* no try used */
    switch (sim_pin_verify(ctx, ref, c->data, c->nc)) {
    case SIM_PIN_OK:
        return APDU_SW_OK;
    case SIM_PIN_WRONG:
        idx = sim_pin_find(ctx->img, ref);
        tries = idx >= 0 ? sim_pin_tries(&ctx->img->nodes[idx]) : 0;
        return APDU_SW_VERIFY_FAILED(tries > 15 ? 15 : (unsigned)tries);
    case SIM_PIN_BLOCKED:
        return APDU_SW_AUTH_BLOCKED;
    case SIM_PIN_NO_VALUE:
        return APDU_SW_REF_DATA_UNUSABLE;
    case SIM_PIN_IO:
        break;
    }
    return APDU_SW_MEMORY_FAILURE;
}

/* 80 28 00 00 { 00 00 ref_hi ref_lo }...: those PINs are no longer verified; without
 * data, none is. */
uint16_t jc_logout(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    if (c->p1 != 0 || c->p2 != 0)
        return APDU_SW_WRONG_P1P2;
    if (c->nc == 0) {
        sim_pin_forget_all(ctx->conn);
        return APDU_SW_OK;
    }
    if (c->nc % 4 != 0)
        return APDU_SW_WRONG_LENGTH;
    for (size_t i = 0; i < c->nc; i += 4) {
        if (c->data[i] != 0 || c->data[i + 1] != 0)
            return APDU_SW_WRONG_DATA;
        if (c->data[i + 2] != 0 || c->data[i + 3] == 0 ||
            sim_pin_find(ctx->img, c->data[i + 3]) < 0)
            return APDU_SW_REF_DATA_NOT_FOUND;
    }
    for (size_t i = 0; i < c->nc; i += 4)
        sim_pin_forget(ctx->conn, c->data[i + 3]);
    return APDU_SW_OK;
}

/* ---- CHANGE REFERENCE DATA, RESET RETRY COUNTER --------------------------------- */

/* 62 L 81 L <new PIN> */
static uint16_t change_pin(sim_ctx *ctx, long idx, const apdu_tlv *tmpl)
{
    apdu_tlv v;
    size_t used = 0, min, max;
    uint8_t ref = pin_ref(&ctx->img->nodes[idx]);
    bool was;

    if (apdu_tlv_parse(tmpl->value, tmpl->len, &v, &used) != APDU_OK || used != tmpl->len ||
        v.tag != JC_TAG_PIN_VALUE)
        return APDU_SW_WRONG_DATA;
    if (!jc_ac_allows(ctx, &ctx->img->nodes[idx], JC_KO_UPDATE))
        return APDU_SW_SECURITY_STATUS;
    pin_lengths(&ctx->img->nodes[idx], &min, &max);
    if (v.len < min || v.len > max)
        return APDU_SW_WRONG_DATA;
    was = sim_pin_verified(ctx, ref);
    if (sim_pin_set_value(ctx->img, idx, v.value, v.len) != SIM_OK)
        return APDU_SW_MEMORY_FAILURE;
    ctx->dirty = true;
    /* Whoever changed the PIN keeps the status they had; other holders lose it. */
    if (was)
        sim_pin_remember(ctx, ref, idx);
    return APDU_SW_OK;
}

static bool strip_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    while (alen > 0 && a[0] == 0) {
        a++;
        alen--;
    }
    while (blen > 0 && b[0] == 0) {
        b++;
        blen--;
    }
    return alen == blen && memcmp(a, b, alen) == 0;
}

/* 62 L { 90 e, [91 n], [92 d], 93 p || q, 94 dp || dq || qinv }, each half the modulus
 * long, into the selected private key object. */
static uint16_t store_key(sim_ctx *ctx, long idx, const apdu_tlv *tmpl)
{
    const ks_node *n = &ctx->img->nodes[idx];
    size_t half = sim_node_size(n) / 2;
    apdu_tlv e, mod, pq, crt;
    vt_buf der = {0}, kn = {0}, ke = {0};
    uint16_t sw = APDU_SW_WRONG_DATA;

    if (!jc_ac_allows(ctx, n, JC_KO_UPDATE))
        return APDU_SW_SECURITY_STATUS;
    if (apdu_tlv_validate(tmpl->value, tmpl->len, 1) != APDU_OK ||
        apdu_tlv_find(tmpl->value, tmpl->len, 0x90, &e) != APDU_OK ||
        apdu_tlv_find(tmpl->value, tmpl->len, 0x93, &pq) != APDU_OK ||
        apdu_tlv_find(tmpl->value, tmpl->len, 0x94, &crt) != APDU_OK || e.len == 0 || e.len > 8 ||
        pq.len != 2 * half || crt.len != 3 * half)
        return APDU_SW_WRONG_DATA;
    if (sim_key_rsa_from_crt(pq.value, pq.value + half, crt.value, crt.value + half,
                             crt.value + 2 * half, half, e.value, e.len, &der) != SIM_OK ||
        sim_key_rsa_public(der.data, der.len, &kn, &ke) != SIM_OK || kn.len != 2 * half)
        goto out;
    if (apdu_tlv_find(tmpl->value, tmpl->len, 0x91, &mod) == APDU_OK &&
        !strip_equal(mod.value, mod.len, kn.data, kn.len))
        goto out;
    sw = APDU_SW_MEMORY_FAILURE;
    if (sim_img_set_body(ctx->img, (size_t)idx, der.data, der.len) != SIM_OK)
        goto out;
    ctx->dirty = true;
    sw = APDU_SW_OK;
out:
    vt_buf_free(&der);
    vt_buf_free(&kn);
    vt_buf_free(&ke);
    return sw;
}

/* 80 24 00 P2 62 L {...}: a new value for a PIN object (P2 00: the selected one) or,
 * with P2 00 and a private key object selected, the key. The applet wants this in
 * secure messaging for the user PIN; the emulation takes it in plain (docs). */
uint16_t jc_change_reference_data(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    apdu_tlv tmpl;
    size_t used = 0;
    uint16_t sw;
    long idx;

    if (c->p1 != 0)
        return APDU_SW_WRONG_P1P2;
    if (c->nc == 0)
        return APDU_SW_WRONG_LENGTH;
    if (c->p2 != 0) {
        idx = jc_pin_target(ctx, c->p2, &sw);
        if (idx < 0)
            return sw;
    } else {
        idx = sim_fs_cur_ef(ctx);
        if (idx < 0)
            return APDU_SW_NO_CURRENT_EF;
        if (ctx->img->nodes[idx].type != SIM_NODE_PIN &&
            ctx->img->nodes[idx].type != SIM_NODE_PRIVKEY)
            return APDU_SW_INCOMPATIBLE_FILE;
    }
    if (apdu_tlv_parse(c->data, c->nc, &tmpl, &used) != APDU_OK || used != c->nc ||
        tmpl.tag != JC_TAG_RSA_KEY)
        return APDU_SW_WRONG_DATA;
    if (ctx->img->nodes[idx].type == SIM_NODE_PIN)
        return change_pin(ctx, idx, &tmpl);
    return store_key(ctx, idx, &tmpl);
}

/* 80 2C 00 P2: the PIN's counter back at its maximum (a new value follows with 80 24). */
uint16_t jc_reset_retry_counter(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    uint16_t sw;
    long idx;

    if (c->p1 != 0)
        return APDU_SW_WRONG_P1P2;
    if (c->nc != 0)
        return APDU_SW_WRONG_LENGTH;
    idx = jc_pin_target(ctx, c->p2, &sw);
    if (idx < 0)
        return sw;
    if (!jc_ac_allows(ctx, &ctx->img->nodes[idx], JC_KO_PIN_RESET))
        return APDU_SW_SECURITY_STATUS;
    sim_pin_unblock(&ctx->img->nodes[idx]);
    ctx->dirty = true;
    return APDU_SW_OK;
}

/* ---- GENERATE ------------------------------------------------------------------- */

/* The selected private key object, or -1 with the status word in *sw. */
static long selected_key(sim_ctx *ctx, uint16_t *sw)
{
    long idx = sim_fs_cur_ef(ctx);
    if (idx < 0) {
        *sw = APDU_SW_NO_CURRENT_EF;
        return -1;
    }
    if (ctx->img->nodes[idx].type != SIM_NODE_PRIVKEY) {
        *sw = APDU_SW_INCOMPATIBLE_FILE;
        return -1;
    }
    return idx;
}

/* 00 47 00 00 AC L { 80 01 algorithm, 81 L exponent }: a key pair in the selected private
 * key object; answers 7F49 { 81 modulus, 82 exponent }. */
uint16_t jc_generate(sim_ctx *ctx)
{
    static const uint8_t f4[] = {0x01, 0x00, 0x01};
    const apdu_cmd *c = &ctx->cmd;
    apdu_tlv tmpl, alg, exp;
    vt_buf der = {0}, n = {0}, e = {0};
    apdu_tlvb b;
    size_t used = 0, bytes;
    uint16_t sw = APDU_SW_OK;
    long idx;

    if (c->p1 != 0 || c->p2 != 0)
        return APDU_SW_WRONG_P1P2;
    if (c->nc == 0)
        return APDU_SW_WRONG_LENGTH;
    if (apdu_tlv_parse(c->data, c->nc, &tmpl, &used) != APDU_OK || used != c->nc ||
        tmpl.tag != 0xAC || apdu_tlv_validate(tmpl.value, tmpl.len, 1) != APDU_OK ||
        apdu_tlv_find(tmpl.value, tmpl.len, 0x80, &alg) != APDU_OK || alg.len != 1 ||
        apdu_tlv_find(tmpl.value, tmpl.len, 0x81, &exp) != APDU_OK)
        return APDU_SW_WRONG_DATA;
    idx = selected_key(ctx, &sw);
    if (idx < 0)
        return sw;
    if (!jc_ac_allows(ctx, &ctx->img->nodes[idx], JC_KO_GENERATE))
        return APDU_SW_SECURITY_STATUS;
    switch (alg.value[0]) {
    case JC_ALGO_RSA1024:
        bytes = 128;
        break;
    case JC_ALGO_RSA2048:
        bytes = 256;
        break;
    case JC_ALGO_RSA4096:
        return APDU_SW_FUNC_UNSUPPORTED;
    default:
        return APDU_SW_WRONG_DATA;
    }
    if (bytes != sim_node_size(&ctx->img->nodes[idx]) ||
        !strip_equal(exp.value, exp.len, f4, sizeof(f4)))
        return APDU_SW_WRONG_DATA; /* the key object's size; e = 65537 only */
    sw = APDU_SW_MEMORY_FAILURE;
    if (sim_key_rsa_generate((unsigned)bytes * 8, &der) != SIM_OK ||
        sim_key_rsa_public(der.data, der.len, &n, &e) != SIM_OK || n.len != bytes ||
        sim_img_set_body(ctx->img, (size_t)idx, der.data, der.len) != SIM_OK)
        goto out;
    ctx->dirty = true;
    apdu_tlvb_init(&b, ctx->resp);
    apdu_tlvb_open(&b, 0x7F49);
    apdu_tlvb_put(&b, 0x81, n.data, n.len);
    apdu_tlvb_put(&b, 0x82, e.data, e.len);
    apdu_tlvb_close(&b);
    if (apdu_tlvb_finish(&b) == APDU_OK)
        sw = APDU_SW_OK;
out:
    vt_buf_free(&der);
    vt_buf_free(&n);
    vt_buf_free(&e);
    return sw;
}

/* ---- PSO ------------------------------------------------------------------------ */

/* The result in tag 80, as the applet answers deciphering. */
static uint16_t wrap_80(const uint8_t *out, size_t len, vt_buf *resp)
{
    apdu_tlvb b;
    apdu_tlvb_init(&b, resp);
    apdu_tlvb_put(&b, 0x80, out, len);
    return apdu_tlvb_finish(&b) == APDU_OK ? APDU_SW_OK : APDU_SW_MEMORY_FAILURE;
}

/* PKCS#1 v1.5 type 2 removed, the message in tag 80. */
static uint16_t unpad_80(const uint8_t *out, size_t len, vt_buf *resp)
{
    size_t i = 2;
    if (len < 11 || out[0] != 0x00 || out[1] != 0x02)
        return APDU_SW_WRONG_DATA;
    while (i < len && out[i] != 0x00)
        i++;
    if (i == len || i < 10)
        return APDU_SW_WRONG_DATA; /* no separator, or fewer than 8 padding bytes */
    return wrap_80(out + i + 1, len - i - 1, resp);
}

/* 00 2A 9E 8A 80 L <DigestInfo>: the card adds PKCS#1 v1.5 type 1 padding and signs;
 * 00 2A 80 0A 82 L <block>: deciphers and removes type 2 padding, answering 80 L <data>;
 * 00 2A 80 0C 82 L <number>: raw RSA (x^d mod n), answering 80 L <block>. The key is the
 * selected private key object. */
uint16_t jc_pso(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    const ks_node *n;
    apdu_tlv in;
    size_t used = 0, k;
    uint16_t sw = APDU_SW_OK;
    uint8_t usage, tag;
    long idx;

    if (c->p1 == 0x9E && c->p2 == 0x8A) {
        usage = 0x04; /* sign */
        tag = 0x80;
    } else if (c->p1 == 0x80 && (c->p2 == 0x0A || c->p2 == 0x0C)) {
        usage = 0x08; /* decipher */
        tag = 0x82;
    } else {
        return APDU_SW_WRONG_P1P2;
    }
    if (c->nc == 0)
        return APDU_SW_WRONG_LENGTH;
    if (apdu_tlv_parse(c->data, c->nc, &in, &used) != APDU_OK || used != c->nc || in.tag != tag)
        return APDU_SW_WRONG_DATA;
    idx = selected_key(ctx, &sw);
    if (idx < 0)
        return sw;
    n = &ctx->img->nodes[idx];
    if (n->body_len == 0 || !(jc_prop(n, 1) & usage))
        return APDU_SW_CONDITIONS; /* no key in the object yet, or not for this use */
    if (!jc_ac_allows(ctx, n, JC_KO_CRYPTO))
        return APDU_SW_SECURITY_STATUS;
    k = sim_node_size(n);
    if (k > sizeof(ctx->job.in))
        return APDU_SW_CONDITIONS;
    memset(ctx->job.in, 0, sizeof(ctx->job.in));
    if (c->p1 == 0x9E) {
        if (in.len > k - 11)
            return APDU_SW_WRONG_DATA;
        ctx->job.in[1] = 0x01;
        memset(ctx->job.in + 2, 0xFF, k - 3 - in.len);
        memcpy(ctx->job.in + k - in.len, in.value, in.len);
        ctx->job.finish = NULL;
    } else if (c->p2 == 0x0A) {
        if (in.len != k)
            return APDU_SW_WRONG_DATA;
        memcpy(ctx->job.in, in.value, k);
        ctx->job.finish = unpad_80;
    } else {
        if (in.len > k)
            return APDU_SW_WRONG_DATA;
        memcpy(ctx->job.in + k - in.len, in.value, in.len);
        ctx->job.finish = wrap_80;
    }
    /* A copy of the key; the engine computes after the card is unlocked. */
    if (!vt_buf_append(&ctx->job.key_der, n->body, n->body_len))
        return APDU_SW_MEMORY_FAILURE;
    ctx->job.inlen = k;
    ctx->job.reverse_output = false;
    ctx->job.pending = true;
    return APDU_SW_OK;
}
