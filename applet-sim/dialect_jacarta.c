/* The JaCarta dialect: the Laser PKI applet as OpenSC's jacartapki driver (PR #3423) speaks
 * it. This file: the command table, access rules, FCPs and the file commands (SELECT,
 * CREATE/DELETE FILE, READ/UPDATE BINARY, GET CAPABILITY, GET CHALLENGE). PINs, keys and
 * PSO: dialect_jacarta_sec.c; the factory card: dialect_jacarta_format.c. */
#include "dialect_jacarta.h"

#include <openssl/rand.h>
#include <string.h>

#include "fs.h"
#include "pin.h"
#include "tlv.h"

const uint8_t jc_laser_aid[12] = {0xA0, 0x00, 0x00, 0x01, 0x64, 0x4C,
                                  0x41, 0x53, 0x45, 0x52, 0x00, 0x01};

/* GET CAPABILITY answers (tags 0180 and 0188 are public, their contents ours). */
static const uint8_t cap_crypto[3] = {0x01, 0x00, 0x03};           /* RSA; PKCS#1 and raw */
static const uint8_t cap_keys[5] = {0x03, 0x00, 0x00, 0x00, 0x00}; /* RSA 1024 and 2048 */

/* ---- attributes and access rules ----------------------------------------------- */

bool jc_build_attrs(vt_buf *a, uint16_t fid, size_t size, uint8_t fdb, const void *name,
                    size_t name_len, const uint8_t *prop, size_t prop_len, const uint8_t *ac,
                    size_t ac_len)
{
    uint8_t hdr[] = {0x83,
                     2,
                     (uint8_t)(fid >> 8),
                     (uint8_t)fid,
                     0x80,
                     2,
                     (uint8_t)(size >> 8),
                     (uint8_t)size,
                     0x82,
                     1,
                     fdb,
                     0x87,
                     1,
                     fdb};
    vt_buf_append(a, hdr, sizeof(hdr));
    if (name_len > 0) {
        vt_buf_append_byte(a, 0x84);
        vt_buf_append_byte(a, (uint8_t)name_len);
        vt_buf_append(a, name, name_len);
    }
    if (prop_len > 0) {
        vt_buf_append_byte(a, 0xA5);
        vt_buf_append_byte(a, (uint8_t)prop_len);
        vt_buf_append(a, prop, prop_len);
    }
    vt_buf_append_byte(a, 0x86);
    vt_buf_append_byte(a, (uint8_t)ac_len);
    return vt_buf_append(a, ac, ac_len);
}

size_t jc_ops_of(const ks_node *n)
{
    switch (n->type) {
    case SIM_NODE_DF:
        return JC_DF_OPS;
    case SIM_NODE_EF:
        return JC_EF_OPS;
    default:
        return JC_KO_OPS;
    }
}

uint8_t jc_prop(const ks_node *n, size_t i)
{
    const uint8_t *v;
    size_t len;
    if (!sim_attr_get(n, 0xA5, &v, &len) || i >= len)
        return 0;
    return v[i];
}

bool jc_ac_allows(const sim_ctx *ctx, const ks_node *n, size_t op)
{
    const uint8_t *ac;
    size_t len;
    uint8_t hi, lo;

    if (!sim_attr_get(n, 0x86, &ac, &len) || len != 2 * jc_ops_of(n) || op >= jc_ops_of(n))
        return false;
    hi = ac[2 * op];
    lo = ac[2 * op + 1];
    if (hi != 0)
        return false; /* secure messaging: not emulated */
    if (lo == 0x00)
        return true;
    if (lo == 0xFF)
        return false;
    if (lo == JC_REF_SO_OR_USER) {
        const sim_profile *p = ctx->card->profile;
        return sim_pin_verified(ctx, p->so.ref) || sim_pin_verified(ctx, p->user.ref);
    }
    return sim_pin_verified(ctx, lo);
}

/* FCP template 62 of node n into ctx->resp: its attrs and the life cycle (operational,
 * activated). */
static uint16_t put_fcp(sim_ctx *ctx, const ks_node *n)
{
    static const uint8_t lcs[] = {0x8A, 0x01, 0x05};
    uint8_t len[APDU_TLV_MAX_LEN_BYTES + 1];
    size_t ll = apdu_len_write(n->attrs_len + sizeof(lcs), len);

    if (!vt_buf_append_byte(ctx->resp, 0x62) || !vt_buf_append(ctx->resp, len, ll) ||
        !vt_buf_append(ctx->resp, n->attrs, n->attrs_len) ||
        !vt_buf_append(ctx->resp, lcs, sizeof(lcs)))
        return APDU_SW_MEMORY_FAILURE;
    return APDU_SW_OK;
}

/* ---- SELECT --------------------------------------------------------------------- */

static long child(const sim_ctx *ctx, const sim_path *dir, uint16_t fid)
{
    sim_path p = *dir;
    if (!sim_path_append(&p, fid))
        return -1;
    return sim_img_find(ctx->img, &p, SIM_KIND_FILE | SIM_KIND_PIN);
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
        idx = sim_img_find(ctx->img, &p, SIM_KIND_FILE | SIM_KIND_PIN);
        if (idx < 0)
            return -1;
    }
    return idx;
}

/* P1 00: the MF, a child of the current DF, the current DF itself or its parent. */
static long select_fid(const sim_ctx *ctx, uint16_t fid)
{
    sim_path cur = ctx->conn->cur_df, parent = ctx->conn->cur_df, mf;
    long idx;
    sim_path_mf(&mf);
    if (fid == SIM_FID_MF)
        return sim_img_find(ctx->img, &mf, SIM_KIND_FILE);
    if (cur.len == 0)
        return -1;
    idx = child(ctx, &cur, fid);
    if (idx >= 0)
        return idx;
    if (sim_path_last(&cur) == fid)
        return sim_img_find(ctx->img, &cur, SIM_KIND_FILE);
    if (sim_path_up(&parent) && sim_path_last(&parent) == fid)
        return sim_img_find(ctx->img, &parent, SIM_KIND_FILE);
    return -1;
}

/* P1 04: a DF by name (tag 84); the Laser AID names the MF. */
static long select_name(const sim_ctx *ctx, const uint8_t *name, size_t len)
{
    for (size_t i = 0; i < ctx->img->nnodes; i++) {
        const ks_node *n = &ctx->img->nodes[i];
        const uint8_t *v;
        size_t vlen;
        if (n->type == SIM_NODE_DF && sim_attr_get(n, 0x84, &v, &vlen) && vlen == len &&
            memcmp(v, name, len) == 0)
            return (long)i;
    }
    return -1;
}

static uint16_t jc_select(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    long idx = -1;
    sim_path mf;

    if (c->p2 != 0x00 && c->p2 != 0x04 && c->p2 != 0x0C)
        return APDU_SW_WRONG_P1P2;
    sim_path_mf(&mf);
    switch (c->p1) {
    case 0x00:
        if (c->nc != 2)
            return APDU_SW_WRONG_LENGTH;
        idx = select_fid(ctx, (uint16_t)(c->data[0] << 8 | c->data[1]));
        break;
    case 0x03: {
        sim_path parent = ctx->conn->cur_df;
        if (c->nc != 0)
            return APDU_SW_WRONG_LENGTH;
        if (parent.len > 0 && sim_path_up(&parent))
            idx = sim_img_find(ctx->img, &parent, SIM_KIND_FILE);
        break;
    }
    case 0x04:
        if (c->nc == 0 || c->nc > 16)
            return APDU_SW_WRONG_LENGTH;
        idx = select_name(ctx, c->data, c->nc);
        break;
    case 0x08:
        /* Unlike ISO/IEC 7816-4, the path from the MF starts with 3F00. */
        if (c->nc < 2 || c->nc % 2 != 0 || c->nc > SIM_MAX_PATH)
            return APDU_SW_WRONG_LENGTH;
        if (c->data[0] == 0x3F && c->data[1] == 0x00)
            idx = c->nc == 2 ? sim_img_find(ctx->img, &mf, SIM_KIND_FILE)
                             : walk(ctx, &mf, c->data + 2, c->nc - 2);
        break;
    case 0x09:
        if (c->nc < 2 || c->nc % 2 != 0 || c->nc > SIM_MAX_PATH)
            return APDU_SW_WRONG_LENGTH;
        if (ctx->conn->cur_df.len > 0)
            idx = walk(ctx, &ctx->conn->cur_df, c->data, c->nc);
        break;
    default:
        return APDU_SW_WRONG_P1P2;
    }
    if (idx < 0)
        return APDU_SW_FILE_NOT_FOUND;
    sim_fs_make_current(ctx, idx);
    /* The applet answers the FCP whenever Le is there, even with P2 = 0C. */
    return c->ne > 0 ? put_fcp(ctx, &ctx->img->nodes[idx]) : APDU_SW_OK;
}

/* ---- CREATE FILE ---------------------------------------------------------------- */

typedef struct fcp_in {
    const uint8_t *v[256];
    size_t len[256];
    bool has[256];
} fcp_in;

/* 62 L { 8A, 83, 80, 84, A5, 86, then a KO's content 81 or 71 }: one level, each tag once. */
static bool parse_fcp(const uint8_t *d, size_t n, fcp_in *f)
{
    apdu_tlv t;
    apdu_tlv_iter it;
    size_t used = 0;
    apdu_status st;

    memset(f, 0, sizeof(*f));
    if (apdu_tlv_parse(d, n, &t, &used) != APDU_OK || t.tag != 0x62 || used != n)
        return false;
    apdu_tlv_iter_init(&it, t.value, t.len);
    while ((st = apdu_tlv_next(&it, &t)) == APDU_OK) {
        switch (t.tag) {
        case 0x8A:
        case 0x83:
        case 0x80:
        case 0x84:
        case 0xA5:
        case 0x86:
        case JC_TAG_PIN_VALUE:
        case JC_TAG_RSA_KO:
            break;
        default:
            return false;
        }
        if (f->has[t.tag])
            return false;
        f->has[t.tag] = true;
        f->v[t.tag] = t.value;
        f->len[t.tag] = t.len;
    }
    return st == APDU_ERR_TLV_END;
}

static uint16_t add_node(sim_ctx *ctx, const sim_path *p, uint32_t type, const vt_buf *attrs,
                         size_t body_len)
{
    vt_buf body = {0};
    ks_node n;
    uint16_t sw = APDU_SW_MEMORY_FAILURE;

    if (body_len > 0) {
        /* a transparent EF holds its declared size from the start, zero-filled */
        if (!vt_buf_reserve(&body, body_len))
            goto out;
        memset(body.data, 0, body_len);
        body.len = body_len;
    }
    memset(&n, 0, sizeof(n));
    memcpy(n.path, p->b, p->len);
    n.path_len = p->len;
    n.type = type;
    n.secret = type == SIM_NODE_PRIVKEY;
    n.attrs = attrs->data;
    n.attrs_len = attrs->len;
    n.counter = n.counter_max = -1;
    n.body = body.data;
    n.body_len = body.len;
    if (sim_img_add(ctx->img, &n) != SIM_OK)
        goto out;
    ctx->dirty = true;
    sim_fs_make_current(ctx, (long)ctx->img->nnodes - 1);
    sw = APDU_SW_OK;
out:
    vt_buf_free(&body);
    return sw;
}

/* The content of an RSA KO: 71 00 (private, filled later) or 71 { 90 e, 91 n }
 * (public). *type is the node type; *body the public part as stored. */
static uint16_t rsa_ko_content(const fcp_in *f, size_t size, uint32_t *type, const uint8_t **body,
                               size_t *body_len)
{
    apdu_tlv e, n;
    *type = SIM_NODE_PRIVKEY;
    *body = NULL;
    *body_len = 0;
    if (f->has[JC_TAG_PIN_VALUE])
        return APDU_SW_WRONG_DATA;
    if (!f->has[JC_TAG_RSA_KO] || f->len[JC_TAG_RSA_KO] == 0)
        return APDU_SW_OK;
    if (apdu_tlv_validate(f->v[JC_TAG_RSA_KO], f->len[JC_TAG_RSA_KO], 1) != APDU_OK ||
        apdu_tlv_find(f->v[JC_TAG_RSA_KO], f->len[JC_TAG_RSA_KO], 0x90, &e) != APDU_OK ||
        apdu_tlv_find(f->v[JC_TAG_RSA_KO], f->len[JC_TAG_RSA_KO], 0x91, &n) != APDU_OK ||
        e.len == 0 || e.len > 8 || n.len != size || n.value[0] == 0)
        return APDU_SW_WRONG_DATA;
    *type = SIM_NODE_PUBKEY;
    *body = f->v[JC_TAG_RSA_KO];
    *body_len = f->len[JC_TAG_RSA_KO];
    return APDU_SW_OK;
}

static uint16_t jc_create_file(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    const sim_profile *prof = ctx->card->profile;
    fcp_in f;
    size_t size = 0, ops, cost;
    uint32_t type;
    uint16_t fid, sw;
    const uint8_t *body = NULL;
    size_t body_len = 0;
    vt_buf attrs = {0};
    sim_path p;
    long dfi;

    if (c->p2 != 0 || (c->p1 != JC_FDB_EF && c->p1 != JC_FDB_DF && c->p1 != JC_FDB_KO))
        return APDU_SW_WRONG_P1P2;
    if (c->nc == 0)
        return APDU_SW_WRONG_LENGTH;
    type = c->p1 == JC_FDB_DF ? SIM_NODE_DF : c->p1 == JC_FDB_EF ? SIM_NODE_EF : SIM_NODE_PRIVKEY;
    ops = type == SIM_NODE_DF ? JC_DF_OPS : type == SIM_NODE_EF ? JC_EF_OPS : JC_KO_OPS;
    if (!parse_fcp(c->data, c->nc, &f) || !f.has[0x83] || f.len[0x83] != 2 || !f.has[0x86] ||
        f.len[0x86] != 2 * ops || (f.has[0x84] && (f.len[0x84] == 0 || f.len[0x84] > 16)) ||
        (f.has[0xA5] && f.len[0xA5] > JC_KO_PROP_MAX) || (f.has[0x8A] && f.len[0x8A] != 1))
        return APDU_SW_WRONG_DATA;
    if (f.has[0x80]) {
        if (f.len[0x80] < 1 || f.len[0x80] > 2)
            return APDU_SW_WRONG_DATA;
        size = f.len[0x80] == 1 ? f.v[0x80][0] : (size_t)(f.v[0x80][0] << 8 | f.v[0x80][1]);
    } else if (type != SIM_NODE_DF) {
        return APDU_SW_WRONG_DATA;
    }
    if (type == SIM_NODE_DF)
        size = 0;
    fid = (uint16_t)(f.v[0x83][0] << 8 | f.v[0x83][1]);
    if (fid == 0x0000 || fid == SIM_FID_MF || fid == 0x3FFF || fid == 0xFFFF)
        return APDU_SW_WRONG_DATA;
    if (type != SIM_NODE_PRIVKEY && (f.has[JC_TAG_PIN_VALUE] || f.has[JC_TAG_RSA_KO]))
        return APDU_SW_WRONG_DATA;
    if (type == SIM_NODE_EF && size > 0x7FFF)
        return APDU_SW_WRONG_DATA;
    if (type == SIM_NODE_PRIVKEY) {
        if (!f.has[0xA5] || f.len[0xA5] < JC_KO_PROP_MIN)
            return APDU_SW_WRONG_DATA;
        if (f.v[0xA5][2] == JC_KO_ALGO_PIN)
            return jc_create_pin(ctx, fid, f.v[0xA5], f.len[0xA5], f.v[0x86], f.len[0x86],
                                 f.has[JC_TAG_PIN_VALUE] ? f.v[JC_TAG_PIN_VALUE] : NULL,
                                 f.has[JC_TAG_PIN_VALUE] ? f.len[JC_TAG_PIN_VALUE] : 0);
        if (f.v[0xA5][2] != JC_KO_ALGO_RSA)
            return APDU_SW_FUNC_UNSUPPORTED; /* symmetric and EC keys */
        if (size == 512)
            return APDU_SW_FUNC_UNSUPPORTED; /* RSA 4096 is not offered */
        if (size != 128 && size != 256)
            return APDU_SW_WRONG_DATA;
        sw = rsa_ko_content(&f, size, &type, &body, &body_len);
        if (sw != APDU_SW_OK)
            return sw;
    }

    dfi = sim_fs_cur_df(ctx);
    if (dfi < 0 || ctx->img->nodes[dfi].type != SIM_NODE_DF)
        return APDU_SW_FILE_NOT_FOUND;
    if (!jc_ac_allows(ctx, &ctx->img->nodes[dfi],
                      type == SIM_NODE_DF ? JC_DF_CREATE_DF : JC_DF_CREATE))
        return APDU_SW_SECURITY_STATUS;
    if (child(ctx, &ctx->conn->cur_df, fid) >= 0)
        return APDU_SW_FILE_EXISTS;
    p = ctx->conn->cur_df;
    cost = sim_node_cost(type == SIM_NODE_DF ? 0 : size);
    if (!sim_path_append(&p, fid) || sim_img_used(ctx->img) + cost > prof->capacity)
        return APDU_SW_NOT_ENOUGH_MEMORY;
    if (!jc_build_attrs(&attrs, fid, size, c->p1, f.has[0x84] ? f.v[0x84] : NULL, f.len[0x84],
                        f.has[0xA5] ? f.v[0xA5] : NULL, f.len[0xA5], f.v[0x86], f.len[0x86])) {
        vt_buf_free(&attrs);
        return APDU_SW_MEMORY_FAILURE;
    }
    sw = add_node(ctx, &p, type, &attrs, type == SIM_NODE_EF ? size : 0);
    if (sw == APDU_SW_OK && body_len > 0) {
        sw = sim_img_set_body(ctx->img, ctx->img->nnodes - 1, body, body_len) == SIM_OK
                 ? APDU_SW_OK
                 : APDU_SW_MEMORY_FAILURE;
    }
    vt_buf_free(&attrs);
    return sw;
}

/* ---- DELETE FILE ---------------------------------------------------------------- */

/* 00 E4 P1 00: P1 00 the current EF (a PIN object too), 01 the current DF; or, with data,
 * the child of the current DF that FID names (P1 saying which kind it must be). */
static uint16_t jc_delete_file(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    sim_path target, parent;
    const ks_node *n;
    long idx;

    if (c->p2 != 0 || c->p1 > 1)
        return APDU_SW_WRONG_P1P2;
    if (c->nc == 2) {
        idx = child(ctx, &ctx->conn->cur_df, (uint16_t)(c->data[0] << 8 | c->data[1]));
        if (idx < 0 || (ctx->img->nodes[idx].type == SIM_NODE_DF) != (c->p1 == 1))
            return APDU_SW_FILE_NOT_FOUND;
    } else if (c->nc == 0) {
        idx = c->p1 == 1 ? sim_fs_cur_df(ctx) : sim_fs_cur_ef(ctx);
        if (idx < 0)
            return APDU_SW_NO_CURRENT_EF;
    } else {
        return APDU_SW_WRONG_LENGTH;
    }
    n = &ctx->img->nodes[idx];
    sim_path_of(n, &target);
    parent = target;
    if (!sim_path_up(&parent))
        return APDU_SW_CONDITIONS; /* the MF stays */
    if (!jc_ac_allows(ctx, n, n->type == SIM_NODE_DF ? JC_DF_DELETE : JC_EF_DELETE))
        return APDU_SW_SECURITY_STATUS;
    if (n->type == SIM_NODE_PIN) {
        uint8_t ref = (uint8_t)sim_path_last(&target);
        if (sim_img_remove(ctx->img, (size_t)idx) != SIM_OK)
            return APDU_SW_MEMORY_FAILURE;
        sim_pin_forget(ctx->conn, ref);
    } else if (sim_img_remove_tree(ctx->img, &target) != SIM_OK) {
        return APDU_SW_MEMORY_FAILURE;
    }
    ctx->dirty = true;
    if (sim_path_within(&ctx->conn->cur_df, &target))
        ctx->conn->cur_df = parent;
    sim_fs_revalidate(ctx->conn, ctx->img);
    return APDU_SW_OK;
}

/* ---- READ / UPDATE BINARY ------------------------------------------------------- */

/* The current EF for READ/UPDATE BINARY (a working EF: key objects are not read or
 * written this way), or -1 with the status word in *sw. */
static long binary_target(sim_ctx *ctx, size_t op, uint16_t *sw)
{
    long idx;
    if (ctx->cmd.p1 & 0x80u) {
        *sw = APDU_SW_WRONG_P1P2; /* no short EF identifiers; offsets are 15 bits */
        return -1;
    }
    idx = sim_fs_cur_ef(ctx);
    if (idx < 0) {
        *sw = APDU_SW_NO_CURRENT_EF;
        return -1;
    }
    if (ctx->img->nodes[idx].type != SIM_NODE_EF) {
        *sw = APDU_SW_INCOMPATIBLE_FILE;
        return -1;
    }
    if (!jc_ac_allows(ctx, &ctx->img->nodes[idx], op)) {
        *sw = APDU_SW_SECURITY_STATUS;
        return -1;
    }
    return idx;
}

static uint16_t jc_read_binary(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    uint16_t sw = APDU_SW_OK;
    size_t off = (size_t)(c->p1 << 8 | c->p2);
    long idx;

    if (c->nc != 0 || c->ne == 0)
        return APDU_SW_WRONG_LENGTH;
    idx = binary_target(ctx, JC_EF_READ, &sw);
    if (idx < 0)
        return sw;
    return sim_fs_read_at(ctx, idx, off, true);
}

static uint16_t jc_update_binary(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    uint16_t sw = APDU_SW_OK;
    size_t off = (size_t)(c->p1 << 8 | c->p2);
    long idx;

    if (c->nc == 0 || c->ne != 0)
        return APDU_SW_WRONG_LENGTH;
    idx = binary_target(ctx, JC_EF_WRITE, &sw);
    if (idx < 0)
        return sw;
    return sim_fs_update_at(ctx, idx, off);
}

/* ---- GET CAPABILITY, GET CHALLENGE ---------------------------------------------- */

static bool put_u32(vt_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return vt_buf_append(b, x, sizeof(x));
}

/* 80 CB tag_hi tag_lo Le: 0180 algorithms (3 bytes), 0188 key lengths (5 bytes), 0114
 * serial number (8 bytes), 0190 memory (ours: total, free, used, 4 bytes each). */
static uint16_t jc_get_capability(sim_ctx *ctx)
{
    const apdu_cmd *c = &ctx->cmd;
    uint16_t tag = (uint16_t)(c->p1 << 8 | c->p2);
    bool ok;

    if (c->nc != 0)
        return APDU_SW_WRONG_LENGTH;
    switch (tag) {
    case 0x0180:
        ok = vt_buf_append(ctx->resp, cap_crypto, sizeof(cap_crypto));
        break;
    case 0x0188:
        ok = vt_buf_append(ctx->resp, cap_keys, sizeof(cap_keys));
        break;
    case 0x0114:
        ok = vt_buf_append(ctx->resp, ctx->img->serial, ctx->img->serial_len);
        break;
    case 0x0190: {
        size_t cap = ctx->card->profile->capacity, used = sim_img_used(ctx->img);
        size_t left = used < cap ? cap - used : 0;
        ok = put_u32(ctx->resp, (uint32_t)cap) && put_u32(ctx->resp, (uint32_t)left) &&
             put_u32(ctx->resp, (uint32_t)used);
        break;
    }
    default:
        return APDU_SW_REF_DATA_NOT_FOUND;
    }
    return ok ? APDU_SW_OK : APDU_SW_MEMORY_FAILURE;
}

static uint16_t jc_get_challenge(sim_ctx *ctx)
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

/* ---- the table ------------------------------------------------------------------ */

static const sim_cmd jc_cmds[] = {
    {0x00, 0xA4, 0, jc_select, "SELECT"},
    {0x80, 0xA4, 0, jc_select, "SELECT"},
    {0x00, 0xE0, SIM_CMD_WRITES | SIM_CMD_CHAINING, jc_create_file, "CREATE FILE"},
    {0x00, 0xE4, SIM_CMD_WRITES, jc_delete_file, "DELETE FILE"},
    {0x00, 0xB0, 0, jc_read_binary, "READ BINARY"},
    {0x00, 0xD6, SIM_CMD_WRITES | SIM_CMD_CHAINING, jc_update_binary, "UPDATE BINARY"},
    {0x80, 0xCB, 0, jc_get_capability, "GET CAPABILITY"},
    {0x00, 0x84, 0, jc_get_challenge, "GET CHALLENGE"},
    {0x00, 0x20, SIM_CMD_WRITES, jc_verify, "VERIFY"},
    {0x80, 0x28, 0, jc_logout, "LOGOUT"},
    {0x80, 0x24, SIM_CMD_WRITES | SIM_CMD_CHAINING, jc_change_reference_data,
     "CHANGE REFERENCE DATA"},
    {0x80, 0x2C, SIM_CMD_WRITES, jc_reset_retry_counter, "RESET RETRY COUNTER"},
    {0x00, 0x47, SIM_CMD_WRITES | SIM_CMD_CHAINING, jc_generate, "GENERATE KEY PAIR"},
    {0x00, 0x2A, SIM_CMD_CHAINING, jc_pso, "PERFORM SECURITY OPERATION"},
};

const sim_dialect sim_dialect_jacarta = {
    .name = "jacarta",
    .cmds = jc_cmds,
    .ncmds = VT_ARRAY_LEN(jc_cmds),
    .max_chain = 4096,
    .extended_apdus = true,
    .format = jc_format_card,
};
