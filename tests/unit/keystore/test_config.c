/* vtoken.conf parser: accepted syntax, errors with file:line, editing, and a round
 * trip through ks_config_save()/ks_config_load(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "ks_test.h"

static ks_config *parse_ok(const char *text)
{
    ks_config *c = NULL;
    char *err = NULL;
    ks_status rv = ks_config_parse(text, strlen(text), "t.conf", &c, &err);
    ck_assert_msg(rv == KS_OK, "parse failed: %s", err ? err : "(no message)");
    ck_assert_ptr_null(err);
    return c;
}

/* Parse must fail with KS_ERR_CORRUPT and exactly this message. */
static void parse_bad(const char *text, const char *want)
{
    ks_config *c = (ks_config *)1;
    char *err = NULL;
    ks_status rv = ks_config_parse(text, strlen(text), "t.conf", &c, &err);
    ck_assert_int_eq(rv, KS_ERR_CORRUPT);
    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(err);
    ck_assert_str_eq(err, want);
    free(err);
}

START_TEST(basic_sections_in_order)
{
    ks_config *c = parse_ok("# vtoken\n"
                            "home = /x\n"
                            "; another comment\n"
                            "\n"
                            "[token kaztoken]\n"
                            "  profile =  kaztoken  \n"
                            "image=tokens/kaztoken.img\r\n"
                            "[token etoken]\n"
                            "profile = etoken\n"
                            "vpcd_port = 35964\n"
                            "[p12]\n"
                            "dir = /home/u/keys # not a comment\n"
                            "empty =\n"
                            "eq = a=b\n");
    ck_assert_uint_eq(ks_config_section_count(c), 4);
    ck_assert_str_eq(ks_config_section_type(c, 0), "");
    ck_assert_str_eq(ks_config_get(c, 0, "home"), "/x");
    ck_assert_str_eq(ks_config_section_type(c, 1), "token");
    ck_assert_str_eq(ks_config_section_name(c, 1), "kaztoken");
    ck_assert_str_eq(ks_config_get(c, 1, "profile"), "kaztoken");
    ck_assert_str_eq(ks_config_get(c, 1, "image"), "tokens/kaztoken.img");
    ck_assert_str_eq(ks_config_section_name(c, 2), "etoken");
    ck_assert_str_eq(ks_config_get(c, 2, "vpcd_port"), "35964");
    ck_assert_ptr_null(ks_config_get(c, 2, "image"));
    ck_assert_str_eq(ks_config_section_type(c, 3), "p12");
    ck_assert_str_eq(ks_config_section_name(c, 3), "");
    ck_assert_str_eq(ks_config_get(c, 3, "dir"), "/home/u/keys # not a comment");
    ck_assert_str_eq(ks_config_get(c, 3, "empty"), "");
    ck_assert_str_eq(ks_config_get(c, 3, "eq"), "a=b");

    ck_assert_uint_eq(ks_config_find(c, "token", NULL), 1);
    ck_assert_uint_eq(ks_config_find(c, "token", "etoken"), 2);
    ck_assert_uint_eq(ks_config_find(c, "token", "jacarta"), (size_t)-1);
    ck_assert_uint_eq(ks_config_find(c, "", NULL), 0);

    ck_assert_uint_eq(ks_config_key_count(c, 2), 2);
    const char *v = NULL;
    ck_assert_str_eq(ks_config_key_at(c, 2, 0, &v), "profile");
    ck_assert_str_eq(v, "etoken");
    ck_assert_str_eq(ks_config_key_at(c, 2, 1, &v), "vpcd_port");
    ck_assert_ptr_null(ks_config_key_at(c, 2, 2, &v));
    ck_assert_ptr_null(ks_config_get(c, 9, "profile"));
    ck_assert_ptr_null(ks_config_section_type(c, 9));
    ks_config_free(c);
}
END_TEST

START_TEST(empty_text_has_top_section)
{
    ks_config *c = parse_ok("");
    ck_assert_uint_eq(ks_config_section_count(c), 1);
    ck_assert_uint_eq(ks_config_key_count(c, 0), 0);
    ks_config_free(c);
    c = parse_ok("\n\n   \n# only comments\n");
    ck_assert_uint_eq(ks_config_section_count(c), 1);
    ks_config_free(c);
}
END_TEST

START_TEST(errors_name_file_and_line)
{
    parse_bad("a = 1\nnot a pair\n", "t.conf:2: expected key = value");
    parse_bad("[token kaztoken\n", "t.conf:1: section header must end with ']'");
    parse_bad("\n\n[]\n", "t.conf:3: empty section header");
    parse_bad("[ token a b ]\n", "t.conf:1: section header has more than a type and a name");
    parse_bad("[tok/en]\n",
              "t.conf:1: section type may hold only letters, digits, '_', '-' and '.'");
    parse_bad("[token ka$]\n",
              "t.conf:1: section name may hold only letters, digits, '_', '-' and '.'");
    parse_bad("[token a]\nx=1\n[token a]\n", "t.conf:3: duplicate section");
    parse_bad("[token a]\nx = 1\n# c\nx = 2\n", "t.conf:4: duplicate key in section");
    parse_bad("= 5\n", "t.conf:1: missing key before '='");
    parse_bad("my key = 5\n", "t.conf:1: key may hold only letters, digits, '_', '-' and '.'");
    parse_bad("a = 1\r\nb = x\x01y\r\n", "t.conf:2: control character in line");
    parse_bad("a = 1\nb = 2\nc\n", "t.conf:3: expected key = value");
    /* A NUL inside the text is reported on its line, not silently truncated. */
    static const char nul[] = "a = 1\nb = 2\0c = 3\n";
    ks_config *c = NULL;
    char *err = NULL;
    ck_assert_int_eq(ks_config_parse(nul, sizeof(nul) - 1, "n.conf", &c, &err), KS_ERR_CORRUPT);
    ck_assert_str_eq(err, "n.conf:2: NUL byte in configuration");
    free(err);
}
END_TEST

START_TEST(repeated_unnamed_sections_allowed)
{
    ks_config *c = parse_ok("[p12]\ndir = /a\n[p12]\ndir = /b\n");
    ck_assert_uint_eq(ks_config_section_count(c), 3);
    ck_assert_str_eq(ks_config_get(c, 1, "dir"), "/a");
    ck_assert_str_eq(ks_config_get(c, 2, "dir"), "/b");
    ks_config_free(c);
}
END_TEST

START_TEST(editing)
{
    ks_config *c = ks_config_new();
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(ks_config_add_section(c, "", NULL), 0);
    size_t k = ks_config_add_section(c, "token", "kaztoken");
    ck_assert_uint_eq(k, 1);
    ck_assert_uint_eq(ks_config_add_section(c, "token", "kaztoken"), (size_t)-1);
    ck_assert_uint_eq(ks_config_add_section(c, "bad type", NULL), (size_t)-1);
    ck_assert_uint_eq(ks_config_add_section(c, "", "name"), (size_t)-1);
    ck_assert_int_eq(ks_config_set(c, k, "profile", "kaztoken"), KS_OK);
    ck_assert_int_eq(ks_config_set(c, k, "profile", "etoken"), KS_OK);
    ck_assert_str_eq(ks_config_get(c, k, "profile"), "etoken");
    ck_assert_uint_eq(ks_config_key_count(c, k), 1);
    ck_assert_int_eq(ks_config_set(c, k, "bad key", "x"), KS_ERR_ARGS);
    ck_assert_int_eq(ks_config_set(c, k, "v", "two\nlines"), KS_ERR_ARGS);
    ck_assert_int_eq(ks_config_set(c, k, "v", " padded"), KS_ERR_ARGS);
    ck_assert_int_eq(ks_config_set(c, 7, "v", "x"), KS_ERR_ARGS);
    ck_assert_int_eq(ks_config_set(c, k, "profile", NULL), KS_OK);
    ck_assert_ptr_null(ks_config_get(c, k, "profile"));
    ck_assert_int_eq(ks_config_set(c, k, "absent", NULL), KS_OK);
    size_t e = ks_config_add_section(c, "token", "etoken");
    ck_assert_uint_eq(e, 2);
    ck_assert_int_eq(ks_config_remove_section(c, 0), KS_ERR_ARGS);
    ck_assert_int_eq(ks_config_remove_section(c, k), KS_OK);
    ck_assert_uint_eq(ks_config_section_count(c), 2);
    ck_assert_str_eq(ks_config_section_name(c, 1), "etoken");
    ks_config_free(c);
}
END_TEST

START_TEST(save_load_round_trip)
{
    char *dir = kt_mkdtemp();
    char *path = kt_path(dir, "vtoken.conf");
    ks_config *c = ks_config_new();
    ck_assert_int_eq(ks_config_set(c, 0, "version", "1"), KS_OK);
    size_t a = ks_config_add_section(c, "token", "kaztoken");
    ck_assert_int_eq(ks_config_set(c, a, "profile", "kaztoken"), KS_OK);
    ck_assert_int_eq(ks_config_set(c, a, "image", "/h/tokens/kaztoken.img"), KS_OK);
    ck_assert_int_eq(ks_config_set(c, a, "empty", ""), KS_OK);
    size_t p = ks_config_add_section(c, "p12", NULL);
    ck_assert_int_eq(ks_config_set(c, p, "dir", "/keys with spaces # and hash"), KS_OK);
    ck_assert_int_eq(ks_config_save(c, path), KS_OK);

    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0644);

    ks_config *r = NULL;
    char *err = NULL;
    ck_assert_int_eq(ks_config_load(path, &r, &err), KS_OK);
    ck_assert_uint_eq(ks_config_section_count(r), 3);
    ck_assert_str_eq(ks_config_get(r, 0, "version"), "1");
    ck_assert_str_eq(ks_config_section_type(r, 1), "token");
    ck_assert_str_eq(ks_config_section_name(r, 1), "kaztoken");
    ck_assert_str_eq(ks_config_get(r, 1, "image"), "/h/tokens/kaztoken.img");
    ck_assert_str_eq(ks_config_get(r, 1, "empty"), "");
    ck_assert_str_eq(ks_config_section_type(r, 2), "p12");
    ck_assert_str_eq(ks_config_get(r, 2, "dir"), "/keys with spaces # and hash");

    /* A second save keeps the owner's mode and leaves no temp file behind. */
    ck_assert_int_eq(chmod(path, 0600), 0);
    ck_assert_int_eq(ks_config_set(r, 1, "profile", "kaztoken"), KS_OK);
    ck_assert_int_eq(ks_config_save(r, path), KS_OK);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    ck_assert_uint_eq(kt_count_entries(dir), 1);
    ks_config_free(r);
    r = NULL;
    ck_assert_int_eq(ks_config_load(path, &r, &err), KS_OK);
    ck_assert_str_eq(ks_config_get(r, 1, "profile"), "kaztoken");

    ks_config_free(r);
    ks_config_free(c);
    kt_rmtree(dir);
    free(path);
    free(dir);
}
END_TEST

START_TEST(load_missing_and_bad_file)
{
    char *dir = kt_mkdtemp();
    char *path = kt_path(dir, "vtoken.conf");
    ks_config *c = NULL;
    char *err = NULL;
    ck_assert_int_eq(ks_config_load(path, &c, &err), KS_ERR_NOT_FOUND);
    ck_assert_ptr_null(c);
    ck_assert_ptr_null(err);

    const char *text = "[token kaztoken]\nprofile = kaztoken\n\n[token\n";
    ck_assert(kt_write(path, text, strlen(text)));
    ck_assert_int_eq(ks_config_load(path, &c, &err), KS_ERR_CORRUPT);
    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(err);
    char *want = NULL;
    ck_assert_int_gt(asprintf(&want, "%s:4: section header must end with ']'", path), 0);
    ck_assert_str_eq(err, want);
    free(want);
    free(err);
    kt_rmtree(dir);
    free(path);
    free(dir);
}
END_TEST

Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_set_timeout(tc, 120); /* generous for sanitizer builds on a busy machine */
    tcase_add_test(tc, basic_sections_in_order);
    tcase_add_test(tc, empty_text_has_top_section);
    tcase_add_test(tc, errors_name_file_and_line);
    tcase_add_test(tc, repeated_unnamed_sections_allowed);
    tcase_add_test(tc, editing);
    tcase_add_test(tc, save_load_round_trip);
    tcase_add_test(tc, load_missing_and_bad_file);
    suite_add_tcase(s, tc);
    return s;
}
