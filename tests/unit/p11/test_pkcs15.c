/* PKCS#15 codec: entries, ODF, TokenInfo and EF(DIR) decode to the right fields and
 * encode to the bytes OpenSC writes (its encoder omits DEFAULT and zero-valued optional
 * fields, writes padChar always, and tags subclass/type attributes explicitly);
 * unknown entries survive a rewrite; malformed input is refused without crashing. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "p11_test.h"
#include "pkcs15.h"

/* Encodings derived by hand from OpenSC 0.23's encoder rules (asn1.c, pkcs15-*.c) for what
 * pkcs15-init writes with the rutoken_ecp profile, with other ids and labels. The files
 * OpenSC really wrote are checked in test_pkcs15_vectors.c. (HEX_DIR has an empty AID:
 * a reader must take one; OpenSC writes the PKCS#15 AID.) */
static const char *const HEX_USER_PIN =
    "302F300E0C08557365722050494E030206C03003040102A1183016030203980A010102010402012002"
    "0120800102040100";
static const char *const HEX_SO_PIN =
    "303B301A0C145365637572697479204F6666696365722050494E030206C03003040101A11830160302"
    "00990A0101020108020120020120800101040100";
static const char *const HEX_PRKEY =
    "304F30140C0B50726976617465204B6579030206C0040102302104147B42C9A5D464B2160E5C81BDA2"
    "E42A3FD3C4356403020520030203B8020101A1143012300C040A3F00100010006002000102020800";
static const char *const HEX_PUBKEY =
    "304130110C0B50726976617465204B657903020640301A04147B42C9A5D464B2160E5C81BDA2E42A3F"
    "D3C4356403020102A110300E300804063F005000020002020800";
static const char *const HEX_CERT =
    "303930110C0B436572746966696361746503020640301604147B42C9A5D464B2160E5C81BDA2E42A3F"
    "D3C43564A10C300A300804063F0050000300";
static const char *const HEX_DATA =
    "3028300C0C066D796461746103020640300C0C056D7961707006032A0304A10A300804063F00500004"
    "00";
static const char *const HEX_ODF =
    "A80A300804063F0050006005A00A300804063F0050006002A10A300804063F0050006001A40A300804"
    "063F0050006004A70A300804063F0050006006";
static const char *const HEX_TOKENINFO =
    "303C020100040800112233445566770C09416B74697620436F2E800B5275746F6B656E204543500302"
    "0410A511180F32303234303130323033303430355A";
static const char *const HEX_DIR = "61124F0050084B415A544F4B454E51043F005000";

static const uint8_t KID[20] = {0x7b, 0x42, 0xc9, 0xa5, 0xd4, 0x64, 0xb2, 0x16, 0x0e, 0x5c,
                                0x81, 0xbd, 0xa2, 0xe4, 0x2a, 0x3f, 0xd3, 0xc4, 0x35, 0x64};

static p11_p15_codec *codec;

/* memmem is not C11 */
static const void *find(const void *hay, size_t hlen, const void *needle, size_t nlen)
{
    const uint8_t *h = hay;
    size_t i;

    for (i = 0; nlen <= hlen && i + nlen <= hlen; i++)
        if (memcmp(h + i, needle, nlen) == 0)
            return h + i;
    return NULL;
}

static void setup(void)
{
    ck_assert_int_eq(p11_p15_codec_new(&codec), P11_P15_OK);
}

static void teardown(void)
{
    p11_p15_codec_free(codec);
    codec = NULL;
}

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
    long n = vt_hex_decode(h, out, cap);
    ck_assert_int_ge(n, 0);
    return (size_t)n;
}

/* Decode one entry of a DF; exactly one must come out. */
static void decode_one(p11_p15_df_type t, const char *hex, p11_p15_obj *o)
{
    uint8_t der[1024];
    size_t len = unhex(hex, der, sizeof(der)), n = 0;
    p11_p15_obj *v = NULL;

    ck_assert_int_eq(p11_p15_decode_df(codec, t, der, len, &v, &n), P11_P15_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(p11_p15_obj_copy(o, &v[0]), P11_P15_OK);
    p11_p15_objs_free(v, n);
}

static void assert_encodes_to(const p11_p15_obj *o, const char *hex)
{
    uint8_t want[1024];
    size_t wlen = unhex(hex, want, sizeof(want));
    vt_buf out = {0};

    ck_assert_int_eq(p11_p15_encode_obj(codec, o, &out), P11_P15_OK);
    ck_assert_uint_eq(out.len, wlen);
    ck_assert_mem_eq(out.data, want, wlen);
    vt_buf_free(&out);
}

/* Both ways: from the entry's own DER, and built from the fields alone. */
static void assert_round_trips(p11_p15_obj *o, const char *hex)
{
    assert_encodes_to(o, hex);
    vt_buf_free(&o->raw);
    assert_encodes_to(o, hex);
}

START_TEST(user_pin_entry)
{
    p11_p15_obj o;

    decode_one(P11_P15_AODF, HEX_USER_PIN, &o);
    ck_assert_int_eq(o.type, P11_P15_OBJ_AUTH_PIN);
    ck_assert_str_eq(o.label, "User PIN");
    ck_assert_uint_eq(o.flags, P11_P15_CO_PRIVATE | P11_P15_CO_MODIFIABLE);
    ck_assert_uint_eq(o.u.pin.auth_id.len, 1);
    ck_assert_uint_eq(o.u.pin.auth_id.v[0], 2);
    ck_assert_uint_eq(o.u.pin.flags, P11_P15_PIN_CASE_SENSITIVE | P11_P15_PIN_UNBLOCK_DISABLED |
                                         P11_P15_PIN_INITIALIZED);
    ck_assert_int_eq(o.u.pin.type, P11_P15_PIN_TYPE_ASCII);
    ck_assert_int_eq(o.u.pin.min_len, 4);
    ck_assert_int_eq(o.u.pin.stored_len, 32);
    ck_assert_int_eq(o.u.pin.max_len, 32);
    ck_assert_int_eq(o.u.pin.reference, 2);
    ck_assert(o.u.pin.has_pad);
    ck_assert_uint_eq(o.u.pin.pad_char, 0);
    ck_assert(!o.has_path);
    assert_round_trips(&o, HEX_USER_PIN);
    p11_p15_obj_clear(&o);
}
END_TEST

START_TEST(so_pin_entry)
{
    p11_p15_obj o;

    decode_one(P11_P15_AODF, HEX_SO_PIN, &o);
    ck_assert_str_eq(o.label, "Security Officer PIN");
    ck_assert(o.u.pin.flags & P11_P15_PIN_SO_PIN);
    ck_assert_int_eq(o.u.pin.reference, 1);
    ck_assert_int_eq(o.u.pin.min_len, 8);
    assert_round_trips(&o, HEX_SO_PIN);
    p11_p15_obj_clear(&o);
}
END_TEST

START_TEST(private_key_entry)
{
    p11_p15_obj o;
    static const uint8_t path[] = {0x3F, 0x00, 0x10, 0x00, 0x10, 0x00, 0x60, 0x02, 0x00, 0x01};

    decode_one(P11_P15_PRKDF, HEX_PRKEY, &o);
    ck_assert_int_eq(o.type, P11_P15_OBJ_PRKEY_RSA);
    ck_assert_str_eq(o.label, "Private Key");
    ck_assert_uint_eq(o.auth_id.len, 1);
    ck_assert_uint_eq(o.auth_id.v[0], 2);
    ck_assert_uint_eq(o.u.key.id.len, 20);
    ck_assert_mem_eq(o.u.key.id.v, KID, 20);
    ck_assert_uint_eq(o.u.key.usage, P11_P15_USAGE_SIGN);
    ck_assert(o.u.key.native);
    ck_assert_uint_eq(o.u.key.access_flags,
                      P11_P15_ACCESS_SENSITIVE | P11_P15_ACCESS_ALWAYSSENSITIVE |
                          P11_P15_ACCESS_NEVEREXTRACTABLE | P11_P15_ACCESS_LOCAL);
    ck_assert_int_eq(o.u.key.key_reference, 1);
    ck_assert_uint_eq(o.u.key.modulus_bits, 2048);
    ck_assert(o.has_path);
    ck_assert_uint_eq(o.path.len, sizeof(path));
    ck_assert_mem_eq(o.path.v, path, sizeof(path));
    ck_assert_int_lt(o.path.count, 0);
    ck_assert_uint_eq(o.u.key.subject.len, 0);
    assert_round_trips(&o, HEX_PRKEY);
    p11_p15_obj_clear(&o);
}
END_TEST

START_TEST(public_key_and_cert_entries)
{
    p11_p15_obj o;

    decode_one(P11_P15_PUKDF, HEX_PUBKEY, &o);
    ck_assert_int_eq(o.type, P11_P15_OBJ_PUBKEY_RSA);
    ck_assert_uint_eq(o.flags, P11_P15_CO_MODIFIABLE);
    ck_assert_uint_eq(o.auth_id.len, 0);
    ck_assert_uint_eq(o.u.key.usage, P11_P15_USAGE_VERIFY);
    ck_assert_int_eq(o.u.key.key_reference, -1);
    ck_assert_uint_eq(o.path.len, 6);
    assert_round_trips(&o, HEX_PUBKEY);
    p11_p15_obj_clear(&o);

    decode_one(P11_P15_CDF, HEX_CERT, &o);
    ck_assert_int_eq(o.type, P11_P15_OBJ_CERT_X509);
    ck_assert_str_eq(o.label, "Certificate");
    ck_assert(!o.u.cert.authority);
    ck_assert_mem_eq(o.u.cert.id.v, KID, 20);
    ck_assert_uint_eq(p11_p15_path_last_fid(&o.path), 0x0300);
    assert_round_trips(&o, HEX_CERT);
    p11_p15_obj_clear(&o);
}
END_TEST

START_TEST(data_object_entry)
{
    p11_p15_obj o;

    decode_one(P11_P15_DODF, HEX_DATA, &o);
    ck_assert_int_eq(o.type, P11_P15_OBJ_DATA);
    ck_assert_str_eq(o.label, "mydata");
    ck_assert_str_eq(o.u.data.app_name, "myapp");
    ck_assert_str_eq(o.u.data.app_oid, "1.2.3.4");
    ck_assert_uint_eq(p11_p15_path_last_fid(&o.path), 0x0400);
    assert_round_trips(&o, HEX_DATA);
    p11_p15_obj_clear(&o);
}
END_TEST

/* A certificate stored in the CDF itself: [0] wraps the certificate's own DER. */
START_TEST(direct_value_round_trip)
{
    static const uint8_t fake_cert[] = {0x30, 0x03, 0x02, 0x01, 0x05};
    p11_p15_obj o, *v = NULL;
    vt_buf der = {0};
    size_t n = 0;

    p11_p15_obj_init(&o, P11_P15_OBJ_CERT_X509);
    strcpy(o.label, "direct");
    o.u.cert.id.v[0] = 0x45;
    o.u.cert.id.len = 1;
    o.u.cert.authority = true;
    ck_assert(vt_buf_append(&o.direct, fake_cert, sizeof(fake_cert)));
    ck_assert_int_eq(p11_p15_encode_obj(codec, &o, &der), P11_P15_OK);
    /* ... A1 len 30 len A0 05 <cert> */
    ck_assert_mem_eq(der.data + der.len - 7, "\xA0\x05\x30\x03\x02\x01\x05", 7);
    ck_assert_int_eq(p11_p15_decode_df(codec, P11_P15_CDF, der.data, der.len, &v, &n), P11_P15_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert(!v[0].has_path);
    ck_assert(v[0].u.cert.authority);
    ck_assert_uint_eq(v[0].direct.len, sizeof(fake_cert));
    ck_assert_mem_eq(v[0].direct.data, fake_cert, sizeof(fake_cert));
    p11_p15_objs_free(v, n);
    p11_p15_obj_clear(&o);
    vt_buf_free(&der);
}
END_TEST

/* A DF file as it sits in its EF: entries, then zeros up to the file size. Unknown
 * entry types (a DH key, [1]) come back unchanged. */
START_TEST(df_with_padding_and_unknown_entry)
{
    static const uint8_t dh_key[] = {0xA1, 0x04, 0x30, 0x02, 0x05, 0x00};
    uint8_t file[512] = {0}, prk[256];
    size_t plen = unhex(HEX_PRKEY, prk, sizeof(prk)), n = 0;
    p11_p15_obj *v = NULL;
    vt_buf out = {0};

    memcpy(file, prk, plen);
    memcpy(file + plen, dh_key, sizeof(dh_key));
    memcpy(file + plen + sizeof(dh_key), prk, plen);
    ck_assert_int_eq(p11_p15_decode_df(codec, P11_P15_PRKDF, file, sizeof(file), &v, &n),
                     P11_P15_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(v[0].type, P11_P15_OBJ_PRKEY_RSA);
    ck_assert_int_eq(v[1].type, P11_P15_OBJ_UNKNOWN);
    ck_assert_int_eq(v[2].type, P11_P15_OBJ_PRKEY_RSA);
    ck_assert_int_eq(p11_p15_encode_df(codec, v, n, &out), P11_P15_OK);
    ck_assert_uint_eq(out.len, 2 * plen + sizeof(dh_key));
    ck_assert_mem_eq(out.data, file, out.len);
    p11_p15_objs_free(v, n);
    vt_buf_free(&out);

    /* an empty (all zero) DF is valid and empty */
    memset(file, 0, sizeof(file));
    ck_assert_int_eq(p11_p15_decode_df(codec, P11_P15_CDF, file, sizeof(file), &v, &n),
                     P11_P15_OK);
    ck_assert_uint_eq(n, 0);
    p11_p15_objs_free(v, n);
}
END_TEST

/* Changing fields of an entry read from a card keeps what the model does not cover
 * (here: accessControlRules { { accessMode '1'B, authId 02 } } written by another tool). */
START_TEST(rewrite_keeps_unmodelled_fields)
{
    static const char *const hex_acr =
        "305A301F0C0B50726976617465204B6579030206C00401023009300703020780040102302104147B42"
        "C9A5D464B2160E5C81BDA2E42A3FD3C4356403020520030203B8020101A1143012300C040A3F001000"
        "10006002000102020800";
    static const uint8_t acr[] = {0x30, 0x09, 0x30, 0x07, 0x03, 0x02, 0x07, 0x80, 0x04, 0x01, 0x02};
    uint8_t der[256];
    size_t len = unhex(hex_acr, der, sizeof(der)), n = 0, m = 0;
    p11_p15_obj *v = NULL, *w = NULL;
    vt_buf out = {0};

    ck_assert_int_eq(p11_p15_decode_df(codec, P11_P15_PRKDF, der, len, &v, &n), P11_P15_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(v[0].label, "Private Key");
    /* untouched, it encodes to itself */
    ck_assert_int_eq(p11_p15_encode_obj(codec, &v[0], &out), P11_P15_OK);
    ck_assert_uint_eq(out.len, len);
    ck_assert_mem_eq(out.data, der, len);
    vt_buf_clear(&out);
    strcpy(v[0].label, "Renamed");
    ck_assert_int_eq(p11_p15_encode_obj(codec, &v[0], &out), P11_P15_OK);
    ck_assert_uint_eq(out.len, len - 4);
    ck_assert_ptr_nonnull(find(out.data, out.len, acr, sizeof(acr)));
    ck_assert_int_eq(p11_p15_decode_df(codec, P11_P15_PRKDF, out.data, out.len, &w, &m),
                     P11_P15_OK);
    ck_assert_uint_eq(m, 1);
    ck_assert_str_eq(w[0].label, "Renamed");
    ck_assert_int_eq(w[0].u.key.key_reference, 1);
    ck_assert_mem_eq(w[0].u.key.id.v, KID, 20);
    p11_p15_objs_free(v, n);
    p11_p15_objs_free(w, m);
    vt_buf_free(&out);
}
END_TEST

START_TEST(key_subject_name)
{
    /* Name: SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, UTF8String "Test" } } } */
    static const uint8_t name[] = {0x30, 0x0F, 0x31, 0x0D, 0x30, 0x0B, 0x06, 0x03, 0x55,
                                   0x04, 0x03, 0x0C, 0x04, 'T',  'e',  's',  't'};
    p11_p15_obj o, *v = NULL;
    vt_buf out = {0};
    size_t n = 0;

    decode_one(P11_P15_PRKDF, HEX_PRKEY, &o);
    ck_assert(vt_buf_append(&o.u.key.subject, name, sizeof(name)));
    ck_assert_int_eq(p11_p15_encode_obj(codec, &o, &out), P11_P15_OK);
    /* OpenSC's layout: [0] { SEQUENCE { Name } } */
    ck_assert_ptr_nonnull(find(out.data, out.len, "\xA0\x13\x30\x11\x30\x0F", 6));
    ck_assert_int_eq(p11_p15_decode_df(codec, P11_P15_PRKDF, out.data, out.len, &v, &n),
                     P11_P15_OK);
    ck_assert_uint_eq(v[0].u.key.subject.len, sizeof(name));
    ck_assert_mem_eq(v[0].u.key.subject.data, name, sizeof(name));
    p11_p15_objs_free(v, n);
    p11_p15_obj_clear(&o);
    vt_buf_free(&out);
}
END_TEST

START_TEST(odf_round_trip)
{
    uint8_t der[256];
    size_t len = unhex(HEX_ODF, der, sizeof(der)), n = 0;
    p11_p15_odf_entry e[P11_P15_MAX_ODF];
    vt_buf out = {0};

    ck_assert_int_eq(p11_p15_decode_odf(codec, der, len, e, VT_ARRAY_LEN(e), &n), P11_P15_OK);
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(e[0].type, P11_P15_AODF);
    ck_assert_uint_eq(p11_p15_path_last_fid(&e[0].path), 0x6005);
    ck_assert_int_eq(e[1].type, P11_P15_PRKDF);
    ck_assert_int_eq(e[2].type, P11_P15_PUKDF);
    ck_assert_int_eq(e[3].type, P11_P15_CDF);
    ck_assert_int_eq(e[4].type, P11_P15_DODF);
    ck_assert_uint_eq(p11_p15_path_last_fid(&e[4].path), 0x6006);
    ck_assert_int_eq(p11_p15_encode_odf(codec, e, n, &out), P11_P15_OK);
    ck_assert_uint_eq(out.len, len);
    ck_assert_mem_eq(out.data, der, len);
    /* too many for the caller's array */
    ck_assert_int_eq(p11_p15_decode_odf(codec, der, len, e, 2, &n), P11_P15_ERR_RANGE);
    vt_buf_free(&out);
}
END_TEST

START_TEST(tokeninfo_round_trip)
{
    uint8_t der[256] = {0};
    size_t len = unhex(HEX_TOKENINFO, der, sizeof(der));
    p11_p15_tokeninfo ti, fresh;
    vt_buf out = {0};

    /* in its 128-byte EF, zero padded */
    ck_assert_int_eq(p11_p15_decode_tokeninfo(codec, der, 128, &ti), P11_P15_OK);
    ck_assert_int_eq(ti.version, 0);
    ck_assert_uint_eq(ti.serial_len, 8);
    ck_assert_str_eq(ti.manufacturer, "Aktiv Co.");
    ck_assert(ti.has_label);
    ck_assert_str_eq(ti.label, "Rutoken ECP");
    ck_assert(ti.has_flags);
    ck_assert_uint_eq(ti.flags, P11_P15_TOKEN_EID_COMPLIANT);
    ck_assert_str_eq(ti.last_update, "20240102030405Z");
    ck_assert_int_eq(p11_p15_encode_tokeninfo(codec, &ti, &out), P11_P15_OK);
    ck_assert_uint_eq(out.len, len);
    ck_assert_mem_eq(out.data, der, len);

    /* from fields only */
    fresh = ti;
    memset(&fresh.raw, 0, sizeof(fresh.raw));
    vt_buf_clear(&out);
    ck_assert_int_eq(p11_p15_encode_tokeninfo(codec, &fresh, &out), P11_P15_OK);
    ck_assert_uint_eq(out.len, len);
    ck_assert_mem_eq(out.data, der, len);

    /* relabel: only the label changes */
    strcpy(ti.label, "KAZTOKEN");
    vt_buf_clear(&out);
    ck_assert_int_eq(p11_p15_encode_tokeninfo(codec, &ti, &out), P11_P15_OK);
    p11_p15_tokeninfo_clear(&ti);
    ck_assert_int_eq(p11_p15_decode_tokeninfo(codec, out.data, out.len, &ti), P11_P15_OK);
    ck_assert_str_eq(ti.label, "KAZTOKEN");
    ck_assert_str_eq(ti.manufacturer, "Aktiv Co.");
    ck_assert_uint_eq(ti.serial_len, 8);
    p11_p15_tokeninfo_clear(&ti);
    vt_buf_free(&out);
}
END_TEST

START_TEST(dir_round_trip)
{
    uint8_t der[128] = {0};
    size_t len = unhex(HEX_DIR, der, sizeof(der)), n = 0;
    p11_p15_dirrec apps[P11_P15_MAX_DIRRECS];
    vt_buf out = {0};

    ck_assert_int_eq(p11_p15_decode_dir(codec, der, sizeof(der), apps, VT_ARRAY_LEN(apps), &n),
                     P11_P15_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(apps[0].aid_len, 0);
    ck_assert_str_eq(apps[0].label, "KAZTOKEN");
    ck_assert_uint_eq(apps[0].path_len, 4);
    ck_assert_mem_eq(apps[0].path, "\x3F\x00\x50\x00", 4);
    ck_assert_int_eq(p11_p15_encode_dir(codec, apps, n, &out), P11_P15_OK);
    ck_assert_uint_eq(out.len, len);
    ck_assert_mem_eq(out.data, der, len);
    vt_buf_free(&out);
}
END_TEST

START_TEST(rsa_public_key_der)
{
    uint8_t mod[256], e[3] = {0x01, 0x00, 0x01};
    vt_buf der = {0}, n = {0}, x = {0};

    memset(mod, 0xC5, sizeof(mod)); /* top bit set: needs a 00 in front */
    ck_assert_int_eq(p11_p15_encode_rsa_pubkey(codec, mod, sizeof(mod), e, 3, &der), P11_P15_OK);
    ck_assert_uint_eq(der.len, 4 + 4 + 257 + 5);
    ck_assert_mem_eq(der.data, "\x30\x82\x01\x0A\x02\x82\x01\x01\x00\xC5", 10);
    ck_assert_mem_eq(der.data + der.len - 5, "\x02\x03\x01\x00\x01", 5);
    ck_assert_int_eq(p11_p15_decode_rsa_pubkey(codec, der.data, der.len, &n, &x), P11_P15_OK);
    ck_assert_uint_eq(n.len, sizeof(mod));
    ck_assert_mem_eq(n.data, mod, sizeof(mod));
    ck_assert_uint_eq(x.len, 3);
    ck_assert_mem_eq(x.data, e, 3);
    /* a negative modulus is not a key */
    ck_assert_int_eq(p11_p15_decode_rsa_pubkey(codec, (const uint8_t *)"\x30\x06\x02\x01\x80\x02\x01\x03", 8, &n, &x),
                     P11_P15_ERR_DER);
    vt_buf_free(&der);
    vt_buf_free(&n);
    vt_buf_free(&x);
}
END_TEST

START_TEST(paths)
{
    p11_p15_path app, rel, abs;

    ck_assert(p11_p15_path_set(&app, (const uint8_t *)"\x3F\x00\x50\x00", 4));
    ck_assert(p11_p15_path_set(&rel, (const uint8_t *)"\x60\x02", 2));
    ck_assert(p11_p15_path_absolute(&app, &rel, &abs));
    ck_assert_uint_eq(abs.len, 6);
    ck_assert_mem_eq(abs.v, "\x3F\x00\x50\x00\x60\x02", 6);
    ck_assert(p11_p15_path_absolute(&app, &abs, &rel));
    ck_assert(p11_p15_path_eq(&rel, &abs));
    ck_assert(!p11_p15_path_set(&rel, (const uint8_t *)"\x3F", 1));
    ck_assert(p11_p15_path_append(&app, 0x6002));
    ck_assert_uint_eq(p11_p15_path_last_fid(&app), 0x6002);
}
END_TEST

/* Malformed DFs: each is refused with the given status, never a crash (ASan run). */
typedef struct bad_case {
    p11_p15_df_type df;
    const char *hex;
    p11_p15_status want;
    const char *why;
} bad_case;

static const bad_case bad[] = {
    {P11_P15_PRKDF, "30", P11_P15_ERR_DER, "tag without length"},
    {P11_P15_PRKDF, "3005300302", P11_P15_ERR_DER, "value runs past the end"},
    {P11_P15_PRKDF, "3080300000000000", P11_P15_ERR_DER, "indefinite length"},
    {P11_P15_PRKDF, "3084FFFFFFFF00", P11_P15_ERR_DER, "length far past the end"},
    {P11_P15_PRKDF, "3000", P11_P15_ERR_DER, "empty private key"},
    {P11_P15_PRKDF, "30033001", P11_P15_ERR_DER, "inner truncated"},
    {P11_P15_AODF, "3005300330010C", P11_P15_ERR_DER, "garbage in common attributes"},
    {P11_P15_AODF,
     "302F300E0C08557365722050494E030206C03003040102A1183016030203980A01010201FF02012002012080"
     "0102040100",
     P11_P15_ERR_DER, "negative minLength"},
    {P11_P15_AODF,
     "302630030C01503003040102A1183016030203980A01010201040201200201208001020401000500",
     P11_P15_ERR_DER, "trailing field after the type attributes"},
    {P11_P15_PRKDF,
     "3027300A0C014B030206C0040102300A04014503020520020101A10D300B300504033F005002020800",
     P11_P15_ERR_DER, "odd-length path"},
    {P11_P15_PRKDF,
     "3029300A0C014B030206C0040102300A04014503020520020101A10F300D300804063F0050000001020100",
     P11_P15_ERR_DER, "zero modulusLength"},
    {P11_P15_CDF, "301E30090C03410042030206403003040145A10C300A300804063F0050000300",
     P11_P15_ERR_DER, "label with an embedded NUL"},
    {P11_P15_CDF, "300E30030C01433003040145A1023000", P11_P15_ERR_DER, "certificate without value"},
    {P11_P15_CDF, "301530030C01433000A10C300A300804063F0050000300", P11_P15_ERR_DER,
     "certificate without iD"},
    {P11_P15_CDF, "301830030C01433003040145A20C300A300804063F0050000300", P11_P15_ERR_DER,
     "[2] where [1] typeAttributes belong"},
};

START_TEST(malformed_entries)
{
    uint8_t der[512];
    size_t len = unhex(bad[_i].hex, der, sizeof(der)), n = 99;
    p11_p15_obj *v = (p11_p15_obj *)1;
    p11_p15_status st;

    st = p11_p15_decode_df(codec, bad[_i].df, der, len, &v, &n);
    ck_assert_msg(st == bad[_i].want, "%s: got %s", bad[_i].why, p11_p15_strerror(st));
    ck_assert_ptr_null(v);
    ck_assert_uint_eq(n, 0);
}
END_TEST

/* An iD longer than PKCS#15 allows does not fit: refused, not truncated. */
START_TEST(oversized_id)
{
    uint8_t der[400];
    size_t len = 0, n = 0;
    p11_p15_obj *v = NULL;
    static const uint8_t head[] = {0x30, 0x82, 0x01, 0x47, 0x30, 0x03, 0x0C, 0x01, 'C',
                                   0x30, 0x82, 0x01, 0x30, 0x04, 0x82, 0x01, 0x2C};

    memcpy(der, head, sizeof(head));
    len = sizeof(head);
    memset(der + len, 0x45, 300);
    len += 300;
    len += unhex("A10C300A300804063F0050000300", der + len, sizeof(der) - len);
    ck_assert_uint_eq(len, 0x147 + 4);
    ck_assert_int_eq(p11_p15_decode_df(codec, P11_P15_CDF, der, len, &v, &n), P11_P15_ERR_RANGE);
    ck_assert_ptr_null(v);
}
END_TEST

/* Every truncation of a valid DF either decodes fewer entries or fails cleanly. */
START_TEST(truncations_never_crash)
{
    uint8_t der[512];
    size_t len = 0, cut, n;
    p11_p15_obj *v;
    const char *parts[] = {HEX_PRKEY, HEX_PRKEY};
    size_t i;

    for (i = 0; i < 2; i++)
        len += unhex(parts[i], der + len, sizeof(der) - len);
    for (cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        p11_p15_status st;

        memcpy(copy, der, cut);
        st = p11_p15_decode_df(codec, P11_P15_PRKDF, copy, cut, &v, &n);
        if (st == P11_P15_OK) {
            ck_assert_uint_le(n, 1);
            p11_p15_objs_free(v, n);
        } else {
            ck_assert_int_eq(st, P11_P15_ERR_DER);
        }
        free(copy);
    }
}
END_TEST

START_TEST(malformed_other_files)
{
    uint8_t der[64];
    size_t n;
    p11_p15_odf_entry e[4];
    p11_p15_tokeninfo ti;
    p11_p15_dirrec apps[2];

    /* ODF entry with an unknown tag [9] */
    n = unhex("A90A300804063F0050006005", der, sizeof(der));
    ck_assert_int_eq(p11_p15_decode_odf(codec, der, n, e, 4, &n), P11_P15_ERR_DER);
    /* TokenInfo that is not a SEQUENCE / lacks the version */
    n = unhex("0401003000", der, sizeof(der));
    ck_assert_int_eq(p11_p15_decode_tokeninfo(codec, der, n, &ti), P11_P15_ERR_DER);
    n = unhex("30030C0141", der, sizeof(der));
    ck_assert_int_eq(p11_p15_decode_tokeninfo(codec, der, n, &ti), P11_P15_ERR_DER);
    /* DIR record with a truncated AID */
    n = unhex("61044F0541", der, sizeof(der));
    ck_assert_int_eq(p11_p15_decode_dir(codec, der, n, apps, 2, &n), P11_P15_ERR_DER);
}
END_TEST

/* The fields a driver fills in for a new private key encode as OpenSC's would. */
START_TEST(new_private_key_matches_opensc)
{
    p11_p15_obj o;
    static const uint8_t path[] = {0x3F, 0x00, 0x10, 0x00, 0x10, 0x00, 0x60, 0x02, 0x00, 0x01};

    p11_p15_obj_init(&o, P11_P15_OBJ_PRKEY_RSA);
    strcpy(o.label, "Private Key");
    o.flags = P11_P15_CO_PRIVATE | P11_P15_CO_MODIFIABLE;
    o.auth_id.v[0] = 2;
    o.auth_id.len = 1;
    memcpy(o.u.key.id.v, KID, 20);
    o.u.key.id.len = 20;
    o.u.key.usage = P11_P15_USAGE_SIGN;
    o.u.key.access_flags = P11_P15_ACCESS_SENSITIVE | P11_P15_ACCESS_ALWAYSSENSITIVE |
                           P11_P15_ACCESS_NEVEREXTRACTABLE | P11_P15_ACCESS_LOCAL;
    o.u.key.key_reference = 1;
    o.u.key.modulus_bits = 2048;
    o.has_path = p11_p15_path_set(&o.path, path, sizeof(path));
    assert_encodes_to(&o, HEX_PRKEY);
    /* no value at all is a caller error */
    o.has_path = false;
    {
        vt_buf out = {0};
        ck_assert_int_eq(p11_p15_encode_obj(codec, &o, &out), P11_P15_ERR_ARGS);
        vt_buf_free(&out);
    }
    p11_p15_obj_clear(&o);
}
END_TEST

void pkcs15_vectors_tcases(Suite *s); /* test_pkcs15_vectors.c */

Suite *pkcs15_suite(void)
{
    Suite *s = suite_create("pkcs15");
    TCase *tc = tcase_create("codec");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, user_pin_entry);
    tcase_add_test(tc, so_pin_entry);
    tcase_add_test(tc, private_key_entry);
    tcase_add_test(tc, public_key_and_cert_entries);
    tcase_add_test(tc, data_object_entry);
    tcase_add_test(tc, direct_value_round_trip);
    tcase_add_test(tc, df_with_padding_and_unknown_entry);
    tcase_add_test(tc, rewrite_keeps_unmodelled_fields);
    tcase_add_test(tc, key_subject_name);
    tcase_add_test(tc, odf_round_trip);
    tcase_add_test(tc, tokeninfo_round_trip);
    tcase_add_test(tc, dir_round_trip);
    tcase_add_test(tc, rsa_public_key_der);
    tcase_add_test(tc, paths);
    tcase_add_test(tc, new_private_key_matches_opensc);
    tcase_add_loop_test(tc, malformed_entries, 0, (int)VT_ARRAY_LEN(bad));
    tcase_add_test(tc, oversized_id);
    tcase_add_test(tc, truncations_never_crash);
    tcase_add_test(tc, malformed_other_files);
    suite_add_tcase(s, tc);
    pkcs15_vectors_tcases(s);
    return s;
}
