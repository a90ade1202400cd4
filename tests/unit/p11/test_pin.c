/* PINs: wrong PINs cost tries and move the token flags (COUNT_LOW, FINAL_TRY, LOCKED),
 * a locked PIN stays locked, the SO unblocks with C_InitPIN, C_SetPIN under the token's
 * policy, C_InitToken, and context-specific login for always-authenticate keys. */
#include <string.h>

#include "p11_test.h"

static CK_FLAGS token_flags(void)
{
    CK_TOKEN_INFO ti;
    ck_assert_rv(C_GetTokenInfo(fx_slot, &ti), CKR_OK);
    return ti.flags;
}

#define USER_PIN_FLAGS (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED)
#define SO_PIN_FLAGS   (CKF_SO_PIN_COUNT_LOW | CKF_SO_PIN_FINAL_TRY | CKF_SO_PIN_LOCKED)

START_TEST(wrong_pins_count_down_to_lock)
{
    fx_init(); /* 3 tries */
    CK_SESSION_HANDLE h = fx_open(true);
    ck_assert_rv(C_Login(h, CKU_USER, NULL, 4), CKR_ARGUMENTS_BAD);
    ck_assert_uint_eq(token_flags() & USER_PIN_FLAGS, 0);
    ck_assert_rv(C_Login(h, CKU_USER, PIN("00000000")), CKR_PIN_INCORRECT);
    ck_assert_uint_eq(token_flags() & USER_PIN_FLAGS, CKF_USER_PIN_COUNT_LOW);
    ck_assert_int_eq(mock_card_user_tries(fx_card), 2);
    /* a PIN of impossible length is just wrong at C_Login, and costs a try on this card */
    ck_assert_rv(C_Login(h, CKU_USER, PIN("1")), CKR_PIN_INCORRECT);
    ck_assert_uint_eq(token_flags() & USER_PIN_FLAGS, CKF_USER_PIN_FINAL_TRY);
    ck_assert_rv(C_Login(h, CKU_USER, PIN("00000000")), CKR_PIN_INCORRECT);
    ck_assert_uint_eq(token_flags() & USER_PIN_FLAGS, CKF_USER_PIN_LOCKED);
    ck_assert_rv(C_Login(h, CKU_USER, PIN(USER_PIN)), CKR_PIN_LOCKED);
    ck_assert_uint_eq(token_flags() & USER_PIN_FLAGS, CKF_USER_PIN_LOCKED);
    /* survives a module restart: the counter is the card's */
    C_Finalize(NULL);
    ck_assert_rv(C_Initialize(NULL), CKR_OK);
    ck_assert_uint_eq(token_flags() & USER_PIN_FLAGS, CKF_USER_PIN_LOCKED);
    fx_fini();
}
END_TEST

START_TEST(right_pin_resets_counter)
{
    fx_init();
    CK_SESSION_HANDLE h = fx_open(true);
    ck_assert_rv(C_Login(h, CKU_USER, PIN("99999999")), CKR_PIN_INCORRECT);
    ck_assert_rv(C_Login(h, CKU_USER, PIN("99999999")), CKR_PIN_INCORRECT);
    ck_assert_uint_eq(token_flags() & USER_PIN_FLAGS, CKF_USER_PIN_FINAL_TRY);
    fx_login(h);
    ck_assert_uint_eq(token_flags() & USER_PIN_FLAGS, 0);
    fx_fini();
}
END_TEST

START_TEST(so_unblocks_and_sets_user_pin)
{
    fx_init();
    CK_SESSION_HANDLE h = fx_open(true);
    for (int i = 0; i < 3; i++)
        ck_assert_rv(C_Login(h, CKU_USER, PIN("00000000")), CKR_PIN_INCORRECT);
    ck_assert_rv(C_InitPIN(h, PIN("13572468")), CKR_USER_NOT_LOGGED_IN);
    ck_assert_rv(C_Login(h, CKU_SO, PIN("11111111")), CKR_PIN_INCORRECT);
    ck_assert_uint_eq(token_flags() & SO_PIN_FLAGS, CKF_SO_PIN_COUNT_LOW);
    ck_assert_rv(C_Login(h, CKU_SO, PIN(SO_PIN)), CKR_OK);
    ck_assert_uint_eq(token_flags() & SO_PIN_FLAGS, 0);
    ck_assert_rv(C_InitPIN(h, NULL, 8), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_InitPIN(h, PIN("123")), CKR_PIN_LEN_RANGE);
    ck_assert_rv(C_InitPIN(h, PIN("13572468")), CKR_OK);
    ck_assert_uint_eq(token_flags() & USER_PIN_FLAGS, 0);
    ck_assert_rv(C_Logout(h), CKR_OK);
    ck_assert_rv(C_Login(h, CKU_USER, PIN("13572468")), CKR_OK);
    fx_fini();
}
END_TEST

START_TEST(set_pin_user_and_so_under_policy)
{
    mock_config cfg;
    mock_config_default(&cfg);
    cfg.digits_only = true;
    fx_init_with(&cfg);
    CK_SESSION_HANDLE h = fx_open(true);
    /* not logged in: the user PIN changes */
    ck_assert_rv(C_SetPIN(h, NULL, 0, PIN("11223344")), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_SetPIN(h, PIN(USER_PIN), PIN("123")), CKR_PIN_LEN_RANGE);
    ck_assert_rv(C_SetPIN(h, PIN(USER_PIN), PIN("123456789012345678901234567890123")),
                 CKR_PIN_LEN_RANGE);
    ck_assert_rv(C_SetPIN(h, PIN(USER_PIN), PIN("abcdefgh")), CKR_PIN_INVALID);
    ck_assert_rv(C_SetPIN(h, PIN("00000000"), PIN("11223344")), CKR_PIN_INCORRECT);
    ck_assert_uint_eq(token_flags() & USER_PIN_FLAGS, CKF_USER_PIN_COUNT_LOW);
    ck_assert_rv(C_SetPIN(h, PIN(USER_PIN), PIN("11223344")), CKR_OK);
    ck_assert_rv(C_Login(h, CKU_USER, PIN(USER_PIN)), CKR_PIN_INCORRECT);
    ck_assert_rv(C_Login(h, CKU_USER, PIN("11223344")), CKR_OK);
    /* logged in as user: still the user PIN */
    ck_assert_rv(C_SetPIN(h, PIN("11223344"), PIN("55667788")), CKR_OK);
    ck_assert_rv(C_Logout(h), CKR_OK);
    /* SO logged in: the SO PIN */
    ck_assert_rv(C_Login(h, CKU_SO, PIN(SO_PIN)), CKR_OK);
    ck_assert_rv(C_SetPIN(h, PIN(SO_PIN), PIN("99887766")), CKR_OK);
    ck_assert_rv(C_Logout(h), CKR_OK);
    ck_assert_rv(C_Login(h, CKU_SO, PIN("99887766")), CKR_OK);
    fx_fini();
}
END_TEST

START_TEST(init_token_wipes_and_relabels)
{
    CK_SESSION_HANDLE h;
    fx_init_keys(&h);
    CK_UTF8CHAR label[32];
    memset(label, ' ', 32);
    memcpy(label, "fresh", 5);
    ck_assert_rv(C_InitToken(fx_slot, PIN(SO_PIN), label), CKR_SESSION_EXISTS);
    ck_assert_rv(C_CloseAllSessions(fx_slot), CKR_OK);
    ck_assert_rv(C_InitToken(fx_slot, NULL, 0, label), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_InitToken(fx_slot, PIN(SO_PIN), NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_InitToken(fx_slot, PIN("00000000"), label), CKR_PIN_INCORRECT);
    ck_assert_rv(C_InitToken(fx_slot, PIN(SO_PIN), label), CKR_OK);
    ck_assert_uint_eq(mock_card_object_count(fx_card), 0);
    CK_TOKEN_INFO ti;
    ck_assert_rv(C_GetTokenInfo(fx_slot, &ti), CKR_OK);
    ck_assert_mem_eq(ti.label, label, 32);
    ck_assert_uint_eq(ti.flags & CKF_USER_PIN_INITIALIZED, 0);
    h = fx_open(true);
    ck_assert_uint_eq(fx_find(h, CKO_CERTIFICATE, NULL, NULL), 0);
    ck_assert_rv(C_Login(h, CKU_USER, PIN(USER_PIN)), CKR_USER_PIN_NOT_INITIALIZED);
    ck_assert_rv(C_Login(h, CKU_SO, PIN(SO_PIN)), CKR_OK); /* SO PIN kept */
    ck_assert_rv(C_InitPIN(h, PIN("24681357")), CKR_OK);
    ck_assert_rv(C_Logout(h), CKR_OK);
    ck_assert_rv(C_Login(h, CKU_USER, PIN("24681357")), CKR_OK);
    fx_fini();
}
END_TEST

START_TEST(context_specific_login_per_signature)
{
    fx_init();
    mock_card_add_keypair(fx_card, mock_key(1), "\x02", "nonrep", true, true, true);
    CK_SESSION_HANDLE h = fx_open(false);
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_BYTE sig[128];
    CK_ULONG sl = sizeof(sig);
    ck_assert_rv(C_Login(h, CKU_CONTEXT_SPECIFIC, PIN(USER_PIN)), CKR_OPERATION_NOT_INITIALIZED);
    fx_login(h);
    CK_OBJECT_HANDLE key = fx_find_one(h, CKO_PRIVATE_KEY, "nonrep");
    ck_assert(fx_get_bool(h, key, CKA_ALWAYS_AUTHENTICATE));
    ck_assert_rv(C_Login(h, CKU_CONTEXT_SPECIFIC, PIN(USER_PIN)), CKR_OPERATION_NOT_INITIALIZED);
    /* without the context login the signature is refused, and the operation ends */
    ck_assert_rv(C_SignInit(h, &m, key), CKR_OK);
    ck_assert_rv(C_Sign(h, (CK_BYTE_PTR) "data", 4, NULL, &sl), CKR_OK); /* length only */
    ck_assert_rv(C_Sign(h, (CK_BYTE_PTR) "data", 4, sig, &sl), CKR_USER_NOT_LOGGED_IN);
    ck_assert_rv(C_Sign(h, (CK_BYTE_PTR) "data", 4, sig, &sl), CKR_OPERATION_NOT_INITIALIZED);
    /* with it: one signature */
    ck_assert_rv(C_SignInit(h, &m, key), CKR_OK);
    ck_assert_rv(C_Login(h, CKU_CONTEXT_SPECIFIC, PIN("00000000")), CKR_PIN_INCORRECT);
    ck_assert_rv(C_Login(h, CKU_CONTEXT_SPECIFIC, PIN(USER_PIN)), CKR_OK);
    sl = sizeof(sig);
    ck_assert_rv(C_Sign(h, (CK_BYTE_PTR) "data", 4, sig, &sl), CKR_OK);
    ck_assert_uint_eq(sl, 128);
    /* the next one needs its own login */
    ck_assert_rv(C_SignInit(h, &m, key), CKR_OK);
    ck_assert_rv(C_SignUpdate(h, (CK_BYTE_PTR) "da", 2), CKR_OK);
    ck_assert_rv(C_SignUpdate(h, (CK_BYTE_PTR) "ta", 2), CKR_OK);
    sl = sizeof(sig);
    ck_assert_rv(C_SignFinal(h, sig, &sl), CKR_USER_NOT_LOGGED_IN);
    ck_assert_rv(C_SignInit(h, &m, key), CKR_OK);
    ck_assert_rv(C_Login(h, CKU_CONTEXT_SPECIFIC, PIN(USER_PIN)), CKR_OK);
    ck_assert_rv(C_SignUpdate(h, (CK_BYTE_PTR) "data", 4), CKR_OK);
    sl = sizeof(sig);
    ck_assert_rv(C_SignFinal(h, sig, &sl), CKR_OK);
    fx_fini();
}
END_TEST

Suite *pin_suite(void)
{
    Suite *s = suite_create("p11_pin");
    TCase *tc = tcase_create("pin");
    tcase_add_test(tc, wrong_pins_count_down_to_lock);
    tcase_add_test(tc, right_pin_resets_counter);
    tcase_add_test(tc, so_unblocks_and_sets_user_pin);
    tcase_add_test(tc, set_pin_user_and_so_under_policy);
    tcase_add_test(tc, init_token_wipes_and_relabels);
    tcase_add_test(tc, context_specific_login_per_signature);
    suite_add_tcase(s, tc);
    return s;
}
