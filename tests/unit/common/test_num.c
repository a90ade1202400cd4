/* vt_parse_u32: plain decimal digits up to a maximum, nothing else. */
#include <stdint.h>

#include "common_test.h"

START_TEST(test_parse_u32)
{
    uint32_t v = 7;

    ck_assert(vt_parse_u32("0", 10, &v));
    ck_assert_uint_eq(v, 0);
    ck_assert(vt_parse_u32("10", 10, &v));
    ck_assert_uint_eq(v, 10);
    ck_assert(vt_parse_u32("007", 10, &v));
    ck_assert_uint_eq(v, 7);
    ck_assert(vt_parse_u32("4294967295", UINT32_MAX, &v));
    ck_assert_uint_eq(v, UINT32_MAX);
    v = 3;
    /* each refused without touching the result */
    static const char *const bad[] = {"11",        "",   " 1",  "1 ",  "+1",
                                      "-1",        "1x", "0x1", "1.0", "99999999999999999999999",
                                      "4294967296"};
    for (size_t i = 0; i < VT_ARRAY_LEN(bad); i++)
        ck_assert_msg(!vt_parse_u32(bad[i], i < 9 ? 10 : UINT32_MAX, &v), "took '%s'", bad[i]);
    ck_assert(!vt_parse_u32(NULL, 10, &v));
    ck_assert_uint_eq(v, 3);
}
END_TEST

Suite *num_suite(void)
{
    Suite *s = suite_create("num");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_parse_u32);
    suite_add_tcase(s, tc);
    return s;
}
