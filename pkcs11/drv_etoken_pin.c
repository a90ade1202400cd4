/* The eToken driver, PINs and token info: VERIFY (the counters from VERIFY without data,
 * logout with VERIFY P1 FF), CHANGE REFERENCE DATA, RESET RETRY COUNTER with the new
 * value, what C_GetTokenInfo shows, and C_InitToken: the SO wipes every object and key
 * and the application starts again under the new label. */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include <stdio.h>
#include <string.h>

#include "drv_etoken.h"
#include "sw.h"

#define MODEL        "eToken PRO 72K" /* ours: C_GetTokenInfo holds 16 bytes */
#define MANUFACTURER "SafeNet, Inc."  /* as SAC's C_GetInfo says it */

/* ---- login state ---- */

void p11_et_set_login(et_token *k, bool logged_in, CK_USER_TYPE who)
{
    k->logged_in = logged_in;
    k->who = logged_in ? who : ET_NO_USER;
    /* private objects are listed for the user only */
    k->obj.user = logged_in && who == CKU_USER;
}

/* Whether the user PIN counts as set: the AODF entry's "initialized" flag, which
 * C_InitToken clears and C_InitPIN sets (no application yet: the factory PIN). */
static bool user_pin_initialized(et_token *k)
{
    const p11_p15_obj *o =
        k->obj.p15.present ? p11_p15_card_pin(&k->obj.p15, ET_USER_REF, NULL, NULL) : NULL;

    return !o || (o->u.pin.flags & P11_P15_PIN_INITIALIZED) != 0;
}

/* ---- PINs ---- */

/* Tries left from VERIFY without data (0 = blocked), or -2 when verified. */
static CK_RV pin_tries(et_token *k, uint8_t ref, int *tries)
{
    uint16_t sw = 0;
    CK_RV rv = p11_et_cmd(k, 0x00, 0x20, 0x00, ref, NULL, 0, 0, 0, NULL, &sw);

    if (rv != CKR_OK)
        return rv;
    if (sw == APDU_SW_OK)
        *tries = -2;
    else if ((sw & 0xFFF0u) == 0x63C0u)
        *tries = sw & 0x0F;
    else if (sw == APDU_SW_AUTH_BLOCKED)
        *tries = 0;
    else
        return p11_et_sw_rv(sw);
    return CKR_OK;
}

static CK_RV verify(et_token *k, uint8_t ref, const uint8_t *pin, size_t len)
{
    if (len < ET_PIN_MIN || len > ET_PIN_MAX)
        return CKR_PIN_LEN_RANGE;
    return p11_et_cmd_ok(k, 0x00, 0x20, 0x00, ref, pin, len, 0, APDU_X_SENSITIVE, NULL);
}

/* End the card's verified state of ref (VERIFY P1 FF). */
static CK_RV unverify(et_token *k, uint8_t ref)
{
    return p11_et_cmd_ok(k, 0x00, 0x20, 0xFF, ref, NULL, 0, 0, 0, NULL);
}

CK_RV p11_et_op_login(p11_token *t, CK_USER_TYPE who, const uint8_t *pin, size_t len)
{
    et_token *k = t->drv;
    uint8_t ref = who == CKU_SO ? ET_SO_REF : ET_USER_REF;
    CK_RV rv;

    if (who != CKU_SO && who != CKU_USER && who != CKU_CONTEXT_SPECIFIC)
        return CKR_USER_TYPE_INVALID;
    rv = p11_p15_tok_load(&k->obj);
    if (rv != CKR_OK)
        return rv;
    if (ref == ET_USER_REF && !user_pin_initialized(k))
        return CKR_USER_PIN_NOT_INITIALIZED; /* after C_InitToken, until C_InitPIN */
    rv = verify(k, ref, pin, len);
    if (rv == CKR_OK && who != CKU_CONTEXT_SPECIFIC)
        p11_et_set_login(k, true, who);
    return rv;
}

CK_RV p11_et_op_logout(p11_token *t)
{
    et_token *k = t->drv;
    CK_RV rv = unverify(k, ET_USER_REF), rv2 = unverify(k, ET_SO_REF);

    p11_et_set_login(k, false, ET_NO_USER);
    return rv != CKR_OK ? rv : rv2;
}

/* CHANGE REFERENCE DATA 00 24 01 ref: the new value; ref is verified. */
static CK_RV set_pin_value(et_token *k, uint8_t ref, const uint8_t *pin, size_t len)
{
    if (len < ET_PIN_MIN || len > ET_PIN_MAX)
        return CKR_PIN_LEN_RANGE;
    k->writes++;
    return p11_et_cmd_ok(k, 0x00, 0x24, 0x01, ref, pin, len, 0, APDU_X_SENSITIVE, NULL);
}

CK_RV p11_et_op_set_pin(p11_token *t, CK_USER_TYPE who, const uint8_t *old_pin, size_t old_len,
                        const uint8_t *new_pin, size_t new_len)
{
    et_token *k = t->drv;
    uint8_t ref = who == CKU_SO ? ET_SO_REF : ET_USER_REF;
    bool was = k->logged_in && k->who == who;
    CK_RV rv;

    if (new_len < ET_PIN_MIN || new_len > ET_PIN_MAX)
        return CKR_PIN_LEN_RANGE;
    rv = verify(k, ref, old_pin, old_len);
    if (rv == CKR_OK)
        rv = set_pin_value(k, ref, new_pin, new_len);
    /* the VERIFY must not leave a session that was not logged in verified on the card */
    if (!was)
        (void)unverify(k, ref);
    return rv;
}

/* Mark the user PIN's AODF entry initialized (C_InitPIN after C_InitToken). */
static CK_RV mark_user_pin_initialized(et_token *k)
{
    p11_p15_df *df = NULL;
    p11_p15_obj copy;
    size_t i = 0;
    const p11_p15_obj *o = p11_p15_card_pin(&k->obj.p15, ET_USER_REF, &df, &i);
    CK_RV rv;

    if (!o || (o->u.pin.flags & P11_P15_PIN_INITIALIZED))
        return CKR_OK;
    if (p11_p15_obj_copy(&copy, o) != P11_P15_OK)
        return CKR_HOST_MEMORY;
    copy.u.pin.flags |= P11_P15_PIN_INITIALIZED;
    k->writes++;
    rv = p11_p15_card_replace(&k->obj.p15, &k->obj.fs, df, i, &copy);
    p11_p15_tok_touched(&k->obj);
    p11_p15_obj_clear(&copy);
    return rv;
}

/* RESET RETRY COUNTER 00 2C 02 01 with the new value (the SO is verified). */
CK_RV p11_et_op_init_pin(p11_token *t, const uint8_t *pin, size_t len)
{
    et_token *k = t->drv;
    CK_RV rv = p11_p15_tok_load(&k->obj);

    if (rv != CKR_OK)
        return rv;
    if (len < ET_PIN_MIN || len > ET_PIN_MAX)
        return CKR_PIN_LEN_RANGE;
    k->writes++;
    rv = p11_et_cmd_ok(k, 0x00, 0x2C, 0x02, ET_USER_REF, pin, len, 0, APDU_X_SENSITIVE, NULL);
    if (rv == CKR_OK)
        rv = mark_user_pin_initialized(k);
    return rv;
}

/* ---- C_InitToken ---- */

/* Every object and key, then the application's own files: with the SO verified, every
 * file the module makes and every key object can be deleted (their rules say user or SO). */
static CK_RV wipe(et_token *k)
{
    static const uint8_t dir[] = {0x3F, 0x00, 0x2F, 0x00};
    p11_p15_card *p15 = &k->obj.p15;
    p11_p15_path p;
    CK_RV rv = CKR_OK;

    for (size_t d = 0; rv == CKR_OK && d < p15->ndfs; d++) {
        const p11_p15_df *df = &p15->dfs[d];
        for (size_t i = 0; rv == CKR_OK && i < df->n; i++) {
            const p11_p15_obj *o = &df->objs[i];
            if (p11_p15_obj_is_prkey(o->type) || df->type == P11_P15_AODF)
                continue; /* keys below, by reference; PIN entries are no files */
            if (o->has_path && p11_p15_card_abs_path(p15, &o->path, &p) && p.len > p15->app.len &&
                !memcmp(p.v, p15->app.v, p15->app.len))
                rv = k->obj.fs.remove(k, &p);
        }
        if (rv == CKR_OK)
            rv = k->obj.fs.remove(k, &df->path);
    }
    /* every key reference, also keys no PrKDF entry names */
    for (long ref = 1; rv == CKR_OK && ref <= ET_KEY_REF_MAX; ref++)
        rv = p11_et_keys.remove(k, ref);
    if (rv == CKR_OK && p15->app.len >= 4) {
        for (uint16_t fid = 0x5031; rv == CKR_OK && fid <= 0x5032; fid++) {
            p = p15->app;
            p.count = -1;
            p11_p15_path_append(&p, fid);
            rv = k->obj.fs.remove(k, &p);
        }
    }
    p11_p15_path_set(&p, dir, sizeof(dir));
    if (rv == CKR_OK)
        rv = k->obj.fs.remove(k, &p);
    return rv;
}

/* The new application under label, the user PIN's entry not "initialized". */
static CK_RV create_app(et_token *k)
{
    p11_p15_df *df = NULL;
    p11_p15_obj copy;
    size_t i = 0;
    const p11_p15_obj *o;
    CK_RV rv = p11_p15_card_create(&k->obj.p15, &k->obj.fs, &k->obj.app);

    if (rv != CKR_OK)
        return rv;
    o = p11_p15_card_pin(&k->obj.p15, ET_USER_REF, &df, &i);
    if (!o)
        return CKR_GENERAL_ERROR;
    if (p11_p15_obj_copy(&copy, o) != P11_P15_OK)
        return CKR_HOST_MEMORY;
    copy.u.pin.flags &= ~P11_P15_PIN_INITIALIZED;
    rv = p11_p15_card_replace(&k->obj.p15, &k->obj.fs, df, i, &copy);
    p11_p15_obj_clear(&copy);
    return rv;
}

CK_RV p11_et_op_init_token(p11_token *t, const uint8_t *so_pin, size_t len, const char *label)
{
    et_token *k = t->drv;
    size_t n;
    CK_RV rv;

    p11_et_read_serial(k);
    rv = verify(k, ET_SO_REF, so_pin, len);
    if (rv == CKR_OK)
        rv = p11_p15_tok_load(&k->obj);
    if (rv != CKR_OK)
        return rv;
    /* PKCS#11 labels are blank-padded: TokenInfo gets the text */
    n = label ? strnlen(label, sizeof(k->label) - 1) : 0;
    while (n && label[n - 1] == ' ')
        n--;
    memcpy(k->label, label ? label : "", n);
    k->label[n] = '\0';
    k->writes++;
    rv = wipe(k);
    p11_p15_card_reset(&k->obj.p15);
    if (rv == CKR_OK)
        rv = create_app(k);
    /* the SO was verified for this call only */
    (void)unverify(k, ET_SO_REF);
    (void)unverify(k, ET_USER_REF);
    p11_et_set_login(k, false, ET_NO_USER);
    k->obj.loaded = false;
    p11_p15_card_reset(&k->obj.p15);
    return rv;
}

/* ---- info ---- */

void p11_et_read_serial(et_token *k)
{
    vt_buf r = {0};

    /* GET DATA 9F7F: CPLC, the IC serial number at bytes 13-16 */
    if (k->serial_len == 0 &&
        p11_et_cmd_ok(k, 0x80, 0xCA, 0x9F, 0x7F, NULL, 0, 256, 0, &r) == CKR_OK && r.len == 45 &&
        r.data[0] == 0x9F && r.data[1] == 0x7F) {
        memcpy(k->serial, r.data + 15, 4);
        k->serial_len = 4;
        k->obj.app.serial_len = 4; /* a new application's TokenInfo carries it */
    }
    vt_buf_free(&r);
}

static void pin_flags(int tries, bool so, CK_FLAGS *flags)
{
    if (tries < 0 || tries >= ET_TRIES_MAX)
        return;
    if (tries == 0)
        *flags |= so ? CKF_SO_PIN_LOCKED : CKF_USER_PIN_LOCKED;
    else if (tries == 1)
        *flags |= so ? CKF_SO_PIN_FINAL_TRY : CKF_USER_PIN_FINAL_TRY;
    else
        *flags |= so ? CKF_SO_PIN_COUNT_LOW : CKF_USER_PIN_COUNT_LOW;
}

/* GET DATA DF01: total and free object memory. */
static void memory(et_token *k, p11_token_info *info)
{
    vt_buf r = {0};

    info->total_mem = info->free_mem = CK_UNAVAILABLE_INFORMATION;
    if (p11_et_cmd_ok(k, 0x80, 0xCA, 0xDF, 0x01, NULL, 0, 256, 0, &r) == CKR_OK && r.len == 11 &&
        r.data[0] == 0xDF && r.data[1] == 0x01 && r.data[2] == 8) {
        info->total_mem = (CK_ULONG)r.data[3] << 24 | (CK_ULONG)r.data[4] << 16 |
                          (CK_ULONG)r.data[5] << 8 | r.data[6];
        info->free_mem = (CK_ULONG)r.data[7] << 24 | (CK_ULONG)r.data[8] << 16 |
                         (CK_ULONG)r.data[9] << 8 | r.data[10];
    }
    vt_buf_free(&r);
}

CK_RV p11_et_op_get_info(p11_token *t, p11_token_info *info)
{
    et_token *k = t->drv;
    const p11_p15_card *p15 = &k->obj.p15;
    const char *label;
    int user = -1, so = -1;
    CK_RV rv;

    memset(info, 0, sizeof(*info));
    p11_et_read_serial(k);
    for (size_t i = 0; i < k->serial_len; i++)
        snprintf(info->serial + 2 * i, 3, "%02X", k->serial[i]);
    rv = p11_p15_tok_load(&k->obj);
    if (rv != CKR_OK)
        return rv;
    /* PKCS#11 labels are 32 bytes: a longer TokenInfo label is cut */
    label = p15->present && p15->ti.has_label ? p15->ti.label : ET_LABEL;
    snprintf(info->label, sizeof(info->label), "%.*s", (int)(sizeof(info->label) - 1), label);
    snprintf(info->manufacturer, sizeof(info->manufacturer), "%s", MANUFACTURER);
    snprintf(info->model, sizeof(info->model), "%s", MODEL);
    rv = pin_tries(k, ET_USER_REF, &user);
    if (rv == CKR_OK)
        rv = pin_tries(k, ET_SO_REF, &so);
    if (rv != CKR_OK)
        return rv;
    info->flags = CKF_RNG | CKF_LOGIN_REQUIRED | CKF_TOKEN_INITIALIZED;
    if (user_pin_initialized(k)) {
        info->flags |= CKF_USER_PIN_INITIALIZED;
        pin_flags(user, false, &info->flags);
    }
    pin_flags(so, true, &info->flags);
    /* verified (-2): the last VERIFY was good, so the counter is full */
    info->user_tries_left = user == -2 ? ET_TRIES_MAX : user;
    info->user_tries_max = ET_TRIES_MAX;
    info->so_tries_left = so == -2 ? ET_TRIES_MAX : so;
    info->so_tries_max = ET_TRIES_MAX;
    info->min_pin = ET_PIN_MIN;
    info->max_pin = ET_PIN_MAX;
    memory(k, info);
    info->hw.major = info->fw.major = 1;
    return CKR_OK;
}
