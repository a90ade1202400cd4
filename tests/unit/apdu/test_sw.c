/* Status word texts: the exact rendering of every interindustry SW in sw.h, the
 * parameterised families and the per-SW1 fallbacks. */
#include <string.h>

#include "apdu_test.h"
#include "sw.h"

static const struct {
    uint16_t sw;
    const char *text;
} formatted[] = {
    {APDU_SW_OK, "9000 success"},
    {APDU_SW_BYTES_REMAINING(0x10), "6110 16 bytes still available"},
    {APDU_SW_BYTES_REMAINING(0), "6100 256 bytes still available"},
    {APDU_SW_WARN_NVM_UNCHANGED,
     "6200 warning: no information given, non-volatile memory unchanged"},
    {0x6281, "6281 warning: part of the returned data may be corrupted"},
    {APDU_SW_WARN_EOF, "6282 warning: end of file or record reached before reading Ne bytes"},
    {APDU_SW_WARN_SELECTED_INVALID, "6283 warning: selected file deactivated"},
    {0x6284, "6284 warning: file control information not formatted according to ISO 7816-4"},
    {0x6285, "6285 warning: selected file in termination state"},
    {0x6286, "6286 warning: no input data available from a sensor on the card"},
    {0x6287, "6287 warning: at least one of the referenced records is deactivated"},
    {0x6202, "6202 warning: triggering by the card"},
    {0x6280, "6280 warning: triggering by the card"},
    {0x6290, "6290 warning: non-volatile memory unchanged"},
    {APDU_SW_WARN_NVM_CHANGED, "6300 warning: no information given, non-volatile memory changed"},
    {0x6381, "6381 warning: file filled up by the last write"},
    {APDU_SW_VERIFY_FAILED(2), "63C2 verification failed, 2 tries left"},
    {APDU_SW_VERIFY_FAILED(1), "63C1 verification failed, 1 try left"},
    {APDU_SW_VERIFY_FAILED(0), "63C0 verification failed, 0 tries left"},
    {APDU_SW_VERIFY_FAILED(15), "63CF verification failed, 15 tries left"},
    {0x6382, "6382 warning: non-volatile memory changed"},
    {APDU_SW_EXEC_NVM_UNCHANGED,
     "6400 execution error: no information given, non-volatile memory unchanged"},
    {0x6401, "6401 execution error: immediate response required by the card"},
    {0x6410, "6410 execution error: triggering by the card"},
    {0x64ff, "64FF execution error: non-volatile memory unchanged"},
    {0x6500, "6500 execution error: no information given, non-volatile memory changed"},
    {APDU_SW_MEMORY_FAILURE, "6581 memory failure"},
    {0x6502, "6502 execution error: non-volatile memory changed"},
    {0x6600, "6600 security-related issue"},
    {0x6601, "6601 security-related issue"},
    {APDU_SW_WRONG_LENGTH, "6700 wrong length"},
    {0x6701, "6701 wrong length"},
    {APDU_SW_CLA_FUNC_UNSUPPORTED, "6800 functions in CLA not supported"},
    {APDU_SW_LOGICAL_CHANNEL, "6881 logical channel not supported"},
    {APDU_SW_SECURE_MESSAGING, "6882 secure messaging not supported"},
    {APDU_SW_LAST_CMD_OF_CHAIN, "6883 last command of the chain expected"},
    {APDU_SW_CHAINING_UNSUPPORTED, "6884 command chaining not supported"},
    {0x6885, "6885 functions in CLA not supported"},
    {APDU_SW_CMD_NOT_ALLOWED, "6900 command not allowed"},
    {APDU_SW_INCOMPATIBLE_FILE, "6981 command incompatible with file structure"},
    {APDU_SW_SECURITY_STATUS, "6982 security status not satisfied"},
    {APDU_SW_AUTH_BLOCKED, "6983 authentication method blocked"},
    {APDU_SW_REF_DATA_UNUSABLE, "6984 reference data not usable"},
    {APDU_SW_CONDITIONS, "6985 conditions of use not satisfied"},
    {APDU_SW_NO_CURRENT_EF, "6986 command not allowed: no current EF"},
    {APDU_SW_SM_MISSING, "6987 expected secure messaging data objects missing"},
    {APDU_SW_SM_INCORRECT, "6988 incorrect secure messaging data objects"},
    {0x6999, "6999 command not allowed"},
    {0x6a00, "6A00 wrong parameters P1-P2"},
    {APDU_SW_WRONG_DATA, "6A80 incorrect parameters in the command data field"},
    {APDU_SW_FUNC_UNSUPPORTED, "6A81 function not supported"},
    {APDU_SW_FILE_NOT_FOUND, "6A82 file or application not found"},
    {APDU_SW_RECORD_NOT_FOUND, "6A83 record not found"},
    {APDU_SW_NOT_ENOUGH_MEMORY, "6A84 not enough memory space in the file"},
    {APDU_SW_NC_INCONSISTENT_TLV, "6A85 Nc inconsistent with TLV structure"},
    {APDU_SW_WRONG_P1P2, "6A86 incorrect parameters P1-P2"},
    {APDU_SW_NC_INCONSISTENT_P1P2, "6A87 Nc inconsistent with parameters P1-P2"},
    {APDU_SW_REF_DATA_NOT_FOUND, "6A88 referenced data or reference data not found"},
    {APDU_SW_FILE_EXISTS, "6A89 file already exists"},
    {APDU_SW_DF_NAME_EXISTS, "6A8A DF name already exists"},
    {0x6a90, "6A90 wrong parameters P1-P2"},
    {APDU_SW_WRONG_P1P2_OFFSET, "6B00 wrong parameters P1-P2: offset outside the EF"},
    {0x6b01, "6B01 wrong parameters P1-P2"},
    {APDU_SW_WRONG_LE(8), "6C08 wrong Le: exact length is 8"},
    {APDU_SW_WRONG_LE(0), "6C00 wrong Le: exact length is 256"},
    {APDU_SW_INS_UNSUPPORTED, "6D00 instruction code not supported or invalid"},
    {0x6d12, "6D12 instruction code not supported or invalid"},
    {APDU_SW_CLA_UNSUPPORTED, "6E00 class not supported"},
    {0x6e01, "6E01 class not supported"},
    {APDU_SW_UNKNOWN, "6F00 no precise diagnosis"},
    {0x6f42, "6F42 no precise diagnosis"},
    {0x9001, "9001 proprietary status"},
    {0x9f10, "9F10 proprietary status"},
    {0x1234, "1234 unknown status"},
    {0x6000, "6000 unknown status"},
    {0xa000, "A000 unknown status"},
};

START_TEST(format_exact)
{
    char buf[128];
    int n = apdu_sw_format(formatted[_i].sw, buf, sizeof(buf));
    ck_assert_str_eq(buf, formatted[_i].text);
    ck_assert_int_eq(n, (int)strlen(formatted[_i].text));
    /* text is the same sentence without the hex, for the fixed entries */
    const char *t = apdu_sw_text(formatted[_i].sw);
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_gt(strlen(t), 0);
}
END_TEST

START_TEST(text_families)
{
    ck_assert_str_eq(apdu_sw_text(0x6a82), "file or application not found");
    ck_assert_str_eq(apdu_sw_text(0x6110), apdu_sw_text(0x61ff));
    ck_assert_str_eq(apdu_sw_text(0x63c3), apdu_sw_text(0x63c9));
    ck_assert_str_eq(apdu_sw_text(0x6c01), apdu_sw_text(0x6c02));
    ck_assert_str_ne(apdu_sw_text(0x63c3), apdu_sw_text(0x6382));
}
END_TEST

START_TEST(format_truncates)
{
    char buf[8];
    memset(buf, 'x', sizeof(buf));
    int n = apdu_sw_format(0x6a82, buf, 5);
    ck_assert_int_eq(n, (int)strlen("6A82 file or application not found"));
    ck_assert_str_eq(buf, "6A82");
    ck_assert_int_eq(buf[5], 'x');
    ck_assert_int_eq(apdu_sw_format(0x63c2, NULL, 0),
                     (int)strlen("63C2 verification failed, 2 tries left"));
    ck_assert_int_eq(apdu_sw_format(0x9000, buf, 0), 12);
    ck_assert_int_eq(buf[0], '6'); /* cap 0: nothing written */
}
END_TEST

Suite *sw_suite(void)
{
    Suite *s = suite_create("sw");
    TCase *tc = tcase_create("format");
    tcase_add_loop_test(tc, format_exact, 0, (int)VT_ARRAY_LEN(formatted));
    tcase_add_test(tc, text_families);
    tcase_add_test(tc, format_truncates);
    suite_add_tcase(s, tc);
    return s;
}
