/* The fake vpcd and the fake card of the vpcd link tests (test_vpcd*.c): the test
 * thread plays pcscd's vpcd driver over a listening socket, the link runs in a thread
 * of its own. */
#ifndef VPCD_HARNESS_H
#define VPCD_HARNESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vpcd.h"

#define WAIT_MS 10000 /* generous: these waits only bound a hang, they assert no speed */

extern const uint8_t VH_ATR_A[12];
extern const uint8_t VH_ATR_B[14];

typedef struct fake_card {
    const uint8_t *atr;
    size_t atr_len;
    atomic_int power_on, power_off, reset, get_atr, apdus;
    /* The card decides to leave its reader while answering APDU number leave_at (from
     * 1; 0: never), as a REMOVE fault does under `vtoken sim`. */
    int leave_at;
    sim_vpcd *link;
    const char *name;
    sim_status leave_rv;
} fake_card;

typedef struct seen {
    atomic_int events[SIM_VPCD_EV_CARD_ERROR + 1];
    atomic_int sensitive_cmds, plain_cmds, sensitive_resps;
} seen;

typedef struct harness {
    int lfd[2];
    uint16_t port[2];
    fake_card card[2];
    seen seen;
    sim_vpcd *link;
    pthread_t thread;
    bool running;
    sim_status run_rv;
    char dir[64];
    char sock[128];
} harness;

/* The fake card's operations (ctx: a fake_card). */
extern const sim_vpcd_card_ops fake_ops;

int listen_on(uint16_t port, uint16_t *bound); /* port 0: any; *bound: the one taken */
int count(atomic_int *a);
void h_init(harness *h, int ncards, bool control);
void h_run(harness *h);
void h_join(harness *h);
void h_done(harness *h);
bool wait_readable(int fd, int ms);
int h_accept(harness *h, int i);
void send_all(int fd, const void *buf, size_t len);
bool recv_exact(int fd, void *buf, size_t len);
size_t recv_frame(int fd, uint8_t *buf, size_t cap);
void send_frame(int fd, const uint8_t *payload, size_t len);
void send_ctrl(int fd, uint8_t ctrl);
void expect_atr(int fd, const uint8_t *atr, size_t atr_len);
void expect_eof(int fd);
void control(harness *h, const char *req, const char *want);

#endif
