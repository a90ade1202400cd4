/* The JaCarta card driver, token side: the token info from the applet's TokenInfo EF
 * C000, token initialisation by the SO, PKCS#1 and raw RSA with the selected key object,
 * random numbers, the operations table (each operation one card transaction) and the
 * driver: ATRs and the probe at open. PINs are in drv_jacarta_pin.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drv_jacarta.h"
#include "sw.h"
#include "tlv.h"

#define NO_USER ((CK_USER_TYPE)-1)

static const uint8_t laser_aid[] = {0xA0, 0x00, 0x00, 0x01, 0x64, 0x4C,
                                    0x41, 0x53, 0x45, 0x52, 0x00, 0x01};

/* ---- the applet's TokenInfo ---- */

/* Field at off of len bytes, blank-padded, into out without the padding. */
static void ti_text(const vt_buf *ti, size_t off, size_t len, char *out, size_t cap,
                    const char *def)
{
    size_t n = 0;
    if (ti->len >= off + len) {
        n = len < cap - 1 ? len : cap - 1;
        memcpy(out, ti->data + off, n);
        while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\0'))
            n--;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)out[i] < 0x20)
                out[i] = ' ';
    }
    out[n] = '\0';
    if (n == 0)
        snprintf(out, cap, "%s", def);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static CK_RV read_tokeninfo(jc_token *k, vt_buf *ti)
{
    p11_p15_path p;
    bool found = false;
    CK_RV rv;

    jc_tokeninfo_path(&p);
    rv = jc_read_file(k, &p, ti, &found);
    if (rv == CKR_OK && !found)
        vt_buf_clear(ti); /* the defaults stand in */
    return rv;
}

/* The label the applet's TokenInfo gives, for a new PKCS#15 application. */
static void refresh_label(jc_token *k, const vt_buf *ti)
{
    ti_text(ti, 0, 32, k->label, sizeof(k->label), JC_LABEL);
}

static void pin_flags(int tries, bool so, CK_FLAGS *flags)
{
    if (tries < 0 || tries >= JC_TRIES_MAX)
        return;
    if (tries == 0)
        *flags |= so ? CKF_SO_PIN_LOCKED : CKF_USER_PIN_LOCKED;
    else if (tries == 1)
        *flags |= so ? CKF_SO_PIN_FINAL_TRY : CKF_USER_PIN_FINAL_TRY;
    else
        *flags |= so ? CKF_SO_PIN_COUNT_LOW : CKF_USER_PIN_COUNT_LOW;
}

/* GET CAPABILITY 0190: total and free object memory. */
static void memory(jc_token *k, p11_token_info *info)
{
    vt_buf r = {0};
    info->total_mem = info->free_mem = CK_UNAVAILABLE_INFORMATION;
    if (jc_cmd_ok(k, 0x80, 0xCB, 0x01, 0x90, NULL, 0, 256, 0, &r) == CKR_OK && r.len >= 8) {
        info->total_mem = (CK_ULONG)r.data[0] << 24 | (CK_ULONG)r.data[1] << 16 |
                          (CK_ULONG)r.data[2] << 8 | r.data[3];
        info->free_mem = (CK_ULONG)r.data[4] << 24 | (CK_ULONG)r.data[5] << 16 |
                         (CK_ULONG)r.data[6] << 8 | r.data[7];
    }
    vt_buf_free(&r);
}

static CK_RV do_get_info(p11_token *t, p11_token_info *info)
{
    jc_token *k = t->drv;
    vt_buf ti = {0};
    char serial[17];
    int user = -1, so = -1;
    CK_RV rv;

    memset(info, 0, sizeof(*info));
    rv = read_tokeninfo(k, &ti);
    if (rv != CKR_OK)
        goto out;
    refresh_label(k, &ti);
    snprintf(info->label, sizeof(info->label), "%s", k->label);
    ti_text(&ti, 32, 32, info->manufacturer, sizeof(info->manufacturer), JC_MANUFACTURER);
    ti_text(&ti, 64, 16, info->model, sizeof(info->model), JC_MODEL);
    for (size_t i = 0; i < k->serial_len; i++)
        snprintf(serial + 2 * i, 3, "%02X", k->serial[i]);
    serial[2 * k->serial_len] = '\0';
    ti_text(&ti, 80, 16, info->serial, sizeof(info->serial), serial);
    rv = jc_pin_tries(k, JC_USER_REF, &user);
    if (rv == CKR_OK)
        rv = jc_pin_tries(k, JC_SO_REF, &so);
    if (rv != CKR_OK)
        goto out;
    info->flags = CKF_RNG | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED;
    pin_flags(user, false, &info->flags);
    pin_flags(so, true, &info->flags);
    info->user_tries_left = user == -2 ? JC_TRIES_MAX : user;
    info->user_tries_max = JC_TRIES_MAX;
    info->so_tries_left = so == -2 ? JC_TRIES_MAX : so;
    info->so_tries_max = JC_TRIES_MAX;
    info->min_pin = JC_PIN_MIN;
    info->max_pin = JC_PIN_MAX;
    if (ti.len >= 144) {
        uint32_t max = le32(ti.data + 116), min = le32(ti.data + 120);
        if (min >= 1 && min <= max && max <= JC_PIN_MAX) {
            info->min_pin = min;
            info->max_pin = max;
        }
        info->hw.major = ti.data[140];
        info->hw.minor = ti.data[141];
        info->fw.major = ti.data[142];
        info->fw.minor = ti.data[143];
    } else {
        info->hw.major = info->fw.major = 1;
    }
    memory(k, info);
out:
    vt_buf_free(&ti);
    return rv;
}

/* ---- token initialisation ---- */

/* The SO wipes the token: every key object the PrKDF names, the PKCS#15 application DF
 * and EF(DIR); the new label goes into the applet's TokenInfo. The user PIN stays (the
 * applet cannot take it back to "not initialised"). */
static CK_RV do_init_token(p11_token *t, const uint8_t *so_pin, size_t len, const char *label)
{
    jc_token *k = t->drv;
    p11_p15_card *p15 = &k->obj.p15;
    p11_p15_path p;
    uint8_t field[32];
    char now[16], when[17];
    bool found = false;
    size_t n = strlen(label);
    CK_RV rv;

    rv = jc_verify_pin(k, JC_SO_REF, so_pin, len);
    if (rv == CKR_OK)
        rv = p11_p15_tok_load(&k->obj);
    if (rv != CKR_OK)
        goto out;
    if (p15->present) {
        p11_p15_df *prkdf = p11_p15_card_df(p15, P11_P15_PRKDF);
        for (size_t i = 0; prkdf && i < prkdf->n && rv == CKR_OK; i++)
            if (p11_p15_obj_is_prkey(prkdf->objs[i].type) &&
                prkdf->objs[i].u.key.key_reference > 0 &&
                prkdf->objs[i].u.key.key_reference <= JC_KEY_REF_MAX)
                rv = p11_jc_keys.remove(k, prkdf->objs[i].u.key.key_reference);
        if (rv == CKR_OK && p15->app.len >= 4) {
            rv = jc_select(k, &p15->app, false, &found, NULL);
            if (rv == CKR_OK && found) {
                k->writes++;
                rv = jc_cmd_ok(k, 0x00, 0xE4, 0x01, 0x00, NULL, 0, 0, 0, NULL);
            }
        }
        p11_p15_path_set(&p, (const uint8_t *)"\x3F\x00\x2F\x00", 4);
        if (rv == CKR_OK)
            rv = k->obj.fs.remove(k, &p);
        p11_p15_card_reset(p15);
        k->obj.loaded = false;
    }
    if (rv != CKR_OK)
        goto out;
    /* label[32] at 0 and the time of the last update[16] at 144 */
    memset(field, ' ', sizeof(field));
    memcpy(field, label, n < sizeof(field) ? n : sizeof(field));
    p11_p15_now(now);
    snprintf(when, sizeof(when), "%-16s", now);
    jc_tokeninfo_path(&p);
    rv = jc_select(k, &p, false, &found, NULL);
    if (rv == CKR_OK && found) {
        k->writes++;
        rv = jc_cmd_ok(k, 0x00, 0xD6, 0x00, 0x00, field, sizeof(field), 0, 0, NULL);
        if (rv == CKR_OK)
            rv = jc_cmd_ok(k, 0x00, 0xD6, 0x00, 144, (const uint8_t *)when, 16, 0, 0, NULL);
    }
out:
    (void)jc_logout_refs(k, true, false);
    if (k->logged_in && k->who == CKU_SO)
        jc_set_login(k, false, NO_USER);
    return rv;
}

/* ---- RSA, random ---- */

static CK_RV rsa_op(jc_token *k, const p11_tobj *key, bool sign, p11_rsa_op op, const uint8_t *in,
                    size_t in_len, uint8_t *out, size_t *out_len)
{
    vt_buf d = {0}, r = {0};
    apdu_tlvb b;
    apdu_tlv res = {0};
    p11_p15_path path;
    size_t bytes = 0, used = 0;
    long ref = -1;
    bool found = false;
    uint8_t p1, p2;
    CK_RV rv;

    rv = p11_p15_tok_key_info(&k->obj, key, &ref, &bytes, &path);
    if (rv != CKR_OK)
        return rv;
    if (op == P11_RSA_RAW ? in_len != bytes : (sign ? in_len > bytes - 11 : in_len != bytes))
        return sign ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE;
    if (sign && op == P11_RSA_PKCS1) {
        p1 = 0x9E; /* the card pads the DigestInfo */
        p2 = 0x8A;
    } else {
        p1 = 0x80;
        p2 = op == P11_RSA_RAW ? 0x0C : 0x0A;
    }
    apdu_tlvb_init(&b, &d);
    apdu_tlvb_put(&b, p1 == 0x9E ? 0x80 : 0x82, in, in_len);
    if (apdu_tlvb_finish(&b) != APDU_OK) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    rv = jc_select(k, &path, false, &found, NULL);
    if (rv == CKR_OK && !found)
        rv = CKR_KEY_HANDLE_INVALID;
    if (rv == CKR_OK) {
        uint16_t sw = 0;
        rv =
            jc_cmd(k, 0x00, 0x2A, p1, p2, d.data, d.len, 256, sign ? 0 : APDU_X_SENSITIVE, &r, &sw);
        if (rv == CKR_OK && sw == APDU_SW_WRONG_DATA && !sign)
            rv = CKR_ENCRYPTED_DATA_INVALID;
        else if (rv == CKR_OK)
            rv = jc_sw_rv(sw);
    }
    if (rv != CKR_OK)
        goto out;
    if (p1 == 0x9E) {
        res.value = r.data;
        res.len = r.len;
        if (r.len != bytes)
            rv = CKR_DEVICE_ERROR;
    } else if (apdu_tlv_parse(r.data, r.len, &res, &used) != APDU_OK || res.tag != 0x80 ||
               used != r.len || (op == P11_RSA_RAW && res.len != bytes)) {
        rv = CKR_DEVICE_ERROR;
    }
    if (rv != CKR_OK)
        goto out;
    if (*out_len < res.len) {
        *out_len = res.len;
        rv = CKR_BUFFER_TOO_SMALL;
        goto out;
    }
    memcpy(out, res.value, res.len);
    *out_len = res.len;
out:
    vt_buf_free(&d);
    vt_buf_free(&r);
    return rv;
}

static CK_RV do_rsa_sign(p11_token *t, const p11_tobj *key, p11_rsa_op op, const uint8_t *in,
                         size_t in_len, uint8_t *out, size_t *out_len)
{
    return rsa_op(t->drv, key, true, op, in, in_len, out, out_len);
}

static CK_RV do_rsa_decrypt(p11_token *t, const p11_tobj *key, p11_rsa_op op, const uint8_t *in,
                            size_t in_len, uint8_t *out, size_t *out_len)
{
    return rsa_op(t->drv, key, false, op, in, in_len, out, out_len);
}

static CK_RV jc_random(p11_token *t, uint8_t *out, size_t len)
{
    jc_token *k = t->drv;
    vt_buf r = {0};
    CK_RV rv = CKR_OK;

    while (len && rv == CKR_OK) {
        size_t n = len > 128 ? 128 : len;
        vt_buf_clear(&r);
        rv = jc_cmd_ok(k, 0x00, 0x84, 0x00, 0x00, NULL, 0, n, 0, &r);
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

/* ---- token objects ---- */

static CK_RV do_list_objects(p11_token *t, p11_tobj **objs, size_t *n)
{
    return p11_p15_tok_list(&((jc_token *)t->drv)->obj, objs, n);
}

/* A new application takes the label the applet's TokenInfo has now. */
static void ensure_label(jc_token *k)
{
    vt_buf ti = {0};
    if (!k->obj.loaded || !k->obj.p15.present) {
        if (read_tokeninfo(k, &ti) == CKR_OK)
            refresh_label(k, &ti);
        vt_buf_free(&ti);
    }
}

static CK_RV do_create_object(p11_token *t, const p11_attrs *tmpl, p11_tobj *out)
{
    ensure_label(t->drv);
    return p11_p15_tok_create(&((jc_token *)t->drv)->obj, tmpl, out);
}

static CK_RV do_destroy_object(p11_token *t, const p11_tobj *obj)
{
    return p11_p15_tok_destroy(&((jc_token *)t->drv)->obj, obj);
}

static CK_RV do_set_attributes(p11_token *t, const p11_tobj *obj, const p11_attrs *changes,
                               p11_tobj *updated)
{
    return p11_p15_tok_set_attributes(&((jc_token *)t->drv)->obj, obj, changes, updated);
}

static CK_RV do_generate_rsa(p11_token *t, CK_ULONG bits, const uint8_t *pub_exp, size_t exp_len,
                             const p11_attrs *pub_tmpl, const p11_attrs *priv_tmpl, p11_tobj *pub,
                             p11_tobj *priv)
{
    ensure_label(t->drv);
    return p11_p15_tok_generate_rsa(&((jc_token *)t->drv)->obj, bits, pub_exp, exp_len, pub_tmpl,
                                    priv_tmpl, pub, priv);
}

static CK_RV jc_present(p11_token *t)
{
    jc_token *k = t->drv;

    return apdu_present(k->t) == APDU_OK ? CKR_OK : CKR_TOKEN_NOT_PRESENT;
}

static uint64_t jc_generation(p11_token *t)
{
    jc_token *k = t->drv;

    /* the card's changes from elsewhere, and ours */
    return (apdu_generation(k->t) << 32) ^ k->writes;
}

static void jc_close(p11_token *t)
{
    jc_token *k;

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

/* ---- the operations: each one card transaction ---- */

static CK_RV jc_get_info(p11_token *t, p11_token_info *info)
{
    jc_token *k = t->drv;
    CK_RV rv;

    jc_txn_begin(k);
    rv = do_get_info(t, info);
    jc_txn_end(k);
    return rv;
}

static CK_RV jc_login(p11_token *t, CK_USER_TYPE who, const uint8_t *pin, size_t len)
{
    jc_token *k = t->drv;
    CK_RV rv;

    jc_txn_begin(k);
    rv = jc_pin_login(t, who, pin, len);
    jc_txn_end(k);
    return rv;
}

static CK_RV jc_logout(p11_token *t)
{
    jc_token *k = t->drv;
    CK_RV rv;

    jc_txn_begin(k);
    rv = jc_pin_logout(t);
    jc_txn_end(k);
    return rv;
}

static CK_RV jc_set_pin(p11_token *t, CK_USER_TYPE who, const uint8_t *old_pin, size_t old_len,
                        const uint8_t *new_pin, size_t new_len)
{
    jc_token *k = t->drv;
    CK_RV rv;

    jc_txn_begin(k);
    rv = jc_pin_change(t, who, old_pin, old_len, new_pin, new_len);
    jc_txn_end(k);
    return rv;
}

static CK_RV jc_init_pin(p11_token *t, const uint8_t *pin, size_t len)
{
    jc_token *k = t->drv;
    CK_RV rv;

    jc_txn_begin(k);
    rv = jc_pin_init(t, pin, len);
    jc_txn_end(k);
    return rv;
}

static CK_RV jc_init_token(p11_token *t, const uint8_t *so_pin, size_t len, const char *label)
{
    jc_token *k = t->drv;
    CK_RV rv;

    jc_txn_begin(k);
    rv = do_init_token(t, so_pin, len, label);
    jc_txn_end(k);
    return rv;
}

static CK_RV jc_list_objects(p11_token *t, p11_tobj **objs, size_t *n)
{
    jc_token *k = t->drv;
    CK_RV rv;

    jc_txn_begin(k);
    rv = do_list_objects(t, objs, n);
    jc_txn_end(k);
    return rv;
}

static CK_RV jc_create_object(p11_token *t, const p11_attrs *tmpl, p11_tobj *out)
{
    jc_token *k = t->drv;
    CK_RV rv;

    jc_txn_begin(k);
    rv = do_create_object(t, tmpl, out);
    jc_txn_end(k);
    return rv;
}

static CK_RV jc_destroy_object(p11_token *t, const p11_tobj *obj)
{
    jc_token *k = t->drv;
    CK_RV rv;

    jc_txn_begin(k);
    rv = do_destroy_object(t, obj);
    jc_txn_end(k);
    return rv;
}

static CK_RV jc_set_attributes(p11_token *t, const p11_tobj *obj, const p11_attrs *changes,
                               p11_tobj *updated)
{
    jc_token *k = t->drv;
    CK_RV rv;

    jc_txn_begin(k);
    rv = do_set_attributes(t, obj, changes, updated);
    jc_txn_end(k);
    return rv;
}

static CK_RV jc_generate_rsa(p11_token *t, CK_ULONG bits, const uint8_t *pub_exp, size_t exp_len,
                             const p11_attrs *pub_tmpl, const p11_attrs *priv_tmpl, p11_tobj *pub,
                             p11_tobj *priv)
{
    jc_token *k = t->drv;
    CK_RV rv;

    jc_txn_begin(k);
    rv = do_generate_rsa(t, bits, pub_exp, exp_len, pub_tmpl, priv_tmpl, pub, priv);
    jc_txn_end(k);
    return rv;
}

static CK_RV jc_rsa_sign(p11_token *t, const p11_tobj *key, p11_rsa_op op, const uint8_t *in,
                         size_t in_len, uint8_t *out, size_t *out_len)
{
    jc_token *k = t->drv;
    CK_RV rv;

    jc_txn_begin(k);
    rv = do_rsa_sign(t, key, op, in, in_len, out, out_len);
    jc_txn_end(k);
    return rv;
}

static CK_RV jc_rsa_decrypt(p11_token *t, const p11_tobj *key, p11_rsa_op op, const uint8_t *in,
                            size_t in_len, uint8_t *out, size_t *out_len)
{
    jc_token *k = t->drv;
    CK_RV rv;

    jc_txn_begin(k);
    rv = do_rsa_decrypt(t, key, op, in, in_len, out, out_len);
    jc_txn_end(k);
    return rv;
}

static const p11_token_ops jc_ops = {
    .name = "jacarta",
    .caps = P11_CAP_RSA_RAW | P11_CAP_RSA_PKCS1 | P11_CAP_KEYGEN_RSA | P11_CAP_RNG | P11_CAP_WRITE,
    .rsa_min_bits = 1024,
    .rsa_max_bits = 2048,
    .get_info = jc_get_info,
    .login = jc_login,
    .logout = jc_logout,
    .set_pin = jc_set_pin,
    .init_pin = jc_init_pin,
    .init_token = jc_init_token,
    .list_objects = jc_list_objects,
    .generation = jc_generation,
    .create_object = jc_create_object,
    .destroy_object = jc_destroy_object,
    .set_attributes = jc_set_attributes,
    .generate_rsa = jc_generate_rsa,
    .rsa_sign = jc_rsa_sign,
    .rsa_decrypt = jc_rsa_decrypt,
    .ec_sign = NULL,
    .random = jc_random,
    .present = jc_present,
    .close = jc_close,
};

/* ---- the driver ---- */

/* The JaCarta PKI ATRs OpenSC's jacartapki driver lists (pcsc-tools names the first one
 * "JaCarta (PKI)"). */
static const char *const atrs[] = {
    "3BDC18FF8191FE1FC38073C821136601061159000128", "3BDC18FF8191FE1FC38073C8211366010B0352000538",
    "3B8C80018073C82113660106115900012C",           "3B6C00FF8073C8211366010611590001",
    "3B9F1181113D00110000000000000000000000000032",
};

static bool jc_match(const uint8_t *atr, size_t atr_len)
{
    for (size_t i = 0; i < VT_ARRAY_LEN(atrs); i++) {
        uint8_t a[33];
        long n = vt_hex_decode(atrs[i], a, sizeof(a));
        if (n > 0 && (size_t)n == atr_len && memcmp(a, atr, atr_len) == 0)
            return true;
    }
    return false;
}

/* The applet must answer SELECT by its AID and the two capabilities OpenSC's driver
 * checks at start; the serial number comes from GET CAPABILITY 0114. */
static CK_RV probe(jc_token *k)
{
    vt_buf r = {0};
    CK_RV rv = jc_cmd_ok(k, 0x00, 0xA4, 0x04, 0x0C, laser_aid, sizeof(laser_aid), 0, 0, NULL);

    if (rv == CKR_OK)
        rv = jc_cmd_ok(k, 0x80, 0xCB, 0x01, 0x80, NULL, 0, 256, 0, &r);
    if (rv == CKR_OK && r.len != 3)
        rv = CKR_TOKEN_NOT_RECOGNIZED;
    vt_buf_clear(&r);
    if (rv == CKR_OK)
        rv = jc_cmd_ok(k, 0x80, 0xCB, 0x01, 0x88, NULL, 0, 256, 0, &r);
    if (rv == CKR_OK && r.len != 5)
        rv = CKR_TOKEN_NOT_RECOGNIZED;
    vt_buf_clear(&r);
    if (rv == CKR_OK)
        rv = jc_cmd_ok(k, 0x80, 0xCB, 0x01, 0x14, NULL, 0, 256, 0, &r);
    if (rv == CKR_OK && (r.len == 0 || r.len > sizeof(k->serial)))
        rv = CKR_TOKEN_NOT_RECOGNIZED;
    if (rv == CKR_OK) {
        memcpy(k->serial, r.data, r.len);
        k->serial_len = r.len;
    }
    vt_buf_free(&r);
    if (rv == CKR_DEVICE_ERROR || rv == CKR_FUNCTION_NOT_SUPPORTED || rv == CKR_DATA_INVALID)
        rv = CKR_TOKEN_NOT_RECOGNIZED; /* not the Laser applet */
    return rv;
}

static CK_RV jc_open(apdu_transport *tr, p11_token **out)
{
    p11_token *t = calloc(1, sizeof(*t));
    jc_token *k = calloc(1, sizeof(*k));
    CK_RV rv = CKR_HOST_MEMORY;

    *out = NULL;
    if (!t || !k || p11_p15_tok_init(&k->obj) != P11_P15_OK)
        goto fail;
    k->t = tr;
    k->who = NO_USER;
    k->obj.t = tr;
    k->obj.keys = &p11_jc_keys;
    jc_fs_init(k);
    rv = probe(k);
    if (rv != CKR_OK)
        goto fail;
    snprintf(k->label, sizeof(k->label), "%s", JC_LABEL);
    k->obj.app = (p11_p15_new_app){
        .label = k->label,
        .manufacturer = JC_MANUFACTURER,
        .serial = k->serial,
        .serial_len = k->serial_len,
        .user_pin_min = JC_PIN_MIN,
        .user_pin_max = JC_PIN_MAX,
        .so_pin_min = JC_PIN_MIN,
        .so_pin_max = JC_PIN_MAX,
        .so_ref = JC_SO_REF,
        .user_ref = JC_USER_REF,
        .app_fid = 0x5015,
    };
    t->ops = &jc_ops;
    t->drv = k;
    *out = t;
    return CKR_OK;
fail:
    if (k) {
        p11_p15_tok_free(&k->obj);
        free(k);
    }
    free(t);
    apdu_close(tr);
    return rv;
}

const p11_card_driver p11_drv_jacarta = {
    .name = "jacarta",
    .vendor = "jacarta",
    .match = jc_match,
    .open = jc_open,
};
