/* The CKA_ID of a PKCS#12 key that has no certificate yet is the SubjectKeyIdentifier its
 * certificate will carry, computed as NCA computes it: SHA-1 of the whole DER
 * SubjectPublicKeyInfo (NCA's test certificates show it; RFC 5280's method 1, SHA-1 of
 * the key bits alone, is not what NCA does). So a key made on a .p12 keeps its CKA_ID
 * when the certificate NCA issues for it is written back. */
#include <stdlib.h>
#include <string.h>

#include <openssl/pkcs12.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "p11_test.h"
#include "p12.h"
#include "test_drv_pkcs12.h"

static void spki_sha1(EVP_PKEY *pk, uint8_t out[20])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(pk, &der);
    ck_assert_int_gt(n, 0);
    SHA1(der, (size_t)n, out);
    OPENSSL_free(der);
}

static void p12_setup(void)
{
    p11_test_clear_slots();
    pt_setup();
}

/* The evidence: NCA's own certificates. Also pins the tests' helper to NCA's method. */
START_TEST(nca_ski_is_sha1_of_the_spki)
{
    static const char *const stems[] = {PT_AUTH, PT_SIGN};
    for (size_t i = 0; i < 2; i++) {
        X509 *x = pt_nca_cert(stems[i]);
        const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
        uint8_t want[20], helper[20];
        ck_assert_ptr_nonnull(ski);
        ck_assert_int_eq(ASN1_STRING_length(ski), 20);
        spki_sha1(X509_get0_pubkey(x), want);
        ck_assert_mem_eq(ASN1_STRING_get0_data(ski), want, 20);
        pt_pub_sha1(X509_get0_pubkey(x), helper);
        ck_assert_mem_eq(helper, want, 20);
        X509_free(x);
    }
}
END_TEST

static CK_ULONG count_id(CK_SESSION_HANDLE h, const uint8_t *id, CK_ULONG len)
{
    CK_ATTRIBUTE t = {CKA_ID, (void *)id, len};
    CK_OBJECT_HANDLE o[8];
    CK_ULONG n = 0;
    ck_assert_rv(C_FindObjectsInit(h, &t, 1), CKR_OK);
    ck_assert_rv(C_FindObjects(h, o, 8, &n), CKR_OK);
    ck_assert_rv(C_FindObjectsFinal(h), CKR_OK);
    return n;
}

/* A key pair made on an NCA-style .p12 with no CKA_ID asked for, then its certificate
 * (SKI as NCA's CA writes it) written back: the pair never changes its name. */
START_TEST(generated_key_is_named_by_its_future_ski)
{
    ks_p12_ctx *kctx = NULL;
    ks_p12 *p = NULL;
    char *path = pt_path("gen.p12");
    ck_assert_int_eq(ks_p12_ctx_new(&kctx), KS_OK);
    ck_assert_int_eq(
        ks_p12_create(kctx, path, PT_PW, strlen(PT_PW), KS_P12_STYLE_NCA, &KS_PWRULE_NCA, &p, NULL),
        KS_OK);
    ks_p12_close(p);
    ks_p12_ctx_free(kctx);
    pt_init(NULL);
    CK_SESSION_HANDLE h = pt_login(pt_slot("gen.p12"), PT_PW, true);

    CK_MECHANISM gen = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    CK_ULONG bits = 2048;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE pubt[] = {{CKA_MODULUS_BITS, &bits, sizeof(bits)}, {CKA_TOKEN, &yes, 1}};
    CK_ATTRIBUTE privt[] = {{CKA_TOKEN, &yes, 1}};
    CK_OBJECT_HANDLE hpub, hpriv;
    ck_assert_rv(C_GenerateKeyPair(h, &gen, pubt, 2, privt, 1, &hpub, &hpriv), CKR_OK);

    uint8_t spki[1024], id[64], want[20];
    CK_ULONG l = pt_attr(h, hpub, CKA_PUBLIC_KEY_INFO, spki, sizeof(spki));
    SHA1(spki, l, want);
    ck_assert_uint_eq(pt_attr(h, hpriv, CKA_ID, id, sizeof(id)), 20);
    ck_assert_mem_eq(id, want, 20);
    ck_assert_uint_eq(pt_attr(h, hpub, CKA_ID, id, sizeof(id)), 20);
    ck_assert_mem_eq(id, want, 20);
    ck_assert_uint_eq(count_id(h, want, 20), 2);

    /* The CA's certificate, SubjectKeyIdentifier = SHA-1 of the SubjectPublicKeyInfo. */
    const unsigned char *q = spki;
    EVP_PKEY *pub = d2i_PUBKEY_ex(NULL, &q, (long)l, pt_libctx(), NULL);
    EVP_PKEY *ca = pt_rsa_key(2048);
    X509 *x = pt_cert(pub, ca, true);
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
    ck_assert_ptr_nonnull(ski);
    ck_assert_mem_eq(ASN1_STRING_get0_data(ski), want, 20);
    unsigned char *der = NULL;
    int dlen = i2d_X509(x, &der);
    CK_OBJECT_CLASS cc = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE ct = CKC_X_509;
    CK_ATTRIBUTE certt[] = {{CKA_CLASS, &cc, sizeof(cc)},
                            {CKA_CERTIFICATE_TYPE, &ct, sizeof(ct)},
                            {CKA_TOKEN, &yes, 1},
                            {CKA_ID, want, 20},
                            {CKA_VALUE, der, (CK_ULONG)dlen}};
    CK_OBJECT_HANDLE hcert;
    ck_assert_rv(C_CreateObject(h, certt, 5, &hcert), CKR_OK);
    ck_assert_uint_eq(count_id(h, want, 20), 3); /* the key kept its name */
    ck_assert_uint_eq(pt_attr(h, hpriv, CKA_ID, id, sizeof(id)), 20);
    ck_assert_mem_eq(id, want, 20);
    OPENSSL_free(der);
    X509_free(x);
    EVP_PKEY_free(ca);
    EVP_PKEY_free(pub);
    free(path);
}
END_TEST

/* A file whose key has no localKeyID and no certificate (written by another tool): the
 * key is named the same way. */
START_TEST(bare_key_is_named_by_its_future_ski)
{
    char *path = pt_path("bare.p12");
    EVP_PKEY *key = pt_rsa_key(2048);
    PKCS12 *p12 = PKCS12_create_ex(PT_PW, NULL, key, NULL, NULL, 0, 0, 0, 0, 0, pt_libctx(), NULL);
    ck_assert_ptr_nonnull(p12);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert(i2d_PKCS12_fp(f, p12));
    ck_assert_int_eq(fclose(f), 0);
    PKCS12_free(p12);

    pt_init(NULL);
    CK_SESSION_HANDLE h = pt_login(pt_slot("bare.p12"), PT_PW, false);
    uint8_t id[64], want[20];
    spki_sha1(key, want);
    ck_assert_uint_eq(pt_attr(h, pt_find_one(h, CKO_PRIVATE_KEY), CKA_ID, id, sizeof(id)), 20);
    ck_assert_mem_eq(id, want, 20);
    EVP_PKEY_free(key);
    free(path);
}
END_TEST

Suite *drv_pkcs12_ids_suite(void)
{
    Suite *s = suite_create("drv_pkcs12_ids");
    TCase *tc = tcase_create("ids");
    tcase_add_checked_fixture(tc, p12_setup, pt_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, nca_ski_is_sha1_of_the_spki);
    tcase_add_test(tc, generated_key_is_named_by_its_future_ski);
    tcase_add_test(tc, bare_key_is_named_by_its_future_ski);
    suite_add_tcase(s, tc);
    return s;
}
