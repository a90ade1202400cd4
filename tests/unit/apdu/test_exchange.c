/* apdu_exchange() against a scripted fake transport: command chaining and its CLA
 * bits, 61xx GET RESPONSE loops, the 6Cxx re-issue, errors in the middle of a chain,
 * trace redaction; and the NULL-safe transport wrappers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apdu_test.h"
#include "transport.h"

#define MAX_STEPS 2048

/* One scripted answer: raw response bytes (hex), or a transport error. */
typedef struct step {
    const char *resp_hex;
    apdu_status err;
} step;

typedef struct sent {
    uint8_t *buf;
    size_t len;
} sent;

typedef struct fake {
    const step *script;
    size_t nscript;
    size_t next;
    const step *repeat; /* answer given once the script is used up (NULL = fail) */
    sent log[MAX_STEPS];
    size_t nlog;
    bool closed;
    int begins, ends;
} fake;

static apdu_status fake_transmit(apdu_transport *t, const uint8_t *capdu, size_t clen,
                                 uint8_t *rapdu, size_t *rlen)
{
    fake *f = t->ctx;
    ck_assert_uint_lt(f->nlog, MAX_STEPS);
    f->log[f->nlog].buf = malloc(clen);
    ck_assert_ptr_nonnull(f->log[f->nlog].buf);
    memcpy(f->log[f->nlog].buf, capdu, clen);
    f->log[f->nlog].len = clen;
    f->nlog++;
    const step *s;
    if (f->next < f->nscript)
        s = &f->script[f->next++];
    else
        s = f->repeat;
    ck_assert_msg(s != NULL, "card got an unexpected command #%zu", f->nlog);
    if (s->err != APDU_OK)
        return s->err;
    long n = vt_hex_decode(s->resp_hex, rapdu, *rlen);
    ck_assert_int_ge(n, 0);
    *rlen = (size_t)n;
    return APDU_OK;
}

static apdu_status fake_get_atr(apdu_transport *t, uint8_t *atr, size_t *len)
{
    (void)t;
    *len = at_hex("3B 88 01 4B 41 5A 54 4F 4B 45 4E 82", atr, *len);
    return APDU_OK;
}

static apdu_status fake_reset(apdu_transport *t, bool cold, uint8_t *atr, size_t *len)
{
    (void)cold;
    return fake_get_atr(t, atr, len);
}

static apdu_status fake_begin(apdu_transport *t)
{
    ((fake *)t->ctx)->begins++;
    return APDU_OK;
}

static apdu_status fake_end(apdu_transport *t)
{
    ((fake *)t->ctx)->ends++;
    return APDU_ERR_NO_CARD;
}

static uint64_t fake_generation(apdu_transport *t)
{
    (void)t;
    return 42;
}

static apdu_status fake_present(apdu_transport *t)
{
    (void)t;
    return APDU_ERR_NO_CARD;
}

static void fake_close(apdu_transport *t)
{
    ((fake *)t->ctx)->closed = true;
}

static const struct apdu_transport_ops fake_ops = {
    .transmit = fake_transmit,
    .get_atr = fake_get_atr,
    .reset = fake_reset,
    .present = fake_present,
    .begin = fake_begin,
    .end = fake_end,
    .generation = fake_generation,
    .close = fake_close,
};

/* Only the required operations. */
static const struct apdu_transport_ops minimal_ops = {.transmit = fake_transmit};

static fake *F;
static apdu_transport T;

static void setup(void)
{
    F = calloc(1, sizeof(*F));
    ck_assert_ptr_nonnull(F);
    memset(&T, 0, sizeof(T));
    T.ops = &fake_ops;
    T.ctx = F;
    T.max_short_nc = 255;
}

static void teardown(void)
{
    for (size_t i = 0; i < F->nlog; i++)
        free(F->log[i].buf);
    free(F);
}

static void script(const step *s, size_t n)
{
    F->script = s;
    F->nscript = n;
    F->next = 0;
}

/* Sent command i, decoded. */
static apdu_cmd sent_cmd(size_t i)
{
    apdu_cmd c;
    ck_assert_uint_lt(i, F->nlog);
    ck_assert_int_eq(apdu_decode(F->log[i].buf, F->log[i].len, &c), APDU_OK);
    return c;
}

static void assert_sent_hex(size_t i, const char *hex)
{
    uint8_t b[300];
    size_t n = at_hex(hex, b, sizeof(b));
    ck_assert_uint_lt(i, F->nlog);
    ck_assert_uint_eq(F->log[i].len, n);
    ck_assert_mem_eq(F->log[i].buf, b, n);
}

static uint8_t big[70000];

static void fill_big(void)
{
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7 + 3);
}

/* ---- plain exchanges -------------------------------------------------------- */

START_TEST(simple_case4)
{
    static const step s[] = {{"6F 02 84 00 90 00", APDU_OK}};
    script(s, 1);
    vt_buf resp = {0};
    uint16_t sw = 0;
    apdu_cmd c = apdu_make(0x00, 0xa4, 0x04, 0x00, (const uint8_t *)"\xa0\x00", 2, 256);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, &resp, &sw), APDU_OK);
    ck_assert_uint_eq(sw, 0x9000);
    ck_assert_uint_eq(resp.len, 4);
    ck_assert_mem_eq(resp.data, "\x6f\x02\x84\x00", 4);
    assert_sent_hex(0, "00 A4 04 00 02 A0 00 00");
    vt_buf_free(&resp);
}
END_TEST

START_TEST(status_word_passthrough)
{
    static const step s[] = {{"6A 82", APDU_OK}, {"63 C2", APDU_OK}};
    script(s, 2);
    uint16_t sw;
    apdu_cmd c = apdu_make(0x00, 0xa4, 0x00, 0x0c, (const uint8_t *)"\x3f\x00", 2, 0);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, NULL, &sw), APDU_OK);
    ck_assert_uint_eq(sw, 0x6a82);
    c = apdu_make(0x00, 0x20, 0x00, 0x01, (const uint8_t *)"1234", 4, 0);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, NULL, &sw), APDU_OK);
    ck_assert_uint_eq(sw, 0x63c2);
    ck_assert_uint_eq(F->nlog, 2);
}
END_TEST

START_TEST(data_dropped_without_buffer)
{
    static const step s[] = {{"01 02 03 90 00", APDU_OK}};
    script(s, 1);
    uint16_t sw;
    apdu_cmd c = apdu_make(0x00, 0xb0, 0, 0, NULL, 0, 3);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, NULL, &sw), APDU_OK);
    ck_assert_uint_eq(sw, 0x9000);
}
END_TEST

START_TEST(bad_arguments)
{
    uint16_t sw;
    apdu_cmd c = apdu_make(0x00, 0xb0, 0, 0, NULL, 0, 3);
    ck_assert_int_eq(apdu_exchange(NULL, &c, 0, NULL, &sw), APDU_ERR_ARGS);
    ck_assert_int_eq(apdu_exchange(&T, NULL, 0, NULL, &sw), APDU_ERR_ARGS);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, NULL, NULL), APDU_ERR_ARGS);
    c.nc = 3; /* data NULL */
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, NULL, &sw), APDU_ERR_ARGS);
    c = apdu_make(0x00, 0xd6, 0, 0, big, 65536, 0);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, NULL, &sw), APDU_ERR_NC_TOO_LONG);
    c = apdu_make(0x00, 0xb0, 0, 0, NULL, 0, 65537);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, NULL, &sw), APDU_ERR_NE_TOO_LONG);
    c = apdu_make(0xff, 0xb0, 0, 0, NULL, 0, 1);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, NULL, &sw), APDU_ERR_CLA_INVALID);
    ck_assert_uint_eq(F->nlog, 0);
}
END_TEST

START_TEST(short_response_is_protocol_error)
{
    static const step s[] = {{"90", APDU_OK}};
    script(s, 1);
    uint16_t sw;
    apdu_cmd c = apdu_make(0x00, 0xb0, 0, 0, NULL, 0, 3);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, NULL, &sw), APDU_ERR_PROTOCOL);
}
END_TEST

START_TEST(transport_error_passes_through)
{
    static const step s[] = {{NULL, APDU_ERR_CARD_RESET}};
    script(s, 1);
    uint16_t sw = 0x1234;
    apdu_cmd c = apdu_make(0x00, 0xb0, 0, 0, NULL, 0, 3);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, NULL, &sw), APDU_ERR_CARD_RESET);
    ck_assert_uint_eq(sw, 0x1234); /* untouched */
}
END_TEST

/* ---- chaining --------------------------------------------------------------- */

START_TEST(chaining_parts_and_cla)
{
    static const step s[] = {{"90 00", APDU_OK}, {"90 00", APDU_OK}, {"AB 90 00", APDU_OK}};
    script(s, 3);
    fill_big();
    vt_buf resp = {0};
    uint16_t sw;
    apdu_cmd c = apdu_make(0x80, 0xda, 0x01, 0x02, big, 600, 256);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, &resp, &sw), APDU_OK);
    ck_assert_uint_eq(sw, 0x9000);
    ck_assert_uint_eq(F->nlog, 3);
    size_t off = 0;
    static const size_t want_nc[] = {255, 255, 90};
    for (size_t i = 0; i < 3; i++) {
        apdu_cmd p = sent_cmd(i);
        ck_assert_uint_eq(p.cla, i < 2 ? 0x90 : 0x80); /* chaining bit on all but the last */
        ck_assert_uint_eq(p.ins, 0xda);
        ck_assert_uint_eq(p.p1, 0x01);
        ck_assert_uint_eq(p.p2, 0x02);
        ck_assert(!p.extended);
        ck_assert_uint_eq(p.nc, want_nc[i]);
        ck_assert_mem_eq(p.data, big + off, p.nc);
        ck_assert_uint_eq(p.ne, i < 2 ? 0 : 256); /* only the last part asks for data */
        off += p.nc;
    }
    ck_assert_uint_eq(off, 600);
    ck_assert_uint_eq(resp.len, 1);
    vt_buf_free(&resp);
}
END_TEST

START_TEST(chaining_small_chunks)
{
    static const step ok = {"90 00", APDU_OK};
    F->repeat = &ok;
    fill_big();
    T.max_short_nc = 100;
    uint16_t sw;
    apdu_cmd c = apdu_make(0x00, 0xdb, 0x3f, 0xff, big, 1000, 0);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, NULL, &sw), APDU_OK);
    ck_assert_uint_eq(F->nlog, 10);
    for (size_t i = 0; i < 10; i++) {
        apdu_cmd p = sent_cmd(i);
        ck_assert_uint_eq(p.nc, 100);
        ck_assert_uint_eq(p.cla, i < 9 ? 0x10 : 0x00);
        ck_assert_mem_eq(p.data, big + 100 * i, 100);
    }
    /* exactly one chunk: no chaining */
    T.max_short_nc = 0; /* 0 means 255 */
    c.nc = 255;
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, NULL, &sw), APDU_OK);
    ck_assert_uint_eq(F->nlog, 11);
    ck_assert_uint_eq(sent_cmd(10).cla, 0x00);
    ck_assert_uint_eq(sent_cmd(10).nc, 255);
}
END_TEST

START_TEST(chaining_refused_mid_chain)
{
    static const step s[] = {{"90 00", APDU_OK}, {"68 84", APDU_OK}};
    script(s, 2);
    fill_big();
    vt_buf resp = {0};
    uint16_t sw;
    apdu_cmd c = apdu_make(0x00, 0xda, 0x01, 0x02, big, 700, 0);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, &resp, &sw), APDU_OK);
    ck_assert_uint_eq(sw, 0x6884); /* the card's answer ends the chain */
    ck_assert_uint_eq(F->nlog, 2);
    ck_assert_uint_eq(resp.len, 0);
    vt_buf_free(&resp);
}
END_TEST

START_TEST(chaining_transport_error_mid_chain)
{
    static const step s[] = {{"90 00", APDU_OK}, {NULL, APDU_ERR_NO_CARD}};
    script(s, 2);
    fill_big();
    uint16_t sw = 0;
    apdu_cmd c = apdu_make(0x00, 0xda, 0x01, 0x02, big, 700, 0);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, NULL, &sw), APDU_ERR_NO_CARD);
    ck_assert_uint_eq(F->nlog, 2);
    ck_assert_uint_eq(sw, 0);
}
END_TEST

START_TEST(no_chaining_flag)
{
    fill_big();
    uint16_t sw;
    apdu_cmd c = apdu_make(0x00, 0xda, 0x01, 0x02, big, 256, 0);
    ck_assert_int_eq(apdu_exchange(&T, &c, APDU_X_NO_CHAINING, NULL, &sw), APDU_ERR_NEEDS_EXTENDED);
    ck_assert_uint_eq(F->nlog, 0);
}
END_TEST

START_TEST(extended_transport_sends_one_command)
{
    static const step s[] = {{"90 00", APDU_OK}, {"90 00", APDU_OK}};
    script(s, 2);
    fill_big();
    T.extended = true;
    uint16_t sw;
    apdu_cmd c = apdu_make(0x00, 0xda, 0x01, 0x02, big, 600, 1000);
    ck_assert_int_eq(apdu_exchange(&T, &c, APDU_X_NO_CHAINING, NULL, &sw), APDU_OK);
    ck_assert_uint_eq(F->nlog, 1);
    apdu_cmd p = sent_cmd(0);
    ck_assert(p.extended);
    ck_assert_uint_eq(p.nc, 600);
    ck_assert_uint_eq(p.ne, 1000);
    /* a short command asked to go extended does so */
    c = apdu_make(0x00, 0xb0, 0, 0, NULL, 0, 10);
    c.extended = true;
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, NULL, &sw), APDU_OK);
    assert_sent_hex(1, "00 B0 00 00 00 00 0A");
}
END_TEST

START_TEST(short_transport_clamps_ne)
{
    static const step s[] = {{"90 00", APDU_OK}, {"90 00", APDU_OK}};
    script(s, 2);
    uint16_t sw;
    apdu_cmd c = apdu_make(0x00, 0xb0, 0, 0, NULL, 0, 65536);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, NULL, &sw), APDU_OK);
    assert_sent_hex(0, "00 B0 00 00 00");
    c.ne = 10;
    c.extended = true; /* not available here: short form */
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, NULL, &sw), APDU_OK);
    assert_sent_hex(1, "00 B0 00 00 0A");
}
END_TEST

/* ---- 61xx and 6Cxx ---------------------------------------------------------- */

static char big_resp_hex[256 * 3 + 8];

START_TEST(get_response_loop)
{
    /* 2 bytes + 61 03, 3 bytes + 61 00, then 256 bytes + 9000 */
    char *p = big_resp_hex;
    for (int i = 0; i < 256; i++)
        p += sprintf(p, "%02X ", i);
    strcpy(p, "90 00");
    const step s[] = {
        {"AA BB 61 03", APDU_OK}, {"CC DD EE 61 00", APDU_OK}, {big_resp_hex, APDU_OK}};
    script(s, 3);
    vt_buf resp = {0};
    uint16_t sw;
    apdu_cmd c = apdu_make(0x00, 0xca, 0x01, 0x02, NULL, 0, 256);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, &resp, &sw), APDU_OK);
    ck_assert_uint_eq(sw, 0x9000);
    ck_assert_uint_eq(F->nlog, 3);
    assert_sent_hex(1, "00 C0 00 00 03");
    assert_sent_hex(2, "00 C0 00 00 00");
    ck_assert_uint_eq(resp.len, 2 + 3 + 256);
    ck_assert_mem_eq(resp.data, "\xaa\xbb\xcc\xdd\xee", 5);
    for (int i = 0; i < 256; i++)
        ck_assert_uint_eq(resp.data[5 + i], i);
    vt_buf_free(&resp);
}
END_TEST

START_TEST(get_response_ends_with_error)
{
    static const step s[] = {{"AA 61 05", APDU_OK}, {"69 85", APDU_OK}};
    script(s, 2);
    vt_buf resp = {0};
    uint16_t sw;
    apdu_cmd c = apdu_make(0x00, 0xca, 0x01, 0x02, NULL, 0, 256);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, &resp, &sw), APDU_OK);
    ck_assert_uint_eq(sw, 0x6985);
    ck_assert_uint_eq(resp.len, 1);
    vt_buf_free(&resp);
}
END_TEST

START_TEST(get_response_disabled)
{
    static const step s[] = {{"AA BB 61 03", APDU_OK}};
    script(s, 1);
    vt_buf resp = {0};
    uint16_t sw;
    apdu_cmd c = apdu_make(0x00, 0xca, 0x01, 0x02, NULL, 0, 256);
    ck_assert_int_eq(apdu_exchange(&T, &c, APDU_X_NO_GET_RESP, &resp, &sw), APDU_OK);
    ck_assert_uint_eq(sw, 0x6103);
    ck_assert_uint_eq(resp.len, 2);
    ck_assert_uint_eq(F->nlog, 1);
    vt_buf_free(&resp);
}
END_TEST

START_TEST(get_response_on_logical_channel)
{
    static const struct {
        uint8_t cla, gr_cla;
    } cases[] = {{0x00, 0x00}, {0x03, 0x03}, {0x0d, 0x01}, {0x13, 0x03},
                 {0x41, 0x41}, {0x6f, 0x4f}, {0x80, 0x00}, {0x84, 0x00}};
    for (size_t i = 0; i < VT_ARRAY_LEN(cases); i++) {
        static const step s[] = {{"61 01", APDU_OK}, {"01 90 00", APDU_OK}};
        script(s, 2);
        uint16_t sw;
        size_t first = F->nlog;
        apdu_cmd c = apdu_make(cases[i].cla, 0xca, 0x00, 0x00, NULL, 0, 1);
        ck_assert_int_eq(apdu_exchange(&T, &c, 0, NULL, &sw), APDU_OK);
        ck_assert_uint_eq(F->nlog, first + 2);
        apdu_cmd gr = sent_cmd(first + 1);
        ck_assert_msg(gr.cla == cases[i].gr_cla, "CLA %02X: GET RESPONSE CLA %02X, want %02X",
                      cases[i].cla, gr.cla, cases[i].gr_cla);
        ck_assert_uint_eq(gr.ins, 0xc0);
    }
}
END_TEST

START_TEST(get_response_endless_card)
{
    static const step forever = {"00 61 01", APDU_OK};
    F->repeat = &forever;
    vt_buf resp = {0};
    uint16_t sw;
    apdu_cmd c = apdu_make(0x00, 0xca, 0x01, 0x02, NULL, 0, 1);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, &resp, &sw), APDU_ERR_PROTOCOL);
    ck_assert_uint_eq(F->nlog, 1 + 1024);
    vt_buf_free(&resp);
}
END_TEST

START_TEST(get_response_transport_error)
{
    static const step s[] = {{"AA 61 05", APDU_OK}, {NULL, APDU_ERR_IO}};
    script(s, 2);
    vt_buf resp = {0};
    uint16_t sw;
    apdu_cmd c = apdu_make(0x00, 0xca, 0x01, 0x02, NULL, 0, 256);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, &resp, &sw), APDU_ERR_IO);
    vt_buf_free(&resp);
}
END_TEST

START_TEST(wrong_le_reissued_once)
{
    static const step s[] = {{"6C 04", APDU_OK}, {"01 02 03 04 90 00", APDU_OK}};
    script(s, 2);
    vt_buf resp = {0};
    uint16_t sw;
    apdu_cmd c = apdu_make(0x00, 0xb0, 0x00, 0x00, NULL, 0, 256);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, &resp, &sw), APDU_OK);
    ck_assert_uint_eq(sw, 0x9000);
    assert_sent_hex(0, "00 B0 00 00 00");
    assert_sent_hex(1, "00 B0 00 00 04");
    ck_assert_uint_eq(resp.len, 4);
    vt_buf_free(&resp);
}
END_TEST

START_TEST(wrong_le_twice_is_returned)
{
    static const step s[] = {{"6C 04", APDU_OK}, {"6C 02", APDU_OK}};
    script(s, 2);
    uint16_t sw;
    apdu_cmd c = apdu_make(0x00, 0xb0, 0x00, 0x00, NULL, 0, 1);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, NULL, &sw), APDU_OK);
    ck_assert_uint_eq(sw, 0x6c02);
    ck_assert_uint_eq(F->nlog, 2);
}
END_TEST

START_TEST(wrong_le_then_get_response)
{
    /* 6C00 means 256; the re-issued command may still chain into 61xx */
    static const step s[] = {{"6C 00", APDU_OK}, {"AA 61 01", APDU_OK}, {"BB 90 00", APDU_OK}};
    script(s, 3);
    vt_buf resp = {0};
    uint16_t sw;
    apdu_cmd c = apdu_make(0x00, 0xb0, 0x00, 0x00, NULL, 0, 1);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, &resp, &sw), APDU_OK);
    assert_sent_hex(1, "00 B0 00 00 00");
    assert_sent_hex(2, "00 C0 00 00 01");
    ck_assert_uint_eq(sw, 0x9000);
    ck_assert_uint_eq(resp.len, 2);
    vt_buf_free(&resp);
}
END_TEST

START_TEST(wrong_le_after_chain_reissues_last_part)
{
    static const step s[] = {{"90 00", APDU_OK}, {"6C 02", APDU_OK}, {"01 02 90 00", APDU_OK}};
    script(s, 3);
    fill_big();
    uint16_t sw;
    apdu_cmd c = apdu_make(0x00, 0xda, 0x00, 0x00, big, 300, 0);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, NULL, &sw), APDU_OK);
    ck_assert_uint_eq(F->nlog, 3);
    apdu_cmd p = sent_cmd(2);
    ck_assert_uint_eq(p.cla, 0x00);
    ck_assert_uint_eq(p.nc, 45);
    ck_assert_uint_eq(p.ne, 2);
    ck_assert_mem_eq(p.data, big + 255, 45);
}
END_TEST

START_TEST(resp_buffer_oom)
{
    static const step s[] = {{"01 90 00", APDU_OK}};
    script(s, 1);
    vt_buf resp = {0};
    resp.oom = true;
    uint16_t sw;
    apdu_cmd c = apdu_make(0x00, 0xb0, 0x00, 0x00, NULL, 0, 1);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, &resp, &sw), APDU_ERR_NOMEM);
}
END_TEST

/* ---- tracing ---------------------------------------------------------------- */

typedef struct trace_rec {
    apdu_dir dir;
    size_t len;
    bool sensitive;
    uint8_t ins;
} trace_rec;

static trace_rec traces[64];
static size_t ntraces;

static void trace_hook(void *arg, apdu_dir dir, const uint8_t *buf, size_t len, bool sensitive)
{
    ck_assert_ptr_eq(arg, &ntraces);
    ck_assert_uint_lt(ntraces, VT_ARRAY_LEN(traces));
    traces[ntraces].dir = dir;
    traces[ntraces].len = len;
    traces[ntraces].sensitive = sensitive;
    traces[ntraces].ins = dir == APDU_DIR_COMMAND && len > 1 ? buf[1] : 0;
    ntraces++;
}

START_TEST(trace_marks_sensitive)
{
    static const step s[] = {{"90 00", APDU_OK},    {"63 C1", APDU_OK},    {"AA 61 01", APDU_OK},
                             {"BB 90 00", APDU_OK}, {"CC 90 00", APDU_OK}, {"90 00", APDU_OK}};
    script(s, VT_ARRAY_LEN(s));
    T.trace = trace_hook;
    T.trace_arg = &ntraces;
    ntraces = 0;
    uint16_t sw;
    /* VERIFY and CHANGE REFERENCE DATA: sensitive by INS */
    apdu_cmd c = apdu_make(0x00, 0x20, 0x00, 0x01, (const uint8_t *)"12345678", 8, 0);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, NULL, &sw), APDU_OK);
    c.ins = 0x24;
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, NULL, &sw), APDU_OK);
    ck_assert_uint_eq(ntraces, 4);
    for (size_t i = 0; i < 4; i++)
        ck_assert(traces[i].sensitive);
    ck_assert_int_eq(traces[0].dir, APDU_DIR_COMMAND);
    ck_assert_uint_eq(traces[0].len, 13);
    ck_assert_int_eq(traces[1].dir, APDU_DIR_RESPONSE);
    ck_assert_uint_eq(traces[1].len, 2);

    /* asked for by the caller: the GET RESPONSE that follows is sensitive too */
    c = apdu_make(0x00, 0x2a, 0x80, 0x86, (const uint8_t *)"\x00\x01", 2, 256);
    ck_assert_int_eq(apdu_exchange(&T, &c, APDU_X_SENSITIVE, NULL, &sw), APDU_OK);
    ck_assert_uint_eq(ntraces, 8);
    for (size_t i = 4; i < 8; i++)
        ck_assert(traces[i].sensitive);
    ck_assert_uint_eq(traces[6].ins, 0xc0);

    /* an ordinary command is not */
    c = apdu_make(0x00, 0xb0, 0x00, 0x00, NULL, 0, 1);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, NULL, &sw), APDU_OK);
    ck_assert_uint_eq(ntraces, 10);
    ck_assert(!traces[8].sensitive && !traces[9].sensitive);

    /* raw transmit decides by the INS byte */
    uint8_t r[16];
    size_t rlen = sizeof(r);
    ck_assert_int_eq(apdu_transmit(&T, (const uint8_t *)"\x00\x2c\x00\x01", 4, r, &rlen), APDU_OK);
    ck_assert_uint_eq(ntraces, 12);
    ck_assert(traces[10].sensitive && traces[11].sensitive);
}
END_TEST

START_TEST(trace_not_called_on_transport_error)
{
    static const step s[] = {{NULL, APDU_ERR_IO}};
    script(s, 1);
    T.trace = trace_hook;
    T.trace_arg = &ntraces;
    ntraces = 0;
    uint16_t sw;
    apdu_cmd c = apdu_make(0x00, 0xb0, 0x00, 0x00, NULL, 0, 1);
    ck_assert_int_eq(apdu_exchange(&T, &c, 0, NULL, &sw), APDU_ERR_IO);
    ck_assert_uint_eq(ntraces, 1); /* the command only */
    ck_assert_int_eq(traces[0].dir, APDU_DIR_COMMAND);
}
END_TEST

/* ---- chain helpers and wrappers --------------------------------------------- */

START_TEST(chain_helpers)
{
    fill_big();
    apdu_cmd c = apdu_make(0x00, 0xda, 1, 2, big, 510, 7), p;
    ck_assert_uint_eq(apdu_chain_count(&c, 255), 2);
    ck_assert_uint_eq(apdu_chain_count(&c, 509), 2);
    ck_assert_uint_eq(apdu_chain_count(&c, 510), 1);
    ck_assert_uint_eq(apdu_chain_count(&c, 0), 0);
    ck_assert_uint_eq(apdu_chain_count(NULL, 255), 0);
    c.nc = 0;
    c.data = NULL;
    ck_assert_uint_eq(apdu_chain_count(&c, 255), 1);
    ck_assert_int_eq(apdu_chain_part(&c, 255, 0, &p), APDU_OK);
    ck_assert_uint_eq(p.ne, 7);
    ck_assert_int_eq(apdu_chain_part(&c, 255, 1, &p), APDU_ERR_ARGS);
    c = apdu_make(0x0c, 0xda, 1, 2, big, 511, 7);
    ck_assert_uint_eq(apdu_chain_count(&c, 255), 3);
    ck_assert_int_eq(apdu_chain_part(&c, 255, 2, &p), APDU_OK);
    ck_assert_uint_eq(p.nc, 1);
    ck_assert_ptr_eq(p.data, big + 510);
    ck_assert_uint_eq(p.cla, 0x0c);
    ck_assert_uint_eq(p.ne, 7);
    ck_assert_int_eq(apdu_chain_part(&c, 255, 1, &p), APDU_OK);
    ck_assert_uint_eq(p.cla, 0x1c);
    ck_assert_uint_eq(p.ne, 0);
    ck_assert_int_eq(apdu_chain_part(&c, 255, 3, &p), APDU_ERR_ARGS);
    ck_assert_int_eq(apdu_chain_part(&c, 0, 0, &p), APDU_ERR_ARGS);
    ck_assert_int_eq(apdu_chain_part(&c, 255, 0, NULL), APDU_ERR_ARGS);
}
END_TEST

START_TEST(wrappers)
{
    uint8_t atr[40];
    size_t alen = sizeof(atr);
    ck_assert_int_eq(apdu_get_atr(&T, atr, &alen), APDU_OK);
    ck_assert_uint_eq(alen, 12);
    alen = sizeof(atr);
    ck_assert_int_eq(apdu_reset(&T, true, atr, &alen), APDU_OK);
    ck_assert_int_eq(apdu_present(&T), APDU_ERR_NO_CARD);
    ck_assert_int_eq(apdu_begin(&T), APDU_OK);
    ck_assert_int_eq(apdu_end(&T), APDU_ERR_NO_CARD);
    ck_assert_int_eq(F->begins, 1);
    ck_assert_int_eq(F->ends, 1);
    ck_assert_uint_eq(apdu_generation(&T), 42);

    /* optional operations missing */
    apdu_transport *m = calloc(1, sizeof(*m));
    ck_assert_ptr_nonnull(m);
    m->ops = &minimal_ops;
    m->ctx = F;
    ck_assert_int_eq(apdu_present(m), APDU_OK);
    ck_assert_int_eq(apdu_begin(m), APDU_OK);
    ck_assert_int_eq(apdu_end(m), APDU_OK);
    ck_assert_uint_eq(apdu_generation(m), 0);
    ck_assert_int_eq(apdu_get_atr(m, atr, &alen), APDU_ERR_ARGS);
    ck_assert_int_eq(apdu_reset(m, false, atr, &alen), APDU_ERR_ARGS);
    apdu_close(m); /* frees m without a close op */

    /* NULL everywhere */
    uint8_t r[4];
    size_t rlen = sizeof(r);
    ck_assert_int_eq(apdu_transmit(NULL, r, 4, r, &rlen), APDU_ERR_ARGS);
    ck_assert_int_eq(apdu_transmit(&T, NULL, 4, r, &rlen), APDU_ERR_ARGS);
    ck_assert_int_eq(apdu_get_atr(NULL, atr, &alen), APDU_ERR_ARGS);
    ck_assert_int_eq(apdu_reset(NULL, false, atr, &alen), APDU_ERR_ARGS);
    ck_assert_int_eq(apdu_present(NULL), APDU_ERR_ARGS);
    ck_assert_int_eq(apdu_begin(NULL), APDU_ERR_ARGS);
    ck_assert_int_eq(apdu_end(NULL), APDU_ERR_ARGS);
    ck_assert_uint_eq(apdu_generation(NULL), 0);
    apdu_close(NULL);

    /* close runs the transport's close, then frees t */
    apdu_transport *t = calloc(1, sizeof(*t));
    ck_assert_ptr_nonnull(t);
    t->ops = &fake_ops;
    t->ctx = F;
    apdu_close(t);
    ck_assert(F->closed);
}
END_TEST

Suite *exchange_suite(void)
{
    Suite *s = suite_create("exchange");
    TCase *tc = tcase_create("exchange");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, simple_case4);
    tcase_add_test(tc, status_word_passthrough);
    tcase_add_test(tc, data_dropped_without_buffer);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, short_response_is_protocol_error);
    tcase_add_test(tc, transport_error_passes_through);
    tcase_add_test(tc, chaining_parts_and_cla);
    tcase_add_test(tc, chaining_small_chunks);
    tcase_add_test(tc, chaining_refused_mid_chain);
    tcase_add_test(tc, chaining_transport_error_mid_chain);
    tcase_add_test(tc, no_chaining_flag);
    tcase_add_test(tc, extended_transport_sends_one_command);
    tcase_add_test(tc, short_transport_clamps_ne);
    tcase_add_test(tc, get_response_loop);
    tcase_add_test(tc, get_response_ends_with_error);
    tcase_add_test(tc, get_response_disabled);
    tcase_add_test(tc, get_response_on_logical_channel);
    tcase_add_test(tc, get_response_endless_card);
    tcase_add_test(tc, get_response_transport_error);
    tcase_add_test(tc, wrong_le_reissued_once);
    tcase_add_test(tc, wrong_le_twice_is_returned);
    tcase_add_test(tc, wrong_le_then_get_response);
    tcase_add_test(tc, wrong_le_after_chain_reissues_last_part);
    tcase_add_test(tc, resp_buffer_oom);
    tcase_add_test(tc, trace_marks_sensitive);
    tcase_add_test(tc, trace_not_called_on_transport_error);
    tcase_add_test(tc, chain_helpers);
    tcase_add_test(tc, wrappers);
    suite_add_tcase(s, tc);
    return s;
}
