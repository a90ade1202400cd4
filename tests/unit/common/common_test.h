/* The suites of test_common (common/: vt_buf, hex, decimal numbers, wipe and
 * constant-time compare). */
#ifndef COMMON_TEST_H
#define COMMON_TEST_H

#include <check.h>

#include "vt_util.h"

Suite *buf_suite(void);
Suite *hex_suite(void);
Suite *num_suite(void);
Suite *wipe_suite(void);

#endif
