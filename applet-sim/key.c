/* RSA with OpenSSL 3: EVP keygen, DER RSAPrivateKey in and out, CRT import with a
 * consistency check, and the raw private operation (no padding: the host pads). */
#include "key.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

static EVP_PKEY *decode(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    if (der == NULL || len == 0 || len > 4096)
        return NULL;
    return d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long)len);
}

static sim_status encode(EVP_PKEY *pkey, vt_buf *der)
{
    unsigned char *buf = NULL;
    int len = i2d_PrivateKey(pkey, &buf);
    sim_status rv = SIM_ERR_NOMEM;
    if (len <= 0)
        return SIM_ERR_NOMEM;
    vt_buf_clear(der);
    if (vt_buf_append(der, buf, (size_t)len))
        rv = SIM_OK;
    OPENSSL_clear_free(buf, (size_t)len);
    return rv;
}

sim_status sim_key_rsa_generate(unsigned bits, vt_buf *der)
{
    EVP_PKEY_CTX *kctx = NULL;
    EVP_PKEY *pkey = NULL;
    sim_status rv = SIM_ERR_ARGS;

    if (bits != 1024 && bits != 2048)
        goto out;
    rv = SIM_ERR_NOMEM;
    kctx = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, NULL);
    if (kctx == NULL || EVP_PKEY_keygen_init(kctx) != 1 ||
        EVP_PKEY_CTX_set_rsa_keygen_bits(kctx, (int)bits) != 1 || EVP_PKEY_keygen(kctx, &pkey) != 1)
        goto out;
    rv = encode(pkey, der);
out:
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(kctx);
    return rv;
}

static bool put_bn(EVP_PKEY *pkey, const char *name, vt_buf *out)
{
    BIGNUM *bn = NULL;
    bool ok = false;
    int n;
    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
        return false;
    n = BN_num_bytes(bn);
    vt_buf_clear(out);
    if (vt_buf_reserve(out, (size_t)n) && BN_bn2bin(bn, out->data) == n) {
        out->len = (size_t)n;
        ok = true;
    }
    BN_free(bn);
    return ok;
}

sim_status sim_key_rsa_public(const uint8_t *der, size_t len, vt_buf *n, vt_buf *e)
{
    EVP_PKEY *pkey = decode(der, len);
    sim_status rv = SIM_ERR_ARGS;
    if (pkey == NULL)
        return SIM_ERR_ARGS;
    if (put_bn(pkey, OSSL_PKEY_PARAM_RSA_N, n) && put_bn(pkey, OSSL_PKEY_PARAM_RSA_E, e))
        rv = SIM_OK;
    EVP_PKEY_free(pkey);
    return rv;
}

sim_status sim_key_rsa_from_crt(const uint8_t *p, const uint8_t *q, const uint8_t *dmp1,
                                const uint8_t *dmq1, const uint8_t *iqmp, size_t half,
                                const uint8_t *e, size_t elen, vt_buf *der)
{
    BN_CTX *bctx = BN_CTX_secure_new();
    BIGNUM *bp = BN_secure_new(), *bq = BN_secure_new(), *bdp = BN_secure_new();
    BIGNUM *bdq = BN_secure_new(), *bqi = BN_secure_new(), *be = BN_new(), *bn = BN_new();
    BIGNUM *bd = BN_secure_new(), *p1 = BN_secure_new(), *q1 = BN_secure_new();
    BIGNUM *lcm = BN_secure_new(), *g = BN_secure_new(), *t = BN_secure_new();
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *kctx = NULL;
    EVP_PKEY *pkey = NULL;
    sim_status rv = SIM_ERR_NOMEM;

    if (bctx == NULL || !bp || !bq || !bdp || !bdq || !bqi || !be || !bn || !bd || !p1 || !q1 ||
        !lcm || !g || !t)
        goto out;
    if (!BN_bin2bn(p, (int)half, bp) || !BN_bin2bn(q, (int)half, bq) ||
        !BN_bin2bn(dmp1, (int)half, bdp) || !BN_bin2bn(dmq1, (int)half, bdq) ||
        !BN_bin2bn(iqmp, (int)half, bqi) || !BN_bin2bn(e, (int)elen, be))
        goto out;
    rv = SIM_ERR_ARGS;
    if (BN_is_zero(bp) || BN_is_zero(bq) || BN_is_zero(be) || !BN_is_odd(be) || BN_cmp(bp, bq) == 0)
        goto out;
    rv = SIM_ERR_NOMEM;
    /* n = pq; d = e^-1 mod lcm(p-1, q-1) */
    if (!BN_mul(bn, bp, bq, bctx) || !BN_sub(p1, bp, BN_value_one()) ||
        !BN_sub(q1, bq, BN_value_one()) || !BN_gcd(g, p1, q1, bctx) || !BN_mul(t, p1, q1, bctx) ||
        !BN_div(lcm, NULL, t, g, bctx))
        goto out;
    rv = SIM_ERR_ARGS;
    if (BN_mod_inverse(bd, be, lcm, bctx) == NULL)
        goto out;
    /* The host's CRT parts must agree with d and each other. */
    if (!BN_mod(t, bd, p1, bctx) || BN_cmp(t, bdp) != 0 || !BN_mod(t, bd, q1, bctx) ||
        BN_cmp(t, bdq) != 0 || !BN_mod_mul(t, bqi, bq, bp, bctx) || !BN_is_one(t))
        goto out;
    rv = SIM_ERR_NOMEM;
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, bd) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, bp) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, bq) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, bdp) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, bdq) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, bqi))
        goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    kctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (params == NULL || kctx == NULL || EVP_PKEY_fromdata_init(kctx) != 1 ||
        EVP_PKEY_fromdata(kctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1)
        goto out;
    rv = encode(pkey, der);
out:
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(kctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(bp);
    BN_clear_free(bq);
    BN_clear_free(bdp);
    BN_clear_free(bdq);
    BN_clear_free(bqi);
    BN_free(be);
    BN_free(bn);
    BN_clear_free(bd);
    BN_clear_free(p1);
    BN_clear_free(q1);
    BN_clear_free(lcm);
    BN_clear_free(g);
    BN_clear_free(t);
    BN_CTX_free(bctx);
    return rv;
}

sim_status sim_key_rsa_private(const uint8_t *der, size_t derlen, const uint8_t *in, size_t inlen,
                               uint8_t *out, size_t *outlen)
{
    EVP_PKEY *pkey = decode(der, derlen);
    EVP_PKEY_CTX *ctx = NULL;
    BIGNUM *n = NULL, *x = NULL;
    sim_status rv = SIM_ERR_ARGS;
    size_t klen, olen;

    if (pkey == NULL)
        goto out;
    klen = (size_t)EVP_PKEY_get_size(pkey);
    if (inlen != klen || *outlen < klen)
        goto out;
    rv = SIM_ERR_NOMEM;
    x = BN_bin2bn(in, (int)inlen, NULL);
    if (x == NULL || EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1)
        goto out;
    rv = SIM_ERR_ARGS;
    if (BN_cmp(x, n) >= 0)
        goto out;
    rv = SIM_ERR_NOMEM;
    ctx = EVP_PKEY_CTX_new(pkey, NULL);
    olen = *outlen;
    if (ctx == NULL || EVP_PKEY_decrypt_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) != 1 ||
        EVP_PKEY_decrypt(ctx, out, &olen, in, inlen) != 1)
        goto out;
    /* No padding: the result is always the full modulus length. */
    if (olen != klen)
        goto out;
    *outlen = olen;
    rv = SIM_OK;
out:
    BN_clear_free(x);
    BN_free(n);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return rv;
}
