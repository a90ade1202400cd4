/* Shared helpers for the keystore unit tests: scratch directories and file
 * comparisons, plus the list of suites main.c runs. */
#ifndef KS_TEST_H
#define KS_TEST_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vt_util.h"

Suite *config_suite(void);
Suite *file_suite(void);
Suite *image_suite(void);
Suite *image_file_suite(void);
Suite *p12_suite(void);
Suite *p12_write_suite(void);
Suite *p12_mem_suite(void); /* test_p12_mem.c */
Suite *pwrule_suite(void);

/* A fresh directory under $TMPDIR (or /tmp), removed by kt_rmtree(). */
char *kt_mkdtemp(void);
void kt_rmtree(const char *dir);
/* "<dir>/<name>" in a static-free malloc'd string. */
char *kt_path(const char *dir, const char *name);
/* Whole file into buf (cleared first); false when unreadable. */
bool kt_slurp(const char *path, vt_buf *buf);
bool kt_write(const char *path, const void *data, size_t len);
/* Number of directory entries other than . and .. (to catch stray temp files). */
size_t kt_count_entries(const char *dir);
/* Directory of the shared NCA vectors. */
const char *kt_nca_dir(void);
/* A copy of an NCA vector into dir (mode 0600), returned as a malloc'd path. */
char *kt_copy_nca(const char *dir, const char *name);

/* ---- PKCS#12 fixtures: made and inspected with OpenSSL alone, never with the code
 * under test (p12_util.c). ---------------------------------------------------------- */
#include <openssl/evp.h>
#include <openssl/x509.h>

#define KT_NCA_AUTH "AUTH_RSA256_b2c70a9ff7a5dc59de0ccc3c0ddde3437cc1f12d"
#define KT_NCA_SIGN "RSA256_11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9"

/* The tests' own library context with the default and legacy providers. */
OSSL_LIB_CTX *kt_libctx(void);
EVP_PKEY *kt_genkey(const char *type); /* "RSA" (2048) or "EC" (P-256) */
/* Self-signed certificate; ski NULL: no SubjectKeyIdentifier extension. */
X509 *kt_cert(EVP_PKEY *key, const uint8_t *ski, size_t ski_len);
/* SHA-1 of the DER SubjectPublicKeyInfo: NCA's SubjectKeyIdentifier (not RFC 5280's
 * method 1; test_p12.c checks it on NCA's certificates). */
void kt_pubkey_sha1(EVP_PKEY *key, uint8_t out[20]);

/* How a fixture file is encrypted. cipher_nid != NID_undef means PBES2 with it. */
typedef struct kt_p12_spec {
    int key_nid, key_cipher, key_iter, key_salt, key_prf; /* prf: PBES2 only */
    int cert_nid, cert_cipher, cert_iter, cert_salt, cert_prf;
    const char *mac_md; /* NULL: no MAC */
    int mac_iter, mac_salt;
    bool extra_attrs;   /* add a multi-valued custom attribute and a CSP name to the key */
} kt_p12_spec;
extern const kt_p12_spec kt_spec_nca, kt_spec_modern, kt_spec_nomac;
/* Write a .p12 with one key bag (localKeyID = id, friendlyName = hex id) in a plain
 * safe followed by one certificate in an encrypted safe, as NCA's files are laid out. */
void kt_make_p12(const char *path, const char *pw, EVP_PKEY *key, X509 *cert,
                 const kt_p12_spec *spec);

/* What a file holds, as plain data: one line per fact, for comparing two files. */
typedef struct kt_p12_desc {
    char text[8192];
    bool mac_ok; /* the MAC verified, or there is none */
} kt_p12_desc;
/* Describe algorithms (ids, iterations, salt and IV lengths), MAC, safe layout and
 * every bag attribute (DER). False when the file cannot be parsed or decrypted. */
bool kt_p12_describe(const char *path, const char *pw, kt_p12_desc *d);
/* Output of `openssl pkcs12 -info -noout [-legacy]` (empty when not installed:
 * *ran says so). */
void kt_openssl_info(const char *path, const char *pw, bool legacy, char *out, size_t cap,
                     bool *ran);

#endif
