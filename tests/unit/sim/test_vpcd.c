/* The vpcd link against a fake vpcd (a listening socket in the test) and a fake card:
 * framing with split and coalesced writes, control bytes, ATR, APDUs, reconnection,
 * remove/insert through the control socket, and stopping. The link runs in a thread;
 * the test thread plays pcscd's vpcd driver. */
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

#include "sim_test.h"
#include "vpcd.h"
#include "vpcd_harness.h"

START_TEST(test_get_atr)
{
    harness h;
    int fd;

    h_init(&h, 1, false);
    h_run(&h);
    fd = h_accept(&h, 0);
    expect_atr(fd, VH_ATR_A, sizeof(VH_ATR_A));
    expect_atr(fd, VH_ATR_A, sizeof(VH_ATR_A));
    ck_assert_int_eq(count(&h.card[0].get_atr), 2);
    ck_assert_int_eq(count(&h.seen.events[SIM_VPCD_EV_CONNECTED]), 1);
    ck_assert_int_eq(count(&h.seen.events[SIM_VPCD_EV_GET_ATR]), 2);
    close(fd);
    h_done(&h);
}
END_TEST

START_TEST(test_empty_atr_means_no_card)
{
    harness h;
    uint8_t hdr[2];
    int fd;

    h_init(&h, 1, false);
    h.card[0].atr_len = 0;
    h_run(&h);
    fd = h_accept(&h, 0);
    send_ctrl(fd, 0x04);
    ck_assert(recv_exact(fd, hdr, 2));
    ck_assert_uint_eq(hdr[0], 0);
    ck_assert_uint_eq(hdr[1], 0);
    close(fd);
    h_done(&h);
}
END_TEST

START_TEST(test_control_bytes_get_no_reply)
{
    harness h;
    int fd;

    h_init(&h, 1, false);
    h_run(&h);
    fd = h_accept(&h, 0);
    send_ctrl(fd, 0x01);
    send_ctrl(fd, 0x02);
    send_ctrl(fd, 0x03); /* unused by vpcd: ignored */
    send_ctrl(fd, 0x00);
    /* The first bytes back must be the ATR frame: nothing was answered before it. */
    expect_atr(fd, VH_ATR_A, sizeof(VH_ATR_A));
    ck_assert_int_eq(count(&h.card[0].power_on), 1);
    ck_assert_int_eq(count(&h.card[0].reset), 1);
    ck_assert_int_eq(count(&h.card[0].power_off), 1);
    ck_assert_int_eq(count(&h.seen.events[SIM_VPCD_EV_CONTROL_UNKNOWN]), 1);
    close(fd);
    h_done(&h);
}
END_TEST

START_TEST(test_apdu_split_writes)
{
    static const uint8_t frame[] = {0x00, 0x05, 0x00, 0x84, 0x00, 0x00, 0x08};
    static const uint8_t want[] = {0x00, 0x84, 0x00, 0x00, 0x08, 0x90, 0x00};
    harness h;
    uint8_t buf[64];
    size_t len;
    int fd;

    h_init(&h, 1, false);
    h_run(&h);
    fd = h_accept(&h, 0);
    send_ctrl(fd, 0x01);
    /* Byte by byte with pauses, so the link sees partial headers and partial payloads. */
    for (size_t i = 0; i < sizeof(frame); i++) {
        send_all(fd, &frame[i], 1);
        usleep(2000);
    }
    len = recv_frame(fd, buf, sizeof(buf));
    ck_assert_uint_eq(len, sizeof(want));
    ck_assert_mem_eq(buf, want, sizeof(want));
    ck_assert_int_eq(count(&h.card[0].apdus), 1);
    ck_assert_int_eq(count(&h.seen.plain_cmds), 1);
    close(fd);
    h_done(&h);
}
END_TEST

START_TEST(test_coalesced_frames)
{
    /* Power on, an APDU and a Get ATR in one write: answered in order. */
    static const uint8_t burst[] = {0x00, 0x01, 0x01, 0x00, 0x04, 0x00,
                                    0xCA, 0x01, 0x02, 0x00, 0x01, 0x04};
    static const uint8_t want[] = {0x00, 0xCA, 0x01, 0x02, 0x90, 0x00};
    harness h;
    uint8_t buf[64];
    size_t len;
    int fd;

    h_init(&h, 1, false);
    h_run(&h);
    fd = h_accept(&h, 0);
    send_all(fd, burst, sizeof(burst));
    len = recv_frame(fd, buf, sizeof(buf));
    ck_assert_uint_eq(len, sizeof(want));
    ck_assert_mem_eq(buf, want, sizeof(want));
    len = recv_frame(fd, buf, sizeof(buf));
    ck_assert_uint_eq(len, sizeof(VH_ATR_A));
    ck_assert_mem_eq(buf, VH_ATR_A, sizeof(VH_ATR_A));
    ck_assert_int_eq(count(&h.card[0].power_on), 1);
    close(fd);
    h_done(&h);
}
END_TEST

START_TEST(test_large_frames)
{
    /* An extended APDU of 4000 data bytes, then the largest response a frame can carry
     * (65533 data + SW), read slowly so the link has to finish its write later. */
    enum { NC = 4000 };
    static uint8_t cmd[7 + NC], buf[SIM_VPCD_MAX_PAYLOAD];
    static const uint8_t big[] = {0x00, 0xB0, 0xFF, 0xFD};
    harness h;
    size_t len;
    int fd;

    memcpy(cmd, (const uint8_t[]){0x00, 0xD6, 0x00, 0x00, 0x00, NC >> 8, NC & 0xFF}, 7);
    for (size_t i = 0; i < NC; i++)
        cmd[7 + i] = (uint8_t)i;
    h_init(&h, 1, false);
    h_run(&h);
    fd = h_accept(&h, 0);
    send_ctrl(fd, 0x01);
    {
        uint8_t hdr[2] = {(uint8_t)(sizeof(cmd) >> 8), (uint8_t)sizeof(cmd)};
        send_all(fd, hdr, 2);
        send_all(fd, cmd, 1000);
        usleep(5000);
        send_all(fd, cmd + 1000, sizeof(cmd) - 1000);
    }
    len = recv_frame(fd, buf, sizeof(buf));
    ck_assert_uint_eq(len, sizeof(cmd) + 2);
    ck_assert_mem_eq(buf, cmd, sizeof(cmd));
    ck_assert_uint_eq(buf[sizeof(cmd)], 0x90);

    send_frame(fd, big, sizeof(big));
    usleep(50000);
    len = recv_frame(fd, buf, sizeof(buf));
    ck_assert_uint_eq(len, SIM_VPCD_MAX_PAYLOAD);
    for (size_t i = 0; i < 0xFFFD; i++)
        ck_assert_uint_eq(buf[i], (uint8_t)(i * 7 + 3));
    ck_assert_uint_eq(buf[0xFFFD], 0x90);
    ck_assert_uint_eq(buf[0xFFFE], 0x00);
    /* The connection is still in step. */
    expect_atr(fd, VH_ATR_A, sizeof(VH_ATR_A));
    close(fd);
    h_done(&h);
}
END_TEST

/* An APDU and its answer (GET CHALLENGE: the fake card echoes the command and 9000). */
static void challenge(int fd)
{
    static const uint8_t apdu[] = {0x00, 0x84, 0x00, 0x00, 0x08};
    uint8_t buf[64];

    send_frame(fd, apdu, sizeof(apdu));
    ck_assert_uint_eq(recv_frame(fd, buf, sizeof(buf)), sizeof(apdu) + 2);
}

static sim_vpcd_stats stats_after_stop(harness *h)
{
    sim_vpcd_stats st;

    sim_vpcd_stop(h->link);
    h_join(h);
    sim_vpcd_get_stats(h->link, &st);
    return st;
}

START_TEST(test_busy_poll)
{
    harness h;
    sim_vpcd_stats st;
    int fd;

    /* Off: every APDU waits in poll() for its wake-up. */
    h_init(&h, 1, false);
    ck_assert_int_eq(sim_vpcd_set_busy_poll(h.link, 0), SIM_OK);
    h_run(&h);
    fd = h_accept(&h, 0);
    send_ctrl(fd, 0x01);
    for (int i = 0; i < 3; i++)
        challenge(fd);
    st = stats_after_stop(&h);
    ck_assert_uint_eq(st.apdus, 3);
    ck_assert_uint_eq(st.apdus_busy_polled, 0);
    close(fd);
    h_done(&h);

    /* On, with the longest window: an answered Get ATR (pcscd's presence poll) starts no
     * busy poll, so the first APDU after it is found asleep; the APDU sent right after an
     * answer is found by the busy poll; a stop in the middle of one still stops. */
    h_init(&h, 1, false);
    ck_assert_int_eq(sim_vpcd_set_busy_poll(h.link, SIM_VPCD_BUSY_POLL_MAX_US), SIM_OK);
    h_run(&h);
    fd = h_accept(&h, 0);
    send_ctrl(fd, 0x01);
    expect_atr(fd, VH_ATR_A, sizeof(VH_ATR_A));
    challenge(fd);
    challenge(fd);
    st = stats_after_stop(&h);
    ck_assert_uint_eq(st.apdus, 2);
    ck_assert_uint_eq(st.apdus_busy_polled, 1);
    ck_assert_int_eq(count(&h.card[0].apdus), 2);
    close(fd);
    h_done(&h);
}
END_TEST

START_TEST(test_card_failure_answers_6f00)
{
    static const uint8_t bad[] = {0x00, 0xEE, 0x00, 0x00};
    harness h;
    uint8_t buf[16];
    size_t len;
    int fd;

    h_init(&h, 1, false);
    h_run(&h);
    fd = h_accept(&h, 0);
    send_frame(fd, bad, sizeof(bad));
    len = recv_frame(fd, buf, sizeof(buf));
    ck_assert_uint_eq(len, 2);
    ck_assert_uint_eq(buf[0], 0x6F);
    ck_assert_uint_eq(buf[1], 0x00);
    ck_assert_int_eq(count(&h.seen.events[SIM_VPCD_EV_CARD_ERROR]), 1);
    expect_atr(fd, VH_ATR_A, sizeof(VH_ATR_A));
    close(fd);
    h_done(&h);
}
END_TEST

START_TEST(test_sensitive_apdus_flagged)
{
    static const uint8_t verify[] = {0x00, 0x20, 0x00, 0x02, 0x04, '1', '2', '3', '4'};
    static const uint8_t change[] = {0x00, 0x24, 0x00, 0x02, 0x02, '1', '2'};
    static const uint8_t challenge[] = {0x00, 0x84, 0x00, 0x00, 0x08};
    harness h;
    uint8_t buf[64];
    int fd;

    h_init(&h, 1, false);
    h_run(&h);
    fd = h_accept(&h, 0);
    send_frame(fd, verify, sizeof(verify));
    (void)recv_frame(fd, buf, sizeof(buf));
    send_frame(fd, change, sizeof(change));
    (void)recv_frame(fd, buf, sizeof(buf));
    send_frame(fd, challenge, sizeof(challenge));
    (void)recv_frame(fd, buf, sizeof(buf));
    ck_assert_int_eq(count(&h.seen.sensitive_cmds), 2);
    ck_assert_int_eq(count(&h.seen.sensitive_resps), 2);
    ck_assert_int_eq(count(&h.seen.plain_cmds), 1);
    close(fd);
    h_done(&h);
}
END_TEST

START_TEST(test_reconnect_after_vpcd_closes)
{
    harness h;
    int fd;

    h_init(&h, 1, false);
    h_run(&h);
    fd = h_accept(&h, 0);
    send_ctrl(fd, 0x01);
    expect_atr(fd, VH_ATR_A, sizeof(VH_ATR_A));
    close(fd); /* vpcd ejects the card */
    fd = h_accept(&h, 0);
    expect_atr(fd, VH_ATR_A, sizeof(VH_ATR_A));
    /* Leaving the reader powered the card off. */
    ck_assert_int_eq(count(&h.card[0].power_off), 1);
    ck_assert_int_eq(count(&h.seen.events[SIM_VPCD_EV_DISCONNECTED]), 1);
    ck_assert_int_eq(count(&h.seen.events[SIM_VPCD_EV_CONNECTED]), 2);
    close(fd);
    h_done(&h);
}
END_TEST

START_TEST(test_reconnect_after_pcscd_restart)
{
    harness h;
    uint16_t port;
    int fd;

    h_init(&h, 1, false);
    h_run(&h);
    fd = h_accept(&h, 0);
    expect_atr(fd, VH_ATR_A, sizeof(VH_ATR_A));
    /* pcscd goes away with its listener; the link keeps retrying quietly. */
    port = h.port[0];
    close(fd);
    close(h.lfd[0]);
    h.lfd[0] = -1;
    usleep(300000);
    h.lfd[0] = listen_on(port, NULL);
    fd = h_accept(&h, 0);
    expect_atr(fd, VH_ATR_A, sizeof(VH_ATR_A));
    ck_assert_int_eq(count(&h.seen.events[SIM_VPCD_EV_DISCONNECTED]), 1);
    close(fd);
    h_done(&h);
}
END_TEST

START_TEST(test_remove_insert_by_control)
{
    harness h;
    int fd;

    h_init(&h, 1, true);
    h_run(&h);
    fd = h_accept(&h, 0);
    send_ctrl(fd, 0x01);
    expect_atr(fd, VH_ATR_A, sizeof(VH_ATR_A));
    control(&h, "status fake", "ok fake=connected");
    control(&h, "remove fake", "ok");
    expect_eof(fd);
    close(fd);
    control(&h, "status", "ok fake=removed");
    control(&h, "remove fake", "ok"); /* idempotent */
    ck_assert_int_eq(count(&h.card[0].power_off), 1);
    ck_assert_int_eq(count(&h.seen.events[SIM_VPCD_EV_REMOVED]), 1);
    control(&h, "insert fake", "ok");
    fd = h_accept(&h, 0);
    expect_atr(fd, VH_ATR_A, sizeof(VH_ATR_A));
    control(&h, "status", "ok fake=connected");
    ck_assert_int_eq(count(&h.seen.events[SIM_VPCD_EV_INSERTED]), 1);
    close(fd);
    h_done(&h);
}
END_TEST

/* A card that leaves while it answers an APDU: the whole answer reaches vpcd first (here
 * a long one, written in several rounds while vpcd reads slowly), then the card is out
 * as after "remove": the frames behind that APDU are not answered, and only "insert"
 * brings it back. */
START_TEST(test_leave_after_reply)
{
    static const uint8_t read_big[] = {0x00, 0xB0, 0xF0, 0x00};
    static const uint8_t after[] = {0x00, 0x01, 0x04}; /* a Get ATR behind the APDU */
    harness h;
    uint8_t *buf = malloc(0x10000);
    size_t len;
    int fd;

    ck_assert_ptr_nonnull(buf);
    h_init(&h, 1, true);
    h.card[0].leave_at = 2;
    h_run(&h);
    fd = h_accept(&h, 0);
    send_ctrl(fd, 0x01);
    send_frame(fd, (const uint8_t *)"\x00\xCA\x00\x00", 4);
    len = recv_frame(fd, buf, 0x10000);
    ck_assert_uint_eq(len, 6);
    send_frame(fd, read_big, sizeof(read_big));
    send_all(fd, after, sizeof(after));
    usleep(50 * 1000); /* let the answer back up in the socket */
    len = recv_frame(fd, buf, 0x10000);
    ck_assert_uint_eq(len, 0xF000 + 2);
    for (size_t i = 0; i < 0xF000; i++)
        ck_assert_uint_eq(buf[i], (uint8_t)(i * 7 + 3));
    ck_assert_uint_eq(buf[0xF000], 0x90);
    expect_eof(fd);
    close(fd);
    ck_assert_int_eq(h.card[0].leave_rv, SIM_OK);
    control(&h, "status fake", "ok fake=removed");
    ck_assert_int_eq(count(&h.card[0].apdus), 2);
    ck_assert_int_eq(count(&h.card[0].power_off), 1);
    ck_assert_int_eq(count(&h.seen.events[SIM_VPCD_EV_REMOVED]), 1);
    ck_assert_int_eq(count(&h.seen.events[SIM_VPCD_EV_DISCONNECTED]), 0);
    control(&h, "insert fake", "ok");
    fd = h_accept(&h, 0);
    expect_atr(fd, VH_ATR_A, sizeof(VH_ATR_A));
    control(&h, "status", "ok fake=connected");
    close(fd);
    h_done(&h);
    free(buf);
}
END_TEST

/* Outside the loop's callbacks there is no answer to wait for: out at once. */
START_TEST(test_leave_after_reply_outside_a_callback)
{
    harness h;
    sim_vpcd_state st;

    h_init(&h, 1, false);
    ck_assert_int_eq(sim_vpcd_remove_after_reply(h.link, "nosuch"), SIM_ERR_NOT_FOUND);
    ck_assert_int_eq(sim_vpcd_remove_after_reply(NULL, "fake"), SIM_ERR_ARGS);
    ck_assert_int_eq(sim_vpcd_remove_after_reply(h.link, "fake"), SIM_OK);
    ck_assert_int_eq(sim_vpcd_get_state(h.link, "fake", &st), SIM_OK);
    ck_assert_int_eq(st, SIM_VPCD_REMOVED);
    ck_assert_int_eq(count(&h.seen.events[SIM_VPCD_EV_REMOVED]), 1);
    h_done(&h);
}
END_TEST

START_TEST(test_control_errors)
{
    harness h;
    char reply[64];

    h_init(&h, 1, true);
    h_run(&h);
    control(&h, "remove nosuch", "error: no such token");
    control(&h, "insert nosuch", "error: no such token");
    control(&h, "status nosuch", "error: no such token");
    control(&h, "remove", "error: missing token name");
    control(&h, "remove fake extra", "error: too many arguments");
    control(&h, "eject fake", "error: unknown command");
    control(&h, "", "error: empty request");
    ck_assert_int_eq(sim_vpcd_control_request(h.sock, "a\nb", reply, sizeof(reply)), SIM_ERR_ARGS);
    /* A reply that does not fit is refused, not cut. */
    ck_assert_int_eq(sim_vpcd_control_request(h.sock, "status", reply, 4), SIM_ERR_ARGS);
    h_done(&h);
}
END_TEST

START_TEST(test_control_line_too_long)
{
    harness h;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char junk[SIM_VPCD_CONTROL_LINE_MAX + 10], reply[64];
    int fd;
    ssize_t n;

    h_init(&h, 1, true);
    h_run(&h);
    memcpy(sa.sun_path, h.sock, strlen(h.sock) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    memset(junk, 'x', sizeof(junk));
    send_all(fd, junk, sizeof(junk));
    ck_assert(wait_readable(fd, WAIT_MS));
    n = recv(fd, reply, sizeof(reply) - 1, 0);
    ck_assert_int_gt(n, 0);
    reply[n] = '\0';
    ck_assert_str_eq(reply, "error: line too long\n");
    close(fd);
    /* The server still answers others. */
    control(&h, "insert fake", "ok");
    h_done(&h);
}
END_TEST

START_TEST(test_removed_before_run)
{
    harness h;
    sim_vpcd_state st;
    int fd;

    h_init(&h, 1, true);
    ck_assert_int_eq(sim_vpcd_remove(h.link, "fake"), SIM_OK);
    ck_assert_int_eq(sim_vpcd_get_state(h.link, "fake", &st), SIM_OK);
    ck_assert_int_eq(st, SIM_VPCD_REMOVED);
    ck_assert_int_eq(sim_vpcd_get_state(h.link, "nosuch", &st), SIM_ERR_NOT_FOUND);
    h_run(&h);
    control(&h, "status fake", "ok fake=removed");
    control(&h, "insert fake", "ok");
    fd = h_accept(&h, 0);
    expect_atr(fd, VH_ATR_A, sizeof(VH_ATR_A));
    close(fd);
    h_done(&h);
}
END_TEST

START_TEST(test_two_cards)
{
    harness h;
    int fa, fb;

    h_init(&h, 2, true);
    h_run(&h);
    fa = h_accept(&h, 0);
    fb = h_accept(&h, 1);
    expect_atr(fb, VH_ATR_B, sizeof(VH_ATR_B));
    expect_atr(fa, VH_ATR_A, sizeof(VH_ATR_A));
    control(&h, "remove other", "ok");
    expect_eof(fb);
    expect_atr(fa, VH_ATR_A, sizeof(VH_ATR_A));
    control(&h, "status", "ok fake=connected other=removed");
    close(fa);
    close(fb);
    h_done(&h);
}
END_TEST

START_TEST(test_stop_closes_connections)
{
    harness h;
    int fd;

    h_init(&h, 1, false);
    h_run(&h);
    fd = h_accept(&h, 0);
    send_ctrl(fd, 0x01);
    expect_atr(fd, VH_ATR_A, sizeof(VH_ATR_A));
    sim_vpcd_stop(h.link);
    h_join(&h);
    expect_eof(fd);
    ck_assert_int_eq(count(&h.card[0].power_off), 1);
    close(fd);
    h_done(&h);
}
END_TEST

START_TEST(test_stop_by_control)
{
    harness h;

    h_init(&h, 1, true);
    h_run(&h);
    control(&h, "stop", "ok");
    h_join(&h);
    h_done(&h);
}
END_TEST

START_TEST(test_stop_before_run)
{
    harness h;

    h_init(&h, 1, false);
    sim_vpcd_stop(h.link);
    h_run(&h);
    h_join(&h);
    h_done(&h);
}
END_TEST

START_TEST(test_control_socket_ownership)
{
    harness h;
    sim_vpcd *second = NULL;
    struct stat st;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char reply[16];
    int fd;

    h_init(&h, 1, true);
    ck_assert_int_eq(stat(h.sock, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    /* A second server on a live socket is refused. */
    ck_assert_int_eq(sim_vpcd_new(&second), SIM_OK);
    ck_assert_int_eq(sim_vpcd_control_listen(second, h.sock), SIM_ERR_EXISTS);
    sim_vpcd_free(second);
    ck_assert_int_eq(stat(h.sock, &st), 0); /* and did not remove ours */
    h_done(&h);

    /* No server: the client says so. */
    ck_assert_int_eq(
        sim_vpcd_control_request("/tmp/vt-no-such-dir/sim.sock", "status", reply, sizeof(reply)),
        SIM_ERR_NOT_FOUND);

    /* A socket file left behind by a dead server is replaced. */
    snprintf(h.dir, sizeof(h.dir), "/tmp/vt-vpcd-test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(h.dir));
    snprintf(h.sock, sizeof(h.sock), "%s/sim.sock", h.dir);
    memcpy(sa.sun_path, h.sock, strlen(h.sock) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    ck_assert_int_eq(sim_vpcd_control_request(h.sock, "status", reply, sizeof(reply)),
                     SIM_ERR_NOT_FOUND);
    ck_assert_int_eq(sim_vpcd_new(&second), SIM_OK);
    ck_assert_int_eq(sim_vpcd_control_listen(second, h.sock), SIM_OK);
    sim_vpcd_free(second);
    ck_assert_int_ne(stat(h.sock, &st), 0);
    ck_assert_int_eq(rmdir(h.dir), 0);
}
END_TEST

START_TEST(test_add_card_rules)
{
    sim_vpcd *l = NULL;
    fake_card fc = {.atr = VH_ATR_A, .atr_len = sizeof(VH_ATR_A)};
    sim_vpcd_card_ops partial = fake_ops;

    ck_assert_int_eq(sim_vpcd_new(&l), SIM_OK);
    ck_assert_int_eq(sim_vpcd_add_card(l, "a", 40000, &fake_ops, &fc), SIM_OK);
    ck_assert_int_eq(sim_vpcd_add_card(l, "a", 40002, &fake_ops, &fc), SIM_ERR_EXISTS);
    ck_assert_int_eq(sim_vpcd_add_card(l, "b", 40000, &fake_ops, &fc), SIM_ERR_EXISTS);
    ck_assert_int_eq(sim_vpcd_add_card(l, "has space", 40004, &fake_ops, &fc), SIM_ERR_ARGS);
    ck_assert_int_eq(sim_vpcd_add_card(l, "", 40004, &fake_ops, &fc), SIM_ERR_ARGS);
    ck_assert_int_eq(sim_vpcd_add_card(l, "c", 0, &fake_ops, &fc), SIM_ERR_ARGS);
    partial.process = NULL;
    ck_assert_int_eq(sim_vpcd_add_card(l, "d", 40006, &partial, &fc), SIM_ERR_ARGS);
    ck_assert_int_eq(sim_vpcd_set_backoff(l, 0, 10), SIM_ERR_ARGS);
    ck_assert_int_eq(sim_vpcd_set_backoff(l, 20, 10), SIM_ERR_ARGS);
    ck_assert_int_eq(sim_vpcd_set_busy_poll(l, SIM_VPCD_BUSY_POLL_MAX_US + 1), SIM_ERR_ARGS);
    ck_assert_int_eq(sim_vpcd_set_busy_poll(NULL, 0), SIM_ERR_ARGS);
    ck_assert_int_eq(sim_vpcd_remove(l, "nosuch"), SIM_ERR_NOT_FOUND);
    ck_assert_int_eq(sim_vpcd_insert(l, "nosuch"), SIM_ERR_NOT_FOUND);
    ck_assert_str_eq(sim_vpcd_state_name(SIM_VPCD_CONNECTED), "connected");
    sim_vpcd_free(l);
}
END_TEST

Suite *vpcd_suite(void)
{
    Suite *s = suite_create("vpcd");
    TCase *tc = tcase_create("link");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_get_atr);
    tcase_add_test(tc, test_empty_atr_means_no_card);
    tcase_add_test(tc, test_control_bytes_get_no_reply);
    tcase_add_test(tc, test_apdu_split_writes);
    tcase_add_test(tc, test_coalesced_frames);
    tcase_add_test(tc, test_large_frames);
    tcase_add_test(tc, test_busy_poll);
    tcase_add_test(tc, test_card_failure_answers_6f00);
    tcase_add_test(tc, test_sensitive_apdus_flagged);
    tcase_add_test(tc, test_reconnect_after_vpcd_closes);
    tcase_add_test(tc, test_reconnect_after_pcscd_restart);
    tcase_add_test(tc, test_remove_insert_by_control);
    tcase_add_test(tc, test_leave_after_reply);
    tcase_add_test(tc, test_leave_after_reply_outside_a_callback);
    tcase_add_test(tc, test_control_errors);
    tcase_add_test(tc, test_control_line_too_long);
    tcase_add_test(tc, test_removed_before_run);
    tcase_add_test(tc, test_two_cards);
    tcase_add_test(tc, test_stop_closes_connections);
    tcase_add_test(tc, test_stop_by_control);
    tcase_add_test(tc, test_stop_before_run);
    tcase_add_test(tc, test_control_socket_ownership);
    tcase_add_test(tc, test_add_card_rules);
    suite_add_tcase(s, tc);
    return s;
}
