/* The PKCS#12 password rule: NCA's default against NCALayer's regex
 * ^(?=.*?[A-Z])(?=.*?[a-z])(?=.*?[0-9]).{6,32}$, the config syntax, and the reasons. */
#include <string.h>

#include "ks_test.h"
#include "p12.h"

static ks_status check(const ks_pwrule *r, const char *pw, char *why)
{
    return ks_pwrule_check(r, pw, strlen(pw), why, 160);
}

START_TEST(nca_default)
{
    ks_pwrule r = KS_PWRULE_NCA;
    char why[160];
    ck_assert_int_eq(check(&r, "Qwerty12", why), KS_OK);
    ck_assert_str_eq(why, "");
    ck_assert_int_eq(check(&r, "Aa1aaa", why), KS_OK); /* exactly 6 */
    char s32[34];
    memset(s32, 'a', 33);
    memcpy(s32, "Aa1", 3);
    s32[32] = '\0';
    ck_assert_int_eq(check(&r, s32, why), KS_OK);          /* 32 characters */
    ck_assert_int_eq(check(&r, "Aa1!@# $%^", why), KS_OK); /* specials allowed */
    ck_assert_int_eq(check(&r, "Aa1\tbc", why), KS_OK);    /* tab is not a line break */
    ck_assert_int_eq(check(&r, "Ab1\xd0\x96\xd0\x96\xd0\x96", why), KS_OK); /* 6 chars, 9 bytes */

    ck_assert_int_eq(check(&r, "Aa1aa", why), KS_ERR_POLICY);
    ck_assert_str_eq(why, "password must be at least 6 characters long");
    s32[32] = 'a';
    s32[33] = '\0';
    ck_assert_int_eq(check(&r, s32, why), KS_ERR_POLICY); /* 33 */
    ck_assert_str_eq(why, "password must be at most 32 characters long");
    ck_assert_int_eq(check(&r, "qwerty12", why), KS_ERR_POLICY);
    ck_assert_str_eq(why, "password must contain an upper-case Latin letter (A-Z)");
    ck_assert_int_eq(check(&r, "QWERTY12", why), KS_ERR_POLICY);
    ck_assert_str_eq(why, "password must contain a lower-case Latin letter (a-z)");
    ck_assert_int_eq(check(&r, "Qwertyui", why), KS_ERR_POLICY);
    ck_assert_str_eq(why, "password must contain a digit (0-9)");
    /* Cyrillic letters do not count as the Latin classes (NCALayer's [A-Z]). */
    ck_assert_int_eq(check(&r,
                           "\xd0\x96\xd0\xb6"
                           "123456",
                           why),
                     KS_ERR_POLICY);
    ck_assert_int_eq(check(&r, "Qwerty12\n", why), KS_ERR_POLICY);
    ck_assert_str_eq(why, "password must not contain a line break or NUL");
    ck_assert_int_eq(check(&r, "Qwerty12\xe2\x80\xa8", why), KS_ERR_POLICY); /* U+2028 */
    ck_assert_int_eq(ks_pwrule_check(&r, "Qwer\0ty12", 9, why, sizeof(why)), KS_ERR_POLICY);
    ck_assert_int_eq(check(&r, "Qwerty12\xff", why), KS_ERR_POLICY);
    ck_assert_str_eq(why, "password is not valid UTF-8");
    ck_assert_int_eq(check(&r, "Qwerty12\xd0", why), KS_ERR_POLICY);     /* truncated sequence */
    ck_assert_int_eq(check(&r, "Qwerty12\xc0\xaf", why), KS_ERR_POLICY); /* overlong */
}
END_TEST

START_TEST(parse_and_format)
{
    ks_pwrule r;
    char why[160], text[96];
    ck_assert_int_eq(ks_pwrule_parse("min=6,max=32,upper,lower,digit", &r, why, sizeof(why)),
                     KS_OK);
    ks_pwrule nca = KS_PWRULE_NCA;
    ck_assert_mem_eq(&r, &nca, sizeof(r));
    ks_pwrule_format(&r, text, sizeof(text));
    ck_assert_str_eq(text, "min=6,max=32,upper,lower,digit");

    ck_assert_int_eq(ks_pwrule_parse(" digit , min=8 ,special", &r, why, sizeof(why)), KS_OK);
    ck_assert_uint_eq(r.min_len, 8);
    ck_assert_uint_eq(r.max_len, 0);
    ck_assert(r.digit && r.special && !r.upper && !r.lower);
    ck_assert_int_eq(check(&r, "12345678", why), KS_ERR_POLICY);
    ck_assert_str_eq(why, "password must contain a character that is not a Latin letter or digit");
    ck_assert_int_eq(check(&r, "1234567-", why), KS_OK);
    ks_pwrule_format(&r, text, sizeof(text));
    ck_assert_str_eq(text, "min=8,digit,special");

    ck_assert_int_eq(ks_pwrule_parse("none", &r, why, sizeof(why)), KS_OK);
    ck_assert_int_eq(check(&r, "", why), KS_OK);
    ks_pwrule_format(&r, text, sizeof(text));
    ck_assert_str_eq(text, "none");
    ck_assert_int_eq(ks_pwrule_parse("", &r, why, sizeof(why)), KS_OK);
    ck_assert_uint_eq(r.min_len, 0);
}
END_TEST

START_TEST(parse_errors)
{
    ks_pwrule r = KS_PWRULE_NCA;
    char why[160];
    ck_assert_int_eq(ks_pwrule_parse("min=6,capital", &r, why, sizeof(why)), KS_ERR_ARGS);
    ck_assert_str_eq(why, "unknown item 'capital' in password rule (min=N, max=N, upper, lower, "
                          "digit, special)");
    ck_assert_int_eq(ks_pwrule_parse("min=six", &r, why, sizeof(why)), KS_ERR_ARGS);
    ck_assert_str_eq(why, "bad length in 'min=six' (a number up to 4096)");
    ck_assert_int_eq(ks_pwrule_parse("min=-1", &r, why, sizeof(why)), KS_ERR_ARGS);
    ck_assert_int_eq(ks_pwrule_parse("max=99999", &r, why, sizeof(why)), KS_ERR_ARGS);
    ck_assert_int_eq(ks_pwrule_parse("min=10,max=8", &r, why, sizeof(why)), KS_ERR_ARGS);
    ck_assert_str_eq(why, "password rule has min greater than max");
    ck_assert_int_eq(ks_pwrule_parse("upper,,lower", &r, why, sizeof(why)), KS_ERR_ARGS);
    ck_assert_str_eq(why, "empty item in password rule");
    ck_assert_int_eq(ks_pwrule_parse("upper,", &r, why, sizeof(why)), KS_ERR_ARGS);
    ck_assert_int_eq(ks_pwrule_parse("upper,upper", &r, why, sizeof(why)), KS_ERR_ARGS);
    ck_assert_str_eq(why, "'upper' appears twice in password rule");
    ck_assert_int_eq(ks_pwrule_parse("none,upper", &r, why, sizeof(why)), KS_ERR_ARGS);
    /* A failed parse leaves the rule alone. */
    ks_pwrule nca = KS_PWRULE_NCA;
    ck_assert_mem_eq(&r, &nca, sizeof(r));
}
END_TEST

Suite *pwrule_suite(void)
{
    Suite *s = suite_create("pwrule");
    TCase *tc = tcase_create("pwrule");
    tcase_add_test(tc, nca_default);
    tcase_add_test(tc, parse_and_format);
    tcase_add_test(tc, parse_errors);
    suite_add_tcase(s, tc);
    return s;
}
