/* The Kaztoken driver, PINs and token info: VERIFY (tries left from VERIFY without data,
 * one PIN verified at a time), CHANGE REFERENCE DATA, RESET RETRY COUNTER, and what
 * C_GetTokenInfo shows (label from TokenInfo, serial from GET DATA, the PIN counters). */
#include <stdio.h>
#include <string.h>

#include "drv_kaztoken.h"
#include "sw.h"

/* ---- login state ---- */

void p11_kz_set_login(kz_token *k, bool logged_in, CK_USER_TYPE who)
{
    k->logged_in = logged_in;
    k->who = logged_in ? who : KZ_NO_USER;
    /* private objects are listed for the user only */
    k->obj.user = logged_in && who == CKU_USER;
}

/* ---- PIN policy ---- */

/* How many tries a PIN has when its counter is full. The card tells only the tries left
 * (VERIFY without data); the maximum is the personaliser's: a card personalised with
 * OpenSC's rutoken_ecp profile (TokenInfo manufacturerID "Aktiv Co.") has its 5 user
 * and 10 SO tries, ours (the factory card and C_InitToken) KZ_TRIES_MAX for both. */
static int tries_max(kz_token *k, uint8_t ref)
{
    const p11_p15_card *p15 = &k->obj.p15;

    if (p15->present && p15->ti.has_manufacturer && !strcmp(p15->ti.manufacturer, "Aktiv Co."))
        return ref == KZ_USER_REF ? 5 : 10;
    return KZ_TRIES_MAX;
}

/* PIN length limits: the AODF's when the application has the PIN, else the factory's. */
static void pin_limits(kz_token *k, uint8_t ref, size_t *min, size_t *max)
{
    const p11_p15_obj *o =
        k->obj.p15.present ? p11_p15_card_pin(&k->obj.p15, ref, NULL, NULL) : NULL;

    *min = KZ_PIN_MIN;
    *max = KZ_PIN_MAX;
    if (!o)
        return;
    if (o->u.pin.min_len > 0 && o->u.pin.min_len <= KZ_PIN_MAX)
        *min = (size_t)o->u.pin.min_len;
    if (o->u.pin.max_len >= (long)*min && o->u.pin.max_len < KZ_PIN_MAX)
        *max = (size_t)o->u.pin.max_len;
}

/* Whether the user PIN has a value: the AODF entry's "initialized" flag, which
 * C_InitToken clears and C_InitPIN sets (a card without the entry has the factory PIN). */
static bool user_pin_initialized(kz_token *k)
{
    const p11_p15_obj *o =
        k->obj.p15.present ? p11_p15_card_pin(&k->obj.p15, KZ_USER_REF, NULL, NULL) : NULL;

    return !o || (o->u.pin.flags & P11_P15_PIN_INITIALIZED) != 0;
}

/* The application, for the PIN policy in its AODF. A card whose PKCS#15 cannot be read
 * still takes PINs: the factory limits apply then, and the card has the last word. */
static void load_policy(kz_token *k)
{
    (void)p11_p15_tok_load(&k->obj);
}

/* ---- PINs ---- */

CK_RV p11_kz_pin_tries(kz_token *k, uint8_t ref, int *tries)
{
    uint16_t sw = 0;
    CK_RV rv = p11_kz_cmd(k, 0x00, 0x20, 0x00, ref, NULL, 0, 0, 0, NULL, &sw);

    if (rv != CKR_OK)
        return rv;
    if (sw == APDU_SW_OK)
        *tries = -2;
    else if ((sw & 0xFFF0u) == 0x63C0u)
        *tries = sw & 0x0F;
    else if (sw == APDU_SW_AUTH_BLOCKED)
        *tries = 0;
    else
        return p11_kz_sw_rv(sw);
    return CKR_OK;
}

CK_RV p11_kz_verify(kz_token *k, uint8_t ref, const uint8_t *pin, size_t len)
{
    uint16_t sw = 0;
    size_t min, max;
    int tries;
    CK_RV rv;

    load_policy(k);
    pin_limits(k, ref, &min, &max);
    if (len < min || len > max)
        return CKR_PIN_LEN_RANGE;
    rv = p11_kz_cmd(k, 0x00, 0x20, 0x00, ref, pin, len, 0, APDU_X_SENSITIVE, NULL, &sw);
    if (rv == CKR_OK && sw == KZ_SW_LOGOUT_FIRST) {
        /* the other PIN is verified: the card holds one at a time */
        rv = p11_kz_cmd_ok(k, 0x80, 0x40, 0x00, 0x00, NULL, 0, 0, 0, NULL);
        p11_kz_set_login(k, false, KZ_NO_USER);
        if (rv == CKR_OK)
            rv = p11_kz_cmd(k, 0x00, 0x20, 0x00, ref, pin, len, 0, APDU_X_SENSITIVE, NULL, &sw);
    }
    if (rv != CKR_OK)
        return rv;
    if (sw == 0x6300u) {
        /* the Rutoken says only "wrong": ask how many tries are left */
        rv = p11_kz_pin_tries(k, ref, &tries);
        if (rv != CKR_OK)
            return rv;
        return tries == 0 ? CKR_PIN_LOCKED : CKR_PIN_INCORRECT;
    }
    if (sw == APDU_SW_REF_DATA_UNUSABLE && ref == KZ_USER_REF)
        return CKR_USER_PIN_NOT_INITIALIZED; /* after C_InitToken, until C_InitPIN */
    return p11_kz_sw_rv(sw);
}

CK_RV p11_kz_op_login(p11_token *t, CK_USER_TYPE who, const uint8_t *pin, size_t len)
{
    kz_token *k = t->drv;
    uint8_t ref = who == CKU_SO ? KZ_SO_REF : KZ_USER_REF;
    CK_RV rv;

    if (who != CKU_SO && who != CKU_USER && who != CKU_CONTEXT_SPECIFIC)
        return CKR_USER_TYPE_INVALID;
    rv = p11_kz_verify(k, ref, pin, len);
    if (rv == CKR_OK && who != CKU_CONTEXT_SPECIFIC)
        p11_kz_set_login(k, true, who);
    return rv;
}

CK_RV p11_kz_op_logout(p11_token *t)
{
    kz_token *k = t->drv;

    p11_kz_set_login(k, false, KZ_NO_USER);
    return p11_kz_cmd_ok(k, 0x80, 0x40, 0x00, 0x00, NULL, 0, 0, 0, NULL);
}

/* CHANGE REFERENCE DATA 00 24 01 ref: 80 02 <len> A5 <len> <pin> */
CK_RV p11_kz_set_pin_value(kz_token *k, uint8_t ref, const uint8_t *pin, size_t len)
{
    uint8_t d[4 + 2 + KZ_PIN_MAX];
    size_t min, max;
    CK_RV rv;

    pin_limits(k, ref, &min, &max);
    if (len < min || len > max)
        return CKR_PIN_LEN_RANGE;
    d[0] = 0x80;
    d[1] = 0x02;
    d[2] = 0;
    d[3] = (uint8_t)len;
    d[4] = 0xA5;
    d[5] = (uint8_t)len;
    memcpy(d + 6, pin, len);
    k->writes++;
    rv = p11_kz_cmd_ok(k, 0x00, 0x24, 0x01, ref, d, 6 + len, 0, APDU_X_SENSITIVE, NULL);
    vt_wipe(d, sizeof(d));
    return rv;
}

CK_RV p11_kz_op_set_pin(p11_token *t, CK_USER_TYPE who, const uint8_t *old_pin, size_t old_len,
                        const uint8_t *new_pin, size_t new_len)
{
    kz_token *k = t->drv;
    uint8_t ref = who == CKU_SO ? KZ_SO_REF : KZ_USER_REF;
    size_t min, max;
    CK_RV rv;

    load_policy(k);
    pin_limits(k, ref, &min, &max);
    if (new_len < min || new_len > max)
        return CKR_PIN_LEN_RANGE;
    rv = p11_kz_verify(k, ref, old_pin, old_len);
    if (rv == CKR_OK)
        rv = p11_kz_set_pin_value(k, ref, new_pin, new_len);
    return rv;
}

/* Mark the user PIN's AODF entry initialized (C_InitPIN after C_InitToken); the AODF is
 * the SO's to update, and the SO is logged in. */
static CK_RV mark_user_pin_initialized(kz_token *k)
{
    p11_p15_df *df = NULL;
    p11_p15_obj copy;
    size_t i = 0;
    const p11_p15_obj *o = p11_p15_card_pin(&k->obj.p15, KZ_USER_REF, &df, &i);
    CK_RV rv;

    if (!o || (o->u.pin.flags & P11_P15_PIN_INITIALIZED))
        return CKR_OK;
    if (p11_p15_obj_copy(&copy, o) != P11_P15_OK)
        return CKR_HOST_MEMORY;
    copy.u.pin.flags |= P11_P15_PIN_INITIALIZED;
    rv = p11_p15_card_replace(&k->obj.p15, &k->obj.fs, df, i, &copy);
    p11_p15_tok_touched(&k->obj);
    p11_p15_obj_clear(&copy);
    return rv;
}

CK_RV p11_kz_op_init_pin(p11_token *t, const uint8_t *pin, size_t len)
{
    kz_token *k = t->drv;
    size_t min, max;
    CK_RV rv;

    load_policy(k);
    pin_limits(k, KZ_USER_REF, &min, &max);
    if (len < min || len > max)
        return CKR_PIN_LEN_RANGE;
    /* RESET RETRY COUNTER 00 2C 03 02 (the SO is verified), then the new value */
    k->writes++;
    rv = p11_kz_cmd_ok(k, 0x00, 0x2C, 0x03, KZ_USER_REF, NULL, 0, 0, 0, NULL);
    if (rv == CKR_OK)
        rv = p11_kz_set_pin_value(k, KZ_USER_REF, pin, len);
    if (rv == CKR_OK)
        rv = mark_user_pin_initialized(k);
    return rv;
}

/* ---- info ---- */

void p11_kz_read_serial(kz_token *k)
{
    vt_buf r = {0};

    if (k->serial_len == 0 &&
        p11_kz_cmd_ok(k, 0x00, 0xCA, 0x01, 0x81, NULL, 0, 256, 0, &r) == CKR_OK && r.len &&
        r.len <= sizeof(k->serial)) {
        memcpy(k->serial, r.data, r.len);
        k->serial_len = r.len;
        k->obj.app.serial_len = r.len; /* a new application's TokenInfo carries it */
    }
    vt_buf_free(&r);
}

static void pin_flags(int tries, int max, bool so, CK_FLAGS *flags)
{
    if (tries < 0 || tries >= max)
        return;
    if (tries == 0)
        *flags |= so ? CKF_SO_PIN_LOCKED : CKF_USER_PIN_LOCKED;
    else if (tries == 1)
        *flags |= so ? CKF_SO_PIN_FINAL_TRY : CKF_USER_PIN_FINAL_TRY;
    else
        *flags |= so ? CKF_SO_PIN_COUNT_LOW : CKF_USER_PIN_COUNT_LOW;
}

CK_RV p11_kz_op_get_info(p11_token *t, p11_token_info *info)
{
    kz_token *k = t->drv;
    int user = -1, so = -1, umax, smax;
    size_t i, lo, hi;
    CK_RV rv;

    memset(info, 0, sizeof(*info));
    p11_kz_read_serial(k);
    for (i = 0; i < k->serial_len && i < 8; i++)
        snprintf(info->serial + 2 * i, 3, "%02X", k->serial[i]);
    rv = p11_p15_tok_load(&k->obj);
    if (rv != CKR_OK)
        return rv;
    {
        /* PKCS#11 labels are 32 bytes: a longer TokenInfo label is cut */
        const p11_p15_card *p15 = &k->obj.p15;
        const char *label = p15->present && p15->ti.has_label ? p15->ti.label : "KAZTOKEN";
        size_t n = strlen(label);
        if (n > sizeof(info->label) - 1)
            n = sizeof(info->label) - 1;
        memcpy(info->label, label, n);
        info->label[n] = '\0';
    }
    snprintf(info->manufacturer, sizeof(info->manufacturer), "DigiFlow LLP.");
    snprintf(info->model, sizeof(info->model), "KAZTOKEN");
    rv = p11_kz_pin_tries(k, KZ_USER_REF, &user);
    if (rv == CKR_OK)
        rv = p11_kz_pin_tries(k, KZ_SO_REF, &so);
    if (rv != CKR_OK)
        return rv;
    umax = tries_max(k, KZ_USER_REF);
    smax = tries_max(k, KZ_SO_REF);
    info->flags = CKF_RNG | CKF_LOGIN_REQUIRED | CKF_TOKEN_INITIALIZED;
    if (user_pin_initialized(k)) {
        info->flags |= CKF_USER_PIN_INITIALIZED;
        pin_flags(user, umax, false, &info->flags);
    }
    pin_flags(so, smax, true, &info->flags);
    /* verified (-2): the card reset the counter */
    info->user_tries_left = user == -2 ? umax : user;
    info->user_tries_max = umax;
    info->so_tries_left = so == -2 ? smax : so;
    info->so_tries_max = smax;
    pin_limits(k, KZ_USER_REF, &lo, &hi);
    info->min_pin = lo;
    info->max_pin = hi;
    info->total_mem = info->free_mem = CK_UNAVAILABLE_INFORMATION;
    info->hw.major = info->fw.major = 1;
    return CKR_OK;
}
