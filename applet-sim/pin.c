/* PIN objects. The image holds salt || SHA-256(salt || PIN); a try is taken off the
 * counter and written to disk before the compare, so killing the process mid-VERIFY can
 * never give a try back; the compare is constant-time. */
#include "pin.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "fs.h"

static void pin_path(uint8_t ref, sim_path *p)
{
    sim_path_mf(p);
    sim_path_append(p, ref);
}

long sim_pin_find(const ks_image *img, uint8_t ref)
{
    sim_path p;
    pin_path(ref, &p);
    return sim_img_find(img, &p, SIM_KIND_PIN);
}

sim_status sim_pin_create(ks_image *img, uint8_t ref, const uint8_t *attrs, size_t attrs_len,
                          int tries)
{
    ks_node n;
    sim_path p;
    if (tries <= 0 || (attrs == NULL && attrs_len > 0))
        return SIM_ERR_ARGS;
    pin_path(ref, &p);
    memset(&n, 0, sizeof(n));
    memcpy(n.path, p.b, p.len);
    n.path_len = p.len;
    n.type = SIM_NODE_PIN;
    n.secret = true;
    n.attrs = (uint8_t *)attrs;
    n.attrs_len = attrs_len;
    n.counter = tries;
    n.counter_max = tries;
    return sim_img_add(img, &n);
}

static bool pin_hash(const uint8_t *salt, const uint8_t *pin, size_t len,
                     uint8_t out[SIM_PIN_HASH_LEN])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int outlen = 0;
    bool ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(md, salt, SIM_PIN_SALT_LEN) == 1 &&
              (len == 0 || EVP_DigestUpdate(md, pin, len) == 1) &&
              EVP_DigestFinal_ex(md, out, &outlen) == 1 && outlen == SIM_PIN_HASH_LEN;
    EVP_MD_CTX_free(md);
    return ok;
}

sim_status sim_pin_set_value(ks_image *img, long idx, const uint8_t *pin, size_t len)
{
    uint8_t body[SIM_PIN_SALT_LEN + SIM_PIN_HASH_LEN];
    sim_status rv = SIM_ERR_NOMEM;
    if (idx < 0 || (size_t)idx >= img->nnodes || img->nodes[idx].type != SIM_NODE_PIN)
        return SIM_ERR_ARGS;
    if (RAND_bytes(body, SIM_PIN_SALT_LEN) != 1 ||
        !pin_hash(body, pin, len, body + SIM_PIN_SALT_LEN))
        goto out;
    rv = sim_img_set_body(img, (size_t)idx, body, sizeof(body));
    if (rv != SIM_OK)
        goto out;
    img->nodes[idx].counter = img->nodes[idx].counter_max;
out:
    vt_wipe(body, sizeof(body));
    return rv;
}

bool sim_pin_has_value(const ks_node *n)
{
    return n->type == SIM_NODE_PIN && n->body_len == SIM_PIN_SALT_LEN + SIM_PIN_HASH_LEN;
}

int sim_pin_tries(const ks_node *n)
{
    return n->counter > 0 ? n->counter : 0;
}

void sim_pin_unblock(ks_node *n)
{
    n->counter = n->counter_max;
}

sim_pin_result sim_pin_verify(sim_ctx *ctx, uint8_t ref, const uint8_t *pin, size_t len)
{
    uint8_t hash[SIM_PIN_HASH_LEN];
    sim_pin_result res = SIM_PIN_IO;
    long idx = sim_pin_find(ctx->img, ref);
    ks_node *n;
    bool match;

    sim_pin_forget(ctx->conn, ref);
    if (idx < 0)
        return SIM_PIN_NO_VALUE;
    n = &ctx->img->nodes[idx];
    if (!sim_pin_has_value(n))
        return SIM_PIN_NO_VALUE;
    if (n->counter <= 0)
        return SIM_PIN_BLOCKED;

    /* The try is on disk before we look at the PIN. */
    n->counter--;
    ctx->dirty = true;
    if (sim_ctx_save(ctx) != SIM_OK)
        goto out;

    n = &ctx->img->nodes[idx];
    if (!pin_hash(n->body, pin, len, hash))
        goto out;
    match = vt_ct_memcmp(hash, n->body + SIM_PIN_SALT_LEN, SIM_PIN_HASH_LEN) == 0;
    if (!match) {
        res = SIM_PIN_WRONG;
        goto out;
    }
    n->counter = n->counter_max;
    ctx->dirty = true;
    if (sim_ctx_save(ctx) != SIM_OK)
        goto out;
    sim_pin_remember(ctx, ref, idx);
    res = SIM_PIN_OK;
out:
    vt_wipe(hash, sizeof(hash));
    return res;
}

static sim_auth *auth_of(sim_conn *conn, uint8_t ref)
{
    sim_sec *sec = conn->sec;
    for (size_t i = 0; i < sec->nauth; i++)
        if (sec->auth[i].ref == ref)
            return &sec->auth[i];
    return NULL;
}

bool sim_pin_verified(const sim_ctx *ctx, uint8_t ref)
{
    const sim_auth *a = auth_of(ctx->conn, ref);
    long idx;
    if (a == NULL)
        return false;
    idx = sim_pin_find(ctx->img, ref);
    if (idx < 0 || !sim_pin_has_value(&ctx->img->nodes[idx]))
        return false;
    return memcmp(ctx->img->nodes[idx].body, a->salt, SIM_PIN_SALT_LEN) == 0;
}

bool sim_pin_other_verified(const sim_ctx *ctx, uint8_t ref)
{
    const sim_sec *sec = ctx->conn->sec;
    for (size_t i = 0; i < sec->nauth; i++)
        if (sec->auth[i].ref != ref && sim_pin_verified(ctx, sec->auth[i].ref))
            return true;
    return false;
}

void sim_pin_remember(sim_ctx *ctx, uint8_t ref, long idx)
{
    sim_conn *conn = ctx->conn;
    sim_auth *a = auth_of(conn, ref);
    if (idx < 0 || !sim_pin_has_value(&ctx->img->nodes[idx]))
        return;
    if (a == NULL) {
        if (conn->sec->nauth >= SIM_MAX_AUTH)
            return;
        a = &conn->sec->auth[conn->sec->nauth++];
    }
    a->ref = ref;
    memcpy(a->salt, ctx->img->nodes[idx].body, SIM_PIN_SALT_LEN);
}

void sim_pin_forget(sim_conn *conn, uint8_t ref)
{
    sim_sec *sec = conn->sec;
    for (size_t i = 0; i < sec->nauth; i++) {
        if (sec->auth[i].ref != ref)
            continue;
        sec->auth[i] = sec->auth[sec->nauth - 1];
        vt_wipe(&sec->auth[sec->nauth - 1], sizeof(sec->auth[0]));
        sec->nauth--;
        return;
    }
}

void sim_pin_forget_all(sim_conn *conn)
{
    vt_wipe(conn->sec, sizeof(*conn->sec));
}
