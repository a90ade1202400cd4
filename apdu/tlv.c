/* BER-TLV as ISO/IEC 7816-4 uses it (tags of up to 4 bytes, definite lengths 81..84)
 * and COMPACT-TLV for historical bytes. Every read is checked against the end of the
 * caller's buffer; nesting is walked with an explicit, bounded stack. */
#include "tlv.h"

#include <string.h>

/* ---- tags and lengths ------------------------------------------------------- */

static apdu_status parse_tag(const uint8_t *p, size_t left, apdu_tag *tag, size_t *n)
{
    if (left == 0)
        return APDU_ERR_TLV_TRUNCATED;
    /* 00 and FF are padding between data objects, never a tag (7816-4 5.2.2). */
    if (p[0] == 0x00 || p[0] == 0xff)
        return APDU_ERR_TLV_TAG_INVALID;
    apdu_tag t = p[0];
    size_t i = 1;
    if ((p[0] & 0x1f) == 0x1f) {
        for (;;) {
            if (i >= left)
                return APDU_ERR_TLV_TRUNCATED;
            uint8_t b = p[i];
            /* X.690 8.1.2.4.2: the first subsequent byte's low 7 bits are never all 0. */
            if (i == 1 && (b & 0x7f) == 0)
                return APDU_ERR_TLV_TAG_INVALID;
            t = t << 8 | b;
            i++;
            if (!(b & 0x80))
                break;
            if (i == APDU_TLV_MAX_TAG_BYTES)
                return APDU_ERR_TLV_TAG_TOO_LONG;
        }
    }
    *tag = t;
    *n = i;
    return APDU_OK;
}

static apdu_status parse_len(const uint8_t *p, size_t left, bool der, size_t *len, size_t *n)
{
    if (left == 0)
        return APDU_ERR_TLV_TRUNCATED;
    if (p[0] < 0x80) {
        *len = p[0];
        *n = 1;
        return APDU_OK;
    }
    /* 80 is BER's indefinite form; 7816-4 defines only 81..84 of the long forms. */
    size_t k = p[0] & 0x7fu;
    if (k == 0 || k > APDU_TLV_MAX_LEN_BYTES)
        return APDU_ERR_TLV_LEN_INVALID;
    if (left - 1 < k)
        return APDU_ERR_TLV_TRUNCATED;
    uint64_t v = 0;
    for (size_t i = 1; i <= k; i++)
        v = v << 8 | p[i];
    if (v > SIZE_MAX)
        return APDU_ERR_TLV_LEN_TOO_LONG;
    if (der && apdu_len_size((size_t)v) != k + 1)
        return APDU_ERR_TLV_LEN_NONMINIMAL;
    *len = (size_t)v;
    *n = k + 1;
    return APDU_OK;
}

static apdu_status parse_one(const uint8_t *buf, size_t len, bool der, apdu_tlv *out)
{
    apdu_tag tag;
    size_t tn, ln, vlen;
    apdu_status st = parse_tag(buf, len, &tag, &tn);
    if (st != APDU_OK)
        return st;
    st = parse_len(buf + tn, len - tn, der, &vlen, &ln);
    if (st != APDU_OK)
        return st;
    if (vlen > len - tn - ln)
        return APDU_ERR_TLV_TRUNCATED;
    out->tag = tag;
    out->constructed = (buf[0] & 0x20) != 0;
    out->value = buf + tn + ln;
    out->len = vlen;
    out->header_len = tn + ln;
    return APDU_OK;
}

apdu_status apdu_tlv_parse(const uint8_t *buf, size_t len, apdu_tlv *out, size_t *consumed)
{
    if (out == NULL || (buf == NULL && len > 0))
        return APDU_ERR_ARGS;
    if (len == 0)
        return APDU_ERR_TLV_END;
    apdu_status st = parse_one(buf, len, false, out);
    if (st == APDU_OK && consumed != NULL)
        *consumed = out->header_len + out->len;
    return st;
}

size_t apdu_tag_size(apdu_tag tag)
{
    if (tag <= 0xffu)
        return 1;
    if (tag <= 0xffffu)
        return 2;
    if (tag <= 0xffffffu)
        return 3;
    return 4;
}

size_t apdu_len_size(size_t len)
{
    if (len < 0x80)
        return 1;
    if (len <= 0xffu)
        return 2;
    if (len <= 0xffffu)
        return 3;
    if (len <= 0xffffffu)
        return 4;
    if ((uint64_t)len <= 0xffffffffu)
        return 5;
    return 0;
}

size_t apdu_tag_write(apdu_tag tag, uint8_t *out)
{
    size_t n = apdu_tag_size(tag);
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(tag >> (8 * (n - 1 - i)));
    return n;
}

size_t apdu_len_write(size_t len, uint8_t *out)
{
    size_t n = apdu_len_size(len);
    if (n == 0)
        return 0;
    if (n == 1) {
        out[0] = (uint8_t)len;
        return 1;
    }
    out[0] = (uint8_t)(0x80 | (n - 1));
    for (size_t i = 1; i < n; i++)
        out[i] = (uint8_t)((uint64_t)len >> (8 * (n - 1 - i)));
    return n;
}

/* A tag the parser would read back as itself: the right continuation bits, no 00/FF
 * padding byte first and no 00 or 80 as the first subsequent byte. */
static bool tag_valid(apdu_tag tag)
{
    uint8_t b[APDU_TLV_MAX_TAG_BYTES];
    size_t n = apdu_tag_write(tag, b);
    if (b[0] == 0x00 || b[0] == 0xff)
        return false;
    if (n == 1)
        return (b[0] & 0x1f) != 0x1f;
    if ((b[0] & 0x1f) != 0x1f || (b[1] & 0x7f) == 0)
        return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!(b[i] & 0x80))
            return false;
    return !(b[n - 1] & 0x80);
}

/* ---- reading ---------------------------------------------------------------- */

void apdu_tlv_iter_init(apdu_tlv_iter *it, const uint8_t *buf, size_t len)
{
    it->p = buf;
    it->left = buf != NULL ? len : 0;
    it->skip_padding = false;
    it->der = false;
}

apdu_status apdu_tlv_next(apdu_tlv_iter *it, apdu_tlv *out)
{
    if (it == NULL || out == NULL)
        return APDU_ERR_ARGS;
    if (it->skip_padding)
        while (it->left > 0 && (it->p[0] == 0x00 || it->p[0] == 0xff)) {
            it->p++;
            it->left--;
        }
    if (it->left == 0)
        return APDU_ERR_TLV_END;
    apdu_status st = parse_one(it->p, it->left, it->der, out);
    if (st != APDU_OK)
        return st;
    size_t n = out->header_len + out->len;
    it->p += n;
    it->left -= n;
    return APDU_OK;
}

apdu_status apdu_tlv_find(const uint8_t *buf, size_t len, apdu_tag tag, apdu_tlv *out)
{
    if (out == NULL || (buf == NULL && len > 0))
        return APDU_ERR_ARGS;
    apdu_tlv_iter it;
    apdu_tlv t;
    apdu_status st;
    apdu_tlv_iter_init(&it, buf, len);
    while ((st = apdu_tlv_next(&it, &t)) == APDU_OK) {
        if (t.tag == tag) {
            *out = t;
            return APDU_OK;
        }
    }
    return st == APDU_ERR_TLV_END ? APDU_ERR_TLV_NOT_FOUND : st;
}

apdu_status apdu_tlv_find_path(const uint8_t *buf, size_t len, const apdu_tag *path, size_t depth,
                               apdu_tlv *out)
{
    if (out == NULL || path == NULL || depth == 0 || (buf == NULL && len > 0))
        return APDU_ERR_ARGS;
    apdu_tlv t;
    for (size_t i = 0; i < depth; i++) {
        apdu_status st = apdu_tlv_find(buf, len, path[i], &t);
        if (st != APDU_OK)
            return st;
        if (i + 1 < depth && !t.constructed)
            return APDU_ERR_TLV_NOT_FOUND; /* a primitive value has no children */
        buf = t.value;
        len = t.len;
    }
    *out = t;
    return APDU_OK;
}

apdu_status apdu_tlv_validate(const uint8_t *buf, size_t len, unsigned max_depth)
{
    if (max_depth == 0 || (buf == NULL && len > 0))
        return APDU_ERR_ARGS;
    if (max_depth > APDU_TLV_MAX_DEPTH)
        max_depth = APDU_TLV_MAX_DEPTH;
    /* end[i] is where the value enclosing level i stops; level 0 is the caller's buffer. */
    const uint8_t *end[APDU_TLV_MAX_DEPTH];
    unsigned level = 0;
    const uint8_t *p = buf;
    end[0] = buf + len;
    for (;;) {
        while (p == end[level]) {
            if (level == 0)
                return APDU_OK;
            level--;
        }
        apdu_tlv t;
        apdu_status st = parse_one(p, (size_t)(end[level] - p), false, &t);
        if (st != APDU_OK)
            return st;
        if (t.constructed && t.len > 0) {
            if (level + 1 >= max_depth)
                return APDU_ERR_TLV_DEPTH;
            end[++level] = t.value + t.len;
            p = t.value;
        } else {
            p = t.value + t.len;
        }
    }
}

apdu_status apdu_tlv_uint(const apdu_tlv *tlv, uint64_t *out)
{
    if (tlv == NULL || out == NULL || (tlv->value == NULL && tlv->len > 0))
        return APDU_ERR_ARGS;
    if (tlv->len > 8)
        return APDU_ERR_TLV_LEN_TOO_LONG;
    uint64_t v = 0;
    for (size_t i = 0; i < tlv->len; i++)
        v = v << 8 | tlv->value[i];
    *out = v;
    return APDU_OK;
}

/* ---- building --------------------------------------------------------------- */

static void tlvb_fail(apdu_tlvb *b, apdu_status st)
{
    if (b->err == APDU_OK)
        b->err = st;
}

void apdu_tlvb_init(apdu_tlvb *b, vt_buf *out)
{
    if (b == NULL)
        return;
    memset(b, 0, sizeof(*b));
    b->out = out;
    b->err = out != NULL ? APDU_OK : APDU_ERR_ARGS;
}

static bool tlvb_append(apdu_tlvb *b, const void *p, size_t len)
{
    if (!vt_buf_append(b->out, p, len)) {
        tlvb_fail(b, APDU_ERR_NOMEM);
        return false;
    }
    return true;
}

void apdu_tlvb_put(apdu_tlvb *b, apdu_tag tag, const void *value, size_t len)
{
    if (b == NULL || b->err != APDU_OK)
        return;
    if (value == NULL && len > 0) {
        tlvb_fail(b, APDU_ERR_ARGS);
        return;
    }
    if (!tag_valid(tag)) {
        tlvb_fail(b, APDU_ERR_TLV_TAG_INVALID);
        return;
    }
    uint8_t hdr[APDU_TLV_MAX_TAG_BYTES + 1 + APDU_TLV_MAX_LEN_BYTES];
    size_t n = apdu_tag_write(tag, hdr);
    size_t ln = apdu_len_write(len, hdr + n);
    if (ln == 0) {
        tlvb_fail(b, APDU_ERR_TLV_LEN_TOO_LONG);
        return;
    }
    if (tlvb_append(b, hdr, n + ln))
        tlvb_append(b, value, len);
}

void apdu_tlvb_put_u8(apdu_tlvb *b, apdu_tag tag, uint8_t v)
{
    apdu_tlvb_put(b, tag, &v, 1);
}

void apdu_tlvb_put_u16(apdu_tlvb *b, apdu_tag tag, uint16_t v)
{
    uint8_t be[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    apdu_tlvb_put(b, tag, be, sizeof(be));
}

void apdu_tlvb_open(apdu_tlvb *b, apdu_tag tag)
{
    if (b == NULL || b->err != APDU_OK)
        return;
    if (!tag_valid(tag)) {
        tlvb_fail(b, APDU_ERR_TLV_TAG_INVALID);
        return;
    }
    /* Only a constructed tag (bit 6 of its first byte) is read back as a container. */
    if (!((tag >> (8 * (apdu_tag_size(tag) - 1))) & 0x20)) {
        tlvb_fail(b, APDU_ERR_TLV_TAG_INVALID);
        return;
    }
    if (b->depth >= APDU_TLV_DEFAULT_DEPTH) {
        tlvb_fail(b, APDU_ERR_TLV_DEPTH);
        return;
    }
    uint8_t hdr[APDU_TLV_MAX_TAG_BYTES + 1];
    size_t n = apdu_tag_write(tag, hdr);
    hdr[n] = 0; /* one length byte for now; close() widens it if the value needs more */
    size_t off = b->out->len;
    if (tlvb_append(b, hdr, n + 1))
        b->open[b->depth++] = off;
}

void apdu_tlvb_close(apdu_tlvb *b)
{
    if (b == NULL || b->err != APDU_OK)
        return;
    if (b->depth == 0) {
        tlvb_fail(b, APDU_ERR_TLV_UNBALANCED);
        return;
    }
    vt_buf *o = b->out;
    size_t off = b->open[--b->depth];
    apdu_tag tag;
    size_t tn;
    /* The tag was written by open(), so it parses. */
    if (parse_tag(o->data + off, o->len - off, &tag, &tn) != APDU_OK) {
        tlvb_fail(b, APDU_ERR_TLV_UNBALANCED);
        return;
    }
    size_t start = off + tn + 1; /* first value byte */
    size_t clen = o->len - start;
    size_t ln = apdu_len_size(clen);
    if (ln == 0) {
        tlvb_fail(b, APDU_ERR_TLV_LEN_TOO_LONG);
        return;
    }
    if (ln > 1) {
        if (!vt_buf_reserve(o, ln - 1)) {
            tlvb_fail(b, APDU_ERR_NOMEM);
            return;
        }
        memmove(o->data + start + ln - 1, o->data + start, clen);
        o->len += ln - 1;
    }
    apdu_len_write(clen, o->data + off + tn);
}

apdu_status apdu_tlvb_finish(apdu_tlvb *b)
{
    if (b == NULL)
        return APDU_ERR_ARGS;
    if (b->err != APDU_OK)
        return b->err;
    if (b->depth != 0)
        return b->err = APDU_ERR_TLV_UNBALANCED;
    if (b->out->oom)
        return b->err = APDU_ERR_NOMEM;
    return APDU_OK;
}

/* ---- COMPACT-TLV ------------------------------------------------------------ */

apdu_status apdu_ctlv_next(apdu_tlv_iter *it, apdu_ctlv *out)
{
    if (it == NULL || out == NULL)
        return APDU_ERR_ARGS;
    if (it->left == 0)
        return APDU_ERR_TLV_END;
    uint8_t tl = it->p[0];
    size_t n = tl & 0x0fu;
    if (n > it->left - 1)
        return APDU_ERR_TLV_TRUNCATED;
    out->tag = tl >> 4;
    out->len = (uint8_t)n;
    out->value = it->p + 1;
    it->p += 1 + n;
    it->left -= 1 + n;
    return APDU_OK;
}
