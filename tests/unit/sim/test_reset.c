/* sim_card_reset: a card back in its factory state keeps its serial number, as a real
 * token keeps the one in its ROM; only an image that cannot be read (or one of another
 * family) gets a new one. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "sim_test.h"

#include "image.h"

static const char *const profiles[] = {"kaztoken", "etoken", "jacarta"};

/* The serial as the JaCarta's TokenInfo EF (3F00/3000/C000, offset 80) carries it. */
static void tokeninfo_serial(const ks_image *img, char out[17])
{
    static const uint8_t ti[] = {0x3F, 0x00, 0x30, 0x00, 0xC0, 0x00};
    sim_path p;
    sim_path_set(&p, ti, sizeof(ti));
    long i = sim_img_find(img, &p, SIM_KIND_FILE);
    ck_assert_int_ge(i, 0);
    ck_assert_uint_ge(img->nodes[i].body_len, 96);
    memcpy(out, img->nodes[i].body + 80, 16);
    out[16] = '\0';
}

START_TEST(reset_keeps_the_serial)
{
    const char *profile = profiles[_i];
    tcard t;
    sim_card_info before, after;
    ks_image img;
    sim_card *other = NULL;
    bool kept = false;

    tc_setup(&t, profile);
    ck_assert_int_eq(sim_card_get_info(t.card, &before), SIM_OK);
    tc_load(&t, &img);
    uint64_t gen = img.generation;
    ks_image_free(&img);

    ck_assert_int_eq(sim_card_reset(t.path, profile, &kept), SIM_OK);
    ck_assert(kept);
    ck_assert_int_eq(sim_card_open(t.path, &other, NULL), SIM_OK);
    ck_assert_int_eq(sim_card_get_info(other, &after), SIM_OK);
    ck_assert_str_eq(after.serial_hex, before.serial_hex);
    ck_assert_int_eq(after.user_tries_left, after.user_tries_max);
    sim_card_close(other);
    tc_load(&t, &img);
    /* a new generation: every process holding the card sees the change */
    ck_assert_uint_gt(img.generation, gen);
    if (strcmp(profile, "jacarta") == 0) {
        char ti[17], want[17];
        tokeninfo_serial(&img, ti);
        for (size_t i = 0; i < 16; i++)
            want[i] = (char)(before.serial_hex[i] >= 'a' ? before.serial_hex[i] - 'a' + 'A'
                                                         : before.serial_hex[i]);
        want[16] = '\0';
        ck_assert_str_eq(ti, want);
    }
    ks_image_free(&img);
    tc_teardown(&t);
}
END_TEST

/* The factory state itself: PIN tries back, objects gone, label back. */
START_TEST(reset_restores_the_factory_state)
{
    tcard t;
    sim_card_info info;
    bool kept = false;

    tc_setup(&t, "kaztoken");
    ck_assert_uint_eq(kz_verify_pin(t.conn, 1, "00000000"), 0x6300);
    ck_assert_int_eq(sim_card_get_info(t.card, &info), SIM_OK);
    ck_assert_int_eq(info.so_tries_left, 9);
    ck_assert_int_eq(sim_card_reset(t.path, "kaztoken", &kept), SIM_OK);
    ck_assert(kept);
    /* the open card notices the new image */
    ck_assert_int_eq(sim_card_get_info(t.card, &info), SIM_OK);
    ck_assert_int_eq(info.so_tries_left, 10);
    ck_assert_uint_eq(tx(t.conn, "00200001", NULL), 0x63CA);
    tc_teardown(&t);
}
END_TEST

/* What cannot give a serial gets a new one: a damaged image, another family's image, no
 * image at all. Bad arguments change nothing. */
START_TEST(reset_without_a_serial_to_keep)
{
    tcard t;
    sim_card_info before, after;
    sim_card *other = NULL;
    bool kept = true;
    FILE *f;

    tc_setup(&t, "etoken");
    ck_assert_int_eq(sim_card_get_info(t.card, &before), SIM_OK);
    ck_assert_int_eq(sim_card_reset(t.path, "nosuch", &kept), SIM_ERR_PROFILE);
    ck_assert_int_eq(sim_card_reset(NULL, "etoken", &kept), SIM_ERR_ARGS);
    /* the family changed in vtoken.conf: another card, another serial */
    ck_assert_int_eq(sim_card_reset(t.path, "jacarta", &kept), SIM_OK);
    ck_assert(!kept);
    ck_assert_int_eq(sim_card_open(t.path, &other, NULL), SIM_OK);
    ck_assert_int_eq(sim_card_get_info(other, &after), SIM_OK);
    ck_assert_str_eq(after.profile, "jacarta");
    ck_assert_str_ne(after.serial_hex, before.serial_hex);
    sim_card_close(other);
    other = NULL;

    f = fopen(t.path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not a card image", f);
    fclose(f);
    kept = true;
    ck_assert_int_eq(sim_card_reset(t.path, "kaztoken", &kept), SIM_OK);
    ck_assert(!kept);
    ck_assert_int_eq(sim_card_open(t.path, &other, NULL), SIM_OK);
    ck_assert_int_eq(sim_card_get_info(other, &after), SIM_OK);
    ck_assert_str_eq(after.profile, "kaztoken");
    sim_card_close(other);
    other = NULL;

    ck_assert_int_eq(remove(t.path), 0);
    kept = true;
    ck_assert_int_eq(sim_card_reset(t.path, "kaztoken", NULL), SIM_OK);
    ck_assert_int_eq(sim_card_open(t.path, &other, NULL), SIM_OK);
    sim_card_close(other);
    tc_teardown(&t);
}
END_TEST

Suite *reset_suite(void)
{
    Suite *s = suite_create("reset");
    TCase *tc = tcase_create("reset");
    tcase_add_loop_test(tc, reset_keeps_the_serial, 0, 3);
    tcase_add_test(tc, reset_restores_the_factory_state);
    tcase_add_test(tc, reset_without_a_serial_to_keep);
    suite_add_tcase(s, tc);
    return s;
}
