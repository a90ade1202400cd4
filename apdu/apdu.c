/* Command and response APDU codec (ISO/IEC 7816-3 12.1 and 7816-4 5.1): cases 1-4 in
 * short and extended form, with one distinct status per malformed shape, plus the
 * names and sentences of every apdu_status. */
#include "apdu.h"

#include <string.h>

static const struct {
    const char *name;
    const char *text;
} status_info[APDU_STATUS_COUNT] = {
    [APDU_OK] = {"APDU_OK", "success"},
    [APDU_ERR_ARGS] = {"APDU_ERR_ARGS", "invalid argument"},
    [APDU_ERR_BUFFER] = {"APDU_ERR_BUFFER", "output buffer too small"},
    [APDU_ERR_NOMEM] = {"APDU_ERR_NOMEM", "out of memory"},
    [APDU_ERR_HEADER_SHORT] = {"APDU_ERR_HEADER_SHORT",
                               "command APDU shorter than its 4-byte header"},
    [APDU_ERR_CLA_INVALID] = {"APDU_ERR_CLA_INVALID", "CLA FF is reserved for PPS"},
    [APDU_ERR_LC_ZERO] = {"APDU_ERR_LC_ZERO", "short Lc of 00"},
    [APDU_ERR_LC_MISMATCH] = {"APDU_ERR_LC_MISMATCH",
                              "short Lc does not match the length of the data field"},
    [APDU_ERR_EXT_LC_ZERO] = {"APDU_ERR_EXT_LC_ZERO", "extended Lc of 0000"},
    [APDU_ERR_EXT_TRUNCATED] = {"APDU_ERR_EXT_TRUNCATED", "extended length field cut short"},
    [APDU_ERR_EXT_LC_MISMATCH] = {"APDU_ERR_EXT_LC_MISMATCH",
                                  "extended Lc does not match the length of the data field"},
    [APDU_ERR_EXT_LE_SHORT] = {"APDU_ERR_EXT_LE_SHORT", "extended Lc followed by a one-byte Le"},
    [APDU_ERR_TRAILING] = {"APDU_ERR_TRAILING", "bytes left over after Le"},
    [APDU_ERR_NC_TOO_LONG] = {"APDU_ERR_NC_TOO_LONG", "Nc above 65535"},
    [APDU_ERR_NE_TOO_LONG] = {"APDU_ERR_NE_TOO_LONG", "Ne above 65536"},
    [APDU_ERR_NEEDS_EXTENDED] = {"APDU_ERR_NEEDS_EXTENDED",
                                 "command needs extended length, which is not available"},
    [APDU_ERR_RESP_SHORT] = {"APDU_ERR_RESP_SHORT", "response shorter than SW1 SW2"},
    [APDU_ERR_TLV_TRUNCATED] = {"APDU_ERR_TLV_TRUNCATED",
                                "TLV tag, length or value runs past the end"},
    [APDU_ERR_TLV_TAG_TOO_LONG] = {"APDU_ERR_TLV_TAG_TOO_LONG", "TLV tag longer than 4 bytes"},
    [APDU_ERR_TLV_TAG_INVALID] = {"APDU_ERR_TLV_TAG_INVALID", "invalid TLV tag"},
    [APDU_ERR_TLV_LEN_INVALID] = {"APDU_ERR_TLV_LEN_INVALID", "indefinite or reserved TLV length"},
    [APDU_ERR_TLV_LEN_TOO_LONG] = {"APDU_ERR_TLV_LEN_TOO_LONG", "TLV length too large"},
    [APDU_ERR_TLV_LEN_NONMINIMAL] = {"APDU_ERR_TLV_LEN_NONMINIMAL",
                                     "TLV length not in its shortest form"},
    [APDU_ERR_TLV_DEPTH] = {"APDU_ERR_TLV_DEPTH", "TLV nesting too deep"},
    [APDU_ERR_TLV_NOT_FOUND] = {"APDU_ERR_TLV_NOT_FOUND", "TLV tag not found"},
    [APDU_ERR_TLV_UNBALANCED] = {"APDU_ERR_TLV_UNBALANCED", "TLV builder open/close not balanced"},
    [APDU_ERR_TLV_END] = {"APDU_ERR_TLV_END", "no more TLV elements"},
    [APDU_ERR_ATR_SHORT] = {"APDU_ERR_ATR_SHORT", "ATR shorter than its format byte announces"},
    [APDU_ERR_ATR_TS] = {"APDU_ERR_ATR_TS", "ATR TS is neither 3B nor 3F"},
    [APDU_ERR_ATR_TOO_LONG] = {"APDU_ERR_ATR_TOO_LONG", "ATR too long or bytes after TCK"},
    [APDU_ERR_ATR_TCK_MISSING] = {"APDU_ERR_ATR_TCK_MISSING",
                                  "ATR offers a protocol other than T=0 but has no TCK"},
    [APDU_ERR_ATR_TCK] = {"APDU_ERR_ATR_TCK", "ATR check byte TCK is wrong"},
    [APDU_ERR_ATR_LEVELS] = {"APDU_ERR_ATR_LEVELS", "ATR has too many interface byte groups"},
    [APDU_ERR_NO_CARD] = {"APDU_ERR_NO_CARD", "no card in the reader"},
    [APDU_ERR_CARD_RESET] = {"APDU_ERR_CARD_RESET", "card was reset"},
    [APDU_ERR_IO] = {"APDU_ERR_IO", "transport input/output error"},
    [APDU_ERR_TIMEOUT] = {"APDU_ERR_TIMEOUT", "timed out"},
    [APDU_ERR_CANCELLED] = {"APDU_ERR_CANCELLED", "cancelled"},
    [APDU_ERR_NO_READER] = {"APDU_ERR_NO_READER", "reader not found"},
    [APDU_ERR_PROTOCOL] = {"APDU_ERR_PROTOCOL", "card response cannot be followed"},
};

const char *apdu_status_name(apdu_status st)
{
    if ((unsigned)st >= APDU_STATUS_COUNT || status_info[st].name == NULL)
        return "APDU_STATUS_UNKNOWN";
    return status_info[st].name;
}

const char *apdu_strerror(apdu_status st)
{
    if ((unsigned)st >= APDU_STATUS_COUNT || status_info[st].text == NULL)
        return "unknown status";
    return status_info[st].text;
}

apdu_case apdu_cmd_case(const apdu_cmd *cmd)
{
    if (cmd->nc == 0)
        return cmd->ne == 0 ? APDU_CASE_1 : APDU_CASE_2;
    return cmd->ne == 0 ? APDU_CASE_3 : APDU_CASE_4;
}

/* The body is everything after the header; ISO/IEC 7816-3 Table 13 tells the cases
 * apart by its length L and its first byte B1 alone. */
apdu_status apdu_decode(const uint8_t *buf, size_t len, apdu_cmd *out)
{
    if (buf == NULL || out == NULL)
        return APDU_ERR_ARGS;
    if (len < 4)
        return APDU_ERR_HEADER_SHORT;
    if (buf[0] == 0xff)
        return APDU_ERR_CLA_INVALID;

    apdu_cmd c = {buf[0], buf[1], buf[2], buf[3], NULL, 0, 0, false};
    const uint8_t *b = buf + 4;
    size_t l = len - 4;

    if (l == 0)
        goto done; /* case 1 */
    if (l == 1) {
        c.ne = b[0] ? b[0] : 256; /* case 2S */
        goto done;
    }
    if (b[0] != 0) {
        size_t lc = b[0];
        if (l - 1 < lc)
            return APDU_ERR_LC_MISMATCH;
        if (l - 1 > lc + 1)
            return APDU_ERR_TRAILING;
        c.nc = lc;
        c.data = b + 1;
        if (l - 1 == lc + 1) /* case 4S */
            c.ne = b[1 + lc] ? b[1 + lc] : 256;
        goto done;
    }
    /* B1 = 00 and more bytes follow. Two bytes fit no case: Table 13 reads them as
     * case 4S with an Lc of 00 (an encoder that wrote an empty data field). */
    if (l == 2)
        return APDU_ERR_LC_ZERO;
    c.extended = true;
    size_t n = (size_t)b[1] << 8 | b[2];
    if (l == 3) {
        c.ne = n ? n : 65536; /* case 2E */
        goto done;
    }
    if (n == 0)
        return APDU_ERR_EXT_LC_ZERO;
    if (l - 3 < n)
        return APDU_ERR_EXT_LC_MISMATCH;
    c.nc = n;
    c.data = b + 3;
    if (l - 3 == n)
        goto done; /* case 3E */
    if (l - 3 == n + 1)
        return APDU_ERR_EXT_LE_SHORT;
    if (l - 3 > n + 2)
        return APDU_ERR_TRAILING;
    size_t le = (size_t)b[3 + n] << 8 | b[4 + n]; /* case 4E */
    c.ne = le ? le : 65536;
done:
    *out = c;
    return APDU_OK;
}

static apdu_status check_encodable(const apdu_cmd *cmd, bool *ext)
{
    if (cmd == NULL || (cmd->nc > 0 && cmd->data == NULL))
        return APDU_ERR_ARGS;
    if (cmd->cla == 0xff)
        return APDU_ERR_CLA_INVALID;
    if (cmd->nc > APDU_MAX_NC)
        return APDU_ERR_NC_TOO_LONG;
    if (cmd->ne > APDU_MAX_NE)
        return APDU_ERR_NE_TOO_LONG;
    /* Case 1 has no length fields, so it has no extended form either. */
    *ext = (cmd->nc > 0 || cmd->ne > 0) &&
           (cmd->extended || cmd->nc > APDU_MAX_SHORT_NC || cmd->ne > APDU_MAX_SHORT_NE);
    return APDU_OK;
}

static size_t encoded_len(const apdu_cmd *cmd, bool ext)
{
    size_t n = 4;
    if (cmd->nc > 0)
        n += (ext ? 3 : 1) + cmd->nc;
    if (cmd->ne > 0)
        n += ext ? (cmd->nc > 0 ? 2 : 3) : 1;
    return n;
}

size_t apdu_encoded_len(const apdu_cmd *cmd)
{
    bool ext;
    if (check_encodable(cmd, &ext) != APDU_OK)
        return 0;
    return encoded_len(cmd, ext);
}

apdu_status apdu_encode(const apdu_cmd *cmd, uint8_t *out, size_t cap, size_t *outlen)
{
    bool ext;
    apdu_status st = check_encodable(cmd, &ext);
    if (st != APDU_OK)
        return st;
    if (out == NULL || outlen == NULL)
        return APDU_ERR_ARGS;
    size_t need = encoded_len(cmd, ext);
    if (cap < need)
        return APDU_ERR_BUFFER;

    uint8_t *p = out;
    *p++ = cmd->cla;
    *p++ = cmd->ins;
    *p++ = cmd->p1;
    *p++ = cmd->p2;
    if (cmd->nc > 0) {
        if (ext) {
            *p++ = 0;
            *p++ = (uint8_t)(cmd->nc >> 8);
        }
        *p++ = (uint8_t)cmd->nc;
        memcpy(p, cmd->data, cmd->nc);
        p += cmd->nc;
    }
    if (cmd->ne > 0) {
        /* Ne 256 / 65536 encode as 00 / 0000: the uint8_t casts drop the carry. */
        if (ext) {
            if (cmd->nc == 0)
                *p++ = 0;
            *p++ = (uint8_t)(cmd->ne >> 8);
        }
        *p++ = (uint8_t)cmd->ne;
    }
    *outlen = (size_t)(p - out);
    return APDU_OK;
}

apdu_status apdu_resp_parse(const uint8_t *buf, size_t len, apdu_resp *out)
{
    if (buf == NULL || out == NULL)
        return APDU_ERR_ARGS;
    if (len < 2)
        return APDU_ERR_RESP_SHORT;
    out->data = buf;
    out->len = len - 2;
    out->sw = (uint16_t)(buf[len - 2] << 8 | buf[len - 1]);
    return APDU_OK;
}

apdu_status apdu_resp_encode(const uint8_t *data, size_t len, uint16_t sw, uint8_t *out, size_t cap,
                             size_t *outlen)
{
    if (out == NULL || outlen == NULL || (len > 0 && data == NULL))
        return APDU_ERR_ARGS;
    if (len > APDU_MAX_NE)
        return APDU_ERR_NE_TOO_LONG;
    if (cap < len + 2)
        return APDU_ERR_BUFFER;
    if (len > 0)
        memmove(out, data, len);
    out[len] = (uint8_t)(sw >> 8);
    out[len + 1] = (uint8_t)sw;
    *outlen = len + 2;
    return APDU_OK;
}

/* VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER, with their odd (BER-TLV data)
 * variants 21, 25 and 2D, which carry the same secrets wrapped in a data object. */
bool apdu_ins_is_sensitive(uint8_t ins)
{
    switch (ins) {
    case 0x20:
    case 0x21:
    case 0x24:
    case 0x25:
    case 0x2c:
    case 0x2d:
        return true;
    default:
        return false;
    }
}
