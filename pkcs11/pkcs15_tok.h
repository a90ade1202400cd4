/* Token objects in a card's PKCS#15 application, for any card driver: listing them as
 * PKCS#11 objects, and creating, generating, destroying and relabelling them. The card's
 * file access (p11_p15_fs) and key storage (p11_p15_keys) are the driver's. */
#ifndef P11_PKCS15_TOK_H
#define P11_PKCS15_TOK_H

#include <pthread.h>

#include "pkcs15_card.h"
#include "token.h"
#include "transport.h"

/* An RSA key from a template: unsigned big-endian values. */
typedef struct p11_p15_rsa {
    vt_buf n, e, p, q, dp, dq, qinv;
} p11_p15_rsa;
void p11_p15_rsa_free(p11_p15_rsa *k);

/* How a card keeps private keys; ctx is the p11_p15_fs ctx. */
typedef struct p11_p15_keys {
    long ref_max; /* highest key reference the card offers */
    /* The absolute path the PrKDF names for key reference ref. */
    void (*path)(void *ctx, long ref, p11_p15_path *out);
    /* Make room for a key of bits in ref. */
    CK_RV (*create)(void *ctx, long ref, CK_ULONG bits);
    /* Store a host's key in ref. */
    CK_RV (*store)(void *ctx, long ref, const p11_p15_rsa *key);
    /* Generate a key pair in ref; n and e big-endian. */
    CK_RV (*generate)(void *ctx, long ref, CK_ULONG bits, vt_buf *n, vt_buf *e);
    /* Remove what ref holds; CKR_OK when nothing is there. */
    CK_RV (*remove)(void *ctx, long ref);
    /* Optional (may be NULL): the public half the card keeps with ref, n and e
     * big-endian. A private key that has no PuKDF entry and no certificate (imported
     * through opensc-pkcs11, or through us) takes CKA_MODULUS and CKA_PUBLIC_EXPONENT
     * from here. */
    CK_RV (*read_public)(void *ctx, long ref, vt_buf *n, vt_buf *e);
} p11_p15_keys;

typedef struct p11_p15_tok {
    apdu_transport *t;
    p11_p15_card p15;
    p11_p15_fs fs;
    const p11_p15_keys *keys;
    p11_p15_new_app app;
    bool user; /* the user is logged in: private objects are listed */
    bool loaded;
    uint64_t loaded_gen;
    /* Private-key operations look their key up on several threads at once (the module
     * runs them side by side, P11_CAP_PARALLEL) and may reload what changed on the card:
     * that lookup and reload take this lock. Every other use of this struct runs alone. */
    pthread_mutex_t key_mu;
} p11_p15_tok;

p11_p15_status p11_p15_tok_init(p11_p15_tok *k);
void p11_p15_tok_free(p11_p15_tok *k);
/* The card changed through us: what is loaded is current. */
void p11_p15_tok_touched(p11_p15_tok *k);
CK_RV p11_p15_tok_load(p11_p15_tok *k);
CK_RV p11_p15_tok_ensure_app(p11_p15_tok *k);
size_t p11_p15_tok_object_count(const p11_p15_tok *k);

CK_RV p11_p15_tok_list(p11_p15_tok *k, p11_tobj **objs, size_t *n);
CK_RV p11_p15_tok_create(p11_p15_tok *k, const p11_attrs *tmpl, p11_tobj *out);
CK_RV p11_p15_tok_destroy(p11_p15_tok *k, const p11_tobj *obj);
CK_RV p11_p15_tok_set_attributes(p11_p15_tok *k, const p11_tobj *obj, const p11_attrs *changes,
                                 p11_tobj *updated);
CK_RV p11_p15_tok_generate_rsa(p11_p15_tok *k, CK_ULONG bits, const uint8_t *pub_exp,
                               size_t exp_len, const p11_attrs *pub_tmpl,
                               const p11_attrs *priv_tmpl, p11_tobj *pub, p11_tobj *priv);
/* The card key reference, the modulus length (bytes) and (when path is not NULL) the
 * PrKDF path of a private key object. */
CK_RV p11_p15_tok_key_info(p11_p15_tok *k, const p11_tobj *key, long *ref, size_t *bytes,
                           p11_p15_path *path);

#endif
