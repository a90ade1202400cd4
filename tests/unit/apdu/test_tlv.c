/* BER-TLV and COMPACT-TLV: parsing of every tag and length form, one exact status per
 * malformed shape, lookups, depth limits, and random trees built with the builder
 * checked against an independent encoder and read back. */
#include <stdlib.h>
#include <string.h>

#include "apdu_test.h"
#include "tlv.h"

/* ---- parsing good input ----------------------------------------------------- */

static const struct {
    const char *hex;
    apdu_tag tag;
    bool constructed;
    size_t header_len, len;
} good[] = {
    {"84 07 A0 00 00 03 12 02 02", 0x84, false, 2, 7},
    {"80 00", 0x80, false, 2, 0},
    {"5F 2D 02 72 75", 0x5f2d, false, 3, 2},
    {"9F 7F 01 00", 0x9f7f, false, 3, 1},
    {"BF 81 01 00", 0xbf8101, true, 4, 0},
    {"9F 81 82 03 01 AA", 0x9f818203, false, 5, 1},
    {"1F 1F 00", 0x1f1f, false, 3, 0},
    {"6F 02 80 00", 0x6f, true, 2, 2},
    {"62 81 01 00", 0x62, true, 3, 1},           /* BER: long form accepted */
    {"C1 84 00 00 00 01 00", 0xc1, false, 6, 1}, /* four length bytes */
    {"7F 49 00", 0x7f49, true, 3, 0},
};

START_TEST(parse_good)
{
    uint8_t b[32];
    size_t n = at_hex(good[_i].hex, b, sizeof(b));
    apdu_tlv t;
    size_t consumed = 0;
    ck_assert_int_eq(apdu_tlv_parse(b, n, &t, &consumed), APDU_OK);
    ck_assert_uint_eq(t.tag, good[_i].tag);
    ck_assert(t.constructed == good[_i].constructed);
    ck_assert_uint_eq(t.header_len, good[_i].header_len);
    ck_assert_uint_eq(t.len, good[_i].len);
    ck_assert_ptr_eq(t.value, b + good[_i].header_len);
    ck_assert_uint_eq(consumed, n);
    /* trailing bytes belong to the next element */
    ck_assert_int_eq(apdu_tlv_parse(b, n + 3, &t, NULL), APDU_OK);
}
END_TEST

START_TEST(parse_long_lengths)
{
    static uint8_t b[70000];
    apdu_tlv t;
    memset(b, 0, sizeof(b));
    b[0] = 0x04, b[1] = 0x81, b[2] = 0x80;
    ck_assert_int_eq(apdu_tlv_parse(b, 3 + 128, &t, NULL), APDU_OK);
    ck_assert_uint_eq(t.len, 128);
    b[1] = 0x82, b[2] = 0x01, b[3] = 0x00;
    ck_assert_int_eq(apdu_tlv_parse(b, 4 + 256, &t, NULL), APDU_OK);
    ck_assert_uint_eq(t.len, 256);
    b[1] = 0x83, b[2] = 0x01, b[3] = 0x00, b[4] = 0x01;
    ck_assert_int_eq(apdu_tlv_parse(b, 5 + 65537, &t, NULL), APDU_OK);
    ck_assert_uint_eq(t.len, 65537);
    ck_assert_int_eq(apdu_tlv_parse(b, 5 + 65536, &t, NULL), APDU_ERR_TLV_TRUNCATED);
}
END_TEST

/* ---- malformed input -------------------------------------------------------- */

static const struct {
    const char *hex;
    apdu_status st;
    const char *why;
} bad[] = {
    {"", APDU_ERR_TLV_END, "nothing left"},
    {"00 01 02", APDU_ERR_TLV_TAG_INVALID, "00 padding is no tag"},
    {"FF 01 02", APDU_ERR_TLV_TAG_INVALID, "FF padding is no tag"},
    {"1F", APDU_ERR_TLV_TRUNCATED, "multi-byte tag cut after the first byte"},
    {"9F 81", APDU_ERR_TLV_TRUNCATED, "multi-byte tag cut in the middle"},
    {"9F 80 01 01 00", APDU_ERR_TLV_TAG_INVALID, "first subsequent byte 80"},
    {"5F 00 01 00", APDU_ERR_TLV_TAG_INVALID, "first subsequent byte 00"},
    {"9F 81 82 83 01 01 00", APDU_ERR_TLV_TAG_TOO_LONG, "five-byte tag"},
    {"80", APDU_ERR_TLV_TRUNCATED, "no length"},
    {"5F 2D", APDU_ERR_TLV_TRUNCATED, "two-byte tag, no length"},
    {"80 80 00 00", APDU_ERR_TLV_LEN_INVALID, "indefinite length"},
    {"80 85 00 00 00 00 01 00", APDU_ERR_TLV_LEN_INVALID, "five length bytes"},
    {"80 FF", APDU_ERR_TLV_LEN_INVALID, "length byte FF"},
    {"80 81", APDU_ERR_TLV_TRUNCATED, "81 without its byte"},
    {"80 82 01", APDU_ERR_TLV_TRUNCATED, "82 with one byte"},
    {"80 84 00 00 01", APDU_ERR_TLV_TRUNCATED, "84 with three bytes"},
    {"80 05 01 02", APDU_ERR_TLV_TRUNCATED, "value shorter than its length"},
    {"80 81 02 01", APDU_ERR_TLV_TRUNCATED, "long-form value short"},
    {"80 84 FF FF FF FF 00", APDU_ERR_TLV_TRUNCATED, "4 GiB value announced"},
};

START_TEST(parse_bad)
{
    uint8_t b[32];
    size_t n = at_hex(bad[_i].hex, b, sizeof(b));
    apdu_tlv t;
    apdu_status st = apdu_tlv_parse(b, n, &t, NULL);
    ck_assert_msg(st == bad[_i].st, "%s (%s): got %s, want %s", bad[_i].hex, bad[_i].why,
                  apdu_status_name(st), apdu_status_name(bad[_i].st));
}
END_TEST

/* Malformed nesting: validate() reports the inner problem with its own status. */
static const struct {
    const char *hex;
    unsigned depth;
    apdu_status st;
} bad_nested[] = {
    {"30 03 80 05 00", 16, APDU_ERR_TLV_TRUNCATED}, /* inner value too long */
    {"30 04 80 01 00", 16, APDU_ERR_TLV_TRUNCATED}, /* outer value too long */
    {"30 02 30 00", 1, APDU_ERR_TLV_DEPTH},         /* two levels, one allowed */
    {"30 04 31 02 32 00", 2, APDU_ERR_TLV_DEPTH},
    {"30 03 80 80 00", 16, APDU_ERR_TLV_LEN_INVALID}, /* indefinite inside */
    {"30 02 00 00", 16, APDU_ERR_TLV_TAG_INVALID},    /* padding inside */
    {"30 04 9F 80 01 00", 16, APDU_ERR_TLV_TAG_INVALID},
    {"80 00 30", 16, APDU_ERR_TLV_TRUNCATED}, /* second element cut */
    {"30 00", 0, APDU_ERR_ARGS},              /* depth 0 */
};

START_TEST(validate_bad)
{
    uint8_t b[32];
    size_t n = at_hex(bad_nested[_i].hex, b, sizeof(b));
    apdu_status st = apdu_tlv_validate(b, n, bad_nested[_i].depth);
    ck_assert_msg(st == bad_nested[_i].st, "%s depth %u: got %s, want %s", bad_nested[_i].hex,
                  bad_nested[_i].depth, apdu_status_name(st), apdu_status_name(bad_nested[_i].st));
}
END_TEST

/* n constructed values nested in one another, written from the inside out at the end
 * of buf; start[i] is where the i-th (0 = outermost) begins. */
static void nest(uint8_t *buf, size_t cap, size_t n, size_t *start)
{
    size_t pos = cap;
    for (size_t i = n; i-- > 0;) {
        size_t content = cap - pos;
        uint8_t hdr[6];
        hdr[0] = 0x30;
        size_t hn = 1 + apdu_len_write(content, hdr + 1);
        pos -= hn;
        memcpy(buf + pos, hdr, hn);
        start[i] = pos;
    }
}

START_TEST(validate_good)
{
    uint8_t b[64];
    size_t n = at_hex("30 00", b, sizeof(b));
    ck_assert_int_eq(apdu_tlv_validate(b, n, 1), APDU_OK); /* empty: nothing deeper */
    n = at_hex("30 02 30 00", b, sizeof(b));
    ck_assert_int_eq(apdu_tlv_validate(b, n, 2), APDU_OK);
    n = at_hex("30 04 31 02 32 00 80 01 AA A0 00", b, sizeof(b));
    ck_assert_int_eq(apdu_tlv_validate(b, n, 3), APDU_OK);
    ck_assert_int_eq(apdu_tlv_validate(b, n, 2), APDU_ERR_TLV_DEPTH);
    ck_assert_int_eq(apdu_tlv_validate(b, 0, 1), APDU_OK);
    ck_assert_int_eq(apdu_tlv_validate(NULL, 0, 1), APDU_OK);
    ck_assert_int_eq(apdu_tlv_validate(NULL, 1, 1), APDU_ERR_ARGS);
    /* a primitive value's bytes are not looked into */
    n = at_hex("80 02 FF FF", b, sizeof(b));
    ck_assert_int_eq(apdu_tlv_validate(b, n, 1), APDU_OK);

    /* 70 nested values: limits above APDU_TLV_MAX_DEPTH are clamped to it */
    static uint8_t deep[70 * 4];
    size_t start[71];
    nest(deep, sizeof(deep), 70, start);
    size_t dn = sizeof(deep) - start[0];
    ck_assert_int_eq(apdu_tlv_validate(deep + start[0], dn, 70), APDU_ERR_TLV_DEPTH);
    ck_assert_int_eq(apdu_tlv_validate(deep + start[0], dn, 71), APDU_ERR_TLV_DEPTH);
    /* 64 nested values (the innermost empty) fit in 64 levels, 65 do not */
    ck_assert_int_eq(apdu_tlv_validate(deep + start[6], sizeof(deep) - start[6], 1000), APDU_OK);
    ck_assert_int_eq(apdu_tlv_validate(deep + start[5], sizeof(deep) - start[5], 1000),
                     APDU_ERR_TLV_DEPTH);
    ck_assert_int_eq(apdu_tlv_validate(deep + start[6], sizeof(deep) - start[6], 63),
                     APDU_ERR_TLV_DEPTH);
}
END_TEST

/* ---- iteration and lookup --------------------------------------------------- */

/* 6F { 84 3F00, A5 { 62 { 83 0102 } } } */
static const char fci_hex[] = "6F 0C 84 02 3F 00 A5 06 62 04 83 02 01 02";

START_TEST(find_and_path)
{
    uint8_t b[32];
    size_t n = at_hex(fci_hex, b, sizeof(b));
    apdu_tlv t;
    ck_assert_int_eq(apdu_tlv_find(b, n, 0x6f, &t), APDU_OK);
    ck_assert_uint_eq(t.len, 12);
    ck_assert_int_eq(apdu_tlv_find(b, n, 0x84, &t), APDU_ERR_TLV_NOT_FOUND); /* not top */
    ck_assert_int_eq(apdu_tlv_find(t.value, t.len, 0x84, &t), APDU_OK);
    ck_assert_mem_eq(t.value, "\x3f\x00", 2);

    const apdu_tag path[] = {0x6f, 0xa5, 0x62, 0x83};
    ck_assert_int_eq(apdu_tlv_find_path(b, n, path, 4, &t), APDU_OK);
    ck_assert_uint_eq(t.tag, 0x83);
    ck_assert_uint_eq(t.len, 2);
    ck_assert_mem_eq(t.value, "\x01\x02", 2);
    uint64_t v;
    ck_assert_int_eq(apdu_tlv_uint(&t, &v), APDU_OK);
    ck_assert_uint_eq(v, 0x0102);

    const apdu_tag through_primitive[] = {0x6f, 0x84, 0x3f};
    ck_assert_int_eq(apdu_tlv_find_path(b, n, through_primitive, 3, &t), APDU_ERR_TLV_NOT_FOUND);
    const apdu_tag absent[] = {0x6f, 0x99};
    ck_assert_int_eq(apdu_tlv_find_path(b, n, absent, 2, &t), APDU_ERR_TLV_NOT_FOUND);
    ck_assert_int_eq(apdu_tlv_find_path(b, n, path, 0, &t), APDU_ERR_ARGS);
    ck_assert_int_eq(apdu_tlv_find_path(b, n, NULL, 1, &t), APDU_ERR_ARGS);
    /* a malformed element before the match is reported, not skipped */
    n = at_hex("80 05 01 83 01 00", b, sizeof(b));
    ck_assert_int_eq(apdu_tlv_find(b, n, 0x83, &t), APDU_ERR_TLV_TRUNCATED);
    ck_assert_int_eq(apdu_tlv_find(NULL, 0, 0x83, &t), APDU_ERR_TLV_NOT_FOUND);
    ck_assert_int_eq(apdu_tlv_find(b, n, 0x83, NULL), APDU_ERR_ARGS);
}
END_TEST

START_TEST(iterate_padding_and_der)
{
    uint8_t b[32];
    size_t n = at_hex("00 FF 80 01 AA 00 00 81 00 FF", b, sizeof(b));
    apdu_tlv_iter it;
    apdu_tlv t;
    apdu_tlv_iter_init(&it, b, n);
    ck_assert_int_eq(apdu_tlv_next(&it, &t), APDU_ERR_TLV_TAG_INVALID); /* strict default */
    apdu_tlv_iter_init(&it, b, n);
    it.skip_padding = true;
    ck_assert_int_eq(apdu_tlv_next(&it, &t), APDU_OK);
    ck_assert_uint_eq(t.tag, 0x80);
    ck_assert_int_eq(apdu_tlv_next(&it, &t), APDU_OK);
    ck_assert_uint_eq(t.tag, 0x81);
    ck_assert_int_eq(apdu_tlv_next(&it, &t), APDU_ERR_TLV_END);
    ck_assert_int_eq(apdu_tlv_next(&it, &t), APDU_ERR_TLV_END);

    /* der: the shortest length form only */
    n = at_hex("80 81 05 01 02 03 04 05", b, sizeof(b));
    apdu_tlv_iter_init(&it, b, n);
    ck_assert_int_eq(apdu_tlv_next(&it, &t), APDU_OK);
    apdu_tlv_iter_init(&it, b, n);
    it.der = true;
    ck_assert_int_eq(apdu_tlv_next(&it, &t), APDU_ERR_TLV_LEN_NONMINIMAL);
    n = at_hex("80 82 00 02 01 02", b, sizeof(b));
    apdu_tlv_iter_init(&it, b, n);
    it.der = true;
    ck_assert_int_eq(apdu_tlv_next(&it, &t), APDU_ERR_TLV_LEN_NONMINIMAL);
    n = at_hex("80 81 80", b, sizeof(b));
    apdu_tlv_iter_init(&it, b, n);
    it.der = true;
    ck_assert_int_eq(apdu_tlv_next(&it, &t), APDU_ERR_TLV_TRUNCATED); /* 81 80 is minimal */

    apdu_tlv_iter_init(&it, NULL, 5);
    ck_assert_int_eq(apdu_tlv_next(&it, &t), APDU_ERR_TLV_END);
    ck_assert_int_eq(apdu_tlv_next(NULL, &t), APDU_ERR_ARGS);
    ck_assert_int_eq(apdu_tlv_parse(NULL, 2, &t, NULL), APDU_ERR_ARGS);
    ck_assert_int_eq(apdu_tlv_parse(b, 2, NULL, NULL), APDU_ERR_ARGS);
}
END_TEST

START_TEST(uint_values)
{
    apdu_tlv t = {0x02, false, (const uint8_t *)"\x01\x02\x03\x04\x05\x06\x07\x08\x09", 8, 2};
    uint64_t v;
    ck_assert_int_eq(apdu_tlv_uint(&t, &v), APDU_OK);
    ck_assert_uint_eq(v, 0x0102030405060708ull);
    t.len = 9;
    ck_assert_int_eq(apdu_tlv_uint(&t, &v), APDU_ERR_TLV_LEN_TOO_LONG);
    t.len = 0;
    ck_assert_int_eq(apdu_tlv_uint(&t, &v), APDU_OK);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(apdu_tlv_uint(NULL, &v), APDU_ERR_ARGS);
}
END_TEST

START_TEST(sizes_and_writes)
{
    uint8_t b[8];
    ck_assert_uint_eq(apdu_tag_size(0x84), 1);
    ck_assert_uint_eq(apdu_tag_size(0x5f2d), 2);
    ck_assert_uint_eq(apdu_tag_size(0xbf8101), 3);
    ck_assert_uint_eq(apdu_tag_size(0x9f818203), 4);
    ck_assert_uint_eq(apdu_tag_write(0xbf8101, b), 3);
    ck_assert_mem_eq(b, "\xbf\x81\x01", 3);
    static const struct {
        size_t len;
        const char *enc;
        size_t n;
    } lens[] = {{0, "\x00", 1},
                {127, "\x7f", 1},
                {128, "\x81\x80", 2},
                {255, "\x81\xff", 2},
                {256, "\x82\x01\x00", 3},
                {65535, "\x82\xff\xff", 3},
                {65536, "\x83\x01\x00\x00", 4},
                {0xffffff, "\x83\xff\xff\xff", 4},
                {0x1000000, "\x84\x01\x00\x00\x00", 5},
                {0xffffffffu, "\x84\xff\xff\xff\xff", 5}};
    for (size_t i = 0; i < VT_ARRAY_LEN(lens); i++) {
        ck_assert_uint_eq(apdu_len_size(lens[i].len), lens[i].n);
        ck_assert_uint_eq(apdu_len_write(lens[i].len, b), lens[i].n);
        ck_assert_mem_eq(b, lens[i].enc, lens[i].n);
    }
#if SIZE_MAX > 0xffffffffu
    ck_assert_uint_eq(apdu_len_size((size_t)0x100000000ull), 0);
    ck_assert_uint_eq(apdu_len_write((size_t)0x100000000ull, b), 0);
#endif
}
END_TEST

/* ---- builder ---------------------------------------------------------------- */

START_TEST(builder_fixups)
{
    static uint8_t val[300];
    memset(val, 0x5a, sizeof(val));
    vt_buf out = {0};
    apdu_tlvb b;
    apdu_tlvb_init(&b, &out);
    apdu_tlvb_open(&b, 0x30);
    apdu_tlvb_open(&b, 0xa1);
    apdu_tlvb_put(&b, 0x80, val, 300); /* 80 82 01 2C + 300 = 304 */
    apdu_tlvb_close(&b);               /* A1 82 01 30 + 304 = 308 */
    apdu_tlvb_put_u8(&b, 0x81, 7);     /* 81 01 07 */
    apdu_tlvb_put_u16(&b, 0x5f2d, 0x7275);
    apdu_tlvb_open(&b, 0x7f49); /* empty constructed */
    apdu_tlvb_close(&b);
    apdu_tlvb_close(&b); /* 308 + 3 + 5 + 3 = 319 = 0x13F */
    ck_assert_int_eq(apdu_tlvb_finish(&b), APDU_OK);
    ck_assert_uint_eq(out.len, 4 + 319);
    ck_assert_mem_eq(out.data, "\x30\x82\x01\x3f\xa1\x82\x01\x30\x80\x82\x01\x2c", 12);
    ck_assert_mem_eq(out.data + 12, val, 300);
    ck_assert_mem_eq(out.data + 312, "\x81\x01\x07\x5f\x2d\x02\x72\x75\x7f\x49\x00", 11);
    ck_assert_int_eq(apdu_tlv_validate(out.data, out.len, 3), APDU_OK);
    vt_buf_free(&out);

    /* 128 bytes of content: the length grows from one byte to two */
    apdu_tlvb_init(&b, &out);
    apdu_tlvb_open(&b, 0x62);
    apdu_tlvb_put(&b, 0x80, val, 125); /* 127 */
    apdu_tlvb_put(&b, 0x81, NULL, 0);  /* 129 */
    apdu_tlvb_close(&b);
    ck_assert_int_eq(apdu_tlvb_finish(&b), APDU_OK);
    ck_assert_uint_eq(out.len, 3 + 129);
    ck_assert_mem_eq(out.data, "\x62\x81\x81\x80\x7d", 5);
    ck_assert_mem_eq(out.data + 130, "\x81\x00", 2);
    vt_buf_free(&out);
}
END_TEST

START_TEST(builder_errors)
{
    vt_buf out = {0};
    apdu_tlvb b;
    apdu_tlvb_init(&b, &out);
    apdu_tlvb_close(&b);
    ck_assert_int_eq(apdu_tlvb_finish(&b), APDU_ERR_TLV_UNBALANCED);
    apdu_tlvb_put_u8(&b, 0x80, 1); /* sticky: ignored */
    ck_assert_uint_eq(out.len, 0);

    vt_buf_clear(&out);
    apdu_tlvb_init(&b, &out);
    apdu_tlvb_open(&b, 0x30);
    ck_assert_int_eq(apdu_tlvb_finish(&b), APDU_ERR_TLV_UNBALANCED);

    static const apdu_tag bad_tags[] = {0x00,   0xff,   0x1f,     0x9f80,     0x5f00,
                                        0x9f81, 0x0101, 0x1f0101, 0x9f818283u};
    for (size_t i = 0; i < VT_ARRAY_LEN(bad_tags); i++) {
        vt_buf_clear(&out);
        apdu_tlvb_init(&b, &out);
        apdu_tlvb_put_u8(&b, bad_tags[i], 1);
        ck_assert_msg(apdu_tlvb_finish(&b) == APDU_ERR_TLV_TAG_INVALID, "tag %x", bad_tags[i]);
        apdu_tlvb_init(&b, &out);
        apdu_tlvb_open(&b, bad_tags[i]);
        ck_assert_int_eq(apdu_tlvb_finish(&b), APDU_ERR_TLV_TAG_INVALID);
    }
    /* open wants a constructed tag */
    apdu_tlvb_init(&b, &out);
    apdu_tlvb_open(&b, 0x83);
    ck_assert_int_eq(apdu_tlvb_finish(&b), APDU_ERR_TLV_TAG_INVALID);

    vt_buf_clear(&out);
    apdu_tlvb_init(&b, &out);
    for (int i = 0; i < APDU_TLV_DEFAULT_DEPTH; i++)
        apdu_tlvb_open(&b, 0x30);
    ck_assert_int_eq(b.err, APDU_OK);
    apdu_tlvb_open(&b, 0x30);
    ck_assert_int_eq(apdu_tlvb_finish(&b), APDU_ERR_TLV_DEPTH);

    apdu_tlvb_init(&b, &out);
    apdu_tlvb_put(&b, 0x80, NULL, 3);
    ck_assert_int_eq(apdu_tlvb_finish(&b), APDU_ERR_ARGS);
#if SIZE_MAX > 0xffffffffu
    apdu_tlvb_init(&b, &out);
    apdu_tlvb_put(&b, 0x80, "", (size_t)0x100000000ull); /* length is checked first */
    ck_assert_int_eq(apdu_tlvb_finish(&b), APDU_ERR_TLV_LEN_TOO_LONG);
#endif
    /* allocation failure shows as NOMEM */
    vt_buf_free(&out);
    out.oom = true;
    apdu_tlvb_init(&b, &out);
    apdu_tlvb_put_u8(&b, 0x80, 1);
    ck_assert_int_eq(apdu_tlvb_finish(&b), APDU_ERR_NOMEM);
    out.oom = false;

    apdu_tlvb_init(&b, NULL);
    ck_assert_int_eq(apdu_tlvb_finish(&b), APDU_ERR_ARGS);
    ck_assert_int_eq(apdu_tlvb_finish(NULL), APDU_ERR_ARGS);
    apdu_tlvb_init(NULL, &out); /* no crash */
    apdu_tlvb_put_u8(NULL, 0x80, 1);
    apdu_tlvb_open(NULL, 0x30);
    apdu_tlvb_close(NULL);
    vt_buf_free(&out);
}
END_TEST

/* ---- random trees ----------------------------------------------------------- */

typedef struct node {
    apdu_tag tag;
    bool cons;
    struct node *kids;
    size_t nkids;
    uint8_t *val;
    size_t len;
} node;

static apdu_tag gen_tag(at_rng *r, bool cons)
{
    size_t n = at_range(r, 1, 4);
    unsigned cls = (unsigned)at_range(r, 0, 3);
    if (n > 1 && cons && cls == 3)
        cls = 2; /* FF would be padding */
    uint8_t first = (uint8_t)(cls << 6 | (cons ? 0x20 : 0));
    if (n == 1)
        return first | (apdu_tag)at_range(r, 1, 30);
    apdu_tag t = first | 0x1f;
    for (size_t i = 1; i < n; i++) {
        uint8_t b = (uint8_t)at_range(r, i == 1 ? 1 : 0, 127);
        if (i + 1 < n)
            b |= 0x80;
        t = t << 8 | b;
    }
    return t;
}

static size_t gen_len(at_rng *r)
{
    switch (at_range(r, 0, 15)) {
    case 0:
        return at_range(r, 120, 140);
    case 1:
        return at_range(r, 250, 300);
    case 2:
        return at_range(r, 0, 49) == 0 ? at_range(r, 65530, 65600) : 0;
    default:
        return at_range(r, 0, 12);
    }
}

static void gen_node(at_rng *r, node *nd, unsigned depth)
{
    memset(nd, 0, sizeof(*nd));
    nd->cons = depth > 0 && at_range(r, 0, 9) < 4;
    nd->tag = gen_tag(r, nd->cons);
    if (nd->cons) {
        nd->nkids = at_range(r, 0, 4);
        if (depth == 1 && at_range(r, 0, 3) == 0)
            nd->nkids = at_range(r, 20, 60); /* wide: long content from small leaves */
        nd->kids = calloc(nd->nkids ? nd->nkids : 1, sizeof(node));
        ck_assert_ptr_nonnull(nd->kids);
        for (size_t i = 0; i < nd->nkids; i++)
            gen_node(r, &nd->kids[i], depth - 1);
    } else {
        nd->len = gen_len(r);
        nd->val = malloc(nd->len ? nd->len : 1);
        ck_assert_ptr_nonnull(nd->val);
        at_fill(r, nd->val, nd->len);
    }
}

static void free_node(node *nd)
{
    for (size_t i = 0; i < nd->nkids; i++)
        free_node(&nd->kids[i]);
    free(nd->kids);
    free(nd->val);
}

static void build_node(apdu_tlvb *b, const node *nd)
{
    if (nd->cons) {
        apdu_tlvb_open(b, nd->tag);
        for (size_t i = 0; i < nd->nkids; i++)
            build_node(b, &nd->kids[i]);
        apdu_tlvb_close(b);
    } else {
        apdu_tlvb_put(b, nd->tag, nd->val, nd->len);
    }
}

/* Constructed values whose length needed more than one byte: the builder's fix-up. */
static size_t long_constructed;

/* The reference encoder: lengths computed bottom-up, no fix-ups. */
static void encode_node(vt_buf *out, const node *nd)
{
    vt_buf content = {0};
    if (nd->cons) {
        for (size_t i = 0; i < nd->nkids; i++)
            encode_node(&content, &nd->kids[i]);
    } else {
        vt_buf_append(&content, nd->val, nd->len);
    }
    if (nd->cons && content.len >= 128)
        long_constructed++;
    uint8_t hdr[10];
    size_t n = apdu_tag_write(nd->tag, hdr);
    n += apdu_len_write(content.len, hdr + n);
    vt_buf_append(out, hdr, n);
    vt_buf_append(out, content.data, content.len);
    vt_buf_free(&content);
}

/* Levels validate() needs: 1 + the deepest non-empty constructed value. */
static unsigned need_depth(const node *nd)
{
    if (!nd->cons || nd->nkids == 0)
        return 1;
    unsigned d = 0;
    for (size_t i = 0; i < nd->nkids; i++) {
        unsigned k = need_depth(&nd->kids[i]);
        d = k > d ? k : d;
    }
    return d + 1;
}

static void check_level(const uint8_t *buf, size_t len, const node *kids, size_t n)
{
    apdu_tlv_iter it;
    apdu_tlv t;
    apdu_tlv_iter_init(&it, buf, len);
    it.der = true; /* the builder writes the shortest lengths */
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(apdu_tlv_next(&it, &t), APDU_OK);
        ck_assert_uint_eq(t.tag, kids[i].tag);
        ck_assert(t.constructed == kids[i].cons);
        if (kids[i].cons) {
            check_level(t.value, t.len, kids[i].kids, kids[i].nkids);
        } else {
            ck_assert_uint_eq(t.len, kids[i].len);
            if (t.len)
                ck_assert_mem_eq(t.value, kids[i].val, t.len);
        }
    }
    ck_assert_int_eq(apdu_tlv_next(&it, &t), APDU_ERR_TLV_END);
}

START_TEST(random_trees_roundtrip)
{
    at_rng r = {0x7c0ffee};
    for (int iter = 0; iter < 3000; iter++) {
        node root = {0};
        root.cons = true; /* a pseudo-node holding the top-level elements */
        root.nkids = at_range(&r, 1, 4);
        root.kids = calloc(root.nkids, sizeof(node));
        ck_assert_ptr_nonnull(root.kids);
        unsigned depth = (unsigned)at_range(&r, 0, 6);
        for (size_t i = 0; i < root.nkids; i++)
            gen_node(&r, &root.kids[i], depth);

        vt_buf built = {0}, ref = {0};
        apdu_tlvb b;
        apdu_tlvb_init(&b, &built);
        for (size_t i = 0; i < root.nkids; i++)
            build_node(&b, &root.kids[i]);
        ck_assert_int_eq(apdu_tlvb_finish(&b), APDU_OK);
        for (size_t i = 0; i < root.nkids; i++)
            encode_node(&ref, &root.kids[i]);
        ck_assert_uint_eq(built.len, ref.len);
        ck_assert_mem_eq(built.data, ref.data, ref.len);

        check_level(built.data, built.len, root.kids, root.nkids);
        unsigned need = need_depth(&root) - 1;
        ck_assert_int_eq(apdu_tlv_validate(built.data, built.len, need), APDU_OK);
        if (need > 1)
            ck_assert_int_eq(apdu_tlv_validate(built.data, built.len, need - 1),
                             APDU_ERR_TLV_DEPTH);
        /* and every first-found path leads to its node */
        const node *nd = &root.kids[0];
        apdu_tag path[16];
        size_t plen = 0;
        path[plen++] = nd->tag;
        while (nd->cons && nd->nkids > 0 && plen < 16) {
            nd = &nd->kids[0];
            path[plen++] = nd->tag;
        }
        apdu_tlv t;
        ck_assert_int_eq(apdu_tlv_find_path(built.data, built.len, path, plen, &t), APDU_OK);
        ck_assert_uint_eq(t.tag, nd->tag);

        vt_buf_free(&built);
        vt_buf_free(&ref);
        free_node(&root);
    }
    ck_assert_uint_gt(long_constructed, 500);
}
END_TEST

/* ---- COMPACT-TLV ------------------------------------------------------------ */

START_TEST(compact_tlv)
{
    /* JaCarta's historical bytes after the category indicator 80 */
    uint8_t b[32];
    size_t n = at_hex("73 C8 21 13 66 01 06 11 59 00 01", b, sizeof(b));
    apdu_tlv_iter it;
    apdu_ctlv c;
    apdu_tlv_iter_init(&it, b, n);
    ck_assert_int_eq(apdu_ctlv_next(&it, &c), APDU_OK);
    ck_assert_uint_eq(c.tag, 7);
    ck_assert_uint_eq(c.len, 3);
    ck_assert_mem_eq(c.value, "\xc8\x21\x13", 3);
    ck_assert_int_eq(apdu_ctlv_next(&it, &c), APDU_OK);
    ck_assert_uint_eq(c.tag, 6);
    ck_assert_uint_eq(c.len, 6);
    ck_assert_int_eq(apdu_ctlv_next(&it, &c), APDU_ERR_TLV_END);

    n = at_hex("35 01 02", b, sizeof(b));
    apdu_tlv_iter_init(&it, b, n);
    ck_assert_int_eq(apdu_ctlv_next(&it, &c), APDU_ERR_TLV_TRUNCATED);
    n = at_hex("40", b, sizeof(b)); /* zero length is fine */
    apdu_tlv_iter_init(&it, b, n);
    ck_assert_int_eq(apdu_ctlv_next(&it, &c), APDU_OK);
    ck_assert_uint_eq(c.tag, 4);
    ck_assert_uint_eq(c.len, 0);
    ck_assert_int_eq(apdu_ctlv_next(NULL, &c), APDU_ERR_ARGS);
}
END_TEST

Suite *tlv_suite(void)
{
    Suite *s = suite_create("tlv");
    TCase *tc = tcase_create("parse");
    tcase_add_loop_test(tc, parse_good, 0, (int)VT_ARRAY_LEN(good));
    tcase_add_test(tc, parse_long_lengths);
    tcase_add_loop_test(tc, parse_bad, 0, (int)VT_ARRAY_LEN(bad));
    tcase_add_loop_test(tc, validate_bad, 0, (int)VT_ARRAY_LEN(bad_nested));
    tcase_add_test(tc, validate_good);
    tcase_add_test(tc, find_and_path);
    tcase_add_test(tc, iterate_padding_and_der);
    tcase_add_test(tc, uint_values);
    tcase_add_test(tc, sizes_and_writes);
    tcase_add_test(tc, compact_tlv);
    suite_add_tcase(s, tc);
    tc = tcase_create("build");
    tcase_add_test(tc, builder_fixups);
    tcase_add_test(tc, builder_errors);
    tcase_add_test(tc, random_trees_roundtrip);
    suite_add_tcase(s, tc);
    return s;
}
