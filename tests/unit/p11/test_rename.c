/* Renaming a key pair through the module, on every driver: a key pair made on the token,
 * the private key's CKA_ID changed, then the public key's, and a signature after each
 * step and after the module is loaded again. A rename changes a name, never the key: the
 * private key keeps CKA_MODULUS and signs throughout. PKCS#12 files keep NCA's names and
 * refuse the rename without harm. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11_test.h"
#include "test_drv_pkcs12.h"

#include "p12.h"

static const struct family {
    const char *name;
    const char *user_pin;
} families[] = {
    {"kaztoken", "12345678"},
    {"etoken", "1234567890"},
    {"jacarta", "1234567890"},
};

static char home[64];

static void rmrf(const char *d)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
    ck_assert_int_eq(system(cmd), 0);
}

static void setup(void)
{
    p11_test_clear_slots();
    strcpy(home, "/tmp/vt-ren-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(home));
}

static void teardown(void)
{
    C_Finalize(NULL);
    rmrf(home);
}

static CK_SESSION_HANDLE open_family(const struct family *f)
{
    char opts[256];
    CK_SLOT_ID ids[8];
    CK_ULONG n = 8;
    CK_SESSION_HANDLE h;

    snprintf(opts, sizeof(opts), "home=%s pcsc=0 pkcs12=0 vendor=%s", home, f->name);
    CK_C_INITIALIZE_ARGS a = {.flags = CKF_OS_LOCKING_OK, .pReserved = (void *)opts};
    ck_assert_rv(C_Initialize(&a), CKR_OK);
    ck_assert_rv(C_GetSlotList(CK_TRUE, ids, &n), CKR_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_rv(C_OpenSession(ids[0], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h),
                 CKR_OK);
    ck_assert_rv(C_Login(h, CKU_USER, PIN(f->user_pin)), CKR_OK);
    return h;
}

/* The one object of cls with CKA_ID id. */
static CK_OBJECT_HANDLE by_id(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls, const char *id)
{
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_ID, (void *)id, strlen(id)}};
    CK_OBJECT_HANDLE o[2];
    CK_ULONG n = 0;

    ck_assert_rv(C_FindObjectsInit(h, t, 2), CKR_OK);
    ck_assert_rv(C_FindObjects(h, o, 2, &n), CKR_OK);
    ck_assert_rv(C_FindObjectsFinal(h), CKR_OK);
    ck_assert_uint_eq(n, 1);
    return o[0];
}

static void set_id(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, const char *id, CK_RV want)
{
    CK_ATTRIBUTE t = {CKA_ID, (void *)id, strlen(id)};
    ck_assert_rv(C_SetAttributeValue(h, o, &t, 1), want);
}

/* priv still shows pub's modulus, signs, and pub verifies the signature. */
static void assert_pair_works(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pub)
{
    uint8_t n_priv[512], n_pub[512], sig[512];
    CK_ATTRIBUTE a = {CKA_MODULUS, n_priv, sizeof(n_priv)};
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_ULONG len, sig_len = sizeof(sig);

    ck_assert_rv(C_GetAttributeValue(h, priv, &a, 1), CKR_OK);
    len = a.ulValueLen;
    ck_assert_uint_eq(len, 128);
    a.pValue = n_pub;
    a.ulValueLen = sizeof(n_pub);
    ck_assert_rv(C_GetAttributeValue(h, pub, &a, 1), CKR_OK);
    ck_assert_uint_eq(a.ulValueLen, len);
    ck_assert_mem_eq(n_priv, n_pub, len);
    ck_assert_rv(C_SignInit(h, &m, priv), CKR_OK);
    ck_assert_rv(C_Sign(h, (CK_BYTE_PTR) "hello", 5, sig, &sig_len), CKR_OK);
    ck_assert_uint_eq(sig_len, 128);
    ck_assert_rv(C_VerifyInit(h, &m, pub), CKR_OK);
    ck_assert_rv(C_Verify(h, (CK_BYTE_PTR) "hello", 5, sig, sig_len), CKR_OK);
}

static void generate(CK_SESSION_HANDLE h, const char *id, CK_OBJECT_HANDLE *pub,
                     CK_OBJECT_HANDLE *priv)
{
    CK_MECHANISM gen = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    CK_ULONG bits = 1024;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE pubt[] = {{CKA_MODULUS_BITS, &bits, sizeof(bits)},
                           {CKA_TOKEN, &yes, 1},
                           {CKA_VERIFY, &yes, 1},
                           {CKA_ID, (void *)id, strlen(id)}};
    CK_ATTRIBUTE privt[] = {{CKA_TOKEN, &yes, 1},
                            {CKA_PRIVATE, &yes, 1},
                            {CKA_SIGN, &yes, 1},
                            {CKA_ID, (void *)id, strlen(id)}};

    ck_assert_rv(C_GenerateKeyPair(h, &gen, pubt, 4, privt, 4, pub, priv), CKR_OK);
}

/* _i: the family. The order the reporter used (the private key first), with a signature
 * after each step, and a fresh module in between: what the card keeps is what counts. */
START_TEST(card_rename_private_then_public)
{
    const struct family *f = &families[_i];
    CK_OBJECT_HANDLE pub, priv;
    CK_SESSION_HANDLE h = open_family(f);

    generate(h, "old", &pub, &priv);
    assert_pair_works(h, priv, pub);
    set_id(h, priv, "new", CKR_OK);
    assert_pair_works(h, priv, pub);

    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    h = open_family(f);
    priv = by_id(h, CKO_PRIVATE_KEY, "new");
    pub = by_id(h, CKO_PUBLIC_KEY, "old");
    assert_pair_works(h, priv, pub);
    set_id(h, pub, "new", CKR_OK);
    assert_pair_works(h, priv, pub);

    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    h = open_family(f);
    assert_pair_works(h, by_id(h, CKO_PRIVATE_KEY, "new"), by_id(h, CKO_PUBLIC_KEY, "new"));
}
END_TEST

/* The other order (tools/cmd_nca_reissue.c's): the public key first. */
START_TEST(card_rename_public_then_private)
{
    const struct family *f = &families[_i];
    CK_OBJECT_HANDLE pub, priv;
    CK_SESSION_HANDLE h = open_family(f);

    generate(h, "old", &pub, &priv);
    set_id(h, pub, "new", CKR_OK);
    assert_pair_works(h, priv, pub);

    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    h = open_family(f);
    priv = by_id(h, CKO_PRIVATE_KEY, "old");
    pub = by_id(h, CKO_PUBLIC_KEY, "new");
    assert_pair_works(h, priv, pub);
    set_id(h, priv, "new", CKR_OK);
    assert_pair_works(h, priv, pub);
}
END_TEST

/* Two pairs on one card, the second made after the first's private key was destroyed
 * (so its key reference may be reused): each private key shows its own modulus. */
START_TEST(card_rename_after_reused_reference)
{
    const struct family *f = &families[_i];
    CK_OBJECT_HANDLE pub1, priv1, pub2, priv2;
    CK_SESSION_HANDLE h = open_family(f);

    generate(h, "one", &pub1, &priv1);
    ck_assert_rv(C_DestroyObject(h, priv1), CKR_OK);
    generate(h, "two", &pub2, &priv2);
    set_id(h, priv2, "one", CKR_OK); /* now next to the first pair's public key */
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    h = open_family(f);
    priv2 = by_id(h, CKO_PRIVATE_KEY, "one");
    assert_pair_works(h, priv2, by_id(h, CKO_PUBLIC_KEY, "two"));
}
END_TEST

/* ---- the module's pairing: a card that shows no modulus on its private keys ---- */

/* The module lends such a key the public parts of the object with its CKA_ID (token.h);
 * a rename of either half pairs them again at once, without waiting for a listing. */
START_TEST(module_pairs_again_after_rename)
{
    mock_config cfg;
    mock_config_default(&cfg);
    fx_init_with(&cfg);
    mock_card_add_keypair(fx_card, mock_key(0), "old", "k", false, true, false);
    CK_SESSION_HANDLE h = fx_open(true);
    fx_login(h);
    CK_OBJECT_HANDLE priv = by_id(h, CKO_PRIVATE_KEY, "old");
    CK_OBJECT_HANDLE pub = by_id(h, CKO_PUBLIC_KEY, "old");
    assert_pair_works(h, priv, pub);
    set_id(h, priv, "new", CKR_OK);
    set_id(h, pub, "new", CKR_OK);
    assert_pair_works(h, priv, pub);
    fx_fini();
}
END_TEST

/* ---- PKCS#12: objects keep the names the file gives them ---- */

static void p12_setup(void)
{
    p11_test_clear_slots();
    pt_setup();
}

START_TEST(pkcs12_rename_is_refused)
{
    ks_p12_ctx *kctx = NULL;
    ks_p12 *p = NULL;
    char *why = NULL;
    char *path = pt_path("rename.p12");
    uint8_t id_before[64], id_after[64];
    CK_ULONG l_before, l_after;
    CK_OBJECT_HANDLE pub, priv;

    ck_assert_int_eq(ks_p12_ctx_new(&kctx), KS_OK);
    ck_assert_int_eq(
        ks_p12_create(kctx, path, PT_PW, strlen(PT_PW), KS_P12_STYLE_NCA, &KS_PWRULE_NCA, &p, &why),
        KS_OK);
    ks_p12_close(p);
    ks_p12_ctx_free(kctx);
    pt_init(NULL);
    CK_SESSION_HANDLE h = pt_login(pt_slot("rename.p12"), PT_PW, true);
    generate(h, "old", &pub, &priv);
    l_before = pt_attr(h, priv, CKA_ID, id_before, sizeof(id_before));
    ck_assert(!pt_bool(h, priv, CKA_MODIFIABLE));
    ck_assert(!pt_bool(h, pub, CKA_MODIFIABLE));
    /* PKCS#11 2.40, 4.4: an object with CKA_MODIFIABLE false cannot be changed */
    set_id(h, priv, "new", CKR_ACTION_PROHIBITED);
    set_id(h, pub, "new", CKR_ACTION_PROHIBITED);
    l_after = pt_attr(h, priv, CKA_ID, id_after, sizeof(id_after));
    ck_assert_uint_eq(l_after, l_before);
    ck_assert_mem_eq(id_after, id_before, l_before);
    pt_attr(h, pub, CKA_ID, id_after, sizeof(id_after));
    ck_assert_mem_eq(id_after, id_before, l_before);
    assert_pair_works(h, priv, pub);
    free(path);
}
END_TEST

Suite *rename_suite(void)
{
    Suite *s = suite_create("rename");
    TCase *tc = tcase_create("cards");
    int n = (int)(sizeof(families) / sizeof(families[0]));

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, card_rename_private_then_public, 0, n);
    tcase_add_loop_test(tc, card_rename_public_then_private, 0, n);
    tcase_add_loop_test(tc, card_rename_after_reused_reference, 0, n);
    suite_add_tcase(s, tc);

    tc = tcase_create("module");
    tcase_add_test(tc, module_pairs_again_after_rename);
    suite_add_tcase(s, tc);

    tc = tcase_create("pkcs12");
    tcase_add_checked_fixture(tc, p12_setup, pt_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, pkcs12_rename_is_refused);
    suite_add_tcase(s, tc);
    return s;
}
