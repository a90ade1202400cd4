/* RSA with OpenSSL 3: EVP keygen, DER RSAPrivateKey in and out, CRT import with a
 * consistency check, and the raw private operation (no padding: the host pads). */
#include "key.h"

#include <string.h>

#include "tlv.h"

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

/* A positive DER INTEGER's magnitude: no sign byte, no leading zeros. */
static bool der_uint(const apdu_tlv *t, const uint8_t **v, size_t *len)
{
    const uint8_t *p = t->value;
    size_t n = t->len;
    if (t->tag != 0x02 || n == 0 || (p[0] & 0x80))
        return false;
    while (n > 0 && *p == 0) {
        p++;
        n--;
    }
    *v = p;
    *len = n;
    return n > 0;
}

/* The public parts are read straight from the RSAPrivateKey structure (RFC 8017 A.1.2):
 * the dialects ask for them on every signature (the modulus length), and a full decode
 * through OpenSSL costs more than the signature's bookkeeping. The private parts are
 * only checked to be there; sim_key_rsa_load decodes them. */
sim_status sim_key_rsa_public(const uint8_t *der, size_t len, vt_buf *n, vt_buf *e)
{
    apdu_tlv seq, t;
    apdu_tlv_iter it;
    const uint8_t *nv = NULL, *ev = NULL;
    size_t consumed, nl = 0, el = 0, parts = 0;

    if (der == NULL || len == 0 || len > 4096 ||
        apdu_tlv_parse(der, len, &seq, &consumed) != APDU_OK || consumed != len || seq.tag != 0x30)
        return SIM_ERR_ARGS;
    apdu_tlv_iter_init(&it, seq.value, seq.len);
    it.der = true;
    for (apdu_status st; (st = apdu_tlv_next(&it, &t)) != APDU_ERR_TLV_END; parts++) {
        if (st != APDU_OK || t.tag != 0x02 || t.len == 0)
            return SIM_ERR_ARGS;
        if (parts == 0 && (t.len != 1 || t.value[0] > 1)) /* version 0 (or 1: multi-prime) */
            return SIM_ERR_ARGS;
        if ((parts == 1 && !der_uint(&t, &nv, &nl)) || (parts == 2 && !der_uint(&t, &ev, &el)))
            return SIM_ERR_ARGS;
    }
    /* version, n, e, d, p, q, dp, dq, qinv (and other prime infos after a version 1) */
    if (parts < 9)
        return SIM_ERR_ARGS;
    vt_buf_clear(n);
    vt_buf_clear(e);
    if (!vt_buf_append(n, nv, nl) || !vt_buf_append(e, ev, el))
        return SIM_ERR_NOMEM;
    return SIM_OK;
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

sim_status sim_key_rsa_load(const uint8_t *der, size_t len, sim_rsa_key *out)
{
    BIGNUM *n = NULL;
    sim_status rv = SIM_ERR_ARGS;
    int klen;

    memset(out, 0, sizeof(*out));
    out->pkey = decode(der, len);
    if (out->pkey == NULL)
        goto out;
    klen = EVP_PKEY_get_size(out->pkey);
    if (klen <= 0 || (size_t)klen > sizeof(out->n))
        goto out;
    rv = SIM_ERR_NOMEM;
    if (EVP_PKEY_get_bn_param(out->pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
        BN_bn2binpad(n, out->n, klen) != klen)
        goto out;
    out->nlen = (size_t)klen;
    rv = SIM_OK;
out:
    BN_free(n);
    if (rv != SIM_OK)
        sim_key_rsa_unload(out);
    return rv;
}

void sim_key_rsa_unload(sim_rsa_key *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->pkey); /* frees the private parts with BN_clear_free */
    memset(k, 0, sizeof(*k));
}

sim_status sim_key_rsa_private_loaded(const sim_rsa_key *k, const uint8_t *in, size_t inlen,
                                      uint8_t *out, size_t *outlen)
{
    EVP_PKEY_CTX *ctx = NULL;
    sim_status rv = SIM_ERR_ARGS;
    size_t olen;

    if (k == NULL || k->pkey == NULL || inlen != k->nlen || *outlen < k->nlen)
        goto out;
    /* in < n, compared as big-endian numbers of the same length */
    if (memcmp(in, k->n, inlen) >= 0)
        goto out;
    rv = SIM_ERR_NOMEM;
    ctx = EVP_PKEY_CTX_new(k->pkey, NULL);
    olen = *outlen;
    if (ctx == NULL || EVP_PKEY_decrypt_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) != 1 ||
        EVP_PKEY_decrypt(ctx, out, &olen, in, inlen) != 1)
        goto out;
    /* No padding: the result is always the full modulus length. */
    if (olen != k->nlen)
        goto out;
    *outlen = olen;
    rv = SIM_OK;
out:
    EVP_PKEY_CTX_free(ctx);
    return rv;
}

sim_status sim_key_rsa_private(const uint8_t *der, size_t derlen, const uint8_t *in, size_t inlen,
                               uint8_t *out, size_t *outlen)
{
    sim_rsa_key k;
    sim_status rv = sim_key_rsa_load(der, derlen, &k);
    if (rv == SIM_ERR_NOMEM)
        return rv;
    if (rv == SIM_OK)
        rv = sim_key_rsa_private_loaded(&k, in, inlen, out, outlen);
    sim_key_rsa_unload(&k);
    return rv;
}
