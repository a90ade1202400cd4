/* The card engine: power and reset semantics, malformed APDUs, GET RESPONSE, command
 * chaining, per-connection security status, reload after another process wrote the
 * image, the in-process transport, card creation and summary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "sim_test.h"
#include "transport.h"

static const uint8_t KZ_ATR[] = {0x3B, 0x88, 0x01, 0x4B, 0x41, 0x5A,
                                 0x54, 0x4F, 0x4B, 0x45, 0x4E, 0x82};

START_TEST(test_power)
{
    tcard t;
    sim_conn *c = NULL;
    uint8_t atr[33], r[16];
    size_t alen = sizeof(atr), rlen = sizeof(r);
    const uint8_t sel[] = {0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00};

    tc_setup(&t, "kaztoken");
    ck_assert_int_eq(sim_conn_open(t.card, &c), SIM_OK);
    ck_assert(!sim_conn_powered(c));
    ck_assert_int_eq(sim_conn_process(c, sel, sizeof(sel), r, &rlen), SIM_ERR_POWER);
    alen = 5;
    ck_assert_int_eq(sim_conn_power_on(c, atr, &alen), SIM_ERR_ARGS);
    alen = sizeof(atr);
    ck_assert_int_eq(sim_conn_power_on(c, atr, &alen), SIM_OK);
    ck_assert_uint_eq(alen, sizeof(KZ_ATR));
    ck_assert_mem_eq(atr, KZ_ATR, sizeof(KZ_ATR));
    ck_assert(sim_conn_powered(c));
    ck_assert_uint_eq(tx_raw(c, sel, sizeof(sel), NULL), 0x9000);
    sim_conn_power_off(c);
    rlen = sizeof(r);
    ck_assert_int_eq(sim_conn_process(c, sel, sizeof(sel), r, &rlen), SIM_ERR_POWER);
    sim_conn_close(c);
    tc_teardown(&t);
}
END_TEST

START_TEST(test_reset_clears_security)
{
    tcard t;
    uint8_t atr[33];
    size_t alen = sizeof(atr);

    tc_setup(&t, "kaztoken");
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x9000);
    ck_assert_int_eq(sim_conn_reset(t.conn, atr, &alen), SIM_OK);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x63CA);

    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    sim_conn_power_off(t.conn);
    alen = sizeof(atr);
    ck_assert_int_eq(sim_conn_power_on(t.conn, atr, &alen), SIM_OK);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x63CA);
    tc_teardown(&t);
}
END_TEST

START_TEST(test_malformed)
{
    tcard t;
    tc_setup(&t, "kaztoken");
    ck_assert_uint_eq(tx(t.conn, "00", NULL), 0x6700);
    ck_assert_uint_eq(tx(t.conn, "00A400", NULL), 0x6700);
    ck_assert_uint_eq(tx(t.conn, "00A40000053F00", NULL), 0x6700); /* Lc too long */
    ck_assert_uint_eq(tx(t.conn, "00A4000000", NULL), 0x9000);     /* no data: first file */
    ck_assert_uint_eq(tx(t.conn, "FFA4000000", NULL), 0x6E00);     /* CLA FF */
    ck_assert_uint_eq(tx(t.conn, "A0A40000023F00", NULL), 0x6E00); /* GSM class */
    ck_assert_uint_eq(tx(t.conn, "80A40000023F00", NULL), 0x6E00); /* SELECT is CLA 00 */
    ck_assert_uint_eq(tx(t.conn, "00400000", NULL), 0x6E00);       /* LOGOUT is CLA 80 */
    ck_assert_uint_eq(tx(t.conn, "0012000000", NULL), 0x6D00);     /* unknown INS */
    ck_assert_uint_eq(tx(t.conn, "0CA40000023F00", NULL), 0x6882); /* secure messaging */
    ck_assert_uint_eq(tx(t.conn, "01A40000023F00", NULL), 0x6881); /* logical channel */
    ck_assert_uint_eq(tx(t.conn, "00B00000000100", NULL), 0x6700); /* extended Le */
    tc_teardown(&t);
}
END_TEST

START_TEST(test_get_response)
{
    tcard t;
    vt_buf r = {0}, all = {0};
    uint16_t sw;

    tc_setup(&t, "kaztoken");
    /* no pending data */
    ck_assert_uint_eq(tx(t.conn, "00C0000010", NULL), 0x6985);
    /* SELECT MF with FCP but no Le: the FCP waits for GET RESPONSE */
    sw = tx(t.conn, "00A40000023F00", &r);
    ck_assert_uint_eq(sw >> 8, 0x61);
    ck_assert_uint_eq(r.len, 0);
    size_t avail = sw & 0xFF;
    ck_assert_uint_eq(tx(t.conn, "00C0010000", NULL), 0x6A86);
    /* the wrong P1 did not lose the data */
    ck_assert_uint_eq(tx(t.conn, "00C0000005", &r), 0x6100 | (avail - 5));
    ck_assert_uint_eq(r.len, 5);
    ck_assert_uint_eq(r.data[0], 0x62);
    ck_assert_uint_eq(tx(t.conn, "00C0000000", &r), 0x9000);
    ck_assert_uint_eq(r.len, avail);
    ck_assert_uint_eq(tx(t.conn, "00A40000023F0000", &all), 0x9000);
    ck_assert_mem_eq(all.data, r.data, avail);
    ck_assert_uint_eq(tx(t.conn, "00C0000000", NULL), 0x6985);

    /* a short Le: the rest of the serial number follows with GET RESPONSE */
    vt_buf_clear(&r);
    ck_assert_uint_eq(tx(t.conn, "00CA018102", &r), 0x6102);
    ck_assert_uint_eq(tx(t.conn, "00C0000002", &r), 0x9000);
    ck_assert_uint_eq(r.len, 4);
    /* any other command drops pending data */
    ck_assert_uint_eq(tx(t.conn, "00CA018101", NULL), 0x6103);
    ck_assert_uint_eq(tx(t.conn, "00A4000C023F00", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00C0000003", NULL), 0x6985);
    vt_buf_free(&r);
    vt_buf_free(&all);
    tc_teardown(&t);
}
END_TEST

START_TEST(test_chaining)
{
    tcard t;
    vt_buf body = {0};
    uint8_t pin[255];

    tc_setup(&t, "kaztoken");
    /* SELECT takes no chain */
    ck_assert_uint_eq(tx(t.conn, "10A4000C023F00", NULL), 0x6884);
    /* a chain interrupted by another command */
    ck_assert_uint_eq(tx(t.conn, "10240102048002000A", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00A4000C023F00", NULL), 0x6883);
    /* a chain whose last part has another P2 */
    ck_assert_uint_eq(tx(t.conn, "10240102048002000A", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "002401010CA50A31323334353637383930", NULL), 0x6883);
    /* a proper chain: the user changes their PIN in two parts */
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "10240102048002000A", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "002401020CA50A31323334353637383930", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "80400000", NULL), 0x9000);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x6300);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "1234567890"), 0x9000);
    /* a chain longer than the card takes */
    memset(pin, '1', sizeof(pin));
    for (int i = 0; i < 16; i++)
        ck_assert_uint_eq(txc(t.conn, 0x10, 0x24, 0x01, 0x02, pin, 255, -1, NULL), 0x9000);
    ck_assert_uint_eq(txc(t.conn, 0x10, 0x24, 0x01, 0x02, pin, 255, -1, NULL), 0x6700);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x9000);
    vt_buf_free(&body);
    tc_teardown(&t);
}
END_TEST

START_TEST(test_two_connections)
{
    tcard t;
    sim_conn *b;
    tc_setup(&t, "kaztoken");
    b = tc_conn(&t);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x9000);
    ck_assert_uint_eq(tx(b, "00200002", NULL), 0x63CA);
    /* b may hold the SO PIN while a holds the user PIN */
    ck_assert_uint_eq(kz_verify_pin(b, 1, "87654321"), 0x9000);
    ck_assert_uint_eq(tx(b, "00200001", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00200001", NULL), 0x63CA);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x9000);
    /* logout on b leaves a alone */
    ck_assert_uint_eq(tx(b, "80400000", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x9000);
    /* another connection changing the user PIN ends a's status for it */
    ck_assert_uint_eq(kz_verify_pin(b, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(txd(b, "00240102", "8002000AA50A31323334353637383930", -1, NULL), 0x9000);
    ck_assert_uint_eq(tx(b, "00200002", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x63CA);
    sim_conn_close(b);
    tc_teardown(&t);
}
END_TEST

/* Another process writes the image; this one must see it at its next command. */
START_TEST(test_reload_after_fork)
{
    tcard t;
    pid_t pid;
    int status = 0;

    tc_setup(&t, "kaztoken");
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x63CA);
    ck_assert_uint_eq(tx(t.conn, "00A4000C022F00", NULL), 0x6A82);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        sim_card *card = NULL;
        sim_conn *c = NULL;
        uint8_t atr[33], r[64];
        size_t alen = sizeof(atr), rlen;
        int bad = 0;
        const uint8_t wrong[] = {0x00, 0x20, 0x00, 0x02, 0x04, '0', '0', '0', '0'};
        const uint8_t login[] = {0x00, 0x20, 0x00, 0x02, 0x08, '1', '2',
                                 '3',  '4',  '5',  '6',  '7',  '8'};
        const uint8_t logout[] = {0x80, 0x40, 0x00, 0x00};
        const uint8_t mk[] = {0x00, 0xE0, 0x00, 0x00, 0x0E, 0x62, 0x0C, 0x80, 0x02, 0x00,
                              0x10, 0x82, 0x02, 0x01, 0x00, 0x83, 0x02, 0x2F, 0x00};
        if (sim_card_open(t.path, &card, NULL) != SIM_OK || sim_conn_open(card, &c) != SIM_OK ||
            sim_conn_power_on(c, atr, &alen) != SIM_OK)
            _exit(2);
        rlen = sizeof(r);
        bad |= sim_conn_process(c, login, sizeof(login), r, &rlen) != SIM_OK || r[0] != 0x90;
        rlen = sizeof(r);
        bad |= sim_conn_process(c, mk, sizeof(mk), r, &rlen) != SIM_OK || r[0] != 0x90;
        rlen = sizeof(r);
        bad |= sim_conn_process(c, logout, sizeof(logout), r, &rlen) != SIM_OK || r[0] != 0x90;
        rlen = sizeof(r);
        bad |= sim_conn_process(c, wrong, sizeof(wrong), r, &rlen) != SIM_OK || r[0] != 0x63;
        sim_conn_close(c);
        sim_card_close(card);
        _exit(bad ? 1 : 0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x63C9);
    ck_assert_uint_eq(tx(t.conn, "00A4000C022F00", NULL), 0x9000);
    tc_teardown(&t);
}
END_TEST

START_TEST(test_transport)
{
    tcard t;
    apdu_transport *tr = NULL;
    sim_conn *c = NULL;
    uint8_t atr[33], r[300];
    size_t alen = sizeof(atr), rlen;
    const uint8_t sel[] = {0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00};
    const uint8_t wrong[] = {0x00, 0x20, 0x00, 0x02, 0x04, '0', '0', '0', '0'};
    const uint8_t query[] = {0x00, 0x20, 0x00, 0x02};
    uint64_t g1, g2;

    tc_setup(&t, "kaztoken");
    ck_assert_int_eq(sim_conn_open(t.card, &c), SIM_OK);
    ck_assert_int_eq(sim_transport_new(c, &tr), SIM_ERR_POWER);
    ck_assert_int_eq(sim_conn_power_on(c, atr, &alen), SIM_OK);
    ck_assert_int_eq(sim_transport_new(c, &tr), SIM_OK);
    ck_assert(!tr->extended);
    ck_assert_uint_eq(tr->max_short_nc, 255);

    alen = sizeof(atr);
    ck_assert_int_eq(apdu_get_atr(tr, atr, &alen), APDU_OK);
    ck_assert_mem_eq(atr, KZ_ATR, sizeof(KZ_ATR));
    ck_assert_int_eq(apdu_present(tr), APDU_OK);
    rlen = sizeof(r);
    ck_assert_int_eq(apdu_transmit(tr, sel, sizeof(sel), r, &rlen), APDU_OK);
    ck_assert_uint_eq(rlen, 2);
    ck_assert_uint_eq(r[0], 0x90);

    /* generation moves when the image changes, here and from another connection */
    g1 = apdu_generation(tr);
    rlen = sizeof(r);
    ck_assert_int_eq(apdu_transmit(tr, wrong, sizeof(wrong), r, &rlen), APDU_OK);
    g2 = apdu_generation(tr);
    ck_assert_uint_gt(g2, g1);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "0000"), 0x6300);
    ck_assert_uint_gt(apdu_generation(tr), g2);

    /* begin/end bracket several APDUs */
    ck_assert_int_eq(apdu_begin(tr), APDU_OK);
    rlen = sizeof(r);
    ck_assert_int_eq(apdu_transmit(tr, query, sizeof(query), r, &rlen), APDU_OK);
    ck_assert_uint_eq(r[0] << 8 | r[1], 0x63C8);
    ck_assert_int_eq(apdu_end(tr), APDU_OK);

    /* a cold reset ends the security status */
    ck_assert_uint_eq(kz_verify_pin(c, 2, "12345678"), 0x9000);
    alen = sizeof(atr);
    ck_assert_int_eq(apdu_reset(tr, true, atr, &alen), APDU_OK);
    rlen = sizeof(r);
    ck_assert_int_eq(apdu_transmit(tr, query, sizeof(query), r, &rlen), APDU_OK);
    ck_assert_uint_eq(r[0] << 8 | r[1], 0x63CA);
    apdu_close(tr); /* closes c */
    tc_teardown(&t);
}
END_TEST

START_TEST(test_info_and_create)
{
    tcard t;
    sim_card_info info, again;
    sim_card *other = NULL;
    char *why = NULL;

    tc_setup(&t, "kaztoken");
    ck_assert_int_eq(sim_card_get_info(t.card, &info), SIM_OK);
    ck_assert_str_eq(info.profile, "kaztoken");
    ck_assert_str_eq(info.label, "KAZTOKEN");
    ck_assert_uint_eq(strlen(info.serial_hex), 8);
    ck_assert_int_eq(info.user_tries_left, 10);
    ck_assert_int_eq(info.user_tries_max, 10);
    ck_assert_int_eq(info.so_tries_left, 10);
    ck_assert_uint_eq(info.capacity, 65536);
    ck_assert_uint_gt(info.used, 0);
    ck_assert_uint_eq(info.nkeys, 0);
    ck_assert_uint_eq(info.nfiles, 0);
    ck_assert_str_eq(sim_profile_name(sim_card_profile(t.card)), "kaztoken");
    ck_assert_str_eq(sim_card_path(t.card), t.path);

    ck_assert_uint_eq(kz_verify_pin(t.conn, 1, "00000000"), 0x6300);
    ck_assert_int_eq(sim_card_get_info(t.card, &again), SIM_OK);
    ck_assert_int_eq(again.so_tries_left, 9);

    ck_assert_int_eq(sim_card_create(t.path, "kaztoken", false), SIM_ERR_EXISTS);
    ck_assert_int_eq(sim_card_create(t.path, "nosuch", false), SIM_ERR_PROFILE);
    ck_assert_int_eq(sim_card_create(t.path, "kaztoken", true), SIM_OK);
    ck_assert_int_eq(sim_card_open(t.path, &other, &why), SIM_OK);
    ck_assert_int_eq(sim_card_get_info(other, &again), SIM_OK);
    ck_assert_int_eq(again.so_tries_left, 10);
    sim_card_close(other);
    /* the open card notices the new image */
    ck_assert_uint_eq(tx(t.conn, "00200001", NULL), 0x63CA);
    tc_teardown(&t);
}
END_TEST

START_TEST(test_damaged_image)
{
    char dir[] = "/tmp/vt-sim-test.XXXXXX", path[300];
    sim_card *card = NULL;
    char *why = NULL;
    FILE *f;
    const char junk[] = "not a card image";
    char back[sizeof(junk)];

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/card.img", dir);
    ck_assert_int_eq(sim_card_open(path, &card, &why), SIM_ERR_NOT_FOUND);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(junk, f);
    fclose(f);
    ck_assert_int_eq(sim_card_open(path, &card, &why), SIM_ERR_IMAGE);
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, path));
    free(why);
    ck_assert_ptr_null(card);
    ck_assert_int_eq(sim_card_create(path, "kaztoken", false), SIM_ERR_EXISTS);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(back, sizeof(back), f));
    fclose(f);
    ck_assert_str_eq(back, junk);
    rmrf(dir);
}
END_TEST

/* A family's image made before its dialect existed is formatted when a build with the
 * dialect opens it: simulated with a kaztoken image emptied back to the blank state. */
START_TEST(test_blank_image_formatted_on_open)
{
    tcard t;
    ks_image_file *f = NULL;
    ks_image img;
    sim_card *card = NULL;
    sim_conn *c = NULL;
    uint8_t atr[33];
    size_t alen = sizeof(atr);

    tc_setup(&t, "kaztoken");
    ck_assert_int_eq(ks_image_file_open(t.path, &f), KS_OK);
    ck_assert_int_eq(ks_image_file_load(f, &img), KS_OK);
    sim_img_clear(&img);
    img.lifecycle = SIM_LC_BLANK;
    ck_assert_int_eq(ks_image_file_save(f, &img, false), KS_OK);
    ks_image_free(&img);

    ck_assert_int_eq(sim_card_open(t.path, &card, NULL), SIM_OK);
    ck_assert_int_eq(sim_conn_open(card, &c), SIM_OK);
    ck_assert_int_eq(sim_conn_power_on(c, atr, &alen), SIM_OK);
    ck_assert_mem_eq(atr, KZ_ATR, sizeof(KZ_ATR));
    ck_assert_uint_eq(tx(c, "00200002", NULL), 0x63CA);
    ck_assert_uint_eq(kz_select_path(c, "10001000"), 0x9000);
    ck_assert_int_eq(ks_image_file_load(f, &img), KS_OK);
    ck_assert_uint_eq(img.lifecycle, SIM_LC_OPERATIONAL);
    ks_image_free(&img);
    ks_image_file_close(f);
    sim_conn_close(c);
    sim_card_close(card);
    tc_teardown(&t);
}
END_TEST

/* begin/end hold the image lock across APDUs: another process cannot take it. */
START_TEST(test_transaction_holds_the_image)
{
    tcard t;
    ks_image_file *f = NULL;

    tc_setup(&t, "kaztoken");
    ck_assert_int_eq(ks_image_file_open(t.path, &f), KS_OK);
    ck_assert_int_eq(ks_image_file_trylock(f, false), KS_OK);
    ck_assert_int_eq(ks_image_file_unlock(f), KS_OK);
    ck_assert_int_eq(sim_conn_begin(t.conn), SIM_OK);
    ck_assert_int_eq(sim_conn_begin(t.conn), SIM_OK); /* nested: still one transaction */
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "00000000"), 0x6300);
    ck_assert_int_eq(ks_image_file_trylock(f, false), KS_ERR_LOCKED);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x63C9);
    ck_assert_int_eq(ks_image_file_trylock(f, false), KS_ERR_LOCKED);
    ck_assert_int_eq(sim_conn_end(t.conn), SIM_OK); /* the inner end keeps it */
    ck_assert_int_eq(ks_image_file_trylock(f, false), KS_ERR_LOCKED);
    ck_assert_int_eq(sim_conn_end(t.conn), SIM_OK);
    ck_assert_int_eq(ks_image_file_trylock(f, false), KS_OK);
    ck_assert_int_eq(ks_image_file_unlock(f), KS_OK);
    /* between APDUs without a transaction the image is free */
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x63C9);
    ck_assert_int_eq(ks_image_file_trylock(f, true), KS_OK);
    ck_assert_int_eq(ks_image_file_unlock(f), KS_OK);
    ks_image_file_close(f);
    tc_teardown(&t);
}
END_TEST

Suite *engine_suite(void)
{
    Suite *s = suite_create("engine");
    TCase *tc = tcase_create("engine");
    tcase_add_test(tc, test_power);
    tcase_add_test(tc, test_reset_clears_security);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_get_response);
    tcase_add_test(tc, test_chaining);
    tcase_add_test(tc, test_two_connections);
    tcase_add_test(tc, test_reload_after_fork);
    tcase_add_test(tc, test_transport);
    tcase_add_test(tc, test_info_and_create);
    tcase_add_test(tc, test_damaged_image);
    tcase_add_test(tc, test_blank_image_formatted_on_open);
    tcase_add_test(tc, test_transaction_holds_the_image);
    suite_add_tcase(s, tc);
    return s;
}
