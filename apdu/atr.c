/* Answer-to-Reset (ISO/IEC 7816-3 section 8): parsing into interface byte groups,
 * historical bytes and TCK, and building the bytes back from the same structure.
 * The ATR is taken as the reader reports it: already in direct convention past TS. */
#include "atr.h"
#include "tlv.h"

#include <stdio.h>
#include <string.h>

/* Table 7 (Fi) and Table 8 (Di); 0 marks an RFU value. */
static const uint16_t fi_table[16] = {372, 372, 558, 744,  1116, 1488, 1860, 0,
                                      0,   512, 768, 1024, 1536, 2048, 0,    0};
static const uint16_t di_table[16] = {0, 1, 2, 4, 8, 16, 32, 64, 12, 20, 0, 0, 0, 0, 0, 0};

static uint8_t xor_bytes(const uint8_t *p, size_t n)
{
    uint8_t x = 0;
    for (size_t i = 0; i < n; i++)
        x ^= p[i];
    return x;
}

/* Presence bits (TA=1, TB=2, TC=4, TD=8) of one interface byte group. */
static uint8_t level_y(const apdu_atr_level *l)
{
    return (uint8_t)((l->has_ta ? 1 : 0) | (l->has_tb ? 2 : 0) | (l->has_tc ? 4 : 0) |
                     (l->has_td ? 8 : 0));
}

static void derive(apdu_atr *a)
{
    a->fi = 372;
    a->di = 1;
    if (a->level[0].has_ta) {
        a->fi = fi_table[a->level[0].ta >> 4];
        a->di = di_table[a->level[0].ta & 0x0f];
    }
    /* TAi for i > 2 following a TD(i-1) that names T=1 is IFSC (7816-3 11.4.2). */
    a->ifsc = 32;
    for (size_t k = 2; k < a->nlevels; k++) {
        if ((a->level[k - 1].td & 0x0f) == 1 && a->level[k].has_ta) {
            a->ifsc = a->level[k].ta;
            break;
        }
    }
}

apdu_status apdu_atr_parse(const uint8_t *buf, size_t len, apdu_atr *out)
{
    if (buf == NULL || out == NULL)
        return APDU_ERR_ARGS;
    memset(out, 0, sizeof(*out));
    if (len > 0 && buf[0] != 0x3b && buf[0] != 0x3f)
        return APDU_ERR_ATR_TS;
    if (len < 2)
        return APDU_ERR_ATR_SHORT;
    if (len > APDU_ATR_MAX_LEN)
        return APDU_ERR_ATR_TOO_LONG;

    out->ts = buf[0];
    out->t0 = buf[1];
    size_t i = 2;
    uint8_t y = buf[1] >> 4;
    size_t k = 0;
    bool any_td = false;
    for (;;) {
        if (k >= APDU_ATR_MAX_LEVELS)
            return APDU_ERR_ATR_LEVELS;
        apdu_atr_level *l = &out->level[k];
        size_t need = (size_t)(y & 1u) + (y >> 1 & 1u) + (y >> 2 & 1u) + (y >> 3 & 1u);
        if (len - i < need)
            return APDU_ERR_ATR_SHORT;
        if (y & 1) {
            l->has_ta = true;
            l->ta = buf[i++];
        }
        if (y & 2) {
            l->has_tb = true;
            l->tb = buf[i++];
        }
        if (y & 4) {
            l->has_tc = true;
            l->tc = buf[i++];
        }
        if (!(y & 8))
            break;
        l->has_td = true;
        l->td = buf[i++];
        unsigned t = l->td & 0x0fu;
        out->protocols |= (uint16_t)(1u << t);
        if (!any_td)
            out->first_protocol = (int)t;
        any_td = true;
        y = l->td >> 4;
        k++;
    }
    out->nlevels = k + 1;
    if (!any_td)
        out->protocols = 1; /* no TD1: T=0 only */

    size_t nhist = buf[1] & 0x0fu;
    if (len - i < nhist)
        return APDU_ERR_ATR_SHORT;
    memcpy(out->hist, buf + i, nhist);
    out->hist_len = nhist;
    i += nhist;

    /* TCK is mandatory once anything but T=0 is indicated (7816-3 8.2.5); a T=0 card
     * may still send one, and then it must check too. */
    bool need_tck = (out->protocols & ~1u) != 0;
    if (need_tck && i == len)
        return APDU_ERR_ATR_TCK_MISSING;
    if (i < len && (need_tck || len - i == 1)) {
        out->has_tck = true;
        out->tck = buf[i++];
        if (xor_bytes(buf + 1, i - 1) != 0)
            return APDU_ERR_ATR_TCK;
        out->tck_valid = true;
    }
    if (i < len)
        return APDU_ERR_ATR_TOO_LONG;
    derive(out);
    return APDU_OK;
}

apdu_status apdu_atr_build(const apdu_atr *atr, uint8_t *out, size_t cap, size_t *outlen)
{
    if (atr == NULL || out == NULL || outlen == NULL)
        return APDU_ERR_ARGS;
    if (atr->ts != 0x3b && atr->ts != 0x3f)
        return APDU_ERR_ATR_TS;
    /* A TD in the last group we keep would announce one more group. */
    if (atr->nlevels > APDU_ATR_MAX_LEVELS ||
        (atr->nlevels == APDU_ATR_MAX_LEVELS && atr->level[APDU_ATR_MAX_LEVELS - 1].has_td))
        return APDU_ERR_ATR_LEVELS;
    if (atr->hist_len > APDU_ATR_MAX_HIST)
        return APDU_ERR_ATR_TOO_LONG;

    /* Worst case: TS T0, 8 groups of 4, 15 historical bytes, TCK. */
    uint8_t b[2 + 4 * APDU_ATR_MAX_LEVELS + APDU_ATR_MAX_HIST + 1];
    size_t n = 0;
    bool need_tck = false;
    size_t nl = atr->nlevels;
    b[n++] = atr->ts;
    b[n++] = (uint8_t)((nl > 0 ? level_y(&atr->level[0]) : 0) << 4 | atr->hist_len);
    for (size_t k = 0; k < nl; k++) {
        const apdu_atr_level *l = &atr->level[k];
        /* Group k+1 can only be announced by a TD in group k. */
        if (k + 1 < nl && !l->has_td)
            return APDU_ERR_ARGS;
        if (l->has_ta)
            b[n++] = l->ta;
        if (l->has_tb)
            b[n++] = l->tb;
        if (l->has_tc)
            b[n++] = l->tc;
        if (l->has_td) {
            uint8_t next = k + 1 < nl ? level_y(&atr->level[k + 1]) : 0;
            b[n++] = (uint8_t)(next << 4 | (l->td & 0x0f));
            if ((l->td & 0x0f) != 0)
                need_tck = true;
        }
    }
    memcpy(b + n, atr->hist, atr->hist_len);
    n += atr->hist_len;
    if (need_tck || atr->has_tck) {
        b[n] = xor_bytes(b + 1, n - 1);
        n++;
    }
    if (n > APDU_ATR_MAX_LEN)
        return APDU_ERR_ATR_TOO_LONG;
    if (cap < n)
        return APDU_ERR_BUFFER;
    memcpy(out, b, n);
    *outlen = n;
    return APDU_OK;
}

int apdu_atr_protocols_str(const apdu_atr *atr, char *out, size_t cap)
{
    if (out == NULL)
        cap = 0;
    else if (cap > 0)
        out[0] = '\0';
    if (atr == NULL)
        return 0;
    size_t total = 0;
    /* T=15 is not a protocol, only the marker for global interface bytes. */
    for (unsigned t = 0; t < 15; t++) {
        if (!(atr->protocols & (1u << t)))
            continue;
        size_t at = total < cap ? total : cap;
        int r = snprintf(out ? out + at : NULL, cap - at, "%sT=%u", total ? ", " : "", t);
        if (r < 0)
            return r;
        total += (size_t)r;
    }
    return (int)total;
}

bool apdu_atr_extended_length(const apdu_atr *atr)
{
    if (atr == NULL || atr->hist_len < 1 || atr->hist_len > APDU_ATR_MAX_HIST)
        return false;
    size_t n = atr->hist_len;
    if (atr->hist[0] == 0x00) {
        if (n < 4)
            return false;
        n -= 3; /* the status indicator closes category 00 */
    } else if (atr->hist[0] != 0x80) {
        return false;
    }
    apdu_tlv_iter it;
    apdu_ctlv o;
    apdu_tlv_iter_init(&it, atr->hist + 1, n - 1);
    while (apdu_ctlv_next(&it, &o) == APDU_OK)
        if (o.tag == 7 && o.len >= 3)
            return (o.value[2] & 0x40) != 0;
    return false;
}
