/* test_common: every common suite in one SRunner; exits non-zero on any failure. */
#include <stdlib.h>

#include "common_test.h"

int main(void)
{
    SRunner *sr = srunner_create(buf_suite());
    srunner_add_suite(sr, hex_suite());
    srunner_add_suite(sr, num_suite());
    srunner_add_suite(sr, wipe_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
