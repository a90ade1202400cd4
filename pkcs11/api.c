/* The exported PKCS#11 entry points. Each states what it needs and which operation it
 * runs; checks, locking, tracing and CK_RV handling live in call.c. The function lists
 * and interfaces (2.40, 3.0, and both again flagged CKF_INTERFACE_FORK_SAFE) are at the
 * end. */
#include <string.h>

#include "call.h"
#include "names.h"
#include "object.h"
#include "session.h"
#include "slot.h"

#define EXPORT __attribute__((visibility("default")))

#define NS CKR_FUNCTION_NOT_SUPPORTED

static CK_FUNCTION_LIST list_2_40;

/* ---- general ------------------------------------------------------------------ */

EXPORT CK_RV C_Initialize(CK_VOID_PTR pInitArgs)
{
    IN_LIBRARY(p11_module_initialize(pInitArgs, false), "pInitArgs=%p", pInitArgs);
}

/* C_Initialize as reached through a CKF_INTERFACE_FORK_SAFE interface. */
static CK_RV C_Initialize_fork_safe(CK_VOID_PTR pInitArgs)
{
    IN_LIBRARY(p11_module_initialize(pInitArgs, true), "pInitArgs=%p fork-safe", pInitArgs);
}

EXPORT CK_RV C_Finalize(CK_VOID_PTR pReserved)
{
    IN_LIBRARY(p11_module_finalize(pReserved), "pReserved=%p", pReserved);
}

EXPORT CK_RV C_GetInfo(CK_INFO_PTR pInfo)
{
    IN_MODULE(p11_module_get_info(pInfo, 2, 40), "pInfo=%p", (void *)pInfo);
}

/* C_GetInfo of the 3.0 function list: the same library, reporting version 3.0. */
static CK_RV C_GetInfo_3_0(CK_INFO_PTR pInfo)
{
    IN_MODULE(p11_module_get_info(pInfo, 3, 0), "pInfo=%p v3.0", (void *)pInfo);
}

static CK_RV get_function_list(CK_FUNCTION_LIST_PTR_PTR pp)
{
    if (!pp)
        return CKR_ARGUMENTS_BAD;
    *pp = &list_2_40;
    return CKR_OK;
}

EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
    IN_LIBRARY(get_function_list(ppFunctionList), "ppFunctionList=%p", (void *)ppFunctionList);
}

/* ---- slots and tokens ----------------------------------------------------------- */

EXPORT CK_RV C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount)
{
    IN_MODULE(p11_get_slot_list(M, tokenPresent, pSlotList, pulCount),
              "tokenPresent=%u pSlotList=%p *pulCount=%s", tokenPresent, (void *)pSlotList,
              p11_tr_ulptr(pulCount));
}

EXPORT CK_RV C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
    IN_SLOT(slotID, p11_get_slot_info(SLOT, pInfo), "slotID=%lu", slotID);
}

EXPORT CK_RV C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
    IN_TOKEN(slotID, p11_get_token_info(SLOT, pInfo), "slotID=%lu", slotID);
}

EXPORT CK_RV C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved)
{
    IN_WAITER(p11_wait_for_slot_event(M, flags, pSlot, pReserved), "flags=0x%lx", flags);
}

EXPORT CK_RV C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
                                CK_ULONG_PTR pulCount)
{
    IN_TOKEN(slotID, p11_get_mechanism_list(SLOT, pMechanismList, pulCount),
             "slotID=%lu *pulCount=%s", slotID, p11_tr_ulptr(pulCount));
}

EXPORT CK_RV C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type,
                                CK_MECHANISM_INFO_PTR pInfo)
{
    IN_TOKEN(slotID, p11_get_mechanism_info(SLOT, type, pInfo), "slotID=%lu type=%s", slotID,
             p11_mech_name(type));
}

EXPORT CK_RV C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
                         CK_UTF8CHAR_PTR pLabel)
{
    IN_TOKEN(slotID, p11_init_token(SLOT, pPin, ulPinLen, pLabel),
             "slotID=%lu ulPinLen=%lu pLabel=%s", slotID, ulPinLen, p11_tr_label(pLabel, 32));
}

EXPORT CK_RV C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
    IN_SESSION(hSession, 0, p11_init_pin(S, pPin, ulPinLen), "hSession=%lu ulPinLen=%lu", hSession,
               ulPinLen);
}

EXPORT CK_RV C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen,
                      CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen)
{
    IN_SESSION(hSession, P11_NEED_RW, p11_set_pin(S, pOldPin, ulOldLen, pNewPin, ulNewLen),
               "hSession=%lu ulOldLen=%lu ulNewLen=%lu", hSession, ulOldLen, ulNewLen);
}

/* ---- sessions ------------------------------------------------------------------- */

EXPORT CK_RV C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication,
                           CK_NOTIFY Notify, CK_SESSION_HANDLE_PTR phSession)
{
    IN_TOKEN(slotID, p11_open_session(SLOT, flags, pApplication, Notify, phSession),
             "slotID=%lu flags=0x%lx", slotID, flags);
}

EXPORT CK_RV C_CloseSession(CK_SESSION_HANDLE hSession)
{
    IN_SESSION(hSession, 0, p11_close_session(S), "hSession=%lu", hSession);
}

EXPORT CK_RV C_CloseAllSessions(CK_SLOT_ID slotID)
{
    IN_SLOT(slotID, p11_close_all_sessions(SLOT), "slotID=%lu", slotID);
}

EXPORT CK_RV C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
    IN_SESSION(hSession, 0, p11_get_session_info(S, pInfo), "hSession=%lu", hSession);
}

EXPORT CK_RV C_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                                 CK_ULONG_PTR pulOperationStateLen)
{
    IN_SESSION(hSession, 0, p11_get_operation_state(S, pOperationState, pulOperationStateLen),
               "hSession=%lu *pulOperationStateLen=%s", hSession,
               p11_tr_ulptr(pulOperationStateLen));
}

EXPORT CK_RV C_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                                 CK_ULONG ulOperationStateLen, CK_OBJECT_HANDLE hEncryptionKey,
                                 CK_OBJECT_HANDLE hAuthenticationKey)
{
    IN_SESSION(hSession, 0,
               p11_set_operation_state(S, pOperationState, ulOperationStateLen, hEncryptionKey,
                                       hAuthenticationKey),
               "hSession=%lu ulOperationStateLen=%lu", hSession, ulOperationStateLen);
}

EXPORT CK_RV C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
                     CK_ULONG ulPinLen)
{
    IN_SESSION(hSession, 0, p11_login(S, userType, pPin, ulPinLen),
               "hSession=%lu userType=%lu ulPinLen=%lu", hSession, userType, ulPinLen);
}

EXPORT CK_RV C_Logout(CK_SESSION_HANDLE hSession)
{
    IN_SESSION(hSession, 0, p11_logout(S), "hSession=%lu", hSession);
}

/* ---- objects -------------------------------------------------------------------- */

EXPORT CK_RV C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
                            CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phObject)
{
    IN_SESSION(hSession, 0, p11_create_object(S, pTemplate, ulCount, phObject),
               "hSession=%lu pTemplate=%s", hSession, p11_tr_tmpl(pTemplate, ulCount));
}

EXPORT CK_RV C_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                          CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
                          CK_OBJECT_HANDLE_PTR phNewObject)
{
    IN_SESSION(hSession, 0, p11_copy_object(S, hObject, pTemplate, ulCount, phNewObject),
               "hSession=%lu hObject=%lu pTemplate=%s", hSession, hObject,
               p11_tr_tmpl(pTemplate, ulCount));
}

EXPORT CK_RV C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
    IN_SESSION(hSession, 0, p11_destroy_object(S, hObject), "hSession=%lu hObject=%lu", hSession,
               hObject);
}

EXPORT CK_RV C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                             CK_ULONG_PTR pulSize)
{
    IN_SESSION(hSession, 0, p11_get_object_size(S, hObject, pulSize), "hSession=%lu hObject=%lu",
               hSession, hObject);
}

EXPORT CK_RV C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                 CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    IN_SESSION(hSession, 0, p11_get_attribute_value(S, hObject, pTemplate, ulCount),
               "hSession=%lu hObject=%lu pTemplate=%s", hSession, hObject,
               p11_tr_tmpl(pTemplate, ulCount));
}

EXPORT CK_RV C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                 CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    IN_SESSION(hSession, 0, p11_set_attribute_value(S, hObject, pTemplate, ulCount),
               "hSession=%lu hObject=%lu pTemplate=%s", hSession, hObject,
               p11_tr_tmpl(pTemplate, ulCount));
}

EXPORT CK_RV C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
                               CK_ULONG ulCount)
{
    IN_SESSION(hSession, 0, p11_find_init(S, pTemplate, ulCount), "hSession=%lu pTemplate=%s",
               hSession, p11_tr_tmpl(pTemplate, ulCount));
}

EXPORT CK_RV C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
                           CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
    IN_SESSION(hSession, 0, p11_find_objects(S, phObject, ulMaxObjectCount, pulObjectCount),
               "hSession=%lu ulMaxObjectCount=%lu", hSession, ulMaxObjectCount);
}

EXPORT CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
    IN_SESSION(hSession, 0, p11_find_final(S), "hSession=%lu", hSession);
}

/* ---- encryption and decryption --------------------------------------------------- */

EXPORT CK_RV C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                           CK_OBJECT_HANDLE hKey)
{
    IN_SESSION(hSession, 0, p11_encrypt_init(S, pMechanism, hKey), "hSession=%lu hKey=%lu",
               hSession, hKey);
}

EXPORT CK_RV C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                       CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen)
{
    IN_SESSION(hSession, 0, p11_encrypt(S, pData, ulDataLen, pEncryptedData, pulEncryptedDataLen),
               "hSession=%lu ulDataLen=%lu *pulEncryptedDataLen=%s", hSession, ulDataLen,
               p11_tr_ulptr(pulEncryptedDataLen));
}

EXPORT CK_RV C_EncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
                             CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
    IN_SESSION(hSession, 0,
               p11_encrypt_update(S, pPart, ulPartLen, pEncryptedPart, pulEncryptedPartLen),
               "hSession=%lu ulPartLen=%lu", hSession, ulPartLen);
}

EXPORT CK_RV C_EncryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastEncryptedPart,
                            CK_ULONG_PTR pulLastEncryptedPartLen)
{
    IN_SESSION(hSession, 0, p11_encrypt_final(S, pLastEncryptedPart, pulLastEncryptedPartLen),
               "hSession=%lu", hSession);
}

EXPORT CK_RV C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                           CK_OBJECT_HANDLE hKey)
{
    IN_SESSION(hSession, P11_NEED_USER, p11_decrypt_init(S, pMechanism, hKey),
               "hSession=%lu hKey=%lu", hSession, hKey);
}

EXPORT CK_RV C_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData,
                       CK_ULONG ulEncryptedDataLen, CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
    IN_SESSION(hSession, 0, p11_decrypt(S, pEncryptedData, ulEncryptedDataLen, pData, pulDataLen),
               "hSession=%lu ulEncryptedDataLen=%lu *pulDataLen=%s", hSession, ulEncryptedDataLen,
               p11_tr_ulptr(pulDataLen));
}

EXPORT CK_RV C_DecryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                             CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
                             CK_ULONG_PTR pulPartLen)
{
    IN_SESSION(hSession, 0,
               p11_decrypt_update(S, pEncryptedPart, ulEncryptedPartLen, pPart, pulPartLen),
               "hSession=%lu ulEncryptedPartLen=%lu", hSession, ulEncryptedPartLen);
}

EXPORT CK_RV C_DecryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastPart,
                            CK_ULONG_PTR pulLastPartLen)
{
    IN_SESSION(hSession, 0, p11_decrypt_final(S, pLastPart, pulLastPartLen), "hSession=%lu",
               hSession);
}

/* ---- digests ---------------------------------------------------------------------- */

EXPORT CK_RV C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
    IN_SESSION(hSession, 0, p11_digest_init(S, pMechanism), "hSession=%lu", hSession);
}

EXPORT CK_RV C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                      CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
    IN_SESSION(hSession, 0, p11_digest(S, pData, ulDataLen, pDigest, pulDigestLen),
               "hSession=%lu ulDataLen=%lu *pulDigestLen=%s", hSession, ulDataLen,
               p11_tr_ulptr(pulDigestLen));
}

EXPORT CK_RV C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    IN_SESSION(hSession, 0, p11_digest_update(S, pPart, ulPartLen), "hSession=%lu ulPartLen=%lu",
               hSession, ulPartLen);
}

EXPORT CK_RV C_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey)
{
    IN_SESSION(hSession, 0, p11_digest_key(S, hKey), "hSession=%lu hKey=%lu", hSession, hKey);
}

EXPORT CK_RV C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest,
                           CK_ULONG_PTR pulDigestLen)
{
    IN_SESSION(hSession, 0, p11_digest_final(S, pDigest, pulDigestLen),
               "hSession=%lu *pulDigestLen=%s", hSession, p11_tr_ulptr(pulDigestLen));
}

/* ---- signatures ------------------------------------------------------------------- */

EXPORT CK_RV C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                        CK_OBJECT_HANDLE hKey)
{
    IN_SESSION(hSession, P11_NEED_USER, p11_sign_init(S, pMechanism, hKey), "hSession=%lu hKey=%lu",
               hSession, hKey);
}

EXPORT CK_RV C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                    CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    IN_SESSION(hSession, 0, p11_sign(S, pData, ulDataLen, pSignature, pulSignatureLen),
               "hSession=%lu ulDataLen=%lu *pulSignatureLen=%s", hSession, ulDataLen,
               p11_tr_ulptr(pulSignatureLen));
}

EXPORT CK_RV C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    IN_SESSION(hSession, 0, p11_sign_update(S, pPart, ulPartLen), "hSession=%lu ulPartLen=%lu",
               hSession, ulPartLen);
}

EXPORT CK_RV C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
                         CK_ULONG_PTR pulSignatureLen)
{
    IN_SESSION(hSession, 0, p11_sign_final(S, pSignature, pulSignatureLen),
               "hSession=%lu *pulSignatureLen=%s", hSession, p11_tr_ulptr(pulSignatureLen));
}

EXPORT CK_RV C_SignRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                               CK_OBJECT_HANDLE hKey)
{
    IN_SESSION(hSession, 0, NS, "hSession=%lu mech=%p hKey=%lu", hSession, (void *)pMechanism,
               hKey);
}

EXPORT CK_RV C_SignRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                           CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    IN_SESSION(hSession, 0, NS, "hSession=%lu ulDataLen=%lu %p %p %p", hSession, ulDataLen,
               (void *)pData, (void *)pSignature, (void *)pulSignatureLen);
}

EXPORT CK_RV C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                          CK_OBJECT_HANDLE hKey)
{
    IN_SESSION(hSession, 0, p11_verify_init(S, pMechanism, hKey), "hSession=%lu hKey=%lu", hSession,
               hKey);
}

EXPORT CK_RV C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                      CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    IN_SESSION(hSession, 0, p11_verify(S, pData, ulDataLen, pSignature, ulSignatureLen),
               "hSession=%lu ulDataLen=%lu ulSignatureLen=%lu", hSession, ulDataLen,
               ulSignatureLen);
}

EXPORT CK_RV C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    IN_SESSION(hSession, 0, p11_verify_update(S, pPart, ulPartLen), "hSession=%lu ulPartLen=%lu",
               hSession, ulPartLen);
}

EXPORT CK_RV C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
                           CK_ULONG ulSignatureLen)
{
    IN_SESSION(hSession, 0, p11_verify_final(S, pSignature, ulSignatureLen),
               "hSession=%lu ulSignatureLen=%lu", hSession, ulSignatureLen);
}

EXPORT CK_RV C_VerifyRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                 CK_OBJECT_HANDLE hKey)
{
    IN_SESSION(hSession, 0, NS, "hSession=%lu mech=%p hKey=%lu", hSession, (void *)pMechanism,
               hKey);
}

EXPORT CK_RV C_VerifyRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
                             CK_ULONG ulSignatureLen, CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
    IN_SESSION(hSession, 0, NS, "hSession=%lu ulSignatureLen=%lu %p %p %p", hSession,
               ulSignatureLen, (void *)pSignature, (void *)pData, (void *)pulDataLen);
}

/* ---- dual-function operations: not offered ------------------------------------------ */

EXPORT CK_RV C_DigestEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
                                   CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart,
                                   CK_ULONG_PTR pulEncryptedPartLen)
{
    IN_SESSION(hSession, 0, NS, "hSession=%lu ulPartLen=%lu %p %p %p", hSession, ulPartLen,
               (void *)pPart, (void *)pEncryptedPart, (void *)pulEncryptedPartLen);
}

EXPORT CK_RV C_DecryptDigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                                   CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
                                   CK_ULONG_PTR pulPartLen)
{
    IN_SESSION(hSession, 0, NS, "hSession=%lu ulEncryptedPartLen=%lu %p %p %p", hSession,
               ulEncryptedPartLen, (void *)pEncryptedPart, (void *)pPart, (void *)pulPartLen);
}

EXPORT CK_RV C_SignEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
                                 CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
    IN_SESSION(hSession, 0, NS, "hSession=%lu ulPartLen=%lu %p %p %p", hSession, ulPartLen,
               (void *)pPart, (void *)pEncryptedPart, (void *)pulEncryptedPartLen);
}

EXPORT CK_RV C_DecryptVerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                                   CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
                                   CK_ULONG_PTR pulPartLen)
{
    IN_SESSION(hSession, 0, NS, "hSession=%lu ulEncryptedPartLen=%lu %p %p %p", hSession,
               ulEncryptedPartLen, (void *)pEncryptedPart, (void *)pPart, (void *)pulPartLen);
}

/* ---- keys ---------------------------------------------------------------------------- */

EXPORT CK_RV C_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                           CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey)
{
    IN_SESSION(hSession, 0, NS, "hSession=%lu mech=%p pTemplate=%s %p", hSession,
               (void *)pMechanism, p11_tr_tmpl(pTemplate, ulCount), (void *)phKey);
}

EXPORT CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                               CK_ATTRIBUTE_PTR pPublicKeyTemplate,
                               CK_ULONG ulPublicKeyAttributeCount,
                               CK_ATTRIBUTE_PTR pPrivateKeyTemplate,
                               CK_ULONG ulPrivateKeyAttributeCount,
                               CK_OBJECT_HANDLE_PTR phPublicKey, CK_OBJECT_HANDLE_PTR phPrivateKey)
{
    IN_SESSION(hSession, P11_NEED_RW | P11_NEED_USER,
               p11_generate_key_pair(S, pMechanism, pPublicKeyTemplate, ulPublicKeyAttributeCount,
                                     pPrivateKeyTemplate, ulPrivateKeyAttributeCount, phPublicKey,
                                     phPrivateKey),
               "hSession=%lu mech=%s pub=%s priv=%s", hSession, p11_tr_mech(pMechanism),
               p11_tr_tmpl(pPublicKeyTemplate, ulPublicKeyAttributeCount),
               p11_tr_tmpl(pPrivateKeyTemplate, ulPrivateKeyAttributeCount));
}

EXPORT CK_RV C_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                       CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey,
                       CK_BYTE_PTR pWrappedKey, CK_ULONG_PTR pulWrappedKeyLen)
{
    IN_SESSION(hSession, 0, NS, "hSession=%lu mech=%p hWrappingKey=%lu hKey=%lu %p %p", hSession,
               (void *)pMechanism, hWrappingKey, hKey, (void *)pWrappedKey,
               (void *)pulWrappedKeyLen);
}

EXPORT CK_RV C_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                         CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey,
                         CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate,
                         CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
    IN_SESSION(hSession, 0, NS, "hSession=%lu mech=%p hUnwrappingKey=%lu %p %lu %s %p", hSession,
               (void *)pMechanism, hUnwrappingKey, (void *)pWrappedKey, ulWrappedKeyLen,
               p11_tr_tmpl(pTemplate, ulAttributeCount), (void *)phKey);
}

EXPORT CK_RV C_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                         CK_OBJECT_HANDLE hBaseKey, CK_ATTRIBUTE_PTR pTemplate,
                         CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
    IN_SESSION(hSession, 0, NS, "hSession=%lu mech=%p hBaseKey=%lu %s %p", hSession,
               (void *)pMechanism, hBaseKey, p11_tr_tmpl(pTemplate, ulAttributeCount),
               (void *)phKey);
}

/* ---- random ---------------------------------------------------------------------------- */

EXPORT CK_RV C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
    IN_SESSION(hSession, 0, p11_seed_random(S, pSeed, ulSeedLen), "hSession=%lu ulSeedLen=%lu",
               hSession, ulSeedLen);
}

EXPORT CK_RV C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR RandomData,
                              CK_ULONG ulRandomLen)
{
    IN_SESSION(hSession, 0, p11_generate_random(S, RandomData, ulRandomLen),
               "hSession=%lu ulRandomLen=%lu", hSession, ulRandomLen);
}

/* ---- legacy parallel functions: the spec's answer is CKR_FUNCTION_NOT_PARALLEL -------- */

EXPORT CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE hSession)
{
    IN_SESSION(hSession, 0, CKR_FUNCTION_NOT_PARALLEL, "hSession=%lu", hSession);
}

EXPORT CK_RV C_CancelFunction(CK_SESSION_HANDLE hSession)
{
    IN_SESSION(hSession, 0, CKR_FUNCTION_NOT_PARALLEL, "hSession=%lu", hSession);
}

/* ---- PKCS#11 3.0 ------------------------------------------------------------------------ */

EXPORT CK_RV C_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
                         CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pUsername, CK_ULONG ulUsernameLen)
{
    /* Our tokens have no user names: the name is ignored, the PIN decides. */
    IN_SESSION(hSession, 0, p11_login(S, userType, pPin, ulPinLen),
               "hSession=%lu userType=%lu ulPinLen=%lu pUsername=%s", hSession, userType, ulPinLen,
               p11_tr_label(pUsername, pUsername ? ulUsernameLen : 0));
}

EXPORT CK_RV C_SessionCancel(CK_SESSION_HANDLE hSession, CK_FLAGS flags)
{
    IN_SESSION(hSession, 0, p11_session_cancel(S, flags), "hSession=%lu flags=0x%lx", hSession,
               flags);
}

/* Message-based encryption and signing: no mechanism of ours supports them. */
#define MSG_INIT(name)                                                                             \
    EXPORT CK_RV name(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,                     \
                      CK_OBJECT_HANDLE hKey)                                                       \
    {                                                                                              \
        IN_SESSION(hSession, 0, NS, "hSession=%lu mech=%p hKey=%lu", hSession, (void *)pMechanism, \
                   hKey);                                                                          \
    }
#define MSG_FINAL(name)                                                                            \
    EXPORT CK_RV name(CK_SESSION_HANDLE hSession)                                                  \
    {                                                                                              \
        IN_SESSION(hSession, 0, NS, "hSession=%lu", hSession);                                     \
    }

MSG_INIT(C_MessageEncryptInit)
MSG_INIT(C_MessageDecryptInit)
MSG_INIT(C_MessageSignInit)
MSG_INIT(C_MessageVerifyInit)
MSG_FINAL(C_MessageEncryptFinal)
MSG_FINAL(C_MessageDecryptFinal)
MSG_FINAL(C_MessageSignFinal)
MSG_FINAL(C_MessageVerifyFinal)

EXPORT CK_RV C_EncryptMessage(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                              CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData,
                              CK_ULONG ulAssociatedDataLen, CK_BYTE_PTR pPlaintext,
                              CK_ULONG ulPlaintextLen, CK_BYTE_PTR pCiphertext,
                              CK_ULONG_PTR pulCiphertextLen)
{
    IN_SESSION(hSession, 0, NS, "hSession=%lu %p %lu %p %lu %p %lu %p %p", hSession, pParameter,
               ulParameterLen, (void *)pAssociatedData, ulAssociatedDataLen, (void *)pPlaintext,
               ulPlaintextLen, (void *)pCiphertext, (void *)pulCiphertextLen);
}

EXPORT CK_RV C_EncryptMessageBegin(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                   CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData,
                                   CK_ULONG ulAssociatedDataLen)
{
    IN_SESSION(hSession, 0, NS, "hSession=%lu %p %lu %p %lu", hSession, pParameter, ulParameterLen,
               (void *)pAssociatedData, ulAssociatedDataLen);
}

EXPORT CK_RV C_EncryptMessageNext(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                  CK_ULONG ulParameterLen, CK_BYTE_PTR pPlaintextPart,
                                  CK_ULONG ulPlaintextPartLen, CK_BYTE_PTR pCiphertextPart,
                                  CK_ULONG_PTR pulCiphertextPartLen, CK_FLAGS flags)
{
    IN_SESSION(hSession, 0, NS, "hSession=%lu %p %lu %p %lu %p %p 0x%lx", hSession, pParameter,
               ulParameterLen, (void *)pPlaintextPart, ulPlaintextPartLen, (void *)pCiphertextPart,
               (void *)pulCiphertextPartLen, flags);
}

EXPORT CK_RV C_DecryptMessage(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                              CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData,
                              CK_ULONG ulAssociatedDataLen, CK_BYTE_PTR pCiphertext,
                              CK_ULONG ulCiphertextLen, CK_BYTE_PTR pPlaintext,
                              CK_ULONG_PTR pulPlaintextLen)
{
    IN_SESSION(hSession, 0, NS, "hSession=%lu %p %lu %p %lu %p %lu %p %p", hSession, pParameter,
               ulParameterLen, (void *)pAssociatedData, ulAssociatedDataLen, (void *)pCiphertext,
               ulCiphertextLen, (void *)pPlaintext, (void *)pulPlaintextLen);
}

EXPORT CK_RV C_DecryptMessageBegin(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                   CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData,
                                   CK_ULONG ulAssociatedDataLen)
{
    IN_SESSION(hSession, 0, NS, "hSession=%lu %p %lu %p %lu", hSession, pParameter, ulParameterLen,
               (void *)pAssociatedData, ulAssociatedDataLen);
}

EXPORT CK_RV C_DecryptMessageNext(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                  CK_ULONG ulParameterLen, CK_BYTE_PTR pCiphertextPart,
                                  CK_ULONG ulCiphertextPartLen, CK_BYTE_PTR pPlaintextPart,
                                  CK_ULONG_PTR pulPlaintextPartLen, CK_FLAGS flags)
{
    IN_SESSION(hSession, 0, NS, "hSession=%lu %p %lu %p %lu %p %p 0x%lx", hSession, pParameter,
               ulParameterLen, (void *)pCiphertextPart, ulCiphertextPartLen, (void *)pPlaintextPart,
               (void *)pulPlaintextPartLen, flags);
}

EXPORT CK_RV C_SignMessage(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                           CK_ULONG ulParameterLen, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                           CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    IN_SESSION(hSession, 0, NS, "hSession=%lu %p %lu %p %lu %p %p", hSession, pParameter,
               ulParameterLen, (void *)pData, ulDataLen, (void *)pSignature,
               (void *)pulSignatureLen);
}

EXPORT CK_RV C_SignMessageBegin(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                CK_ULONG ulParameterLen)
{
    IN_SESSION(hSession, 0, NS, "hSession=%lu %p %lu", hSession, pParameter, ulParameterLen);
}

EXPORT CK_RV C_SignMessageNext(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                               CK_ULONG ulParameterLen, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                               CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    IN_SESSION(hSession, 0, NS, "hSession=%lu %p %lu %p %lu %p %p", hSession, pParameter,
               ulParameterLen, (void *)pData, ulDataLen, (void *)pSignature,
               (void *)pulSignatureLen);
}

EXPORT CK_RV C_VerifyMessage(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                             CK_ULONG ulParameterLen, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                             CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    IN_SESSION(hSession, 0, NS, "hSession=%lu %p %lu %p %lu %p %lu", hSession, pParameter,
               ulParameterLen, (void *)pData, ulDataLen, (void *)pSignature, ulSignatureLen);
}

EXPORT CK_RV C_VerifyMessageBegin(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                  CK_ULONG ulParameterLen)
{
    IN_SESSION(hSession, 0, NS, "hSession=%lu %p %lu", hSession, pParameter, ulParameterLen);
}

EXPORT CK_RV C_VerifyMessageNext(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                 CK_ULONG ulParameterLen, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                                 CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    IN_SESSION(hSession, 0, NS, "hSession=%lu %p %lu %p %lu %p %lu", hSession, pParameter,
               ulParameterLen, (void *)pData, ulDataLen, (void *)pSignature, ulSignatureLen);
}

/* ---- function lists and interfaces ---------------------------------------------------- */

#define LIST_2_40(init, getinfo)                                                                   \
    init, C_Finalize, getinfo, C_GetFunctionList, C_GetSlotList, C_GetSlotInfo, C_GetTokenInfo,    \
        C_GetMechanismList, C_GetMechanismInfo, C_InitToken, C_InitPIN, C_SetPIN, C_OpenSession,   \
        C_CloseSession, C_CloseAllSessions, C_GetSessionInfo, C_GetOperationState,                 \
        C_SetOperationState, C_Login, C_Logout, C_CreateObject, C_CopyObject, C_DestroyObject,     \
        C_GetObjectSize, C_GetAttributeValue, C_SetAttributeValue, C_FindObjectsInit,              \
        C_FindObjects, C_FindObjectsFinal, C_EncryptInit, C_Encrypt, C_EncryptUpdate,              \
        C_EncryptFinal, C_DecryptInit, C_Decrypt, C_DecryptUpdate, C_DecryptFinal, C_DigestInit,   \
        C_Digest, C_DigestUpdate, C_DigestKey, C_DigestFinal, C_SignInit, C_Sign, C_SignUpdate,    \
        C_SignFinal, C_SignRecoverInit, C_SignRecover, C_VerifyInit, C_Verify, C_VerifyUpdate,     \
        C_VerifyFinal, C_VerifyRecoverInit, C_VerifyRecover, C_DigestEncryptUpdate,                \
        C_DecryptDigestUpdate, C_SignEncryptUpdate, C_DecryptVerifyUpdate, C_GenerateKey,          \
        C_GenerateKeyPair, C_WrapKey, C_UnwrapKey, C_DeriveKey, C_SeedRandom, C_GenerateRandom,    \
        C_GetFunctionStatus, C_CancelFunction, C_WaitForSlotEvent

#define LIST_3_0_NEW                                                                               \
    C_GetInterfaceList, C_GetInterface, C_LoginUser, C_SessionCancel, C_MessageEncryptInit,        \
        C_EncryptMessage, C_EncryptMessageBegin, C_EncryptMessageNext, C_MessageEncryptFinal,      \
        C_MessageDecryptInit, C_DecryptMessage, C_DecryptMessageBegin, C_DecryptMessageNext,       \
        C_MessageDecryptFinal, C_MessageSignInit, C_SignMessage, C_SignMessageBegin,               \
        C_SignMessageNext, C_MessageSignFinal, C_MessageVerifyInit, C_VerifyMessage,               \
        C_VerifyMessageBegin, C_VerifyMessageNext, C_MessageVerifyFinal

static CK_FUNCTION_LIST list_2_40 = {{2, 40}, LIST_2_40(C_Initialize, C_GetInfo)};
static CK_FUNCTION_LIST list_2_40_fs = {{2, 40}, LIST_2_40(C_Initialize_fork_safe, C_GetInfo)};
static CK_FUNCTION_LIST_3_0 list_3_0 = {
    {3, 0}, LIST_2_40(C_Initialize, C_GetInfo_3_0), LIST_3_0_NEW};
static CK_FUNCTION_LIST_3_0 list_3_0_fs = {
    {3, 0}, LIST_2_40(C_Initialize_fork_safe, C_GetInfo_3_0), LIST_3_0_NEW};

static CK_INTERFACE interfaces[] = {
    {(CK_CHAR *)"PKCS 11", &list_3_0, 0},
    {(CK_CHAR *)"PKCS 11", &list_2_40, 0},
    {(CK_CHAR *)"PKCS 11", &list_3_0_fs, CKF_INTERFACE_FORK_SAFE},
    {(CK_CHAR *)"PKCS 11", &list_2_40_fs, CKF_INTERFACE_FORK_SAFE},
};
#define N_INTERFACES (sizeof(interfaces) / sizeof(interfaces[0]))

static CK_RV get_interface_list(CK_INTERFACE_PTR list, CK_ULONG_PTR count)
{
    if (!count)
        return CKR_ARGUMENTS_BAD;
    if (!list) {
        *count = N_INTERFACES;
        return CKR_OK;
    }
    if (*count < N_INTERFACES) {
        *count = N_INTERFACES;
        return CKR_BUFFER_TOO_SMALL;
    }
    memcpy(list, interfaces, sizeof(interfaces));
    *count = N_INTERFACES;
    return CKR_OK;
}

static CK_VERSION interface_version(const CK_INTERFACE *i)
{
    return *(const CK_VERSION *)i->pFunctionList; /* both list types start with it */
}

/* The first interface matching the name (NULL: any), version (NULL: any) and carrying
 * every requested flag. */
static CK_RV get_interface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version, CK_INTERFACE_PTR_PTR out,
                           CK_FLAGS flags)
{
    if (!out)
        return CKR_ARGUMENTS_BAD;
    for (size_t i = 0; i < N_INTERFACES; i++) {
        CK_VERSION v = interface_version(&interfaces[i]);
        if (name && strcmp((const char *)name, (const char *)interfaces[i].pInterfaceName) != 0)
            continue;
        if (version && (version->major != v.major || version->minor != v.minor))
            continue;
        if ((interfaces[i].flags & flags) != flags)
            continue;
        *out = &interfaces[i];
        return CKR_OK;
    }
    return CKR_ARGUMENTS_BAD;
}

EXPORT CK_RV C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount)
{
    IN_LIBRARY(get_interface_list(pInterfacesList, pulCount), "*pulCount=%s",
               p11_tr_ulptr(pulCount));
}

EXPORT CK_RV C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
                            CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags)
{
    IN_LIBRARY(get_interface(pInterfaceName, pVersion, ppInterface, flags),
               "pInterfaceName=%s pVersion=%d.%d flags=0x%lx",
               pInterfaceName ? (const char *)pInterfaceName : "NULL",
               pVersion ? pVersion->major : -1, pVersion ? pVersion->minor : -1, flags);
}
