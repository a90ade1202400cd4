/* PC/SC transport over pcsc-lite: list readers, connect (T=1 preferred), transmit,
 * card status, and reader events through SCardGetStatusChange. */
#ifndef APDU_PCSC_H
#define APDU_PCSC_H

#include "transport.h"

typedef struct apdu_pcsc apdu_pcsc; /* one SCARDCONTEXT */

apdu_status apdu_pcsc_open_context(apdu_pcsc **out);
void apdu_pcsc_close_context(apdu_pcsc *ctx);

/* Reader names as a NULL-terminated array; free with apdu_pcsc_free_list().
 * No readers is APDU_OK with an empty list. */
apdu_status apdu_pcsc_list_readers(apdu_pcsc *ctx, char ***names);
void apdu_pcsc_free_list(char **names);

/* Connect shared to a card in reader, T=1 preferred over T=0. The transport opens a
 * PC/SC context of its own (pcsc-lite locks a context for the whole of a wait, so a
 * transport on ctx would stall while another thread waits on ctx); ctx is only used
 * here and may be closed before the transport. t->extended follows the ATR's card
 * capabilities. Errors: APDU_ERR_NO_READER, APDU_ERR_NO_CARD, APDU_ERR_PROTOCOL...
 *
 * The transport's operations: a reset by someone else is APDU_ERR_CARD_RESET once
 * (the handle is re-attached, the next call works); a removed card is
 * APDU_ERR_NO_CARD until apdu_reset() reconnects to whatever card is in the reader
 * then. present() tells whether the reader holds a card (maybe another one).
 * generation() starts at 1 and moves on every reset or removal seen through this
 * handle and whenever the reader's insertion/removal counter moves. */
apdu_status apdu_pcsc_connect(apdu_pcsc *ctx, const char *reader, apdu_transport **out);

/* Reader state as seen by SCardGetStatusChange. */
typedef struct apdu_reader_state {
    const char *reader;     /* in: name */
    unsigned long known;    /* in: the state the caller last saw (0 = unaware) */
    unsigned long current;  /* out: SCARD_STATE_* bits; event count in the high word */
    bool present;           /* out: a card is in the reader */
    bool changed;           /* out: current differs from known */
    uint8_t atr[33];
    size_t atr_len;
} apdu_reader_state;

/* Wait until one of the readers changes state, or timeout_ms passes (0 = poll,
 * negative = forever). Returns APDU_ERR_TIMEOUT on timeout and APDU_ERR_CANCELLED
 * after apdu_pcsc_cancel() from another thread. With watch_new_readers the special
 * "\\?PnP?\Notification" reader is added so reader arrival also wakes the wait:
 * the call then returns APDU_OK with no state marked changed; list the readers again.
 * n may be 0 when watch_new_readers is set; n + watch_new_readers is at most 16.
 * A reader name pcscd does not know is APDU_ERR_NO_READER. On APDU_OK current,
 * present, changed and atr are filled in (current without SCARD_STATE_CHANGED). */
apdu_status apdu_pcsc_wait(apdu_pcsc *ctx, apdu_reader_state *states, size_t n, long timeout_ms,
                           bool watch_new_readers);
/* Wakes a wait on ctx from another thread. A cancel that arrives while no wait is
 * blocked is kept: the next wait on ctx returns APDU_ERR_CANCELLED at once. */
apdu_status apdu_pcsc_cancel(apdu_pcsc *ctx);

/* The apdu_status for a PC/SC return code (LONG SCARD_S_SUCCESS, SCARD_E_*, SCARD_W_*). */
apdu_status apdu_pcsc_status(long scard_rv);

#endif
