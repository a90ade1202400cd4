/* Concurrency: several threads with their own sessions signing, finding, digesting and
 * creating session objects at once through the module lock, OS locks and the
 * application's mutexes alike. Run under ASan (and TSan by hand) to catch races. */
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

#include "p11_test.h"

#define THREADS 8
#define ROUNDS  40

typedef struct worker {
    pthread_t th;
    int fails;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    CK_SESSION_HANDLE h;
    if (C_OpenSession(fx_slot, CKF_SERIAL_SESSION, NULL, NULL, &h) != CKR_OK) {
        w->fails++;
        return NULL;
    }
    CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY, data = CKO_DATA;
    CK_ATTRIBUTE q = {CKA_CLASS, &priv, sizeof(priv)};
    for (int r = 0; r < ROUNDS; r++) {
        CK_OBJECT_HANDLE key, o;
        CK_ULONG n = 0;
        if (C_FindObjectsInit(h, &q, 1) != CKR_OK || C_FindObjects(h, &key, 1, &n) != CKR_OK ||
            C_FindObjectsFinal(h) != CKR_OK || n != 1) {
            w->fails++;
            continue;
        }
        CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
        CK_BYTE sig[128];
        CK_ULONG sl = sizeof(sig);
        if (C_SignInit(h, &m, key) != CKR_OK || C_Sign(h, (CK_BYTE_PTR) "x", 1, sig, &sl) != CKR_OK)
            w->fails++;
        CK_MECHANISM d = {CKM_SHA_1, NULL, 0};
        CK_BYTE dig[20];
        CK_ULONG dl = sizeof(dig);
        if (C_DigestInit(h, &d) != CKR_OK || C_Digest(h, (CK_BYTE_PTR) "x", 1, dig, &dl) != CKR_OK)
            w->fails++;
        CK_ATTRIBUTE t = {CKA_CLASS, &data, sizeof(data)};
        if (C_CreateObject(h, &t, 1, &o) != CKR_OK || C_DestroyObject(h, o) != CKR_OK)
            w->fails++;
    }
    if (C_CloseSession(h) != CKR_OK)
        w->fails++;
    return NULL;
}

static void run_workers(void)
{
    worker w[THREADS];
    memset(w, 0, sizeof(w));
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&w[i].th, NULL, work, &w[i]), 0);
    for (int i = 0; i < THREADS; i++) {
        ck_assert_int_eq(pthread_join(w[i].th, NULL), 0);
        ck_assert_int_eq(w[i].fails, 0);
    }
}

START_TEST(threads_with_os_locks)
{
    fx_init();
    mock_card_add_keypair(fx_card, mock_key(0), "\x01", "k", false, true, true);
    CK_SESSION_HANDLE keep = fx_open(false);
    fx_login(keep); /* one login for all the application's sessions */
    run_workers();
    fx_fini();
}
END_TEST

static pthread_mutex_t app_mutex_storage[4];
static int app_mutexes;
static CK_RV a_create(CK_VOID_PTR_PTR m)
{
    pthread_mutex_t *mx = &app_mutex_storage[app_mutexes++ % 4];
    pthread_mutex_init(mx, NULL);
    *m = mx;
    return CKR_OK;
}
static CK_RV a_destroy(CK_VOID_PTR m)
{
    pthread_mutex_destroy(m);
    return CKR_OK;
}
static CK_RV a_lock(CK_VOID_PTR m)
{
    return pthread_mutex_lock(m) == 0 ? CKR_OK : CKR_MUTEX_BAD;
}
static CK_RV a_unlock(CK_VOID_PTR m)
{
    return pthread_mutex_unlock(m) == 0 ? CKR_OK : CKR_MUTEX_NOT_LOCKED;
}

START_TEST(threads_with_application_mutexes)
{
    mock_config cfg;
    mock_config_default(&cfg);
    fx_card = mock_card_new(&cfg);
    mock_card_add_keypair(fx_card, mock_key(0), "\x01", "k", false, true, true);
    ck_assert_rv(p11_test_register_slot("mock", NULL, mock_open, fx_card), CKR_OK);
    CK_C_INITIALIZE_ARGS a = {a_create, a_destroy, a_lock, a_unlock, 0, NULL};
    ck_assert_rv(C_Initialize(&a), CKR_OK);
    CK_SESSION_HANDLE keep = fx_open(false);
    fx_login(keep);
    run_workers();
    fx_fini();
}
END_TEST

Suite *threads_suite(void)
{
    Suite *s = suite_create("p11_threads");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, threads_with_os_locks);
    tcase_add_test(tc, threads_with_application_mutexes);
    suite_add_tcase(s, tc);
    return s;
}
