/* The eToken PRO (Java) card beyond its transcripts: the factory card and its memory
 * accounting, filling the token to capacity without losing what was written before,
 * generated keys checked with OpenSSL, PIN tries on disk before the compare, a blank
 * image formatted on open, and what two connections share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "fs.h"
#include "pin.h"
#include "sim_test.h"

#define USER_PIN_HEX "31323334353637383930" /* 1234567890 */
#define SO_PIN_HEX   "30393837363534333231" /* 0987654321 */
#define FREE_FACTORY ((size_t)47 * 1024)

/* Send and follow 61xx with GET RESPONSE: the whole response data into resp. */
static uint16_t txr(sim_conn *c, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
                    const uint8_t *data, size_t nc, long le, vt_buf *resp)
{
    uint16_t sw = txc(c, cla, ins, p1, p2, data, nc, le, resp);
    while ((sw & 0xFF00u) == 0x6100u) {
        uint8_t gr[5] = {0x00, 0xC0, 0x00, 0x00, (uint8_t)sw};
        sw = tx_raw(c, gr, sizeof(gr), resp);
    }
    return sw;
}

static uint16_t verify_user(sim_conn *c)
{
    return tx(c, "002000010A" USER_PIN_HEX, NULL);
}

static uint16_t select_path(sim_conn *c, uint16_t a, uint16_t b)
{
    uint8_t cmd[9] = {
        0x00, 0xA4, 0x08, 0x0C, 0x04, (uint8_t)(a >> 8), (uint8_t)a, (uint8_t)(b >> 8), (uint8_t)b};
    return tx_raw(c, cmd, b == 0 ? 7 : 9, NULL);
}

/* CREATE FILE for an EF of size bytes in the current DF. */
static uint16_t create_ef(sim_conn *c, uint16_t fid, size_t size)
{
    uint8_t cmd[] = {0x00,
                     0xE0,
                     0x00,
                     0x00,
                     0x0D,
                     0x62,
                     0x0B,
                     0x80,
                     0x02,
                     (uint8_t)(size >> 8),
                     (uint8_t)size,
                     0x82,
                     0x01,
                     0x01,
                     0x83,
                     0x02,
                     (uint8_t)(fid >> 8),
                     (uint8_t)fid};
    return tx_raw(c, cmd, sizeof(cmd), NULL);
}

/* The whole current EF through READ 80 18, 256 bytes at a time. */
static void read_ef(sim_conn *c, size_t size, vt_buf *out)
{
    for (size_t off = 0; off < size; off += 256) {
        uint8_t cmd[] = {0x80,         0x18, 0x00, 0x00, 0x04, 0x0E, 0x02, (uint8_t)(off >> 8),
                         (uint8_t)off, 0x00};
        ck_assert_uint_eq(tx_raw(c, cmd, sizeof(cmd), out), 0x9000);
    }
    ck_assert_uint_eq(out->len, size);
}

static void write_ef(sim_conn *c, const uint8_t *data, size_t size)
{
    for (size_t off = 0; off < size; off += 255) {
        size_t n = size - off > 255 ? 255 : size - off;
        ck_assert_uint_eq(
            txc(c, 0x00, 0xD6, (uint8_t)(off >> 8), (uint8_t)off, data + off, n, -1, NULL), 0x9000);
    }
}

/* GENERATE into kk (bits 1024 / 2048): the modulus into mod. */
static uint16_t generate(sim_conn *c, uint8_t kk, unsigned bits, vt_buf *mod)
{
    uint8_t crt[] = {0xB6, 0x06, 0x84, 0x01, kk, 0x80, 0x01, bits == 1024 ? 0x01 : 0x02};
    vt_buf r = {0};
    uint16_t sw = txr(c, 0x00, 0x47, 0x80, 0x00, crt, sizeof(crt), 256, &r);
    size_t bytes = bits / 8;
    if (sw == 0x9000) {
        /* 7F49 82 LL LL 81 82 LL LL <n> 82 03 01 00 01 */
        ck_assert_uint_eq(r.len, 9 + bytes + 5);
        ck_assert_mem_eq(r.data, "\x7F\x49\x82", 3);
        ck_assert_mem_eq(r.data + 9 + bytes, "\x82\x03\x01\x00\x01", 5);
        if (mod != NULL)
            ck_assert(vt_buf_append(mod, r.data + 9, bytes));
    }
    vt_buf_free(&r);
    return sw;
}

static size_t free_memory(sim_conn *c)
{
    vt_buf r = {0};
    size_t v;
    ck_assert_uint_eq(tx(c, "80CADF0100", &r), 0x9000);
    ck_assert_uint_eq(r.len, 11);
    v = (size_t)r.data[7] << 24 | (size_t)r.data[8] << 16 | (size_t)r.data[9] << 8 | r.data[10];
    vt_buf_free(&r);
    return v;
}

START_TEST(test_factory_card)
{
    tcard t;
    sim_card_info info;
    static const uint8_t atr[] = {0x3B, 0xD5, 0x18, 0x00, 0x81, 0x31, 0xFE,
                                  0x7D, 0x80, 0x73, 0xC8, 0x21, 0x10, 0xF4};
    uint8_t a[33];
    size_t alen = sizeof(a);
    vt_buf r = {0};

    tc_setup(&t, "etoken");
    ck_assert_int_eq(sim_conn_reset(t.conn, a, &alen), SIM_OK);
    ck_assert_uint_eq(alen, sizeof(atr));
    ck_assert_mem_eq(a, atr, sizeof(atr));
    ck_assert_str_eq(sim_profile_reader_name(sim_card_profile(t.card)), "SafeNet Token JC");
    ck_assert_int_eq(sim_card_get_info(t.card, &info), SIM_OK);
    ck_assert_str_eq(info.profile, "etoken");
    ck_assert_str_eq(info.label, "eToken");
    ck_assert_uint_eq(strlen(info.serial_hex), 8);
    ck_assert_int_eq(info.user_tries_left, 15);
    ck_assert_int_eq(info.user_tries_max, 15);
    ck_assert_int_eq(info.so_tries_left, 15);
    ck_assert_int_eq(info.so_tries_max, 15);
    ck_assert_uint_eq(info.capacity, 73728);
    ck_assert_uint_eq(info.capacity - info.used, FREE_FACTORY);
    ck_assert_uint_eq(info.nkeys, 0);
    ck_assert_uint_eq(free_memory(t.conn), FREE_FACTORY);
    /* the serial in the CPLC is the card's */
    ck_assert_uint_eq(tx(t.conn, "80CA9F7F00", &r), 0x9000);
    char hex[9];
    vt_hex_encode(r.data + 15, 4, hex);
    ck_assert_str_eq(hex, info.serial_hex);
    vt_buf_free(&r);
    /* default PINs, and the SO cannot pass for the user */
    ck_assert_uint_eq(tx(t.conn, "002000020A" SO_PIN_HEX, NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "002000010A" SO_PIN_HEX, NULL), 0x63CE);
    ck_assert_uint_eq(verify_user(t.conn), 0x9000);
    tc_teardown(&t);
}
END_TEST

/* Fill the card with EFs of distinct content and keys until it answers 6A84; everything
 * written before must still read back, here and after the card is opened again. */
START_TEST(test_fill_to_capacity)
{
    enum { MAX_FILES = 64, EF_SIZE = 4000 };
    tcard t;
    static uint8_t content[MAX_FILES][EF_SIZE];
    size_t nfiles = 0, nkeys = 0, before, after;
    vt_buf mods[2] = {{0}};
    sim_card_info info;

    tc_setup(&t, "etoken");
    ck_assert_uint_eq(verify_user(t.conn), 0x9000);
    ck_assert_uint_eq(select_path(t.conn, 0x6666, 0x5000), 0x9000);
    /* two keys first: they take memory too */
    for (uint8_t kk = 1; kk <= 2; kk++) {
        ck_assert_uint_eq(generate(t.conn, kk, 2048, &mods[nkeys]), 0x9000);
        nkeys++;
    }
    ck_assert_uint_eq(select_path(t.conn, 0x6666, 0x5000), 0x9000);
    for (;;) {
        uint16_t fid = (uint16_t)(0x0100 + nfiles);
        before = free_memory(t.conn);
        uint16_t sw = create_ef(t.conn, fid, EF_SIZE);
        if (sw == APDU_SW_NOT_ENOUGH_MEMORY)
            break;
        ck_assert_uint_eq(sw, 0x9000);
        ck_assert_uint_eq(free_memory(t.conn), before - EF_SIZE - SIM_NODE_OVERHEAD);
        ck_assert_int_eq(RAND_bytes(content[nfiles], EF_SIZE), 1);
        write_ef(t.conn, content[nfiles], EF_SIZE);
        ck_assert_uint_eq(select_path(t.conn, 0x6666, 0x5000), 0x9000);
        nfiles++;
        ck_assert_uint_lt(nfiles, MAX_FILES);
    }
    /* 47 KiB minus two keys (7 x 128 + 4 bytes each, ours), in 4000-byte files */
    ck_assert_uint_eq(nfiles, (FREE_FACTORY - (size_t)2 * (7 * 128 + 4 + SIM_NODE_OVERHEAD)) /
                                  (EF_SIZE + SIM_NODE_OVERHEAD));
    ck_assert_uint_lt(before, EF_SIZE + SIM_NODE_OVERHEAD);
    /* the refused write changed nothing */
    ck_assert_uint_eq(free_memory(t.conn), before);
    /* a smaller EF that fits still goes in, then the card is truly full */
    ck_assert_uint_eq(create_ef(t.conn, 0x01FF, before - SIM_NODE_OVERHEAD), 0x9000);
    ck_assert_uint_eq(free_memory(t.conn), 0);
    ck_assert_uint_eq(select_path(t.conn, 0x6666, 0x5000), 0x9000);
    ck_assert_uint_eq(create_ef(t.conn, 0x01FE, 1), APDU_SW_NOT_ENOUGH_MEMORY);
    ck_assert_uint_eq(generate(t.conn, 3, 1024, NULL), APDU_SW_NOT_ENOUGH_MEMORY);
    /* replacing a key by one of the same size needs no new memory */
    ck_assert_uint_eq(generate(t.conn, 2, 2048, NULL), 0x9000);
    vt_buf_clear(&mods[1]);
    /* a DF, too, costs its overhead */
    ck_assert_uint_eq(tx(t.conn, "00E0000009620782013883027100", NULL), APDU_SW_NOT_ENOUGH_MEMORY);

    for (int round = 0; round < 2; round++) {
        sim_conn *c = round == 0 ? t.conn : NULL;
        if (round == 1) {
            /* the card as another process opens it */
            sim_conn_close(t.conn);
            sim_card_close(t.card);
            t.conn = NULL;
            ck_assert_int_eq(sim_card_open(t.path, &t.card, NULL), SIM_OK);
            t.conn = tc_conn(&t);
            c = t.conn;
            ck_assert_uint_eq(verify_user(c), 0x9000);
        }
        ck_assert_uint_eq(free_memory(c), 0);
        for (size_t i = 0; i < nfiles; i++) {
            vt_buf r = {0};
            ck_assert_uint_eq(select_path(c, 0x6666, 0x5000), 0x9000);
            uint8_t sel[] = {0x00, 0xA4, 0x00, 0x0C, 0x02, 0x01, (uint8_t)i};
            ck_assert_uint_eq(tx_raw(c, sel, sizeof(sel), NULL), 0x9000);
            read_ef(c, EF_SIZE, &r);
            ck_assert_mem_eq(r.data, content[i], EF_SIZE);
            vt_buf_free(&r);
        }
        /* key 1 still signs with its modulus */
        uint8_t block[256], sig[256], check[256];
        vt_buf r = {0};
        memset(block, 0x5A, sizeof(block));
        block[0] = 0;
        ck_assert_uint_eq(tx(c, "0022 41B6 03 840101", NULL), 0x9000);
        ck_assert_uint_eq(txr(c, 0x00, 0x2A, 0x9E, 0x9A, block, 256, 256, &r), 0x9000);
        ck_assert_uint_eq(r.len, 256);
        memcpy(sig, r.data, 256);
        rsa_public_op(mods[0].data, 256, sig, 256, check);
        ck_assert_mem_eq(check, block, 256);
        vt_buf_free(&r);
    }
    ck_assert_int_eq(sim_card_get_info(t.card, &info), SIM_OK);
    ck_assert_uint_eq(info.used, info.capacity);
    ck_assert_uint_eq(info.nkeys, 2);

    /* deleting gives the memory back */
    ck_assert_uint_eq(select_path(t.conn, 0x6666, 0x5000), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00E40000020100", NULL), 0x9000);
    after = free_memory(t.conn);
    ck_assert_uint_eq(after, EF_SIZE + SIM_NODE_OVERHEAD);
    ck_assert_uint_eq(create_ef(t.conn, 0x0100, EF_SIZE), 0x9000);
    for (size_t k = 0; k < nkeys; k++)
        vt_buf_free(&mods[k]);
    tc_teardown(&t);
}
END_TEST

/* Keys made on the card sign and decipher as OpenSSL expects, for both sizes. */
START_TEST(test_generated_keys)
{
    static const unsigned sizes[] = {1024, 2048};
    tcard t;

    tc_setup(&t, "etoken");
    ck_assert_uint_eq(verify_user(t.conn), 0x9000);
    for (size_t s = 0; s < VT_ARRAY_LEN(sizes); s++) {
        size_t bytes = sizes[s] / 8;
        uint8_t kk = (uint8_t)(5 + s), m[256], c[256], sig[256];
        vt_buf mod = {0}, r = {0}, pub = {0};
        uint8_t mse_sign[] = {0x84, 0x01, kk}, crt[] = {0xB8, 0x03, 0x84, 0x01, kk};

        ck_assert_uint_eq(generate(t.conn, kk, sizes[s], &mod), 0x9000);
        ck_assert_uint_eq(mod.data[0] & 0x80, 0x80);
        /* reading the public key back (no PIN needed) gives the same modulus */
        ck_assert_uint_eq(tx(t.conn, "0020FF01", NULL), 0x9000);
        ck_assert_uint_eq(txr(t.conn, 0x00, 0x47, 0x81, 0x00, crt, sizeof(crt), 256, &pub), 0x9000);
        ck_assert_mem_eq(pub.data + 9, mod.data, bytes);
        ck_assert_uint_eq(verify_user(t.conn), 0x9000);

        ck_assert_int_eq(RAND_bytes(m, (int)bytes), 1);
        m[0] = 0x00;
        ck_assert_uint_eq(txc(t.conn, 0x00, 0x22, 0x41, 0xB6, mse_sign, 3, -1, NULL), 0x9000);
        ck_assert_uint_eq(txr(t.conn, 0x00, 0x2A, 0x9E, 0x9A, m, bytes, 256, &r), 0x9000);
        ck_assert_uint_eq(r.len, bytes);
        memcpy(sig, r.data, bytes);
        rsa_public_op(mod.data, bytes, sig, bytes, c);
        ck_assert_mem_eq(c, m, bytes);

        /* decipher: 00 || c^d = m */
        uint8_t in[257];
        rsa_public_op(mod.data, bytes, m, bytes, c);
        in[0] = 0x00;
        memcpy(in + 1, c, bytes);
        vt_buf_clear(&r);
        ck_assert_uint_eq(txc(t.conn, 0x00, 0x22, 0x41, 0xB8, mse_sign, 3, -1, NULL), 0x9000);
        ck_assert_uint_eq(txr(t.conn, 0x00, 0x2A, 0x80, 0x86, in, bytes + 1, 256, &r), 0x9000);
        ck_assert_uint_eq(r.len, bytes);
        ck_assert_mem_eq(r.data, m, bytes);
        vt_buf_free(&r);
        vt_buf_free(&mod);
        vt_buf_free(&pub);
    }
    tc_teardown(&t);
}
END_TEST

/* No response carries the private key: the image holds it, the card only uses it. */
START_TEST(test_key_never_leaves)
{
    static const char *const parts[] = {
        "d", "rsa-factor1", "rsa-factor2", "rsa-exponent1", "rsa-exponent2", "rsa-coefficient1"};
    tcard t;
    ks_image img;
    vt_buf mod = {0}, r = {0};
    uint8_t block[128] = {0};
    long idx = -1;

    tc_setup(&t, "etoken");
    ck_assert_uint_eq(verify_user(t.conn), 0x9000);
    ck_assert_uint_eq(generate(t.conn, 1, 1024, &mod), 0x9000);
    /* everything the card answers about the key */
    ck_assert_uint_eq(tx(t.conn, "00A40804 04 66661001 00", &r), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "80180000 04 0E020000 00", &r), 0x6981);
    ck_assert_uint_eq(tx(t.conn, "00D60000 01 00", &r), 0x6981);
    ck_assert_uint_eq(tx(t.conn, "00478100 05 B603840101 00", &r), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "002241B6 03 840101", &r), 0x9000);
    block[127] = 2;
    ck_assert_uint_eq(txc(t.conn, 0x00, 0x2A, 0x9E, 0x9A, block, 128, 256, &r), 0x9000);
    ck_assert_uint_gt(r.len, 128);

    tc_load(&t, &img);
    for (size_t i = 0; i < img.nnodes; i++)
        if (img.nodes[i].type == SIM_NODE_PRIVKEY)
            idx = (long)i;
    ck_assert_int_ge(idx, 0);
    ck_assert(img.nodes[idx].secret);
    const unsigned char *p = img.nodes[idx].body;
    EVP_PKEY *pk = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long)img.nodes[idx].body_len);
    ck_assert_ptr_nonnull(pk);
    for (size_t k = 0; k < VT_ARRAY_LEN(parts); k++) {
        BIGNUM *bn = NULL;
        uint8_t v[128];
        ck_assert_int_eq(EVP_PKEY_get_bn_param(pk, parts[k], &bn), 1);
        int n = BN_bn2bin(bn, v);
        ck_assert_int_ge(n, 32);
        for (int off = 0; off + 16 <= n; off += 4)
            ck_assert_msg(!mem_contains(r.data, r.len, v + off, 16), "%s leaked", parts[k]);
        BN_clear_free(bn);
    }
    EVP_PKEY_free(pk);
    ks_image_free(&img);
    vt_buf_free(&mod);
    vt_buf_free(&r);
    tc_teardown(&t);
}
END_TEST

/* A wrong try is on disk before the compare; a second connection has its own PIN state
 * but sees the same counter and files. */
START_TEST(test_pins_and_connections)
{
    tcard t;
    ks_image img;
    sim_conn *other;
    long idx;

    tc_setup(&t, "etoken");
    ck_assert_uint_eq(tx(t.conn, "0020000106303030303030", NULL), 0x63CE);
    tc_load(&t, &img);
    idx = sim_pin_find(&img, 0x01);
    ck_assert_int_ge(idx, 0);
    ck_assert_int_eq(img.nodes[idx].counter, 14);
    ks_image_free(&img);

    other = tc_conn(&t);
    ck_assert_uint_eq(tx(other, "00200001", NULL), 0x63CE);
    ck_assert_uint_eq(verify_user(t.conn), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00200001", NULL), 0x9000);
    ck_assert_uint_eq(tx(other, "00200001", NULL), 0x63CF); /* not verified there */
    /* a file made by one connection is there for the other */
    ck_assert_uint_eq(select_path(t.conn, 0x6666, 0x5000), 0x9000);
    ck_assert_uint_eq(create_ef(t.conn, 0x4401, 16), 0x9000);
    ck_assert_uint_eq(tx(other, "00A4080C06666650004401", NULL), 0x9000);
    /* ... and writing there needs its own PIN */
    ck_assert_uint_eq(tx(other, "00D6000001AA", NULL), 0x6982);
    /* changing the PIN through one connection ends the other's verified state */
    ck_assert_uint_eq(verify_user(other), 0x9000);
    ck_assert_uint_eq(tx(t.conn,
                         "0024010108"
                         "3131323233333434",
                         NULL),
                      0x9000);
    ck_assert_uint_eq(tx(t.conn, "00200001", NULL), 0x9000);
    ck_assert_uint_eq(tx(other, "00200001", NULL), 0x63CF);
    sim_conn_close(other);
    tc_teardown(&t);
}
END_TEST

/* An eToken image made before the dialect existed (blank: profile, serial and label
 * only) gets the factory card when it is opened. */
START_TEST(test_blank_image_formatted)
{
    char dir[] = "/tmp/vt-sim-test.XXXXXX", path[300];
    ks_image_file *f = NULL;
    ks_image img;
    sim_card *card = NULL;
    sim_conn *c;
    sim_card_info info;
    uint8_t atr[33];
    size_t alen = sizeof(atr);

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/etoken.img", dir);
    ks_image_init(&img);
    snprintf(img.profile, sizeof(img.profile), "etoken");
    snprintf(img.label, sizeof(img.label), "eToken");
    img.serial_len = 4;
    memcpy(img.serial, "\x01\x02\x03\x04", 4);
    img.lifecycle = SIM_LC_BLANK;
    ck_assert_int_eq(ks_image_file_open(path, &f), KS_OK);
    ck_assert_int_eq(ks_image_file_lock(f, true), KS_OK);
    ck_assert_int_eq(ks_image_file_save(f, &img, false), KS_OK);
    ks_image_file_unlock(f);
    ks_image_free(&img);

    ck_assert_int_eq(sim_card_open(path, &card, NULL), SIM_OK);
    ck_assert_int_eq(sim_conn_open(card, &c), SIM_OK);
    ck_assert_int_eq(sim_conn_power_on(c, atr, &alen), SIM_OK);
    ck_assert_uint_eq(verify_user(c), 0x9000);
    ck_assert_uint_eq(tx(c, "00A4080C0466665000", NULL), 0x9000);
    ck_assert_int_eq(sim_card_get_info(card, &info), SIM_OK);
    ck_assert_str_eq(info.serial_hex, "01020304");
    ck_assert_uint_eq(info.capacity - info.used, FREE_FACTORY);
    ck_assert_int_eq(ks_image_file_load(f, &img), KS_OK);
    ck_assert_uint_eq(img.lifecycle, SIM_LC_OPERATIONAL);
    ks_image_free(&img);
    ks_image_file_close(f);
    sim_conn_close(c);
    sim_card_close(card);
    rmrf(dir);
}
END_TEST

Suite *etoken_suite(void)
{
    Suite *s = suite_create("etoken");
    TCase *tc = tcase_create("card");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_factory_card);
    tcase_add_test(tc, test_fill_to_capacity);
    tcase_add_test(tc, test_generated_keys);
    tcase_add_test(tc, test_key_never_leaves);
    tcase_add_test(tc, test_pins_and_connections);
    tcase_add_test(tc, test_blank_image_formatted);
    suite_add_tcase(s, tc);
    return s;
}
