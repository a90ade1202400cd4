/* PC/SC transport over pcsc-lite: reader list, shared connections (T=1 preferred),
 * transmit, card status and generation, and reader events via SCardGetStatusChange
 * with a cancel that cannot be lost. */
#include "pcsc.h"
#include "atr.h"
#include "tlv.h"

#include <winscard.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PNP_READER       "\\\\?PnP?\\Notification"
/* pcsc-lite's PCSCLITE_MAX_READERS_CONTEXTS, which its public headers do not export. */
#define MAX_WAIT_READERS 16
/* SCardCancel() is lost when it arrives before the wait blocks in pcscd, so waits run
 * in slices and look at our own flag in between. */
#define WAIT_SLICE_MS    500

struct apdu_pcsc {
    SCARDCONTEXT h;
    atomic_bool cancel;
};

typedef struct pcsc_card {
    /* Its own context: pcsc-lite holds a context's lock for the whole of a
     * SCardGetStatusChange, so a wait on the caller's context would stall transmits. */
    SCARDCONTEXT h;
    SCARDHANDLE card;
    DWORD proto;
    char *reader;
    uint64_t gen;
    unsigned long events; /* reader event counter last seen */
    bool dead;            /* card removed: only reset() brings the handle back */
    unsigned txn;         /* transactions this handle holds (pcsc-lite counts nested ones) */
} pcsc_card;

apdu_status apdu_pcsc_status(long rv)
{
    switch (rv) {
    case SCARD_S_SUCCESS:
        return APDU_OK;
    case SCARD_E_NO_SMARTCARD:
    case SCARD_W_REMOVED_CARD:
        return APDU_ERR_NO_CARD;
    case SCARD_W_RESET_CARD:
        return APDU_ERR_CARD_RESET;
    case SCARD_E_TIMEOUT:
        return APDU_ERR_TIMEOUT;
    case SCARD_E_CANCELLED:
    case SCARD_E_SYSTEM_CANCELLED:
        return APDU_ERR_CANCELLED;
    case SCARD_E_UNKNOWN_READER:
    case SCARD_E_READER_UNAVAILABLE:
    case SCARD_E_NO_READERS_AVAILABLE:
        return APDU_ERR_NO_READER;
    case SCARD_E_NO_MEMORY:
        return APDU_ERR_NOMEM;
    case SCARD_E_INSUFFICIENT_BUFFER:
    case SCARD_E_PCI_TOO_SMALL:
        return APDU_ERR_BUFFER;
    case SCARD_E_INVALID_PARAMETER:
    case SCARD_E_INVALID_VALUE:
        return APDU_ERR_ARGS;
    case SCARD_E_PROTO_MISMATCH:
    case SCARD_E_CARD_UNSUPPORTED:
    case SCARD_W_UNSUPPORTED_CARD:
        return APDU_ERR_PROTOCOL;
    default:
        /* pcscd gone (NO_SERVICE, INVALID_HANDLE after a restart), mute card,
         * sharing violations and internal errors: the link is not usable. */
        return APDU_ERR_IO;
    }
}

/* ---- contexts and readers --------------------------------------------------- */

apdu_status apdu_pcsc_open_context(apdu_pcsc **out)
{
    if (out == NULL)
        return APDU_ERR_ARGS;
    *out = NULL;
    apdu_pcsc *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        return APDU_ERR_NOMEM;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx->h);
    if (rv != SCARD_S_SUCCESS) {
        free(ctx);
        return apdu_pcsc_status(rv);
    }
    atomic_init(&ctx->cancel, false);
    *out = ctx;
    return APDU_OK;
}

void apdu_pcsc_close_context(apdu_pcsc *ctx)
{
    if (ctx == NULL)
        return;
    SCardReleaseContext(ctx->h);
    free(ctx);
}

void apdu_pcsc_free_list(char **names)
{
    if (names == NULL)
        return;
    for (char **p = names; *p != NULL; p++)
        free(*p);
    free(names);
}

/* The multi-string (names separated by NUL, ended by an empty name) from pcscd. */
static apdu_status reader_multistring(SCARDCONTEXT h, char **out)
{
    *out = NULL;
    /* The list can grow between the two calls; try again when it did. */
    for (int attempt = 0; attempt < 5; attempt++) {
        DWORD len = 0;
        LONG rv = SCardListReaders(h, NULL, NULL, &len);
        if (rv == SCARD_E_NO_READERS_AVAILABLE)
            return APDU_OK;
        if (rv != SCARD_S_SUCCESS)
            return apdu_pcsc_status(rv);
        char *buf = malloc(len + 1);
        if (buf == NULL)
            return APDU_ERR_NOMEM;
        rv = SCardListReaders(h, NULL, buf, &len);
        if (rv == SCARD_S_SUCCESS) {
            buf[len] = '\0';
            *out = buf;
            return APDU_OK;
        }
        free(buf);
        if (rv == SCARD_E_NO_READERS_AVAILABLE)
            return APDU_OK;
        if (rv != SCARD_E_INSUFFICIENT_BUFFER)
            return apdu_pcsc_status(rv);
    }
    return APDU_ERR_IO;
}

apdu_status apdu_pcsc_list_readers(apdu_pcsc *ctx, char ***names)
{
    if (ctx == NULL || names == NULL)
        return APDU_ERR_ARGS;
    *names = NULL;
    char *ms;
    apdu_status st = reader_multistring(ctx->h, &ms);
    if (st != APDU_OK)
        return st;
    size_t n = 0;
    for (const char *p = ms; p != NULL && *p; p += strlen(p) + 1)
        n++;
    char **list = calloc(n + 1, sizeof(*list));
    if (list == NULL) {
        free(ms);
        return APDU_ERR_NOMEM;
    }
    size_t i = 0;
    for (const char *p = ms; p != NULL && *p; p += strlen(p) + 1) {
        list[i] = strdup(p);
        if (list[i] == NULL) {
            apdu_pcsc_free_list(list);
            free(ms);
            return APDU_ERR_NOMEM;
        }
        i++;
    }
    free(ms);
    *names = list;
    return APDU_OK;
}

static apdu_status count_readers(SCARDCONTEXT h, size_t *n)
{
    char *ms;
    apdu_status st = reader_multistring(h, &ms);
    if (st != APDU_OK)
        return st;
    *n = 0;
    for (const char *p = ms; p != NULL && *p; p += strlen(p) + 1)
        (*n)++;
    free(ms);
    return APDU_OK;
}

/* ---- the card transport ----------------------------------------------------- */

/* T=1 first: the NCA tokens all speak it and it carries case 4 without GET RESPONSE. */
static LONG card_connect(pcsc_card *c)
{
    LONG rv =
        SCardConnect(c->h, c->reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &c->card, &c->proto);
    if (rv == SCARD_E_PROTO_MISMATCH)
        rv = SCardConnect(c->h, c->reader, SCARD_SHARE_SHARED,
                          SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &c->card, &c->proto);
    return rv;
}

static LONG card_reconnect(pcsc_card *c, DWORD init)
{
    LONG rv = SCardReconnect(c->card, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, init, &c->proto);
    if (rv == SCARD_E_PROTO_MISMATCH)
        rv = SCardReconnect(c->card, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                            init, &c->proto);
    return rv;
}

/* Reset and removal notices from pcscd move the generation. After a reset by someone
 * else the handle is re-attached at once, so the caller hears of it exactly once. */
static apdu_status card_error(pcsc_card *c, LONG rv)
{
    if (rv == SCARD_W_RESET_CARD || rv == SCARD_W_REMOVED_CARD || rv == SCARD_E_NO_SMARTCARD)
        c->txn = 0; /* a reset or a removal ends whatever transaction we held */
    if (rv == SCARD_W_RESET_CARD) {
        c->gen++;
        LONG r2 = card_reconnect(c, SCARD_LEAVE_CARD);
        if (r2 == SCARD_E_NO_SMARTCARD || r2 == SCARD_W_REMOVED_CARD)
            c->dead = true;
        return APDU_ERR_CARD_RESET;
    }
    if (rv == SCARD_W_REMOVED_CARD || rv == SCARD_E_NO_SMARTCARD) {
        if (!c->dead)
            c->gen++;
        c->dead = true;
        return APDU_ERR_NO_CARD;
    }
    return apdu_pcsc_status(rv);
}

/* The reader's state without waiting, through the card's own context. */
static apdu_status reader_state(pcsc_card *c, DWORD *state)
{
    SCARD_READERSTATE rs;
    memset(&rs, 0, sizeof(rs));
    rs.szReader = c->reader;
    rs.dwCurrentState = SCARD_STATE_UNAWARE;
    LONG rv = SCardGetStatusChange(c->h, 0, &rs, 1);
    if (rv != SCARD_S_SUCCESS)
        return apdu_pcsc_status(rv);
    /* The high word counts insertions and removals in this reader. */
    unsigned long events = rs.dwEventState >> 16;
    if (events != c->events) {
        c->events = events;
        c->gen++;
    }
    *state = rs.dwEventState;
    return APDU_OK;
}

static apdu_status pc_transmit(apdu_transport *t, const uint8_t *capdu, size_t clen, uint8_t *rapdu,
                               size_t *rlen)
{
    pcsc_card *c = t->ctx;
    if (c->dead)
        return APDU_ERR_NO_CARD;
    const SCARD_IO_REQUEST *pci = c->proto == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0;
    DWORD rl = *rlen > MAX_BUFFER_SIZE_EXTENDED ? MAX_BUFFER_SIZE_EXTENDED : (DWORD)*rlen;
    LONG rv = SCardTransmit(c->card, pci, capdu, (DWORD)clen, NULL, rapdu, &rl);
    if (rv != SCARD_S_SUCCESS)
        return card_error(c, rv);
    *rlen = rl;
    return APDU_OK;
}

static apdu_status card_atr(pcsc_card *c, uint8_t *atr, size_t *len)
{
    BYTE buf[MAX_ATR_SIZE];
    DWORD alen = sizeof(buf), state, proto;
    LONG rv = SCardStatus(c->card, NULL, NULL, &state, &proto, buf, &alen);
    if (rv != SCARD_S_SUCCESS)
        return card_error(c, rv);
    if (alen > *len)
        return APDU_ERR_BUFFER;
    memcpy(atr, buf, alen);
    *len = alen;
    return APDU_OK;
}

static apdu_status pc_get_atr(apdu_transport *t, uint8_t *atr, size_t *len)
{
    pcsc_card *c = t->ctx;
    if (c->dead)
        return APDU_ERR_NO_CARD;
    return card_atr(c, atr, len);
}

static apdu_status pc_reset(apdu_transport *t, bool cold, uint8_t *atr, size_t *len)
{
    pcsc_card *c = t->ctx;
    /* pcscd takes a failed power-up in an empty reader for a mute card: ask first. */
    DWORD state = 0;
    apdu_status st = reader_state(c, &state);
    if (st != APDU_OK)
        return st;
    if (!(state & SCARD_STATE_PRESENT))
        return card_error(c, SCARD_E_NO_SMARTCARD);
    LONG rv = card_reconnect(c, cold ? SCARD_UNPOWER_CARD : SCARD_RESET_CARD);
    if (rv != SCARD_S_SUCCESS)
        return card_error(c, rv);
    /* Either way the card lost its session state, and a dead handle now has a card. */
    c->dead = false;
    c->gen++;
    return card_atr(c, atr, len);
}

/* What pcscd knows of our handle, in one round trip (SCardGetStatusChange takes three):
 * pcsc-lite flags every handle of a reader when its card is removed or reset, so a card
 * pulled and pushed back, or reset by another process, shows here even when the reader
 * looks the same as before. A reset re-attaches the handle and moves the generation;
 * the card is still there. */
static apdu_status handle_status(pcsc_card *c)
{
    if (c->dead)
        return APDU_ERR_NO_CARD;
    /* Inside our transaction nobody resets the card, and the begin that took it
     * reported any earlier removal or reset: nothing to ask (a card pulled now shows at
     * the next transmit). */
    if (c->txn > 0)
        return APDU_OK;
    BYTE atr[MAX_ATR_SIZE];
    DWORD alen = sizeof(atr), state, proto;
    LONG rv = SCardStatus(c->card, NULL, NULL, &state, &proto, atr, &alen);
    if (rv == SCARD_S_SUCCESS)
        return APDU_OK;
    apdu_status st = card_error(c, rv);
    return st == APDU_ERR_CARD_RESET && !c->dead ? APDU_OK : st;
}

static apdu_status pc_present(apdu_transport *t)
{
    return handle_status(t->ctx);
}

static apdu_status pc_begin(apdu_transport *t)
{
    pcsc_card *c = t->ctx;
    if (c->dead)
        return APDU_ERR_NO_CARD;
    LONG rv = SCardBeginTransaction(c->card);
    if (rv != SCARD_S_SUCCESS)
        return card_error(c, rv);
    c->txn++;
    return APDU_OK;
}

static apdu_status pc_end(apdu_transport *t)
{
    pcsc_card *c = t->ctx;
    if (c->dead)
        return APDU_ERR_NO_CARD;
    if (c->txn > 0)
        c->txn--;
    LONG rv = SCardEndTransaction(c->card, SCARD_LEAVE_CARD);
    return rv == SCARD_S_SUCCESS ? APDU_OK : card_error(c, rv);
}

static uint64_t pc_generation(apdu_transport *t)
{
    pcsc_card *c = t->ctx;
    (void)handle_status(c); /* a removal or a reset moves c->gen */
    return c->gen;
}

static void pc_close(apdu_transport *t)
{
    pcsc_card *c = t->ctx;
    if (c == NULL)
        return;
    if (c->card != 0)
        SCardDisconnect(c->card, SCARD_LEAVE_CARD);
    SCardReleaseContext(c->h);
    free(c->reader);
    free(c);
    t->ctx = NULL;
}

static const struct apdu_transport_ops pcsc_ops = {
    .transmit = pc_transmit,
    .get_atr = pc_get_atr,
    .reset = pc_reset,
    .present = pc_present,
    .begin = pc_begin,
    .end = pc_end,
    .generation = pc_generation,
    .close = pc_close,
};

apdu_status apdu_pcsc_connect(apdu_pcsc *ctx, const char *reader, apdu_transport **out)
{
    if (ctx == NULL || reader == NULL || out == NULL)
        return APDU_ERR_ARGS;
    *out = NULL;
    apdu_status st;
    apdu_transport *t = calloc(1, sizeof(*t));
    pcsc_card *c = calloc(1, sizeof(*c));
    bool have_ctx = false;
    if (t == NULL || c == NULL || (c->reader = strdup(reader)) == NULL) {
        st = APDU_ERR_NOMEM;
        goto out;
    }
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &c->h);
    if (rv != SCARD_S_SUCCESS) {
        st = apdu_pcsc_status(rv);
        goto out;
    }
    have_ctx = true;
    rv = card_connect(c);
    if (rv != SCARD_S_SUCCESS) {
        c->card = 0;
        st = apdu_pcsc_status(rv);
        goto out;
    }
    DWORD state = 0;
    st = reader_state(c, &state); /* the baseline event counter */
    if (st != APDU_OK)
        goto out;

    uint8_t atr_bytes[APDU_ATR_MAX_LEN];
    size_t alen = sizeof(atr_bytes);
    apdu_atr atr;
    st = card_atr(c, atr_bytes, &alen);
    if (st != APDU_OK)
        goto out;
    t->ops = &pcsc_ops;
    t->ctx = c;
    t->max_short_nc = APDU_MAX_SHORT_NC;
    t->extended =
        apdu_atr_parse(atr_bytes, alen, &atr) == APDU_OK && apdu_atr_extended_length(&atr);
    c->gen = 1; /* 0 means "cannot tell" */
    *out = t;
    return APDU_OK;
out:
    if (c != NULL) {
        if (c->card != 0)
            SCardDisconnect(c->card, SCARD_LEAVE_CARD);
        if (have_ctx)
            SCardReleaseContext(c->h);
        free(c->reader);
    }
    free(c);
    free(t);
    return st;
}

/* ---- waiting for events ----------------------------------------------------- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

apdu_status apdu_pcsc_wait(apdu_pcsc *ctx, apdu_reader_state *states, size_t n, long timeout_ms,
                           bool watch_new_readers)
{
    if (ctx == NULL || (n > 0 && states == NULL) || (n == 0 && !watch_new_readers) ||
        n + (watch_new_readers ? 1 : 0) > MAX_WAIT_READERS)
        return APDU_ERR_ARGS;
    SCARD_READERSTATE rs[MAX_WAIT_READERS];
    memset(rs, 0, sizeof(rs));
    for (size_t i = 0; i < n; i++) {
        if (states[i].reader == NULL)
            return APDU_ERR_ARGS;
        rs[i].szReader = states[i].reader;
        rs[i].dwCurrentState = states[i].known;
    }
    DWORD count = (DWORD)n;
    size_t nreaders = 0;
    apdu_status st;
    if (watch_new_readers) {
        /* pcscd reports reader arrivals only while a call is blocked; between our
         * slices the reader count tells instead. */
        rs[count].szReader = PNP_READER;
        rs[count].dwCurrentState = SCARD_STATE_UNAWARE;
        count++;
        st = count_readers(ctx->h, &nreaders);
        if (st != APDU_OK)
            return st;
    }
    long long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
    for (;;) {
        if (atomic_exchange(&ctx->cancel, false))
            return APDU_ERR_CANCELLED;
        DWORD slice = WAIT_SLICE_MS;
        if (timeout_ms == 0) {
            slice = 0;
        } else if (timeout_ms > 0) {
            long long left = deadline - now_ms();
            if (left < 0)
                left = 0;
            if (left < (long long)slice)
                slice = (DWORD)left;
        }
        LONG rv = SCardGetStatusChange(ctx->h, slice, rs, count);
        if (rv == SCARD_E_CANCELLED) {
            atomic_store(&ctx->cancel, false);
            return APDU_ERR_CANCELLED;
        }
        if (rv == SCARD_S_SUCCESS)
            break;
        if (rv != SCARD_E_TIMEOUT)
            return apdu_pcsc_status(rv);
        if (watch_new_readers) {
            size_t now_readers;
            st = count_readers(ctx->h, &now_readers);
            if (st != APDU_OK)
                return st;
            if (now_readers != nreaders)
                break;
        }
        if (timeout_ms == 0 || (timeout_ms > 0 && now_ms() >= deadline))
            return APDU_ERR_TIMEOUT;
    }
    for (size_t i = 0; i < n; i++) {
        DWORD ev = rs[i].dwEventState;
        states[i].current = ev & ~(DWORD)SCARD_STATE_CHANGED;
        states[i].changed = (ev & SCARD_STATE_CHANGED) != 0;
        states[i].present = (ev & SCARD_STATE_PRESENT) != 0;
        size_t alen = rs[i].cbAtr <= sizeof(states[i].atr) ? rs[i].cbAtr : 0;
        memcpy(states[i].atr, rs[i].rgbAtr, alen);
        states[i].atr_len = states[i].present ? alen : 0;
    }
    return APDU_OK;
}

apdu_status apdu_pcsc_cancel(apdu_pcsc *ctx)
{
    if (ctx == NULL)
        return APDU_ERR_ARGS;
    atomic_store(&ctx->cancel, true);
    LONG rv = SCardCancel(ctx->h);
    return apdu_pcsc_status(rv);
}
