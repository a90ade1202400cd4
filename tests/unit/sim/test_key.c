/* Keys: on-card generation (1024 and 2048, chained PSO), signatures and deciphering
 * checked with the public key, host-written key bodies (00 24 01 00), every error of
 * GENERATE / MSE / PSO, two connections signing at the same time, and a property test:
 * no sequence of commands ever answers a byte run of the private key. */
#include <errno.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "sim_test.h"

/* PKCS#1 v1.5 block of SHA-256(msg), as OpenSC pads for a card with RSA_RAW only */
static void pkcs1_block(const char *msg, uint8_t *out, size_t k)
{
    static const uint8_t prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                     0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    size_t t = sizeof(prefix) + 32;
    out[0] = 0x00;
    out[1] = 0x01;
    memset(out + 2, 0xFF, k - t - 3);
    out[k - t - 1] = 0x00;
    memcpy(out + k - t, prefix, sizeof(prefix));
    SHA256((const unsigned char *)msg, strlen(msg), out + k - 32);
}

static void sign_and_check(sim_conn *c, uint8_t ref, const vt_buf *mod)
{
    uint8_t block[256], back[256];
    vt_buf sig = {0};
    size_t k = mod->len;
    pkcs1_block("vtoken", block, k);
    ck_assert_uint_eq(kz_private_op(c, ref, true, block, k, &sig), 0x9000);
    ck_assert_uint_eq(sig.len, k);
    rsa_public_op(mod->data, k, sig.data, sig.len, back);
    ck_assert_mem_eq(back, block, k);
    vt_buf_free(&sig);
}

static void decipher_and_check(sim_conn *c, uint8_t ref, const vt_buf *mod)
{
    uint8_t m[256], ct[256];
    vt_buf out = {0};
    size_t k = mod->len;
    ck_assert_int_eq(RAND_bytes(m, (int)k), 1);
    m[0] = 0x00;
    m[1] = 0x02;
    rsa_public_op(mod->data, k, m, k, ct);
    ck_assert_uint_eq(kz_private_op(c, ref, false, ct, k, &out), 0x9000);
    ck_assert_uint_eq(out.len, k);
    ck_assert_mem_eq(out.data, m, k);
    vt_buf_free(&out);
}

START_TEST(test_generate_1024)
{
    tcard t;
    vt_buf mod = {0};
    sim_card_info info;
    tc_setup(&t, "kaztoken");
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(kz_create_key_files(t.conn, 1, 1024, 2), 0x9000);
    ck_assert_uint_eq(kz_generate_key(t.conn, 1, &mod), 0x9000);
    ck_assert_uint_eq(mod.len, 128);
    ck_assert_uint_ge(mod.data[0], 0x80);
    sign_and_check(t.conn, 1, &mod);
    decipher_and_check(t.conn, 1, &mod);
    ck_assert_int_eq(sim_card_get_info(t.card, &info), SIM_OK);
    ck_assert_uint_eq(info.nkeys, 1);
    vt_buf_free(&mod);
    tc_teardown(&t);
}
END_TEST

START_TEST(test_generate_2048)
{
    tcard t;
    vt_buf mod = {0}, r = {0};
    tc_setup(&t, "kaztoken");
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(kz_create_key_files(t.conn, 5, 2048, 2), 0x9000);
    ck_assert_uint_eq(kz_generate_key(t.conn, 5, &mod), 0x9000);
    ck_assert_uint_eq(mod.len, 256);
    sign_and_check(t.conn, 5, &mod); /* 256 bytes: two chained parts */
    decipher_and_check(t.conn, 5, &mod);
    /* a short Le: the signature comes in pieces through GET RESPONSE */
    {
        uint8_t in[256] = {0};
        in[255] = 0x01;
        ck_assert_uint_eq(txc(t.conn, 0, 0x2A, 0x9E, 0x9A, in, 256, 0x80, &r), 0x6180);
        ck_assert_uint_eq(r.len, 0x80);
        ck_assert_uint_eq(tx(t.conn, "00C0000000", &r), 0x9000);
        ck_assert_uint_eq(r.len, 256);
    }
    /* a second key of another size beside it */
    ck_assert_uint_eq(kz_create_key_files(t.conn, 6, 1024, 2), 0x9000);
    vt_buf_clear(&mod);
    ck_assert_uint_eq(kz_generate_key(t.conn, 6, &mod), 0x9000);
    ck_assert_uint_eq(mod.len, 128);
    sign_and_check(t.conn, 6, &mod);
    vt_buf_free(&mod);
    vt_buf_free(&r);
    tc_teardown(&t);
}
END_TEST

START_TEST(test_key_errors)
{
    tcard t;
    uint8_t block[128];
    vt_buf mod = {0};
    tc_setup(&t, "kaztoken");
    /* key objects are created under PIN 2 (the key DFs' condition) */
    ck_assert_uint_eq(kz_create_key_files(t.conn, 1, 1024, 2), 0x6982);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(kz_create_key_files(t.conn, 1, 512, 2), 0x6A80);
    ck_assert_uint_eq(txd(t.conn, "00E00000",
                          "6225 8002 00A8 82021000 83020007 8506 030000AA0000 "
                          "860F 460002020000000200000000000000",
                          -1, NULL),
                      0x6A81); /* GOST */
    ck_assert_uint_eq(txd(t.conn, "00E00000",
                          "6225 8002 0148 82021000 83020107 8506 230000AA0000 "
                          "860F 460002020000000200000000000000",
                          -1, NULL),
                      0x6A80); /* FID */
    ck_assert_uint_eq(kz_create_key_files(t.conn, 1, 1024, 2), 0x9000);

    /* PSO before the key exists, before MSE */
    ck_assert_uint_eq(tx(t.conn, "002A9E9A0100", NULL), 0x6985);
    ck_assert_uint_eq(tx(t.conn, "0022 41B6 03 840101", NULL), 0x9000);
    memset(block, 0x11, sizeof(block));
    ck_assert_uint_eq(txc(t.conn, 0, 0x2A, 0x9E, 0x9A, block, 128, 256, NULL), 0x6985);

    /* GENERATE */
    ck_assert_uint_eq(tx(t.conn, "0046810100", NULL), 0x6A86);
    ck_assert_uint_eq(tx(t.conn, "0046800000", NULL), 0x6A86);
    ck_assert_uint_eq(tx(t.conn, "0046800101FF00", NULL), 0x6700);
    ck_assert_uint_eq(tx(t.conn, "0046800900", NULL), 0x6A82);
    ck_assert_uint_eq(tx(t.conn, "80400000", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "0046800100", NULL), 0x6982);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(kz_generate_key(t.conn, 1, &mod), 0x9000);

    /* MSE */
    ck_assert_uint_eq(tx(t.conn, "0022 81B6 03 840101", NULL), 0x6A86);
    ck_assert_uint_eq(tx(t.conn, "0022 41A4 03 840101", NULL), 0x6A86);
    ck_assert_uint_eq(tx(t.conn, "002241B6", NULL), 0x6700);
    ck_assert_uint_eq(tx(t.conn, "0022 41B6 03 800102", NULL), 0x6A80);
    ck_assert_uint_eq(tx(t.conn, "0022 41B6 06 8104 3F001000", NULL), 0x6A80);
    ck_assert_uint_eq(tx(t.conn, "0022 41B6 04 84020001", NULL), 0x6A80);
    ck_assert_uint_eq(tx(t.conn, "0022 41B6 03 840100", NULL), 0x6A80);
    ck_assert_uint_eq(tx(t.conn, "0022 41B6 03 840109", NULL), 0x6A88);
    ck_assert_uint_eq(tx(t.conn, "0022 41B6 06 800102 840101", NULL), 0x9000);

    /* PSO */
    ck_assert_uint_eq(tx(t.conn, "002A9E9B0100", NULL), 0x6A86);
    ck_assert_uint_eq(tx(t.conn, "002A9E9A0100", NULL), 0x6700);
    ck_assert_uint_eq(tx(t.conn, "002A80860100", NULL), 0x6985); /* no decipher env */
    memset(block, 0xFF, sizeof(block));                          /* above the modulus */
    ck_assert_uint_eq(txc(t.conn, 0, 0x2A, 0x9E, 0x9A, block, 128, 256, NULL), 0x6A80);
    ck_assert_uint_eq(tx(t.conn, "80400000", NULL), 0x9000);
    memset(block, 0x01, sizeof(block));
    ck_assert_uint_eq(txc(t.conn, 0, 0x2A, 0x9E, 0x9A, block, 128, 256, NULL), 0x6982);
    /* the environment survives a logout, not a reset */
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(txc(t.conn, 0, 0x2A, 0x9E, 0x9A, block, 128, 256, NULL), 0x9000);
    {
        uint8_t atr[33];
        size_t alen = sizeof(atr);
        ck_assert_int_eq(sim_conn_reset(t.conn, atr, &alen), SIM_OK);
    }
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(txc(t.conn, 0, 0x2A, 0x9E, 0x9A, block, 128, 256, NULL), 0x6985);
    vt_buf_free(&mod);
    tc_teardown(&t);
}
END_TEST

static void bn_le(EVP_PKEY *pkey, const char *name, uint8_t *out, size_t len)
{
    BIGNUM *bn = NULL;
    ck_assert_int_eq(EVP_PKEY_get_bn_param(pkey, name, &bn), 1);
    ck_assert_int_eq(BN_bn2lebinpad(bn, out, (int)len), (int)len);
    BN_free(bn);
}

/* What rtecp_store_key writes: the private half, then the public half. */
START_TEST(test_store_key)
{
    tcard t;
    EVP_PKEY *pkey = EVP_RSA_gen(1024);
    uint8_t priv[5 * 64 + 8] = {0}, pub[3 * 64] = {0}, n[128];
    vt_buf body = {0}, mod = {0};
    const size_t L = 64;

    ck_assert_ptr_nonnull(pkey);
    bn_le(pkey, OSSL_PKEY_PARAM_RSA_FACTOR1, priv, L);
    bn_le(pkey, OSSL_PKEY_PARAM_RSA_FACTOR2, priv + L + 4, L);
    bn_le(pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, priv + 2 * L + 8, L);
    bn_le(pkey, OSSL_PKEY_PARAM_RSA_EXPONENT1, priv + 3 * L + 8, L);
    bn_le(pkey, OSSL_PKEY_PARAM_RSA_EXPONENT2, priv + 4 * L + 8, L);
    bn_le(pkey, OSSL_PKEY_PARAM_RSA_N, pub, 2 * L);
    bn_le(pkey, OSSL_PKEY_PARAM_RSA_E, pub + 2 * L, 3);
    for (size_t i = 0; i < 128; i++)
        n[i] = pub[127 - i];
    ck_assert(vt_buf_append(&mod, n, sizeof(n)));

    tc_setup(&t, "kaztoken");
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(kz_create_key_files(t.conn, 2, 1024, 2), 0x9000);
    /* no current EF, then an EF that is no key */
    ck_assert_uint_eq(tx(t.conn, "00A4000C023F00", NULL), 0x9000);
    kz_crd_body(priv, sizeof(priv), &body);
    ck_assert_uint_eq(txc(t.conn, 0, 0x24, 0x01, 0x00, body.data, body.len, -1, NULL), 0x6986);
    ck_assert_uint_eq(kz_select_path(t.conn, "10001000 6002 0002"), 0x9000);
    /* a wrong length, an inconsistent key */
    vt_buf_clear(&body);
    kz_crd_body(priv, sizeof(priv) - 1, &body);
    ck_assert_uint_eq(txc(t.conn, 0, 0x24, 0x01, 0x00, body.data, body.len, -1, NULL), 0x6700);
    priv[3 * L + 8] ^= 0x02;
    vt_buf_clear(&body);
    kz_crd_body(priv, sizeof(priv), &body);
    ck_assert_uint_eq(txc(t.conn, 0, 0x24, 0x01, 0x00, body.data, body.len, -1, NULL), 0x6A80);
    priv[3 * L + 8] ^= 0x02;
    vt_buf_clear(&body);
    kz_crd_body(priv, sizeof(priv), &body);
    ck_assert_uint_eq(txc(t.conn, 0, 0x24, 0x01, 0x00, body.data, body.len, -1, NULL), 0x9000);
    ck_assert_uint_eq(kz_select_path(t.conn, "10001000 6001 0002"), 0x9000);
    vt_buf_clear(&body);
    kz_crd_body(pub, sizeof(pub), &body);
    ck_assert_uint_eq(txc(t.conn, 0, 0x24, 0x01, 0x00, body.data, body.len, -1, NULL), 0x9000);
    sign_and_check(t.conn, 2, &mod);
    decipher_and_check(t.conn, 2, &mod);
    /* a key body needs the key's update condition */
    ck_assert_uint_eq(tx(t.conn, "80400000", NULL), 0x9000);
    ck_assert_uint_eq(txc(t.conn, 0, 0x24, 0x01, 0x00, body.data, body.len, -1, NULL), 0x6982);
    vt_wipe(priv, sizeof(priv));
    vt_buf_free(&body);
    vt_buf_free(&mod);
    EVP_PKEY_free(pkey);
    tc_teardown(&t);
}
END_TEST

/* ---- two connections sign at once ------------------------------------------------- */

typedef struct meet {
    pthread_mutex_t m;
    pthread_cond_t cv;
    int inside;
    bool timed_out;
} meet;

/* Both signatures must be computing at the same moment: the card lock is not held. The
 * deadline only keeps a broken engine from hanging the test; it asserts no speed. */
static void both_inside(void *arg)
{
    meet *mt = arg;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 20;
    pthread_mutex_lock(&mt->m);
    mt->inside++;
    pthread_cond_broadcast(&mt->cv);
    while (mt->inside < 2 && !mt->timed_out)
        if (pthread_cond_timedwait(&mt->cv, &mt->m, &dl) == ETIMEDOUT)
            mt->timed_out = true;
    pthread_mutex_unlock(&mt->m);
}

typedef struct signer {
    sim_conn *conn;
    uint8_t block[128];
    vt_buf sig;
    uint16_t sw;
} signer;

static void *sign_thread(void *arg)
{
    signer *s = arg;
    s->sw = kz_private_op(s->conn, 1, true, s->block, sizeof(s->block), &s->sig);
    return NULL;
}

START_TEST(test_parallel_sign)
{
    tcard t;
    vt_buf mod = {0};
    meet mt = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false};
    signer s[2];
    pthread_t th[2];
    uint8_t back[128];

    tc_setup(&t, "kaztoken");
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(kz_create_key_files(t.conn, 1, 1024, 2), 0x9000);
    ck_assert_uint_eq(kz_generate_key(t.conn, 1, &mod), 0x9000);
    memset(s, 0, sizeof(s));
    for (int i = 0; i < 2; i++) {
        s[i].conn = tc_conn(&t);
        ck_assert_uint_eq(kz_verify_pin(s[i].conn, 2, "12345678"), 0x9000);
        pkcs1_block(i == 0 ? "first" : "second", s[i].block, 128);
    }
    sim_card_set_compute_hook(t.card, both_inside, &mt);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, sign_thread, &s[i]), 0);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    sim_card_set_compute_hook(t.card, NULL, NULL);
    ck_assert(!mt.timed_out);
    for (int i = 0; i < 2; i++) {
        ck_assert_uint_eq(s[i].sw, 0x9000);
        rsa_public_op(mod.data, 128, s[i].sig.data, s[i].sig.len, back);
        ck_assert_mem_eq(back, s[i].block, 128);
        vt_buf_free(&s[i].sig);
        sim_conn_close(s[i].conn);
    }
    vt_buf_free(&mod);
    tc_teardown(&t);
}
END_TEST

/* ---- property: the private key never leaves --------------------------------------- */

typedef struct secrets {
    uint8_t parts[2][6][2][256]; /* key, parameter, big/little-endian */
    size_t len[2][6];
    size_t nkeys;
} secrets;

static void collect(const tcard *t, secrets *sec)
{
    static const char *names[6] = {OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
                                   OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
                                   OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    ks_image img;
    memset(sec, 0, sizeof(*sec));
    tc_load(t, &img);
    for (size_t i = 0; i < img.nnodes && sec->nkeys < 2; i++) {
        const ks_node *n = &img.nodes[i];
        const unsigned char *p = n->body;
        EVP_PKEY *pkey;
        if (n->type != SIM_NODE_PRIVKEY || n->body_len == 0)
            continue;
        ck_assert(n->secret);
        pkey = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long)n->body_len);
        ck_assert_ptr_nonnull(pkey);
        for (int j = 0; j < 6; j++) {
            BIGNUM *bn = NULL;
            ck_assert_int_eq(EVP_PKEY_get_bn_param(pkey, names[j], &bn), 1);
            size_t len = (size_t)BN_num_bytes(bn);
            BN_bn2bin(bn, sec->parts[sec->nkeys][j][0]);
            BN_bn2lebinpad(bn, sec->parts[sec->nkeys][j][1], (int)len);
            sec->len[sec->nkeys][j] = len;
            BN_free(bn);
        }
        EVP_PKEY_free(pkey);
        sec->nkeys++;
    }
    ks_image_free(&img);
}

/* Any leak of 24 or more consecutive bytes holds one of these 16-byte windows. */
static bool leaks(const secrets *sec, const uint8_t *buf, size_t len)
{
    for (size_t k = 0; k < sec->nkeys; k++)
        for (int j = 0; j < 6; j++)
            for (int o = 0; o < 2; o++)
                for (size_t w = 0; w + 16 <= sec->len[k][j]; w += 8)
                    if (mem_contains(buf, len, sec->parts[k][j][o] + w, 16))
                        return true;
    return false;
}

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static uint16_t random_command(sim_conn *c, uint32_t *seed, vt_buf *resp)
{
    static const char *paths[] = {"3F00",
                                  "1000",
                                  "10001000",
                                  "100010006002",
                                  "100010006001",
                                  "1000100060020001",
                                  "1000100060010001",
                                  "1000100060020002",
                                  "1000100060010002",
                                  "5000",
                                  "10001000600200FF"};
    static const uint8_t ins[] = {0xA4, 0xB0, 0xC0, 0x20, 0x22, 0x2A, 0x24, 0x2C, 0xCA,
                                  0x84, 0x46, 0xE0, 0xE4, 0xD6, 0x40, 0x8A, 0x84};
    uint8_t d[600];
    size_t n;
    uint32_t r = rnd(seed) % 16;

    switch (r) {
    case 0:
    case 1: {
        uint8_t p[16];
        long pl = vt_hex_decode(paths[rnd(seed) % VT_ARRAY_LEN(paths)], p, sizeof(p));
        static const uint8_t p2s[] = {0x00, 0x04, 0x0C, 0x02};
        if (p[0] == 0x3F)
            return txc(c, 0, 0xA4, 0x00, p2s[rnd(seed) % 3], p, 2, 256, resp);
        return txc(c, 0, 0xA4, 0x08, p2s[rnd(seed) % 4], p, (size_t)pl, 256, resp);
    }
    case 2:
        return txc(c, 0, 0xB0, (uint8_t)(rnd(seed) % 2), (uint8_t)rnd(seed), NULL, 0,
                   1 + rnd(seed) % 256, resp);
    case 3:
        return txc(c, 0, 0xC0, 0, 0, NULL, 0, 1 + rnd(seed) % 256, resp);
    case 4:
        if (rnd(seed) % 8 == 0)
            return kz_verify_pin(c, 2, "00000000");
        return rnd(seed) % 4 == 0 ? kz_verify_pin(c, 1, "87654321")
                                  : kz_verify_pin(c, 2, "12345678");
    case 5: {
        uint8_t mse[] = {0x84, 0x01, (uint8_t)(1 + rnd(seed) % 3)};
        return txc(c, 0, 0x22, 0x41, rnd(seed) % 2 ? 0xB6 : 0xB8, mse, 3, -1, resp);
    }
    case 6:
    case 7:
        n = rnd(seed) % 3 == 0 ? rnd(seed) % sizeof(d) : 128;
        RAND_bytes(d, (int)sizeof(d));
        d[0] &= 0x7F;
        return txc(c, 0, 0x2A, rnd(seed) % 2 ? 0x9E : 0x80, rnd(seed) % 2 ? 0x9A : 0x86, d, n, 256,
                   resp);
    case 8:
        n = rnd(seed) % sizeof(d);
        RAND_bytes(d, (int)sizeof(d));
        if (n >= 4 && rnd(seed) % 2) {
            d[0] = 0x80, d[1] = 0x02, d[2] = (uint8_t)((n - 6) >> 8), d[3] = (uint8_t)(n - 6);
        }
        return txc(c, 0, 0x24, 0x01, rnd(seed) % 2 ? 0x00 : 0x02, d, n, -1, resp);
    case 9:
        return txc(c, 0, 0xCA, 0x01, 0x81, NULL, 0, 256, resp);
    case 10:
        return txc(c, 0, 0x84, 0, 0, NULL, 0, 1 + rnd(seed) % 256, resp);
    case 11:
        return tx(c, "80400000", resp);
    case 12: {
        uint8_t atr[33];
        size_t alen = sizeof(atr);
        ck_assert_int_eq(sim_conn_reset(c, atr, &alen), SIM_OK);
        return 0x9000;
    }
    default: {
        /* any instruction with random parameters and data, sometimes chained */
        uint8_t cla = rnd(seed) % 2 ? 0x00 : 0x80;
        n = rnd(seed) % 300;
        RAND_bytes(d, (int)sizeof(d));
        uint8_t i = ins[rnd(seed) % VT_ARRAY_LEN(ins)];
        if (i == 0x8A || i == 0x46)
            i = 0xB0; /* keep the keys on the card: erasing or regenerating would retire them */
        return txc(c, cla, i, (uint8_t)rnd(seed), (uint8_t)rnd(seed), d, n,
                   rnd(seed) % 2 ? (long)(rnd(seed) % 257) : -1, resp);
    }
    }
}

START_TEST(test_private_key_never_answers)
{
    tcard t;
    secrets sec;
    vt_buf r = {0};
    uint32_t seed = 0x5EED1234u + (uint32_t)_i;

    tc_setup(&t, "kaztoken");
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(kz_create_key_files(t.conn, 1, 1024, 2), 0x9000);
    ck_assert_uint_eq(kz_create_key_files(t.conn, 2, 1024, 2), 0x9000);
    ck_assert_uint_eq(kz_generate_key(t.conn, 1, NULL), 0x9000);
    ck_assert_uint_eq(kz_generate_key(t.conn, 2, NULL), 0x9000);
    collect(&t, &sec);
    ck_assert_uint_eq(sec.nkeys, 2);
    /* the checker itself finds a leak */
    ck_assert(leaks(&sec, sec.parts[1][1][1] + 5, 30));
    ck_assert(!leaks(&sec, (const uint8_t *)"nothing secret in this string", 29));

    for (int i = 0; i < 1500; i++) {
        uint16_t sw;
        vt_buf_clear(&r);
        sw = random_command(t.conn, &seed, &r);
        ck_assert_msg(!leaks(&sec, r.data, r.len), "command %d (SW %04X) answered key bytes", i,
                      sw);
    }
    vt_buf_free(&r);
    tc_teardown(&t);
}
END_TEST

Suite *key_suite(void)
{
    Suite *s = suite_create("key");
    TCase *tc = tcase_create("key");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_generate_1024);
    tcase_add_test(tc, test_generate_2048);
    tcase_add_test(tc, test_key_errors);
    tcase_add_test(tc, test_store_key);
    tcase_add_test(tc, test_parallel_sign);
    tcase_add_loop_test(tc, test_private_key_never_answers, 0, 3);
    suite_add_tcase(s, tc);
    return s;
}
