/* The Kaztoken dialect: the Rutoken ECP command set as OpenSC's rutoken_ecp driver uses
 * it. This file: the command table, the factory format, access conditions, FCPs and the
 * file commands (SELECT, CREATE/DELETE FILE, READ/UPDATE BINARY, GET DATA, GET
 * CHALLENGE, erase, end of initialisation). PINs and keys: dialect_kaztoken_sec.c. */
#include "dialect_kaztoken.h"

#include <openssl/rand.h>
#include <string.h>

#include "fs.h"
#include "pin.h"

/* ---- attributes ----------------------------------------------------------------- */

uint8_t kz_prop(const ks_node *n, size_t i)
{
    const uint8_t *v;
    size_t len;
    if (!sim_attr_get(n, 0x85, &v, &len) || i >= len)
        return 0;
    return v[i];
}

bool kz_ac_allows(const sim_ctx *ctx, const ks_node *n, int am_bit)
{
    const uint8_t *sec;
    size_t len;
    uint8_t cond;

    if (ctx->img->lifecycle != SIM_LC_OPERATIONAL)
        return true;
    if (!sim_attr_get(n, 0x86, &sec, &len) || len != KZ_SEC_LEN)
        return true;
    if (!(sec[0] & (1u << am_bit)))
        return true;
    cond = sec[1 + am_bit];
    if (cond == 0x00)
        return true;
    if (cond == 0xFF)
        return false;
    for (unsigned ref = 1; ref <= 8; ref++)
        if ((cond & (1u << (ref - 1))) && sim_pin_verified(ctx, (uint8_t)ref))
            return true;
    return false;
}

uint16_t kz_put_fcp(sim_ctx *ctx, const ks_node *n)
{
    if (!vt_buf_append_byte(ctx->resp, 0x62) ||
        !vt_buf_append_byte(ctx->resp, (uint8_t)n->attrs_len) ||
        !vt_buf_append(ctx->resp, n->attrs, n->attrs_len))
        return APDU_SW_MEMORY_FAILURE;
    return APDU_SW_OK;
}

static void key_dir(uint16_t dir_fid, sim_path *p)
{
    sim_path_mf(p);
    sim_path_append(p, KZ_FID_SYS);
    sim_path_append(p, KZ_FID_SYSKEY);
    sim_path_append(p, dir_fid);
}

long kz_find_key(const ks_image *img, uint16_t dir_fid, uint8_t ref)
{
    sim_path p;
    long idx;
    key_dir(dir_fid, &p);
    sim_path_append(&p, ref);
    idx = sim_img_find(img, &p, SIM_KIND_FILE);
    if (idx < 0)
        return -1;
    if (img->nodes[idx].type != (dir_fid == KZ_FID_PRKEY ? SIM_NODE_PRIVKEY : SIM_NODE_PUBKEY))
        return -1;
    return idx;
}

size_t kz_key_half(const ks_node *n)
{
    size_t size = sim_node_size(n);
    size_t half;
    if (n->type == SIM_NODE_PRIVKEY) {
        if (size < 8 || (size - 8) % 5 != 0)
            return 0;
        half = (size - 8) / 5;
    } else if (n->type == SIM_NODE_PUBKEY) {
        if (size % 3 != 0)
            return 0;
        half = size / 3;
    } else {
        return 0;
    }
    /* RSA 1024 and 2048 */
    return half == 64 || half == 128 ? half : 0;
}

bool kz_build_attrs(vt_buf *a, size_t size, const uint8_t fdb[2], uint16_t fid, const uint8_t *prop,
                    size_t prop_len, const uint8_t sec[KZ_SEC_LEN])
{
    uint8_t hdr[] = {0x80, 2, (uint8_t)(size >> 8), (uint8_t)size, 0x82, 2, fdb[0], fdb[1],
                     0x83, 2, (uint8_t)(fid >> 8),  (uint8_t)fid};
    vt_buf_append(a, hdr, sizeof(hdr));
    if (prop_len > 0) {
        vt_buf_append_byte(a, 0x85);
        vt_buf_append_byte(a, (uint8_t)prop_len);
        vt_buf_append(a, prop, prop_len);
    }
    vt_buf_append_byte(a, 0x86);
    vt_buf_append_byte(a, KZ_SEC_LEN);
    return vt_buf_append(a, sec, KZ_SEC_LEN);
}

/* ---- SELECT --------------------------------------------------------------------- */

static long child(const sim_ctx *ctx, const sim_path *dir, uint16_t fid)
{
    sim_path p = *dir;
    if (!sim_path_append(&p, fid))
        return -1;
    return sim_img_find(ctx->img, &p, SIM_KIND_FILE);
}

/* Follow FIDs from dir; every step but the last must be a DF. */
static long walk(const sim_ctx *ctx, const sim_path *dir, const uint8_t *fids, size_t len)
{
    sim_path p = *dir;
    long idx = -1;
    for (size_t i = 0; i + 1 < len; i += 2) {
        if (idx >= 0 && ctx->img->nodes[idx].type != SIM_NODE_DF)
            return -1;
        if (!sim_path_append(&p, (uint16_t)(fids[i] << 8 | fids[i + 1])))
            return -1;
        idx = sim_img_find(ctx->img, &p, SIM_KIND_FILE);
        if (idx < 0)
            return -1;
    }
    return idx;
}

static long select_fid(const sim_ctx *ctx, long df, uint16_t fid)
{
    sim_path cur = ctx->conn->cur_df, parent = ctx->conn->cur_df;
    sim_path mf;
    long idx;
    sim_path_mf(&mf);
    if (fid == SIM_FID_MF)
        return sim_img_find(ctx->img, &mf, SIM_KIND_FILE);
    idx = child(ctx, &cur, fid);
    if (idx >= 0)
        return idx;
    if (sim_path_last(&cur) == fid)
        return df;
    if (sim_path_up(&parent) && sim_path_last(&parent) == fid)
        return sim_img_find(ctx->img, &parent, SIM_KIND_FILE);
    return -1;
}

/* The child with the smallest FID above fid (P2 = 02, "next"), or the first child. */
static long select_next(const sim_ctx *ctx, bool after, uint16_t fid)
{
    const sim_path *dir = &ctx->conn->cur_df;
    long best = -1;
    uint16_t best_fid = 0;
    for (size_t i = 0; i < ctx->img->nnodes; i++) {
        const ks_node *n = &ctx->img->nodes[i];
        uint16_t f;
        if (!sim_node_is_file(n) || n->path_len != dir->len + 2 ||
            memcmp(n->path, dir->b, dir->len) != 0)
            continue;
        f = (uint16_t)(n->path[n->path_len - 2] << 8 | n->path[n->path_len - 1]);
        if ((after && f <= fid) || (best >= 0 && f >= best_fid))
            continue;
        best = (long)i;
        best_fid = f;
    }
    return best;
}

static uint16_t kz_select(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    bool next = (c->p2 & 0x03u) == 0x02;
    bool fcp = (c->p2 & 0x0Cu) != 0x0C;
    long df = sim_fs_cur_df(ctx), idx = -1;
    sim_path mf;

    if ((c->p2 & 0xF0u) != 0 || (c->p2 & 0x0Cu) == 0x08 || (c->p2 & 0x01u) != 0 ||
        (next && c->p1 != 0x00))
        return APDU_SW_WRONG_P1P2;
    sim_path_mf(&mf);
    switch (c->p1) {
    case 0x00:
        if (c->nc == 0) {
            if (next)
                return APDU_SW_WRONG_LENGTH;
            if (df >= 0)
                idx = select_next(ctx, false, 0);
        } else if (c->nc == 2) {
            uint16_t fid = (uint16_t)(c->data[0] << 8 | c->data[1]);
            if (next)
                idx = df >= 0 ? select_next(ctx, true, fid) : -1;
            else
                idx = df >= 0 || fid == SIM_FID_MF ? select_fid(ctx, df, fid) : -1;
        } else {
            return APDU_SW_WRONG_LENGTH;
        }
        break;
    case 0x01:
    case 0x02:
        if (c->nc != 2)
            return APDU_SW_WRONG_LENGTH;
        if (df >= 0)
            idx = child(ctx, &ctx->conn->cur_df, (uint16_t)(c->data[0] << 8 | c->data[1]));
        if (idx >= 0 && (ctx->img->nodes[idx].type == SIM_NODE_DF) != (c->p1 == 0x01))
            idx = -1;
        break;
    case 0x03: {
        sim_path parent = ctx->conn->cur_df;
        if (c->nc != 0)
            return APDU_SW_WRONG_LENGTH;
        if (df >= 0 && sim_path_up(&parent))
            idx = sim_img_find(ctx->img, &parent, SIM_KIND_FILE);
        break;
    }
    case 0x04:
        /* Kaztoken has no applications selected by name. */
        if (c->nc == 0 || c->nc > 16)
            return APDU_SW_WRONG_LENGTH;
        break;
    case 0x08:
    case 0x09:
        if (c->nc == 0 || c->nc % 2 != 0)
            return APDU_SW_WRONG_LENGTH;
        if (c->p1 == 0x08)
            idx = walk(ctx, &mf, c->data, c->nc);
        else if (df >= 0)
            idx = walk(ctx, &ctx->conn->cur_df, c->data, c->nc);
        break;
    default:
        return APDU_SW_WRONG_P1P2;
    }
    if (idx < 0)
        return APDU_SW_FILE_NOT_FOUND;
    sim_fs_make_current(ctx, idx);
    return fcp ? kz_put_fcp(ctx, &ctx->img->nodes[idx]) : APDU_SW_OK;
}

/* ---- CREATE FILE ---------------------------------------------------------------- */

typedef struct fcp_in {
    bool has[256];
    const uint8_t *v[256];
    size_t len[256];
} fcp_in;

/* Parse the FCP template of CREATE FILE: 62 or 6F, then one level of data objects
 * with one-byte tags. */
static bool parse_fcp(const uint8_t *d, size_t n, fcp_in *f)
{
    size_t i = 2, end, len;
    memset(f, 0, sizeof(*f));
    if (n < 2 || (d[0] != 0x62 && d[0] != 0x6F))
        return false;
    len = d[1];
    if (d[1] == 0x81) {
        if (n < 3)
            return false;
        len = d[2];
        i = 3;
    } else if (d[1] > 0x7F) {
        return false;
    }
    if (len != n - i)
        return false;
    end = n;
    while (i < end) {
        uint8_t tag = d[i];
        if (i + 2 > end || d[i + 1] > 0x7F || d[i + 1] > end - i - 2)
            return false;
        switch (tag) {
        case 0x80:
        case 0x81:
        case 0x82:
        case 0x83:
        case 0x85:
        case 0x86:
        case 0x88:
        case 0x8A:
            break;
        default:
            return false;
        }
        if (f->has[tag])
            return false;
        f->has[tag] = true;
        f->v[tag] = &d[i + 2];
        f->len[tag] = d[i + 1];
        i += 2 + d[i + 1];
    }
    return true;
}

static uint16_t create_node(sim_ctx *ctx, const sim_path *p, uint32_t type, size_t size,
                            const uint8_t fdb[2], const fcp_in *f, const uint8_t *sec)
{
    vt_buf a = {0}, body = {0};
    ks_node n;
    uint16_t sw = APDU_SW_MEMORY_FAILURE;

    if (!kz_build_attrs(&a, size, fdb, sim_path_last(p), f->has[0x85] ? f->v[0x85] : NULL,
                        f->has[0x85] ? f->len[0x85] : 0, sec))
        goto out;
    if (type == SIM_NODE_EF && size > 0) {
        /* a transparent EF holds its declared size from the start, zero-filled */
        if (!vt_buf_reserve(&body, size))
            goto out;
        memset(body.data, 0, size);
        body.len = size;
    }
    memset(&n, 0, sizeof(n));
    memcpy(n.path, p->b, p->len);
    n.path_len = p->len;
    n.type = type;
    n.secret = type == SIM_NODE_PRIVKEY;
    n.attrs = a.data;
    n.attrs_len = a.len;
    n.counter = n.counter_max = -1;
    n.body = body.data;
    n.body_len = body.len;
    if (sim_img_add(ctx->img, &n) != SIM_OK)
        goto out;
    ctx->dirty = true;
    sw = APDU_SW_OK;
out:
    vt_buf_free(&a);
    vt_buf_free(&body);
    return sw;
}

static uint16_t create_pin(sim_ctx *ctx, uint16_t fid, const uint8_t fdb[2], size_t size,
                           const fcp_in *f, const uint8_t *sec)
{
    const sim_profile *p = ctx->card->profile;
    vt_buf a = {0};
    sim_path mf;
    long mfi;
    int tries;
    uint16_t sw = APDU_SW_MEMORY_FAILURE;

    if (fid != p->so.ref && fid != p->user.ref)
        return APDU_SW_WRONG_DATA;
    if (f->len[0x85] < 4 || f->v[0x85][1] > KZ_MAX_PIN)
        return APDU_SW_WRONG_DATA;
    if (sim_pin_find(ctx->img, (uint8_t)fid) >= 0)
        return APDU_SW_FILE_EXISTS;
    sim_path_mf(&mf);
    mfi = sim_img_find(ctx->img, &mf, SIM_KIND_FILE);
    if (mfi < 0)
        return APDU_SW_FILE_NOT_FOUND;
    if (!kz_ac_allows(ctx, &ctx->img->nodes[mfi], KZ_AM_PUT_DATA))
        return APDU_SW_SECURITY_STATUS;
    if (sim_img_used(ctx->img) + sim_node_cost(0) > p->capacity)
        return APDU_SW_NOT_ENOUGH_MEMORY;
    tries = f->v[0x85][3] & 0x0F;
    if (tries == 0)
        return APDU_SW_WRONG_DATA;
    if (!kz_build_attrs(&a, size, fdb, fid, f->v[0x85], f->len[0x85], sec))
        goto out;
    if (sim_pin_create(ctx->img, (uint8_t)fid, a.data, a.len, tries) != SIM_OK)
        goto out;
    ctx->dirty = true;
    sw = APDU_SW_OK;
out:
    vt_buf_free(&a);
    return sw;
}

static uint16_t kz_create_file(sim_ctx *ctx)
{
    static const uint8_t no_sec[KZ_SEC_LEN] = {0};
    const apdu_cmd *c = &ctx->cmd;
    const sim_profile *prof = ctx->card->profile;
    fcp_in f;
    uint8_t fdb[2] = {0, 0};
    const uint8_t *sec = no_sec;
    sim_path dir, p;
    long dfi;
    uint16_t fid;
    size_t size = 0;
    uint32_t type;
    int am = KZ_AM_CREATE;

    if (c->p1 != 0 || c->p2 != 0)
        return APDU_SW_WRONG_P1P2;
    if (c->nc == 0)
        return APDU_SW_WRONG_LENGTH;
    if (!parse_fcp(c->data, c->nc, &f) || !f.has[0x83] || f.len[0x83] != 2 || !f.has[0x82] ||
        f.len[0x82] < 1 || f.len[0x82] > 2)
        return APDU_SW_WRONG_DATA;
    fid = (uint16_t)(f.v[0x83][0] << 8 | f.v[0x83][1]);
    fdb[0] = f.v[0x82][0];
    if (f.len[0x82] == 2)
        fdb[1] = f.v[0x82][1];
    if (f.has[0x85] && f.len[0x85] > KZ_MAX_PROP)
        return APDU_SW_WRONG_DATA;
    if (f.has[0x86]) {
        if (f.len[0x86] != KZ_SEC_LEN)
            return APDU_SW_WRONG_DATA;
        sec = f.v[0x86];
    }
    for (uint8_t t = 0x80; t <= 0x81; t++)
        if (f.has[t]) {
            if (f.len[t] < 1 || f.len[t] > 2)
                return APDU_SW_WRONG_DATA;
            size = f.len[t] == 1 ? f.v[t][0] : (size_t)(f.v[t][0] << 8 | f.v[t][1]);
        }
    if (fid == 0xFFFF || fid == 0x3FFF || fid == 0x0000)
        return APDU_SW_WRONG_DATA;

    switch (fdb[0] & 0xBFu) {
    case KZ_FDB_DF:
        type = SIM_NODE_DF;
        break;
    case KZ_FDB_EF:
        type = SIM_NODE_EF;
        if (size > 0x7FFF)
            return APDU_SW_WRONG_DATA;
        break;
    case KZ_FDB_OBJECT:
        if (!f.has[0x85] || f.len[0x85] < 1)
            return APDU_SW_WRONG_DATA;
        switch (f.v[0x85][0]) {
        case KZ_PROP_PIN:
            return create_pin(ctx, fid, fdb, size, &f, sec);
        case KZ_PROP_RSA_PRIV:
        case KZ_PROP_RSA_PUB: {
            uint16_t dirfid = f.v[0x85][0] == KZ_PROP_RSA_PRIV ? KZ_FID_PRKEY : KZ_FID_PUKEY;
            size_t half = f.v[0x85][0] == KZ_PROP_RSA_PRIV ? (size - 8) / 5 : size / 3;
            bool ok =
                f.v[0x85][0] == KZ_PROP_RSA_PRIV ? size >= 8 && (size - 8) % 5 == 0 : size % 3 == 0;
            if ((fid >> 8) != 0 || !ok || (half != 64 && half != 128))
                return APDU_SW_WRONG_DATA;
            type = f.v[0x85][0] == KZ_PROP_RSA_PRIV ? SIM_NODE_PRIVKEY : SIM_NODE_PUBKEY;
            /* Key objects go to the system key DFs whatever the current DF. */
            sim_path_mf(&dir);
            sim_path_append(&dir, KZ_FID_SYS);
            sim_path_append(&dir, KZ_FID_SYSKEY);
            sim_path_append(&dir, dirfid);
            am = KZ_AM_CREATE_OBJECT;
            goto place;
        }
        case KZ_PROP_GOST_PRIV:
        case KZ_PROP_GOST_PUB:
            return APDU_SW_FUNC_UNSUPPORTED;
        default:
            return APDU_SW_WRONG_DATA;
        }
    default:
        return APDU_SW_FUNC_UNSUPPORTED;
    }

    if (fid == SIM_FID_MF) {
        sim_path_mf(&p);
        if (type != SIM_NODE_DF)
            return APDU_SW_WRONG_DATA;
        if (sim_img_find(ctx->img, &p, SIM_KIND_FILE) >= 0)
            return APDU_SW_FILE_EXISTS;
        if (sim_img_used(ctx->img) + sim_node_cost(0) > prof->capacity)
            return APDU_SW_NOT_ENOUGH_MEMORY;
        if (create_node(ctx, &p, type, size, fdb, &f, sec) != APDU_SW_OK)
            return APDU_SW_MEMORY_FAILURE;
        sim_fs_make_current(ctx, (long)ctx->img->nnodes - 1);
        return APDU_SW_OK;
    }
    dir = ctx->conn->cur_df;

place:
    dfi = sim_img_find(ctx->img, &dir, SIM_KIND_FILE);
    if (dfi < 0 || ctx->img->nodes[dfi].type != SIM_NODE_DF)
        return APDU_SW_FILE_NOT_FOUND;
    p = dir;
    /* A child may share its parent's FID: the Rutoken layout nests 1000 in 1000. */
    if (child(ctx, &dir, fid) >= 0)
        return APDU_SW_FILE_EXISTS;
    if (!sim_path_append(&p, fid))
        return APDU_SW_NOT_ENOUGH_MEMORY;
    if (!kz_ac_allows(ctx, &ctx->img->nodes[dfi], am))
        return APDU_SW_SECURITY_STATUS;
    if (sim_img_used(ctx->img) + sim_node_cost(type == SIM_NODE_DF ? 0 : size) > prof->capacity)
        return APDU_SW_NOT_ENOUGH_MEMORY;
    uint16_t sw = create_node(ctx, &p, type, size, fdb, &f, sec);
    if (sw == APDU_SW_OK && am == KZ_AM_CREATE)
        sim_fs_make_current(ctx, (long)ctx->img->nnodes - 1);
    return sw;
}

/* ---- DELETE FILE ---------------------------------------------------------------- */

static uint16_t kz_delete_file(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    sim_path target, parent;
    long idx;

    if (c->p1 != 0 || c->p2 != 0)
        return APDU_SW_WRONG_P1P2;
    if (c->nc == 2) {
        if (sim_fs_cur_df(ctx) < 0)
            return APDU_SW_FILE_NOT_FOUND;
        idx = child(ctx, &ctx->conn->cur_df, (uint16_t)(c->data[0] << 8 | c->data[1]));
        if (idx < 0)
            return APDU_SW_FILE_NOT_FOUND;
    } else if (c->nc == 0) {
        idx = sim_fs_cur_ef(ctx);
        if (idx < 0)
            idx = sim_fs_cur_df(ctx);
        if (idx < 0)
            return APDU_SW_NO_CURRENT_EF;
    } else {
        return APDU_SW_WRONG_LENGTH;
    }
    sim_path_of(&ctx->img->nodes[idx], &target);
    parent = target;
    if (!sim_path_up(&parent))
        return APDU_SW_CONDITIONS; /* the MF goes only with the whole card (80 8A) */
    if (!kz_ac_allows(ctx, &ctx->img->nodes[idx], KZ_AM_DELETE))
        return APDU_SW_SECURITY_STATUS;
    if (sim_img_remove_tree(ctx->img, &target) != SIM_OK)
        return APDU_SW_MEMORY_FAILURE;
    ctx->dirty = true;
    if (sim_path_within(&ctx->conn->cur_df, &target))
        ctx->conn->cur_df = parent;
    sim_fs_revalidate(ctx->conn, ctx->img);
    return APDU_SW_OK;
}

/* ---- READ / UPDATE BINARY ------------------------------------------------------- */

/* The current EF for READ/UPDATE BINARY, or a status word in *sw. */
static long binary_target(sim_ctx *ctx, int am, uint16_t *sw)
{
    const apdu_cmd *c = &ctx->cmd;
    long idx;
    if (c->p1 & 0x80u) {
        *sw = APDU_SW_WRONG_P1P2; /* no short EF identifiers */
        return -1;
    }
    idx = sim_fs_cur_ef(ctx);
    if (idx < 0) {
        *sw = APDU_SW_NO_CURRENT_EF;
        return -1;
    }
    const ks_node *n = &ctx->img->nodes[idx];
    /* Private keys never leave; key bodies are written with 00 24 01 00. */
    if (n->type == SIM_NODE_PRIVKEY || (n->type == SIM_NODE_PUBKEY && am == KZ_AM_UPDATE)) {
        *sw = APDU_SW_INCOMPATIBLE_FILE;
        return -1;
    }
    if (!kz_ac_allows(ctx, n, am)) {
        *sw = APDU_SW_SECURITY_STATUS;
        return -1;
    }
    return idx;
}

static uint16_t kz_read_binary(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    uint16_t sw = APDU_SW_OK;
    size_t off = (size_t)(c->p1 << 8 | c->p2);
    long idx;

    if (c->nc != 0 || c->ne == 0)
        return APDU_SW_WRONG_LENGTH;
    idx = binary_target(ctx, KZ_AM_READ, &sw);
    if (idx < 0)
        return sw;
    return sim_fs_read_at(ctx, idx, off, true);
}

static uint16_t kz_update_binary(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    uint16_t sw = APDU_SW_OK;
    size_t off = (size_t)(c->p1 << 8 | c->p2);
    long idx;

    if (c->nc == 0 || c->ne != 0)
        return APDU_SW_WRONG_LENGTH;
    idx = binary_target(ctx, KZ_AM_UPDATE, &sw);
    if (idx < 0)
        return sw;
    return sim_fs_update_at(ctx, idx, off);
}

/* ---- GET DATA, GET CHALLENGE ---------------------------------------------------- */

static uint16_t kz_get_data(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    if (c->nc != 0)
        return APDU_SW_WRONG_LENGTH;
    if (c->p1 != 0x01 || c->p2 != 0x81)
        return APDU_SW_REF_DATA_NOT_FOUND;
    if (!vt_buf_append(ctx->resp, ctx->img->serial, ctx->img->serial_len))
        return APDU_SW_MEMORY_FAILURE;
    return APDU_SW_OK;
}

static uint16_t kz_get_challenge(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    uint8_t rnd[256];
    uint16_t sw = APDU_SW_MEMORY_FAILURE;
    if (c->p1 != 0 || c->p2 != 0)
        return APDU_SW_WRONG_P1P2;
    if (c->nc != 0 || c->ne == 0 || c->ne > sizeof(rnd))
        return APDU_SW_WRONG_LENGTH;
    if (RAND_bytes(rnd, (int)c->ne) == 1 && vt_buf_append(ctx->resp, rnd, c->ne))
        sw = APDU_SW_OK;
    vt_wipe(rnd, sizeof(rnd));
    return sw;
}

/* ---- erase and end of initialisation -------------------------------------------- */

/* 80 8A 00 00: wipe the card back to initialisation state, no MF, no PINs. OpenSC's
 * rtecp_erase sends it with no prior VERIFY, so it needs no PIN. */
static uint16_t kz_erase(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    if (c->p1 != 0 || c->p2 != 0)
        return APDU_SW_WRONG_P1P2;
    if (c->nc != 0 || c->ne != 0)
        return APDU_SW_WRONG_LENGTH;
    sim_img_clear(ctx->img);
    ctx->img->lifecycle = SIM_LC_INIT;
    ctx->dirty = true;
    sim_conn_clear(ctx->conn);
    sim_fs_revalidate(ctx->conn, ctx->img);
    return APDU_SW_OK;
}

/* 80 84 4E 19: end of initialisation; access conditions apply from now on. */
static uint16_t kz_init_end(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    sim_path mf;
    if (c->p1 != 0x4E || c->p2 != 0x19)
        return APDU_SW_WRONG_P1P2;
    if (c->nc != 0 || c->ne != 0)
        return APDU_SW_WRONG_LENGTH;
    sim_path_mf(&mf);
    if (sim_img_find(ctx->img, &mf, SIM_KIND_FILE) < 0)
        return APDU_SW_CONDITIONS;
    if (ctx->img->lifecycle != SIM_LC_OPERATIONAL) {
        ctx->img->lifecycle = SIM_LC_OPERATIONAL;
        ctx->dirty = true;
    }
    return APDU_SW_OK;
}

/* ---- the table ------------------------------------------------------------------ */

static const sim_cmd kz_cmds[] = {
    {0x00, 0xA4, 0, kz_select, "SELECT"},
    {0x00, 0xE0, SIM_CMD_WRITES, kz_create_file, "CREATE FILE"},
    {0x00, 0xE4, SIM_CMD_WRITES, kz_delete_file, "DELETE FILE"},
    {0x00, 0xB0, 0, kz_read_binary, "READ BINARY"},
    {0x00, 0xD6, SIM_CMD_WRITES, kz_update_binary, "UPDATE BINARY"},
    {0x00, 0xCA, 0, kz_get_data, "GET DATA"},
    {0x00, 0x84, 0, kz_get_challenge, "GET CHALLENGE"},
    {0x00, 0x20, SIM_CMD_WRITES, kz_verify, "VERIFY"},
    {0x00, 0x24, SIM_CMD_WRITES | SIM_CMD_CHAINING, kz_change_reference_data,
     "CHANGE REFERENCE DATA"},
    {0x00, 0x2C, SIM_CMD_WRITES, kz_reset_retry_counter, "RESET RETRY COUNTER"},
    {0x00, 0x22, 0, kz_mse, "MANAGE SECURITY ENVIRONMENT"},
    {0x00, 0x2A, SIM_CMD_CHAINING, kz_pso, "PERFORM SECURITY OPERATION"},
    {0x00, 0x46, SIM_CMD_WRITES, kz_generate, "GENERATE KEY PAIR"},
    {0x80, 0x40, 0, kz_logout, "LOGOUT"},
    {0x80, 0x8A, SIM_CMD_WRITES, kz_erase, "ERASE CARD"},
    {0x80, 0x84, SIM_CMD_WRITES, kz_init_end, "END OF INITIALISATION"},
};

const sim_dialect sim_dialect_kaztoken = {
    .name = "kaztoken",
    .cmds = kz_cmds,
    .ncmds = VT_ARRAY_LEN(kz_cmds),
    .max_chain = 4096,
    .extended_apdus = false,
    .format = kz_format_card,
};
