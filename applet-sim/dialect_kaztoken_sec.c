/* The Kaztoken dialect, security half: VERIFY (one PIN at a time, 6F86 otherwise),
 * CHANGE REFERENCE DATA with 80/A5 data objects for PINs and key bodies, RESET RETRY
 * COUNTER, LOGOUT, MSE, PSO with little-endian blocks, and on-card key generation. */
#include <string.h>

#include "dialect_kaztoken.h"
#include "fs.h"
#include "key.h"
#include "pin.h"

#define KZ_SW_LOGOUT_FIRST  0x6F86u /* VERIFY while another PIN is verified */
#define KZ_SW_VERIFY_FAILED 0x6300u

static bool known_ref(const sim_ctx *ctx, uint8_t ref)
{
    const sim_profile *p = ctx->card->profile;
    return ref != 0 && (ref == p->so.ref || ref == p->user.ref);
}

static void reverse_copy(uint8_t *dst, const uint8_t *src, size_t len)
{
    for (size_t i = 0; i < len; i++)
        dst[i] = src[len - 1 - i];
}

/* ---- VERIFY, LOGOUT ------------------------------------------------------------- */

uint16_t kz_verify(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    uint8_t ref = c->p2;
    long idx;
    int tries;

    if (c->p1 != 0)
        return APDU_SW_WRONG_P1P2;
    if (!known_ref(ctx, ref) || (idx = sim_pin_find(ctx->img, ref)) < 0)
        return APDU_SW_REF_DATA_NOT_FOUND;
    if (c->nc == 0) {
        /* No data: ask for the state, which costs no try. */
        if (sim_pin_verified(ctx, ref))
            return APDU_SW_OK;
        tries = sim_pin_tries(&ctx->img->nodes[idx]);
        return tries == 0 ? APDU_SW_AUTH_BLOCKED
                          : APDU_SW_VERIFY_FAILED(tries > 15 ? 15 : (unsigned)tries);
    }
    if (c->nc > KZ_MAX_PIN)
        return APDU_SW_WRONG_LENGTH;
    if (sim_pin_other_verified(ctx, ref))
        return KZ_SW_LOGOUT_FIRST;
    switch (sim_pin_verify(ctx, ref, c->data, c->nc)) {
    case SIM_PIN_OK:
        return APDU_SW_OK;
    case SIM_PIN_WRONG:
        return KZ_SW_VERIFY_FAILED;
    case SIM_PIN_BLOCKED:
        return APDU_SW_AUTH_BLOCKED;
    case SIM_PIN_NO_VALUE:
        return APDU_SW_REF_DATA_UNUSABLE;
    case SIM_PIN_IO:
        break;
    }
    return APDU_SW_MEMORY_FAILURE;
}

uint16_t kz_logout(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    if (c->p1 != 0 || c->p2 != 0)
        return APDU_SW_WRONG_P1P2;
    if (c->nc != 0)
        return APDU_SW_WRONG_LENGTH;
    sim_pin_forget_all(ctx->conn);
    return APDU_SW_OK;
}

/* ---- CHANGE REFERENCE DATA, RESET RETRY COUNTER --------------------------------- */

/* 80 02 <total> then A5 <len> <bytes>... (one-byte lengths up to 255, as the
 * Rutoken ECP wants them, not BER). */
static bool parse_crd(const uint8_t *d, size_t n, vt_buf *out)
{
    size_t total, i = 4;
    if (n < 4 || d[0] != 0x80 || d[1] != 0x02)
        return false;
    total = (size_t)(d[2] << 8 | d[3]);
    while (i < n) {
        size_t l;
        if (d[i] != 0xA5 || i + 2 > n)
            return false;
        l = d[i + 1];
        if (l > n - i - 2 || !vt_buf_append(out, &d[i + 2], l))
            return false;
        i += 2 + l;
    }
    return out->len == total;
}

static uint16_t change_pin(sim_ctx *ctx, uint8_t ref, const vt_buf *val)
{
    long idx = sim_pin_find(ctx->img, ref);
    size_t min;
    bool was;
    if (idx < 0)
        return APDU_SW_REF_DATA_NOT_FOUND;
    min = kz_prop(&ctx->img->nodes[idx], 1);
    if (val->len < (min > 0 ? min : 1) || val->len > KZ_MAX_PIN)
        return APDU_SW_WRONG_DATA;
    if (!kz_ac_allows(ctx, &ctx->img->nodes[idx], KZ_AM_PIN_CHANGE))
        return APDU_SW_SECURITY_STATUS;
    was = sim_pin_verified(ctx, ref);
    if (sim_pin_set_value(ctx->img, idx, val->data, val->len) != SIM_OK)
        return APDU_SW_MEMORY_FAILURE;
    ctx->dirty = true;
    /* Whoever changed the PIN keeps the status they had; other holders lose it. */
    if (was)
        sim_pin_remember(ctx, ref, idx);
    return APDU_SW_OK;
}

/* Public key EF: modulus (2L bytes) then exponent (L bytes), both little-endian. */
static uint16_t store_private(sim_ctx *ctx, long idx, size_t half, const vt_buf *val)
{
    static const uint8_t f4[] = {0x01, 0x00, 0x01};
    uint8_t parts[5][128], e[128];
    const uint8_t *b = val->data;
    const uint8_t *ep = f4;
    size_t elen = sizeof(f4);
    sim_path p;
    vt_buf der = {0};
    uint16_t sw = APDU_SW_WRONG_DATA;
    long pub;

    if (val->len != 5 * half + 8)
        return APDU_SW_WRONG_LENGTH;
    /* p | 4 bytes | q | 4 bytes | iqmp | dmp1 | dmq1, each little-endian */
    reverse_copy(parts[0], b, half);
    reverse_copy(parts[1], b + half + 4, half);
    reverse_copy(parts[2], b + 2 * half + 8, half);
    reverse_copy(parts[3], b + 3 * half + 8, half);
    reverse_copy(parts[4], b + 4 * half + 8, half);
    /* The exponent comes from the public half when the host wrote it first. */
    sim_path_of(&ctx->img->nodes[idx], &p);
    pub = kz_find_key(ctx->img, KZ_FID_PUKEY, (uint8_t)sim_path_last(&p));
    if (pub >= 0 && ctx->img->nodes[pub].body_len == 3 * half) {
        reverse_copy(e, ctx->img->nodes[pub].body + 2 * half, half);
        elen = half;
        ep = e;
        while (elen > 1 && ep[0] == 0) {
            ep++;
            elen--;
        }
    }
    if (sim_key_rsa_from_crt(parts[0], parts[1], parts[3], parts[4], parts[2], half, ep, elen,
                             &der) != SIM_OK)
        goto out;
    sw = APDU_SW_MEMORY_FAILURE;
    if (sim_img_set_body(ctx->img, (size_t)idx, der.data, der.len) != SIM_OK)
        goto out;
    ctx->dirty = true;
    sw = APDU_SW_OK;
out:
    vt_wipe(parts, sizeof(parts));
    vt_buf_free(&der);
    return sw;
}

static uint16_t change_key(sim_ctx *ctx, const vt_buf *val)
{
    long idx = sim_fs_cur_ef(ctx);
    const ks_node *n;
    size_t half;
    if (idx < 0)
        return APDU_SW_NO_CURRENT_EF;
    n = &ctx->img->nodes[idx];
    if (n->type != SIM_NODE_PRIVKEY && n->type != SIM_NODE_PUBKEY)
        return APDU_SW_INCOMPATIBLE_FILE;
    if (!kz_ac_allows(ctx, n, KZ_AM_UPDATE))
        return APDU_SW_SECURITY_STATUS;
    half = kz_key_half(n);
    if (half == 0)
        return APDU_SW_WRONG_DATA;
    if (n->type == SIM_NODE_PRIVKEY)
        return store_private(ctx, idx, half, val);
    if (val->len != 3 * half)
        return APDU_SW_WRONG_LENGTH;
    if (sim_img_set_body(ctx->img, (size_t)idx, val->data, val->len) != SIM_OK)
        return APDU_SW_MEMORY_FAILURE;
    ctx->dirty = true;
    return APDU_SW_OK;
}

uint16_t kz_change_reference_data(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    vt_buf val = {0};
    uint16_t sw;

    if (c->p1 != 0x01)
        return APDU_SW_WRONG_P1P2;
    if (c->p2 != 0 && !known_ref(ctx, c->p2))
        return APDU_SW_REF_DATA_NOT_FOUND;
    if (c->nc == 0)
        return APDU_SW_WRONG_LENGTH;
    if (!parse_crd(c->data, c->nc, &val)) {
        sw = APDU_SW_WRONG_DATA;
        goto out;
    }
    sw = c->p2 == 0 ? change_key(ctx, &val) : change_pin(ctx, c->p2, &val);
out:
    vt_buf_free(&val);
    return sw;
}

uint16_t kz_reset_retry_counter(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    long idx;
    if (c->p1 != 0x03)
        return APDU_SW_WRONG_P1P2;
    if (c->nc != 0)
        return APDU_SW_WRONG_LENGTH;
    if (!known_ref(ctx, c->p2) || (idx = sim_pin_find(ctx->img, c->p2)) < 0)
        return APDU_SW_REF_DATA_NOT_FOUND;
    if (!kz_ac_allows(ctx, &ctx->img->nodes[idx], KZ_AM_PIN_UNBLOCK))
        return APDU_SW_SECURITY_STATUS;
    sim_pin_unblock(&ctx->img->nodes[idx]);
    ctx->dirty = true;
    return APDU_SW_OK;
}

/* ---- MSE, PSO ------------------------------------------------------------------- */

uint16_t kz_mse(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    bool have_key = false;
    uint8_t key = 0;
    size_t i = 0;

    if (c->p1 != 0x41 || (c->p2 != 0xB6 && c->p2 != 0xB8))
        return APDU_SW_WRONG_P1P2;
    if (c->nc == 0)
        return APDU_SW_WRONG_LENGTH;
    while (i < c->nc) {
        uint8_t tag = c->data[i];
        size_t len;
        if (i + 2 > c->nc || c->data[i + 1] > c->nc - i - 2)
            return APDU_SW_WRONG_DATA;
        len = c->data[i + 1];
        if ((tag != 0x80 && tag != 0x84) || len != 1)
            return APDU_SW_WRONG_DATA; /* algorithm reference is accepted and unused */
        if (tag == 0x84) {
            have_key = true;
            key = c->data[i + 2];
        }
        i += 2 + len;
    }
    if (!have_key || key == 0)
        return APDU_SW_WRONG_DATA;
    if (kz_find_key(ctx->img, KZ_FID_PRKEY, key) < 0)
        return APDU_SW_REF_DATA_NOT_FOUND;
    sim_mse *env = c->p2 == 0xB6 ? &ctx->conn->mse_sign : &ctx->conn->mse_decipher;
    env->set = true;
    env->key_ref = key;
    return APDU_SW_OK;
}

/* 2A 9E 9A signs, 2A 80 86 deciphers: both are the raw private operation on a block of
 * exactly the modulus length, sent and answered in reversed byte order. */
uint16_t kz_pso(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    const sim_mse *env;
    const ks_node *n;
    size_t half;
    long idx;

    if (c->p1 == 0x9E && c->p2 == 0x9A)
        env = &ctx->conn->mse_sign;
    else if (c->p1 == 0x80 && c->p2 == 0x86)
        env = &ctx->conn->mse_decipher;
    else
        return APDU_SW_WRONG_P1P2;
    if (!env->set)
        return APDU_SW_CONDITIONS;
    idx = kz_find_key(ctx->img, KZ_FID_PRKEY, env->key_ref);
    if (idx < 0)
        return APDU_SW_REF_DATA_NOT_FOUND;
    n = &ctx->img->nodes[idx];
    if (n->body_len == 0)
        return APDU_SW_CONDITIONS;
    if (!kz_ac_allows(ctx, n, KZ_AM_USE))
        return APDU_SW_SECURITY_STATUS;
    half = kz_key_half(n);
    if (half == 0 || c->nc != 2 * half || c->nc > sizeof(ctx->job.in))
        return APDU_SW_WRONG_LENGTH;
    /* Take a copy of the key and let the engine compute after the card is unlocked. */
    if (!vt_buf_append(&ctx->job.key_der, n->body, n->body_len))
        return APDU_SW_MEMORY_FAILURE;
    reverse_copy(ctx->job.in, c->data, c->nc);
    ctx->job.inlen = c->nc;
    ctx->job.reverse_output = true;
    ctx->job.pending = true;
    return APDU_SW_OK;
}

/* ---- GENERATE ------------------------------------------------------------------- */

/* 00 46 80 <ref>: a key pair in the key EFs of ref, created beforehand with CREATE
 * FILE; answers the modulus, little-endian (OpenSC assumes e = 65537). */
uint16_t kz_generate(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    vt_buf der = {0}, mod = {0}, exp = {0}, pub = {0};
    uint16_t sw = APDU_SW_MEMORY_FAILURE;
    size_t half;
    long pi, ui;

    if (c->p1 != 0x80 || c->p2 == 0)
        return APDU_SW_WRONG_P1P2;
    if (c->nc != 0)
        return APDU_SW_WRONG_LENGTH;
    pi = kz_find_key(ctx->img, KZ_FID_PRKEY, c->p2);
    ui = kz_find_key(ctx->img, KZ_FID_PUKEY, c->p2);
    if (pi < 0 || ui < 0)
        return APDU_SW_FILE_NOT_FOUND;
    if (!kz_ac_allows(ctx, &ctx->img->nodes[pi], KZ_AM_UPDATE))
        return APDU_SW_SECURITY_STATUS;
    half = kz_key_half(&ctx->img->nodes[pi]);
    if (half == 0 || half != kz_key_half(&ctx->img->nodes[ui]))
        return APDU_SW_WRONG_DATA;

    if (sim_key_rsa_generate((unsigned)half * 16, &der) != SIM_OK ||
        sim_key_rsa_public(der.data, der.len, &mod, &exp) != SIM_OK)
        goto out;
    if (mod.len != 2 * half || exp.len > half || !vt_buf_reserve(&pub, 3 * half))
        goto out;
    memset(pub.data, 0, 3 * half);
    pub.len = 3 * half;
    reverse_copy(pub.data, mod.data, mod.len);
    reverse_copy(pub.data + 2 * half, exp.data, exp.len);
    if (sim_img_set_body(ctx->img, (size_t)pi, der.data, der.len) != SIM_OK ||
        sim_img_set_body(ctx->img, (size_t)ui, pub.data, pub.len) != SIM_OK)
        goto out;
    ctx->dirty = true;
    if (!vt_buf_append(ctx->resp, pub.data, 2 * half))
        goto out;
    sw = APDU_SW_OK;
out:
    vt_buf_free(&der);
    vt_buf_free(&mod);
    vt_buf_free(&exp);
    vt_buf_free(&pub);
    return sw;
}
