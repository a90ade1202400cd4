/* PKCS#11 misuse through the real module on its real embedded tokens (the three cards of
 * a throwaway $VTOKEN_HOME, and NCA's PKCS#12 test file): every function before
 * C_Initialize and after C_Finalize, double initialisation, bad slot, session, object
 * and key handles (also handles of another token and of a closed session), and calls
 * out of order (updates and finals without an init, a second init, login state
 * mistakes). Each answers one precise CKR_*; nothing crashes or leaks (the sanitized
 * build runs this too). The fixture is shared with test_misuse_args.c. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_misuse.h"

#define NCA_AUTH "AUTH_RSA256_b2c70a9ff7a5dc59de0ccc3c0ddde3437cc1f12d"

mz_token mz_tokens[MZ_NTOKENS] = {
    {"kaztoken", 0, "12345678", "87654321", 0, 0},
    {"etoken", 0, "1234567890", "0987654321", 0, 0},
    {"jacarta", 0, "1234567890", "00000000", 0, 0},
    {"pkcs12", 0, "Qwerty12", NULL, 0, 0},
};

static char home[64];
static char opts[512];

static void rmrf(const char *d)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
    ck_assert_int_eq(system(cmd), 0);
}

void mz_setup_dirs(void)
{
    char cmd[1024];
    p11_test_clear_slots();
    /* tmpfs when there is one: every card write fsyncs */
    strcpy(home,
           access("/dev/shm", W_OK) == 0 ? "/dev/shm/vt-misuse-XXXXXX" : "/tmp/vt-misuse-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(home));
    snprintf(cmd, sizeof(cmd),
             "mkdir -p '%s/p12' && cp '%s/nca/%s.p12' '%s/p12/' && chmod 600 '%s/p12/%s.p12'", home,
             VT_SHARED_VECTORS_DIR, NCA_AUTH, home, home, NCA_AUTH);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(opts, sizeof(opts), "home=%s pcsc=0 p12_path=%s/p12 vendor=all", home, home);
}

const char *mz_home(void)
{
    return home;
}

CK_RV mz_initialize(void)
{
    CK_C_INITIALIZE_ARGS a = {.flags = CKF_OS_LOCKING_OK, .pReserved = opts};
    return C_Initialize(&a);
}

void mz_setup(void)
{
    CK_SLOT_ID ids[8];
    CK_ULONG n = 8;
    mz_setup_dirs();
    ck_assert_rv(mz_initialize(), CKR_OK);
    ck_assert_rv(C_GetSlotList(CK_TRUE, ids, &n), CKR_OK);
    ck_assert_uint_eq(n, MZ_NTOKENS); /* the three cards, then the file */
    for (CK_ULONG i = 0; i < n; i++) {
        mz_tokens[i].slot = ids[i];
        mz_tokens[i].priv = mz_tokens[i].pub = CK_INVALID_HANDLE;
    }
}

void mz_teardown(void)
{
    C_Finalize(NULL);
    rmrf(home);
}

CK_SESSION_HANDLE mz_open(const mz_token *t, bool rw)
{
    CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
    ck_assert_rv(
        C_OpenSession(t->slot, CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0), NULL, NULL, &h),
        CKR_OK);
    return h;
}

void mz_login(const mz_token *t, CK_SESSION_HANDLE h)
{
    ck_assert_rv(C_Login(h, CKU_USER, PIN(t->user_pin)), CKR_OK);
}

static CK_OBJECT_HANDLE find_one(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls)
{
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)}};
    CK_OBJECT_HANDLE o[4];
    CK_ULONG n = 0;
    ck_assert_rv(C_FindObjectsInit(h, t, 1), CKR_OK);
    ck_assert_rv(C_FindObjects(h, o, 4, &n), CKR_OK);
    ck_assert_rv(C_FindObjectsFinal(h), CKR_OK);
    ck_assert_uint_ge(n, 1);
    return o[0];
}

void mz_keys(mz_token *t, CK_SESSION_HANDLE *h)
{
    *h = mz_open(t, true);
    mz_login(t, *h);
    if (t->so_pin == NULL) {
        t->priv = find_one(*h, CKO_PRIVATE_KEY);
        t->pub = find_one(*h, CKO_PUBLIC_KEY);
        return;
    }
    CK_MECHANISM gen = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    CK_ULONG bits = 1024;
    CK_BBOOL yes = CK_TRUE;
    CK_BYTE id[] = {0x4D};
    CK_ATTRIBUTE pubt[] = {{CKA_MODULUS_BITS, &bits, sizeof(bits)},
                           {CKA_VERIFY, &yes, sizeof(yes)},
                           {CKA_ENCRYPT, &yes, sizeof(yes)},
                           {CKA_ID, id, sizeof(id)}};
    CK_ATTRIBUTE privt[] = {{CKA_SIGN, &yes, sizeof(yes)},
                            {CKA_DECRYPT, &yes, sizeof(yes)},
                            {CKA_TOKEN, &yes, sizeof(yes)},
                            {CKA_ID, id, sizeof(id)}};
    ck_assert_rv(C_GenerateKeyPair(*h, &gen, pubt, 4, privt, 4, &t->pub, &t->priv), CKR_OK);
}

/* ---- before C_Initialize and after C_Finalize ------------------------------------- */

/* Every function of the 2.40 list (and the 3.0 extras), with plausible arguments. */
static void all_uninitialised(CK_RV want)
{
    CK_INFO info;
    CK_SLOT_ID slots[4];
    CK_ULONG n = 4, len = 16;
    CK_SLOT_INFO si;
    CK_TOKEN_INFO ti;
    CK_MECHANISM_TYPE mt[4];
    CK_MECHANISM_INFO mi;
    CK_SESSION_HANDLE h = 1;
    CK_SESSION_INFO ssi;
    CK_BYTE buf[16] = {0};
    CK_ULONG cls = CKO_DATA;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)}};
    CK_OBJECT_HANDLE o = 1, o2;
    CK_MECHANISM m = {CKM_SHA256, NULL, 0};
    CK_UTF8CHAR label[32];
    memset(label, ' ', sizeof(label));

    ck_assert_rv(C_Finalize(NULL), want);
    ck_assert_rv(C_GetInfo(&info), want);
    ck_assert_rv(C_GetSlotList(CK_FALSE, slots, &n), want);
    ck_assert_rv(C_GetSlotInfo(0, &si), want);
    ck_assert_rv(C_GetTokenInfo(0, &ti), want);
    ck_assert_rv(C_WaitForSlotEvent(CKF_DONT_BLOCK, slots, NULL), want);
    ck_assert_rv(C_GetMechanismList(0, mt, &n), want);
    ck_assert_rv(C_GetMechanismInfo(0, CKM_RSA_PKCS, &mi), want);
    ck_assert_rv(C_InitToken(0, PIN("87654321"), label), want);
    ck_assert_rv(C_InitPIN(h, PIN("12345678")), want);
    ck_assert_rv(C_SetPIN(h, PIN("12345678"), PIN("12345679")), want);
    ck_assert_rv(C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h), want);
    ck_assert_rv(C_CloseSession(h), want);
    ck_assert_rv(C_CloseAllSessions(0), want);
    ck_assert_rv(C_GetSessionInfo(h, &ssi), want);
    ck_assert_rv(C_GetOperationState(h, buf, &len), want);
    ck_assert_rv(C_SetOperationState(h, buf, len, 0, 0), want);
    ck_assert_rv(C_Login(h, CKU_USER, PIN("12345678")), want);
    ck_assert_rv(C_Logout(h), want);
    ck_assert_rv(C_CreateObject(h, t, 1, &o), want);
    ck_assert_rv(C_CopyObject(h, o, t, 1, &o2), want);
    ck_assert_rv(C_DestroyObject(h, o), want);
    ck_assert_rv(C_GetObjectSize(h, o, &len), want);
    ck_assert_rv(C_GetAttributeValue(h, o, t, 1), want);
    ck_assert_rv(C_SetAttributeValue(h, o, t, 1), want);
    ck_assert_rv(C_FindObjectsInit(h, t, 1), want);
    ck_assert_rv(C_FindObjects(h, &o, 1, &n), want);
    ck_assert_rv(C_FindObjectsFinal(h), want);
    ck_assert_rv(C_EncryptInit(h, &m, o), want);
    ck_assert_rv(C_Encrypt(h, buf, 4, buf, &len), want);
    ck_assert_rv(C_EncryptUpdate(h, buf, 4, buf, &len), want);
    ck_assert_rv(C_EncryptFinal(h, buf, &len), want);
    ck_assert_rv(C_DecryptInit(h, &m, o), want);
    ck_assert_rv(C_Decrypt(h, buf, 4, buf, &len), want);
    ck_assert_rv(C_DecryptUpdate(h, buf, 4, buf, &len), want);
    ck_assert_rv(C_DecryptFinal(h, buf, &len), want);
    ck_assert_rv(C_DigestInit(h, &m), want);
    ck_assert_rv(C_Digest(h, buf, 4, buf, &len), want);
    ck_assert_rv(C_DigestUpdate(h, buf, 4), want);
    ck_assert_rv(C_DigestKey(h, o), want);
    ck_assert_rv(C_DigestFinal(h, buf, &len), want);
    ck_assert_rv(C_SignInit(h, &m, o), want);
    ck_assert_rv(C_Sign(h, buf, 4, buf, &len), want);
    ck_assert_rv(C_SignUpdate(h, buf, 4), want);
    ck_assert_rv(C_SignFinal(h, buf, &len), want);
    ck_assert_rv(C_SignRecoverInit(h, &m, o), want);
    ck_assert_rv(C_SignRecover(h, buf, 4, buf, &len), want);
    ck_assert_rv(C_VerifyInit(h, &m, o), want);
    ck_assert_rv(C_Verify(h, buf, 4, buf, 4), want);
    ck_assert_rv(C_VerifyUpdate(h, buf, 4), want);
    ck_assert_rv(C_VerifyFinal(h, buf, 4), want);
    ck_assert_rv(C_VerifyRecoverInit(h, &m, o), want);
    ck_assert_rv(C_VerifyRecover(h, buf, 4, buf, &len), want);
    ck_assert_rv(C_DigestEncryptUpdate(h, buf, 4, buf, &len), want);
    ck_assert_rv(C_DecryptDigestUpdate(h, buf, 4, buf, &len), want);
    ck_assert_rv(C_SignEncryptUpdate(h, buf, 4, buf, &len), want);
    ck_assert_rv(C_DecryptVerifyUpdate(h, buf, 4, buf, &len), want);
    ck_assert_rv(C_GenerateKey(h, &m, t, 1, &o), want);
    ck_assert_rv(C_GenerateKeyPair(h, &m, t, 1, t, 1, &o, &o2), want);
    ck_assert_rv(C_WrapKey(h, &m, o, o, buf, &len), want);
    ck_assert_rv(C_UnwrapKey(h, &m, o, buf, 4, t, 1, &o2), want);
    ck_assert_rv(C_DeriveKey(h, &m, o, t, 1, &o2), want);
    ck_assert_rv(C_SeedRandom(h, buf, 4), want);
    ck_assert_rv(C_GenerateRandom(h, buf, 4), want);
    ck_assert_rv(C_GetFunctionStatus(h), want);
    ck_assert_rv(C_CancelFunction(h), want);
    ck_assert_rv(C_LoginUser(h, CKU_USER, PIN("12345678"), (CK_UTF8CHAR_PTR) "u", 1), want);
    ck_assert_rv(C_SessionCancel(h, CKF_SIGN), want);
}

START_TEST(test_before_initialize)
{
    CK_FUNCTION_LIST_PTR f = NULL;
    mz_setup_dirs();
    all_uninitialised(CKR_CRYPTOKI_NOT_INITIALIZED);
    /* what needs no initialisation still works */
    ck_assert_rv(C_GetFunctionList(&f), CKR_OK);
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_eq(f->C_Initialize, C_Initialize);
    CK_ULONG n = 0;
    ck_assert_rv(C_GetInterfaceList(NULL, &n), CKR_OK);
    ck_assert_uint_eq(n, 4);
    mz_teardown();
}
END_TEST

START_TEST(test_after_finalize)
{
    CK_SESSION_HANDLE h;
    mz_setup();
    h = mz_open(&mz_tokens[0], true);
    mz_login(&mz_tokens[0], h);
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    all_uninitialised(CKR_CRYPTOKI_NOT_INITIALIZED);
    /* initialised again: the old session and login are gone */
    ck_assert_rv(mz_initialize(), CKR_OK);
    CK_SESSION_INFO si;
    ck_assert_rv(C_GetSessionInfo(h, &si), CKR_SESSION_HANDLE_INVALID);
    h = mz_open(&mz_tokens[0], false);
    ck_assert_rv(C_GetSessionInfo(h, &si), CKR_OK);
    ck_assert_uint_eq(si.state, CKS_RO_PUBLIC_SESSION);
    mz_teardown();
}
END_TEST

START_TEST(test_initialize_twice_and_bad_args)
{
    CK_C_INITIALIZE_ARGS partial = {.CreateMutex = (CK_CREATEMUTEX)1, .flags = 0};
    CK_C_INITIALIZE_ARGS unknown = {.flags = CKF_OS_LOCKING_OK | 0x80000000ul};
    mz_setup_dirs();
    ck_assert_rv(C_Initialize(&partial), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
    (void)unknown;
    ck_assert_rv(mz_initialize(), CKR_OK);
    ck_assert_rv(mz_initialize(), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    ck_assert_rv(C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    ck_assert_rv(C_Finalize((CK_VOID_PTR)1), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    ck_assert_rv(C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
    /* and up again, many times over: nothing accumulates (the sanitizer counts) */
    for (int i = 0; i < 5; i++) {
        ck_assert_rv(mz_initialize(), CKR_OK);
        CK_SESSION_HANDLE h = mz_open(&mz_tokens[i % MZ_NTOKENS], false);
        (void)h;
        ck_assert_rv(C_Finalize(NULL), CKR_OK);
    }
    mz_teardown();
}
END_TEST

/* ---- handles --------------------------------------------------------------------- */

START_TEST(test_bad_slot_ids)
{
    static const CK_SLOT_ID bad[] = {MZ_NTOKENS, 99, 0x7fffffff, (CK_SLOT_ID)-1};
    CK_SLOT_INFO si;
    CK_TOKEN_INFO ti;
    CK_MECHANISM_TYPE mt[4];
    CK_MECHANISM_INFO mi;
    CK_ULONG n = 4;
    CK_SESSION_HANDLE h;
    CK_UTF8CHAR label[32];
    memset(label, ' ', sizeof(label));
    mz_setup();
    for (size_t i = 0; i < VT_ARRAY_LEN(bad); i++) {
        ck_assert_rv(C_GetSlotInfo(bad[i], &si), CKR_SLOT_ID_INVALID);
        ck_assert_rv(C_GetTokenInfo(bad[i], &ti), CKR_SLOT_ID_INVALID);
        n = 4;
        ck_assert_rv(C_GetMechanismList(bad[i], mt, &n), CKR_SLOT_ID_INVALID);
        ck_assert_rv(C_GetMechanismInfo(bad[i], CKM_RSA_PKCS, &mi), CKR_SLOT_ID_INVALID);
        ck_assert_rv(C_InitToken(bad[i], PIN("87654321"), label), CKR_SLOT_ID_INVALID);
        ck_assert_rv(C_OpenSession(bad[i], CKF_SERIAL_SESSION, NULL, NULL, &h),
                     CKR_SLOT_ID_INVALID);
        ck_assert_rv(C_CloseAllSessions(bad[i]), CKR_SLOT_ID_INVALID);
    }
    mz_teardown();
}
END_TEST

/* Session handles that never were, and one that was closed: every session function. */
static void all_bad_session(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o)
{
    const CK_RV want = CKR_SESSION_HANDLE_INVALID;
    CK_ULONG len = 16, n = 1, cls = CKO_DATA;
    CK_SESSION_INFO ssi;
    CK_BYTE buf[16] = {0};
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)}};
    CK_OBJECT_HANDLE o2;
    CK_MECHANISM m = {CKM_SHA256, NULL, 0};

    ck_assert_rv(C_InitPIN(h, PIN("12345678")), want);
    ck_assert_rv(C_SetPIN(h, PIN("12345678"), PIN("12345679")), want);
    ck_assert_rv(C_CloseSession(h), want);
    ck_assert_rv(C_GetSessionInfo(h, &ssi), want);
    ck_assert_rv(C_GetOperationState(h, buf, &len), want);
    ck_assert_rv(C_SetOperationState(h, buf, len, 0, 0), want);
    ck_assert_rv(C_Login(h, CKU_USER, PIN("12345678")), want);
    ck_assert_rv(C_Logout(h), want);
    ck_assert_rv(C_CreateObject(h, t, 1, &o2), want);
    ck_assert_rv(C_CopyObject(h, o, t, 1, &o2), want);
    ck_assert_rv(C_DestroyObject(h, o), want);
    ck_assert_rv(C_GetObjectSize(h, o, &len), want);
    ck_assert_rv(C_GetAttributeValue(h, o, t, 1), want);
    ck_assert_rv(C_SetAttributeValue(h, o, t, 1), want);
    ck_assert_rv(C_FindObjectsInit(h, t, 1), want);
    ck_assert_rv(C_FindObjects(h, &o2, 1, &n), want);
    ck_assert_rv(C_FindObjectsFinal(h), want);
    ck_assert_rv(C_EncryptInit(h, &m, o), want);
    ck_assert_rv(C_Encrypt(h, buf, 4, buf, &len), want);
    ck_assert_rv(C_DecryptInit(h, &m, o), want);
    ck_assert_rv(C_Decrypt(h, buf, 4, buf, &len), want);
    ck_assert_rv(C_DigestInit(h, &m), want);
    ck_assert_rv(C_DigestUpdate(h, buf, 4), want);
    ck_assert_rv(C_DigestFinal(h, buf, &len), want);
    ck_assert_rv(C_SignInit(h, &m, o), want);
    ck_assert_rv(C_SignUpdate(h, buf, 4), want);
    ck_assert_rv(C_SignFinal(h, buf, &len), want);
    ck_assert_rv(C_VerifyInit(h, &m, o), want);
    ck_assert_rv(C_Verify(h, buf, 4, buf, 4), want);
    ck_assert_rv(C_SignRecoverInit(h, &m, o), want);
    ck_assert_rv(C_WrapKey(h, &m, o, o, buf, &len), want);
    ck_assert_rv(C_GenerateKeyPair(h, &m, t, 1, t, 1, &o2, &o2), want);
    ck_assert_rv(C_SeedRandom(h, buf, 4), want);
    ck_assert_rv(C_GenerateRandom(h, buf, 4), want);
    ck_assert_rv(C_GetFunctionStatus(h), want);
    ck_assert_rv(C_SessionCancel(h, CKF_SIGN), want);
}

START_TEST(test_bad_session_handles)
{
    mz_token *t = &mz_tokens[_i];
    CK_SESSION_HANDLE h, closed;
    mz_setup();
    mz_keys(t, &h);
    all_bad_session(CK_INVALID_HANDLE, t->priv);
    all_bad_session(0xdeadbeef, t->priv);
    all_bad_session((CK_SESSION_HANDLE)-1, t->priv);
    closed = mz_open(t, false);
    ck_assert_rv(C_CloseSession(closed), CKR_OK);
    all_bad_session(closed, t->priv);
    /* the good session is untouched by all that, and still logged in */
    CK_SESSION_INFO si;
    ck_assert_rv(C_GetSessionInfo(h, &si), CKR_OK);
    ck_assert_uint_eq(si.state, CKS_RW_USER_FUNCTIONS);
    /* C_CloseAllSessions on a slot, then the handles of it are dead */
    ck_assert_rv(C_CloseAllSessions(t->slot), CKR_OK);
    all_bad_session(h, t->priv);
    mz_teardown();
}
END_TEST

/* Object and key handles that are not (or not here, or not of the right kind). */
START_TEST(test_bad_object_handles)
{
    mz_token *t = &mz_tokens[_i], *other = &mz_tokens[(_i + 1) % MZ_NTOKENS];
    CK_SESSION_HANDLE h, ho;
    CK_ULONG len, cls = CKO_DATA;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}};
    CK_OBJECT_HANDLE o2;
    CK_MECHANISM rsa = {CKM_RSA_PKCS, NULL, 0};
    CK_BYTE buf[8];
    mz_setup();
    mz_keys(other, &ho);
    mz_keys(t, &h);
    const CK_OBJECT_HANDLE bad[] = {CK_INVALID_HANDLE, 0xdeadbeef, (CK_OBJECT_HANDLE)-1,
                                    other->priv, other->pub};
    for (size_t i = 0; i < VT_ARRAY_LEN(bad); i++) {
        ck_assert_rv(C_GetObjectSize(h, bad[i], &len), CKR_OBJECT_HANDLE_INVALID);
        ck_assert_rv(C_GetAttributeValue(h, bad[i], tmpl, 1), CKR_OBJECT_HANDLE_INVALID);
        ck_assert_rv(C_SetAttributeValue(h, bad[i], tmpl, 1), CKR_OBJECT_HANDLE_INVALID);
        ck_assert_rv(C_CopyObject(h, bad[i], NULL, 0, &o2), CKR_OBJECT_HANDLE_INVALID);
        ck_assert_rv(C_DestroyObject(h, bad[i]), CKR_OBJECT_HANDLE_INVALID);
        ck_assert_rv(C_SignInit(h, &rsa, bad[i]), CKR_KEY_HANDLE_INVALID);
        ck_assert_rv(C_VerifyInit(h, &rsa, bad[i]), CKR_KEY_HANDLE_INVALID);
        ck_assert_rv(C_EncryptInit(h, &rsa, bad[i]), CKR_KEY_HANDLE_INVALID);
        ck_assert_rv(C_DecryptInit(h, &rsa, bad[i]), CKR_KEY_HANDLE_INVALID);
    }
    /* the right handle for the wrong job: a public key cannot sign (CKA_SIGN absent) */
    ck_assert_rv(C_SignInit(h, &rsa, t->pub), CKR_KEY_FUNCTION_NOT_PERMITTED);
    ck_assert_rv(C_DecryptInit(h, &rsa, t->pub), CKR_KEY_FUNCTION_NOT_PERMITTED);
    ck_assert_rv(C_VerifyInit(h, &rsa, t->priv), CKR_KEY_FUNCTION_NOT_PERMITTED);
    ck_assert_rv(C_EncryptInit(h, &rsa, t->priv), CKR_KEY_FUNCTION_NOT_PERMITTED);
    /* none of that started an operation */
    len = sizeof(buf);
    ck_assert_rv(C_Sign(h, buf, 4, buf, &len), CKR_OPERATION_NOT_INITIALIZED);
    ck_assert_rv(C_Decrypt(h, buf, 4, buf, &len), CKR_OPERATION_NOT_INITIALIZED);
    /* the keys survived every attempt to destroy them through the wrong session */
    CK_KEY_TYPE kt;
    CK_ATTRIBUTE ka[] = {{CKA_KEY_TYPE, &kt, sizeof(kt)}};
    ck_assert_rv(C_GetAttributeValue(ho, other->priv, ka, 1), CKR_OK);
    ck_assert_uint_eq(kt, CKK_RSA);
    mz_teardown();
}
END_TEST

/* ---- call order -------------------------------------------------------------------- */

START_TEST(test_operations_without_init)
{
    mz_token *t = &mz_tokens[_i];
    CK_SESSION_HANDLE h;
    CK_BYTE buf[512];
    CK_ULONG len = sizeof(buf), n;
    CK_OBJECT_HANDLE o;
    mz_setup();
    mz_keys(t, &h);
    const CK_RV none = CKR_OPERATION_NOT_INITIALIZED;
    ck_assert_rv(C_Sign(h, buf, 4, buf, &len), none);
    ck_assert_rv(C_SignUpdate(h, buf, 4), none);
    ck_assert_rv(C_SignFinal(h, buf, &len), none);
    ck_assert_rv(C_Verify(h, buf, 4, buf, 4), none);
    ck_assert_rv(C_VerifyUpdate(h, buf, 4), none);
    ck_assert_rv(C_VerifyFinal(h, buf, 4), none);
    ck_assert_rv(C_Encrypt(h, buf, 4, buf, &len), none);
    ck_assert_rv(C_EncryptUpdate(h, buf, 4, buf, &len), none);
    ck_assert_rv(C_EncryptFinal(h, buf, &len), none);
    ck_assert_rv(C_Decrypt(h, buf, 4, buf, &len), none);
    ck_assert_rv(C_DecryptUpdate(h, buf, 4, buf, &len), none);
    ck_assert_rv(C_DecryptFinal(h, buf, &len), none);
    ck_assert_rv(C_Digest(h, buf, 4, buf, &len), none);
    ck_assert_rv(C_DigestUpdate(h, buf, 4), none);
    ck_assert_rv(C_DigestFinal(h, buf, &len), none);
    ck_assert_rv(C_DigestKey(h, t->priv), none);
    ck_assert_rv(C_FindObjects(h, &o, 1, &n), none);
    ck_assert_rv(C_FindObjectsFinal(h), none);
    ck_assert_rv(C_Login(h, CKU_CONTEXT_SPECIFIC, PIN(t->user_pin)), none);
    mz_teardown();
}
END_TEST

START_TEST(test_operations_twice_and_after_end)
{
    mz_token *t = &mz_tokens[_i];
    CK_SESSION_HANDLE h;
    CK_MECHANISM rsa = {CKM_RSA_PKCS, NULL, 0}, sha = {CKM_SHA256, NULL, 0};
    CK_MECHANISM s256 = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_BYTE data[] = "vtoken misuse", sig[512], dig[64];
    CK_ULONG slen = sizeof(sig), dlen = sizeof(dig), n;
    CK_OBJECT_HANDLE o;
    mz_setup();
    mz_keys(t, &h);
    /* a second init while one is active */
    ck_assert_rv(C_SignInit(h, &rsa, t->priv), CKR_OK);
    ck_assert_rv(C_SignInit(h, &rsa, t->priv), CKR_OPERATION_ACTIVE);
    ck_assert_rv(C_Sign(h, data, sizeof(data), sig, &slen), CKR_OK);
    /* a finished operation is gone */
    slen = sizeof(sig);
    ck_assert_rv(C_Sign(h, data, sizeof(data), sig, &slen), CKR_OPERATION_NOT_INITIALIZED);
    ck_assert_rv(C_DigestInit(h, &sha), CKR_OK);
    ck_assert_rv(C_DigestInit(h, &sha), CKR_OPERATION_ACTIVE);
    ck_assert_rv(C_Digest(h, data, sizeof(data), dig, &dlen), CKR_OK);
    ck_assert_rv(C_DigestFinal(h, dig, &dlen), CKR_OPERATION_NOT_INITIALIZED);
    ck_assert_rv(C_FindObjectsInit(h, NULL, 0), CKR_OK);
    ck_assert_rv(C_FindObjectsInit(h, NULL, 0), CKR_OPERATION_ACTIVE);
    ck_assert_rv(C_FindObjects(h, &o, 1, &n), CKR_OK);
    ck_assert_rv(C_FindObjectsFinal(h), CKR_OK);
    ck_assert_rv(C_FindObjectsFinal(h), CKR_OPERATION_NOT_INITIALIZED);
    /* single-part after multi-part: documented deviation 4, OPERATION_ACTIVE, ends it */
    ck_assert_rv(C_SignInit(h, &s256, t->priv), CKR_OK);
    ck_assert_rv(C_SignUpdate(h, data, 4), CKR_OK);
    slen = sizeof(sig);
    ck_assert_rv(C_Sign(h, data, sizeof(data), sig, &slen), CKR_OPERATION_ACTIVE);
    ck_assert_rv(C_SignFinal(h, sig, &slen), CKR_OPERATION_NOT_INITIALIZED);
    /* an operation in one session does not block another session of the same token */
    CK_SESSION_HANDLE h2 = mz_open(t, false);
    ck_assert_rv(C_SignInit(h, &rsa, t->priv), CKR_OK);
    ck_assert_rv(C_SignInit(h2, &rsa, t->priv), CKR_OK);
    slen = sizeof(sig);
    ck_assert_rv(C_Sign(h2, data, sizeof(data), sig, &slen), CKR_OK);
    slen = sizeof(sig);
    ck_assert_rv(C_Sign(h, data, sizeof(data), sig, &slen), CKR_OK);
    /* C_SessionCancel ends what it names, and only that */
    ck_assert_rv(C_SignInit(h, &rsa, t->priv), CKR_OK);
    ck_assert_rv(C_DigestInit(h, &sha), CKR_OK);
    ck_assert_rv(C_SessionCancel(h, CKF_SIGN), CKR_OK);
    slen = sizeof(sig);
    ck_assert_rv(C_Sign(h, data, sizeof(data), sig, &slen), CKR_OPERATION_NOT_INITIALIZED);
    dlen = sizeof(dig);
    ck_assert_rv(C_Digest(h, data, sizeof(data), dig, &dlen), CKR_OK);
    mz_teardown();
}
END_TEST

START_TEST(test_login_state_mistakes)
{
    mz_token *t = &mz_tokens[_i];
    CK_SESSION_HANDLE ro, rw;
    CK_MECHANISM rsa = {CKM_RSA_PKCS, NULL, 0};
    mz_setup();
    mz_keys(t, &rw);
    /* a public token object to try to destroy from a R/O session later: the file's
     * certificate, or a data object written to the card */
    CK_OBJECT_HANDLE pubobj;
    if (t->so_pin == NULL) {
        pubobj = find_one(rw, CKO_CERTIFICATE);
    } else {
        CK_ULONG dcls = CKO_DATA;
        CK_BBOOL dyes = CK_TRUE, dno = CK_FALSE;
        CK_ATTRIBUTE dt[] = {{CKA_CLASS, &dcls, sizeof(dcls)},
                             {CKA_TOKEN, &dyes, sizeof(dyes)},
                             {CKA_PRIVATE, &dno, sizeof(dno)},
                             {CKA_VALUE, "v", 1}};
        ck_assert_rv(C_CreateObject(rw, dt, 4, &pubobj), CKR_OK);
    }
    ck_assert_rv(C_Logout(rw), CKR_OK);
    ck_assert_rv(C_Logout(rw), CKR_USER_NOT_LOGGED_IN);
    /* private-key work needs the user */
    ck_assert_rv(C_SignInit(rw, &rsa, t->priv), CKR_USER_NOT_LOGGED_IN);
    ck_assert_rv(C_DecryptInit(rw, &rsa, t->priv), CKR_USER_NOT_LOGGED_IN);
    ck_assert_rv(C_Login(rw, 77, PIN(t->user_pin)), CKR_USER_TYPE_INVALID);
    mz_login(t, rw);
    ck_assert_rv(C_Login(rw, CKU_USER, PIN(t->user_pin)), CKR_USER_ALREADY_LOGGED_IN);
    if (t->so_pin != NULL)
        ck_assert_rv(C_Login(rw, CKU_SO, PIN(t->so_pin)), CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
    ck_assert_rv(C_Logout(rw), CKR_OK);
    /* parallel sessions are not offered; unknown flags are bad */
    ck_assert_rv(C_OpenSession(t->slot, 0, NULL, NULL, &ro), CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    ck_assert_rv(C_OpenSession(t->slot, CKF_SERIAL_SESSION | 0x1000, NULL, NULL, &ro),
                 CKR_ARGUMENTS_BAD);
    ro = mz_open(t, false);
    /* writes in a read-only session */
    CK_BYTE v[] = "x";
    CK_ULONG cls = CKO_DATA;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE data[] = {
        {CKA_CLASS, &cls, sizeof(cls)}, {CKA_TOKEN, &yes, sizeof(yes)}, {CKA_VALUE, v, 1}};
    CK_OBJECT_HANDLE o;
    ck_assert_rv(C_CreateObject(ro, data, 3, &o), CKR_SESSION_READ_ONLY);
    ck_assert_rv(C_SetPIN(ro, PIN(t->user_pin), PIN(t->user_pin)), CKR_SESSION_READ_ONLY);
    if (t->so_pin == NULL) {
        /* a PKCS#12 file shows nothing before login: log in, the handle is a new one */
        mz_login(t, rw);
        pubobj = find_one(ro, CKO_CERTIFICATE);
    }
    ck_assert_rv(C_DestroyObject(ro, pubobj), CKR_SESSION_READ_ONLY);
    ck_assert_rv(C_SetAttributeValue(ro, pubobj, data + 2, 1), CKR_SESSION_READ_ONLY);
    if (t->so_pin == NULL)
        ck_assert_rv(C_Logout(rw), CKR_OK);
    if (t->so_pin != NULL) {
        /* the SO cannot log in while a R/O session is open; with the SO in, no R/O */
        ck_assert_rv(C_Login(rw, CKU_SO, PIN(t->so_pin)), CKR_SESSION_READ_ONLY_EXISTS);
        ck_assert_rv(C_CloseSession(ro), CKR_OK);
        ck_assert_rv(C_Login(rw, CKU_SO, PIN(t->so_pin)), CKR_OK);
        ck_assert_rv(C_OpenSession(t->slot, CKF_SERIAL_SESSION, NULL, NULL, &ro),
                     CKR_SESSION_READ_WRITE_SO_EXISTS);
        /* the SO is no user: no private-key work */
        ck_assert_rv(C_SignInit(rw, &rsa, t->priv), CKR_USER_NOT_LOGGED_IN);
        ck_assert_rv(C_Logout(rw), CKR_OK);
        /* C_InitToken with a session open */
        CK_UTF8CHAR label[32];
        memset(label, ' ', sizeof(label));
        ck_assert_rv(C_InitToken(t->slot, PIN(t->so_pin), label), CKR_SESSION_EXISTS);
    } else {
        /* a PKCS#12 file has no SO */
        ck_assert_rv(C_CloseSession(ro), CKR_OK);
        ck_assert_rv(C_Login(rw, CKU_SO, PIN(t->user_pin)), CKR_USER_TYPE_INVALID);
    }
    mz_teardown();
}
END_TEST

Suite *misuse_suite(void)
{
    Suite *s = suite_create("misuse");
    TCase *tc = tcase_create("init");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_before_initialize);
    tcase_add_test(tc, test_after_finalize);
    tcase_add_test(tc, test_initialize_twice_and_bad_args);
    tcase_add_test(tc, test_bad_slot_ids);
    suite_add_tcase(s, tc);
    tc = tcase_create("per-token");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_bad_session_handles, 0, MZ_NTOKENS);
    tcase_add_loop_test(tc, test_bad_object_handles, 0, MZ_NTOKENS);
    tcase_add_loop_test(tc, test_operations_without_init, 0, MZ_NTOKENS);
    tcase_add_loop_test(tc, test_operations_twice_and_after_end, 0, MZ_NTOKENS);
    tcase_add_loop_test(tc, test_login_state_mistakes, 0, MZ_NTOKENS);
    suite_add_tcase(s, tc);
    return s;
}
