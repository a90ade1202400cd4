/* Every call from the PKCS#11 layer into a token driver goes through here, so that two
 * rules hold in one place:
 *
 * - each driver operation is one transaction on the token's transport (apdu_begin ...
 *   apdu_end: SCardBeginTransaction over PC/SC, the image lock of an in-process card), so
 *   its APDUs never interleave with another process's;
 * - private-key operations (sign, decrypt, random) run without the slot lock, as many at
 *   once as the token can take (P11_CAP_PARALLEL and p11_token.parallel), and every other
 *   driver call first waits until none is running (the slot's gate). Their transaction is
 *   the shared kind: other readers may run alongside.
 *
 * All functions are called with the slot lock held and return with it held. */
#ifndef P11_TOKEN_IO_H
#define P11_TOKEN_IO_H

#include <stdbool.h>

#include "object.h"
#include "session.h"
#include "slot.h"

void p11_gate_init(p11_gate *g);
void p11_gate_destroy(p11_gate *g);
/* Wait until no private-key operation of the slot is running. */
void p11_gate_drain(p11_slot *s);

/* A call on session h waits while another thread's private-key operation uses it (the
 * spec lets an application share a session between threads). *s is the session, found
 * again after each wait: CKR_SESSION_HANDLE_INVALID when it was closed meanwhile. */
CK_RV p11_io_session_idle(p11_slot *slot, CK_SESSION_HANDLE h, p11_session **s);

/* Driver calls that may change the token or the driver's state: after the drain, in an
 * exclusive transaction. */
CK_RV p11_io_get_info(p11_slot *s, p11_token_info *info);
CK_RV p11_io_login(p11_slot *s, CK_USER_TYPE who, const uint8_t *pin, size_t len);
CK_RV p11_io_logout(p11_slot *s);
CK_RV p11_io_set_pin(p11_slot *s, CK_USER_TYPE who, const uint8_t *old_pin, size_t old_len,
                     const uint8_t *new_pin, size_t new_len);
CK_RV p11_io_init_pin(p11_slot *s, const uint8_t *pin, size_t len);
CK_RV p11_io_init_token(p11_slot *s, const uint8_t *so_pin, size_t len, const char *label);
CK_RV p11_io_list_objects(p11_slot *s, p11_tobj **objs, size_t *n);
CK_RV p11_io_create_object(p11_slot *s, const p11_attrs *tmpl, p11_tobj *out);
CK_RV p11_io_destroy_object(p11_slot *s, const p11_tobj *obj);
CK_RV p11_io_set_attributes(p11_slot *s, const p11_tobj *obj, const p11_attrs *changes,
                            p11_tobj *updated);
CK_RV p11_io_generate_rsa(p11_slot *s, CK_ULONG bits, const uint8_t *pub_exp, size_t exp_len,
                          const p11_attrs *pub_tmpl, const p11_attrs *priv_tmpl, p11_tobj *pub,
                          p11_tobj *priv);
/* Drain, then close the token and forget it (s->token NULL). */
void p11_io_close(p11_slot *s);

/* Cheap questions every driver answers from memory or the reader state, beside running
 * private-key operations and without a transaction. */
uint64_t p11_io_generation(p11_slot *s);
CK_RV p11_io_present(p11_slot *s);

/* Private-key operations of session s with key (copied: the object may be re-listed
 * meanwhile). The slot lock is released while the token works. *gone: the session was
 * closed meanwhile; then neither it nor its operations may be touched and the caller
 * returns CKR_SESSION_HANDLE_INVALID. */
CK_RV p11_io_rsa_sign(p11_session *s, const p11_object *key, p11_rsa_op op, const uint8_t *in,
                      size_t in_len, uint8_t *out, size_t *out_len, bool *gone);
CK_RV p11_io_rsa_decrypt(p11_session *s, const p11_object *key, p11_rsa_op op, const uint8_t *in,
                         size_t in_len, uint8_t *out, size_t *out_len, bool *gone);
CK_RV p11_io_ec_sign(p11_session *s, const p11_object *key, const uint8_t *hash, size_t hash_len,
                     uint8_t *out, size_t *out_len, bool *gone);
CK_RV p11_io_random(p11_session *s, uint8_t *out, size_t len, bool *gone);

#endif
