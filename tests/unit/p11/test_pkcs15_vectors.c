/* PKCS#15 files OpenSC 0.23 wrote on a Kaztoken (vectors/pkcs15/opensc-0.23, captured
 * by vectors/pkcs15/capture.sh; README.md there lists their content): each one decodes
 * to the fields pkcs15-init was given, the same fields built from scratch encode to the
 * same bytes, and p11_p15_card_create / p11_p15_card_add write whole files identical to
 * OpenSC's for the same history. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "p11_test.h"
#include "pkcs15_card.h"

void pkcs15_vectors_tcases(Suite *s);

#define VEC VT_VECTORS_DIR "/pkcs15/opensc-0.23/"

static p11_p15_codec *codec;

static void setup(void)
{
    ck_assert_int_eq(p11_p15_codec_new(&codec), P11_P15_OK);
}

static void teardown(void)
{
    p11_p15_codec_free(codec);
    codec = NULL;
}

static void load(const char *name, vt_buf *out)
{
    char path[512];
    uint8_t chunk[4096];
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), VEC "%s", name);
    f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    vt_buf_clear(out);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        ck_assert(vt_buf_append(out, chunk, n));
    fclose(f);
}

/* An EF's content is its entries, then zeros to the end of the file. */
static void assert_file_is(const vt_buf *file, const vt_buf *content)
{
    size_t i;

    ck_assert_uint_ge(file->len, content->len);
    ck_assert_mem_eq(file->data, content->data, content->len);
    for (i = content->len; i < file->len; i++)
        ck_assert_msg(file->data[i] == 0, "byte %zu of the file is not padding", i);
}

static void set_path(p11_p15_path *p, const char *hex)
{
    uint8_t v[P11_P15_MAX_PATH];
    long n = vt_hex_decode(hex, v, sizeof(v));

    ck_assert_int_gt(n, 0);
    ck_assert(p11_p15_path_set(p, v, (size_t)n));
}

static void assert_path(const p11_p15_path *p, const char *hex)
{
    p11_p15_path want;

    set_path(&want, hex);
    ck_assert_msg(p11_p15_path_eq(p, &want), "path differs from %s", hex);
}

static void set_id(p11_p15_id *id, uint8_t v)
{
    id->v[0] = v;
    id->len = 1;
}

static void decode_df(const char *name, p11_p15_df_type t, p11_p15_obj **v, size_t *n)
{
    vt_buf f = {0};

    load(name, &f);
    ck_assert_int_eq(p11_p15_decode_df(codec, t, f.data, f.len, v, n), P11_P15_OK);
    vt_buf_free(&f);
}

/* objs, built from the fields alone, encode to the file's bytes; and the decoded entries
 * re-encode (from their own DER) to them too. */
static void assert_df_encodes(const char *name, p11_p15_df_type t, const p11_p15_obj *objs,
                              size_t n)
{
    vt_buf f = {0}, out = {0};
    p11_p15_obj *dec = NULL;
    size_t ndec = 0;

    load(name, &f);
    ck_assert_int_eq(p11_p15_encode_df(codec, objs, n, &out), P11_P15_OK);
    assert_file_is(&f, &out);
    vt_buf_clear(&out);
    ck_assert_int_eq(p11_p15_decode_df(codec, t, f.data, f.len, &dec, &ndec), P11_P15_OK);
    ck_assert_int_eq(p11_p15_encode_df(codec, dec, ndec, &out), P11_P15_OK);
    assert_file_is(&f, &out);
    p11_p15_objs_free(dec, ndec);
    vt_buf_free(&out);
    vt_buf_free(&f);
}

/* The PIN objects pkcs15-init writes with the rutoken_ecp profile. */
static void pin_entry(p11_p15_obj *o, bool so)
{
    p11_p15_obj_init(o, P11_P15_OBJ_AUTH_PIN);
    strcpy(o->label, so ? "Security Officer PIN" : "User PIN");
    o->flags = P11_P15_CO_PRIVATE | P11_P15_CO_MODIFIABLE;
    set_id(&o->u.pin.auth_id, so ? 1 : 2);
    o->u.pin.flags = P11_P15_PIN_CASE_SENSITIVE | P11_P15_PIN_UNBLOCK_DISABLED |
                     P11_P15_PIN_INITIALIZED | (so ? P11_P15_PIN_SO_PIN : 0);
    o->u.pin.type = P11_P15_PIN_TYPE_ASCII;
    o->u.pin.min_len = so ? 8 : 4;
    o->u.pin.stored_len = 32;
    o->u.pin.max_len = 32;
    o->u.pin.reference = so ? 1 : 2;
    o->u.pin.has_pad = true;
    o->u.pin.pad_char = 0;
}

/* "opensc key": pkcs15-init --generate-key rsa/2048 --id 45, the first key reference. */
static void prkey_entry(p11_p15_obj *o, const char *label, uint8_t id, unsigned access, long ref)
{
    char path[32];

    p11_p15_obj_init(o, P11_P15_OBJ_PRKEY_RSA);
    strcpy(o->label, label);
    o->flags = P11_P15_CO_PRIVATE | P11_P15_CO_MODIFIABLE;
    set_id(&o->auth_id, 2);
    set_id(&o->u.key.id, id);
    o->u.key.usage = P11_P15_USAGE_SIGN;
    o->u.key.access_flags = access;
    o->u.key.key_reference = ref;
    o->u.key.modulus_bits = 2048;
    snprintf(path, sizeof(path), "3F00100010006002%04lX", ref);
    set_path(&o->path, path);
    o->has_path = true;
}

static void pukey_entry(p11_p15_obj *o, const char *label, uint8_t id, const char *path)
{
    p11_p15_obj_init(o, P11_P15_OBJ_PUBKEY_RSA);
    strcpy(o->label, label);
    o->flags = P11_P15_CO_MODIFIABLE;
    set_id(&o->u.key.id, id);
    o->u.key.usage = P11_P15_USAGE_VERIFY;
    o->u.key.native = false; /* what pkcs15-init writes for a key in an EF */
    o->u.key.key_reference = 0;
    o->u.key.modulus_bits = 2048;
    set_path(&o->path, path);
    o->has_path = true;
}

static void assert_same_key(const p11_p15_obj *got, const p11_p15_obj *want)
{
    ck_assert_int_eq(got->type, want->type);
    ck_assert_str_eq(got->label, want->label);
    ck_assert_uint_eq(got->flags, want->flags);
    ck_assert_uint_eq(got->auth_id.len, want->auth_id.len);
    ck_assert_mem_eq(got->auth_id.v, want->auth_id.v, want->auth_id.len);
    ck_assert_uint_eq(got->u.key.id.len, want->u.key.id.len);
    ck_assert_mem_eq(got->u.key.id.v, want->u.key.id.v, want->u.key.id.len);
    ck_assert_uint_eq(got->u.key.usage, want->u.key.usage);
    ck_assert_uint_eq(got->u.key.access_flags, want->u.key.access_flags);
    ck_assert_int_eq(got->u.key.native, want->u.key.native);
    ck_assert_int_eq(got->u.key.key_reference, want->u.key.key_reference);
    ck_assert_uint_eq(got->u.key.modulus_bits, want->u.key.modulus_bits);
    ck_assert(got->has_path);
    ck_assert(p11_p15_path_eq(&got->path, &want->path));
}

START_TEST(dir_record)
{
    static const uint8_t aid[] = {0xA0, 0x00, 0x00, 0x00, 0x63, 0x50,
                                  0x4B, 0x43, 0x53, 0x2D, 0x31, 0x35};
    p11_p15_dirrec rec[P11_P15_MAX_DIRRECS], fresh;
    vt_buf f = {0}, out = {0};
    size_t n = 0;

    load("stage1/dir.der", &f);
    ck_assert_int_eq(p11_p15_decode_dir(codec, f.data, f.len, rec, P11_P15_MAX_DIRRECS, &n),
                     P11_P15_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(rec[0].aid_len, sizeof(aid));
    ck_assert_mem_eq(rec[0].aid, aid, sizeof(aid));
    ck_assert(rec[0].has_label);
    ck_assert_str_eq(rec[0].label, "OpenSC made");
    ck_assert_uint_eq(rec[0].path_len, 4);
    ck_assert_mem_eq(rec[0].path, "\x3F\x00\x50\x00", 4);

    memset(&fresh, 0, sizeof(fresh));
    memcpy(fresh.aid, aid, sizeof(aid));
    fresh.aid_len = sizeof(aid);
    fresh.has_label = true;
    strcpy(fresh.label, "OpenSC made");
    memcpy(fresh.path, "\x3F\x00\x50\x00", 4);
    fresh.path_len = 4;
    ck_assert_int_eq(p11_p15_encode_dir(codec, &fresh, 1, &out), P11_P15_OK);
    assert_file_is(&f, &out);
    vt_buf_free(&out);
    vt_buf_free(&f);
}
END_TEST

/* ODFs list the directory files in the order they were made: stage 1 after a key pair,
 * stage 2 after a certificate and a data object too. */
START_TEST(odf_files)
{
    static const struct {
        p11_p15_df_type type;
        const char *path;
    } want[] = {{P11_P15_AODF, "3F0050006005"},
                {P11_P15_PRKDF, "3F0050006002"},
                {P11_P15_PUKDF, "3F0050006001"},
                {P11_P15_CDF, "3F0050006004"},
                {P11_P15_DODF, "3F0050006006"}};
    const char *const files[] = {"stage1/odf.der", "stage2/odf.der"};
    const size_t counts[] = {3, 5};
    size_t s, i, n = 0;

    for (s = 0; s < 2; s++) {
        p11_p15_odf_entry e[P11_P15_MAX_ODF], fresh[5];
        vt_buf f = {0}, out = {0};

        load(files[s], &f);
        ck_assert_int_eq(p11_p15_decode_odf(codec, f.data, f.len, e, P11_P15_MAX_ODF, &n),
                         P11_P15_OK);
        ck_assert_uint_eq(n, counts[s]);
        for (i = 0; i < n; i++) {
            ck_assert_int_eq(e[i].type, want[i].type);
            assert_path(&e[i].path, want[i].path);
            fresh[i].type = want[i].type;
            set_path(&fresh[i].path, want[i].path);
            fresh[i].path.count = -1;
        }
        ck_assert_int_eq(p11_p15_encode_odf(codec, fresh, n, &out), P11_P15_OK);
        assert_file_is(&f, &out);
        vt_buf_free(&out);
        vt_buf_free(&f);
    }
}
END_TEST

START_TEST(tokeninfo_file)
{
    p11_p15_tokeninfo ti, fresh;
    vt_buf f = {0}, out = {0};

    load("stage1/tokeninfo.der", &f);
    ck_assert_int_eq(p11_p15_decode_tokeninfo(codec, f.data, f.len, &ti), P11_P15_OK);
    ck_assert_int_eq(ti.version, 0);
    ck_assert_uint_eq(ti.serial_len, 4); /* the card's GET DATA serial */
    ck_assert_mem_eq(ti.serial, f.data + 7, 4);
    ck_assert(ti.has_manufacturer);
    ck_assert_str_eq(ti.manufacturer, "Aktiv Co.");
    ck_assert(ti.has_label);
    ck_assert_str_eq(ti.label, "OpenSC made");
    ck_assert(ti.has_flags);
    ck_assert_uint_eq(ti.flags, P11_P15_TOKEN_EID_COMPLIANT);
    ck_assert_uint_eq(strlen(ti.last_update), 15);

    memset(&fresh, 0, sizeof(fresh));
    memcpy(fresh.serial, ti.serial, 4);
    fresh.serial_len = 4;
    fresh.has_manufacturer = fresh.has_label = fresh.has_flags = true;
    strcpy(fresh.manufacturer, "Aktiv Co.");
    strcpy(fresh.label, "OpenSC made");
    fresh.flags = P11_P15_TOKEN_EID_COMPLIANT;
    strcpy(fresh.last_update, ti.last_update);
    ck_assert_int_eq(p11_p15_encode_tokeninfo(codec, &fresh, &out), P11_P15_OK);
    assert_file_is(&f, &out);
    p11_p15_tokeninfo_clear(&ti);
    vt_buf_free(&out);
    vt_buf_free(&f);
}
END_TEST

START_TEST(aodf_file)
{
    p11_p15_obj want[2], *v = NULL;
    size_t n = 0, i;

    pin_entry(&want[0], true);
    pin_entry(&want[1], false);
    decode_df("stage1/aodf.der", P11_P15_AODF, &v, &n);
    ck_assert_uint_eq(n, 2);
    for (i = 0; i < 2; i++) {
        const p11_p15_pin *g = &v[i].u.pin, *w = &want[i].u.pin;
        ck_assert_int_eq(v[i].type, P11_P15_OBJ_AUTH_PIN);
        ck_assert_str_eq(v[i].label, want[i].label);
        ck_assert_uint_eq(v[i].flags, want[i].flags);
        ck_assert_uint_eq(g->auth_id.len, 1);
        ck_assert_uint_eq(g->auth_id.v[0], w->auth_id.v[0]);
        ck_assert_uint_eq(g->flags, w->flags);
        ck_assert_int_eq(g->type, w->type);
        ck_assert_int_eq(g->min_len, w->min_len);
        ck_assert_int_eq(g->stored_len, w->stored_len);
        ck_assert_int_eq(g->max_len, w->max_len);
        ck_assert_int_eq(g->reference, w->reference);
        ck_assert(g->has_pad);
        ck_assert_uint_eq(g->pad_char, 0);
    }
    p11_p15_objs_free(v, n);
    assert_df_encodes("stage1/aodf.der", P11_P15_AODF, want, 2);
    assert_df_encodes("stage2/aodf.der", P11_P15_AODF, want, 2);
    p11_p15_obj_clear(&want[0]);
    p11_p15_obj_clear(&want[1]);
}
END_TEST

START_TEST(key_files_stage1)
{
    p11_p15_obj pr, pu, *v = NULL;
    size_t n = 0;

    prkey_entry(&pr, "opensc key", 0x45,
                P11_P15_ACCESS_SENSITIVE | P11_P15_ACCESS_ALWAYSSENSITIVE |
                    P11_P15_ACCESS_NEVEREXTRACTABLE | P11_P15_ACCESS_LOCAL,
                1);
    pukey_entry(&pu, "opensc key", 0x45, "3F0050000200");
    decode_df("stage1/prkdf.der", P11_P15_PRKDF, &v, &n);
    ck_assert_uint_eq(n, 1);
    assert_same_key(&v[0], &pr);
    ck_assert_uint_eq(v[0].u.key.subject.len, 0);
    p11_p15_objs_free(v, n);
    decode_df("stage1/pukdf.der", P11_P15_PUKDF, &v, &n);
    ck_assert_uint_eq(n, 1);
    assert_same_key(&v[0], &pu);
    p11_p15_objs_free(v, n);
    assert_df_encodes("stage1/prkdf.der", P11_P15_PRKDF, &pr, 1);
    assert_df_encodes("stage1/pukdf.der", P11_P15_PUKDF, &pu, 1);
    p11_p15_obj_clear(&pr);
    p11_p15_obj_clear(&pu);
}
END_TEST

/* After --store-certificate OpenSC relabels key 45 after the certificate and gives it
 * the certificate's subject; --store-private-key adds key 46 (sensitive) with a PuKDF
 * entry, opensc-pkcs11's C_CreateObject key 47 with no access flags and no PuKDF entry. */
START_TEST(key_files_stage2)
{
    p11_p15_obj pr[3], pu[2], *v = NULL;
    const unsigned char *p;
    X509 *x;
    unsigned char *subject = NULL;
    vt_buf cert = {0};
    int slen;
    size_t n = 0, i;

    load("stage2/cert-0300.der", &cert);
    p = cert.data;
    x = d2i_X509(NULL, &p, (long)cert.len);
    ck_assert_ptr_nonnull(x);
    slen = i2d_X509_NAME(X509_get_subject_name(x), &subject);
    ck_assert_int_gt(slen, 0);

    prkey_entry(&pr[0], "opensc cert", 0x45,
                P11_P15_ACCESS_SENSITIVE | P11_P15_ACCESS_ALWAYSSENSITIVE |
                    P11_P15_ACCESS_NEVEREXTRACTABLE | P11_P15_ACCESS_LOCAL,
                1);
    ck_assert(vt_buf_append(&pr[0].u.key.subject, subject, (size_t)slen));
    prkey_entry(&pr[1], "imported key", 0x46, P11_P15_ACCESS_SENSITIVE, 2);
    prkey_entry(&pr[2], "p11 imported", 0x47, 0, 3);
    pukey_entry(&pu[0], "opensc key", 0x45, "3F0050000200");
    pukey_entry(&pu[1], "imported key", 0x46, "3F0050000201");

    decode_df("stage2/prkdf.der", P11_P15_PRKDF, &v, &n);
    ck_assert_uint_eq(n, 3);
    for (i = 0; i < n; i++)
        assert_same_key(&v[i], &pr[i]);
    ck_assert_uint_eq(v[0].u.key.subject.len, (size_t)slen);
    ck_assert_mem_eq(v[0].u.key.subject.data, subject, (size_t)slen);
    p11_p15_objs_free(v, n);
    decode_df("stage2/pukdf.der", P11_P15_PUKDF, &v, &n);
    ck_assert_uint_eq(n, 2);
    for (i = 0; i < n; i++)
        assert_same_key(&v[i], &pu[i]);
    p11_p15_objs_free(v, n);

    assert_df_encodes("stage2/prkdf.der", P11_P15_PRKDF, pr, 3);
    assert_df_encodes("stage2/pukdf.der", P11_P15_PUKDF, pu, 2);
    for (i = 0; i < 3; i++)
        p11_p15_obj_clear(&pr[i]);
    for (i = 0; i < 2; i++)
        p11_p15_obj_clear(&pu[i]);
    OPENSSL_free(subject);
    X509_free(x);
    vt_buf_free(&cert);
}
END_TEST

START_TEST(cdf_and_dodf_files)
{
    p11_p15_obj c, d, *v = NULL;
    size_t n = 0;

    p11_p15_obj_init(&c, P11_P15_OBJ_CERT_X509);
    strcpy(c.label, "opensc cert");
    c.flags = P11_P15_CO_MODIFIABLE;
    set_id(&c.u.cert.id, 0x45);
    set_path(&c.path, "3F0050000300");
    c.has_path = true;
    decode_df("stage2/cdf.der", P11_P15_CDF, &v, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(v[0].type, P11_P15_OBJ_CERT_X509);
    ck_assert_str_eq(v[0].label, "opensc cert");
    ck_assert_uint_eq(v[0].flags, P11_P15_CO_MODIFIABLE);
    ck_assert_uint_eq(v[0].u.cert.id.len, 1);
    ck_assert_uint_eq(v[0].u.cert.id.v[0], 0x45);
    ck_assert(!v[0].u.cert.authority);
    assert_path(&v[0].path, "3F0050000300");
    p11_p15_objs_free(v, n);
    assert_df_encodes("stage2/cdf.der", P11_P15_CDF, &c, 1);

    p11_p15_obj_init(&d, P11_P15_OBJ_DATA);
    strcpy(d.label, "opensc data");
    d.flags = P11_P15_CO_PRIVATE | P11_P15_CO_MODIFIABLE;
    set_id(&d.auth_id, 2);
    strcpy(d.u.data.app_name, "vtoken");
    strcpy(d.u.data.app_oid, "1.2.3.4");
    set_path(&d.path, "3F0050000500");
    d.has_path = true;
    decode_df("stage2/dodf.der", P11_P15_DODF, &v, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(v[0].type, P11_P15_OBJ_DATA);
    ck_assert_str_eq(v[0].label, "opensc data");
    ck_assert_uint_eq(v[0].flags, d.flags);
    ck_assert_uint_eq(v[0].auth_id.v[0], 2);
    ck_assert_str_eq(v[0].u.data.app_name, "vtoken");
    ck_assert_str_eq(v[0].u.data.app_oid, "1.2.3.4");
    assert_path(&v[0].path, "3F0050000500");
    p11_p15_objs_free(v, n);
    assert_df_encodes("stage2/dodf.der", P11_P15_DODF, &d, 1);
    p11_p15_obj_clear(&c);
    p11_p15_obj_clear(&d);
}
END_TEST

/* The public key EF holds RSAPublicKey: the certificate's key, encoded back identically. */
START_TEST(public_key_ef)
{
    vt_buf f = {0}, cert = {0}, n = {0}, e = {0}, out = {0};
    const unsigned char *p;
    BIGNUM *bn = NULL;
    X509 *x;
    uint8_t want_n[256];

    load("stage2/pubkey-0200.der", &f);
    ck_assert_int_eq(p11_p15_decode_rsa_pubkey(codec, f.data, f.len, &n, &e), P11_P15_OK);
    ck_assert_uint_eq(n.len, 256);
    ck_assert_uint_eq(e.len, 3);
    ck_assert_mem_eq(e.data, "\x01\x00\x01", 3);
    load("stage2/cert-0300.der", &cert);
    p = cert.data;
    x = d2i_X509(NULL, &p, (long)cert.len);
    ck_assert_ptr_nonnull(x);
    ck_assert(EVP_PKEY_get_bn_param(X509_get0_pubkey(x), "n", &bn));
    ck_assert_int_eq(BN_bn2binpad(bn, want_n, sizeof(want_n)), 256);
    ck_assert_mem_eq(n.data, want_n, 256);
    ck_assert_int_eq(p11_p15_encode_rsa_pubkey(codec, n.data, n.len, e.data, e.len, &out),
                     P11_P15_OK);
    ck_assert_uint_eq(out.len, f.len);
    ck_assert_mem_eq(out.data, f.data, f.len);
    BN_free(bn);
    X509_free(x);
    vt_buf_free(&f);
    vt_buf_free(&cert);
    vt_buf_free(&n);
    vt_buf_free(&e);
    vt_buf_free(&out);
}
END_TEST

/* ---- the card layer over an in-memory file system ---- */

#define MEM_FILES 16
typedef struct mem_fs {
    p11_p15_path path[MEM_FILES];
    vt_buf data[MEM_FILES];
    p11_p15_file_role role[MEM_FILES];
    size_t n;
    bool dfs_made;
} mem_fs;

static long mem_find(mem_fs *m, const p11_p15_path *p)
{
    size_t i;

    for (i = 0; i < m->n; i++)
        if (p11_p15_path_eq(&m->path[i], p))
            return (long)i;
    return -1;
}

static CK_RV mem_read(void *ctx, const p11_p15_path *p, vt_buf *out, bool *found)
{
    mem_fs *m = ctx;
    long i = mem_find(m, p);

    vt_buf_clear(out);
    *found = i >= 0;
    if (i >= 0)
        ck_assert(vt_buf_append(out, m->data[i].data, m->data[i].len));
    return CKR_OK;
}

/* As a card with fixed-size EFs: made at size (or len) bytes, the rest zeros. */
static CK_RV mem_write(void *ctx, const p11_p15_path *p, p11_p15_file_role role, size_t size,
                       const uint8_t *data, size_t len)
{
    mem_fs *m = ctx;
    long i = mem_find(m, p);

    if (i < 0) {
        ck_assert_uint_lt(m->n, MEM_FILES);
        i = (long)m->n++;
        m->path[i] = *p;
        m->role[i] = role;
        ck_assert(vt_buf_reserve(&m->data[i], size > len ? size : len));
        m->data[i].len = size > len ? size : len;
    }
    ck_assert_uint_ge(m->data[i].len, len);
    memset(m->data[i].data, 0, m->data[i].len);
    if (len)
        memcpy(m->data[i].data, data, len);
    return CKR_OK;
}

static CK_RV mem_remove(void *ctx, const p11_p15_path *p)
{
    (void)ctx;
    (void)p;
    return CKR_OK;
}

static CK_RV mem_create_df(void *ctx, const p11_p15_path *p)
{
    mem_fs *m = ctx;

    assert_path(p, "3F005000");
    m->dfs_made = true;
    return CKR_OK;
}

static const vt_buf *mem_file(mem_fs *m, const char *hex)
{
    p11_p15_path p;
    long i;

    set_path(&p, hex);
    i = mem_find(m, &p);
    ck_assert_msg(i >= 0, "no file %s", hex);
    return &m->data[i];
}

static void assert_same_file(mem_fs *m, const char *path, const char *vector)
{
    vt_buf f = {0};
    const vt_buf *ours = mem_file(m, path);

    load(vector, &f);
    ck_assert_uint_eq(ours->len, f.len);
    ck_assert_mem_eq(ours->data, f.data, f.len);
    vt_buf_free(&f);
}

/* A new application and then OpenSC's key pair entries, through p11_p15_card_*: EF(DIR),
 * ODF, AODF, PrKDF and PuKDF come out as the whole files OpenSC wrote (sizes and zero
 * tails included); TokenInfo too, but for the time of lastUpdate. */
START_TEST(card_layer_writes_opensc_files)
{
    mem_fs m;
    p11_p15_fs fs = {&m, mem_read, mem_write, mem_remove, mem_create_df};
    p11_p15_card card;
    p11_p15_tokeninfo ti;
    p11_p15_obj pr, pu;
    vt_buf f = {0};
    p11_p15_new_app app;
    const vt_buf *ours;
    size_t i;

    memset(&m, 0, sizeof(m));
    load("stage1/tokeninfo.der", &f);
    ck_assert_int_eq(p11_p15_decode_tokeninfo(codec, f.data, f.len, &ti), P11_P15_OK);
    memset(&app, 0, sizeof(app));
    app.label = "OpenSC made";
    app.manufacturer = "Aktiv Co.";
    app.serial = ti.serial;
    app.serial_len = ti.serial_len;
    app.so_pin_min = 8;
    app.user_pin_min = 4;
    app.so_pin_max = app.user_pin_max = 32;
    ck_assert_int_eq(p11_p15_card_init(&card), P11_P15_OK);
    ck_assert_int_eq(p11_p15_card_create(&card, &fs, &app), CKR_OK);
    ck_assert(m.dfs_made);
    assert_same_file(&m, "3F002F00", "stage1/dir.der");
    assert_same_file(&m, "3F0050006005", "stage1/aodf.der");
    /* TokenInfo: the same bytes up to lastUpdate, whose time is now */
    ours = mem_file(&m, "3F0050005032");
    ck_assert_uint_eq(ours->len, f.len);
    ck_assert_uint_eq(ours->data[1], f.data[1]);
    ck_assert_mem_eq(ours->data, f.data, 2u + f.data[1] - 15u);
    for (i = 2u + f.data[1]; i < f.len; i++)
        ck_assert_uint_eq(ours->data[i], 0);
    /* until a key is made, the ODF names the AODF alone */
    ours = mem_file(&m, "3F0050005031");
    load("stage1/odf.der", &f);
    ck_assert_uint_eq(ours->len, f.len);
    ck_assert_mem_eq(ours->data, f.data, 12);
    ck_assert_uint_eq(ours->data[12], 0);

    prkey_entry(&pr, "opensc key", 0x45,
                P11_P15_ACCESS_SENSITIVE | P11_P15_ACCESS_ALWAYSSENSITIVE |
                    P11_P15_ACCESS_NEVEREXTRACTABLE | P11_P15_ACCESS_LOCAL,
                1);
    pukey_entry(&pu, "opensc key", 0x45, "3F0050000200");
    ck_assert_int_eq(p11_p15_card_add(&card, &fs, P11_P15_PRKDF, &pr), CKR_OK);
    ck_assert_int_eq(p11_p15_card_add(&card, &fs, P11_P15_PUKDF, &pu), CKR_OK);
    assert_same_file(&m, "3F0050005031", "stage1/odf.der");
    assert_same_file(&m, "3F0050006002", "stage1/prkdf.der");
    assert_same_file(&m, "3F0050006001", "stage1/pukdf.der");
    ck_assert_int_eq(m.role[mem_find(&m, &card.dfs[0].path)], P11_P15_FILE_AODF);

    /* and it reads back */
    ck_assert_int_eq(p11_p15_card_load(&card, &fs), CKR_OK);
    ck_assert(card.present);
    ck_assert_uint_eq(card.ndfs, 3);
    ck_assert_str_eq(card.ti.label, "OpenSC made");
    ck_assert_ptr_nonnull(p11_p15_card_pin(&card, 2, NULL, NULL));
    ck_assert_int_eq(p11_p15_card_pin(&card, 2, NULL, NULL)->u.pin.min_len, 4);
    ck_assert_ptr_null(p11_p15_card_pin(&card, 3, NULL, NULL));

    p11_p15_card_free(&card);
    p11_p15_tokeninfo_clear(&ti);
    p11_p15_obj_clear(&pr);
    p11_p15_obj_clear(&pu);
    for (i = 0; i < m.n; i++)
        vt_buf_free(&m.data[i]);
    vt_buf_free(&f);
}
END_TEST

void pkcs15_vectors_tcases(Suite *s)
{
    TCase *tc = tcase_create("opensc-0.23 files");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, dir_record);
    tcase_add_test(tc, odf_files);
    tcase_add_test(tc, tokeninfo_file);
    tcase_add_test(tc, aodf_file);
    tcase_add_test(tc, key_files_stage1);
    tcase_add_test(tc, key_files_stage2);
    tcase_add_test(tc, cdf_and_dodf_files);
    tcase_add_test(tc, public_key_ef);
    tcase_add_test(tc, card_layer_writes_opensc_files);
    suite_add_tcase(s, tc);
}
