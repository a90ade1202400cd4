/* Shared helpers: secret wiping, growable byte buffers, hex conversion and decimal numbers.
 * Every library may use these; they depend only on libc and OpenSSL's cleanse. */
#ifndef VT_UTIL_H
#define VT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VT_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Overwrite memory that held a PIN, key material or anything derived from them.
 * Never replaced by the optimiser (OPENSSL_cleanse). NULL or 0 length is a no-op. */
void vt_wipe(void *p, size_t len);

/* Constant-time comparison of two equal-length buffers: 0 when equal. */
int vt_ct_memcmp(const void *a, const void *b, size_t len);

/* A growable byte buffer. Contents are wiped when the buffer grows or is freed,
 * so it may carry secrets. A zeroed struct is an empty buffer. Always len <= cap, and
 * data is NULL only while cap is 0 (nothing allocated yet). */
typedef struct vt_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    bool oom; /* set once an allocation failed; later appends are ignored */
} vt_buf;

bool vt_buf_reserve(vt_buf *b, size_t extra);
bool vt_buf_append(vt_buf *b, const void *p, size_t len);
bool vt_buf_append_byte(vt_buf *b, uint8_t v);
void vt_buf_clear(vt_buf *b); /* wipes, keeps the allocation */
void vt_buf_free(vt_buf *b);  /* wipes and releases */

/* Lower-case hex of len bytes into out (2*len+1 bytes, NUL-terminated). */
void vt_hex_encode(const uint8_t *in, size_t len, char *out);
/* Parse hex (case-insensitive; spaces and ':' between byte pairs allowed).
 * Returns the number of bytes written, or -1 on bad input or overflow. */
long vt_hex_decode(const char *in, uint8_t *out, size_t cap);

/* A decimal number of digits only (no blank, no sign), at most max, into *out; false,
 * and *out untouched, for anything else. */
bool vt_parse_u32(const char *s, uint32_t max, uint32_t *out);

#endif
