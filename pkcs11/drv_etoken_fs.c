/* The eToken driver, files and keys for the PKCS#15 layer: SELECT by path, the applet's
 * READ (80 18 with an offset object), UPDATE BINARY, CREATE and DELETE FILE behind the
 * p11_p15_fs callbacks, with the access rules each PKCS#15 file gets; and the key objects
 * 6666/10kk: GENERATE, import with CHANGE REFERENCE DATA, the public key from GENERATE
 * P1 81, removal with DELETE FILE. */
#include <string.h>

#include "drv_etoken.h"
#include "sw.h"

/* ---- files ---- */

CK_RV p11_et_select(et_token *k, const p11_p15_path *p, bool *found, size_t *size)
{
    vt_buf fcp = {0};
    uint16_t sw = 0;
    size_t i;
    CK_RV rv;

    *found = false;
    if (size)
        *size = 0;
    if (p->len < 2 || p->v[0] != 0x3F || p->v[1] != 0x00)
        return CKR_GENERAL_ERROR;
    if (p->len == 2)
        rv = p11_et_cmd(k, 0x00, 0xA4, 0x00, 0x04, p->v, 2, 256, 0, &fcp, &sw);
    else
        rv = p11_et_cmd(k, 0x00, 0xA4, 0x08, 0x04, p->v + 2, p->len - 2, 256, 0, &fcp, &sw);
    if (rv != CKR_OK || sw == APDU_SW_FILE_NOT_FOUND)
        goto out;
    rv = p11_et_sw_rv(sw);
    if (rv != CKR_OK)
        goto out;
    *found = true;
    /* 62 L { [80 02 size] 82 01 fdb 83 02 fid [8C ..] } */
    if (fcp.len < 2 || fcp.data[0] != 0x62 || fcp.data[1] + 2u != fcp.len) {
        rv = CKR_DEVICE_ERROR;
        goto out;
    }
    for (i = 2; i + 2 <= fcp.len;) {
        uint8_t tag = fcp.data[i], len = fcp.data[i + 1];
        if (i + 2 + len > fcp.len)
            break;
        if (tag == 0x80 && len == 2 && size)
            *size = (size_t)(fcp.data[i + 2] << 8 | fcp.data[i + 3]);
        i += 2u + len;
    }
out:
    vt_buf_free(&fcp);
    return rv;
}

static CK_RV fs_read(void *ctx, const p11_p15_path *p, vt_buf *out, bool *found)
{
    et_token *k = ctx;
    size_t size = 0, off = 0;
    CK_RV rv;

    vt_buf_clear(out);
    rv = p11_et_select(k, p, found, &size);
    if (rv != CKR_OK || !*found)
        return rv;
    while (off < size && rv == CKR_OK) {
        uint8_t o[4] = {0x0E, 0x02, (uint8_t)(off >> 8), (uint8_t)off};
        size_t before = out->len;
        rv = p11_et_cmd_ok(k, 0x80, 0x18, 0x00, 0x00, o, sizeof(o), 256, 0, out);
        if (rv == CKR_OK && out->len == before)
            rv = CKR_DEVICE_ERROR; /* the card said 9000 and gave nothing */
        off += out->len - before;
    }
    if (rv == CKR_OK && out->oom)
        rv = CKR_HOST_MEMORY;
    return rv;
}

/* Access rules of a new file, FCP tag 8C: AM 43 (delete, update, read), then one byte
 * each: 00 always, 01 user, 02 SO, 03 user or SO. Everything the application holds is
 * changed and deleted by the user or the SO (the SO wipes it in C_InitToken); private
 * data objects are read by the user only. */
static void role_sec(p11_p15_file_role role, uint8_t sec[4])
{
    sec[0] = 0x43;
    sec[1] = 0x03;
    sec[2] = 0x03;
    sec[3] = role == P11_P15_FILE_PRIVATE_EF ? 0x01 : 0x00;
}

static void parent_of(const p11_p15_path *p, p11_p15_path *parent)
{
    *parent = *p;
    parent->len -= 2;
}

/* CREATE FILE in the current DF: an EF of size bytes (df false) or a DF. */
static CK_RV create_file(et_token *k, uint16_t fid, bool df, size_t size, const uint8_t *sec,
                         size_t sec_len)
{
    uint8_t f[32];
    size_t n = 2;

    f[0] = 0x62;
    if (!df) {
        f[n++] = 0x80;
        f[n++] = 2;
        f[n++] = (uint8_t)(size >> 8);
        f[n++] = (uint8_t)size;
    }
    f[n++] = 0x82;
    f[n++] = 1;
    f[n++] = df ? 0x38 : 0x01;
    f[n++] = 0x83;
    f[n++] = 2;
    f[n++] = (uint8_t)(fid >> 8);
    f[n++] = (uint8_t)fid;
    f[n++] = 0x8C;
    f[n++] = (uint8_t)sec_len;
    memcpy(f + n, sec, sec_len);
    n += sec_len;
    f[1] = (uint8_t)(n - 2);
    k->writes++;
    return p11_et_cmd_ok(k, 0x00, 0xE0, 0x00, 0x00, f, n, 0, 0, NULL);
}

/* DELETE FILE of p: its parent selected, the FID as data. */
static CK_RV delete_path(et_token *k, const p11_p15_path *p)
{
    p11_p15_path parent;
    uint8_t fid[2] = {p->v[p->len - 2], p->v[p->len - 1]};
    uint16_t sw = 0;
    bool found = false;
    CK_RV rv;

    parent_of(p, &parent);
    rv = p11_et_select(k, &parent, &found, NULL);
    if (rv != CKR_OK || !found)
        return rv;
    k->writes++;
    rv = p11_et_cmd(k, 0x00, 0xE4, 0x00, 0x00, fid, 2, 0, 0, NULL, &sw);
    if (rv == CKR_OK && sw != APDU_SW_FILE_NOT_FOUND)
        rv = p11_et_sw_rv(sw);
    return rv;
}

static CK_RV fs_remove(void *ctx, const p11_p15_path *p)
{
    if (p->len < 4)
        return CKR_GENERAL_ERROR;
    return delete_path(ctx, p);
}

static CK_RV fs_write(void *ctx, const p11_p15_path *p, p11_p15_file_role role, size_t size,
                      const uint8_t *data, size_t len)
{
    et_token *k = ctx;
    p11_p15_path parent;
    uint8_t sec[4];
    size_t have = 0, off;
    bool found = false;
    vt_buf body = {0};
    CK_RV rv;

    if (p->len < 4)
        return CKR_GENERAL_ERROR;
    if (len > 0x7FFF)
        return CKR_DEVICE_MEMORY;
    if (size < len)
        size = len;
    if (size > 0x7FFF)
        size = 0x7FFF;
    if (size == 0)
        size = 1; /* the card has no empty EFs */
    rv = p11_et_select(k, p, &found, &have);
    if (rv == CKR_OK && found && have < len) {
        /* too small: make room, as a card with fixed-size EFs needs */
        rv = delete_path(k, p);
        found = false;
    }
    if (rv == CKR_OK && !found) {
        parent_of(p, &parent);
        rv = p11_et_select(k, &parent, &found, NULL);
        if (rv == CKR_OK && !found)
            rv = CKR_DEVICE_ERROR;
        role_sec(role, sec);
        if (rv == CKR_OK)
            rv = create_file(k, p11_p15_path_last_fid(p), false, size, sec, sizeof(sec));
        have = size; /* the new EF is the current one */
    }
    if (rv != CKR_OK)
        return rv;
    /* the content, then zeros to the end: a shorter DF must not keep stale entries */
    if (!vt_buf_reserve(&body, have))
        return CKR_HOST_MEMORY;
    memset(body.data, 0, have);
    if (len)
        memcpy(body.data, data, len);
    body.len = have;
    k->writes++;
    for (off = 0; off < body.len && rv == CKR_OK; off += 255) {
        size_t n = body.len - off > 255 ? 255 : body.len - off;
        rv = p11_et_cmd_ok(
            k, 0x00, 0xD6, (uint8_t)(off >> 8), (uint8_t)off, body.data + off, n, 0,
            APDU_X_NO_CHAINING | (role == P11_P15_FILE_PRIVATE_EF ? APDU_X_SENSITIVE : 0), NULL);
    }
    vt_buf_free(&body);
    return rv;
}

static CK_RV fs_create_df(void *ctx, const p11_p15_path *p)
{
    /* delete, create DF, create EF, delete child: user or SO */
    static const uint8_t sec[] = {0x47, 0x03, 0x03, 0x03, 0x03};
    et_token *k = ctx;
    p11_p15_path parent;
    bool found = false;
    CK_RV rv;

    if (p->len < 4)
        return CKR_GENERAL_ERROR;
    rv = p11_et_select(k, p, &found, NULL);
    if (rv != CKR_OK || found)
        return rv; /* the applet's DF 6666 is there from the factory */
    parent_of(p, &parent);
    rv = p11_et_select(k, &parent, &found, NULL);
    if (rv == CKR_OK && !found)
        rv = CKR_DEVICE_ERROR;
    if (rv == CKR_OK)
        rv = create_file(k, p11_p15_path_last_fid(p), true, 0, sec, sizeof(sec));
    return rv;
}

void p11_et_fs_bind(et_token *k)
{
    k->obj.fs.ctx = k;
    k->obj.fs.read = fs_read;
    k->obj.fs.write = fs_write;
    k->obj.fs.remove = fs_remove;
    k->obj.fs.create_df = fs_create_df;
}

/* ---- key objects ---- */

static void key_path(void *ctx, long ref, p11_p15_path *out)
{
    static const uint8_t applet[] = {0x3F, 0x00, 0x66, 0x66};
    (void)ctx;
    p11_p15_path_set(out, applet, sizeof(applet));
    p11_p15_path_append(out, (uint16_t)(0x1000 | (ref & 0xFF)));
}

/* The key object comes with GENERATE or the import: nothing to prepare. */
static CK_RV keys_create(void *ctx, long ref, CK_ULONG bits)
{
    (void)ctx;
    if (ref < 1 || ref > ET_KEY_REF_MAX)
        return CKR_DEVICE_MEMORY;
    return bits == 1024 || bits == 2048 ? CKR_OK : CKR_KEY_SIZE_RANGE;
}

static bool put_tlv(vt_buf *b, uint8_t tag, const vt_buf *v)
{
    vt_buf_append_byte(b, tag);
    if (v->len > 0x7F)
        vt_buf_append_byte(b, 0x81);
    vt_buf_append_byte(b, (uint8_t)v->len);
    return vt_buf_append(b, v->data, v->len);
}

/* CHANGE REFERENCE DATA 00 24 01 8k: 91 e, 92 p, 93 q, 94 qinv, 95 dp, 96 dq. */
static CK_RV keys_store(void *ctx, long ref, const p11_p15_rsa *key)
{
    et_token *k = ctx;
    size_t half = key->n.len / 2;
    vt_buf d = {0}, p = {0}, q = {0};
    CK_RV rv = CKR_HOST_MEMORY;

    if (key->p.len > half || key->q.len > half || key->e.len > 0x7F)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    /* p and q at their full half length, as the card wants them */
    if (!vt_buf_reserve(&p, half) || !vt_buf_reserve(&q, half))
        goto out;
    memset(p.data, 0, half);
    memset(q.data, 0, half);
    memcpy(p.data + half - key->p.len, key->p.data, key->p.len);
    memcpy(q.data + half - key->q.len, key->q.data, key->q.len);
    p.len = q.len = half;
    put_tlv(&d, 0x91, &key->e);
    put_tlv(&d, 0x92, &p);
    put_tlv(&d, 0x93, &q);
    put_tlv(&d, 0x94, &key->qinv);
    put_tlv(&d, 0x95, &key->dp);
    put_tlv(&d, 0x96, &key->dq);
    if (d.oom)
        goto out;
    k->writes++;
    rv = p11_et_cmd_ok(k, 0x00, 0x24, 0x01, (uint8_t)(0x80 | ref), d.data, d.len, 0,
                       APDU_X_SENSITIVE, NULL);
    if (rv == CKR_DATA_INVALID)
        rv = CKR_ATTRIBUTE_VALUE_INVALID; /* parts that make no RSA key */
out:
    vt_buf_free(&d);
    vt_buf_free(&p);
    vt_buf_free(&q);
    return rv;
}

/* 7F49 82 LL LL { 81 [82 LL LL | 81 LL | LL] n, 82 LL e } */
static CK_RV parse_public(const vt_buf *r, vt_buf *n, vt_buf *e)
{
    const uint8_t *d = r->data;
    size_t len = r->len, i = 0;

    if (len < 5 || d[0] != 0x7F || d[1] != 0x49 || d[2] != 0x82 ||
        (size_t)(d[3] << 8 | d[4]) != len - 5)
        return CKR_DEVICE_ERROR;
    i = 5;
    while (i < len) {
        uint8_t tag = d[i];
        size_t l;
        if (i + 2 > len)
            return CKR_DEVICE_ERROR;
        l = d[i + 1];
        i += 2;
        if (l == 0x82) {
            if (i + 2 > len)
                return CKR_DEVICE_ERROR;
            l = (size_t)(d[i] << 8 | d[i + 1]);
            i += 2;
        } else if (l == 0x81) {
            if (i + 1 > len)
                return CKR_DEVICE_ERROR;
            l = d[i++];
        }
        if (l > len - i || (tag != 0x81 && tag != 0x82))
            return CKR_DEVICE_ERROR;
        if (!vt_buf_append(tag == 0x81 ? n : e, d + i, l))
            return CKR_HOST_MEMORY;
        i += l;
    }
    return n->len && e->len ? CKR_OK : CKR_DEVICE_ERROR;
}

static CK_RV public_cmd(et_token *k, uint8_t p1, long ref, CK_ULONG bits, vt_buf *n, vt_buf *e)
{
    uint8_t crt[8] = {0xB6, 0x03, 0x84, 0x01, (uint8_t)ref};
    size_t crt_len = 5;
    vt_buf r = {0};
    CK_RV rv;

    if (p1 == 0x80) {
        crt[1] = 0x06;
        crt[5] = 0x80;
        crt[6] = 0x01;
        crt[7] = bits == 1024 ? 0x01 : 0x02;
        crt_len = 8;
        k->writes++;
    }
    vt_buf_clear(n);
    vt_buf_clear(e);
    rv = p11_et_cmd_ok(k, 0x00, 0x47, p1, 0x00, crt, crt_len, 256, 0, &r);
    if (rv == CKR_OK)
        rv = parse_public(&r, n, e);
    vt_buf_free(&r);
    return rv;
}

static CK_RV keys_generate(void *ctx, long ref, CK_ULONG bits, vt_buf *n, vt_buf *e)
{
    if (bits != 1024 && bits != 2048)
        return CKR_KEY_SIZE_RANGE;
    return public_cmd(ctx, 0x80, ref, bits, n, e);
}

static CK_RV keys_read_public(void *ctx, long ref, vt_buf *n, vt_buf *e)
{
    return public_cmd(ctx, 0x81, ref, 0, n, e);
}

static CK_RV keys_remove(void *ctx, long ref)
{
    p11_p15_path p;

    key_path(ctx, ref, &p);
    return delete_path(ctx, &p);
}

const p11_p15_keys p11_et_keys = {
    .ref_max = ET_KEY_REF_MAX,
    .path = key_path,
    .create = keys_create,
    .store = keys_store,
    .generate = keys_generate,
    .remove = keys_remove,
    .read_public = keys_read_public,
};
