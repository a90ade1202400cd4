/* Library life cycle: function lists and interfaces, C_Initialize arguments and
 * options, C_GetInfo, unsupported functions, and fork() in both interface flavours. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "p11_test.h"

START_TEST(function_list_is_2_40)
{
    CK_FUNCTION_LIST_PTR f = NULL;
    ck_assert_rv(C_GetFunctionList(NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_GetFunctionList(&f), CKR_OK);
    ck_assert_uint_eq(f->version.major, 2);
    ck_assert_uint_eq(f->version.minor, 40);
    /* every slot of the table is filled */
    void (*const *fn)(void) = (void (*const *)(void)) & f->C_Initialize;
    for (size_t i = 0; i < 68; i++)
        ck_assert_ptr_nonnull(fn[i]);
    ck_assert_ptr_eq(f->C_Sign, C_Sign);
    ck_assert_ptr_eq(f->C_WaitForSlotEvent, C_WaitForSlotEvent);
}
END_TEST

START_TEST(interfaces_3_0_2_40_and_fork_safe)
{
    CK_ULONG n = 0;
    CK_INTERFACE list[8];
    CK_INTERFACE_PTR i = NULL;
    ck_assert_rv(C_GetInterfaceList(NULL, NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_GetInterfaceList(NULL, &n), CKR_OK);
    ck_assert_uint_eq(n, 4);
    n = 1;
    ck_assert_rv(C_GetInterfaceList(list, &n), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(n, 4);
    n = 8;
    ck_assert_rv(C_GetInterfaceList(list, &n), CKR_OK);
    int fork_safe = 0;
    for (CK_ULONG k = 0; k < n; k++) {
        ck_assert_str_eq((const char *)list[k].pInterfaceName, "PKCS 11");
        fork_safe += (list[k].flags & CKF_INTERFACE_FORK_SAFE) != 0;
    }
    ck_assert_int_eq(fork_safe, 2);

    /* NSS's first question */
    ck_assert_rv(C_GetInterface((CK_UTF8CHAR_PTR) "PKCS 11", NULL, &i, CKF_INTERFACE_FORK_SAFE),
                 CKR_OK);
    ck_assert_uint_eq(i->flags, CKF_INTERFACE_FORK_SAFE);
    CK_FUNCTION_LIST_3_0_PTR f3 = i->pFunctionList;
    ck_assert_uint_eq(f3->version.major, 3);
    ck_assert_ptr_ne((void *)f3->C_Initialize, (void *)C_Initialize);
    /* default: the plain 3.0 list, all 92 functions present */
    ck_assert_rv(C_GetInterface(NULL, NULL, &i, 0), CKR_OK);
    f3 = i->pFunctionList;
    ck_assert_uint_eq(i->flags, 0);
    ck_assert_uint_eq(f3->version.major, 3);
    ck_assert_uint_eq(f3->version.minor, 0);
    void (*const *fn)(void) = (void (*const *)(void)) & f3->C_Initialize;
    for (size_t k = 0; k < 92; k++)
        ck_assert_ptr_nonnull(fn[k]);
    ck_assert_ptr_eq(f3->C_GetInterface, C_GetInterface);
    ck_assert_ptr_eq(f3->C_MessageVerifyFinal, C_MessageVerifyFinal);
    CK_VERSION v240 = {2, 40}, v32 = {3, 2};
    ck_assert_rv(C_GetInterface((CK_UTF8CHAR_PTR) "PKCS 11", &v240, &i, 0), CKR_OK);
    ck_assert_uint_eq(((CK_FUNCTION_LIST_PTR)i->pFunctionList)->version.minor, 40);
    ck_assert_rv(C_GetInterface((CK_UTF8CHAR_PTR) "PKCS 11", &v32, &i, 0), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_GetInterface((CK_UTF8CHAR_PTR) "Vendor NSS", NULL, &i, 0), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_GetInterface(NULL, NULL, NULL, 0), CKR_ARGUMENTS_BAD);
}
END_TEST

START_TEST(get_info_reports_version_of_the_list)
{
    CK_INFO info;
    CK_INTERFACE_PTR i;
    ck_assert_rv(C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
    fx_init();
    ck_assert_rv(C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_GetInfo(&info), CKR_OK);
    ck_assert_uint_eq(info.cryptokiVersion.major, 2);
    ck_assert_uint_eq(info.cryptokiVersion.minor, 40);
    ck_assert_mem_eq(info.manufacturerID, "vtoken                          ", 32);
    ck_assert_uint_eq(info.flags, 0);
    ck_assert_rv(C_GetInterface(NULL, NULL, &i, 0), CKR_OK);
    ck_assert_rv(((CK_FUNCTION_LIST_3_0_PTR)i->pFunctionList)->C_GetInfo(&info), CKR_OK);
    ck_assert_uint_eq(info.cryptokiVersion.major, 3);
    ck_assert_uint_eq(info.cryptokiVersion.minor, 0);
    fx_fini();
}
END_TEST

static int mutex_calls;
static CK_RV m_create(CK_VOID_PTR_PTR m)
{
    static int dummy;
    *m = &dummy;
    mutex_calls++;
    return CKR_OK;
}
static CK_RV m_destroy(CK_VOID_PTR m)
{
    (void)m;
    mutex_calls++;
    return CKR_OK;
}
static CK_RV m_lock(CK_VOID_PTR m)
{
    (void)m;
    mutex_calls++;
    return CKR_OK;
}
static CK_RV m_unlock(CK_VOID_PTR m)
{
    (void)m;
    mutex_calls++;
    return CKR_OK;
}

START_TEST(initialize_arguments)
{
    CK_C_INITIALIZE_ARGS a = {0};
    mock_config cfg;
    mock_config_default(&cfg);
    fx_card = mock_card_new(&cfg);
    ck_assert_rv(p11_test_register_slot("mock", NULL, mock_open, fx_card), CKR_OK);

    a.CreateMutex = m_create; /* some but not all callbacks */
    ck_assert_rv(C_Initialize(&a), CKR_ARGUMENTS_BAD);
    a.DestroyMutex = m_destroy;
    a.LockMutex = m_lock;
    ck_assert_rv(C_Initialize(&a), CKR_ARGUMENTS_BAD);
    a.UnlockMutex = m_unlock;
    a.flags = CKF_LIBRARY_CANT_CREATE_OS_THREADS | CKF_OS_LOCKING_OK;
    a.pReserved = "configdir='sql:/nonexistent' certPrefix='' unknownkey=1";
    ck_assert_rv(C_Initialize(&a), CKR_OK);
    ck_assert_rv(C_Initialize(&a), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    ck_assert_rv(C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    int before = mutex_calls;
    CK_ULONG n = 0;
    ck_assert_rv(C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_gt(mutex_calls, before); /* the application's mutexes are the ones used */
    int dummy;
    ck_assert_rv(C_Finalize(&dummy), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    ck_assert_rv(C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
    ck_assert_rv(C_GetSlotList(CK_FALSE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
    /* OS locking alone, then no locking at all */
    CK_C_INITIALIZE_ARGS os = {.flags = CKF_OS_LOCKING_OK};
    ck_assert_rv(C_Initialize(&os), CKR_OK);
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    CK_C_INITIALIZE_ARGS none = {0};
    ck_assert_rv(C_Initialize(&none), CKR_OK);
    fx_fini();
}
END_TEST

START_TEST(calls_before_initialize)
{
    CK_SLOT_ID s;
    CK_SESSION_HANDLE h;
    ck_assert_rv(C_GetSlotList(CK_FALSE, NULL, &(CK_ULONG){0}), CKR_CRYPTOKI_NOT_INITIALIZED);
    ck_assert_rv(C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h),
                 CKR_CRYPTOKI_NOT_INITIALIZED);
    ck_assert_rv(C_WaitForSlotEvent(CKF_DONT_BLOCK, &s, NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
    ck_assert_rv(C_Sign(1, NULL, 0, NULL, NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
    ck_assert_rv(C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
}
END_TEST

START_TEST(unsupported_functions)
{
    fx_init();
    CK_SESSION_HANDLE h = fx_open(true);
    CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
    CK_OBJECT_HANDLE k;
    CK_ULONG len = 0;
    ck_assert_rv(C_GenerateKey(h, &m, NULL, 0, &k), CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(C_WrapKey(h, &m, 1, 2, NULL, &len), CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(C_UnwrapKey(h, &m, 1, NULL, 0, NULL, 0, &k), CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(C_DeriveKey(h, &m, 1, NULL, 0, &k), CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(C_SignRecoverInit(h, &m, 1), CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(C_VerifyRecoverInit(h, &m, 1), CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(C_DigestEncryptUpdate(h, NULL, 0, NULL, &len), CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(C_MessageSignInit(h, &m, 1), CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(C_SignMessage(h, NULL, 0, NULL, 0, NULL, &len), CKR_FUNCTION_NOT_SUPPORTED);
    ck_assert_rv(C_GetFunctionStatus(h), CKR_FUNCTION_NOT_PARALLEL);
    ck_assert_rv(C_CancelFunction(h), CKR_FUNCTION_NOT_PARALLEL);
    /* the session is still checked first */
    ck_assert_rv(C_GenerateKey(h + 100, &m, NULL, 0, &k), CKR_SESSION_HANDLE_INVALID);
    fx_fini();
}
END_TEST

/* A child after fork(): exit status 0 when every expectation held, else the number of
 * the failed step (Check assertions must not run in this extra process). */
#define CHILD_EXPECT(step, cond)                                                                   \
    do {                                                                                           \
        if (!(cond))                                                                               \
            _exit(step);                                                                           \
    } while (0)

static int wait_child(pid_t pid)
{
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st));
    return WEXITSTATUS(st);
}

START_TEST(fork_child_must_initialize_parent_unaffected)
{
    fx_init();
    CK_SESSION_HANDLE h = fx_open(true);
    fx_login(h);
    CK_SESSION_INFO si;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        CK_ULONG n = 0;
        CHILD_EXPECT(1, C_GetSlotList(CK_FALSE, NULL, &n) == CKR_CRYPTOKI_NOT_INITIALIZED);
        CHILD_EXPECT(2, C_GetSessionInfo(h, &si) == CKR_CRYPTOKI_NOT_INITIALIZED);
        CHILD_EXPECT(3, C_Finalize(NULL) == CKR_CRYPTOKI_NOT_INITIALIZED);
        CHILD_EXPECT(4, C_Initialize(NULL) == CKR_OK); /* not ALREADY_INITIALIZED */
        CHILD_EXPECT(5, C_GetSlotList(CK_FALSE, NULL, &n) == CKR_OK && n == 1);
        CHILD_EXPECT(6, C_GetSessionInfo(h, &si) == CKR_SESSION_HANDLE_INVALID);
        CK_SESSION_HANDLE h2;
        CHILD_EXPECT(7, C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h2) == CKR_OK);
        CHILD_EXPECT(8, C_GetSessionInfo(h2, &si) == CKR_OK && si.state == CKS_RO_PUBLIC_SESSION);
        CHILD_EXPECT(9, C_Finalize(NULL) == CKR_OK);
        _exit(0);
    }
    ck_assert_int_eq(wait_child(pid), 0);
    ck_assert_rv(C_GetSessionInfo(h, &si), CKR_OK);
    ck_assert_uint_eq(si.state, CKS_RW_USER_FUNCTIONS);
    ck_assert_rv(C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    fx_fini();
}
END_TEST

START_TEST(fork_safe_interface_child_keeps_a_copy)
{
    CK_INTERFACE_PTR i;
    mock_config cfg;
    mock_config_default(&cfg);
    fx_card = mock_card_new(&cfg);
    mock_card_add_keypair(fx_card, mock_key(0), "\x01", "key1", false, true, true);
    ck_assert_rv(p11_test_register_slot("mock", NULL, mock_open, fx_card), CKR_OK);
    ck_assert_rv(C_GetInterface((CK_UTF8CHAR_PTR) "PKCS 11", NULL, &i, CKF_INTERFACE_FORK_SAFE),
                 CKR_OK);
    CK_FUNCTION_LIST_3_0_PTR f = i->pFunctionList;
    ck_assert_rv(f->C_Initialize(NULL), CKR_OK);
    CK_SESSION_HANDLE h = fx_open(true);
    fx_login(h);
    CK_OBJECT_HANDLE key = fx_find_one(h, CKO_PRIVATE_KEY, "key1");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        CK_SESSION_INFO si;
        CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
        CK_BYTE sig[256];
        CK_ULONG sl = sizeof(sig);
        CHILD_EXPECT(1, f->C_GetSessionInfo(h, &si) == CKR_OK);
        CHILD_EXPECT(2, si.state == CKS_RW_USER_FUNCTIONS);
        CHILD_EXPECT(3, f->C_SignInit(h, &m, key) == CKR_OK);
        CHILD_EXPECT(4, f->C_Sign(h, (CK_BYTE_PTR) "abc", 3, sig, &sl) == CKR_OK && sl == 128);
        CHILD_EXPECT(5, f->C_CloseSession(h) == CKR_OK);
        _exit(0);
    }
    ck_assert_int_eq(wait_child(pid), 0);
    CK_SESSION_INFO si;
    ck_assert_rv(C_GetSessionInfo(h, &si), CKR_OK); /* the child's close was its own */
    ck_assert_uint_eq(si.state, CKS_RW_USER_FUNCTIONS);
    fx_fini();
}
END_TEST

START_TEST(trace_option_from_reserved_string)
{
    char path[] = "/tmp/vt-p11-trace-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    char opts[256];
    snprintf(opts, sizeof(opts), "trace=%s", path);
    mock_config cfg;
    mock_config_default(&cfg);
    fx_card = mock_card_new(&cfg);
    ck_assert_rv(p11_test_register_slot("mock", NULL, mock_open, fx_card), CKR_OK);
    CK_C_INITIALIZE_ARGS a = {.flags = CKF_OS_LOCKING_OK, .pReserved = opts};
    ck_assert_rv(C_Initialize(&a), CKR_OK);
    CK_ULONG n;
    ck_assert_rv(C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
    fx_fini();
    FILE *f = fopen(path, "r");
    char buf[8192];
    size_t got = fread(buf, 1, sizeof(buf) - 1, f);
    buf[got] = '\0';
    fclose(f);
    unlink(path);
    ck_assert_ptr_nonnull(strstr(buf, "C_GetSlotList(tokenPresent=1"));
    ck_assert_ptr_nonnull(strstr(buf, "= CKR_OK -> count=1"));
}
END_TEST

Suite *init_suite(void)
{
    Suite *s = suite_create("p11_init");
    TCase *tc = tcase_create("init");
    tcase_add_test(tc, function_list_is_2_40);
    tcase_add_test(tc, interfaces_3_0_2_40_and_fork_safe);
    tcase_add_test(tc, get_info_reports_version_of_the_list);
    tcase_add_test(tc, initialize_arguments);
    tcase_add_test(tc, calls_before_initialize);
    tcase_add_test(tc, unsupported_functions);
    tcase_add_test(tc, fork_child_must_initialize_parent_unaffected);
    tcase_add_test(tc, fork_safe_interface_child_keeps_a_copy);
    tcase_add_test(tc, trace_option_from_reserved_string);
    suite_add_tcase(s, tc);
    return s;
}
