/* pcsc_probe: drives apdu/pcsc.c against a private pcscd with one vpcd reader entry.
 * It plays both sides: fake cards that connect to vpcd's sockets (2-byte length frames,
 * 1-byte control frames) and the host, which uses only apdu_pcsc_* and the transport.
 * Usage: pcsc_probe <vpcd-port> <reader-friendly-name>   (slots on port and port+1) */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "atr.h"
#include "pcsc.h"
#include "sw.h"

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define CHECK_ST(expr, want)                                                                       \
    do {                                                                                           \
        apdu_status st_ = (expr);                                                                  \
        CHECK(st_ == (want), "got %s, want %s", apdu_status_name(st_), apdu_status_name(want));    \
    } while (0)

static void ok(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("ok   ");
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- the fake card ---------------------------------------------------------- */

static const uint8_t KAZTOKEN_ATR[] = {0x3b, 0x88, 0x01, 0x4b, 0x41, 0x5a,
                                       0x54, 0x4f, 0x4b, 0x45, 0x4e, 0x82};
static const uint8_t T0_ATR[] = {0x3b, 0x02, 0x14, 0x50};

typedef struct card {
    int port;
    const uint8_t *atr;
    size_t atr_len;
    int fd;
    pthread_t thread;
    atomic_int connected;
    atomic_int power_on, power_off, resets, apdus, get_responses;
    /* command chaining state and pending GET RESPONSE data */
    uint8_t chain[4096];
    size_t chain_len;
    uint8_t pending[512];
    size_t pending_len, pending_off;
} card;

static int read_full(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = recv(fd, p, n, 0);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int send_frame(int fd, const uint8_t *p, size_t n)
{
    uint8_t hdr[2] = {(uint8_t)(n >> 8), (uint8_t)n};
    uint8_t buf[2 + 65536];
    memcpy(buf, hdr, 2);
    memcpy(buf + 2, p, n);
    size_t off = 0;
    while (off < n + 2) {
        ssize_t w = send(fd, buf + off, n + 2 - off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        off += (size_t)w;
    }
    return 0;
}

static size_t put_sw(uint8_t *r, size_t n, uint16_t sw)
{
    r[n] = (uint8_t)(sw >> 8);
    r[n + 1] = (uint8_t)sw;
    return n + 2;
}

/* Serve pending data in slices: 61xx while more remains. */
static size_t serve_pending(card *c, size_t ne, uint8_t *r)
{
    size_t left = c->pending_len - c->pending_off;
    size_t n = left < ne ? left : ne;
    memcpy(r, c->pending + c->pending_off, n);
    c->pending_off += n;
    left -= n;
    if (left == 0)
        return put_sw(r, n, APDU_SW_OK);
    return put_sw(r, n, (uint16_t)(0x6100 | (left > 255 ? 0 : left)));
}

/* The card's little command set, enough to exercise the host side. */
static size_t card_process(card *c, const uint8_t *cmd, size_t len, uint8_t *r)
{
    apdu_cmd a;
    if (apdu_decode(cmd, len, &a) != APDU_OK)
        return put_sw(r, 0, APDU_SW_WRONG_LENGTH);
    switch (a.ins) {
    case 0xb0: /* READ BINARY: Ne bytes counting up */
        for (size_t i = 0; i < a.ne && i < 256; i++)
            r[i] = (uint8_t)i;
        return put_sw(r, a.ne < 256 ? a.ne : 256, APDU_SW_OK);
    case 0x10: /* ECHO */
        memcpy(r, a.data, a.nc);
        return put_sw(r, a.nc, APDU_SW_OK);
    case 0xca: /* GET DATA: 300 bytes, 200 now and the rest through GET RESPONSE */
        for (size_t i = 0; i < 300; i++)
            c->pending[i] = (uint8_t)(i * 3);
        c->pending_len = 300;
        c->pending_off = 0;
        return serve_pending(c, 200, r);
    case 0xc0: /* GET RESPONSE */
        atomic_fetch_add(&c->get_responses, 1);
        if (c->pending_off >= c->pending_len)
            return put_sw(r, 0, APDU_SW_CONDITIONS);
        return serve_pending(c, a.ne, r);
    case 0xda: { /* PUT DATA with chaining: answers total length and XOR of the data */
        if (c->chain_len + a.nc > sizeof(c->chain))
            return put_sw(r, 0, APDU_SW_NOT_ENOUGH_MEMORY);
        memcpy(c->chain + c->chain_len, a.data, a.nc);
        c->chain_len += a.nc;
        if (a.cla & 0x10)
            return put_sw(r, 0, APDU_SW_OK);
        uint8_t x = 0;
        for (size_t i = 0; i < c->chain_len; i++)
            x ^= c->chain[i];
        r[0] = (uint8_t)(c->chain_len >> 8);
        r[1] = (uint8_t)c->chain_len;
        r[2] = x;
        c->chain_len = 0;
        return put_sw(r, 3, APDU_SW_OK);
    }
    case 0x84: /* GET CHALLENGE: exactly 8 bytes */
        if (a.ne != 8)
            return put_sw(r, 0, APDU_SW_WRONG_LE(8));
        memset(r, 0xc8, 8);
        return put_sw(r, 8, APDU_SW_OK);
    case 0x20: /* VERIFY: PIN 1234 */
        if (a.nc == 4 && memcmp(a.data, "1234", 4) == 0)
            return put_sw(r, 0, APDU_SW_OK);
        return put_sw(r, 0, APDU_SW_VERIFY_FAILED(2));
    default:
        return put_sw(r, 0, APDU_SW_INS_UNSUPPORTED);
    }
}

static void *card_main(void *arg)
{
    card *c = arg;
    static const int one = 1;
    uint8_t in[65536], out[65538];
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    for (;;) {
        uint8_t hdr[2];
        /* vpcd writes each message in pieces: ack at once or every APDU waits 40 ms */
        setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
        if (read_full(c->fd, hdr, 2) != 0)
            break;
        size_t n = (size_t)hdr[0] << 8 | hdr[1];
        if (read_full(c->fd, in, n) != 0)
            break;
        if (n == 1) {
            switch (in[0]) {
            case 0x00:
                atomic_fetch_add(&c->power_off, 1);
                break;
            case 0x01:
                atomic_fetch_add(&c->power_on, 1);
                break;
            case 0x02:
                atomic_fetch_add(&c->resets, 1);
                break;
            case 0x04:
                if (send_frame(c->fd, c->atr, c->atr_len) != 0)
                    goto done;
                break;
            default:
                break;
            }
            continue;
        }
        atomic_fetch_add(&c->apdus, 1);
        size_t rn = card_process(c, in, n, out);
        if (send_frame(c->fd, out, rn) != 0)
            break;
    }
done:
    return NULL;
}

/* Put the card into its slot: connect to vpcd (which may still be starting). */
static void card_insert(card *c)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)c->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < 200; i++) {
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(c->fd >= 0, "socket: %s", strerror(errno));
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            break;
        close(c->fd);
        c->fd = -1;
        sleep_ms(50);
    }
    CHECK(c->fd >= 0, "cannot reach vpcd on port %d", c->port);
    c->chain_len = 0;
    c->pending_len = c->pending_off = 0;
    CHECK(pthread_create(&c->thread, NULL, card_main, c) == 0, "pthread_create");
    atomic_store(&c->connected, 1);
}

/* Pull the card: close the socket, which vpcd sees as removal. */
static void card_remove(card *c)
{
    shutdown(c->fd, SHUT_RDWR);
    pthread_join(c->thread, NULL);
    close(c->fd);
    c->fd = -1;
    atomic_store(&c->connected, 0);
}

/* ---- host side helpers ------------------------------------------------------ */

typedef struct trace_log {
    int commands, responses, sensitive;
} trace_log;

static void trace_hook(void *arg, apdu_dir dir, const uint8_t *buf, size_t len, bool sensitive)
{
    trace_log *t = arg;
    (void)buf;
    (void)len;
    if (dir == APDU_DIR_COMMAND)
        t->commands++;
    else
        t->responses++;
    t->sensitive += sensitive;
}

/* Wait (up to 15 s) until the reader's presence is as wanted. */
static void wait_presence(apdu_pcsc *ctx, apdu_reader_state *rs, bool want)
{
    for (int i = 0; i < 30 && rs->present != want; i++) {
        rs->known = rs->current;
        apdu_status st = apdu_pcsc_wait(ctx, rs, 1, 500, false);
        CHECK(st == APDU_OK || st == APDU_ERR_TIMEOUT, "wait: %s", apdu_status_name(st));
    }
    CHECK(rs->present == want, "card %s never seen", want ? "insertion" : "removal");
}

static uint8_t rbuf[APDU_MAX_RAPDU];

static size_t transmit_hex(apdu_transport *t, const uint8_t *c, size_t n, apdu_status want)
{
    size_t rlen = sizeof(rbuf);
    CHECK_ST(apdu_transmit(t, c, n, rbuf, &rlen), want);
    return want == APDU_OK ? rlen : 0;
}

static const uint8_t READ16[] = {0x00, 0xb0, 0x00, 0x00, 0x10};

typedef struct waiter {
    apdu_pcsc *ctx;
    apdu_reader_state rs;
    long timeout;
    bool pnp;
    atomic_int done;
    apdu_status result;
} waiter;

static void *waiter_main(void *arg)
{
    waiter *w = arg;
    w->result = apdu_pcsc_wait(w->ctx, &w->rs, 1, w->timeout, w->pnp);
    atomic_store(&w->done, 1);
    return NULL;
}

/* ---- the scenario ----------------------------------------------------------- */

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s <vpcd-port> <reader-name>\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    char r0[256], r1[256];
    snprintf(r0, sizeof(r0), "%s 00 00", argv[2]);
    snprintf(r1, sizeof(r1), "%s 00 01", argv[2]);

    apdu_pcsc *ctx;
    CHECK_ST(apdu_pcsc_open_context(&ctx), APDU_OK);

    /* readers */
    char **names;
    CHECK_ST(apdu_pcsc_list_readers(ctx, &names), APDU_OK);
    bool have0 = false, have1 = false;
    size_t nnames = 0;
    for (char **p = names; *p; p++, nnames++) {
        have0 |= strcmp(*p, r0) == 0;
        have1 |= strcmp(*p, r1) == 0;
    }
    apdu_pcsc_free_list(names);
    CHECK(have0 && have1 && nnames == 2, "readers %s / %s not listed (%zu readers)", r0, r1,
          nnames);
    ok("list readers: %s, %s", r0, r1);

    /* empty slot: the first wait reports the state at once, the next one times out */
    apdu_reader_state rs = {r0, 0, 0, false, false, {0}, 0};
    CHECK_ST(apdu_pcsc_wait(ctx, &rs, 1, 0, false), APDU_OK);
    CHECK(rs.changed && !rs.present && rs.atr_len == 0, "initial state %lx", rs.current);
    rs.known = rs.current;
    CHECK_ST(apdu_pcsc_wait(ctx, &rs, 1, 0, false), APDU_ERR_TIMEOUT);
    CHECK_ST(apdu_pcsc_wait(ctx, &rs, 1, 300, false), APDU_ERR_TIMEOUT);
    ok("empty reader: state read, poll and 300 ms wait time out");

    apdu_transport *t = NULL;
    CHECK_ST(apdu_pcsc_connect(ctx, r0, &t), APDU_ERR_NO_CARD);
    CHECK(t == NULL, "transport returned on failure");
    CHECK_ST(apdu_pcsc_connect(ctx, "no such reader", &t), APDU_ERR_NO_READER);
    apdu_reader_state bogus = {"no such reader", 0, 0, false, false, {0}, 0};
    CHECK_ST(apdu_pcsc_wait(ctx, &bogus, 1, 0, false), APDU_ERR_NO_READER);
    ok("connect to an empty slot: NO_CARD; unknown reader: NO_READER");

    /* insertion seen by a blocking wait */
    static card k = {.atr = KAZTOKEN_ATR, .atr_len = sizeof(KAZTOKEN_ATR), .fd = -1};
    k.port = port;
    card_insert(&k);
    rs.known = rs.current;
    CHECK_ST(apdu_pcsc_wait(ctx, &rs, 1, 15000, false), APDU_OK);
    wait_presence(ctx, &rs, true);
    CHECK(rs.atr_len == sizeof(KAZTOKEN_ATR) && memcmp(rs.atr, KAZTOKEN_ATR, rs.atr_len) == 0,
          "ATR in reader state (%zu bytes)", rs.atr_len);
    ok("card insertion woke the wait; ATR in the reader state");

    /* connect: T=1, ATR, present */
    CHECK_ST(apdu_pcsc_connect(ctx, r0, &t), APDU_OK);
    uint8_t atr[40];
    size_t alen = sizeof(atr);
    CHECK_ST(apdu_get_atr(t, atr, &alen), APDU_OK);
    CHECK(alen == sizeof(KAZTOKEN_ATR) && memcmp(atr, KAZTOKEN_ATR, alen) == 0, "ATR");
    apdu_atr pa;
    CHECK_ST(apdu_atr_parse(atr, alen, &pa), APDU_OK);
    CHECK(pa.protocols == 2, "protocols %x", pa.protocols);
    CHECK(!t->extended && t->max_short_nc == 255, "transport limits");
    CHECK_ST(apdu_present(t), APDU_OK);
    alen = 4;
    CHECK_ST(apdu_get_atr(t, atr, &alen), APDU_ERR_BUFFER);
    ok("connect T=1, get ATR, present");

    trace_log tl = {0};
    t->trace = trace_hook;
    t->trace_arg = &tl;

    /* raw transmit */
    size_t n = transmit_hex(t, READ16, sizeof(READ16), APDU_OK);
    CHECK(n == 18 && rbuf[15] == 15 && rbuf[16] == 0x90 && rbuf[17] == 0x00, "READ BINARY");
    size_t small = 4;
    CHECK_ST(apdu_transmit(t, READ16, sizeof(READ16), rbuf, &small), APDU_ERR_BUFFER);
    ok("transmit: READ BINARY 16 bytes; small buffer is APDU_ERR_BUFFER");

    /* exchange: 61xx, chaining, 6Cxx */
    vt_buf resp = {0};
    uint16_t sw;
    apdu_cmd c = apdu_make(0x00, 0xca, 0x01, 0x02, NULL, 0, 256);
    CHECK_ST(apdu_exchange(t, &c, 0, &resp, &sw), APDU_OK);
    CHECK(sw == 0x9000 && resp.len == 300, "GET DATA sw %04X len %zu", sw, resp.len);
    for (size_t i = 0; i < 300; i++)
        CHECK(resp.data[i] == (uint8_t)(i * 3), "GET DATA byte %zu", i);
    CHECK(atomic_load(&k.get_responses) == 1, "GET RESPONSE count %d",
          atomic_load(&k.get_responses));
    ok("exchange: 300 bytes through 61xx and GET RESPONSE");

    static uint8_t big[600];
    uint8_t x = 0;
    for (size_t i = 0; i < sizeof(big); i++) {
        big[i] = (uint8_t)(i * 13 + 1);
        x ^= big[i];
    }
    vt_buf_clear(&resp);
    int before = atomic_load(&k.apdus);
    c = apdu_make(0x00, 0xda, 0x01, 0x02, big, sizeof(big), 256);
    CHECK_ST(apdu_exchange(t, &c, 0, &resp, &sw), APDU_OK);
    CHECK(sw == 0x9000 && resp.len == 3, "PUT DATA sw %04X", sw);
    CHECK(resp.data[0] == 0x02 && resp.data[1] == 0x58 && resp.data[2] == x, "chained data");
    CHECK(atomic_load(&k.apdus) - before == 3, "3 chained parts, card saw %d",
          atomic_load(&k.apdus) - before);
    ok("exchange: 600 bytes in 3 chained commands");

    vt_buf_clear(&resp);
    c = apdu_make(0x00, 0x84, 0x00, 0x00, NULL, 0, 256);
    CHECK_ST(apdu_exchange(t, &c, 0, &resp, &sw), APDU_OK);
    CHECK(sw == 0x9000 && resp.len == 8, "GET CHALLENGE sw %04X len %zu", sw, resp.len);
    ok("exchange: 6C08 re-issued with Le 08");

    int sens = tl.sensitive;
    c = apdu_make(0x00, 0x20, 0x00, 0x01, (const uint8_t *)"1234", 4, 0);
    CHECK_ST(apdu_exchange(t, &c, 0, NULL, &sw), APDU_OK);
    CHECK(sw == 0x9000, "VERIFY sw %04X", sw);
    c.data = (const uint8_t *)"9999";
    CHECK_ST(apdu_exchange(t, &c, 0, NULL, &sw), APDU_OK);
    char text[64];
    apdu_sw_format(sw, text, sizeof(text));
    CHECK(sw == 0x63c2, "wrong PIN: %s", text);
    CHECK(tl.sensitive - sens == 4, "VERIFY traced sensitive %d times", tl.sensitive - sens);
    /* every APDU traced both ways, but for the one whose response did not fit */
    CHECK(tl.commands == tl.responses + 1 && tl.commands >= 10, "trace counts %d/%d", tl.commands,
          tl.responses);
    ok("VERIFY traced as sensitive; wrong PIN: %s", text);
    vt_buf_free(&resp);

    CHECK_ST(apdu_begin(t), APDU_OK);
    transmit_hex(t, READ16, sizeof(READ16), APDU_OK);
    CHECK_ST(apdu_end(t), APDU_OK);
    ok("begin / end transaction");

    /* generation: stable while nothing happens, moves on reset */
    uint64_t g0 = apdu_generation(t);
    CHECK(g0 != 0 && apdu_generation(t) == g0, "generation not stable");
    int resets = atomic_load(&k.resets), offs = atomic_load(&k.power_off);
    alen = sizeof(atr);
    CHECK_ST(apdu_reset(t, false, atr, &alen), APDU_OK);
    CHECK(alen == sizeof(KAZTOKEN_ATR), "ATR after reset");
    CHECK(atomic_load(&k.resets) > resets, "card saw no reset");
    uint64_t g1 = apdu_generation(t);
    CHECK(g1 != g0, "generation did not move on reset");
    alen = sizeof(atr);
    CHECK_ST(apdu_reset(t, true, atr, &alen), APDU_OK);
    CHECK(atomic_load(&k.power_off) > offs, "card saw no power off");
    transmit_hex(t, READ16, sizeof(READ16), APDU_OK);
    ok("warm and cold reset; generation %llu -> %llu", (unsigned long long)g0,
       (unsigned long long)g1);

    /* a reset by another connection: reported once, then the handle works again */
    apdu_transport *t2;
    CHECK_ST(apdu_pcsc_connect(ctx, r0, &t2), APDU_OK);
    uint64_t g2 = apdu_generation(t);
    alen = sizeof(atr);
    CHECK_ST(apdu_reset(t2, false, atr, &alen), APDU_OK);
    transmit_hex(t, READ16, sizeof(READ16), APDU_ERR_CARD_RESET);
    CHECK(apdu_generation(t) != g2, "generation did not move on foreign reset");
    transmit_hex(t, READ16, sizeof(READ16), APDU_OK);
    /* the same seen through generation() alone */
    g2 = apdu_generation(t);
    alen = sizeof(atr);
    CHECK_ST(apdu_reset(t2, false, atr, &alen), APDU_OK);
    CHECK(apdu_generation(t) != g2, "generation() did not notice the reset");
    transmit_hex(t, READ16, sizeof(READ16), APDU_OK);
    apdu_close(t2);
    ok("reset by another connection: APDU_ERR_CARD_RESET once, generation moved");

    /* removal */
    uint64_t g3 = apdu_generation(t);
    card_remove(&k);
    wait_presence(ctx, &rs, false);
    CHECK(rs.atr_len == 0, "ATR left after removal");
    transmit_hex(t, READ16, sizeof(READ16), APDU_ERR_NO_CARD);
    CHECK_ST(apdu_present(t), APDU_ERR_NO_CARD);
    alen = sizeof(atr);
    CHECK_ST(apdu_get_atr(t, atr, &alen), APDU_ERR_NO_CARD);
    CHECK_ST(apdu_begin(t), APDU_ERR_NO_CARD);
    CHECK_ST(apdu_end(t), APDU_ERR_NO_CARD);
    CHECK(apdu_generation(t) != g3, "generation did not move on removal");
    alen = sizeof(atr);
    CHECK_ST(apdu_reset(t, false, atr, &alen), APDU_ERR_NO_CARD);
    ok("removal: wait saw it; the transport says NO_CARD");

    /* re-insertion: the old handle stays dead until reset() reconnects it; present()
     * speaks of the card this handle was connected to, not of the reader */
    uint64_t g4 = apdu_generation(t);
    card_insert(&k);
    wait_presence(ctx, &rs, true);
    CHECK_ST(apdu_present(t), APDU_ERR_NO_CARD);
    transmit_hex(t, READ16, sizeof(READ16), APDU_ERR_NO_CARD);
    alen = sizeof(atr);
    CHECK_ST(apdu_reset(t, false, atr, &alen), APDU_OK);
    CHECK_ST(apdu_present(t), APDU_OK);
    CHECK(apdu_generation(t) != g4, "generation did not move on reconnect");
    n = transmit_hex(t, READ16, sizeof(READ16), APDU_OK);
    CHECK(n == 18, "READ BINARY after reconnect");
    ok("re-insertion: wait saw it; the old handle stays out; reset() reconnects it");

    /* a card pulled and pushed back between two looks: present() says the handle's
     * card is gone even though the reader holds a card again */
    card_remove(&k);
    wait_presence(ctx, &rs, false);
    card_insert(&k);
    wait_presence(ctx, &rs, true);
    CHECK_ST(apdu_present(t), APDU_ERR_NO_CARD);
    alen = sizeof(atr);
    CHECK_ST(apdu_reset(t, false, atr, &alen), APDU_OK);
    ok("replaced card: present() on the old handle is NO_CARD");

    /* a T=0-only card in the second slot */
    static card k0 = {.atr = T0_ATR, .atr_len = sizeof(T0_ATR), .fd = -1};
    k0.port = port + 1;
    apdu_reader_state rs1 = {r1, 0, 0, false, false, {0}, 0};
    CHECK_ST(apdu_pcsc_wait(ctx, &rs1, 1, 0, false), APDU_OK);
    card_insert(&k0);
    wait_presence(ctx, &rs1, true);
    apdu_transport *t0;
    CHECK_ST(apdu_pcsc_connect(ctx, r1, &t0), APDU_OK);
    resp = (vt_buf){0};
    c = apdu_make(0x80, 0x10, 0x00, 0x00, (const uint8_t *)"\x01\x02\x03", 3, 256);
    CHECK_ST(apdu_exchange(t0, &c, 0, &resp, &sw), APDU_OK);
    CHECK(sw == 0x9000 && resp.len == 3 && memcmp(resp.data, "\x01\x02\x03", 3) == 0,
          "ECHO over T=0");
    vt_buf_free(&resp);
    apdu_close(t0);
    card_remove(&k0);
    ok("T=0 card: connect falls back to T=0, exchange works");

    /* two readers in one wait; first the reader's state as it is now */
    rs.known = 0;
    CHECK_ST(apdu_pcsc_wait(ctx, &rs, 1, 0, false), APDU_OK);
    apdu_reader_state two[2] = {rs, rs1};
    two[0].known = two[0].current;
    two[1].known = 0; /* unaware: answered at once */
    CHECK_ST(apdu_pcsc_wait(ctx, two, 2, 5000, false), APDU_OK);
    CHECK(!two[0].changed && two[1].changed, "two-reader wait");
    ok("two readers in one wait");

    /* cancel: a wait blocked forever returns APDU_ERR_CANCELLED */
    waiter w = {ctx, rs, -1, true, 0, APDU_OK};
    w.rs.known = rs.current;
    pthread_t wt;
    CHECK(pthread_create(&wt, NULL, waiter_main, &w) == 0, "pthread_create");
    for (int i = 0; i < 200 && !atomic_load(&w.done); i++) {
        sleep_ms(50);
        CHECK_ST(apdu_pcsc_cancel(ctx), APDU_OK);
    }
    pthread_join(wt, NULL);
    CHECK(w.result == APDU_ERR_CANCELLED, "blocked wait returned %s", apdu_status_name(w.result));
    /* a cancel with no wait running is kept for the next wait */
    CHECK_ST(apdu_pcsc_cancel(ctx), APDU_OK);
    CHECK_ST(apdu_pcsc_wait(ctx, &w.rs, 1, 5000, false), APDU_ERR_CANCELLED);
    CHECK_ST(apdu_pcsc_wait(ctx, &w.rs, 1, 0, false), APDU_ERR_TIMEOUT);
    ok("cancel from another thread ends a blocked wait");

    /* reader-list notification: nothing arrives here, so the wait times out, across
     * at least one slice boundary */
    CHECK_ST(apdu_pcsc_wait(ctx, NULL, 0, 700, true), APDU_ERR_TIMEOUT);
    w.rs.known = w.rs.current;
    CHECK_ST(apdu_pcsc_wait(ctx, &w.rs, 1, 700, true), APDU_ERR_TIMEOUT);
    CHECK_ST(apdu_pcsc_wait(ctx, NULL, 0, 0, false), APDU_ERR_ARGS);
    ok("PnP notification reader accepted; no reader change, so a timeout");

    apdu_close(t);
    card_remove(&k);
    apdu_pcsc_close_context(ctx);
    printf("pcsc_probe: all checks passed\n");
    return 0;
}
