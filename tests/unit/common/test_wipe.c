/* vt_wipe clears what it is given and nothing else; vt_ct_memcmp tells equal from
 * different buffers wherever the difference is. */
#include <string.h>

#include "common_test.h"

START_TEST(wipe_clears_exactly)
{
    uint8_t b[32];
    memset(b, 0xa5, sizeof(b));
    vt_wipe(b + 8, 16);
    for (size_t i = 0; i < sizeof(b); i++)
        ck_assert_uint_eq(b[i], i >= 8 && i < 24 ? 0x00 : 0xa5);
    vt_wipe(NULL, 16); /* no-ops */
    vt_wipe(b, 0);
    ck_assert_uint_eq(b[0], 0xa5);
}
END_TEST

START_TEST(ct_memcmp)
{
    uint8_t a[64], b[64];
    memset(a, 0x11, sizeof(a));
    memcpy(b, a, sizeof(b));
    ck_assert_int_eq(vt_ct_memcmp(a, b, sizeof(a)), 0);
    ck_assert_int_eq(vt_ct_memcmp(a, b, 0), 0);
    for (size_t i = 0; i < sizeof(a); i++) {
        b[i] ^= 0x01;
        ck_assert_int_ne(vt_ct_memcmp(a, b, sizeof(a)), 0);
        ck_assert_int_eq(vt_ct_memcmp(a, b, i), 0); /* the prefix still matches */
        b[i] ^= 0x01;
    }
}
END_TEST

Suite *wipe_suite(void)
{
    Suite *s = suite_create("vt_wipe");
    TCase *tc = tcase_create("wipe");
    tcase_add_test(tc, wipe_clears_exactly);
    tcase_add_test(tc, ct_memcmp);
    suite_add_tcase(s, tc);
    return s;
}
