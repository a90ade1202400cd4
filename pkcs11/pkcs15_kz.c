/* The Kaztoken's key storage for the PKCS#15 token objects: the key files of a key
 * reference (created with CREATE FILE, as rtecp_create_key does), their bodies in the
 * records rtecp_store_key writes, and on-card generation (00 46 80 ref). */
#include <string.h>

#include "pkcs15_kz.h"

/* The private key record rtecp_store_key writes: p, q, qInv, dP, dQ, each half the
 * modulus long and little-endian, with 4 zero bytes after p and after q. */
static CK_RV private_body(const p11_p15_rsa *key, size_t half, vt_buf *body)
{
    /* offset = off_h * half + off_b */
    const struct {
        const vt_buf *v;
        size_t off_h, off_b;
    } parts[] = {
        {&key->p, 0, 0}, {&key->q, 1, 4}, {&key->qinv, 2, 8}, {&key->dp, 3, 8}, {&key->dq, 4, 8}};
    size_t i, j;

    if (!vt_buf_reserve(body, 5 * half + 8))
        return CKR_HOST_MEMORY;
    memset(body->data, 0, 5 * half + 8);
    body->len = 5 * half + 8;
    for (i = 0; i < VT_ARRAY_LEN(parts); i++) {
        size_t at = parts[i].off_h * half + parts[i].off_b;
        if (parts[i].v->len > half)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        for (j = 0; j < parts[i].v->len; j++)
            body->data[at + j] = parts[i].v->data[parts[i].v->len - 1 - j];
    }
    return CKR_OK;
}

static CK_RV put_public_body(kz_token *k, long ref, size_t half, const vt_buf *n, const vt_buf *e)
{
    vt_buf body = {0};
    size_t j;
    CK_RV rv;

    if (!vt_buf_reserve(&body, 3 * half))
        return CKR_HOST_MEMORY;
    memset(body.data, 0, 3 * half);
    body.len = 3 * half;
    for (j = 0; j < n->len; j++)
        body.data[j] = n->data[n->len - 1 - j];
    for (j = 0; j < e->len; j++)
        body.data[2 * half + j] = e->data[e->len - 1 - j];
    rv = p11_kz_put_key_body(k, ref, false, body.data, body.len);
    vt_buf_free(&body);
    return rv;
}

static CK_RV kz_keys_create(void *ctx, long ref, CK_ULONG bits)
{
    return p11_kz_create_key_files(ctx, ref, bits);
}

static CK_RV kz_keys_store(void *ctx, long ref, const p11_p15_rsa *key)
{
    kz_token *k = ctx;
    size_t half = key->n.len / 2;
    vt_buf body = {0};
    CK_RV rv = private_body(key, half, &body);

    if (rv == CKR_OK)
        rv = p11_kz_put_key_body(k, ref, true, body.data, body.len);
    if (rv == CKR_OK)
        rv = put_public_body(k, ref, half, &key->n, &key->e);
    vt_buf_free(&body);
    return rv;
}

/* 00 46 80 ref: the card answers the modulus, little-endian; e is 65537. */
static CK_RV kz_keys_generate(void *ctx, long ref, CK_ULONG bits, vt_buf *n, vt_buf *e)
{
    static const uint8_t f4[] = {0x01, 0x00, 0x01};
    kz_token *k = ctx;
    vt_buf r = {0};
    size_t j;
    CK_RV rv;

    k->writes++;
    rv = p11_kz_cmd_ok(k, 0x00, 0x46, 0x80, (uint8_t)ref, NULL, 0, 256, 0, &r);
    if (rv == CKR_OK && r.len != bits / 8)
        rv = CKR_DEVICE_ERROR;
    for (j = 0; rv == CKR_OK && j < r.len; j++)
        vt_buf_append_byte(n, r.data[r.len - 1 - j]);
    if (rv == CKR_OK)
        vt_buf_append(e, f4, sizeof(f4));
    if (rv == CKR_OK && (n->oom || e->oom))
        rv = CKR_HOST_MEMORY;
    vt_buf_free(&r);
    return rv;
}

static CK_RV kz_keys_remove(void *ctx, long ref)
{
    return p11_kz_delete_key_files(ctx, ref);
}

static void kz_keys_path(void *ctx, long ref, p11_p15_path *out)
{
    (void)ctx;
    p11_kz_key_path(ref, true, out);
}

/* The public key object of ref: modulus (2L bytes) then exponent (L bytes), both
 * little-endian, as GENERATE and rtecp_store_key leave it; it needs no PIN to read. */
static CK_RV kz_keys_read_public(void *ctx, long ref, vt_buf *n, vt_buf *e)
{
    kz_token *k = ctx;
    p11_p15_path p;
    vt_buf body = {0};
    bool found = false;
    size_t half, j, len;
    CK_RV rv;

    vt_buf_clear(n);
    vt_buf_clear(e);
    p11_kz_key_path(ref, false, &p);
    rv = k->obj.fs.read(k->obj.fs.ctx, &p, &body, &found);
    if (rv == CKR_OK && (!found || body.len == 0 || body.len % 3 != 0))
        rv = CKR_KEY_HANDLE_INVALID;
    if (rv != CKR_OK)
        goto out;
    half = body.len / 3;
    /* big-endian, without leading zeros */
    for (len = 2 * half; len > 1 && body.data[len - 1] == 0; len--)
        ;
    for (j = 0; j < len; j++)
        vt_buf_append_byte(n, body.data[len - 1 - j]);
    for (len = half; len > 1 && body.data[2 * half + len - 1] == 0; len--)
        ;
    for (j = 0; j < len; j++)
        vt_buf_append_byte(e, body.data[2 * half + len - 1 - j]);
    if (n->oom || e->oom)
        rv = CKR_HOST_MEMORY;
    else if (n->len < 2 * half - 1 || (e->len == 1 && e->data[0] == 0))
        rv = CKR_KEY_HANDLE_INVALID; /* an empty key object: nothing stored yet */
out:
    vt_buf_free(&body);
    return rv;
}

const p11_p15_keys p11_kz_keys = {
    .ref_max = 0xFF,
    .create = kz_keys_create,
    .store = kz_keys_store,
    .generate = kz_keys_generate,
    .remove = kz_keys_remove,
    .path = kz_keys_path,
    .read_public = kz_keys_read_public,
};
