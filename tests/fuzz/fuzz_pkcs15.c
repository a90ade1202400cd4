/* fuzz_pkcs15: the module's PKCS#15 decoders (EF(DIR), ODF, TokenInfo, the nine DF types,
 * RSAPublicKey) on any bytes. The first input byte picks the decoder (mod 13: 0-8 the DF
 * types, 9 ODF, 10 TokenInfo, 11 EF(DIR), 12 RSAPublicKey), the rest is the file.
 * Properties: no crash, leak or read outside the input; outputs within their declared
 * bounds; and what decodes encodes, and the encoding decodes again to the same shape. */
#include <stdlib.h>
#include <string.h>

#include "pkcs15.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                                                 \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

static p11_p15_codec *codec;

static void check_obj(const p11_p15_obj *o)
{
    REQUIRE(memchr(o->label, '\0', sizeof(o->label)) != NULL);
    REQUIRE(o->auth_id.len <= P11_P15_MAX_ID);
    REQUIRE(!o->has_path || o->path.len <= P11_P15_MAX_PATH);
    if (p11_p15_obj_is_prkey(o->type) || p11_p15_obj_is_pubkey(o->type))
        REQUIRE(o->u.key.id.len <= P11_P15_MAX_ID);
    if (o->type == P11_P15_OBJ_CERT_X509)
        REQUIRE(o->u.cert.id.len <= P11_P15_MAX_ID);
    if (o->type == P11_P15_OBJ_DATA)
        REQUIRE(memchr(o->u.data.app_oid, '\0', sizeof(o->u.data.app_oid)) != NULL);
    if (o->type == P11_P15_OBJ_AUTH_PIN)
        REQUIRE(o->u.pin.auth_id.len <= P11_P15_MAX_ID);
}

static void df(p11_p15_df_type type, const uint8_t *d, size_t n)
{
    p11_p15_obj *objs = NULL, *back = NULL;
    size_t nobjs = 0, nback = 0;
    vt_buf enc = {0};
    if (p11_p15_decode_df(codec, type, d, n, &objs, &nobjs) != P11_P15_OK) {
        REQUIRE(objs == NULL || nobjs == 0);
        p11_p15_objs_free(objs, nobjs);
        return;
    }
    for (size_t i = 0; i < nobjs; i++) {
        p11_p15_obj copy;
        check_obj(&objs[i]);
        p11_p15_obj_init(&copy, P11_P15_OBJ_UNKNOWN);
        REQUIRE(p11_p15_obj_copy(&copy, &objs[i]) == P11_P15_OK);
        p11_p15_obj_clear(&copy);
    }
    if (p11_p15_encode_df(codec, objs, nobjs, &enc) == P11_P15_OK) {
        REQUIRE(p11_p15_decode_df(codec, type, enc.data, enc.len, &back, &nback) == P11_P15_OK);
        REQUIRE(nback == nobjs);
        for (size_t i = 0; i < nobjs; i++)
            REQUIRE(back[i].type == objs[i].type);
    }
    p11_p15_objs_free(back, nback);
    p11_p15_objs_free(objs, nobjs);
    vt_buf_free(&enc);
}

static void odf(const uint8_t *d, size_t n)
{
    p11_p15_odf_entry e[P11_P15_MAX_ODF], e2[P11_P15_MAX_ODF];
    size_t ne = 0, ne2 = 0;
    vt_buf enc = {0};
    if (p11_p15_decode_odf(codec, d, n, e, P11_P15_MAX_ODF, &ne) != P11_P15_OK)
        return;
    REQUIRE(ne <= P11_P15_MAX_ODF);
    for (size_t i = 0; i < ne; i++)
        REQUIRE((unsigned)e[i].type < P11_P15_DF_TYPES && e[i].path.len <= P11_P15_MAX_PATH);
    if (p11_p15_encode_odf(codec, e, ne, &enc) == P11_P15_OK) {
        REQUIRE(p11_p15_decode_odf(codec, enc.data, enc.len, e2, P11_P15_MAX_ODF, &ne2) ==
                P11_P15_OK);
        REQUIRE(ne2 == ne);
        for (size_t i = 0; i < ne; i++)
            REQUIRE(e2[i].type == e[i].type && p11_p15_path_eq(&e2[i].path, &e[i].path));
    }
    vt_buf_free(&enc);
}

static void tokeninfo(const uint8_t *d, size_t n)
{
    p11_p15_tokeninfo ti, back;
    vt_buf enc = {0};
    memset(&ti, 0, sizeof(ti));
    memset(&back, 0, sizeof(back));
    if (p11_p15_decode_tokeninfo(codec, d, n, &ti) == P11_P15_OK) {
        REQUIRE(ti.serial_len <= sizeof(ti.serial));
        REQUIRE(memchr(ti.label, '\0', sizeof(ti.label)) != NULL);
        REQUIRE(memchr(ti.manufacturer, '\0', sizeof(ti.manufacturer)) != NULL);
        REQUIRE(memchr(ti.last_update, '\0', sizeof(ti.last_update)) != NULL);
        if (p11_p15_encode_tokeninfo(codec, &ti, &enc) == P11_P15_OK) {
            REQUIRE(p11_p15_decode_tokeninfo(codec, enc.data, enc.len, &back) == P11_P15_OK);
            REQUIRE(back.serial_len == ti.serial_len);
            REQUIRE(strcmp(back.label, ti.label) == 0);
        }
    }
    p11_p15_tokeninfo_clear(&ti);
    p11_p15_tokeninfo_clear(&back);
    vt_buf_free(&enc);
}

static void dir(const uint8_t *d, size_t n)
{
    p11_p15_dirrec r[P11_P15_MAX_DIRRECS], r2[P11_P15_MAX_DIRRECS];
    size_t nr = 0, nr2 = 0;
    vt_buf enc = {0};
    if (p11_p15_decode_dir(codec, d, n, r, P11_P15_MAX_DIRRECS, &nr) != P11_P15_OK)
        return;
    REQUIRE(nr <= P11_P15_MAX_DIRRECS);
    for (size_t i = 0; i < nr; i++)
        REQUIRE(r[i].aid_len <= sizeof(r[i].aid) && r[i].path_len <= P11_P15_MAX_PATH);
    if (p11_p15_encode_dir(codec, r, nr, &enc) == P11_P15_OK) {
        REQUIRE(p11_p15_decode_dir(codec, enc.data, enc.len, r2, P11_P15_MAX_DIRRECS, &nr2) ==
                P11_P15_OK);
        REQUIRE(nr2 == nr);
    }
    vt_buf_free(&enc);
}

static void rsa_pubkey(const uint8_t *d, size_t n)
{
    vt_buf mod = {0}, exp = {0}, enc = {0};
    if (p11_p15_decode_rsa_pubkey(codec, d, n, &mod, &exp) == P11_P15_OK &&
        p11_p15_encode_rsa_pubkey(codec, mod.data, mod.len, exp.data, exp.len, &enc) ==
            P11_P15_OK) {
        vt_buf m2 = {0}, e2 = {0};
        REQUIRE(p11_p15_decode_rsa_pubkey(codec, enc.data, enc.len, &m2, &e2) == P11_P15_OK);
        vt_buf_free(&m2);
        vt_buf_free(&e2);
    }
    vt_buf_free(&mod);
    vt_buf_free(&exp);
    vt_buf_free(&enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (codec == NULL)
        REQUIRE(p11_p15_codec_new(&codec) == P11_P15_OK);
    if (size < 1)
        return 0;
    /* a copy of exactly the file's length, so ASan sees any read past it */
    uint8_t *d = malloc(size - 1 ? size - 1 : 1);
    REQUIRE(d != NULL);
    memcpy(d, data + 1, size - 1);
    unsigned sel = data[0] % 13;
    if (sel < P11_P15_DF_TYPES)
        df((p11_p15_df_type)sel, d, size - 1);
    else if (sel == 9)
        odf(d, size - 1);
    else if (sel == 10)
        tokeninfo(d, size - 1);
    else if (sel == 11)
        dir(d, size - 1);
    else
        rsa_pubkey(d, size - 1);
    free(d);
    return 0;
}
