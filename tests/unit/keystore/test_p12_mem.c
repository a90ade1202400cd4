/* ks_p12_open_mem(): the same reading as ks_p12_open() on bytes in memory (what the
 * PKCS#12 fuzzer drives), a handle that refuses every write, and the inputs the fuzzer
 * replays as regressions (vectors/fuzz/fuzz_p12/regress-*). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pkcs12.h>

#include "ks_test.h"
#include "p12.h"

static ks_p12_ctx *new_ctx(void)
{
    ks_p12_ctx *ctx = NULL;
    ck_assert_int_eq(ks_p12_ctx_new(&ctx), KS_OK);
    return ctx;
}

/* Both NCA files read from memory as from their file: same key, certificate and ids. */
START_TEST(test_mem_reads_nca_files)
{
    static const char *const names[] = {KT_NCA_AUTH, KT_NCA_SIGN};
    ks_p12_ctx *ctx = new_ctx();
    for (size_t f = 0; f < VT_ARRAY_LEN(names); f++) {
        char name[128];
        snprintf(name, sizeof(name), "%s.p12", names[f]);
        char *path = kt_path(kt_nca_dir(), name);
        vt_buf der = {0};
        ks_p12 *a = NULL, *b = NULL;
        char *why = NULL;
        ck_assert(kt_slurp(path, &der));
        ck_assert_int_eq(ks_p12_open(ctx, path, "Qwerty12", 8, &a, NULL), KS_OK);
        ck_assert_int_eq(ks_p12_open_mem(ctx, der.data, der.len, "Qwerty12", 8, &b, &why), KS_OK);
        ck_assert_ptr_null(why);
        ck_assert_ptr_null(ks_p12_path(b));
        ck_assert_uint_eq(ks_p12_count(b, KS_P12_KEY), 1);
        ck_assert_uint_eq(ks_p12_count(b, KS_P12_CERT), 1);
        ck_assert_int_eq(EVP_PKEY_eq(ks_p12_key(a, 0), ks_p12_key(b, 0)), 1);
        size_t la, lb;
        const uint8_t *ca = ks_p12_cert_der(a, 0, &la), *cb = ks_p12_cert_der(b, 0, &lb);
        ck_assert_uint_eq(la, lb);
        ck_assert_mem_eq(ca, cb, la);
        ck_assert_str_eq(ks_p12_friendly_name(a, KS_P12_KEY, 0),
                         ks_p12_friendly_name(b, KS_P12_KEY, 0));
        ks_p12_info ia, ib;
        ks_p12_get_info(a, &ia);
        ks_p12_get_info(b, &ib);
        ck_assert_mem_eq(&ia, &ib, sizeof(ia));
        ks_p12_close(a);
        ks_p12_close(b);
        vt_buf_free(&der);
        free(path);
    }
    ks_p12_ctx_free(ctx);
}
END_TEST

/* The same errors as from a file, with a message, and nothing returned. */
START_TEST(test_mem_errors)
{
    ks_p12_ctx *ctx = new_ctx();
    char *path = kt_path(kt_nca_dir(), KT_NCA_AUTH ".p12");
    vt_buf der = {0};
    ks_p12 *p = (ks_p12 *)1;
    char *why = NULL;
    ck_assert(kt_slurp(path, &der));

    ck_assert_int_eq(ks_p12_open_mem(ctx, der.data, der.len, "Qwerty13", 8, &p, &why),
                     KS_ERR_BAD_PASSWORD);
    ck_assert_ptr_null(p);
    ck_assert_ptr_nonnull(strstr(why, "wrong password"));
    free(why);
    ck_assert_int_eq(ks_p12_open_mem(ctx, der.data, der.len / 2, "Qwerty12", 8, &p, &why),
                     KS_ERR_CORRUPT);
    ck_assert_ptr_null(p);
    free(why);
    ck_assert_int_eq(ks_p12_open_mem(ctx, der.data, 0, "Qwerty12", 8, &p, &why), KS_ERR_CORRUPT);
    ck_assert_str_eq(why, "empty file");
    free(why);
    ck_assert_int_eq(ks_p12_open_mem(ctx, NULL, 0, "Qwerty12", 8, &p, NULL), KS_ERR_CORRUPT);
    ck_assert_int_eq(ks_p12_open_mem(ctx, NULL, 5, "Qwerty12", 8, &p, NULL), KS_ERR_ARGS);
    ck_assert_int_eq(ks_p12_open_mem(NULL, der.data, der.len, "Qwerty12", 8, &p, NULL),
                     KS_ERR_ARGS);
    ck_assert_int_eq(ks_p12_open_mem(ctx, der.data, der.len, "Qwerty12", 8, NULL, NULL),
                     KS_ERR_ARGS);
    ck_assert_int_eq(ks_p12_open_mem(ctx, der.data, der.len, "Qw\0rty12", 8, &p, NULL),
                     KS_ERR_ARGS);
    ck_assert_int_eq(ks_p12_open_mem(ctx, der.data, der.len, NULL, 3, &p, NULL), KS_ERR_ARGS);
    vt_buf_free(&der);
    free(path);
    ks_p12_ctx_free(ctx);
}
END_TEST

/* A handle without a file refuses every write (nothing to replace) and every reopen. */
START_TEST(test_mem_refuses_writes)
{
    ks_p12_ctx *ctx = new_ctx();
    char *path = kt_path(kt_nca_dir(), KT_NCA_AUTH ".p12");
    vt_buf der = {0};
    ks_p12 *p = NULL, *q = (ks_p12 *)1;
    ck_assert(kt_slurp(path, &der));
    ck_assert_int_eq(ks_p12_open_mem(ctx, der.data, der.len, "Qwerty12", 8, &p, NULL), KS_OK);

    ck_assert(ks_p12_changed(p));
    ck_assert_int_eq(ks_p12_change_password(p, "Alma2024ty", 10, NULL), KS_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(ks_p12_error(p), "from memory"));
    EVP_PKEY *key = kt_genkey("EC");
    ck_assert_int_eq(ks_p12_add_key(p, key, NULL, 0, NULL, NULL), KS_ERR_UNSUPPORTED);
    X509 *cert = kt_cert(key, NULL, 0);
    unsigned char *cder = NULL;
    int clen = i2d_X509(cert, &cder);
    ck_assert_int_gt(clen, 0);
    ck_assert_int_eq(ks_p12_add_cert(p, cder, (size_t)clen, NULL), KS_ERR_UNSUPPORTED);
    ck_assert_int_eq(ks_p12_remove(p, KS_P12_CERT, 0), KS_ERR_UNSUPPORTED);
    ck_assert_int_eq(ks_p12_reopen(p, &q, NULL), KS_ERR_ARGS);
    ck_assert_ptr_null(q);
    /* the model is untouched */
    ck_assert_uint_eq(ks_p12_count(p, KS_P12_KEY), 1);
    ck_assert_uint_eq(ks_p12_count(p, KS_P12_CERT), 1);
    OPENSSL_free(cder);
    X509_free(cert);
    EVP_PKEY_free(key);
    ks_p12_close(p);
    vt_buf_free(&der);
    free(path);
    ks_p12_ctx_free(ctx);
}
END_TEST

/* Inputs the fuzzer found (vectors/fuzz/fuzz_p12/regress-*: a password byte, then the
 * bytes) read without crashing, leaking or succeeding on garbage; any status will do,
 * but a handle comes back exactly when the status is KS_OK. */
START_TEST(test_mem_fuzz_regressions)
{
    ks_p12_ctx *ctx = new_ctx();
    DIR *d = opendir(VT_VECTORS_DIR "/fuzz/fuzz_p12");
    struct dirent *e;
    size_t n = 0;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "regress-", 8) != 0)
            continue;
        char *path = kt_path(VT_VECTORS_DIR "/fuzz/fuzz_p12", e->d_name);
        vt_buf in = {0};
        ks_p12 *p = NULL;
        char *why = NULL;
        ck_assert(kt_slurp(path, &in));
        if (in.len > 0) {
            ks_status st = ks_p12_open_mem(ctx, in.data + 1, in.len - 1, "Qwerty12", 8, &p, &why);
            ck_assert_msg((st == KS_OK) == (p != NULL), "%s: %s", e->d_name, ks_strerror(st));
            ck_assert_msg(st == KS_OK || why != NULL, "%s: no message", e->d_name);
        }
        n++;
        ks_p12_close(p);
        free(why);
        vt_buf_free(&in);
        free(path);
    }
    closedir(d);
    (void)n; /* there may be none: the fuzzer has found nothing to keep yet */
    ks_p12_ctx_free(ctx);
}
END_TEST

/* Iteration counts a file may ask for are capped: 2^31 MAC or PBE iterations would hold
 * a C_Login for hours (OpenSSL derives whatever it is asked). Refused at once. */
static vt_buf huge_mac_file(void)
{
    EVP_PKEY *key = kt_genkey("EC");
    X509 *cert = kt_cert(key, NULL, 0);
    PKCS12 *p12 = PKCS12_create("Qwerty12", NULL, key, cert, NULL,
                                NID_pbe_WithSHA1And3_Key_TripleDES_CBC, -1, 2, 2, 0);
    const ASN1_INTEGER *iter = NULL;
    vt_buf out = {0};
    unsigned char *der = NULL;
    ck_assert_ptr_nonnull(p12);
    PKCS12_get0_mac(NULL, NULL, NULL, &iter, p12);
    ck_assert_ptr_nonnull(iter);
    ck_assert_int_eq(ASN1_INTEGER_set((ASN1_INTEGER *)iter, 0x7fffffff), 1);
    int n = i2d_PKCS12(p12, &der);
    ck_assert_int_gt(n, 0);
    ck_assert(vt_buf_append(&out, der, (size_t)n));
    OPENSSL_free(der);
    PKCS12_free(p12);
    X509_free(cert);
    EVP_PKEY_free(key);
    return out;
}

/* No MAC, one shrouded key bag whose PBE asks for 2^31-1 iterations. */
static vt_buf huge_keybag_file(void)
{
    const int nid = NID_pbe_WithSHA1And3_Key_TripleDES_CBC;
    EVP_PKEY *key = kt_genkey("EC");
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(key);
    X509_SIG *sig = PKCS8_encrypt(nid, NULL, "Qwerty12", 8, NULL, 0, 2, p8);
    X509_ALGOR *alg = NULL;
    const ASN1_OBJECT *obj;
    const void *pval;
    int ptype;
    ck_assert_ptr_nonnull(sig);
    X509_SIG_getm(sig, &alg, NULL);
    X509_ALGOR_get0(&obj, &ptype, &pval, alg);
    ck_assert_int_eq(ptype, V_ASN1_SEQUENCE);
    PBEPARAM *pp = ASN1_item_unpack(pval, ASN1_ITEM_rptr(PBEPARAM));
    ck_assert_ptr_nonnull(pp);
    ck_assert_int_eq(ASN1_INTEGER_set(pp->iter, 0x7fffffff), 1);
    ASN1_STRING *seq = ASN1_item_pack(pp, ASN1_ITEM_rptr(PBEPARAM), NULL);
    ck_assert_int_eq(X509_ALGOR_set0(alg, OBJ_nid2obj(nid), V_ASN1_SEQUENCE, seq), 1);
    PBEPARAM_free(pp);
    STACK_OF(PKCS12_SAFEBAG) *bags = sk_PKCS12_SAFEBAG_new_null();
    sk_PKCS12_SAFEBAG_push(bags, PKCS12_SAFEBAG_create0_pkcs8(sig));
    STACK_OF(PKCS7) *safes = sk_PKCS7_new_null();
    sk_PKCS7_push(safes, PKCS12_pack_p7data(bags));
    PKCS12 *p12 = PKCS12_add_safes(safes, 0);
    ck_assert_ptr_nonnull(p12);
    vt_buf out = {0};
    unsigned char *der = NULL;
    int n = i2d_PKCS12(p12, &der);
    ck_assert_int_gt(n, 0);
    ck_assert(vt_buf_append(&out, der, (size_t)n));
    OPENSSL_free(der);
    PKCS12_free(p12);
    sk_PKCS7_pop_free(safes, PKCS7_free);
    sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
    PKCS8_PRIV_KEY_INFO_free(p8);
    EVP_PKEY_free(key);
    return out;
}

START_TEST(test_mem_iteration_cap)
{
    ks_p12_ctx *ctx = new_ctx();
    vt_buf files[2] = {huge_mac_file(), huge_keybag_file()};
    for (size_t i = 0; i < 2; i++) {
        ks_p12 *p = NULL;
        char *why = NULL;
        ck_assert_int_eq(ks_p12_open_mem(ctx, files[i].data, files[i].len, "Qwerty12", 8, &p, &why),
                         KS_ERR_UNSUPPORTED);
        ck_assert_ptr_null(p);
        ck_assert_msg(strstr(why, "2147483647 iterations") != NULL, "%s", why);
        free(why);
        vt_buf_free(&files[i]);
    }
    ks_p12_ctx_free(ctx);
}
END_TEST

Suite *p12_mem_suite(void)
{
    Suite *s = suite_create("p12_mem");
    TCase *tc = tcase_create("p12_mem");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_mem_reads_nca_files);
    tcase_add_test(tc, test_mem_errors);
    tcase_add_test(tc, test_mem_refuses_writes);
    tcase_add_test(tc, test_mem_fuzz_regressions);
    tcase_add_test(tc, test_mem_iteration_cap);
    suite_add_tcase(s, tc);
    return s;
}
