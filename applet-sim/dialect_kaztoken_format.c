/* The Kaztoken dialect, factory state: the card a fresh image holds, built the way
 * OpenSC's pkcs15-rtecp.c and rutoken_ecp.profile would personalise a Rutoken ECP, minus
 * the PKCS#15 application (docs/dialects/kaztoken.md, "Factory state"). */
#include <string.h>

#include "dialect_kaztoken.h"
#include "fs.h"
#include "pin.h"

static sim_status add_df(ks_image *img, const uint16_t *fids, size_t depth,
                         const uint8_t sec[KZ_SEC_LEN])
{
    static const uint8_t fdb[2] = {KZ_FDB_DF, 0x00};
    vt_buf a = {0};
    ks_node n;
    sim_path p;
    sim_status rv = SIM_ERR_NOMEM;

    sim_path_mf(&p);
    for (size_t i = 0; i < depth; i++)
        sim_path_append(&p, fids[i]);
    if (!kz_build_attrs(&a, 0, fdb, sim_path_last(&p), NULL, 0, sec))
        goto out;
    memset(&n, 0, sizeof(n));
    memcpy(n.path, p.b, p.len);
    n.path_len = p.len;
    n.type = SIM_NODE_DF;
    n.attrs = a.data;
    n.attrs_len = a.len;
    n.counter = n.counter_max = -1;
    rv = sim_img_add(img, &n);
out:
    vt_buf_free(&a);
    return rv;
}

static sim_status add_pin(ks_image *img, const sim_pin_profile *pp, const uint8_t sec[KZ_SEC_LEN])
{
    static const uint8_t fdb[2] = {KZ_FDB_OBJECT, 0x00};
    uint8_t prop[6] = {
        KZ_PROP_PIN, (uint8_t)pp->min_len, 0x01, (uint8_t)(0x11 * (pp->tries & 0x0F)), 0, 0};
    size_t len = strlen(pp->default_pin);
    vt_buf a = {0};
    sim_status rv = SIM_ERR_NOMEM;
    long idx;

    if (!kz_build_attrs(&a, len, fdb, pp->ref, prop, sizeof(prop), sec))
        goto out;
    rv = sim_pin_create(img, pp->ref, a.data, a.len, pp->tries);
    if (rv != SIM_OK)
        goto out;
    idx = sim_pin_find(img, pp->ref);
    rv = sim_pin_set_value(img, idx, (const uint8_t *)pp->default_pin, len);
out:
    vt_buf_free(&a);
    return rv;
}

/* The card OpenSC's rutoken_ecp profile and pkcs15-rtecp.c would leave after
 * "--erase-card", "--create-pkcs15" and "--store-pin ... --finalize", minus the PKCS#15
 * application: MF, the system DFs and the two global PINs, in operational state. */
sim_status kz_format_card(ks_image *img, const sim_profile *p)
{
    /* MF: create DF/EF and objects with PIN 2, PIN objects ("put data") with PIN 1,
     * never deleted */
    static const uint8_t mf_sec[KZ_SEC_LEN] = {0x47, 0x02, 0x02, 0x01, 0, 0, 0, 0xFF};
    /* system DFs: create with PIN 2, never deleted */
    static const uint8_t sys_sec[KZ_SEC_LEN] = {0x43, 0x02, 0x02, 0, 0, 0, 0, 0xFF};
    /* SO PIN: never unblocked, changed with itself; user PIN: unblocked by the SO,
     * changed by itself or the SO; neither deleted */
    static const uint8_t so_sec[KZ_SEC_LEN] = {0x43, 0xFF, 0x01, 0, 0, 0, 0, 0xFF};
    static const uint8_t user_sec[KZ_SEC_LEN] = {0x43, 0x01, 0x03, 0, 0, 0, 0, 0xFF};
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
    sim_status rv;

    rv = add_df(img, NULL, 0, mf_sec);
    for (size_t i = 0; rv == SIM_OK && i < VT_ARRAY_LEN(sysdfs); i++)
        rv = add_df(img, sysdfs[i].fids, sysdfs[i].depth, sys_sec);
    if (rv == SIM_OK)
        rv = add_pin(img, &p->so, so_sec);
    if (rv == SIM_OK)
        rv = add_pin(img, &p->user, user_sec);
    if (rv == SIM_OK)
        img->lifecycle = SIM_LC_OPERATIONAL;
    return rv;
}
