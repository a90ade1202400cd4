/* C_CreateObject / C_CopyObject / C_DestroyObject / C_SetAttributeValue: template rules,
 * certificate fields derived and cross-checked, RSA key import, session objects, and a
 * find among 1,000 session objects. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "p11_test.h"

static CK_OBJECT_CLASS c_data = CKO_DATA, c_cert = CKO_CERTIFICATE, c_pub = CKO_PUBLIC_KEY,
                       c_priv = CKO_PRIVATE_KEY;
static CK_CERTIFICATE_TYPE x509 = CKC_X_509;
static CK_KEY_TYPE rsa = CKK_RSA;
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

START_TEST(data_objects_session_and_token)
{
    fx_init();
    CK_SESSION_HANDLE h = fx_open(true);
    CK_OBJECT_HANDLE o, t;
    CK_ATTRIBUTE sess[] = {
        {CKA_CLASS, &c_data, sizeof(c_data)}, {CKA_LABEL, "s", 1}, {CKA_VALUE, "abc", 3}};
    ck_assert_rv(C_CreateObject(h, sess, 3, NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_CreateObject(h, NULL, 3, &o), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_CreateObject(h, sess + 1, 2, &o), CKR_TEMPLATE_INCOMPLETE);
    ck_assert_rv(C_CreateObject(h, sess, 3, &o), CKR_OK);
    ck_assert(!fx_get_bool(h, o, CKA_TOKEN));
    ck_assert(fx_get_bool(h, o, CKA_MODIFIABLE));
    CK_BYTE v[8];
    ck_assert_uint_eq(fx_get_bytes(h, o, CKA_VALUE, v, sizeof(v)), 3);
    ck_assert_uint_eq(fx_get_bytes(h, o, CKA_APPLICATION, v, sizeof(v)), 0);
    /* token objects need the card's PIN here */
    CK_ATTRIBUTE tok[] = {
        {CKA_CLASS, &c_data, sizeof(c_data)}, {CKA_TOKEN, &yes, sizeof(yes)}, {CKA_LABEL, "t", 1}};
    ck_assert_rv(C_CreateObject(h, tok, 3, &t), CKR_USER_NOT_LOGGED_IN);
    fx_login(h);
    ck_assert_rv(C_CreateObject(h, tok, 3, &t), CKR_OK);
    ck_assert_uint_eq(mock_card_object_count(fx_card), 1);
    ck_assert(fx_get_bool(h, t, CKA_TOKEN));
    /* a private session object needs a login and vanishes at logout */
    CK_ATTRIBUTE ps[] = {{CKA_CLASS, &c_data, sizeof(c_data)}, {CKA_PRIVATE, &yes, sizeof(yes)}};
    CK_OBJECT_HANDLE p;
    ck_assert_rv(C_CreateObject(h, ps, 2, &p), CKR_OK);
    ck_assert_rv(C_Logout(h), CKR_OK);
    ck_assert_rv(C_DestroyObject(h, p), CKR_OBJECT_HANDLE_INVALID);
    ck_assert_rv(C_CreateObject(h, ps, 2, &p), CKR_USER_NOT_LOGGED_IN);
    /* bad templates */
    CK_ULONG weird = 0x1234;
    CK_ATTRIBUTE badcls[] = {{CKA_CLASS, &weird, sizeof(weird)}};
    ck_assert_rv(C_CreateObject(h, badcls, 1, &p), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE badattr[] = {{CKA_CLASS, &c_data, sizeof(c_data)}, {CKA_MODULUS, "x", 1}};
    ck_assert_rv(C_CreateObject(h, badattr, 2, &p), CKR_ATTRIBUTE_TYPE_INVALID);
    CK_ATTRIBUTE badbool[] = {{CKA_CLASS, &c_data, sizeof(c_data)}, {CKA_TOKEN, "xy", 2}};
    ck_assert_rv(C_CreateObject(h, badbool, 2, &p), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE twice[] = {
        {CKA_CLASS, &c_data, sizeof(c_data)}, {CKA_TOKEN, &yes, 1}, {CKA_TOKEN, &no, 1}};
    ck_assert_rv(C_CreateObject(h, twice, 3, &p), CKR_TEMPLATE_INCONSISTENT);
    /* session objects go with their session */
    ck_assert_rv(C_CloseSession(h), CKR_OK);
    h = fx_open(false);
    ck_assert_uint_eq(fx_find(h, CKO_DATA, "s", NULL), 0);
    ck_assert_uint_eq(fx_find(h, CKO_DATA, "t", NULL), 1);
    fx_fini();
}
END_TEST

START_TEST(certificate_fields_derived_and_checked)
{
    fx_init();
    CK_SESSION_HANDLE h = fx_open(true);
    fx_login(h);
    unsigned char *der = NULL, *other = NULL;
    size_t len = mock_make_cert(mock_key(0), "Alice", &der);
    size_t olen = mock_make_cert(mock_key(1), "Bob", &other);
    const unsigned char *p = other;
    X509 *x = d2i_X509(NULL, &p, (long)olen);
    unsigned char *bob_subject = NULL;
    int bsl = i2d_X509_NAME(X509_get_subject_name(x), &bob_subject);
    X509_free(x);

    CK_OBJECT_HANDLE o;
    CK_ATTRIBUTE ok[] = {{CKA_CLASS, &c_cert, sizeof(c_cert)},
                         {CKA_CERTIFICATE_TYPE, &x509, sizeof(x509)},
                         {CKA_TOKEN, &yes, 1},
                         {CKA_LABEL, "alice", 5},
                         {CKA_VALUE, der, len}};
    CK_ATTRIBUTE lie[] = {{CKA_CLASS, &c_cert, sizeof(c_cert)},
                          {CKA_CERTIFICATE_TYPE, &x509, sizeof(x509)},
                          {CKA_SUBJECT, bob_subject, (CK_ULONG)bsl},
                          {CKA_VALUE, der, len}};
    CK_ATTRIBUTE junk[] = {{CKA_CLASS, &c_cert, sizeof(c_cert)},
                           {CKA_CERTIFICATE_TYPE, &x509, sizeof(x509)},
                           {CKA_VALUE, "not a certificate", 17}};
    CK_ATTRIBUTE novalue[] = {{CKA_CLASS, &c_cert, sizeof(c_cert)},
                              {CKA_CERTIFICATE_TYPE, &x509, sizeof(x509)}};
    CK_ATTRIBUTE notype[] = {{CKA_CLASS, &c_cert, sizeof(c_cert)}, {CKA_VALUE, der, len}};
    ck_assert_rv(C_CreateObject(h, lie, 4, &o), CKR_TEMPLATE_INCONSISTENT);
    ck_assert_rv(C_CreateObject(h, junk, 3, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    ck_assert_rv(C_CreateObject(h, novalue, 2, &o), CKR_TEMPLATE_INCOMPLETE);
    ck_assert_rv(C_CreateObject(h, notype, 2, &o), CKR_TEMPLATE_INCOMPLETE);
    ck_assert_rv(C_CreateObject(h, ok, 5, &o), CKR_OK);
    CK_BYTE buf[512];
    CK_ULONG sl = fx_get_bytes(h, o, CKA_SUBJECT, buf, sizeof(buf));
    p = der;
    x = d2i_X509(NULL, &p, (long)len);
    unsigned char *alice = NULL;
    int al = i2d_X509_NAME(X509_get_subject_name(x), &alice);
    X509_free(x);
    ck_assert_uint_eq(sl, (CK_ULONG)al);
    ck_assert_mem_eq(buf, alice, sl);
    ck_assert_uint_eq(fx_get_bytes(h, o, CKA_ISSUER, buf, sizeof(buf)), (CK_ULONG)al);
    ck_assert_uint_eq(fx_get_bytes(h, o, CKA_SERIAL_NUMBER, buf, sizeof(buf)), 6);
    /* no CKA_ID given: SHA-1 of the modulus, as NSS pairs keys and certificates */
    ck_assert_uint_eq(fx_get_bytes(h, o, CKA_ID, buf, sizeof(buf)), 20);
    ck_assert(!fx_get_bool(h, o, CKA_PRIVATE));
    OPENSSL_free(der);
    OPENSSL_free(other);
    OPENSSL_free(bob_subject);
    OPENSSL_free(alice);
    fx_fini();
}
END_TEST

START_TEST(certificate_takes_the_id_of_its_key)
{
    fx_init();
    mock_card_add_keypair(fx_card, mock_key(0), "\x42\x42", "k", false, true, true);
    CK_SESSION_HANDLE h = fx_open(true);
    fx_login(h);
    unsigned char *der = NULL;
    size_t len = mock_make_cert(mock_key(0), "Alice", &der);
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &c_cert, sizeof(c_cert)},
                        {CKA_CERTIFICATE_TYPE, &x509, sizeof(x509)},
                        {CKA_TOKEN, &yes, 1},
                        {CKA_VALUE, der, len}};
    CK_OBJECT_HANDLE o;
    ck_assert_rv(C_CreateObject(h, t, 4, &o), CKR_OK);
    CK_BYTE id[32];
    ck_assert_uint_eq(fx_get_bytes(h, o, CKA_ID, id, sizeof(id)), 2);
    ck_assert_mem_eq(id, "\x42\x42", 2);
    OPENSSL_free(der);
    fx_fini();
}
END_TEST

static CK_ULONG bn_bytes(EVP_PKEY *k, const char *name, CK_BYTE *out)
{
    BIGNUM *bn = NULL;
    EVP_PKEY_get_bn_param(k, name, &bn);
    CK_ULONG n = (CK_ULONG)BN_bn2bin(bn, out);
    BN_free(bn);
    return n;
}

START_TEST(rsa_private_key_import_and_use)
{
    fx_init();
    CK_SESSION_HANDLE h = fx_open(true);
    EVP_PKEY *k = mock_key(1);
    CK_BYTE n[128], e[4], d[128], p[64], q[64], dp[64], dq[64], qi[64];
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &c_priv, sizeof(c_priv)},
        {CKA_KEY_TYPE, &rsa, sizeof(rsa)},
        {CKA_TOKEN, &yes, 1},
        {CKA_ID, "\x09", 1},
        {CKA_MODULUS, n, bn_bytes(k, OSSL_PKEY_PARAM_RSA_N, n)},
        {CKA_PUBLIC_EXPONENT, e, bn_bytes(k, OSSL_PKEY_PARAM_RSA_E, e)},
        {CKA_PRIVATE_EXPONENT, d, bn_bytes(k, OSSL_PKEY_PARAM_RSA_D, d)},
        {CKA_PRIME_1, p, bn_bytes(k, OSSL_PKEY_PARAM_RSA_FACTOR1, p)},
        {CKA_PRIME_2, q, bn_bytes(k, OSSL_PKEY_PARAM_RSA_FACTOR2, q)},
        {CKA_EXPONENT_1, dp, bn_bytes(k, OSSL_PKEY_PARAM_RSA_EXPONENT1, dp)},
        {CKA_EXPONENT_2, dq, bn_bytes(k, OSSL_PKEY_PARAM_RSA_EXPONENT2, dq)},
        {CKA_COEFFICIENT, qi, bn_bytes(k, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, qi)},
    };
    CK_OBJECT_HANDLE o;
    ck_assert_rv(C_CreateObject(h, t, 12, &o), CKR_USER_NOT_LOGGED_IN);
    fx_login(h);
    CK_BBOOL loc = CK_TRUE;
    CK_ATTRIBUTE local[] = {{CKA_CLASS, &c_priv, sizeof(c_priv)}, {CKA_LOCAL, &loc, 1}};
    ck_assert_rv(C_CreateObject(h, local, 2, &o), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE sess[12];
    memcpy(sess, t, sizeof(t));
    sess[2].pValue = &no;
    ck_assert_rv(C_CreateObject(h, sess, 12, &o), CKR_TEMPLATE_INCONSISTENT);
    ck_assert_rv(C_CreateObject(h, t, 5, &o), CKR_TEMPLATE_INCOMPLETE);
    ck_assert_rv(C_CreateObject(h, t, 12, &o), CKR_OK);
    ck_assert(fx_get_bool(h, o, CKA_SENSITIVE));
    ck_assert(!fx_get_bool(h, o, CKA_LOCAL));
    ck_assert(!fx_get_bool(h, o, CKA_ALWAYS_SENSITIVE));
    ck_assert(!fx_get_bool(h, o, CKA_NEVER_EXTRACTABLE));
    ck_assert(!fx_get_bool(h, o, CKA_EXTRACTABLE));
    CK_ATTRIBUTE priv_d = {CKA_PRIVATE_EXPONENT, d, sizeof(d)};
    ck_assert_rv(C_GetAttributeValue(h, o, &priv_d, 1), CKR_ATTRIBUTE_SENSITIVE);
    /* sign with it and check with OpenSSL */
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_BYTE sig[128];
    CK_ULONG sl = sizeof(sig);
    ck_assert_rv(C_SignInit(h, &m, o), CKR_OK);
    ck_assert_rv(C_Sign(h, (CK_BYTE_PTR) "imported", 8, sig, &sl), CKR_OK);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ck_assert(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k) == 1);
    ck_assert(EVP_DigestVerify(md, sig, sl, (const unsigned char *)"imported", 8) == 1);
    EVP_MD_CTX_free(md);
    fx_fini();
}
END_TEST

START_TEST(set_copy_destroy)
{
    CK_SESSION_HANDLE h;
    fx_init_keys(&h);
    CK_OBJECT_HANDLE cert = fx_find_one(h, CKO_CERTIFICATE, NULL);
    CK_ATTRIBUTE lbl = {CKA_LABEL, "renamed", 7};
    CK_ATTRIBUTE id = {CKA_ID, "\x05", 1};
    ck_assert_rv(C_SetAttributeValue(h, cert, &lbl, 1), CKR_OK);
    ck_assert_uint_eq(fx_find(h, CKO_CERTIFICATE, "renamed", NULL), 1);
    ck_assert_uint_eq(fx_find(h, CKO_CERTIFICATE, "key1", NULL), 0);
    ck_assert_rv(C_SetAttributeValue(h, cert, &id, 1), CKR_OK);
    CK_ATTRIBUTE val = {CKA_VALUE, "x", 1};
    ck_assert_rv(C_SetAttributeValue(h, cert, &val, 1), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE mod = {CKA_MODULUS, "x", 1};
    ck_assert_rv(C_SetAttributeValue(h, cert, &mod, 1), CKR_ATTRIBUTE_TYPE_INVALID);
    CK_OBJECT_HANDLE priv = fx_find_one(h, CKO_PRIVATE_KEY, NULL);
    CK_ATTRIBUTE unsens = {CKA_SENSITIVE, &no, 1};
    ck_assert_rv(C_SetAttributeValue(h, priv, &unsens, 1), CKR_ATTRIBUTE_READ_ONLY);
    /* copy a certificate into a session object with a new label */
    CK_OBJECT_HANDLE copy;
    CK_ATTRIBUTE to_session[] = {{CKA_TOKEN, &no, 1}, {CKA_LABEL, "copy", 4}};
    ck_assert_rv(C_CopyObject(h, cert, to_session, 2, &copy), CKR_OK);
    ck_assert(!fx_get_bool(h, copy, CKA_TOKEN));
    ck_assert_uint_eq(fx_find(h, CKO_CERTIFICATE, "copy", NULL), 1);
    CK_ATTRIBUTE bad = {CKA_VALUE, "x", 1};
    ck_assert_rv(C_CopyObject(h, cert, &bad, 1, &copy), CKR_ATTRIBUTE_READ_ONLY);
    ck_assert_rv(C_CopyObject(h, priv, NULL, 0, &copy), CKR_ACTION_PROHIBITED);
    /* session object attributes change in memory */
    ck_assert_rv(C_SetAttributeValue(h, copy, &lbl, 1), CKR_OK);
    ck_assert_uint_eq(fx_find(h, CKO_CERTIFICATE, "renamed", NULL), 2);
    /* destroy */
    ck_assert_rv(C_DestroyObject(h, cert), CKR_OK);
    ck_assert_rv(C_DestroyObject(h, cert), CKR_OBJECT_HANDLE_INVALID);
    ck_assert_uint_eq(fx_find(h, CKO_CERTIFICATE, "renamed", NULL), 1);
    ck_assert_rv(C_DestroyObject(h, copy), CKR_OK);
    ck_assert_uint_eq(fx_find(h, CKO_CERTIFICATE, NULL, NULL), 0);
    /* non-modifiable and non-destroyable session objects */
    CK_OBJECT_HANDLE fixed;
    CK_ATTRIBUTE ft[] = {
        {CKA_CLASS, &c_data, sizeof(c_data)}, {CKA_MODIFIABLE, &no, 1}, {CKA_DESTROYABLE, &no, 1}};
    ck_assert_rv(C_CreateObject(h, ft, 3, &fixed), CKR_OK);
    ck_assert_rv(C_SetAttributeValue(h, fixed, &lbl, 1), CKR_ACTION_PROHIBITED);
    ck_assert_rv(C_DestroyObject(h, fixed), CKR_ACTION_PROHIBITED);
    fx_fini();
}
END_TEST

START_TEST(session_public_key_for_software_verify)
{
    fx_init();
    CK_SESSION_HANDLE h = fx_open(false);
    EVP_PKEY *k = mock_key(0);
    CK_BYTE n[128], e[4];
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &c_pub, sizeof(c_pub)},
                        {CKA_KEY_TYPE, &rsa, sizeof(rsa)},
                        {CKA_MODULUS, n, bn_bytes(k, OSSL_PKEY_PARAM_RSA_N, n)},
                        {CKA_PUBLIC_EXPONENT, e, bn_bytes(k, OSSL_PKEY_PARAM_RSA_E, e)}};
    CK_OBJECT_HANDLE o;
    ck_assert_rv(C_CreateObject(h, t, 2, &o), CKR_TEMPLATE_INCOMPLETE);
    ck_assert_rv(C_CreateObject(h, t, 4, &o), CKR_OK);
    ck_assert_uint_eq(fx_get_ulong(h, o, CKA_MODULUS_BITS), 1024);
    CK_BYTE sig[128];
    size_t sl = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestSignInit(md, NULL, EVP_sha1(), NULL, k);
    EVP_DigestSign(md, sig, &sl, (const unsigned char *)"msg", 3);
    EVP_MD_CTX_free(md);
    CK_MECHANISM m = {CKM_SHA1_RSA_PKCS, NULL, 0};
    ck_assert_rv(C_VerifyInit(h, &m, o), CKR_OK);
    ck_assert_rv(C_Verify(h, (CK_BYTE_PTR) "msg", 3, sig, sl), CKR_OK);
    ck_assert_rv(C_VerifyInit(h, &m, o), CKR_OK);
    ck_assert_rv(C_Verify(h, (CK_BYTE_PTR) "msh", 3, sig, sl), CKR_SIGNATURE_INVALID);
    fx_fini();
}
END_TEST

START_TEST(find_among_a_thousand_session_objects)
{
    fx_init();
    CK_SESSION_HANDLE h = fx_open(false);
    char label[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(label, sizeof(label), "obj%04d", i);
        CK_ATTRIBUTE t[] = {{CKA_CLASS, &c_data, sizeof(c_data)},
                            {CKA_LABEL, label, strlen(label)},
                            {CKA_VALUE, &i, sizeof(i)}};
        CK_OBJECT_HANDLE o;
        ck_assert_rv(C_CreateObject(h, t, 3, &o), CKR_OK);
    }
    /* data objects have no CKA_ID (spec 2.40 §4.5) */
    CK_ATTRIBUTE with_id[] = {{CKA_CLASS, &c_data, sizeof(c_data)}, {CKA_ID, "x", 1}};
    CK_OBJECT_HANDLE x;
    ck_assert_rv(C_CreateObject(h, with_id, 2, &x), CKR_ATTRIBUTE_TYPE_INVALID);
    CK_ATTRIBUTE q[] = {{CKA_CLASS, &c_data, sizeof(c_data)}, {CKA_LABEL, "obj0666", 7}};
    CK_OBJECT_HANDLE o[4];
    CK_ULONG n;
    ck_assert_rv(C_FindObjectsInit(h, q, 2), CKR_OK);
    ck_assert_rv(C_FindObjects(h, o, 4, &n), CKR_OK);
    ck_assert_rv(C_FindObjectsFinal(h), CKR_OK);
    ck_assert_uint_eq(n, 1);
    CK_BYTE lab[16];
    ck_assert_uint_eq(fx_get_bytes(h, o[0], CKA_LABEL, lab, sizeof(lab)), 7);
    ck_assert_mem_eq(lab, "obj0666", 7);
    ck_assert_uint_eq(fx_find(h, CKO_DATA, NULL, NULL), 64); /* capped by the helper */
    fx_fini();
}
END_TEST

Suite *create_suite(void)
{
    Suite *s = suite_create("p11_create");
    TCase *tc = tcase_create("create");
    tcase_add_test(tc, data_objects_session_and_token);
    tcase_add_test(tc, certificate_fields_derived_and_checked);
    tcase_add_test(tc, certificate_takes_the_id_of_its_key);
    tcase_add_test(tc, rsa_private_key_import_and_use);
    tcase_add_test(tc, set_copy_destroy);
    tcase_add_test(tc, session_public_key_for_software_verify);
    tcase_add_test(tc, find_among_a_thousand_session_objects);
    suite_add_tcase(s, tc);
    return s;
}
