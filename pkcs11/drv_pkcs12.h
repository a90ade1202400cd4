/* The PKCS#12 token driver: one .p12/.pfx file of NCA's "Personal computer" storage as a
 * token whose PIN is the file's password, over keystore/p12.h. drv_pkcs12.c: the
 * operations table, token info, login, C_SetPIN, presence and the file replaced
 * underneath; drv_pkcs12_obj.c: the file's keys and certificates as PKCS#11 objects,
 * certificate write-back and key generation; drv_pkcs12_crypto.c: RSA, ECDSA and random
 * numbers with the file's keys, in the keystore's private library context. */
#ifndef P11_DRV_PKCS12_H
#define P11_DRV_PKCS12_H

#include <sys/stat.h>

#include "p12.h"
#include "token.h"

/* Object references: a kind byte and a SHA-1 (of the public key's bits for keys, of the
 * DER for certificates), so a reference survives re-listing, reopening and rewrites. */
#define P12_REF_PRIV 'k'
#define P12_REF_PUB  'p'
#define P12_REF_CERT 'c'
#define P12_REF_LEN  21

#define P12_MAX_GENERATED 16

typedef struct p12_token {
    ks_p12_ctx *ctx; /* the module's; outlives every token */
    char *path;
    char *name; /* the file name, inside path */
    ks_pwrule rule;
    ks_p12 *file; /* the decrypted file while the user is logged in, else NULL */
    /* A replacement of the file that our password did not open: not tried again. */
    struct stat refused;
    bool refused_valid;
    uint64_t gen;            /* moves with every change of the objects */
    bool relist_after_write; /* see p11_p12_wrote() */
    /* Keys made by C_GenerateKeyPair through this token (SHA-1 of their public key):
     * the file does not record where a key came from, so CKA_LOCAL lasts as long as
     * this token. */
    uint8_t generated[P12_MAX_GENERATED][20];
    size_t ngenerated;
} p12_token;

/* Open the token for the file at path (nothing is read: only its name is used until
 * login). ctx and rule are borrowed for the token's life. */
CK_RV p11_p12_open(ks_p12_ctx *ctx, const char *path, const ks_pwrule *rule, p11_token **out);

/* ks_status to CK_RV, the one mapping. writing: the status came from changing the
 * file (read-only is then CKR_TOKEN_WRITE_PROTECTED). why (may be NULL or "") is
 * traced. */
CK_RV p11_p12_rv(p12_token *k, ks_status st, bool writing, const char *why);

/* Before a write: the logged-in file, reopened with our password when another
 * program replaced it. CKR_USER_NOT_LOGGED_IN without a login. */
CK_RV p11_p12_current(p12_token *k, ks_p12 **out);
/* After a successful write through us. others_changed: objects other than the one the
 * call returns changed too (a key renamed by its certificate, a public key that left
 * with its private key), so the module must list them again. */
void p11_p12_wrote(p12_token *k, bool others_changed);
/* Is the file (or its directory) read-only for us? One stat() each. */
bool p11_p12_read_only(const p12_token *k);
/* The token label of a file: its name without .p12/.pfx, cut to fit cap (33 for a
 * label) at a character boundary, bytes that are not UTF-8 as '?'. */
void p11_p12_label(const char *name, char *out, size_t cap);
/* The slot description: the whole file name, cut the same way (cap 65). */
void p11_p12_description(const char *name, char *out, size_t cap);

/* drv_pkcs12_obj.c */
CK_RV p11_p12_list_objects(p11_token *t, p11_tobj **objs, size_t *n);
CK_RV p11_p12_create_object(p11_token *t, const p11_attrs *tmpl, p11_tobj *out);
CK_RV p11_p12_destroy_object(p11_token *t, const p11_tobj *obj);
CK_RV p11_p12_set_attributes(p11_token *t, const p11_tobj *obj, const p11_attrs *changes,
                             p11_tobj *updated);
CK_RV p11_p12_generate_rsa(p11_token *t, CK_ULONG bits, const uint8_t *pub_exp, size_t exp_len,
                           const p11_attrs *pub_tmpl, const p11_attrs *priv_tmpl, p11_tobj *pub,
                           p11_tobj *priv);
/* The private key a reference names (borrowed from the open file), or NULL. */
EVP_PKEY *p11_p12_key_of(p12_token *k, const p11_tobj *obj);

/* drv_pkcs12_crypto.c */
CK_RV p11_p12_rsa_sign(p11_token *t, const p11_tobj *key, p11_rsa_op op, const uint8_t *in,
                       size_t in_len, uint8_t *out, size_t *out_len);
CK_RV p11_p12_rsa_decrypt(p11_token *t, const p11_tobj *key, p11_rsa_op op, const uint8_t *in,
                          size_t in_len, uint8_t *out, size_t *out_len);
CK_RV p11_p12_ec_sign(p11_token *t, const p11_tobj *key, const uint8_t *hash, size_t hash_len,
                      uint8_t *out, size_t *out_len);
CK_RV p11_p12_random(p11_token *t, uint8_t *out, size_t len);

#endif
