/* SHA-1/SHA-2 over OpenSSL's low-level contexts: their state is a plain struct, which
 * is what lets C_GetOperationState save a digest in progress (EVP contexts cannot be
 * serialised). Those functions are deprecated in OpenSSL 3 but present in Debian's. */
#define OPENSSL_API_COMPAT 10101
#include "hash.h"

#include <string.h>

#include "vt_util.h"

static const uint8_t di_sha1[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
                                  0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
static const uint8_t di_sha224[] = {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                    0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c};
static const uint8_t di_sha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
static const uint8_t di_sha384[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                    0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
static const uint8_t di_sha512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                    0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};

static const struct {
    CK_MECHANISM_TYPE mech;
    CK_RSA_PKCS_MGF_TYPE mgf;
    size_t len;
    const uint8_t *di;
    size_t di_len;
} algs[P11_HASH_COUNT] = {
    [P11_SHA1] = {CKM_SHA_1, CKG_MGF1_SHA1, 20, di_sha1, sizeof(di_sha1)},
    [P11_SHA224] = {CKM_SHA224, CKG_MGF1_SHA224, 28, di_sha224, sizeof(di_sha224)},
    [P11_SHA256] = {CKM_SHA256, CKG_MGF1_SHA256, 32, di_sha256, sizeof(di_sha256)},
    [P11_SHA384] = {CKM_SHA384, CKG_MGF1_SHA384, 48, di_sha384, sizeof(di_sha384)},
    [P11_SHA512] = {CKM_SHA512, CKG_MGF1_SHA512, 64, di_sha512, sizeof(di_sha512)},
};

size_t p11_hash_len(p11_hash_alg alg)
{
    return alg < P11_HASH_COUNT ? algs[alg].len : 0;
}

bool p11_hash_from_mech(CK_MECHANISM_TYPE m, p11_hash_alg *alg)
{
    for (int i = 0; i < P11_HASH_COUNT; i++) {
        if (algs[i].mech == m) {
            *alg = (p11_hash_alg)i;
            return true;
        }
    }
    return false;
}

bool p11_hash_from_mgf(CK_RSA_PKCS_MGF_TYPE mgf, p11_hash_alg *alg)
{
    for (int i = 0; i < P11_HASH_COUNT; i++) {
        if (algs[i].mgf == mgf) {
            *alg = (p11_hash_alg)i;
            return true;
        }
    }
    return false;
}

const EVP_MD *p11_hash_md(p11_hash_alg alg)
{
    switch (alg) {
    case P11_SHA1:
        return EVP_sha1();
    case P11_SHA224:
        return EVP_sha224();
    case P11_SHA256:
        return EVP_sha256();
    case P11_SHA384:
        return EVP_sha384();
    case P11_SHA512:
        return EVP_sha512();
    default:
        return NULL;
    }
}

const uint8_t *p11_hash_digestinfo_prefix(p11_hash_alg alg, size_t *len)
{
    *len = algs[alg].di_len;
    return algs[alg].di;
}

void p11_hash_init(p11_hash *h, p11_hash_alg alg)
{
    memset(h, 0, sizeof(*h));
    h->alg = alg;
    switch (alg) {
    case P11_SHA1:
        SHA1_Init(&h->u.sha1);
        break;
    case P11_SHA224:
        SHA224_Init(&h->u.sha256);
        break;
    case P11_SHA256:
        SHA256_Init(&h->u.sha256);
        break;
    case P11_SHA384:
        SHA384_Init(&h->u.sha512);
        break;
    default:
        SHA512_Init(&h->u.sha512);
        break;
    }
}

void p11_hash_update(p11_hash *h, const void *data, size_t len)
{
    if (len == 0)
        return;
    switch (h->alg) {
    case P11_SHA1:
        SHA1_Update(&h->u.sha1, data, len);
        break;
    case P11_SHA224:
        SHA224_Update(&h->u.sha256, data, len);
        break;
    case P11_SHA256:
        SHA256_Update(&h->u.sha256, data, len);
        break;
    case P11_SHA384:
        SHA384_Update(&h->u.sha512, data, len);
        break;
    default:
        SHA512_Update(&h->u.sha512, data, len);
        break;
    }
}

void p11_hash_final(p11_hash *h, uint8_t *out)
{
    switch (h->alg) {
    case P11_SHA1:
        SHA1_Final(out, &h->u.sha1);
        break;
    case P11_SHA224:
        SHA224_Final(out, &h->u.sha256);
        break;
    case P11_SHA256:
        SHA256_Final(out, &h->u.sha256);
        break;
    case P11_SHA384:
        SHA384_Final(out, &h->u.sha512);
        break;
    default:
        SHA512_Final(out, &h->u.sha512);
        break;
    }
    p11_hash_wipe(h);
}

void p11_hash_wipe(p11_hash *h)
{
    vt_wipe(&h->u, sizeof(h->u));
}

void p11_hash_oneshot(p11_hash_alg alg, const void *data, size_t len, uint8_t *out)
{
    p11_hash h;
    p11_hash_init(&h, alg);
    p11_hash_update(&h, data, len);
    p11_hash_final(&h, out);
}

/* ---- state ------------------------------------------------------------------ */

static size_t ctx_size(p11_hash_alg alg)
{
    switch (alg) {
    case P11_SHA1:
        return sizeof(SHA_CTX);
    case P11_SHA224:
    case P11_SHA256:
        return sizeof(SHA256_CTX);
    default:
        return sizeof(SHA512_CTX);
    }
}

size_t p11_hash_state_len(p11_hash_alg alg)
{
    return 1 + ctx_size(alg);
}

void p11_hash_export(const p11_hash *h, uint8_t *out)
{
    out[0] = (uint8_t)h->alg;
    memcpy(out + 1, &h->u, ctx_size(h->alg));
}

bool p11_hash_import(p11_hash *h, const uint8_t *in, size_t len)
{
    if (len < 1 || in[0] >= P11_HASH_COUNT)
        return false;
    p11_hash_alg alg = (p11_hash_alg)in[0];
    if (len != p11_hash_state_len(alg))
        return false;
    memset(h, 0, sizeof(*h));
    h->alg = alg;
    memcpy(&h->u, in + 1, ctx_size(alg));
    /* The buffered-byte counter indexes the block buffer: never trust it blindly. */
    bool ok;
    switch (alg) {
    case P11_SHA1:
        ok = h->u.sha1.num < SHA_CBLOCK;
        break;
    case P11_SHA224:
        ok = h->u.sha256.num < SHA256_CBLOCK && h->u.sha256.md_len == SHA224_DIGEST_LENGTH;
        break;
    case P11_SHA256:
        ok = h->u.sha256.num < SHA256_CBLOCK && h->u.sha256.md_len == SHA256_DIGEST_LENGTH;
        break;
    case P11_SHA384:
        ok = h->u.sha512.num < SHA512_CBLOCK && h->u.sha512.md_len == SHA384_DIGEST_LENGTH;
        break;
    default:
        ok = h->u.sha512.num < SHA512_CBLOCK && h->u.sha512.md_len == SHA512_DIGEST_LENGTH;
        break;
    }
    if (!ok)
        p11_hash_wipe(h);
    return ok;
}
