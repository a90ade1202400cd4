/* Slots and tokens: slot list, slot and token info (blank padding, flags from the PIN
 * counters, session counts), removal and insertion as slot events, blocking waits
 * woken by an event or cancelled by C_Finalize. */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "p11_test.h"

static bool padded(const CK_UTF8CHAR *field, size_t width, const char *want)
{
    size_t n = strlen(want);
    if (memcmp(field, want, n) != 0)
        return false;
    for (size_t i = n; i < width; i++)
        if (field[i] != ' ')
            return false;
    return true;
}

START_TEST(slot_list_sizes_and_presence)
{
    mock_config cfg;
    mock_config_default(&cfg);
    mock_card *second = mock_card_new(&cfg);
    fx_init();
    C_Finalize(NULL);
    ck_assert_rv(p11_test_register_slot("second reader", NULL, mock_open, second), CKR_OK);
    ck_assert_rv(C_Initialize(NULL), CKR_OK);

    CK_SLOT_ID ids[4];
    CK_ULONG n = 0;
    ck_assert_rv(C_GetSlotList(CK_FALSE, NULL, NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK);
    ck_assert_uint_eq(n, 2);
    n = 1;
    ck_assert_rv(C_GetSlotList(CK_FALSE, ids, &n), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(n, 2);
    n = 4;
    ck_assert_rv(C_GetSlotList(CK_FALSE, ids, &n), CKR_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_ne(ids[0], ids[1]);
    mock_card_set_present(second, false);
    n = 4;
    ck_assert_rv(C_GetSlotList(CK_TRUE, ids, &n), CKR_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(ids[0], fx_slot);
    n = 4; /* the list never shrinks */
    ck_assert_rv(C_GetSlotList(CK_FALSE, ids, &n), CKR_OK);
    ck_assert_uint_eq(n, 2);
    fx_fini();
    mock_card_free(second);
}
END_TEST

START_TEST(slot_info_flags_and_padding)
{
    CK_SLOT_INFO si;
    fx_init();
    ck_assert_rv(C_GetSlotInfo(fx_slot, NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_GetSlotInfo(99, &si), CKR_SLOT_ID_INVALID);
    ck_assert_rv(C_GetSlotInfo(fx_slot, &si), CKR_OK);
    ck_assert(padded(si.slotDescription, 64, "mock reader"));
    ck_assert(padded(si.manufacturerID, 32, "vtoken test"));
    ck_assert_uint_eq(si.flags, CKF_REMOVABLE_DEVICE | CKF_TOKEN_PRESENT);
    mock_card_set_present(fx_card, false);
    ck_assert_rv(C_GetSlotInfo(fx_slot, &si), CKR_OK);
    ck_assert_uint_eq(si.flags, CKF_REMOVABLE_DEVICE);
    fx_fini();
}
END_TEST

START_TEST(token_info_fields)
{
    CK_TOKEN_INFO ti;
    fx_init();
    CK_SESSION_HANDLE ro = fx_open(false), rw = fx_open(true);
    (void)ro;
    (void)rw;
    ck_assert_rv(C_GetTokenInfo(fx_slot, NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_GetTokenInfo(7, &ti), CKR_SLOT_ID_INVALID);
    ck_assert_rv(C_GetTokenInfo(fx_slot, &ti), CKR_OK);
    ck_assert(padded(ti.label, 32, "mock token"));
    ck_assert(padded(ti.manufacturerID, 32, "vtoken tests"));
    ck_assert(padded(ti.model, 16, "mock"));
    ck_assert(padded(ti.serialNumber, 16, "0123456789ABCDEF"));
    ck_assert_uint_eq(ti.flags, CKF_RNG | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED |
                                    CKF_TOKEN_INITIALIZED);
    ck_assert_uint_eq(ti.ulMaxSessionCount, CK_EFFECTIVELY_INFINITE);
    ck_assert_uint_eq(ti.ulSessionCount, 2);
    ck_assert_uint_eq(ti.ulRwSessionCount, 1);
    ck_assert_uint_eq(ti.ulMinPinLen, 6);
    ck_assert_uint_eq(ti.ulMaxPinLen, 32);
    ck_assert_uint_eq(ti.ulTotalPublicMemory, 65536);
    ck_assert_uint_eq(ti.ulTotalPrivateMemory, CK_UNAVAILABLE_INFORMATION);
    ck_assert_uint_eq(ti.hardwareVersion.major, 1);
    ck_assert_uint_eq(ti.firmwareVersion.major, 2);
    mock_card_set_present(fx_card, false);
    ck_assert_rv(C_GetTokenInfo(fx_slot, &ti), CKR_TOKEN_NOT_PRESENT);
    fx_fini();
}
END_TEST

START_TEST(removal_closes_sessions_and_logs_out)
{
    CK_SESSION_INFO si;
    fx_init();
    CK_SESSION_HANDLE h = fx_open(true);
    fx_login(h);
    mock_card_set_present(fx_card, false);
    ck_assert_rv(C_GetSessionInfo(h, &si), CKR_DEVICE_REMOVED);
    ck_assert_rv(C_GetSessionInfo(h, &si), CKR_SESSION_HANDLE_INVALID);
    ck_assert_rv(C_OpenSession(fx_slot, CKF_SERIAL_SESSION, NULL, NULL, &h), CKR_TOKEN_NOT_PRESENT);
    mock_card_set_present(fx_card, true);
    h = fx_open(false);
    ck_assert_rv(C_GetSessionInfo(h, &si), CKR_OK);
    ck_assert_uint_eq(si.state, CKS_RO_PUBLIC_SESSION); /* a new insertion: logged out */
    fx_fini();
}
END_TEST

START_TEST(events_without_blocking)
{
    CK_SLOT_ID slot = 99;
    fx_init();
    ck_assert_rv(C_WaitForSlotEvent(CKF_DONT_BLOCK, NULL, NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, &slot), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_NO_EVENT);
    mock_card_set_present(fx_card, false);
    ck_assert_rv(C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_OK);
    ck_assert_uint_eq(slot, fx_slot);
    ck_assert_rv(C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_NO_EVENT);
    mock_card_set_present(fx_card, true);
    slot = 99;
    ck_assert_rv(C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_OK);
    ck_assert_uint_eq(slot, fx_slot);
    ck_assert_rv(C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_NO_EVENT);
    fx_fini();
}
END_TEST

typedef struct waiter {
    pthread_t th;
    CK_RV rv;
    CK_SLOT_ID slot;
} waiter;

static void *wait_thread(void *arg)
{
    waiter *w = arg;
    w->rv = C_WaitForSlotEvent(0, &w->slot, NULL);
    return NULL;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

START_TEST(blocking_wait_returns_on_removal)
{
    waiter w = {.slot = 99};
    fx_init();
    ck_assert_int_eq(pthread_create(&w.th, NULL, wait_thread, &w), 0);
    pause_ms(100); /* let it block; the result does not depend on it */
    mock_card_set_present(fx_card, false);
    ck_assert_int_eq(pthread_join(w.th, NULL), 0);
    ck_assert_rv(w.rv, CKR_OK);
    ck_assert_uint_eq(w.slot, fx_slot);
    fx_fini();
}
END_TEST

START_TEST(finalize_cancels_blocking_wait)
{
    waiter w = {.slot = 99};
    fx_init();
    ck_assert_int_eq(pthread_create(&w.th, NULL, wait_thread, &w), 0);
    pause_ms(100);
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    ck_assert_int_eq(pthread_join(w.th, NULL), 0);
    ck_assert_rv(w.rv, CKR_CRYPTOKI_NOT_INITIALIZED);
    ck_assert_uint_eq(w.slot, 99);
    p11_test_clear_slots();
    mock_card_free(fx_card);
}
END_TEST

START_TEST(vendor_option_shows_one_family)
{
    mock_config cfg;
    mock_config_default(&cfg);
    mock_card *kz = mock_card_new(&cfg), *et = mock_card_new(&cfg);
    ck_assert_rv(p11_test_register_slot("DigiFlow LLP. KAZTOKEN", "kaztoken", mock_open, kz),
                 CKR_OK);
    ck_assert_rv(p11_test_register_slot("SafeNet Token JC", "etoken", mock_open, et), CKR_OK);
    CK_C_INITIALIZE_ARGS a = {.flags = CKF_OS_LOCKING_OK, .pReserved = "vendor=etoken"};
    ck_assert_rv(C_Initialize(&a), CKR_OK);
    CK_SLOT_ID ids[4];
    CK_ULONG n = 4;
    ck_assert_rv(C_GetSlotList(CK_FALSE, ids, &n), CKR_OK);
    ck_assert_uint_eq(n, 1);
    CK_SLOT_INFO si;
    ck_assert_rv(C_GetSlotInfo(ids[0], &si), CKR_OK);
    ck_assert(padded(si.slotDescription, 64, "SafeNet Token JC"));
    CK_INFO info;
    ck_assert_rv(C_GetInfo(&info), CKR_OK);
    ck_assert(padded(info.manufacturerID, 32, "SafeNet, Inc."));
    ck_assert(padded(info.libraryDescription, 32, "SafeNet eToken PKCS#11"));
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    /* vendor=all: everything, and our own strings */
    a.pReserved = "vendor=all";
    ck_assert_rv(C_Initialize(&a), CKR_OK);
    n = 4;
    ck_assert_rv(C_GetSlotList(CK_FALSE, ids, &n), CKR_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_rv(C_GetInfo(&info), CKR_OK);
    ck_assert(padded(info.manufacturerID, 32, "vtoken"));
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    p11_test_clear_slots();
    mock_card_free(kz);
    mock_card_free(et);
}
END_TEST

Suite *slot_suite(void)
{
    Suite *s = suite_create("p11_slot");
    TCase *tc = tcase_create("slot");
    tcase_add_test(tc, slot_list_sizes_and_presence);
    tcase_add_test(tc, slot_info_flags_and_padding);
    tcase_add_test(tc, token_info_fields);
    tcase_add_test(tc, removal_closes_sessions_and_logs_out);
    tcase_add_test(tc, events_without_blocking);
    tcase_add_test(tc, blocking_wait_returns_on_removal);
    tcase_add_test(tc, finalize_cancels_blocking_wait);
    tcase_add_test(tc, vendor_option_shows_one_family);
    suite_add_tcase(s, tc);
    return s;
}
