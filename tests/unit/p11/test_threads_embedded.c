/* Concurrency on embedded tokens (issue 9): eight threads mix C_Login/C_Logout, C_Sign,
 * C_FindObjects, C_GenerateKeyPair, C_GenerateRandom and object writes on two Kaztokens
 * of a throwaway $VTOKEN_HOME, some on sessions of their own and two on one shared
 * session. Every signature is verified with OpenSSL; the only errors accepted are the
 * ones a racing C_Logout explains. Afterwards the token objects are exactly what the
 * threads left, and the card images load again in a new module instance. Built with
 * -fsanitize=thread (scripts/tsan.sh) it is the data-race check of the module, the card
 * engine and the image lock. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "image.h"
#include "p11_test.h"

#define THREADS   8
#define ROUNDS    24
#define KEYGENS   3
#define KEY_BITS  1024 /* the threads' keys: the races are the same, the waits shorter */
#define DATA_KEEP 6    /* token data objects the writer leaves behind */

static char home[64];
static char opts[256];

typedef struct shared_session {
    CK_SESSION_HANDLE h;
    pthread_mutex_t op; /* the application's own serialisation of one session's operations */
} shared_session;

typedef struct worker {
    pthread_t th;
    int id;
    CK_SLOT_ID slot;
    shared_session *share; /* NULL: a session of its own */
    bool churned;          /* its token's login comes and goes (another thread logs out) */
    /* results */
    int fails;
    char why[256];
    unsigned signatures, verified, tolerated;
    /* the writer: labels of the token data objects it left */
    char left[DATA_KEEP][32];
    int nleft;
} worker;

static void rmrf(const char *d)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
    ck_assert_int_eq(system(cmd), 0);
}

static void write_conf(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/vtoken.conf", home);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("[token kaz1]\nprofile = kaztoken\n[token kaz2]\nprofile = kaztoken\n", f);
    ck_assert_int_eq(fclose(f), 0);
}

static void init_module(void)
{
    CK_C_INITIALIZE_ARGS a = {.flags = CKF_OS_LOCKING_OK, .pReserved = (void *)opts};
    ck_assert_rv(C_Initialize(&a), CKR_OK);
}

static void setup(void)
{
    p11_test_clear_slots();
    strcpy(home, "/tmp/vt-thr-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(home));
    snprintf(opts, sizeof(opts), "home=%s pcsc=0 pkcs12=0", home);
    write_conf();
}

static void teardown(void)
{
    C_Finalize(NULL);
    rmrf(home);
}

/* ---- helpers (thread-safe: results go into the worker) ---------------------------- */

__attribute__((format(printf, 2, 3))) static void wfail(worker *w, const char *fmt, ...)
{
    va_list ap;
    if (w->fails++ == 0) {
        va_start(ap, fmt);
        vsnprintf(w->why, sizeof(w->why), fmt, ap);
        va_end(ap);
    }
}

static EVP_PKEY *public_key(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key)
{
    CK_BYTE nb[512], eb[16];
    CK_ATTRIBUTE a[] = {{CKA_MODULUS, nb, sizeof(nb)}, {CKA_PUBLIC_EXPONENT, eb, sizeof(eb)}};
    EVP_PKEY *pk = NULL;
    if (C_GetAttributeValue(h, key, a, 2) != CKR_OK)
        return NULL;
    BIGNUM *n = BN_bin2bn(nb, (int)a[0].ulValueLen, NULL);
    BIGNUM *e = BN_bin2bn(eb, (int)a[1].ulValueLen, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *p = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (n && e && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) &&
        (p = OSSL_PARAM_BLD_to_param(bld)) != NULL && ctx && EVP_PKEY_fromdata_init(ctx) > 0 &&
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, p) <= 0)
        pk = NULL;
    OSSL_PARAM_free(p);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    BN_free(n);
    BN_free(e);
    return pk;
}

static bool verifies(EVP_PKEY *pub, const CK_BYTE *msg, size_t len, const CK_BYTE *sig,
                     size_t sig_len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) == 1 &&
              EVP_DigestVerify(md, sig, sig_len, msg, len) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

/* The private key labelled label: CKR_OK and *key, or what the module said. */
static CK_RV find_key(CK_SESSION_HANDLE h, const char *label, CK_OBJECT_HANDLE *key)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE q[] = {{CKA_CLASS, &cls, sizeof(cls)},
                        {CKA_LABEL, (void *)label, (CK_ULONG)strlen(label)}};
    CK_ULONG n = 0;
    CK_RV rv = C_FindObjectsInit(h, q, 2);
    if (rv != CKR_OK)
        return rv;
    rv = C_FindObjects(h, key, 1, &n);
    CK_RV rv2 = C_FindObjectsFinal(h);
    if (rv == CKR_OK)
        rv = rv2;
    return rv == CKR_OK && n != 1 ? CKR_OBJECT_HANDLE_INVALID : rv;
}

/* Errors a C_Logout of another thread explains: the login went, or the key handle
 * with it (private objects get new handles at the next login). */
static bool logout_race(CK_RV rv)
{
    return rv == CKR_USER_NOT_LOGGED_IN || rv == CKR_KEY_HANDLE_INVALID ||
           rv == CKR_OBJECT_HANDLE_INVALID;
}

/* Sign 32 bytes with key and check the signature with pub. */
static CK_RV sign_once(worker *w, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key, EVP_PKEY *pub,
                       int round)
{
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_BYTE msg[32], sig[512];
    CK_ULONG sl = sizeof(sig);
    char text[64];
    int tl = snprintf(text, sizeof(text), "thread %d round %d", w->id, round);
    memset(msg, '.', sizeof(msg));
    memcpy(msg, text, tl > 0 && (size_t)tl < sizeof(msg) ? (size_t)tl : sizeof(msg));
    if (w->share)
        pthread_mutex_lock(&w->share->op);
    CK_RV rv = C_SignInit(h, &m, key);
    if (rv == CKR_OK)
        rv = C_Sign(h, msg, sizeof(msg), sig, &sl);
    if (w->share)
        pthread_mutex_unlock(&w->share->op);
    if (rv != CKR_OK)
        return rv;
    w->signatures++;
    if (!pub || !verifies(pub, msg, sizeof(msg), sig, sl))
        wfail(w, "round %d: a signature does not verify", round);
    else
        w->verified++;
    return CKR_OK;
}

static CK_RV keygen(CK_SESSION_HANDLE h, const char *label, CK_OBJECT_HANDLE *pub,
                    CK_OBJECT_HANDLE *priv)
{
    CK_MECHANISM m = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    CK_ULONG bits = KEY_BITS;
    CK_BBOOL yes = CK_TRUE;
    CK_BYTE id[8];
    memcpy(id, label, strlen(label) < sizeof(id) ? strlen(label) : sizeof(id));
    CK_ATTRIBUTE pt[] = {{CKA_MODULUS_BITS, &bits, sizeof(bits)},
                         {CKA_TOKEN, &yes, sizeof(yes)},
                         {CKA_LABEL, (void *)label, (CK_ULONG)strlen(label)},
                         {CKA_ID, id, sizeof(id)}};
    CK_ATTRIBUTE kt[] = {{CKA_TOKEN, &yes, sizeof(yes)},
                         {CKA_PRIVATE, &yes, sizeof(yes)},
                         {CKA_SIGN, &yes, sizeof(yes)},
                         {CKA_LABEL, (void *)label, (CK_ULONG)strlen(label)},
                         {CKA_ID, id, sizeof(id)}};
    return C_GenerateKeyPair(h, &m, pt, 4, kt, 5, pub, priv);
}

static CK_RV data_object(CK_SESSION_HANDLE h, bool token, const char *label, const char *value,
                         CK_OBJECT_HANDLE *o)
{
    CK_OBJECT_CLASS cls = CKO_DATA;
    CK_BBOOL tok = token ? CK_TRUE : CK_FALSE;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)},
                        {CKA_TOKEN, &tok, sizeof(tok)},
                        {CKA_LABEL, (void *)label, (CK_ULONG)strlen(label)},
                        {CKA_VALUE, (void *)value, (CK_ULONG)strlen(value)}};
    return C_CreateObject(h, t, 4, o);
}

/* ---- the roles ------------------------------------------------------------------ */

/* Sign with the token's key "main" (and find it), random bytes, session objects. On a
 * churned token a racing logout may take the login: log in again, find the key again. */
static void signer(worker *w, CK_SESSION_HANDLE h)
{
    CK_OBJECT_HANDLE key = 0;
    EVP_PKEY *pub = NULL;
    for (int r = 0; r < ROUNDS && w->fails == 0; r++) {
        CK_RV rv = CKR_OK;
        if (!key) {
            /* a find is an operation of the session too: the sharer serialises it */
            if (w->share)
                pthread_mutex_lock(&w->share->op);
            rv = find_key(h, "main", &key);
            if (w->share)
                pthread_mutex_unlock(&w->share->op);
            if (rv == CKR_OK) {
                EVP_PKEY_free(pub);
                pub = public_key(h, key);
            }
        }
        if (rv == CKR_OK)
            rv = sign_once(w, h, key, pub, r);
        if (rv != CKR_OK && w->churned && logout_race(rv)) {
            w->tolerated++;
            key = 0;
            rv = C_Login(h, CKU_USER, PIN(USER_PIN));
            if (rv == CKR_USER_ALREADY_LOGGED_IN)
                rv = CKR_OK;
            continue;
        }
        if (rv != CKR_OK) {
            wfail(w, "round %d: sign: %s", r, p11_rv_name(rv));
            break;
        }
        CK_BYTE rnd[24];
        rv = C_GenerateRandom(h, rnd, sizeof(rnd));
        if (rv != CKR_OK)
            wfail(w, "round %d: C_GenerateRandom: %s", r, p11_rv_name(rv));
        CK_OBJECT_HANDLE o;
        char label[32];
        snprintf(label, sizeof(label), "session %d.%d", w->id, r);
        rv = data_object(h, false, label, "v", &o);
        if (rv == CKR_OK)
            rv = C_DestroyObject(h, o);
        if (rv != CKR_OK)
            wfail(w, "round %d: session object: %s", r, p11_rv_name(rv));
    }
    EVP_PKEY_free(pub);
}

/* Key generation on the token, a signature with the new key, the pair destroyed. */
static void generator(worker *w, CK_SESSION_HANDLE h)
{
    for (int i = 0; i < KEYGENS && w->fails == 0; i++) {
        char label[16];
        CK_OBJECT_HANDLE pub, priv;
        snprintf(label, sizeof(label), "gen%d", i);
        CK_RV rv = keygen(h, label, &pub, &priv);
        if (rv != CKR_OK) {
            wfail(w, "C_GenerateKeyPair: %s", p11_rv_name(rv));
            break;
        }
        EVP_PKEY *pk = public_key(h, pub);
        for (int r = 0; r < 3 && rv == CKR_OK; r++)
            rv = sign_once(w, h, priv, pk, r);
        EVP_PKEY_free(pk);
        if (rv != CKR_OK)
            wfail(w, "signing with a new key: %s", p11_rv_name(rv));
        if ((rv = C_DestroyObject(h, priv)) != CKR_OK || (rv = C_DestroyObject(h, pub)) != CKR_OK)
            wfail(w, "destroying a generated pair: %s", p11_rv_name(rv));
    }
}

/* Token data objects written and destroyed; DATA_KEEP of them stay. */
static void writer(worker *w, CK_SESSION_HANDLE h)
{
    for (int r = 0; r < DATA_KEEP * 2 && w->fails == 0; r++) {
        char label[32], value[32];
        CK_OBJECT_HANDLE o;
        snprintf(label, sizeof(label), "data %d", r);
        snprintf(value, sizeof(value), "value of %d", r);
        CK_RV rv = data_object(h, true, label, value, &o);
        if (rv == CKR_OK && r % 2)
            rv = C_DestroyObject(h, o);
        else if (rv == CKR_OK)
            snprintf(w->left[w->nleft++], sizeof(w->left[0]), "%s", label);
        if (rv != CKR_OK)
            wfail(w, "token data object %d: %s", r, p11_rv_name(rv));
    }
}

/* Log the token's user out and in again, with finds between. */
static void churner(worker *w, CK_SESSION_HANDLE h)
{
    for (int r = 0; r < ROUNDS / 2 && w->fails == 0; r++) {
        CK_RV rv = C_Logout(h);
        if (rv != CKR_OK && rv != CKR_USER_NOT_LOGGED_IN)
            wfail(w, "round %d: C_Logout: %s", r, p11_rv_name(rv));
        CK_OBJECT_HANDLE k;
        rv = find_key(h, "main", &k); /* private: not visible now, unless a signer logged in */
        if (rv != CKR_OK && rv != CKR_OBJECT_HANDLE_INVALID)
            wfail(w, "round %d: find while logged out: %s", r, p11_rv_name(rv));
        rv = C_Login(h, CKU_USER, PIN(USER_PIN));
        if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
            wfail(w, "round %d: C_Login: %s", r, p11_rv_name(rv));
        CK_SESSION_INFO si;
        if ((rv = C_GetSessionInfo(h, &si)) != CKR_OK)
            wfail(w, "round %d: C_GetSessionInfo: %s", r, p11_rv_name(rv));
    }
}

static void *work(void *arg)
{
    worker *w = arg;
    CK_SESSION_HANDLE h;
    if (w->share) {
        h = w->share->h;
    } else {
        CK_RV rv = C_OpenSession(w->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h);
        if (rv != CKR_OK) {
            wfail(w, "C_OpenSession: %s", p11_rv_name(rv));
            return NULL;
        }
    }
    switch (w->id) {
    case 5:
        generator(w, h);
        break;
    case 6:
        writer(w, h);
        signer(w, h);
        break;
    case 7:
        churner(w, h);
        break;
    default:
        signer(w, h);
        break;
    }
    if (!w->share) {
        CK_RV rv = C_CloseSession(h);
        if (rv != CKR_OK)
            wfail(w, "C_CloseSession: %s", p11_rv_name(rv));
    }
    return NULL;
}

/* ---- the test ----------------------------------------------------------------------- */

static void two_slots(CK_SLOT_ID *slot)
{
    CK_SLOT_ID ids[8];
    CK_ULONG n = 8;
    ck_assert_rv(C_GetSlotList(CK_TRUE, ids, &n), CKR_OK);
    ck_assert_uint_eq(n, 2);
    slot[0] = ids[0];
    slot[1] = ids[1];
}

/* Labels of the token data objects, sorted into one string. */
static void data_labels(CK_SESSION_HANDLE h, char *out, size_t cap)
{
    CK_OBJECT_CLASS cls = CKO_DATA;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE q[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_TOKEN, &yes, sizeof(yes)}};
    CK_OBJECT_HANDLE o[32];
    CK_ULONG n = 0;
    char labels[32][40];
    ck_assert_rv(C_FindObjectsInit(h, q, 2), CKR_OK);
    ck_assert_rv(C_FindObjects(h, o, 32, &n), CKR_OK);
    ck_assert_rv(C_FindObjectsFinal(h), CKR_OK);
    for (CK_ULONG i = 0; i < n; i++) {
        char label[32] = {0}, value[32] = {0};
        CK_ATTRIBUTE a[] = {{CKA_LABEL, label, sizeof(label) - 1},
                            {CKA_VALUE, value, sizeof(value) - 1}};
        ck_assert_rv(C_GetAttributeValue(h, o[i], a, 2), CKR_OK);
        label[a[0].ulValueLen] = value[a[1].ulValueLen] = '\0';
        /* the value written with each label came back with it */
        ck_assert_str_eq(value + strlen("value of "), label + strlen("data "));
        snprintf(labels[i], sizeof(labels[i]), "%s", label);
    }
    qsort(labels, n, sizeof(labels[0]), (int (*)(const void *, const void *))strcmp);
    out[0] = '\0';
    for (CK_ULONG i = 0; i < n; i++) {
        strncat(out, labels[i], cap - strlen(out) - 1);
        strncat(out, ";", cap - strlen(out) - 1);
    }
}

static CK_ULONG count_class(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls)
{
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE q[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_TOKEN, &yes, sizeof(yes)}};
    CK_OBJECT_HANDLE o[32];
    CK_ULONG n = 0;
    ck_assert_rv(C_FindObjectsInit(h, q, 2), CKR_OK);
    ck_assert_rv(C_FindObjects(h, o, 32, &n), CKR_OK);
    ck_assert_rv(C_FindObjectsFinal(h), CKR_OK);
    return n;
}

/* What the threads left on kaz1: the key "main" (it still signs), no generated key, the
 * writer's data objects with their values. */
static void check_kaz1(CK_SLOT_ID slot, const char *want_data)
{
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE key;
    char got[512];
    worker w = {.id = 99};
    ck_assert_rv(C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h), CKR_OK);
    CK_RV rv = C_Login(h, CKU_USER, PIN(USER_PIN));
    ck_assert(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN);
    ck_assert_uint_eq(count_class(h, CKO_PRIVATE_KEY), 1);
    ck_assert_uint_eq(count_class(h, CKO_PUBLIC_KEY), 1);
    ck_assert_rv(find_key(h, "main", &key), CKR_OK);
    EVP_PKEY *pub = public_key(h, key);
    ck_assert_ptr_nonnull(pub);
    ck_assert_rv(sign_once(&w, h, key, pub, 0), CKR_OK);
    ck_assert_msg(w.fails == 0, "%s", w.why);
    EVP_PKEY_free(pub);
    data_labels(h, got, sizeof(got));
    ck_assert_str_eq(got, want_data);
    ck_assert_rv(C_CloseSession(h), CKR_OK);
}

START_TEST(eight_threads_on_embedded_tokens)
{
    CK_SLOT_ID slot[2];
    CK_SESSION_HANDLE h[2];
    CK_OBJECT_HANDLE pub, priv;
    shared_session share = {0};
    worker w[THREADS];
    char want[512] = "";

    init_module();
    two_slots(slot);
    /* One key per token, made before the threads start; the sessions keep the login. */
    for (int i = 0; i < 2; i++) {
        ck_assert_rv(C_OpenSession(slot[i], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h[i]),
                     CKR_OK);
        ck_assert_rv(C_Login(h[i], CKU_USER, PIN(USER_PIN)), CKR_OK);
        ck_assert_rv(keygen(h[i], "main", &pub, &priv), CKR_OK);
    }
    /* threads 0 and 1 share one session of kaz1; 2, 3, 5 (keys) and 6 (data) have their
     * own on kaz1; 4 signs on kaz2 while 7 logs kaz2's user out and in */
    ck_assert_rv(C_OpenSession(slot[0], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &share.h),
                 CKR_OK);
    pthread_mutex_init(&share.op, NULL);
    memset(w, 0, sizeof(w));
    for (int i = 0; i < THREADS; i++) {
        w[i].id = i;
        w[i].slot = (i == 4 || i == 7) ? slot[1] : slot[0];
        w[i].share = i < 2 ? &share : NULL;
        w[i].churned = i == 4;
    }
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&w[i].th, NULL, work, &w[i]), 0);
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_join(w[i].th, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        ck_assert_msg(w[i].fails == 0, "thread %d: %s", i, w[i].why);
    /* the signers really signed (a logout race may cost thread 4 a few rounds) */
    for (int i = 0; i < THREADS; i++)
        if (i != 7 && i != 4)
            ck_assert_uint_ge(w[i].verified, i == 5 ? 3u * KEYGENS : (unsigned)ROUNDS);
    ck_assert_uint_gt(w[4].verified, 0);
    ck_assert_rv(C_CloseSession(share.h), CKR_OK);
    pthread_mutex_destroy(&share.op);

    qsort(w[6].left, (size_t)w[6].nleft, sizeof(w[6].left[0]),
          (int (*)(const void *, const void *))strcmp);
    for (int i = 0; i < w[6].nleft; i++) {
        strcat(want, w[6].left[i]);
        strcat(want, ";");
    }
    check_kaz1(slot[0], want);
    /* The images as another process would find them: a new module instance. */
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    init_module();
    two_slots(slot);
    check_kaz1(slot[0], want);
    for (int i = 0; i < 2; i++) {
        char path[128];
        ks_image_file *f = NULL;
        ks_image img;
        snprintf(path, sizeof(path), "%s/tokens/kaz%d.img", home, i + 1);
        ck_assert_int_eq(ks_image_file_open(path, &f), KS_OK);
        ck_assert_int_eq(ks_image_file_load(f, &img), KS_OK);
        ks_image_free(&img);
        ks_image_file_close(f);
    }
}
END_TEST

Suite *threads_embedded_suite(void)
{
    Suite *s = suite_create("p11_threads_embedded");
    TCase *tc = tcase_create("embedded");
    tcase_add_checked_fixture(tc, setup, teardown);
    /* generous: under ThreadSanitizer everything runs ten times slower */
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, eight_threads_on_embedded_tokens);
    suite_add_tcase(s, tc);
    return s;
}
