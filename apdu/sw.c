/* Status words for people: the ISO/IEC 7816-4 interindustry table (5.6, Table 6), the
 * families whose SW2 is a parameter (61xx, 63Cx, 6Cxx) and a fallback per SW1. */
#include "sw.h"

#include <stdio.h>

static const struct {
    uint16_t sw;
    const char *text;
} sw_table[] = {
    {0x9000, "success"},
    {0x6200, "warning: no information given, non-volatile memory unchanged"},
    {0x6281, "warning: part of the returned data may be corrupted"},
    {0x6282, "warning: end of file or record reached before reading Ne bytes"},
    {0x6283, "warning: selected file deactivated"},
    {0x6284, "warning: file control information not formatted according to ISO 7816-4"},
    {0x6285, "warning: selected file in termination state"},
    {0x6286, "warning: no input data available from a sensor on the card"},
    {0x6287, "warning: at least one of the referenced records is deactivated"},
    {0x6300, "warning: no information given, non-volatile memory changed"},
    {0x6381, "warning: file filled up by the last write"},
    {0x6400, "execution error: no information given, non-volatile memory unchanged"},
    {0x6401, "execution error: immediate response required by the card"},
    {0x6500, "execution error: no information given, non-volatile memory changed"},
    {0x6581, "memory failure"},
    {0x6600, "security-related issue"},
    {0x6700, "wrong length"},
    {0x6800, "functions in CLA not supported"},
    {0x6881, "logical channel not supported"},
    {0x6882, "secure messaging not supported"},
    {0x6883, "last command of the chain expected"},
    {0x6884, "command chaining not supported"},
    {0x6900, "command not allowed"},
    {0x6981, "command incompatible with file structure"},
    {0x6982, "security status not satisfied"},
    {0x6983, "authentication method blocked"},
    {0x6984, "reference data not usable"},
    {0x6985, "conditions of use not satisfied"},
    {0x6986, "command not allowed: no current EF"},
    {0x6987, "expected secure messaging data objects missing"},
    {0x6988, "incorrect secure messaging data objects"},
    {0x6a00, "wrong parameters P1-P2"},
    {0x6a80, "incorrect parameters in the command data field"},
    {0x6a81, "function not supported"},
    {0x6a82, "file or application not found"},
    {0x6a83, "record not found"},
    {0x6a84, "not enough memory space in the file"},
    {0x6a85, "Nc inconsistent with TLV structure"},
    {0x6a86, "incorrect parameters P1-P2"},
    {0x6a87, "Nc inconsistent with parameters P1-P2"},
    {0x6a88, "referenced data or reference data not found"},
    {0x6a89, "file already exists"},
    {0x6a8a, "DF name already exists"},
    {0x6b00, "wrong parameters P1-P2: offset outside the EF"},
    {0x6d00, "instruction code not supported or invalid"},
    {0x6e00, "class not supported"},
    {0x6f00, "no precise diagnosis"},
};

/* Texts of the families that carry a parameter; apdu_sw_format() spells it out. */
static const char txt_bytes_available[] = "bytes still available";
static const char txt_verify_failed[] = "verification failed, counter in SW2 low nibble";
static const char txt_wrong_le[] = "wrong Le: exact length in SW2";
static const char txt_triggering[] = "warning: triggering by the card";
static const char txt_exec_triggering[] = "execution error: triggering by the card";

static const char *family_text(uint16_t sw)
{
    uint8_t sw1 = (uint8_t)(sw >> 8), sw2 = (uint8_t)sw;
    switch (sw1) {
    case 0x61:
        return txt_bytes_available;
    case 0x62:
        if (sw2 >= 0x02 && sw2 <= 0x80)
            return txt_triggering;
        return "warning: non-volatile memory unchanged";
    case 0x63:
        if ((sw2 & 0xf0) == 0xc0)
            return txt_verify_failed;
        return "warning: non-volatile memory changed";
    case 0x64:
        if (sw2 >= 0x02 && sw2 <= 0x80)
            return txt_exec_triggering;
        return "execution error: non-volatile memory unchanged";
    case 0x65:
        return "execution error: non-volatile memory changed";
    case 0x66:
        return "security-related issue";
    case 0x67:
        return "wrong length";
    case 0x68:
        return "functions in CLA not supported";
    case 0x69:
        return "command not allowed";
    case 0x6a:
    case 0x6b:
        return "wrong parameters P1-P2";
    case 0x6c:
        return txt_wrong_le;
    case 0x6d:
        return "instruction code not supported or invalid";
    case 0x6e:
        return "class not supported";
    case 0x6f:
        return "no precise diagnosis";
    default:
        /* 90xx other than 9000 and 91xx..9Fxx are left to applications (7816-4 5.6). */
        if (sw1 >= 0x90 && sw1 <= 0x9f)
            return "proprietary status";
        return "unknown status";
    }
}

const char *apdu_sw_text(uint16_t sw)
{
    for (size_t i = 0; i < sizeof(sw_table) / sizeof(sw_table[0]); i++)
        if (sw_table[i].sw == sw)
            return sw_table[i].text;
    return family_text(sw);
}

int apdu_sw_format(uint16_t sw, char *out, size_t cap)
{
    if (out == NULL)
        cap = 0; /* snprintf(NULL, 0, ...) only measures */
    const char *text = apdu_sw_text(sw);
    unsigned sw2 = sw & 0xffu;
    /* 61xx and 6Cxx count bytes; SW2 00 stands for 256 as Le 00 does. */
    unsigned count = sw2 ? sw2 : 256;
    if (text == txt_bytes_available)
        return snprintf(out, cap, "%04X %u bytes still available", (unsigned)sw, count);
    if (text == txt_wrong_le)
        return snprintf(out, cap, "%04X wrong Le: exact length is %u", (unsigned)sw, count);
    if (text == txt_verify_failed) {
        unsigned tries = sw2 & 0x0fu;
        return snprintf(out, cap, "%04X verification failed, %u %s left", (unsigned)sw, tries,
                        tries == 1 ? "try" : "tries");
    }
    return snprintf(out, cap, "%04X %s", (unsigned)sw, text);
}
