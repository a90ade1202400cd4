/* The JaCarta card driver, PINs: the global PIN objects 3F00/0010 (SO) and 3F00/0020
 * (user), selected and then verified with P2 00 as OpenSC's jacartapki driver does;
 * their state from VERIFY without data, LOGOUT by reference list, a new value with
 * 80 24 (62 { 81 value }) and RESET RETRY COUNTER 80 2C by the SO. */
#include <string.h>

#include "drv_jacarta.h"
#include "sw.h"

#define NO_USER ((CK_USER_TYPE)-1)

/* ---- login state ---- */

void jc_set_login(jc_token *k, bool logged_in, CK_USER_TYPE who)
{
    k->logged_in = logged_in;
    k->who = logged_in ? who : NO_USER;
    /* private objects are listed for the user only */
    k->obj.user = logged_in && who == CKU_USER;
}

static uint8_t ref_of(CK_USER_TYPE who)
{
    return who == CKU_SO ? JC_SO_REF : JC_USER_REF;
}

/* ---- PINs ---- */

/* Select the global PIN object 3F00/00ref. */
static CK_RV select_pin(jc_token *k, uint8_t ref)
{
    p11_p15_path p;
    bool found = false;
    CK_RV rv;

    p11_p15_path_set(&p, (const uint8_t *)"\x3F\x00", 2);
    p11_p15_path_append(&p, ref);
    rv = jc_select(k, &p, false, &found, NULL);
    return rv == CKR_OK && !found ? CKR_DEVICE_ERROR : rv;
}

/* The state of PIN ref from VERIFY without data: tries left (0 = blocked), or -2 when this
 * connection holds it verified. */
CK_RV jc_pin_tries(jc_token *k, uint8_t ref, int *tries)
{
    uint16_t sw = 0;
    CK_RV rv = select_pin(k, ref);

    if (rv == CKR_OK)
        rv = jc_cmd(k, 0x00, 0x20, 0x00, 0x00, NULL, 0, 0, 0, NULL, &sw);
    if (rv != CKR_OK)
        return rv;
    if (sw == APDU_SW_OK)
        *tries = -2;
    else if ((sw & 0xFFF0u) == 0x63C0u)
        *tries = sw & 0x0F;
    else if (sw == APDU_SW_AUTH_BLOCKED)
        *tries = 0;
    else
        return jc_sw_rv(sw);
    return CKR_OK;
}

CK_RV jc_verify_pin(jc_token *k, uint8_t ref, const uint8_t *pin, size_t len)
{
    uint16_t sw = 0;
    CK_RV rv;

    if (len < JC_PIN_MIN || len > JC_PIN_MAX)
        return CKR_PIN_LEN_RANGE;
    rv = select_pin(k, ref);
    if (rv == CKR_OK)
        rv = jc_cmd(k, 0x00, 0x20, 0x00, 0x00, pin, len, 0, APDU_X_SENSITIVE, NULL, &sw);
    if (rv != CKR_OK)
        return rv;
    /* 63 C0: that was the last try */
    if (sw == 0x63C0u)
        return CKR_PIN_LOCKED;
    if (sw == APDU_SW_WRONG_LENGTH)
        return CKR_PIN_LEN_RANGE;
    return jc_sw_rv(sw);
}

/* LOGOUT 80 28 00 00 { 00 00 00 ref }: the references this connection verified. */
CK_RV jc_logout_refs(jc_token *k, bool so, bool user)
{
    uint8_t d[8] = {0};
    size_t n = 0;

    if (so) {
        d[n + 3] = JC_SO_REF;
        n += 4;
    }
    if (user) {
        d[n + 3] = JC_USER_REF;
        n += 4;
    }
    return n ? jc_cmd_ok(k, 0x80, 0x28, 0x00, 0x00, d, n, 0, 0, NULL) : CKR_OK;
}

CK_RV jc_pin_login(p11_token *t, CK_USER_TYPE who, const uint8_t *pin, size_t len)
{
    jc_token *k = t->drv;
    CK_RV rv;

    if (who != CKU_SO && who != CKU_USER && who != CKU_CONTEXT_SPECIFIC)
        return CKR_USER_TYPE_INVALID;
    rv = jc_verify_pin(k, who == CKU_SO ? JC_SO_REF : JC_USER_REF, pin, len);
    if (rv == CKR_OK && who != CKU_CONTEXT_SPECIFIC)
        jc_set_login(k, true, who);
    return rv;
}

CK_RV jc_pin_logout(p11_token *t)
{
    jc_token *k = t->drv;

    jc_set_login(k, false, NO_USER);
    /* the card holds both PINs apart: end both, whichever was verified here */
    return jc_logout_refs(k, true, true);
}

/* 80 24 00 00 62 L 81 L <new value> on the selected PIN object. */
static CK_RV set_pin_value(jc_token *k, uint8_t ref, const uint8_t *pin, size_t len)
{
    uint8_t d[4 + JC_PIN_MAX];
    CK_RV rv;

    if (len < JC_PIN_MIN || len > JC_PIN_MAX)
        return CKR_PIN_LEN_RANGE;
    d[0] = 0x62;
    d[1] = (uint8_t)(len + 2);
    d[2] = 0x81;
    d[3] = (uint8_t)len;
    memcpy(d + 4, pin, len);
    rv = select_pin(k, ref);
    if (rv == CKR_OK) {
        k->writes++;
        rv = jc_cmd_ok(k, 0x80, 0x24, 0x00, 0x00, d, 4 + len, 0, APDU_X_SENSITIVE, NULL);
    }
    vt_wipe(d, sizeof(d));
    return rv == CKR_DATA_INVALID ? CKR_PIN_LEN_RANGE : rv;
}

CK_RV jc_pin_change(p11_token *t, CK_USER_TYPE who, const uint8_t *old_pin, size_t old_len,
                    const uint8_t *new_pin, size_t new_len)
{
    jc_token *k = t->drv;
    uint8_t ref = ref_of(who);
    bool was = k->logged_in && k->who == who;
    CK_RV rv;

    if (new_len < JC_PIN_MIN || new_len > JC_PIN_MAX)
        return CKR_PIN_LEN_RANGE;
    rv = jc_verify_pin(k, ref, old_pin, old_len);
    if (rv == CKR_OK)
        rv = set_pin_value(k, ref, new_pin, new_len);
    /* verifying the old value logged the card in: a public session leaves it as it was */
    if (!was && (rv == CKR_OK || rv == CKR_PIN_LEN_RANGE))
        (void)jc_logout_refs(k, ref == JC_SO_REF, ref == JC_USER_REF);
    return rv;
}

/* RESET RETRY COUNTER 80 2C (the SO is verified), then the new value. */
CK_RV jc_pin_init(p11_token *t, const uint8_t *pin, size_t len)
{
    jc_token *k = t->drv;
    CK_RV rv;

    if (len < JC_PIN_MIN || len > JC_PIN_MAX)
        return CKR_PIN_LEN_RANGE;
    rv = select_pin(k, JC_USER_REF);
    if (rv == CKR_OK) {
        k->writes++;
        rv = jc_cmd_ok(k, 0x80, 0x2C, 0x00, 0x00, NULL, 0, 0, 0, NULL);
    }
    if (rv == CKR_OK)
        rv = set_pin_value(k, JC_USER_REF, pin, len);
    return rv;
}
