/* Shared fixture for the PKCS#12 token tests (test_drv_pkcs12*.c): a scratch directory
 * of .p12 files and an empty $VTOKEN_HOME, the module initialised with only PKCS#12
 * slots, and OpenSSL-only helpers to make and check keys, certificates and files
 * (never the code under test). */
#ifndef P11_TEST_DRV_PKCS12_H
#define P11_TEST_DRV_PKCS12_H

#include <check.h>
#include <stdbool.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "p11.h"
#include "vt_util.h"

#define PT_AUTH "AUTH_RSA256_b2c70a9ff7a5dc59de0ccc3c0ddde3437cc1f12d"
#define PT_SIGN "RSA256_11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9"
#define PT_PW   "Qwerty12"

extern char pt_root[128];  /* scratch root */
extern char pt_files[160]; /* <root>/files: the PKCS#12 directory */
extern char pt_home[160];  /* <root>/home: $VTOKEN_HOME */

void pt_setup(void);    /* scratch dirs; VTOKEN_* variables unset */
void pt_teardown(void); /* C_Finalize, remove everything */

/* "<files>/<stem>.p12" copied from the shared NCA vectors, mode 0600 (malloc'd). */
char *pt_copy_nca(const char *stem);
char *pt_path(const char *name); /* "<files>/<name>" (malloc'd) */
/* The NCA certificate of stem (its .cer) and its DER. */
X509 *pt_nca_cert(const char *stem);

/* C_Initialize with embedded=0 pcsc=0 home=<home> p12_path=<files> and extra options. */
void pt_init(const char *extra);
void pt_init_raw(const char *options); /* exactly these options */
/* The slot whose description is desc; fails the test when there is none. */
CK_SLOT_ID pt_slot(const char *desc);
CK_SESSION_HANDLE pt_open(CK_SLOT_ID slot, bool rw);
CK_SESSION_HANDLE pt_login(CK_SLOT_ID slot, const char *pw, bool rw);
/* Objects of a class (all visible ones), up to 16; the count is returned. */
CK_ULONG pt_find(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *out);
CK_OBJECT_HANDLE pt_find_one(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls);
/* Attribute bytes into buf; returns the length (fails the test on error). */
CK_ULONG pt_attr(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t, void *buf,
                 CK_ULONG cap);
bool pt_bool(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t);
CK_ULONG pt_ulong(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t);

/* ---- OpenSSL only ---- */
OSSL_LIB_CTX *pt_libctx(void); /* default + legacy providers */
EVP_PKEY *pt_rsa_key(int bits);
EVP_PKEY *pt_ec_key(const char *curve);
/* A certificate for subject_key signed by issuer_key (self-signed when NULL), with a
 * SubjectKeyIdentifier (SHA-1 of the public key) when ski is set. DER in *der. */
X509 *pt_cert(EVP_PKEY *subject_key, EVP_PKEY *issuer_key, bool ski);
/* Write a .p12 with key and cert: legacy = NCA's algorithms, else OpenSSL 3's. */
void pt_write_p12(const char *path, const char *pw, EVP_PKEY *key, X509 *cert, bool legacy);
/* SHA-1 of the DER SubjectPublicKeyInfo: NCA's SubjectKeyIdentifier (not RFC 5280's
 * method 1; test_drv_pkcs12_ids.c checks it on NCA's certificates). */
void pt_pub_sha1(EVP_PKEY *key, uint8_t out[20]);
/* Verify a signature with OpenSSL: md NULL for raw ECDSA over in (a hash). r||s for EC. */
bool pt_verify(EVP_PKEY *pub, const char *md, bool pss, const uint8_t *data, size_t len,
               const uint8_t *sig, size_t sig_len);

/* Bytes, inode and mtime of a file, to prove it was left alone. */
typedef struct pt_snap {
    vt_buf bytes;
    struct stat st;
} pt_snap;
void pt_snapshot(const char *path, pt_snap *s);
void pt_assert_unchanged(const char *path, pt_snap *s); /* frees s */

Suite *drv_pkcs12_suite(void);
Suite *drv_pkcs12_write_suite(void);

#endif
