/* fuzz_apdu: the command decoder is canonical (whatever decodes re-encodes to the same
 * bytes and decodes to the same command), and apdu_exchange() survives any card: the
 * input's tail is a script of responses (each a length byte and that many bytes). */
#include <stdlib.h>
#include <string.h>

#include "sw.h"
#include "transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                                                 \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

static void roundtrip(const uint8_t *data, size_t size)
{
    static uint8_t enc[APDU_MAX_CAPDU];
    apdu_cmd c, d;
    if (apdu_decode(data, size, &c) != APDU_OK)
        return;
    size_t n;
    REQUIRE(apdu_encode(&c, enc, sizeof(enc), &n) == APDU_OK);
    REQUIRE(n == size && memcmp(enc, data, size) == 0);
    REQUIRE(apdu_encoded_len(&c) == size);
    REQUIRE(apdu_decode(enc, n, &d) == APDU_OK);
    REQUIRE(d.cla == c.cla && d.ins == c.ins && d.p1 == c.p1 && d.p2 == c.p2);
    REQUIRE(d.nc == c.nc && d.ne == c.ne && d.extended == c.extended);
    REQUIRE(apdu_cmd_case(&d) == apdu_cmd_case(&c));
    REQUIRE(c.nc == 0 || memcmp(d.data, c.data, c.nc) == 0);
}

typedef struct script {
    const uint8_t *p;
    size_t left;
    size_t calls, max_calls;
} script;

static apdu_status script_transmit(apdu_transport *t, const uint8_t *capdu, size_t clen,
                                   uint8_t *rapdu, size_t *rlen)
{
    script *s = t->ctx;
    apdu_cmd c;
    /* everything the exchange helper sends must be a well-formed command */
    REQUIRE(apdu_decode(capdu, clen, &c) == APDU_OK);
    size_t chunk = t->max_short_nc == 0 || t->max_short_nc > 255 ? 255 : t->max_short_nc;
    REQUIRE(!c.extended || t->extended);
    REQUIRE(t->extended || c.nc <= chunk);
    /* the helper must give up on an endless card by itself */
    REQUIRE(++s->calls <= s->max_calls);
    if (s->left == 0)
        return APDU_ERR_IO;
    size_t n = s->p[0];
    s->p++;
    s->left--;
    if (n == 0xff) {
        /* an endless 61xx card */
        if (*rlen < 2)
            return APDU_ERR_BUFFER;
        rapdu[0] = 0x61;
        rapdu[1] = 0x01;
        *rlen = 2;
        s->left++;
        s->p--;
        return APDU_OK;
    }
    if (n > s->left)
        n = s->left;
    if (n > *rlen)
        return APDU_ERR_BUFFER;
    memcpy(rapdu, s->p, n);
    *rlen = n;
    s->p += n;
    s->left -= n;
    return APDU_OK;
}

static void trace_hook(void *arg, apdu_dir dir, const uint8_t *buf, size_t len, bool sensitive)
{
    (void)arg;
    (void)dir;
    (void)sensitive;
    if (len > 0)
        REQUIRE(buf != NULL);
}

static void exchange(const uint8_t *data, size_t size)
{
    static uint8_t body[APDU_MAX_NC];
    if (size < 8)
        return;
    static const struct apdu_transport_ops ops = {.transmit = script_transmit};
    apdu_transport t = {&ops, NULL, (size_t)data[0] % 260, (data[1] & 1) != 0, trace_hook, NULL};
    size_t nc = ((size_t)data[2] << 8 | data[3]) % 2000;
    size_t chunk = t.max_short_nc == 0 || t.max_short_nc > 255 ? 255 : t.max_short_nc;
    /* every chain part, one 6Cxx re-issue, 1024 GET RESPONSEs */
    script s = {data + 8, size - 8, 0, (nc + chunk - 1) / chunk + 2 + 1024};
    t.ctx = &s;
    memset(body, 0xa5, nc);
    apdu_cmd c = apdu_make((uint8_t)(data[4] == 0xff ? 0 : data[4]), data[5], 0, 0, body, nc,
                           ((size_t)data[6] << 8 | data[7]) % (APDU_MAX_NE + 1));
    c.extended = (data[1] & 2) != 0;
    vt_buf resp = {0};
    uint16_t sw;
    apdu_status st = apdu_exchange(&t, &c, data[1] >> 2 & 7, (data[1] & 0x20) ? NULL : &resp, &sw);
    (void)st;
    vt_buf_free(&resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    roundtrip(data, size);
    apdu_resp r;
    if (apdu_resp_parse(data, size, &r) == APDU_OK) {
        char text[96];
        int n = apdu_sw_format(r.sw, text, sizeof(text));
        REQUIRE(n > 5 && (size_t)n < sizeof(text) && strlen(text) == (size_t)n);
    }
    exchange(data, size);
    return 0;
}
