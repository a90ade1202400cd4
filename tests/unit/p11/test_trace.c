/* The trace: every call with its CK_RV name, outputs, APDUs tagged with the call, and
 * never a PIN or the data of a sensitive APDU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p11_test.h"
#include "trace.h"

static char trace_path[64];

static void trace_to_temp(void)
{
    snprintf(trace_path, sizeof(trace_path), "/tmp/vt-p11-trace-XXXXXX");
    int fd = mkstemp(trace_path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    setenv("VTOKEN_TRACE", trace_path, 1);
    p11_trace_open(NULL);
    unsetenv("VTOKEN_TRACE");
}

static char *read_trace(void)
{
    static char buf[65536];
    FILE *f = fopen(trace_path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(trace_path);
    return buf;
}

START_TEST(calls_are_traced_without_pins)
{
    trace_to_temp();
    fx_init();
    CK_SESSION_HANDLE h = fx_open(true);
    ck_assert_rv(C_Login(h, CKU_USER, PIN("87878787")), CKR_PIN_INCORRECT);
    fx_login(h);
    CK_MECHANISM m = {CKM_SHA256, NULL, 0};
    ck_assert_rv(C_DigestInit(h, &m), CKR_OK);
    fx_fini();
    p11_trace_close();
    const char *t = read_trace();
    ck_assert_ptr_nonnull(strstr(t, "C_Initialize("));
    ck_assert_ptr_nonnull(strstr(t, "C_OpenSession(slotID=0 flags=0x6) = CKR_OK -> hSession="));
    ck_assert_ptr_nonnull(strstr(t, "ulPinLen=8) = CKR_PIN_INCORRECT"));
    ck_assert_ptr_nonnull(strstr(t, "userType=CKU_USER"));
    ck_assert_ptr_nonnull(strstr(t, "C_DigestInit(hSession="));
    ck_assert_ptr_nonnull(strstr(t, "mech=CKM_SHA256"));
    ck_assert_ptr_nonnull(strstr(t, "C_Finalize(pReserved=(nil)) = CKR_OK"));
    ck_assert_ptr_null(strstr(t, "87878787"));
    ck_assert_ptr_null(strstr(t, USER_PIN));
    /* each call's line carries its number: "... #<n> C_OpenSession(" */
    const char *c = strstr(t, " C_OpenSession(");
    ck_assert_ptr_nonnull(c);
    const char *d = c;
    while (d > t && d[-1] >= '0' && d[-1] <= '9')
        d--;
    ck_assert(d < c && d > t && d[-1] == '#');
}
END_TEST

START_TEST(apdus_are_redacted_when_sensitive)
{
    trace_to_temp();
    static const uint8_t verify[] = {0x00, 0x20, 0x00, 0x02, 0x08, '1', '2',
                                     '3',  '4',  '5',  '6',  '7',  '8'};
    static const uint8_t resp[] = {0x63, 0xC2};
    static const uint8_t select[] = {0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00};
    static const uint8_t secret_resp[] = {0xDE, 0xAD, 0xBE, 0xEF, 0x90, 0x00};
    p11_trace_apdu(NULL, APDU_DIR_COMMAND, verify, sizeof(verify), true);
    p11_trace_apdu(NULL, APDU_DIR_RESPONSE, resp, sizeof(resp), true);
    p11_trace_apdu(NULL, APDU_DIR_COMMAND, select, sizeof(select), false);
    p11_trace_apdu(NULL, APDU_DIR_RESPONSE, secret_resp, sizeof(secret_resp), true);
    p11_trace_close();
    const char *t = read_trace();
    ck_assert_ptr_nonnull(strstr(t, "> 0020000208 [data redacted]"));
    ck_assert_ptr_nonnull(strstr(t, "< [0 bytes redacted] 63c2"));
    ck_assert_ptr_nonnull(strstr(t, "> 00a4000c023f00\n"));
    ck_assert_ptr_nonnull(strstr(t, "< [4 bytes redacted] 9000"));
    ck_assert_ptr_null(strstr(t, "3132333435"));
    ck_assert_ptr_null(strstr(t, "deadbeef"));
}
END_TEST

Suite *trace_suite(void)
{
    Suite *s = suite_create("p11_trace");
    TCase *tc = tcase_create("trace");
    tcase_add_test(tc, calls_are_traced_without_pins);
    tcase_add_test(tc, apdus_are_redacted_when_sensitive);
    suite_add_tcase(s, tc);
    return s;
}
