/* test_p11: every suite of the module's unit tests in one SRunner.
 *
 * The PKCS#15 and card-driver tests (test_pkcs15*.c, test_drv_*.c) live in this folder
 * too: declare their Suite functions in the list below; a weak declaration keeps this
 * file linking while a suite does not exist yet. */
#include <stdlib.h>

#include "p11_test.h"

/* Suites of the PKCS#15 / card-driver author: add names here. */
extern Suite *pkcs15_suite(void) __attribute__((weak));
extern Suite *drv_kaztoken_suite(void) __attribute__((weak));
extern Suite *drv_etoken_suite(void) __attribute__((weak));
extern Suite *drv_jacarta_suite(void) __attribute__((weak));
extern Suite *drv_pkcs12_suite(void) __attribute__((weak));
extern Suite *drv_pkcs12_write_suite(void) __attribute__((weak));
/* Robustness suites (test_hostile*.c, test_misuse*.c). */
extern Suite *hostile_pkcs15_suite(void) __attribute__((weak));
extern Suite *misuse_suite(void) __attribute__((weak));
extern Suite *misuse_args_suite(void) __attribute__((weak));
extern Suite *hostile_yank_suite(void) __attribute__((weak));
/* Concurrency on embedded tokens (test_threads_embedded.c). */
extern Suite *threads_embedded_suite(void) __attribute__((weak));

int main(void)
{
    /* RSA keys are made once here, before Check forks a process per test. */
    mock_keys_init();

    SRunner *sr = srunner_create(attrs_suite());
    srunner_add_suite(sr, init_suite());
    srunner_add_suite(sr, slot_suite());
    srunner_add_suite(sr, session_suite());
    srunner_add_suite(sr, pin_suite());
    srunner_add_suite(sr, object_suite());
    srunner_add_suite(sr, create_suite());
    srunner_add_suite(sr, crypto_suite());
    srunner_add_suite(sr, trace_suite());
    srunner_add_suite(sr, threads_suite());
    srunner_add_suite(sr, rename_suite());
    srunner_add_suite(sr, options_suite());
    srunner_add_suite(sr, drv_pkcs12_ids_suite());
    Suite *(*const external[])(void) = {pkcs15_suite,      drv_kaztoken_suite,
                                        drv_etoken_suite,  drv_jacarta_suite,
                                        drv_pkcs12_suite,  drv_pkcs12_write_suite,
                                        hostile_pkcs15_suite, misuse_suite,
                                        misuse_args_suite, threads_embedded_suite,
                                        hostile_yank_suite};
    for (size_t i = 0; i < sizeof(external) / sizeof(external[0]); i++)
        if (external[i])
            srunner_add_suite(sr, external[i]());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
