/* vtoken-bench: what the same work costs in OpenSSL alone (the baseline every vtoken
 * figure is divided by), and the PKCS#12 files for the module's PKCS#12 tokens. */
#include "bench_ossl.h"

#include <stdio.h>
#include <string.h>

#include <openssl/pkcs12.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "bench.h"

EVP_PKEY *bench_ossl_keygen(unsigned bits, double *secs)
{
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    uint64_t t0 = bench_now_ns();

    if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) <= 0 || EVP_PKEY_keygen(ctx, &pk) <= 0)
        pk = NULL;
    *secs = (double)(bench_now_ns() - t0) / 1e9;
    EVP_PKEY_CTX_free(ctx);
    return pk;
}

typedef struct ossl_signer {
    EVP_PKEY_CTX *sign;
    EVP_PKEY_CTX *verify;
    unsigned long long count;
    bool failed;
} ossl_signer;

static bool ossl_sign_once(void *arg)
{
    ossl_signer *s = arg;
    uint8_t msg[32], hash[32], sig[512];
    size_t sig_len = sizeof(sig);

    memset(msg, 0, sizeof(msg));
    snprintf((char *)msg, sizeof(msg), "vtoken-bench %llu", s->count);
    if (EVP_Digest(msg, sizeof(msg), hash, NULL, EVP_sha256(), NULL) != 1 ||
        EVP_PKEY_sign(s->sign, sig, &sig_len, hash, sizeof(hash)) != 1 ||
        (s->count % 8 == 0 && EVP_PKEY_verify(s->verify, sig, sig_len, hash, sizeof(hash)) != 1)) {
        s->failed = true;
        return false;
    }
    s->count++;
    return true;
}

static EVP_PKEY_CTX *rsa_ctx(EVP_PKEY *key, bool sign)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
    if (!ctx || (sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) <= 0) {
        EVP_PKEY_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

bool bench_ossl_sign_rate(EVP_PKEY *key, size_t n, double seconds, double *rate)
{
    ossl_signer s[BENCH_MAX_THREADS];
    void *args[BENCH_MAX_THREADS];
    unsigned long long total = 0;
    bool ok = n > 0 && n <= BENCH_MAX_THREADS;

    memset(s, 0, sizeof(s));
    for (size_t i = 0; ok && i < n; i++) {
        s[i].sign = rsa_ctx(key, true);
        s[i].verify = rsa_ctx(key, false);
        ok = s[i].sign && s[i].verify;
        args[i] = &s[i];
    }
    double elapsed = ok ? bench_run_threads(n, args, ossl_sign_once, seconds) : 0;
    for (size_t i = 0; i < n && i < BENCH_MAX_THREADS; i++) {
        total += s[i].count;
        if (s[i].failed)
            ok = false;
        EVP_PKEY_CTX_free(s[i].sign);
        EVP_PKEY_CTX_free(s[i].verify);
    }
    if (!ok)
        fprintf(stderr, "vtoken-bench: OpenSSL signing failed\n");
    *rate = elapsed > 0 ? (double)total / elapsed : 0;
    return ok;
}

bool bench_ossl_write_p12(const char *path, EVP_PKEY *key, const char *pass)
{
    X509 *cert = X509_new();
    X509_NAME *name = NULL;
    PKCS12 *p12 = NULL;
    FILE *f = NULL;
    bool ok = false;

    if (!cert || !X509_set_version(cert, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(cert), 1) ||
        !X509_gmtime_adj(X509_getm_notBefore(cert), 0) ||
        !X509_gmtime_adj(X509_getm_notAfter(cert), 86400L * 365) || !X509_set_pubkey(cert, key))
        goto out;
    name = X509_get_subject_name(cert);
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"vtoken-bench",
                                    -1, -1, 0) ||
        !X509_set_issuer_name(cert, name) || !X509_sign(cert, key, EVP_sha256()))
        goto out;
    p12 = PKCS12_create(pass, "vtoken-bench", key, cert, NULL, 0, 0, 0, 0, 0);
    f = p12 ? fopen(path, "wbx") : NULL;
    ok = f && i2d_PKCS12_fp(f, p12) == 1;
out:
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok)
        fprintf(stderr, "vtoken-bench: cannot write %s\n", path);
    PKCS12_free(p12);
    X509_free(cert);
    return ok;
}
