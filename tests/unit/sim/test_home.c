/* $VTOKEN_HOME: resolution order, a fresh home with its three factory tokens and
 * ports, relative and absolute image paths, re-creation of a missing image, and
 * malformed configurations, which are reported and never rewritten. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim_test.h"

static void mkhome(char *dir, size_t cap)
{
    snprintf(dir, cap, "/tmp/vt-home-test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

START_TEST(test_resolve)
{
    char out[256];
    setenv("VTOKEN_HOME", "/a/b", 1);
    ck_assert_int_eq(sim_home_resolve("/explicit", out, sizeof(out)), SIM_OK);
    ck_assert_str_eq(out, "/explicit");
    ck_assert_int_eq(sim_home_resolve(NULL, out, sizeof(out)), SIM_OK);
    ck_assert_str_eq(out, "/a/b");
    unsetenv("VTOKEN_HOME");
    setenv("XDG_DATA_HOME", "/x", 1);
    ck_assert_int_eq(sim_home_resolve(NULL, out, sizeof(out)), SIM_OK);
    ck_assert_str_eq(out, "/x/vtoken");
    unsetenv("XDG_DATA_HOME");
    setenv("HOME", "/h", 1);
    ck_assert_int_eq(sim_home_resolve(NULL, out, sizeof(out)), SIM_OK);
    ck_assert_str_eq(out, "/h/.local/share/vtoken");
    ck_assert_int_eq(sim_home_resolve("/a/very/long/path", out, 5), SIM_ERR_ARGS);
}
END_TEST

START_TEST(test_fresh_home)
{
    char dir[64], conf[128];
    sim_home *h = NULL;
    const sim_token_conf *t;
    sim_card *card = NULL;
    sim_card_info info;
    static const struct {
        const char *name;
        int port;
    } want[] = {{"kaztoken", 35963}, {"etoken", 35965}, {"jacarta", 35967}};

    mkhome(dir, sizeof(dir));
    ck_assert_int_eq(sim_home_open(dir, &h, NULL), SIM_OK);
    ck_assert_str_eq(sim_home_dir(h), dir);
    ck_assert_uint_eq(sim_home_token_count(h), 3);
    for (size_t i = 0; i < 3; i++) {
        char img[128];
        t = sim_home_token(h, i);
        ck_assert_str_eq(t->name, want[i].name);
        ck_assert_str_eq(t->profile, want[i].name);
        ck_assert_int_eq(t->vpcd_port, want[i].port);
        snprintf(img, sizeof(img), "%s/tokens/%s.img", dir, want[i].name);
        ck_assert_str_eq(t->image, img);
        ck_assert(exists(img));
        ck_assert_ptr_eq(sim_home_find(h, want[i].name), t);
    }
    ck_assert_ptr_null(sim_home_find(h, "nosuch"));
    ck_assert_ptr_null(sim_home_token(h, 3));
    snprintf(conf, sizeof(conf), "%s/vtoken.conf", dir);
    ck_assert(exists(conf));

    /* the Kaztoken is factory-fresh */
    ck_assert_int_eq(sim_card_open(sim_home_find(h, "kaztoken")->image, &card, NULL), SIM_OK);
    ck_assert_int_eq(sim_card_get_info(card, &info), SIM_OK);
    ck_assert_int_eq(info.user_tries_left, 10);
    sim_card_close(card);

    /* a second open reads the same tokens and keeps the images */
    {
        ks_image_file *f = NULL;
        ks_image a, b;
        sim_home *h2 = NULL;
        ck_assert_int_eq(ks_image_file_open(sim_home_find(h, "kaztoken")->image, &f), KS_OK);
        ck_assert_int_eq(ks_image_file_load(f, &a), KS_OK);
        ck_assert_int_eq(sim_home_open(dir, &h2, NULL), SIM_OK);
        ck_assert_int_eq(ks_image_file_load(f, &b), KS_OK);
        ck_assert_mem_eq(a.serial, b.serial, a.serial_len);
        ck_assert_uint_eq(sim_home_token_count(h2), 3);
        ks_image_free(&a);
        ks_image_free(&b);
        ks_image_file_close(f);
        sim_home_close(h2);
    }
    sim_home_close(h);
    rmrf(dir);
}
END_TEST

START_TEST(test_custom_conf)
{
    char dir[64], path[256], img[256];
    sim_home *h = NULL;
    const sim_token_conf *t;

    mkhome(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/vtoken.conf", dir);
    snprintf(img, sizeof(img), "%s/elsewhere.img", dir);
    {
        char text[1024];
        snprintf(text, sizeof(text),
                 "# my tokens\n[module]\nlog = 1\n[token work]\nprofile = kaztoken\n"
                 "image = cards/work.img\nvpcd_port = 40000\n"
                 "[token abs]\nprofile = kaztoken\nimage = %s\n",
                 img);
        write_file(path, text);
    }
    ck_assert_int_eq(sim_home_open(dir, &h, NULL), SIM_OK);
    ck_assert_uint_eq(sim_home_token_count(h), 2);
    t = sim_home_find(h, "work");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->vpcd_port, 40000);
    snprintf(path, sizeof(path), "%s/cards/work.img", dir);
    ck_assert_str_eq(t->image, path);
    ck_assert(exists(path)); /* its directory was created too */
    ck_assert(exists(img));
    ck_assert_str_eq(sim_home_find(h, "abs")->image, img);
    ck_assert_int_eq(sim_home_find(h, "abs")->vpcd_port, 0);
    sim_home_close(h);
    rmrf(dir);
}
END_TEST

START_TEST(test_missing_image_recreated)
{
    char dir[64];
    sim_home *h = NULL;
    mkhome(dir, sizeof(dir));
    ck_assert_int_eq(sim_home_open(dir, &h, NULL), SIM_OK);
    char img[4096];
    snprintf(img, sizeof(img), "%s", sim_home_find(h, "jacarta")->image);
    sim_home_close(h);
    ck_assert_int_eq(unlink(img), 0);
    ck_assert_int_eq(sim_home_open(dir, &h, NULL), SIM_OK);
    ck_assert(exists(img));
    sim_home_close(h);
    rmrf(dir);
}
END_TEST

static void expect_bad(const char *text, const char *needle)
{
    char dir[64], path[128];
    sim_home *h = NULL;
    char *why = NULL;
    vt_buf before = {0}, after = {0};
    mkhome(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/vtoken.conf", dir);
    write_file(path, text);
    ck_assert_int_eq(ks_read_file(path, 1 << 16, &before), KS_OK);
    ck_assert_int_eq(sim_home_open(dir, &h, &why), SIM_ERR_CONFIG);
    ck_assert_ptr_null(h);
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strstr(why, needle) != NULL, "\"%s\" lacks \"%s\"", why, needle);
    free(why);
    ck_assert_int_eq(ks_read_file(path, 1 << 16, &after), KS_OK);
    ck_assert_uint_eq(before.len, after.len);
    ck_assert_mem_eq(before.data, after.data, before.len);
    vt_buf_free(&before);
    vt_buf_free(&after);
    rmrf(dir);
}

START_TEST(test_bad_conf)
{
    expect_bad("[token a\nprofile = kaztoken\n", "vtoken.conf");
    expect_bad("[token a]\nprofile = nosuch\n", "nosuch");
    expect_bad("[token a]\nimage = x.img\n", "profile");
    expect_bad("[token a]\nprofile = kaztoken\nvpcd_port = 70000\n", "70000");
    expect_bad("[token a]\nprofile = kaztoken\nvpcd_port = 12x\n", "12x");
    expect_bad("[token]\nprofile = kaztoken\n", "name");
}
END_TEST

Suite *home_suite(void)
{
    Suite *s = suite_create("home");
    TCase *tc = tcase_create("home");
    tcase_add_test(tc, test_resolve);
    tcase_add_test(tc, test_fresh_home);
    tcase_add_test(tc, test_custom_conf);
    tcase_add_test(tc, test_missing_image_recreated);
    tcase_add_test(tc, test_bad_conf);
    suite_add_tcase(s, tc);
    return s;
}
