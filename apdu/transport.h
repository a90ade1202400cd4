/* The transport interface: how a host talks to a card, whether the card lives in this
 * process (applet-sim's in-process transport) or behind pcscd (apdu/pcsc.c).
 * Also the exchange helper that handles command chaining, 61xx and 6Cxx. */
#ifndef APDU_TRANSPORT_H
#define APDU_TRANSPORT_H

#include "apdu.h"
#include "vt_util.h"

typedef struct apdu_transport apdu_transport;

/* Direction for trace hooks. */
typedef enum apdu_dir { APDU_DIR_COMMAND, APDU_DIR_RESPONSE } apdu_dir;

/* Called for every raw APDU that crosses the transport. When sensitive is true the
 * hook must not print the data field (PIN, key material): the exchange helper sets it
 * for apdu_ins_is_sensitive() instructions and when the caller asks. */
typedef void (*apdu_trace_fn)(void *arg, apdu_dir dir, const uint8_t *buf, size_t len,
                              bool sensitive);

/* transmit, get_atr and reset are required (the wrappers return APDU_ERR_ARGS when
 * missing); present, begin, end and generation are optional. close releases ctx and
 * whatever the implementation owns, but not t itself: apdu_close() frees t, so
 * implementations allocate t on its own with malloc/calloc. */
struct apdu_transport_ops {
    /* Send one raw command APDU, receive the raw response (data||SW) into rapdu.
     * *rlen is the capacity on entry and the length on return. */
    apdu_status (*transmit)(apdu_transport *t, const uint8_t *capdu, size_t clen,
                            uint8_t *rapdu, size_t *rlen);
    apdu_status (*get_atr)(apdu_transport *t, uint8_t *atr, size_t *len);
    /* Warm reset (cold = false) or power cycle (cold = true); returns the new ATR. */
    apdu_status (*reset)(apdu_transport *t, bool cold, uint8_t *atr, size_t *len);
    /* APDU_OK while the card this transport is connected to is still there (a PC/SC
     * handle: pcscd's word on the handle, so a card pulled and pushed back counts as
     * gone until reset() reconnects), APDU_ERR_NO_CARD when not. NULL: always present. */
    apdu_status (*present)(apdu_transport *t);
    /* Exclusive access for a multi-APDU transaction (SCardBeginTransaction,
     * or the card image lock for the in-process card). Optional (NULL). Transactions
     * nest: only the outermost end releases. */
    apdu_status (*begin)(apdu_transport *t);
    apdu_status (*end)(apdu_transport *t);
    /* A transaction that writes nothing on the card (MSE SET then a private-key
     * operation, GET CHALLENGE): it must still keep other users from changing the card
     * between its APDUs, but others that only read may run alongside. The in-process
     * card holds its image lock shared until the private-key computation; PC/SC has
     * no such thing (NULL: begin is used). Ended with end. Optional. */
    apdu_status (*begin_shared)(apdu_transport *t);
    /* A counter that changes whenever the card's content may have changed under us
     * (another process wrote the in-process card's image; a PC/SC card was removed or
     * reset). Lets hosts cache what they read. Optional (NULL = unknown). */
    uint64_t (*generation)(apdu_transport *t);
    void (*close)(apdu_transport *t);
};

struct apdu_transport {
    const struct apdu_transport_ops *ops;
    void *ctx;               /* owned by the implementation */
    size_t max_short_nc;     /* chunk size for command chaining, normally 255 (0 = 255) */
    bool extended;           /* the card accepts extended-length APDUs */
    apdu_trace_fn trace;     /* optional */
    void *trace_arg;
};

/* One raw APDU, traced (sensitive when capdu[1] is apdu_ins_is_sensitive()). */
apdu_status apdu_transmit(apdu_transport *t, const uint8_t *capdu, size_t clen, uint8_t *rapdu,
                          size_t *rlen);
apdu_status apdu_get_atr(apdu_transport *t, uint8_t *atr, size_t *len);
apdu_status apdu_reset(apdu_transport *t, bool cold, uint8_t *atr, size_t *len);
apdu_status apdu_present(apdu_transport *t);
apdu_status apdu_begin(apdu_transport *t);
apdu_status apdu_begin_shared(apdu_transport *t); /* begin when the transport has no shared kind */
apdu_status apdu_end(apdu_transport *t);
/* 0 when the transport cannot tell. */
uint64_t apdu_generation(apdu_transport *t);
void apdu_close(apdu_transport *t); /* NULL-safe; frees t */

/* Exchange flags. */
#define APDU_X_SENSITIVE   0x01u /* redact the data field in traces */
#define APDU_X_NO_CHAINING 0x02u /* fail instead of chaining when Nc > max_short_nc */
#define APDU_X_NO_GET_RESP 0x04u /* return 61xx as is */

/* Send cmd and collect the complete response:
 * - Nc above the transport's short limit and no extended support: command chaining
 *   (CLA bit 0x10 on every part but the last, which alone carries Le; a part answered
 *   with anything but 9000 ends the chain and that SW is the result);
 * - no extended support and Ne > 256: sent as Le 00, the rest comes through 61xx;
 * - 61xx: GET RESPONSE (00 C0 00 00 xx, on the command's logical channel) until the
 *   card stops answering 61xx (at most 1024 times, then APDU_ERR_PROTOCOL);
 * - 6Cxx: re-issue the same command (the last part) once with Le = xx.
 * Every raw APDU goes through the trace hook, sensitive for APDU_X_SENSITIVE or an
 * apdu_ins_is_sensitive() INS (the GET RESPONSEs that follow included). Response data
 * is appended to resp (which may be NULL when none is expected: the data is then
 * dropped); *sw gets the final status word. Transport errors return non-APDU_OK,
 * and so does a response shorter than SW1 SW2 (APDU_ERR_PROTOCOL). */
apdu_status apdu_exchange(apdu_transport *t, const apdu_cmd *cmd, unsigned flags, vt_buf *resp,
                          uint16_t *sw);

/* Split cmd into chained short commands of at most chunk bytes each: the i-th part
 * (0-based) of n. Returns APDU_ERR_ARGS when i >= n. n = max(1, ceil(nc/chunk));
 * apdu_chain_count() is 0 for chunk 0. Parts but the last get CLA | 0x10 and no Le. */
size_t apdu_chain_count(const apdu_cmd *cmd, size_t chunk);
apdu_status apdu_chain_part(const apdu_cmd *cmd, size_t chunk, size_t i, apdu_cmd *part);

#endif
