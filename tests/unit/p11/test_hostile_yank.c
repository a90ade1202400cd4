/* The card pulled at every APDU of an object write, through the module, on each card
 * family: a fault plan (REMOVE after N APDUs) takes the card out in the middle of
 * "generate a key pair, write a certificate, remove it", for N = 1, 2, ... until the
 * whole sequence fits. A pulled card keeps what its APDUs wrote (each one is on its
 * EEPROM), so the card is left with whatever an interrupted sequence leaves: key
 * objects without a PrKDF entry, EFs without a CDF entry, entries whose EF is gone.
 * Afterwards, with the card back, the token still lists, every object on it is whole
 * (keys sign, certificates read back to the byte), the objects made before are intact,
 * and the same sequence succeeds. Found by tests/integration/test-torture.sh: a key
 * reference with a leftover key object failed every later generation (6A89), a
 * certificate written into a leftover EF gained its stale tail, and a CDF entry left
 * behind its removed EF failed every listing. */
#include <stdio.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fault.h"
#include "test_misuse.h"

Suite *hostile_yank_suite(void); /* main.c */

/* A certificate of n bytes or so whose DER the test knows: a copy of NCA's with its
 * serial changed, enough for the card (the module parses subject, issuer, serial). */
static size_t make_cert(uint8_t *out, size_t cap, uint8_t tag)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/nca/AUTH_RSA256_b2c70a9ff7a5dc59de0ccc3c0ddde3437cc1f12d.cer",
             VT_SHARED_VECTORS_DIR);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(x);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 0x5EED00 + tag);
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    ck_assert_int_gt(n, 0);
    ck_assert_uint_le((size_t)n, cap);
    memcpy(out, der, (size_t)n);
    OPENSSL_free(der);
    X509_free(x);
    return (size_t)n;
}

typedef struct arm {
    uint32_t n;
} arm;

static sim_status plan_remove(sim_fault_plan *plan, void *arg)
{
    const arm *a = arg;
    sim_fault f = {.kind = SIM_FAULT_REMOVE, .ins = SIM_FAULT_ANY_INS, .nth = a->n};
    char why[128];
    plan->n = 0;
    return sim_fault_plan_add(plan, &f, why, sizeof(why));
}

static sim_status plan_clear(sim_fault_plan *plan, void *arg)
{
    (void)arg;
    plan->n = 0;
    return SIM_OK;
}

static CK_OBJECT_HANDLE find(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls, CK_BYTE id)
{
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_ID, &id, 1}};
    CK_OBJECT_HANDLE o[2];
    CK_ULONG n = 0;
    ck_assert_rv(C_FindObjectsInit(h, t, 2), CKR_OK);
    ck_assert_rv(C_FindObjects(h, o, 2, &n), CKR_OK);
    ck_assert_rv(C_FindObjectsFinal(h), CKR_OK);
    ck_assert_msg(n <= 1, "%lu objects of class %lu with id %02X", n, cls, id);
    return n == 1 ? o[0] : CK_INVALID_HANDLE;
}

/* The steps: key pair `id`, certificate `id` (certificate value cert), removal of the
 * certificate. Returns the first failure (CKR_OK when all went through). */
static CK_RV sequence(CK_SESSION_HANDLE h, CK_BYTE id, const uint8_t *cert, size_t clen)
{
    CK_MECHANISM gen = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    CK_ULONG bits = 1024, cls = CKO_CERTIFICATE, ct = CKC_X_509;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE pubt[] = {
        {CKA_MODULUS_BITS, &bits, sizeof(bits)}, {CKA_TOKEN, &yes, sizeof(yes)}, {CKA_ID, &id, 1}};
    CK_ATTRIBUTE privt[] = {
        {CKA_SIGN, &yes, sizeof(yes)}, {CKA_TOKEN, &yes, sizeof(yes)}, {CKA_ID, &id, 1}};
    CK_ATTRIBUTE certt[] = {{CKA_CLASS, &cls, sizeof(cls)},
                            {CKA_CERTIFICATE_TYPE, &ct, sizeof(ct)},
                            {CKA_TOKEN, &yes, sizeof(yes)},
                            {CKA_ID, &id, 1},
                            {CKA_VALUE, (void *)cert, clen}};
    CK_OBJECT_HANDLE pub, priv, c;
    CK_RV rv = C_GenerateKeyPair(h, &gen, pubt, 3, privt, 3, &pub, &priv);
    if (rv == CKR_OK)
        rv = C_CreateObject(h, certt, 5, &c);
    if (rv == CKR_OK)
        rv = C_DestroyObject(h, c);
    return rv;
}

/* Every object on the token whole: keys sign (and verify with their public half),
 * certificates read back as DER of exactly their length. */
static void all_whole(CK_SESSION_HANDLE h)
{
    CK_OBJECT_HANDLE o[64];
    CK_ULONG n = 0;
    ck_assert_rv(C_FindObjectsInit(h, NULL, 0), CKR_OK);
    ck_assert_rv(C_FindObjects(h, o, 64, &n), CKR_OK);
    ck_assert_rv(C_FindObjectsFinal(h), CKR_OK);
    for (CK_ULONG i = 0; i < n; i++) {
        CK_OBJECT_CLASS cls;
        CK_BYTE v[4096];
        CK_ATTRIBUTE a[] = {{CKA_CLASS, &cls, sizeof(cls)}};
        ck_assert_rv(C_GetAttributeValue(h, o[i], a, 1), CKR_OK);
        if (cls == CKO_CERTIFICATE) {
            CK_ATTRIBUTE va[] = {{CKA_VALUE, v, sizeof(v)}};
            ck_assert_rv(C_GetAttributeValue(h, o[i], va, 1), CKR_OK);
            const unsigned char *p = v;
            X509 *x = d2i_X509(NULL, &p, (long)va[0].ulValueLen);
            ck_assert_ptr_nonnull(x);
            ck_assert_msg(p == v + va[0].ulValueLen, "certificate of %lu bytes holds %ld of DER",
                          va[0].ulValueLen, (long)(p - v));
            X509_free(x);
        } else if (cls == CKO_PRIVATE_KEY) {
            CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
            CK_BYTE sig[512];
            CK_ULONG sl = sizeof(sig);
            ck_assert_rv(C_SignInit(h, &m, o[i]), CKR_OK);
            ck_assert_rv(C_Sign(h, (CK_BYTE_PTR) "yank", 4, sig, &sl), CKR_OK);
        }
    }
}

START_TEST(test_card_pulled_at_every_apdu)
{
    mz_token *t = &mz_tokens[_i];
    char image[512];
    uint8_t cert[4096], cert2[4096];
    size_t clen = make_cert(cert, sizeof(cert), 1), clen2 = make_cert(cert2, sizeof(cert2), 2);
    CK_SESSION_HANDLE h;
    bool whole = false;

    mz_setup();
    snprintf(image, sizeof(image), "%s/tokens/%s.img", mz_home(), t->name);
    /* what is there before: a key pair and a certificate of id 01 */
    mz_keys(t, &h);
    CK_ULONG cls = CKO_CERTIFICATE, ct = CKC_X_509;
    CK_BBOOL yes = CK_TRUE;
    CK_BYTE id1 = 0x4D; /* mz_keys' id */
    CK_ATTRIBUTE certt[] = {{CKA_CLASS, &cls, sizeof(cls)},
                            {CKA_CERTIFICATE_TYPE, &ct, sizeof(ct)},
                            {CKA_TOKEN, &yes, sizeof(yes)},
                            {CKA_ID, &id1, 1},
                            {CKA_VALUE, cert, clen}};
    CK_OBJECT_HANDLE c1;
    ck_assert_rv(C_CreateObject(h, certt, 5, &c1), CKR_OK);
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    ck_assert_rv(mz_initialize(), CKR_OK);
    h = mz_open(t, true);
    mz_login(t, h);
    ck_assert(find(h, CKO_PRIVATE_KEY, id1) != CK_INVALID_HANDLE);

    for (uint32_t n = 1; !whole; n++) {
        arm a = {n};
        ck_assert_uint_lt(n, 400); /* the sequence takes far fewer APDUs */
        ck_assert_int_eq(sim_fault_plan_edit(image, plan_remove, &a, NULL, 0), SIM_OK);
        CK_RV rv = sequence(h, (CK_BYTE)(0x80 + n % 100), cert2, clen2);
        sim_fault_plan plan;
        ck_assert_int_eq(sim_fault_plan_read(image, &plan, NULL, 0), SIM_OK);
        /* done when the whole sequence went through (the card may leave right after
         * its last answer); a failure is the pull's doing */
        whole = rv == CKR_OK;
        ck_assert_msg(whole || (plan.n == 1 && plan.f[0].fired > 0), "n=%u: %s with the card in", n,
                      p11_rv_name(rv));
        /* the card back, a fresh start */
        ck_assert_int_eq(sim_fault_plan_edit(image, plan_clear, NULL, NULL, 0), SIM_OK);
        ck_assert_rv(C_Finalize(NULL), CKR_OK);
        ck_assert_rv(mz_initialize(), CKR_OK);
        h = mz_open(t, true);
        mz_login(t, h);
        all_whole(h);
        /* what the interrupted sequence left goes, so the card never fills up */
        static const CK_OBJECT_CLASS classes[] = {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_CERTIFICATE};
        for (size_t k = 0; k < 3; k++) {
            CK_OBJECT_HANDLE o = find(h, classes[k], (CK_BYTE)(0x80 + n % 100));
            if (o != CK_INVALID_HANDLE)
                ck_assert_rv(C_DestroyObject(h, o), CKR_OK);
        }
        ck_assert(find(h, CKO_PRIVATE_KEY, id1) != CK_INVALID_HANDLE);
        ck_assert(find(h, CKO_CERTIFICATE, id1) != CK_INVALID_HANDLE);
        /* and the card still takes the whole sequence */
        ck_assert_rv(sequence(h, 0xEE, cert2, clen2), CKR_OK);
        CK_OBJECT_HANDLE pub = find(h, CKO_PUBLIC_KEY, 0xEE), priv = find(h, CKO_PRIVATE_KEY, 0xEE);
        ck_assert(pub != CK_INVALID_HANDLE && priv != CK_INVALID_HANDLE);
        ck_assert_rv(C_DestroyObject(h, priv), CKR_OK);
        ck_assert_rv(C_DestroyObject(h, pub), CKR_OK);
    }
    mz_teardown();
}
END_TEST

Suite *hostile_yank_suite(void)
{
    Suite *s = suite_create("hostile_yank");
    TCase *tc = tcase_create("hostile_yank");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_card_pulled_at_every_apdu, 0, 3); /* the three cards */
    suite_add_tcase(s, tc);
    return s;
}
