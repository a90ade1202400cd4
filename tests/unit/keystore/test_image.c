/* Card image DER: round trips (secret nodes, empty and extreme fields), strictness
 * (every truncation, random bit flips, trailing bytes, non-canonical DER, versions,
 * extensions) with a clean error and an empty image, never a crash or a leak. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "ks_internal.h"
#include "ks_test.h"

static void add_node(ks_image *img, const char *path_hex, uint32_t type, bool secret,
                     const void *attrs, size_t alen, int32_t counter, int32_t cmax,
                     const void *body, size_t blen)
{
    ks_node n = {0};
    long pl = vt_hex_decode(path_hex, n.path, sizeof(n.path));
    ck_assert_int_ge(pl, 0);
    n.path_len = (size_t)pl;
    n.type = type;
    n.secret = secret;
    n.attrs = (uint8_t *)attrs;
    n.attrs_len = alen;
    n.counter = counter;
    n.counter_max = cmax;
    n.body = (uint8_t *)body;
    n.body_len = blen;
    ck_assert_int_eq(ks_image_add(img, &n), KS_OK);
}

static uint8_t big_body[3000];

/* A card with a DF, an EF, a PIN and a long secret key body (long-form lengths). */
static void sample(ks_image *img)
{
    ks_image_init(img);
    strcpy(img->profile, "kaztoken");
    strcpy(img->label, "Kaztoken \xd2\xb0\xd0\x9a\xd0\x9e"); /* UTF-8 */
    memcpy(img->serial, "\x00\x11\x22\x33\x44\x55\x66\x77", 8);
    img->serial_len = 8;
    img->generation = 0x10000000005ull;
    img->lifecycle = 5;
    for (size_t i = 0; i < sizeof(big_body); i++)
        big_body[i] = (uint8_t)(i * 7 + 3);
    add_node(img, "3F00", 1, false, NULL, 0, -1, -1, NULL, 0);
    add_node(img, "3F00 5000", 2, false, "\x62\x03\x82\x01\x38", 5, -1, -1, "hello", 5);
    add_node(img, "3F00 0002", 3, true, "\x01", 1, 9, 10, "12345678", 8);
    add_node(img, "3F00 5000 1001", 4, true, NULL, 0, INT32_MAX, 0, big_body, sizeof(big_body));
    add_node(img, "", UINT32_MAX, false, NULL, 0, 0, INT32_MAX, NULL, 0);
}

static void assert_same(const ks_image *a, const ks_image *b)
{
    ck_assert_uint_eq(a->version, b->version);
    ck_assert_str_eq(a->profile, b->profile);
    ck_assert_str_eq(a->label, b->label);
    ck_assert_uint_eq(a->serial_len, b->serial_len);
    ck_assert(memcmp(a->serial, b->serial, a->serial_len) == 0);
    ck_assert_uint_eq(a->generation, b->generation);
    ck_assert_uint_eq(a->lifecycle, b->lifecycle);
    ck_assert_uint_eq(a->nnodes, b->nnodes);
    for (size_t i = 0; i < a->nnodes; i++) {
        const ks_node *x = &a->nodes[i], *y = &b->nodes[i];
        ck_assert_uint_eq(x->path_len, y->path_len);
        ck_assert(memcmp(x->path, y->path, x->path_len) == 0);
        ck_assert_uint_eq(x->type, y->type);
        ck_assert_int_eq(x->secret, y->secret);
        ck_assert_int_eq(x->counter, y->counter);
        ck_assert_int_eq(x->counter_max, y->counter_max);
        ck_assert_uint_eq(x->attrs_len, y->attrs_len);
        ck_assert(x->attrs_len == 0 || memcmp(x->attrs, y->attrs, x->attrs_len) == 0);
        ck_assert_uint_eq(x->body_len, y->body_len);
        ck_assert(x->body_len == 0 || memcmp(x->body, y->body, x->body_len) == 0);
    }
}

static void assert_empty(const ks_image *img)
{
    ck_assert_uint_eq(img->nnodes, 0);
    ck_assert_ptr_null(img->nodes);
    ck_assert_str_eq(img->profile, "");
    ck_assert_uint_eq(img->serial_len, 0);
    ck_assert_uint_eq(img->generation, 0);
}

static void encode(const ks_image *img, vt_buf *der)
{
    ck_assert_int_eq(ks_image_encode(img, der), KS_OK);
    ck_assert_uint_gt(der->len, 0);
}

START_TEST(round_trip)
{
    ks_image img, back;
    vt_buf der = {0};
    sample(&img);
    encode(&img, &der);
    ck_assert_int_eq(ks_image_decode(der.data, der.len, &back), KS_OK);
    assert_same(&img, &back);
    ck_assert_uint_eq(back.version, KS_IMAGE_VERSION);
    ck_assert_int_eq(back.nodes[0].counter, -1);
    ck_assert_int_eq(back.nodes[2].secret, true);
    ck_assert_uint_eq(back.nodes[4].type, UINT32_MAX);
    /* Encoding is deterministic: the same image gives the same bytes. */
    vt_buf again = {0};
    encode(&back, &again);
    ck_assert_uint_eq(again.len, der.len);
    ck_assert_mem_eq(again.data, der.data, der.len);
    vt_buf_free(&again);
    vt_buf_free(&der);
    ks_image_free(&back);
    ks_image_free(&img);
}
END_TEST

/* The schema cache is freed when the library is unloaded (a host that dlclose()s the
 * module must not lose it); a use after the release, from any thread, builds it again. */
static void *encode_decode_thread(void *arg)
{
    const ks_image *img = arg;
    for (int i = 0; i < 50; i++) {
        vt_buf der = {0};
        ks_image back;
        if (ks_image_encode(img, &der) != KS_OK ||
            ks_image_decode(der.data, der.len, &back) != KS_OK) {
            vt_buf_free(&der);
            return (void *)1;
        }
        ks_image_free(&back);
        vt_buf_free(&der);
    }
    return NULL;
}

START_TEST(schema_cache_release_and_rebuild)
{
    ks_image img, back;
    vt_buf der = {0};
    sample(&img);
    encode(&img, &der);
    ks_image_defs_release();
    ks_image_defs_release(); /* twice is harmless */
    ck_assert_int_eq(ks_image_decode(der.data, der.len, &back), KS_OK);
    assert_same(&img, &back);
    ks_image_free(&back);
    /* Releases racing with encoders and decoders on other threads. */
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, encode_decode_thread, &img), 0);
    for (int i = 0; i < 50; i++)
        ks_image_defs_release();
    for (int i = 0; i < 4; i++) {
        void *res = (void *)1;
        ck_assert_int_eq(pthread_join(th[i], &res), 0);
        ck_assert_ptr_null(res);
    }
    vt_buf_free(&der);
    ks_image_free(&img);
}
END_TEST

START_TEST(round_trip_empty_and_extremes)
{
    ks_image img, back;
    vt_buf der = {0};
    ks_image_init(&img);
    encode(&img, &der);
    ck_assert_int_eq(ks_image_decode(der.data, der.len, &back), KS_OK);
    assert_same(&img, &back);
    ks_image_free(&back);
    vt_buf_free(&der);

    strcpy(img.profile, "0123456789012345678901234567890"); /* 31 bytes: the maximum */
    memset(img.label, 'L', sizeof(img.label) - 1);
    memset(img.serial, 0xff, sizeof(img.serial));
    img.serial_len = sizeof(img.serial);
    img.generation = UINT64_MAX;
    img.lifecycle = UINT32_MAX;
    add_node(&img, "3F00 3F00 3F00 3F00 3F00 3F00 3F00 3F00", 0x80000000u, true, "\x80", 1, 0x7f,
             0x80, "", 0);
    encode(&img, &der);
    ck_assert_int_eq(ks_image_decode(der.data, der.len, &back), KS_OK);
    assert_same(&img, &back);
    ck_assert_uint_eq(back.generation, UINT64_MAX);
    ks_image_free(&back);
    vt_buf_free(&der);
    ks_image_free(&img);
}
END_TEST

START_TEST(encode_refuses_bad_fields)
{
    ks_image img;
    vt_buf der = {0};
    sample(&img);
    img.nodes[1].counter = -2;
    ck_assert_int_eq(ks_image_encode(&img, &der), KS_ERR_ARGS);
    img.nodes[1].counter = 0;
    img.nodes[1].path_len = 17;
    ck_assert_int_eq(ks_image_encode(&img, &der), KS_ERR_ARGS);
    img.nodes[1].path_len = 2;
    memset(img.profile, 'x', sizeof(img.profile));
    ck_assert_int_eq(ks_image_encode(&img, &der), KS_ERR_ARGS);
    strcpy(img.profile, "etoken");
    img.serial_len = 17;
    ck_assert_int_eq(ks_image_encode(&img, &der), KS_ERR_ARGS);
    ck_assert_uint_eq(der.len, 0);
    ks_image_free(&img);

    ks_node n = {0};
    n.counter = -3;
    ks_image_init(&img);
    ck_assert_int_eq(ks_image_add(&img, &n), KS_ERR_ARGS);
    n.counter = 0;
    n.body_len = 4; /* with no body */
    ck_assert_int_eq(ks_image_add(&img, &n), KS_ERR_ARGS);
    ck_assert_uint_eq(img.nnodes, 0);
    ks_image_free(&img);

    /* Larger than the limit in total. */
    ks_image_init(&img);
    uint8_t *huge = calloc(1, KS_IMAGE_MAX_SIZE / 2 + 1);
    ck_assert_ptr_nonnull(huge);
    add_node(&img, "3F00", 1, false, NULL, 0, -1, -1, huge, KS_IMAGE_MAX_SIZE / 2 + 1);
    add_node(&img, "3F01", 1, false, NULL, 0, -1, -1, huge, KS_IMAGE_MAX_SIZE / 2 + 1);
    ck_assert_int_eq(ks_image_encode(&img, &der), KS_ERR_ARGS);
    free(huge);
    ks_image_free(&img);
}
END_TEST

START_TEST(copy_is_deep)
{
    ks_image img, cp;
    sample(&img);
    ck_assert_int_eq(ks_image_copy(&cp, &img), KS_OK);
    assert_same(&img, &cp);
    ck_assert_ptr_ne(cp.nodes, img.nodes);
    ck_assert_ptr_ne(cp.nodes[1].body, img.nodes[1].body);
    img.nodes[1].body[0] = 'J';
    ck_assert_int_eq(cp.nodes[1].body[0], 'h');
    ks_image_free(&img);
    ck_assert_uint_eq(cp.nnodes, 5);
    ck_assert_mem_eq(cp.nodes[3].body, big_body, sizeof(big_body));
    ks_image_free(&cp);
}
END_TEST

START_TEST(every_truncation_fails_cleanly)
{
    ks_image img, back;
    vt_buf der = {0};
    sample(&img);
    encode(&img, &der);
    for (size_t n = 0; n < der.len; n++) {
        ks_status rv = ks_image_decode(der.data, n, &back);
        ck_assert_msg(rv == KS_ERR_CORRUPT, "length %zu gave %d", n, rv);
        assert_empty(&back);
    }
    /* A trailing byte is refused too. */
    vt_buf_append_byte(&der, 0x00);
    ck_assert_int_eq(ks_image_decode(der.data, der.len, &back), KS_ERR_CORRUPT);
    assert_empty(&back);
    vt_buf_free(&der);
    ks_image_free(&img);
}
END_TEST

/* A flip either breaks the image (clean error, empty result) or lands in a value and
 * gives another valid image, which must then re-encode to exactly the flipped bytes. */
START_TEST(random_bit_flips)
{
    ks_image img, back;
    vt_buf der = {0}, again = {0};
    sample(&img);
    encode(&img, &der);
    uint8_t *flip = malloc(der.len);
    ck_assert_ptr_nonnull(flip);
    unsigned seed = 12345;
    size_t errors = 0;
    for (int round = 0; round < 3000; round++) {
        memcpy(flip, der.data, der.len);
        int nflips = 1 + (int)(rand_r(&seed) % 3);
        for (int k = 0; k < nflips; k++) {
            /* Bias towards the structure at the front, where flips are interesting. */
            size_t pos = (size_t)rand_r(&seed) % (round % 2 ? der.len : 120);
            flip[pos] ^= (uint8_t)(1u << (rand_r(&seed) % 8));
        }
        ks_status rv = ks_image_decode(flip, der.len, &back);
        if (rv == KS_OK) {
            vt_buf_clear(&again);
            encode(&back, &again);
            ck_assert_uint_eq(again.len, der.len);
            ck_assert_mem_eq(again.data, flip, der.len);
            ks_image_free(&back);
        } else {
            ck_assert_msg(rv == KS_ERR_CORRUPT || rv == KS_ERR_VERSION, "flip gave %d", rv);
            assert_empty(&back);
            errors++;
        }
    }
    ck_assert_uint_gt(errors, 100);
    free(flip);
    vt_buf_free(&again);
    vt_buf_free(&der);
    ks_image_free(&img);
}
END_TEST

/* An empty image: 30 11 | 02 01 01 | 0C 00 | 04 00 | 0C 00 | 02 01 00 | 02 01 00 | 30 00 */
static const uint8_t empty_v1[] = {0x30, 0x11, 0x02, 0x01, 0x01, 0x0c, 0x00, 0x04, 0x00, 0x0c,
                                   0x00, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x00};

START_TEST(known_encoding_of_empty_image)
{
    ks_image img, back;
    vt_buf der = {0};
    ks_image_init(&img);
    encode(&img, &der);
    ck_assert_uint_eq(der.len, sizeof(empty_v1));
    ck_assert_mem_eq(der.data, empty_v1, sizeof(empty_v1));
    ck_assert_int_eq(ks_image_decode(empty_v1, sizeof(empty_v1), &back), KS_OK);
    ks_image_free(&back);
    vt_buf_free(&der);
}
END_TEST

static char last_why[256];

/* Decode through the reason-giving entry point, so a test fails when the bytes are
 * refused for another reason than the one it is about. */
static ks_status decode_bytes(const uint8_t *p, size_t n)
{
    ks_image back;
    ks_status rv = ks_image_decode_why(p, n, &back, last_why, sizeof(last_why));
    if (rv != KS_OK)
        assert_empty(&back);
    ks_image_free(&back);
    return rv;
}

#define expect_why(sub) ck_assert_msg(strstr(last_why, sub) != NULL, "reason '%s'", last_why)

START_TEST(versions)
{
    uint8_t b[sizeof(empty_v1)];
    memcpy(b, empty_v1, sizeof(b));
    b[4] = 2;
    ck_assert_int_eq(decode_bytes(b, sizeof(b)), KS_ERR_VERSION);
    expect_why("version 2 (this vtoken reads 1)");
    b[4] = 0x7f;
    ck_assert_int_eq(decode_bytes(b, sizeof(b)), KS_ERR_VERSION);
    expect_why("version 127");
    b[4] = 0;
    ck_assert_int_eq(decode_bytes(b, sizeof(b)), KS_ERR_CORRUPT);
    expect_why("version 0 does not exist");
    b[4] = 0xff; /* -1 */
    ck_assert_int_eq(decode_bytes(b, sizeof(b)), KS_ERR_CORRUPT);
    expect_why("negative version");
    /* A version 2 image may look nothing like version 1 after its version field. */
    static const uint8_t v2[] = {0x30, 0x07, 0x02, 0x01, 0x02, 0xa5, 0x02, 0x01, 0x00};
    ck_assert_int_eq(decode_bytes(v2, sizeof(v2)), KS_ERR_VERSION);
    expect_why("version 2");
    static const uint8_t v300[] = {0x30, 0x04, 0x02, 0x02, 0x01, 0x2c};
    ck_assert_int_eq(decode_bytes(v300, sizeof(v300)), KS_ERR_VERSION);
    expect_why("version 300");
    static const uint8_t noversion[] = {0x30, 0x02, 0x04, 0x00};
    ck_assert_int_eq(decode_bytes(noversion, sizeof(noversion)), KS_ERR_CORRUPT);
    expect_why("no version field");
    ck_assert_int_eq(decode_bytes(NULL, 0), KS_ERR_CORRUPT);
    expect_why("no outer SEQUENCE");
}
END_TEST

START_TEST(version1_refuses_extensions)
{
    /* Extension: 30 0A | 06 03 2A 03 04 | 01 01 00 | 04 00 ; list 30 0C; [0] A0 0E */
    static const uint8_t ext[] = {0xa0, 0x0e, 0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03,
                                  0x2a, 0x03, 0x04, 0x01, 0x01, 0x00, 0x04, 0x00};
    uint8_t b[sizeof(empty_v1) + sizeof(ext)];
    memcpy(b, empty_v1, sizeof(empty_v1));
    memcpy(b + sizeof(empty_v1), ext, sizeof(ext));
    b[1] = (uint8_t)(sizeof(b) - 2);
    ck_assert_int_eq(decode_bytes(b, sizeof(b)), KS_ERR_CORRUPT);
    expect_why("extensions are not allowed in version 1");
    /* The same bytes with version 2 are a newer image, not a damaged one. */
    b[4] = 2;
    ck_assert_int_eq(decode_bytes(b, sizeof(b)), KS_ERR_VERSION);
    expect_why("version 2");
}
END_TEST

START_TEST(non_canonical_der_refused)
{
    uint8_t b[64];
    /* Integer with a redundant leading zero (generation 02 02 00 05). */
    static const uint8_t lead0[] = {0x30, 0x12, 0x02, 0x01, 0x01, 0x0c, 0x00, 0x04, 0x00, 0x0c,
                                    0x00, 0x02, 0x02, 0x00, 0x05, 0x02, 0x01, 0x00, 0x30, 0x00};
    ck_assert_int_eq(decode_bytes(lead0, sizeof(lead0)), KS_ERR_CORRUPT);
    expect_why("canonical");
    /* Long-form length where the short form fits. */
    static const uint8_t longlen[] = {0x30, 0x81, 0x11, 0x02, 0x01, 0x01, 0x0c, 0x00, 0x04, 0x00,
                                      0x0c, 0x00, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x00};
    ck_assert_int_eq(decode_bytes(longlen, sizeof(longlen)), KS_ERR_CORRUPT);
    expect_why("canonical");
    /* Indefinite length (BER) is not DER. */
    static const uint8_t indef[] = {0x30, 0x80, 0x02, 0x01, 0x01, 0x0c, 0x00,
                                    0x04, 0x00, 0x0c, 0x00, 0x02, 0x01, 0x00,
                                    0x02, 0x01, 0x00, 0x30, 0x00, 0x00, 0x00};
    ck_assert_int_eq(decode_bytes(indef, sizeof(indef)), KS_ERR_CORRUPT);
    expect_why("bad outer length");

    /* A node whose BOOLEAN TRUE is 01 instead of FF, and whose counter is -2. */
    ks_image img;
    vt_buf der = {0};
    ks_image_init(&img);
    add_node(&img, "3F00", 1, true, NULL, 0, -1, 5, NULL, 0);
    encode(&img, &der);
    ck_assert_uint_le(der.len, sizeof(b));
    memcpy(b, der.data, der.len);
    uint8_t *t = memmem(b, der.len, "\x01\x01\xff", 3);
    ck_assert_ptr_nonnull(t);
    t[2] = 0x01;
    ck_assert_int_eq(decode_bytes(b, der.len), KS_ERR_CORRUPT);
    expect_why("canonical");
    memcpy(b, der.data, der.len);
    t = memmem(b, der.len, "\x02\x01\xff\x02\x01\x05", 6);
    ck_assert_ptr_nonnull(t);
    t[2] = 0xfe;
    ck_assert_int_eq(decode_bytes(b, der.len), KS_ERR_CORRUPT);
    expect_why("integer out of range");
    memcpy(b, der.data, der.len);
    ck_assert_int_eq(decode_bytes(b, der.len), KS_OK);
    vt_buf_free(&der);
    ks_image_free(&img);
}
END_TEST

START_TEST(out_of_range_and_wrong_types)
{
    ks_image img;
    vt_buf der = {0};
    uint8_t *t;
    ks_image_init(&img);
    strcpy(img.profile, "p");
    add_node(&img, "3F00", 7, false, NULL, 0, -1, -1, NULL, 0);
    encode(&img, &der);
    vt_buf b = {0};

    /* profile "p" -> invalid UTF-8 0xff */
    vt_buf_append(&b, der.data, der.len);
    t = memmem(b.data, b.len, "\x0c\x01p", 3);
    ck_assert_ptr_nonnull(t);
    t[2] = 0xff;
    ck_assert_int_eq(decode_bytes(b.data, b.len), KS_ERR_CORRUPT);
    expect_why("not UTF-8");
    /* profile as OCTET STRING instead of UTF8String */
    vt_buf_clear(&b);
    vt_buf_append(&b, der.data, der.len);
    t = memmem(b.data, b.len, "\x0c\x01p", 3);
    t[0] = 0x04;
    ck_assert_int_eq(decode_bytes(b.data, b.len), KS_ERR_CORRUPT);
    expect_why("not valid DER");
    /* node type 7 -> -7 (02 01 07 -> 02 01 f9) */
    vt_buf_clear(&b);
    vt_buf_append(&b, der.data, der.len);
    t = memmem(b.data, b.len, "\x02\x01\x07", 3);
    ck_assert_ptr_nonnull(t);
    t[2] = 0xf9;
    ck_assert_int_eq(decode_bytes(b.data, b.len), KS_ERR_CORRUPT);
    expect_why("integer out of range");
    vt_buf_free(&b);
    vt_buf_free(&der);
    ks_image_free(&img);

    /* Hand-built: a 32-byte profile (one too long), a 17-byte serial, a 17-byte path,
     * type 2^32, counter 2^31 and lifecycle 2^32 are all out of range. */
    static const uint8_t long_profile[] = {
        0x30, 0x31, 0x02, 0x01, 0x01, 0x0c, 0x20, 'a',  'a',  'a',  'a',  'a', 'a',
        'a',  'a',  'a',  'a',  'a',  'a',  'a',  'a',  'a',  'a',  'a',  'a', 'a',
        'a',  'a',  'a',  'a',  'a',  'a',  'a',  'a',  'a',  'a',  'a',  'a', 'a',
        0x04, 0x00, 0x0c, 0x00, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x00};
    ck_assert_int_eq(decode_bytes(long_profile, sizeof(long_profile)), KS_ERR_CORRUPT);
    expect_why("field too long");
    static const uint8_t big_lifecycle[] = {0x30, 0x15, 0x02, 0x01, 0x01, 0x0c, 0x00, 0x04,
                                            0x00, 0x0c, 0x00, 0x02, 0x01, 0x00, 0x02, 0x05,
                                            0x01, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00};
    ck_assert_int_eq(decode_bytes(big_lifecycle, sizeof(big_lifecycle)), KS_ERR_CORRUPT);
    expect_why("integer out of range");
    /* generation 2^64, one more than the maximum */
    static const uint8_t big_gen[] = {0x30, 0x19, 0x02, 0x01, 0x01, 0x0c, 0x00, 0x04, 0x00,
                                      0x0c, 0x00, 0x02, 0x09, 0x01, 0x00, 0x00, 0x00, 0x00,
                                      0x00, 0x00, 0x00, 0x00, 0x02, 0x01, 0x00, 0x30, 0x00};
    ck_assert_int_eq(decode_bytes(big_gen, sizeof(big_gen)), KS_ERR_CORRUPT);
    expect_why("integer out of range");
    /* node: path 17 bytes */
    uint8_t node17[64] = {0x30, 0x00, 0x02, 0x01, 0x01, 0x0c, 0x00, 0x04, 0x00, 0x0c, 0x00, 0x02,
                          0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x00, 0x30, 0x00, 0x04, 17};
    size_t n = 23 + 17;
    static const uint8_t rest[] = {0x02, 0x01, 0x01, 0x01, 0x01, 0x00, 0x04, 0x00,
                                   0x02, 0x01, 0xff, 0x02, 0x01, 0xff, 0x04, 0x00};
    memcpy(node17 + n, rest, sizeof(rest));
    n += sizeof(rest);
    node17[20] = (uint8_t)(n - 21);
    node17[18] = (uint8_t)(n - 19);
    node17[1] = (uint8_t)(n - 2);
    ck_assert_int_eq(decode_bytes(node17, n), KS_ERR_CORRUPT);
    expect_why("field too long");
    /* The same node with a 16-byte path is fine: the test above fails for the length. */
    node17[22] = 16;
    memmove(node17 + 23 + 16, node17 + 23 + 17, sizeof(rest));
    n--;
    node17[20]--;
    node17[18]--;
    node17[1]--;
    ck_assert_int_eq(decode_bytes(node17, n), KS_OK);
}
END_TEST

START_TEST(oversized_input_refused)
{
    size_t n = KS_IMAGE_MAX_SIZE + 1;
    uint8_t *p = calloc(1, n);
    ck_assert_ptr_nonnull(p);
    memcpy(p, empty_v1, sizeof(empty_v1));
    ck_assert_int_eq(decode_bytes(p, n), KS_ERR_CORRUPT);
    expect_why("4 MiB");
    free(p);
}
END_TEST

/* The format is a promise to users' existing images: a checked-in version 1 image must
 * still decode to the same card and re-encode to the same bytes. */
START_TEST(golden_v1_vector)
{
    const char *env = getenv("VT_VECTORS_DIR");
    char *path =
        kt_path(env != NULL && *env ? env : VT_VECTORS_DIR, "keystore/image-v1-sample.der");
    vt_buf file = {0}, der = {0};
    ck_assert_msg(kt_slurp(path, &file), "cannot read %s", path);
    ks_image img, back;
    sample(&img);
    ck_assert_int_eq(ks_image_decode(file.data, file.len, &back), KS_OK);
    assert_same(&img, &back);
    encode(&img, &der);
    ck_assert_uint_eq(der.len, file.len);
    ck_assert_mem_eq(der.data, file.data, der.len);
    ks_image_free(&back);
    ks_image_free(&img);
    vt_buf_free(&der);
    vt_buf_free(&file);
    free(path);
}
END_TEST

Suite *image_suite(void)
{
    Suite *s = suite_create("image");
    TCase *tc = tcase_create("image");
    tcase_set_timeout(tc, 120); /* generous for sanitizer builds on a busy machine */
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, golden_v1_vector);
    tcase_add_test(tc, schema_cache_release_and_rebuild);
    tcase_add_test(tc, round_trip_empty_and_extremes);
    tcase_add_test(tc, encode_refuses_bad_fields);
    tcase_add_test(tc, copy_is_deep);
    tcase_add_test(tc, every_truncation_fails_cleanly);
    tcase_add_test(tc, random_bit_flips);
    tcase_add_test(tc, known_encoding_of_empty_image);
    tcase_add_test(tc, versions);
    tcase_add_test(tc, version1_refuses_extensions);
    tcase_add_test(tc, non_canonical_der_refused);
    tcase_add_test(tc, out_of_range_and_wrong_types);
    tcase_add_test(tc, oversized_input_refused);
    suite_add_tcase(s, tc);
    return s;
}
