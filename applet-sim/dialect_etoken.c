/* The eToken PRO (Java) dialect: the PRO applet (AID A0 00 00 03 12 02 02). This file:
 * the command table, attributes and access conditions, and the file commands (SELECT by
 * AID, FID and path, CREATE/DELETE FILE, the applet's READ 80 18 with an offset object,
 * UPDATE BINARY, GET DATA, the applet's GET CHALLENGE 80 17). PINs and keys are in
 * dialect_etoken_sec.c, the factory card in dialect_etoken_format.c. */
#include "dialect_etoken.h"

#include <openssl/rand.h>
#include <string.h>

#include "fs.h"
#include "pin.h"

const uint8_t et_aid[ET_AID_LEN] = {0xA0, 0x00, 0x00, 0x03, 0x12, 0x02, 0x02};

/* ---- attributes and access conditions --------------------------------------------- */

bool et_build_attrs(vt_buf *a, bool has_size, size_t size, uint8_t fdb, uint16_t fid,
                    const uint8_t *prop, size_t prop_len, const uint8_t *sec, size_t sec_len)
{
    if (has_size) {
        uint8_t s[] = {0x80, 2, (uint8_t)(size >> 8), (uint8_t)size};
        vt_buf_append(a, s, sizeof(s));
    }
    uint8_t d[] = {0x82, 1, fdb, 0x83, 2, (uint8_t)(fid >> 8), (uint8_t)fid};
    vt_buf_append(a, d, sizeof(d));
    if (prop_len > 0) {
        vt_buf_append_byte(a, 0x85);
        vt_buf_append_byte(a, (uint8_t)prop_len);
        vt_buf_append(a, prop, prop_len);
    }
    if (sec_len > 0) {
        vt_buf_append_byte(a, 0x8C);
        vt_buf_append_byte(a, (uint8_t)sec_len);
        vt_buf_append(a, sec, sec_len);
    }
    return !a->oom;
}

uint8_t et_fdb(const ks_node *n)
{
    const uint8_t *v;
    size_t len;
    return sim_attr_get(n, 0x82, &v, &len) && len >= 1 ? v[0] : 0;
}

bool et_sc_valid(uint8_t sc)
{
    return sc == ET_SC_ALWAYS || sc == ET_SC_USER || sc == ET_SC_SO || sc == ET_SC_EITHER ||
           sc == ET_SC_NEVER;
}

/* The SC byte for am in a compact-format value, or ET_SC_NEVER when it has none. */
static uint8_t sc_for(const uint8_t *v, size_t len, uint8_t am)
{
    size_t i = 1;
    if (len < 1 || !(v[0] & am))
        return ET_SC_NEVER;
    for (uint8_t bit = 0x40; bit != 0; bit >>= 1) {
        if (!(v[0] & bit))
            continue;
        if (i >= len)
            return ET_SC_NEVER;
        if (bit == am)
            return v[i];
        i++;
    }
    return ET_SC_NEVER;
}

bool et_ac_allows(const sim_ctx *ctx, const ks_node *n, uint8_t am)
{
    const sim_profile *p = ctx->card->profile;
    const uint8_t *v;
    size_t len;
    uint8_t sc;

    if (!sim_attr_get(n, 0x8C, &v, &len))
        return false;
    sc = sc_for(v, len, am);
    if (sc == ET_SC_ALWAYS)
        return true;
    if (sc == ET_SC_NEVER)
        return false;
    return ((sc & ET_SC_USER) && sim_pin_verified(ctx, p->user.ref)) ||
           ((sc & ET_SC_SO) && sim_pin_verified(ctx, p->so.ref));
}

size_t et_free_memory(const sim_ctx *ctx)
{
    size_t cap = ctx->card->profile->capacity, used = sim_img_used(ctx->img);
    return used < cap ? cap - used : 0;
}

/* ---- SELECT ------------------------------------------------------------------------ */

static bool fid_reserved(uint16_t fid)
{
    return fid == 0x0000 || fid == 0x3FFF || fid == ET_FID_SYSTEM;
}

static long child(const sim_ctx *ctx, const sim_path *dir, uint16_t fid)
{
    sim_path p = *dir;
    if (fid_reserved(fid) || !sim_path_append(&p, fid))
        return -1;
    return sim_img_find(ctx->img, &p, SIM_KIND_FILE);
}

/* Follow FIDs from the MF; every step but the last must be a DF. */
static long walk(const sim_ctx *ctx, const uint8_t *fids, size_t len)
{
    sim_path p;
    long idx = -1;
    sim_path_mf(&p);
    for (size_t i = 0; i + 1 < len; i += 2) {
        if (idx >= 0 && ctx->img->nodes[idx].type != SIM_NODE_DF)
            return -1;
        idx = child(ctx, &p, (uint16_t)(fids[i] << 8 | fids[i + 1]));
        if (idx < 0)
            return -1;
        sim_path_of(&ctx->img->nodes[idx], &p);
    }
    return idx;
}

static uint16_t put_fcp(sim_ctx *ctx, const ks_node *n)
{
    if (!vt_buf_append_byte(ctx->resp, 0x62) ||
        !vt_buf_append_byte(ctx->resp, (uint8_t)n->attrs_len) ||
        !vt_buf_append(ctx->resp, n->attrs, n->attrs_len))
        return APDU_SW_MEMORY_FAILURE;
    return APDU_SW_OK;
}

/* The applet: selecting it again starts from the MF with no security environment; the
 * PIN status stays (ours). */
static uint16_t select_applet(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    sim_path mf;
    if (c->p2 != 0x00 && c->p2 != 0x0C)
        return APDU_SW_WRONG_P1P2;
    if (c->nc == 0 || c->nc > 16)
        return APDU_SW_WRONG_LENGTH;
    if (c->nc != ET_AID_LEN || memcmp(c->data, et_aid, ET_AID_LEN) != 0)
        return APDU_SW_FILE_NOT_FOUND;
    sim_path_mf(&mf);
    ctx->conn->cur_df = mf;
    memset(&ctx->conn->cur_ef, 0, sizeof(ctx->conn->cur_ef));
    memset(&ctx->conn->mse_sign, 0, sizeof(ctx->conn->mse_sign));
    memset(&ctx->conn->mse_decipher, 0, sizeof(ctx->conn->mse_decipher));
    if (c->p2 == 0x0C || c->ne == 0)
        return APDU_SW_OK;
    uint8_t fci[] = {0x6F, 2 + ET_AID_LEN, 0x84, ET_AID_LEN};
    if (!vt_buf_append(ctx->resp, fci, sizeof(fci)) ||
        !vt_buf_append(ctx->resp, et_aid, ET_AID_LEN))
        return APDU_SW_MEMORY_FAILURE;
    return APDU_SW_OK;
}

/* 00 A4 P1 P2: P1 00 (FID; no data: the MF), 04 (the applet by AID), 08 (path from the
 * MF). P2 0C: no data; 00 or 04: the FCP, when the command has Le (the public tool
 * sends 08 04 without Le and expects a bare 9000). */
static uint16_t et_select(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    sim_path mf;
    long idx = -1;

    if (c->p1 == 0x04)
        return select_applet(ctx);
    if (c->p2 != 0x00 && c->p2 != 0x04 && c->p2 != 0x0C)
        return APDU_SW_WRONG_P1P2;
    sim_path_mf(&mf);
    switch (c->p1) {
    case 0x00:
        if (c->nc == 0 || (c->nc == 2 && c->data[0] == 0x3F && c->data[1] == 0x00)) {
            idx = sim_img_find(ctx->img, &mf, SIM_KIND_FILE);
        } else if (c->nc == 2) {
            if (sim_fs_cur_df(ctx) >= 0)
                idx = child(ctx, &ctx->conn->cur_df, (uint16_t)(c->data[0] << 8 | c->data[1]));
        } else {
            return APDU_SW_WRONG_LENGTH;
        }
        break;
    case 0x08:
        if (c->nc == 0 || c->nc % 2 != 0 || c->nc > SIM_MAX_PATH - 2)
            return APDU_SW_WRONG_LENGTH;
        idx = walk(ctx, c->data, c->nc);
        break;
    default:
        return APDU_SW_WRONG_P1P2;
    }
    if (idx < 0)
        return APDU_SW_FILE_NOT_FOUND;
    sim_fs_make_current(ctx, idx);
    if (c->p2 == 0x0C || c->ne == 0)
        return APDU_SW_OK;
    return put_fcp(ctx, &ctx->img->nodes[idx]);
}

/* ---- CREATE FILE ------------------------------------------------------------------- */

typedef struct fcp_in {
    const uint8_t *v[256];
    size_t len[256];
    bool has[256];
} fcp_in;

/* 62 L { one-byte tags with one-byte lengths }; 80, 82, 83, 8C only, once each. */
static bool parse_fcp(const uint8_t *d, size_t n, fcp_in *f)
{
    size_t i = 2;
    memset(f, 0, sizeof(*f));
    if (n < 2 || d[0] != 0x62 || d[1] > 0x7F || d[1] != n - 2)
        return false;
    while (i < n) {
        uint8_t tag = d[i];
        if (i + 2 > n || d[i + 1] > 0x7F || d[i + 1] > n - i - 2)
            return false;
        if ((tag != 0x80 && tag != 0x82 && tag != 0x83 && tag != 0x8C) || f->has[tag])
            return false;
        f->has[tag] = true;
        f->v[tag] = &d[i + 2];
        f->len[tag] = d[i + 1];
        i += 2 + d[i + 1];
    }
    return true;
}

/* The 8C of a new file: the host's (checked), or the defaults (docs). */
static bool creation_sec(const fcp_in *f, bool df, uint8_t out[8], size_t *len)
{
    static const uint8_t ef_def[] = {0x43, ET_SC_EITHER, ET_SC_EITHER, ET_SC_ALWAYS};
    static const uint8_t df_def[] = {0x47, ET_SC_EITHER, ET_SC_EITHER, ET_SC_EITHER, ET_SC_EITHER};
    size_t need = 1;
    if (!f->has[0x8C]) {
        *len = df ? sizeof(df_def) : sizeof(ef_def);
        memcpy(out, df ? df_def : ef_def, *len);
        return true;
    }
    if (f->len[0x8C] < 1 || f->len[0x8C] > 8 || (f->v[0x8C][0] & 0x80u))
        return false;
    for (uint8_t bit = 0x40; bit != 0; bit >>= 1)
        need += (f->v[0x8C][0] & bit) != 0;
    if (f->len[0x8C] != need)
        return false;
    for (size_t i = 1; i < need; i++)
        if (!et_sc_valid(f->v[0x8C][i]))
            return false;
    memcpy(out, f->v[0x8C], need);
    *len = need;
    return true;
}

/* 00 E0 00 00 Lc 62 {80 02 size, 82 01 (01|38), 83 02 FID, [8C AM SC...]}: an EF or DF
 * in the current DF, which needs its "create EF" / "create DF" condition. */
static uint16_t et_create_file(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    fcp_in f;
    uint8_t sec[8];
    size_t sec_len = 0, size = 0;
    vt_buf a = {0}, body = {0};
    sim_path p;
    ks_node n;
    long dfi;
    uint16_t fid, sw;
    bool df;

    if (c->p1 != 0 || c->p2 != 0)
        return APDU_SW_WRONG_P1P2;
    if (c->nc == 0)
        return APDU_SW_WRONG_LENGTH;
    if (!parse_fcp(c->data, c->nc, &f) || !f.has[0x82] || f.len[0x82] != 1 || !f.has[0x83] ||
        f.len[0x83] != 2)
        return APDU_SW_WRONG_DATA;
    if (f.v[0x82][0] != ET_FDB_EF && f.v[0x82][0] != ET_FDB_DF)
        return APDU_SW_FUNC_UNSUPPORTED; /* record EFs; key objects come from GENERATE */
    df = f.v[0x82][0] == ET_FDB_DF;
    if (df == f.has[0x80])
        return APDU_SW_WRONG_DATA; /* an EF has a size, a DF none */
    if (f.has[0x80]) {
        if (f.len[0x80] != 2)
            return APDU_SW_WRONG_DATA;
        size = (size_t)(f.v[0x80][0] << 8 | f.v[0x80][1]);
        if (size == 0 || size > ET_MAX_EF_SIZE)
            return APDU_SW_WRONG_DATA;
    }
    fid = (uint16_t)(f.v[0x83][0] << 8 | f.v[0x83][1]);
    if (fid_reserved(fid) || fid == SIM_FID_MF)
        return APDU_SW_WRONG_DATA;
    if (!creation_sec(&f, df, sec, &sec_len))
        return APDU_SW_WRONG_DATA;

    dfi = sim_fs_cur_df(ctx);
    if (dfi < 0)
        return APDU_SW_FILE_NOT_FOUND;
    p = ctx->conn->cur_df;
    /* key objects have their own FIDs in the applet DF */
    if (sim_path_last(&p) == ET_FID_APPLET && p.len == 4 && (fid & 0xFF00u) == 0x1000u)
        return APDU_SW_WRONG_DATA;
    if (child(ctx, &p, fid) >= 0)
        return APDU_SW_FILE_EXISTS;
    if (!sim_path_append(&p, fid))
        return APDU_SW_NOT_ENOUGH_MEMORY; /* too deep */
    if (!et_ac_allows(ctx, &ctx->img->nodes[dfi], df ? ET_AM_DF_CREATE_DF : ET_AM_DF_CREATE_EF))
        return APDU_SW_SECURITY_STATUS;
    if (sim_node_cost(size) > et_free_memory(ctx))
        return APDU_SW_NOT_ENOUGH_MEMORY;

    sw = APDU_SW_MEMORY_FAILURE;
    if (!et_build_attrs(&a, !df, size, df ? ET_FDB_DF : ET_FDB_EF, fid, NULL, 0, sec, sec_len))
        goto out;
    if (!df) {
        /* a transparent EF holds its size from the start, zero-filled */
        if (!vt_buf_reserve(&body, size))
            goto out;
        memset(body.data, 0, size);
        body.len = size;
    }
    memset(&n, 0, sizeof(n));
    memcpy(n.path, p.b, p.len);
    n.path_len = p.len;
    n.type = df ? SIM_NODE_DF : SIM_NODE_EF;
    n.attrs = a.data;
    n.attrs_len = a.len;
    n.counter = n.counter_max = -1;
    n.body = body.data;
    n.body_len = body.len;
    if (sim_img_add(ctx->img, &n) != SIM_OK)
        goto out;
    ctx->dirty = true;
    sim_fs_make_current(ctx, (long)ctx->img->nnodes - 1);
    sw = APDU_SW_OK;
out:
    vt_buf_free(&a);
    vt_buf_free(&body);
    return sw;
}

/* ---- DELETE FILE ------------------------------------------------------------------- */

static bool has_children(const ks_image *img, const sim_path *dir)
{
    for (size_t i = 0; i < img->nnodes; i++) {
        sim_path np;
        sim_path_of(&img->nodes[i], &np);
        if (sim_node_is_file(&img->nodes[i]) && np.len > dir->len && sim_path_within(&np, dir))
            return true;
    }
    return false;
}

/* 00 E4 00 00 [02 FID]: a child of the current DF, or without data the current EF. Key
 * objects go the same way. A DF must be empty (ours). */
static uint16_t et_delete_file(sim_ctx *ctx)
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
            return APDU_SW_NO_CURRENT_EF;
    } else {
        return APDU_SW_WRONG_LENGTH;
    }
    sim_path_of(&ctx->img->nodes[idx], &target);
    parent = target;
    if (!sim_path_up(&parent))
        return APDU_SW_CONDITIONS; /* the MF */
    if (!et_ac_allows(ctx, &ctx->img->nodes[idx], ET_AM_DELETE))
        return APDU_SW_SECURITY_STATUS;
    if (ctx->img->nodes[idx].type == SIM_NODE_DF && has_children(ctx->img, &target))
        return APDU_SW_CONDITIONS;
    if (sim_img_remove_tree(ctx->img, &target) != SIM_OK)
        return APDU_SW_MEMORY_FAILURE;
    ctx->dirty = true;
    if (sim_path_within(&ctx->conn->cur_df, &target))
        ctx->conn->cur_df = parent;
    sim_fs_revalidate(ctx->conn, ctx->img);
    return APDU_SW_OK;
}

/* ---- READ (80 18), UPDATE BINARY ----------------------------------------------------- */

/* The current EF for reading or writing, or a status word in *sw. */
static long binary_target(sim_ctx *ctx, uint8_t am, uint16_t *sw)
{
    long idx = sim_fs_cur_ef(ctx);
    if (idx < 0) {
        *sw = APDU_SW_NO_CURRENT_EF;
        return -1;
    }
    const ks_node *n = &ctx->img->nodes[idx];
    if (n->type != SIM_NODE_EF || et_fdb(n) != ET_FDB_EF) {
        *sw = APDU_SW_INCOMPATIBLE_FILE; /* key objects never leave */
        return -1;
    }
    if (!et_ac_allows(ctx, n, am)) {
        *sw = APDU_SW_SECURITY_STATUS;
        return -1;
    }
    return idx;
}

/* 80 18 00 00 04 0E 02 <off> Le (public): up to Le bytes of the current EF from the
 * offset; fewer at the end of the file, still with 9000 (the public tool accepts only
 * 9000 and reads a DER object by its length). */
static uint16_t et_read(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    uint16_t sw = APDU_SW_OK;
    size_t off;
    long idx;

    if (c->p1 != 0 || c->p2 != 0)
        return APDU_SW_WRONG_P1P2;
    if (c->nc != 4 || c->ne == 0)
        return APDU_SW_WRONG_LENGTH;
    if (c->data[0] != 0x0E || c->data[1] != 0x02)
        return APDU_SW_WRONG_DATA;
    off = (size_t)(c->data[2] << 8 | c->data[3]);
    idx = binary_target(ctx, ET_AM_EF_READ, &sw);
    if (idx < 0)
        return sw;
    return sim_fs_read_at(ctx, idx, off, false);
}

/* 00 D6 off_hi off_lo Lc data (ours: ISO UPDATE BINARY). */
static uint16_t et_update_binary(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    uint16_t sw = APDU_SW_OK;
    size_t off = (size_t)(c->p1 << 8 | c->p2);
    long idx;

    if (c->p1 & 0x80u)
        return APDU_SW_WRONG_P1P2; /* no short EF identifiers */
    if (c->nc == 0 || c->ne != 0)
        return APDU_SW_WRONG_LENGTH;
    idx = binary_target(ctx, ET_AM_EF_UPDATE, &sw);
    if (idx < 0)
        return sw;
    return sim_fs_update_at(ctx, idx, off);
}

/* ---- GET DATA, GET CHALLENGE --------------------------------------------------------- */

/* 80 CA 9F 7F: card production life cycle data as GlobalPlatform cards answer it, with
 * the serial number as the IC serial (bytes 13-16); 80 CA DF 01: object memory, total
 * and free, 4 bytes each (both ours). */
static uint16_t et_get_data(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    if (c->nc != 0 || c->ne == 0)
        return APDU_SW_WRONG_LENGTH;
    if (c->p1 == 0x9F && c->p2 == 0x7F) {
        uint8_t cplc[3 + 42] = {0x9F, 0x7F, 42};
        const ks_image *img = ctx->img;
        size_t n = img->serial_len < 4 ? img->serial_len : 4;
        memcpy(cplc + 3 + 12 + (4 - n), img->serial + img->serial_len - n, n);
        return vt_buf_append(ctx->resp, cplc, sizeof(cplc)) ? APDU_SW_OK : APDU_SW_MEMORY_FAILURE;
    }
    if (c->p1 == 0xDF && c->p2 == 0x01) {
        size_t total = ctx->card->profile->capacity, free_mem = et_free_memory(ctx);
        uint8_t m[] = {0xDF,
                       0x01,
                       8,
                       (uint8_t)(total >> 24),
                       (uint8_t)(total >> 16),
                       (uint8_t)(total >> 8),
                       (uint8_t)total,
                       (uint8_t)(free_mem >> 24),
                       (uint8_t)(free_mem >> 16),
                       (uint8_t)(free_mem >> 8),
                       (uint8_t)free_mem};
        return vt_buf_append(ctx->resp, m, sizeof(m)) ? APDU_SW_OK : APDU_SW_MEMORY_FAILURE;
    }
    return APDU_SW_REF_DATA_NOT_FOUND;
}

/* 80 17 00 00 Le (public, with Le 08). */
static uint16_t et_get_challenge(sim_ctx *ctx)
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

/* ---- the table ------------------------------------------------------------------------ */

static const sim_cmd et_cmds[] = {
    {0x00, 0xA4, 0, et_select, "SELECT"},
    {0x00, 0xE0, SIM_CMD_WRITES, et_create_file, "CREATE FILE"},
    {0x00, 0xE4, SIM_CMD_WRITES, et_delete_file, "DELETE FILE"},
    {0x80, 0x18, 0, et_read, "READ"},
    {0x00, 0xD6, SIM_CMD_WRITES, et_update_binary, "UPDATE BINARY"},
    {0x80, 0xCA, 0, et_get_data, "GET DATA"},
    {0x80, 0x17, 0, et_get_challenge, "GET CHALLENGE"},
    {0x00, 0x20, SIM_CMD_WRITES, et_verify, "VERIFY"},
    {0x00, 0x24, SIM_CMD_WRITES | SIM_CMD_CHAINING, et_change_reference_data,
     "CHANGE REFERENCE DATA"},
    {0x00, 0x2C, SIM_CMD_WRITES, et_reset_retry_counter, "RESET RETRY COUNTER"},
    {0x00, 0x22, 0, et_mse, "MANAGE SECURITY ENVIRONMENT"},
    {0x00, 0x2A, SIM_CMD_CHAINING, et_pso, "PERFORM SECURITY OPERATION"},
    {0x00, 0x47, SIM_CMD_WRITES, et_generate, "GENERATE ASYMMETRIC KEY PAIR"},
};

const sim_dialect sim_dialect_etoken = {
    .name = "etoken",
    .cmds = et_cmds,
    .ncmds = VT_ARRAY_LEN(et_cmds),
    .max_chain = 1024,
    .extended_apdus = false,
    .format = et_format_card,
};
