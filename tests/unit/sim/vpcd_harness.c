/* The fake vpcd and fake card of the vpcd link tests: see vpcd_harness.h. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vpcd.h"
#include "vpcd_harness.h"

const uint8_t VH_ATR_A[] = {0x3B, 0x88, 0x01, 0x4B, 0x41, 0x5A, 0x54, 0x4F, 0x4B, 0x45, 0x4E, 0x82};
const uint8_t VH_ATR_B[] = {0x3B, 0xD5, 0x18, 0x00, 0x81, 0x31, 0xFE,
                            0x7D, 0x80, 0x73, 0xC8, 0x21, 0x10, 0xF4};

/* ---- the fake card ---------------------------------------------------------------- */

static sim_status fake_get_atr(void *arg, uint8_t *atr, size_t *len)
{
    fake_card *fc = arg;

    atomic_fetch_add(&fc->get_atr, 1);
    if (*len < fc->atr_len)
        return SIM_ERR_ARGS;
    memcpy(atr, fc->atr, fc->atr_len);
    *len = fc->atr_len;
    return SIM_OK;
}

static sim_status fake_power_on(void *arg)
{
    atomic_fetch_add(&((fake_card *)arg)->power_on, 1);
    return SIM_OK;
}

static void fake_power_off(void *arg)
{
    atomic_fetch_add(&((fake_card *)arg)->power_off, 1);
}

static sim_status fake_reset(void *arg)
{
    atomic_fetch_add(&((fake_card *)arg)->reset, 1);
    return SIM_OK;
}

/* INS EE fails; INS B0 answers P1P2 bytes of a pattern; anything else is echoed back
 * followed by 90 00. */
static sim_status fake_process(void *arg, const uint8_t *capdu, size_t clen, uint8_t *rapdu,
                               size_t *rlen)
{
    fake_card *fc = arg;
    size_t n;

    if (atomic_fetch_add(&fc->apdus, 1) + 1 == fc->leave_at)
        fc->leave_rv = sim_vpcd_remove_after_reply(fc->link, fc->name);
    if (clen >= 2 && capdu[1] == 0xEE)
        return SIM_ERR_IO;
    if (clen >= 4 && capdu[1] == 0xB0) {
        n = ((size_t)capdu[2] << 8) | capdu[3];
        if (n + 2 > *rlen)
            return SIM_ERR_ARGS;
        for (size_t i = 0; i < n; i++)
            rapdu[i] = (uint8_t)(i * 7 + 3);
    } else {
        n = clen;
        if (n + 2 > *rlen)
            return SIM_ERR_ARGS;
        memcpy(rapdu, capdu, n);
    }
    rapdu[n] = 0x90;
    rapdu[n + 1] = 0x00;
    *rlen = n + 2;
    return SIM_OK;
}

const sim_vpcd_card_ops fake_ops = {
    .get_atr = fake_get_atr,
    .power_on = fake_power_on,
    .power_off = fake_power_off,
    .reset = fake_reset,
    .process = fake_process,
};

/* Plain int for the assertions (and readable failure messages). */
int count(atomic_int *a)
{
    return atomic_load(a);
}

/* ---- what the observer saw ----------------------------------------------------------- */

static void seen_event(void *arg, const char *card, sim_vpcd_event ev, const char *detail)
{
    seen *s = arg;
    (void)detail;
    ck_assert_ptr_nonnull(card);
    atomic_fetch_add(&s->events[ev], 1);
}

static void seen_apdu(void *arg, const char *card, sim_vpcd_dir dir, const uint8_t *buf, size_t len,
                      bool sensitive)
{
    seen *s = arg;
    (void)card;
    (void)buf;
    (void)len;
    if (dir == SIM_VPCD_COMMAND)
        atomic_fetch_add(sensitive ? &s->sensitive_cmds : &s->plain_cmds, 1);
    else if (sensitive)
        atomic_fetch_add(&s->sensitive_resps, 1);
}

/* ---- the fake vpcd ----------------------------------------------------------------- */

int listen_on(uint16_t port, uint16_t *bound)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(fd, 0), 0); /* as vpcd does */
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    if (bound)
        *bound = ntohs(sa.sin_port);
    return fd;
}

static void *run_link(void *arg)
{
    harness *h = arg;
    h->run_rv = sim_vpcd_run(h->link);
    return NULL;
}

/* ncards fake cards (each on its own listener); control socket when asked. */
void h_init(harness *h, int ncards, bool control)
{
    static const char *names[] = {"fake", "other"};
    sim_vpcd_observer obs = {seen_event, seen_apdu, &h->seen};

    memset(h, 0, sizeof(*h));
    ck_assert_int_eq(sim_vpcd_new(&h->link), SIM_OK);
    sim_vpcd_set_observer(h->link, &obs);
    ck_assert_int_eq(sim_vpcd_set_backoff(h->link, 10, 100), SIM_OK);
    for (int i = 0; i < 2; i++)
        h->lfd[i] = -1;
    for (int i = 0; i < ncards; i++) {
        h->card[i].atr = i == 0 ? VH_ATR_A : VH_ATR_B;
        h->card[i].atr_len = i == 0 ? sizeof(VH_ATR_A) : sizeof(VH_ATR_B);
        h->card[i].link = h->link;
        h->card[i].name = names[i];
        h->lfd[i] = listen_on(0, &h->port[i]);
        ck_assert_int_eq(sim_vpcd_add_card(h->link, names[i], h->port[i], &fake_ops, &h->card[i]),
                         SIM_OK);
    }
    if (control) {
        snprintf(h->dir, sizeof(h->dir), "/tmp/vt-vpcd-test.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(h->dir));
        snprintf(h->sock, sizeof(h->sock), "%s/sim.sock", h->dir);
        ck_assert_int_eq(sim_vpcd_control_listen(h->link, h->sock), SIM_OK);
    }
}

void h_run(harness *h)
{
    ck_assert_int_eq(pthread_create(&h->thread, NULL, run_link, h), 0);
    h->running = true;
}

void h_join(harness *h)
{
    ck_assert(h->running);
    ck_assert_int_eq(pthread_join(h->thread, NULL), 0);
    h->running = false;
    ck_assert_int_eq(h->run_rv, SIM_OK);
}

void h_done(harness *h)
{
    if (h->running) {
        sim_vpcd_stop(h->link);
        h_join(h);
    }
    sim_vpcd_free(h->link);
    for (int i = 0; i < 2; i++)
        if (h->lfd[i] >= 0)
            close(h->lfd[i]);
    if (h->dir[0]) {
        struct stat st;
        /* The link removes its socket file when freed. */
        ck_assert_int_ne(stat(h->sock, &st), 0);
        ck_assert_int_eq(rmdir(h->dir), 0);
    }
}

bool wait_readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r;

    do
        r = poll(&p, 1, ms);
    while (r < 0 && errno == EINTR);
    return r == 1;
}

/* Accept the link's connection, as vpcd's presence poll would. */
int h_accept(harness *h, int i)
{
    int fd, one = 1;

    ck_assert_msg(wait_readable(h->lfd[i], WAIT_MS), "the link did not connect");
    fd = accept(h->lfd[i], NULL, NULL);
    ck_assert_int_ge(fd, 0);
    /* Our writes must reach the link as separate segments when we split them. */
    ck_assert_int_eq(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
    return fd;
}

void send_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        ck_assert_int_gt(n, 0);
        p += n;
        len -= (size_t)n;
    }
}

/* Exactly len bytes; false on EOF (the link closed the connection). */
bool recv_exact(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n;
        ck_assert_msg(wait_readable(fd, WAIT_MS), "no answer from the link");
        n = recv(fd, p, len, 0);
        if (n == 0)
            return false;
        ck_assert_int_gt(n, 0);
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* One frame from the link; returns the payload length. */
size_t recv_frame(int fd, uint8_t *buf, size_t cap)
{
    uint8_t hdr[2];
    size_t len;

    ck_assert(recv_exact(fd, hdr, 2));
    len = ((size_t)hdr[0] << 8) | hdr[1];
    ck_assert_uint_le(len, cap);
    ck_assert(recv_exact(fd, buf, len));
    return len;
}

void send_frame(int fd, const uint8_t *payload, size_t len)
{
    uint8_t hdr[2] = {(uint8_t)(len >> 8), (uint8_t)len};
    send_all(fd, hdr, 2);
    send_all(fd, payload, len);
}

void send_ctrl(int fd, uint8_t ctrl)
{
    send_frame(fd, &ctrl, 1);
}

void expect_atr(int fd, const uint8_t *atr, size_t atr_len)
{
    uint8_t buf[64];
    size_t len;

    send_ctrl(fd, 0x04);
    len = recv_frame(fd, buf, sizeof(buf));
    ck_assert_uint_eq(len, atr_len);
    ck_assert_mem_eq(buf, atr, atr_len);
}

void expect_eof(int fd)
{
    uint8_t b;
    ck_assert(!recv_exact(fd, &b, 1));
}

void control(harness *h, const char *req, const char *want)
{
    char reply[256];
    ck_assert_int_eq(sim_vpcd_control_request(h->sock, req, reply, sizeof(reply)), SIM_OK);
    ck_assert_str_eq(reply, want);
}
