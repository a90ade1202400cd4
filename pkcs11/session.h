/* Sessions, their states (R/O or R/W x public, user, SO) and the cryptographic and
 * find operations active in them. */
#ifndef P11_SESSION_H
#define P11_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "hash.h"
#include "mech.h"
#include "module.h"
#include "vt_util.h"

typedef enum p11_op_kind {
    P11_OP_DIGEST,
    P11_OP_SIGN,
    P11_OP_VERIFY,
    P11_OP_ENCRYPT,
    P11_OP_DECRYPT,
    P11_OP_COUNT,
} p11_op_kind;

/* One active operation. */
typedef struct p11_op {
    p11_op_kind kind;
    const p11_mech_desc *md;
    CK_OBJECT_HANDLE key; /* looked up again at each use: it may have gone */
    size_t k;             /* modulus length in bytes (ECDSA: signature length) */
    bool hashing;         /* the module hashes the input (digest, hash-and-sign) */
    p11_hash h;
    p11_hash_alg pss_hash, mgf; /* PSS / OAEP parameters */
    size_t salt_len;
    vt_buf label;               /* OAEP source data */
    vt_buf data;                /* single-part input gathered from *Update calls */
    bool multipart;             /* an *Update call was made */
    bool always_auth, ctx_auth; /* CKA_ALWAYS_AUTHENTICATE and its C_Login */
    EVP_PKEY *pub;              /* verify / encrypt */
    vt_buf result;              /* decrypt output kept after CKR_BUFFER_TOO_SMALL */
    bool have_result;
} p11_op;

typedef struct p11_findop {
    CK_OBJECT_HANDLE *h;
    size_t n, pos;
} p11_findop;

struct p11_session {
    CK_SESSION_HANDLE handle;
    p11_slot *slot;
    bool busy; /* a private-key operation runs without the slot lock (token_io.c) */
    CK_FLAGS flags;
    CK_VOID_PTR app;
    CK_NOTIFY notify;
    p11_findop *find;
    p11_op *op[P11_OP_COUNT];
};

CK_STATE p11_session_state(const p11_session *s);
bool p11_session_rw(const p11_session *s);
p11_session *p11_session_get(p11_module *m, CK_SESSION_HANDLE h); /* module lock held */
/* The same, taking the module lock; the result may be used while the caller holds the
 * session's slot lock (sessions are freed only under it). */
p11_session *p11_session_find(p11_module *m, CK_SESSION_HANDLE h);
void p11_op_free(p11_op *op);
void p11_session_end_op(p11_session *s, p11_op_kind kind);
/* Close every session of the slot (token removed, C_CloseAllSessions, finalize). */
void p11_session_close_all(p11_slot *slot);

CK_RV p11_open_session(p11_slot *slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
                       CK_SESSION_HANDLE_PTR ph);
CK_RV p11_close_session(p11_session *s);
CK_RV p11_close_all_sessions(p11_slot *slot);
CK_RV p11_get_session_info(p11_session *s, CK_SESSION_INFO_PTR info);
CK_RV p11_get_operation_state(p11_session *s, CK_BYTE_PTR state, CK_ULONG_PTR len);
CK_RV p11_set_operation_state(p11_session *s, CK_BYTE_PTR state, CK_ULONG len,
                              CK_OBJECT_HANDLE enc_key, CK_OBJECT_HANDLE auth_key);
CK_RV p11_session_cancel(p11_session *s, CK_FLAGS flags);

/* pin.c */
CK_RV p11_login(p11_session *s, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len);
CK_RV p11_logout(p11_session *s);
CK_RV p11_init_pin(p11_session *s, CK_UTF8CHAR_PTR pin, CK_ULONG len);
CK_RV p11_set_pin(p11_session *s, CK_UTF8CHAR_PTR old_pin, CK_ULONG old_len,
                  CK_UTF8CHAR_PTR new_pin, CK_ULONG new_len);
CK_RV p11_init_token(p11_slot *slot, CK_UTF8CHAR_PTR pin, CK_ULONG len, CK_UTF8CHAR_PTR label);

/* digest.c */
CK_RV p11_digest_init(p11_session *s, CK_MECHANISM_PTR mech);
CK_RV p11_digest(p11_session *s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out,
                 CK_ULONG_PTR out_len);
CK_RV p11_digest_update(p11_session *s, CK_BYTE_PTR data, CK_ULONG len);
CK_RV p11_digest_key(p11_session *s, CK_OBJECT_HANDLE key);
CK_RV p11_digest_final(p11_session *s, CK_BYTE_PTR out, CK_ULONG_PTR out_len);

/* sign.c */
CK_RV p11_sign_init(p11_session *s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key);
CK_RV p11_sign(p11_session *s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
               CK_ULONG_PTR sig_len);
CK_RV p11_sign_update(p11_session *s, CK_BYTE_PTR data, CK_ULONG len);
CK_RV p11_sign_final(p11_session *s, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len);
CK_RV p11_verify_init(p11_session *s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key);
CK_RV p11_verify(p11_session *s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG sig_len);
CK_RV p11_verify_update(p11_session *s, CK_BYTE_PTR data, CK_ULONG len);
CK_RV p11_verify_final(p11_session *s, CK_BYTE_PTR sig, CK_ULONG sig_len);

/* crypt.c */
CK_RV p11_encrypt_init(p11_session *s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key);
CK_RV p11_encrypt(p11_session *s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out,
                  CK_ULONG_PTR out_len);
CK_RV p11_encrypt_update(p11_session *s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out,
                         CK_ULONG_PTR out_len);
CK_RV p11_encrypt_final(p11_session *s, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV p11_decrypt_init(p11_session *s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key);
CK_RV p11_decrypt(p11_session *s, CK_BYTE_PTR in, CK_ULONG len, CK_BYTE_PTR out,
                  CK_ULONG_PTR out_len);
CK_RV p11_decrypt_update(p11_session *s, CK_BYTE_PTR in, CK_ULONG len, CK_BYTE_PTR out,
                         CK_ULONG_PTR out_len);
CK_RV p11_decrypt_final(p11_session *s, CK_BYTE_PTR out, CK_ULONG_PTR out_len);

/* keygen.c */
CK_RV p11_generate_key_pair(p11_session *s, CK_MECHANISM_PTR mech, CK_ATTRIBUTE_PTR pub_tmpl,
                            CK_ULONG pub_n, CK_ATTRIBUTE_PTR priv_tmpl, CK_ULONG priv_n,
                            CK_OBJECT_HANDLE_PTR ph_pub, CK_OBJECT_HANDLE_PTR ph_priv);
CK_RV p11_generate_random(p11_session *s, CK_BYTE_PTR out, CK_ULONG len);
CK_RV p11_seed_random(p11_session *s, CK_BYTE_PTR seed, CK_ULONG len);

#endif
