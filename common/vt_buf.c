/* Growable byte buffer. Growth copies into a fresh allocation and wipes the old one,
 * so a buffer that carried a PIN or key leaves no stray copy on the heap. */
#include "vt_util.h"

#include <stdlib.h>
#include <string.h>

bool vt_buf_reserve(vt_buf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (extra > SIZE_MAX - b->len) {
        b->oom = true;
        return false;
    }
    size_t need = b->len + extra;
    /* Nothing to hold, or room already (data is NULL only while nothing is allocated). */
    if (need == 0 || (b->data != NULL && need <= b->cap))
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p = malloc(cap);
    if (p == NULL) {
        b->oom = true;
        return false;
    }
    if (b->data != NULL && b->len > 0) /* old contents, when there is storage */
        memcpy(p, b->data, b->len);
    vt_wipe(b->data, b->cap);
    free(b->data);
    b->data = p;
    b->cap = cap;
    return true;
}

bool vt_buf_append(vt_buf *b, const void *p, size_t len)
{
    if (len == 0)
        return !b->oom;
    /* The source may be this buffer's own contents, which growth moves (and wipes). */
    uintptr_t src = (uintptr_t)p, base = (uintptr_t)b->data;
    bool inside = b->data != NULL && src >= base && src < base + b->len;
    size_t off = inside ? (size_t)(src - base) : 0;
    if (!vt_buf_reserve(b, len))
        return false;
    if (inside)
        p = b->data + off;
    memcpy(b->data + b->len, p, len);
    b->len += len;
    return true;
}

bool vt_buf_append_byte(vt_buf *b, uint8_t v)
{
    return vt_buf_append(b, &v, 1);
}

void vt_buf_clear(vt_buf *b)
{
    vt_wipe(b->data, b->len);
    b->len = 0;
    b->oom = false;
}

void vt_buf_free(vt_buf *b)
{
    vt_wipe(b->data, b->cap);
    free(b->data);
    memset(b, 0, sizeof(*b));
}
