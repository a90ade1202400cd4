/* JSON output for the subcommands' --json modes: strings escaped per RFC 8259, so any
 * byte a trace or a file name holds comes out as valid JSON. */
#ifndef VTOKEN_JSON_H
#define VTOKEN_JSON_H

#include <stddef.h>
#include <stdio.h>

/* Write s as a JSON string (with the quotes). Bytes that are not valid UTF-8 are
 * written as U+FFFD. */
void vtoken_json_string(FILE *f, const char *s);
void vtoken_json_string_n(FILE *f, const char *s, size_t len);
/* Length of the valid UTF-8 sequence of two or more bytes at s (at most left bytes),
 * or 0 when there is none. */
size_t vtoken_utf8_len(const unsigned char *s, size_t left);

#endif
