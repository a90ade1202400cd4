/* ISO/IEC 7816-4 command and response APDUs: decoding, encoding, status words.
 * Pure code over caller-owned buffers; nothing here allocates except vt_buf users. */
#ifndef APDU_APDU_H
#define APDU_APDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every failure of this library has its own code, so tests and traces can tell
 * exactly which rule a malformed APDU broke. */
typedef enum apdu_status {
    APDU_OK = 0,
    APDU_ERR_ARGS,            /* NULL pointer or impossible argument */
    APDU_ERR_BUFFER,          /* caller's output buffer too small */
    APDU_ERR_NOMEM,           /* allocation failed */
    /* command APDU decoding */
    APDU_ERR_HEADER_SHORT,    /* fewer than the 4 header bytes */
    APDU_ERR_CLA_INVALID,     /* CLA is FF (reserved for PPS) */
    APDU_ERR_LC_ZERO,         /* short form Lc of 00: a body of 00 plus one byte, which
                                 ISO 7816-3 Table 13 reads as case 4S with Lc 00 */
    APDU_ERR_LC_MISMATCH,     /* short Lc does not match the bytes that follow */
    APDU_ERR_EXT_LC_ZERO,     /* extended form Lc of 00 00 */
    APDU_ERR_EXT_TRUNCATED,   /* 00 extended marker without a complete length field.
                                 Not returned by apdu_decode(): the only such body,
                                 00 plus one byte, is APDU_ERR_LC_ZERO (see above) */
    APDU_ERR_EXT_LC_MISMATCH, /* extended Lc does not match the bytes that follow */
    APDU_ERR_EXT_LE_SHORT,    /* extended Lc followed by a one-byte (short) Le */
    APDU_ERR_TRAILING,        /* bytes left over after a complete Le */
    /* command APDU encoding */
    APDU_ERR_NC_TOO_LONG,     /* Nc above 65535 */
    APDU_ERR_NE_TOO_LONG,     /* Ne above 65536 */
    APDU_ERR_NEEDS_EXTENDED,  /* short form requested but Nc > 255 or Ne > 256
                                 (apdu_exchange() with APDU_X_NO_CHAINING) */
    /* response APDU */
    APDU_ERR_RESP_SHORT,      /* response shorter than SW1 SW2 */
    /* BER-TLV and COMPACT-TLV */
    APDU_ERR_TLV_TRUNCATED,   /* tag, length or value runs past the end */
    APDU_ERR_TLV_TAG_TOO_LONG,/* tag longer than 4 bytes */
    APDU_ERR_TLV_TAG_INVALID, /* first subsequent tag byte 00 or 80, or 00/FF padding */
    APDU_ERR_TLV_LEN_INVALID, /* indefinite length (80) or reserved 85..FF */
    APDU_ERR_TLV_LEN_TOO_LONG,/* length field over 4 bytes or value over SIZE_MAX */
    APDU_ERR_TLV_LEN_NONMINIMAL, /* long form used where short form fits (DER check) */
    APDU_ERR_TLV_DEPTH,       /* nesting deeper than the caller's limit */
    APDU_ERR_TLV_NOT_FOUND,   /* requested tag absent */
    APDU_ERR_TLV_UNBALANCED,  /* builder: close without open, or finish with open */
    APDU_ERR_TLV_END,         /* iterator: no more elements (not an error) */
    /* ATR */
    APDU_ERR_ATR_SHORT,       /* fewer bytes than T0 and the interface bytes announce */
    APDU_ERR_ATR_TS,          /* TS neither 3B (direct) nor 3F (inverse) */
    APDU_ERR_ATR_TOO_LONG,    /* more than 33 bytes, or trailing bytes after TCK */
    APDU_ERR_ATR_TCK_MISSING, /* T=1/T=15 offered but no TCK */
    APDU_ERR_ATR_TCK,         /* TCK present but the XOR check fails */
    APDU_ERR_ATR_LEVELS,      /* more TDi levels than we keep */
    /* transports */
    APDU_ERR_NO_CARD,         /* reader empty, or card removed */
    APDU_ERR_CARD_RESET,      /* card was reset by someone else; session state lost */
    APDU_ERR_IO,              /* transport failure (socket, pcscd) */
    APDU_ERR_TIMEOUT,         /* wait expired */
    APDU_ERR_CANCELLED,       /* a blocking wait was cancelled */
    APDU_ERR_NO_READER,       /* reader name unknown */
    APDU_ERR_PROTOCOL,        /* card answered something the exchange helper cannot follow */
    APDU_STATUS_COUNT
} apdu_status;

/* Stable identifier such as "APDU_ERR_LC_ZERO" and a sentence for people. */
const char *apdu_status_name(apdu_status st);
const char *apdu_strerror(apdu_status st);

#define APDU_MAX_NC 65535u
#define APDU_MAX_NE 65536u
#define APDU_MAX_SHORT_NC 255u
#define APDU_MAX_SHORT_NE 256u
/* Largest encoded command: 4 header + 3 Lc + 65535 data + 2 Le. */
#define APDU_MAX_CAPDU (4u + 3u + APDU_MAX_NC + 2u)
/* Largest response: 65536 data + SW1 SW2. */
#define APDU_MAX_RAPDU (APDU_MAX_NE + 2u)

typedef enum apdu_case {
    APDU_CASE_1 = 1, /* header only */
    APDU_CASE_2 = 2, /* Le */
    APDU_CASE_3 = 3, /* Lc data */
    APDU_CASE_4 = 4, /* Lc data Le */
} apdu_case;

/* A command APDU. data points into the buffer it was decoded from (or the
 * caller's data when encoding); nothing is copied. ne == 0 means "no Le";
 * Le 00 decodes to ne 256 (short) or 65536 (extended). */
typedef struct apdu_cmd {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data;
    size_t nc;
    size_t ne;
    bool extended; /* decoded from / to be encoded in extended form */
} apdu_cmd;

apdu_case apdu_cmd_case(const apdu_cmd *cmd);

/* Decode one complete command APDU occupying exactly len bytes. out->extended is set
 * when the length fields were in extended form (never for case 1). */
apdu_status apdu_decode(const uint8_t *buf, size_t len, apdu_cmd *out);

/* Encode in short form unless cmd->extended is set or Nc/Ne need extended form
 * (case 1 has no length field, so no form either). CLA FF is APDU_ERR_CLA_INVALID,
 * so that whatever encodes also decodes. *outlen receives the encoded length. */
apdu_status apdu_encode(const apdu_cmd *cmd, uint8_t *out, size_t cap, size_t *outlen);
/* Encoded length, or 0 when the command cannot be encoded. */
size_t apdu_encoded_len(const apdu_cmd *cmd);

/* Convenience constructor for the common case. */
static inline apdu_cmd apdu_make(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
                                 const uint8_t *data, size_t nc, size_t ne)
{
    apdu_cmd c = {cla, ins, p1, p2, data, nc, ne, false};
    return c;
}

/* A response APDU: data followed by SW1 SW2. data points into the raw buffer. */
typedef struct apdu_resp {
    const uint8_t *data;
    size_t len;
    uint16_t sw;
} apdu_resp;

apdu_status apdu_resp_parse(const uint8_t *buf, size_t len, apdu_resp *out);
/* Write data||SW into out (data may overlap out). More than 65536 bytes of data is
 * APDU_ERR_NE_TOO_LONG. */
apdu_status apdu_resp_encode(const uint8_t *data, size_t len, uint16_t sw, uint8_t *out,
                             size_t cap, size_t *outlen);

/* True when an INS carries secrets in its data field (VERIFY, CHANGE REFERENCE
 * DATA, RESET RETRY COUNTER: 20, 24, 2C and their odd BER-TLV forms 21, 25, 2D):
 * traces must print only the header and Lc. */
bool apdu_ins_is_sensitive(uint8_t ins);
#endif
