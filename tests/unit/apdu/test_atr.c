/* ATR: the three NCA tokens' ATRs field by field, one exact status per malformed
 * shape, and build -> parse -> build over generated structures. */
#include <string.h>

#include "apdu_test.h"
#include "atr.h"

static const char kaztoken[] = "3B 88 01 4B 41 5A 54 4F 4B 45 4E 82";
static const char etoken[] = "3B D5 18 00 81 31 FE 7D 80 73 C8 21 10 F4";
static const char jacarta[] = "3B DC 18 FF 81 91 FE 1F C3 80 73 C8 21 13 66 01 06 11 59 00 01 28";

static void parse_hex(const char *hex, apdu_atr *a, uint8_t *b, size_t *n)
{
    *n = at_hex(hex, b, APDU_ATR_MAX_LEN + 8);
    ck_assert_int_eq(apdu_atr_parse(b, *n, a), APDU_OK);
}

/* build(parse(x)) must give x back */
static void assert_rebuilds(const apdu_atr *a, const uint8_t *b, size_t n)
{
    uint8_t out[APDU_ATR_MAX_LEN];
    size_t len;
    ck_assert_int_eq(apdu_atr_build(a, out, sizeof(out), &len), APDU_OK);
    ck_assert_uint_eq(len, n);
    ck_assert_mem_eq(out, b, n);
}

START_TEST(kaztoken_atr)
{
    uint8_t b[48];
    size_t n;
    apdu_atr a;
    parse_hex(kaztoken, &a, b, &n);
    ck_assert_uint_eq(a.ts, 0x3b);
    ck_assert_uint_eq(a.t0, 0x88);
    ck_assert_uint_eq(a.nlevels, 2); /* TD1 announces an empty group 2 */
    ck_assert(!a.level[0].has_ta && !a.level[0].has_tb && !a.level[0].has_tc);
    ck_assert(a.level[0].has_td);
    ck_assert_uint_eq(a.level[0].td, 0x01);
    ck_assert(!a.level[1].has_ta && !a.level[1].has_td);
    ck_assert_uint_eq(a.protocols, 1u << 1);
    ck_assert_int_eq(a.first_protocol, 1);
    ck_assert_uint_eq(a.hist_len, 8);
    ck_assert_mem_eq(a.hist, "KAZTOKEN", 8);
    ck_assert(a.has_tck && a.tck_valid);
    ck_assert_uint_eq(a.tck, 0x82);
    ck_assert_uint_eq(a.fi, 372);
    ck_assert_uint_eq(a.di, 1);
    ck_assert_uint_eq(a.ifsc, 32);
    char s[32];
    ck_assert_int_eq(apdu_atr_protocols_str(&a, s, sizeof(s)), 3);
    ck_assert_str_eq(s, "T=1");
    ck_assert(!apdu_atr_extended_length(&a)); /* no category indicator */
    assert_rebuilds(&a, b, n);
}
END_TEST

START_TEST(etoken_atr)
{
    uint8_t b[48];
    size_t n;
    apdu_atr a;
    parse_hex(etoken, &a, b, &n);
    ck_assert_uint_eq(a.nlevels, 3);
    ck_assert(a.level[0].has_ta && !a.level[0].has_tb && a.level[0].has_tc);
    ck_assert_uint_eq(a.level[0].ta, 0x18);
    ck_assert_uint_eq(a.level[0].tc, 0x00);
    ck_assert_uint_eq(a.level[0].td, 0x81);
    ck_assert(!a.level[1].has_ta && a.level[1].has_td);
    ck_assert_uint_eq(a.level[1].td, 0x31);
    ck_assert(a.level[2].has_ta && a.level[2].has_tb && !a.level[2].has_td);
    ck_assert_uint_eq(a.level[2].ta, 0xfe);
    ck_assert_uint_eq(a.level[2].tb, 0x7d);
    ck_assert_uint_eq(a.protocols, 1u << 1);
    ck_assert_int_eq(a.first_protocol, 1);
    ck_assert_uint_eq(a.hist_len, 5);
    ck_assert_mem_eq(a.hist, "\x80\x73\xc8\x21\x10", 5);
    ck_assert(a.has_tck && a.tck_valid);
    ck_assert_uint_eq(a.tck, 0xf4);
    ck_assert_uint_eq(a.fi, 372); /* TA1 18: Fi 372, Di 12 */
    ck_assert_uint_eq(a.di, 12);
    ck_assert_uint_eq(a.ifsc, 254);
    ck_assert(!apdu_atr_extended_length(&a)); /* card capabilities C8 21 10: b7 clear */
    assert_rebuilds(&a, b, n);
}
END_TEST

START_TEST(jacarta_atr)
{
    uint8_t b[48];
    size_t n;
    apdu_atr a;
    parse_hex(jacarta, &a, b, &n);
    ck_assert_uint_eq(a.nlevels, 4);
    ck_assert_uint_eq(a.level[0].ta, 0x18);
    ck_assert_uint_eq(a.level[0].tc, 0xff);
    ck_assert_uint_eq(a.level[1].td, 0x91);
    ck_assert(a.level[2].has_ta && a.level[2].has_td);
    ck_assert_uint_eq(a.level[2].ta, 0xfe);
    ck_assert_uint_eq(a.level[2].td, 0x1f);
    ck_assert(a.level[3].has_ta);
    ck_assert_uint_eq(a.level[3].ta, 0xc3);
    ck_assert_uint_eq(a.protocols, (1u << 1) | (1u << 15)); /* T=1 and global T=15 */
    ck_assert_int_eq(a.first_protocol, 1);
    ck_assert_uint_eq(a.hist_len, 12);
    ck_assert_mem_eq(a.hist, "\x80\x73\xc8\x21\x13\x66\x01\x06\x11\x59\x00\x01", 12);
    ck_assert(a.has_tck && a.tck_valid);
    ck_assert_uint_eq(a.tck, 0x28);
    ck_assert_uint_eq(a.ifsc, 254);
    char s[32];
    apdu_atr_protocols_str(&a, s, sizeof(s));
    ck_assert_str_eq(s, "T=1");
    assert_rebuilds(&a, b, n);
}
END_TEST

START_TEST(t0_atrs)
{
    uint8_t b[48];
    size_t n;
    apdu_atr a;
    /* T=0 only, no TCK */
    parse_hex("3B 02 14 50", &a, b, &n);
    ck_assert_uint_eq(a.protocols, 1);
    ck_assert_int_eq(a.first_protocol, 0);
    ck_assert(!a.has_tck && !a.tck_valid);
    ck_assert_uint_eq(a.hist_len, 2);
    assert_rebuilds(&a, b, n);
    /* T=0 with an (optional) TCK that checks */
    parse_hex("3B 80 00 80", &a, b, &n);
    ck_assert(a.has_tck && a.tck_valid);
    assert_rebuilds(&a, b, n);
    /* T=0 and T=1 offered: TCK required */
    parse_hex("3F 80 80 01 01", &a, b, &n);
    ck_assert_uint_eq(a.protocols, 3);
    ck_assert_int_eq(a.first_protocol, 0);
    char s[32];
    ck_assert_int_eq(apdu_atr_protocols_str(&a, s, sizeof(s)), 8);
    ck_assert_str_eq(s, "T=0, T=1");
    ck_assert_int_eq(apdu_atr_protocols_str(&a, s, 4), 8); /* truncated, terminated */
    ck_assert_str_eq(s, "T=0");
    ck_assert_int_eq(apdu_atr_protocols_str(&a, s, 6), 8);
    ck_assert_str_eq(s, "T=0, ");
    ck_assert_int_eq(apdu_atr_protocols_str(&a, NULL, 0), 8);
    assert_rebuilds(&a, b, n);
    /* RFU Fi/Di read as 0 */
    parse_hex("3B 10 FF", &a, b, &n);
    ck_assert_uint_eq(a.fi, 0);
    ck_assert_uint_eq(a.di, 0);
}
END_TEST

START_TEST(extended_length_caps)
{
    apdu_atr a;
    memset(&a, 0, sizeof(a));
    static const uint8_t cat80[] = {0x80, 0x73, 0x00, 0x00, 0x40};
    memcpy(a.hist, cat80, sizeof(cat80));
    a.hist_len = sizeof(cat80);
    ck_assert(apdu_atr_extended_length(&a));
    /* category 00: the last three bytes are the status indicator, not objects */
    static const uint8_t cat00[] = {0x00, 0x73, 0x00, 0x00, 0xc0, 0x00, 0x90, 0x00};
    memcpy(a.hist, cat00, sizeof(cat00));
    a.hist_len = sizeof(cat00);
    ck_assert(apdu_atr_extended_length(&a));
    a.hist_len = 4; /* too short for a status indicator and an object */
    ck_assert(!apdu_atr_extended_length(&a));
    a.hist[0] = 0x10; /* DIR data reference: no capabilities here */
    a.hist_len = 5;
    ck_assert(!apdu_atr_extended_length(&a));
    static const uint8_t short_caps[] = {0x80, 0x72, 0xff, 0xff}; /* two bytes only */
    memcpy(a.hist, short_caps, sizeof(short_caps));
    a.hist_len = sizeof(short_caps);
    ck_assert(!apdu_atr_extended_length(&a));
    ck_assert(!apdu_atr_extended_length(NULL));
}
END_TEST

/* ---- malformed ATRs --------------------------------------------------------- */

static const struct {
    const char *hex;
    apdu_status st;
    const char *why;
} bad[] = {
    {"", APDU_ERR_ATR_SHORT, "empty"},
    {"3B", APDU_ERR_ATR_SHORT, "TS only"},
    {"3C 00", APDU_ERR_ATR_TS, "TS 3C"},
    {"00", APDU_ERR_ATR_TS, "TS 00"},
    {"3B 10", APDU_ERR_ATR_SHORT, "TA1 announced, missing"},
    {"3B F0 11 22 33", APDU_ERR_ATR_SHORT, "TD1 announced, missing"},
    {"3B 81 01", APDU_ERR_ATR_SHORT, "historical byte missing"},
    {"3B 88 01 4B 41 5A 54 4F 4B 45", APDU_ERR_ATR_SHORT, "historical bytes cut"},
    {"3B 88 01 4B 41 5A 54 4F 4B 45 4E", APDU_ERR_ATR_TCK_MISSING, "Kaztoken without TCK"},
    {"3B 80 01", APDU_ERR_ATR_TCK_MISSING, "T=1, no TCK"},
    {"3B 80 8F 0F", APDU_ERR_ATR_TCK_MISSING, "T=15 counts as not T=0"},
    {"3B 88 01 4B 41 5A 54 4F 4B 45 4E 83", APDU_ERR_ATR_TCK, "Kaztoken, TCK off by one"},
    {"3B D5 18 00 81 31 FE 7D 80 73 C8 21 10 F5", APDU_ERR_ATR_TCK, "eToken, bad TCK"},
    {"3B 80 01 00", APDU_ERR_ATR_TCK, "T=1, TCK 00"},
    {"3B 00 01", APDU_ERR_ATR_TCK, "T=0 with a wrong optional TCK"},
    {"3B 88 01 4B 41 5A 54 4F 4B 45 4E 82 00", APDU_ERR_ATR_TOO_LONG, "byte after TCK"},
    {"3B 00 00 00", APDU_ERR_ATR_TOO_LONG, "T=0, two extra bytes"},
    {"3B 0F 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 10 11 12 13 14 15 16 17 18 19 1A "
     "1B 1C 1D 1E 1F",
     APDU_ERR_ATR_TOO_LONG, "34 bytes"},
    {"3B 80 80 80 80 80 80 80 80 80", APDU_ERR_ATR_LEVELS, "nine interface groups"},
};

START_TEST(parse_bad)
{
    uint8_t b[64];
    size_t n = at_hex(bad[_i].hex, b, sizeof(b));
    apdu_atr a;
    apdu_status st = apdu_atr_parse(b, n, &a);
    ck_assert_msg(st == bad[_i].st, "%s (%s): got %s, want %s", bad[_i].hex, bad[_i].why,
                  apdu_status_name(st), apdu_status_name(bad[_i].st));
}
END_TEST

START_TEST(build_bad)
{
    apdu_atr a;
    uint8_t out[APDU_ATR_MAX_LEN];
    size_t n;
    memset(&a, 0, sizeof(a));
    a.ts = 0x3c;
    ck_assert_int_eq(apdu_atr_build(&a, out, sizeof(out), &n), APDU_ERR_ATR_TS);
    a.ts = 0x3b;
    ck_assert_int_eq(apdu_atr_build(&a, out, sizeof(out), &n), APDU_OK);
    ck_assert_uint_eq(n, 2); /* 3B 00 */
    a.nlevels = APDU_ATR_MAX_LEVELS + 1;
    ck_assert_int_eq(apdu_atr_build(&a, out, sizeof(out), &n), APDU_ERR_ATR_LEVELS);
    a.nlevels = APDU_ATR_MAX_LEVELS; /* TD8 would announce a ninth group */
    for (int k = 0; k < APDU_ATR_MAX_LEVELS; k++)
        a.level[k].has_td = true;
    ck_assert_int_eq(apdu_atr_build(&a, out, sizeof(out), &n), APDU_ERR_ATR_LEVELS);
    memset(a.level, 0, sizeof(a.level));
    a.nlevels = 2; /* group 2 without a TD1 to announce it */
    ck_assert_int_eq(apdu_atr_build(&a, out, sizeof(out), &n), APDU_ERR_ARGS);
    a.nlevels = 1;
    a.hist_len = APDU_ATR_MAX_HIST + 1;
    ck_assert_int_eq(apdu_atr_build(&a, out, sizeof(out), &n), APDU_ERR_ATR_TOO_LONG);
    /* 8 full groups and 15 historical bytes do not fit in 33 */
    a.nlevels = APDU_ATR_MAX_LEVELS;
    for (int k = 0; k < APDU_ATR_MAX_LEVELS; k++) {
        a.level[k].has_ta = a.level[k].has_tb = a.level[k].has_tc = true;
        a.level[k].has_td = k + 1 < APDU_ATR_MAX_LEVELS;
    }
    a.hist_len = APDU_ATR_MAX_HIST;
    ck_assert_int_eq(apdu_atr_build(&a, out, sizeof(out), &n), APDU_ERR_ATR_TOO_LONG);
    /* a small buffer */
    memset(&a, 0, sizeof(a));
    a.ts = 0x3b;
    a.nlevels = 1;
    a.level[0].has_td = true;
    a.level[0].td = 0x01;
    ck_assert_int_eq(apdu_atr_build(&a, out, 3, &n), APDU_ERR_BUFFER);
    ck_assert_int_eq(apdu_atr_build(&a, out, 4, &n), APDU_OK);
    ck_assert_mem_eq(out, "\x3b\x80\x01\x81", 4);
    ck_assert_int_eq(apdu_atr_build(NULL, out, 4, &n), APDU_ERR_ARGS);
    ck_assert_int_eq(apdu_atr_parse(NULL, 4, &a), APDU_ERR_ARGS);
}
END_TEST

/* ---- round trips ------------------------------------------------------------ */

START_TEST(build_parse_generated)
{
    at_rng r = {0xa7e};
    size_t built = 0, too_long = 0, with_tck = 0, levels = 0;
    for (int iter = 0; iter < 20000; iter++) {
        apdu_atr g;
        memset(&g, 0, sizeof(g));
        g.ts = at_range(&r, 0, 1) ? 0x3b : 0x3f;
        g.nlevels = at_range(&r, 0, APDU_ATR_MAX_LEVELS);
        for (size_t k = 0; k < g.nlevels; k++) {
            apdu_atr_level *l = &g.level[k];
            l->has_ta = at_range(&r, 0, 1);
            l->has_tb = at_range(&r, 0, 1);
            l->has_tc = at_range(&r, 0, 1);
            l->has_td = k + 1 < g.nlevels || at_range(&r, 0, 3) == 0;
            l->ta = (uint8_t)at_rand(&r);
            l->tb = (uint8_t)at_rand(&r);
            l->tc = (uint8_t)at_rand(&r);
            /* mostly T=0 and T=1, sometimes anything */
            l->td = (uint8_t)(at_range(&r, 0, 3) == 0 ? at_range(&r, 0, 15) : at_range(&r, 0, 1));
        }
        g.hist_len = at_range(&r, 0, APDU_ATR_MAX_HIST);
        at_fill(&r, g.hist, g.hist_len);
        g.has_tck = at_range(&r, 0, 3) == 0;

        uint8_t b[APDU_ATR_MAX_LEN];
        size_t n;
        apdu_status st = apdu_atr_build(&g, b, sizeof(b), &n);
        if (st == APDU_ERR_ATR_TOO_LONG) {
            too_long++;
            continue;
        }
        if (g.nlevels == APDU_ATR_MAX_LEVELS && g.level[g.nlevels - 1].has_td) {
            ck_assert_int_eq(st, APDU_ERR_ATR_LEVELS);
            levels++;
            continue;
        }
        ck_assert_int_eq(st, APDU_OK);
        built++;
        apdu_atr p;
        st = apdu_atr_parse(b, n, &p);
        ck_assert_msg(st == APDU_OK, "iteration %d: %s", iter, apdu_status_name(st));
        ck_assert_uint_eq(p.ts, g.ts);
        size_t want_levels =
            g.nlevels == 0 ? 1 : g.nlevels + (g.level[g.nlevels - 1].has_td ? 1 : 0);
        ck_assert_uint_eq(p.nlevels, want_levels);
        for (size_t k = 0; k < g.nlevels; k++) {
            const apdu_atr_level *gl = &g.level[k], *pl = &p.level[k];
            ck_assert(pl->has_ta == gl->has_ta && pl->has_tb == gl->has_tb &&
                      pl->has_tc == gl->has_tc && pl->has_td == gl->has_td);
            if (gl->has_ta)
                ck_assert_uint_eq(pl->ta, gl->ta);
            if (gl->has_tb)
                ck_assert_uint_eq(pl->tb, gl->tb);
            if (gl->has_tc)
                ck_assert_uint_eq(pl->tc, gl->tc);
            if (gl->has_td)
                ck_assert_uint_eq(pl->td & 0x0f, gl->td & 0x0f);
        }
        ck_assert_uint_eq(p.hist_len, g.hist_len);
        ck_assert_mem_eq(p.hist, g.hist, g.hist_len);
        ck_assert(p.has_tck == (g.has_tck || (p.protocols & ~1u) != 0));
        ck_assert(p.tck_valid == p.has_tck);
        with_tck += p.has_tck;
        assert_rebuilds(&p, b, n);
    }
    ck_assert_uint_gt(built, 5000);
    ck_assert_uint_gt(too_long, 100);
    ck_assert_uint_gt(with_tck, 1000);
    ck_assert_uint_gt(levels, 10);
}
END_TEST

/* Any byte string that parses builds back to itself. */
START_TEST(parse_random_bytes_canonical)
{
    at_rng r = {0xa7a7};
    size_t ok = 0;
    for (int iter = 0; iter < 50000; iter++) {
        uint8_t b[APDU_ATR_MAX_LEN + 2];
        size_t n = at_range(&r, 0, sizeof(b));
        at_fill(&r, b, n);
        if (n > 0)
            b[0] = at_range(&r, 0, 7) ? 0x3b : b[0];
        if (n > 1 && at_range(&r, 0, 1))
            b[1] &= 0x1f; /* few interface bytes: more chances to fit */
        if (n > 2) {
            /* make the TCK right half of the time */
            uint8_t x = 0;
            for (size_t i = 1; i + 1 < n; i++)
                x ^= b[i];
            if (at_range(&r, 0, 1))
                b[n - 1] = x;
        }
        apdu_atr a;
        if (apdu_atr_parse(b, n, &a) != APDU_OK)
            continue;
        ok++;
        assert_rebuilds(&a, b, n);
    }
    ck_assert_uint_gt(ok, 1000);
}
END_TEST

Suite *atr_suite(void)
{
    Suite *s = suite_create("atr");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, kaztoken_atr);
    tcase_add_test(tc, etoken_atr);
    tcase_add_test(tc, jacarta_atr);
    tcase_add_test(tc, t0_atrs);
    tcase_add_test(tc, extended_length_caps);
    tcase_add_loop_test(tc, parse_bad, 0, (int)VT_ARRAY_LEN(bad));
    tcase_add_test(tc, build_bad);
    suite_add_tcase(s, tc);
    tc = tcase_create("roundtrip");
    tcase_add_test(tc, build_parse_generated);
    tcase_add_test(tc, parse_random_bytes_canonical);
    suite_add_tcase(s, tc);
    return s;
}
