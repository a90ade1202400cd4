/* fuzz_tlv: BER-TLV and COMPACT-TLV readers on arbitrary bytes, every reader bounded by
 * the input; and what parses as DER re-builds byte for byte through the builder. */
#include <stdlib.h>
#include <string.h>

#include "tlv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                                                 \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

/* Walk one level; elements must lie inside [buf, buf+len). */
static apdu_status walk(const uint8_t *buf, size_t len, bool padding, bool der, unsigned depth)
{
    apdu_tlv_iter it;
    apdu_tlv t;
    apdu_status st;
    apdu_tlv_iter_init(&it, buf, len);
    it.skip_padding = padding;
    it.der = der;
    while ((st = apdu_tlv_next(&it, &t)) == APDU_OK) {
        REQUIRE(t.value >= buf && t.value + t.len <= buf + len);
        REQUIRE(t.header_len >= 2 && t.header_len <= 9);
        uint64_t v;
        st = apdu_tlv_uint(&t, &v);
        REQUIRE(st == APDU_OK || (st == APDU_ERR_TLV_LEN_TOO_LONG && t.len > 8));
        if (t.constructed && depth < 32) {
            st = walk(t.value, t.len, padding, der, depth + 1);
            if (st != APDU_ERR_TLV_END && st != APDU_OK)
                return st;
        }
    }
    return st;
}

static bool rebuild(apdu_tlvb *b, const uint8_t *buf, size_t len)
{
    apdu_tlv_iter it;
    apdu_tlv t;
    apdu_status st;
    apdu_tlv_iter_init(&it, buf, len);
    it.der = true;
    while ((st = apdu_tlv_next(&it, &t)) == APDU_OK) {
        if (t.constructed) {
            apdu_tlvb_open(b, t.tag);
            if (!rebuild(b, t.value, t.len))
                return false;
            apdu_tlvb_close(b);
        } else {
            apdu_tlvb_put(b, t.tag, t.value, t.len);
        }
    }
    return st == APDU_ERR_TLV_END;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apdu_tlv t;
    size_t consumed;
    if (apdu_tlv_parse(data, size, &t, &consumed) == APDU_OK)
        REQUIRE(consumed <= size && consumed == t.header_len + t.len);

    walk(data, size, false, false, 0);
    walk(data, size, true, false, 0);
    apdu_status lax = walk(data, size, false, false, 0);
    apdu_status strict = walk(data, size, false, true, 0);
    /* DER only rejects more */
    if (strict == APDU_ERR_TLV_END)
        REQUIRE(lax == APDU_ERR_TLV_END);

    apdu_status v1 = apdu_tlv_validate(data, size, 1);
    apdu_status v16 = apdu_tlv_validate(data, size, APDU_TLV_DEFAULT_DEPTH);
    apdu_status v64 = apdu_tlv_validate(data, size, 1000);
    if (v1 == APDU_OK)
        REQUIRE(v16 == APDU_OK);
    if (v16 == APDU_OK)
        REQUIRE(v64 == APDU_OK);

    /* a path made of the first bytes */
    if (size >= 4) {
        apdu_tag path[3] = {data[0], (apdu_tag)data[1] << 8 | data[2], data[3]};
        if (apdu_tlv_find_path(data + 4, size - 4, path, 1 + data[3] % 3, &t) == APDU_OK)
            REQUIRE(t.value >= data + 4 && t.value + t.len <= data + size);
    }

    apdu_tlv_iter it;
    apdu_ctlv c;
    apdu_tlv_iter_init(&it, data, size);
    while (apdu_ctlv_next(&it, &c) == APDU_OK)
        REQUIRE(c.value + c.len <= data + size && c.tag < 16);

    /* DER in, DER out: the builder writes exactly what was read */
    if (strict == APDU_ERR_TLV_END && v16 == APDU_OK) {
        vt_buf out = {0};
        apdu_tlvb b;
        apdu_tlvb_init(&b, &out);
        REQUIRE(rebuild(&b, data, size));
        REQUIRE(apdu_tlvb_finish(&b) == APDU_OK);
        REQUIRE(out.len == size && (size == 0 || memcmp(out.data, data, size) == 0));
        vt_buf_free(&out);
    }
    return 0;
}
