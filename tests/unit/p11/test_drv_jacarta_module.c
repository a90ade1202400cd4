/* The JaCarta through the module's C_* functions, as an embedded token of a throwaway
 * $VTOKEN_HOME: the vendor filter (vendor=jacarta: only the JaCarta, with Aladdin's
 * C_GetInfo strings), SHA256-RSA-PKCS padded by the card, PSS and OAEP over the card's raw
 * RSA, and a locked user PIN unblocked by the SO. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11_test.h"
#include "test_drv_jacarta.h"

#define JC_USER "1234567890"
#define JC_SO   "00000000"

static char home[64];
static char opts[256];

static void rmrf(const char *d)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
    ck_assert_int_eq(system(cmd), 0);
}

static void setup(void)
{
    p11_test_clear_slots();
    strcpy(home, "/tmp/vt-jcm-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(home));
    snprintf(opts, sizeof(opts), "home=%s pcsc=0 vendor=jacarta", home);
}

static void teardown(void)
{
    C_Finalize(NULL);
    rmrf(home);
}

static void init(const char *o)
{
    CK_C_INITIALIZE_ARGS a = {.flags = CKF_OS_LOCKING_OK, .pReserved = (void *)o};
    ck_assert_rv(C_Initialize(&a), CKR_OK);
}

static bool padded(const CK_UTF8CHAR *f, size_t n, const char *s)
{
    size_t l = strlen(s);
    if (l > n || memcmp(f, s, l) != 0)
        return false;
    for (size_t i = l; i < n; i++)
        if (f[i] != ' ')
            return false;
    return true;
}

static CK_SLOT_ID only_slot(void)
{
    CK_SLOT_ID ids[8];
    CK_ULONG n = 8;
    ck_assert_rv(C_GetSlotList(CK_TRUE, ids, &n), CKR_OK);
    ck_assert_uint_eq(n, 1);
    return ids[0];
}

START_TEST(vendor_filter_and_strings)
{
    CK_SLOT_INFO si;
    CK_TOKEN_INFO ti;
    CK_INFO info;
    CK_SLOT_ID slot;
    CK_ULONG n = 8;
    CK_SLOT_ID ids[8];

    init(opts);
    slot = only_slot();
    ck_assert_rv(C_GetSlotInfo(slot, &si), CKR_OK);
    ck_assert(padded(si.slotDescription, 64, "ARDS JaCarta"));
    ck_assert(si.flags & CKF_TOKEN_PRESENT);
    ck_assert_rv(C_GetInfo(&info), CKR_OK);
    ck_assert(padded(info.manufacturerID, 32, "Aladdin R.D."));
    ck_assert(padded(info.libraryDescription, 32, "JaCarta PKCS#11"));
    ck_assert_rv(C_GetTokenInfo(slot, &ti), CKR_OK);
    ck_assert(padded(ti.label, 32, "JaCarta"));
    ck_assert(padded(ti.manufacturerID, 32, "Aladdin R.D."));
    ck_assert(padded(ti.model, 16, "JaCarta Laser"));
    ck_assert_uint_eq(ti.ulMinPinLen, 4);
    ck_assert_uint_eq(ti.ulMaxPinLen, 16);
    ck_assert_uint_eq(ti.ulTotalPublicMemory, 73728);
    ck_assert_uint_eq(ti.flags & (CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED |
                                  CKF_LOGIN_REQUIRED | CKF_RNG | CKF_USER_PIN_LOCKED),
                      CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | CKF_LOGIN_REQUIRED |
                          CKF_RNG);
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    /* without a filter the home's three tokens show; another vendor's name hides ours */
    snprintf(opts, sizeof(opts), "home=%s pcsc=0 vendor=all", home);
    init(opts);
    ck_assert_rv(C_GetSlotList(CK_TRUE, ids, &n), CKR_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    snprintf(opts, sizeof(opts), "home=%s pcsc=0 vendor=kaztoken", home);
    init(opts);
    slot = only_slot();
    ck_assert_rv(C_GetSlotInfo(slot, &si), CKR_OK);
    ck_assert(!padded(si.slotDescription, 64, "ARDS JaCarta"));
}
END_TEST

/* PKCS#1 v1.5 on the card, PSS and OAEP padded by the module over the card's raw RSA. */
START_TEST(pkcs_pss_and_oaep)
{
    CK_MECHANISM gen = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    CK_ULONG bits = 2048;
    CK_BBOOL yes = CK_TRUE;
    CK_BYTE id[] = {0x01};
    CK_ATTRIBUTE pubt[] = {{CKA_MODULUS_BITS, &bits, sizeof(bits)},
                           {CKA_VERIFY, &yes, sizeof(yes)},
                           {CKA_ENCRYPT, &yes, sizeof(yes)},
                           {CKA_ID, id, sizeof(id)}};
    CK_ATTRIBUTE privt[] = {{CKA_SIGN, &yes, sizeof(yes)},
                            {CKA_DECRYPT, &yes, sizeof(yes)},
                            {CKA_TOKEN, &yes, sizeof(yes)},
                            {CKA_ID, id, sizeof(id)}};
    CK_OBJECT_HANDLE pub, priv;
    CK_MECHANISM m_pkcs = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    CK_MECHANISM m_pss = {CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof(pss)};
    CK_RSA_PKCS_OAEP_PARAMS oaep = {CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0};
    CK_MECHANISM m_oaep = {CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep)};
    CK_MECHANISM m_rsa = {CKM_RSA_PKCS, NULL, 0};
    CK_MECHANISM *signs[] = {&m_pkcs, &m_pss}, *crypts[] = {&m_oaep, &m_rsa};
    CK_BYTE sig[256], ct[256], pt[256], msg[] = "vtoken JaCarta";
    CK_ULONG sig_len, ct_len, pt_len;
    CK_SESSION_HANDLE h;

    init(opts);
    ck_assert_rv(C_OpenSession(only_slot(), CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h),
                 CKR_OK);
    ck_assert_rv(C_Login(h, CKU_USER, PIN(JC_USER)), CKR_OK);
    ck_assert_rv(C_GenerateKeyPair(h, &gen, pubt, 4, privt, 4, &pub, &priv), CKR_OK);
    for (size_t i = 0; i < 2; i++) {
        sig_len = sizeof(sig);
        ck_assert_rv(C_SignInit(h, signs[i], priv), CKR_OK);
        ck_assert_rv(C_Sign(h, msg, sizeof(msg), sig, &sig_len), CKR_OK);
        ck_assert_uint_eq(sig_len, 256);
        ck_assert_rv(C_VerifyInit(h, signs[i], pub), CKR_OK);
        ck_assert_rv(C_Verify(h, msg, sizeof(msg), sig, sig_len), CKR_OK);
        sig[10] ^= 1;
        ck_assert_rv(C_VerifyInit(h, signs[i], pub), CKR_OK);
        ck_assert_rv(C_Verify(h, msg, sizeof(msg), sig, sig_len), CKR_SIGNATURE_INVALID);
    }
    for (size_t i = 0; i < 2; i++) {
        ct_len = sizeof(ct);
        pt_len = sizeof(pt);
        ck_assert_rv(C_EncryptInit(h, crypts[i], pub), CKR_OK);
        ck_assert_rv(C_Encrypt(h, msg, sizeof(msg), ct, &ct_len), CKR_OK);
        ck_assert_rv(C_DecryptInit(h, crypts[i], priv), CKR_OK);
        ck_assert_rv(C_Decrypt(h, ct, ct_len, pt, &pt_len), CKR_OK);
        ck_assert_uint_eq(pt_len, sizeof(msg));
        ck_assert_mem_eq(pt, msg, sizeof(msg));
    }
    /* logged out, the private key cannot be used */
    ck_assert_rv(C_Logout(h), CKR_OK);
    ck_assert_rv(C_SignInit(h, &m_pkcs, priv), CKR_USER_NOT_LOGGED_IN);
}
END_TEST

START_TEST(lock_and_unblock)
{
    CK_SESSION_HANDLE h;
    CK_TOKEN_INFO ti;
    CK_SLOT_ID slot;

    init(opts);
    slot = only_slot();
    ck_assert_rv(C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h), CKR_OK);
    for (int i = 0; i < 9; i++)
        ck_assert_rv(C_Login(h, CKU_USER, PIN("0000")), CKR_PIN_INCORRECT);
    ck_assert_rv(C_GetTokenInfo(slot, &ti), CKR_OK);
    ck_assert(ti.flags & CKF_USER_PIN_FINAL_TRY);
    ck_assert_rv(C_Login(h, CKU_USER, PIN("0000")), CKR_PIN_LOCKED);
    ck_assert_rv(C_Login(h, CKU_USER, PIN(JC_USER)), CKR_PIN_LOCKED);
    ck_assert_rv(C_GetTokenInfo(slot, &ti), CKR_OK);
    ck_assert(ti.flags & CKF_USER_PIN_LOCKED);
    ck_assert_rv(C_Login(h, CKU_SO, PIN(JC_SO)), CKR_OK);
    ck_assert_rv(C_InitPIN(h, PIN("13572468")), CKR_OK);
    ck_assert_rv(C_Logout(h), CKR_OK);
    ck_assert_rv(C_Login(h, CKU_USER, PIN("13572468")), CKR_OK);
    ck_assert_rv(C_GetTokenInfo(slot, &ti), CKR_OK);
    ck_assert_uint_eq(ti.flags & (CKF_USER_PIN_LOCKED | CKF_USER_PIN_FINAL_TRY), 0);
}
END_TEST

TCase *drv_jacarta_module_tcase(void)
{
    TCase *tc = tcase_create("module, embedded JaCarta");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, vendor_filter_and_strings);
    tcase_add_test(tc, pkcs_pss_and_oaep);
    tcase_add_test(tc, lock_and_unblock);
    return tc;
}
