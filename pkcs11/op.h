/* Helpers shared by the cryptographic operations (sign.c, crypt.c, digest.c): key
 * checks, mechanism parameters, and the private-key call into the driver. */
#ifndef P11_OP_H
#define P11_OP_H

#include "object.h"
#include "session.h"
#include "token.h"

/* The key for an operation: a visible object of class cls, RSA (EC for the ECDSA
 * mechanisms), with the usage attribute set. KEY_HANDLE_INVALID / KEY_TYPE_INCONSISTENT /
 * KEY_FUNCTION_NOT_PERMITTED / MECHANISM_INVALID (CKA_ALLOWED_MECHANISMS). */
CK_RV p11_op_key(p11_session *s, CK_OBJECT_HANDLE h, CK_OBJECT_CLASS cls, CK_ATTRIBUTE_TYPE usage,
                 CK_MECHANISM_TYPE mech, p11_object **out);
/* CKA_MODULUS without leading zeros; CKR_KEY_SIZE_RANGE when unknown. */
CK_RV p11_op_modulus(const p11_object *key, const uint8_t **n, size_t *k);
/* Start an operation of this kind on the session: OPERATION_ACTIVE, MECHANISM_INVALID
 * (unknown or not offered for this use), MECHANISM_PARAM_INVALID. key may be NULL for
 * digests. */
CK_RV p11_op_start(p11_session *s, p11_op_kind kind, const CK_MECHANISM *mech, CK_FLAGS use,
                   const p11_object *key, p11_op **out);
/* Public key of op->key for software verify / encrypt. */
CK_RV p11_op_load_public(p11_op *op, const p11_object *key);

/* The private-key operation on the token, for a call that is about to use the key:
 * checks the context-specific login of CKA_ALWAYS_AUTHENTICATE keys. */
CK_RV p11_op_private(p11_session *s, p11_op *op, p11_object **key);

/* Gather single-part input from *Update calls, at most max bytes. */
CK_RV p11_op_gather(p11_op *op, const uint8_t *data, size_t len, size_t max);

#endif
