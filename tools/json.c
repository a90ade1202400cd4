/* JSON string output shared by `vtoken fault --list --json` and `vtoken trace --json`. */
#include "json.h"

#include <string.h>

size_t vtoken_utf8_len(const unsigned char *s, size_t left)
{
    size_t n;
    unsigned cp;
    if (s[0] < 0xC2 || s[0] > 0xF4)
        return 0;
    n = s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;
    if (n > left)
        return 0;
    cp = s[0] & (0x7Fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    /* overlong forms, surrogates and values past U+10FFFF */
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

void vtoken_json_string_n(FILE *f, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
        } else if (c == '\n') {
            fputs("\\n", f);
        } else if (c == '\t') {
            fputs("\\t", f);
        } else if (c == '\r') {
            fputs("\\r", f);
        } else if (c < 0x20 || c == 0x7F) {
            fprintf(f, "\\u%04x", c);
        } else if (c >= 0x80) {
            size_t n = vtoken_utf8_len(p + i, len - i);
            if (n == 0) {
                fputs("\\ufffd", f);
                i++;
                continue;
            }
            fwrite(p + i, 1, n, f);
            i += n;
            continue;
        } else {
            fputc(c, f);
        }
        i++;
    }
    fputc('"', f);
}

void vtoken_json_string(FILE *f, const char *s)
{
    vtoken_json_string_n(f, s, strlen(s));
}
