/* Helpers shared by the apdu suites: hex literals and the fixed-seed PRNG. */
#include "apdu_test.h"

size_t at_hex(const char *hex, uint8_t *out, size_t cap)
{
    long n = vt_hex_decode(hex, out, cap);
    ck_assert_msg(n >= 0, "bad hex literal in test: %s", hex);
    return (size_t)n;
}

uint64_t at_rand(at_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

size_t at_range(at_rng *r, size_t lo, size_t hi)
{
    return lo + (size_t)(at_rand(r) % (uint64_t)(hi - lo + 1));
}

void at_fill(at_rng *r, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)at_rand(r);
}
