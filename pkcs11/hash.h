/* Message digests the module computes itself (C_Digest*, hash-and-sign, PSS, OAEP),
 * with a state that can be exported and imported: C_GetOperationState /
 * C_SetOperationState, which OpenSSL uses to duplicate digest contexts. */
#ifndef P11_HASH_H
#define P11_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "p11.h"

typedef enum p11_hash_alg {
    P11_SHA1,
    P11_SHA224,
    P11_SHA256,
    P11_SHA384,
    P11_SHA512,
    P11_HASH_COUNT,
} p11_hash_alg;

#define P11_HASH_MAX 64

typedef struct p11_hash {
    p11_hash_alg alg;
    union {
        SHA_CTX sha1;
        SHA256_CTX sha256; /* SHA-224 too */
        SHA512_CTX sha512; /* SHA-384 too */
    } u;
} p11_hash;

size_t p11_hash_len(p11_hash_alg alg);
/* CKM_SHA_1... -> alg; false for anything else. */
bool p11_hash_from_mech(CK_MECHANISM_TYPE m, p11_hash_alg *alg);
bool p11_hash_from_mgf(CK_RSA_PKCS_MGF_TYPE mgf, p11_hash_alg *alg);
const EVP_MD *p11_hash_md(p11_hash_alg alg);
/* DER prefix of DigestInfo for alg (the hash value follows). */
const uint8_t *p11_hash_digestinfo_prefix(p11_hash_alg alg, size_t *len);

void p11_hash_init(p11_hash *h, p11_hash_alg alg);
void p11_hash_update(p11_hash *h, const void *data, size_t len);
void p11_hash_final(p11_hash *h, uint8_t *out); /* p11_hash_len(alg) bytes; wipes h */
void p11_hash_wipe(p11_hash *h);
void p11_hash_oneshot(p11_hash_alg alg, const void *data, size_t len, uint8_t *out);

/* Serialised state: version, algorithm and the compression state (no input is kept).
 * p11_hash_import rejects anything it did not write (bad sizes, counters). */
size_t p11_hash_state_len(p11_hash_alg alg);
void p11_hash_export(const p11_hash *h, uint8_t *out);
bool p11_hash_import(p11_hash *h, const uint8_t *in, size_t len);

#endif
