/* The vpcd link: cards in pcscd's virtual readers over TCP, served by one poll() loop
 * together with a stop pipe and the control socket (vpcd_control.c). Protocol notes are
 * in vpcd.h. No globals: everything hangs off struct sim_vpcd (vpcd_int.h). */
#include "vpcd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "apdu.h"
#include "vpcd_int.h"

/* Control bytes (vsmartcard vpcd.h VPCD_CTRL_*). */
enum { CTRL_OFF = 0, CTRL_ON = 1, CTRL_RESET = 2, CTRL_ATR = 4 };

#define CONNECT_TIMEOUT_MS 2000

int64_t sim_vpcd_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t sim_vpcd_now_ms(void)
{
    return sim_vpcd_now_us() / 1000;
}

const char *sim_vpcd_state_name(sim_vpcd_state st)
{
    switch (st) {
    case SIM_VPCD_WAITING:
        return "waiting";
    case SIM_VPCD_CONNECTING:
        return "connecting";
    case SIM_VPCD_CONNECTED:
        return "connected";
    case SIM_VPCD_REMOVED:
        return "removed";
    }
    return "unknown";
}

static void emit(sim_vpcd *l, const vpcd_card *c, sim_vpcd_event ev, const char *detail)
{
    if (l->obs.event)
        l->obs.event(l->obs.arg, c->name, ev, detail);
}

static void trace(sim_vpcd *l, const vpcd_card *c, sim_vpcd_dir dir, const uint8_t *buf, size_t len,
                  bool sensitive)
{
    if (l->obs.apdu)
        l->obs.apdu(l->obs.arg, c->name, dir, buf, len, sensitive);
}

static vpcd_card *find_card(const sim_vpcd *l, const char *name)
{
    for (size_t i = 0; i < l->ncards; i++)
        if (strcmp(l->cards[i].name, name) == 0)
            return &l->cards[i];
    return NULL;
}

/* ---- life cycle ------------------------------------------------------------------ */

sim_status sim_vpcd_new(sim_vpcd **out)
{
    sim_vpcd *l = NULL;
    sim_status rv = SIM_OK;

    if (!out)
        return SIM_ERR_ARGS;
    *out = NULL;
    l = calloc(1, sizeof(*l));
    if (!l) {
        rv = SIM_ERR_NOMEM;
        goto out;
    }
    l->wake[0] = l->wake[1] = -1;
    l->ctrl_fd = -1;
    for (size_t i = 0; i < VPCD_CTRL_CLIENTS; i++)
        l->clients[i].fd = -1;
    l->backoff_min = 100;
    l->backoff_max = 2000;
    l->busy_poll_us = SIM_VPCD_BUSY_POLL_DEFAULT_US;
    if (pipe2(l->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        rv = SIM_ERR_IO;
        goto out;
    }
    *out = l;
    l = NULL;
out:
    sim_vpcd_free(l);
    return rv;
}

/* pcscd learns that a card left only from a presence poll (every 400 ms) that finds no
 * card. If an application's APDU meets the closed socket first, vpcd drops it and the
 * next poll already accepts the new connection: pcscd never sees the card leave, keeps
 * it "powered" and sends APDUs to a card that never got power. So a card that left
 * stays out for longer than two polls before it connects again. */
#define VPCD_MIN_ABSENCE_MS 1000

static void card_close_socket(vpcd_card *c)
{
    bool was_in_reader = c->state == SIM_VPCD_CONNECTED;

    if (c->fd >= 0) {
        close(c->fd);
        c->left_ms = sim_vpcd_now_ms();
    }
    c->fd = -1;
    c->in_len = 0;
    c->out_len = c->out_off = 0;
    c->leave_pending = false;
    /* A card that leaves the reader loses power and with it its security state. */
    if (was_in_reader)
        c->ops->power_off(c->card);
}

void sim_vpcd_free(sim_vpcd *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->ncards; i++) {
        card_close_socket(&l->cards[i]);
        free(l->cards[i].in);
        free(l->cards[i].out);
    }
    free(l->cards);
    sim_vpcd_ctrl_shutdown(l);
    if (l->wake[0] >= 0)
        close(l->wake[0]);
    if (l->wake[1] >= 0)
        close(l->wake[1]);
    free(l);
}

void sim_vpcd_set_observer(sim_vpcd *l, const sim_vpcd_observer *obs)
{
    if (!l)
        return;
    if (obs)
        l->obs = *obs;
    else
        memset(&l->obs, 0, sizeof(l->obs));
}

sim_status sim_vpcd_set_backoff(sim_vpcd *l, unsigned min_ms, unsigned max_ms)
{
    if (!l || min_ms == 0 || max_ms < min_ms || max_ms > 3600u * 1000u)
        return SIM_ERR_ARGS;
    l->backoff_min = min_ms;
    l->backoff_max = max_ms;
    for (size_t i = 0; i < l->ncards; i++)
        l->cards[i].backoff_ms = min_ms;
    return SIM_OK;
}

sim_status sim_vpcd_set_busy_poll(sim_vpcd *l, unsigned usec)
{
    if (!l || usec > SIM_VPCD_BUSY_POLL_MAX_US)
        return SIM_ERR_ARGS;
    l->busy_poll_us = usec;
    l->spin_until_us = 0;
    return SIM_OK;
}

void sim_vpcd_get_stats(const sim_vpcd *l, sim_vpcd_stats *out)
{
    if (!out)
        return;
    if (l)
        *out = l->stats;
    else
        memset(out, 0, sizeof(*out));
}

static bool name_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > VPCD_NAME_MAX)
        return false;
    /* The control protocol separates words with blanks. */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] <= ' ' || name[i] == 0x7f)
            return false;
    return true;
}

sim_status sim_vpcd_add_card(sim_vpcd *l, const char *name, uint16_t port,
                             const sim_vpcd_card_ops *ops, void *card)
{
    vpcd_card *grown, *c;

    if (!l || !name || !ops || port == 0 || !name_ok(name) || !ops->get_atr || !ops->power_on ||
        !ops->power_off || !ops->reset || !ops->process)
        return SIM_ERR_ARGS;
    for (size_t i = 0; i < l->ncards; i++)
        if (strcmp(l->cards[i].name, name) == 0 || l->cards[i].port == port)
            return SIM_ERR_EXISTS;
    grown = realloc(l->cards, (l->ncards + 1) * sizeof(*grown));
    if (!grown)
        return SIM_ERR_NOMEM;
    l->cards = grown;
    c = &l->cards[l->ncards];
    memset(c, 0, sizeof(*c));
    c->in = malloc(VPCD_FRAME_MAX);
    c->out = malloc(VPCD_FRAME_MAX);
    if (!c->in || !c->out) {
        free(c->in);
        free(c->out);
        return SIM_ERR_NOMEM;
    }
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->port = port;
    c->ops = ops;
    c->card = card;
    c->fd = -1;
    c->state = SIM_VPCD_WAITING;
    c->deadline_ms = 0; /* first attempt as soon as the loop runs */
    c->backoff_ms = l->backoff_min;
    l->ncards++;
    return SIM_OK;
}

/* ---- connection state machine --------------------------------------------------- */

/* The earliest time a card that left its reader may connect again. */
static int64_t card_earliest_return(const vpcd_card *c, int64_t at)
{
    int64_t back = c->left_ms ? c->left_ms + VPCD_MIN_ABSENCE_MS : 0;
    return at > back ? at : back;
}

static void card_retry_later(sim_vpcd *l, vpcd_card *c)
{
    c->state = SIM_VPCD_WAITING;
    c->deadline_ms = card_earliest_return(c, sim_vpcd_now_ms() + c->backoff_ms);
    c->backoff_ms = c->backoff_ms > l->backoff_max / 2 ? l->backoff_max : c->backoff_ms * 2;
}

/* The connection is gone (vpcd closed it, an I/O error): out of the reader, retry; or
 * stay out, when the card was leaving anyway. */
static void card_lost(sim_vpcd *l, vpcd_card *c, const char *why)
{
    bool leaving = c->leave_pending;

    card_close_socket(c);
    if (leaving) {
        c->state = SIM_VPCD_REMOVED;
        emit(l, c, SIM_VPCD_EV_DISCONNECTED, why);
        emit(l, c, SIM_VPCD_EV_REMOVED, NULL);
        return;
    }
    card_retry_later(l, c);
    emit(l, c, SIM_VPCD_EV_DISCONNECTED, why);
}

static void card_lost_errno(sim_vpcd *l, vpcd_card *c, const char *op, int err)
{
    char why[128];

    snprintf(why, sizeof(why), "%s: %s", op, strerror(err));
    card_lost(l, c, why);
}

static void set_quickack(int fd)
{
    int one = 1;
    /* Linux clears TCP_QUICKACK again after it acknowledges, so this is set after every
     * receive: vpcd writes the length and the APDU separately, and a delayed ACK of the
     * first write holds the second back for ~40 ms (Nagle on vpcd's side). */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

static void card_connected(sim_vpcd *l, vpcd_card *c)
{
    char where[32];

    c->state = SIM_VPCD_CONNECTED;
    c->in_len = 0;
    c->out_len = c->out_off = 0;
    set_quickack(c->fd);
    snprintf(where, sizeof(where), "127.0.0.1:%u", (unsigned)c->port);
    emit(l, c, SIM_VPCD_EV_CONNECTED, where);
}

static void card_connect_failed(sim_vpcd *l, vpcd_card *c, int err)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->left_ms = sim_vpcd_now_ms();
    }
    c->fd = -1;
    card_retry_later(l, c);
    emit(l, c, SIM_VPCD_EV_CONNECT_FAILED, strerror(err));
}

static void card_connect(sim_vpcd *l, vpcd_card *c)
{
    struct sockaddr_in sa;
    int one = 1;

    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        card_connect_failed(l, c, errno);
        return;
    }
    /* Each response must leave at once; see set_quickack for the other direction. */
    (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(c->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (const struct sockaddr *)&sa, sizeof(sa)) == 0) {
        card_connected(l, c);
        return;
    }
    if (errno != EINPROGRESS) {
        card_connect_failed(l, c, errno);
        return;
    }
    c->state = SIM_VPCD_CONNECTING;
    c->deadline_ms = sim_vpcd_now_ms() + CONNECT_TIMEOUT_MS;
}

static void card_connect_done(sim_vpcd *l, vpcd_card *c)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err == EINPROGRESS || err == EALREADY)
        return;
    if (err != 0) {
        card_connect_failed(l, c, err);
        return;
    }
    card_connected(l, c);
}

static void card_remove(sim_vpcd *l, vpcd_card *c)
{
    if (c->state == SIM_VPCD_REMOVED)
        return;
    card_close_socket(c);
    c->state = SIM_VPCD_REMOVED;
    emit(l, c, SIM_VPCD_EV_REMOVED, NULL);
}

sim_status sim_vpcd_remove(sim_vpcd *l, const char *name)
{
    vpcd_card *c;

    if (!l || !name)
        return SIM_ERR_ARGS;
    c = find_card(l, name);
    if (!c)
        return SIM_ERR_NOT_FOUND;
    card_remove(l, c);
    return SIM_OK;
}

sim_status sim_vpcd_remove_after_reply(sim_vpcd *l, const char *name)
{
    vpcd_card *c;

    if (!l || !name)
        return SIM_ERR_ARGS;
    c = find_card(l, name);
    if (!c)
        return SIM_ERR_NOT_FOUND;
    if (c->state == SIM_VPCD_CONNECTED && (c->handling || c->out_len > 0))
        c->leave_pending = true; /* card_leave_if_due, once the answer is out */
    else
        card_remove(l, c);
    return SIM_OK;
}

/* A removal asked for in a callback, when the answer has left. What vpcd sent after the
 * frame is read away first: closing with unread data would reset the connection, and
 * vpcd could lose the answer still in its buffer. True when the card left. */
static bool card_leave_if_due(sim_vpcd *l, vpcd_card *c)
{
    uint8_t drop[256];

    if (!c->leave_pending || c->handling || c->out_len > 0 || c->state != SIM_VPCD_CONNECTED)
        return false;
    while (recv(c->fd, drop, sizeof(drop), MSG_DONTWAIT) > 0)
        ;
    card_remove(l, c);
    return true;
}

sim_status sim_vpcd_insert(sim_vpcd *l, const char *name)
{
    vpcd_card *c;

    if (!l || !name)
        return SIM_ERR_ARGS;
    c = find_card(l, name);
    if (!c)
        return SIM_ERR_NOT_FOUND;
    if (c->state != SIM_VPCD_REMOVED)
        return SIM_OK;
    c->state = SIM_VPCD_WAITING;
    c->deadline_ms = card_earliest_return(c, 0);
    c->backoff_ms = l->backoff_min;
    emit(l, c, SIM_VPCD_EV_INSERTED, NULL);
    return SIM_OK;
}

sim_status sim_vpcd_get_state(const sim_vpcd *l, const char *name, sim_vpcd_state *st)
{
    const vpcd_card *c;

    if (!l || !name || !st)
        return SIM_ERR_ARGS;
    c = find_card(l, name);
    if (!c)
        return SIM_ERR_NOT_FOUND;
    *st = c->state;
    return SIM_OK;
}

/* ---- frames ---------------------------------------------------------------------- */

/* Write what is left of the response frame. False when the connection was lost. */
static bool card_flush(sim_vpcd *l, vpcd_card *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n =
            send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true; /* poll for POLLOUT */
            card_lost_errno(l, c, "send", errno);
            return false;
        }
        c->out_off += (size_t)n;
    }
    c->out_len = c->out_off = 0;
    /* Sending the answer put the socket back into delayed-ACK ("ping-pong") mode: leave
     * it before vpcd's next length prefix arrives, or that prefix waits for a delayed
     * ACK before vpcd sends the APDU behind it (set_quickack). */
    set_quickack(c->fd);
    return true;
}

/* The payload (len bytes) is already at c->out + 2. */
static bool card_reply(sim_vpcd *l, vpcd_card *c, size_t len)
{
    c->out[0] = (uint8_t)(len >> 8);
    c->out[1] = (uint8_t)len;
    c->out_len = 2 + len;
    c->out_off = 0;
    return card_flush(l, c);
}

static void card_error(sim_vpcd *l, vpcd_card *c, const char *op, sim_status st)
{
    char why[128];

    snprintf(why, sizeof(why), "%s: %s", op, sim_strerror(st));
    emit(l, c, SIM_VPCD_EV_CARD_ERROR, why);
}

static bool card_control(sim_vpcd *l, vpcd_card *c, uint8_t ctrl)
{
    sim_status st;
    size_t alen;

    switch (ctrl) {
    case CTRL_OFF:
        emit(l, c, SIM_VPCD_EV_POWER_OFF, NULL);
        c->ops->power_off(c->card);
        return true;
    case CTRL_ON:
        emit(l, c, SIM_VPCD_EV_POWER_ON, NULL);
        st = c->ops->power_on(c->card);
        if (st != SIM_OK)
            card_error(l, c, "power on", st);
        return true;
    case CTRL_RESET:
        emit(l, c, SIM_VPCD_EV_RESET, NULL);
        st = c->ops->reset(c->card);
        if (st != SIM_OK)
            card_error(l, c, "reset", st);
        return true;
    case CTRL_ATR:
        emit(l, c, SIM_VPCD_EV_GET_ATR, NULL);
        alen = SIM_VPCD_ATR_MAX;
        st = c->ops->get_atr(c->card, c->out + 2, &alen);
        if (st != SIM_OK || alen > SIM_VPCD_ATR_MAX) {
            card_error(l, c, "get ATR", st != SIM_OK ? st : SIM_ERR_ARGS);
            alen = 0;
        }
        /* An empty answer tells vpcd there is no card. */
        return card_reply(l, c, alen);
    default:
        emit(l, c, SIM_VPCD_EV_CONTROL_UNKNOWN, NULL);
        return true;
    }
}

static bool card_apdu(sim_vpcd *l, vpcd_card *c, const uint8_t *capdu, size_t clen)
{
    bool sensitive = clen >= 2 && apdu_ins_is_sensitive(capdu[1]);
    size_t rlen = SIM_VPCD_MAX_PAYLOAD;
    sim_status st;

    trace(l, c, SIM_VPCD_COMMAND, capdu, clen, sensitive);
    l->stats.apdus++;
    if (l->busy_polled)
        l->stats.apdus_busy_polled++;
    st = c->ops->process(c->card, capdu, clen, c->out + 2, &rlen);
    if (st == SIM_ERR_POWER) {
        /* pcscd thinks the card is powered, but it never powered it (it missed the
         * card leaving): an empty answer makes vpcd drop the card, and the card's
         * absence makes pcscd detect it afresh and power it up. */
        card_error(l, c, "APDU before power-on; leaving the reader to be re-detected", st);
        trace(l, c, SIM_VPCD_RESPONSE, c->out + 2, 0, sensitive);
        return card_reply(l, c, 0);
    }
    if (st != SIM_OK || rlen < 2 || rlen > SIM_VPCD_MAX_PAYLOAD) {
        card_error(l, c, "APDU", st != SIM_OK ? st : SIM_ERR_ARGS);
        /* vpcd waits for an answer; 6F00 "no precise diagnosis" is the honest one. */
        c->out[2] = 0x6F;
        c->out[3] = 0x00;
        rlen = 2;
    }
    trace(l, c, SIM_VPCD_RESPONSE, c->out + 2, rlen, sensitive);
    if (l->busy_poll_us > 0)
        l->spin_until_us = sim_vpcd_now_us() + l->busy_poll_us;
    return card_reply(l, c, rlen);
}

/* Handle every complete frame in the input buffer, one at a time: the next frame waits
 * until the previous response has been written. */
static void card_frames(sim_vpcd *l, vpcd_card *c)
{
    size_t off = 0;

    while (c->out_len == 0 && c->in_len - off >= 2) {
        size_t plen = ((size_t)c->in[off] << 8) | c->in[off + 1];
        const uint8_t *p = c->in + off + 2;
        bool alive;

        if (c->in_len - off - 2 < plen)
            break;
        off += 2 + plen;
        /* An observer learns of each step and may remove this very card; a callback may
         * ask it to leave once the answer is out. */
        c->handling = true;
        alive = plen == 1 ? card_control(l, c, p[0]) : card_apdu(l, c, p, plen);
        c->handling = false;
        if (!alive || c->state != SIM_VPCD_CONNECTED || card_leave_if_due(l, c))
            return; /* the buffer was reset with the connection */
    }
    if (off > 0) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
}

static void card_readable(sim_vpcd *l, vpcd_card *c)
{
    ssize_t n;

    if (c->in_len == VPCD_FRAME_MAX)
        return; /* cannot happen: a full buffer always holds a complete frame */
    n = recv(c->fd, c->in + c->in_len, VPCD_FRAME_MAX - c->in_len, 0);
    if (n == 0) {
        card_lost(l, c, "closed by vpcd");
        return;
    }
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            card_lost_errno(l, c, "recv", errno);
        return;
    }
    set_quickack(c->fd);
    c->in_len += (size_t)n;
    /* vpcd has talked: a later loss starts the back-off from the bottom again. */
    c->backoff_ms = l->backoff_min;
    card_frames(l, c);
}

static void card_ready(sim_vpcd *l, vpcd_card *c, short revents)
{
    if (c->state == SIM_VPCD_CONNECTING) {
        card_connect_done(l, c);
        return;
    }
    if (c->out_len > 0) {
        if (!card_flush(l, c))
            return;
        if (c->out_len == 0 && !card_leave_if_due(l, c))
            card_frames(l, c); /* frames that queued up behind the response */
        return;
    }
    if (revents & (POLLIN | POLLHUP | POLLERR))
        card_readable(l, c);
}

static void card_timers(sim_vpcd *l, vpcd_card *c, int64_t now)
{
    if (c->state == SIM_VPCD_WAITING && c->deadline_ms <= now)
        card_connect(l, c);
    else if (c->state == SIM_VPCD_CONNECTING && c->deadline_ms <= now)
        card_connect_failed(l, c, ETIMEDOUT);
}

/* ---- the loop -------------------------------------------------------------------- */

enum { SLOT_WAKE, SLOT_CTRL, SLOT_CLIENT, SLOT_CARD };

typedef struct poll_slot {
    int kind;
    size_t index;
} poll_slot;

void sim_vpcd_stop(sim_vpcd *l)
{
    int saved = errno;
    ssize_t n;

    if (!l)
        return;
    /* Only async-signal-safe calls here. A full pipe already holds a stop. */
    n = write(l->wake[1], "s", 1);
    (void)n;
    errno = saved;
}

static void drain_wake(sim_vpcd *l)
{
    char buf[64];

    while (read(l->wake[0], buf, sizeof(buf)) > 0)
        ;
}

static int poll_timeout(const sim_vpcd *l, int64_t now)
{
    int64_t best = -1;

    for (size_t i = 0; i < l->ncards; i++) {
        const vpcd_card *c = &l->cards[i];
        int64_t wait;
        if (c->state != SIM_VPCD_WAITING && c->state != SIM_VPCD_CONNECTING)
            continue;
        wait = c->deadline_ms > now ? c->deadline_ms - now : 0;
        if (best < 0 || wait < best)
            best = wait;
    }
    return (int)best;
}

static size_t build_pollset(sim_vpcd *l, struct pollfd *fds, poll_slot *slots)
{
    size_t n = 0;

    fds[n] = (struct pollfd){.fd = l->wake[0], .events = POLLIN};
    slots[n++] = (poll_slot){SLOT_WAKE, 0};
    if (l->ctrl_fd >= 0) {
        fds[n] = (struct pollfd){.fd = l->ctrl_fd, .events = POLLIN};
        slots[n++] = (poll_slot){SLOT_CTRL, 0};
    }
    for (size_t i = 0; i < VPCD_CTRL_CLIENTS; i++) {
        if (l->clients[i].fd < 0)
            continue;
        fds[n] = (struct pollfd){.fd = l->clients[i].fd, .events = POLLIN};
        slots[n++] = (poll_slot){SLOT_CLIENT, i};
    }
    for (size_t i = 0; i < l->ncards; i++) {
        const vpcd_card *c = &l->cards[i];
        short ev;
        if (c->fd < 0)
            continue;
        ev = c->state == SIM_VPCD_CONNECTING || c->out_len > 0 ? POLLOUT : POLLIN;
        fds[n] = (struct pollfd){.fd = c->fd, .events = ev};
        slots[n++] = (poll_slot){SLOT_CARD, i};
    }
    return n;
}

sim_status sim_vpcd_run(sim_vpcd *l)
{
    struct pollfd *fds = NULL;
    poll_slot *slots = NULL;
    size_t max = 0;
    sim_status rv = SIM_OK;

    if (!l)
        return SIM_ERR_ARGS;
    max = 2 + VPCD_CTRL_CLIENTS + l->ncards;
    fds = calloc(max, sizeof(*fds));
    slots = calloc(max, sizeof(*slots));
    if (!fds || !slots) {
        rv = SIM_ERR_NOMEM;
        goto out;
    }
    l->stopping = false;
    while (!l->stopping) {
        size_t n;
        int ready;
        int64_t now = sim_vpcd_now_ms();

        for (size_t i = 0; i < l->ncards; i++)
            card_timers(l, &l->cards[i], now);
        /* 0 unless an APDU was answered with busy polling on: no clock read then */
        bool spin = l->spin_until_us > 0 && sim_vpcd_now_us() < l->spin_until_us;
        n = build_pollset(l, fds, slots);
        ready = poll(fds, n, spin ? 0 : poll_timeout(l, sim_vpcd_now_ms()));
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            rv = SIM_ERR_IO;
            goto out;
        }
        if (ready == 0 && spin) {
            sched_yield(); /* busy polling (sim_vpcd_set_busy_poll) */
            continue;
        }
        l->busy_polled = spin;
        /* Cards first: a stop takes effect only after the frames already here are
         * answered, and a removal by request in this round sees no stale events. */
        for (size_t i = 0; i < n; i++) {
            vpcd_card *c;
            if (fds[i].revents == 0 || slots[i].kind != SLOT_CARD)
                continue;
            c = &l->cards[slots[i].index];
            if (c->fd == fds[i].fd) /* an observer may have removed it this round */
                card_ready(l, c, fds[i].revents);
        }
        for (size_t i = 0; i < n; i++) {
            if (fds[i].revents == 0)
                continue;
            switch (slots[i].kind) {
            case SLOT_WAKE:
                drain_wake(l);
                l->stopping = true;
                break;
            case SLOT_CTRL:
                sim_vpcd_ctrl_accept(l);
                break;
            case SLOT_CLIENT:
                if (l->clients[slots[i].index].fd == fds[i].fd)
                    sim_vpcd_ctrl_readable(l, &l->clients[slots[i].index]);
                break;
            default:
                break;
            }
        }
    }
out:
    /* Leave every card out of its reader; a later run starts connecting afresh. */
    for (size_t i = 0; i < l->ncards; i++) {
        vpcd_card *c = &l->cards[i];
        bool leaving = c->leave_pending;
        card_close_socket(c);
        if (leaving)
            c->state = SIM_VPCD_REMOVED; /* it was on its way out */
        if (c->state != SIM_VPCD_REMOVED) {
            c->state = SIM_VPCD_WAITING;
            c->deadline_ms = 0;
            c->backoff_ms = l->backoff_min;
        }
    }
    for (size_t i = 0; i < VPCD_CTRL_CLIENTS; i++)
        sim_vpcd_ctrl_client_close(&l->clients[i]);
    free(fds);
    free(slots);
    return rv;
}
