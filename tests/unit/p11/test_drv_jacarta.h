/* The two halves of the JaCarta driver suite: the driver over an in-process card
 * (test_drv_jacarta.c) and the module with an embedded JaCarta (test_drv_jacarta_module.c). */
#ifndef TEST_DRV_JACARTA_H
#define TEST_DRV_JACARTA_H

#include <check.h>

Suite *drv_jacarta_suite(void);
TCase *drv_jacarta_module_tcase(void);

#endif
