/* vt_buf: growth keeps the contents, appends may come from the buffer itself, OOM is
 * sticky until cleared, and clear/free leave nothing behind. */
#include <stdint.h>
#include <string.h>

#include "common_test.h"

START_TEST(zeroed_struct_is_empty)
{
    vt_buf b = {0};
    ck_assert(vt_buf_append(&b, NULL, 0));
    ck_assert_uint_eq(b.len, 0);
    ck_assert_ptr_null(b.data);
    ck_assert(vt_buf_reserve(&b, 0));
    vt_buf_clear(&b);
    vt_buf_free(&b);
    ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(append_and_grow)
{
    vt_buf b = {0};
    for (int i = 0; i < 1000; i++)
        ck_assert(vt_buf_append_byte(&b, (uint8_t)i));
    ck_assert_uint_eq(b.len, 1000);
    ck_assert_uint_ge(b.cap, 1000);
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_eq(b.data[i], (uint8_t)i);
    ck_assert(vt_buf_append(&b, "abc", 3));
    ck_assert_mem_eq(b.data + 1000, "abc", 3);
    /* reserve makes room without changing the length */
    size_t len = b.len;
    ck_assert(vt_buf_reserve(&b, 100000));
    ck_assert_uint_eq(b.len, len);
    ck_assert_uint_ge(b.cap, len + 100000);
    ck_assert_uint_eq(b.data[999], (uint8_t)999);
    vt_buf_free(&b);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(b.cap, 0);
}
END_TEST

/* Appending part of the buffer to itself must survive the reallocation. */
START_TEST(append_from_itself)
{
    vt_buf b = {0};
    ck_assert(vt_buf_append(&b, "0123456789", 10));
    while (b.len < 5000) {
        size_t before = b.len;
        ck_assert(vt_buf_append(&b, b.data, b.len)); /* doubles: grows every time */
        ck_assert_uint_eq(b.len, 2 * before);
    }
    for (size_t i = 0; i < b.len; i++)
        ck_assert_uint_eq(b.data[i], '0' + i % 10);
    /* a tail slice, too */
    size_t before = b.len;
    ck_assert(vt_buf_append(&b, b.data + 3, 4));
    ck_assert_mem_eq(b.data + before, "3456", 4);
    vt_buf_free(&b);
}
END_TEST

START_TEST(clear_keeps_allocation)
{
    vt_buf b = {0};
    ck_assert(vt_buf_append(&b, "secret", 6));
    uint8_t *p = b.data;
    size_t cap = b.cap;
    vt_buf_clear(&b);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_ptr_eq(b.data, p);
    ck_assert_uint_eq(b.cap, cap);
    /* the old contents are gone */
    ck_assert(memcmp(p, "secret", 6) != 0);
    vt_buf_free(&b);
}
END_TEST

START_TEST(oom_is_sticky)
{
    /* A request whose size overflows fails without asking malloc (ASan would abort on
     * an impossible allocation instead of returning NULL). */
    vt_buf b = {0};
    ck_assert(vt_buf_append(&b, "x", 1));
    ck_assert(!vt_buf_reserve(&b, SIZE_MAX));
    ck_assert(b.oom);
    ck_assert_uint_eq(b.len, 1);
    ck_assert(!vt_buf_append(&b, "y", 1));
    ck_assert(!vt_buf_append(&b, NULL, 0));
    ck_assert(!vt_buf_append_byte(&b, 1));
    ck_assert(!vt_buf_reserve(&b, 1));
    ck_assert_uint_eq(b.len, 1);
    vt_buf_clear(&b); /* clear resets the flag */
    ck_assert(!b.oom);
    ck_assert(vt_buf_append(&b, "z", 1));
    ck_assert_mem_eq(b.data, "z", 1);
    vt_buf_free(&b);
    ck_assert(!b.oom);
}
END_TEST

Suite *buf_suite(void)
{
    Suite *s = suite_create("vt_buf");
    TCase *tc = tcase_create("buf");
    tcase_add_test(tc, zeroed_struct_is_empty);
    tcase_add_test(tc, append_and_grow);
    tcase_add_test(tc, append_from_itself);
    tcase_add_test(tc, clear_keeps_allocation);
    tcase_add_test(tc, oom_is_sticky);
    suite_add_tcase(s, tc);
    return s;
}
