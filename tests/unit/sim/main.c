/* test_sim: every applet-sim suite in one SRunner; exits non-zero on any failure. */
#include <check.h>
#include <stdlib.h>

#include "sim_test.h"

Suite *hostile_suite(void);       /* test_hostile.c */
Suite *hostile_crash_suite(void); /* test_hostile_crash.c */

int main(void)
{
    SRunner *sr = srunner_create(engine_suite());
    srunner_add_suite(sr, fs_suite());
    srunner_add_suite(sr, pin_suite());
    srunner_add_suite(sr, key_suite());
    srunner_add_suite(sr, dialect_suite());
    srunner_add_suite(sr, transcript_suite());
    srunner_add_suite(sr, home_suite());
    srunner_add_suite(sr, vpcd_suite());
    srunner_add_suite(sr, jacarta_suite());
    srunner_add_suite(sr, etoken_suite());
    srunner_add_suite(sr, fault_suite());
    srunner_add_suite(sr, reset_suite());
    srunner_add_suite(sr, pool_suite());
    srunner_add_suite(sr, hostile_suite());
    srunner_add_suite(sr, hostile_crash_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
