/* The Kaztoken driver, C_InitToken: with the SO PIN verified, the card is erased and
 * personalised again as a factory Kaztoken (MF, system DFs, the SO PIN with its value,
 * the user PIN without one), then given a new PKCS#15 application with the label and
 * OpenSC's access conditions, and closed with END OF INITIALISATION.
 *
 * Why erase rather than delete objects one by one: the files OpenSC's profile (and this
 * driver) makes are deleted by the user PIN only, and the system DFs never, so the SO
 * alone cannot remove them; ERASE needs no PIN (OpenSC's rtecp_erase sends it bare) and
 * leaves nothing but the serial number. The SO PIN keeps its value (its counter starts
 * full again, as after any good VERIFY); the user PIN is left without a value and the
 * AODF says so, so C_GetTokenInfo clears CKF_USER_PIN_INITIALIZED and C_InitPIN must
 * follow (PKCS#11: "access by the normal user is disabled until the SO sets the normal
 * user's PIN"). Between ERASE and END OF INITIALISATION the card checks no access
 * condition; a failure there leaves it in that state, as a real one would be. */
#include <string.h>

#include "drv_kaztoken.h"
#include "sw.h"

/* The factory file system (docs/dialects/kaztoken.md, "Factory state"). */
static const uint8_t fdb_df[2] = {0x38, 0x00};
static const uint8_t fdb_obj[2] = {0x10, 0x00};
/* MF: create DF/EF and objects with PIN 2, PIN objects with PIN 1, never deleted */
static const uint8_t mf_sec[15] = {0x47, 0x02, 0x02, 0x01, 0, 0, 0, 0xFF};
/* system DFs: create with PIN 2, never deleted */
static const uint8_t sys_sec[15] = {0x43, 0x02, 0x02, 0, 0, 0, 0, 0xFF};
/* SO PIN: never unblocked, changed with itself; user PIN: unblocked by the SO, changed by
 * either; neither deleted (rtecp_create_pin's conditions) */
static const uint8_t so_sec[15] = {0x43, 0xFF, 0x01, 0, 0, 0, 0, 0xFF};
static const uint8_t user_sec[15] = {0x43, 0x01, 0x03, 0, 0, 0, 0, 0xFF};

static const struct {
    uint16_t fids[3];
    size_t depth;
} sysdfs[] = {
    {{0x1000}, 1},
    {{0x1000, 0x1000}, 2},
    {{0x1000, 0x1000, 0x6001}, 3},
    {{0x1000, 0x1000, 0x6002}, 3},
    {{0x1000, 0x1000, 0x6003}, 3},
    {{0x1000, 0x1000, 0x6004}, 3},
    {{0x1000, 0x1000, 0x6005}, 3},
    {{0x1000, 0x1001}, 2},
    {{0x1000, 0x1001, 0x8001}, 3},
    {{0x1000, 0x1001, 0x8002}, 3},
    {{0x1000, 0x1002}, 2},
    {{0x1000, 0x1003}, 2},
    {{0x1000, 0x1004}, 2},
};

/* Select the DF fids[0..depth) below the MF (depth 0: the MF) and create fid in it. */
static CK_RV create_df(kz_token *k, const uint16_t *fids, size_t depth, uint16_t fid,
                       const uint8_t sec[15])
{
    p11_p15_path p;
    bool found = false;
    size_t i;
    CK_RV rv;

    p11_p15_path_set(&p, (const uint8_t *)"\x3F\x00", 2);
    for (i = 0; i < depth; i++)
        p11_p15_path_append(&p, fids[i]);
    rv = p11_kz_select(k, &p, &found, NULL);
    if (rv == CKR_OK && !found)
        rv = CKR_DEVICE_ERROR;
    if (rv == CKR_OK)
        rv = p11_kz_create_file(k, fid, fdb_df, 0, NULL, 0, sec);
    return rv;
}

/* A global PIN object (tag 85: kind 01, minimum length, flags 01, 10 tries); with a
 * value when pin is not NULL. */
static CK_RV create_pin(kz_token *k, uint8_t ref, const uint8_t sec[15], const uint8_t *pin,
                        size_t len)
{
    const uint8_t prop[6] = {0x01, KZ_PIN_MIN, 0x01, (uint8_t)(0x11 * KZ_TRIES_MAX), 0, 0};
    CK_RV rv = p11_kz_create_file(k, ref, fdb_obj, pin ? len : 0, prop, sizeof(prop), sec);

    if (rv == CKR_OK && pin)
        rv = p11_kz_set_pin_value(k, ref, pin, len);
    return rv;
}

/* The factory card, on an erased one: the MF (CREATE FILE 3F00 with nothing selected),
 * the system DFs and the two PINs. */
static CK_RV format_card(kz_token *k, const uint8_t *so_pin, size_t so_len)
{
    p11_p15_path mf;
    bool found = false;
    size_t i;
    CK_RV rv = p11_kz_create_file(k, 0x3F00, fdb_df, 0, NULL, 0, mf_sec);

    for (i = 0; rv == CKR_OK && i < VT_ARRAY_LEN(sysdfs); i++)
        rv = create_df(k, sysdfs[i].fids, sysdfs[i].depth - 1, sysdfs[i].fids[sysdfs[i].depth - 1],
                       sys_sec);
    p11_p15_path_set(&mf, (const uint8_t *)"\x3F\x00", 2);
    if (rv == CKR_OK)
        rv = p11_kz_select(k, &mf, &found, NULL);
    if (rv == CKR_OK)
        rv = create_pin(k, KZ_SO_REF, so_sec, so_pin, so_len);
    if (rv == CKR_OK)
        rv = create_pin(k, KZ_USER_REF, user_sec, NULL, 0);
    return rv;
}

/* The new application: the driver's defaults with this label, and the user PIN's AODF
 * entry not "initialized" until C_InitPIN. */
static CK_RV create_app(kz_token *k, const char *label)
{
    p11_p15_new_app app = k->obj.app;
    p11_p15_df *df = NULL;
    p11_p15_obj copy;
    size_t i = 0;
    const p11_p15_obj *o;
    CK_RV rv;

    app.label = label;
    app.serial = k->serial;
    app.serial_len = k->serial_len;
    rv = p11_p15_card_create(&k->obj.p15, &k->obj.fs, &app);
    if (rv != CKR_OK)
        return rv;
    o = p11_p15_card_pin(&k->obj.p15, KZ_USER_REF, &df, &i);
    if (!o)
        return CKR_GENERAL_ERROR;
    if (p11_p15_obj_copy(&copy, o) != P11_P15_OK)
        return CKR_HOST_MEMORY;
    copy.u.pin.flags &= ~P11_P15_PIN_INITIALIZED;
    rv = p11_p15_card_replace(&k->obj.p15, &k->obj.fs, df, i, &copy);
    p11_p15_obj_clear(&copy);
    return rv;
}

CK_RV p11_kz_op_init_token(p11_token *t, const uint8_t *so_pin, size_t len, const char *label)
{
    kz_token *k = t->drv;
    char lab[P11_P15_MAX_LABEL + 1];
    size_t n;
    CK_RV rv;

    /* PKCS#11 labels are blank-padded: TokenInfo gets the text */
    n = label ? strnlen(label, sizeof(lab) - 1) : 0;
    while (n && label[n - 1] == ' ')
        n--;
    memcpy(lab, label ? label : "", n);
    lab[n] = '\0';

    p11_kz_read_serial(k);
    rv = p11_kz_verify(k, KZ_SO_REF, so_pin, len);
    if (rv != CKR_OK)
        return rv;
    k->writes++;
    rv = p11_kz_cmd_ok(k, 0x80, 0x8A, 0x00, 0x00, NULL, 0, 0, 0, NULL);
    /* the erase ended every login on the card */
    p11_kz_set_login(k, false, KZ_NO_USER);
    p11_p15_card_reset(&k->obj.p15);
    if (rv == CKR_OK)
        rv = format_card(k, so_pin, len);
    k->personalising = true;
    if (rv == CKR_OK)
        rv = create_app(k, lab);
    k->personalising = false;
    if (rv == CKR_OK)
        rv = p11_kz_cmd_ok(k, 0x80, 0x84, 0x4E, 0x19, NULL, 0, 0, 0, NULL);
    /* read the card again next time, whatever happened */
    k->obj.loaded = false;
    p11_p15_card_reset(&k->obj.p15);
    return rv;
}
