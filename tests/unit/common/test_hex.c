/* Hex encoding and decoding, including the separators the decoder accepts and the
 * inputs it must refuse. */
#include <string.h>

#include "common_test.h"

START_TEST(encode)
{
    char out[16];
    vt_hex_encode((const uint8_t *)"\x00\x01\xab\xff", 4, out);
    ck_assert_str_eq(out, "0001abff");
    vt_hex_encode(NULL, 0, out);
    ck_assert_str_eq(out, "");
}
END_TEST

static const struct {
    const char *in;
    long n;
    const char *bytes;
} dec[] = {
    {"", 0, ""},
    {"00", 1, "\x00"},
    {"0a0B", 2, "\x0a\x0b"},
    {"DE AD be ef", 4, "\xde\xad\xbe\xef"},
    {"de:ad:be:ef", 4, "\xde\xad\xbe\xef"},
    {"  3B\t88\n01  ", 3, "\x3b\x88\x01"},
    {"0", -1, ""},   /* odd number of digits */
    {"0g", -1, ""},  /* not hex */
    {"0 0", -1, ""}, /* separator inside a byte */
    {"x1", -1, ""},
    {"123", -1, ""},
};

START_TEST(decode)
{
    uint8_t out[8];
    memset(out, 0xee, sizeof(out));
    long n = vt_hex_decode(dec[_i].in, out, sizeof(out));
    ck_assert_msg(n == dec[_i].n, "\"%s\": got %ld, want %ld", dec[_i].in, n, dec[_i].n);
    if (n > 0)
        ck_assert_mem_eq(out, dec[_i].bytes, (size_t)n);
}
END_TEST

START_TEST(decode_capacity)
{
    uint8_t out[4];
    ck_assert_int_eq(vt_hex_decode("01020304", out, 4), 4);
    ck_assert_int_eq(vt_hex_decode("0102030405", out, 4), -1);
    ck_assert_int_eq(vt_hex_decode("01", out, 0), -1);
}
END_TEST

START_TEST(roundtrip)
{
    uint8_t in[256], back[256];
    char hex[513];
    for (int i = 0; i < 256; i++)
        in[i] = (uint8_t)(255 - i);
    vt_hex_encode(in, sizeof(in), hex);
    ck_assert_uint_eq(strlen(hex), 512);
    ck_assert_int_eq(vt_hex_decode(hex, back, sizeof(back)), 256);
    ck_assert_mem_eq(back, in, sizeof(in));
}
END_TEST

Suite *hex_suite(void)
{
    Suite *s = suite_create("vt_hex");
    TCase *tc = tcase_create("hex");
    tcase_add_test(tc, encode);
    tcase_add_loop_test(tc, decode, 0, (int)VT_ARRAY_LEN(dec));
    tcase_add_test(tc, decode_capacity);
    tcase_add_test(tc, roundtrip);
    suite_add_tcase(s, tc);
    return s;
}
