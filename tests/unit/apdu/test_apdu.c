/* Command/response APDU codec: the four cases in both forms, one exact status per
 * malformed shape, and decode(encode(x)) == x over generated commands. */
#include <string.h>

#include "apdu_test.h"

/* ---- well-formed commands --------------------------------------------------- */

static const struct {
    const char *hex;
    apdu_case c;
    size_t nc, ne;
    bool extended;
} good[] = {
    {"00 A4 04 00", APDU_CASE_1, 0, 0, false},
    {"00 B0 00 00 10", APDU_CASE_2, 0, 16, false},
    {"00 B0 00 00 00", APDU_CASE_2, 0, 256, false},
    {"00 B0 00 00 00 01 00", APDU_CASE_2, 0, 256, true},
    {"00 B0 00 00 00 00 00", APDU_CASE_2, 0, 65536, true},
    {"00 B0 00 00 00 00 05", APDU_CASE_2, 0, 5, true},
    {"00 A4 04 0C 02 3F 00", APDU_CASE_3, 2, 0, false},
    {"00 A4 04 00 02 3F 00 00", APDU_CASE_4, 2, 256, false},
    {"00 A4 04 00 02 3F 00 FF", APDU_CASE_4, 2, 255, false},
    {"00 DA 01 02 00 00 01 AA", APDU_CASE_3, 1, 0, true},
    {"00 2A 80 86 00 00 02 AA BB 00 00", APDU_CASE_4, 2, 65536, true},
    {"00 2A 80 86 00 00 02 AA BB 01 00", APDU_CASE_4, 2, 256, true},
    {"80 CB 00 00 01 11 0A", APDU_CASE_4, 1, 10, false},
};

START_TEST(decode_good)
{
    uint8_t b[64];
    size_t n = at_hex(good[_i].hex, b, sizeof(b));
    apdu_cmd c;
    ck_assert_int_eq(apdu_decode(b, n, &c), APDU_OK);
    ck_assert_int_eq(apdu_cmd_case(&c), good[_i].c);
    ck_assert_uint_eq(c.nc, good[_i].nc);
    ck_assert_uint_eq(c.ne, good[_i].ne);
    ck_assert(c.extended == good[_i].extended);
    ck_assert_uint_eq(c.cla, b[0]);
    ck_assert_uint_eq(c.ins, b[1]);
    ck_assert_uint_eq(c.p1, b[2]);
    ck_assert_uint_eq(c.p2, b[3]);
    if (c.nc > 0) {
        /* data points into the input, right after the Lc field */
        ck_assert_ptr_eq(c.data, b + 4 + (c.extended ? 3 : 1));
    } else {
        ck_assert_ptr_null(c.data);
    }
    /* and encodes back to the same bytes */
    uint8_t e[64];
    size_t elen;
    ck_assert_int_eq(apdu_encode(&c, e, sizeof(e), &elen), APDU_OK);
    ck_assert_uint_eq(elen, n);
    ck_assert_mem_eq(e, b, n);
    ck_assert_uint_eq(apdu_encoded_len(&c), n);
}
END_TEST

START_TEST(decode_long_short_and_extended)
{
    /* the boundaries: Lc 255 short, Nc 256 needs extended, Nc 65535 */
    static uint8_t b[APDU_MAX_CAPDU];
    apdu_cmd c;
    memset(b, 0x5a, sizeof(b));
    b[0] = 0x00, b[1] = 0xd6, b[2] = 0, b[3] = 0, b[4] = 0xff;
    ck_assert_int_eq(apdu_decode(b, 5 + 255, &c), APDU_OK);
    ck_assert_uint_eq(c.nc, 255);
    ck_assert(!c.extended);
    ck_assert_int_eq(apdu_decode(b, 5 + 255 + 1, &c), APDU_OK);
    ck_assert_uint_eq(c.ne, 0x5a);

    b[4] = 0x00, b[5] = 0xff, b[6] = 0xff;
    b[7 + 65535] = 0x00, b[8 + 65535] = 0x00;
    ck_assert_int_eq(apdu_decode(b, 7 + 65535, &c), APDU_OK);
    ck_assert_uint_eq(c.nc, 65535);
    ck_assert_uint_eq(c.ne, 0);
    ck_assert_int_eq(apdu_decode(b, 7 + 65535 + 2, &c), APDU_OK);
    ck_assert_uint_eq(c.ne, 65536);
    ck_assert_uint_eq(apdu_encoded_len(&c), APDU_MAX_CAPDU);
}
END_TEST

/* ---- malformed commands: each shape has its own status ---------------------- */

static const struct {
    const char *hex;
    apdu_status st;
    const char *why;
} bad[] = {
    {"", APDU_ERR_HEADER_SHORT, "empty"},
    {"00", APDU_ERR_HEADER_SHORT, "CLA only"},
    {"00 A4 04", APDU_ERR_HEADER_SHORT, "three header bytes"},
    {"FF A4 04 00", APDU_ERR_CLA_INVALID, "CLA FF (PPS)"},
    {"FF 00 00 00 01 02", APDU_ERR_CLA_INVALID, "CLA FF wins over a bad body"},
    {"00 A4 04 00 00 01", APDU_ERR_LC_ZERO, "short Lc 00 then Le"},
    {"00 A4 04 00 00 00", APDU_ERR_LC_ZERO, "short Lc 00 then Le 00"},
    {"00 A4 04 00 05 01 02", APDU_ERR_LC_MISMATCH, "Lc 5, two data bytes"},
    {"00 A4 04 00 02 01", APDU_ERR_LC_MISMATCH, "Lc 2, one data byte"},
    {"00 A4 04 00 FF 01", APDU_ERR_LC_MISMATCH, "Lc 255, one data byte"},
    {"00 A4 04 00 02 01 02 00 00", APDU_ERR_TRAILING, "two bytes after the data"},
    {"00 A4 04 00 01 01 00 00 00 00", APDU_ERR_TRAILING, "four bytes after the data"},
    {"00 A4 04 00 00 00 00 01", APDU_ERR_EXT_LC_ZERO, "extended Lc 0000, one byte after"},
    {"00 A4 04 00 00 00 00 01 02", APDU_ERR_EXT_LC_ZERO, "extended Lc 0000, two after"},
    {"00 A4 04 00 00 00 03 01 02", APDU_ERR_EXT_LC_MISMATCH, "extended Lc 3, two bytes"},
    {"00 A4 04 00 00 01 00 01", APDU_ERR_EXT_LC_MISMATCH, "extended Lc 256, one byte"},
    {"00 A4 04 00 00 00 02 01 02 00", APDU_ERR_EXT_LE_SHORT, "extended Lc, one-byte Le"},
    {"00 A4 04 00 00 00 01 01 FF", APDU_ERR_EXT_LE_SHORT, "extended Lc, short Le FF"},
    {"00 A4 04 00 00 00 02 01 02 00 00 00", APDU_ERR_TRAILING, "extended, byte after Le"},
    {"00 A4 04 00 00 00 01 01 00 00 00 00", APDU_ERR_TRAILING, "extended, 3 bytes after"},
};

START_TEST(decode_bad)
{
    uint8_t b[64];
    size_t n = at_hex(bad[_i].hex, b, sizeof(b));
    apdu_cmd c;
    memset(&c, 0xee, sizeof(c));
    apdu_status st = apdu_decode(b, n, &c);
    ck_assert_msg(st == bad[_i].st, "%s (%s): got %s, want %s", bad[_i].hex, bad[_i].why,
                  apdu_status_name(st), apdu_status_name(bad[_i].st));
}
END_TEST

START_TEST(decode_args)
{
    apdu_cmd c;
    uint8_t b[4] = {0};
    ck_assert_int_eq(apdu_decode(NULL, 4, &c), APDU_ERR_ARGS);
    ck_assert_int_eq(apdu_decode(b, 4, NULL), APDU_ERR_ARGS);
}
END_TEST

/* ---- encoding --------------------------------------------------------------- */

START_TEST(encode_choices)
{
    static uint8_t data[70000];
    uint8_t out[32];
    size_t n;
    apdu_cmd c = apdu_make(0x00, 0xb0, 0x00, 0x00, NULL, 0, 256);
    ck_assert_int_eq(apdu_encode(&c, out, sizeof(out), &n), APDU_OK);
    ck_assert_uint_eq(n, 5);
    ck_assert_uint_eq(out[4], 0x00); /* Ne 256 -> Le 00 */

    c.ne = 257; /* needs extended */
    ck_assert_int_eq(apdu_encode(&c, out, sizeof(out), &n), APDU_OK);
    ck_assert_uint_eq(n, 7);
    ck_assert_mem_eq(out + 4, "\x00\x01\x01", 3);

    c.ne = 65536;
    ck_assert_int_eq(apdu_encode(&c, out, sizeof(out), &n), APDU_OK);
    ck_assert_mem_eq(out + 4, "\x00\x00\x00", 3);

    c.ne = 1;
    c.extended = true; /* requested */
    ck_assert_int_eq(apdu_encode(&c, out, sizeof(out), &n), APDU_OK);
    ck_assert_uint_eq(n, 7);
    ck_assert_mem_eq(out + 4, "\x00\x00\x01", 3);

    /* case 1 has no length field, so extended changes nothing */
    c.ne = 0;
    ck_assert_int_eq(apdu_encode(&c, out, sizeof(out), &n), APDU_OK);
    ck_assert_uint_eq(n, 4);

    /* case 4 extended: Lc 3 bytes, Le 2 bytes */
    c = apdu_make(0x00, 0x2a, 0x80, 0x86, data, 2, 65536);
    c.extended = true;
    ck_assert_int_eq(apdu_encode(&c, out, sizeof(out), &n), APDU_OK);
    ck_assert_uint_eq(n, 4 + 3 + 2 + 2);
    ck_assert_mem_eq(out + 4, "\x00\x00\x02", 3);
    ck_assert_mem_eq(out + 9, "\x00\x00", 2);

    /* the limits */
    c = apdu_make(0x00, 0xd6, 0, 0, data, 65536, 0);
    ck_assert_int_eq(apdu_encode(&c, out, sizeof(out), &n), APDU_ERR_NC_TOO_LONG);
    ck_assert_uint_eq(apdu_encoded_len(&c), 0);
    c = apdu_make(0x00, 0xb0, 0, 0, NULL, 0, 65537);
    ck_assert_int_eq(apdu_encode(&c, out, sizeof(out), &n), APDU_ERR_NE_TOO_LONG);
    c = apdu_make(0xff, 0xb0, 0, 0, NULL, 0, 1);
    ck_assert_int_eq(apdu_encode(&c, out, sizeof(out), &n), APDU_ERR_CLA_INVALID);
    c = apdu_make(0x00, 0xd6, 0, 0, NULL, 3, 0);
    ck_assert_int_eq(apdu_encode(&c, out, sizeof(out), &n), APDU_ERR_ARGS);
    c = apdu_make(0x00, 0xd6, 0, 0, data, 12, 0);
    ck_assert_int_eq(apdu_encode(&c, out, 16, &n), APDU_ERR_BUFFER);
    ck_assert_int_eq(apdu_encode(&c, out, 17, &n), APDU_OK); /* exactly enough */
    ck_assert_uint_eq(n, 17);
    ck_assert_int_eq(apdu_encode(NULL, out, sizeof(out), &n), APDU_ERR_ARGS);
    ck_assert_int_eq(apdu_encode(&c, NULL, sizeof(out), &n), APDU_ERR_ARGS);
    ck_assert_uint_eq(apdu_encoded_len(NULL), 0);
}
END_TEST

/* ---- round trips over generated commands ------------------------------------ */

static size_t pick_len(at_rng *r, size_t max)
{
    /* weight the edges: 0, 1, short limits, extended limits */
    static const size_t edges[] = {0, 1, 2, 127, 128, 255, 256, 257, 65535, 65536};
    if (at_range(r, 0, 3) == 0) {
        size_t e = edges[at_range(r, 0, VT_ARRAY_LEN(edges) - 1)];
        return e <= max ? e : max;
    }
    if (at_range(r, 0, 9) == 0)
        return at_range(r, 0, max);
    return at_range(r, 0, 300 < max ? 300 : max);
}

START_TEST(roundtrip_generated)
{
    static uint8_t data[APDU_MAX_NC];
    static uint8_t enc[APDU_MAX_CAPDU];
    at_rng r = {0x7e57a9d0};
    size_t counts[5] = {0}, ext = 0;
    for (int iter = 0; iter < 6000; iter++) {
        apdu_cmd c;
        c.cla = (uint8_t)at_range(&r, 0, 0xfe);
        c.ins = (uint8_t)at_rand(&r);
        c.p1 = (uint8_t)at_rand(&r);
        c.p2 = (uint8_t)at_rand(&r);
        c.nc = at_range(&r, 0, 2) == 0 ? 0 : pick_len(&r, APDU_MAX_NC);
        c.ne = at_range(&r, 0, 2) == 0 ? 0 : pick_len(&r, APDU_MAX_NE);
        c.extended = at_range(&r, 0, 4) == 0;
        at_fill(&r, data, c.nc);
        c.data = c.nc ? data : NULL;

        size_t n;
        ck_assert_int_eq(apdu_encode(&c, enc, sizeof(enc), &n), APDU_OK);
        ck_assert_uint_eq(n, apdu_encoded_len(&c));
        apdu_cmd d;
        apdu_status st = apdu_decode(enc, n, &d);
        ck_assert_msg(st == APDU_OK, "iteration %d: %s", iter, apdu_status_name(st));
        bool want_ext = (c.nc || c.ne) && (c.extended || c.nc > 255 || c.ne > 256);
        ck_assert_uint_eq(d.cla, c.cla);
        ck_assert_uint_eq(d.ins, c.ins);
        ck_assert_uint_eq(d.p1, c.p1);
        ck_assert_uint_eq(d.p2, c.p2);
        ck_assert_uint_eq(d.nc, c.nc);
        ck_assert_uint_eq(d.ne, c.ne);
        ck_assert(d.extended == want_ext);
        if (c.nc)
            ck_assert_mem_eq(d.data, data, c.nc);
        counts[apdu_cmd_case(&d)]++;
        ext += d.extended;
    }
    /* the generator really covered every case in both forms */
    for (int k = 1; k <= 4; k++)
        ck_assert_uint_gt(counts[k], 200);
    ck_assert_uint_gt(ext, 1000);
    ck_assert_uint_gt(6000 - ext, 1000);
}
END_TEST

/* Any byte string that decodes encodes back to itself: the decoder is canonical. */
START_TEST(decode_random_bytes_canonical)
{
    at_rng r = {0xdec0de};
    uint8_t b[600], e[700];
    size_t ok = 0;
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = at_range(&r, 0, 12);
        if (at_range(&r, 0, 3) == 0)
            n = at_range(&r, 0, sizeof(b));
        at_fill(&r, b, n);
        /* make the interesting shapes likely: a matching short or extended Lc */
        if (n > 5 && at_range(&r, 0, 1) == 0)
            b[4] = (uint8_t)(n - 5 - at_range(&r, 0, 1));
        if (n > 7 && at_range(&r, 0, 2) == 0) {
            size_t lc = n - 7 - at_range(&r, 0, 2);
            b[4] = 0, b[5] = (uint8_t)(lc >> 8), b[6] = (uint8_t)lc;
        }
        apdu_cmd c;
        if (apdu_decode(b, n, &c) != APDU_OK)
            continue;
        ok++;
        size_t en;
        ck_assert_int_eq(apdu_encode(&c, e, sizeof(e), &en), APDU_OK);
        ck_assert_uint_eq(en, n);
        ck_assert_mem_eq(e, b, n);
    }
    ck_assert_uint_gt(ok, 2000);
}
END_TEST

/* ---- responses, names, sensitivity ------------------------------------------ */

START_TEST(response_codec)
{
    uint8_t b[8];
    apdu_resp r;
    size_t n = at_hex("01 02 6A 82", b, sizeof(b));
    ck_assert_int_eq(apdu_resp_parse(b, n, &r), APDU_OK);
    ck_assert_uint_eq(r.len, 2);
    ck_assert_ptr_eq(r.data, b);
    ck_assert_uint_eq(r.sw, 0x6a82);
    ck_assert_int_eq(apdu_resp_parse(b, 2, &r), APDU_OK);
    ck_assert_uint_eq(r.len, 0);
    ck_assert_uint_eq(r.sw, 0x0102);
    ck_assert_int_eq(apdu_resp_parse(b, 1, &r), APDU_ERR_RESP_SHORT);
    ck_assert_int_eq(apdu_resp_parse(b, 0, &r), APDU_ERR_RESP_SHORT);
    ck_assert_int_eq(apdu_resp_parse(NULL, 2, &r), APDU_ERR_ARGS);

    uint8_t out[8];
    ck_assert_int_eq(apdu_resp_encode((const uint8_t *)"\xAA\xBB", 2, 0x9000, out, 4, &n), APDU_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_mem_eq(out, "\xAA\xBB\x90\x00", 4);
    ck_assert_int_eq(apdu_resp_encode(NULL, 0, 0x6982, out, 2, &n), APDU_OK);
    ck_assert_mem_eq(out, "\x69\x82", 2);
    ck_assert_int_eq(apdu_resp_encode((const uint8_t *)"\xAA", 1, 0x9000, out, 2, &n),
                     APDU_ERR_BUFFER);
    ck_assert_int_eq(apdu_resp_encode(NULL, 1, 0x9000, out, 8, &n), APDU_ERR_ARGS);
    ck_assert_int_eq(apdu_resp_encode(out, APDU_MAX_NE + 1, 0x9000, out, 8, &n),
                     APDU_ERR_NE_TOO_LONG);
    /* in place: data already at the start of out */
    out[0] = 0x11;
    ck_assert_int_eq(apdu_resp_encode(out, 1, 0x6100, out, 8, &n), APDU_OK);
    ck_assert_mem_eq(out, "\x11\x61\x00", 3);
}
END_TEST

START_TEST(status_names_complete)
{
    /* every status has its own name and a sentence */
    for (int i = 0; i < APDU_STATUS_COUNT; i++) {
        const char *n = apdu_status_name((apdu_status)i);
        ck_assert_msg(strncmp(n, "APDU_", 5) == 0, "status %d has no name", i);
        ck_assert_str_ne(n, "APDU_STATUS_UNKNOWN");
        ck_assert_str_ne(apdu_strerror((apdu_status)i), "unknown status");
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(n, apdu_status_name((apdu_status)j));
    }
    ck_assert_str_eq(apdu_status_name(APDU_ERR_LC_ZERO), "APDU_ERR_LC_ZERO");
    ck_assert_str_eq(apdu_status_name(APDU_STATUS_COUNT), "APDU_STATUS_UNKNOWN");
    ck_assert_str_eq(apdu_strerror((apdu_status)-1), "unknown status");
}
END_TEST

START_TEST(sensitive_ins)
{
    int n = 0;
    for (int ins = 0; ins < 256; ins++)
        n += apdu_ins_is_sensitive((uint8_t)ins);
    ck_assert_int_eq(n, 6);
    ck_assert(apdu_ins_is_sensitive(0x20));
    ck_assert(apdu_ins_is_sensitive(0x21));
    ck_assert(apdu_ins_is_sensitive(0x24));
    ck_assert(apdu_ins_is_sensitive(0x25));
    ck_assert(apdu_ins_is_sensitive(0x2c));
    ck_assert(apdu_ins_is_sensitive(0x2d));
    ck_assert(!apdu_ins_is_sensitive(0xa4));
}
END_TEST

Suite *apdu_suite(void)
{
    Suite *s = suite_create("apdu");
    TCase *tc = tcase_create("decode");
    tcase_add_loop_test(tc, decode_good, 0, (int)VT_ARRAY_LEN(good));
    tcase_add_test(tc, decode_long_short_and_extended);
    tcase_add_loop_test(tc, decode_bad, 0, (int)VT_ARRAY_LEN(bad));
    tcase_add_test(tc, decode_args);
    suite_add_tcase(s, tc);
    tc = tcase_create("encode");
    tcase_add_test(tc, encode_choices);
    tcase_add_test(tc, roundtrip_generated);
    tcase_add_test(tc, decode_random_bytes_canonical);
    suite_add_tcase(s, tc);
    tc = tcase_create("response");
    tcase_add_test(tc, response_codec);
    tcase_add_test(tc, status_names_complete);
    tcase_add_test(tc, sensitive_ins);
    suite_add_tcase(s, tc);
    return s;
}
