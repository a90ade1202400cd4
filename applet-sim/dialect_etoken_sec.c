/* The eToken PRO (Java) dialect, security half, after ISO/IEC 7816-4 and 7816-8: VERIFY
 * (also the retry-counter query and, with P1 FF, the reset of the security status),
 * CHANGE REFERENCE DATA for PINs and key import, RESET RETRY COUNTER, MSE SET, PSO with
 * raw RSA on big-endian blocks, and GENERATE ASYMMETRIC KEY PAIR. */
#include <string.h>

#include "dialect_etoken.h"
#include "fs.h"
#include "key.h"
#include "pin.h"

/* ---- key objects ------------------------------------------------------------------- */

void et_key_path(uint8_t kk, sim_path *p)
{
    sim_path_mf(p);
    sim_path_append(p, ET_FID_APPLET);
    sim_path_append(p, ET_KEY_FID(kk));
}

long et_find_key(const ks_image *img, uint8_t kk)
{
    sim_path p;
    long idx;
    if (kk < ET_KEY_MIN || kk > ET_KEY_MAX)
        return -1;
    et_key_path(kk, &p);
    idx = sim_img_find(img, &p, SIM_KIND_FILE);
    return idx >= 0 && img->nodes[idx].type == SIM_NODE_PRIVKEY ? idx : -1;
}

size_t et_key_bytes(const ks_node *n)
{
    vt_buf mod = {0}, exp = {0};
    size_t len = 0;
    if (n->type == SIM_NODE_PRIVKEY && n->body_len > 0 &&
        sim_key_rsa_public(n->body, n->body_len, &mod, &exp) == SIM_OK)
        len = mod.len;
    vt_buf_free(&mod);
    vt_buf_free(&exp);
    return len;
}

/* What a key object costs in card memory: the CRT parts and the public key (ours). */
static size_t key_size(size_t bytes)
{
    return 7 * (bytes / 2) + 4;
}

/* Card memory key kk takes now (0 when there is none). */
static size_t key_cost(const sim_ctx *ctx, uint8_t kk)
{
    long idx = et_find_key(ctx->img, kk);
    return idx >= 0 ? sim_node_cost(sim_node_size(&ctx->img->nodes[idx])) : 0;
}

uint16_t et_put_key(sim_ctx *ctx, uint8_t kk, const vt_buf *der)
{
    /* delete: user or SO; read and update: never (the key is written by GENERATE or
     * CHANGE REFERENCE DATA only) */
    static const uint8_t sec[] = {0x43, ET_SC_EITHER, ET_SC_NEVER, ET_SC_NEVER};
    vt_buf a = {0}, mod = {0}, exp = {0};
    size_t size;
    uint16_t sw = APDU_SW_MEMORY_FAILURE;
    long idx = et_find_key(ctx->img, kk);
    sim_path p;
    ks_node n;

    if (sim_key_rsa_public(der->data, der->len, &mod, &exp) != SIM_OK)
        goto out;
    size = key_size(mod.len);
    if (sim_node_cost(size) > et_free_memory(ctx) + key_cost(ctx, kk)) {
        sw = APDU_SW_NOT_ENOUGH_MEMORY;
        goto out;
    }
    et_key_path(kk, &p);
    if (!et_build_attrs(&a, true, size, ET_FDB_KEY, sim_path_last(&p), NULL, 0, sec, sizeof(sec)))
        goto out;
    if (idx >= 0) {
        /* replacing: the old node goes, the new one comes with its own size */
        if (sim_img_remove_tree(ctx->img, &p) != SIM_OK)
            goto out;
    }
    memset(&n, 0, sizeof(n));
    memcpy(n.path, p.b, p.len);
    n.path_len = p.len;
    n.type = SIM_NODE_PRIVKEY;
    n.secret = true;
    n.attrs = a.data;
    n.attrs_len = a.len;
    n.counter = n.counter_max = -1;
    n.body = der->data;
    n.body_len = der->len;
    if (sim_img_add(ctx->img, &n) != SIM_OK)
        goto out;
    ctx->dirty = true;
    sim_fs_revalidate(ctx->conn, ctx->img);
    sw = APDU_SW_OK;
out:
    vt_buf_free(&a);
    vt_buf_free(&mod);
    vt_buf_free(&exp);
    return sw;
}

/* ---- PINs ---------------------------------------------------------------------------- */

static const sim_pin_profile *pin_profile(const sim_ctx *ctx, uint8_t ref)
{
    const sim_profile *p = ctx->card->profile;
    if (ref != 0 && ref == p->user.ref)
        return &p->user;
    if (ref != 0 && ref == p->so.ref)
        return &p->so;
    return NULL;
}

/* The PIN's length policy, from its node (tag 85: min, max). */
static bool pin_length_ok(const ks_node *n, size_t len)
{
    const uint8_t *v;
    size_t l;
    if (!sim_attr_get(n, 0x85, &v, &l) || l != 2)
        return false;
    return len >= v[0] && len <= v[1];
}

static uint16_t tries_sw(const ks_node *n)
{
    int tries = sim_pin_tries(n);
    return tries == 0 ? APDU_SW_AUTH_BLOCKED
                      : APDU_SW_VERIFY_FAILED(tries > 15 ? 15u : (unsigned)tries);
}

/* 00 20 00 ref [Lc PIN]: verify; without data, the state (9000 verified, 63Cx tries
 * left, 6983 blocked) at no cost. 00 20 FF ref: end the PIN's verified state (ISO/IEC
 * 7816-4 P1 FF). Both PINs may be verified at once. */
uint16_t et_verify(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    uint8_t ref = c->p2;
    long idx;

    if (c->p1 != 0x00 && c->p1 != 0xFF)
        return APDU_SW_WRONG_P1P2;
    if (pin_profile(ctx, ref) == NULL || (idx = sim_pin_find(ctx->img, ref)) < 0)
        return APDU_SW_REF_DATA_NOT_FOUND;
    if (c->p1 == 0xFF) {
        if (c->nc != 0)
            return APDU_SW_WRONG_LENGTH;
        sim_pin_forget(ctx->conn, ref);
        return APDU_SW_OK;
    }
    if (c->nc == 0)
        return sim_pin_verified(ctx, ref) ? APDU_SW_OK : tries_sw(&ctx->img->nodes[idx]);
    if (c->nc > ET_MAX_PIN)
        return APDU_SW_WRONG_LENGTH; /* no try used */
    switch (sim_pin_verify(ctx, ref, c->data, c->nc)) {
    case SIM_PIN_OK:
        return APDU_SW_OK;
    case SIM_PIN_WRONG:
        /* 63C0 on the try that blocks it; 6983 from then on */
        return APDU_SW_VERIFY_FAILED(
            (unsigned)sim_pin_tries(&ctx->img->nodes[sim_pin_find(ctx->img, ref)]));
    case SIM_PIN_BLOCKED:
        return APDU_SW_AUTH_BLOCKED;
    case SIM_PIN_NO_VALUE:
        return APDU_SW_REF_DATA_UNUSABLE;
    case SIM_PIN_IO:
        break;
    }
    return APDU_SW_MEMORY_FAILURE;
}

/* A new value for PIN node idx (length policy checked), keeping this connection's
 * verified state when it had one. */
static uint16_t set_pin(sim_ctx *ctx, uint8_t ref, long idx, const uint8_t *pin, size_t len)
{
    bool was = sim_pin_verified(ctx, ref);
    if (!pin_length_ok(&ctx->img->nodes[idx], len))
        return APDU_SW_WRONG_DATA;
    if (sim_pin_set_value(ctx->img, idx, pin, len) != SIM_OK)
        return APDU_SW_MEMORY_FAILURE;
    ctx->dirty = true;
    idx = sim_pin_find(ctx->img, ref);
    if (was)
        sim_pin_remember(ctx, ref, idx);
    return APDU_SW_OK;
}

/* ---- key import ---------------------------------------------------------------------- */

/* One BER-TLV with a one-byte tag and a short or 81/82 long length. */
static bool next_tlv(const uint8_t *d, size_t n, size_t *i, uint8_t *tag, const uint8_t **v,
                     size_t *len)
{
    size_t p = *i, l;
    if (p + 2 > n)
        return false;
    *tag = d[p++];
    l = d[p++];
    if (l == 0x81) {
        if (p + 1 > n)
            return false;
        l = d[p++];
    } else if (l == 0x82) {
        if (p + 2 > n)
            return false;
        l = (size_t)(d[p] << 8 | d[p + 1]);
        p += 2;
    } else if (l > 0x7F) {
        return false;
    }
    if (l > n - p)
        return false;
    *v = d + p;
    *len = l;
    *i = p + l;
    return true;
}

/* Data objects 91 e, 92 p, 93 q, 94 qinv, 95 dp, 96 dq (the tags of the OpenPGP card's
 * private key template), each once, big-endian; p and q of 64 or 128 bytes. */
static uint16_t import_key(sim_ctx *ctx, uint8_t kk)
{
    const apdu_cmd *c = &ctx->cmd;
    const uint8_t *v[7] = {0};
    size_t len[7] = {0}, i = 0, half;
    uint8_t parts[5][128];
    vt_buf der = {0};
    uint16_t sw = APDU_SW_WRONG_DATA;

    if (kk < ET_KEY_MIN || kk > ET_KEY_MAX)
        return APDU_SW_REF_DATA_NOT_FOUND;
    if (c->nc == 0)
        return APDU_SW_WRONG_LENGTH;
    if (!sim_pin_verified(ctx, ctx->card->profile->user.ref))
        return APDU_SW_SECURITY_STATUS;
    while (i < c->nc) {
        uint8_t tag;
        const uint8_t *val;
        size_t l;
        if (!next_tlv(c->data, c->nc, &i, &tag, &val, &l) || tag < 0x91 || tag > 0x96 ||
            v[tag - 0x90] != NULL)
            return APDU_SW_WRONG_DATA;
        v[tag - 0x90] = val;
        len[tag - 0x90] = l;
    }
    for (size_t t = 1; t <= 6; t++)
        if (v[t] == NULL || len[t] == 0)
            return APDU_SW_WRONG_DATA;
    half = len[2];
    if ((half != 64 && half != 128) || len[3] != half || len[1] > half)
        return APDU_SW_WRONG_DATA;
    memset(parts, 0, sizeof(parts));
    /* p, q, dp, dq, qinv, right-aligned in half bytes */
    static const size_t order[5] = {2, 3, 5, 6, 4};
    for (size_t k = 0; k < 5; k++) {
        size_t t = order[k];
        if (len[t] > half)
            goto out;
        memcpy(parts[k] + half - len[t], v[t], len[t]);
    }
    if (sim_key_rsa_from_crt(parts[0], parts[1], parts[2], parts[3], parts[4], half, v[1], len[1],
                             &der) != SIM_OK)
        goto out;
    sw = et_put_key(ctx, kk, &der);
out:
    vt_wipe(parts, sizeof(parts));
    vt_buf_free(&der);
    return sw;
}

/* 00 24 01 ref Lc <new PIN>: a new value for a PIN this connection has verified.
 * 00 24 01 8k Lc <key>: import into key reference k (P2 b8 set: a key of the applet, not a
 * PIN; the user PIN must be verified). ISO's P1 00 (old and new value) is not offered. */
uint16_t et_change_reference_data(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    long idx;

    if (c->p1 != 0x01)
        return APDU_SW_WRONG_P1P2;
    if (c->p2 & 0x80u)
        return import_key(ctx, c->p2 & 0x7Fu);
    if (pin_profile(ctx, c->p2) == NULL || (idx = sim_pin_find(ctx->img, c->p2)) < 0)
        return APDU_SW_REF_DATA_NOT_FOUND;
    if (c->nc == 0)
        return APDU_SW_WRONG_LENGTH;
    if (!sim_pin_verified(ctx, c->p2))
        return APDU_SW_SECURITY_STATUS;
    return set_pin(ctx, c->p2, idx, c->data, c->nc);
}

/* 00 2C 03 ref: unblock the user PIN; 00 2C 02 ref Lc <PIN>: unblock it with a new
 * value. The SO PIN must be verified; the SO PIN itself cannot be reset. */
uint16_t et_reset_retry_counter(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    const sim_profile *p = ctx->card->profile;
    long idx;

    if (c->p1 != 0x02 && c->p1 != 0x03)
        return APDU_SW_WRONG_P1P2; /* no resetting code (PUK) on this card */
    if (pin_profile(ctx, c->p2) == NULL || (idx = sim_pin_find(ctx->img, c->p2)) < 0)
        return APDU_SW_REF_DATA_NOT_FOUND;
    if ((c->p1 == 0x03) != (c->nc == 0))
        return APDU_SW_WRONG_LENGTH;
    if (c->p2 == p->so.ref)
        return APDU_SW_CONDITIONS;
    if (!sim_pin_verified(ctx, p->so.ref))
        return APDU_SW_SECURITY_STATUS;
    if (c->p1 == 0x02)
        return set_pin(ctx, c->p2, idx, c->data, c->nc);
    sim_pin_unblock(&ctx->img->nodes[idx]);
    ctx->dirty = true;
    return APDU_SW_OK;
}

/* ---- MSE, PSO ------------------------------------------------------------------------ */

/* 00 22 41 B6|B8 Lc 84 01 kk [80 01 00]: the key for PSO sign (B6) or decipher (B8);
 * algorithm 00 = raw RSA, the only one (ours: the host pads). */
uint16_t et_mse(sim_ctx *ctx)
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
        if (i + 3 > c->nc || c->data[i + 1] != 1)
            return APDU_SW_WRONG_DATA;
        if (tag == 0x84 && !have_key) {
            have_key = true;
            key = c->data[i + 2];
        } else if (tag != 0x80 || c->data[i + 2] != 0x00) {
            return APDU_SW_WRONG_DATA;
        }
        i += 3;
    }
    if (!have_key)
        return APDU_SW_WRONG_DATA;
    long idx = et_find_key(ctx->img, key);
    if (idx < 0 || et_key_bytes(&ctx->img->nodes[idx]) == 0)
        return APDU_SW_REF_DATA_NOT_FOUND;
    sim_mse *env = c->p2 == 0xB6 ? &ctx->conn->mse_sign : &ctx->conn->mse_decipher;
    env->set = true;
    env->key_ref = key;
    return APDU_SW_OK;
}

/* 00 2A 9E 9A Lc <block> Le: sign; 00 2A 80 86 Lc 00 <block> Le: decipher (ISO padding
 * indicator 00). Both the raw private operation on a big-endian block of exactly the
 * modulus length, with the user PIN verified. */
uint16_t et_pso(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    const sim_mse *env;
    const uint8_t *in = c->data;
    size_t inlen = c->nc, bytes;
    bool decipher;
    long idx;

    if (c->p1 == 0x9E && c->p2 == 0x9A)
        decipher = false;
    else if (c->p1 == 0x80 && c->p2 == 0x86)
        decipher = true;
    else
        return APDU_SW_WRONG_P1P2;
    env = decipher ? &ctx->conn->mse_decipher : &ctx->conn->mse_sign;
    if (c->nc == 0)
        return APDU_SW_WRONG_LENGTH;
    if (!env->set)
        return APDU_SW_CONDITIONS;
    idx = et_find_key(ctx->img, env->key_ref);
    if (idx < 0)
        return APDU_SW_REF_DATA_NOT_FOUND;
    const ks_node *n = &ctx->img->nodes[idx];
    if (!sim_pin_verified(ctx, ctx->card->profile->user.ref))
        return APDU_SW_SECURITY_STATUS;
    bytes = et_key_bytes(n);
    if (decipher) {
        if (in[0] != 0x00)
            return APDU_SW_WRONG_DATA;
        in++;
        inlen--;
    }
    if (bytes == 0 || inlen != bytes || inlen > sizeof(ctx->job.in))
        return APDU_SW_WRONG_LENGTH;
    /* a copy of the key; the engine computes after the card is unlocked */
    if (!vt_buf_append(&ctx->job.key_der, n->body, n->body_len))
        return APDU_SW_MEMORY_FAILURE;
    memcpy(ctx->job.in, in, inlen);
    ctx->job.inlen = inlen;
    ctx->job.reverse_output = false;
    ctx->job.pending = true;
    return APDU_SW_OK;
}

/* ---- GENERATE ASYMMETRIC KEY PAIR ------------------------------------------------------ */

/* 7F49 { 81 modulus, 82 exponent } of key node idx. */
static uint16_t put_public(sim_ctx *ctx, long idx)
{
    const ks_node *n = &ctx->img->nodes[idx];
    vt_buf mod = {0}, exp = {0}, in = {0};
    uint16_t sw = APDU_SW_MEMORY_FAILURE;

    if (sim_key_rsa_public(n->body, n->body_len, &mod, &exp) != SIM_OK)
        goto out;
    vt_buf_append_byte(&in, 0x81);
    vt_buf_append_byte(&in, 0x82);
    vt_buf_append_byte(&in, (uint8_t)(mod.len >> 8));
    vt_buf_append_byte(&in, (uint8_t)mod.len);
    vt_buf_append(&in, mod.data, mod.len);
    vt_buf_append_byte(&in, 0x82);
    vt_buf_append_byte(&in, (uint8_t)exp.len);
    vt_buf_append(&in, exp.data, exp.len);
    vt_buf_append_byte(ctx->resp, 0x7F);
    vt_buf_append_byte(ctx->resp, 0x49);
    vt_buf_append_byte(ctx->resp, 0x82);
    vt_buf_append_byte(ctx->resp, (uint8_t)(in.len >> 8));
    vt_buf_append_byte(ctx->resp, (uint8_t)in.len);
    vt_buf_append(ctx->resp, in.data, in.len);
    if (!in.oom && !ctx->resp->oom)
        sw = APDU_SW_OK;
out:
    vt_buf_free(&mod);
    vt_buf_free(&exp);
    vt_buf_free(&in);
    return sw;
}

/* 00 47 80 00 Lc <CRT> Le: generate into key kk and answer the public key; 00 47 81 00
 * Lc <CRT> Le: answer the public key of kk. The CRT is B6, B8 or A4 (alike: every key
 * signs and deciphers) holding 84 01 kk and, to generate, 80 01 (01 RSA-1024 | 02
 * RSA-2048). Generating needs the user PIN and replaces what kk held. */
uint16_t et_generate(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    const uint8_t *d = c->data;
    uint8_t kk = 0, alg = 0;
    bool have_kk = false, have_alg = false;
    vt_buf der = {0};
    uint16_t sw;
    size_t i;
    long idx;

    if ((c->p1 != 0x80 && c->p1 != 0x81) || c->p2 != 0x00)
        return APDU_SW_WRONG_P1P2;
    if (c->nc == 0)
        return APDU_SW_WRONG_LENGTH;
    if (c->nc < 2 || (d[0] != 0xB6 && d[0] != 0xB8 && d[0] != 0xA4) || d[1] != c->nc - 2)
        return APDU_SW_WRONG_DATA;
    for (i = 2; i < c->nc; i += 3) {
        if (i + 3 > c->nc || d[i + 1] != 1)
            return APDU_SW_WRONG_DATA;
        if (d[i] == 0x84 && !have_kk) {
            have_kk = true;
            kk = d[i + 2];
        } else if (d[i] == 0x80 && !have_alg) {
            have_alg = true;
            alg = d[i + 2];
        } else {
            return APDU_SW_WRONG_DATA;
        }
    }
    if (!have_kk || (c->p1 == 0x80 && (!have_alg || (alg != 0x01 && alg != 0x02))))
        return APDU_SW_WRONG_DATA;
    if (kk < ET_KEY_MIN || kk > ET_KEY_MAX)
        return APDU_SW_REF_DATA_NOT_FOUND;
    if (c->p1 == 0x81) {
        idx = et_find_key(ctx->img, kk);
        if (idx < 0)
            return APDU_SW_REF_DATA_NOT_FOUND;
        return put_public(ctx, idx);
    }
    if (!sim_pin_verified(ctx, ctx->card->profile->user.ref))
        return APDU_SW_SECURITY_STATUS;
    /* refused before the (slow) generation when it cannot fit */
    if (sim_node_cost(key_size(alg == 0x01 ? 128 : 256)) > et_free_memory(ctx) + key_cost(ctx, kk))
        return APDU_SW_NOT_ENOUGH_MEMORY;
    if (sim_key_rsa_generate(alg == 0x01 ? 1024 : 2048, &der) != SIM_OK) {
        sw = APDU_SW_MEMORY_FAILURE;
        goto out;
    }
    sw = et_put_key(ctx, kk, &der);
    if (sw == APDU_SW_OK)
        sw = put_public(ctx, et_find_key(ctx->img, kk));
out:
    vt_buf_free(&der);
    return sw;
}
