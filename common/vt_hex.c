/* Hex conversion for serials, key IDs, traces and test vectors. */
#include "vt_util.h"

#include <ctype.h>

void vt_hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * len] = '\0';
}

static int nibble(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

long vt_hex_decode(const char *in, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*in) {
        if (*in == ' ' || *in == ':' || *in == '\t' || *in == '\n') {
            in++;
            continue;
        }
        int hi = nibble((unsigned char)in[0]);
        int lo = in[1] ? nibble((unsigned char)in[1]) : -1;
        if (hi < 0 || lo < 0 || n >= cap)
            return -1;
        out[n++] = (uint8_t)(hi << 4 | lo);
        in += 2;
    }
    return (long)n;
}
