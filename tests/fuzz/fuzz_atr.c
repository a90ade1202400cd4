/* fuzz_atr: the ATR parser on arbitrary bytes (whatever parses builds back to the same
 * bytes), and the builder on arbitrary structures (whatever builds parses back). */
#include <stdlib.h>
#include <string.h>

#include "atr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                                                 \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

static void same_fields(const apdu_atr *a, const apdu_atr *b)
{
    REQUIRE(a->ts == b->ts && a->t0 == b->t0 && a->nlevels == b->nlevels);
    REQUIRE(memcmp(a->level, b->level, sizeof(a->level)) == 0);
    REQUIRE(a->hist_len == b->hist_len && memcmp(a->hist, b->hist, a->hist_len) == 0);
    REQUIRE(a->has_tck == b->has_tck && a->tck == b->tck && a->tck_valid == b->tck_valid);
    REQUIRE(a->protocols == b->protocols && a->first_protocol == b->first_protocol);
    REQUIRE(a->fi == b->fi && a->di == b->di && a->ifsc == b->ifsc);
}

static void parse_side(const uint8_t *data, size_t size)
{
    apdu_atr a, b;
    if (apdu_atr_parse(data, size, &a) != APDU_OK)
        return;
    uint8_t out[APDU_ATR_MAX_LEN];
    size_t n;
    REQUIRE(apdu_atr_build(&a, out, sizeof(out), &n) == APDU_OK);
    REQUIRE(n == size && memcmp(out, data, size) == 0);
    REQUIRE(apdu_atr_parse(out, n, &b) == APDU_OK);
    same_fields(&a, &b);
    char s[64];
    int len = apdu_atr_protocols_str(&a, s, sizeof(s));
    REQUIRE(len >= 0 && (size_t)len < sizeof(s) && strlen(s) == (size_t)len);
    (void)apdu_atr_extended_length(&a);
}

/* The input as a structure: presence flags and values for each group, then history. */
static void build_side(const uint8_t *data, size_t size)
{
    if (size < 3)
        return;
    apdu_atr a;
    memset(&a, 0, sizeof(a));
    a.ts = (data[0] & 1) ? 0x3b : 0x3f;
    a.nlevels = data[1] % (APDU_ATR_MAX_LEVELS + 1);
    a.has_tck = (data[2] & 1) != 0;
    size_t i = 3;
    for (size_t k = 0; k < a.nlevels && i + 5 <= size; k++, i += 5) {
        apdu_atr_level *l = &a.level[k];
        l->has_ta = data[i] & 1;
        l->has_tb = data[i] & 2;
        l->has_tc = data[i] & 4;
        l->has_td = (data[i] & 8) || k + 1 < a.nlevels;
        l->ta = data[i + 1];
        l->tb = data[i + 2];
        l->tc = data[i + 3];
        l->td = data[i + 4];
    }
    a.hist_len = size - i > APDU_ATR_MAX_HIST ? APDU_ATR_MAX_HIST : size - i;
    memcpy(a.hist, data + i, a.hist_len);

    uint8_t out[APDU_ATR_MAX_LEN], again[APDU_ATR_MAX_LEN];
    size_t n, m;
    if (apdu_atr_build(&a, out, sizeof(out), &n) != APDU_OK)
        return;
    apdu_atr p;
    REQUIRE(apdu_atr_parse(out, n, &p) == APDU_OK);
    REQUIRE(p.hist_len == a.hist_len && memcmp(p.hist, a.hist, a.hist_len) == 0);
    REQUIRE(apdu_atr_build(&p, again, sizeof(again), &m) == APDU_OK);
    REQUIRE(m == n && memcmp(again, out, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse_side(data, size);
    build_side(data, size);
    return 0;
}
