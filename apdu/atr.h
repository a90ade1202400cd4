/* Answer-to-Reset (ISO/IEC 7816-3): parse TS, T0, the TA/TB/TC/TD chains, offered
 * protocols, historical bytes and TCK; build an ATR from the same structure. */
#ifndef APDU_ATR_H
#define APDU_ATR_H

#include "apdu.h"

#define APDU_ATR_MAX_LEN 33
#define APDU_ATR_MAX_LEVELS 8 /* interface byte groups i = 1..8 */
#define APDU_ATR_MAX_HIST 15

typedef struct apdu_atr_level {
    bool has_ta, has_tb, has_tc, has_td;
    uint8_t ta, tb, tc, td;
} apdu_atr_level;

typedef struct apdu_atr {
    uint8_t ts;     /* 3B direct, 3F inverse convention */
    uint8_t t0;     /* Y1 and K; recomputed by the builder */
    apdu_atr_level level[APDU_ATR_MAX_LEVELS]; /* level[0] holds TA1 TB1 TC1 TD1 */
    size_t nlevels; /* groups present */
    uint8_t hist[APDU_ATR_MAX_HIST];
    size_t hist_len;
    bool has_tck;
    uint8_t tck;
    /* Derived by the parser: */
    uint16_t protocols;   /* bit n set when T=n is indicated (T=0 when no TD1) */
    int first_protocol;   /* T of TD1, or 0 */
    bool tck_valid;       /* XOR of T0..TCK is zero */
    uint16_t fi, di;      /* from TA1 (defaults 372 / 1) */
    uint16_t ifsc;        /* first TA for T=1 (i>2), default 32 */
} apdu_atr;

/* Parse len bytes. An ATR that offers anything but T=0 must carry a valid TCK; a
 * T=0-only ATR may carry one (then it must check too). level[0..nlevels-1] are the
 * groups announced by T0 and each TDi, so an ATR with TD1 has nlevels >= 2 even when
 * group 2 is empty. tck_valid is false when there is no TCK. fi/di are 0 for RFU. */
apdu_status apdu_atr_parse(const uint8_t *buf, size_t len, apdu_atr *out);

/* Build from atr->ts, level[] (nlevels), hist[]; T0 and each TDi's presence bits are
 * computed from the has_* flags, and TCK is appended when a protocol other than T=0
 * is indicated (or has_tck is set). atr->t0's low nibble and TD high nibbles are
 * ignored on input. Groups but the last need has_td (else APDU_ERR_ARGS); a TD in
 * group 8 is APDU_ERR_ATR_LEVELS, more than 33 bytes APDU_ERR_ATR_TOO_LONG. */
apdu_status apdu_atr_build(const apdu_atr *atr, uint8_t *out, size_t cap, size_t *outlen);

/* "T=1" / "T=0, T=1" and the like (T=15 is not listed: it only marks global interface
 * bytes). Always NUL-terminated when cap > 0; returns the length it would have written. */
int apdu_atr_protocols_str(const apdu_atr *atr, char *out, size_t cap);

/* True when the historical bytes (category 00 or 80, COMPACT-TLV) carry card
 * capabilities (tag 7) whose third byte announces extended Lc and Le (b7,
 * ISO/IEC 7816-4 "card capabilities", third software function table). */
bool apdu_atr_extended_length(const apdu_atr *atr);

#endif
