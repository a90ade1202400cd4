/* Shared by the two halves of the PKCS#15 token objects (pkcs15_tok.c reads,
 * pkcs15_tok_write.c writes). Internal to pkcs15_tok*.c. */
#ifndef P11_PKCS15_TOK_INT_H
#define P11_PKCS15_TOK_INT_H

#include "pkcs15_tok.h"

/* The authId of objects the user PIN protects. */
uint8_t p11_p15_tok_user_auth(const p11_p15_tok *k);
/* An entry's value path made absolute; false for a direct value. */
bool p11_p15_tok_value_path(p11_p15_tok *k, const p11_p15_obj *o, p11_p15_path *abs);
/* The DF entry a p11_tobj stands for (CKR_OBJECT_HANDLE_INVALID when gone). */
CK_RV p11_p15_tok_find(p11_p15_tok *k, const p11_tobj *obj, p11_p15_df **df_out, size_t *idx);
/* The PKCS#11 object of an entry of a DF of type. */
CK_RV p11_p15_tok_to_tobj(p11_p15_tok *k, p11_p15_df_type type, const p11_p15_obj *o,
                          p11_tobj *out);
/* CKA_SUBJECT, CKA_ISSUER, CKA_SERIAL_NUMBER of a DER certificate; n and e (when not
 * NULL) of its RSA key. */
CK_RV p11_p15_tok_cert_attrs(const vt_buf *der, p11_attrs *a, vt_buf *n, vt_buf *e);

#endif
