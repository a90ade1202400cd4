/* File system storage over the card image: paths, lookups, edits that keep secrets
 * wiped, FCP attribute access, capacity accounting and the current DF / EF. */
#include "fs.h"

#include <stdlib.h>
#include <string.h>

/* ---- paths ---------------------------------------------------------------------- */

void sim_path_set(sim_path *p, const uint8_t *bytes, size_t len)
{
    if (len > SIM_MAX_PATH)
        len = 0;
    memset(p, 0, sizeof(*p));
    if (len > 0)
        memcpy(p->b, bytes, len);
    p->len = len;
}

void sim_path_mf(sim_path *p)
{
    memset(p, 0, sizeof(*p));
    p->b[0] = 0x3F;
    p->b[1] = 0x00;
    p->len = 2;
}

bool sim_path_eq(const sim_path *a, const sim_path *b)
{
    return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

bool sim_path_append(sim_path *p, uint16_t fid)
{
    if (p->len + 2 > SIM_MAX_PATH)
        return false;
    p->b[p->len] = (uint8_t)(fid >> 8);
    p->b[p->len + 1] = (uint8_t)fid;
    p->len += 2;
    return true;
}

bool sim_path_up(sim_path *p)
{
    if (p->len <= 2)
        return false;
    p->len -= 2;
    p->b[p->len] = 0;
    p->b[p->len + 1] = 0;
    return true;
}

uint16_t sim_path_last(const sim_path *p)
{
    if (p->len < 2)
        return 0;
    return (uint16_t)(p->b[p->len - 2] << 8 | p->b[p->len - 1]);
}

bool sim_path_within(const sim_path *p, const sim_path *anc)
{
    return anc->len > 0 && p->len >= anc->len && memcmp(p->b, anc->b, anc->len) == 0;
}

void sim_path_of(const ks_node *n, sim_path *out)
{
    sim_path_set(out, n->path, n->path_len);
}

/* ---- nodes ---------------------------------------------------------------------- */

bool sim_node_is_file(const ks_node *n)
{
    return n->type == SIM_NODE_DF || n->type == SIM_NODE_EF || n->type == SIM_NODE_PRIVKEY ||
           n->type == SIM_NODE_PUBKEY;
}

static bool kind_matches(const ks_node *n, unsigned kinds)
{
    if ((kinds & SIM_KIND_FILE) && sim_node_is_file(n))
        return true;
    return (kinds & SIM_KIND_PIN) && n->type == SIM_NODE_PIN;
}

long sim_img_find(const ks_image *img, const sim_path *p, unsigned kinds)
{
    if (p->len == 0)
        return -1;
    for (size_t i = 0; i < img->nnodes; i++) {
        const ks_node *n = &img->nodes[i];
        if (n->path_len == p->len && memcmp(n->path, p->b, p->len) == 0 && kind_matches(n, kinds))
            return (long)i;
    }
    return -1;
}

sim_status sim_img_add(ks_image *img, const ks_node *n)
{
    return sim_from_ks(ks_image_add(img, n));
}

/* The keystore owns node memory and offers append and free only, so edits that change
 * a body's size or drop nodes rebuild the image from copies. Images are small. */
static sim_status rebuild(ks_image *img, const bool *keep, size_t replace_idx, const uint8_t *body,
                          size_t body_len)
{
    ks_image out;
    sim_status rv = SIM_OK;

    ks_image_init(&out);
    out.version = img->version;
    memcpy(out.profile, img->profile, sizeof(out.profile));
    memcpy(out.serial, img->serial, sizeof(out.serial));
    out.serial_len = img->serial_len;
    memcpy(out.label, img->label, sizeof(out.label));
    out.generation = img->generation;
    out.lifecycle = img->lifecycle;
    for (size_t i = 0; i < img->nnodes; i++) {
        ks_node n = img->nodes[i];
        if (keep != NULL && !keep[i])
            continue;
        if (i == replace_idx) {
            n.body = (uint8_t *)body;
            n.body_len = body_len;
        }
        rv = sim_img_add(&out, &n);
        if (rv != SIM_OK)
            goto out;
    }
    ks_image_free(img);
    *img = out;
    ks_image_init(&out);
out:
    ks_image_free(&out);
    return rv;
}

sim_status sim_img_set_body(ks_image *img, size_t idx, const uint8_t *body, size_t len)
{
    if (idx >= img->nnodes || (body == NULL && len > 0))
        return SIM_ERR_ARGS;
    ks_node *n = &img->nodes[idx];
    if (n->body_len == len) {
        if (len > 0)
            memcpy(n->body, body, len);
        return SIM_OK;
    }
    return rebuild(img, NULL, idx, body, len);
}

sim_status sim_img_remove_tree(ks_image *img, const sim_path *p)
{
    sim_status rv = SIM_OK;
    bool *keep;
    if (img->nnodes == 0)
        return SIM_OK;
    keep = calloc(img->nnodes, sizeof(*keep));
    if (keep == NULL)
        return SIM_ERR_NOMEM;
    for (size_t i = 0; i < img->nnodes; i++) {
        sim_path np;
        sim_path_of(&img->nodes[i], &np);
        keep[i] = !(sim_node_is_file(&img->nodes[i]) && sim_path_within(&np, p));
    }
    rv = rebuild(img, keep, (size_t)-1, NULL, 0);
    free(keep);
    return rv;
}

sim_status sim_img_remove(ks_image *img, size_t idx)
{
    sim_status rv;
    bool *keep;
    if (idx >= img->nnodes)
        return SIM_ERR_ARGS;
    keep = calloc(img->nnodes, sizeof(*keep));
    if (keep == NULL)
        return SIM_ERR_NOMEM;
    for (size_t i = 0; i < img->nnodes; i++)
        keep[i] = i != idx;
    rv = rebuild(img, keep, (size_t)-1, NULL, 0);
    free(keep);
    return rv;
}

void sim_img_clear(ks_image *img)
{
    ks_image keep = *img;
    keep.nodes = NULL;
    keep.nnodes = 0;
    ks_image_free(img);
    *img = keep;
}

bool sim_attr_get(const ks_node *n, uint8_t tag, const uint8_t **v, size_t *len)
{
    size_t i = 0;
    while (i + 2 <= n->attrs_len) {
        uint8_t t = n->attrs[i];
        size_t l = n->attrs[i + 1];
        if (l > n->attrs_len - i - 2)
            return false;
        if (t == tag) {
            *v = &n->attrs[i + 2];
            *len = l;
            return true;
        }
        i += 2 + l;
    }
    return false;
}

size_t sim_node_size(const ks_node *n)
{
    const uint8_t *v;
    size_t len;
    if (sim_attr_get(n, 0x80, &v, &len) && len >= 1 && len <= 2)
        return len == 1 ? v[0] : (size_t)(v[0] << 8 | v[1]);
    return n->body_len;
}

size_t sim_node_cost(size_t size)
{
    return SIM_NODE_OVERHEAD + size;
}

size_t sim_img_used(const ks_image *img)
{
    size_t used = 0;
    for (size_t i = 0; i < img->nnodes; i++) {
        const ks_node *n = &img->nodes[i];
        used +=
            sim_node_cost(n->type == SIM_NODE_DF || n->type == SIM_NODE_PIN ? 0 : sim_node_size(n));
    }
    return used;
}

/* ---- selection ------------------------------------------------------------------ */

void sim_fs_revalidate(sim_conn *conn, const ks_image *img)
{
    long df = sim_img_find(img, &conn->cur_df, SIM_KIND_FILE);
    if (df < 0 || img->nodes[df].type != SIM_NODE_DF) {
        sim_path mf;
        sim_path_mf(&mf);
        long m = sim_img_find(img, &mf, SIM_KIND_FILE);
        if (m >= 0)
            conn->cur_df = mf;
        else
            memset(&conn->cur_df, 0, sizeof(conn->cur_df));
        memset(&conn->cur_ef, 0, sizeof(conn->cur_ef));
        return;
    }
    if (conn->cur_ef.len > 0) {
        sim_path parent = conn->cur_ef;
        /* a dialect whose PINs are files (JaCarta) may have one selected */
        long ef = sim_img_find(img, &conn->cur_ef, SIM_KIND_FILE | SIM_KIND_PIN);
        if (ef < 0 || img->nodes[ef].type == SIM_NODE_DF || !sim_path_up(&parent) ||
            !sim_path_eq(&parent, &conn->cur_df))
            memset(&conn->cur_ef, 0, sizeof(conn->cur_ef));
    }
}

long sim_fs_cur_df(const sim_ctx *ctx)
{
    return sim_img_find(ctx->img, &ctx->conn->cur_df, SIM_KIND_FILE);
}

long sim_fs_cur_ef(const sim_ctx *ctx)
{
    if (ctx->conn->cur_ef.len == 0)
        return -1;
    return sim_img_find(ctx->img, &ctx->conn->cur_ef, SIM_KIND_FILE | SIM_KIND_PIN);
}

void sim_fs_make_current(sim_ctx *ctx, long idx)
{
    const ks_node *n = &ctx->img->nodes[idx];
    sim_path p;
    sim_path_of(n, &p);
    if (n->type == SIM_NODE_DF) {
        ctx->conn->cur_df = p;
        memset(&ctx->conn->cur_ef, 0, sizeof(ctx->conn->cur_ef));
    } else {
        ctx->conn->cur_ef = p;
        if (sim_path_up(&p))
            ctx->conn->cur_df = p;
    }
}

/* ---- transparent EF contents ------------------------------------------------------ */

uint16_t sim_fs_read_at(sim_ctx *ctx, long idx, size_t off, bool warn_eof)
{
    const ks_node *node = &ctx->img->nodes[idx];
    size_t n, ne = ctx->cmd.ne;

    if (off >= node->body_len)
        return APDU_SW_WRONG_P1P2_OFFSET;
    n = node->body_len - off;
    if (n > ne)
        n = ne;
    if (!vt_buf_append(ctx->resp, node->body + off, n))
        return APDU_SW_MEMORY_FAILURE;
    return warn_eof && n < ne ? APDU_SW_WARN_EOF : APDU_SW_OK;
}

uint16_t sim_fs_update_at(sim_ctx *ctx, long idx, size_t off)
{
    const apdu_cmd *c = &ctx->cmd;
    ks_node *node = &ctx->img->nodes[idx];

    if (off >= node->body_len)
        return APDU_SW_WRONG_P1P2_OFFSET;
    if (c->nc > node->body_len - off)
        return APDU_SW_WRONG_LENGTH;
    memcpy(node->body + off, c->data, c->nc);
    ctx->dirty = true;
    return APDU_SW_OK;
}
