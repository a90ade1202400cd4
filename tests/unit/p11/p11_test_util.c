/* Fixture and helpers shared by the p11 test files (no suite here). */
#include <string.h>

#include "p11_test.h"

mock_card *fx_card;
CK_SLOT_ID fx_slot;

void fx_init_with(const mock_config *cfg)
{
    mock_config def;
    if (!cfg) {
        mock_config_default(&def);
        cfg = &def;
    }
    p11_test_clear_slots();
    fx_card = mock_card_new(cfg);
    ck_assert_rv(p11_test_register_slot("mock reader", NULL, mock_open, fx_card), CKR_OK);
    ck_assert_rv(C_Initialize(NULL), CKR_OK);
    fx_slot = 0;
}

void fx_init(void)
{
    fx_init_with(NULL);
}

void fx_fini(void)
{
    C_Finalize(NULL);
    p11_test_clear_slots();
    mock_card_free(fx_card);
    fx_card = NULL;
}

CK_SESSION_HANDLE fx_open(bool rw)
{
    CK_SESSION_HANDLE h = 0;
    ck_assert_rv(
        C_OpenSession(fx_slot, CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0), NULL, NULL, &h),
        CKR_OK);
    ck_assert(h != CK_INVALID_HANDLE);
    return h;
}

void fx_login(CK_SESSION_HANDLE h)
{
    ck_assert_rv(C_Login(h, CKU_USER, PIN(USER_PIN)), CKR_OK);
}

void fx_init_keys(CK_SESSION_HANDLE *h)
{
    unsigned char *der = NULL;
    fx_init();
    mock_card_add_keypair(fx_card, mock_key(0), "\x01", "key1", false, true, true);
    size_t len = mock_make_cert(mock_key(0), "Test User", &der);
    mock_card_add_cert(fx_card, der, len, "\x01", "key1");
    OPENSSL_free(der);
    *h = fx_open(true);
    fx_login(*h);
}

CK_ULONG fx_find(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls, const char *label, CK_OBJECT_HANDLE *out)
{
    CK_ATTRIBUTE t[2] = {{CKA_CLASS, &cls, sizeof(cls)},
                         {CKA_LABEL, (void *)label, label ? strlen(label) : 0}};
    CK_OBJECT_HANDLE found[64];
    CK_ULONG n = 0;
    ck_assert_rv(C_FindObjectsInit(h, t, label ? 2 : 1), CKR_OK);
    ck_assert_rv(C_FindObjects(h, found, 64, &n), CKR_OK);
    ck_assert_rv(C_FindObjectsFinal(h), CKR_OK);
    if (out && n)
        *out = found[0];
    return n;
}

CK_OBJECT_HANDLE fx_find_one(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls, const char *label)
{
    CK_OBJECT_HANDLE o = CK_INVALID_HANDLE;
    CK_ULONG n = fx_find(h, cls, label, &o);
    ck_assert_msg(n == 1, "expected one %s labelled %s, found %lu", p11_class_name(cls),
                  label ? label : "(any)", n);
    return o;
}

CK_ULONG fx_get_ulong(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t)
{
    CK_ULONG v = 0;
    CK_ATTRIBUTE a = {t, &v, sizeof(v)};
    ck_assert_rv(C_GetAttributeValue(h, o, &a, 1), CKR_OK);
    ck_assert_uint_eq(a.ulValueLen, sizeof(v));
    return v;
}

bool fx_get_bool(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t)
{
    CK_BBOOL v = 0;
    CK_ATTRIBUTE a = {t, &v, sizeof(v)};
    ck_assert_rv(C_GetAttributeValue(h, o, &a, 1), CKR_OK);
    ck_assert_uint_eq(a.ulValueLen, 1);
    return v == CK_TRUE;
}

CK_ULONG fx_get_bytes(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t, void *buf,
                      CK_ULONG cap)
{
    CK_ATTRIBUTE a = {t, buf, cap};
    ck_assert_rv(C_GetAttributeValue(h, o, &a, 1), CKR_OK);
    return a.ulValueLen;
}
