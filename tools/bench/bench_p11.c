/* vtoken-bench: loading PKCS#11 modules as applications do, and C_Sign throughput on N
 * threads with the signatures checked by OpenSSL. */
#include "bench_p11.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "bench.h"
#include "names.h"

const char *bench_rv_name(CK_RV rv)
{
    return p11_rv_name(rv);
}

bool bench_p11_open(bench_p11 *m, const char *path)
{
    CK_C_GetFunctionList get_list;

    memset(m, 0, sizeof(*m));
    m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!m->dl) {
        fprintf(stderr, "vtoken-bench: cannot load %s: %s\n", path, dlerror());
        return false;
    }
    *(void **)&get_list = dlsym(m->dl, "C_GetFunctionList");
    if (!get_list || get_list(&m->f) != CKR_OK || !m->f) {
        fprintf(stderr, "vtoken-bench: %s has no usable C_GetFunctionList\n", path);
        dlclose(m->dl);
        m->dl = NULL;
        return false;
    }
    return true;
}

CK_RV bench_p11_init(bench_p11 *m, const char *options)
{
    CK_C_INITIALIZE_ARGS a;

    memset(&a, 0, sizeof(a));
    a.flags = CKF_OS_LOCKING_OK;
    a.pReserved = (CK_VOID_PTR)options;
    CK_RV rv = m->f->C_Initialize(&a);
    m->initialized = rv == CKR_OK;
    return rv;
}

void bench_p11_fini(bench_p11 *m)
{
    if (m->initialized)
        m->f->C_Finalize(NULL);
    m->initialized = false;
}

void bench_p11_unload(bench_p11 *m)
{
    bench_p11_fini(m);
    if (m->dl)
        dlclose(m->dl);
    memset(m, 0, sizeof(*m));
}

static bool padded_contains(const CK_UTF8CHAR *field, size_t width, const char *want)
{
    char s[72];
    if (width >= sizeof(s))
        width = sizeof(s) - 1;
    memcpy(s, field, width);
    s[width] = '\0';
    return strstr(s, want) != NULL;
}

CK_RV bench_p11_find_slot(bench_p11 *m, const char *want, bool by_label, CK_SLOT_ID *slot)
{
    CK_SLOT_ID ids[256];
    CK_ULONG n = 0;
    CK_RV rv = m->f->C_GetSlotList(CK_TRUE, NULL, &n);
    if (rv != CKR_OK)
        return rv;
    n = n > 256 ? 256 : n;
    rv = m->f->C_GetSlotList(CK_TRUE, ids, &n);
    if (rv != CKR_OK)
        return rv;
    for (CK_ULONG i = 0; i < n; i++) {
        if (by_label) {
            CK_TOKEN_INFO ti;
            if (m->f->C_GetTokenInfo(ids[i], &ti) == CKR_OK &&
                padded_contains(ti.label, sizeof(ti.label), want)) {
                *slot = ids[i];
                return CKR_OK;
            }
        } else {
            CK_SLOT_INFO si;
            if (m->f->C_GetSlotInfo(ids[i], &si) == CKR_OK &&
                padded_contains(si.slotDescription, sizeof(si.slotDescription), want)) {
                *slot = ids[i];
                return CKR_OK;
            }
        }
    }
    return CKR_TOKEN_NOT_PRESENT;
}

CK_RV bench_p11_keygen(bench_p11 *m, CK_SESSION_HANDLE h, CK_ULONG bits, bool token,
                       CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
    CK_MECHANISM mech = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    CK_BBOOL yes = CK_TRUE, tok = token ? CK_TRUE : CK_FALSE, no = CK_FALSE;
    CK_BYTE e[] = {1, 0, 1};
    CK_BYTE id[] = {'b', 'e', 'n', 'c', 'h'};
    CK_ATTRIBUTE pt[] = {
        {CKA_TOKEN, &no, sizeof(no)},
        {CKA_VERIFY, &yes, sizeof(yes)},
        {CKA_MODULUS_BITS, &bits, sizeof(bits)},
        {CKA_PUBLIC_EXPONENT, e, sizeof(e)},
        {CKA_ID, id, sizeof(id)},
    };
    CK_ATTRIBUTE kt[] = {
        {CKA_TOKEN, &tok, sizeof(tok)},     {CKA_PRIVATE, &yes, sizeof(yes)},
        {CKA_SENSITIVE, &yes, sizeof(yes)}, {CKA_SIGN, &yes, sizeof(yes)},
        {CKA_ID, id, sizeof(id)},
    };
    return m->f->C_GenerateKeyPair(h, &mech, pt, 5, kt, 5, pub, priv);
}

CK_RV bench_p11_first_key(bench_p11 *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE *priv)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE q = {CKA_CLASS, &cls, sizeof(cls)};
    CK_ULONG n = 0;
    CK_RV rv = m->f->C_FindObjectsInit(h, &q, 1);
    if (rv != CKR_OK)
        return rv;
    rv = m->f->C_FindObjects(h, priv, 1, &n);
    m->f->C_FindObjectsFinal(h);
    if (rv == CKR_OK && n != 1)
        rv = CKR_KEY_HANDLE_INVALID;
    return rv;
}

EVP_PKEY *bench_p11_rsa_public(bench_p11 *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key)
{
    CK_BYTE nb[1024], eb[16];
    CK_ATTRIBUTE a[] = {{CKA_MODULUS, nb, sizeof(nb)}, {CKA_PUBLIC_EXPONENT, eb, sizeof(eb)}};
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    BIGNUM *n = NULL, *e = NULL;

    if (m->f->C_GetAttributeValue(h, key, a, 2) != CKR_OK)
        return NULL;
    n = BN_bin2bn(nb, (int)a[0].ulValueLen, NULL);
    e = BN_bin2bn(eb, (int)a[1].ulValueLen, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (!n || !e || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
        goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pk = NULL;
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return pk;
}

static bool verify_sha256(EVP_PKEY *pub, const uint8_t *msg, size_t len, const uint8_t *sig,
                          size_t sig_len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) == 1 &&
              EVP_DigestVerify(md, sig, sig_len, msg, len) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

static bool sign_once(void *arg)
{
    bench_signer *s = arg;
    CK_MECHANISM mech = {CKM_SHA256_RSA_PKCS, NULL, 0};
    uint8_t msg[32], sig[512];
    CK_ULONG sig_len = sizeof(sig);

    memset(msg, 0, sizeof(msg));
    snprintf((char *)msg, sizeof(msg), "vtoken-bench %llu", s->count);
    CK_RV rv = s->m->f->C_SignInit(s->h, &mech, s->key);
    if (rv == CKR_OK)
        rv = s->m->f->C_Sign(s->h, msg, sizeof(msg), sig, &sig_len);
    if (rv != CKR_OK) {
        s->rv = rv;
        return false;
    }
    if (s->count % 8 == 0) {
        s->verified++;
        if (!s->pub || !verify_sha256(s->pub, msg, sizeof(msg), sig, sig_len)) {
            s->bad++;
            return false;
        }
    }
    s->count++;
    return true;
}

bool bench_p11_sign_run(bench_signer *s, size_t n, double seconds, double *rate)
{
    void *args[BENCH_MAX_THREADS];
    unsigned long long total = 0;
    bool ok = true;

    if (n == 0 || n > BENCH_MAX_THREADS)
        return false;
    for (size_t i = 0; i < n; i++) {
        s[i].count = 0;
        s[i].rv = CKR_OK;
        s[i].verified = s[i].bad = 0;
        args[i] = &s[i];
    }
    double elapsed = bench_run_threads(n, args, sign_once, seconds);
    for (size_t i = 0; i < n; i++) {
        total += s[i].count;
        if (s[i].rv != CKR_OK) {
            fprintf(stderr, "vtoken-bench: C_Sign failed on thread %zu: %s\n", i,
                    bench_rv_name(s[i].rv));
            ok = false;
        }
        if (s[i].bad) {
            fprintf(stderr, "vtoken-bench: a signature of thread %zu does not verify\n", i);
            ok = false;
        }
    }
    *rate = elapsed > 0 ? (double)total / elapsed : 0;
    return ok;
}
