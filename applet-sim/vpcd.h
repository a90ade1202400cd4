/* The card side of vsmartcard's vpcd protocol: puts cards into pcscd's virtual readers.
 * One single-threaded poll() loop serves several cards (one TCP connection each to vpcd on
 * 127.0.0.1), a stop pipe and an optional unix control socket (remove/insert/status/stop).
 * Cards are driven through a callback table, so this file knows nothing of the engine.
 *
 * Wire facts (vsmartcard vpcd.c, ifd-vpcd.c): vpcd is the TCP server; every frame in both
 * directions is a 2-byte big-endian length and a payload. A 1-byte payload is a control
 * byte (00 power off, 01 power on, 02 reset: no reply; 04 get ATR: reply with the ATR);
 * any other payload is a C-APDU, answered with the R-APDU. Removal is closing the socket,
 * insertion is connecting again. */
#ifndef SIM_VPCD_H
#define SIM_VPCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim.h"

#define SIM_VPCD_DEFAULT_PORT 35963   /* vsmartcard's VPCDPORT */
#define SIM_VPCD_MAX_PAYLOAD  0xFFFFu /* the length field is 16 bits */
#define SIM_VPCD_ATR_MAX      33u

/* How the link drives one card. `card` is the pointer given to sim_vpcd_add_card. All
 * callbacks run on the thread inside sim_vpcd_run(). */
typedef struct sim_vpcd_card_ops {
    /* Answer vpcd's Get ATR, which doubles as its presence poll (every ~400 ms, powered or
     * not). *len is the capacity (SIM_VPCD_ATR_MAX) on entry. A non-OK status or a zero
     * length answers with an empty frame, which makes vpcd eject the card. */
    sim_status (*get_atr)(void *card, uint8_t *atr, size_t *len);
    sim_status (*power_on)(void *card);
    /* Also called when the connection ends (removal, vpcd gone, stop): a card that leaves
     * the reader loses its power and security state. */
    void (*power_off)(void *card);
    sim_status (*reset)(void *card);
    /* One C-APDU in, one R-APDU (data || SW1 SW2) out. *rlen is the capacity
     * (SIM_VPCD_MAX_PAYLOAD) on entry and the length on return. A non-OK status or an
     * empty response is answered 6F 00, so vpcd is never left waiting. */
    sim_status (*process)(void *card, const uint8_t *capdu, size_t clen, uint8_t *rapdu,
                          size_t *rlen);
} sim_vpcd_card_ops;

typedef enum sim_vpcd_state {
    SIM_VPCD_WAITING,    /* not connected; next attempt after the back-off delay */
    SIM_VPCD_CONNECTING, /* non-blocking connect in progress */
    SIM_VPCD_CONNECTED,  /* in the reader */
    SIM_VPCD_REMOVED,    /* taken out on request: no socket, no retries until inserted */
} sim_vpcd_state;

const char *sim_vpcd_state_name(sim_vpcd_state st); /* "waiting", "connected", ... */

typedef enum sim_vpcd_event {
    SIM_VPCD_EV_CONNECTED,      /* TCP connection to vpcd established */
    SIM_VPCD_EV_DISCONNECTED,   /* vpcd closed the connection or it failed; detail says why */
    SIM_VPCD_EV_REMOVED,        /* removed on request */
    SIM_VPCD_EV_INSERTED,       /* inserted on request (connecting follows) */
    SIM_VPCD_EV_CONNECT_FAILED, /* one failed attempt (pcscd not running): quiet by nature */
    SIM_VPCD_EV_POWER_ON,
    SIM_VPCD_EV_POWER_OFF,
    SIM_VPCD_EV_RESET,
    SIM_VPCD_EV_GET_ATR,         /* presence poll: chatty, every ~400 ms */
    SIM_VPCD_EV_CONTROL_UNKNOWN, /* an unknown control byte, ignored */
    SIM_VPCD_EV_CARD_ERROR,      /* a callback failed; detail names it */
} sim_vpcd_event;

/* Direction of a traced APDU. */
typedef enum sim_vpcd_dir { SIM_VPCD_COMMAND, SIM_VPCD_RESPONSE } sim_vpcd_dir;

/* What the link reports. Every member is optional. When `sensitive` is true the APDU is
 * a VERIFY, CHANGE REFERENCE DATA or RESET RETRY COUNTER command (apdu_ins_is_sensitive)
 * or the answer to one: print the header and Lc only. */
typedef struct sim_vpcd_observer {
    void (*event)(void *arg, const char *card, sim_vpcd_event ev, const char *detail);
    void (*apdu)(void *arg, const char *card, sim_vpcd_dir dir, const uint8_t *buf, size_t len,
                 bool sensitive);
    void *arg;
} sim_vpcd_observer;

typedef struct sim_vpcd sim_vpcd;

sim_status sim_vpcd_new(sim_vpcd **out);
/* Closes every socket (cards are powered off), removes the control socket file. */
void sim_vpcd_free(sim_vpcd *link);

void sim_vpcd_set_observer(sim_vpcd *link, const sim_vpcd_observer *obs);
/* Reconnection delay: starts at min_ms after a lost or refused connection and doubles up
 * to max_ms; it falls back to min_ms once vpcd has talked on a connection. Defaults
 * 100 ms and 2000 ms. */
sim_status sim_vpcd_set_backoff(sim_vpcd *link, unsigned min_ms, unsigned max_ms);

/* After answering an APDU the loop keeps polling its sockets without sleeping for up to
 * usec microseconds, giving the CPU to anything else runnable meanwhile (sched_yield):
 * an application's next APDU usually follows within that time, and then the card
 * answers without first being woken up, which costs tens of microseconds per APDU on
 * a virtual machine (docs/PERFORMANCE.md). 0 turns it off; at most
 * SIM_VPCD_BUSY_POLL_MAX_US. Default SIM_VPCD_BUSY_POLL_DEFAULT_US. Presence polls and
 * other control frames do not start it. */
#define SIM_VPCD_BUSY_POLL_DEFAULT_US 200u
#define SIM_VPCD_BUSY_POLL_MAX_US     100000u
sim_status sim_vpcd_set_busy_poll(sim_vpcd *link, unsigned usec);

/* What the link has answered since sim_vpcd_new: APDUs, and how many of those were
 * already waiting when a busy poll looked (answered without a wake-up). Read it from
 * the loop's thread or while the loop is not running. */
typedef struct sim_vpcd_stats {
    uint64_t apdus;
    uint64_t apdus_busy_polled;
} sim_vpcd_stats;
void sim_vpcd_get_stats(const sim_vpcd *link, sim_vpcd_stats *out);

/* Add a card served on 127.0.0.1:port. name is what the control socket and the observer
 * call it. SIM_ERR_EXISTS when the name or the port is already used. ops and card must
 * outlive the link. Cards start inserted (connecting as soon as sim_vpcd_run starts). */
sim_status sim_vpcd_add_card(sim_vpcd *link, const char *name, uint16_t port,
                             const sim_vpcd_card_ops *ops, void *card);

/* Take a card out of its reader (close the socket, power off) or put it back. Both are
 * idempotent; SIM_ERR_NOT_FOUND for an unknown name. Call them from the loop's thread
 * (observer callbacks) or while the loop is not running; other threads and processes go
 * through the control socket. */
sim_status sim_vpcd_remove(sim_vpcd *link, const char *name);
sim_status sim_vpcd_insert(sim_vpcd *link, const char *name);
/* The same removal, for a card callback that decides while answering that its card
 * leaves (a fault): sim_vpcd_remove there would close the socket before the answer is
 * out. The card leaves once the answer to the frame being handled has been written in
 * full; frames behind it are not answered. Outside a callback, or when the card is not
 * connected, it is sim_vpcd_remove. Insertion brings the card back as after a removal. */
sim_status sim_vpcd_remove_after_reply(sim_vpcd *link, const char *name);
sim_status sim_vpcd_get_state(const sim_vpcd *link, const char *name, sim_vpcd_state *st);

/* Serve the control protocol on a unix socket at path (mode 0600; its directory should
 * be private). A stale socket file is replaced; SIM_ERR_EXISTS when another process is
 * serving it. The file is removed by sim_vpcd_free.
 *
 * Control protocol: one request per line, one reply line per request.
 *   remove NAME   -> "ok"              take the card out of its reader
 *   insert NAME   -> "ok"              put it back (connects again)
 *   status [NAME] -> "ok NAME=STATE ..." (states as sim_vpcd_state_name)
 *   stop          -> "ok"              sim_vpcd_run returns after this reply
 * Failures reply "error: <reason>", e.g. "error: no such token", "error: unknown command".
 * Lines are at most SIM_VPCD_CONTROL_LINE_MAX bytes including the newline. */
#define SIM_VPCD_CONTROL_LINE_MAX 256u
sim_status sim_vpcd_control_listen(sim_vpcd *link, const char *path);

/* Run until sim_vpcd_stop() or a "stop" request. SIM_OK after a stop; SIM_ERR_IO when
 * poll() itself fails. Every APDU is answered before the loop looks at the stop request,
 * so a stop never leaves a half-written response behind. */
sim_status sim_vpcd_run(sim_vpcd *link);

/* Ask sim_vpcd_run to return. Async-signal-safe and thread-safe (one write() to a pipe),
 * so a SIGTERM handler may call it. A stop requested before run makes run return at once. */
void sim_vpcd_stop(sim_vpcd *link);

/* Client side of the control protocol: send one request line (without the newline) and
 * receive the reply line (without the newline) into reply. SIM_ERR_NOT_FOUND when no one
 * serves path (no `vtoken sim` running), SIM_ERR_IO on a broken or silent (5 s) server,
 * SIM_ERR_ARGS for a request containing a newline or a reply that does not fit cap. */
sim_status sim_vpcd_control_request(const char *path, const char *request, char *reply, size_t cap);

#endif
