/* ISO 7816-4 status words: named constants and a table that renders them for people,
 * e.g. apdu_sw_format(0x6A82) -> "6A82 file or application not found". */
#ifndef APDU_SW_H
#define APDU_SW_H

#include <stddef.h>
#include <stdint.h>

#define APDU_SW_OK                   0x9000u
#define APDU_SW_BYTES_REMAINING(n)   (0x6100u | ((n) & 0xffu)) /* 61xx */
#define APDU_SW_WARN_NVM_UNCHANGED   0x6200u
#define APDU_SW_WARN_EOF             0x6282u /* end of file reached before Ne bytes */
#define APDU_SW_WARN_SELECTED_INVALID 0x6283u /* selected file deactivated */
#define APDU_SW_WARN_NVM_CHANGED     0x6300u
#define APDU_SW_VERIFY_FAILED(n)     (0x63C0u | ((n) & 0x0fu)) /* 63Cx: x tries left */
#define APDU_SW_EXEC_NVM_UNCHANGED   0x6400u
#define APDU_SW_MEMORY_FAILURE       0x6581u
#define APDU_SW_WRONG_LENGTH         0x6700u
#define APDU_SW_CLA_FUNC_UNSUPPORTED 0x6800u
#define APDU_SW_LOGICAL_CHANNEL      0x6881u
#define APDU_SW_SECURE_MESSAGING     0x6882u
#define APDU_SW_LAST_CMD_OF_CHAIN    0x6883u /* last command of the chain expected */
#define APDU_SW_CHAINING_UNSUPPORTED 0x6884u
#define APDU_SW_CMD_NOT_ALLOWED      0x6900u
#define APDU_SW_INCOMPATIBLE_FILE    0x6981u
#define APDU_SW_SECURITY_STATUS      0x6982u /* security status not satisfied */
#define APDU_SW_AUTH_BLOCKED         0x6983u /* authentication method blocked */
#define APDU_SW_REF_DATA_UNUSABLE    0x6984u
#define APDU_SW_CONDITIONS           0x6985u /* conditions of use not satisfied */
#define APDU_SW_NO_CURRENT_EF        0x6986u
#define APDU_SW_SM_MISSING           0x6987u
#define APDU_SW_SM_INCORRECT         0x6988u
#define APDU_SW_WRONG_DATA           0x6A80u /* incorrect parameters in the data field */
#define APDU_SW_FUNC_UNSUPPORTED     0x6A81u
#define APDU_SW_FILE_NOT_FOUND       0x6A82u
#define APDU_SW_RECORD_NOT_FOUND     0x6A83u
#define APDU_SW_NOT_ENOUGH_MEMORY    0x6A84u
#define APDU_SW_NC_INCONSISTENT_TLV  0x6A85u
#define APDU_SW_WRONG_P1P2           0x6A86u
#define APDU_SW_NC_INCONSISTENT_P1P2 0x6A87u
#define APDU_SW_REF_DATA_NOT_FOUND   0x6A88u
#define APDU_SW_FILE_EXISTS          0x6A89u
#define APDU_SW_DF_NAME_EXISTS       0x6A8Au
#define APDU_SW_WRONG_P1P2_OFFSET    0x6B00u /* wrong parameters P1-P2 (offset outside EF) */
#define APDU_SW_WRONG_LE(n)          (0x6C00u | ((n) & 0xffu)) /* 6Cxx: exact Ne is xx */
#define APDU_SW_INS_UNSUPPORTED      0x6D00u
#define APDU_SW_CLA_UNSUPPORTED      0x6E00u
#define APDU_SW_UNKNOWN              0x6F00u

/* Text for a status word, without the hex: "file or application not found".
 * Families such as 61xx, 63Cx and 6Cxx get their parameter spelled out in
 * apdu_sw_format(); apdu_sw_text() returns the family's text. Never NULL. */
const char *apdu_sw_text(uint16_t sw);

/* "6A82 file or application not found"; always NUL-terminated, truncated to cap.
 * Returns the length it would have written (like snprintf). */
int apdu_sw_format(uint16_t sw, char *out, size_t cap);

#endif
