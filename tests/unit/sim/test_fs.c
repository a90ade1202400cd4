/* The ISO file system as the Kaztoken dialect exposes it: SELECT in all its forms and
 * the file listing OpenSC does with it, CREATE FILE, DELETE FILE, READ/UPDATE BINARY,
 * access conditions, depth and capacity limits. */
#include <string.h>

#include "sim_test.h"

/* CREATE FILE with fdb, fid, size and (hex) 15-byte security attributes. */
static uint16_t mkfile(sim_conn *c, uint8_t fdb, uint16_t fid, size_t size, const char *sechex)
{
    uint8_t d[64];
    size_t n = 0;
    d[n++] = 0x62;
    d[n++] = 0;
    d[n++] = 0x80, d[n++] = 2, d[n++] = (uint8_t)(size >> 8), d[n++] = (uint8_t)size;
    d[n++] = 0x82, d[n++] = 2, d[n++] = fdb, d[n++] = 0;
    d[n++] = 0x83, d[n++] = 2, d[n++] = (uint8_t)(fid >> 8), d[n++] = (uint8_t)fid;
    if (sechex != NULL) {
        d[n++] = 0x86;
        d[n++] = 15;
        ck_assert_int_eq(vt_hex_decode(sechex, d + n, 15), 15);
        n += 15;
    }
    d[1] = (uint8_t)(n - 2);
    return txc(c, 0x00, 0xE0, 0, 0, d, n, -1, NULL);
}

#define SEC_OPEN "000000000000000000000000000000"
#define SEC_USER "430202000000000200000000000000" /* read, update, delete: PIN 2 */

static bool has(const vt_buf *b, const char *hex)
{
    uint8_t n[64];
    long len = vt_hex_decode(hex, n, sizeof(n));
    return mem_contains(b->data, b->len, n, (size_t)len);
}

START_TEST(test_select_forms)
{
    tcard t;
    vt_buf r = {0};
    tc_setup(&t, "kaztoken");
    ck_assert_uint_eq(tx(t.conn, "00A40000023F0000", &r), 0x9000);
    ck_assert_uint_eq(r.data[0], 0x62);
    ck_assert_uint_eq(r.data[1], r.len - 2);
    ck_assert(has(&r, "83023F00"));
    ck_assert(has(&r, "82023800"));
    ck_assert(has(&r, "860F470202010000 00FF00000000000000"));
    vt_buf_clear(&r);
    /* by path from the MF (without 3F00), P2 0C answers nothing */
    ck_assert_uint_eq(tx(t.conn, "00A4080C0610001000 6002", &r), 0x9000);
    ck_assert_uint_eq(r.len, 0);
    ck_assert_uint_eq(tx(t.conn, "00A40800023F0000", NULL), 0x6A82);
    ck_assert_uint_eq(tx(t.conn, "00A408000310001000", NULL), 0x6700);
    ck_assert_uint_eq(tx(t.conn, "00A4080000", NULL), 0x6700);
    /* parent, then from the current DF */
    ck_assert_uint_eq(tx(t.conn, "00A4030000", &r), 0x9000);
    ck_assert(has(&r, "83021000"));
    vt_buf_clear(&r);
    ck_assert_uint_eq(tx(t.conn, "00A40900046001 000100", NULL), 0x6A82);
    ck_assert_uint_eq(tx(t.conn, "00A4090002600100", &r), 0x9000);
    ck_assert(has(&r, "83026001"));
    vt_buf_clear(&r);
    /* by FID: a child, the current DF itself, its parent, the MF */
    ck_assert_uint_eq(tx(t.conn, "00A40000026001 00", &r), 0x9000);
    ck_assert(has(&r, "83026001"));
    ck_assert_uint_eq(tx(t.conn, "00A4000C021000", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00A4000C021001", NULL), 0x6A82);
    ck_assert_uint_eq(tx(t.conn, "00A4000C023F00", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00A4000C021001", NULL), 0x6A82);
    ck_assert_uint_eq(tx(t.conn, "00A4000C021000", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00A4000C021001", NULL), 0x9000);
    /* P1 01: child DF; P1 02: child EF */
    ck_assert_uint_eq(tx(t.conn, "00A4010C028001", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00A4030C", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00A4020C028001", NULL), 0x6A82);
    /* no parent above the MF, no DF names, unknown forms */
    ck_assert_uint_eq(tx(t.conn, "00A4000C023F00", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00A4030000", NULL), 0x6A82);
    ck_assert_uint_eq(tx(t.conn, "00A4040007A000000063504B00", NULL), 0x6A82);
    ck_assert_uint_eq(tx(t.conn, "00A40500023F00", NULL), 0x6A86);
    ck_assert_uint_eq(tx(t.conn, "00A40008023F00", NULL), 0x6A86);
    ck_assert_uint_eq(tx(t.conn, "00A40001023F00", NULL), 0x6A86);
    ck_assert_uint_eq(tx(t.conn, "00A40802021000", NULL), 0x6A86);
    ck_assert_uint_eq(tx(t.conn, "00A40000033F0000", NULL), 0x6700);
    ck_assert_uint_eq(tx(t.conn, "00A4030C023F00", NULL), 0x6700);
    /* PIN objects are not files */
    ck_assert_uint_eq(tx(t.conn, "00A4000C020001", NULL), 0x6A82);
    vt_buf_free(&r);
    tc_teardown(&t);
}
END_TEST

/* What rtecp_list_files does: first file, parent after a DF, then "next" until 6A82. */
static size_t list_files(sim_conn *c, const char *dirpath, uint16_t *fids, size_t cap)
{
    vt_buf r = {0};
    size_t n = 0;
    uint16_t sw;
    ck_assert_uint_eq(kz_select_path(c, dirpath), 0x9000);
    sw = tx(c, "00A4000000", &r);
    while (sw == 0x9000 && n < cap) {
        const uint8_t *p = memmem(r.data, r.len, "\x83\x02", 2);
        ck_assert_ptr_nonnull(p);
        fids[n] = (uint16_t)(p[2] << 8 | p[3]);
        if (mem_contains(r.data, r.len, (const uint8_t *)"\x82\x02\x38", 3))
            ck_assert_uint_eq(tx(c, "00A4030000", NULL), 0x9000);
        uint8_t next[] = {0x00, 0xA4, 0x00, 0x02, 0x02, p[2], p[3], 0x00};
        vt_buf_clear(&r);
        n++;
        sw = tx_raw(c, next, sizeof(next), &r);
    }
    ck_assert_uint_eq(sw, 0x6A82);
    vt_buf_free(&r);
    return n;
}

START_TEST(test_list_files)
{
    tcard t;
    uint16_t f[16];
    tc_setup(&t, "kaztoken");
    ck_assert_uint_eq(list_files(t.conn, "1000", f, 16), 5);
    ck_assert_uint_eq(f[0], 0x1000);
    ck_assert_uint_eq(f[1], 0x1001);
    ck_assert_uint_eq(f[4], 0x1004);
    ck_assert_uint_eq(list_files(t.conn, "10001000", f, 16), 5);
    ck_assert_uint_eq(f[0], 0x6001);
    ck_assert_uint_eq(f[4], 0x6005);
    ck_assert_uint_eq(list_files(t.conn, "10001000 6002", f, 16), 0);
    ck_assert_uint_eq(tx(t.conn, "00A4000202", NULL), 0x6700);
    tc_teardown(&t);
}
END_TEST

START_TEST(test_create_file)
{
    tcard t;
    vt_buf r = {0};
    tc_setup(&t, "kaztoken");
    /* the MF wants PIN 2 to create */
    ck_assert_uint_eq(mkfile(t.conn, 0x38, 0x5000, 0, SEC_OPEN), 0x6982);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(mkfile(t.conn, 0x38, 0x5000, 0, SEC_OPEN), 0x9000);
    /* the new DF is current: an EF goes inside it, zero-filled, and is current */
    ck_assert_uint_eq(mkfile(t.conn, 0x01, 0x5031, 16, SEC_OPEN), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00B0000000", &r), 0x6282);
    ck_assert_uint_eq(r.len, 16);
    ck_assert_uint_eq(r.data[0] | r.data[15], 0);
    ck_assert_uint_eq(kz_select_path(t.conn, "50005031"), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00A4030C", NULL), 0x9000); /* the parent of 5000 */
    ck_assert_uint_eq(tx(t.conn, "00A4000C025031", NULL), 0x6A82);
    ck_assert_uint_eq(kz_select_path(t.conn, "5000"), 0x9000);
    ck_assert_uint_eq(mkfile(t.conn, 0x01, 0x5031, 16, SEC_OPEN), 0x6A89);
    ck_assert_uint_eq(mkfile(t.conn, 0x38, 0x3F00, 0, SEC_OPEN), 0x6A89);
    /* malformed FCPs */
    ck_assert_uint_eq(tx(t.conn, "00E0000006 61 04 83 02 50 32", NULL), 0x6A80);
    ck_assert_uint_eq(tx(t.conn, "00E0000006 62 04 82 02 01 00", NULL), 0x6A80);
    ck_assert_uint_eq(tx(t.conn, "00E000000B 62 08 82 02 01 00 83 02 50 32 00", NULL), 0x6A80);
    ck_assert_uint_eq(tx(t.conn, "00E000000E 62 0C 82 02 01 00 83 02 50 32 84 02 41 42", NULL),
                      0x6A80);
    ck_assert_uint_eq(tx(t.conn, "00E000000C 62 0A 82 02 01 00 83 02 50 32 86 00", NULL), 0x6A80);
    ck_assert_uint_eq(tx(t.conn, "00E000000E 62 0C 82 02 01 00 83 02 50 32 83 02 50 33", NULL),
                      0x6A80);
    ck_assert_uint_eq(txd(t.conn, "00E00000",
                          "621B 82020100 83025032 8511 0000000000000000000000000000000000", -1,
                          NULL),
                      0x6A80);
    ck_assert_uint_eq(txd(t.conn, "00E00000",
                          "621A 82020100 83025032 8510 00000000000000000000000000000000", -1, NULL),
                      0x9000);
    ck_assert_uint_eq(mkfile(t.conn, 0x01, 0x3FFF, 4, SEC_OPEN), 0x6A80);
    ck_assert_uint_eq(mkfile(t.conn, 0x01, 0x5033, 0x8000, SEC_OPEN), 0x6A80);
    ck_assert_uint_eq(mkfile(t.conn, 0x02, 0x5033, 16, SEC_OPEN), 0x6A81); /* records */
    ck_assert_uint_eq(tx(t.conn, "00E0010006 62 04 83 02 50 32", NULL), 0x6A86);
    ck_assert_uint_eq(tx(t.conn, "00E00000", NULL), 0x6700);
    /* no 86: no conditions */
    ck_assert_uint_eq(mkfile(t.conn, 0x01, 0x5034, 4, NULL), 0x9000);
    vt_buf_free(&r);
    tc_teardown(&t);
}
END_TEST

START_TEST(test_depth_and_capacity)
{
    tcard t;
    uint16_t sw = 0x9000;
    int made = 0;
    tc_setup(&t, "kaztoken");
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    /* MF + 7 levels fill a 16-byte path */
    for (uint16_t fid = 0x4001; sw == 0x9000; fid++) {
        sw = mkfile(t.conn, 0x38, fid, 0, SEC_OPEN);
        made += sw == 0x9000;
    }
    ck_assert_uint_eq(sw, 0x6A84);
    ck_assert_int_eq(made, 7);
    /* 64 KiB: two 32767-byte EFs do not fit */
    ck_assert_uint_eq(tx(t.conn, "00A4000C023F00", NULL), 0x9000);
    ck_assert_uint_eq(mkfile(t.conn, 0x01, 0x2001, 0x7FFF, SEC_OPEN), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00A4000C023F00", NULL), 0x9000);
    ck_assert_uint_eq(mkfile(t.conn, 0x01, 0x2002, 0x7FFF, SEC_OPEN), 0x6A84);
    ck_assert_uint_eq(mkfile(t.conn, 0x01, 0x2002, 0x0100, SEC_OPEN), 0x9000);
    tc_teardown(&t);
}
END_TEST

START_TEST(test_delete_file)
{
    tcard t;
    tc_setup(&t, "kaztoken");
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(mkfile(t.conn, 0x38, 0x5000, 0, SEC_USER), 0x9000);
    ck_assert_uint_eq(mkfile(t.conn, 0x01, 0x5031, 8, SEC_USER), 0x9000);
    ck_assert_uint_eq(mkfile(t.conn, 0x01, 0x5032, 8, SEC_USER), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "80400000", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00E40000025031", NULL), 0x6982);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00E40000025031", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00E40000025031", NULL), 0x6A82);
    ck_assert_uint_eq(tx(t.conn, "00A4000C025031", NULL), 0x6A82);
    /* no data: the current EF */
    ck_assert_uint_eq(tx(t.conn, "00A4000C025032", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00E40000", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00A4000C025032", NULL), 0x6A82);
    /* a DF goes with what it holds; the current DF falls back to its parent */
    ck_assert_uint_eq(mkfile(t.conn, 0x01, 0x5033, 8, SEC_USER), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00A4000C023F00", NULL), 0x9000);
    ck_assert_uint_eq(kz_select_path(t.conn, "5000"), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00E40000", NULL), 0x9000);
    ck_assert_uint_eq(kz_select_path(t.conn, "50005033"), 0x6A82);
    ck_assert_uint_eq(tx(t.conn, "00A4000C021000", NULL), 0x9000); /* we are in the MF */
    /* system DFs and the MF stay */
    ck_assert_uint_eq(tx(t.conn, "00A4000C023F00", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00E40000021000", NULL), 0x6982);
    ck_assert_uint_eq(tx(t.conn, "00E40000", NULL), 0x6985);
    /* parameters */
    ck_assert_uint_eq(tx(t.conn, "00E40100021000", NULL), 0x6A86);
    ck_assert_uint_eq(tx(t.conn, "00E400000110", NULL), 0x6700);
    tc_teardown(&t);
}
END_TEST

START_TEST(test_binary)
{
    tcard t;
    vt_buf r = {0};
    tc_setup(&t, "kaztoken");
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(mkfile(t.conn, 0x01, 0x2F01, 10, SEC_USER), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00D600000A 00010203040506070809", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00D6000503 AABBCC", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00B0000000", &r), 0x6282);
    ck_assert_uint_eq(r.len, 10);
    ck_assert_mem_eq(r.data, "\x00\x01\x02\x03\x04\xAA\xBB\xCC\x08\x09", 10);
    vt_buf_clear(&r);
    ck_assert_uint_eq(tx(t.conn, "00B0000802", &r), 0x9000);
    ck_assert_mem_eq(r.data, "\x08\x09", 2);
    ck_assert_uint_eq(tx(t.conn, "00B0000A01", NULL), 0x6B00);
    ck_assert_uint_eq(tx(t.conn, "00D6000A0101", NULL), 0x6B00);
    ck_assert_uint_eq(tx(t.conn, "00D60008030102 03", NULL), 0x6700);
    ck_assert_uint_eq(tx(t.conn, "00B0810001", NULL), 0x6A86);
    ck_assert_uint_eq(tx(t.conn, "00B00000", NULL), 0x6700);
    ck_assert_uint_eq(tx(t.conn, "00B000000100 01", NULL), 0x6700);
    ck_assert_uint_eq(tx(t.conn, "00D60000", NULL), 0x6700);
    /* conditions */
    ck_assert_uint_eq(tx(t.conn, "80400000", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00B0000001", NULL), 0x6982);
    ck_assert_uint_eq(tx(t.conn, "00D600000101", NULL), 0x6982);
    /* no current EF */
    ck_assert_uint_eq(tx(t.conn, "00A4000C023F00", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00B0000001", NULL), 0x6986);
    ck_assert_uint_eq(tx(t.conn, "00D600000101", NULL), 0x6986);
    vt_buf_free(&r);
    tc_teardown(&t);
}
END_TEST

START_TEST(test_key_files)
{
    tcard t;
    vt_buf mod = {0}, r = {0};
    tc_setup(&t, "kaztoken");
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(kz_create_key_files(t.conn, 1, 1024, 2), 0x9000);
    /* the objects went to the system key DFs, whatever the current DF */
    ck_assert_uint_eq(kz_select_path(t.conn, "100010006002 0001"), 0x9000);
    ck_assert_uint_eq(kz_select_path(t.conn, "100010006001 0001"), 0x9000);
    ck_assert_uint_eq(kz_create_key_files(t.conn, 1, 1024, 2), 0x6A89);
    ck_assert_uint_eq(kz_generate_key(t.conn, 1, &mod), 0x9000);
    /* the public half reads as modulus || exponent, little-endian */
    ck_assert_uint_eq(kz_select_path(t.conn, "100010006001 0001"), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00B0000000", &r), 0x6282);
    ck_assert_uint_eq(r.len, 192);
    for (size_t i = 0; i < 128; i++)
        ck_assert_uint_eq(r.data[i], mod.data[127 - i]);
    ck_assert_mem_eq(r.data + 128, "\x01\x00\x01\x00", 4);
    ck_assert_uint_eq(tx(t.conn, "00D600000101", NULL), 0x6981);
    /* the private half never reads */
    ck_assert_uint_eq(kz_select_path(t.conn, "100010006002 0001"), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00B0000000", NULL), 0x6981);
    ck_assert_uint_eq(tx(t.conn, "00D600000101", NULL), 0x6981);
    vt_buf_free(&mod);
    vt_buf_free(&r);
    tc_teardown(&t);
}
END_TEST

Suite *fs_suite(void)
{
    Suite *s = suite_create("fs");
    TCase *tc = tcase_create("fs");
    tcase_add_test(tc, test_select_forms);
    tcase_add_test(tc, test_list_files);
    tcase_add_test(tc, test_create_file);
    tcase_add_test(tc, test_depth_and_capacity);
    tcase_add_test(tc, test_delete_file);
    tcase_add_test(tc, test_binary);
    tcase_add_test(tc, test_key_files);
    suite_add_tcase(s, tc);
    return s;
}
