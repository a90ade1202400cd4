/* The Kaztoken card driver: Rutoken ECP APDUs (as OpenSC 0.23's rutoken_ecp driver sends
 * them) over an apdu_transport. This file: status words, commands, raw RSA, random, the
 * operations table and the driver entry (ATRs, open). Files: drv_kaztoken_fs.c; PINs and
 * token info: drv_kaztoken_pin.c; C_InitToken: drv_kaztoken_init.c. Token objects
 * (PKCS#15) are pkcs15_tok.c's, with the key storage of pkcs15_kz.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drv_kaztoken.h"
#include "pkcs15_kz.h"
#include "sw.h"

/* ---- status words ---- */

CK_RV p11_kz_sw_rv(uint16_t sw)
{
    if (sw == APDU_SW_OK)
        return CKR_OK;
    if ((sw & 0xFFF0u) == 0x63C0u || sw == 0x6300u)
        return CKR_PIN_INCORRECT;
    switch (sw) {
    case APDU_SW_SECURITY_STATUS:
        return CKR_USER_NOT_LOGGED_IN;
    case APDU_SW_AUTH_BLOCKED:
        return CKR_PIN_LOCKED;
    case APDU_SW_REF_DATA_UNUSABLE:
        return CKR_PIN_EXPIRED;
    case APDU_SW_NOT_ENOUGH_MEMORY:
        return CKR_DEVICE_MEMORY;
    case KZ_SW_LOGOUT_FIRST:
        return CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
    case APDU_SW_REF_DATA_NOT_FOUND:
        return CKR_KEY_HANDLE_INVALID;
    case APDU_SW_WRONG_LENGTH:
        return CKR_DATA_LEN_RANGE;
    case APDU_SW_WRONG_DATA:
        return CKR_DATA_INVALID;
    case APDU_SW_CONDITIONS:
        return CKR_FUNCTION_REJECTED;
    case APDU_SW_MEMORY_FAILURE:
        return CKR_DEVICE_ERROR;
    default:
        return CKR_DEVICE_ERROR;
    }
}

CK_RV p11_kz_cmd(kz_token *k, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
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

CK_RV p11_kz_cmd_ok(kz_token *k, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
                    const uint8_t *data, size_t nc, size_t ne, unsigned flags, vt_buf *resp)
{
    uint16_t sw = 0;
    CK_RV rv = p11_kz_cmd(k, cla, ins, p1, p2, data, nc, ne, flags, resp, &sw);

    return rv != CKR_OK ? rv : p11_kz_sw_rv(sw);
}

/* ---- RSA, random ---- */

static CK_RV rsa_op(kz_token *k, const p11_tobj *key, bool sign, p11_rsa_op op, const uint8_t *in,
                    size_t in_len, uint8_t *out, size_t *out_len)
{
    uint8_t mse[3], *rev = NULL;
    vt_buf r = {0};
    long ref = -1;
    size_t bytes = 0, i;
    CK_RV rv;

    if (op != P11_RSA_RAW)
        return CKR_MECHANISM_INVALID;
    rv = p11_p15_tok_key_info(&k->obj, key, &ref, &bytes, NULL);
    if (rv != CKR_OK)
        return rv;
    if (in_len != bytes)
        return CKR_DATA_LEN_RANGE;
    if (*out_len < bytes) {
        *out_len = bytes;
        return CKR_BUFFER_TOO_SMALL;
    }
    mse[0] = 0x84;
    mse[1] = 0x01;
    mse[2] = (uint8_t)ref;
    rv = p11_kz_cmd_ok(k, 0x00, 0x22, 0x41, sign ? 0xB6 : 0xB8, mse, 3, 0, 0, NULL);
    if (rv != CKR_OK)
        return rv;
    rev = malloc(in_len);
    if (!rev)
        return CKR_HOST_MEMORY;
    /* the card takes and gives the block least significant byte first */
    for (i = 0; i < in_len; i++)
        rev[i] = in[in_len - 1 - i];
    rv = p11_kz_cmd_ok(k, 0x00, 0x2A, sign ? 0x9E : 0x80, sign ? 0x9A : 0x86, rev, in_len,
                       bytes > 256 ? 256 : bytes, sign ? 0 : APDU_X_SENSITIVE, &r);
    if (rv == CKR_OK && r.len != bytes)
        rv = CKR_DEVICE_ERROR;
    if (rv == CKR_OK) {
        for (i = 0; i < r.len; i++)
            out[i] = r.data[r.len - 1 - i];
        *out_len = r.len;
    }
    vt_wipe(rev, in_len);
    free(rev);
    vt_buf_free(&r);
    return rv;
}

static CK_RV kz_rsa_sign(p11_token *t, const p11_tobj *key, p11_rsa_op op, const uint8_t *in,
                         size_t in_len, uint8_t *out, size_t *out_len)
{
    return rsa_op(t->drv, key, true, op, in, in_len, out, out_len);
}

static CK_RV kz_rsa_decrypt(p11_token *t, const p11_tobj *key, p11_rsa_op op, const uint8_t *in,
                            size_t in_len, uint8_t *out, size_t *out_len)
{
    return rsa_op(t->drv, key, false, op, in, in_len, out, out_len);
}

static CK_RV kz_random(p11_token *t, uint8_t *out, size_t len)
{
    kz_token *k = t->drv;
    vt_buf r = {0};
    CK_RV rv = CKR_OK;

    while (len && rv == CKR_OK) {
        size_t n = len > 32 ? 32 : len;
        vt_buf_clear(&r);
        rv = p11_kz_cmd_ok(k, 0x00, 0x84, 0x00, 0x00, NULL, 0, n, 0, &r);
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

static CK_RV kz_present(p11_token *t)
{
    kz_token *k = t->drv;

    return apdu_present(k->t) == APDU_OK ? CKR_OK : CKR_TOKEN_NOT_PRESENT;
}

static uint64_t kz_generation(p11_token *t)
{
    kz_token *k = t->drv;

    /* the card's changes from elsewhere, and ours */
    return (apdu_generation(k->t) << 32) ^ k->writes;
}

static void kz_close(p11_token *t)
{
    kz_token *k;

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

/* ---- token objects ---- */

static CK_RV kz_list_objects(p11_token *t, p11_tobj **objs, size_t *n)
{
    return p11_p15_tok_list(&((kz_token *)t->drv)->obj, objs, n);
}

static CK_RV kz_create_object(p11_token *t, const p11_attrs *tmpl, p11_tobj *out)
{
    return p11_p15_tok_create(&((kz_token *)t->drv)->obj, tmpl, out);
}

static CK_RV kz_destroy_object(p11_token *t, const p11_tobj *obj)
{
    return p11_p15_tok_destroy(&((kz_token *)t->drv)->obj, obj);
}

static CK_RV kz_set_attributes(p11_token *t, const p11_tobj *obj, const p11_attrs *changes,
                               p11_tobj *updated)
{
    return p11_p15_tok_set_attributes(&((kz_token *)t->drv)->obj, obj, changes, updated);
}

static CK_RV kz_generate_rsa(p11_token *t, CK_ULONG bits, const uint8_t *pub_exp, size_t exp_len,
                             const p11_attrs *pub_tmpl, const p11_attrs *priv_tmpl, p11_tobj *pub,
                             p11_tobj *priv)
{
    return p11_p15_tok_generate_rsa(&((kz_token *)t->drv)->obj, bits, pub_exp, exp_len, pub_tmpl,
                                    priv_tmpl, pub, priv);
}

static const p11_token_ops kz_ops = {
    .name = "kaztoken",
    /* rsa_op and random change nothing but the card: the key lookup locks (pkcs15_tok) */
    .caps = P11_CAP_RSA_RAW | P11_CAP_KEYGEN_RSA | P11_CAP_RNG | P11_CAP_WRITE | P11_CAP_PARALLEL,
    .rsa_min_bits = 1024,
    .rsa_max_bits = 2048,
    .get_info = p11_kz_op_get_info,
    .login = p11_kz_op_login,
    .logout = p11_kz_op_logout,
    .set_pin = p11_kz_op_set_pin,
    .init_pin = p11_kz_op_init_pin,
    .init_token = p11_kz_op_init_token,
    .list_objects = kz_list_objects,
    .generation = kz_generation,
    .create_object = kz_create_object,
    .destroy_object = kz_destroy_object,
    .set_attributes = kz_set_attributes,
    .generate_rsa = kz_generate_rsa,
    .rsa_sign = kz_rsa_sign,
    .rsa_decrypt = kz_rsa_decrypt,
    .ec_sign = NULL,
    .random = kz_random,
    .present = kz_present,
    .close = kz_close,
};

/* ---- the driver ---- */

/* Kaztoken (USB and smart-card forms) and the Rutoken ECP ATRs OpenSC 0.23 lists. */
static const struct {
    const char *atr;
    const char *mask;
} atrs[] = {
    {"3B88014B415A544F4B454E82", NULL},
    {"3B9896004B415A544F4B454E", NULL},
    {"3B8B015275746F6B656E20454350A0", NULL},
    {"3B8B015275746F6B656E20445320C1", NULL},
    {"3B9C96005275746F6B656E4543507363", "00000000FFFFFFFFFFFFFFFFFFFFFFFF"},
    {"3B9C948011405275746F6B656E4543507363C3", "000000000000FFFFFFFFFFFFFFFFFFFFFFFF00"},
    {"3B88800152745343778183206A", "00000000FFFFFFFF0000000000"},
};

static bool kz_match(const uint8_t *atr, size_t atr_len)
{
    size_t i, j;

    for (i = 0; i < VT_ARRAY_LEN(atrs); i++) {
        uint8_t a[33], m[33];
        long n = vt_hex_decode(atrs[i].atr, a, sizeof(a));
        if (n <= 0 || (size_t)n != atr_len)
            continue;
        if (atrs[i].mask) {
            if (vt_hex_decode(atrs[i].mask, m, sizeof(m)) != n)
                continue;
        } else {
            memset(m, 0xFF, (size_t)n);
        }
        for (j = 0; j < atr_len; j++)
            if ((atr[j] & m[j]) != (a[j] & m[j]))
                break;
        if (j == atr_len)
            return true;
    }
    return false;
}

static CK_RV kz_open(apdu_transport *tr, p11_token **out)
{
    p11_token *t = calloc(1, sizeof(*t));
    kz_token *k = calloc(1, sizeof(*k));

    *out = NULL;
    if (!t || !k || p11_p15_tok_init(&k->obj) != P11_P15_OK) {
        if (k)
            p11_p15_tok_free(&k->obj);
        free(t);
        free(k);
        apdu_close(tr); /* the token owns the transport, also when it cannot open */
        return CKR_HOST_MEMORY;
    }
    k->t = tr;
    k->who = KZ_NO_USER;
    k->obj.t = tr;
    p11_kz_fs_bind(k);
    k->obj.keys = &p11_kz_keys;
    k->obj.app = (p11_p15_new_app){
        .label = "KAZTOKEN",
        .manufacturer = "DigiFlow LLP.",
        .serial = k->serial,
        .user_pin_min = KZ_PIN_MIN,
        .user_pin_max = KZ_PIN_MAX,
        .so_pin_min = KZ_PIN_MIN,
        .so_pin_max = KZ_PIN_MAX,
        .so_ref = KZ_SO_REF,
        .user_ref = KZ_USER_REF,
    };
    /* now, so that an application made by the first write has it in TokenInfo */
    p11_kz_read_serial(k);
    t->ops = &kz_ops;
    t->drv = k;
    *out = t;
    return CKR_OK;
}

const p11_card_driver p11_drv_kaztoken = {
    .name = "kaztoken",
    .vendor = "kaztoken",
    .match = kz_match,
    .open = kz_open,
};
