/* Hostile PKCS#15 files: the inputs fuzz_pkcs15 found (vectors/fuzz/fuzz_pkcs15/regress-*,
 * a selector byte then the file, as the fuzzer reads them) replayed under the fuzzer's
 * properties, and each finding pinned down on its own. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11_test.h"
#include "pkcs15.h"

#define REGRESS_DIR VT_VECTORS_DIR "/fuzz/fuzz_pkcs15"

Suite *hostile_pkcs15_suite(void); /* main.c */

static bool slurp(const char *path, vt_buf *b)
{
    uint8_t chunk[4096];
    size_t n;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        vt_buf_append(b, chunk, n);
    fclose(f);
    return !b->oom;
}

/* What decodes encodes, and the encoding decodes again (fuzz_pkcs15's property). */
static void roundtrip(const p11_p15_codec *c, unsigned sel, const uint8_t *d, size_t n,
                      const char *name)
{
    vt_buf enc = {0};
    if (sel < P11_P15_DF_TYPES) {
        p11_p15_obj *o = NULL, *o2 = NULL;
        size_t no = 0, no2 = 0;
        if (p11_p15_decode_df(c, (p11_p15_df_type)sel, d, n, &o, &no) == P11_P15_OK &&
            p11_p15_encode_df(c, o, no, &enc) == P11_P15_OK) {
            ck_assert_msg(p11_p15_decode_df(c, (p11_p15_df_type)sel, enc.data, enc.len, &o2,
                                            &no2) == P11_P15_OK,
                          "%s: DF re-encoding does not decode", name);
            ck_assert_uint_eq(no2, no);
        }
        p11_p15_objs_free(o, no);
        p11_p15_objs_free(o2, no2);
    } else if (sel == 9) {
        p11_p15_odf_entry e[P11_P15_MAX_ODF];
        size_t ne = 0;
        if (p11_p15_decode_odf(c, d, n, e, P11_P15_MAX_ODF, &ne) == P11_P15_OK &&
            p11_p15_encode_odf(c, e, ne, &enc) == P11_P15_OK)
            ck_assert_msg(p11_p15_decode_odf(c, enc.data, enc.len, e, P11_P15_MAX_ODF, &ne) ==
                              P11_P15_OK,
                          "%s: ODF re-encoding does not decode", name);
    } else if (sel == 10) {
        p11_p15_tokeninfo ti, back;
        memset(&ti, 0, sizeof(ti));
        memset(&back, 0, sizeof(back));
        if (p11_p15_decode_tokeninfo(c, d, n, &ti) == P11_P15_OK &&
            p11_p15_encode_tokeninfo(c, &ti, &enc) == P11_P15_OK)
            ck_assert_msg(p11_p15_decode_tokeninfo(c, enc.data, enc.len, &back) == P11_P15_OK,
                          "%s: TokenInfo re-encoding does not decode", name);
        p11_p15_tokeninfo_clear(&ti);
        p11_p15_tokeninfo_clear(&back);
    } else if (sel == 11) {
        p11_p15_dirrec r[P11_P15_MAX_DIRRECS];
        size_t nr = 0;
        if (p11_p15_decode_dir(c, d, n, r, P11_P15_MAX_DIRRECS, &nr) == P11_P15_OK &&
            p11_p15_encode_dir(c, r, nr, &enc) == P11_P15_OK)
            ck_assert_msg(p11_p15_decode_dir(c, enc.data, enc.len, r, P11_P15_MAX_DIRRECS, &nr) ==
                              P11_P15_OK,
                          "%s: EF(DIR) re-encoding does not decode", name);
    } else {
        vt_buf m = {0}, e = {0};
        if (p11_p15_decode_rsa_pubkey(c, d, n, &m, &e) == P11_P15_OK &&
            p11_p15_encode_rsa_pubkey(c, m.data, m.len, e.data, e.len, &enc) == P11_P15_OK) {
            vt_buf m2 = {0}, e2 = {0};
            ck_assert(p11_p15_decode_rsa_pubkey(c, enc.data, enc.len, &m2, &e2) == P11_P15_OK);
            vt_buf_free(&m2);
            vt_buf_free(&e2);
        }
        vt_buf_free(&m);
        vt_buf_free(&e);
    }
    vt_buf_free(&enc);
}

START_TEST(test_fuzz_regressions_replay)
{
    p11_p15_codec *c = NULL;
    DIR *d = opendir(REGRESS_DIR);
    struct dirent *e;
    size_t n = 0;
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(p11_p15_codec_new(&c), P11_P15_OK);
    while ((e = readdir(d)) != NULL) {
        char path[1024];
        vt_buf in = {0};
        if (strncmp(e->d_name, "regress-", 8) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", REGRESS_DIR, e->d_name);
        ck_assert(slurp(path, &in));
        ck_assert_uint_ge(in.len, 1);
        /* an exact-size copy, so the sanitizer sees a read past the file */
        uint8_t *copy = malloc(in.len - 1 ? in.len - 1 : 1);
        memcpy(copy, in.data + 1, in.len - 1);
        roundtrip(c, in.data[0] % 13u, copy, in.len - 1, e->d_name);
        free(copy);
        vt_buf_free(&in);
        n++;
    }
    closedir(d);
    ck_assert_uint_ge(n, 1);
    p11_p15_codec_free(c);
}
END_TEST

/* TokenInfo whose lastUpdate GeneralizedTime holds control bytes and a NUL: libtasn1
 * takes it, but the text we kept re-encoded as a time no decoder accepts. Refused as
 * malformed; a well-formed time is kept exactly. */
START_TEST(test_tokeninfo_bad_time)
{
    /* version 0, serialNumber 1234, tokenflags, lastUpdate [5] GeneralizedTime */
    static const uint8_t good[] = {0x30, 0x1e, 0x02, 0x01, 0x00, 0x04, 0x02, 0x12, 0x34, 0x03, 0x02,
                                   0x04, 0x10, 0xa5, 0x11, 0x18, 0x0f, '2',  '0',  '2',  '6',  '1',
                                   '1',  '2',  '1',  '1',  '2',  '3',  '4',  '4',  '9',  'Z'};
    const size_t t = 17; /* the time's first character */
    uint8_t bad[sizeof(good)];
    p11_p15_codec *c = NULL;
    p11_p15_tokeninfo ti;
    vt_buf enc = {0};
    ck_assert_int_eq(p11_p15_codec_new(&c), P11_P15_OK);

    memset(&ti, 0, sizeof(ti));
    ck_assert_int_eq(p11_p15_decode_tokeninfo(c, good, sizeof(good), &ti), P11_P15_OK);
    ck_assert_str_eq(ti.last_update, "20261121123449Z");
    ck_assert_int_eq(p11_p15_encode_tokeninfo(c, &ti, &enc), P11_P15_OK);
    ck_assert_uint_eq(enc.len, sizeof(good));
    ck_assert_mem_eq(enc.data, good, sizeof(good));
    p11_p15_tokeninfo_clear(&ti);

    memcpy(bad, good, sizeof(good));
    bad[t] = 0x0f; /* "\x0f" then a NUL: what the fuzzer found */
    bad[t + 1] = 0x00;
    ck_assert_int_eq(p11_p15_decode_tokeninfo(c, bad, sizeof(bad), &ti), P11_P15_ERR_DER);
    memcpy(bad, good, sizeof(good));
    bad[t + 2] = 'x';
    ck_assert_int_eq(p11_p15_decode_tokeninfo(c, bad, sizeof(bad), &ti), P11_P15_ERR_DER);
    vt_buf_free(&enc);
    p11_p15_codec_free(c);
}
END_TEST

Suite *hostile_pkcs15_suite(void)
{
    Suite *s = suite_create("hostile_pkcs15");
    TCase *tc = tcase_create("hostile_pkcs15");
    tcase_add_test(tc, test_fuzz_regressions_replay);
    tcase_add_test(tc, test_tokeninfo_bad_time);
    suite_add_tcase(s, tc);
    return s;
}
