/* Building blocks of the module: owned attribute sets, the handle map, the attribute
 * index, the option parser, the digest state codec and RSA padding. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "attrs.h"
#include "hash.h"
#include "hmap.h"
#include "index.h"
#include "object.h"
#include "options.h"
#include "p11_test.h"
#include "rsa_pad.h"

START_TEST(attrs_set_get_replace_remove)
{
    p11_attrs a = {0};
    ck_assert_rv(p11_attrs_set(&a, CKA_LABEL, "abc", 3), CKR_OK);
    ck_assert_rv(p11_attrs_set_ulong(&a, CKA_CLASS, CKO_DATA), CKR_OK);
    ck_assert_rv(p11_attrs_set_bool(&a, CKA_TOKEN, true), CKR_OK);
    ck_assert_rv(p11_attrs_set(&a, CKA_LABEL, "longer label", 12), CKR_OK);
    ck_assert_uint_eq(a.n, 3);
    const p11_attr *l = p11_attrs_get(&a, CKA_LABEL);
    ck_assert_ptr_nonnull(l);
    ck_assert_uint_eq(l->len, 12);
    ck_assert_mem_eq(l->value, "longer label", 12);
    CK_ULONG v;
    bool b;
    ck_assert(p11_attrs_get_ulong(&a, CKA_CLASS, &v));
    ck_assert_uint_eq(v, CKO_DATA);
    ck_assert(p11_attrs_get_bool(&a, CKA_TOKEN, &b) && b);
    ck_assert(!p11_attrs_get_bool(&a, CKA_LABEL, &b)); /* wrong size for a boolean */
    p11_attrs_remove(&a, CKA_CLASS);
    ck_assert_ptr_null(p11_attrs_get(&a, CKA_CLASS));
    ck_assert_uint_eq(a.n, 2);
    ck_assert_rv(p11_attrs_set(&a, CKA_VALUE, NULL, 0), CKR_OK);
    ck_assert_uint_eq(p11_attrs_get(&a, CKA_VALUE)->len, 0);
    ck_assert_rv(p11_attrs_set(&a, CKA_VALUE, NULL, 4), CKR_ARGUMENTS_BAD);
    p11_attrs_free(&a);
    ck_assert_uint_eq(a.n, 0);
}
END_TEST

START_TEST(attrs_from_template_rules)
{
    p11_attrs a = {0};
    CK_ULONG cls = CKO_CERTIFICATE, other = CKO_DATA;
    CK_ATTRIBUTE dup_same[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_CLASS, &cls, sizeof(cls)}};
    CK_ATTRIBUTE dup_diff[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_CLASS, &other, sizeof(other)}};
    CK_ATTRIBUTE null_val[] = {{CKA_LABEL, NULL, 5}};
    ck_assert_rv(p11_attrs_from_template(&a, dup_same, 2), CKR_OK);
    ck_assert_uint_eq(a.n, 1);
    ck_assert_rv(p11_attrs_from_template(&a, dup_diff, 2), CKR_TEMPLATE_INCONSISTENT);
    ck_assert_uint_eq(a.n, 1); /* unchanged on failure */
    ck_assert_rv(p11_attrs_from_template(&a, null_val, 1), CKR_ATTRIBUTE_VALUE_INVALID);
    ck_assert(p11_attrs_match(&a, dup_same, 1));
    ck_assert(!p11_attrs_match(&a, dup_diff + 1, 1));
    p11_attrs b = {0};
    ck_assert_rv(p11_attrs_copy(&b, &a), CKR_OK);
    ck_assert(p11_attrs_match(&b, dup_same, 1));
    p11_attrs_free(&a);
    p11_attrs_free(&b);
}
END_TEST

START_TEST(hmap_put_get_delete_many)
{
    p11_hmap m = {0};
    static int vals[5000];
    for (CK_ULONG k = 1; k <= 5000; k++)
        ck_assert_rv(p11_hmap_put(&m, k, &vals[k - 1]), CKR_OK);
    for (CK_ULONG k = 1; k <= 5000; k += 2)
        ck_assert_ptr_eq(p11_hmap_del(&m, k), &vals[k - 1]);
    for (CK_ULONG k = 1; k <= 5000; k++)
        ck_assert_ptr_eq(p11_hmap_get(&m, k), (k % 2) ? NULL : &vals[k - 1]);
    ck_assert_uint_eq(m.live, 2500);
    size_t pos = 0, seen = 0;
    CK_ULONG key;
    void *val;
    while (p11_hmap_next(&m, &pos, &key, &val)) {
        ck_assert_ptr_eq(val, &vals[key - 1]);
        seen++;
    }
    ck_assert_uint_eq(seen, 2500);
    ck_assert_rv(p11_hmap_put(&m, 0, &vals[0]), CKR_ARGUMENTS_BAD);
    ck_assert_ptr_null(p11_hmap_get(&m, 0));
    p11_hmap_free(&m);
}
END_TEST

START_TEST(index_narrows_and_forgets)
{
    p11_index ix = {0};
    p11_object objs[3];
    memset(objs, 0, sizeof(objs));
    CK_ULONG cls = CKO_CERTIFICATE;
    for (int i = 0; i < 3; i++) {
        p11_attrs_set_ulong(&objs[i].t.attrs, CKA_CLASS, cls);
        p11_attrs_set(&objs[i].t.attrs, CKA_ID, i == 2 ? "B" : "A", 1);
        ck_assert_rv(p11_index_add(&ix, &objs[i]), CKR_OK);
    }
    CK_ATTRIBUTE q[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_ID, "A", 1}};
    p11_object *const *c;
    size_t n;
    ck_assert(p11_index_candidates(&ix, q, 2, &c, &n));
    ck_assert_uint_eq(n, 2); /* the ID bucket is smaller than the class bucket */
    CK_ATTRIBUTE none[] = {{CKA_ID, "Z", 1}};
    ck_assert(p11_index_candidates(&ix, none, 1, &c, &n));
    ck_assert_uint_eq(n, 0);
    CK_ATTRIBUTE unindexed[] = {{CKA_VALUE, "x", 1}};
    ck_assert(!p11_index_candidates(&ix, unindexed, 1, &c, &n));
    p11_index_remove(&ix, &objs[0]);
    ck_assert(p11_index_candidates(&ix, q + 1, 1, &c, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_eq(c[0], &objs[1]);
    for (int i = 0; i < 3; i++)
        p11_attrs_free(&objs[i].t.attrs);
    p11_index_free(&ix);
}
END_TEST

START_TEST(options_parse_nss_style_strings)
{
    p11_options o;
    p11_options_defaults(&o);
    const char *s = "home=/tmp/h; trace='/tmp/a file' vendor=etoken pcsc=0 bogus=1 noequals "
                    "embedded=maybe";
    p11_options_parse(&o, s, strlen(s));
    ck_assert_str_eq(o.home, "/tmp/h");
    ck_assert_str_eq(o.trace, "/tmp/a file");
    ck_assert_str_eq(o.vendor, "etoken");
    ck_assert(!o.pcsc);
    ck_assert(o.embedded); /* "maybe" is not a boolean: default kept */
    ck_assert_str_eq(o.unknown, "bogus");
    ck_assert_ptr_nonnull(strstr(o.bad, "noequals"));
    ck_assert_ptr_nonnull(strstr(o.bad, "embedded"));
    /* the length bound is honoured even without a NUL */
    p11_options_defaults(&o);
    p11_options_parse(&o, "home=/abcdef", 8);
    ck_assert_str_eq(o.home, "/ab");
}
END_TEST

START_TEST(hash_state_roundtrip_and_rejects)
{
    static const CK_MECHANISM_TYPE mechs[] = {CKM_SHA_1, CKM_SHA224, CKM_SHA256, CKM_SHA384,
                                              CKM_SHA512};
    uint8_t msg[300], want[64], got[64], state[512];
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)i;
    for (size_t m = 0; m < 5; m++) {
        p11_hash_alg alg;
        ck_assert(p11_hash_from_mech(mechs[m], &alg));
        unsigned int wl = 0;
        EVP_Digest(msg, sizeof(msg), want, &wl, p11_hash_md(alg), NULL);
        ck_assert_uint_eq(wl, p11_hash_len(alg));
        p11_hash h, h2;
        p11_hash_init(&h, alg);
        p11_hash_update(&h, msg, 77);
        size_t sl = p11_hash_state_len(alg);
        ck_assert(sl <= sizeof(state));
        p11_hash_export(&h, state);
        ck_assert(p11_hash_import(&h2, state, sl));
        p11_hash_update(&h2, msg + 77, sizeof(msg) - 77);
        p11_hash_final(&h2, got);
        ck_assert_mem_eq(got, want, wl);
        ck_assert(!p11_hash_import(&h2, state, sl - 1));
        state[0] = 9;
        ck_assert(!p11_hash_import(&h2, state, sl));
        p11_hash_wipe(&h);
    }
}
END_TEST

START_TEST(pkcs1_and_oaep_padding_roundtrip)
{
    EVP_PKEY *k = mock_key(0);
    uint8_t em[128], out[128], ct[128];
    size_t outl = sizeof(out), ctl = sizeof(ct);
    ck_assert_rv(p11_pad_pkcs1_sign((const uint8_t *)"hello", 5, em, 128), CKR_OK);
    ck_assert_uint_eq(em[0], 0);
    ck_assert_uint_eq(em[1], 1);
    ck_assert_uint_eq(em[128 - 6], 0);
    ck_assert_mem_eq(em + 123, "hello", 5);
    ck_assert_rv(p11_pad_pkcs1_sign(em, 118, em, 128), CKR_DATA_LEN_RANGE);
    /* OAEP-SHA256 with a label: encrypt with OpenSSL, decode raw */
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k, NULL);
    ck_assert(EVP_PKEY_encrypt_init(ctx) > 0);
    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING);
    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256());
    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256());
    EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, OPENSSL_memdup("lbl", 3), 3);
    ck_assert(EVP_PKEY_encrypt(ctx, ct, &ctl, (const uint8_t *)"secret", 6) > 0);
    EVP_PKEY_CTX_free(ctx);
    ctx = EVP_PKEY_CTX_new(k, NULL);
    ck_assert(EVP_PKEY_decrypt_init(ctx) > 0);
    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING);
    size_t eml = sizeof(em);
    ck_assert(EVP_PKEY_decrypt(ctx, em, &eml, ct, ctl) > 0);
    EVP_PKEY_CTX_free(ctx);
    ck_assert_rv(
        p11_unpad_oaep(P11_SHA256, P11_SHA256, (const uint8_t *)"lbl", 3, em, eml, out, &outl),
        CKR_OK);
    ck_assert_uint_eq(outl, 6);
    ck_assert_mem_eq(out, "secret", 6);
    ck_assert_rv(
        p11_unpad_oaep(P11_SHA256, P11_SHA256, (const uint8_t *)"xyz", 3, em, eml, out, &outl),
        CKR_ENCRYPTED_DATA_INVALID);
    ck_assert_rv(p11_unpad_pkcs1_decrypt(em, eml, out, &outl), CKR_ENCRYPTED_DATA_INVALID);
}
END_TEST

Suite *attrs_suite(void)
{
    Suite *s = suite_create("p11_parts");
    TCase *tc = tcase_create("parts");
    tcase_add_test(tc, attrs_set_get_replace_remove);
    tcase_add_test(tc, attrs_from_template_rules);
    tcase_add_test(tc, hmap_put_get_delete_many);
    tcase_add_test(tc, index_narrows_and_forgets);
    tcase_add_test(tc, options_parse_nss_style_strings);
    tcase_add_test(tc, hash_state_roundtrip_and_rejects);
    tcase_add_test(tc, pkcs1_and_oaep_padding_roundtrip);
    suite_add_tcase(s, tc);
    return s;
}
