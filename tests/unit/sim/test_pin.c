/* PINs: VERIFY and its status words, one PIN at a time (6F86), CHANGE REFERENCE DATA
 * and its policy, RESET RETRY COUNTER by the SO, LOGOUT, and the order that matters:
 * the try is on disk before the PIN is compared (injected save failures and a crash in
 * a child process), tries survive a reopen, and the image never holds a PIN. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim_test.h"

START_TEST(test_verify)
{
    tcard t;
    char longpin[34];
    tc_setup(&t, "kaztoken");
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "11111111"), 0x6300);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x63C9);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "80400000", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x63CA);
    /* parameters */
    ck_assert_uint_eq(tx(t.conn, "0020010208 3132333435363738", NULL), 0x6A86);
    ck_assert_uint_eq(tx(t.conn, "0020000308 3132333435363738", NULL), 0x6A88);
    ck_assert_uint_eq(tx(t.conn, "00200000", NULL), 0x6A88);
    memset(longpin, '1', 33);
    longpin[33] = '\0';
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, longpin), 0x6700);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x63CA); /* that cost no try */
    /* one PIN at a time: log out first */
    ck_assert_uint_eq(kz_verify_pin(t.conn, 1, "87654321"), 0x9000);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x6F86);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x63CA);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 1, "87654321"), 0x9000); /* same PIN again: fine */
    ck_assert_uint_eq(tx(t.conn, "80400000", NULL), 0x9000);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    /* a failed VERIFY drops the status */
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "00000000"), 0x6300);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x63C9);
    /* LOGOUT parameters */
    ck_assert_uint_eq(tx(t.conn, "80400100", NULL), 0x6A86);
    ck_assert_uint_eq(tx(t.conn, "804000000100", NULL), 0x6700);
    tc_teardown(&t);
}
END_TEST

START_TEST(test_blocked)
{
    tcard t;
    tc_setup(&t, "kaztoken");
    for (int i = 9; i >= 0; i--) {
        ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "00000000"), 0x6300);
        ck_assert_uint_eq(tx(t.conn, "00200002", NULL), i == 0 ? 0x6983 : 0x63C0 | (unsigned)i);
    }
    /* blocked: even the right PIN is not compared */
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x6983);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x6983);
    tc_teardown(&t);
}
END_TEST

START_TEST(test_change)
{
    tcard t;
    tc_setup(&t, "kaztoken");
    /* 80 02 00 08 A5 08 "11223344" */
    ck_assert_uint_eq(txd(t.conn, "00240102", "8002 0008 A508 3131323233333434", -1, NULL), 0x6982);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(txd(t.conn, "00240102", "80020005 A505 3131323233", -1, NULL),
                      0x6A80); /* short */
    ck_assert_uint_eq(txd(t.conn, "00240102", "A508 3131323233333434", -1, NULL),
                      0x6A80); /* no 80 */
    ck_assert_uint_eq(txd(t.conn, "00240102", "8002 0009 A508 3131323233333434", -1, NULL), 0x6A80);
    ck_assert_uint_eq(txd(t.conn, "00240102", "8002 0008 A509 3131323233333434", -1, NULL), 0x6A80);
    ck_assert_uint_eq(txd(t.conn, "00240102", "8002 0008 B008 3131323233333434", -1, NULL), 0x6A80);
    ck_assert_uint_eq(txd(t.conn, "00240002", "8002 0008 A508 3131323233333434", -1, NULL), 0x6A86);
    ck_assert_uint_eq(txd(t.conn, "00240103", "8002 0008 A508 3131323233333434", -1, NULL), 0x6A88);
    ck_assert_uint_eq(tx(t.conn, "00240102", NULL), 0x6700);
    /* the user cannot change the SO PIN */
    ck_assert_uint_eq(txd(t.conn, "00240101", "8002 0008 A508 3131323233333434", -1, NULL), 0x6982);
    ck_assert_uint_eq(txd(t.conn, "00240102", "8002 0008 A508 3131323233333434", -1, NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x9000); /* still logged in */
    ck_assert_uint_eq(tx(t.conn, "80400000", NULL), 0x9000);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x6300);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "11223344"), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x9000);
    /* 32 characters is the longest PIN, 33 too long */
    {
        uint8_t v[33];
        vt_buf b = {0};
        memset(v, '7', sizeof(v));
        kz_crd_body(v, 33, &b);
        ck_assert_uint_eq(txc(t.conn, 0, 0x24, 1, 2, b.data, b.len, -1, NULL), 0x6A80);
        vt_buf_clear(&b);
        kz_crd_body(v, 32, &b);
        ck_assert_uint_eq(txc(t.conn, 0, 0x24, 1, 2, b.data, b.len, -1, NULL), 0x9000);
        vt_buf_free(&b);
    }
    /* the SO can set the user PIN */
    ck_assert_uint_eq(tx(t.conn, "80400000", NULL), 0x9000);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 1, "87654321"), 0x9000);
    ck_assert_uint_eq(txd(t.conn, "00240102", "8002 0008 A508 3132333435363738", -1, NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "80400000", NULL), 0x9000);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    tc_teardown(&t);
}
END_TEST

START_TEST(test_unblock)
{
    tcard t;
    tc_setup(&t, "kaztoken");
    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "00000000"), 0x6300);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x6983);
    ck_assert_uint_eq(tx(t.conn, "002C0302", NULL), 0x6982);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 1, "87654321"), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "002C0202", NULL), 0x6A86);
    ck_assert_uint_eq(tx(t.conn, "002C030201FF", NULL), 0x6700);
    ck_assert_uint_eq(tx(t.conn, "002C0305", NULL), 0x6A88);
    ck_assert_uint_eq(tx(t.conn, "002C0301", NULL), 0x6982); /* nobody unblocks the SO */
    ck_assert_uint_eq(tx(t.conn, "002C0302", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x63CA);
    ck_assert_uint_eq(tx(t.conn, "80400000", NULL), 0x9000);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    tc_teardown(&t);
}
END_TEST

static const char *fail_step;
static bool fail_at(void *arg, const char *step)
{
    (void)arg;
    return fail_step != NULL && strcmp(step, fail_step) == 0;
}

/* A try that cannot be saved is never compared. */
START_TEST(test_save_failure_before_compare)
{
    tcard t;
    tc_setup(&t, "kaztoken");
    ks_set_fault_hook(fail_at, NULL);

    fail_step = "rename"; /* nothing reaches the disk */
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x6581);
    fail_step = NULL;
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x63CA);

    fail_step = "write";
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x6581);
    fail_step = NULL;
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x63CA);

    /* the new image is in place but its directory sync failed: the try counts, and
     * since the save reported failure the right PIN was not compared */
    fail_step = "dirsync";
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x6581);
    fail_step = NULL;
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x63C9);

    ks_set_fault_hook(NULL, NULL);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    tc_teardown(&t);
}
END_TEST

static bool die_at_dirsync(void *arg, const char *step)
{
    (void)arg;
    if (strcmp(step, "dirsync") == 0)
        _exit(0); /* the process is killed with the new image renamed into place */
    return false;
}

/* Kill the process right after the first save of a VERIFY with the right PIN: if the
 * try is saved before the compare, the card has lost a try; a card that compared
 * first would have saved the counter reset instead. */
START_TEST(test_crash_keeps_the_try)
{
    tcard t;
    pid_t pid;
    int status = 0;
    sim_card *card = NULL;
    sim_conn *c;

    tc_setup(&t, "kaztoken");
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "00000000"), 0x6300);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* a card of its own: an inherited lock descriptor would outlive the child */
        sim_card *mine = NULL;
        sim_conn *mc = NULL;
        uint8_t atr[33], r[8];
        size_t alen = sizeof(atr), rlen = sizeof(r);
        const uint8_t v[] = {0x00, 0x20, 0x00, 0x02, 0x08, '1', '2', '3', '4', '5', '6', '7', '8'};
        if (sim_card_open(t.path, &mine, NULL) != SIM_OK || sim_conn_open(mine, &mc) != SIM_OK ||
            sim_conn_power_on(mc, atr, &alen) != SIM_OK)
            _exit(2);
        ks_set_fault_hook(die_at_dirsync, NULL);
        sim_conn_process(mc, v, sizeof(v), r, &rlen);
        _exit(3); /* not reached when the VERIFY saves at all */
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    ck_assert_int_eq(sim_card_open(t.path, &card, NULL), SIM_OK);
    ck_assert_int_eq(sim_conn_open(card, &c), SIM_OK);
    {
        uint8_t atr[33];
        size_t alen = sizeof(atr);
        ck_assert_int_eq(sim_conn_power_on(c, atr, &alen), SIM_OK);
    }
    ck_assert_uint_eq(tx(c, "00200002", NULL), 0x63C8);
    sim_conn_close(c);
    sim_card_close(card);
    tc_teardown(&t);
}
END_TEST

START_TEST(test_tries_survive_reopen)
{
    tcard t;
    sim_card_info info;
    tc_setup(&t, "kaztoken");
    for (int i = 0; i < 3; i++)
        ck_assert_uint_eq(kz_verify_pin(t.conn, 1, "00000000"), 0x6300);
    sim_conn_close(t.conn);
    sim_card_close(t.card);
    ck_assert_int_eq(sim_card_open(t.path, &t.card, NULL), SIM_OK);
    ck_assert_int_eq(sim_card_get_info(t.card, &info), SIM_OK);
    ck_assert_int_eq(info.so_tries_left, 7);
    ck_assert_int_eq(info.user_tries_left, 10);
    t.conn = tc_conn(&t);
    ck_assert_uint_eq(tx(t.conn, "00200001", NULL), 0x63C7);
    tc_teardown(&t);
}
END_TEST

START_TEST(test_image_holds_no_pin)
{
    tcard t;
    vt_buf raw = {0};
    ks_image img;
    tc_setup(&t, "kaztoken");
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_int_eq(ks_read_file(t.path, 1 << 20, &raw), KS_OK);
    ck_assert(!mem_contains(raw.data, raw.len, (const uint8_t *)"12345678", 8));
    ck_assert(!mem_contains(raw.data, raw.len, (const uint8_t *)"87654321", 8));
    tc_load(&t, &img);
    int pins = 0;
    for (size_t i = 0; i < img.nnodes; i++) {
        if (img.nodes[i].type != SIM_NODE_PIN)
            continue;
        pins++;
        ck_assert(img.nodes[i].secret);
        ck_assert_uint_eq(img.nodes[i].body_len, SIM_PIN_SALT_LEN + SIM_PIN_HASH_LEN);
    }
    ck_assert_int_eq(pins, 2);
    ks_image_free(&img);
    vt_buf_free(&raw);
    tc_teardown(&t);
}
END_TEST

Suite *pin_suite(void)
{
    Suite *s = suite_create("pin");
    TCase *tc = tcase_create("pin");
    tcase_add_test(tc, test_verify);
    tcase_add_test(tc, test_blocked);
    tcase_add_test(tc, test_change);
    tcase_add_test(tc, test_unblock);
    tcase_add_test(tc, test_save_failure_before_compare);
    tcase_add_test(tc, test_crash_keeps_the_try);
    tcase_add_test(tc, test_tries_survive_reopen);
    tcase_add_test(tc, test_image_holds_no_pin);
    suite_add_tcase(s, tc);
    return s;
}
