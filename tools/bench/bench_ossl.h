/* vtoken-bench: the OpenSSL baseline (RSA signing with EVP_PKEY_sign and key generation
 * in this process) and the PKCS#12 files the module is measured on. */
#ifndef VTOKEN_BENCH_OSSL_H
#define VTOKEN_BENCH_OSSL_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

/* A fresh RSA key (e = 65537); *secs: how long the generation took. */
EVP_PKEY *bench_ossl_keygen(unsigned bits, double *secs);

/* SHA-256 + EVP_PKEY_sign (PKCS#1 v1.5) of 32 bytes on n threads, one EVP_PKEY_CTX each,
 * for seconds. Every 8th signature is verified. */
bool bench_ossl_sign_rate(EVP_PKEY *key, size_t n, double seconds, double *rate);

/* A PKCS#12 file at path holding key and a self-signed certificate for it (OpenSSL's
 * default algorithms), protected by pass. */
bool bench_ossl_write_p12(const char *path, EVP_PKEY *key, const char *pass);

#endif
