/* vtoken-bench: PKCS#11 modules driven as applications drive them (dlopen,
 * C_GetFunctionList, C_Initialize with OS locking and an option string), and the
 * measurements made through them: C_Sign throughput on N threads, key generation,
 * find and initialisation latency. Used for vtoken's module and SoftHSM2 alike. */
#ifndef VTOKEN_BENCH_P11_H
#define VTOKEN_BENCH_P11_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "p11.h" /* pkcs11/p11.h: PKCS#11 types */

typedef struct bench_p11 {
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    bool initialized;
} bench_p11;

/* dlopen the module (kept loaded until bench_p11_unload). */
bool bench_p11_open(bench_p11 *m, const char *path);
/* C_Initialize with CKF_OS_LOCKING_OK and options as pReserved (NULL: none). */
CK_RV bench_p11_init(bench_p11 *m, const char *options);
void bench_p11_fini(bench_p11 *m);
void bench_p11_unload(bench_p11 *m);

/* The first slot with a token whose description (or, with by_label, label) contains
 * want; CKR_TOKEN_NOT_PRESENT when none. */
CK_RV bench_p11_find_slot(bench_p11 *m, const char *want, bool by_label, CK_SLOT_ID *slot);

/* An RSA key pair of bits generated on the slot's token through the session (logged in);
 * priv_token: the private key as a token object. Returns the handles. */
CK_RV bench_p11_keygen(bench_p11 *m, CK_SESSION_HANDLE h, CK_ULONG bits, bool token,
                       CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv);
/* The first private key visible in the session. */
CK_RV bench_p11_first_key(bench_p11 *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE *priv);
/* The public half of an RSA key handle (public or private object with CKA_MODULUS and
 * CKA_PUBLIC_EXPONENT) as an OpenSSL key, for verification. */
EVP_PKEY *bench_p11_rsa_public(bench_p11 *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key);

/* One thread of a signing run: its own session (opened, and the token logged in, by the
 * caller), a key and its public half. */
typedef struct bench_signer {
    bench_p11 *m;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE key;
    EVP_PKEY *pub;
    /* results */
    unsigned long long count;
    CK_RV rv;          /* first error */
    unsigned verified; /* signatures checked with OpenSSL */
    unsigned bad;      /* ... that did not verify */
} bench_signer;

/* C_SignInit + C_Sign (CKM_SHA256_RSA_PKCS, 32 bytes) on n threads for seconds; every
 * 8th signature (and the first) is verified with OpenSSL. *rate: signatures per second
 * over all threads. False when a call failed or a signature did not verify (printed). */
bool bench_p11_sign_run(bench_signer *s, size_t n, double seconds, double *rate);

/* "CKR_..." for an error line. */
const char *bench_rv_name(CK_RV rv);

#endif
