/* The Kaztoken dialect's card life: the factory state, erase (80 8A), personalisation
 * as OpenSC's pkcs15-rtecp does it (MF, system DFs, PIN objects set with 00 24 01 xx)
 * with access conditions off until the end of initialisation (80 84 4E 19), GET DATA
 * and GET CHALLENGE. */
#include <string.h>

#include "sim_test.h"

#define SYS_SEC "43020200000000FF00000000000000"

static uint16_t create(sim_conn *c, const char *fcp_hex)
{
    return txd(c, "00E00000", fcp_hex, -1, NULL);
}

START_TEST(test_factory_state)
{
    tcard t;
    ks_image img;
    vt_buf r = {0};
    static const char *dfs[] = {"1000",         "10001000",     "100010006001", "100010006002",
                                "100010006003", "100010006004", "100010006005", "10001001",
                                "100010018001", "100010018002", "10001002",     "10001003",
                                "10001004"};
    tc_setup(&t, "kaztoken");
    for (size_t i = 0; i < VT_ARRAY_LEN(dfs); i++) {
        vt_buf_clear(&r);
        ck_assert_uint_eq(txd(t.conn, "00A40800", dfs[i], 256, &r), 0x9000);
        ck_assert(mem_contains(r.data, r.len, (const uint8_t *)"\x82\x02\x38\x00", 4));
        ck_assert(mem_contains(r.data, r.len,
                               (const uint8_t *)"\x86\x0F\x43\x02\x02\x00\x00\x00\x00\xFF", 10));
    }
    /* no PKCS#15 application, no EF(DIR) */
    ck_assert_uint_eq(kz_select_path(t.conn, "5000"), 0x6A82);
    ck_assert_uint_eq(kz_select_path(t.conn, "2F00"), 0x6A82);
    tc_load(&t, &img);
    ck_assert_uint_eq(img.lifecycle, SIM_LC_OPERATIONAL);
    ck_assert_uint_eq(img.serial_len, 4);
    ck_assert_str_eq(img.profile, "kaztoken");
    ks_image_free(&img);
    /* default PINs, 10 tries each, 6 characters at least */
    ck_assert_uint_eq(tx(t.conn, "00200001", NULL), 0x63CA);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x63CA);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(txd(t.conn, "00240102", "80020005A5053132333435", -1, NULL), 0x6A80);
    ck_assert_uint_eq(txd(t.conn, "00240102", "80020006A506313233343536", -1, NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "80400000", NULL), 0x9000);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 1, "87654321"), 0x9000);
    vt_buf_free(&r);
    tc_teardown(&t);
}
END_TEST

START_TEST(test_erase_and_personalise)
{
    tcard t;
    vt_buf serial = {0}, again = {0};
    sim_card_info info;
    tc_setup(&t, "kaztoken");
    ck_assert_uint_eq(tx(t.conn, "00CA018100", &serial), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "808A0100", NULL), 0x6A86);
    ck_assert_uint_eq(tx(t.conn, "808A00000100", NULL), 0x6700);
    /* no PIN needed: OpenSC's rtecp_erase sends nothing before it */
    ck_assert_uint_eq(tx(t.conn, "808A0000", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00A4000C023F00", NULL), 0x6A82);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x6A88);
    ck_assert_uint_eq(tx(t.conn, "00CA018100", &again), 0x9000);
    ck_assert_mem_eq(again.data, serial.data, serial.len); /* the chip keeps its serial */
    ck_assert_uint_eq(tx(t.conn, "80844E19", NULL), 0x6985);
    ck_assert_int_eq(sim_card_get_info(t.card, &info), SIM_OK);
    ck_assert_int_eq(info.user_tries_left, -1);
    ck_assert_uint_eq(info.used, 0);
    /* only an MF can be created now */
    ck_assert_uint_eq(create(t.conn, "6F0C 80020000 82023800 83021000"), 0x6A82);
    ck_assert_uint_eq(create(t.conn, "6F0C 80020000 82020100 83023F00"), 0x6A80);

    /* rtecp_init: the MF (6F template, as rtecp_construct_fci builds it) */
    ck_assert_uint_eq(create(t.conn, "6F1D 80020000 82023800 83023F00 860F 470202010000 00FF "
                                     "00000000000000"),
                      0x9000);
    ck_assert_uint_eq(create(t.conn, "6F1D 80020000 82023800 83023F00 860F 470202010000 00FF "
                                     "00000000000000"),
                      0x6A89);
    /* EF(DIR) and the system DFs, although PIN 2 does not exist: initialisation state */
    ck_assert_uint_eq(create(t.conn, "6F1D 80020080 82020100 83022F00 860F 430001000000 0001 "
                                     "00000000000000"),
                      0x9000);
    ck_assert_uint_eq(tx(t.conn, "00A4000C023F00", NULL), 0x9000);
    ck_assert_uint_eq(create(t.conn, "6F1D 80020000 82023800 83021000 860F " SYS_SEC), 0x9000);
    ck_assert_uint_eq(create(t.conn, "6F1D 80020000 82023800 83021000 860F " SYS_SEC), 0x9000);
    ck_assert_uint_eq(create(t.conn, "6F1D 80020000 82023800 83026002 860F " SYS_SEC), 0x9000);
    ck_assert_uint_eq(kz_select_path(t.conn, "10001000"), 0x9000);
    ck_assert_uint_eq(create(t.conn, "6F1D 80020000 82023800 83026001 860F " SYS_SEC), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00A4000C023F00", NULL), 0x9000);
    ck_assert_uint_eq(create(t.conn, "6F1D 80020000 82023800 83025000 860F "
                                     "400000000000000200000000000000"),
                      0x9000);

    /* rtecp_create_pin: SO PIN object, then its value; references are 1 and 2 only */
    ck_assert_uint_eq(create(t.conn, "6F25 80020008 82021000 83020001 8506 010801AA0000 "
                                     "860F 43FF0100000000FF00000000000000"),
                      0x9000);
    ck_assert_uint_eq(create(t.conn, "6F25 80020008 82021000 83020001 8506 010801AA0000 "
                                     "860F 43FF0100000000FF00000000000000"),
                      0x6A89);
    ck_assert_uint_eq(create(t.conn, "6F25 80020008 82021000 83020003 8506 010801AA0000 "
                                     "860F 43FF0100000000FF00000000000000"),
                      0x6A80);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 1, "87654321"), 0x6984); /* no value yet */
    ck_assert_uint_eq(txd(t.conn, "00240101", "80020008A5083837363534333231", -1, NULL), 0x9000);
    /* the user PIN: 4 characters at least, 5 tries, unblocked by the SO */
    ck_assert_uint_eq(create(t.conn, "6F25 80020004 82021000 83020002 8506 01040155 0000 "
                                     "860F 43010300000000FF00000000000000"),
                      0x9000);
    ck_assert_uint_eq(txd(t.conn, "00240102", "80020004A50431323334", -1, NULL), 0x9000);
    /* a key pair under PIN 2 */
    ck_assert_uint_eq(kz_create_key_files(t.conn, 1, 1024, 2), 0x9000);
    ck_assert_uint_eq(kz_generate_key(t.conn, 1, NULL), 0x9000);
    /* still initialising: no condition is checked */
    ck_assert_uint_eq(kz_select_path(t.conn, "2F00"), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00D6000002A1A2", NULL), 0x9000);

    ck_assert_uint_eq(tx(t.conn, "80844E18", NULL), 0x6A86);
    ck_assert_uint_eq(tx(t.conn, "80844E1901FF", NULL), 0x6700);
    ck_assert_uint_eq(tx(t.conn, "80844E19", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "80844E19", NULL), 0x9000);
    /* operational: the same write needs the SO PIN now */
    ck_assert_uint_eq(tx(t.conn, "00D6000002A1A2", NULL), 0x6982);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x63C5);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 1, "87654321"), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00D6000002A1A2", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "80400000", NULL), 0x9000);
    {
        uint8_t block[128] = {0};
        block[127] = 1;
        ck_assert_uint_eq(kz_private_op(t.conn, 1, true, block, 128, NULL), 0x6982);
        ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "1234"), 0x9000);
        ck_assert_uint_eq(kz_private_op(t.conn, 1, true, block, 128, NULL), 0x9000);
    }
    ck_assert_int_eq(sim_card_get_info(t.card, &info), SIM_OK);
    ck_assert_int_eq(info.user_tries_max, 5);
    ck_assert_int_eq(info.so_tries_max, 10);
    vt_buf_free(&serial);
    vt_buf_free(&again);
    tc_teardown(&t);
}
END_TEST

START_TEST(test_erase_ends_other_sessions)
{
    tcard t;
    sim_conn *b;
    tc_setup(&t, "kaztoken");
    b = tc_conn(&t);
    ck_assert_uint_eq(kz_verify_pin(b, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(kz_select_path(b, "10001000"), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "808A0000", NULL), 0x9000);
    ck_assert_uint_eq(tx(b, "00A4030C", NULL), 0x6A82);
    ck_assert_uint_eq(tx(b, "00200002", NULL), 0x6A88);
    sim_conn_close(b);
    tc_teardown(&t);
}
END_TEST

START_TEST(test_get_data_and_challenge)
{
    tcard t;
    vt_buf a = {0}, b = {0};
    sim_card_info info;
    char hex[16];
    tc_setup(&t, "kaztoken");
    ck_assert_uint_eq(tx(t.conn, "00CA018100", &a), 0x9000);
    ck_assert_uint_eq(a.len, 4);
    ck_assert_int_eq(sim_card_get_info(t.card, &info), SIM_OK);
    vt_hex_encode(a.data, a.len, hex);
    ck_assert_str_eq(hex, info.serial_hex);
    ck_assert_uint_eq(tx(t.conn, "00CA018200", NULL), 0x6A88);
    ck_assert_uint_eq(tx(t.conn, "00CA01810100", NULL), 0x6700);
    vt_buf_clear(&a);
    ck_assert_uint_eq(tx(t.conn, "0084000008", &a), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "0084000008", &b), 0x9000);
    ck_assert_uint_eq(a.len, 8);
    ck_assert_uint_eq(b.len, 8);
    ck_assert(memcmp(a.data, b.data, 8) != 0);
    vt_buf_clear(&a);
    ck_assert_uint_eq(tx(t.conn, "0084000000", &a), 0x9000);
    ck_assert_uint_eq(a.len, 256);
    ck_assert_uint_eq(tx(t.conn, "00840000", NULL), 0x6700);
    ck_assert_uint_eq(tx(t.conn, "0084010008", NULL), 0x6A86);
    ck_assert_uint_eq(tx(t.conn, "008400000100", NULL), 0x6700);
    vt_buf_free(&a);
    vt_buf_free(&b);
    tc_teardown(&t);
}
END_TEST

Suite *dialect_suite(void)
{
    Suite *s = suite_create("dialect");
    TCase *tc = tcase_create("kaztoken");
    tcase_add_test(tc, test_factory_state);
    tcase_add_test(tc, test_erase_and_personalise);
    tcase_add_test(tc, test_erase_ends_other_sessions);
    tcase_add_test(tc, test_get_data_and_challenge);
    suite_add_tcase(s, tc);
    return s;
}
