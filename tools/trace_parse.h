/* Reading the module's trace (pkcs11/trace.c writes it; VTOKEN_TRACE=FILE): one line at a
 * time into what it is: a PKCS#11 call, an APDU sent or received, a free-form message, or
 * a line this reader does not understand (kept raw). Line format:
 *   2026-11-21T12:00:00.123Z 1234.1240 #17 C_Login(hSession=1 ...) = CKR_OK -> ... [2.7 ms]
 *   2026-11-21T12:00:00.121Z 1234.1240 #17   > 0020000208 [data redacted]
 *   2026-11-21T12:00:00.122Z 1234.1240 #17   < [0 bytes redacted] 9000
 * A call's APDU and message lines come before its own line; "#N" is per process. */
#ifndef VTOKEN_TRACE_PARSE_H
#define VTOKEN_TRACE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TR_APDU_MAX 1024u /* the trace cuts APDUs at 1024 bytes */

typedef enum tr_kind {
    TR_RAW,  /* not understood: text is the whole line */
    TR_CALL, /* a finished PKCS#11 call */
    TR_MSG,  /* a free-form message: text */
    TR_CMD,  /* a command APDU: apdu */
    TR_RESP, /* a response APDU: apdu (data || SW, or only SW when redacted) */
} tr_kind;

typedef struct tr_line {
    tr_kind kind;
    char time[25]; /* "2026-11-21T12:00:00.123Z" */
    long pid, tid;
    unsigned long call; /* 0: outside a call */
    const char *text;   /* TR_RAW, TR_MSG; points into the line */
    size_t text_len;
    /* TR_CALL; each points into the line */
    const char *fn, *args, *rv, *outs;
    size_t fn_len, args_len, rv_len, outs_len;
    double ms;
    bool has_ms;
    /* TR_CMD, TR_RESP */
    uint8_t apdu[TR_APDU_MAX];
    size_t apdu_len;
    bool redacted;  /* CMD: the data field was left out; RESP: the data was hidden */
    size_t hidden;  /* RESP: how many data bytes were hidden */
    bool truncated; /* the trace cut the APDU */
} tr_line;

/* Parse line (len bytes, no newline). Pointers in *out point into line. Never fails: a
 * line that does not match the format is TR_RAW. */
void tr_parse_line(const char *line, size_t len, tr_line *out);

#endif
