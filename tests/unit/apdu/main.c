/* test_apdu: every apdu suite in one SRunner; exits non-zero on any failure. */
#include <stdlib.h>

#include "apdu_test.h"

int main(void)
{
    SRunner *sr = srunner_create(apdu_suite());
    srunner_add_suite(sr, sw_suite());
    srunner_add_suite(sr, tlv_suite());
    srunner_add_suite(sr, atr_suite());
    srunner_add_suite(sr, exchange_suite());
    srunner_add_suite(sr, pcsc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
