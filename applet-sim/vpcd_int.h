/* Internals shared by the vpcd link's two files: vpcd.c (cards, frames, the loop) and
 * vpcd_control.c (the unix control socket, server and client). Not for other callers. */
#ifndef SIM_VPCD_INT_H
#define SIM_VPCD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vpcd.h"

#define VPCD_FRAME_MAX    (2u + SIM_VPCD_MAX_PAYLOAD)
#define VPCD_NAME_MAX     63u
#define VPCD_CTRL_CLIENTS 8

typedef struct vpcd_card {
    char name[VPCD_NAME_MAX + 1];
    uint16_t port;
    const sim_vpcd_card_ops *ops;
    void *card;
    sim_vpcd_state state;
    int fd;
    int64_t deadline_ms; /* WAITING: next attempt; CONNECTING: give up */
    int64_t left_ms;     /* when the card last left its reader (0: never was in it) */
    unsigned backoff_ms; /* the wait after the next failure */
    uint8_t *in;         /* one whole frame fits: frames are parsed in place */
    size_t in_len;
    uint8_t *out; /* the response frame being written */
    size_t out_len, out_off;
    bool handling;      /* a frame of this card is in its callbacks */
    bool leave_pending; /* removal asked for in a callback: once the answer is out */
} vpcd_card;

typedef struct ctrl_client {
    int fd;
    size_t len;
    char buf[SIM_VPCD_CONTROL_LINE_MAX];
} ctrl_client;

struct sim_vpcd {
    vpcd_card *cards;
    size_t ncards;
    int wake[2]; /* self-pipe: sim_vpcd_stop writes, the loop reads */
    int ctrl_fd;
    char *ctrl_path;
    dev_t ctrl_dev; /* identity of the socket file we bound, so we only unlink ours */
    ino_t ctrl_ino;
    ctrl_client clients[VPCD_CTRL_CLIENTS];
    sim_vpcd_observer obs;
    unsigned backoff_min, backoff_max;
    unsigned busy_poll_us; /* sim_vpcd_set_busy_poll */
    int64_t spin_until_us; /* poll without sleeping until then (monotonic) */
    bool busy_polled;      /* the events being handled were found by a busy poll */
    sim_vpcd_stats stats;
    bool stopping;
};

/* Monotonic milliseconds and microseconds. */
int64_t sim_vpcd_now_ms(void);
int64_t sim_vpcd_now_us(void);

/* vpcd_control.c, driven by the loop in vpcd.c. */
void sim_vpcd_ctrl_accept(sim_vpcd *l);
void sim_vpcd_ctrl_readable(sim_vpcd *l, ctrl_client *cl);
void sim_vpcd_ctrl_client_close(ctrl_client *cl);
/* Close the listener and remove its socket file if it is still ours. */
void sim_vpcd_ctrl_shutdown(sim_vpcd *l);

#endif
