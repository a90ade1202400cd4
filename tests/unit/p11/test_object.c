/* Token objects seen through the module: find by template with the index, private
 * objects only after login, the object cache (no token read per C_FindObjects),
 * C_GetAttributeValue exactly as the spec's five cases say, complete key attributes. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "p11_test.h"

START_TEST(find_by_class_id_label)
{
    CK_SESSION_HANDLE h;
    fx_init_keys(&h);
    mock_card_add_keypair(fx_card, mock_key(1), "\x02", "key2", false, false, true);
    mock_card_add_data(fx_card, "note", "hello", false);
    CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE by_id[] = {{CKA_ID, "\x01", 1}};
    CK_ATTRIBUTE by_id_class[] = {{CKA_ID, "\x01", 1}, {CKA_CLASS, &priv, sizeof(priv)}};
    CK_ATTRIBUTE by_label[] = {{CKA_LABEL, "key2", 4}};
    CK_ATTRIBUTE nothing[] = {{CKA_LABEL, "none", 4}};
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE unindexed[] = {{CKA_SIGN, &yes, sizeof(yes)}};
    CK_OBJECT_HANDLE o[16];
    CK_ULONG n;

    ck_assert_rv(C_FindObjectsInit(h, by_id, 1), CKR_OK);
    ck_assert_rv(C_FindObjectsInit(h, by_id, 1), CKR_OPERATION_ACTIVE);
    ck_assert_rv(C_FindObjects(h, o, 16, &n), CKR_OK);
    ck_assert_uint_eq(n, 3); /* private key, public key, certificate */
    ck_assert_rv(C_FindObjects(h, o, 16, &n), CKR_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_rv(C_FindObjectsFinal(h), CKR_OK);
    ck_assert_rv(C_FindObjectsFinal(h), CKR_OPERATION_NOT_INITIALIZED);
    ck_assert_rv(C_FindObjects(h, o, 16, &n), CKR_OPERATION_NOT_INITIALIZED);

    ck_assert_rv(C_FindObjectsInit(h, by_id_class, 2), CKR_OK);
    ck_assert_rv(C_FindObjects(h, o, 16, &n), CKR_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(fx_get_ulong(h, o[0], CKA_CLASS), CKO_PRIVATE_KEY);
    ck_assert_rv(C_FindObjectsFinal(h), CKR_OK);

    ck_assert_rv(C_FindObjectsInit(h, by_label, 1), CKR_OK);
    ck_assert_rv(C_FindObjects(h, o, 16, &n), CKR_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_rv(C_FindObjectsFinal(h), CKR_OK);

    ck_assert_rv(C_FindObjectsInit(h, nothing, 1), CKR_OK);
    ck_assert_rv(C_FindObjects(h, o, 16, &n), CKR_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_rv(C_FindObjectsFinal(h), CKR_OK);

    ck_assert_rv(C_FindObjectsInit(h, unindexed, 1), CKR_OK);
    ck_assert_rv(C_FindObjects(h, o, 1, &n), CKR_OK); /* one at a time */
    ck_assert_uint_eq(n, 1);
    ck_assert_rv(C_FindObjects(h, o + 1, 1, &n), CKR_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_ne(o[0], o[1]);
    ck_assert_rv(C_FindObjects(h, o, 1, &n), CKR_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_rv(C_FindObjects(h, NULL, 1, &n), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_FindObjects(h, o, 1, NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_FindObjectsFinal(h), CKR_OK);

    ck_assert_rv(C_FindObjectsInit(h, NULL, 1), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_FindObjectsInit(h, NULL, 0), CKR_OK); /* everything */
    ck_assert_rv(C_FindObjects(h, o, 16, &n), CKR_OK);
    ck_assert_uint_eq(n, 5);
    ck_assert_rv(C_FindObjectsFinal(h), CKR_OK);
    fx_fini();
}
END_TEST

START_TEST(private_objects_need_login_and_lose_handles_on_logout)
{
    fx_init();
    mock_card_add_keypair(fx_card, mock_key(0), "\x01", "key1", false, true, true);
    mock_card_add_data(fx_card, "secret", "s", true);
    CK_SESSION_HANDLE h = fx_open(false);
    ck_assert_uint_eq(fx_find(h, CKO_PRIVATE_KEY, NULL, NULL), 0);
    ck_assert_uint_eq(fx_find(h, CKO_DATA, NULL, NULL), 0);
    ck_assert_uint_eq(fx_find(h, CKO_PUBLIC_KEY, NULL, NULL), 1);
    CK_OBJECT_HANDLE pub = fx_find_one(h, CKO_PUBLIC_KEY, NULL);
    fx_login(h);
    CK_OBJECT_HANDLE priv = fx_find_one(h, CKO_PRIVATE_KEY, NULL);
    ck_assert_uint_eq(fx_find(h, CKO_DATA, "secret", NULL), 1);
    ck_assert_uint_eq(fx_find_one(h, CKO_PUBLIC_KEY, NULL), pub); /* public handles stay */
    ck_assert_rv(C_Logout(h), CKR_OK);
    CK_ULONG cls;
    CK_ATTRIBUTE a = {CKA_CLASS, &cls, sizeof(cls)};
    ck_assert_rv(C_GetAttributeValue(h, priv, &a, 1), CKR_OBJECT_HANDLE_INVALID);
    fx_login(h);
    /* a handle to a private object stays invalid after logging in again */
    ck_assert_rv(C_GetAttributeValue(h, priv, &a, 1), CKR_OBJECT_HANDLE_INVALID);
    ck_assert_uint_ne(fx_find_one(h, CKO_PRIVATE_KEY, NULL), priv);
    fx_fini();
}
END_TEST

START_TEST(find_uses_the_cache)
{
    CK_SESSION_HANDLE h;
    fx_init_keys(&h);
    CK_OBJECT_HANDLE cert = fx_find_one(h, CKO_CERTIFICATE, NULL);
    unsigned lists = mock_card_list_calls(fx_card);
    for (int i = 0; i < 20; i++)
        ck_assert_uint_eq(fx_find(h, CKO_CERTIFICATE, NULL, NULL), 1);
    ck_assert_uint_eq(mock_card_list_calls(fx_card), lists);
    /* another process wrote the card: listed again, the same objects keep their handles */
    mock_card_bump_generation(fx_card);
    ck_assert_uint_eq(fx_find_one(h, CKO_CERTIFICATE, NULL), cert);
    ck_assert_uint_eq(mock_card_list_calls(fx_card), lists + 1);
    mock_card_add_data(fx_card, "new", "v", false);
    ck_assert_uint_eq(fx_find(h, CKO_DATA, "new", NULL), 1);
    fx_fini();
}
END_TEST

/* Whether a key's use asks the token first: always, except a private-key operation on
 * a token whose transactions report its changes themselves (a PC/SC card), where the
 * operation's own transaction does. */
static void key_use_lists(bool changes_seen_at_txn, unsigned sign_lists)
{
    mock_config cfg;
    mock_config_default(&cfg);
    cfg.changes_seen_at_txn = changes_seen_at_txn;
    fx_init_with(&cfg);
    mock_card_add_keypair(fx_card, mock_key(0), "\x01", "key1", false, true, true);
    CK_SESSION_HANDLE h = fx_open(false);
    fx_login(h);
    CK_OBJECT_HANDLE priv = fx_find_one(h, CKO_PRIVATE_KEY, NULL);
    CK_OBJECT_HANDLE pub = fx_find_one(h, CKO_PUBLIC_KEY, NULL);
    CK_MECHANISM mech = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_BYTE data[] = "data", sig[256];
    CK_ULONG len = sizeof(sig);

    unsigned lists = mock_card_list_calls(fx_card);
    mock_card_bump_generation(fx_card);
    ck_assert_rv(C_SignInit(h, &mech, priv), CKR_OK);
    ck_assert_uint_eq(mock_card_list_calls(fx_card), lists + sign_lists);
    ck_assert_rv(C_Sign(h, data, sizeof(data), sig, &len), CKR_OK);
    mock_card_bump_generation(fx_card);
    ck_assert_rv(C_VerifyInit(h, &mech, pub), CKR_OK);
    ck_assert_uint_eq(mock_card_list_calls(fx_card), lists + sign_lists + 1);
    ck_assert_rv(C_Verify(h, data, sizeof(data), sig, len), CKR_OK);
    fx_fini();
}

START_TEST(key_use_checks_the_token)
{
    key_use_lists(false, 1);
    key_use_lists(true, 0);
}
END_TEST

START_TEST(get_attribute_value_cases)
{
    CK_SESSION_HANDLE h;
    fx_init_keys(&h);
    CK_OBJECT_HANDLE priv = fx_find_one(h, CKO_PRIVATE_KEY, NULL);
    CK_BYTE label[8], modulus[256], small[4];
    CK_BBOOL sens = 0;
    CK_ATTRIBUTE t[] = {
        {CKA_LABEL, label, sizeof(label)},     /* fits */
        {CKA_PRIVATE_EXPONENT, modulus, 256},  /* sensitive */
        {CKA_VALUE_LEN, small, sizeof(small)}, /* not an RSA key attribute */
        {CKA_MODULUS, small, sizeof(small)},   /* too small */
        {CKA_SENSITIVE, &sens, sizeof(sens)},  /* fits */
        {CKA_PUBLIC_EXPONENT, NULL, 0},        /* length query */
    };
    CK_RV rv = C_GetAttributeValue(h, priv, t, 6);
    /* any of the three may be returned; ours says the most important one */
    ck_assert_rv(rv, CKR_ATTRIBUTE_SENSITIVE);
    ck_assert_uint_eq(t[0].ulValueLen, 4);
    ck_assert_mem_eq(label, "key1", 4);
    ck_assert_uint_eq(t[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    ck_assert_uint_eq(t[2].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    ck_assert_uint_eq(t[3].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    ck_assert_uint_eq(t[4].ulValueLen, 1);
    ck_assert_uint_eq(sens, CK_TRUE);
    ck_assert_uint_eq(t[5].ulValueLen, 3);
    CK_ATTRIBUTE t2[] = {{CKA_VALUE_LEN, small, 4}, {CKA_MODULUS, small, 4}};
    ck_assert_rv(C_GetAttributeValue(h, priv, t2, 2), CKR_ATTRIBUTE_TYPE_INVALID);
    CK_ATTRIBUTE t3[] = {{CKA_MODULUS, small, 4}, {CKA_LABEL, label, 8}};
    ck_assert_rv(C_GetAttributeValue(h, priv, t3, 2), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(t3[1].ulValueLen, 4);
    ck_assert_rv(C_GetAttributeValue(h, priv, NULL, 1), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_GetAttributeValue(h, 12345, t3, 2), CKR_OBJECT_HANDLE_INVALID);
    ck_assert_rv(C_GetAttributeValue(h + 77, priv, t3, 2), CKR_SESSION_HANDLE_INVALID);
    CK_ULONG size = 0;
    ck_assert_rv(C_GetObjectSize(h, priv, &size), CKR_OK);
    ck_assert_uint_gt(size, 128);
    ck_assert_rv(C_GetObjectSize(h, priv, NULL), CKR_ARGUMENTS_BAD);
    fx_fini();
}
END_TEST

/* What SunPKCS11's P11Key and NSS read from a card key: all present and right. */
START_TEST(private_key_attributes_are_complete)
{
    fx_init();
    /* the card reports no modulus on the private key; the public key has it */
    mock_card_add_keypair(fx_card, mock_key(0), "\x07", "k", false, true, false);
    CK_SESSION_HANDLE h = fx_open(false);
    fx_login(h);
    CK_OBJECT_HANDLE priv = fx_find_one(h, CKO_PRIVATE_KEY, NULL);
    CK_BYTE n[256], e[8];
    CK_ULONG nl = fx_get_bytes(h, priv, CKA_MODULUS, n, sizeof(n));
    CK_ULONG el = fx_get_bytes(h, priv, CKA_PUBLIC_EXPONENT, e, sizeof(e));
    ck_assert_uint_eq(nl, 128);
    ck_assert_uint_eq(el, 3);
    BIGNUM *bn = NULL;
    EVP_PKEY_get_bn_param(mock_key(0), OSSL_PKEY_PARAM_RSA_N, &bn);
    CK_BYTE want[128];
    BN_bn2bin(bn, want);
    BN_free(bn);
    ck_assert_mem_eq(n, want, 128);
    ck_assert(fx_get_bool(h, priv, CKA_SENSITIVE));
    ck_assert(!fx_get_bool(h, priv, CKA_EXTRACTABLE));
    ck_assert(fx_get_bool(h, priv, CKA_ALWAYS_SENSITIVE));
    ck_assert(fx_get_bool(h, priv, CKA_NEVER_EXTRACTABLE));
    ck_assert(fx_get_bool(h, priv, CKA_LOCAL));
    ck_assert(fx_get_bool(h, priv, CKA_TOKEN));
    ck_assert(fx_get_bool(h, priv, CKA_PRIVATE));
    ck_assert(!fx_get_bool(h, priv, CKA_DERIVE));
    ck_assert(!fx_get_bool(h, priv, CKA_ALWAYS_AUTHENTICATE));
    ck_assert_uint_eq(fx_get_ulong(h, priv, CKA_KEY_TYPE), CKK_RSA);
    CK_BYTE spki[512];
    ck_assert_uint_gt(fx_get_bytes(h, priv, CKA_PUBLIC_KEY_INFO, spki, sizeof(spki)), 128);
    CK_ATTRIBUTE subj = {CKA_SUBJECT, NULL, 0}, sd = {CKA_START_DATE, NULL, 0};
    ck_assert_rv(C_GetAttributeValue(h, priv, &subj, 1), CKR_OK);
    ck_assert_rv(C_GetAttributeValue(h, priv, &sd, 1), CKR_OK);
    ck_assert_uint_eq(sd.ulValueLen, 0);
    CK_OBJECT_HANDLE pub = fx_find_one(h, CKO_PUBLIC_KEY, NULL);
    ck_assert_uint_eq(fx_get_ulong(h, pub, CKA_MODULUS_BITS), 1024);
    ck_assert(fx_get_bool(h, pub, CKA_VERIFY));
    ck_assert(!fx_get_bool(h, pub, CKA_PRIVATE));
    fx_fini();
}
END_TEST

START_TEST(certificate_attributes_are_derived)
{
    CK_SESSION_HANDLE h;
    fx_init_keys(&h);
    CK_OBJECT_HANDLE cert = fx_find_one(h, CKO_CERTIFICATE, NULL);
    CK_BYTE buf[1024];
    ck_assert_uint_gt(fx_get_bytes(h, cert, CKA_SUBJECT, buf, sizeof(buf)), 10);
    ck_assert_uint_gt(fx_get_bytes(h, cert, CKA_ISSUER, buf, sizeof(buf)), 10);
    CK_ULONG sl = fx_get_bytes(h, cert, CKA_SERIAL_NUMBER, buf, sizeof(buf));
    ck_assert_uint_eq(sl, 6); /* 02 04 01 23 45 67 */
    ck_assert_mem_eq(buf, "\x02\x04\x01\x23\x45\x67", 6);
    ck_assert_uint_eq(fx_get_bytes(h, cert, CKA_CHECK_VALUE, buf, sizeof(buf)), 3);
    ck_assert_uint_eq(fx_get_ulong(h, cert, CKA_CERTIFICATE_TYPE), CKC_X_509);
    ck_assert_uint_eq(fx_get_ulong(h, cert, CKA_CERTIFICATE_CATEGORY), 0);
    ck_assert(!fx_get_bool(h, cert, CKA_TRUSTED));
    fx_fini();
}
END_TEST

Suite *object_suite(void)
{
    Suite *s = suite_create("p11_object");
    TCase *tc = tcase_create("object");
    tcase_add_test(tc, find_by_class_id_label);
    tcase_add_test(tc, private_objects_need_login_and_lose_handles_on_logout);
    tcase_add_test(tc, find_uses_the_cache);
    tcase_add_test(tc, key_use_checks_the_token);
    tcase_add_test(tc, get_attribute_value_cases);
    tcase_add_test(tc, private_key_attributes_are_complete);
    tcase_add_test(tc, certificate_attributes_are_derived);
    suite_add_tcase(s, tc);
    return s;
}
