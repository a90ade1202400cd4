/* The PKCS#12 store's in-memory model, shared by the reader (p12_read.c) and the writer
 * (p12_write.c). A file is a list of safes (ContentInfos of the AuthenticatedSafe);
 * each safe holds bags. Keys are kept decrypted (PrivateKeyInfo) with their attributes
 * and their encryption parameters, and are re-encrypted on every write; every other
 * bag is written back exactly as it was read. */
#ifndef KS_P12_INTERNAL_H
#define KS_P12_INTERNAL_H

#include <openssl/pkcs12.h>
#include <sys/stat.h>

#include "ks_internal.h"
#include "p12.h"

#define KS_P12_MAX_SIZE ((size_t)16 * 1024 * 1024)
/* Iteration counts (MAC, key bags, encrypted safes) above this are refused before any
 * key derivation: a file asking for 2^31 would hold C_Login for hours. NCA uses 1024,
 * OpenSSL 2048, Java 10000; a million is about a second. */
#define KS_P12_MAX_ITER 1000000

struct ks_p12_ctx {
    OSSL_LIB_CTX *libctx;
    OSSL_PROVIDER *deflt;
    OSSL_PROVIDER *legacy;
};

/* How a key bag or an encrypted safe is encrypted: enough to do it again with a new
 * salt (and IV) of the same length. */
typedef struct p12_pbe {
    int nid;        /* a PKCS#12/PKCS#5 v1 PBE algorithm, or NID_pbes2 */
    int cipher_nid; /* PBES2 */
    int prf_nid;    /* PBES2 */
    int iter;
    int salt_len;
    bool known;     /* false: parameters we can read but not reproduce (e.g. scrypt) */
} p12_pbe;

typedef enum p12_bag_kind {
    P12_BAG_KEY,       /* pkcs8ShroudedKeyBag */
    P12_BAG_PLAIN_KEY, /* keyBag (unencrypted) */
    P12_BAG_CERT,      /* certBag holding an X.509 certificate */
    P12_BAG_OTHER,     /* anything else: CRLs, secrets, nested safes */
} p12_bag_kind;

typedef struct p12_bag {
    p12_bag_kind kind;
    PKCS12_SAFEBAG *bag;             /* non-key bags, written back as they are */
    PKCS8_PRIV_KEY_INFO *p8;         /* keys */
    STACK_OF(X509_ATTRIBUTE) *attrs; /* keys: the bag attributes to write back */
    p12_pbe pbe;                     /* P12_BAG_KEY */
    EVP_PKEY *pkey;                  /* keys; NULL when the algorithm is unavailable */
    X509 *cert;                      /* P12_BAG_CERT */
    uint8_t *der;                    /* P12_BAG_CERT: its DER (OPENSSL_malloc'd) */
    size_t der_len;
    char *friendly;                  /* decoded attributes, NULL when absent */
    uint8_t *lkid;
    size_t lkid_len;
} p12_bag;

typedef struct p12_safe {
    bool encrypted;
    p12_pbe pbe; /* encrypted safes */
    p12_bag *bags;
    size_t nbags;
} p12_safe;

struct ks_p12 {
    ks_p12_ctx *ctx;
    char *path;
    char *pw; /* NUL-terminated copy, wiped on change and close */
    size_t pwlen;
    struct stat st; /* identity of the file as last read or written */
    p12_safe *safes;
    size_t nsafes;
    bool has_mac;
    int mac_md_nid;
    int mac_iter;
    int mac_salt_len;
    const char *write_block; /* why this file cannot be rewritten, or NULL */
    char error[512];
};

/* p12_read.c */
ks_p12 *p12_new(ks_p12_ctx *ctx, const char *path, const char *pw, size_t pwlen);
/* Decode der into p (which has no safes yet). why gets a message on failure. */
ks_status p12_parse(ks_p12 *p, const uint8_t *der, size_t len, char *why, size_t cap);
void p12_bag_clear(p12_bag *b);
/* Fill b->cert (in p's context) and b->der from a certBag. KS_ERR_CORRUPT when it
 * holds no valid X.509 certificate. */
ks_status p12_cert_of_bag(ks_p12 *p, PKCS12_SAFEBAG *bag, p12_bag *b);
void p12_safe_clear(p12_safe *s);
bool p12_pbe_from_algor(const X509_ALGOR *alg, p12_pbe *pbe);
/* Refresh b->friendly / b->lkid from attributes. */
ks_status p12_bag_decode_ids(p12_bag *b, const STACK_OF(X509_ATTRIBUTE) *attrs);
/* The n-th bag of a kind (keys: both key bag types), or NULL. */
p12_bag *p12_find(const ks_p12 *p, ks_p12_kind kind, size_t n, size_t *safe, size_t *idx);
void p12_seterr(ks_p12 *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True (with the error set) for a handle from ks_p12_open_mem(): writes refuse it. */
bool p12_in_memory(ks_p12 *p);

/* p12_write.c */
/* Encode the model under pw. */
ks_status p12_build(ks_p12 *p, const char *pw, size_t pwlen, vt_buf *der);
/* Write the model under pw, replacing the file p was read from (checks: rewritable,
 * not read-only, not changed on disk; self-check of the bytes; flock; atomic write). */
ks_status p12_commit(ks_p12 *p, const char *pw, size_t pwlen);
/* KS_ERR_ACCESS (with a message in p) when p's directory is read-only. */
ks_status p12_check_dir(ks_p12 *p);
bool p12_has_nul(const char *pw, size_t len);

#endif
