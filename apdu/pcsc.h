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

/* Connect shared to a card in reader, T=1 preferred over T=0. The transport keeps a
 * reference to ctx, which must outlive it. */
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
 * "\\?PnP?\Notification" reader is added so reader arrival also wakes the wait. */
apdu_status apdu_pcsc_wait(apdu_pcsc *ctx, apdu_reader_state *states, size_t n, long timeout_ms,
                           bool watch_new_readers);
apdu_status apdu_pcsc_cancel(apdu_pcsc *ctx);

#endif
