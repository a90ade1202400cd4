/* PKCS#11 misuse, arguments: a NULL in every pointer argument of every function (where
 * the spec does not give NULL a meaning), lengths and counts near ULONG_MAX with small
 * real buffers, and short output buffers with size queries, on each real token of the
 * misuse fixture (test_misuse.c). Each call answers one precise CKR_*, an operation
 * survives exactly the calls the spec says it survives, and nothing is read or written
 * outside the caller's buffers (the sanitized build runs this too). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_misuse.h"

#define HUGE_LEN  ((CK_ULONG)ULONG_MAX)
#define HUGE_LEN2 ((CK_ULONG)ULONG_MAX / 2 + 1)

/* ---- NULL pointers ---------------------------------------------------------------- */

START_TEST(test_null_module_and_slot_args)
{
    mz_token *t = &mz_tokens[_i];
    CK_ULONG n;
    CK_UTF8CHAR label[32];
    memset(label, ' ', sizeof(label));
    mz_setup();
    ck_assert_rv(C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_GetFunctionList(NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_GetInterfaceList(NULL, NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_GetInterface(NULL, NULL, NULL, 0), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_GetSlotList(CK_TRUE, NULL, NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_GetSlotInfo(t->slot, NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_GetTokenInfo(t->slot, NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_GetMechanismList(t->slot, NULL, NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_GetMechanismInfo(t->slot, CKM_RSA_PKCS, NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_WaitForSlotEvent(CKF_DONT_BLOCK, NULL, NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_OpenSession(t->slot, CKF_SERIAL_SESSION, NULL, NULL, NULL), CKR_ARGUMENTS_BAD);
    if (t->so_pin != NULL) {
        ck_assert_rv(C_InitToken(t->slot, NULL, 8, label), CKR_ARGUMENTS_BAD);
        ck_assert_rv(C_InitToken(t->slot, PIN(t->so_pin), NULL), CKR_ARGUMENTS_BAD);
    }
    /* the NULL that means "how many": answered */
    n = 0;
    ck_assert_rv(C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
    ck_assert_uint_eq(n, MZ_NTOKENS);
    n = 0;
    ck_assert_rv(C_GetMechanismList(t->slot, NULL, &n), CKR_OK);
    ck_assert_uint_gt(n, 0);
    mz_teardown();
}
END_TEST

START_TEST(test_null_session_args)
{
    mz_token *t = &mz_tokens[_i];
    CK_SESSION_HANDLE h;
    CK_ULONG len = 64, n, cls = CKO_DATA;
    CK_BYTE buf[512];
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}};
    CK_OBJECT_HANDLE o;
    CK_MECHANISM rsa = {CKM_RSA_PKCS, NULL, 0}, sha = {CKM_SHA256, NULL, 0};
    CK_MECHANISM gen = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    mz_setup();
    mz_keys(t, &h);
    const CK_RV bad = CKR_ARGUMENTS_BAD;
    ck_assert_rv(C_GetSessionInfo(h, NULL), bad);
    ck_assert_rv(C_Login(h, CKU_CONTEXT_SPECIFIC, NULL, 4), bad);
    ck_assert_rv(C_Login(h, CKU_USER, NULL, 4), bad);
    ck_assert_rv(C_SetPIN(h, NULL, 8, PIN(t->user_pin)), bad);
    ck_assert_rv(C_SetPIN(h, PIN(t->user_pin), NULL, 8), bad);
    ck_assert_rv(C_GetOperationState(h, NULL, NULL), bad);
    ck_assert_rv(C_CreateObject(h, NULL, 1, &o), bad);
    ck_assert_rv(C_CreateObject(h, tmpl, 1, NULL), bad);
    ck_assert_rv(C_CopyObject(h, t->pub, NULL, 1, &o), bad);
    ck_assert_rv(C_CopyObject(h, t->pub, NULL, 0, NULL), bad);
    ck_assert_rv(C_GetObjectSize(h, t->pub, NULL), bad);
    ck_assert_rv(C_GetAttributeValue(h, t->pub, NULL, 1), bad);
    ck_assert_rv(C_SetAttributeValue(h, t->pub, NULL, 1), bad);
    ck_assert_rv(C_FindObjectsInit(h, NULL, 1), bad);
    ck_assert_rv(C_GenerateKeyPair(h, NULL, NULL, 0, NULL, 0, &o, &o), bad);
    ck_assert_rv(C_GenerateKeyPair(h, &gen, NULL, 0, NULL, 0, NULL, &o), bad);
    ck_assert_rv(C_GenerateKeyPair(h, &gen, NULL, 0, NULL, 0, &o, NULL), bad);
    ck_assert_rv(C_GenerateKeyPair(h, &gen, NULL, 1, NULL, 0, &o, &o), bad);
    ck_assert_rv(C_GenerateRandom(h, NULL, 8), bad);
    ck_assert_rv(C_SeedRandom(h, NULL, 8), bad);
    ck_assert_rv(C_SignInit(h, NULL, t->priv), bad);
    ck_assert_rv(C_VerifyInit(h, NULL, t->pub), bad);
    ck_assert_rv(C_EncryptInit(h, NULL, t->pub), bad);
    ck_assert_rv(C_DecryptInit(h, NULL, t->priv), bad);
    ck_assert_rv(C_DigestInit(h, NULL), bad);
    /* a mechanism whose parameter pointer lies about its length */
    CK_MECHANISM pss = {CKM_RSA_PKCS_PSS, NULL, sizeof(CK_RSA_PKCS_PSS_PARAMS)};
    ck_assert_rv(C_SignInit(h, &pss, t->priv), CKR_MECHANISM_PARAM_INVALID);

    /* find: a NULL template with a zero count is "everything"; NULL outputs are not */
    ck_assert_rv(C_FindObjectsInit(h, NULL, 0), CKR_OK);
    ck_assert_rv(C_FindObjects(h, NULL, 1, &n), bad);
    ck_assert_rv(C_FindObjects(h, &o, 1, NULL), bad);
    ck_assert_rv(C_FindObjectsFinal(h), CKR_OK);

    /* NULL data with a length, NULL length pointers: bad, and the operation ends */
    ck_assert_rv(C_SignInit(h, &rsa, t->priv), CKR_OK);
    ck_assert_rv(C_Sign(h, NULL, 4, buf, &len), bad);
    len = sizeof(buf);
    ck_assert_rv(C_Sign(h, buf, 4, buf, &len), CKR_OPERATION_NOT_INITIALIZED);
    ck_assert_rv(C_SignInit(h, &rsa, t->priv), CKR_OK);
    ck_assert_rv(C_Sign(h, buf, 4, buf, NULL), bad);
    ck_assert_rv(C_SignUpdate(h, buf, 4), CKR_OPERATION_NOT_INITIALIZED);
    ck_assert_rv(C_SignInit(h, &rsa, t->priv), CKR_OK);
    ck_assert_rv(C_SignUpdate(h, NULL, 4), bad);
    ck_assert_rv(C_SignFinal(h, buf, &len), CKR_OPERATION_NOT_INITIALIZED);
    ck_assert_rv(C_SignInit(h, &rsa, t->priv), CKR_OK);
    ck_assert_rv(C_SignUpdate(h, buf, 4), CKR_OK);
    ck_assert_rv(C_SignFinal(h, buf, NULL), bad);
    ck_assert_rv(C_SignFinal(h, buf, &len), CKR_OPERATION_NOT_INITIALIZED);

    ck_assert_rv(C_VerifyInit(h, &rsa, t->pub), CKR_OK);
    ck_assert_rv(C_Verify(h, buf, 4, NULL, 128), bad);
    ck_assert_rv(C_VerifyInit(h, &rsa, t->pub), CKR_OK);
    ck_assert_rv(C_Verify(h, NULL, 4, buf, 128), bad);
    ck_assert_rv(C_VerifyInit(h, &rsa, t->pub), CKR_OK);
    ck_assert_rv(C_VerifyUpdate(h, NULL, 4), bad);
    ck_assert_rv(C_VerifyInit(h, &rsa, t->pub), CKR_OK);
    ck_assert_rv(C_VerifyFinal(h, NULL, 128), bad);
    ck_assert_rv(C_VerifyFinal(h, buf, 128), CKR_OPERATION_NOT_INITIALIZED);

    len = sizeof(buf);
    ck_assert_rv(C_EncryptInit(h, &rsa, t->pub), CKR_OK);
    ck_assert_rv(C_Encrypt(h, NULL, 4, buf, &len), bad);
    ck_assert_rv(C_EncryptInit(h, &rsa, t->pub), CKR_OK);
    ck_assert_rv(C_Encrypt(h, buf, 4, buf, NULL), bad);
    ck_assert_rv(C_EncryptInit(h, &rsa, t->pub), CKR_OK);
    ck_assert_rv(C_EncryptUpdate(h, NULL, 4, buf, &len), bad);
    ck_assert_rv(C_EncryptInit(h, &rsa, t->pub), CKR_OK);
    ck_assert_rv(C_EncryptFinal(h, buf, NULL), bad);

    ck_assert_rv(C_DecryptInit(h, &rsa, t->priv), CKR_OK);
    ck_assert_rv(C_Decrypt(h, NULL, 128, buf, &len), bad);
    ck_assert_rv(C_DecryptInit(h, &rsa, t->priv), CKR_OK);
    ck_assert_rv(C_Decrypt(h, buf, 128, buf, NULL), bad);
    ck_assert_rv(C_DecryptInit(h, &rsa, t->priv), CKR_OK);
    ck_assert_rv(C_DecryptUpdate(h, NULL, 4, buf, &len), bad);
    ck_assert_rv(C_DecryptInit(h, &rsa, t->priv), CKR_OK);
    ck_assert_rv(C_DecryptFinal(h, buf, NULL), bad);

    ck_assert_rv(C_DigestInit(h, &sha), CKR_OK);
    ck_assert_rv(C_Digest(h, NULL, 4, buf, &len), bad);
    ck_assert_rv(C_DigestInit(h, &sha), CKR_OK);
    ck_assert_rv(C_Digest(h, buf, 4, buf, NULL), bad);
    ck_assert_rv(C_DigestInit(h, &sha), CKR_OK);
    ck_assert_rv(C_DigestUpdate(h, NULL, 4), bad);
    ck_assert_rv(C_DigestInit(h, &sha), CKR_OK);
    ck_assert_rv(C_DigestFinal(h, buf, NULL), bad);
    ck_assert_rv(C_DigestFinal(h, buf, &len), CKR_OPERATION_NOT_INITIALIZED);

    /* NULL data with a zero length is an empty message, not a mistake */
    len = sizeof(buf);
    ck_assert_rv(C_DigestInit(h, &sha), CKR_OK);
    ck_assert_rv(C_DigestUpdate(h, NULL, 0), CKR_OK);
    ck_assert_rv(C_DigestFinal(h, buf, &len), CKR_OK);
    ck_assert_uint_eq(len, 32);
    mz_teardown();
}
END_TEST

/* ---- huge lengths and counts ------------------------------------------------------ */

START_TEST(test_huge_lengths)
{
    mz_token *t = &mz_tokens[_i];
    CK_SESSION_HANDLE h;
    CK_BYTE buf[512] = {1};
    CK_ULONG len, n, cls = CKO_PUBLIC_KEY;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}};
    CK_OBJECT_HANDLE o[4];
    CK_MECHANISM rsa = {CKM_RSA_PKCS, NULL, 0}, sha = {CKM_SHA256, NULL, 0};
    CK_MECHANISM s256 = {CKM_SHA256_RSA_PKCS, NULL, 0};
    static const CK_ULONG huge[] = {HUGE_LEN, HUGE_LEN - 1, HUGE_LEN2};
    mz_setup();
    /* PINs of impossible length: wrong (C_Login has no CKR_PIN_LEN_RANGE, deviation 2 of
     * docs/pkcs11.md) or out of range, decided before the card is asked: no try spent,
     * nothing read past the buffer */
    h = mz_open(t, true);
    for (size_t k = 0; k < VT_ARRAY_LEN(huge); k++) {
        ck_assert_rv(C_Login(h, CKU_USER, buf, huge[k]), CKR_PIN_INCORRECT);
        /* a card checks the old PIN's length first; a file tries it as a password */
        ck_assert_rv(C_SetPIN(h, buf, huge[k], PIN(t->user_pin)),
                     t->so_pin != NULL ? CKR_PIN_LEN_RANGE : CKR_PIN_INCORRECT);
        ck_assert_rv(C_SetPIN(h, PIN(t->user_pin), buf, huge[k]), CKR_PIN_LEN_RANGE);
    }
    CK_TOKEN_INFO ti0;
    ck_assert_rv(C_GetTokenInfo(t->slot, &ti0), CKR_OK);
    ck_assert_uint_eq(ti0.flags & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_LOCKED), 0);
    ck_assert_rv(C_CloseSession(h), CKR_OK);
    mz_keys(t, &h);
    /* a session data object: modifiable on every token */
    CK_ULONG dcls = CKO_DATA;
    CK_ATTRIBUTE dt[] = {{CKA_CLASS, &dcls, sizeof(dcls)}, {CKA_VALUE, "v", 1}};
    CK_OBJECT_HANDLE dobj;
    ck_assert_rv(C_CreateObject(h, dt, 2, &dobj), CKR_OK);
    for (size_t k = 0; k < VT_ARRAY_LEN(huge); k++) {
        CK_ULONG H = huge[k];
        len = sizeof(buf);
        /* templates */
        ck_assert_rv(C_FindObjectsInit(h, tmpl, H), CKR_ARGUMENTS_BAD);
        ck_assert_rv(C_GetAttributeValue(h, t->pub, tmpl, H), CKR_ARGUMENTS_BAD);
        ck_assert_rv(C_SetAttributeValue(h, dobj, tmpl, H), CKR_ARGUMENTS_BAD);
        ck_assert_rv(C_CreateObject(h, tmpl, H, o), CKR_ARGUMENTS_BAD);
        ck_assert_rv(C_CopyObject(h, t->pub, tmpl, H, o), CKR_ARGUMENTS_BAD);
        /* an attribute whose length is impossible: no value to set; as a pattern it
         * matches nothing (and is never read) */
        CK_ATTRIBUTE lie[] = {{CKA_LABEL, buf, H}};
        ck_assert_rv(C_SetAttributeValue(h, dobj, lie, 1), CKR_ATTRIBUTE_VALUE_INVALID);
        ck_assert_rv(C_CreateObject(h, lie, 1, o), CKR_ATTRIBUTE_VALUE_INVALID);
        ck_assert_rv(C_FindObjectsInit(h, lie, 1), CKR_OK);
        ck_assert_rv(C_FindObjects(h, o, 4, &n), CKR_OK);
        ck_assert_uint_eq(n, 0);
        ck_assert_rv(C_FindObjectsFinal(h), CKR_OK);
        /* data: each ends its operation */
        ck_assert_rv(C_DigestInit(h, &sha), CKR_OK);
        ck_assert_rv(C_DigestUpdate(h, buf, H), CKR_ARGUMENTS_BAD);
        ck_assert_rv(C_DigestFinal(h, buf, &len), CKR_OPERATION_NOT_INITIALIZED);
        ck_assert_rv(C_DigestInit(h, &sha), CKR_OK);
        ck_assert_rv(C_Digest(h, buf, H, buf, &len), CKR_ARGUMENTS_BAD);
        ck_assert_rv(C_SignInit(h, &s256, t->priv), CKR_OK);
        ck_assert_rv(C_SignUpdate(h, buf, H), CKR_ARGUMENTS_BAD);
        ck_assert_rv(C_SignInit(h, &rsa, t->priv), CKR_OK);
        ck_assert_rv(C_Sign(h, buf, H, buf, &len), CKR_ARGUMENTS_BAD);
        ck_assert_rv(C_VerifyInit(h, &s256, t->pub), CKR_OK);
        ck_assert_rv(C_VerifyUpdate(h, buf, H), CKR_ARGUMENTS_BAD);
        ck_assert_rv(C_VerifyInit(h, &rsa, t->pub), CKR_OK);
        ck_assert_rv(C_Verify(h, buf, 4, buf, H), CKR_ARGUMENTS_BAD);
        ck_assert_rv(C_EncryptInit(h, &rsa, t->pub), CKR_OK);
        ck_assert_rv(C_Encrypt(h, buf, H, buf, &len), CKR_ARGUMENTS_BAD);
        ck_assert_rv(C_DecryptInit(h, &rsa, t->priv), CKR_OK);
        ck_assert_rv(C_Decrypt(h, buf, H, buf, &len), CKR_ARGUMENTS_BAD);
        ck_assert_rv(C_GenerateRandom(h, buf, H), CKR_ARGUMENTS_BAD);
        ck_assert_rv(C_SeedRandom(h, buf, H), CKR_ARGUMENTS_BAD);
        ck_assert_rv(C_SetOperationState(h, buf, H, 0, 0), CKR_ARGUMENTS_BAD);
        /* a huge *output* capacity is only a promise of room: fine, as long as the
         * module writes what it has */
        ck_assert_rv(C_FindObjectsInit(h, tmpl, 1), CKR_OK);
        ck_assert_rv(C_FindObjects(h, o, H, &n), CKR_OK);
        ck_assert_uint_ge(n, 1);
        ck_assert_rv(C_FindObjectsFinal(h), CKR_OK);
    }
    /* the user's PIN was never spent on any of it */
    CK_TOKEN_INFO ti;
    ck_assert_rv(C_GetTokenInfo(t->slot, &ti), CKR_OK);
    ck_assert_uint_eq(ti.flags & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_LOCKED), 0);
    mz_teardown();
}
END_TEST

/* ---- short buffers and size queries ------------------------------------------------ */

START_TEST(test_short_buffers)
{
    mz_token *t = &mz_tokens[_i];
    CK_SESSION_HANDLE h;
    CK_BYTE data[] = "vtoken", sig[512], ct[512], pt[512], dig[64];
    CK_ULONG len, need;
    CK_MECHANISM rsa = {CKM_RSA_PKCS, NULL, 0}, sha = {CKM_SHA256, NULL, 0};
    mz_setup();
    mz_keys(t, &h);

    /* C_Sign: size query, too small (operation stays), right size */
    ck_assert_rv(C_SignInit(h, &rsa, t->priv), CKR_OK);
    need = 0;
    ck_assert_rv(C_Sign(h, data, sizeof(data), NULL, &need), CKR_OK);
    ck_assert_uint_ge(need, 128);
    len = need - 1;
    memset(sig, 0xEE, sizeof(sig));
    ck_assert_rv(C_Sign(h, data, sizeof(data), sig, &len), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(len, need);
    ck_assert_uint_eq(sig[0], 0xEE); /* nothing written */
    len = need;
    ck_assert_rv(C_Sign(h, data, sizeof(data), sig, &len), CKR_OK);
    ck_assert_uint_eq(len, need);
    CK_ULONG siglen = len;
    /* C_SignFinal likewise */
    ck_assert_rv(C_SignInit(h, &rsa, t->priv), CKR_OK);
    ck_assert_rv(C_SignUpdate(h, data, sizeof(data)), CKR_OK);
    len = 1;
    ck_assert_rv(C_SignFinal(h, sig, &len), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(len, need);
    ck_assert_rv(C_SignFinal(h, sig, &len), CKR_OK);
    ck_assert_rv(C_VerifyInit(h, &rsa, t->pub), CKR_OK);
    ck_assert_rv(C_Verify(h, data, sizeof(data), sig, siglen), CKR_OK);
    /* a signature of the wrong length is a signature problem, not a crash */
    ck_assert_rv(C_VerifyInit(h, &rsa, t->pub), CKR_OK);
    ck_assert_rv(C_Verify(h, data, sizeof(data), sig, 3), CKR_SIGNATURE_LEN_RANGE);

    /* C_Encrypt / C_Decrypt */
    ck_assert_rv(C_EncryptInit(h, &rsa, t->pub), CKR_OK);
    ck_assert_rv(C_Encrypt(h, data, sizeof(data), NULL, &need), CKR_OK);
    len = 0;
    ck_assert_rv(C_Encrypt(h, data, sizeof(data), ct, &len), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(len, need);
    ck_assert_rv(C_Encrypt(h, data, sizeof(data), ct, &len), CKR_OK);
    CK_ULONG ctlen = len;
    ck_assert_rv(C_DecryptInit(h, &rsa, t->priv), CKR_OK);
    need = 0;
    ck_assert_rv(C_Decrypt(h, ct, ctlen, NULL, &need), CKR_OK);
    ck_assert_uint_ge(need, sizeof(data));
    len = 2;
    ck_assert_rv(C_Decrypt(h, ct, ctlen, pt, &len), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_ge(len, sizeof(data));
    len = sizeof(pt);
    ck_assert_rv(C_Decrypt(h, ct, ctlen, pt, &len), CKR_OK);
    ck_assert_uint_eq(len, sizeof(data));
    ck_assert_mem_eq(pt, data, sizeof(data));
    /* ciphertext of the wrong length */
    ck_assert_rv(C_DecryptInit(h, &rsa, t->priv), CKR_OK);
    len = sizeof(pt);
    ck_assert_rv(C_Decrypt(h, ct, 5, pt, &len), CKR_ENCRYPTED_DATA_LEN_RANGE);

    /* C_Digest / C_DigestFinal */
    ck_assert_rv(C_DigestInit(h, &sha), CKR_OK);
    len = 31;
    ck_assert_rv(C_Digest(h, data, sizeof(data), dig, &len), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(len, 32);
    ck_assert_rv(C_Digest(h, data, sizeof(data), dig, &len), CKR_OK);
    ck_assert_rv(C_DigestInit(h, &sha), CKR_OK);
    ck_assert_rv(C_DigestUpdate(h, data, sizeof(data)), CKR_OK);
    len = 0;
    ck_assert_rv(C_DigestFinal(h, NULL, &len), CKR_OK);
    ck_assert_uint_eq(len, 32);
    len = 1;
    ck_assert_rv(C_DigestFinal(h, dig, &len), CKR_BUFFER_TOO_SMALL);
    ck_assert_rv(C_DigestFinal(h, dig, &len), CKR_OK);

    /* C_GetOperationState */
    ck_assert_rv(C_DigestInit(h, &sha), CKR_OK);
    CK_ULONG st = 0;
    ck_assert_rv(C_GetOperationState(h, NULL, &st), CKR_OK);
    ck_assert_uint_gt(st, 0);
    CK_BYTE *state = malloc(st);
    len = st - 1;
    ck_assert_rv(C_GetOperationState(h, state, &len), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(len, st);
    ck_assert_rv(C_GetOperationState(h, state, &len), CKR_OK);
    /* a state cut short or garbled is refused */
    ck_assert_rv(C_SetOperationState(h, state, len - 1, 0, 0), CKR_SAVED_STATE_INVALID);
    state[len / 2] ^= 0x40;
    ck_assert_rv(C_SetOperationState(h, state, len, 0, 0), CKR_SAVED_STATE_INVALID);
    free(state);

    /* C_GetAttributeValue: size query, short buffer, missing and sensitive attributes */
    CK_BYTE mod[512], lab[4];
    CK_ATTRIBUTE q[] = {{CKA_MODULUS, NULL, 0}};
    ck_assert_rv(C_GetAttributeValue(h, t->pub, q, 1), CKR_OK);
    ck_assert_uint_ge(q[0].ulValueLen, 128);
    CK_ULONG modlen = q[0].ulValueLen;
    q[0].pValue = mod;
    q[0].ulValueLen = modlen - 1;
    ck_assert_rv(C_GetAttributeValue(h, t->pub, q, 1), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(q[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    CK_ATTRIBUTE mixed[] = {{CKA_PRIVATE_EXPONENT, mod, sizeof(mod)},
                            {0x7fff1234ul, lab, sizeof(lab)},
                            {CKA_MODULUS, mod, sizeof(mod)}};
    ck_assert_rv(C_GetAttributeValue(h, t->priv, mixed, 3), CKR_ATTRIBUTE_SENSITIVE);
    ck_assert_uint_eq(mixed[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    ck_assert_uint_eq(mixed[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    ck_assert_uint_eq(mixed[2].ulValueLen, modlen); /* the rest is still answered */

    /* lists: too small a count gets the size */
    CK_SLOT_ID ids[1];
    len = 1;
    ck_assert_rv(C_GetSlotList(CK_TRUE, ids, &len), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(len, MZ_NTOKENS);
    CK_MECHANISM_TYPE mt[1];
    len = 1;
    ck_assert_rv(C_GetMechanismList(t->slot, mt, &len), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_gt(len, 1);
    CK_INTERFACE il[1];
    len = 1;
    ck_assert_rv(C_GetInterfaceList(il, &len), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(len, 4);
    /* zero-sized requests are fine */
    ck_assert_rv(C_GenerateRandom(h, dig, 0), CKR_OK);
    mz_teardown();
}
END_TEST

Suite *misuse_args_suite(void)
{
    Suite *s = suite_create("misuse_args");
    TCase *tc = tcase_create("per-token");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_null_module_and_slot_args, 0, MZ_NTOKENS);
    tcase_add_loop_test(tc, test_null_session_args, 0, MZ_NTOKENS);
    tcase_add_loop_test(tc, test_huge_lengths, 0, MZ_NTOKENS);
    tcase_add_loop_test(tc, test_short_buffers, 0, MZ_NTOKENS);
    suite_add_tcase(s, tc);
    return s;
}
