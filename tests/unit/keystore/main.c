/* test_keystore: every keystore suite in one SRunner; exits non-zero on any failure. */
#include <stdlib.h>

#include "ks_test.h"

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    srunner_add_suite(sr, file_suite());
    srunner_add_suite(sr, image_suite());
    srunner_add_suite(sr, image_file_suite());
    srunner_add_suite(sr, pwrule_suite());
    srunner_add_suite(sr, p12_suite());
    srunner_add_suite(sr, p12_write_suite());
    srunner_add_suite(sr, p12_mem_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
