/* Objects as the PKCS#11 layer sees them: token objects (the driver's list, cached per
 * token and re-listed only when the driver's generation moves or the login state
 * changes) and session objects, in one store per token with one handle space per
 * module. */
#ifndef P11_OBJECT_H
#define P11_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hmap.h"
#include "index.h"
#include "module.h"
#include "token.h"

struct p11_object {
    CK_OBJECT_HANDLE handle;
    p11_slot *slot;
    p11_session *owner; /* the creating session for session objects; NULL for token objects */
    p11_tobj t;         /* complete attribute set (+ the driver's ref for token objects) */
    CK_OBJECT_CLASS cls;
    bool is_private;
    bool seen; /* sync mark */
};

typedef struct p11_objstore {
    p11_object **v; /* token and session objects of one token */
    size_t n, cap;
    p11_hmap map; /* handle -> object (one handle space per module, a map per slot) */
    p11_index idx;
    bool listed;  /* token objects are listed for the current login state */
    uint64_t gen; /* driver generation at the last listing */
} p11_objstore;

/* Bring the token objects up to date: re-list when the driver's generation moved or
 * the cache was invalidated. Cheap when nothing changed. */
CK_RV p11_objects_sync(p11_slot *s);
/* Lend each token private key that shows no CKA_MODULUS the public parts of the public
 * key or certificate with its CKA_ID. After every listing, and after a CKA_ID changed. */
void p11_objects_pair_keys(p11_slot *s);
/* The login state changed: private token objects are re-listed on next use with new
 * handles; on logout private objects (token and session) disappear. */
void p11_objects_login_changed(p11_slot *s, bool logged_out);
/* Drop every object (token removed, finalize, C_InitToken). */
void p11_objects_drop_all(p11_slot *s);
/* Session closed: destroy its session objects. */
void p11_objects_session_closed(p11_slot *s, p11_session *sess);

/* Visible to this session (private objects need the user logged in)? */
bool p11_object_visible(const p11_slot *s, const p11_object *o);
/* Look up a handle for a session: syncs first; CKR_OBJECT_HANDLE_INVALID when unknown,
 * on another token or not visible. */
CK_RV p11_object_lookup(p11_session *sess, CK_OBJECT_HANDLE h, p11_object **out);
/* The same from what is already listed, without asking the token whether it changed:
 * for a key an operation resolved at its C_*Init, right before the operation's own
 * transaction (which reports a reset or a removal anyway). Over PC/SC the question
 * costs pcscd four messages. */
CK_RV p11_object_lookup_listed(p11_session *sess, CK_OBJECT_HANDLE h, p11_object **out);

/* Insert a new object (takes ownership of attrs/ref in t; completes attributes). */
CK_RV p11_object_insert(p11_slot *s, p11_session *owner, p11_tobj *t, p11_object **out);
void p11_object_destroy(p11_slot *s, p11_object *o);
/* Replace o's attributes (takes ownership of *attrs), keeping its handle. */
CK_RV p11_object_replace_attrs(p11_slot *s, p11_object *o, p11_attrs *attrs);

/* Entry points (session.c has already checked the session). */
CK_RV p11_find_init(p11_session *sess, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n);
CK_RV p11_find_objects(p11_session *sess, CK_OBJECT_HANDLE_PTR ph, CK_ULONG max,
                       CK_ULONG_PTR count);
CK_RV p11_find_final(p11_session *sess);
CK_RV p11_get_attribute_value(p11_session *sess, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_PTR tmpl,
                              CK_ULONG n);
CK_RV p11_get_object_size(p11_session *sess, CK_OBJECT_HANDLE h, CK_ULONG_PTR size);

/* objcreate.c */
CK_RV p11_create_object(p11_session *sess, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,
                        CK_OBJECT_HANDLE_PTR ph);
CK_RV p11_copy_object(p11_session *sess, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,
                      CK_OBJECT_HANDLE_PTR ph);
CK_RV p11_destroy_object(p11_session *sess, CK_OBJECT_HANDLE h);
CK_RV p11_set_attribute_value(p11_session *sess, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_PTR tmpl,
                              CK_ULONG n);

#endif
