/* The PKCS#12 password rule: NCA's "6-32 characters, an upper-case and a lower-case
 * Latin letter and a digit" as a small struct, parsed from and printed as a config
 * string, with a reason a person can act on when a password is refused. */
#include "p12.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void say(char *why, size_t cap, const char *msg)
{
    if (why != NULL && cap > 0)
        snprintf(why, cap, "%s", msg);
}

static void say_item(char *why, size_t cap, const char *before, const char *item, const char *after)
{
    if (why != NULL && cap > 0)
        snprintf(why, cap, "%s'%s'%s", before, item, after);
}

static bool parse_len(const char *s, size_t n, unsigned *out)
{
    char buf[16];
    char *end = NULL;
    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (buf[i] < '0' || buf[i] > '9')
            return false;
    errno = 0;
    unsigned long v = strtoul(buf, &end, 10);
    if (errno != 0 || *end != '\0' || v > 4096)
        return false;
    *out = (unsigned)v;
    return true;
}

ks_status ks_pwrule_parse(const char *spec, ks_pwrule *out, char *why, size_t cap)
{
    static const char *const flags[] = {"upper", "lower", "digit", "special"};
    ks_pwrule r = {0};
    unsigned seen = 0; /* bit per item, to refuse repeats */
    char item[64];

    say(why, cap, "");
    if (spec == NULL || out == NULL)
        return KS_ERR_ARGS;
    const char *p = spec;
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        if (end == NULL)
            end = p + strlen(p);
        const char *b = p, *e = end;
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        size_t n = (size_t)(e - b);
        snprintf(item, sizeof(item), "%.*s", (int)(n < sizeof(item) ? n : sizeof(item) - 1), b);
        unsigned bit = 0;
        if (n == 0) {
            say(why, cap, "empty item in password rule");
            return KS_ERR_ARGS;
        } else if (n == 4 && memcmp(b, "none", 4) == 0 && p == spec && *end == '\0') {
            break;
        } else if (n > 4 && memcmp(b, "min=", 4) == 0) {
            bit = 1u << 4;
            if (!parse_len(b + 4, n - 4, &r.min_len)) {
                say_item(why, cap, "bad length in ", item, " (a number up to 4096)");
                return KS_ERR_ARGS;
            }
        } else if (n > 4 && memcmp(b, "max=", 4) == 0) {
            bit = 1u << 5;
            if (!parse_len(b + 4, n - 4, &r.max_len)) {
                say_item(why, cap, "bad length in ", item, " (a number up to 4096)");
                return KS_ERR_ARGS;
            }
        } else {
            for (unsigned k = 0; k < VT_ARRAY_LEN(flags); k++)
                if (strlen(flags[k]) == n && memcmp(b, flags[k], n) == 0)
                    bit = 1u << k;
            if (bit == 0) {
                say_item(why, cap, "unknown item ", item,
                         " in password rule (min=N, max=N, upper, lower, digit, special)");
                return KS_ERR_ARGS;
            }
            r.upper |= bit == 1u;
            r.lower |= bit == 2u;
            r.digit |= bit == 4u;
            r.special |= bit == 8u;
        }
        if (seen & bit) {
            say_item(why, cap, "", item, " appears twice in password rule");
            return KS_ERR_ARGS;
        }
        seen |= bit;
        p = *end == ',' ? end + 1 : end;
        if (*end == ',' && *p == '\0') {
            say(why, cap, "empty item in password rule");
            return KS_ERR_ARGS;
        }
    }
    if (r.max_len != 0 && r.min_len > r.max_len) {
        say(why, cap, "password rule has min greater than max");
        return KS_ERR_ARGS;
    }
    *out = r;
    return KS_OK;
}

void ks_pwrule_format(const ks_pwrule *r, char *out, size_t cap)
{
    size_t n = 0;
    if (out == NULL || cap == 0)
        return;
    out[0] = '\0';
#define ADD(...)                                                                                   \
    do {                                                                                           \
        int w = snprintf(out + n, cap - n, "%s", n ? "," : "");                                    \
        if (w > 0 && (size_t)w < cap - n)                                                          \
            n += (size_t)w;                                                                        \
        w = snprintf(out + n, cap - n, __VA_ARGS__);                                               \
        if (w > 0 && (size_t)w < cap - n)                                                          \
            n += (size_t)w;                                                                        \
    } while (0)
    if (r->min_len)
        ADD("min=%u", r->min_len);
    if (r->max_len)
        ADD("max=%u", r->max_len);
    if (r->upper)
        ADD("upper");
    if (r->lower)
        ADD("lower");
    if (r->digit)
        ADD("digit");
    if (r->special)
        ADD("special");
#undef ADD
    if (n == 0)
        snprintf(out, cap, "none");
}

/* Code points in UTF-8, or -1 when the bytes are not UTF-8. */
static long utf8_chars(const uint8_t *s, size_t n)
{
    long count = 0;
    for (size_t i = 0; i < n; count++) {
        uint8_t c = s[i];
        size_t extra = c < 0x80             ? 0
                       : (c & 0xe0) == 0xc0 ? 1
                       : (c & 0xf0) == 0xe0 ? 2
                       : (c & 0xf8) == 0xf0 ? 3
                                            : 9;
        if (extra == 9 || i + extra >= n)
            return -1;
        uint32_t cp = extra == 0 ? c : c & (0x3f >> extra);
        for (size_t k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return -1;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        static const uint32_t min_cp[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return -1;
        /* NCALayer's '.' matches no line terminator: \n \r U+0085 U+2028 U+2029. */
        if (cp == 0 || cp == '\n' || cp == '\r' || cp == 0x85 || cp == 0x2028 || cp == 0x2029)
            return -2;
        i += extra + 1;
    }
    return count;
}

ks_status ks_pwrule_check(const ks_pwrule *r, const char *pw, size_t len, char *why, size_t cap)
{
    char num[48];
    bool upper = false, lower = false, digit = false, special = false;

    say(why, cap, "");
    if (r == NULL || (pw == NULL && len > 0))
        return KS_ERR_ARGS;
    long chars = utf8_chars((const uint8_t *)pw, len);
    if (chars == -1) {
        say(why, cap, "password is not valid UTF-8");
        return KS_ERR_POLICY;
    }
    if (chars == -2) {
        say(why, cap, "password must not contain a line break or NUL");
        return KS_ERR_POLICY;
    }
    for (size_t i = 0; i < len; i++) {
        char c = pw[i];
        upper |= c >= 'A' && c <= 'Z';
        lower |= c >= 'a' && c <= 'z';
        digit |= c >= '0' && c <= '9';
        special |= !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
    }
    if (r->min_len && (unsigned long)chars < r->min_len) {
        snprintf(num, sizeof(num), "%u", r->min_len);
        if (why != NULL && cap > 0)
            snprintf(why, cap, "password must be at least %s characters long", num);
        return KS_ERR_POLICY;
    }
    if (r->max_len && (unsigned long)chars > r->max_len) {
        snprintf(num, sizeof(num), "%u", r->max_len);
        if (why != NULL && cap > 0)
            snprintf(why, cap, "password must be at most %s characters long", num);
        return KS_ERR_POLICY;
    }
    if (r->upper && !upper) {
        say(why, cap, "password must contain an upper-case Latin letter (A-Z)");
        return KS_ERR_POLICY;
    }
    if (r->lower && !lower) {
        say(why, cap, "password must contain a lower-case Latin letter (a-z)");
        return KS_ERR_POLICY;
    }
    if (r->digit && !digit) {
        say(why, cap, "password must contain a digit (0-9)");
        return KS_ERR_POLICY;
    }
    if (r->special && !special) {
        say(why, cap, "password must contain a character that is not a Latin letter or digit");
        return KS_ERR_POLICY;
    }
    return KS_OK;
}
