/* The eToken PRO (Java) card driver: commands and status words, raw RSA through MSE SET
 * and PSO (the module pads: PKCS#1 v1.5, PSS and OAEP all work), random bytes from the
 * applet's GET CHALLENGE, the operations table, ATR matching and opening a token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drv_etoken.h"
#include "sw.h"

static const uint8_t pro_aid[] = {0xA0, 0x00, 0x00, 0x03, 0x12, 0x02, 0x02};

/* ---- status words ---- */

CK_RV p11_et_sw_rv(uint16_t sw)
{
    if (sw == APDU_SW_OK)
        return CKR_OK;
    if ((sw & 0xFFF0u) == 0x63C0u)
        return (sw & 0x0Fu) == 0 ? CKR_PIN_LOCKED : CKR_PIN_INCORRECT;
    switch (sw) {
    case APDU_SW_SECURITY_STATUS:
        return CKR_USER_NOT_LOGGED_IN;
    case APDU_SW_AUTH_BLOCKED:
        return CKR_PIN_LOCKED;
    case APDU_SW_REF_DATA_UNUSABLE:
        return CKR_PIN_EXPIRED;
    case APDU_SW_NOT_ENOUGH_MEMORY:
        return CKR_DEVICE_MEMORY;
    case APDU_SW_REF_DATA_NOT_FOUND:
        return CKR_KEY_HANDLE_INVALID;
    case APDU_SW_WRONG_LENGTH:
        return CKR_DATA_LEN_RANGE;
    case APDU_SW_WRONG_DATA:
        return CKR_DATA_INVALID;
    case APDU_SW_CONDITIONS:
        return CKR_FUNCTION_REJECTED;
    default:
        return CKR_DEVICE_ERROR;
    }
}

CK_RV p11_et_cmd(et_token *k, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
                 size_t nc, size_t ne, unsigned flags, vt_buf *resp, uint16_t *sw)
{
    apdu_cmd c = apdu_make(cla, ins, p1, p2, data, nc, ne);
    apdu_status st = apdu_exchange(k->t, &c, flags, resp, sw);

    if (st == APDU_OK)
        return CKR_OK;
    if (st == APDU_ERR_NO_CARD)
        return CKR_DEVICE_REMOVED;
    if (st == APDU_ERR_NOMEM)
        return CKR_HOST_MEMORY;
    return CKR_DEVICE_ERROR;
}

CK_RV p11_et_cmd_ok(et_token *k, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
                    const uint8_t *data, size_t nc, size_t ne, unsigned flags, vt_buf *resp)
{
    uint16_t sw = 0;
    CK_RV rv = p11_et_cmd(k, cla, ins, p1, p2, data, nc, ne, flags, resp, &sw);

    return rv != CKR_OK ? rv : p11_et_sw_rv(sw);
}

/* ---- RSA, random ---- */

/* MSE SET (84 key, 80 00 raw RSA) then PSO; a decipher block goes with the padding
 * indicator 00 in front. */
static CK_RV rsa_op(et_token *k, const p11_tobj *key, bool sign, p11_rsa_op op, const uint8_t *in,
                    size_t in_len, uint8_t *out, size_t *out_len)
{
    uint8_t mse[6], block[1 + 512];
    vt_buf r = {0};
    long ref = -1;
    size_t bytes = 0;
    CK_RV rv;

    if (op != P11_RSA_RAW)
        return CKR_MECHANISM_INVALID;
    rv = p11_p15_tok_key_info(&k->obj, key, &ref, &bytes, NULL);
    if (rv != CKR_OK)
        return rv;
    if (ref < 1 || ref > ET_KEY_REF_MAX || bytes > 512)
        return CKR_KEY_TYPE_INCONSISTENT;
    if (in_len != bytes)
        return CKR_DATA_LEN_RANGE;
    if (*out_len < bytes) {
        *out_len = bytes;
        return CKR_BUFFER_TOO_SMALL;
    }
    mse[0] = 0x84;
    mse[1] = 0x01;
    mse[2] = (uint8_t)ref;
    mse[3] = 0x80;
    mse[4] = 0x01;
    mse[5] = 0x00;
    rv = p11_et_cmd_ok(k, 0x00, 0x22, 0x41, sign ? 0xB6 : 0xB8, mse, sizeof(mse), 0, 0, NULL);
    if (rv != CKR_OK)
        return rv;
    block[0] = 0x00;
    memcpy(block + 1, in, in_len);
    if (sign)
        rv = p11_et_cmd_ok(k, 0x00, 0x2A, 0x9E, 0x9A, block + 1, in_len, 256, 0, &r);
    else
        rv = p11_et_cmd_ok(k, 0x00, 0x2A, 0x80, 0x86, block, in_len + 1, 256, APDU_X_SENSITIVE, &r);
    if (rv == CKR_OK && r.len != bytes)
        rv = CKR_DEVICE_ERROR;
    if (rv == CKR_OK) {
        memcpy(out, r.data, r.len);
        *out_len = r.len;
    }
    vt_wipe(block, sizeof(block));
    vt_buf_free(&r);
    return rv;
}

static CK_RV et_rsa_sign(p11_token *t, const p11_tobj *key, p11_rsa_op op, const uint8_t *in,
                         size_t in_len, uint8_t *out, size_t *out_len)
{
    return rsa_op(t->drv, key, true, op, in, in_len, out, out_len);
}

static CK_RV et_rsa_decrypt(p11_token *t, const p11_tobj *key, p11_rsa_op op, const uint8_t *in,
                            size_t in_len, uint8_t *out, size_t *out_len)
{
    return rsa_op(t->drv, key, false, op, in, in_len, out, out_len);
}

/* GET CHALLENGE 80 17, 64 bytes at a time (the card gives 1 to 256). */
static CK_RV et_random(p11_token *t, uint8_t *out, size_t len)
{
    et_token *k = t->drv;
    vt_buf r = {0};
    CK_RV rv = CKR_OK;

    while (len && rv == CKR_OK) {
        size_t n = len > 64 ? 64 : len;
        vt_buf_clear(&r);
        rv = p11_et_cmd_ok(k, 0x80, 0x17, 0x00, 0x00, NULL, 0, n, 0, &r);
        if (rv == CKR_OK && r.len != n)
            rv = CKR_DEVICE_ERROR;
        if (rv == CKR_OK) {
            memcpy(out, r.data, n);
            out += n;
            len -= n;
        }
    }
    vt_buf_free(&r);
    return rv;
}

static CK_RV et_present(p11_token *t)
{
    et_token *k = t->drv;

    return apdu_present(k->t) == APDU_OK ? CKR_OK : CKR_TOKEN_NOT_PRESENT;
}

static uint64_t et_generation(p11_token *t)
{
    et_token *k = t->drv;

    /* the card's changes from elsewhere, and ours */
    return (apdu_generation(k->t) << 32) ^ k->writes;
}

static void et_close(p11_token *t)
{
    et_token *k;

    if (!t)
        return;
    k = t->drv;
    if (k) {
        p11_p15_tok_free(&k->obj);
        apdu_close(k->t);
        vt_wipe(k, sizeof(*k));
        free(k);
    }
    free(t);
}

/* ---- token objects: pkcs15_tok.c over our files ---- */

static CK_RV et_list_objects(p11_token *t, p11_tobj **objs, size_t *n)
{
    return p11_p15_tok_list(&((et_token *)t->drv)->obj, objs, n);
}

static CK_RV et_create_object(p11_token *t, const p11_attrs *tmpl, p11_tobj *out)
{
    et_token *k = t->drv;

    k->writes++;
    p11_et_read_serial(k);
    return p11_p15_tok_create(&k->obj, tmpl, out);
}

static CK_RV et_destroy_object(p11_token *t, const p11_tobj *obj)
{
    et_token *k = t->drv;

    k->writes++;
    return p11_p15_tok_destroy(&k->obj, obj);
}

static CK_RV et_set_attributes(p11_token *t, const p11_tobj *obj, const p11_attrs *changes,
                               p11_tobj *updated)
{
    et_token *k = t->drv;

    k->writes++;
    return p11_p15_tok_set_attributes(&k->obj, obj, changes, updated);
}

static CK_RV et_generate_rsa(p11_token *t, CK_ULONG bits, const uint8_t *pub_exp, size_t exp_len,
                             const p11_attrs *pub_tmpl, const p11_attrs *priv_tmpl, p11_tobj *pub,
                             p11_tobj *priv)
{
    et_token *k = t->drv;

    k->writes++;
    p11_et_read_serial(k);
    return p11_p15_tok_generate_rsa(&k->obj, bits, pub_exp, exp_len, pub_tmpl, priv_tmpl, pub,
                                    priv);
}

static const p11_token_ops et_ops = {
    .name = "etoken",
    /* rsa_op and random change nothing but the card: the key lookup locks (pkcs15_tok) */
    .caps = P11_CAP_RSA_RAW | P11_CAP_KEYGEN_RSA | P11_CAP_RNG | P11_CAP_WRITE | P11_CAP_PARALLEL,
    .rsa_min_bits = 1024,
    .rsa_max_bits = 2048,
    .get_info = p11_et_op_get_info,
    .login = p11_et_op_login,
    .logout = p11_et_op_logout,
    .set_pin = p11_et_op_set_pin,
    .init_pin = p11_et_op_init_pin,
    .init_token = p11_et_op_init_token,
    .list_objects = et_list_objects,
    .generation = et_generation,
    .create_object = et_create_object,
    .destroy_object = et_destroy_object,
    .set_attributes = et_set_attributes,
    .generate_rsa = et_generate_rsa,
    .rsa_sign = et_rsa_sign,
    .rsa_decrypt = et_rsa_decrypt,
    .ec_sign = NULL,
    .random = et_random,
    .present = et_present,
    .close = et_close,
};

/* ---- the driver ---- */

/* Both public ATRs of the eToken PRO (Java) 72K (pcsc-tools' list, research §3): IFSC
 * FE (this profile's, "SafeNet eToken 5100") and 3A ("Aladdin eToken PRO (72KB)"). */
static const uint8_t atrs[][14] = {
    {0x3B, 0xD5, 0x18, 0x00, 0x81, 0x31, 0xFE, 0x7D, 0x80, 0x73, 0xC8, 0x21, 0x10, 0xF4},
    {0x3B, 0xD5, 0x18, 0x00, 0x81, 0x31, 0x3A, 0x7D, 0x80, 0x73, 0xC8, 0x21, 0x10, 0x30},
};

static bool et_match(const uint8_t *atr, size_t atr_len)
{
    for (size_t i = 0; i < VT_ARRAY_LEN(atrs); i++)
        if (atr_len == sizeof(atrs[i]) && memcmp(atr, atrs[i], atr_len) == 0)
            return true;
    return false;
}

/* Selecting the PRO applet first, as the vendor's and third-party tools do: a card
 * without it is not an eToken PRO Java. */
static CK_RV et_open(apdu_transport *tr, p11_token **out)
{
    p11_token *t = calloc(1, sizeof(*t));
    et_token *k = calloc(1, sizeof(*k));
    uint16_t sw = 0;
    CK_RV rv = CKR_HOST_MEMORY;

    *out = NULL;
    if (!t || !k || p11_p15_tok_init(&k->obj) != P11_P15_OK) {
        if (k)
            p11_p15_tok_free(&k->obj);
        free(t);
        free(k);
        apdu_close(tr);
        return rv;
    }
    k->t = tr;
    k->who = ET_NO_USER;
    snprintf(k->label, sizeof(k->label), "%s", ET_LABEL);
    k->obj.t = tr;
    p11_et_fs_bind(k);
    k->obj.keys = &p11_et_keys;
    k->obj.app = (p11_p15_new_app){
        .label = k->label,
        .manufacturer = "SafeNet, Inc.",
        .serial = k->serial,
        .user_pin_min = ET_PIN_MIN,
        .user_pin_max = ET_PIN_MAX,
        .so_pin_min = ET_PIN_MIN,
        .so_pin_max = ET_PIN_MAX,
        .so_ref = ET_SO_REF,
        .user_ref = ET_USER_REF,
        .app_fid = ET_APP_FID,
    };
    t->ops = &et_ops;
    t->drv = k;
    rv = p11_et_cmd(k, 0x00, 0xA4, 0x04, 0x0C, pro_aid, sizeof(pro_aid), 0, 0, NULL, &sw);
    if (rv == CKR_OK && sw != APDU_SW_OK)
        rv = CKR_TOKEN_NOT_RECOGNIZED;
    if (rv != CKR_OK) {
        et_close(t);
        return rv;
    }
    *out = t;
    return CKR_OK;
}

const p11_card_driver p11_drv_etoken = {
    .name = "etoken",
    .vendor = "etoken",
    .match = et_match,
    .open = et_open,
};
