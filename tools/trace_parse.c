/* The trace line parser: strict about the prefix and the APDU forms, so anything that is
 * not exactly what pkcs11/trace.c writes (a cut line, another program's output) stays raw
 * instead of being misread. */
#include "trace_parse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* "dddd-dd-ddTdd:dd:dd.dddZ" */
static bool parse_time(const char *s, size_t len, char *out)
{
    static const char pattern[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (len < sizeof(pattern) - 1)
        return false;
    for (size_t i = 0; i < sizeof(pattern) - 1; i++) {
        if (pattern[i] == 'd' ? !is_digit(s[i]) : s[i] != pattern[i])
            return false;
    }
    memcpy(out, s, sizeof(pattern) - 1);
    out[sizeof(pattern) - 1] = '\0';
    return true;
}

/* Digits at *p (advanced past them) as a number; false when there are none. */
static bool take_number(const char **p, const char *end, unsigned long *out)
{
    const char *s = *p;
    unsigned long v = 0;
    if (s == end || !is_digit(*s))
        return false;
    for (; s < end && is_digit(*s); s++) {
        if (v > (~0ul - 9) / 10)
            return false;
        v = v * 10 + (unsigned long)(*s - '0');
    }
    *p = s;
    *out = v;
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* An even run of hex digits [s, end) into out. */
static bool take_hex(const char *s, const char *end, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = (size_t)(end - s);
    if (n == 0 || n % 2 != 0 || n / 2 > cap)
        return false;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    *len = n / 2;
    return true;
}

static bool ends_with(const char *s, const char *end, const char *suffix, const char **cut)
{
    size_t n = strlen(suffix);
    if ((size_t)(end - s) < n || memcmp(end - n, suffix, n) != 0)
        return false;
    *cut = end - n;
    return true;
}

/* "  > HEX[ [data redacted]| [truncated]]" */
static bool parse_cmd(const char *s, const char *end, tr_line *out)
{
    const char *cut;
    if (ends_with(s, end, " [data redacted]", &cut)) {
        out->redacted = true;
        end = cut;
    } else if (ends_with(s, end, " [truncated]", &cut)) {
        out->truncated = true;
        end = cut;
    }
    if (!take_hex(s, end, out->apdu, sizeof(out->apdu), &out->apdu_len) || out->apdu_len < 4)
        return false;
    /* A redacted command is cut after its header and Lc. */
    if (out->redacted && out->apdu_len > 5)
        return false;
    out->kind = TR_CMD;
    return true;
}

/* "  < [N bytes redacted] SWSW" or "  < HEX[ [truncated]]" */
static bool parse_resp(const char *s, const char *end, tr_line *out)
{
    static const char red[] = "[";
    static const char red_tail[] = " bytes redacted] ";
    const char *cut;
    if (end - s > 1 && memcmp(s, red, 1) == 0) {
        unsigned long hidden;
        const char *p = s + 1;
        if (!take_number(&p, end, &hidden) || (size_t)(end - p) < sizeof(red_tail) - 1 ||
            memcmp(p, red_tail, sizeof(red_tail) - 1) != 0)
            return false;
        p += sizeof(red_tail) - 1;
        if (!take_hex(p, end, out->apdu, sizeof(out->apdu), &out->apdu_len) || out->apdu_len != 2)
            return false;
        out->redacted = true;
        out->hidden = hidden;
        out->kind = TR_RESP;
        return true;
    }
    if (ends_with(s, end, " [truncated]", &cut)) {
        out->truncated = true;
        end = cut;
    }
    if (!take_hex(s, end, out->apdu, sizeof(out->apdu), &out->apdu_len) || out->apdu_len < 2)
        return false;
    out->kind = TR_RESP;
    return true;
}

static bool rv_char(char c)
{
    return (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' || (c >= 'a' && c <= 'f') || c == 'x';
}

/* "C_Fn(ARGS) = RV[ -> OUTS] [T ms]" */
static bool parse_call(const char *s, const char *end, tr_line *out)
{
    const char *open, *p, *q, *tail = end, *cut;

    if (end - s < 3 || s[0] != 'C' || s[1] != '_')
        return false;
    open = memchr(s, '(', (size_t)(end - s));
    if (open == NULL)
        return false;
    for (p = s + 2; p < open; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || is_digit(*p) || *p == '_'))
            return false;
    /* The duration, at the very end. */
    if (ends_with(s, end, " ms]", &cut)) {
        const char *b = cut;
        while (b > open && b[-1] != '[')
            b--;
        if (b > open + 1 && b[-2] == ' ') {
            char num[32];
            char *numend;
            size_t n = (size_t)(cut - b);
            if (n > 0 && n < sizeof(num)) {
                memcpy(num, b, n);
                num[n] = '\0';
                errno = 0;
                out->ms = strtod(num, &numend);
                if (errno == 0 && *numend == '\0' && numend != num) {
                    out->has_ms = true;
                    tail = b - 2;
                }
            }
        }
    }
    /* The first ") = RV" whose RV is followed by " -> " or the end. */
    for (p = open + 1; p + 4 <= tail; p++) {
        if (memcmp(p, ") = ", 4) != 0)
            continue;
        q = p + 4;
        while (q < tail && rv_char(*q))
            q++;
        if (q == p + 4)
            continue;
        if (q != tail && !((size_t)(tail - q) >= 4 && memcmp(q, " -> ", 4) == 0))
            continue;
        out->fn = s;
        out->fn_len = (size_t)(open - s);
        out->args = open + 1;
        out->args_len = (size_t)(p - open - 1);
        out->rv = p + 4;
        out->rv_len = (size_t)(q - p - 4);
        if (q != tail) {
            out->outs = q + 4;
            out->outs_len = (size_t)(tail - q - 4);
        } else {
            out->outs = q;
            out->outs_len = 0;
        }
        out->kind = TR_CALL;
        return true;
    }
    return false;
}

void tr_parse_line(const char *line, size_t len, tr_line *out)
{
    const char *p = line, *end = line + len;
    unsigned long pid, tid, call = 0;

    memset(out, 0, sizeof(*out));
    out->kind = TR_RAW;
    out->text = line;
    out->text_len = len;
    if (memchr(line, '\0', len) != NULL || !parse_time(p, len, out->time))
        return;
    p += 24;
    if (p == end || *p++ != ' ' || !take_number(&p, end, &pid) || p == end || *p++ != '.' ||
        !take_number(&p, end, &tid) || p == end || *p++ != ' ')
        return;
    if (p < end && *p == '#') {
        p++;
        if (!take_number(&p, end, &call) || call == 0 || p == end || *p++ != ' ')
            return;
    }
    out->pid = (long)pid;
    out->tid = (long)tid;
    out->call = call;
    if (end - p >= 4 && memcmp(p, "  > ", 4) == 0) {
        if (!parse_cmd(p + 4, end, out))
            out->kind = TR_RAW;
        return;
    }
    if (end - p >= 4 && memcmp(p, "  < ", 4) == 0) {
        if (!parse_resp(p + 4, end, out))
            out->kind = TR_RAW;
        return;
    }
    if (parse_call(p, end, out))
        return;
    out->kind = TR_MSG;
    out->text = p;
    out->text_len = (size_t)(end - p);
}
