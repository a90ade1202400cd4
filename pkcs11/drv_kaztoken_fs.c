/* The Kaztoken driver, files: SELECT by path, READ/UPDATE BINARY, CREATE and DELETE FILE
 * behind the p11_p15_fs callbacks, the access conditions each PKCS#15 file gets, and the
 * card's key objects (3F00/1000/1000/6001 and 6002) with their bodies. */
#include <string.h>

#include "drv_kaztoken.h"
#include "sw.h"

/* ---- files ---- */

/* SELECT by path from the MF, asking for the FCP (the Rutoken answers it always). */
CK_RV p11_kz_select(kz_token *k, const p11_p15_path *p, bool *found, size_t *size)
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
        rv = p11_kz_cmd(k, 0x00, 0xA4, 0x00, 0x00, p->v, 2, 256, 0, &fcp, &sw);
    else
        rv = p11_kz_cmd(k, 0x00, 0xA4, 0x08, 0x00, p->v + 2, p->len - 2, 256, 0, &fcp, &sw);
    if (rv != CKR_OK)
        goto out;
    if (sw == APDU_SW_FILE_NOT_FOUND)
        goto out;
    rv = p11_kz_sw_rv(sw);
    if (rv != CKR_OK)
        goto out;
    *found = true;
    /* 62 L { 80 02 size, 82 .., 83 02 fid, ... } */
    if (fcp.len < 2 || fcp.data[0] != 0x62 || fcp.data[1] + 2u > fcp.len) {
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
    kz_token *k = ctx;
    size_t size = 0, off = 0;
    CK_RV rv;

    vt_buf_clear(out);
    rv = p11_kz_select(k, p, found, &size);
    if (rv != CKR_OK || !*found)
        return rv;
    while (off < size && off <= 0x7FFF) {
        size_t want = size - off > 256 ? 256 : size - off, before = out->len;
        uint16_t sw = 0;
        rv = p11_kz_cmd(k, 0x00, 0xB0, (uint8_t)(off >> 8), (uint8_t)off, NULL, 0, want, 0, out,
                        &sw);
        if (rv != CKR_OK)
            return rv;
        if (sw != APDU_SW_OK && sw != APDU_SW_WARN_EOF)
            return p11_kz_sw_rv(sw);
        if (out->len == before)
            break;
        off += out->len - before;
    }
    return out->oom ? CKR_HOST_MEMORY : CKR_OK;
}

/* Access conditions per role: 00 free, 01 SO, 02 user, 03 either. Byte 0 says which
 * operations have one: read (byte 1), update (byte 2), delete (byte 7).
 *
 * An application C_InitToken writes (the card still in its initialisation state) gets
 * exactly what OpenSC's rutoken_ecp profile gives, as read back from a card pkcs15-init
 * personalised: EF(DIR) and the AODF updated and deleted by the SO, the ODF updated by
 * anyone and deleted by the SO, TokenInfo updated by anyone and deleted by the user, the
 * other directory files and object EFs the user's, private data read by the user only.
 *
 * A factory Kaztoken has no application, and its MF lets only the user create files, so
 * the first object the user writes creates the application with the user logged in.
 * EF(DIR) and the AODF then take "SO or user" (03) where the profile says SO: a file its
 * creator could not fill would be useless, and the SO keeps every right the profile gives
 * (C_InitToken writes the profile's own conditions). */
static void role_sec(const kz_token *k, p11_p15_file_role role, uint8_t sec[15])
{
    const uint8_t so = k->personalising ? 0x01 : 0x03;
    uint8_t rd = 0, up = 0x02, del = 0x02;

    switch (role) {
    case P11_P15_FILE_DIR:
    case P11_P15_FILE_AODF:
        up = del = so;
        break;
    case P11_P15_FILE_ODF:
        up = 0;
        del = so;
        break;
    case P11_P15_FILE_TOKENINFO:
        up = 0;
        break;
    case P11_P15_FILE_PRIVATE_EF:
        rd = 0x02;
        break;
    default:
        break;
    }
    memset(sec, 0, 15);
    sec[0] = 0x43; /* conditions for read (1), update (2) and delete (7) */
    sec[1] = rd;
    sec[2] = up;
    sec[7] = del;
}

static void parent_of(const p11_p15_path *p, p11_p15_path *parent)
{
    *parent = *p;
    parent->len -= 2;
}

CK_RV p11_kz_create_file(kz_token *k, uint16_t fid, const uint8_t fdb[2], size_t size,
                         const uint8_t *prop, size_t prop_len, const uint8_t sec[15])
{
    uint8_t f[64];
    size_t n = 2;

    f[0] = 0x6F;
    f[n++] = 0x80;
    f[n++] = 2;
    f[n++] = (uint8_t)(size >> 8);
    f[n++] = (uint8_t)size;
    f[n++] = 0x82;
    f[n++] = 2;
    f[n++] = fdb[0];
    f[n++] = fdb[1];
    f[n++] = 0x83;
    f[n++] = 2;
    f[n++] = (uint8_t)(fid >> 8);
    f[n++] = (uint8_t)fid;
    if (prop_len) {
        f[n++] = 0x85;
        f[n++] = (uint8_t)prop_len;
        memcpy(f + n, prop, prop_len);
        n += prop_len;
    }
    f[n++] = 0x86;
    f[n++] = 15;
    memcpy(f + n, sec, 15);
    n += 15;
    f[1] = (uint8_t)(n - 2);
    return p11_kz_cmd_ok(k, 0x00, 0xE0, 0x00, 0x00, f, n, 0, 0, NULL);
}

static CK_RV delete_selected(kz_token *k, const p11_p15_path *p)
{
    uint8_t fid[2] = {p->v[p->len - 2], p->v[p->len - 1]};

    /* selecting the file made its parent the current DF */
    return p11_kz_cmd_ok(k, 0x00, 0xE4, 0x00, 0x00, fid, 2, 0, 0, NULL);
}

static CK_RV fs_remove(void *ctx, const p11_p15_path *p)
{
    kz_token *k = ctx;
    bool found = false;
    CK_RV rv = p11_kz_select(k, p, &found, NULL);

    if (rv != CKR_OK || !found)
        return rv;
    k->writes++;
    return delete_selected(k, p);
}

static CK_RV fs_write(void *ctx, const p11_p15_path *p, p11_p15_file_role role, size_t size,
                      const uint8_t *data, size_t len)
{
    static const uint8_t ef[2] = {0x01, 0x00};
    kz_token *k = ctx;
    p11_p15_path parent;
    uint8_t sec[15];
    size_t have = 0, off;
    bool found = false;
    vt_buf body = {0};
    CK_RV rv;

    if (len > 0x7FFF)
        return CKR_DEVICE_MEMORY;
    if (size < len)
        size = len;
    k->writes++;
    rv = p11_kz_select(k, p, &found, &have);
    if (rv == CKR_OK && found && have < len) {
        /* too small: make room, as a card with fixed-size EFs needs */
        rv = delete_selected(k, p);
        found = false;
    }
    if (rv == CKR_OK && !found) {
        parent_of(p, &parent);
        rv = p11_kz_select(k, &parent, &found, NULL);
        if (rv == CKR_OK && !found)
            rv = CKR_DEVICE_ERROR;
        role_sec(k, role, sec);
        if (rv == CKR_OK)
            rv = p11_kz_create_file(k, p11_p15_path_last_fid(p), ef, size, NULL, 0, sec);
        if (rv == CKR_OK)
            rv = p11_kz_select(k, p, &found, &have);
        if (rv == CKR_OK && !found)
            rv = CKR_DEVICE_ERROR;
    }
    if (rv != CKR_OK)
        return rv;
    /* the content, then zeros to the end: a shorter DF must not keep stale entries */
    if (!vt_buf_reserve(&body, have ? have : 1))
        return CKR_HOST_MEMORY;
    memset(body.data, 0, have);
    if (len)
        memcpy(body.data, data, len);
    body.len = have;
    for (off = 0; off < body.len && rv == CKR_OK; off += 255) {
        size_t n = body.len - off > 255 ? 255 : body.len - off;
        rv = p11_kz_cmd_ok(k, 0x00, 0xD6, (uint8_t)(off >> 8), (uint8_t)off, body.data + off, n, 0,
                           APDU_X_NO_CHAINING, NULL);
    }
    vt_buf_free(&body);
    return rv;
}

static CK_RV fs_create_df(void *ctx, const p11_p15_path *p)
{
    static const uint8_t df[2] = {0x38, 0x00};
    kz_token *k = ctx;
    p11_p15_path parent;
    uint8_t sec[15] = {0x43, 0, 0, 0, 0, 0, 0, 0x02}; /* "*=NONE, DELETE=CHV2" */
    bool found = false;
    CK_RV rv;

    k->writes++;
    rv = p11_kz_select(k, p, &found, NULL);
    if (rv != CKR_OK || found)
        return rv;
    parent_of(p, &parent);
    rv = p11_kz_select(k, &parent, &found, NULL);
    if (rv == CKR_OK && !found)
        rv = CKR_DEVICE_ERROR;
    if (rv == CKR_OK)
        rv = p11_kz_create_file(k, p11_p15_path_last_fid(p), df, 0, NULL, 0, sec);
    return rv;
}

/* ---- key objects ---- */

void p11_kz_key_path(long ref, bool private_part, p11_p15_path *out)
{
    static const uint8_t base[] = {0x3F, 0x00, 0x10, 0x00, 0x10, 0x00};

    p11_p15_path_set(out, base, sizeof(base));
    p11_p15_path_append(out, private_part ? 0x6002 : 0x6001);
    p11_p15_path_append(out, (uint16_t)ref);
}

CK_RV p11_kz_create_key_files(kz_token *k, long ref, CK_ULONG bits)
{
    static const uint8_t obj[2] = {0x10, 0x00};
    /*                         kind  -  -  tries -  - */
    static const uint8_t prv_prop[6] = {0x23, 0, 0, 0xAA, 0, 0};
    static const uint8_t pub_prop[6] = {0x33, 0, 0, 0xAA, 0, 0};
    /* private: update, use and delete with the user PIN; public: update and delete */
    static const uint8_t prv_sec[15] = {0x46, 0, 0x02, 0x02, 0, 0, 0, 0x02};
    static const uint8_t pub_sec[15] = {0x46, 0, 0x02, 0, 0, 0, 0, 0x02};
    size_t half = (size_t)bits / 16;
    p11_p15_path app;
    bool found = false;
    CK_RV rv;

    /* the card puts key objects in its key DFs; the application DF is current, as with
     * pkcs15-init */
    p11_p15_path_set(&app, (const uint8_t *)"\x3F\x00\x50\x00", 4);
    rv = p11_kz_select(k, &app, &found, NULL);
    if (rv != CKR_OK)
        return rv;
    k->writes++;
    rv = p11_kz_create_file(k, (uint16_t)ref, obj, half * 5 + 8, prv_prop, sizeof(prv_prop),
                            prv_sec);
    if (rv == CKR_OK)
        rv = p11_kz_create_file(k, (uint16_t)ref, obj, half * 3, pub_prop, sizeof(pub_prop),
                                pub_sec);
    return rv;
}

CK_RV p11_kz_delete_key_files(kz_token *k, long ref)
{
    p11_p15_path p;
    CK_RV rv;

    p11_kz_key_path(ref, false, &p);
    rv = fs_remove(k, &p);
    p11_kz_key_path(ref, true, &p);
    if (rv == CKR_OK)
        rv = fs_remove(k, &p);
    return rv;
}

CK_RV p11_kz_put_key_body(kz_token *k, long ref, bool private_part, const uint8_t *body, size_t len)
{
    const size_t max = 255;
    p11_p15_path p;
    vt_buf buf = {0};
    bool found = false;
    CK_RV rv;

    p11_kz_key_path(ref, private_part, &p);
    rv = p11_kz_select(k, &p, &found, NULL);
    if (rv == CKR_OK && !found)
        rv = CKR_DEVICE_ERROR;
    if (rv != CKR_OK)
        return rv;
    /* 80 02 <len>, then A5 blocks placed so that every chained APDU starts with A5 */
    vt_buf_append_byte(&buf, 0x80);
    vt_buf_append_byte(&buf, 0x02);
    vt_buf_append_byte(&buf, (uint8_t)(len >> 8));
    vt_buf_append_byte(&buf, (uint8_t)len);
    while (len) {
        size_t room = max - buf.len % max, n = len;
        if (room < 3)
            room += max; /* no room for a header here: this block spans into the next */
        if (n + 2 > room)
            n = room - 2;
        vt_buf_append_byte(&buf, 0xA5);
        vt_buf_append_byte(&buf, (uint8_t)n);
        vt_buf_append(&buf, body, n);
        body += n;
        len -= n;
    }
    if (buf.oom) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    k->writes++;
    rv = p11_kz_cmd_ok(k, 0x00, 0x24, 0x01, 0x00, buf.data, buf.len, 0, APDU_X_SENSITIVE, NULL);
out:
    vt_buf_free(&buf);
    return rv;
}

void p11_kz_fs_bind(kz_token *k)
{
    k->obj.fs.ctx = k;
    k->obj.fs.read = fs_read;
    k->obj.fs.write = fs_write;
    k->obj.fs.remove = fs_remove;
    k->obj.fs.create_df = fs_create_df;
}
