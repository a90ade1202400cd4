/* Find speed with 1,000 session objects (plus a card's worth of token objects): the
 * time of C_FindObjectsInit + C_FindObjects + C_FindObjectsFinal for one object by
 * CKA_LABEL, by CKA_ID and by CKA_CLASS + CKA_ID. A measurement, not a test: it prints
 * microseconds per find and exits 0. Run: build-p11/pkcs11/p11_bench_find */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>

#include "mock_token.h"
#include "p11.h"
#include "testhook.h"

#define N_OBJECTS 1000
#define ROUNDS    20000

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void check(CK_RV rv, const char *what)
{
    if (rv != CKR_OK) {
        fprintf(stderr, "%s: 0x%lx\n", what, rv);
        exit(1);
    }
}

static double bench(CK_SESSION_HANDLE h, CK_ATTRIBUTE *t, CK_ULONG n, const char *name)
{
    CK_OBJECT_HANDLE found[4];
    CK_ULONG got = 0;
    double t0 = now_us();
    for (int r = 0; r < ROUNDS; r++) {
        check(C_FindObjectsInit(h, t, n), "C_FindObjectsInit");
        check(C_FindObjects(h, found, 4, &got), "C_FindObjects");
        check(C_FindObjectsFinal(h), "C_FindObjectsFinal");
    }
    double per = (now_us() - t0) / ROUNDS;
    printf("%-28s %8.3f us per find (%lu match)\n", name, per, got);
    return per;
}

int main(void)
{
    mock_config cfg;
    mock_config_default(&cfg);
    mock_card *card = mock_card_new(&cfg);
    for (int i = 0; i < 20; i++) /* a card's worth of token objects too */
        mock_card_add_data(card, "token data", "v", false);
    check(p11_test_register_slot("bench", NULL, mock_open, card), "register");
    check(C_Initialize(NULL), "C_Initialize");
    CK_SESSION_HANDLE h;
    check(C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h), "C_OpenSession");

    CK_OBJECT_CLASS data = CKO_DATA, pub = CKO_PUBLIC_KEY;
    CK_KEY_TYPE rsa = CKK_RSA;
    BIGNUM *bn = NULL;
    CK_BYTE n[256], e[] = {1, 0, 1};
    EVP_PKEY_get_bn_param(mock_key(0), OSSL_PKEY_PARAM_RSA_N, &bn);
    int nl = BN_bn2bin(bn, n);
    BN_free(bn);
    char label[32];
    for (int i = 0; i < N_OBJECTS; i++) {
        CK_OBJECT_HANDLE o;
        CK_BYTE id[4] = {'I', 'D', (CK_BYTE)(i >> 8), (CK_BYTE)i};
        snprintf(label, sizeof(label), "object %04d", i);
        CK_ATTRIBUTE d[] = {{CKA_CLASS, &data, sizeof(data)}, {CKA_LABEL, label, strlen(label)}};
        CK_ATTRIBUTE k[] = {{CKA_CLASS, &pub, sizeof(pub)},
                            {CKA_KEY_TYPE, &rsa, sizeof(rsa)},
                            {CKA_ID, id, sizeof(id)},
                            {CKA_MODULUS, n, (CK_ULONG)nl},
                            {CKA_PUBLIC_EXPONENT, e, sizeof(e)}};
        check(C_CreateObject(h, i % 2 ? k : d, i % 2 ? 5 : 2, &o), "C_CreateObject");
    }
    CK_BYTE id[4] = {'I', 'D', 0x01, 0xf3}; /* object 499 */
    CK_ATTRIBUTE by_label = {CKA_LABEL, "object 0500", 11};
    CK_ATTRIBUTE by_id = {CKA_ID, id, sizeof(id)};
    CK_ATTRIBUTE by_class_id[] = {{CKA_CLASS, &pub, sizeof(pub)}, {CKA_ID, id, sizeof(id)}};
    printf("%d session objects, %d rounds each\n", N_OBJECTS, ROUNDS);
    double worst = bench(h, &by_label, 1, "CKA_LABEL");
    double t = bench(h, &by_id, 1, "CKA_ID");
    worst = t > worst ? t : worst;
    t = bench(h, by_class_id, 2, "CKA_CLASS + CKA_ID");
    worst = t > worst ? t : worst;
    printf("slowest: %.3f us (%.5f ms)\n", worst, worst / 1000.0);
    C_Finalize(NULL);
    p11_test_clear_slots();
    mock_card_free(card);
    return 0;
}
