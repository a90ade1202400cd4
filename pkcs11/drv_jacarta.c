/* The JaCarta card driver, card side: status words, commands, SELECT by path with 3F00,
 * the file callbacks of the PKCS#15 layer (CREATE FILE with the applet's FCP and access
 * rules), and the key storage: RSA key objects in the private DF 3002, written with
 * 80 24 or generated with 00 47, their public halves in EFs of the public DF 3001. PINs,
 * info, RSA and the operations table are in drv_jacarta_ops.c. */
#include <stdlib.h>
#include <string.h>

#include "drv_jacarta.h"
#include "sw.h"
#include "tlv.h"

/* Access rules of the files we create: two bytes per operation, 00 00 always, 00 FF
 * never, 00 rr PIN rr, 00 30 the SO or the user PIN. */
#define NONE   0x00, 0x00
#define NEVER  0x00, 0xFF
#define USER   0x00, JC_USER_REF
#define EITHER 0x00, 0x30

static const uint8_t p15_aid[] = {0xA0, 0x00, 0x00, 0x00, 0x63, 0x50,
                                  0x4B, 0x43, 0x53, 0x2D, 0x31, 0x35};

/* ---- status words and commands ---- */

void jc_txn_begin(jc_token *k)
{
    if (k->txn++ == 0)
        k->txn_held = apdu_begin(k->t) == APDU_OK;
}

void jc_txn_end(jc_token *k)
{
    if (k->txn == 0 || --k->txn > 0)
        return;
    if (k->txn_held)
        apdu_end(k->t);
    k->txn_held = false;
}

CK_RV jc_sw_rv(uint16_t sw)
{
    if (sw == APDU_SW_OK)
        return CKR_OK;
    if ((sw & 0xFFF0u) == 0x63C0u)
        return CKR_PIN_INCORRECT;
    switch (sw) {
    case APDU_SW_SECURITY_STATUS:
        return CKR_USER_NOT_LOGGED_IN;
    case APDU_SW_AUTH_BLOCKED:
        return CKR_PIN_LOCKED;
    case APDU_SW_REF_DATA_UNUSABLE:
        return CKR_PIN_EXPIRED;
    case APDU_SW_NOT_ENOUGH_MEMORY:
        return CKR_DEVICE_MEMORY;
    case APDU_SW_CONDITIONS:
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    case APDU_SW_WRONG_LENGTH:
        return CKR_DATA_LEN_RANGE;
    case APDU_SW_WRONG_DATA:
        return CKR_DATA_INVALID;
    case APDU_SW_FUNC_UNSUPPORTED:
        return CKR_FUNCTION_NOT_SUPPORTED;
    default:
        return CKR_DEVICE_ERROR;
    }
}

CK_RV jc_cmd(jc_token *k, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
             size_t nc, size_t ne, unsigned flags, vt_buf *resp, uint16_t *sw)
{
    apdu_cmd c = apdu_make(cla, ins, p1, p2, data, nc, ne);
    apdu_status st = apdu_exchange(k->t, &c, flags, resp, sw);

    if (st == APDU_OK)
        return CKR_OK;
    if (st == APDU_ERR_NO_CARD)
        return CKR_DEVICE_REMOVED;
    if (st == APDU_ERR_NOMEM)
        return CKR_HOST_MEMORY;
    return CKR_DEVICE_ERROR;
}

CK_RV jc_cmd_ok(jc_token *k, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
                size_t nc, size_t ne, unsigned flags, vt_buf *resp)
{
    uint16_t sw = 0;
    CK_RV rv = jc_cmd(k, cla, ins, p1, p2, data, nc, ne, flags, resp, &sw);

    if (rv != CKR_OK)
        return rv;
    return sw == APDU_SW_WARN_EOF ? CKR_OK : jc_sw_rv(sw);
}

/* ---- files ---- */

CK_RV jc_select(jc_token *k, const p11_p15_path *p, bool want_fcp, bool *found, size_t *size)
{
    vt_buf fcp = {0};
    apdu_tlv t, sz;
    size_t used = 0;
    uint16_t sw = 0;
    CK_RV rv;

    *found = false;
    if (size)
        *size = 0;
    if (p->len < 2 || p->v[0] != 0x3F || p->v[1] != 0x00)
        return CKR_GENERAL_ERROR;
    rv = jc_cmd(k, 0x80, 0xA4, 0x08, 0x0C, p->v, p->len, want_fcp ? 256 : 0, 0, &fcp, &sw);
    if (rv != CKR_OK || sw == APDU_SW_FILE_NOT_FOUND)
        goto out;
    rv = jc_sw_rv(sw);
    if (rv != CKR_OK)
        goto out;
    *found = true;
    if (!want_fcp)
        goto out;
    if (apdu_tlv_parse(fcp.data, fcp.len, &t, &used) != APDU_OK || t.tag != 0x62) {
        rv = CKR_DEVICE_ERROR;
        goto out;
    }
    if (size && apdu_tlv_find(t.value, t.len, 0x80, &sz) == APDU_OK && sz.len >= 1 && sz.len <= 2)
        *size = sz.len == 1 ? sz.value[0] : (size_t)(sz.value[0] << 8 | sz.value[1]);
out:
    vt_buf_free(&fcp);
    return rv;
}

CK_RV jc_read_file(jc_token *k, const p11_p15_path *p, vt_buf *out, bool *found)
{
    size_t size = 0, off = 0;
    CK_RV rv;

    vt_buf_clear(out);
    rv = jc_select(k, p, true, found, &size);
    if (rv != CKR_OK || !*found)
        return rv;
    /* offsets are 15 bits: READ BINARY reaches 32767 at most */
    while (off < size && off <= 0x7FFF) {
        size_t want = size - off > 256 ? 256 : size - off, before = out->len;
        uint16_t sw = 0;
        rv = jc_cmd(k, 0x00, 0xB0, (uint8_t)(off >> 8), (uint8_t)off, NULL, 0, want, 0, out, &sw);
        if (rv != CKR_OK)
            return rv;
        if (sw != APDU_SW_OK && sw != APDU_SW_WARN_EOF)
            return jc_sw_rv(sw);
        if (out->len == before)
            break;
        off += out->len - before;
    }
    return out->oom ? CKR_HOST_MEMORY : CKR_OK;
}

void jc_tokeninfo_path(p11_p15_path *out)
{
    p11_p15_path_set(out, (const uint8_t *)"\x3F\x00\x30\x00\xC0\x00", 6);
}

static CK_RV fs_read(void *ctx, const p11_p15_path *p, vt_buf *out, bool *found)
{
    return jc_read_file(ctx, p, out, found);
}

/* Rules of an EF by role: read, write, admin, delete. The application is written by
 * whoever makes the first write (the user, normally) and relabelled or wiped by the SO,
 * so its files take "SO or user"; private data objects are the user's alone. */
static void role_rules(p11_p15_file_role role, uint8_t ac[8])
{
    static const uint8_t shared[8] = {NONE, EITHER, NEVER, EITHER};
    static const uint8_t priv[8] = {USER, USER, NEVER, EITHER};
    memcpy(ac, role == P11_P15_FILE_PRIVATE_EF ? priv : shared, 8);
}

static void parent_of(const p11_p15_path *p, p11_p15_path *parent)
{
    *parent = *p;
    parent->len -= 2;
}

/* CREATE FILE 00 E0 P1 00 with 62 { 8A 04, 83 FID, 80 size, [84 name], 86 rules }, as
 * OpenSC's jacartapki_create_file builds it; the parent DF is current. */
static CK_RV create_file(jc_token *k, uint8_t fdb, uint16_t fid, size_t size, const uint8_t *name,
                         size_t name_len, const uint8_t *ac, size_t ac_len)
{
    vt_buf d = {0};
    apdu_tlvb b;
    CK_RV rv;

    apdu_tlvb_init(&b, &d);
    apdu_tlvb_open(&b, 0x62);
    apdu_tlvb_put_u8(&b, 0x8A, 0x04);
    apdu_tlvb_put_u16(&b, 0x83, fid);
    apdu_tlvb_put_u16(&b, 0x80, (uint16_t)size);
    if (name_len)
        apdu_tlvb_put(&b, 0x84, name, name_len);
    apdu_tlvb_put(&b, 0x86, ac, ac_len);
    apdu_tlvb_close(&b);
    rv = apdu_tlvb_finish(&b) == APDU_OK ? CKR_OK : CKR_HOST_MEMORY;
    if (rv == CKR_OK) {
        k->writes++;
        rv = jc_cmd_ok(k, 0x00, 0xE0, fdb, 0x00, d.data, d.len, 0, 0, NULL);
    }
    vt_buf_free(&d);
    return rv;
}

/* DELETE FILE of the selected EF (P1 00) or DF (P1 01). */
static CK_RV delete_selected(jc_token *k, bool df)
{
    k->writes++;
    return jc_cmd_ok(k, 0x00, 0xE4, df ? 0x01 : 0x00, 0x00, NULL, 0, 0, 0, NULL);
}

static CK_RV fs_remove(void *ctx, const p11_p15_path *p)
{
    jc_token *k = ctx;
    bool found = false;
    CK_RV rv = jc_select(k, p, false, &found, NULL);

    if (rv != CKR_OK || !found)
        return rv;
    return delete_selected(k, false);
}

static CK_RV fs_write(void *ctx, const p11_p15_path *p, p11_p15_file_role role, size_t size,
                      const uint8_t *data, size_t len)
{
    jc_token *k = ctx;
    p11_p15_path parent;
    uint8_t ac[8];
    size_t have = 0, off;
    bool found = false;
    vt_buf body = {0};
    CK_RV rv;

    if (len > 0x7FFF)
        return CKR_DEVICE_MEMORY;
    if (size < len)
        size = len;
    rv = jc_select(k, p, true, &found, &have);
    if (rv == CKR_OK && found && have < len) {
        /* too small: make room, as a card with fixed-size EFs needs */
        rv = delete_selected(k, false);
        found = false;
    }
    if (rv == CKR_OK && !found) {
        parent_of(p, &parent);
        rv = jc_select(k, &parent, false, &found, NULL);
        if (rv == CKR_OK && !found)
            rv = CKR_DEVICE_ERROR;
        role_rules(role, ac);
        if (rv == CKR_OK)
            rv = create_file(k, 0x01, p11_p15_path_last_fid(p), size, NULL, 0, ac, sizeof(ac));
        if (rv == CKR_OK)
            rv = jc_select(k, p, true, &found, &have);
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
    k->writes++;
    for (off = 0; off < body.len && rv == CKR_OK; off += 255) {
        size_t n = body.len - off > 255 ? 255 : body.len - off;
        rv = jc_cmd_ok(k, 0x00, 0xD6, (uint8_t)(off >> 8), (uint8_t)off, body.data + off, n, 0,
                       APDU_X_NO_CHAINING, NULL);
    }
    vt_buf_free(&body);
    return rv;
}

/* A DF: the PKCS#15 application 3F00/5015 gets the PKCS#15 AID as its name. Rules: create
 * EF and DF, admin, delete, activate, deactivate. */
static CK_RV fs_create_df(void *ctx, const p11_p15_path *p)
{
    static const uint8_t ac[12] = {EITHER, EITHER, NEVER, EITHER, NONE, NEVER};
    jc_token *k = ctx;
    p11_p15_path parent;
    bool found = false, app;
    CK_RV rv;

    rv = jc_select(k, p, false, &found, NULL);
    if (rv != CKR_OK || found)
        return rv;
    parent_of(p, &parent);
    rv = jc_select(k, &parent, false, &found, NULL);
    if (rv == CKR_OK && !found)
        rv = CKR_DEVICE_ERROR;
    app = p->len == 4 && p11_p15_path_last_fid(p) == 0x5015;
    if (rv == CKR_OK)
        rv = create_file(k, 0x38, p11_p15_path_last_fid(p), 0, app ? p15_aid : NULL,
                         app ? sizeof(p15_aid) : 0, ac, sizeof(ac));
    return rv;
}

void jc_fs_init(jc_token *k)
{
    k->obj.fs.ctx = k;
    k->obj.fs.read = fs_read;
    k->obj.fs.write = fs_write;
    k->obj.fs.remove = fs_remove;
    k->obj.fs.create_df = fs_create_df;
}

/* ---- key storage ---- */

void jc_key_path(long ref, p11_p15_path *out)
{
    p11_p15_path_set(out, (const uint8_t *)"\x3F\x00\x30\x00\x30\x02", 6);
    p11_p15_path_append(out, (uint16_t)(0x40 | (ref & 0x3F)));
}

static void jc_keys_path(void *ctx, long ref, p11_p15_path *out)
{
    (void)ctx;
    jc_key_path(ref, out);
}

/* Select the key object of ref; CKR_KEY_HANDLE_INVALID when it is not there. */
static CK_RV select_key(jc_token *k, long ref)
{
    p11_p15_path p;
    bool found = false;
    CK_RV rv;

    jc_key_path(ref, &p);
    rv = jc_select(k, &p, false, &found, NULL);
    return rv == CKR_OK && !found ? CKR_KEY_HANDLE_INVALID : rv;
}

/* The public half of key reference ref, kept by the driver beside the key: the applet's
 * key objects never answer READ BINARY, and a private key must show CKA_MODULUS whatever
 * its CKA_ID (a PuKDF entry pairs by CKA_ID only, so a renamed key would lose it). A
 * transparent EF 3F00/3000/3001/00(40|ref) in the applet's PUBLIC DF holds its
 * RSAPublicKey, as the vendor's middleware keeps a public object beside each key. */
static void jc_pub_path(long ref, p11_p15_path *out)
{
    p11_p15_path_set(out, (const uint8_t *)"\x3F\x00\x30\x00\x30\x01", 6);
    p11_p15_path_append(out, (uint16_t)(0x40 | (ref & 0x3F)));
}

static CK_RV write_public(jc_token *k, long ref, const vt_buf *n, const vt_buf *e)
{
    p11_p15_path p;
    vt_buf der = {0};
    CK_RV rv = p11_p15_encode_rsa_pubkey(k->obj.p15.codec, n->data, n->len, e->data, e->len,
                                         &der) == P11_P15_OK
                   ? CKR_OK
                   : CKR_HOST_MEMORY;

    jc_pub_path(ref, &p);
    /* a new EF of the exact size: an older, longer one would leave bytes after the DER */
    if (rv == CKR_OK)
        rv = fs_remove(k, &p);
    if (rv == CKR_OK)
        rv = fs_write(k, &p, P11_P15_FILE_PUBLIC_EF, der.len, der.data, der.len);
    vt_buf_free(&der);
    return rv;
}

/* CKR_KEY_HANDLE_INVALID when the driver kept nothing for ref (a key written before it
 * did): the PKCS#15 layer then pairs by CKA_ID. */
static CK_RV jc_keys_read_public(void *ctx, long ref, vt_buf *n, vt_buf *e)
{
    jc_token *k = ctx;
    p11_p15_path p;
    vt_buf v = {0};
    bool found = false;
    CK_RV rv;

    jc_pub_path(ref, &p);
    rv = jc_read_file(k, &p, &v, &found);
    if (rv == CKR_OK && !found)
        rv = CKR_KEY_HANDLE_INVALID;
    if (rv == CKR_OK &&
        p11_p15_decode_rsa_pubkey(k->obj.p15.codec, v.data, v.len, n, e) != P11_P15_OK)
        rv = CKR_DEVICE_ERROR;
    vt_buf_free(&v);
    return rv;
}

/* The key object and the public half kept beside it. */
static CK_RV jc_keys_remove(void *ctx, long ref)
{
    jc_token *k = ctx;
    p11_p15_path p;
    CK_RV rv = select_key(k, ref);

    if (rv == CKR_OK)
        rv = delete_selected(k, false);
    else if (rv == CKR_KEY_HANDLE_INVALID)
        rv = CKR_OK;
    jc_pub_path(ref, &p);
    if (rv == CKR_OK)
        rv = fs_remove(k, &p);
    return rv;
}

/* A private key object of bits in the private DF: class 05 (RSA CRT), usage 0C (sign and
 * decipher, as the vendor's middleware sets it), algorithm 20 (RSA); rules read never,
 * update user, admin never, delete SO or user, generate user, PIN reset never, crypto
 * user; content 71 00 (empty). A leftover object of a failed write is replaced. */
static CK_RV jc_keys_create(void *ctx, long ref, CK_ULONG bits)
{
    static const uint8_t prop[5] = {0x05, 0x0C, 0x20, 0x00, 0xA3};
    static const uint8_t ac[14] = {NEVER, USER, NEVER, EITHER, USER, NEVER, USER};
    static const uint8_t prv_df[] = {0x3F, 0x00, 0x30, 0x00, 0x30, 0x02};
    jc_token *k = ctx;
    p11_p15_path df;
    bool found = false;
    vt_buf d = {0};
    apdu_tlvb b;
    uint16_t sw = 0;
    CK_RV rv;

    if (ref < 1 || ref > JC_KEY_REF_MAX)
        return CKR_DEVICE_MEMORY;
    rv = jc_keys_remove(k, ref);
    if (rv == CKR_OK) {
        p11_p15_path_set(&df, prv_df, sizeof(prv_df));
        rv = jc_select(k, &df, false, &found, NULL);
    }
    if (rv == CKR_OK && !found)
        rv = CKR_DEVICE_ERROR;
    if (rv != CKR_OK)
        return rv;
    apdu_tlvb_init(&b, &d);
    apdu_tlvb_open(&b, 0x62);
    apdu_tlvb_put_u8(&b, 0x8A, 0x04);
    apdu_tlvb_put_u16(&b, 0x83, (uint16_t)(0x40 | ref));
    apdu_tlvb_put_u16(&b, 0x80, (uint16_t)(bits / 8));
    apdu_tlvb_put(&b, 0xA5, prop, sizeof(prop));
    apdu_tlvb_put(&b, 0x86, ac, sizeof(ac));
    apdu_tlvb_put(&b, 0x71, NULL, 0); /* no key yet */
    apdu_tlvb_close(&b);
    if (apdu_tlvb_finish(&b) != APDU_OK) {
        vt_buf_free(&d);
        return CKR_HOST_MEMORY;
    }
    k->writes++;
    rv = jc_cmd(k, 0x00, 0xE0, 0x08, 0x00, d.data, d.len, 0, 0, NULL, &sw);
    if (rv == CKR_OK)
        rv = jc_sw_rv(sw);
    vt_buf_free(&d);
    return rv;
}

/* A big-endian number left-padded to len bytes. */
static bool put_padded(apdu_tlvb *b, vt_buf *scratch, apdu_tag tag, const vt_buf *const *parts,
                       size_t nparts, size_t len)
{
    vt_buf_clear(scratch);
    for (size_t i = 0; i < nparts; i++) {
        size_t at = scratch->len;
        if (parts[i]->len > len || !vt_buf_reserve(scratch, at + len))
            return false;
        memset(scratch->data + at, 0, len - parts[i]->len);
        memcpy(scratch->data + at + len - parts[i]->len, parts[i]->data, parts[i]->len);
        scratch->len = at + len;
    }
    apdu_tlvb_put(b, tag, scratch->data, scratch->len);
    return true;
}

/* 80 24 00 00 on the selected key object: 62 { 90 e, 91 n, 93 p||q, 94 dp||dq||qinv },
 * the CRT parts each half the modulus long (OpenSC's laser_encode_prvkey layout). */
static CK_RV jc_keys_store(void *ctx, long ref, const p11_p15_rsa *key)
{
    jc_token *k = ctx;
    size_t half = key->n.len / 2;
    const vt_buf *pq[] = {&key->p, &key->q}, *crt[] = {&key->dp, &key->dq, &key->qinv};
    vt_buf d = {0}, scratch = {0};
    apdu_tlvb b;
    CK_RV rv = select_key(k, ref);

    if (rv != CKR_OK)
        return rv;
    apdu_tlvb_init(&b, &d);
    apdu_tlvb_open(&b, 0x62);
    apdu_tlvb_put(&b, 0x90, key->e.data, key->e.len);
    apdu_tlvb_put(&b, 0x91, key->n.data, key->n.len);
    if (!put_padded(&b, &scratch, 0x93, pq, 2, half) ||
        !put_padded(&b, &scratch, 0x94, crt, 3, half)) {
        rv = CKR_ATTRIBUTE_VALUE_INVALID;
        goto out;
    }
    apdu_tlvb_close(&b);
    if (apdu_tlvb_finish(&b) != APDU_OK) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    k->writes++;
    rv = jc_cmd_ok(k, 0x80, 0x24, 0x00, 0x00, d.data, d.len, 0, APDU_X_SENSITIVE, NULL);
    if (rv == CKR_DATA_INVALID)
        rv = CKR_ATTRIBUTE_VALUE_INVALID; /* parts that do not make one RSA key */
    if (rv == CKR_OK)
        rv = write_public(k, ref, &key->n, &key->e);
out:
    vt_buf_free(&d);
    vt_buf_free(&scratch);
    return rv;
}

/* 00 47 00 00 AC { 80 01 algorithm, 81 03 010001 }: answered 7F49 { 81 n, 82 e }. */
static CK_RV jc_keys_generate(void *ctx, long ref, CK_ULONG bits, vt_buf *n, vt_buf *e)
{
    static const uint8_t f4[] = {0x01, 0x00, 0x01};
    jc_token *k = ctx;
    vt_buf d = {0}, r = {0};
    apdu_tlv pub, mod, exp;
    apdu_tlvb b;
    size_t used = 0;
    CK_RV rv = select_key(k, ref);

    if (rv != CKR_OK)
        return rv;
    apdu_tlvb_init(&b, &d);
    apdu_tlvb_open(&b, 0xAC);
    apdu_tlvb_put_u8(&b, 0x80, bits == 2048 ? 0x07 : 0x06);
    apdu_tlvb_put(&b, 0x81, f4, sizeof(f4));
    apdu_tlvb_close(&b);
    if (apdu_tlvb_finish(&b) != APDU_OK) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    k->writes++;
    rv = jc_cmd_ok(k, 0x00, 0x47, 0x00, 0x00, d.data, d.len, 256, 0, &r);
    if (rv != CKR_OK)
        goto out;
    rv = CKR_DEVICE_ERROR;
    if (apdu_tlv_parse(r.data, r.len, &pub, &used) != APDU_OK || pub.tag != 0x7F49 ||
        apdu_tlv_find(pub.value, pub.len, 0x81, &mod) != APDU_OK ||
        apdu_tlv_find(pub.value, pub.len, 0x82, &exp) != APDU_OK || mod.len != bits / 8)
        goto out;
    if (!vt_buf_append(n, mod.value, mod.len) || !vt_buf_append(e, exp.value, exp.len)) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    rv = write_public(k, ref, n, e);
out:
    vt_buf_free(&d);
    vt_buf_free(&r);
    return rv;
}

const p11_p15_keys p11_jc_keys = {
    .ref_max = JC_KEY_REF_MAX,
    .create = jc_keys_create,
    .store = jc_keys_store,
    .generate = jc_keys_generate,
    .remove = jc_keys_remove,
    .path = jc_keys_path,
    .read_public = jc_keys_read_public,
};
