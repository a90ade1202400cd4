/* The JaCarta dialect, factory state: the card a fresh image holds, laid out after OpenSC's
 * jacartapki.profile (MF with the two global PIN objects, the Laser application DF 3000
 * with its public and private DFs and the TokenInfo EF C000), as NCA issues it: user PIN
 * 1234567890, SO PIN 00000000 (docs/dialects/jacarta.md, "Factory state"). */
#define _POSIX_C_SOURCE 200809L /* gmtime_r */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dialect_jacarta.h"
#include "fs.h"
#include "pin.h"

#define NONE   0x00, 0x00
#define NEVER  0x00, 0xFF
#define CHV(r) 0x00, (r)

/* A DF (size 0, no body) or a transparent EF whose size bytes are body. */
static sim_status add_node(ks_image *img, const sim_path *p, uint32_t type, size_t size,
                           const void *name, size_t name_len, const uint8_t *ac, size_t ac_len,
                           const uint8_t *body)
{
    uint8_t fdb = type == SIM_NODE_DF ? JC_FDB_DF : JC_FDB_EF;
    vt_buf a = {0};
    ks_node n;
    sim_status rv = SIM_ERR_NOMEM;

    if (!jc_build_attrs(&a, sim_path_last(p), size, fdb, name, name_len, NULL, 0, ac, ac_len))
        goto out;
    memset(&n, 0, sizeof(n));
    memcpy(n.path, p->b, p->len);
    n.path_len = p->len;
    n.type = type;
    n.attrs = a.data;
    n.attrs_len = a.len;
    n.counter = n.counter_max = -1;
    n.body = (uint8_t *)body;
    n.body_len = body != NULL ? size : 0;
    rv = sim_img_add(img, &n);
out:
    vt_buf_free(&a);
    return rv;
}

/* A global PIN object 3F00/00ref with its value; properties as OpenSC's laser_create_pin
 * writes them (tries in both nibbles, then the length limits). */
static sim_status add_pin(ks_image *img, const sim_pin_profile *pp, const uint8_t ac[14])
{
    uint8_t prop[14] = {0xC0,
                        0x01,
                        JC_KO_ALGO_PIN,
                        0x00,
                        (uint8_t)((pp->tries & 0x0F) | (pp->tries & 0x0F) << 4),
                        (uint8_t)pp->min_len,
                        (uint8_t)pp->max_len,
                        0,
                        0,
                        0,
                        0,
                        0,
                        (uint8_t)pp->max_len,
                        (uint8_t)pp->max_len};
    vt_buf a = {0};
    sim_status rv = SIM_ERR_NOMEM;
    long idx;

    if (!jc_build_attrs(&a, pp->ref, pp->max_len, JC_FDB_KO, NULL, 0, prop, sizeof(prop), ac,
                        (size_t)2 * JC_KO_OPS))
        goto out;
    rv = sim_pin_create(img, pp->ref, a.data, a.len, pp->tries);
    if (rv != SIM_OK)
        goto out;
    idx = sim_pin_find(img, pp->ref);
    rv = sim_pin_set_value(img, idx, (const uint8_t *)pp->default_pin, strlen(pp->default_pin));
out:
    vt_buf_free(&a);
    return rv;
}

static void put_padded(uint8_t *dst, size_t cap, const char *s)
{
    size_t n = strlen(s);
    memset(dst, ' ', cap);
    memcpy(dst, s, n < cap ? n : cap);
}

static void put_le32(uint8_t *dst, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        dst[i] = (uint8_t)(v >> (8 * i));
}

/* label[32] manufacturer[32] model[16] serial[16], then little-endian 32-bit flags,
 * session counts, PIN lengths and memory, hardware and firmware versions, the time of
 * the last update; then one zero byte (the profile's EF is 161 bytes). */
void jc_tokeninfo(const ks_image *img, const sim_profile *p, uint8_t out[JC_TOKENINFO_LEN])
{
    /* CKF_RNG | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED */
    const uint32_t flags = 0x0001u | 0x0004u | 0x0008u | 0x0400u;
    char serial[33] = "";
    char when[17] = "";
    time_t now = time(NULL);
    struct tm tm;

    memset(out, 0, JC_TOKENINFO_LEN);
    put_padded(out, 32, img->label);
    put_padded(out + 32, 32, "Aladdin R.D.");
    put_padded(out + 64, 16, "JaCarta Laser");
    vt_hex_encode(img->serial, img->serial_len < 8 ? img->serial_len : 8, serial);
    for (char *c = serial; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    put_padded(out + 80, 16, serial);
    put_le32(out + 96, flags);
    /* 100..112: session counts, 0 (the card does not count sessions) */
    put_le32(out + 116, (uint32_t)p->user.max_len);
    put_le32(out + 120, (uint32_t)p->user.min_len);
    put_le32(out + 124, (uint32_t)p->capacity);
    put_le32(out + 128, 0xFFFFFFFFu); /* free memory: GET CAPABILITY 0190 knows it */
    put_le32(out + 132, 0xFFFFFFFFu);
    put_le32(out + 136, 0xFFFFFFFFu);
    out[140] = 1; /* hardware 1.0, firmware 1.0, as OpenSC's driver reports */
    out[142] = 1;
    if (gmtime_r(&now, &tm) != NULL)
        strftime(when, sizeof(when), "%Y%m%d%H%M%SZ", &tm);
    put_padded(out + 144, 16, when);
}

sim_status jc_format_card(ks_image *img, const sim_profile *p)
{
    /* DF rules: create EF/KO, create DF, admin, delete, activate, deactivate.
     * EF rules: read, write, admin, delete.
     * KO/PIN rules: read, update (PIN change), admin, delete, generate, PIN reset, crypto. */
    static const uint8_t mf_ac[12] = {NONE, NONE, NEVER, NEVER, NONE, NEVER};
    static const uint8_t app_ac[12] = {CHV(0x10), CHV(0x10), NEVER, NEVER, NONE, NEVER};
    static const uint8_t pub_ac[12] = {NONE, NONE, NEVER, NEVER, NONE, NEVER};
    static const uint8_t prv_ac[12] = {CHV(0x20), CHV(0x20), NEVER, NEVER, NONE, NEVER};
    static const uint8_t ti_ac[8] = {NONE, CHV(JC_REF_SO_OR_USER), NEVER, NEVER};
    /* SO PIN: changed with itself, never reset or deleted. User PIN: changed by the SO or
     * the user (the profile wants secure messaging for it), reset by the SO. */
    static const uint8_t so_ac[14] = {NEVER, CHV(0x10), NEVER, NEVER, NEVER, NEVER, NONE};
    static const uint8_t user_ac[14] = {
        NEVER, CHV(JC_REF_SO_OR_USER), NEVER, NEVER, NEVER, CHV(0x10), NONE};
    uint8_t ti[JC_TOKENINFO_LEN];
    sim_path path;
    sim_status rv;

    sim_path_mf(&path);
    /* The MF carries the Laser AID as its name: SELECT by AID lands here. */
    rv = add_node(img, &path, SIM_NODE_DF, 0, jc_laser_aid, sizeof(jc_laser_aid), mf_ac,
                  sizeof(mf_ac), NULL);
    if (rv == SIM_OK)
        rv = add_pin(img, &p->so, so_ac);
    if (rv == SIM_OK)
        rv = add_pin(img, &p->user, user_ac);
    sim_path_append(&path, JC_FID_APP);
    if (rv == SIM_OK)
        rv = add_node(img, &path, SIM_NODE_DF, 0, "ASEPKCS", 7, app_ac, sizeof(app_ac), NULL);
    sim_path_append(&path, JC_FID_PUBLIC);
    if (rv == SIM_OK)
        rv = add_node(img, &path, SIM_NODE_DF, 0, "PUBLIC", 6, pub_ac, sizeof(pub_ac), NULL);
    sim_path_up(&path);
    sim_path_append(&path, JC_FID_PRIVATE);
    if (rv == SIM_OK)
        rv = add_node(img, &path, SIM_NODE_DF, 0, "PRIVATE", 7, prv_ac, sizeof(prv_ac), NULL);
    sim_path_up(&path);
    sim_path_append(&path, JC_FID_TOKENINFO);
    jc_tokeninfo(img, p, ti);
    if (rv == SIM_OK)
        rv =
            add_node(img, &path, SIM_NODE_EF, sizeof(ti), "TokenInfo", 9, ti_ac, sizeof(ti_ac), ti);
    if (rv == SIM_OK)
        img->lifecycle = SIM_LC_OPERATIONAL;
    return rv;
}
