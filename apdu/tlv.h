/* BER-TLV (ISO 7816-4 / X.690 subset used by cards) and COMPACT-TLV (historical bytes).
 * Parsing never reads past the given bounds and limits nesting depth; the builder
 * writes into a vt_buf and fixes up lengths of constructed values on close. */
#ifndef APDU_TLV_H
#define APDU_TLV_H

#include "apdu.h"
#include "vt_util.h"

/* Tags are held as their encoded bytes, big-endian: 0x83, 0x5F2D, 0x9F7F, 0xBF8101. */
typedef uint32_t apdu_tag;

#define APDU_TLV_MAX_TAG_BYTES 4
#define APDU_TLV_MAX_LEN_BYTES 4  /* 84 xx xx xx xx */
#define APDU_TLV_DEFAULT_DEPTH 16
#define APDU_TLV_MAX_DEPTH 64     /* apdu_tlv_validate() clamps max_depth to this */

typedef struct apdu_tlv {
    apdu_tag tag;
    bool constructed;      /* bit 6 of the first tag byte */
    const uint8_t *value;  /* points into the parsed buffer */
    size_t len;            /* value length */
    size_t header_len;     /* tag + length bytes */
} apdu_tlv;

/* Parse one TLV at buf. *consumed = header_len + len. Zero-length input is
 * APDU_ERR_TLV_END. A leading 00 or FF byte is APDU_ERR_TLV_TAG_INVALID here; the
 * iterator skips such padding between data objects (ISO 7816-4 allows it) when its
 * skip_padding flag is set. */
apdu_status apdu_tlv_parse(const uint8_t *buf, size_t len, apdu_tlv *out, size_t *consumed);

/* Iterate over the TLVs of one level. apdu_tlv_iter_init() clears both flags; set
 * them afterwards. der makes the iterator reject lengths not in their shortest form
 * (81 05, 82 00 80) with APDU_ERR_TLV_LEN_NONMINIMAL; everything else accepts BER's
 * longer forms, as cards in the field send them. */
typedef struct apdu_tlv_iter {
    const uint8_t *p;
    size_t left;
    bool skip_padding;
    bool der;
} apdu_tlv_iter;

void apdu_tlv_iter_init(apdu_tlv_iter *it, const uint8_t *buf, size_t len);
/* APDU_OK with *out filled, APDU_ERR_TLV_END when done, or a parse error. */
apdu_status apdu_tlv_next(apdu_tlv_iter *it, apdu_tlv *out);

/* Find the first TLV with this tag among the elements of one level. find, find_path
 * and validate do not skip 00/FF padding; use the iterator for data that has some.
 * A malformed element before the match is reported as its parse error. */
apdu_status apdu_tlv_find(const uint8_t *buf, size_t len, apdu_tag tag, apdu_tlv *out);
/* Follow a path of tags through constructed values: {0x6F, 0x62, 0x83}. */
apdu_status apdu_tlv_find_path(const uint8_t *buf, size_t len, const apdu_tag *path,
                               size_t depth, apdu_tlv *out);
/* Check that buf is a well-formed sequence of TLVs, recursing into constructed
 * values up to max_depth levels (1 = only this level): a non-empty constructed value
 * on level max_depth is APDU_ERR_TLV_DEPTH. max_depth 0 is APDU_ERR_ARGS; values
 * above APDU_TLV_MAX_DEPTH are clamped to it. Primitive values are not looked into. */
apdu_status apdu_tlv_validate(const uint8_t *buf, size_t len, unsigned max_depth);

/* Big-endian unsigned integer value of a TLV (up to 8 bytes, else
 * APDU_ERR_TLV_LEN_TOO_LONG; an empty value is 0). */
apdu_status apdu_tlv_uint(const apdu_tlv *tlv, uint64_t *out);

/* Encoded sizes. apdu_len_size() is 0 for lengths above 0xFFFFFFFF. */
size_t apdu_tag_size(apdu_tag tag);
size_t apdu_len_size(size_t len);
/* Write a tag / a definite length at out (which must have room). Returns bytes written. */
size_t apdu_tag_write(apdu_tag tag, uint8_t *out);
size_t apdu_len_write(size_t len, uint8_t *out);

/* Builder. Errors are sticky: check once with apdu_tlvb_finish(). A tag that would not
 * parse back as itself is APDU_ERR_TLV_TAG_INVALID; open() also wants a constructed
 * tag (bit 6 of the first byte) and allows APDU_TLV_DEFAULT_DEPTH open values. */
typedef struct apdu_tlvb {
    vt_buf *out;
    size_t open[APDU_TLV_DEFAULT_DEPTH]; /* offsets of the open constructed values' tags */
    unsigned depth;
    apdu_status err;
} apdu_tlvb;

void apdu_tlvb_init(apdu_tlvb *b, vt_buf *out);
void apdu_tlvb_put(apdu_tlvb *b, apdu_tag tag, const void *value, size_t len);
void apdu_tlvb_put_u8(apdu_tlvb *b, apdu_tag tag, uint8_t v);
void apdu_tlvb_put_u16(apdu_tlvb *b, apdu_tag tag, uint16_t v); /* two bytes, big-endian */
void apdu_tlvb_open(apdu_tlvb *b, apdu_tag tag);                /* constructed */
void apdu_tlvb_close(apdu_tlvb *b);
apdu_status apdu_tlvb_finish(apdu_tlvb *b);

/* COMPACT-TLV as used in historical bytes: one byte with a 4-bit tag and 4-bit length. */
typedef struct apdu_ctlv {
    uint8_t tag; /* 0..15 */
    const uint8_t *value;
    uint8_t len; /* 0..15 */
} apdu_ctlv;

apdu_status apdu_ctlv_next(apdu_tlv_iter *it, apdu_ctlv *out);

#endif
