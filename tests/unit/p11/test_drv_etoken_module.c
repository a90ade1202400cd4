/* The eToken through the module's C_* functions, as an embedded token of a throwaway
 * $VTOKEN_HOME: the vendor filter (vendor=etoken: only the eToken, with SAC's C_GetInfo
 * strings), RSA-PSS and OAEP through raw RSA on the card, and CKR_DEVICE_MEMORY on a full
 * token with every earlier object intact after the module is initialised again. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "p11_test.h"
#include "test_drv_etoken.h"

#define ET_USER "1234567890"

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
    strcpy(home, "/tmp/vt-etm-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(home));
    snprintf(opts, sizeof(opts), "home=%s pcsc=0 vendor=etoken", home);
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

/* The one slot the filter leaves, logged in on a R/W session. */
static CK_SESSION_HANDLE open_user(CK_SLOT_ID *slot)
{
    CK_SLOT_ID ids[8];
    CK_ULONG n = 8;
    CK_SESSION_HANDLE h = 0;

    ck_assert_rv(C_GetSlotList(CK_TRUE, ids, &n), CKR_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_rv(C_OpenSession(ids[0], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h),
                 CKR_OK);
    ck_assert_rv(C_Login(h, CKU_USER, PIN(ET_USER)), CKR_OK);
    if (slot)
        *slot = ids[0];
    return h;
}

START_TEST(vendor_filter_and_strings)
{
    CK_SLOT_ID ids[8];
    CK_ULONG n = 8;
    CK_SLOT_INFO si;
    CK_TOKEN_INFO ti;
    CK_INFO info;

    init(opts);
    ck_assert_rv(C_GetSlotList(CK_FALSE, ids, &n), CKR_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_rv(C_GetSlotInfo(ids[0], &si), CKR_OK);
    ck_assert(padded(si.slotDescription, 64, "SafeNet Token JC"));
    ck_assert(si.flags & CKF_TOKEN_PRESENT);
    ck_assert_rv(C_GetInfo(&info), CKR_OK);
    ck_assert(padded(info.manufacturerID, 32, "SafeNet, Inc."));
    ck_assert(padded(info.libraryDescription, 32, "SafeNet eToken PKCS#11"));
    ck_assert_rv(C_GetTokenInfo(ids[0], &ti), CKR_OK);
    ck_assert(padded(ti.label, 32, "eToken"));
    ck_assert(padded(ti.manufacturerID, 32, "SafeNet, Inc."));
    ck_assert(padded(ti.model, 16, "eToken PRO 72K"));
    ck_assert_uint_eq(ti.ulMinPinLen, 6);
    ck_assert_uint_eq(ti.ulMaxPinLen, 16);
    ck_assert_uint_eq(ti.ulTotalPublicMemory, 73728);
    ck_assert(ti.flags & CKF_USER_PIN_INITIALIZED);
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    /* another vendor's name hides the eToken */
    snprintf(opts, sizeof(opts), "home=%s pcsc=0 vendor=kaztoken", home);
    init(opts);
    n = 8;
    ck_assert_rv(C_GetSlotList(CK_FALSE, ids, &n), CKR_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_rv(C_GetSlotInfo(ids[0], &si), CKR_OK);
    ck_assert(!padded(si.slotDescription, 64, "SafeNet Token JC"));
}
END_TEST

/* PSS signatures and OAEP decryption: the module pads, the card computes raw RSA. */
START_TEST(pss_and_oaep_over_raw_rsa)
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
    CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    CK_MECHANISM m_pss = {CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof(pss)};
    CK_RSA_PKCS_OAEP_PARAMS oaep = {CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0};
    CK_MECHANISM m_oaep = {CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep)};
    CK_BYTE sig[256], ct[256], pt[256], msg[] = "vtoken eToken";
    CK_ULONG sig_len = sizeof(sig), ct_len = sizeof(ct), pt_len = sizeof(pt);
    CK_SESSION_HANDLE h;

    init(opts);
    h = open_user(NULL);
    ck_assert_rv(C_GenerateKeyPair(h, &gen, pubt, 4, privt, 4, &pub, &priv), CKR_OK);
    ck_assert_rv(C_SignInit(h, &m_pss, priv), CKR_OK);
    ck_assert_rv(C_Sign(h, msg, sizeof(msg), sig, &sig_len), CKR_OK);
    ck_assert_uint_eq(sig_len, 256);
    ck_assert_rv(C_VerifyInit(h, &m_pss, pub), CKR_OK);
    ck_assert_rv(C_Verify(h, msg, sizeof(msg), sig, sig_len), CKR_OK);
    sig[10] ^= 1;
    ck_assert_rv(C_VerifyInit(h, &m_pss, pub), CKR_OK);
    ck_assert_rv(C_Verify(h, msg, sizeof(msg), sig, sig_len), CKR_SIGNATURE_INVALID);

    /* OAEP: encrypted with the public key (in software), decrypted on the card */
    ck_assert_rv(C_EncryptInit(h, &m_oaep, pub), CKR_OK);
    ck_assert_rv(C_Encrypt(h, msg, sizeof(msg), ct, &ct_len), CKR_OK);
    ck_assert_rv(C_DecryptInit(h, &m_oaep, priv), CKR_OK);
    ck_assert_rv(C_Decrypt(h, ct, ct_len, pt, &pt_len), CKR_OK);
    ck_assert_uint_eq(pt_len, sizeof(msg));
    ck_assert_mem_eq(pt, msg, sizeof(msg));
}
END_TEST

static CK_RV put_data(CK_SESSION_HANDLE h, unsigned i, const CK_BYTE *v, CK_ULONG len)
{
    CK_OBJECT_CLASS c = CKO_DATA;
    CK_BBOOL yes = CK_TRUE;
    char label[16];
    CK_OBJECT_HANDLE o;
    snprintf(label, sizeof(label), "blob %u", i);
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &c, sizeof(c)},
                        {CKA_TOKEN, &yes, sizeof(yes)},
                        {CKA_LABEL, label, (CK_ULONG)strlen(label)},
                        {CKA_VALUE, (void *)v, len}};
    return C_CreateObject(h, t, 4, &o);
}

START_TEST(full_token_through_the_module)
{
    enum { SIZE = 4000, MAX = 32 };
    static CK_BYTE vals[MAX][SIZE];
    CK_SESSION_HANDLE h;
    CK_SLOT_ID slot;
    CK_TOKEN_INFO ti;
    unsigned made;
    CK_RV rv = CKR_OK;

    init(opts);
    h = open_user(&slot);
    for (made = 0; made < MAX; made++) {
        ck_assert_int_eq(RAND_bytes(vals[made], SIZE), 1);
        rv = put_data(h, made, vals[made], SIZE);
        if (rv != CKR_OK)
            break;
    }
    ck_assert_rv(rv, CKR_DEVICE_MEMORY);
    ck_assert_uint_ge(made, 8);
    ck_assert_rv(C_GetTokenInfo(slot, &ti), CKR_OK);
    ck_assert_uint_lt(ti.ulFreePublicMemory, SIZE + 64);
    ck_assert_rv(C_Finalize(NULL), CKR_OK);

    /* the module again, as another process would load it */
    init(opts);
    h = open_user(NULL);
    CK_OBJECT_CLASS c = CKO_DATA;
    CK_ATTRIBUTE q[] = {{CKA_CLASS, &c, sizeof(c)}};
    CK_OBJECT_HANDLE found[MAX + 1];
    CK_ULONG n = 0;
    ck_assert_rv(C_FindObjectsInit(h, q, 1), CKR_OK);
    ck_assert_rv(C_FindObjects(h, found, MAX + 1, &n), CKR_OK);
    ck_assert_rv(C_FindObjectsFinal(h), CKR_OK);
    ck_assert_uint_eq(n, made);
    for (CK_ULONG i = 0; i < n; i++) {
        char label[16] = {0};
        static CK_BYTE v[SIZE + 1];
        CK_ATTRIBUTE a[] = {{CKA_LABEL, label, sizeof(label) - 1}, {CKA_VALUE, v, sizeof(v)}};
        unsigned k;
        ck_assert_rv(C_GetAttributeValue(h, found[i], a, 2), CKR_OK);
        label[a[0].ulValueLen] = '\0';
        char *end = NULL;
        ck_assert_int_eq(strncmp(label, "blob ", 5), 0);
        k = (unsigned)strtoul(label + 5, &end, 10);
        ck_assert(end != label + 5 && *end == '\0');
        ck_assert_uint_lt(k, made);
        ck_assert_uint_eq(a[1].ulValueLen, SIZE);
        ck_assert_mem_eq(v, vals[k], SIZE);
    }
    /* still full; one destroyed, one fits again */
    ck_assert_rv(put_data(h, 99, vals[0], SIZE), CKR_DEVICE_MEMORY);
    ck_assert_rv(C_DestroyObject(h, found[0]), CKR_OK);
    ck_assert_rv(put_data(h, 99, vals[0], SIZE), CKR_OK);
}
END_TEST

TCase *drv_etoken_module_tcase(void)
{
    TCase *tc = tcase_create("module, embedded eToken");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, vendor_filter_and_strings);
    tcase_add_test(tc, pss_and_oaep_over_raw_rsa);
    tcase_add_test(tc, full_token_through_the_module);
    return tc;
}
