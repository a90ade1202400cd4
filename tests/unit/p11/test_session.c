/* Sessions: open/close, R/O and R/W states under user and SO logins, the standard
 * errors for wrong states, C_CloseAllSessions, last-close logout, many sessions. */
#include <string.h>

#include "p11_test.h"

static CK_STATE state_of(CK_SESSION_HANDLE h)
{
    CK_SESSION_INFO si;
    ck_assert_rv(C_GetSessionInfo(h, &si), CKR_OK);
    return si.state;
}

START_TEST(open_close_arguments)
{
    CK_SESSION_HANDLE h;
    fx_init();
    ck_assert_rv(C_OpenSession(fx_slot, CKF_SERIAL_SESSION, NULL, NULL, NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_OpenSession(fx_slot, 0, NULL, NULL, &h), CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    ck_assert_rv(C_OpenSession(fx_slot, CKF_RW_SESSION, NULL, NULL, &h),
                 CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    ck_assert_rv(C_OpenSession(42, CKF_SERIAL_SESSION, NULL, NULL, &h), CKR_SLOT_ID_INVALID);
    /* an application pointer and callback are accepted (OpenSSL's provider passes them) */
    int app;
    ck_assert_rv(C_OpenSession(fx_slot, CKF_SERIAL_SESSION, &app, NULL, &h), CKR_OK);
    CK_SESSION_INFO si;
    ck_assert_rv(C_GetSessionInfo(h, NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_GetSessionInfo(h, &si), CKR_OK);
    ck_assert_uint_eq(si.slotID, fx_slot);
    ck_assert_uint_eq(si.flags, CKF_SERIAL_SESSION);
    ck_assert_uint_eq(si.state, CKS_RO_PUBLIC_SESSION);
    ck_assert_uint_eq(si.ulDeviceError, 0);
    ck_assert_rv(C_CloseSession(h), CKR_OK);
    ck_assert_rv(C_CloseSession(h), CKR_SESSION_HANDLE_INVALID);
    ck_assert_rv(C_GetSessionInfo(h, &si), CKR_SESSION_HANDLE_INVALID);
    ck_assert_rv(C_CloseSession(CK_INVALID_HANDLE), CKR_SESSION_HANDLE_INVALID);
    fx_fini();
}
END_TEST

START_TEST(states_follow_one_login_per_token)
{
    fx_init();
    CK_SESSION_HANDLE ro = fx_open(false), rw = fx_open(true);
    ck_assert_uint_eq(state_of(rw), CKS_RW_PUBLIC_SESSION);
    fx_login(ro); /* logging in on one session logs in all of them */
    ck_assert_uint_eq(state_of(ro), CKS_RO_USER_FUNCTIONS);
    ck_assert_uint_eq(state_of(rw), CKS_RW_USER_FUNCTIONS);
    CK_SESSION_HANDLE later = fx_open(true);
    ck_assert_uint_eq(state_of(later), CKS_RW_USER_FUNCTIONS);
    ck_assert_rv(C_Login(rw, CKU_USER, PIN(USER_PIN)), CKR_USER_ALREADY_LOGGED_IN);
    ck_assert_rv(C_Login(rw, CKU_SO, PIN(SO_PIN)), CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
    ck_assert_rv(C_Logout(rw), CKR_OK);
    ck_assert_uint_eq(state_of(ro), CKS_RO_PUBLIC_SESSION);
    ck_assert_rv(C_Logout(rw), CKR_USER_NOT_LOGGED_IN);
    /* SO: not with a R/O session open, and no R/O session while SO */
    ck_assert_rv(C_Login(rw, CKU_SO, PIN(SO_PIN)), CKR_SESSION_READ_ONLY_EXISTS);
    ck_assert_rv(C_CloseSession(ro), CKR_OK);
    ck_assert_rv(C_Login(rw, CKU_SO, PIN(SO_PIN)), CKR_OK);
    ck_assert_uint_eq(state_of(rw), CKS_RW_SO_FUNCTIONS);
    CK_SESSION_HANDLE h;
    ck_assert_rv(C_OpenSession(fx_slot, CKF_SERIAL_SESSION, NULL, NULL, &h),
                 CKR_SESSION_READ_WRITE_SO_EXISTS);
    ck_assert_rv(C_Login(rw, CKU_USER, PIN(USER_PIN)), CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
    ck_assert_rv(C_Login(rw, 7, PIN(USER_PIN)), CKR_USER_TYPE_INVALID);
    fx_fini();
}
END_TEST

START_TEST(last_close_logs_out)
{
    fx_init();
    CK_SESSION_HANDLE a = fx_open(false), b = fx_open(false);
    fx_login(a);
    ck_assert_rv(C_CloseSession(a), CKR_OK);
    ck_assert_uint_eq(state_of(b), CKS_RO_USER_FUNCTIONS);
    ck_assert_rv(C_CloseSession(b), CKR_OK);
    b = fx_open(false);
    ck_assert_uint_eq(state_of(b), CKS_RO_PUBLIC_SESSION);
    fx_login(b);
    ck_assert_rv(C_CloseAllSessions(fx_slot), CKR_OK);
    ck_assert_rv(C_CloseAllSessions(9), CKR_SLOT_ID_INVALID);
    ck_assert_rv(C_GetSessionInfo(b, &(CK_SESSION_INFO){0}), CKR_SESSION_HANDLE_INVALID);
    b = fx_open(false);
    ck_assert_uint_eq(state_of(b), CKS_RO_PUBLIC_SESSION);
    fx_fini();
}
END_TEST

START_TEST(read_only_session_refuses_writes)
{
    fx_init();
    CK_SESSION_HANDLE ro = fx_open(false);
    fx_login(ro);
    CK_OBJECT_CLASS cls = CKO_DATA;
    CK_BBOOL t = CK_TRUE;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_TOKEN, &t, sizeof(t)}};
    CK_OBJECT_HANDLE o;
    ck_assert_rv(C_CreateObject(ro, tmpl, 2, &o), CKR_SESSION_READ_ONLY);
    ck_assert_rv(C_SetPIN(ro, PIN(USER_PIN), PIN("11223344")), CKR_SESSION_READ_ONLY);
    /* a session object is fine in a R/O session */
    ck_assert_rv(C_CreateObject(ro, tmpl, 1, &o), CKR_OK);
    fx_fini();
}
END_TEST

START_TEST(write_protected_token_has_no_rw_sessions)
{
    mock_config cfg;
    mock_config_default(&cfg);
    cfg.write_protected = true;
    fx_init_with(&cfg);
    CK_SESSION_HANDLE h;
    ck_assert_rv(C_OpenSession(fx_slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h),
                 CKR_TOKEN_WRITE_PROTECTED);
    fx_fini();
}
END_TEST

START_TEST(many_sessions)
{
    static CK_SESSION_HANDLE h[2000];
    fx_init();
    for (int i = 0; i < 2000; i++)
        h[i] = fx_open(i % 2);
    CK_TOKEN_INFO ti;
    ck_assert_rv(C_GetTokenInfo(fx_slot, &ti), CKR_OK);
    ck_assert_uint_eq(ti.ulSessionCount, 2000);
    ck_assert_uint_eq(ti.ulRwSessionCount, 1000);
    for (int i = 0; i < 2000; i += 3)
        ck_assert_rv(C_CloseSession(h[i]), CKR_OK);
    for (int i = 0; i < 2000; i++)
        ck_assert_rv(C_GetSessionInfo(h[i], &(CK_SESSION_INFO){0}),
                     i % 3 ? CKR_OK : CKR_SESSION_HANDLE_INVALID);
    fx_fini();
}
END_TEST

START_TEST(session_cancel_ends_operations)
{
    fx_init();
    CK_SESSION_HANDLE h = fx_open(false);
    CK_MECHANISM m = {CKM_SHA256, NULL, 0};
    ck_assert_rv(C_DigestInit(h, &m), CKR_OK);
    ck_assert_rv(C_FindObjectsInit(h, NULL, 0), CKR_OK);
    ck_assert_rv(C_SessionCancel(h, CKF_DIGEST | CKF_FIND_OBJECTS), CKR_OK);
    ck_assert_rv(C_DigestUpdate(h, (CK_BYTE_PTR) "x", 1), CKR_OPERATION_NOT_INITIALIZED);
    ck_assert_rv(C_FindObjectsFinal(h), CKR_OPERATION_NOT_INITIALIZED);
    ck_assert_rv(C_DigestInit(h, &m), CKR_OK);
    fx_fini();
}
END_TEST

Suite *session_suite(void)
{
    Suite *s = suite_create("p11_session");
    TCase *tc = tcase_create("session");
    tcase_add_test(tc, open_close_arguments);
    tcase_add_test(tc, states_follow_one_login_per_token);
    tcase_add_test(tc, last_close_logs_out);
    tcase_add_test(tc, read_only_session_refuses_writes);
    tcase_add_test(tc, write_protected_token_has_no_rw_sessions);
    tcase_add_test(tc, many_sessions);
    tcase_add_test(tc, session_cancel_ends_operations);
    suite_add_tcase(s, tc);
    return s;
}
