/* A process dying inside a card transaction (the module's one transaction per driver
 * operation: a key generation, a certificate write, an object removal): the card image
 * holds the state from before the transaction or after it, never the APDUs in between,
 * because the engine writes it once, when the transaction ends. PIN tries are the
 * exception the card owes its owner: a try is on disk before the PIN is compared, also
 * inside a transaction. Found by tests/integration/test-torture.sh (a kill between the
 * APDUs that write one PKCS#15 directory file left it torn: the token listed nothing). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault.h"
#include "sim_test.h"

Suite *hostile_crash_suite(void); /* main.c */

/* CREATE FILE of a 32-byte transparent EF 3F00/<fid> (as 02-files.apdu writes one). */
static uint16_t create_ef(sim_conn *c, uint16_t fid)
{
    uint8_t fcp[31] = {0x62,
                       0x1D,
                       0x80,
                       0x02,
                       0x00,
                       0x20,
                       0x82,
                       0x02,
                       0x01,
                       0x00,
                       0x83,
                       0x02,
                       (uint8_t)(fid >> 8),
                       (uint8_t)fid,
                       0x86,
                       0x0F,
                       0x43,
                       0x00,
                       0x00,
                       0x00,
                       0x00,
                       0x00,
                       0x00,
                       0x01};
    ck_assert_uint_eq(tx(c, "00A4000C023F00", NULL), 0x9000);
    return txc(c, 0x00, 0xE0, 0, 0, fcp, sizeof(fcp), -1, NULL);
}

static uint16_t select_ef(sim_conn *c, uint16_t fid)
{
    char p[8];
    snprintf(p, sizeof(p), "%04X", fid);
    return kz_select_path(c, p);
}

static bool in_image(tcard *t, uint16_t fid)
{
    ks_image img;
    bool found = false;
    tc_load(t, &img);
    for (size_t i = 0; i < img.nnodes; i++)
        found = found || (img.nodes[i].path_len == 4 && img.nodes[i].path[2] == (fid >> 8) &&
                          img.nodes[i].path[3] == (fid & 0xFF));
    ks_image_free(&img);
    return found;
}

/* In a child: begin a transaction, run body, then die without ending it. */
static void die_inside(tcard *t, void (*body)(sim_conn *c))
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        sim_card *card = NULL;
        sim_conn *c = NULL;
        uint8_t atr[33];
        size_t alen = sizeof(atr);
        if (sim_card_open(t->path, &card, NULL) != SIM_OK || sim_conn_open(card, &c) != SIM_OK ||
            sim_conn_power_on(c, atr, &alen) != SIM_OK || sim_conn_begin(c) != SIM_OK)
            _exit(2);
        body(c);
        kill(getpid(), SIGKILL); /* no end, no close: a crash */
        _exit(3);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child status %d", st);
}

static void body_two_files(sim_conn *c)
{
    if (kz_verify_pin(c, 2, "12345678") != 0x9000 || create_ef(c, 0x0A01) != 0x9000 ||
        create_ef(c, 0x0A02) != 0x9000)
        _exit(4);
}

static void body_wrong_pin_then_file(sim_conn *c)
{
    uint16_t a = kz_verify_pin(c, 2, "12345678"), b = create_ef(c, 0x0A01),
             w = kz_verify_pin(c, 2, "00000000");
    if (a != 0x9000 || b != 0x9000 || w != 0x6300) { /* Rutoken ECP: no count in the SW */
        fprintf(stderr, "body: %04X %04X %04X\n", a, b, w);
        _exit(4);
    }
}

static int user_tries(tcard *t)
{
    sim_card_info info;
    ck_assert_int_eq(sim_card_get_info(t->card, &info), SIM_OK);
    return info.user_tries_left;
}

/* Killed after two CREATE FILEs of one transaction: neither file is there. */
START_TEST(test_crash_inside_transaction_undoes_it)
{
    tcard t;
    tc_setup(&t, "kaztoken");
    die_inside(&t, body_two_files);
    ck_assert(!in_image(&t, 0x0A01));
    ck_assert(!in_image(&t, 0x0A02));
    ck_assert_uint_eq(select_ef(t.conn, 0x0A01), 0x6A82);
    ck_assert_int_eq(user_tries(&t), 10);
    /* and the same work, ended, is all there */
    ck_assert_int_eq(sim_conn_begin(t.conn), SIM_OK);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(create_ef(t.conn, 0x0A01), 0x9000);
    ck_assert_uint_eq(create_ef(t.conn, 0x0A02), 0x9000);
    ck_assert_int_eq(sim_conn_end(t.conn), SIM_OK);
    sim_conn *other = tc_conn(&t);
    ck_assert_uint_eq(select_ef(other, 0x0A01), 0x9000);
    ck_assert_uint_eq(select_ef(other, 0x0A02), 0x9000);
    sim_conn_close(other);
    tc_teardown(&t);
}
END_TEST

/* A wrong PIN inside a transaction that then dies: the try stays spent. */
START_TEST(test_crash_keeps_the_pin_try)
{
    tcard t;
    tc_setup(&t, "kaztoken");
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    die_inside(&t, body_wrong_pin_then_file);
    ck_assert_int_eq(user_tries(&t), 9);
    ck_assert(!in_image(&t, 0x0A01));
    tc_teardown(&t);
}
END_TEST

/* A write that fails inside a transaction undoes itself only: the transaction's earlier
 * writes stay, and reach the disk when it ends. */
START_TEST(test_failed_write_inside_transaction)
{
    tcard t;
    tc_setup(&t, "kaztoken");
    ck_assert_int_eq(sim_conn_begin(t.conn), SIM_OK);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(create_ef(t.conn, 0x0A01), 0x9000);
    ck_assert_uint_eq(create_ef(t.conn, 0x0A01), 0x6A89); /* exists: fails */
    ck_assert_uint_eq(select_ef(t.conn, 0x0A01), 0x9000);
    ck_assert_int_eq(sim_conn_end(t.conn), SIM_OK);
    ck_assert(in_image(&t, 0x0A01));
    tc_teardown(&t);
}
END_TEST

/* With a fault plan next to the image every write goes to disk at once, so a tear fires
 * at the very command it names, transaction or not. */
START_TEST(test_fault_plan_writes_at_once)
{
    tcard t;
    char plan_path[600];
    tc_setup(&t, "kaztoken");
    ck_assert_int_eq(sim_fault_plan_path(t.path, plan_path, sizeof(plan_path)), SIM_OK);
    FILE *f = fopen(plan_path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("vtoken-faults 1\n", f); /* an empty plan: nothing fires */
    fclose(f);
    ck_assert_int_eq(sim_conn_begin(t.conn), SIM_OK);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(create_ef(t.conn, 0x0A01), 0x9000);
    ck_assert(in_image(&t, 0x0A01)); /* on disk already (a load takes no lock) */
    ck_assert_int_eq(sim_conn_end(t.conn), SIM_OK);
    tc_teardown(&t);
}
END_TEST

Suite *hostile_crash_suite(void)
{
    Suite *s = suite_create("hostile_crash");
    TCase *tc = tcase_create("hostile_crash");
    tcase_add_test(tc, test_crash_inside_transaction_undoes_it);
    tcase_add_test(tc, test_crash_keeps_the_pin_try);
    tcase_add_test(tc, test_failed_write_inside_transaction);
    tcase_add_test(tc, test_fault_plan_writes_at_once);
    suite_add_tcase(s, tc);
    return s;
}
