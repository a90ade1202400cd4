/* The JaCarta dialect beyond its transcripts: the factory image and its summary, a blank
 * image formatted on open, the TokenInfo EF field by field, PIN tries on disk before the
 * compare, security status per connection, keys generated on the card checked with
 * OpenSSL, and private key bytes never answered. */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <string.h>
#include <time.h>

#include "sim_test.h"

static const uint8_t JC_ATR[] = {0x3B, 0xDC, 0x18, 0xFF, 0x81, 0x91, 0xFE, 0x1F, 0xC3, 0x80, 0x73,
                                 0xC8, 0x21, 0x13, 0x66, 0x01, 0x06, 0x11, 0x59, 0x00, 0x01, 0x28};

/* A private key object in 3F00/3000/3002 (user PIN for everything but read and admin). */
#define KO_RULES "860E00FF002000FF0020002000200020"

static uint16_t select_path(sim_conn *c, const char *hexpath)
{
    return txd(c, "80A4080C", hexpath, -1, NULL);
}

static uint16_t verify_user(sim_conn *c)
{
    return txd(c, "00200020", "31323334353637383930", -1, NULL);
}

/* CREATE FILE of a private key object 00<ref> of bytes modulus bytes, in 3002. */
static uint16_t create_key(sim_conn *c, uint8_t ref, size_t bytes)
{
    char fcp[128];
    ck_assert_uint_eq(select_path(c, "3F0030003002"), 0x9000);
    snprintf(fcp, sizeof(fcp), "62248A010483020%03X80020%03XA505050C2000A3" KO_RULES "7100", ref,
             (unsigned)bytes);
    return txd(c, "00E00800", fcp, -1, NULL);
}

/* GENERATE in the selected key object; modulus (big-endian) into n. */
static uint16_t generate(sim_conn *c, size_t bytes, vt_buf *n)
{
    vt_buf r = {0};
    uint16_t sw =
        txd(c, "00470000", bytes == 256 ? "AC098001078181030100 01" : "AC0980010681810301 0001",
            256, &r);
    if ((sw & 0xFF00) == 0x6100) {
        char get[16];
        snprintf(get, sizeof(get), "00C00000%02X", sw & 0xFF);
        sw = tx(c, get, &r);
    }
    if (sw == 0x9000 && n != NULL) {
        /* 7F49 L { 81 L n, 82 03 010001 }: n is the bytes before the last 5 */
        ck_assert_uint_gt(r.len, bytes + 5);
        ck_assert(vt_buf_append(n, r.data + r.len - 5 - bytes, bytes));
        ck_assert_mem_eq(r.data + r.len - 5, "\x82\x03\x01\x00\x01", 5);
    }
    vt_buf_free(&r);
    return sw;
}

static EVP_PKEY *public_key(const vt_buf *n)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *bn = BN_bin2bn(n->data, (int)n->len, NULL), *be = BN_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *pk = NULL;
    ck_assert(bld && bn && be && ctx && BN_set_word(be, 65537));
    ck_assert(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn));
    ck_assert(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be));
    params = OSSL_PARAM_BLD_to_param(bld);
    ck_assert(params != NULL && EVP_PKEY_fromdata_init(ctx) == 1);
    ck_assert_int_eq(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    BN_free(bn);
    BN_free(be);
    return pk;
}

START_TEST(test_factory_card)
{
    tcard t;
    sim_card_info info;
    ks_image img;
    uint8_t atr[33];
    size_t alen = sizeof(atr);

    tc_setup(&t, "jacarta");
    ck_assert_int_eq(sim_conn_reset(t.conn, atr, &alen), SIM_OK);
    ck_assert_uint_eq(alen, sizeof(JC_ATR));
    ck_assert_mem_eq(atr, JC_ATR, sizeof(JC_ATR));
    ck_assert_str_eq(sim_profile_reader_name(sim_card_profile(t.card)), "ARDS JaCarta");
    ck_assert_int_eq(sim_card_get_info(t.card, &info), SIM_OK);
    ck_assert_str_eq(info.profile, "jacarta");
    ck_assert_str_eq(info.label, "JaCarta");
    ck_assert_uint_eq(strlen(info.serial_hex), 16);
    ck_assert_int_eq(info.user_tries_left, 10);
    ck_assert_int_eq(info.user_tries_max, 10);
    ck_assert_int_eq(info.so_tries_left, 10);
    ck_assert_int_eq(info.so_tries_max, 10);
    ck_assert_uint_eq(info.capacity, 73728);
    ck_assert_uint_eq(info.used, 385);
    ck_assert_uint_eq(info.nkeys, 0);
    ck_assert_uint_eq(info.nfiles, 1); /* TokenInfo */
    tc_load(&t, &img);
    ck_assert_uint_eq(img.lifecycle, SIM_LC_OPERATIONAL);
    ck_assert_uint_eq(img.serial_len, 8);
    ks_image_free(&img);
    /* the NCA user PIN and the vendor SO PIN, 4..16 characters */
    ck_assert_uint_eq(verify_user(t.conn), 0x9000);
    ck_assert_uint_eq(txd(t.conn, "00200010", "3030303030303030", -1, NULL), 0x9000);
    ck_assert_uint_eq(txd(t.conn, "00200020", "313233", -1, NULL), 0x6700);
    tc_teardown(&t);
}
END_TEST

/* An image made when the family had no dialect (profile, serial, label, nothing else) is
 * laid out the first time this build opens it. */
START_TEST(test_blank_image_formatted)
{
    tcard t;
    ks_image_file *f = NULL;
    ks_image img, blank;
    sim_card *card = NULL;
    sim_conn *c = NULL;
    uint8_t atr[33];
    size_t alen = sizeof(atr);

    tc_setup(&t, "jacarta");
    ck_assert_int_eq(ks_image_file_open(t.path, &f), KS_OK);
    ck_assert_int_eq(ks_image_file_load(f, &img), KS_OK);
    ks_image_init(&blank);
    memcpy(blank.profile, img.profile, sizeof(blank.profile));
    memcpy(blank.serial, img.serial, sizeof(blank.serial));
    blank.serial_len = img.serial_len;
    memcpy(blank.label, img.label, sizeof(blank.label));
    blank.lifecycle = SIM_LC_BLANK;
    ck_assert_int_eq(ks_image_file_save(f, &blank, false), KS_OK);
    ks_image_free(&img);
    sim_conn_close(t.conn);
    sim_card_close(t.card);
    t.conn = NULL;
    t.card = NULL;

    ck_assert_int_eq(sim_card_open(t.path, &card, NULL), SIM_OK);
    ck_assert_int_eq(ks_image_file_load(f, &img), KS_OK);
    ck_assert_uint_eq(img.lifecycle, SIM_LC_OPERATIONAL);
    ck_assert_mem_eq(img.serial, blank.serial, blank.serial_len);
    ck_assert_uint_gt(img.nnodes, 0);
    ks_image_free(&img);
    ck_assert_int_eq(sim_conn_open(card, &c), SIM_OK);
    ck_assert_int_eq(sim_conn_power_on(c, atr, &alen), SIM_OK);
    ck_assert_uint_eq(tx(c, "00200020", NULL), 0x63CA);
    ck_assert_uint_eq(select_path(c, "3F003000C000"), 0x9000);
    ks_image_free(&blank);
    ks_image_file_close(f);
    sim_conn_close(c);
    sim_card_close(card);
    rmrf(t.dir);
}
END_TEST

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

START_TEST(test_tokeninfo_fields)
{
    tcard t;
    vt_buf ti = {0}, sn = {0};
    char hex[17], field[17];
    struct tm tm;
    time_t made;

    tc_setup(&t, "jacarta");
    ck_assert_uint_eq(select_path(t.conn, "3F003000C000"), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00B00000A1", &ti), 0x9000);
    ck_assert_uint_eq(ti.len, 161);
    ck_assert_mem_eq(ti.data, "JaCarta                         ", 32);
    ck_assert_mem_eq(ti.data + 32, "Aladdin R.D.                    ", 32);
    ck_assert_mem_eq(ti.data + 64, "JaCarta Laser   ", 16);
    /* the serial field is the serial number of GET CAPABILITY 0114, in upper-case hex */
    ck_assert_uint_eq(tx(t.conn, "80CB011400", &sn), 0x9000);
    ck_assert_uint_eq(sn.len, 8);
    vt_hex_encode(sn.data, sn.len, hex);
    for (char *p = hex; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    memcpy(field, ti.data + 80, 16);
    field[16] = '\0';
    ck_assert_str_eq(field, hex);
    ck_assert_uint_eq(le32(ti.data + 96), 0x040D);
    ck_assert_uint_eq(le32(ti.data + 116), 16);
    ck_assert_uint_eq(le32(ti.data + 120), 4);
    ck_assert_uint_eq(le32(ti.data + 124), 73728);
    ck_assert_uint_eq(ti.data[140], 1);
    ck_assert_uint_eq(ti.data[142], 1);
    /* the time the card was made, UTC */
    memset(&tm, 0, sizeof(tm));
    ck_assert_ptr_nonnull(strptime((const char *)ti.data + 144, "%Y%m%d%H%M%SZ", &tm));
    made = timegm(&tm);
    ck_assert(made <= time(NULL) && made > time(NULL) - 3600);
    ck_assert_uint_eq(ti.data[160], 0);
    vt_buf_free(&ti);
    vt_buf_free(&sn);
    tc_teardown(&t);
}
END_TEST

static int user_counter_on_disk(const tcard *t)
{
    ks_image img;
    int counter = -99;
    tc_load(t, &img);
    for (size_t i = 0; i < img.nnodes; i++)
        if (img.nodes[i].type == SIM_NODE_PIN && img.nodes[i].path_len == 4 &&
            memcmp(img.nodes[i].path, "\x3F\x00\x00\x20", 4) == 0)
            counter = img.nodes[i].counter;
    ks_image_free(&img);
    return counter;
}

START_TEST(test_tries_on_disk_and_per_connection)
{
    tcard t;
    sim_conn *other;

    tc_setup(&t, "jacarta");
    other = tc_conn(&t);
    ck_assert_uint_eq(txd(t.conn, "00200020", "30303030", -1, NULL), 0x63C9);
    ck_assert_int_eq(user_counter_on_disk(&t), 9);
    /* the counter is the card's; the status is the connection's */
    ck_assert_uint_eq(tx(other, "00200020", NULL), 0x63C9);
    ck_assert_uint_eq(verify_user(t.conn), 0x9000);
    ck_assert_int_eq(user_counter_on_disk(&t), 10);
    ck_assert_uint_eq(tx(t.conn, "00200020", NULL), 0x9000);
    ck_assert_uint_eq(tx(other, "00200020", NULL), 0x63CA);
    /* a PIN changed through another connection: the first loses its status */
    ck_assert_uint_eq(verify_user(other), 0x9000);
    ck_assert_uint_eq(txd(other, "80240020", "620A81083131313131313131", -1, NULL), 0x9000);
    ck_assert_uint_eq(tx(other, "00200020", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00200020", NULL), 0x63CA);
    /* a key object made by one connection is the card's */
    ck_assert_uint_eq(txd(t.conn, "00200020", "3131313131313131", -1, NULL), 0x9000);
    ck_assert_uint_eq(create_key(t.conn, 0x41, 128), 0x9000);
    ck_assert_uint_eq(select_path(other, "3F00300030020041"), 0x9000);
    sim_conn_close(other);
    tc_teardown(&t);
}
END_TEST

static void check_sign_and_decipher(size_t bytes)
{
    tcard t;
    vt_buf n = {0}, sig = {0}, r = {0}, block = {0};
    EVP_PKEY *pk;
    EVP_PKEY_CTX *ctx;
    EVP_MD_CTX *md;
    uint8_t ct[256], msg[] = "a message for the card", blk[256];
    size_t ctlen = sizeof(ct);
    uint8_t di[51] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                      0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    unsigned int dlen = 32;

    tc_setup(&t, "jacarta");
    ck_assert_uint_eq(verify_user(t.conn), 0x9000);
    ck_assert_uint_eq(create_key(t.conn, 0x41, bytes), 0x9000);
    ck_assert_uint_eq(generate(t.conn, bytes, &n), 0x9000);
    pk = public_key(&n);
    ck_assert_int_eq(EVP_PKEY_get_bits(pk), (int)(bytes * 8));

    /* PKCS#1 v1.5 SHA-256: the card pads the DigestInfo; OpenSSL verifies */
    ck_assert_int_eq(EVP_Digest(msg, sizeof(msg), di + 19, &dlen, EVP_sha256(), NULL), 1);
    {
        uint8_t data[2 + 51];
        data[0] = 0x80;
        data[1] = 51;
        memcpy(data + 2, di, 51);
        ck_assert_uint_eq(txc(t.conn, 0x00, 0x2A, 0x9E, 0x8A, data, sizeof(data), 256, &sig),
                          0x9000);
    }
    ck_assert_uint_eq(sig.len, bytes);
    md = EVP_MD_CTX_new();
    ck_assert_int_eq(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk), 1);
    ck_assert_int_eq(EVP_DigestVerify(md, sig.data, sig.len, msg, sizeof(msg)), 1);
    EVP_MD_CTX_free(md);

    /* PKCS#1 v1.5 encryption by OpenSSL, deciphered by the card */
    ctx = EVP_PKEY_CTX_new(pk, NULL);
    ck_assert_int_eq(EVP_PKEY_encrypt_init(ctx), 1);
    ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
    ck_assert_int_eq(EVP_PKEY_encrypt(ctx, ct, &ctlen, msg, sizeof(msg)), 1);
    EVP_PKEY_CTX_free(ctx);
    ck_assert_uint_eq(ctlen, bytes);
    vt_buf_append_byte(&block, 0x82);
    if (bytes > 127)
        vt_buf_append_byte(&block, 0x81 + (bytes > 255));
    if (bytes > 255)
        vt_buf_append_byte(&block, (uint8_t)(bytes >> 8));
    vt_buf_append_byte(&block, (uint8_t)bytes);
    vt_buf_append(&block, ct, ctlen);
    ck_assert_uint_eq(txc(t.conn, 0x00, 0x2A, 0x80, 0x0A, block.data, block.len, 256, &r), 0x9000);
    ck_assert_uint_eq(r.len, 2 + sizeof(msg));
    ck_assert_uint_eq(r.data[0], 0x80);
    ck_assert_mem_eq(r.data + 2, msg, sizeof(msg));

    /* raw: what comes back, raised to e, is what went in */
    vt_buf_clear(&r);
    ck_assert_int_eq(RAND_bytes(blk, (int)bytes), 1);
    blk[0] = 0x00;
    memcpy(block.data + block.len - bytes, blk, bytes);
    ck_assert_uint_eq(txc(t.conn, 0x00, 0x2A, 0x80, 0x0C, block.data, block.len, 256, &r) & 0xFF00,
                      bytes == 256 ? 0x6100 : 0x9000);
    if (bytes == 256) {
        vt_buf more = {0};
        ck_assert_uint_eq(tx(t.conn, "00C0000004", &more), 0x9000);
        vt_buf_append(&r, more.data, more.len);
        vt_buf_free(&more);
    }
    {
        uint8_t back[256];
        rsa_public_op(n.data, n.len, r.data + r.len - bytes, bytes, back);
        ck_assert_mem_eq(back, blk, bytes);
    }
    EVP_PKEY_free(pk);
    vt_buf_free(&n);
    vt_buf_free(&sig);
    vt_buf_free(&r);
    vt_buf_free(&block);
    tc_teardown(&t);
}

START_TEST(test_generated_keys_with_openssl)
{
    check_sign_and_decipher(_i == 0 ? 128 : 256);
}
END_TEST

/* Upload a fixed key, then run every command that touches it: no answer carries 16
 * consecutive bytes of d, p, q, dp, dq or qinv. */
START_TEST(test_private_key_never_answered)
{
    tcard t;
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    BIGNUM *parts[6] = {0};
    static const char *names[6] = {OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
                                   OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
                                   OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    uint8_t bin[6][128];
    vt_buf upd = {0}, all = {0};
    static const char *probes[] = {"80A40800083F0030003002004100", "00B0000000", "00B0000080",
                                   "80CB011400", "80CB019000"};

    ck_assert_ptr_nonnull(kctx);
    ck_assert_int_eq(EVP_PKEY_keygen_init(kctx), 1);
    ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_keygen_bits(kctx, 1024), 1);
    ck_assert_int_eq(EVP_PKEY_keygen(kctx, &pk), 1);
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(EVP_PKEY_get_bn_param(pk, names[i], &parts[i]), 1);
        ck_assert_int_eq(BN_bn2binpad(parts[i], bin[i], i == 0 ? 128 : 64), i == 0 ? 128 : 64);
    }
    /* 62 82 01 xx { 90 03 e, 93 81 80 p||q, 94 81 C0 dp||dq||qinv } */
    vt_buf_append(&upd, (const uint8_t *)"\x62\x82\x01\x4B\x90\x03\x01\x00\x01\x93\x81\x80", 12);
    vt_buf_append(&upd, bin[1], 64);
    vt_buf_append(&upd, bin[2], 64);
    vt_buf_append(&upd, (const uint8_t *)"\x94\x81\xC0", 3);
    vt_buf_append(&upd, bin[3], 64);
    vt_buf_append(&upd, bin[4], 64);
    vt_buf_append(&upd, bin[5], 64);
    ck_assert_uint_eq(upd.len, 4 + 0x14B);

    tc_setup(&t, "jacarta");
    ck_assert_uint_eq(verify_user(t.conn), 0x9000);
    ck_assert_uint_eq(create_key(t.conn, 0x41, 128), 0x9000);
    ck_assert_uint_eq(txc(t.conn, 0x80, 0x24, 0x00, 0x00, upd.data, upd.len, -1, &all), 0x9000);
    for (size_t i = 0; i < VT_ARRAY_LEN(probes); i++)
        (void)tx(t.conn, probes[i], &all);
    ck_assert_uint_eq(txd(t.conn, "002A800C", "8201 02", 256, &all), 0x9000);
    ck_assert_uint_eq(txd(t.conn, "002A9E8A", "8003 010203", 256, &all), 0x9000);
    ck_assert_uint_gt(all.len, 256);
    for (int i = 0; i < 6; i++) {
        size_t len = i == 0 ? 128 : 64;
        for (size_t off = 0; off + 16 <= len; off += 8)
            ck_assert(!mem_contains(all.data, all.len, bin[i] + off, 16));
    }
    /* the image holds it flagged secret (wiped on free, never printed) */
    {
        ks_image img;
        bool found = false;
        tc_load(&t, &img);
        for (size_t i = 0; i < img.nnodes; i++)
            if (img.nodes[i].type == SIM_NODE_PRIVKEY) {
                ck_assert(img.nodes[i].secret);
                found = img.nodes[i].body_len > 0;
            }
        ck_assert(found);
        ks_image_free(&img);
    }
    for (int i = 0; i < 6; i++)
        BN_clear_free(parts[i]);
    vt_wipe(bin, sizeof(bin));
    vt_buf_free(&upd);
    vt_buf_free(&all);
    EVP_PKEY_free(pk);
    EVP_PKEY_CTX_free(kctx);
    tc_teardown(&t);
}
END_TEST

Suite *jacarta_suite(void)
{
    Suite *s = suite_create("jacarta");
    TCase *tc = tcase_create("jacarta");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_factory_card);
    tcase_add_test(tc, test_blank_image_formatted);
    tcase_add_test(tc, test_tokeninfo_fields);
    tcase_add_test(tc, test_tries_on_disk_and_per_connection);
    tcase_add_loop_test(tc, test_generated_keys_with_openssl, 0, 2);
    tcase_add_test(tc, test_private_key_never_answered);
    suite_add_tcase(s, tc);
    return s;
}
