/* Shared helpers for the apdu unit tests: hex literals, a fixed-seed PRNG for the
 * round-trip properties, and the list of suites main.c runs. */
#ifndef APDU_TEST_H
#define APDU_TEST_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "apdu.h"
#include "vt_util.h"

Suite *apdu_suite(void);
Suite *sw_suite(void);
Suite *tlv_suite(void);
Suite *atr_suite(void);
Suite *exchange_suite(void);
Suite *pcsc_suite(void);

/* Bytes of a hex literal ("00 A4 04 00"); fails the test on bad hex. */
size_t at_hex(const char *hex, uint8_t *out, size_t cap);

/* splitmix64: same sequence on every run, so a failing case can be replayed. */
typedef struct at_rng {
    uint64_t s;
} at_rng;
uint64_t at_rand(at_rng *r);
/* Uniform in [lo, hi]. */
size_t at_range(at_rng *r, size_t lo, size_t hi);
void at_fill(at_rng *r, uint8_t *p, size_t n);

#endif
