/* The two halves of the eToken driver suite: the driver over an in-process card
 * (test_drv_etoken.c) and the module with an embedded eToken (test_drv_etoken_module.c). */
#ifndef P11_TEST_DRV_ETOKEN_H
#define P11_TEST_DRV_ETOKEN_H

#include <check.h>

Suite *drv_etoken_suite(void);
TCase *drv_etoken_module_tcase(void);

#endif
