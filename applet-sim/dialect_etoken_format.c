/* The eToken PRO (Java) dialect, factory state: the MF, the PRO applet's DF 6666 and its
 * DF 5000 (public paths), the applet's own memory as one system EF, and the two PINs
 * with the profile's defaults (docs/dialects/etoken.md, "Factory state"). */
#include <string.h>

#include "dialect_etoken.h"
#include "fs.h"
#include "pin.h"

/* Object memory a factory card leaves free (ours, after the "about 47 KB" one public page
 * gives for the 72 KB token). The rest is the applet's: one system EF of that size. */
#define ET_FREE_FACTORY  ((size_t)47 * 1024)
#define ET_FACTORY_NODES ((size_t)6) /* MF, 6666, 5000, system EF, two PINs */

static sim_status add_node(ks_image *img, const sim_path *p, uint32_t type, const vt_buf *a)
{
    ks_node n;
    memset(&n, 0, sizeof(n));
    memcpy(n.path, p->b, p->len);
    n.path_len = p->len;
    n.type = type;
    n.attrs = a->data;
    n.attrs_len = a->len;
    n.counter = n.counter_max = -1;
    return sim_img_add(img, &n);
}

static sim_status add_df(ks_image *img, const sim_path *p)
{
    /* delete: never; create DF, create EF, delete child: user or SO */
    static const uint8_t sec[] = {0x47, ET_SC_NEVER, ET_SC_EITHER, ET_SC_EITHER, ET_SC_EITHER};
    vt_buf a = {0};
    sim_status rv = SIM_ERR_NOMEM;
    if (et_build_attrs(&a, false, 0, ET_FDB_DF, sim_path_last(p), NULL, 0, sec, sizeof(sec)))
        rv = add_node(img, p, SIM_NODE_DF, &a);
    vt_buf_free(&a);
    return rv;
}

static sim_status add_pin(ks_image *img, const sim_pin_profile *pp)
{
    uint8_t prop[2] = {(uint8_t)pp->min_len, (uint8_t)pp->max_len};
    size_t len = strlen(pp->default_pin);
    vt_buf a = {0};
    sim_status rv = SIM_ERR_NOMEM;

    if (!et_build_attrs(&a, false, 0, 0x00, pp->ref, prop, sizeof(prop), NULL, 0))
        goto out;
    rv = sim_pin_create(img, pp->ref, a.data, a.len, pp->tries);
    if (rv == SIM_OK)
        rv = sim_pin_set_value(img, sim_pin_find(img, pp->ref), (const uint8_t *)pp->default_pin,
                               len);
out:
    vt_buf_free(&a);
    return rv;
}

sim_status et_format_card(ks_image *img, const sim_profile *p)
{
    /* the applet's memory: neither read, written nor deleted */
    static const uint8_t sys_sec[] = {0x43, ET_SC_NEVER, ET_SC_NEVER, ET_SC_NEVER};
    size_t sys = p->capacity - ET_FREE_FACTORY - sim_node_cost(0) * ET_FACTORY_NODES;
    sim_path mf, applet, data, system;
    vt_buf a = {0};
    sim_status rv;

    if (p->capacity < ET_FREE_FACTORY + sim_node_cost(0) * ET_FACTORY_NODES)
        return SIM_ERR_PROFILE;
    sim_path_mf(&mf);
    applet = mf;
    sim_path_append(&applet, ET_FID_APPLET);
    data = applet;
    sim_path_append(&data, ET_FID_DATA);
    system = mf;
    sim_path_append(&system, ET_FID_SYSTEM);

    rv = add_df(img, &mf);
    if (rv == SIM_OK)
        rv = add_df(img, &applet);
    if (rv == SIM_OK)
        rv = add_df(img, &data);
    if (rv == SIM_OK) {
        /* declared size only: the image holds no body for it */
        rv = et_build_attrs(&a, true, sys, ET_FDB_EF, ET_FID_SYSTEM, NULL, 0, sys_sec,
                            sizeof(sys_sec))
                 ? add_node(img, &system, SIM_NODE_EF, &a)
                 : SIM_ERR_NOMEM;
    }
    if (rv == SIM_OK)
        rv = add_pin(img, &p->user);
    if (rv == SIM_OK)
        rv = add_pin(img, &p->so);
    if (rv == SIM_OK)
        img->lifecycle = SIM_LC_OPERATIONAL;
    vt_buf_free(&a);
    return rv;
}
